/* os.h: the facade in front of everything Linux-specific.
 *
 * Core code (src/lib) includes this header and never a Linux-only one. The build compiles
 * the files in src/os/linux behind it. Three kinds of things live here:
 *   - a sysroot handle and a "slurp" reader, so every /proc and /sys read can be pointed at a
 *     fixture tree;
 *   - pure parsers over buffers for the kernel's file formats (declared here so unit tests can
 *     feed them bytes directly);
 *   - probes that fill parts of rapt_sys_info from a sysroot.
 * Later modules add process, cgroup-write and event-loop primitives here.
 */
#ifndef RAPT_OS_H
#define RAPT_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rapt/sys.h"

/* ---- sysroot and reading --------------------------------------------------------------- */

typedef struct rapt__fdcache rapt__fdcache;

typedef struct rapt__root {
    int dirfd;       /* O_PATH|O_DIRECTORY fd of the sysroot */
    char path[4096]; /* the sysroot as given ("/" by default), for messages */
    /* Optional (NULL unless set after open): files rapt__slurp keeps open and re-reads with
     * pread at offset 0 instead of opening each time. For a caller that reads the same files
     * many times a second (the monitor); kernel files regenerate on a read from offset 0. */
    rapt__fdcache *cache;
} rapt__root;

/* Opens sysroot (NULL/"" = "/"). Returns 0 or -errno (-ENOENT, -ENOTDIR, -EACCES). */
int rapt__root_open(rapt__root *r, const char *sysroot);
void rapt__root_close(rapt__root *r);

/* Reads the file at absolute path `path` (as the process would see it) under the root into
 * buf, NUL-terminated. Files larger than len - 1 are truncated (kernel files we read are small;
 * callers size buf for the largest they expect). Returns bytes read or -errno. */
ssize_t rapt__slurp(const rapt__root *r, const char *path, char *buf, size_t len);

/* True when path exists under the root. */
bool rapt__exists(const rapt__root *r, const char *path);

/* The cache behind rapt__root.cache: at most RAPT__FDCACHE_MAX files, kept in the order first
 * read. Paths that fail to open are not cached (a file may appear later). Not thread-safe: one
 * cache per thread of use. */
#define RAPT__FDCACHE_MAX 64
struct rapt__fdcache {
    size_t n;
    struct {
        int fd;
        char path[RAPT_SYS_WHERE_MAX + 64];
    } e[RAPT__FDCACHE_MAX];
};
void rapt__fdcache_init(rapt__fdcache *c);
void rapt__fdcache_close(rapt__fdcache *c); /* closes every kept fd */

/* ---- pure parsers ------------------------------------------------------------------------ */

/* /proc/meminfo: values in bytes; *_ok tell which lines were present and valid. */
typedef struct rapt__meminfo {
    uint64_t total, free, available, buffers, cached, swap_total, swap_free;
    bool total_ok, free_ok, available_ok, buffers_ok, cached_ok, swap_total_ok, swap_free_ok;
} rapt__meminfo;
int rapt__parse_meminfo(const char *buf, rapt__meminfo *out);

/* A CPU list such as "0-3,8,10-11\n": count of CPUs. Returns 0 or -EINVAL. */
int rapt__parse_cpulist(const char *buf, size_t len, unsigned *count);

/* The value of "Key:" in a /proc/<pid>/status-like buffer, into [*val, *val+*len).
 * Returns 0 or -ENOENT. */
int rapt__find_status_field(const char *buf, const char *key, const char **val, size_t *len);

/* The soft limit of the row named `name` (e.g. "Max address space") in /proc/<pid>/limits.
 * *unlimited is set for "unlimited". Returns 0, -ENOENT or -EINVAL. */
int rapt__parse_limits(const char *buf, const char *name, uint64_t *soft, bool *unlimited);

/* One line of /proc/self/cgroup. */
typedef struct rapt__cgline {
    unsigned hier;    /* hierarchy id (0 for v2) */
    const char *ctrl; /* controller list, not NUL-terminated */
    size_t ctrl_len;
    const char *path; /* cgroup path, not NUL-terminated */
    size_t path_len;
} rapt__cgline;

