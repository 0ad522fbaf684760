/* cgroup.c: where this process sits in the cgroup trees, and what those trees allow it.
 *
 * Owns the parsers for /proc/self/cgroup, /proc/self/mountinfo, cpu.max and memory limit files,
 * and the probes that walk from the process's cgroup up to the mount point reading limits at
 * every level. Both cgroup v1 (one hierarchy per controller) and v2 (one unified hierarchy) are
 * handled, including hybrid hosts where memory is on v1 and an empty v2 tree is mounted too.
 *
 * Walking up matters: systemd slices, SLURM's job/step/task layering and Kubernetes pods put the
 * limit on an ancestor, not on the leaf the process lives in. Levels above the mount point (a
 * container without a cgroup namespace) are invisible; v1's hierarchical_memory_limit still
 * reports them for memory, so the leaf's memory.stat is consulted too.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

/* True when `list` (comma-separated, len bytes) contains `item` as a whole element. */
static bool list_has(const char *list, size_t len, const char *item)
{
    size_t ilen = strlen(item);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && list[j] != ',')
            j++;
        if (j - i == ilen && memcmp(list + i, item, ilen) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

int rapt__parse_proc_cgroup(const char *buf, const char *ctrl, rapt__cgline *out)
{
    bool any = false;
    for (const char *p = buf; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        /* "hier-id:controller-list:path"; the path may itself contain ':'. */
        const char *c1 = memchr(p, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
        if (len > 0) {
            uint64_t hier;
            if (!c1 || !c2 || rapt__parse_u64(p, (size_t)(c1 - p), &hier) < 0 || hier > 65535 ||
                c2 + 1 >= p + len || c2[1] != '/')
                return -EINVAL;
            any = true;
            rapt__cgline l = {
                .hier = (unsigned)hier,
                .ctrl = c1 + 1,
                .ctrl_len = (size_t)(c2 - c1 - 1),
                .path = c2 + 1,
                .path_len = (size_t)(p + len - c2 - 1),
            };
            bool match = ctrl ? (l.hier != 0 && list_has(l.ctrl, l.ctrl_len, ctrl))
                              : (l.hier == 0 && l.ctrl_len == 0);
            if (match) {
                *out = l;
                return 0;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return any ? -ENOENT : -EINVAL;
}

/* Copies a mountinfo field, decoding the octal escapes the kernel uses for ' ', '\t', '\n'
 * and '\\'. Returns false when it does not fit or an escape is malformed. */
static bool copy_field(char *dst, size_t n, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '\\') {
            if (i + 3 >= len)
                return false;
            const char *d = src + i + 1;
            if (d[0] < '0' || d[0] > '3' || d[1] < '0' || d[1] > '7' || d[2] < '0' || d[2] > '7')
                return false;
            c = (char)((d[0] - '0') * 64 + (d[1] - '0') * 8 + (d[2] - '0'));
            i += 3;
        }
        if (o + 1 >= n)
            return false;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return true;
}

/* Splits the next blank-separated token of [*p, end); false at the end. */
static bool token(const char **p, const char *end, const char **tok, size_t *len)
{
    const char *q = *p;
    while (q < end && *q == ' ')
        q++;
    if (q == end)
        return false;
    const char *s = q;
    while (q < end && *q != ' ')
        q++;
    *tok = s;
    *len = (size_t)(q - s);
    *p = q;
    return true;
}

int rapt__parse_mountinfo(const char *buf, const char *ctrl, rapt__cgmount *out)
{
    bool any = false;
    for (const char *p = buf; p && *p;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        const char *next = nl ? nl + 1 : NULL;
        if (end == p) {
            p = next;
            continue;
        }
        /* id parent maj:min root point options [optional fields...] - fstype source super */
        const char *f[6], *g[3], *t;
        size_t fl[6], gl[3], tl;
        const char *q = p;
        for (int i = 0; i < 6; i++) {
            if (!token(&q, end, &f[i], &fl[i]))
                return -EINVAL;
        }
        bool sep = false;
        while (token(&q, end, &t, &tl)) {
            if (tl == 1 && t[0] == '-') {
                sep = true;
                break;
            }
        }
        if (!sep)
            return -EINVAL;
        for (int i = 0; i < 3; i++) {
            if (!token(&q, end, &g[i], &gl[i]))
                return -EINVAL;
        }
        any = true;
        bool match;
        if (!ctrl)
            match = gl[0] == 7 && memcmp(g[0], "cgroup2", 7) == 0;
        else
            match = gl[0] == 6 && memcmp(g[0], "cgroup", 6) == 0 && list_has(g[2], gl[2], ctrl);
        if (match) {
            if (!copy_field(out->root, sizeof(out->root), f[3], fl[3]) ||
                !copy_field(out->point, sizeof(out->point), f[4], fl[4]))
                return -EINVAL;
            return 0;
        }
        p = next;
    }
    return any ? -ENOENT : -EINVAL;
}

int rapt__parse_cpu_max(const char *buf, uint64_t *quota, uint64_t *period, bool *unlimited)
{
    const char *sp = strchr(buf, ' ');
    if (!sp)
        return -EINVAL;
    size_t qlen = (size_t)(sp - buf);
    const char *per = sp + 1;
    size_t plen = strlen(per);
    if (plen > 0 && per[plen - 1] == '\n')
        plen--;
    if (rapt__parse_u64(per, plen, period) < 0 || *period == 0)
        return -EINVAL;
    if (qlen == 3 && memcmp(buf, "max", 3) == 0) {
        *unlimited = true;
        *quota = 0;
        return 0;
    }
    *unlimited = false;
    if (rapt__parse_u64(buf, qlen, quota) < 0 || *quota == 0)
        return -EINVAL;
    return 0;
}

int rapt__parse_mem_limit(const char *buf, uint64_t *bytes, bool *unlimited)
{
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len == 3 && memcmp(buf, "max", 3) == 0) {
        *unlimited = true;
        *bytes = UINT64_MAX;
        return 0;
    }
    if (rapt__parse_u64(buf, len, bytes) < 0)
        return -EINVAL;
    /* v1 reports "no limit" as PAGE_COUNTER_MAX * PAGE_SIZE (9223372036854771712 with 4 KiB
     * pages, different with 16 or 64 KiB pages). No machine has 4 EiB, so anything at or above
     * 2^62 means unlimited whatever the page size. */
    *unlimited = *bytes >= (1ull << 62);
    return 0;
}

/* Joins a cgroup path from /proc/self/cgroup to the mount that shows its hierarchy. */
static bool cgroup_dir(const rapt__cgmount *m, const char *path, size_t plen, char *out, size_t n)
{
    char cg[RAPT_SYS_WHERE_MAX];
    if (plen >= sizeof(cg))
        return false;
    memcpy(cg, path, plen);
    cg[plen] = '\0';
    const char *rel = cg;
    size_t rlen = strlen(m->root);
    /* A mount of a sub-tree (a container without a cgroup namespace) shows paths relative to
     * its root; with a namespace, /proc/self/cgroup already shows "/". */
    if (strcmp(m->root, "/") != 0 && strncmp(cg, m->root, rlen) == 0 &&
        (cg[rlen] == '/' || cg[rlen] == '\0'))
        rel = cg + rlen;
    if (strcmp(rel, "/") == 0 || *rel == '\0')
        return rapt__strlcpy(out, m->point, n);
    return rapt__bufprintf(out, n, "%s%s", strcmp(m->point, "/") == 0 ? "" : m->point, rel);
}

/* True when the v2 directory lists ctrl in cgroup.controllers. */
static bool v2_has_controller(const rapt__root *r, const char *dir, const char *ctrl)
{
    char path[RAPT_SYS_WHERE_MAX + 32], buf[512];
    rapt__bufprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
    ssize_t n = rapt__slurp(r, path, buf, sizeof(buf));
    if (n <= 0)
        return false;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (strcmp(t, ctrl) == 0)
            return true;
    }
    return false;
}

/* Finds the directory of controller ctrl (v1 first, as on hybrid hosts the v2 tree is usually
 * empty). Returns the version found and fills dir and, when given, the cgroup path and mount
 * point. */
static rapt_cgroup_version locate(const rapt__root *r, const char *cg, const char *mi,
                                  const char *ctrl, char *dir, size_t n, char *cgpath, char *point)
{
    rapt__cgline line;
    rapt__cgmount m;
    if (rapt__parse_proc_cgroup(cg, ctrl, &line) == 0 && rapt__parse_mountinfo(mi, ctrl, &m) == 0 &&
        cgroup_dir(&m, line.path, line.path_len, dir, n)) {
        if (cgpath)
            rapt__bufprintf(cgpath, RAPT_SYS_WHERE_MAX, "%.*s", (int)line.path_len, line.path);
        if (point)
            rapt__strlcpy(point, m.point, RAPT_SYS_WHERE_MAX);
        return RAPT_CGROUP_V1;
    }
    if (rapt__parse_proc_cgroup(cg, NULL, &line) == 0 && rapt__parse_mountinfo(mi, NULL, &m) == 0 &&
        cgroup_dir(&m, line.path, line.path_len, dir, n) && v2_has_controller(r, dir, ctrl)) {
        if (cgpath)
            rapt__bufprintf(cgpath, RAPT_SYS_WHERE_MAX, "%.*s", (int)line.path_len, line.path);
        if (point)
            rapt__strlcpy(point, m.point, RAPT_SYS_WHERE_MAX);
        return RAPT_CGROUP_V2;
    }
    dir[0] = '\0';
    return RAPT_CGROUP_NONE;
}

/* Mount points of the hierarchies found, kept for the walks; the public struct keeps only the
 * directories, so the probes re-derive these from mountinfo when they walk. */
typedef struct walk {
    char dir[RAPT_SYS_WHERE_MAX];
    char stop[RAPT_SYS_WHERE_MAX]; /* the mount point: the top of what we can see */
} walk;

/* Moves w->dir one level up; false when it is already at the mount point. */
static bool walk_up(walk *w)
{
    if (strcmp(w->dir, w->stop) == 0)
        return false;
    char *slash = strrchr(w->dir, '/');
    if (!slash)
        return false;
    if (slash == w->dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    /* Never step above the mount point, even if the paths disagree. */
    return strncmp(w->dir, w->stop, strlen(w->stop)) == 0;
}

static bool walk_init(const rapt__root *r, const char *ctrl, walk *w)
{
    char cg[8192], mi[65536];
    if (rapt__slurp(r, "/proc/self/cgroup", cg, sizeof(cg)) < 0 ||
        rapt__slurp(r, "/proc/self/mountinfo", mi, sizeof(mi)) < 0)
        return false;
    return locate(r, cg, mi, ctrl, w->dir, sizeof(w->dir), NULL, w->stop) != RAPT_CGROUP_NONE;
}

void rapt__probe_cgroups(const rapt__root *r, rapt_sys_info *info)
{
    rapt_sys_cgroup *c = &info->cgroup;
    memset(c, 0, sizeof(*c));
    char cg[8192], mi[65536];
    ssize_t n = rapt__slurp(r, "/proc/self/cgroup", cg, sizeof(cg));
    if (n < 0) {
        rapt__bufprintf(c->why, sizeof(c->why), "cannot read /proc/self/cgroup: %s",
                        rapt_strerror((int)n));
        return;
    }
    n = rapt__slurp(r, "/proc/self/mountinfo", mi, sizeof(mi));
    if (n < 0) {
        rapt__bufprintf(c->why, sizeof(c->why), "cannot read /proc/self/mountinfo: %s",
                        rapt_strerror((int)n));
        return;
    }
    rapt__cgline probe;
    if (rapt__parse_proc_cgroup(cg, NULL, &probe) == -EINVAL) {
        rapt__strlcpy(c->why, "malformed /proc/self/cgroup", sizeof(c->why));
        return;
    }
    c->memory_version =
        locate(r, cg, mi, "memory", c->memory_dir, sizeof(c->memory_dir), c->memory_path, NULL);
    c->cpu_version = locate(r, cg, mi, "cpu", c->cpu_dir, sizeof(c->cpu_dir), NULL, NULL);
    rapt__cgline v2;
    rapt__cgmount m;
    if (rapt__parse_proc_cgroup(cg, NULL, &v2) == 0 && rapt__parse_mountinfo(mi, NULL, &m) == 0)
        cgroup_dir(&m, v2.path, v2.path_len, c->unified_dir, sizeof(c->unified_dir));
    if (c->memory_version == RAPT_CGROUP_NONE && c->cpu_version == RAPT_CGROUP_NONE &&
        !c->unified_dir[0])
        rapt__strlcpy(c->why, "no cgroup mount matches /proc/self/cgroup", sizeof(c->why));
}

void rapt__probe_cpu_quota(const rapt__root *r, rapt_sys_info *info)
{
    rapt_qty *q = &info->cpu.quota_milli;
    info->cpu.quota_cpus = 0;
    if (info->cgroup.cpu_version == RAPT_CGROUP_NONE) {
        rapt__qty_unknown(q, "", "no cpu cgroup controller");
        return;
    }
    walk w;
    if (!walk_init(r, "cpu", &w)) {
        rapt__qty_unknown(q, info->cgroup.cpu_dir, "cpu cgroup vanished while reading");
        return;
    }
    bool v2 = info->cgroup.cpu_version == RAPT_CGROUP_V2;
    bool any_read = false, any_bad = false;
    long double best = 0;
    uint64_t best_q = 0, best_p = 0;
    char best_where[RAPT_SYS_WHERE_MAX] = "", bad_where[RAPT_SYS_WHERE_MAX] = "";
    do {
        char path[RAPT_SYS_WHERE_MAX + 32], buf[128];
        uint64_t quota = 0, period = 0;
        bool unl = false;
        int rc;
        if (v2) {
            rapt__bufprintf(path, sizeof(path), "%s/cpu.max", w.dir);
            if (rapt__slurp(r, path, buf, sizeof(buf)) < 0)
                continue; /* the root has no cpu.max */
            rc = rapt__parse_cpu_max(buf, &quota, &period, &unl);
        } else {
            char p2[RAPT_SYS_WHERE_MAX + 32], b2[128];
            rapt__bufprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", w.dir);
            rapt__bufprintf(p2, sizeof(p2), "%s/cpu.cfs_period_us", w.dir);
            if (rapt__slurp(r, path, buf, sizeof(buf)) < 0 ||
                rapt__slurp(r, p2, b2, sizeof(b2)) < 0)
                continue;
            int64_t qv;
            rc = rapt__parse_i64_line(buf, &qv);
            if (rc == 0)
                rc = rapt__parse_u64_line(b2, &period);
            if (rc == 0 && period == 0)
                rc = -EINVAL;
            if (rc == 0 && qv < 0) {
                if (qv != -1)
                    rc = -EINVAL;
                unl = true;
            } else if (rc == 0 && qv == 0) {
                rc = -EINVAL;
            } else if (rc == 0) {
                quota = (uint64_t)qv;
            }
        }
        if (rc < 0) {
            any_bad = true;
            rapt__strlcpy(bad_where, path, sizeof(bad_where));
            continue;
        }
        any_read = true;
        if (unl)
            continue;
        long double ratio = (long double)quota / (long double)period;
        if (best_p == 0 || ratio < best) {
            best = ratio;
            best_q = quota;
            best_p = period;
            rapt__strlcpy(best_where, path, sizeof(best_where));
        }
    } while (walk_up(&w));

    if (best_p) {
        rapt__qty_known(q, best_where, (uint64_t)ceill(best * 1000.0L));
        info->cpu.quota_cpus = (unsigned)((best_q + best_p - 1) / best_p);
    } else if (any_bad) {
        rapt__qty_unknown(q, bad_where, "malformed CPU quota");
    } else if (any_read) {
        rapt__qty_unlimited(q, info->cgroup.cpu_dir);
    } else {
        rapt__qty_unknown(q, info->cgroup.cpu_dir, "no CPU quota files");
    }
}

/* One level's memory reading. */
typedef struct memlevel {
    bool limit_ok, limit_unl, high_ok, high_unl, usage_ok, recl_ok;
    uint64_t limit, high, usage, recl;
    bool limit_bad;
} memlevel;

static void read_level(const rapt__root *r, const char *dir, bool v2, memlevel *l, char *limit_path,
                       size_t lp_len)
{
    char path[RAPT_SYS_WHERE_MAX + 32], buf[8192];
    memset(l, 0, sizeof(*l));
    rapt__bufprintf(limit_path, lp_len, "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    if (rapt__slurp(r, limit_path, buf, sizeof(buf)) >= 0) {
        if (rapt__parse_mem_limit(buf, &l->limit, &l->limit_unl) == 0)
            l->limit_ok = true;
        else
            l->limit_bad = true;
    }
    if (v2) {
        rapt__bufprintf(path, sizeof(path), "%s/memory.high", dir);
        if (rapt__slurp(r, path, buf, sizeof(buf)) >= 0 &&
            rapt__parse_mem_limit(buf, &l->high, &l->high_unl) == 0)
            l->high_ok = true;
    }
    rapt__bufprintf(path, sizeof(path), "%s/%s", dir,
                    v2 ? "memory.current" : "memory.usage_in_bytes");
    if (rapt__slurp(r, path, buf, sizeof(buf)) >= 0 && rapt__parse_u64_line(buf, &l->usage) == 0)
        l->usage_ok = true;
    /* Reclaimable = inactive page cache, the part the kernel drops first (the working-set rule
     * of cAdvisor and the kubelet). Active file pages are left counted: dropping them costs. */
    rapt__bufprintf(path, sizeof(path), "%s/memory.stat", dir);
    if (rapt__slurp(r, path, buf, sizeof(buf)) >= 0 &&
        rapt__parse_kv(buf, v2 ? "inactive_file" : "total_inactive_file", &l->recl) == 0)
        l->recl_ok = true;
}

void rapt__probe_memory(const rapt__root *r, rapt_sys_info *info)
{
    rapt_sys_memory *m = &info->mem;
    const rapt_sys_cgroup *c = &info->cgroup;
    rapt_qty *qs[] = {&m->cgroup_limit, &m->cgroup_high,        &m->cgroup_swap_limit,
                      &m->cgroup_usage, &m->cgroup_reclaimable, &m->cgroup_headroom};
    if (c->memory_version == RAPT_CGROUP_NONE) {
        for (size_t i = 0; i < RAPT__ARRAY_SIZE(qs); i++)
            rapt__qty_unknown(qs[i], "", c->why[0] ? c->why : "no memory cgroup controller");
        return;
    }
    walk w;
    if (!walk_init(r, "memory", &w)) {
        for (size_t i = 0; i < RAPT__ARRAY_SIZE(qs); i++)
            rapt__qty_unknown(qs[i], c->memory_dir, "memory cgroup vanished while reading");
        return;
    }
    bool v2 = c->memory_version == RAPT_CGROUP_V2;
    bool leaf = true, any_limit_read = false, any_high_read = false;
    char bad_where[RAPT_SYS_WHERE_MAX] = "";
    memlevel bind = {0}, leaf_l = {0};
    bool have_bind = false;
    uint64_t headroom = UINT64_MAX;
    char headroom_where[RAPT_SYS_WHERE_MAX] = "";
    char bind_dir[RAPT_SYS_WHERE_MAX] = "";

    rapt__qty_unknown(&m->cgroup_limit, c->memory_dir, "no readable memory limit file");
    rapt__qty_unknown(&m->cgroup_high, c->memory_dir,
                      v2 ? "no readable memory.high" : "cgroup v1 has no memory.high");
    do {
        memlevel l;
        char lp[RAPT_SYS_WHERE_MAX + 32];
        read_level(r, w.dir, v2, &l, lp, sizeof(lp));
        if (leaf)
            leaf_l = l;
        if (l.limit_bad)
            rapt__strlcpy(bad_where, lp, sizeof(bad_where));
        if (l.limit_ok) {
            any_limit_read = true;
            if (!l.limit_unl) {
                if (m->cgroup_limit.state != RAPT_QTY_KNOWN || l.limit < m->cgroup_limit.value) {
                    rapt__qty_known(&m->cgroup_limit, lp, l.limit);
                    bind = l;
                    have_bind = true;
                    rapt__strlcpy(bind_dir, w.dir, sizeof(bind_dir));
                }
                /* Each limited level leaves its own headroom; the smallest one binds even
                 * when it is not the smallest limit (a busy parent with a larger limit). */
                uint64_t room = l.usage_ok ? rapt__sat_sub(l.limit, l.usage) : l.limit;
                if (l.usage_ok && l.recl_ok)
                    room = rapt__sat_add(room, RAPT__MIN(l.recl, l.usage));
                if (room > l.limit)
                    room = l.limit;
                if (room < headroom) {
                    headroom = room;
                    rapt__strlcpy(headroom_where, lp, sizeof(headroom_where));
                }
            }
        }
        if (v2 && l.high_ok) {
            any_high_read = true;
            char hp[RAPT_SYS_WHERE_MAX + 32];
            rapt__bufprintf(hp, sizeof(hp), "%s/memory.high", w.dir);
            if (!l.high_unl &&
                (m->cgroup_high.state != RAPT_QTY_KNOWN || l.high < m->cgroup_high.value))
                rapt__qty_known(&m->cgroup_high, hp, l.high);
        }
        leaf = false;
    } while (walk_up(&w));

    if (m->cgroup_limit.state != RAPT_QTY_KNOWN) {
        if (bad_where[0])
            rapt__qty_unknown(&m->cgroup_limit, bad_where, "malformed memory limit");
        else if (any_limit_read)
            rapt__qty_unlimited(&m->cgroup_limit, c->memory_dir);
    }
    if (v2 && m->cgroup_high.state != RAPT_QTY_KNOWN && any_high_read)
        rapt__qty_unlimited(&m->cgroup_high, c->memory_dir);

    char buf[8192], path[RAPT_SYS_WHERE_MAX + 48];
    if (!v2) {
        /* v1 folds limits of every ancestor, visible or not, into the leaf's statistics. */
        uint64_t hier;
        rapt__bufprintf(path, sizeof(path), "%s/memory.stat", c->memory_dir);
        if (rapt__slurp(r, path, buf, sizeof(buf)) >= 0 &&
            rapt__parse_kv(buf, "hierarchical_memory_limit", &hier) == 0 && hier < (1ull << 62) &&
            (m->cgroup_limit.state != RAPT_QTY_KNOWN || hier < m->cgroup_limit.value)) {
            char where[RAPT_SYS_WHERE_MAX + 64];
            rapt__bufprintf(where, sizeof(where), "%s hierarchical_memory_limit", path);
            rapt__qty_known(&m->cgroup_limit, where, hier);
            bind = leaf_l;
            have_bind = true;
            rapt__strlcpy(bind_dir, c->memory_dir, sizeof(bind_dir));
            uint64_t room = leaf_l.usage_ok ? rapt__sat_sub(hier, leaf_l.usage) : hier;
            if (leaf_l.usage_ok && leaf_l.recl_ok)
                room = RAPT__MIN(hier, rapt__sat_add(room, RAPT__MIN(leaf_l.recl, leaf_l.usage)));
            if (room < headroom) {
                headroom = room;
                rapt__strlcpy(headroom_where, where, sizeof(headroom_where));
            }
        }
    }

    /* Usage and cache of the cgroup whose limit binds, else of the leaf. */
    const memlevel *u = have_bind ? &bind : &leaf_l;
    const char *udir = have_bind ? bind_dir : c->memory_dir;
    rapt__bufprintf(path, sizeof(path), "%s/%s", udir,
                    v2 ? "memory.current" : "memory.usage_in_bytes");
    if (u->usage_ok)
        rapt__qty_known(&m->cgroup_usage, path, u->usage);
    else
        rapt__qty_unknown(&m->cgroup_usage, path, "cannot read usage");
    rapt__bufprintf(path, sizeof(path), "%s/memory.stat %s", udir,
                    v2 ? "inactive_file" : "total_inactive_file");
    if (u->recl_ok)
        rapt__qty_known(&m->cgroup_reclaimable, path, u->recl);
    else
        rapt__qty_unknown(&m->cgroup_reclaimable, path, "cannot read memory.stat");

    if (headroom != UINT64_MAX)
        rapt__qty_known(&m->cgroup_headroom, headroom_where, headroom);
    else if (m->cgroup_limit.state == RAPT_QTY_UNLIMITED)
        rapt__qty_unlimited(&m->cgroup_headroom, c->memory_dir);
    else
        rapt__qty_unknown(&m->cgroup_headroom, c->memory_dir, m->cgroup_limit.why);

    /* Swap the cgroup may use. */
    uint64_t sw;
    bool unl;
    if (v2) {
        rapt__bufprintf(path, sizeof(path), "%s/memory.swap.max", c->memory_dir);
        if (rapt__slurp(r, path, buf, sizeof(buf)) < 0)
            rapt__qty_unknown(&m->cgroup_swap_limit, path, "no memory.swap.max");
        else if (rapt__parse_mem_limit(buf, &sw, &unl) < 0)
            rapt__qty_unknown(&m->cgroup_swap_limit, path, "malformed memory.swap.max");
        else if (unl)
            rapt__qty_unlimited(&m->cgroup_swap_limit, path);
        else
            rapt__qty_known(&m->cgroup_swap_limit, path, sw);
    } else {
        /* v1 limits memory+swap together; swap allowed = memsw limit - memory limit. */
        rapt__bufprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", c->memory_dir);
        if (rapt__slurp(r, path, buf, sizeof(buf)) < 0)
            rapt__qty_unknown(&m->cgroup_swap_limit, path, "no swap accounting");
        else if (rapt__parse_mem_limit(buf, &sw, &unl) < 0)
            rapt__qty_unknown(&m->cgroup_swap_limit, path, "malformed memsw limit");
        else if (unl || !leaf_l.limit_ok || leaf_l.limit_unl)
            rapt__qty_unlimited(&m->cgroup_swap_limit, path);
        else
            rapt__qty_known(&m->cgroup_swap_limit, path, rapt__sat_sub(sw, leaf_l.limit));
    }
}

/* ---- for the monitor ------------------------------------------------------------------------ */

rapt_cgroup_version rapt__cgroup_locate(const rapt__root *r, const char *ctrl, char *dir, size_t n)
{
    /* Called once when a monitor is created, never per sample; mountinfo can be large. */
    char cg[8192], mi[65536];
    dir[0] = '\0';
    if (rapt__slurp(r, "/proc/self/cgroup", cg, sizeof(cg)) < 0 ||
        rapt__slurp(r, "/proc/self/mountinfo", mi, sizeof(mi)) < 0)
        return RAPT_CGROUP_NONE;
    return locate(r, cg, mi, ctrl, dir, n, NULL, NULL);
}

int rapt__cgroup_mount_point(const rapt__root *r, const char *ctrl, char *point, size_t n)
{
    char mi[65536];
    ssize_t got = rapt__slurp(r, "/proc/self/mountinfo", mi, sizeof(mi));
    if (got < 0)
        return (int)got;
    rapt__cgmount m;
    int rc = rapt__parse_mountinfo(mi, ctrl, &m);
    if (rc < 0)
        return rc == -EINVAL ? -ENOENT : rc;
    return rapt__strlcpy(point, m.point, n) ? 0 : -ENAMETOOLONG;
}
