/* objpool.c: a pool of reusable objects with min/max, validation and idle eviction.
 *
 * Owns the objects' bookkeeping (not the objects: the callbacks make and free them), a FIFO of
 * waiting threads and the optional housekeeping thread. Idle objects are a double-ended queue:
 * lending takes from the back (most recently returned, warmest), eviction from the front
 * (idle longest), so both are O(1). Lent objects are kept in an array so a release can be
 * checked against what was really lent (O(lent), fine for pools of handles).
 *
 * Locking: one mutex guards the pool; callbacks run without it. The count of objects being
 * created (`creating`) is reserved before a create callback runs, so `max` holds even while
 * several threads create at once. A returned object goes straight to the oldest waiter (as in
 * gate.c), so a waiter never loses it to a newcomer. This file takes no other lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "os/os.h"
#include "rapt/objpool.h"

typedef struct idle_obj {
    void *obj;
    uint64_t since;
} idle_obj;

typedef struct owaiter {
    struct owaiter *next;
    pthread_cond_t cond;
    void *obj;  /* handed over by a release */
    int result; /* 1 waiting, 0 got obj, 2 may create, <0 error */
} owaiter;

enum { W_WAITING = 1, W_GOT = 0, W_CREATE = 2 };

struct rapt_objpool {
    pthread_mutex_t mu;
    pthread_cond_t hk_cv; /* wakes the housekeeper */
    rapt_objpool_opts o;
    char name[11];
    idle_obj *idle; /* ring of capacity max */
    size_t ihead, nidle;
    void **lent;
    size_t nlent;
    size_t creating;
    owaiter *wh, *wt;
    bool closed;
    bool hk_running;
    pthread_t hk;
    rapt_objpool_stats st;
};

static uint64_t now_ns(void)
{
    return rapt__now_ns();
}

/* Every object that exists or is about to: idle, lent, or being created, validated or reset
 * by a thread that has dropped the lock. max bounds this sum at all times. */
static size_t total(const rapt_objpool *p)
{
    return p->nidle + p->nlent + p->creating;
}

/* The idle ring has room for max objects, which total() never exceeds, so pushes cannot
 * overflow it. */
static void idle_push_back(rapt_objpool *p, void *obj, uint64_t since)
{
    size_t i = (p->ihead + p->nidle) % p->o.max;
    p->idle[i].obj = obj;
    p->idle[i].since = since;
    p->nidle++;
}

static void *idle_pop_back(rapt_objpool *p)
{
    p->nidle--;
    return p->idle[(p->ihead + p->nidle) % p->o.max].obj;
}

static idle_obj *idle_front(rapt_objpool *p)
{
    return &p->idle[p->ihead];
}

static void *idle_pop_front(rapt_objpool *p)
{
    void *obj = p->idle[p->ihead].obj;
    p->ihead = (p->ihead + 1) % p->o.max;
    p->nidle--;
    return obj;
}

static void lend(rapt_objpool *p, void *obj)
{
    p->lent[p->nlent++] = obj;
    if (p->nlent > p->st.peak_lent)
        p->st.peak_lent = p->nlent;
}

/* Removes obj from the lent set, if it is there. Checking membership is what makes a double
 * release or a foreign pointer an error instead of a corrupted pool. */
static bool unlend(rapt_objpool *p, void *obj)
{
    for (size_t i = 0; i < p->nlent; i++) {
        if (p->lent[i] == obj) {
            p->lent[i] = p->lent[--p->nlent];
            return true;
        }
    }
    return false;
}

static void free_pool(rapt_objpool *p)
{
    pthread_cond_destroy(&p->hk_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p->lent);
    free(p);
}

void rapt_objpool_opts_init(rapt_objpool_opts *o)
{
    if (o)
        memset(o, 0, sizeof(*o));
}

/* Destroys the idle objects past the timeout, oldest first, keeping min. Returns how many.
 * One object per lock round: the destroy callback (closing a connection) may be slow and must
 * not run under the lock, and lenders may come and go between two evictions. */
