/* plan.c: closed-form parallelism (see rapt/plan.h for the two formulas).
 *
 * Owns the arithmetic only; rapt plan (src/cli/cmd_plan.c) gathers the inputs and prints.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rapt/plan.h"

const char *rapt_plan_factor_name(rapt_plan_factor f)
{
    switch (f) {
    case RAPT_PLAN_BY_MEMORY: return "memory";
    case RAPT_PLAN_BY_CPU: return "cpu";
    case RAPT_PLAN_BY_MAX: return "max";
    case RAPT_PLAN_BY_MIN: return "min";
    case RAPT_PLAN_BY_INPUTS: return "inputs";
    case RAPT_PLAN_BY_FALLBACK: return "cpu-fallback";
    }
    return "unknown";
}

void rapt_plan_job_opts_init(rapt_plan_job_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->cpus_per_job = 1.0;
    o->cpus = 1;
}

int rapt_plan_jobs(const rapt_plan_job_opts *o, rapt_plan_job_result *out)
{
    if (!o || !out || o->mem_per_job == 0 || o->cpus == 0 || !(o->cpus_per_job > 0) ||
        !isfinite(o->cpus_per_job))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->by_memory = o->budget / o->mem_per_job;
    double c = floor((double)o->cpus / o->cpus_per_job + 1e-9);
    out->by_cpu = c < 1 ? 1 : (uint64_t)c;
    out->by_max = o->max;

    /* The smallest bound wins; on a tie memory is named first, because it is the one whose
     * violation kills jobs, then CPU, then the caller's maximum. */
    uint64_t jobs = out->by_memory;
    out->factor = RAPT_PLAN_BY_MEMORY;
    if (out->by_cpu < jobs) {
        jobs = out->by_cpu;
        out->factor = RAPT_PLAN_BY_CPU;
    }
    if (o->max && o->max < jobs) {
        jobs = o->max;
        out->factor = RAPT_PLAN_BY_MAX;
    }
    if (jobs == 0) {
        /* Not even one job fits: one at a time is still the only way to make progress, and the
         * caller is told so. */
        jobs = 1;
        out->overcommitted = true;
    }
    out->jobs = jobs > UINT32_MAX ? UINT32_MAX : (unsigned)jobs;
    return 0;
}

void rapt_plan_input_opts_init(rapt_plan_input_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->gamma = RAPT_PLAN_DEFAULT_GAMMA;
    o->overhead = RAPT_PLAN_DEFAULT_OVERHEAD;
    o->eta = RAPT_PLAN_DEFAULT_ETA;
    o->min = RAPT_PLAN_DEFAULT_MIN;
    o->max = RAPT_PLAN_DEFAULT_MAX;
    o->cpus = 1;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* gamma * size + overhead, or -ERANGE. */
static int job_cost(const rapt_plan_input_opts *o, uint64_t size, uint64_t *out)
{
    long double v = (long double)o->gamma * (long double)size;
    v = ceill(v) + (long double)o->overhead;
    if (v >= 18446744073709551615.0L)
        return -ERANGE;
    *out = (uint64_t)v;
    return 0;
}

int rapt_plan_inputs(const rapt_plan_input_opts *o, const uint64_t *sizes, size_t n,
                     rapt_plan_input_result *out)
{
    if (!o || !sizes || !out || n == 0)
        return -EINVAL;
    if (!(o->eta > 0) || o->eta > 1 || !(o->gamma >= 0) || !isfinite(o->gamma) || o->min == 0 ||
        o->max < o->min)
        return -EINVAL;
    memset(out, 0, sizeof(*out));

    /* Only the largest max+1 inputs can matter: at most max jobs run together, and the
     * estimate one past the answer is reported. */
    size_t k = n;
    if ((size_t)o->max + 1 < k)
        k = (size_t)o->max + 1;
    uint64_t *sorted = malloc(n * sizeof(*sorted));
    if (!sorted)
        return -ENOMEM;
    memcpy(sorted, sizes, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_desc);

    /* prefix[i] = base + the cost of the i largest inputs. */
    uint64_t *prefix = malloc((k + 1) * sizeof(*prefix));
    if (!prefix) {
        free(sorted);
        return -ENOMEM;
    }
    int rc = 0;
    prefix[0] = o->base;
    for (size_t i = 0; i < k; i++) {
        uint64_t c;
        if ((rc = job_cost(o, sorted[i], &c)) < 0)
            goto out;
        if (prefix[i] > UINT64_MAX - c) {
            rc = -ERANGE;
            goto out;
        }
        prefix[i + 1] = prefix[i] + c;
    }

    long double allowed = (long double)o->eta * (long double)o->limit;
    out->allowed = allowed >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)floorl(allowed);
    size_t fit = 0;
    while (fit < k && prefix[fit + 1] <= out->allowed)
        fit++;
    out->by_memory = (unsigned)fit;

    size_t jobs;
    if (o->no_safety) {
        jobs = o->cpus ? o->cpus : 1;
        jobs = jobs < o->min ? o->min : jobs > o->max ? o->max : jobs;
        out->factor = RAPT_PLAN_BY_FALLBACK;
    } else if (fit < o->min) {
        jobs = o->min;
        out->factor = RAPT_PLAN_BY_MIN;
    } else if (fit >= o->max) {
        jobs = o->max;
        out->factor = RAPT_PLAN_BY_MAX;
    } else if (fit == n) {
        jobs = n;
        out->factor = RAPT_PLAN_BY_INPUTS;
    } else {
        jobs = fit;
        out->factor = RAPT_PLAN_BY_MEMORY;
    }
    /* More jobs than inputs would run nothing more. */
    if (jobs > n) {
        jobs = n;
        out->factor = RAPT_PLAN_BY_INPUTS;
    }
    out->jobs = (unsigned)jobs;
    out->est_at_p = prefix[jobs < k ? jobs : k];
    out->has_next = jobs < n && jobs + 1 <= k;
    out->est_at_p1 = out->has_next ? prefix[jobs + 1] : UINT64_MAX;
    out->overcommitted = out->est_at_p > out->allowed;
out:
    free(prefix);
    free(sorted);
    return rc;
}
