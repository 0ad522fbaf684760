/* rapt/sched.h: the order in which queued jobs start (`rapt run --order`).
 *
 * A queue of jobs with one ordering policy:
 *   input     input order (seq), GNU parallel's default;
 *   priority  highest `priority` first;
 *   deadline  earliest deadline first (EDF); jobs without a deadline after those with one;
 *   sjf       shortest predicted runtime first (jobs without a prediction first, so they are
 *             measured early);
 *   lpt       longest predicted runtime first, the classic makespan heuristic (within 4/3 of
 *             optimal on identical machines; jobs without a prediction first);
 *   pack      best fit: the job with the largest `peak` that fits the free memory given at
 *             pop time (ties: the oldest), so memory is filled tightly.
 * Ties are broken by seq. Pushes may happen at any time (streaming input).
 *
 * No policy starves a job. The rule (docs/sched.md has the proof): a job is never passed over
 * by a job that arrived more than `bypass_window_ns` after it. When the policy's choice arrived
 * that much later than the oldest waiting job, the oldest goes instead (with pack, the queue
 * waits until the oldest fits, like a memory reservation). A job is therefore overtaken only by
 * jobs that arrived within one window after it, finitely many, and a batch whose jobs all
 * arrive together is ordered purely by its policy.
 *
 * push, requeue, peek and pop are O(log n) expected (a treap plus an arrival list). The queue
 * never reads a clock: callers pass `now` on one monotonic clock, so tests are deterministic.
 * A handle is not thread-safe.
 */
#ifndef RAPT_SCHED_H
#define RAPT_SCHED_H

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rapt_sched_order {
    RAPT_ORDER_INPUT = 0,
    RAPT_ORDER_PRIORITY,
    RAPT_ORDER_DEADLINE,
    RAPT_ORDER_SJF,
    RAPT_ORDER_LPT,
    RAPT_ORDER_PACK
} rapt_sched_order;

/* Static name ("input", "priority", "deadline", "sjf", "lpt", "pack"). */
RAPT_API const char *rapt_sched_order_name(rapt_sched_order o);
/* Parses a name. Returns 0 or -EINVAL. */
RAPT_API int rapt_sched_order_parse(const char *s, rapt_sched_order *out);

#define RAPT_SCHED_DEFAULT_BYPASS_NS (60ull * 1000000000ull)

typedef struct rapt_sched_opts {
    rapt_sched_order order;
    uint64_t bypass_window_ns; /* default 60 s; UINT64_MAX turns aging off (tests only) */
} rapt_sched_opts;

RAPT_API void rapt_sched_opts_init(rapt_sched_opts *o);

/* A queued job. Copied in and out; `data` is the caller's and never dereferenced. */
typedef struct rapt_sched_job {
    uint64_t seq; /* unique among queued jobs; input order */
    void *data;
    double priority;      /* priority: higher first */
    uint64_t deadline_ns; /* deadline: on the caller's clock; 0 = none */
    double runtime_s;     /* sjf, lpt: predicted runtime; < 0 = unknown */
    uint64_t peak;        /* pack: bytes the job will hold (its reservation) */
} rapt_sched_job;

typedef struct rapt_sched rapt_sched;

/* Returns 0, -EINVAL (unknown order, window 0) or -ENOMEM. Free with rapt_sched_destroy(). */
RAPT_API int rapt_sched_create(rapt_sched **out, const rapt_sched_opts *o);
RAPT_API void rapt_sched_destroy(rapt_sched *s); /* accepts NULL; drops queued jobs */

/* Queues a job that arrived at now_ns. Returns 0, -EEXIST (seq already queued), -EINVAL or
 * -ENOMEM. */
RAPT_API int rapt_sched_push(rapt_sched *s, const rapt_sched_job *j, uint64_t now_ns);

/* Puts back a job that was popped and must run again (requeued for memory, retried), typically
 * with a new reservation in `peak`. It keeps its place in input order (seq) and counts as
 * arriving now for the bypass rule. Same returns as push. */
RAPT_API int rapt_sched_requeue(rapt_sched *s, const rapt_sched_job *j, uint64_t now_ns);

/* How a job was chosen. */
typedef struct rapt_sched_pick {
    bool aged;          /* chosen by the bypass rule, not by the policy */
    uint64_t waited_ns; /* time since it arrived (or was requeued) */
} rapt_sched_pick;

/* Removes and returns the next job. free_bytes matters only to pack (UINT64_MAX: take the
 * largest). Returns 0, -ENOENT (empty) or -EAGAIN (pack: nothing fits free_bytes, or the aged
 * job does not fit yet). pick may be NULL. */
RAPT_API int rapt_sched_pop(rapt_sched *s, uint64_t now_ns, uint64_t free_bytes,
                            rapt_sched_job *out, rapt_sched_pick *pick);

/* As pop, without removing. */
RAPT_API int rapt_sched_peek(rapt_sched *s, uint64_t now_ns, uint64_t free_bytes,
                             rapt_sched_job *out, rapt_sched_pick *pick);

/* Jobs queued. */
RAPT_API size_t rapt_sched_size(const rapt_sched *s);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_SCHED_H */
