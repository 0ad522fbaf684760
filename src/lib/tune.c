/* tune.c: the throughput hill climber (see rapt/tune.h and docs/tune.md).
 *
 * Owns one state machine: SETTLE after each change of target, then MEASURE a window, then a
 * decision that keeps or undoes the last step. The caller's clock and counters are its only
 * inputs, so a simulated workload drives it in tests exactly as a live run does.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rapt/tune.h"

#define NS 1000000000.0

/* A step is kept when the jobs it added did at least this share of a fair share of work. */
#define KEEP_EFFICIENCY 0.5
/* Windows spent at a level after an undone step: doubles with each failed probe, up to this. */
#define MAX_HOLDS 8u
/* Two windows at one level whose throughput differs by more than this share, and by more than
 * three times the window's own noise, mean the workload changed. */
#define CHANGE 0.3
/* A window whose verdict is within two standard errors of the threshold grows, up to this many
 * times its minimum length. */
#define EXTEND 4.0

typedef enum phase { SETTLE, MEASURE } phase;

struct rapt_tune {
    rapt_tune_opts o;
    unsigned target;
    int dir;
    unsigned step;
    phase ph;
    uint64_t settle_end;
    /* The measurement window. */
    uint64_t w_start, last_ns;
    unsigned last_running;
    double run_integral; /* integral of running over the window, job-seconds */
    double wall_sum;     /* durations of jobs completed in the window */
    double wall_sq;      /* and their squares, for the noise of the mean */
    unsigned done;
    /* The previous window: its level and throughput. */
    bool have_prev;
    unsigned prev_n;
    double prev_x;
    double prev_noise; /* relative standard error of prev_x */
    unsigned holds, holds_left;
    double job_s; /* estimated job duration, seconds (0 unknown) */
    double last_x, last_e;
    unsigned decisions;
};

void rapt_tune_opts_init(rapt_tune_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->min = 1;
    o->max = 1;
    o->min_window_ns = 1000000000ull;
    o->min_completions = 10;
    o->max_settle_ns = 60ull * 1000000000ull;
}

