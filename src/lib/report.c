/* report.c: the report handle, reading the events stream and accumulating what reports need.
 *
 * Owns the handle's lifetime, the bounded line reader, the per-record parsing (each line is
 * parsed with jansson, which reports line and column of malformed JSON and validates UTF-8) and
 * the accumulation into compact per-attempt records, per-run downsampled series and counters.
 * Analysis happens once, in report_analyze.c, when the caller finishes the report.
 *
 * Why jansson and not a hand-written scanner: it is a well-kept Debian package, refuses
 * malformed input precisely, and measured at about 6 us per 420-byte job_end record on the
 * development machine (1.2 s for 200 000 records), which is fast enough to report a 100 000-job
 * run in seconds; the per-line tree it builds is freed before the next line, so memory stays
 * bounded by the longest line.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/report_int.h"

const char *const rapt__r_outcome_names[RAPT__O_N] = {"success", "failed", "retry", "requeued",
                                                      "unfinished"};
const char *const rapt__r_reason_names[RAPT__RS_N] = {
    "exit", "signal", "timeout", "halt", "interrupt", "memory", "oom", "spawn", "unknown"};
const char *const rapt__r_limited_names[RAPT__L_N] = {"none",  "slots", "memory", "pressure",
                                                      "input", "delay", "other"};

void rapt__report_log(const rapt_report *r, rapt_log_level lvl, const char *fmt, ...)
{
    if (!r->opts.log)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    r->opts.log(r->opts.log_userdata, lvl, buf);
}

/* The public functions are specified in rapt/report.h; the comments below give reasons. */
void rapt_report_opts_init(rapt_report_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof(*o));
    o->max_line = RAPT__R_MAX_LINE_DEF;
}

int rapt_report_create(rapt_report **out, const rapt_report_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    rapt_report *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    if (opts)
        r->opts = *opts;
    else
        rapt_report_opts_init(&r->opts);
    if (r->opts.max_line == 0)
        r->opts.max_line = RAPT__R_MAX_LINE_DEF;
    if (r->opts.title) {
        r->title = strdup(r->opts.title);
        if (!r->title) {
            free(r);
            return -ENOMEM;
        }
    }
    r->opts.title = NULL; /* borrowed: only the copy is used from here on */
    r->cur_run = -1;
    r->nstages = 1; /* [0] is the null stage */
    for (unsigned i = 0; i < RAPT__R_STAGES_MAX; i++)
        r->st[i].sla = -1;
    *out = r;
    return 0;
}

/* A run owns copies of its strings: the JSON tree they came from is freed after each line. */
static void free_run(rapt__rrun *run)
{
    free(run->run_id);
    free(run->host);
    free(run->command);
    free(run->version);
    free(run->measure);
    free(run->limit_source);
    free(run->env_class);
    free(run->samples.p);
    free(run->decisions.p);
    for (unsigned i = 0; i < run->nsla_stages; i++)
        free(run->sla_stages[i].name);
    free(run->sla_stages);
}

void rapt_report_destroy(rapt_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nruns; i++)
        free_run(&r->runs[i]);
    free(r->runs);
    for (unsigned i = 0; i < r->nstages; i++)
        free(r->stages[i]);
    for (unsigned s = 0; s < RAPT__R_STAGES_MAX; s++)
        for (unsigned i = 0; i < r->ntop[s]; i++)
            free(r->top[s][i].cmd);
    for (size_t i = 0; i < r->nslas; i++)
        free(r->slas[i].stage_name);
    free(r->slas);
    free(r->att);
    free(r->live);
    free(r->rss);
    free(r->an.slow);
    free(r->title);
    free(r);
}

/* ---- SLAs -------------------------------------------------------------------------------- */

