/* rapt/gate.h: admission over job slots and memory bytes (the "dynamic semaphore").
 *
 * A gate has a capacity in two dimensions, slots and bytes. A request asks for some of each and
 * is admitted when both fit beside what is already held; the holder gives them back with
 * rapt_gate_release(). The capacity can change at any time (rapt_gate_resize), so it can follow
 * a memory budget that moves with pressure: growing it admits waiters at once, shrinking it below
 * what is held is allowed and only delays new admissions until enough is released.
 *
 * Fairness (documented in docs/api.md, "gate"): requests are served first come, first served,
 * and a waiting request *reserves* what it needs. Waiters are considered in arrival order; each
 * one that fits is admitted, each one that does not fit reserves, in every dimension, as much of
 * what is still free as it needs (min(need, free)). A later request, waiting or trying, is
 * admitted only from what is left after those reservations. So a later request may pass a
 * waiting one only when it cannot delay it: a request for 0 bytes passes a waiter that lacks
 * bytes as long as a slot beyond the waiter's reserved one is free, but no request for bytes
 * does. A large request is therefore never starved by a stream of small ones, and requests that
 * need nothing the waiters lack still flow.
 *
 * What can never fit: each dimension has a maximum single request, `max_slots` / `max_bytes`.
 * By default (0) the maximum follows the capacity. A request above the maximum fails at once
 * with RAPT_ETOOBIG instead of waiting forever; when a resize lowers the maximum below what a
 * waiter asks for, that waiter is woken with RAPT_ETOOBIG. Set an explicit maximum (say, the
 * memory limit) above the capacity (say, today's budget) to let such requests wait for a budget
 * that may come back; they then wait until admitted, their timeout, or rapt_gate_close().
 *
 * Thread-safety: every function may be called from any thread at any time, except that
 * rapt_gate_destroy() must not race with other calls on the same gate. Internally one mutex
 * guards the gate and each waiting thread sleeps on its own condition variable, so a release
 * wakes exactly the threads it admits (no thundering herd). No callback is ever called with the
 * gate's mutex held.
 */
#ifndef RAPT_GATE_H
#define RAPT_GATE_H

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A capacity or maximum that is never reached. */
#define RAPT_GATE_UNLIMITED UINT64_MAX

typedef struct rapt_gate rapt_gate;

typedef struct rapt_gate_opts {
    uint64_t slots;     /* slot capacity (RAPT_GATE_UNLIMITED: slots are not limited) */
    uint64_t bytes;     /* byte capacity (RAPT_GATE_UNLIMITED: bytes are not limited) */
    uint64_t max_slots; /* largest single request; 0 = follow the slot capacity */
    uint64_t max_bytes; /* largest single request; 0 = follow the byte capacity */
    /* Called after a release, a resize or a close that may let a request that failed
     * rapt_gate_try_acquire() succeed now. Called without the gate's lock, on the thread that
     * made the change; it must not destroy the gate. A single-threaded event loop that only
     * uses try_acquire uses it to know when to try again (e.g. by writing an eventfd). */
    void (*on_available)(void *userdata);
    void *userdata;
    rapt_log_fn log; /* optional diagnostics; called without the gate's lock */
    void *log_userdata;
} rapt_gate_opts;

/* Fills o with defaults: unlimited slots and bytes, maxima following the capacity, no
 * callbacks. */
RAPT_API void rapt_gate_opts_init(rapt_gate_opts *o);

/* Creates a gate. opts is copied (NULL means the defaults). Returns 0, -EINVAL (NULL out, or
 * both capacities 0: a gate that can never admit anything is a mistake) or -ENOMEM. The caller
 * owns *out and frees it with rapt_gate_destroy(). */
RAPT_API int rapt_gate_create(rapt_gate **out, const rapt_gate_opts *opts);

/* Frees the gate. Accepts NULL. There must be no waiters and no concurrent calls; what is still
 * held is simply forgotten. Use rapt_gate_close() first to wake waiters. */
RAPT_API void rapt_gate_destroy(rapt_gate *g);

/* Acquires `slots` and `bytes`, sleeping until they are admitted under the fairness rule above.
 * Returns 0 (the caller now holds them), -EINVAL (NULL gate, or both amounts 0), RAPT_ETOOBIG
 * (above the maximum, now or after a resize while waiting) or RAPT_ECLOSED (the gate is closed,
 * or was closed while waiting). */
RAPT_API int rapt_gate_acquire(rapt_gate *g, uint64_t slots, uint64_t bytes);

