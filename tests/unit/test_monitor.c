/* test_monitor.c: the monitor module against its parsers, fixture sysroots and real processes.
 *
 * Rates are asserted exactly: each fixture comes as a t0 tree and the files that changed at t1
 * (tests/fixtures/monitor/README.md), and an injected clock advances exactly one second between
 * the two readings. Thresholds, hysteresis, trends and the ring are driven with synthetic
 * samples whose answers follow from their construction.
 */
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "os/os.h"
#include "rapt/monitor.h"
#include "rapt/sys.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define SEC 1000000000ull

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t fake_ns = 1000 * SEC;
static uint64_t fake_now(void *ud)
{
    (void)ud;
    return fake_ns;
}

static char tmpdir[4096];
static const char *copy_dst;
static size_t copy_src_len;

/* Copies one file or directory of a tree walk; existing files are rewritten in place (same
 * inode), which is how the kernel's files change under a reader that keeps them open. */
static int copy_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    char dst[8192];
    snprintf(dst, sizeof(dst), "%s%s", copy_dst, path + copy_src_len);
    if (type == FTW_D)
        return mkdir(dst, 0755) < 0 && errno != EEXIST ? -1 : 0;
    if (type != FTW_F)
        return 0;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(in, 0);
    ck_assert_int_ge(out, 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
    (void)st;
    return 0;
}

static void overlay(const char *src, const char *dst)
{
    copy_dst = dst;
    copy_src_len = strlen(src);
    ck_assert_int_eq(nftw(src, copy_one, 16, FTW_PHYS), 0);
}

/* A private copy of tests/fixtures/monitor/<name>; returns its path. */
static const char *stage(const char *name)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/rapt-test-monitor.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    char src[4096];
    snprintf(src, sizeof(src), "%s/monitor/%s", RAPT_FIXTURES, name);
    overlay(src, tmpdir);
    return tmpdir;
}

