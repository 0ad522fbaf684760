#!/usr/bin/env bats
# rapt history: listing, JSON, export (CSV quoting of hostile names, JSON Lines), forget,
# files it must refuse and leave untouched, two writers at once, and bad input.
# History files are written through librapt by tests/helpers/rapt-histfill, as rapt run would.

load helpers

fill() {
    "$RAPT_BUILD_DIR/tests/rapt-histfill" "$@"
}

# A class whose peak is exactly 2 x input + 20 MiB, runtime 0.1 s + 0.02 s per MiB.
populate() {
    fill --run run-a h.db 'gzip -k {}' 30 2 20971520 0.02
    fill --run run-b --no-size --failed 2 h.db 'sleep {}' 10 0 10485760
}

@test "no history yet: says so, exits 0, creates nothing" {
    run --separate-stderr "$RAPT" history --history h.db
    [ "$status" -eq 0 ]
    [[ "$output" == *"no history yet"* ]]
    [ ! -e h.db ]
    run "$RAPT" history --history h.db --json
    [ "$status" -eq 0 ]
    echo "$output" > l.json
    json_eq .exists false l.json
    json_eq '.classes | length' 0 l.json
    [ ! -e h.db ]
}

@test "the default file is under XDG_STATE_HOME, else ~/.local/state" {
    XDG_STATE_HOME="$PWD/state" run "$RAPT" history --json
    [ "$status" -eq 0 ]
    echo "$output" > l.json
    json_eq .path "$PWD/state/rapt/history.db" l.json
    env -u XDG_STATE_HOME HOME="$PWD/home" "$RAPT" history --json > l.json
    json_eq .path "$PWD/home/.local/state/rapt/history.db" l.json
}

@test "list shows classes, learned models, predictions at input sizes and runs" {
    populate
    run --separate-stderr "$RAPT" history --history h.db
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [[ "$output" == *"class 'gzip -k {}'"* ]]
    [[ "$output" == *"attempts 30 (30 succeeded) in 1 run"* ]]
    [[ "$output" == *"peak     2 x size + 20 MiB"* ]]
    [[ "$output" == *"class 'sleep {}'"* ]]
    [[ "$output" == *"attempts 10 (8 succeeded)"* ]]
    [[ "$output" == *"does not follow input size"* ]]
    [[ "$output" == *"recent runs"* ]]
    [[ "$output" == *"run-a"* && "$output" == *"run-b"* ]]

    "$RAPT" history --history h.db --json > l.json
    json_eq .schema rapt.history/1 l.json
    json_eq '.classes | length' 2 l.json
    json_eq '.classes[] | select(.name == "gzip -k {}") | .peak.basis' fit l.json
    json_eq '.classes[] | select(.name == "gzip -k {}") | .peak.slope' 2 l.json
    json_eq '.classes[] | select(.name == "gzip -k {}") | .peak.intercept' 20971520 l.json
    json_eq '.classes[] | select(.name == "gzip -k {}") | .predictions | length' 3 l.json
    # At the largest input (30 MiB) the peak is 2 x 30 + 20 = 80 MiB exactly.
    json_eq '.classes[] | select(.name == "gzip -k {}") | .predictions[2].peak' 83886080 l.json
    json_eq '.classes[] | select(.name == "sleep {}") | .peak.basis' median l.json
    json_eq '.classes[] | select(.name == "sleep {}") | .succeeded' 8 l.json
    json_eq '.runs | length' 2 l.json
    json_eq '.runs[] | select(.run_id == "run-b") | .failed' 2 l.json

    "$RAPT" history --history h.db --json --class 'sleep {}' --runs 0 > one.json
    json_eq '.classes | length' 1 one.json
    json_eq '.runs | length' 0 one.json
    # Reading leaves no side files behind.
    [ ! -e h.db-wal ] && [ ! -e h.db-shm ]
}

