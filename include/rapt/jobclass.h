/* rapt/jobclass.h: what kind of job this is, and what about it predicts its cost.
 *
 * A job's *class* groups the jobs whose resource use is learned together. By default it is the
 * command template as given, joined with single spaces ("gzip -k {}"), the same string the
 * events stream writes as `class`; `rapt run --class NAME` overrides it.
 *
 * A job's *features* are what the model (rapt/model.h) may use to tell jobs of one class apart:
 *   - input_bytes: the total size of the job's arguments that name existing regular files
 *     (symbolic links followed; directories, devices, FIFOs and missing names count nothing);
 *   - the arguments themselves, as a digest: the first 16 bytes of SHA-256 over every argument
 *     length-prefixed, so ("a b") and ("a", "b") differ. Two jobs with the same digest ran the
 *     same command on the same arguments; the digest is stored in the history, not the values.
 *
 * Pure functions except rapt_jobclass_features(), which stats files. Thread-safe.
 */
#ifndef RAPT_JOBCLASS_H
#define RAPT_JOBCLASS_H

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RAPT_DIGEST_SIZE 16 /* bytes in an argument digest */
#define RAPT_DIGEST_HEX  33 /* bytes of its hex form, with the NUL */

typedef struct rapt_features {
    bool has_input;       /* at least one argument named a regular file */
    uint64_t input_bytes; /* sum of their sizes (saturating); 0 when !has_input */
    unsigned input_files; /* how many arguments named regular files */
    uint8_t digest[RAPT_DIGEST_SIZE];
} rapt_features;

typedef struct rapt_jobclass_opts {
    int dirfd;          /* directory relative names are resolved in; default AT_FDCWD */
    unsigned max_files; /* stat at most this many arguments (0 = all); the rest are hashed only */
} rapt_jobclass_opts;

RAPT_API void rapt_jobclass_opts_init(rapt_jobclass_opts *o);

/* The default class of a command template: the words joined with single spaces. Writes a
 * NUL-terminated string into buf; returns 0, -EINVAL (NULL arguments, n == 0) or -ENOBUFS when
 * it does not fit (buf then holds a truncated, terminated prefix). Thread-safe. */
RAPT_API int rapt_jobclass_name(const char *const *words, size_t n, char *buf, size_t len);

/* Features of one job from its input values (the arguments that fill the template, not the
 * whole command line). Returns 0 or -EINVAL. Never fails because of a file: an argument that
 * cannot be stat'ed is simply not an input file. o may be NULL for the defaults. */
RAPT_API int rapt_jobclass_features(const char *const *args, size_t nargs,
                                    const rapt_jobclass_opts *o, rapt_features *out);

/* Only the digest of args (no file system access). Returns 0 or -EINVAL. */
RAPT_API int rapt_jobclass_digest(const char *const *args, size_t nargs,
                                  uint8_t out[RAPT_DIGEST_SIZE]);

/* Lower-case hex of a digest into buf (RAPT_DIGEST_HEX bytes). Returns buf. */
RAPT_API char *rapt_digest_hex(const uint8_t d[RAPT_DIGEST_SIZE], char buf[RAPT_DIGEST_HEX]);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_JOBCLASS_H */
