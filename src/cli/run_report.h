/* run_report.h: what `rapt run --report/--summary/--sla/--stage/--stage-col` adds to a run.
 *
 * Kept out of cmd_run.c so the runner's command stays about running. The run hands every
 * events record it formats to a report handle (include/rapt/report.h) through the events
 * writer's sink, with or without --events, so nothing is read back; at the end the report is
 * finished and saved. Outputs are checked before anything runs.
 *
 * Use: zero a run_report, call run_report_sla() for each --sla while parsing options, set the
 * other fields, run_report_prepare() just before rapt__run(), run_report_end() after it, and
 * run_report_free() on every path. Exit codes are rapt run's (docs/run.md).
 */
#ifndef RAPT_CLI_RUN_REPORT_H
#define RAPT_CLI_RUN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/runner.h"
#include "rapt/report.h"

/* rapt run's codes (cmd_run.c): bad usage, and errors that are not the jobs'. */
enum { RUN_REPORT_EXIT_USAGE = 254, RUN_REPORT_EXIT_ERROR = 255 };

/* The most --sla options one run takes (a stage table holds 64 names, docs/report.md). */
#define RUN_REPORT_SLA_MAX 64

typedef struct run_report {
    /* options, as given (borrowed from argv) */
    const char *html;    /* --report FILE */
    const char *summary; /* --summary FILE */
    const char *stage;   /* --stage NAME */
    unsigned stage_col;  /* --stage-col N, 0 for none */
    /* --sla SPEC, checked and kept as given while options are parsed (so the early returns
     * of option parsing have nothing to free) */
    const char *sla_specs[RUN_REPORT_SLA_MAX];
    size_t nsla_specs;
    /* made by run_report_prepare(): the all-jobs target (< 0 none) and the per-stage ones, in
     * the order first given, each stage once (a later --sla for a stage replaces its target) */
    double sla_all;
    rapt__ev_sla *stage_slas;
    size_t nstage_slas;
    /* the report, while the run feeds it */
    rapt_report *rep;
    int feed_err; /* the first error feeding it (-ENOMEM), 0 for none */
} run_report;

/* Initialises rr (no options). */
void run_report_init(run_report *rr);

/* Checks and keeps one --sla SPEC (borrowed from argv); allocates nothing. Returns 0, or the
 * usage exit code after the error line. */
int run_report_sla(run_report *rr, const char *spec);

/* Checks the options (--stage with --stage-col, '-' or a directory as an output, both outputs
 * the same file, outputs with --dry-run) and that each output can be created in its directory
 * (a temporary file is made and removed), creates the report and fills *out for rapt__run().
 * Nothing has run yet, so every failure is the caller's input: returns 0, or the usage exit
 * code after one error line. */
int run_report_prepare(run_report *rr, bool dry_run, rapt__run_report *out);

/* After rapt__run() returned 0 with exit status `status`: finishes the report, saves the
 * outputs and prints one warning line when jobs missed their SLA. An output that cannot be
 * written after all (its directory went away, the disk is full) is saved under $TMPDIR
 * instead, and one error line names both; the status is then 255. Returns the exit status. */
int run_report_end(run_report *rr, int status);

/* Frees what rr holds. */
void run_report_free(run_report *rr);

#endif /* RAPT_CLI_RUN_REPORT_H */
