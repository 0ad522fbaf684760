#!/usr/bin/env bats
# rapt monitor: the plain line mode, --json, --prometheus, the live view under a pseudo-terminal
# (q, Ctrl-C, SIGTERM, SIGHUP, window size), following a run's events file with real processes,
# a real cgroup (root only), fixtures, thresholds and bad input.
#
# Waits for asynchronous things (a process ready, a frame drawn) poll a file with a generous
# deadline; nothing here asserts how long anything takes.

load helpers

PROMCHECK="$RAPT_SOURCE_DIR/tests/e2e/prom-check.awk"

# wait_for CMD...: polls until CMD succeeds; fails after 30 s (a hang guard, not a timing check).
wait_for() {
    local i
    for ((i = 0; i < 600; i++)); do
        if "$@"; then
            return 0
        fi
        sleep 0.05
    done
    echo "gave up waiting for: $*" >&2
    return 1
}

lines_at_least() { [ -f "$2" ] && [ "$(wc -l < "$2")" -ge "$1" ]; }

# A sleeping job in a process group of its own that holds MIB mebibytes; sets JOB_PID.
start_job() {
    setsid "$TESTCHILD" alloc "$1" touch "$TEST_DIR/ready.$1" sleep 120 &
    JOB_PID=$!
    wait_for test -e "$TEST_DIR/ready.$1"
}

teardown() {
    # Whatever a failed test left running: the monitor, the job, the pty, the tmux server.
    [ -n "${JOB_PID:-}" ] && kill "$JOB_PID" 2>/dev/null
    [ -n "${MON_PID:-}" ] && kill "$MON_PID" 2>/dev/null
    [ -s "$TEST_DIR/mon.pid" ] && kill "$(cat "$TEST_DIR/mon.pid")" 2>/dev/null
    [ -n "${SCRIPT_PID:-}" ] && kill "$SCRIPT_PID" 2>/dev/null
    [ -n "${TMUX_TMPDIR:-}" ] && tmux kill-server 2>/dev/null
    if [ -n "${CG_MEM:-}" ]; then
        [ -n "${JOB_PID:-}" ] && wait "$JOB_PID" 2>/dev/null
        rmdir "$CG_MEM" 2>/dev/null
        [ -n "${CG_CPU:-}" ] && rmdir "$CG_CPU" 2>/dev/null
    fi
    cd / && rm -rf "$TEST_DIR"
}

# Records of a rapt.events/1 stream (docs/events.md), as rapt run writes them.
run_start() {
    jq -cn --argjson pid "$$" '{v: 1, event: "run_start", t: 1795000000.0, mono: 0,
        run_id: "e2e", pid: $pid}'
}
job_start() { # SEQ PID CMD
    jq -cn --argjson seq "$1" --argjson pid "$2" --arg cmd "$3" '{v: 1, event: "job_start",
        t: 1795000000.1, mono: 0.1, seq: $seq, attempt: 1, slot: 1, pid: $pid, cmd: $cmd,
        args: [], class: "x", stage: null}'
}
job_end() { # SEQ PID
    jq -cn --argjson seq "$1" --argjson pid "$2" '{v: 1, event: "job_end", t: 1795000001.0,
        mono: 1, seq: $seq, attempt: 1, slot: 1, pid: $pid, exit: 0, reason: "exit",
        outcome: "success"}'
}

# ---- modes ------------------------------------------------------------------------------------

@test "monitor --help goes to stdout and exits 0" {
    run --separate-stderr "$RAPT" monitor --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: rapt monitor"* ]]
    [[ "$output" == *"--prometheus FILE"* ]]
    [ -z "$stderr" ]
    run "$RAPT" --help
    [[ "$output" == *"monitor"* ]]
}

@test "off a terminal: a header and one line per sample, --count stops it" {
    run --separate-stderr "$RAPT" monitor --count 3 --interval 50ms
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 4 ]
    [[ "${lines[0]}" == "time "*"cpu%"*"mem%"*"psi-mem"*"disk-r"*"net-rx"*"alerts" ]]
    for i in 1 2 3; do
        # time, then numeric or "-" columns, then the alerts column.
        [[ "${lines[$i]}" =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}\ +([0-9.]+|-)\ + ]]
        [ "$(echo "${lines[$i]}" | awk '{print NF}')" -eq 17 ]
    done
}

