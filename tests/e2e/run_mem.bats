#!/usr/bin/env bats
# Memory-aware admission, protection and recovery of `rapt run` (docs/admission.md), in real
# memory cgroups: rapt runs inside a small cgroup created for the test, its per-job slot
# cgroups below it. Nothing here asserts on wall-clock time; every assertion is about which
# jobs ran, how they ended and what rapt said.

load helpers

# memcg LIMIT: creates a memory cgroup limited to LIMIT next to this process (MEMCG).
memcg() {
    cgroup_root_or_skip
    MEMCG="$RAPT_MEMCG/rapt-e2e-mem-$$-$BATS_TEST_NUMBER"
    mkdir "$MEMCG"
    track_cgroup "$MEMCG"
    echo "$1" > "$MEMCG/memory.limit_in_bytes"
}

# in_memcg CMD...: runs CMD inside $MEMCG (the shell joins it, then becomes CMD).
in_memcg() {
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$MEMCG" "$@"
}

# max_running EVENTS: the most jobs that ran at once, from job_start/job_end records.
max_running() {
    jq -s '[.[] | select(.event == "job_start" or .event == "job_end")
            | {m: .mono, d: (if .event == "job_start" then 1 else -1 end)}]
           | sort_by(.m, .d) | reduce .[] as $e ({n: 0, max: 0};
                .n += $e.d | .max = ([.max, .n] | max)) | .max' "$1"
}

# ---- bad input -----------------------------------------------------------------------------

@test "bad input: malformed sizes, models, budgets and modes are one error line and exit 254" {
    run_usage_error --mem-model 3 echo ::: 1
    [[ "$stderr" == *"expected GAMMA,OVERHEAD"* ]]
    run_usage_error --mem-model x,1G echo ::: 1
    run_usage_error --mem-model 1,-5M echo ::: 1
    run_usage_error --mem-budget 150% echo ::: 1
    run_usage_error --mem-budget 0 echo ::: 1
    run_usage_error --mem-budget lots echo ::: 1
    run_usage_error --mem-per-job abc echo ::: 1
    run_usage_error --mem-per-job 0 echo ::: 1
    run_usage_error --mem-limit-per-job 1x echo ::: 1
    run_usage_error --on-pressure maybe echo ::: 1
    run_usage_error --oom-retries -1 echo ::: 1
    run_usage_error --max-jobs 0 echo ::: 1
    run_usage_error -j auto5 echo ::: 1
}

@test "a hint larger than the memory limit is an error before anything runs" {
    run_usage_error --mem-per-job 100T touch ran ::: 1
    [[ "$stderr" == *"more than the memory limit"* ]]
    [[ "$stderr" == *"no job could ever run"* ]]
    [ ! -e ran ]
}

@test "a hint between the budget and the limit is one warning, and the job runs alone" {
    memcg 256M
    run --separate-stderr in_memcg "$RAPT" run --mem-per-job 240M --events ev.jsonl \
        "$TESTCHILD" alloc 10 sleep 0.2 -- ::: 1 2 3
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$stderr" | grep -c '^rapt: warning: ')" -eq 1 ]
    [[ "$stderr" == *"--mem-per-job"*"budget"* ]]
    [ "$(max_running ev.jsonl)" -eq 1 ]
    [ "$(jq -s '[.[] | select(.event == "job_end" and .outcome == "success")] | length' ev.jsonl)" -eq 3 ]
}

# ---- admission -----------------------------------------------------------------------------

