/* rapt/monitor.h: periodic samples of the machine, a cgroup and tracked jobs.
 *
 * A monitor takes samples — CPU, memory against the binding limit, swap, pressure (PSI), disk and
 * network throughput, and the memory and CPU of the jobs it was told to follow — and keeps the
 * last `capacity` of them in a ring. On each sample it compares every metric with its warning and
 * critical lines (with hysteresis, so a value hovering at a line does not flap) and calls the
 * alert callback when a level changes; it fits a least-squares line over a time window per metric
 * to say whether the metric is increasing, decreasing or stable.
 *
 * Two ways to drive it:
 *   - call rapt_monitor_sample() from your own loop (rapt run calls it from its timer tick);
 *   - or rapt_monitor_start() a background thread that samples at an interval.
 *
 * Cost: a sample re-reads a dozen small kernel files, most of them kept open and re-read with
 * pread() at offset 0, and allocates nothing. docs/monitor.md has the measured cost
 * (bench/monitor-overhead.sh).
 *
 * Thread-safety: every function may be called from any thread; one mutex per monitor serialises
 * them. Callbacks run in the thread that took the sample, after the sample is stored and with no
 * lock held, so they may call any rapt_monitor_* function except rapt_monitor_stop() and
 * rapt_monitor_destroy() (which return -EDEADLK / must not be called from there).
 *
 * Definitions of every metric, the default thresholds and the JSON and Prometheus output formats
 * are in docs/monitor.md.
 */
#ifndef RAPT_MONITOR_H
#define RAPT_MONITOR_H

#include <stdio.h>
#include <sys/types.h>

#include "rapt/common.h"
#include "rapt/sys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rapt_monitor rapt_monitor;

/* The metrics that have thresholds and trends. Values are doubles in the unit given by
 * rapt_monitor_metric_unit(); NaN means unknown (the first sample's rates when nothing was
 * primed, a file the kernel does not offer, no swap configured). */
typedef enum rapt_metric {
    RAPT_METRIC_CPU = 0,     /* system CPU busy, % of all online CPUs (/proc/stat) */
    RAPT_METRIC_CGROUP_CPU,  /* the monitored cgroup's CPU, % of its CPU capacity */
    RAPT_METRIC_MEMORY,      /* memory in use, % of the binding limit */
    RAPT_METRIC_SWAP,        /* swap in use, % of swap space (NaN without swap) */
    RAPT_METRIC_PSI_CPU,     /* CPU pressure, "some" avg10, % */
    RAPT_METRIC_PSI_MEMORY,  /* memory pressure, "some" avg10, % */
    RAPT_METRIC_PSI_IO,      /* I/O pressure, "some" avg10, % */
    RAPT_METRIC_DISK_READ,   /* bytes/s read from physical disks */
    RAPT_METRIC_DISK_WRITE,  /* bytes/s written to physical disks */
    RAPT_METRIC_NET_RX,      /* bytes/s received on every interface but lo */
    RAPT_METRIC_NET_TX,      /* bytes/s transmitted */
    RAPT_METRIC_JOBS_MEMORY, /* bytes: memory of the tracked jobs together */
    RAPT_METRIC_COUNT
} rapt_metric;

/* Static short name ("cpu", "cgroup_cpu", "memory", "swap", "psi_cpu", "psi_memory", "psi_io",
 * "disk_read", "disk_write", "net_rx", "net_tx", "jobs_memory"); NULL for an invalid metric. */
RAPT_API const char *rapt_monitor_metric_name(rapt_metric m);
/* Static unit: "%", "B/s" or "B"; NULL for an invalid metric. */
RAPT_API const char *rapt_monitor_metric_unit(rapt_metric m);
/* The metric with that short name; returns 0 or -EINVAL. */
RAPT_API int rapt_monitor_metric_parse(const char *name, rapt_metric *out);

typedef enum rapt_alert_level {
    RAPT_ALERT_OK = 0,
    RAPT_ALERT_WARNING = 1,
    RAPT_ALERT_CRITICAL = 2
} rapt_alert_level;

