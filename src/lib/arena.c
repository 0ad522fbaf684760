/* arena.c: a fixed-capacity allocator over one region: best fit, immediate coalescing.
 *
 * Owns the region and the free-block index. The design follows the boundary-tag allocators
 * (Knuth's, and dlmalloc's small/large bins), written for a region whose size never changes:
 *
 *   block   = [prev_size:8][info:8][payload ...]      16-byte header, sizes are multiples of 16
 *   info    = size | INUSE | PREV_INUSE | magic<<48   the magic tells live blocks from others
 *   prev_size is valid only when the previous block is free (it is that block's footer)
 *   fence   = a 16-byte in-use header of size 0 at the end, so "the next block" always exists
 *
 * Free blocks hold two list links in their payload, so the smallest block is 32 bytes. Free
 * lists: 63 exact-size lists for 32..1024 bytes, found through a 64-bit bitmap (any block of
 * the first non-empty list at or above the request is a best fit), then, above 1 KiB, eight
 * lists per power of two (TLSF's two-level index: bitmaps find the next non-empty list in O(1)),
 * each kept sorted by size, so the first block large enough in the request's list, or else the
 * head of the next non-empty list, is a best fit. Ties go to the most recently freed
 * block, which is the most likely to still be in cache.
 *
 * Why not malloc: a malloc heap grows on demand and is shared by the whole process, so it can
 * neither bound one task's memory nor give its accounting. bench/arena.sh compares the two.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "rapt/arena.h"

#define ALIGN      16u
#define HDR        16u
#define MIN_BLOCK  32u
#define SMALL_MAX  1024u
#define NSMALL     (SMALL_MAX / ALIGN - 1) /* sizes 32, 48, ..., 1024: 63 lists */
#define NFL        38                      /* powers of two 2^10 .. 2^47 */
#define NSL        8                       /* lists per power of two */
#define INUSE      1ull
#define PREV_INUSE 2ull
#define MAGIC_LIVE (0xA7E5ull << 48)
#define MAGIC_FREE (0xF4EEull << 48)
#define MAGIC_MASK (0xFFFFull << 48)
#define SIZE_MASK  (~MAGIC_MASK & ~(uint64_t)(ALIGN - 1))

typedef struct blk {
    uint64_t prev_size;
    uint64_t info;
    struct blk *next, *prev; /* only while free */
} blk;

struct rapt_arena {
    unsigned char *base; /* first block */
    unsigned char *end;  /* the fence header */
    void *mapping;       /* what we mapped (NULL for a caller buffer) */
    size_t map_len;
    uint64_t usable;
    blk *small[NSMALL];
    blk *large[NFL][NSL];
    uint64_t small_map, fl_map;
    uint8_t sl_map[NFL];
    rapt_arena_stats st;
    bool locked;
    pthread_mutex_t mu;
    rapt_gate *gate;
    uint64_t gate_bytes;
};

/* Block addresses are computed in bytes; every block starts at a multiple of 16 from the
 * region's 16-aligned base, so the cast is aligned (going through an integer tells the
 * compiler so, which -Wcast-align on clang needs). */
static inline blk *as_blk(const void *p)
{
    return (blk *)(uintptr_t)p;
}

static inline uint64_t bsize(const blk *b)
{
    return b->info & SIZE_MASK;
}

static inline blk *next_of(const blk *b)
{
    return as_blk((unsigned char *)b + bsize(b));
}

static inline bool in_use(const blk *b)
{
    return (b->info & INUSE) != 0;
}

