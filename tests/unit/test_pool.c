/* test_pool.c: the thread pool's contract: ordering, memory admission, cancellation, timeouts,
 * resize, shutdown, misuse, and two stress runs (a million mixed tasks; a memory-budgeted run
 * through arenas checked against the process's resident memory).
 *
 * Ordering tests hold the only worker on a "blocker" task while they queue others, so the
 * order the worker then picks is the pool's decision alone. Nothing asserts on elapsed time. */
#include <dirent.h>
#include <sys/resource.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rapt/pool.h"
#include "rapt/sys.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static rapt_pool *mkpool(unsigned threads, uint64_t budget)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = threads;
    o.mem_budget = budget;
    rapt_pool *p = NULL;
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    return p;
}

/* ---- helpers: a blocker task and an order log ---- */

typedef struct gatevar {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    bool entered;
    atomic_bool finished;
} gatevar;

static void gv_init(gatevar *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = g->entered = false;
    atomic_init(&g->finished, false);
}

static void gv_open(gatevar *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gv_await_entered(gatevar *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static int blocker(rapt_task *t, void *arg)
{
    gatevar *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    atomic_store(&g->finished, true);
    return 0;
}

typedef struct olog {
    pthread_mutex_t mu;
    int v[64];
    int n;
} olog;

typedef struct ent {
    olog *log;
    int tag;
} ent;

static int logger(rapt_task *t, void *arg)
{
    ent *e = arg;
    pthread_mutex_lock(&e->log->mu);
    e->log->v[e->log->n++] = e->tag;
    pthread_mutex_unlock(&e->log->mu);
    return 0;
}

static int opener(rapt_task *t, void *arg)
{
    gv_open(arg);
    return 0;
}

static int ret_arg(rapt_task *t, void *arg)
{
    return (int)(intptr_t)arg;
}

/* Waits until the pool reports n tasks queued (how a test knows submissions have landed). */
static rapt_pool_stats pstats(rapt_pool *p)
{
    rapt_pool_stats st;
    ck_assert_int_eq(rapt_pool_stats_get(p, &st), 0);
    return st;
}

START_TEST(bad_arguments_are_errors)
{
    rapt_pool *p = NULL;
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    ck_assert_int_eq(rapt_pool_create(NULL, &o), -EINVAL);
    o.threads = 100000;
    ck_assert_int_eq(rapt_pool_create(&p, &o), -EINVAL);
    o.threads = 1;
    o.order = (rapt_pool_order)42;
    ck_assert_int_eq(rapt_pool_create(&p, &o), -EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(rapt_pool_submit(NULL, ret_arg, NULL, NULL, NULL), -EINVAL);
    p = mkpool(1, 1000);
    rapt_future *f = (rapt_future *)&o; /* must be reset to NULL on error */
    ck_assert_int_eq(rapt_pool_submit(p, NULL, NULL, NULL, &f), -EINVAL);
    ck_assert_ptr_null(f);
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.arena = true; /* an arena needs an estimate */
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, NULL), -EINVAL);
    to.arena = false;
    to.mem_estimate = 1001; /* above the budget, which is also the maximum */
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, NULL), RAPT_ETOOBIG);
    to.mem_estimate = UINT64_MAX;
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, NULL), RAPT_ETOOBIG);
    ck_assert_int_eq(rapt_pool_resize(NULL, 1), -EINVAL);
    ck_assert_int_eq(rapt_pool_resize(p, 0), -EINVAL);
    ck_assert_int_eq(rapt_pool_resize(p, 1u << 30), -EINVAL);
    ck_assert_int_eq(rapt_pool_wait_idle(NULL), -EINVAL);
    ck_assert_int_eq(rapt_pool_shutdown(NULL, RAPT_POOL_DRAIN), -EINVAL);
    ck_assert_int_eq(rapt_pool_shutdown(p, (rapt_pool_shutdown_mode)7), -EINVAL);
    ck_assert_int_eq(rapt_pool_stats_get(p, NULL), -EINVAL);
    ck_assert_int_eq(rapt_pool_set_budget(NULL, 1), -EINVAL);
    ck_assert_ptr_null(rapt_pool_gate(NULL));
    ck_assert_int_eq(rapt_future_wait(NULL, NULL), -EINVAL);
    ck_assert_int_eq(rapt_future_cancel(NULL), -EINVAL);
    ck_assert(!rapt_future_done(NULL));
    rapt_future_release(NULL);
    ck_assert(!rapt_task_should_stop(NULL));
    ck_assert_int_eq(rapt_task_check(NULL), -EINVAL);
    ck_assert_ptr_null(rapt_task_arena(NULL));
    ck_assert_int_eq(rapt_token_create(NULL), -EINVAL);
    ck_assert_int_eq(rapt_token_cancel(NULL), -EINVAL);
    ck_assert(!rapt_token_cancelled(NULL));
    rapt_token_destroy(NULL);
    rapt_pool_destroy(p);
    rapt_pool_destroy(NULL);
}
END_TEST

START_TEST(defaults_follow_the_machine)
{
    rapt_pool *p = NULL;
    ck_assert_int_eq(rapt_pool_create(&p, NULL), 0);
    rapt_sys_info *info = malloc(sizeof(*info));
    ck_assert_int_eq(rapt_sys_read(NULL, info), 0);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.threads, info->cpu.effective);
    free(info);
    rapt_pool_destroy(p);

    /* A fixture machine: a 0.5-CPU pod whose parent cgroup is nearly full, so the default
     * budget is 0 while the limit (2 GiB) is not: estimates up to 85% of the limit wait for the
     * budget, larger ones are refused at once. */
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.sysroot = fixture("v2-nested");
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    st = pstats(p);
    ck_assert_uint_eq(st.threads, 1);
    ck_assert_uint_eq(st.mem_budget, 0);
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.mem_estimate = 3ull << 30;
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, NULL), RAPT_ETOOBIG);
    to.mem_estimate = 1ull << 30;
    rapt_future *f;
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, &f), 0);
    while (pstats(p).mem_waiting != 1)
        sched_yield();
    ck_assert_int_eq(rapt_pool_set_budget(p, 1ull << 30), 0);
    rapt_task_result r;
    ck_assert_int_eq(rapt_future_wait(f, &r), 0);
    ck_assert(r.ran);
    rapt_future_release(f);
    rapt_pool_destroy(p);
}
END_TEST

