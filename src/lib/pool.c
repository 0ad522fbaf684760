/* pool.c: the memory-aware thread pool (rapt/pool.h).
 *
 * Owns the worker threads, the task queues, the task nodes and the futures' link to them. The
 * shape is libuv's threadpool: one mutex and one condition variable for the queue, an idle count
 * so a submit signals only when a worker sleeps, and no thread is ever cancelled; unlike libuv
 * all state lives in the handle, so a program may have many pools.
 *
 * Queues. Tasks without a memory estimate and tasks with one sit in separate queues (q[0] and
 * q[1]), so that while one memory task waits for its bytes the other workers can still find the
 * best task that needs none. Each queue is a binary heap ordered by the pool's order plus a FIFO
 * lane for tasks with default keys (priority 0, no deadline): those compare by submission number
 * only, so a list keeps them in order at O(1), which is what makes tiny default tasks cheap. The
 * next task is the better of the two heads. Queued tasks with a timeout are also in an expiry
 * heap, so idle workers can sleep exactly until the next expiry and report it on time.
 *
 * Memory admission. A worker that picks a memory task tries the gate without blocking (still
 * under the pool's lock). If the bytes do not fit, the task becomes the pool's single memory
 * waiter: its worker sleeps in the gate (as a FIFO waiter, which reserves what it needs) with the
 * task's timeout as deadline and the task's stop flag as interrupt, and until it is admitted no
 * worker picks another memory task. At most one worker per pool is parked like this.
 *
 * Lock order: pool.mu, then future.mu, then the gate's lock. Nothing here calls a user callback
 * (task functions, on_done, the log) with pool.mu held, and the gate never calls back into the
 * pool, so the order cannot invert.
 *
 * A task's life: QUEUED -> (MEMWAIT ->) RUNNING -> FINISHING -> recycled, or QUEUED/MEMWAIT ->
 * FINISHING when it is cancelled, times out or cannot be admitted. FINISHING means its result is
 * being published (future, on_done) outside the lock; "account" then counts it and recycles the
 * node, and `active` (tasks submitted and not yet recycled) is what rapt_pool_wait_idle() waits
 * on, so a caller that waited sees every callback done and every counter final.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "os/os.h"
#include "rapt/pool.h"
#include "rapt/sys.h"

#define NPOS      SIZE_MAX
#define FREE_KEEP 1024 /* spare task nodes kept for reuse */
#define NO_WORKER UINT32_MAX
#define BATCH     32   /* plain tasks a worker takes per lock (see pick()) */
#define SPIN      4000 /* idle polls of `ready` before a worker sleeps */

enum tstate { T_QUEUED, T_MEMWAIT, T_RUNNING, T_FINISHING };

struct rapt_token {
    atomic_bool cancelled;
};

struct rapt_task {
    rapt_task_fn fn;
    void *arg;
    rapt_task_done_fn on_done;
    void *userdata;
    rapt_token *token;
    rapt_future *fut;
    rapt_pool *pool;
    int prio;
    uint64_t id;
    uint64_t submit_ns;
    uint64_t deadline; /* absolute, 0 = none */
    uint64_t expire;   /* absolute, 0 = none */
    int64_t agekey;    /* submit_ns - prio * aging, for aged priority order */
    uint64_t mem;
    bool want_arena;
    bool held_mem;
    _Atomic int stop; /* 0, or the code the task should stop with */
    int state;
    int status;  /* why it did not run, while FINISHING */
    size_t qidx; /* index in its queue's heap, NPOS when in the FIFO lane or nowhere */
    size_t xidx; /* index in the expiry heap, NPOS when not there */
    uint8_t qclass;
    bool in_fifo;
    struct rapt_task *prev, *next; /* FIFO lane, free list, finished chains */
    rapt__gate_waiter gw;
    uint64_t start_ns, mem_wait_ns, arena_peak;
    unsigned worker;
    rapt_arena *arena;
};

struct rapt_future {
    atomic_uint refs; /* the caller's and, until the task is recycled, the pool's */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    unsigned waiters;
    rapt_task_result res;
    rapt_pool *pool;
    rapt_task *task; /* under pool.mu; NULL once the task is recycled */
};

typedef struct heap {
    rapt_task **v;
    size_t n, cap;
    bool expiry; /* ordered by expire (xidx) instead of the pool order (qidx) */
} heap;

typedef struct queue {
    heap h;
    rapt_task *fh, *ft; /* FIFO lane */
    size_t nf;
} queue;

/* A plain task (detached, default options: see plain()) travels as this one-cache-line node
 * instead of a full rapt_task: submitters write one line, workers read one. */
typedef struct ptask {
    struct ptask *next;
    rapt_task_fn fn;
    void *arg;
    rapt_task_done_fn on_done;
    void *userdata;
    uint64_t id;
    uint64_t submit_ns;
} ptask;

/* A batch of plain tasks taken by one worker. It lives on the worker's stack; tasks are
 * claimed one by one through `next`, by the owner without any lock and by idle workers (under
 * pool.mu, while the batch is registered in the owner's slot), so a task never waits behind
 * a long-running neighbour while another worker is idle. */
typedef struct batchctl {
    ptask *items[BATCH];
    unsigned n;
    atomic_uint next;
} batchctl;

typedef struct wslot {
    pthread_t th;
    rapt_task *cur;  /* the task this worker holds (MEMWAIT or RUNNING) */
    batchctl *batch; /* its batch of plain tasks, while some may be unclaimed */
    bool started, exited, joined;
} wslot;

struct rapt_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* idle workers */
    pthread_cond_t idle_cv; /* wait_idle, shutdown and resize wait here */
    queue q[2];
    heap xh;
    rapt_task *free_list;
    size_t nfree;
    ptask *pl_head, *pl_tail; /* the plain lane: plain tasks in submission order */
    size_t npl;
    unsigned nbatches; /* registered batches, for idle workers looking for work */
    rapt_task *memwaiter;
    wslot *w;
    unsigned nw, capw;
    unsigned target, alive, idle, wake_pending;
    unsigned idle_waiters;
    bool closed, stopping;
    /* Tasks submitted and not yet recycled = locked_submitted + plain_submitted() - finished.
     * Kept as counters owned by one side each (submitters, workers) rather than one shared
     * atomic, so the hot path does not bounce a cache line between them. */
    uint64_t locked_submitted, finished;
    atomic_ullong drained; /* inbox tasks moved to the queue; written under pool.mu */
    /* Ids taken by the locked path (under pool.mu), so next_id - nonplain_ids - inline_ids
     * counts the plain tasks: the id a plain submitter takes is its count as well. */
    atomic_ullong nonplain_ids;
    atomic_uint waiters; /* mirror of idle_waiters, for submitters running tasks themselves */
    bool no_timing;
    /* Read without pool.mu: the submission counter, the closed flag and the number of tasks a
     * worker could take now (spinning workers and the caller-runs check poll it), and the
     * counters of tasks run by their submitters, which never take the lock. */
    rapt_pool_full when_full;
    atomic_bool closed_flag, cancel_all;
    atomic_size_t ready;       /* 1 when a worker could take a task now, else 0 */
    atomic_size_t full_queued; /* full tasks in the queues */
    atomic_ullong plain_taken; /* plain tasks taken from the lane; written under pool.mu */
    atomic_uint nidle;         /* mirror of idle for submitters deciding whether to wake anyone */
    /* The inbox: plain detached tasks (see plain()) are pushed here by submitters without the
     * pool's lock, a lock-free LIFO that workers move into the FIFO lane in one exchange. */
    _Alignas(64) _Atomic(ptask *) inbox;
    _Alignas(64) atomic_ullong clock_cache; /* written by workers at each batch start */
    /* Used plain-task nodes come back through `returned` (workers push chains) and are reused
     * by submitters from `pcache`, which one submitter at a time owns (pc_busy is a try-lock;
     * a submitter that finds it taken allocates). ncached bounds what is kept. */
    _Alignas(64) _Atomic(ptask *) returned;
    atomic_size_t ncached;
    _Alignas(64) atomic_flag pc_busy;
    ptask *pcache;
    unsigned pc_pops;
    /* Written by submitters only (their own cache line). */
    _Alignas(64) atomic_ullong next_id;
    /* Tasks run by their submitters (RAPT_POOL_FULL_CALLER_RUNS): ids taken, and outcomes. */
    atomic_ullong inline_ids, inl_ok, inl_failed, inl_cancelled, inl_timed_out, inl_run_ns;
    char pad_[64];
    rapt_gate *gate;
    bool own_gate;
    rapt_pool_order order;
    uint64_t aging;
    size_t max_queued;
    char name[11];
    size_t stack;
    rapt_pool_stats st;
    rapt_log_fn log;
    void *log_userdata;
};

/* ---- tokens ---------------------------------------------------------------------------------- */

