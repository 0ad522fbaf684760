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

ssize_t rapt__slurp(const rapt__root *r, const char *path, char *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    buf[0] = '\0';
    int fd = openat(r->dirfd, relative(path), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    /* Kernel pseudo-files may return less than asked per read(); loop until EOF or full. */
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

bool rapt__exists(const rapt__root *r, const char *path)
{
    struct stat st;
    return fstatat(r->dirfd, relative(path), &st, 0) == 0;
}
