#!/usr/bin/env bash
# tests/tools/test_log_cli.sh — `stockade demo`, `log append|dump|verify|stats`, `backup`,
# `restore` on real LMDB data directories: happy paths, hostile input, tamper detection.
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
D=$T/data

expect_exit 0 "demo fills a fresh data directory" -- "$S" demo --data-dir "$D" --producers 8 --users 12
expect_match "demo reports refused duplicate usernames" "refused 7 duplicate usernames" "$OUT"
expect_exit 0 "log verify on the demo log" -- "$S" log verify --data-dir "$D"
expect_match "verify names the head" "log verified: [0-9]+ events" "$OUT"
expect_exit 0 "log stats --json" -- "$S" log stats --data-dir "$D" --json
head=$(printf '%s' "$OUT" | sed -E 's/.*"head_seq":([0-9]+).*/\1/')
expect_match "stats counts events = head" "\"events\":$head," "$OUT"

# append: one good line per stream, every kind of bad line rejected with a reason
U=$(python3 -c 'import uuid;print(uuid.uuid4())')
cat >"$T/lines" <<LINES
{"stream":"$U","type":"UserLoggedIn","payload":{},"expected_version":0}
{"stream":"$U","type":"NoSuchType","payload":{}}
this is not json
{"stream":"not-a-uuid","type":"UserLoggedIn","payload":{}}
{"stream":"$U","type":"TribeDeleted","payload":{"extra":1}}
{"stream":"$U","type":"UserLoggedIn","payload":{},"expected_version":7}

{"stream":"$U","type":"UserLoggedIn","payload":{},"expected_version":1}
LINES
expect_exit 1 "append reports rejected lines" -- "$S" log append --data-dir "$D" --file "$T/lines"
expect_match "append counts" "appended 2 events .*rejected 5 lines" "$OUT"
expect_match "unknown type named" "line 2: .*unknown event type" "$ERR"
expect_match "bad JSON named" "line 3: malformed encoding: invalid JSON" "$ERR"
expect_match "bad uuid named" "line 4: .*stream" "$ERR"
expect_match "unknown payload key named" "line 5: .*payload.extra" "$ERR"
expect_match "version conflict named" "line 6: rejected: stream version conflict" "$ERR"
expect_exit 0 "dump --stream shows both appended events" -- "$S" log dump --data-dir "$D" --stream "$U"
[ "$(printf '%s\n' "$OUT" | grep -c '"type":"UserLoggedIn"')" -eq 2 ] && ok "two events in the stream" || not_ok "stream dump: $OUT"
expect_exit 0 "dump a range" -- "$S" log dump --data-dir "$D" --from 2 --to 4
[ "$(printf '%s\n' "$OUT" | wc -l)" -eq 3 ] && ok "range 2..4 is three lines" || not_ok "range: $OUT"
expect_exit 2 "dump --stream with a bad uuid is a usage error" -- "$S" log dump --data-dir "$D" --stream xyz
expect_exit 2 "unknown log subcommand" -- "$S" log frobnicate --data-dir "$D"
expect_exit 2 "unknown option" -- "$S" log verify --data-dir "$D" --bogus
expect_exit 3 "verify with no log" -- "$S" log verify --data-dir "$T/nothing"
expect_exit 0 "every subcommand has --help" -- "$S" log --help

# backup and restore
expect_exit 0 "hot backup" -- "$S" backup "$T/bk" --data-dir "$D"
expect_match "backup manifest" '"format":"stockade-log-backup-1"' "$(cat "$T/bk/BACKUP.json")"
expect_exit 3 "backup refuses an existing target" -- "$S" backup "$T/bk" --data-dir "$D"
expect_exit 0 "restore into a new data directory" -- "$S" restore "$T/bk" --data-dir "$T/r"
expect_exit 3 "restore refuses to overwrite" -- "$S" restore "$T/bk" --data-dir "$T/r"
expect_exit 0 "restore --force keeps the old log aside" -- "$S" restore "$T/bk" --data-dir "$T/r" --force
ls -d "$T"/r/log.replaced-* >/dev/null 2>&1 && ok "old log kept aside" || not_ok "no log.replaced-*"
a=$("$S" log verify --data-dir "$D" --json | sed -E 's/.*"head_chain":"([0-9a-f]+)".*/\1/')
b=$("$S" log verify --data-dir "$T/r" --json | sed -E 's/.*"head_chain":"([0-9a-f]+)".*/\1/')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "restored log has the same head chain" || not_ok "chains $a vs $b"

# tamper: flip one byte of one stored event in a copy; verify names that event's seq
name=$("$S" log dump --data-dir "$D" --from 5 --to 5 | sed -nE 's/.*"username":"([^"]+)".*/\1/p')
seq=$("$S" log dump --data-dir "$D" --from 5 --to 5 | sed -E 's/^\{"seq":([0-9]+).*/\1/')
if [ -z "$name" ]; then
  name=$("$S" log dump --data-dir "$D" | grep -m1 UserRegistered | sed -nE 's/.*"username":"([^"]+)".*/\1/p')
  seq=$("$S" log dump --data-dir "$D" | grep -m1 UserRegistered | sed -E 's/^\{"seq":([0-9]+).*/\1/')
fi
cp -r "$T/r/log" "$T/tampered" && rm -f "$T/tampered/lock.mdb"
python3 - "$T/tampered/data.mdb" "$name" <<'PY'
import sys
p, name = sys.argv[1], sys.argv[2].encode()
b = bytearray(open(p, 'rb').read())
i = b.find(name)
assert i >= 0, "username not found in data.mdb"
b[i + len(name) - 1] ^= 0x01
open(p, 'wb').write(bytes(b))
PY
mkdir -p "$T/td" && mv "$T/tampered" "$T/td/log"
expect_exit 1 "verify detects the flipped byte" -- "$S" log verify --data-dir "$T/td"
expect_match "verify names the first bad seq ($seq)" "first bad seq $seq \(chain\)" "$OUT"
expect_exit 1 "restore refuses a tampered backup" -- "$S" restore "$T/td" --data-dir "$T/r2"

# garbage instead of a log
mkdir -p "$T/g/log" && head -c 65536 /dev/urandom >"$T/g/log/data.mdb"
expect_exit 4 "garbage data.mdb is undecodable" -- "$S" log verify --data-dir "$T/g"
finish
