/* test_tune.c: the throughput hill climber on simulated I/O-bound workloads where the best
 * concurrency is known.
 *
 * The simulator is a processor-sharing server: each job needs D seconds of work when alone;
 * with k jobs running the server delivers S(k) job-seconds of work per second, shared equally.
 * S(k) = k up to the knee K (jobs that mostly wait do not slow each other), then flat (a
 * saturated disk) or falling (thrashing). Throughput is S(k) / D, so the best level is K.
 * Time advances in 10 ms ticks; everything is deterministic. Figures are printed as
 * "tune: ..." for docs/tune.md. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "rapt/tune.h"

#define S_NS 1000000000ull
#define TICK (10 * 1000000ull)
#define MAXJ 256

typedef struct sim {
    double knee;        /* K */
    double decline;     /* beyond K: S(k) = K - decline * (k - K), at least K / 4 */
    double mean_work;   /* D */
    bool random_work;   /* exponential work instead of exactly D */
    unsigned input_cap; /* jobs available at once (0 = unlimited), for a dry input */
    uint64_t rng;
} sim;

static double uni(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return ((double)((*s * 2685821657736338717ull) >> 11) + 0.5) / 9007199254740992.0;
}

static double service(const sim *m, unsigned k)
{
    if (k <= m->knee)
        return k;
    return fmax(m->knee / 4, m->knee - m->decline * (k - m->knee));
}

typedef struct result {
    double mean_target;  /* over the second half */
    double share_near;   /* of time in the second half with |target - K| <= 1 */
    double throughput;   /* jobs/s over the second half */
    unsigned max_target; /* over the whole run */
    unsigned final_target;
} result;

/* Runs `secs` simulated seconds; knee_at/knee2 optionally move the knee mid-run. */
static result run(sim *m, rapt_tune_opts *o, double secs, double knee_at, double knee2)
{
    rapt_tune *t;
    ck_assert_int_eq(rapt_tune_create(&t, o, 0), 0);
    double left[MAXJ], started[MAXJ];
    unsigned k = 0;
    result r = {0};
    double half = secs / 2, sum_target = 0, near = 0, done_late = 0, ticks_late = 0;
    uint64_t ticks = (uint64_t)(secs * S_NS / TICK);
    for (uint64_t i = 1; i <= ticks; i++) {
        uint64_t now = i * TICK;
        double now_s = (double)now / S_NS;
        if (knee_at > 0 && now_s >= knee_at)
            m->knee = knee2;
        /* Advance running jobs by this tick's share of the service. */
        double rate = k ? service(m, k) / k : 0;
        for (unsigned j = 0; j < k;) {
            left[j] -= rate * (double)TICK / S_NS;
            if (left[j] <= 0) {
                rapt_tune_complete(t, now, now_s - started[j]);
                if (now_s > half)
                    done_late++;
                left[j] = left[k - 1];
                started[j] = started[k - 1];
                k--;
            } else {
                j++;
            }
        }
        unsigned target = rapt_tune_update(t, now, k);
        unsigned cap = m->input_cap ? m->input_cap : MAXJ;
        while (k < target && k < cap) {
            left[k] = m->random_work ? -m->mean_work * log(uni(&m->rng)) : m->mean_work;
            started[k] = now_s;
            k++;
        }
        target = rapt_tune_update(t, now, k);
        r.max_target = target > r.max_target ? target : r.max_target;
        if (now_s > half) {
            sum_target += target;
            near += fabs((double)target - m->knee) <= 1.0;
            ticks_late++;
        }
    }
    r.mean_target = sum_target / ticks_late;
    r.share_near = near / ticks_late;
    r.throughput = done_late / (secs - half);
    r.final_target = rapt_tune_target(t);
    rapt_tune_destroy(t);
    return r;
}

static rapt_tune_opts opts(unsigned min, unsigned max, unsigned start)
{
    rapt_tune_opts o;
    rapt_tune_opts_init(&o);
    o.min = min;
    o.max = max;
    o.start = start;
    return o;
}

static void report(const char *name, const sim *m, const result *r)
{
    printf("tune: %-26s knee %2.0f | mean target %5.2f | time within 1 of knee %3.0f%% | "
           "throughput %5.2f/s of best %5.2f/s\n",
           name, m->knee, r->mean_target, 100 * r->share_near, r->throughput,
           service(m, (unsigned)m->knee) / m->mean_work);
    fflush(stdout);
}

