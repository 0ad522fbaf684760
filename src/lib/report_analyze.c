/* report_analyze.c: rapt_report_finish(), from accumulated records to findings.
 *
 * Owns every figure the outputs show and every rule that names a bottleneck or makes a
 * recommendation. Rules and thresholds (the RAPT__R_* constants in report_int.h) are documented
 * in docs/report.md, and each is held against a crafted run with a known answer in
 * tests/unit/test_report.c. The work is O(n log n) in the number of attempts (a few sorts).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/report_int.h"

/* Nearest rank rather than interpolation: a reported p95 is always a runtime some job had. */
double rapt__report_pct(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double k = ceil(p / 100.0 * (double)n);
    size_t i = k < 1 ? 0 : (size_t)k - 1;
    return sorted[i < n ? i : n - 1];
}

/* qsort comparators that never subtract (no overflow, and NaN-free inputs sort totally). */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_dbl_desc(const void *a, const void *b)
{
    return cmp_dbl(b, a);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A min-heap of slot release times. */
static void heap_down(double *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l] < h[m])
            m = l;
        if (l + 1 < n && h[l + 1] < h[m])
            m = l + 1;
        if (m == i)
            return;
        double t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* List scheduling is what a job runner does: each job, in order, takes the slot that frees
 * first. Replaying the observed runtimes this way in two orders isolates the effect of the
 * order from everything else (memory waits, dispatch cost), which is the comparison the
 * long-tail rule needs. Graham's bound puts LPT within 4/3 of the optimum. O(n log slots). */
double rapt__report_simulate(const double *wall, size_t n, unsigned slots)
{
    if (slots == 0)
        slots = 1;
    size_t k = RAPT__MIN((size_t)slots, n);
    if (k == 0)
        return 0;
    double *h = calloc(k, sizeof(*h));
    if (!h)
        return -1;
    /* Each job goes to the slot that frees first: the root of the heap. */
    for (size_t i = 0; i < n; i++) {
        h[0] += wall[i];
        heap_down(h, k, 0);
    }
    double end = 0;
    for (size_t i = 0; i < k; i++)
        end = fmax(end, h[i]);
    free(h);
    return end;
}

/* The most specific target wins: a stage's own, else the one for every job. */
const rapt__rsla *rapt__report_sla_for(const rapt_report *r, unsigned stage)
{
    const rapt__rsla *all = NULL;
    for (size_t i = 0; i < r->nslas; i++) {
        if (r->slas[i].stage == (int)stage && r->slas[i].stage_name)
            return &r->slas[i];
        if (!r->slas[i].stage_name)
            all = &r->slas[i];
    }
    return all;
}

double rapt__report_rec_fig(const rapt__rrec *rec, const char *key)
{
    for (unsigned i = 0; i < rec->nfig; i++)
        if (!strcmp(rec->fig_key[i], key))
            return rec->fig_val[i];
    return NAN;
}

const char *rapt__report_cmd(const rapt_report *r, size_t att)
{
    /* Commands are kept only in the per-stage heaps of the slowest attempts. */
    const rapt__ratt *a = &r->att[att];
    for (unsigned k = 0; k < r->ntop[a->stage]; k++)
        if (r->top[a->stage][k].att == att)
            return r->top[a->stage][k].cmd;
    return NULL;
}

const rapt__rrec *rapt__report_rec(const rapt_report *r, const char *id)
{
    for (unsigned i = 0; i < r->an.nrecs; i++)
        if (!strcmp(r->an.recs[i].id, id))
            return &r->an.recs[i];
    return NULL;
}

/* Adds a recommendation: id and severity are static strings, the text is formatted here. */
static rapt__rrec *rec_add(rapt__ranalysis *a, const char *id, const char *severity,
                           const char *fmt, ...) RAPT__PRINTF(4, 5);

static rapt__rrec *rec_add(rapt__ranalysis *a, const char *id, const char *severity,
                           const char *fmt, ...)
{
    if (a->nrecs == RAPT__R_RECS_MAX)
        return NULL; /* more rules than slots: a programming error, dropped quietly */
    rapt__rrec *rec = &a->recs[a->nrecs++];
    memset(rec, 0, sizeof(*rec));
    rec->id = id;
    rec->severity = severity;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->text, sizeof(rec->text), fmt, ap);
    va_end(ap);
    return rec;
}

/* Attaches one of the numbers behind a recommendation (NaN is written as null). */
static void fig(rapt__rrec *rec, const char *key, double v)
{
    if (rec && rec->nfig < RAPT__ARRAY_SIZE(rec->fig_key)) {
        rec->fig_key[rec->nfig] = key;
        rec->fig_val[rec->nfig++] = v;
    }
}

/* A fraction as a percentage with one decimal, for figures quoted in sentences. */
static double pct100(double frac)
{
    return round(frac * 1000) / 10;
}

/* ---- steps ------------------------------------------------------------------------------- */

/* A start on a slot: used to bound attempts whose end is missing. */
typedef struct slot_start {
    double start;
    uint32_t slot;
    uint16_t run;
    long live; /* index into the live table, or -1 for an ended attempt */
} slot_start;

/* Orders starts by run, slot and time, so the next start on a slot is the next element. */
static int cmp_slot_start(const void *pa, const void *pb)
{
    const slot_start *a = pa, *b = pb;
    if (a->run != b->run)
        return a->run < b->run ? -1 : 1;
    if (a->slot != b->slot)
        return a->slot < b->slot ? -1 : 1;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Attempts that started but never ended become "unfinished" records, so a report of a killed
 * or still-running run (or one whose job_end lines were lost) shows them. Each lasts until the
 * last record of its run, or until the next attempt started on the same slot if that is
 * earlier: a slot runs one job at a time, so that job must have ended by then. Done once: the
 * table is emptied, which keeps a retried finish idempotent. */
static int close_live(rapt_report *r)
{
    if (r->nlive == 0)
        return 0;
    size_t need = r->natt + r->nlive;
    if (need > r->capatt) {
        rapt__ratt *n = realloc(r->att, need * sizeof(*n));
        if (!n)
            return -ENOMEM;
        r->att = n;
        r->capatt = need;
    }
    slot_start *ss = malloc(need * sizeof(*ss));
    if (!ss)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < r->natt; i++)
        ss[k++] = (slot_start){r->att[i].start, r->att[i].slot, r->att[i].run, -1};
    for (size_t i = 0; i < r->caplive; i++)
        if (r->live[i].key)
            ss[k++] = (slot_start){r->live[i].start, r->live[i].slot,
                                   (uint16_t)((r->live[i].key >> 32) - 1), (long)i};
    qsort(ss, k, sizeof(*ss), cmp_slot_start);
    for (size_t j = 0; j < k; j++) {
        if (ss[j].live < 0)
            continue;
        rapt__rlive *e = &r->live[ss[j].live];
        unsigned run = ss[j].run;
        double end = r->runs[run].last;
        if (j + 1 < k && ss[j + 1].run == run && ss[j + 1].slot == ss[j].slot && ss[j].slot != 0)
            end = fmin(end, ss[j + 1].start);
        rapt__ratt *a = &r->att[r->natt++];
        memset(a, 0, sizeof(*a));
        a->start = e->start;
        a->wall = fmax(0, end - e->start);
        a->cpu = NAN;
        a->peak = RAPT__R_NONE;
        a->input = e->input;
        a->predicted = e->predicted;
        a->seq = (uint32_t)(e->key & 0xffffffffu);
        a->slot = e->slot;
        a->run = (uint16_t)run;
        a->stage = e->stage;
        a->attempt = e->attempt;
        a->outcome = RAPT__O_UNFINISHED;
        a->reason = RAPT__RS_UNKNOWN;
        a->exit = -1;
    }
    free(ss);
    for (size_t i = 0; i < r->caplive; i++)
        r->live[i].key = 0;
    r->nlive = 0;
    return 0;
}

