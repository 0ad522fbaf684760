/* proctree.c: the resident memory and CPU time of a job's process tree, from /proc.
 *
 * Memory is the fallback measure when rapt cannot give jobs a memory cgroup: sampled on the
 * runner's tick, it sums the RSS of a job leader and every descendant found through
 * /proc/<pid>/task/<tid>/children. It sees what a sample sees (spikes between ticks are missed)
 * and loses orphans that were reparented away from the tree; docs/run.md says so and the
 * events record the method ("proc-sample"). CPU time is summed over the same walk for the
 * events' samples (the jobs' CPU over time, whatever measures their memory).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"

/* Bounded walk: a job with more processes than this is summed over the first ones. */
#define MAX_PROCS 4096

static int statm_rss(const rapt__root *r, pid_t pid, uint64_t *bytes)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    ssize_t n = rapt__slurp(r, path, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 ? (int)n : -ESRCH;
    /* "size resident shared text lib data dt", in pages */
    const char *sp = strchr(buf, ' ');
    if (!sp)
        return -EINVAL;
    const char *end = strchr(sp + 1, ' ');
    uint64_t pages;
    if (!end || rapt__parse_u64(sp + 1, (size_t)(end - sp - 1), &pages) < 0)
        return -EINVAL;
    long ps = sysconf(_SC_PAGESIZE);
    *bytes = pages * (uint64_t)(ps > 0 ? ps : 4096);
    return 0;
}

/* Appends the children of every thread of pid to the work list. */
static void add_children(const rapt__root *r, pid_t pid, pid_t *list, size_t *n)
{
    char path[64];
    snprintf(path, sizeof(path), "proc/%d/task", (int)pid);
    int dfd = openat(r->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    char buf[4096];
    for (struct dirent *e; (e = readdir(d)) && *n < MAX_PROCS;) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char cpath[320];
        snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", (int)pid, e->d_name);
        if (rapt__slurp(r, cpath, buf, sizeof(buf)) <= 0)
            continue;
        for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t && *n < MAX_PROCS;
             t = strtok_r(NULL, " \n", &save)) {
            int64_t c;
            if (rapt__parse_i64(t, SIZE_MAX, &c) == 0 && c > 1)
                list[(*n)++] = (pid_t)c;
        }
    }
    closedir(d);
}

/* The CPU time of one process: its own and that of the children it has waited for (which
 * left the tree and would otherwise be lost), in clock ticks. */
static int stat_cpu(const rapt__root *r, pid_t pid, uint64_t *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    ssize_t n = rapt__slurp(r, path, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 ? (int)n : -ESRCH;
    rapt__pidstat ps;
    if (rapt__parse_pid_stat(buf, &ps) < 0)
        return -EINVAL;
    *ticks = ps.utime + ps.stime + ps.cutime + ps.cstime;
    return 0;
}

/* Sums each(process) over pid and its descendants; -ESRCH when none could be read. */
static int tree_sum(const rapt__root *r, pid_t pid,
                    int (*each)(const rapt__root *, pid_t, uint64_t *), uint64_t *sum)
{
    *sum = 0;
    pid_t *list = malloc(MAX_PROCS * sizeof(*list));
    if (!list)
        return -ENOMEM;
    size_t n = 0, i = 0;
    list[n++] = pid;
    int result = -ESRCH;
    for (; i < n; i++) {
        uint64_t v;
        if (each(r, list[i], &v) == 0) {
            *sum += v;
            result = 0;
        }
        add_children(r, list[i], list, &n);
    }
    free(list);
    return result;
}

int rapt__proc_tree_rss(const rapt__root *r, pid_t pid, uint64_t *bytes)
{
    return tree_sum(r, pid, statm_rss, bytes);
}

int rapt__proc_tree_cpu(const rapt__root *r, pid_t pid, uint64_t *ns)
{
    uint64_t ticks;
    int rc = tree_sum(r, pid, stat_cpu, &ticks);
    long hz = sysconf(_SC_CLK_TCK);
    *ns = rc == 0 ? ticks * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100)) : 0;
    return rc;
}
