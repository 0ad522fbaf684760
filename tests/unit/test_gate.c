/* test_gate.c: the gate's admission rule, fairness, resize semantics and thread safety.
 *
 * Ordering claims are checked through the gate's own counters (waiters, passed, admitted) and
 * through what try_acquire answers while a waiter is queued, never through timing. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "harness.h"
#include "rapt/gate.h"

static rapt_gate *mkgate(uint64_t slots, uint64_t bytes)
{
    rapt_gate_opts o;
    rapt_gate_opts_init(&o);
    o.slots = slots;
    o.bytes = bytes;
    rapt_gate *g = NULL;
    ck_assert_int_eq(rapt_gate_create(&g, &o), 0);
    return g;
}

static uint64_t waiters(rapt_gate *g)
{
    rapt_gate_stats st;
    ck_assert_int_eq(rapt_gate_stats_get(g, &st), 0);
    return st.waiters;
}

/* Spins (yielding) until the gate has n waiters: how a test knows a thread is queued. */
static void await_waiters(rapt_gate *g, uint64_t n)
{
    while (waiters(g) != n)
        sched_yield();
}

typedef struct req {
    rapt_gate *g;
    uint64_t slots, bytes, timeout_ns;
    int rc;
    atomic_int done;
} req;

static void *acquirer(void *arg)
{
    req *r = arg;
    r->rc = r->timeout_ns ? rapt_gate_timed_acquire(r->g, r->slots, r->bytes, r->timeout_ns)
                          : rapt_gate_acquire(r->g, r->slots, r->bytes);
    atomic_store(&r->done, 1);
    return NULL;
}

START_TEST(bad_arguments_are_errors)
{
    rapt_gate *g = NULL;
    rapt_gate_opts o;
    rapt_gate_opts_init(&o);
    ck_assert_int_eq(rapt_gate_create(NULL, &o), -EINVAL);
    o.slots = 0;
    o.bytes = 0;
    ck_assert_int_eq(rapt_gate_create(&g, &o), -EINVAL);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(rapt_gate_acquire(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(rapt_gate_try_acquire(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(rapt_gate_timed_acquire(NULL, 1, 1, 10), -EINVAL);
    ck_assert_int_eq(rapt_gate_release(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(rapt_gate_resize(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(rapt_gate_charge(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(rapt_gate_close(NULL), -EINVAL);
    ck_assert_int_eq(rapt_gate_stats_get(NULL, NULL), -EINVAL);
    rapt_gate_budget_sink(NULL, 5);
    rapt_gate_destroy(NULL);

    g = mkgate(2, 100);
    ck_assert_int_eq(rapt_gate_acquire(g, 0, 0), -EINVAL);
    ck_assert_int_eq(rapt_gate_stats_get(g, NULL), -EINVAL);
    /* Releasing more than is held is refused and changes nothing. */
    ck_assert_int_eq(rapt_gate_acquire(g, 1, 10), 0);
    ck_assert_int_eq(rapt_gate_release(g, 2, 10), -EINVAL);
    ck_assert_int_eq(rapt_gate_release(g, 1, 11), -EINVAL);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.held_slots, 1);
    ck_assert_uint_eq(st.held_bytes, 10);
    ck_assert_int_eq(rapt_gate_release(g, 1, 10), 0);
    /* Absurd requests never wait: they can never fit. */
    ck_assert_int_eq(rapt_gate_acquire(g, UINT64_MAX, 1), RAPT_ETOOBIG);
    ck_assert_int_eq(rapt_gate_acquire(g, 1, UINT64_MAX), RAPT_ETOOBIG);
    rapt_gate_destroy(g);
}
END_TEST

START_TEST(accounting_and_try)
{
    rapt_gate *g = mkgate(2, 100);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 60), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 60), -EAGAIN); /* bytes */
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 40), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 0), -EAGAIN); /* slots */
    ck_assert_int_eq(rapt_gate_timed_acquire(g, 1, 0, 0), -EAGAIN);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.held_slots, 2);
    ck_assert_uint_eq(st.held_bytes, 100);
    ck_assert_uint_eq(st.admitted, 2);
    ck_assert_uint_eq(st.refused, 3);
    /* Partial releases are fine. */
    ck_assert_int_eq(rapt_gate_release(g, 0, 50), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 0, 50), 0);
    ck_assert_int_eq(rapt_gate_release(g, 2, 100), 0);
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.held_slots, 0);
    ck_assert_uint_eq(st.held_bytes, 0);
    ck_assert_uint_eq(st.peak_held_bytes, 100);
    rapt_gate_destroy(g);
}
END_TEST