/* Writes the files of <name>.t1 over the staged copy and advances the clock one second. */
static void advance(const char *name)
{
    char src[4096];
    snprintf(src, sizeof(src), "%s/monitor/%s.t1", RAPT_FIXTURES, name);
    overlay(src, tmpdir);
    fake_ns += SEC;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void unstage(void)
{
    if (tmpdir[0])
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

static void put(const char *rel, const char *text)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s%s", tmpdir, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

#define ck_assert_near(a, b) ck_assert_double_eq_tol((a), (b), 1e-9)

/* Records alert and budget callbacks. */
typedef struct rec {
    rapt_monitor_alert alerts[64];
    size_t nalerts;
    rapt_monitor_budget budget;
    size_t nbudget, nsample;
} rec;

static void on_alert(void *ud, const rapt_monitor_alert *a)
{
    rec *r = ud;
    if (r->nalerts < 64)
        r->alerts[r->nalerts] = *a;
    r->nalerts++;
}

static void on_budget(void *ud, const rapt_monitor_budget *b)
{
    rec *r = ud;
    r->budget = *b;
    r->nbudget++;
}

static void on_sample(void *ud, const rapt_sample *s)
{
    rec *r = ud;
    (void)s;
    r->nsample++;
}

static rapt_monitor *create_on(const char *sysroot, const char *cgroup, rec *r)
{
    rapt_monitor_opts o;
    rapt_monitor_opts_init(&o);
    o.sysroot = sysroot;
    o.cgroup = cgroup;
    if (r) {
        o.on_alert = on_alert;
        o.alert_userdata = r;
        o.on_budget = on_budget;
        o.budget_userdata = r;
        o.on_sample = on_sample;
        o.sample_userdata = r;
    }
    rapt_monitor *m = NULL;
    ck_assert_int_eq(rapt_monitor_create(&m, &o), 0);
    rapt__monitor_set_clock(m, fake_now, NULL);
    return m;
}

/* A synthetic sample at time t seconds with every metric unknown but one. */
static rapt_sample synth(double t, rapt_metric metric, double v)
{
    rapt_sample s;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < RAPT_METRIC_COUNT; i++)
        s.value[i] = NAN;
    s.value[metric] = v;
    s.mono_ns = (uint64_t)(t * 1e9) + 5 * SEC;
    return s;
}

/* ---- parsers -------------------------------------------------------------------------------- */

START_TEST(parse_proc_stat_forms)
{
    rapt__cpu_times c;
    ck_assert_int_eq(rapt__parse_proc_stat("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 0 0 0 0\n", &c), 0);
    ck_assert_uint_eq(c.user, 1);
    ck_assert_uint_eq(c.idle, 4);
    ck_assert_uint_eq(c.steal, 8);
    /* Old kernels: only user nice system idle. */
    ck_assert_int_eq(rapt__parse_proc_stat("cpu 10 0 5 100\n", &c), 0);
    ck_assert_uint_eq(c.iowait, 0);
    ck_assert_uint_eq(c.idle, 100);
    ck_assert_int_eq(rapt__parse_proc_stat("cpu 10 0 5\n", &c), -EINVAL);
    ck_assert_int_eq(rapt__parse_proc_stat("cpu0 1 2 3 4\n", &c), -EINVAL);
    ck_assert_int_eq(rapt__parse_proc_stat("cpu 1 2 x 4\n", &c), -EINVAL);
    ck_assert_int_eq(rapt__parse_proc_stat("", &c), -EINVAL);
}
END_TEST

START_TEST(parse_diskstats_and_netdev_lines)
{
    rapt__devstat d;
    const char *l = "   8       0 sda 61702 9517 4666538 16459 9146 11160 1759752 5039 0 6756";
    ck_assert_int_eq(rapt__parse_diskstats_line(l, strlen(l), &d), 0);
    ck_assert_str_eq(d.name, "sda");
    ck_assert_uint_eq(d.a, 4666538ull * 512);
    ck_assert_uint_eq(d.b, 1759752ull * 512);
    l = "   8       1 sda1 1 2 3";
    ck_assert_int_eq(rapt__parse_diskstats_line(l, strlen(l), &d), -EINVAL);
    l = "garbage";
    ck_assert_int_eq(rapt__parse_diskstats_line(l, strlen(l), &d), -EINVAL);
    l = "8 0 a-device-name-that-is-far-too-long-for-us 1 2 3 4 5 6 7";
    ck_assert_int_eq(rapt__parse_diskstats_line(l, strlen(l), &d), -EINVAL);

    l = "  eth0:146064279 2636 0 0 0 0 0 0 102514 1437 0 0 0 0 0 0";
    ck_assert_int_eq(rapt__parse_netdev_line(l, strlen(l), &d), 0);
    ck_assert_str_eq(d.name, "eth0");
    ck_assert_uint_eq(d.a, 146064279);
    ck_assert_uint_eq(d.b, 102514);
    l = " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets";
    ck_assert_int_eq(rapt__parse_netdev_line(l, strlen(l), &d), -EINVAL);
    l = "Inter-|   Receive                                                |  Transmit";
    ck_assert_int_eq(rapt__parse_netdev_line(l, strlen(l), &d), -EINVAL);
    l = "  eth0: 1 2 3";
    ck_assert_int_eq(rapt__parse_netdev_line(l, strlen(l), &d), -EINVAL);
}
END_TEST

START_TEST(parse_pid_stat_fields)
{
    rapt__pidstat p;
    const char *s = "4242 (a) b) c (d) S 1 4200 4200 34816 4242 4194560 100 0 0 0 "
                    "250 50 -3 7 20 0 1 0 123456 9999 512 18446744073709551615 1 1\n";
    ck_assert_int_eq(rapt__parse_pid_stat(s, &p), 0);
    ck_assert_int_eq(p.pid, 4242);
    ck_assert_int_eq(p.state, 'S');
    ck_assert_int_eq(p.ppid, 1);
    ck_assert_int_eq(p.pgrp, 4200);
    ck_assert_uint_eq(p.utime, 250);
    ck_assert_uint_eq(p.stime, 50);
    ck_assert_uint_eq(p.cutime, 0); /* a negative count reads as none */
    ck_assert_uint_eq(p.cstime, 7);
    ck_assert_uint_eq(p.starttime, 123456);
    ck_assert_uint_eq(p.rss_pages, 512);
    /* Truncated before rss, no parentheses, pid 0, bad state. */
    ck_assert_int_eq(rapt__parse_pid_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5", &p),
                     -EINVAL);
    ck_assert_int_eq(rapt__parse_pid_stat("1 x S 1 1", &p), -EINVAL);
    ck_assert_int_eq(
        rapt__parse_pid_stat("0 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 1 1\n", &p), -EINVAL);
    ck_assert_int_eq(
        rapt__parse_pid_stat("1 (x) 5 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 1 1\n", &p), -EINVAL);

    /* The real thing. */
    rapt__root r;
    ck_assert_int_eq(rapt__root_open(&r, "/"), 0);
    rapt__kfile f;
    ck_assert_int_eq(rapt__pid_stat_open(&f, &r, getpid()), 0);
    char buf[1024];
    ck_assert_int_gt(rapt__kfile_read(&f, buf, sizeof(buf)), 0);
    ck_assert_int_eq(rapt__parse_pid_stat(buf, &p), 0);
    ck_assert_int_eq(p.pid, getpid());
    ck_assert_int_eq(p.pgrp, getpgrp());
    ck_assert_uint_gt(p.rss_pages, 0);
    rapt__kfile_close(&f);
    rapt__root_close(&r);
}
END_TEST

START_TEST(kfile_rereads_in_place)
{
    stage("v1-host");
    rapt__root r;
    ck_assert_int_eq(rapt__root_open(&r, tmpdir), 0);
    rapt__kfile f;
    ck_assert_int_eq(rapt__kfile_open(&f, &r, "/proc/pressure/io"), 0);
    char a[256], b[256];
    ck_assert_int_gt(rapt__kfile_read(&f, a, sizeof(a)), 0);
    put("/proc/pressure/io", "some avg10=9.00 avg60=0 avg300=0 total=1\n");
    ck_assert_int_gt(rapt__kfile_read(&f, b, sizeof(b)), 0);
    ck_assert_str_ne(a, b);
    ck_assert_str_eq(b, "some avg10=9.00 avg60=0 avg300=0 total=1\n");
    /* A short buffer truncates and stays NUL-terminated. */
    ck_assert_int_eq(rapt__kfile_read(&f, a, 5), 4);
    ck_assert_str_eq(a, "some");
    rapt__kfile_close(&f);
    ck_assert_int_eq(rapt__kfile_read(&f, a, sizeof(a)), -EBADF);
    ck_assert_int_eq(rapt__kfile_open(&f, &r, "/proc/nope"), -ENOENT);
    rapt__root_close(&r);
    unstage();
}
END_TEST

START_TEST(slurp_cache_keeps_files_open)
{
    stage("v1-host");
    rapt__root r;
    ck_assert_int_eq(rapt__root_open(&r, tmpdir), 0);
    ck_assert_ptr_null(r.cache);
    rapt__fdcache c;
    rapt__fdcache_init(&c);
    r.cache = &c;
    char buf[256];
    ck_assert_int_gt(rapt__slurp(&r, "/proc/pressure/cpu", buf, sizeof(buf)), 0);
    ck_assert_int_gt(rapt__slurp(&r, "/proc/pressure/io", buf, sizeof(buf)), 0);
    ck_assert_int_gt(rapt__slurp(&r, "/proc/pressure/cpu", buf, sizeof(buf)), 0);
    ck_assert_uint_eq(c.n, 2); /* each file opened once */
    /* Rewritten in place, as kernel files are: the kept fd reads the new content. */
    put("/proc/pressure/cpu", "some avg10=7.00 avg60=0 avg300=0 total=1\n");
    ck_assert_int_gt(rapt__slurp(&r, "/proc/pressure/cpu", buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "some avg10=7.00 avg60=0 avg300=0 total=1\n");
    /* What cannot be opened is not cached: it may appear later. */
    ck_assert_int_eq(rapt__slurp(&r, "/proc/pressure/nope", buf, sizeof(buf)), -ENOENT);
    ck_assert_uint_eq(c.n, 2);
    put("/proc/pressure/nope", "x\n");
    ck_assert_int_eq(rapt__slurp(&r, "/proc/pressure/nope", buf, sizeof(buf)), 2);
    ck_assert_uint_eq(c.n, 3);
    /* The refresh through the cache gives exactly what the public call gives. */
    rapt_sys_info a, b;
    rapt_sys_opts o;
    rapt_sys_opts_init(&o);
    o.sysroot = tmpdir;
    ck_assert_int_eq(rapt_sys_read(&o, &a), 0);
    b = a;
    advance("v1-host");
    ck_assert_int_eq(rapt_sys_refresh(&o, &a), 0);
    rapt__sys_refresh_at(&r, &b);
    rapt__sys_refresh_at(&r, &b);
    ck_assert_uint_eq(a.mem.available, b.mem.available);
    ck_assert_uint_eq(a.default_budget, b.default_budget);
    ck_assert_str_eq(a.mem.limit_where, b.mem.limit_where);
    ck_assert_double_eq(a.psi_system.memory.some.avg10, b.psi_system.memory.some.avg10);
    ck_assert_uint_gt(c.n, 10);
    rapt__fdcache_close(&c);
    ck_assert_uint_eq(c.n, 0);
    rapt__root_close(&r);
    unstage();
}
END_TEST

/* ---- thresholds and hysteresis ----------------------------------------------------------------
 */

START_TEST(hysteresis_levels)
{
    rapt_monitor_threshold t = {.enabled = true, .warning = 80, .critical = 95, .hysteresis = 5};
    struct {
        double v;
        rapt_alert_level want;
        double line;
    } steps[] = {
        {50, RAPT_ALERT_OK, NAN},       {80, RAPT_ALERT_WARNING, 80},  /* reaching the line */
        {78, RAPT_ALERT_WARNING, NAN},  {75, RAPT_ALERT_WARNING, NAN}, /* inside the band */
        {74.9, RAPT_ALERT_OK, 80},      {96, RAPT_ALERT_CRITICAL, 95}, /* straight to critical */
        {91, RAPT_ALERT_CRITICAL, NAN}, {89, RAPT_ALERT_WARNING, 95},  /* down one level */
        {NAN, RAPT_ALERT_WARNING, NAN}, {70, RAPT_ALERT_OK, 80},       /* unknown holds */
        {100, RAPT_ALERT_CRITICAL, 95}, {10, RAPT_ALERT_OK, 95},       /* all the way down */
    };
    rapt_alert_level cur = RAPT_ALERT_OK;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        double line;
        cur = rapt__alert_next(cur, steps[i].v, &t, &line);
        ck_assert_msg(cur == steps[i].want, "step %zu: value %g gave level %d, want %d", i,
                      steps[i].v, cur, steps[i].want);
        if (isnan(steps[i].line))
            ck_assert(isnan(line));
        else
            ck_assert_near(line, steps[i].line);
    }
    /* A disabled threshold clears the level, naming the line it leaves. */
    t.enabled = false;
    double line;
    ck_assert_int_eq(rapt__alert_next(RAPT_ALERT_CRITICAL, 99, &t, &line), RAPT_ALERT_OK);
    ck_assert_near(line, 95);
}
END_TEST

START_TEST(hovering_value_does_not_flap)
{
    rapt_monitor_threshold t = {.enabled = true, .warning = 85, .critical = 95, .hysteresis = 3};
    rapt_alert_level cur = RAPT_ALERT_OK;
    unsigned changes = 0;
    for (int i = 0; i < 1000; i++) {
        double line, v = i % 2 ? 85.2 : 84.8;
        rapt_alert_level next = rapt__alert_next(cur, v, &t, &line);
        changes += next != cur;
        cur = next;
    }
    ck_assert_uint_eq(changes, 1);
    ck_assert_int_eq(cur, RAPT_ALERT_WARNING);
    /* Without a band the same series alternates on every sample. */
    t.hysteresis = 0;
    cur = RAPT_ALERT_OK;
    changes = 0;
    for (int i = 0; i < 1000; i++) {
        double line, v = i % 2 ? 85.2 : 84.8;
        rapt_alert_level next = rapt__alert_next(cur, v, &t, &line);
        changes += next != cur;
        cur = next;
    }
    ck_assert_uint_eq(changes, 999);
}
END_TEST

START_TEST(alert_callbacks_fire_on_changes_only)
{
    rec r = {0};
    rapt_monitor *m = create_on(fixture("nolimits"), NULL, &r);
    double series[] = {10, 90, 91, 92, 99, 97, 88, 79, 50, 50};
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
        rapt_sample s = synth((double)i, RAPT_METRIC_MEMORY, series[i]);
        ck_assert_int_eq(rapt__monitor_feed(m, &s), 0);
    }
    /* Memory defaults 85/95 with a 3-point band: 90 warns, 99 is critical, 97 holds it, 88
     * falls back to warning (below 92), 79 clears (below 82). */
    ck_assert_uint_eq(r.nalerts, 4);
    rapt_alert_level want[] = {RAPT_ALERT_WARNING, RAPT_ALERT_CRITICAL, RAPT_ALERT_WARNING,
                               RAPT_ALERT_OK};
    uint64_t seqs[] = {2, 5, 7, 8};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(r.alerts[i].metric, RAPT_METRIC_MEMORY);
        ck_assert_int_eq(r.alerts[i].level, want[i]);
        ck_assert_uint_eq(r.alerts[i].seq, seqs[i]);
    }
    ck_assert_int_eq(r.alerts[1].previous, RAPT_ALERT_WARNING);
    ck_assert_near(r.alerts[1].value, 99);
    ck_assert_near(r.alerts[1].line, 95);
    ck_assert_uint_eq(r.nsample, 10);
    rapt_sample last;
    ck_assert_int_eq(rapt_monitor_get(m, 0, &last), 0);
    ck_assert_int_eq(last.level[RAPT_METRIC_MEMORY], RAPT_ALERT_OK);

    /* A threshold set at run time applies from the next sample. */
    rapt_monitor_threshold t = {.enabled = true, .warning = 40, .critical = 60, .hysteresis = 0};
    ck_assert_int_eq(rapt_monitor_set_threshold(m, RAPT_METRIC_MEMORY, &t), 0);
    rapt_sample s = synth(20, RAPT_METRIC_MEMORY, 50);
    ck_assert_int_eq(rapt__monitor_feed(m, &s), 0);
    ck_assert_uint_eq(r.nalerts, 5);
    ck_assert_int_eq(r.alerts[4].level, RAPT_ALERT_WARNING);
    rapt_monitor_threshold bad = {.enabled = true, .warning = 70, .critical = 60};
    ck_assert_int_eq(rapt_monitor_set_threshold(m, RAPT_METRIC_MEMORY, &bad), -EINVAL);
    bad = (rapt_monitor_threshold){.enabled = true, .warning = 1, .critical = 2, .hysteresis = -1};
    ck_assert_int_eq(rapt_monitor_set_threshold(m, RAPT_METRIC_MEMORY, &bad), -EINVAL);
    ck_assert_int_eq(rapt_monitor_set_threshold(m, RAPT_METRIC_COUNT, &t), -EINVAL);
    rapt_monitor_destroy(m);
}
END_TEST

