/* admit.c: the memory policy of `rapt run` (see admit.h and docs/admission.md).
 *
 * Owns the arithmetic and the tables; owns no state beyond the small structs the caller keeps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lib/admit.h"

#define MIB (1024ull * 1024)

void rapt__adm_cfg_init(rapt__adm_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->eta = 0.85;
    c->margin = 1.10;
    c->critical = 0.05;
    c->resume = 0.10;
    c->psi_max = 20.0;
    c->requeue_factor = 1.5;
    c->oom_factor = 1.5;
    c->oom_retries = 3;
    c->plateau_ns = 500ull * 1000 * 1000;
    c->mode = RAPT__ADM_REQUEUE;
}

/* x * f to the nearest byte, saturating (a byte either way does not matter; 1.1 not being
 * exactly representable must not make 300 MiB x 1.1 one byte more than 330 MiB). */
static uint64_t scale_up(uint64_t x, double f)
{
    long double v = roundl((long double)x * (long double)f);
    return v >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)v;
}

static uint64_t frac_of(uint64_t x, double f)
{
    long double v = roundl((long double)x * (long double)f);
    return v >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)v;
}

uint64_t rapt__adm_budget(const rapt__adm_cfg *c, uint64_t limit, uint64_t available,
                          uint64_t jobs_current)
{
    if (limit == 0)
        return 0;
    if (available > limit)
        available = limit;
    /* What the container uses that is not a running job: the jobs' own use is what the holds
     * already account for, so counting it here too would count it twice. */
    uint64_t others = rapt__sat_sub(limit - available, jobs_current);
    uint64_t cap = frac_of(limit, c->eta);
    if (c->budget_abs) {
        /* A budget the user sets may not reach into the last 5% of the limit: past that the
         * kernel, not rapt, decides which job dies. */
        uint64_t ceiling = frac_of(limit, 0.95);
        cap = c->budget_abs < ceiling ? c->budget_abs : ceiling;
    }
    return rapt__sat_sub(cap, others);
}

