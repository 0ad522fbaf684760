/* island-ga: an island-model genetic algorithm on a rapt pool (a librapt example).
 *
 *   rapt-island-ga [-j THREADS] [-i ISLANDS] [-n POP] [-l BITS] [-g GENS] [-e EPOCHS] [-s SEED]
 *
 * Maximises OneMax (the number of 1 bits in a BITS-long string; the optimum is BITS) with
 * ISLANDS independent populations. Every epoch runs one pool task per island, which evolves its
 * population for GENS generations (tournament selection, one-point crossover, bit-flip
 * mutation, elitism); then the islands exchange migrants along a ring: each sends copies of its
 * two best individuals to the next, replacing that island's two worst. The run stops at the
 * optimum or after EPOCHS epochs.
 *
 * Each island owns its random generator and is touched by one task at a time, and migration
 * happens between epochs on the main thread in a fixed order, so the output is the same for
 * any number of threads: tests/e2e/examples.bats checks that. The offspring of each generation
 * are allocated from the task's arena, sized by the task's memory estimate.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rapt/rapt.h>

typedef struct island {
    unsigned id;
    uint64_t rng;
    size_t pop, words;
    uint64_t *genes; /* pop x words */
    unsigned *fit;
    unsigned gens, bits;
} island;

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: small, fast and good enough for a GA. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static unsigned fitness(const uint64_t *g, size_t words, unsigned bits)
{
    unsigned f = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t v = g[w];
        if (w == words - 1 && bits % 64)
            v &= (1ull << (bits % 64)) - 1;
        f += (unsigned)__builtin_popcountll(v);
    }
    return f;
}

static size_t best_of(const island *is)
{
    size_t b = 0;
    for (size_t i = 1; i < is->pop; i++)
        if (is->fit[i] > is->fit[b])
            b = i;
    return b;
}

static size_t tournament(island *is)
{
    size_t a = next_rand(&is->rng) % is->pop, b = next_rand(&is->rng) % is->pop;
    return is->fit[a] >= is->fit[b] ? a : b;
}

/* One epoch of one island: the task. */
static int evolve(rapt_task *t, void *arg)
{
    island *is = arg;
    rapt_arena *a = rapt_task_arena(t);
    uint64_t *kids = NULL;
    unsigned *kfit = NULL;
    int r = rapt_arena_alloc(a, is->pop * is->words * sizeof(uint64_t), (void **)&kids);
    if (r == 0)
        r = rapt_arena_alloc(a, is->pop * sizeof(unsigned), (void **)&kfit);
    if (r < 0)
        return r;
    for (unsigned g = 0; g < is->gens; g++) {
        /* Elitism: the best survives unchanged in slot 0. */
        size_t e = best_of(is);
        memcpy(kids, is->genes + e * is->words, is->words * sizeof(uint64_t));
        kfit[0] = is->fit[e];
        for (size_t k = 1; k < is->pop; k++) {
            const uint64_t *p1 = is->genes + tournament(is) * is->words;
            const uint64_t *p2 = is->genes + tournament(is) * is->words;
            uint64_t *c = kids + k * is->words;
            unsigned cut = (unsigned)(next_rand(&is->rng) % is->bits);
            for (size_t w = 0; w < is->words; w++) {
                unsigned lo = (unsigned)w * 64;
                uint64_t mask = cut <= lo ? 0 : cut >= lo + 64 ? ~0ull : (1ull << (cut - lo)) - 1;
                c[w] = (p1[w] & mask) | (p2[w] & ~mask);
            }
            /* About one flipped bit per child (rate 1/bits). */
            for (unsigned m = 0; m < 2; m++)
                if (next_rand(&is->rng) % 2 == 0) {
                    unsigned bit = (unsigned)(next_rand(&is->rng) % is->bits);
                    c[bit / 64] ^= 1ull << (bit % 64);
                }
            kfit[k] = fitness(c, is->words, is->bits);
        }
        memcpy(is->genes, kids, is->pop * is->words * sizeof(uint64_t));
        memcpy(is->fit, kfit, is->pop * sizeof(unsigned));
        if ((r = rapt_task_check(t)) != 0)
            return r;
    }
    rapt_arena_free(a, kfit);
    rapt_arena_free(a, kids);
    return 0;
}

/* Ring migration: copies of island i's two best replace island i+1's two worst. The sources
 * are taken before any island changes, so the result does not depend on the order. */
