#!/usr/bin/env bats
# rapt plan: both forms, JSON output, and every kind of bad input.

load helpers

mkfiles() {
    # Sparse files: only their sizes matter to the plan.
    truncate -s 400M big
    truncate -s 300M mid
    truncate -s 200M small
    truncate -s 100M tiny1
    truncate -s 100M tiny2
}

@test "the seed formula min(mem // 150MB, cpus // 2, 5) is one command" {
    run "$RAPT" plan --mem-per-job 150M --cpus-per-job 2 --max 5 --cpus 8 --limit 12G --json
    [ "$status" -eq 0 ]
    echo "$output" > p.json
    # budget = 85% of 12 GiB = 10.2 GiB -> 69 jobs by memory; 8 / 2 = 4 by CPU; max 5.
    json_eq .jobs 4 p.json
    json_eq .limited_by cpu p.json
    json_eq .by_memory 69 p.json
    json_eq .by_cpu 4 p.json
    json_eq .by_max 5 p.json
}

@test "per-job form on the real machine names the limiting factor" {
    run --separate-stderr "$RAPT" plan --mem-per-job 1T
    [ "$status" -eq 0 ]
    [[ "$output" == "jobs           1        limited by memory"* ]]
}

@test "per-job form warns when even one job does not fit" {
    run --separate-stderr "$RAPT" plan --mem-per-job 2G --limit 1G
    [ "$status" -eq 0 ]
    [[ "$stderr" == "rapt: warning: plan: one job"* ]]
}

@test "input-size form picks the largest P that fits and shows P+1" {
    mkfiles
    run "$RAPT" plan --limit 4G --json big mid small tiny1 tiny2
    [ "$status" -eq 0 ]
    echo "$output" > p.json
    json_eq .jobs 3 p.json
    json_eq .limited_by memory p.json
    json_eq .allowed 3221225472 p.json
    json_eq .estimate_at_p $((2850 * 1048576)) p.json
    json_eq .estimate_at_p_plus_1 $((3200 * 1048576)) p.json
    json_eq .inputs.count 5 p.json
}

@test "input-size form: defaults, --base, --max and --no-safety" {
    mkfiles
    run "$RAPT" plan --limit 4G --base 300M --json big mid small tiny1 tiny2
    echo "$output" > p.json
    json_eq .jobs 2 p.json
    run "$RAPT" plan --limit 64G --max 2 --json big mid small
    echo "$output" > p.json
    json_eq .jobs 2 p.json
    json_eq .limited_by max p.json
    run "$RAPT" plan --limit 100M --no-safety --cpus 2 --json big mid small
    echo "$output" > p.json
    json_eq .jobs 2 p.json
    json_eq .limited_by cpu-fallback p.json
}

@test "input-size form reads names from --files-from, including odd names" {
    truncate -s 10M -- '-leading dash' 'with space' "$(printf 'new\nline')"
    printf '%s\n' '-leading dash' 'with space' > list
    run "$RAPT" plan --limit 1G --files-from list --json -- "$(printf 'new\nline')"
    [ "$status" -eq 0 ]
    echo "$output" > p.json
    json_eq .inputs.count 3 p.json
}

@test "input-size form warns when not even one job fits" {
    mkfiles
    run --separate-stderr "$RAPT" plan --limit 100M big
    [ "$status" -eq 0 ]
    [[ "$stderr" == "rapt: warning: plan: even 1 job needs"* ]]
}

@test "bad input: unknown option, missing value" {
    usage_error plan --frobnicate
    usage_error plan --mem-per-job
    usage_error plan -x
}

@test "bad input: malformed, negative, zero and overflowing sizes" {
    usage_error plan --mem-per-job 12QB
    [[ "$stderr" == *"unknown unit"* ]]
    usage_error plan --mem-per-job -5M
    usage_error plan --mem-per-job 0
    [[ "$stderr" == *"more than zero"* ]]
    usage_error plan --mem-per-job 99999999999T
    [[ "$stderr" == *"too large"* ]]
    usage_error plan --mem-per-job 1.2.3G
}

