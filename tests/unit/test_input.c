/* test_input.c: input sources, delimiters, --colsep, combinations and streaming.
 *
 * Uses real files (in a temporary directory) and real pipes; expected combinations and
 * columns are the ones GNU parallel prints for the same input.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lib/input.h"

static char dir[1024];

static void setup(void)
{
    /* Reset the template each time: with CK_FORK=no every test runs in this process. */
    tmp_path(dir, sizeof(dir), "rapt-test-input.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *file_with(const char *name, const char *content, size_t len)
{
    static char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Drains the input into "v1|v2,w1|w2," (values joined by '|', records by ','). */
static char *drain(rapt__input *in)
{
    static rapt__buf b;
    rapt__buf_clear(&b);
    rapt__record rec;
    int r;
    while ((r = rapt__input_next(in, &rec, NULL)) == 1) {
        for (size_t i = 0; i < rec.n; i++) {
            if (i)
                rapt__buf_addc(&b, '|');
            rapt__buf_add(&b, rec.vals[i].p, rec.vals[i].len);
        }
        rapt__buf_addc(&b, ',');
    }
    ck_assert_int_eq(r, 0);
    return b.p ? b.p : "";
}

static rapt__input *make(const char *delim, size_t dlen, const char *colsep, bool skip)
{
    rapt__input_opts o = {.delim = delim, .delim_len = dlen, .colsep = colsep, .skip_empty = skip};
    rapt__input *in;
    char err[128];
    ck_assert_int_eq(rapt__input_create(&in, &o, err, sizeof(err)), 0);
    return in;
}

START_TEST(values_combine_last_fastest)
{
    /* parallel echo ::: a b ::: 1 2  ->  a 1, a 2, b 1, b 2 */
    char *v1[] = {"a", "b"}, *v2[] = {"1", "2"};
    rapt__input *in = make(NULL, 0, NULL, false);
    rapt__input_add_values(in, v1, 2);
    rapt__input_add_values(in, v2, 2);
    ck_assert_int_eq(rapt__input_start(in), 0);
    ck_assert_str_eq(drain(in), "a|1,a|2,b|1,b|2,");
    rapt__input_destroy(in);
}
END_TEST

START_TEST(files_values_and_rewinds)
{
    const char *f1 = strdup(file_with("in1", "f1\nf2\n", 6));
    const char *f2 = strdup(file_with("in2", "g1\ng2", 5)); /* no final newline */
    char *v[] = {"x", "y"};
    rapt__input *in = make(NULL, 0, NULL, false);
    ck_assert_int_eq(rapt__input_add_values(in, v, 2), 0);
    ck_assert_int_eq(rapt__input_add_file(in, f1), 0);
    ck_assert_int_eq(rapt__input_add_file(in, f2), 0);
    ck_assert_int_eq(rapt__input_start(in), 0);
    ck_assert_str_eq(drain(in), "x|f1|g1,x|f1|g2,x|f2|g1,x|f2|g2,y|f1|g1,y|f1|g2,y|f2|g1,y|f2|g2,");
    rapt__input_destroy(in);
    free((void *)f1);
    free((void *)f2);
}
END_TEST

START_TEST(missing_and_directory_files_fail_early)
{
    rapt__input *in = make(NULL, 0, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, "/nonexistent/rapt"), -ENOENT);
    ck_assert_int_eq(rapt__input_add_file(in, dir), -EISDIR);
    ck_assert_uint_eq(rapt__input_nsources(in), 0);
    rapt__input_destroy(in);
}
END_TEST

START_TEST(delimiters)
{
    rapt__input *in = make("\0", 1, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("z", "a b\0c\nd\0", 8)), 0);
    ck_assert_str_eq(drain(in), "a b,c\nd,");
    rapt__input_destroy(in);

    in = make("::", 2, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("d", "a::b::c\n", 8)), 0);
    ck_assert_str_eq(drain(in), "a,b,c\n,");
    rapt__input_destroy(in);

    /* Empty lines are records (GNU parallel runs the job with ''); -r skips blank ones. */
    in = make(NULL, 0, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("e", "a  b\n\n  \nc\n", 11)), 0);
    ck_assert_str_eq(drain(in), "a  b,,  ,c,");
    rapt__input_destroy(in);
    in = make(NULL, 0, NULL, true);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("e", "a  b\n\n  \nc\n", 11)), 0);
    ck_assert_str_eq(drain(in), "a  b,c,");
    rapt__input_destroy(in);
}
END_TEST