START_TEST(unlimited_dimension)
{
    rapt_gate *g = mkgate(RAPT_GATE_UNLIMITED, 10);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 0), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, UINT64_MAX - 1000, 10), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 0), -EAGAIN); /* the sum reached UINT64_MAX */
    rapt_gate_destroy(g);
}
END_TEST

/* The head waiter reserves what it lacks: a later request that needs bytes is refused even
 * though it would fit the free bytes, a request for 0 bytes passes while a slot beyond the
 * head's is free, and a release admits the head. */
START_TEST(waiter_reserves_what_it_lacks)
{
    rapt_gate *g = mkgate(3, 10);
    ck_assert_int_eq(rapt_gate_acquire(g, 1, 5), 0);
    req big = {.g = g, .slots = 1, .bytes = 10};
    pthread_t th;
    pthread_create(&th, NULL, acquirer, &big);
    await_waiters(g, 1);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 1), -EAGAIN); /* would delay the head */
    ck_assert_int_eq(rapt_gate_try_acquire(g, 0, 5), -EAGAIN);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 0), 0);       /* cannot delay it: passes */
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 0), -EAGAIN); /* the last slot is the head's */
    ck_assert_int_eq(atomic_load(&big.done), 0);
    ck_assert_int_eq(rapt_gate_release(g, 1, 5), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(big.rc, 0);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.held_bytes, 10);
    ck_assert_uint_eq(st.held_slots, 2);
    ck_assert_uint_eq(st.passed, 1);
    ck_assert_uint_eq(st.admitted_waiting, 1);
    rapt_gate_destroy(g);
}
END_TEST

/* Waiters are admitted in arrival order, each as soon as it fits in what the earlier ones
 * left. */
START_TEST(fifo_order_of_waiters)
{
    rapt_gate *g = mkgate(RAPT_GATE_UNLIMITED, 10);
    ck_assert_int_eq(rapt_gate_acquire(g, 0, 10), 0);
    req r[3] = {{.g = g, .bytes = 6}, {.g = g, .bytes = 6}, {.g = g, .bytes = 3}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, acquirer, &r[i]);
        await_waiters(g, (uint64_t)i + 1);
    }
    /* 6 free: the first (6) fits; the second (6) does not and reserves the remaining 4, so the
     * third (3) must not pass it. */
    ck_assert_int_eq(rapt_gate_release(g, 0, 6), 0);
    pthread_join(th[0], NULL);
    ck_assert_int_eq(r[0].rc, 0);
    ck_assert_uint_eq(waiters(g), 2);
    ck_assert_int_eq(atomic_load(&r[2].done), 0);
    /* The main thread gives back its last 4: the second (6) still does not fit and reserves
     * all 4, so the third (3) still must not pass. */
    ck_assert_int_eq(rapt_gate_release(g, 0, 4), 0);
    ck_assert_uint_eq(waiters(g), 2);
    ck_assert_int_eq(atomic_load(&r[2].done), 0);
    /* The first gives back its 6: 10 free, the second and then the third fit. */
    ck_assert_int_eq(rapt_gate_release(g, 0, 6), 0);
    pthread_join(th[1], NULL);
    pthread_join(th[2], NULL);
    ck_assert_int_eq(r[1].rc, 0);
    ck_assert_int_eq(r[2].rc, 0);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.passed, 0);
    rapt_gate_destroy(g);
}
END_TEST

