/* cmd_history.c: `rapt history`, what rapt has learned about each kind of job.
 *
 *   rapt history [list] [--class NAME] [--runs N] [--json]    classes, models, recent runs
 *   rapt history forget CLASS                                  delete a class's attempts
 *   rapt history export [--format csv|json] [--class NAME]     every attempt, for other tools
 *
 * Reading never creates or changes the file (rapt_history opens it read-only); only forget
 * writes. The file is the one `rapt run` uses: --history FILE, else the default under
 * $XDG_STATE_HOME (see include/rapt/history.h).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "rapt/rapt.h"

static const char usage_text[] =
    "usage: rapt history [list] [--class NAME] [--runs N] [--json] [options]\n"
    "       rapt history forget CLASS [options]\n"
    "       rapt history export [--format csv|json] [--class NAME] [options]\n"
    "\n"
    "What rapt learned from earlier runs: for each job class (by default a command template)\n"
    "the attempts recorded, the predicted peak memory and runtime against input size, and the\n"
    "recent runs. 'forget' deletes a class; 'export' writes every attempt as CSV or JSON Lines.\n"
    "\n"
    "options:\n"
    "  --class NAME        only this class\n"
    "  --runs N            recent runs to list (default 5; 0 = none)\n"
    "  --json              list: print one JSON object (schema \"rapt.history/1\")\n"
    "  --format csv|json   export: CSV with a header (default) or JSON Lines\n"
    "  --history FILE      the history file (default $XDG_STATE_HOME/rapt/history.db,\n"
    "                      else ~/.local/state/rapt/history.db)\n"
    "  --no-history        accepted for symmetry with 'rapt run'; there is then nothing to show\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 done, 1 the file cannot be used or has no such class (nothing was\n"
    "changed), 2 usage error.\n";

static int exec_history(int argc, char **argv);

const rapt_cmd rapt_cmd_history = {
    .name = "history",
    .summary = "show, export or forget what rapt learned about each kind of job",
    .usage = usage_text,
    .exec = exec_history,
};

enum {
    OPT_CLASS = 256,
    OPT_RUNS,
    OPT_JSON,
    OPT_FORMAT,
    OPT_HISTORY,
    OPT_NO_HISTORY,
};

typedef struct hargs {
    const char *class_name, *history;
    bool json, no_history, csv;
    unsigned runs;
    char path[4096];
} hargs;

/* ---- formatting helpers ------------------------------------------------------------------- */

/* Local time for people, "-" when unknown. JSON and exports carry epoch seconds instead, which
 * need no time zone to be read back. */
