/* events.c: the rapt.events/1 writer (see events.h and docs/events.md).
 *
 * Owns the events file descriptor and a memory stream the records are formatted into. The
 * memory stream is reused record after record, so writing an event allocates nothing once it
 * has grown to the largest record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "lib/events.h"

struct rapt__events {
    int fd;
    FILE *mem;
    char *buf;
    size_t size;
    uint64_t start_mono;
    int err;
    rapt__jw w;
    rapt__events_sink sink;
    void *sink_ud;
};

int rapt__events_open(rapt__events **out, const char *path, bool append, uint64_t start_mono)
{
    *out = NULL;
    rapt__events *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    ev->start_mono = start_mono;
    ev->fd = -1;
    if (path)
        ev->fd =
            open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (append ? 0 : O_TRUNC), 0644);
    if (path && ev->fd < 0) {
        int e = errno;
        free(ev);
        return -e;
    }
    ev->mem = open_memstream(&ev->buf, &ev->size);
    if (!ev->mem) {
        close(ev->fd);
        free(ev);
        return -ENOMEM;
    }
    *out = ev;
    return 0;
}

void rapt__events_close(rapt__events *ev)
{
    if (!ev)
        return;
    fclose(ev->mem);
    free(ev->buf);
    if (ev->fd >= 0)
        close(ev->fd);
    free(ev);
}

void rapt__events_set_sink(rapt__events *ev, rapt__events_sink sink, void *ud)
{
    ev->sink = sink;
    ev->sink_ud = ud;
}

int rapt__events_error(const rapt__events *ev)
{
    return ev->err;
}

/* Starts a record: {"v":1,"event":NAME,"t":...,"mono":... */
/* The memory stream is rewound for each record: after fflush, ev->size is the position, so a
 * shorter record than the last one is written without the old tail. */
static rapt__jw *begin(rapt__events *ev, const char *name, uint64_t now_mono, uint64_t now_wall)
{
    rewind(ev->mem);
    rapt__jw *w = &ev->w;
    rapt__jw_init(w, ev->mem, false);
    rapt__jw_obj(w);
    rapt__jw_key(w, "v");
    rapt__jw_u64(w, RAPT__EVENTS_VERSION);
    rapt__jw_key(w, "event");
    rapt__jw_str(w, name);
    rapt__jw_key(w, "t");
    rapt__jw_fixed(w, (double)now_wall / 1e9, 6);
    rapt__jw_key(w, "mono");
    rapt__jw_fixed(w, (double)rapt__sat_sub(now_mono, ev->start_mono) / 1e9, 6);
    return w;
}

/* Ends the record and writes it with one write(). */
static int finish(rapt__events *ev)
{
    rapt__jw_end(&ev->w);
    rapt__jw_done(&ev->w);
    if (fflush(ev->mem) != 0)
        return ev->err = -ENOMEM;
    /* The sink first, and whatever became of the file: it must see every record. */
    if (ev->sink)
        ev->sink(ev->sink_ud, ev->buf, ev->size);
    if (ev->err || ev->fd < 0)
        return ev->err;
    ssize_t n;
    do
        n = write(ev->fd, ev->buf, ev->size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return ev->err = -errno;
    if ((size_t)n != ev->size)
        return ev->err = -ENOSPC;
    return 0;
}

/* docs/events.md: a field listed as present is never omitted; unknown values are null. */
static void opt(rapt__jw *w, const char *key, rapt__opt_u64 v)
{
    rapt__jw_key(w, key);
    if (v.known)
        rapt__jw_u64(w, v.v);
    else
        rapt__jw_null(w);
}

/* The two keys every per-attempt event starts with. */
static void job_keys(rapt__jw *w, uint64_t seq, unsigned attempt)
{
    rapt__jw_key(w, "seq");
    rapt__jw_u64(w, seq);
    rapt__jw_key(w, "attempt");
    rapt__jw_u64(w, attempt);
}

static void str_or_null(rapt__jw *w, const char *key, const char *s)
{
    rapt__jw_key(w, key);
    rapt__jw_str(w, s); /* NULL is written as null */
}

static void secs_or_null(rapt__jw *w, const char *key, double s)
{
    rapt__jw_key(w, key);
    if (s < 0)
        rapt__jw_null(w);
    else
        rapt__jw_fixed(w, s, 6);
}

int rapt__events_run_start(rapt__events *ev, const rapt__ev_run *r, uint64_t now_mono,
                           uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "run_start", now_mono, now_wall);
    str_or_null(w, "run_id", r->run_id);
    str_or_null(w, "rapt_version", rapt_version());
    str_or_null(w, "host", r->host);
    rapt__jw_key(w, "pid");
    rapt__jw_i64(w, r->pid);
    str_or_null(w, "cwd", r->cwd);
    str_or_null(w, "command", r->command);
    rapt__jw_key(w, "argv");
    rapt__jw_arr(w);
    for (int i = 0; i < r->argc; i++)
        rapt__jw_str(w, r->argv[i]);
    rapt__jw_end(w);
    rapt__jw_key(w, "slots");
    rapt__jw_u64(w, r->slots);
    rapt__jw_key(w, "cpus");
    rapt__jw_u64(w, r->cpus);
    opt(w, "mem_limit", r->mem_limit);
    str_or_null(w, "mem_limit_source", r->mem_limit_source);
    opt(w, "mem_budget", r->mem_budget);
    str_or_null(w, "env_class", r->env_class);
    str_or_null(w, "measure", r->measure);
    opt(w, "total_jobs", r->total_jobs);
    rapt__jw_key(w, "options");
    rapt__jw_obj(w);
    secs_or_null(w, "timeout_s", r->timeout_s);
    rapt__jw_key(w, "timeout_pct");
    if (r->timeout_pct < 0)
        rapt__jw_null(w);
    else
        rapt__jw_fixed(w, r->timeout_pct, 3);
    rapt__jw_key(w, "retries");
    rapt__jw_u64(w, r->retries);
    str_or_null(w, "halt", r->halt);
    str_or_null(w, "order", r->order);
    str_or_null(w, "output", r->output);
    rapt__jw_key(w, "keep_order");
    rapt__jw_bool(w, r->keep_order);
    secs_or_null(w, "sla_s", r->sla_s);
    rapt__jw_key(w, "sla_stages");
    if (r->nsla_stages) {
        rapt__jw_obj(w);
        for (size_t i = 0; i < r->nsla_stages; i++) {
            rapt__jw_key(w, r->sla_stages[i].stage);
            rapt__jw_fixed(w, r->sla_stages[i].seconds, 6);
        }
        rapt__jw_end(w);
    } else {
        rapt__jw_null(w);
    }
    rapt__jw_end(w);
    return finish(ev);
}

