/* test_report.c: the report module against crafted event streams with known answers.
 *
 * The fixtures in tests/fixtures/events/ are written by tests/helpers/rapt-gen-events (their
 * README lists each scenario and the figures asserted here, computed by hand from the
 * scenario). Each named bottleneck and recommendation is checked with the numbers behind it.
 */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lib/report_int.h"
#include "rapt/report.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

/* Loads a fixture (tests/fixtures/events/NAME.jsonl) with optional SLA specs and finishes it. */
static rapt_report *load(const char *name, const char *sla1, const char *sla2)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    if (sla1)
        ck_assert_int_eq(rapt_report_add_sla_spec(r, sla1), 0);
    if (sla2)
        ck_assert_int_eq(rapt_report_add_sla_spec(r, sla2), 0);
    char path[4096];
    snprintf(path, sizeof(path), "%s/events/%s.jsonl", RAPT_FIXTURES, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "cannot open %s", path);
    ck_assert_int_eq(rapt_report_feed_fd(r, fd, name), 0);
    close(fd);
    ck_assert_int_eq(rapt_report_finish(r), 0);
    return r;
}

static const rapt__rrec *rec(const rapt_report *r, const char *id)
{
    const rapt__rrec *x = rapt__report_rec(r, id);
    ck_assert_msg(x != NULL, "recommendation %s missing", id);
    return x;
}

static void feed(rapt_report *r, const char *line)
{
    ck_assert_int_eq(rapt_report_feed_line(r, line, strlen(line)), 0);
}

/* Renders every format into memory and checks what must always hold: the JSON parses and
 * names its schema, the HTML is self-contained and carries no NaN or infinity. */
static void check_outputs(const rapt_report *r)
{
    for (int fmt = RAPT_REPORT_TEXT; fmt <= RAPT_REPORT_HTML; fmt++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(rapt_report_write(r, (rapt_report_format)fmt, f), 0);
        fclose(f);
        ck_assert_uint_gt(len, 100);
        if (fmt == RAPT_REPORT_JSON) {
            json_error_t err;
            json_t *j = json_loadb(buf, len, 0, &err);
            ck_assert_msg(j != NULL, "summary is not JSON: %s (line %d)", err.text, err.line);
            ck_assert_str_eq(json_string_value(json_object_get(j, "schema")), "rapt.summary/1");
            ck_assert(json_is_string(json_object_get(j, "bottleneck")));
            ck_assert(json_is_array(json_object_get(j, "recommendations")));
            json_decref(j);
        }
        if (fmt == RAPT_REPORT_HTML) {
            ck_assert(strncmp(buf, "<!DOCTYPE html>", 15) == 0);
            ck_assert_ptr_nonnull(strstr(buf, "Content-Security-Policy"));
            ck_assert_ptr_null(strstr(buf, "<script"));
            ck_assert_ptr_null(strstr(buf, "http://"));
            ck_assert_ptr_null(strstr(buf, "https://"));
            ck_assert_ptr_nonnull(strstr(buf, "</html>"));
        }
        static const char *const bad[] = {"nan", "NaN", "inf\"", "inf "};
        for (size_t k = 0; k < RAPT__ARRAY_SIZE(bad); k++) {
            const char *at = strstr(buf, bad[k]);
            ck_assert_msg(at == NULL, "format %d has '%s' in: %.80s", fmt, bad[k],
                          at ? (at - buf > 40 ? at - 40 : buf) : "");
        }
        free(buf);
    }
}

/* ---- crafted runs with known answers ------------------------------------------------------ */