START_TEST(results_and_accounting)
{
    rapt_pool *p = mkpool(2, RAPT_GATE_UNLIMITED);
    rapt_future *f[10];
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(rapt_pool_submit(p, ret_arg, (void *)(intptr_t)(-i), NULL, &f[i]), 0);
    for (int i = 0; i < 10; i++) {
        rapt_task_result r;
        ck_assert_int_eq(rapt_future_wait(f[i], &r), 0);
        ck_assert_int_eq(r.status, -i);
        ck_assert(r.ran);
        ck_assert_uint_eq(r.id, (uint64_t)i + 1);
        ck_assert_ptr_eq(r.arg, (void *)(intptr_t)(-i));
        ck_assert_uint_lt(r.worker, 2);
        ck_assert(rapt_future_done(f[i]));
        ck_assert_int_eq(rapt_future_cancel(f[i]), -EALREADY);
        rapt_future_release(f[i]);
    }
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, NULL, NULL), 0); /* detached */
    ck_assert_int_eq(rapt_pool_wait_idle(p), 0);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.submitted, 110);
    ck_assert_uint_eq(st.completed, 110);
    ck_assert_uint_eq(st.ok, 101);
    ck_assert_uint_eq(st.failed, 9);
    ck_assert_uint_eq(st.queued + st.running, 0);
    rapt_pool_destroy(p);
}
END_TEST

static int nap_fn(rapt_task *t, void *arg)
{
    (void)t;
    (void)arg;
    struct timespec ts = {0, 200000}; /* 0.2 ms: long enough that a timed run is never 0 ns */
    nanosleep(&ts, NULL);
    return 0;
}

/* Plain tasks are counted but not timed unless time_plain_tasks is set; tasks with a future are
 * always timed. What is asserted is which totals move, not how long anything took. */
START_TEST(plain_task_timing_is_opt_in)
{
    for (int timed = 0; timed < 2; timed++) {
        rapt_pool_opts o;
        rapt_pool_opts_init(&o);
        o.threads = 2;
        o.mem_budget = RAPT_GATE_UNLIMITED;
        o.time_plain_tasks = timed;
        rapt_pool *p = NULL;
        ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
        for (int i = 0; i < 20; i++)
            ck_assert_int_eq(rapt_pool_submit(p, nap_fn, NULL, NULL, NULL), 0);
        ck_assert_int_eq(rapt_pool_wait_idle(p), 0);
        rapt_pool_stats st = pstats(p);
        ck_assert_uint_eq(st.completed, 20);
        if (timed)
            ck_assert_uint_gt(st.run_ns_total, 0);
        else
            ck_assert_uint_eq(st.run_ns_total, 0);
        rapt_future *f;
        ck_assert_int_eq(rapt_pool_submit(p, nap_fn, NULL, NULL, &f), 0);
        rapt_task_result r;
        ck_assert_int_eq(rapt_future_wait(f, &r), 0);
        ck_assert_uint_gt(r.run_ns, 0);
        rapt_future_release(f);
        rapt_pool_destroy(p);
    }
}
END_TEST

static void check_order(rapt_pool_opts *o, const int *prio, const uint64_t *deadline_ms, int n,
                        const int *expect)
{
    rapt_pool *p = NULL;
    o->threads = 1;
    ck_assert_int_eq(rapt_pool_create(&p, o), 0);
    gatevar g;
    gv_init(&g);
    ck_assert_int_eq(rapt_pool_submit(p, blocker, &g, NULL, NULL), 0);
    gv_await_entered(&g);
    olog log = {.n = 0};
    pthread_mutex_init(&log.mu, NULL);
    ent e[32];
    for (int i = 0; i < n; i++) {
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        to.priority = prio[i];
        to.deadline_ns = deadline_ms[i] * 1000000ull;
        e[i] = (ent){.log = &log, .tag = i};
        ck_assert_int_eq(rapt_pool_submit(p, logger, &e[i], &to, NULL), 0);
    }
    gv_open(&g);
    ck_assert_int_eq(rapt_pool_wait_idle(p), 0);
    ck_assert_int_eq(log.n, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(log.v[i], expect[i]);
    rapt_pool_destroy(p);
}

START_TEST(priority_then_deadline_then_fifo)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.mem_budget = RAPT_GATE_UNLIMITED;
    int prio[] = {0, 5, 0, 5, -1, 0, 5};
    uint64_t dl[] = {0, 0, 900, 0, 0, 100, 500};
    int expect[] = {6, 1, 3, 5, 2, 0, 4};
    check_order(&o, prio, dl, 7, expect);
}
END_TEST

START_TEST(earliest_deadline_first)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.mem_budget = RAPT_GATE_UNLIMITED;
    o.order = RAPT_POOL_ORDER_EDF;
    int prio[] = {9, 0, 0, 1, 0, 0};
    uint64_t dl[] = {0, 300, 100, 0, 200, 100};
    int expect[] = {2, 5, 4, 1, 0, 3};
    check_order(&o, prio, dl, 6, expect);
}
END_TEST

START_TEST(fifo_order)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.mem_budget = RAPT_GATE_UNLIMITED;
    o.order = RAPT_POOL_ORDER_FIFO;
    int prio[] = {3, 9, -4, 0, 1};
    uint64_t dl[] = {5, 0, 1, 7, 0};
    int expect[] = {0, 1, 2, 3, 4};
    check_order(&o, prio, dl, 5, expect);
}
END_TEST

/* With aging, a priority level is worth aging_ns of waiting: with a 1 ns step, tasks submitted
 * milliseconds apart run in submission order whatever their (small) priorities. */
START_TEST(aging_prevents_starvation)
{
    rapt_pool *p = NULL;
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = 1;
    o.mem_budget = RAPT_GATE_UNLIMITED;
    o.aging_ns = 1;
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    gatevar g;
    gv_init(&g);
    ck_assert_int_eq(rapt_pool_submit(p, blocker, &g, NULL, NULL), 0);
    gv_await_entered(&g);
    olog log = {.n = 0};
    pthread_mutex_init(&log.mu, NULL);
    ent e[4];
    for (int i = 0; i < 4; i++) {
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        to.priority = i * 10; /* later ones have higher priority */
        e[i] = (ent){.log = &log, .tag = i};
        ck_assert_int_eq(rapt_pool_submit(p, logger, &e[i], &to, NULL), 0);
        usleep(2000);
    }
    gv_open(&g);
    rapt_pool_wait_idle(p);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(log.v[i], i);
    rapt_pool_destroy(p);
}
END_TEST

