# tests/tools/lib.sh — tiny assertion helpers for the CLI tests (sourced, not run).
# Each check prints "ok - what" or "not ok - what"; finish prints the tally line and exits
# non-zero if any check failed.
STK_PASS=0
STK_FAIL=0
ok() { STK_PASS=$((STK_PASS + 1)); echo "ok - $*"; }
not_ok() { STK_FAIL=$((STK_FAIL + 1)); echo "not ok - $*"; }
# expect_exit CODE WHAT -- CMD...   runs CMD, output to $OUT (stdout) and $ERR (stderr)
expect_exit() {
  local want=$1 what=$2; shift 3
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
  if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
    not_ok "$what: exit $got, wanted $want"; sed 's/^/    /' "$T/out" "$T/err" | head -20; fi
}
expect_match() { # expect_match WHAT PATTERN TEXT
  if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else
    not_ok "$1: /$2/ not in:"; printf '%s\n' "$3" | head -10 | sed 's/^/    /'; fi
}
finish() {
  echo "$STK_PASS passed, $STK_FAIL failed"
  [ "$STK_FAIL" -eq 0 ]
}
