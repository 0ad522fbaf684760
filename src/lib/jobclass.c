/* jobclass.c: a job's class name and its features (input bytes, argument digest).
 *
 * The digest uses nettle's SHA-256 rather than a hand-written hash: it is stored in history files
 * that outlive this binary, so it must never change, and a cryptographic hash means two
 * different argument lists never share a prediction by accident (nor by design of someone who
 * writes file names). Hashing a few hundred bytes costs about a microsecond, nothing next to a
 * process spawn.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <nettle/sha2.h>

#include "internal.h"
#include "rapt/jobclass.h"

void rapt_jobclass_opts_init(rapt_jobclass_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->dirfd = AT_FDCWD;
}

int rapt_jobclass_name(const char *const *words, size_t n, char *buf, size_t len)
{
    if (!words || n == 0 || !buf || len == 0)
        return -EINVAL;
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!words[i])
            return -EINVAL;
        size_t wl = strlen(words[i]);
        size_t need = wl + (i > 0);
        if (at + need >= len) {
            /* Keep what fits so a caller that only logs the name still has something. */
            if (i > 0 && at + 1 < len)
                buf[at++] = ' ';
            size_t room = len - 1 - at;
            memcpy(buf + at, words[i], RAPT__MIN(room, wl));
            buf[at + RAPT__MIN(room, wl)] = '\0';
            return -ENOBUFS;
        }
        if (i > 0)
            buf[at++] = ' ';
        memcpy(buf + at, words[i], wl);
        at += wl;
        buf[at] = '\0';
    }
    return 0;
}

int rapt_jobclass_digest(const char *const *args, size_t nargs, uint8_t out[RAPT_DIGEST_SIZE])
{
    if ((!args && nargs) || !out)
        return -EINVAL;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    for (size_t i = 0; i < nargs; i++) {
        if (!args[i])
            return -EINVAL;
        /* A fixed 8-byte little-endian length before each value makes the encoding injective:
         * no two different argument lists hash the same byte stream. */
        uint64_t l = strlen(args[i]);
        uint8_t lb[8];
        for (int b = 0; b < 8; b++)
            lb[b] = (uint8_t)(l >> (8 * b));
        sha256_update(&ctx, sizeof(lb), lb);
        sha256_update(&ctx, l, (const uint8_t *)args[i]);
    }
    uint8_t full[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof(full), full);
    memcpy(out, full, RAPT_DIGEST_SIZE);
    return 0;
}

int rapt_jobclass_features(const char *const *args, size_t nargs, const rapt_jobclass_opts *o,
                           rapt_features *out)
{
    if (!out)
        return -EINVAL;
    rapt_jobclass_opts def;
    if (!o) {
        rapt_jobclass_opts_init(&def);
        o = &def;
    }
    memset(out, 0, sizeof(*out));
    int rc = rapt_jobclass_digest(args, nargs, out->digest);
    if (rc < 0)
        return rc;
    unsigned stats = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (o->max_files && stats >= o->max_files)
            break;
        /* Empty values and values with no chance of being a path are not worth a syscall. */
        if (args[i][0] == '\0' || strlen(args[i]) >= 4096)
            continue;
        struct stat st;
        stats++;
        if (fstatat(o->dirfd, args[i], &st, 0) < 0 || !S_ISREG(st.st_mode))
            continue;
        out->has_input = true;
        out->input_files++;
        out->input_bytes = rapt__sat_add(out->input_bytes, (uint64_t)st.st_size);
    }
    return 0;
}

char *rapt_digest_hex(const uint8_t d[RAPT_DIGEST_SIZE], char buf[RAPT_DIGEST_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < RAPT_DIGEST_SIZE; i++) {
        buf[2 * i] = hex[d[i] >> 4];
        buf[2 * i + 1] = hex[d[i] & 15];
    }
    buf[2 * RAPT_DIGEST_SIZE] = '\0';
    return buf;
}
