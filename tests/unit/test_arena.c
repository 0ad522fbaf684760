/* test_arena.c: best fit, coalescing, alignment, accounting, misuse and budget charging.
 *
 * A randomized run checks the arena against a simple model (the set of live blocks) and the
 * accounting identities after every step. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rapt/arena.h"

/* Sanitizers slow the model check tenfold; they get fewer steps of the same mix. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MODEL_STEPS 40000
#else
#define MODEL_STEPS 200000
#endif

static rapt_arena *mkarena(size_t cap)
{
    rapt_arena_opts o;
    rapt_arena_opts_init(&o);
    o.capacity = cap;
    rapt_arena *a = NULL;
    ck_assert_int_eq(rapt_arena_create(&a, &o), 0);
    return a;
}

static rapt_arena_stats stats(rapt_arena *a)
{
    rapt_arena_stats st;
    ck_assert_int_eq(rapt_arena_stats_get(a, &st), 0);
    return st;
}

START_TEST(bad_arguments_are_errors)
{
    rapt_arena *a = NULL;
    rapt_arena_opts o;
    rapt_arena_opts_init(&o);
    ck_assert_int_eq(rapt_arena_create(NULL, &o), -EINVAL);
    ck_assert_int_eq(rapt_arena_create(&a, NULL), -EINVAL);
    ck_assert_int_eq(rapt_arena_create(&a, &o), -EINVAL); /* capacity 0 */
    o.capacity = 40;
    ck_assert_int_eq(rapt_arena_create(&a, &o), -EINVAL); /* smaller than one block */
    o.capacity = SIZE_MAX;
    ck_assert_int_eq(rapt_arena_create(&a, &o), RAPT_ETOOBIG);
    static _Alignas(16) unsigned char buf[256];
    o.capacity = 128;
    o.buffer = buf + 1;
    ck_assert_int_eq(rapt_arena_create(&a, &o), -EINVAL); /* misaligned */
    ck_assert_ptr_null(a);

    void *p = NULL;
    ck_assert_int_eq(rapt_arena_alloc(NULL, 8, &p), -EINVAL);
    a = mkarena(4096);
    ck_assert_int_eq(rapt_arena_alloc(a, 0, &p), -EINVAL);
    ck_assert_int_eq(rapt_arena_alloc(a, 8, NULL), -EINVAL);
    ck_assert_int_eq(rapt_arena_alloc(a, SIZE_MAX, &p), RAPT_ETOOBIG);
    ck_assert_int_eq(rapt_arena_alloc(a, 4096, &p), RAPT_ETOOBIG);
    ck_assert_int_eq(rapt_arena_alloc_aligned(a, 8, 48, &p), -EINVAL);
    ck_assert_int_eq(rapt_arena_free(a, NULL), 0);
    ck_assert_int_eq(rapt_arena_free(NULL, buf), -EINVAL);
    ck_assert_int_eq(rapt_arena_reset(NULL), -EINVAL);
    ck_assert_int_eq(rapt_arena_trim(NULL), -EINVAL);
    ck_assert_int_eq(rapt_arena_stats_get(NULL, NULL), -EINVAL);
    ck_assert_uint_eq(rapt_arena_block_size(NULL, buf), 0);
    /* Foreign, interior and doubly freed pointers are refused without damage. */
    ck_assert_int_eq(rapt_arena_alloc(a, 100, &p), 0);
    ck_assert_int_eq(rapt_arena_free(a, buf), -EINVAL);
    ck_assert_int_eq(rapt_arena_free(a, (char *)p + 16), -EINVAL);
    ck_assert_int_eq(rapt_arena_free(a, (char *)p + 1), -EINVAL);
    ck_assert_int_eq(rapt_arena_free(a, p), 0);
    ck_assert_int_eq(rapt_arena_free(a, p), -EINVAL);
    rapt_arena_stats st = stats(a);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_eq(st.free_blocks, 1);
    rapt_arena_destroy(a);
    rapt_arena_destroy(NULL);
}
END_TEST