START_TEST(default_thresholds_documented)
{
    rapt_monitor_threshold t;
    ck_assert_int_eq(rapt_monitor_threshold_default(RAPT_METRIC_CPU, &t), 0);
    ck_assert(t.enabled);
    ck_assert_near(t.warning, 80);
    ck_assert_near(t.critical, 95);
    ck_assert_int_eq(rapt_monitor_threshold_default(RAPT_METRIC_MEMORY, &t), 0);
    ck_assert_near(t.warning, 85);
    ck_assert_near(t.critical, 95);
    ck_assert_int_eq(rapt_monitor_threshold_default(RAPT_METRIC_DISK_READ, &t), 0);
    ck_assert(!t.enabled);
    ck_assert_int_eq(rapt_monitor_threshold_default(RAPT_METRIC_COUNT, &t), -EINVAL);
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        rapt_metric back;
        ck_assert_int_eq(rapt_monitor_metric_parse(rapt_monitor_metric_name(i), &back), 0);
        ck_assert_int_eq(back, i);
        ck_assert_ptr_nonnull(rapt_monitor_metric_unit(i));
    }
    rapt_metric x;
    ck_assert_int_eq(rapt_monitor_metric_parse("nope", &x), -EINVAL);
    ck_assert_ptr_null(rapt_monitor_metric_name(RAPT_METRIC_COUNT));
}
END_TEST

/* ---- trends ------------------------------------------------------------------------------------
 */

START_TEST(trend_known_slopes)
{
    double t[60], v[60];
    rapt_trend tr;
    for (int i = 0; i < 60; i++) {
        t[i] = i;
        v[i] = 3.0 * i + 7;
    }
    rapt__trend_fit(t, v, 60, 1, 0.05, &tr);
    ck_assert_int_eq(tr.dir, RAPT_TREND_INCREASING);
    ck_assert_near(tr.slope, 3);
    ck_assert_near(tr.change, 3 * 59);
    ck_assert_near(tr.mean, 3 * 29.5 + 7);
    ck_assert_uint_eq(tr.points, 60);

    for (int i = 0; i < 60; i++)
        v[i] = 100 - 0.5 * i;
    rapt__trend_fit(t, v, 60, 1, 0, &tr);
    ck_assert_int_eq(tr.dir, RAPT_TREND_DECREASING);
    ck_assert_near(tr.slope, -0.5);

    /* A tiny slope whose change across the window stays inside the tolerance is stable. */
    for (int i = 0; i < 60; i++)
        v[i] = 50 + 0.01 * i;
    rapt__trend_fit(t, v, 60, 1, 0, &tr);
    ck_assert_int_eq(tr.dir, RAPT_TREND_STABLE);
    ck_assert_near(tr.slope, 0.01);
    /* ...and so is noise around a constant: +-2 alternating on a mean of 50 with 5% tolerance. */
    for (int i = 0; i < 60; i++)
        v[i] = 50 + (i % 2 ? 2 : -2);
    rapt__trend_fit(t, v, 60, 0, 0.05, &tr);
    ck_assert_int_eq(tr.dir, RAPT_TREND_STABLE);
    ck_assert_near(tr.tolerance, 2.5);
}
END_TEST