/* Finds the line of /proc/self/cgroup for a v1 controller (e.g. "memory"), or with ctrl NULL
 * the v2 line ("0::/..."). Returns 0, -ENOENT or -EINVAL (malformed file). */
int rapt__parse_proc_cgroup(const char *buf, const char *ctrl, rapt__cgline *out);

/* A cgroup mount from /proc/self/mountinfo. */
typedef struct rapt__cgmount {
    char root[1024];  /* the path inside the hierarchy this mount shows (field 4) */
    char point[1024]; /* mount point, octal escapes decoded */
} rapt__cgmount;

/* Finds the v1 mount carrying controller ctrl, or with ctrl NULL the cgroup2 mount.
 * Returns 0, -ENOENT or -EINVAL. */
int rapt__parse_mountinfo(const char *buf, const char *ctrl, rapt__cgmount *out);

/* v2 cpu.max: "max 100000" -> *unlimited; "50000 100000" -> quota/period (both > 0). */
int rapt__parse_cpu_max(const char *buf, uint64_t *quota, uint64_t *period, bool *unlimited);

/* A memory limit file: v2 memory.max/high ("max" or bytes) or v1 limit_in_bytes (bytes; values
 * at or above 2^62 are the "unlimited" sentinel, whatever the page size). */
int rapt__parse_mem_limit(const char *buf, uint64_t *bytes, bool *unlimited);

/* A single unsigned or signed number with optional trailing newline. */
int rapt__parse_u64_line(const char *buf, uint64_t *out);
int rapt__parse_i64_line(const char *buf, int64_t *out);

/* The value of `key` in a "key value\n" file (memory.stat, cpu.stat, memory.events).
 * Returns 0, -ENOENT or -EINVAL. */
int rapt__parse_kv(const char *buf, const char *key, uint64_t *out);

/* A PSI file (/proc/pressure/x or x.pressure). Returns 0 or -EINVAL; fills some and, when
 * present, full. */
int rapt__parse_psi(const char *buf, rapt_psi_res *out);

/* Setters for rapt_qty shared by the probes. */
void rapt__qty_unknown(rapt_qty *q, const char *where, const char *why);
void rapt__qty_known(rapt_qty *q, const char *where, uint64_t v);
void rapt__qty_unlimited(rapt_qty *q, const char *where);
void rapt__qty_read_failed(rapt_qty *q, const char *where, ssize_t err);

/* ---- probes ----------------------------------------------------------------------------- */

/* What rapt_sys_refresh() does, on a root the caller keeps open (possibly with a cache). */
void rapt__sys_refresh_at(const rapt__root *r, rapt_sys_info *info);

/* Each fills its part of *info and never fails: what it cannot read stays unknown with a
 * reason. They expect *info zeroed (or filled by an earlier probe of the same read). */
void rapt__probe_cgroups(const rapt__root *r, rapt_sys_info *info);
void rapt__probe_cpu(const rapt__root *r, rapt_sys_info *info);         /* online CPUs, affinity */
void rapt__probe_cpu_quota(const rapt__root *r, rapt_sys_info *info);   /* after cgroups */
void rapt__probe_host_memory(const rapt__root *r, rapt_sys_info *info); /* meminfo, rlimits */
void rapt__probe_memory(const rapt__root *r, rapt_sys_info *info); /* cgroup side; after cgroups */
void rapt__probe_psi(const rapt__root *r, rapt_sys_info *info);    /* needs cgroups probed */

/* ---- monitor: kept-open files and counter readers (src/os/linux/sample.c) --------------------
 * The monitor samples the same few files up to ten times a second, so it keeps them open and
 * re-reads them with pread() at offset 0: procfs, sysfs and cgroupfs files are generated by the
 * kernel on a read from offset 0, so the content is fresh while the path walk, permission check
 * and file allocation of open() are paid once. */

