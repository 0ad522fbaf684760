/* sched.c: the job queue and its ordering policies (see rapt/sched.h, docs/sched.md).
 *
 * Owns two views of the queued jobs:
 *   - a treap ordered by (key, tie), where the key comes from the policy, giving the policy's
 *     choice (the minimum, or for pack the largest key at or under the free memory) in
 *     O(log n) expected;
 *   - a doubly linked arrival list, oldest first, for the bypass rule. Arrival times only grow
 *     (a clock that steps back is clamped), so appending keeps it sorted.
 *
 * Why a hand-written treap: no Debian C library offers an ordered set with a predecessor query
 * that builds cleanly under rapt's flags (libbsd's tree.h needs an `__unused` that glibc's
 * headers do not define), and a treap is the shortest balanced tree to get right: about sixty
 * lines, checked against a brute-force scan in tests/unit/test_sched.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rapt/sched.h"

typedef struct node {
    struct node *left, *right; /* treap */
    struct node *prev, *next;  /* arrival list */
    double key;
    uint64_t tie;
    uint32_t prio; /* heap priority of the treap, random */
    uint64_t enq_ns;
    rapt_sched_job job;
} node;

struct rapt_sched {
    rapt_sched_opts o;
    node *root;
    node *oldest, *newest;
    size_t n;
    uint64_t last_ns;
    uint64_t rng;
};

const char *rapt_sched_order_name(rapt_sched_order o)
{
    switch (o) {
    case RAPT_ORDER_INPUT: return "input";
    case RAPT_ORDER_PRIORITY: return "priority";
    case RAPT_ORDER_DEADLINE: return "deadline";
    case RAPT_ORDER_SJF: return "sjf";
    case RAPT_ORDER_LPT: return "lpt";
    case RAPT_ORDER_PACK: return "pack";
    }
    return "unknown";
}

int rapt_sched_order_parse(const char *s, rapt_sched_order *out)
{
    if (!s || !out)
        return -EINVAL;
    for (int o = RAPT_ORDER_INPUT; o <= RAPT_ORDER_PACK; o++) {
        if (strcmp(s, rapt_sched_order_name((rapt_sched_order)o)) == 0) {
            *out = (rapt_sched_order)o;
            return 0;
        }
    }
    return -EINVAL;
}

void rapt_sched_opts_init(rapt_sched_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->order = RAPT_ORDER_INPUT;
    o->bypass_window_ns = RAPT_SCHED_DEFAULT_BYPASS_NS;
}

int rapt_sched_create(rapt_sched **out, const rapt_sched_opts *o)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    rapt_sched_opts def;
    if (!o) {
        rapt_sched_opts_init(&def);
        o = &def;
    }
    if ((unsigned)o->order > RAPT_ORDER_PACK || o->bypass_window_ns == 0)
        return -EINVAL;
    rapt_sched *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->o = *o;
    s->rng = 0x2545f4914f6cdd1dull;
    *out = s;
    return 0;
}

void rapt_sched_destroy(rapt_sched *s)
{
    if (!s)
        return;
    node *n = s->oldest;
    while (n) {
        node *next = n->next;
        free(n);
        n = next;
    }
    free(s);
}

size_t rapt_sched_size(const rapt_sched *s)
{
    return s ? s->n : 0;
}

/* ---- the treap ------------------------------------------------------------------------------ */

/* The total order of the treap: key, then tie (seq, reversed for pack). (key, tie) pairs are
 * unique among queued jobs because seq is, so a node is found again by its own pair. */
static int cmp(const node *a, double key, uint64_t tie)
{
    if (a->key != key)
        return a->key < key ? -1 : 1;
    return a->tie < tie ? -1 : a->tie > tie;
}

/* Rotations keep the in-order sequence and restore the heap order of prio after an insert. */
static node *rot_right(node *t)
{
    node *l = t->left;
    t->left = l->right;
    l->right = t;
    return l;
}

static node *rot_left(node *t)
{
    node *r = t->right;
    t->right = r->left;
    r->left = t;
    return r;
}

/* Inserts x below t; the recursion depth is the treap's height, O(log n) expected. */
static node *t_insert(node *t, node *x)
{
    if (!t)
        return x;
    if (cmp(x, t->key, t->tie) < 0) {
        t->left = t_insert(t->left, x);
        if (t->left->prio > t->prio)
            t = rot_right(t);
    } else {
        t->right = t_insert(t->right, x);
        if (t->right->prio > t->prio)
            t = rot_left(t);
    }
    return t;
}

/* Joins two treaps where every key of a is below every key of b. */
static node *t_merge(node *a, node *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->prio > b->prio) {
        a->right = t_merge(a->right, b);
        return a;
    }
    b->left = t_merge(a, b->left);
    return b;
}

static node *t_erase(node *t, const node *x)
{
    if (!t)
        return NULL;
    if (t == x)
        return t_merge(t->left, t->right);
    if (cmp(x, t->key, t->tie) < 0)
        t->left = t_erase(t->left, x);
    else
        t->right = t_erase(t->right, x);
    return t;
}

static node *t_find(node *t, double key, uint64_t tie)
{
    while (t) {
        int c = cmp(t, key, tie);
        if (c == 0)
            return t;
        t = c > 0 ? t->left : t->right;
    }
    return NULL;
}

static node *t_min(node *t)
{
    while (t && t->left)
        t = t->left;
    return t;
}

/* The largest node at or below (key, tie), or NULL. */
static node *t_pred(node *t, double key, uint64_t tie)
{
    node *best = NULL;
    while (t) {
        if (cmp(t, key, tie) <= 0) {
            best = t;
            t = t->right;
        } else {
            t = t->left;
        }
    }
    return best;
}

