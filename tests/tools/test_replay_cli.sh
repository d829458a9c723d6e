#!/usr/bin/env bash
# tests/tools/test_replay_cli.sh — `stockade replay` and `stockade audit` on a real data
# directory filled by `stockade simulate`: clean game, JSON-lines input, --until-tick,
# altered outcome hash (divergence report), one byte flipped in a backup copy (audit names
# the seq), undecodable input.
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
D=$T/data
SRC=${STK_SOURCE_DIR:-$(dirname "$0")/../..}
MAPS=$SRC/maps

expect_exit 0 "simulate a game" -- "$S" simulate --seed 5 --players 2 --map "$MAPS/meadow.json" --data-dir "$D"
SID=$(printf '%s\n' "$OUT" | awk '/^session/{print $2}')
HASH=$(printf '%s\n' "$OUT" | awk '/^hash/{print $2}')
expect_match "simulate printed a session id" '^[0-9a-f-]{36}$' "$SID"

# clean replay from the log
expect_exit 0 "replay a clean game" -- "$S" replay "$SID" --data-dir "$D"
expect_match "replay verifies every hash" "verified: [1-9][0-9]* outcome hashes, [1-9][0-9]* tick marks.*every hash matches" "$OUT"
expect_match "replay ends on the simulated hash" "final hash $HASH" "$OUT"
expect_match "timeline shows waves" "wave 1 cleared: lives [0-9]+" "$OUT"
expect_match "timeline shows placements" "placed [a-z]+ #[0-9]+ L1 at" "$OUT"
expect_exit 0 "replay again checks the stored keyframes" -- "$S" replay "$SID" --data-dir "$D" --quiet
expect_match "keyframes checked" "[1-9][0-9]* keyframes" "$OUT"
expect_exit 0 "replay --json" -- "$S" replay "$SID" --data-dir "$D" --json --no-keyframes
expect_match "json verdict" '"verified":true' "$OUT"
expect_exit 0 "replay --until-tick 300" -- "$S" replay "$SID" --data-dir "$D" --until-tick 300 --quiet
expect_match "state at the tick" "state at tick 300:" "$OUT"
expect_match "state lists players" "player 0 [0-9a-f-]{36} gold" "$OUT"
expect_exit 0 "replay --until-tick past the end" -- "$S" replay "$SID" --data-dir "$D" --until-tick 999999999 --quiet --no-keyframes
expect_match "says the log ends first" "the log ends before --until-tick" "$OUT"
# --until-tick from the log starts at the stored keyframe (tick 1200, stored above) and
# reaches the same state as a replay from tick 0
expect_exit 0 "replay --until-tick 1500 from tick 0" -- "$S" replay "$SID" --data-dir "$D" --until-tick 1500 --json --no-keyframes
SCRATCH=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["hash"], d["resumed_tick"], d["steps"])')
expect_match "from tick 0: every step simulated" '^[0-9a-f]{16} 0 1500$' "$SCRATCH"
expect_exit 0 "replay --until-tick 1500 from the stored keyframe" -- "$S" replay "$SID" --data-dir "$D" --until-tick 1500 --json
SEEK=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["hash"], d["resumed_tick"], d["steps"], d["verified"])')
expect_match "from the keyframe: 300 steps, same state" "^${SCRATCH%% *} 1200 300 True\$" "$SEEK"
expect_exit 0 "replay --until-tick text says where it resumed" -- "$S" replay "$SID" --data-dir "$D" --until-tick 1500 --quiet
expect_match "resumed line" "resumed from the stored keyframe at tick 1200 \\(300 steps\\)" "$OUT"
expect_exit 2 "replay --until-tick junk" -- "$S" replay "$SID" --data-dir "$D" --until-tick 12x
expect_exit 3 "replay of an unknown session" -- "$S" replay 00000000-0000-4000-8000-000000000001 --data-dir "$D"
expect_exit 2 "replay without an argument" -- "$S" replay --data-dir "$D"

