/* runner.c: `rapt run`'s engine (see runner.h).
 *
 * Owns the job structs, the job slots, the event loop and every file the run writes. The
 * flow of one job:
 *
 *   input record -> job struct (args copied, seq assigned, resume filter)
 *     -> admit() says start -> ADMIT: spawn into a new process group and the slot cgroup
 *     -> WATCH: pidfd + pipes in epoll, timeout armed
 *     -> EXIT (pidfd readable, reaped with rusage) and EOF (pipes closed), in any order
 *     -> FINISH: peak from the slot cgroup, exit/signal/reason, verdict
 *     -> SUCCEED / FAIL (joblog, events, output, halt check) or RETRY (back to the queue)
 *
 * Everything the loop waits for is an fd; the only sleep is epoll_wait, and the single timer
 * is armed to the earliest of: a job's timeout, the next step of a term sequence, the --delay
 * between starts, and the periodic tick (sampling, progress, sample events).
 *
 * The hot path (one job, no joblog or events) makes no allocation once the job structs and
 * their buffers have grown, and touches only the slot's cgroup files: one write to reset the
 * peak, one read for the baseline, one read for the peak.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lib/events.h"
#include "lib/job.h"
#include "lib/joblog.h"
#include "lib/runner.h"
#include "rapt/gate.h"
#include "rapt/jobclass.h"
#include "rapt/model.h"
#include "rapt/monitor.h"
#include "rapt/tune.h"
#include "lib/template.h"
#include "os/os.h"

extern char **environ;

#define TICK_SAMPLE_NS   (100ull * 1000 * 1000)  /* memory sampling: 10 Hz */
#define TICK_PROGRESS_NS (200ull * 1000 * 1000)  /* progress redraw: 5 Hz */
#define TICK_EVENTS_NS   (1000ull * 1000 * 1000) /* sample records: 1 Hz (docs/events.md) */
#define LOOKAHEAD_MAX    4096                    /* --resume: records read to check the log */
#define ORDER_WINDOW     4096 /* --order other than input: jobs read ahead and ordered */
#define HISTORY_FLUSH_NS (1000ull * 1000 * 1000) /* pending history attempts: written 1/s */
#define MODEL_CLASSES    1024 /* classes loaded from the history at most, per run */

enum ev_kind { K_PIDFD = 1, K_OUT = 2, K_ERR = 3, K_INPUT = 4, K_PSI = 5 };

/* Why admission waits. The strings are the events' "why". */
enum why {
    WHY_OK = 0,
    WHY_SLOTS,
    WHY_INPUT,
    WHY_DELAY,
    WHY_ORDER,
    WHY_STOPPING,
    WHY_MEMORY,   /* the reservation does not fit the budget beside the running jobs' holds */
    WHY_PRESSURE, /* memory is short or under pressure, or a job is being stopped for it */
    WHY_DONE,
    WHY_COUNT
};
static const char *const why_name[WHY_COUNT] = {"ok",       "slots",  "input",    "delay", "order",
                                                "stopping", "memory", "pressure", "done"};

/* ---- jobs -------------------------------------------------------------------------------- */

typedef struct rjob {
    struct rjob *next; /* free list or ready queue */
    uint64_t seq;
    unsigned attempt;  /* attempts started so far */
    unsigned requeues; /* attempts ended to protect memory: they do not use up a retry */
    unsigned slot;     /* 1-based while running */
    rapt__job_state st;
    /* Arguments: values concatenated in argdata, rapt__val records in argvals. */
    rapt__buf argdata, argvals;
    size_t nargs;
    bool raw; /* --retry-failed: argdata holds the command line itself */
    /* The current attempt. */
    uint32_t gen;
    pid_t pid;
    int pidfd;
    int pipe[2]; /* read ends of stdout and stderr, -1 when closed */
    uint64_t t_start, t_start_wall;
    size_t term_step;
    uint64_t term_at;
    const char *kill_reason; /* "timeout", "halt", "interrupt", or NULL */
    int kill_sig;            /* the last signal rapt sent the group */
    rapt__exit ex;
    bool from_shell; /* exit 128+n from the wrapper shell itself: signal n */
    int spawn_err;   /* no process could be made (-errno) */
    int exec_err;    /* the program could not be exec'd (errno) */
    bool in_cgroup;
    bool sampled;
    uint64_t peak_sampled, mem_current;
    uint64_t reservation; /* bytes reserved for the next or current attempt; 0 = not yet */
    /* Memory-aware admission (docs/admission.md). */
    rapt__adm_job adm;  /* what the policy sees of the current attempt */
    uint64_t hold;      /* bytes this attempt holds in the gate */
    unsigned oom_kills; /* attempts the kernel OOM killer ended */
    bool shared;        /* another job ran beside this attempt */
    bool refused;       /* it can never fit: fail it without running */
    bool mem_failed;    /* the memory policy gave up on it: no retry */
    bool res_fixed;     /* the reservation was set by a requeue verdict: keep it */
    /* Class features and the model's prediction (docs/model.md), worked out once per job. */
    bool feat_ok, pred_ok;
    rapt_features feat;
    rapt_prediction pred;
    rapt__jobout out;
    rapt__buf line; /* the quoted command line (built when needed) */
    bool line_ok;
    rapt__buf argv_strings, argv_ptrs;
} rjob;

/* GNU parallel's remedian (Rousseeuw & Bassett 1990): the median of medians of 999 values,
 * three levels deep, in bounded memory. Used for --timeout N%. Sorted numerically (GNU
 * parallel sorts these as strings, a bug rapt does not copy). */
typedef struct remedian {
    double lv[3][999];
    size_t n[3];
    uint64_t count;
    double value;
} remedian;

typedef struct runner {
    const rapt__run_opts *o;
    rapt__run_result *res;
    rapt__tmpl *tmpl, *tagt;
    rapt__input *in;
    rapt__out *out;
    rapt__joblog *jl;
    rapt__buf jlrec; /* the record being written */
    rapt__events *ev;
    rapt__jobcg *cg;
    const char *measure; /* "cgroup-v1", "cgroup-v2", "proc" */
    rapt__spawner sp;
    rapt__loop loop;
    bool loop_open;
    rapt__root root;
    /* slots */
    rjob **slots;
    unsigned nslots, running, cap;
    uint64_t *slot_ooms; /* per slot: OOM kills seen so far */
    /* jobs */
    rjob *free_list, *ready_head, *ready_tail;
    size_t njobs_alloc;
    uint64_t next_seq;
    bool input_done, input_watched;
    /* resume */
    rapt__joblog_state jls;
    bool have_jls;
    rapt__joblog_iter *retry_it;
    bool probe_pending;
    /* counters */
    uint64_t started, done, succeeded, failed, retried, requeued, skipped, oom_killed, attempts;
    /* stopping */
    int stop;                /* 0 run, 1 drain (start nothing more), 2 end the running jobs */
    const char *stop_reason; /* "halt", "interrupt", "error" */
    int nint;                /* SIGINT/SIGTERM received */
    bool halt_hit;
    int halt_exit;
    /* time */
    uint64_t t0, t0_wall, last_start, next_tick, tick_ns, last_sample, last_draw;
    bool waiting_delay;
    uint64_t delay_until;
    /* exec */
    char shell_comm[16];
    char *prog; /* the resolved program of a literal first word; NULL when unresolved */
    bool prog_missing;
    char **envp;
    char env_seq[40], env_slot[40], env_pid[40];
    sigset_t reset, mask, handled;
    int devnull;
    /* timeouts */
    remedian med;
    /* output/progress */
    bool progress;
    uint64_t total;
    bool total_known;
    /* the machine, refreshed for sample records (available memory) */
    rapt_sys_info si_live;
    bool have_si;
    /* decision events: last emission per reason */
    uint64_t last_decision[WHY_COUNT];
    /* process groups left behind by finished jobs */
    pid_t *linger;
    size_t nlinger, caplinger;
    bool warned_spawn, warned_cg;
    int fatal;
    /* memory-aware admission */
    bool mem;              /* on */
    rapt_gate *gate;       /* the ledger: capacity = budget, held = sum of holds */
    rapt_monitor *mon;     /* refreshes the limit, available memory and pressure each tick */
    rapt__adm_learn learn; /* the cold-start rule's peaks */
    rapt__prot_state prot; /* protection's state */
    uint64_t victim_seq;   /* the job being stopped for memory, 0 for none */
    unsigned nsuspended;
    uint64_t limit, avail, budget, jobs_current, outstanding;
    bool avail_known;
    double psi;              /* memory PSI some avg10, NaN when unknown */
    int psi_fd;              /* a memory PSI trigger (refreshes at once when it fires), or -1 */
    uint64_t psi_wakeups;    /* how often it fired */
    double cpu_pct;          /* the jobs' CPU, % of the effective CPUs, for the samples */
    uint64_t ooms_container; /* OOM kills counted in rapt's own cgroup so far */

    /* the samples' cpu_pct: the jobs' CPU time at the last sample, and when */
    uint64_t cpu_prev_ns, cpu_prev_t;
    /* -j auto */
    unsigned target; /* jobs to run at once now */
    double share;    /* CPU share of finished jobs (EWMA of (user + sys) / wall) */
    bool share_known;
    /* --explain and the sample records: the last wait */
    enum why last_why;
    uint64_t last_why_seq;
    /* history, model, order, tuning (docs/history.md, model.md, sched.md, tune.md) */
    char run_id[40];
    const char *cls;         /* the class of every job; NULL: each job's command line */
    rapt_history *hist;      /* written to; NULL: none, or given up on after an error */
    rapt_history *hist_read; /* what classes are seeded from; NULL: none */
    int64_t run_key;
    uint64_t next_flush;
    rapt_model *model;
    char **loaded; /* classes seeded from the history so far */
    size_t nloaded;
    rapt__buf fstr, fptr; /* scratch: a job's values as C strings, for its features */
    char basis[96];       /* the reservation's basis, for --explain */
    rapt_sched *q;        /* --order other than input; NULL: input order */
    bool from_q;          /* admit()'s job is the head of q, not of the ready queue */
    uint64_t q_free;      /* the free memory admit() peeked with, for the pop */
    bool warned_col;
    rapt_tune *tune; /* -j auto on I/O-bound jobs: the hill-climbing controller */
} runner;

static void logf_(runner *r, rapt_log_level lv, const char *fmt, ...) RAPT__PRINTF(3, 4);
static void logf_(runner *r, rapt_log_level lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rapt__vlogf(r->o->log, r->o->log_ud, lv, fmt, ap);
    va_end(ap);
}

/* An error that ends the run: the first one is what rapt reports; no more jobs start, and the
 * running ones finish (a stop already under way keeps its own reason). */
static void stop_on_error(runner *r, int rc)
{
    if (!r->fatal)
        r->fatal = rc;
    if (!r->stop) {
        r->stop = 1;
        r->stop_reason = "error";
    }
}

/* ---- option parsers ---------------------------------------------------------------------- */

static void explain(runner *r, const char *fmt, ...) RAPT__PRINTF(2, 3);
static void explain(runner *r, const char *fmt, ...)
{
    if (!r->o->mem.explain)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    logf_(r, RAPT_LOG_INFO, "explain: %s", msg);
}

/* Sizes for messages: four buffers, so one message can show several. */
static const char *sz(uint64_t v)
{
    static char buf[4][32];
    static unsigned at;
    char *b = buf[at++ % 4];
    return rapt_size_format(v, b, 32);
}

static int signal_number(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"ABRT", SIGABRT},
    };
    if (n > 3 && strncmp(s, "SIG", 3) == 0) {
        s += 3;
        n -= 3;
    }
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(names); i++) {
        if (strlen(names[i].name) == n && strncmp(s, names[i].name, n) == 0)
            return names[i].sig;
    }
    uint64_t v;
    if (rapt__parse_u64(s, n, &v) == 0 && v >= 1 && v < (uint64_t)NSIG)
        return (int)v;
    return -1;
}

int rapt__term_seq_parse(const char *s, rapt__term_step *steps, size_t max, size_t *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        const char *c = strchr(p, ',');
        if (!c)
            return -EINVAL; /* a signal must be followed by its wait */
        int sig = signal_number(p, (size_t)(c - p));
        if (sig < 0)
            return -EINVAL;
        const char *q = c + 1;
        const char *c2 = strchr(q, ',');
        size_t len = c2 ? (size_t)(c2 - q) : strlen(q);
        uint64_t ms;
        if (rapt__parse_u64(q, len, &ms) < 0 || ms > 86400000ull)
            return -EINVAL;
        if (*n == max)
            return -EINVAL;
        steps[*n] = (rapt__term_step){sig, ms * 1000000ull};
        (*n)++;
        p = c2 ? c2 + 1 : q + len;
        if (c2 && !*p)
            return -EINVAL; /* trailing comma */
    }
    return *n ? 0 : -EINVAL;
}

int rapt__halt_parse(const char *s, rapt__halt *h)
{
    memset(h, 0, sizeof(*h));
    rapt__strlcpy(h->text, s, sizeof(h->text));
    /* The legacy numeric forms (GNU parallel's backwards compatibility). */
    static const struct {
        const char *form;
        rapt__halt_when when;
        rapt__halt_why why;
    } legacy[] = {
        {"0", RAPT__HALT_NEVER, RAPT__HALT_FAIL},    {"never", RAPT__HALT_NEVER, RAPT__HALT_FAIL},
        {"1", RAPT__HALT_SOON, RAPT__HALT_FAIL},     {"2", RAPT__HALT_NOW, RAPT__HALT_FAIL},
        {"-1", RAPT__HALT_SOON, RAPT__HALT_SUCCESS}, {"-2", RAPT__HALT_NOW, RAPT__HALT_SUCCESS},
    };
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(legacy); i++) {
        if (strcmp(s, legacy[i].form) == 0) {
            h->when = legacy[i].when;
            h->why = legacy[i].why;
            h->value = 1;
            return 0;
        }
    }
    size_t len = strlen(s);
    if (len >= 2 && s[len - 1] == '%' && strchr(s, ',') == NULL) {
        /* "N%" alone: soon, fail=N% */
        char num[32];
        if (len - 1 >= sizeof(num))
            return -EINVAL;
        memcpy(num, s, len - 1);
        num[len - 1] = '\0';
        double v;
        if (rapt__parse_double(num, &v) < 0 || v <= 0 || v >= 100)
            return -EINVAL;
        h->when = RAPT__HALT_SOON;
        h->why = RAPT__HALT_FAIL;
        h->pct = true;
        h->value = v;
        return 0;
    }
    const char *comma = strchr(s, ',');
    if (!comma)
        return -EINVAL;
    size_t wl = (size_t)(comma - s);
    if (wl == 3 && strncmp(s, "now", 3) == 0)
        h->when = RAPT__HALT_NOW;
    else if (wl == 4 && strncmp(s, "soon", 4) == 0)
        h->when = RAPT__HALT_SOON;
    else
        return -EINVAL;
    const char *why = comma + 1;
    const char *eq = strchr(why, '=');
    if (!eq)
        return -EINVAL;
    size_t yl = (size_t)(eq - why);
    if (yl == 4 && strncmp(why, "fail", 4) == 0)
        h->why = RAPT__HALT_FAIL;
    else if (yl == 7 && strncmp(why, "success", 7) == 0)
        h->why = RAPT__HALT_SUCCESS;
    else if (yl == 4 && strncmp(why, "done", 4) == 0)
        h->why = RAPT__HALT_DONE;
    else
        return -EINVAL;
    const char *val = eq + 1;
    size_t vl = strlen(val);
    char num[32];
    if (vl == 0 || vl >= sizeof(num))
        return -EINVAL;
    memcpy(num, val, vl + 1);
    if (num[vl - 1] == '%') {
        h->pct = true;
        num[vl - 1] = '\0';
        double v;
        if (rapt__parse_double(num, &v) < 0 || v <= 0 || v > 100)
            return -EINVAL;
        h->value = v;
    } else {
        uint64_t v;
        if (rapt__parse_u64(num, SIZE_MAX, &v) < 0 || v == 0 || v > UINT32_MAX)
            return -EINVAL;
        h->value = (double)v;
    }
    return 0;
}