static int until_stopped(rapt_task *t, void *arg)
{
    gatevar *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    while (!rapt_task_should_stop(t))
        usleep(100);
    return rapt_task_check(t);
}

START_TEST(cancel_queued_and_running)
{
    rapt_pool *p = mkpool(1, RAPT_GATE_UNLIMITED);
    gatevar g;
    gv_init(&g);
    rapt_future *run = NULL, *queued = NULL;
    ck_assert_int_eq(rapt_pool_submit(p, until_stopped, &g, NULL, &run), 0);
    gv_await_entered(&g);
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, NULL, &queued), 0);
    ck_assert_int_eq(rapt_future_cancel(queued), 0);
    rapt_task_result r;
    ck_assert_int_eq(rapt_future_wait(queued, &r), 0); /* completed by the cancel itself */
    ck_assert_int_eq(r.status, RAPT_ECANCELED);
    ck_assert(!r.ran);
    ck_assert(r.cancel_requested);
    ck_assert_uint_eq(r.worker, UINT32_MAX);
    ck_assert_int_eq(rapt_future_cancel(queued), -EALREADY);
    ck_assert_int_eq(rapt_future_cancel(run), 0); /* running: asked to stop */
    ck_assert_int_eq(rapt_future_wait(run, &r), 0);
    ck_assert_int_eq(r.status, RAPT_ECANCELED);
    ck_assert(r.ran);
    ck_assert(r.cancel_requested);
    rapt_future_release(run);
    rapt_future_release(queued);
    /* A future completes before the pool counts its task; wait_idle waits for the counts. */
    rapt_pool_wait_idle(p);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.cancelled, 2);
    ck_assert_uint_eq(st.completed, 2);
    rapt_pool_destroy(p);
}
END_TEST

/* A queued task whose timeout passes is reported as timed out without running, even though the
 * only worker is busy (the waiting thread reports it); a running one sees should_stop. */
START_TEST(timeouts_queued_and_running)
{
    rapt_pool *p = mkpool(1, RAPT_GATE_UNLIMITED);
    gatevar g;
    gv_init(&g);
    rapt_future *busy = NULL, *late = NULL, *slow = NULL;
    ck_assert_int_eq(rapt_pool_submit(p, blocker, &g, NULL, &busy), 0);
    gv_await_entered(&g);
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.timeout_ns = 20 * 1000 * 1000;
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, &late), 0);
    rapt_task_result r;
    ck_assert_int_eq(rapt_future_wait(late, &r), 0);
    ck_assert_int_eq(r.status, RAPT_ETIMEDOUT);
    ck_assert(!r.ran);
    ck_assert(r.timed_out);
    gv_open(&g);
    gatevar g2;
    gv_init(&g2);
    ck_assert_int_eq(rapt_pool_submit(p, until_stopped, &g2, &to, &slow), 0);
    ck_assert_int_eq(rapt_future_wait(slow, &r), 0);
    ck_assert(r.ran);
    ck_assert_int_eq(r.status, RAPT_ETIMEDOUT);
    ck_assert(r.timed_out);
    /* A timed wait on a future gives up without affecting the task. */
    gatevar g3;
    gv_init(&g3);
    rapt_future *f3 = NULL;
    ck_assert_int_eq(rapt_pool_submit(p, blocker, &g3, NULL, &f3), 0);
    ck_assert_int_eq(rapt_future_timed_wait(f3, 1000 * 1000, &r), RAPT_ETIMEDOUT);
    gv_open(&g3);
    ck_assert_int_eq(rapt_future_wait(f3, &r), 0);
    ck_assert_int_eq(r.status, 0);
    rapt_future_release(busy);
    rapt_future_release(late);
    rapt_future_release(slow);
    rapt_future_release(f3);
    rapt_pool_wait_idle(p);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.timed_out, 2);
    rapt_pool_destroy(p);
}
END_TEST

START_TEST(token_cancels_a_group)
{
    rapt_pool *p = mkpool(1, RAPT_GATE_UNLIMITED);
    rapt_token *tok = NULL;
    ck_assert_int_eq(rapt_token_create(&tok), 0);
    gatevar g;
    gv_init(&g);
    ck_assert_int_eq(rapt_pool_submit(p, blocker, &g, NULL, NULL), 0);
    gv_await_entered(&g);
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.token = tok;
    rapt_future *f[5];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, i % 2 ? &to : NULL, &f[i]), 0);
    ck_assert_int_eq(rapt_token_cancel(tok), 0);
    ck_assert(rapt_token_cancelled(tok));
    gv_open(&g);
    for (int i = 0; i < 5; i++) {
        rapt_task_result r;
        rapt_future_wait(f[i], &r);
        ck_assert_int_eq(r.status, i % 2 ? RAPT_ECANCELED : 0);
        ck_assert_int_eq(r.ran, !(i % 2));
        rapt_future_release(f[i]);
    }
    rapt_pool_destroy(p);
    rapt_token_destroy(tok);
}
END_TEST

/* ---- memory admission ---- */

typedef struct memprobe {
    atomic_llong now, peak;
    gatevar *hold; /* when set, the task waits on it */
} memprobe;

typedef struct memtask {
    memprobe *m;
    long long bytes;
} memtask;

static int charge_task(rapt_task *t, void *arg)
{
    memtask *mt = arg;
    long long v = atomic_fetch_add(&mt->m->now, mt->bytes) + mt->bytes;
    long long pk = atomic_load(&mt->m->peak);
    while (v > pk && !atomic_compare_exchange_weak(&mt->m->peak, &pk, v))
        ;
    if (mt->m->hold) {
        gatevar *g = mt->m->hold;
        pthread_mutex_lock(&g->mu);
        g->entered = true;
        pthread_cond_broadcast(&g->cv);
        while (!g->open)
            pthread_cond_wait(&g->cv, &g->mu);
        pthread_mutex_unlock(&g->mu);
    } else {
        sched_yield();
    }
    atomic_fetch_sub(&mt->m->now, mt->bytes);
    return 0;
}

