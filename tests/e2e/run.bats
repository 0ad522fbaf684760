#!/usr/bin/env bats
# rapt run: input, templates, hostile values, output modes, control, logs, accounting,
# signals and bad input. GNU parallel comparisons live in compat.bats; faults and the soak in
# run_faults.bats and run_soak.bats. No test asserts on wall-clock time.

load helpers

# gone PID: waits (up to 10 s) for a process to be gone; a killed orphan is reaped by init a
# moment after it dies, and kill -0 still finds it until then.
gone() {
    for _ in $(seq 200); do
        kill -0 "$1" 2>/dev/null || return 0
        [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ] && return 0
        sleep 0.05
    done
    echo "process $1 is still there" >&2
    return 1
}

# SIGDFL: a prefix that starts a command with SIGINT, SIGTERM and SIGHUP at their defaults. A
# test harness may start us with some of them ignored, and rapt keeps an ignored signal ignored
# (what nohup relies on), so the signal tests set them back first. (An array, not a function:
# `func &` would fork a subshell and $! would not be rapt.)
SIGDFL=(env --default-signal=INT,TERM,HUP)

# ---- input and templates ----------------------------------------------------------------

@test "values, files and stdin give every combination, the last source fastest" {
    printf 'f1\nf2\n' > in1
    run "$RAPT" run -k echo ::: x y :::: in1
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'x f1\nx f2\ny f1\ny f2')" ]
    run sh -c 'printf "a\nb\n" | "$RAPT" run -k echo got'
    [ "$output" = "$(printf 'got a\ngot b')" ]
}

@test "a million input lines stream through a bounded runner" {
    # 1,000,000 records with -j 64 of a job that exits at once would take minutes; instead
    # stream them through --dry-run, which expands every template, and check rapt's peak RSS.
    run --separate-stderr sh -c 'seq 1000000 | "$RAPT" run --dry-run -k echo {} > out; \
        echo $?'
    [ "$output" = 0 ]
    [ "$(wc -l < out)" -eq 1000000 ]
    [ "$(tail -1 out)" = "echo 1000000" ]
    # The same with a real run of the first 2000 while counting rapt's memory through events.
    seq 2000 | "$RAPT" run -j4 --events ev.jsonl true
    rss=$(jq -r 'select(.event=="run_end") | .rapt_maxrss' ev.jsonl)
    sanitized || [ "$rss" -lt $((20 * 1024 * 1024)) ]
}

@test "replacement strings, appended arguments and {#} {%}" {
    run "$RAPT" run -j1 -k echo '{} {.} {/} {//} {/.} {#} {%}' ::: /a/b.c/d.e.txt x.tar.gz
    [ "$output" = "$(printf '%s\n' '/a/b.c/d.e.txt /a/b.c/d.e d.e.txt /a/b.c d.e 1 1' \
        'x.tar.gz x.tar x.tar.gz . x.tar 2 1')" ]
    run "$RAPT" run -k echo ::: 'a b' ::: c
    [ "$output" = "a b c" ]
}

@test "without a command the arguments are the commands" {
    run "$RAPT" run -k ::: 'echo A' 'echo B | tr B b'
    [ "$output" = "$(printf 'A\nb')" ]
}

@test "hostile values pass literally when the command is exec'd directly" {
    vals=('a b' "it's" '"q"' '$(touch pwned)' '`touch pwned`' 'x;y' 'p|q' "$(printf 'l1\nl2')" \
        '-n' '--' '' '*' 'back\slash' "$(printf 't\tab')" 'caf\xc3\xa9')
    run "$RAPT" run -j1 -k "$TESTCHILD" args -- {} ::: "${vals[@]}"
    [ "$status" -eq 0 ]
    [ "$output" = "$(framed "${vals[@]}")" ]
    [ ! -e pwned ]
}

