/* test_output.c: grouping, line buffering, tags, keep-order parking and spilling.
 *
 * Jobs are simulated by pipes the test writes into; rapt's stdout and stderr are temporary
 * files read back afterwards, so every byte and its order is checked.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lib/output.h"

static int outfd[2];

static void setup(void)
{
    for (int i = 0; i < 2; i++) {
        char path[4096];
        tmp_path(path, sizeof(path), "rapt-test-output.XXXXXX");
        outfd[i] = mkostemp(path, O_CLOEXEC);
        ck_assert_int_ge(outfd[i], 0);
        unlink(path);
    }
}

static void teardown(void)
{
    close(outfd[0]);
    close(outfd[1]);
}

static const char *printed(int stream)
{
    static char buf[2][1 << 16];
    ssize_t n = pread(outfd[stream], buf[stream], sizeof(buf[stream]) - 1, 0);
    buf[stream][n > 0 ? n : 0] = '\0';
    return buf[stream];
}

static rapt__out *make(rapt__out_mode mode, bool keep, size_t mem_limit, size_t park_mem)
{
    rapt__out_opts o = {.mode = mode,
                        .keep_order = keep,
                        .fd = {outfd[0], outfd[1]},
                        .mem_limit = mem_limit,
                        .park_mem = park_mem};
    rapt__out *out;
    ck_assert_int_eq(rapt__out_create(&out, &o), 0);
    return out;
}

/* Feeds text into a job's stream through a real pipe and rapt__out_read. */
static void feed(rapt__out *o, rapt__jobout *jo, int stream, const char *text)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(p[1], text, n), (ssize_t)n);
    close(p[1]);
    bool eof = false;
    while (!eof)
        ck_assert_int_eq(rapt__out_read(o, jo, stream, p[0], &eof), 0);
    close(p[0]);
}

