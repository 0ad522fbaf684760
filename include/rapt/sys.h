/* rapt/sys.h: what the machine really offers this process.
 *
 * The sys module answers "how many CPUs and how much memory may I use here?" the way a
 * container, a cgroup, a cpuset or a SLURM allocation sees it, not the way the host does:
 *   - effective CPUs = min(affinity mask, the tightest cgroup CPU quota along the ancestry
 *     (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us), the SLURM allocation), rounded up,
 *     at least 1;
 *   - memory limit = min(MemTotal, the tightest cgroup limit along the ancestry (v2 memory.max,
 *     v1 memory.limit_in_bytes and hierarchical_memory_limit), RLIMIT_AS, RLIMIT_DATA, the SLURM
 *     allocation), with the file or variable that set it;
 *   - available = min(host MemAvailable, limit - usage + reclaimable) at every level that limits;
 *   - pressure (PSI) system-wide and for the process's cgroup v2 directory.
 *
 * Everything is read from files relative to an injectable sysroot (default "/"), so the same code
 * runs against fixture trees in tests. Nothing is forked. Anything missing, unreadable or
 * malformed becomes "unknown" with a reason; reading never fails because of file contents.
 */
#ifndef RAPT_SYS_H
#define RAPT_SYS_H

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RAPT_SYS_WHERE_MAX 256
#define RAPT_SYS_WHY_MAX   128

/* A quantity the machine may or may not tell us. */
typedef enum rapt_qty_state {
    RAPT_QTY_UNKNOWN = 0,   /* missing, unreadable or malformed: see why */
    RAPT_QTY_UNLIMITED = 1, /* present and explicitly unlimited ("max", the v1 sentinel, ...) */
    RAPT_QTY_KNOWN = 2      /* value holds it */
} rapt_qty_state;

typedef struct rapt_qty {
    rapt_qty_state state;
    uint64_t value;                 /* when state == RAPT_QTY_KNOWN */
    char where[RAPT_SYS_WHERE_MAX]; /* file (as the process sees it) or variable it came from */
    char why[RAPT_SYS_WHY_MAX];     /* when unknown: the reason */
} rapt_qty;

typedef enum rapt_cgroup_version {
    RAPT_CGROUP_NONE = 0,
    RAPT_CGROUP_V1 = 1,
    RAPT_CGROUP_V2 = 2
} rapt_cgroup_version;

/* What bounds a derived figure. */
typedef enum rapt_bound {
    RAPT_BOUND_UNKNOWN = 0,
    RAPT_BOUND_HOST,        /* online CPUs / MemTotal */
    RAPT_BOUND_AFFINITY,    /* sched affinity (cpuset, taskset) */
    RAPT_BOUND_CGROUP,      /* a cgroup limit or quota */
    RAPT_BOUND_CGROUP_HIER, /* v1 hierarchical_memory_limit (an ancestor we cannot see) */
    RAPT_BOUND_RLIMIT_AS,   /* RLIMIT_AS */
    RAPT_BOUND_RLIMIT_DATA, /* RLIMIT_DATA */
    RAPT_BOUND_SLURM        /* the SLURM allocation */
} rapt_bound;

/* Returns a static lower-case name for a bound ("cgroup", "slurm", ...). */
RAPT_API const char *rapt_bound_name(rapt_bound b);

typedef struct rapt_psi_line {
    bool known;
    double avg10, avg60, avg300; /* percent of wall time stalled */
    uint64_t total_us;
} rapt_psi_line;

typedef struct rapt_psi_res {
    bool known;         /* the file existed and parsed */
    rapt_psi_line some; /* at least one task stalled */
    rapt_psi_line full; /* all non-idle tasks stalled (not reported for cpu on older kernels) */
    char where[RAPT_SYS_WHERE_MAX];
    char why[RAPT_SYS_WHY_MAX];
} rapt_psi_res;

typedef struct rapt_psi {
    rapt_psi_res cpu, memory, io;
} rapt_psi;

typedef struct rapt_sys_cpu {
    rapt_qty online;      /* CPUs online (/sys/devices/system/cpu/online) */
    rapt_qty affinity;    /* CPUs in this process's affinity mask (Cpus_allowed_list) */
    rapt_qty quota_milli; /* tightest cgroup quota along the ancestry, in thousandths of a CPU */
    rapt_qty slurm;       /* CPUs of the SLURM allocation on this node */
    unsigned quota_cpus;  /* the quota rounded up to whole CPUs (0 when no quota) */
    unsigned effective;   /* what rapt uses: always >= 1 */
    rapt_bound effective_bound;
} rapt_sys_cpu;