START_TEST(trend_edges)
{
    double t[5] = {0, 1, 2, 3, 4}, v[5] = {1, NAN, 3, INFINITY, 5};
    rapt_trend tr;
    /* Unknown values are skipped: 1, 3, 5 at 0, 2, 4 is a slope of 1. */
    rapt__trend_fit(t, v, 5, 0, 0, &tr);
    ck_assert_uint_eq(tr.points, 3);
    ck_assert_near(tr.slope, 1);
    rapt__trend_fit(t, v, 2, 0, 0, &tr);
    ck_assert_int_eq(tr.dir, RAPT_TREND_UNKNOWN);
    double same[3] = {7, 7, 7};
    rapt__trend_fit(same, v, 3, 0, 0, &tr); /* all at one time */
    ck_assert_int_eq(tr.dir, RAPT_TREND_UNKNOWN);
    rapt__trend_fit(t, v, 0, 0, 0, &tr);
    ck_assert_int_eq(tr.dir, RAPT_TREND_UNKNOWN);
    ck_assert_uint_eq(tr.points, 0);
    /* Large time offsets (monotonic nanoseconds as seconds) keep full precision. */
    double bt[100], bv[100];
    for (int i = 0; i < 100; i++) {
        bt[i] = 1e9 + i * 0.1;
        bv[i] = 1e6 + 2.0 * (bt[i] - 1e9);
    }
    rapt__trend_fit(bt, bv, 100, 0, 0, &tr);
    ck_assert_double_eq_tol(tr.slope, 2, 1e-6);
}
END_TEST

START_TEST(trend_over_time_window)
{
    rapt_monitor_opts o;
    rapt_monitor_opts_init(&o);
    o.sysroot = fixture("nolimits");
    o.trend_window_ns = 60 * SEC;
    rapt_monitor *m;
    ck_assert_int_eq(rapt_monitor_create(&m, &o), 0);
    /* 100 s of memory rising 0.5 %/s, after 100 s of it falling: only the last 60 s count. */
    for (int i = 0; i < 200; i++) {
        double v = i < 100 ? 90 - 0.5 * i : 40 + 0.5 * (i - 100);
        rapt_sample s = synth(i, RAPT_METRIC_MEMORY, v);
        ck_assert_int_eq(rapt__monitor_feed(m, &s), 0);
    }
    rapt_trend tr;
    ck_assert_int_eq(rapt_monitor_trend(m, RAPT_METRIC_MEMORY, &tr), 0);
    ck_assert_int_eq(tr.dir, RAPT_TREND_INCREASING);
    ck_assert_near(tr.slope, 0.5);
    ck_assert_uint_eq(tr.points, 61);
    ck_assert_near(tr.span_s, 60);
    ck_assert_int_eq(rapt_monitor_trend(m, RAPT_METRIC_CPU, &tr), 0);
    ck_assert_int_eq(tr.dir, RAPT_TREND_UNKNOWN);
    ck_assert_int_eq(rapt_monitor_trend(m, RAPT_METRIC_COUNT, &tr), -EINVAL);
    rapt_monitor_destroy(m);
}
END_TEST

/* ---- the ring
 * ------------------------------------------------------------------------------------ */