START_TEST(colsep_splits_like_perl)
{
    /* printf 'a,b,,\n,x\n' | parallel --colsep , ...  ->  [a][b][][] and [][x] */
    rapt__input *in = make(NULL, 0, ",", false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("c", "a,b,,\n,x\n", 9)), 0);
    ck_assert_str_eq(drain(in), "a|b||,|x,");
    rapt__input_destroy(in);

    in = make(NULL, 0, "\\t", false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("t", "a\tb\n", 4)), 0);
    ck_assert_str_eq(drain(in), "a|b,");
    rapt__input_destroy(in);

    in = make(NULL, 0, "\\s+", false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("s", "a  b\tc\n", 7)), 0);
    ck_assert_str_eq(drain(in), "a|b|c,");
    rapt__input_destroy(in);

    /* An empty match is not a separator at either end: parallel --colsep ' *' gives a, b. */
    in = make(NULL, 0, " *", false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("e", "a b\n", 4)), 0);
    ck_assert_str_eq(drain(in), "a|b,");
    rapt__input_destroy(in);

    /* Columns of every source are numbered across: ::: a,b c ::: d,e */
    char *v1[] = {"a,b", "c"}, *v2[] = {"d,e"};
    in = make(NULL, 0, ",", false);
    rapt__input_add_values(in, v1, 2);
    rapt__input_add_values(in, v2, 1);
    ck_assert_str_eq(drain(in), "a|b|d|e,c|d|e,");
    rapt__input_destroy(in);
}
END_TEST

START_TEST(colsep_translation)
{
    rapt__buf b = RAPT__BUF_INIT;
    ck_assert_int_eq(rapt__colsep_translate("\\t", &b), 0);
    ck_assert_str_eq(b.p, "\t");
    ck_assert_int_eq(rapt__colsep_translate("\\s+", &b), 0);
    ck_assert_str_eq(b.p, "[[:space:]]+");
    ck_assert_int_eq(rapt__colsep_translate("[\\s,]", &b), 0);
    ck_assert_str_eq(b.p, "[[:space:],]");
    ck_assert_int_eq(rapt__colsep_translate("\\|", &b), 0);
    ck_assert_str_eq(b.p, "\\|");
    ck_assert_int_eq(rapt__colsep_translate("\\x2e", &b), 0);
    ck_assert_str_eq(b.p, "[.]");
    ck_assert_int_eq(rapt__colsep_translate("\\D\\W", &b), 0);
    ck_assert_str_eq(b.p, "[^0-9][^[:alnum:]_]");
    ck_assert_int_eq(rapt__colsep_translate("\\x00", &b), -EINVAL);
    rapt__buf_free(&b);

    rapt__input_opts o = {.colsep = "("};
    rapt__input *in;
    char err[128] = "";
    ck_assert_int_eq(rapt__input_create(&in, &o, err, sizeof(err)), -EINVAL);
    ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(pipes_never_block_the_caller)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
    rapt__input *in = make(NULL, 0, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, "-"), 0);
    ck_assert_int_eq(rapt__input_start(in), 0);
    ck_assert_int_eq(rapt__input_pollfd(in), STDIN_FILENO);
    rapt__record rec;
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), RAPT__INPUT_AGAIN);
    /* Half a record is not a record yet. */
    ck_assert_int_eq(write(p[1], "ab", 2), 2);
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), RAPT__INPUT_AGAIN);
    ck_assert_int_eq(write(p[1], "c\nd", 3), 3);
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), 1);
    ck_assert_uint_eq(rec.n, 1);
    ck_assert_int_eq((int)rec.vals[0].len, 3);
    ck_assert_int_eq(memcmp(rec.vals[0].p, "abc", 3), 0);
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), RAPT__INPUT_AGAIN);
    close(p[1]);
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), 1);
    ck_assert_int_eq(memcmp(rec.vals[0].p, "d", 1), 0);
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), 0);
    rapt__input_destroy(in);
}
END_TEST

START_TEST(inner_pipe_is_replayed)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
    ck_assert_int_eq(write(p[1], "1\n2\n", 4), 4);
    close(p[1]);
    char *v[] = {"a", "b"};
    rapt__input *in = make(NULL, 0, NULL, false);
    rapt__input_add_values(in, v, 2);
    ck_assert_int_eq(rapt__input_add_file(in, "-"), 0);
    ck_assert_int_eq(rapt__input_start(in), 0);
    uint64_t total;
    ck_assert_int_eq(rapt__input_count(in, &total), 0);
    ck_assert_uint_eq(total, 4);
    ck_assert_str_eq(drain(in), "a|1,a|2,b|1,b|2,");
    rapt__input_destroy(in);
}
END_TEST

