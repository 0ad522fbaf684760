#!/usr/bin/env bats
# rapt run with a history file: every attempt recorded, the model seeded from it (reservations
# and runtime predictions), --class, --order, adaptive concurrency, and files rapt must not
# touch. Queries go through sqlite3 on the real file. No test asserts on wall-clock time: where
# an order depends on runtimes, the expected order is computed from what the history recorded.

load helpers

q() {
    sqlite3 -batch -noheader "$@"
}

# starts EVENTS: the seqs of the job_start records, in the order the jobs started.
starts() {
    jq -r 'select(.event == "job_start" and .attempt == 1) | .seq' "$1" | tr '\n' ' '
}

@test "every finished attempt is recorded: successes, retries, failures, timeouts" {
    printf 'abc' > small.in
    head -c 5000 /dev/zero > big.in
    printf '%s\n' 'exit 0 small.in' 'exit 0 big.in' 'exit 3 none' 'sleep 60 none' > jobs.txt
    run --separate-stderr "$RAPT" run -j2 --retries 2 --timeout 2s --history h.db --colsep ' ' \
        "$TESTCHILD" {1} {2} -- {3} :::: jobs.txt
    [ "$status" -eq 2 ]
    [ "$(q h.db 'SELECT count(*) FROM runs')" -eq 1 ]
    # 2 successes + 2 attempts of "exit 3" + 2 attempts of the sleeper (timed out, retried).
    [ "$(q h.db 'SELECT count(*) FROM attempts')" -eq 6 ]
    [ "$(q h.db "SELECT count(*) FROM attempts WHERE outcome = 'success' AND exit = 0")" -eq 2 ]
    [ "$(q h.db "SELECT group_concat(outcome) FROM (SELECT outcome FROM attempts WHERE exit = 3 ORDER BY attempt)")" = retry,failed ]
    [ "$(q h.db "SELECT group_concat(reason || '/' || outcome) FROM (SELECT * FROM attempts WHERE seq = 4 ORDER BY attempt)")" = timeout/retry,timeout/failed ]
    # The class is the command template; every attempt carries its digest, wall and CPU times,
    # the limits in force and the host.
    [ "$(q h.db 'SELECT name FROM classes')" = "$TESTCHILD {1} {2} -- {3}" ]
    [ "$(q h.db 'SELECT count(*) FROM attempts WHERE length(arg_digest) = 16 AND wall_s >= 0 AND user_s >= 0 AND slots = 2 AND mem_limit > 0')" -eq 6 ]
    [ "$(q h.db 'SELECT count(*) FROM runs WHERE host IS NOT NULL AND ended IS NOT NULL AND exit_code = 2')" -eq 1 ]
    # Input bytes: the size of the values that name files; none for jobs whose values do not.
    [ "$(q h.db 'SELECT group_concat(ifnull(input_bytes, "-")) FROM (SELECT input_bytes FROM attempts GROUP BY seq ORDER BY seq)')" = "3,5000,-,-" ]
}

@test "an attempt killed by the OOM killer is recorded as such" {
    cgroup_root_or_skip
    run --separate-stderr "$RAPT" run --history h.db --mem-limit-per-job 48M "$TESTCHILD" alloc \
        ::: 96
    [ "$status" -eq 1 ]
    [ "$(q h.db "SELECT reason || '/' || outcome || '/' || oom_kill || '/' || (peak_bytes > 40000000) FROM attempts")" = "oom/failed/1/1" ]
}

@test "--class names the class" {
    "$RAPT" run --history h.db --class 'my jobs' true ::: 1 2 3
    [ "$(q h.db 'SELECT name FROM classes')" = "my jobs" ]
    [ "$(q h.db 'SELECT count(*) FROM attempts')" -eq 3 ]
    run_usage_error --class '' true ::: 1
}

