/* runner.h: `rapt run`'s engine (internal to librapt; not public API yet).
 *
 * One call, rapt__run(), runs a whole batch: it reads input lazily, admits jobs into slots,
 * spawns them (each in its own process group and, where possible, its slot's memory cgroup),
 * watches exits, output, signals and time through one event loop, accounts every attempt, and
 * writes the joblog, the events stream, --results and progress. Its pieces:
 *   input.c (sources), template.c (commands), job.c (the lifecycle table), output.c,
 *   joblog.c, events.c, and in src/os/linux spawn.c, loop.c, jobcg.c, proctree.c.
 *
 * Seams for memory-aware admission (issue 4):
 *   - admission is one function (admit() in runner.c) that returns "start" or "wait, because
 *     slots | input | delay | order | stopping"; memory and pressure become more reasons;
 *   - every job carries a reservation (bytes, 0 for none), reported in the events;
 *   - the loop has a periodic tick where each running job's current memory is sampled (from
 *     its slot cgroup, or /proc) into the job;
 *   - ending a job's process group with the term sequence is the KILL transition of the job
 *     table, and running it again without using up a retry is its REQUEUE transition.
 *
 * Not thread-safe; the caller must not run two rapt__run() in one process at once (signals
 * and the process's children are process-wide).
 */
#ifndef RAPT_RUNNER_H
#define RAPT_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/admit.h"
#include "lib/events.h"
#include "lib/input.h"
#include "lib/output.h"
#include "rapt/history.h"
#include "rapt/sched.h"
#include "rapt/sys.h"

typedef enum rapt__halt_when {
    RAPT__HALT_NEVER = 0,
    RAPT__HALT_SOON,
    RAPT__HALT_NOW
} rapt__halt_when;
typedef enum rapt__halt_why {
    RAPT__HALT_FAIL = 0,
    RAPT__HALT_SUCCESS,
    RAPT__HALT_DONE
} rapt__halt_why;

typedef struct rapt__halt {
    rapt__halt_when when;
    rapt__halt_why why;
    bool pct;      /* value is a percentage of all jobs */
    double value;  /* count, or percent */
    char text[64]; /* as given, for events */
} rapt__halt;

typedef enum rapt__resume {
    RAPT__RESUME_NONE = 0,
    RAPT__RESUME_ALL,    /* --resume: skip every job in the joblog */
    RAPT__RESUME_FAILED, /* --resume-failed: skip the ones that succeeded */
    RAPT__RETRY_FAILED   /* --retry-failed: run the failed ones, commands from the joblog */
} rapt__resume;

typedef enum rapt__measure {
    RAPT__MEASURE_AUTO = 0, /* per-slot cgroups where rapt can make them, else /proc */
    RAPT__MEASURE_CGROUP,   /* per-slot cgroups or an error */
    RAPT__MEASURE_PROC      /* sample /proc (and rusage) */
} rapt__measure;

#define RAPT__TERM_MAX 16

typedef struct rapt__term_step {
    int sig;
    uint64_t wait_ns; /* how long to wait for the group to end before the next step */
} rapt__term_step;

/* Memory-aware admission (docs/admission.md). */
typedef struct rapt__run_mem {
    bool aware;           /* on by default; off only when the limit is unknown */
    rapt__adm_cfg cfg;    /* eta or --mem-budget, margins, lines, --on-pressure, --oom-retries */
    uint64_t per_job;     /* --mem-per-job: every job's reservation; 0 for none */
    bool model;           /* --mem-model GAMMA,OVERHEAD */
    double gamma;         /* bytes of memory per byte of input */
    uint64_t overhead;    /* bytes per job */
    uint64_t job_ceiling; /* --mem-limit-per-job: a hard limit per job slot; 0 for none */
    bool explain;         /* --explain: log every admission decision and protection action */
} rapt__run_mem;

/* What earlier runs taught (docs/history.md, docs/model.md) and the order jobs start in
 * (docs/sched.md). */
