#!/usr/bin/env bats
# rapt info: the detection report, against fixture sysroots and the real machine, including a
# real memory cgroup (root only) and a check that it forks nothing.

load helpers

@test "info prints every section on the real machine" {
    run --separate-stderr "$RAPT" info
    [ "$status" -eq 0 ]
    for section in CPUs Memory Swap Pressure "SLURM allocation" Environment Defaults; do
        [[ "$output" == *"$section"* ]]
    done
    [ -z "$stderr" ]
}

@test "info --json is valid JSON with the documented schema" {
    "$RAPT" info --json > info.json
    json_eq .schema rapt.info/1 info.json
    json_eq '.cpu.effective >= 1' true info.json
    json_eq '.memory.limit > 0' true info.json
    json_eq '.memory.available <= .memory.limit' true info.json
    json_eq '.defaults.slots == .cpu.effective' true info.json
    json_eq '.environment | test("^(constrained|small|medium|large)$")' true info.json
    json_eq '.psi.system.memory | has("some")' true info.json
}

@test "a free-tier container fixture: 512 MiB and 0.1 CPU" {
    "$RAPT" info --json --sysroot "$RAPT_FIXTURES/v1-free-tier" > info.json
    json_eq .memory.limit 536870912 info.json
    json_eq .memory.limit_bound cgroup info.json
    json_eq .memory.limit_source /sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes info.json
    json_eq .cpu.quota_millicpus.value 100 info.json
    json_eq .cpu.effective 1 info.json
    json_eq .environment constrained info.json
    json_eq .memory.available 452984832 info.json
}

@test "the human report names the cgroup file that binds" {
    run "$RAPT" info --sysroot "$RAPT_FIXTURES/v2-nested"
    [ "$status" -eq 0 ]
    [[ "$output" == *"limit              2 GiB          cgroup: /sys/fs/cgroup/kubepods/pod1/memory.max"* ]]
    [[ "$output" == *"effective          1"* ]]
}

@test "a SLURM allocation in the environment bounds CPUs and memory" {
    SLURM_JOB_ID=4242 SLURM_CPUS_ON_NODE=4 SLURM_MEM_PER_NODE=8192 \
        "$RAPT" info --json --sysroot "$RAPT_FIXTURES/slurm" > info.json
    json_eq .slurm.in_allocation true info.json
    json_eq .slurm.job_id 4242 info.json
    json_eq .cpu.effective 4 info.json
    json_eq .cpu.effective_bound slurm info.json
    json_eq .memory.limit 8589934592 info.json
    json_eq .memory.limit_bound slurm info.json
}

@test "garbage files degrade to unknown with reasons, never a crash" {
    run --separate-stderr "$RAPT" info --json --sysroot "$RAPT_FIXTURES/v1-garbage-limits"
    [ "$status" -eq 0 ]
    echo "$output" > info.json
    json_eq .memory.cgroup.limit.state unknown info.json
    json_eq .memory.cgroup.limit.reason "malformed memory limit" info.json
    json_eq .cpu.quota_millicpus.reason "malformed CPU quota" info.json
    json_eq .memory.limit_bound host info.json
}

@test "a sysroot that does not exist is a usage error" {
    usage_error info --sysroot /nonexistent/rapt-sysroot
    [[ "$stderr" == *"No such file or directory"* ]]
}

@test "a sysroot with nothing readable is a usage error" {
    usage_error info --sysroot "$RAPT_FIXTURES/garbage"
    [[ "$stderr" == *"not a Linux root"* ]]
    mkdir empty
    usage_error info --sysroot empty
    echo x > plainfile
    usage_error info --sysroot plainfile
}

@test "info rejects stray arguments and unknown options" {
    usage_error info extra
    usage_error info --frobnicate
    usage_error info --sysroot
}

@test "info forks no process (strace)" {
    command -v strace >/dev/null || skip "strace is not installed"
    # LeakSanitizer starts a tracer thread at exit in sanitizer builds; it is not rapt's.
    ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o trace.txt \
        -e trace=fork,vfork,clone,clone3,execve,execveat "$RAPT" info --json > /dev/null
    # Exactly one execve (rapt itself), no process creation at all.
    [ "$(grep -c 'execve' trace.txt)" -eq 1 ]
    ! grep -Eq '(^|[^a-z])(fork|vfork|clone|clone3)\(' trace.txt
}

# Creates a memory cgroup limited to 512 MiB and a CPU quota of 10000/100000, runs
# `rapt info --json` inside both, and asserts what it reports. v1 controllers (this machine's
# hybrid layout) or a v2 tree with the controllers enabled.
@test "in a real 512 MiB / 0.1 CPU cgroup: limit 512 MiB and 1 effective CPU (root)" {
    require_root
    name="rapt-e2e-$$-$BATS_TEST_NUMBER"
    if [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/memory ]; then
        mem=/sys/fs/cgroup/memory/$name
        cpu=/sys/fs/cgroup/cpu/$name
        mkdir "$mem" "$cpu" || skip "cannot create v1 cgroups here"
        track_cgroup "$mem" "$cpu"
        echo $((512 * 1024 * 1024)) > "$mem/memory.limit_in_bytes"
        echo 100000 > "$cpu/cpu.cfs_period_us"
        echo 10000 > "$cpu/cpu.cfs_quota_us"
        procs="$mem/cgroup.procs $cpu/cgroup.procs"
        dirs="$mem $cpu"
    elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null &&
         grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        dir=/sys/fs/cgroup/$name
        mkdir "$dir" || skip "cannot create a v2 cgroup here"
        track_cgroup "$dir"
        echo $((512 * 1024 * 1024)) > "$dir/memory.max"
        echo "10000 100000" > "$dir/cpu.max"
        procs="$dir/cgroup.procs"
        dirs="$dir"
    else
        skip "no writable memory and cpu cgroup controllers"
    fi
    # The shell moves itself into the cgroups, then becomes rapt.
    sh -c 'for p in $1; do echo $$ > "$p"; done; exec "$2" info --json' sh "$procs" "$RAPT" > info.json
    status=$?
    for d in $dirs; do rmdir "$d"; done
    [ "$status" -eq 0 ]
    json_eq .memory.limit 536870912 info.json
    json_eq .memory.limit_bound cgroup info.json
    json_eq .cpu.quota_millicpus.value 100 info.json
    json_eq .cpu.effective 1 info.json
    json_eq .environment constrained info.json
}
