/* monitor.c: periodic samples, the ring that keeps them, thresholds, alerts and trends.
 *
 * Owns the rapt_monitor handle: the kept-open kernel files and the previous counter values that
 * turn them into rates, the sys module's view refreshed every sample, the ring of samples, the
 * alert level of every metric, the tracked jobs, and the optional sampling thread.
 *
 * Memory figures are never derived here for rapt's own container: rapt_sys_refresh() re-reads
 * them and rapt_sys_budget() turns them into the budget, so the monitor, `rapt info` and the
 * admission gate agree byte for byte. For a cgroup named by the caller the same rules are applied
 * to that cgroup's own files (limit along its ancestry, usage less inactive file cache).
 *
 * Locking: one mutex, m->lock, guards everything in the handle. A sample holds it while it reads
 * and stores, then releases it before calling back, so callbacks can use the API. The sampling
 * thread waits on m->cond (CLOCK_MONOTONIC) under the same mutex; no other lock exists, so there
 * is no ordering to get wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"

/* Kept-open /proc/<pid>/stat files across all jobs. Beyond this, members are read by path each
 * sample (slower, same result): a job with thousands of processes must not exhaust the
 * process's file descriptors (RLIMIT_NOFILE is often 1024). */
#define KEPT_FDS_MAX 256
/* Limit files along a foreign cgroup's ancestry that are re-read every sample. */
#define LEVELS_MAX 16

/* ---- metric table --------------------------------------------------------------------------- */

static const struct {
    const char *name, *unit;
    rapt_monitor_threshold thr; /* documented defaults (docs/monitor.md) */
    double tol;                 /* trend tolerance: absolute change across the window */
} metrics[RAPT_METRIC_COUNT] = {
    [RAPT_METRIC_CPU] = {"cpu", "%", {true, 80, 95, 5}, 2},
    [RAPT_METRIC_CGROUP_CPU] = {"cgroup_cpu", "%", {true, 80, 95, 5}, 2},
    [RAPT_METRIC_MEMORY] = {"memory", "%", {true, 85, 95, 3}, 1},
    [RAPT_METRIC_SWAP] = {"swap", "%", {true, 50, 80, 5}, 1},
    [RAPT_METRIC_PSI_CPU] = {"psi_cpu", "%", {true, 50, 90, 10}, 2},
    [RAPT_METRIC_PSI_MEMORY] = {"psi_memory", "%", {true, 10, 30, 5}, 1},
    [RAPT_METRIC_PSI_IO] = {"psi_io", "%", {true, 30, 60, 10}, 2},
    [RAPT_METRIC_DISK_READ] = {"disk_read", "B/s", {false, 0, 0, 0}, 64 * 1024},
    [RAPT_METRIC_DISK_WRITE] = {"disk_write", "B/s", {false, 0, 0, 0}, 64 * 1024},
    [RAPT_METRIC_NET_RX] = {"net_rx", "B/s", {false, 0, 0, 0}, 16 * 1024},
    [RAPT_METRIC_NET_TX] = {"net_tx", "B/s", {false, 0, 0, 0}, 16 * 1024},
    [RAPT_METRIC_JOBS_MEMORY] = {"jobs_memory", "B", {false, 0, 0, 0}, 1024 * 1024},
};

const char *rapt_monitor_metric_name(rapt_metric m)
{
    return (unsigned)m < RAPT_METRIC_COUNT ? metrics[m].name : NULL;
}

const char *rapt_monitor_metric_unit(rapt_metric m)
{
    return (unsigned)m < RAPT_METRIC_COUNT ? metrics[m].unit : NULL;
}

