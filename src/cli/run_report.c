/* run_report.c: rapt run's report, summary, SLAs and stages (see run_report.h).
 *
 * Owns the report handle the run feeds and the parsed --sla targets. The records reach the
 * report through the events writer's sink (src/lib/events.h), the same bytes --events writes,
 * so `rapt report EVENTS` later computes the same figures from the file (docs/report.md says
 * which fields differ and why).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_report.h"

void run_report_init(run_report *rr)
{
    memset(rr, 0, sizeof(*rr));
    rr->sla_all = -1;
}

int run_report_sla(run_report *rr, const char *spec)
{
    size_t len;
    double secs;
    if (cli_sla("run", spec, RUN_REPORT_EXIT_USAGE, &len, &secs))
        return RUN_REPORT_EXIT_USAGE;
    if (rr->nsla_specs == RUN_REPORT_SLA_MAX)
        return cli_fail(RUN_REPORT_EXIT_USAGE, "run: too many --sla (at most %d)",
                        RUN_REPORT_SLA_MAX);
    rr->sla_specs[rr->nsla_specs++] = spec;
    return 0;
}

/* The kept --sla specs as targets: the last all-jobs one, and each stage once in the order
 * first given with its last target - as the report's own rapt_report_add_sla() replaces a
 * target, so the events and the live report agree. */
static int build_slas(run_report *rr)
{
    if (!rr->nsla_specs)
        return 0;
    rr->stage_slas = calloc(rr->nsla_specs, sizeof(*rr->stage_slas));
    if (!rr->stage_slas)
        return -ENOMEM;
    for (size_t i = 0; i < rr->nsla_specs; i++) {
        const char *spec = rr->sla_specs[i];
        size_t len;
        double secs;
        if (rapt_report_sla_parse(spec, &len, &secs) < 0)
            continue; /* checked by run_report_sla() */
        if (!len) {
            rr->sla_all = secs;
            continue;
        }
        size_t k = 0;
        while (k < rr->nstage_slas && !(strlen(rr->stage_slas[k].stage) == len &&
                                        !memcmp(rr->stage_slas[k].stage, spec, len)))
            k++;
        if (k == rr->nstage_slas) {
            char *stage = strndup(spec, len);
            if (!stage)
                return -ENOMEM;
            rr->stage_slas[rr->nstage_slas++].stage = stage;
        }
        rr->stage_slas[k].seconds = secs;
    }
    return 0;
}

/* The sink: each events record, as written, into the report. A record the report cannot use
 * is counted by the report itself; only running out of memory is kept, for the end. */
static void feed(void *ud, const char *line, size_t len)
{
    run_report *rr = ud;
    if (rr->feed_err)
        return;
    int rc = rapt_report_feed_line(rr->rep, line, len);
    if (rc == -ENOMEM)
        rr->feed_err = rc;
}

/* An output must be a file whose directory lets rapt create one: checked by creating (and
 * removing) the temporary file the atomic save will use, before any job runs. */
static int check_output(const char *opt, const char *path, bool dry_run)
{
    if (dry_run)
        return cli_fail(RUN_REPORT_EXIT_USAGE,
                        "run: %s with --dry-run: no job runs, so there is nothing to report", opt);
    if (!*path || !strcmp(path, "-"))
        return cli_fail(RUN_REPORT_EXIT_USAGE,
                        "run: %s needs a file name (standard output is the jobs')", opt);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_fail(RUN_REPORT_EXIT_USAGE, "run: %s '%s': is a directory", opt, path);
    rapt__afile af;
    int rc = rapt__afile_open(&af, path);
    if (rc < 0)
        return cli_fail(RUN_REPORT_EXIT_USAGE, "run: %s '%s': %s", opt, path, rapt_strerror(rc));
    rapt__afile_abort(&af);
    return 0;
}

