/* gate.c: admission over slots and bytes, fair to large requests, resizable at run time.
 *
 * Owns the capacity, what is held, and a FIFO of waiters. The fairness rule (header comment of
 * rapt/gate.h) is implemented in two places that must agree: grant() walks the FIFO and admits
 * or reserves, and room_after_waiters() computes what a new request may use after every
 * waiter's reservation. Both treat a dimension whose capacity is RAPT_GATE_UNLIMITED like any
 * other: its "free" amount is just very large.
 *
 * Locking: one mutex per gate guards everything below. Each waiter sleeps on its own condition
 * variable (in its own stack frame or task node), and whoever changes the gate admits waiters
 * on their behalf: it adds their request to `held` and signals exactly them. A woken waiter
 * therefore never competes with newcomers for what was released for it. The gate's mutex is
 * the innermost lock in librapt: code here never takes another lock and never calls a callback
 * while holding it (callbacks run after the unlock).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rapt/gate.h"

enum { SLOTS = 0, BYTES = 1, NDIM = 2 };
enum { WAITING = 1 };

struct rapt_gate {
    pthread_mutex_t mu;
    uint64_t cap[NDIM];  /* capacity */
    uint64_t max[NDIM];  /* explicit maximum single request, 0 = follow cap */
    uint64_t held[NDIM]; /* may exceed cap after a shrink or a charge */
    rapt__gate_waiter *head, *tail;
    uint64_t nwaiters;
    bool closed;
    rapt_gate_stats st;
    void (*on_available)(void *);
    void *userdata;
    rapt_log_fn log;
    void *log_userdata;
};

void rapt_gate_opts_init(rapt_gate_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof(*o));
    o->slots = RAPT_GATE_UNLIMITED;
    o->bytes = RAPT_GATE_UNLIMITED;
}

static uint64_t eff_max(const rapt_gate *g, int d)
{
    return g->max[d] ? g->max[d] : g->cap[d];
}

static uint64_t free_of(const rapt_gate *g, int d)
{
    return rapt__sat_sub(g->cap[d], g->held[d]);
}

static bool too_big(const rapt_gate *g, const uint64_t need[NDIM])
{
    return need[SLOTS] > eff_max(g, SLOTS) || need[BYTES] > eff_max(g, BYTES);
}

static bool fits(const uint64_t need[NDIM], const uint64_t avail[NDIM])
{
    return need[SLOTS] <= avail[SLOTS] && need[BYTES] <= avail[BYTES];
}

/* Adds a request to what is held. Saturating: with an unlimited capacity the sum may reach
 * UINT64_MAX, which then simply reads as "full". */
static void take(rapt_gate *g, const uint64_t need[NDIM])
{
    for (int d = 0; d < NDIM; d++) {
        g->held[d] = rapt__sat_add(g->held[d], need[d]);
        if (g->held[d] > (d == SLOTS ? g->st.peak_held_slots : g->st.peak_held_bytes)) {
            if (d == SLOTS)
                g->st.peak_held_slots = g->held[d];
            else
                g->st.peak_held_bytes = g->held[d];
        }
    }
}

static void unlink_waiter(rapt_gate *g, rapt__gate_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        g->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        g->tail = w->prev;
    w->prev = w->next = NULL;
    w->queued = false;
    g->nwaiters--;
}

/* What a request arriving now may use: the free capacity less every waiter's reservation. The
 * waiters are all blocked (grant() runs after every change), so each reserves min(need, left)
 * in every dimension, in FIFO order. */
static void room_after_waiters(const rapt_gate *g, uint64_t avail[NDIM])
{
    avail[SLOTS] = free_of(g, SLOTS);
    avail[BYTES] = free_of(g, BYTES);
    for (const rapt__gate_waiter *w = g->head; w; w = w->next)
        for (int d = 0; d < NDIM; d++)
            avail[d] -= RAPT__MIN(w->need[d], avail[d]);
}

/* Admits, in FIFO order, every waiter that fits in what earlier waiters left; fails waiters
 * that became impossible (a shrink of a maximum that follows the capacity, or a close).
 * Returns true when some waiter left the queue, i.e. a reservation disappeared. */
