# certpin: the README's two commands, `make demo` and `make test`, and their parts.
# Each target installs what is missing first (apt-get as root; otherwise it
# prints the command to run and stops).

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test demo bench deps lint deny rust-test test-aws-lc header-check c-test qt-test cmake-test

test: deps lint deny rust-test test-aws-lc header-check c-test qt-test cmake-test
	@echo "make test: all checks passed"

deps:
	@scripts/ensure-deps.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	# The C library is built without the CLI: no warning there either.
	$(CARGO) clippy --locked --lib --no-default-features -- -D warnings

# Licences, banned crates and sources of every dependency (deny.toml).
deny:
	CARGO="$(CARGO)" scripts/cargo-deny.sh

rust-test:
	$(CARGO) test --locked --all-targets

# The same verification and cache tests with aws-lc-rs checking signatures.
test-aws-lc:
	$(CARGO) test --locked --features aws-lc-rs --lib --test verify --test cache --test signature_cache

# build.rs regenerates include/certpin.h; a stale committed header fails here.
header-check:
	$(CARGO) build --locked --lib
	git diff --exit-code -- include/ || { echo "include/certpin.h is stale: commit the regenerated header" >&2; exit 1; }

# The C API from C and C++: shared and static library, sanitizers, valgrind.
c-test:
	CARGO="$(CARGO)" tests/c/run.sh

# Installs certpin with CMake into a scratch prefix and builds C consumers
# through find_package, pkg_check_modules and pkg-config, shared and static.
cmake-test:
	CARGO="$(CARGO)" tests/cmake/run.sh

# The Qt demo, built as a user builds it (Release, in build/), then run.
demo: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCERTPIN_BUILD_DEMO=ON
	cmake --build build --parallel 2 --target certpin-demo
	build/cpp-example/certpin-demo

# The Qt end-to-end tests (ctest label "qt") with Qt 6, then with Qt 5.15; the
# CMake package test, also in ctest, is cmake-test's.
qt-test:
	cmake -S . -B target/cmake-qt6 -DCMAKE_BUILD_TYPE=Debug -DCERTPIN_QT_MAJOR=6 -DCERTPIN_BUILD_QT_TESTS=ON
	cmake --build target/cmake-qt6 --parallel 2
	ctest --test-dir target/cmake-qt6 --output-on-failure -L qt
	cmake -S . -B target/cmake-qt5 -DCMAKE_BUILD_TYPE=Debug -DCERTPIN_QT_MAJOR=5 -DCERTPIN_BUILD_QT_TESTS=ON
	cmake --build target/cmake-qt5 --parallel 2
	ctest --test-dir target/cmake-qt5 --output-on-failure -L qt

bench: deps
	$(CARGO) bench --locked
