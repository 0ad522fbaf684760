#!/usr/bin/env bats
# rapt report: crafted runs with known answers, outputs, exit codes for every kind of bad input,
# and the size of a 100 000-job report.

load helpers

EV="$RAPT_FIXTURES/events"
GEN="$RAPT_BUILD_DIR/tests/rapt-gen-events"

# one_line_stderr PREFIX: asserts stderr is exactly one line starting with PREFIX.
one_line_stderr() {
    local lines
    lines=$(printf '%s\n' "$stderr" | wc -l)
    if [ -z "$stderr" ] || [ "$lines" -ne 1 ] || [[ "$stderr" != "$1"* ]]; then
        echo "expected one stderr line starting with '$1', got:" >&2
        printf '%s\n' "$stderr" >&2
        return 1
    fi
}

@test "rapt report --help goes to stdout" {
    run --separate-stderr "$RAPT" report --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: rapt report"* ]]
    [[ "$output" == *"exit status"* ]]
    [ -z "$stderr" ]
    run "$RAPT" --help
    [[ "$output" == *"report"* ]]
}

@test "the crafted fixtures are what the generator writes" {
    for s in $("$GEN" list); do
        "$GEN" scenario "$s" > "$s.jsonl"
        cmp "$s.jsonl" "$EV/$s.jsonl"
    done
}

@test "CPU-bound run: bottleneck cpu, as many slots as CPUs would do" {
    run --separate-stderr "$RAPT" report --json "$EV/cpu-bound.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    echo "$output" > s.json
    json_eq .schema rapt.summary/1 s.json
    json_eq .bottleneck cpu s.json
    json_eq .cpu.utilisation 0.975 s.json
    json_eq '.recommendations[0].id' cpu-bound s.json
    json_eq '.recommendations[0].figures.suggested_slots' 2 s.json
    json_eq '.stages[0].model.gamma' 3 s.json
    json_eq '.stages[0].model.overhead' 52428800 s.json
}

@test "memory-bound run: bottleneck memory, about 2 jobs fit" {
    run "$RAPT" report --json "$EV/memory-bound.jsonl"
    [ "$status" -eq 0 ]
    echo "$output" > s.json
    json_eq .bottleneck memory s.json
    json_eq '.admission.limited_by.memory | . * 18 | round' 15 s.json
    json_eq '.recommendations[] | select(.id == "memory-bound") | .figures.fit' 2 s.json
    json_eq '.memory.utilisation' 0.78125 s.json
}

@test "long-tail run: bottleneck tail, --order lpt would finish in 30 s instead of 39 s" {
    run "$RAPT" report --json "$EV/long-tail.jsonl"
    [ "$status" -eq 0 ]
    echo "$output" > s.json
    json_eq .bottleneck tail s.json
    json_eq '.tail.simulated_s' 39 s.json
    json_eq '.tail.simulated_lpt_s' 30 s.json
    json_eq '[.recommendations[].id] | join(",")' long-tail,runtime-spread s.json
    json_eq '.recommendations[0].text | test("--order lpt")' true s.json
    json_eq '.slowest.count' 1 s.json
    json_eq '.slowest.jobs[0].seq' 40 s.json
    json_eq '.slowest.jobs[0].cmd' 'simulate job-40.dat' s.json
}

@test "SLA-breaking stages: transform violated by 2 large-input jobs, extract warns" {
    run "$RAPT" report --json --sla extract=5s --sla transform=20s "$EV/sla-stages.jsonl"
    [ "$status" -eq 0 ]
    echo "$output" > s.json
    json_eq '.sla[] | select(.stage == "transform") | .status' violated s.json
    json_eq '.sla[] | select(.stage == "transform") | .violated' 2 s.json
    json_eq '.sla[] | select(.stage == "extract") | .status' warning s.json
    json_eq '.sla[] | select(.stage == "extract") | .worst_seq' 9 s.json
    json_eq '.recommendations[0].id' sla-violated s.json
    json_eq '.recommendations[0].figures.input_ratio' 4 s.json
    json_eq '[.stages[].name] | join(",")' extract,transform s.json
    json_eq '.runs | length' 2 s.json
    # the text says the same
    run "$RAPT" report --sla extract=5s --sla transform=20s "$EV/sla-stages.jsonl"
    [[ "$output" == *"sla-violated: 2 of 8 jobs of stage transform took longer than the SLA"* ]]
    [[ "$output" == *"transform      20.0 s"*"violated"* ]]
}

@test "an SLA for every job: --sla DURATION" {
    run "$RAPT" report --json --sla 2.5s "$EV/long-tail.jsonl"
    echo "$output" > s.json
    json_eq '.sla[0].stage' null s.json
    json_eq '.sla[0].violated' 1 s.json
    json_eq '.sla[0].ok' 39 s.json
}

