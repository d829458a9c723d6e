#!/usr/bin/env bash
# tests/tools/test_live_crash.sh — SIGKILL `stockade serve` in the middle of a live game:
# after a restart on the same data dir every acknowledged op is in the log, the session
# resumes (a client reconnects with last_seq, gets a welcome of the running game and can
# keep playing) and `stockade replay` verifies the whole game.
# Usage: test_live_crash.sh STOCKADE_BINARY
set -u
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/stk-live-crash.XXXXXX)
SRV=
CLI=
cleanup() {
  [ -n "$CLI" ] && kill "$CLI" 2>/dev/null
  [ -n "$SRV" ] && kill -9 "$SRV" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
export STOCKADE_JWT_SECRET=live-crash-test-secret-0123456789abcdef
export STOCKADE_ABANDON_AFTER=60

start_server() { # start_server LOGFILE → $SRV, $PORT
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$T/data" >"$1" 2>&1 &
  SRV=$!
  PORT=
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
  done
  [ -n "$PORT" ]
}

if start_server "$T/serve1.log"; then ok "server started on port $PORT"; else
  not_ok "server did not start"; cat "$T/serve1.log"; finish; exit; fi

python3 "$HERE/live_client.py" setup "$PORT" "$T/state.json" >"$T/client1.log" 2>&1 &
CLI=$!
for _ in $(seq 1 200); do
  [ -s "$T/state.json" ] && break
  kill -0 "$CLI" 2>/dev/null || break
  sleep 0.1
done
if [ -s "$T/state.json" ]; then ok "a game is being played"; else
  not_ok "the client did not get a game going"; cat "$T/client1.log" "$T/serve1.log" | tail -30
  finish; exit; fi

kill -9 "$SRV"; wait "$SRV" 2>/dev/null; SRV=
kill "$CLI" 2>/dev/null; wait "$CLI" 2>/dev/null; CLI=
ok "server SIGKILLed mid-game"

SID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session"])' "$T/state.json")
"$BIN" log dump --stream "$SID" --data-dir "$T/data" >"$T/dump.jsonl" 2>"$T/dump.err"
missing=$(python3 - "$T/state.json" "$T/dump.jsonl" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
seqs = {json.loads(l)["seq"] for l in open(sys.argv[2]) if l.strip()}
print(len([s for s in st["acked"] if s not in seqs]))
PY
)
if [ "$missing" = "0" ]; then ok "every acked op is in the log"; else
  not_ok "$missing acked ops are missing from the log"; fi

if start_server "$T/serve2.log"; then ok "server restarted on the same data dir"; else
  not_ok "restart failed"; cat "$T/serve2.log"; finish; exit; fi
expect_exit 0 "a client resumes the session and keeps playing" -- \
  python3 "$HERE/live_client.py" resume "$PORT" "$T/state.json"
printf '%s\n' "$OUT" "$ERR" | sed 's/^/    /' | head -8

kill -TERM "$SRV"; wait "$SRV"; rc=$?; SRV=
if [ "$rc" -eq 0 ]; then ok "graceful stop (exit 0)"; else not_ok "serve exited $rc"; fi

expect_exit 0 "stockade replay verifies the game" -- \
  "$BIN" replay "$SID" --data-dir "$T/data" --quiet --no-keyframes
expect_match "the log records the drop" "PlayerDisconnected" \
  "$("$BIN" log dump --stream "$SID" --data-dir "$T/data")"
finish