/* Estimates that do not fit wait; what runs at once never exceeds the budget. */
START_TEST(memory_estimates_bound_concurrency)
{
    rapt_pool *p = mkpool(4, 100);
    memprobe m = {.hold = NULL};
    memtask mt[200];
    unsigned seed = 7;
    for (int i = 0; i < 200; i++) {
        mt[i] = (memtask){.m = &m, .bytes = 10 + rand_r(&seed) % 60};
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        to.mem_estimate = (uint64_t)mt[i].bytes;
        ck_assert_int_eq(rapt_pool_submit(p, charge_task, &mt[i], &to, NULL), 0);
    }
    rapt_pool_wait_idle(p);
    ck_assert_int_le(atomic_load(&m.peak), 100);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.ok, 200);
    ck_assert_uint_le(st.mem_peak_held, 100);
    ck_assert_uint_eq(st.mem_held, 0);
    rapt_pool_destroy(p);
}
END_TEST

/* Two pools drawing on one gate share its budget: together they never hold more. */
START_TEST(pools_share_a_gate)
{
    rapt_gate_opts go;
    rapt_gate_opts_init(&go);
    go.bytes = 100;
    rapt_gate *g = NULL;
    ck_assert_int_eq(rapt_gate_create(&g, &go), 0);
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = 2;
    o.gate = g;
    rapt_pool *p1 = NULL, *p2 = NULL;
    ck_assert_int_eq(rapt_pool_create(&p1, &o), 0);
    ck_assert_int_eq(rapt_pool_create(&p2, &o), 0);
    ck_assert_ptr_eq(rapt_pool_gate(p1), g);
    memprobe m = {.hold = NULL};
    memtask mt[300];
    unsigned seed = 5;
    for (int i = 0; i < 300; i++) {
        mt[i] = (memtask){.m = &m, .bytes = 10 + rand_r(&seed) % 60};
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        to.mem_estimate = (uint64_t)mt[i].bytes;
        ck_assert_int_eq(rapt_pool_submit(i % 2 ? p1 : p2, charge_task, &mt[i], &to, NULL), 0);
    }
    rapt_pool_wait_idle(p1);
    rapt_pool_wait_idle(p2);
    ck_assert_int_le(atomic_load(&m.peak), 100);
    ck_assert_uint_eq(pstats(p1).ok + pstats(p2).ok, 300);
    rapt_gate_stats gs;
    rapt_gate_stats_get(g, &gs);
    ck_assert_uint_le(gs.peak_held_bytes, 100);
    ck_assert_uint_eq(gs.held_bytes, 0);
    rapt_pool_destroy(p1);
    rapt_pool_destroy(p2);
    rapt_gate_destroy(g);
}
END_TEST

/* While a memory task waits for bytes, tasks without an estimate still run on other workers:
 * the no-estimate task here is what releases the memory the waiting one needs. */
START_TEST(no_estimate_tasks_pass_a_memory_waiter)
{
    rapt_pool *p = mkpool(3, 100);
    gatevar hold;
    gv_init(&hold);
    memprobe m1 = {.hold = &hold}, m2 = {.hold = NULL};
    memtask big1 = {.m = &m1, .bytes = 60}, big2 = {.m = &m2, .bytes = 60};
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.mem_estimate = 60;
    rapt_future *f1, *f2, *f3;
    ck_assert_int_eq(rapt_pool_submit(p, charge_task, &big1, &to, &f1), 0);
    gv_await_entered(&hold);
    ck_assert_int_eq(rapt_pool_submit(p, charge_task, &big2, &to, &f2), 0);
    while (pstats(p).mem_waiting != 1)
        sched_yield();
    /* A second memory task must not pass the waiting one, even if it would fit. */
    rapt_task_opts small;
    rapt_task_opts_init(&small);
    small.mem_estimate = 30;
    rapt_future *f4;
    memprobe m4 = {.hold = NULL};
    memtask mt4 = {.m = &m4, .bytes = 30};
    ck_assert_int_eq(rapt_pool_submit(p, charge_task, &mt4, &small, &f4), 0);
    ck_assert_uint_eq(pstats(p).queued, 1);
    /* This one needs no memory and opens the hold, letting big1 finish: if tasks without an
     * estimate could not pass the memory waiter, nothing would ever open it. */
    ck_assert_int_eq(rapt_pool_submit(p, opener, &hold, NULL, &f3), 0);
    rapt_task_result r1, r2, r3, r4;
    rapt_future_wait(f3, &r3);
    rapt_future_wait(f1, &r1);
    rapt_future_wait(f2, &r2);
    rapt_future_wait(f4, &r4);
    ck_assert_int_eq(r1.status, 0);
    ck_assert_int_eq(r2.status, 0);
    ck_assert_int_eq(r4.status, 0);
    ck_assert_uint_gt(r2.mem_wait_ns, 0);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_ge(st.mem_waits, 1);
    ck_assert_uint_le(st.mem_peak_held, 100);
    rapt_future_release(f1);
    rapt_future_release(f2);
    rapt_future_release(f3);
    rapt_future_release(f4);
    rapt_pool_destroy(p);
}
END_TEST

/* The budget follows a budget source: a task waits while the budget is too low and starts when
 * the source raises it (here the test plays the monitor through the budget hook). */
START_TEST(budget_hook_admits_waiting_task)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = 2;
    o.mem_budget = 10;
    o.mem_max = 1000; /* up to 1000 may wait for the budget */
    rapt_pool *p = NULL;
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.mem_estimate = 500;
    rapt_future *f;
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, &f), 0);
    while (pstats(p).mem_waiting != 1)
        sched_yield();
    ck_assert(!rapt_future_done(f));
    rapt_budget_fn hook = rapt_gate_budget_sink;
    hook(rapt_pool_gate(p), 600);
    rapt_task_result r;
    ck_assert_int_eq(rapt_future_wait(f, &r), 0);
    ck_assert(r.ran);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(pstats(p).mem_budget, 600);
    /* Lowering the maximum below a waiting estimate reports it as too big. */
    ck_assert_int_eq(rapt_pool_set_budget(p, 10), 0);
    rapt_future *g;
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, &g), 0);
    while (pstats(p).mem_waiting != 1)
        sched_yield();
    ck_assert_int_eq(rapt_gate_set_max(rapt_pool_gate(p), 0, 0), 0);
    ck_assert_int_eq(rapt_future_wait(g, &r), 0);
    ck_assert_int_eq(r.status, RAPT_ETOOBIG);
    ck_assert(!r.ran);
    rapt_future_release(f);
    rapt_future_release(g);
    rapt_pool_wait_idle(p);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.rejected, 1);
    rapt_pool_destroy(p);
}
END_TEST

