/* test_template.c: replacement strings, quoting and the direct/shell decision.
 *
 * Expected strings come from GNU parallel 20221122 run on the same values (see the comments);
 * the e2e compatibility suite (tests/e2e/compat.bats) checks the same through both tools.
 */
#include <string.h>

#include "harness.h"
#include "lib/template.h"

static rapt__buf out;

static const char *op(rapt__rpl_op o, const char *v)
{
    rapt__buf_clear(&out);
    ck_assert_int_eq(rapt__rpl_apply(o, v, strlen(v), &out), 0);
    return out.p ? out.p : "";
}

static const char *quote(const char *v)
{
    rapt__buf_clear(&out);
    ck_assert_int_eq(rapt__shell_quote(&out, v, strlen(v)), 0);
    return out.p;
}

/* Expands `cmd` for the given arguments as a quoted line. */
static const char *line(const char *cmd, const char **args, size_t n, uint64_t seq)
{
    rapt__val vals[8];
    for (size_t i = 0; i < n; i++)
        vals[i] = (rapt__val){args[i], strlen(args[i])};
    rapt__tmpl *t;
    ck_assert_int_eq(rapt__tmpl_compile(&t, cmd), 0);
    rapt__jobctx c = {.seq = seq, .slot = 2, .args = vals, .nargs = n};
    rapt__buf_clear(&out);
    ck_assert_int_eq(rapt__tmpl_line(t, &c, &out), 0);
    rapt__tmpl_destroy(t);
    return out.p ? out.p : "";
}

