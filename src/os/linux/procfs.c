/* procfs.c: /proc and /sys readers for host-level facts.
 *
 * Owns the parsers for /proc/meminfo, CPU lists, /proc/self/status, /proc/self/limits,
 * "key value" files and PSI, and the probes for online CPUs, the affinity mask, host memory,
 * rlimits and pressure. Every parser is bounded by its buffer and refuses what it does not
 * understand rather than guessing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

/* Advances past the current line; returns the start of the next or NULL at the end. */
static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : NULL;
}

static size_t line_len(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? (size_t)(nl - p) : strlen(p);
}

int rapt__parse_meminfo(const char *buf, rapt__meminfo *out)
{
    /* Pointers into *out rather than offsets: type-checked, and no casts that lose alignment. */
    const struct {
        const char *key;
        uint64_t *val;
        bool *ok;
    } keys[] = {
        {"MemTotal", &out->total, &out->total_ok},
        {"MemFree", &out->free, &out->free_ok},
        {"MemAvailable", &out->available, &out->available_ok},
        {"Buffers", &out->buffers, &out->buffers_ok},
        {"Cached", &out->cached, &out->cached_ok},
        {"SwapTotal", &out->swap_total, &out->swap_total_ok},
        {"SwapFree", &out->swap_free, &out->swap_free_ok},
    };
    memset(out, 0, sizeof(*out));
    for (const char *p = buf; p && *p; p = next_line(p)) {
        size_t len = line_len(p);
        const char *colon = memchr(p, ':', len);
        if (!colon)
            continue;
        size_t klen = (size_t)(colon - p);
        for (size_t i = 0; i < RAPT__ARRAY_SIZE(keys); i++) {
            if (strlen(keys[i].key) != klen || memcmp(p, keys[i].key, klen) != 0)
                continue;
            /* "MemTotal:       24684096 kB" */
            const char *v = colon + 1, *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            const char *d = v;
            while (d < end && *d >= '0' && *d <= '9')
                d++;
            uint64_t n;
            if (rapt__parse_u64(v, (size_t)(d - v), &n) < 0)
                break;
            while (d < end && *d == ' ')
                d++;
            uint64_t mult = 1;
            if (end - d == 2 && memcmp(d, "kB", 2) == 0)
                mult = 1024;
            else if (d != end)
                break; /* an unknown unit: leave the field unknown */
            if (n > UINT64_MAX / mult)
                break;
            *keys[i].val = n * mult;
            *keys[i].ok = true;
            break;
        }
    }
    return out->total_ok ? 0 : -EINVAL;
}

int rapt__parse_cpulist(const char *buf, size_t len, unsigned *count)
{
    if (len == SIZE_MAX)
        len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    if (len == 0)
        return -EINVAL;
    unsigned total = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && buf[j] != ',')
            j++;
        const char *dash = memchr(buf + i, '-', j - i);
        uint64_t lo, hi;
        if (dash) {
            if (rapt__parse_u64(buf + i, (size_t)(dash - (buf + i)), &lo) < 0 ||
                rapt__parse_u64(dash + 1, (size_t)(buf + j - dash - 1), &hi) < 0)
                return -EINVAL;
        } else {
            if (rapt__parse_u64(buf + i, j - i, &lo) < 0)
                return -EINVAL;
            hi = lo;
        }
        /* Linux supports at most 8192 CPU ids (NR_CPUS); anything beyond is garbage. */
        if (hi < lo || hi >= 65536)
            return -EINVAL;
        total += (unsigned)(hi - lo + 1);
        i = j + 1;
        if (j == len - 1 && buf[j] == ',')
            return -EINVAL; /* trailing comma */
    }
    if (total == 0)
        return -EINVAL;
    *count = total;
    return 0;
}

int rapt__find_status_field(const char *buf, const char *key, const char **val, size_t *len)
{
    size_t klen = strlen(key);
    for (const char *p = buf; p && *p; p = next_line(p)) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            const char *v = p + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            *val = v;
            *len = line_len(v);
            return 0;
        }
    }
    return -ENOENT;
}