/* ---- remedian ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(const double *v, size_t n)
{
    double tmp[999];
    memcpy(tmp, v, n * sizeof(*v));
    qsort(tmp, n, sizeof(*tmp), cmp_double);
    return tmp[(n - 1) / 2];
}

static void remedian_add(remedian *m, double val)
{
    /* Exactly GNU parallel's indexing: level k holds the medians of level k-1's windows. */
    uint64_t i = m->count++;
    m->lv[0][i % 999] = val;
    m->n[0] = m->n[0] < 999 ? m->n[0] + 1 : 999;
    size_t i1 = (size_t)(i / 999 % 999), i2 = (size_t)(i / 999 / 999 % 999);
    m->lv[1][i1] = median_of(m->lv[0], m->n[0]);
    if (i1 + 1 > m->n[1])
        m->n[1] = i1 + 1;
    m->lv[2][i2] = median_of(m->lv[1], m->n[1]);
    if (i2 + 1 > m->n[2])
        m->n[2] = i2 + 1;
    m->value = median_of(m->lv[2], m->n[2]);
}

/* ---- job structs ------------------------------------------------------------------------- */

/* Job structs are pooled: a finished job's struct, with its buffers, serves the next job, so
 * a long run allocates only while the number of jobs in flight grows. gen survives reuse: an
 * event still queued for an earlier job of this struct can never match the new one. */
static rjob *job_new(runner *r)
{
    rjob *j = r->free_list;
    if (j) {
        r->free_list = j->next;
    } else {
        j = calloc(1, sizeof(*j));
        if (!j)
            return NULL;
        rapt__jobout_init(&j->out);
        r->njobs_alloc++;
    }
    j->next = NULL;
    j->seq = 0;
    j->attempt = 0;
    j->requeues = 0;
    j->slot = 0;
    j->st = RAPT__JS_QUEUED;
    j->nargs = 0;
    j->raw = false;
    j->pid = 0;
    j->pidfd = j->pipe[0] = j->pipe[1] = -1;
    j->reservation = 0;
    memset(&j->adm, 0, sizeof(j->adm));
    j->hold = 0;
    j->oom_kills = 0;
    j->shared = j->refused = j->mem_failed = j->res_fixed = false;
    j->feat_ok = j->pred_ok = false;
    j->line_ok = false;
    rapt__buf_clear(&j->argdata);
    rapt__buf_clear(&j->argvals);
    rapt__buf_clear(&j->out.tag);
    rapt__buf_clear(&j->out.verbose);
    j->out.positioned = false;
    j->out.live = false;
    return j;
}

static void job_release(runner *r, rjob *j)
{
    /* Keep the buffers' capacity for the next job, unless one huge job grew them. */
    rapt__buf_shrink(&j->argdata, 1 << 16);
    rapt__buf_shrink(&j->argvals, 1 << 12);
    rapt__buf_shrink(&j->line, 1 << 16);
    rapt__buf_shrink(&j->argv_strings, 1 << 16);
    rapt__buf_shrink(&j->argv_ptrs, 1 << 12);
    j->next = r->free_list;
    r->free_list = j;
}

static void job_destroy(rjob *j)
{
    rapt__buf_free(&j->argdata);
    rapt__buf_free(&j->argvals);
    rapt__buf_free(&j->line);
    rapt__buf_free(&j->argv_strings);
    rapt__buf_free(&j->argv_ptrs);
    rapt__jobout_free(&j->out);
    free(j);
}

/* Copies a record's values into the job. */
static int job_set_args(rjob *j, const rapt__val *v, size_t n)
{
    rapt__buf_clear(&j->argdata);
    rapt__buf_clear(&j->argvals);
    for (size_t i = 0; i < n; i++) {
        if (rapt__buf_add(&j->argdata, v[i].p, v[i].len) < 0)
            return -ENOMEM;
    }
    /* The values move with argdata; point into it only once it stopped growing. */
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        rapt__val x = {j->argdata.p ? j->argdata.p + off : "", v[i].len};
        if (rapt__buf_add(&j->argvals, &x, sizeof(x)) < 0)
            return -ENOMEM;
        off += v[i].len;
    }
    j->nargs = n;
    return 0;
}

static const rapt__val *job_args(const rjob *j)
{
    return (const rapt__val *)(const void *)j->argvals.p;
}

/* The ready queue holds jobs that start before any fresh input is read: retries and requeues
 * at the front (they run next, so output order stays close to input order), the records
 * --resume read ahead at the back. */
static void ready_push_front(runner *r, rjob *j)
{
    j->next = r->ready_head;
    r->ready_head = j;
    if (!r->ready_tail)
        r->ready_tail = j;
}

static void ready_push_back(runner *r, rjob *j)
{
    j->next = NULL;
    if (r->ready_tail)
        r->ready_tail->next = j;
    else
        r->ready_head = j;
    r->ready_tail = j;
}

static rjob *ready_pop(runner *r)
{
    rjob *j = r->ready_head;
    if (j) {
        r->ready_head = j->next;
        if (!r->ready_head)
            r->ready_tail = NULL;
        j->next = NULL;
    }
    return j;
}

/* The quoted command line of a job (joblog, events, --verbose, --dry-run, and sh -c). */
static const char *job_line(runner *r, rjob *j)
{
    if (j->line_ok)
        return j->line.p ? j->line.p : "";
    rapt__buf_clear(&j->line);
    if (j->raw) {
        rapt__buf_add(&j->line, j->argdata.p, j->argdata.len);
    } else {
        rapt__jobctx c = {
            .seq = j->seq, .slot = j->slot ? j->slot : 1, .args = job_args(j), .nargs = j->nargs};
        rapt__tmpl_line(r->tmpl, &c, &j->line);
    }
    j->line_ok = true;
    return j->line.p ? j->line.p : "";
}

/* ---- exec: program lookup and environment ------------------------------------------------ */

/* Searches PATH like execvp does, but in the parent and once: returns a malloc'd path or
 * NULL. A name with a '/' is used as it is. */
static char *find_program(const char *name)
{
    if (strchr(name, '/'))
        return strdup(name);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/bin:/usr/bin";
    size_t nlen = strlen(name);
    for (const char *p = path;;) {
        const char *c = strchr(p, ':');
        size_t dl = c ? (size_t)(c - p) : strlen(p);
        /* An empty PATH entry is the current directory. */
        const char *dir = dl ? p : ".";
        if (!dl)
            dl = 1;
        char *full = malloc(dl + nlen + 2);
        if (!full)
            return NULL;
        memcpy(full, dir, dl);
        full[dl] = '/';
        memcpy(full + dl + 1, name, nlen + 1);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            return full;
        free(full);
        if (!c)
            return NULL;
        p = c + 1;
    }
}

/* rapt's environment plus PARALLEL_SEQ, PARALLEL_JOBSLOT and PARALLEL_PID (GNU parallel's
 * names, so scripts written for it keep working). The three strings are rewritten per job. */
static int build_env(runner *r)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    r->envp = calloc(n + 4, sizeof(char *));
    if (!r->envp)
        return -ENOMEM;
    size_t k = 0;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "PARALLEL_SEQ=", 13) == 0 || strncmp(*e, "PARALLEL_JOBSLOT=", 17) == 0 ||
            strncmp(*e, "PARALLEL_PID=", 13) == 0)
            continue;
        r->envp[k++] = *e;
    }
    snprintf(r->env_pid, sizeof(r->env_pid), "PARALLEL_PID=%d", (int)getpid());
    r->envp[k++] = r->env_seq;
    r->envp[k++] = r->env_slot;
    r->envp[k++] = r->env_pid;
    r->envp[k] = NULL;
    return 0;
}

/* ---- events helpers ---------------------------------------------------------------------- */

static rapt__opt_u64 known(uint64_t v)
{
    return (rapt__opt_u64){true, v};
}

static const rapt__opt_u64 unknown = {false, 0};

/* Total size of the arguments that name regular files (events' input_bytes). */
static rapt__opt_u64 input_bytes(const rjob *j)
{
    rapt__opt_u64 v = unknown;
    const rapt__val *a = job_args(j);
    char path[4096];
    for (size_t i = 0; i < j->nargs; i++) {
        if (a[i].len == 0 || a[i].len >= sizeof(path))
            continue;
        memcpy(path, a[i].p, a[i].len);
        path[a[i].len] = '\0';
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            v.known = true;
            v.v += (uint64_t)st.st_size;
        }
    }
    return v;
}

/* The job's stage: --stage for every job, or its input column --stage-col (none when the
 * record has fewer columns, or that column is empty). */
static void job_stage(const runner *r, const rjob *j, const char **stage, size_t *len)
{
    const rapt__run_report *rp = &r->o->report;
    *stage = NULL;
    *len = 0;
    if (rp->stage) {
        *stage = rp->stage;
        *len = strlen(rp->stage);
    } else if (rp->stage_col && !j->raw && rp->stage_col <= j->nargs &&
               job_args(j)[rp->stage_col - 1].len) {
        *stage = job_args(j)[rp->stage_col - 1].p;
        *len = job_args(j)[rp->stage_col - 1].len;
    }
}

static void fill_ev_job(runner *r, rjob *j, rapt__ev_job *e)
{
    memset(e, 0, sizeof(*e));
    e->seq = j->seq;
    e->attempt = j->attempt;
    e->slot = j->slot;
    e->pid = j->pid;
    e->cmd = job_line(r, j);
    e->cmd_len = j->line.len;
    e->args = job_args(j);
    e->nargs = j->raw ? 0 : j->nargs;
    e->cls = r->cls;
    e->input_bytes = j->raw ? unknown : input_bytes(j);
    e->reservation = j->reservation ? known(j->reservation) : unknown;
    e->predicted_peak = unknown;
    e->predicted_runtime = -1;
    if (j->pred_ok && j->pred.peak.basis != RAPT_BASIS_NONE)
        e->predicted_peak =
            known(j->pred.peak.value >= 1.8e19 ? UINT64_MAX : (uint64_t)ceil(j->pred.peak.value));
    if (j->pred_ok && j->pred.runtime.basis != RAPT_BASIS_NONE)
        e->predicted_runtime = j->pred.runtime.value;
    job_stage(r, j, &e->stage, &e->stage_len);
}

static void check_events(runner *r)
{
    if (r->ev && rapt__events_error(r->ev) && !r->fatal) {
        logf_(r, RAPT_LOG_ERROR, "writing events to '%s': %s; starting no more jobs",
              r->o->events ? r->o->events : "(memory)", rapt_strerror(rapt__events_error(r->ev)));
        stop_on_error(r, rapt__events_error(r->ev));
    }
}

/* Records a wait decision, at most once a second per reason (docs/events.md). */
static void note_decision(runner *r, enum why w, rjob *head, uint64_t now)
{
    uint64_t hs = head ? head->seq : 0;
    if (w != WHY_DONE && (w != r->last_why || hs != r->last_why_seq)) {
        r->last_why = w;
        r->last_why_seq = hs;
        if (r->mem && head && w == WHY_MEMORY) {
            rapt_gate_stats gs;
            rapt_gate_stats_get(r->gate, &gs);
            explain(r,
                    "job %llu waits: memory (it reserves %s; %u running hold %s of the %s "
                    "budget)",
                    (unsigned long long)hs, sz(head->reservation), r->running, sz(gs.held_bytes),
                    sz(gs.cap_bytes));
        } else if (r->mem && head && w == WHY_PRESSURE) {
            explain(r, "job %llu waits: memory pressure (%s available of %s, protection %s)",
                    (unsigned long long)hs, sz(r->avail), sz(r->limit),
                    rapt__prot_state_name(r->prot));
        } else if (head && w != WHY_INPUT && w != WHY_STOPPING) {
            explain(r, "job %llu waits: %s (%u of %u slots busy)", (unsigned long long)hs,
                    why_name[w], r->running, r->target ? r->target : r->nslots);
        }
    }
    if (!r->ev || w == WHY_DONE)
        return;
    if (r->last_decision[w] && now - r->last_decision[w] < 1000000000ull)
        return;
    r->last_decision[w] = now;
    rapt__events_decision(
        r->ev, head ? head->seq : 0, w == WHY_OK ? "admit" : "wait", why_name[w], r->running,
        r->nslots > r->running ? r->nslots - r->running : 0, r->mem ? known(r->budget) : unknown,
        r->mem ? known(r->jobs_current) : unknown, r->mem ? known(r->outstanding) : unknown,
        head && head->reservation ? known(head->reservation) : unknown, now, rapt__wall_ns());
    check_events(r);
}

/* ---- class, features, predictions (docs/model.md) ----------------------------------------- */

/* A job's class: --class, else the command template; with no template the values are the
 * commands, and each command is its own class. */
static const char *job_class(runner *r, rjob *j)
{
    return r->cls ? r->cls : job_line(r, j);
}

/* The job's features (input bytes, argument digest), computed once: the files are stat'ed
 * when the job is first considered, and the same figures go to the model and the history. */
static const rapt_features *job_features(runner *r, rjob *j)
{
    if (j->feat_ok)
        return &j->feat;
    /* The values are not NUL-terminated in argdata: copy them, then point at the copies once
     * the buffer stopped growing. A value holding a NUL byte is hashed up to it. */
    const rapt__val *a = job_args(j);
    size_t n = j->raw ? 1 : j->nargs;
    rapt__buf_clear(&r->fstr);
    rapt__buf_clear(&r->fptr);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *p = j->raw ? j->argdata.p : a[i].p;
        size_t len = j->raw ? j->argdata.len : a[i].len;
        rc = rapt__buf_add(&r->fstr, p ? p : "", len);
        if (rc == 0)
            rc = rapt__buf_addc(&r->fstr, '\0');
    }
    const char **ptrs = NULL;
    if (rc == 0 && n && (rc = rapt__buf_reserve(&r->fptr, n * sizeof(char *))) == 0) {
        ptrs = (const char **)(void *)r->fptr.p;
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            ptrs[i] = r->fstr.p + off;
            off += (j->raw ? j->argdata.len : a[i].len) + 1;
        }
    }
    if (rc < 0 || rapt_jobclass_features(ptrs, rc < 0 ? 0 : n, NULL, &j->feat) < 0)
        memset(&j->feat, 0, sizeof(j->feat));
    j->feat_ok = true;
    return &j->feat;
}

/* Seeds the model with the class's history the first time a job of the class comes up. */
static void model_seed(runner *r, const char *cls)
{
    if (!r->hist_read)
        return;
    for (size_t i = r->nloaded; i-- > 0;) {
        if (strcmp(r->loaded[i], cls) == 0)
            return;
    }
    if (r->nloaded >= MODEL_CLASSES)
        return; /* a run of many one-off commands: they learn within the run only */
    if (r->nloaded % 16 == 0) {
        char **nl = realloc(r->loaded, (r->nloaded + 16) * sizeof(*nl));
        if (!nl)
            return;
        r->loaded = nl;
    }
    char *dup = strdup(cls);
    if (!dup)
        return;
    r->loaded[r->nloaded++] = dup;
    int n = rapt_model_load(r->model, r->hist_read, cls, 0);
    if (n < 0)
        logf_(r, RAPT_LOG_WARN, "history %s: reading class '%.200s': %s",
              rapt_history_path(r->hist_read), cls, rapt_strerror(n));
    else if (n > 0)
        explain(r, "class '%.200s': learned from %d attempts in the history", cls, n);
}

/* The model's prediction for a job, as of now (the model learns while the run goes on). */
static const rapt_prediction *job_predict(runner *r, rjob *j)
{
    const char *cls = job_class(r, j);
    const rapt_features *f = job_features(r, j);
    model_seed(r, cls);
    if (rapt_model_predict(r->model, cls, f, &j->pred) < 0)
        memset(&j->pred, 0, sizeof(j->pred));
    j->pred_ok = true;
    return &j->pred;
}

/* A prediction of peak memory the reservation may rest on: the same arguments before, a fit
 * on input size, or a class median over at least ten samples (below that the conformal
 * quantile is only the largest value seen, and the cold-start rule, which also watches the
 * jobs running now, is the better guess). */
static bool peak_usable(const rapt_estimate *e)
{
    return e->basis == RAPT_BASIS_EXACT || e->basis == RAPT_BASIS_FIT ||
           (e->basis == RAPT_BASIS_MEDIAN && e->samples >= 10);
}

/* ---- memory-aware admission (docs/admission.md) ------------------------------------------- */

/* Running jobs' sizes for the cold-start rule: a job that has reached its plateau has shown
 * its size; one still growing counts only once it is bigger than every finished job (a job
 * that has just started says nothing yet, and would drag the estimate down). */
