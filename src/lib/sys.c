/* sys.c: combining what the OS layer read into the figures rapt acts on.
 *
 * Owns the rules: which limit binds, how CPUs round, what "available" means, how a SLURM
 * allocation bounds the machine, the environment class and the default budget. The reading
 * itself is in src/os/linux; everything here is arithmetic over rapt_sys_info.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

extern char **environ;

const char *rapt_bound_name(rapt_bound b)
{
    switch (b) {
    case RAPT_BOUND_HOST: return "host";
    case RAPT_BOUND_AFFINITY: return "affinity";
    case RAPT_BOUND_CGROUP: return "cgroup";
    case RAPT_BOUND_CGROUP_HIER: return "cgroup-ancestor";
    case RAPT_BOUND_RLIMIT_AS: return "rlimit-as";
    case RAPT_BOUND_RLIMIT_DATA: return "rlimit-data";
    case RAPT_BOUND_SLURM: return "slurm";
    case RAPT_BOUND_UNKNOWN: break;
    }
    return "unknown";
}

const char *rapt_env_class_name(rapt_env_class c)
{
    switch (c) {
    case RAPT_ENV_CONSTRAINED: return "constrained";
    case RAPT_ENV_SMALL: return "small";
    case RAPT_ENV_MEDIUM: return "medium";
    case RAPT_ENV_LARGE: return "large";
    }
    return "unknown";
}

void rapt_sys_opts_init(rapt_sys_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

/* SLURM sizes are MiB unless they carry a unit ("4000", "4000M", "4G"). */
static int slurm_mem(const char *v, uint64_t *out)
{
    size_t len = strlen(v);
    if (len > 0 && v[len - 1] >= '0' && v[len - 1] <= '9') {
        uint64_t mib;
        int r = rapt__parse_u64(v, len, &mib);
        if (r < 0)
            return r;
        if (mib > UINT64_MAX >> 20)
            return -ERANGE;
        *out = mib << 20;
        return 0;
    }
    return rapt_size_parse(v, out);
}

/* The first count in SLURM_JOB_CPUS_PER_NODE ("4(x2),2" -> 4). */
static int slurm_cpus_per_node(const char *v, uint64_t *out)
{
    size_t n = 0;
    while (v[n] >= '0' && v[n] <= '9')
        n++;
    if (n == 0 || (v[n] != '\0' && v[n] != '(' && v[n] != ','))
        return -EINVAL;
    return rapt__parse_u64(v, n, out);
}

static void probe_slurm(char *const *envp, rapt_sys_info *info)
{
    rapt_sys_slurm *s = &info->slurm;
    const char *job = env_get(envp, "SLURM_JOB_ID");
    if (!job)
        job = env_get(envp, "SLURM_JOBID");
    if (!job) {
        rapt__qty_unknown(&info->cpu.slurm, "", "not in a SLURM allocation");
        rapt__qty_unknown(&info->mem.slurm, "", "not in a SLURM allocation");
        return;
    }
    s->in_allocation = true;
    rapt__strlcpy(s->job_id, job, sizeof(s->job_id));

    uint64_t cpus = 0;
    const char *v = env_get(envp, "SLURM_CPUS_ON_NODE");
    const char *where = "SLURM_CPUS_ON_NODE";
    int rc = -ENOENT;
    if (v) {
        rc = rapt__parse_u64(v, SIZE_MAX, &cpus);
    } else if ((v = env_get(envp, "SLURM_JOB_CPUS_PER_NODE"))) {
        where = "SLURM_JOB_CPUS_PER_NODE";
        rc = slurm_cpus_per_node(v, &cpus);
    }
    if (rc == 0 && cpus > 0) {
        rapt__qty_known(&info->cpu.slurm, where, cpus);
    } else {
        rapt__qty_unknown(&info->cpu.slurm, v ? where : "SLURM_CPUS_ON_NODE",
                          v ? "malformed CPU count" : "not set");
        if (v)
            rapt__bufprintf(s->why, sizeof(s->why), "malformed %s=%s", where, v);
    }

    uint64_t mem;
    if ((v = env_get(envp, "SLURM_MEM_PER_NODE"))) {
        if (slurm_mem(v, &mem) < 0) {
            rapt__qty_unknown(&info->mem.slurm, "SLURM_MEM_PER_NODE", "malformed size");
            rapt__bufprintf(s->why, sizeof(s->why), "malformed SLURM_MEM_PER_NODE=%s", v);
        } else if (mem == 0) {
            /* --mem=0 asks for all the memory of the node. */
            rapt__qty_unlimited(&info->mem.slurm, "SLURM_MEM_PER_NODE");
        } else {
            rapt__qty_known(&info->mem.slurm, "SLURM_MEM_PER_NODE", mem);
        }
    } else if ((v = env_get(envp, "SLURM_MEM_PER_CPU"))) {
        if (slurm_mem(v, &mem) < 0 || mem == 0) {
            rapt__qty_unknown(&info->mem.slurm, "SLURM_MEM_PER_CPU", "malformed size");
            rapt__bufprintf(s->why, sizeof(s->why), "malformed SLURM_MEM_PER_CPU=%s", v);
        } else if (info->cpu.slurm.state != RAPT_QTY_KNOWN) {
            rapt__qty_unknown(&info->mem.slurm, "SLURM_MEM_PER_CPU",
                              "per-CPU memory without a CPU count");
        } else if (mem > UINT64_MAX / info->cpu.slurm.value) {
            rapt__qty_unknown(&info->mem.slurm, "SLURM_MEM_PER_CPU", "size overflows");
        } else {
            rapt__qty_known(&info->mem.slurm, "SLURM_MEM_PER_CPU x SLURM_CPUS_ON_NODE",
                            mem * info->cpu.slurm.value);
        }
    } else {
        rapt__qty_unknown(&info->mem.slurm, "SLURM_MEM_PER_NODE", "not set");
    }
}