int rapt_report_add_sla(rapt_report *r, const char *stage, double seconds)
{
    if (!r || !isfinite(seconds) || seconds <= 0 || (stage && !*stage))
        return -EINVAL;
    if (r->finished)
        return RAPT_ECLOSED;
    for (size_t i = 0; i < r->nslas; i++) {
        rapt__rsla *s = &r->slas[i];
        if ((!stage && !s->stage_name) ||
            (stage && s->stage_name && !strcmp(stage, s->stage_name))) {
            s->target = seconds;
            return 0;
        }
    }
    if (r->nslas == r->capslas) {
        size_t cap = r->capslas ? r->capslas * 2 : 4;
        rapt__rsla *n = realloc(r->slas, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        r->slas = n;
        r->capslas = cap;
    }
    rapt__rsla *s = &r->slas[r->nslas];
    memset(s, 0, sizeof(*s));
    s->stage = -1;
    s->target = seconds;
    if (stage && !(s->stage_name = strdup(stage)))
        return -ENOMEM;
    r->nslas++;
    return 0;
}

int rapt_report_sla_parse(const char *spec, size_t *stage_len, double *seconds)
{
    if (!spec || !*spec || !stage_len || !seconds)
        return -EINVAL;
    /* The last '=' splits, so a stage named "a=b" can still be given as "a=b=5s"; durations
     * never contain '='. */
    const char *eq = strrchr(spec, '=');
    const char *dur = eq ? eq + 1 : spec;
    if (eq && (eq == spec || !*dur))
        return -EINVAL;
    uint64_t ns;
    int rc = rapt_duration_parse(dur, &ns);
    if (rc < 0)
        return rc;
    if (ns == 0)
        return -EINVAL;
    *stage_len = eq ? (size_t)(eq - spec) : 0;
    *seconds = (double)ns / 1e9;
    return 0;
}

int rapt_report_add_sla_spec(rapt_report *r, const char *spec)
{
    if (!r)
        return -EINVAL;
    if (r->finished)
        return RAPT_ECLOSED;
    size_t len;
    double secs;
    int rc = rapt_report_sla_parse(spec, &len, &secs);
    if (rc < 0)
        return rc;
    if (!len)
        return rapt_report_add_sla(r, NULL, secs);
    char *stage = strndup(spec, len);
    if (!stage)
        return -ENOMEM;
    rc = rapt_report_add_sla(r, stage, secs);
    free(stage);
    return rc;
}

/* ---- stages ------------------------------------------------------------------------------ */

int rapt__report_stage_index(rapt_report *r, const char *name)
{
    if (!name)
        return 0;
    for (unsigned i = 1; i < r->nstages; i++)
        if (!strcmp(r->stages[i], name))
            return (int)i;
    /* The last index is kept for "(other stages)" so a run with thousands of stage names
     * (a column used by mistake, say) cannot grow the tables without bound. */
    if (r->nstages < RAPT__R_STAGES_MAX - 1) {
        char *copy = strdup(name);
        if (!copy)
            return -ENOMEM;
        r->stages[r->nstages] = copy;
        return (int)r->nstages++;
    }
    if (r->nstages == RAPT__R_STAGES_MAX - 1) {
        char *copy = strdup("(other stages)");
        if (!copy)
            return -ENOMEM;
        r->stages[r->nstages++] = copy;
    }
    return RAPT__R_STAGES_MAX - 1;
}

/* ---- the table of started attempts ------------------------------------------------------- */

/* Started attempts are keyed by (run, seq): the attempts of one job never overlap, so at most
 * one is open at a time, and a key is never 0 (the empty marker) because run is stored + 1. */
static uint64_t live_key(unsigned run, uint32_t seq)
{
    return ((uint64_t)run + 1) << 32 | seq; /* never 0, which marks an empty entry */
}

/* MurmurHash3's 64-bit finaliser: consecutive seq numbers, the common case, land far apart.
 * The capacity is a power of two, so the mask is the modulo. */
static size_t live_hash(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

/* Linear probing: an entry lies on the chain from its home slot to the first empty slot. The
 * table is never full (load <= 1/2), so the loop ends. */
static rapt__rlive *live_find(rapt_report *r, uint64_t key)
{
    if (!r->caplive)
        return NULL;
    for (size_t i = live_hash(key, r->caplive);; i = (i + 1) & (r->caplive - 1)) {
        if (r->live[i].key == key)
            return &r->live[i];
        if (r->live[i].key == 0)
            return NULL;
    }
}

/* Doubles the table and reinserts every entry at its new home, which keeps the invariant that
 * backward-shift deletion relies on: every entry is reachable from its home slot. */
static int live_grow(rapt_report *r)
{
    size_t cap = r->caplive ? r->caplive * 2 : 64;
    rapt__rlive *n = calloc(cap, sizeof(*n));
    if (!n)
        return -ENOMEM;
    for (size_t i = 0; i < r->caplive; i++) {
        if (!r->live[i].key)
            continue;
        size_t j = live_hash(r->live[i].key, cap);
        while (n[j].key)
            j = (j + 1) & (cap - 1);
        n[j] = r->live[i];
    }
    free(r->live);
    r->live = n;
    r->caplive = cap;
    return 0;
}

static rapt__rlive *live_put(rapt_report *r, uint64_t key)
{
    rapt__rlive *e = live_find(r, key);
    if (e)
        return e;
    /* Keep the load at most one half so probe chains stay short. */
    if ((r->nlive + 1) * 2 > r->caplive && live_grow(r) < 0)
        return NULL;
    size_t i = live_hash(key, r->caplive);
    while (r->live[i].key)
        i = (i + 1) & (r->caplive - 1);
    memset(&r->live[i], 0, sizeof(r->live[i]));
    r->live[i].key = key;
    r->nlive++;
    return &r->live[i];
}

/* Removes an entry with backward-shift deletion, which keeps every probe chain intact without
 * tombstones. */
static void live_del(rapt_report *r, rapt__rlive *e)
{
    size_t mask = r->caplive - 1;
    size_t i = (size_t)(e - r->live);
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!r->live[j].key)
            break;
        size_t home = live_hash(r->live[j].key, r->caplive);
        /* Move j back into the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            r->live[i] = r->live[j];
            i = j;
        }
    }
    r->live[i].key = 0;
    r->nlive--;
}

/* ---- downsampled series ------------------------------------------------------------------ */

/* NaN marks "no value" in a point, so a merge can tell a missing field from a zero. */
static void point_empty(rapt__rpoint *p, double t)
{
    memset(p, 0, sizeof(*p));
    p->t0 = p->t1 = t;
    p->mem_used_max = NAN;
    p->budget_min = NAN;
}

/* Merging keeps maxima, minima, sums and counts (never means), so points merged in any order
 * and any number of times give what one pass over the raw records would. */
static void point_merge(rapt__rpoint *a, const rapt__rpoint *b)
{
    a->t0 = fmin(a->t0, b->t0);
    a->t1 = fmax(a->t1, b->t1);
    a->raw += b->raw;
    a->running_max = RAPT__MAX(a->running_max, b->running_max);
    if (!isnan(b->mem_used_max))
        a->mem_used_max =
            isnan(a->mem_used_max) ? b->mem_used_max : fmax(a->mem_used_max, b->mem_used_max);
    a->mem_used_sum += b->mem_used_sum;
    a->mem_n += b->mem_n;
    if (!isnan(b->budget_min))
        a->budget_min = isnan(a->budget_min) ? b->budget_min : fmin(a->budget_min, b->budget_min);
    a->cpu_sum += b->cpu_sum;
    a->cpu_n += b->cpu_n;
    for (unsigned i = 0; i < RAPT__L_N; i++)
        a->limited[i] += b->limited[i];
}

/* Appends one raw record's point. Each stored point stands for `stride` raw records; when all
 * RAPT__R_POINTS are used, neighbours are merged pairwise and the stride doubles, so a week-long
 * run costs the same memory as a minute-long one and the points stay evenly spread. */
static int series_add(rapt__rseries *s, const rapt__rpoint *pt)
{
    if (!s->p) {
        s->p = malloc(RAPT__R_POINTS * sizeof(*s->p));
        if (!s->p)
            return -ENOMEM;
        s->stride = 1;
    }
    if (s->n > 0 && s->p[s->n - 1].raw < s->stride) {
        point_merge(&s->p[s->n - 1], pt);
        return 0;
    }
    if (s->n == RAPT__R_POINTS) {
        for (uint32_t i = 0; i < s->n / 2; i++) {
            rapt__rpoint m = s->p[2 * i];
            point_merge(&m, &s->p[2 * i + 1]);
            s->p[i] = m;
        }
        s->n /= 2;
        s->stride *= 2;
        if (s->p[s->n - 1].raw < s->stride) {
            point_merge(&s->p[s->n - 1], pt);
            return 0;
        }
    }
    s->p[s->n++] = *pt;
    return 0;
}

/* ---- field access ------------------------------------------------------------------------ */

/* One record being parsed: the object, the event name, and the first problem found. */
typedef struct rec {
    json_t *o;
    const char *event;
    bool bad;
    char why[160];
} rec;

static void rec_bad(rec *c, const char *key, const char *what)
{
    if (c->bad)
        return;
    c->bad = true;
    snprintf(c->why, sizeof(c->why), "%s: \"%s\": %s", c->event, key, what);
}

/* A number field: true with *out set when present, false when missing or null; a value of
 * another type marks the record bad. */
static bool num(rec *c, const char *key, double *out)
{
    json_t *v = json_object_get(c->o, key);
    if (!v || json_is_null(v))
        return false;
    if (!json_is_number(v)) {
        rec_bad(c, key, "expected a number");
        return false;
    }
    *out = json_number_value(v);
    return true;
}

/* A non-negative number (durations, CPU seconds, percentages). */
static bool nonneg(rec *c, const char *key, double *out)
{
    double v;
    if (!num(c, key, &v))
        return false;
    if (!isfinite(v) || v < 0) {
        rec_bad(c, key, "must be a non-negative number");
        return false;
    }
    *out = v;
    return true;
}

/* A non-negative integer (sizes, counts). Reals with an integral value are accepted, since a
 * writer may print a large size as 1e+09. */
static bool u64f(rec *c, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(c->o, key);
    if (!v || json_is_null(v))
        return false;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0) {
            rec_bad(c, key, "must not be negative");
            return false;
        }
        *out = (uint64_t)i;
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0 && d < 1.8e19) || d != floor(d)) {
            rec_bad(c, key, "expected a non-negative integer");
            return false;
        }
        *out = (uint64_t)d;
        return true;
    }
    rec_bad(c, key, "expected a non-negative integer");
    return false;
}