static unsigned log2_floor(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

/* The two-level list of a block of size > SMALL_MAX: its power of two, then which eighth. */
static void large_bin(uint64_t size, unsigned *fl, unsigned *sl)
{
    unsigned l = log2_floor(size);
    *fl = l - 10 < NFL ? l - 10 : NFL - 1;
    *sl = (unsigned)(size >> (l - 3)) & (NSL - 1);
}

/* The first non-empty large list after (fl, sl), or NULL. */
static blk **next_large(rapt_arena *a, unsigned fl, unsigned sl)
{
    unsigned m = a->sl_map[fl] & (0xFFu << (sl + 1)) & 0xFFu;
    if (m)
        return &a->large[fl][__builtin_ctz(m)];
    uint64_t f = fl + 1 < NFL ? a->fl_map & (~0ull << (fl + 1)) : 0;
    if (!f)
        return NULL;
    unsigned nf = (unsigned)__builtin_ctzll(f);
    return &a->large[nf][__builtin_ctz(a->sl_map[nf])];
}

/* Makes b a free block in its list. It also writes the footer (the next block's prev_size)
 * and clears the next block's PREV_INUSE: those two are what let a later free of the next
 * block find and merge this one in O(1). */
static void bin_insert(rapt_arena *a, blk *b)
{
    uint64_t s = bsize(b);
    b->info = s | MAGIC_FREE | (b->info & PREV_INUSE);
    next_of(b)->prev_size = s;
    next_of(b)->info &= ~PREV_INUSE;
    if (s <= SMALL_MAX) {
        unsigned i = (unsigned)(s / ALIGN) - 2;
        b->prev = NULL;
        b->next = a->small[i];
        if (b->next)
            b->next->prev = b;
        a->small[i] = b;
        a->small_map |= 1ull << i;
    } else {
        /* Sorted ascending; a block goes before the first one of equal or larger size, so the
         * most recently freed of equal blocks is found first. */
        unsigned fl, sl;
        large_bin(s, &fl, &sl);
        blk *prev = NULL, *cur = a->large[fl][sl];
        while (cur && bsize(cur) < s) {
            prev = cur;
            cur = cur->next;
        }
        b->prev = prev;
        b->next = cur;
        if (cur)
            cur->prev = b;
        if (prev)
            prev->next = b;
        else
            a->large[fl][sl] = b;
        a->sl_map[fl] |= (uint8_t)(1u << sl);
        a->fl_map |= 1ull << fl;
    }
    a->st.free_blocks++;
}

static void bin_remove(rapt_arena *a, blk *b)
{
    uint64_t s = bsize(b);
    if (s <= SMALL_MAX) {
        unsigned i = (unsigned)(s / ALIGN) - 2;
        if (b->prev)
            b->prev->next = b->next;
        else
            a->small[i] = b->next;
        if (b->next)
            b->next->prev = b->prev;
        if (!a->small[i])
            a->small_map &= ~(1ull << i);
    } else {
        unsigned fl, sl;
        large_bin(s, &fl, &sl);
        if (b->prev)
            b->prev->next = b->next;
        else
            a->large[fl][sl] = b->next;
        if (b->next)
            b->next->prev = b->prev;
        if (!a->large[fl][sl]) {
            a->sl_map[fl] &= (uint8_t) ~(1u << sl);
            if (!a->sl_map[fl])
                a->fl_map &= ~(1ull << fl);
        }
    }
    a->st.free_blocks--;
}

/* The best-fitting free block for a block size s, removed from its list, or NULL. */
static blk *best_fit(rapt_arena *a, uint64_t s)
{
    blk *b = NULL;
    if (s <= SMALL_MAX) {
        unsigned i = (unsigned)(s / ALIGN) - 2;
        uint64_t m = a->small_map & (~0ull << i);
        if (m) {
            b = a->small[__builtin_ctzll(m)];
        } else if (a->fl_map) {
            /* Every large block is bigger than any small request: take the smallest. */
            unsigned fl = (unsigned)__builtin_ctzll(a->fl_map);
            b = a->large[fl][__builtin_ctz(a->sl_map[fl])];
        }
    } else {
        unsigned fl, sl;
        large_bin(s, &fl, &sl);
        for (b = a->large[fl][sl]; b && bsize(b) < s; b = b->next)
            ;
        if (!b) {
            blk **next = next_large(a, fl, sl);
            b = next ? *next : NULL;
        }
    }
    if (b)
        bin_remove(a, b);
    return b;
}

/* Marks b (already out of the free lists) as a live block of exactly s bytes, returning any
 * tail large enough to be a block to the free lists. */
/* A tail smaller than MIN_BLOCK stays with the allocation (internal slack) rather than become
 * a free block too small to hold its list links. */
static void carve(rapt_arena *a, blk *b, uint64_t s)
{
    uint64_t have = bsize(b);
    uint64_t prev_flag = b->info & PREV_INUSE;
    if (have - s >= MIN_BLOCK) {
        blk *rest = as_blk((unsigned char *)b + s);
        rest->info = (have - s) | PREV_INUSE;
        bin_insert(a, rest);
    } else {
        s = have;
        next_of(b)->info |= PREV_INUSE;
    }
    b->info = s | INUSE | prev_flag | MAGIC_LIVE;
    a->st.used += s;
    if (a->st.used > a->st.peak_used)
        a->st.peak_used = a->st.used;
    a->st.live_blocks++;
    a->st.allocs++;
}

static void lock(rapt_arena *a)
{
    if (a->locked)
        pthread_mutex_lock(&a->mu);
}

static void unlock(rapt_arena *a)
{
    if (a->locked)
        pthread_mutex_unlock(&a->mu);
}

/* Resets the index to one free block spanning the region. */
/* Reset is this: the index is rebuilt around one free block and the fence. Blocks handed out
 * before are simply forgotten, which is what makes a reset O(1) whatever was allocated. */
static void format(rapt_arena *a)
{
    memset(a->small, 0, sizeof(a->small));
    memset(a->large, 0, sizeof(a->large));
    memset(a->sl_map, 0, sizeof(a->sl_map));
    a->small_map = a->fl_map = 0;
    a->st.free_blocks = 0;
    blk *fence = as_blk(a->end);
    fence->info = INUSE | MAGIC_LIVE; /* size 0, never freed: the walk stops here */
    blk *first = as_blk(a->base);
    first->prev_size = 0;
    first->info = a->usable | PREV_INUSE;
    bin_insert(a, first);
    a->st.used = 0;
    a->st.live_blocks = 0;
}

void rapt_arena_opts_init(rapt_arena_opts *o)
{
    if (o)
        memset(o, 0, sizeof(*o));
}

/* The gate charge comes first: if the budget refuses, nothing has been mapped. The capacity
 * is rounded down to 16 so every block boundary stays aligned, and the fence takes the last
 * 16 bytes. */
int rapt_arena_create(rapt_arena **out, const rapt_arena_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!opts || opts->capacity == 0)
        return -EINVAL;
    if (opts->capacity > RAPT_ARENA_MAX_CAPACITY)
        return RAPT_ETOOBIG;
    size_t cap = opts->capacity & ~(size_t)(ALIGN - 1);
    if (cap < MIN_BLOCK + HDR)
        return -EINVAL;
    if (opts->buffer && ((uintptr_t)opts->buffer % ALIGN) != 0)
        return -EINVAL;
    rapt_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    int r = 0;
    if (opts->gate) {
        r = rapt_gate_timed_acquire(opts->gate, 0, opts->capacity, opts->gate_timeout_ns);
        if (r < 0) {
            free(a);
            return r;
        }
        a->gate = opts->gate;
        a->gate_bytes = opts->capacity;
    }
    if (opts->buffer) {
        a->base = opts->buffer;
    } else {
        r = rapt__os_map(cap, &a->mapping, &a->map_len);
        if (r < 0)
            goto fail;
        a->base = a->mapping;
    }
    if (opts->thread_safe) {
        r = -pthread_mutex_init(&a->mu, NULL);
        if (r < 0)
            goto fail;
        a->locked = true;
    }
    a->usable = cap - HDR;
    a->end = a->base + a->usable;
    a->st.capacity = a->usable;
    format(a);
    *out = a;
    return 0;
fail:
    if (a->mapping)
        rapt__os_unmap(a->mapping, a->map_len);
    if (a->gate)
        rapt_gate_release(a->gate, 0, a->gate_bytes);
    free(a);
    return r;
}