/* A task waiting for memory can be cancelled and can time out: it is reported without
 * running and the budget it was waiting for is untouched. */
START_TEST(memory_waiter_cancel_and_timeout)
{
    rapt_pool *p = mkpool(2, 100);
    gatevar hold;
    gv_init(&hold);
    memprobe m = {.hold = &hold};
    memtask big = {.m = &m, .bytes = 90};
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.mem_estimate = 90;
    rapt_future *holder, *waiter, *late;
    ck_assert_int_eq(rapt_pool_submit(p, charge_task, &big, &to, &holder), 0);
    gv_await_entered(&hold);
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, &waiter), 0);
    while (pstats(p).mem_waiting != 1)
        sched_yield();
    ck_assert_int_eq(rapt_future_cancel(waiter), 0);
    rapt_task_result r;
    ck_assert_int_eq(rapt_future_wait(waiter, &r), 0);
    ck_assert_int_eq(r.status, RAPT_ECANCELED);
    ck_assert(!r.ran);
    to.timeout_ns = 20 * 1000 * 1000;
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, &to, &late), 0);
    ck_assert_int_eq(rapt_future_wait(late, &r), 0);
    ck_assert_int_eq(r.status, RAPT_ETIMEDOUT);
    ck_assert(!r.ran);
    gv_open(&hold);
    ck_assert_int_eq(rapt_future_wait(holder, &r), 0);
    ck_assert_int_eq(r.status, 0);
    rapt_pool_wait_idle(p);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.mem_held, 0);
    ck_assert_uint_eq(st.mem_waiting, 0);
    ck_assert_uint_eq(st.cancelled, 1);
    ck_assert_uint_eq(st.timed_out, 1);
    rapt_future_release(holder);
    rapt_future_release(waiter);
    rapt_future_release(late);
    rapt_pool_destroy(p);
}
END_TEST

static int arena_task(rapt_task *t, void *arg)
{
    rapt_arena *a = rapt_task_arena(t);
    if (!a)
        return -EINVAL;
    void *q;
    int got = 0;
    while (rapt_arena_alloc(a, 1000, &q) == 0)
        got++;
    return got > 0 && rapt_arena_alloc(a, 1000, &q) == -ENOMEM ? 0 : -EIO;
}

START_TEST(per_task_arena_is_bounded_by_estimate)
{
    rapt_pool *p = mkpool(2, 1 << 20);
    rapt_task_opts to;
    rapt_task_opts_init(&to);
    to.mem_estimate = 64 * 1024;
    to.arena = true;
    rapt_future *f;
    ck_assert_int_eq(rapt_pool_submit(p, arena_task, NULL, &to, &f), 0);
    rapt_task_result r;
    rapt_future_wait(f, &r);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_le(r.arena_peak, 64 * 1024);
    ck_assert_uint_ge(r.arena_peak, 60 * 1024);
    rapt_future_release(f);
    rapt_pool_destroy(p);
}
END_TEST

/* ---- control ---- */

START_TEST(resize_up_and_down)
{
    rapt_pool *p = mkpool(1, RAPT_GATE_UNLIMITED);
    ck_assert_int_eq(rapt_pool_resize(p, 4), 0);
    ck_assert_uint_eq(pstats(p).threads, 4);
    /* Four blockers run at once only with four workers. */
    gatevar g[4];
    for (int i = 0; i < 4; i++) {
        gv_init(&g[i]);
        ck_assert_int_eq(rapt_pool_submit(p, blocker, &g[i], NULL, NULL), 0);
    }
    for (int i = 0; i < 4; i++)
        gv_await_entered(&g[i]);
    /* Shrinking does not interrupt anyone. */
    ck_assert_int_eq(rapt_pool_resize(p, 1), 0);
    ck_assert_uint_eq(pstats(p).running, 4);
    for (int i = 0; i < 4; i++)
        gv_open(&g[i]);
    rapt_pool_wait_idle(p);
    while (pstats(p).threads != 1)
        sched_yield();
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, NULL, NULL), 0);
    rapt_pool_wait_idle(p);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.completed, 54);
    ck_assert_int_eq(rapt_pool_resize(p, 3), 0);
    ck_assert_uint_eq(pstats(p).threads, 3);
    rapt_pool_destroy(p);
}
END_TEST

START_TEST(shutdown_cancel_reports_everything)
{
    rapt_pool *p = mkpool(1, RAPT_GATE_UNLIMITED);
    gatevar g;
    gv_init(&g);
    rapt_future *run;
    ck_assert_int_eq(rapt_pool_submit(p, until_stopped, &g, NULL, &run), 0);
    gv_await_entered(&g);
    rapt_future *f[20];
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, NULL, &f[i]), 0);
    ck_assert_int_eq(rapt_pool_shutdown(p, RAPT_POOL_CANCEL), 0);
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, NULL, NULL), RAPT_ECLOSED);
    ck_assert_int_eq(rapt_pool_resize(p, 2), RAPT_ECLOSED);
    ck_assert_int_eq(rapt_pool_shutdown(p, RAPT_POOL_DRAIN), 0); /* idempotent */
    rapt_task_result r;
    rapt_future_wait(run, &r);
    ck_assert(r.ran);
    ck_assert_int_eq(r.status, RAPT_ECANCELED);
    for (int i = 0; i < 20; i++) {
        rapt_future_wait(f[i], &r);
        ck_assert_int_eq(r.status, RAPT_ECANCELED);
        ck_assert(!r.ran);
        rapt_future_release(f[i]);
    }
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.completed, 21);
    ck_assert_uint_eq(st.cancelled, 21);
    rapt_pool_destroy(p);
    /* A future outlives its pool. */
    ck_assert(rapt_future_done(run));
    ck_assert_int_eq(rapt_future_wait(run, &r), 0);
    ck_assert_int_eq(rapt_future_cancel(run), -EALREADY);
    rapt_future_release(run);
}
END_TEST