@test "--json: one valid object per sample with the documented fields" {
    "$RAPT" monitor --json --count 3 --interval 50ms > s.jsonl
    [ "$(wc -l < s.jsonl)" -eq 3 ]
    # Every line parses on its own (JSON Lines).
    while IFS= read -r l; do printf '%s\n' "$l" | jq -e . > /dev/null; done < s.jsonl
    jq -se 'map(.seq) == [1,2,3]' s.jsonl
    jq -se 'all(.[]; .v == 1 and (.t | type) == "number" and (.mono | type) == "number"
        and (.interval_s > 0))' s.jsonl
    jq -se 'all(.[]; (.cpu.pct == null or (.cpu.pct >= 0 and .cpu.pct <= 100))
        and .cpu.online >= 1)' s.jsonl
    jq -se 'all(.[]; .memory.limit > 0 and .memory.used + .memory.available == .memory.limit
        and .memory.pct >= 0 and .memory.pct <= 100 and .memory.budget <= .memory.available
        and (.memory.limit_source | length) > 0 and .memory.eta == 0.85)' s.jsonl
    jq -se 'all(.[]; (.psi.scope | test("^(system|cgroup|none)$"))
        and (.swap | has("pct") and has("used") and has("total"))
        and (.disk | has("read_bps") and has("write_bps"))
        and (.net | has("rx_bps") and has("tx_bps"))
        and (.cgroup | has("dir") and has("cpu_pct") and has("memory_usage"))
        and (.jobs | type) == "array" and (.alerts | type) == "array")' s.jsonl
    jq -se 'all(.[]; .trends | keys == (["cgroup_cpu","cpu","disk_read","disk_write",
        "jobs_memory","memory","net_rx","net_tx","psi_cpu","psi_io","psi_memory","swap"] | sort))' s.jsonl
    jq -se 'all(.[]; .trends.memory.dir | test("^(unknown|stable|increasing|decreasing)$"))' s.jsonl
    # With three samples the memory trend is known.
    json_eq '.trends.memory.points' 3 <(tail -n 1 s.jsonl)
}

@test "--json is flushed per line while it runs" {
    "$RAPT" monitor --json --interval 50ms > live.jsonl 2> err &
    MON_PID=$!
    wait_for lines_at_least 2 live.jsonl
    kill -TERM "$MON_PID"
    wait "$MON_PID"
    MON_PID=
    # Whole lines only, each valid.
    [ "$(tail -c 1 live.jsonl | od -An -c | tr -d ' ')" = '\n' ]
    jq -se 'length >= 2' live.jsonl
    [ ! -s err ]
}

@test "a fixture sysroot gives its figures" {
    "$RAPT" monitor --json --count 1 --interval 10ms --sysroot "$RAPT_FIXTURES/monitor/v1-host" > s.json
    json_eq .memory.limit 1073741824 s.json
    json_eq .memory.limit_bound cgroup s.json
    json_eq .memory.limit_source /sys/fs/cgroup/memory/rapt/memory.limit_in_bytes s.json
    json_eq .memory.used $((400 * 1048576 - 50 * 1048576)) s.json
    json_eq .cgroup.dir /sys/fs/cgroup/memory/rapt s.json
    json_eq .cgroup.cpu_dir /sys/fs/cgroup/cpuacct/rapt s.json
    json_eq .cpu.online 4 s.json
    json_eq .swap.total 2147483648 s.json
    json_eq .psi.scope system s.json
    json_eq .psi.memory_some 0.5 s.json
    # The counters of a fixture do not move: no CPU time passed, nothing was read.
    json_eq .cpu.pct null s.json
    json_eq .disk.read_bps 0 s.json
}

