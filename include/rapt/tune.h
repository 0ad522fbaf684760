/* rapt/tune.h: adaptive concurrency for I/O-bound work, by hill climbing on throughput.
 *
 * When jobs mostly wait (on disks, networks, services), the CPU count says little about how
 * many should run at once; the best level is found by trying. The controller keeps a
 * concurrency *target* within [min, max] (max is the ceiling from -j and the memory budget, and
 * may move at run time) and moves it on the measured throughput: completed jobs per second.
 *
 * The algorithm (docs/tune.md, after the hill climbing of the .NET thread pool, dotnet/runtime
 * PortableThreadPool.HillClimbing.cs, and Hellerstein, Morrison and Eilebrecht, "Optimizing
 * concurrency levels in the .NET ThreadPool", FeBID workshop 2008):
 *   - after each change, wait one job duration for the level to take effect, then measure
 *     throughput over a window of at least min_window_ns, one job duration and
 *     max(min_completions, 2 x target) completions. Throughput is estimated by Little's law, X = L
 * / W: the time-averaged number of running jobs over the mean duration of the jobs that completed
 * in the window. Jobs started together finish in bursts, which makes counting completions in a
 * window jumpy
 *     (+-n); their durations are steady, so L / W is the quieter estimate;
 *   - compare with the window before, at the previous level, through the *marginal efficiency*
 *     e = (dX / X) / (dN / N): 1 means the added jobs each did as much as the others, 0 means
 *     they added nothing. A step up is kept when e >= 0.5; a step down is kept when the loss
 *     is below half a fair share (e < 0.5), because the same throughput with fewer jobs is
 *     better. Otherwise the step is undone and the direction reverses. A verdict within two
 *     standard errors of 0.5 (from the spread of the job durations) lets the window grow, up
 *     to four times, before it is taken;
 *   - the step doubles after each kept step in the same direction and is halved at every
 *     reversal (at least 1), so the target homes in on the knee of the throughput curve and
 *     then holds there (1 to 8 windows) between probes one step either side of it;
 *   - two windows at the same level that differ by more than 30% and three standard errors
 *     mean the workload changed: a fall halves the target at once (as TCP halves its window
 *     on loss), a rise probes upwards;
 *   - a window in which fewer jobs ran than the target (no input, or memory held them back)
 *     says nothing about the target and never raises it.
 *
 * Pure: fed times and counters by the caller, it reads no clock and starts nothing, so it is
 * tested on simulated workloads. A handle is not thread-safe.
 */
#ifndef RAPT_TUNE_H
#define RAPT_TUNE_H

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rapt_tune rapt_tune;

typedef struct rapt_tune_opts {
    unsigned min, max;        /* bounds of the target, 1 <= min <= max */
    unsigned start;           /* first target (default: min) */
    uint64_t min_window_ns;   /* shortest measurement window (default 1 s) */
    unsigned min_completions; /* completions a window needs (default 10) */
    uint64_t max_settle_ns;   /* longest wait after a change (default 60 s) */
} rapt_tune_opts;

RAPT_API void rapt_tune_opts_init(rapt_tune_opts *o);

/* Returns 0, -EINVAL (bad bounds) or -ENOMEM. Free with rapt_tune_destroy(). */
RAPT_API int rapt_tune_create(rapt_tune **out, const rapt_tune_opts *o, uint64_t now_ns);
RAPT_API void rapt_tune_destroy(rapt_tune *t); /* accepts NULL */

/* Tells the controller how many jobs run now. Call it whenever that number changes and on a
 * timer (e.g. every 100 ms): decisions are taken here. Returns the target, which may have
 * changed. */
RAPT_API unsigned rapt_tune_update(rapt_tune *t, uint64_t now_ns, unsigned running);

/* Records one job that completed at now_ns after wall_s seconds (successful or not: what matters
 * is how long it held its slot). Call rapt_tune_update() after it with the new running count. */
RAPT_API void rapt_tune_complete(rapt_tune *t, uint64_t now_ns, double wall_s);

/* The current target. */
RAPT_API unsigned rapt_tune_target(const rapt_tune *t);

/* Moves the bounds (e.g. the memory ceiling changed); the target is clamped at once and the
 * current measurement restarts. Returns 0 or -EINVAL. */
RAPT_API int rapt_tune_set_bounds(rapt_tune *t, unsigned min, unsigned max, uint64_t now_ns);

/* What the controller last did, for --explain and the events stream. */
typedef struct rapt_tune_state {
    unsigned target;
    int direction; /* +1 or -1: the next probe */
    unsigned step;
    double throughput; /* jobs/s of the last completed window, 0 before the first */
    double efficiency; /* of the last decision (NaN before the first) */
    unsigned decisions;
} rapt_tune_state;

RAPT_API void rapt_tune_get_state(const rapt_tune *t, rapt_tune_state *out);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_TUNE_H */