int rapt__parse_limits(const char *buf, const char *name, uint64_t *soft, bool *unlimited)
{
    /* "Max address space         unlimited            unlimited            bytes"
     * The name is padded to a fixed column; the soft limit is the next word. */
    size_t nlen = strlen(name);
    for (const char *p = buf; p && *p; p = next_line(p)) {
        if (strncmp(p, name, nlen) != 0 || (p[nlen] != ' ' && p[nlen] != '\t'))
            continue;
        const char *v = p + nlen, *end = p + line_len(p);
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        const char *w = v;
        while (w < end && *w != ' ' && *w != '\t')
            w++;
        if ((size_t)(w - v) == 9 && memcmp(v, "unlimited", 9) == 0) {
            *unlimited = true;
            *soft = UINT64_MAX;
            return 0;
        }
        *unlimited = false;
        return rapt__parse_u64(v, (size_t)(w - v), soft) < 0 ? -EINVAL : 0;
    }
    return -ENOENT;
}

int rapt__parse_u64_line(const char *buf, uint64_t *out)
{
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    return rapt__parse_u64(buf, len, out);
}

int rapt__parse_i64_line(const char *buf, int64_t *out)
{
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    return rapt__parse_i64(buf, len, out);
}

int rapt__parse_kv(const char *buf, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *p = buf; p && *p; p = next_line(p)) {
        if (strncmp(p, key, klen) != 0 || p[klen] != ' ')
            continue;
        const char *v = p + klen + 1;
        return rapt__parse_u64(v, line_len(v), out) < 0 ? -EINVAL : 0;
    }
    return -ENOENT;
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" */
static int parse_psi_line(const char *p, size_t len, rapt_psi_line *out)
{
    char line[256];
    if (len >= sizeof(line))
        return -EINVAL;
    memcpy(line, p, len);
    line[len] = '\0';
    const char *fields[] = {"avg10=", "avg60=", "avg300=", "total="};
    double *dst[] = {&out->avg10, &out->avg60, &out->avg300};
    char *save = NULL, *tok = strtok_r(line, " ", &save); /* "some" / "full" */
    for (size_t i = 0; i < 4; i++) {
        tok = strtok_r(NULL, " ", &save);
        if (!tok || strncmp(tok, fields[i], strlen(fields[i])) != 0)
            return -EINVAL;
        const char *v = tok + strlen(fields[i]);
        if (i < 3) {
            double d;
            if (rapt__parse_double(v, &d) < 0 || d < 0 || d > 100)
                return -EINVAL;
            *dst[i] = d;
        } else if (rapt__parse_u64(v, SIZE_MAX, &out->total_us) < 0) {
            return -EINVAL;
        }
    }
    out->known = true;
    return 0;
}

int rapt__parse_psi(const char *buf, rapt_psi_res *out)
{
    out->some.known = out->full.known = false;
    for (const char *p = buf; p && *p; p = next_line(p)) {
        size_t len = line_len(p);
        if (len >= 5 && memcmp(p, "some ", 5) == 0) {
            if (parse_psi_line(p, len, &out->some) < 0)
                return -EINVAL;
        } else if (len >= 5 && memcmp(p, "full ", 5) == 0) {
            if (parse_psi_line(p, len, &out->full) < 0)
                return -EINVAL;
        } else if (len > 0) {
            return -EINVAL;
        }
    }
    out->known = out->some.known;
    return out->known ? 0 : -EINVAL;
}

void rapt__qty_unknown(rapt_qty *q, const char *where, const char *why)
{
    q->state = RAPT_QTY_UNKNOWN;
    q->value = 0;
    rapt__strlcpy(q->where, where, sizeof(q->where));
    rapt__strlcpy(q->why, why, sizeof(q->why));
}