@test "without hints, jobs that ramp up after starting are not over-admitted: none is lost" {
    memcg 256M
    # Six jobs that each grow to 100 MiB: two fit the 256 MiB cgroup, three would not.
    run --separate-stderr in_memcg "$RAPT" run -j 4 --explain --events ev.jsonl \
        "$TESTCHILD" ramp 100 0.5 sleep 0.5 -- ::: 1 2 3 4 5 6
    [ "$status" -eq 0 ]
    [ "$(jq -s '[.[] | select(.event == "job_end" and .outcome == "success")] | length' ev.jsonl)" -eq 6 ]
    [ "$(jq -s '[.[] | select(.event == "job_end" and .oom_kill)] | length' ev.jsonl)" -eq 0 ]
    [ "$(max_running ev.jsonl)" -le 2 ]
    # The waits were for memory and said so, on stderr and in the events.
    [[ "$stderr" == *"waits: memory"* ]]
    [ "$(jq -s '[.[] | select(.event == "decision" and .action == "wait" and .why == "memory")] | length' ev.jsonl)" -ge 1 ]
    # The budget in the run_start record is 85% of the cgroup's limit.
    json_eq 'select(.event == "run_start") | .mem_limit' 268435456 ev.jsonl
    budget=$(jq -r 'select(.event == "run_start") | .mem_budget' ev.jsonl)
    [ "$budget" -le $((268435456 * 85 / 100)) ] && [ "$budget" -ge $((268435456 * 70 / 100)) ]
}

@test "a hint of a third of the real peak: protection and OOM recovery lose no job" {
    memcg 256M
    run --separate-stderr in_memcg "$RAPT" run -j 4 --mem-per-job 30M --joblog log \
        --events ev.jsonl "$TESTCHILD" ramp 100 0.5 sleep 0.5 -- ::: 1 2 3 4 5 6
    [ "$status" -eq 0 ]
    # Every job succeeded in the end, each exactly once.
    [ "$(jq -s '[.[] | select(.event == "job_end" and .outcome == "success") | .seq] | sort | unique | length' ev.jsonl)" -eq 6 ]
    [ "$(jq -s '[.[] | select(.event == "job_end" and .outcome == "success")] | length' ev.jsonl)" -eq 6 ]
    # Four jobs of 100 MiB cannot share 256 MiB: rapt had to requeue or recover some.
    ended=$(jq -s '[.[] | select(.event == "job_end" and (.reason == "memory" or .reason == "oom"))] | length' ev.jsonl)
    [ "$ended" -ge 1 ]
    # Each ended attempt was followed by a retry with a larger reservation.
    jq -e -s '[.[] | select(.event == "job_retry")] | all(.reservation > 31457280)' ev.jsonl
    # A memory requeue did not use up a retry: no --retries was given and all succeeded.
    [ "$(awk 'NR > 1 && $7 == 0' log | wc -l)" -eq 6 ]
}

@test "protection requeues the youngest job, never the last one, and logs reason memory" {
    memcg 256M
    # One long job of 30 MiB started first, then jobs told to need 10 MiB that take 90 MiB.
    run --separate-stderr in_memcg "$RAPT" run -j 4 --mem-per-job 10M --explain \
        --events ev.jsonl --colsep ' ' "$TESTCHILD" ramp '{1}' '{2}' sleep '{3}' -- \
        ::: '30 0.1 3' '90 1 1' '90 1 1' '90 1 1'
    [ "$status" -eq 0 ]
    [ "$(jq -s '[.[] | select(.event == "job_end" and .outcome == "success")] | length' ev.jsonl)" -eq 4 ]
    # The oldest job was never the one ended.
    [ "$(jq -s '[.[] | select(.event == "job_end" and .seq == 1)] | length' ev.jsonl)" -eq 1 ]
    # 30 + 3 x 90 MiB do not fit 256 MiB: protection or the OOM killer ended something,
    # never the oldest job, and every protection action was a requeue of a younger job.
    [ "$(jq -s '[.[] | select(.event == "job_end" and (.reason == "memory" or .reason == "oom"))] | length' ev.jsonl)" -ge 1 ]
    jq -e -s '[.[] | select(.event == "protect")] | all(.action == "requeue" and .seq > 1)' ev.jsonl
    jq -e -s '[.[] | select(.event == "job_end" and .reason == "memory")] | all(.seq > 1)' ev.jsonl
}

