/* rapt-gen-events: writes rapt.events/1 streams (docs/events.md) for tests and benchmarks.
 *
 *   rapt-gen-events scenario NAME      a crafted run with a known answer (list: no NAME)
 *   rapt-gen-events synthetic N [SEED] a synthetic N-job run (16 slots, 8 CPUs, 3 stages)
 *
 * Crafted scenarios are committed as tests/fixtures/events/NAME.jsonl, and their expected
 * figures are in tests/fixtures/events/README.md; an e2e test checks that the committed files
 * are what this program writes. The synthetic run backs the "a 100 000-job report stays under
 * 5 MB" test and bench/report.sh.
 *
 * A run is a list of attempts with their slot, start and duration. The writer turns it into
 * records in time order: run_start, job_start and job_end per attempt (with job_kill,
 * job_retry and protect around ended attempts where the outcome calls for them), optional
 * admission decisions, one sample per second (running jobs, memory in use as the sum of the
 * running jobs' peaks, CPU from their user+sys over wall, and the scenario's limited_by), and
 * run_end. Every field the contract lists is written, null when it does not apply.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MIB     (1024ull * 1024)
#define GIB     (1024ull * MIB)
#define T_EPOCH 1795000000.0 /* wall-clock time of the first run's start */

typedef struct att {
    unsigned seq, attempt, slot;
    double start, wall, user, sys;
    uint64_t peak, input, reservation, predicted; /* 0: null */
    const char *outcome, *reason;
    const char *stage; /* NULL: the run's */
    int exit;          /* -1: null */
    int sig;           /* 0: null */
    bool oom;
    const char *kill_reason; /* job_kill before job_end, or NULL */
    bool protect;            /* a protect "requeue" record before the kill */
    double retry_delay;      /* for job_retry */
} att;

struct run;
typedef const char *(*limited_fn)(const struct run *run, double t, unsigned running, long queued);

typedef struct run {
    const char *id, *command, *stage;
    unsigned slots, cpus;
    uint64_t limit, budget; /* budget 0: not memory-aware (null) */
    double offset;          /* seconds after T_EPOCH */
    att *a;
    size_t n, cap;
    bool samples, decisions, streaming, no_run_end;
    limited_fn limited;
    double sla_s; /* 0: null */
    unsigned retries;
    double timeout_s; /* 0: null */
    const char *order;
} run;

static FILE *out;

static void die(const char *what)
{
    fprintf(stderr, "rapt-gen-events: %s\n", what);
    exit(2);
}

static att *add(run *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->a = realloc(r->a, r->cap * sizeof(*r->a));
        if (!r->a)
            die("out of memory");
    }
    att *a = &r->a[r->n++];
    memset(a, 0, sizeof(*a));
    a->attempt = 1;
    a->outcome = "success";
    a->reason = "exit";
    a->exit = 0;
    return a;
}

/* ---- writing ----------------------------------------------------------------------------- */

static void s_field(const char *k, const char *v)
{
    fprintf(out, ",\"%s\":", k);
    if (v)
        rapt__json_escape(out, v, strlen(v));
    else
        fputs("null", out);
}

static void u_field(const char *k, uint64_t v, bool null)
{
    if (null)
        fprintf(out, ",\"%s\":null", k);
    else
        fprintf(out, ",\"%s\":%llu", k, (unsigned long long)v);
}

static void d_field(const char *k, double v)
{
    fprintf(out, ",\"%s\":%.6f", k, v);
}

static void head(const run *r, const char *event, double mono)
{
    fprintf(out, "{\"v\":1,\"event\":\"%s\",\"t\":%.6f,\"mono\":%.6f", event,
            T_EPOCH + r->offset + mono, mono);
}

static void cmd_of(const run *r, const att *a, char *buf, size_t len)
{
    snprintf(buf, len, "%s job-%u.dat", r->command, a->seq);
}