START_TEST(ring_wraps)
{
    rapt_monitor_opts o;
    rapt_monitor_opts_init(&o);
    o.sysroot = fixture("nolimits");
    o.capacity = 5;
    rapt_monitor *m;
    ck_assert_int_eq(rapt_monitor_create(&m, &o), 0);
    rapt_sample s, h[8];
    ck_assert_int_eq(rapt_monitor_get(m, 0, &s), -ENOENT);
    ck_assert_uint_eq(rapt_monitor_history(m, h, 8), 0);
    for (int i = 0; i < 12; i++) {
        s = synth(i, RAPT_METRIC_CPU, i);
        ck_assert_int_eq(rapt__monitor_feed(m, &s), 0);
    }
    ck_assert_uint_eq(rapt_monitor_count(m), 5);
    ck_assert_int_eq(rapt_monitor_get(m, 0, &s), 0);
    ck_assert_uint_eq(s.seq, 12);
    ck_assert_near(s.value[RAPT_METRIC_CPU], 11);
    ck_assert_int_eq(rapt_monitor_get(m, 4, &s), 0);
    ck_assert_uint_eq(s.seq, 8);
    ck_assert_int_eq(rapt_monitor_get(m, 5, &s), -ENOENT);
    ck_assert_uint_eq(rapt_monitor_history(m, h, 8), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(h[i].seq, 8 + (uint64_t)i); /* oldest first */
    ck_assert_uint_eq(rapt_monitor_history(m, h, 2), 2);
    ck_assert_uint_eq(h[0].seq, 11);
    ck_assert_uint_eq(h[1].seq, 12);
    rapt_monitor_destroy(m);
}
END_TEST

START_TEST(create_rejects_bad_options)
{
    rapt_monitor_opts o;
    rapt_monitor *m = (rapt_monitor *)&o;
    rapt_monitor_opts_init(&o);
    o.capacity = 0;
    ck_assert_int_eq(rapt_monitor_create(&m, &o), -EINVAL);
    ck_assert_ptr_null(m);
    rapt_monitor_opts_init(&o);
    o.eta = 0;
    ck_assert_int_eq(rapt_monitor_create(&m, &o), -EINVAL);
    rapt_monitor_opts_init(&o);
    o.thresholds[RAPT_METRIC_CPU].warning = NAN;
    ck_assert_int_eq(rapt_monitor_create(&m, &o), -EINVAL);
    rapt_monitor_opts_init(&o);
    o.sysroot = "/nonexistent/rapt";
    ck_assert_int_eq(rapt_monitor_create(&m, &o), -ENOENT);
    ck_assert_int_eq(rapt_monitor_create(NULL, NULL), -EINVAL);
    rapt_monitor_destroy(NULL);
    ck_assert_int_eq(rapt_monitor_sample(NULL, NULL), -EINVAL);
}
END_TEST

/* ---- readers against fixtures
 * -------------------------------------------------------------------- */

START_TEST(v1_host_rates_and_figures)
{
    rec r = {0};
    stage("v1-host");
    rapt_monitor *m = create_on(tmpdir, NULL, &r);
    rapt_sample s;
    /* The first sample sees no change: no time passed in the kernel's counters. */
    fake_ns += SEC;
    ck_assert_int_eq(rapt_monitor_sample(m, &s), 0);
    ck_assert(isnan(s.value[RAPT_METRIC_CPU]));
    ck_assert_near(s.value[RAPT_METRIC_DISK_READ], 0);
    ck_assert_near(s.value[RAPT_METRIC_PSI_CPU], 5);
    ck_assert_uint_eq(r.nalerts, 0);

    advance("v1-host");
    ck_assert_int_eq(rapt_monitor_sample(m, &s), 0);
    ck_assert_uint_eq(s.seq, 2);
    ck_assert_near(s.interval_s, 1);
    /* /proc/stat: +60 user +20 system +100 idle +10 iowait +10 steal = 200 ticks. */
    ck_assert_near(s.value[RAPT_METRIC_CPU], 40);
    ck_assert_near(s.cpu_iowait_pct, 5);
    ck_assert_near(s.cpu_steal_pct, 5);
    ck_assert_uint_eq(s.cpus_online, 4);
    /* cpuacct: +0.5 s in 1 s on a 2-CPU quota (4 CPUs allowed). */
    ck_assert_near(s.cgroup_cpu_cores, 0.5);
    ck_assert_near(s.cgroup_cpu_capacity, 2);
    ck_assert_near(s.value[RAPT_METRIC_CGROUP_CPU], 25);
    /* Memory: 1 GiB limit, 600 MiB used of which 88 MiB inactive cache -> 512 MiB available. */
    ck_assert(s.mem_known);
    ck_assert_uint_eq(s.mem_limit, GIB);
    ck_assert_uint_eq(s.mem_available, 512 * MIB);
    ck_assert_uint_eq(s.mem_used, 512 * MIB);
    ck_assert_near(s.value[RAPT_METRIC_MEMORY], 50);
    uint64_t reserve = GIB - (uint64_t)llround(0.85 * (double)GIB);
    ck_assert_uint_eq(s.mem_budget, 512 * MIB - reserve);
    ck_assert(s.cgroup_mem_known);
    ck_assert_uint_eq(s.cgroup_mem_usage, 600 * MIB);
    /* Swap: 512 MiB of 2 GiB. */
    ck_assert_uint_eq(s.swap_total, 2 * GIB);
    ck_assert_uint_eq(s.swap_used, 512 * MIB);
    ck_assert_near(s.value[RAPT_METRIC_SWAP], 25);
    /* Pressure: the fixture has no cgroup v2 pressure files, so the system's. */
    ck_assert_int_eq(s.psi_scope, RAPT_PSI_SYSTEM);
    ck_assert_near(s.value[RAPT_METRIC_PSI_CPU], 55);
    ck_assert_near(s.value[RAPT_METRIC_PSI_MEMORY], 12.5);
    ck_assert_near(s.psi_memory_full, 4);
    ck_assert_near(s.value[RAPT_METRIC_PSI_IO], 1);
    ck_assert_near(s.psi_io_full, 0.5);
    /* Disks: only sda counts (sda1 is a partition, loop0 and dm-0 are virtual, sdb is new). */
    ck_assert_near(s.value[RAPT_METRIC_DISK_READ], 2048.0 * 512);
    ck_assert_near(s.value[RAPT_METRIC_DISK_WRITE], 4096.0 * 512);
    /* Interfaces: eth0 and eth1 (lo left out, wlan0 new). */
    ck_assert_near(s.value[RAPT_METRIC_NET_RX], 1000000 + 100000);
    ck_assert_near(s.value[RAPT_METRIC_NET_TX], 500000);
    /* CPU pressure 55 and memory pressure 12.5 cross their warning lines (50, 10). */
    ck_assert_uint_eq(r.nalerts, 2);
    ck_assert_int_eq(r.alerts[0].metric, RAPT_METRIC_PSI_CPU);
    ck_assert_int_eq(r.alerts[0].level, RAPT_ALERT_WARNING);
    ck_assert_int_eq(r.alerts[1].metric, RAPT_METRIC_PSI_MEMORY);
    ck_assert_int_eq(s.level[RAPT_METRIC_PSI_MEMORY], RAPT_ALERT_WARNING);
    ck_assert_int_eq(s.level[RAPT_METRIC_MEMORY], RAPT_ALERT_OK);
    /* The budget hook saw the same figures. */
    ck_assert_uint_eq(r.nbudget, 2);
    ck_assert_uint_eq(r.budget.budget, s.mem_budget);
    ck_assert_uint_eq(r.budget.limit, GIB);
    ck_assert_uint_eq(r.budget.seq, 2);
    ck_assert_near(r.budget.psi_memory_some, 12.5);

    rapt_monitor_scope sc;
    ck_assert_int_eq(rapt_monitor_get_scope(m, &sc), 0);
    ck_assert(sc.own);
    ck_assert_int_eq(sc.cgroup_version, RAPT_CGROUP_V1);
    ck_assert_str_eq(sc.cgroup_dir, "/sys/fs/cgroup/memory/rapt");
    ck_assert_str_eq(sc.cpu_dir, "/sys/fs/cgroup/cpuacct/rapt");
    ck_assert_int_eq(sc.mem_limit_bound, RAPT_BOUND_CGROUP);
    ck_assert_str_eq(sc.mem_limit_source, "/sys/fs/cgroup/memory/rapt/memory.limit_in_bytes");
    rapt_monitor_destroy(m);
    unstage();
}
END_TEST

START_TEST(v1_host_jobs)
{
    stage("v1-host");
    rapt_monitor *m = create_on(tmpdir, NULL, NULL);
    rapt_monitor_job_spec js;
    rapt_monitor_job_spec_init(&js);
    js.id = 1;
    js.kind = RAPT_MONITOR_JOB_PGID;
    js.pid = 100;
    js.label = "sh -c 'leader; child'";
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), -EEXIST);
    js.id = 2;
    js.kind = RAPT_MONITOR_JOB_PID;
    js.pid = 200;
    js.label = NULL;
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    js.id = 3;
    js.kind = RAPT_MONITOR_JOB_CGROUP;
    js.cgroup = "/sys/fs/cgroup/memory/rapt/job1";
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    js.id = 4;
    js.cgroup = "/sys/fs/cgroup/memory/rapt/nope";
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), -ENOENT);
    js.cgroup = "/proc";
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), RAPT_ENOTCGROUP);
    js.kind = RAPT_MONITOR_JOB_PID;
    js.pid = 0;
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), -EINVAL);
    /* A process that is already gone is tracked, as not alive. */
    js.pid = 999999;
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    /* A "group" named by a pid that leads none (101 is in group 100) follows that process. */
    js.id = 5;
    js.kind = RAPT_MONITOR_JOB_PGID;
    js.pid = 101;
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    rapt_monitor_job all[8];
    ck_assert_uint_eq(rapt_monitor_jobs(m, all, 8), 5);
    ck_assert_uint_eq(all[4].id, 5);
    ck_assert(all[4].alive);
    ck_assert_uint_eq(all[4].nprocs, 1);
    ck_assert_uint_eq(all[4].memory, 500ull * (uint64_t)sysconf(_SC_PAGESIZE));
    ck_assert_int_eq(rapt_monitor_job_remove(m, 5), 0);

    /* First sample at t0 finds the rest of group 100 (a child and a zombie). */
    fake_ns += SEC;
    ck_assert_int_eq(rapt_monitor_sample(m, NULL), 0);
    advance("v1-host");
    rapt_sample s;
    ck_assert_int_eq(rapt_monitor_sample(m, &s), 0);
    rapt_monitor_job j[8];
    ck_assert_uint_eq(rapt_monitor_jobs(m, j, 8), 4);
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    /* Group 100: leader +100 ticks, child +50, the zombie's 30 unchanged; RSS of the two live
     * processes (2000 + 500 pages). */
    ck_assert_uint_eq(j[0].id, 1);
    ck_assert_str_eq(j[0].label, "sh -c 'leader; child'");
    ck_assert(j[0].alive);
    ck_assert_uint_eq(j[0].nprocs, 2);
    ck_assert_uint_eq(j[0].memory, 2500ull * (uint64_t)page);
    ck_assert_uint_eq(j[0].memory_peak, 2500ull * (uint64_t)page);
    ck_assert_near(j[0].cpu_pct, 150.0 * 100 / (double)tck);
    ck_assert_near(j[0].cpu_s, 240.0 / (double)tck);
    /* Pid 200: one process, no change. */
    ck_assert_uint_eq(j[1].nprocs, 1);
    ck_assert_uint_eq(j[1].memory, 100ull * (uint64_t)page);
    ck_assert_near(j[1].cpu_pct, 0);
    ck_assert_str_eq(j[1].label, "");
    /* The cgroup job: usage 150 MiB, the kernel's peak 180 MiB, +0.25 s CPU, 2 processes. */
    ck_assert_uint_eq(j[2].memory, 150 * MIB);
    ck_assert_uint_eq(j[2].memory_peak, 180 * MIB);
    ck_assert_near(j[2].cpu_pct, 25);
    ck_assert_uint_eq(j[2].nprocs, 2);
    ck_assert(!j[3].alive);
    ck_assert_uint_eq(s.jobs_tracked, 4);
    ck_assert_uint_eq(s.jobs_alive, 3);
    ck_assert_near(s.value[RAPT_METRIC_JOBS_MEMORY],
                   (double)(2600ull * (uint64_t)page + 150 * MIB));
    ck_assert_near(s.jobs_cpu_cores, 1.5 * 100 / (double)tck + 0.25);

    /* Pid 101 is reused by another process (a different start time): the old member leaves the
     * group at once; the new process joins at the next scan, a second later. */
    put("/proc/101/stat", "101 (reused) S 100 100 100 0 -1 0 0 0 0 0 7 0 0 0 20 0 1 0 9999 1 300 "
                          "0 0 0 0\n");
    fake_ns += SEC / 2;
    ck_assert_int_eq(rapt_monitor_sample(m, NULL), 0);
    ck_assert_uint_eq(rapt_monitor_jobs(m, j, 8), 4);
    ck_assert_uint_eq(j[0].nprocs, 1);
    fake_ns += SEC;
    ck_assert_int_eq(rapt_monitor_sample(m, NULL), 0);
    ck_assert_uint_eq(rapt_monitor_jobs(m, j, 8), 4);
    ck_assert_uint_eq(j[0].nprocs, 2);
    ck_assert_uint_eq(j[0].memory, 2300ull * (uint64_t)page);
    ck_assert_uint_eq(j[0].memory_peak, 2500ull * (uint64_t)page);

    ck_assert_int_eq(rapt_monitor_job_remove(m, 2), 0);
    ck_assert_int_eq(rapt_monitor_job_remove(m, 2), -ENOENT);
    ck_assert_uint_eq(rapt_monitor_jobs(m, j, 8), 3);
    ck_assert_uint_eq(j[1].id, 3); /* order kept */
    rapt_monitor_destroy(m);
    unstage();
}
END_TEST

