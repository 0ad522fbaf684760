/* rapt/pool.h: a memory-aware thread pool with priorities, deadlines, timeouts and cancellation.
 *
 * Worker threads (by default as many as the machine's effective CPUs, from rapt_sys_read(): a
 * 0.5-CPU container gets 1, not the host's count) run submitted tasks. Each task may carry:
 *   - a priority and a deadline, which order the queue (rapt_pool_order);
 *   - a memory estimate: the task starts only when the estimate fits the pool's memory budget,
 *     held in a rapt_gate, and holds it until it returns. Tasks without an estimate never wait
 *     for memory. The budget can follow memory pressure: hand rapt_gate_budget_sink() and
 *     rapt_pool_gate() to whatever tracks it (the monitor module), or call rapt_pool_set_budget();
 *   - an arena of exactly its estimate (rapt_task_arena()), so it cannot allocate more than it
 *     reserved;
 *   - a timeout, and a cancellation token. Cancellation is cooperative: a queued task is removed
 *     and reported as cancelled, a running task is asked to stop through rapt_task_should_stop().
 *     Threads are never killed.
 * Every task is reported exactly once, whatever happens to it: through its future, its on_done
 * callback and the pool's counters (completed = ok + failed + cancelled + timed out + rejected).
 *
 * Ordering. A memory task that does not fit waits at the head of the memory tasks, and while it
 * waits, other workers run only tasks without an estimate (which cannot delay it): large
 * estimates are not starved by small ones, for the same reason as in rapt/gate.h.
 *
 * Thread-safety: every function may be called from any thread, including from inside a task
 * (submitting more tasks; waiting on another task's future works too, but a task that waits
 * holds its worker, so when every worker waits for queued tasks the pool deadlocks: prefer
 * on_done for chaining). rapt_pool_wait_idle() and shutdown refuse to run inside a task of
 * their own pool (-EDEADLK). rapt_pool_destroy() must not race
 * with other calls on the same pool, nor with rapt_future_cancel() on its futures; futures may
 * outlive their pool. Lock order (also in src/lib/pool.c): pool, then future, then gate.
 */
#ifndef RAPT_POOL_H
#define RAPT_POOL_H

#include "rapt/arena.h"
#include "rapt/common.h"
#include "rapt/gate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rapt_pool rapt_pool;
typedef struct rapt_future rapt_future;
typedef struct rapt_task rapt_task;
typedef struct rapt_token rapt_token;

/* ---- cancellation tokens ------------------------------------------------------------------
 * A token cancels a group of tasks at once (every task submitted with it). Cancelling is
 * permanent and lock-free; tasks check it through rapt_task_should_stop(). */

/* Creates a token. Returns 0, -EINVAL or -ENOMEM; free with rapt_token_destroy() after every
 * task that uses it has completed. */
RAPT_API int rapt_token_create(rapt_token **out);
RAPT_API void rapt_token_destroy(rapt_token *t); /* accepts NULL */
/* Cancels the token. Queued tasks holding it are reported as cancelled (RAPT_ECANCELED) when a
 * worker reaches them; running ones see rapt_task_should_stop() turn true. Returns 0 or -EINVAL. */
RAPT_API int rapt_token_cancel(rapt_token *t);
RAPT_API bool rapt_token_cancelled(const rapt_token *t); /* false for NULL */

/* ---- the pool ------------------------------------------------------------------------------ */

typedef enum rapt_pool_order {
    RAPT_POOL_ORDER_PRIORITY = 0, /* higher priority first; then earlier deadline; then FIFO */
    RAPT_POOL_ORDER_EDF = 1,      /* earliest deadline first (tasks without one last); then
                                     priority; then FIFO */
    RAPT_POOL_ORDER_FIFO = 2      /* submission order */
} rapt_pool_order;

/* What rapt_pool_submit() does when max_queued tasks are already queued. */
typedef enum rapt_pool_full {
    RAPT_POOL_FULL_REJECT = 0,     /* fail with -EAGAIN */
    RAPT_POOL_FULL_CALLER_RUNS = 1 /* run the task on the submitting thread, now (its memory
                                      estimate must fit the gate at once, else -EAGAIN). The
                                      producer is slowed to the pool's pace and no task waits in
                                      an ever longer queue: libgomp throttles task creation the
                                      same way, Java calls it CallerRunsPolicy. */
} rapt_pool_full;

