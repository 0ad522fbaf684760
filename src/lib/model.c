/* model.c: per-class prediction of peak memory and runtime (see rapt/model.h, docs/model.md).
 *
 * Owns, per class, a ring of the newest samples (input size, peak, runtime), a table of argument
 * digests already seen, and a cached fit per quantity that is recomputed lazily after new
 * samples. Everything is arithmetic over memory: the history file is only read by
 * rapt_model_load(), so the model is tested without SQLite and the same code serves a live run.
 *
 * Why recompute from attempts instead of storing model state in the history: a fit over the
 * newest 200 samples costs well under a millisecond (docs/model.md gives the figure), the
 * attempts are the ground truth every rapt process appends to concurrently, and a better method
 * in a later version applies at once to everything already recorded, with no state to migrate.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rapt/model.h"

#define DEFAULT_WINDOW       200u
#define DEFAULT_MIN_FIT      8u
#define DEFAULT_COVERAGE     0.95
#define DEFAULT_EXACT_MARGIN 0.10
#define DEFAULT_MAX_EXACT    49152u /* 3/4 of a 65536-entry table: 4.5 MiB */
#define DEFAULT_MAX_PAIRS    4096u
#define DEFAULT_LOAD         10000u
/* Samples at which confidence is one half. */
#define CONFIDENCE_HALF 10.0
/* A job killed for memory at peak P needs more than P; the runner's recovery uses 1.5 x. */
#define CENSORED_FACTOR 1.5

/* One successful attempt as the fit sees it. */
typedef struct sample {
    double x;    /* input bytes, < 0 unknown */
    double y[2]; /* peak bytes, runtime seconds; < 0 unknown */
} sample;

/* What is known about one argument digest of a class. max is what a success needed; floor is
 * what a killed attempt proved it needs more than. */
typedef struct exact {
    uint8_t digest[RAPT_DIGEST_SIZE];
    bool used;
    int64_t input_bytes; /* -1 unknown */
    unsigned n[2];       /* successful observations per quantity */
    double max[2];       /* largest successful value */
    double floor[2];     /* largest censored value (a lower bound), 0 none */
} exact;

/* The fit and median of one quantity, valid until the next sample of the class arrives. */
typedef struct fitcache {
    bool valid;
    rapt_model_fit fit;
    double s0;     /* residual scale floor */
    double median; /* class median of y (median basis) */
    double upper;  /* conformal upper quantile of y (median basis) */
    unsigned n_all;
} fitcache;

typedef struct klass {
    char *name;
    sample *ring;
    unsigned head, count; /* ring[head] is the next slot to write */
    exact *tab;
    size_t tabcap, tabused;
    fitcache fc[2];
} klass;

struct rapt_model {
    rapt_model_opts o;
    klass *classes;
    size_t nclasses, capclasses;
    /* Scratch buffers reused by fits, so a refit allocates nothing in the steady state. */
    double *scratch;
    size_t scratchcap;
};

/* ---- small numeric helpers ----------------------------------------------------------------- */