static int waits_on_own_pool(rapt_task *t, void *arg)
{
    rapt_pool *p = arg;
    if (rapt_pool_wait_idle(p) != -EDEADLK || rapt_pool_shutdown(p, RAPT_POOL_DRAIN) != -EDEADLK)
        return -EIO;
    /* Submitting from a task is fine. */
    return rapt_pool_submit(p, ret_arg, NULL, NULL, NULL);
}

START_TEST(misuse_from_inside_a_task)
{
    rapt_pool *p = mkpool(2, RAPT_GATE_UNLIMITED);
    rapt_future *f;
    ck_assert_int_eq(rapt_pool_submit(p, waits_on_own_pool, p, NULL, &f), 0);
    rapt_task_result r;
    rapt_future_wait(f, &r);
    ck_assert_int_eq(r.status, 0);
    rapt_future_release(f);
    rapt_pool_wait_idle(p);
    ck_assert_uint_eq(pstats(p).completed, 2);
    rapt_pool_destroy(p);
}
END_TEST

START_TEST(bounded_queue)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = 1;
    o.max_queued = 3;
    o.mem_budget = RAPT_GATE_UNLIMITED;
    rapt_pool *p = NULL;
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    gatevar g;
    gv_init(&g);
    ck_assert_int_eq(rapt_pool_submit(p, blocker, &g, NULL, NULL), 0);
    gv_await_entered(&g);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, NULL, NULL), 0);
    ck_assert_int_eq(rapt_pool_submit(p, ret_arg, NULL, NULL, NULL), -EAGAIN);
    gv_open(&g);
    rapt_pool_destroy(p); /* drains */
}
END_TEST

/* ---- stress: a million tasks, every one accounted for ---- */

typedef struct stress {
    atomic_uchar *seen;
    atomic_ullong ok, failed, cancelled, timed_out, rejected, dup;
} stress;

static int stress_task(rapt_task *t, void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    /* A little work with cancellation points; some tasks fail on purpose. */
    unsigned x = (unsigned)i;
    for (int k = 0; k < 8; k++) {
        x = x * 1103515245u + 12345u;
        if ((k & 3) == 3 && rapt_task_should_stop(t))
            return rapt_task_check(t);
    }
    return (x % 97) == 0 ? -EIO : 0;
}

static void stress_done(const rapt_task_result *r, void *ud)
{
    stress *s = ud;
    uintptr_t i = (uintptr_t)r->arg;
    if (atomic_fetch_add(&s->seen[i], 1) != 0)
        atomic_fetch_add(&s->dup, 1);
    if (r->ran && r->status == 0)
        atomic_fetch_add(&s->ok, 1);
    else if (r->status == RAPT_ECANCELED)
        atomic_fetch_add(&s->cancelled, 1);
    else if (r->status == RAPT_ETIMEDOUT)
        atomic_fetch_add(&s->timed_out, 1);
    else if (r->ran)
        atomic_fetch_add(&s->failed, 1);
    else
        atomic_fetch_add(&s->rejected, 1);
}

static void run_stress(size_t n, unsigned threads)
{
    stress s = {.seen = calloc(n, sizeof(atomic_uchar))};
    ck_assert_ptr_nonnull(s.seen);
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = threads;
    o.mem_budget = 1 << 20;
    o.max_queued = 1 << 16;
    rapt_pool *p = NULL;
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    enum { NTOK = 16, RING = 256 };
    rapt_token *tok[NTOK];
    for (int i = 0; i < NTOK; i++)
        ck_assert_int_eq(rapt_token_create(&tok[i]), 0);
    rapt_future *ring[RING] = {0};
    unsigned seed = 2024;
    for (size_t i = 0; i < n; i++) {
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        unsigned r = (unsigned)rand_r(&seed);
        to.priority = (int)(r % 21) - 10;
        if (r % 3 == 0)
            to.deadline_ns = 1000ull * (1 + r % 50000);
        if (r % 10 == 1)
            to.timeout_ns = 1000ull * (1 + (r >> 8) % 2000);
        if (r % 5 == 2)
            to.token = tok[(r >> 4) % NTOK];
        if (r % 50 == 3)
            to.mem_estimate = 1 + (r >> 6) % (256 * 1024);
        to.on_done = stress_done;
        to.userdata = &s;
        rapt_future **slot = (r % 16 == 5) ? &ring[(r >> 10) % RING] : NULL;
        if (slot && *slot) {
            if ((r >> 3) % 2)
                rapt_future_cancel(*slot);
            rapt_future_release(*slot);
            *slot = NULL;
        }
        int rc;
        while ((rc = rapt_pool_submit(p, stress_task, (void *)i, &to, slot)) == -EAGAIN)
            usleep(200);
        ck_assert_int_eq(rc, 0);
        if (i == n / 3 || i == n / 2 || i == 2 * n / 3)
            rapt_token_cancel(tok[i % NTOK]);
    }
    for (int i = 0; i < RING; i++) {
        if (ring[i]) {
            rapt_task_result res;
            ck_assert_int_eq(rapt_future_wait(ring[i], &res), 0);
            rapt_future_release(ring[i]);
        }
    }
    ck_assert_int_eq(rapt_pool_wait_idle(p), 0);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(atomic_load(&s.dup), 0);
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&s.seen[i]) != 1)
            ck_abort_msg("task %zu reported %u times", i, (unsigned)atomic_load(&s.seen[i]));
    ck_assert_uint_eq(st.submitted, n);
    ck_assert_uint_eq(st.completed, n);
    ck_assert_uint_eq(st.ok + st.failed + st.cancelled + st.timed_out + st.rejected, n);
    ck_assert_uint_eq(st.ok, atomic_load(&s.ok));
    ck_assert_uint_eq(st.failed, atomic_load(&s.failed));
    ck_assert_uint_eq(st.cancelled, atomic_load(&s.cancelled));
    ck_assert_uint_eq(st.timed_out, atomic_load(&s.timed_out));
    ck_assert_uint_eq(st.rejected, atomic_load(&s.rejected));
    ck_assert_uint_gt(st.cancelled, 0);
    ck_assert_uint_gt(st.failed, 0);
    ck_assert_uint_eq(st.queued + st.running + st.mem_waiting, 0);
    ck_assert_uint_eq(st.mem_held, 0);
    rapt_pool_destroy(p);
    for (int i = 0; i < NTOK; i++)
        rapt_token_destroy(tok[i]);
    free(s.seen);
}