/* rapt_task_result.worker of a task run by its submitter (RAPT_POOL_FULL_CALLER_RUNS). */
#define RAPT_POOL_CALLER (UINT32_MAX - 1)

typedef struct rapt_pool_opts {
    unsigned threads;      /* workers; 0 = the effective CPUs of this machine */
    rapt_pool_order order; /* default RAPT_POOL_ORDER_PRIORITY */
    /* PRIORITY order only: each priority level is worth aging_ns of waiting, i.e. a task is
     * ordered as if it had been submitted priority * aging_ns earlier. Then a low-priority task
     * cannot be starved by a stream of high-priority ones. 0 = strict priorities. */
    uint64_t aging_ns;
    /* The memory budget for task estimates, in bytes: 0 = this machine's default budget
     * (rapt_sys_info.default_budget); RAPT_GATE_UNLIMITED = no limit. */
    uint64_t mem_budget;
    /* The largest single estimate: 0 = with the default budget, 85% of the machine's memory
     * limit (so a task may wait for a budget that pressure has lowered), otherwise mem_budget.
     * A larger estimate is refused with RAPT_ETOOBIG. */
    uint64_t mem_max;
    /* A gate to take estimates from instead of the pool's own (mem_budget and mem_max are then
     * ignored). Borrowed: must outlive the pool. Only its byte dimension is used. */
    rapt_gate *gate;
    size_t max_queued;        /* 0 = unlimited; else the queue is full at this many tasks
                                 (give or take one per concurrent submitter) */
    rapt_pool_full when_full; /* what a submit to a full queue does (default: -EAGAIN) */
    /* Time plain tasks too (detached, default options). Off by default: nobody can observe a
     * plain task's own times, and two clock reads (20-30 ns each on a VM) cost as much as its
     * whole dispatch, so untimed plain tasks add nothing to the queue/run time totals (they
     * are still counted). Tasks with a future or any option are always timed. */
    bool time_plain_tasks;
    const char *name;    /* thread name prefix, default "rapt-pool" (copied, 10 bytes used) */
    size_t stack_size;   /* worker stack size; 0 = the system default */
    const char *sysroot; /* where to read the machine's limits for the defaults (tests) */
    rapt_log_fn log;     /* optional diagnostics */
    void *log_userdata;
} rapt_pool_opts;

RAPT_API void rapt_pool_opts_init(rapt_pool_opts *o);

/* Creates a pool and starts its workers. opts is copied (NULL = defaults). Returns 0, -EINVAL,
 * -ENOMEM or a pthread error (negative). The caller owns *out: rapt_pool_destroy(). */
RAPT_API int rapt_pool_create(rapt_pool **out, const rapt_pool_opts *opts);

/* Shuts the pool down (draining it, unless rapt_pool_shutdown() was called), joins the workers
 * and frees the pool. Accepts NULL. Must not be called from one of the pool's own tasks. */
RAPT_API void rapt_pool_destroy(rapt_pool *p);

/* What a task sees. The pointer is borrowed for the duration of the task function. */
typedef int (*rapt_task_fn)(rapt_task *task, void *arg);

typedef struct rapt_task_result {
    int status;            /* what the function returned; if it did not run, why:
                              RAPT_ECANCELED, RAPT_ETIMEDOUT, RAPT_ETOOBIG, RAPT_ECLOSED,
                              or the error that kept it from starting (-ENOMEM, ...) */
    bool ran;              /* the function was called */
    bool cancel_requested; /* cancellation was requested (before or while running) */
    bool timed_out;        /* its timeout expired (before or while running) */
    bool deadline_missed;  /* it completed after its deadline */
    uint64_t id;           /* 1-based submission number within the pool */
    void *arg;             /* as submitted */
    uint64_t queued_ns;    /* submission to start (or to completion if it never started) */
    uint64_t mem_wait_ns;  /* of which waiting for memory */
    uint64_t run_ns;       /* time in the function */
    uint64_t mem_estimate; /* as submitted */
    uint64_t arena_peak;   /* the most its arena held (0 without one) */
    unsigned worker;       /* index of the worker that ran it; RAPT_POOL_CALLER if its
                              submitter ran it; UINT32_MAX if it did not run */
} rapt_task_result;

