/* memwall-opt: how fast a clairvoyant scheduler could run a memwall workload.
 *
 *   memwall-opt --cap MIB [--shape ramp|peak] [--margin F] [--slots N] [--iterations N]
 *               [--seed N] [FILE]
 *
 * Reads a workload (memwall-gen's lines, "ID MIB SECONDS MODE [...]", from FILE or stdin) and
 * builds a schedule that knows every job's memory profile in advance: a job ramps to its peak
 * over the first half of its life and holds it (--shape ramp, what memjob does), or holds its
 * peak from the start (--shape peak, what a runner that reserves a known peak must assume).
 * Each profile is multiplied by --margin, and the sum over running jobs never exceeds --cap
 * MiB; --slots bounds the jobs running at once (default: no bound).
 *
 * The schedule comes from the serial schedule-generation scheme of project scheduling: jobs
 * are taken in a priority order and each is placed at the earliest time its whole profile
 * fits beside the jobs placed before it. The order starts as largest memory x time first and
 * is improved by local search (swap two jobs, keep the swap when the makespan is no worse)
 * for --iterations rounds. It prints the makespan of the starting order and of the best order
 * found, in seconds.
 *
 * This is not a lower bound: a better schedule may exist. It is an achievable target that no
 * online runner can expect to beat, since it knows what an online runner has to guess - the
 * peak, the duration and the shape of every job before any starts. bench/memwall.sh prints it
 * beside the lower bounds, and docs/memwall.md explains what the gap between the two means.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP     0.02   /* seconds per timeline cell */
#define HORIZON  200000 /* cells: 4000 s */
#define MAX_JOBS 100000

typedef struct job {
    double mib;  /* peak */
    double secs; /* duration */
} job;

static job *jobs;
static size_t njobs;
static double *used;   /* MiB in use per cell */
static unsigned *live; /* jobs running per cell */
static int shape_peak;
static double margin = 1.0, cap;
static unsigned slots;
static size_t dirty; /* cells the last placement wrote */

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "memwall-opt: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    exit(2);
}

static double num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < 0)
        die("bad number", s);
    return v;
}

static size_t cells(const job *j)
{
    return (size_t)(j->secs / STEP + 0.999);
}

/* The job's memory in cell k of its life (the ramp is counted at the end of the cell, so the
 * profile is never below the real one). */
static double profile(const job *j, size_t k)
{
    double ramp = j->secs / 2, age = (double)(k + 1) * STEP;
    double m = (shape_peak || age >= ramp) ? j->mib : j->mib * age / ramp;
    return m * margin;
}

static int fits(const job *j, size_t t, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        if (used[t + k] + profile(j, k) > cap || (slots && live[t + k] >= slots))
            return 0;
    }
    return 1;
}

/* Places the jobs in the given order; returns the makespan in seconds (-1: past the horizon). */
static double place(const size_t *order)
{
    memset(used, 0, dirty * sizeof(*used));
    memset(live, 0, dirty * sizeof(*live));
    size_t end = 0;
    for (size_t q = 0; q < njobs; q++) {
        const job *j = &jobs[order[q]];
        size_t len = cells(j), t = 0;
        while (t + len < HORIZON && !fits(j, t, len))
            t++;
        if (t + len >= HORIZON) {
            dirty = HORIZON;
            return -1;
        }
        for (size_t k = 0; k < len; k++) {
            used[t + k] += profile(j, k);
            live[t + k]++;
        }
        if (t + len > end)
            end = dirty = t + len;
    }
    return (double)end * STEP;
}

static int by_area_desc(const void *a, const void *b)
{
    const job *x = &jobs[*(const size_t *)a], *y = &jobs[*(const size_t *)b];
    double ax = x->mib * x->secs, ay = y->mib * y->secs;
    return ax < ay ? 1 : ax > ay ? -1 : 0;
}

static unsigned long long rng = 1;

static size_t pick(size_t n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (size_t)((rng >> 33) % n);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    unsigned long iterations = 2000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--cap") == 0 && has)
            cap = num(argv[++i]);
        else if (strcmp(a, "--shape") == 0 && has) {
            const char *s = argv[++i];
            if (strcmp(s, "ramp") && strcmp(s, "peak"))
                die("--shape must be ramp or peak, not", s);
            shape_peak = strcmp(s, "peak") == 0;
        } else if (strcmp(a, "--margin") == 0 && has)
            margin = num(argv[++i]);
        else if (strcmp(a, "--slots") == 0 && has)
            slots = (unsigned)num(argv[++i]);
        else if (strcmp(a, "--iterations") == 0 && has)
            iterations = (unsigned long)num(argv[++i]);
        else if (strcmp(a, "--seed") == 0 && has)
            rng = (unsigned long long)num(argv[++i]);
        else if (a[0] == '-' && a[1])
            die("unknown argument or missing value:", a);
        else
            path = a;
    }
    if (cap <= 0)
        die("--cap MIB is required", NULL);
    FILE *in = path && strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!in)
        die("cannot open", path);
    jobs = calloc(MAX_JOBS, sizeof(*jobs));
    used = calloc(HORIZON, sizeof(*used));
    live = calloc(HORIZON, sizeof(*live));
    size_t *order = calloc(MAX_JOBS, sizeof(*order)), *best = calloc(MAX_JOBS, sizeof(*best));
    if (!jobs || !used || !live || !order || !best)
        die("out of memory", NULL);
    char line[4096];
    while (fgets(line, sizeof(line), in)) {
        double mib, secs;
        if (sscanf(line, "%*s %lf %lf", &mib, &secs) != 2)
            continue;
        if (njobs == MAX_JOBS)
            die("too many jobs", NULL);
        if (mib * margin > cap)
            die("a job is larger than the cap:", line);
        jobs[njobs++] = (job){mib, secs};
    }
    if (njobs == 0)
        die("no jobs in the workload", NULL);
    for (size_t i = 0; i < njobs; i++)
        order[i] = i;
    qsort(order, njobs, sizeof(*order), by_area_desc);
    double first = place(order), found = first;
    if (first < 0)
        die("the schedule does not fit the horizon", NULL);
    memcpy(best, order, njobs * sizeof(*order));
    for (unsigned long it = 0; it < iterations && njobs > 1; it++) {
        memcpy(order, best, njobs * sizeof(*order));
        size_t a = pick(njobs), b = pick(njobs), x = order[a];
        order[a] = order[b];
        order[b] = x;
        double m = place(order);
        if (m >= 0 && m <= found) {
            found = m;
            memcpy(best, order, njobs * sizeof(*order));
        }
    }
    printf("start %.2f\nbest %.2f\n", first, found);
    free(order);
    free(best);
    free(live);
    free(used);
    free(jobs);
    if (in != stdin)
        fclose(in);
    return 0;
}
