/* test_objpool.c: lending, limits, waiting, validation, idle eviction and statistics.
 *
 * The objects are counted handles: every create and destroy is tallied, so each test can check
 * that nothing leaked and nothing was destroyed twice. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "rapt/objpool.h"

typedef struct handle {
    int id;
    bool broken;
    int uses;
} handle;

typedef struct factory {
    atomic_int created, destroyed, resets;
    atomic_int fail_next; /* make the next creates fail */
    atomic_int next_id;
} factory;

static int h_create(void *ud, void **obj)
{
    factory *f = ud;
    if (atomic_load(&f->fail_next) > 0) {
        atomic_fetch_sub(&f->fail_next, 1);
        return -ECONNREFUSED;
    }
    handle *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->id = atomic_fetch_add(&f->next_id, 1);
    atomic_fetch_add(&f->created, 1);
    *obj = h;
    return 0;
}

static void h_destroy(void *ud, void *obj)
{
    factory *f = ud;
    atomic_fetch_add(&f->destroyed, 1);
    free(obj);
}

static bool h_validate(void *ud, void *obj)
{
    return !((handle *)obj)->broken;
}

static void h_reset(void *ud, void *obj)
{
    factory *f = ud;
    ((handle *)obj)->uses++;
    atomic_fetch_add(&f->resets, 1);
}

static rapt_objpool_opts opts_for(factory *f, size_t min, size_t max)
{
    rapt_objpool_opts o;
    rapt_objpool_opts_init(&o);
    o.ops.create = h_create;
    o.ops.destroy = h_destroy;
    o.ops.validate = h_validate;
    o.ops.reset = h_reset;
    o.userdata = f;
    o.min = min;
    o.max = max;
    return o;
}

static rapt_objpool_stats ostats(rapt_objpool *p)
{
    rapt_objpool_stats st;
    ck_assert_int_eq(rapt_objpool_stats_get(p, &st), 0);
    return st;
}

START_TEST(bad_arguments_are_errors)
{
    factory f = {0};
    rapt_objpool *p = NULL;
    rapt_objpool_opts o = opts_for(&f, 0, 4);
    ck_assert_int_eq(rapt_objpool_create(NULL, &o), -EINVAL);
    ck_assert_int_eq(rapt_objpool_create(&p, NULL), -EINVAL);
    o.max = 0;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), -EINVAL);
    o = opts_for(&f, 5, 4);
    ck_assert_int_eq(rapt_objpool_create(&p, &o), -EINVAL);
    o = opts_for(&f, 0, SIZE_MAX);
    ck_assert_int_eq(rapt_objpool_create(&p, &o), -EINVAL);
    o = opts_for(&f, 0, 4);
    o.prewarm = 5;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), -EINVAL);
    o = opts_for(&f, 0, 4);
    o.ops.create = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), -EINVAL);
    ck_assert_ptr_null(p);
    void *obj;
    ck_assert_int_eq(rapt_objpool_acquire(NULL, 0, &obj), -EINVAL);
    ck_assert_int_eq(rapt_objpool_release(NULL, &f), -EINVAL);
    ck_assert_int_eq(rapt_objpool_discard(NULL, &f), -EINVAL);
    ck_assert_int_eq(rapt_objpool_evict_idle(NULL), -EINVAL);
    ck_assert_int_eq(rapt_objpool_stats_get(NULL, NULL), -EINVAL);
    rapt_objpool_destroy(NULL);

    o = opts_for(&f, 0, 2);
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, NULL), -EINVAL);
    /* Giving back what the pool never lent changes nothing. */
    ck_assert_int_eq(rapt_objpool_release(p, &f), -EINVAL);
    ck_assert_int_eq(rapt_objpool_release(p, NULL), -EINVAL);
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &obj), 0);
    ck_assert_int_eq(rapt_objpool_release(p, obj), 0);
    ck_assert_int_eq(rapt_objpool_release(p, obj), -EINVAL); /* twice */
    rapt_objpool_destroy(p);
    ck_assert_int_eq(atomic_load(&f.created), atomic_load(&f.destroyed));
}
END_TEST