START_TEST(cpu_bound)
{
    /* 20 jobs x (1.9 + 0.05) CPU-s on 2 CPUs in 20 s: 39 / 40 = 97.5 %; 4 slots > 2 CPUs. */
    rapt_report *r = load("cpu-bound", NULL, NULL);
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_str_eq(t.bottleneck, "cpu");
    ck_assert_uint_eq(t.jobs, 20);
    ck_assert_uint_eq(t.succeeded, 20);
    ck_assert_double_eq_tol(t.makespan_s, 20, 1e-6);
    ck_assert_double_eq_tol(t.cpu_util, 0.975, 1e-9);
    ck_assert_double_eq_tol(t.slot_util, 1, 1e-9);
    ck_assert_double_eq_tol(r->an.share[RAPT__L_SLOTS], 16.0 / 20, 1e-12);
    const rapt__rrec *c = rec(r, "cpu-bound");
    ck_assert_double_eq(rapt__report_rec_fig(c, "suggested_slots"), 2);
    ck_assert_double_eq_tol(rapt__report_rec_fig(c, "cpu_seconds"), 39, 1e-9);
    ck_assert_uint_eq(r->an.nrecs, 1);
    /* peak = 3 x input + 50 MiB exactly: the least-squares fit recovers it */
    ck_assert_uint_eq(r->st[0].fit_n, 20);
    ck_assert_double_eq_tol(r->st[0].gamma, 3, 1e-9);
    ck_assert_double_eq_tol(r->st[0].overhead, 50.0 * MIB, 1);
    ck_assert_double_eq_tol(r->st[0].r2, 1, 1e-9);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(memory_bound)
{
    /* 400 MiB jobs under a 1 GiB budget: 2 fit; memory held 15 of 18 samples. */
    rapt_report *r = load("memory-bound", NULL, NULL);
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_str_eq(t.bottleneck, "memory");
    ck_assert_double_eq_tol(t.mem_util, 800.0 / 1024, 1e-9);
    ck_assert_double_eq_tol(t.cpu_util, 6.0 / (18 * 4), 1e-9);
    ck_assert_double_eq_tol(t.slot_util, 0.5, 1e-9);
    ck_assert_uint_eq(r->an.samples, 18);
    ck_assert_double_eq_tol(r->an.share[RAPT__L_MEMORY], 15.0 / 18, 1e-12);
    ck_assert_uint_eq(r->an.decisions_wait[RAPT__L_MEMORY], 15);
    ck_assert_uint_eq(r->an.decisions_admit, 12);
    const rapt__rrec *m = rec(r, "memory-bound");
    ck_assert_double_eq(rapt__report_rec_fig(m, "fit"), 2);
    ck_assert_double_eq(rapt__report_rec_fig(m, "budget"), (double)GIB);
    ck_assert_double_eq(rapt__report_rec_fig(m, "peak_p50"), 400.0 * MIB);
    ck_assert_ptr_nonnull(strstr(m->text, "--order pack"));
    /* the tail simulation uses the 2 slots memory allowed, so reordering saves nothing */
    ck_assert_double_eq_tol(r->an.sim_actual, 18, 1e-9);
    ck_assert_ptr_null(rapt__report_rec(r, "long-tail"));
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(long_tail)
{
    /* 39 x 1 s and a 30 s job last on 4 slots: three slots idle from t=10 to 39. */
    rapt_report *r = load("long-tail", NULL, NULL);
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_str_eq(t.bottleneck, "tail");
    ck_assert_double_eq_tol(t.makespan_s, 39, 1e-6);
    ck_assert_double_eq_tol(t.cpu_util, 0.95 * 69 / (39 * 4), 1e-9);
    ck_assert(r->an.tail_known);
    ck_assert_double_eq_tol(r->an.tail_s, 29, 1e-6);
    ck_assert_double_eq_tol(r->an.tail_fraction, 29.0 / 39, 1e-9);
    ck_assert_double_eq_tol(r->an.sim_actual, 39, 1e-9);
    ck_assert_double_eq_tol(r->an.sim_lpt, 30, 1e-9);
    ck_assert_double_eq_tol(r->an.lower_bound, 30, 1e-9);
    const rapt__rrec *lt = rec(r, "long-tail");
    ck_assert_ptr_nonnull(strstr(lt->text, "--order lpt"));
    ck_assert_double_eq_tol(rapt__report_rec_fig(lt, "simulated_lpt_s"), 30, 1e-9);
    ck_assert_double_eq_tol(rapt__report_rec_fig(rec(r, "runtime-spread"), "spread"), 30, 1e-9);
    /* the idle slots are the tail's doing: no "fewer slots" advice on top */
    ck_assert_ptr_null(rapt__report_rec(r, "slots-fewer"));
    /* slowest: only job 40 exceeds 1.5 x the mean of 69/40 s */
    ck_assert_uint_eq(r->an.slow_count, 1);
    ck_assert_uint_eq(r->an.nslow, 1);
    ck_assert_uint_eq(r->att[r->an.slow[0]].seq, 40);
    ck_assert_double_eq_tol(r->an.slow_threshold, 1.5 * 69 / 40, 1e-9);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(io_bound)
{
    /* Slots always full, CPUs 2 % busy: more slots, capped at 4 x 4 (memory fits 40). */
    rapt_report *r = load("io-bound", NULL, NULL);
    ck_assert_str_eq(r->an.bottleneck, "slots");
    ck_assert_double_eq_tol(r->an.cpu_util, 0.02, 1e-9);
    ck_assert_double_eq(rapt__report_rec_fig(rec(r, "slots-more"), "suggested_slots"), 16);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(input_bound)
{
    /* One job a second on 8 slots: the input limited 20 of 21 samples; 2 slots would do. */
    rapt_report *r = load("input-bound", NULL, NULL);
    ck_assert_str_eq(r->an.bottleneck, "input");
    ck_assert_double_eq_tol(r->an.share[RAPT__L_INPUT], 20.0 / 21, 1e-12);
    ck_assert_uint_eq(r->an.p90_running, 2);
    ck_assert_double_eq(rapt__report_rec_fig(rec(r, "input-bound"), "suggested_slots"), 2);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(mixed_outcomes)
{
    rapt_report *r = load("mixed-outcomes", NULL, NULL);
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_uint_eq(t.jobs, 10);
    ck_assert_uint_eq(t.succeeded, 8);
    ck_assert_uint_eq(t.failed, 2);
    ck_assert_uint_eq(t.unfinished, 0);
    ck_assert_uint_eq(t.attempts, 15);
    ck_assert_uint_eq(t.retried, 3);
    ck_assert_uint_eq(t.requeued, 2);
    ck_assert_uint_eq(t.oom_killed, 1);
    ck_assert_uint_eq(r->an.timeouts, 1);
    ck_assert_uint_eq(r->an.memory_kills, 1);
    ck_assert_uint_eq(r->kills[RAPT__RS_TIMEOUT], 1);
    ck_assert_uint_eq(r->kills[RAPT__RS_MEMORY], 1);
    ck_assert_uint_eq(r->retries[RAPT__RS_TIMEOUT], 1);
    ck_assert_uint_eq(r->protect_requeue, 1);
    const rapt__rrec *f = rec(r, "failures");
    ck_assert_str_eq(f->severity, "critical");
    ck_assert_double_eq(rapt__report_rec_fig(f, "exit_nonzero"), 1);
    ck_assert_double_eq(rapt__report_rec_fig(f, "signals"), 1);
    ck_assert_double_eq(rapt__report_rec_fig(rec(r, "oom"), "oom_killed"), 1);
    rec(r, "memory-protect");
    /* critical findings come first */
    ck_assert_str_eq(r->an.recs[0].severity, "critical");
    /* the page quotes the same figures as the analysis (each from its own buffer) */
    char *html = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&html, &len);
    ck_assert_int_eq(rapt_report_write(r, RAPT_REPORT_HTML, mf), 0);
    fclose(mf);
    ck_assert_ptr_nonnull(strstr(html, "limit 4 GiB, budget 3 GiB;"));
    ck_assert_ptr_nonnull(strstr(html, "job peaks 200 MiB median, 1.27 GiB max"));
    free(html);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(sla_stages)
{
    /* extract=5s: one job at 4.5 s warns; transform=20s: two 400 MiB-input jobs at 30 s. */
    rapt_report *r = load("sla-stages", "extract=5s", "transform=20s");
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_uint_eq(t.jobs, 18);
    ck_assert_uint_eq(t.sla_violated, 2);
    ck_assert_uint_eq(t.sla_warned, 1);
    ck_assert_uint_eq(r->in.runs, 2);
    ck_assert_uint_eq(r->nslas, 2);
    const rapt__rsla *ex = &r->slas[0], *tr = &r->slas[1];
    ck_assert_str_eq(ex->stage_name, "extract");
    ck_assert_uint_eq(ex->jobs, 10);
    ck_assert_uint_eq(ex->ok, 9);
    ck_assert_uint_eq(ex->warned, 1);
    ck_assert_uint_eq(ex->violated, 0);
    ck_assert_uint_eq(ex->worst_seq, 9);
    ck_assert_uint_eq(tr->jobs, 8);
    ck_assert_uint_eq(tr->violated, 2);
    ck_assert_double_eq_tol(tr->worst, 30, 1e-6);
    const rapt__rrec *v = rec(r, "sla-violated");
    ck_assert_double_eq_tol(rapt__report_rec_fig(v, "input_ratio"), 4, 1e-9);
    ck_assert_ptr_nonnull(strstr(v->text, "splitting their inputs"));
    rec(r, "sla-warning");
    /* per-stage metrics and the model of the transform stage: peak = 2 x input + 20 MiB */
    int ti = -1;
    for (unsigned s = 1; s < r->nstages; s++)
        if (!strcmp(r->stages[s], "transform"))
            ti = (int)s;
    ck_assert_int_ge(ti, 1);
    ck_assert_uint_eq(r->st[ti].jobs, 8);
    ck_assert_double_eq_tol(r->st[ti].wall_p95, 30, 1e-6);
    ck_assert_double_eq_tol(r->st[ti].gamma, 2, 1e-9);
    ck_assert_double_eq_tol(r->st[ti].overhead, 20.0 * MIB, 1);
    /* the two runs follow each other, so they share Gantt rows: 4 rows, not 6 */
    ck_assert_uint_eq(r->an.rows, 4);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(sla_from_run_options)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    feed(r, "{\"v\":1,\"event\":\"run_start\",\"t\":100,\"mono\":0,\"slots\":1,\"cpus\":1,"
            "\"options\":{\"sla_s\":2}}");
    feed(r, "{\"v\":1,\"event\":\"job_end\",\"t\":101,\"mono\":1,\"seq\":1,\"slot\":1,"
            "\"wall_s\":1,\"outcome\":\"success\"}");
    feed(r, "{\"v\":1,\"event\":\"job_end\",\"t\":104,\"mono\":4,\"seq\":2,\"slot\":1,"
            "\"wall_s\":3,\"outcome\":\"success\"}");
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_uint_eq(r->nslas, 1);
    ck_assert_ptr_null(r->slas[0].stage_name);
    ck_assert_uint_eq(r->slas[0].ok, 1);
    ck_assert_uint_eq(r->slas[0].violated, 1);
    rapt_report_destroy(r);
}
END_TEST

/* rapt run --sla STAGE=DURATION records its targets in run_start (options.sla_stages), so a
 * later `rapt report` holds the stages to them; the caller's own target for a stage wins, and
 * with several runs the strictest applies. */
START_TEST(stage_slas_from_run_options)
{
    static const char *const runs[] = {
        "{\"v\":1,\"event\":\"run_start\",\"t\":100,\"mono\":0,\"run_id\":\"a\",\"slots\":1,"
        "\"options\":{\"sla_s\":null,\"sla_stages\":{\"x\":2,\"y\":10}}}",
        "{\"v\":1,\"event\":\"run_start\",\"t\":200,\"mono\":0,\"run_id\":\"b\",\"slots\":1,"
        "\"options\":{\"sla_stages\":{\"x\":5}}}",
    };
    static const char *const jobs[] = {
        /* run b: stage x 3 s (over x's strictest 2 s), stage y 9 s (warning at 10 s) */
        "{\"v\":1,\"event\":\"job_end\",\"t\":203,\"mono\":3,\"seq\":1,\"slot\":1,"
        "\"stage\":\"x\",\"wall_s\":3,\"outcome\":\"success\"}",
        "{\"v\":1,\"event\":\"job_end\",\"t\":212,\"mono\":12,\"seq\":2,\"slot\":1,"
        "\"stage\":\"y\",\"wall_s\":9,\"outcome\":\"success\"}",
    };
    for (int caller = 0; caller < 2; caller++) {
        rapt_report *r;
        ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
        if (caller)
            ck_assert_int_eq(rapt_report_add_sla_spec(r, "x=3.5s"), 0);
        feed(r, runs[0]);
        feed(r, runs[1]);
        feed(r, jobs[0]);
        feed(r, jobs[1]);
        ck_assert_int_eq(rapt_report_finish(r), 0);
        ck_assert_uint_eq(r->nslas, 2);
        ck_assert_str_eq(r->slas[0].stage_name, "x");
        ck_assert_double_eq(r->slas[0].target, caller ? 3.5 : 2);
        ck_assert_uint_eq(r->slas[0].violated, caller ? 0 : 1);
        ck_assert_uint_eq(r->slas[0].warned, caller ? 1 : 0);
        ck_assert_str_eq(r->slas[1].stage_name, "y");
        ck_assert_double_eq(r->slas[1].target, 10);
        ck_assert_uint_eq(r->slas[1].warned, 1);
        check_outputs(r);
        rapt_report_destroy(r);
    }
    /* A malformed sla_stages makes the run_start bad, as any field of the wrong type does. */
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    const char *bad = "{\"v\":1,\"event\":\"run_start\",\"t\":1,\"mono\":0,"
                      "\"options\":{\"sla_stages\":{\"x\":-1}}}";
    ck_assert_int_eq(rapt_report_feed_line(r, bad, strlen(bad)), RAPT_EPARSE);
    bad = "{\"v\":1,\"event\":\"run_start\",\"t\":1,\"mono\":0,\"options\":{\"sla_stages\":3}}";
    ck_assert_int_eq(rapt_report_feed_line(r, bad, strlen(bad)), RAPT_EPARSE);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(sla_parse_without_report)
{
    size_t len = 99;
    double s = 0;
    ck_assert_int_eq(rapt_report_sla_parse("1m30s", &len, &s), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_double_eq(s, 90);
    ck_assert_int_eq(rapt_report_sla_parse("a=b=2.5", &len, &s), 0);
    ck_assert_uint_eq(len, 3);
    ck_assert_double_eq(s, 2.5);
    ck_assert_int_eq(rapt_report_sla_parse("x=", &len, &s), -EINVAL);
    ck_assert_int_eq(rapt_report_sla_parse("0", &len, &s), -EINVAL);
    ck_assert_int_eq(rapt_report_sla_parse("5QB", &len, &s), RAPT_EUNIT);
    ck_assert_int_eq(rapt_report_sla_parse(NULL, &len, &s), -EINVAL);
}
END_TEST

START_TEST(sla_spec_parsing)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "90s"), 0);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "build=1m30s"), 0);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "a=b=2.5"), 0);  /* stage "a=b" */
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "build=2m"), 0); /* replaces */
    ck_assert_uint_eq(r->nslas, 3);
    ck_assert_double_eq(r->slas[0].target, 90);
    ck_assert_str_eq(r->slas[1].stage_name, "build");
    ck_assert_double_eq(r->slas[1].target, 120);
    ck_assert_str_eq(r->slas[2].stage_name, "a=b");
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "=5s"), -EINVAL);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "x="), -EINVAL);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "0"), -EINVAL);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "5QB"), RAPT_EUNIT);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "-5s"), -EINVAL);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, ""), -EINVAL);
    ck_assert_int_eq(rapt_report_add_sla(r, NULL, NAN), -EINVAL);
    ck_assert_int_eq(rapt_report_add_sla(r, "", 1), -EINVAL);
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_int_eq(rapt_report_add_sla_spec(r, "5s"), RAPT_ECLOSED);
    rapt_report_destroy(r);
}
END_TEST