typedef struct rapt__kfile {
    int fd; /* -1 when closed */
} rapt__kfile;

/* Opens `path` (absolute as the process sees it) under the root, O_RDONLY|O_CLOEXEC.
 * Returns 0 or -errno; on error f->fd is -1. */
int rapt__kfile_open(rapt__kfile *f, const rapt__root *r, const char *path);
/* Re-reads the whole file from offset 0 into buf, NUL-terminated, truncated to len - 1.
 * Returns bytes read or -errno (-ESRCH once a /proc/<pid> file's process is gone). */
ssize_t rapt__kfile_read(const rapt__kfile *f, char *buf, size_t len);
void rapt__kfile_close(rapt__kfile *f);

/* The "cpu " line of /proc/stat, in clock ticks. Fields missing on old kernels stay 0. */
typedef struct rapt__cpu_times {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
} rapt__cpu_times;
int rapt__parse_proc_stat(const char *buf, rapt__cpu_times *out);

/* A named pair of cumulative byte counters: a disk (read, written) or an interface
 * (received, transmitted). */
#define RAPT__DEVNAME_MAX 32
typedef struct rapt__devstat {
    char name[RAPT__DEVNAME_MAX];
    uint64_t a, b;
} rapt__devstat;

/* One line of /proc/diskstats: the device name and bytes read and written (sectors are 512
 * bytes in this file whatever the device's sector size). Returns 0 or -EINVAL. */
int rapt__parse_diskstats_line(const char *line, size_t len, rapt__devstat *out);
/* One line of /proc/net/dev: interface, bytes received and transmitted. Returns 0, or -EINVAL
 * for a header or malformed line. */
int rapt__parse_netdev_line(const char *line, size_t len, rapt__devstat *out);

/* Reads /proc/diskstats through a kept-open file and keeps the whole physical disks: devices with
 * a /sys/block/<name>/device link. Partitions (not in /sys/block) would count their disk's bytes
 * twice, and virtual devices (loop, zram, dm, md) pass their I/O on to a physical disk or never
 * reach one. The verdict per name is cached, so sysfs is consulted once per device. */
#define RAPT__DISKS_MAX 64
typedef struct rapt__diskreader {
    rapt__kfile file;
    const rapt__root *root; /* borrowed for the reader's life */
    struct {
        char name[RAPT__DEVNAME_MAX];
        bool physical;
    } seen[RAPT__DISKS_MAX * 4];
    size_t nseen;
} rapt__diskreader;
int rapt__disks_open(rapt__diskreader *d, const rapt__root *r);
/* Fills out[0..*n) with the physical disks (at most max). Returns 0 or -errno. */
int rapt__disks_read(rapt__diskreader *d, char *buf, size_t len, rapt__devstat *out, size_t max,
                     size_t *n);
void rapt__disks_close(rapt__diskreader *d);

/* Reads /proc/net/dev through a kept-open file, every interface but loopback (its traffic never
 * leaves the machine). Returns 0 or -errno. */
int rapt__netdev_read(const rapt__kfile *f, char *buf, size_t len, rapt__devstat *out, size_t max,
                      size_t *n);

/* /proc/<pid>/stat, the fields the monitor uses. Times in clock ticks, rss in pages. */
typedef struct rapt__pidstat {
    pid_t pid;
    char state;
    pid_t ppid, pgrp;
    uint64_t utime, stime, cutime, cstime;
    uint64_t starttime;
    uint64_t rss_pages;
} rapt__pidstat;
/* Parses a /proc/<pid>/stat buffer. The command name may hold spaces and ')', so the fields
 * are counted from the last ')'. Returns 0 or -EINVAL. */
int rapt__parse_pid_stat(const char *buf, rapt__pidstat *out);

/* Opens /proc/<pid>/stat under the root as a kept-open file. Returns 0 or -errno. */
int rapt__pid_stat_open(rapt__kfile *f, const rapt__root *r, pid_t pid);

/* Walks the numeric entries of /proc under the root (one per process, threads excluded).
 * The directory stream is allocated once by open and rewound by each walk. */