/* Gantt rows: runs that overlap in time get rows of their own; runs that follow one another
 * (the stages of a workflow) share rows, so a ten-stage pipeline on 8 slots keeps 8 rows. */
static int assign_rows(rapt_report *r)
{
    size_t n = r->nruns;
    if (n == 0)
        return 0;
    double *end = calloc(n, sizeof(*end));
    double *begin = calloc(n, sizeof(*begin));
    size_t *order = calloc(n, sizeof(*order));
    uint32_t *gw = calloc(n, sizeof(*gw)), *gbase = calloc(n, sizeof(*gbase));
    double *gend = calloc(n, sizeof(*gend));
    int *group = calloc(n, sizeof(*group));
    int rc = 0;
    if (!end || !begin || !order || !gw || !gbase || !gend || !group) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        begin[i] = INFINITY;
        end[i] = -INFINITY;
        order[i] = i;
        group[i] = -1;
    }
    for (size_t i = 0; i < r->natt; i++) {
        const rapt__ratt *a = &r->att[i];
        begin[a->run] = fmin(begin[a->run], a->start);
        end[a->run] = fmax(end[a->run], a->start + a->wall);
    }
    /* Insertion sort by first start: runs are few. */
    for (size_t i = 1; i < n; i++) {
        size_t k = order[i], j = i;
        while (j > 0 && begin[order[j - 1]] > begin[k]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    /* Greedy interval colouring: each run, in order of its first start, joins the first group
     * whose runs have all ended before it starts (a small tolerance absorbs rounding), else
     * opens a new group; a group is as wide as its widest run. */
    size_t ng = 0;
    for (size_t oi = 0; oi < n; oi++) {
        size_t i = order[oi];
        if (!isfinite(begin[i]))
            continue; /* no attempts: no rows */
        const rapt__rrun *run = &r->runs[i];
        uint32_t width = RAPT__MAX(RAPT__MAX(run->slots, run->max_slot), 1u);
        size_t g = 0;
        while (g < ng && gend[g] > begin[i] + 1e-6)
            g++;
        if (g == ng)
            gw[ng++] = 0;
        gw[g] = RAPT__MAX(gw[g], width);
        gend[g] = fmax(g < ng ? gend[g] : end[i], end[i]);
        group[i] = (int)g;
    }
    uint32_t rows = 0;
    for (size_t g = 0; g < ng; g++) {
        gbase[g] = rows;
        rows += gw[g];
    }
    for (size_t i = 0; i < n; i++)
        r->runs[i].row_base = group[i] >= 0 ? gbase[group[i]] : 0;
    for (size_t i = 0; i < r->natt; i++) {
        rapt__ratt *a = &r->att[i];
        a->row = r->runs[a->run].row_base + (a->slot ? a->slot - 1 : 0);
    }
    r->an.rows = rows;
out:
    free(end);
    free(begin);
    free(order);
    free(gw);
    free(gbase);
    free(gend);
    free(group);
    return rc;
}

/* Sort key for grouping attempts into jobs (qsort_r: the attempts array is the context, so
 * reports finished on different threads do not share state). */
static int cmp_job(const void *pa, const void *pb, void *ctx)
{
    const rapt__ratt *att = ctx;
    const rapt__ratt *a = &att[*(const size_t *)pa], *b = &att[*(const size_t *)pb];
    if (a->run != b->run)
        return a->run < b->run ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    if (a->attempt != b->attempt)
        return a->attempt < b->attempt ? -1 : 1;
    return a->start < b->start ? -1 : a->start > b->start;
}

static int cmp_start(const void *pa, const void *pb, void *ctx)
{
    const rapt__ratt *att = ctx;
    const rapt__ratt *a = &att[*(const size_t *)pa], *b = &att[*(const size_t *)pb];
    return a->start < b->start ? -1 : a->start > b->start;
}

/* A sweep event: time and the change in running jobs and in the sum of their peaks. */
typedef struct sweep_ev {
    double t;
    int d;
    double bytes;
} sweep_ev;

/* Ends sort before starts at the same instant: a job that hands its slot over does not count
 * as running alongside its successor. */
static int cmp_sweep(const void *pa, const void *pb)
{
    const sweep_ev *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->d - b->d; /* ends before starts at the same instant */
}

/* Concurrency over the whole report: mean, maximum, the level that covers 90 % of the time
 * with at least one job running, and the largest sum of running jobs' peaks. */
static int concurrency(rapt_report *r)
{
    rapt__ranalysis *an = &r->an;
    size_t n = 0;
    sweep_ev *ev = malloc((2 * r->natt + 1) * sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    for (size_t i = 0; i < r->natt; i++) {
        const rapt__ratt *a = &r->att[i];
        if (!(a->wall > 0))
            continue;
        double b = a->peak == RAPT__R_NONE ? 0 : (double)a->peak;
        ev[n++] = (sweep_ev){a->start, +1, b};
        ev[n++] = (sweep_ev){a->start + a->wall, -1, -b};
    }
    qsort(ev, n, sizeof(*ev), cmp_sweep);
    /* Concurrency never exceeds the number of attempts, so a histogram of time per level fits
     * in natt + 2 entries; the 90 % level is read off its cumulative sum. */
    size_t levels = r->natt + 2;
    double *at = calloc(levels, sizeof(*at)); /* seconds spent at each level */
    if (!at) {
        free(ev);
        return -ENOMEM;
    }
    long cur = 0;
    double bytes = 0, maxbytes = 0;
    unsigned maxrun = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cur > 0)
            at[cur] += ev[i].t - ev[i - 1].t;
        cur += ev[i].d;
        bytes += ev[i].bytes;
        if (cur > (long)maxrun)
            maxrun = (unsigned)cur;
        maxbytes = fmax(maxbytes, bytes);
    }
    double active = 0;
    for (size_t l = 1; l < levels; l++)
        active += at[l];
    unsigned p90 = 0;
    double acc = 0;
    for (size_t l = 1; l < levels && active > 0; l++) {
        acc += at[l];
        if (acc >= RAPT__R_PCT_BUSY * active - 1e-9) {
            p90 = (unsigned)l;
            break;
        }
    }
    an->max_running = maxrun;
    an->p90_running = p90;
    an->peak_sum_max = maxbytes;
    free(at);
    free(ev);
    return 0;
}

