/* test_joblog.c: GNU parallel's joblog written and read back, torn lines included. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lib/joblog.h"

/* Formats and appends one record, the way the runner does. */
static int write_rec(rapt__joblog *jl, const rapt__joblog_rec *r)
{
    rapt__buf line = {0};
    int rc = rapt__joblog_format(r, &line);
    if (rc == 0)
        rc = rapt__joblog_write(jl, line.p, line.len);
    rapt__buf_free(&line);
    return rc;
}

static char dir[1024];
static char path[1200];

static void setup(void)
{
    tmp_path(dir, sizeof(dir), "rapt-test-joblog.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
}

static void teardown(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

static char *slurp_file(void)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

START_TEST(format_is_gnu_parallels)
{
    /* From GNU parallel 20221122: "1\t:\t1795539568.113\t     0.003\t0\t0\t0\t0\texit 0" */
    rapt__buf b = RAPT__BUF_INIT;
    rapt__joblog_rec r = {.seq = 1,
                          .start_wall_ns = 1795539568113000000ull,
                          .runtime_ns = 3999999,
                          .exitval = 0,
                          .signal = 0,
                          .cmd = "exit 0",
                          .cmd_len = 6};
    ck_assert_int_eq(rapt__joblog_format(&r, &b), 0);
    ck_assert_str_eq(b.p, "1\t:\t1795539568.113\t     0.003\t0\t0\t0\t0\texit 0\n");
    /* A timeout: -1 and the signal; a runtime beyond 10 columns; newlines become NULs. */
    rapt__joblog_rec t = {.seq = 22,
                          .start_wall_ns = 1000000000ull,
                          .runtime_ns = 123456789012345ull,
                          .exitval = -1,
                          .signal = 15,
                          .cmd = "echo 'a\nb'",
                          .cmd_len = 10};
    ck_assert_int_eq(rapt__joblog_format(&t, &b), 0);
    ck_assert_int_eq(b.len, strlen("22\t:\t1.000\t123456.789\t0\t0\t-1\t15\techo 'a") + 4);
    ck_assert_int_eq(memcmp(b.p, "22\t:\t1.000\t123456.789\t0\t0\t-1\t15\techo 'a\0b'\n", b.len),
                     0);
    rapt__buf_free(&b);
}
END_TEST

START_TEST(write_then_read_back)
{
    rapt__joblog *jl;
    ck_assert_int_eq(rapt__joblog_open(&jl, path, true, 0), 0);
    rapt__joblog_rec r = {.seq = 2, .start_wall_ns = 1, .cmd = "echo b", .cmd_len = 6};
    ck_assert_int_eq(write_rec(jl, &r), 0);
    r = (rapt__joblog_rec){.seq = 1, .exitval = 3, .cmd = "echo a", .cmd_len = 6};
    ck_assert_int_eq(write_rec(jl, &r), 0);
    r = (rapt__joblog_rec){.seq = 3, .signal = 9, .cmd = "echo\tc", .cmd_len = 6};
    ck_assert_int_eq(write_rec(jl, &r), 0);
    rapt__joblog_close(jl);

    rapt__joblog_state st;
    char err[128];
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), 0);
    ck_assert_uint_eq(st.records, 3);
    ck_assert_uint_eq(st.failures, 2);
    ck_assert(rapt__joblog_has(st.logged, st.max_seq, 1));
    ck_assert(rapt__joblog_has(st.logged, st.max_seq, 3));
    ck_assert(!rapt__joblog_has(st.logged, st.max_seq, 4));
    ck_assert(rapt__joblog_has(st.failed, st.max_seq, 1));
    ck_assert(!rapt__joblog_has(st.failed, st.max_seq, 2));
    ck_assert(rapt__joblog_has(st.failed, st.max_seq, 3));
    ck_assert_uint_eq(st.probe_seq, 1);
    ck_assert_str_eq(st.probe_cmd.p, "echo a");
    ck_assert(!st.torn);

    /* --retry-failed: failed seqs in order, each once, tabs in commands intact. */
    rapt__joblog_iter *it;
    ck_assert_int_eq(rapt__joblog_iter_open(&it, path, &st), 0);
    rapt__buf cmd = RAPT__BUF_INIT;
    uint64_t seq;
    ck_assert_int_eq(rapt__joblog_iter_next(it, &seq, &cmd), 1);
    ck_assert_uint_eq(seq, 1);
    ck_assert_str_eq(cmd.p, "echo a");
    ck_assert_int_eq(rapt__joblog_iter_next(it, &seq, &cmd), 1);
    ck_assert_uint_eq(seq, 3);
    ck_assert_str_eq(cmd.p, "echo\tc");
    ck_assert_int_eq(rapt__joblog_iter_next(it, &seq, &cmd), 0);
    rapt__joblog_iter_close(it);
    rapt__buf_free(&cmd);
    rapt__joblog_state_free(&st);
}
END_TEST

