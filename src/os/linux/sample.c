/* sample.c: the kernel counters the monitor reads on every tick.
 *
 * Owns kept-open kernel files (re-read with pread at offset 0), the parsers for /proc/stat,
 * /proc/diskstats, /proc/net/dev and /proc/<pid>/stat, the choice of which block devices are
 * physical disks, and the walk over /proc's process directories. Nothing here computes a rate:
 * readers return cumulative counters and src/lib/monitor.c differences them.
 *
 * Every reader is relative to the sysroot so the unit tests run them against fixture trees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"

/* Paths are absolute as the process would see them; openat() wants them relative to the root. */
static const char *relative(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

int rapt__kfile_open(rapt__kfile *f, const rapt__root *r, const char *path)
{
    f->fd = openat(r->dirfd, relative(path), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    return f->fd < 0 ? -errno : 0;
}

ssize_t rapt__kfile_read(const rapt__kfile *f, char *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    buf[0] = '\0';
    if (f->fd < 0)
        return -EBADF;
    size_t got = 0;
    /* seq_file hands out at most a page-sized chunk per call for some files; continue at the
     * offset reached. The first pread at 0 is what makes the kernel regenerate the content. */
    while (got + 1 < len) {
        ssize_t n = pread(f->fd, buf + got, len - 1 - got, (off_t)got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

void rapt__kfile_close(rapt__kfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

/* ---- parsers ---------------------------------------------------------------------------- */

/* Reads the next blank-separated unsigned number from [*p, end); false when there is none or
 * it is malformed. The number must end at a blank, a newline or the end: "12abc" is garbage,
 * not 12, so a format change in the kernel is noticed instead of read wrongly. */
static bool next_u64(const char **p, const char *end, uint64_t *out)
{
    const char *q = *p;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    const char *s = q;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    if (q == s || (q < end && *q != ' ' && *q != '\t' && *q != '\n'))
        return false;
    if (rapt__parse_u64(s, (size_t)(q - s), out) < 0)
        return false;
    *p = q;
    return true;
}

/* The same for a signed number that must not be negative (cutime and rss are `long` in the
 * kernel's format but never below zero in practice); a negative one reads as 0. */
static bool next_nonneg(const char **p, const char *end, uint64_t *out)
{
    const char *q = *p;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (q < end && *q == '-') {
        uint64_t ignored;
        q++;
        if (!next_u64(&q, end, &ignored))
            return false;
        *out = 0;
        *p = q;
        return true;
    }
    *p = q;
    return next_u64(p, end, out);
}

int rapt__parse_proc_stat(const char *buf, rapt__cpu_times *out)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(buf, "cpu ", 4) != 0)
        return -EINVAL;
    const char *end = strchr(buf, '\n');
    if (!end)
        end = buf + strlen(buf);
    const char *p = buf + 4;
    uint64_t *f[] = {&out->user,   &out->nice, &out->system,  &out->idle,
                     &out->iowait, &out->irq,  &out->softirq, &out->steal};
    size_t got = 0;
    /* Linux 2.6 and later have at least user..softirq; steal arrived in 2.6.11. Guest time
     * (fields 9 and 10) is already counted in user and nice, so it is not read. */
    while (got < RAPT__ARRAY_SIZE(f) && next_u64(&p, end, f[got]))
        got++;
    return got >= 4 ? 0 : -EINVAL;
}

/* Copies a device name of [s, s+n) into out; false when it is empty or too long. */
static bool copy_name(char out[RAPT__DEVNAME_MAX], const char *s, size_t n)
{
    if (n == 0 || n >= RAPT__DEVNAME_MAX)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

int rapt__parse_diskstats_line(const char *line, size_t len, rapt__devstat *out)
{
    /* "   8       0 sda 61702 9517 4666538 16459 9146 11160 1759752 5039 ..."
     * major minor name, then reads, reads merged, sectors read, ms reading, writes, writes
     * merged, sectors written, ... (Documentation/admin-guide/iostats.rst). */
    const char *p = line, *end = line + len;
    uint64_t major, minor, v[7];
    if (!next_u64(&p, end, &major) || !next_u64(&p, end, &minor))
        return -EINVAL;
    while (p < end && *p == ' ')
        p++;
    const char *name = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    if (!copy_name(out->name, name, (size_t)(p - name)))
        return -EINVAL;
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(v); i++) {
        if (!next_u64(&p, end, &v[i]))
            return -EINVAL;
    }
    /* Sector counts overflow only after 2^55 sectors; saturate rather than wrap. */
    out->a = v[2] > UINT64_MAX / 512 ? UINT64_MAX : v[2] * 512;
    out->b = v[6] > UINT64_MAX / 512 ? UINT64_MAX : v[6] * 512;
    return 0;
}

int rapt__parse_netdev_line(const char *line, size_t len, rapt__devstat *out)
{
    /* "  eth0: 146064279 2636 0 0 0 0 0 0 102514 1437 0 0 0 0 0 0": receive bytes, packets,
     * errs, drop, fifo, frame, compressed, multicast, then the same eight for transmit. Large
     * counters can touch the colon ("eth0:146064279"). Interface names cannot contain ':'. */
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return -EINVAL;
    const char *s = line;
    while (s < colon && *s == ' ')
        s++;
    if (!copy_name(out->name, s, (size_t)(colon - s)) || strchr(out->name, ' '))
        return -EINVAL;
    const char *p = colon + 1, *end = line + len;
    uint64_t v[9];
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(v); i++) {
        if (!next_u64(&p, end, &v[i]))
            return -EINVAL;
    }
    out->a = v[0];
    out->b = v[8];
    return 0;
}

int rapt__parse_pid_stat(const char *buf, rapt__pidstat *out)
{
    memset(out, 0, sizeof(*out));
    const char *open_paren = strchr(buf, '(');
    const char *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return -EINVAL;
    uint64_t pid;
    const char *p = buf;
    if (!next_u64(&p, open_paren, &pid) || pid == 0 || pid > INT32_MAX)
        return -EINVAL;
    const char *end = buf + strlen(buf);
    p = close_paren + 1;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p < 'A' || *p > 'z')
        return -EINVAL;
    out->pid = (pid_t)pid;
    out->state = *p++;
    /* Fields 4.. of proc(5), numbered from 1: ppid pgrp session tty_nr tpgid flags minflt
     * cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
     * starttime vsize rss. */
    uint64_t f[21];
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(f); i++) {
        bool ok;
        /* tty_nr, tpgid, cutime, cstime, priority, nice and rss are signed. */
        if (i == 3 || i == 4 || i == 12 || i == 13 || i == 14 || i == 15 || i == 20)
            ok = next_nonneg(&p, end, &f[i]);
        else
            ok = next_u64(&p, end, &f[i]);
        if (!ok)
            return -EINVAL;
    }
    if (f[0] > INT32_MAX || f[1] > INT32_MAX)
        return -EINVAL;
    out->ppid = (pid_t)f[0];
    out->pgrp = (pid_t)f[1];
    out->utime = f[10];
    out->stime = f[11];
    out->cutime = f[12];
    out->cstime = f[13];
    out->starttime = f[18];
    out->rss_pages = f[20];
    return 0;
}

/* ---- disks and interfaces ------------------------------------------------------------------ */

int rapt__disks_open(rapt__diskreader *d, const rapt__root *r)
{
    memset(d, 0, sizeof(*d));
    d->root = r;
    return rapt__kfile_open(&d->file, r, "/proc/diskstats");
}

void rapt__disks_close(rapt__diskreader *d)
{
    rapt__kfile_close(&d->file);
}

static bool disk_is_physical(rapt__diskreader *d, const char *name)
{
    for (size_t i = 0; i < d->nseen; i++) {
        if (strcmp(d->seen[i].name, name) == 0)
            return d->seen[i].physical;
    }
    /* A name with a '/' cannot be a sysfs entry (and must not walk the tree). */
    char path[RAPT__DEVNAME_MAX + 32];
    struct stat st;
    bool physical = !strchr(name, '/') &&
                    rapt__bufprintf(path, sizeof(path), "sys/block/%s/device", name) &&
                    fstatat(d->root->dirfd, path, &st, 0) == 0;
    /* The cache is bounded; past it the verdict is recomputed each time, which only costs. */
    if (d->nseen < RAPT__ARRAY_SIZE(d->seen)) {
        rapt__strlcpy(d->seen[d->nseen].name, name, RAPT__DEVNAME_MAX);
        d->seen[d->nseen].physical = physical;
        d->nseen++;
    }
    return physical;
}

/* Lines that do not parse (a kernel with another field count for some device) are skipped one
 * by one; the others still count. A full buffer truncates the last line, which then fails to
 * parse rather than being read short. */
int rapt__disks_read(rapt__diskreader *d, char *buf, size_t len, rapt__devstat *out, size_t max,
                     size_t *n)
{
    *n = 0;
    ssize_t got = rapt__kfile_read(&d->file, buf, len);
    if (got < 0)
        return (int)got;
    for (const char *p = buf; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        rapt__devstat ds;
        if (*n < max && rapt__parse_diskstats_line(p, l, &ds) == 0 && disk_is_physical(d, ds.name))
            out[(*n)++] = ds;
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

int rapt__netdev_read(const rapt__kfile *f, char *buf, size_t len, rapt__devstat *out, size_t max,
                      size_t *n)
{
    *n = 0;
    ssize_t got = rapt__kfile_read(f, buf, len);
    if (got < 0)
        return (int)got;
    for (const char *p = buf; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        rapt__devstat ds;
        /* The two header lines have no "name:" followed by numbers and fail to parse. */
        if (*n < max && rapt__parse_netdev_line(p, l, &ds) == 0 && strcmp(ds.name, "lo") != 0)
            out[(*n)++] = ds;
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

/* ---- processes ---------------------------------------------------------------------------- */

int rapt__pid_stat_open(rapt__kfile *f, const rapt__root *r, pid_t pid)
{
    char path[64];
    rapt__bufprintf(path, sizeof(path), "proc/%ld/stat", (long)pid);
    f->fd = openat(r->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    return f->fd < 0 ? -errno : 0;
}

int rapt__procscan_open(rapt__procscan *s, const rapt__root *r)
{
    s->dir = NULL;
    int fd = openat(r->dirfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    s->dir = d;
    return 0;
}

void rapt__procscan_rewind(rapt__procscan *s)
{
    if (s->dir)
        rewinddir((DIR *)s->dir);
}

/* /proc lists only thread-group leaders as numeric entries, so every pid here is a process,
 * never a thread; entries whose names are not plain positive numbers are skipped. */
int rapt__procscan_next(rapt__procscan *s, pid_t *pid)
{
    if (!s->dir)
        return 0;
    struct dirent *e;
    while ((e = readdir((DIR *)s->dir))) {
        uint64_t v;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        if (rapt__parse_u64(e->d_name, SIZE_MAX, &v) < 0 || v > INT32_MAX)
            continue;
        *pid = (pid_t)v;
        return 1;
    }
    return 0;
}

void rapt__procscan_close(rapt__procscan *s)
{
    if (s->dir)
        closedir((DIR *)s->dir);
    s->dir = NULL;
}