void rapt__adm_learn_add(rapt__adm_learn *l, uint64_t peak)
{
    l->ring[l->n % RAPT__ADM_WINDOW] = peak;
    l->n++;
    if (peak > l->max_peak)
        l->max_peak = peak;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t rapt__adm_cold(const rapt__adm_cfg *c, const rapt__adm_learn *l, uint64_t budget,
                        unsigned cpus, const uint64_t *running, size_t nrunning)
{
    uint64_t v[RAPT__ADM_WINDOW + 64];
    size_t k = l->n < RAPT__ADM_WINDOW ? (size_t)l->n : RAPT__ADM_WINDOW;
    memcpy(v, l->ring, k * sizeof(v[0]));
    for (size_t i = 0; i < nrunning && i < 64; i++) {
        if (running[i])
            v[k++] = running[i];
    }
    if (k == 0)
        return RAPT__MAX(budget / (cpus ? cpus : 1), MIB);
    qsort(v, k, sizeof(v[0]), cmp_u64);
    /* The median, not a high quantile: measured on the memwall workloads (docs/admission.md),
     * a reservation at the 75th percentile made heavy-tailed and bimodal runs 30-50% slower
     * than the median, because it keeps the many small jobs from running beside the large
     * ones, while the jobs the median under-reserves are caught cheaply: a job growing past
     * its reservation is charged what it uses (nothing more is admitted), and protection
     * ends the youngest job - the one with the least work to lose. */
    uint64_t r = scale_up(v[(k - 1) / 2], c->margin);
    if (k == 1)
        r = scale_up(v[0], c->margin);
    return r < MIB ? MIB : r;
}

void rapt__adm_observe(rapt__adm_job *j, uint64_t current, uint64_t now)
{
    j->current = current;
    /* Growth is measured against the peak when growth was last seen, not the last sample:
     * a job creeping up by 1% a tick is still growing. */
    if (j->grew_ns == 0 || current > j->grew_mark + j->grew_mark / 50) {
        j->grew_ns = now;
        j->grew_mark = current;
    }
    if (current > j->peak)
        j->peak = current;
}

bool rapt__adm_plateau(const rapt__adm_cfg *c, const rapt__adm_job *j, uint64_t now)
{
    if (j->grew_ns == 0 || now < j->grew_ns)
        return false;
    uint64_t flat = now - j->grew_ns;
    uint64_t age = now > j->started_ns ? now - j->started_ns : 0;
    return flat >= c->plateau_ns && flat >= age / 4;
}

uint64_t rapt__adm_hold(const rapt__adm_cfg *c, const rapt__adm_job *j, uint64_t now)
{
    uint64_t seen = j->peak > j->current ? j->peak : j->current;
    if (rapt__adm_plateau(c, j, now))
        return scale_up(seen, c->margin);
    uint64_t grown = scale_up(j->current, c->margin);
    return grown > j->reserve ? grown : j->reserve;
}

rapt__adm_verdict rapt__adm_decide(const rapt__adm_cfg *c, const rapt__adm_now *n, uint64_t reserve)
{
    if (n->limit && reserve > n->limit)
        return RAPT__ADM_NEVER;
    /* With nothing running there is nothing to protect and nothing that will free memory:
     * waiting could be forever, so the job starts (alone if it needs to). */
    if (n->running > 0) {
        if (n->protecting)
            return RAPT__ADM_WAIT_PRESSURE;
        if (n->available_known && n->limit && n->available < frac_of(n->limit, c->resume))
            return RAPT__ADM_WAIT_PRESSURE;
        if (c->psi_max >= 0 && !isnan(n->psi_some) && n->psi_some > c->psi_max)
            return RAPT__ADM_WAIT_PRESSURE;
    }
    if (n->held <= n->budget && reserve <= n->budget - n->held)
        return RAPT__ADM_START;
    return n->running == 0 ? RAPT__ADM_START_ALONE : RAPT__ADM_WAIT_MEMORY;
}

rapt__prot_event rapt__prot_classify(const rapt__adm_cfg *c, uint64_t limit, uint64_t available,
                                     double psi_some)
{
    if (limit == 0)
        return RAPT__PE_HIGH;
    if (available < frac_of(limit, c->critical))
        return RAPT__PE_LOW;
    if (c->psi_max >= 0 && !isnan(psi_some) && psi_some > c->psi_max)
        return RAPT__PE_LOW;
    if (available < frac_of(limit, c->resume))
        return RAPT__PE_MID;
    return RAPT__PE_HIGH;
}

#define S(st, act) ((rapt__prot_step){RAPT__PS_##st, RAPT__PA_##act})

rapt__prot_step rapt__prot_transition(rapt__prot_state st, rapt__prot_event ev, rapt__adm_mode mode,
                                      unsigned running, unsigned suspended)
{
    switch (st) {
    case RAPT__PS_CALM:
        /* One victim at a time, and never the last running job: with one job left, stopping
         * it frees memory only to have it start again into the same shortage. */
        if (ev == RAPT__PE_LOW && running >= 2)
            return mode == RAPT__ADM_SUSPEND ? S(SUSPENDED, SUSPEND_YOUNGEST)
                                             : S(STOPPING, STOP_YOUNGEST);
        return S(CALM, NONE);
    case RAPT__PS_STOPPING:
        /* No second decision until the first victim's memory is really gone: its pages are
         * freed only when its last process exits, and acting on a stale reading would stop a
         * second job for the same shortage (Ray and oomd wait the same way). */
        if (ev == RAPT__PE_VICTIM_GONE)
            return S(CALM, NONE);
        return S(STOPPING, NONE);
    case RAPT__PS_SUSPENDED:
        if (suspended == 0)
            return S(CALM, NONE);
        /* Nothing else runs: a suspended job is all that is left, and waiting for memory to
         * come back would be forever. */
        if (running == 0)
            return suspended == 1 ? S(CALM, RESUME_OLDEST) : S(SUSPENDED, RESUME_OLDEST);
        if (ev == RAPT__PE_LOW && running >= 2)
            return S(SUSPENDED, SUSPEND_YOUNGEST);
        if (ev == RAPT__PE_HIGH)
            return suspended == 1 ? S(CALM, RESUME_OLDEST) : S(SUSPENDED, RESUME_OLDEST);
        return S(SUSPENDED, NONE);
    case RAPT__PS_COUNT: break;
    }
    return S(CALM, NONE);
}

#undef S

const char *rapt__prot_state_name(rapt__prot_state s)
{
    static const char *const n[] = {"calm", "stopping", "suspended"};
    return s < RAPT__PS_COUNT ? n[s] : "?";
}

const char *rapt__prot_event_name(rapt__prot_event e)
{
    static const char *const n[] = {"low", "mid", "high", "victim-gone"};
    return e < RAPT__PE_COUNT ? n[e] : "?";
}

const char *rapt__prot_action_name(rapt__prot_action a)
{
    static const char *const n[] = {"none", "stop-youngest", "suspend-youngest", "resume-oldest"};
    return a <= RAPT__PA_RESUME_OLDEST ? n[a] : "?";
}

int rapt__adm_pick(const rapt__adm_job *jobs, size_t n, bool suspended)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        const rapt__adm_job *j = &jobs[i];
        if (j->stopping)
            continue;
        if (suspended) {
            if (j->suspended && (best < 0 || j->started_ns < jobs[best].started_ns))
                best = (int)i;
        } else {
            if (!j->suspended && (best < 0 || j->started_ns >= jobs[best].started_ns))
                best = (int)i;
        }
    }
    return best;
}