void rapt__qty_known(rapt_qty *q, const char *where, uint64_t v)
{
    q->state = RAPT_QTY_KNOWN;
    q->value = v;
    rapt__strlcpy(q->where, where, sizeof(q->where));
    q->why[0] = '\0';
}

void rapt__qty_unlimited(rapt_qty *q, const char *where)
{
    q->state = RAPT_QTY_UNLIMITED;
    q->value = UINT64_MAX;
    rapt__strlcpy(q->where, where, sizeof(q->where));
    q->why[0] = '\0';
}

void rapt__qty_read_failed(rapt_qty *q, const char *where, ssize_t err)
{
    char why[RAPT_SYS_WHY_MAX];
    rapt__bufprintf(why, sizeof(why), "cannot read: %s", rapt_strerror((int)err));
    rapt__qty_unknown(q, where, why);
}

void rapt__probe_cpu(const rapt__root *r, rapt_sys_info *info)
{
    char buf[8192];
    const char *online = "/sys/devices/system/cpu/online";
    ssize_t n = rapt__slurp(r, online, buf, sizeof(buf));
    unsigned count;
    if (n < 0)
        rapt__qty_read_failed(&info->cpu.online, online, n);
    else if (rapt__parse_cpulist(buf, (size_t)n, &count) < 0)
        rapt__qty_unknown(&info->cpu.online, online, "malformed CPU list");
    else
        rapt__qty_known(&info->cpu.online, online, count);

    /* The affinity mask as the kernel reports it for this process; it already reflects cpusets
     * and taskset. Reading the file rather than calling sched_getaffinity() keeps it under the
     * sysroot, so fixtures cover it. */
    const char *status = "/proc/self/status";
    n = rapt__slurp(r, status, buf, sizeof(buf));
    const char *val;
    size_t vlen;
    if (n < 0) {
        rapt__qty_read_failed(&info->cpu.affinity, status, n);
    } else if (rapt__find_status_field(buf, "Cpus_allowed_list", &val, &vlen) < 0) {
        rapt__qty_unknown(&info->cpu.affinity, status, "no Cpus_allowed_list line");
    } else if (rapt__parse_cpulist(val, vlen, &count) < 0) {
        rapt__qty_unknown(&info->cpu.affinity, status, "malformed Cpus_allowed_list");
    } else {
        rapt__qty_known(&info->cpu.affinity, "/proc/self/status Cpus_allowed_list", count);
    }
}

static void probe_rlimit(const char *buf, ssize_t n, const char *name, rapt_qty *q)
{
    const char *where = "/proc/self/limits";
    uint64_t soft;
    bool unl;
    if (n < 0) {
        rapt__qty_read_failed(q, where, n);
        return;
    }
    int rc = rapt__parse_limits(buf, name, &soft, &unl);
    char w[RAPT_SYS_WHERE_MAX];
    rapt__bufprintf(w, sizeof(w), "%s %s", where, name);
    if (rc == -ENOENT)
        rapt__qty_unknown(q, w, "row missing");
    else if (rc < 0)
        rapt__qty_unknown(q, w, "malformed row");
    else if (unl)
        rapt__qty_unlimited(q, w);
    else
        rapt__qty_known(q, w, soft);
}