@test "--threshold sets the lines; alerts show in JSON and in the line mode" {
    "$RAPT" monitor --json --count 1 --interval 10ms --threshold memory=0,0.001 \
        --threshold cpu=off > s.json
    json_eq '[.alerts[] | select(.metric == "memory")][0].level' critical s.json
    json_eq '[.alerts[] | select(.metric == "memory")][0].critical' 0.001 s.json
    json_eq '[.alerts[] | select(.metric == "cpu")] | length' 0 s.json
    run "$RAPT" monitor --count 1 --interval 10ms --threshold memory=0,0.001
    [ "$status" -eq 0 ]
    [[ "$(echo "${lines[1]}" | awk '{print $17}')" == *"memory:critical"* ]]
}

# ---- Prometheus ---------------------------------------------------------------------------------

@test "--prometheus writes a valid textfile-collector file atomically" {
    mkdir textfile
    "$RAPT" monitor --count 2 --interval 50ms --prometheus textfile/rapt.prom > /dev/null
    awk -f "$PROMCHECK" textfile/rapt.prom
    [ "$(tail -c 1 textfile/rapt.prom | od -An -c | tr -d ' ')" = '\n' ]
    grep -q '^rapt_monitor_samples_total 2$' textfile/rapt.prom
    grep -Eq '^rapt_memory_limit_bytes\{bound="[a-z-]+",source="[^"]+"\} [0-9]+$' textfile/rapt.prom
    grep -Eq '^rapt_memory_available_bytes [0-9]+$' textfile/rapt.prom
    grep -Eq '^rapt_alert_level\{metric="memory"\} [012]$' textfile/rapt.prom
    grep -Eq '^rapt_pressure_avg10_ratio\{resource="memory",kind="some",scope="[a-z]+"\} ' textfile/rapt.prom
    # Every metric is prefixed rapt_; nothing else is in the directory (no temporary file).
    ! grep -v '^#' textfile/rapt.prom | grep -qv '^rapt_'
    [ "$(ls -A textfile)" = rapt.prom ]
}

@test "the Prometheus checker rejects what the collector would" {
    printf '# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\na 3\n' > bad.prom
    ! awk -f "$PROMCHECK" bad.prom
    printf '# TYPE a gauge\na{x="1\\q"} 1\n' > bad.prom
    ! awk -f "$PROMCHECK" bad.prom
    printf '# TYPE a gauge\na one\n' > bad.prom
    ! awk -f "$PROMCHECK" bad.prom
}

@test "--prometheus with tracked jobs labels them and stays valid" {
    start_job 8
    { run_start; job_start 5 "$JOB_PID" 'quote " and \\ backslash'; } > ev.jsonl
    "$RAPT" monitor --count 2 --interval 50ms --events ev.jsonl --prometheus j.prom > /dev/null
    awk -f "$PROMCHECK" j.prom
    grep -Eq "^rapt_job_memory_bytes\{id=\"5\",pid=\"$JOB_PID\"\} [0-9]+$" j.prom
    grep -q '^rapt_jobs_alive 1$' j.prom
}

@test "a --prometheus file that becomes unwritable: one warning per distinct error, sampling goes on" {
    "$RAPT" monitor --json --interval 50ms --prometheus m.prom > s.jsonl 2> err &
    MON_PID=$!
    wait_for test -e m.prom
    # A directory in its place makes every rename fail the same way. The monitor may put the
    # file back between rm and mkdir; once the directory is there, it stays.
    until rm -f m.prom && mkdir m.prom 2> /dev/null; do :; done
    mkdir m.prom/x
    n=$(wc -l < s.jsonl)
    wait_for lines_at_least $((n + 5)) s.jsonl
    kill -TERM "$MON_PID"
    st=0
    wait "$MON_PID" || st=$?
    MON_PID=
    [ "$st" -eq 0 ]
    [ "$(wc -l < err)" -eq 1 ]
    grep -q "^rapt: warning: monitor: writing --prometheus 'm.prom': Is a directory" err
    [ -z "$(ls -A . | grep '\.tmp$')" ]
}

# ---- following a run ------------------------------------------------------------------------------