START_TEST(v2_foreign_cgroup)
{
    rec r = {0};
    stage("v2-pod");
    rapt_monitor *m = create_on(tmpdir, "/sys/fs/cgroup/pod/app", &r);
    rapt_monitor_job_spec js;
    rapt_monitor_job_spec_init(&js);
    js.id = 7;
    js.kind = RAPT_MONITOR_JOB_CGROUP;
    js.cgroup = "/sys/fs/cgroup/pod/job7";
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    advance("v2-pod");
    rapt_sample s;
    ck_assert_int_eq(rapt_monitor_sample(m, &s), 0);
    /* The pod's 1 GiB binds (the app's own memory.max is "max"); 700 MiB charged, 100 MiB of it
     * inactive cache. */
    ck_assert(s.mem_known);
    ck_assert_uint_eq(s.mem_limit, GIB);
    ck_assert_uint_eq(s.mem_used, 600 * MIB);
    ck_assert_uint_eq(s.mem_available, 424 * MIB);
    ck_assert_near(s.value[RAPT_METRIC_MEMORY], 600.0 / 1024 * 100);
    uint64_t reserve = GIB - (uint64_t)llround(0.85 * (double)GIB);
    ck_assert_uint_eq(s.mem_budget, 424 * MIB - reserve);
    ck_assert_uint_eq(s.cgroup_mem_usage, 700 * MIB);
    /* usage_usec +0.8 s in 1 s, on the app's own 2-CPU quota. */
    ck_assert_near(s.cgroup_cpu_cores, 0.8);
    ck_assert_near(s.cgroup_cpu_capacity, 2);
    ck_assert_near(s.value[RAPT_METRIC_CGROUP_CPU], 40);
    /* The app's own pressure: memory some 35 is critical (30), full 20. */
    ck_assert_int_eq(s.psi_scope, RAPT_PSI_CGROUP);
    ck_assert_near(s.value[RAPT_METRIC_PSI_MEMORY], 35);
    ck_assert_near(s.psi_memory_full, 20);
    ck_assert_near(s.value[RAPT_METRIC_PSI_IO], 2);
    ck_assert_int_eq(s.level[RAPT_METRIC_PSI_MEMORY], RAPT_ALERT_CRITICAL);
    ck_assert_uint_eq(r.nalerts, 1);
    /* No swap configured: unknown, not 0 %. */
    ck_assert(isnan(s.value[RAPT_METRIC_SWAP]));
    ck_assert_near(s.value[RAPT_METRIC_CPU], 10);

    rapt_monitor_scope sc;
    ck_assert_int_eq(rapt_monitor_get_scope(m, &sc), 0);
    ck_assert(!sc.own);
    ck_assert_int_eq(sc.cgroup_version, RAPT_CGROUP_V2);
    ck_assert_str_eq(sc.mem_limit_source, "/sys/fs/cgroup/pod/memory.max");
    ck_assert_int_eq(sc.mem_limit_bound, RAPT_BOUND_CGROUP);

    rapt_monitor_job j;
    ck_assert_uint_eq(rapt_monitor_jobs(m, &j, 1), 1);
    ck_assert_uint_eq(j.memory, 48 * MIB);
    ck_assert_uint_eq(j.memory_peak, 64 * MIB);
    ck_assert_near(j.cpu_pct, 10);
    ck_assert_uint_eq(j.nprocs, 1);
    rapt_monitor_destroy(m);

    /* A directory that is not a memory cgroup, and one that does not exist. */
    rapt_monitor_opts o;
    rapt_monitor_opts_init(&o);
    o.sysroot = tmpdir;
    o.cgroup = "/sys/fs/cgroup/pod/notmemory";
    ck_assert_int_eq(rapt_monitor_create(&m, &o), RAPT_ENOTCGROUP);
    o.cgroup = "/sys/fs/cgroup/pod/nope";
    ck_assert_int_eq(rapt_monitor_create(&m, &o), -ENOENT);
    unstage();
}
END_TEST