static int evict(rapt_objpool *p)
{
    if (!p->o.idle_timeout_ns)
        return 0;
    int n = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        uint64_t now = now_ns();
        void *victim = NULL;
        if (p->nidle && total(p) > p->o.min &&
            rapt__sat_add(idle_front(p)->since, p->o.idle_timeout_ns) <= now) {
            victim = idle_pop_front(p);
            p->st.evicted++;
            p->st.destroyed++;
        }
        pthread_mutex_unlock(&p->mu);
        if (!victim)
            return n;
        p->o.ops.destroy(p->o.userdata, victim);
        n++;
    }
}

/* The housekeeping thread: evicts, then sleeps until the oldest idle object's deadline. A
 * release signals it (the idle set changed, perhaps from empty), and closing the pool wakes it
 * to exit. */
static void *housekeeper(void *arg)
{
    rapt_objpool *p = arg;
    char name[16];
    snprintf(name, sizeof(name), "%s-idle", p->name);
    rapt__os_thread_name(name);
    pthread_mutex_lock(&p->mu);
    while (!p->closed) {
        pthread_mutex_unlock(&p->mu);
        evict(p);
        pthread_mutex_lock(&p->mu);
        if (p->closed)
            break;
        /* Sleep until the oldest idle object expires, or until a release changes that. */
        if (p->nidle && total(p) > p->o.min) {
            uint64_t at = rapt__sat_add(idle_front(p)->since, p->o.idle_timeout_ns);
            struct timespec ts = {.tv_sec = (time_t)(at / 1000000000ull),
                                  .tv_nsec = (long)(at % 1000000000ull)};
            pthread_cond_timedwait(&p->hk_cv, &p->mu, &ts);
        } else {
            pthread_cond_wait(&p->hk_cv, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int rapt_objpool_create(rapt_objpool **out, const rapt_objpool_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!opts || !opts->ops.create || !opts->ops.destroy || opts->max == 0 ||
        opts->max > RAPT_OBJPOOL_MAX_OBJECTS || opts->min > opts->max || opts->prewarm > opts->max)
        return -EINVAL;
    rapt_objpool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->o = *opts;
    p->idle = calloc(opts->max, sizeof(*p->idle));
    p->lent = calloc(opts->max, sizeof(*p->lent));
    if (!p->idle || !p->lent) {
        free(p->idle);
        free(p->lent);
        free(p);
        return -ENOMEM;
    }
    rapt__strlcpy(p->name, opts->name && *opts->name ? opts->name : "rapt-obj", sizeof(p->name));
    p->o.name = NULL; /* not kept: the caller's string may go away */
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->hk_cv, &ca);
    pthread_condattr_destroy(&ca);

    /* Prewarming happens before the pool is visible to anyone, so no lock is needed; a failure
     * undoes everything, leaving no half-made pool behind. */
    size_t warm = opts->prewarm ? opts->prewarm : opts->min;
    for (size_t i = 0; i < warm; i++) {
        void *obj = NULL;
        int r = opts->ops.create(opts->userdata, &obj);
        if (r < 0) {
            while (p->nidle)
                opts->ops.destroy(opts->userdata, idle_pop_back(p));
            free_pool(p);
            return r;
        }
        idle_push_back(p, obj, now_ns());
        p->st.created++;
    }
    if (opts->idle_timeout_ns) {
        int r = pthread_create(&p->hk, NULL, housekeeper, p);
        if (r != 0) {
            while (p->nidle)
                opts->ops.destroy(opts->userdata, idle_pop_back(p));
            free_pool(p);
            return -r;
        }
        p->hk_running = true;
    }
    *out = p;
    return 0;
}

static int cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int r = pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
    return -r;
}

static void remove_waiter(rapt_objpool *p, owaiter *w)
{
    owaiter **pp = &p->wh;
    owaiter *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = w->next;
        if (p->wt == w)
            p->wt = prev;
    }
}

/* Gives room that appeared under max (an object destroyed, a creation failed) to the oldest
 * waiter: the room is reserved for it here (counted in `creating`), so a thread arriving
 * before the waiter wakes cannot take it and send the waiter to the back of the line. */
