/* joblog.h: GNU parallel's --joblog, written and read back (internal to librapt).
 *
 * The file is GNU parallel's TSV, byte for byte:
 *   Seq  Host  Starttime  JobRuntime  Send  Receive  Exitval  Signal  Command
 * with Host ":" (this machine), Starttime "%.3f" epoch seconds, JobRuntime "%10.3f" seconds
 * truncated to milliseconds, Send 0, Receive the bytes the job wrote to stdout (what GNU
 * parallel records for local jobs in group mode; 0 with -u, where nothing is captured), and
 * newlines in Command written as NUL bytes
 * (as GNU parallel does, so a record stays one line). Exitval is -1 for a job rapt ended
 * (timeout), with Signal the signal that ended it.
 *
 * Each record is one write() on an O_APPEND descriptor, so a crash or kill -9 of rapt leaves
 * whole lines (POSIX guarantees atomic appends for regular files). Reading back tolerates a
 * torn last line (a record cut short by a full disk or a kill during the write): it is ignored
 * and cut off before new records are appended.
 *
 * Records are written as jobs end, or with --keep-order as their output is printed, in input
 * order (both as GNU parallel does). Only the final attempt of a job is logged; attempts rapt
 * ended because the whole run was interrupted or halted are not logged at all, so --resume runs
 * them again.
 */
#ifndef RAPT_JOBLOG_H
#define RAPT_JOBLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* One record. */
typedef struct rapt__joblog_rec {
    uint64_t seq;
    uint64_t start_wall_ns; /* epoch */
    uint64_t runtime_ns;
    int64_t exitval;  /* exit code, or -1 when rapt ended the job */
    int signal;       /* terminating signal or 0 */
    uint64_t receive; /* bytes of stdout */
    const char *cmd;  /* the command line; newlines become NUL bytes in the file */
    size_t cmd_len;
} rapt__joblog_rec;

/* Formats one record into out (cleared first), newline included. Returns 0 or -ENOMEM. */
int rapt__joblog_format(const rapt__joblog_rec *r, rapt__buf *out);

/* The header line, with its newline. */
extern const char rapt__joblog_header[];

/* What an existing joblog says, for --resume, --resume-failed and --retry-failed. */
typedef struct rapt__joblog_state {
    uint8_t *logged; /* bit per seq: at least one record */
    uint8_t *failed; /* bit per seq: its last record failed (Exitval or Signal nonzero) */
    uint64_t max_seq;
    uint64_t records, failures;
    /* The record with the lowest seq, to check the log belongs to this command line. */
    uint64_t probe_seq; /* 0 when the log has no record */
    rapt__buf probe_cmd;
    bool torn;         /* the last line was cut short (and ignored) */
    uint64_t good_len; /* bytes of whole lines: where appending must start */
} rapt__joblog_state;

/* Reads path. Returns 0; -ENOENT when it does not exist (an empty state); RAPT_EPARSE with a
 * message in err when it is not a joblog (wrong header, a malformed record before the last
 * line, a seq above 2^26); or -errno. Free the state with rapt__joblog_state_free(). */
int rapt__joblog_read(const char *path, rapt__joblog_state *st, char *err, size_t errlen);
void rapt__joblog_state_free(rapt__joblog_state *st);

static inline bool rapt__joblog_has(const uint8_t *bits, uint64_t max, uint64_t seq)
{
    return bits && seq >= 1 && seq <= max && (bits[(seq - 1) / 8] >> ((seq - 1) % 8)) & 1;
}

/* Iterates the failed jobs of a log in seq order, each once, with the command of its last
 * record (NUL bytes turned back into newlines), for --retry-failed. */
typedef struct rapt__joblog_iter rapt__joblog_iter;
int rapt__joblog_iter_open(rapt__joblog_iter **it, const char *path, const rapt__joblog_state *st);
/* 1 with *seq and cmd filled (cmd cleared first), 0 at the end, -errno. */
int rapt__joblog_iter_next(rapt__joblog_iter *it, uint64_t *seq, rapt__buf *cmd);
void rapt__joblog_iter_close(rapt__joblog_iter *it);

/* The writer. */
typedef struct rapt__joblog rapt__joblog;

/* Opens path for appending records. truncate: start a new log (the default without --resume
 * and without a leading '+' on the file name; also when not even the header is whole);
 * otherwise keep the records, cutting the file at keep_len when it is longer (a torn last line
 * found by rapt__joblog_read) - 0 keeps it as it is. Writes the header into an empty file.
 * Returns 0 or -errno. */
int rapt__joblog_open(rapt__joblog **out, const char *path, bool truncate, uint64_t keep_len);
/* Appends a record formatted by rapt__joblog_format() with one write(). Returns 0 or -errno
 * (the record was not written whole). */
int rapt__joblog_write(rapt__joblog *jl, const char *p, size_t n);
void rapt__joblog_close(rapt__joblog *jl);

#endif /* RAPT_JOBLOG_H */