int rapt_token_create(rapt_token **out)
{
    if (!out)
        return -EINVAL;
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    atomic_init(&(*out)->cancelled, false);
    return 0;
}

void rapt_token_destroy(rapt_token *t)
{
    free(t);
}

int rapt_token_cancel(rapt_token *t)
{
    if (!t)
        return -EINVAL;
    atomic_store_explicit(&t->cancelled, true, memory_order_release);
    return 0;
}

bool rapt_token_cancelled(const rapt_token *t)
{
    return t && atomic_load_explicit(&t->cancelled, memory_order_acquire);
}

/* ---- ordering -------------------------------------------------------------------------------- */

/* True when a should run before b under the pool's order. Submission ids break every tie, so
 * the order is total and equal tasks run first come, first served. */
static bool better(const rapt_pool *p, const rapt_task *a, const rapt_task *b)
{
    switch (p->order) {
    case RAPT_POOL_ORDER_FIFO: break;
    case RAPT_POOL_ORDER_EDF:
        if (a->deadline != b->deadline) {
            if (!a->deadline || !b->deadline)
                return a->deadline != 0;
            return a->deadline < b->deadline;
        }
        if (a->prio != b->prio)
            return a->prio > b->prio;
        break;
    case RAPT_POOL_ORDER_PRIORITY:
        if (p->aging) {
            if (a->agekey != b->agekey)
                return a->agekey < b->agekey;
        } else if (a->prio != b->prio) {
            return a->prio > b->prio;
        }
        if (a->deadline != b->deadline) {
            if (!a->deadline || !b->deadline)
                return a->deadline != 0;
            return a->deadline < b->deadline;
        }
        break;
    }
    return a->id < b->id;
}

static bool hless(const rapt_pool *p, const heap *h, const rapt_task *a, const rapt_task *b)
{
    if (h->expiry)
        return a->expire != b->expire ? a->expire < b->expire : a->id < b->id;
    return better(p, a, b);
}

/* Every move in a heap goes through here, so each task always knows its index: that is what
 * makes removing an arbitrary task (a cancel, an expiry) O(log n) instead of a search. */
static void hset(heap *h, size_t i, rapt_task *t)
{
    h->v[i] = t;
    if (h->expiry)
        t->xidx = i;
    else
        t->qidx = i;
}

static void sift_up(const rapt_pool *p, heap *h, size_t i)
{
    rapt_task *t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!hless(p, h, t, h->v[parent]))
            break;
        hset(h, i, h->v[parent]);
        i = parent;
    }
    hset(h, i, t);
}

static void sift_down(const rapt_pool *p, heap *h, size_t i)
{
    rapt_task *t = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && hless(p, h, h->v[c + 1], h->v[c]))
            c++;
        if (!hless(p, h, h->v[c], t))
            break;
        hset(h, i, h->v[c]);
        i = c;
    }
    hset(h, i, t);
}

static int heap_push(const rapt_pool *p, heap *h, rapt_task *t)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        rapt_task **v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    h->n++;
    hset(h, h->n - 1, t);
    sift_up(p, h, h->n - 1);
    return 0;
}

static void heap_remove(const rapt_pool *p, heap *h, size_t i)
{
    rapt_task *gone = h->v[i];
    h->n--;
    if (i != h->n) {
        /* The last element fills the hole; it may belong above or below it. */
        rapt_task *moved = h->v[h->n];
        hset(h, i, moved);
        sift_up(p, h, i);
        if (h->v[i] == moved)
            sift_down(p, h, i);
    }
    if (h->expiry)
        gone->xidx = NPOS;
    else
        gone->qidx = NPOS;
}

/* Heaps hold tasks with non-default keys; the FIFO lane the rest (see the file comment). */
static bool default_key(const rapt_pool *p, const rapt_task *t)
{
    return p->order == RAPT_POOL_ORDER_FIFO || (t->prio == 0 && t->deadline == 0);
}

static int queue_push(rapt_pool *p, queue *q, rapt_task *t)
{
    if (default_key(p, t)) {
        t->in_fifo = true;
        t->next = NULL;
        t->prev = q->ft;
        if (q->ft)
            q->ft->next = t;
        else
            q->fh = t;
        q->ft = t;
        q->nf++;
        return 0;
    }
    t->in_fifo = false;
    return heap_push(p, &q->h, t);
}

static rapt_task *queue_head(const rapt_pool *p, const queue *q)
{
    rapt_task *a = q->fh, *b = q->h.n ? q->h.v[0] : NULL;
    if (!a || !b)
        return a ? a : b;
    return better(p, a, b) ? a : b;
}

static void queue_remove(rapt_pool *p, queue *q, rapt_task *t)
{
    if (t->in_fifo) {
        if (t->prev)
            t->prev->next = t->next;
        else
            q->fh = t->next;
        if (t->next)
            t->next->prev = t->prev;
        else
            q->ft = t->prev;
        t->prev = t->next = NULL;
        t->in_fifo = false;
        q->nf--;
    } else {
        heap_remove(p, &q->h, t->qidx);
    }
}

/* Publishes for lock-free readers whether a worker could take a task now (memory tasks do not
 * count while one of them waits for memory) and how many full tasks are queued. Under pool.mu,
 * after every change to the queues, the plain lane or the waiter. Each value is written only
 * when it changes: spinning workers and submitters read them, and a write would take the
 * cache line away from all of them. */
static void sync_ready(rapt_pool *p)
{
    size_t full = p->q[0].nf + p->q[0].h.n + p->q[1].nf + p->q[1].h.n;
    /* Registered batches do not count: their last task may be claimed and long, and a worker
     * that took "a batch exists" for work would spin on it. Thieves are woken instead (the
     * batch's owner wakes one, and each thief wakes another while tasks remain). */
    size_t n = p->q[0].nf + p->q[0].h.n + p->npl;
    if (!p->memwaiter)
        n += p->q[1].nf + p->q[1].h.n;
    if (atomic_load_explicit(&p->ready, memory_order_relaxed) != (n != 0))
        atomic_store_explicit(&p->ready, n != 0, memory_order_relaxed);
    if (atomic_load_explicit(&p->full_queued, memory_order_relaxed) != full)
        atomic_store_explicit(&p->full_queued, full, memory_order_relaxed);
}

/* Takes a queued task out of every queue it is in. */
static void unqueue(rapt_pool *p, rapt_task *t)
{
    queue_remove(p, &p->q[t->qclass], t);
    if (t->xidx != NPOS)
        heap_remove(p, &p->xh, t->xidx);
    p->st.queued--;
    sync_ready(p);
}

/* ---- completion ------------------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    return rapt__now_ns();
}

/* A task that never ran reports its queueing time up to `end` (when it was cancelled or timed
 * out), so "how long did it wait" has an answer for every task. */
static void fill_result(const rapt_task *t, rapt_task_result *r, bool ran, int status, uint64_t end,
                        uint64_t run_ns)
{
    memset(r, 0, sizeof(*r));
    r->status = status;
    r->ran = ran;
    r->cancel_requested = atomic_load(&t->stop) == RAPT_ECANCELED || rapt_token_cancelled(t->token);
    r->timed_out = (t->expire && end >= t->expire) || status == RAPT_ETIMEDOUT;
    r->deadline_missed = t->deadline && end > t->deadline;
    r->id = t->id;
    r->arg = t->arg;
    r->queued_ns = rapt__sat_sub(ran ? t->start_ns : end, t->submit_ns);
    r->mem_wait_ns = t->mem_wait_ns;
    r->run_ns = run_ns;
    r->mem_estimate = t->mem;
    r->arena_peak = t->arena_peak;
    r->worker = ran ? t->worker : NO_WORKER;
}

/* Hands the result to the future and the callback. Runs without pool.mu. */
/* The future is completed before on_done runs, so a callback that waits on the task's own
 * future (or releases it) cannot block. f->task is left for account(), under pool.mu: until
 * then a concurrent cancel finds the task FINISHING and answers -EALREADY. */