START_TEST(prewarm_reuse_and_stats)
{
    factory f = {0};
    rapt_objpool_opts o = opts_for(&f, 2, 4);
    o.prewarm = 3;
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    ck_assert_int_eq(atomic_load(&f.created), 3);
    for (int i = 0; i < 100; i++) {
        void *a, *b;
        ck_assert_int_eq(rapt_objpool_acquire(p, 0, &a), 0);
        ck_assert_int_eq(rapt_objpool_acquire(p, 0, &b), 0);
        ck_assert_ptr_ne(a, b);
        ck_assert_int_eq(rapt_objpool_release(p, b), 0);
        ck_assert_int_eq(rapt_objpool_release(p, a), 0);
    }
    rapt_objpool_stats st = ostats(p);
    ck_assert_uint_eq(st.acquired, 200);
    ck_assert_uint_eq(st.reused, 200); /* the prewarmed objects served everything */
    ck_assert_double_eq(st.reuse_rate, 1.0);
    ck_assert_uint_eq(st.created, 3);
    ck_assert_uint_eq(st.total, 3);
    ck_assert_uint_eq(st.idle, 3);
    ck_assert_uint_eq(st.peak_lent, 2);
    ck_assert_int_eq(atomic_load(&f.resets), 200);
    rapt_objpool_destroy(p);
    ck_assert_int_eq(atomic_load(&f.destroyed), 3);
}
END_TEST

START_TEST(max_bounds_and_try_fails)
{
    factory f = {0};
    rapt_objpool_opts o = opts_for(&f, 0, 2);
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    void *a, *b, *c;
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &a), 0);
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &b), 0);
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &c), -EAGAIN);
    ck_assert_int_eq(rapt_objpool_acquire(p, 2 * 1000 * 1000, &c), RAPT_ETIMEDOUT);
    rapt_objpool_stats st = ostats(p);
    ck_assert_uint_eq(st.timeouts, 1);
    ck_assert_uint_eq(st.waits, 1);
    ck_assert_uint_eq(st.created, 2);
    ck_assert_uint_eq(st.reused, 0);
    rapt_objpool_release(p, a);
    rapt_objpool_release(p, b);
    rapt_objpool_destroy(p);
}
END_TEST

typedef struct borrower {
    rapt_objpool *p;
    void *obj;
    int rc;
    atomic_int done;
} borrower;

static void *borrow(void *arg)
{
    borrower *b = arg;
    b->rc = rapt_objpool_acquire(b->p, RAPT_OBJPOOL_FOREVER, &b->obj);
    atomic_store(&b->done, 1);
    return NULL;
}

/* A returned object goes straight to the oldest waiter. */
START_TEST(handoff_to_waiters_in_order)
{
    factory f = {0};
    rapt_objpool_opts o = opts_for(&f, 0, 1);
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    void *mine;
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &mine), 0);
    borrower b[3] = {{.p = p}, {.p = p}, {.p = p}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, borrow, &b[i]);
        while (ostats(p).waits != (uint64_t)i + 1)
            sched_yield();
    }
    ck_assert_int_eq(rapt_objpool_release(p, mine), 0);
    pthread_join(th[0], NULL);
    ck_assert_int_eq(b[0].rc, 0);
    ck_assert_ptr_eq(b[0].obj, mine);
    ck_assert_int_eq(atomic_load(&b[1].done) + atomic_load(&b[2].done), 0);
    ck_assert_int_eq(rapt_objpool_release(p, b[0].obj), 0);
    pthread_join(th[1], NULL);
    ck_assert_int_eq(atomic_load(&b[2].done), 0);
    ck_assert_int_eq(rapt_objpool_discard(p, b[1].obj), 0); /* broken: room to create */
    pthread_join(th[2], NULL);
    ck_assert_int_eq(b[2].rc, 0);
    ck_assert_ptr_ne(b[2].obj, NULL);
    ck_assert_int_eq(atomic_load(&f.created), 2);
    rapt_objpool_release(p, b[2].obj);
    rapt_objpool_destroy(p);
    ck_assert_int_eq(atomic_load(&f.destroyed), 2);
}
END_TEST

START_TEST(validation_replaces_broken_objects)
{
    factory f = {0};
    rapt_objpool_opts o = opts_for(&f, 0, 3);
    o.prewarm = 3;
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    void *h[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rapt_objpool_acquire(p, 0, &h[i]), 0);
    ((handle *)h[0])->broken = true;
    ((handle *)h[1])->broken = true;
    for (int i = 0; i < 3; i++)
        rapt_objpool_release(p, h[i]);
    void *x;
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &x), 0);
    ck_assert(!((handle *)x)->broken);
    void *y;
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &y), 0);
    ck_assert(!((handle *)y)->broken);
    rapt_objpool_stats st = ostats(p);
    ck_assert_uint_eq(st.invalid, 2);
    ck_assert_uint_eq(st.destroyed, 2);
    ck_assert_uint_le(st.total, 3);
    rapt_objpool_release(p, x);
    rapt_objpool_release(p, y);
    rapt_objpool_destroy(p);
    ck_assert_int_eq(atomic_load(&f.created), atomic_load(&f.destroyed));
}
END_TEST

