/* report_int.h: the report module's internals, shared by its files and its unit test.
 *
 *   report.c          the handle, line reading, JSON record parsing (jansson), accumulation
 *   report_analyze.c  rapt_report_finish(): statistics, SLAs, the bottleneck, recommendations
 *   report_text.c     text and JSON (rapt.summary/1) output
 *   report_html.c     the self-contained HTML page with inline SVG
 *
 * Time: every time is kept as absolute seconds (epoch) so that several runs (several files, or
 * several run_start..run_end sections of one file) share one axis. A run's base is
 * run_start.t - run_start.mono; a record's time is base + its mono, which follows the run's
 * monotonic clock and so survives wall-clock steps during the run. Outputs subtract the
 * earliest base (t0).
 *
 * Thresholds of the rules are the RAPT__R_* constants below; docs/report.md repeats them and
 * the unit tests hold crafted runs against them.
 */
#ifndef RAPT_REPORT_INT_H
#define RAPT_REPORT_INT_H

#include <stdint.h>

#include "internal.h"
#include "rapt/report.h"

/* ---- limits ------------------------------------------------------------------------------ */
#define RAPT__R_STAGES_MAX   64         /* distinct stage names; more fold into the last one */
#define RAPT__R_TOPK         20         /* slowest attempts kept (with their command) per stage */
#define RAPT__R_POINTS       1024       /* downsampled points per run and series */
#define RAPT__R_MEMJOBS_MAX  300        /* per-job memory areas up to this many attempts */
#define RAPT__R_RSS_MAX      262144     /* per-job RSS sample points kept for those areas */
#define RAPT__R_MAX_LINE_DEF (1u << 20) /* default opts.max_line */
#define RAPT__R_CMD_MAX      512        /* bytes of a command kept for the tables */

/* ---- rule thresholds (docs/report.md, "Rules") --------------------------------------------- */
#define RAPT__R_SLOW_FACTOR     1.5  /* slowest jobs: wall > 1.5 x mean */
#define RAPT__R_SHARE_BOUND     0.5  /* a limiting reason that holds >= 50 % of the samples */
#define RAPT__R_MEM_HIGH        0.9  /* memory in use >= 90 % of the budget */
#define RAPT__R_CPU_HIGH        0.9  /* CPU-bound at >= 90 % CPU utilisation */
#define RAPT__R_CPU_LOW         0.5  /* CPUs under-used below 50 % */
#define RAPT__R_SLOTS_FULL      0.8  /* slots count as full at >= 80 % mean occupancy */
#define RAPT__R_SLOTS_IDLE      0.5  /* slots under-used below 50 % mean occupancy */
#define RAPT__R_TAIL_FRACTION   0.2  /* a tail >= 20 % of the run ... */
#define RAPT__R_TAIL_SAVING     0.1  /* ... that longest-first ordering would shorten by >= 10 % */
#define RAPT__R_SPREAD          3.0  /* runtime spread: max / median > 3 */
#define RAPT__R_PRESSURE_SHARE  0.25 /* pressure held admission back >= 25 % of the samples */
#define RAPT__R_SLA_INPUT_RATIO 2.0  /* SLA violators read >= 2 x the median input */
#define RAPT__R_PCT_BUSY        0.9  /* the concurrency percentile that "would do" */

/* ---- enumerations ------------------------------------------------------------------------ */
enum {
    RAPT__O_SUCCESS = 0,
    RAPT__O_FAILED,
    RAPT__O_RETRY,
    RAPT__O_REQUEUED,
    RAPT__O_UNFINISHED, /* started, no job_end before the input ended */
    RAPT__O_N
};

enum {
    RAPT__RS_EXIT = 0,
    RAPT__RS_SIGNAL,
    RAPT__RS_TIMEOUT,
    RAPT__RS_HALT,
    RAPT__RS_INTERRUPT,
    RAPT__RS_MEMORY,
    RAPT__RS_OOM,
    RAPT__RS_SPAWN,
    RAPT__RS_UNKNOWN,
    RAPT__RS_N
};