/* Called once per task when it completes, on the thread that completed it: the worker that ran
 * it, or the thread that cancelled it, timed it out or shut the pool down. `res` is borrowed for
 * the call. It must not block for long; it may submit tasks. */
typedef void (*rapt_task_done_fn)(const rapt_task_result *res, void *userdata);

typedef struct rapt_task_opts {
    int priority;          /* higher runs first (RAPT_POOL_ORDER_PRIORITY) */
    uint64_t deadline_ns;  /* should complete within this after submission; 0 = none */
    uint64_t timeout_ns;   /* must complete within this after submission, else it is reported
                              as timed out: if still queued it never runs; if running, its
                              rapt_task_should_stop() turns true. 0 = none */
    uint64_t mem_estimate; /* bytes the task needs; it starts only when they fit the budget */
    bool arena;            /* give the task an arena of mem_estimate bytes (an estimate >= 64) */
    rapt_token *token;     /* group cancellation; borrowed until the task completes */
    rapt_task_done_fn on_done;
    void *userdata; /* for on_done */
} rapt_task_opts;

RAPT_API void rapt_task_opts_init(rapt_task_opts *o);

/* Queues fn(task, arg). opts may be NULL (defaults). With `out`, returns a future the caller
 * owns (rapt_future_release()); with out NULL the task is detached: it still runs, is counted
 * and calls on_done. Returns 0, -EINVAL (NULL pool or fn, an arena with an estimate < 64),
 * RAPT_ETOOBIG (estimate above the maximum now), RAPT_ECLOSED (shut down), -EAGAIN (max_queued
 * reached) or -ENOMEM. On error nothing was queued and no callback fires. With
 * RAPT_POOL_FULL_CALLER_RUNS and a full queue the task runs before this returns 0.
 *
 * Detached tasks with default options (priority 0, no deadline, timeout, token or estimate) take
 * a lock-free path and are handed to workers in batches of up to 32, so tiny tasks cost little.
 * A task with a higher priority submitted meanwhile waits at most for the tasks of the batches
 * already taken; an idle worker takes unstarted tasks from another worker's batch, so no task
 * waits behind a long one while a worker is free. */
RAPT_API int rapt_pool_submit(rapt_pool *p, rapt_task_fn fn, void *arg, const rapt_task_opts *opts,
                              rapt_future **out);

/* ---- inside a task -------------------------------------------------------------------------- */

/* True when the task should stop: it was cancelled (its future, its token, a cancelling
 * shutdown) or its timeout passed. Cheap (a few atomic loads and, with a timeout, a clock read);
 * call it in loops. */
RAPT_API bool rapt_task_should_stop(const rapt_task *t);
/* 0 while the task may go on, else RAPT_ECANCELED or RAPT_ETIMEDOUT: return it from the task. */
RAPT_API int rapt_task_check(const rapt_task *t);
/* The task's arena (opts.arena), or NULL. Borrowed: destroyed when the task returns. */
RAPT_API rapt_arena *rapt_task_arena(rapt_task *t);
RAPT_API uint64_t rapt_task_id(const rapt_task *t);
RAPT_API unsigned rapt_task_worker(const rapt_task *t);

/* ---- futures -------------------------------------------------------------------------------- */

/* Waits until the task completes and copies its result into *out (may be NULL). Returns 0 or
 * -EINVAL. The result is in out->status. */
RAPT_API int rapt_future_wait(rapt_future *f, rapt_task_result *out);
/* The same, giving up after timeout_ns with RAPT_ETIMEDOUT (the task goes on). */
RAPT_API int rapt_future_timed_wait(rapt_future *f, uint64_t timeout_ns, rapt_task_result *out);
RAPT_API bool rapt_future_done(rapt_future *f);
/* Requests cancellation: a queued or memory-waiting task completes now as RAPT_ECANCELED
 * (on_done runs on this thread); a running one is asked to stop. Returns 0, -EALREADY (it had
 * completed) or -EINVAL. */
