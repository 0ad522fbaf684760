/* rapt/history.h: what earlier runs learned, kept in a SQLite file.
 *
 * The history store records every finished attempt of every job (the fields of a `job_end`
 * record in docs/events.md, plus the limits in force and the run it belonged to), so the next
 * run can predict peak memory and runtime from its first second (rapt/model.h). Details and the
 * schema are in docs/history.md.
 *
 *   - One SQLite file, by default $XDG_STATE_HOME/rapt/history.db (else
 *     ~/.local/state/rapt/history.db), in WAL mode, with a versioned schema (PRAGMA user_version,
 *     PRAGMA application_id 'rapt') upgraded forward in one transaction.
 *   - Safe for several rapt processes at once: writes are batched and go in BEGIN IMMEDIATE
 *     transactions that wait up to busy_timeout_ms for one another.
 *   - A file that is corrupt, not a rapt history, or written by a newer rapt is never modified:
 *     it is examined read-only (header bytes, then an immutable SQLite connection and
 *     PRAGMA quick_check) before anything opens it for writing, and rapt_history_open() returns
 *     RAPT_ECORRUPT or RAPT_ESCHEMA so the caller can warn once and go on without history.
 *
 * A handle is not thread-safe: use it from one thread at a time (the runner's event loop).
 * Separate handles, in one process or many, may use one file concurrently.
 */
#ifndef RAPT_HISTORY_H
#define RAPT_HISTORY_H

#include "rapt/common.h"
#include "rapt/jobclass.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this library writes, and the application id in the file header. */
#define RAPT_HISTORY_SCHEMA 1
#define RAPT_HISTORY_APP_ID 0x72617074 /* "rapt" */

typedef struct rapt_history rapt_history;

typedef struct rapt_history_opts {
    const char *path;          /* the file; NULL = rapt_history_default_path() */
    bool readonly;             /* never create, upgrade or write the file */
    unsigned busy_timeout_ms;  /* how long a write waits for other writers (default 5000) */
    unsigned batch;            /* rapt_history_add() flushes at this many pending (default 64) */
    unsigned keep_per_class;   /* keep the newest N attempts of a class (default 10000; 0 = all) */
    bool skip_integrity_check; /* skip PRAGMA quick_check at open (a large file, known good) */
    rapt_log_fn log;           /* diagnostics; may be NULL */
    void *log_data;
    const char *const *envp; /* for the default path; NULL = the process environment */
} rapt_history_opts;

RAPT_API void rapt_history_opts_init(rapt_history_opts *o);

/* The default history file: $XDG_STATE_HOME/rapt/history.db when XDG_STATE_HOME is an absolute
 * path, else $HOME/.local/state/rapt/history.db. Returns 0, -ENOENT (neither variable usable)
 * or -ENAMETOOLONG. envp NULL = the process environment. */
RAPT_API int rapt_history_default_path(const char *const *envp, char *buf, size_t len);

/* Opens (and unless readonly, creates with its directory, or upgrades) a history file.
 * Returns 0 and *out, or:
 *   -ENOENT         readonly and the file does not exist (no history yet);
 *   RAPT_ECORRUPT   not a SQLite file, damaged, or failing quick_check: left untouched;
 *   RAPT_ESCHEMA    a newer schema, or a SQLite file of another program: left untouched;
 *   -EACCES, -EROFS, -EISDIR, -ENOMEM, -EIO, -EBUSY (other writers held it past the timeout).
 * Details of a refusal go to the log callback. Caller closes with rapt_history_close(). */
RAPT_API int rapt_history_open(rapt_history **out, const rapt_history_opts *o);

/* Writes what is pending (best effort; see rapt_history_flush) and closes. Accepts NULL. */
RAPT_API void rapt_history_close(rapt_history *h);

/* The file's path. Borrowed for the life of the handle. */
RAPT_API const char *rapt_history_path(const rapt_history *h);

/* ---- writing ------------------------------------------------------------------------------ */

/* A run, as `run_start` describes it. Strings are copied. */
typedef struct rapt_history_run {
    const char *run_id;  /* unique per run (required) */
    const char *host;    /* required */
    const char *command; /* the command template joined with spaces; may be NULL */
    double started;      /* epoch seconds */
    unsigned slots, cpus;
    int64_t mem_limit, mem_budget; /* bytes, -1 = unknown / not memory-aware */
} rapt_history_run;

RAPT_API void rapt_history_run_init(rapt_history_run *r);

/* Records the start of a run (or finds the run with the same run_id) and returns its key for
 * rapt_history_add(). Writes at once. Returns 0 or an error as for flush. */
RAPT_API int rapt_history_run_begin(rapt_history *h, const rapt_history_run *r, int64_t *key);

typedef struct rapt_history_run_end {
    double ended; /* epoch seconds */
    uint64_t jobs, succeeded, failed;
    int exit_code;
    const char *reason; /* "done", "halt", "interrupt", "error" */
} rapt_history_run_end;