/* No starvation: small requests keep coming from several threads while a large one asks again
 * and again. Every large request is admitted, and no small request ever passes a waiting one
 * (each needs bytes the waiter lacks), which is the property that bounds the large one's wait. */
typedef struct churn {
    rapt_gate *g;
    atomic_bool *stop;
    unsigned seed;
    uint64_t rounds;
} churn;

static void *small_churn(void *arg)
{
    churn *c = arg;
    while (!atomic_load(c->stop)) {
        uint64_t b = 1 + (uint64_t)(rand_r(&c->seed) % 3);
        ck_assert_int_eq(rapt_gate_acquire(c->g, 1, b), 0);
        sched_yield();
        ck_assert_int_eq(rapt_gate_release(c->g, 1, b), 0);
        c->rounds++;
    }
    return NULL;
}

START_TEST(large_request_not_starved)
{
    rapt_gate *g = mkgate(RAPT_GATE_UNLIMITED, 10);
    atomic_bool stop = false;
    churn c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (churn){.g = g, .stop = &stop, .seed = (unsigned)i + 1};
        pthread_create(&th[i], NULL, small_churn, &c[i]);
    }
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(rapt_gate_acquire(g, 1, 10), 0);
        ck_assert_int_eq(rapt_gate_release(g, 1, 10), 0);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.passed, 0);
    ck_assert_uint_eq(st.held_bytes, 0);
    ck_assert_uint_eq(st.held_slots, 0);
    ck_assert_uint_le(st.peak_held_bytes, 10);
    rapt_gate_destroy(g);
}
END_TEST

START_TEST(resize_grow_wakes_and_shrink_delays)
{
    rapt_gate *g = mkgate(RAPT_GATE_UNLIMITED, 10);
    ck_assert_int_eq(rapt_gate_set_max(g, 0, 100), 0);
    req r = {.g = g, .bytes = 20};
    pthread_t th;
    pthread_create(&th, NULL, acquirer, &r);
    await_waiters(g, 1); /* 20 > capacity 10 but <= max 100: it waits */
    ck_assert_int_eq(rapt_gate_resize(g, RAPT_GATE_UNLIMITED, 30), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(r.rc, 0);
    /* Shrink below what is held: allowed; holders keep their bytes, new ones wait. */
    ck_assert_int_eq(rapt_gate_resize(g, RAPT_GATE_UNLIMITED, 5), 0);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.held_bytes, 20);
    ck_assert_uint_eq(st.cap_bytes, 5);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 0, 1), -EAGAIN);
    ck_assert_int_eq(rapt_gate_release(g, 0, 16), 0); /* held 4 of 5 */
    ck_assert_int_eq(rapt_gate_try_acquire(g, 0, 1), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 0, 1), -EAGAIN);
    rapt_gate_destroy(g);
}
END_TEST

/* A waiter made impossible by a shrink (maximum following the capacity) wakes with
 * RAPT_ETOOBIG; the ones behind it are then considered without its reservation. */
START_TEST(resize_makes_waiter_impossible)
{
    rapt_gate *g = mkgate(RAPT_GATE_UNLIMITED, 10);
    ck_assert_int_eq(rapt_gate_acquire(g, 0, 8), 0);
    req big = {.g = g, .bytes = 9}, small = {.g = g, .bytes = 2};
    pthread_t tb, ts;
    pthread_create(&tb, NULL, acquirer, &big);
    await_waiters(g, 1);
    pthread_create(&ts, NULL, acquirer, &small);
    await_waiters(g, 2);
    ck_assert_int_eq(rapt_gate_resize(g, RAPT_GATE_UNLIMITED, 10 - 0), 0); /* no change */
    ck_assert_uint_eq(waiters(g), 2);
    ck_assert_int_eq(rapt_gate_resize(g, RAPT_GATE_UNLIMITED, 8), 0);
    pthread_join(tb, NULL);
    ck_assert_int_eq(big.rc, RAPT_ETOOBIG);
    ck_assert_int_eq(rapt_gate_release(g, 0, 8), 0);
    pthread_join(ts, NULL);
    ck_assert_int_eq(small.rc, 0);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.too_big, 1);
    rapt_gate_destroy(g);
}
END_TEST

