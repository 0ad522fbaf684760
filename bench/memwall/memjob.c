/* memjob: one job of the memwall workload.
 *
 *   memjob ID MIB SECONDS MODE [HINT...]
 *
 * Ramps its resident memory to MIB MiB over the first half of SECONDS and holds it for the
 * second half, either sleeping (MODE "sleep": an I/O-bound job) or burning CPU (MODE "cpu").
 * At the end it creates $MEMJOB_DONE/ID, so a harness counts the jobs that really finished
 * whatever runner started them (a job the OOM killer ends leaves no file; a retried job
 * rewrites the same one). Words after MODE are ignored: bench/memwall.sh passes a sparse file
 * whose size is the job's peak, for runners that size jobs from their input files. Exit 0 on
 * success, 2 on bad arguments, 3 when memory cannot be mapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until the monotonic clock reaches t, sleeping or spinning. */
static void until(double t, int spin)
{
    if (spin) {
        volatile unsigned long x = 0;
        while (now() < t)
            for (int i = 0; i < 20000; i++)
                x += (unsigned long)i;
        (void)x;
        return;
    }
    double d;
    while ((d = t - now()) > 0) {
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static double num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "memjob: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: memjob ID MIB SECONDS sleep|cpu [HINT...]\n");
        return 2;
    }
    const char *id = argv[1];
    size_t bytes = (size_t)(num(argv[2], "size") * 1048576.0);
    double secs = num(argv[3], "duration");
    int spin = strcmp(argv[4], "cpu") == 0;
    if (!spin && strcmp(argv[4], "sleep") != 0) {
        fprintf(stderr, "memjob: mode must be sleep or cpu\n");
        return 2;
    }
    long page = sysconf(_SC_PAGESIZE);
    char *p = bytes ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                    : NULL;
    if (p == MAP_FAILED) {
        fprintf(stderr, "memjob: cannot map %zu bytes: %s\n", bytes, strerror(errno));
        return 3;
    }
    /* Ramp: touch the pages in 40 steps over the first half, so the job's memory grows after
     * it starts, as real jobs do (decoders, compilers, solvers). */
    double t0 = now(), half = secs / 2;
    const int steps = 40;
    size_t done = 0;
    for (int s = 1; s <= steps; s++) {
        size_t upto = bytes / steps * (size_t)s;
        if (s == steps)
            upto = bytes;
        for (; done < upto; done += (size_t)page)
            p[done] = (char)s;
        until(t0 + half * s / steps, spin);
    }
    until(t0 + secs, spin);
    const char *donedir = getenv("MEMJOB_DONE");
    if (donedir && *donedir) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", donedir, id);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    return 0;
}