static void job_common(rapt__jw *w, const rapt__ev_job *j)
{
    job_keys(w, j->seq, j->attempt);
    rapt__jw_key(w, "slot");
    rapt__jw_u64(w, j->slot);
    rapt__jw_key(w, "pid");
    if (j->pid > 0)
        rapt__jw_i64(w, j->pid);
    else
        rapt__jw_null(w);
    rapt__jw_key(w, "cmd");
    rapt__jw_strn(w, j->cmd ? j->cmd : "", j->cmd ? j->cmd_len : 0);
}

/* The job's stage, the same in job_start and job_end so a report reads either. */
static void stage(rapt__jw *w, const rapt__ev_job *j)
{
    rapt__jw_key(w, "stage");
    if (j->stage)
        rapt__jw_strn(w, j->stage, j->stage_len);
    else
        rapt__jw_null(w);
}

int rapt__events_job_start(rapt__events *ev, const rapt__ev_job *j, uint64_t now_mono,
                           uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "job_start", now_mono, now_wall);
    job_common(w, j);
    rapt__jw_key(w, "args");
    rapt__jw_arr(w);
    for (size_t i = 0; i < j->nargs; i++)
        rapt__jw_strn(w, j->args[i].p, j->args[i].len);
    rapt__jw_end(w);
    str_or_null(w, "class", j->cls);
    stage(w, j);
    opt(w, "input_bytes", j->input_bytes);
    opt(w, "reservation", j->reservation);
    opt(w, "predicted_peak", j->predicted_peak);
    secs_or_null(w, "predicted_runtime", j->predicted_runtime);
    return finish(ev);
}

int rapt__events_job_end(rapt__events *ev, const rapt__ev_job *j, uint64_t now_mono,
                         uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "job_end", now_mono, now_wall);
    job_common(w, j);
    str_or_null(w, "class", j->cls);
    stage(w, j);
    rapt__jw_key(w, "start");
    if (j->start_wall_ns)
        rapt__jw_fixed(w, (double)j->start_wall_ns / 1e9, 6);
    else
        rapt__jw_null(w);
    secs_or_null(w, "wall_s", (double)j->wall_ns / 1e9);
    secs_or_null(w, "user_s", (double)j->user_ns / 1e9);
    secs_or_null(w, "sys_s", (double)j->sys_ns / 1e9);
    opt(w, "peak_bytes", j->peak);
    str_or_null(w, "peak_method", j->peak_method);
    rapt__jw_key(w, "exit");
    if (j->has_exit)
        rapt__jw_i64(w, j->exit_code);
    else
        rapt__jw_null(w);
    rapt__jw_key(w, "signal");
    if (j->signal)
        rapt__jw_i64(w, j->signal);
    else
        rapt__jw_null(w);
    str_or_null(w, "reason", j->reason);
    str_or_null(w, "outcome", j->outcome);
    opt(w, "input_bytes", j->input_bytes);
    opt(w, "reservation", j->reservation);
    rapt__jw_key(w, "stdout_bytes");
    rapt__jw_u64(w, j->stdout_bytes);
    rapt__jw_key(w, "stderr_bytes");
    rapt__jw_u64(w, j->stderr_bytes);
    rapt__jw_key(w, "oom_kill");
    rapt__jw_bool(w, j->oom_kill);
    return finish(ev);
}

