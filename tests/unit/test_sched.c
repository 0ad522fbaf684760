/* test_sched.c: every ordering policy against a brute-force reference, best fit for pack,
 * requeue, large queues, and the bypass rule that keeps a job from waiting forever. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "rapt/sched.h"

#define S (1000000000ull)

static rapt_sched *make(rapt_sched_order order, uint64_t window)
{
    rapt_sched_opts o;
    rapt_sched_opts_init(&o);
    o.order = order;
    o.bypass_window_ns = window;
    rapt_sched *s;
    ck_assert_int_eq(rapt_sched_create(&s, &o), 0);
    return s;
}

static rapt_sched_job job(uint64_t seq, double prio, uint64_t deadline, double runtime,
                          uint64_t peak)
{
    rapt_sched_job j = {
        .seq = seq, .priority = prio, .deadline_ns = deadline, .runtime_s = runtime, .peak = peak};
    return j;
}

/* ---- a brute-force reference: scan everything, apply the same documented rules ----------- */

typedef struct ref {
    rapt_sched_job j[4096];
    uint64_t enq[4096];
    size_t n;
    rapt_sched_order order;
    uint64_t window, last;
} ref;

/* True when a goes before b under the policy (keys, then seq). */
static bool before(rapt_sched_order o, const rapt_sched_job *a, const rapt_sched_job *b)
{
    double ka = 0, kb = 0;
    switch (o) {
    case RAPT_ORDER_INPUT: break;
    case RAPT_ORDER_PRIORITY: ka = -a->priority, kb = -b->priority; break;
    case RAPT_ORDER_DEADLINE:
        ka = a->deadline_ns ? (double)a->deadline_ns : INFINITY;
        kb = b->deadline_ns ? (double)b->deadline_ns : INFINITY;
        break;
    case RAPT_ORDER_SJF:
        ka = a->runtime_s >= 0 ? a->runtime_s : -INFINITY;
        kb = b->runtime_s >= 0 ? b->runtime_s : -INFINITY;
        break;
    case RAPT_ORDER_LPT:
        ka = a->runtime_s >= 0 ? -a->runtime_s : -INFINITY;
        kb = b->runtime_s >= 0 ? -b->runtime_s : -INFINITY;
        break;
    case RAPT_ORDER_PACK: /* larger peak first, then older */
        ka = -(double)a->peak, kb = -(double)b->peak;
        break;
    }
    if (ka != kb)
        return ka < kb;
    return a->seq < b->seq;
}

static int ref_pop(ref *r, uint64_t now, uint64_t free_bytes, rapt_sched_job *out, bool *aged)
{
    if (r->n == 0)
        return -ENOENT;
    long c = -1;
    for (size_t i = 0; i < r->n; i++) {
        if (r->order == RAPT_ORDER_PACK && free_bytes != UINT64_MAX && r->j[i].peak > free_bytes)
            continue;
        if (c < 0 || before(r->order, &r->j[i], &r->j[c]))
            c = (long)i;
    }
    size_t old = 0; /* the arrays are kept in arrival order */
    uint64_t c_arr = c >= 0 ? r->enq[c] : (now > r->last ? now : r->last);
    *aged = false;
    if ((c < 0 || (size_t)c != old) && r->window != UINT64_MAX && c_arr > r->enq[old] &&
        c_arr - r->enq[old] > r->window) {
        *aged = true;
        if (r->order == RAPT_ORDER_PACK && r->j[old].peak > free_bytes)
            return -EAGAIN;
        c = (long)old;
    }
    if (c < 0)
        return -EAGAIN;
    *out = r->j[c];
    memmove(&r->j[c], &r->j[c + 1], (r->n - (size_t)c - 1) * sizeof(r->j[0]));
    memmove(&r->enq[c], &r->enq[c + 1], (r->n - (size_t)c - 1) * sizeof(r->enq[0]));
    r->n--;
    return 0;
}