static void fmt_time(double t, char *buf, size_t len)
{
    if (!(t > 0)) {
        rapt__strlcpy(buf, "-", len);
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    localtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Durations and sizes through the same formatters as every other rapt command, so "1.5 GiB"
 * and "850 ms" read the same everywhere. */
static void fmt_secs(double s, char *buf, size_t len)
{
    if (s < 0 || !isfinite(s))
        rapt__strlcpy(buf, "-", len);
    else
        rapt_duration_format((uint64_t)llround(s * 1e9), buf, len);
}

static void fmt_bytes(double b, char *buf, size_t len)
{
    if (b < 0 || !isfinite(b))
        rapt__strlcpy(buf, "-", len);
    else
        rapt_size_format((uint64_t)llround(b), buf, len);
}

/* Prints a class name for people: quoted, with control bytes escaped so a hostile name stays
 * on one line. */
static void print_name(const char *s)
{
    putchar('\'');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else if (*p == '\'')
            fputs("\\'", stdout);
        else
            putchar(*p);
    }
    putchar('\'');
}

/* The sizes a class's predictions are shown at: the smallest, median and largest input seen. */
static size_t rep_sizes(const rapt_model_fit *f, double out[3])
{
    if (f->basis != RAPT_BASIS_FIT)
        return 0;
    double c[3] = {f->x_min, f->x_median, f->x_max};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        if (n == 0 || c[i] != out[n - 1])
            out[n++] = c[i];
    return n;
}

/* The class prediction at input size x (x < 0: size unknown, the median basis). Never an exact
 * match: the table shows what a new job of that size would be given. */
static rapt_estimate at_size(rapt_model *m, const char *cls, rapt_model_qty q, double x)
{
    rapt_features f;
    memset(&f, 0, sizeof(f));
    if (x >= 0) {
        f.has_input = true;
        f.input_bytes = (uint64_t)x;
    }
    /* A digest no job has: the class prediction, never an exact match. */
    memset(f.digest, 0xff, sizeof(f.digest));
    rapt_prediction p;
    rapt_model_predict(m, cls, &f, &p);
    return q == RAPT_MODEL_PEAK ? p.peak : p.runtime;
}

/* One line per quantity: the learned line (or median) with its margin, samples and confidence,
 * so a reader can judge how much to trust the numbers below it. Runtime slopes are shown per
 * MiB because seconds per byte are unreadable. */
static void print_fit_line(const char *label, const rapt_model_fit *f, bool bytes)
{
    char a[32], b[32];
    printf("  %-9s", label);
    if (f->basis == RAPT_BASIS_NONE) {
        printf("no successful attempt measured it\n");
        return;
    }
    if (f->basis == RAPT_BASIS_MEDIAN) {
        if (bytes) {
            fmt_bytes(f->intercept, a, sizeof(a));
            fmt_bytes(f->safe_intercept, b, sizeof(b));
        } else {
            fmt_secs(f->intercept, a, sizeof(a));
            fmt_secs(f->safe_intercept, b, sizeof(b));
        }
        printf("median %s, safe %s (does not follow input size; %u samples, confidence %.2f)\n", a,
               b, f->samples, f->confidence);
        return;
    }
    if (bytes) {
        fmt_bytes(f->intercept, a, sizeof(a));
        printf("%.3g x size + %s", f->slope, a);
    } else {
        fmt_secs(f->intercept, a, sizeof(a));
        printf("%.3g s per MiB + %s", f->slope * 1048576.0, a);
    }
    printf(", safe +%.1f%% (Theil-Sen fit, %u samples, confidence %.2f)\n", 100 * f->margin,
           f->samples, f->confidence);
}

/* ---- list --------------------------------------------------------------------------------- */

/* What the list shows of one class, computed once and printed as text or JSON. */
typedef struct class_view {
    const rapt_history_class *c;
    rapt_model_fit peak, runtime;
    double sizes[3];
    size_t nsizes;
} class_view;

static void json_fit(rapt__jw *w, const rapt_model_fit *f)
{
    rapt__jw_obj(w);
    rapt__jw_key(w, "basis");
    rapt__jw_str(w, rapt_model_basis_name(f->basis));
    if (f->basis != RAPT_BASIS_NONE) {
        rapt__jw_key(w, "slope");
        rapt__jw_dbl(w, f->slope);
        rapt__jw_key(w, "intercept");
        rapt__jw_dbl(w, f->intercept);
        rapt__jw_key(w, "safe_slope");
        rapt__jw_dbl(w, f->safe_slope);
        rapt__jw_key(w, "safe_intercept");
        rapt__jw_dbl(w, f->safe_intercept);
        rapt__jw_key(w, "margin");
        rapt__jw_dbl(w, f->margin);
        rapt__jw_key(w, "samples");
        rapt__jw_u64(w, f->samples);
        rapt__jw_key(w, "confidence");
        rapt__jw_dbl(w, f->confidence);
    }
    rapt__jw_end(w);
}

static void json_opt_time(rapt__jw *w, double t)
{
    if (t > 0)
        rapt__jw_fixed(w, t, 6);
    else
        rapt__jw_null(w);
}

/* `rapt history [list]`. h is NULL when there is no history yet: the output then says so (and
 * JSON has exists false), which is not an error. Models are rebuilt from the attempts exactly as
 * rapt run seeds them, so what is shown is what a run would predict. */
static int do_list(const hargs *a, rapt_history *h)
{
    rapt_history_class *cv = NULL;
    size_t nc = 0;
    rapt_history_run_info *rv = NULL;
    size_t nr = 0;
    rapt_model *m = NULL;
    int rc = 0, ret = RAPT_EXIT_OK;
    if (h && (rc = rapt_history_classes(h, &cv, &nc)) < 0)
        return cli_fail(RAPT_EXIT_FAIL, "history: %s: %s", a->path, rapt_strerror(rc));
    if (a->class_name) {
        size_t keep = nc;
        for (size_t i = 0; i < nc; i++)
            if (strcmp(cv[i].name, a->class_name) == 0)
                keep = i;
        if (keep == nc) {
            rapt_history_classes_free(cv, nc);
            return cli_fail(RAPT_EXIT_FAIL, "history: no class '%s' in %s", a->class_name, a->path);
        }
        /* Show only that class: move it first and pretend the list is one long. */
        rapt_history_class tmp = cv[0];
        cv[0] = cv[keep];
        cv[keep] = tmp;
    }
    size_t shown = a->class_name ? 1 : nc;
    class_view *views = calloc(shown ? shown : 1, sizeof(*views));
    if (!views || rapt_model_create(&m, NULL) < 0) {
        free(views);
        rapt_history_classes_free(cv, nc);
        return cli_fail(RAPT_EXIT_SYSTEM, "history: out of memory");
    }
    for (size_t i = 0; i < shown; i++) {
        views[i].c = &cv[i];
        int learned = rapt_model_load(m, h, cv[i].name, 0);
        if (learned < 0) {
            rc = learned;
            break;
        }
        rapt_model_fit_info(m, cv[i].name, RAPT_MODEL_PEAK, &views[i].peak);
        rapt_model_fit_info(m, cv[i].name, RAPT_MODEL_RUNTIME, &views[i].runtime);
        views[i].nsizes = rep_sizes(&views[i].peak, views[i].sizes);
    }
    if (rc >= 0 && h && a->runs)
        rc = rapt_history_runs(h, a->runs, &rv, &nr);
    if (rc < 0) {
        ret = cli_fail(RAPT_EXIT_FAIL, "history: %s: %s", a->path, rapt_strerror(rc));
        goto out;
    }

    char b1[48], b2[48], b3[48], b4[48];
    if (a->json) {
        rapt__jw w;
        rapt__jw_init(&w, stdout, true);
        rapt__jw_obj(&w);
        rapt__jw_key(&w, "schema");
        rapt__jw_str(&w, "rapt.history/1");
        rapt__jw_key(&w, "path");
        rapt__jw_str(&w, a->path);
        rapt__jw_key(&w, "exists");
        rapt__jw_bool(&w, h != NULL);
        rapt__jw_key(&w, "classes");
        rapt__jw_arr(&w);
        for (size_t i = 0; i < shown; i++) {
            const class_view *v = &views[i];
            rapt__jw_obj(&w);
            rapt__jw_key(&w, "name");
            rapt__jw_str(&w, v->c->name);
            rapt__jw_key(&w, "attempts");
            rapt__jw_u64(&w, v->c->attempts);
            rapt__jw_key(&w, "succeeded");
            rapt__jw_u64(&w, v->c->succeeded);
            rapt__jw_key(&w, "runs");
            rapt__jw_u64(&w, v->c->runs);
            rapt__jw_key(&w, "first");
            json_opt_time(&w, v->c->first);
            rapt__jw_key(&w, "last");
            json_opt_time(&w, v->c->last);
            rapt__jw_key(&w, "peak");
            json_fit(&w, &v->peak);
            rapt__jw_key(&w, "runtime");
            json_fit(&w, &v->runtime);
            rapt__jw_key(&w, "predictions");
            rapt__jw_arr(&w);
            double xs[3];
            size_t nx = v->nsizes;
            memcpy(xs, v->sizes, sizeof(xs));
            if (nx == 0) {
                xs[0] = -1; /* input size unknown: the class median */
                nx = v->peak.basis != RAPT_BASIS_NONE || v->runtime.basis != RAPT_BASIS_NONE;
            }
            for (size_t k = 0; k < nx; k++) {
                rapt_estimate p = at_size(m, v->c->name, RAPT_MODEL_PEAK, xs[k]);
                rapt_estimate r = at_size(m, v->c->name, RAPT_MODEL_RUNTIME, xs[k]);
                rapt__jw_obj(&w);
                rapt__jw_key(&w, "input_bytes");
                if (xs[k] >= 0)
                    rapt__jw_u64(&w, (uint64_t)xs[k]);
                else
                    rapt__jw_null(&w);
                rapt__jw_key(&w, "peak");
                rapt__jw_dbl(&w, p.basis ? round(p.value) : NAN);
                rapt__jw_key(&w, "peak_safe");
                rapt__jw_dbl(&w, p.basis ? ceil(p.safe) : NAN);
                rapt__jw_key(&w, "runtime_s");
                rapt__jw_dbl(&w, r.basis ? r.value : NAN);
                rapt__jw_key(&w, "runtime_safe_s");
                rapt__jw_dbl(&w, r.basis ? r.safe : NAN);
                rapt__jw_end(&w);
            }
            rapt__jw_end(&w);
            rapt__jw_end(&w);
        }
        rapt__jw_end(&w);
        rapt__jw_key(&w, "runs");
        rapt__jw_arr(&w);
        for (size_t i = 0; i < nr; i++) {
            rapt__jw_obj(&w);
            rapt__jw_key(&w, "run_id");
            rapt__jw_str(&w, rv[i].run_id);
            rapt__jw_key(&w, "host");
            rapt__jw_str(&w, rv[i].host);
            rapt__jw_key(&w, "command");
            rapt__jw_str(&w, rv[i].command);
            rapt__jw_key(&w, "started");
            rapt__jw_fixed(&w, rv[i].started, 6);
            rapt__jw_key(&w, "ended");
            json_opt_time(&w, rv[i].ended);
            rapt__jw_key(&w, "attempts");
            rapt__jw_u64(&w, rv[i].attempts);
            rapt__jw_key(&w, "succeeded");
            rapt__jw_u64(&w, rv[i].succeeded);
            rapt__jw_key(&w, "failed");
            rapt__jw_u64(&w, rv[i].failed);
            rapt__jw_key(&w, "exit_code");
            if (rv[i].exit_code >= 0)
                rapt__jw_i64(&w, rv[i].exit_code);
            else
                rapt__jw_null(&w);
            rapt__jw_end(&w);
        }
        rapt__jw_end(&w);
        rapt__jw_end(&w);
        rapt__jw_done(&w);
        goto out;
    }

    printf("history    %s%s\n", a->path, h ? "" : "  (no history yet)");
    for (size_t i = 0; i < shown; i++) {
        const class_view *v = &views[i];
        fmt_time(v->c->last, b1, sizeof(b1));
        printf("\nclass ");
        print_name(v->c->name);
        printf("\n  attempts %llu (%llu succeeded) in %llu run%s, last %s\n",
               (unsigned long long)v->c->attempts, (unsigned long long)v->c->succeeded,
               (unsigned long long)v->c->runs, v->c->runs == 1 ? "" : "s", b1);
        print_fit_line("peak", &v->peak, true);
        print_fit_line("runtime", &v->runtime, false);
        if (v->nsizes) {
            printf("  %-12s %-12s %-12s %-12s %s\n", "input", "peak", "safe peak", "runtime",
                   "safe runtime");
            for (size_t k = 0; k < v->nsizes; k++) {
                rapt_estimate p = at_size(m, v->c->name, RAPT_MODEL_PEAK, v->sizes[k]);
                rapt_estimate r = at_size(m, v->c->name, RAPT_MODEL_RUNTIME, v->sizes[k]);
                char x[48];
                fmt_bytes(v->sizes[k], x, sizeof(x));
                fmt_bytes(p.basis ? p.value : -1, b1, sizeof(b1));
                fmt_bytes(p.basis ? p.safe : -1, b2, sizeof(b2));
                fmt_secs(r.basis ? r.value : -1, b3, sizeof(b3));
                fmt_secs(r.basis ? r.safe : -1, b4, sizeof(b4));
                printf("  %-12s %-12s %-12s %-12s %s\n", x, b1, b2, b3, b4);
            }
        }
    }
    if (shown == 0)
        printf("\nno classes recorded yet\n");
    if (nr) {
        printf("\nrecent runs\n  %-19s %-20s %-12s %8s %8s %8s  %s\n", "started", "run id", "host",
               "attempts", "ok", "failed", "command");
        for (size_t i = 0; i < nr; i++) {
            fmt_time(rv[i].started, b1, sizeof(b1));
            printf("  %-19s %-20.20s %-12.12s %8llu %8llu %8llu  ", b1, rv[i].run_id, rv[i].host,
                   (unsigned long long)rv[i].attempts, (unsigned long long)rv[i].succeeded,
                   (unsigned long long)rv[i].failed);
            if (rv[i].command)
                print_name(rv[i].command);
            putchar('\n');
        }
    }
out:
    rapt_model_destroy(m);
    free(views);
    rapt_history_runs_free(rv, nr);
    rapt_history_classes_free(cv, nc);
    return ret;
}

/* ---- export -------------------------------------------------------------------------------- */

/* One CSV field, RFC 4180: quoted when it holds a comma, a quote, CR or LF, quotes doubled.
 * Bytes pass through unchanged, so a file name that is not UTF-8 survives. */
static void csv_str(const char *s, bool last)
{
    if (s) {
        if (strpbrk(s, ",\"\r\n")) {
            putchar('"');
            for (const char *p = s; *p; p++) {
                if (*p == '"')
                    putchar('"');
                putchar(*p);
            }
            putchar('"');
        } else {
            fputs(s, stdout);
        }
    }
    putchar(last ? '\n' : ',');
}

/* Numbers never need quoting; unknown values are empty fields, as spreadsheets and SQLite's
 * importer read them. Times get microseconds, durations six decimals. */
static void csv_i64(int64_t v, bool known)
{
    if (known)
        printf("%lld", (long long)v);
    putchar(',');
}

static void csv_dbl(double v)
{
    if (v >= 0 && isfinite(v))
        printf("%.6f", v);
    putchar(',');
}

/* The export columns, in the order of the header row and of every line. Field names are those of
 * a job_end event where one exists, so tools that read the events read exports too. */
static const char *const export_cols[] = {
    "run_id",      "host",        "class",  "stage",    "seq",     "attempt",  "slot",
    "arg_digest",  "input_bytes", "start",  "wall_s",   "user_s",  "sys_s",    "peak_bytes",
    "peak_method", "exit",        "signal", "reason",   "outcome", "oom_kill", "reservation",
    "mem_limit",   "mem_budget",  "slots",  "recorded",
};

static void export_csv_row(const rapt_history_row *r)
{
    const rapt_attempt *a = &r->a;
    char hex[RAPT_DIGEST_HEX];
    csv_str(r->run_id, false);
    csv_str(r->host, false);
    csv_str(a->class_name, false);
    csv_str(a->stage, false);
    csv_i64((int64_t)a->seq, true);
    csv_i64(a->attempt, true);
    csv_i64(a->slot, true);
    csv_str(a->has_digest ? rapt_digest_hex(a->digest, hex) : NULL, false);
    csv_i64(a->input_bytes, a->input_bytes >= 0);
    csv_dbl(a->start);
    csv_dbl(a->wall_s);
    csv_dbl(a->user_s);
    csv_dbl(a->sys_s);
    csv_i64(a->peak_bytes, a->peak_bytes >= 0);
    csv_str(a->peak_method, false);
    csv_i64(a->exit_code, a->exit_code >= 0);
    csv_i64(a->signal, a->signal > 0);
    csv_str(a->reason, false);
    csv_str(a->outcome, false);
    csv_i64(a->oom_kill, true);
    csv_i64(a->reservation, a->reservation >= 0);
    csv_i64(a->mem_limit, a->mem_limit >= 0);
    csv_i64(a->mem_budget, a->mem_budget >= 0);
    csv_i64(a->slots, a->slots > 0);
    printf("%.6f\n", r->recorded);
}

static void jw_opt_i64(rapt__jw *w, const char *k, int64_t v, bool known)
{
    rapt__jw_key(w, k);
    if (known)
        rapt__jw_i64(w, v);
    else
        rapt__jw_null(w);
}

static void jw_opt_dbl(rapt__jw *w, const char *k, double v)
{
    rapt__jw_key(w, k);
    if (v >= 0 && isfinite(v))
        rapt__jw_dbl(w, v);
    else
        rapt__jw_null(w);
}

static void export_json_row(const rapt_history_row *r)
{
    const rapt_attempt *a = &r->a;
    char hex[RAPT_DIGEST_HEX];
    rapt__jw w;
    rapt__jw_init(&w, stdout, false);
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "run_id");
    rapt__jw_str(&w, r->run_id);
    rapt__jw_key(&w, "host");
    rapt__jw_str(&w, r->host);
    rapt__jw_key(&w, "class");
    rapt__jw_str(&w, a->class_name);
    rapt__jw_key(&w, "stage");
    rapt__jw_str(&w, a->stage);
    jw_opt_i64(&w, "seq", (int64_t)a->seq, true);
    jw_opt_i64(&w, "attempt", a->attempt, true);
    jw_opt_i64(&w, "slot", a->slot, true);
    rapt__jw_key(&w, "arg_digest");
    rapt__jw_str(&w, a->has_digest ? rapt_digest_hex(a->digest, hex) : NULL);
    jw_opt_i64(&w, "input_bytes", a->input_bytes, a->input_bytes >= 0);
    rapt__jw_key(&w, "start");
    rapt__jw_fixed(&w, a->start, 6);
    jw_opt_dbl(&w, "wall_s", a->wall_s);
    jw_opt_dbl(&w, "user_s", a->user_s);
    jw_opt_dbl(&w, "sys_s", a->sys_s);
    jw_opt_i64(&w, "peak_bytes", a->peak_bytes, a->peak_bytes >= 0);
    rapt__jw_key(&w, "peak_method");
    rapt__jw_str(&w, a->peak_method);
    jw_opt_i64(&w, "exit", a->exit_code, a->exit_code >= 0);
    jw_opt_i64(&w, "signal", a->signal, a->signal > 0);
    rapt__jw_key(&w, "reason");
    rapt__jw_str(&w, a->reason);
    rapt__jw_key(&w, "outcome");
    rapt__jw_str(&w, a->outcome);
    rapt__jw_key(&w, "oom_kill");
    rapt__jw_bool(&w, a->oom_kill);
    jw_opt_i64(&w, "reservation", a->reservation, a->reservation >= 0);
    jw_opt_i64(&w, "mem_limit", a->mem_limit, a->mem_limit >= 0);
    jw_opt_i64(&w, "mem_budget", a->mem_budget, a->mem_budget >= 0);
    jw_opt_i64(&w, "slots", a->slots, a->slots > 0);
    rapt__jw_key(&w, "recorded");
    rapt__jw_fixed(&w, r->recorded, 6);
    rapt__jw_end(&w);
    rapt__jw_done(&w);
}