rapt__adm_after rapt__adm_after_end(const rapt__adm_cfg *c, const rapt__adm_end *e,
                                    uint64_t *reserve, char *why, size_t why_len)
{
    char pk[32], lim[32];
    rapt_size_format(e->peak, pk, sizeof(pk));
    rapt_size_format(e->limit, lim, sizeof(lim));
    if (e->oom) {
        if (e->job_ceiling && e->peak >= e->job_ceiling - e->job_ceiling / 10) {
            char ce[32];
            rapt_size_format(e->job_ceiling, ce, sizeof(ce));
            snprintf(why, why_len,
                     "the OOM killer ended it at its --mem-limit-per-job ceiling (peak %s, "
                     "ceiling %s)",
                     pk, ce);
            return RAPT__AFTER_FAIL;
        }
        if (e->alone) {
            snprintf(why, why_len,
                     "it cannot fit even alone: the OOM killer ended it at a peak of %s while "
                     "no other job ran (memory limit %s)",
                     pk, lim);
            return RAPT__AFTER_FAIL;
        }
        if (e->oom_kills > c->oom_retries) {
            snprintf(why, why_len,
                     "the OOM killer ended it %u times (--oom-retries %u); last peak %s, memory "
                     "limit %s",
                     e->oom_kills, c->oom_retries, pk, lim);
            return RAPT__AFTER_FAIL;
        }
        uint64_t r = scale_up(e->peak, c->oom_factor);
        uint64_t r2 = scale_up(e->reserve, c->oom_factor);
        *reserve = r > r2 ? r : r2;
    } else if (e->stopped_for_memory) {
        uint64_t base = e->peak > e->reserve ? e->peak : e->reserve;
        *reserve = scale_up(base, c->requeue_factor);
    } else {
        return RAPT__AFTER_NONE;
    }
    /* More than the limit would never be admitted; at the limit it runs alone. */
    if (e->limit && *reserve > e->limit)
        *reserve = e->limit;
    return RAPT__AFTER_REQUEUE;
}
