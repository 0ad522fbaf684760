/* test_jobcg.c: per-slot memory cgroups on the real cgroup tree.
 *
 * Needs root and a memory controller rapt can write (cgroup v1 here, or a delegated v2
 * subtree); otherwise every test is skipped with the reason printed. Creates only rapt-<pid>
 * cgroups under this process's own memory cgroup and removes them.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "os/os.h"

extern char **environ;

#define MIB (1024ull * 1024ull)

static rapt__root root;
static rapt_sys_info si;
static rapt__spawner sp;
static sigset_t nothing;
static char skip_why[256];

static bool usable(void)
{
    if (geteuid() != 0) {
        snprintf(skip_why, sizeof(skip_why), "not root");
        return false;
    }
    return true;
}

static void setup(void)
{
    ck_assert_int_eq(rapt__root_open(&root, "/"), 0);
    ck_assert_int_eq(rapt_sys_read(NULL, &si), 0);
    ck_assert_int_eq(rapt__spawner_init(&sp), 0);
    sigemptyset(&nothing);
}

static void teardown(void)
{
    rapt__spawner_free(&sp);
    rapt__root_close(&root);
}

static rapt__jobcg_opts opts(void)
{
    return (rapt__jobcg_opts){.root = &root, .si = &si, .self = getpid()};
}

/* Opens the run's cgroups or explains why the test is skipped. */
static rapt__jobcg *open_or_skip(void)
{
    if (!usable()) {
        fprintf(stderr, "skipped: %s\n", skip_why);
        return NULL;
    }
    rapt__jobcg_opts o = opts();
    rapt__jobcg *cg;
    char why[256];
    int r = rapt__jobcg_open(&cg, &o, why, sizeof(why));
    if (r < 0) {
        fprintf(stderr, "skipped: no per-slot cgroups here: %s\n", why);
        return NULL;
    }
    return cg;
}

static pid_t spawn_in(int procs, char **argv)
{
    rapt__spawn_req rq = {.path = RAPT_TESTCHILD,
                          .argv = argv,
                          .envp = environ,
                          .fd = {-1, -1, -1},
                          .cgroup_procs = procs,
                          .reset = &nothing,
                          .mask = &nothing};
    rapt__spawn_res res;
    ck_assert_int_eq(rapt__spawn(&sp, &rq, &res), 0);
    ck_assert_int_eq(res.exec_errno, 0);
    ck_assert_int_eq(res.cgroup_errno, 0);
    if (res.pidfd >= 0)
        close(res.pidfd);
    return res.pid;
}

static int wait_for(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

START_TEST(grandchild_peak_within_five_percent)
{
    rapt__jobcg *cg = open_or_skip();
    if (!cg)
        return;
    int procs;
    ck_assert_int_eq(rapt__jobcg_prepare(cg, 1, &procs), 0);
    /* The must-show job: a grandchild allocates 200 MiB; the leader only waits. */
    char *a[] = {"testchild", "fork", "alloc", "200", "sleep", "1", ";;", "wait", NULL};
    pid_t pid = spawn_in(procs, a);
    /* While it holds the memory (for a second once allocated; a loaded machine may take a
     * while to get there), the slot's current usage shows it. */
    uint64_t cur = 0;
    for (int i = 0; i < 1000 && cur < 190 * MIB; i++) {
        usleep(10 * 1000);
        ck_assert_int_eq(rapt__jobcg_current(cg, 1, &cur), 0);
    }
    ck_assert_uint_ge(cur, 190 * MIB);
    ck_assert_int_eq(WEXITSTATUS(wait_for(pid)), 0);
    uint64_t peak;
    ck_assert_int_eq(rapt__jobcg_peak(cg, 1, &peak), 0);
    ck_assert_msg(peak >= 190 * MIB && peak <= 210 * MIB, "peak %llu is not within 5%% of 200 MiB",
                  (unsigned long long)peak);
    /* The next job in the same slot starts from a fresh peak. */
    ck_assert_int_eq(rapt__jobcg_prepare(cg, 1, &procs), 0);
    char *b[] = {"testchild", "alloc", "20", NULL};
    wait_for(spawn_in(procs, b));
    ck_assert_int_eq(rapt__jobcg_peak(cg, 1, &peak), 0);
    ck_assert_msg(peak >= 19 * MIB && peak < 40 * MIB, "second peak %llu",
                  (unsigned long long)peak);
    rapt__jobcg_close(cg);
}
END_TEST

START_TEST(oom_kills_are_counted)
{
    rapt__jobcg *cg = open_or_skip();
    if (!cg)
        return;
    if (strcmp(rapt__jobcg_method(cg), "cgroup-v1") != 0) {
        rapt__jobcg_close(cg);
        return; /* the limit file below is v1's */
    }
    int procs;
    ck_assert_int_eq(rapt__jobcg_prepare(cg, 2, &procs), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/rapt-%d/slot-2/memory.limit_in_bytes", si.cgroup.memory_dir,
             (int)getpid());
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "33554432", 8), 8);
    close(fd);
    uint64_t before;
    ck_assert_int_eq(rapt__jobcg_oom_kills(cg, 2, &before), 0);
    char *a[] = {"testchild", "alloc", "64", NULL};
    int st = wait_for(spawn_in(procs, a));
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    uint64_t after;
    ck_assert_int_eq(rapt__jobcg_oom_kills(cg, 2, &after), 0);
    ck_assert_uint_gt(after, before);
    rapt__jobcg_close(cg);
}
END_TEST