static void publish(rapt_task *t, const rapt_task_result *r)
{
    rapt_future *f = t->fut;
    if (f) {
        pthread_mutex_lock(&f->mu);
        f->res = *r;
        f->done = true;
        if (f->waiters)
            pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
    if (t->on_done)
        t->on_done(r, t->userdata);
}

/* The last of the two references (the caller's, the pool's) frees the future; either side
 * may be last, on any thread, which is why the count is atomic and not under a lock. */
static void future_unref(rapt_future *f)
{
    if (f && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
    }
}

/* Plain tasks submitted: ids taken neither by the locked path nor by submitters running tasks
 * themselves. inline_ids is read first: a caller-run task takes its id before it counts it in
 * inline_ids, so this may count it for a moment (run_here then wakes any waiter), but never
 * misses a plain task. Exact under pool.mu as far as the locked path goes. */
static uint64_t plain_submitted(const rapt_pool *p)
{
    uint64_t inl = atomic_load(&p->inline_ids);
    uint64_t np = atomic_load(&p->nonplain_ids);
    return atomic_load(&p->next_id) - np - inl;
}

/* Tasks submitted and not yet recycled. Under pool.mu. */
/* Reads the submitters' counter without their help: it may grow right after, which only
 * means a waiter that saw 0 returned at a moment when the pool was in fact idle. */
static uint64_t outstanding(const rapt_pool *p)
{
    return p->locked_submitted + plain_submitted(p) - p->finished;
}

/* Counts a published task and recycles its node. Under pool.mu. */
/* Adds one completed task to the counters. Under pool.mu. */
static void tally(rapt_pool *p, const rapt_task_result *r)
{
    rapt_pool_stats *s = &p->st;
    s->completed++;
    if (r->ran) {
        if (r->status == 0)
            s->ok++;
        else if (r->status == RAPT_ECANCELED)
            s->cancelled++;
        else if (r->status == RAPT_ETIMEDOUT)
            s->timed_out++;
        else
            s->failed++;
        s->queue_ns_total += r->queued_ns;
        if (r->queued_ns > s->queue_ns_max)
            s->queue_ns_max = r->queued_ns;
        s->run_ns_total += r->run_ns;
        if (r->run_ns > s->run_ns_max)
            s->run_ns_max = r->run_ns;
    } else if (r->status == RAPT_ECANCELED) {
        s->cancelled++;
    } else if (r->status == RAPT_ETIMEDOUT) {
        s->timed_out++;
    } else {
        s->rejected++;
    }
    if (r->deadline_missed)
        s->deadline_missed++;
    s->mem_wait_ns_total += r->mem_wait_ns;
}

static void account(rapt_pool *p, rapt_task *t, const rapt_task_result *r)
{
    tally(p, r);
    if (t->fut) {
        t->fut->task = NULL;
        future_unref(t->fut);
        t->fut = NULL;
    }
    if (p->nfree < FREE_KEEP) {
        t->next = p->free_list;
        p->free_list = t;
        p->nfree++;
    } else {
        free(t);
    }
    p->finished++;
    if (p->idle_waiters && !outstanding(p))
        pthread_cond_broadcast(&p->idle_cv);
}

/* Publishes a chain of tasks that end without running (linked by next, each with status set),
 * then accounts them. Called without pool.mu; returns without it. */
/* Results are built twice (once to publish, once to account) rather than kept: a chain may
 * be long (a cancelling shutdown) and the result is cheap to rebuild from the node. */
static void finish_unrun(rapt_pool *p, rapt_task *chain)
{
    if (!chain)
        return;
    uint64_t end = now_ns();
    for (rapt_task *t = chain; t; t = t->next) {
        rapt_task_result r;
        fill_result(t, &r, false, t->status, end, 0);
        publish(t, &r);
    }
    pthread_mutex_lock(&p->mu);
    while (chain) {
        rapt_task *next = chain->next;
        rapt_task_result r;
        fill_result(chain, &r, false, chain->status, end, 0);
        account(p, chain, &r);
        chain = next;
    }
    pthread_mutex_unlock(&p->mu);
}

static void push_unrun(rapt_task **chain, rapt_task *t, int status)
{
    t->state = T_FINISHING;
    t->status = status;
    t->next = *chain;
    *chain = t;
}

/* ---- workers --------------------------------------------------------------------------------- */

/* Why a task must not start now, or 0. */
/* The order says which reason wins when several hold: an explicit cancellation beats the
 * group token, which beats the timeout. now 0 means "do not check the timeout". */
static int stop_reason(const rapt_task *t, uint64_t now)
{
    int s = atomic_load_explicit(&t->stop, memory_order_acquire);
    if (s)
        return s;
    if (rapt_token_cancelled(t->token))
        return RAPT_ECANCELED;
    if (t->expire && now >= t->expire)
        return RAPT_ETIMEDOUT;
    return 0;
}

/* Chooses the next tasks for a worker, under pool.mu. Returns how many it put in batch[]: one
 * task in state RUNNING (admitted) or MEMWAIT (the caller must wait in the gate), or up to
 * BATCH plain tasks in submission order, or 0. Batching happens only while no task of another
 * kind is queued, so it never reorders anything. Tasks that end without running are put on
 * *dead instead; the function stops as soon as it has any, so the caller publishes them
 * promptly. */
/* Moves the inbox to the end of the plain lane, oldest first. Under pool.mu. */
/* The exchange takes the whole inbox at once (no ABA problem: nobody pops single nodes); the
 * inbox is a LIFO, so the chain is reversed to restore submission order. */
static void drain_inbox(rapt_pool *p)
{
    if (!atomic_load_explicit(&p->inbox, memory_order_relaxed))
        return;
    ptask *l = atomic_exchange_explicit(&p->inbox, NULL, memory_order_acquire);
    ptask *rev = NULL, *last = l;
    size_t n = 0;
    while (l) {
        ptask *next = l->next;
        l->next = rev;
        rev = l;
        l = next;
        n++;
    }
    if (p->pl_tail)
        p->pl_tail->next = rev;
    else
        p->pl_head = rev;
    p->pl_tail = last;
    p->npl += n;
    atomic_store_explicit(&p->drained, atomic_load(&p->drained) + n, memory_order_relaxed);
    p->st.queued += n;
    if (p->st.queued > p->st.peak_queued)
        p->st.peak_queued = p->st.queued;
    sync_ready(p);
}

/* Whether the plain task x should run before the full task t: x has default keys. */
static bool plain_first(const rapt_pool *p, const ptask *x, const rapt_task *t)
{
    rapt_task k;
    k.prio = 0;
    k.deadline = 0;
    k.agekey = (int64_t)x->submit_ns;
    k.id = x->id;
    return better(p, &k, t);
}

static unsigned pick(rapt_pool *p, rapt_task **dead, rapt_task **batch, batchctl *pb)
{
    /* Each drain takes the inbox's cache line from the submitters; while the plain lane holds
     * enough for every worker and no full task needs comparing against, leave it be. Plain
     * tasks keep their order either way (the inbox only holds newer ones). */
    if (p->npl < (size_t)BATCH * p->alive ||
        atomic_load_explicit(&p->full_queued, memory_order_relaxed))
        drain_inbox(p);
    pb->n = 0;
    uint64_t now = p->xh.n ? now_ns() : 0;
    while (p->xh.n && p->xh.v[0]->expire <= now) {
        rapt_task *t = p->xh.v[0];
        unqueue(p, t);
        push_unrun(dead, t, RAPT_ETIMEDOUT);
    }
    if (*dead)
        return 0;
    rapt_task *a = queue_head(p, &p->q[0]);
    rapt_task *b = p->memwaiter ? NULL : queue_head(p, &p->q[1]);
    rapt_task *t = !a ? b : !b ? a : better(p, a, b) ? a : b;
    if (p->pl_head && (!t || plain_first(p, p->pl_head, t))) {
        /* A batch of plain tasks, as long as each is still the best choice. Take a fair share
         * only, so the other workers find work too. */
        size_t share = p->npl / (p->alive ? p->alive : 1);
        unsigned want = share < 1 ? 1 : share > BATCH ? BATCH : (unsigned)share;
        while (pb->n < want && p->pl_head && (!t || plain_first(p, p->pl_head, t))) {
            ptask *x = p->pl_head;
            p->pl_head = x->next;
            if (!p->pl_head)
                p->pl_tail = NULL;
            p->npl--;
            p->st.queued--;
            pb->items[pb->n++] = x;
        }
        atomic_store_explicit(&pb->next, 0, memory_order_relaxed);
        atomic_store_explicit(&p->plain_taken, atomic_load(&p->plain_taken) + pb->n,
                              memory_order_relaxed);
        sync_ready(p);
        return 0;
    }
    if (!t)
        return 0;
    unqueue(p, t);
    int why = stop_reason(t, now ? now : (t->expire ? now_ns() : 0));
    if (why) {
        push_unrun(dead, t, why);
        return 0;
    }
    if (t->mem) {
        int r = rapt__gate_wait(p->gate, &t->gw, 0, t->mem, RAPT__GATE_TRY, NULL);
        if (r == -EAGAIN) {
            t->state = T_MEMWAIT;
            p->memwaiter = t;
            sync_ready(p);
            p->st.mem_waiting++;
            p->st.mem_waits++;
            batch[0] = t;
            return 1;
        }
        if (r < 0) {
            push_unrun(dead, t, r);
            return 0;
        }
        t->held_mem = true;
    }
    t->state = T_RUNNING;
    batch[0] = t;
    return 1;
}

/* Wakes one idle worker if there is work it could take and nobody is already being woken. */
/* wake_pending counts signals sent to sleeping workers that have not woken yet: without it a
 * burst of submissions would signal the same sleeper again and again, each a futex call, while
 * only one worker wakes. */
static void wake_one(rapt_pool *p)
{
    if (p->idle > p->wake_pending) {
        p->wake_pending++;
        pthread_cond_signal(&p->work_cv);
    }
}

/* Runs one task of a batch (or a caller-run task) and publishes its result into *res. Called
 * without pool.mu. `clock` is the start time; returns the end time. */
static uint64_t run_one(rapt_pool *p, rapt_task *t, unsigned worker, uint64_t clock, bool batched,
                        rapt_task_result *res)
{
    t->start_ns = clock;
    t->worker = worker;
    int status = 0;
    bool ran = false;
    if (batched && atomic_load_explicit(&p->cancel_all, memory_order_acquire)) {
        /* A cancelling shutdown came while this batch was being worked through. */
        atomic_store(&t->stop, RAPT_ECANCELED);
        status = RAPT_ECANCELED;
    } else {
        if (t->want_arena) {
            rapt_arena_opts ao;
            rapt_arena_opts_init(&ao);
            ao.capacity = t->mem;
            status = rapt_arena_create(&t->arena, &ao);
        }
        if (status == 0) {
            ran = true;
            status = t->fn(t, t->arg);
        }
    }
    uint64_t end = clock ? now_ns() : 0;
    if (t->arena) {
        rapt_arena_stats as;
        if (rapt_arena_stats_get(t->arena, &as) == 0)
            t->arena_peak = as.peak_used;
        rapt_arena_destroy(t->arena);
        t->arena = NULL;
    }
    if (t->held_mem) {
        rapt_gate_release(p->gate, 0, t->mem);
        t->held_mem = false;
    }
    fill_result(t, res, ran, status, end, ran ? end - t->start_ns : 0);
    publish(t, res);
    return end;
}

/* Runs n tasks picked in state RUNNING, one after the other. Called with pool.mu held; returns
 * with it held, every task published but not yet accounted (res[] filled). */
static void run_batch(rapt_pool *p, unsigned idx, rapt_task **batch, unsigned n,
                      rapt_task_result *res)
{
    p->st.running += n;
    pthread_mutex_unlock(&p->mu);
    /* One clock read per task: a task starts when the previous one ends. Batches of plain tasks
     * go without any when the pool was created with time_plain_tasks off (clock 0 = untimed). */
    uint64_t clock = (n > 1 && p->no_timing) ? 0 : now_ns();
    for (unsigned i = 0; i < n; i++)
        clock = run_one(p, batch[i], idx, clock, n > 1, &res[i]);
    pthread_mutex_lock(&p->mu);
    p->st.running -= n;
    for (unsigned i = 0; i < n; i++)
        batch[i]->state = T_FINISHING;
}

#define CACHE_MAX 4096 /* plain-task nodes kept for reuse */

/* Runs one plain task with the worker's scratch context (only the fields a plain task can
 * have are set) and publishes its result. Without pool.mu. Returns the end time (0 when
 * untimed). */
static uint64_t run_plain(rapt_pool *p, rapt_task *ctx, const ptask *x, unsigned worker,
                          uint64_t clock, rapt_task_result *res)
{
    ctx->fn = x->fn;
    ctx->arg = x->arg;
    ctx->id = x->id;
    ctx->submit_ns = x->submit_ns;
    ctx->start_ns = clock;
    ctx->worker = worker;
    int status;
    bool ran = false;
    if (atomic_load_explicit(&p->cancel_all, memory_order_acquire)) {
        /* A cancelling shutdown came while this task was already taken. */
        atomic_store_explicit(&ctx->stop, RAPT_ECANCELED, memory_order_relaxed);
        status = RAPT_ECANCELED;
    } else {
        ran = true;
        status = x->fn(ctx, x->arg);
    }
    uint64_t end = clock ? now_ns() : 0;
    fill_result(ctx, res, ran, status, end, ran ? end - clock : 0);
    atomic_store_explicit(&ctx->stop, 0, memory_order_relaxed);
    if (x->on_done)
        x->on_done(res, x->userdata);
    return end;
}

/* Hands used plain-task nodes back for reuse (one compare-and-swap for the chain), or frees
 * them when enough are kept already. Without pool.mu. */
static void return_nodes(rapt_pool *p, ptask **nodes, unsigned k)
{
    if (k == 0)
        return;
    if (atomic_load_explicit(&p->ncached, memory_order_relaxed) > CACHE_MAX) {
        for (unsigned i = 0; i < k; i++)
            free(nodes[i]);
        return;
    }
    for (unsigned i = 0; i + 1 < k; i++)
        nodes[i]->next = nodes[i + 1];
    ptask *head = atomic_load_explicit(&p->returned, memory_order_relaxed);
    do {
        nodes[k - 1]->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&p->returned, &head, nodes[0],
                                                    memory_order_release, memory_order_relaxed));
    atomic_fetch_add_explicit(&p->ncached, k, memory_order_relaxed);
}

