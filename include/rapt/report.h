/* rapt/report.h: run reports from the events stream (schema rapt.events/1, docs/events.md).
 *
 * A report is built incrementally: create a handle, feed it event records (one JSON line at a
 * time, or a whole file), finish it, then render it as text, JSON (schema "rapt.summary/1",
 * docs/report.md) or one self-contained HTML page with inline SVG charts. `rapt report` feeds
 * it from files; `rapt run` can feed it the lines it writes, live, and render at the end without
 * reading anything back.
 *
 * What it computes: job counts by outcome (succeeded, failed, retried, requeued, OOM-killed,
 * unfinished), makespan, CPU, slot and memory utilisation, concurrency and what limited
 * admission over time, the slowest jobs (> 1.5 x the mean), SLA results (a runtime target for
 * every job or per stage: warning above 80 %, violation above 100 %), per-stage metrics, a
 * least-squares memory model (peak = gamma x input + overhead) per stage, the bottleneck and
 * recommendations with the numbers behind them. Every rule and threshold is in docs/report.md.
 *
 * Memory: every attempt keeps a compact record (72 bytes, no strings) so reports stay
 * exact; everything that grows with the run's duration rather than its job count (samples,
 * admission decisions) is downsampled into a fixed number of points per run. Lines are read
 * with a bounded buffer (opts.max_line), so a garbage file without newlines cannot exhaust
 * memory.
 *
 * Bad input never fails the report: a line that is not JSON, not an object or carries fields
 * of the wrong type is counted and skipped; records of a newer schema version are skipped
 * (with one log message); a truncated last line is noted. rapt_report_get_input() says what was
 * skipped and where, so a caller can print one line about it.
 *
 * Thread-safety: a handle is used by one thread at a time; different handles are independent.
 * The library never prints: diagnostics go to opts.log.
 */
#ifndef RAPT_REPORT_H
#define RAPT_REPORT_H

#include <stdio.h>

#include "rapt/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema name of the JSON summary and the highest events version this reader understands. */
#define RAPT_REPORT_SCHEMA         "rapt.summary/1"
#define RAPT_REPORT_EVENTS_VERSION 1
/* An SLA warns when a job uses more than this fraction of its target. */
#define RAPT_REPORT_SLA_WARN 0.8

typedef struct rapt_report rapt_report;

typedef enum rapt_report_format {
    RAPT_REPORT_TEXT = 0, /* a plain-text summary for terminals */
    RAPT_REPORT_JSON = 1, /* one JSON object, schema RAPT_REPORT_SCHEMA */
    RAPT_REPORT_HTML = 2  /* one self-contained HTML page (no scripts, no external resources) */
} rapt_report_format;

typedef struct rapt_report_opts {
    rapt_log_fn log;    /* diagnostics (bad lines, newer schema); NULL: none */
    void *log_userdata; /* passed to log */
    size_t max_line;    /* longest line accepted, bytes (default 1 MiB); longer lines are bad */
    const char *title;  /* HTML title; NULL derives one from the run. Copied by create. */
} rapt_report_opts;

/* Fills o with the defaults. */
RAPT_API void rapt_report_opts_init(rapt_report_opts *o);

/* Creates an empty report. opts may be NULL for the defaults. On success *out owns a handle the
 * caller frees with rapt_report_destroy(). Returns 0, -EINVAL or -ENOMEM. */
RAPT_API int rapt_report_create(rapt_report **out, const rapt_report_opts *opts);

/* Frees a report and everything it holds. Accepts NULL. */
RAPT_API void rapt_report_destroy(rapt_report *r);

/* Adds a runtime target: every job (stage NULL) or every job of `stage` (copied) must finish
 * within `seconds`, measured from the start of its first attempt to the end of its last. A
 * stage's own target takes precedence over the all-jobs one; adding a target for the same scope
 * again replaces it. Without any call, a run's own "options.sla_s" (run_start) is used.
 * Returns 0, -EINVAL (seconds not finite or <= 0, empty stage), -ENOMEM or RAPT_ECLOSED. */
RAPT_API int rapt_report_add_sla(rapt_report *r, const char *stage, double seconds);

/* Parses and adds a target as the command line gives it: "DURATION" (every job) or
 * "STAGE=DURATION" (durations as rapt_duration_parse: "90s", "1m30s", "2.5"). The split is at
 * the last '=', so stage names may contain '='. Returns 0, -EINVAL, RAPT_EUNIT, -ERANGE (as
 * rapt_duration_parse), -ENOMEM or RAPT_ECLOSED. */
RAPT_API int rapt_report_add_sla_spec(rapt_report *r, const char *spec);

/* Parses a target as rapt_report_add_sla_spec() does, without a report: on success
 * *stage_len is the length of the stage name at the start of spec (0: every job) and *seconds
 * the target. For callers that pass targets on (rapt run records its --sla in the events).
 * Returns 0, -EINVAL, RAPT_EUNIT or -ERANGE. */
RAPT_API int rapt_report_sla_parse(const char *spec, size_t *stage_len, double *seconds);