int rapt_monitor_metric_parse(const char *name, rapt_metric *out)
{
    for (int i = 0; name && i < RAPT_METRIC_COUNT; i++) {
        if (strcmp(name, metrics[i].name) == 0) {
            *out = (rapt_metric)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *rapt_alert_level_name(rapt_alert_level l)
{
    switch (l) {
    case RAPT_ALERT_OK: return "ok";
    case RAPT_ALERT_WARNING: return "warning";
    case RAPT_ALERT_CRITICAL: return "critical";
    }
    return "unknown";
}

const char *rapt_trend_dir_name(rapt_trend_dir d)
{
    switch (d) {
    case RAPT_TREND_STABLE: return "stable";
    case RAPT_TREND_INCREASING: return "increasing";
    case RAPT_TREND_DECREASING: return "decreasing";
    case RAPT_TREND_UNKNOWN: break;
    }
    return "unknown";
}

int rapt_monitor_threshold_default(rapt_metric m, rapt_monitor_threshold *out)
{
    if ((unsigned)m >= RAPT_METRIC_COUNT || !out)
        return -EINVAL;
    *out = metrics[m].thr;
    return 0;
}

static bool threshold_valid(const rapt_monitor_threshold *t)
{
    return isfinite(t->warning) && isfinite(t->critical) && isfinite(t->hysteresis) &&
           t->warning <= t->critical && t->hysteresis >= 0;
}

/* ---- pure parts: hysteresis and trend fit --------------------------------------------------- */

rapt_alert_level rapt__alert_next(rapt_alert_level cur, double v, const rapt_monitor_threshold *t,
                                  double *line)
{
    double lines[3] = {-INFINITY, t->warning, t->critical};
    *line = NAN;
    if ((unsigned)cur > RAPT_ALERT_CRITICAL)
        cur = RAPT_ALERT_CRITICAL; /* not a level: treat as the highest, never index past it */
    if (!t->enabled) {
        if (cur != RAPT_ALERT_OK)
            *line = lines[cur];
        return RAPT_ALERT_OK;
    }
    /* An unknown value says nothing about the level: keep it rather than clear an alert
     * because a file could not be read once. */
    if (isnan(v))
        return cur;
    rapt_alert_level up = v >= t->critical  ? RAPT_ALERT_CRITICAL
                          : v >= t->warning ? RAPT_ALERT_WARNING
                                            : RAPT_ALERT_OK;
    /* Falling: a level already held stays while v is within the hysteresis band below its
     * line; this is what stops a value hovering at 85% from alternating every sample. */
    rapt_alert_level hold = RAPT_ALERT_OK;
    for (int l = (int)cur; l >= 1; l--) {
        if (v >= lines[l] - t->hysteresis) {
            hold = (rapt_alert_level)l;
            break;
        }
    }
    rapt_alert_level next = up > hold ? up : hold;
    if (next > cur)
        *line = lines[next];
    else if (next < cur)
        *line = lines[cur];
    return next;
}

/* A least-squares fit built one point at a time (Welford's update of the means and co-moments),
 * so that one walk over the ring serves every metric. The naive sums (sum of t*v minus n times
 * the means) lose every digit when the values are large (bytes) and close together; the
 * running-mean form does not. */
typedef struct trend_acc {
    double n, mt, mv, ctv, ctt, tmin, tmax;
} trend_acc;

static void acc_add(trend_acc *a, double t, double v)
{
    if (!isfinite(v) || !isfinite(t))
        return;
    if (a->n == 0) {
        a->tmin = a->tmax = t;
    } else {
        a->tmin = t < a->tmin ? t : a->tmin;
        a->tmax = t > a->tmax ? t : a->tmax;
    }
    a->n += 1;
    double dt = t - a->mt;
    a->mt += dt / a->n;
    a->mv += (v - a->mv) / a->n;
    a->ctv += dt * (v - a->mv);
    a->ctt += dt * (t - a->mt);
}

static void acc_finish(const trend_acc *a, double tol_abs, double tol_rel, rapt_trend *out)
{
    memset(out, 0, sizeof(*out));
    out->dir = RAPT_TREND_UNKNOWN;
    out->points = (unsigned)a->n;
    if (a->n == 0)
        return;
    out->mean = a->mv;
    out->span_s = a->tmax - a->tmin;
    if (a->n < 3 || !(out->span_s > 0) || !(a->ctt > 0))
        return;
    out->slope = a->ctv / a->ctt;
    out->change = out->slope * out->span_s;
    double rel = tol_rel * fabs(a->mv);
    out->tolerance = tol_abs > rel ? tol_abs : rel;
    if (fabs(out->change) <= out->tolerance)
        out->dir = RAPT_TREND_STABLE;
    else
        out->dir = out->change > 0 ? RAPT_TREND_INCREASING : RAPT_TREND_DECREASING;
}

void rapt__trend_fit(const double *t, const double *v, size_t n, double tol_abs, double tol_rel,
                     rapt_trend *out)
{
    trend_acc a = {0};
    for (size_t i = 0; i < n; i++)
        acc_add(&a, t[i], v[i]);
    acc_finish(&a, tol_abs, tol_rel, out);
}

/* ---- the handle ------------------------------------------------------------------------------ */

/* One process of a PID or PGID job. */
typedef struct member {
    pid_t pid;
    uint64_t starttime; /* with pid, identifies the process across pid reuse */
    bool loose;         /* named by the caller but not in the group (see job_add) */
    rapt__kfile stat;   /* kept open while the KEPT_FDS_MAX budget allows; else fd -1 */
} member;

typedef struct job {
    rapt_monitor_job pub;
    /* PID and PGID jobs. */
    member *members;
    size_t nmembers, cap;
    uint64_t prev_ticks; /* summed CPU ticks of the members at the previous reading */
    /* CGROUP jobs. */
    bool v2;
    rapt__kfile usage, peak, cpu, procs;
    uint64_t prev_cpu_ns;
    /* Both. */
    bool have_prev;
    uint64_t prev_ns;
} job;

/* How the monitored cgroup is read when it is not rapt's own. */
typedef struct foreign {
    bool v2;
    rapt__kfile usage, stat;
    rapt__kfile limit[LEVELS_MAX];
    char limit_path[LEVELS_MAX][RAPT_SYS_WHERE_MAX + 16];
    size_t nlimits;
    rapt__kfile psi[3]; /* cpu, memory, io (v2 only) */
} foreign;

struct rapt_monitor {
    pthread_mutex_t lock;
    pthread_cond_t cond;

    /* Configuration, fixed after create (thresholds may change under the lock). */
    rapt_monitor_opts opts;
    char sysroot[4096];
    rapt_sys_opts sysopts;
    rapt__root root;
    long clk_tck, page_size;
    uint64_t (*now)(void *);
    void *now_ud;
    uint64_t created_ns;

    /* What is monitored. */
    rapt_monitor_scope scope;
    rapt_sys_info info;       /* rapt's own machine view, refreshed every sample */
    rapt__fdcache sys_files;  /* the files that refresh reads, kept open between samples */
    rapt_sys_info scope_info; /* for a foreign cgroup: only .mem, to reuse rapt_sys_budget() */
    foreign fg;
    bool own;

    /* Kept-open readers and the previous counters. Each *_prev_ok is false until a reading
     * succeeded; a failed read clears it, so the next good reading is a new baseline rather
     * than a rate across the gap. */
    rapt__kfile proc_stat, netdev, cg_cpu;
    bool cg_cpu_v2;
    rapt__diskreader disks;
    rapt__cpu_times cpu_prev;
    bool cpu_prev_ok;
    uint64_t cg_cpu_prev_ns;
    bool cg_cpu_prev_ok;
    rapt__devstat disk_prev[RAPT__DISKS_MAX], disk_cur[RAPT__DISKS_MAX];
    size_t ndisk_prev;
    bool disk_prev_ok;
    rapt__devstat net_prev[RAPT__DISKS_MAX], net_cur[RAPT__DISKS_MAX];
    size_t nnet_prev;
    bool net_prev_ok;
    uint64_t prev_ns;
    char buf[65536]; /* scratch for every read; used only under the lock */
    unsigned warned; /* one log line per kind of failure */

    /* Ring. */
    rapt_sample *ring;
    size_t cap, head, count; /* head: where the next sample goes */
    uint64_t seq;
    /* Trends of every metric as of sample trend_seq (0: none yet), computed on first demand
     * after each sample: JSON, Prometheus and the live view all ask for them. */
    rapt_trend trends[RAPT_METRIC_COUNT];
    uint64_t trend_seq;

    /* Alerts. */
    rapt_alert_level level[RAPT_METRIC_COUNT];

    /* Jobs, in the order they were added. */
    job *jobs;
    size_t njobs, jobs_cap;
    size_t kept_fds; /* invariant: members with stat.fd >= 0, over all jobs (<= KEPT_FDS_MAX) */
    rapt__procscan scan;
    bool scan_ok;
    uint64_t last_scan_ns;
    bool scan_due; /* a process group was added: scan at the next sample, whatever the time */

    /* Sampling thread. `running` is true from a successful start until the join in stop;
     * `stop` asks the thread to leave its wait. Both change only under the lock. */
    pthread_t thread;
    bool running, stop;
    bool joining; /* a stop is joining the thread; other stops wait for it on cond */
    uint64_t interval_ns;
};

/* Kinds of failure that are logged once: a file that cannot be read at 10 Hz would otherwise
 * flood the caller's log with the same line. */
enum { WARN_STAT = 1, WARN_DISK = 2, WARN_NET = 4, WARN_CGCPU = 8, WARN_SCAN = 16 };

static void logf_once(rapt_monitor *m, unsigned kind, const char *fmt, ...) RAPT__PRINTF(3, 4);
static void logf_once(rapt_monitor *m, unsigned kind, const char *fmt, ...)
{
    if (!m->opts.log || (m->warned & kind))
        return;
    m->warned |= kind;
    va_list ap;
    va_start(ap, fmt);
    rapt__vlogf(m->opts.log, m->opts.log_userdata, RAPT_LOG_WARN, fmt, ap);
    va_end(ap);
}

static uint64_t real_now(void *ud)
{
    (void)ud;
    return rapt__now_ns();
}

void rapt_monitor_opts_init(rapt_monitor_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->capacity = RAPT_MONITOR_DEFAULT_CAPACITY;
    opts->eta = RAPT_SYS_DEFAULT_ETA;
    opts->trend_window_ns = RAPT_MONITOR_DEFAULT_TREND_WINDOW_NS;
    opts->trend_relative = 0.05;
    opts->pgrp_rescan_ns = 1000000000ull;
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        opts->thresholds[i] = metrics[i].thr;
        opts->trend_tolerance[i] = metrics[i].tol;
    }
}

void rapt_monitor_job_spec_init(rapt_monitor_job_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
}

/* ---- readers --------------------------------------------------------------------------------- */

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : NAN;
}

/* System CPU from /proc/stat. Each field is differenced on its own with saturation: the kernel's
 * idle and iowait accounting can step backwards on NO_HZ systems, and one such field must not
 * turn the whole interval negative (htop does the same). */
static void read_cpu(rapt_monitor *m, rapt_sample *s)
{
    char b[512]; /* the "cpu " line comes first; the rest of the file is not needed */
    rapt__cpu_times now;
    ssize_t n = rapt__kfile_read(&m->proc_stat, b, sizeof(b));
    if (n < 0 || rapt__parse_proc_stat(b, &now) < 0) {
        logf_once(m, WARN_STAT, "monitor: cannot read /proc/stat: %s",
                  n < 0 ? rapt_strerror((int)n) : "malformed");
        m->cpu_prev_ok = false;
        return;
    }
    if (m->cpu_prev_ok) {
        const rapt__cpu_times *p = &m->cpu_prev;
        uint64_t busy = rapt__sat_sub(now.user, p->user) + rapt__sat_sub(now.nice, p->nice) +
                        rapt__sat_sub(now.system, p->system) + rapt__sat_sub(now.irq, p->irq) +
                        rapt__sat_sub(now.softirq, p->softirq);
        uint64_t idle = rapt__sat_sub(now.idle, p->idle);
        uint64_t iowait = rapt__sat_sub(now.iowait, p->iowait);
        uint64_t steal = rapt__sat_sub(now.steal, p->steal);
        uint64_t total = busy + idle + iowait + steal;
        /* Steal is time this VM wanted to run and could not: busy from the guest's view is
         * what it ran, so steal stays out of busy but in the total. */
        s->value[RAPT_METRIC_CPU] = pct(busy, total);
        s->cpu_iowait_pct = pct(iowait, total);
        s->cpu_steal_pct = pct(steal, total);
    }
    m->cpu_prev = now;
    m->cpu_prev_ok = true;
}

/* Cumulative CPU nanoseconds of a cgroup: v1 cpuacct.usage, v2 cpu.stat usage_usec. */
/* Both counters are cumulative since the cgroup was created and never reset, so a difference
 * of two readings is the CPU time of the interval (saturated in case the cgroup was recreated
 * under the same name between them). */
static int read_cg_cpu_ns(rapt_monitor *m, const rapt__kfile *f, bool v2, uint64_t *ns)
{
    ssize_t n = rapt__kfile_read(f, m->buf, sizeof(m->buf));
    if (n < 0)
        return (int)n;
    if (v2) {
        uint64_t us;
        int rc = rapt__parse_kv(m->buf, "usage_usec", &us);
        if (rc < 0)
            return rc;
        *ns = us > UINT64_MAX / 1000 ? UINT64_MAX : us * 1000;
        return 0;
    }
    return rapt__parse_u64_line(m->buf, ns);
}

static void read_cgroup_cpu(rapt_monitor *m, rapt_sample *s, uint64_t dt_ns)
{
    s->cgroup_cpu_capacity = 0;
    if (m->cg_cpu.fd < 0)
        return;
    uint64_t ns;
    int rc = read_cg_cpu_ns(m, &m->cg_cpu, m->cg_cpu_v2, &ns);
    if (rc < 0) {
        logf_once(m, WARN_CGCPU, "monitor: cannot read the cgroup's CPU usage in %s: %s",
                  m->scope.cpu_dir, rapt_strerror(rc));
        m->cg_cpu_prev_ok = false;
        return;
    }
    /* Capacity: the quota, when there is one, in fractions of a CPU (0.5 CPU fully used is
     * 100%); otherwise the CPUs the process may run on. */
    double cap = 0;
    if (m->own) {
        const rapt_sys_cpu *c = &m->info.cpu;
        cap = c->affinity.state == RAPT_QTY_KNOWN ? (double)c->affinity.value
              : c->online.state == RAPT_QTY_KNOWN ? (double)c->online.value
                                                  : (double)c->effective;
        if (c->quota_milli.state == RAPT_QTY_KNOWN && c->quota_milli.value / 1000.0 < cap)
            cap = (double)c->quota_milli.value / 1000.0;
    } else {
        cap = m->scope_info.cpu.quota_milli.state == RAPT_QTY_KNOWN
                  ? (double)m->scope_info.cpu.quota_milli.value / 1000.0
                  : (double)m->info.cpu.effective;
    }
    s->cgroup_cpu_capacity = cap;
    if (m->cg_cpu_prev_ok && dt_ns > 0) {
        s->cgroup_cpu_cores = (double)rapt__sat_sub(ns, m->cg_cpu_prev_ns) / (double)dt_ns;
        if (cap > 0)
            s->value[RAPT_METRIC_CGROUP_CPU] = 100.0 * s->cgroup_cpu_cores / cap;
    }
    m->cg_cpu_prev_ns = ns;
    m->cg_cpu_prev_ok = true;
}

/* Sum of per-device increases since the previous reading. Devices are matched by name, so one
 * that appears counts from its first reading on (not its whole history), and one that goes away
 * simply stops counting. The nested loop is over a handful of disks or interfaces; a hash would
 * cost more than it saves. */
static uint64_t dev_delta(const rapt__devstat *prev, size_t np, const rapt__devstat *cur, size_t nc,
                          bool second)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < nc; i++) {
        for (size_t j = 0; j < np; j++) {
            if (strcmp(cur[i].name, prev[j].name) == 0) {
                sum = rapt__sat_add(sum, second ? rapt__sat_sub(cur[i].b, prev[j].b)
                                                : rapt__sat_sub(cur[i].a, prev[j].a));
                break;
            }
        }
    }
    return sum;
}

/* Disk and network rates: the per-device counters are differenced against the previous
 * reading and the current list becomes the next baseline. A failed read clears the baseline,
 * so the interval after it yields no rate rather than one spanning two intervals. */
static void read_disks(rapt_monitor *m, rapt_sample *s, double dt)
{
    size_t n;
    if (m->disks.file.fd < 0)
        return;
    int rc = rapt__disks_read(&m->disks, m->buf, sizeof(m->buf), m->disk_cur, RAPT__DISKS_MAX, &n);
    if (rc < 0) {
        logf_once(m, WARN_DISK, "monitor: cannot read /proc/diskstats: %s", rapt_strerror(rc));
        m->disk_prev_ok = false;
        return;
    }
    if (m->disk_prev_ok && dt > 0) {
        s->value[RAPT_METRIC_DISK_READ] =
            (double)dev_delta(m->disk_prev, m->ndisk_prev, m->disk_cur, n, false) / dt;
        s->value[RAPT_METRIC_DISK_WRITE] =
            (double)dev_delta(m->disk_prev, m->ndisk_prev, m->disk_cur, n, true) / dt;
    }
    memcpy(m->disk_prev, m->disk_cur, n * sizeof(*m->disk_cur));
    m->ndisk_prev = n;
    m->disk_prev_ok = true;
}