@test "hostile values pass literally under sh -c too" {
    vals=('a b' "it's" '"q"' '$(touch pwned)' '`touch pwned`' 'x;y' 'p|q' "$(printf 'l1\nl2')" \
        '-n' '--' '' '*' 'back\slash' "$(printf 't\tab')")
    # The pipe makes it a shell command; each value is quoted GNU parallel's way.
    run "$RAPT" run -j1 -k "$TESTCHILD args -- {} | cat" ::: "${vals[@]}"
    [ "$status" -eq 0 ]
    [ "$output" = "$(framed "${vals[@]}")" ]
    [ ! -e pwned ]
    # A value can also be a file name that starts with '-'.
    : > ./-rf
    run "$RAPT" run ls -- {} ::: -rf
    [ "$output" = "-rf" ]
}

@test "-0, -d and --colsep" {
    run sh -c 'printf "a b\0c\0" | "$RAPT" run -0 -k "$TESTCHILD" args -- {}'
    [ "$output" = "$(framed 'a b' c)" ]
    run sh -c 'printf "x::y" | "$RAPT" run -d :: -k echo "={}="'
    [ "$output" = "$(printf '=x=\n=y=')" ]
    run sh -c 'printf "1,2,3\n" | "$RAPT" run --colsep , echo {3}{2}{1}'
    [ "$output" = "321" ]
}

# ---- output ------------------------------------------------------------------------------

@test "group mode prints each job whole, stdout then stderr" {
    run "$RAPT" run -j2 -k "$TESTCHILD" echo out1 sleep 0.2 eecho err1 echo out2 -- ::: 1 2
    [ "$output" = "$(printf 'out1\nout2\nerr1\nout1\nout2\nerr1')" ]
}

