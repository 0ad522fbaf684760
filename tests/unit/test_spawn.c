/* test_spawn.c: spawning, reaping and the event loop, with real processes.
 *
 * The job program is tests/helpers/rapt-testchild. Covers: exit codes and signals kept
 * apart, the "128+n from the shell itself" rule, exec failures, a new process group, no fd
 * leaks into jobs, a cgroup write that fails without failing the job, and the loop's pidfd,
 * pipe, signal and timer events.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "os/os.h"

extern char **environ;

static rapt__spawner sp;
static rapt__root root;
static sigset_t nothing;

static void setup(void)
{
    ck_assert_int_eq(rapt__spawner_init(&sp), 0);
    ck_assert_int_eq(rapt__root_open(&root, "/"), 0);
    sigemptyset(&nothing);
}

static void teardown(void)
{
    rapt__spawner_free(&sp);
    rapt__root_close(&root);
}

static rapt__spawn_req req_for(const char *path, char **argv)
{
    rapt__spawn_req r = {.path = path,
                         .argv = argv,
                         .envp = environ,
                         .fd = {-1, -1, -1},
                         .cgroup_procs = -1,
                         .reset = &nothing,
                         .mask = &nothing};
    return r;
}

/* Waits for pid to end (blocking) and reaps it through rapt__reap. */
static rapt__exit wait_exit(pid_t pid, const char *shell, bool *from_shell)
{
    siginfo_t si;
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    rapt__exit ex;
    ck_assert_int_eq(rapt__reap(&root, pid, shell, &ex, from_shell), 1);
    return ex;
}

START_TEST(exit_codes_and_signals_stay_apart)
{
    char *a1[] = {"testchild", "exit", "3", NULL};
    rapt__spawn_res res;
    rapt__spawn_req rq = req_for(RAPT_TESTCHILD, a1);
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    ck_assert_int_eq(res.exec_errno, 0);
    rapt__exit ex = wait_exit(res.pid, NULL, NULL);
    ck_assert(ex.exited);
    ck_assert_int_eq(ex.code, 3);
    ck_assert_int_eq(ex.sig, 0);
    if (res.pidfd >= 0)
        close(res.pidfd);

    char *a2[] = {"testchild", "signal", "KILL", NULL};
    rq = req_for(RAPT_TESTCHILD, a2);
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    ex = wait_exit(res.pid, NULL, NULL);
    ck_assert(!ex.exited);
    ck_assert_int_eq(ex.sig, SIGKILL);
    if (res.pidfd >= 0)
        close(res.pidfd);
}
END_TEST

START_TEST(shell_status_128_plus_n_is_a_signal)
{
    /* dash forks for `testchild signal KILL`, waits, and exits 137 itself. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s signal KILL", RAPT_TESTCHILD);
    char *a1[] = {"sh", "-c", cmd, NULL};
    rapt__spawn_req rq = req_for("/bin/sh", a1);
    rapt__spawn_res res;
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    bool from_shell;
    rapt__exit ex = wait_exit(res.pid, "sh", &from_shell);
    ck_assert(ex.exited);
    ck_assert_int_eq(ex.code, 137);
    ck_assert(from_shell);
    if (res.pidfd >= 0)
        close(res.pidfd);

    /* A program the shell exec'd into reports its own status: 137 is then an exit code. */
    snprintf(cmd, sizeof(cmd), "exec %s exit 137", RAPT_TESTCHILD);
    rq = req_for("/bin/sh", a1);
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    ex = wait_exit(res.pid, "sh", &from_shell);
    ck_assert_int_eq(ex.code, 137);
    ck_assert(!from_shell);
    if (res.pidfd >= 0)
        close(res.pidfd);
}
END_TEST

START_TEST(exec_failure_is_reported_and_reaped)
{
    char *a[] = {"nope", NULL};
    rapt__spawn_req rq = req_for("/nonexistent/rapt-nope", a);
    rapt__spawn_res res;
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    ck_assert_int_eq(res.exec_errno, ENOENT);
    ck_assert_int_eq(res.pidfd, -1);
    /* Already reaped: nothing is left to wait for. */
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(child_leads_its_own_group_and_inherits_no_fds)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    int stray = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(stray, 0);
    char *a[] = {"testchild", "fds", "sleep", "0.3", NULL};
    rapt__spawn_req rq = req_for(RAPT_TESTCHILD, a);
    rq.fd[1] = p[1];
    rapt__spawn_res res;
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    close(p[1]);
    ck_assert_int_eq(getpgid(res.pid), res.pid);
    char buf[256] = "";
    size_t got = 0;
    ssize_t n;
    while ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    /* Expected: 0-2, plus whatever this test process holds without CLOEXEC (the test
     * framework's own fds, which any runner passes on); never rapt's pipes or the stray fd. */
    char want[256] = "0\n1\n2\n";
    for (int fd = 3; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC) && fd != p[1])
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%d\n", fd);
    }
    ck_assert_str_eq(buf, want);
    wait_exit(res.pid, NULL, NULL);
    close(p[0]);
    close(stray);
    if (res.pidfd >= 0)
        close(res.pidfd);
}
END_TEST

START_TEST(failed_cgroup_join_still_runs_the_job)
{
    int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char *a[] = {"testchild", "exit", "0", NULL};
    rapt__spawn_req rq = req_for(RAPT_TESTCHILD, a);
    rq.cgroup_procs = ro;
    rapt__spawn_res res;
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    ck_assert_int_eq(res.cgroup_errno, EBADF);
    rapt__exit ex = wait_exit(res.pid, NULL, NULL);
    ck_assert_int_eq(ex.code, 0);
    close(ro);
    if (res.pidfd >= 0)
        close(res.pidfd);
}
END_TEST

