#!/usr/bin/env bash
# Runs cargo-deny (deny.toml) with the version make test is written for. A
# cargo-deny of that version on PATH is used; otherwise it is built once into
# target/tools (cargo install, a few minutes) and used from there.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.20.2
CARGO=${CARGO:-cargo}
tools=target/tools
deny=
if command -v cargo-deny >/dev/null && [ "$(cargo-deny --version 2>/dev/null)" = "cargo-deny $version" ]; then
  deny=cargo-deny
elif [ -x "$tools/bin/cargo-deny" ] && [ "$("$tools/bin/cargo-deny" --version)" = "cargo-deny $version" ]; then
  deny=$tools/bin/cargo-deny
else
  echo "cargo-deny $version: building it into $tools (once; a few minutes)"
  "$CARGO" install --locked --quiet --version "$version" --root "$tools" cargo-deny
  deny=$tools/bin/cargo-deny
fi
# Only the crate graph's errors fail: duplicates are warnings (deny.toml).
exec "$deny" --log-level error --locked check licenses bans sources