typedef struct rapt_sys_memory {
    rapt_qty host_total;     /* MemTotal */
    rapt_qty host_available; /* MemAvailable (or MemFree + Buffers + Cached on old kernels) */
    rapt_qty swap_total, swap_free;
    rapt_qty cgroup_limit;       /* tightest v2 memory.max / v1 limit along the ancestry */
    rapt_qty cgroup_high;        /* tightest v2 memory.high (a throttle, reported apart) */
    rapt_qty cgroup_swap_limit;  /* v2 memory.swap.max, v1 memsw.limit - limit (leaf) */
    rapt_qty cgroup_usage;       /* usage of the cgroup whose limit binds (else the leaf) */
    rapt_qty cgroup_reclaimable; /* inactive file cache in that cgroup */
    rapt_qty cgroup_headroom;    /* min over limited levels of limit - usage + reclaimable */
    rapt_qty rlimit_as, rlimit_data;
    rapt_qty slurm; /* memory of the SLURM allocation on this node */
    /* Derived. */
    uint64_t limit;                       /* bytes; the binding limit */
    rapt_bound limit_bound;               /* what set it */
    char limit_where[RAPT_SYS_WHERE_MAX]; /* the file or variable that set it */
    uint64_t available;                   /* bytes this process can still use */
    bool available_known;
} rapt_sys_memory;

typedef struct rapt_sys_cgroup {
    rapt_cgroup_version memory_version;   /* hierarchy that holds the memory controller */
    char memory_path[RAPT_SYS_WHERE_MAX]; /* the process's cgroup in it, e.g. "/user.slice/x" */
    char memory_dir[RAPT_SYS_WHERE_MAX];  /* its directory, e.g. "/sys/fs/cgroup/memory/x" */
    rapt_cgroup_version cpu_version;
    char cpu_dir[RAPT_SYS_WHERE_MAX];
    char unified_dir[RAPT_SYS_WHERE_MAX]; /* the v2 directory, also on hybrid hosts ("" if none) */
    char why[RAPT_SYS_WHY_MAX];           /* why no cgroup was found, if so */
} rapt_sys_cgroup;

typedef struct rapt_sys_slurm {
    bool in_allocation; /* SLURM_JOB_ID is set */
    char job_id[64];
    char why[RAPT_SYS_WHY_MAX]; /* set when variables were present but unusable */
} rapt_sys_slurm;

/* How rapt sizes itself on this machine; thresholds are documented in docs/resources.md. */
typedef enum rapt_env_class {
    RAPT_ENV_CONSTRAINED = 0, /* 1 effective CPU, or a limit under 2 GiB */
    RAPT_ENV_SMALL = 1,       /* up to 4 CPUs, or under 8 GiB */
    RAPT_ENV_MEDIUM = 2,      /* up to 16 CPUs, or under 64 GiB */
    RAPT_ENV_LARGE = 3        /* more of both */
} rapt_env_class;

RAPT_API const char *rapt_env_class_name(rapt_env_class c);

/* The default fraction of the binding limit rapt lets jobs use (the rest is headroom). */
#define RAPT_SYS_DEFAULT_ETA 0.85

typedef struct rapt_sys_info {
    rapt_sys_cpu cpu;
    rapt_sys_memory mem;
    rapt_sys_cgroup cgroup;
    rapt_sys_slurm slurm;
    rapt_psi psi_system; /* /proc/pressure/{cpu,memory,io} */
    rapt_psi psi_cgroup; /* <cgroup v2 dir>/{cpu,memory,io}.pressure */
    rapt_env_class env_class;
    unsigned default_slots;  /* job slots rapt run would start with */
    uint64_t default_budget; /* memory budget in bytes at RAPT_SYS_DEFAULT_ETA */
} rapt_sys_info;

typedef struct rapt_sys_opts {
    /* Directory to read /proc and /sys under; NULL or "" means "/". Borrowed during the call. */
    const char *sysroot;
    /* Environment to read SLURM_* from (NULL-terminated "NAME=value"); NULL means the process
     * environment. Borrowed during the call. */
    char *const *envp;
} rapt_sys_opts;

/* Fills opts with the defaults (real root, process environment). */
RAPT_API void rapt_sys_opts_init(rapt_sys_opts *opts);

/* Reads everything into *out (caller-allocated; about 12 KiB). opts may be NULL for defaults.
 * Returns 0; -EINVAL for NULL out; -ENOTDIR / -ENOENT / -EACCES when the sysroot itself is not
 * a readable directory. Missing or malformed files are not errors: they leave the matching
 * quantities unknown with a reason. Thread-safe (no shared state); forks nothing. */
RAPT_API int rapt_sys_read(const rapt_sys_opts *opts, rapt_sys_info *out);

/* Re-reads only what changes from moment to moment (host MemAvailable, cgroup usage and
 * reclaimable cache, PSI) for an info that rapt_sys_read() filled, and recomputes available,
 * the default budget and the pressure figures. Cheap enough for a 10 Hz monitor tick.
 * Returns 0 or -EINVAL. Thread-safe as long as each info is used by one thread at a time. */
RAPT_API int rapt_sys_refresh(const rapt_sys_opts *opts, rapt_sys_info *info);

/* The memory budget rapt would use with headroom fraction eta (0 < eta <= 1):
 * max(0, available - (1 - eta) * limit), i.e. jobs may fill the limit up to eta of it, counting
 * what everything else in the container already uses. When available is unknown (nothing
 * measured usage) it is eta * limit. Returns 0 when the limit is unknown or eta is invalid. */
RAPT_API uint64_t rapt_sys_budget(const rapt_sys_info *info, double eta);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_SYS_H */