@test "keep-order holds thousands of finished jobs without fds or memory growth" {
    # Job 1 sleeps while 3000 later jobs finish and wait; rapt must print in order and hold
    # neither an fd per waiting job nor their output in memory (parked in one file).
    seq 3001 | sed '1s/.*/2/; 2,$s/.*/0/' > sleeps
    "$RAPT" run -j8 -k --events ev.jsonl "$TESTCHILD" sleep {} echo {#} print 4096 -- \
        :::: sleeps > out &
    pid=$!
    maxfd=0
    while kill -0 "$pid" 2>/dev/null; do
        n=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
        [ "$n" -gt "$maxfd" ] && maxfd=$n
        sleep 0.05
    done
    wait $pid
    # Every job in input order, every byte there.
    [ "$(grep -v x out | tr '\n' ' ')" = "$(seq 3001 | tr '\n' ' ')" ]
    [ "$(grep -c x out)" -eq $((3001 * 64)) ]
    # Bounded by the 8 slots (pipes, pidfd, slot cgroup files: about 7 each) and the memory
    # monitor's kept-open /proc and cgroup files (about 30), not by the 3000 waiting jobs.
    echo "at most $maxfd fds" >&3
    [ "$maxfd" -lt 120 ]
    rss=$(jq -r 'select(.event=="run_end") | .rapt_maxrss' ev.jsonl)
    sanitized || [ "$rss" -lt $((20 * 1024 * 1024)) ]
}

@test "a job printing 1 GiB does not grow rapt" {
    "$RAPT" run --events ev.jsonl "$TESTCHILD" print 1073741824 -- ::: 1 > /dev/null
    [ "$(jq -r 'select(.event=="job_end") | .stdout_bytes' ev.jsonl)" -eq 1073741824 ]
    rss=$(jq -r 'select(.event=="run_end") | .rapt_maxrss' ev.jsonl)
    sanitized || [ "$rss" -lt $((20 * 1024 * 1024)) ]
    # The same through a pipe to a reader, which sees every byte.
    run sh -c '"$RAPT" run "$TESTCHILD" print 1073741824 -- ::: 1 | wc -c'
    [ "$output" -eq 1073741824 ]
}

@test "line-buffer prints whole lines as they come, tagged" {
    # The second job's line comes out while the first is still running; a line written in
    # two pieces comes out whole.
    run "$RAPT" run -j2 --lb --tag 'printf x; sleep {}; echo y' ::: 3 0.1
    [ "$output" = "$(printf '0.1\txy\n3\txy')" ]
    # With -k the oldest job streams and later ones are held back.
    run "$RAPT" run -k --lb 'echo a{}; sleep 0.{}; echo b{}' ::: 3 1
    [ "$output" = "$(printf 'a3\nb3\na1\nb1')" ]
}

@test "ungroup lets jobs write straight through" {
    run "$RAPT" run -u -j1 "$TESTCHILD" echo x -- ::: 1 2
    [ "$output" = "$(printf 'x\nx')" ]
}

@test "--verbose, --dry-run and --results" {
    run "$RAPT" run -k -v echo ::: a
    [ "$output" = "$(printf 'echo a\na')" ]
    run "$RAPT" run --dry-run "echo {} > out" ::: 'a b'
    [ "$output" = "echo 'a b' > out" ]
    [ ! -e out ]
    run "$RAPT" run --results res 'echo o{}; echo e{} >&2' ::: x 'y/z'
    [ -z "$output" ]
    [ "$(cat res/1/x/stdout)" = ox ]
    [ "$(cat res/1/x/stderr)" = ex ]
    [ "$(cat 'res/1/y\_z/stdout')" = 'oy/z' ]
    [ "$(cat res/1/x/seq)" = 1 ]
}

@test "--bar and --eta stay silent when stderr is not a terminal" {
    run --separate-stderr "$RAPT" run --bar --eta true ::: 1 2 3
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
}

@test "--bar draws progress on a terminal" {
    command -v script >/dev/null || skip "script(1) is not installed"
    run script -qec "\"$RAPT\" run --bar true ::: 1 2 3" /dev/null
    [[ "$output" == *"3/3 done"* ]]
}

# ---- exit status, failures, control -------------------------------------------------------

@test "exit status counts failed jobs, capped at 101" {
    run "$RAPT" run 'exit {}' ::: 0 1 2 0
    [ "$status" -eq 2 ]
    run sh -c 'seq 150 | "$RAPT" run -j4 false'
    [ "$status" -eq 101 ]
}

@test "a script without #! runs with the shell, as execvp does" {
    printf 'echo "script got $1"\n' > noshebang
    chmod +x noshebang
    run "$RAPT" run ./noshebang ::: x
    [ "$status" -eq 0 ]
    [ "$output" = "script got x" ]
    printf 'data' > notexec
    run --separate-stderr "$RAPT" run ./notexec ::: x
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"./notexec: Permission denied"* ]]
}

@test "command not found is 127 and the run goes on" {
    run --separate-stderr "$RAPT" run -j1 --joblog log '{}' ::: rapt-no-such-cmd true
    [ "$status" -eq 1 ]
    [ "$(cut -f7 log | sed -n 2,3p | tr '\n' ' ')" = "127 0 " ]
    [[ "$stderr" == *"rapt-no-such-cmd: command not found"* ]]
}

@test "jobs killed by signals are reported per job, exit and signal apart" {
    run "$RAPT" run -j1 --joblog log --events ev.jsonl "$TESTCHILD" signal {} -- ::: KILL SEGV TERM
    [ "$status" -eq 3 ]
    [ "$(cut -f7,8 log | sed 1d | tr '\n\t' ' :')" = "0:9 0:11 0:15 " ]
    run jq -c 'select(.event=="job_end") | [.exit, .signal, .reason]' ev.jsonl
    [ "$output" = "$(printf '[null,9,"signal"]\n[null,11,"signal"]\n[null,15,"signal"]')" ]
}

