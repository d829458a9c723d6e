#!/usr/bin/env bash
# Installs every Debian 12 package Stockade needs to build, test and run (DESIGN.md §11).
# Idempotent: packages already present are skipped, so a second run is quick.
# Usage: tools/install-deps.sh [--runtime|--test]   (default: --test, everything)
set -euo pipefail

mode=${1:---test}
build_pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libuv1-dev libpq-dev libhiredis-dev libmsgpack-dev liblmdb-dev node-llhttp
  libwslay-dev libjansson-dev libsodium-dev libssl-dev libxxhash-dev)
run_pkgs=(postgresql-15 redis-server lmdb-utils)
test_pkgs=(libcriterion-dev valgrind procps psmisc python3 curl wrk)

want=("${build_pkgs[@]}" "${run_pkgs[@]}")
[ "$mode" = "--test" ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages start system services; Stockade runs its own private instances.
for svc in redis-server postgresql; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
done
echo "install-deps: done"