@test "the second run reserves what the first one measured" {
    "$RAPT" run -j2 --history h.db "$TESTCHILD" alloc {} sleep 0.2 ::: 24 40
    run --separate-stderr "$RAPT" run -j2 --history h.db --explain --events ev.jsonl \
        "$TESTCHILD" alloc {} sleep 0.2 ::: 24 40
    [ "$status" -eq 0 ]
    for seq in 1 2; do
        peak=$(q h.db "SELECT peak_bytes FROM attempts WHERE seq = $seq ORDER BY rowid LIMIT 1")
        [ "$peak" -gt $((20 * 1024 * 1024)) ]
        # The same arguments ran before: the exact basis, its largest peak plus 10%.
        want=$(jq -n --argjson p "$peak" '$p * 1.1 | ceil')
        json_eq "select(.event == \"job_start\" and .seq == $seq) | .reservation" "$want" ev.jsonl
        json_eq "select(.event == \"job_start\" and .seq == $seq) | .predicted_peak" "$peak" ev.jsonl
    done
    [[ "$stderr" == *"job 1 starts: reserves"*"(model: exact, 1 sample)"* ]]
    # Both runs are in the file, and the second recorded its own attempts.
    [ "$(q h.db 'SELECT count(*) FROM runs')" -eq 2 ]
    [ "$(q h.db 'SELECT count(*) FROM attempts')" -eq 4 ]
}

@test "within a run, a finished job teaches the model before its class-mate starts" {
    run --separate-stderr "$RAPT" run -j1 --no-history --explain --events ev.jsonl \
        "$TESTCHILD" alloc {} ::: 24 24
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"job 2 starts: reserves"*"(model: exact, 1 sample)"* ]]
    json_eq 'select(.event == "job_start" and .seq == 1) | .predicted_peak' null ev.jsonl
    peak=$(jq 'select(.event == "job_end" and .seq == 1) | .peak_bytes' ev.jsonl)
    json_eq 'select(.event == "job_start" and .seq == 2) | .predicted_peak' "$peak" ev.jsonl
}

@test "two rapt processes writing one history file at once lose no record" {
    # The file does not exist yet: both also race to create it.
    seq 300 > in.txt
    "$RAPT" run -j2 --history h.db true :::: in.txt &
    a=$!
    "$RAPT" run -j2 --history h.db true :::: in.txt &
    b=$!
    wait "$a"
    wait "$b"
    [ "$(q h.db 'SELECT count(*) FROM runs')" -eq 2 ]
    [ "$(q h.db 'SELECT count(*) FROM attempts')" -eq 600 ]
    # Each run has each job exactly once.
    [ "$(q h.db 'SELECT count(*) FROM (SELECT run, seq FROM attempts GROUP BY run, seq HAVING count(*) = 1)')" -eq 600 ]
}

@test "a damaged or newer history file: one warning, the run completes, the file is untouched" {
    head -c 8192 /dev/urandom > bad.db
    printf 'SQLite format 3\0 but not really' > fake.db
    sqlite3 newer.db 'PRAGMA application_id = 1918988404; PRAGMA user_version = 2; CREATE TABLE t(x)'
    for f in bad.db fake.db newer.db; do
        cp "$f" "$f.orig"
        touch -d '2001-01-01 00:00:00' "$f"
        before=$(stat -c %Y "$f")
        run --separate-stderr "$RAPT" run -k --history "$f" echo ::: a b
        [ "$status" -eq 0 ]
        [ "$output" = "$(printf 'a\nb')" ]
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
        [[ "$stderr" == "rapt: warning: run: "*"continuing without history" ]]
        cmp "$f" "$f.orig"
        [ "$(stat -c %Y "$f")" = "$before" ]
        [ ! -e "$f-wal" ] && [ ! -e "$f-shm" ] && [ ! -e "$f-journal" ]
    done
}

@test "--no-history reads and writes nothing; the default file is under XDG_STATE_HOME" {
    "$RAPT" run --no-history true ::: 1 2
    [ ! -e "$XDG_STATE_HOME/rapt" ]
    "$RAPT" run true ::: 1 2
    [ "$(q "$XDG_STATE_HOME/rapt/history.db" 'SELECT count(*) FROM attempts')" -eq 2 ]
    # --no-history also ignores a damaged default file, without a word.
    printf 'garbage' > "$XDG_STATE_HOME/rapt/history.db"
    run --separate-stderr "$RAPT" run --no-history true ::: 1
    [ "$status" -eq 0 ] && [ -z "$stderr" ]
    # Neither XDG_STATE_HOME nor HOME: one warning, the run goes on.
    run --separate-stderr env -u XDG_STATE_HOME -u HOME "$RAPT" run true ::: 1
    [ "$status" -eq 0 ]
    [[ "$stderr" == "rapt: warning: run: no history file"* ]]
}