@test "bad input: out-of-range numbers" {
    mkfiles
    usage_error plan --eta 1.5 big
    [[ "$stderr" == *"--eta '1.5'"* ]]
    usage_error plan --eta 0 big
    usage_error plan --gamma -1 big
    usage_error plan --mem-per-job 1G --cpus-per-job 0
    usage_error plan --mem-per-job 1G --cpus-per-job abc
    usage_error plan --mem-per-job 1G --max 0
    usage_error plan --min 5 --max 2 big
    usage_error plan --mem-per-job 1G --cpus 99999999999
}

@test "bad input: nonexistent file, a directory, an unreadable file" {
    usage_error plan nosuchfile
    [[ "$stderr" == *"'nosuchfile': No such file or directory"* ]]
    mkdir adir
    usage_error plan adir
    [[ "$stderr" == *"is a directory"* ]]
    echo data > secret
    chmod 000 secret
    if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || skip "setpriv is needed to drop root"
        chmod 755 "$TEST_DIR"
        run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
            "$RAPT" plan secret
    else
        run --separate-stderr "$RAPT" plan secret
    fi
    [ "$status" -eq 2 ]
    [[ "$stderr" == "rapt: error: plan: 'secret': Permission denied" ]]
}

@test "bad input: nothing to plan, mixed forms, an empty list" {
    usage_error plan
    usage_error plan --gamma 3
    mkfiles
    usage_error plan --mem-per-job 1G big
    usage_error plan --cpus-per-job 2 big
    : > empty.list
    usage_error plan --files-from empty.list
    usage_error plan --files-from nosuchlist
}

@test "bad input: a garbage sysroot" {
    usage_error plan --mem-per-job 1G --sysroot /nonexistent
    usage_error plan --mem-per-job 1G --sysroot "$RAPT_FIXTURES/garbage"
}

@test "--class takes gamma and overhead from the learned model" {
    # Peak exactly 2 x input + 20 MiB, learned from 30 attempts written through librapt.
    "$RAPT_BUILD_DIR/tests/rapt-histfill" --run r h.db 'dec {}' 30 2 20971520
    mkfiles
    run --separate-stderr "$RAPT" plan --class 'dec {}' --history h.db --limit 4G --json \
        big mid small tiny1 tiny2
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    echo "$output" > p.json
    json_eq .gamma 2 p.json
    json_eq .overhead 20971520 p.json
    json_eq .model.source history p.json
    json_eq .model.basis fit p.json
    json_eq .model.samples 30 p.json
    json_eq .model.fit_gamma 2 p.json
    json_eq .model.note null p.json
    # 0.75 x 4 GiB = 3 GiB allowed; 2 x (400+300+200) + 3 x 20 = 1860 MiB, + 2 x 100 + 20 = 2080.
    json_eq .jobs 5 p.json
    json_eq .estimate_at_p $(((2 * 1100 + 5 * 20) * 1048576)) p.json
    run "$RAPT" plan --class 'dec {}' --history h.db --limit 4G big
    [[ "$output" == *"model        learned for class 'dec {}' from 30 samples in h.db"* ]]
    [[ "$output" == *"peak = 2 x size + 20 MiB"* ]]
}

@test "--class on an unknown class uses the defaults and says so" {
    "$RAPT_BUILD_DIR/tests/rapt-histfill" --run r h.db 'dec {}' 5 2 20971520
    mkfiles
    run --separate-stderr "$RAPT" plan --class 'other {}' --history h.db --limit 4G --json big
    [ "$status" -eq 0 ]
    echo "$output" > p.json
    json_eq .model.source defaults p.json
    json_eq .gamma 3 p.json
    [[ "$(jq -r .model.note p.json)" == *"no measured attempt of this class"* ]]
    # No history file at all: the same, and nothing is created.
    run --separate-stderr "$RAPT" plan --class 'other {}' --history none.db --limit 4G big
    [ "$status" -eq 0 ]
    [[ "$output" == *"defaults for class 'other {}': no history yet in none.db"* ]]
    [ ! -e none.db ]
    run "$RAPT" plan --class 'dec {}' --no-history --limit 4G --json big
    echo "$output" > p.json
    json_eq .model.source defaults p.json
}

@test "--class misuse is one error line and exit 2" {
    mkfiles
    usage_error plan --class x --gamma 2 big
    usage_error plan --class x --overhead 1M big
    usage_error plan --class x --mem-per-job 1G
    usage_error plan --history h.db big
    usage_error plan --no-history big
    usage_error plan --class x --history h.db --no-history big
    usage_error plan --class '' big
    [ ! -e h.db ]
}