typedef struct rapt__run_learn {
    rapt_history *history;  /* borrowed: the caller opens and closes it; NULL = no history */
    const char *class_name; /* --class; NULL = the command template (each job's command
                               line when there is no template) */
    rapt_sched_order order; /* --order */
    unsigned priority_col;  /* --priority-col N: value N is the job's priority; 0 = none */
    unsigned deadline_col;  /* --deadline-col N: value N is the job's deadline, a duration
                               after the run's start; 0 = none */
} rapt__run_learn;
/* What rapt run --report, --summary, --sla and --stage add to a run (docs/report.md). */
typedef struct rapt__run_report {
    rapt__events_sink sink; /* handed every events record, with or without --events; NULL none */
    void *sink_ud;
    const char *stage;  /* --stage NAME: every job's stage; NULL for none */
    unsigned stage_col; /* --stage-col N: input column N (1-based) is the job's stage; 0 none */
    double sla_s;       /* --sla DURATION, for run_start's options.sla_s; < 0 for none */
    const rapt__ev_sla *sla_stages; /* --sla STAGE=DURATION, for options.sla_stages */
    size_t nsla_stages;
} rapt__run_report;

typedef struct rapt__run_opts {
    const char *command; /* the command words joined by spaces; "" for none */
    rapt__input *input;  /* owned by the runner from the call on; NULL with RETRY_FAILED */
    unsigned slots;      /* job slots (-j), >= 1; with jobs_auto, the most jobs at once */
    bool jobs_auto;      /* -j auto: start at `cpus` jobs, more for I/O-bound jobs */
    unsigned cpus;       /* effective CPUs, for -j auto */
    rapt__run_mem mem;
    rapt__run_learn learn;
    uint64_t delay_ns;   /* --delay: least time between two starts */
    uint64_t timeout_ns; /* --timeout DURATION; 0 for none */
    double timeout_pct;  /* --timeout N%: N/100 x the median runtime of successful jobs */
    rapt__term_step term[RAPT__TERM_MAX];
    size_t nterm;
    unsigned retries; /* attempts per job (GNU parallel's --retries N = N tries); 0 = unlimited */
    rapt__halt halt;
    bool dry_run, verbose;
    rapt__out_mode out_mode;
    bool keep_order;
    const char *tagstring; /* NULL for no tag; "{}" for --tag */
    const char *results;   /* --results DIR */
    const char *joblog;
    bool joblog_append; /* "+FILE" */
    rapt__resume resume;
    const char *events;
    rapt__run_report report;
    bool bar, eta;
    rapt__measure measure;
    const char *shell;   /* for commands with shell syntax; "/bin/sh" by default */
    uint64_t total_jobs; /* when known beforehand (counted input), else 0 */
    bool total_known;
    const rapt_sys_info *si; /* the machine, from rapt_sys_read() */
    char *const *argv;       /* rapt's own arguments, for the events */
    int argc;
    rapt_log_fn log;
    void *log_ud;
} rapt__run_opts;

typedef struct rapt__run_result {
    int exit_code; /* GNU parallel's rules, see docs/run.md */
    uint64_t jobs, succeeded, failed, retried, skipped, not_run;
    const char *reason; /* "done", "halt", "interrupt", "error" */
    bool usage_error;   /* the error below is the caller's input (exit 254), not the system's */
    char error[512];    /* set when rapt__run returns < 0 */
} rapt__run_result;

/* Runs the batch. Returns 0 with *res filled (res->exit_code is what the command should exit
 * with), or a negative error with res->error saying what went wrong before or instead of
 * running (res->usage_error tells bad input - e.g. a joblog written by another command - from
 * a system failure). The input is consumed and freed either way. */
int rapt__run(const rapt__run_opts *o, rapt__run_result *res);

/* Parses GNU parallel's --halt forms ("never", "now,fail=1", "soon,success=30%", the legacy
 * 0 1 2 -1 -2 and "1%".."99%"). Returns 0 or -EINVAL. */
int rapt__halt_parse(const char *s, rapt__halt *out);

/* Parses a --term-seq ("TERM,200,TERM,100,TERM,50,KILL,25": signal names or numbers, each
 * followed by the milliseconds to wait). Returns 0 or -EINVAL. */
int rapt__term_seq_parse(const char *s, rapt__term_step *steps, size_t max, size_t *n);

#endif /* RAPT_RUNNER_H */