/* Flushes pending attempts and records the end of a run. */
RAPT_API int rapt_history_run_finish(rapt_history *h, int64_t key, const rapt_history_run_end *e);

/* One finished attempt: the fields of a `job_end` event (docs/events.md) and the limits in force
 * when it ran. Unknown numbers are -1 (integers) or negative (durations). */
typedef struct rapt_attempt {
    const char *class_name; /* required */
    const char *stage;      /* NULL unless --stage */
    uint64_t seq;
    unsigned attempt, slot;
    bool has_digest;
    uint8_t digest[RAPT_DIGEST_SIZE]; /* rapt_jobclass_features() */
    int64_t input_bytes;              /* -1 when no argument named a file */
    double start;                     /* epoch seconds */
    double wall_s, user_s, sys_s;
    int64_t peak_bytes;
    const char *peak_method; /* "cgroup-v1", "cgroup-v2", "proc-sample", "rusage" or NULL */
    int exit_code;           /* -1 when killed by a signal */
    int signal;              /* 0 when none */
    const char *reason;      /* exit signal timeout halt interrupt memory oom spawn */
    const char *outcome;     /* success failed retry requeued */
    bool oom_kill;
    int64_t reservation;           /* bytes reserved for it, -1 = none */
    int64_t mem_limit, mem_budget; /* limits in force when it ended, -1 = unknown */
    unsigned slots;                /* job slots in force, 0 = unknown */
} rapt_attempt;

/* Sets every field to "unknown" (and reason "exit", outcome "success"). */
RAPT_API void rapt_attempt_init(rapt_attempt *a);

/* Queues one attempt of run `run_key` (from rapt_history_run_begin on this handle; copied, the
 * caller's strings are not kept). Flushes when `batch` attempts are pending; an error of that
 * flush is returned but the attempt stays queued. Returns 0, -EINVAL (missing class, bad run key,
 * unknown reason or outcome) or a flush error. */
RAPT_API int rapt_history_add(rapt_history *h, int64_t run_key, const rapt_attempt *a);

/* Writes every pending attempt in one BEGIN IMMEDIATE transaction (and trims classes above
 * keep_per_class). Blocks at most busy_timeout_ms for other writers. Returns 0, -EBUSY (still
 * pending; try again later), -EROFS (readonly handle) or another error (pending kept). */
RAPT_API int rapt_history_flush(rapt_history *h);

/* Attempts queued but not yet written. */
RAPT_API size_t rapt_history_pending(const rapt_history *h);

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct rapt_history_class {
    char *name;
    uint64_t attempts, succeeded, runs;
    double first, last; /* start of the oldest and newest attempt, epoch seconds */
} rapt_history_class;

/* Every class, most recently used first. Caller frees with rapt_history_classes_free(). */
RAPT_API int rapt_history_classes(rapt_history *h, rapt_history_class **out, size_t *n);
RAPT_API void rapt_history_classes_free(rapt_history_class *v, size_t n);

typedef struct rapt_history_run_info {
    char *run_id, *host, *command; /* command may be NULL */
    double started, ended;         /* ended < 0: never finished (crash, or still running) */
    int exit_code;                 /* -1 when unknown */
    uint64_t attempts, succeeded, failed;
} rapt_history_run_info;

/* The newest `last` runs (0 = all), newest first. Caller frees with rapt_history_runs_free(). */
RAPT_API int rapt_history_runs(rapt_history *h, unsigned last, rapt_history_run_info **out,
                               size_t *n);
RAPT_API void rapt_history_runs_free(rapt_history_run_info *v, size_t n);

/* A cursor over recorded attempts, oldest first. */
typedef struct rapt_history_iter rapt_history_iter;

typedef struct rapt_history_row {
    rapt_attempt a;     /* strings borrowed until the next rapt_history_iter_next() */
    const char *run_id; /* the run it belonged to */
    const char *host;
    double recorded; /* when it was written, epoch seconds */
} rapt_history_row;

/* Iterates the newest `last` attempts (0 = all) of class_name (NULL = every class), in the order
 * they were recorded. Caller ends with rapt_history_iter_close(). The handle must outlive it. */
RAPT_API int rapt_history_iter_open(rapt_history *h, const char *class_name, uint64_t last,
                                    rapt_history_iter **out);
/* Returns 1 and fills *row, 0 at the end, or a negative error. */
RAPT_API int rapt_history_iter_next(rapt_history_iter *it, rapt_history_row *row);
RAPT_API void rapt_history_iter_close(rapt_history_iter *it);

/* Deletes every attempt of a class and the class. Returns 0 and the number of attempts removed,
 * -ENOENT (no such class) or a write error. */
RAPT_API int rapt_history_forget(rapt_history *h, const char *class_name, uint64_t *removed);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_HISTORY_H */