static void read_net(rapt_monitor *m, rapt_sample *s, double dt)
{
    size_t n;
    if (m->netdev.fd < 0)
        return;
    int rc = rapt__netdev_read(&m->netdev, m->buf, sizeof(m->buf), m->net_cur, RAPT__DISKS_MAX, &n);
    if (rc < 0) {
        logf_once(m, WARN_NET, "monitor: cannot read /proc/net/dev: %s", rapt_strerror(rc));
        m->net_prev_ok = false;
        return;
    }
    if (m->net_prev_ok && dt > 0) {
        s->value[RAPT_METRIC_NET_RX] =
            (double)dev_delta(m->net_prev, m->nnet_prev, m->net_cur, n, false) / dt;
        s->value[RAPT_METRIC_NET_TX] =
            (double)dev_delta(m->net_prev, m->nnet_prev, m->net_cur, n, true) / dt;
    }
    memcpy(m->net_prev, m->net_cur, n * sizeof(*m->net_cur));
    m->nnet_prev = n;
    m->net_prev_ok = true;
}

/* Memory of a cgroup named by the caller, with the sys module's rules: the limit is the
 * tightest along the visible ancestry (v1: the leaf's limit and hierarchical_memory_limit, which
 * folds in every ancestor) and the host's MemTotal; in use is usage less inactive file cache,
 * which the kernel drops before it reclaims anything that costs. */
static void read_foreign_memory(rapt_monitor *m, rapt_sample *s)
{
    foreign *f = &m->fg;
    const rapt_sys_memory *host = &m->info.mem;
    uint64_t usage, recl = 0, limit = UINT64_MAX;
    const char *source = "";
    rapt_bound bound = RAPT_BOUND_UNKNOWN;
    if (rapt__kfile_read(&f->usage, m->buf, sizeof(m->buf)) < 0 ||
        rapt__parse_u64_line(m->buf, &usage) < 0)
        return;
    s->cgroup_mem_known = true;
    s->cgroup_mem_usage = usage;
    for (size_t i = 0; i < f->nlimits; i++) {
        uint64_t l;
        bool unl;
        char b[64];
        if (rapt__kfile_read(&f->limit[i], b, sizeof(b)) >= 0 &&
            rapt__parse_mem_limit(b, &l, &unl) == 0 && !unl && l < limit) {
            limit = l;
            source = f->limit_path[i];
            bound = RAPT_BOUND_CGROUP;
        }
    }
    if (rapt__kfile_read(&f->stat, m->buf, sizeof(m->buf)) >= 0) {
        rapt__parse_kv(m->buf, f->v2 ? "inactive_file" : "total_inactive_file", &recl);
        /* v1 folds the limits of every ancestor, visible or not, into this figure; it names
         * the binding limit only when it is tighter than the cgroup's own (as in sys). */
        uint64_t hier;
        if (!f->v2 && rapt__parse_kv(m->buf, "hierarchical_memory_limit", &hier) == 0 &&
            hier < (1ull << 62) && hier < limit) {
            limit = hier;
            bound = RAPT_BOUND_CGROUP_HIER;
        }
    }
    if (bound == RAPT_BOUND_CGROUP_HIER) {
        rapt__bufprintf(m->scope.mem_limit_source, sizeof(m->scope.mem_limit_source),
                        "%s/memory.stat hierarchical_memory_limit", m->scope.cgroup_dir);
    } else if (bound == RAPT_BOUND_CGROUP) {
        rapt__strlcpy(m->scope.mem_limit_source, source, sizeof(m->scope.mem_limit_source));
    }
    if (host->host_total.state == RAPT_QTY_KNOWN && host->host_total.value < limit) {
        limit = host->host_total.value;
        bound = RAPT_BOUND_HOST;
        rapt__strlcpy(m->scope.mem_limit_source, host->host_total.where,
                      sizeof(m->scope.mem_limit_source));
    }
    if (bound == RAPT_BOUND_UNKNOWN || limit == 0)
        return;
    m->scope.mem_limit_bound = bound;
    uint64_t used = RAPT__MIN(rapt__sat_sub(usage, RAPT__MIN(recl, usage)), limit);
    uint64_t avail = limit - used;
    if (host->host_available.state == RAPT_QTY_KNOWN)
        avail = RAPT__MIN(avail, host->host_available.value);
    s->mem_known = true;
    s->mem_limit = limit;
    s->mem_available = avail;
    s->mem_used = limit - avail;
    rapt_sys_memory *sm = &m->scope_info.mem;
    sm->limit = limit;
    sm->limit_bound = bound;
    sm->available = avail;
    sm->available_known = true;
    s->mem_budget = rapt_sys_budget(&m->scope_info, m->opts.eta);
}

static void read_memory(rapt_monitor *m, rapt_sample *s)
{
    /* Swap is the host's in both scopes: a cgroup's swap limit says what it may use, not what
     * is used. A machine without swap gives an unknown percentage, not 0 %: "0 % swap used"
     * would read as headroom that does not exist. */
    const rapt_sys_memory *mem = &m->info.mem;
    if (mem->swap_total.state == RAPT_QTY_KNOWN && mem->swap_free.state == RAPT_QTY_KNOWN) {
        s->swap_total = mem->swap_total.value;
        s->swap_used = rapt__sat_sub(mem->swap_total.value, mem->swap_free.value);
        if (s->swap_total > 0)
            s->value[RAPT_METRIC_SWAP] = pct(s->swap_used, s->swap_total);
    }
    if (!m->own) {
        read_foreign_memory(m, s);
    } else {
        if (mem->cgroup_usage.state == RAPT_QTY_KNOWN) {
            s->cgroup_mem_known = true;
            s->cgroup_mem_usage = mem->cgroup_usage.value;
        }
        if (mem->limit_bound != RAPT_BOUND_UNKNOWN && mem->available_known && mem->limit > 0) {
            s->mem_known = true;
            s->mem_limit = mem->limit;
            s->mem_available = RAPT__MIN(mem->available, mem->limit);
            s->mem_used = mem->limit - s->mem_available;
            s->mem_budget = rapt_sys_budget(&m->info, m->opts.eta);
        }
        m->scope.mem_limit_bound = mem->limit_bound;
        rapt__strlcpy(m->scope.mem_limit_source, mem->limit_where,
                      sizeof(m->scope.mem_limit_source));
    }
    if (s->mem_known)
        s->value[RAPT_METRIC_MEMORY] = pct(s->mem_used, s->mem_limit);
}

/* Pressure of the monitored cgroup when the kernel keeps it (v2 directories, also on hybrid
 * hosts), else the system's: a container's stalls are what its jobs feel, and the system figure
 * mixes in every other tenant. */
static void read_psi(rapt_monitor *m, rapt_sample *s)
{
    const rapt_psi_res *res[3];
    rapt_psi_res fres[3];
    if (!m->own && m->fg.v2 && m->fg.psi[1].fd >= 0) {
        for (int i = 0; i < 3; i++) {
            char b[512];
            memset(&fres[i], 0, sizeof(fres[i]));
            if (rapt__kfile_read(&m->fg.psi[i], b, sizeof(b)) >= 0)
                rapt__parse_psi(b, &fres[i]);
            res[i] = &fres[i];
        }
        s->psi_scope = RAPT_PSI_CGROUP;
    } else if (m->own && m->info.psi_cgroup.memory.known) {
        res[0] = &m->info.psi_cgroup.cpu;
        res[1] = &m->info.psi_cgroup.memory;
        res[2] = &m->info.psi_cgroup.io;
        s->psi_scope = RAPT_PSI_CGROUP;
    } else {
        res[0] = &m->info.psi_system.cpu;
        res[1] = &m->info.psi_system.memory;
        res[2] = &m->info.psi_system.io;
        s->psi_scope = res[1]->known ? RAPT_PSI_SYSTEM : RAPT_PSI_NONE;
    }
    rapt_metric some[3] = {RAPT_METRIC_PSI_CPU, RAPT_METRIC_PSI_MEMORY, RAPT_METRIC_PSI_IO};
    for (int i = 0; i < 3; i++) {
        if (res[i]->known && res[i]->some.known)
            s->value[some[i]] = res[i]->some.avg10;
    }
    s->psi_memory_full = res[1]->full.known ? res[1]->full.avg10 : NAN;
    s->psi_io_full = res[2]->full.known ? res[2]->full.avg10 : NAN;
}

/* ---- jobs ------------------------------------------------------------------------------------ */

static job *find_job(rapt_monitor *m, uint64_t id)
{
    for (size_t i = 0; i < m->njobs; i++) {
        if (m->jobs[i].pub.id == id)
            return &m->jobs[i];
    }
    return NULL;
}

static void drop_member(rapt_monitor *m, job *j, size_t i)
{
    if (j->members[i].stat.fd >= 0) {
        rapt__kfile_close(&j->members[i].stat);
        m->kept_fds--;
    }
    j->members[i] = j->members[--j->nmembers];
}

static int add_member(rapt_monitor *m, job *j, pid_t pid, uint64_t starttime, bool loose)
{
    if (j->nmembers == j->cap) {
        size_t ncap = j->cap ? j->cap * 2 : 4;
        member *nm = realloc(j->members, ncap * sizeof(*nm));
        if (!nm)
            return -ENOMEM;
        j->members = nm;
        j->cap = ncap;
    }
    member *mb = &j->members[j->nmembers++];
    mb->pid = pid;
    mb->starttime = starttime;
    mb->loose = loose;
    mb->stat.fd = -1;
    /* The kept fd stays bound to this very process: once it exits, reads fail with ESRCH
     * even if the pid is reused, so a kept member can never be confused with a stranger. */
    if (m->kept_fds < KEPT_FDS_MAX && rapt__pid_stat_open(&mb->stat, &m->root, pid) == 0)
        m->kept_fds++;
    return 0;
}

/* Reads one process's stat through its kept fd, or by path when it has none. */
static int read_pid_stat(rapt_monitor *m, const member *mb, rapt__pidstat *ps)
{
    char b[1024];
    ssize_t n;
    if (mb->stat.fd >= 0) {
        n = rapt__kfile_read(&mb->stat, b, sizeof(b));
    } else {
        char path[64];
        rapt__bufprintf(path, sizeof(path), "/proc/%ld/stat", (long)mb->pid);
        n = rapt__slurp(&m->root, path, b, sizeof(b));
    }
    if (n < 0)
        return (int)n;
    return rapt__parse_pid_stat(b, ps);
}