START_TEST(stress_million_tasks)
{
    /* A million in every build (about 3 s in release, 15 s under TSan here); RAPT_STRESS_TASKS
     * lowers it for valgrind. */
    const char *env = getenv("RAPT_STRESS_TASKS");
    size_t n = env ? strtoull(env, NULL, 10) : 1000000;
    run_stress(n, 2);
}
END_TEST

/* Several submitters at once, mostly plain tasks (the lock-free inbox, node reuse and batch
 * stealing), some with options, some run by their submitter when the queue is full, while the
 * pool is resized: every task is still reported exactly once. */
typedef struct producer {
    rapt_pool *p;
    stress *s;
    size_t from, to;
    unsigned seed;
} producer;

static void *produce(void *arg)
{
    producer *pr = arg;
    for (size_t i = pr->from; i < pr->to; i++) {
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        to.on_done = stress_done;
        to.userdata = pr->s;
        unsigned r = (unsigned)rand_r(&pr->seed);
        if (r % 8 == 0)
            to.priority = (int)(r % 5) - 2;
        if (r % 16 == 1)
            to.timeout_ns = 1000ull * (1 + r % 3000);
        rapt_future *f = NULL;
        int rc = rapt_pool_submit(pr->p, stress_task, (void *)i, &to, r % 64 == 2 ? &f : NULL);
        ck_assert_int_eq(rc, 0);
        if (f) {
            if (r % 128 == 2)
                rapt_future_cancel(f);
            rapt_future_release(f);
        }
    }
    return NULL;
}

typedef struct idle_loop {
    rapt_pool *p;
    atomic_bool stop;
    atomic_uint waits;
} idle_loop;

static void *wait_idle_loop(void *arg)
{
    idle_loop *il = arg;
    while (!atomic_load(&il->stop)) {
        if (rapt_pool_wait_idle(il->p) != 0)
            break;
        atomic_fetch_add(&il->waits, 1);
    }
    return NULL;
}

START_TEST(stress_many_producers)
{
    enum { NPROD = 3 };
    size_t n = 600000;
    const char *env = getenv("RAPT_STRESS_TASKS");
    if (env)
        n = strtoull(env, NULL, 10);
    stress s = {.seen = calloc(n, sizeof(atomic_uchar))};
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = 2;
    o.mem_budget = RAPT_GATE_UNLIMITED;
    o.max_queued = 4096;
    o.when_full = RAPT_POOL_FULL_CALLER_RUNS;
    rapt_pool *p = NULL;
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    producer pr[NPROD];
    pthread_t th[NPROD];
    for (int i = 0; i < NPROD; i++) {
        pr[i] = (producer){.p = p,
                           .s = &s,
                           .from = n * (size_t)i / NPROD,
                           .to = n * (size_t)(i + 1) / NPROD,
                           .seed = (unsigned)i + 11};
        pthread_create(&th[i], NULL, produce, &pr[i]);
    }
    /* A thread waiting for idleness all along: every wait must end (caller-run tasks count
     * as plain ones for a moment, and the waiter is woken when they stop counting). */
    idle_loop il = {.p = p};
    pthread_t wt;
    pthread_create(&wt, NULL, wait_idle_loop, &il);
    for (unsigned k = 0; k < 20; k++) {
        ck_assert_int_eq(rapt_pool_resize(p, 1 + k % 4), 0);
        usleep(1000);
    }
    for (int i = 0; i < NPROD; i++)
        pthread_join(th[i], NULL);
    atomic_store(&il.stop, true);
    pthread_join(wt, NULL);
    ck_assert_uint_gt(atomic_load(&il.waits), 0);
    ck_assert_int_eq(rapt_pool_wait_idle(p), 0);
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(atomic_load(&s.dup), 0);
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&s.seen[i]) != 1)
            ck_abort_msg("task %zu reported %u times", i, (unsigned)atomic_load(&s.seen[i]));
    ck_assert_uint_eq(st.submitted, n);
    ck_assert_uint_eq(st.completed, n);
    ck_assert_uint_eq(st.ok + st.failed + st.cancelled + st.timed_out + st.rejected, n);
    ck_assert_uint_eq(st.ok, atomic_load(&s.ok));
    ck_assert_uint_eq(st.queued + st.running, 0);
    rapt_pool_destroy(p);
    free(s.seen);
}
END_TEST

/* ---- stress: memory budget through arenas, against resident memory ---- */

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

typedef struct budget_run {
    atomic_ullong held, peak; /* sum of arena capacities of running tasks */
    atomic_ullong touched;
} budget_run;

static int alloc_random(rapt_task *t, void *arg)
{
    budget_run *b = arg;
    rapt_arena *a = rapt_task_arena(t);
    rapt_arena_stats st;
    rapt_arena_stats_get(a, &st);
    unsigned long long h = atomic_fetch_add(&b->held, st.capacity) + st.capacity;
    unsigned long long pk = atomic_load(&b->peak);
    while (h > pk && !atomic_compare_exchange_weak(&b->peak, &pk, h))
        ;
    unsigned seed = (unsigned)rapt_task_id(t);
    /* Allocate random sizes until the arena refuses: the arena, not the task, stops it. */
    for (;;) {
        size_t sz = 4096 + (size_t)rand_r(&seed) % (512 * 1024);
        void *q;
        int r = rapt_arena_alloc(a, sz, &q);
        if (r != 0) {
            if (r != -ENOMEM && r != RAPT_ETOOBIG)
                return -EIO;
            if (sz < 8192)
                break;
            continue; /* a smaller one may still fit */
        }
        memset(q, 0x5a, sz);
        atomic_fetch_add(&b->touched, sz);
        if (rand_r(&seed) % 4 == 0)
            rapt_arena_free(a, q);
        if (rand_r(&seed) % 64 == 0)
            break;
    }
    rapt_arena_stats_get(a, &st);
    if (st.used > st.capacity || st.peak_used > st.capacity)
        return -ERANGE;
    atomic_fetch_sub(&b->held, st.capacity);
    return 0;
}

