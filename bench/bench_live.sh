#!/usr/bin/env bash
# bench/bench_live.sh — the live server under load (installed as <build>/bench/bench_live,
# so bench/run runs it). Starts the real `stockade serve` on loopback in a temp data dir and
# drives it with `stockade bots` (one libuv loop, JSON and MessagePack clients mixed):
#
#   live_ack_p50 / live_ack_p99   ms   op written → ack read, client side (includes the
#                                      durable group commit: ack after fsync)
#   live_msgs_in                  msg/s  server → clients (events, state at 10 Hz, acks)
#   live_cpu_per_session          %core  server utime+stime while all clients play,
#                                        ÷ wall time ÷ sessions
#   live_rss_per_client           KiB  server VmRSS with every client connected minus
#                                      VmRSS after setup with none connected, ÷ clients
#   http_get_by_id                req/s  wrk, keep-alive GET /v1/tribes/{id} (Bearer),
#                                        peer: bench/peer_http_libuv (fixed 200, libuv)
#
# Knobs (environment): STK_BENCH_LIVE_SESSIONS (250), STK_BENCH_LIVE_PLAYERS (4),
# STK_BENCH_LIVE_USERS (100: bot accounts, reused across sessions; each argon2id hash costs
# the server ~0.1 s), STK_BENCH_LIVE_SECONDS (30: play after every client connected),
# STK_BENCH_HTTP_SECONDS (5 per side), STK_BENCH_HTTP_CONNS (64), STK_BENCH_DIR.
# A quick run: STK_BENCH_LIVE_SESSIONS=25 STK_BENCH_LIVE_USERS=20 STK_BENCH_LIVE_SECONDS=10.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stockade=${STK_BENCH_STOCKADE:-$here/../stockade}
peer=$here/peer_http_libuv
sessions=${STK_BENCH_LIVE_SESSIONS:-250}
players=${STK_BENCH_LIVE_PLAYERS:-4}
users=${STK_BENCH_LIVE_USERS:-100}
play=${STK_BENCH_LIVE_SECONDS:-30}
http_s=${STK_BENCH_HTTP_SECONDS:-5}
http_c=${STK_BENCH_HTTP_CONNS:-64}
[ "$users" -lt "$players" ] && users=$players
clients=$((sessions * players))

