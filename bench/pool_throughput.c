/* pool_throughput.c: tiny-task throughput of rapt's pool against GLib's GThreadPool and OpenMP
 * tasks (libgomp), measured in the same run on the same number of worker threads.
 *
 *   rapt-bench-pool [-n TASKS] [-t THREADS] [-r ROUNDS] [-o PEER [-q]]
 *
 * PEER 0-4 measures one peer only (-q: print just its median ns/task); bench/pool.sh runs each
 * peer in a fresh process that way, round after round, so no peer's leftover threads (libgomp's
 * spin-waiting team, say) run during another's measurement.
 *
 * Each task adds one to a shared counter (checked after every run), so what is measured is
 * the cost of handing a task to a worker and running it. Every peer is used the
 * way its documentation shows:
 *   rapt   rapt_pool_submit() of detached tasks from the main thread, rapt_pool_wait_idle();
 *   GLib   g_thread_pool_push() from the main thread into an exclusive pool of THREADS workers,
 *          g_thread_pool_free(pool, FALSE, TRUE) to wait;
 *   OpenMP one thread of a THREADS-wide team creates `#pragma omp task`s inside `single`, the
 *          team runs them, the region's barrier waits.
 * rapt is measured three ways: with its defaults (plain tasks untimed, as GLib and libgomp
 * time nothing per task); with time_plain_tasks (per-task queue and run times for all); and with
 * that plus max_queued = 64 per worker and RAPT_POOL_FULL_CALLER_RUNS, which is what libgomp does
 * by default (past 64 queued tasks per thread it runs new tasks in the creating thread). Without
 * -o, rounds alternate between the peers in one process; the median of each is reported with the
 * ratios. The counter is checked after every run; alternating, every measured run starts after a
 * 100 ms pause, so no peer's spinning idle threads are still on a core.
 */
#include <glib.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rapt/rapt.h>

static atomic_ullong counter;

static inline void work(uintptr_t i)
{
    (void)i;
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int rapt_fn(rapt_task *t, void *arg)
{
    (void)t;
    work((uintptr_t)arg);
    return 0;
}

/* mode 0: defaults; 1: every task timed (time_plain_tasks); 2: defaults, and the submitter runs
 * tasks itself while 64 per worker are queued (libgomp's own throttle for task creation). */
static int rapt_mode;

static double run_rapt(size_t n, unsigned threads)
{
    rapt_pool_opts o;
    rapt_pool_opts_init(&o);
    o.threads = threads;
    o.mem_budget = RAPT_GATE_UNLIMITED;
    o.time_plain_tasks = rapt_mode == 1;
    if (rapt_mode == 2) {
        o.max_queued = 64 * (size_t)threads;
        o.when_full = RAPT_POOL_FULL_CALLER_RUNS;
    }
    rapt_pool *p = NULL;
    if (rapt_pool_create(&p, &o) != 0) {
        fprintf(stderr, "rapt_pool_create failed\n");
        exit(1);
    }
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        int r = rapt_pool_submit(p, rapt_fn, (void *)(uintptr_t)i, NULL, NULL);
        if (r != 0) {
            fprintf(stderr, "submit: %s\n", rapt_strerror(r));
            exit(1);
        }
    }
    rapt_pool_wait_idle(p);
    double t = now_s() - t0;
    rapt_pool_destroy(p);
    return t;
}

static void glib_fn(gpointer data, gpointer user)
{
    (void)user;
    work((uintptr_t)data);
}

static double run_glib(size_t n, unsigned threads)
{
    GError *err = NULL;
    GThreadPool *p = g_thread_pool_new(glib_fn, NULL, (gint)threads, TRUE, &err);
    if (!p) {
        fprintf(stderr, "g_thread_pool_new: %s\n", err ? err->message : "?");
        exit(1);
    }
    double t0 = now_s();
    for (size_t i = 0; i < n; i++)
        g_thread_pool_push(p, (gpointer)(uintptr_t)(i + 1), NULL); /* NULL is not allowed */
    g_thread_pool_free(p, FALSE, TRUE);
    return now_s() - t0;
}

