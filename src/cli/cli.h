/* cli.h: what the rapt subcommands share.
 *
 * main.c resolves the subcommand from a table of descriptors (one per cmd_<name>.c) and calls
 * its exec with the remaining arguments. Every error a user can cause ends in one line on
 * stderr, "rapt: error: <what>: <why>", and one of the exit codes below (also in man/rapt.1).
 */
#ifndef RAPT_CLI_H
#define RAPT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"
#include "rapt/sys.h"

/* Exit codes shared by every subcommand except `run`, which follows GNU parallel (see
 * cmd_run.c and man/rapt.1). */
enum {
    RAPT_EXIT_OK = 0,
    RAPT_EXIT_FAIL = 1,   /* the command ran and reports a failure (e.g. a plan that cannot fit) */
    RAPT_EXIT_USAGE = 2,  /* bad arguments or input: nothing was done */
    RAPT_EXIT_SYSTEM = 3, /* the machine refused (cannot read, write, allocate) */
};

typedef struct rapt_cmd {
    const char *name;
    const char *summary; /* one line for `rapt --help` */
    const char *usage;   /* full text for `rapt <name> --help` */
    int (*exec)(int argc, char **argv);
} rapt_cmd;

extern const rapt_cmd rapt_cmd_info;
extern const rapt_cmd rapt_cmd_plan;
extern const rapt_cmd rapt_cmd_history;
extern const rapt_cmd rapt_cmd_report;
extern const rapt_cmd rapt_cmd_monitor;
extern const rapt_cmd rapt_cmd_run;

/* Prints "rapt: error: ..." and a newline to stderr; returns code for `return cli_fail(...)`. */
int cli_fail(int code, const char *fmt, ...) RAPT__PRINTF(2, 3);
/* Prints "rapt: warning: ..." to stderr. */
void cli_warn(const char *fmt, ...) RAPT__PRINTF(1, 2);

/* Handles getopt's complaints uniformly: unknown option or missing value. `c` is what
 * getopt_long returned ('?' or ':'), argv/optind as after the call. */
int cli_bad_option(const rapt_cmd *cmd, int c, int argc, char **argv);

/* Prints the command's usage to stdout and returns RAPT_EXIT_OK. */
int cli_help(const rapt_cmd *cmd);

/* Strict parsers for option values; on failure they print the error line and return
 * RAPT_EXIT_USAGE, on success 0. `what` names the option ("--mem-per-job"). */
int cli_size(const char *what, const char *s, bool allow_zero, uint64_t *out);
int cli_uint(const char *what, const char *s, unsigned min, unsigned max, unsigned *out);
int cli_double(const char *what, const char *s, double min, double max, bool min_open, double *out);

/* Checks an SLA target as `rapt report --sla` and `rapt run --sla` take it ("DURATION" or
 * "STAGE=DURATION", rapt_report_sla_parse()); on failure prints the error line, prefixed by
 * `cmd`, and returns `usage_code`, else 0 with *stage_len and *seconds set. */
int cli_sla(const char *cmd, const char *spec, int usage_code, size_t *stage_len, double *seconds);

/* Reads the machine through rapt_sys_read(); on a bad sysroot prints the error line and
 * returns RAPT_EXIT_USAGE, else 0. */
int cli_read_sys(const char *cmd, const char *sysroot, rapt_sys_info *si);

/* Flushes and closes stdout; turns a write error (a full disk, a closed pipe) into an error
 * line and RAPT_EXIT_SYSTEM. Call on the way out of every command that printed. */
int cli_close_stdout(int rc);

/* ---- the history file, shared by run, plan and history (--history FILE, --no-history) ---- */

typedef struct rapt_history rapt_history;

/* The history file to use: `opt` (from --history) or the default under $XDG_STATE_HOME. On
 * failure prints the error line and returns RAPT_EXIT_USAGE, else 0. */
int cli_history_path(const char *cmd, const char *opt, char *buf, size_t len);

/* Opens a history file for a command that can do without one (run, plan). Returns 0 with *out
 * set, or 0 with *out NULL after printing at most one warning line ("... continuing without
 * history") when the file is missing (readonly: no warning), corrupt, of a newer schema or
 * unusable. `why` (may be NULL) receives a short reason when *out is NULL. */
int cli_history_open_soft(const char *cmd, const char *path, bool readonly, rapt_history **out,
                          char *why, size_t whylen);

#endif /* RAPT_CLI_H */