/* What kept the next job waiting (sample.limited_by, decision.why). */
enum {
    RAPT__L_NONE = 0,
    RAPT__L_SLOTS,
    RAPT__L_MEMORY,
    RAPT__L_PRESSURE,
    RAPT__L_INPUT,
    RAPT__L_DELAY,
    RAPT__L_OTHER,
    RAPT__L_N
};

extern const char *const rapt__r_outcome_names[RAPT__O_N];
extern const char *const rapt__r_reason_names[RAPT__RS_N];
extern const char *const rapt__r_limited_names[RAPT__L_N];

#define RAPT__R_NONE UINT64_MAX /* an unknown size */

/* ---- per attempt ------------------------------------------------------------------------- */
typedef struct rapt__ratt {
    double start;       /* absolute seconds */
    double wall;        /* seconds (unfinished: until the last record) */
    double cpu;         /* user + sys seconds; NaN unknown */
    uint64_t peak;      /* bytes; RAPT__R_NONE unknown */
    uint64_t input;     /* bytes; RAPT__R_NONE unknown */
    uint64_t predicted; /* predicted peak, bytes; RAPT__R_NONE unknown */
    uint32_t seq;
    uint32_t slot; /* as the run numbered it (1-based; 0 unknown) */
    uint32_t row;  /* Gantt row, set by finish */
    uint16_t run;
    uint16_t stage;
    uint16_t attempt;
    uint8_t outcome; /* RAPT__O_* */
    uint8_t reason;  /* RAPT__RS_* */
    int16_t exit;    /* exit code; -1 none */
    uint8_t signal;  /* 0 none */
    bool oom;
} rapt__ratt;

/* ---- downsampled time series ------------------------------------------------------------- */
typedef struct rapt__rpoint {
    double t0, t1; /* span covered, absolute seconds */
    uint32_t raw;  /* records merged into this point */
    uint32_t running_max;
    double mem_used_max; /* NaN: no value */
    double mem_used_sum;
    uint32_t mem_n;
    double budget_min; /* NaN: no value */
    double cpu_sum;
    uint32_t cpu_n;
    uint32_t limited[RAPT__L_N]; /* samples: limited_by; decisions: wait why (NONE = admit) */
} rapt__rpoint;

typedef struct rapt__rseries {
    rapt__rpoint *p;
    uint32_t n;
    uint32_t stride; /* raw records per point; doubles when the series is full */
} rapt__rseries;

/* ---- per run ----------------------------------------------------------------------------- */
/* A run's own per-stage target (run_start options.sla_stages). */
typedef struct rapt__rsla_run {
    char *name;
    double target;
} rapt__rsla_run;

typedef struct rapt__rrun {
    char *run_id, *host, *command, *version, *measure, *limit_source, *env_class;
    double base;         /* absolute seconds at the run's mono 0 */
    double first, last;  /* earliest and latest record, absolute */
    double started;      /* run_start time, absolute; NaN when implicit */
    unsigned slots;      /* 0 unknown */
    unsigned cpus;       /* 0 unknown */
    uint64_t mem_limit;  /* RAPT__R_NONE unknown */
    uint64_t mem_budget; /* RAPT__R_NONE: not memory-aware / unknown */
    double sla_s;        /* options.sla_s; NaN none */
    int64_t total_jobs;  /* -1 unknown */
    uint32_t max_slot;   /* highest slot seen */
    uint32_t row_base;   /* first Gantt row, set by finish */
    bool has_start, ended;
    /* run_end */
    uint64_t end_jobs, end_succeeded, end_failed, end_retried, end_requeued, end_oom;
    double end_makespan;
    int64_t end_exit;
    char end_reason[16];
    rapt__rseries samples;   /* sample records */
    rapt__rseries decisions; /* decision records */

    /* options.sla_stages: the run's own per-stage targets */
    rapt__rsla_run *sla_stages;
    unsigned nsla_stages;
} rapt__rrun;