static size_t running_sizes(const runner *r, uint64_t now, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (unsigned s = 0; s < r->nslots && n < max; s++) {
        const rjob *j = r->slots[s];
        if (!j || !j->adm.peak)
            continue;
        if (rapt__adm_plateau(&r->o->mem.cfg, &j->adm, now) || j->adm.peak > r->learn.max_peak)
            out[n++] = j->adm.peak;
    }
    return n;
}

/* A job's reservation: the hint, the input-size model, what the model learned of its class
 * (history and this run), or the cold-start rule. An explicit hint wins over the model. */
static uint64_t reserve_for(runner *r, rjob *j, uint64_t now, const char **basis)
{
    const rapt__run_mem *m = &r->o->mem;
    uint64_t v;
    const rapt_estimate *pk = NULL;
    if (!m->per_job && !m->model)
        pk = &job_predict(r, j)->peak;
    if (pk && peak_usable(pk)) {
        /* The safe estimate carries the model's margin (exact: +10%, fit and median: the 95%
         * conformal bound), so it is reserved as it is. */
        v = pk->safe >= 1.8e19 ? UINT64_MAX : (uint64_t)ceil(pk->safe);
        snprintf(r->basis, sizeof(r->basis), "model: %s, %u sample%s",
                 rapt_model_basis_name(pk->basis), pk->samples, pk->samples == 1 ? "" : "s");
        *basis = r->basis;
    } else if (m->per_job) {
        *basis = "--mem-per-job";
        v = m->per_job;
    } else if (m->model) {
        rapt__opt_u64 ib = j->raw ? unknown : input_bytes(j);
        long double b =
            (long double)m->gamma * (long double)(ib.known ? ib.v : 0) + (long double)m->overhead;
        v = b >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)ceill(b);
        *basis = "--mem-model";
    } else {
        uint64_t cur[64];
        size_t ncur = running_sizes(r, now, cur, RAPT__ARRAY_SIZE(cur));
        v = rapt__adm_cold(&m->cfg, &r->learn, r->budget, r->o->cpus ? r->o->cpus : 1, cur, ncur);
        *basis = r->learn.n || ncur ? "learned from this run's jobs" : "cold start: budget / CPUs";
    }
    return v < (1u << 20) ? (1u << 20) : v;
}

/* The memory side of admission for the job at the head of the queue. */
static enum why admit_memory(runner *r, rjob *j, uint64_t now)
{
    /* What the run has learned changes while a job waits, so its reservation is worked out
     * again at every decision - unless a requeue verdict set it (a job that already showed it
     * needs more). */
    const char *basis = "raised after its last attempt";
    if (!j->res_fixed)
        j->reservation = reserve_for(r, j, now, &basis);
    rapt_gate_stats gs;
    rapt_gate_stats_get(r->gate, &gs);
    rapt__adm_now n = {.limit = r->limit,
                       .available = r->avail,
                       .available_known = r->avail_known,
                       .psi_some = r->psi,
                       .budget = gs.cap_bytes,
                       .held = gs.held_bytes,
                       .running = r->running,
                       .protecting = r->prot != RAPT__PS_CALM};
    switch (rapt__adm_decide(&r->o->mem.cfg, &n, j->reservation)) {
    case RAPT__ADM_START:
        /* The gate checks the same sum the policy did; it is the ledger of what is held. */
        if (rapt_gate_try_acquire(r->gate, 0, j->reservation) != 0)
            return WHY_MEMORY;
        j->hold = j->reservation;
        explain(r, "job %llu starts: reserves %s (%s); %s of the %s budget held by %u running",
                (unsigned long long)j->seq, sz(j->reservation), basis, sz(gs.held_bytes),
                sz(gs.cap_bytes), r->running);
        return WHY_OK;
    case RAPT__ADM_START_ALONE:
        rapt_gate_charge(r->gate, 0, j->reservation);
        j->hold = j->reservation;
        explain(r,
                "job %llu starts alone: it reserves %s, more than the %s budget, and nothing "
                "else runs",
                (unsigned long long)j->seq, sz(j->reservation), sz(gs.cap_bytes));
        return WHY_OK;
    case RAPT__ADM_NEVER: j->refused = true; return WHY_OK;
    case RAPT__ADM_WAIT_PRESSURE: return WHY_PRESSURE;
    case RAPT__ADM_WAIT_MEMORY: break;
    }
    return WHY_MEMORY;
}

/* ---- admission --------------------------------------------------------------------------- */

static int check_probe(runner *r, rjob *j);

/* Reads the next job from the input (or the joblog with --retry-failed) into a job struct,
 * skipping what --resume says is done. Returns 1 with *out, 0 at the end, RAPT__INPUT_AGAIN,
 * or -errno. */
static int pull(runner *r, rjob **out)
{
    if (r->input_done)
        return 0;
    if (r->retry_it) {
        rjob *j = job_new(r);
        if (!j)
            return -ENOMEM;
        uint64_t seq;
        int rc = rapt__joblog_iter_next(r->retry_it, &seq, &j->argdata);
        if (rc <= 0) {
            job_release(r, j);
            if (rc == 0)
                r->input_done = true;
            return rc;
        }
        j->seq = seq;
        j->raw = true;
        j->nargs = 0;
        *out = j;
        return 1;
    }
    for (;;) {
        rapt__record rec;
        const char *where = NULL;
        int rc = rapt__input_next(r->in, &rec, &where);
        if (rc == RAPT__INPUT_AGAIN)
            return rc;
        if (rc < 0) {
            logf_(r, RAPT_LOG_ERROR, "reading input '%s': %s", where ? where : "?",
                  rapt_strerror(rc));
            return rc;
        }
        if (rc == 0) {
            r->input_done = true;
            return 0;
        }
        /* Skipped records still take their number: seqs follow the input, exactly as in the
         * joblog being resumed. */
        uint64_t seq = ++r->next_seq;
        if (r->have_jls && seq != r->jls.probe_seq) {
            bool logged = rapt__joblog_has(r->jls.logged, r->jls.max_seq, seq);
            bool failed = rapt__joblog_has(r->jls.failed, r->jls.max_seq, seq);
            if (logged && (r->o->resume == RAPT__RESUME_ALL || !failed)) {
                r->skipped++;
                continue;
            }
        }
        rjob *j = job_new(r);
        if (!j || job_set_args(j, rec.vals, rec.n) < 0) {
            if (j)
                job_release(r, j);
            return -ENOMEM;
        }
        j->seq = seq;
        if (r->probe_pending && seq == r->jls.probe_seq) {
            int pr = check_probe(r, j);
            if (pr < 0) {
                job_release(r, j);
                return pr;
            }
            bool failed = rapt__joblog_has(r->jls.failed, r->jls.max_seq, seq);
            if (r->o->resume == RAPT__RESUME_ALL || !failed) {
                r->skipped++;
                job_release(r, j);
                continue;
            }
        }
        *out = j;
        return 1;
    }
}

/* The joblog's lowest record must be what this command line makes of that job; otherwise
 * the log was written by another command and resuming would skip the wrong jobs. */
static int check_probe(runner *r, rjob *j)
{
    r->probe_pending = false;
    const char *line = job_line(r, j);
    rapt__buf want = RAPT__BUF_INIT;
    rapt__buf_add(&want, line, j->line.len);
    for (size_t i = 0; i < want.len; i++) {
        if (want.p[i] == '\n')
            want.p[i] = '\0';
    }
    bool same = want.len == r->jls.probe_cmd.len &&
                (want.len == 0 || memcmp(want.p, r->jls.probe_cmd.p, want.len) == 0);
    rapt__buf_free(&want);
    j->line_ok = false; /* the slot may change {%} before the job runs */
    if (same)
        return 0;
    snprintf(r->res->error, sizeof(r->res->error),
             "--resume: joblog '%s' was written by another command: job %llu ran '%.150s', this "
             "command line makes it '%.150s'",
             r->o->joblog, (unsigned long long)j->seq, r->jls.probe_cmd.p ? r->jls.probe_cmd.p : "",
             line);
    r->res->usage_error = true;
    return RAPT_EPARSE;
}

/* Jobs waiting to start: retries and requeues, and the --order queue. */
static bool queued(const runner *r)
{
    return r->ready_head || (r->q && rapt_sched_size(r->q) > 0);
}

/* --order: a job read from the input joins the queue with what the policy orders by. Under
 * -k its place in the output is taken now, in input order, whenever it starts. */
static int queue_push(runner *r, rjob *j, uint64_t now)
{
    const rapt__run_learn *l = &r->o->learn;
    rapt_sched_job sj = {.seq = j->seq, .data = j, .runtime_s = -1};
    const rapt__val *a = job_args(j);
    unsigned col = l->priority_col ? l->priority_col : l->deadline_col;
    if (col) {
        char v[64];
        bool ok = !j->raw && col <= j->nargs && a[col - 1].len < sizeof(v);
        if (ok) {
            memcpy(v, a[col - 1].p, a[col - 1].len);
            v[a[col - 1].len] = '\0';
        }
        uint64_t d = 0;
        if (ok && l->priority_col)
            ok = rapt__parse_double(v, &sj.priority) == 0 && isfinite(sj.priority);
        else if (ok)
            ok = rapt_duration_parse(v, &d) == 0;
        if (ok && l->deadline_col)
            sj.deadline_ns = r->t0 + d;
        if (!ok && !r->warned_col) {
            logf_(r, RAPT_LOG_WARN,
                  "job %llu: value %u is not a %s; such jobs get %s (warned once)",
                  (unsigned long long)j->seq, col,
                  l->priority_col ? "number" : "duration (e.g. 90, 2m, 1h30m)",
                  l->priority_col ? "priority 0" : "no deadline and go after those with one");
            r->warned_col = true;
        }
    }
    const rapt_prediction *p = job_predict(r, j);
    if (p->runtime.basis != RAPT_BASIS_NONE)
        sj.runtime_s = p->runtime.value;
    if (r->mem) {
        const char *basis;
        sj.peak = reserve_for(r, j, now, &basis);
    } else if (peak_usable(&p->peak)) {
        sj.peak = p->peak.safe >= 1.8e19 ? UINT64_MAX : (uint64_t)ceil(p->peak.safe);
    }
    if (r->o->keep_order)
        rapt__out_position(r->out, &j->out);
    return rapt_sched_push(r->q, &sj, now);
}

/* What pack may fill: the budget less what the running jobs hold; all of it when nothing
 * runs (the largest job then starts, alone if it must). */
static uint64_t queue_free(runner *r)
{
    if (!r->mem || !r->running)
        return UINT64_MAX;
    rapt_gate_stats gs;
    rapt_gate_stats_get(r->gate, &gs);
    return rapt__sat_sub(gs.cap_bytes, gs.held_bytes);
}

/* --order other than input: the input is read ahead into the queue, up to ORDER_WINDOW jobs
 * (all of a file or of ::: values; of a pipe, what has arrived), and the policy picks among
 * them. The queue's bypass rule keeps any job from waiting forever (docs/sched.md). */
static enum why admit_ordered(runner *r, uint64_t now, rjob **next)
{
    while (!r->input_done && rapt_sched_size(r->q) < ORDER_WINDOW) {
        rjob *j = NULL;
        int rc = pull(r, &j);
        if (rc == RAPT__INPUT_AGAIN || rc == 0)
            break; /* order what has arrived; the rest joins at later decisions */
        if (rc > 0 && (rc = queue_push(r, j, now)) < 0)
            job_release(r, j);
        if (rc < 0) {
            stop_on_error(r, rc);
            return WHY_STOPPING;
        }
    }
    rapt_sched_job sj;
    r->q_free = queue_free(r);
    int rc = rapt_sched_peek(r->q, now, r->q_free, &sj, NULL);
    if (rc == -ENOENT)
        return r->input_done ? WHY_DONE : WHY_INPUT;
    if (rc < 0)
        return WHY_MEMORY; /* pack: nothing fits, or memory is held for a job that waited */
    *next = sj.data;
    r->from_q = true;
    if (r->mem)
        return admit_memory(r, *next, now);
    return WHY_OK;
}

/* Takes the job admit() chose off its queue. */
static void take(runner *r, rjob *j, uint64_t now)
{
    if (!r->from_q) {
        ready_pop(r);
        return;
    }
    /* admit_memory() has charged the gate since the peek: pack must choose with the free
     * memory it chose with, or it could pick another job. Nothing else changed. */
    rapt_sched_job sj;
    rapt_sched_pick pick;
    int rc = rapt_sched_pop(r->q, now, r->q_free, &sj, &pick);
    assert(rc == 0 && sj.data == j);
    (void)rc;
    if (pick.aged)
        explain(r,
                "job %llu goes before the order's choice: it has waited %.0f s (no job waits "
                "forever)",
                (unsigned long long)j->seq, (double)pick.waited_ns / 1e9);
}

/* The one admission decision: start the next job now, or wait and say why. *next is the job
 * it is about (the head of the queue) when there is one. Memory-aware admission (issue 4)
 * adds its reasons here, using next->reservation. */
static enum why admit(runner *r, uint64_t now, rjob **next)
{
    *next = NULL;
    r->from_q = false;
    if (r->stop)
        return WHY_STOPPING;
    unsigned cap = r->cap < r->nslots ? r->cap : r->nslots;
    if (r->target && r->target < cap)
        cap = r->target;
    if (r->running >= cap)
        return WHY_SLOTS;
    r->waiting_delay = false;
    if (r->o->delay_ns && r->started > 0 && now < r->last_start + r->o->delay_ns) {
        r->waiting_delay = true;
        r->delay_until = r->last_start + r->o->delay_ns;
        return WHY_DELAY;
    }
    if (rapt__out_window_full(r->out))
        return WHY_ORDER;
    if (!r->ready_head && r->q)
        return admit_ordered(r, now, next);
    if (!r->ready_head) {
        rjob *j = NULL;
        int rc = pull(r, &j);
        if (rc == RAPT__INPUT_AGAIN)
            return WHY_INPUT;
        if (rc < 0) {
            stop_on_error(r, rc);
            return WHY_STOPPING;
        }
        if (rc == 0)
            return WHY_DONE;
        ready_push_back(r, j);
    }
    *next = r->ready_head;
    if (r->mem)
        return admit_memory(r, r->ready_head, now);
    return WHY_OK;
}

/* ---- killing ----------------------------------------------------------------------------- */

static void send_group(runner *r, rjob *j, int sig, const char *reason, uint64_t now)
{
    if (sig != SIGSTOP && sig != SIGCONT)
        j->kill_sig = sig;
    if (j->pid > 1)
        rapt__killpg(j->pid, sig);
    /* With a slot cgroup, processes that left the job's group (setsid) are reached too. */
    if (r->cg && j->in_cgroup && j->slot)
        rapt__jobcg_kill(r->cg, j->slot, sig);
    /* A stopped job cannot act on TERM until it runs again. */
    if (j->adm.suspended && sig != SIGSTOP && sig != SIGCONT && j->pid > 1) {
        rapt__killpg(j->pid, SIGCONT);
        j->adm.suspended = false;
        if (r->nsuspended)
            r->nsuspended--;
    }
    if (r->ev) {
        rapt__events_job_kill(r->ev, j->seq, j->attempt, sig, reason, now, rapt__wall_ns());
        check_events(r);
    }
}

static void fire(runner *r, rjob *j, rapt__job_event ev, uint64_t now);

/* The term sequence: signal, wait, next signal. When it is exhausted and the leader is gone
 * but a pipe is still open (a process outside the group holds it), rapt stops waiting for
 * that pipe: the job cannot be ended more than this. */
static void term_step(runner *r, rjob *j, uint64_t now)
{
    if (j->term_step < r->o->nterm) {
        const rapt__term_step *s = &r->o->term[j->term_step++];
        send_group(r, j, s->sig, j->kill_reason ? j->kill_reason : "interrupt", now);
        j->term_at = now + s->wait_ns;
        return;
    }
    j->term_at = 0;
    if (j->st == RAPT__JS_STOPPING_REAPED) {
        for (int s = 0; s < 2; s++) {
            if (j->pipe[s] >= 0) {
                close(j->pipe[s]);
                j->pipe[s] = -1;
            }
        }
        fire(r, j, RAPT__JE_EOF, now);
    } else if (j->kill_sig != SIGKILL) {
        /* The sequence ended on something catchable: finish with KILL, as GNU parallel
         * would after its last wait. */
        send_group(r, j, SIGKILL, j->kill_reason ? j->kill_reason : "interrupt", now);
        j->term_at = now + 1000000000ull;
    }
}

