/* hashfiles: SHA-256 of many files at once, in bounded memory (a librapt example).
 *
 *   rapt-hashfiles [-j THREADS] [-b BUDGET] [-c CHUNK] [-s] FILE...
 *
 * Prints "<sha256>  <file>" lines in the order of the arguments, like sha256sum(1). Each file
 * is one task of a rapt pool. A file up to CHUNK bytes (default 4M) is read whole into memory;
 * a larger one is streamed through a CHUNK-sized buffer. Either way the task's memory estimate
 * is exactly what it will allocate, and its buffer comes from the task's own arena, so the
 * pool's budget (BUDGET, default 16M, or the machine's budget with -b 0) bounds the memory all
 * running tasks hold together: a task starts only when its estimate fits. -s prints the pool's
 * figures to stderr (peak memory held against the budget, waits for memory).
 *
 * The hash is nettle's SHA-256; the example is about scheduling the reading, not hashing.
 */
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapt/rapt.h>

typedef struct job {
    const char *path;
    uint64_t size;
    uint64_t chunk; /* buffer size = the memory estimate */
    char hex[SHA256_DIGEST_SIZE * 2 + 1];
    int err;
} job;

static int hash_file(rapt_task *t, void *arg)
{
    job *j = arg;
    rapt_arena *a = rapt_task_arena(t);
    unsigned char *buf = NULL;
    /* The whole estimate is ours, less the arena's block header. */
    int r = rapt_arena_alloc(a, (size_t)j->chunk - 64, (void **)&buf);
    if (r < 0)
        return r;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    for (;;) {
        ssize_t n = read(fd, buf, (size_t)j->chunk - 64);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        sha256_update(&ctx, (size_t)n, buf);
        if ((r = rapt_task_check(t)) != 0)
            break;
    }
    close(fd);
    if (r == 0) {
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256_digest(&ctx, sizeof(d), d);
        for (size_t i = 0; i < sizeof(d); i++)
            snprintf(j->hex + 2 * i, 3, "%02x", d[i]);
    }
    return r;
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-j THREADS] [-b BUDGET] [-c CHUNK] [-s] FILE...\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    unsigned threads = 0;
    uint64_t budget = 16 << 20, chunk = 4 << 20;
    bool stats = false;
    int c;
    while ((c = getopt(argc, argv, "j:b:c:s")) != -1) {
        switch (c) {
        case 'j': threads = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'b':
            if (rapt_size_parse(optarg, &budget) < 0)
                return usage(argv[0]);
            break;
        case 'c':
            if (rapt_size_parse(optarg, &chunk) < 0 || chunk < 4096)
                return usage(argv[0]);
            break;
        case 's': stats = true; break;
        default: return usage(argv[0]);
        }
    }
    if (optind >= argc)
        return usage(argv[0]);
    size_t n = (size_t)(argc - optind);
    job *jobs = calloc(n, sizeof(*jobs));
    rapt_future **fut = calloc(n, sizeof(*fut));
    if (!jobs || !fut)
        return 3;

    rapt_pool_opts po;
    rapt_pool_opts_init(&po);
    po.threads = threads;   /* 0: the machine's effective CPUs */
    po.mem_budget = budget; /* 0: the machine's memory budget */
    po.name = "hash";
    rapt_pool *pool = NULL;
    int r = rapt_pool_create(&pool, &po);
    if (r < 0) {
        fprintf(stderr, "rapt-hashfiles: %s\n", rapt_strerror(r));
        return 3;
    }
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        j->path = argv[optind + (int)i];
        struct stat st;
        if (stat(j->path, &st) < 0) {
            j->err = -errno;
            continue;
        }
        j->size = (uint64_t)st.st_size;
        /* Small files whole, large ones streamed: the buffer is the whole memory estimate. */
        j->chunk = (j->size < chunk ? j->size : chunk) + 64;
        if (j->chunk < 4096)
            j->chunk = 4096;
        rapt_task_opts to;
        rapt_task_opts_init(&to);
        to.mem_estimate = j->chunk;
        to.arena = true;
        j->err = rapt_pool_submit(pool, hash_file, j, &to, &fut[i]);
    }
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        if (fut[i]) {
            rapt_task_result res;
            rapt_future_wait(fut[i], &res);
            j->err = res.status;
            rapt_future_release(fut[i]);
        }
        if (j->err) {
            fprintf(stderr, "rapt-hashfiles: %s: %s\n", j->path, rapt_strerror(j->err));
            status = 1;
            continue;
        }
        printf("%s  %s\n", j->hex, j->path);
    }
    if (stats) {
        rapt_pool_stats ps;
        rapt_pool_stats_get(pool, &ps);
        fprintf(stderr,
                "rapt-hashfiles: %llu files, %u threads, budget %llu bytes, peak held %llu "
                "bytes, %llu waited for memory\n",
                (unsigned long long)ps.completed, ps.threads, (unsigned long long)ps.mem_budget,
                (unsigned long long)ps.mem_peak_held, (unsigned long long)ps.mem_waits);
    }
    rapt_pool_destroy(pool);
    free(jobs);
    free(fut);
    if (fflush(stdout) != 0 || ferror(stdout))
        return 3;
    return status;
}
