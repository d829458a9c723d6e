#!/usr/bin/env bash
# The README's test command: installs what the tests need, checks formatting, then builds
# and tests Stockade twice (optimized with gcc; debug with clang under AddressSanitizer +
# UndefinedBehaviorSanitizer), both with -Wall -Wextra -Werror, and runs every libFuzzer
# target for a bounded time. Exits non-zero on the first failure.
#   STK_FUZZ_SECONDS  seconds per fuzz target (default 30)
#   STK_JOBS          parallel build/test jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${STK_JOBS:-$(nproc)}
fuzz_seconds=${STK_FUZZ_SECONDS:-30}

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
tools/install-deps.sh --test

step "format check (clang-format)"
mapfile -t sources < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^tests/fuzz/corpus/' || true)
bad=()
for f in "${sources[@]}"; do
  [ -f "$f" ] || continue
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "not clang-formatted (run: clang-format -i ${bad[*]})"
  exit 1
fi
echo "${#sources[@]} files formatted"

step "release build (gcc, -O2, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DSTK_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
step "release tests"
(cd build && ctest --output-on-failure -j "$jobs")

step "sanitizer build (clang, ASan + UBSan, -Werror)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
  -DSTK_SANITIZE=ON -DSTK_FUZZ=ON -DSTK_TESTS=ON >/dev/null
cmake --build build-asan -j "$jobs"
step "sanitizer tests"
# Sanitizer reports go to files as well as failing the process: Criterion runs each test in a
# worker process whose LeakSanitizer exit status it does not look at, so a leak would
# otherwise pass unseen. Any report file fails the run.
reports=$(mktemp -d)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:log_path=$reports/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan
(cd build-asan && ctest --output-on-failure -j "$jobs")
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitizer reports:"; head -60 "$reports"/*
  exit 1
fi
rm -rf "$reports"
unset ASAN_OPTIONS UBSAN_OPTIONS

step "fuzz targets (${fuzz_seconds}s each)"
shopt -s nullglob
for target in build-asan/fuzz/*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  work=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
  echo "fuzz $name: $(ls "$work" | wc -l) seeds"
  "$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$work" 2>"$work.log" || { tail -50 "$work.log"; exit 1; }
  grep -E 'stat::number_of_executed_units|Done' "$work.log" | tail -2
  rm -rf "$work" "$work.log"
done

step "all tests passed"