static void derive_cpu(rapt_sys_info *info)
{
    rapt_sys_cpu *c = &info->cpu;
    uint64_t best = UINT64_MAX;
    rapt_bound bound = RAPT_BOUND_UNKNOWN;
    /* The affinity mask is a subset of the online CPUs; use online only when it is unknown. */
    if (c->affinity.state == RAPT_QTY_KNOWN) {
        best = c->affinity.value;
        bound = RAPT_BOUND_AFFINITY;
        if (c->online.state == RAPT_QTY_KNOWN && c->online.value <= best) {
            best = c->online.value;
            bound = RAPT_BOUND_HOST;
        }
    } else if (c->online.state == RAPT_QTY_KNOWN) {
        best = c->online.value;
        bound = RAPT_BOUND_HOST;
    }
    if (c->quota_cpus > 0 && c->quota_cpus < best) {
        best = c->quota_cpus;
        bound = RAPT_BOUND_CGROUP;
    }
    if (c->slurm.state == RAPT_QTY_KNOWN && c->slurm.value < best) {
        best = c->slurm.value;
        bound = RAPT_BOUND_SLURM;
    }
    if (best == UINT64_MAX || best == 0)
        best = 1;
    if (best > 1u << 20)
        best = 1u << 20;
    c->effective = (unsigned)best;
    c->effective_bound = bound;
}

static void derive_memory(rapt_sys_info *info)
{
    rapt_sys_memory *m = &info->mem;
    struct {
        const rapt_qty *q;
        rapt_bound b;
    } cands[] = {
        {&m->host_total, RAPT_BOUND_HOST},     {&m->cgroup_limit, RAPT_BOUND_CGROUP},
        {&m->rlimit_as, RAPT_BOUND_RLIMIT_AS}, {&m->rlimit_data, RAPT_BOUND_RLIMIT_DATA},
        {&m->slurm, RAPT_BOUND_SLURM},
    };
    m->limit = 0;
    m->limit_bound = RAPT_BOUND_UNKNOWN;
    m->limit_where[0] = '\0';
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(cands); i++) {
        const rapt_qty *q = cands[i].q;
        if (q->state != RAPT_QTY_KNOWN)
            continue;
        if (m->limit_bound == RAPT_BOUND_UNKNOWN || q->value < m->limit) {
            m->limit = q->value;
            m->limit_bound = cands[i].b;
            rapt__strlcpy(m->limit_where, q->where, sizeof(m->limit_where));
        }
    }
    if (m->limit_bound == RAPT_BOUND_CGROUP && strstr(m->limit_where, "hierarchical_memory_limit"))
        m->limit_bound = RAPT_BOUND_CGROUP_HIER;

    /* available = min(host MemAvailable, the headroom of every limited cgroup level, the
     * limit). It is known only when something measured usage (MemAvailable or a cgroup's
     * counters); limits without a usage figure of their own (rlimits, SLURM without a cgroup)
     * only cap it. */
    uint64_t avail = UINT64_MAX;
    bool known = false;
    if (m->host_available.state == RAPT_QTY_KNOWN) {
        avail = m->host_available.value;
        known = true;
    }
    if (m->cgroup_headroom.state == RAPT_QTY_KNOWN) {
        avail = RAPT__MIN(avail, m->cgroup_headroom.value);
        known = true;
    }
    if (known && m->limit_bound != RAPT_BOUND_UNKNOWN)
        avail = RAPT__MIN(avail, m->limit);
    m->available = known ? avail : 0;
    m->available_known = known;
}

