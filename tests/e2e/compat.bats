#!/usr/bin/env bats
# rapt run against GNU parallel: the same arguments must give the same bytes on stdout (and the
# same exit status). Run when GNU parallel is installed (/usr/bin/parallel), skipped otherwise.
#
# Both tools run with /bin/sh for commands that need a shell (PARALLEL_SHELL for GNU parallel,
# rapt's default), each in its own copy of the test directory so side effects cannot mix.
# Cases that rapt answers differently on purpose are in docs/run.md, not here.

load helpers

setup_file() {
    export HOME="$BATS_FILE_TMPDIR"
}

# compat [--stdin FILE] [--merge] ARGS...: runs `parallel ARGS` and `rapt run ARGS`; fails
# with a diff when stdout (plus "rc=N") differs. --merge compares stdout and stderr together.
compat() {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    local stdin=/dev/null merge=0
    while :; do
        case "$1" in
        --stdin) stdin=$2; shift 2 ;;
        --merge) merge=1; shift ;;
        *) break ;;
        esac
    done
    local d
    for d in gnu rapt; do
        mkdir -p "$d" && find . -maxdepth 1 -type f -exec cp {} "$d"/ \;
    done
    (
        cd gnu || exit 1
        rc=0
        if [ "$merge" = 1 ]; then
            PARALLEL_SHELL=/bin/sh parallel --will-cite "$@" < "$stdin" > out 2>&1 || rc=$?
        else
            PARALLEL_SHELL=/bin/sh parallel --will-cite "$@" < "$stdin" > out 2> err || rc=$?
        fi
        echo "rc=$rc" >> out
    )
    (
        cd rapt || exit 1
        rc=0
        if [ "$merge" = 1 ]; then
            "$RAPT" run "$@" < "$stdin" > out 2>&1 || rc=$?
        else
            "$RAPT" run "$@" < "$stdin" > out 2> err || rc=$?
        fi
        echo "rc=$rc" >> out
    )
    if ! cmp -s gnu/out rapt/out; then
        echo "GNU parallel and rapt differ for: $*" >&2
        diff <(od -c gnu/out) <(od -c rapt/out) >&2 || true
        return 1
    fi
}

# ---- replacement strings -----------------------------------------------------------------