/* Like rapt_gate_acquire() but gives up after timeout_ns nanoseconds (monotonic clock) with
 * RAPT_ETIMEDOUT. timeout_ns 0 behaves like rapt_gate_try_acquire(). */
RAPT_API int rapt_gate_timed_acquire(rapt_gate *g, uint64_t slots, uint64_t bytes,
                                     uint64_t timeout_ns);

/* Admits the request now if it fits under the fairness rule, and never blocks or queues.
 * Returns 0, -EAGAIN (not now: retry after a release, e.g. when on_available fires),
 * -EINVAL, RAPT_ETOOBIG or RAPT_ECLOSED. Meant for single-threaded event loops. */
RAPT_API int rapt_gate_try_acquire(rapt_gate *g, uint64_t slots, uint64_t bytes);

/* Adds slots and bytes to what is held without waiting and without any capacity check, so the
 * gate may end above its capacity (which then only delays new admissions). For holders whose
 * real use grew past what they reserved (a job whose RSS exceeds its prediction): the excess
 * must be accounted for, whether or not it "fits". Returns 0 or -EINVAL. */
RAPT_API int rapt_gate_charge(rapt_gate *g, uint64_t slots, uint64_t bytes);

/* Gives back slots and bytes acquired (or charged) earlier; a holder may give back part of what
 * it holds. Admits the waiters that now fit. Returns 0, or -EINVAL for a NULL gate or amounts
 * larger than what is held in total (the gate is left unchanged: a caller bug, not clamped). */
RAPT_API int rapt_gate_release(rapt_gate *g, uint64_t slots, uint64_t bytes);

/* Sets the capacity (either may be RAPT_GATE_UNLIMITED; 0 is allowed: "nothing may start now").
 * Growing admits waiters that now fit; shrinking below what is held is allowed and holders keep
 * what they hold. Waiters above a maximum that follows the capacity fail with RAPT_ETOOBIG.
 * Returns 0, -EINVAL or RAPT_ECLOSED. */
RAPT_API int rapt_gate_resize(rapt_gate *g, uint64_t slots, uint64_t bytes);

/* Sets the maxima (0 = follow the capacity), with the same effect on waiters as a resize. */
RAPT_API int rapt_gate_set_max(rapt_gate *g, uint64_t max_slots, uint64_t max_bytes);

/* Closes the gate: every waiter wakes with RAPT_ECLOSED and new acquisitions fail with it.
 * Releases still work (holders give back what they hold). Idempotent; returns 0 or -EINVAL. */
RAPT_API int rapt_gate_close(rapt_gate *g);

/* A budget hook. Whatever learns the memory budget (the monitor module on each tick, a test,
 * the caller's own timer) calls a function of this type with the new budget in bytes; `target`
 * is what the function was registered with. */
typedef void (*rapt_budget_fn)(void *target, uint64_t budget_bytes);

/* A rapt_budget_fn that resizes the gate `target` to budget_bytes, keeping its slot capacity.
 * The budget must not count what the gate's holders already use: it is what they may hold in
 * total. Thread-safe like rapt_gate_resize(); does nothing for a NULL target. */
RAPT_API void rapt_gate_budget_sink(void *target, uint64_t budget_bytes);

typedef struct rapt_gate_stats {
    uint64_t cap_slots, cap_bytes;             /* capacity now */
    uint64_t max_slots, max_bytes;             /* effective maxima now */
    uint64_t held_slots, held_bytes;           /* held now (may exceed the capacity) */
    uint64_t peak_held_slots, peak_held_bytes; /* the most ever held at once */
    uint64_t waiters;                          /* threads waiting now */
    uint64_t admitted;                       /* acquisitions that succeeded (acquire, timed, try) */
    uint64_t admitted_waiting;               /* of those, how many had to wait */
    uint64_t passed;                         /* admitted while older requests were waiting */
    uint64_t refused;                        /* try_acquire answered -EAGAIN */
    uint64_t timed_out, too_big, closed_out; /* failures by kind */
    uint64_t charged_bytes;                  /* total bytes added by rapt_gate_charge() */
    uint64_t wait_ns_total, wait_ns_max;     /* time spent waiting by admitted waiters */
    uint64_t resizes;
} rapt_gate_stats;

/* Copies a consistent snapshot of the counters into *out. Returns 0 or -EINVAL. */
RAPT_API int rapt_gate_stats_get(rapt_gate *g, rapt_gate_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_GATE_H */
