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

/* Formats one message (up to 1023 bytes) and hands it to a handle's log callback; nothing
 * when log is NULL. The one way library modules log. */
void rapt__logf(rapt_log_fn log, void *ud, rapt_log_level lv, const char *fmt, ...)
    RAPT__PRINTF(4, 5);
void rapt__vlogf(rapt_log_fn log, void *ud, rapt_log_level lv, const char *fmt, va_list ap)
    RAPT__PRINTF(4, 0);

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

/* ---- history store (src/lib/history.c) -------------------------------------------------------
 * The fields of a SQLite file header rapt checks before it lets SQLite open a file for writing. */
typedef struct rapt__dbheader {
    uint32_t page_size, pages; /* pages is 0 when the in-header count is not valid */
    uint32_t user_version, app_id;
    bool wal; /* write version 2 */
} rapt__dbheader;

/* Parses the first n bytes of a file of file_size bytes. Returns 0 or RAPT_ECORRUPT (not a
 * SQLite 3 header, impossible fields, or a file shorter than its header says). */
int rapt__history_parse_header(const unsigned char *b, size_t n, uint64_t file_size,
                               rapt__dbheader *out);
/* ---- atomic file replacement (src/lib/afile.c) -------------------------------------------
 * Reports and state files are never seen half-written: the content goes to a temporary file
 * next to the target ("<path>.tmp-<pid>-<n>", created O_EXCL|O_CLOEXEC with mode 0666 less the
 * umask), is fsynced, renamed over the target, and the directory is fsynced so the rename
 * survives a crash. On any failure the target is untouched and the temporary file removed. */
typedef struct rapt__afile {
    FILE *f;    /* write the content here */
    char *tmp;  /* the temporary file's path */
    char *path; /* the target */
} rapt__afile;

/* Creates the temporary file. Returns 0 or -errno (-ENOENT for a missing directory, -EACCES,
 * -EROFS, -ENAMETOOLONG, -ENOMEM); on error *a holds nothing to release. */
int rapt__afile_open(rapt__afile *a, const char *path);
/* Flushes, fsyncs, closes and renames over the target. Returns 0 or -errno; either way *a is
 * released (on error the temporary file is removed). */
int rapt__afile_commit(rapt__afile *a);
/* Closes and removes the temporary file; releases *a. */
void rapt__afile_abort(rapt__afile *a);
/* ---- monitor internals (src/lib/monitor.c), exposed for the unit tests -------------------- */
#include "rapt/monitor.h"

/* The next alert level of a metric at `cur` given value v: a level is entered when v reaches its
 * line and held until v falls below line - hysteresis; an unknown (NaN) value holds the level; a
 * disabled threshold is OK. *line receives the line the change crossed (NaN when none). */
rapt_alert_level rapt__alert_next(rapt_alert_level cur, double v, const rapt_monitor_threshold *t,
                                  double *line);

/* Least-squares trend of the finite values v[i] at times t[i] (seconds). Non-finite values are
 * skipped; fewer than 3 points (or all at one time) give RAPT_TREND_UNKNOWN. Stable when
 * |slope x span| <= max(tol_abs, tol_rel x |mean|). */
void rapt__trend_fit(const double *t, const double *v, size_t n, double tol_abs, double tol_rel,
                     rapt_trend *out);

/* Replaces the monotonic clock a monitor stamps samples with (rates divide by its differences),
 * so tests get exact rates. Set it right after create; the baseline is re-stamped. */
void rapt__monitor_set_clock(rapt_monitor *m, uint64_t (*now)(void *), void *userdata);

/* Stores a synthetic sample as if it had been read: value[], mono_ns and the other fields are
 * taken from *s, seq and level[] are assigned; thresholds, the ring and every callback behave as
 * for a real sample. For tests of alerts and trends. Returns 0, -EINVAL or -EBUSY. */
int rapt__monitor_feed(rapt_monitor *m, const rapt_sample *s);
/* A hint to the CPU inside a spin-wait loop (frees pipeline resources for a sibling
 * hyperthread); a compiler barrier elsewhere. */
static inline void rapt__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* ---- gate internals for the thread pool (src/lib/gate.c) -------------------------------------
 * The pool waits for memory on behalf of a task and must be able to stop that wait when the
 * task is cancelled or the pool shuts down. A waiter lives in the caller's memory (the pool
 * embeds it in its task node). Protocol for stopping a wait: store the error to return in
 * *w->stop (non-zero), then call rapt__gate_kick(). The waiter reads *stop under the gate's lock
 * before it queues and after every wake-up, and kick takes that lock, so a stop is never lost:
 * either the waiter sees the flag before sleeping or kick finds it queued and wakes it. */
#include <pthread.h>
#include <stdatomic.h>

typedef struct rapt__gate_waiter {
    struct rapt__gate_waiter *prev, *next; /* in the gate's FIFO, under its lock */
    uint64_t need[2];                      /* slots, bytes */
    int result;                            /* 1 while waiting, then 0 or a negative code */
    bool queued;
    uint64_t enq_ns;
    pthread_cond_t cond;
    const _Atomic int *stop; /* may be NULL */
} rapt__gate_waiter;

struct rapt_gate;
/* deadline_ns of rapt__gate_wait() that means "do not wait" (no real deadline is 1 ns). */
#define RAPT__GATE_TRY 1u

/* Acquires like rapt_gate_acquire(), giving up at deadline_ns (monotonic, 0 = never) with
 * RAPT_ETIMEDOUT, or when *stop becomes non-zero with that value. w is caller storage, used only
 * during the call. */
int rapt__gate_wait(struct rapt_gate *g, rapt__gate_waiter *w, uint64_t slots, uint64_t bytes,
                    uint64_t deadline_ns, const _Atomic int *stop);
/* Wakes w if it is waiting in g (see the protocol above). Safe to call with other locks held:
 * the gate's lock is always the innermost one. */
void rapt__gate_kick(struct rapt_gate *g, rapt__gate_waiter *w);

#endif /* RAPT_INTERNAL_H */