/* A run fed line by line: n jobs of `wall` seconds (`cpu` CPU-seconds each), `par` at a time
 * on slots 1..par, and one sample a second saying `limited` with `mem_used` in use (no samples
 * when limited is NULL). budget is JSON ("null" or a number). */
static rapt_report *synth(unsigned slots, unsigned cpus, const char *budget, unsigned n,
                          unsigned par, double wall, double cpu, const char *limited,
                          unsigned long long mem_used)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    char line[512];
    snprintf(line, sizeof(line),
             "{\"v\":1,\"event\":\"run_start\",\"t\":1000,\"mono\":0,\"slots\":%u,"
             "\"cpus\":%u,\"mem_limit\":4000000000,\"mem_budget\":%s}",
             slots, cpus, budget);
    feed(r, line);
    double end = 0;
    for (unsigned i = 0; i < n; i++) {
        double start = (double)(i / par) * wall;
        end = start + wall;
        snprintf(line, sizeof(line),
                 "{\"v\":1,\"event\":\"job_end\",\"t\":%.3f,\"mono\":%.3f,\"seq\":%u,"
                 "\"slot\":%u,\"wall_s\":%.3f,\"user_s\":%.3f,\"sys_s\":0,"
                 "\"peak_bytes\":1000000,\"outcome\":\"success\",\"exit\":0}",
                 1000 + end, end, i + 1, i % par + 1, wall, cpu);
        feed(r, line);
    }
    for (unsigned t = 0; limited && t < (unsigned)end; t++) {
        snprintf(line, sizeof(line),
                 "{\"v\":1,\"event\":\"sample\",\"t\":%u,\"mono\":%u,\"running\":%u,"
                 "\"mem_used\":%llu,\"mem_budget\":%s,\"cpu_pct\":10,\"limited_by\":\"%s\"}",
                 1000 + t, t, par, mem_used, budget, limited);
        feed(r, line);
    }
    ck_assert_int_eq(rapt_report_finish(r), 0);
    return r;
}