START_TEST(a_later_success_clears_a_failure)
{
    put("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
        "1\t:\t1.000\t     0.100\t0\t0\t1\t0\tx\n"
        "1\t:\t2.000\t     0.100\t0\t0\t0\t0\tx\n"
        "2\t:\t2.000\t     0.100\t0\t0\t0\t0\ty\n"
        "2\t:\t3.000\t     0.100\t0\t0\t-1\t15\ty\n");
    rapt__joblog_state st;
    char err[128];
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), 0);
    ck_assert(!rapt__joblog_has(st.failed, st.max_seq, 1));
    ck_assert(rapt__joblog_has(st.failed, st.max_seq, 2));
    rapt__joblog_iter *it;
    ck_assert_int_eq(rapt__joblog_iter_open(&it, path, &st), 0);
    rapt__buf cmd = RAPT__BUF_INIT;
    uint64_t seq;
    ck_assert_int_eq(rapt__joblog_iter_next(it, &seq, &cmd), 1);
    ck_assert_uint_eq(seq, 2);
    ck_assert_int_eq(rapt__joblog_iter_next(it, &seq, &cmd), 0);
    rapt__joblog_iter_close(it);
    rapt__buf_free(&cmd);
    rapt__joblog_state_free(&st);
}
END_TEST

START_TEST(torn_last_line_is_ignored_and_cut)
{
    const char *good = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
                       "1\t:\t1.000\t     0.100\t0\t0\t0\t0\tx\n";
    char content[512];
    snprintf(content, sizeof(content), "%s2\t:\t1.0", good);
    put(content);
    rapt__joblog_state st;
    char err[128];
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), 0);
    ck_assert(st.torn);
    ck_assert_uint_eq(st.records, 1);
    ck_assert(!rapt__joblog_has(st.logged, st.max_seq, 2));
    ck_assert_uint_eq(st.good_len, strlen(good));
    rapt__joblog *jl;
    ck_assert_int_eq(rapt__joblog_open(&jl, path, false, st.good_len), 0);
    rapt__joblog_rec r = {.seq = 2, .cmd = "y", .cmd_len = 1};
    ck_assert_int_eq(write_rec(jl, &r), 0);
    rapt__joblog_close(jl);
    rapt__joblog_state_free(&st);
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), 0);
    ck_assert(!st.torn);
    ck_assert_uint_eq(st.records, 2);
    rapt__joblog_state_free(&st);
    ck_assert_int_eq(strncmp(slurp_file(), good, strlen(good)), 0);
}
END_TEST

START_TEST(a_torn_header_starts_over)
{
    put("Seq\tHost\tStart");
    rapt__joblog_state st;
    char err[128];
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), 0);
    ck_assert(st.torn);
    ck_assert_uint_eq(st.good_len, 0);
    /* The runner starts such a file over: nothing in it is whole. */
    rapt__joblog *jl;
    ck_assert_int_eq(rapt__joblog_open(&jl, path, st.torn && st.good_len == 0, st.good_len), 0);
    rapt__joblog_close(jl);
    ck_assert_str_eq(slurp_file(), rapt__joblog_header);
    rapt__joblog_state_free(&st);
}
END_TEST

START_TEST(other_files_are_refused)
{
    rapt__joblog_state st;
    char err[128] = "";
    put("hello world\n");
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), RAPT_EPARSE);
    ck_assert_str_ne(err, "");
    put("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
        "garbage\n"
        "1\t:\t1.000\t     0.100\t0\t0\t0\t0\tx\n");
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), RAPT_EPARSE);
    ck_assert_ptr_nonnull(strstr(err, "line 2"));
    put("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
        "99999999999\t:\t1.000\t     0.100\t0\t0\t0\t0\tx\n");
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), RAPT_EPARSE);
    ck_assert_int_eq(rapt__joblog_read("/nonexistent/log", &st, err, sizeof(err)), -ENOENT);
}
END_TEST

START_TEST(append_keeps_records)
{
    rapt__joblog *jl;
    ck_assert_int_eq(rapt__joblog_open(&jl, path, true, 0), 0);
    rapt__joblog_rec r = {.seq = 1, .cmd = "a", .cmd_len = 1};
    ck_assert_int_eq(write_rec(jl, &r), 0);
    rapt__joblog_close(jl);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(rapt__joblog_open(&jl, path, false, (uint64_t)sb.st_size), 0);
    r.seq = 2;
    ck_assert_int_eq(write_rec(jl, &r), 0);
    rapt__joblog_close(jl);
    rapt__joblog_state st;
    char err[128];
    ck_assert_int_eq(rapt__joblog_read(path, &st, err, sizeof(err)), 0);
    ck_assert_uint_eq(st.records, 2);
    rapt__joblog_state_free(&st);
    /* truncate starts a new log with only the header. */
    ck_assert_int_eq(rapt__joblog_open(&jl, path, true, 0), 0);
    rapt__joblog_close(jl);
    ck_assert_str_eq(slurp_file(), rapt__joblog_header);
}
END_TEST

static Suite *joblog_suite(void)
{
    Suite *s = suite_create("joblog");
    TCase *tc = tcase_create("joblog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, format_is_gnu_parallels);
    tcase_add_test(tc, write_then_read_back);
    tcase_add_test(tc, a_later_success_clears_a_failure);
    tcase_add_test(tc, torn_last_line_is_ignored_and_cut);
    tcase_add_test(tc, a_torn_header_starts_over);
    tcase_add_test(tc, other_files_are_refused);
    tcase_add_test(tc, append_keeps_records);
    suite_add_tcase(s, tc);
    return s;
}

RAPT_TEST_MAIN(joblog_suite)