/* The tail of one run: when the first slot ran out of work for good, how long the run went on,
 * and what greedy longest-first ordering of the same runtimes would have taken. */
static int tail_of_run(rapt_report *r, unsigned run, const size_t *idx, size_t n)
{
    rapt__ranalysis *an = &r->an;
    const rapt__rrun *ru = &r->runs[run];
    uint32_t maxslot = ru->max_slot;
    double *last = calloc((size_t)maxslot + 1, sizeof(*last));
    double *wall = malloc(n * sizeof(*wall));
    if (!last || !wall) {
        free(last);
        free(wall);
        return -ENOMEM;
    }
    for (uint32_t s = 0; s <= maxslot; s++)
        last[s] = -INFINITY;
    /* last[s]: when slot s finished its last attempt. The earliest of these is when the run
     * first had a slot with nothing left to do: the start of the tail. */
    double first = INFINITY, end = -INFINITY, sum = 0, maxw = 0;
    for (size_t i = 0; i < n; i++) {
        const rapt__ratt *a = &r->att[idx[i]];
        double e = a->start + a->wall;
        last[a->slot] = fmax(last[a->slot], e);
        first = fmin(first, a->start);
        end = fmax(end, e);
        wall[i] = a->wall; /* idx is in start order: the order the run used */
        sum += a->wall;
        maxw = fmax(maxw, a->wall);
    }
    unsigned used = 0;
    double tail_start = INFINITY;
    for (uint32_t s = 0; s <= maxslot; s++) {
        if (isfinite(last[s])) {
            used++;
            tail_start = fmin(tail_start, last[s]);
        }
    }
    /* Simulate on the slots the run really used: a run that memory held to 2 of its 8 slots
     * would not have finished sooner on 8 by reordering alone. */
    unsigned slots = ru->slots ? RAPT__MIN(ru->slots, used) : used;
    int rc = 0;
    /* A tail needs at least two slots and more jobs than slots; otherwise no order of the same
     * jobs could finish sooner. */
    if (used >= 2 && n > slots && end > first) {
        double busy = 0;
        for (uint32_t s = 0; s <= maxslot; s++)
            if (isfinite(last[s]))
                busy += last[s] - tail_start;
        double actual = rapt__report_simulate(wall, n, slots);
        qsort(wall, n, sizeof(*wall), cmp_dbl_desc);
        double lpt = rapt__report_simulate(wall, n, slots);
        if (actual < 0 || lpt < 0) {
            rc = -ENOMEM;
        } else if (!an->tail_known || actual - lpt > an->sim_actual - an->sim_lpt) {
            /* Keep the run where reordering would save the most time. */
            an->tail_known = true;
            an->tail_run = (int)run;
            an->tail_s = end - tail_start;
            an->tail_fraction = (end - tail_start) / (end - first);
            an->sim_actual = actual;
            an->sim_lpt = lpt;
            an->lower_bound = fmax(maxw, sum / slots);
            an->tail_slots = slots;
            /* mean busy slots during the tail */
            an->tail_busy = an->tail_s > 0 ? busy / an->tail_s : 0;
        }
    }
    free(last);
    free(wall);
    return rc;
}

/* Median of the finite values in v[0..n) (reorders v). */
/* NaN entries stand for unknown values (an input size not recorded) and are left out. */
static double median(double *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[k++] = v[i];
    if (k == 0)
        return NAN;
    qsort(v, k, sizeof(*v), cmp_dbl);
    return rapt__report_pct(v, k, 50);
}

/* ---- SLAs and jobs ----------------------------------------------------------------------- */

typedef struct job {
    double first, end;
    double input; /* of the last attempt; NaN unknown */
    uint32_t seq;
    uint16_t run, stage;
    uint8_t outcome;
} job;

/* Resolves SLA stage names now that every stage has been seen (a stage no job carries gets
 * -2 and reports no jobs) and clears the results. */
static void resolve_slas(rapt_report *r)
{
    for (size_t i = 0; i < r->nslas; i++) {
        rapt__rsla *s = &r->slas[i];
        s->stage = -1;
        if (s->stage_name) {
            s->stage = -2;
            for (unsigned k = 1; k < r->nstages; k++)
                if (!strcmp(r->stages[k], s->stage_name))
                    s->stage = (int)k;
        }
        s->jobs = s->ok = s->warned = s->violated = s->unfinished = 0;
        s->worst = 0;
        s->p95 = s->violator_input_ratio = s->violator_wall_ratio = NAN;
    }
}

static int evaluate_slas(rapt_report *r, const job *jobs, size_t nj)
{
    double *dur = malloc((nj + 1) * sizeof(*dur)), *inp = malloc((nj + 1) * sizeof(*inp));
    double *vdur = malloc((nj + 1) * sizeof(*vdur)), *vinp = malloc((nj + 1) * sizeof(*vinp));
    if (!dur || !inp || !vdur || !vinp) {
        free(dur);
        free(inp);
        free(vdur);
        free(vinp);
        return -ENOMEM;
    }
    /* One pass over the jobs per SLA: SLAs are few (one per stage at most). The durations and
     * inputs of the jobs in scope, and of the violators, feed the p95 and the hint of the
     * recommendation (do the violators read more input than the rest?). */
    for (size_t si = 0; si < r->nslas; si++) {
        rapt__rsla *s = &r->slas[si];
        size_t nd = 0, nv = 0;
        for (size_t j = 0; j < nj; j++) {
            if (rapt__report_sla_for(r, jobs[j].stage) != s)
                continue;
            double d = jobs[j].end - jobs[j].first;
            bool done = jobs[j].outcome != RAPT__O_UNFINISHED;
            if (!done && d <= s->target) {
                s->unfinished++;
                continue;
            }
            s->jobs++;
            dur[nd] = d;
            inp[nd++] = jobs[j].input;
            if (d > s->target) {
                s->violated++;
                vdur[nv] = d;
                vinp[nv++] = jobs[j].input;
            } else if (d > RAPT_REPORT_SLA_WARN * s->target) {
                s->warned++;
            } else {
                s->ok++;
            }
            if (d > s->worst) {
                s->worst = d;
                s->worst_seq = jobs[j].seq;
                s->worst_run = jobs[j].run;
            }
        }
        if (nv > 0) {
            double mi = median(inp, nd), mvi = median(vinp, nv);
            if (mi > 0 && isfinite(mvi))
                s->violator_input_ratio = mvi / mi;
            double md = median(vdur, nv);
            memcpy(vdur, dur, nd * sizeof(*dur)); /* median() reorders: work on a copy */
            double mall = median(vdur, nd);
            if (mall > 0)
                s->violator_wall_ratio = md / mall;
        }
        if (nd > 0) {
            qsort(dur, nd, sizeof(*dur), cmp_dbl);
            s->p95 = rapt__report_pct(dur, nd, 95);
        }
    }
    free(dur);
    free(inp);
    free(vdur);
    free(vinp);
    return 0;
}

