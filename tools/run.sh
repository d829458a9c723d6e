#!/usr/bin/env bash
# The README's main command: installs what Stockade needs, builds it optimized, and runs the
# server (`stockade serve`) on $STOCKADE_LISTEN (default 127.0.0.1:8080) with its data in
# $STOCKADE_DATA_DIR (default ./var). It prints the address to use and runs until Ctrl-C
# or SIGTERM (graceful: in-flight commits finish, WebSockets get 1001 going away).
# Extra arguments are passed to `stockade serve` (see `build/stockade serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --runtime
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DSTK_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" --target stockade
exec build/stockade serve "$@"