/* Static lower-case name: "ok", "warning", "critical". */
RAPT_API const char *rapt_alert_level_name(rapt_alert_level l);

/* Where the pressure figures come from. */
typedef enum rapt_psi_scope {
    RAPT_PSI_NONE = 0,   /* the kernel offers no PSI */
    RAPT_PSI_SYSTEM = 1, /* /proc/pressure/<res> */
    RAPT_PSI_CGROUP = 2  /* the monitored cgroup's v2 <res>.pressure */
} rapt_psi_scope;

/* One sample. A plain value: copy it freely. Fields marked "bytes" are 0 when their *_known
 * flag (or the matching metric) says unknown. */
typedef struct rapt_sample {
    uint64_t seq;      /* 1 for the first sample of this monitor, then +1 */
    uint64_t mono_ns;  /* CLOCK_MONOTONIC when taken */
    uint64_t wall_ns;  /* CLOCK_REALTIME when taken */
    double interval_s; /* seconds since the previous sample (or since creation) */
    double value[RAPT_METRIC_COUNT];
    rapt_alert_level level[RAPT_METRIC_COUNT]; /* alert level of each metric after this sample */

    /* CPU. */
    unsigned cpus_online;
    double cpu_iowait_pct;      /* % of all CPUs idle waiting for I/O */
    double cpu_steal_pct;       /* % taken by the hypervisor for other guests */
    double cgroup_cpu_cores;    /* CPUs' worth of time the monitored cgroup used */
    double cgroup_cpu_capacity; /* what RAPT_METRIC_CGROUP_CPU is a share of, in CPUs */

    /* Memory of the monitored scope: rapt's own container (the sys module's figures) or the
     * cgroup given in rapt_monitor_opts.cgroup. used = limit - available. */
    bool mem_known;
    uint64_t mem_limit, mem_used, mem_available;
    uint64_t mem_budget; /* max(0, available - (1 - eta) x limit), as rapt_sys_budget() */
    bool cgroup_mem_known;
    uint64_t cgroup_mem_usage; /* what the cgroup is charged, page cache included */

    /* Swap (host). */
    uint64_t swap_total, swap_used;

    /* Pressure, avg10 in % (NaN when unknown); "some" of cpu/memory/io are also metrics. */
    rapt_psi_scope psi_scope;
    double psi_memory_full, psi_io_full;

    /* Jobs (see rapt_monitor_job_add). */
    unsigned jobs_tracked; /* jobs being followed */
    unsigned jobs_alive;   /* of them, with at least one live process (or cgroup member) */
    double jobs_cpu_cores; /* CPUs' worth of time the jobs used together over the interval */
} rapt_sample;

/* What a metric is compared with. A level is entered when the value reaches its line and left
 * only when the value falls below line - hysteresis, so a value hovering at a line does not
 * flap. */
typedef struct rapt_monitor_threshold {
    bool enabled;
    double warning;    /* in the metric's unit */
    double critical;   /* >= warning */
    double hysteresis; /* >= 0, in the metric's unit */
} rapt_monitor_threshold;

/* The documented defaults for a metric (docs/monitor.md). Returns 0 or -EINVAL. */
RAPT_API int rapt_monitor_threshold_default(rapt_metric m, rapt_monitor_threshold *out);

/* A level change, passed to rapt_monitor_alert_fn. */
typedef struct rapt_monitor_alert {
    rapt_metric metric;
    rapt_alert_level level;    /* the new level */
    rapt_alert_level previous; /* the level before this sample */
    double value;              /* the metric's value in this sample */
    double line;               /* the line crossed: the new level's, or when falling, the old */
    uint64_t seq;              /* the sample */
    uint64_t mono_ns;
} rapt_monitor_alert;

/* Called once per level change, in sample order. `a` is borrowed for the call. */
typedef void (*rapt_monitor_alert_fn)(void *userdata, const rapt_monitor_alert *a);