/* A waiter that times out drops its reservation, admitting what queued behind it. */
START_TEST(timeout_drops_reservation)
{
    rapt_gate *g = mkgate(RAPT_GATE_UNLIMITED, 10);
    ck_assert_int_eq(rapt_gate_acquire(g, 0, 8), 0);
    req big = {.g = g, .bytes = 5, .timeout_ns = 50 * 1000 * 1000};
    req small = {.g = g, .bytes = 2};
    pthread_t tb, ts;
    pthread_create(&tb, NULL, acquirer, &big);
    await_waiters(g, 1);
    pthread_create(&ts, NULL, acquirer, &small);
    pthread_join(tb, NULL);
    ck_assert_int_eq(big.rc, RAPT_ETIMEDOUT);
    pthread_join(ts, NULL); /* admitted without any release */
    ck_assert_int_eq(small.rc, 0);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.timed_out, 1);
    ck_assert_uint_eq(st.held_bytes, 10);
    rapt_gate_destroy(g);
}
END_TEST

START_TEST(close_wakes_waiters)
{
    rapt_gate *g = mkgate(1, 1);
    ck_assert_int_eq(rapt_gate_acquire(g, 1, 1), 0);
    req r[2] = {{.g = g, .slots = 1}, {.g = g, .bytes = 1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&th[i], NULL, acquirer, &r[i]);
        await_waiters(g, (uint64_t)i + 1);
    }
    ck_assert_int_eq(rapt_gate_close(g), 0);
    ck_assert_int_eq(rapt_gate_close(g), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(r[i].rc, RAPT_ECLOSED);
    }
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 0), RAPT_ECLOSED);
    ck_assert_int_eq(rapt_gate_resize(g, 5, 5), RAPT_ECLOSED);
    ck_assert_int_eq(rapt_gate_release(g, 1, 1), 0); /* holders can still give back */
    rapt_gate_destroy(g);
}
END_TEST

static void count_cb(void *ud)
{
    atomic_fetch_add((atomic_int *)ud, 1);
}

START_TEST(on_available_and_charge)
{
    atomic_int calls = 0;
    rapt_gate_opts o;
    rapt_gate_opts_init(&o);
    o.slots = 4;
    o.bytes = 100;
    o.on_available = count_cb;
    o.userdata = &calls;
    rapt_gate *g = NULL;
    ck_assert_int_eq(rapt_gate_create(&g, &o), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 50), 0);
    ck_assert_int_eq(atomic_load(&calls), 0);
    /* The holder grew past its reservation: charged, even beyond the capacity. */
    ck_assert_int_eq(rapt_gate_charge(g, 0, 80), 0);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 1), -EAGAIN);
    ck_assert_int_eq(rapt_gate_release(g, 0, 80), 0);
    ck_assert_int_eq(atomic_load(&calls), 1);
    ck_assert_int_eq(rapt_gate_try_acquire(g, 1, 1), 0);
    rapt_gate_budget_sink(g, 1000); /* keeps the 4 slots */
    ck_assert_int_eq(atomic_load(&calls), 2);
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.cap_slots, 4);
    ck_assert_uint_eq(st.cap_bytes, 1000);
    ck_assert_uint_eq(st.charged_bytes, 80);
    rapt_gate_destroy(g);
}
END_TEST

/* Many threads mixing every operation, with resizes: must end with nothing held, no waiter,
 * and counters that add up; run under TSan for data races and deadlocks. */