static void ref_push(ref *r, const rapt_sched_job *j, uint64_t now)
{
    r->last = now > r->last ? now : r->last;
    r->j[r->n] = *j;
    r->enq[r->n] = r->last;
    r->n++;
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Random pushes and pops, compared with the reference after every operation. */
static void cross_check(rapt_sched_order order, uint64_t window, uint64_t seed)
{
    rapt_sched *s = make(order, window);
    static ref r;
    memset(&r, 0, sizeof(r));
    r.order = order;
    r.window = window;
    uint64_t now = 0, seq = 0;
    for (int step = 0; step < 6000; step++) {
        now += lcg(&seed) % (3 * S);
        if (lcg(&seed) % 100 < 55 && r.n < 4000) {
            /* Few distinct values, so ties (broken by seq) are common. */
            rapt_sched_job j =
                job(++seq, (double)(lcg(&seed) % 5), lcg(&seed) % 4 * 10 * S,
                    lcg(&seed) % 7 == 0 ? -1 : (double)(lcg(&seed) % 6), lcg(&seed) % 8 * 100);
            ck_assert_int_eq(rapt_sched_push(s, &j, now), 0);
            ref_push(&r, &j, now);
        } else {
            uint64_t free_bytes = lcg(&seed) % 10 == 0 ? UINT64_MAX : lcg(&seed) % 900;
            rapt_sched_job a, b;
            rapt_sched_pick pick;
            bool aged;
            int ra = rapt_sched_pop(s, now, free_bytes, &a, &pick);
            int rb = ref_pop(&r, now, free_bytes, &b, &aged);
            ck_assert_msg(ra == rb, "step %d: %d vs reference %d", step, ra, rb);
            if (ra == 0) {
                ck_assert_msg(a.seq == b.seq, "step %d (%s): seq %llu vs reference %llu", step,
                              rapt_sched_order_name(order), (unsigned long long)a.seq,
                              (unsigned long long)b.seq);
                ck_assert(pick.aged == aged);
            }
        }
        ck_assert_uint_eq(rapt_sched_size(s), r.n);
    }
    rapt_sched_destroy(s);
}

START_TEST(every_policy_matches_the_reference)
{
    for (int o = RAPT_ORDER_INPUT; o <= RAPT_ORDER_PACK; o++) {
        cross_check((rapt_sched_order)o, UINT64_MAX, 1 + (uint64_t)o);
        cross_check((rapt_sched_order)o, 60 * S, 100 + (uint64_t)o);
    }
}
END_TEST

START_TEST(policies_on_a_small_batch)
{
    /* seq: priority, deadline, runtime, peak */
    rapt_sched_job js[] = {
        job(1, 1, 0, 5, 100),     job(2, 3, 30 * S, 1, 300), job(3, 2, 10 * S, -1, 250),
        job(4, 3, 20 * S, 9, 50), job(5, 0, 0, 2, 300),
    };
    struct {
        rapt_sched_order o;
        uint64_t want[5];
    } cases[] = {
        {RAPT_ORDER_INPUT, {1, 2, 3, 4, 5}},
        {RAPT_ORDER_PRIORITY, {2, 4, 3, 1, 5}},
        {RAPT_ORDER_DEADLINE, {3, 4, 2, 1, 5}},
        {RAPT_ORDER_SJF, {3, 2, 5, 1, 4}}, /* 3 has no prediction: measured first */
        {RAPT_ORDER_LPT, {3, 4, 1, 5, 2}},
        {RAPT_ORDER_PACK, {2, 5, 3, 1, 4}}, /* ample memory: largest first, oldest on ties */
    };
    for (size_t c = 0; c < RAPT__ARRAY_SIZE(cases); c++) {
        rapt_sched *s = make(cases[c].o, RAPT_SCHED_DEFAULT_BYPASS_NS);
        for (size_t i = 0; i < 5; i++)
            ck_assert_int_eq(rapt_sched_push(s, &js[i], 0), 0);
        for (size_t i = 0; i < 5; i++) {
            rapt_sched_job out;
            ck_assert_int_eq(rapt_sched_pop(s, 5 * S, UINT64_MAX, &out, NULL), 0);
            ck_assert_msg(out.seq == cases[c].want[i], "%s: position %zu is %llu",
                          rapt_sched_order_name(cases[c].o), i, (unsigned long long)out.seq);
        }
        rapt_sched_job out;
        ck_assert_int_eq(rapt_sched_pop(s, 0, 0, &out, NULL), -ENOENT);
        rapt_sched_destroy(s);
    }
}
END_TEST

START_TEST(pack_is_best_fit)
{
    rapt_sched *s = make(RAPT_ORDER_PACK, RAPT_SCHED_DEFAULT_BYPASS_NS);
    uint64_t peaks[] = {100, 300, 250, 50, 250};
    for (uint64_t i = 0; i < 5; i++) {
        rapt_sched_job j = job(i + 1, 0, 0, -1, peaks[i]);
        ck_assert_int_eq(rapt_sched_push(s, &j, 0), 0);
    }
    rapt_sched_job out;
    ck_assert_int_eq(rapt_sched_peek(s, 0, 260, &out, NULL), 0);
    ck_assert_uint_eq(out.seq, 3); /* 250 fits 260 best; seq 3 is older than seq 5 */
    ck_assert_int_eq(rapt_sched_pop(s, 0, 260, &out, NULL), 0);
    ck_assert_uint_eq(out.seq, 3);
    ck_assert_int_eq(rapt_sched_pop(s, 0, 260, &out, NULL), 0);
    ck_assert_uint_eq(out.seq, 5);
    ck_assert_int_eq(rapt_sched_pop(s, 0, 40, &out, NULL), -EAGAIN);
    ck_assert_int_eq(rapt_sched_pop(s, 0, 99, &out, NULL), 0);
    ck_assert_uint_eq(out.seq, 4);
    ck_assert_uint_eq(rapt_sched_size(s), 2);
    rapt_sched_destroy(s);
}
END_TEST

START_TEST(requeue_keeps_input_place)
{
    rapt_sched *s = make(RAPT_ORDER_INPUT, RAPT_SCHED_DEFAULT_BYPASS_NS);
    for (uint64_t i = 1; i <= 4; i++) {
        rapt_sched_job j = job(i, 0, 0, -1, 10);
        ck_assert_int_eq(rapt_sched_push(s, &j, 0), 0);
    }
    rapt_sched_job a;
    ck_assert_int_eq(rapt_sched_pop(s, 1, 0, &a, NULL), 0);
    ck_assert_uint_eq(a.seq, 1);
    /* Killed for memory: back in the queue with a larger reservation, ahead of 2..4. */
    a.peak = 15;
    ck_assert_int_eq(rapt_sched_requeue(s, &a, 2 * S), 0);
    ck_assert_int_eq(rapt_sched_requeue(s, &a, 2 * S), -EEXIST);
    rapt_sched_job b;
    ck_assert_int_eq(rapt_sched_pop(s, 3 * S, 0, &b, NULL), 0);
    ck_assert_uint_eq(b.seq, 1);
    ck_assert_uint_eq(b.peak, 15);
    rapt_sched_destroy(s);
}
END_TEST

START_TEST(large_queue_in_order)
{
    /* 200k jobs in a shuffled order come out sorted: depth stays logarithmic (a degenerate tree
     * would overflow the stack through the recursive insert long before this). */
    rapt_sched *s = make(RAPT_ORDER_SJF, RAPT_SCHED_DEFAULT_BYPASS_NS);
    const uint64_t n = 200000;
    uint64_t seed = 3;
    for (uint64_t i = 0; i < n; i++) {
        rapt_sched_job j = job(i + 1, 0, 0, (double)(lcg(&seed) % 100000), 0);
        ck_assert_int_eq(rapt_sched_push(s, &j, 0), 0);
    }
    double last = -1;
    for (uint64_t i = 0; i < n; i++) {
        rapt_sched_job out;
        ck_assert_int_eq(rapt_sched_pop(s, 0, 0, &out, NULL), 0);
        ck_assert(out.runtime_s >= last);
        last = out.runtime_s;
    }
    ck_assert_uint_eq(rapt_sched_size(s), 0);
    rapt_sched_destroy(s);
}
END_TEST

START_TEST(a_batch_is_ordered_purely_even_much_later)
{
    /* All jobs arrive within a second: no job ever counts as passed over, whenever pops come. */
    rapt_sched *s = make(RAPT_ORDER_LPT, 60 * S);
    for (uint64_t i = 1; i <= 100; i++) {
        rapt_sched_job j = job(i, 0, 0, (double)i, 0);
        ck_assert_int_eq(rapt_sched_push(s, &j, i * 1000), 0);
    }
    for (uint64_t i = 100; i >= 1; i--) {
        rapt_sched_job out;
        rapt_sched_pick pick;
        ck_assert_int_eq(rapt_sched_pop(s, 3600 * S + i, 0, &out, &pick), 0);
        ck_assert_uint_eq(out.seq, i);
        ck_assert(!pick.aged);
    }
    rapt_sched_destroy(s);
}
END_TEST

/* Streaming: job 1 is the worst under the policy; every second a better job arrives and one job
 * is popped. Returns the second at which job 1 was popped, or 0 if never within `steps`. */
static uint64_t starve(rapt_sched_order order, uint64_t window, uint64_t steps, bool *aged)
{
    rapt_sched *s = make(order, window);
    rapt_sched_job first = job(1, -5, 0, 1000, 0);
    if (order == RAPT_ORDER_LPT)
        first.runtime_s = 0.5; /* the shortest, under longest-first */
    ck_assert_int_eq(rapt_sched_push(s, &first, 0), 0);
    uint64_t popped_at = 0;
    for (uint64_t t = 1; t <= steps && !popped_at; t++) {
        rapt_sched_job j = job(t + 1, 5, (t + 30) * S, order == RAPT_ORDER_LPT ? 50 : 1, 0);
        ck_assert_int_eq(rapt_sched_push(s, &j, t * S), 0);
        rapt_sched_job out;
        rapt_sched_pick pick;
        ck_assert_int_eq(rapt_sched_pop(s, t * S, UINT64_MAX, &out, &pick), 0);
        if (out.seq == 1) {
            popped_at = t;
            *aged = pick.aged;
            ck_assert_uint_eq(pick.waited_ns, t * S);
        }
    }
    rapt_sched_destroy(s);
    return popped_at;
}

START_TEST(no_policy_starves_a_job)
{
    rapt_sched_order orders[] = {RAPT_ORDER_PRIORITY, RAPT_ORDER_DEADLINE, RAPT_ORDER_SJF,
                                 RAPT_ORDER_LPT};
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(orders); i++) {
        bool aged = false;
        /* Without the rule the job waits for as long as better jobs keep coming: 10000 s. */
        ck_assert_uint_eq(starve(orders[i], UINT64_MAX, 10000, &aged), 0);
        /* With a 60 s window it goes once a job 60 s younger would pass it. */
        uint64_t t = starve(orders[i], 60 * S, 10000, &aged);
        ck_assert_msg(t == 61, "%s: popped at %llu", rapt_sched_order_name(orders[i]),
                      (unsigned long long)t);
        ck_assert(aged);
    }
}
END_TEST