# JSON lines, as `log dump --stream` and the REST API serve them
"$S" log dump --data-dir "$D" --stream "$SID" >"$T/game.jsonl"
expect_exit 0 "replay a JSON-lines file" -- "$S" replay "$T/game.jsonl" --quiet
expect_match "file replay verifies" "every hash matches" "$OUT"
"$S" log dump --data-dir "$D" >"$T/all.jsonl"
expect_exit 0 "replay a whole-log dump (other streams skipped)" -- "$S" replay "$T/all.jsonl" --quiet
expect_match "the session is found in the whole log" "session $SID: .*final hash $HASH" "$OUT"
cat "$SRC/tests/fixtures/replays/meadow-seed1-2p.jsonl" "$T/game.jsonl" >"$T/two.jsonl"
expect_exit 0 "replay --session picks one game of a file" -- "$S" replay "$T/two.jsonl" --session "$SID" --quiet
expect_match "the chosen session is replayed" "session $SID: .*final hash $HASH" "$OUT"
BAD=$(python3 - "$T/game.jsonl" "$T/bad.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
marks = [r for r in rows if r["type"] == "TickMark"]
target = marks[len(marks) // 2]
target["payload"]["hash"] = str(int(target["payload"]["hash"]) ^ 1)
with open(sys.argv[2], "w") as f:
    for r in rows:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
print(target["tick"], target["seq"])
PY
)
read -r BADTICK BADSEQ <<<"$BAD"
expect_exit 1 "replay finds an altered tick-mark hash" -- "$S" replay "$T/bad.jsonl" --quiet --report "$T/report.txt"
expect_match "verdict names the mismatch" "MISMATCH: 1 divergence" "$OUT"
REPORT=$(cat "$T/report.txt")
expect_match "report names the first bad tick and seq" "DIVERGENCE \(outcome\) at tick $BADTICK, seq $BADSEQ \(TickMark\)" "$REPORT"
expect_match "report has recorded and replayed values" "recorded +tick $BADTICK hash" "$REPORT"
expect_match "report has a state diff" "state diff: last matching check" "$REPORT"
expect_exit 1 "replay --json --report writes a JSON report" -- "$S" replay "$T/bad.jsonl" --json --report "$T/report.json"
expect_match "json report" "\"problem\":\"outcome\",\"seq\":$BADSEQ,\"tick\":$BADTICK" "$(cat "$T/report.json")"
expect_exit 1 "replay --json embeds the divergence" -- "$S" replay "$T/bad.jsonl" --json
expect_match "json divergence" "\"divergence\":\\{\"diverged\":true" "$OUT"

# undecodable input
printf 'this is not an event\n' >"$T/garbage.jsonl"
expect_exit 4 "replay of a garbage file" -- "$S" replay "$T/garbage.jsonl"
head -c 4096 /dev/urandom >"$T/random.jsonl"
expect_exit 4 "replay of random bytes" -- "$S" replay "$T/random.jsonl"
grep -v SessionOpened "$T/game.jsonl" >"$T/noopen.jsonl"
expect_exit 4 "replay of a file without SessionOpened" -- "$S" replay "$T/noopen.jsonl"

# audit
expect_exit 0 "audit a clean game" -- "$S" audit "$SID" --data-dir "$D"
expect_match "audit names players" "bot-5-0 " "$OUT"
expect_match "audit lists inputs with ticks" "[0-9]+ +[0-9]+ +[0-9T:.-]+Z +bot-5-[01] .*TowerPlaced" "$OUT"
expect_match "audit sums up who did what" "bot-5-1 +[0-9a-f-]{36} PlayerJoined 1, PlayerReady 1, TowerPlaced [0-9]+" "$OUT"
expect_match "server outcomes counted" "server +WaveEnded [0-9]+, GameEnded 1, TickMark [0-9]+" "$OUT"
expect_match "audit verdict" "chain verified over seq 1\.\.[0-9]+: clean" "$OUT"
expect_exit 0 "audit --json" -- "$S" audit "$SID" --data-dir "$D" --json
expect_match "audit json verdict" '"verdict":"clean"' "$OUT"
expect_match "audit json usernames" '"username":"bot-5-1"' "$OUT"

# one byte flipped in a copy of the log: the envelope type of a TowerPlaced event
expect_exit 0 "backup the data directory" -- "$S" backup "$T/copy" --data-dir "$D"
read -r FLIPSEQ FLIPVER < <(python3 -c "
import json
rows=[json.loads(l) for l in open('$T/game.jsonl')]
p=[r for r in rows if r['type']=='TowerPlaced'];t=p[len(p)//2];print(t['seq'],t['version'])")
python3 - "$T/copy/log/data.mdb" "$SID" "$FLIPSEQ" "$FLIPVER" <<'PY'
import sys, uuid
path, sid, seq, ver = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def mp_uint(v):
    if v < 128: return bytes([v])
    if v < 256: return bytes([0xcc, v])
    if v < 65536: return bytes([0xcd]) + v.to_bytes(2, "big")
    return bytes([0xce]) + v.to_bytes(4, "big")
data = bytearray(open(path, "rb").read())
# envelope: [seq, stream bin16, version, type, ...] (events/envelope.h)
pat = b"\x99" + mp_uint(seq) + b"\xc4\x10" + uuid.UUID(sid).bytes + mp_uint(ver)
at = data.find(pat)
assert at >= 0 and data.find(pat, at + 1) < 0, "envelope not found exactly once"
data[at + len(pat)] ^= 0x01  # type 35 TowerPlaced -> 34 SessionStarted
open(path, "wb").write(data)
PY
expect_exit 1 "audit detects the flipped byte" -- "$S" audit "$SID" --data-dir "$T/copy"
expect_match "audit names the first bad seq" "TAMPERED: first bad event is seq $FLIPSEQ" "$OUT"
expect_exit 1 "audit --json names it too" -- "$S" audit "$SID" --data-dir "$T/copy" --json
expect_match "json bad_seq" "\"verdict\":\"tampered\",\"bad_seq\":$FLIPSEQ" "$OUT"
expect_exit 4 "replay of the tampered copy cannot decode the altered event" -- "$S" replay "$SID" --data-dir "$T/copy" --no-keyframes --quiet
expect_match "replay says why" "payload does not match its schema" "$ERR"
expect_exit 0 "the original is untouched" -- "$S" audit "$SID" --data-dir "$D"

# a data directory whose log is not an LMDB file at all
mkdir -p "$T/junk/log"
head -c 65536 /dev/urandom >"$T/junk/log/data.mdb"
expect_exit 4 "audit of an undecodable log" -- "$S" audit "$SID" --data-dir "$T/junk"
expect_exit 3 "audit of a missing data directory" -- "$S" audit "$SID" --data-dir "$T/nothing"
expect_exit 2 "audit of a non-uuid" -- "$S" audit not-a-session --data-dir "$D"

finish