@test "--events: the running jobs of a run, with memory read from /proc" {
    start_job 40
    { run_start; job_start 3 "$JOB_PID" "rapt-testchild alloc 40 sleep 120"; } > ev.jsonl
    "$RAPT" monitor --json --count 2 --interval 50ms --events ev.jsonl > s.jsonl
    tail -n 1 s.jsonl > last.json
    json_eq '.jobs | length' 1 last.json
    json_eq '.jobs[0].id' 3 last.json
    json_eq '.jobs[0].pid' "$JOB_PID" last.json
    json_eq '.jobs[0].kind' pgid last.json
    json_eq '.jobs[0].label' "rapt-testchild alloc 40 sleep 120" last.json
    json_eq '.jobs[0].alive' true last.json
    json_eq '.jobs[0].memory >= 40 * 1048576' true last.json
    json_eq '.jobs[0].cpu_pct >= 0' true last.json
    json_eq '.jobs_memory >= 40 * 1048576' true last.json

    # The plain mode counts it too.
    run "$RAPT" monitor --count 1 --interval 10ms --events ev.jsonl
    [ "$(echo "${lines[1]}" | awk '{print $16}')" = 1 ]

    # After job_end it is gone.
    job_end 3 "$JOB_PID" >> ev.jsonl
    "$RAPT" monitor --json --count 1 --interval 10ms --events ev.jsonl > s.json
    json_eq '.jobs | length' 0 s.json
}

@test "--events follows appends while it runs" {
    run_start > ev.jsonl
    "$RAPT" monitor --json --interval 50ms --events ev.jsonl > s.jsonl 2> err &
    MON_PID=$!
    wait_for lines_at_least 1 s.jsonl
    start_job 16
    job_start 7 "$JOB_PID" "late job" >> ev.jsonl
    has_job() { tail -n 1 s.jsonl | jq -e '.jobs | map(.id) == [7]' > /dev/null; }
    wait_for has_job
    job_end 7 "$JOB_PID" >> ev.jsonl
    no_job() { tail -n 1 s.jsonl | jq -e '.jobs == []' > /dev/null; }
    wait_for no_job
    kill -TERM "$MON_PID"
    wait "$MON_PID"
    MON_PID=
    [ ! -s err ]
}

@test "--events tolerates garbage, newer schemas and a half-written last line" {
    start_job 8
    {
        run_start
        echo 'this is not json'
        echo '{"v":2,"event":"job_start","seq":9,"pid":1,"cmd":"from the future"}'
        job_start 4 "$JOB_PID" "ok"
        printf '{"v":1,"event":"job_end","seq":4'   # no newline yet: not a record
    } > ev.jsonl
    run --separate-stderr "$RAPT" monitor --json --count 1 --interval 10ms --events ev.jsonl
    [ "$status" -eq 0 ]
    echo "$output" > s.json
    json_eq '.jobs | map(.id) | join(",")' 4 s.json
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 2 ]
    [[ "$stderr" == *"line 2 is not a JSON object"* ]]
    [[ "$stderr" == *"schema version 2 are newer"* ]]
}

@test "jobs whose processes died without a job_end drop out" {
    start_job 8
    { run_start; job_start 1 "$JOB_PID" "killed"; } > ev.jsonl
    kill -KILL "$JOB_PID"
    wait "$JOB_PID" || true
    JOB_PID=
    "$RAPT" monitor --json --count 4 --interval 50ms --events ev.jsonl > s.jsonl
    json_eq '.jobs | length' 0 <(tail -n 1 s.jsonl)
}

# ---- the live view ---------------------------------------------------------------------------------

# tui CMD: runs CMD in a pseudo-terminal (util-linux script) with a shell around it that saves
# `stty -a` before and after, and the command's exit status; keys go in through the fifo `keys`
# (held open on fd 8).
# The command writes its pid to `mon.pid` first (exec keeps it).
tui_start() {
    mkfifo keys
    # bash around the command: on Ctrl-C it waits for the command and carries on when the
    # command exits normally (a POSIX sh may die with it and never record the status).
    SHELL=/bin/bash script -qfec "stty -a > before.txt; sh -c 'echo \$\$ > mon.pid; exec $1'; echo \$? > rc.txt; stty -a > after.txt" \
        typescript < keys > /dev/null 2>&1 &
    SCRIPT_PID=$!
    exec 8> keys # bats owns fd 3
    wait_for test -s mon.pid
    # The first frame with a sample is on screen.
    drawn() { grep -q 'sample 1 ' typescript; }
    wait_for drawn
}