typedef struct mix {
    rapt_gate *g;
    unsigned seed;
    int iters;
    uint64_t ok;
} mix;

static void *mixer(void *arg)
{
    mix *m = arg;
    for (int i = 0; i < m->iters; i++) {
        uint64_t s = (uint64_t)(rand_r(&m->seed) % 2);
        uint64_t b = (uint64_t)(rand_r(&m->seed) % 40);
        if (s == 0 && b == 0)
            b = 1;
        int r;
        switch (rand_r(&m->seed) % 3) {
        case 0: r = rapt_gate_try_acquire(m->g, s, b); break;
        case 1: r = rapt_gate_timed_acquire(m->g, s, b, 200 * 1000); break;
        default: r = rapt_gate_timed_acquire(m->g, s, b, 20 * 1000 * 1000); break;
        }
        if (r == 0) {
            m->ok++;
            sched_yield();
            ck_assert_int_eq(rapt_gate_release(m->g, s, b), 0);
        } else {
            ck_assert(r == -EAGAIN || r == RAPT_ETIMEDOUT || r == RAPT_ETOOBIG);
        }
    }
    return NULL;
}

static void *resizer(void *arg)
{
    mix *m = arg;
    for (int i = 0; i < m->iters; i++) {
        rapt_gate_resize(m->g, 1 + (uint64_t)(rand_r(&m->seed) % 4),
                         20 + (uint64_t)(rand_r(&m->seed) % 60));
        sched_yield();
    }
    return NULL;
}

START_TEST(concurrent_mix_no_deadlock)
{
    rapt_gate *g = mkgate(3, 60);
    ck_assert_int_eq(rapt_gate_set_max(g, 4, 80), 0);
    enum { N = 6 };
    mix m[N + 1];
    pthread_t th[N + 1];
    for (int i = 0; i < N; i++) {
        m[i] = (mix){.g = g, .seed = (unsigned)i * 7 + 3, .iters = 3000};
        pthread_create(&th[i], NULL, mixer, &m[i]);
    }
    m[N] = (mix){.g = g, .seed = 99, .iters = 500};
    pthread_create(&th[N], NULL, resizer, &m[N]);
    uint64_t ok = 0;
    for (int i = 0; i <= N; i++) {
        pthread_join(th[i], NULL);
        ok += m[i].ok;
    }
    rapt_gate_stats st;
    rapt_gate_stats_get(g, &st);
    ck_assert_uint_eq(st.held_slots, 0);
    ck_assert_uint_eq(st.held_bytes, 0);
    ck_assert_uint_eq(st.waiters, 0);
    ck_assert_uint_eq(st.admitted, ok);
    ck_assert_uint_gt(ok, 0);
    ck_assert_uint_le(st.peak_held_slots, 4);
    ck_assert_uint_le(st.peak_held_bytes, 80);
    rapt_gate_destroy(g);
}
END_TEST

static Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    RAPT_TCASE(s, bad_arguments_are_errors, 10);
    RAPT_TCASE(s, accounting_and_try, 10);
    RAPT_TCASE(s, unlimited_dimension, 10);
    RAPT_TCASE(s, waiter_reserves_what_it_lacks, 20);
    RAPT_TCASE(s, fifo_order_of_waiters, 20);
    RAPT_TCASE(s, large_request_not_starved, 60);
    RAPT_TCASE(s, resize_grow_wakes_and_shrink_delays, 20);
    RAPT_TCASE(s, resize_makes_waiter_impossible, 20);
    RAPT_TCASE(s, timeout_drops_reservation, 20);
    RAPT_TCASE(s, close_wakes_waiters, 20);
    RAPT_TCASE(s, on_available_and_charge, 10);
    RAPT_TCASE(s, concurrent_mix_no_deadlock, 120);
    return s;
}

RAPT_TEST_MAIN(gate_suite)