RAPT_API int rapt_future_cancel(rapt_future *f);
/* Drops the caller's reference. Accepts NULL. Does not cancel the task. */
RAPT_API void rapt_future_release(rapt_future *f);

/* ---- control -------------------------------------------------------------------------------- */

/* Sets the number of workers (>= 1). Extra workers exit after their current task; nothing is
 * interrupted. Returns 0, -EINVAL, RAPT_ECLOSED or a pthread error. */
RAPT_API int rapt_pool_resize(rapt_pool *p, unsigned threads);

/* Sets the byte capacity of the pool's gate (the memory budget): a convenience for
 * rapt_gate_resize() that keeps the slots. Returns 0 or -EINVAL. */
RAPT_API int rapt_pool_set_budget(rapt_pool *p, uint64_t bytes);

/* The gate that holds the pool's memory budget (its own or opts.gate). Borrowed for the pool's
 * lifetime. Pass it with rapt_gate_budget_sink() to whatever tracks the budget. */
RAPT_API rapt_gate *rapt_pool_gate(rapt_pool *p);

/* Waits until no task is queued, waiting or running. Returns 0 or -EINVAL. Must not be called
 * from a task of the same pool (it would wait for itself: -EDEADLK). */
RAPT_API int rapt_pool_wait_idle(rapt_pool *p);

typedef enum rapt_pool_shutdown_mode {
    RAPT_POOL_DRAIN = 0, /* run everything already queued, then stop */
    RAPT_POOL_CANCEL = 1 /* report queued tasks as cancelled, ask running ones to stop */
} rapt_pool_shutdown_mode;

/* Stops accepting tasks (submit returns RAPT_ECLOSED), then drains or cancels, and waits until
 * nothing is left. The workers stay until destroy. Idempotent. Returns 0, -EINVAL or -EDEADLK
 * (called from a task of the same pool). */
RAPT_API int rapt_pool_shutdown(rapt_pool *p, rapt_pool_shutdown_mode mode);

typedef struct rapt_pool_stats {
    unsigned threads;     /* workers now (alive) */
    unsigned idle;        /* of which waiting for work */
    uint64_t submitted;   /* accepted by rapt_pool_submit() */
    uint64_t queued;      /* waiting to start now */
    uint64_t mem_waiting; /* waiting for memory now (0 or 1 per pool) */
    uint64_t running;     /* in their function now */
    uint64_t peak_queued;
    uint64_t completed; /* = ok + failed + cancelled + timed_out + rejected */
    uint64_t ok;        /* ran and returned 0 */
    uint64_t failed;    /* ran and returned another error */
    uint64_t cancelled; /* not run because cancelled, or returned RAPT_ECANCELED */
    uint64_t timed_out; /* not run because of the timeout, or returned RAPT_ETIMEDOUT */
    uint64_t rejected;  /* not run for another reason (too big, closed, no arena) */
    uint64_t deadline_missed;
    uint64_t mem_waits;                    /* tasks that had to wait for memory */
    uint64_t queue_ns_total, queue_ns_max; /* submission to start, over tasks that started */
    uint64_t run_ns_total, run_ns_max;
    uint64_t mem_wait_ns_total;
    uint64_t mem_budget; /* the gate's byte capacity now */
    uint64_t mem_held;   /* bytes held by running tasks (and other users of a shared gate) */
    uint64_t mem_peak_held;
} rapt_pool_stats;

/* Copies a snapshot of the counters. A task's future and on_done complete a moment before the
 * pool counts it, and tasks in flight between the lock-free inbox and the queue are counted as
 * queued; after rapt_pool_wait_idle() (or a shutdown) the counters are exact and add up.
 * Returns 0 or -EINVAL. */
RAPT_API int rapt_pool_stats_get(rapt_pool *p, rapt_pool_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_POOL_H */
