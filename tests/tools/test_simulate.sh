#!/usr/bin/env bash
# tests/tools/test_simulate.sh — `stockade simulate` end to end on real data directories:
# deterministic from the seed, games finish, refused commands leave no trace, the written
# session replays with every hash matching, bad flags and bad maps are refused.
set -u
S=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
SRC=${STK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MEADOW=$SRC/maps/meadow.json
CANYON=$SRC/maps/canyon.json
field() { printf '%s' "$OUT" | sed -nE "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/p"; }

expect_exit 0 "simulate --help" -- "$S" simulate --help
expect_match "help names the flags" "--seed N.*--players K" "$OUT"
expect_exit 2 "five players are refused" -- "$S" simulate --players 5 --data-dir "$T/x"
expect_exit 2 "a seed that is not a number is refused" -- "$S" simulate --seed abc --data-dir "$T/x"

expect_exit 0 "seed 11 on meadow" -- "$S" simulate --seed 11 --map "$MEADOW" --data-dir "$T/a" --json
expect_match "the game finished" '"result":"(victory|defeat)"' "$OUT"
hash_a=$(field hash); sid_a=$(field session); refused_a=$(field refused)
expect_exit 0 "seed 11 again, fresh data directory" -- "$S" simulate --seed 11 --map "$MEADOW" --data-dir "$T/b" --json
hash_b=$(field hash)
if [ -n "$hash_a" ] && [ "$hash_a" = "$hash_b" ]; then ok "same seed, same final hash ($hash_a)"; else
  not_ok "same seed gave $hash_a and $hash_b"; fi
expect_exit 0 "seed 11 again in the same data directory (bots and map reused)" -- "$S" simulate --seed 11 --map "$MEADOW" --data-dir "$T/a" --json
hash_c=$(field hash); sid_c=$(field session)
if [ "$hash_a" = "$hash_c" ] && [ "$sid_a" != "$sid_c" ]; then ok "a rerun is a new session with the same hash"; else
  not_ok "rerun: hash $hash_c (wanted $hash_a), session $sid_c (first $sid_a)"; fi
expect_exit 0 "seed 12" -- "$S" simulate --seed 12 --map "$MEADOW" --data-dir "$T/d" --json
hash_d=$(field hash)
if [ -n "$hash_d" ] && [ "$hash_d" != "$hash_a" ]; then ok "another seed, another hash"; else
  not_ok "seeds 11 and 12 both gave $hash_a"; fi
if [ "${refused_a:-0}" -gt 0 ]; then ok "bots tried $refused_a invalid commands"; else
  not_ok "no command was refused"; fi

# The log holds exactly the accepted commands: replay re-simulates and checks every hash.
expect_exit 0 "the simulated session replays with every hash matching" -- "$S" replay "$sid_a" --data-dir "$T/a" --quiet
expect_exit 0 "the log verifies" -- "$S" log verify --data-dir "$T/a"

expect_exit 0 "four bots on canyon" -- "$S" simulate --seed 5 --players 4 --map "$CANYON" --data-dir "$T/e"
expect_match "text output has the result" "result +(victory|defeat)" "$OUT"
expect_match "text output has the final hash" "hash +[0-9a-f]{16}" "$OUT"

# The default map is found from the source tree's maps/ when run from there.
expect_exit 0 "default map from the current directory" -- bash -c "cd '$SRC' && '$S' simulate --seed 2 --players 1 --data-dir '$T/f'"
expect_match "meadow is the default" "meadow.json" "$OUT"

printf '{"name":"bad","width":20,"height":20,"terrain_data":[]}' >"$T/bad.json"
expect_exit 3 "a bad map is refused" -- "$S" simulate --map "$T/bad.json" --data-dir "$T/g"
expect_match "the error names the field" "terrain_data" "$ERR"
expect_exit 3 "a missing map file is refused" -- "$S" simulate --map "$T/none.json" --data-dir "$T/g"
finish