START_TEST(broken_machines_do_not_crash)
{
    static const char *const names[] = {"garbage", "missing", "v1-garbage-limits", "nolimits"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        rapt_monitor *m = create_on(fixture(names[i]), NULL, NULL);
        rapt_sample s;
        for (int k = 0; k < 3; k++) {
            fake_ns += SEC;
            ck_assert_int_eq(rapt_monitor_sample(m, &s), 0);
        }
        /* No /proc/stat, diskstats or net/dev in these trees: unknown, never a made-up 0. */
        ck_assert(isnan(s.value[RAPT_METRIC_CPU]));
        ck_assert(isnan(s.value[RAPT_METRIC_DISK_READ]));
        ck_assert(isnan(s.value[RAPT_METRIC_NET_RX]));
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_int_eq(rapt_monitor_print_json(m, f), 0);
        ck_assert_int_eq(rapt_monitor_print_prometheus(m, f), 0);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(buf, "\"cpu\":{\"pct\":null"));
        free(buf);
        rapt_monitor_destroy(m);
    }
}
END_TEST

/* ---- output -----------------------------------------------------------------------------------
 */

START_TEST(json_and_prometheus_output)
{
    stage("v1-host");
    rapt_monitor *m = create_on(tmpdir, NULL, NULL);
    char path[8192];
    snprintf(path, sizeof(path), "%s/metrics.prom", tmpdir);
    ck_assert_int_eq(rapt_monitor_write_prometheus(m, path), -ENOENT); /* no sample yet */
    ck_assert_int_eq(rapt_monitor_print_json(m, stdout), -ENOENT);
    rapt_monitor_job_spec js;
    rapt_monitor_job_spec_init(&js);
    js.id = 42;
    js.kind = RAPT_MONITOR_JOB_PGID;
    js.pid = 100;
    js.label = "say \"hi\"\n";
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    fake_ns += SEC;
    ck_assert_int_eq(rapt_monitor_sample(m, NULL), 0);
    advance("v1-host");
    ck_assert_int_eq(rapt_monitor_sample(m, NULL), 0);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(rapt_monitor_print_json(m, f), 0);
    fclose(f);
    ck_assert_int_eq(buf[len - 1], '\n');
    ck_assert_ptr_null(memchr(buf, '\n', len - 1)); /* one line */
    ck_assert_ptr_nonnull(strstr(buf, "{\"v\":1,\"t\":"));
    ck_assert_ptr_nonnull(strstr(buf, "\"memory\":{\"pct\":50,"));
    ck_assert_ptr_nonnull(strstr(buf, "\"label\":\"say \\\"hi\\\"\\n\""));
    ck_assert_ptr_nonnull(strstr(buf, "{\"metric\":\"psi_cpu\",\"level\":\"warning\""));
    free(buf);

    ck_assert_int_eq(rapt_monitor_write_prometheus(m, path), 0);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    bool limit = false, busy = false, job = false, alert = false;
    while (fgets(line, sizeof(line), f)) {
        limit |= strcmp(line, "rapt_memory_limit_bytes{bound=\"cgroup\",source=\"/sys/fs/cgroup/"
                              "memory/rapt/memory.limit_in_bytes\"} 1073741824\n") == 0;
        busy |= strcmp(line, "rapt_cpu_busy_ratio 0.4\n") == 0;
        const char *jp = "rapt_job_memory_bytes{id=\"42\",pid=\"100\"} ";
        job |= strncmp(line, jp, strlen(jp)) == 0;
        alert |= strcmp(line, "rapt_alert_level{metric=\"psi_cpu\"} 1\n") == 0;
    }
    fclose(f);
    ck_assert(limit && busy && job && alert);
    /* Nothing temporary is left next to it. */
    char tmp[8192];
    snprintf(tmp, sizeof(tmp), "%s/.metrics.prom.%ld.tmp", tmpdir, (long)getpid());
    ck_assert_int_eq(access(tmp, F_OK), -1);
    /* A missing directory fails cleanly; a directory in the way fails at the rename. */
    snprintf(path, sizeof(path), "%s/nope/metrics.prom", tmpdir);
    ck_assert_int_eq(rapt_monitor_write_prometheus(m, path), -ENOENT);
    snprintf(path, sizeof(path), "%s/dir.prom", tmpdir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    char sub[8300];
    snprintf(sub, sizeof(sub), "%s/x", path);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_lt(rapt_monitor_write_prometheus(m, path), 0);
    snprintf(tmp, sizeof(tmp), "%s/.dir.prom.%ld.tmp", tmpdir, (long)getpid());
    ck_assert_int_eq(access(tmp, F_OK), -1);
    rapt_monitor_destroy(m);
    unstage();
}
END_TEST

/* ---- real processes -------------------------------------------------------------------------- */

/* Starts the test child in its own process group; waits for it to create `ready`. */
static pid_t spawn_child(const char *const argv[], const char *ready)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        execv(RAPT_TESTCHILD, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid); /* either side may win the race; both ask for the same */
    while (access(ready, F_OK) != 0) {
        int st;
        ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0); /* it must not have died */
        usleep(10000);
    }
    return pid;
}

START_TEST(real_process_group)
{
    char ready[64], ready2[80];
    snprintf(ready, sizeof(ready), "/tmp/rapt-test-monitor-ready.%ld", (long)getpid());
    snprintf(ready2, sizeof(ready2), "%s.2", ready);
    unlink(ready);
    unlink(ready2);
    /* A leader holding 8 MiB and a child in its group holding 24 MiB. */
    const char *argv[] = {
        "rapt-testchild", "alloc", "8",  "fork",  "alloc", "24",    "touch", ready2,
        "sleep",          "30",    ";;", "touch", ready,   "sleep", "30",    NULL};
    pid_t pid = spawn_child(argv, ready);
    while (access(ready2, F_OK) != 0)
        usleep(10000);
    rapt_monitor_opts o;
    rapt_monitor_opts_init(&o);
    o.pgrp_rescan_ns = 1; /* every sample */
    rapt_monitor *m;
    ck_assert_int_eq(rapt_monitor_create(&m, &o), 0);
    rapt_monitor_job_spec js;
    rapt_monitor_job_spec_init(&js);
    js.id = 1;
    js.kind = RAPT_MONITOR_JOB_PGID;
    js.pid = pid;
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    rapt_sample s;
    ck_assert_int_eq(rapt_monitor_sample(m, &s), 0);
    rapt_monitor_job j;
    ck_assert_uint_eq(rapt_monitor_jobs(m, &j, 1), 1);
    ck_assert(j.alive);
    ck_assert_uint_eq(j.nprocs, 2);
    ck_assert_uint_ge(j.memory, 32 * MIB);
    ck_assert(s.mem_known);
    ck_assert(isfinite(s.value[RAPT_METRIC_MEMORY]));

    killpg(pid, SIGKILL);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    /* The child was reparented and is reaped by whoever adopted it; wait until it is gone. */
    for (;;) {
        ck_assert_int_eq(rapt_monitor_sample(m, NULL), 0);
        ck_assert_uint_eq(rapt_monitor_jobs(m, &j, 1), 1);
        if (!j.alive)
            break;
        usleep(10000);
    }
    ck_assert_uint_eq(j.nprocs, 0);
    ck_assert_uint_eq(j.memory, 0);
    ck_assert_uint_ge(j.memory_peak, 32 * MIB);
    rapt_monitor_destroy(m);
    unlink(ready);
    unlink(ready2);
}
END_TEST

