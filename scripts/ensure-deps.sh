#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages `make test` and `make demo` need, when
# they are missing. As root it runs apt-get; otherwise it prints the exact
# command to run and fails.
set -euo pipefail

packages=(pkg-config cmake qt6-base-dev qtbase5-dev qt6-websockets-dev libqt5websockets5-dev qt6-declarative-dev qtdeclarative5-dev qml6-module-qtwebsockets qml-module-qtwebsockets valgrind libssl-dev openssl)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "certpin needs these packages: ${missing[*]}" >&2
  echo "Run as root:" >&2
  echo "  sudo sh -c '$cmd'" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
sh -c "$cmd"
