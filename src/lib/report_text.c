/* report_text.c: the text summary and the JSON summary (schema rapt.summary/1).
 *
 * Owns the layout of both. The JSON schema is documented field by field in docs/report.md; a
 * change in meaning needs a new schema version, a new field does not.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/report_int.h"

/* Jobs without a stage are shown as "(none)"; in the JSON their stage is null. */
const char *rapt__report_stage_name(const rapt_report *r, unsigned stage)
{
    return stage == 0 || stage >= r->nstages ? "(none)" : r->stages[stage];
}

/* Durations for people, through the common formatter; unknown (NaN) and negative values
 * print "-", which keeps every renderer free of NaN. */
char *rapt__report_secs(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    if (s == 0) {
        snprintf(buf, len, "0 s");
        return buf;
    }
    if (s < 1e-6) {
        snprintf(buf, len, "<1 us");
        return buf;
    }
    return rapt_duration_format((uint64_t)llround(s * 1e9), buf, len);
}

/* A size, "-" for unknown: sizes come as uint64 (RAPT__R_NONE unknown) or double (NaN). */
static const char *size_or_dash(uint64_t v, char *buf, size_t len)
{
    if (v == RAPT__R_NONE)
        return "-";
    return rapt_size_format(v, buf, len);
}

static const char *dsize(double v, char *buf, size_t len)
{
    if (!isfinite(v) || v < 0)
        return "-";
    return rapt_size_format((uint64_t)v, buf, len);
}

/* "12.3%" of a fraction, "-" when unknown. */
static const char *pct(double frac, char *buf, size_t len)
{
    if (!isfinite(frac))
        return "-";
    snprintf(buf, len, "%.1f%%", frac * 100);
    return buf;
}

/* "%.1f", "-" when unknown. */
static const char *num1(double v, char *buf, size_t len)
{
    if (!isfinite(v))
        return "-";
    snprintf(buf, len, "%.1f", v);
    return buf;
}

/* ISO 8601 UTC with milliseconds, e.g. "2026-11-24T16:52:32.123Z"; "" for unknown. */
static void iso_time(double epoch, char *buf, size_t len)
{
    if (!isfinite(epoch) || epoch <= 0) {
        buf[0] = '\0';
        return;
    }
    time_t sec = (time_t)floor(epoch);
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        buf[0] = '\0';
        return;
    }
    unsigned ms = (unsigned)floor((epoch - (double)sec) * 1000) % 1000;
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0 || n + 6 > len) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf + n, len - n, ".%03uZ", ms);
}

/* ---- text -------------------------------------------------------------------------------- */

/* The text summary: a headline with the bottleneck, one line per kind of figure (each names its
 * source: samples, decisions or the jobs' own peaks), then the recommendations, and the tables
 * only when they have rows. Meant for a terminal: 100 columns, no colour. The input line at the
 * end appears only when something was skipped or a run did not end. */
