/* output.h: jobs' standard output and error (internal to librapt).
 *
 * Modes, as in GNU parallel:
 *   group (default)  a job's stdout then its stderr are printed whole when it ends;
 *   line             whole lines are printed as soon as they are complete (--line-buffer);
 *   ungroup          jobs write to rapt's own stdout/stderr directly (-u); nothing is captured.
 * --keep-order (-k) prints jobs in input order (in line mode the oldest running job streams
 * while later ones are held); --tag/--tagstring put a prefix and a tab before every line.
 *
 * Memory stays bounded however much a job prints: each stream keeps a small head in memory and
 * spills the rest to an unlinked temporary file (one per stream of a job struct, reused by the
 * next job). With --keep-order, a finished job that must wait for an earlier one is parked: its
 * (tagged) output moves into memory while the total parked in memory stays under a cap, and
 * into one shared parking file otherwise, whose space is punched out as soon as it is printed.
 * So thousands of finished-but-waiting jobs cost a small record each and no descriptors; the
 * number of jobs between the oldest unprinted one and the newest is capped as well
 * (rapt__out_window_full), and admission waits beyond it.
 *
 * The output of an attempt that will be retried is discarded (as GNU parallel does): only a
 * job's final attempt is printed.
 *
 * Writes to rapt's stdout block when the reader is slow; that is the back-pressure. A write
 * error (EPIPE from a closed pipe, ENOSPC) is remembered and further output dropped; the runner
 * checks rapt__out_error() and stops.
 *
 * Not thread-safe: one output belongs to one runner.
 */
#ifndef RAPT_OUTPUT_H
#define RAPT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

typedef enum rapt__out_mode {
    RAPT__OUT_GROUP = 0,
    RAPT__OUT_LINE,
    RAPT__OUT_UNGROUP
} rapt__out_mode;

typedef struct rapt__out_opts {
    rapt__out_mode mode;
    bool keep_order;
    int fd[2];        /* where jobs' stdout and stderr go (rapt's 1 and 2) */
    size_t mem_limit; /* bytes a stream keeps in memory before it spills (0: 64 KiB) */
    size_t park_mem;  /* bytes of parked output kept in memory in all (0: 4 MiB) */
    size_t window;    /* keep-order: most unprinted jobs at once (0: 65536) */
    /* Called with a finished job's trailer (see rapt__out_end) when its turn comes, right
     * after its output: at once without --keep-order, in input order with it. The runner's
     * joblog record, so the log follows the printed order as GNU parallel's does. */
    void (*trailer)(void *ctx, const char *p, size_t n);
    void *trailer_ctx;
} rapt__out_opts;

/* One stream of one job: a head in memory, the rest in a spill file. */
typedef struct rapt__stream {
    rapt__buf mem;
    int spill;        /* -1 until the first spill; kept open for reuse */
    uint64_t spilled; /* bytes in the spill file */
    uint64_t total;   /* bytes the job wrote to this stream (for accounting) */
} rapt__stream;

/* A job's output state; lives in the runner's job struct across attempts. */
typedef struct rapt__jobout {
    rapt__stream s[2];
    rapt__buf tag;     /* the prefix for every line, with its tab; empty for none */
    rapt__buf verbose; /* --verbose: the command line, printed before the output */
    uint64_t pos;      /* keep-order position (valid when positioned) */
    bool positioned;
    bool live; /* line mode: printing as it comes (not held back by --keep-order) */
} rapt__jobout;

typedef struct rapt__out rapt__out;

int rapt__out_create(rapt__out **out, const rapt__out_opts *o);
/* Prints nothing more; frees everything. NULL is fine. */
void rapt__out_destroy(rapt__out *o);

/* The job-side struct: init once per job struct, free when the struct goes. */
void rapt__jobout_init(rapt__jobout *jo);
void rapt__jobout_free(rapt__jobout *jo);

/* A job is created: reserve its place in the keep-order sequence (no-op otherwise). Call once
 * per job, in input order. Returns 0 or -ENOMEM. */
int rapt__out_position(rapt__out *o, rapt__jobout *jo);

/* An attempt starts: empties the streams (the tag and verbose line are set by the caller
 * beforehand). In line and ungroup mode the verbose line is printed now. */
int rapt__out_begin(rapt__out *o, rapt__jobout *jo);

/* Reads once from a job's pipe (readiness was reported, so this does not block) and handles
 * the bytes: kept, spilled, or printed as whole lines. *eof is set at end of file.
 * Returns 0 or -errno from the read (output errors go to rapt__out_error). */
int rapt__out_read(rapt__out *o, rapt__jobout *jo, int stream, int fd, bool *eof);

/* Adds bytes of rapt's own to a job's stream, as if the job had written them (e.g. "command
 * not found" on its stderr). Returns 0 or -ENOMEM. */
int rapt__out_add(rapt__out *o, rapt__jobout *jo, int stream, const char *p, size_t n);

/* The attempt ended. final: print its output now or, with --keep-order, when its turn comes
 * (print = false drops it, for --results), and hand the trailer (may be NULL) to the trailer
 * callback at that moment, printed or not; not final: drop it (a retry follows; the trailer
 * is ignored). The job's struct may be reused as soon as this returns. Returns 0 or -ENOMEM. */
int rapt__out_end(rapt__out *o, rapt__jobout *jo, bool final, bool print, const char *trailer,
                  size_t trailer_len);

/* A positioned job that will never print (it failed to start for good, or the run stops):
 * releases its place so later jobs are not held back forever. */
void rapt__out_forget(rapt__out *o, rapt__jobout *jo);

/* Writes the job's raw stdout and stderr into files "stdout" and "stderr" under dirfd
 * (--results). Call before rapt__out_end. Returns 0 or -errno. */
int rapt__out_save(rapt__out *o, rapt__jobout *jo, int dirfd);

/* Prints bytes of rapt's own on its stdout (stream 0) or stderr (1), buffered until the
 * buffer fills or rapt__out_flush (--dry-run prints a million lines this way). */
void rapt__out_print(rapt__out *o, int stream, const char *p, size_t n);

/* Keep-order: true when admitting another job would exceed the window. */
bool rapt__out_window_full(const rapt__out *o);

/* The first output error (negative errno), or 0. */
int rapt__out_error(const rapt__out *o);

/* Bytes of memory held by parked output. */
size_t rapt__out_parked_memory(const rapt__out *o);

/* Number of jobs positioned but not printed yet (keep-order), for tests and samples. */
size_t rapt__out_waiting(const rapt__out *o);

/* Flushes what is buffered towards rapt's stdout/stderr. */
void rapt__out_flush(rapt__out *o);

#endif /* RAPT_OUTPUT_H */
