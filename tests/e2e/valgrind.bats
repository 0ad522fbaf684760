#!/usr/bin/env bats
# The CLI under valgrind's memcheck: every command on its main paths, and the run loop with
# the features that allocate (joblog, events, history, report, -k parking, retries, timeouts,
# memory hints). Any invalid access, use of an uninitialised value or definite leak in rapt
# fails the case (exit 99); the jobs themselves are not traced. The unit tests run under
# memcheck as valgrind.<module> (tests/CMakeLists.txt).

load helpers

# vg ARGS...: rapt ARGS... under memcheck; its status is rapt's, or 99 for a memcheck error.
vg() {
    "$VALGRIND" -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --trace-children=no "$RAPT" "$@"
}

@test "info, plan and history are memcheck-clean" {
    : "${VALGRIND:?VALGRIND must point at valgrind (run through ctest)}"
    run vg info
    [ "$status" -eq 0 ]
    run vg info --json
    [ "$status" -eq 0 ]
    jq -e .cpu <<< "$output" > /dev/null
    run vg plan --mem-per-job 100M --cpus-per-job 1 --max 4
    [ "$status" -eq 0 ]
    head -c 3000 /dev/zero > a
    head -c 9000 /dev/zero > b
    run vg plan --gamma 2 --overhead 10M a b
    [ "$status" -eq 0 ]
    run vg history --json
    [ "$status" -eq 0 ]
    # Bad input: one error line, exit 2, no leak on the way out.
    run vg plan --mem-per-job nonsense
    [ "$status" -eq 2 ]
}

@test "a run with joblog, events, history, report, -k, retries and timeouts is memcheck-clean" {
    run --separate-stderr vg run -j2 -k --retries 2 --timeout 3 --mem-per-job 20M --joblog log --events ev.jsonl \
        --history h.db --report r.html --summary s.json \
        'printf "%s\n" {}; case {} in 3) exit 1 ;; 5) sleep 30 ;; esac' ::: 1 2 3 4 5 6
    [ "$status" -eq 2 ] # job 3 fails on every try, job 5 times out
    [ "$(printf '%s\n' "$output" | head -2)" = "$(printf '1\n2')" ]
    [ "$(sed 1d log | wc -l)" -eq 6 ]
    [ -s r.html ]
    json_eq .jobs.total 6 s.json
    # What the run recorded, read back by the other commands.
    run vg report ev.jsonl
    [ "$status" -eq 0 ]
    run vg report -o r2.html --summary s2.json ev.jsonl
    [ "$status" -eq 0 ]
    [ -s r2.html ]
    json_eq .jobs.total 6 s2.json
    run vg history --history h.db
    [ "$status" -eq 0 ]
    # Resume: only the failed jobs run again.
    run --separate-stderr vg run --resume-failed -j2 --timeout 3 --joblog log \
        'printf "%s\n" {}; case {} in 3) exit 1 ;; 5) sleep 30 ;; esac' ::: 1 2 3 4 5 6
    [ "$status" -eq 2 ] # 3 and 5 fail again
    [ "$output" = "$(printf '3\n5')" ] || [ "$output" = "$(printf '5\n3')" ]
}

@test "the monitor is memcheck-clean" {
    run --separate-stderr vg monitor -n 3 -i 100ms --json
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$output" | grep -c '"seq":')" -eq 3 ]
}
