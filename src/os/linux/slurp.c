/* slurp.c: reading small kernel files relative to a sysroot.
 *
 * Owns the sysroot directory fd. Every /proc and /sys read in librapt goes through here, so
 * tests can point the whole library at a fixture tree (tests/fixtures/<scenario>).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"

int rapt__root_open(rapt__root *r, const char *sysroot)
{
    if (!sysroot || !*sysroot)
        sysroot = "/";
    r->dirfd = -1;
    r->cache = NULL;
    if (!rapt__strlcpy(r->path, sysroot, sizeof(r->path)))
        return -ENAMETOOLONG;
    int fd = open(sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r->dirfd = fd;
    return 0;
}

void rapt__root_close(rapt__root *r)
{
    if (r->dirfd >= 0)
        close(r->dirfd);
    r->dirfd = -1;
}

/* Paths are absolute as the process would see them; openat() wants them relative to the
 * root's fd. A path of "/" alone names the root itself. */
static const char *relative(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

void rapt__fdcache_init(rapt__fdcache *c)
{
    c->n = 0;
}

void rapt__fdcache_close(rapt__fdcache *c)
{
    for (size_t i = 0; i < c->n; i++)
        close(c->e[i].fd);
    c->n = 0;
}

/* Reads from offset 0 to EOF or a full buffer. pread() rather than read(), so a kept fd is
 * re-read from the start: a kernel file regenerates its content on a read at offset 0. Kernel
 * pseudo-files may return less than asked per call; loop until EOF or full. */
static ssize_t read_whole(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = pread(fd, buf + got, len - 1 - got, (off_t)got);
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

ssize_t rapt__slurp(const rapt__root *r, const char *path, char *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    buf[0] = '\0';
    rapt__fdcache *c = r->cache;
    if (c) {
        for (size_t i = 0; i < c->n; i++) {
            if (strcmp(c->e[i].path, path) != 0)
                continue;
            ssize_t got = read_whole(c->e[i].fd, buf, len);
            if (got >= 0)
                return got;
            /* The file went away under its fd (a removed cgroup): forget it and open the
             * path afresh, which reports what is there now. */
            close(c->e[i].fd);
            c->e[i] = c->e[--c->n];
            break;
        }
    }
    int fd = openat(r->dirfd, relative(path), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    ssize_t got = read_whole(fd, buf, len);
    if (got >= 0 && c && c->n < RAPT__FDCACHE_MAX && strlen(path) < sizeof(c->e[0].path)) {
        c->e[c->n].fd = fd;
        strcpy(c->e[c->n].path, path);
        c->n++;
        return got;
    }
    close(fd);
    return got;
}

bool rapt__exists(const rapt__root *r, const char *path)
{
    struct stat st;
    return fstatat(r->dirfd, relative(path), &st, 0) == 0;
}