/* Called after every stored sample. `s` is borrowed for the call. */
typedef void (*rapt_monitor_sample_fn)(void *userdata, const rapt_sample *s);

/* The memory budget after a sample, for a budget consumer (an admission gate, a pool).
 * `budget` is what jobs may still take: max(0, available - (1 - eta) x limit). */
typedef struct rapt_monitor_budget {
    uint64_t budget, limit, available, used;
    double psi_memory_some; /* avg10 %, NaN when unknown */
    uint64_t seq;
} rapt_monitor_budget;

/* Called after every sample in which the memory figures are known; `b` is borrowed. This is
 * the hook for rapt_gate_resize(): see docs/monitor.md "Following the budget". */
typedef void (*rapt_monitor_budget_fn)(void *userdata, const rapt_monitor_budget *b);

#define RAPT_MONITOR_DEFAULT_CAPACITY        1000
#define RAPT_MONITOR_DEFAULT_TREND_WINDOW_NS (60ull * 1000000000ull)

typedef struct rapt_monitor_opts {
    /* Directory to read /proc and /sys under; NULL or "" means "/". Copied. */
    const char *sysroot;
    /* The cgroup to monitor: NULL for rapt's own memory cgroup as the sys module finds it;
     * otherwise a cgroup directory as the process sees it (v2: /sys/fs/cgroup/x; v1: the
     * memory hierarchy's, /sys/fs/cgroup/memory/x, whose cpuacct twin is found by path).
     * Copied. */
    const char *cgroup;
    size_t capacity;          /* samples kept; default RAPT_MONITOR_DEFAULT_CAPACITY */
    double eta;               /* budget headroom fraction, (0, 1]; default RAPT_SYS_DEFAULT_ETA */
    uint64_t trend_window_ns; /* time window of the trends; default 60 s */
    double trend_relative;    /* a trend is stable while |change| <= max(tolerance, this x
                                 |mean|); default 0.05 */
    double trend_tolerance[RAPT_METRIC_COUNT]; /* absolute part, per metric, in its unit */
    rapt_monitor_threshold thresholds[RAPT_METRIC_COUNT];
    uint64_t pgrp_rescan_ns; /* how often process groups are re-scanned for new members;
                                default 1 s (a scan reads every /proc/<pid>/stat) */
    rapt_monitor_alert_fn on_alert;
    void *alert_userdata;
    rapt_monitor_sample_fn on_sample;
    void *sample_userdata;
    rapt_monitor_budget_fn on_budget;
    void *budget_userdata;
    rapt_log_fn log; /* diagnostics (a reader that failed, once per kind); may be NULL */
    void *log_userdata;
} rapt_monitor_opts;

/* Fills opts with the defaults: real root, own cgroup, 1000 samples, the documented thresholds
 * and trend tolerances, no callbacks. */
RAPT_API void rapt_monitor_opts_init(rapt_monitor_opts *opts);

/* Creates a monitor: reads the machine (rapt_sys_read), opens the files it will re-read and
 * takes the baseline of every counter, so the first sample already has rates. opts may be NULL
 * for the defaults. On success *out is a handle the caller destroys with rapt_monitor_destroy().
 * Returns 0; -EINVAL (bad option); -ENOENT / -ENOTDIR (sysroot or opts->cgroup missing or not a
 * cgroup directory); -ENOMEM. Missing optional files (PSI, diskstats) are not errors: their
 * metrics stay unknown. */
RAPT_API int rapt_monitor_create(rapt_monitor **out, const rapt_monitor_opts *opts);

/* Stops the background thread if any, closes every file and frees the handle. Accepts NULL.
 * Must not be called from a callback or while another thread uses the handle. */
RAPT_API void rapt_monitor_destroy(rapt_monitor *m);

/* Takes one sample now, stores it, evaluates thresholds and fires the callbacks before
 * returning. `out` (may be NULL) receives a copy. Returns 0, -EINVAL, or -EBUSY while the
 * background thread runs (it owns the cadence then). */