@test "I/O-bound, input-bound and mixed runs name their bottleneck and findings" {
    run "$RAPT" report --json "$EV/io-bound.jsonl"
    echo "$output" > s.json
    json_eq .bottleneck slots s.json
    json_eq '.recommendations[0].id' slots-more s.json
    run "$RAPT" report --json "$EV/input-bound.jsonl"
    echo "$output" > s.json
    json_eq .bottleneck input s.json
    json_eq '.recommendations[0].figures.suggested_slots' 2 s.json
    run "$RAPT" report --json "$EV/mixed-outcomes.jsonl"
    echo "$output" > s.json
    json_eq '.jobs | [.total, .succeeded, .failed, .attempts, .retried, .requeued, .oom_killed] | join(" ")' \
        "10 8 2 15 3 2 1" s.json
    json_eq '[.recommendations[] | select(.severity == "critical") | .id] | join(",")' oom,failures s.json
}

@test "text summary on stdout by default" {
    run --separate-stderr "$RAPT" report "$EV/memory-bound.jsonl"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "rapt report: 1 run, 12 jobs in 18.0 s (render)" ]]
    [[ "${lines[1]}" == "bottleneck   memory" ]]
    [[ "$output" == *"memory-bound: Memory held admission back 83% of the time"* ]]
}

@test "-o and --summary write their files atomically; --quiet prints nothing" {
    run --separate-stderr "$RAPT" report -q -o out/r.html --summary out/s.json "$EV/long-tail.jsonl"
    [ "$status" -eq 3 ] # out/ does not exist yet
    [ -z "$output" ]
    one_line_stderr "rapt: error: report: -o 'out/r.html': No such file or directory"
    mkdir out
    echo old > out/r.html
    run --separate-stderr "$RAPT" report -q -o out/r.html --summary out/s.json "$EV/long-tail.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -z "$stderr" ]
    [ "$(ls -A out | tr '\n' ' ')" = "r.html s.json " ]
    head -c 15 out/r.html | grep -q '<!DOCTYPE html>'
    json_eq .bottleneck tail out/s.json
}

@test "HTML and JSON to standard output; one consumer only" {
    run --separate-stderr "$RAPT" report -o - "$EV/cpu-bound.jsonl"
    [ "$status" -eq 0 ]
    [[ "$output" == "<!DOCTYPE html>"* ]]
    [[ "$output" == *"</html>" ]]
    run --separate-stderr "$RAPT" report --summary - "$EV/cpu-bound.jsonl"
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '.schema == "rapt.summary/1"'
    usage_error report --json -o - "$EV/cpu-bound.jsonl"
    usage_error report --json -q "$EV/cpu-bound.jsonl"
}

@test "events from standard input, and several files make one report" {
    run --separate-stderr sh -c '"$RAPT" report --json - < "$1"' sh "$EV/cpu-bound.jsonl"
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '.jobs.total == 20'
    # the two stages as two files
    n=$(grep -n '"event":"run_start"' "$EV/sla-stages.jsonl" | sed -n 2p | cut -d: -f1)
    head -n $((n - 1)) "$EV/sla-stages.jsonl" > a.jsonl
    tail -n +"$n" "$EV/sla-stages.jsonl" > b.jsonl
    run --separate-stderr "$RAPT" report --json a.jsonl b.jsonl
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '.jobs.total == 18 and (.runs | length) == 2'
    # the same file twice is reported once
    run --separate-stderr "$RAPT" report --json "$EV/cpu-bound.jsonl" "$EV/cpu-bound.jsonl"
    [ "$status" -eq 0 ]
    echo "$output" | jq -e '.jobs.total == 20 and .jobs.attempts == 20'
}

@test "bad input: a truncated file reports what is readable, one warning, exit 1" {
    run --separate-stderr "$RAPT" report "$EV/truncated.jsonl"
    [ "$status" -eq 1 ]
    one_line_stderr "rapt: warning: report: $EV/truncated.jsonl:41: the file ends in the middle of a record"
    [[ "$output" == *"12 succeeded, 0 failed, 3 unfinished"* ]]
    [[ "$output" == *"the last line was cut off"* ]]
    # cut anywhere: still one line, still a report
    head -c 5000 "$EV/long-tail.jsonl" > cut.jsonl
    run --separate-stderr "$RAPT" report -o cut.html cut.jsonl
    [ "$status" -eq 1 ]
    one_line_stderr "rapt: warning: report: cut.jsonl:"
    [ -s cut.html ]
}