tui_finish() {
    wait "$SCRIPT_PID"
    exec 8>&-
    wait_for test -s after.txt
    [ "$(cat rc.txt)" = 0 ]
    diff before.txt after.txt
    # The view entered and left the alternate screen and showed the cursor again.
    grep -q $'\e\[?1049h' typescript
    grep -q $'\e\[?1049l' typescript
    grep -q $'\e\[?25h' typescript
}

@test "live view: q quits and the terminal modes are restored" {
    tui_start "$RAPT monitor --interval 50ms"
    printf q >&8
    tui_finish
    grep -q 'Memory' typescript
    grep -q 'Pressure' typescript
}

@test "live view: Ctrl-C quits cleanly" {
    tui_start "$RAPT monitor --interval 50ms"
    printf '\003' >&8
    tui_finish
}

@test "live view: SIGTERM and SIGHUP restore the terminal" {
    for sig in TERM HUP; do
        rm -f keys mon.pid typescript before.txt after.txt rc.txt
        tui_start "$RAPT monitor --interval 50ms"
        kill -"$sig" "$(cat mon.pid)"
        tui_finish
    done
}

@test "live view: --count ends it the same way, with a run's jobs on screen" {
    start_job 8
    { run_start; job_start 11 "$JOB_PID" "shown job"; } > ev.jsonl
    mkfifo keys
    SHELL=/bin/bash script -qfec "stty -a > before.txt; $RAPT monitor --interval 50ms --count 3 --events ev.jsonl; echo \$? > rc.txt; stty -a > after.txt" \
        typescript < keys > /dev/null 2>&1 &
    SCRIPT_PID=$!
    exec 8> keys # bats owns fd 3
    tui_finish
    grep -q 'shown job' typescript
    grep -q 'Jobs     1 running' typescript
}

