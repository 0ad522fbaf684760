/* internal.h: helpers shared by librapt's files and the CLI, never installed.
 *
 * Names here carry the rapt__ prefix. Nothing in this header is part of the ABI.
 */
#ifndef RAPT_INTERNAL_H
#define RAPT_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rapt/common.h"

#define RAPT__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RAPT__MIN(a, b)     ((a) < (b) ? (a) : (b))
#define RAPT__MAX(a, b)     ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define RAPT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define RAPT__UNUSED       __attribute__((unused))
#else
#define RAPT__PRINTF(f, a)
#define RAPT__UNUSED
#endif

/* Saturating arithmetic on sizes: counters from the kernel can move between two reads. */
static inline uint64_t rapt__sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static inline uint64_t rapt__sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Copies src into dst (size n >= 1), always NUL-terminating; returns true when it fit. */
bool rapt__strlcpy(char *dst, const char *src, size_t n);

/* snprintf into a fixed buffer; returns true when the output was not truncated. */
bool rapt__bufprintf(char *dst, size_t n, const char *fmt, ...) RAPT__PRINTF(3, 4);

/* Strict unsigned decimal parse of [s, s+len) (len SIZE_MAX = up to NUL). Leading/trailing
 * blanks are not accepted. Returns 0, -EINVAL or -ERANGE. */
int rapt__parse_u64(const char *s, size_t len, uint64_t *out);

/* Strict signed decimal parse; same rules as rapt__parse_u64 with an optional '-'. */
int rapt__parse_i64(const char *s, size_t len, int64_t *out);

/* Strict finite double parse of a NUL-terminated string (no hex, inf or nan). */
int rapt__parse_double(const char *s, double *out);

/* Monotonic and wall clocks in nanoseconds. */
uint64_t rapt__now_ns(void);
uint64_t rapt__wall_ns(void);

/* ---- JSON writer (src/lib/json.c) ------------------------------------------------------------
 * A streaming writer with automatic commas, used wherever rapt emits JSON (info, plan, events,
 * reports). It never allocates, so it is safe on the dispatch path; it writes into a FILE*.
 * Why not a library: emission is the easy half of JSON and sits on the per-job hot path
 * (events are written and flushed once per job); the parsing half uses a library (jansson).
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD. */
#define RAPT__JSON_DEPTH 32
typedef struct rapt__jw {
    FILE *f;
    int depth;
    bool pretty;
    bool first[RAPT__JSON_DEPTH];  /* nothing written yet on this level */
    char closer[RAPT__JSON_DEPTH]; /* '}' or ']' for each open level */
    bool after_key;
} rapt__jw;

void rapt__jw_init(rapt__jw *w, FILE *f, bool pretty);
void rapt__jw_obj(rapt__jw *w); /* { */
void rapt__jw_arr(rapt__jw *w); /* [ */
void rapt__jw_end(rapt__jw *w); /* } or ] */
void rapt__jw_key(rapt__jw *w, const char *k);
void rapt__jw_str(rapt__jw *w, const char *s);
void rapt__jw_strn(rapt__jw *w, const char *s, size_t n);
void rapt__jw_u64(rapt__jw *w, uint64_t v);
void rapt__jw_i64(rapt__jw *w, int64_t v);
void rapt__jw_dbl(rapt__jw *w, double v); /* non-finite values are written as null */
/* A number with exactly `decimals` digits after the point (0 to 9): timestamps and durations
 * keep every digit, where %.6g would print 1795000000.0001 as 1.795e+09. */
void rapt__jw_fixed(rapt__jw *w, double v, int decimals);
void rapt__jw_bool(rapt__jw *w, bool v);
void rapt__jw_null(rapt__jw *w);
/* Finishes a top-level value with a newline. */
void rapt__jw_done(rapt__jw *w);

/* Escapes s as a JSON string (with quotes) into f. */
void rapt__json_escape(FILE *f, const char *s, size_t n);

#endif /* RAPT_INTERNAL_H */