START_TEST(real_process_cpu)
{
    char ready[64];
    snprintf(ready, sizeof(ready), "/tmp/rapt-test-monitor-spun.%ld", (long)getpid());
    unlink(ready);
    const char *argv[] = {"rapt-testchild", "spin", "0.3", "touch", ready, "sleep", "30", NULL};
    rapt_monitor *m;
    ck_assert_int_eq(rapt_monitor_create(&m, NULL), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execv(RAPT_TESTCHILD, (char *const *)argv);
        _exit(127);
    }
    rapt_monitor_job_spec js;
    rapt_monitor_job_spec_init(&js);
    js.id = 9;
    js.kind = RAPT_MONITOR_JOB_PID;
    js.pid = pid;
    ck_assert_int_eq(rapt_monitor_job_add(m, &js), 0);
    while (access(ready, F_OK) != 0)
        usleep(10000);
    ck_assert_int_eq(rapt_monitor_sample(m, NULL), 0);
    rapt_monitor_job j;
    ck_assert_uint_eq(rapt_monitor_jobs(m, &j, 1), 1);
    /* It burnt CPU between the add and the sample; how much depends on the machine. */
    ck_assert(j.cpu_s > 0);
    ck_assert(j.cpu_pct > 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    rapt_monitor_destroy(m);
    unlink(ready);
}
END_TEST

/* ---- the sampling thread --------------------------------------------------------------------- */

typedef struct thread_rec {
    rapt_monitor *m;
    pthread_mutex_t lock;
    unsigned samples;
    int stop_rc;
    bool get_ok;
} thread_rec;

static void thread_on_sample(void *ud, const rapt_sample *s)
{
    thread_rec *t = ud;
    rapt_sample back;
    /* Callbacks run without the monitor's lock: the API is usable, stop is refused. */
    int get = rapt_monitor_get(t->m, 0, &back);
    int stop = rapt_monitor_stop(t->m);
    pthread_mutex_lock(&t->lock);
    t->samples++;
    t->get_ok = get == 0 && back.seq == s->seq;
    t->stop_rc = stop;
    pthread_mutex_unlock(&t->lock);
}

static void *reader(void *arg)
{
    rapt_monitor *m = arg;
    rapt_sample h[16];
    rapt_trend tr;
    rapt_monitor_job jb[2];
    for (int i = 0; i < 200; i++) {
        rapt_monitor_history(m, h, 16);
        rapt_monitor_trend(m, RAPT_METRIC_CPU, &tr);
        rapt_monitor_jobs(m, jb, 2);
    }
    return NULL;
}

static void *stopper(void *arg)
{
    return rapt_monitor_stop(arg) == 0 ? NULL : arg;
}

START_TEST(thread_samples_and_stops)
{
    thread_rec t = {.stop_rc = 1};
    pthread_mutex_init(&t.lock, NULL);
    rapt_monitor_opts o;
    rapt_monitor_opts_init(&o);
    o.on_sample = thread_on_sample;
    o.sample_userdata = &t;
    o.capacity = 8;
    ck_assert_int_eq(rapt_monitor_create(&t.m, &o), 0);
    ck_assert_int_eq(rapt_monitor_start(t.m, 0), -EINVAL);
    ck_assert_int_eq(rapt_monitor_start(t.m, 2000000), 0);
    ck_assert_int_eq(rapt_monitor_start(t.m, 2000000), -EBUSY);
    ck_assert_int_eq(rapt_monitor_sample(t.m, NULL), -EBUSY);
    pthread_t rd;
    ck_assert_int_eq(pthread_create(&rd, NULL, reader, t.m), 0);
    rapt_monitor_job_spec js;
    rapt_monitor_job_spec_init(&js);
    js.id = 1;
    js.kind = RAPT_MONITOR_JOB_PID;
    js.pid = getpid();
    ck_assert_int_eq(rapt_monitor_job_add(t.m, &js), 0);
    for (;;) {
        pthread_mutex_lock(&t.lock);
        unsigned n = t.samples;
        pthread_mutex_unlock(&t.lock);
        if (n >= 10)
            break;
        usleep(1000);
    }
    pthread_join(rd, NULL);
    /* Two stops at once: one joins, the other waits for it; both return 0. */
    pthread_t st;
    ck_assert_int_eq(pthread_create(&st, NULL, stopper, t.m), 0);
    ck_assert_int_eq(rapt_monitor_stop(t.m), 0);
    void *other;
    pthread_join(st, &other);
    ck_assert_ptr_null(other);
    ck_assert_int_eq(rapt_monitor_stop(t.m), 0);
    pthread_mutex_lock(&t.lock);
    unsigned n = t.samples;
    ck_assert_int_eq(t.stop_rc, -EDEADLK);
    ck_assert(t.get_ok);
    pthread_mutex_unlock(&t.lock);
    ck_assert_uint_eq(rapt_monitor_count(t.m), 8);
    rapt_sample s;
    ck_assert_int_eq(rapt_monitor_get(t.m, 0, &s), 0);
    ck_assert_uint_eq(s.seq, n);
    /* Stopped: the caller drives it again. */
    ck_assert_int_eq(rapt_monitor_sample(t.m, NULL), 0);
    ck_assert_int_eq(rapt_monitor_start(t.m, 1000000), 0);
    rapt_monitor_destroy(t.m); /* stops the running thread itself */
    pthread_mutex_destroy(&t.lock);
}
END_TEST

Suite *monitor_suite(void);
Suite *monitor_suite(void)
{
    Suite *s = suite_create("monitor");
    RAPT_TCASE(s, parse_proc_stat_forms, 10);
    RAPT_TCASE(s, parse_diskstats_and_netdev_lines, 10);
    RAPT_TCASE(s, parse_pid_stat_fields, 10);
    RAPT_TCASE(s, kfile_rereads_in_place, 10);
    RAPT_TCASE(s, slurp_cache_keeps_files_open, 10);
    RAPT_TCASE(s, hysteresis_levels, 10);
    RAPT_TCASE(s, hovering_value_does_not_flap, 10);
    RAPT_TCASE(s, alert_callbacks_fire_on_changes_only, 10);
    RAPT_TCASE(s, default_thresholds_documented, 10);
    RAPT_TCASE(s, trend_known_slopes, 10);
    RAPT_TCASE(s, trend_edges, 10);
    RAPT_TCASE(s, trend_over_time_window, 10);
    RAPT_TCASE(s, ring_wraps, 10);
    RAPT_TCASE(s, create_rejects_bad_options, 10);
    RAPT_TCASE(s, v1_host_rates_and_figures, 10);
    RAPT_TCASE(s, v1_host_jobs, 10);
    RAPT_TCASE(s, v2_foreign_cgroup, 10);
    RAPT_TCASE(s, broken_machines_do_not_crash, 10);
    RAPT_TCASE(s, json_and_prometheus_output, 10);
    RAPT_TCASE(s, real_process_group, 30);
    RAPT_TCASE(s, real_process_cpu, 30);
    RAPT_TCASE(s, thread_samples_and_stops, 30);
    return s;
}

RAPT_TEST_MAIN(monitor_suite)
