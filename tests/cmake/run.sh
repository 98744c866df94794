#!/usr/bin/env bash
# Installs certpin with CMake into a scratch prefix and builds a C consumer
# against the installed files the ways an application would:
#   (a) find_package(certpin CONFIG), linked to certpin::certpin and to certpin::certpin_static;
#   (b) pkg_check_modules(... IMPORTED_TARGET certpin);
#   (c) cc with `pkg-config --cflags --libs certpin`, and with `--static`.
# Each consumer must accept a pinned self-signed certificate (PIN_OK) and
# reject another one (PIN_ERR_UNTRUSTED); the certificates are made here.
#
#   tests/cmake/run.sh                  configures target/cmake-test/build itself
#   tests/cmake/run.sh --build-dir DIR  uses an existing build folder (ctest)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
consumer_src="$root/tests/cmake/consumer"

build=""
if [ $# -eq 2 ] && [ "$1" = "--build-dir" ]; then
  build=$(cd "$2" && pwd)
  work="$build/cmake-test"
elif [ $# -eq 0 ]; then
  work="$root/target/cmake-test"
else
  echo "usage: $0 [--build-dir DIR]" >&2
  exit 2
fi

fail() {
  echo "cmake-test: FAIL: $*" >&2
  exit 1
}
step() {
  echo "cmake-test: $*"
}

version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml")
[ -n "$version" ] || fail "no version in Cargo.toml"
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}

mkdir -p "$work"

# --- build and install certpin --------------------------------------------
if [ -z "$build" ]; then
  build="$work/build"
  # A build folder configured from another checkout (a moved or copied
  # tree) cannot be reused: CMake refuses it.
  if [ -f "$build/CMakeCache.txt" ] && ! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$root" "$build/CMakeCache.txt"; then
    rm -rf "$build"
  fi
  cargo_args=()
  if [ -n "${CARGO:-}" ]; then
    cargo_args=(-DCARGO_EXECUTABLE="$(command -v "$CARGO")")
  fi
  # Debug shares cargo's target/debug with `cargo test`; the Qt parts have
  # their own tests.
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DCERTPIN_BUILD_DEMO=OFF -DCERTPIN_BUILD_QT_TESTS=OFF "${cargo_args[@]}" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log"; fail "configuring certpin"; }
fi
cmake --build "$build"

prefix="$work/prefix"
rm -rf "$prefix"
# The prefix is chosen at install time, not at configuration, on purpose:
# certpin.pc must name the prefix the files really went to.
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "installing"; }
step "installed into $prefix"

pc_file=$(find "$prefix" -name certpin.pc)
[ -n "$pc_file" ] || fail "no certpin.pc installed"
libdir=$(dirname "$(dirname "$pc_file")")
[ -f "$libdir/cmake/certpin/certpinConfig.cmake" ] || fail "no certpinConfig.cmake in $libdir/cmake/certpin"
[ -f "$libdir/cmake/certpin/certpinConfigVersion.cmake" ] || fail "no certpinConfigVersion.cmake"
[ -f "$prefix/include/certpin.h" ] || fail "no include/certpin.h"
[ -f "$libdir/libcertpin.a" ] || fail "no libcertpin.a"
real="libcertpin.so.$version"
[ -f "$libdir/$real" ] && [ ! -L "$libdir/$real" ] || fail "$real is not a file"
[ "$(readlink "$libdir/libcertpin.so.$major")" = "$real" ] || fail "libcertpin.so.$major does not point to $real"
[ "$(readlink "$libdir/libcertpin.so")" = "libcertpin.so.$major" ] || fail "libcertpin.so does not point to libcertpin.so.$major"
soname=$(readelf -d "$libdir/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libcertpin.so.$major" ] || fail "soname of $real is '$soname', expected libcertpin.so.$major"
step "soname $soname"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --variable=prefix certpin)" = "$prefix" ] || fail "certpin.pc names prefix $(pkg-config --variable=prefix certpin)"
[ "$(pkg-config --modversion certpin)" = "$version" ] || fail "certpin.pc version $(pkg-config --modversion certpin)"

# --- certificates -----------------------------------------------------------
certs="$work/certs"
rm -rf "$certs"
mkdir -p "$certs"
for name in pinned other; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 36500 -nodes -subj /CN=localhost \
    -keyout "$certs/$name.key" -out "$certs/$name.pem" 2>"$certs/openssl.log" ||
    { cat "$certs/openssl.log"; fail "openssl req"; }
  openssl x509 -in "$certs/$name.pem" -outform DER -out "$certs/$name.der"
done

