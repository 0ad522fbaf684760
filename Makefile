# rapt: the two commands a fresh Debian 12 machine needs are `make demo` and `make test`.
#
#   make            build the release tree (build/release)
#   make test       build release, asan-ubsan and tsan; run every test (tsan: the threaded ones;
#                   release also runs the unit tests and the CLI under valgrind)
#   make demo       build, then run rapt on the bundled example
#   make bench      run the side-by-side benchmarks in bench/
#   make install    install into PREFIX (default /usr/local)
#
# Each target first installs missing Debian packages (scripts/deps.sh). CMAKE_ARGS is passed
# to every configure step (CI adds -DRAPT_WERROR=ON).

PREFIX ?= /usr/local
CMAKE_ARGS ?=
CTEST_ARGS ?= -j2 --output-on-failure
RAPT := build/release/src/rapt

.PHONY: all build deps test test-release test-asan test-tsan demo bench install clean format

all: build

build:
	@scripts/deps.sh build
	@cmake --preset release $(CMAKE_ARGS) >/dev/null
	@cmake --build build/release

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory test-release test-asan test-tsan

test-release:
	@cmake --preset release $(CMAKE_ARGS) >/dev/null
	@cmake --build build/release
	@echo "== ctest: release =="
	@cd build/release && ctest $(CTEST_ARGS)

test-asan:
	@cmake --preset asan-ubsan $(CMAKE_ARGS) >/dev/null
	@cmake --build build/asan-ubsan
	@echo "== ctest: asan-ubsan (all but the slow soaks, whose RSS bounds apply to release) =="
	@cd build/asan-ubsan && ctest $(CTEST_ARGS) -LE slow

test-tsan:
	@cmake --preset tsan $(CMAKE_ARGS) >/dev/null
	@cmake --build build/tsan
	@echo "== ctest: tsan (threaded code) =="
	@cd build/tsan && ctest $(CTEST_ARGS) -L tsan

demo: build
	@examples/demo/demo.sh $(RAPT)

bench: build
	@scripts/deps.sh bench
	@bench/run-all.sh $(RAPT)

install: build
	@cmake --install build/release --prefix $(PREFIX)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build