START_TEST(finds_the_knee_of_a_flat_curve)
{
    sim m = {.knee = 12, .decline = 0, .mean_work = 1};
    rapt_tune_opts o = opts(1, 64, 2);
    result r = run(&m, &o, 600, 0, 0);
    report("flat after knee 12", &m, &r);
    ck_assert(r.mean_target >= 11 && r.mean_target <= 13.5);
    ck_assert(r.share_near >= 0.7);
    ck_assert(r.throughput >= 0.9 * 12);
}
END_TEST

START_TEST(finds_the_knee_of_a_falling_curve)
{
    sim m = {.knee = 8, .decline = 0.5, .mean_work = 2};
    rapt_tune_opts o = opts(1, 64, 1);
    result r = run(&m, &o, 900, 0, 0);
    report("falling after knee 8", &m, &r);
    ck_assert(r.mean_target >= 7 && r.mean_target <= 9);
    ck_assert(r.share_near >= 0.7);
    ck_assert(r.throughput >= 0.9 * 8 / 2);
}
END_TEST

START_TEST(noisy_job_lengths)
{
    sim m = {.knee = 12, .decline = 0.25, .mean_work = 1, .random_work = true, .rng = 77};
    rapt_tune_opts o = opts(1, 64, 2);
    result r = run(&m, &o, 1200, 0, 0);
    report("random lengths, knee 12", &m, &r);
    ck_assert(r.mean_target >= 9 && r.mean_target <= 15);
    ck_assert(r.throughput >= 0.8 * 12);
}
END_TEST

START_TEST(stays_under_the_ceiling)
{
    sim m = {.knee = 40, .decline = 0, .mean_work = 1};
    rapt_tune_opts o = opts(1, 6, 1);
    result r = run(&m, &o, 300, 0, 0);
    ck_assert_uint_le(r.max_target, 6);
    ck_assert_uint_eq(r.final_target, 6);
    ck_assert(r.throughput >= 0.95 * 6);
}
END_TEST

START_TEST(follows_a_knee_that_moves)
{
    sim m = {.knee = 12, .decline = 0.5, .mean_work = 1};
    rapt_tune_opts o = opts(1, 64, 2);
    result r = run(&m, &o, 900, 300, 4);
    report("knee 12 then 4 at 300 s", &m, &r);
    ck_assert(r.mean_target >= 3 && r.mean_target <= 6);
}
END_TEST

START_TEST(a_dry_input_does_not_raise_the_target)
{
    /* Only three jobs are ever available: measurements at a target of 4 or more say nothing. */
    sim m = {.knee = 12, .decline = 0, .mean_work = 1, .input_cap = 3};
    rapt_tune_opts o = opts(1, 64, 2);
    result r = run(&m, &o, 300, 0, 0);
    ck_assert_uint_le(r.max_target, 4);
}
END_TEST

START_TEST(bounds_move_at_run_time)
{
    rapt_tune_opts o = opts(2, 32, 20);
    rapt_tune *t;
    ck_assert_int_eq(rapt_tune_create(&t, &o, 0), 0);
    ck_assert_uint_eq(rapt_tune_target(t), 20);
    /* The memory ceiling fell to 5 slots: the target follows at once. */
    ck_assert_int_eq(rapt_tune_set_bounds(t, 2, 5, S_NS), 0);
    ck_assert_uint_eq(rapt_tune_target(t), 5);
    ck_assert_int_eq(rapt_tune_set_bounds(t, 6, 5, S_NS), -EINVAL);
    rapt_tune_state st;
    rapt_tune_get_state(t, &st);
    ck_assert_uint_eq(st.target, 5);
    ck_assert_uint_eq(st.decisions, 0);
    rapt_tune_destroy(t);
    o = opts(0, 4, 1);
    ck_assert_int_eq(rapt_tune_create(&t, &o, 0), -EINVAL);
    rapt_tune_destroy(NULL);
}
END_TEST

static Suite *tune_suite(void)
{
    Suite *s = suite_create("tune");
    RAPT_TCASE(s, finds_the_knee_of_a_flat_curve, 60);
    RAPT_TCASE(s, finds_the_knee_of_a_falling_curve, 60);
    RAPT_TCASE(s, noisy_job_lengths, 60);
    RAPT_TCASE(s, stays_under_the_ceiling, 60);
    RAPT_TCASE(s, follows_a_knee_that_moves, 60);
    RAPT_TCASE(s, a_dry_input_does_not_raise_the_target, 60);
    RAPT_TCASE(s, bounds_move_at_run_time, 10);
    return s;
}

RAPT_TEST_MAIN(tune_suite)