START_TEST(close_kills_leftovers_and_removes_everything)
{
    rapt__jobcg *cg = open_or_skip();
    if (!cg)
        return;
    int procs;
    ck_assert_int_eq(rapt__jobcg_prepare(cg, 3, &procs), 0);
    /* An orphan in the slot: its parent exits, it sleeps on. */
    char name[64], pidfile[4200];
    snprintf(name, sizeof(name), "rapt-jobcg-%d.pid", (int)getpid());
    tmp_path(pidfile, sizeof(pidfile), name);
    char *a[] = {"testchild", "orphan", "pidfile", pidfile, "sleep", "60", ";;", NULL};
    wait_for(spawn_in(procs, a));
    pid_t orphan = 0;
    for (int i = 0; i < 200 && !orphan; i++) {
        FILE *f = fopen(pidfile, "r");
        int v = 0;
        if (f && fscanf(f, "%d", &v) == 1)
            orphan = v;
        if (f)
            fclose(f);
        if (!orphan)
            usleep(10000);
    }
    ck_assert_int_gt(orphan, 0);
    ck_assert_int_eq(kill(orphan, 0), 0);
    rapt__jobcg_close(cg);
    /* The orphan is gone (reaped by init), and so are the cgroups. */
    for (int i = 0; i < 200 && kill(orphan, 0) == 0; i++)
        usleep(10000);
    ck_assert_int_ne(kill(orphan, 0), 0);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/rapt-%d", si.cgroup.memory_dir, (int)getpid());
    struct stat st;
    ck_assert_int_ne(stat(dir, &st), 0);
    unlink(pidfile);
}
END_TEST

START_TEST(stale_runs_are_cleaned)
{
    if (!usable()) {
        fprintf(stderr, "skipped: %s\n", skip_why);
        return;
    }
    if (si.cgroup.memory_version != RAPT_CGROUP_V1) {
        fprintf(stderr, "skipped: the stale-run fixture is built on cgroup v1\n");
        return;
    }
    /* A "dead run": a pid that no longer exists, with a slot holding a live process. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    wait_for(dead);
    char run[512], slot[600], procs[640];
    snprintf(run, sizeof(run), "%s/rapt-%d", si.cgroup.memory_dir, (int)dead);
    snprintf(slot, sizeof(slot), "%s/slot-1", run);
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", slot);
    if (mkdir(run, 0755) < 0) {
        fprintf(stderr, "skipped: cannot create %s\n", run);
        return;
    }
    ck_assert_int_eq(mkdir(slot, 0755), 0);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    char *a[] = {"testchild", "sleep", "60", NULL};
    pid_t victim = spawn_in(fd, a);
    close(fd);
    rapt__jobcg_opts o = opts();
    unsigned runs, killed;
    ck_assert_int_eq(rapt__jobcg_reap_stale(&o, &runs, &killed), 0);
    int st = wait_for(victim);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    struct stat sb;
    ck_assert_int_ne(stat(run, &sb), 0);
}
END_TEST

START_TEST(no_cgroup_is_explained)
{
    rapt_sys_info none = si;
    none.cgroup.memory_version = RAPT_CGROUP_NONE;
    none.cgroup.memory_dir[0] = '\0';
    rapt__jobcg_opts o = {.root = &root, .si = &none, .self = getpid()};
    rapt__jobcg *cg;
    char why[256] = "";
    ck_assert_int_eq(rapt__jobcg_open(&cg, &o, why, sizeof(why)), RAPT_ENOCGROUP);
    ck_assert_ptr_null(cg);
    ck_assert_str_ne(why, "");
}
END_TEST

static Suite *jobcg_suite(void)
{
    Suite *s = suite_create("jobcg");
    TCase *tc = tcase_create("jobcg");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, grandchild_peak_within_five_percent);
    tcase_add_test(tc, oom_kills_are_counted);
    tcase_add_test(tc, close_kills_leftovers_and_removes_everything);
    tcase_add_test(tc, stale_runs_are_cleaned);
    tcase_add_test(tc, no_cgroup_is_explained);
    suite_add_tcase(s, tc);
    return s;
}

RAPT_TEST_MAIN(jobcg_suite)