@test "--order lpt starts the longest predicted job first; -k still prints in input order" {
    vals=(0.05 0.6 0.2 0.4 0.1)
    "$RAPT" run -j2 --history h.db "$TESTCHILD" sleep {} echo {} ::: "${vals[@]}" > /dev/null
    # The expected order: by the wall times the first run recorded, longest first.
    want=$(q h.db 'SELECT seq FROM attempts ORDER BY wall_s DESC' | tr '\n' ' ')
    run --separate-stderr "$RAPT" run -j1 -k --order lpt --history h.db --events ev.jsonl \
        "$TESTCHILD" sleep {} echo {} ::: "${vals[@]}"
    [ "$status" -eq 0 ]
    [ "$(starts ev.jsonl)" = "$want" ]
    [ "$output" = "$(printf '%s\n' "${vals[@]}")" ]
    json_eq 'select(.event == "run_start") | .options.order' lpt ev.jsonl
    # Every start carried the runtime it was ordered by.
    [ "$(jq -s '[.[] | select(.event == "job_start") | .predicted_runtime] as $a | $a == ($a | sort | reverse)' ev.jsonl)" = true ]
    # sjf is the reverse, by the largest wall time of each job in both runs so far.
    want=$(q h.db 'SELECT seq FROM attempts GROUP BY seq ORDER BY max(wall_s) ASC' | tr '\n' ' ')
    "$RAPT" run -j1 --order sjf --history h.db --events sjf.jsonl \
        "$TESTCHILD" sleep {} echo {} ::: "${vals[@]}" > /dev/null
    [ "$(starts sjf.jsonl)" = "$want" ]
}

@test "--order lpt without history runs jobs in input order, as the model knows nothing" {
    "$RAPT" run -j1 --order lpt --no-history --events ev.jsonl true ::: a b c d
    [ "$(starts ev.jsonl)" = "1 2 3 4 " ]
}

@test "--order priority and deadline read their value from a column" {
    printf 'a 3\nb 9\nc 1\nd 5\n' > in.txt
    "$RAPT" run -j1 --colsep ' ' --order priority --priority-col 2 --events p.jsonl \
        true {1} :::: in.txt
    [ "$(starts p.jsonl)" = "2 4 1 3 " ]
    printf 'a 30\nb 10s\nc 2m\nd 20\n' > dl.txt
    "$RAPT" run -j1 --colsep ' ' --order deadline --deadline-col 2 --events d.jsonl \
        true {1} :::: dl.txt
    [ "$(starts d.jsonl)" = "2 4 1 3 " ]
    # A value that is not a number: one warning, priority 0, the job still runs.
    printf 'a x\nb 2\n' > bad.txt
    run --separate-stderr "$RAPT" run -j1 --colsep ' ' --order priority --priority-col 2 \
        --events b.jsonl true {1} :::: bad.txt
    [ "$status" -eq 0 ]
    [ "$(starts b.jsonl)" = "2 1 " ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "rapt: warning: run: job 1: value 2 is not a number"* ]]
}

@test "-j auto hands I/O-bound jobs to the adaptive controller" {
    run --separate-stderr "$RAPT" run --no-history --explain --max-jobs 8 "$TESTCHILD" sleep 0.05 \
        -- ::: $(seq 40)
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"the jobs are I/O-bound: adaptive concurrency from"*"and 8"* ]]
}

@test "bad order and history options are usage errors (exit 254, one line)" {
    run_usage_error --order bogus true ::: 1
    run_usage_error --order priority true ::: 1
    run_usage_error --priority-col 2 true ::: 1
    run_usage_error --order deadline true ::: 1
    run_usage_error --deadline-col 0 --order deadline true ::: 1
    run_usage_error --history h.db --no-history true ::: 1
    run_usage_error --history '' true ::: 1
    # A --history that cannot be created: under a regular file, in a read-only place.
    touch plain
    run_usage_error --history plain/h.db true ::: 1
    run_usage_error --history /proc/rapt-history.db true ::: 1
    [ ! -e h.db ]
}
