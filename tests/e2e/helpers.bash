# helpers.bash: shared setup for rapt's bats end-to-end tests.
#
# CTest passes RAPT (the binary), TESTCHILD, RAPT_FIXTURES, RAPT_SOURCE_DIR and LC_ALL=C.
# Every test runs in its own temporary directory, removed afterwards, with its own
# XDG_STATE_HOME (so its own default history file).

bats_require_minimum_version 1.5.0

setup() {
    : "${RAPT:?RAPT must point at the rapt binary (run through ctest)}"
    TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rapt-e2e.XXXXXX")
    cd "$TEST_DIR" || return 1
    export LC_ALL=C
    # rapt run records into a history file by default: each test gets its own, never the
    # user's ~/.local/state.
    export XDG_STATE_HOME="$TEST_DIR/.state"
}

teardown() {
    remove_cgroups
    cd / && rm -rf "$TEST_DIR"
}

# track_cgroup DIR...: cgroups a test created, removed by teardown (their processes killed,
# sub-cgroups first) even when the test fails or is interrupted between mkdir and rmdir.
track_cgroup() {
    CG_CLEANUP="${CG_CLEANUP:-} $*"
}

remove_cgroups() {
    local d
    for d in ${CG_CLEANUP:-}; do
        [ -d "$d" ] || continue
        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    CG_CLEANUP=
}

# usage_error CMD...: runs rapt CMD... and asserts the rapt contract for bad input:
# exit 2, nothing on stdout, exactly one stderr line starting with "rapt: error: ".
usage_error() {
    expect_bad_usage 2 "rapt: error: " "$@"
}

# expect_bad_usage STATUS PREFIX CMD...: runs rapt CMD... and asserts exit STATUS, nothing on
# stdout and exactly one stderr line starting with PREFIX.
expect_bad_usage() {
    local want=$1 prefix=$2 lines
    shift 2
    run --separate-stderr "$RAPT" "$@"
    if [ "$status" -ne "$want" ]; then
        echo "expected exit $want, got $status for: rapt $*" >&2
        echo "stdout: $output" >&2
        echo "stderr: $stderr" >&2
        return 1
    fi
    if [ -n "$output" ]; then
        echo "expected empty stdout for: rapt $*, got: $output" >&2
        return 1
    fi
    lines=$(printf '%s\n' "$stderr" | wc -l)
    if [ "$lines" -ne 1 ] || [[ "$stderr" != "$prefix"* ]]; then
        echo "expected one '$prefix' line for: rapt $*, got:" >&2
        printf '%s\n' "$stderr" >&2
        return 1
    fi
}

# json_eq FILTER EXPECTED FILE: asserts jq's raw output for FILTER on FILE.
json_eq() {
    local got
    got=$(jq -r "$1" "$3")
    if [ "$got" != "$2" ]; then
        echo "jq '$1': expected '$2', got '$got'" >&2
        return 1
    fi
}

require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        skip "needs root to create cgroups"
    fi
}

# run_usage_error ARGS...: `rapt run ARGS...` must fail as bad usage: exit 254 (rapt run's
# usage code, as 2 would read as "2 jobs failed"), nothing on stdout, one 'rapt: error:' line.
run_usage_error() {
    expect_bad_usage 254 "rapt: error: run: " run "$@"
}

# framed VALUE...: what `rapt-testchild args -- VALUE...` prints ("<bytes>:<value>" per value).
framed() {
    local v
    for v in "$@"; do
        LC_ALL=C printf '%d:%s\n' "${#v}" "$v"
    done
}

# cgroup_root_or_skip: skips unless root can create memory cgroups next to this process.
cgroup_root_or_skip() {
    require_root
    local cg
    cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
    [ -n "$cg" ] && [ -d "/sys/fs/cgroup/memory$cg" ] || skip "no cgroup v1 memory controller here"
    RAPT_MEMCG="/sys/fs/cgroup/memory$cg"
}

# sanitized: true when rapt is built with a sanitizer; its memory figures are then the
# sanitizer's (shadow memory, quarantine), so tests skip assertions on rapt's own RSS.
sanitized() {
    grep -qa -e __asan_init -e __tsan_init "$RAPT"
}