static bool grant(rapt_gate *g, uint64_t now)
{
    uint64_t avail[NDIM] = {free_of(g, SLOTS), free_of(g, BYTES)};
    bool blocked_before = false, changed = false;
    rapt__gate_waiter *w = g->head;
    while (w) {
        rapt__gate_waiter *next = w->next;
        int result = WAITING;
        if (g->closed) {
            result = RAPT_ECLOSED;
            g->st.closed_out++;
        } else if (too_big(g, w->need)) {
            result = RAPT_ETOOBIG;
            g->st.too_big++;
        } else if (fits(w->need, avail)) {
            take(g, w->need);
            for (int d = 0; d < NDIM; d++)
                avail[d] -= w->need[d];
            uint64_t waited = rapt__sat_sub(now, w->enq_ns);
            g->st.admitted++;
            g->st.admitted_waiting++;
            g->st.wait_ns_total += waited;
            if (waited > g->st.wait_ns_max)
                g->st.wait_ns_max = waited;
            if (blocked_before)
                g->st.passed++;
            result = 0;
        } else {
            /* It stays and reserves what is free up to its need, so nothing behind it can
             * take what it is waiting for. */
            for (int d = 0; d < NDIM; d++)
                avail[d] -= RAPT__MIN(w->need[d], avail[d]);
            blocked_before = true;
        }
        if (result != WAITING) {
            unlink_waiter(g, w);
            w->result = result;
            pthread_cond_signal(&w->cond);
            changed = true;
        }
        w = next;
    }
    return changed;
}

/* A gate with both capacities 0 could never admit anything and most likely comes from
 * options left unset: refused. One capacity 0 is fine ("no memory budget right now"). */
int rapt_gate_create(rapt_gate **out, const rapt_gate_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    rapt_gate_opts defaults;
    if (!opts) {
        rapt_gate_opts_init(&defaults);
        opts = &defaults;
    }
    if (opts->slots == 0 && opts->bytes == 0)
        return -EINVAL;
    rapt_gate *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    int r = pthread_mutex_init(&g->mu, NULL);
    if (r != 0) {
        free(g);
        return -r;
    }
    g->cap[SLOTS] = opts->slots;
    g->cap[BYTES] = opts->bytes;
    g->max[SLOTS] = opts->max_slots;
    g->max[BYTES] = opts->max_bytes;
    g->on_available = opts->on_available;
    g->userdata = opts->userdata;
    g->log = opts->log;
    g->log_userdata = opts->log_userdata;
    *out = g;
    return 0;
}

