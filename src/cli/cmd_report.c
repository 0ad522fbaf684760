/* cmd_report.c: `rapt report`, a run report from events files (schema rapt.events/1).
 *
 *   rapt report [-o FILE.html] [--summary FILE.json] [--json] [--sla SPEC]... EVENTS...
 *
 * A thin layer over the report module (include/rapt/report.h): opens every input first (so a
 * missing file fails before any work), checks that every output can be created (so a 100 000-job
 * file is not read for nothing), feeds the files, and prints at most one warning about the
 * input. Exit codes are in the usage text, man/rapt.1 and docs/report.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "rapt/rapt.h"

static const char usage_text[] =
    "usage: rapt report [options] EVENTS...\n"
    "\n"
    "Summarises runs from their events files (rapt run --events FILE, schema rapt.events/1):\n"
    "jobs by outcome, makespan, CPU, slot and memory utilisation, what limited admission, the\n"
    "slowest jobs, SLA results, per-stage metrics, the bottleneck and recommendations with the\n"
    "numbers behind them. A text summary goes to standard output; -o writes a self-contained\n"
    "HTML page with a timeline, memory, CPU and input-size charts. Several files (one per\n"
    "stage, say) make one report; '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE     write the HTML report to FILE ('-' = standard output)\n"
    "      --summary FILE    write the JSON summary (schema \"rapt.summary/1\") to FILE\n"
    "      --json            print the JSON summary instead of the text\n"
    "      --sla SPEC        a runtime target: DURATION for every job, or STAGE=DURATION for\n"
    "                        the jobs of a stage; repeatable (e.g. --sla 10m --sla build=90s);\n"
    "                        above 80% of it is a warning, above it a violation\n"
    "      --title TEXT      the HTML report's title\n"
    "  -q, --quiet           print nothing on standard output\n"
    "  -h, --help            show this help\n"
    "\n"
    "Files are written atomically (a temporary file renamed into place).\n"
    "\n"
    "exit status: 0 the report is complete; 1 it was written, but part of the input was\n"
    "skipped (malformed or cut-off lines, records of a newer schema; one warning says where);\n"
    "2 bad usage, an unreadable input or no events in it; 3 an output could not be written.\n";

static int exec_report(int argc, char **argv);

const rapt_cmd rapt_cmd_report = {
    .name = "report",
    .summary = "summarise a run from its events: bottleneck, SLAs, HTML report",
    .usage = usage_text,
    .exec = exec_report,
};

enum {
    OPT_SUMMARY = 256,
    OPT_JSON,
    OPT_SLA,
    OPT_TITLE,
};

/* Checks early that `path` can be written, by creating (and removing) the temporary file the
 * atomic save will use. */
static int check_writable(const char *what, const char *path)
{
    if (!strcmp(path, "-"))
        return 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_fail(RAPT_EXIT_SYSTEM, "report: %s '%s': is a directory", what, path);
    rapt__afile af;
    int rc = rapt__afile_open(&af, path);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_SYSTEM, "report: %s '%s': %s", what, path, rapt_strerror(rc));
    rapt__afile_abort(&af);
    return 0;
}

/* Writes one output: "-" to standard output, anything else atomically through the library. */
static int save(const rapt_report *rep, rapt_report_format fmt, const char *what, const char *path)
{
    if (!strcmp(path, "-")) {
        int rc = rapt_report_write(rep, fmt, stdout);
        if (rc < 0 && ferror(stdout)) {
            /* cli_close_stdout() reports a failed standard output, once, on the way out. */
            errno = -rc;
            return RAPT_EXIT_SYSTEM;
        }
        if (rc < 0)
            return cli_fail(RAPT_EXIT_SYSTEM, "report: %s", rapt_strerror(rc));
        return 0;
    }
    int rc = rapt_report_save(rep, fmt, path);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_SYSTEM, "report: %s '%s': %s", what, path, rapt_strerror(rc));
    return 0;
}

/* One line about what was skipped or missing in the input; returns 1 when part of the input
 * could not be used (the exit status), 0 otherwise. */