START_TEST(pack_holds_memory_for_a_starving_job)
{
    /* Budget 100. A job needing all of it is first in line; small jobs of 10 keep arriving and
     * keep fitting beside the ones running, so free memory never reaches 100 by itself. */
    for (int with_rule = 0; with_rule <= 1; with_rule++) {
        rapt_sched *s = make(RAPT_ORDER_PACK, with_rule ? 60 * S : UINT64_MAX);
        rapt_sched_job big = job(1, 0, 0, -1, 100);
        ck_assert_int_eq(rapt_sched_push(s, &big, 0), 0);
        /* End times of running small jobs (0 = free slot): three already run, staggered, so
         * about three keep running and free memory stays near 70. */
        uint64_t running[8] = {1, 2, 3};
        uint64_t seq = 1, big_at = 0, waits = 0;
        for (uint64_t t = 1; t <= 5000 && !big_at; t++) {
            rapt_sched_job j = job(++seq, 0, 0, -1, 10);
            ck_assert_int_eq(rapt_sched_push(s, &j, t * S), 0);
            uint64_t used = 0;
            for (int k = 0; k < 8; k++) {
                if (running[k] && running[k] <= t)
                    running[k] = 0;
                used += running[k] ? 10 : 0;
            }
            for (int k = 0; k < 8 && !big_at; k++) {
                if (running[k])
                    continue;
                rapt_sched_job out;
                int rc = rapt_sched_pop(s, t * S, 100 - used, &out, NULL);
                if (rc == -EAGAIN) {
                    waits++;
                    break;
                }
                ck_assert_int_eq(rc, 0);
                if (out.seq == 1)
                    big_at = t;
                running[k] = t + 3; /* each small job runs 3 s */
                used += 10;
            }
        }
        rapt_sched_destroy(s);
        if (!with_rule) {
            ck_assert_uint_eq(big_at, 0);
        } else {
            /* It waits one window, then the queue drains running jobs (3 s) and starts it. */
            ck_assert_msg(big_at >= 61 && big_at <= 61 + 4, "big job at %llu",
                          (unsigned long long)big_at);
            ck_assert_uint_gt(waits, 0);
        }
    }
}
END_TEST