static void w_run_start(const run *r)
{
    head(r, "run_start", 0);
    s_field("run_id", r->id);
    s_field("rapt_version", "0.1.0");
    s_field("host", "testhost");
    u_field("pid", 4242, false);
    s_field("cwd", "/data");
    s_field("command", r->command);
    fprintf(out, ",\"argv\":[\"run\",");
    rapt__json_escape(out, r->command, strlen(r->command));
    fputc(']', out);
    u_field("slots", r->slots, false);
    u_field("cpus", r->cpus, false);
    u_field("mem_limit", r->limit, false);
    s_field("mem_limit_source", "/sys/fs/cgroup/memory.max");
    u_field("mem_budget", r->budget, r->budget == 0);
    s_field("env_class", "small");
    s_field("measure", "cgroup-v2");
    size_t jobs = 0;
    for (size_t i = 0; i < r->n; i++)
        jobs += r->a[i].attempt == 1;
    u_field("total_jobs", jobs, r->streaming);
    fprintf(out, ",\"options\":{\"timeout_s\":");
    if (r->timeout_s > 0)
        fprintf(out, "%g", r->timeout_s);
    else
        fputs("null", out);
    fprintf(out, ",\"retries\":%u,\"halt\":\"never\",\"order\":\"%s\",\"sla_s\":", r->retries,
            r->order ? r->order : "input");
    if (r->sla_s > 0)
        fprintf(out, "%g", r->sla_s);
    else
        fputs("null", out);
    fprintf(out, "}}\n");
}

static void w_job_start(const run *r, const att *a)
{
    char cmd[256];
    cmd_of(r, a, cmd, sizeof(cmd));
    head(r, "job_start", a->start);
    u_field("seq", a->seq, false);
    u_field("attempt", a->attempt, false);
    u_field("slot", a->slot, false);
    u_field("pid", 10000 + a->seq * 10 + a->attempt, false);
    s_field("cmd", cmd);
    char arg[64];
    snprintf(arg, sizeof(arg), "job-%u.dat", a->seq);
    fprintf(out, ",\"args\":[\"%s\"]", arg);
    s_field("class", r->command);
    s_field("stage", a->stage ? a->stage : r->stage);
    u_field("input_bytes", a->input, a->input == 0);
    u_field("reservation", a->reservation, a->reservation == 0);
    u_field("predicted_peak", a->predicted, a->predicted == 0);
    fprintf(out, ",\"predicted_runtime\":null}\n");
}

static void w_job_end(const run *r, const att *a)
{
    char cmd[256];
    cmd_of(r, a, cmd, sizeof(cmd));
    double end = a->start + a->wall;
    if (a->protect) {
        head(r, "protect", end);
        u_field("seq", a->seq, false);
        u_field("attempt", a->attempt, false);
        s_field("action", "requeue");
        u_field("available", 50 * MIB, false);
        u_field("critical", 64 * MIB, false);
        fprintf(out, ",\"psi_some_avg10\":null}\n");
    }
    if (a->kill_reason) {
        head(r, "job_kill", end);
        u_field("seq", a->seq, false);
        u_field("attempt", a->attempt, false);
        u_field("signal", a->sig ? (unsigned)a->sig : 15, false);
        s_field("reason", a->kill_reason);
        fprintf(out, "}\n");
    }
    head(r, "job_end", end);
    u_field("seq", a->seq, false);
    u_field("attempt", a->attempt, false);
    u_field("slot", a->slot, false);
    u_field("pid", 10000 + a->seq * 10 + a->attempt, false);
    s_field("cmd", cmd);
    s_field("class", r->command);
    s_field("stage", a->stage ? a->stage : r->stage);
    d_field("start", T_EPOCH + r->offset + a->start);
    d_field("wall_s", a->wall);
    d_field("user_s", a->user);
    d_field("sys_s", a->sys);
    u_field("peak_bytes", a->peak, a->peak == 0);
    s_field("peak_method", "cgroup-v2");
    if (a->exit >= 0)
        fprintf(out, ",\"exit\":%d", a->exit);
    else
        fputs(",\"exit\":null", out);
    if (a->sig)
        fprintf(out, ",\"signal\":%d", a->sig);
    else
        fputs(",\"signal\":null", out);
    s_field("reason", a->reason);
    s_field("outcome", a->outcome);
    u_field("input_bytes", a->input, a->input == 0);
    u_field("reservation", a->reservation, a->reservation == 0);
    u_field("stdout_bytes", 0, false);
    u_field("stderr_bytes", 0, false);
    fprintf(out, ",\"oom_kill\":%s}\n", a->oom ? "true" : "false");
    if (!strcmp(a->outcome, "retry")) {
        head(r, "job_retry", end);
        u_field("seq", a->seq, false);
        u_field("attempt", a->attempt + 1, false);
        s_field("reason", a->reason);
        u_field("reservation", 0, true);
        d_field("delay_s", a->retry_delay);
        fprintf(out, "}\n");
    }
}