/* The k-th smallest of v[0..n) (0-based), reordering v so that v[k] holds it and everything
 * before is <= it: Hoare's selection with a median-of-three pivot, O(n) expected. A refit runs
 * once per finished job, and selecting instead of sorting the 4096 pairwise slopes is what
 * keeps it at tens of microseconds (bench/history-bench). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        /* Order v[lo], v[mid], v[hi] so the pivot v[mid] is their median. */
        if (v[mid] < v[lo]) {
            double t = v[mid];
            v[mid] = v[lo];
            v[lo] = t;
        }
        if (v[hi] < v[lo]) {
            double t = v[hi];
            v[hi] = v[lo];
            v[lo] = t;
        }
        if (v[hi] < v[mid]) {
            double t = v[hi];
            v[hi] = v[mid];
            v[mid] = t;
        }
        double pivot = v[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        /* Now v[lo..j] <= pivot <= v[i..hi]; anything between equals the pivot. */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* Median of v[0..n) (reorders v). n >= 1. */
static double median_sort(double *v, size_t n)
{
    double hi = select_kth(v, n, n / 2);
    if (n % 2)
        return hi;
    /* The lower middle is the largest of the part select_kth left below n / 2. */
    double lo = v[0];
    for (size_t i = 1; i < n / 2; i++)
        lo = v[i] > lo ? v[i] : lo;
    return 0.5 * (lo + hi);
}

/* The conformal upper quantile of n values (sorts v): the (ceil((n + 1) * cov) + extra)-th
 * smallest. For exchangeable values (extra 0) a fresh value is at or below it with probability
 * >= cov. Residuals of a fit made from the same points are a little smaller than a fresh
 * point's, by about one rank per fitted parameter, so fits pass extra = 2 (slope, intercept):
 * measured on the synthetic classes, 0 covers 94.85% of fresh jobs, 1 95.35%, 2 95.8-96.0%. With
 * too few values for the rank the largest is the best available bound (coverage n / (n + 1)). */
static double conformal_upper(double *v, size_t n, double cov, unsigned extra)
{
    double k = ceil((double)(n + 1) * cov) + extra;
    size_t idx = k >= (double)n ? n - 1 : (size_t)k - 1;
    return select_kth(v, n, idx);
}

/* n / (n + 10): a half at ten samples, 0.9 at ninety. A plain, documented curve rather than a
 * statistic, because callers use it to choose between sources, not as a probability. */
static double confidence(unsigned n)
{
    return (double)n / ((double)n + CONFIDENCE_HALF);
}

static int ensure_scratch(rapt_model *m, size_t n)
{
    if (m->scratchcap >= n)
        return 0;
    size_t cap = RAPT__MAX(n, m->scratchcap * 2);
    double *p = realloc(m->scratch, cap * sizeof(*p));
    if (!p)
        return -ENOMEM;
    m->scratch = p;
    m->scratchcap = cap;
    return 0;
}

/* xorshift64*: a deterministic stream for sampling Theil-Sen pairs, so a fit is reproducible. */
static uint64_t xs_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* ---- classes ------------------------------------------------------------------------------- */

void rapt_model_opts_init(rapt_model_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->window = DEFAULT_WINDOW;
    o->min_fit = DEFAULT_MIN_FIT;
    o->coverage = DEFAULT_COVERAGE;
    o->exact_margin = DEFAULT_EXACT_MARGIN;
    o->max_exact = DEFAULT_MAX_EXACT;
    o->max_pairs = DEFAULT_MAX_PAIRS;
}

const char *rapt_model_basis_name(rapt_model_basis b)
{
    switch (b) {
    case RAPT_BASIS_NONE: return "none";
    case RAPT_BASIS_EXACT: return "exact";
    case RAPT_BASIS_FIT: return "fit";
    case RAPT_BASIS_MEDIAN: return "median";
    }
    return "unknown";
}

int rapt_model_create(rapt_model **out, const rapt_model_opts *o)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    rapt_model_opts def;
    if (!o) {
        rapt_model_opts_init(&def);
        o = &def;
    }
    if (o->window < 2 || !(o->coverage > 0 && o->coverage < 1) || !(o->exact_margin >= 0) ||
        o->min_fit < 3 || o->max_pairs < 16)
        return -EINVAL;
    rapt_model *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->o = *o;
    *out = m;
    return 0;
}

void rapt_model_destroy(rapt_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nclasses; i++) {
        free(m->classes[i].name);
        free(m->classes[i].ring);
        free(m->classes[i].tab);
    }
    free(m->classes);
    free(m->scratch);
    free(m);
}

/* Classes are few per run (usually one per command template), so a linear search is the
 * cheapest structure; `rapt history` walks each class once. */
static klass *find_class(const rapt_model *m, const char *name)
{
    for (size_t i = 0; i < m->nclasses; i++)
        if (strcmp(m->classes[i].name, name) == 0)
            return &m->classes[i];
    return NULL;
}