int rapt__report_text(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    char b1[32], b2[32], b3[32], b4[32];
    const char *cmd = r->nruns > 0 && r->runs[0].command ? r->runs[0].command : NULL;
    fprintf(f, "rapt report: %zu run%s, %llu job%s in %s", r->nruns, r->nruns == 1 ? "" : "s",
            (unsigned long long)an->jobs, an->jobs == 1 ? "" : "s",
            rapt__report_secs(an->makespan, b1, sizeof(b1)));
    if (cmd && r->nruns == 1)
        fprintf(f, " (%s)", cmd);
    fprintf(f, "\nbottleneck   %s\n\n", an->bottleneck);

    fprintf(f,
            "jobs         %llu succeeded, %llu failed, %llu unfinished; %llu attempts, %llu "
            "retried, %llu requeued, %llu OOM-killed\n",
            (unsigned long long)an->succeeded, (unsigned long long)an->failed,
            (unsigned long long)an->unfinished, (unsigned long long)an->attempts,
            (unsigned long long)an->retried, (unsigned long long)an->requeued,
            (unsigned long long)an->oom);
    fprintf(f, "makespan     %s\n", rapt__report_secs(an->makespan, b1, sizeof(b1)));
    fprintf(f, "CPU          %s of %u CPU%s (%.1f CPU-seconds)\n",
            pct(an->cpu_util, b1, sizeof(b1)), an->cpus, an->cpus == 1 ? "" : "s", an->cpu_s);
    fprintf(f, "slots        %s of %u busy on average (%s), at most %u, 90%% of the time <= %u\n",
            num1(an->mean_running, b1, sizeof(b1)), an->slots, pct(an->slot_util, b2, sizeof(b2)),
            an->max_running, an->p90_running);
    fprintf(f, "memory       limit %s, budget %s; ", size_or_dash(an->limit, b1, sizeof(b1)),
            size_or_dash(an->budget, b2, sizeof(b2)));
    if (isfinite(an->used_max))
        fprintf(f, "in use at most %s, %s on average", dsize(an->used_max, b1, sizeof(b1)),
                dsize(an->used_mean, b2, sizeof(b2)));
    else
        fprintf(f, "running jobs' peaks summed to at most %s",
                dsize(an->peak_sum_max, b1, sizeof(b1)));
    if (isfinite(an->mem_util))
        fprintf(f, " (%.0f%% of the budget)", an->mem_util * 100);
    fprintf(f, "; job peaks %s median, %s max\n",
            size_or_dash(an->peak_p50 ? an->peak_p50 : RAPT__R_NONE, b3, sizeof(b3)),
            size_or_dash(an->peak_max ? an->peak_max : RAPT__R_NONE, b4, sizeof(b4)));
    fprintf(f, "runtime      mean %s, median %s, p95 %s, max %s",
            rapt__report_secs(an->wall_mean, b1, sizeof(b1)),
            rapt__report_secs(an->wall_p50, b2, sizeof(b2)),
            rapt__report_secs(an->wall_p95, b3, sizeof(b3)),
            rapt__report_secs(an->wall_max, b4, sizeof(b4)));
    if (isfinite(an->spread))
        fprintf(f, " (spread %.1fx)", an->spread);
    fputc('\n', f);
    if (an->samples > 0 || an->share_from_decisions) {
        fprintf(f,
                "admission    from %llu %s: ", (unsigned long long)(an->samples ? an->samples : 0),
                an->samples ? "samples" : "wait decisions");
        if (!an->samples) {
            uint64_t w = 0;
            for (unsigned l = 0; l < RAPT__L_N; l++)
                w += an->decisions_wait[l];
            fprintf(f, "(%llu) ", (unsigned long long)w);
        }
        bool first = true;
        for (unsigned l = 0; l < RAPT__L_N; l++) {
            if (an->share[l] <= 0)
                continue;
            fprintf(f, "%s%s %.0f%%", first ? "" : ", ", rapt__r_limited_names[l],
                    an->share[l] * 100);
            first = false;
        }
        fputc('\n', f);
    } else {
        fprintf(f, "admission    no sample or decision records\n");
    }

    if (an->nrecs > 0) {
        fprintf(f, "\nrecommendations\n");
        for (unsigned i = 0; i < an->nrecs; i++)
            fprintf(f, "  %u. [%s] %s: %s\n", i + 1, an->recs[i].severity, an->recs[i].id,
                    an->recs[i].text);
    }

    if (an->slow_count > 0) {
        fprintf(f, "\nslowest jobs (over 1.5 x the mean %s): %llu attempt%s%s\n",
                rapt__report_secs(an->wall_mean, b1, sizeof(b1)),
                (unsigned long long)an->slow_count, an->slow_count == 1 ? "" : "s",
                an->slow_count > an->nslow ? ", the longest listed" : "");
        fprintf(f, "  %-8s %-4s %-12s %-10s %-7s %-10s %s\n", "job", "try", "stage", "wall",
                "x mean", "peak", "command");
        for (size_t i = 0; i < an->nslow; i++) {
            const rapt__ratt *a = &r->att[an->slow[i]];
            const char *c = rapt__report_cmd(r, an->slow[i]);
            fprintf(f, "  %-8u %-4u %-12.12s %-10s %-7.1f %-10s %.60s\n", a->seq, a->attempt,
                    rapt__report_stage_name(r, a->stage),
                    rapt__report_secs(a->wall, b1, sizeof(b1)), a->wall / an->wall_mean,
                    size_or_dash(a->peak, b2, sizeof(b2)), c ? c : "");
        }
    }

    if (r->nslas > 0) {
        fprintf(f, "\nSLA (warning above %.0f%% of the target)\n", RAPT_REPORT_SLA_WARN * 100);
        fprintf(f, "  %-14s %-10s %-6s %-6s %-8s %-9s %-10s %s\n", "scope", "target", "jobs", "ok",
                "warning", "violated", "worst", "status");
        for (size_t i = 0; i < r->nslas; i++) {
            const rapt__rsla *s = &r->slas[i];
            fprintf(f, "  %-14.14s %-10s %-6llu %-6llu %-8llu %-9llu %-10s %s\n",
                    s->stage_name ? s->stage_name : "every job",
                    rapt__report_secs(s->target, b1, sizeof(b1)), (unsigned long long)s->jobs,
                    (unsigned long long)s->ok, (unsigned long long)s->warned,
                    (unsigned long long)s->violated, rapt__report_secs(s->worst, b2, sizeof(b2)),
                    s->violated ? "violated"
                    : s->warned ? "warning"
                    : s->jobs   ? "ok"
                                : "no jobs");
        }
    }

    if (r->nstages > 1) {
        fprintf(f, "\nstages\n");
        fprintf(f, "  %-14s %-6s %-6s %-7s %-10s %-10s %-10s %-9s %-10s %s\n", "stage", "jobs",
                "ok", "failed", "mean", "p95", "max", "CPU-s", "peak max", "span");
        for (unsigned s = 0; s < r->nstages; s++) {
            const rapt__rstage *st = &r->st[s];
            if (st->attempts == 0)
                continue;
            char b5[32];
            fprintf(f, "  %-14.14s %-6llu %-6llu %-7llu %-10s %-10s %-10s %-9.1f %-10s %s\n",
                    rapt__report_stage_name(r, s), (unsigned long long)st->jobs,
                    (unsigned long long)st->succeeded, (unsigned long long)st->failed,
                    rapt__report_secs(st->wall_mean, b1, sizeof(b1)),
                    rapt__report_secs(st->wall_p95, b2, sizeof(b2)),
                    rapt__report_secs(st->wall_max, b3, sizeof(b3)), st->cpu_s,
                    size_or_dash(st->peak_max ? st->peak_max : RAPT__R_NONE, b4, sizeof(b4)),
                    rapt__report_secs(st->last - st->first, b5, sizeof(b5)));
        }
    }

    const rapt_report_input *in = &r->in;
    if (in->bad_lines || in->newer_records || in->truncated || in->runs_ended < in->runs) {
        fprintf(f, "\ninput        %llu lines, %llu records used", (unsigned long long)in->lines,
                (unsigned long long)in->records);
        if (in->bad_lines)
            fprintf(f, "; %llu skipped (first %s:%llu: %s)", (unsigned long long)in->bad_lines,
                    in->first_bad_file, (unsigned long long)in->first_bad_line, in->first_bad_why);
        if (in->newer_records)
            fprintf(f, "; %llu of schema version %lld skipped",
                    (unsigned long long)in->newer_records, (long long)in->newest_version);
        if (in->truncated)
            fprintf(f, "; the last line was cut off");
        if (in->runs_ended < in->runs)
            fprintf(f, "; %u of %u run%s without run_end", in->runs - in->runs_ended, in->runs,
                    in->runs == 1 ? "" : "s");
        fputc('\n', f);
    }
    return ferror(f) ? -EIO : 0;
}