/* One point in a run's timeline: an attempt starting or ending. */
typedef struct ev {
    double t;
    int kind; /* 0 end, 1 start: ends first at the same instant, so a slot is free again */
    size_t i;
} ev;

static int cmp_ev(const void *pa, const void *pb)
{
    const ev *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    return a->i < b->i ? -1 : a->i > b->i;
}

static void write_run(const run *r, size_t cut_after_records)
{
    size_t nev = 2 * r->n;
    ev *e = malloc((nev + 1) * sizeof(*e));
    long *slot = calloc(r->slots + 1, sizeof(*slot)); /* attempt index + 1 running per slot */
    if (!e || !slot)
        die("out of memory");
    double makespan = 0;
    size_t jobs = 0;
    for (size_t i = 0; i < r->n; i++) {
        e[2 * i] = (ev){r->a[i].start, 1, i};
        e[2 * i + 1] = (ev){r->a[i].start + r->a[i].wall, 0, i};
        makespan = fmax(makespan, r->a[i].start + r->a[i].wall);
        jobs += r->a[i].attempt == 1;
    }
    qsort(e, nev, sizeof(*e), cmp_ev);
    size_t records = 0;
#define CUT()                                                   \
    do {                                                        \
        if (cut_after_records && ++records > cut_after_records) \
            goto done;                                          \
    } while (0)
    CUT();
    w_run_start(r);
    size_t k = 0, done_jobs = 0, started_jobs = 0;
    for (double tick = 0;; tick += 1) {
        /* every attempt event up to and including this tick, then the sample */
        while (k < nev && e[k].t <= tick + 1e-9) {
            const att *a = &r->a[e[k].i];
            if (e[k].kind == 1) {
                if (r->decisions) {
                    CUT();
                    head(r, "decision", a->start);
                    u_field("seq", a->seq, false);
                    s_field("action", "admit");
                    s_field("why", "ok");
                    unsigned running = 0;
                    for (unsigned s = 1; s <= r->slots; s++)
                        running += slot[s] != 0;
                    u_field("running", running, false);
                    u_field("free_slots", r->slots - running, false);
                    u_field("budget", r->budget, r->budget == 0);
                    u_field("used", 0, false);
                    u_field("outstanding", 0, false);
                    u_field("reservation", a->reservation, a->reservation == 0);
                    fprintf(out, "}\n");
                }
                CUT();
                w_job_start(r, a);
                slot[a->slot] = (long)e[k].i + 1;
                started_jobs += a->attempt == 1;
            } else {
                CUT();
                w_job_end(r, a);
                if (slot[a->slot] == (long)e[k].i + 1)
                    slot[a->slot] = 0;
                done_jobs += !strcmp(a->outcome, "success") || !strcmp(a->outcome, "failed");
            }
            k++;
        }
        if (tick >= makespan - 1e-9)
            break;
        unsigned running = 0;
        uint64_t used = 0;
        double cpu = 0;
        for (unsigned s = 1; s <= r->slots; s++) {
            if (!slot[s])
                continue;
            const att *a = &r->a[slot[s] - 1];
            running++;
            used += a->peak;
            cpu += a->wall > 0 ? (a->user + a->sys) / a->wall : 0;
        }
        long queued = (long)jobs - (long)done_jobs - (long)running;
        if (queued < 0)
            queued = 0;
        const char *lim = r->limited ? r->limited(r, tick, running, queued) : "none";
        if (r->decisions && queued > 0 && strcmp(lim, "none")) {
            CUT();
            head(r, "decision", tick);
            u_field("seq", started_jobs + 1, false);
            s_field("action", "wait");
            s_field("why", lim);
            u_field("running", running, false);
            u_field("free_slots", r->slots - running, false);
            u_field("budget", r->budget, r->budget == 0);
            u_field("used", used, false);
            u_field("outstanding", 0, false);
            u_field("reservation", r->n ? r->a[0].peak : 0, false);
            fprintf(out, "}\n");
        }
        if (r->samples) {
            CUT();
            head(r, "sample", tick);
            u_field("running", running, false);
            u_field("queued", (uint64_t)queued, r->streaming);
            u_field("done", done_jobs, false);
            u_field("slots", r->slots, false);
            u_field("mem_used", used, false);
            u_field("mem_available", r->limit > used ? r->limit - used : 0, false);
            u_field("mem_budget", r->budget, r->budget == 0);
            fprintf(out, ",\"cpu_pct\":%.1f", cpu / r->cpus * 100);
            s_field("limited_by", lim);
            fprintf(out, ",\"jobs\":[");
            bool first = true;
            for (unsigned s = 1; s <= r->slots; s++) {
                if (!slot[s])
                    continue;
                const att *a = &r->a[slot[s] - 1];
                fprintf(out, "%s{\"seq\":%u,\"rss\":%llu}", first ? "" : ",", a->seq,
                        (unsigned long long)a->peak);
                first = false;
            }
            fprintf(out, "]}\n");
        }
    }
    if (!r->no_run_end) {
        size_t ok = 0, failed = 0, retried = 0, requeued = 0, oom = 0;
        for (size_t i = 0; i < r->n; i++) {
            const att *a = &r->a[i];
            ok += !strcmp(a->outcome, "success");
            failed += !strcmp(a->outcome, "failed");
            retried += !strcmp(a->outcome, "retry");
            requeued += !strcmp(a->outcome, "requeued");
            oom += a->oom;
        }
        CUT();
        head(r, "run_end", makespan);
        u_field("jobs", jobs, false);
        u_field("succeeded", ok, false);
        u_field("failed", failed, false);
        u_field("retried", retried, false);
        u_field("requeued", requeued, false);
        u_field("oom_killed", oom, false);
        d_field("makespan_s", makespan);
        fprintf(out, ",\"exit_code\":%d,\"reason\":\"done\"}\n", failed ? 1 : 0);
    }
done:
#undef CUT
    free(e);
    free(slot);
}