void rapt_gate_destroy(rapt_gate *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* Runs after the unlock. The callback may call back into this gate (a try_acquire from an
 * event loop's handler): holding the lock here would deadlock it. */
static void notify(rapt_gate *g, bool maybe_room)
{
    if (maybe_room && g->on_available)
        g->on_available(g->userdata);
}

static void log_too_big(rapt_gate *g, const uint64_t need[NDIM], const uint64_t max[NDIM])
{
    if (!g->log)
        return;
    char msg[192];
    snprintf(msg, sizeof(msg),
             "gate: a request of %llu slots and %llu bytes can never fit (maximum %llu slots, "
             "%llu bytes)",
             (unsigned long long)need[SLOTS], (unsigned long long)need[BYTES],
             (unsigned long long)max[SLOTS], (unsigned long long)max[BYTES]);
    g->log(g->log_userdata, RAPT_LOG_WARN, msg);
}

static int cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t a;
    int r = pthread_condattr_init(&a);
    if (r != 0)
        return -r;
    r = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (r == 0)
        r = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return -r;
}

/* The one acquisition path. deadline: 0 = wait forever, 1 = do not wait (try), otherwise an
 * absolute CLOCK_MONOTONIC time in ns. */
#define TRY_ONLY RAPT__GATE_TRY

int rapt__gate_wait(rapt_gate *g, rapt__gate_waiter *w, uint64_t slots, uint64_t bytes,
                    uint64_t deadline_ns, const _Atomic int *stop)
{
    if (!g || (slots == 0 && bytes == 0))
        return -EINVAL;
    const uint64_t need[NDIM] = {slots, bytes};
    uint64_t max[NDIM];
    int rc;
    pthread_mutex_lock(&g->mu);
    /* The checks run in the order of their permanence: closed forever, too big for the current
     * maximum (until a resize), then "not now". A caller can then tell "give up" from "retry"
     * without looking at the gate's state itself. */
    if (g->closed) {
        g->st.closed_out++;
        pthread_mutex_unlock(&g->mu);
        return RAPT_ECLOSED;
    }
    if (too_big(g, need)) {
        g->st.too_big++;
        max[SLOTS] = eff_max(g, SLOTS);
        max[BYTES] = eff_max(g, BYTES);
        pthread_mutex_unlock(&g->mu);
        log_too_big(g, need, max);
        return RAPT_ETOOBIG;
    }
    /* A newcomer is admitted only from what the waiters have not reserved: this is the whole
     * of the fairness rule for try_acquire, which never queues. */
    uint64_t avail[NDIM];
    room_after_waiters(g, avail);
    if (fits(need, avail)) {
        take(g, need);
        g->st.admitted++;
        if (g->nwaiters)
            g->st.passed++;
        pthread_mutex_unlock(&g->mu);
        return 0;
    }
    if (deadline_ns == TRY_ONLY) {
        g->st.refused++;
        pthread_mutex_unlock(&g->mu);
        return -EAGAIN;
    }
    /* The stop flag is read under the gate's lock before queueing (see the protocol in
     * internal.h): a stop stored before this point is seen here, one stored after finds the
     * waiter queued when rapt__gate_kick() takes the lock. */
    int stopped = stop ? atomic_load(stop) : 0;
    if (stopped) {
        pthread_mutex_unlock(&g->mu);
        return stopped;
    }
    /* The condition variable uses the monotonic clock, so a deadline survives changes of the
     * wall clock (NTP steps, a suspended VM). */
    rc = cond_init_monotonic(&w->cond);
    if (rc < 0) {
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    w->need[SLOTS] = slots;
    w->need[BYTES] = bytes;
    w->result = WAITING;
    w->stop = stop;
    w->enq_ns = rapt__now_ns();
    w->next = NULL;
    w->prev = g->tail;
    if (g->tail)
        g->tail->next = w;
    else
        g->head = w;
    g->tail = w;
    w->queued = true;
    g->nwaiters++;

    struct timespec ts;
    if (deadline_ns) {
        ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
        ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
    }
    /* Whoever admits this waiter also changes w->result under the lock and signals, so the
     * loop ends exactly when the outcome is decided; spurious wake-ups just loop. A timeout
     * that races with an admission loses: if result is no longer WAITING after the timed wait,
     * the bytes were already added to `held` for us and we keep them. */
    bool left_early = false;
    while (w->result == WAITING) {
        stopped = w->stop ? atomic_load(w->stop) : 0;
        if (stopped) {
            unlink_waiter(g, w);
            w->result = stopped;
            left_early = true;
            break;
        }
        int r = deadline_ns ? pthread_cond_timedwait(&w->cond, &g->mu, &ts)
                            : pthread_cond_wait(&w->cond, &g->mu);
        if (r == ETIMEDOUT && w->result == WAITING) {
            unlink_waiter(g, w);
            w->result = RAPT_ETIMEDOUT;
            g->st.timed_out++;
            left_early = true;
        }
    }
    /* A waiter that leaves without being admitted drops its reservation, which may let the
     * waiters behind it in. */
    bool changed = left_early && grant(g, rapt__now_ns());
    rc = w->result;
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&w->cond);
    notify(g, left_early || changed);
    return rc;
}

/* Only signals: the waiter itself reads its stop flag and leaves the queue, so the queue is
 * changed by one party and the reservation it drops is granted onwards by the leaver. */
void rapt__gate_kick(rapt_gate *g, rapt__gate_waiter *w)
{
    pthread_mutex_lock(&g->mu);
    if (w->queued)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&g->mu);
}

int rapt_gate_acquire(rapt_gate *g, uint64_t slots, uint64_t bytes)
{
    rapt__gate_waiter w;
    return rapt__gate_wait(g, &w, slots, bytes, 0, NULL);
}

int rapt_gate_timed_acquire(rapt_gate *g, uint64_t slots, uint64_t bytes, uint64_t timeout_ns)
{
    rapt__gate_waiter w;
    if (timeout_ns == 0)
        return rapt__gate_wait(g, &w, slots, bytes, TRY_ONLY, NULL);
    /* A deadline of exactly TRY_ONLY or 0 cannot come out of a real clock plus a positive
     * timeout, so the sentinels stay unambiguous. */
    return rapt__gate_wait(g, &w, slots, bytes, rapt__sat_add(rapt__now_ns(), timeout_ns), NULL);
}

