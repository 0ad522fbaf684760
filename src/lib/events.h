/* events.h: the rapt.events/1 JSON Lines writer (internal to librapt).
 *
 * docs/events.md is the contract; this writer emits exactly its records and fields, with null
 * for what is unknown. Each record is formatted in memory and written with a single write() on
 * an O_APPEND descriptor, so a crash or kill -9 leaves only whole lines and a concurrent reader
 * (tail -f, rapt report) never sees half a record.
 *
 * Not thread-safe: one writer belongs to one runner.
 */
#ifndef RAPT_EVENTS_H
#define RAPT_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/template.h"

#define RAPT__EVENTS_VERSION 1

typedef struct rapt__events rapt__events;

/* Opens path (truncated, or appended to when append is set). start_mono is the run's start
 * on the monotonic clock (ns), from which every record's "mono" is counted. path NULL makes a
 * writer without a file, for a sink alone. 0 or -errno. */
int rapt__events_open(rapt__events **out, const char *path, bool append, uint64_t start_mono);
void rapt__events_close(rapt__events *ev);

/* A sink is handed every record the writer formats: [line, line + len) is the record with its
 * '\n', exactly the bytes the file gets, borrowed for the call. It is called before the record
 * is written, and also when the file has failed, so an in-memory consumer (rapt run --report)
 * sees the whole run whatever happens to the file. A sink cannot fail the writer: it keeps its
 * own errors. */
typedef void (*rapt__events_sink)(void *ud, const char *line, size_t len);

/* Installs (or, with NULL, removes) the sink. */
void rapt__events_set_sink(rapt__events *ev, rapt__events_sink sink, void *ud);

/* The first write error (negative errno), or 0. Records after an error are dropped. */
int rapt__events_error(const rapt__events *ev);

/* A per-stage runtime target, for run_start's options.sla_stages. */
typedef struct rapt__ev_sla {
    const char *stage;
    double seconds;
} rapt__ev_sla;

/* A value that may be unknown (written as null). */
typedef struct rapt__opt_u64 {
    bool known;
    uint64_t v;
} rapt__opt_u64;

typedef struct rapt__ev_run {
    const char *run_id, *host, *cwd, *command;
    char *const *argv;
    int argc;
    pid_t pid;
    unsigned slots, cpus;
    rapt__opt_u64 mem_limit;
    const char *mem_limit_source; /* NULL: null */
    rapt__opt_u64 mem_budget;
    const char *env_class, *measure;
    rapt__opt_u64 total_jobs;
    /* options */
    double timeout_s;   /* < 0: null */
    double timeout_pct; /* < 0: null */
    unsigned retries;
    const char *halt;   /* "never", "now,fail=1", ... */
    const char *order;  /* "input" */
    const char *output; /* "group", "line", "ungroup" */
    bool keep_order;
    double sla_s;                   /* --sla DURATION: the all-jobs target; < 0: null */
    const rapt__ev_sla *sla_stages; /* --sla STAGE=DURATION; nsla_stages 0: null */
    size_t nsla_stages;
} rapt__ev_run;

/* One job attempt, for job_start and job_end. */
typedef struct rapt__ev_job {
    uint64_t seq;
    unsigned attempt, slot;
    pid_t pid; /* 0: null */
    const char *cmd;
    size_t cmd_len;
    const rapt__val *args;
    size_t nargs;
    const char *cls;
    const char *stage; /* --stage or --stage-col; NULL: null */
    size_t stage_len;
    rapt__opt_u64 input_bytes, reservation, predicted_peak;
    double predicted_runtime; /* < 0: null */
    /* job_end */
    uint64_t start_wall_ns;
    uint64_t wall_ns, user_ns, sys_ns;
    rapt__opt_u64 peak;
    const char *peak_method;
    bool has_exit;
    int exit_code;
    int signal; /* 0: null */
    const char *reason, *outcome;
    uint64_t stdout_bytes, stderr_bytes;
    bool oom_kill;
} rapt__ev_job;

typedef struct rapt__ev_sample_job {
    uint64_t seq;
    rapt__opt_u64 rss;
} rapt__ev_sample_job;

typedef struct rapt__ev_sample {
    unsigned running, slots;
    rapt__opt_u64 queued;
    uint64_t done;
    rapt__opt_u64 mem_used, mem_available, mem_budget;
    double cpu_pct; /* < 0: null */
    const char *limited_by;
    const rapt__ev_sample_job *jobs;
    size_t njobs;
} rapt__ev_sample;

typedef struct rapt__ev_end {
    uint64_t jobs, succeeded, failed, retried, requeued, oom_killed;
    double makespan_s;
    int exit_code;
    const char *reason;
    uint64_t rapt_maxrss; /* rapt's own peak RSS (bytes): an extra field for soak checks */
} rapt__ev_end;

/* Each writes one record; now_mono and now_wall are the event's times (ns). 0 or -errno. */
int rapt__events_run_start(rapt__events *ev, const rapt__ev_run *r, uint64_t now_mono,
                           uint64_t now_wall);
int rapt__events_job_start(rapt__events *ev, const rapt__ev_job *j, uint64_t now_mono,
                           uint64_t now_wall);
int rapt__events_job_end(rapt__events *ev, const rapt__ev_job *j, uint64_t now_mono,
                         uint64_t now_wall);
int rapt__events_job_retry(rapt__events *ev, uint64_t seq, unsigned next_attempt,
                           const char *reason, rapt__opt_u64 reservation, double delay_s,
                           uint64_t now_mono, uint64_t now_wall);
int rapt__events_job_kill(rapt__events *ev, uint64_t seq, unsigned attempt, int sig,
                          const char *reason, uint64_t now_mono, uint64_t now_wall);
int rapt__events_decision(rapt__events *ev, uint64_t seq, const char *action, const char *why,
                          unsigned running, unsigned free_slots, rapt__opt_u64 budget,
                          rapt__opt_u64 used, rapt__opt_u64 outstanding, rapt__opt_u64 reservation,
                          uint64_t now_mono, uint64_t now_wall);
/* A protection action ("requeue", "suspend", "resume") on job seq; psi_some < 0 for null. */
int rapt__events_protect(rapt__events *ev, uint64_t seq, unsigned attempt, const char *action,
                         rapt__opt_u64 available, rapt__opt_u64 critical, double psi_some,
                         uint64_t now_mono, uint64_t now_wall);
int rapt__events_sample(rapt__events *ev, const rapt__ev_sample *s, uint64_t now_mono,
                        uint64_t now_wall);
int rapt__events_run_end(rapt__events *ev, const rapt__ev_end *e, uint64_t now_mono,
                         uint64_t now_wall);

#endif /* RAPT_EVENTS_H */