/* ---- scheduling helpers ------------------------------------------------------------------ */

/* Places attempts greedily, in the order given, on the slot that frees first (each attempt's
 * start is the later of that and its `start`, which holds its earliest possible start; a
 * later attempt of a job starts after the previous one ended plus its retry delay). */
static void greedy(run *r, double gap)
{
    double *free_at = calloc(r->slots + 1, sizeof(*free_at));
    if (!free_at)
        die("out of memory");
    for (size_t i = 0; i < r->n; i++) {
        att *a = &r->a[i];
        for (size_t k = i; a->attempt > 1 && k-- > 0;) {
            const att *p = &r->a[k];
            if (p->seq == a->seq && p->attempt + 1 == a->attempt) {
                a->start = fmax(a->start, p->start + p->wall + p->retry_delay);
                break;
            }
        }
        unsigned best = 1;
        for (unsigned s = 2; s <= r->slots; s++)
            if (free_at[s] < free_at[best] - 1e-12)
                best = s;
        a->slot = best;
        a->start = fmax(a->start, free_at[best]);
        free_at[best] = a->start + a->wall + gap;
    }
    free(free_at);
}

static const char *lim_slots(const run *r, double t, unsigned running, long queued)
{
    return queued > 0 ? "slots" : "none";
}

static const char *lim_memory(const run *r, double t, unsigned running, long queued)
{
    return queued > 0 ? "memory" : "none";
}

static const char *lim_input(const run *r, double t, unsigned running, long queued)
{
    /* the input streams one line per second for the first 20 seconds */
    return t < 20 ? "input" : "none";
}

/* ---- crafted scenarios (tests/fixtures/events/README.md has the expected figures) --------- */