@test "a SIGKILLed command under sh -c reads as signal 9, an exec'd exit 137 as exit 137" {
    run "$RAPT" run -j1 --events ev.jsonl ::: "$TESTCHILD signal KILL" "exec $TESTCHILD exit 137" \
        "$TESTCHILD signal KILL | cat; exit 137"
    run jq -c 'select(.event=="job_end") | [.exit, .signal]' ev.jsonl
    # The third: the shell itself chose 137 after a pipeline; the rule reads it as a signal.
    [ "$output" = "$(printf '[null,9]\n[137,null]\n[null,9]')" ]
}

@test "with 48 file descriptors jobs still run and are reported" {
    # --no-history: the history file holds three descriptors (the database, -wal, -shm), and
    # this test counts them for the jobs and their slots.
    run --separate-stderr sh -c 'ulimit -n 48; seq 40 | "$RAPT" run -j 16 --no-history \
        --joblog log "$TESTCHILD" exit 0 --'
    [ "$status" -eq 0 ]
    [ "$(sed 1d log | wc -l)" -eq 40 ]
    # 16 slots (a job takes about 8 descriptors: pipes, pidfd, its slot cgroup's files) do not
    # fit beside the ~20 rapt holds itself (event loop, monitor, PSI trigger): rapt ran fewer at
    # once instead of failing jobs.
    [[ "$stderr" == *"running fewer at once"* ]]
}

@test "with 32 file descriptors every job is reported, the run goes on and rapt does not crash" {
    # 32 leaves a job a handful of descriptors beside rapt's own; a sanitized build holds more
    # of them and may not start a job even alone. Either way: no crash, every job in the
    # joblog, and a job that could not start says so and counts as failed.
    run --separate-stderr sh -c 'ulimit -n 32; seq 40 | "$RAPT" run -j 16 --no-history \
        --joblog log "$TESTCHILD" exit 0 --'
    [ "$status" -le 40 ]
    [ "$(sed 1d log | wc -l)" -eq 40 ]
    failed=$(awk 'NR > 1 && $7 != 0' log | wc -l)
    [ "$status" -eq "$failed" ]
    # (a job may also fail inside, short of descriptors itself; a spawn failure says so)
    [ "$failed" -eq 0 ] || [[ "$output$stderr" == *"cannot start job"* ]] ||
        [[ "$output$stderr" == *"Too many open files"* ]]
}

@test "when no process can be forked every job is reported and rapt does not crash" {
    [ "$(id -u)" -ne 0 ] || skip "root ignores RLIMIT_NPROC here (CAP_SYS_ADMIN)"
    run --separate-stderr bash -c 'ulimit -u 1; exec "$RAPT" run --joblog log true ::: 1 2 3'
    [ "$status" -eq 3 ]
    [ "$(sed 1d log | wc -l)" -eq 3 ]
    [[ "$stderr" == *"cannot start job"* ]]
}

@test "when no process can be forked (as an unprivileged user) jobs are reported" {
    [ "$(id -u)" -eq 0 ] || skip "covered by the test above"
    command -v setpriv >/dev/null || skip "setpriv(1) is not installed"
    chmod 0777 "$TEST_DIR"
    # exec: rapt must be the only process of that user, or it could not even start.
    # LeakSanitizer (sanitizer builds) needs a thread at exit, which the limit forbids.
    run --separate-stderr env ASAN_OPTIONS=detect_leaks=0 \
        setpriv --reuid=65534 --regid=65534 --clear-groups \
        bash -c 'ulimit -u 1; exec "$RAPT" run --joblog log true ::: 1 2 3'
    [ "$status" -eq 3 ]
    [ "$(sed 1d log | wc -l)" -eq 3 ]
    [ "$(cut -f7 log | sed 1d | sort -u)" = "-1" ]
    [[ "$stderr" == *"cannot start job"* ]]
}

