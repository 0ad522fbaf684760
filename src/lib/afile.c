/* afile.c: atomic replacement of a file (temporary file, fsync, rename, fsync of the directory).
 *
 * Owns the temporary file between open and commit/abort. Used for reports and anything else a
 * reader must never see half-written (see internal.h). POSIX calls only.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int rapt__afile_open(rapt__afile *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    if (!path || !*path)
        return -EINVAL;
    size_t n = strlen(path) + 48;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        return -ENOMEM;
    }
    /* A name of our own in the target's directory (rename cannot cross file systems). The
     * counter makes names unique between threads of one process, O_EXCL between processes;
     * 0666 lets the umask decide the final mode, as for any file a program creates. */
    static unsigned counter;
    int fd = -1;
    for (int tries = 0; tries < 16 && fd < 0; tries++) {
        unsigned k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        snprintf(a->tmp, n, "%s.tmp-%ld-%u", path, (long)getpid(), k);
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(a->path);
        free(a->tmp);
        memset(a, 0, sizeof(*a));
        return -e;
    }
    a->f = fdopen(fd, "w");
    if (!a->f) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        free(a->path);
        free(a->tmp);
        memset(a, 0, sizeof(*a));
        return -e;
    }
    return 0;
}

static void release(rapt__afile *a)
{
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof(*a));
}

void rapt__afile_abort(rapt__afile *a)
{
    if (!a->f)
        return;
    fclose(a->f);
    unlink(a->tmp);
    release(a);
}

/* fsyncs the directory holding path, so a completed rename is durable. Best effort: once the
 * rename is done the new content is in place (and its data synced), so failing the call now
 * would misreport it; some file systems cannot fsync a directory at all (EINVAL). */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return;
    (void)fsync(fd);
    close(fd);
}

int rapt__afile_commit(rapt__afile *a)
{
    if (!a->f)
        return -EINVAL;
    int rc = 0;
    errno = 0;
    if (fflush(a->f) != 0 || ferror(a->f))
        rc = errno ? -errno : -EIO;
    if (rc == 0 && fsync(fileno(a->f)) < 0)
        rc = -errno;
    if (fclose(a->f) != 0 && rc == 0)
        rc = -errno;
    a->f = NULL;
    if (rc == 0 && rename(a->tmp, a->path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(a->tmp);
    else
        sync_dir(a->path);
    release(a);
    return rc;
}