/* Claims and runs tasks of batch b until none is left unclaimed. Without pool.mu. Returns how
 * many this thread ran (their results in res[], their nodes given back). */
static unsigned run_claims(rapt_pool *p, batchctl *b, rapt_task *ctx, unsigned worker,
                           rapt_task_result *res)
{
    ptask *mine[BATCH];
    unsigned k = 0;
    uint64_t clock = p->no_timing ? 0 : now_ns();
    if (clock)
        atomic_store_explicit(&p->clock_cache, clock, memory_order_relaxed);
    for (;;) {
        unsigned i = atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
        if (i >= b->n)
            break;
        mine[k] = b->items[i];
        clock = run_plain(p, ctx, mine[k], worker, clock, &res[k]);
        k++;
    }
    return_nodes(p, mine, k);
    return k;
}

/* Counts k plain tasks this worker ran. Under pool.mu. */
static void account_plain(rapt_pool *p, const rapt_task_result *res, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        tally(p, &res[i]);
    p->st.running -= k;
    p->finished += k;
    if (p->idle_waiters && !outstanding(p))
        pthread_cond_broadcast(&p->idle_cv);
}

/* An idle worker takes one unclaimed task from another worker's batch, so no task waits
 * behind a slow one while a worker has nothing to do. Under pool.mu; returns with it, true
 * when it ran one. */
static bool steal(rapt_pool *p, unsigned idx, rapt_task *ctx)
{
    for (unsigned i = 0; i < p->nw; i++) {
        batchctl *b = p->w[i].batch;
        if (i == idx || !b || atomic_load_explicit(&b->next, memory_order_relaxed) >= b->n)
            continue;
        unsigned j = atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
        if (j >= b->n)
            continue;
        ptask *x = b->items[j]; /* read under pool.mu: the owner cannot unregister b now */
        if (j + 1 < b->n)
            wake_one(p); /* more to take: another idle worker may help */
        pthread_mutex_unlock(&p->mu);
        rapt_task_result r;
        run_plain(p, ctx, x, idx, p->no_timing ? 0 : now_ns(), &r);
        return_nodes(p, &x, 1);
        pthread_mutex_lock(&p->mu);
        account_plain(p, &r, 1);
        return true;
    }
    return false;
}

/* Ends every task of the plain lane as cancelled. Called with pool.mu; returns with it. */
static void cancel_plain_lane(rapt_pool *p)
{
    ptask *l = p->pl_head;
    size_t n = p->npl;
    p->pl_head = p->pl_tail = NULL;
    p->npl = 0;
    p->st.queued -= n;
    atomic_store_explicit(&p->plain_taken, atomic_load(&p->plain_taken) + n, memory_order_relaxed);
    sync_ready(p);
    if (!l)
        return;
    pthread_mutex_unlock(&p->mu);
    rapt_task ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.pool = p;
    atomic_init(&ctx.stop, RAPT_ECANCELED);
    uint64_t end = now_ns();
    rapt_task_result r;
    while (l) {
        ptask *next = l->next;
        ctx.arg = l->arg;
        ctx.id = l->id;
        ctx.submit_ns = l->submit_ns;
        fill_result(&ctx, &r, false, RAPT_ECANCELED, end, 0);
        if (l->on_done)
            l->on_done(&r, l->userdata);
        free(l);
        pthread_mutex_lock(&p->mu);
        p->st.running++; /* account_plain() counts it off again */
        account_plain(p, &r, 1);
        pthread_mutex_unlock(&p->mu);
        l = next;
    }
    pthread_mutex_lock(&p->mu);
}

/* The memory wait of a task picked in state MEMWAIT. Called and returns with pool.mu held.
 * Returns true when the task was admitted and should run. */