static double run_omp(size_t n, unsigned threads)
{
    double t0 = now_s();
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        {
            for (size_t i = 0; i < n; i++) {
#pragma omp task firstprivate(i)
                work(i);
            }
        }
    }
    return now_s() - t0;
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
    size_t n = 1000000;
    unsigned threads = 2;
    int rounds = 5, only = -1, quiet = 0, c;
    while ((c = getopt(argc, argv, "n:t:r:o:q")) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;           /* with -o: print only the median ns per task */
        case 'o': only = atoi(optarg); break; /* run one peer only (for profiling) */
        case 'n': n = strtoull(optarg, NULL, 10); break;
        case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'r': rounds = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-n TASKS] [-t THREADS] [-r ROUNDS] [-o PEER]\n", argv[0]);
            return 2;
        }
    }
    if (n == 0 || threads == 0 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    enum { NPEERS = 5 };
    static const char *names[NPEERS] = {"rapt pool (defaults)", "rapt pool (all timed)",
                                        "rapt pool (caller-runs)", "GLib GThreadPool",
                                        "OpenMP tasks (libgomp)"};
    double t[NPEERS][100];
    if (only < 0 || only == 4)
        run_omp(1000, threads); /* start libgomp's team once, as every OpenMP program does */
    if (only >= 0 && only < NPEERS) {
        /* A fresh process: one unmeasured run first, so the heap is grown and the code and
         * threads are warm for every peer alike (libgomp and GLib allocate per task too). */
        atomic_store(&counter, 0);
        if (only < 3) {
            rapt_mode = only;
            run_rapt(n, threads);
        } else {
            only == 3 ? run_glib(n, threads) : run_omp(n, threads);
        }
    }
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < NPEERS; k++) {
            int which = (k + r) % NPEERS; /* rotate who goes first */
            if (only >= 0 && which != only) {
                t[which][r] = 1;
                continue;
            }
            atomic_store(&counter, 0);
            /* Alternating in one process, let the previous peer's idle threads go to sleep
             * first: libgomp's team spins after a region (GOMP_SPINCOUNT), and measured back to
             * back it takes a core from whoever runs next (rapt's defaults: 31 ns/task after a
             * pause, 45-62 without). A process measuring one peer needs no pause. */
            if (only < 0)
                usleep(100000);
            if (which < 3) {
                rapt_mode = which;
                t[which][r] = run_rapt(n, threads);
            } else {
                t[which][r] = which == 3 ? run_glib(n, threads) : run_omp(n, threads);
            }
            if (atomic_load(&counter) != n) {
                fprintf(stderr, "%s ran %llu of %zu tasks\n", names[which],
                        (unsigned long long)atomic_load(&counter), n);
                return 1;
            }
        }
    }
    double m[NPEERS];
    for (int k = 0; k < NPEERS; k++)
        m[k] = median(t[k], rounds);
    if (quiet && only >= 0 && only < NPEERS) {
        printf("%.2f\n", m[only] * 1e9 / n);
        return 0;
    }
    printf("tiny tasks: %zu tasks, %u worker threads, median of %d rounds\n", n, threads, rounds);
    for (int k = 0; k < NPEERS; k++)
        printf("  %-26s %12.0f tasks/s  %7.1f ns/task\n", names[k], n / m[k], m[k] * 1e9 / n);
    printf("ratios (rapt / peer; targets: >= 4 vs GThreadPool, >= 0.5 vs OpenMP tasks)\n");
    for (int k = 0; k < 3; k++)
        printf("  %-26s %6.2fx GThreadPool   %6.2fx OpenMP\n", names[k], m[3] / m[k], m[4] / m[k]);
    return 0;
}