/* A job_start whose job_end has not come yet. */
typedef struct rapt__rlive {
    uint64_t key; /* run << 32 | seq; 0 = empty slot of the table */
    double start;
    uint64_t input, predicted;
    uint32_t slot;
    uint16_t stage, attempt;
    bool used;
} rapt__rlive;

/* A per-job RSS point from a sample record. */
typedef struct rapt__rrss {
    double t;
    uint64_t rss;
    uint32_t seq;
    uint16_t run;
} rapt__rrss;

/* One of the slowest attempts, with its command. */
typedef struct rapt__rtop {
    double wall;
    size_t att; /* index into att[] */
    char *cmd;
} rapt__rtop;

typedef struct rapt__rsla {
    int stage;        /* index into stages, or -1 for every job */
    char *stage_name; /* for a stage not (yet) seen: kept by name */
    double target;    /* seconds */
    /* results */
    uint64_t jobs, ok, warned, violated, unfinished;
    double worst;
    uint32_t worst_seq;
    uint16_t worst_run;
    double p95;
    double violator_input_ratio; /* median input of violators / of all; NaN unknown */
    double violator_wall_ratio;  /* median duration of violators / of all */
} rapt__rsla;

/* Per-stage results. */
typedef struct rapt__rstage {
    uint64_t jobs, succeeded, failed, unfinished, attempts, retried, requeued, oom;
    double first, last; /* absolute */
    double wall_mean, wall_p50, wall_p95, wall_max;
    double cpu_s;
    uint64_t peak_max, peak_p50;
    /* memory model peak = gamma * input + overhead, least squares (Welford co-moments) */
    uint64_t fit_n;
    double fit_mx, fit_my, fit_cxx, fit_cxy, fit_cyy;
    double gamma, overhead, r2; /* NaN when not computable */
    uint64_t pred_n, pred_under;
    double pred_ratio_sum; /* sum of peak / predicted */
    int sla;               /* index into slas or -1 */
} rapt__rstage;

typedef struct rapt__rrec {
    const char *id;       /* static */
    const char *severity; /* "critical", "warning", "info" */
    char text[512];
    /* the figures behind the text, written as a JSON object */
    unsigned nfig;
    const char *fig_key[8];
    double fig_val[8];
} rapt__rrec;

#define RAPT__R_RECS_MAX 24

typedef struct rapt__ranalysis {
    double t0, t_end, makespan;
    unsigned cpus, slots;
    uint64_t jobs, succeeded, failed, unfinished, attempts, retried, requeued, oom;
    uint64_t timeouts, memory_kills, exit_codes_nonzero;
    double cpu_s, busy_s;
    double cpu_util, slot_util, mean_running;
    unsigned max_running, p90_running;
    /* memory */
    uint64_t limit, budget;     /* RAPT__R_NONE unknown */
    double used_max, used_mean; /* from samples; NaN none */
    double peak_sum_max;        /* max over time of the sum of running jobs' peaks */
    uint64_t peak_max, peak_p50, peak_p95;
    double mem_util; /* max(used_max or peak_sum_max) / budget */
    /* runtime */
    double wall_mean, wall_p50, wall_p95, wall_max, wall_min, spread;
    /* admission */
    uint64_t samples, limited[RAPT__L_N];
    uint64_t decisions_admit, decisions_wait[RAPT__L_N];
    double share[RAPT__L_N]; /* of samples, or of wait decisions when there are no samples */
    bool share_from_decisions;
    /* tail (the run where reordering saves most) */
    bool tail_known;
    int tail_run;
    double tail_s, tail_fraction, sim_actual, sim_lpt, lower_bound;
    double tail_busy; /* mean busy slots during the tail */
    unsigned tail_slots;
    /* slowest */
    double slow_threshold;
    uint64_t slow_count;
    size_t *slow; /* attempt indices, slowest first, at most RAPT__R_TOPK */
    size_t nslow;
    /* rows */
    uint32_t rows;
    const char *bottleneck;
    rapt__rrec recs[RAPT__R_RECS_MAX];
    unsigned nrecs;
} rapt__ranalysis;