@test "a job that cannot fit even alone fails with its peak and the limit, and rapt ends" {
    memcg 128M
    run --separate-stderr timeout 120 sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' \
        sh "$MEMCG" "$RAPT" run --events ev.jsonl --colsep ' ' "$TESTCHILD" ramp '{1}' '{2}' \
        sleep '{3}' -- ::: '200 0.5 0' '10 0.1 0.2'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cannot fit even alone"*"peak of "*"MiB"*"memory limit 128 MiB"* ]]
    # The small job ran and succeeded.
    [ "$(jq -s '[.[] | select(.event == "job_end" and .outcome == "success")] | length' ev.jsonl)" -eq 1 ]
    jq -e -s '[.[] | select(.event == "job_end" and .seq == 1)] | all(.reason == "oom" and .signal == 9)' ev.jsonl
}

@test "--mem-limit-per-job is each job's hard ceiling" {
    memcg 512M
    run --separate-stderr in_memcg "$RAPT" run --mem-limit-per-job 50M --events ev.jsonl \
        "$TESTCHILD" alloc '{}' -- ::: 100 20
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"--mem-limit-per-job ceiling"* ]]
    run jq -c -s '[.[] | select(.event == "job_end") | [.seq, .reason, .signal]] | sort' ev.jsonl
    [ "$output" = '[[1,"oom",9],[2,"exit",null]]' ]
}

@test "-j auto runs more sleeping jobs than CPUs; an explicit -j is a ceiling" {
    cpus=$("$RAPT" info --json | jq '.cpu.effective')
    n=$((cpus * 4))
    run "$RAPT" run --events auto.jsonl "$TESTCHILD" sleep 0.5 -- ::: $(seq "$n")
    [ "$status" -eq 0 ]
    [ "$(max_running auto.jsonl)" -gt "$cpus" ]
    run "$RAPT" run -j "$cpus" --events fixed.jsonl "$TESTCHILD" sleep 0.2 -- ::: $(seq "$n")
    [ "$status" -eq 0 ]
    [ "$(max_running fixed.jsonl)" -le "$cpus" ]
    run "$RAPT" run --max-jobs 3 --events max.jsonl "$TESTCHILD" sleep 0.3 -- ::: $(seq 12)
    [ "$(max_running max.jsonl)" -le 3 ]
}

@test "--ignore-memory starts on CPU slots alone, as xargs does" {
    run "$RAPT" run -j 3 --ignore-memory --mem-per-job 20G --events ev.jsonl \
        "$TESTCHILD" sleep 0.3 -- ::: 1 2 3
    [ "$status" -eq 0 ]
    [ "$(max_running ev.jsonl)" -eq 3 ]
}

# ---- degraded ------------------------------------------------------------------------------

@test "without permission to create cgroups: one warning, and the jobs are measured from /proc" {
    require_root
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    chmod 777 "$TEST_DIR"
    chmod o+rx "$(dirname "$TEST_DIR")" 2>/dev/null || true
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$RAPT" run --events "$TEST_DIR/ev.jsonl" "$TESTCHILD" alloc 20 sleep 0.2 -- ::: 1 2
    [ "$status" -eq 0 ] || { echo "$stderr"; skip "nobody cannot run the built binaries here"; }
    [ "$(printf '%s\n' "$stderr" | grep -c .)" -eq 1 ]
    [[ "$stderr" == "rapt: warning: run: cannot make per-job memory cgroups"*"sampling /proc" ]]
    [ "$(jq -r 'select(.event == "job_end") | .peak_method' ev.jsonl | sort -u)" = proc-sample ]
    # Memory admission still ran on the sampled figures.
    [ "$(jq -r 'select(.event == "run_start") | .mem_budget' ev.jsonl)" -gt 0 ]
}

@test "rapt stays under 10 MiB with 10 000 jobs going through admission" {
    seq 10000 | "$RAPT" run --events ev.jsonl true
    [ "$(jq -s '[.[] | select(.event == "job_end")] | length' ev.jsonl)" -eq 10000 ]
    rss=$(jq -r 'select(.event == "run_end") | .rapt_maxrss' ev.jsonl)
    echo "rapt's peak RSS: $rss bytes" >&3
    sanitized || [ "$rss" -lt $((10 * 1024 * 1024)) ]
}