/* `rapt history export`: streams every attempt through the cursor (oldest first), so an export
 * of a large file never holds it in memory. */
static int do_export(const hargs *a, rapt_history *h)
{
    if (a->csv)
        for (size_t i = 0; i < RAPT__ARRAY_SIZE(export_cols); i++)
            printf("%s%c", export_cols[i], i + 1 < RAPT__ARRAY_SIZE(export_cols) ? ',' : '\n');
    if (!h)
        return RAPT_EXIT_OK;
    if (a->class_name) {
        rapt_history_class *cv;
        size_t nc;
        int rc = rapt_history_classes(h, &cv, &nc);
        if (rc < 0)
            return cli_fail(RAPT_EXIT_FAIL, "history: %s: %s", a->path, rapt_strerror(rc));
        bool found = false;
        for (size_t i = 0; i < nc; i++)
            found |= strcmp(cv[i].name, a->class_name) == 0;
        rapt_history_classes_free(cv, nc);
        if (!found)
            return cli_fail(RAPT_EXIT_FAIL, "history: no class '%s' in %s", a->class_name, a->path);
    }
    rapt_history_iter *it = NULL;
    int rc = rapt_history_iter_open(h, a->class_name, 0, &it);
    rapt_history_row row;
    while (rc >= 0 && (rc = rapt_history_iter_next(it, &row)) > 0) {
        if (a->csv)
            export_csv_row(&row);
        else
            export_json_row(&row);
    }
    rapt_history_iter_close(it);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_FAIL, "history: export from %s: %s", a->path, rapt_strerror(rc));
    return RAPT_EXIT_OK;
}