/* ---- finishing --------------------------------------------------------------------------- */

static void linger_add(runner *r, pid_t pgid)
{
    if (r->nlinger == r->caplinger) {
        size_t nc = r->caplinger ? r->caplinger * 2 : 16;
        pid_t *nl = realloc(r->linger, nc * sizeof(*nl));
        if (!nl)
            return;
        r->linger = nl;
        r->caplinger = nc;
    }
    r->linger[r->nlinger++] = pgid;
}

static void check_halt(runner *r, rjob *j, bool ok, uint64_t now);

/* A joblog record could not be written: the run starts nothing more (a log that silently
 * misses jobs would make --resume run them twice). */
static void joblog_failed(runner *r, int rc)
{
    if (r->fatal)
        return;
    logf_(r, RAPT_LOG_ERROR, "writing the joblog '%s': %s; starting no more jobs", r->o->joblog,
          rapt_strerror(rc));
    stop_on_error(r, rc);
}

/* The output's trailer callback: a job's joblog record, at its turn. */
static void joblog_trailer(void *ctx, const char *p, size_t n)
{
    runner *r = ctx;
    int rc = rapt__joblog_write(r->jl, p, n);
    if (rc < 0)
        joblog_failed(r, rc);
}

static const char *outcome_name(bool ok, bool retry, bool requeue)
{
    return requeue ? "requeued" : retry ? "retry" : ok ? "success" : "failed";
}

/* OOM kills counted in rapt's own memory cgroup (it includes the jobs' slots), or -errno. */
static int container_ooms(runner *r, uint64_t *n)
{
    if (r->cg)
        return rapt__jobcg_container_ooms(r->cg, n);
    const rapt_sys_info *si = r->o->si;
    if (!si || si->cgroup.memory_version == RAPT_CGROUP_NONE)
        return -ENOENT;
    char path[RAPT_SYS_WHERE_MAX + 32], buf[1024];
    snprintf(path, sizeof(path), "%s/%s", si->cgroup.memory_dir,
             si->cgroup.memory_version == RAPT_CGROUP_V2 ? "memory.events" : "memory.oom_control");
    ssize_t len = rapt__slurp(&r->root, path, buf, sizeof(buf));
    if (len < 0)
        return (int)len;
    return rapt__parse_kv(buf, "oom_kill", n);
}

/* -j auto: from the CPU share of finished jobs, how many to run at once. CPU-bound jobs
 * (share 1) keep the CPU count; a job that sleeps half the time lets twice as many run.
 * The share gives the first estimate only: once it says the jobs are I/O-bound (more than
 * the CPUs at once), the hill-climbing controller (docs/tune.md) takes over the target from
 * there, between the CPU count and the ceiling, and the share no longer moves it; the two
 * never both set it. Memory admission caps what either asks for. */
static void update_target(runner *r, const rjob *j, uint64_t wall, uint64_t now)
{
    if (!r->o->jobs_auto || wall < 20000000ull)
        return;
    double share = (double)(j->ex.user_ns + j->ex.sys_ns) / (double)wall;
    r->share = r->share_known ? 0.7 * r->share + 0.3 * share : share;
    r->share_known = true;
    unsigned cpus = r->o->cpus ? r->o->cpus : 1;
    double want = ceil((double)cpus / (r->share > 1.0 / 64 ? r->share : 1.0 / 64));
    unsigned t = want > (double)r->nslots ? r->nslots : (unsigned)want;
    if (t < cpus)
        t = cpus < r->nslots ? cpus : r->nslots;
    if (r->tune)
        return;
    if (t != r->target)
        explain(r, "jobs use %.0f%% of a CPU each: running up to %u at once", r->share * 100, t);
    r->target = t;
    if (t > cpus) {
        rapt_tune_opts to;
        rapt_tune_opts_init(&to);
        to.min = cpus < r->nslots ? cpus : r->nslots;
        to.max = r->nslots;
        to.start = t;
        if (rapt_tune_create(&r->tune, &to, now) == 0)
            explain(r, "the jobs are I/O-bound: adaptive concurrency from %u, between %u and %u", t,
                    to.min, to.max);
        else
            r->tune = NULL;
    }
}

/* Gives up on the history after an error it cannot retry: one warning, and the run goes on. */
static void history_error(runner *r, int rc, const char *what)
{
    if (rc >= 0 || rc == -EBUSY || !r->hist)
        return; /* -EBUSY: other writers held the file; the attempts stay queued for later */
    logf_(r, RAPT_LOG_WARN, "history %s: %s: %s; recording nothing more in it",
          rapt_history_path(r->hist), what, rapt_strerror(rc));
    r->hist = NULL;
    r->hist_read = NULL;
}

/* One finished attempt: into the history (buffered) and the model. */
static void learn_attempt(runner *r, const rapt_attempt *a)
{
    if (r->hist)
        history_error(r, rapt_history_add(r->hist, r->run_key, a), "recording an attempt");
    if (r->model)
        rapt_model_observe(r->model, a);
}

/* Hands the target to the hill-climbing controller, or takes its new target. */
static void tune_step(runner *r, uint64_t now)
{
    if (!r->tune)
        return;
    unsigned t = rapt_tune_update(r->tune, now, r->running);
    if (t != r->target) {
        rapt_tune_state ts;
        rapt_tune_get_state(r->tune, &ts);
        explain(r, "adaptive concurrency: %u jobs at once (was %u; %.2f jobs/s measured)", t,
                r->target, ts.throughput);
    }
    r->target = t;
}

/* Accounts an attempt that ended (reaped and closed, or never started) and decides what
 * becomes of the job. */
static void finish(runner *r, rjob *j, uint64_t now)
{
    unsigned slot = j->slot;
    if (slot && r->slots[slot - 1] == j) {
        r->slots[slot - 1] = NULL;
        r->running--;
    }
    r->cap = r->nslots; /* a finished job frees what a spawn failure was waiting for */
    for (int s = 0; s < 2; s++) {
        if (j->pipe[s] >= 0) {
            close(j->pipe[s]);
            j->pipe[s] = -1;
        }
    }
    if (j->pidfd >= 0) {
        close(j->pidfd);
        j->pidfd = -1;
    }
    bool spawned = j->spawn_err == 0;
    bool ran = spawned && j->exec_err == 0;
    /* Peak memory: the slot cgroup covers the whole tree; otherwise the larger of the /proc
     * samples and rusage (the largest single process). */
    rapt__opt_u64 peak = unknown;
    const char *method = NULL;
    if (ran && j->in_cgroup) {
        uint64_t p;
        if (rapt__jobcg_peak(r->cg, slot, &p) == 0) {
            peak = known(p);
            method = r->measure;
        }
    }
    if (ran && !peak.known) {
        if (j->sampled) {
            peak = known(j->peak_sampled > j->ex.maxrss ? j->peak_sampled : j->ex.maxrss);
            method = "proc-sample";
        } else {
            peak = known(j->ex.maxrss);
            method = "rusage";
        }
    }
    /* Exit code and signal, kept apart. */
    bool has_exit = false;
    int code = 0, sig = 0;
    if (!spawned) {
        /* nothing ran: no exit code, no signal */
    } else if (j->exec_err) {
        has_exit = true;
        code = j->exec_err == ENOENT ? 127 : 126; /* as a shell reports it */
    } else if (j->ex.exited && j->from_shell) {
        sig = j->ex.code - 128;
    } else if (j->ex.exited) {
        has_exit = true;
        code = j->ex.code;
    } else {
        sig = j->ex.sig;
    }
    bool oom = false;
    if (ran && j->in_cgroup && (sig || code)) {
        uint64_t kills;
        if (rapt__jobcg_oom_kills(r->cg, slot, &kills) == 0 && kills > r->slot_ooms[slot - 1]) {
            oom = true;
            r->slot_ooms[slot - 1] = kills;
        }
    }
    /* Without a slot of its own, a job killed by SIGKILL while the container's OOM count rose
     * was the OOM killer's. */
    if (ran && (sig || code)) {
        uint64_t kills;
        if (container_ooms(r, &kills) == 0) {
            if (!oom && sig == SIGKILL && !j->kill_reason && !j->in_cgroup &&
                kills > r->ooms_container)
                oom = true;
            r->ooms_container = kills;
        }
    }

    /* The memory policy's verdict: a job stopped to protect memory or killed by the OOM
     * killer runs again with a larger reservation, or, when it cannot fit, fails for good. */
    rapt__adm_after after = RAPT__AFTER_NONE;
    char mem_why[256] = "";
    if (r->mem) {
        if (j->hold) {
            rapt_gate_release(r->gate, 0, j->hold);
            j->hold = 0;
        }
        uint64_t pk = peak.known ? peak.v : j->adm.peak;
        if (pk < j->adm.peak)
            pk = j->adm.peak;
        /* Only attempts that ran to their end teach the cold-start rule: a stopped job's peak
         * is where it was cut off, not what it needs. */
        if (ran && peak.known && !j->kill_reason && !oom)
            rapt__adm_learn_add(&r->learn, pk);
        if (oom)
            j->oom_kills++;
        rapt__adm_end e = {.stopped_for_memory =
                               j->kill_reason && strcmp(j->kill_reason, "memory") == 0,
                           .oom = oom,
                           .alone = !j->shared || (r->limit && pk >= r->limit / 10 * 9),
                           .oom_kills = j->oom_kills,
                           .peak = pk,
                           .reserve = j->reservation,
                           .limit = r->limit,
                           .job_ceiling = r->o->mem.job_ceiling};
        uint64_t res_next = 0;
        after = rapt__adm_after_end(&r->o->mem.cfg, &e, &res_next, mem_why, sizeof(mem_why));
        if (after == RAPT__AFTER_REQUEUE && !r->stop) {
            explain(r, "job %llu runs again later with %s reserved (%s at a peak of %s)",
                    (unsigned long long)j->seq, sz(res_next),
                    oom ? "the OOM killer ended it" : "stopped to protect memory", sz(pk));
            j->reservation = res_next;
            j->res_fixed = true;
        } else if (after == RAPT__AFTER_FAIL) {
            j->mem_failed = true;
            logf_(r, RAPT_LOG_WARN, "job %llu failed for good: %s", (unsigned long long)j->seq,
                  mem_why);
        }
        if (j->adm.suspended) {
            j->adm.suspended = false;
            if (r->nsuspended)
                r->nsuspended--;
        }
        if (r->victim_seq && j->seq == r->victim_seq) {
            r->victim_seq = 0;
            unsigned active = r->running - (r->running >= r->nsuspended ? r->nsuspended : 0);
            r->prot = rapt__prot_transition(r->prot, RAPT__PE_VICTIM_GONE, r->o->mem.cfg.mode,
                                            active, r->nsuspended)
                          .next;
        }
    }
    const char *reason = j->kill_reason ? j->kill_reason
                         : j->refused   ? "memory"
                         : !spawned     ? "spawn"
                         : oom          ? "oom"
                         : sig          ? "signal"
                                        : "exit";
    bool ok = spawned && !j->kill_reason && has_exit && code == 0;
    bool whole_run = j->kill_reason && (strcmp(j->kill_reason, "interrupt") == 0 ||
                                        strcmp(j->kill_reason, "halt") == 0);
    /* An attempt rapt ended to protect memory (issue 4 decides when) runs again without using
     * up a retry; a run that is stopping runs nothing again. */
    bool requeue = ((j->kill_reason && strcmp(j->kill_reason, "memory") == 0) ||
                    after == RAPT__AFTER_REQUEUE) &&
                   !r->stop;
    bool retry = !ok && !whole_run && !requeue && !r->stop && !j->mem_failed &&
                 (r->o->retries == 0 || j->attempt - j->requeues < r->o->retries);
    if (oom)
        r->oom_killed++;
    uint64_t wall = spawned ? now - j->t_start : 0;
    if (ran && !j->kill_reason && !oom)
        update_target(r, j, wall, now);

    /* A finished job can have left processes that closed their output (daemons): they are
     * ended when rapt exits, not now, which would change what the job did (GNU parallel
     * leaves them alone too). One kill(-pgid, 0) per job finds them. The leader's pid still
     * names its group here: pids are not handed out again until the pid space wraps. */
    /* A job rapt stopped may have left processes that ignore every signal but KILL. */
    if (j->pid > 1 && rapt__pgrp_alive(j->pid)) {
        if (j->kill_reason)
            rapt__killpg(j->pid, SIGKILL);
        else
            linger_add(r, j->pid);
    }

    /* job_end goes out before the output is printed or dropped (stdout_bytes comes from the
     * streams), and before the verdict moves the job on. */
    if (r->ev) {
        rapt__ev_job e;
        fill_ev_job(r, j, &e);
        e.start_wall_ns = spawned ? j->t_start_wall : 0;
        e.wall_ns = wall;
        e.user_ns = j->ex.user_ns;
        e.sys_ns = j->ex.sys_ns;
        e.peak = peak;
        e.peak_method = method;
        e.has_exit = has_exit;
        e.exit_code = code;
        e.signal = sig;
        e.reason = reason;
        e.outcome = outcome_name(ok, retry, requeue);
        e.stdout_bytes = j->out.s[0].total;
        e.stderr_bytes = j->out.s[1].total;
        e.oom_kill = oom;
        rapt__events_job_end(r->ev, &e, now, rapt__wall_ns());
        check_events(r);
    }

    /* Every attempt, whatever became of it, goes to the history and teaches the model (which
     * takes what it can from each outcome, docs/model.md), so the next job of the class
     * benefits at once. */
    {
        rapt_attempt a;
        rapt_attempt_init(&a);
        const rapt_features *f = job_features(r, j);
        a.class_name = job_class(r, j);
        a.seq = j->seq;
        a.attempt = j->attempt;
        a.slot = j->slot;
        a.has_digest = true;
        memcpy(a.digest, f->digest, sizeof(a.digest));
        a.input_bytes = f->has_input ? (int64_t)RAPT__MIN(f->input_bytes, (uint64_t)INT64_MAX) : -1;
        a.start = spawned ? (double)j->t_start_wall / 1e9 : (double)rapt__wall_ns() / 1e9;
        a.wall_s = spawned ? (double)wall / 1e9 : -1;
        a.user_s = ran ? (double)j->ex.user_ns / 1e9 : -1;
        a.sys_s = ran ? (double)j->ex.sys_ns / 1e9 : -1;
        a.peak_bytes = peak.known ? (int64_t)RAPT__MIN(peak.v, (uint64_t)INT64_MAX) : -1;
        a.peak_method = method;
        a.exit_code = has_exit ? code : -1;
        a.signal = sig;
        a.reason = reason;
        a.outcome = outcome_name(ok, retry, requeue);
        a.oom_kill = oom;
        a.reservation =
            j->reservation ? (int64_t)RAPT__MIN(j->reservation, (uint64_t)INT64_MAX) : -1;
        a.mem_limit = r->mem ? (int64_t)RAPT__MIN(r->limit, (uint64_t)INT64_MAX) : -1;
        a.mem_budget = r->mem ? (int64_t)RAPT__MIN(r->budget, (uint64_t)INT64_MAX) : -1;
        a.slots = r->target && r->target < r->nslots ? r->target : r->nslots;
        learn_attempt(r, &a);
    }
    if (r->tune && spawned) {
        rapt_tune_complete(r->tune, now, (double)wall / 1e9);
        tune_step(r, now);
    }

    if (retry || requeue) {
        if (requeue) {
            j->requeues++;
            r->requeued++;
        } else {
            r->retried++;
        }
        rapt__out_end(r->out, &j->out, false, true, NULL, 0);
        if (r->ev) {
            rapt__events_job_retry(r->ev, j->seq, j->attempt + 1, reason,
                                   j->reservation ? known(j->reservation) : unknown, 0, now,
                                   rapt__wall_ns());
            check_events(r);
        }
        fire(r, j, requeue ? RAPT__JE_REQUEUE : RAPT__JE_RETRY, now);
        return;
    }

    /* Final. */
    r->done++;
    if (ok)
        r->succeeded++;
    else
        r->failed++;
    if (!whole_run && j->kill_reason && strcmp(j->kill_reason, "timeout") == 0)
        logf_(r, RAPT_LOG_WARN, "job %llu was killed because it timed out: %s",
              (unsigned long long)j->seq, job_line(r, j));
    if (r->o->results && !whole_run) {
        /* --results DIR/<n>/<value>/.../{stdout,stderr,seq} */
        int dfd = open(r->o->results, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const rapt__val *a = job_args(j);
        for (size_t i = 0; dfd >= 0 && i < j->nargs; i++) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i + 1);
            rapt__buf name = RAPT__BUF_INIT;
            /* '/' becomes \_ and '\' becomes \\, as in GNU parallel; "", "." and ".." (which
             * GNU parallel writes as they are, escaping the directory) get a leading '\'. */
            if (a[i].len == 0 || (a[i].len == 1 && a[i].p[0] == '.') ||
                (a[i].len == 2 && a[i].p[0] == '.' && a[i].p[1] == '.'))
                rapt__buf_addc(&name, '\\');
            for (size_t k = 0; k < a[i].len; k++) {
                if (a[i].p[k] == '/')
                    rapt__buf_adds(&name, "\\_");
                else if (a[i].p[k] == '\\')
                    rapt__buf_adds(&name, "\\\\");
                else if (a[i].p[k] == '\0')
                    rapt__buf_adds(&name, "\\0");
                else
                    rapt__buf_addc(&name, a[i].p[k]);
            }
            int next = -1;
            const char *parts[2] = {idx, name.p ? name.p : ""};
            for (int k = 0; k < 2; k++) {
                if (mkdirat(dfd, parts[k], 0755) < 0 && errno != EEXIST)
                    break;
                next = openat(dfd, parts[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                close(dfd);
                dfd = next;
                if (dfd < 0)
                    break;
            }
            rapt__buf_free(&name);
        }
        int rc = dfd >= 0 ? rapt__out_save(r->out, &j->out, dfd) : -errno;
        if (dfd >= 0) {
            int sfd = openat(dfd, "seq", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (sfd >= 0) {
                char num[24];
                int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)j->seq);
                if (write(sfd, num, (size_t)n) != n)
                    rc = -EIO;
                close(sfd);
            }
            close(dfd);
        }
        if (rc < 0)
            logf_(r, RAPT_LOG_WARN, "--results: cannot save job %llu's output under '%s': %s",
                  (unsigned long long)j->seq, r->o->results, rapt_strerror(rc));
    }
    /* The joblog record goes through the output, so with -k it is written when the job's
     * output is printed, in input order, as GNU parallel writes it. */
    const char *rec_p = NULL;
    size_t rec_n = 0;
    if (r->jl && !whole_run) {
        const char *line = job_line(r, j);
        rapt__joblog_rec rec = {.seq = j->seq,
                                .start_wall_ns = spawned ? j->t_start_wall : rapt__wall_ns(),
                                .runtime_ns = wall,
                                .exitval = j->kill_reason || !spawned ? -1 : (has_exit ? code : 0),
                                .signal = j->kill_reason ? j->kill_sig : sig,
                                .receive = j->out.s[0].total,
                                .cmd = line,
                                .cmd_len = j->line.len};
        if (rapt__joblog_format(&rec, &r->jlrec) < 0)
            joblog_failed(r, -ENOMEM);
        else
            rec_p = r->jlrec.p, rec_n = r->jlrec.len;
    }
    if (rapt__out_end(r->out, &j->out, true, !r->o->results && !whole_run, rec_p, rec_n) < 0)
        joblog_failed(r, -ENOMEM);
    if (ok && r->o->timeout_pct > 0)
        remedian_add(&r->med, (double)wall / 1e9);
    fire(r, j, ok ? RAPT__JE_SUCCEED : RAPT__JE_FAIL, now);
    if (!whole_run)
        check_halt(r, j, ok, now);
    if (j->st == RAPT__JS_SUCCEEDED || j->st == RAPT__JS_FAILED)
        job_release(r, j);
}