static klass *get_class(rapt_model *m, const char *name)
{
    klass *k = find_class(m, name);
    if (k)
        return k;
    if (m->nclasses == m->capclasses) {
        size_t cap = m->capclasses ? m->capclasses * 2 : 4;
        klass *nc = realloc(m->classes, cap * sizeof(*nc));
        if (!nc)
            return NULL;
        m->classes = nc;
        m->capclasses = cap;
    }
    k = &m->classes[m->nclasses];
    memset(k, 0, sizeof(*k));
    k->name = strdup(name);
    k->ring = calloc(m->o.window, sizeof(*k->ring));
    if (!k->name || !k->ring) {
        free(k->name);
        free(k->ring);
        return NULL;
    }
    m->nclasses++;
    return k;
}

/* ---- the exact-argument table: open addressing on the digest, which is already uniform ----- */

/* The digest is a cryptographic hash, so its first bytes are already uniformly spread. */
static size_t digest_hash(const uint8_t *d)
{
    uint64_t h;
    memcpy(&h, d, sizeof(h));
    return (size_t)h;
}

static exact *exact_find(klass *k, const uint8_t *d)
{
    if (!k->tabcap)
        return NULL;
    for (size_t i = digest_hash(d) & (k->tabcap - 1);; i = (i + 1) & (k->tabcap - 1)) {
        if (!k->tab[i].used)
            return NULL;
        if (memcmp(k->tab[i].digest, d, RAPT_DIGEST_SIZE) == 0)
            return &k->tab[i];
    }
}

static exact *exact_get(rapt_model *m, klass *k, const uint8_t *d)
{
    exact *e = exact_find(k, d);
    if (e)
        return e;
    /* Bounded memory: once a class has max_exact digests the table starts over. The window of
     * samples is untouched, so predictions fall back to the fit until repeats are seen again. */
    if (k->tabused >= m->o.max_exact) {
        memset(k->tab, 0, k->tabcap * sizeof(*k->tab));
        k->tabused = 0;
    }
    /* Keep the load factor at or under three quarters: linear probing still averages under
     * three probes, and the default limit then fills a 65536-entry table exactly. (At one
     * half, 100k distinct arguments took rapt's peak RSS from 10 to 22 MiB: a 9 MiB table
     * plus the 4.5 MiB one it was copied from.) */
    if ((k->tabused + 1) * 4 > k->tabcap * 3) {
        size_t cap = k->tabcap ? k->tabcap * 2 : 64;
        exact *nt = calloc(cap, sizeof(*nt));
        if (!nt)
            return NULL;
        for (size_t i = 0; i < k->tabcap; i++) {
            if (!k->tab[i].used)
                continue;
            size_t j = digest_hash(k->tab[i].digest) & (cap - 1);
            while (nt[j].used)
                j = (j + 1) & (cap - 1);
            nt[j] = k->tab[i];
        }
        free(k->tab);
        k->tab = nt;
        k->tabcap = cap;
    }
    size_t i = digest_hash(d) & (k->tabcap - 1);
    while (k->tab[i].used)
        i = (i + 1) & (k->tabcap - 1);
    e = &k->tab[i];
    memset(e, 0, sizeof(*e));
    memcpy(e->digest, d, RAPT_DIGEST_SIZE);
    e->used = true;
    e->input_bytes = -1;
    k->tabused++;
    return e;
}

/* ---- learning ------------------------------------------------------------------------------ */