/* Groups attempts into jobs (run, seq), counts outcomes overall and per stage, and evaluates
 * the SLAs. A job's duration runs from its first attempt's start to its last attempt's end,
 * retries and requeues included: that is how long its result took. */
static int jobs_and_slas(rapt_report *r)
{
    rapt__ranalysis *an = &r->an;
    size_t n = r->natt;
    size_t *idx = malloc((n + 1) * sizeof(*idx));
    job *jobs = malloc((n + 1) * sizeof(*jobs));
    if (!idx || !jobs) {
        free(idx);
        free(jobs);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof(*idx), cmp_job, r->att);
    size_t nj = 0;
    for (size_t i = 0; i < n;) {
        const rapt__ratt *a = &r->att[idx[i]];
        job *j = &jobs[nj++];
        j->first = a->start;
        j->end = a->start + a->wall;
        j->seq = a->seq;
        j->run = a->run;
        size_t k = i;
        while (k < n && r->att[idx[k]].run == a->run && r->att[idx[k]].seq == a->seq) {
            const rapt__ratt *b = &r->att[idx[k]];
            j->first = fmin(j->first, b->start);
            j->end = fmax(j->end, b->start + b->wall);
            k++;
        }
        const rapt__ratt *last = &r->att[idx[k - 1]];
        /* A job whose last attempt was retried or requeued is waiting for the next one. */
        j->outcome = last->outcome == RAPT__O_RETRY || last->outcome == RAPT__O_REQUEUED
                         ? RAPT__O_UNFINISHED
                         : last->outcome;
        j->stage = last->stage;
        j->input = last->input == RAPT__R_NONE ? NAN : (double)last->input;
        rapt__rstage *st = &r->st[j->stage];
        st->jobs++;
        if (j->outcome == RAPT__O_SUCCESS) {
            an->succeeded++;
            st->succeeded++;
        } else if (j->outcome == RAPT__O_FAILED) {
            an->failed++;
            st->failed++;
        } else {
            an->unfinished++;
            st->unfinished++;
        }
        i = k;
    }
    an->jobs = nj;
    int rc = evaluate_slas(r, jobs, nj);
    free(idx);
    free(jobs);
    return rc;
}

/* ---- per-attempt statistics -------------------------------------------------------------- */

static int attempt_stats(rapt_report *r)
{
    rapt__ranalysis *an = &r->an;
    size_t n = r->natt;
    double *w = malloc((n + 1) * sizeof(*w));
    uint64_t *pk = malloc((n + 1) * sizeof(*pk));
    if (!w || !pk) {
        free(w);
        free(pk);
        return -ENOMEM;
    }
    for (unsigned s = 0; s < r->nstages; s++) {
        rapt__rstage *st = &r->st[s];
        st->first = INFINITY;
        st->last = -INFINITY;
        st->gamma = st->overhead = st->r2 = NAN;
        st->wall_mean = st->wall_p50 = st->wall_p95 = st->wall_max = NAN;
    }
    double wsum = 0;
    size_t nw = 0, np = 0;
    for (size_t i = 0; i < n; i++) {
        const rapt__ratt *a = &r->att[i];
        rapt__rstage *st = &r->st[a->stage];
        an->attempts++;
        st->attempts++;
        if (a->outcome == RAPT__O_RETRY) {
            an->retried++;
            st->retried++;
        }
        if (a->outcome == RAPT__O_REQUEUED) {
            an->requeued++;
            st->requeued++;
        }
        if (a->oom) {
            an->oom++;
            st->oom++;
        }
        if (a->reason == RAPT__RS_TIMEOUT)
            an->timeouts++;
        if (a->reason == RAPT__RS_MEMORY)
            an->memory_kills++;
        st->first = fmin(st->first, a->start);
        st->last = fmax(st->last, a->start + a->wall);
        an->busy_s += a->wall;
        if (isfinite(a->cpu)) {
            an->cpu_s += a->cpu;
            st->cpu_s += a->cpu;
        }
        if (a->outcome != RAPT__O_UNFINISHED) {
            w[nw++] = a->wall;
            wsum += a->wall;
        }
        if (a->peak != RAPT__R_NONE) {
            pk[np++] = a->peak;
            st->peak_max = RAPT__MAX(st->peak_max, a->peak);
        }
        /* The memory model learns from successful attempts only: a killed attempt's peak is
         * where it was stopped, not what it needed. Welford's co-moments keep the fit exact
         * for byte-sized values without a second pass. */
        if (a->outcome == RAPT__O_SUCCESS && a->peak != RAPT__R_NONE && a->input != RAPT__R_NONE) {
            double x = (double)a->input, y = (double)a->peak;
            st->fit_n++;
            double dx = x - st->fit_mx;
            st->fit_mx += dx / (double)st->fit_n;
            double dy = y - st->fit_my;
            st->fit_my += dy / (double)st->fit_n;
            st->fit_cxx += dx * (x - st->fit_mx);
            st->fit_cxy += dx * (y - st->fit_my);
            st->fit_cyy += dy * (y - st->fit_my);
        }
        if (a->outcome == RAPT__O_SUCCESS && a->peak != RAPT__R_NONE &&
            a->predicted != RAPT__R_NONE && a->predicted > 0) {
            st->pred_n++;
            st->pred_ratio_sum += (double)a->peak / (double)a->predicted;
            if (a->peak > a->predicted)
                st->pred_under++;
        }
    }
    /* Runtime statistics leave out unfinished attempts, whose wall time is only a lower bound.
     * The spread needs three attempts: with two, max / median is just their ratio. */
    an->wall_mean = an->wall_p50 = an->wall_p95 = an->wall_max = an->wall_min = an->spread = NAN;
    if (nw > 0) {
        qsort(w, nw, sizeof(*w), cmp_dbl);
        an->wall_mean = wsum / (double)nw;
        an->wall_p50 = rapt__report_pct(w, nw, 50);
        an->wall_p95 = rapt__report_pct(w, nw, 95);
        an->wall_max = w[nw - 1];
        an->wall_min = w[0];
        if (nw >= 3 && an->wall_p50 > 0)
            an->spread = an->wall_max / an->wall_p50;
    }
    if (np > 0) {
        qsort(pk, np, sizeof(*pk), cmp_u64);
        size_t i50 = (size_t)ceil(0.5 * (double)np) - 1, i95 = (size_t)ceil(0.95 * (double)np) - 1;
        an->peak_p50 = pk[i50];
        an->peak_p95 = pk[i95];
        an->peak_max = pk[np - 1];
    }
    /* Per-stage runtimes and peaks: one pass per stage over the attempts (stages are few). */
    for (unsigned s = 0; s < r->nstages; s++) {
        rapt__rstage *st = &r->st[s];
        size_t k = 0, kp = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            const rapt__ratt *a = &r->att[i];
            if (a->stage != s)
                continue;
            if (a->outcome != RAPT__O_UNFINISHED) {
                w[k++] = a->wall;
                sum += a->wall;
            }
            if (a->peak != RAPT__R_NONE)
                pk[kp++] = a->peak;
        }
        if (k > 0) {
            qsort(w, k, sizeof(*w), cmp_dbl);
            st->wall_mean = sum / (double)k;
            st->wall_p50 = rapt__report_pct(w, k, 50);
            st->wall_p95 = rapt__report_pct(w, k, 95);
            st->wall_max = w[k - 1];
        }
        if (kp > 0) {
            qsort(pk, kp, sizeof(*pk), cmp_u64);
            st->peak_p50 = pk[(size_t)ceil(0.5 * (double)kp) - 1];
        }
        if (st->fit_n >= 2 && st->fit_cxx > 0) {
            st->gamma = st->fit_cxy / st->fit_cxx;
            st->overhead = st->fit_my - st->gamma * st->fit_mx;
            st->r2 = st->fit_cyy > 0 ? st->fit_cxy * st->fit_cxy / (st->fit_cxx * st->fit_cyy) : 1;
        }
        const rapt__rsla *sla = rapt__report_sla_for(r, s);
        st->sla = sla ? (int)(sla - r->slas) : -1;
    }
    free(w);
    free(pk);
    return 0;
}