/* --halt, as GNU parallel computes it (including its exit codes). */
static void check_halt(runner *r, rjob *j, bool ok, uint64_t now)
{
    const rapt__halt *h = &r->o->halt;
    if (h->when == RAPT__HALT_NEVER || r->halt_hit)
        return;
    uint64_t count = h->why == RAPT__HALT_FAIL      ? r->failed
                     : h->why == RAPT__HALT_SUCCESS ? r->succeeded
                                                    : r->done;
    if (h->why == RAPT__HALT_FAIL && ok)
        return;
    if (h->why == RAPT__HALT_SUCCESS && !ok)
        return;
    /* GNU parallel compares the count with total x pct unrounded: 50% of 5 jobs halts at the
     * third failure. */
    double limit = h->pct ? (double)r->total * h->value / 100.0 : h->value;
    if ((double)count < limit)
        return;
    r->halt_hit = true;
    if (h->why == RAPT__HALT_SUCCESS) {
        r->halt_exit = 0;
    } else if (!h->pct && h->value == 1) {
        /* fail=1 / done=1: the job's own status, a signal as 128 + n like a shell. */
        int sig = j->from_shell ? j->ex.code - 128 : (j->ex.exited ? 0 : j->ex.sig);
        int code = j->exec_err     ? (j->exec_err == ENOENT ? 127 : 126)
                   : j->from_shell ? 0
                   : j->ex.exited  ? j->ex.code
                                   : 0;
        if (j->kill_reason)
            sig = j->kill_sig;
        r->halt_exit = code ? code : sig ? 128 + sig : 0;
    } else if (h->pct) {
        r->halt_exit = (int)ceil((double)r->failed * 100.0 / (double)(r->total ? r->total : 1));
    } else {
        r->halt_exit = r->failed > 101 ? 101 : (int)r->failed;
    }
    logf_(r, RAPT_LOG_WARN, "--halt %s: %s after job %llu (%s)", h->text,
          h->when == RAPT__HALT_NOW ? "ending the running jobs and stopping"
                                    : "starting no more jobs",
          (unsigned long long)j->seq, job_line(r, j));
    if (!r->stop)
        r->stop_reason = "halt";
    if (h->when == RAPT__HALT_NOW) {
        r->stop = 2;
        for (unsigned s = 0; s < r->nslots; s++) {
            rjob *k = r->slots[s];
            if (k && !rapt__job_state_stopping(k->st)) {
                k->kill_reason = "halt";
                fire(r, k, RAPT__JE_KILL, now);
            }
        }
    } else if (!r->stop) {
        r->stop = 1;
    }
}

/* Feeds an event to a job's state table and carries out the action. */
static void fire(runner *r, rjob *j, rapt__job_event ev, uint64_t now)
{
    rapt__job_step s = rapt__job_transition(j->st, ev);
    if (s.action == RAPT__JA_INVALID) {
        logf_(r, RAPT_LOG_ERROR, "internal: job %llu: event %s in state %s",
              (unsigned long long)j->seq, rapt__job_event_name(ev), rapt__job_state_name(j->st));
        return;
    }
    j->st = s.next;
    switch (s.action) {
    case RAPT__JA_NONE:
    case RAPT__JA_SPAWN: /* the caller spawns */
    case RAPT__JA_WATCH: /* the caller watches */
    case RAPT__JA_RELEASE: break;
    case RAPT__JA_TERM_START:
        j->term_step = 0;
        term_step(r, j, now);
        break;
    case RAPT__JA_TERM_NEXT: term_step(r, j, now); break;
    case RAPT__JA_KILL_NOW:
        j->term_step = r->o->nterm;
        send_group(r, j, SIGKILL, j->kill_reason ? j->kill_reason : "interrupt", now);
        j->term_at = now + 2000000000ull; /* then stop waiting for pipes held elsewhere */
        break;
    case RAPT__JA_FINISH: finish(r, j, now); break;
    case RAPT__JA_REQUEUE:
        j->kill_reason = NULL;
        ready_push_front(r, j);
        break;
    case RAPT__JA_INVALID: break;
    }
}

/* ---- starting ---------------------------------------------------------------------------- */

static uint64_t tag_of(enum ev_kind k, unsigned slot, uint32_t gen)
{
    return ((uint64_t)gen << 32) | ((uint64_t)k << 24) | (uint64_t)slot;
}

static bool transient(int err)
{
    return err == -EAGAIN || err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

/* A spawn that made no process: with other jobs running, the limit is probably theirs, so
 * wait for one to finish and try again; alone, the job fails (reason "spawn"). */
static void spawn_failed(runner *r, rjob *j, int err, uint64_t now)
{
    for (int s = 0; s < 2; s++) {
        if (j->pipe[s] >= 0) {
            close(j->pipe[s]);
            j->pipe[s] = -1;
        }
    }
    if (transient(err) && r->running > 1) {
        if (!r->warned_spawn) {
            logf_(r, RAPT_LOG_WARN, "cannot start a job now (%s); running fewer at once",
                  rapt_strerror(err));
            r->warned_spawn = true;
        }
        r->slots[j->slot - 1] = NULL;
        r->running--;
        r->cap = r->running;
        j->attempt--;
        r->attempts--;
        if (j->attempt == 0)
            r->started--;
        fire(r, j, RAPT__JE_DEFER, now);
        ready_push_front(r, j);
        return;
    }
    j->spawn_err = err;
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "rapt: run: cannot start job %llu: %s\n",
                     (unsigned long long)j->seq, rapt_strerror(err));
    rapt__out_add(r->out, &j->out, 1, msg, (size_t)n);
    fire(r, j, RAPT__JE_SPAWN_FAILED, now);
}

/* The lowest free slot, as GNU parallel numbers them: {%} and PARALLEL_JOBSLOT stay small,
 * and slot n is always measured in cgroup slot-n. */
static unsigned free_slot(runner *r)
{
    for (unsigned s = 0; s < r->nslots; s++) {
        if (!r->slots[s])
            return s + 1;
    }
    return 0;
}

/* The program could not be found or exec'd: the job ran and failed as a shell would report
 * it (127 or 126, with a message on its stderr). */
static void exec_failed(runner *r, rjob *j, const char *prog, int err, uint64_t now)
{
    j->exec_err = err;
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "rapt: run: %.400s: %s\n", prog ? prog : "",
                     err == ENOENT ? "command not found" : strerror(err));
    rapt__out_add(r->out, &j->out, 1, msg, (size_t)n);
    for (int s = 0; s < 2; s++) {
        if (j->pipe[s] >= 0) {
            close(j->pipe[s]);
            j->pipe[s] = -1;
        }
    }
    fire(r, j, RAPT__JE_SPAWNED, now);
    fire(r, j, RAPT__JE_EXIT, now);
    fire(r, j, RAPT__JE_EOF, now);
}

static bool shell_mode(const runner *r, const rjob *j)
{
    return j->raw || !rapt__tmpl_direct(r->tmpl);
}

static void start(runner *r, rjob *j, uint64_t now)
{
    j->slot = free_slot(r);
    j->attempt++;
    j->gen++;
    j->pid = 0;
    j->pidfd = j->pipe[0] = j->pipe[1] = -1;
    j->kill_reason = NULL;
    j->kill_sig = 0;
    j->spawn_err = j->exec_err = 0;
    j->from_shell = false;
    j->in_cgroup = j->sampled = false;
    j->peak_sampled = j->mem_current = 0;
    j->term_at = 0;
    j->term_step = 0;
    memset(&j->ex, 0, sizeof(j->ex));
    j->line_ok = false; /* {%} may differ from the last attempt */
    r->attempts++;
    if (j->attempt == 1)
        r->started++;
    r->slots[j->slot - 1] = j;
    r->running++;
    r->last_start = now;
    j->t_start = now;
    j->t_start_wall = rapt__wall_ns();
    memset(&j->adm, 0, sizeof(j->adm));
    j->adm.reserve = j->reservation;
    j->adm.started_ns = now;
    if (!j->pred_ok && r->model)
        job_predict(r, j); /* for the events; admission or the queue made it already */
    j->shared = r->running > 1;
    fire(r, j, RAPT__JE_ADMIT, now);
    if (j->refused) {
        /* It needs more than the whole memory limit: nothing will ever make room. */
        char msg[256];
        int n = snprintf(msg, sizeof(msg),
                         "rapt: run: job %llu cannot run: it needs %s, more than the memory "
                         "limit %s\n",
                         (unsigned long long)j->seq, sz(j->reservation), sz(r->limit));
        rapt__out_add(r->out, &j->out, 1, msg, (size_t)n);
        logf_(r, RAPT_LOG_WARN, "job %llu cannot run: it needs %s, more than the memory limit %s",
              (unsigned long long)j->seq, sz(j->reservation), sz(r->limit));
        j->spawn_err = RAPT_ETOOBIG;
        j->mem_failed = true;
        fire(r, j, RAPT__JE_SPAWN_FAILED, now);
        return;
    }

    rapt__jobctx ctx = {.seq = j->seq, .slot = j->slot, .args = job_args(j), .nargs = j->nargs};
    /* Output: tag, verbose line, keep-order position, fresh streams. */
    rapt__buf_clear(&j->out.tag);
    if (r->tagt) {
        if (j->raw)
            rapt__buf_add(&j->out.tag, j->argdata.p, j->argdata.len);
        else
            rapt__tmpl_plain(r->tagt, &ctx, &j->out.tag);
        rapt__buf_addc(&j->out.tag, '\t');
    }
    rapt__buf_clear(&j->out.verbose);
    if (r->o->verbose) {
        rapt__buf_adds(&j->out.verbose, job_line(r, j));
        rapt__buf_addc(&j->out.verbose, '\n');
    }
    if (!j->out.positioned && j->attempt == 1)
        rapt__out_position(r->out, &j->out);
    rapt__out_begin(r->out, &j->out);

    /* The program and its arguments: exec'd directly, or `sh -c LINE`. */
    char *shargv[4];
    char **argv;
    const char *path;
    char *lookup = NULL; /* a per-job PATH lookup, freed after the spawn */
    if (!shell_mode(r, j)) {
        if (rapt__tmpl_argv(r->tmpl, &ctx, &j->argv_strings, &j->argv_ptrs, &argv) < 0) {
            spawn_failed(r, j, -ENOMEM, now);
            return;
        }
        path = r->prog;
        if (!path && !r->prog_missing && argv[0] && argv[0][0]) {
            lookup = find_program(argv[0]);
            path = lookup;
        }
        if (!path) {
            exec_failed(r, j, argv[0], ENOENT, now);
            return;
        }
    } else {
        shargv[0] = r->shell_comm;
        shargv[1] = "-c";
        shargv[2] = (char *)job_line(r, j);
        shargv[3] = NULL;
        argv = shargv;
        path = r->o->shell;
    }

    /* Pipes for captured output (ungroup mode lets jobs write to rapt's own stdout/err). */
    int wr[2] = {-1, -1};
    if (r->o->out_mode != RAPT__OUT_UNGROUP || r->o->results) {
        for (int s = 0; s < 2; s++) {
            int p[2];
            if (pipe2(p, O_CLOEXEC) < 0) {
                int e = -errno;
                if (wr[0] >= 0)
                    close(wr[0]);
                free(lookup);
                spawn_failed(r, j, e, now);
                return;
            }
            j->pipe[s] = p[0];
            wr[s] = p[1];
        }
    }

    /* The slot's memory cgroup: peak reset, the child joins it before exec. */
    int procs = -1;
    if (r->cg) {
        int rc = rapt__jobcg_prepare(r->cg, j->slot, &procs);
        if (rc < 0) {
            procs = -1;
            if (!r->warned_cg) {
                logf_(r, RAPT_LOG_WARN,
                      "cannot prepare job slot %u's cgroup (%s); measuring "
                      "by sampling /proc",
                      j->slot, rapt_strerror(rc));
                r->warned_cg = true;
            }
        }
    }

    snprintf(r->env_seq, sizeof(r->env_seq), "PARALLEL_SEQ=%llu", (unsigned long long)j->seq);
    snprintf(r->env_slot, sizeof(r->env_slot), "PARALLEL_JOBSLOT=%u", j->slot);
    rapt__spawn_req rq = {.path = path,
                          .argv = argv,
                          .envp = r->envp,
                          .fd = {r->devnull, wr[0], wr[1]},
                          .cgroup_procs = procs,
                          .pdeathsig = SIGKILL,
                          .reset = &r->reset,
                          .mask = &r->mask};
    rapt__spawn_res res;
    int rc = rapt__spawn(&r->sp, &rq, &res);
    if (rc == 0 && res.exec_errno == ENOEXEC && !shell_mode(r, j)) {
        /* A file without a #! line is a shell script: run it with the shell, as execvp and
         * every shell do. Rare, so the argv is allocated here. */
        size_t n = 0;
        while (argv[n])
            n++;
        char **sargv = calloc(n + 2, sizeof(*sargv));
        if (sargv) {
            sargv[0] = r->shell_comm;
            sargv[1] = (char *)path;
            for (size_t k = 1; k < n; k++)
                sargv[k + 1] = argv[k];
            rq.path = r->o->shell;
            rq.argv = sargv;
            rc = rapt__spawn(&r->sp, &rq, &res);
            free(sargv);
        }
    }
    free(lookup);
    for (int s = 0; s < 2; s++) {
        if (wr[s] >= 0)
            close(wr[s]);
    }
    if (rc < 0) {
        spawn_failed(r, j, rc, now);
        return;
    }
    if (res.exec_errno) {
        exec_failed(r, j, argv[0], res.exec_errno, now);
        return;
    }
    j->pid = res.pid;
    j->pidfd = res.pidfd;
    j->in_cgroup = procs >= 0 && res.cgroup_errno == 0;
    if (res.cgroup_errno && !r->warned_cg) {
        logf_(r, RAPT_LOG_WARN,
              "a job could not join its slot's cgroup (%s); its memory is "
              "measured by sampling /proc",
              strerror(res.cgroup_errno));
        r->warned_cg = true;
    }
    fire(r, j, RAPT__JE_SPAWNED, now);
    if (j->pidfd >= 0)
        rapt__loop_add(&r->loop, j->pidfd, tag_of(K_PIDFD, j->slot, j->gen));
    for (int s = 0; s < 2; s++) {
        if (j->pipe[s] >= 0)
            rapt__loop_add(&r->loop, j->pipe[s], tag_of(s ? K_ERR : K_OUT, j->slot, j->gen));
    }
    if (r->ev) {
        rapt__ev_job e;
        fill_ev_job(r, j, &e);
        rapt__events_job_start(r->ev, &e, now, j->t_start_wall);
        check_events(r);
    }
    if (j->pipe[0] < 0 && j->pipe[1] < 0)
        fire(r, j, RAPT__JE_EOF, now); /* nothing captured: output is "closed" from the start */
}