START_TEST(alloc_free_coalesce)
{
    rapt_arena *a = mkarena(64 * 1024);
    rapt_arena_stats st0 = stats(a);
    ck_assert_uint_eq(st0.free_blocks, 1);
    ck_assert_uint_eq(st0.largest_free + 16, st0.capacity);
    void *p[10];
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(rapt_arena_alloc(a, 1000, &p[i]), 0);
        ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
        ck_assert_uint_ge(rapt_arena_block_size(a, p[i]), 1000);
        memset(p[i], i, 1000);
    }
    /* Free every other block: five holes that cannot merge. */
    for (int i = 0; i < 10; i += 2)
        ck_assert_int_eq(rapt_arena_free(a, p[i]), 0);
    rapt_arena_stats st = stats(a);
    ck_assert_uint_eq(st.free_blocks, 6); /* five holes and the tail */
    ck_assert_uint_eq(st.live_blocks, 5);
    ck_assert_uint_eq(st.merges, 0);
    /* Freeing the rest merges each with both neighbours, back to one block. */
    for (int i = 1; i < 10; i += 2)
        ck_assert_int_eq(rapt_arena_free(a, p[i]), 0);
    st = stats(a);
    ck_assert_uint_eq(st.free_blocks, 1);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_eq(st.largest_free, st0.largest_free);
    ck_assert_uint_eq(st.allocs, 10);
    ck_assert_uint_eq(st.frees, 10);
    ck_assert_uint_gt(st.merges, 0);
    ck_assert_uint_gt(st.peak_used, 10000);
    rapt_arena_destroy(a);
}
END_TEST

/* Holes of 2000, 600 and 1200 bytes between live blocks: a request of 500 takes the 600 hole,
 * one of 1100 the 1200 hole, exactly as best fit says (first fit would take the 2000 hole). */
START_TEST(best_fit_choice)
{
    rapt_arena *a = mkarena(64 * 1024);
    size_t sizes[] = {2000, 64, 600, 64, 1200, 64};
    void *p[6];
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(rapt_arena_alloc(a, sizes[i], &p[i]), 0);
    ck_assert_int_eq(rapt_arena_free(a, p[0]), 0);
    ck_assert_int_eq(rapt_arena_free(a, p[2]), 0);
    ck_assert_int_eq(rapt_arena_free(a, p[4]), 0);
    void *q;
    ck_assert_int_eq(rapt_arena_alloc(a, 500, &q), 0);
    ck_assert_ptr_eq(q, p[2]);
    ck_assert_int_eq(rapt_arena_alloc(a, 1100, &q), 0);
    ck_assert_ptr_eq(q, p[4]);
    ck_assert_int_eq(rapt_arena_alloc(a, 1900, &q), 0);
    ck_assert_ptr_eq(q, p[0]);
    /* Small exact sizes: a hole of 48 bytes is preferred to the big tail for a 20-byte ask. */
    void *s[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rapt_arena_alloc(a, 32, &s[i]), 0);
    ck_assert_int_eq(rapt_arena_free(a, s[1]), 0);
    ck_assert_int_eq(rapt_arena_alloc(a, 20, &q), 0);
    ck_assert_ptr_eq(q, s[1]);
    rapt_arena_destroy(a);
}
END_TEST

