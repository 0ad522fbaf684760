/* jobcg.c: one memory cgroup per job slot, to measure each job's whole process tree.
 *
 * Owns <rapt's memory cgroup>/rapt-<pid>/ and its slot-<n> children (and, on cgroup v2, the
 * "supervisor" leaf rapt may move itself into). A job joins its slot's cgroup before it execs
 * (the child writes "0" to tasks on v1, cgroup.procs on v2), so every process it starts -
 * grandchildren and orphans included - is charged there, and nothing rapt allocated before the exec
 * is.
 *
 * Why slots and not one cgroup per job: creating and removing a memory cgroup per job costs
 * more than the job on the dispatch path, and removed memory cgroups that still own page
 * cache linger in the kernel ("zombie" memcgs) and exhaust its 64k cgroup ids over a long run.
 * A slot is reused: before each job its peak is reset (v1: write 0 to max_usage_in_bytes, which
 * resets it to the current usage; v2: memory.peak's per-fd reset, Linux 6.12+) and the usage
 * at that moment is remembered as the baseline, so page cache an earlier job left in the slot
 * is not counted again. A job's peak is therefore max - baseline.
 *
 * cgroup v2 forbids processes in a cgroup that distributes memory to children ("no internal
 * processes"). When rapt's own cgroup does not distribute memory yet and rapt is alone in it
 * (a delegated scope, e.g. `systemd-run --user --scope -p Delegate=yes rapt run ...`), rapt
 * moves itself into rapt-<pid>/supervisor and enables the controller; if other processes share
 * its cgroup it does not move them and falls back to sampling /proc.
 *
 * Every path is opened relative to the sysroot, like the rest of the OS layer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"

typedef struct cgslot {
    int dirfd; /* O_PATH directory, -1 until created */
    int procs; /* v1 tasks / v2 cgroup.procs, write-only: the child writes "0" */
    int peak;  /* v1 memory.max_usage_in_bytes / v2 memory.peak, read-write */
    int cur;   /* v1 memory.usage_in_bytes / v2 memory.current, opened on first use */
    uint64_t baseline;
} cgslot;

struct rapt__jobcg {
    const rapt__root *root;
    rapt_log_fn log;
    void *log_ud;
    int version;
    pid_t self;
    char name[32];
    int parentfd; /* rapt's memory cgroup */
    int runfd;    /* rapt-<pid> */
    bool moved_self;
    cgslot *slots;
    unsigned nslots;
    uint64_t ceiling; /* --mem-limit-per-job: every slot's memory limit; 0 for none */
};

static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

/* Reads a small file under dirfd into buf. Returns bytes or -errno. */
static ssize_t read_at(int dirfd, const char *name, char *buf, size_t len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = '\0';
    return n;
}

static int write_at(int dirfd, const char *name, const char *s)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = strlen(s);
    ssize_t w = write(fd, s, n);
    int e = errno;
    close(fd);
    return w == (ssize_t)n ? 0 : -(w < 0 ? e : EIO);
}

static int pread_u64(int fd, uint64_t *v)
{
    char buf[64];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return rapt__parse_u64_line(buf, v) < 0 ? -EINVAL : 0;
}

/* True when the space-separated list file `name` under dirfd contains word. */
static bool list_has(int dirfd, const char *name, const char *word)
{
    char buf[1024];
    if (read_at(dirfd, name, buf, sizeof(buf)) < 0)
        return false;
    for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        if (strcmp(t, word) == 0)
            return true;
    return false;
}

/* Sends sig to every pid listed in <dirfd>/cgroup.procs; returns how many, or -errno. */
static int kill_listed(int dirfd, int sig)
{
    int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return -ENOMEM;
    }
    int count = 0;
    char line[32];
    while (fgets(line, sizeof(line), f)) {
        int64_t pid;
        if (rapt__parse_i64_line(line, &pid) == 0 && pid > 1 && kill((pid_t)pid, sig) == 0)
            count++;
    }
    fclose(f);
    return count;
}