@test "compat: plain values" {
    compat -k echo ::: a b c
}
@test "compat: one job at a time keeps input order without -k" {
    compat -j1 echo ::: c b a
}
@test "compat: {} with spaces" {
    compat -k echo {} ::: 'a b' c
}
@test "compat: {.}" {
    compat -k echo {.} ::: a.txt b.tar.gz c .bashrc file. / ..
}
@test "compat: {/}" {
    compat -k echo {/} ::: /x/y/z.c z a/ / ''
}
@test "compat: {//}" {
    compat -k echo {//} ::: /x/y/z.c z a/ / a//b ''
}
@test "compat: {/.}" {
    compat -k echo {/.} ::: /x/y/z.c a.b/c.d .hidden
}
@test "compat: {#}" {
    compat -k echo {#} ::: a b c
}
@test "compat: {%} with one slot" {
    compat -j1 -k echo {%} ::: a b c
}
@test "compat: {1} {2}" {
    compat -k echo {1} {2} ::: a b ::: c d
}
@test "compat: {2} {1}" {
    compat -k echo {2} {1} ::: a b ::: c d
}
@test "compat: {n.} {n/} {n//} {n/.}" {
    compat -k echo {1.} {2/} {2//} {2/.} ::: x.y ::: /p/q.r
}
@test "compat: {n} beyond the arguments is empty" {
    compat -k echo x{3}y ::: a ::: b
}
@test "compat: {-1} {-2}" {
    compat -k echo {-1} {-2} ::: a ::: b
}
@test "compat: text around {}" {
    compat -k echo pre{}post ::: 'a b' c
}
@test "compat: {} of several sources" {
    compat -k echo [{}] ::: 'a b' ::: c
}
@test "compat: unknown braces stay literal and arguments are appended" {
    compat -k echo '{foo}' '{ }' ::: a
}
@test "compat: an empty argument" {
    compat -k echo x{}x ::: '' a
}
@test "compat: a value with a newline" {
    compat -k echo {} ::: "$(printf 'l1\nl2')"
}
@test "compat: the user's own quotes around {}" {
    compat -k 'echo "{}"' ::: 'a b' "it's"
}

# ---- input sources -------------------------------------------------------------------------

@test "compat: three sources, last fastest" {
    compat -k echo ::: a b ::: 1 2 ::: x y
}
@test "compat: :::: file" {
    printf 'f1\nf2\n' > in1
    compat -k echo :::: in1
}
@test "compat: :::: two files" {
    printf 'f1\nf2\n' > in1
    printf 'g1\ng2\n' > in2
    compat -k echo :::: in1 in2
}
@test "compat: -a -a" {
    printf 'f1\nf2\n' > in1
    printf 'g1\ng2\n' > in2
    compat -k -a in1 -a in2 echo
}
@test "compat: ::: then ::::" {
    printf 'f1\nf2\n' > in1
    compat -k echo ::: a b :::: in1
}
@test "compat: stdin lines" {
    printf 'a\nb c\n' > in
    compat --stdin in -k echo
}
@test "compat: stdin without a final newline" {
    printf 'a\nb' > in
    compat --stdin in -k echo [{}]
}
@test "compat: empty lines are jobs" {
    printf 'a\n\nb\n' > in
    compat --stdin in -k echo x{}y
}
@test "compat: -r skips blank lines" {
    printf 'a  b\n\n  \nc\n' > in
    compat --stdin in -k -r echo [{}]
}
@test "compat: -0" {
    printf 'a b\0c\nd\0' > in
    compat --stdin in -k -0 echo [{}]
}
@test "compat: -d :" {
    printf 'a:b:c' > in
    compat --stdin in -k -d : echo [{}]
}
@test "compat: -d with an escape" {
    printf 'a\tb\tc\n' > in
    compat --stdin in -k -d '\t' echo [{}]
}
@test "compat: --colsep ," {
    printf 'a,b,c\nd,,f\n' > in
    compat --stdin in -k --colsep , echo {2}-{1}-{3}
}
@test "compat: --colsep with a tab" {
    printf 'a\tb\n' > in
    compat --stdin in -k --colsep '\t' echo {2}{1}
}
@test "compat: --colsep regex" {
    printf 'a  b\tc\n' > in
    compat --stdin in -k --colsep '\s+' echo {3}{2}{1}
}
@test "compat: --colsep splits ::: values too" {
    compat -k --colsep , echo {1}+{2}+{3} ::: a,b c ::: d,e
}
@test "compat: --colsep with the columns appended" {
    printf 'a,b\n' > in
    compat --stdin in -k --colsep , echo
}

# ---- output --------------------------------------------------------------------------------

@test "compat: --tag" {
    compat -k --tag echo ::: a b
}
@test "compat: --tag with two sources" {
    compat -k --tag echo ::: a b ::: 1 2
}
@test "compat: --tagstring" {
    compat -k --tagstring '{2}<{1}>' echo ::: a b ::: 1 2
}
@test "compat: a job's stdout then its stderr" {
    compat --merge -j1 'echo out{}; echo err{} >&2; echo out2{}' ::: 1 2
}
@test "compat: --line-buffer -k" {
    compat -k --lb 'echo a{}; sleep 0.{}; echo b{}' ::: 3 1
}
@test "compat: --verbose" {
    compat -k -v echo ::: a 'b c'
}
@test "compat: --dry-run quotes like GNU parallel" {
    compat -k --dry-run echo {} ::: 'a b' "it's" '$(x)' '' 'a/b.c' "'" 'x\y'
}
@test "compat: --dry-run of a shell command" {
    compat -k --dry-run 'echo {} | wc -c' ::: 'x y'
}

# ---- commands ------------------------------------------------------------------------------

@test "compat: a shell pipeline" {
    compat -k 'echo {} | tr a-z A-Z' ::: ab cd
}
@test "compat: hostile values under a shell" {
    compat -k 'printf "%s\n" {}' ::: 'a b' '$(id)' '`id`' ';' '|' "it's" '*' '-n'
}
@test "compat: no command: the arguments are commands" {
    compat -k ::: 'echo A' 'echo B | tr B b'
}
@test "compat: GNU parallel's environment variables" {
    compat -j1 -k 'echo $PARALLEL_SEQ:$PARALLEL_JOBSLOT:{}' ::: a b
}

# ---- exit status, retries, halting ---------------------------------------------------------

@test "compat: exit status is the number of failed jobs" {
    compat 'exit {}' ::: 0 1 2 0
}
@test "compat: more than 100 failures exit 101" {
    compat -j4 false ::: $(seq 150)
}
@test "compat: --halt now,fail=1 exits with the failing job's status" {
    compat -j1 --halt now,fail=1 'exit {}' ::: 0 3 0 0
}
@test "compat: --halt soon,fail=2" {
    compat -j1 --halt soon,fail=2 'exit {}' ::: 1 0 4 5 6
}
@test "compat: --halt now,success=1" {
    compat -j1 --halt now,success=1 'exit {}' ::: 5 0 1
}
@test "compat: --halt now,fail=50%" {
    compat -j1 --halt now,fail=50% 'exit {}' ::: 0 1 1 0 0 0
}
@test "compat: --halt done=2" {
    compat -j1 --halt now,done=2 'exit {}' ::: 5 0 1
}
@test "compat: --retries prints the last attempt only" {
    compat --retries 3 'echo try$(wc -l < n 2>/dev/null); echo x >> n; exit 1' ::: 1
}

# ---- joblog --------------------------------------------------------------------------------

@test "compat: the joblog's records, times aside" {
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    compat -j1 --joblog log 'exit {}; echo' ::: 0 3
    compat -j1 --joblog log2 'kill -9 $$' ::: 1
    compat -j1 --joblog log3 echo ::: 'a b' "it's"
    for f in log log2 log3; do
        diff <(cut -f1,2,5-9 gnu/$f) <(cut -f1,2,5-9 rapt/$f)
    done
}