static int warn_input(const rapt_report_input *in)
{
    char msg[1024];
    size_t n = 0;
    msg[0] = '\0';
    if (in->bad_lines) {
        if (in->truncated && in->bad_lines == 1)
            n += (size_t)snprintf(msg + n, sizeof(msg) - n,
                                  "%s:%llu: the file ends in the middle of a record (cut off "
                                  "while being written?); the records before it are reported",
                                  in->first_bad_file, (unsigned long long)in->first_bad_line);
        else
            n += (size_t)snprintf(msg + n, sizeof(msg) - n,
                                  "%s:%llu: %s; %llu bad line%s skipped%s, the rest is reported",
                                  in->first_bad_file, (unsigned long long)in->first_bad_line,
                                  in->first_bad_why, (unsigned long long)in->bad_lines,
                                  in->bad_lines == 1 ? "" : "s",
                                  in->truncated ? " (the last one cut off)" : "");
    }
    if (in->newer_records && n < sizeof(msg))
        n += (size_t)snprintf(
            msg + n, sizeof(msg) - n,
            "%s%s:%llu: %llu record%s of schema version %lld skipped (this rapt "
            "reads version %d; a newer rapt reads them), the rest is reported",
            n ? "; " : "", in->first_newer_file, (unsigned long long)in->first_newer_line,
            (unsigned long long)in->newer_records, in->newer_records == 1 ? "" : "s",
            (long long)in->newest_version, RAPT_REPORT_EVENTS_VERSION);
    if (n) {
        cli_warn("report: %s", msg);
        return 1;
    }
    /* A run without run_end is not damage (it may still be running), but the reader should
     * know the unfinished jobs may yet finish. */
    if (in->runs_ended < in->runs)
        cli_warn("report: %u of %u run%s ha%s no run_end record (still running, or rapt was "
                 "killed): unfinished jobs are shown up to the last record",
                 in->runs - in->runs_ended, in->runs, in->runs == 1 ? "" : "s",
                 in->runs - in->runs_ended == 1 ? "s" : "ve");
    return 0;
}

