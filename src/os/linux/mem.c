/* mem.c: anonymous memory for arenas, and giving pages back.
 *
 * Owns nothing beyond the calls. MAP_NORESERVE keeps a large, mostly unused arena from counting
 * against overcommit accounting; MADV_DONTNEED drops the pages of free blocks so resident memory
 * follows what an arena really holds.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

int rapt__os_map(size_t len, void **map, size_t *map_len)
{
    size_t pg = page_size();
    if (len == 0 || len > SIZE_MAX - pg)
        return -EINVAL;
    size_t n = (len + pg - 1) / pg * pg;
    void *p =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    *map = p;
    *map_len = n;
    return 0;
}

void rapt__os_unmap(void *map, size_t map_len)
{
    if (map)
        munmap(map, map_len);
}

void rapt__os_release_pages(void *p, size_t len)
{
    size_t pg = page_size();
    uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1);
    uintptr_t hi = ((uintptr_t)p + len) & ~(uintptr_t)(pg - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