/* A signed integer (exit codes, signals, version); same contract as num(). */
static bool i64f(rec *c, const char *key, int64_t *out)
{
    json_t *v = json_object_get(c->o, key);
    if (!v || json_is_null(v))
        return false;
    if (!json_is_integer(v)) {
        rec_bad(c, key, "expected an integer");
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

/* A string, borrowed from the record's tree (valid until the line is done); NULL when missing
 * or null, and a wrong type marks the record bad. */
static const char *strf(rec *c, const char *key)
{
    json_t *v = json_object_get(c->o, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        rec_bad(c, key, "expected a string");
        return NULL;
    }
    return json_string_value(v);
}

/* A boolean; same contract as num(). */
static bool boolf(rec *c, const char *key, bool *out)
{
    json_t *v = json_object_get(c->o, key);
    if (!v || json_is_null(v))
        return false;
    if (!json_is_boolean(v)) {
        rec_bad(c, key, "expected true or false");
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* Replaces *dst with a copy of src (NULL clears it). */
static int set_str(char **dst, const char *src)
{
    char *n = NULL;
    if (src && !(n = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = n;
    return 0;
}

/* The index of s in names[0..n): dflt for NULL (a JSON null), -1 for a value not in the table
 * (callers decide whether an unknown value is an error or "unknown"). */
static int lookup(const char *const *names, unsigned n, const char *s, int dflt)
{
    if (!s)
        return dflt;
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(names[i], s))
            return (int)i;
    return -1;
}

/* ---- runs -------------------------------------------------------------------------------- */

/* Appends a run. Runs live until the report is destroyed and are referred to by index (the
 * array may move), which attempts store in 16 bits. Returns NULL when out of memory or runs. */
static rapt__rrun *new_run(rapt_report *r)
{
    if (r->nruns == UINT16_MAX)
        return NULL; /* the run index is 16 bits in the attempt records */
    if (r->nruns == r->caprun) {
        size_t cap = r->caprun ? r->caprun * 2 : 4;
        rapt__rrun *n = realloc(r->runs, cap * sizeof(*n));
        if (!n)
            return NULL;
        r->runs = n;
        r->caprun = cap;
    }
    rapt__rrun *run = &r->runs[r->nruns++];
    memset(run, 0, sizeof(*run));
    run->first = INFINITY;
    run->last = -INFINITY;
    run->started = NAN;
    run->mem_limit = RAPT__R_NONE;
    run->mem_budget = RAPT__R_NONE;
    run->sla_s = NAN;
    run->total_jobs = -1;
    run->end_makespan = NAN;
    run->end_exit = -1;
    r->in.runs = (unsigned)r->nruns;
    return run;
}

/* The run the current record belongs to; records before a stream's first run_start get an
 * implicit run whose base comes from the record itself. */
static rapt__rrun *cur_run(rapt_report *r, double t, double mono, bool have_t, bool have_mono)
{
    if (r->cur_run >= 0)
        return &r->runs[r->cur_run];
    rapt__rrun *run = new_run(r);
    if (!run)
        return NULL;
    run->base = have_t ? t - (have_mono ? mono : 0) : 0;
    r->cur_run = (int)(r->nruns - 1);
    return run;
}

/* ---- records ----------------------------------------------------------------------------- */

static int on_run_start(rapt_report *r, rec *c, double t, double mono)
{
    const char *id = strf(c, "run_id");
    /* The same run twice (a file given twice, or a copy of it): keep the first copy only, so
     * a report never double-counts. */
    if (id) {
        for (size_t i = 0; i < r->nruns; i++) {
            if (r->runs[i].run_id && !strcmp(r->runs[i].run_id, id) && r->runs[i].has_start) {
                rapt__report_log(
                    r, RAPT_LOG_WARN, "%s:%llu: run %s appears again; this copy is ignored",
                    r->cur_name ? r->cur_name : "(input)", (unsigned long long)r->cur_line, id);
                r->cur_run = -2;
                return 0;
            }
        }
    }
    /* Unknown settings stay "unknown" (0 or RAPT__R_NONE); the analysis then falls back to
     * what the attempts show (the highest slot seen, the slots as CPUs). */
    uint64_t slots = 0, cpus = 0, limit, budget;
    int64_t total;
    double sla;
    bool has_slots = u64f(c, "slots", &slots);
    bool has_cpus = u64f(c, "cpus", &cpus);
    bool has_limit = u64f(c, "mem_limit", &limit);
    bool has_budget = u64f(c, "mem_budget", &budget);
    bool has_total = i64f(c, "total_jobs", &total);
    const char *host = strf(c, "host"), *cmd = strf(c, "command"), *ver = strf(c, "rapt_version"),
               *measure = strf(c, "measure"), *src = strf(c, "mem_limit_source"),
               *env = strf(c, "env_class");
    bool has_sla = false;
    json_t *stage_slas = NULL;
    json_t *opt = json_object_get(c->o, "options");
    if (opt && json_is_object(opt)) {
        rec oc = {.o = opt, .event = "run_start.options"};
        has_sla = nonneg(&oc, "sla_s", &sla) && sla > 0;
        stage_slas = json_object_get(opt, "sla_stages");
        if (stage_slas && json_is_null(stage_slas))
            stage_slas = NULL;
        if (stage_slas && !json_is_object(stage_slas))
            rec_bad(&oc, "sla_stages", "expected an object");
        const char *k;
        json_t *v;
        json_object_foreach(stage_slas, k, v)
        {
            if (!*k || !json_is_number(v) || !isfinite(json_number_value(v)) ||
                json_number_value(v) <= 0) {
                rec_bad(&oc, "sla_stages", "expected stage names with targets above zero");
                break;
            }
        }
        if (oc.bad) {
            c->bad = true;
            memcpy(c->why, oc.why, sizeof(c->why));
        }
    } else if (opt && !json_is_null(opt)) {
        rec_bad(c, "options", "expected an object");
    }
    if (c->bad)
        return RAPT_EPARSE;
    rapt__rrun *run = new_run(r);
    if (!run)
        return -ENOMEM;
    r->cur_run = (int)(r->nruns - 1);
    run->has_start = true;
    run->base = t - mono;
    run->started = t;
    run->first = run->last = t;
    run->slots = has_slots && slots <= UINT32_MAX ? (unsigned)slots : 0;
    run->cpus = has_cpus && cpus <= UINT32_MAX ? (unsigned)cpus : 0;
    if (has_limit)
        run->mem_limit = limit;
    if (has_budget)
        run->mem_budget = budget;
    if (has_total)
        run->total_jobs = total;
    if (has_sla)
        run->sla_s = sla;
    /* Per-stage targets (rapt run --sla STAGE=DURATION); as many as there can be stages. */
    size_t nss = stage_slas ? json_object_size(stage_slas) : 0;
    if (nss &&
        !(run->sla_stages = calloc(RAPT__MIN(nss, RAPT__R_STAGES_MAX), sizeof(*run->sla_stages))))
        return -ENOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(stage_slas, k, v)
    {
        if (run->nsla_stages == RAPT__R_STAGES_MAX)
            break;
        rapt__rsla_run *e = &run->sla_stages[run->nsla_stages];
        if (!(e->name = strdup(k)))
            return -ENOMEM;
        e->target = json_number_value(v);
        run->nsla_stages++;
    }
    if (set_str(&run->run_id, id) || set_str(&run->host, host) || set_str(&run->command, cmd) ||
        set_str(&run->version, ver) || set_str(&run->measure, measure) ||
        set_str(&run->limit_source, src) || set_str(&run->env_class, env))
        return -ENOMEM;
    return 0;
}

/* A job_start opens an entry in the table of started attempts. Everything a report needs is in
 * the job_end, except the prediction (and the slot and start of an attempt that never ends):
 * those wait here, so the table holds only the attempts running at the moment. */
static int on_job_start(rapt_report *r, rec *c, rapt__rrun *run, double now)
{
    uint64_t seq = 0, attempt = 1, slot = 0, input = RAPT__R_NONE, pred = RAPT__R_NONE;
    bool has_seq = u64f(c, "seq", &seq);
    u64f(c, "attempt", &attempt);
    u64f(c, "slot", &slot);
    u64f(c, "input_bytes", &input);
    u64f(c, "predicted_peak", &pred);
    const char *stage = strf(c, "stage");
    if (!has_seq && !c->bad)
        rec_bad(c, "seq", "missing");
    if (c->bad)
        return RAPT_EPARSE;
    if (seq > UINT32_MAX || slot > UINT32_MAX) {
        rec_bad(c, seq > UINT32_MAX ? "seq" : "slot", "out of range");
        return RAPT_EPARSE;
    }
    int si = rapt__report_stage_index(r, stage);
    if (si < 0)
        return si;
    rapt__rlive *e = live_put(r, live_key((unsigned)(run - r->runs), (uint32_t)seq));
    if (!e)
        return -ENOMEM;
    e->start = now;
    e->input = input;
    e->predicted = pred;
    e->slot = (uint32_t)slot;
    e->stage = (uint16_t)si;
    e->attempt = (uint16_t)RAPT__MIN(attempt, UINT16_MAX);
    e->used = true;
    if (slot > run->max_slot)
        run->max_slot = (uint32_t)slot;
    return 0;
}

/* Keeps the RAPT__R_TOPK slowest attempts of a stage, with their commands, in a min-heap. */
static int top_add(rapt_report *r, unsigned stage, double wall, size_t idx, const char *cmd)
{
    rapt__rtop *h = r->top[stage];
    unsigned n = r->ntop[stage];
    if (n == RAPT__R_TOPK && wall <= h[0].wall)
        return 0;
    char *copy = strndup(cmd ? cmd : "", RAPT__R_CMD_MAX);
    if (!copy)
        return -ENOMEM;
    /* A cut command must not end inside a UTF-8 sequence: drop a partial last character. */
    size_t cl = strlen(copy);
    if (cl == RAPT__R_CMD_MAX) {
        size_t k = cl;
        while (k > 0 && ((unsigned char)copy[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > 0 && (unsigned char)copy[k - 1] >= 0xC0)
            copy[k - 1] = '\0';
    }
    unsigned i;
    if (n < RAPT__R_TOPK) {
        /* sift up */
        i = r->ntop[stage]++;
        while (i > 0 && h[(i - 1) / 2].wall > wall) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
    } else {
        free(h[0].cmd);
        /* sift down from the root */
        i = 0;
        for (;;) {
            unsigned l = 2 * i + 1, m = i;
            double mv = wall;
            if (l < n && h[l].wall < mv)
                m = l, mv = h[l].wall;
            if (l + 1 < n && h[l + 1].wall < mv)
                m = l + 1;
            if (m == i)
                break;
            h[i] = h[m];
            i = m;
        }
    }
    h[i].wall = wall;
    h[i].att = idx;
    h[i].cmd = copy;
    return 0;
}

/* A job_end becomes one compact attempt record. Required: seq, wall_s, and mono or start (to
 * place it in time); everything else may be null. The open entry of its job_start, if any,
 * supplies the prediction and is closed. */
static int on_job_end(rapt_report *r, rec *c, rapt__rrun *run, double mono, bool has_mono)
{
    uint64_t seq = 0, attempt = 1, slot = 0, peak = RAPT__R_NONE, input = RAPT__R_NONE;
    int64_t exitc = -1, sig = 0;
    double wall = 0, user = NAN, sys = NAN, start = NAN;
    bool oom = false;
    bool has_seq = u64f(c, "seq", &seq);
    u64f(c, "attempt", &attempt);
    u64f(c, "slot", &slot);
    bool has_wall = nonneg(c, "wall_s", &wall);
    nonneg(c, "user_s", &user);
    nonneg(c, "sys_s", &sys);
    u64f(c, "peak_bytes", &peak);
    u64f(c, "input_bytes", &input);
    i64f(c, "exit", &exitc);
    i64f(c, "signal", &sig);
    boolf(c, "oom_kill", &oom);
    bool has_start = num(c, "start", &start);
    const char *stage = strf(c, "stage"), *cmd = strf(c, "cmd");
    const char *outcome_s = strf(c, "outcome"), *reason_s = strf(c, "reason");
    if (!c->bad && !has_seq)
        rec_bad(c, "seq", "missing");
    if (!c->bad && !has_wall)
        rec_bad(c, "wall_s", "missing");
    if (!c->bad && !has_mono && !has_start)
        rec_bad(c, "start", "missing (and no mono)");
    if (!c->bad && (seq > UINT32_MAX || slot > UINT32_MAX))
        rec_bad(c, seq > UINT32_MAX ? "seq" : "slot", "out of range");
    int outcome = lookup(rapt__r_outcome_names, RAPT__O_UNFINISHED, outcome_s, -2);
    if (!c->bad && outcome == -1)
        rec_bad(c, "outcome", "unknown value");
    if (c->bad)
        return RAPT_EPARSE;
    if (outcome == -2) /* null: infer from the exit status */
        outcome = exitc == 0 ? RAPT__O_SUCCESS : RAPT__O_FAILED;
    int reason = lookup(rapt__r_reason_names, RAPT__RS_UNKNOWN, reason_s, RAPT__RS_UNKNOWN);
    if (reason < 0)
        reason = RAPT__RS_UNKNOWN; /* informational only: a newer reason is not an error */
    int si = rapt__report_stage_index(r, stage);
    if (si < 0)
        return si;

    unsigned runi = (unsigned)(run - r->runs);
    uint64_t pred = RAPT__R_NONE;
    rapt__rlive *e = live_find(r, live_key(runi, (uint32_t)seq));
    if (e) {
        pred = e->predicted;
        if (input == RAPT__R_NONE)
            input = e->input;
        live_del(r, e);
    }
    if (r->natt == r->capatt) {
        size_t cap = r->capatt ? r->capatt * 2 : 256;
        rapt__ratt *n = realloc(r->att, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        r->att = n;
        r->capatt = cap;
    }
    rapt__ratt *a = &r->att[r->natt];
    memset(a, 0, sizeof(*a));
    /* The monotonic end minus the wall time places the attempt on the run's own clock; the
     * wall-clock "start" is the fallback for writers without mono. */
    a->start = has_mono ? run->base + mono - wall : start;
    a->wall = wall;
    a->cpu = isnan(user) && isnan(sys) ? NAN : (isnan(user) ? 0 : user) + (isnan(sys) ? 0 : sys);
    a->peak = peak;
    a->input = input;
    a->predicted = pred;
    a->seq = (uint32_t)seq;
    a->slot = (uint32_t)slot;
    a->run = (uint16_t)runi;
    a->stage = (uint16_t)si;
    a->attempt = (uint16_t)RAPT__MIN(attempt, UINT16_MAX);
    a->outcome = (uint8_t)outcome;
    a->reason = (uint8_t)reason;
    a->exit = (int16_t)(exitc < -1 || exitc > 32767 ? -1 : exitc);
    a->signal = (uint8_t)(sig > 0 && sig < 256 ? sig : 0);
    a->oom = oom || reason == RAPT__RS_OOM;
    if (slot > run->max_slot)
        run->max_slot = (uint32_t)slot;
    run->first = fmin(run->first, a->start);
    int rc = top_add(r, (unsigned)si, wall, r->natt, cmd);
    if (rc < 0)
        return rc;
    r->natt++;
    /* Per-job memory areas are drawn only for small runs; past that, stop collecting points. */
    if (!r->rss_off && r->natt + r->nlive > RAPT__R_MEMJOBS_MAX) {
        r->rss_off = true;
        free(r->rss);
        r->rss = NULL;
        r->nrss = r->caprss = 0;
    }
    return 0;
}

/* sample.limited_by and decision.why share one table; a reason this version does not know is
 * kept as "other" rather than refused, since new reasons need no schema bump. */
static int limited_index(const char *s)
{
    int i = lookup(rapt__r_limited_names, RAPT__L_N, s, RAPT__L_NONE);
    return i < 0 ? RAPT__L_OTHER : i;
}

/* A sample is a state that lasts until the next one: it feeds the run's series (what limited
 * admission, memory in use, the budget, CPU) and the whole-report counters. Its per-job RSS
 * list is kept only while the report is small enough to draw one memory area per job. */
static int on_sample(rapt_report *r, rec *c, rapt__rrun *run, double now)
{
    uint64_t running = 0, mem_used = 0, budget = 0, slots = 0;
    double cpu = 0;
    bool has_running = u64f(c, "running", &running);
    bool has_used = u64f(c, "mem_used", &mem_used);
    bool has_budget = u64f(c, "mem_budget", &budget);
    bool has_slots = u64f(c, "slots", &slots);
    bool has_cpu = nonneg(c, "cpu_pct", &cpu);
    const char *lim = strf(c, "limited_by");
    json_t *jobs = json_object_get(c->o, "jobs");
    if (jobs && !json_is_null(jobs) && !json_is_array(jobs))
        rec_bad(c, "jobs", "expected an array");
    if (c->bad)
        return RAPT_EPARSE;
    rapt__rpoint p;
    point_empty(&p, now);
    p.raw = 1;
    p.running_max = has_running ? (uint32_t)RAPT__MIN(running, UINT32_MAX) : 0;
    if (has_used) {
        p.mem_used_max = (double)mem_used;
        p.mem_used_sum = (double)mem_used;
        p.mem_n = 1;
        r->sample_mem_max = fmax(r->sample_mem_max, (double)mem_used);
        r->sample_mem_sum += (double)mem_used;
        r->sample_mem_n++;
    }
    if (has_budget)
        p.budget_min = (double)budget;
    if (has_cpu) {
        p.cpu_sum = cpu;
        p.cpu_n = 1;
    }
    int li = limited_index(lim);
    p.limited[li] = 1;
    r->samples++;
    r->sample_limited[li]++;
    if (has_slots && run->slots == 0 && slots <= UINT32_MAX)
        run->slots = (unsigned)slots;
    if (has_budget && run->mem_budget == RAPT__R_NONE)
        run->mem_budget = budget;
    int rc = series_add(&run->samples, &p);
    if (rc < 0)
        return rc;
    if (r->rss_off || !jobs || !json_is_array(jobs))
        return 0;
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        rec jc = {.o = j, .event = "sample.jobs[]"};
        uint64_t seq, rss;
        if (!json_is_object(j) || !u64f(&jc, "seq", &seq) || !u64f(&jc, "rss", &rss) ||
            seq > UINT32_MAX)
            continue; /* a malformed entry costs the chart a point, not the record */
        if (r->nrss == RAPT__R_RSS_MAX) {
            r->rss_off = true;
            free(r->rss);
            r->rss = NULL;
            r->nrss = r->caprss = 0;
            return 0;
        }
        if (r->nrss == r->caprss) {
            size_t cap = r->caprss ? r->caprss * 2 : 1024;
            rapt__rrss *n = realloc(r->rss, cap * sizeof(*n));
            if (!n)
                return -ENOMEM;
            r->rss = n;
            r->caprss = cap;
        }
        r->rss[r->nrss++] = (rapt__rrss){
            .t = now, .rss = rss, .seq = (uint32_t)seq, .run = (uint16_t)(run - r->runs)};
    }
    return 0;
}

/* Decisions are events, not states. A wait counts for its reason and an admit for "none", so
 * the charts can show what held admission back even for a run without samples. */
static int on_decision(rapt_report *r, rec *c, rapt__rrun *run, double now)
{
    const char *action = strf(c, "action"), *why = strf(c, "why");
    if (c->bad)
        return RAPT_EPARSE;
    rapt__rpoint p;
    point_empty(&p, now);
    p.raw = 1;
    if (action && !strcmp(action, "wait")) {
        int li = limited_index(why);
        p.limited[li] = 1;
        r->decisions_wait[li]++;
    } else {
        p.limited[RAPT__L_NONE] = 1;
        r->decisions_admit++;
    }
    return series_add(&run->decisions, &p);
}

/* run_end's own counts go to the runs table only: the report counts from the attempts, which
 * stays right when run_end is missing or the file was cut and resumed. */
static int on_run_end(rapt_report *r, rec *c, rapt__rrun *run)
{
    uint64_t v;
    double ms;
    int64_t ec;
    if (u64f(c, "jobs", &v))
        run->end_jobs = v;
    if (u64f(c, "succeeded", &v))
        run->end_succeeded = v;
    if (u64f(c, "failed", &v))
        run->end_failed = v;
    if (u64f(c, "retried", &v))
        run->end_retried = v;
    if (u64f(c, "requeued", &v))
        run->end_requeued = v;
    if (u64f(c, "oom_killed", &v))
        run->end_oom = v;
    if (nonneg(c, "makespan_s", &ms))
        run->end_makespan = ms;
    if (i64f(c, "exit_code", &ec))
        run->end_exit = ec;
    const char *reason = strf(c, "reason");
    if (c->bad)
        return RAPT_EPARSE;
    rapt__strlcpy(run->end_reason, reason ? reason : "", sizeof(run->end_reason));
    if (!run->ended)
        r->in.runs_ended++;
    run->ended = true;
    return 0;
}

/* Parses and accumulates one record. On RAPT_EPARSE, why says what was wrong. */
static int ingest(rapt_report *r, const char *line, size_t len, char *why, size_t whylen,
                  int64_t *version)
{
    json_error_t err;
    *version = 0;
    json_t *o = json_loadb(line, len, 0, &err);
    if (!o) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return -ENOMEM;
        snprintf(why, whylen, "malformed JSON at column %d: %s", err.column, err.text);
        return RAPT_EPARSE;
    }
    /* The version is checked before anything else is read: a record of a newer schema may
     * have changed what its fields mean, so none of them is interpreted. */
    int rc = 0;
    rec c = {.o = o, .event = "record"};
    int64_t v = 0;
    double t = 0, mono = 0;
    if (!json_is_object(o)) {
        snprintf(why, whylen, "not a JSON object");
        rc = RAPT_EPARSE;
        goto out;
    }
    if (!i64f(&c, "v", &v) || v < 1) {
        snprintf(why, whylen, "no schema version \"v\" (not a rapt events record)");
        rc = RAPT_EPARSE;
        goto out;
    }
    *version = v;
    if (v > RAPT_REPORT_EVENTS_VERSION) {
        snprintf(why, whylen, "schema version %lld is newer than %d", (long long)v,
                 RAPT_REPORT_EVENTS_VERSION);
        rc = RAPT_ESCHEMA;
        goto out;
    }
    const char *ev = strf(&c, "event");
    if (!ev) {
        snprintf(why, whylen, "no \"event\" (not a rapt events record)");
        rc = RAPT_EPARSE;
        goto out;
    }
    c.event = ev;
    bool has_t = num(&c, "t", &t);
    bool has_mono = nonneg(&c, "mono", &mono);
    if (c.bad) {
        snprintf(why, whylen, "%s", c.why);
        rc = RAPT_EPARSE;
        goto out;
    }
    if (!strcmp(ev, "run_start")) {
        if (!has_t) {
            rec_bad(&c, "t", "missing");
            rc = RAPT_EPARSE;
        } else {
            rc = on_run_start(r, &c, t, has_mono ? mono : 0);
        }
        goto done;
    }
    if (r->cur_run == -2)
        goto out; /* inside a run that was seen before: ignored */
    static const char *const known[] = {"job_start", "job_end", "job_retry", "job_kill",
                                        "decision",  "protect", "sample",    "run_end"};
    int k = lookup(known, RAPT__ARRAY_SIZE(known), ev, -1);
    if (k < 0) {
        r->in.unknown_records++;
        goto out;
    }
    rapt__rrun *run = cur_run(r, t, mono, has_t, has_mono);
    if (!run) {
        rc = -ENOMEM;
        goto out;
    }
    /* A record's time on the run's monotonic clock; records without mono fall back to t. */
    double now = has_mono ? run->base + mono : (has_t ? t : run->base);
    switch (k) {
    case 0: rc = on_job_start(r, &c, run, now); break;
    case 1: rc = on_job_end(r, &c, run, mono, has_mono); break;
    case 2:
    case 3: {
        const char *reason = strf(&c, "reason");
        if (c.bad) {
            rc = RAPT_EPARSE;
            break;
        }
        int ri = lookup(rapt__r_reason_names, RAPT__RS_UNKNOWN, reason, RAPT__RS_UNKNOWN);
        if (ri < 0)
            ri = RAPT__RS_UNKNOWN;
        if (k == 2)
            r->retries[ri]++;
        else
            r->kills[ri]++;
        break;
    }
    case 4: rc = on_decision(r, &c, run, now); break;
    case 5: {
        const char *action = strf(&c, "action");
        if (c.bad)
            rc = RAPT_EPARSE;
        else if (action && !strcmp(action, "requeue"))
            r->protect_requeue++;
        else if (action && !strcmp(action, "suspend"))
            r->protect_suspend++;
        else if (action && !strcmp(action, "resume"))
            r->protect_resume++;
        break;
    }
    case 6: rc = on_sample(r, &c, run, now); break;
    case 7: rc = on_run_end(r, &c, run); break;
    }
    if (rc == 0) {
        run->first = fmin(run->first, now);
        run->last = fmax(run->last, now);
    }
done:
    if (rc == RAPT_EPARSE)
        snprintf(why, whylen, "%s", c.bad ? c.why : "malformed record");
    if (rc == 0)
        r->in.records++;
out:
    json_decref(o);
    return rc;
}

/* Feeds one line, counting (and with `log`, logging the first of each kind of) failures. */
static int feed_one(rapt_report *r, const char *line, size_t len, bool log)
{
    r->cur_line++;
    r->in.lines++;
    char why[200] = "";
    int64_t v = 0;
    int rc = ingest(r, line, len, why, sizeof(why), &v);
    if (v > r->in.newest_version)
        r->in.newest_version = v;
    /* The first problem of each kind is logged as a warning with its place; the rest only at
     * debug level, so a damaged file of a million lines does not flood the caller. Counts and
     * the first place are kept in r->in either way. */
    const char *name = r->cur_name ? r->cur_name : "(input)";
    if (rc == RAPT_EPARSE) {
        r->in.bad_lines++;
        if (!r->in.first_bad_line) {
            r->in.first_bad_line = r->cur_line;
            rapt__strlcpy(r->in.first_bad_file, name, sizeof(r->in.first_bad_file));
            rapt__strlcpy(r->in.first_bad_why, why, sizeof(r->in.first_bad_why));
        }
        if (log)
            rapt__report_log(r, r->logged_bad ? RAPT_LOG_DEBUG : RAPT_LOG_WARN,
                             "%s:%llu: %s; line skipped", name, (unsigned long long)r->cur_line,
                             why);
        r->logged_bad = true;
    } else if (rc == RAPT_ESCHEMA) {
        r->in.newer_records++;
        if (!r->in.first_newer_line) {
            r->in.first_newer_line = r->cur_line;
            rapt__strlcpy(r->in.first_newer_file, name, sizeof(r->in.first_newer_file));
        }
        if (log)
            rapt__report_log(r, r->logged_newer ? RAPT_LOG_DEBUG : RAPT_LOG_WARN,
                             "%s:%llu: %s; records of a newer schema are skipped", name,
                             (unsigned long long)r->cur_line, why);
        r->logged_newer = true;
    }
    return rc;
}

int rapt_report_feed_line(rapt_report *r, const char *line, size_t len)
{
    if (!r || (!line && len))
        return -EINVAL;
    if (r->finished)
        return RAPT_ECLOSED;
    /* The runner may pass the line it wrote, newline included. */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    return feed_one(r, line, len, false);
}

/* A blank line (an editor's extra newline) is neither a record nor an error. */
static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* The end of one line from the reader: feeds it unless it is blank or was too long. */
static int reader_line(rapt_report *r, char *line, size_t len, bool overflow, bool at_eof)
{
    if (overflow) {
        r->cur_line++;
        r->in.lines++;
        r->in.bad_lines++;
        if (!r->in.first_bad_line) {
            r->in.first_bad_line = r->cur_line;
            rapt__strlcpy(r->in.first_bad_file, r->cur_name, sizeof(r->in.first_bad_file));
            snprintf(r->in.first_bad_why, sizeof(r->in.first_bad_why), "line longer than %zu bytes",
                     r->opts.max_line);
        }
        rapt__report_log(r, r->logged_bad ? RAPT_LOG_DEBUG : RAPT_LOG_WARN,
                         "%s:%llu: line longer than %zu bytes; skipped", r->cur_name,
                         (unsigned long long)r->cur_line, r->opts.max_line);
        r->logged_bad = true;
        if (at_eof)
            r->in.truncated = true;
        return 0;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (blank(line, len)) {
        r->cur_line++;
        r->in.lines++;
        return 0;
    }
    int rc = feed_one(r, line, len, true);
    /* A last line without its newline that does not parse is what a crash or a copy in
     * progress leaves behind: say "truncated" rather than just "malformed". */
    if (at_eof && rc == RAPT_EPARSE)
        r->in.truncated = true;
    return rc == -ENOMEM ? rc : 0;
}

int rapt_report_feed_fd(rapt_report *r, int fd, const char *name)
{
    if (!r || fd < 0)
        return -EINVAL;
    if (r->finished)
        return RAPT_ECLOSED;
    enum { CHUNK = 1 << 16 };
    char *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    char *line = NULL;
    size_t len = 0, cap = 0;
    bool overflow = false;
    int rc = 0;
    /* Each stream starts outside any run: its records belong to its own run_start, or to an
     * implicit run, never to the previous file's last run. */
    r->cur_name = name ? name : "(input)";
    r->cur_line = 0;
    r->cur_run = -1;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (n == 0) {
            if (len > 0 || overflow)
                rc = reader_line(r, line, len, overflow, true);
            break;
        }
        const char *p = buf, *end = buf + n;
        while (p < end && rc == 0) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t seg = (size_t)((nl ? nl : end) - p);
            /* Append the segment unless the line already exceeds the limit; an over-long
             * line is dropped as a whole, up to its newline, without growing the buffer. */
            if (!overflow && len + seg > r->opts.max_line) {
                overflow = true;
            } else if (!overflow) {
                if (len + seg + 1 > cap) {
                    size_t ncap = cap ? cap : 4096;
                    while (ncap < len + seg + 1)
                        ncap *= 2;
                    char *nl2 = realloc(line, ncap);
                    if (!nl2) {
                        rc = -ENOMEM;
                        break;
                    }
                    line = nl2;
                    cap = ncap;
                }
                memcpy(line + len, p, seg);
                len += seg;
            }
            if (!nl)
                break;
            rc = reader_line(r, line, len, overflow, false);
            len = 0;
            overflow = false;
            p = nl + 1;
        }
        if (rc < 0)
            break;
    }
    free(buf);
    free(line);
    r->cur_name = NULL;
    return rc;
}

int rapt_report_get_input(const rapt_report *r, rapt_report_input *out)
{
    if (!r || !out)
        return -EINVAL;
    *out = r->in;
    return 0;
}

int rapt_report_finish(rapt_report *r)
{
    if (!r)
        return -EINVAL;
    if (r->finished)
        return 0;
    int rc = rapt__report_analyze(r);
    if (rc < 0)
        return rc;
    r->finished = true;
    return 0;
}

/* The SLA sums cannot double-count: each job is held to exactly one target (its stage's, else
 * the all-jobs one). */
int rapt_report_get_totals(const rapt_report *r, rapt_report_totals *out)
{
    if (!r || !out)
        return -EINVAL;
    if (!r->finished)
        return -EAGAIN;
    const rapt__ranalysis *a = &r->an;
    memset(out, 0, sizeof(*out));
    out->jobs = a->jobs;
    out->succeeded = a->succeeded;
    out->failed = a->failed;
    out->unfinished = a->unfinished;
    out->attempts = a->attempts;
    out->retried = a->retried;
    out->requeued = a->requeued;
    out->oom_killed = a->oom;
    out->makespan_s = a->makespan;
    out->cpu_util = a->cpu_util;
    out->slot_util = a->slot_util;
    out->mem_util = a->mem_util;
    out->bottleneck = a->bottleneck;
    for (size_t i = 0; i < r->nslas; i++) {
        out->sla_violated += r->slas[i].violated;
        out->sla_warned += r->slas[i].warned;
    }
    out->recommendations = a->nrecs;
    return 0;
}

int rapt_report_write(const rapt_report *r, rapt_report_format fmt, FILE *f)
{
    if (!r || !f)
        return -EINVAL;
    if (!r->finished)
        return -EAGAIN;
    if (fmt != RAPT_REPORT_TEXT && fmt != RAPT_REPORT_JSON && fmt != RAPT_REPORT_HTML)
        return -EINVAL;
    /* The renderers write through stdio and check ferror() once at the end; errno, cleared
     * here, then holds the first failed write's cause (ENOSPC, EIO, EPIPE). */
    errno = 0;
    int rc = fmt == RAPT_REPORT_TEXT   ? rapt__report_text(r, f)
             : fmt == RAPT_REPORT_JSON ? rapt__report_json(r, f)
                                       : rapt__report_html(r, f);
    int saved = errno;
    if (rc < 0 && rc != -EIO)
        return rc;
    if (fflush(f) != 0 || ferror(f)) {
        int e = saved ? saved : errno;
        return -(e ? e : EIO);
    }
    return 0;
}

int rapt_report_save(const rapt_report *r, rapt_report_format fmt, const char *path)
{
    if (!r || !path || !*path)
        return -EINVAL;
    if (!r->finished)
        return -EAGAIN;
    rapt__afile af;
    int rc = rapt__afile_open(&af, path);
    if (rc < 0)
        return rc;
    rc = rapt_report_write(r, fmt, af.f);
    if (rc < 0) {
        rapt__afile_abort(&af);
        return rc;
    }
    return rapt__afile_commit(&af);
}