int rapt_model_observe(rapt_model *m, const rapt_attempt *a)
{
    /* Only what says something about a successful run is kept (see the header): a job that
     * failed early used little memory and time, and learning from it would under-reserve. */
    if (!m || !a || !a->class_name || !a->outcome || !a->reason)
        return -EINVAL;
    bool ok = strcmp(a->outcome, "success") == 0;
    bool mem_kill = strcmp(a->reason, "oom") == 0 || strcmp(a->reason, "memory") == 0;
    bool timeout = strcmp(a->reason, "timeout") == 0;
    if (!ok && !mem_kill && !timeout)
        return 0;
    double y[2] = {a->peak_bytes >= 0 ? (double)a->peak_bytes : -1,
                   a->wall_s >= 0 && isfinite(a->wall_s) ? a->wall_s : -1};
    if (y[0] < 0 && y[1] < 0)
        return 0;
    klass *k = get_class(m, a->class_name);
    if (!k)
        return -ENOMEM;
    if (ok) {
        sample *s = &k->ring[k->head];
        s->x = a->input_bytes >= 0 ? (double)a->input_bytes : -1;
        s->y[0] = y[0];
        s->y[1] = y[1];
        k->head = (k->head + 1) % m->o.window;
        if (k->count < m->o.window)
            k->count++;
        k->fc[0].valid = k->fc[1].valid = false;
    }
    if (a->has_digest) {
        exact *e = exact_get(m, k, a->digest);
        if (!e)
            return -ENOMEM;
        /* The entry describes the arguments with their current input size; a file that changed
         * size makes earlier values of these arguments stale. */
        if (e->input_bytes != a->input_bytes) {
            memset(e->n, 0, sizeof(e->n));
            memset(e->max, 0, sizeof(e->max));
            memset(e->floor, 0, sizeof(e->floor));
            e->input_bytes = a->input_bytes;
        }
        for (int q = 0; q < 2; q++) {
            if (y[q] < 0)
                continue;
            if (ok) {
                e->n[q]++;
                e->max[q] = RAPT__MAX(e->max[q], y[q]);
            } else if ((q == 0 && mem_kill) || (q == 1 && timeout)) {
                e->floor[q] = RAPT__MAX(e->floor[q], y[q]);
            }
        }
    }
    return 1;
}

/* Theil-Sen over the pairs (xs[i], ys[i]), i < n: slope = median of pairwise slopes, clamped at
 * 0, intercept = median of y - slope * x. Uses m->scratch. */
static int theil_sen(rapt_model *m, const double *xs, const double *ys, size_t n, double *slope,
                     double *intercept)
{
    size_t all = n * (n - 1) / 2;
    size_t want = RAPT__MIN(all, (size_t)m->o.max_pairs);
    if (ensure_scratch(m, RAPT__MAX(want, n)) < 0)
        return -ENOMEM;
    double *v = m->scratch;
    size_t got = 0;
    if (want == all) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (xs[j] != xs[i])
                    v[got++] = (ys[j] - ys[i]) / (xs[j] - xs[i]);
    } else {
        /* Sampled pairs: the median of 4096 random pairwise slopes is within a fraction of a
         * percent of the full median for our window sizes, at a tenth of the cost. */
        uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
        for (size_t t = 0; t < want * 2 && got < want; t++) {
            size_t i = (size_t)(xs_next(&seed) % n), j = (size_t)(xs_next(&seed) % n);
            if (xs[i] != xs[j])
                v[got++] = (ys[j] - ys[i]) / (xs[j] - xs[i]);
        }
    }
    if (got == 0)
        return -EINVAL;
    double s = median_sort(v, got);
    /* More input never needs less: a negative slope is noise on a flat class, and extrapolated
     * to a large input it would predict too little. */
    if (!(s > 0))
        s = 0;
    for (size_t i = 0; i < n; i++)
        v[i] = ys[i] - s * xs[i];
    *intercept = median_sort(v, n);
    *slope = s;
    return 0;
}