/* Finds processes that joined tracked process groups. One walk over /proc serves every PGID job;
 * it reads each process's stat by path, which is why it runs at most every pgrp_rescan_ns.
 * Processes leave a group only by exiting (or setpgid, which a job's processes do not do), so
 * the scan only adds; read_proc_job drops members that are gone. */
static void rescan_groups(rapt_monitor *m, uint64_t now)
{
    bool any = false;
    for (size_t i = 0; i < m->njobs; i++)
        any |= m->jobs[i].pub.kind == RAPT_MONITOR_JOB_PGID;
    if (!any || !m->scan_ok)
        return;
    if (!m->scan_due && now - m->last_scan_ns < m->opts.pgrp_rescan_ns)
        return;
    m->scan_due = false;
    m->last_scan_ns = now;
    rapt__procscan_rewind(&m->scan);
    pid_t pid;
    while (rapt__procscan_next(&m->scan, &pid) == 1) {
        char path[64], b[1024];
        rapt__pidstat ps;
        rapt__bufprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
        if (rapt__slurp(&m->root, path, b, sizeof(b)) < 0 || rapt__parse_pid_stat(b, &ps) < 0)
            continue; /* it exited between readdir and open */
        for (size_t i = 0; i < m->njobs; i++) {
            job *j = &m->jobs[i];
            if (j->pub.kind != RAPT_MONITOR_JOB_PGID || j->pub.pid != ps.pgrp)
                continue;
            bool known = false;
            for (size_t k = 0; k < j->nmembers && !known; k++)
                known = j->members[k].pid == pid && j->members[k].starttime == ps.starttime;
            if (!known && add_member(m, j, pid, ps.starttime, false) < 0)
                logf_once(m, WARN_SCAN, "monitor: out of memory tracking process group %ld",
                          (long)j->pub.pid);
            break; /* a process is in one group, so in at most one job */
        }
    }
}

/* Reads a PID or PGID job: RSS and CPU ticks summed over its live members. CPU counts each
 * member's own time and its reaped children's (cutime, cstime), so a child's time moves into
 * its parent's figure when it is reaped instead of vanishing from the sum. */
static void read_proc_job(rapt_monitor *m, job *j, uint64_t *ticks)
{
    uint64_t rss = 0, t = 0;
    unsigned live = 0;
    for (size_t i = 0; i < j->nmembers;) {
        rapt__pidstat ps;
        member *mb = &j->members[i];
        bool gone = read_pid_stat(m, mb, &ps) < 0 || ps.starttime != mb->starttime ||
                    (j->pub.kind == RAPT_MONITOR_JOB_PGID && !mb->loose && ps.pgrp != j->pub.pid);
        if (gone) {
            drop_member(m, j, i);
            continue;
        }
        t = rapt__sat_add(t, ps.utime + ps.stime + ps.cutime + ps.cstime);
        if (ps.state != 'Z' && ps.state != 'X') {
            live++;
            rss = rapt__sat_add(rss, ps.rss_pages * (uint64_t)m->page_size);
        }
        i++;
    }
    j->pub.nprocs = live;
    j->pub.alive = live > 0;
    j->pub.memory = rss;
    *ticks = t;
}

/* A per-job cgroup: usage is what the kernel charges it (page cache included, as for the memory
 * limit), processes are the lines of cgroup.procs; an empty cgroup is a job that has ended. */
static void read_cgroup_job(rapt_monitor *m, job *j, uint64_t *cpu_ns, bool *cpu_ok)
{
    uint64_t v;
    *cpu_ok = false;
    j->pub.memory = 0;
    if (rapt__kfile_read(&j->usage, m->buf, sizeof(m->buf)) >= 0 &&
        rapt__parse_u64_line(m->buf, &v) == 0)
        j->pub.memory = v;
    /* The kernel's own high-water mark catches spikes between two samples. */
    if (j->peak.fd >= 0 && rapt__kfile_read(&j->peak, m->buf, sizeof(m->buf)) >= 0 &&
        rapt__parse_u64_line(m->buf, &v) == 0 && v > j->pub.memory_peak)
        j->pub.memory_peak = v;
    unsigned procs = 0;
    if (rapt__kfile_read(&j->procs, m->buf, sizeof(m->buf)) >= 0) {
        for (const char *p = m->buf; *p; p++)
            procs += *p == '\n';
    }
    j->pub.nprocs = procs;
    j->pub.alive = procs > 0;
    if (j->cpu.fd >= 0 && read_cg_cpu_ns(m, &j->cpu, j->v2, cpu_ns) == 0)
        *cpu_ok = true;
}

/* Takes a reading of job j now; the first one only sets the baseline of its CPU rate
 * (have_prev false: cpu_pct stays NaN until a second reading). A job with no live process
 * shows 0 % once it has a baseline: it uses nothing now. */
static void read_job(rapt_monitor *m, job *j, uint64_t now)
{
    uint64_t cur;
    bool ok = true;
    double dt = j->have_prev && now > j->prev_ns ? (double)(now - j->prev_ns) / 1e9 : 0;
    if (j->pub.kind == RAPT_MONITOR_JOB_CGROUP) {
        read_cgroup_job(m, j, &cur, &ok);
        if (ok && j->have_prev && dt > 0) {
            uint64_t d = rapt__sat_sub(cur, j->prev_cpu_ns);
            j->pub.cpu_pct = 100.0 * (double)d / 1e9 / dt;
        }
        if (ok) {
            j->pub.cpu_s = (double)cur / 1e9;
            j->prev_cpu_ns = cur;
        }
    } else {
        read_proc_job(m, j, &cur);
        if (j->have_prev && dt > 0) {
            /* A member that exited unreaped by the group takes its time with it; saturation
             * turns that interval into 0 rather than a huge wrapped value. */
            uint64_t d = rapt__sat_sub(cur, j->prev_ticks);
            j->pub.cpu_pct = 100.0 * (double)d / (double)m->clk_tck / dt;
            j->pub.cpu_s += (double)d / (double)m->clk_tck;
        } else if (!j->have_prev) {
            j->pub.cpu_s = (double)cur / (double)m->clk_tck;
        }
        j->prev_ticks = cur;
    }
    if (j->pub.memory > j->pub.memory_peak)
        j->pub.memory_peak = j->pub.memory;
    if (!j->pub.alive)
        j->pub.cpu_pct = j->have_prev ? 0 : NAN;
    j->prev_ns = now;
    j->have_prev = ok;
}

static void read_jobs(rapt_monitor *m, rapt_sample *s, uint64_t now)
{
    rescan_groups(m, now);
    uint64_t mem = 0;
    double cores = 0;
    unsigned alive = 0;
    for (size_t i = 0; i < m->njobs; i++) {
        job *j = &m->jobs[i];
        read_job(m, j, now);
        mem = rapt__sat_add(mem, j->pub.memory);
        if (isfinite(j->pub.cpu_pct))
            cores += j->pub.cpu_pct / 100.0;
        alive += j->pub.alive;
    }
    s->jobs_tracked = (unsigned)m->njobs;
    s->jobs_alive = alive;
    s->jobs_cpu_cores = cores;
    s->value[RAPT_METRIC_JOBS_MEMORY] = (double)mem;
}

/* Releases what a job holds; the job itself is removed from the array by the caller. */
static void close_job(rapt_monitor *m, job *j)
{
    while (j->nmembers)
        drop_member(m, j, j->nmembers - 1);
    free(j->members);
    rapt__kfile_close(&j->usage);
    rapt__kfile_close(&j->peak);
    rapt__kfile_close(&j->cpu);
    rapt__kfile_close(&j->procs);
}

/* The cpuacct directory that mirrors a v1 memory cgroup directory: both hierarchies name the
 * same cgroup path below their mount points. "" when there is none. */
static void v1_cpuacct_twin(const rapt__root *r, const char *memdir, char *out, size_t n)
{
    char mpoint[RAPT_SYS_WHERE_MAX], cpoint[RAPT_SYS_WHERE_MAX];
    out[0] = '\0';
    if (rapt__cgroup_mount_point(r, "memory", mpoint, sizeof(mpoint)) < 0 ||
        rapt__cgroup_mount_point(r, "cpuacct", cpoint, sizeof(cpoint)) < 0)
        return;
    size_t ml = strlen(mpoint);
    if (strncmp(memdir, mpoint, ml) != 0 || (memdir[ml] != '/' && memdir[ml] != '\0'))
        return;
    char path[RAPT_SYS_WHERE_MAX + 32];
    if (rapt__bufprintf(out, n, "%s%s", cpoint, memdir + ml) &&
        rapt__bufprintf(path, sizeof(path), "%s/cpuacct.usage", out) && rapt__exists(r, path))
        return;
    out[0] = '\0';
}

static int open_in(const rapt__root *r, rapt__kfile *f, const char *dir, const char *name)
{
    char path[RAPT_SYS_WHERE_MAX + 64];
    f->fd = -1;
    if (!rapt__bufprintf(path, sizeof(path), "%s/%s", dir, name))
        return -ENAMETOOLONG;
    return rapt__kfile_open(f, r, path);
}