/* ---- the loop's events ------------------------------------------------------------------- */

static rjob *job_for(runner *r, uint64_t tag, enum ev_kind *kind)
{
    unsigned slot = (unsigned)(tag & 0xffffff);
    *kind = (enum ev_kind)((tag >> 24) & 0xff);
    if (slot == 0 || slot > r->nslots)
        return NULL;
    rjob *j = r->slots[slot - 1];
    /* An event of an attempt that is already over (closed fds can still be in the batch). */
    if (!j || j->gen != (uint32_t)(tag >> 32))
        return NULL;
    return j;
}

/* The leader may have ended: reap it (WNOHANG - a pidfd is readable only once the process
 * is a zombie, but with the SIGCHLD fallback every running job is asked). */
static void on_exit_ready(runner *r, rjob *j, uint64_t now)
{
    if (j->st == RAPT__JS_REAPED || j->st == RAPT__JS_STOPPING_REAPED || j->pid <= 0)
        return;
    rapt__exit ex;
    bool from_shell = false;
    int rc =
        rapt__reap(&r->root, j->pid, shell_mode(r, j) ? r->shell_comm : NULL, &ex, &from_shell);
    if (rc <= 0)
        return;
    j->ex = ex;
    j->from_shell = from_shell;
    if (j->pidfd >= 0) {
        close(j->pidfd); /* also leaves the epoll set: nobody else holds it */
        j->pidfd = -1;
    }
    fire(r, j, RAPT__JE_EXIT, now);
}

static void on_output(runner *r, rjob *j, int s, uint64_t now)
{
    if (j->pipe[s] < 0)
        return;
    bool eof = false;
    int rc = rapt__out_read(r->out, &j->out, s, j->pipe[s], &eof);
    if (rc < 0 || eof) {
        close(j->pipe[s]);
        j->pipe[s] = -1;
        if (j->pipe[0] < 0 && j->pipe[1] < 0)
            fire(r, j, RAPT__JE_EOF, now);
    }
}

/* Ends every running job: gracefully (the term sequence) or, when now is set, with SIGKILL. */
static void end_all(runner *r, const char *reason, bool now_kill, uint64_t now)
{
    for (unsigned s = 0; s < r->nslots; s++) {
        rjob *j = r->slots[s];
        if (!j)
            continue;
        if (!j->kill_reason)
            j->kill_reason = reason;
        if (now_kill)
            fire(r, j, RAPT__JE_KILL_NOW, now);
        else if (!rapt__job_state_stopping(j->st))
            fire(r, j, RAPT__JE_KILL, now);
    }
}

static void on_signal(runner *r, int sig, uint64_t now)
{
    if (sig == SIGCHLD) {
        /* Kernels without pidfds: find which jobs ended. */
        for (unsigned s = 0; s < r->nslots; s++) {
            if (r->slots[s])
                on_exit_ready(r, r->slots[s], now);
        }
        return;
    }
    if (sig == SIGHUP) {
        if (!r->stop) {
            r->stop = 1;
            r->stop_reason = "interrupt";
            logf_(r, RAPT_LOG_WARN,
                  "SIGHUP: starting no more jobs; waiting for the %u running (SIGTERM ends them)",
                  r->running);
        }
        return;
    }
    r->nint++;
    r->stop = 2;
    if (!r->stop_reason || strcmp(r->stop_reason, "error") != 0)
        r->stop_reason = "interrupt";
    if (r->nint == 1) {
        if (r->running)
            logf_(r, RAPT_LOG_WARN, "%s: ending the %u running job%s (again to kill at once)",
                  sig == SIGINT ? "SIGINT" : "SIGTERM", r->running, r->running == 1 ? "" : "s");
        end_all(r, "interrupt", false, now);
    } else {
        end_all(r, "interrupt", true, now);
    }
}

static uint64_t job_deadline(const runner *r, const rjob *j)
{
    if (!rapt__job_state_live(j->st) || rapt__job_state_stopping(j->st))
        return 0;
    if (r->o->timeout_ns)
        return j->t_start + r->o->timeout_ns;
    if (r->o->timeout_pct > 0 && r->med.count)
        return j->t_start + (uint64_t)(r->o->timeout_pct * r->med.value * 1e9);
    return 0;
}

/* ---- the tick: sampling, samples, progress ----------------------------------------------- */

/* One line on stderr, redrawn in place ("\r" + erase to the end of the line). Called from the
 * tick only when stderr is a terminal; a write error turns progress off for good. */
static void draw_progress(runner *r, uint64_t now, bool last)
{
    char line[256];
    size_t n = 0;
    double el = (double)(now - r->t0) / 1e9;
    double rate = el > 0 ? (double)r->done / el : 0;
    if (r->o->bar && r->total_known && r->total) {
        double f = (double)r->done / (double)r->total;
        if (f > 1)
            f = 1;
        int w = 24, k = (int)(f * w);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "[");
        for (int i = 0; i < w; i++)
            line[n++] = i < k ? '#' : (i == k ? '>' : ' ');
        n += (size_t)snprintf(line + n, sizeof(line) - n, "] %3.0f%% ", f * 100);
    }
    if (r->total_known)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%llu/%llu done",
                              (unsigned long long)r->done, (unsigned long long)r->total);
    else
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%llu done", (unsigned long long)r->done);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ", %u running, %.1f/s", r->running, rate);
    if (r->total_known && rate > 0 && r->total > r->done) {
        double eta = (double)(r->total - r->done) / rate;
        n += (size_t)snprintf(line + n, sizeof(line) - n, ", ETA %u:%02u", (unsigned)(eta / 60),
                              (unsigned)fmod(eta, 60));
    }
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    char buf[300];
    int m = snprintf(buf, sizeof(buf), "\r\033[Krapt: %.*s%s", (int)n, line, last ? "\n" : "");
    if (m > 0 && write(STDERR_FILENO, buf, (size_t)m) < 0)
        r->progress = false;
    r->last_draw = now;
}

/* The periodic tick: each running job's current memory, from its slot cgroup (one read) or
 * from /proc (the fallback, which is also how its peak is found). Sample records and the
 * progress line ride on it. Memory-aware admission (issue 4) will act on these figures. */
/* Protection: one decision per tick from the state table (admit.h), carried out here. */
static void mem_protect(runner *r, uint64_t now)
{
    const rapt__adm_cfg *c = &r->o->mem.cfg;
    rapt__adm_job view[64];
    rjob *who[64];
    size_t n = 0;
    unsigned active = 0;
    for (unsigned s = 0; s < r->nslots; s++) {
        rjob *j = r->slots[s];
        if (!j || !rapt__job_state_live(j->st) || j->pid <= 0)
            continue;
        bool stopping = rapt__job_state_stopping(j->st);
        if (!stopping && !j->adm.suspended)
            active++;
        /* Victims are chosen among the 64 youngest-numbered slots at most; a run with more
         * jobs at once than that still has plenty of candidates. */
        if (n < RAPT__ARRAY_SIZE(view)) {
            view[n] = j->adm;
            view[n].stopping = stopping;
            who[n++] = j;
        }
    }
    rapt__prot_event ev =
        rapt__prot_classify(c, r->limit, r->avail_known ? r->avail : r->limit, r->psi);
    rapt__prot_step st = rapt__prot_transition(r->prot, ev, c->mode, active, r->nsuspended);
    r->prot = st.next;
    if (st.action == RAPT__PA_NONE)
        return;
    int i = rapt__adm_pick(view, n, st.action == RAPT__PA_RESUME_OLDEST);
    if (i < 0) {
        r->prot = r->nsuspended ? RAPT__PS_SUSPENDED : RAPT__PS_CALM;
        return;
    }
    rjob *j = who[i];
    uint64_t crit = (uint64_t)((double)r->limit * c->critical);
    const char *what = st.action == RAPT__PA_STOP_YOUNGEST      ? "requeue"
                       : st.action == RAPT__PA_SUSPEND_YOUNGEST ? "suspend"
                                                                : "resume";
    if (r->ev) {
        rapt__events_protect(r->ev, j->seq, j->attempt, what,
                             r->avail_known ? known(r->avail) : unknown, known(crit),
                             isnan(r->psi) ? -1 : r->psi, now, rapt__wall_ns());
        check_events(r);
    }
    switch (st.action) {
    case RAPT__PA_STOP_YOUNGEST:
        explain(r,
                "memory low (%s available, critical line %s%s): stopping job %llu, the "
                "youngest (%s in use), to run it again later",
                sz(r->avail), sz(crit),
                !isnan(r->psi) && r->psi > c->psi_max ? ", memory pressure" : "",
                (unsigned long long)j->seq, sz(j->mem_current));
        r->victim_seq = j->seq;
        j->kill_reason = "memory";
        fire(r, j, RAPT__JE_KILL, now);
        break;
    case RAPT__PA_SUSPEND_YOUNGEST:
        explain(r, "memory low (%s available): suspending job %llu, the youngest", sz(r->avail),
                (unsigned long long)j->seq);
        send_group(r, j, SIGSTOP, "memory", now);
        j->adm.suspended = true;
        r->nsuspended++;
        break;
    case RAPT__PA_RESUME_OLDEST:
        explain(r, "memory back (%s available): resuming job %llu", sz(r->avail),
                (unsigned long long)j->seq);
        send_group(r, j, SIGCONT, "memory", now);
        j->adm.suspended = false;
        if (r->nsuspended)
            r->nsuspended--;
        break;
    case RAPT__PA_NONE: break;
    }
}

/* The memory side of the tick: fresh limit, available memory and pressure; every running
 * job's hold brought up to date in the gate; the gate's capacity set to the new budget; then
 * protection. */
static void mem_tick(runner *r, uint64_t now)
{
    const rapt__adm_cfg *c = &r->o->mem.cfg;
    rapt_sample smp;
    if (r->mon && rapt_monitor_sample(r->mon, &smp) == 0) {
        if (smp.mem_known) {
            r->limit = smp.mem_limit;
            r->avail = smp.mem_available;
            r->avail_known = true;
        }
        r->psi = smp.value[RAPT_METRIC_PSI_MEMORY];
    } else if (r->have_si && rapt_sys_refresh(NULL, &r->si_live) == 0) {
        r->limit = r->si_live.mem.limit;
        r->avail = r->si_live.mem.available;
        r->avail_known = r->si_live.mem.available_known;
    }
    uint64_t cur_sum = 0, out = 0;
    for (unsigned s = 0; s < r->nslots; s++) {
        rjob *j = r->slots[s];
        if (!j || !j->hold)
            continue;
        rapt__adm_observe(&j->adm, j->mem_current, now);
        if (r->running > 1)
            j->shared = true;
        uint64_t h = rapt__adm_hold(c, &j->adm, now);
        /* A job that grew past what it holds is charged the difference whether or not it
         * fits: the gate then sits above its capacity and admits nothing until it is paid
         * back. A job on a plateau gives back what it turned out not to need. */
        if (h > j->hold)
            rapt_gate_charge(r->gate, 0, h - j->hold);
        else if (h < j->hold)
            rapt_gate_release(r->gate, 0, j->hold - h);
        j->hold = h;
        cur_sum += j->mem_current;
        out += rapt__sat_sub(h, j->mem_current);
    }
    r->jobs_current = cur_sum;
    r->outstanding = out;
    r->budget = rapt__adm_budget(c, r->limit, r->avail_known ? r->avail : r->limit, cur_sum);
    rapt_gate_resize(r->gate, RAPT_GATE_UNLIMITED, r->budget);
    mem_protect(r, now);
}

/* The CPU time of every job so far: the finished ones (rapt's waited-for children, with
 * what they waited for) and the running ones' process trees now. */