/* Recomputes the fit and median of quantity q for class k. */
static int refit(rapt_model *m, klass *k, int q)
{
    fitcache *fc = &k->fc[q];
    memset(fc, 0, sizeof(*fc));
    rapt_model_fit *f = &fc->fit;
    f->basis = RAPT_BASIS_NONE;
    size_t n = k->count;
    /* Three arrays of n: x and y of samples with a size, then y of all samples. */
    double *buf = malloc(3 * (n ? n : 1) * sizeof(*buf));
    if (!buf)
        return -ENOMEM;
    double *xs = buf, *ys = buf + n, *all = buf + 2 * n;
    size_t nx = 0, na = 0;
    for (size_t i = 0; i < n; i++) {
        const sample *s = &k->ring[i];
        if (s->y[q] < 0)
            continue;
        all[na++] = s->y[q];
        if (s->x >= 0) {
            xs[nx] = s->x;
            ys[nx] = s->y[q];
            nx++;
        }
    }
    fc->n_all = (unsigned)na;
    int rc = 0;
    if (na == 0)
        goto done;

    /* The median basis: what any job of the class needs, size unknown. */
    double *tmp = malloc(na * sizeof(*tmp));
    if (!tmp) {
        rc = -ENOMEM;
        goto done;
    }
    memcpy(tmp, all, na * sizeof(*tmp));
    fc->median = median_sort(tmp, na);
    fc->upper = conformal_upper(tmp, na, m->o.coverage, 0);
    free(tmp);
    f->basis = RAPT_BASIS_MEDIAN;
    f->slope = f->safe_slope = 0;
    f->intercept = fc->median;
    f->safe_intercept = fc->upper;
    f->margin = fc->median > 0 ? fc->upper / fc->median - 1 : 0;
    f->samples = (unsigned)na;
    f->confidence = confidence((unsigned)na);

    /* Size statistics, for display and for deciding whether sizes vary enough to fit: a
     * line through fewer than three distinct sizes would be a guess. */
    size_t distinct = 0;
    if (nx > 0) {
        double d[2] = {xs[0], xs[0]};
        f->x_min = f->x_max = xs[0];
        distinct = 1;
        for (size_t i = 1; i < nx; i++) {
            f->x_min = RAPT__MIN(f->x_min, xs[i]);
            f->x_max = RAPT__MAX(f->x_max, xs[i]);
            if (distinct < 3 && xs[i] != d[0] && (distinct < 2 || xs[i] != d[1]))
                d[distinct++ == 1 ? 1 : 0] = xs[i];
        }
        double *sx = malloc(nx * sizeof(*sx));
        if (!sx) {
            rc = -ENOMEM;
            goto done;
        }
        memcpy(sx, xs, nx * sizeof(*sx));
        f->x_median = median_sort(sx, nx);
        free(sx);
    }
    if (nx < m->o.min_fit || distinct < 3)
        goto done;

    double slope, icept;
    if ((rc = theil_sen(m, xs, ys, nx, &slope, &icept)) < 0) {
        rc = rc == -EINVAL ? 0 : rc;
        goto done;
    }
    /* Scaled residuals: r = (y - f(x)) / (max(f(x), 0) + s0). Dividing by the prediction makes
     * the margin proportional, which suits memory and time whose noise grows with the job;
     * s0 (5% of the median) keeps tiny predictions from blowing the ratio up. The scale only
     * shapes the band: conformal coverage holds for any scale. */
    double s0 = 0.05 * fc->median + 1e-9;
    if (ensure_scratch(m, nx) < 0) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nx; i++) {
        double fx = slope * xs[i] + icept;
        m->scratch[i] = (ys[i] - fx) / (RAPT__MAX(fx, 0.0) + s0);
    }
    double qm = conformal_upper(m->scratch, nx, m->o.coverage, 2);
    if (!(qm > 0))
        qm = 0;
    f->basis = RAPT_BASIS_FIT;
    f->slope = slope;
    f->intercept = icept;
    f->margin = qm;
    /* safe(x) = f(x) + q (f(x) + s0) = (1 + q) f(x) + q s0 while f(x) >= 0. */
    f->safe_slope = (1 + qm) * slope;
    f->safe_intercept = (1 + qm) * icept + qm * s0;
    f->samples = (unsigned)nx;
    f->confidence = confidence((unsigned)nx);
    fc->s0 = s0;
done:
    free(buf);
    if (rc == 0)
        fc->valid = true;
    return rc;
}

static int cached_fit(rapt_model *m, klass *k, int q, const fitcache **out)
{
    if (!k->fc[q].valid) {
        int rc = refit(m, k, q);
        if (rc < 0)
            return rc;
    }
    *out = &k->fc[q];
    return 0;
}

