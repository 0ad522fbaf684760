#!/usr/bin/env bats
# rapt run under faults: SIGKILL of rapt itself at random moments, and what the next start
# cleans up. The random moments come from $RANDOM; the seed is printed so a failure can be
# replayed (RAPT_FAULT_SEED=N).

load helpers

# wait_gone MARKER: waits (up to 10 s) until no process has MARKER on its command line.
wait_gone() {
    for _ in $(seq 200); do
        pgrep -f -- "$1" > /dev/null || return 0
        sleep 0.05
    done
    echo "processes with '$1' are still running:" >&2
    pgrep -af -- "$1" >&2
    return 1
}

# check_log FILE: whole lines only, each of the 300 jobs exactly once, all successful.
check_log() {
    run awk -F'\t' 'NR > 1 && (NF != 9 || $7 != 0 || $9 !~ /-- rapt-fault-[0-9]+-[0-9]+ [0-9]+$/)' "$1"
    [ -z "$output" ]
    [ -z "$(sed 1d "$1" | cut -f1 | sort -n | uniq -d)" ]
    [ "$(sed 1d "$1" | cut -f1 | sort -n | tr '\n' ' ')" = "$(seq 300 | tr '\n' ' ')" ]
    [ "$(grep -c '^Seq' "$1")" -eq 1 ]
}

@test "SIGKILL at random moments of a 300-job run, 10 times, each then --resume: every job once" {
    RANDOM=${RAPT_FAULT_SEED:-$$}
    echo "seed ${RAPT_FAULT_SEED:-$$} (replay with RAPT_FAULT_SEED)" >&3
    marker="rapt-fault-$$-$RANDOM"
    # 300 jobs of 20 ms at 4 at a time: a run takes 1.5 s at the very least.
    job=("$TESTCHILD" sleep 0.02 -- "$marker")
    for round in $(seq 10); do
        log="log$round"
        "$RAPT" run -j4 --joblog "$log" "${job[@]}" ::: $(seq 300) > /dev/null &
        pid=$!
        sleep "0.$(printf '%02d' $((RANDOM % 99 + 1)))"
        kill -9 "$pid" # must land: the run cannot be over yet
        wait "$pid" || true
        # The killed run's jobs die with it (PR_SET_PDEATHSIG on every job leader).
        wait_gone "$marker"
        # (A kill in the first milliseconds can come before rapt even created the log.)
        done_before=0
        [ -e "$log" ] && done_before=$(($(wc -l < "$log") - 1))
        # The first --resume is killed as well when it is still running.
        "$RAPT" run -j4 --joblog "$log" --resume "${job[@]}" ::: $(seq 300) > /dev/null &
        pid=$!
        sleep "0.$(printf '%02d' $((RANDOM % 50 + 1)))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        wait_gone "$marker"
        "$RAPT" run -j4 --joblog "$log" --resume "${job[@]}" ::: $(seq 300) > /dev/null
        echo "round $round: killed after $done_before jobs" >&3
        check_log "$log"
    done
}

@test "grandchildren of a SIGKILLed rapt die when the next rapt starts" {
    cgroup_root_or_skip
    marker="rapt-orphans-$$-$RANDOM"
    # A private parent cgroup: every rapt cleans the dead runs it finds next to it, and rapts
    # of tests running in parallel must not do this test's cleanup first.
    cg="$RAPT_MEMCG/rapt-e2e-stale-$$"
    mkdir "$cg"
    track_cgroup "$cg"
    # (An array, not a function: `func &` forks a subshell and $! would not be rapt.)
    in_cg=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg")
    # The leader is a shell (the ';;' needs one), so PR_SET_PDEATHSIG reaches only it; the
    # test child's own child lives on in the slot cgroup until the next rapt cleans up.
    "${in_cg[@]}" "$RAPT" run -j2 "$TESTCHILD fork sleep 60 ';;' sleep 60 -- $marker" ::: 1 2 &
    pid=$!
    for _ in $(seq 600); do
        [ "$(pgrep -fc -- "$marker")" -ge 4 ] && break
        sleep 0.05
    done
    kill -9 "$pid"
    wait "$pid" || true
    sleep 0.2
    [ "$(pgrep -fc -- "$marker")" -ge 2 ] # the orphans are still there
    [ -d "$cg/rapt-$pid" ]
    run "${in_cg[@]}" "$RAPT" run true ::: 1
    [ "$status" -eq 0 ]
    wait_gone "$marker"
    [ ! -e "$cg/rapt-$pid" ]
    rmdir "$cg"
}

@test "a joblog that cannot be written stops the run with one error" {
    [ -w /dev/full ] || skip "no /dev/full"
    # A full disk is the machine's failure (255), not a usage error; nothing runs.
    run --separate-stderr "$RAPT" run --joblog /dev/full true ::: 1 2 3
    [ "$status" -eq 255 ]
    [[ "$stderr" == "rapt: error: run: --joblog '/dev/full': No space left on device" ]]
}
