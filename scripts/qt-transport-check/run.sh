#!/bin/sh
# Builds and runs the Qt gRPC / Qt MQTT checks against an installed certpin
# (CMAKE_PREFIX_PATH) and a Qt 6 with those modules; each check runs when its
# module is found. Debian 13 packages Qt gRPC (qt6-grpc-dev qt6-grpc-tools
# protobuf-compiler); Qt MQTT is packaged neither there nor in Debian 12 and
# must be built from its sources (qt/qtmqtt, cmake && cmake --install).
#   scripts/qt-transport-check/run.sh [BUILD_DIR]
# The certificates are made at run time (openssl, valid one day) and deleted.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${TMPDIR:-/tmp}/certpin-qt-transport-check}
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j1 >/dev/null
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
for n in real rogue; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$d/$n.key" -out "$d/$n.pem" 2>/dev/null
done
fail=0
# check PROGRAM MODE EXPECTED: EXPECTED is "none" (no byte after the handshake) or "some"
check() {
  [ -x "$build/$1" ] || { echo "skip $1 $2 (not built)"; return; }
  out=$(timeout 30 "$build/$1" "$2" "$d/real.pem" "$d/real.key" "$d/rogue.pem" "$d/rogue.key" 2>&1) || true
  printf '%s\n' "$out" | sed 's/^/  /'
  bytes=$(printf '%s\n' "$out" | awk '$1 == "RESULT" {print $3}')
  case "$3:$bytes" in
    none:0) echo "ok   $1 $2: no byte reached the server" ;;
    some:[1-9]*) echo "ok   $1 $2: $bytes bytes reached the server" ;;
    *) echo "FAIL $1 $2: expected $3, got '${bytes}'"; fail=1 ;;
  esac
}
check grpc-check plain-accept some
check grpc-check hook-abort-reject none
check grpc-check hook-certpin-reject none
check grpc-check hook-certpin-accept some
check grpc-check relay-reject none
check grpc-check relay-accept some
check mqtt-check pinned-accept some
check mqtt-check pinned-reject none
check mqtt-check pinned-iodevice-accept some
check mqtt-check pinned-iodevice-reject none
check mqtt-check onconnected-accept some
check mqtt-check onconnected-reject none
check mqtt-check unconnected-accept none   # CONNECT is never sent: the client stays connecting
check mqtt-check own-accept some
check mqtt-check own-reject none
exit $fail