/* Kills everything in a cgroup directory and waits (briefly: this only runs at start and at
 * exit) until it is empty, then removes it. Returns how many processes were killed. */
static int empty_and_remove(int parentfd, const char *name)
{
    int dfd = openat(parentfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    int killed = 0;
    for (int round = 0; round < 200; round++) {
        int n = kill_listed(dfd, SIGKILL);
        if (n <= 0)
            break;
        killed += round == 0 ? n : 0;
        /* SIGKILL is asynchronous: the processes leave the cgroup when they are gone. */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    close(dfd);
    if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno == EBUSY) {
        /* A dying process can still be listed for a moment after its last kill. */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        unlinkat(parentfd, name, AT_REMOVEDIR);
    }
    return killed;
}

/* Removes a run directory (rapt-<pid>) and every cgroup below it. */
static int remove_run(int parentfd, const char *name)
{
    int killed = 0;
    int dfd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return 0;
    }
    int runfd = openat(parentfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.' && runfd >= 0)
            killed += empty_and_remove(runfd, e->d_name);
    }
    closedir(d);
    if (runfd >= 0) {
        /* The run directory itself has no processes unless an old rapt sat in it. */
        killed += kill_listed(runfd, SIGKILL) > 0;
        close(runfd);
    }
    unlinkat(parentfd, name, AT_REMOVEDIR);
    return killed;
}