int run_report_prepare(run_report *rr, bool dry_run, rapt__run_report *out)
{
    memset(out, 0, sizeof(*out));
    out->sla_s = -1;
    if (rr->stage && rr->stage_col)
        return cli_fail(RUN_REPORT_EXIT_USAGE, "run: --stage and --stage-col exclude each other");
    if (rr->stage && !*rr->stage)
        return cli_fail(RUN_REPORT_EXIT_USAGE, "run: --stage needs a name");
    if (rr->html && rr->summary && !strcmp(rr->html, rr->summary))
        return cli_fail(RUN_REPORT_EXIT_USAGE,
                        "run: --report and --summary name the same file '%s'", rr->html);
    int rc;
    if ((rr->html && (rc = check_output("--report", rr->html, dry_run))) ||
        (rr->summary && (rc = check_output("--summary", rr->summary, dry_run))))
        return rc;
    if (build_slas(rr) < 0)
        return cli_fail(RUN_REPORT_EXIT_ERROR, "run: out of memory");
    out->stage = rr->stage;
    out->stage_col = rr->stage_col;
    out->sla_s = rr->sla_all;
    out->sla_stages = rr->stage_slas;
    out->nsla_stages = rr->nstage_slas;
    /* A report is built for the outputs, or for the SLA line at the end; --sla alone with
     * neither output still records its targets in the events. */
    if (dry_run || (!rr->html && !rr->summary && !rr->nsla_specs))
        return 0;
    rapt_report_opts ro;
    rapt_report_opts_init(&ro);
    if ((rc = rapt_report_create(&rr->rep, &ro)) < 0)
        return cli_fail(RUN_REPORT_EXIT_ERROR, "run: %s", rapt_strerror(rc));
    /* The all-jobs target first, then the stages in the order given: the order in which
     * `rapt report` meets them in run_start, so both list them alike. */
    if (rr->sla_all > 0 && (rc = rapt_report_add_sla(rr->rep, NULL, rr->sla_all)) < 0)
        return cli_fail(RUN_REPORT_EXIT_ERROR, "run: %s", rapt_strerror(rc));
    for (size_t i = 0; i < rr->nstage_slas; i++)
        if ((rc = rapt_report_add_sla(rr->rep, rr->stage_slas[i].stage,
                                      rr->stage_slas[i].seconds)) < 0)
            return cli_fail(RUN_REPORT_EXIT_ERROR, "run: %s", rapt_strerror(rc));
    out->sink = feed;
    out->sink_ud = rr;
    return 0;
}

/* Saves one output; on failure tries $TMPDIR/rapt-PID-NAME and appends what happened to msg. */
static void save(const run_report *rr, rapt_report_format fmt, const char *opt, const char *path,
                 char *msg, size_t size)
{
    int rc = rapt_report_save(rr->rep, fmt, path);
    if (rc == 0)
        return;
    const char *tmp = getenv("TMPDIR");
    char base[256], fallback[4096];
    snprintf(base, sizeof(base), "%s", path);
    if (snprintf(fallback, sizeof(fallback), "%s/rapt-%ld-%s", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid(), basename(base)) >= (int)sizeof(fallback))
        snprintf(fallback, sizeof(fallback), "/tmp/rapt-%ld-report", (long)getpid());
    int rc2 = rapt_report_save(rr->rep, fmt, fallback);
    size_t n = strlen(msg);
    int w;
    /* A message cut short is still the one line; the lengths are checked only for that. */
    if (rc2 == 0)
        w = snprintf(msg + n, size - n, "%s%s '%s': %s; saved to '%s' instead", n ? "; " : "", opt,
                     path, rapt_strerror(rc), fallback);
    else
        w = snprintf(msg + n, size - n, "%s%s '%s': %s (and '%s': %s)", n ? "; " : "", opt, path,
                     rapt_strerror(rc), fallback, rapt_strerror(rc2));
    (void)w;
}

int run_report_end(run_report *rr, int status)
{
    if (!rr->rep)
        return status;
    if (rr->feed_err)
        return cli_fail(RUN_REPORT_EXIT_ERROR, "run: the report could not be built: %s",
                        rapt_strerror(rr->feed_err));
    int rc = rapt_report_finish(rr->rep);
    if (rc < 0)
        return cli_fail(RUN_REPORT_EXIT_ERROR, "run: the report could not be built: %s",
                        rapt_strerror(rc));
    rapt_report_totals t;
    if (rr->nsla_specs && rapt_report_get_totals(rr->rep, &t) == 0 &&
        (t.sla_violated || t.sla_warned))
        cli_warn("run: SLA: %llu job%s took longer than the target, %llu more over %.0f%% of it",
                 (unsigned long long)t.sla_violated, t.sla_violated == 1 ? "" : "s",
                 (unsigned long long)t.sla_warned, RAPT_REPORT_SLA_WARN * 100);
    char msg[2048] = "";
    if (rr->html)
        save(rr, RAPT_REPORT_HTML, "--report", rr->html, msg, sizeof(msg));
    if (rr->summary)
        save(rr, RAPT_REPORT_JSON, "--summary", rr->summary, msg, sizeof(msg));
    if (*msg)
        return cli_fail(RUN_REPORT_EXIT_ERROR, "run: %s", msg);
    return status;
}

void run_report_free(run_report *rr)
{
    rapt_report_destroy(rr->rep);
    for (size_t i = 0; i < rr->nstage_slas; i++)
        free((char *)rr->stage_slas[i].stage);
    free(rr->stage_slas);
    memset(rr, 0, sizeof(*rr));
}
