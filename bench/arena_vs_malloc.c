/* arena_vs_malloc.c: rapt's arena against glibc malloc on the same allocation pattern.
 *
 *   rapt-bench-arena [-n OPS] [-l LIVE] [-r ROUNDS]
 *
 * Two patterns, each run on both allocators with the same random sequence:
 *   churn  a working set of LIVE blocks of log-uniform sizes (16 B .. 16 KiB); each operation
 *          frees a random live block and allocates a new one in its place (the steady state of
 *          a long task), touching the first byte of every block;
 *   batch  allocate LIVE blocks, then drop them all (the arena with one rapt_arena_reset(),
 *          malloc with LIVE free() calls): the per-task pattern of the pool's arenas.
 * Reports the median ns per operation and the ratio malloc/arena (above 1: the arena is faster).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rapt/rapt.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t *make_sizes(size_t n, unsigned seed)
{
    size_t *s = malloc(n * sizeof(*s));
    if (!s)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        size_t base = (size_t)16 << (rand_r(&seed) % 11); /* 16 .. 16384 */
        s[i] = base + (size_t)rand_r(&seed) % base;
    }
    return s;
}

typedef struct alloc_ops {
    void *(*alloc)(void *ctx, size_t n);
    void (*free)(void *ctx, void *p);
    void (*reset)(void *ctx, void **live, size_t n);
} alloc_ops;

static void *m_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void m_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void m_reset(void *ctx, void **live, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        free(live[i]);
}

static void *a_alloc(void *ctx, size_t n)
{
    void *p = NULL;
    return rapt_arena_alloc(ctx, n, &p) == 0 ? p : NULL;
}

static void a_free(void *ctx, void *p)
{
    rapt_arena_free(ctx, p);
}

static void a_reset(void *ctx, void **live, size_t n)
{
    (void)live;
    (void)n;
    rapt_arena_reset(ctx);
}

static volatile unsigned char sink;

static double churn(const alloc_ops *ops, void *ctx, const size_t *sizes, size_t nsizes,
                    size_t live, size_t n, unsigned seed)
{
    void **slot = calloc(live, sizeof(*slot));
    size_t k = 0;
    for (size_t i = 0; i < live; i++) {
        slot[i] = ops->alloc(ctx, sizes[k++ % nsizes]);
        ((unsigned char *)slot[i])[0] = 1;
    }
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)rand_r(&seed) % live;
        ops->free(ctx, slot[j]);
        slot[j] = ops->alloc(ctx, sizes[k++ % nsizes]);
        if (!slot[j]) {
            fprintf(stderr, "allocation failed\n");
            exit(1);
        }
        ((unsigned char *)slot[j])[0] = (unsigned char)i;
    }
    double t = now_s() - t0;
    ops->reset(ctx, slot, live);
    free(slot);
    return t * 1e9 / (double)n;
}

static double batch(const alloc_ops *ops, void *ctx, const size_t *sizes, size_t nsizes,
                    size_t live, size_t n)
{
    void **slot = calloc(live, sizeof(*slot));
    size_t k = 0, ops_done = 0;
    double t0 = now_s();
    while (ops_done < n) {
        for (size_t i = 0; i < live; i++) {
            slot[i] = ops->alloc(ctx, sizes[k++ % nsizes]);
            ((unsigned char *)slot[i])[0] = 1;
        }
        ops->reset(ctx, slot, live);
        ops_done += live;
    }
    double t = now_s() - t0;
    free(slot);
    return t * 1e9 / (double)ops_done;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    size_t n = 2000000, live = 4096;
    int rounds = 5, c;
    while ((c = getopt(argc, argv, "n:l:r:")) != -1) {
        switch (c) {
        case 'n': n = strtoull(optarg, NULL, 10); break;
        case 'l': live = strtoull(optarg, NULL, 10); break;
        case 'r': rounds = atoi(optarg); break;
        default: fprintf(stderr, "usage: %s [-n OPS] [-l LIVE] [-r ROUNDS]\n", argv[0]); return 2;
        }
    }
    if (n == 0 || live == 0 || live > n || rounds < 1 || rounds > 100) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    enum { NSIZES = 1 << 16 };
    size_t *sizes = make_sizes(NSIZES, 42);
    /* The arena must hold the whole working set at its largest: live blocks of up to 32 KiB,
     * doubled for fragmentation headroom. */
    rapt_arena_opts ao;
    rapt_arena_opts_init(&ao);
    ao.capacity = live * 32768 * 2;
    rapt_arena *a = NULL;
    int r = rapt_arena_create(&a, &ao);
    if (r != 0) {
        fprintf(stderr, "rapt_arena_create: %s\n", rapt_strerror(r));
        return 1;
    }
    const alloc_ops mo = {m_alloc, m_free, m_reset}, ar = {a_alloc, a_free, a_reset};
    double cm[100], ca[100], bm[100], ba[100];
    for (int i = 0; i < rounds; i++) {
        unsigned seed = 7u + (unsigned)i;
        cm[i] = churn(&mo, NULL, sizes, NSIZES, live, n, seed);
        ca[i] = churn(&ar, a, sizes, NSIZES, live, n, seed);
        bm[i] = batch(&mo, NULL, sizes, NSIZES, live, n);
        ba[i] = batch(&ar, a, sizes, NSIZES, live, n);
    }
    double m1 = median(cm, rounds), a1 = median(ca, rounds);
    double m2 = median(bm, rounds), a2 = median(ba, rounds);
    rapt_arena_stats st;
    rapt_arena_stats_get(a, &st);
    printf("arena vs malloc: %zu ops, %zu live blocks of 16 B..32 KiB, median of %d rounds\n", n,
           live, rounds);
    printf("  churn  malloc %6.1f ns/op   arena %6.1f ns/op   ratio malloc/arena %.2fx\n", m1, a1,
           m1 / a1);
    printf("  batch  malloc %6.1f ns/op   arena %6.1f ns/op   ratio malloc/arena %.2fx\n", m2, a2,
           m2 / a2);
    printf("  arena peak used %.1f MiB of %.1f MiB capacity, %llu merges\n",
           (double)st.peak_used / (1 << 20), (double)st.capacity / (1 << 20),
           (unsigned long long)st.merges);
    sink = 0;
    rapt_arena_destroy(a);
    free(sizes);
    return 0;
}