RAPT_API int rapt_monitor_sample(rapt_monitor *m, rapt_sample *out);

/* Starts a background thread ("rapt-monitor") that samples every interval_ns, on a fixed
 * cadence (a late tick does not shift the following ones; missed ticks are skipped). Returns 0,
 * -EINVAL (interval 0), -EBUSY (already running) or -errno from pthread_create. */
RAPT_API int rapt_monitor_start(rapt_monitor *m, uint64_t interval_ns);

/* Stops and joins the background thread; returns 0 (also when none runs) or -EDEADLK when
 * called from a callback on that thread. */
RAPT_API int rapt_monitor_stop(rapt_monitor *m);

/* Samples held in the ring (at most the capacity); 0 for NULL. */
RAPT_API size_t rapt_monitor_count(rapt_monitor *m);

/* Copies the sample `age` steps back (0 = the latest) into *out. Returns 0 or -ENOENT. */
RAPT_API int rapt_monitor_get(rapt_monitor *m, size_t age, rapt_sample *out);

/* Copies up to max of the most recent samples, oldest first, into out; returns how many. */
RAPT_API size_t rapt_monitor_history(rapt_monitor *m, rapt_sample *out, size_t max);

/* Replaces a metric's threshold (validated: warning <= critical, hysteresis >= 0, finite).
 * The current level is kept and re-evaluated at the next sample. Returns 0 or -EINVAL. */
RAPT_API int rapt_monitor_set_threshold(rapt_monitor *m, rapt_metric metric,
                                        const rapt_monitor_threshold *t);
/* Copies a metric's current threshold into *out. Returns 0 or -EINVAL. */
RAPT_API int rapt_monitor_get_threshold(rapt_monitor *m, rapt_metric metric,
                                        rapt_monitor_threshold *out);

typedef enum rapt_trend_dir {
    RAPT_TREND_UNKNOWN = 0, /* fewer than 3 known values in the window */
    RAPT_TREND_STABLE = 1,
    RAPT_TREND_INCREASING = 2,
    RAPT_TREND_DECREASING = 3
} rapt_trend_dir;

/* Static name: "unknown", "stable", "increasing", "decreasing". */
RAPT_API const char *rapt_trend_dir_name(rapt_trend_dir d);

typedef struct rapt_trend {
    rapt_trend_dir dir;
    double slope;     /* least-squares slope, metric units per second */
    double change;    /* slope x span: the change the fit shows across the window */
    double mean;      /* mean of the values in the window */
    double tolerance; /* |change| at or below this is stable */
    double span_s;    /* time from the oldest to the newest value used */
    unsigned points;  /* known values used */
} rapt_trend;

/* The trend of a metric over the samples of the last trend_window_ns (and in the ring).
 * Returns 0 or -EINVAL. */
RAPT_API int rapt_monitor_trend(rapt_monitor *m, rapt_metric metric, rapt_trend *out);

/* ---- jobs ---------------------------------------------------------------------------------- */

typedef enum rapt_monitor_job_kind {
    RAPT_MONITOR_JOB_PID = 0, /* one process */
    /* Every process of a process group (a job of rapt run). A pid that leads no group is
     * followed on its own rather than shown as an empty job. */
    RAPT_MONITOR_JOB_PGID = 1,
    RAPT_MONITOR_JOB_CGROUP = 2 /* a cgroup directory (a per-job cgroup) */
} rapt_monitor_job_kind;

#define RAPT_MONITOR_LABEL_MAX 256

typedef struct rapt_monitor_job_spec {
    uint64_t id; /* the caller's key, unique among tracked jobs (rapt run: the job's seq) */
    rapt_monitor_job_kind kind;
    pid_t pid;          /* PID: the process; PGID: the process group (its leader's pid) */
    const char *cgroup; /* CGROUP: the v2 directory, or the v1 memory directory. Copied. */
    const char *label;  /* for people, e.g. the command line; copied, truncated; may be NULL */
} rapt_monitor_job_spec;