START_TEST(bad_arguments)
{
    rapt_sched_opts o;
    rapt_sched_opts_init(&o);
    o.order = (rapt_sched_order)42;
    rapt_sched *s;
    ck_assert_int_eq(rapt_sched_create(&s, &o), -EINVAL);
    o.order = RAPT_ORDER_INPUT;
    o.bypass_window_ns = 0;
    ck_assert_int_eq(rapt_sched_create(&s, &o), -EINVAL);
    rapt_sched_order ord;
    ck_assert_int_eq(rapt_sched_order_parse("lpt", &ord), 0);
    ck_assert_int_eq(ord, RAPT_ORDER_LPT);
    ck_assert_int_eq(rapt_sched_order_parse("LPT", &ord), -EINVAL);
    rapt_sched_destroy(NULL);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    RAPT_TCASE(s, every_policy_matches_the_reference, 120);
    RAPT_TCASE(s, policies_on_a_small_batch, 10);
    RAPT_TCASE(s, pack_is_best_fit, 10);
    RAPT_TCASE(s, requeue_keeps_input_place, 10);
    RAPT_TCASE(s, large_queue_in_order, 60);
    RAPT_TCASE(s, a_batch_is_ordered_purely_even_much_later, 10);
    RAPT_TCASE(s, no_policy_starves_a_job, 60);
    RAPT_TCASE(s, pack_holds_memory_for_a_starving_job, 30);
    RAPT_TCASE(s, bad_arguments, 10);
    return s;
}

RAPT_TEST_MAIN(sched_suite)