START_TEST(group_prints_stdout_then_stderr_at_the_end)
{
    rapt__out *o = make(RAPT__OUT_GROUP, false, 0, 0);
    rapt__jobout a, b;
    rapt__jobout_init(&a);
    rapt__jobout_init(&b);
    rapt__out_begin(o, &a);
    rapt__out_begin(o, &b);
    feed(o, &a, 0, "a1\n");
    feed(o, &b, 0, "b1\n");
    feed(o, &a, 1, "a-err\n");
    feed(o, &a, 0, "a2\n");
    ck_assert_str_eq(printed(0), "");
    ck_assert_int_eq(rapt__out_end(o, &b, true, true, NULL, 0), 0);
    ck_assert_int_eq(rapt__out_end(o, &a, true, true, NULL, 0), 0);
    ck_assert_str_eq(printed(0), "b1\na1\na2\n");
    ck_assert_str_eq(printed(1), "a-err\n");
    ck_assert_uint_eq(a.s[0].total, 6);
    rapt__jobout_free(&a);
    rapt__jobout_free(&b);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(tags_prefix_every_line_even_a_partial_last_one)
{
    rapt__out *o = make(RAPT__OUT_GROUP, false, 4, 0); /* tiny limit: tags across a spill */
    rapt__jobout a;
    rapt__jobout_init(&a);
    rapt__buf_adds(&a.tag, "x y\t");
    rapt__out_begin(o, &a);
    feed(o, &a, 0, "one\ntwo\nthree");
    rapt__out_end(o, &a, true, true, NULL, 0);
    ck_assert_str_eq(printed(0), "x y\tone\nx y\ttwo\nx y\tthree");
    rapt__jobout_free(&a);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(retried_attempts_print_nothing)
{
    rapt__out *o = make(RAPT__OUT_GROUP, false, 0, 0);
    rapt__jobout a;
    rapt__jobout_init(&a);
    rapt__out_begin(o, &a);
    feed(o, &a, 0, "try 1\n");
    rapt__out_end(o, &a, false, true, NULL, 0);
    rapt__out_begin(o, &a);
    feed(o, &a, 0, "try 2\n");
    rapt__out_end(o, &a, true, true, NULL, 0);
    ck_assert_str_eq(printed(0), "try 2\n");
    rapt__jobout_free(&a);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(keep_order_parks_in_memory_and_in_the_file)
{
    /* park_mem 8 bytes: the first parked job fits in memory, the next ones go to the file. */
    rapt__out *o = make(RAPT__OUT_GROUP, true, 0, 8);
    rapt__jobout j[4];
    for (int i = 0; i < 4; i++) {
        rapt__jobout_init(&j[i]);
        ck_assert_int_eq(rapt__out_position(o, &j[i]), 0);
        rapt__out_begin(o, &j[i]);
    }
    ck_assert_uint_eq(rapt__out_waiting(o), 4);
    feed(o, &j[3], 0, "four\n");
    feed(o, &j[2], 0, "three-long-output\n");
    feed(o, &j[1], 0, "two\n");
    feed(o, &j[0], 0, "one\n");
    rapt__out_end(o, &j[3], true, true, NULL, 0);
    rapt__out_end(o, &j[2], true, true, NULL, 0);
    rapt__out_end(o, &j[1], true, true, NULL, 0);
    ck_assert_str_eq(printed(0), "");
    ck_assert_uint_le(rapt__out_parked_memory(o), 8);
    rapt__out_end(o, &j[0], true, true, NULL, 0);
    ck_assert_str_eq(printed(0), "one\ntwo\nthree-long-output\nfour\n");
    ck_assert_uint_eq(rapt__out_waiting(o), 0);
    ck_assert_uint_eq(rapt__out_parked_memory(o), 0);
    for (int i = 0; i < 4; i++)
        rapt__jobout_free(&j[i]);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(keep_order_skips_forgotten_jobs_and_caps_the_window)
{
    rapt__out_opts oo = {
        .mode = RAPT__OUT_GROUP, .keep_order = true, .fd = {outfd[0], outfd[1]}, .window = 2};
    rapt__out *o;
    ck_assert_int_eq(rapt__out_create(&o, &oo), 0);
    rapt__jobout a, b;
    rapt__jobout_init(&a);
    rapt__jobout_init(&b);
    rapt__out_position(o, &a);
    ck_assert(!rapt__out_window_full(o));
    rapt__out_position(o, &b);
    ck_assert(rapt__out_window_full(o));
    rapt__out_begin(o, &b);
    feed(o, &b, 0, "b\n");
    rapt__out_end(o, &b, true, true, NULL, 0);
    ck_assert_str_eq(printed(0), "");
    rapt__out_forget(o, &a); /* a never ran: b must not wait for it */
    ck_assert_str_eq(printed(0), "b\n");
    ck_assert(!rapt__out_window_full(o));
    rapt__jobout_free(&a);
    rapt__jobout_free(&b);
    rapt__out_destroy(o);
}
END_TEST

/* The trailer callback writes into rapt's stdout too, so its place among the output shows. */
static void trailer_to_stdout(void *ctx, const char *p, size_t n)
{
    (*(int *)ctx)++;
    ck_assert_int_eq(write(outfd[0], p, n), (ssize_t)n);
}

START_TEST(trailers_follow_their_jobs_output_in_input_order)
{
    int calls = 0;
    for (int keep = 0; keep < 2; keep++) {
        ck_assert_int_eq(ftruncate(outfd[0], 0), 0);
        ck_assert_int_eq(lseek(outfd[0], 0, SEEK_SET), 0);
        calls = 0;
        /* park_mem 4: job 2's parked output goes to the parking file. */
        rapt__out_opts oo = {.mode = RAPT__OUT_GROUP,
                             .keep_order = keep,
                             .fd = {outfd[0], outfd[1]},
                             .park_mem = 4,
                             .trailer = trailer_to_stdout,
                             .trailer_ctx = &calls};
        rapt__out *o;
        ck_assert_int_eq(rapt__out_create(&o, &oo), 0);
        rapt__jobout j[4];
        for (int i = 0; i < 4; i++) {
            rapt__jobout_init(&j[i]);
            ck_assert_int_eq(rapt__out_position(o, &j[i]), 0);
            rapt__out_begin(o, &j[i]);
        }
        feed(o, &j[2], 0, "three\n");
        feed(o, &j[1], 0, "two\n");
        feed(o, &j[0], 0, "one\n");
        /* Job 2 (input order 3) ends first, job 1 ends without printing (--results), job 3
         * never runs, and a retried attempt's trailer is ignored. */
        ck_assert_int_eq(rapt__out_end(o, &j[2], false, true, "T3-retry\n", 9), 0);
        rapt__out_begin(o, &j[2]);
        feed(o, &j[2], 0, "three\n");
        ck_assert_int_eq(rapt__out_end(o, &j[2], true, true, "T3\n", 3), 0);
        ck_assert_int_eq(rapt__out_end(o, &j[1], true, false, "T2\n", 3), 0);
        ck_assert_str_eq(printed(0), keep ? "" : "three\nT3\nT2\n");
        ck_assert_int_eq(rapt__out_end(o, &j[0], true, true, "T1\n", 3), 0);
        rapt__out_forget(o, &j[3]);
        ck_assert_str_eq(printed(0),
                         keep ? "one\nT1\nT2\nthree\nT3\n" : "three\nT3\nT2\none\nT1\n");
        ck_assert_int_eq(calls, 3);
        for (int i = 0; i < 4; i++)
            rapt__jobout_free(&j[i]);
        rapt__out_destroy(o);
    }
}
END_TEST

START_TEST(line_mode_prints_whole_lines_as_they_come)
{
    rapt__out *o = make(RAPT__OUT_LINE, false, 0, 0);
    rapt__jobout a, b;
    rapt__jobout_init(&a);
    rapt__jobout_init(&b);
    rapt__buf_adds(&a.tag, "A\t");
    rapt__buf_adds(&b.tag, "B\t");
    rapt__out_begin(o, &a);
    rapt__out_begin(o, &b);
    feed(o, &a, 0, "x\ny");
    feed(o, &b, 0, "1\n");
    ck_assert_str_eq(printed(0), "A\tx\nB\t1\n");
    feed(o, &a, 0, "z\n");
    ck_assert_str_eq(printed(0), "A\tx\nB\t1\nA\tyz\n");
    feed(o, &a, 0, "tail");
    rapt__out_end(o, &a, true, true, NULL, 0);
    rapt__out_end(o, &b, true, true, NULL, 0);
    ck_assert_str_eq(printed(0), "A\tx\nB\t1\nA\tyz\nA\ttail");
    rapt__jobout_free(&a);
    rapt__jobout_free(&b);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(line_mode_with_keep_order_streams_the_oldest)
{
    rapt__out *o = make(RAPT__OUT_LINE, true, 0, 0);
    rapt__jobout a, b;
    rapt__jobout_init(&a);
    rapt__jobout_init(&b);
    rapt__out_position(o, &a);
    rapt__out_position(o, &b);
    rapt__out_begin(o, &a);
    rapt__out_begin(o, &b);
    feed(o, &b, 0, "b1\nb2");
    feed(o, &a, 0, "a1\n");
    ck_assert_str_eq(printed(0), "a1\n"); /* b is held back */
    rapt__out_end(o, &a, true, true, NULL, 0);
    ck_assert_str_eq(printed(0), "a1\nb1\n"); /* b is live now: its complete line is out */
    feed(o, &b, 0, "x\n");
    ck_assert_str_eq(printed(0), "a1\nb1\nb2x\n");
    rapt__out_end(o, &b, true, true, NULL, 0);
    rapt__jobout_free(&a);
    rapt__jobout_free(&b);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(big_output_spills_and_memory_stays_small)
{
    /* 8 MiB through a 64 KiB head: the job struct never holds more than the head. */
    rapt__out *o = make(RAPT__OUT_GROUP, false, 65536, 0);
    rapt__jobout a;
    rapt__jobout_init(&a);
    rapt__out_begin(o, &a);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t w = fork();
    if (w == 0) {
        close(p[0]);
        char line[64];
        memset(line, 'z', 63);
        line[63] = '\n';
        for (int i = 0; i < 8 * 16384; i++)
            if (write(p[1], line, 64) != 64)
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    bool eof = false;
    size_t peak = 0;
    while (!eof) {
        ck_assert_int_eq(rapt__out_read(o, &a, 0, p[0], &eof), 0);
        if (a.s[0].mem.cap > peak)
            peak = a.s[0].mem.cap;
    }
    close(p[0]);
    ck_assert_uint_le(peak, 65536);
    ck_assert_uint_eq(a.s[0].total, 8u << 20);
    rapt__out_end(o, &a, true, true, NULL, 0);
    ck_assert_int_eq(lseek(outfd[0], 0, SEEK_END), 8 << 20);
    rapt__jobout_free(&a);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(a_closed_stdout_is_an_error_not_a_crash)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    rapt__out_opts oo = {.mode = RAPT__OUT_GROUP, .fd = {p[1], outfd[1]}};
    rapt__out *o;
    ck_assert_int_eq(rapt__out_create(&o, &oo), 0);
    rapt__jobout a;
    rapt__jobout_init(&a);
    rapt__out_begin(o, &a);
    feed(o, &a, 0, "lost\n");
    rapt__out_end(o, &a, true, true, NULL, 0);
    ck_assert_int_eq(rapt__out_error(o), -EPIPE);
    close(p[1]);
    rapt__jobout_free(&a);
    rapt__out_destroy(o);
}
END_TEST

START_TEST(results_are_saved_raw)
{
    char dir[1024];
    tmp_path(dir, sizeof(dir), "rapt-test-results.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rapt__out *o = make(RAPT__OUT_GROUP, false, 4, 0);
    rapt__jobout a;
    rapt__jobout_init(&a);
    rapt__buf_adds(&a.tag, "t\t");
    rapt__out_begin(o, &a);
    feed(o, &a, 0, "out put\n");
    feed(o, &a, 1, "err");
    ck_assert_int_eq(rapt__out_save(o, &a, dfd), 0);
    rapt__out_end(o, &a, true, false, NULL, 0);
    ck_assert_str_eq(printed(0), "");
    char buf[64];
    int fd = openat(dfd, "stdout", O_RDONLY | O_CLOEXEC);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    buf[n] = '\0';
    close(fd);
    ck_assert_str_eq(buf, "out put\n");
    close(dfd);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    rapt__jobout_free(&a);
    rapt__out_destroy(o);
}
END_TEST

static Suite *output_suite(void)
{
    Suite *s = suite_create("output");
    TCase *tc = tcase_create("output");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, group_prints_stdout_then_stderr_at_the_end);
    tcase_add_test(tc, tags_prefix_every_line_even_a_partial_last_one);
    tcase_add_test(tc, retried_attempts_print_nothing);
    tcase_add_test(tc, keep_order_parks_in_memory_and_in_the_file);
    tcase_add_test(tc, keep_order_skips_forgotten_jobs_and_caps_the_window);
    tcase_add_test(tc, trailers_follow_their_jobs_output_in_input_order);
    tcase_add_test(tc, line_mode_prints_whole_lines_as_they_come);
    tcase_add_test(tc, line_mode_with_keep_order_streams_the_oldest);
    tcase_add_test(tc, big_output_spills_and_memory_stays_small);
    tcase_add_test(tc, a_closed_stdout_is_an_error_not_a_crash);
    tcase_add_test(tc, results_are_saved_raw);
    suite_add_tcase(s, tc);
    return s;
}

RAPT_TEST_MAIN(output_suite)