START_TEST(alignment_guarantees)
{
    rapt_arena *a = mkarena(1 << 20);
    size_t aligns[] = {16, 32, 64, 256, 4096, 65536};
    for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
        void *p;
        ck_assert_int_eq(rapt_arena_alloc(a, 24, &p), 0); /* disturb the layout */
        ck_assert_int_eq(rapt_arena_alloc_aligned(a, 100, aligns[i], &p), 0);
        ck_assert_uint_eq((uintptr_t)p % aligns[i], 0);
        memset(p, 0xab, 100);
    }
    /* Freeing aligned blocks coalesces like any other. */
    ck_assert_int_eq(rapt_arena_reset(a), 0);
    void *p[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(rapt_arena_alloc_aligned(a, 1000, 4096, &p[i]), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(rapt_arena_free(a, p[i]), 0);
    rapt_arena_stats st = stats(a);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_eq(st.free_blocks, 1);
    ck_assert_uint_eq(st.resets, 1);
    rapt_arena_destroy(a);
}
END_TEST

/* The capacity is a hard bound: filling the arena ends in -ENOMEM, never in more memory. */
START_TEST(capacity_is_a_bound)
{
    rapt_arena *a = mkarena(100000);
    rapt_arena_stats st0 = stats(a);
    uint64_t got = 0;
    void *p;
    int r;
    while ((r = rapt_arena_alloc(a, 1000, &p)) == 0)
        got += 1000;
    ck_assert_int_eq(r, -ENOMEM);
    rapt_arena_stats st = stats(a);
    ck_assert_uint_le(st.used, st0.capacity);
    ck_assert_uint_ge(got, st0.capacity * 9 / 10);
    ck_assert_uint_eq(st.failed, 1);
    ck_assert_int_eq(rapt_arena_reset(a), 0);
    ck_assert_int_eq(rapt_arena_alloc(a, 1000, &p), 0);
    ck_assert_int_eq(rapt_arena_trim(a), 0);
    rapt_arena_destroy(a);
}
END_TEST

/* Random allocations and frees against a model of the live blocks: contents survive, blocks
 * never overlap, used == sum of live block sizes, and freeing everything leaves one block. */
START_TEST(random_against_model)
{
    enum { SLOTS = 512, STEPS = MODEL_STEPS };
    rapt_arena *a = mkarena(2 << 20);
    unsigned char *ptr[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    unsigned seed = 12345;
    for (int step = 0; step < STEPS; step++) {
        int i = rand_r(&seed) % SLOTS;
        if (ptr[i]) {
            for (size_t k = 0; k < len[i]; k += 61)
                ck_assert_uint_eq(ptr[i][k], (unsigned char)i);
            ck_assert_int_eq(rapt_arena_free(a, ptr[i]), 0);
            ptr[i] = NULL;
            continue;
        }
        /* Log-uniform sizes from 1 byte to 16 KiB. */
        size_t sz = (size_t)1 << (rand_r(&seed) % 15);
        sz += (size_t)rand_r(&seed) % sz;
        void *p;
        int r = (rand_r(&seed) % 8 == 0)
                    ? rapt_arena_alloc_aligned(a, sz, (size_t)64 << (rand_r(&seed) % 4), &p)
                    : rapt_arena_alloc(a, sz, &p);
        if (r == -ENOMEM)
            continue;
        ck_assert_int_eq(r, 0);
        ptr[i] = p;
        len[i] = sz;
        memset(p, i, sz);
    }
    uint64_t live = 0, sum = 0;
    for (int i = 0; i < SLOTS; i++) {
        if (ptr[i]) {
            live++;
            sum += rapt_arena_block_size(a, ptr[i]) + 16;
        }
    }
    rapt_arena_stats st = stats(a);
    ck_assert_uint_eq(st.live_blocks, live);
    ck_assert_uint_ge(st.used, sum); /* aligned blocks also count their header gap */
    ck_assert_uint_eq(st.used + st.free_bytes, st.capacity);
    for (int i = 0; i < SLOTS; i++)
        if (ptr[i])
            ck_assert_int_eq(rapt_arena_free(a, ptr[i]), 0);
    st = stats(a);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_eq(st.free_blocks, 1);
    rapt_arena_destroy(a);
}
END_TEST

START_TEST(caller_buffer)
{
    static _Alignas(16) unsigned char buf[4096];
    rapt_arena_opts o;
    rapt_arena_opts_init(&o);
    o.capacity = sizeof(buf);
    o.buffer = buf;
    rapt_arena *a = NULL;
    ck_assert_int_eq(rapt_arena_create(&a, &o), 0);
    void *p;
    ck_assert_int_eq(rapt_arena_alloc(a, 100, &p), 0);
    ck_assert((unsigned char *)p >= buf && (unsigned char *)p < buf + sizeof(buf));
    ck_assert_int_eq(rapt_arena_trim(a), 0); /* leaves a caller buffer alone */
    rapt_arena_destroy(a);
}
END_TEST

/* Arenas charged to a gate share its budget: the second one that would exceed it is refused. */
START_TEST(charged_to_gate)
{
    rapt_gate_opts go;
    rapt_gate_opts_init(&go);
    go.bytes = 1 << 20;
    rapt_gate *g = NULL;
    ck_assert_int_eq(rapt_gate_create(&g, &go), 0);
    rapt_arena_opts o;
    rapt_arena_opts_init(&o);
    o.capacity = 600 * 1024;
    o.gate = g;
    rapt_arena *a = NULL, *b = NULL;
    ck_assert_int_eq(rapt_arena_create(&a, &o), 0);
    ck_assert_int_eq(rapt_arena_create(&b, &o), -EAGAIN);
    o.gate_timeout_ns = 1000 * 1000;
    ck_assert_int_eq(rapt_arena_create(&b, &o), RAPT_ETIMEDOUT);
    o.capacity = 2 << 20;
    ck_assert_int_eq(rapt_arena_create(&b, &o), RAPT_ETOOBIG);
    rapt_gate_stats gs;
    rapt_gate_stats_get(g, &gs);
    ck_assert_uint_eq(gs.held_bytes, 600 * 1024);
    rapt_arena_destroy(a);
    rapt_gate_stats_get(g, &gs);
    ck_assert_uint_eq(gs.held_bytes, 0);
    rapt_gate_destroy(g);
}
END_TEST

typedef struct shared {
    rapt_arena *a;
    unsigned seed;
} shared;

static void *hammer(void *arg)
{
    shared *s = arg;
    void *mine[64] = {0};
    for (int i = 0; i < 20000; i++) {
        int k = rand_r(&s->seed) % 64;
        if (mine[k]) {
            ck_assert_int_eq(rapt_arena_free(s->a, mine[k]), 0);
            mine[k] = NULL;
        } else if (rapt_arena_alloc(s->a, 1 + (size_t)rand_r(&s->seed) % 3000, &mine[k]) == 0) {
            memset(mine[k], k, 1);
        }
    }
    for (int k = 0; k < 64; k++)
        rapt_arena_free(s->a, mine[k]);
    return NULL;
}

START_TEST(thread_safe_arena)
{
    rapt_arena_opts o;
    rapt_arena_opts_init(&o);
    o.capacity = 1 << 20;
    o.thread_safe = true;
    rapt_arena *a = NULL;
    ck_assert_int_eq(rapt_arena_create(&a, &o), 0);
    shared s[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (shared){.a = a, .seed = (unsigned)i + 1};
        pthread_create(&th[i], NULL, hammer, &s[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    rapt_arena_stats st = stats(a);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_eq(st.free_blocks, 1);
    ck_assert_uint_eq(st.allocs, st.frees);
    rapt_arena_destroy(a);
}
END_TEST

static Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    RAPT_TCASE(s, bad_arguments_are_errors, 10);
    RAPT_TCASE(s, alloc_free_coalesce, 10);
    RAPT_TCASE(s, best_fit_choice, 10);
    RAPT_TCASE(s, alignment_guarantees, 10);
    RAPT_TCASE(s, capacity_is_a_bound, 10);
    RAPT_TCASE(s, random_against_model, 120);
    RAPT_TCASE(s, caller_buffer, 10);
    RAPT_TCASE(s, charged_to_gate, 10);
    RAPT_TCASE(s, thread_safe_arena, 60);
    return s;
}

RAPT_TEST_MAIN(arena_suite)
