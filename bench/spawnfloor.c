/* spawnfloor: the floor for bench/dispatch.sh, a bare posix_spawn loop.
 *
 *   spawnfloor N P PROGRAM
 *
 * Runs PROGRAM N times, P at a time, each with its job number as its one argument (what
 * `xargs -n1` passes), and does nothing else: no pipes, no output handling, no accounting,
 * no event loop. A runner cannot start jobs faster than this; bench/dispatch.sh prints how far
 * each runner is from it.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: spawnfloor N P PROGRAM\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[1], &end, 10);
    long p = *end ? -1 : strtol(argv[2], &end, 10);
    if (n < 1 || p < 1 || *end) {
        fprintf(stderr, "spawnfloor: N and P must be positive numbers\n");
        return 2;
    }
    long started = 0, running = 0;
    char num[24];
    char *args[] = {argv[3], num, NULL};
    while (started < n || running > 0) {
        while (running < p && started < n) {
            snprintf(num, sizeof(num), "%ld", ++started);
            pid_t pid;
            int rc = posix_spawn(&pid, argv[3], NULL, NULL, args, environ);
            if (rc != 0) {
                fprintf(stderr, "spawnfloor: %s: %s\n", argv[3], strerror(rc));
                return 1;
            }
            running++;
        }
        int st;
        if (wait(&st) < 0 && errno != EINTR)
            return 1;
        running--;
    }
    return 0;
}