@test "live view: fits the window and follows a resize" {
    command -v tmux > /dev/null || skip "tmux is not installed (scripts/deps.sh test)"
    export TMUX_TMPDIR="$TEST_DIR"
    tmux new-session -d -s mon -x 100 -y 40 "$RAPT monitor --interval 50ms; echo \$? > rc.txt; sleep 30"
    shown() { tmux capture-pane -p -t mon | grep -q 'sample [1-9]'; }
    wait_for shown
    tmux resize-window -t mon -x 50 -y 12
    narrow() { [ "$(tmux capture-pane -p -t mon | awk '{ if (length($0) > m) m = length($0) } END { print m }')" -le 50 ] &&
               tmux capture-pane -p -t mon | head -n 1 | grep -q 'sample'; }
    wait_for narrow
    tmux capture-pane -p -t mon > screen.txt
    # Nothing wrapped or scrolled: the header is still the first line, nothing wider than 50.
    head -n 1 screen.txt | grep -q '^rapt monitor'
    [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' screen.txt)" -le 50 ]
    tmux send-keys -t mon q
    wait_for test -s rc.txt
    [ "$(cat rc.txt)" = 0 ]
    tmux kill-server
}

# ---- a real cgroup --------------------------------------------------------------------------------

@test "--cgroup: a real memory cgroup's limit, usage and CPU" {
    require_root
    local name="rapt-e2e-monitor-$$-$BATS_TEST_NUMBER"
    if [ -d /sys/fs/cgroup/memory ] && [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
        CG_MEM=/sys/fs/cgroup/memory/$name
        mkdir "$CG_MEM"
        echo $((256 * 1048576)) > "$CG_MEM/memory.limit_in_bytes"
        limit_file=memory.limit_in_bytes
        if [ -d /sys/fs/cgroup/cpuacct ]; then
            CG_CPU=/sys/fs/cgroup/cpuacct/$name
            mkdir "$CG_CPU"
        fi
    elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        CG_MEM=/sys/fs/cgroup/$name
        mkdir "$CG_MEM"
        echo $((256 * 1048576)) > "$CG_MEM/memory.max"
        limit_file=memory.max
    else
        skip "no memory cgroup controller here"
    fi
    # The job moves itself into the cgroup(s) before it allocates.
    sh -c "echo \$\$ > $CG_MEM/cgroup.procs; ${CG_CPU:+echo \$\$ > $CG_CPU/cgroup.procs;} exec $TESTCHILD alloc 30 touch $TEST_DIR/ready.cg sleep 120" &
    JOB_PID=$!
    wait_for test -e "$TEST_DIR/ready.cg"
    "$RAPT" monitor --json --count 2 --interval 50ms --cgroup "$CG_MEM" > s.jsonl
    tail -n 1 s.jsonl > s.json
    json_eq .memory.limit $((256 * 1048576)) s.json
    json_eq .memory.limit_bound cgroup s.json
    json_eq .memory.limit_source "$CG_MEM/$limit_file" s.json
    json_eq .cgroup.dir "$CG_MEM" s.json
    json_eq '.cgroup.memory_usage >= 30 * 1048576' true s.json
    json_eq '.memory.used >= 30 * 1048576' true s.json
    json_eq '.memory.pct > 10' true s.json
    if [ -n "${CG_CPU:-}" ]; then
        json_eq .cgroup.cpu_dir "$CG_CPU" s.json
    fi
    json_eq '.cgroup.cpu_pct >= 0' true s.json
    kill "$JOB_PID"
}

# ---- bad input ---------------------------------------------------------------------------------------

@test "bad input: one error line and exit 2" {
    mkdir adir
    touch afile
    usage_error monitor --interval 0
    [[ "$stderr" == *"--interval '0': must be at least 10ms"* ]]
    usage_error monitor --interval abc
    [[ "$stderr" == *"not a duration"* ]]
    usage_error monitor --interval 5ms
    usage_error monitor --interval 2h
    [[ "$stderr" == *"at most 1h"* ]]
    usage_error monitor --interval
    [[ "$stderr" == *"needs a value"* ]]
    usage_error monitor --count 0
    usage_error monitor --count x
    usage_error monitor --count -1
    usage_error monitor --prometheus /nonexistent/dir/x.prom
    [[ "$stderr" == *"--prometheus '/nonexistent/dir/x.prom': cannot write there: No such file or directory"* ]]
    usage_error monitor --prometheus adir
    [[ "$stderr" == *"is a directory"* ]]
    usage_error monitor --prometheus ""
    usage_error monitor --events missing.jsonl
    [[ "$stderr" == *"--events 'missing.jsonl': No such file or directory"* ]]
    usage_error monitor --events adir
    usage_error monitor --cgroup /nonexistent/cgroup
    [[ "$stderr" == *"--cgroup '/nonexistent/cgroup'"* ]]
    usage_error monitor --cgroup "$TEST_DIR/adir"
    [[ "$stderr" == *"not a memory cgroup directory"* ]]
    usage_error monitor --cgroup ""
    usage_error monitor --threshold memory
    usage_error monitor --threshold nosuch=1,2
    [[ "$stderr" == *"unknown metric 'nosuch'"* ]]
    usage_error monitor --threshold memory=90,80
    [[ "$stderr" == *"above the critical"* ]]
    usage_error monitor --threshold memory=1,2,3,4
    usage_error monitor --threshold memory=1,x
    usage_error monitor --threshold memory=1,
    usage_error monitor --json --plain
    usage_error monitor --frobnicate
    [[ "$stderr" == *"unknown option '--frobnicate'"* ]]
    usage_error monitor -x
    usage_error monitor extra
    usage_error monitor --sysroot /nonexistent/root
    usage_error monitor --sysroot afile
    # Nothing was left behind by the --prometheus probe.
    [ -z "$(ls -A adir)" ]
}

@test "a failed write to stdout is exit 3" {
    [ -w /dev/full ] || skip "no /dev/full"
    run --separate-stderr sh -c "'$RAPT' monitor --json --count 2 --interval 10ms > /dev/full"
    [ "$status" -eq 3 ]
    [[ "$stderr" == "rapt: error: writing to standard output"* ]]
}