/* While this worker sleeps in the gate, p->memwaiter keeps other workers off the memory queue
 * (they would only queue behind it in the gate and hold their threads), and the task's stop
 * flag lets a cancel or a cancelling shutdown interrupt the wait (rapt__gate_kick()). */
static bool wait_memory(rapt_pool *p, rapt_task *t, rapt_task **dead)
{
    pthread_mutex_unlock(&p->mu);
    uint64_t t0 = now_ns();
    int r = rapt__gate_wait(p->gate, &t->gw, 0, t->mem, t->expire, &t->stop);
    uint64_t t1 = now_ns();
    pthread_mutex_lock(&p->mu);
    t->mem_wait_ns = t1 - t0;
    p->memwaiter = NULL;
    sync_ready(p);
    p->st.mem_waiting--;
    /* Other memory tasks may be picked again. */
    if (p->q[1].nf || p->q[1].h.n)
        wake_one(p);
    if (r == 0) {
        int why = stop_reason(t, t1);
        if (!why) {
            t->held_mem = true;
            t->state = T_RUNNING;
            return true;
        }
        /* Admitted and cancelled at the same moment: give the bytes back unused, without
         * pool.mu, since a shared gate's on_available callback may call into this pool. */
        pthread_mutex_unlock(&p->mu);
        rapt_gate_release(p->gate, 0, t->mem);
        pthread_mutex_lock(&p->mu);
        r = why;
    }
    push_unrun(dead, t, r);
    return false;
}

typedef struct wstart {
    rapt_pool *p;
    unsigned idx;
} wstart;