START_TEST(fork_limit_is_an_error_not_a_crash)
{
    /* With RLIMIT_NPROC at the current count no process can be made. Root ignores the
     * limit unless it lacks CAP_SYS_RESOURCE/CAP_SYS_ADMIN, so the test only checks that the
     * call returns cleanly either way. */
    struct rlimit old, rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NPROC, &old), 0);
    rl = (struct rlimit){1, old.rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &rl), 0);
    char *a[] = {"testchild", "exit", "0", NULL};
    rapt__spawn_req rq = req_for(RAPT_TESTCHILD, a);
    rapt__spawn_res res;
    int r = rapt__spawn(&sp, &rq, &res);
    setrlimit(RLIMIT_NPROC, &old);
    if (r == 0) {
        wait_exit(res.pid, NULL, NULL);
        if (res.pidfd >= 0)
            close(res.pidfd);
    } else {
        ck_assert_int_eq(r, -EAGAIN);
    }
}
END_TEST

START_TEST(loop_reports_exits_output_signals_and_time)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGUSR1);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    rapt__loop l;
    ck_assert_int_eq(rapt__loop_open(&l, &sigs), 0);

    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    char *a[] = {"testchild", "echo", "hi", "sleep", "0.1", NULL};
    rapt__spawn_req rq = req_for(RAPT_TESTCHILD, a);
    rq.fd[1] = p[1];
    rapt__spawn_res res;
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    close(p[1]);
    if (!sp.pidfd) {
        rapt__loop_close(&l);
        return; /* an old kernel: the runner uses SIGCHLD instead, tested end to end */
    }
    ck_assert_int_eq(rapt__loop_add(&l, res.pidfd, 1), 0);
    ck_assert_int_eq(rapt__loop_add(&l, p[0], 2), 0);
    bool exited = false, eof = false;
    while (!exited || !eof) {
        rapt__loop_ev ev[8];
        int n = rapt__loop_wait(&l, ev, 8);
        ck_assert_int_ge(n, 0);
        for (int i = 0; i < n; i++) {
            if (ev[i].tag == 1) {
                rapt__exit ex;
                ck_assert_int_eq(rapt__reap(&root, res.pid, NULL, &ex, NULL), 1);
                ck_assert_int_eq(rapt__loop_del(&l, res.pidfd), 0);
                close(res.pidfd);
                exited = true;
            } else if (ev[i].tag == 2) {
                char buf[16];
                ssize_t k = read(p[0], buf, sizeof(buf));
                if (k == 0) {
                    close(p[0]);
                    eof = true;
                }
            }
        }
    }
    kill(getpid(), SIGUSR1);
    uint64_t deadline = rapt__now_ns() + 20 * 1000 * 1000;
    ck_assert_int_eq(rapt__loop_arm(&l, deadline), 0);
    bool got_signal = false, got_timer = false;
    while (!got_signal || !got_timer) {
        rapt__loop_ev ev[8];
        int n = rapt__loop_wait(&l, ev, 8);
        for (int i = 0; i < n; i++) {
            int sig;
            if (ev[i].tag == RAPT__LOOP_SIGNAL && rapt__loop_signal(&l, &sig) == 1) {
                ck_assert_int_eq(sig, SIGUSR1);
                got_signal = true;
            } else if (ev[i].tag == RAPT__LOOP_TIMER) {
                ck_assert_uint_ge(rapt__now_ns(), deadline);
                rapt__loop_timer_ack(&l);
                got_timer = true;
            }
        }
    }
    rapt__loop_close(&l);
}
END_TEST

START_TEST(proc_tree_sums_descendants)
{
    /* A child allocating 64 MiB under a parent that waits: the tree holds at least that. */
    char *a[] = {"testchild", "fork", "alloc", "64", "sleep", "2", ";;", "sleep", "2", NULL};
    rapt__spawn_req rq = req_for(RAPT_TESTCHILD, a);
    rapt__spawn_res res;
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    uint64_t rss = 0;
    for (int i = 0; i < 100 && rss < 64ull << 20; i++) {
        usleep(20000);
        ck_assert_int_eq(rapt__proc_tree_rss(&root, res.pid, &rss), 0);
    }
    ck_assert_uint_ge(rss, 64ull << 20);
    kill(-res.pid, SIGKILL);
    wait_exit(res.pid, NULL, NULL);
    if (res.pidfd >= 0)
        close(res.pidfd);
    ck_assert_int_eq(rapt__proc_tree_rss(&root, res.pid, &rss), -ESRCH);
}
END_TEST

static Suite *spawn_suite(void)
{
    Suite *s = suite_create("spawn");
    TCase *tc = tcase_create("spawn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, exit_codes_and_signals_stay_apart);
    tcase_add_test(tc, shell_status_128_plus_n_is_a_signal);
    tcase_add_test(tc, exec_failure_is_reported_and_reaped);
    tcase_add_test(tc, child_leads_its_own_group_and_inherits_no_fds);
    tcase_add_test(tc, failed_cgroup_join_still_runs_the_job);
    tcase_add_test(tc, fork_limit_is_an_error_not_a_crash);
    tcase_add_test(tc, loop_reports_exits_output_signals_and_time);
    tcase_add_test(tc, proc_tree_sums_descendants);
    suite_add_tcase(s, tc);
    return s;
}

RAPT_TEST_MAIN(spawn_suite)