static uint64_t jobs_cpu_ns(runner *r)
{
    struct rusage ru;
    uint64_t ns = 0;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
        ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000 +
             (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000;
    for (unsigned s = 0; s < r->nslots; s++) {
        rjob *j = r->slots[s];
        uint64_t t;
        if (j && j->pid > 0 && j->st != RAPT__JS_REAPED && j->st != RAPT__JS_STOPPING_REAPED &&
            rapt__proc_tree_cpu(&r->root, j->pid, &t) == 0)
            ns += t;
    }
    return ns;
}

/* The sample's cpu_pct: the jobs' CPU since the last sample, as a share of the effective
 * CPUs (docs/events.md). Per sample (1 Hz), a walk of the running jobs' trees: cheap next to
 * the jobs, and exact to the run where a cgroup's figure would count the whole container.
 * A job reaped between two samples moves its time from the trees to the rusage, so the sum
 * only grows; what falls between (a zombie's last ticks) is clamped, never negative. */
static void sample_cpu(runner *r, uint64_t now)
{
    uint64_t cpu = jobs_cpu_ns(r);
    unsigned cpus = r->o->cpus ? r->o->cpus : r->o->si ? r->o->si->cpu.effective : 0;
    if (now > r->cpu_prev_t && cpus) {
        double used = (double)rapt__sat_sub(cpu, r->cpu_prev_ns);
        r->cpu_pct = RAPT__MIN(100.0, 100.0 * used / ((double)(now - r->cpu_prev_t) * cpus));
    }
    r->cpu_prev_ns = RAPT__MAX(cpu, r->cpu_prev_ns);
    r->cpu_prev_t = now;
}

static void tick(runner *r, uint64_t now)
{
    rapt__ev_sample_job sj[64];
    size_t nsj = 0;
    uint64_t used = 0;
    bool used_known = false;
    for (unsigned s = 0; s < r->nslots; s++) {
        rjob *j = r->slots[s];
        if (!j || j->pid <= 0 || j->st == RAPT__JS_REAPED || j->st == RAPT__JS_STOPPING_REAPED)
            continue;
        uint64_t cur;
        if (j->in_cgroup) {
            if (rapt__jobcg_current(r->cg, j->slot, &cur) != 0)
                continue;
        } else {
            if (rapt__proc_tree_rss(&r->root, j->pid, &cur) != 0)
                continue;
            j->sampled = true;
            if (cur > j->peak_sampled)
                j->peak_sampled = cur;
        }
        j->mem_current = cur;
        used += cur;
        used_known = true;
        if (nsj < RAPT__ARRAY_SIZE(sj))
            sj[nsj++] = (rapt__ev_sample_job){j->seq, known(cur)};
    }
    if (r->mem)
        mem_tick(r, now);
    if (r->ev && now - r->last_sample >= TICK_EVENTS_NS) {
        r->last_sample = now;
        /* Once a second: cheap enough (a few small files), and what the report plots. */
        bool avail = r->mem ? r->avail_known
                            : r->have_si && rapt_sys_refresh(NULL, &r->si_live) == 0 &&
                                  r->si_live.mem.available_known;
        uint64_t avail_v = r->mem ? r->avail : r->si_live.mem.available;
        sample_cpu(r, now);
        const char *limited = r->running >= (r->target ? r->target : r->nslots) ? "slots"
                              : r->input_done && !queued(r)                     ? "none"
                              : r->last_why == WHY_MEMORY                       ? "memory"
                              : r->last_why == WHY_PRESSURE                     ? "pressure"
                              : r->input_done                                   ? "none"
                                                                                : "input";
        rapt__ev_sample smp = {.running = r->running,
                               .slots = r->nslots,
                               .queued = r->total_known ? known(r->total - r->done - r->running)
                                                        : unknown,
                               .done = r->done,
                               .mem_used = used_known ? known(used) : unknown,
                               .mem_available = avail ? known(avail_v) : unknown,
                               .mem_budget = r->mem ? known(r->budget) : unknown,
                               .cpu_pct = isnan(r->cpu_pct) ? -1 : r->cpu_pct,
                               .limited_by = limited,
                               .jobs = sj,
                               .njobs = r->running <= 64 ? nsj : 65};
        rapt__events_sample(r->ev, &smp, now, rapt__wall_ns());
        check_events(r);
    }
    if (r->progress && now - r->last_draw >= TICK_PROGRESS_NS)
        draw_progress(r, now, false);
    /* Attempts reach the history file once a second at the latest, so a crash loses little;
     * a flush that finds another rapt writing keeps them for the next tick. */
    if (r->hist && now >= r->next_flush) {
        r->next_flush = now + HISTORY_FLUSH_NS;
        if (rapt_history_pending(r->hist))
            history_error(r, rapt_history_flush(r->hist), "writing attempts");
    }
    tune_step(r, now);
}

/* The timer fired: whichever deadlines passed. A job whose timeout and term step both fell
 * due is handled once - stopping jobs only step their sequence. */
static void on_timer(runner *r, uint64_t now)
{
    rapt__loop_timer_ack(&r->loop);
    for (unsigned s = 0; s < r->nslots; s++) {
        rjob *j = r->slots[s];
        if (!j)
            continue;
        if (rapt__job_state_stopping(j->st)) {
            if (j->term_at && now >= j->term_at)
                fire(r, j, RAPT__JE_TERM_STEP, now);
            continue;
        }
        uint64_t dl = job_deadline(r, j);
        if (dl && now >= dl) {
            j->kill_reason = "timeout";
            fire(r, j, RAPT__JE_KILL, now);
        }
    }
    if (r->tick_ns && now >= r->next_tick) {
        tick(r, now);
        r->next_tick = now + r->tick_ns;
    }
}

/* The earliest thing the timer must wake the loop for. A scan of the slots on every
 * iteration: slots are few (a heap would cost more than it saves below hundreds of them),
 * and the scan touches only the job structs already in cache. */
static uint64_t next_deadline(const runner *r)
{
    uint64_t best = 0;
#define CONSIDER(t)                     \
    do {                                \
        uint64_t t_ = (t);              \
        if (t_ && (!best || t_ < best)) \
            best = t_;                  \
    } while (0)
    for (unsigned s = 0; s < r->nslots; s++) {
        const rjob *j = r->slots[s];
        if (!j)
            continue;
        if (rapt__job_state_stopping(j->st))
            CONSIDER(j->term_at);
        else
            CONSIDER(job_deadline(r, j));
    }
    if (r->waiting_delay)
        CONSIDER(r->delay_until);
    if (r->tick_ns)
        CONSIDER(r->next_tick);
#undef CONSIDER
    return best;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void dispatch(runner *r, const rapt__loop_ev *ev, uint64_t now)
{
    if (ev->tag == RAPT__LOOP_SIGNAL) {
        int sig;
        while (rapt__loop_signal(&r->loop, &sig) == 1)
            on_signal(r, sig, now);
        return;
    }
    if (ev->tag == RAPT__LOOP_TIMER) {
        on_timer(r, now);
        return;
    }
    enum ev_kind kind = (enum ev_kind)((ev->tag >> 24) & 0xff);
    if (kind == K_PSI) {
        /* Tasks stalled on memory: measure now rather than at the next tick. */
        r->psi_wakeups++;
        if (r->tick_ns) {
            tick(r, now);
            r->next_tick = now + r->tick_ns;
        }
        return;
    }
    if (kind == K_INPUT) {
        /* Input is readable: stop watching until admission asks for input again (a
         * level-triggered fd nobody reads would wake the loop forever). */
        int fd = rapt__input_pollfd(r->in);
        if (fd >= 0)
            rapt__loop_del(&r->loop, fd);
        r->input_watched = false;
        return;
    }
    rjob *j = job_for(r, ev->tag, &kind);
    if (!j)
        return;
    if (kind == K_PIDFD)
        on_exit_ready(r, j, now);
    else if (kind == K_OUT || kind == K_ERR)
        on_output(r, j, kind == K_ERR, now);
}

/* A write error on rapt's stdout ends the run: there is no one to print to any more. */
static void check_output(runner *r, uint64_t now)
{
    int e = rapt__out_error(r->out);
    if (!e || r->fatal)
        return;
    r->fatal = e;
    /* A closed stdout (rapt run ... | head) is the reader's choice, not worth a message. */
    if (e != -EPIPE)
        logf_(r, RAPT_LOG_ERROR, "writing jobs' output: %s", rapt_strerror(e));
    r->stop = 2;
    r->stop_reason = "error";
    end_all(r, "interrupt", false, now);
}

/* Admission runs before every wait, so a slot freed by an event is refilled in the same
 * iteration. Jobs are never started while a batch of events is being handled: an fd closed
 * during the batch cannot be reused by a new job whose events would then be misread. */
static void run_loop(runner *r)
{
    rapt__loop_ev evs[64];
    for (;;) {
        uint64_t now = rapt__now_ns();
        for (;;) {
            rjob *j;
            enum why w = admit(r, now, &j);
            if (w != WHY_OK) {
                note_decision(r, w, j ? j : r->ready_head, now);
                if (w == WHY_INPUT && !r->input_watched) {
                    int fd = rapt__input_pollfd(r->in);
                    if (fd >= 0 && rapt__loop_add(&r->loop, fd, tag_of(K_INPUT, 0, 0)) == 0)
                        r->input_watched = true;
                }
                break;
            }
            take(r, j, now);
            start(r, j, now);
            tune_step(r, now);
            check_output(r, now);
            now = rapt__now_ns();
        }
        if (r->running == 0 && (r->stop || (r->input_done && !queued(r))))
            break;
        rapt__loop_arm(&r->loop, next_deadline(r));
        int n = rapt__loop_wait(&r->loop, evs, (int)RAPT__ARRAY_SIZE(evs));
        if (n < 0) {
            logf_(r, RAPT_LOG_ERROR, "waiting for events: %s", rapt_strerror(n));
            r->fatal = n;
            r->stop = 2;
            r->stop_reason = "error";
            end_all(r, "interrupt", true, rapt__now_ns());
            if (r->running == 0)
                break;
            continue;
        }
        now = rapt__now_ns();
        for (int i = 0; i < n; i++)
            dispatch(r, &evs[i], now);
        check_output(r, now);
    }
}

/* --dry-run: every job's command line, in input order, nothing started. Blocking on input is
 * fine here: there is nothing else to wait for. */
static void dry_run(runner *r)
{
    for (;;) {
        rjob *j = r->ready_head ? ready_pop(r) : NULL;
        if (!j) {
            int rc = pull(r, &j);
            if (rc == RAPT__INPUT_AGAIN) {
                /* Nothing runs meanwhile: block until the input is readable. */
                struct pollfd pfd = {.fd = rapt__input_pollfd(r->in), .events = POLLIN};
                poll(&pfd, 1, -1);
                continue;
            }
            if (rc <= 0)
                break;
        }
        j->slot = 1;
        const char *line = job_line(r, j);
        rapt__out_print(r->out, 0, line, j->line.len);
        rapt__out_print(r->out, 0, "\n", 1);
        r->started++;
        r->done++;
        r->succeeded++;
        job_release(r, j);
        if (rapt__out_error(r->out))
            break;
    }
}

/* ---- setup and teardown ------------------------------------------------------------------ */

static int fail(runner *r, bool usage, int rc, const char *fmt, ...) RAPT__PRINTF(4, 5);
static int fail(runner *r, bool usage, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->error, sizeof(r->res->error), fmt, ap);
    va_end(ap);
    r->res->usage_error = usage;
    return rc < 0 ? rc : -EINVAL;
}

static void setup_measure(runner *r)
{
    r->measure = "proc";
    rapt__jobcg_opts co = {.root = &r->root,
                           .si = r->o->si,
                           .self = getpid(),
                           .log = r->o->log,
                           .log_ud = r->o->log_ud};
    /* Leftovers of a rapt that was killed (SIGKILL, a crash) die now, whatever we measure. */
    unsigned runs, killed;
    if (r->o->si)
        rapt__jobcg_reap_stale(&co, &runs, &killed);
    if (r->o->measure == RAPT__MEASURE_PROC || !r->o->si)
        return;
    char why[256] = "";
    int rc = rapt__jobcg_open(&r->cg, &co, why, sizeof(why));
    if (rc < 0) {
        r->cg = NULL;
        /* With memory-aware admission on, losing the slot cgroups is worth one warning: peaks
         * are then sampled (short spikes can be missed) and OOM kills recognised from the
         * container's counter. Protection itself works the same. */
        logf_(r,
              r->o->measure == RAPT__MEASURE_CGROUP ? RAPT_LOG_ERROR
              : r->o->mem.aware                     ? RAPT_LOG_WARN
                                                    : RAPT_LOG_INFO,
              "cannot make per-job memory cgroups (%s); measuring jobs' memory by sampling /proc",
              why);
        return;
    }
    r->measure = rapt__jobcg_method(r->cg);
    r->slot_ooms = calloc(r->nslots, sizeof(*r->slot_ooms));
    for (unsigned s = 1; r->slot_ooms && s <= r->nslots && s <= 1; s++)
        rapt__jobcg_oom_kills(r->cg, s, &r->slot_ooms[s - 1]);
}

/* Which signals a job must get back at SIG_DFL before exec: those rapt handles itself (a
 * handler must never run on the child's borrowed stack), and SIGPIPE, which rapt ignores but
 * its caller did not. Everything else keeps the disposition rapt was started with. */
static void setup_signals(runner *r, sigset_t *handled)
{
    sigemptyset(&r->reset);
    for (int s = 1; s < NSIG; s++) {
        struct sigaction sa;
        if (sigaction(s, NULL, &sa) == 0 &&
            ((sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)))
            sigaddset(&r->reset, s);
    }
    struct sigaction pipe_old, ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &ign, &pipe_old) == 0 && pipe_old.sa_handler == SIG_DFL)
        sigaddset(&r->reset, SIGPIPE);
    sigemptyset(handled);
    sigaddset(handled, SIGINT);
    sigaddset(handled, SIGTERM);
    sigaddset(handled, SIGHUP);
    if (!r->sp.pidfd)
        sigaddset(handled, SIGCHLD);
    sigprocmask(SIG_BLOCK, handled, &r->mask); /* r->mask: what jobs start with */
    r->handled = *handled;
}

/* Memory-aware admission: the gate (capacity = the budget), the monitor that refreshes the
 * budget every tick, the per-job ceiling, the OOM counter's baseline. */
static int setup_memory(runner *r)
{
    const rapt__run_opts *o = r->o;
    const rapt_sys_info *si = o->si;
    r->mem = true;
    r->limit = si->mem.limit;
    r->avail = si->mem.available_known ? si->mem.available : si->mem.limit;
    r->avail_known = si->mem.available_known;
    r->budget = rapt__adm_budget(&o->mem.cfg, r->limit, r->avail, 0);
    rapt_monitor_opts mo;
    rapt_monitor_opts_init(&mo);
    mo.eta = o->mem.cfg.eta;
    mo.capacity = 16; /* the runner reads the latest sample only */
    mo.log = o->log;
    mo.log_userdata = o->log_ud;
    if (rapt_monitor_create(&r->mon, &mo) < 0)
        r->mon = NULL; /* rapt_sys_refresh() then does the refreshing */
    /* Between ticks, the kernel's PSI trigger wakes the loop when tasks stall on memory for
     * 100 ms within a second (10%): the tick's measurements are then taken at once. System-wide
     * (/proc/pressure/memory): a v1 memory cgroup has no PSI of its own. Without
     * CAP_SYS_RESOURCE the kernel only takes windows in multiples of 2 s, hence the second try
     * (10% of 2 s). Where the kernel has no PSI or refuses both, the 10 Hz tick alone refreshes. */
    int pfd = rapt__psi_trigger_open("/proc/pressure/memory", 100000, 1000000);
    if (pfd == -EINVAL || pfd == -EPERM)
        pfd = rapt__psi_trigger_open("/proc/pressure/memory", 200000, 2000000);
    if (pfd >= 0) {
        if (rapt__loop_add_pri(&r->loop, pfd, tag_of(K_PSI, 0, 0)) == 0)
            r->psi_fd = pfd;
        else
            close(pfd);
    }
    rapt_gate_opts go;
    rapt_gate_opts_init(&go);
    go.slots = RAPT_GATE_UNLIMITED;
    go.bytes = r->budget;
    /* What can never fit is the policy's call (a job bigger than the limit), not the gate's:
     * a budget that dips for a moment only delays. */
    go.max_slots = RAPT_GATE_UNLIMITED;
    go.max_bytes = RAPT_GATE_UNLIMITED;
    int rc = rapt_gate_create(&r->gate, &go);
    if (rc < 0)
        return fail(r, false, rc, "cannot create the memory gate: %s", rapt_strerror(rc));
    if (o->mem.job_ceiling) {
        if (!r->cg)
            logf_(r, RAPT_LOG_WARN,
                  "--mem-limit-per-job needs per-job memory cgroups, which rapt cannot make "
                  "here; jobs are not limited one by one");
        else if ((rc = rapt__jobcg_set_ceiling(r->cg, o->mem.job_ceiling)) < 0)
            logf_(r, RAPT_LOG_WARN, "--mem-limit-per-job: cannot set the slots' limit: %s",
                  rapt_strerror(rc));
    }
    uint64_t k;
    if (container_ooms(r, &k) == 0)
        r->ooms_container = k;
    return 0;
}

/* Everything that can fail before a job runs fails here, with res->error set: the joblog of
 * another command, an unwritable log, no loop. Nothing has been started when it returns < 0. */
