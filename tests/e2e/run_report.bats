#!/usr/bin/env bats
# rapt run --report/--summary/--sla/--stage/--stage-col: the run feeds its own events into a
# report and saves it at the end (docs/report.md, docs/run.md).
#
# No test asserts on wall-clock time: SLA cases put each job's duration far from the edges of
# its band. A sleep lasts at least its length, so a job at 85% of its target can only drift up,
# and the targets leave it 0.3 s of room below 100%.

load helpers

# The HTML charts that must carry data from a real run (report_html.c).
svg_has_data() {
    local f=$1
    for label in "Gantt chart of jobs per slot over time" "memory over time" \
        "CPU utilisation over time" "running jobs over time and what limited admission"; do
        grep -q "aria-label=\"$label\"" "$f" || {
            echo "missing chart: $label" >&2
            return 1
        }
    done
    # Gantt bars (one <rect> with a tooltip per attempt), the measured CPU area, the measured
    # memory line, and the strip of what limited admission, all from the samples.
    [ "$(grep -c '<title>job ' "$f")" -ge 1 ] || { echo "no Gantt bars" >&2; return 1; }
    grep -q 'measured (samples)' "$f" || { echo "no measured CPU" >&2; return 1; }
    grep -q 'The line is the memory the samples measured in use' "$f" ||
        { echo "no measured memory" >&2; return 1; }
    grep -Eq 'height="12"><title>(slots|none|memory|input|pressure)</title>' "$f" ||
        { echo "no limiting-factor strip" >&2; return 1; }
}

@test "run --report --summary: counts of a real run, without --events" {
    # 4 jobs: two succeed, one fails on both tries, one fails once then succeeds.
    run --separate-stderr "$RAPT" run -j2 --retries 2 --report r.html --summary s.json ::: \
        "$TESTCHILD sleep 0.1" "$TESTCHILD alloc 20 spin 1.2" "$TESTCHILD exit 3" \
        "test -e once || { touch once; exit 1; }"
    [ "$status" -eq 1 ] # one job failed
    json_eq .schema rapt.summary/1 s.json
    json_eq .jobs.total 4 s.json
    json_eq .jobs.succeeded 3 s.json
    json_eq .jobs.failed 1 s.json
    json_eq .jobs.unfinished 0 s.json
    json_eq .jobs.attempts 6 s.json
    json_eq .jobs.retried 2 s.json
    json_eq '.runs | length' 1 s.json
    json_eq '.runs[0].exit_code' 1 s.json
    json_eq '.input.complete' true s.json
    # No --events, yet the report saw every record, samples included.
    [ ! -e ev.jsonl ]
    [ "$(jq .admission.samples s.json)" -ge 1 ]
    grep -q '^<!DOCTYPE html>' r.html
    grep -q '</html>' r.html
    # The files are renamed into place: no temporary file is left.
    [ "$(ls | grep -c tmp)" -eq 0 ]
}

@test "run: per-stage SLAs from --stage-col; rapt report on the events gives the same summary" {
    # Stage a (target 2 s): 0.1 s ok, 1.7 s = 85% warning. Stage b (target 1 s): 0.1 s ok,
    # 3 s violated. The all-jobs target (10 s) holds no stage's jobs, so it has none.
    printf 'a 0.1\na 1.7\nb 0.1\nb 3\n' > in.txt
    run --separate-stderr "$RAPT" run -j4 --colsep ' ' --stage-col 1 --sla 10s --sla a=2s \
        --sla b=1s --events ev.jsonl --report r.html --summary s.json \
        "$TESTCHILD" alloc 8 spin {2} -- :::: in.txt
    [ "$status" -eq 0 ]
    # One warning line says the SLA was missed; the exit status is the jobs'.
    [ "$stderr" = "rapt: warning: run: SLA: 1 job took longer than the target, 1 more over 80% of it" ]
    json_eq '[.sla[] | .stage] | join(",")' ',a,b' s.json
    json_eq '.sla[] | select(.stage == "a") | [.jobs, .ok, .warning, .violated, .status] | join(" ")' \
        '2 1 1 0 warning' s.json
    json_eq '.sla[] | select(.stage == "b") | [.jobs, .ok, .warning, .violated, .status] | join(" ")' \
        '2 1 0 1 violated' s.json
    json_eq '.sla[] | select(.stage == null) | .status' no-jobs s.json
    json_eq '[.stages[] | "\(.name):\(.jobs):\(.sla)"] | join(" ")' 'a:2:2 b:2:1' s.json
    # The stage is in the events' job records, the targets in run_start.
    json_eq '[.[] | select(.event == "job_start") | .stage] | sort | join(",")' 'a,a,b,b' \
        <(jq -s . ev.jsonl)
    [ "$(jq -s '[.[] | select(.event == "job_end" and .stage == null)] | length' ev.jsonl)" -eq 0 ]
    json_eq 'select(.event == "run_start") | .options | "\(.sla_s) \(.sla_stages.a) \(.sla_stages.b)"' \
        '10 2 1' ev.jsonl
    # The samples carry what the report plots: the jobs' CPU and memory, the limiting factor.
    [ "$(jq -s '[.[] | select(.event == "sample" and .cpu_pct != null)] | length' ev.jsonl)" -ge 2 ]
    [ "$(jq -s '[.[] | select(.event == "sample") | .cpu_pct] | max > 0' ev.jsonl)" = true ]
    [ "$(jq -s '[.[] | select(.event == "sample") | .mem_used] | max > 0' ev.jsonl)" = true ]
    svg_has_data r.html
    # The same records make the same report: `rapt report` on the file, with no --sla (the
    # run's targets are in its run_start), equals the run's own summary, field for field.
    "$RAPT" report --json ev.jsonl > again.json
    diff <(jq -S . s.json) <(jq -S . again.json)
}

