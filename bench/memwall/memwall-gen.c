/* memwall-gen: writes a memwall workload, one job per line: "ID MIB SECONDS MODE".
 *
 *   memwall-gen [--dist uniform|heavy|bimodal] [--jobs N] [--min MIB] [--max MIB]
 *               [--dur-min S] [--dur-max S] [--mode sleep|cpu] [--seed N]
 *
 * Distributions of the peak memory (the durations are uniform in [dur-min, dur-max]):
 *   uniform  - uniform in [min, max];
 *   heavy    - Pareto with shape 1.2 starting at min, capped at max: most jobs small, a few near
 * max; bimodal  - 70% near min (uniform in [min, min + (max-min)/6]), 30% near max (uniform in [max
 * - (max-min)/6, max]). The PRNG is splitmix64 with an explicit seed, so a workload is the same on
 * every machine.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

static uint64_t next(void)
{
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unit(void)
{
    return (double)(next() >> 11) / 9007199254740992.0;
}

static double arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "memwall-gen: %s needs a value\n", argv[*i]);
        exit(2);
    }
    char *end;
    double v = strtod(argv[++*i], &end);
    if (*end || v < 0) {
        fprintf(stderr, "memwall-gen: bad value '%s'\n", argv[*i]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *dist = "uniform", *mode = "sleep";
    double jobs = 60, lo = 20, hi = 360, dlo = 1.0, dhi = 3.0, seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dist") == 0 && i + 1 < argc)
            dist = argv[++i];
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            mode = argv[++i];
        else if (strcmp(argv[i], "--jobs") == 0)
            jobs = arg(argc, argv, &i);
        else if (strcmp(argv[i], "--min") == 0)
            lo = arg(argc, argv, &i);
        else if (strcmp(argv[i], "--max") == 0)
            hi = arg(argc, argv, &i);
        else if (strcmp(argv[i], "--dur-min") == 0)
            dlo = arg(argc, argv, &i);
        else if (strcmp(argv[i], "--dur-max") == 0)
            dhi = arg(argc, argv, &i);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = arg(argc, argv, &i);
        else {
            fprintf(stderr, "memwall-gen: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (hi < lo || dhi < dlo || (strcmp(mode, "sleep") && strcmp(mode, "cpu"))) {
        fprintf(stderr, "memwall-gen: inconsistent arguments\n");
        return 2;
    }
    state = (uint64_t)seed;
    double sixth = (hi - lo) / 6;
    for (int j = 1; j <= (int)jobs; j++) {
        double m;
        if (strcmp(dist, "uniform") == 0) {
            m = lo + (hi - lo) * unit();
        } else if (strcmp(dist, "heavy") == 0) {
            m = lo / pow(1.0 - unit(), 1.0 / 1.2);
            if (m > hi)
                m = hi;
        } else if (strcmp(dist, "bimodal") == 0) {
            m = unit() < 0.7 ? lo + sixth * unit() : hi - sixth * unit();
        } else {
            fprintf(stderr, "memwall-gen: unknown distribution '%s'\n", dist);
            return 2;
        }
        double d = dlo + (dhi - dlo) * unit();
        printf("%d %.0f %.2f %s\n", j, m, d, mode);
    }
    return 0;
}
