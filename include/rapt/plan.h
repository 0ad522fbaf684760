/* rapt/plan.h: closed-form parallelism from a machine's real limits.
 *
 * Two questions people answer by hand today:
 *   - per job: "each job needs M bytes and C CPUs; how many at once?"
 *       P = min(budget / M, effective CPUs / C, max), at least 1, naming what limits it;
 *   - by input size: "each job needs gamma * size(input) + overhead; the P largest inputs may run
 *     together; what is the largest safe P?"
 *       the largest P with base + sum_{i=1..P} (gamma * size(r_i) + overhead) <= eta * limit,
 *     r_i the i-th largest input, clamped to [min, max].
 *
 * Pure functions over numbers: no I/O, thread-safe. Feed them from rapt_sys_read().
 */
#ifndef RAPT_PLAN_H
#define RAPT_PLAN_H

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What limits a plan. */
typedef enum rapt_plan_factor {
    RAPT_PLAN_BY_MEMORY = 0, /* the memory budget */
    RAPT_PLAN_BY_CPU,        /* effective CPUs / CPUs per job */
    RAPT_PLAN_BY_MAX,        /* the caller's maximum */
    RAPT_PLAN_BY_MIN,        /* raised to the caller's minimum (memory would allow fewer) */
    RAPT_PLAN_BY_INPUTS,     /* there are no more inputs than this */
    RAPT_PLAN_BY_FALLBACK    /* safety off: the CPU-based fallback */
} rapt_plan_factor;

/* Returns a static lower-case name for a factor ("memory", "cpu", ...). */
RAPT_API const char *rapt_plan_factor_name(rapt_plan_factor f);

typedef struct rapt_plan_job_opts {
    uint64_t mem_per_job; /* bytes, > 0 */
    double cpus_per_job;  /* > 0; default 1 */
    unsigned max;         /* 0 = no maximum */
    uint64_t budget;      /* memory jobs may use, bytes (e.g. rapt_sys_budget()) */
    unsigned cpus;        /* effective CPUs, >= 1 */
} rapt_plan_job_opts;

RAPT_API void rapt_plan_job_opts_init(rapt_plan_job_opts *o);

typedef struct rapt_plan_job_result {
    unsigned jobs;           /* the answer, >= 1 */
    rapt_plan_factor factor; /* what limits it */
    uint64_t by_memory;      /* budget / mem_per_job (may be 0: even one job does not fit) */
    uint64_t by_cpu;         /* floor(cpus / cpus_per_job), at least 1 */
    unsigned by_max;         /* max, or 0 when unbounded */
    bool overcommitted;      /* even one job exceeds the budget */
} rapt_plan_job_result;

/* Per-job plan. Returns 0, or -EINVAL for NULL pointers, mem_per_job 0, cpus 0 or
 * cpus_per_job <= 0. */
RAPT_API int rapt_plan_jobs(const rapt_plan_job_opts *o, rapt_plan_job_result *out);

/* Defaults of the input-size form, documented in docs/plan.md. */
#define RAPT_PLAN_DEFAULT_ETA      0.75
#define RAPT_PLAN_DEFAULT_GAMMA    3.0
#define RAPT_PLAN_DEFAULT_OVERHEAD (50ull << 20)
#define RAPT_PLAN_DEFAULT_MIN      1u
#define RAPT_PLAN_DEFAULT_MAX      16u

typedef struct rapt_plan_input_opts {
    double gamma;      /* bytes of memory per byte of input, >= 0 */
    uint64_t overhead; /* bytes per job on top of gamma * size */
    double eta;        /* fraction of the limit jobs may use, 0 < eta <= 1 */
    uint64_t base;     /* bytes already in use that jobs cannot have (the parent, say) */
    unsigned min;      /* >= 1 */
    unsigned max;      /* >= min */
    uint64_t limit;    /* the binding memory limit, bytes */
    unsigned cpus;     /* effective CPUs, for the fallback */
    bool no_safety;    /* return the CPU-based fallback instead */
} rapt_plan_input_opts;

RAPT_API void rapt_plan_input_opts_init(rapt_plan_input_opts *o);

typedef struct rapt_plan_input_result {
    unsigned jobs;           /* the answer, within [min, max] */
    rapt_plan_factor factor; /* what limits it */
    unsigned by_memory;      /* the largest P that fits (0: not even one) */
    uint64_t allowed;        /* eta * limit */
    uint64_t est_at_p;       /* base + sum over the `jobs` largest inputs */
    uint64_t est_at_p1;      /* the same for jobs + 1 (UINT64_MAX when there is no next input) */
    bool has_next;           /* est_at_p1 is meaningful */
    bool overcommitted;      /* est_at_p > allowed (min forced it, or not even one fits) */
} rapt_plan_input_result;

/* Input-size plan over n input sizes (any order; the array is not modified). Returns 0,
 * -EINVAL for bad options (eta outside (0,1], gamma < 0, min 0, max < min, n == 0) or
 * -ERANGE when the arithmetic overflows 64 bits. */
RAPT_API int rapt_plan_inputs(const rapt_plan_input_opts *o, const uint64_t *sizes, size_t n,
                              rapt_plan_input_result *out);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_PLAN_H */