int rapt_monitor_job_add(rapt_monitor *m, const rapt_monitor_job_spec *spec)
{
    if (!m || !spec || (unsigned)spec->kind > RAPT_MONITOR_JOB_CGROUP)
        return -EINVAL;
    if (spec->kind != RAPT_MONITOR_JOB_CGROUP && spec->pid <= 0)
        return -EINVAL;
    if (spec->kind == RAPT_MONITOR_JOB_CGROUP &&
        (!spec->cgroup || !*spec->cgroup || strlen(spec->cgroup) >= RAPT_SYS_WHERE_MAX))
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    /* The job's first reading is taken here, under the lock, so the first sample after the
     * add already has a CPU rate; the runner adds a job right after spawning it. */
    int rc = 0;
    if (find_job(m, spec->id)) {
        rc = -EEXIST;
        goto out;
    }
    if (m->njobs == m->jobs_cap) {
        size_t ncap = m->jobs_cap ? m->jobs_cap * 2 : 16;
        job *nj = realloc(m->jobs, ncap * sizeof(*nj));
        if (!nj) {
            rc = -ENOMEM;
            goto out;
        }
        m->jobs = nj;
        m->jobs_cap = ncap;
    }
    /* Built in place past njobs, so a failure below only has to close what it opened. */
    job *j = &m->jobs[m->njobs];
    memset(j, 0, sizeof(*j));
    j->usage.fd = j->peak.fd = j->cpu.fd = j->procs.fd = -1;
    j->pub.id = spec->id;
    j->pub.kind = spec->kind;
    j->pub.pid = spec->pid;
    j->pub.cpu_pct = NAN;
    j->pub.added_mono_ns = m->now(m->now_ud);
    if (spec->label)
        rapt__strlcpy(j->pub.label, spec->label, sizeof(j->pub.label));
    if (spec->kind == RAPT_MONITOR_JOB_CGROUP) {
        const char *d = spec->cgroup;
        j->v2 = open_in(&m->root, &j->usage, d, "memory.current") == 0;
        if (!j->v2 && open_in(&m->root, &j->usage, d, "memory.usage_in_bytes") < 0) {
            rc = rapt__exists(&m->root, d) ? RAPT_ENOTCGROUP : -ENOENT;
            close_job(m, j);
            goto out;
        }
        open_in(&m->root, &j->peak, d, j->v2 ? "memory.peak" : "memory.max_usage_in_bytes");
        open_in(&m->root, &j->procs, d, "cgroup.procs");
        if (j->v2) {
            open_in(&m->root, &j->cpu, d, "cpu.stat");
        } else {
            char twin[RAPT_SYS_WHERE_MAX];
            v1_cpuacct_twin(&m->root, d, twin, sizeof(twin));
            if (twin[0])
                open_in(&m->root, &j->cpu, twin, "cpuacct.usage");
        }
    } else {
        /* The named process is a member from the start; the rest of a group turns up at the next
         * scan. A pid that does not lead its own group (a caller that did not setpgid) is still
         * followed, on its own, rather than shown as a job with nothing in it. */
        char path[64], b[1024];
        rapt__pidstat ps;
        rapt__bufprintf(path, sizeof(path), "/proc/%ld/stat", (long)spec->pid);
        if (rapt__slurp(&m->root, path, b, sizeof(b)) >= 0 && rapt__parse_pid_stat(b, &ps) == 0) {
            bool loose = spec->kind == RAPT_MONITOR_JOB_PGID && ps.pgrp != spec->pid;
            if (add_member(m, j, spec->pid, ps.starttime, loose) < 0) {
                rc = -ENOMEM;
                close_job(m, j);
                goto out;
            }
        }
        if (spec->kind == RAPT_MONITOR_JOB_PGID)
            m->scan_due = true;
    }
    m->njobs++;
    read_job(m, j, j->pub.added_mono_ns);
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int rapt_monitor_job_remove(rapt_monitor *m, uint64_t id)
{
    if (!m)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    job *j = find_job(m, id);
    int rc = -ENOENT;
    if (j) {
        close_job(m, j);
        size_t i = (size_t)(j - m->jobs);
        /* Keep the order jobs were added in: people read the list top-down. */
        memmove(&m->jobs[i], &m->jobs[i + 1], (m->njobs - i - 1) * sizeof(*j));
        m->njobs--;
        rc = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

size_t rapt_monitor_jobs(rapt_monitor *m, rapt_monitor_job *out, size_t max)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = m->njobs;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = m->jobs[i].pub;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* ---- create / destroy ------------------------------------------------------------------------ */

static int setup_foreign(rapt_monitor *m, const char *dir)
{
    foreign *f = &m->fg;
    char path[RAPT_SYS_WHERE_MAX + 64];
    if (strlen(dir) >= RAPT_SYS_WHERE_MAX)
        return -ENAMETOOLONG;
    if (!rapt__exists(&m->root, dir))
        return -ENOENT;
    rapt__strlcpy(m->scope.cgroup_dir, dir, sizeof(m->scope.cgroup_dir));
    f->v2 = open_in(&m->root, &f->usage, dir, "memory.current") == 0;
    if (!f->v2 && open_in(&m->root, &f->usage, dir, "memory.usage_in_bytes") < 0)
        return RAPT_ENOTCGROUP;
    m->scope.cgroup_version = f->v2 ? RAPT_CGROUP_V2 : RAPT_CGROUP_V1;
    open_in(&m->root, &f->stat, dir, "memory.stat");
    if (f->v2) {
        /* Every level up to the cgroup2 mount point can hold a memory.max that binds. */
        char point[RAPT_SYS_WHERE_MAX], level[RAPT_SYS_WHERE_MAX];
        if (rapt__cgroup_mount_point(&m->root, NULL, point, sizeof(point)) < 0)
            rapt__strlcpy(point, dir, sizeof(point));
        rapt__strlcpy(level, dir, sizeof(level));
        for (;;) {
            if (f->nlimits < LEVELS_MAX) {
                rapt__bufprintf(f->limit_path[f->nlimits], sizeof(f->limit_path[0]),
                                "%s/memory.max", level);
                if (rapt__kfile_open(&f->limit[f->nlimits], &m->root, f->limit_path[f->nlimits]) ==
                    0)
                    f->nlimits++;
            }
            char *slash = strrchr(level, '/');
            if (strcmp(level, point) == 0 || !slash || slash == level ||
                strncmp(level, point, strlen(point)) != 0)
                break;
            *slash = '\0';
        }
        open_in(&m->root, &m->cg_cpu, dir, "cpu.stat");
        m->cg_cpu_v2 = true;
        rapt__strlcpy(m->scope.cpu_dir, dir, sizeof(m->scope.cpu_dir));
        static const char *const psi[] = {"cpu.pressure", "memory.pressure", "io.pressure"};
        for (int i = 0; i < 3; i++)
            open_in(&m->root, &f->psi[i], dir, psi[i]);
        /* The cgroup's own CPU quota, so its CPU % is a share of what it may use. */
        char b[128];
        uint64_t q, p;
        bool unl;
        rapt__bufprintf(path, sizeof(path), "%s/cpu.max", dir);
        if (rapt__slurp(&m->root, path, b, sizeof(b)) >= 0 &&
            rapt__parse_cpu_max(b, &q, &p, &unl) == 0 && !unl)
            rapt__qty_known(&m->scope_info.cpu.quota_milli, path, q * 1000 / p);
    } else {
        rapt__bufprintf(f->limit_path[0], sizeof(f->limit_path[0]), "%s/memory.limit_in_bytes",
                        dir);
        if (rapt__kfile_open(&f->limit[0], &m->root, f->limit_path[0]) == 0)
            f->nlimits = 1;
        v1_cpuacct_twin(&m->root, dir, m->scope.cpu_dir, sizeof(m->scope.cpu_dir));
        if (m->scope.cpu_dir[0])
            open_in(&m->root, &m->cg_cpu, m->scope.cpu_dir, "cpuacct.usage");
    }
    return 0;
}

static void setup_own(rapt_monitor *m)
{
    const rapt_sys_cgroup *c = &m->info.cgroup;
    m->scope.cgroup_version = c->memory_version;
    rapt__strlcpy(m->scope.cgroup_dir, c->memory_dir, sizeof(m->scope.cgroup_dir));
    /* The CPU usage of this process's cgroup: v1 cpuacct when mounted, else the v2 directory's
     * cpu.stat, which every v2 cgroup has (usage_usec needs no controller). */
    char dir[RAPT_SYS_WHERE_MAX];
    if (rapt__cgroup_locate(&m->root, "cpuacct", dir, sizeof(dir)) == RAPT_CGROUP_V1 &&
        open_in(&m->root, &m->cg_cpu, dir, "cpuacct.usage") == 0) {
        m->cg_cpu_v2 = false;
        rapt__strlcpy(m->scope.cpu_dir, dir, sizeof(m->scope.cpu_dir));
    } else if (c->unified_dir[0] &&
               open_in(&m->root, &m->cg_cpu, strcmp(c->unified_dir, "/") == 0 ? "" : c->unified_dir,
                       "cpu.stat") == 0) {
        m->cg_cpu_v2 = true;
        rapt__strlcpy(m->scope.cpu_dir, c->unified_dir, sizeof(m->scope.cpu_dir));
    }
}

/* Reads every counter once so that the first stored sample already has rates. */
static void prime(rapt_monitor *m)
{
    rapt_sample scratch;
    memset(&scratch, 0, sizeof(scratch));
    m->prev_ns = m->now(m->now_ud);
    read_cpu(m, &scratch);
    read_cgroup_cpu(m, &scratch, 0);
    read_disks(m, &scratch, 0);
    read_net(m, &scratch, 0);
}

int rapt_monitor_create(rapt_monitor **out, const rapt_monitor_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    rapt_monitor_opts def;
    if (!opts) {
        rapt_monitor_opts_init(&def);
        opts = &def;
    }
    /* Options are checked up front so that a bad one never leaves a half-made monitor; the
     * capacity bound keeps capacity * sizeof(sample) from overflowing. */
    if (opts->capacity == 0 || opts->capacity > (SIZE_MAX / 2) / sizeof(rapt_sample) ||
        !(opts->eta > 0 && opts->eta <= 1) || opts->trend_window_ns == 0 ||
        !(opts->trend_relative >= 0) || !isfinite(opts->trend_relative))
        return -EINVAL;
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        if (!threshold_valid(&opts->thresholds[i]) || !(opts->trend_tolerance[i] >= 0) ||
            !isfinite(opts->trend_tolerance[i]))
            return -EINVAL;
    }
    rapt_monitor *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->opts = *opts;
    m->root.dirfd = -1;
    m->proc_stat.fd = m->netdev.fd = m->cg_cpu.fd = -1;
    m->disks.file.fd = -1;
    m->fg.usage.fd = m->fg.stat.fd = -1;
    for (int i = 0; i < 3; i++)
        m->fg.psi[i].fd = -1;
    m->now = real_now;
    m->clk_tck = sysconf(_SC_CLK_TCK);
    m->page_size = sysconf(_SC_PAGESIZE);
    if (m->clk_tck <= 0)
        m->clk_tck = 100;
    if (m->page_size <= 0)
        m->page_size = 4096;
    int rc = -ENOMEM;
    m->cap = opts->capacity;
    m->ring = calloc(m->cap, sizeof(*m->ring));
    if (!m->ring)
        goto fail;

    if (opts->sysroot && !rapt__strlcpy(m->sysroot, opts->sysroot, sizeof(m->sysroot))) {
        rc = -ENAMETOOLONG;
        goto fail;
    }
    rapt_sys_opts_init(&m->sysopts);
    m->sysopts.sysroot = m->sysroot[0] ? m->sysroot : NULL;
    m->opts.sysroot = NULL;
    m->opts.cgroup = NULL; /* borrowed strings are not kept; the scope holds the copy */
    rapt__fdcache_init(&m->sys_files);
    rc = rapt__root_open(&m->root, m->sysopts.sysroot);
    if (rc < 0)
        goto fail;
    rc = rapt_sys_read(&m->sysopts, &m->info);
    if (rc < 0)
        goto fail;

    m->own = !opts->cgroup || !*opts->cgroup;
    m->scope.own = m->own;
    m->scope.eta = opts->eta;
    if (m->own) {
        setup_own(m);
    } else {
        rc = setup_foreign(m, opts->cgroup);
        if (rc < 0)
            goto fail;
    }
    /* Optional readers: a kernel or a fixture without them leaves their metrics unknown. */
    rapt__kfile_open(&m->proc_stat, &m->root, "/proc/stat");
    rapt__kfile_open(&m->netdev, &m->root, "/proc/net/dev");
    rapt__disks_open(&m->disks, &m->root);
    m->scan_ok = rapt__procscan_open(&m->scan, &m->root) == 0;

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = -pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc < 0)
        goto fail;
    rc = -pthread_mutex_init(&m->lock, NULL);
    if (rc < 0) {
        pthread_cond_destroy(&m->cond);
        goto fail;
    }
    for (int i = 0; i < RAPT_METRIC_COUNT; i++)
        m->level[i] = RAPT_ALERT_OK;
    m->created_ns = m->now(m->now_ud);
    prime(m);
    *out = m;
    return 0;

fail:
    rapt__procscan_close(&m->scan);
    rapt__disks_close(&m->disks);
    rapt__kfile_close(&m->proc_stat);
    rapt__kfile_close(&m->netdev);
    rapt__kfile_close(&m->cg_cpu);
    rapt__kfile_close(&m->fg.usage);
    rapt__kfile_close(&m->fg.stat);
    for (size_t i = 0; i < m->fg.nlimits; i++)
        rapt__kfile_close(&m->fg.limit[i]);
    for (int i = 0; i < 3; i++)
        rapt__kfile_close(&m->fg.psi[i]);
    rapt__root_close(&m->root);
    free(m->ring);
    free(m);
    return rc;
}

void rapt_monitor_destroy(rapt_monitor *m)
{
    if (!m)
        return;
    /* The thread first: once it is joined nothing reads the files closed below. */
    rapt_monitor_stop(m);
    for (size_t i = 0; i < m->njobs; i++)
        close_job(m, &m->jobs[i]);
    free(m->jobs);
    rapt__procscan_close(&m->scan);
    rapt__disks_close(&m->disks);
    rapt__kfile_close(&m->proc_stat);
    rapt__kfile_close(&m->netdev);
    rapt__kfile_close(&m->cg_cpu);
    rapt__kfile_close(&m->fg.usage);
    rapt__kfile_close(&m->fg.stat);
    for (size_t i = 0; i < m->fg.nlimits; i++)
        rapt__kfile_close(&m->fg.limit[i]);
    for (int i = 0; i < 3; i++)
        rapt__kfile_close(&m->fg.psi[i]);
    rapt__fdcache_close(&m->sys_files);
    rapt__root_close(&m->root);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m->ring);
    free(m);
}

