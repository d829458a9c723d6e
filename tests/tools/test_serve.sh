#!/usr/bin/env bash
# tests/tools/test_serve.sh — `stockade serve` as a real process: flags, port 0, /healthz,
# a registration over HTTP, graceful SIGTERM (exit 0 within seconds, the commit kept),
# SIGINT, restart on the same data directory, and start-up failures.
set -u
S=$1
T=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"
D=$T/data

# start_server: runs serve on port 0 in the background; sets PID and PORT.
start_server() {
  : >"$T/serve.out"
  "$S" serve --listen 127.0.0.1:0 --data-dir "$D" "$@" >"$T/serve.out" 2>"$T/serve.err" &
  PID=$!
  PORT=
  for _ in $(seq 1 100); do
    PORT=$(sed -nE 's#^listening on http://127\.0\.0\.1:([0-9]+)$#\1#p' "$T/serve.out")
    [ -n "$PORT" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
}

# stop_server SIG: sends SIG and waits up to 10 s; sets CODE (or 'timeout').
stop_server() {
  kill "-$1" "$PID"
  CODE=timeout
  for _ in $(seq 1 100); do
    if ! kill -0 "$PID" 2>/dev/null; then wait "$PID"; CODE=$?; break; fi
    sleep 0.1
  done
  [ "$CODE" = timeout ] && kill -KILL "$PID" 2>/dev/null
  PID=
}

expect_exit 0 "serve --help" -- "$S" serve --help
expect_match "help names the flags" "--listen HOST:PORT" "$OUT"
expect_exit 2 "bad --listen is a usage error" -- "$S" serve --listen nonsense --data-dir "$D"
expect_exit 2 "unknown flag is a usage error" -- "$S" serve --frobnicate
STOCKADE_JWT_SECRET=short expect_exit 2 "a short STOCKADE_JWT_SECRET is refused" -- \
  "$S" serve --data-dir "$D"

start_server
if [ -n "$PORT" ]; then ok "prints the real port ($PORT)"; else
  not_ok "no 'listening on' line"; cat "$T/serve.out" "$T/serve.err"; fi
body=$(curl -sS "http://127.0.0.1:$PORT/healthz")
expect_match "/healthz answers ok" '"status":"ok"' "$body"
if [ "$(stat -c %a "$D/jwt.secret")" = 600 ]; then ok "jwt.secret created with mode 0600"
else not_ok "jwt.secret mode $(stat -c %a "$D/jwt.secret")"; fi
code=$(curl -sS -o "$T/reg" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"username":"shelly","email":"shelly@example.com","password":"password123"}' \
  "http://127.0.0.1:$PORT/v1/auth/register")
if [ "$code" = 201 ]; then ok "register over HTTP: 201"; else not_ok "register: $code $(cat "$T/reg")"; fi
# A second server on the same port cannot start: runtime error, not a crash.
expect_exit 3 "a port in use is a runtime error" -- "$S" serve --listen "127.0.0.1:$PORT" \
  --data-dir "$T/other"
stop_server TERM
if [ "$CODE" = 0 ]; then ok "SIGTERM: graceful exit 0"; else not_ok "SIGTERM: exit $CODE"; fi

expect_exit 0 "the log verifies after the stop" -- "$S" log verify --data-dir "$D"
expect_match "the registration was kept" "log verified: 1 events" "$OUT"

start_server
code=$(curl -sS -o "$T/login" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"username":"shelly","password":"password123"}' "http://127.0.0.1:$PORT/v1/auth/login")
if [ "$code" = 200 ]; then ok "login after a restart: 200"; else not_ok "login: $code $(cat "$T/login")"; fi
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
if [ "$code" = 200 ]; then ok "/metrics: 200"; else not_ok "/metrics: $code"; fi
stop_server INT
if [ "$CODE" = 0 ]; then ok "SIGINT: graceful exit 0"; else not_ok "SIGINT: exit $CODE"; fi
# A SIGTERM sent the moment the port is announced is handled, not fatal.
# STOCKADE_RATE_LIMIT: a number sets the per-minute limit, 0 switches it off, junk is refused.
STOCKADE_RATE_LIMIT=abc expect_exit 2 "a bad STOCKADE_RATE_LIMIT is refused" -- \
  "$S" serve --listen 127.0.0.1:0 --data-dir "$D"
codes() { for _ in $(seq 1 "$1"); do curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$PORT/healthz"; done; }
STOCKADE_RATE_LIMIT=3 start_server
c=$(codes 4)
[ "$c" = "200 200 200 429 " ] && ok "STOCKADE_RATE_LIMIT=3: the 4th request is 429" || not_ok "limit 3 gave: $c"
stop_server TERM
STOCKADE_RATE_LIMIT=0 start_server
c=$(codes 120 | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')
[ "$c" = "200 " ] && ok "STOCKADE_RATE_LIMIT=0: 120 requests, none limited" || not_ok "limit 0 gave: $c"
stop_server TERM

start_server --no-projections
stop_server TERM
if [ "$CODE" = 0 ]; then ok "SIGTERM right after start: exit 0"; else not_ok "early SIGTERM: exit $CODE"; fi
finish