/* Feeds one record: [line, line + len) is one JSON object (a trailing newline is allowed).
 * Returns 0 when the record was used or deliberately ignored (an event type this version does
 * not know); RAPT_EPARSE when it is not a JSON object or a field has the wrong type;
 * RAPT_ESCHEMA when its "v" is newer than RAPT_REPORT_EVENTS_VERSION (the record is skipped);
 * -ENOMEM; RAPT_ECLOSED after rapt_report_finish(). Errors are counted in the input statistics
 * but not logged (a failing call fires no callback). The line is borrowed for the call. */
RAPT_API int rapt_report_feed_line(rapt_report *r, const char *line, size_t len);

/* Reads fd to its end, one line at a time, and feeds every line. Lines that fail are counted,
 * and the first of each kind is logged as "NAME:LINE: why" (name is borrowed for the call and
 * used only in messages and in rapt_report_input). Records before a file's first run_start
 * belong to a run of their own. The fd is not closed. Returns 0 (also when lines were bad),
 * -errno when reading fails, -ENOMEM or RAPT_ECLOSED. */
RAPT_API int rapt_report_feed_fd(rapt_report *r, int fd, const char *name);

/* Computes everything the outputs show. Feeding after this returns RAPT_ECLOSED; a second call
 * is a no-op. Returns 0 or -ENOMEM (the report stays open and may be finished again). */
RAPT_API int rapt_report_finish(rapt_report *r);

/* What the input contained and what was skipped. */
typedef struct rapt_report_input {
    uint64_t lines;           /* lines read by rapt_report_feed_fd(), all files */
    uint64_t records;         /* records used */
    uint64_t bad_lines;       /* skipped: not JSON, not an object, wrong field types, too long */
    uint64_t newer_records;   /* skipped: "v" newer than RAPT_REPORT_EVENTS_VERSION */
    uint64_t unknown_records; /* ignored: event types this version does not know */
    int64_t newest_version;   /* highest "v" seen (0 when none) */
    unsigned runs;            /* runs seen (run_start records, or an implicit one) */
    unsigned runs_ended;      /* of them, with a run_end record */
    bool truncated;           /* a file ended in the middle of a line */
    uint64_t first_bad_line;  /* line number of the first bad line (0: none) */
    char first_bad_file[256]; /* its file (the name given to rapt_report_feed_fd) */
    char first_bad_why[160];  /* why it was skipped */
    uint64_t first_newer_line;
    char first_newer_file[256];
} rapt_report_input;

/* Copies the input statistics into *out. Valid at any time. Returns 0 or -EINVAL. */
RAPT_API int rapt_report_get_input(const rapt_report *r, rapt_report_input *out);

/* The headline figures of a finished report. Fractions are 0..1 (or more, for utilisation
 * measured against a budget); NaN means unknown. */
typedef struct rapt_report_totals {
    uint64_t jobs;          /* distinct jobs (run, seq) seen */
    uint64_t succeeded;     /* last attempt succeeded */
    uint64_t failed;        /* last attempt failed for good */
    uint64_t unfinished;    /* still running or waiting for another attempt when the input ends */
    uint64_t attempts;      /* attempts that started */
    uint64_t retried;       /* attempts that ended with outcome "retry" */
    uint64_t requeued;      /* attempts that ended with outcome "requeued" */
    uint64_t oom_killed;    /* attempts the kernel OOM killer ended */
    double makespan_s;      /* first start to last record */
    double cpu_util;        /* CPU time / (makespan x effective CPUs) */
    double slot_util;       /* mean running jobs / slots */
    double mem_util;        /* peak memory in use / budget (NaN without a budget) */
    const char *bottleneck; /* static: "memory", "cpu", "input", "pressure", "tail", "slots",
                               "none" (docs/report.md) */
    uint64_t sla_violated;  /* jobs over their target */
    uint64_t sla_warned;    /* jobs above RAPT_REPORT_SLA_WARN of it, within it */
    unsigned recommendations;
} rapt_report_totals;

/* Fills *out from a finished report. Returns 0, -EINVAL, or -EAGAIN before
 * rapt_report_finish(). */
RAPT_API int rapt_report_get_totals(const rapt_report *r, rapt_report_totals *out);

/* Renders a finished report into f (not closed, flushed). Returns 0, -EAGAIN before
 * rapt_report_finish(), -EINVAL, -ENOMEM, or -EIO when writing to f failed. */
RAPT_API int rapt_report_write(const rapt_report *r, rapt_report_format fmt, FILE *f);

/* Renders into `path` atomically: a temporary file in the same directory (created with mode
 * 0666 less the umask), fsync, rename over path, fsync of the directory. On failure path is
 * untouched and no temporary file is left. Returns 0, -EAGAIN before finish, or -errno from the
 * file system (-ENOENT, -EACCES, -ENOSPC, -EROFS, ...). */
RAPT_API int rapt_report_save(const rapt_report *r, rapt_report_format fmt, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_REPORT_H */