void rapt__monitor_set_clock(rapt_monitor *m, uint64_t (*now)(void *), void *userdata)
{
    pthread_mutex_lock(&m->lock);
    m->now = now ? now : real_now;
    m->now_ud = userdata;
    m->created_ns = m->prev_ns = m->now(m->now_ud);
    pthread_mutex_unlock(&m->lock);
}

/* ---- sampling -------------------------------------------------------------------------------- */

/* What a sample hands to the callbacks once the lock is released. */
typedef struct fired {
    rapt_sample s;
    rapt_monitor_alert alerts[RAPT_METRIC_COUNT];
    size_t nalerts;
    bool have_budget;
    rapt_monitor_budget budget;
} fired;

/* Assigns seq and levels, stores the sample and collects what the callbacks will get. Metrics
 * are evaluated in their enum order, so the alerts of one sample always arrive in that order.
 * The ring overwrites its oldest sample: head is where the next one goes, count saturates at
 * the capacity. */
static void store(rapt_monitor *m, rapt_sample *s, fired *f)
{
    s->seq = ++m->seq;
    f->nalerts = 0;
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        double line;
        rapt_alert_level next =
            rapt__alert_next(m->level[i], s->value[i], &m->opts.thresholds[i], &line);
        if (next != m->level[i]) {
            f->alerts[f->nalerts++] = (rapt_monitor_alert){
                .metric = (rapt_metric)i,
                .level = next,
                .previous = m->level[i],
                .value = s->value[i],
                .line = line,
                .seq = s->seq,
                .mono_ns = s->mono_ns,
            };
            m->level[i] = next;
        }
        s->level[i] = m->level[i];
    }
    m->ring[m->head] = *s;
    m->head = (m->head + 1) % m->cap;
    if (m->count < m->cap)
        m->count++;
    f->s = *s;
    f->have_budget = s->mem_known;
    if (s->mem_known) {
        f->budget = (rapt_monitor_budget){
            .budget = s->mem_budget,
            .limit = s->mem_limit,
            .available = s->mem_available,
            .used = s->mem_used,
            .psi_memory_some = s->value[RAPT_METRIC_PSI_MEMORY],
            .seq = s->seq,
        };
    }
}

static void fire(rapt_monitor *m, const fired *f)
{
    /* The options are fixed after create, so reading the callbacks without the lock is safe. */
    if (m->opts.on_alert) {
        for (size_t i = 0; i < f->nalerts; i++)
            m->opts.on_alert(m->opts.alert_userdata, &f->alerts[i]);
    }
    if (m->opts.on_sample)
        m->opts.on_sample(m->opts.sample_userdata, &f->s);
    if (f->have_budget && m->opts.on_budget)
        m->opts.on_budget(m->opts.budget_userdata, &f->budget);
}

/* One sample, with the lock held. The clock is read once, first, and every rate divides by the
 * time since the previous sample's reading. Each reader runs at about the same offset after the
 * clock in every sample, so the offsets cancel in the differences. */
static void sample_locked(rapt_monitor *m, fired *f)
{
    rapt_sample *s = &f->s;
    memset(s, 0, sizeof(*s));
    uint64_t now = m->now(m->now_ud);
    uint64_t dt_ns = rapt__sat_sub(now, m->prev_ns);
    double dt = (double)dt_ns / 1e9;
    s->mono_ns = now;
    s->wall_ns = rapt__wall_ns();
    s->interval_s = dt;
    for (int i = 0; i < RAPT_METRIC_COUNT; i++)
        s->value[i] = NAN;
    s->cpu_iowait_pct = s->cpu_steal_pct = NAN;
    s->psi_memory_full = s->psi_io_full = NAN;

    read_cpu(m, s);
    /* The sys module's own refresh, so the figures and the budget follow its rules exactly,
     * reading through a cache of open files: about 20 of them, re-read with pread instead of
     * opened, read and closed ten times a second. Only this call uses the cache; per-process
     * reads below must not fill it. */
    m->root.cache = &m->sys_files;
    rapt__sys_refresh_at(&m->root, &m->info);
    m->root.cache = NULL;
    s->cpus_online =
        m->info.cpu.online.state == RAPT_QTY_KNOWN ? (unsigned)m->info.cpu.online.value : 0;
    read_memory(m, s);
    read_psi(m, s);
    read_cgroup_cpu(m, s, dt_ns);
    read_disks(m, s, dt);
    read_net(m, s, dt);
    read_jobs(m, s, now);
    m->prev_ns = now;
    store(m, s, f);
}

int rapt_monitor_sample(rapt_monitor *m, rapt_sample *out)
{
    if (!m)
        return -EINVAL;
    fired f;
    pthread_mutex_lock(&m->lock);
    /* A sample taken between two of the thread's would make both intervals irregular and every
     * rate noisier; the thread owns the cadence while it runs. */
    if (m->running) {
        pthread_mutex_unlock(&m->lock);
        return -EBUSY;
    }
    sample_locked(m, &f);
    pthread_mutex_unlock(&m->lock);
    fire(m, &f);
    if (out)
        *out = f.s;
    return 0;
}

int rapt__monitor_feed(rapt_monitor *m, const rapt_sample *s)
{
    if (!m || !s)
        return -EINVAL;
    fired f;
    pthread_mutex_lock(&m->lock);
    if (m->running) {
        pthread_mutex_unlock(&m->lock);
        return -EBUSY;
    }
    rapt_sample copy = *s;
    store(m, &copy, &f);
    pthread_mutex_unlock(&m->lock);
    fire(m, &f);
    return 0;
}

static void *thread_main(void *arg)
{
    rapt_monitor *m = arg;
    pthread_setname_np(pthread_self(), "rapt-monitor");
    pthread_mutex_lock(&m->lock);
    uint64_t next = rapt__now_ns() + m->interval_ns;
    while (!m->stop) {
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull),
                              .tv_nsec = (long)(next % 1000000000ull)};
        int rc = pthread_cond_timedwait(&m->cond, &m->lock, &ts);
        if (m->stop)
            break;
        if (rc != ETIMEDOUT && rapt__now_ns() < next)
            continue; /* woken early (spurious): wait out the rest of the tick */
        fired f;
        sample_locked(m, &f);
        pthread_mutex_unlock(&m->lock);
        fire(m, &f);
        pthread_mutex_lock(&m->lock);
        /* A fixed cadence: the next tick is a multiple of the interval from the start, and a
         * tick missed (a stalled machine, a slow callback) is skipped, not caught up in a
         * burst. */
        uint64_t now = rapt__now_ns();
        next += m->interval_ns;
        if (next <= now)
            next += ((now - next) / m->interval_ns + 1) * m->interval_ns;
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* The thread is optional and never started by create: rapt run samples from its own event
 * loop, and a library should not run threads its caller did not ask for. */