static int exec_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"summary", required_argument, NULL, OPT_SUMMARY},
        {"json", no_argument, NULL, OPT_JSON},
        {"sla", required_argument, NULL, OPT_SLA},
        {"title", required_argument, NULL, OPT_TITLE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *html = NULL, *summary = NULL, *title = NULL;
    bool json = false, quiet = false;
    /* SLAs are checked while parsing options but added after the handle exists. */
    const char **slas = calloc((size_t)argc + 1, sizeof(*slas));
    int *fds = calloc((size_t)argc + 1, sizeof(*fds));
    size_t nslas = 0, nfds = 0;
    rapt_report *rep = NULL;
    int rc = 0, c;
    if (!slas || !fds) {
        rc = cli_fail(RAPT_EXIT_SYSTEM, "report: out of memory");
        goto out;
    }
    opterr = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': html = optarg; break;
        case OPT_SUMMARY: summary = optarg; break;
        case OPT_JSON: json = true; break;
        case OPT_SLA: slas[nslas++] = optarg; break;
        case OPT_TITLE: title = optarg; break;
        case 'q': quiet = true; break;
        case 'h':
            rc = cli_help(&rapt_cmd_report);
            free(slas);
            free(fds);
            return cli_close_stdout(rc);
        default: rc = cli_bad_option(&rapt_cmd_report, c, argc, argv); goto out;
        }
    }
    if (optind >= argc) {
        rc = cli_fail(RAPT_EXIT_USAGE, "report: no events file given (see 'rapt report --help')");
        goto out;
    }
    /* Only one thing may go to standard output. */
    int to_stdout = (html && !strcmp(html, "-")) + (summary && !strcmp(summary, "-")) + json;
    if (to_stdout > 1) {
        rc = cli_fail(RAPT_EXIT_USAGE,
                      "report: only one of --json, -o - and --summary - can use standard output");
        goto out;
    }
    if (quiet && json) {
        rc = cli_fail(RAPT_EXIT_USAGE, "report: --quiet and --json contradict each other");
        goto out;
    }
    /* The text summary is the default; any other use of standard output replaces it. */
    bool text = !quiet && to_stdout == 0;

    rapt_report_opts ro;
    rapt_report_opts_init(&ro);
    ro.title = title;
    int r = rapt_report_create(&rep, &ro);
    if (r < 0) {
        rc = cli_fail(RAPT_EXIT_SYSTEM, "report: %s", rapt_strerror(r));
        goto out;
    }
    for (size_t i = 0; i < nslas; i++) {
        size_t len;
        double secs;
        if ((rc = cli_sla("report", slas[i], RAPT_EXIT_USAGE, &len, &secs)))
            goto out;
        r = rapt_report_add_sla_spec(rep, slas[i]);
        if (r < 0) {
            rc = cli_fail(RAPT_EXIT_SYSTEM, "report: %s", rapt_strerror(r));
            goto out;
        }
    }
    /* Open every input before reading any, so a typo in the last name costs nothing. */
    int stdin_uses = 0;
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        if (!strcmp(path, "-")) {
            if (++stdin_uses > 1) {
                rc = cli_fail(RAPT_EXIT_USAGE, "report: standard input ('-') given twice");
                goto out;
            }
            fds[nfds++] = STDIN_FILENO;
            continue;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            rc = cli_fail(RAPT_EXIT_USAGE, "report: '%s': %s", path, strerror(errno));
            goto out;
        }
        fds[nfds++] = fd;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc =
                cli_fail(RAPT_EXIT_USAGE, "report: '%s': is a directory, not an events file", path);
            goto out;
        }
    }
    if ((html && (rc = check_writable("-o", html))) ||
        (summary && (rc = check_writable("--summary", summary))))
        goto out;

    for (size_t i = 0; i < nfds; i++) {
        const char *name = argv[optind + (int)i];
        r = rapt_report_feed_fd(rep, fds[i], !strcmp(name, "-") ? "(stdin)" : name);
        if (r == -ENOMEM) {
            rc = cli_fail(RAPT_EXIT_SYSTEM, "report: out of memory");
            goto out;
        }
        if (r < 0) {
            rc = cli_fail(RAPT_EXIT_USAGE, "report: '%s': %s", name, rapt_strerror(r));
            goto out;
        }
    }
    /* Nothing usable at all is bad input (exit 2, no report); anything usable is reported,
     * with one warning for what was skipped (exit 1). */
    rapt_report_input in;
    rapt_report_get_input(rep, &in);
    if (in.records == 0) {
        if (in.first_bad_line)
            rc = cli_fail(RAPT_EXIT_USAGE, "report: no rapt events in the input (%s:%llu: %s)",
                          in.first_bad_file, (unsigned long long)in.first_bad_line,
                          in.first_bad_why);
        else if (in.newer_records)
            rc = cli_fail(RAPT_EXIT_USAGE,
                          "report: every record has schema version %lld, newer than this rapt "
                          "reads (%d); use a newer rapt",
                          (long long)in.newest_version, RAPT_REPORT_EVENTS_VERSION);
        else if (in.unknown_records)
            rc = cli_fail(RAPT_EXIT_USAGE,
                          "report: no rapt events this version understands in the input (%llu "
                          "records of unknown types)",
                          (unsigned long long)in.unknown_records);
        else
            rc = cli_fail(RAPT_EXIT_USAGE, "report: no rapt events in the input (empty)");
        goto out;
    }
    r = rapt_report_finish(rep);
    if (r < 0) {
        rc = cli_fail(RAPT_EXIT_SYSTEM, "report: %s", rapt_strerror(r));
        goto out;
    }
    /* The warning comes before the outputs, so it is seen even when an output then fails. */
    int partial = warn_input(&in);
    if ((html && (rc = save(rep, RAPT_REPORT_HTML, "-o", html))) ||
        (summary && (rc = save(rep, RAPT_REPORT_JSON, "--summary", summary))))
        goto out;
    if (json && (rc = save(rep, RAPT_REPORT_JSON, "--json", "-")))
        goto out;
    if (text && (rc = save(rep, RAPT_REPORT_TEXT, "text", "-")))
        goto out;
    rc = partial ? RAPT_EXIT_FAIL : RAPT_EXIT_OK;
out:
    for (size_t i = 0; i < nfds; i++)
        if (fds[i] != STDIN_FILENO)
            close(fds[i]);
    free(fds);
    free(slas);
    rapt_report_destroy(rep);
    return cli_close_stdout(rc);
}