@test "bad input: a garbage line in the middle is skipped with its line number, exit 1" {
    run --separate-stderr "$RAPT" report --json "$EV/mid-garbage.jsonl"
    [ "$status" -eq 1 ]
    one_line_stderr "rapt: warning: report: $EV/mid-garbage.jsonl:24: malformed JSON"
    [[ "$stderr" == *"1 bad line skipped, the rest is reported"* ]]
    echo "$output" | jq -e '.jobs.succeeded == 19 and .input.bad_lines == 1 and .input.first_bad.line == 24'
}

@test "bad input: an events file from a newer schema, one warning, exit 1" {
    run --separate-stderr "$RAPT" report --json "$EV/newer-schema.jsonl"
    [ "$status" -eq 1 ]
    one_line_stderr "rapt: warning: report: $EV/newer-schema.jsonl:"
    [[ "$stderr" == *"11 records of schema version 2 skipped"* ]]
    echo "$output" | jq -e '.input.newer_schema_records == 11 and .jobs.succeeded == 10'
    # all of it newer: nothing to report
    sed 's/^{"v":1,/{"v":7,/' "$EV/cpu-bound.jsonl" > v7.jsonl
    usage_error report v7.jsonl
    [[ "$stderr" == *"schema version 7"* ]]
}

@test "bad input: garbage, empty, missing, a directory: one error line, exit 2" {
    usage_error report "$EV/garbage.jsonl"
    [[ "$stderr" == *"no rapt events in the input ($EV/garbage.jsonl:1: malformed JSON"* ]]
    : > empty.jsonl
    usage_error report empty.jsonl
    usage_error report no-such-file.jsonl
    [[ "$stderr" == "rapt: error: report: 'no-such-file.jsonl': No such file or directory" ]]
    usage_error report "$EV"
    usage_error report
    usage_error report --frobnicate "$EV/cpu-bound.jsonl"
    usage_error report --sla "$EV/cpu-bound.jsonl"
}

@test "bad input: malformed --sla values" {
    usage_error report --sla 5QB "$EV/cpu-bound.jsonl"
    [[ "$stderr" == *"unknown unit"* ]]
    usage_error report --sla 0 "$EV/cpu-bound.jsonl"
    usage_error report --sla =5s "$EV/cpu-bound.jsonl"
    usage_error report --sla build= "$EV/cpu-bound.jsonl"
}

@test "a run without run_end: a warning, exit 0" {
    run --separate-stderr "$RAPT" report "$EV/no-run-end.jsonl"
    [ "$status" -eq 0 ]
    one_line_stderr "rapt: warning: report: 1 of 1 run has no run_end record"
    [[ "$output" == *"3 unfinished"* ]]
}

@test "unwritable outputs: one error line, exit 3, nothing half-written" {
    run --separate-stderr "$RAPT" report -o no/dir/r.html "$EV/cpu-bound.jsonl"
    [ "$status" -eq 3 ]
    [ -z "$output" ]
    one_line_stderr "rapt: error: report: -o 'no/dir/r.html': No such file or directory"
    mkdir d
    run --separate-stderr "$RAPT" report --summary d "$EV/cpu-bound.jsonl"
    [ "$status" -eq 3 ]
    one_line_stderr "rapt: error: report: --summary 'd': is a directory"
    [ -z "$(ls -A d)" ]
    if [ -w /dev/full ]; then
        run --separate-stderr sh -c '"$RAPT" report "$1" > /dev/full' sh "$EV/cpu-bound.jsonl"
        [ "$status" -eq 3 ]
        one_line_stderr "rapt: error: writing to standard output"
    fi
    # a read-only file system, when there is one to try
    if [ "$(id -u)" -eq 0 ] && mkdir ro && mount -t tmpfs -o ro,size=1m tmpfs ro 2>/dev/null; then
        run --separate-stderr "$RAPT" report -o ro/r.html "$EV/cpu-bound.jsonl"
        umount ro
        [ "$status" -eq 3 ]
        one_line_stderr "rapt: error: report: -o 'ro/r.html': Read-only file system"
    fi
}

@test "a 100 000-job run: the HTML report stays under 5 MB" {
    "$GEN" synthetic 100000 > big.jsonl
    run --separate-stderr "$RAPT" report -q -o big.html --summary big.json big.jsonl
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    size=$(stat -c %s big.html)
    echo "report of 100000 jobs: $size bytes (events: $(stat -c %s big.jsonl) bytes)" >&3
    [ "$size" -lt $((5 * 1000 * 1000)) ]
    json_eq .jobs.total 100000 big.json
    json_eq '.input.complete' true big.json
    # bounded: no chart draws one element per job at this size
    [ "$(grep -o '<rect' big.html | wc -l)" -lt 20000 ]
    [ "$(grep -o '<circle' big.html | wc -l)" -eq 0 ]
}