START_TEST(idle_slots)
{
    /* 8 slots, never more than 2 busy, nothing else limiting: -j 2 would do. */
    rapt_report *r = synth(8, 8, "null", 10, 2, 1.0, 1.0, NULL, 0);
    ck_assert_str_eq(r->an.bottleneck, "none");
    ck_assert_double_eq_tol(r->an.slot_util, 0.25, 1e-9);
    const rapt__rrec *x = rec(r, "slots-fewer");
    ck_assert_double_eq(rapt__report_rec_fig(x, "suggested_slots"), 2);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(pressure_and_memory_high)
{
    rapt_report *r = synth(4, 4, "null", 8, 4, 2.0, 0.5, "pressure", 0);
    ck_assert_str_eq(r->an.bottleneck, "pressure");
    ck_assert_double_eq(rapt__report_rec_fig(rec(r, "pressure"), "pressure_share"), 1);
    rapt_report_destroy(r);
    /* CPU-bound while memory in use reached 95 % of the budget */
    r = synth(2, 2, "1000000000", 10, 2, 1.0, 0.95, "slots", 950000000ull);
    ck_assert_str_eq(r->an.bottleneck, "cpu");
    ck_assert_double_eq_tol(rapt__report_rec_fig(rec(r, "memory-high"), "mem_util"), 0.95, 1e-9);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(memory_bound_from_decisions)
{
    /* No samples: the wait decisions say what limited admission (3 of 4 for memory). */
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    feed(r, "{\"v\":1,\"event\":\"run_start\",\"t\":0,\"mono\":0,\"slots\":4,\"cpus\":4,"
            "\"mem_budget\":1000}");
    feed(r, "{\"v\":1,\"event\":\"decision\",\"t\":0,\"mono\":0,\"seq\":1,"
            "\"action\":\"admit\",\"why\":\"ok\"}");
    for (int i = 1; i <= 3; i++) {
        char line[200];
        snprintf(line, sizeof(line),
                 "{\"v\":1,\"event\":\"decision\",\"t\":%d,\"mono\":%d,\"seq\":2,"
                 "\"action\":\"wait\",\"why\":\"memory\"}",
                 i, i);
        feed(r, line);
    }
    feed(r, "{\"v\":1,\"event\":\"decision\",\"t\":4,\"mono\":4,\"seq\":2,"
            "\"action\":\"wait\",\"why\":\"slots\"}");
    feed(r, "{\"v\":1,\"event\":\"job_end\",\"t\":5,\"mono\":5,\"seq\":1,\"slot\":1,"
            "\"wall_s\":5,\"user_s\":1,\"peak_bytes\":900,\"outcome\":\"success\"}");
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert(r->an.share_from_decisions);
    ck_assert_double_eq_tol(r->an.share[RAPT__L_MEMORY], 0.75, 1e-12);
    ck_assert_str_eq(r->an.bottleneck, "memory");
    ck_assert_double_eq(rapt__report_rec_fig(rec(r, "memory-bound"), "fit"), 1);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

/* ---- the contract's example and bad input ------------------------------------------------ */

START_TEST(events_md_example)
{
    /* The four records of docs/events.md's example. */
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    feed(r, "{\"v\":1,\"event\":\"run_start\",\"t\":1795000000.000100,\"mono\":0,\"run_id\":\"x\","
            "\"rapt_version\":\"0.2.0\",\"host\":\"vm\",\"pid\":4242,\"cwd\":\"/data\","
            "\"command\":\"gzip -k {}\",\"argv\":[\"run\",\"gzip -k {}\"],\"slots\":2,\"cpus\":2,"
            "\"mem_limit\":536870912,\"mem_limit_source\":\"/sys/fs/cgroup/memory/job/"
            "memory.limit_in_bytes\",\"mem_budget\":null,\"env_class\":\"constrained\","
            "\"measure\":\"cgroup-v1\",\"total_jobs\":null,\"options\":{\"timeout_s\":null,"
            "\"retries\":0,\"halt\":\"never\"}}\n");
    feed(r, "{\"v\":1,\"event\":\"job_start\",\"t\":1795000000.001200,\"mono\":0.0011,\"seq\":1,"
            "\"attempt\":1,\"slot\":1,\"pid\":4243,\"cmd\":\"gzip -k a.txt\",\"args\":[\"a.txt\"],"
            "\"class\":\"gzip -k {}\",\"stage\":null,\"input_bytes\":1048576,\"reservation\":null,"
            "\"predicted_peak\":null,\"predicted_runtime\":null}");
    feed(r, "{\"v\":1,\"event\":\"job_end\",\"t\":1795000000.051200,\"mono\":0.0511,\"seq\":1,"
            "\"attempt\":1,\"slot\":1,\"pid\":4243,\"cmd\":\"gzip -k a.txt\",\"class\":\"gzip -k "
            "{}\",\"stage\":null,\"start\":1795000000.0012,\"wall_s\":0.05,\"user_s\":0.04,"
            "\"sys_s\":0.003,\"peak_bytes\":2101248,\"peak_method\":\"cgroup-v1\",\"exit\":0,"
            "\"signal\":null,\"reason\":\"exit\",\"outcome\":\"success\",\"input_bytes\":1048576,"
            "\"reservation\":null,\"stdout_bytes\":0,\"stderr_bytes\":0,\"oom_kill\":false}");
    feed(r, "{\"v\":1,\"event\":\"run_end\",\"t\":1795000000.052000,\"mono\":0.052,\"jobs\":1,"
            "\"succeeded\":1,\"failed\":0,\"retried\":0,\"requeued\":0,\"oom_killed\":0,"
            "\"makespan_s\":0.052,\"exit_code\":0,\"reason\":\"done\"}");
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_int_eq(rapt_report_finish(r), 0); /* a second finish is a no-op */
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_uint_eq(t.jobs, 1);
    ck_assert_uint_eq(t.succeeded, 1);
    ck_assert_double_eq_tol(t.makespan_s, 0.052, 1e-6);
    ck_assert_double_eq_tol(t.cpu_util, 0.043 / (0.052 * 2), 1e-4);
    ck_assert(isnan(t.mem_util)); /* no budget */
    rapt_report_input in;
    ck_assert_int_eq(rapt_report_get_input(r, &in), 0);
    ck_assert_uint_eq(in.records, 4);
    ck_assert_uint_eq(in.runs, 1);
    ck_assert_uint_eq(in.runs_ended, 1);
    ck_assert_uint_eq(r->att[0].peak, 2101248);
    ck_assert_double_eq_tol(r->att[0].start - r->runs[0].base, 0.0011, 1e-6);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(bad_records)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    const char *bad[] = {
        "{\"v\":1,\"event\":",                 /* cut off */
        "[1,2,3]",                             /* not an object */
        "{\"event\":\"job_end\"}",             /* no v */
        "{\"v\":\"1\",\"event\":\"job_end\"}", /* v not a number */
        "{\"v\":1}",                           /* no event */
        "{\"v\":1,\"event\":\"job_end\",\"t\":1,\"mono\":1,\"seq\":\"x\",\"wall_s\":1}",
        "{\"v\":1,\"event\":\"job_end\",\"t\":1,\"mono\":1,\"seq\":1,\"wall_s\":-1}",
        "{\"v\":1,\"event\":\"job_end\",\"t\":1,\"mono\":1,\"seq\":1}", /* no wall_s */
        ("{\"v\":1,\"event\":\"job_end\",\"t\":1,\"mono\":1,\"seq\":1,\"wall_s\":1,\"outcome\":"
         "\"exploded\"}"),
        "{\"v\":1,\"event\":\"sample\",\"t\":1,\"mono\":1,\"jobs\":7}",
        "{\"v\":1,\"event\":\"run_start\",\"t\":1,\"mono\":0,\"options\":[1]}",
        "{\"v\":1,\"event\":\"job_start\",\"t\":1,\"mono\":\"soon\",\"seq\":1}",
        "\xff\xfe{}",
    };
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(bad); i++)
        ck_assert_msg(rapt_report_feed_line(r, bad[i], strlen(bad[i])) == RAPT_EPARSE,
                      "line %zu accepted", i);
    const char *newer = "{\"v\":2,\"event\":\"job_end\",\"seq\":1}";
    ck_assert_int_eq(rapt_report_feed_line(r, newer, strlen(newer)), RAPT_ESCHEMA);
    const char *unknown = "{\"v\":1,\"event\":\"job_checkpoint\",\"t\":1,\"mono\":0}";
    ck_assert_int_eq(rapt_report_feed_line(r, unknown, strlen(unknown)), 0);
    /* unknown fields and unknown reason values are fine */
    feed(r, "{\"v\":1,\"event\":\"job_end\",\"t\":5,\"mono\":5,\"seq\":1,\"wall_s\":2,"
            "\"reason\":\"cosmic-ray\",\"outcome\":\"success\",\"new_field\":{\"a\":[1]}}");
    rapt_report_input in;
    rapt_report_get_input(r, &in);
    ck_assert_uint_eq(in.bad_lines, RAPT__ARRAY_SIZE(bad));
    ck_assert_uint_eq(in.first_bad_line, 1);
    ck_assert_uint_eq(in.newer_records, 1);
    ck_assert_int_eq(in.newest_version, 2);
    ck_assert_uint_eq(in.unknown_records, 1);
    ck_assert_uint_eq(in.records, 1);
    ck_assert_int_eq(rapt_report_feed_line(NULL, "x", 1), -EINVAL);
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_int_eq(rapt_report_feed_line(r, unknown, strlen(unknown)), RAPT_ECLOSED);
    ck_assert_int_eq(rapt_report_feed_fd(r, 0, "x"), RAPT_ECLOSED);
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_uint_eq(t.jobs, 1);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(truncated_file)
{
    /* cpu-bound cut in the middle of its 41st record */
    rapt_report *r = load("truncated", NULL, NULL);
    rapt_report_input in;
    rapt_report_get_input(r, &in);
    ck_assert(in.truncated);
    ck_assert_uint_eq(in.lines, 41);
    ck_assert_uint_eq(in.records, 40);
    ck_assert_uint_eq(in.bad_lines, 1);
    ck_assert_uint_eq(in.first_bad_line, 41);
    ck_assert_str_eq(in.first_bad_file, "truncated");
    ck_assert_uint_eq(in.runs_ended, 0);
    /* what was readable is reported: jobs 1-12 ended, 13-15 were running */
    rapt_report_totals t;
    rapt_report_get_totals(r, &t);
    ck_assert_uint_eq(t.succeeded, 12);
    ck_assert_uint_eq(t.unfinished, 3);
    ck_assert_str_eq(t.bottleneck, "cpu");
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(newer_schema_file)
{
    /* every odd job's job_end and one record of a new type carry "v":2 */
    rapt_report *r = load("newer-schema", NULL, NULL);
    rapt_report_input in;
    rapt_report_get_input(r, &in);
    ck_assert_uint_eq(in.newer_records, 11);
    ck_assert_int_eq(in.newest_version, 2);
    ck_assert_uint_gt(in.first_newer_line, 1);
    ck_assert_uint_eq(in.bad_lines, 0);
    rapt_report_totals t;
    rapt_report_get_totals(r, &t);
    ck_assert_uint_eq(t.succeeded, 10);
    ck_assert_uint_eq(t.unfinished, 10);
    /* an attempt whose end was skipped ends no later than the next start on its slot */
    ck_assert_double_eq_tol(t.slot_util, 1, 1e-9);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(mid_garbage_and_no_run_end)
{
    rapt_report *r = load("mid-garbage", NULL, NULL);
    rapt_report_input in;
    rapt_report_get_input(r, &in);
    ck_assert_uint_eq(in.bad_lines, 1);
    ck_assert(!in.truncated);
    ck_assert_uint_eq(in.runs_ended, 1);
    rapt_report_totals t;
    rapt_report_get_totals(r, &t);
    ck_assert_uint_eq(t.succeeded, 19);
    ck_assert_uint_eq(t.unfinished, 1);
    rapt_report_destroy(r);

    r = load("no-run-end", NULL, NULL);
    rapt_report_get_input(r, &in);
    ck_assert_uint_eq(in.bad_lines, 0);
    ck_assert_uint_eq(in.runs, 1);
    ck_assert_uint_eq(in.runs_ended, 0);
    rapt_report_get_totals(r, &t);
    ck_assert_uint_eq(t.succeeded, 12);
    ck_assert_uint_eq(t.unfinished, 3);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(garbage_file)
{
    rapt_report *r = load("garbage", NULL, NULL);
    rapt_report_input in;
    rapt_report_get_input(r, &in);
    ck_assert_uint_eq(in.records, 0);
    ck_assert_uint_eq(in.bad_lines, in.lines);
    ck_assert_uint_ge(in.bad_lines, 4);
    ck_assert_uint_eq(in.first_bad_line, 1);
    rapt_report_totals t;
    rapt_report_get_totals(r, &t);
    ck_assert_uint_eq(t.jobs, 0);
    ck_assert_str_eq(t.bottleneck, "none");
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(long_lines_are_bounded)
{
    /* A line over max_line is skipped without being buffered; the next line still counts. */
    rapt_report_opts o;
    rapt_report_opts_init(&o);
    o.max_line = 200;
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, &o), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    FILE *w = fdopen(p[1], "w");
    fprintf(w, "{\"v\":1,\"event\":\"run_start\",\"t\":10,\"mono\":0,\"slots\":1}\n");
    fputc('{', w);
    for (int i = 0; i < 5000; i++)
        fputs("\"k\":1,", w);
    fputs("\"z\":0}\n", w);
    fprintf(w, "{\"v\":1,\"event\":\"job_end\",\"t\":12,\"mono\":2,\"seq\":1,\"wall_s\":1}\n");
    fprintf(w, "{\"v\":1,\"event\":\"job_end\",\"t\":13,\"mono\":3,\"seq\":2,\"wall_s\":1}");
    fclose(w); /* the last line has no newline but parses: not truncated */
    ck_assert_int_eq(rapt_report_feed_fd(r, p[0], "pipe"), 0);
    close(p[0]);
    rapt_report_input in;
    rapt_report_get_input(r, &in);
    ck_assert_uint_eq(in.lines, 4);
    ck_assert_uint_eq(in.bad_lines, 1);
    ck_assert_uint_eq(in.first_bad_line, 2);
    ck_assert_ptr_nonnull(strstr(in.first_bad_why, "longer than 200"));
    ck_assert(!in.truncated);
    ck_assert_uint_eq(in.records, 3);
    ck_assert_int_eq(rapt_report_finish(r), 0);
    rapt_report_destroy(r);
}
END_TEST

static void log_count(void *ud, rapt_log_level lvl, const char *msg)
{
    int *counts = ud;
    counts[lvl]++;
    ck_assert(strchr(msg, '\n') == NULL);
}

START_TEST(duplicate_run_and_log)
{
    /* The same file twice is one run; the first bad line of a file is logged as a warning,
     * the rest at debug level. */
    int counts[4] = {0};
    rapt_report_opts o;
    rapt_report_opts_init(&o);
    o.log = log_count;
    o.log_userdata = counts;
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, &o), 0);
    char path[4096];
    snprintf(path, sizeof(path), "%s/events/cpu-bound.jsonl", RAPT_FIXTURES);
    for (int i = 0; i < 2; i++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(rapt_report_feed_fd(r, fd, "cpu-bound"), 0);
        close(fd);
    }
    ck_assert_int_eq(counts[RAPT_LOG_WARN], 1); /* "run cpu-bound appears again" */
    snprintf(path, sizeof(path), "%s/events/garbage.jsonl", RAPT_FIXTURES);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(rapt_report_feed_fd(r, fd, "garbage"), 0);
    close(fd);
    ck_assert_int_eq(counts[RAPT_LOG_WARN], 2);
    ck_assert_int_ge(counts[RAPT_LOG_DEBUG], 3);
    ck_assert_int_eq(rapt_report_finish(r), 0);
    rapt_report_totals t;
    rapt_report_get_totals(r, &t);
    ck_assert_uint_eq(t.jobs, 20);
    ck_assert_uint_eq(t.attempts, 20);
    ck_assert_double_eq_tol(t.cpu_util, 0.975, 1e-9);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(unfinished_until_next_start)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    feed(r, "{\"v\":1,\"event\":\"run_start\",\"t\":100,\"mono\":0,\"slots\":2,\"cpus\":2}");
    feed(r, "{\"v\":1,\"event\":\"job_start\",\"t\":100,\"mono\":0,\"seq\":1,\"slot\":1}");
    feed(r, "{\"v\":1,\"event\":\"job_start\",\"t\":100,\"mono\":0,\"seq\":3,\"slot\":2}");
    feed(r, "{\"v\":1,\"event\":\"job_start\",\"t\":105,\"mono\":5,\"seq\":2,\"slot\":1}");
    feed(r, "{\"v\":1,\"event\":\"job_end\",\"t\":107,\"mono\":7,\"seq\":2,\"slot\":1,"
            "\"wall_s\":2,\"outcome\":\"success\"}");
    feed(r, "{\"v\":1,\"event\":\"sample\",\"t\":110,\"mono\":10,\"running\":1}");
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_uint_eq(r->natt, 3);
    for (size_t i = 0; i < r->natt; i++) {
        const rapt__ratt *a = &r->att[i];
        if (a->seq == 1) {
            ck_assert_int_eq(a->outcome, RAPT__O_UNFINISHED);
            ck_assert_double_eq_tol(a->wall, 5, 1e-9); /* until job 2 took slot 1 */
        } else if (a->seq == 3) {
            ck_assert_double_eq_tol(a->wall, 10, 1e-9); /* until the last record */
        }
    }
    rapt_report_totals t;
    rapt_report_get_totals(r, &t);
    ck_assert_uint_eq(t.unfinished, 2);
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(live_table_many)
{
    /* 3000 overlapping attempts ended in a scrambled order: every job_end finds its
     * job_start (the prediction travels from one to the other), which exercises the hash
     * table's growth and backward-shift deletion. */
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    feed(r, "{\"v\":1,\"event\":\"run_start\",\"t\":0,\"mono\":0,\"slots\":4000,\"cpus\":8}");
    char line[256];
    enum { N = 3000 };
    for (unsigned i = 1; i <= N; i++) {
        snprintf(line, sizeof(line),
                 "{\"v\":1,\"event\":\"job_start\",\"t\":%u,\"mono\":%u,\"seq\":%u,\"slot\":%u,"
                 "\"predicted_peak\":%u,\"input_bytes\":%u}",
                 i, i, i, i, 1000 + i, 10 * i);
        feed(r, line);
    }
    ck_assert_uint_eq(r->nlive, N);
    for (unsigned k = 0; k < N; k++) {
        unsigned i = (unsigned)((k * 1237u) % N) + 1; /* 1237 is coprime with 3000 */
        snprintf(line, sizeof(line),
                 "{\"v\":1,\"event\":\"job_end\",\"t\":%u,\"mono\":%u,\"seq\":%u,\"slot\":%u,"
                 "\"wall_s\":%u,\"peak_bytes\":%u,\"outcome\":\"success\"}",
                 N + 10, N + 10, i, i, N + 10 - i, 2000 + 2 * i);
        feed(r, line);
    }
    ck_assert_uint_eq(r->nlive, 0);
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_uint_eq(r->natt, N);
    for (size_t i = 0; i < r->natt; i++) {
        ck_assert_uint_eq(r->att[i].predicted, 1000 + r->att[i].seq);
        ck_assert_uint_eq(r->att[i].input, 10 * r->att[i].seq);
    }
    ck_assert_uint_eq(r->st[0].pred_n, N);
    ck_assert_uint_eq(r->an.max_running, N);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(stage_table_is_bounded)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    char line[256];
    for (unsigned i = 1; i <= 200; i++) {
        snprintf(line, sizeof(line),
                 "{\"v\":1,\"event\":\"job_end\",\"t\":%u,\"mono\":%u,\"seq\":%u,\"slot\":1,"
                 "\"wall_s\":1,\"stage\":\"s%u\",\"outcome\":\"success\"}",
                 i, i, i, i);
        feed(r, line);
    }
    ck_assert_uint_eq(r->nstages, RAPT__R_STAGES_MAX);
    ck_assert_str_eq(r->stages[RAPT__R_STAGES_MAX - 1], "(other stages)");
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_uint_eq(r->st[RAPT__R_STAGES_MAX - 1].jobs, 200 - (RAPT__R_STAGES_MAX - 2));
    check_outputs(r);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(empty_report)
{
    rapt_report *r;
    ck_assert_int_eq(rapt_report_create(&r, NULL), 0);
    rapt_report_totals t;
    ck_assert_int_eq(rapt_report_get_totals(r, &t), -EAGAIN);
    ck_assert_int_eq(rapt_report_write(r, RAPT_REPORT_TEXT, stdout), -EAGAIN);
    ck_assert_int_eq(rapt_report_finish(r), 0);
    ck_assert_int_eq(rapt_report_get_totals(r, &t), 0);
    ck_assert_uint_eq(t.jobs, 0);
    ck_assert_str_eq(t.bottleneck, "none");
    ck_assert_uint_eq(t.recommendations, 0);
    check_outputs(r);
    ck_assert_int_eq(rapt_report_write(r, (rapt_report_format)7, stdout), -EINVAL);
    rapt_report_destroy(r);
    rapt_report_destroy(NULL);
    ck_assert_int_eq(rapt_report_create(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(save_is_atomic)
{
    rapt_report *r = load("long-tail", NULL, NULL);
    char dir[] = "/tmp/rapt-report-test.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], missing[256];
    snprintf(path, sizeof(path), "%s/r.html", dir);
    snprintf(missing, sizeof(missing), "%s/no/such/dir/r.html", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    ck_assert_int_eq(rapt_report_save(r, RAPT_REPORT_HTML, path), 0);
    f = fopen(path, "r");
    char head[16] = "";
    ck_assert_uint_eq(fread(head, 1, 15, f), 15);
    fclose(f);
    ck_assert_str_eq(head, "<!DOCTYPE html>");
    /* nothing but the report is left in the directory */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = r.html", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(rapt_report_save(r, RAPT_REPORT_JSON, missing), -ENOENT);
    ck_assert_int_eq(rapt_report_save(r, RAPT_REPORT_JSON, dir), -EISDIR);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    rapt_report_destroy(r);
}
END_TEST

START_TEST(write_error_is_reported)
{
    rapt_report *r = load("cpu-bound", NULL, NULL);
    FILE *f = fopen("/dev/full", "w");
    if (!f) {
        rapt_report_destroy(r);
        return; /* no /dev/full in this sandbox: nothing to check */
    }
    ck_assert_int_eq(rapt_report_write(r, RAPT_REPORT_HTML, f), -ENOSPC);
    fclose(f);
    rapt_report_destroy(r);
}
END_TEST

/* ---- helpers ----------------------------------------------------------------------------- */

START_TEST(simulate_and_percentiles)
{
    double w[] = {3, 3, 2, 2, 2};
    ck_assert_double_eq(rapt__report_simulate(w, 5, 2), 7);
    ck_assert_double_eq(rapt__report_simulate(w, 5, 1), 12);
    ck_assert_double_eq(rapt__report_simulate(w, 5, 10), 3);
    ck_assert_double_eq(rapt__report_simulate(w, 0, 2), 0);
    double lt[40];
    for (int i = 0; i < 39; i++)
        lt[i] = 1;
    lt[39] = 30;
    ck_assert_double_eq(rapt__report_simulate(lt, 40, 4), 39); /* the long job last */
    double lpt[40];
    lpt[0] = 30;
    for (int i = 1; i < 40; i++)
        lpt[i] = 1;
    ck_assert_double_eq(rapt__report_simulate(lpt, 40, 4), 30); /* longest first */
    double s[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ck_assert_double_eq(rapt__report_pct(s, 10, 50), 5);
    ck_assert_double_eq(rapt__report_pct(s, 10, 95), 10);
    ck_assert_double_eq(rapt__report_pct(s, 10, 10), 1);
    ck_assert_double_eq(rapt__report_pct(s, 1, 50), 1);
    ck_assert(isnan(rapt__report_pct(s, 0, 50)));
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    RAPT_TCASE(s, cpu_bound, 30);
    RAPT_TCASE(s, memory_bound, 30);
    RAPT_TCASE(s, long_tail, 30);
    RAPT_TCASE(s, io_bound, 30);
    RAPT_TCASE(s, input_bound, 30);
    RAPT_TCASE(s, mixed_outcomes, 30);
    RAPT_TCASE(s, sla_stages, 30);
    RAPT_TCASE(s, idle_slots, 30);
    RAPT_TCASE(s, pressure_and_memory_high, 30);
    RAPT_TCASE(s, memory_bound_from_decisions, 30);
    RAPT_TCASE(s, sla_from_run_options, 30);
    RAPT_TCASE(s, sla_spec_parsing, 30);
    RAPT_TCASE(s, stage_slas_from_run_options, 30);
    RAPT_TCASE(s, sla_parse_without_report, 30);
    RAPT_TCASE(s, events_md_example, 30);
    RAPT_TCASE(s, bad_records, 30);
    RAPT_TCASE(s, truncated_file, 30);
    RAPT_TCASE(s, newer_schema_file, 30);
    RAPT_TCASE(s, mid_garbage_and_no_run_end, 30);
    RAPT_TCASE(s, garbage_file, 30);
    RAPT_TCASE(s, long_lines_are_bounded, 30);
    RAPT_TCASE(s, duplicate_run_and_log, 30);
    RAPT_TCASE(s, unfinished_until_next_start, 30);
    RAPT_TCASE(s, live_table_many, 60);
    RAPT_TCASE(s, stage_table_is_bounded, 30);
    RAPT_TCASE(s, empty_report, 30);
    RAPT_TCASE(s, save_is_atomic, 30);
    RAPT_TCASE(s, write_error_is_reported, 30);
    RAPT_TCASE(s, simulate_and_percentiles, 30);
    return s;
}

RAPT_TEST_MAIN(report_suite)