# Runs one consumer; it must link libcertpin from the prefix (or statically)
# and give the expected answers.
run_consumer() {
  local exe=$1 linkage=$2
  local needed
  needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(libcertpin[^]]*\)\]/\1/p')
  if [ "$linkage" = static ]; then
    [ -z "$needed" ] || fail "$exe is meant to be static but needs $needed"
  else
    [ "$needed" = "libcertpin.so.$major" ] || fail "$exe needs '$needed', expected libcertpin.so.$major"
    local resolved
    resolved=$(ldd "$exe" | sed -n 's/.*libcertpin\.so[^ ]* => \([^ ]*\) .*/\1/p')
    [ "$(readlink -f "$resolved")" = "$(readlink -f "$libdir/$real")" ] ||
      fail "$exe loads libcertpin from '$resolved', not from $libdir"
  fi
  local out
  out=$("$exe" "$certs/pinned.pem" "$certs/pinned.der" "$certs/other.der" localhost 2>&1) ||
    { echo "$out" >&2; fail "$(basename "$exe") did not get the expected answers"; }
  grep -qx "certpin $version" <<<"$out" || { echo "$out" >&2; fail "$(basename "$exe"): pin_version() is not $version"; }
  step "$(basename "$exe") ($linkage): $(grep -v '^certpin ' <<<"$out" | sed "s|$certs/||" | paste -sd ' ')"
}

configure_consumer() {
  local dir=$1
  shift
  rm -rf "$dir"
  cmake -S "$consumer_src" -B "$dir" "$@" >"$dir.log" 2>&1
}

# --- (a) find_package(certpin CONFIG) ------------------------------------------
configure_consumer "$work/config" -DCERTPIN_FIND=config -DCMAKE_PREFIX_PATH="$prefix" ||
  { cat "$work/config.log"; fail "find_package(certpin $major.$minor CONFIG) failed"; }
cmake --build "$work/config" >>"$work/config.log" 2>&1 || { cat "$work/config.log"; fail "building the find_package consumer"; }
run_consumer "$work/config/consumer_shared" shared
run_consumer "$work/config/consumer_static" static

# A later minor version is not promised to be compatible while certpin is 0.x.
if [ "$major" = 0 ]; then
  newer="0.$((minor + 1))"
else
  newer="$((major + 1)).0"
fi
if configure_consumer "$work/config-newer" -DCERTPIN_FIND=config -DCMAKE_PREFIX_PATH="$prefix" \
  -DCERTPIN_REQUIRED_VERSION="$newer"; then
  fail "find_package(certpin $newer) accepted version $version"
fi
grep -q "compatible with requested version \"$newer\"" "$work/config-newer.log" ||
  { cat "$work/config-newer.log"; fail "find_package(certpin $newer) failed for another reason"; }
step "find_package(certpin $newer) refuses $version"

# --- (b) pkg_check_modules(IMPORTED_TARGET) --------------------------------------
configure_consumer "$work/pkgconfig" -DCERTPIN_FIND=pkgconfig ||
  { cat "$work/pkgconfig.log"; fail "pkg_check_modules(certpin) failed"; }
cmake --build "$work/pkgconfig" >>"$work/pkgconfig.log" 2>&1 ||
  { cat "$work/pkgconfig.log"; fail "building the pkg_check_modules consumer"; }
run_consumer "$work/pkgconfig/consumer_pkgconfig" shared

# --- (c) cc with pkg-config ------------------------------------------------------
cc_dir="$work/cc"
rm -rf "$cc_dir"
mkdir -p "$cc_dir"
cc_flags=(-std=c11 -Wall -Wextra -Werror)
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
"${CC:-cc}" "${cc_flags[@]}" -o "$cc_dir/consumer_cc" "$consumer_src/consumer.c" \
  $(pkg-config --cflags --libs certpin) -Wl,-rpath,"$(pkg-config --variable=libdir certpin)" ||
  fail "cc with pkg-config --cflags --libs certpin"
run_consumer "$cc_dir/consumer_cc" shared

# The static library with exactly the system libraries certpin.pc declares
# (Libs.private); -l:libcertpin.a because the shared library sits beside it.
static_libs=$(pkg-config --static --libs certpin)
static_libs=${static_libs/-lcertpin/-l:libcertpin.a}
# shellcheck disable=SC2046,SC2086
"${CC:-cc}" "${cc_flags[@]}" -o "$cc_dir/consumer_cc_static" "$consumer_src/consumer.c" \
  $(pkg-config --cflags certpin) $static_libs ||
  fail "cc with pkg-config --static --libs certpin"
run_consumer "$cc_dir/consumer_cc_static" static

step "all consumers passed"