@test "run --stage NAME: every job carries the stage, in the events and the summary" {
    "$RAPT" run -j2 --stage extract --events ev.jsonl --summary s.json "$TESTCHILD" sleep {} -- \
        ::: 0.1 0.2 0.1
    json_eq '[.stages[] | "\(.name):\(.jobs)"] | join(" ")' 'extract:3' s.json
    json_eq '[.[] | select(.event == "job_end") | .stage] | unique | join(",")' extract \
        <(jq -s . ev.jsonl)
    "$RAPT" report --json ev.jsonl > again.json
    diff <(jq -S . s.json) <(jq -S . again.json)
}

@test "run --stage-col: a record without that column has no stage" {
    "$RAPT" run -j1 --stage-col 2 --events ev.jsonl "$TESTCHILD" exit 0 -- ::: x y
    json_eq '[.[] | select(.event == "job_end") | .stage] | map(tostring) | join(",")' \
        'null,null' <(jq -s . ev.jsonl)
    "$RAPT" run -j1 --stage-col 2 --events ev2.jsonl "$TESTCHILD" exit 0 -- ::: x ::: s1 s2
    json_eq '[.[] | select(.event == "job_end") | .stage] | sort | join(",")' 's1,s2' \
        <(jq -s . ev2.jsonl)
}

@test "run --report to an unwritable place: one error line, exit 254, no job runs" {
    for out in "--report missing/r.html" "--summary missing/s.json" "--report ." \
        "--summary -" "--report same --summary same"; do
        # shellcheck disable=SC2086
        run_usage_error $out ::: "touch ran"
        [ ! -e ran ]
    done
    [[ "$stderr" == *"same file"* ]]
}

@test "run: report option misuse is a usage error" {
    run_usage_error --stage a --stage-col 1 ::: "touch ran"
    run_usage_error --stage-col 0 ::: "touch ran"
    run_usage_error --stage '' ::: "touch ran"
    run_usage_error --sla 5QB ::: "touch ran"
    [[ "$stderr" == *"--sla '5QB': unknown unit"* ]]
    run_usage_error --sla =5s ::: "touch ran"
    run_usage_error --dry-run --summary s.json ::: "touch ran"
    [ ! -e ran ]
    [ ! -e s.json ]
}

@test "run: a report that cannot be written at the end goes to TMPDIR; exit 255, one line" {
    mkdir out tmp
    # The job removes the report's directory while the run goes on: the check before the run
    # passed, the save at the end fails.
    run --separate-stderr env TMPDIR="$TEST_DIR/tmp" "$RAPT" run -j1 --summary out/s.json \
        --joblog log ::: "rm -rf '$TEST_DIR/out'; echo done"
    [ "$status" -eq 255 ]
    [ "$output" = done ] # the job's output is not lost
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "rapt: error: run: --summary 'out/s.json': No such file or directory; saved to '$TEST_DIR/tmp/rapt-"*"-s.json' instead" ]]
    saved=$(ls tmp/rapt-*-s.json)
    json_eq .jobs.succeeded 1 "$saved"
    [ "$(wc -l < log)" -eq 2 ] # the joblog is complete
}
