#!/usr/bin/env bash
# ThreadSanitizer runs of the multi-threaded tests: tests/concurrency.rs, and
# the C test tests/c/test_threads.c against a certpin library whose Rust code,
# the standard library included, is instrumented too. Needs a nightly toolchain with the rust-src component
# (-Zsanitizer=thread with -Zbuild-std); it is not part of `make test`,
# which runs on stable. See SECURITY.md, "Concurrency".
#
# Usage: scripts/tsan-threads.sh [ITERATIONS_PER_THREAD] (default 2000).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
iterations=${1:-2000}
triple=$(rustc -vV | sed -n 's/^host: //p')
target_dir="$root/target/tsan"
sysroot=$(rustc +nightly --print sysroot)
runtime="$sysroot/lib/rustlib/$triple/lib/librustc-nightly_rt.tsan.a"
if [ ! -d "$sysroot/lib/rustlib/src/rust/library" ] || [ ! -f "$runtime" ]; then
  echo "needs: rustup toolchain install nightly --component rust-src" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR="$target_dir" \
  cargo +nightly test -Zbuild-std --target "$triple" --test concurrency
RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR="$target_dir" \
  cargo +nightly build -Zbuild-std --target "$triple" --lib --no-default-features
cargo run --quiet --example c_fixtures -- "$work/fixtures"

mapfile -t system_libs < <("$root/scripts/native-static-libs.sh")
# GCC instruments the C test; the runtime is LLVM's, the one the Rust code
# was instrumented for (GCC's libtsan lacks entry points rustc emits).
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -g -O1 -fsanitize=thread -I include \
  -c tests/c/test_threads.c -o "$work/test_threads.o"
c++ -o "$work/test_threads" "$work/test_threads.o" "$target_dir/$triple/debug/libcertpin.a" \
  -Wl,--whole-archive "$runtime" -Wl,--no-whole-archive "${system_libs[@]/#/-l}"

"$work/test_threads" "$work/fixtures" "$iterations"
echo "ThreadSanitizer: no data race"