typedef struct rapt__procscan {
    void *dir; /* DIR *, opaque here so os.h needs no <dirent.h> */
} rapt__procscan;
int rapt__procscan_open(rapt__procscan *s, const rapt__root *r);
/* Starts a walk from the beginning. */
void rapt__procscan_rewind(rapt__procscan *s);
/* The next pid of the walk: 1, or 0 at the end. */
int rapt__procscan_next(rapt__procscan *s, pid_t *pid);
void rapt__procscan_close(rapt__procscan *s);

/* The directory of controller ctrl ("memory", "cpuacct", "cpu") for this process: the v1
 * hierarchy that carries it, else the v2 directory when its cgroup.controllers lists it.
 * Returns the version found (RAPT_CGROUP_NONE with dir "" when none). Implemented in cgroup.c,
 * next to the rules it shares with the sys probes. */
rapt_cgroup_version rapt__cgroup_locate(const rapt__root *r, const char *ctrl, char *dir, size_t n);

/* The mount point of the v1 hierarchy carrying ctrl, or with ctrl NULL of cgroup2, from
 * /proc/self/mountinfo under the root. Returns 0, -ENOENT or -errno. */
int rapt__cgroup_mount_point(const rapt__root *r, const char *ctrl, char *point, size_t n);
/* ---- memory and threads (src/os/linux/mem.c, thread.c) --------------------------------------
 * What the in-process modules (arena, pool, objpool) need from the kernel. */

/* Maps `len` bytes of private anonymous memory, readable and writable, without reserving swap
 * or touching pages (so resident memory grows only with use). *map and *map_len receive what to
 * pass to rapt__os_unmap (the length rounded up to pages). Returns 0 or -errno. */
int rapt__os_map(size_t len, void **map, size_t *map_len);
void rapt__os_unmap(void *map, size_t map_len);

/* Gives the whole pages inside [p, p+len) back to the kernel; they read as zero afterwards.
 * Partial pages at either end are left alone. */
void rapt__os_release_pages(void *p, size_t len);

/* Names the calling thread (truncated to the kernel's 15 characters); failures are ignored:
 * a name is a debugging aid. */
void rapt__os_thread_name(const char *name);
/* ---- processes, the event loop and per-slot cgroups (the runner, `rapt run`) ---------- */

#include <signal.h>

/* Spawning. A rapt__spawner owns the stack the child runs on between clone() and exec (the
 * parent is suspended meanwhile, CLONE_VFORK, so one stack serves every spawn). */
typedef struct rapt__spawner {
    void *stack;
    size_t stack_size;
    bool pidfd;     /* the kernel returns a pidfd with the child (CLONE_PIDFD, Linux 5.2+) */
    bool shared_vm; /* the child really shares rapt's memory until exec (probed at init) */
    pid_t self;
} rapt__spawner;

/* Returns 0 or -errno (-ENOMEM). Free with rapt__spawner_free(). Not thread-safe. */
int rapt__spawner_init(rapt__spawner *sp);
void rapt__spawner_free(rapt__spawner *sp);

typedef struct rapt__spawn_req {
    const char *path;      /* the program: a path with a '/' (no PATH search here) */
    char *const *argv;     /* NULL-terminated; borrowed for the call */
    char *const *envp;     /* NULL-terminated; borrowed for the call */
    int fd[3];             /* installed as the child's 0, 1, 2; -1 keeps rapt's own */
    int cgroup_procs;      /* -1, or an fd of a cgroup.procs file the child joins before exec */
    int pdeathsig;         /* 0, or the signal the child gets if rapt dies first */
    const sigset_t *reset; /* signals the child sets back to SIG_DFL before exec */
    const sigset_t *mask;  /* the signal mask the program starts with */
} rapt__spawn_req;