void rapt_arena_destroy(rapt_arena *a)
{
    if (!a)
        return;
    if (a->mapping)
        rapt__os_unmap(a->mapping, a->map_len);
    if (a->gate)
        rapt_gate_release(a->gate, 0, a->gate_bytes);
    if (a->locked)
        pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Block size for a request: payload rounded up to 16, plus the header, at least MIN_BLOCK.
 * Returns 0 when it cannot fit any arena. */
static uint64_t block_for(size_t size)
{
    if (size > RAPT_ARENA_MAX_CAPACITY)
        return 0;
    uint64_t s = ((uint64_t)size + ALIGN - 1) / ALIGN * ALIGN + HDR;
    return s < MIN_BLOCK ? MIN_BLOCK : s;
}

int rapt_arena_alloc(rapt_arena *a, size_t size, void **out)
{
    if (!a || !out || size == 0)
        return -EINVAL;
    *out = NULL;
    uint64_t s = block_for(size);
    lock(a);
    if (s == 0 || s > a->usable) {
        a->st.failed++;
        unlock(a);
        return RAPT_ETOOBIG;
    }
    blk *b = best_fit(a, s);
    if (!b) {
        a->st.failed++;
        unlock(a);
        return -ENOMEM;
    }
    carve(a, b, s);
    unlock(a);
    *out = (unsigned char *)b + HDR;
    return 0;
}

int rapt_arena_alloc_aligned(rapt_arena *a, size_t size, size_t align, void **out)
{
    if (!a || !out || size == 0 || align == 0 || (align & (align - 1)) != 0)
        return -EINVAL;
    if (align <= ALIGN)
        return rapt_arena_alloc(a, size, out);
    *out = NULL;
    uint64_t s = block_for(size);
    /* Room to move the payload up to the alignment and still split off the gap in front as a
     * free block of at least MIN_BLOCK bytes. */
    uint64_t want = s == 0 || align > RAPT_ARENA_MAX_CAPACITY ? 0 : s + align + MIN_BLOCK;
    lock(a);
    if (want == 0 || want > a->usable) {
        a->st.failed++;
        unlock(a);
        return RAPT_ETOOBIG;
    }
    blk *b = best_fit(a, want);
    if (!b) {
        a->st.failed++;
        unlock(a);
        return -ENOMEM;
    }
    uintptr_t payload = ((uintptr_t)b + HDR + align - 1) & ~(uintptr_t)(align - 1);
    uint64_t gap = payload - HDR - (uintptr_t)b;
    if (gap != 0 && gap < MIN_BLOCK) {
        payload += align;
        gap += align;
    }
    if (gap) {
        /* Split the front into its own free block; the aligned block follows it. */
        uint64_t total = bsize(b);
        blk *front = b;
        b = as_blk((unsigned char *)front + gap);
        b->info = (total - gap) | PREV_INUSE; /* PREV_INUSE is cleared by bin_insert(front) */
        front->info = gap | (front->info & PREV_INUSE);
        bin_insert(a, front);
    }
    carve(a, b, s);
    unlock(a);
    *out = (void *)payload;
    return 0;
}

/* The header of p when p is a live block of a, else NULL. Reads only inside the region. */
static blk *live_header(const rapt_arena *a, const void *p)
{
    const unsigned char *q = p;
    if (q < a->base + HDR || q >= a->end || ((uintptr_t)q % ALIGN) != 0)
        return NULL;
    blk *b = as_blk(q - HDR);
    if ((b->info & MAGIC_MASK) != MAGIC_LIVE || !in_use(b))
        return NULL;
    uint64_t s = bsize(b);
    if (s < MIN_BLOCK || s > (uint64_t)(a->end - (const unsigned char *)b))
        return NULL;
    return b;
}

/* Coalescing happens at once, in both directions, so two free blocks are never neighbours:
 * the free lists then describe the fragmentation exactly, and best fit sees the largest holes
 * the live blocks allow. */
int rapt_arena_free(rapt_arena *a, void *p)
{
    if (!a)
        return -EINVAL;
    if (!p)
        return 0;
    lock(a);
    blk *b = live_header(a, p);
    if (!b) {
        unlock(a);
        return -EINVAL;
    }
    uint64_t s = bsize(b);
    /* Clear the live mark first: if this header ends up inside a merged block, a second free
     * of the same pointer must not find it live. */
    b->info &= ~(MAGIC_MASK | INUSE);
    a->st.used -= s;
    a->st.live_blocks--;
    a->st.frees++;
    blk *n = next_of(b);
    if (!in_use(n)) {
        bin_remove(a, n);
        s += bsize(n);
        a->st.merges++;
    }
    if (!(b->info & PREV_INUSE)) {
        blk *prev = as_blk((unsigned char *)b - b->prev_size);
        bin_remove(a, prev);
        s += bsize(prev);
        b = prev;
        a->st.merges++;
    }
    b->info = s | (b->info & PREV_INUSE);
    bin_insert(a, b);
    unlock(a);
    return 0;
}

size_t rapt_arena_block_size(rapt_arena *a, const void *p)
{
    if (!a || !p)
        return 0;
    lock(a);
    blk *b = live_header(a, p);
    size_t n = b ? (size_t)(bsize(b) - ((const unsigned char *)p - (unsigned char *)b)) : 0;
    unlock(a);
    return n;
}

int rapt_arena_reset(rapt_arena *a)
{
    if (!a)
        return -EINVAL;
    lock(a);
    format(a);
    a->st.resets++;
    unlock(a);
    return 0;
}

int rapt_arena_trim(rapt_arena *a)
{
    if (!a)
        return -EINVAL;
    lock(a);
    if (a->mapping) {
        /* Walk the blocks in address order; the fence (size 0, in use) ends the walk. Only the
         * pages strictly inside a free block's payload, after its list links, go back. */
        for (blk *b = as_blk(a->base); bsize(b) != 0; b = next_of(b)) {
            if (!in_use(b))
                rapt__os_release_pages((unsigned char *)b + sizeof(blk), bsize(b) - sizeof(blk));
        }
    }
    unlock(a);
    return 0;
}

/* largest_free is what an allocation could get now, header excluded: the largest free block
 * sits at the end of the highest non-empty list (lists are sorted), or is the largest exact
 * small size. */
int rapt_arena_stats_get(rapt_arena *a, rapt_arena_stats *out)
{
    if (!a || !out)
        return -EINVAL;
    lock(a);
    *out = a->st;
    out->free_bytes = a->usable - a->st.used;
    uint64_t largest = 0;
    if (a->fl_map) {
        unsigned fl = log2_floor(a->fl_map), sl = log2_floor(a->sl_map[fl]);
        for (blk *b = a->large[fl][sl]; b; b = b->next)
            largest = bsize(b); /* sorted ascending: the last is the largest */
    } else if (a->small_map) {
        largest = (uint64_t)(log2_floor(a->small_map) + 2) * ALIGN;
    }
    out->largest_free = largest > HDR ? largest - HDR : 0;
    unlock(a);
    return 0;
}
