#!/usr/bin/env bash
# tests/tools/test_bots.sh — `stockade bots` against the real `stockade serve` on loopback:
# 3 sessions x 4 players, JSON and MessagePack clients mixed, play whole games over
# WebSocket; every finished game is replayed from GET /v1/sessions/{id}/events and its
# final hash must equal the live `end` hash. Then the server stops on SIGTERM and
# `stockade log verify` checks the chain of everything the games wrote.
# The map is meadow with shorter waves (the same terrain; three waves of a few grunts and
# runners) so the games take seconds, not minutes, of wall-clock time.
# Usage: test_bots.sh path/to/stockade   (STK_SOURCE_DIR: the source tree)
set -u
BIN=$1
SRC=${STK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d /tmp/stk-test-bots-XXXXXX)
SPID=
cleanup() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then kill -KILL "$SPID"; fi
  rm -rf "$T"
}
trap cleanup EXIT

python3 - "$SRC/maps/meadow.json" "$T/map.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["name"] = "Meadow (short waves)"
m["wave_config"] = {"waves": [
    {"waveNumber": 1, "enemies": [{"type": "grunt", "count": 4, "spawnInterval": 600}]},
    {"waveNumber": 2, "enemies": [{"type": "runner", "count": 4, "spawnInterval": 500}]},
    {"waveNumber": 3, "enemies": [{"type": "grunt", "count": 5, "spawnInterval": 500},
                                  {"type": "runner", "count": 3, "spawnInterval": 400}]}]}
json.dump(m, open(sys.argv[2], "w"))
EOF

"$BIN" serve --listen 127.0.0.1:0 --data-dir "$T/data" >"$T/serve.out" 2>"$T/serve.err" &
SPID=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's/^listening on //p' "$T/serve.out")
  [ -n "$URL" ] && break
  sleep 0.1
done
if [ -n "$URL" ]; then ok "serve listens ($URL)"; else
  not_ok "serve did not print its address"; sed 's/^/    /' "$T/serve.err" | head; finish; exit; fi

expect_exit 0 "bots: 3 sessions x 4 players, mixed protocols, all verified" -- \
  timeout 300 "$BIN" bots --url "$URL" --sessions 3 --players 4 --protocol mixed --seed 7 \
  --map "$T/map.json" --json
echo "$ERR" | grep -v '^bots: *[0-9]*s ' | sed 's/^/    # /' | head -20
report=$OUT
field() { printf '%s' "$report" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null; }
expect_match "3 games finished" '^3$' "$(field 'd["finished_games"]')"
expect_match "3 games verified by replay" '^3$' "$(field 'd["verified_games"]')"
expect_match "no hash mismatch" '^0$' "$(field 'd["hash_mismatches"]')"
expect_match "no failed session" '^0$' "$(field 'd["errors"]["sessions_failed"]')"
expect_match "no protocol error" '^0$' "$(field 'd["errors"]["protocol"]')"
expect_match "ops were acked, latency measured" '^[1-9]' "$(field 'd["ack_latency_ms"]["samples"]')"
expect_match "both subprotocols' clients received messages" '^[1-9]' "$(field 'd["messages"]["in"]')"
expect_match "the deliberately invalid ops were rejected with typed codes" \
  '^[0-9]+$' "$(field 'd["rejects"]')"

# The audit must catch a live `end` hash that differs from the replay's (fault injection:
# the client flips a bit of each `end` hash it receives).
expect_exit 1 "bots: a corrupted end hash is reported as a mismatch" -- \
  env STK_BOTS_TEST_CORRUPT_END_HASH=1 timeout 300 "$BIN" bots --url "$URL" --sessions 1 \
  --players 2 --protocol json --seed 8 --map "$T/map.json" --json
expect_match "the mismatch is named on stderr" 'MISMATCH session' "$ERR"
report=$OUT
expect_match "mismatch counted" '^1$' "$(field 'd["hash_mismatches"]')"

expect_exit 2 "bots: bad --protocol is a usage error" -- "$BIN" bots --protocol xml
expect_exit 0 "bots --help" -- "$BIN" bots --help

kill -TERM "$SPID"
wait "$SPID"
rc=$?
SPID=
if [ "$rc" -eq 0 ]; then ok "serve stops on SIGTERM (exit 0)"; else
  not_ok "serve exit $rc after SIGTERM"; sed 's/^/    /' "$T/serve.err" | tail -5; fi

expect_exit 0 "log verify after the games" -- "$BIN" log verify --data-dir "$T/data"
finish
