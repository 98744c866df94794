#!/usr/bin/env bash
# The C tests: builds the library and the fixtures, then compiles the C tests
# (C11, warnings as errors) and the header as C++, links them against the
# shared and the static library, and runs them natively, under
# AddressSanitizer + UndefinedBehaviorSanitizer, and under valgrind memcheck.
#
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default ./target),
# CC (default cc), CXX (default c++), THREAD_ITERATIONS (default 10000; the
# valgrind run uses a twentieth of it, valgrind being that much slower).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo=${CARGO:-cargo}
cc=${CC:-cc}
cxx=${CXX:-c++}
built="${CARGO_TARGET_DIR:-$root/target}/debug"
iterations=${THREAD_ITERATIONS:-10000}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "building the library and the fixtures"
$cargo build --locked --lib
$cargo run --locked --quiet --example c_fixtures -- "$work/fixtures"

# The tests use a copy of the libraries just built, so that another build in
# the same target directory cannot change them under a running test. A
# library linked with a soname (as the CMake build does) is found by it.
lib="$work/lib"
mkdir -p "$lib"
cp "$built/libcertpin.so" "$built/libcertpin.a" "$lib/"
soname=$(objdump -p "$lib/libcertpin.so" | awk '$1 == "SONAME" { print $2 }')
if [ -n "$soname" ] && [ "$soname" != libcertpin.so ]; then
  ln -s libcertpin.so "$lib/$soname"
fi

cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -I "$root/include")
shared=(-L "$lib" -lcertpin -Wl,-rpath,"$lib" -lpthread)
# What the static library needs from the system, as CMake links it.
mapfile -t system_libs < <(CARGO="$cargo" "$root/scripts/native-static-libs.sh" "${CARGO_TARGET_DIR:-$root/target}")
[ ${#system_libs[@]} -gt 0 ] || { echo "no system library list for the static library" >&2; exit 1; }
static=("$lib/libcertpin.a" "${system_libs[@]/#/-l}")
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

step "compiling"
for t in test_api test_threads; do
  $cc "${cflags[@]}" tests/c/$t.c -o "$work/$t-shared" "${shared[@]}"
  $cc "${cflags[@]}" tests/c/$t.c -o "$work/$t-static" "${static[@]}"
  $cc "${cflags[@]}" "${sanitize[@]}" tests/c/$t.c -o "$work/$t-asan" "${static[@]}"
done
$cxx -std=c++11 -Wall -Wextra -Wpedantic -Werror -g -I "$root/include" tests/c/header_cpp.cpp \
  -o "$work/header_cpp" "${shared[@]}"

step "shared library"
"$work/header_cpp"
"$work/test_api-shared" "$work/fixtures"
"$work/test_threads-shared" "$work/fixtures" "$iterations"

step "static library"
"$work/test_api-static" "$work/fixtures"
"$work/test_threads-static" "$work/fixtures" "$iterations"

step "AddressSanitizer + UndefinedBehaviorSanitizer (static library)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$work/test_api-asan" "$work/fixtures"
"$work/test_threads-asan" "$work/fixtures" "$iterations"
unset ASAN_OPTIONS UBSAN_OPTIONS

step "valgrind memcheck (shared library)"
vg=(valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect
  --errors-for-leak-kinds=definite,indirect)
"${vg[@]}" "$work/test_api-shared" "$work/fixtures"
"${vg[@]}" "$work/test_threads-shared" "$work/fixtures" $((iterations / 20))

step "C tests: all passed"