static void *worker_main(void *arg)
{
    wstart *ws = arg;
    rapt_pool *p = ws->p;
    unsigned idx = ws->idx;
    free(ws);
    char name[16];
    snprintf(name, sizeof(name), "%s-%u", p->name, idx);
    rapt__os_thread_name(name);

    pthread_mutex_lock(&p->mu);
    /* The tasks this worker ran last, accounted on the next turn under the same lock that picks
     * the next ones: one lock round trip per batch. */
    rapt_task *batch[BATCH];
    rapt_task_result res[BATCH];
    unsigned ndone = 0, nplain = 0;
    batchctl pb;
    rapt_task ctx; /* the scratch context plain tasks run with */
    memset(&ctx, 0, sizeof(ctx));
    ctx.pool = p;
    ctx.qidx = ctx.xidx = NPOS;
    atomic_init(&ctx.stop, 0);
    for (;;) {
        for (unsigned i = 0; i < ndone; i++)
            account(p, batch[i], &res[i]);
        ndone = 0;
        if (nplain)
            account_plain(p, res, nplain);
        nplain = 0;
        if (p->stopping || p->alive > p->target)
            break;
        rapt_task *dead = NULL;
        unsigned n = pick(p, &dead, batch, &pb);
        if (pb.n) {
            /* Register the batch so idle workers can take from it, and wake one if a task
             * would otherwise wait behind its neighbours. */
            p->st.running += pb.n;
            bool shared = pb.n > 1;
            if (shared) {
                p->w[idx].batch = &pb;
                p->nbatches++;
                sync_ready(p);
                wake_one(p);
            }
            pthread_mutex_unlock(&p->mu);
            nplain = run_claims(p, &pb, &ctx, idx, res);
            pthread_mutex_lock(&p->mu);
            if (shared) {
                p->w[idx].batch = NULL;
                p->nbatches--;
                sync_ready(p);
            }
            continue;
        }
        if (n == 1 && batch[0]->state == T_MEMWAIT) {
            p->w[idx].cur = batch[0];
            if (!wait_memory(p, batch[0], &dead)) {
                p->w[idx].cur = NULL;
                n = 0;
            }
        }
        if (dead) {
            pthread_mutex_unlock(&p->mu);
            finish_unrun(p, dead);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (n == 0) {
            if (p->nbatches && steal(p, idx, &ctx))
                continue;
            if (!p->xh.n && !p->stopping) {
                /* Poll for a moment before sleeping: when tasks are tiny the next one usually
                 * comes within microseconds, and a futex sleep and wake-up cost more. */
                pthread_mutex_unlock(&p->mu);
                bool work = false;
                for (int i = 0; i < SPIN && !work; i++) {
                    rapt__cpu_relax();
                    /* Look at the shared lines only every 16 turns: each look competes with
                     * the submitter writing them. */
                    if ((i & 15) == 15)
                        work = atomic_load_explicit(&p->ready, memory_order_relaxed) != 0 ||
                               atomic_load_explicit(&p->inbox, memory_order_relaxed) != NULL;
                    if ((i & 255) == 255)
                        sched_yield();
                }
                pthread_mutex_lock(&p->mu);
                if (work)
                    continue;
            }
            if (p->stopping || p->alive > p->target)
                continue;
            p->idle++;
            atomic_store(&p->nidle, p->idle);
            if (p->xh.n) {
                uint64_t dl = p->xh.v[0]->expire;
                struct timespec ts = {.tv_sec = (time_t)(dl / 1000000000ull),
                                      .tv_nsec = (long)(dl % 1000000000ull)};
                pthread_cond_timedwait(&p->work_cv, &p->mu, &ts);
            } else if (!atomic_load(&p->ready) && !atomic_load(&p->inbox)) {
                /* nidle was stored (seq_cst) before this check of the inbox, and a submitter
                 * pushes before it reads nidle, so either we see its task here or it sees us
                 * idle and signals under the lock, which it cannot take before we sleep. */
                pthread_cond_wait(&p->work_cv, &p->mu);
            }
            p->idle--;
            atomic_store(&p->nidle, p->idle);
            if (p->wake_pending)
                p->wake_pending--;
            continue;
        }
        p->w[idx].cur = n == 1 ? batch[0] : NULL;
        run_batch(p, idx, batch, n, res);
        p->w[idx].cur = NULL;
        ndone = n;
    }
    p->alive--;
    p->w[idx].exited = true;
    if (p->idle_waiters)
        pthread_cond_broadcast(&p->idle_cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Starts one worker. Under pool.mu. */
/* Worker slots are never reused: a joined slot stays in the array, so an index names one
 * thread for the pool's life (it is in the thread's name and in task results). Resizes are
 * rare enough that the array's growth does not matter. */
static int spawn_worker(rapt_pool *p)
{
    if (p->nw == p->capw) {
        unsigned cap = p->capw ? p->capw * 2 : 8;
        wslot *w = realloc(p->w, cap * sizeof(*w));
        if (!w)
            return -ENOMEM;
        p->w = w;
        p->capw = cap;
    }
    wstart *ws = malloc(sizeof(*ws));
    if (!ws)
        return -ENOMEM;
    ws->p = p;
    ws->idx = p->nw;
    wslot *slot = &p->w[p->nw];
    memset(slot, 0, sizeof(*slot));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (p->stack)
        pthread_attr_setstacksize(&attr, p->stack);
    int r = pthread_create(&slot->th, &attr, worker_main, ws);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        free(ws);
        return -r;
    }
    slot->started = true;
    p->nw++;
    p->alive++;
    return 0;
}

/* Joins workers that have exited. Called without pool.mu. */
/* Joins outside pool.mu: an exiting worker takes the lock on its way out, and joining it
 * under the lock would wait for that forever. A slot is marked joined before the unlock so
 * that two callers never join the same thread. */
static void join_exited(rapt_pool *p, bool all)
{
    for (;;) {
        pthread_t th;
        bool found = false;
        pthread_mutex_lock(&p->mu);
        for (unsigned i = 0; i < p->nw; i++) {
            if (p->w[i].started && !p->w[i].joined && (p->w[i].exited || all)) {
                p->w[i].joined = true;
                th = p->w[i].th;
                found = true;
                break;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (!found)
            return;
        pthread_join(th, NULL);
    }
}

/* Misuse detection for wait_idle and shutdown called from a task: they would wait for the
 * very task that calls them. A scan of the slots, not a thread-local variable, so the pool
 * keeps no state outside its handle. */
static bool on_worker_thread(const rapt_pool *p)
{
    pthread_t self = pthread_self();
    for (unsigned i = 0; i < p->nw; i++)
        if (p->w[i].started && !p->w[i].exited && pthread_equal(p->w[i].th, self))
            return true;
    return false;
}

/* ---- creation -------------------------------------------------------------------------------- */

void rapt_pool_opts_init(rapt_pool_opts *o)
{
    if (o)
        memset(o, 0, sizeof(*o));
}

void rapt_task_opts_init(rapt_task_opts *o)
{
    if (o)
        memset(o, 0, sizeof(*o));
}

static void plog(rapt_pool *p, rapt_log_level lvl, const char *msg)
{
    if (p->log)
        p->log(p->log_userdata, lvl, msg);
}

/* Threads and the memory budget a pool gets by default, from the machine's real limits. */
static int machine_defaults(const rapt_pool_opts *o, unsigned *threads, uint64_t *budget,
                            uint64_t *max)
{
    rapt_sys_info *info = malloc(sizeof(*info));
    if (!info)
        return -ENOMEM;
    rapt_sys_opts so;
    rapt_sys_opts_init(&so);
    so.sysroot = o->sysroot;
    int r = rapt_sys_read(&so, info);
    if (r == 0) {
        *threads = info->cpu.effective;
        if (info->mem.limit == 0) {
            *budget = RAPT_GATE_UNLIMITED; /* nothing is known to limit us */
            *max = 0;
        } else {
            *budget = info->default_budget;
            *max = (uint64_t)((double)info->mem.limit * RAPT_SYS_DEFAULT_ETA);
        }
    }
    free(info);
    return r;
}

/* The machine is read only when a default needs it: a pool with explicit threads and budget
 * starts without touching /proc or /sys. */
int rapt_pool_create(rapt_pool **out, const rapt_pool_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    rapt_pool_opts defaults;
    if (!opts) {
        rapt_pool_opts_init(&defaults);
        opts = &defaults;
    }
    if (opts->order > RAPT_POOL_ORDER_FIFO || opts->threads > 4096 ||
        opts->when_full > RAPT_POOL_FULL_CALLER_RUNS)
        return -EINVAL;
    unsigned threads = opts->threads;
    uint64_t budget = opts->mem_budget, max = opts->mem_max;
    if (threads == 0 || (budget == 0 && !opts->gate)) {
        unsigned t = 1;
        uint64_t b = RAPT_GATE_UNLIMITED, m = 0;
        int r = machine_defaults(opts, &t, &b, &m);
        if (r < 0)
            return r;
        if (threads == 0)
            threads = t;
        if (budget == 0) {
            budget = b;
            if (max == 0)
                max = m;
        }
    }

    rapt_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int r = pthread_mutex_init(&p->mu, NULL);
    if (r) {
        free(p);
        return -r;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work_cv, &ca);
    pthread_cond_init(&p->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    p->xh.expiry = true;
    atomic_flag_clear(&p->pc_busy);
    p->order = opts->order;
    p->aging = opts->aging_ns;
    p->max_queued = opts->max_queued;
    p->when_full = opts->when_full;
    p->no_timing = !opts->time_plain_tasks;
    p->stack = opts->stack_size;
    p->log = opts->log;
    p->log_userdata = opts->log_userdata;
    rapt__strlcpy(p->name, opts->name && *opts->name ? opts->name : "rapt-pool", sizeof(p->name));
    if (opts->gate) {
        p->gate = opts->gate;
    } else {
        rapt_gate_opts go;
        rapt_gate_opts_init(&go);
        go.bytes = budget;
        go.max_bytes = max > budget ? max : 0;
        r = rapt_gate_create(&p->gate, &go);
        if (r < 0)
            goto fail;
        p->own_gate = true;
    }
    pthread_mutex_lock(&p->mu);
    p->target = threads;
    for (unsigned i = 0; i < threads && r == 0; i++)
        r = spawn_worker(p);
    pthread_mutex_unlock(&p->mu);
    if (r < 0)
        goto fail;
    *out = p;
    return 0;
fail:
    /* Stop what started; nothing was submitted, so there is nothing to drain. */
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    join_exited(p, true);
    if (p->own_gate)
        rapt_gate_destroy(p->gate);
    free(p->w);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->idle_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return r;
}

/* ---- submission ------------------------------------------------------------------------------ */

static rapt_future *future_new(rapt_pool *p, unsigned refs)
{
    rapt_future *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&f->refs, refs);
    f->pool = p;
    return f;
}

/* RAPT_POOL_FULL_CALLER_RUNS: runs the task on the submitting thread without queueing it and
 * without the pool's lock (its counters are the inl_* atomics). Returns -EAGAIN when its
 * estimate does not fit the gate now. */
static int run_here(rapt_pool *p, rapt_task_fn fn, void *arg, const rapt_task_opts *opts,
                    rapt_future **out)
{
    rapt_task t;
    memset(&t, 0, sizeof(t));
    if (opts->mem_estimate) {
        int r = rapt_gate_try_acquire(p->gate, 0, opts->mem_estimate);
        if (r < 0)
            return r;
        t.held_mem = true;
    }
    rapt_future *f = NULL;
    if (out) {
        f = future_new(p, 1); /* only the caller's reference: nothing queues it */
        if (!f) {
            if (t.held_mem)
                rapt_gate_release(p->gate, 0, opts->mem_estimate);
            return -ENOMEM;
        }
    }
    bool untimed = p->no_timing && !opts->deadline_ns && !opts->timeout_ns && !out;
    uint64_t now = untimed ? 0 : now_ns();
    t.fn = fn;
    t.arg = arg;
    t.on_done = opts->on_done;
    t.userdata = opts->userdata;
    t.token = opts->token;
    t.fut = f;
    t.pool = p;
    t.prio = opts->priority;
    t.id = atomic_fetch_add(&p->next_id, 1) + 1;
    atomic_fetch_add(&p->inline_ids, 1);
    /* Between the two, outstanding() counted this task as a plain one; a waiter that saw it
     * is woken to look again. Pairs with rapt_pool_wait_idle(), which stores `waiters` before
     * it reads the counters: one of the two sees the other. */
    if (atomic_load(&p->waiters)) {
        pthread_mutex_lock(&p->mu);
        if (p->idle_waiters && !outstanding(p))
            pthread_cond_broadcast(&p->idle_cv);
        pthread_mutex_unlock(&p->mu);
    }
    t.submit_ns = now;
    t.deadline = opts->deadline_ns ? rapt__sat_add(now, opts->deadline_ns) : 0;
    t.expire = opts->timeout_ns ? rapt__sat_add(now, opts->timeout_ns) : 0;
    t.mem = opts->mem_estimate;
    t.want_arena = opts->arena;
    atomic_init(&t.stop, 0);
    t.state = T_RUNNING;
    t.qidx = t.xidx = NPOS;
    rapt_task_result r;
    if (rapt_token_cancelled(t.token)) {
        fill_result(&t, &r, false, RAPT_ECANCELED, now, 0);
        publish(&t, &r);
    } else {
        run_one(p, &t, RAPT_POOL_CALLER, now, false, &r);
    }
    if (r.status == 0 && r.ran)
        atomic_fetch_add_explicit(&p->inl_ok, 1, memory_order_relaxed);
    else if (r.status == RAPT_ECANCELED)
        atomic_fetch_add_explicit(&p->inl_cancelled, 1, memory_order_relaxed);
    else if (r.status == RAPT_ETIMEDOUT)
        atomic_fetch_add_explicit(&p->inl_timed_out, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&p->inl_failed, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->inl_run_ns, r.run_ns, memory_order_relaxed);
    if (out)
        *out = f;
    return 0;
}

/* The submission time of a plain task. While workers are busy with batches (the plain lane is
 * not empty), the time a worker read at its last batch start is recent to within one batch's
 * run time, and reading it costs a load instead of a 20-30 ns clock read, on the submitter's
 * path, which bounds throughput. nginx and Redis cache their clocks for the same reason. When
 * no batch is under way the cached value may be old, so the clock is read. */
static uint64_t submit_clock(rapt_pool *p)
{
    if (atomic_load_explicit(&p->ready, memory_order_relaxed)) {
        uint64_t c = atomic_load_explicit(&p->clock_cache, memory_order_relaxed);
        if (c)
            return c;
    }
    return now_ns();
}

/* About how many tasks wait: the queue plus what is still in the inbox. Read without the lock,
 * so only good for the throttles (max_queued), which tolerate being off by a few. */
static uint64_t queued_hint(rapt_pool *p)
{
    uint64_t taken = atomic_load_explicit(&p->plain_taken, memory_order_relaxed);
    return atomic_load_explicit(&p->full_queued, memory_order_relaxed) +
           rapt__sat_sub(plain_submitted(p), taken);
}

/* The lock-free path for plain tasks: a recycled one-line node, one compare-and-swap, and a
 * wake-up only when a worker sleeps. */
static int submit_plain(rapt_pool *p, rapt_task_fn fn, void *arg, const rapt_task_opts *opts)
{
    ptask *x = NULL;
    if (!atomic_flag_test_and_set_explicit(&p->pc_busy, memory_order_acquire)) {
        if (!p->pcache)
            p->pcache = atomic_exchange_explicit(&p->returned, NULL, memory_order_acquire);
        if (p->pcache) {
            x = p->pcache;
            p->pcache = x->next;
            /* Counted down 64 at a time, to keep the shared counter off the hot path. */
            if (++p->pc_pops == 64) {
                atomic_fetch_sub_explicit(&p->ncached, 64, memory_order_relaxed);
                p->pc_pops = 0;
            }
        }
        atomic_flag_clear_explicit(&p->pc_busy, memory_order_release);
    }
    if (!x) {
        x = malloc(sizeof(*x));
        if (!x)
            return -ENOMEM;
    }
    x->fn = fn;
    x->arg = arg;
    x->on_done = opts->on_done;
    x->userdata = opts->userdata;
    /* Taking the id counts the task (plain_submitted()), before it is pushed, so a waiter
     * never sees the pool idle with it in flight. */
    x->id = atomic_fetch_add(&p->next_id, 1) + 1;
    x->submit_ns = p->no_timing ? 0 : submit_clock(p);
    ptask *head = atomic_load_explicit(&p->inbox, memory_order_relaxed);
    do {
        x->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&p->inbox, &head, x, memory_order_seq_cst,
                                                    memory_order_relaxed));
    /* Only a sleeping worker needs the lock and a signal; spinning ones see the inbox. The load
     * of nidle comes after the push (both sequentially consistent), pairing with the worker
     * that stores nidle before it checks the inbox and sleeps: one of the two sees the other. */
    if (atomic_load(&p->nidle)) {
        pthread_mutex_lock(&p->mu);
        wake_one(p);
        pthread_mutex_unlock(&p->mu);
    }
    return 0;
}

/* Three ways in, cheapest first: run now in the caller (the queue is full and the policy says
 * so), the lock-free inbox (plain tasks), or the locked queues (everything with options or a
 * future, which the pick, cancel and expiry paths need to find). */
int rapt_pool_submit(rapt_pool *p, rapt_task_fn fn, void *arg, const rapt_task_opts *opts,
                     rapt_future **out)
{
    if (out)
        *out = NULL;
    if (!p || !fn)
        return -EINVAL;
    static const rapt_task_opts dflt;
    if (!opts)
        opts = &dflt;
    if (opts->arena && opts->mem_estimate < 64) /* an arena needs room for one block */
        return -EINVAL;
    if (opts->mem_estimate) {
        /* Refuse at once what can never be admitted, instead of queueing it to fail later. */
        rapt_gate_stats gs;
        rapt_gate_stats_get(p->gate, &gs);
        if (opts->mem_estimate > gs.max_bytes)
            return RAPT_ETOOBIG;
    }
    if (p->when_full == RAPT_POOL_FULL_CALLER_RUNS && p->max_queued &&
        queued_hint(p) >= p->max_queued &&
        !atomic_load_explicit(&p->closed_flag, memory_order_acquire)) {
        int r = run_here(p, fn, arg, opts, out);
        if (r != -EAGAIN)
            return r;
        /* The estimate did not fit now: queue it after all, or report the queue full. */
    }
    if (!out && !opts->mem_estimate && !opts->timeout_ns && !opts->deadline_ns && !opts->token &&
        !opts->priority && !atomic_load_explicit(&p->closed_flag, memory_order_acquire) &&
        (!p->max_queued || queued_hint(p) < p->max_queued))
        return submit_plain(p, fn, arg, opts);
    rapt_future *f = NULL;
    if (out) {
        f = future_new(p, 2); /* the caller's reference and the pool's */
        if (!f)
            return -ENOMEM;
    }
    uint64_t now = now_ns();
    rapt_task *t = NULL;

    pthread_mutex_lock(&p->mu);
    int err = 0;
    if (p->closed)
        err = RAPT_ECLOSED;
    else if (p->max_queued &&
             p->st.queued + rapt__sat_sub(plain_submitted(p), atomic_load(&p->drained)) >=
                 p->max_queued)
        err = -EAGAIN;
    if (!err) {
        if (p->free_list) {
            t = p->free_list;
            p->free_list = t->next;
            p->nfree--;
        } else {
            /* Allocation under the lock happens only until the free list has warmed up. */
            t = malloc(sizeof(*t));
            if (!t)
                err = -ENOMEM;
        }
    }
    if (err) {
        pthread_mutex_unlock(&p->mu);
        if (f) {
            pthread_mutex_destroy(&f->mu);
            pthread_cond_destroy(&f->cv);
            free(f);
        }
        /* The lock-free check above saw room, but the queue filled meanwhile. */
        if (err == -EAGAIN && p->when_full == RAPT_POOL_FULL_CALLER_RUNS)
            return run_here(p, fn, arg, opts, out);
        return err;
    }
    /* Deadlines and timeouts are stored as absolute monotonic times, so ordering and expiry
     * compare them without knowing when each task was submitted. */
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    t->on_done = opts->on_done;
    t->userdata = opts->userdata;
    t->token = opts->token;
    t->fut = f;
    t->pool = p;
    t->prio = opts->priority;
    /* Both under pool.mu, so outstanding() never sees one without the other. */
    t->id = atomic_fetch_add(&p->next_id, 1) + 1;
    atomic_fetch_add(&p->nonplain_ids, 1);
    t->submit_ns = now;
    t->deadline = opts->deadline_ns ? rapt__sat_add(now, opts->deadline_ns) : 0;
    t->expire = opts->timeout_ns ? rapt__sat_add(now, opts->timeout_ns) : 0;
    if (p->aging) {
        /* Clamp so that absurd priorities or aging steps cannot overflow the key. */
        int64_t step = p->aging > INT64_MAX ? INT64_MAX : (int64_t)p->aging, off, key;
        if (__builtin_mul_overflow((int64_t)opts->priority, step, &off))
            off = opts->priority > 0 ? INT64_MAX : INT64_MIN;
        if (__builtin_sub_overflow((int64_t)now, off, &key))
            key = off > 0 ? INT64_MIN : INT64_MAX;
        t->agekey = key;
    }
    t->mem = opts->mem_estimate;
    t->want_arena = opts->arena;
    atomic_init(&t->stop, 0);
    t->state = T_QUEUED;
    t->qidx = t->xidx = NPOS;
    t->qclass = t->mem ? 1 : 0;
    t->worker = NO_WORKER;
    /* The only failure left is a heap growing (realloc); it is undone so nothing half-queued
     * remains and the caller gets the error with no callback fired. */
    err = queue_push(p, &p->q[t->qclass], t);
    if (!err && t->expire)
        err = heap_push(p, &p->xh, t);
    if (err) {
        if (t->qidx != NPOS || t->in_fifo)
            queue_remove(p, &p->q[t->qclass], t);
        free(t);
        pthread_mutex_unlock(&p->mu);
        if (f) {
            pthread_mutex_destroy(&f->mu);
            pthread_cond_destroy(&f->cv);
            free(f);
        }
        return err;
    }
    if (f)
        f->task = t;
    p->locked_submitted++;
    p->st.submitted++;
    if (++p->st.queued > p->st.peak_queued)
        p->st.peak_queued = p->st.queued;
    sync_ready(p);
    if (!(t->qclass == 1 && p->memwaiter))
        wake_one(p);
    pthread_mutex_unlock(&p->mu);
    if (out)
        *out = f;
    return 0;
}

/* ---- inside a task --------------------------------------------------------------------------- */

/* Called in tight loops by tasks: a relaxed-enough atomic load or two, and a clock read only
 * for tasks that have a timeout. */
bool rapt_task_should_stop(const rapt_task *t)
{
    return t && stop_reason(t, t->expire ? now_ns() : 0) != 0;
}

int rapt_task_check(const rapt_task *t)
{
    if (!t)
        return -EINVAL;
    return stop_reason(t, t->expire ? now_ns() : 0);
}

rapt_arena *rapt_task_arena(rapt_task *t)
{
    return t ? t->arena : NULL;
}

uint64_t rapt_task_id(const rapt_task *t)
{
    return t ? t->id : 0;
}

unsigned rapt_task_worker(const rapt_task *t)
{
    return t ? t->worker : NO_WORKER;
}

/* ---- futures --------------------------------------------------------------------------------- */

/* Ends a task that has not started, with `why`, if it is still queued (and, for a timeout, if
 * it really expired). Returns 0 when it did, -EALREADY when it had completed, -EBUSY when it is
 * past the queue (running or waiting for memory; for a cancel the stop flag is then set). */
static int end_queued(rapt_future *f, int why)
{
    pthread_mutex_lock(&f->mu);
    bool done = f->done;
    pthread_mutex_unlock(&f->mu);
    if (done)
        return -EALREADY;
    rapt_pool *p = f->pool;
    pthread_mutex_lock(&p->mu);
    rapt_task *t = f->task;
    if (!t || t->state == T_FINISHING) {
        pthread_mutex_unlock(&p->mu);
        return -EALREADY;
    }
    if (why == RAPT_ECANCELED)
        atomic_store_explicit(&t->stop, RAPT_ECANCELED, memory_order_release);
    if (t->state == T_QUEUED && (why == RAPT_ECANCELED || (t->expire && now_ns() >= t->expire))) {
        unqueue(p, t);
        rapt_task *chain = NULL;
        push_unrun(&chain, t, why);
        pthread_mutex_unlock(&p->mu);
        finish_unrun(p, chain);
        return 0;
    }
    if (t->state == T_MEMWAIT && why == RAPT_ECANCELED)
        rapt__gate_kick(p->gate, &t->gw);
    pthread_mutex_unlock(&p->mu);
    return -EBUSY;
}

int rapt_future_cancel(rapt_future *f)
{
    if (!f)
        return -EINVAL;
    int r = end_queued(f, RAPT_ECANCELED);
    return r == -EBUSY ? 0 : r;
}

bool rapt_future_done(rapt_future *f)
{
    if (!f)
        return false;
    pthread_mutex_lock(&f->mu);
    bool d = f->done;
    pthread_mutex_unlock(&f->mu);
    return d;
}

/* Waits for f until `deadline` (0 = forever). While the task sits in the queue past its own
 * timeout, the waiting thread reports the timeout itself instead of waiting for a free worker:
 * a caller never waits much longer than the task's timeout for a task that has not started. */
static int future_wait_until(rapt_future *f, uint64_t deadline, rapt_task_result *out)
{
    if (!f)
        return -EINVAL;
    bool helped = false;
    pthread_mutex_lock(&f->mu);
    f->waiters++;
    while (!f->done) {
        uint64_t until = deadline;
        if (!helped) {
            /* While done is false the node cannot be recycled (publish sets done first, under
             * f->mu), so reading its fixed expiry here is safe. */
            uint64_t ex = f->task ? f->task->expire : 0;
            if (ex && (!until || ex < until))
                until = ex;
            if (!ex)
                helped = true;
        }
        int r;
        if (!until) {
            r = pthread_cond_wait(&f->cv, &f->mu);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ull),
                                  .tv_nsec = (long)(until % 1000000000ull)};
            r = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        }
        if (r != ETIMEDOUT || f->done)
            continue;
        uint64_t now = now_ns();
        if (deadline && now >= deadline) {
            f->waiters--;
            pthread_mutex_unlock(&f->mu);
            return RAPT_ETIMEDOUT;
        }
        if (!helped) {
            helped = true;
            pthread_mutex_unlock(&f->mu);
            end_queued(f, RAPT_ETIMEDOUT); /* a no-op unless it is still queued */
            pthread_mutex_lock(&f->mu);
        }
    }
    f->waiters--;
    if (out)
        *out = f->res;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int rapt_future_wait(rapt_future *f, rapt_task_result *out)
{
    return future_wait_until(f, 0, out);
}

int rapt_future_timed_wait(rapt_future *f, uint64_t timeout_ns, rapt_task_result *out)
{
    return future_wait_until(f, rapt__sat_add(now_ns(), timeout_ns ? timeout_ns : 1), out);
}

void rapt_future_release(rapt_future *f)
{
    future_unref(f);
}

/* ---- control --------------------------------------------------------------------------------- */

/* Shrinking only lowers the target: each surplus worker notices it at the top of its loop,
 * between tasks, and leaves; a running task is never interrupted. */
int rapt_pool_resize(rapt_pool *p, unsigned threads)
{
    if (!p || threads == 0 || threads > 4096)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    if (p->closed) {
        pthread_mutex_unlock(&p->mu);
        return RAPT_ECLOSED;
    }
    p->target = threads;
    int r = 0;
    while (p->alive < p->target && r == 0)
        r = spawn_worker(p);
    if (p->alive > p->target)
        pthread_cond_broadcast(&p->work_cv); /* idle surplus workers exit now */
    pthread_mutex_unlock(&p->mu);
    join_exited(p, false);
    return r;
}

int rapt_pool_set_budget(rapt_pool *p, uint64_t bytes)
{
    if (!p)
        return -EINVAL;
    rapt_gate_budget_sink(p->gate, bytes);
    return 0;
}

rapt_gate *rapt_pool_gate(rapt_pool *p)
{
    return p ? p->gate : NULL;
}

int rapt_pool_wait_idle(rapt_pool *p)
{
    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    if (on_worker_thread(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EDEADLK;
    }
    p->idle_waiters++;
    atomic_store(&p->waiters, p->idle_waiters); /* before outstanding() reads: see run_here() */
    while (outstanding(p))
        pthread_cond_wait(&p->idle_cv, &p->mu);
    p->idle_waiters--;
    atomic_store(&p->waiters, p->idle_waiters);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* Both modes end by waiting for outstanding() to reach 0, which also covers tasks still in
 * the lock-free inbox: they were counted before they were pushed. */
int rapt_pool_shutdown(rapt_pool *p, rapt_pool_shutdown_mode mode)
{
    if (!p || (mode != RAPT_POOL_DRAIN && mode != RAPT_POOL_CANCEL))
        return -EINVAL;
    pthread_mutex_lock(&p->mu);
    if (on_worker_thread(p)) {
        pthread_mutex_unlock(&p->mu);
        return -EDEADLK;
    }
    p->closed = true;
    atomic_store(&p->closed_flag, true);
    rapt_task *chain = NULL;
    if (mode == RAPT_POOL_CANCEL) {
        atomic_store(&p->cancel_all, true);
        drain_inbox(p);
        cancel_plain_lane(p);
        for (int c = 0; c < 2; c++) {
            rapt_task *t;
            while ((t = queue_head(p, &p->q[c])) != NULL) {
                atomic_store(&t->stop, RAPT_ECANCELED);
                unqueue(p, t);
                push_unrun(&chain, t, RAPT_ECANCELED);
            }
        }
        for (unsigned i = 0; i < p->nw; i++) {
            rapt_task *t = p->w[i].cur;
            if (!t)
                continue;
            atomic_store(&t->stop, RAPT_ECANCELED);
            if (t->state == T_MEMWAIT)
                rapt__gate_kick(p->gate, &t->gw);
        }
    }
    pthread_mutex_unlock(&p->mu);
    finish_unrun(p, chain);
    pthread_mutex_lock(&p->mu);
    p->idle_waiters++;
    atomic_store(&p->waiters, p->idle_waiters); /* before outstanding() reads: see run_here() */
    while (outstanding(p))
        pthread_cond_wait(&p->idle_cv, &p->mu);
    p->idle_waiters--;
    atomic_store(&p->waiters, p->idle_waiters);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void rapt_pool_destroy(rapt_pool *p)
{
    if (!p)
        return;
    if (rapt_pool_shutdown(p, RAPT_POOL_DRAIN) == -EDEADLK) {
        plog(p, RAPT_LOG_ERROR, "pool: rapt_pool_destroy called from one of its own tasks");
        return; /* refusing beats deadlocking; the pool leaks */
    }
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    join_exited(p, true);
    while (p->free_list) {
        rapt_task *t = p->free_list;
        p->free_list = t->next;
        free(t);
    }
    ptask *lists[] = {p->pcache, atomic_load(&p->returned), atomic_load(&p->inbox), p->pl_head};
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(lists); i++) {
        while (lists[i]) {
            ptask *x = lists[i];
            lists[i] = x->next;
            free(x);
        }
    }
    free(p->q[0].h.v);
    free(p->q[1].h.v);
    free(p->xh.v);
    free(p->w);
    if (p->own_gate)
        rapt_gate_destroy(p->gate);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->idle_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int rapt_pool_stats_get(rapt_pool *p, rapt_pool_stats *out)
{
    if (!p || !out)
        return -EINVAL;
    rapt_gate_stats gs;
    rapt_gate_stats_get(p->gate, &gs);
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    out->threads = p->alive;
    out->idle = p->idle;
    uint64_t drained = atomic_load(&p->drained);
    uint64_t plain = plain_submitted(p);
    pthread_mutex_unlock(&p->mu);
    out->submitted += plain;
    out->queued += rapt__sat_sub(plain, drained);
    /* Tasks their submitters ran (RAPT_POOL_FULL_CALLER_RUNS) are counted apart, lock-free:
     * submitted when they took their id, completed when they counted their outcome. */
    uint64_t ok = atomic_load(&p->inl_ok), failed = atomic_load(&p->inl_failed),
             cancelled = atomic_load(&p->inl_cancelled), timed_out = atomic_load(&p->inl_timed_out);
    out->submitted += atomic_load(&p->inline_ids);
    out->completed += ok + failed + cancelled + timed_out;
    out->ok += ok;
    out->failed += failed;
    out->cancelled += cancelled;
    out->timed_out += timed_out;
    out->run_ns_total += atomic_load(&p->inl_run_ns);
    out->mem_budget = gs.cap_bytes;
    out->mem_held = gs.held_bytes;
    out->mem_peak_held = gs.peak_held_bytes;
    return 0;
}
