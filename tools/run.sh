#!/usr/bin/env bash
# The README's main command: installs what Stockade needs, builds it optimized, and runs its
# main job. Until the live server lands (issue 4), the main job is the log demonstration:
# `stockade demo` plays generated games through the group-commit writer into the LMDB log
# in ./var, verifies the whole log (chain, stream index, decoding) and prints its stats.
# Extra arguments are passed to `stockade demo` (see `build/stockade demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --runtime
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DSTK_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" --target stockade
exec build/stockade demo "$@"
