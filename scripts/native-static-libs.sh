#!/usr/bin/env bash
# Prints what the static libcertpin needs from the system, one library name
# per line, as rustc reports it for this crate (--print native-static-libs),
# without repeats and without libc (the compiler driver adds it). CMake (the
# imported target, the CMake package, pkg-config's Libs.private) and the C
# tests link with this list.
#   scripts/native-static-libs.sh [TARGET_DIR] [cargo feature arguments...]
# It builds into TARGET_DIR/native-static-libs (default target/), once; later
# runs replay rustc's note from cargo's cache.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
target=${1:-target}/native-static-libs
shift || true
[ $# -gt 0 ] || set -- --no-default-features
out=$("$CARGO" rustc --locked --lib --crate-type staticlib "$@" --target-dir "$target" \
  -- --print native-static-libs 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
libs=$(printf '%s\n' "$out" | sed -n 's/.*native-static-libs: //p' | tail -n 1)
[ -n "$libs" ] || { printf '%s\n' "$out" >&2; echo "native-static-libs: rustc reported no list" >&2; exit 1; }
for l in $libs; do
  l=${l#-l}
  [ "$l" = c ] || echo "$l"
done | awk '!seen[$0]++'