@test "--timeout ends the whole process group with the term sequence" {
    run --separate-stderr "$RAPT" run --timeout 0.3 --joblog log --events ev.jsonl \
        "$TESTCHILD" fork ignore TERM pidfile gc sleep 30 '\;\;' ignore TERM sleep 30 -- ::: 1
    [ "$status" -eq 1 ]
    [ "$(sed 1d log | cut -f7,8)" = "$(printf -- '-1\t9')" ]
    [ "$(jq -r 'select(.event=="job_end") | .reason' ev.jsonl)" = timeout ]
    [ "$(jq -r 'select(.event=="job_kill") | .signal' ev.jsonl | tr '\n' ' ')" = "15 15 15 9 " ]
    gone "$(cat gc)"
}

@test "--timeout N% uses the median runtime of successful jobs" {
    run --separate-stderr "$RAPT" run -j1 --timeout 300% --joblog log \
        "$TESTCHILD" sleep {} -- ::: 0.1 0.1 0.1 5
    [ "$status" -eq 1 ]
    [ "$(sed 1d log | cut -f7 | tr '\n' ' ')" = "0 0 0 -1 " ]
}

@test "--retries runs a failing job N times in all and prints only the last attempt" {
    run "$RAPT" run --retries 3 --events ev.jsonl 'echo try{}; exit 1' ::: 1
    [ "$status" -eq 1 ]
    [ "$output" = try1 ]
    [ "$(jq -r 'select(.event=="job_end") | .outcome' ev.jsonl | tr '\n' ' ')" = \
        "retry retry failed " ]
    [ "$(jq -c 'select(.event=="job_retry") | .attempt' ev.jsonl | tr '\n' ' ')" = "2 3 " ]
}

@test "--halt now,fail=1 ends the run with the failing job's status" {
    run "$RAPT" run -j1 --halt now,fail=1 'exit {}' ::: 0 3 0 0
    [ "$status" -eq 3 ]
    run "$RAPT" run -j2 --halt now,fail=1 --joblog log "$TESTCHILD" sleep {} exit 5 -- ::: 0 30
    [ "$status" -eq 5 ]
    [ "$(sed 1d log | wc -l)" -eq 1 ] # the job ended by the halt is not in the log
}

@test "--delay spaces the starts out and --dry-run runs nothing" {
    run "$RAPT" run --delay 50ms --events ev.jsonl true ::: 1 2 3
    [ "$status" -eq 0 ]
    # Admission said why it waited, and no start came sooner than the delay after the last.
    [ "$(jq -r 'select(.event=="decision") | .why' ev.jsonl | sort -u)" = delay ]
    starts=$(jq -r 'select(.event=="job_start") | .mono' ev.jsonl)
    awk 'NR > 1 && $1 - prev < 0.049 { bad = 1 } { prev = $1 } END { exit bad }' <<< "$starts"
    run "$RAPT" run --dry-run touch {} ::: a b
    [ "$output" = "$(printf 'touch a\ntouch b')" ]
    [ ! -e a ] && [ ! -e b ]
}