START_TEST(count_spools_an_outer_pipe)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
    ck_assert_int_eq(write(p[1], "x\ny\nz\n", 6), 6);
    close(p[1]);
    char *v[] = {"1", "2"};
    rapt__input *in = make(NULL, 0, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, "-"), 0);
    rapt__input_add_values(in, v, 2);
    ck_assert_int_eq(rapt__input_start(in), 0);
    uint64_t total;
    ck_assert_int_eq(rapt__input_count(in, &total), 0);
    ck_assert_uint_eq(total, 6);
    ck_assert_int_eq(rapt__input_pollfd(in), -1); /* now a file */
    ck_assert_str_eq(drain(in), "x|1,x|2,y|1,y|2,z|1,z|2,");
    rapt__input_destroy(in);
}
END_TEST

START_TEST(empty_inner_source_means_no_jobs)
{
    char *v[] = {"a"};
    rapt__input *in = make(NULL, 0, NULL, false);
    rapt__input_add_values(in, v, 1);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("empty", "", 0)), 0);
    ck_assert_int_eq(rapt__input_start(in), 0);
    ck_assert_str_eq(drain(in), "");
    rapt__input_destroy(in);
}
END_TEST

START_TEST(a_million_lines_stream_in_bounded_memory)
{
    /* A writer process feeds 1,000,000 lines through a pipe; the input must never hold more
     * than about one read chunk plus one record. */
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t w = fork();
    ck_assert_int_ge(w, 0);
    if (w == 0) {
        close(p[0]);
        char line[32];
        FILE *f = fdopen(p[1], "w");
        for (int i = 0; i < 1000000; i++) {
            int n = snprintf(line, sizeof(line), "line-%07d\n", i);
            fwrite(line, 1, (size_t)n, f);
        }
        fclose(f);
        _exit(0);
    }
    close(p[1]);
    ck_assert_int_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
    rapt__input *in = make(NULL, 0, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, "-"), 0);
    ck_assert_int_eq(rapt__input_start(in), 0);
    size_t records = 0, peak = 0;
    rapt__record rec;
    int r;
    while ((r = rapt__input_next(in, &rec, NULL)) != 0) {
        ck_assert_int_ge(r, 0);
        if (r == 1) {
            records++;
            ck_assert_uint_eq(rec.vals[0].len, 12);
        }
        size_t m = rapt__input_memory(in);
        if (m > peak)
            peak = m;
    }
    ck_assert_uint_eq(records, 1000000);
    ck_assert_uint_lt(peak, 256 * 1024);
    int st;
    waitpid(w, &st, 0);
    rapt__input_destroy(in);
}
END_TEST

START_TEST(large_records_cross_read_chunks)
{
    size_t n = 200000;
    char *big = malloc(n + 1);
    memset(big, 'q', n);
    big[n] = '\n';
    rapt__input *in = make(NULL, 0, NULL, false);
    ck_assert_int_eq(rapt__input_add_file(in, file_with("big", big, n + 1)), 0);
    rapt__record rec;
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), 1);
    ck_assert_uint_eq(rec.vals[0].len, n);
    ck_assert_int_eq(rapt__input_next(in, &rec, NULL), 0);
    rapt__input_destroy(in);
    free(big);
}
END_TEST

static Suite *input_suite(void)
{
    Suite *s = suite_create("input");
    TCase *tc = tcase_create("input");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, values_combine_last_fastest);
    tcase_add_test(tc, files_values_and_rewinds);
    tcase_add_test(tc, missing_and_directory_files_fail_early);
    tcase_add_test(tc, delimiters);
    tcase_add_test(tc, colsep_splits_like_perl);
    tcase_add_test(tc, colsep_translation);
    tcase_add_test(tc, pipes_never_block_the_caller);
    tcase_add_test(tc, inner_pipe_is_replayed);
    tcase_add_test(tc, count_spools_an_outer_pipe);
    tcase_add_test(tc, empty_inner_source_means_no_jobs);
    tcase_add_test(tc, a_million_lines_stream_in_bounded_memory);
    tcase_add_test(tc, large_records_cross_read_chunks);
    suite_add_tcase(s, tc);
    return s;
}

RAPT_TEST_MAIN(input_suite)