static int open_parent(const rapt__jobcg_opts *o, int *version, int *fd, char *why, size_t wl)
{
    const rapt_sys_cgroup *c = &o->si->cgroup;
    if (c->memory_version == RAPT_CGROUP_NONE || !c->memory_dir[0]) {
        rapt__bufprintf(why, wl, "no memory cgroup found for rapt%s%s", c->why[0] ? ": " : "",
                        c->why);
        return RAPT_ENOCGROUP;
    }
    *version = c->memory_version == RAPT_CGROUP_V2 ? 2 : 1;
    *fd = openat(o->root->dirfd, rel(c->memory_dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        int e = errno;
        rapt__bufprintf(why, wl, "%s: %s", c->memory_dir, strerror(e));
        return -e;
    }
    return 0;
}

int rapt__jobcg_reap_stale(const rapt__jobcg_opts *o, unsigned *runs, unsigned *killed)
{
    *runs = *killed = 0;
    int version, pfd;
    char why[256];
    int r = open_parent(o, &version, &pfd, why, sizeof(why));
    if (r < 0)
        return r;
    int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        r = -errno;
        if (dfd >= 0)
            close(dfd);
        close(pfd);
        return r;
    }
    for (struct dirent *e; (e = readdir(d));) {
        int64_t pid;
        if (strncmp(e->d_name, "rapt-", 5) != 0 ||
            rapt__parse_i64(e->d_name + 5, SIZE_MAX, &pid) < 0 || pid <= 1 || pid > INT32_MAX)
            continue;
        /* A live rapt owns its directory. Our own pid here can only be left from a dead
         * process that had our pid before: we have not created anything yet. */
        if ((pid_t)pid != o->self && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue;
        int k = remove_run(pfd, e->d_name);
        (*runs)++;
        *killed += (unsigned)k;
        rapt__logf(
            o->log, o->log_ud, RAPT_LOG_INFO,
            "removed the cgroups of an earlier run (pid %lld) and killed %d process%s left in "
            "them",
            (long long)pid, k, k == 1 ? "" : "es");
    }
    closedir(d);
    close(pfd);
    return 0;
}

/* v2: makes rapt-<pid> able to give its children a memory controller. */
static int v2_enable(rapt__jobcg *cg, char *why, size_t wl)
{
    if (!list_has(cg->parentfd, "cgroup.controllers", "memory")) {
        rapt__bufprintf(why, wl, "the memory controller is not delegated to rapt's cgroup (v2)");
        return RAPT_ENOCGROUP;
    }
    if (!list_has(cg->parentfd, "cgroup.subtree_control", "memory")) {
        /* rapt must leave its cgroup before that cgroup may distribute memory. Only move when
         * rapt is alone in it: other processes are not ours to move. */
        char buf[4096];
        if (read_at(cg->parentfd, "cgroup.procs", buf, sizeof(buf)) < 0) {
            rapt__bufprintf(why, wl, "cannot read rapt's cgroup.procs (v2)");
            return RAPT_ENOCGROUP;
        }
        int64_t pid;
        for (char *save = NULL, *t = strtok_r(buf, "\n", &save); t;
             t = strtok_r(NULL, "\n", &save)) {
            if (rapt__parse_i64(t, SIZE_MAX, &pid) == 0 && (pid_t)pid != cg->self) {
                rapt__bufprintf(why, wl,
                                "other processes share rapt's cgroup (v2); start rapt in a "
                                "delegated cgroup of its own to measure jobs by cgroup");
                return RAPT_ENOCGROUP;
            }
        }
        char self[32];
        snprintf(self, sizeof(self), "%d", (int)cg->self);
        int sup = mkdirat(cg->runfd, "supervisor", 0755) == 0 || errno == EEXIST
                      ? openat(cg->runfd, "supervisor", O_PATH | O_DIRECTORY | O_CLOEXEC)
                      : -1;
        if (sup < 0 || write_at(sup, "cgroup.procs", self) < 0) {
            if (sup >= 0)
                close(sup);
            rapt__bufprintf(why, wl, "cannot move rapt into its own leaf cgroup (v2)");
            return RAPT_ENOCGROUP;
        }
        close(sup);
        cg->moved_self = true;
        if (write_at(cg->parentfd, "cgroup.subtree_control", "+memory") < 0) {
            /* Go back where we were: the parent still has no controllers to distribute, so it
             * accepts processes. */
            if (write_at(cg->parentfd, "cgroup.procs", self) == 0)
                cg->moved_self = false;
            rapt__bufprintf(why, wl, "cannot enable the memory controller below rapt (v2)");
            return RAPT_ENOCGROUP;
        }
    }
    if (write_at(cg->runfd, "cgroup.subtree_control", "+memory") < 0) {
        rapt__bufprintf(why, wl, "cannot enable the memory controller for job slots (v2)");
        return RAPT_ENOCGROUP;
    }
    return 0;
}

int rapt__jobcg_open(rapt__jobcg **out, const rapt__jobcg_opts *o, char *why, size_t wl)
{
    *out = NULL;
    rapt__jobcg *cg = calloc(1, sizeof(*cg));
    if (!cg)
        return -ENOMEM;
    cg->root = o->root;
    cg->log = o->log;
    cg->log_ud = o->log_ud;
    cg->self = o->self;
    cg->parentfd = cg->runfd = -1;
    snprintf(cg->name, sizeof(cg->name), "rapt-%d", (int)o->self);
    int r = open_parent(o, &cg->version, &cg->parentfd, why, wl);
    if (r < 0)
        goto fail;
    if (mkdirat(cg->parentfd, cg->name, 0755) < 0) {
        r = -errno;
        rapt__bufprintf(why, wl, "cannot create %s/%s: %s", o->si->cgroup.memory_dir, cg->name,
                        strerror(-r));
        goto fail;
    }
    cg->runfd = openat(cg->parentfd, cg->name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cg->runfd < 0) {
        r = -errno;
        rapt__bufprintf(why, wl, "cannot open %s: %s", cg->name, strerror(-r));
        goto fail;
    }
    if (cg->version == 2 && (r = v2_enable(cg, why, wl)) < 0)
        goto fail;
    /* Prove the whole path works on slot 1 now, so a kernel that cannot reset peaks (v2
     * before 6.12) or a read-only file is found before any job runs. */
    int procs;
    if ((r = rapt__jobcg_prepare(cg, 1, &procs)) < 0) {
        rapt__bufprintf(why, wl, "cannot use a slot cgroup (%s): %s",
                        cg->version == 2 ? "v2 memory.peak needs Linux 6.12 to be reset"
                                         : "v1 memory.max_usage_in_bytes",
                        rapt_strerror(r));
        goto fail;
    }
    *out = cg;
    return 0;
fail:
    rapt__jobcg_close(cg);
    return r;
}

const char *rapt__jobcg_method(const rapt__jobcg *cg)
{
    return cg->version == 2 ? "cgroup-v2" : "cgroup-v1";
}

/* Writes the per-job ceiling into a slot: v1 memory.limit_in_bytes, v2 memory.max. A job
 * that goes past it is OOM-killed inside its own slot, and nothing else is touched. */
static int write_ceiling(rapt__jobcg *cg, cgslot *s)
{
    char num[32];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)cg->ceiling);
    return write_at(s->dirfd, cg->version == 2 ? "memory.max" : "memory.limit_in_bytes", num);
}