START_TEST(create_failure_is_returned)
{
    factory f = {0};
    atomic_store(&f.fail_next, 1);
    rapt_objpool_opts o = opts_for(&f, 1, 2);
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), -ECONNREFUSED); /* prewarming failed */
    ck_assert_ptr_null(p);
    o.min = 0;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    atomic_store(&f.fail_next, 1);
    void *x;
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &x), -ECONNREFUSED);
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &x), 0);
    ck_assert_uint_eq(ostats(p).create_failed, 1);
    rapt_objpool_release(p, x);
    rapt_objpool_destroy(p);
}
END_TEST

/* Idle objects above min are destroyed by the housekeeping thread once idle long enough. */
START_TEST(idle_timeout_evicts_down_to_min)
{
    factory f = {0};
    rapt_objpool_opts o = opts_for(&f, 1, 4);
    o.idle_timeout_ns = 20 * 1000 * 1000;
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    void *h[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(rapt_objpool_acquire(p, 0, &h[i]), 0);
    for (int i = 0; i < 4; i++)
        rapt_objpool_release(p, h[i]);
    while (ostats(p).total != 1)
        usleep(1000);
    rapt_objpool_stats st = ostats(p);
    ck_assert_uint_eq(st.evicted, 3);
    ck_assert_uint_eq(st.idle, 1);
    ck_assert_int_eq(atomic_load(&f.destroyed), 3);
    ck_assert_int_eq(rapt_objpool_evict_idle(p), 0); /* min is kept */
    rapt_objpool_destroy(p);
    ck_assert_int_eq(atomic_load(&f.destroyed), 4);
}
END_TEST

/* Destroying a pool with objects still lent is safe: they are destroyed when returned. */
START_TEST(destroy_with_lent_objects)
{
    factory f = {0};
    rapt_objpool_opts o = opts_for(&f, 0, 3);
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    void *a, *b;
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &a), 0);
    ck_assert_int_eq(rapt_objpool_acquire(p, 0, &b), 0);
    rapt_objpool_destroy(p);
    ck_assert_int_eq(atomic_load(&f.destroyed), 0);
    ck_assert_int_eq(rapt_objpool_release(p, a), 0);
    ck_assert_int_eq(atomic_load(&f.destroyed), 1);
    ck_assert_int_eq(rapt_objpool_discard(p, b), 0); /* the last one frees the pool */
    ck_assert_int_eq(atomic_load(&f.destroyed), 2);
}
END_TEST

typedef struct worker_arg {
    rapt_objpool *p;
    unsigned seed;
    int iters;
} worker_arg;

static void *churn(void *arg)
{
    worker_arg *w = arg;
    for (int i = 0; i < w->iters; i++) {
        void *h;
        int r = rapt_objpool_acquire(w->p, 50 * 1000 * 1000, &h);
        if (r != 0) {
            ck_assert_int_eq(r, RAPT_ETIMEDOUT);
            continue;
        }
        ((handle *)h)->uses++;
        if (rand_r(&w->seed) % 50 == 0)
            rapt_objpool_discard(w->p, h);
        else
            rapt_objpool_release(w->p, h);
    }
    return NULL;
}

START_TEST(concurrent_churn)
{
    factory f = {0};
    rapt_objpool_opts o = opts_for(&f, 1, 3);
    o.idle_timeout_ns = 1000 * 1000;
    rapt_objpool *p = NULL;
    ck_assert_int_eq(rapt_objpool_create(&p, &o), 0);
    worker_arg w[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (worker_arg){.p = p, .seed = (unsigned)i + 1, .iters = 3000};
        pthread_create(&th[i], NULL, churn, &w[i]);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    rapt_objpool_stats st = ostats(p);
    ck_assert_uint_le(st.peak_lent, 3);
    ck_assert_uint_eq(st.lent, 0);
    ck_assert_uint_eq(st.acquired + st.timeouts, 18000);
    ck_assert_uint_gt(st.reused, 0);
    ck_assert_uint_eq(st.created - st.destroyed, st.total);
    rapt_objpool_destroy(p);
    ck_assert_int_eq(atomic_load(&f.created), atomic_load(&f.destroyed));
}
END_TEST

static Suite *objpool_suite(void)
{
    Suite *s = suite_create("objpool");
    RAPT_TCASE(s, bad_arguments_are_errors, 10);
    RAPT_TCASE(s, prewarm_reuse_and_stats, 10);
    RAPT_TCASE(s, max_bounds_and_try_fails, 10);
    RAPT_TCASE(s, handoff_to_waiters_in_order, 20);
    RAPT_TCASE(s, validation_replaces_broken_objects, 10);
    RAPT_TCASE(s, create_failure_is_returned, 10);
    RAPT_TCASE(s, idle_timeout_evicts_down_to_min, 20);
    RAPT_TCASE(s, destroy_with_lent_objects, 10);
    RAPT_TCASE(s, concurrent_churn, 120);
    return s;
}

RAPT_TEST_MAIN(objpool_suite)
