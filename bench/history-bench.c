/* history-bench: what the history store and the model cost on this machine.
 *
 *   history-bench [DIR] [ATTEMPTS] [KEEP]   (defaults: a temporary directory, 100000 attempts,
 *                                            the default retention of 10000 per class)
 *
 * Prints the time to record ATTEMPTS attempts in batches of 64, to open the file (with and
 * without quick_check), to load the newest 10000 attempts of a class into a model, and to
 * refit a class after one new sample at windows of 200 and 1000. Figures quoted in
 * docs/history.md and docs/model.md come from this program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rapt/rapt.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "history-bench: %s: %s\n", what, rapt_strerror(rc));
    exit(1);
}

static double open_time(const char *path, bool check)
{
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = path;
    o.skip_integrity_check = !check;
    double t0 = now_s();
    rapt_history *h;
    int rc = rapt_history_open(&h, &o);
    if (rc < 0)
        die("open", rc);
    double t = now_s() - t0;
    rapt_history_close(h);
    return t;
}

static double refit_time(unsigned window)
{
    rapt_model_opts mo;
    rapt_model_opts_init(&mo);
    mo.window = window;
    rapt_model *m;
    rapt_model_create(&m, &mo);
    rapt_attempt a;
    rapt_attempt_init(&a);
    a.class_name = "c";
    uint64_t s = 1;
    for (unsigned i = 0; i < window; i++) {
        s = s * 6364136223846793005ull + 1;
        a.input_bytes = (int64_t)(s >> 40);
        a.peak_bytes = 3 * a.input_bytes + 1000 + (int64_t)(s >> 54);
        a.wall_s = 1;
        rapt_model_observe(m, &a);
    }
    rapt_features f;
    memset(&f, 0, sizeof(f));
    f.has_input = true;
    f.input_bytes = 12345;
    const int reps = 200;
    double t0 = now_s();
    for (int i = 0; i < reps; i++) {
        rapt_model_observe(m, &a); /* invalidates the fit */
        rapt_prediction p;
        rapt_model_predict(m, "c", &f, &p);
    }
    double t = (now_s() - t0) / reps;
    rapt_model_destroy(m);
    return t;
}

int main(int argc, char **argv)
{
    char dir[64] = "/tmp/rapt-hbench-XXXXXX";
    const char *d = argc > 1 ? argv[1] : mkdtemp(dir);
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
    long keep = argc > 3 ? strtol(argv[3], NULL, 10) : -1;
    char path[512];
    snprintf(path, sizeof(path), "%s/history.db", d);
    unlink(path);

    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = path;
    if (keep >= 0)
        o.keep_per_class = (unsigned)keep;
    rapt_history *h;
    int rc = rapt_history_open(&h, &o);
    if (rc < 0)
        die("create", rc);
    rapt_history_run r;
    rapt_history_run_init(&r);
    r.run_id = "bench";
    r.host = "h";
    int64_t key;
    if ((rc = rapt_history_run_begin(h, &r, &key)) < 0)
        die("run", rc);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        rapt_attempt a;
        rapt_attempt_init(&a);
        a.class_name = i % 10 ? "main {}" : "other {}";
        a.seq = (uint64_t)i;
        a.input_bytes = i * 1000;
        a.peak_bytes = 3 * i * 1000 + 50000000;
        a.wall_s = 1;
        a.start = 1795000000.0 + (double)i;
        a.has_digest = true;
        memcpy(a.digest, &i, sizeof(i));
        if ((rc = rapt_history_add(h, key, &a)) < 0)
            die("add", rc);
    }
    rapt_history_close(h);
    double write = now_s() - t0;
    FILE *f = fopen(path, "re");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    printf("record   %ld attempts in batches of 64: %.3f s (%.1f us per attempt), file %.1f MiB\n",
           n, write, write / (double)n * 1e6, (double)size / 1048576.0);
    printf("open     with quick_check %.1f ms, without %.1f ms\n", 1e3 * open_time(path, true),
           1e3 * open_time(path, false));

    o.readonly = true;
    if ((rc = rapt_history_open(&h, &o)) < 0)
        die("open", rc);
    rapt_model *m;
    rapt_model_create(&m, NULL);
    t0 = now_s();
    int learned = rapt_model_load(m, h, "main {}", 0);
    rapt_model_fit fit;
    rapt_model_fit_info(m, "main {}", RAPT_MODEL_PEAK, &fit);
    printf("load     %d attempts of a class into a model and fit: %.1f ms\n", learned,
           1e3 * (now_s() - t0));
    rapt_model_destroy(m);
    rapt_history_close(h);
    printf("refit    after one sample: window 200 %.1f us, window 1000 (sampled pairs) %.1f us\n",
           1e6 * refit_time(200), 1e6 * refit_time(1000));
    if (argc <= 1) {
        unlink(path);
        rmdir(d);
    }
    return 0;
}
