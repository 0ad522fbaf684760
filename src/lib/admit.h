/* admit.h: the memory policy of `rapt run` - budget, reservations, protection, recovery.
 *
 * Pure functions and small value types, no processes, no I/O, so every rule is unit-tested
 * with numbers (tests/unit/test_admit.c). The runner (runner.c) feeds it what the tick
 * measured and carries out what it returns; the byte accounting itself is a rapt_gate.
 * The rules, with the reasons for each number, are in docs/admission.md. In short:
 *
 *   budget   B = cap - others, cap = eta x limit (or --mem-budget), others = what the
 *            container uses that is not a running job's: (limit - available) - sum(current)
 *   reserve  what a job is expected to need at its peak: a hint (--mem-per-job,
 *            --mem-model), a prediction, or the in-run cold-start rule (rapt__adm_learn)
 *   hold     what a running job counts for: max(reserve, current x margin) while it may still
 *            grow; once its memory has been flat for a while (a plateau), peak x margin - the
 *            job has shown its size. A job's not-yet-allocated part is held, so a burst of
 *            starts cannot over-admit jobs that ramp up after starting
 *   admit    sum(holds) + reserve(next) <= B, a free slot, and no memory pressure
 *   protect  available < critical line (or memory PSI above its line): stop the youngest job
 *            (requeue: it runs again with a larger reservation, using no retry; or suspend),
 *            one victim at a time, never the last running job
 *   recover  a job the kernel OOM-killed runs again with >= oom_factor x its peak, up to
 *            oom_retries times; a job that cannot fit even alone fails with its peak and limit
 */
#ifndef RAPT_ADMIT_H
#define RAPT_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rapt/common.h"

typedef enum rapt__adm_mode {
    RAPT__ADM_REQUEUE = 0, /* end the youngest job's group, run it again later */
    RAPT__ADM_SUSPEND      /* SIGSTOP the youngest, SIGCONT when memory comes back (swap) */
} rapt__adm_mode;

typedef struct rapt__adm_cfg {
    double eta;            /* fraction of the limit jobs may fill (default 0.85) */
    uint64_t budget_abs;   /* --mem-budget SIZE: a fixed cap instead of eta x limit; 0 none */
    double margin;         /* hold = current x margin while growing (default 1.10) */
    double critical;       /* protection line, fraction of the limit (default 0.05) */
    double resume;         /* admission and resume need available >= this fraction (0.10) */
    double psi_max;        /* memory PSI "some" avg10 % that counts as pressure (20); <0 off */
    double requeue_factor; /* a stopped job runs again with >= max(reserve, peak) x this */
    double oom_factor;     /* an OOM-killed job runs again with >= peak x this (1.5) */
    unsigned oom_retries;  /* OOM kills a job may survive (default 3) */
    uint64_t plateau_ns;   /* memory flat this long (and a quarter of the job's age): plateau */
    rapt__adm_mode mode;   /* what protection does */
} rapt__adm_cfg;

/* Fills cfg with the documented defaults. */
void rapt__adm_cfg_init(rapt__adm_cfg *cfg);

/* The budget: cap - others, where cap = budget_abs (capped at 0.95 x limit) or eta x limit
 * rounded to the nearest byte, and others = max(0, (limit - available) - jobs_current).
 * Returns 0 when the limit is 0 (unknown). */
uint64_t rapt__adm_budget(const rapt__adm_cfg *cfg, uint64_t limit, uint64_t available,
                          uint64_t jobs_current);

/* ---- the cold-start rule: learning reservations within a run ----------------------------
 * Without a hint or a prediction, a job's reservation comes from what the run has seen: the
 * peaks of jobs that finished, and running jobs that have shown their size (reached their
 * plateau, or grown past every finished job). Over that pool:
 *   empty     -> the budget split over the CPU slots (start as many jobs as CPUs, each with an
 *                equal share);
 *   1 value   -> that value x margin;
 *   more      -> the median x margin.
 * Why the median and not a high quantile is in docs/admission.md (measured). Finished peaks
 * are the last RAPT__ADM_WINDOW; running jobs add at most 64 more. */
#define RAPT__ADM_WINDOW 64

typedef struct rapt__adm_learn {
    uint64_t n;                      /* peaks seen */
    uint64_t max_peak;               /* largest ever */
    uint64_t ring[RAPT__ADM_WINDOW]; /* the last peaks */
} rapt__adm_learn;

void rapt__adm_learn_add(rapt__adm_learn *l, uint64_t peak);
uint64_t rapt__adm_cold(const rapt__adm_cfg *cfg, const rapt__adm_learn *l, uint64_t budget,
                        unsigned cpus, const uint64_t *running, size_t nrunning);

/* ---- a running job as the policy sees it --------------------------------------------------- */
typedef struct rapt__adm_job {
    uint64_t reserve;    /* bytes reserved at admission */
    uint64_t current;    /* bytes now (slot cgroup or /proc) */
    uint64_t peak;       /* largest current seen during this attempt */
    uint64_t started_ns; /* monotonic start */
    uint64_t grew_ns;    /* when memory last grew by more than 2% (0 before any reading) */
    uint64_t grew_mark;  /* the memory at that moment */
    bool stopping;       /* rapt is ending it */
    bool suspended;      /* SIGSTOPped by protection */
} rapt__adm_job;

/* Records a new measurement of the job's memory at time now. */
void rapt__adm_observe(rapt__adm_job *j, uint64_t current, uint64_t now);