/* 20 CPU-heavy jobs, 4 slots on 2 CPUs: the CPUs are the bottleneck. */
static void sc_cpu_bound(run *r)
{
    *r = (run){.id = "cpu-bound",
               .command = "compress",
               .slots = 4,
               .cpus = 2,
               .limit = 8 * GIB,
               .samples = true,
               .limited = lim_slots};
    for (unsigned i = 1; i <= 20; i++) {
        att *a = add(r);
        a->seq = i;
        a->slot = (i - 1) % 4 + 1;
        a->start = (double)((i - 1) / 4) * 4.0;
        a->wall = 4.0;
        a->user = 1.9;
        a->sys = 0.05;
        a->input = i * MIB;
        a->peak = 3 * a->input + 50 * MIB; /* the model: gamma 3, overhead 50 MiB */
    }
}

/* 12 jobs of 400 MiB under a 1 GiB budget on 4 slots: only 2 fit, memory is the bottleneck. */
static void sc_memory_bound(run *r)
{
    *r = (run){.id = "memory-bound",
               .command = "render",
               .slots = 4,
               .cpus = 4,
               .limit = 2 * GIB,
               .budget = 1 * GIB,
               .samples = true,
               .decisions = true,
               .limited = lim_memory};
    for (unsigned i = 1; i <= 12; i++) {
        att *a = add(r);
        a->seq = i;
        a->slot = (i - 1) % 2 + 1;
        a->start = (double)((i - 1) / 2) * 3.0;
        a->wall = 3.0;
        a->user = 0.4;
        a->sys = 0.1;
        a->input = 100 * MIB;
        a->peak = 400 * MIB;
        a->reservation = 400 * MIB;
    }
}

/* 39 one-second jobs and a 30-second one last, on 4 slots: a long tail. */
static void sc_long_tail(run *r)
{
    *r = (run){.id = "long-tail",
               .command = "simulate",
               .slots = 4,
               .cpus = 4,
               .limit = 8 * GIB,
               .samples = true,
               .limited = lim_slots};
    for (unsigned i = 1; i <= 40; i++) {
        att *a = add(r);
        a->seq = i;
        a->slot = (i - 1) % 4 + 1;
        a->start = (double)((i - 1) / 4);
        a->wall = i == 40 ? 30.0 : 1.0;
        a->user = 0.95 * a->wall;
        a->input = 10 * MIB;
        a->peak = 64 * MIB;
    }
}

/* 16 sleeping jobs that fill 4 slots but not the CPUs: more slots would help. */
static void sc_io_bound(run *r)
{
    *r = (run){.id = "io-bound",
               .command = "fetch",
               .slots = 4,
               .cpus = 4,
               .limit = 8 * GIB,
               .budget = 4 * GIB,
               .samples = true,
               .limited = lim_slots};
    for (unsigned i = 1; i <= 16; i++) {
        att *a = add(r);
        a->seq = i;
        a->slot = (i - 1) % 4 + 1;
        a->start = (double)((i - 1) / 4) * 5.0;
        a->wall = 5.0;
        a->user = 0.05;
        a->sys = 0.05;
        a->peak = 100 * MIB;
    }
}

/* 20 jobs streamed in one per second on 8 slots: the input is the bottleneck. */
static void sc_input_bound(run *r)
{
    *r = (run){.id = "input-bound",
               .command = "index",
               .slots = 8,
               .cpus = 8,
               .limit = 8 * GIB,
               .samples = true,
               .streaming = true,
               .limited = lim_input};
    for (unsigned i = 1; i <= 20; i++) {
        att *a = add(r);
        a->seq = i;
        a->slot = (i - 1) % 2 + 1;
        a->start = (double)(i - 1);
        a->wall = 2.0;
        a->user = 1.8;
        a->peak = 80 * MIB;
    }
}