static void wake_creator(rapt_objpool *p)
{
    owaiter *w = p->wh;
    if (w && total(p) < p->o.max) {
        p->wh = w->next;
        if (!p->wh)
            p->wt = NULL;
        p->creating++;
        w->result = W_CREATE;
        pthread_cond_signal(&w->cond);
    }
}

int rapt_objpool_acquire(rapt_objpool *p, uint64_t timeout_ns, void **obj)
{
    if (!p || !obj)
        return -EINVAL;
    *obj = NULL;
    uint64_t t0 = now_ns();
    uint64_t deadline = timeout_ns == RAPT_OBJPOOL_FOREVER ? 0 : rapt__sat_add(t0, timeout_ns);
    bool waited = false, reserved = false; /* reserved: wake_creator() counted us in creating */
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->closed) {
            if (reserved)
                p->creating--;
            rc = RAPT_ECLOSED;
            break;
        }
        if (p->nidle && !reserved) {
            void *o = idle_pop_back(p);
            if (p->o.ops.validate) {
                /* Keep it counted while it is being checked: count it as being created. */
                p->creating++;
                pthread_mutex_unlock(&p->mu);
                bool ok = p->o.ops.validate(p->o.userdata, o);
                if (!ok)
                    p->o.ops.destroy(p->o.userdata, o);
                pthread_mutex_lock(&p->mu);
                p->creating--;
                if (!ok) {
                    p->st.invalid++;
                    p->st.destroyed++;
                    continue;
                }
            }
            lend(p, o);
            p->st.reused++;
            *obj = o;
            break;
        }
        if (reserved || total(p) < p->o.max) {
            /* Count the object before it exists, so max holds while the (possibly slow)
             * create callback runs without the lock. */
            if (!reserved)
                p->creating++;
            reserved = false;
            pthread_mutex_unlock(&p->mu);
            void *o = NULL;
            int r = p->o.ops.create(p->o.userdata, &o);
            pthread_mutex_lock(&p->mu);
            p->creating--;
            if (r < 0) {
                p->st.create_failed++;
                wake_creator(p); /* the room we reserved is free again */
                rc = r;
                break;
            }
            p->st.created++;
            if (p->closed) {
                pthread_mutex_unlock(&p->mu);
                p->o.ops.destroy(p->o.userdata, o);
                pthread_mutex_lock(&p->mu);
                p->st.destroyed++;
                rc = RAPT_ECLOSED;
                break;
            }
            lend(p, o);
            *obj = o;
            break;
        }
        /* Nothing idle and no room: a try (timeout 0) fails here without queueing, so it can
         * never take an object ahead of a thread that waits. */
        if (timeout_ns == 0) {
            rc = -EAGAIN;
            break;
        }
        /* Wait in line for a returned object or for room to create one. */
        owaiter w = {.next = NULL, .obj = NULL, .result = W_WAITING};
        rc = cond_init_mono(&w.cond);
        if (rc < 0)
            break;
        /* The waiter lives in this frame and is in the list only while we sleep here: a
         * release, a timeout or a close unlinks it before this frame can return. */
        if (p->wt)
            p->wt->next = &w;
        else
            p->wh = &w; /* cppcheck-suppress autoVariables */
        p->wt = &w;     /* cppcheck-suppress autoVariables */
        if (!waited) {
            waited = true;
            p->st.waits++;
        }
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
                              .tv_nsec = (long)(deadline % 1000000000ull)};
        while (w.result == W_WAITING) {
            int r = deadline ? pthread_cond_timedwait(&w.cond, &p->mu, &ts)
                             : pthread_cond_wait(&w.cond, &p->mu);
            if (r == ETIMEDOUT && w.result == W_WAITING) {
                remove_waiter(p, &w);
                w.result = RAPT_ETIMEDOUT;
            }
        }
        pthread_cond_destroy(&w.cond);
        if (w.result == W_GOT) {
            *obj = w.obj; /* already in lent[], put there by the releaser */
            p->st.reused++;
            rc = 0;
            break;
        }
        if (w.result == W_CREATE) {
            reserved = true;
            continue;
        }
        /* A timeout that raced with a hand-over loses: the loop above only times out while
         * still WAITING, and a handed object is already counted as lent to us. */
        if (w.result == RAPT_ETIMEDOUT) {
            p->st.timeouts++;
            /* We may have been next for room that appeared; pass it on. */
            wake_creator(p);
        }
        rc = w.result;
        break;
    }
    /* Latency covers the whole call: waiting, validation and creation, which is what a caller
     * of a connection pool experiences. */
    if (rc == 0) {
        uint64_t lat = now_ns() - t0;
        p->st.acquired++;
        p->st.latency_ns_total += lat;
        if (lat > p->st.latency_ns_max)
            p->st.latency_ns_max = lat;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Called after the last lent object of a destroyed pool came back. */
static void maybe_free(rapt_objpool *p, bool closed_and_empty)
{
    if (closed_and_empty)
        free_pool(p);
}

static int give_back(rapt_objpool *p, void *obj, bool broken)
{
    if (!p || !obj)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    if (!unlend(p, obj)) {
        pthread_mutex_unlock(&p->mu);
        return -EINVAL;
    }
    /* reset runs without the lock but before the object is visible to anyone else, so it has
     * the object to itself; while it runs the object is counted in `creating`. */
    if (!broken && !p->closed && p->o.ops.reset) {
        /* Keep it counted while the caller's reset runs unlocked. */
        p->creating++;
        pthread_mutex_unlock(&p->mu);
        p->o.ops.reset(p->o.userdata, obj);
        pthread_mutex_lock(&p->mu);
        p->creating--;
    }
    if (broken || p->closed) {
        p->st.destroyed++;
        wake_creator(p);
        bool last = p->closed && total(p) == 0;
        pthread_mutex_unlock(&p->mu);
        p->o.ops.destroy(p->o.userdata, obj);
        maybe_free(p, last);
        return 0;
    }
    /* Hand over to the oldest waiter directly: it never competes with newcomers for this
     * object. Otherwise the object becomes idle, at the back (the warm end). */
    owaiter *w = p->wh;
    if (w) {
        p->wh = w->next;
        if (!p->wh)
            p->wt = NULL;
        lend(p, obj);
        w->obj = obj;
        w->result = W_GOT;
        pthread_cond_signal(&w->cond);
    } else {
        idle_push_back(p, obj, now_ns());
        if (p->hk_running)
            pthread_cond_signal(&p->hk_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int rapt_objpool_release(rapt_objpool *p, void *obj)
{
    return give_back(p, obj, false);
}

int rapt_objpool_discard(rapt_objpool *p, void *obj)
{
    return give_back(p, obj, true);
}

int rapt_objpool_evict_idle(rapt_objpool *p)
{
    if (!p)
        return -EINVAL;
    return evict(p);
}

/* Destroy closes the pool and destroys what is idle; what is still lent keeps the pool alive
 * until it comes back (see give_back()), so a late release never touches freed memory. */
void rapt_objpool_destroy(rapt_objpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    for (owaiter *w = p->wh; w; w = w->next) {
        w->result = RAPT_ECLOSED;
        pthread_cond_signal(&w->cond);
    }
    p->wh = p->wt = NULL;
    pthread_cond_signal(&p->hk_cv);
    pthread_mutex_unlock(&p->mu);
    if (p->hk_running)
        pthread_join(p->hk, NULL);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        void *o = p->nidle ? idle_pop_back(p) : NULL;
        if (o)
            p->st.destroyed++;
        bool last = !o && total(p) == 0;
        pthread_mutex_unlock(&p->mu);
        if (o) {
            p->o.ops.destroy(p->o.userdata, o);
            continue;
        }
        /* Objects still lent out free the pool when the last one comes back. */
        maybe_free(p, last);
        return;
    }
}

int rapt_objpool_stats_get(rapt_objpool *p, rapt_objpool_stats *out)
{
    if (!p || !out)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    out->idle = p->nidle;
    out->lent = p->nlent;
    out->total = total(p);
    pthread_mutex_unlock(&p->mu);
    out->reuse_rate = out->acquired ? (double)out->reused / (double)out->acquired : 0.0;
    return 0;
}