/* The slowest attempts: those over 1.5 x the mean, longest first, with their commands from the
 * per-stage heaps (which hold every stage's longest, so their union holds the global ones). */
static int slowest(rapt_report *r)
{
    rapt__ranalysis *an = &r->an;
    an->slow_threshold = RAPT__R_SLOW_FACTOR * an->wall_mean;
    an->slow_count = 0;
    an->nslow = 0;
    if (!isfinite(an->slow_threshold))
        return 0;
    for (size_t i = 0; i < r->natt; i++)
        if (r->att[i].outcome != RAPT__O_UNFINISHED && r->att[i].wall > an->slow_threshold)
            an->slow_count++;
    free(an->slow);
    an->slow = malloc(RAPT__R_STAGES_MAX * RAPT__R_TOPK * sizeof(*an->slow));
    if (!an->slow)
        return -ENOMEM;
    for (unsigned s = 0; s < RAPT__R_STAGES_MAX; s++)
        for (unsigned i = 0; i < r->ntop[s]; i++)
            if (r->top[s][i].wall > an->slow_threshold)
                an->slow[an->nslow++] = r->top[s][i].att;
    /* Longest first; insertion sort over at most STAGES x TOPK entries. */
    for (size_t i = 1; i < an->nslow; i++) {
        size_t k = an->slow[i], j = i;
        while (j > 0 && r->att[an->slow[j - 1]].wall < r->att[k].wall) {
            an->slow[j] = an->slow[j - 1];
            j--;
        }
        an->slow[j] = k;
    }
    if (an->nslow > RAPT__R_TOPK)
        an->nslow = RAPT__R_TOPK;
    return 0;
}

/* ---- recommendations --------------------------------------------------------------------- */

/* Sizes in sentences: "-" for unknown. */
static const char *fmt_size(double bytes, char *buf, size_t len)
{
    if (!isfinite(bytes) || bytes < 0)
        return "-";
    return rapt_size_format((uint64_t)bytes, buf, len);
}