/* Every outcome: success, a timeout then success, a memory requeue, an OOM kill, failures. */
static void sc_mixed(run *r)
{
    *r = (run){.id = "mixed-outcomes",
               .command = "convert",
               .slots = 2,
               .cpus = 2,
               .limit = 4 * GIB,
               .budget = 3 * GIB,
               .retries = 1,
               .timeout_s = 10};
    for (unsigned i = 1; i <= 5; i++) {
        att *a = add(r);
        a->seq = i;
        a->wall = 1.0;
        a->user = 0.9;
        a->peak = 200 * MIB;
    }
    att *a = add(r); /* 6: times out, retried, succeeds */
    a->seq = 6;
    a->wall = 10.0;
    a->user = 9.5;
    a->peak = 300 * MIB;
    a->outcome = "retry";
    a->reason = "timeout";
    a->exit = -1;
    a->sig = 15;
    a->kill_reason = "timeout";
    a->retry_delay = 0;
    a = add(r);
    a->seq = 6;
    a->attempt = 2;
    a->wall = 4.0;
    a->user = 3.8;
    a->peak = 300 * MIB;
    a = add(r); /* 7: requeued by rapt's memory protection, then succeeds */
    a->seq = 7;
    a->wall = 2.0;
    a->user = 1.5;
    a->peak = 900 * MIB;
    a->outcome = "requeued";
    a->reason = "memory";
    a->exit = -1;
    a->sig = 9;
    a->kill_reason = "memory";
    a->protect = true;
    a = add(r);
    a->seq = 7;
    a->attempt = 2;
    a->wall = 3.0;
    a->user = 2.5;
    a->peak = 1000 * MIB;
    a = add(r); /* 8: OOM-killed by the kernel, requeued, succeeds */
    a->seq = 8;
    a->wall = 1.5;
    a->user = 1.0;
    a->peak = 1200 * MIB;
    a->outcome = "requeued";
    a->reason = "oom";
    a->exit = -1;
    a->sig = 9;
    a->oom = true;
    a = add(r);
    a->seq = 8;
    a->attempt = 2;
    a->wall = 2.5;
    a->user = 2.0;
    a->peak = 1300 * MIB;
    for (unsigned k = 1; k <= 2; k++) { /* 9: exit 3 twice */
        a = add(r);
        a->seq = 9;
        a->attempt = k;
        a->wall = 0.5;
        a->user = 0.1;
        a->peak = 50 * MIB;
        a->exit = 3;
        a->outcome = k == 1 ? "retry" : "failed";
        a->retry_delay = 1;
    }
    for (unsigned k = 1; k <= 2; k++) { /* 10: SIGSEGV twice */
        a = add(r);
        a->seq = 10;
        a->attempt = k;
        a->wall = 0.3;
        a->user = 0.1;
        a->peak = 40 * MIB;
        a->exit = -1;
        a->sig = 11;
        a->reason = "signal";
        a->outcome = k == 1 ? "retry" : "failed";
    }
    greedy(r, 0);
}

/* Two stages in two runs with per-stage SLAs: extract=5s (one job at 4.5 s warns),
 * transform=20s (two large-input jobs at 30 s violate). */
static void sc_sla(run *ra, run *rb)
{
    static const double ext[] = {1, 2, 1, 2, 1, 2, 1, 2, 4.5, 1};
    *ra = (run){.id = "sla-extract",
                .command = "extract",
                .stage = "extract",
                .slots = 2,
                .cpus = 2,
                .limit = 8 * GIB,
                .samples = true,
                .limited = lim_slots};
    for (unsigned i = 1; i <= 10; i++) {
        att *a = add(ra);
        a->seq = i;
        a->wall = ext[i - 1];
        a->user = 0.8 * a->wall;
        a->input = 20 * MIB;
        a->peak = 60 * MIB;
    }
    greedy(ra, 0);
    double end = 0;
    for (size_t i = 0; i < ra->n; i++)
        end = fmax(end, ra->a[i].start + ra->a[i].wall);
    *rb = (run){.id = "sla-transform",
                .command = "transform",
                .stage = "transform",
                .slots = 4,
                .cpus = 4,
                .limit = 8 * GIB,
                .offset = end + 2,
                .samples = true,
                .limited = lim_slots};
    for (unsigned i = 1; i <= 8; i++) {
        att *a = add(rb);
        bool big = i == 3 || i == 7;
        a->seq = i;
        a->wall = big ? 30.0 : 10.0;
        a->user = 0.9 * a->wall;
        a->input = big ? 400 * MIB : 100 * MIB;
        a->peak = 2 * a->input + 20 * MIB;
    }
    greedy(rb, 0);
}

