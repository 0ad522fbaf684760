#!/usr/bin/env bats
# Packaging: the installed library, headers, pkg-config file and CMake package work for a
# program outside the source tree, and librapt.so exports exactly the public API.

load helpers

# Installs the build tree into a prefix inside the test's temporary directory.
install_prefix() {
    PREFIX="$TEST_DIR/prefix"
    cmake --install "$RAPT_BUILD_DIR" --prefix "$PREFIX" >/dev/null
    LIBDIR=$(dirname "$(find "$PREFIX" -name 'librapt.so' | head -n1)")
    [ -n "$LIBDIR" ]
}

# Sanitizer builds install a sanitized library; its consumers need the same runtime.
san_flags() {
    if [ -n "${RAPT_SANITIZE:-}" ]; then
        echo "-fsanitize=$RAPT_SANITIZE"
    fi
}

@test "librapt.so has a SONAME and exports only the RAPT_API functions of the headers" {
    so=$(find "$RAPT_BUILD_DIR/src" -maxdepth 1 -name 'librapt.so.*.*' | head -n1)
    [ -n "$so" ]
    run readelf -d "$so"
    [[ "$output" == *"SONAME"*"librapt.so.0"* ]]
    nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u > exported
    # Every function declared with RAPT_API in the installed headers...
    cat "$RAPT_SOURCE_DIR"/include/rapt/*.h | tr '\n' ' ' |
        grep -oE 'RAPT_API [^;(]*[ *]rapt_[a-z0-9_]+ *\(' |
        grep -oE 'rapt_[a-z0-9_]+ *\($' | tr -d ' (' | sort -u > declared
    [ -s declared ]
    # ...is exported, and nothing else is: no rapt__ internals, no helpers.
    diff declared exported
    ! grep -q '^rapt__' exported
}

@test "a program builds and runs with pkg-config --cflags --libs rapt" {
    install_prefix
    export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
    run pkg-config --modversion rapt
    [ "$status" -eq 0 ]
    [ -n "$output" ]
    # shellcheck disable=SC2046
    cc $(san_flags) -o consumer "$RAPT_SOURCE_DIR/tests/install/consumer.c" \
        $(pkg-config --cflags --libs rapt)
    run env LD_LIBRARY_PATH="$LIBDIR" ./consumer
    [ "$status" -eq 0 ]
    [[ "$output" == "rapt "*": square=49 status=0 too_big=request can never fit the capacity" ]]
    # The binary found the installed library, not the build tree's.
    run env LD_LIBRARY_PATH="$LIBDIR" ldd ./consumer
    [[ "$output" == *"$LIBDIR/librapt.so.0"* ]]
}

@test "a program links librapt statically with pkg-config --static" {
    install_prefix
    export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
    # shellcheck disable=SC2046
    cc $(san_flags) -o consumer "$RAPT_SOURCE_DIR/tests/install/consumer.c" \
        $(pkg-config --cflags rapt) "$LIBDIR/librapt.a" $(pkg-config --static --libs-only-l rapt | sed 's/-lrapt//')
    run ./consumer
    [ "$status" -eq 0 ]
    [[ "$output" == *"square=49"* ]]
    run ldd ./consumer
    [[ "$output" != *"librapt"* ]]
}

@test "a CMake project builds and runs with find_package(rapt)" {
    install_prefix
    cp -r "$RAPT_SOURCE_DIR/tests/install" consumer-src
    flags=$(san_flags)
    cmake -S consumer-src -B consumer-build -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" \
        -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
    cmake --build consumer-build >/dev/null
    run env LD_LIBRARY_PATH="$LIBDIR" consumer-build/consumer
    [ "$status" -eq 0 ]
    [[ "$output" == *"square=49 status=0"* ]]
    run consumer-build/consumer_static
    [ "$status" -eq 0 ]
    [[ "$output" == *"square=49 status=0"* ]]
}