/* Fills spec with zeroes: id 0, a PID job, no pid, cgroup or label. */
RAPT_API void rapt_monitor_job_spec_init(rapt_monitor_job_spec *spec);

/* Starts following a job. Its first reading is taken now, so the next sample has its CPU rate.
 * Returns 0, -EINVAL, -EEXIST (id already tracked), -ENOENT (the cgroup directory does not
 * exist) or -ENOMEM. A process that has already exited is not an error: the job shows as not
 * alive. */
RAPT_API int rapt_monitor_job_add(rapt_monitor *m, const rapt_monitor_job_spec *spec);

/* Stops following a job. Returns 0 or -ENOENT. */
RAPT_API int rapt_monitor_job_remove(rapt_monitor *m, uint64_t id);

/* A tracked job as of the latest sample. */
typedef struct rapt_monitor_job {
    uint64_t id;
    rapt_monitor_job_kind kind;
    pid_t pid;
    char label[RAPT_MONITOR_LABEL_MAX];
    bool alive;           /* a live process (not a zombie), or a non-empty cgroup */
    unsigned nprocs;      /* live processes */
    uint64_t memory;      /* bytes: summed RSS of its processes, or the cgroup's usage */
    uint64_t memory_peak; /* highest seen: sampled, or the kernel's high-water mark (cgroup) */
    double cpu_pct;       /* % of one CPU over the last interval (NaN before two readings) */
    double cpu_s;         /* CPU seconds of the job, including its reaped children */
    uint64_t added_mono_ns;
} rapt_monitor_job;

/* Copies up to max tracked jobs, in the order they were added, into out; returns how many are
 * tracked (which may exceed max). */
RAPT_API size_t rapt_monitor_jobs(rapt_monitor *m, rapt_monitor_job *out, size_t max);

/* ---- what is monitored, and output ---------------------------------------------------------- */

typedef struct rapt_monitor_scope {
    bool own;                                  /* rapt's own cgroup (no opts->cgroup) */
    rapt_cgroup_version cgroup_version;        /* of the monitored memory cgroup */
    char cgroup_dir[RAPT_SYS_WHERE_MAX];       /* "" when none */
    char cpu_dir[RAPT_SYS_WHERE_MAX];          /* where the cgroup's CPU usage is read, or "" */
    char mem_limit_source[RAPT_SYS_WHERE_MAX]; /* the file or variable that sets the limit */
    rapt_bound mem_limit_bound;
    double eta;
} rapt_monitor_scope;

/* Describes what the monitor watches (copied into *out). Returns 0 or -EINVAL. */
RAPT_API int rapt_monitor_get_scope(rapt_monitor *m, rapt_monitor_scope *out);

/* Copies the sys module's view as of the latest sample (about 12 KiB). Returns 0 or -EINVAL. */
RAPT_API int rapt_monitor_get_sys(rapt_monitor *m, rapt_sys_info *out);

/* Writes the latest sample, the tracked jobs, the active alerts and the trends as one JSON line
 * (schema rapt.monitor/1, docs/monitor.md) to f and flushes it. Returns 0, -ENOENT (no sample
 * yet) or -errno of the write. */
RAPT_API int rapt_monitor_print_json(rapt_monitor *m, FILE *f);

/* Writes the latest sample in the Prometheus text exposition format (metric names prefixed
 * rapt_, docs/monitor.md) to f. Returns 0, -ENOENT or -errno. */
RAPT_API int rapt_monitor_print_prometheus(rapt_monitor *m, FILE *f);

/* Writes the same atomically to path for node_exporter's textfile collector: a temporary file
 * in the same directory (".<name>.<pid>.tmp", which the collector ignores), fsync, rename.
 * Returns 0, -ENOENT (no sample) or the -errno of the step that failed; a failed attempt leaves
 * the previous file in place and no temporary file behind. */
RAPT_API int rapt_monitor_write_prometheus(rapt_monitor *m, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_MONITOR_H */