static void recommend(rapt_report *r)
{
    rapt__ranalysis *an = &r->an;
    char b1[32], b2[32], b3[32], b4[32];
    bool have_adm = an->samples > 0 || an->share_from_decisions;
    bool budget = an->budget != RAPT__R_NONE && an->budget > 0;

    /* The bottleneck: the first of these that holds (docs/report.md, "Bottleneck"). */
    bool tail = an->tail_known && an->tail_fraction >= RAPT__R_TAIL_FRACTION &&
                an->sim_actual > 0 &&
                (an->sim_actual - an->sim_lpt) / an->sim_actual >= RAPT__R_TAIL_SAVING;
    if (an->share[RAPT__L_MEMORY] >= RAPT__R_SHARE_BOUND ||
        (!have_adm && budget && an->mem_util >= RAPT__R_MEM_HIGH))
        an->bottleneck = "memory";
    else if (an->cpu_util >= RAPT__R_CPU_HIGH)
        an->bottleneck = "cpu";
    else if (an->share[RAPT__L_INPUT] >= RAPT__R_SHARE_BOUND)
        an->bottleneck = "input";
    else if (an->share[RAPT__L_PRESSURE] >= RAPT__R_SHARE_BOUND)
        an->bottleneck = "pressure";
    else if (tail)
        an->bottleneck = "tail";
    else if (an->share[RAPT__L_SLOTS] >= RAPT__R_SHARE_BOUND ||
             (!have_adm && an->slot_util >= RAPT__R_SLOTS_FULL))
        an->bottleneck = "slots";
    else
        an->bottleneck = "none";
    /* How many jobs of the median peak the budget holds at once: the number a memory-bound
     * run could have run together, quoted by the memory rules. */
    const char *bn = an->bottleneck;
    double fit =
        budget && an->peak_p50 > 0 ? floor((double)an->budget / (double)an->peak_p50) : NAN;

    if (!strcmp(bn, "memory")) {
        rapt__rrec *rec;
        if (have_adm)
            rec = rec_add(an, "memory-bound", "warning",
                          "Memory held admission back %.0f%% of the time (budget %s); the jobs "
                          "peaked at %s (median) and %s at most, so about %.0f fit at once on "
                          "%u slots. Reduce the jobs' memory (smaller inputs per job), or let "
                          "rapt interleave large and small jobs (--order pack).",
                          pct100(an->share[RAPT__L_MEMORY]),
                          fmt_size((double)an->budget, b1, sizeof(b1)),
                          fmt_size((double)an->peak_p50, b2, sizeof(b2)),
                          fmt_size((double)an->peak_max, b3, sizeof(b3)), fit, an->slots);
        else
            rec = rec_add(an, "memory-bound", "warning",
                          "Memory in use reached %s, %.0f%% of the budget %s; the jobs peaked "
                          "at %s (median), so about %.0f fit at once on %u slots. Reduce the "
                          "jobs' memory (smaller inputs per job), or let rapt interleave large "
                          "and small jobs (--order pack).",
                          fmt_size(an->mem_util * (double)an->budget, b1, sizeof(b1)),
                          pct100(an->mem_util), fmt_size((double)an->budget, b2, sizeof(b2)),
                          fmt_size((double)an->peak_p50, b3, sizeof(b3)), fit, an->slots);
        fig(rec, "memory_share", an->share[RAPT__L_MEMORY]);
        fig(rec, "budget", budget ? (double)an->budget : NAN);
        fig(rec, "peak_p50", (double)an->peak_p50);
        fig(rec, "peak_max", (double)an->peak_max);
        fig(rec, "fit", fit);
        fig(rec, "slots", an->slots);
        fig(rec, "mem_util", an->mem_util);
    } else if (!strcmp(bn, "cpu")) {
        rapt__rrec *rec = rec_add(
            an, "cpu-bound", "warning",
            "The CPUs were %.0f%% busy (%.0f CPU-seconds in %s on %u CPUs): the run is "
            "CPU-bound and more slots would not make it faster%s",
            pct100(fmin(an->cpu_util, 1)), an->cpu_s,
            rapt__report_secs(an->makespan, b1, sizeof(b1)), an->cpus,
            an->slots > an->cpus ? "; as many slots as CPUs would do the same with less memory."
                                 : "; faster jobs or more CPUs would.");
        fig(rec, "cpu_util", an->cpu_util);
        fig(rec, "cpu_seconds", an->cpu_s);
        fig(rec, "cpus", an->cpus);
        fig(rec, "slots", an->slots);
        if (an->slots > an->cpus)
            fig(rec, "suggested_slots", an->cpus);
    } else if (!strcmp(bn, "input")) {
        unsigned k = RAPT__MAX(an->p90_running, 1u);
        rapt__rrec *rec =
            rec_add(an, "input-bound", "warning",
                    "Jobs waited for input %.0f%% of the time: whatever produces the input is "
                    "the bottleneck, not the machine. %u or fewer slots were busy 90%% of the "
                    "time, so -j %u would do.",
                    pct100(an->share[RAPT__L_INPUT]), k, k);
        fig(rec, "input_share", an->share[RAPT__L_INPUT]);
        fig(rec, "p90_running", k);
        fig(rec, "suggested_slots", k);
    } else if (!strcmp(bn, "slots")) {
        /* Slots were the limit while CPUs had room: enough slots to bring the CPUs to 90 %,
         * no more than the budget holds at the p95 peak, and at most four times as many (the
         * CPU time of sleeping jobs says little about how far I/O scales). */
        double u = fmax(an->cpu_util, 0.01);
        double n = ceil(an->slots * RAPT__R_CPU_HIGH / u);
        double by_mem = budget && an->peak_p95 > 0
                            ? floor((double)an->budget / (double)an->peak_p95)
                            : INFINITY;
        n = fmin(fmin(n, by_mem), 4.0 * an->slots);
        if (n <= an->slots) {
            rapt__rrec *rec = rec_add(
                an, "slots-full", "info",
                "All %u slots were busy %.0f%% of the time with the CPUs %.0f%% busy; memory "
                "(%s budget, jobs up to %s) leaves no room for more slots.",
                an->slots, pct100(fmax(an->slot_util, an->share[RAPT__L_SLOTS])),
                pct100(an->cpu_util), fmt_size((double)an->budget, b1, sizeof(b1)),
                fmt_size((double)an->peak_p95, b2, sizeof(b2)));
            fig(rec, "slot_util", an->slot_util);
            fig(rec, "cpu_util", an->cpu_util);
        } else {
            rapt__rrec *rec = rec_add(
                an, "slots-more", "warning",
                "All %u slots were busy %.0f%% of the time while the CPUs were only %.0f%% "
                "busy: the jobs wait on something else (I/O, network, sleep). More slots "
                "(-j %.0f) should finish sooner, as far as I/O allows%s.",
                an->slots, pct100(fmax(an->slot_util, an->share[RAPT__L_SLOTS])),
                pct100(an->cpu_util), n,
                isfinite(by_mem) ? " (the memory budget fits that many of these jobs)" : "");
            fig(rec, "slot_util", an->slot_util);
            fig(rec, "slots_share", an->share[RAPT__L_SLOTS]);
            fig(rec, "cpu_util", an->cpu_util);
            fig(rec, "suggested_slots", n);
        }
    }
    if (an->share[RAPT__L_PRESSURE] >= RAPT__R_PRESSURE_SHARE) {
        rapt__rrec *rec = rec_add(
            an, "pressure", "warning",
            "Memory pressure (PSI) held admission back %.0f%% of the time: memory is contended "
            "(by the jobs or by something else in the container); fewer or smaller jobs at "
            "once would run faster than jobs that stall.",
            pct100(an->share[RAPT__L_PRESSURE]));
        fig(rec, "pressure_share", an->share[RAPT__L_PRESSURE]);
    }
    if (tail) {
        rapt__rrec *rec = rec_add(
            an, "long-tail", "warning",
            "The last %s (%.0f%%) of the run kept only %.1f of %u slots busy after the first "
            "slot ran out of work. Longest first (--order lpt) would finish in about %s "
            "instead of %s on %u slots (%.0f%% shorter; lower bound %s).",
            rapt__report_secs(an->tail_s, b1, sizeof(b1)), pct100(an->tail_fraction), an->tail_busy,
            an->tail_slots, rapt__report_secs(an->sim_lpt, b2, sizeof(b2)),
            rapt__report_secs(an->sim_actual, b3, sizeof(b3)), an->tail_slots,
            pct100((an->sim_actual - an->sim_lpt) / an->sim_actual),
            rapt__report_secs(an->lower_bound, b4, sizeof(b4)));
        fig(rec, "tail_s", an->tail_s);
        fig(rec, "tail_fraction", an->tail_fraction);
        fig(rec, "simulated_s", an->sim_actual);
        fig(rec, "simulated_lpt_s", an->sim_lpt);
        fig(rec, "lower_bound_s", an->lower_bound);
        fig(rec, "slots", an->tail_slots);
    }
    if (isfinite(an->spread) && an->spread > RAPT__R_SPREAD) {
        rapt__rrec *rec = rec_add(
            an, "runtime-spread", "info",
            "Runtimes spread %.1fx (median %s, longest %s). %sSplitting the longest jobs' "
            "inputs would even them out.",
            an->spread, rapt__report_secs(an->wall_p50, b1, sizeof(b1)),
            rapt__report_secs(an->wall_max, b2, sizeof(b2)),
            tail ? "" : "Starting the longest first (--order lpt) keeps the end of a run short. ");
        fig(rec, "spread", an->spread);
        fig(rec, "median_s", an->wall_p50);
        fig(rec, "max_s", an->wall_max);
    }
    if (!strcmp(bn, "none") && an->slot_util < RAPT__R_SLOTS_IDLE && an->slots > 1) {
        unsigned k = RAPT__MAX(an->p90_running, 1u);
        if (k < an->slots) {
            rapt__rrec *rec = rec_add(
                an, "slots-fewer", "info",
                "On average %.1f of %u slots were busy (%.0f%%), and 90%% of the time %u or "
                "fewer: -j %u would do the same work with less memory held.",
                an->mean_running, an->slots, pct100(an->slot_util), k, k);
            fig(rec, "mean_running", an->mean_running);
            fig(rec, "slot_util", an->slot_util);
            fig(rec, "p90_running", k);
            fig(rec, "suggested_slots", k);
        }
    }
    if (strcmp(bn, "memory") != 0 && budget && an->mem_util >= RAPT__R_MEM_HIGH) {
        rapt__rrec *rec =
            rec_add(an, "memory-high", "warning",
                    "Memory in use peaked at %.0f%% of the budget %s: little "
                    "headroom is left for a larger input.",
                    pct100(an->mem_util), fmt_size((double)an->budget, b1, sizeof(b1)));
        fig(rec, "mem_util", an->mem_util);
    }
    if (an->oom > 0) {
        rapt__rrec *rec = rec_add(
            an, "oom", "critical",
            "%llu attempt%s ended by the kernel OOM killer (largest job peak %s, limit %s). "
            "Reserve at least that much per job (--mem-per-job %s) to avoid the kills.",
            (unsigned long long)an->oom, an->oom == 1 ? " was" : "s were",
            fmt_size((double)an->peak_max, b1, sizeof(b1)),
            an->limit != RAPT__R_NONE ? fmt_size((double)an->limit, b2, sizeof(b2)) : "unknown",
            fmt_size((double)an->peak_max, b3, sizeof(b3)));
        fig(rec, "oom_killed", (double)an->oom);
        fig(rec, "peak_max", (double)an->peak_max);
    }
    if (an->memory_kills > 0) {
        rapt__rrec *rec = rec_add(
            an, "memory-protect", "warning",
            "rapt requeued %llu attempt%s to protect memory: the jobs grew past what was "
            "reserved for them. --mem-per-job %s (their 95th percentile peak) reserves enough "
            "up front.",
            (unsigned long long)an->memory_kills, an->memory_kills == 1 ? "" : "s",
            fmt_size((double)an->peak_p95, b1, sizeof(b1)));
        fig(rec, "requeued_for_memory", (double)an->memory_kills);
        fig(rec, "peak_p95", (double)an->peak_p95);
    }
    /* Failures by cause, from the attempts that ended the jobs for good; the most common exit
     * code is named because one code usually means one bug. */
    if (an->failed > 0) {
        uint64_t by_exit = 0, by_timeout = 0, by_signal = 0, other = 0;
        int common = -1;
        unsigned counts[256] = {0};
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            if (a->outcome != RAPT__O_FAILED)
                continue;
            if (a->reason == RAPT__RS_TIMEOUT)
                by_timeout++;
            else if (a->signal)
                by_signal++;
            else if (a->exit > 0) {
                by_exit++;
                counts[a->exit & 0xff]++;
                if (common < 0 || counts[a->exit & 0xff] > counts[common])
                    common = a->exit & 0xff;
            } else
                other++;
        }
        rapt__rrec *rec = rec_add(
            an, "failures", "critical",
            "%llu job%s failed: %llu with a non-zero exit status (most often %d), %llu timed "
            "out, %llu died by a signal, %llu otherwise. See the joblog or the events for "
            "their commands.",
            (unsigned long long)an->failed, an->failed == 1 ? "" : "s", (unsigned long long)by_exit,
            common, (unsigned long long)by_timeout, (unsigned long long)by_signal,
            (unsigned long long)other);
        fig(rec, "failed", (double)an->failed);
        fig(rec, "exit_nonzero", (double)by_exit);
        fig(rec, "timeouts", (double)by_timeout);
        fig(rec, "signals", (double)by_signal);
    }
    for (size_t i = 0; i < r->nslas; i++) {
        const rapt__rsla *s = &r->slas[i];
        char scope[160] = "";
        if (s->stage_name)
            snprintf(scope, sizeof(scope), " of stage %s", s->stage_name);
        if (s->violated > 0) {
            char hint[200] = "";
            if (isfinite(s->violator_input_ratio) &&
                s->violator_input_ratio >= RAPT__R_SLA_INPUT_RATIO)
                snprintf(hint, sizeof(hint),
                         " The jobs over it read %.1fx the median input: splitting their inputs "
                         "would bring them under.",
                         s->violator_input_ratio);
            else if (isfinite(s->violator_wall_ratio))
                snprintf(hint, sizeof(hint),
                         " They took %.1fx as long as the median job: see the slowest jobs.",
                         s->violator_wall_ratio);
            rapt__rrec *rec = rec_add(
                an, "sla-violated", "critical",
                "%llu of %llu jobs%s took longer than the SLA of %s (worst %s, job %u); %llu "
                "more used over %.0f%% of it.%s",
                (unsigned long long)s->violated, (unsigned long long)s->jobs, scope,
                rapt__report_secs(s->target, b1, sizeof(b1)),
                rapt__report_secs(s->worst, b2, sizeof(b2)), s->worst_seq,
                (unsigned long long)s->warned, RAPT_REPORT_SLA_WARN * 100, hint);
            fig(rec, "violated", (double)s->violated);
            fig(rec, "warned", (double)s->warned);
            fig(rec, "jobs", (double)s->jobs);
            fig(rec, "target_s", s->target);
            fig(rec, "worst_s", s->worst);
            fig(rec, "input_ratio", s->violator_input_ratio);
        } else if (s->warned > 0) {
            rapt__rrec *rec =
                rec_add(an, "sla-warning", "warning",
                        "%llu of %llu jobs%s used more than %.0f%% of the SLA of %s (worst %s): no "
                        "violation, but little margin.",
                        (unsigned long long)s->warned, (unsigned long long)s->jobs, scope,
                        RAPT_REPORT_SLA_WARN * 100, rapt__report_secs(s->target, b1, sizeof(b1)),
                        rapt__report_secs(s->worst, b2, sizeof(b2)));
            fig(rec, "warned", (double)s->warned);
            fig(rec, "jobs", (double)s->jobs);
            fig(rec, "target_s", s->target);
            fig(rec, "worst_s", s->worst);
        }
    }
    /* Most severe first; rapt__rrec order within a severity is the order of the rules above,
     * which starts with the bottleneck's own advice. */
    static const char *const order[] = {"critical", "warning", "info"};
    rapt__rrec sorted[RAPT__R_RECS_MAX];
    unsigned k = 0;
    for (unsigned o = 0; o < RAPT__ARRAY_SIZE(order); o++)
        for (unsigned i = 0; i < an->nrecs; i++)
            if (!strcmp(an->recs[i].severity, order[o]))
                sorted[k++] = an->recs[i];
    memcpy(an->recs, sorted, k * sizeof(*sorted));
    an->nrecs = k;
}