/* ---- forget ------------------------------------------------------------------------------- */

/* `rapt history forget CLASS`: the one action that writes. It opens the file like rapt run
 * does (examined first, refused if not understood) but never creates it. */
static int do_forget(const hargs *a, const char *cls)
{
    struct stat st;
    if (stat(a->path, &st) < 0)
        return cli_fail(RAPT_EXIT_FAIL, "history: forget: no history file %s", a->path);
    rapt_history *h;
    char why[512] = "";
    cli_history_open_soft("history", a->path, false, &h, why, sizeof(why));
    if (!h)
        return cli_fail(RAPT_EXIT_FAIL, "history: forget: %s", why);
    uint64_t removed = 0;
    int rc = rapt_history_forget(h, cls, &removed);
    rapt_history_close(h);
    if (rc == -ENOENT)
        return cli_fail(RAPT_EXIT_FAIL, "history: forget: no class '%s' in %s", cls, a->path);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_FAIL, "history: forget: %s: %s", a->path, rapt_strerror(rc));
    printf("forgot %llu attempt%s of class ", (unsigned long long)removed, removed == 1 ? "" : "s");
    print_name(cls);
    putchar('\n');
    return RAPT_EXIT_OK;
}

/* ---- the command --------------------------------------------------------------------------- */

/* Opens for reading. Returns 0 with *h (NULL: no history yet) or an exit code after one error
 * line: for `rapt history` the file is the subject, so a file it cannot use is an error. */
