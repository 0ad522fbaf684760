/* monitor-bench.c: the measuring half of bench/monitor-overhead.sh.
 *
 *   rapt-monitor-bench run CMD [ARG...]
 *       runs CMD, waits for it with wait4() and prints "cpu_us N" and "wall_us N": the user +
 *       system CPU time of CMD and everything it waited for, to the microsecond. (GNU time
 *       prints it to 10 ms, too coarse for a process that sleeps 99 % of the time.)
 *
 *   rapt-monitor-bench loop N [JOBS]
 *       creates a monitor, optionally following JOBS sleeping process groups it starts itself,
 *       takes N samples back to back and prints the CPU time per sample ("sample_us"), and for
 *       scale the public rapt_sys_refresh() measured alone the same way ("sys_refresh_us").
 *
 * Output is "key value" lines for the script to read.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rapt/rapt.h"

static double now_us(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmd_run(char **argv)
{
    double w0 = now_us(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("wait4");
            return 1;
        }
    }
    double w1 = now_us(CLOCK_MONOTONIC);
    double cpu = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
                 (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
    printf("cpu_us %.0f\nwall_us %.0f\nexit %d\n", cpu, w1 - w0,
           WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}

static int cmd_loop(long n, long njobs)
{
    pid_t kids[256];
    if (njobs < 0 || njobs > 256 || n <= 0) {
        fprintf(stderr, "loop: N > 0 and 0 <= JOBS <= 256\n");
        return 2;
    }
    for (long i = 0; i < njobs; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            setpgid(0, 0);
            execlp("sleep", "sleep", "600", (char *)NULL);
            _exit(127);
        }
        setpgid(kids[i], kids[i]);
    }
    rapt_monitor *m;
    int rc = rapt_monitor_create(&m, NULL);
    if (rc < 0) {
        fprintf(stderr, "rapt_monitor_create: %s\n", rapt_strerror(rc));
        return 1;
    }
    for (long i = 0; i < njobs; i++) {
        rapt_monitor_job_spec js;
        rapt_monitor_job_spec_init(&js);
        js.id = (uint64_t)i + 1;
        js.kind = RAPT_MONITOR_JOB_PGID;
        js.pid = kids[i];
        rapt_monitor_job_add(m, &js);
    }
    /* Warm up: page in the code, let the first process-group scan happen. */
    for (int i = 0; i < 20; i++)
        rapt_monitor_sample(m, NULL);
    double c0 = now_us(CLOCK_PROCESS_CPUTIME_ID), w0 = now_us(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++)
        rapt_monitor_sample(m, NULL);
    double c1 = now_us(CLOCK_PROCESS_CPUTIME_ID), w1 = now_us(CLOCK_MONOTONIC);
    rapt_sys_info info;
    rapt_monitor_get_sys(m, &info);
    double c2 = now_us(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < n; i++)
        rapt_sys_refresh(NULL, &info);
    double c3 = now_us(CLOCK_PROCESS_CPUTIME_ID);
    printf("samples %ld\njobs %ld\nsample_us %.2f\nsample_wall_us %.2f\nsys_refresh_us %.2f\n", n,
           njobs, (c1 - c0) / (double)n, (w1 - w0) / (double)n, (c3 - c2) / (double)n);
    rapt_monitor_destroy(m);
    for (long i = 0; i < njobs; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "run") == 0)
        return cmd_run(argv + 2);
    if (argc >= 3 && strcmp(argv[1], "loop") == 0)
        return cmd_loop(strtol(argv[2], NULL, 10), argc > 3 ? strtol(argv[3], NULL, 10) : 0);
    fprintf(stderr, "usage: rapt-monitor-bench run CMD [ARG...] | loop N [JOBS]\n");
    return 2;
}