/* ---- policy keys -------------------------------------------------------------------------- */

/* The policy, as a key: the queue pops the smallest. Unknown runtimes sort first (-inf) under
 * sjf and lpt, jobs without a deadline last (+inf) under EDF. */
static void set_key(const rapt_sched *s, node *x)
{
    const rapt_sched_job *j = &x->job;
    bool known = j->runtime_s >= 0 && isfinite(j->runtime_s);
    x->tie = j->seq;
    switch (s->o.order) {
    case RAPT_ORDER_INPUT: x->key = 0; break;
    case RAPT_ORDER_PRIORITY: x->key = isfinite(j->priority) ? -j->priority : 0; break;
    case RAPT_ORDER_DEADLINE: x->key = j->deadline_ns ? (double)j->deadline_ns : INFINITY; break;
    case RAPT_ORDER_SJF: x->key = known ? j->runtime_s : -INFINITY; break;
    case RAPT_ORDER_LPT: x->key = known ? -j->runtime_s : -INFINITY; break;
    case RAPT_ORDER_PACK:
        /* The predecessor query returns the largest (key, tie) at or under the free memory;
         * reversing seq in the tie makes that the oldest among equal peaks. */
        x->key = (double)j->peak;
        x->tie = UINT64_MAX - j->seq;
        break;
    }
}

/* Treap priorities from a per-queue xorshift: no global state, and a queue fed the same jobs
 * builds the same tree, which keeps test runs identical. */
static uint32_t next_prio(rapt_sched *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint32_t)((s->rng * 2685821657736338717ull) >> 32);
}

static int enqueue(rapt_sched *s, const rapt_sched_job *j, uint64_t now_ns)
{
    if (!s || !j)
        return -EINVAL;
    node probe_node = {.job = *j};
    set_key(s, &probe_node);
    if (t_find(s->root, probe_node.key, probe_node.tie))
        return -EEXIST;
    node *x = malloc(sizeof(*x));
    if (!x)
        return -ENOMEM;
    *x = probe_node;
    x->left = x->right = NULL;
    x->prio = next_prio(s);
    /* Arrival times never go backwards, so the arrival list stays sorted by appending. */
    s->last_ns = RAPT__MAX(s->last_ns, now_ns);
    x->enq_ns = s->last_ns;
    x->prev = s->newest;
    x->next = NULL;
    if (s->newest)
        s->newest->next = x;
    else
        s->oldest = x;
    s->newest = x;
    s->root = t_insert(s->root, x);
    s->n++;
    return 0;
}

int rapt_sched_push(rapt_sched *s, const rapt_sched_job *j, uint64_t now_ns)
{
    return enqueue(s, j, now_ns);
}

int rapt_sched_requeue(rapt_sched *s, const rapt_sched_job *j, uint64_t now_ns)
{
    /* The same as a push: input order keys on seq, so the job returns to its place there, and
     * for the bypass rule it counts from now, because it was not waiting while it ran. */
    return enqueue(s, j, now_ns);
}

/* The policy's choice, then the bypass rule. Returns the node or NULL with *err set. */
static node *choose(rapt_sched *s, uint64_t now_ns, uint64_t free_bytes, rapt_sched_pick *pick,
                    int *err)
{
    if (s->n == 0) {
        *err = -ENOENT;
        return NULL;
    }
    node *c;
    if (s->o.order == RAPT_ORDER_PACK)
        c = free_bytes == UINT64_MAX ? t_pred(s->root, INFINITY, UINT64_MAX)
                                     : t_pred(s->root, (double)free_bytes, UINT64_MAX);
    else
        c = t_min(s->root);
    node *old = s->oldest;
    bool aged = false;
    /* The bypass rule: the choice (or, with nothing fitting, any job arriving from now on) may
     * not pass the oldest job when it arrived more than a window after it. */
    uint64_t c_arrival = c ? c->enq_ns : RAPT__MAX(now_ns, s->last_ns);
    if (old != c && s->o.bypass_window_ns != UINT64_MAX && c_arrival > old->enq_ns &&
        c_arrival - old->enq_ns > s->o.bypass_window_ns) {
        aged = true;
        if (s->o.order == RAPT_ORDER_PACK && (double)old->job.peak > (double)free_bytes) {
            /* Hold the memory for it: starting smaller jobs now is what would starve it. */
            *err = -EAGAIN;
            return NULL;
        }
        c = old;
    }
    if (!c) {
        *err = -EAGAIN;
        return NULL;
    }
    if (pick) {
        pick->aged = aged;
        pick->waited_ns = RAPT__MAX(now_ns, c->enq_ns) - c->enq_ns;
    }
    *err = 0;
    return c;
}

int rapt_sched_peek(rapt_sched *s, uint64_t now_ns, uint64_t free_bytes, rapt_sched_job *out,
                    rapt_sched_pick *pick)
{
    if (!s || !out)
        return -EINVAL;
    int err;
    node *c = choose(s, now_ns, free_bytes, pick, &err);
    if (!c)
        return err;
    *out = c->job;
    return 0;
}

int rapt_sched_pop(rapt_sched *s, uint64_t now_ns, uint64_t free_bytes, rapt_sched_job *out,
                   rapt_sched_pick *pick)
{
    if (!s || !out)
        return -EINVAL;
    int err;
    node *c = choose(s, now_ns, free_bytes, pick, &err);
    if (!c)
        return err;
    *out = c->job;
    s->root = t_erase(s->root, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->oldest = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->newest = c->prev;
    free(c);
    s->n--;
    return 0;
}