/* ---- synthetic --------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic for a seed, fast, good enough for test data */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static double uniform(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

static void synthetic(unsigned long n, uint64_t seed)
{
    static const char *const stages[] = {"decode", "analyse", "encode"};
    rng_state = seed ? seed : 1;
    run r = {.id = "synthetic",
             .command = "pipeline",
             .slots = 16,
             .cpus = 8,
             .limit = 16 * GIB,
             .budget = 12 * GIB,
             .samples = true,
             .limited = lim_slots};
    unsigned long seq = 0;
    for (unsigned long j = 0; j < n; j++) {
        seq++;
        double u = uniform();
        int stage = u < 0.4 ? 0 : u < 0.8 ? 1 : 2;
        double wall = (0.05 + -log(1 - uniform()) * 0.35) * (stage == 2 ? 2.0 : 1.0);
        if (wall > 60)
            wall = 60;
        uint64_t input = (uint64_t)(1 + uniform() * 199) * MIB;
        uint64_t peak =
            (uint64_t)(2.5 * (double)input) + 40 * MIB + (uint64_t)(uniform() * 20.0 * (double)MIB);
        /* fates: 0.5% fail once then succeed, 0.1% are OOM-killed and requeued, 1% fail */
        double fate = uniform();
        unsigned attempts = fate < 0.006 ? 2 : 1;
        for (unsigned k = 1; k <= attempts; k++) {
            att *a = add(&r);
            a->seq = (unsigned)seq;
            a->attempt = k;
            a->wall = k < attempts ? wall * 0.5 : wall;
            a->user = a->wall * (0.2 + 0.25 * uniform());
            a->sys = a->wall * 0.02;
            a->input = input;
            a->peak = peak;
            a->predicted = (uint64_t)(2.5 * (double)input) + 50 * MIB;
            a->stage = stages[stage];
            if (k < attempts && fate < 0.005) {
                a->outcome = "retry";
                a->exit = 1;
            } else if (k < attempts) {
                a->outcome = "requeued";
                a->reason = "oom";
                a->exit = -1;
                a->sig = 9;
                a->oom = true;
            } else if (fate > 0.99) {
                a->outcome = "failed";
                a->exit = 1;
            }
        }
    }
    greedy(&r, 0.0005);
    write_run(&r, 0);
    free(r.a);
}

/* ---- main -------------------------------------------------------------------------------- */

static const char *const scenarios[] = {
    "cpu-bound",  "memory-bound", "long-tail",    "io-bound",   "input-bound", "mixed-outcomes",
    "sla-stages", "truncated",    "newer-schema", "no-run-end", "mid-garbage", "garbage",
};

static void scenario(const char *name)
{
    run r = {0}, r2 = {0};
    if (!strcmp(name, "cpu-bound")) {
        sc_cpu_bound(&r);
        write_run(&r, 0);
    } else if (!strcmp(name, "memory-bound")) {
        sc_memory_bound(&r);
        write_run(&r, 0);
    } else if (!strcmp(name, "long-tail")) {
        sc_long_tail(&r);
        write_run(&r, 0);
    } else if (!strcmp(name, "io-bound")) {
        sc_io_bound(&r);
        write_run(&r, 0);
    } else if (!strcmp(name, "input-bound")) {
        sc_input_bound(&r);
        write_run(&r, 0);
    } else if (!strcmp(name, "mixed-outcomes")) {
        sc_mixed(&r);
        write_run(&r, 0);
    } else if (!strcmp(name, "sla-stages")) {
        sc_sla(&r, &r2);
        write_run(&r, 0);
        write_run(&r2, 0);
        free(r2.a);
    } else if (!strcmp(name, "no-run-end")) {
        /* cpu-bound as if rapt was SIGKILLed after its 40th record: jobs 9-12 are running */
        sc_cpu_bound(&r);
        r.no_run_end = true;
        write_run(&r, 40);
    } else if (!strcmp(name, "truncated") || !strcmp(name, "newer-schema") ||
               !strcmp(name, "mid-garbage")) {
        /* cpu-bound written to memory, then damaged */
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        if (!mem)
            die("out of memory");
        FILE *saved = out;
        out = mem;
        sc_cpu_bound(&r);
        write_run(&r, 0);
        fclose(mem);
        out = saved;
        if (!strcmp(name, "truncated")) {
            /* the first 40 records and half of the 41st: a copy taken while rapt wrote */
            size_t pos = 0;
            for (int line = 0; line < 40 && pos < len; line++)
                pos = (size_t)((char *)memchr(buf + pos, '\n', len - pos) - buf) + 1;
            char *nl = memchr(buf + pos, '\n', len - pos);
            size_t half = nl ? (size_t)(nl - (buf + pos)) / 2 : 0;
            fwrite(buf, 1, pos + half, out);
        } else {
            /* newer-schema: every job_end of an odd job and one record of an unknown type
             * carry "v":2; mid-garbage: the job_end of job 7 is replaced by a broken line */
            char *p = buf, *end = buf + len;
            bool newer = !strcmp(name, "newer-schema");
            while (p < end) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
                unsigned seq = 0;
                const char *sp = strstr(p, "\"seq\":");
                bool is_end = !strncmp(p, "{\"v\":1,\"event\":\"job_end\"", 24);
                if (sp && sp < p + l)
                    seq = (unsigned)strtoul(sp + 6, NULL, 10);
                if (newer && is_end && seq % 2 == 1)
                    fprintf(out, "{\"v\":2%.*s", (int)(l - 6), p + 6);
                else if (!newer && is_end && seq == 7)
                    fprintf(out, "{\"v\":1,\"event\":\"job_end\",\"seq\":7,\"wall_s\":\x01 oops\n");
                else
                    fwrite(p, 1, l, out);
                if (newer && is_end && seq == 10)
                    fprintf(out, "{\"v\":2,\"event\":\"job_checkpoint\",\"t\":1795000010.0,"
                                 "\"mono\":10.0,\"seq\":10}\n");
                p += l;
            }
        }
        free(buf);
    } else if (!strcmp(name, "garbage")) {
        fprintf(out, "this is not an events file\n");
        static const unsigned char junk[] = {0x00, 0xff, 0x7b, 0x22, 0x76, 0x22, 0x3a, 0x0a,
                                             0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a};
        fwrite(junk, 1, sizeof(junk), out);
        fprintf(out, "[1, 2, 3]\n{\"event\": \"job_end\"}\n");
    } else {
        fprintf(stderr, "rapt-gen-events: unknown scenario '%s'; known:", name);
        for (size_t i = 0; i < RAPT__ARRAY_SIZE(scenarios); i++)
            fprintf(stderr, " %s", scenarios[i]);
        fputc('\n', stderr);
        exit(2);
    }
    free(r.a);
}

int main(int argc, char **argv)
{
    out = stdout;
    /* A large buffer: the synthetic run is tens of megabytes. */
    static char buf[1 << 20];
    setvbuf(stdout, buf, _IOFBF, sizeof(buf));
    if (argc == 3 && !strcmp(argv[1], "scenario")) {
        scenario(argv[2]);
    } else if ((argc == 3 || argc == 4) && !strcmp(argv[1], "synthetic")) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(argv[2], &end, 10);
        if (errno || *end || n == 0 || n > 10000000)
            die("synthetic: N must be 1..10000000");
        uint64_t seed = argc == 4 ? strtoull(argv[3], NULL, 10) : 1;
        synthetic(n, seed);
    } else if (argc == 2 && !strcmp(argv[1], "list")) {
        for (size_t i = 0; i < RAPT__ARRAY_SIZE(scenarios); i++)
            printf("%s\n", scenarios[i]);
    } else {
        fprintf(stderr, "usage: rapt-gen-events scenario NAME | synthetic N [SEED] | list\n");
        return 2;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("rapt-gen-events: stdout");
        return 1;
    }
    return 0;
}