note() { echo "bench_live: $*" >&2; }
[ -x "$stockade" ] || { note "no stockade binary at $stockade"; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

dir=$(mktemp -d "${STK_BENCH_DIR:-/tmp}/stk-bench-live-XXXXXX")
spid= bpid= ppid_=
cleanup() {
  for p in $bpid $ppid_ $spid; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_listen() { # wait_listen FILE → prints the URL
  for _ in $(seq 200); do
    local u
    u=$(sed -n 's/^listening on //p' "$1")
    [ -n "$u" ] && { echo "$u"; return 0; }
    sleep 0.05
  done
  return 1
}
wait_line() { # wait_line FILE PATTERN PID → 0 when PATTERN appears, 1 if PID died
  while ! grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
}

# The rate limit (100 requests/min per address and endpoint group) is per client address:
# the bots spread their users over loopback addresses (--spread-ips). STOCKADE_RATE_LIMIT=0
# asks the server to switch it off for wrk's single address (honoured if the server has it).
STOCKADE_RATE_LIMIT=0 "$stockade" serve --listen 127.0.0.1:0 --data-dir "$dir/data" \
  >"$dir/serve.out" 2>"$dir/serve.err" &
spid=$!
url=$(wait_listen "$dir/serve.out") || { note "serve did not start"; cat "$dir/serve.err" >&2; exit 1; }
note "server $url pid $spid; $sessions sessions x $players players ($clients clients, $users users)"

"$stockade" bots --url "$url" --sessions "$sessions" --players "$players" --users "$users" \
  --protocol mixed --seed 1 --spread-ips --settle 2 --json \
  --duration $((play + 600)) >"$dir/bots.json" 2>"$dir/bots.err" &
bpid=$!
wait_line "$dir/bots.err" 'phase setup-done' "$bpid" || { note "bots failed in setup"; tail "$dir/bots.err" >&2; exit 1; }
sleep 1
rss_idle=$(rss_kib "$spid")
wait_line "$dir/bots.err" 'phase connected' "$bpid" || { note "bots did not connect"; tail "$dir/bots.err" >&2; exit 1; }
sleep 1
rss_conn=$(rss_kib "$spid")
metrics() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=5).read().decode())' "$url" >"$1" 2>/dev/null || true; }
metrics "$dir/metrics0"
cpu0=$(cpu_ticks "$spid")
bcpu0=$(cpu_ticks "$bpid")
t0=$(date +%s.%N)
sleep "$play"
cpu1=$(cpu_ticks "$spid")
bcpu1=$(cpu_ticks "$bpid")
t1=$(date +%s.%N)
metrics "$dir/metrics1"
# Where the ack time goes: the server's own durable-commit figures over the play window.
python3 - "$dir/metrics0" "$dir/metrics1" "$t0" "$t1" <<'EOF' >&2 || true
import re, sys
def load(p):
    d = {}
    for line in open(p):
        m = re.match(r'^(stockade_(?:log_commits_total|events_appended_total|commit_latency_seconds_(?:bucket|count|sum)))(\{[^}]*\})? ([0-9.e+-]+)$', line)
        if m:
            d[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
dt = float(sys.argv[4]) - float(sys.argv[3])
delta = lambda k: b.get(k, 0) - a.get(k, 0)
commits = delta(("stockade_log_commits_total", ""))
events = delta(("stockade_events_appended_total", ""))
n = delta(("stockade_commit_latency_seconds_count", ""))
buckets = sorted((float(re.search(r'le="([^"]+)"', k[1]).group(1).replace("+Inf", "inf")), delta(k))
                 for k in b if k[0] == "stockade_commit_latency_seconds_bucket")
def pct(p):
    for le, c in buckets:
        if n and c >= p * n:
            return f"<= {le * 1000:g} ms"
    return "n/a"
if commits:
    # events_appended and the commit histogram count REST appends only (not game events)
    extra = ""
    if n:
        mean = delta(("stockade_commit_latency_seconds_sum", "")) / n * 1000
        extra = f"; REST appends: commit latency mean {mean:.2f} ms, p50 {pct(0.5)}, p99 {pct(0.99)}"
    print(f"bench_live: server during play: {commits / dt:.0f} LMDB commits/s (/metrics){extra}")
EOF
kill -INT "$bpid" # the bots close their sockets, report and exit
wait "$bpid" || true
bpid=
hz=$(getconf CLK_TCK)
# The load generator's own CPU: near 100% means the client, not the server, sets the pace.
note "during play: server $(awk -v a="$cpu0" -v b="$cpu1" -v h="$hz" -v t0="$t0" -v t1="$t1" \
  'BEGIN {printf "%.0f", (b - a) / h / (t1 - t0) * 100}')% of a core, bots" \
  "$(awk -v a="$bcpu0" -v b="$bcpu1" -v h="$hz" -v t0="$t0" -v t1="$t1" \
  'BEGIN {printf "%.0f", (b - a) / h / (t1 - t0) * 100}')% of a core, load $(cut -d' ' -f1 /proc/loadavg)"
grep -v '^bots: *[0-9]*s ' "$dir/bots.err" | grep -v phase | tail -5 | sed 's/^/bench_live: /' >&2 || true

python3 - "$dir/bots.json" "$rss_idle" "$rss_conn" "$cpu0" "$cpu1" "$hz" "$t0" "$t1" \
  "$sessions" "$clients" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
idle, conn, c0, c1, hz = (int(x) for x in sys.argv[2:7])
t0, t1 = float(sys.argv[7]), float(sys.argv[8])
sessions, clients = int(sys.argv[9]), int(sys.argv[10])
lat = r["ack_latency_ms"]
print(f"live_ack_p50 {lat['p50']:.3f} ms")
print(f"live_ack_p99 {lat['p99']:.3f} ms")
print(f"live_msgs_in {r['messages']['in_per_s']:.0f} msg/s")
cpu = (c1 - c0) / hz / (t1 - t0) / sessions * 100.0
print(f"live_cpu_per_session {cpu:.4f} %core")
print(f"live_rss_per_client {max(conn - idle, 0) / clients:.1f} KiB")
e = r["errors"]
sys.stderr.write(f"bench_live: {r['clients']} clients, {lat['samples']} acks timed, "
                 f"p999 {lat['p999']:.3f} ms, rejects {r['rejects']}, protocol errors "
                 f"{e['protocol']}, disconnects {e['disconnects']}, failed sessions "
                 f"{e['sessions_failed']}, RSS idle {idle} KiB, connected {conn} KiB\n")
top = sorted(r["rejects_by_code"].items(), key=lambda kv: -kv[1])[:6]
sys.stderr.write("bench_live: rejects by code: " + ", ".join(f"{k} {v}" for k, v in top) + "\n")
s = r.get("sample") or {}
open(sys.argv[1] + ".sample", "w").write(f"{s.get('token', '')}\n{s.get('get_by_id', '')}\n")
EOF

# HTTP: keep-alive GET by id, ours then the libuv peer, same wrk settings.
wrk_rate() { # wrk_rate URL [HEADER] → req/s, or n/a when any answer was not 2xx
  local out
  if [ $# -gt 1 ]; then
    out=$(wrk -t1 -c"$http_c" -d"${http_s}s" -H "$2" "$1" 2>&1) || { echo n/a; return; }
  else
    out=$(wrk -t1 -c"$http_c" -d"${http_s}s" "$1" 2>&1) || { echo n/a; return; }
  fi
  if grep -q 'Non-2xx' <<<"$out"; then
    note "wrk $1: $(grep 'Non-2xx' <<<"$out" | tr -s ' ') (rate limited? set STOCKADE_RATE_LIMIT=0)"
    echo n/a
    return
  fi
  awk '/^Requests\/sec:/ {printf "%.0f\n", $2}' <<<"$out"
}
if command -v wrk >/dev/null; then
  token=$(sed -n 1p "$dir/bots.json.sample")
  path=$(sed -n 2p "$dir/bots.json.sample")
  ours=n/a
  [ -n "$token" ] && ours=$(wrk_rate "$url$path" "Authorization: Bearer $token")
  "$peer" 127.0.0.1:0 >"$dir/peer.out" 2>&1 &
  ppid_=$!
  purl=$(wait_listen "$dir/peer.out") || { note "peer did not start"; exit 1; }
  theirs=$(wrk_rate "$purl/v1/tribes/x")
  kill -TERM "$ppid_"; wait "$ppid_" 2>/dev/null || true; ppid_=
  if [ "$ours" != n/a ] && [ "$theirs" != n/a ]; then
    echo "http_get_by_id $ours req/s peer=libuv_fixed_200 $theirs ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}')"
  else
    echo "http_get_by_id $ours req/s peer=libuv_fixed_200 $theirs"
  fi
else
  note "wrk not installed (tools/install-deps.sh --test installs it)"
  echo "http_get_by_id n/a req/s peer=libuv_fixed_200 n/a"
fi

kill -TERM "$spid"
wait "$spid" || { note "serve exited non-zero"; tail -5 "$dir/serve.err" >&2; }
spid=
