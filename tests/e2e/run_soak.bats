#!/usr/bin/env bats
# rapt run soak (CTest label "slow"): 100,000 jobs. rapt's resident memory must stay under
# 20 MiB, and neither its open descriptors nor unreaped children may grow with the jobs done.
# Sampled from /proc while it runs; nothing here depends on how fast the machine is.

load helpers

@test "100k jobs: RSS under 20 MiB, no growth in open fds or zombies" {
    seq 100000 | "$RAPT" run -j4 --joblog log --events ev.jsonl "$TESTCHILD" exit 0 -- \
        > /dev/null &
    pid=$!
    : > samples
    while kill -0 "$pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status 2>/dev/null)
        fds=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
        zombies=$(ps -o stat= --ppid "$pid" 2>/dev/null | grep -c '^Z' || true)
        done_=$(($(wc -l < log 2>/dev/null || echo 1) - 1))
        [ -n "$rss" ] && echo "$done_ $rss $fds $zombies" >> samples
        sleep 0.5
    done
    wait "$pid"
    [ "$(sed 1d log | wc -l)" -eq 100000 ]
    [ "$(cut -f7 log | sed 1d | sort -u)" = 0 ]
    n=$(wc -l < samples)
    echo "$n samples; max RSS $(sort -k2n samples | tail -1 | cut -d' ' -f2) KiB," \
        "fds $(sort -k3n samples | head -1 | cut -d' ' -f3)-$(sort -k3n samples | tail -1 |
        cut -d' ' -f3), most zombies $(sort -k4n samples | tail -1 | cut -d' ' -f4)" >&3
    [ "$n" -ge 4 ]
    # RSS below 20 MiB at every sample, and rapt's own peak (getrusage) too.
    if ! sanitized; then
        awk '$2 >= 20 * 1024 { exit 1 }' samples
        [ "$(jq -r 'select(.event=="run_end") | .rapt_maxrss' ev.jsonl)" -lt $((20 * 1024 * 1024)) ]
    fi
    # Descriptors: the second half of the run never holds more than the first half did at
    # its most (each running job holds its pipes and pidfd, so the count moves with them).
    half=$((n / 2))
    first=$(head -n "$half" samples | sort -k3n | tail -1 | cut -d' ' -f3)
    second=$(tail -n +$((half + 1)) samples | sort -k3n | tail -1 | cut -d' ' -f3)
    [ "$second" -le "$first" ]
    # At most one unreaped job per slot at any moment, never an accumulation.
    awk '$4 > 4 { exit 1 }' samples
}