/* ---- JSON -------------------------------------------------------------------------------- */

/* Key-value helpers over the JSON writer: unknown sizes and non-finite numbers become null. */
static void jw_size(rapt__jw *w, const char *k, uint64_t v)
{
    rapt__jw_key(w, k);
    if (v == RAPT__R_NONE)
        rapt__jw_null(w);
    else
        rapt__jw_u64(w, v);
}

static void jw_num(rapt__jw *w, const char *k, double v)
{
    rapt__jw_key(w, k);
    rapt__jw_dbl(w, v);
}

static void jw_u(rapt__jw *w, const char *k, uint64_t v)
{
    rapt__jw_key(w, k);
    rapt__jw_u64(w, v);
}

static void jw_s(rapt__jw *w, const char *k, const char *v)
{
    rapt__jw_key(w, k);
    rapt__jw_str(w, v);
}

/* Times are ISO 8601 strings: the writer's %.6g would cut an epoch to 1.795e+09. */
static void jw_time(rapt__jw *w, const char *k, double epoch)
{
    char buf[40];
    iso_time(epoch, buf, sizeof(buf));
    rapt__jw_key(w, k);
    if (buf[0])
        rapt__jw_str(w, buf);
    else
        rapt__jw_null(w);
}

/* The JSON summary, field by field as docs/report.md lists them (keep the two in step). Every
 * listed field is always written, null when unknown, so consumers need no existence checks. */