/* One quantity for one job: the bases in the documented order, the first that applies wins. */
static int estimate(rapt_model *m, klass *k, int q, const rapt_features *f, rapt_estimate *out)
{
    memset(out, 0, sizeof(*out));
    if (f) {
        exact *e = exact_find(k, f->digest);
        int64_t ib = f->has_input ? (int64_t)RAPT__MIN(f->input_bytes, (uint64_t)INT64_MAX) : -1;
        if (e && e->input_bytes == ib && (e->n[q] > 0 || e->floor[q] > 0)) {
            double censored = e->floor[q] * (q == 0 ? CENSORED_FACTOR : 1.0);
            out->basis = RAPT_BASIS_EXACT;
            out->value = RAPT__MAX(e->max[q], censored);
            out->safe = RAPT__MAX(e->max[q] * (1 + m->o.exact_margin), censored);
            out->samples = e->n[q];
            out->confidence = (double)e->n[q] / (e->n[q] + 1.0);
            if (e->n[q] == 0)
                out->confidence = 0.5; /* a lower bound only */
            return 0;
        }
    }
    const fitcache *fc;
    int rc = cached_fit(m, k, q, &fc);
    if (rc < 0)
        return rc;
    const rapt_model_fit *fit = &fc->fit;
    if (fit->basis == RAPT_BASIS_FIT && f && f->has_input) {
        double x = (double)f->input_bytes;
        double v = fit->slope * x + fit->intercept;
        out->basis = RAPT_BASIS_FIT;
        out->value = RAPT__MAX(v, 0.0);
        out->safe = RAPT__MAX(v + fit->margin * (RAPT__MAX(v, 0.0) + fc->s0), 0.0);
        out->samples = fit->samples;
        out->confidence = fit->confidence;
        return 0;
    }
    if (fc->n_all > 0) {
        out->basis = RAPT_BASIS_MEDIAN;
        out->value = fc->median;
        out->safe = fc->upper;
        out->samples = fc->n_all;
        out->confidence = confidence(fc->n_all);
    }
    return 0;
}

int rapt_model_predict(rapt_model *m, const char *class_name, const rapt_features *f,
                       rapt_prediction *out)
{
    if (!m || !class_name || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    klass *k = find_class(m, class_name);
    if (!k)
        return 0;
    int rc = estimate(m, k, 0, f, &out->peak);
    if (rc == 0)
        rc = estimate(m, k, 1, f, &out->runtime);
    return rc;
}

int rapt_model_fit_info(rapt_model *m, const char *class_name, rapt_model_qty q,
                        rapt_model_fit *out)
{
    if (!m || !class_name || !out || (q != RAPT_MODEL_PEAK && q != RAPT_MODEL_RUNTIME))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    klass *k = find_class(m, class_name);
    if (!k)
        return 0;
    const fitcache *fc;
    int rc = cached_fit(m, k, (int)q, &fc);
    if (rc == 0)
        *out = fc->fit;
    return rc;
}

unsigned rapt_model_samples(const rapt_model *m, const char *class_name)
{
    const klass *k = m && class_name ? find_class(m, class_name) : NULL;
    return k ? k->count : 0;
}

int rapt_model_load(rapt_model *m, rapt_history *h, const char *class_name, uint64_t last)
{
    if (!m || !h || !class_name)
        return -EINVAL;
    rapt_history_iter *it;
    int rc = rapt_history_iter_open(h, class_name, last ? last : DEFAULT_LOAD, &it);
    if (rc < 0)
        return rc;
    rapt_history_row row;
    int learned = 0;
    while ((rc = rapt_history_iter_next(it, &row)) > 0) {
        int r = rapt_model_observe(m, &row.a);
        if (r < 0) {
            rc = r;
            break;
        }
        learned += r;
    }
    rapt_history_iter_close(it);
    return rc < 0 ? rc : learned;
}