int rapt__events_job_retry(rapt__events *ev, uint64_t seq, unsigned next_attempt,
                           const char *reason, rapt__opt_u64 reservation, double delay_s,
                           uint64_t now_mono, uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "job_retry", now_mono, now_wall);
    job_keys(w, seq, next_attempt);
    str_or_null(w, "reason", reason);
    opt(w, "reservation", reservation);
    secs_or_null(w, "delay_s", delay_s);
    return finish(ev);
}

int rapt__events_job_kill(rapt__events *ev, uint64_t seq, unsigned attempt, int sig,
                          const char *reason, uint64_t now_mono, uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "job_kill", now_mono, now_wall);
    job_keys(w, seq, attempt);
    rapt__jw_key(w, "signal");
    rapt__jw_i64(w, sig);
    str_or_null(w, "reason", reason);
    return finish(ev);
}

int rapt__events_decision(rapt__events *ev, uint64_t seq, const char *action, const char *why,
                          unsigned running, unsigned free_slots, rapt__opt_u64 budget,
                          rapt__opt_u64 used, rapt__opt_u64 outstanding, rapt__opt_u64 reservation,
                          uint64_t now_mono, uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "decision", now_mono, now_wall);
    rapt__jw_key(w, "seq");
    if (seq)
        rapt__jw_u64(w, seq);
    else
        rapt__jw_null(w);
    str_or_null(w, "action", action);
    str_or_null(w, "why", why);
    rapt__jw_key(w, "running");
    rapt__jw_u64(w, running);
    rapt__jw_key(w, "free_slots");
    rapt__jw_u64(w, free_slots);
    opt(w, "budget", budget);
    opt(w, "used", used);
    opt(w, "outstanding", outstanding);
    opt(w, "reservation", reservation);
    return finish(ev);
}

int rapt__events_protect(rapt__events *ev, uint64_t seq, unsigned attempt, const char *action,
                         rapt__opt_u64 available, rapt__opt_u64 critical, double psi_some,
                         uint64_t now_mono, uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "protect", now_mono, now_wall);
    job_keys(w, seq, attempt);
    str_or_null(w, "action", action);
    opt(w, "available", available);
    opt(w, "critical", critical);
    rapt__jw_key(w, "psi_some_avg10");
    if (psi_some >= 0)
        rapt__jw_fixed(w, psi_some, 2);
    else
        rapt__jw_null(w);
    return finish(ev);
}

/* jobs may be left out above 64 running jobs (docs/events.md): the caller passes njobs 65
 * to say so. */
int rapt__events_sample(rapt__events *ev, const rapt__ev_sample *s, uint64_t now_mono,
                        uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "sample", now_mono, now_wall);
    rapt__jw_key(w, "running");
    rapt__jw_u64(w, s->running);
    opt(w, "queued", s->queued);
    rapt__jw_key(w, "done");
    rapt__jw_u64(w, s->done);
    rapt__jw_key(w, "slots");
    rapt__jw_u64(w, s->slots);
    opt(w, "mem_used", s->mem_used);
    opt(w, "mem_available", s->mem_available);
    opt(w, "mem_budget", s->mem_budget);
    rapt__jw_key(w, "cpu_pct");
    if (s->cpu_pct < 0)
        rapt__jw_null(w);
    else
        rapt__jw_fixed(w, s->cpu_pct, 1);
    str_or_null(w, "limited_by", s->limited_by);
    if (s->njobs <= 64) {
        rapt__jw_key(w, "jobs");
        rapt__jw_arr(w);
        for (size_t i = 0; i < s->njobs; i++) {
            rapt__jw_obj(w);
            rapt__jw_key(w, "seq");
            rapt__jw_u64(w, s->jobs[i].seq);
            opt(w, "rss", s->jobs[i].rss);
            rapt__jw_end(w);
        }
        rapt__jw_end(w);
    }
    return finish(ev);
}

int rapt__events_run_end(rapt__events *ev, const rapt__ev_end *e, uint64_t now_mono,
                         uint64_t now_wall)
{
    rapt__jw *w = begin(ev, "run_end", now_mono, now_wall);
    rapt__jw_key(w, "jobs");
    rapt__jw_u64(w, e->jobs);
    rapt__jw_key(w, "succeeded");
    rapt__jw_u64(w, e->succeeded);
    rapt__jw_key(w, "failed");
    rapt__jw_u64(w, e->failed);
    rapt__jw_key(w, "retried");
    rapt__jw_u64(w, e->retried);
    rapt__jw_key(w, "requeued");
    rapt__jw_u64(w, e->requeued);
    rapt__jw_key(w, "oom_killed");
    rapt__jw_u64(w, e->oom_killed);
    secs_or_null(w, "makespan_s", e->makespan_s);
    rapt__jw_key(w, "exit_code");
    rapt__jw_i64(w, e->exit_code);
    str_or_null(w, "reason", e->reason);
    rapt__jw_key(w, "rapt_maxrss");
    rapt__jw_u64(w, e->rapt_maxrss);
    return finish(ev);
}
