/* rapt/objpool.h: a pool of expensive objects (connections, handles, buffers), reused.
 *
 * The pool creates objects through the caller's callbacks, keeps between `min` and `max` of
 * them, and lends them out: rapt_objpool_acquire() returns an idle object (the most recently
 * returned one, the likeliest to be warm), or creates one while fewer than `max` exist, or waits
 * (up to a timeout) for one to come back. Waiters are served first come, first served, and a
 * returned object is handed straight to the longest waiter. Idle objects are checked with the
 * validate callback before they are lent (a broken one is destroyed and the next one tried) and
 * are destroyed after idle_timeout_ns unused, never going below `min`; a housekeeping thread
 * ("<name>-idle") does that on time when an idle timeout is set.
 *
 * Callbacks run without the pool's lock, on the calling thread (create, validate, reset,
 * destroy) or on the housekeeping thread (destroy of idle objects); they may take their own
 * time (a connection handshake) without blocking other users of the pool.
 *
 * Thread-safety: every function may be called from any thread. rapt_objpool_destroy() must not
 * race with other calls on the pool, except releases of objects still lent out: the pool
 * lives until the last of them comes back (and destroys it then).
 */
#ifndef RAPT_OBJPOOL_H
#define RAPT_OBJPOOL_H

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rapt_objpool rapt_objpool;

/* Wait without limit in rapt_objpool_acquire(). */
#define RAPT_OBJPOOL_FOREVER UINT64_MAX
/* The most objects a pool may hold. */
#define RAPT_OBJPOOL_MAX_OBJECTS (1u << 20)

typedef struct rapt_objpool_ops {
    /* Makes a new object into *obj. Returns 0 or a negative error, which acquire returns. */
    int (*create)(void *userdata, void **obj);
    /* Frees an object. Required. */
    void (*destroy)(void *userdata, void *obj);
    /* Optional: false when an idle object can no longer be used (a closed connection). */
    bool (*validate)(void *userdata, void *obj);
    /* Optional: called on release, before the object becomes available again. */
    void (*reset)(void *userdata, void *obj);
} rapt_objpool_ops;

typedef struct rapt_objpool_opts {
    rapt_objpool_ops ops;
    void *userdata;           /* passed to every callback */
    size_t min;               /* idle eviction never goes below this many objects */
    size_t max;               /* at most this many exist at once, >= 1 and >= min */
    size_t prewarm;           /* objects created by rapt_objpool_create(); 0 = min */
    uint64_t idle_timeout_ns; /* destroy objects idle this long (above min); 0 = never */
    const char *name;         /* housekeeping thread name prefix, default "rapt-obj" */
    rapt_log_fn log;
    void *log_userdata;
} rapt_objpool_opts;

RAPT_API void rapt_objpool_opts_init(rapt_objpool_opts *o);

/* Creates a pool and prewarms it. opts is copied. Returns 0, -EINVAL (NULL pointers, no create
 * or destroy callback, max 0, min > max, prewarm > max, max above RAPT_OBJPOOL_MAX_OBJECTS),
 * -ENOMEM, or the create callback's error during prewarming (then nothing is left behind).
 * The caller owns *out: rapt_objpool_destroy(). */
RAPT_API int rapt_objpool_create(rapt_objpool **out, const rapt_objpool_opts *opts);

/* Closes the pool: waiters wake with RAPT_ECLOSED, idle objects are destroyed, objects still lent
 * out are destroyed when released, and the pool's memory is freed after the last one. Accepts
 * NULL. */
RAPT_API void rapt_objpool_destroy(rapt_objpool *p);

/* Borrows an object into *obj, waiting up to timeout_ns (0: do not wait; RAPT_OBJPOOL_FOREVER).
 * Returns 0, -EINVAL, -EAGAIN (timeout 0 and none available), RAPT_ETIMEDOUT, RAPT_ECLOSED or the
 * create callback's error. The object is the caller's until rapt_objpool_release() or
 * rapt_objpool_discard(). */
RAPT_API int rapt_objpool_acquire(rapt_objpool *p, uint64_t timeout_ns, void **obj);

/* Gives an object back for reuse. Returns 0, or -EINVAL for NULL or an object this pool did not
 * lend (nothing changes then). */
RAPT_API int rapt_objpool_release(rapt_objpool *p, void *obj);

/* Gives back an object that must not be reused (it broke); the pool destroys it and may create
 * a new one for the next borrower. Returns 0 or -EINVAL as release. */
RAPT_API int rapt_objpool_discard(rapt_objpool *p, void *obj);

/* Destroys the objects idle longer than the idle timeout (keeping min). The housekeeping thread
 * does this on its own; call it to evict at a moment of your choosing. Returns how many were
 * destroyed, or -EINVAL. */
RAPT_API int rapt_objpool_evict_idle(rapt_objpool *p);

typedef struct rapt_objpool_stats {
    uint64_t total, idle, lent; /* objects now */
    uint64_t peak_lent;
    uint64_t acquired; /* successful acquisitions */
    uint64_t reused;   /* of which served by an existing object */
    double reuse_rate; /* reused / acquired (0 when nothing was acquired) */
    uint64_t created, destroyed;
    uint64_t create_failed;
    uint64_t invalid;                          /* idle objects that failed validation */
    uint64_t evicted;                          /* idle objects destroyed by the idle timeout */
    uint64_t waits;                            /* acquisitions that had to wait */
    uint64_t timeouts;                         /* acquisitions that gave up */
    uint64_t latency_ns_total, latency_ns_max; /* time in successful acquire calls */
} rapt_objpool_stats;

/* Copies a consistent snapshot. Returns 0 or -EINVAL. */
RAPT_API int rapt_objpool_stats_get(rapt_objpool *p, rapt_objpool_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_OBJPOOL_H */
