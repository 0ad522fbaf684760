/* rapt/arena.h: a fixed-capacity memory arena with best-fit allocation and coalescing.
 *
 * An arena hands out blocks from one region of `capacity` bytes fixed at creation, so whatever
 * is allocated from it can never exceed that capacity: a task whose arena is sized to its memory
 * reservation cannot use more than it reserved (the thread pool does exactly that, see
 * rapt_task_arena()). Blocks are chosen best-fit (the smallest free block that is large enough;
 * among equal sizes the most recently freed), and a freed block merges at once with free
 * neighbours, so a long run of allocations and frees does not fragment the arena more than its
 * live blocks force it to. rapt_arena_reset() frees everything in O(1).
 *
 * Layout: every block carries a 16-byte header; payloads are aligned to 16 bytes (enough for
 * any standard type, max_align_t), or to a larger power of two with rapt_arena_alloc_aligned().
 * The smallest block is 48 bytes. Small free blocks (up to 1 KiB) sit in exact-size lists found
 * through a bitmap; larger ones in size-ordered lists per power of two, so a best-fit search
 * looks at few blocks.
 *
 * Memory: by default the arena maps its region from the kernel without touching it, so the
 * resident size grows only with what is actually used; rapt_arena_trim() gives the pages of
 * free blocks back. A caller may instead supply the region (opts.buffer).
 *
 * Thread-safety: an arena is used by one thread at a time unless created with opts.thread_safe,
 * which adds an internal mutex. Statistics may be read from any thread in both cases only when
 * thread_safe is set.
 */
#ifndef RAPT_ARENA_H
#define RAPT_ARENA_H

#include "rapt/common.h"
#include "rapt/gate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rapt_arena rapt_arena;

/* The largest capacity an arena accepts (128 TiB, beyond any real machine's memory). */
#define RAPT_ARENA_MAX_CAPACITY (1ull << 47)

typedef struct rapt_arena_opts {
    size_t capacity;  /* bytes, > 0; rounded down to 16 (with buffer) or up to a page (mapped) */
    void *buffer;     /* optional caller region of `capacity` bytes, borrowed until destroy */
    bool thread_safe; /* lock every call with an internal mutex */
    /* Optional: charge `capacity` bytes to this gate while the arena exists, so arenas created
     * by many threads share one memory budget. Creation then waits up to gate_timeout_ns for the
     * bytes (0 = do not wait) and fails with the gate's error (-EAGAIN, RAPT_ETIMEDOUT,
     * RAPT_ETOOBIG, ...). The gate is borrowed and must outlive the arena. */
    rapt_gate *gate;
    uint64_t gate_timeout_ns;
} rapt_arena_opts;

/* Fills o with defaults: no capacity (must be set), a mapped region, not thread-safe, no gate. */
RAPT_API void rapt_arena_opts_init(rapt_arena_opts *o);

/* Creates an arena. opts is copied. Returns 0, -EINVAL (NULL pointers, capacity 0 or smaller
 * than one block, a misaligned buffer), RAPT_ETOOBIG (capacity above RAPT_ARENA_MAX_CAPACITY),
 * -ENOMEM, or the gate's error. The caller owns *out and frees it with rapt_arena_destroy(). */
RAPT_API int rapt_arena_create(rapt_arena **out, const rapt_arena_opts *opts);

/* Frees the arena, its region (unless caller-supplied) and its gate charge. Accepts NULL. Every
 * pointer it handed out becomes invalid. */
RAPT_API void rapt_arena_destroy(rapt_arena *a);

/* Allocates `size` bytes aligned to 16 into *out. Returns 0, -EINVAL (NULL pointers, size 0),
 * RAPT_ETOOBIG (larger than the arena could ever hold) or -ENOMEM (no free block is large
 * enough now; freeing may help). The block stays valid until freed, reset or destroy. */
RAPT_API int rapt_arena_alloc(rapt_arena *a, size_t size, void **out);

/* Like rapt_arena_alloc() with a power-of-two alignment >= 16 (e.g. 64 for a cache line, 4096
 * for a page). Returns -EINVAL for an alignment that is not a power of two. */
RAPT_API int rapt_arena_alloc_aligned(rapt_arena *a, size_t size, size_t align, void **out);

/* Frees a block from this arena and merges it with free neighbours. NULL is a no-op (returns 0).
 * Returns -EINVAL for a pointer this arena did not hand out or already freed (detected from the
 * block header; the arena is left unchanged). */
RAPT_API int rapt_arena_free(rapt_arena *a, void *p);

/* The usable size of a live block (>= what was asked), or 0 for NULL or a foreign pointer. */
RAPT_API size_t rapt_arena_block_size(rapt_arena *a, const void *p);

/* Frees every block at once. Returns 0 or -EINVAL. */
RAPT_API int rapt_arena_reset(rapt_arena *a);

/* Gives the pages inside free blocks back to the kernel (mapped regions only; a caller buffer
 * is left alone). The arena's capacity is unchanged. Returns 0 or -EINVAL. */
RAPT_API int rapt_arena_trim(rapt_arena *a);

typedef struct rapt_arena_stats {
    uint64_t capacity;      /* bytes of the region usable for blocks */
    uint64_t used;          /* bytes in live blocks, headers included */
    uint64_t peak_used;     /* the most `used` ever reached */
    uint64_t requested;     /* bytes asked for by live allocations */
    uint64_t free_bytes;    /* capacity - used */
    uint64_t largest_free;  /* the largest block an allocation could get now */
    uint64_t free_blocks;   /* number of free blocks (1 means no fragmentation) */
    uint64_t live_blocks;   /* allocated and not yet freed */
    uint64_t allocs, frees; /* successful calls */
    uint64_t failed;        /* allocations refused (-ENOMEM, RAPT_ETOOBIG) */
    uint64_t merges;        /* neighbour merges done by frees */
    uint64_t resets;
} rapt_arena_stats;

/* Copies the counters into *out. Returns 0 or -EINVAL. */
RAPT_API int rapt_arena_stats_get(rapt_arena *a, rapt_arena_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_ARENA_H */