/* ---- entry ------------------------------------------------------------------------------- */

int rapt__report_analyze(rapt_report *r)
{
    /* Every step below recomputes from the attempts and counters, so a finish that failed for
     * lack of memory can simply be called again. */
    int rc = close_live(r);
    if (rc < 0)
        return rc;
    rapt__ranalysis *an = &r->an;
    free(an->slow);
    memset(an, 0, sizeof(*an));
    an->bottleneck = "none";
    for (unsigned s = 0; s < RAPT__R_STAGES_MAX; s++) {
        rapt__rstage keep = r->st[s];
        memset(&r->st[s], 0, sizeof(r->st[s]));
        r->st[s].sla = keep.sla;
    }

    /* The time axis: from the earliest record or attempt to the latest. */
    double t0 = INFINITY, t_end = -INFINITY;
    for (size_t i = 0; i < r->nruns; i++) {
        t0 = fmin(t0, r->runs[i].first);
        t_end = fmax(t_end, r->runs[i].last);
    }
    for (size_t i = 0; i < r->natt; i++) {
        t0 = fmin(t0, r->att[i].start);
        t_end = fmax(t_end, r->att[i].start + r->att[i].wall);
    }
    if (!isfinite(t0) || !isfinite(t_end) || t_end < t0)
        t0 = t_end = 0;
    an->t0 = t0;
    an->t_end = t_end;
    an->makespan = t_end - t0;

    an->limit = an->budget = RAPT__R_NONE;
    for (size_t i = 0; i < r->nruns; i++) {
        const rapt__rrun *ru = &r->runs[i];
        an->cpus = RAPT__MAX(an->cpus, ru->cpus);
        an->slots = RAPT__MAX(an->slots, ru->slots ? ru->slots : ru->max_slot);
        /* Several runs: the tightest limit and budget are the ones that bound. */
        if (ru->mem_limit != RAPT__R_NONE)
            an->limit = RAPT__MIN(an->limit, ru->mem_limit);
        if (ru->mem_budget != RAPT__R_NONE)
            an->budget = RAPT__MIN(an->budget, ru->mem_budget);
    }
    if (an->slots == 0)
        an->slots = 1;
    if (an->cpus == 0)
        an->cpus = an->slots;

    /* A run's own --sla (run_start options.sla_s) applies when the caller gave no target for
     * all jobs; with several runs, the strictest. The same for each stage's target
     * (options.sla_stages): the caller's target for a stage wins, else the strictest run's. */
    size_t ncaller = r->nslas;
    bool have_all = false;
    for (size_t i = 0; i < r->nslas; i++)
        have_all |= !r->slas[i].stage_name;
    if (!have_all) {
        double sla = INFINITY;
        for (size_t i = 0; i < r->nruns; i++)
            if (isfinite(r->runs[i].sla_s))
                sla = fmin(sla, r->runs[i].sla_s);
        if (isfinite(sla) && (rc = rapt_report_add_sla(r, NULL, sla)) < 0)
            return rc;
    }

    for (size_t i = 0; i < r->nruns; i++) {
        for (unsigned k = 0; k < r->runs[i].nsla_stages; k++) {
            const rapt__rsla_run *e = &r->runs[i].sla_stages[k];
            double target = e->target;
            size_t at = 0;
            while (at < r->nslas &&
                   !(r->slas[at].stage_name && !strcmp(r->slas[at].stage_name, e->name)))
                at++;
            if (at < ncaller)
                continue;
            if (at < r->nslas)
                target = fmin(target, r->slas[at].target);
            if ((rc = rapt_report_add_sla(r, e->name, target)) < 0)
                return rc;
        }
    }

    resolve_slas(r);
    if ((rc = assign_rows(r)) < 0 || (rc = attempt_stats(r)) < 0 || (rc = jobs_and_slas(r)) < 0 ||
        (rc = concurrency(r)) < 0 || (rc = slowest(r)) < 0)
        return rc;

    an->cpu_util = an->makespan > 0 ? an->cpu_s / (an->makespan * an->cpus) : NAN;
    an->mean_running = an->makespan > 0 ? an->busy_s / an->makespan : NAN;
    an->slot_util = an->mean_running / an->slots;

    /* Memory: measured use from samples when there are any, else the sum of the running jobs'
     * peaks (an upper bound: peaks need not coincide). */
    an->used_max = an->used_mean = NAN;
    if (r->sample_mem_n > 0) {
        an->used_max = r->sample_mem_max;
        an->used_mean = r->sample_mem_sum / (double)r->sample_mem_n;
    }
    double used = r->sample_mem_n > 0 ? an->used_max : an->peak_sum_max;
    an->mem_util =
        an->budget != RAPT__R_NONE && an->budget > 0 && used > 0 ? used / (double)an->budget : NAN;

    /* What limited admission: shares of the samples, else of the wait decisions. */
    an->samples = r->samples;
    memcpy(an->limited, r->sample_limited, sizeof(an->limited));
    an->decisions_admit = r->decisions_admit;
    memcpy(an->decisions_wait, r->decisions_wait, sizeof(an->decisions_wait));
    uint64_t waits = 0;
    for (unsigned l = 0; l < RAPT__L_N; l++)
        waits += r->decisions_wait[l];
    for (unsigned l = 0; l < RAPT__L_N; l++) {
        if (r->samples > 0)
            an->share[l] = (double)r->sample_limited[l] / (double)r->samples;
        else if (waits > 0)
            an->share[l] = (double)r->decisions_wait[l] / (double)waits;
    }
    an->share_from_decisions = r->samples == 0 && waits > 0;

    /* The tail, run by run (attempts in start order). */
    size_t *idx = malloc((r->natt + 1) * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < r->natt; i++)
        idx[i] = i;
    qsort_r(idx, r->natt, sizeof(*idx), cmp_start, r->att);
    size_t *sub = malloc((r->natt + 1) * sizeof(*sub));
    if (!sub) {
        free(idx);
        return -ENOMEM;
    }
    for (size_t run = 0; run < r->nruns && rc == 0; run++) {
        size_t k = 0;
        for (size_t i = 0; i < r->natt; i++)
            if (r->att[idx[i]].run == run)
                sub[k++] = idx[i];
        if (k > 0)
            rc = tail_of_run(r, (unsigned)run, sub, k);
    }
    free(sub);
    free(idx);
    if (rc < 0)
        return rc;
    recommend(r);
    return 0;
}