static void migrate(island *isl, unsigned n)
{
    size_t words = isl[0].words;
    uint64_t *best = malloc(n * 2 * words * sizeof(uint64_t));
    unsigned *bfit = malloc(n * 2 * sizeof(unsigned));
    for (unsigned i = 0; i < n; i++) {
        island *is = &isl[i];
        size_t b1 = best_of(is), b2 = b1 == 0 ? 1 : 0;
        for (size_t k = 0; k < is->pop; k++)
            if (k != b1 && is->fit[k] > is->fit[b2])
                b2 = k;
        memcpy(best + (2 * i) * words, is->genes + b1 * words, words * sizeof(uint64_t));
        memcpy(best + (2 * i + 1) * words, is->genes + b2 * words, words * sizeof(uint64_t));
        bfit[2 * i] = is->fit[b1];
        bfit[2 * i + 1] = is->fit[b2];
    }
    for (unsigned i = 0; i < n; i++) {
        island *to = &isl[(i + 1) % n];
        for (unsigned m = 0; m < 2; m++) {
            size_t w = 0;
            for (size_t k = 1; k < to->pop; k++)
                if (to->fit[k] < to->fit[w])
                    w = k;
            memcpy(to->genes + w * words, best + (2 * i + m) * words, words * sizeof(uint64_t));
            to->fit[w] = bfit[2 * i + m];
        }
    }
    free(best);
    free(bfit);
}

int main(int argc, char **argv)
{
    unsigned threads = 0, islands = 8, bits = 256, gens = 20, epochs = 200;
    size_t pop = 40;
    uint64_t seed = 1;
    int c;
    while ((c = getopt(argc, argv, "j:i:n:l:g:e:s:")) != -1) {
        unsigned long v = strtoul(optarg, NULL, 10);
        switch (c) {
        case 'j': threads = (unsigned)v; break;
        case 'i': islands = (unsigned)v; break;
        case 'n': pop = v; break;
        case 'l': bits = (unsigned)v; break;
        case 'g': gens = (unsigned)v; break;
        case 'e': epochs = (unsigned)v; break;
        case 's': seed = v; break;
        default:
            fprintf(stderr,
                    "usage: %s [-j THREADS] [-i ISLANDS] [-n POP] [-l BITS] [-g GENS] "
                    "[-e EPOCHS] [-s SEED]\n",
                    argv[0]);
            return 2;
        }
    }
    if (islands < 2 || islands > 1024 || pop < 4 || pop > 100000 || bits < 8 || bits > 65536 ||
        gens < 1 || epochs < 1) {
        fprintf(stderr, "island-ga: out-of-range parameters\n");
        return 2;
    }
    size_t words = (bits + 63) / 64;
    island *isl = calloc(islands, sizeof(*isl));
    for (unsigned i = 0; i < islands; i++) {
        island *is = &isl[i];
        is->id = i;
        is->rng = seed * 0x9E3779B97F4A7C15ull + i + 1;
        is->pop = pop;
        is->words = words;
        is->gens = gens;
        is->bits = bits;
        is->genes = malloc(pop * words * sizeof(uint64_t));
        is->fit = malloc(pop * sizeof(unsigned));
        for (size_t k = 0; k < pop; k++) {
            for (size_t w = 0; w < words; w++)
                is->genes[k * words + w] = next_rand(&is->rng);
            is->fit[k] = fitness(is->genes + k * words, words, bits);
        }
    }
    rapt_pool_opts po;
    rapt_pool_opts_init(&po);
    po.threads = threads;
    po.mem_budget = RAPT_GATE_UNLIMITED;
    po.name = "island";
    rapt_pool *pool = NULL;
    int r = rapt_pool_create(&pool, &po);
    if (r < 0) {
        fprintf(stderr, "island-ga: %s\n", rapt_strerror(r));
        return 3;
    }
    rapt_future **fut = calloc(islands, sizeof(*fut));
    unsigned best = 0, e;
    for (e = 1; e <= epochs && best < bits; e++) {
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        /* Offspring and their fitness, plus block headers and alignment slack. */
        to.mem_estimate = pop * words * sizeof(uint64_t) + pop * sizeof(unsigned) + 256;
        to.arena = true;
        for (unsigned i = 0; i < islands; i++) {
            r = rapt_pool_submit(pool, evolve, &isl[i], &to, &fut[i]);
            if (r < 0) {
                fprintf(stderr, "island-ga: submit: %s\n", rapt_strerror(r));
                return 3;
            }
        }
        for (unsigned i = 0; i < islands; i++) {
            rapt_task_result res;
            rapt_future_wait(fut[i], &res);
            rapt_future_release(fut[i]);
            if (res.status != 0) {
                fprintf(stderr, "island-ga: island %u: %s\n", i, rapt_strerror(res.status));
                return 3;
            }
        }
        migrate(isl, islands);
        double mean = 0;
        best = 0;
        for (unsigned i = 0; i < islands; i++) {
            unsigned b = isl[i].fit[best_of(&isl[i])];
            best = b > best ? b : best;
            for (size_t k = 0; k < pop; k++)
                mean += isl[i].fit[k];
        }
        mean /= (double)(islands * pop);
        if (e == 1 || e % 10 == 0 || best == bits)
            printf("epoch %u best %u mean %.2f\n", e, best, mean);
    }
    printf("best %u of %u after %u epochs\n", best, bits, e - 1);
    rapt_pool_destroy(pool);
    for (unsigned i = 0; i < islands; i++) {
        free(isl[i].genes);
        free(isl[i].fit);
    }
    free(isl);
    free(fut);
    return best == bits ? 0 : 1;
}