int rapt_monitor_start(rapt_monitor *m, uint64_t interval_ns)
{
    if (!m || interval_ns == 0)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    int rc = 0;
    if (m->running) {
        rc = -EBUSY;
    } else {
        m->stop = false;
        m->interval_ns = interval_ns;
        rc = -pthread_create(&m->thread, NULL, thread_main, m);
        m->running = rc == 0;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int rapt_monitor_stop(rapt_monitor *m)
{
    if (!m)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    if (!m->running) {
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    if (pthread_equal(pthread_self(), m->thread)) {
        pthread_mutex_unlock(&m->lock);
        return -EDEADLK;
    }
    /* Only one caller may join; a second stop waits until the first has. The thread itself
     * also waits on cond, and takes these broadcasts as early wake-ups. */
    if (m->joining) {
        while (m->running)
            pthread_cond_wait(&m->cond, &m->lock);
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    m->stop = true;
    m->joining = true;
    pthread_cond_broadcast(&m->cond);
    pthread_t t = m->thread;
    pthread_mutex_unlock(&m->lock);
    pthread_join(t, NULL);
    pthread_mutex_lock(&m->lock);
    m->running = false;
    m->joining = false;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* ---- reading back ---------------------------------------------------------------------------- */

size_t rapt_monitor_count(rapt_monitor *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = m->count;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* The sample `age` steps back; the caller holds the lock and checked age < count. */
static const rapt_sample *at(const rapt_monitor *m, size_t age)
{
    return &m->ring[(m->head + m->cap - 1 - age) % m->cap];
}

int rapt_monitor_get(rapt_monitor *m, size_t age, rapt_sample *out)
{
    if (!m || !out)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    int rc = -ENOENT;
    if (age < m->count) {
        *out = *at(m, age);
        rc = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

size_t rapt_monitor_history(rapt_monitor *m, rapt_sample *out, size_t max)
{
    if (!m || !out)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = RAPT__MIN(max, m->count);
    for (size_t i = 0; i < n; i++)
        out[i] = *at(m, n - 1 - i);
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* The current level is kept: a change of lines must not by itself clear or raise an alert; the
 * next sample decides, with the new lines and the usual hysteresis. */
int rapt_monitor_set_threshold(rapt_monitor *m, rapt_metric metric, const rapt_monitor_threshold *t)
{
    if (!m || !t || (unsigned)metric >= RAPT_METRIC_COUNT || !threshold_valid(t))
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    m->opts.thresholds[metric] = *t;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int rapt_monitor_get_threshold(rapt_monitor *m, rapt_metric metric, rapt_monitor_threshold *out)
{
    if (!m || !out || (unsigned)metric >= RAPT_METRIC_COUNT)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    *out = m->opts.thresholds[metric];
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* The trends of every metric, with the lock held: one walk over the window, newest first, with
 * times relative to the newest sample so the numbers stay small. */
static const rapt_trend *trends_locked(rapt_monitor *m)
{
    if (m->trend_seq == m->seq && m->seq != 0)
        return m->trends;
    trend_acc acc[RAPT_METRIC_COUNT];
    memset(acc, 0, sizeof(acc));
    if (m->count > 0) {
        uint64_t newest = at(m, 0)->mono_ns;
        for (size_t age = 0; age < m->count; age++) {
            const rapt_sample *s = at(m, age);
            if (newest - s->mono_ns > m->opts.trend_window_ns)
                break;
            double t = -(double)(newest - s->mono_ns) / 1e9;
            for (int i = 0; i < RAPT_METRIC_COUNT; i++)
                acc_add(&acc[i], t, s->value[i]);
        }
    }
    for (int i = 0; i < RAPT_METRIC_COUNT; i++)
        acc_finish(&acc[i], m->opts.trend_tolerance[i], m->opts.trend_relative, &m->trends[i]);
    m->trend_seq = m->seq;
    return m->trends;
}

int rapt_monitor_trend(rapt_monitor *m, rapt_metric metric, rapt_trend *out)
{
    if (!m || !out || (unsigned)metric >= RAPT_METRIC_COUNT)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    *out = trends_locked(m)[metric];
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int rapt_monitor_get_scope(rapt_monitor *m, rapt_monitor_scope *out)
{
    if (!m || !out)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    *out = m->scope;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* A copy, not a pointer: the view changes at the next sample, possibly in another thread. */
int rapt_monitor_get_sys(rapt_monitor *m, rapt_sys_info *out)
{
    if (!m || !out)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    *out = m->info;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* ---- output ---------------------------------------------------------------------------------- */

static const char *psi_scope_name(rapt_psi_scope s)
{
    return s == RAPT_PSI_CGROUP ? "cgroup" : s == RAPT_PSI_SYSTEM ? "system" : "none";
}

static const char *kind_name(rapt_monitor_job_kind k)
{
    return k == RAPT_MONITOR_JOB_PGID ? "pgid" : k == RAPT_MONITOR_JOB_CGROUP ? "cgroup" : "pid";
}

static void jw_opt_u64(rapt__jw *w, const char *k, bool known, uint64_t v)
{
    rapt__jw_key(w, k);
    if (known)
        rapt__jw_u64(w, v);
    else
        rapt__jw_null(w);
}

static void jw_num(rapt__jw *w, const char *k, double v)
{
    rapt__jw_key(w, k);
    rapt__jw_dbl(w, v); /* NaN becomes null */
}

/* Written under the lock, so the sample, the jobs and the trends are one consistent snapshot.
 * A FILE that blocks would hold up sampling meanwhile; the CLI writes to its stdout from the
 * same thread that samples, where that cannot matter. */
int rapt_monitor_print_json(rapt_monitor *m, FILE *f)
{
    if (!m || !f)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    if (m->count == 0) {
        pthread_mutex_unlock(&m->lock);
        return -ENOENT;
    }
    const rapt_sample *s = at(m, 0);
    rapt__jw w;
    rapt__jw_init(&w, f, false);
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "v");
    rapt__jw_u64(&w, 1);
    rapt__jw_key(&w, "t");
    rapt__jw_fixed(&w, (double)s->wall_ns / 1e9, 6);
    rapt__jw_key(&w, "mono");
    rapt__jw_fixed(&w, (double)rapt__sat_sub(s->mono_ns, m->created_ns) / 1e9, 6);
    rapt__jw_key(&w, "seq");
    rapt__jw_u64(&w, s->seq);
    jw_num(&w, "interval_s", s->interval_s);

    rapt__jw_key(&w, "cpu");
    rapt__jw_obj(&w);
    jw_num(&w, "pct", s->value[RAPT_METRIC_CPU]);
    jw_num(&w, "iowait_pct", s->cpu_iowait_pct);
    jw_num(&w, "steal_pct", s->cpu_steal_pct);
    jw_opt_u64(&w, "online", s->cpus_online > 0, s->cpus_online);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "cgroup");
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "dir");
    rapt__jw_str(&w, m->scope.cgroup_dir);
    rapt__jw_key(&w, "version");
    if (m->scope.cgroup_version == RAPT_CGROUP_NONE)
        rapt__jw_null(&w);
    else
        rapt__jw_u64(&w, (uint64_t)m->scope.cgroup_version);
    rapt__jw_key(&w, "cpu_dir");
    rapt__jw_str(&w, m->scope.cpu_dir);
    jw_num(&w, "cpu_pct", s->value[RAPT_METRIC_CGROUP_CPU]);
    jw_num(&w, "cpu_cores", isfinite(s->value[RAPT_METRIC_CGROUP_CPU]) ? s->cgroup_cpu_cores : NAN);
    jw_num(&w, "cpu_capacity", s->cgroup_cpu_capacity > 0 ? s->cgroup_cpu_capacity : NAN);
    jw_opt_u64(&w, "memory_usage", s->cgroup_mem_known, s->cgroup_mem_usage);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "memory");
    rapt__jw_obj(&w);
    jw_num(&w, "pct", s->value[RAPT_METRIC_MEMORY]);
    jw_opt_u64(&w, "used", s->mem_known, s->mem_used);
    jw_opt_u64(&w, "available", s->mem_known, s->mem_available);
    jw_opt_u64(&w, "limit", s->mem_known, s->mem_limit);
    rapt__jw_key(&w, "limit_bound");
    rapt__jw_str(&w, rapt_bound_name(m->scope.mem_limit_bound));
    rapt__jw_key(&w, "limit_source");
    rapt__jw_str(&w, m->scope.mem_limit_source);
    jw_opt_u64(&w, "budget", s->mem_known, s->mem_budget);
    jw_num(&w, "eta", m->opts.eta);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "swap");
    rapt__jw_obj(&w);
    jw_num(&w, "pct", s->value[RAPT_METRIC_SWAP]);
    rapt__jw_key(&w, "used");
    rapt__jw_u64(&w, s->swap_used);
    rapt__jw_key(&w, "total");
    rapt__jw_u64(&w, s->swap_total);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "psi");
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "scope");
    rapt__jw_str(&w, psi_scope_name(s->psi_scope));
    jw_num(&w, "cpu_some", s->value[RAPT_METRIC_PSI_CPU]);
    jw_num(&w, "memory_some", s->value[RAPT_METRIC_PSI_MEMORY]);
    jw_num(&w, "memory_full", s->psi_memory_full);
    jw_num(&w, "io_some", s->value[RAPT_METRIC_PSI_IO]);
    jw_num(&w, "io_full", s->psi_io_full);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "disk");
    rapt__jw_obj(&w);
    jw_num(&w, "read_bps", s->value[RAPT_METRIC_DISK_READ]);
    jw_num(&w, "write_bps", s->value[RAPT_METRIC_DISK_WRITE]);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "net");
    rapt__jw_obj(&w);
    jw_num(&w, "rx_bps", s->value[RAPT_METRIC_NET_RX]);
    jw_num(&w, "tx_bps", s->value[RAPT_METRIC_NET_TX]);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "jobs");
    rapt__jw_arr(&w);
    for (size_t i = 0; i < m->njobs; i++) {
        const rapt_monitor_job *j = &m->jobs[i].pub;
        rapt__jw_obj(&w);
        rapt__jw_key(&w, "id");
        rapt__jw_u64(&w, j->id);
        rapt__jw_key(&w, "kind");
        rapt__jw_str(&w, kind_name(j->kind));
        rapt__jw_key(&w, "pid");
        if (j->kind == RAPT_MONITOR_JOB_CGROUP)
            rapt__jw_null(&w);
        else
            rapt__jw_i64(&w, j->pid);
        rapt__jw_key(&w, "label");
        rapt__jw_str(&w, j->label);
        rapt__jw_key(&w, "alive");
        rapt__jw_bool(&w, j->alive);
        rapt__jw_key(&w, "nprocs");
        rapt__jw_u64(&w, j->nprocs);
        rapt__jw_key(&w, "memory");
        rapt__jw_u64(&w, j->memory);
        rapt__jw_key(&w, "memory_peak");
        rapt__jw_u64(&w, j->memory_peak);
        jw_num(&w, "cpu_pct", j->cpu_pct);
        jw_num(&w, "cpu_s", j->cpu_s);
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);
    jw_num(&w, "jobs_memory", s->value[RAPT_METRIC_JOBS_MEMORY]);
    jw_num(&w, "jobs_cpu_cores", s->jobs_cpu_cores);

    rapt__jw_key(&w, "alerts");
    rapt__jw_arr(&w);
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        if (s->level[i] == RAPT_ALERT_OK)
            continue;
        const rapt_monitor_threshold *t = &m->opts.thresholds[i];
        rapt__jw_obj(&w);
        rapt__jw_key(&w, "metric");
        rapt__jw_str(&w, metrics[i].name);
        rapt__jw_key(&w, "level");
        rapt__jw_str(&w, rapt_alert_level_name(s->level[i]));
        jw_num(&w, "value", s->value[i]);
        jw_num(&w, "warning", t->warning);
        jw_num(&w, "critical", t->critical);
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);

    rapt__jw_key(&w, "trends");
    rapt__jw_obj(&w);
    const rapt_trend *trs = trends_locked(m);
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        const rapt_trend tr = trs[i];
        rapt__jw_key(&w, metrics[i].name);
        rapt__jw_obj(&w);
        rapt__jw_key(&w, "dir");
        rapt__jw_str(&w, rapt_trend_dir_name(tr.dir));
        jw_num(&w, "slope", tr.dir == RAPT_TREND_UNKNOWN ? NAN : tr.slope);
        jw_num(&w, "change", tr.dir == RAPT_TREND_UNKNOWN ? NAN : tr.change);
        rapt__jw_key(&w, "points");
        rapt__jw_u64(&w, tr.points);
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);
    rapt__jw_end(&w);
    rapt__jw_done(&w);
    pthread_mutex_unlock(&m->lock);
    if (fflush(f) != 0 || ferror(f))
        return errno ? -errno : -EIO;
    return 0;
}

/* ---- Prometheus text format ------------------------------------------------------------------ */

/* A label value with \\, \" and \n escaped, as the exposition format requires. */
static void prom_label_value(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '"')
            fputs("\\\"", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Integral values (bytes, counts) print exactly; fractions with ten significant digits. */
static void prom_num(FILE *f, double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        fprintf(f, "%.0f\n", v);
    else
        fprintf(f, "%.10g\n", v);
}

/* A gauge without labels; unknown values are left out, not written as NaN, so that a dashboard
 * shows a gap instead of a line at zero. */
static void prom_gauge(FILE *f, const char *name, const char *help, double v)
{
    if (!isfinite(v))
        return;
    prom_head(f, name, "gauge", help);
    fprintf(f, "%s ", name);
    prom_num(f, v);
}

/* The text exposition format: each family gets its HELP and TYPE lines right before its samples,
 * and a family's samples are contiguous, which is what the textfile collector's parser requires
 * (tests/e2e/prom-check.awk checks both). Percentages become ratios, Prometheus's base unit. */
int rapt_monitor_print_prometheus(rapt_monitor *m, FILE *f)
{
    if (!m || !f)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    if (m->count == 0) {
        pthread_mutex_unlock(&m->lock);
        return -ENOENT;
    }
    const rapt_sample *s = at(m, 0);
    const double *v = s->value;
    prom_head(f, "rapt_monitor_samples_total", "counter", "Samples taken by this rapt monitor.");
    fprintf(f, "rapt_monitor_samples_total %llu\n", (unsigned long long)s->seq);
    prom_head(f, "rapt_monitor_last_sample_timestamp_seconds", "gauge",
              "Wall-clock time of the latest sample.");
    fprintf(f, "rapt_monitor_last_sample_timestamp_seconds %.3f\n", (double)s->wall_ns / 1e9);
    prom_gauge(f, "rapt_cpu_online", "CPUs online.", s->cpus_online ? s->cpus_online : NAN);
    prom_gauge(f, "rapt_cpu_busy_ratio", "Share of all online CPUs busy over the last interval.",
               v[RAPT_METRIC_CPU] / 100);
    prom_gauge(f, "rapt_cpu_iowait_ratio", "Share of all CPUs idle waiting for I/O.",
               s->cpu_iowait_pct / 100);
    prom_gauge(f, "rapt_cpu_steal_ratio", "Share of all CPUs taken by the hypervisor.",
               s->cpu_steal_pct / 100);
    prom_gauge(f, "rapt_cgroup_cpu_busy_ratio",
               "CPU used by the monitored cgroup as a share of its CPU capacity.",
               v[RAPT_METRIC_CGROUP_CPU] / 100);
    prom_gauge(f, "rapt_cgroup_cpu_cores", "CPUs' worth of time the monitored cgroup used.",
               isfinite(v[RAPT_METRIC_CGROUP_CPU]) ? s->cgroup_cpu_cores : NAN);
    prom_gauge(f, "rapt_cgroup_cpu_capacity_cores", "CPU capacity of the monitored cgroup.",
               s->cgroup_cpu_capacity > 0 ? s->cgroup_cpu_capacity : NAN);
    prom_gauge(f, "rapt_cgroup_memory_usage_bytes",
               "Memory charged to the monitored cgroup, page cache included.",
               s->cgroup_mem_known ? (double)s->cgroup_mem_usage : NAN);
    if (s->mem_known) {
        prom_head(f, "rapt_memory_limit_bytes", "gauge",
                  "The binding memory limit; labels say what sets it.");
        fprintf(f, "rapt_memory_limit_bytes{bound=\"%s\",source=\"",
                rapt_bound_name(m->scope.mem_limit_bound));
        prom_label_value(f, m->scope.mem_limit_source);
        fprintf(f, "\"} %llu\n", (unsigned long long)s->mem_limit);
        prom_gauge(f, "rapt_memory_used_bytes", "Memory in use against the limit.",
                   (double)s->mem_used);
        prom_gauge(f, "rapt_memory_available_bytes", "Memory still available under the limit.",
                   (double)s->mem_available);
        prom_gauge(f, "rapt_memory_budget_bytes",
                   "What jobs may still take: available minus (1 - eta) x limit.",
                   (double)s->mem_budget);
        prom_gauge(f, "rapt_memory_used_ratio", "Memory in use as a share of the limit.",
                   v[RAPT_METRIC_MEMORY] / 100);
    }
    prom_gauge(f, "rapt_swap_total_bytes", "Swap space on the host.", (double)s->swap_total);
    prom_gauge(f, "rapt_swap_used_bytes", "Swap in use on the host.", (double)s->swap_used);
    if (s->psi_scope != RAPT_PSI_NONE) {
        prom_head(f, "rapt_pressure_avg10_ratio", "gauge",
                  "Share of the last 10 s some or all tasks stalled on a resource (PSI).");
        const struct {
            const char *res, *kind;
            double v;
        } p[] = {{"cpu", "some", v[RAPT_METRIC_PSI_CPU]},
                 {"memory", "some", v[RAPT_METRIC_PSI_MEMORY]},
                 {"memory", "full", s->psi_memory_full},
                 {"io", "some", v[RAPT_METRIC_PSI_IO]},
                 {"io", "full", s->psi_io_full}};
        for (size_t i = 0; i < RAPT__ARRAY_SIZE(p); i++) {
            if (!isfinite(p[i].v))
                continue;
            fprintf(f, "rapt_pressure_avg10_ratio{resource=\"%s\",kind=\"%s\",scope=\"%s\"} ",
                    p[i].res, p[i].kind, psi_scope_name(s->psi_scope));
            prom_num(f, p[i].v / 100);
        }
    }
    prom_gauge(f, "rapt_disk_read_bytes_per_second", "Bytes read per second from physical disks.",
               v[RAPT_METRIC_DISK_READ]);
    prom_gauge(f, "rapt_disk_written_bytes_per_second",
               "Bytes written per second to physical disks.", v[RAPT_METRIC_DISK_WRITE]);
    prom_gauge(f, "rapt_network_receive_bytes_per_second",
               "Bytes received per second on every interface but lo.", v[RAPT_METRIC_NET_RX]);
    prom_gauge(f, "rapt_network_transmit_bytes_per_second",
               "Bytes transmitted per second on every interface but lo.", v[RAPT_METRIC_NET_TX]);
    prom_gauge(f, "rapt_jobs_tracked", "Jobs the monitor follows.", s->jobs_tracked);
    prom_gauge(f, "rapt_jobs_alive", "Tracked jobs with a live process.", s->jobs_alive);
    prom_gauge(f, "rapt_jobs_memory_bytes", "Memory of the tracked jobs together.",
               v[RAPT_METRIC_JOBS_MEMORY]);
    prom_gauge(f, "rapt_jobs_cpu_cores", "CPUs' worth of time the tracked jobs used together.",
               s->jobs_cpu_cores);
    if (m->njobs > 0) {
        static const char *const names[] = {"rapt_job_memory_bytes", "rapt_job_memory_peak_bytes",
                                            "rapt_job_cpu_ratio"};
        static const char *const helps[] = {
            "Memory of a tracked job (RSS of its processes, or its cgroup's usage).",
            "Highest memory seen for a tracked job.",
            "CPU of a tracked job over the last interval, as a share of one CPU."};
        for (size_t k = 0; k < 3; k++) {
            prom_head(f, names[k], "gauge", helps[k]);
            for (size_t i = 0; i < m->njobs; i++) {
                const rapt_monitor_job *j = &m->jobs[i].pub;
                double x = k == 0   ? (double)j->memory
                           : k == 1 ? (double)j->memory_peak
                                    : j->cpu_pct / 100;
                if (!isfinite(x))
                    continue;
                fprintf(f, "%s{id=\"%llu\",pid=\"%ld\"} ", names[k], (unsigned long long)j->id,
                        (long)j->pid);
                prom_num(f, x);
            }
        }
    }
    prom_head(f, "rapt_alert_level", "gauge",
              "Alert level per metric: 0 ok, 1 warning, 2 critical.");
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        if (m->opts.thresholds[i].enabled)
            fprintf(f, "rapt_alert_level{metric=\"%s\"} %d\n", metrics[i].name, (int)s->level[i]);
    }
    prom_head(f, "rapt_trend_direction", "gauge",
              "Trend per metric over the window: 1 increasing, 0 stable, -1 decreasing.");
    const rapt_trend *trs = trends_locked(m);
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        const rapt_trend tr = trs[i];
        if (tr.dir != RAPT_TREND_UNKNOWN)
            fprintf(f, "rapt_trend_direction{metric=\"%s\"} %d\n", metrics[i].name,
                    tr.dir == RAPT_TREND_INCREASING   ? 1
                    : tr.dir == RAPT_TREND_DECREASING ? -1
                                                      : 0);
    }
    pthread_mutex_unlock(&m->lock);
    if (fflush(f) != 0 || ferror(f))
        return errno ? -errno : -EIO;
    return 0;
}

int rapt_monitor_write_prometheus(rapt_monitor *m, const char *path)
{
    if (!m || !path || !*path)
        return -EINVAL;
    /* The temporary file lives next to the target so rename() stays within one file system, and
     * its name does not end in ".prom" so the textfile collector never reads it half-written. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return -EISDIR;
    char tmp[4096];
    if (!rapt__bufprintf(tmp, sizeof(tmp), "%.*s.%s.%ld.tmp", (int)dirlen, path, base,
                         (long)getpid()))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return -e;
    }
    int rc = rapt_monitor_print_prometheus(m, f);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}