int rapt_gate_try_acquire(rapt_gate *g, uint64_t slots, uint64_t bytes)
{
    rapt__gate_waiter w;
    return rapt__gate_wait(g, &w, slots, bytes, TRY_ONLY, NULL);
}

/* No waiter can be admitted by a charge (it only adds to what is held), so there is nothing to
 * grant and no one to notify. */
int rapt_gate_charge(rapt_gate *g, uint64_t slots, uint64_t bytes)
{
    if (!g)
        return -EINVAL;
    const uint64_t need[NDIM] = {slots, bytes};
    pthread_mutex_lock(&g->mu);
    take(g, need);
    g->st.charged_bytes = rapt__sat_add(g->st.charged_bytes, bytes);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

int rapt_gate_release(rapt_gate *g, uint64_t slots, uint64_t bytes)
{
    if (!g)
        return -EINVAL;
    pthread_mutex_lock(&g->mu);
    if (slots > g->held[SLOTS] || bytes > g->held[BYTES]) {
        pthread_mutex_unlock(&g->mu);
        return -EINVAL;
    }
    g->held[SLOTS] -= slots;
    g->held[BYTES] -= bytes;
    /* The clock is read only when someone waits: a release with no waiter stays a few
     * arithmetic operations under the lock. */
    grant(g, g->head ? rapt__now_ns() : 0);
    pthread_mutex_unlock(&g->mu);
    notify(g, true);
    return 0;
}

static int change_limits(rapt_gate *g, const uint64_t *cap, const uint64_t *max)
{
    if (!g)
        return -EINVAL;
    pthread_mutex_lock(&g->mu);
    if (g->closed) {
        pthread_mutex_unlock(&g->mu);
        return RAPT_ECLOSED;
    }
    for (int d = 0; d < NDIM; d++) {
        if (cap)
            g->cap[d] = cap[d];
        if (max)
            g->max[d] = max[d];
    }
    g->st.resizes++;
    /* Growing admits waiters that now fit; shrinking a maximum that follows the capacity fails
     * the waiters that became impossible. Both are grant()'s job, with the same rule as a
     * release, so a resize can never admit out of order. */
    grant(g, g->head ? rapt__now_ns() : 0);
    pthread_mutex_unlock(&g->mu);
    notify(g, true);
    return 0;
}

int rapt_gate_resize(rapt_gate *g, uint64_t slots, uint64_t bytes)
{
    const uint64_t cap[NDIM] = {slots, bytes};
    return change_limits(g, cap, NULL);
}

int rapt_gate_set_max(rapt_gate *g, uint64_t max_slots, uint64_t max_bytes)
{
    const uint64_t max[NDIM] = {max_slots, max_bytes};
    return change_limits(g, NULL, max);
}

void rapt_gate_budget_sink(void *target, uint64_t budget_bytes)
{
    rapt_gate *g = target;
    if (!g)
        return;
    /* Read the slot capacity and write both under one lock so a concurrent slot resize is not
     * undone by this byte resize. */
    pthread_mutex_lock(&g->mu);
    bool closed = g->closed;
    if (!closed) {
        g->cap[BYTES] = budget_bytes;
        g->st.resizes++;
        grant(g, g->head ? rapt__now_ns() : 0);
    }
    pthread_mutex_unlock(&g->mu);
    notify(g, !closed);
}

int rapt_gate_close(rapt_gate *g)
{
    if (!g)
        return -EINVAL;
    pthread_mutex_lock(&g->mu);
    bool was = g->closed;
    g->closed = true;
    if (!was)
        grant(g, 0);
    pthread_mutex_unlock(&g->mu);
    notify(g, !was);
    return 0;
}

int rapt_gate_stats_get(rapt_gate *g, rapt_gate_stats *out)
{
    if (!g || !out)
        return -EINVAL;
    pthread_mutex_lock(&g->mu);
    *out = g->st;
    out->cap_slots = g->cap[SLOTS];
    out->cap_bytes = g->cap[BYTES];
    out->max_slots = eff_max(g, SLOTS);
    out->max_bytes = eff_max(g, BYTES);
    out->held_slots = g->held[SLOTS];
    out->held_bytes = g->held[BYTES];
    out->waiters = g->nwaiters;
    pthread_mutex_unlock(&g->mu);
    return 0;
}