static rapt_env_class classify(const rapt_sys_info *info)
{
    unsigned cpus = info->cpu.effective;
    rapt_env_class by_cpu = cpus <= 1    ? RAPT_ENV_CONSTRAINED
                            : cpus <= 4  ? RAPT_ENV_SMALL
                            : cpus <= 16 ? RAPT_ENV_MEDIUM
                                         : RAPT_ENV_LARGE;
    if (info->mem.limit_bound == RAPT_BOUND_UNKNOWN)
        return by_cpu;
    uint64_t g = 1ull << 30, lim = info->mem.limit;
    rapt_env_class by_mem = lim < 2 * g    ? RAPT_ENV_CONSTRAINED
                            : lim < 8 * g  ? RAPT_ENV_SMALL
                            : lim < 64 * g ? RAPT_ENV_MEDIUM
                                           : RAPT_ENV_LARGE;
    return by_cpu < by_mem ? by_cpu : by_mem;
}

uint64_t rapt_sys_budget(const rapt_sys_info *info, double eta)
{
    if (!info || info->mem.limit_bound == RAPT_BOUND_UNKNOWN || !(eta > 0) || eta > 1)
        return 0;
    /* eta x limit rounded to the nearest byte, so 0.85 of 1000 is 850 whatever binary
     * fraction 0.85 becomes. */
    long double share = roundl((long double)info->mem.limit * (long double)eta);
    uint64_t jobs_may_use = share >= (long double)UINT64_MAX ? UINT64_MAX : (uint64_t)share;
    if (!info->mem.available_known)
        return jobs_may_use; /* nothing measured what is in use */
    uint64_t reserve = info->mem.limit - RAPT__MIN(jobs_may_use, info->mem.limit);
    return rapt__sat_sub(info->mem.available, reserve);
}

static void derive(rapt_sys_info *info)
{
    derive_cpu(info);
    derive_memory(info);
    info->env_class = classify(info);
    info->default_slots = info->cpu.effective;
    info->default_budget = rapt_sys_budget(info, RAPT_SYS_DEFAULT_ETA);
}

int rapt_sys_read(const rapt_sys_opts *opts, rapt_sys_info *out)
{
    if (!out)
        return -EINVAL;
    rapt_sys_opts def;
    if (!opts) {
        rapt_sys_opts_init(&def);
        opts = &def;
    }
    rapt__root root;
    int rc = rapt__root_open(&root, opts->sysroot);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    rapt__probe_cgroups(&root, out);
    rapt__probe_cpu(&root, out);
    rapt__probe_cpu_quota(&root, out);
    rapt__probe_host_memory(&root, out);
    rapt__probe_memory(&root, out);
    rapt__probe_psi(&root, out);
    probe_slurm(opts->envp ? opts->envp : environ, out);
    rapt__root_close(&root);
    derive(out);
    return 0;
}

int rapt_sys_refresh(const rapt_sys_opts *opts, rapt_sys_info *info)
{
    if (!info)
        return -EINVAL;
    rapt_sys_opts def;
    if (!opts) {
        rapt_sys_opts_init(&def);
        opts = &def;
    }
    rapt__root root;
    int rc = rapt__root_open(&root, opts->sysroot);
    if (rc < 0)
        return rc;
    rapt__sys_refresh_at(&root, info);
    rapt__root_close(&root);
    return 0;
}

void rapt__sys_refresh_at(const rapt__root *root, rapt_sys_info *info)
{
    /* The cgroup placement, CPU figures, rlimits and SLURM variables do not change under a
     * running process in practice; memory and pressure do. */
    rapt_sys_memory keep = info->mem;
    rapt__probe_host_memory(root, info);
    rapt__probe_memory(root, info);
    info->mem.slurm = keep.slurm;
    rapt__probe_psi(root, info);
    derive(info);
}