typedef struct rapt__spawn_res {
    pid_t pid;        /* the child, the leader of a new process group (pgid == pid) */
    int pidfd;        /* a pidfd for it (O_CLOEXEC), or -1 when the kernel has none */
    int exec_errno;   /* nonzero: exec failed; the child has exited 127 and been reaped */
    int cgroup_errno; /* nonzero: joining the cgroup failed; the job runs outside it */
} rapt__spawn_res;

/* Starts req->path in a new process group: signals reset, cgroup joined, fds installed, the
 * mask restored, then execve. Only async-signal-safe calls happen in the child, which shares
 * rapt's memory until it execs. Returns 0 (see res for exec and cgroup failures) or -errno
 * when no process could be made (-EAGAIN for RLIMIT_NPROC, -EMFILE, -ENOMEM). */
int rapt__spawn(rapt__spawner *sp, const rapt__spawn_req *req, rapt__spawn_res *res);

/* How a reaped process ended, with the resources of it and its waited-for descendants. */
typedef struct rapt__exit {
    bool exited; /* exited (code valid) rather than killed (sig valid) */
    int code, sig;
    bool core;
    uint64_t user_ns, sys_ns;
    uint64_t maxrss; /* bytes (ru_maxrss): the largest single process, see docs/run.md */
} rapt__exit;

/* Reaps pid if it has ended: 1 with *out filled, 0 when it is still running, -errno. When
 * shell_comm is given and the process ended with status 129..192 while still being that
 * program (it did not exec something else), *from_shell is set: the caller reads 128+n as
 * signal n (see docs/run.md, "signals under sh -c"). */
int rapt__reap(const rapt__root *r, pid_t pid, const char *shell_comm, rapt__exit *out,
               bool *from_shell);

/* Sends sig to the process group pgid. 0, or -errno (-ESRCH: the group is empty). */
int rapt__killpg(pid_t pgid, int sig);

/* True when any process is left in the group. */
bool rapt__pgrp_alive(pid_t pgid);

/* The event loop: epoll over fds, one signalfd, one timerfd. */
typedef struct rapt__loop {
    int epfd, sigfd, timerfd;
    uint64_t armed; /* the deadline the timer is set to (monotonic ns), 0 = disarmed */
} rapt__loop;

#define RAPT__LOOP_SIGNAL UINT64_MAX       /* tag of the signalfd's events */
#define RAPT__LOOP_TIMER  (UINT64_MAX - 1) /* tag of the timerfd's events */
#define RAPT__LOOP_IN     1u               /* readable */
#define RAPT__LOOP_HUP    2u               /* hang-up or error: read to find out */
#define RAPT__LOOP_PRI    4u               /* a priority event (PSI trigger fired) */

typedef struct rapt__loop_ev {
    uint64_t tag;
    unsigned flags;
} rapt__loop_ev;

/* Opens the loop; sigs (blocked by the caller beforehand) arrive through the signalfd.
 * Returns 0 or -errno. */
int rapt__loop_open(rapt__loop *l, const sigset_t *sigs);
void rapt__loop_close(rapt__loop *l);
/* Watches fd for input (level-triggered) under tag. 0 or -errno. */
int rapt__loop_add(rapt__loop *l, int fd, uint64_t tag);
/* Watches fd for priority events (EPOLLPRI: a PSI trigger) under tag. 0 or -errno. */
int rapt__loop_add_pri(rapt__loop *l, int fd, uint64_t tag);
int rapt__loop_del(rapt__loop *l, int fd);
/* Sets the one timer to an absolute CLOCK_MONOTONIC deadline in ns (0 disarms); a no-op when
 * the deadline did not change. 0 or -errno. */
int rapt__loop_arm(rapt__loop *l, uint64_t deadline_ns);
/* Waits for events (forever, or until the timer). Returns the number filled (0 after EINTR). */
int rapt__loop_wait(rapt__loop *l, rapt__loop_ev *evs, int max);
/* Reads one pending signal: 1 with *signo set, 0 when none is pending. */
int rapt__loop_signal(rapt__loop *l, int *signo);
/* Clears the timer's expiry after RAPT__LOOP_TIMER fired. */
void rapt__loop_timer_ack(rapt__loop *l);