static int setup(runner *r)
{
    const rapt__run_opts *o = r->o;
    r->in = o->input;
    r->devnull = -1;
    r->psi_fd = -1;
    r->nslots = o->slots ? o->slots : 1;
    r->cap = r->nslots;
    r->t0 = rapt__now_ns();
    r->t0_wall = rapt__wall_ns();
    r->total = o->total_jobs;
    r->total_known = o->total_known;
    if (o->si) {
        r->si_live = *o->si;
        r->have_si = true;
    }
    int rc;
    if ((rc = rapt__root_open(&r->root, "/")) < 0)
        return fail(r, false, rc, "opening /: %s", rapt_strerror(rc));
    if ((rc = rapt__tmpl_compile(&r->tmpl, o->command)) < 0 ||
        (o->tagstring && (rc = rapt__tmpl_compile(&r->tagt, o->tagstring)) < 0))
        return fail(r, false, rc, "out of memory");
    const char *sh = o->shell ? o->shell : "/bin/sh";
    const char *base = strrchr(sh, '/');
    rapt__strlcpy(r->shell_comm, base ? base + 1 : sh, sizeof(r->shell_comm));
    r->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (r->devnull < 0)
        return fail(r, false, -errno, "opening /dev/null: %s", strerror(errno));
    r->slots = calloc(r->nslots, sizeof(*r->slots));
    if (!r->slots)
        return fail(r, false, -ENOMEM, "out of memory");

    rapt__out_opts oo = {.mode = o->results ? RAPT__OUT_GROUP : o->out_mode,
                         .keep_order = o->keep_order,
                         .fd = {STDOUT_FILENO, STDERR_FILENO},
                         .trailer = joblog_trailer,
                         .trailer_ctx = r};
    if (o->dry_run)
        oo.mode = RAPT__OUT_UNGROUP;
    if ((rc = rapt__out_create(&r->out, &oo)) < 0)
        return fail(r, false, rc, "out of memory");

    /* Resuming: what the joblog says is done. */
    bool truncate_log = !o->joblog_append;
    uint64_t keep_len = 0;
    if (o->resume != RAPT__RESUME_NONE) {
        char err[256] = "";
        rc = rapt__joblog_read(o->joblog, &r->jls, err, sizeof(err));
        if (rc == RAPT_EPARSE)
            return fail(r, true, rc, "--%s: '%s' is not a joblog: %s",
                        o->resume == RAPT__RETRY_FAILED    ? "retry-failed"
                        : o->resume == RAPT__RESUME_FAILED ? "resume-failed"
                                                           : "resume",
                        o->joblog, err);
        if (rc < 0 && rc != -ENOENT)
            return fail(r, true, rc, "--resume: cannot read the joblog '%s': %s", o->joblog,
                        rapt_strerror(rc));
        r->have_jls = rc == 0 && r->jls.records > 0;
        truncate_log = rc == -ENOENT || (r->jls.torn && r->jls.good_len == 0);
        keep_len = r->jls.torn ? r->jls.good_len : 0;
        if (o->resume == RAPT__RETRY_FAILED) {
            if (r->have_jls && (rc = rapt__joblog_iter_open(&r->retry_it, o->joblog, &r->jls)) < 0)
                return fail(r, false, rc, "--retry-failed: reading '%s': %s", o->joblog,
                            rapt_strerror(rc));
            if (!r->retry_it)
                r->input_done = true;
        } else {
            r->probe_pending = r->have_jls && r->jls.probe_seq > 0;
        }
    }
    if (o->joblog && !o->dry_run &&
        (rc = rapt__joblog_open(&r->jl, o->joblog, truncate_log, keep_len)) < 0)
        return fail(r, rc != -ENOSPC && rc != -EIO && rc != -EDQUOT, rc, "--joblog '%s': %s",
                    o->joblog, rapt_strerror(rc));
    if ((o->events || o->report.sink) && !o->dry_run &&
        (rc = rapt__events_open(&r->ev, o->events, o->resume != RAPT__RESUME_NONE, r->t0)) < 0)
        return fail(r, true, rc, "--events '%s': %s", o->events, rapt_strerror(rc));
    if (r->ev && o->report.sink)
        rapt__events_set_sink(r->ev, o->report.sink, o->report.sink_ud);
    if (o->results && !o->dry_run && mkdir(o->results, 0755) < 0 && errno != EEXIST)
        return fail(r, true, -errno, "--results '%s': %s", o->results, strerror(errno));

    if ((rc = rapt__spawner_init(&r->sp)) < 0)
        return fail(r, false, rc, "cannot prepare spawning: %s", rapt_strerror(rc));
    if ((rc = build_env(r)) < 0)
        return fail(r, false, rc, "out of memory");
    sigset_t handled;
    setup_signals(r, &handled);
    if ((rc = rapt__loop_open(&r->loop, &handled)) < 0)
        return fail(r, false, rc, "cannot set up the event loop: %s", rapt_strerror(rc));
    r->loop_open = true;
    if (!o->dry_run) {
        setup_measure(r);
        if (o->measure == RAPT__MEASURE_CGROUP && !r->cg)
            return fail(r, false, RAPT_ENOCGROUP, "--measure cgroup: no per-slot cgroups here");
    } else {
        r->measure = "proc";
    }

    /* The class of the jobs, the model, the order (docs/model.md, docs/sched.md). */
    r->cls = o->learn.class_name           ? o->learn.class_name
             : rapt__tmpl_text(r->tmpl)[0] ? rapt__tmpl_text(r->tmpl)
                                           : NULL;
    if (!o->dry_run) {
        if ((rc = rapt_model_create(&r->model, NULL)) < 0)
            return fail(r, false, rc, "out of memory");
        if (o->learn.order != RAPT_ORDER_INPUT) {
            rapt_sched_opts so;
            rapt_sched_opts_init(&so);
            so.order = o->learn.order;
            if ((rc = rapt_sched_create(&r->q, &so)) < 0)
                return fail(r, false, rc, "out of memory");
        }
    }

    r->target = o->jobs_auto && o->cpus && o->cpus < r->nslots ? o->cpus : r->nslots;
    r->psi = NAN;
    r->cpu_pct = NAN;
    r->cpu_prev_t = r->t0;
    r->cpu_prev_ns = jobs_cpu_ns(r);
    if (o->mem.aware && !o->dry_run && o->si && o->si->mem.limit_bound != RAPT_BOUND_UNKNOWN &&
        (rc = setup_memory(r)) < 0)
        return rc;

    /* A program named literally is looked up once for the whole run. */
    const char *prog = rapt__tmpl_program(r->tmpl);
    if (prog && rapt__tmpl_direct(r->tmpl)) {
        r->prog = find_program(prog);
        r->prog_missing = r->prog == NULL;
    }

    r->progress = (o->bar || o->eta) && isatty(STDERR_FILENO) && !o->dry_run;
    /* The tick samples every running job's memory ten times a second, whatever measures it:
     * from /proc it is also how peaks are found; from a slot cgroup it is one pread per job,
     * and what memory-aware admission will act on. An idle rapt wakes ten times a second. */
    r->tick_ns = o->dry_run ? 0 : TICK_SAMPLE_NS;
    r->next_tick = r->tick_ns ? r->t0 + r->tick_ns : 0;

    /* --resume: check, before anything runs, that the joblog belongs to this command line. The
     * jobs read on the way (not in the log, so they run) wait in the ready queue. */
    for (size_t n = 0; r->probe_pending && n < LOOKAHEAD_MAX; n++) {
        rjob *j = NULL;
        rc = pull(r, &j);
        if (rc == RAPT__INPUT_AGAIN) {
            struct pollfd pfd = {.fd = rapt__input_pollfd(r->in), .events = POLLIN};
            poll(&pfd, 1, -1);
            continue;
        }
        if (rc == RAPT_EPARSE)
            return rc; /* res->error says what */
        if (rc < 0)
            return fail(r, false, rc, "reading input: %s", rapt_strerror(rc));
        if (rc == 0)
            break;
        ready_push_back(r, j);
    }

    /* The run's id, shared by the events and the history. */
    unsigned char rnd[16];
    char *run_id = r->run_id;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        uint64_t x = r->t0_wall ^ ((uint64_t)getpid() << 32);
        memcpy(rnd, &x, 8);
        memcpy(rnd + 8, &r->t0, 8);
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(run_id + 2 * i, 3, "%02x", rnd[i]);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    const rapt_sys_info *si = o->si;
    bool limit_known = si && si->mem.limit_bound != RAPT_BOUND_UNKNOWN;
    if (o->learn.history && !o->dry_run) {
        r->hist = r->hist_read = o->learn.history;
        rapt_history_run hr;
        rapt_history_run_init(&hr);
        hr.run_id = run_id;
        hr.host = host;
        hr.command = o->command;
        hr.started = (double)r->t0_wall / 1e9;
        hr.slots = r->nslots;
        hr.cpus = si ? si->cpu.effective : 0;
        hr.mem_limit = limit_known ? (int64_t)RAPT__MIN(si->mem.limit, (uint64_t)INT64_MAX) : -1;
        hr.mem_budget = r->mem ? (int64_t)RAPT__MIN(r->budget, (uint64_t)INT64_MAX) : -1;
        /* Without a run to attach attempts to (even when other writers only held the file
         * too long) there is nothing to record into. */
        rc = rapt_history_run_begin(r->hist, &hr, &r->run_key);
        if (rc < 0) {
            logf_(r, RAPT_LOG_WARN, "history %s: recording the run: %s; continuing without history",
                  rapt_history_path(r->hist), rapt_strerror(rc));
            r->hist = NULL;
        }
        r->next_flush = r->t0 + HISTORY_FLUSH_NS;
    }

    if (r->ev) {
        char cwd[4096] = "";
        if (!getcwd(cwd, sizeof(cwd)))
            cwd[0] = '\0';
        const char *outname = o->out_mode == RAPT__OUT_LINE      ? "line"
                              : o->out_mode == RAPT__OUT_UNGROUP ? "ungroup"
                                                                 : "group";
        rapt__ev_run run = {.run_id = run_id,
                            .host = host,
                            .cwd = cwd,
                            .command = o->command,
                            .argv = o->argv,
                            .argc = o->argc,
                            .pid = getpid(),
                            .slots = r->nslots,
                            .cpus = si ? si->cpu.effective : 0,
                            .mem_limit = limit_known ? known(si->mem.limit) : unknown,
                            .mem_limit_source = limit_known ? si->mem.limit_where : NULL,
                            .mem_budget = r->mem ? known(r->budget) : unknown,
                            .env_class = si ? rapt_env_class_name(si->env_class) : NULL,
                            .measure = r->cg ? r->measure : "proc",
                            .total_jobs = r->total_known ? known(r->total) : unknown,
                            .timeout_s = o->timeout_ns ? (double)o->timeout_ns / 1e9 : -1,
                            .timeout_pct = o->timeout_pct > 0 ? o->timeout_pct * 100 : -1,
                            .retries = o->retries,
                            .halt = o->halt.when == RAPT__HALT_NEVER ? "never" : o->halt.text,
                            .order = rapt_sched_order_name(o->learn.order),
                            .output = outname,
                            .keep_order = o->keep_order,
                            .sla_s = o->report.sla_s > 0 ? o->report.sla_s : -1,
                            .sla_stages = o->report.sla_stages,
                            .nsla_stages = o->report.nsla_stages};
        rapt__events_run_start(r->ev, &run, r->t0, r->t0_wall);
        check_events(r);
    }
    return 0;
}

/* Ends what jobs left behind: process groups that outlived their leader (a daemon that closed
 * its output), then, through the slot cgroups, anything that left its group. */
static void kill_leftovers(runner *r)
{
    size_t alive = 0;
    for (size_t i = 0; i < r->nlinger; i++) {
        if (rapt__killpg(r->linger[i], SIGTERM) == 0)
            alive++;
    }
    for (int round = 0; alive && round < 20; round++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        alive = 0;
        for (size_t i = 0; i < r->nlinger; i++)
            alive += rapt__pgrp_alive(r->linger[i]);
    }
    for (size_t i = 0; i < r->nlinger; i++)
        rapt__killpg(r->linger[i], SIGKILL);
    r->nlinger = 0;
}

/* Order matters: leftover process groups are ended first, then the slot cgroups (whose
 * removal needs them empty), then the files, which must record everything up to here. */
static void teardown(runner *r)
{
    kill_leftovers(r);
    /* Jobs still in the --order queue never ran: under -k their places in the output are let
     * go before the output is flushed. */
    rapt_sched_job sj;
    while (r->q && rapt_sched_pop(r->q, rapt__now_ns(), UINT64_MAX, &sj, NULL) == 0) {
        rjob *j = sj.data;
        if (r->out)
            rapt__out_end(r->out, &j->out, true, false, NULL, 0);
        job_destroy(j);
    }
    rapt_sched_destroy(r->q);
    rapt_tune_destroy(r->tune);
    rapt_model_destroy(r->model);
    for (size_t i = 0; i < r->nloaded; i++)
        free(r->loaded[i]);
    free(r->loaded);
    rapt__buf_free(&r->fstr);
    rapt__buf_free(&r->fptr);
    if (r->cg) {
        rapt__jobcg_close(r->cg);
        r->cg = NULL;
    }
    rapt_gate_destroy(r->gate);
    rapt_monitor_destroy(r->mon);
    if (r->out)
        rapt__out_flush(r->out);
    rapt__out_destroy(r->out);
    rapt__joblog_close(r->jl);
    rapt__buf_free(&r->jlrec);
    rapt__events_close(r->ev);
    rapt__joblog_iter_close(r->retry_it);
    rapt__joblog_state_free(&r->jls);
    for (rjob *j = r->ready_head, *n; j; j = n) {
        n = j->next;
        job_destroy(j);
    }
    for (rjob *j = r->free_list, *n; j; j = n) {
        n = j->next;
        job_destroy(j);
    }
    for (unsigned s = 0; r->slots && s < r->nslots; s++) {
        if (r->slots[s])
            job_destroy(r->slots[s]);
    }
    free(r->slots);
    free(r->slot_ooms);
    free(r->linger);
    free(r->prog);
    free(r->envp);
    rapt__input_destroy(r->in);
    rapt__tmpl_destroy(r->tmpl);
    rapt__tmpl_destroy(r->tagt);
    if (r->psi_fd >= 0)
        close(r->psi_fd);
    if (r->loop_open) {
        rapt__loop_close(&r->loop);
        /* Give the caller its signal mask back (and with it any signal that arrived late). */
        sigprocmask(SIG_UNBLOCK, &r->handled, NULL);
    }
    rapt__spawner_free(&r->sp);
    if (r->devnull >= 0)
        close(r->devnull);
    if (r->root.dirfd > 0)
        rapt__root_close(&r->root);
}

/* GNU parallel's exit status (docs/run.md): an error of rapt's own wins, then --halt, then
 * an interrupted run; otherwise the number of failed jobs, capped at 101. */
static int exit_code(runner *r)
{
    if (r->fatal)
        return 255;
    if (r->halt_hit)
        return r->halt_exit;
    const rapt__halt *h = &r->o->halt;
    if (r->nint)
        return 255;
    bool left = !r->input_done || queued(r);
    if (r->stop && r->stop_reason && strcmp(r->stop_reason, "interrupt") == 0 && left)
        return 255; /* SIGHUP: what did run is fine, but not everything ran */
    if (h->when != RAPT__HALT_NEVER) {
        if (h->pct)
            return (int)ceil((double)r->failed * 100.0 / (double)(r->started ? r->started : 1));
        return r->failed > 101 ? 101 : (int)r->failed;
    }
    return r->failed > 101 ? 101 : (int)r->failed;
}

int rapt__run(const rapt__run_opts *o, rapt__run_result *res)
{
    memset(res, 0, sizeof(*res));
    runner *r = calloc(1, sizeof(*r));
    if (!r) {
        rapt__input_destroy(o->input);
        snprintf(res->error, sizeof(res->error), "out of memory");
        return -ENOMEM;
    }
    r->o = o;
    r->res = res;
    r->root.dirfd = -1;
    int rc = setup(r);
    if (rc < 0) {
        teardown(r);
        free(r);
        return rc;
    }
    if (o->dry_run)
        dry_run(r);
    else
        run_loop(r);
    uint64_t end = rapt__now_ns();
    if (r->progress)
        draw_progress(r, end, true);
    res->exit_code = exit_code(r);
    res->jobs = r->started;
    res->succeeded = r->succeeded;
    res->failed = r->failed;
    res->retried = r->retried;
    res->skipped = r->skipped;
    res->reason =
        r->fatal      ? "error"
        : r->halt_hit ? "halt"
        : r->nint || (r->stop && r->stop_reason && strcmp(r->stop_reason, "interrupt") == 0)
            ? "interrupt"
            : "done";
    kill_leftovers(r);
    if (r->cg) {
        rapt__jobcg_close(r->cg);
        r->cg = NULL;
    }
    if (r->ev) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        rapt__ev_end e = {.jobs = r->started,
                          .succeeded = r->succeeded,
                          .failed = r->failed,
                          .retried = r->retried,
                          .requeued = r->requeued,
                          .oom_killed = r->oom_killed,
                          .makespan_s = (double)(end - r->t0) / 1e9,
                          .exit_code = res->exit_code,
                          .reason = res->reason,
                          .rapt_maxrss = (uint64_t)ru.ru_maxrss * 1024u};
        rapt__events_run_end(r->ev, &e, end, rapt__wall_ns());
    }
    if (r->hist) {
        rapt_history_run_end he = {.ended = (double)rapt__wall_ns() / 1e9,
                                   .jobs = r->started,
                                   .succeeded = r->succeeded,
                                   .failed = r->failed,
                                   .exit_code = res->exit_code,
                                   .reason = res->reason};
        history_error(r, rapt_history_run_finish(r->hist, r->run_key, &he), "finishing the run");
    }
    teardown(r);
    free(r);
    return 0;
}