/* Host memory and rlimits; the cgroup side is in cgroup.c. */
void rapt__probe_host_memory(const rapt__root *r, rapt_sys_info *info)
{
    char buf[8192];
    const char *meminfo = "/proc/meminfo";
    ssize_t n = rapt__slurp(r, meminfo, buf, sizeof(buf));
    rapt__meminfo mi;
    rapt_sys_memory *m = &info->mem;
    if (n < 0) {
        rapt__qty_read_failed(&m->host_total, meminfo, n);
        rapt__qty_read_failed(&m->host_available, meminfo, n);
        rapt__qty_read_failed(&m->swap_total, meminfo, n);
        rapt__qty_read_failed(&m->swap_free, meminfo, n);
    } else {
        rapt__parse_meminfo(buf, &mi);
        if (mi.total_ok && mi.total > 0)
            rapt__qty_known(&m->host_total, "/proc/meminfo MemTotal", mi.total);
        else
            rapt__qty_unknown(&m->host_total, meminfo, "no valid MemTotal line");
        if (mi.available_ok) {
            rapt__qty_known(&m->host_available, "/proc/meminfo MemAvailable", mi.available);
        } else if (mi.free_ok && mi.buffers_ok && mi.cached_ok) {
            /* Kernels before 3.14 have no MemAvailable; this is the estimate free(1) used. */
            rapt__qty_known(&m->host_available, "/proc/meminfo MemFree+Buffers+Cached",
                            rapt__sat_add(mi.free, rapt__sat_add(mi.buffers, mi.cached)));
        } else {
            rapt__qty_unknown(&m->host_available, meminfo, "no valid MemAvailable line");
        }
        if (m->host_available.state == RAPT_QTY_KNOWN && m->host_total.state == RAPT_QTY_KNOWN &&
            m->host_available.value > m->host_total.value)
            rapt__qty_unknown(&m->host_available, meminfo, "MemAvailable exceeds MemTotal");
        if (mi.swap_total_ok)
            rapt__qty_known(&m->swap_total, "/proc/meminfo SwapTotal", mi.swap_total);
        else
            rapt__qty_unknown(&m->swap_total, meminfo, "no valid SwapTotal line");
        if (mi.swap_free_ok)
            rapt__qty_known(&m->swap_free, "/proc/meminfo SwapFree", mi.swap_free);
        else
            rapt__qty_unknown(&m->swap_free, meminfo, "no valid SwapFree line");
    }

    n = rapt__slurp(r, "/proc/self/limits", buf, sizeof(buf));
    probe_rlimit(buf, n, "Max address space", &m->rlimit_as);
    probe_rlimit(buf, n, "Max data size", &m->rlimit_data);
}

static void probe_psi_file(const rapt__root *r, const char *path, rapt_psi_res *res)
{
    char buf[512];
    memset(res, 0, sizeof(*res));
    rapt__strlcpy(res->where, path, sizeof(res->where));
    ssize_t n = rapt__slurp(r, path, buf, sizeof(buf));
    if (n < 0) {
        rapt__bufprintf(res->why, sizeof(res->why), "%s",
                        n == -ENOENT ? "not offered by this kernel" : rapt_strerror((int)n));
        return;
    }
    if (rapt__parse_psi(buf, res) < 0) {
        res->known = false;
        res->some.known = res->full.known = false;
        rapt__strlcpy(res->why, "malformed pressure file", sizeof(res->why));
    }
}

void rapt__probe_psi(const rapt__root *r, rapt_sys_info *info)
{
    static const char *const names[] = {"cpu", "memory", "io"};
    rapt_psi_res *sys[] = {&info->psi_system.cpu, &info->psi_system.memory, &info->psi_system.io};
    rapt_psi_res *cg[] = {&info->psi_cgroup.cpu, &info->psi_cgroup.memory, &info->psi_cgroup.io};
    for (size_t i = 0; i < 3; i++) {
        char path[RAPT_SYS_WHERE_MAX];
        rapt__bufprintf(path, sizeof(path), "/proc/pressure/%s", names[i]);
        probe_psi_file(r, path, sys[i]);
        if (info->cgroup.unified_dir[0]) {
            rapt__bufprintf(path, sizeof(path), "%s/%s.pressure",
                            strcmp(info->cgroup.unified_dir, "/") == 0 ? ""
                                                                       : info->cgroup.unified_dir,
                            names[i]);
            probe_psi_file(r, path, cg[i]);
        } else {
            memset(cg[i], 0, sizeof(*cg[i]));
            rapt__strlcpy(cg[i]->why, "no cgroup v2 directory", sizeof(cg[i]->why));
        }
    }
}