static unsigned clampu(unsigned v, unsigned lo, unsigned hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void start_settle(rapt_tune *t, uint64_t now)
{
    /* One job duration lets jobs started at the old level finish and the new level fill up;
     * before the first estimate, one minimum window. */
    double wait = t->job_s > 0 ? t->job_s * NS : (double)t->o.min_window_ns;
    wait = RAPT__MIN(wait, (double)t->o.max_settle_ns);
    t->ph = SETTLE;
    t->settle_end = now + (uint64_t)wait;
}

static void start_window(rapt_tune *t, uint64_t now)
{
    t->ph = MEASURE;
    t->w_start = now;
    t->run_integral = 0;
    t->wall_sum = 0;
    t->wall_sq = 0;
    t->done = 0;
}

int rapt_tune_create(rapt_tune **out, const rapt_tune_opts *o, uint64_t now_ns)
{
    if (!out || !o || o->min == 0 || o->max < o->min || o->min_completions == 0)
        return -EINVAL;
    *out = NULL;
    rapt_tune *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->o = *o;
    if (t->o.min_window_ns == 0)
        t->o.min_window_ns = 1000000000ull;
    t->target = clampu(o->start ? o->start : o->min, o->min, o->max);
    t->dir = +1;
    t->step = 1;
    t->holds = 1;
    t->last_ns = now_ns;
    t->last_e = NAN;
    start_settle(t, now_ns);
    *out = t;
    return 0;
}

void rapt_tune_destroy(rapt_tune *t)
{
    free(t);
}

unsigned rapt_tune_target(const rapt_tune *t)
{
    return t ? t->target : 0;
}

void rapt_tune_get_state(const rapt_tune *t, rapt_tune_state *out)
{
    memset(out, 0, sizeof(*out));
    if (!t)
        return;
    out->target = t->target;
    out->direction = t->dir;
    out->step = t->step;
    out->throughput = t->last_x;
    out->efficiency = t->last_e;
    out->decisions = t->decisions;
}

/* Adds running * dt to the window's integral. */
static void integrate(rapt_tune *t, uint64_t now)
{
    if (now > t->last_ns) {
        if (t->ph == MEASURE && now > t->w_start) {
            uint64_t from = RAPT__MAX(t->last_ns, t->w_start);
            t->run_integral += (double)t->last_running * (double)(now - from) / NS;
        }
        t->last_ns = now;
    }
}

void rapt_tune_complete(rapt_tune *t, uint64_t now_ns, double wall_s)
{
    if (!t || !(wall_s >= 0) || !isfinite(wall_s))
        return;
    integrate(t, now_ns);
    if (t->ph == MEASURE) {
        t->done++;
        t->wall_sum += wall_s;
        t->wall_sq += wall_s * wall_s;
    }
}

/* Moves the target by the current step in the current direction and starts settling. */
static void move(rapt_tune *t, uint64_t now)
{
    long next = (long)t->target + t->dir * (long)t->step;
    unsigned n = clampu(next < 1 ? 1u : (unsigned)next, t->o.min, t->o.max);
    if (n == t->target) {
        /* At a bound: probe the other way next time, after a window here. */
        t->dir = -t->dir;
        t->step = 1;
        t->holds_left = 1;
    }
    t->target = n;
    start_settle(t, now);
}

/* Undoes the last step: back to the previous level, reverse, smaller step, and stay there for
 * a few windows (more after each failed probe) so a level at the optimum is held most of the
 * time instead of being left every other window. */
static void undo(rapt_tune *t, uint64_t now)
{
    t->target = clampu(t->prev_n, t->o.min, t->o.max);
    t->dir = -t->dir;
    t->step = RAPT__MAX(1u, t->step / 2);
    t->holds_left = t->holds;
    t->holds = RAPT__MIN(MAX_HOLDS, t->holds * 2);
    start_settle(t, now);
}

/* Concludes a window that has its minimum length (need_s seconds) and completions. Returns
 * without a decision, letting the window grow, when the answer is within the noise. */
static void decide(rapt_tune *t, uint64_t now, double need_s)
{
    double elapsed = (double)(now - t->w_start) / NS; /* > 0: update() checked the window */
    double L = t->run_integral / elapsed;
    double W = t->wall_sum / t->done;
    double x = W > 0 ? L / W : (double)t->done / elapsed;
    unsigned n = t->target;
    /* Fewer jobs ran than the target (the input ran dry, or memory held them back): the window
     * says nothing about this level, neither as a result nor as a baseline. Measure again. */
    if (L < (double)n - 0.5) {
        t->last_e = NAN;
        start_window(t, now);
        return;
    }
    /* The relative noise of this window's estimate: the spread of the durations over the square
     * root of their number (the standard error of W / W). Steady jobs give almost none; jobs
     * of exponential length with 24 completions give 0.2. */
    double var = t->done > 1 ? (t->wall_sq - t->wall_sum * W) / (t->done - 1) : 0;
    double noise = W > 0 && var > 0 ? sqrt(var) / W / sqrt((double)t->done) : 0;
    double change = RAPT__MAX(CHANGE, 3 * sqrt(noise * noise + t->prev_noise * t->prev_noise));
    /* Too close to call: measure longer, up to EXTEND windows, then decide as the rule says. */
    bool may_extend = elapsed < EXTEND * need_s;
    if (t->have_prev && t->prev_n != n && t->holds_left == 0 && may_extend) {
        double dn0 = ((double)n - (double)t->prev_n) / (double)t->prev_n;
        double dx0 = t->prev_x > 0 ? (x - t->prev_x) / t->prev_x : 0;
        double e_noise = sqrt(noise * noise + t->prev_noise * t->prev_noise) / fabs(dn0);
        if (fabs(dx0 / dn0 - KEEP_EFFICIENCY) < 2 * e_noise)
            return;
    }
    t->job_s = W;
    t->last_x = x;
    t->decisions++;
    if (t->have_prev && t->prev_n == n && t->prev_x > 0 &&
        (x < t->prev_x * (1 - change) || x > t->prev_x * (1 + change))) {
        /* The same level, a clearly different throughput: the workload or the machine changed
         * under us (.NET's "change point"). Stop holding and probe at once: when throughput
         * fell, halve the level first, as TCP halves its window on loss, because staying far
         * beyond a knee that moved down makes every window long and every step slow; when it
         * rose, probe upwards one step. */
        t->dir = x < t->prev_x ? -1 : +1;
        t->step = t->dir < 0 ? RAPT__MAX(1u, n / 2) : 1;
        t->holds = 1;
        t->holds_left = 0;
        t->prev_x = x;
        t->prev_noise = noise;
        t->last_e = NAN;
        move(t, now);
        return;
    }
    if (!t->have_prev || t->holds_left > 0 || t->prev_n == n) {
        /* A baseline at this level: the first window, or a hold after an undone step. */
        t->have_prev = true;
        t->prev_n = n;
        t->prev_x = x;
        t->prev_noise = noise;
        t->last_e = NAN;
        if (t->holds_left > 0 && --t->holds_left > 0) {
            start_window(t, now);
            return;
        }
        move(t, now);
        return;
    }
    /* Marginal efficiency of the step from prev_n to n. Going down, dn and dx are both
     * negative when throughput fell, so e is then the (positive) share of a fair share the
     * removed jobs were doing. */
    double dn = ((double)n - (double)t->prev_n) / (double)t->prev_n;
    double dx = t->prev_x > 0 ? (x - t->prev_x) / t->prev_x : (x > 0 ? dn : 0);
    double e = dx / dn;
    t->last_e = e;
    bool up = n > t->prev_n;
    /* Up: keep when the added jobs pulled at least half their weight. Down: keep when the
     * removed ones were pulling less than half, since fewer jobs for nearly the same throughput
     * is the better level. */
    bool keep = up ? e >= KEEP_EFFICIENCY : e < KEEP_EFFICIENCY;
    if (!keep) {
        undo(t, now);
        return;
    }
    t->prev_n = n;
    t->prev_x = x;
    t->prev_noise = noise;
    t->holds = 1;
    t->step = RAPT__MIN(t->step * 2, RAPT__MAX(1u, n / 2));
    move(t, now);
}

unsigned rapt_tune_update(rapt_tune *t, uint64_t now_ns, unsigned running)
{
    if (!t)
        return 0;
    integrate(t, now_ns);
    t->last_running = running;
    if (t->ph == SETTLE) {
        if (now_ns >= t->settle_end)
            start_window(t, now_ns);
        return t->target;
    }
    /* A caller's clock that stepped back counts as no time passing. */
    uint64_t elapsed = now_ns > t->w_start ? now_ns - t->w_start : 0;
    double need = RAPT__MAX((double)t->o.min_window_ns, t->job_s * NS);
    if ((double)elapsed >= need && t->done >= RAPT__MAX(t->o.min_completions, 2 * t->target))
        decide(t, now_ns, need / NS);
    return t->target;
}

int rapt_tune_set_bounds(rapt_tune *t, unsigned min, unsigned max, uint64_t now_ns)
{
    if (!t || min == 0 || max < min)
        return -EINVAL;
    integrate(t, now_ns);
    t->o.min = min;
    t->o.max = max;
    unsigned n = clampu(t->target, min, max);
    if (n != t->target) {
        t->target = n;
        /* The old baseline was measured at a level that may no longer be allowed. */
        t->have_prev = false;
        t->step = 1;
        start_settle(t, now_ns);
    }
    return 0;
}