@test "-j N%, +N and -N count from the effective CPUs, N% rounded up as in GNU parallel" {
    cpus=$("$RAPT" info --json | jq .cpu.effective)
    for j in 75% 150% 10% +1 -0; do
        case "$j" in
        *%) want=$(awk -v c="$cpus" -v p="${j%\%}" 'BEGIN { n = c * p / 100;
                   printf "%d", n == int(n) ? n : int(n) + 1 }') ;;
        +*) want=$((cpus + ${j#+})) ;;
        -*) want=$((cpus - ${j#-})) ;;
        esac
        "$RAPT" run -j "$j" --events ev.jsonl true ::: 1
        [ "$(jq -r 'select(.event=="run_start") | .slots' ev.jsonl)" -eq "$want" ]
    done
}

@test "jobs get /dev/null as stdin and GNU parallel's environment variables" {
    run "$RAPT" run -j1 -k 'cat; echo $PARALLEL_SEQ/$PARALLEL_JOBSLOT/{}' ::: a b < /dev/zero
    [ "$output" = "$(printf '1/1/a\n2/1/b')" ]
}

@test "no descriptor of rapt leaks into jobs" {
    # What a job sees is exactly what a direct child of this shell sees: rapt adds nothing.
    want=$("$TESTCHILD" fds 3>&-)
    run "$RAPT" run -j1 "$TESTCHILD" fds -- ::: 1 3>&-
    [ "$output" = "$want" ]
}

# ---- logs, events, resume ----------------------------------------------------------------

@test "the joblog is GNU parallel's TSV" {
    "$RAPT" run -k --joblog log 'exit {}' ::: 0 3 || true
    [ "$(head -1 log)" = "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')" ]
    # (mawk has no {3}: the three decimals are spelled out.)
    run awk -F'\t' 'NR > 1 && !($1 ~ /^[0-9]+$/ && $2 == ":" &&
        $3 ~ /^[0-9]+\.[0-9][0-9][0-9]$/ && $4 ~ /^ *[0-9]+\.[0-9][0-9][0-9]$/ &&
        length($4) >= 10 && $5 == 0 && $6 ~ /^[0-9]+$/) { print }' log
    [ -z "$output" ]
    [ "$(sed 1d log | cut -f1,7,8,9 | tr '\t\n' ':;')" = "1:0:0:exit 0;2:3:0:exit 3;" ]
}

@test "the joblog follows the end of jobs, or with -k their printed order, as GNU parallel's" {
    # Job 1 waits for job 2 to end: without -k it is logged last, with -k first (its output
    # prints first).
    cmd='if [ {} = 1 ]; then while [ ! -e done ]; do sleep 0.01; done; else touch done; fi'
    "$RAPT" run -j2 --joblog log "$cmd" ::: 1 2
    [ "$(sed 1d log | cut -f1 | tr '\n' ' ')" = "2 1 " ]
    rm done
    "$RAPT" run -j2 -k --joblog log "$cmd" ::: 1 2
    [ "$(sed 1d log | cut -f1 | tr '\n' ' ')" = "1 2 " ]
}

@test "--resume skips logged jobs, --resume-failed reruns failures, --retry-failed reuses commands" {
    cmd='echo {}; exit $(( {} % 3 == 0 ))'
    "$RAPT" run --joblog log "$cmd" ::: 1 2 3 4 > /dev/null || true
    run "$RAPT" run --resume --joblog log "$cmd" ::: 1 2 3 4 5
    [ "$output" = 5 ]
    run "$RAPT" run --resume-failed --joblog log "$cmd" ::: 1 2 3 4 5 6
    [ "$status" -eq 2 ] # 3 fails again, 6 is new and fails
    run "$RAPT" run --retry-failed --joblog log
    [ "$status" -eq 2 ]
    [ "$(sed 1d log | cut -f1 | sort -n | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "1 1 3 1 1 2 " ]
}

@test "--resume tolerates a torn last line" {
    "$RAPT" run --joblog log echo ::: 1 2 > /dev/null
    printf '3\t:\t17' >> log
    run "$RAPT" run --resume --joblog log echo ::: 1 2 3
    [ "$output" = 3 ]
    [ "$(tail -1 log | cut -f1,9)" = "$(printf '3\techo 3')" ]
    [ "$(sed 1d log | wc -l)" -eq 3 ]
}

@test "the events stream follows rapt.events/1" {
    "$RAPT" run --events ev.jsonl --retries 2 'exit {}' ::: 0 1 || true
    run jq -e -s '
        (map(.v == 1 and (.t | type) == "number" and (.mono | type) == "number") | all) and
        (.[0].event == "run_start") and (.[-1].event == "run_end") and
        (.[0] | has("run_id") and has("measure") and has("slots") and has("total_jobs")) and
        ([.[] | select(.event == "job_end")] | length == 3) and
        ([.[] | select(.event == "job_end")] | map(has("peak_bytes") and has("peak_method") and
            has("user_s") and has("exit") and has("signal") and has("reason") and
            has("outcome") and has("oom_kill")) | all) and
        ([.[] | select(.event == "job_retry")] | length == 1) and
        (.[-1].exit_code == 1)' ev.jsonl
    [ "$status" -eq 0 ]
}

# ---- accounting ----------------------------------------------------------------------------

@test "peak memory of a job whose grandchild allocates 200 MiB is within 5% (slot cgroup)" {
    cgroup_root_or_skip
    "$RAPT" run --measure cgroup --events ev.jsonl \
        "$TESTCHILD" fork alloc 200 sleep 1 '\;\;' wait -- ::: 1 &
    pid=$!
    wait $pid
    peak=$(jq -r 'select(.event=="job_end") | .peak_bytes' ev.jsonl)
    method=$(jq -r 'select(.event=="job_end") | .peak_method' ev.jsonl)
    echo "peak $peak bytes by $method" >&3
    [ "$method" = cgroup-v1 ] || [ "$method" = cgroup-v2 ]
    [ "$peak" -ge $((190 * 1024 * 1024)) ] && [ "$peak" -le $((210 * 1024 * 1024)) ]
    # The run's cgroups are gone afterwards.
    [ ! -e "$RAPT_MEMCG/rapt-$pid" ]
}

@test "without cgroups the peak is sampled from /proc and the method says so" {
    run "$RAPT" run --measure proc --events ev.jsonl \
        "$TESTCHILD" fork alloc 200 sleep 1 '\;\;' wait -- ::: 1
    [ "$status" -eq 0 ]
    [ "$(jq -r 'select(.event=="job_end") | .peak_method' ev.jsonl)" = proc-sample ]
    peak=$(jq -r 'select(.event=="job_end") | .peak_bytes' ev.jsonl)
    [ "$peak" -ge $((190 * 1024 * 1024)) ]
    [ "$(jq -r 'select(.event=="run_start") | .measure' ev.jsonl)" = proc ]
}

@test "a kernel OOM kill in the slot cgroup is recognised" {
    cgroup_root_or_skip
    # A parent cgroup with a 64 MiB limit: rapt runs inside it, its slots below.
    cg="$RAPT_MEMCG/rapt-e2e-oom-$$"
    mkdir "$cg"
    track_cgroup "$cg"
    echo 67108864 > "$cg/memory.limit_in_bytes"
    run sh -c "echo \$\$ > '$cg/cgroup.procs' && exec \"\$RAPT\" run --events ev.jsonl \
        \"\$TESTCHILD\" alloc 200 -- ::: 1"
    rmdir "$cg"
    [ "$status" -eq 1 ]
    run jq -c 'select(.event=="job_end") | [.signal, .reason, .oom_kill]' ev.jsonl
    [ "$output" = '[9,"oom",true]' ]
}

# ---- signals -------------------------------------------------------------------------------

@test "SIGINT ends every job's process group, finishes the logs and exits 255" {
    "${SIGDFL[@]}" "$RAPT" run -j2 --joblog log --events ev.jsonl \
        "$TESTCHILD" fork pidfile gc{} sleep 30 '\;\;' sleep 30 -- ::: 1 2 3 &
    pid=$!
    for _ in $(seq 600); do [ -s gc1 ] && [ -s gc2 ] && break; sleep 0.05; done
    kill -INT "$pid"
    status=0
    wait "$pid" || status=$? # not `run wait`: run forks, and a subshell cannot wait
    [ "$status" -eq 255 ]
    [ "$(sed 1d log | wc -l)" -eq 0 ] # interrupted jobs are not logged: --resume reruns them
    [ "$(jq -r 'select(.event=="run_end") | .reason' ev.jsonl)" = interrupt ]
    [ "$(jq -r 'select(.event=="job_end") | .reason' ev.jsonl | sort -u)" = interrupt ]
    for f in gc1 gc2; do gone "$(cat $f)"; done
}

@test "a second SIGINT kills at once" {
    "${SIGDFL[@]}" "$RAPT" run -j1 --term-seq TERM,60000 --events ev.jsonl \
        "$TESTCHILD" ignore TERM touch started sleep 30 -- ::: 1 &
    pid=$!
    for _ in $(seq 600); do [ -e started ] && break; sleep 0.05; done
    kill -INT "$pid"
    sleep 0.2
    kill -INT "$pid"
    status=0
    wait "$pid" || status=$? # not `run wait`: run forks, and a subshell cannot wait
    [ "$status" -eq 255 ]
    [ "$(jq -r 'select(.event=="job_kill") | .signal' ev.jsonl | tr '\n' ' ')" = "15 9 " ]
}

@test "SIGHUP lets running jobs finish and starts no more" {
    # Job 1 runs 3 s: plenty of time for the signal to arrive while it runs, even on a
    # loaded machine (the test does not measure time, it only needs the order).
    "${SIGDFL[@]}" "$RAPT" run -j1 --joblog log "$TESTCHILD" touch started{} sleep 3 -- ::: 1 2 &
    pid=$!
    for _ in $(seq 600); do [ -e started1 ] && break; sleep 0.05; done
    kill -HUP "$pid"
    status=0
    wait "$pid" || status=$? # not `run wait`: run forks, and a subshell cannot wait
    [ "$status" -eq 255 ] # job 2 never ran
    [ "$(sed 1d log | cut -f1,7)" = "$(printf '1\t0')" ]
    [ ! -e started2 ]
}

@test "after rapt exits no job process or grandchild remains" {
    # The orphans write to /dev/null, so the jobs end (their pipes close) while they live on.
    "$RAPT" run -j2 "$TESTCHILD orphan pidfile o{} sleep 30 ';;' exit 0 >/dev/null 2>&1" \
        ::: 1 2
    for f in o1 o2; do gone "$(cat $f)"; done
}

# ---- bad input -----------------------------------------------------------------------------

@test "bad input: one error line and exit 254" {
    run_usage_error --frobnicate echo ::: 1
    run_usage_error -j 0 echo ::: 1
    run_usage_error -j -5 echo ::: 1
    run_usage_error -j abc echo ::: 1
    run_usage_error -j 150x echo ::: 1
    run_usage_error --timeout 5x echo ::: 1
    run_usage_error --timeout -1 echo ::: 1
    run_usage_error --delay 1h30 echo ::: 1
    run_usage_error --halt sometimes echo ::: 1
    run_usage_error --halt now,fail=0 echo ::: 1
    run_usage_error --term-seq TERM echo ::: 1
    run_usage_error --retries many echo ::: 1
    run_usage_error --measure magic echo ::: 1
    run_usage_error -d '' echo ::: 1
    run_usage_error --colsep '(' echo ::: 1
    run_usage_error --resume echo ::: 1
    run_usage_error echo :::: /nonexistent/input
    run_usage_error -a /nonexistent/input echo
    : > unreadable && chmod 000 unreadable
    if [ "$(id -u)" -ne 0 ]; then run_usage_error echo :::: unreadable; fi
    run_usage_error echo :::: .
    run_usage_error -j
}

@test "bad input: a joblog from another command refuses --resume before running anything" {
    "$RAPT" run --joblog log echo ::: a b > /dev/null
    run_usage_error --resume --joblog log touch ran-{} ::: a b c
    [[ "$stderr" == *"written by another command"* ]]
    [ ! -e ran-c ]
    printf 'not a joblog\n' > other
    run_usage_error --resume --joblog other echo ::: a
}

@test "rapt run --help goes to stdout" {
    run --separate-stderr "$RAPT" run --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: rapt run"* ]]
    [ -z "$stderr" ]
}