/* True once the job's memory has not grown for plateau_ns and a quarter of its age. */
bool rapt__adm_plateau(const rapt__adm_cfg *cfg, const rapt__adm_job *j, uint64_t now);

/* What the job counts for in the budget now (see the file comment). */
uint64_t rapt__adm_hold(const rapt__adm_cfg *cfg, const rapt__adm_job *j, uint64_t now);

/* ---- admission ------------------------------------------------------------------------- */
typedef enum rapt__adm_verdict {
    RAPT__ADM_START = 0,
    RAPT__ADM_WAIT_MEMORY,   /* the reservation does not fit the budget beside the holds */
    RAPT__ADM_WAIT_PRESSURE, /* memory is short or under pressure, or a victim is being stopped */
    RAPT__ADM_START_ALONE,   /* nothing runs and it does not fit the budget: run it alone */
    RAPT__ADM_NEVER          /* it needs more than the whole limit: it can never run */
} rapt__adm_verdict;

typedef struct rapt__adm_now {
    uint64_t limit;     /* the binding limit */
    uint64_t available; /* what is available now (the sys module's figure) */
    bool available_known;
    double psi_some;  /* memory PSI some avg10 %, NaN when unknown */
    uint64_t budget;  /* rapt__adm_budget() */
    uint64_t held;    /* sum of the running jobs' holds */
    unsigned running; /* jobs running (not counting ones being stopped) */
    bool protecting;  /* a victim is being stopped or jobs are suspended */
} rapt__adm_now;

rapt__adm_verdict rapt__adm_decide(const rapt__adm_cfg *cfg, const rapt__adm_now *now,
                                   uint64_t reserve);

/* ---- protection: a state x event table ------------------------------------------------------ */
typedef enum rapt__prot_state {
    RAPT__PS_CALM = 0,  /* nothing being done */
    RAPT__PS_STOPPING,  /* a victim is being ended; no other decision until it is gone */
    RAPT__PS_SUSPENDED, /* some jobs are stopped (suspend mode) */
    RAPT__PS_COUNT
} rapt__prot_state;

typedef enum rapt__prot_event {
    RAPT__PE_LOW = 0,     /* available below the critical line, or PSI above its line */
    RAPT__PE_MID,         /* between the critical and the resume line */
    RAPT__PE_HIGH,        /* at or above the resume line, PSI fine */
    RAPT__PE_VICTIM_GONE, /* the job being stopped has ended */
    RAPT__PE_COUNT
} rapt__prot_event;

typedef enum rapt__prot_action {
    RAPT__PA_NONE = 0,
    RAPT__PA_STOP_YOUNGEST,    /* requeue mode: end the youngest job (never the last) */
    RAPT__PA_SUSPEND_YOUNGEST, /* suspend mode: SIGSTOP the youngest (never the last) */
    RAPT__PA_RESUME_OLDEST     /* SIGCONT the oldest suspended job */
} rapt__prot_action;

typedef struct rapt__prot_step {
    rapt__prot_state next;
    rapt__prot_action action;
} rapt__prot_step;

/* The table. `mode` picks stop or suspend; `running` is the number of jobs running and not
 * suspended or stopping; `suspended` the number suspended. The "never the last job" and "only
 * resume when there is one" rules are applied here, so the caller only carries out actions. */
rapt__prot_step rapt__prot_transition(rapt__prot_state st, rapt__prot_event ev, rapt__adm_mode mode,
                                      unsigned running, unsigned suspended);

/* Classifies a tick's measurements. */
rapt__prot_event rapt__prot_classify(const rapt__adm_cfg *cfg, uint64_t limit, uint64_t available,
                                     double psi_some);

const char *rapt__prot_state_name(rapt__prot_state s);
const char *rapt__prot_event_name(rapt__prot_event e);
const char *rapt__prot_action_name(rapt__prot_action a);

/* Picks the youngest job (latest start) among n that is neither stopping nor suspended;
 * returns its index or -1. With suspended = true, the oldest suspended job instead. */
int rapt__adm_pick(const rapt__adm_job *jobs, size_t n, bool suspended);

/* ---- after an attempt ended ---------------------------------------------------------------- */
typedef enum rapt__adm_after {
    RAPT__AFTER_NONE = 0, /* nothing memory-related: the usual verdicts apply */
    RAPT__AFTER_REQUEUE,  /* run again with *reserve, using no retry */
    RAPT__AFTER_FAIL      /* give up: it cannot fit (the message says why) */
} rapt__adm_after;

typedef struct rapt__adm_end {
    bool stopped_for_memory; /* protection ended it */
    bool oom;                /* the kernel OOM killer ended it */
    bool alone;              /* no other job was running when it ended */
    unsigned oom_kills;      /* OOM kills of this job so far, this one included */
    uint64_t peak;           /* its measured peak */
    uint64_t reserve;        /* its reservation */
    uint64_t limit;          /* the binding limit */
    uint64_t job_ceiling;    /* --mem-limit-per-job, 0 for none */
} rapt__adm_end;

/* The memory verdict on an ended attempt; sets *reserve for a requeue and writes a reason for
 * a failure into why (one line). */
rapt__adm_after rapt__adm_after_end(const rapt__adm_cfg *cfg, const rapt__adm_end *e,
                                    uint64_t *reserve, char *why, size_t why_len);

#endif /* RAPT_ADMIT_H */