START_TEST(stress_memory_budget_with_arenas)
{
    const uint64_t budget = 48ull << 20;
    rapt_pool *p = mkpool(4, budget);
    budget_run b = {0};
    bool can_measure = !SANITIZED;
    FILE *cr = fopen("/proc/self/clear_refs", "we");
    if (cr) {
        /* "5" resets the peak resident size (VmHWM) to the current one. */
        can_measure = can_measure && fputs("5", cr) >= 0;
        fclose(cr);
    } else {
        can_measure = false;
    }
    long base = status_kib("VmRSS");
    unsigned seed = 99;
    int n = SANITIZED ? 60 : 240;
    for (int i = 0; i < n; i++) {
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        to.mem_estimate = (1ull << 20) + (uint64_t)rand_r(&seed) % (15ull << 20);
        to.arena = true;
        ck_assert_int_eq(rapt_pool_submit(p, alloc_random, &b, &to, NULL), 0);
    }
    rapt_pool_wait_idle(p);
    long hwm = status_kib("VmHWM");
    rapt_pool_stats st = pstats(p);
    ck_assert_uint_eq(st.ok, (uint64_t)n);
    ck_assert_uint_le(atomic_load(&b.peak), budget);
    ck_assert_uint_le(st.mem_peak_held, budget);
    ck_assert_uint_gt(atomic_load(&b.touched), budget); /* far more passed through than fits */
    if (can_measure && base > 0 && hwm > 0) {
        /* The resident peak above the starting point stays within the budget plus what is not
         * arena memory (thread stacks, allocator and test bookkeeping): 8 MiB of slack. */
        long grew_kib = hwm - base;
        ck_assert_int_le(grew_kib, (long)(budget >> 10) + 8 * 1024);
        fprintf(stderr, "memory stress: budget %llu MiB, peak held %llu MiB, RSS grew %ld MiB\n",
                (unsigned long long)(budget >> 20), (unsigned long long)(st.mem_peak_held >> 20),
                grew_kib >> 10);
    }
    rapt_pool_destroy(p);
}
END_TEST

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Idle workers sleep: while one long task runs, the other worker must not burn CPU, even when
 * that task is the last of a batch still registered for stealing. Measured as the process's
 * CPU time over a pause, not as elapsed time: a spinning worker would use about as much CPU as
 * the pause lasts. */
START_TEST(idle_workers_sleep)
{
    rapt_pool *p = mkpool(1, RAPT_GATE_UNLIMITED);
    gatevar g[3];
    for (int i = 0; i < 3; i++)
        gv_init(&g[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rapt_pool_submit(p, blocker, &g[i], NULL, NULL), 0);
    gv_await_entered(&g[0]); /* the only worker took all three as one batch */
    ck_assert_int_eq(rapt_pool_resize(p, 2), 0);
    gv_await_entered(&g[1]); /* the new worker stole the second */
    gv_open(&g[0]);
    gv_await_entered(&g[2]); /* the owner claimed the last one */
    gv_open(&g[1]);
    while (!atomic_load(&g[0].finished) || !atomic_load(&g[1].finished))
        usleep(1000);
    /* Past its short spin, the idle worker goes to sleep (and is counted idle just before). */
    while (pstats(p).idle != 1)
        usleep(1000);
    double c0 = cpu_seconds();
    usleep(300000);
    double used = cpu_seconds() - c0;
    ck_assert_msg(used < 0.1, "an idle worker used %.3f s of CPU in a 0.3 s pause", used);
    gv_open(&g[2]);
    rapt_pool_destroy(p);
}
END_TEST

/* Workers carry the pool's name, visible to ps, top -H and gdb. */
START_TEST(workers_are_named)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = 2;
    o.mem_budget = RAPT_GATE_UNLIMITED;
    o.name = "tname";
    rapt_pool *p = NULL;
    ck_assert_int_eq(rapt_pool_create(&p, &o), 0);
    int found = 0;
    for (int tries = 0; tries < 1000 && found < 2; tries++) {
        /* The names are set by the workers themselves as they start. */
        found = 0;
        DIR *d = opendir("/proc/self/task");
        ck_assert_ptr_nonnull(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[300], comm[32] = "";
            snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
            FILE *f = fopen(path, "re");
            if (!f)
                continue;
            if (fgets(comm, sizeof(comm), f) &&
                (strcmp(comm, "tname-0\n") == 0 || strcmp(comm, "tname-1\n") == 0))
                found++;
            fclose(f);
        }
        closedir(d);
        if (found < 2)
            usleep(1000);
    }
    ck_assert_int_eq(found, 2);
    rapt_pool_destroy(p);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    RAPT_TCASE(s, bad_arguments_are_errors, 10);
    RAPT_TCASE(s, defaults_follow_the_machine, 10);
    RAPT_TCASE(s, results_and_accounting, 20);
    RAPT_TCASE(s, plain_task_timing_is_opt_in, 20);
    RAPT_TCASE(s, priority_then_deadline_then_fifo, 20);
    RAPT_TCASE(s, earliest_deadline_first, 20);
    RAPT_TCASE(s, fifo_order, 20);
    RAPT_TCASE(s, aging_prevents_starvation, 20);
    RAPT_TCASE(s, cancel_queued_and_running, 20);
    RAPT_TCASE(s, timeouts_queued_and_running, 20);
    RAPT_TCASE(s, token_cancels_a_group, 20);
    RAPT_TCASE(s, memory_estimates_bound_concurrency, 30);
    RAPT_TCASE(s, no_estimate_tasks_pass_a_memory_waiter, 30);
    RAPT_TCASE(s, pools_share_a_gate, 60);
    RAPT_TCASE(s, budget_hook_admits_waiting_task, 30);
    RAPT_TCASE(s, memory_waiter_cancel_and_timeout, 30);
    RAPT_TCASE(s, per_task_arena_is_bounded_by_estimate, 20);
    RAPT_TCASE(s, resize_up_and_down, 30);
    RAPT_TCASE(s, shutdown_cancel_reports_everything, 30);
    RAPT_TCASE(s, misuse_from_inside_a_task, 20);
    RAPT_TCASE(s, bounded_queue, 20);
    RAPT_TCASE(s, workers_are_named, 20);
    RAPT_TCASE(s, idle_workers_sleep, 30);
    RAPT_TCASE(s, stress_million_tasks, 400);
    RAPT_TCASE(s, stress_many_producers, 400);
    RAPT_TCASE(s, stress_memory_budget_with_arenas, 200);
    return s;
}

RAPT_TEST_MAIN(pool_suite)