static int slot_make(rapt__jobcg *cg, unsigned n)
{
    if (n > cg->nslots) {
        /* Grow the array to cover slot n; new entries start closed. */
        unsigned nn = n < 8 ? 8 : n * 2;
        cgslot *ns = realloc(cg->slots, nn * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        for (unsigned i = cg->nslots; i < nn; i++)
            ns[i] = (cgslot){.dirfd = -1, .procs = -1, .peak = -1, .cur = -1};
        cg->slots = ns;
        cg->nslots = nn;
    }
    cgslot *s = &cg->slots[n - 1];
    if (s->dirfd >= 0)
        return 0;
    char name[32];
    snprintf(name, sizeof(name), "slot-%u", n);
    if (mkdirat(cg->runfd, name, 0755) < 0 && errno != EEXIST)
        return -errno;
    /* All three fds or none: a slot left half-open (EMFILE under `ulimit -n`) would look
     * ready next time. */
    int dfd = openat(cg->runfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    /* v1: the child writes to "tasks", which moves the writing thread; a freshly cloned child
     * is one thread, so that moves the process, and what it starts later follows. It costs a
     * third of a cgroup.procs write (9 against 24 us here), which takes the whole-thread-group
     * path. v2 has no per-thread file outside threaded subtrees: cgroup.procs. */
    int procs = dfd >= 0
                    ? openat(dfd, cg->version == 2 ? "cgroup.procs" : "tasks", O_WRONLY | O_CLOEXEC)
                    : -1;
    int peak = procs >= 0
                   ? openat(dfd, cg->version == 2 ? "memory.peak" : "memory.max_usage_in_bytes",
                            O_RDWR | O_CLOEXEC)
                   : -1;
    if (peak < 0) {
        int e = errno;
        if (procs >= 0)
            close(procs);
        if (dfd >= 0)
            close(dfd);
        return -e;
    }
    s->dirfd = dfd;
    s->procs = procs;
    s->peak = peak;
    if (cg->ceiling) {
        int r = write_ceiling(cg, s);
        if (r < 0)
            return r;
    }
    return 0;
}

int rapt__jobcg_prepare(rapt__jobcg *cg, unsigned slot, int *procs_fd)
{
    if (slot == 0)
        return -EINVAL;
    int r = slot_make(cg, slot);
    if (r < 0)
        return r;
    cgslot *s = &cg->slots[slot - 1];
    /* v1 resets the high-water mark to the current usage; v2 (6.12+) starts a fresh peak for
     * this fd. Either way, what the slot holds now is the baseline. */
    if (pwrite(s->peak, "0", 1, 0) != 1)
        return -errno;
    if ((r = pread_u64(s->peak, &s->baseline)) < 0)
        return r;
    *procs_fd = s->procs;
    return 0;
}

int rapt__jobcg_peak(rapt__jobcg *cg, unsigned slot, uint64_t *bytes)
{
    if (slot == 0 || slot > cg->nslots || cg->slots[slot - 1].peak < 0)
        return -EINVAL;
    cgslot *s = &cg->slots[slot - 1];
    uint64_t v = 0;
    int r = pread_u64(s->peak, &v);
    if (r < 0)
        return r;
    *bytes = rapt__sat_sub(v, s->baseline);
    return 0;
}

int rapt__jobcg_current(rapt__jobcg *cg, unsigned slot, uint64_t *bytes)
{
    if (slot == 0 || slot > cg->nslots || cg->slots[slot - 1].dirfd < 0)
        return -EINVAL;
    cgslot *s = &cg->slots[slot - 1];
    if (s->cur < 0) {
        s->cur = openat(s->dirfd, cg->version == 2 ? "memory.current" : "memory.usage_in_bytes",
                        O_RDONLY | O_CLOEXEC);
        if (s->cur < 0)
            return -errno;
    }
    uint64_t v = 0;
    int r = pread_u64(s->cur, &v);
    if (r < 0)
        return r;
    *bytes = rapt__sat_sub(v, s->baseline);
    return 0;
}

int rapt__jobcg_oom_kills(rapt__jobcg *cg, unsigned slot, uint64_t *n)
{
    if (slot == 0 || slot > cg->nslots || cg->slots[slot - 1].dirfd < 0)
        return -EINVAL;
    char buf[1024];
    ssize_t len =
        read_at(cg->slots[slot - 1].dirfd,
                cg->version == 2 ? "memory.events" : "memory.oom_control", buf, sizeof(buf));
    if (len < 0)
        return (int)len;
    return rapt__parse_kv(buf, "oom_kill", n);
}

int rapt__jobcg_kill(rapt__jobcg *cg, unsigned slot, int sig)
{
    int count = 0;
    for (unsigned i = 1; i <= cg->nslots; i++) {
        if ((slot == 0 || slot == i) && cg->slots[i - 1].dirfd >= 0) {
            int n = kill_listed(cg->slots[i - 1].dirfd, sig);
            if (n > 0)
                count += n;
        }
    }
    return count;
}

void rapt__jobcg_close(rapt__jobcg *cg)
{
    if (!cg)
        return;
    for (unsigned i = 0; i < cg->nslots; i++) {
        cgslot *s = &cg->slots[i];
        if (s->procs >= 0)
            close(s->procs);
        if (s->peak >= 0)
            close(s->peak);
        if (s->cur >= 0)
            close(s->cur);
        if (s->dirfd >= 0) {
            close(s->dirfd);
            char name[32];
            snprintf(name, sizeof(name), "slot-%u", i + 1);
            int k = empty_and_remove(cg->runfd, name);
            if (k > 0)
                rapt__logf(cg->log, cg->log_ud, RAPT_LOG_INFO,
                           "killed %d process%s left in job slot %u", k, k == 1 ? "" : "es", i + 1);
        }
    }
    free(cg->slots);
    if (cg->runfd >= 0)
        close(cg->runfd);
    /* With rapt inside rapt-<pid>/supervisor (v2) the directory stays until the next run's
     * stale-run cleanup; otherwise it goes now. */
    if (cg->parentfd >= 0 && !cg->moved_self) {
        int rfd = openat(cg->parentfd, cg->name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd >= 0) {
            unlinkat(rfd, "supervisor", AT_REMOVEDIR); /* an abandoned v2 move, if any */
            close(rfd);
        }
        unlinkat(cg->parentfd, cg->name, AT_REMOVEDIR);
    }
    if (cg->parentfd >= 0)
        close(cg->parentfd);
    free(cg);
}

int rapt__jobcg_set_ceiling(rapt__jobcg *cg, uint64_t bytes)
{
    cg->ceiling = bytes;
    for (unsigned i = 0; i < cg->nslots; i++) {
        if (cg->slots[i].dirfd >= 0) {
            int r = write_ceiling(cg, &cg->slots[i]);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int rapt__jobcg_container_ooms(rapt__jobcg *cg, uint64_t *n)
{
    char buf[1024];
    ssize_t len = read_at(cg->parentfd, cg->version == 2 ? "memory.events" : "memory.oom_control",
                          buf, sizeof(buf));
    if (len < 0)
        return (int)len;
    return rapt__parse_kv(buf, "oom_kill", n);
}