@test "export: CSV survives hostile class names, JSON Lines has one object per attempt" {
    populate
    hostile=$(printf 'tr "a,b" {}\nnext\tline')
    fill --run run-c h.db "$hostile" 3 1 1048576
    run --separate-stderr "$RAPT" history --history h.db export
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" > all.csv
    [ "$(head -n1 all.csv | cut -d, -f1-5)" = "run_id,host,class,stage,seq" ]
    # A CSV reader (SQLite's) gets every row and the hostile name back byte for byte.
    sqlite3 :memory: ".import --csv all.csv t" "SELECT count(*) FROM t" > n.txt
    [ "$(cat n.txt)" -eq 43 ]
    sqlite3 :memory: ".import --csv all.csv t" \
        "SELECT class FROM t WHERE run_id = 'run-c' LIMIT 1" > name.txt
    [ "$(cat name.txt)" = "$hostile" ]

    "$RAPT" history --history h.db export --format json > all.jsonl
    [ "$(wc -l < all.jsonl)" -eq 43 ]
    [ "$(jq -s 'map(select(.run_id == "run-c"))[0].class' all.jsonl)" = "$(jq -n --arg s "$hostile" '$s')" ]
    [ "$(jq -s 'map(select(.class == "gzip -k {}")) | length' all.jsonl)" -eq 30 ]
    [ "$(jq -s '[.[] | select(.outcome == "failed")] | length' all.jsonl)" -eq 2 ]
    jq -e -s 'all(.[]; has("peak_bytes") and has("wall_s") and has("mem_limit") and has("reason"))' all.jsonl

    "$RAPT" history --history h.db export --class 'sleep {}' > s.csv
    [ "$(wc -l < s.csv)" -eq 11 ]
}

@test "forget deletes a class; an unknown class is one error line and exit 1" {
    populate
    run --separate-stderr "$RAPT" history --history h.db forget 'sleep {}'
    [ "$status" -eq 0 ]
    [ "$output" = "forgot 10 attempts of class 'sleep {}'" ]
    "$RAPT" history --history h.db --json > l.json
    json_eq '.classes | length' 1 l.json
    run --separate-stderr "$RAPT" history --history h.db forget 'sleep {}'
    [ "$status" -eq 1 ]
    [ "$stderr" = "rapt: error: history: forget: no class 'sleep {}' in h.db" ]
    run --separate-stderr "$RAPT" history --history missing.db forget x
    [ "$status" -eq 1 ]
    [ ! -e missing.db ]
}

# refused FILE: rapt history and rapt plan --class refuse FILE and leave it byte for byte.
refused() {
    cp "$1" before
    run --separate-stderr "$RAPT" history --history "$1"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "rapt: error: history: $1: "*"(left unchanged)" ]]
    run --separate-stderr "$RAPT" history --history "$1" forget x
    [ "$status" -eq 1 ]
    # plan carries on with the defaults after one warning.
    truncate -s 10M in1
    run --separate-stderr "$RAPT" plan --class x --history "$1" --limit 1G --json in1
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "rapt: warning: plan: history $1: "*"continuing without history" ]]
    echo "$output" > p.json
    json_eq .model.source defaults p.json
    cmp "$1" before
    [ ! -e "$1-wal" ] && [ ! -e "$1-shm" ] && [ ! -e "$1-journal" ]
}

@test "a corrupt history file is refused and left untouched" {
    head -c 20000 /dev/urandom > garbage.db
    refused garbage.db
    # A real history, truncated.
    fill --run r h.db 'c {}' 2000 1 1
    head -c 40960 h.db > short.db
    refused short.db
}

@test "a history file of a newer schema is refused and left untouched" {
    fill --run r h.db 'c {}' 5 1 1
    sqlite3 h.db 'PRAGMA user_version = 2'
    refused h.db
}

@test "two writers at once lose no record" {
    fill --run one h.db 'shared {}' 500 1 1 &
    p1=$!
    fill --run two h.db 'shared {}' 500 1 1 &
    p2=$!
    wait "$p1"
    wait "$p2"
    "$RAPT" history --history h.db export --format json > all.jsonl
    [ "$(wc -l < all.jsonl)" -eq 1000 ]
    [ "$(jq -s '[.[] | select(.run_id == "one")] | map(.seq) | unique | length' all.jsonl)" -eq 500 ]
    [ "$(jq -s '[.[] | select(.run_id == "two")] | map(.seq) | unique | length' all.jsonl)" -eq 500 ]
}

@test "bad input is one error line and exit 2" {
    usage_error history frobnicate
    usage_error history export --format xml
    usage_error history forget
    usage_error history forget a b
    usage_error history list extra
    usage_error history --no-history
    usage_error history --history h.db --no-history
    usage_error history export --json
    usage_error history forget x --runs 3
    usage_error history --runs abc
    usage_error history --frobnicate
    usage_error history --history
    usage_error history --history ''
    usage_error history list --format csv
    env -u XDG_STATE_HOME -u HOME "$RAPT" history 2> err.txt && false
    [[ "$(cat err.txt)" == "rapt: error: history: no history file:"* ]]
    [ ! -e h.db ]
}

@test "rapt history --help goes to stdout with exit 0" {
    run --separate-stderr "$RAPT" history --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: rapt history"* ]]
    [ -z "$stderr" ]
    run "$RAPT" --help
    [[ "$output" == *"history"* ]]
}
