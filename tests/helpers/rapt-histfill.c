/* rapt-histfill: writes synthetic attempts into a history file through librapt, so end-to-end
 * tests check `rapt history` and `rapt plan --class` on files written the way `rapt run`
 * writes them, not by hand-made SQL.
 *
 *   rapt-histfill [--run ID] [--no-size] [--failed K] FILE CLASS N GAMMA OVERHEAD [SECS_PER_MIB]
 *
 * Attempt i (1..N) has input (i x 1 MiB), peak GAMMA x input + OVERHEAD bytes and runtime
 * 0.1 s + SECS_PER_MIB x input MiB; with --no-size no input size is recorded (the peak is still
 * computed from i). The last K attempts fail (exit 1). Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapt/rapt.h"

static int usage(void)
{
    fprintf(stderr, "usage: rapt-histfill [--run ID] [--no-size] [--failed K] FILE CLASS N "
                    "GAMMA OVERHEAD [SECS_PER_MIB]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *run_id = NULL;
    bool no_size = false;
    long failed = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--run") == 0 && i + 1 < argc)
            run_id = argv[++i];
        else if (strcmp(argv[i], "--no-size") == 0)
            no_size = true;
        else if (strcmp(argv[i], "--failed") == 0 && i + 1 < argc)
            failed = strtol(argv[++i], NULL, 10);
        else
            return usage();
    }
    if (argc - i < 5)
        return usage();
    const char *file = argv[i], *cls = argv[i + 1];
    long n = strtol(argv[i + 2], NULL, 10);
    double gamma = strtod(argv[i + 3], NULL);
    double overhead = strtod(argv[i + 4], NULL);
    double per_mib = argc - i > 5 ? strtod(argv[i + 5], NULL) : 0.01;
    char idbuf[64];
    if (!run_id) {
        snprintf(idbuf, sizeof(idbuf), "fill-%ld", (long)getpid());
        run_id = idbuf;
    }

    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = file;
    o.busy_timeout_ms = 60000;
    o.batch = 16;
    rapt_history *h;
    int rc = rapt_history_open(&h, &o);
    if (rc < 0) {
        fprintf(stderr, "rapt-histfill: %s: %s\n", file, rapt_strerror(rc));
        return 1;
    }
    rapt_history_run r;
    rapt_history_run_init(&r);
    r.run_id = run_id;
    r.host = "testhost";
    r.command = cls;
    r.started = 1795000000.0;
    r.slots = 2;
    int64_t key;
    if ((rc = rapt_history_run_begin(h, &r, &key)) < 0) {
        fprintf(stderr, "rapt-histfill: run: %s\n", rapt_strerror(rc));
        return 1;
    }
    for (long k = 1; k <= n; k++) {
        rapt_attempt a;
        rapt_attempt_init(&a);
        a.class_name = cls;
        a.seq = (uint64_t)k;
        a.attempt = 1;
        a.slot = 1;
        char arg[32];
        snprintf(arg, sizeof(arg), "input-%ld", k);
        const char *args[] = {arg};
        rapt_jobclass_digest(args, 1, a.digest);
        a.has_digest = true;
        double x = (double)k * 1048576.0;
        a.input_bytes = no_size ? -1 : (int64_t)x;
        a.start = 1795000000.0 + (double)k;
        a.wall_s = 0.1 + per_mib * (double)k;
        a.user_s = a.wall_s / 2;
        a.sys_s = 0.01;
        a.peak_bytes = (int64_t)(gamma * x + overhead);
        a.peak_method = "cgroup-v1";
        a.exit_code = 0;
        if (k > n - failed) {
            a.exit_code = 1;
            a.outcome = "failed";
        }
        a.slots = 2;
        a.mem_limit = 1ll << 32;
        if ((rc = rapt_history_add(h, key, &a)) < 0) {
            fprintf(stderr, "rapt-histfill: add: %s\n", rapt_strerror(rc));
            return 1;
        }
    }
    rapt_history_run_end e = {.ended = 1795000000.0 + (double)n + 1,
                              .jobs = (uint64_t)n,
                              .succeeded = (uint64_t)(n - failed),
                              .failed = (uint64_t)failed,
                              .exit_code = failed ? 1 : 0,
                              .reason = "done"};
    if ((rc = rapt_history_run_finish(h, key, &e)) < 0) {
        fprintf(stderr, "rapt-histfill: finish: %s\n", rapt_strerror(rc));
        return 1;
    }
    rapt_history_close(h);
    return 0;
}
