#!/usr/bin/env bats
# The command-line contract shared by every subcommand: help, version, unknown commands and
# options, exit codes, and write errors on stdout.

load helpers

@test "rapt --help lists the commands on stdout and exits 0" {
    run --separate-stderr "$RAPT" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: rapt <command>"* ]]
    [[ "$output" == *"info"* ]]
    [[ "$output" == *"plan"* ]]
    [ -z "$stderr" ]
}

@test "rapt --version prints the version" {
    run "$RAPT" --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^rapt\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "rapt with no command prints usage on stderr and exits 2" {
    run --separate-stderr "$RAPT"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"usage: rapt"* ]]
}

@test "an unknown command is one error line and exit 2" {
    usage_error frobnicate
    [[ "$stderr" == *"unknown command 'frobnicate'"* ]]
}

@test "an unknown global option is one error line and exit 2" {
    usage_error --frobnicate
}

@test "each command's --help goes to stdout with exit 0" {
    for cmd in info plan; do
        run --separate-stderr "$RAPT" "$cmd" --help
        [ "$status" -eq 0 ]
        [[ "$output" == "usage: rapt $cmd"* ]]
        [ -z "$stderr" ]
    done
}

@test "a write error on stdout is reported with exit 3, not ignored" {
    [ -w /dev/full ] || skip "no /dev/full"
    run --separate-stderr sh -c '"$RAPT" info > /dev/full'
    [ "$status" -eq 3 ]
    [[ "$stderr" == "rapt: error: writing to standard output"* ]]
}

@test "error lines stay one line when they quote a name with a newline" {
    usage_error plan --gamma 3 "$(printf 'bad\nname')"
    [[ "$stderr" == *'bad\nname'* ]]
}

@test "the man page renders without groff warnings" {
    command -v groff >/dev/null || skip "groff is not installed"
    run groff -man -Tutf8 -ww -z "$RAPT_SOURCE_DIR/man/rapt.1"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}