/* Opens a PSI trigger on path (e.g. /proc/pressure/memory or a v2 cgroup's memory.pressure):
 * the fd signals EPOLLPRI when tasks stalled on the resource ("some") for stall_us within any
 * window_us (at most once per window). Returns the fd (O_CLOEXEC) or -errno (-ENOENT without
 * PSI, -EINVAL or -EPERM where the kernel refuses the trigger). */
int rapt__psi_trigger_open(const char *path, unsigned stall_us, unsigned window_us);

/* Per-slot memory cgroups: <rapt's memory cgroup>/rapt-<pid>/slot-<n>. */
typedef struct rapt__jobcg rapt__jobcg;

typedef struct rapt__jobcg_opts {
    const rapt__root *root;  /* where /sys is (tests may point elsewhere) */
    const rapt_sys_info *si; /* rapt's memory cgroup: version and directory */
    pid_t self;              /* names the run's directory */
    rapt_log_fn log;
    void *log_ud;
} rapt__jobcg_opts;

/* Creates the run's cgroup. Returns 0, or -errno / RAPT_ENOCGROUP with a reason in why when
 * rapt cannot measure jobs this way here (then the runner samples /proc). */
int rapt__jobcg_open(rapt__jobcg **out, const rapt__jobcg_opts *o, char *why, size_t whylen);
/* "cgroup-v1" or "cgroup-v2". */
const char *rapt__jobcg_method(const rapt__jobcg *cg);
/* Readies slot n (1-based) for a job: creates it on first use, resets its peak. *procs_fd is
 * the cgroup.procs fd the child writes to (owned by cg). Returns 0 or -errno. */
int rapt__jobcg_prepare(rapt__jobcg *cg, unsigned slot, int *procs_fd);
/* The slot's peak since prepare, less what was charged before the job started. */
int rapt__jobcg_peak(rapt__jobcg *cg, unsigned slot, uint64_t *bytes);
/* The slot's memory now, less the same baseline. */
int rapt__jobcg_current(rapt__jobcg *cg, unsigned slot, uint64_t *bytes);
/* The slot's count of kernel OOM kills so far (v1 memory.oom_control oom_kill, v2
 * memory.events oom_kill). */
int rapt__jobcg_oom_kills(rapt__jobcg *cg, unsigned slot, uint64_t *n);
/* Sends sig to every process in slot n, or in every slot when n == 0. Returns how many
 * processes were signalled. */
int rapt__jobcg_kill(rapt__jobcg *cg, unsigned slot, int sig);
/* Kills what is left in the slots, removes the run's cgroups and frees cg. NULL is fine. */
/* Sets every slot's memory limit (--mem-limit-per-job), now and for slots made later.
 * Returns 0 or -errno. */
int rapt__jobcg_set_ceiling(rapt__jobcg *cg, uint64_t bytes);
/* OOM kills counted in rapt's own memory cgroup (its jobs' slots are below it). */
int rapt__jobcg_container_ooms(rapt__jobcg *cg, uint64_t *n);
void rapt__jobcg_close(rapt__jobcg *cg);
/* Removes the cgroups of earlier runs whose rapt is gone (rapt-<pid> with no such process),
 * killing what is left in them first. *runs and *killed count what was cleaned. 0 or -errno. */
int rapt__jobcg_reap_stale(const rapt__jobcg_opts *o, unsigned *runs, unsigned *killed);

/* The resident memory of a process and its descendants now, from /proc (the fallback when
 * no cgroup measures jobs). Returns 0 or -errno (-ESRCH when pid is gone). */
int rapt__proc_tree_rss(const rapt__root *r, pid_t pid, uint64_t *bytes);

/* The CPU time (user + system, ns) of a process and its descendants, including the children
 * each has waited for, from /proc. Returns 0 or -errno (-ESRCH when pid is gone). */
int rapt__proc_tree_cpu(const rapt__root *r, pid_t pid, uint64_t *ns);

#endif /* RAPT_OS_H */