int rapt__report_json(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    const rapt_report_input *in = &r->in;
    rapt__jw w;
    rapt__jw_init(&w, f, true);
    rapt__jw_obj(&w);
    jw_s(&w, "schema", RAPT_REPORT_SCHEMA);
    jw_s(&w, "generated_by", "rapt");
    jw_s(&w, "rapt_version", rapt_version());

    rapt__jw_key(&w, "input");
    rapt__jw_obj(&w);
    jw_u(&w, "lines", in->lines);
    jw_u(&w, "records", in->records);
    jw_u(&w, "bad_lines", in->bad_lines);
    rapt__jw_key(&w, "first_bad");
    if (in->first_bad_line) {
        rapt__jw_obj(&w);
        jw_s(&w, "file", in->first_bad_file);
        jw_u(&w, "line", in->first_bad_line);
        jw_s(&w, "why", in->first_bad_why);
        rapt__jw_end(&w);
    } else {
        rapt__jw_null(&w);
    }
    jw_u(&w, "newer_schema_records", in->newer_records);
    rapt__jw_key(&w, "newest_schema");
    rapt__jw_i64(&w, in->newest_version);
    jw_u(&w, "unknown_records", in->unknown_records);
    rapt__jw_key(&w, "truncated");
    rapt__jw_bool(&w, in->truncated);
    rapt__jw_key(&w, "complete");
    rapt__jw_bool(&w, in->runs > 0 && in->runs_ended == in->runs && !in->truncated &&
                          !in->bad_lines && !in->newer_records);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "runs");
    rapt__jw_arr(&w);
    for (size_t i = 0; i < r->nruns; i++) {
        const rapt__rrun *ru = &r->runs[i];
        rapt__jw_obj(&w);
        jw_s(&w, "run_id", ru->run_id);
        jw_s(&w, "host", ru->host);
        jw_s(&w, "command", ru->command);
        jw_s(&w, "rapt_version", ru->version);
        rapt__jw_key(&w, "slots");
        if (ru->slots)
            rapt__jw_u64(&w, ru->slots);
        else
            rapt__jw_null(&w);
        rapt__jw_key(&w, "cpus");
        if (ru->cpus)
            rapt__jw_u64(&w, ru->cpus);
        else
            rapt__jw_null(&w);
        jw_size(&w, "mem_limit", ru->mem_limit);
        jw_s(&w, "mem_limit_source", ru->limit_source);
        jw_size(&w, "mem_budget", ru->mem_budget);
        jw_s(&w, "measure", ru->measure);
        jw_time(&w, "start", isfinite(ru->started) ? ru->started : ru->first);
        jw_num(&w, "offset_s", ru->first - an->t0);
        jw_num(&w, "duration_s", ru->last - ru->first);
        rapt__jw_key(&w, "ended");
        rapt__jw_bool(&w, ru->ended);
        rapt__jw_key(&w, "exit_code");
        if (ru->ended && ru->end_exit >= 0)
            rapt__jw_i64(&w, ru->end_exit);
        else
            rapt__jw_null(&w);
        jw_s(&w, "end_reason", ru->ended ? ru->end_reason : NULL);
        jw_num(&w, "makespan_s", ru->ended ? ru->end_makespan : NAN);
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);

    rapt__jw_key(&w, "jobs");
    rapt__jw_obj(&w);
    jw_u(&w, "total", an->jobs);
    jw_u(&w, "succeeded", an->succeeded);
    jw_u(&w, "failed", an->failed);
    jw_u(&w, "unfinished", an->unfinished);
    jw_u(&w, "attempts", an->attempts);
    jw_u(&w, "retried", an->retried);
    jw_u(&w, "requeued", an->requeued);
    jw_u(&w, "oom_killed", an->oom);
    jw_u(&w, "timeouts", an->timeouts);
    jw_u(&w, "requeued_for_memory", an->memory_kills);
    rapt__jw_end(&w);

    jw_time(&w, "start", an->t0);
    jw_num(&w, "makespan_s", an->makespan);
    jw_s(&w, "bottleneck", an->bottleneck);

    rapt__jw_key(&w, "cpu");
    rapt__jw_obj(&w);
    jw_u(&w, "cpus", an->cpus);
    jw_num(&w, "cpu_seconds", an->cpu_s);
    jw_num(&w, "utilisation", an->cpu_util);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "slots");
    rapt__jw_obj(&w);
    jw_u(&w, "slots", an->slots);
    jw_num(&w, "mean_running", an->mean_running);
    jw_num(&w, "utilisation", an->slot_util);
    jw_u(&w, "max_running", an->max_running);
    jw_u(&w, "p90_running", an->p90_running);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "memory");
    rapt__jw_obj(&w);
    jw_size(&w, "limit", an->limit);
    jw_size(&w, "budget", an->budget);
    jw_num(&w, "used_max", an->used_max);
    jw_num(&w, "used_mean", an->used_mean);
    jw_num(&w, "peak_sum_max", an->peak_sum_max);
    jw_num(&w, "utilisation", an->mem_util);
    jw_size(&w, "job_peak_p50", an->peak_p50 ? an->peak_p50 : RAPT__R_NONE);
    jw_size(&w, "job_peak_p95", an->peak_p95 ? an->peak_p95 : RAPT__R_NONE);
    jw_size(&w, "job_peak_max", an->peak_max ? an->peak_max : RAPT__R_NONE);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "runtime");
    rapt__jw_obj(&w);
    jw_num(&w, "mean_s", an->wall_mean);
    jw_num(&w, "p50_s", an->wall_p50);
    jw_num(&w, "p95_s", an->wall_p95);
    jw_num(&w, "min_s", an->wall_min);
    jw_num(&w, "max_s", an->wall_max);
    jw_num(&w, "spread", an->spread);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "admission");
    rapt__jw_obj(&w);
    jw_u(&w, "samples", an->samples);
    jw_s(&w, "shares_from",
         an->samples                ? "samples"
         : an->share_from_decisions ? "decisions"
                                    : NULL);
    rapt__jw_key(&w, "limited_by");
    rapt__jw_obj(&w);
    for (unsigned l = 0; l < RAPT__L_N; l++)
        jw_num(&w, rapt__r_limited_names[l],
               an->samples || an->share_from_decisions ? an->share[l] : NAN);
    rapt__jw_end(&w);
    rapt__jw_key(&w, "decisions");
    rapt__jw_obj(&w);
    jw_u(&w, "admit", an->decisions_admit);
    rapt__jw_key(&w, "wait");
    rapt__jw_obj(&w);
    for (unsigned l = 1; l < RAPT__L_N; l++)
        jw_u(&w, rapt__r_limited_names[l], an->decisions_wait[l]);
    rapt__jw_end(&w);
    rapt__jw_end(&w);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "tail");
    if (an->tail_known) {
        rapt__jw_obj(&w);
        jw_num(&w, "tail_s", an->tail_s);
        jw_num(&w, "fraction", an->tail_fraction);
        jw_num(&w, "busy_slots", an->tail_busy);
        jw_u(&w, "slots", an->tail_slots);
        jw_num(&w, "simulated_s", an->sim_actual);
        jw_num(&w, "simulated_lpt_s", an->sim_lpt);
        jw_num(&w, "lower_bound_s", an->lower_bound);
        rapt__jw_end(&w);
    } else {
        rapt__jw_null(&w);
    }

    rapt__jw_key(&w, "slowest");
    rapt__jw_obj(&w);
    jw_num(&w, "threshold_s", an->slow_threshold);
    jw_u(&w, "count", an->slow_count);
    rapt__jw_key(&w, "jobs");
    rapt__jw_arr(&w);
    for (size_t i = 0; i < an->nslow; i++) {
        const rapt__ratt *a = &r->att[an->slow[i]];
        rapt__jw_obj(&w);
        jw_u(&w, "seq", a->seq);
        jw_u(&w, "attempt", a->attempt);
        jw_s(&w, "stage", a->stage ? rapt__report_stage_name(r, a->stage) : NULL);
        jw_s(&w, "cmd", rapt__report_cmd(r, an->slow[i]));
        jw_num(&w, "wall_s", a->wall);
        jw_num(&w, "x_mean", a->wall / an->wall_mean);
        jw_size(&w, "peak_bytes", a->peak);
        jw_s(&w, "outcome", rapt__r_outcome_names[a->outcome]);
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "sla");
    rapt__jw_arr(&w);
    for (size_t i = 0; i < r->nslas; i++) {
        const rapt__rsla *s = &r->slas[i];
        rapt__jw_obj(&w);
        jw_s(&w, "stage", s->stage_name);
        jw_num(&w, "target_s", s->target);
        jw_num(&w, "warn_s", s->target * RAPT_REPORT_SLA_WARN);
        jw_u(&w, "jobs", s->jobs);
        jw_u(&w, "ok", s->ok);
        jw_u(&w, "warning", s->warned);
        jw_u(&w, "violated", s->violated);
        jw_u(&w, "unfinished", s->unfinished);
        jw_num(&w, "worst_s", s->jobs ? s->worst : NAN);
        rapt__jw_key(&w, "worst_seq");
        if (s->jobs)
            rapt__jw_u64(&w, s->worst_seq);
        else
            rapt__jw_null(&w);
        jw_num(&w, "p95_s", s->p95);
        jw_s(&w, "status",
             s->violated ? "violated"
             : s->warned ? "warning"
             : s->jobs   ? "ok"
                         : "no-jobs");
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);

    rapt__jw_key(&w, "stages");
    rapt__jw_arr(&w);
    for (unsigned s = 0; s < r->nstages; s++) {
        const rapt__rstage *st = &r->st[s];
        if (st->attempts == 0)
            continue;
        rapt__jw_obj(&w);
        jw_s(&w, "name", s ? r->stages[s] : NULL);
        jw_u(&w, "jobs", st->jobs);
        jw_u(&w, "succeeded", st->succeeded);
        jw_u(&w, "failed", st->failed);
        jw_u(&w, "unfinished", st->unfinished);
        jw_u(&w, "attempts", st->attempts);
        jw_u(&w, "retried", st->retried);
        jw_u(&w, "requeued", st->requeued);
        jw_u(&w, "oom_killed", st->oom);
        jw_num(&w, "offset_s", st->first - an->t0);
        jw_num(&w, "span_s", st->last - st->first);
        jw_num(&w, "wall_mean_s", st->wall_mean);
        jw_num(&w, "wall_p50_s", st->wall_p50);
        jw_num(&w, "wall_p95_s", st->wall_p95);
        jw_num(&w, "wall_max_s", st->wall_max);
        jw_num(&w, "cpu_seconds", st->cpu_s);
        jw_size(&w, "peak_p50", st->peak_p50 ? st->peak_p50 : RAPT__R_NONE);
        jw_size(&w, "peak_max", st->peak_max ? st->peak_max : RAPT__R_NONE);
        rapt__jw_key(&w, "model");
        if (isfinite(st->gamma)) {
            rapt__jw_obj(&w);
            jw_u(&w, "points", st->fit_n);
            jw_num(&w, "gamma", st->gamma);
            jw_num(&w, "overhead", st->overhead);
            jw_num(&w, "r2", st->r2);
            rapt__jw_end(&w);
        } else {
            rapt__jw_null(&w);
        }
        rapt__jw_key(&w, "prediction");
        if (st->pred_n) {
            rapt__jw_obj(&w);
            jw_u(&w, "jobs", st->pred_n);
            jw_u(&w, "under_predicted", st->pred_under);
            jw_num(&w, "mean_peak_over_predicted", st->pred_ratio_sum / (double)st->pred_n);
            rapt__jw_end(&w);
        } else {
            rapt__jw_null(&w);
        }
        rapt__jw_key(&w, "sla");
        if (st->sla >= 0)
            rapt__jw_dbl(&w, r->slas[st->sla].target);
        else
            rapt__jw_null(&w);
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);

    rapt__jw_key(&w, "recommendations");
    rapt__jw_arr(&w);
    for (unsigned i = 0; i < an->nrecs; i++) {
        const rapt__rrec *rec = &an->recs[i];
        rapt__jw_obj(&w);
        jw_s(&w, "id", rec->id);
        jw_s(&w, "severity", rec->severity);
        jw_s(&w, "text", rec->text);
        rapt__jw_key(&w, "figures");
        rapt__jw_obj(&w);
        for (unsigned k = 0; k < rec->nfig; k++)
            jw_num(&w, rec->fig_key[k], rec->fig_val[k]);
        rapt__jw_end(&w);
        rapt__jw_end(&w);
    }
    rapt__jw_end(&w);

    rapt__jw_end(&w);
    rapt__jw_done(&w);
    return ferror(f) ? -EIO : 0;
}