START_TEST(ops_match_gnu_parallel)
{
    /* parallel echo '[{.}][{//}][{/}][{/.}]' ::: ... */
    static const struct {
        const char *in, *noext, *dir, *base, *basenoext;
    } cases[] = {
        {"/a/b.c/d.e.txt", "/a/b.c/d.e", "/a/b.c", "d.e.txt", "d.e"},
        {"x.tar.gz", "x.tar", ".", "x.tar.gz", "x.tar"},
        {"noext", "noext", ".", "noext", "noext"},
        {"./rel/f.c", "./rel/f", "./rel", "f.c", "f"},
        {"/", "/", "/", "", ""},
        {".bashrc", "", ".", ".bashrc", ""},
        {"file.", "file", ".", "file.", "file"},
        {"a/", "a/", ".", "", ""},
        {"/a/", "/a/", "/", "", ""},
        {"", "", ".", "", ""},
        {"a//b", "a//b", "a", "b", "b"},
        {"x.y/z", "x.y/z", "x.y", "z", "z"},
        {".", "", ".", ".", ""},
        {"..", ".", ".", "..", "."},
        {"a/.b", "a/", "a", ".b", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_str_eq(op(RAPT__OP_NOEXT, cases[i].in), cases[i].noext);
        ck_assert_str_eq(op(RAPT__OP_DIR, cases[i].in), cases[i].dir);
        ck_assert_str_eq(op(RAPT__OP_BASE, cases[i].in), cases[i].base);
        ck_assert_str_eq(op(RAPT__OP_BASENOEXT, cases[i].in), cases[i].basenoext);
        ck_assert_str_eq(op(RAPT__OP_NONE, cases[i].in), cases[i].in);
    }
}
END_TEST

START_TEST(ops_follow_perl_on_newlines)
{
    /* Perl's `.` stops at a newline: s:.*\/:: works on the first line holding a '/'. */
    ck_assert_str_eq(op(RAPT__OP_BASE, "a\nb/c"), "a\nc");
    ck_assert_str_eq(op(RAPT__OP_BASE, "x/y\nz/w"), "y\nz/w");
    ck_assert_str_eq(op(RAPT__OP_NOEXT, "f.txt\n"), "f");
    ck_assert_str_eq(op(RAPT__OP_NOEXT, "a.b\n/"), "a.b\n/");
    /* dirname's match is /s: newlines are ordinary characters there. */
    ck_assert_str_eq(op(RAPT__OP_DIR, "a\n/b"), "a\n");
}
END_TEST

START_TEST(quoting_matches_gnu_parallel)
{
    ck_assert_str_eq(quote("plain-_.+/Az09"), "plain-_.+/Az09");
    ck_assert_str_eq(quote(""), "''");
    ck_assert_str_eq(quote("a b"), "'a b'");
    ck_assert_str_eq(quote("it's"), "'it'\"'\"'s'");
    ck_assert_str_eq(quote("'x"), "\"'\"'x'");
    ck_assert_str_eq(quote("x'"), "'x'\"'\"");
    ck_assert_str_eq(quote("'"), "\"'\"");
    ck_assert_str_eq(quote("$(x)"), "'$(x)'");
    ck_assert_str_eq(quote("a\nb"), "'a\nb'");
    ck_assert_str_eq(quote("caf\xc3\xa9"), "'caf\xc3\xa9'");
}
END_TEST

START_TEST(lines_expand_like_gnu_parallel)
{
    const char *ab[] = {"a b", "c"};
    /* parallel --dry-run echo ::: 'a b' ::: c  ->  echo 'a b' c */
    ck_assert_str_eq(line("echo", ab, 2, 1), "echo 'a b' c");
    ck_assert_str_eq(line("echo [{}]", ab, 2, 1), "echo ['a b' c]");
    ck_assert_str_eq(line("echo {2} {1}", ab, 2, 1), "echo c 'a b'");
    ck_assert_str_eq(line("echo x{3}y", ab, 2, 1), "echo x''y");
    ck_assert_str_eq(line("echo {-1}", ab, 2, 1), "echo c");
    ck_assert_str_eq(line("echo {#} {%}", ab, 2, 7), "echo 7 2");
    /* Not replacement strings: literal, and the arguments are appended. */
    ck_assert_str_eq(line("echo {foo} {1x} { }", ab, 2, 1), "echo {foo} {1x} { } 'a b' c");
    ck_assert_str_eq(line("echo {}}", ab, 1, 1), "echo 'a b'}");
    ck_assert_str_eq(line("echo {0}", ab, 1, 1), "echo {0} 'a b'");
    /* No command: the arguments are the command line, unquoted. */
    const char *cmd[] = {"echo A", "| wc"};
    ck_assert_str_eq(line("", cmd, 2, 1), "echo A | wc");
    ck_assert_str_eq(line("   ", cmd, 1, 1), "echo A");
}
END_TEST

static void check_argv(const char *cmd, const char **args, size_t n, const char **want)
{
    rapt__val vals[8];
    for (size_t i = 0; i < n; i++)
        vals[i] = (rapt__val){args[i], strlen(args[i])};
    rapt__tmpl *t;
    ck_assert_int_eq(rapt__tmpl_compile(&t, cmd), 0);
    ck_assert_msg(rapt__tmpl_direct(t), "'%s' should run without a shell", cmd);
    rapt__jobctx c = {.seq = 3, .slot = 1, .args = vals, .nargs = n};
    rapt__buf s = RAPT__BUF_INIT, p = RAPT__BUF_INIT;
    char **argv;
    ck_assert_int_eq(rapt__tmpl_argv(t, &c, &s, &p, &argv), 0);
    size_t i = 0;
    for (; want[i]; i++) {
        ck_assert_msg(argv[i] != NULL, "argv too short at %zu for '%s'", i, cmd);
        ck_assert_str_eq(argv[i], want[i]);
    }
    ck_assert_ptr_null(argv[i]);
    rapt__buf_free(&s);
    rapt__buf_free(&p);
    rapt__tmpl_destroy(t);
}

START_TEST(argv_splits_as_a_shell_would)
{
    const char *ab[] = {"a b", "c"};
    check_argv("echo", ab, 2, (const char *[]){"echo", "a b", "c", NULL});
    check_argv("echo x{}y", ab, 2, (const char *[]){"echo", "xa b", "cy", NULL});
    check_argv("echo   x{3}y {2}", ab, 2, (const char *[]){"echo", "xy", "c", NULL});
    check_argv("echo {3}", ab, 2, (const char *[]){"echo", "", NULL});
    check_argv("prog -o={1.}.out --seq={#}", ab, 1,
               (const char *[]){"prog", "-o=a b.out", "--seq=3", NULL});
    const char *hostile[] = {"$(rm -rf x); `id` | ; \"'\n-x"};
    check_argv("printf %s {}", hostile, 1, (const char *[]){"printf", "%s", hostile[0], NULL});
    /* A NUL inside a value ends that argument, as execve would. */
    rapt__val v = {"ab\0cd", 5};
    rapt__tmpl *t;
    ck_assert_int_eq(rapt__tmpl_compile(&t, "x {}"), 0);
    rapt__jobctx c = {.seq = 1, .slot = 1, .args = &v, .nargs = 1};
    rapt__buf s = RAPT__BUF_INIT, p = RAPT__BUF_INIT;
    char **argv;
    ck_assert_int_eq(rapt__tmpl_argv(t, &c, &s, &p, &argv), 0);
    ck_assert_str_eq(argv[1], "ab");
    ck_assert_ptr_null(argv[2]);
    rapt__buf_free(&s);
    rapt__buf_free(&p);
    rapt__tmpl_destroy(t);
}
END_TEST

static bool direct(const char *cmd)
{
    rapt__tmpl *t;
    ck_assert_int_eq(rapt__tmpl_compile(&t, cmd), 0);
    bool d = rapt__tmpl_direct(t);
    rapt__tmpl_destroy(t);
    return d;
}

START_TEST(shell_syntax_is_detected)
{
    ck_assert(direct("gzip -9 {}"));
    ck_assert(direct("/bin/true"));
    ck_assert(direct("convert {} -resize 50% {.}.png"));
    ck_assert(direct("{} --version"));
    ck_assert(direct("echo a=b"));
    ck_assert(!direct("echo {} | wc -c"));
    ck_assert(!direct("echo {} > out"));
    ck_assert(!direct("a && b"));
    ck_assert(!direct("echo $HOME"));
    ck_assert(!direct("echo \"{}\""));
    ck_assert(!direct("echo '{}'"));
    ck_assert(!direct("ls *.c"));
    ck_assert(!direct("echo ~"));
    ck_assert(!direct("echo a;b"));
    ck_assert(!direct("exit {}"));
    ck_assert(!direct("cd {}"));
    ck_assert(!direct("FOO=1 env"));
    ck_assert(!direct("if"));
    ck_assert(!direct(""));
}
END_TEST

START_TEST(program_is_found_once_when_literal)
{
    rapt__tmpl *t;
    ck_assert_int_eq(rapt__tmpl_compile(&t, "  gzip -9 {}"), 0);
    ck_assert_str_eq(rapt__tmpl_program(t), "gzip");
    rapt__tmpl_destroy(t);
    ck_assert_int_eq(rapt__tmpl_compile(&t, "x{}y z"), 0);
    ck_assert_ptr_null(rapt__tmpl_program(t));
    rapt__tmpl_destroy(t);
    ck_assert_int_eq(rapt__tmpl_compile(&t, "echo {} | wc"), 0);
    ck_assert_ptr_null(rapt__tmpl_program(t));
    rapt__tmpl_destroy(t);
}
END_TEST

START_TEST(plain_expansion_does_not_quote_or_append)
{
    rapt__val v[2] = {{"a b", 3}, {"c", 1}};
    rapt__tmpl *t;
    ck_assert_int_eq(rapt__tmpl_compile(&t, "{2}-{1}"), 0);
    rapt__jobctx c = {.seq = 1, .slot = 1, .args = v, .nargs = 2};
    rapt__buf_clear(&out);
    ck_assert_int_eq(rapt__tmpl_plain(t, &c, &out), 0);
    ck_assert_str_eq(out.p, "c-a b");
    rapt__tmpl_destroy(t);
    ck_assert_int_eq(rapt__tmpl_compile(&t, "tag"), 0);
    rapt__buf_clear(&out);
    ck_assert_int_eq(rapt__tmpl_plain(t, &c, &out), 0);
    ck_assert_str_eq(out.p, "tag");
    rapt__tmpl_destroy(t);
}
END_TEST

static Suite *template_suite(void)
{
    Suite *s = suite_create("template");
    RAPT_TCASE(s, ops_match_gnu_parallel, 10);
    RAPT_TCASE(s, ops_follow_perl_on_newlines, 10);
    RAPT_TCASE(s, quoting_matches_gnu_parallel, 10);
    RAPT_TCASE(s, lines_expand_like_gnu_parallel, 10);
    RAPT_TCASE(s, argv_splits_as_a_shell_would, 10);
    RAPT_TCASE(s, shell_syntax_is_detected, 10);
    RAPT_TCASE(s, program_is_found_once_when_literal, 10);
    RAPT_TCASE(s, plain_expansion_does_not_quote_or_append, 10);
    return s;
}

RAPT_TEST_MAIN(template_suite)