/* ---- the handle -------------------------------------------------------------------------- */
struct rapt_report {
    rapt_report_opts opts;
    char *title;
    bool finished;
    rapt_report_input in;

    /* the stream being read: its name, line number and the run its records belong to */
    const char *cur_name;
    uint64_t cur_line;
    int cur_run; /* -1 before the first record of a stream */
    bool logged_bad, logged_newer;

    rapt__rrun *runs;
    size_t nruns, caprun;

    char *stages[RAPT__R_STAGES_MAX]; /* [0] is the null stage (NULL) */
    unsigned nstages;
    rapt__rstage st[RAPT__R_STAGES_MAX];

    rapt__ratt *att;
    size_t natt, capatt;

    rapt__rlive *live; /* open addressing, linear probing; capacity a power of two */
    size_t nlive, caplive;

    rapt__rrss *rss;
    size_t nrss, caprss;
    bool rss_off; /* too many jobs or points for per-job areas */

    rapt__rtop top[RAPT__R_STAGES_MAX][RAPT__R_TOPK]; /* min-heaps on wall */
    unsigned ntop[RAPT__R_STAGES_MAX];

    rapt__rsla *slas;
    size_t nslas, capslas;

    /* counters straight from records */
    uint64_t kills[RAPT__RS_N];
    uint64_t retries[RAPT__RS_N];
    uint64_t protect_requeue, protect_suspend, protect_resume;
    uint64_t samples, sample_limited[RAPT__L_N];
    double sample_mem_max, sample_mem_sum;
    uint64_t sample_mem_n;
    uint64_t decisions_admit, decisions_wait[RAPT__L_N];

    rapt__ranalysis an;
};

/* report.c */
int rapt__report_stage_index(rapt_report *r, const char *name);
void rapt__report_log(const rapt_report *r, rapt_log_level lvl, const char *fmt, ...)
    RAPT__PRINTF(3, 4);

/* report_analyze.c */
int rapt__report_analyze(rapt_report *r);
/* Greedy list scheduling of n runtimes, in the given order, on `slots` identical slots: the
 * makespan. With the runtimes sorted longest first this is LPT. Returns -1 on allocation
 * failure. Exposed for the unit test. */
double rapt__report_simulate(const double *wall, size_t n, unsigned slots);
/* Nearest-rank percentile (0 < p <= 100) of sorted[0..n); NaN when n == 0. */
double rapt__report_pct(const double *sorted, size_t n, double p);
/* The SLA that applies to a stage (its own, else the all-jobs one), or NULL. */
const rapt__rsla *rapt__report_sla_for(const rapt_report *r, unsigned stage);
/* The figures of a recommendation by key (NaN when absent). */
double rapt__report_rec_fig(const rapt__rrec *rec, const char *key);
/* The command of attempt `att` when it is among the slowest kept, else NULL. */
const char *rapt__report_cmd(const rapt_report *r, size_t att);
/* Finds a recommendation by id, or NULL. */
const rapt__rrec *rapt__report_rec(const rapt_report *r, const char *id);

/* report_text.c */
int rapt__report_text(const rapt_report *r, FILE *f);
int rapt__report_json(const rapt_report *r, FILE *f);
/* Display name of a stage ("(none)" for the null stage). */
const char *rapt__report_stage_name(const rapt_report *r, unsigned stage);
/* "12.3 s" style durations from seconds, into buf. */
char *rapt__report_secs(double s, char *buf, size_t len);

/* report_html.c */
int rapt__report_html(const rapt_report *r, FILE *f);

#endif /* RAPT_REPORT_INT_H */