static int open_for_reading(const hargs *a, rapt_history **h)
{
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = a->path;
    o.readonly = true;
    int rc = rapt_history_open(h, &o);
    if (rc == -ENOENT) {
        *h = NULL;
        return 0;
    }
    if (rc == 0)
        return 0;
    const char *what = rc == RAPT_ECORRUPT  ? "damaged or not a SQLite file"
                       : rc == RAPT_ESCHEMA ? "written by a newer rapt or another program"
                                            : rapt_strerror(rc);
    return cli_fail(RAPT_EXIT_FAIL, "history: %s: %s (left unchanged)", a->path, what);
}

static int exec_history(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"class", required_argument, NULL, OPT_CLASS},
        {"runs", required_argument, NULL, OPT_RUNS},
        {"json", no_argument, NULL, OPT_JSON},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"no-history", no_argument, NULL, OPT_NO_HISTORY},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    hargs a = {.runs = 5, .csv = true};
    bool have_format = false, have_runs = false;
    opterr = 0;
    optind = 1;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CLASS: a.class_name = optarg; break;
        case OPT_RUNS:
            rc = cli_uint("--runs", optarg, 0, 1000000, &a.runs);
            have_runs = true;
            break;
        case OPT_JSON: a.json = true; break;
        case OPT_FORMAT:
            have_format = true;
            if (strcmp(optarg, "csv") == 0)
                a.csv = true;
            else if (strcmp(optarg, "json") == 0)
                a.csv = false;
            else
                rc = cli_fail(RAPT_EXIT_USAGE, "history: --format '%s': use csv or json", optarg);
            break;
        case OPT_HISTORY: a.history = optarg; break;
        case OPT_NO_HISTORY: a.no_history = true; break;
        case 'h': return cli_close_stdout(cli_help(&rapt_cmd_history));
        default: return cli_bad_option(&rapt_cmd_history, c, argc, argv);
        }
    }
    if (rc)
        return rc;
    /* getopt_long permutes, so options may come before or after the action word. */
    const char *action = optind < argc ? argv[optind++] : "list";
    int nargs = argc - optind;
    bool list = strcmp(action, "list") == 0, forget = strcmp(action, "forget") == 0,
         export = strcmp(action, "export") == 0;
    if (!list && !forget && !export)
        return cli_fail(RAPT_EXIT_USAGE,
                        "history: unknown action '%s' (use list, forget or export)", action);
    if (a.history && a.no_history)
        return cli_fail(RAPT_EXIT_USAGE, "history: --history and --no-history contradict");
    /* --no-history exists so scripts can pass rapt run's options unchanged, but a command that
     * only shows history has nothing to do without one: say so instead of printing nothing. */
    if (a.no_history)
        return cli_fail(RAPT_EXIT_USAGE, "history: --no-history: there is no history to %s",
                        list ? "show" : action);
    if (forget && nargs != 1)
        return cli_fail(RAPT_EXIT_USAGE, "history: forget needs exactly one CLASS");
    if (!forget && nargs != 0)
        return cli_fail(RAPT_EXIT_USAGE, "history: %s: unexpected argument '%s'", action,
                        argv[optind]);
    if (have_format && !export)
        return cli_fail(RAPT_EXIT_USAGE, "history: --format belongs to 'export'");
    if ((a.json || have_runs) && !list)
        return cli_fail(RAPT_EXIT_USAGE, "history: --%s belongs to 'list'",
                        a.json ? "json" : "runs");
    if (forget && a.class_name)
        return cli_fail(RAPT_EXIT_USAGE, "history: forget takes the class as its argument");
    if ((rc = cli_history_path("history", a.history, a.path, sizeof(a.path))))
        return rc;

    if (forget)
        return cli_close_stdout(do_forget(&a, argv[optind]));
    rapt_history *h = NULL;
    if ((rc = open_for_reading(&a, &h)))
        return rc;
    rc = list ? do_list(&a, h) : do_export(&a, h);
    rapt_history_close(h);
    return cli_close_stdout(rc);
}
