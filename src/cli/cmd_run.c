/* cmd_run.c: `rapt run`, the process runner with GNU parallel's vocabulary.
 *
 *   rapt run [options] [command [arg...]] [::: value...]... [:::: file...]...
 *
 * Parses and checks everything the user typed (options end at the first word that is not
 * one, so the command's own options are left alone), opens the input sources - a missing
 * `::::` file is a usage error before anything runs - and hands the batch to rapt__run() in
 * src/lib/runner.c. Exit status follows GNU parallel (docs/run.md, man/rapt.1):
 *   0 all jobs succeeded; 1-100 that many failed; 101 more than 100 failed;
 *   --halt rules as in GNU parallel; 255 other errors, including an interrupted run;
 *   254 a usage error (2 would read as "2 jobs failed").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_report.h"
#include "lib/runner.h"
#include "rapt/rapt.h"

enum { RUN_EXIT_USAGE = 254, RUN_EXIT_OTHER = 255 };

static const char usage_text[] =
    "usage: rapt run [options] [command [arg...]] [::: value...]... [:::: file...]...\n"
    "\n"
    "Runs the command once per input record, several at a time, as fast as the machine\n"
    "allows, with GNU parallel's options. Replacement strings: {} {.} {/} {//} {/.} {#} {%}\n"
    "{n} {n.} {n/} {n//} {n/.}; with none the arguments are appended. A command without\n"
    "shell syntax is exec'd directly; anything else runs under sh -c with every value quoted.\n"
    "\n"
    "input:\n"
    "  ::: V...                values; several ::: give every combination (last fastest)\n"
    "  :::: FILE...            records from files ('-' is standard input)\n"
    "  -a, --arg-file FILE     the same as :::: FILE (repeatable)\n"
    "  -0, --null              records end with NUL instead of newline\n"
    "  -d, --delimiter D       records end with D (\\n \\t \\0 \\\\ \\xHH escapes)\n"
    "  -C, --colsep REGEX      split records into columns {1} {2} ... (Perl-style)\n"
    "  -r, --no-run-if-empty   skip blank records\n"
    "jobs:\n"
    "  -j, --jobs N|auto       most jobs at once: N, N% of the CPUs, +N or -N; auto (the\n"
    "                          default) starts at the effective CPUs (quota-aware, see\n"
    "                          'rapt info') and runs more of I/O-bound jobs, memory permitting\n"
    "  -P N                    the same as -j\n"
    "  --max-jobs N            -j auto's ceiling (default 8 x CPUs, at least 16)\n"
    "  --delay DURATION        least time between two job starts (250ms, 1.5, 2m)\n"
    "  --timeout DURATION|N%   end jobs running longer (N% of the median successful runtime)\n"
    "  --term-seq SEQ          how a job is ended: signals and waits in ms\n"
    "                          (default TERM,200,TERM,100,TERM,50,KILL,25)\n"
    "  --retries N             run a failing job up to N times in all (0: until it succeeds)\n"
    "  --halt WHEN,WHY=N       stop early: never, now|soon,fail=N|fail=N%|success=N|\n"
    "                          success=N%|done=N|done=N%\n"
    "  --shell PATH            shell for commands with shell syntax (default /bin/sh)\n"
    "  --measure MODE          job memory: auto (slot cgroups where possible), cgroup, proc\n";

/* The rest of --help: one string literal may not exceed 4095 bytes in portable C. */
static const char usage_more[] =
    "memory (on by default; see docs/admission.md):\n"
    "  --mem-per-job SIZE      reserve SIZE for every job\n"
    "  --mem-model G,SIZE      reserve G x (bytes of the job's input files) + SIZE\n"
    "  --mem-budget SIZE|N%    what jobs may use together (default 85% of the binding limit,\n"
    "                          less what other processes in the container use)\n"
    "  --mem-limit-per-job SIZE  a hard limit per job (its memory cgroup)\n"
    "  --on-pressure MODE      requeue (default: end the youngest job, run it again later,\n"
    "                          using no retry) or suspend (SIGSTOP/SIGCONT; needs swap)\n"
    "  --oom-retries N         OOM kills a job may survive before it fails (default 3)\n"
    "  --ignore-memory         start jobs on CPU slots alone, as xargs and GNU parallel do\n"
    "  --explain               say why each job waits and what protection does\n"
    "output:\n"
    "  --group                 print a job's output whole when it ends (default)\n"
    "  --line-buffer, --lb     print whole lines as they come\n"
    "  -u, --ungroup           let jobs write straight to rapt's output\n"
    "  -k, --keep-order        print jobs in input order\n"
    "  --tag                   prefix every line with the job's arguments and a tab\n"
    "  --tagstring STR         prefix every line with STR (replacement strings allowed)\n"
    "  --results DIR           save stdout, stderr and seq under DIR instead of printing\n"
    "  -v, --verbose           print each command before its output\n"
    "  --dry-run               print the commands, run nothing\n"
    "  --bar, --eta            progress and time left (on a terminal only)\n"
    "reports (see 'rapt report'):\n"
    "  --report FILE           write an HTML report of the run at its end\n"
    "  --summary FILE          write its JSON summary (schema rapt.summary/1)\n"
    "  --sla DURATION          a runtime target for every job (STAGE=DURATION: one stage's);\n"
    "                          repeatable; above 80% warns, above it is a violation\n"
    "  --stage NAME            the stage of every job, for per-stage figures and SLAs\n"
    "  --stage-col N           input column N names each job's stage\n"
    "logs:\n"
    "  --joblog FILE           GNU parallel's joblog (+FILE appends)\n"
    "  --resume                skip the jobs already in the joblog\n"
    "  --resume-failed         skip the jobs that succeeded in the joblog\n"
    "  --retry-failed          run the failed jobs of the joblog again (commands from it)\n"
    "  --events FILE           JSON Lines, one record per start/end/retry/kill\n"
    "  --will-cite             accepted for GNU parallel's sake; does nothing\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 all succeeded, 1-100 jobs failed, 101 more failed, 255 other errors,\n"
    "an interrupted run or a report that could not be written, 254 bad usage; --halt as in\n"
    "GNU parallel (see 'man rapt').\n";

/* A third part, so that no literal passes 4095 bytes. */
static const char usage_learn[] =
    "order and history (docs/sched.md, docs/history.md):\n"
    "  --order POLICY          which waiting job starts next: input (default), priority,\n"
    "                          deadline, sjf, lpt (longest predicted first) or pack; other\n"
    "                          than input, up to 4096 jobs are read ahead and ordered\n"
    "  --priority-col N        for --order priority: value N ({N}) is the job's priority\n"
    "  --deadline-col N        for --order deadline: value N is the job's deadline, a\n"
    "                          duration after the start (90, 2m, 1h30m)\n"
    "  --class NAME            learn and predict the jobs as class NAME (default: the\n"
    "                          command template)\n"
    "  --history FILE          record every attempt in FILE and predict peaks and runtimes\n"
    "                          from it (default $XDG_STATE_HOME/rapt/history.db)\n"
    "  --no-history            read and write no history file\n";

static int exec_run(int argc, char **argv);

const rapt_cmd rapt_cmd_run = {
    .name = "run",
    .summary = "run a command for every input record, in parallel (GNU parallel's options)",
    .usage = usage_text,
    .exec = exec_run,
};

enum {
    OPT_DELAY = 256,
    OPT_TIMEOUT,
    OPT_TERM_SEQ,
    OPT_RETRIES,
    OPT_HALT,
    OPT_SHELL,
    OPT_MEASURE,
    OPT_GROUP,
    OPT_LB,
    OPT_TAG,
    OPT_TAGSTRING,
    OPT_RESULTS,
    OPT_DRY,
    OPT_BAR,
    OPT_ETA,
    OPT_JOBLOG,
    OPT_RESUME,
    OPT_RESUME_FAILED,
    OPT_RETRY_FAILED,
    OPT_EVENTS,
    OPT_CITE,
    OPT_MAX_JOBS,
    OPT_MEM_PER_JOB,
    OPT_MEM_MODEL,
    OPT_MEM_BUDGET,
    OPT_MEM_CEILING,
    OPT_ON_PRESSURE,
    OPT_OOM_RETRIES,
    OPT_IGNORE_MEMORY,
    OPT_EXPLAIN,
    OPT_HISTORY,
    OPT_NO_HISTORY,
    OPT_CLASS,
    OPT_ORDER,
    OPT_PRIORITY_COL,
    OPT_DEADLINE_COL,
    OPT_REPORT,
    OPT_SUMMARY,
    OPT_SLA,
    OPT_STAGE,
    OPT_STAGE_COL,
};

/* The log callback: warnings and errors as rapt's usual one-liners. Notes (how jobs are
 * measured and why, stale runs cleaned) only with RAPT_LOG=info: -v is GNU parallel's "print
 * the commands" and must not mix other lines into them. */
static void log_line(void *ud, rapt_log_level lv, const char *msg)
{
    bool notes = *(const bool *)ud;
    if (lv == RAPT_LOG_ERROR)
        cli_fail(0, "run: %s", msg);
    else if (lv == RAPT_LOG_WARN)
        cli_warn("run: %s", msg);
    else if (lv == RAPT_LOG_INFO && notes)
        fprintf(stderr, "rapt: run: %s\n", msg);
}

/* --mem-model GAMMA,OVERHEAD: "3,50M", "0.5,0". */
static int parse_model(const char *s, double *gamma, uint64_t *overhead)
{
    const char *comma = strchr(s, ',');
    char g[64];
    if (!comma || (size_t)(comma - s) >= sizeof(g))
        return cli_fail(RUN_EXIT_USAGE,
                        "run: --mem-model '%s': expected GAMMA,OVERHEAD such as 3,50M (memory per "
                        "byte of input, and per job)",
                        s);
    memcpy(g, s, (size_t)(comma - s));
    g[comma - s] = '\0';
    if (rapt__parse_double(g, gamma) < 0 || *gamma < 0 || *gamma > 1e6)
        return cli_fail(RUN_EXIT_USAGE,
                        "run: --mem-model '%s': '%s' is not a factor between 0 and 1000000", s, g);
    int r = rapt_size_parse(comma + 1, overhead);
    if (r < 0)
        return cli_fail(RUN_EXIT_USAGE, "run: --mem-model '%s': '%s' is not a size (e.g. 50M)", s,
                        comma + 1);
    return 0;
}

/* -j: N, N%, +N, -N, of the effective CPUs. */
/* The forms are GNU parallel's; the refusals are rapt's own (docs/run.md): 0 and a result
 * below one slot are errors, not "as many as possible" or a silent 1. */
static int parse_jobs(const char *s, unsigned cpus, unsigned *out)
{
    size_t len = strlen(s);
    uint64_t v;
    if (len > 1 && (s[0] == '+' || s[0] == '-')) {
        if (rapt__parse_u64(s + 1, SIZE_MAX, &v) < 0 || v > 1000000)
            return cli_fail(RUN_EXIT_USAGE, "run: -j '%s': not a number of job slots", s);
        if (s[0] == '+') {
            *out = cpus + (unsigned)v;
            return 0;
        }
        if (v >= cpus)
            return cli_fail(RUN_EXIT_USAGE,
                            "run: -j '%s': %u effective CPU%s minus %llu leaves no job slot", s,
                            cpus, cpus == 1 ? "" : "s", (unsigned long long)v);
        *out = cpus - (unsigned)v;
        return 0;
    }
    if (len > 1 && s[len - 1] == '%') {
        char num[32];
        double pct;
        if (len - 1 >= sizeof(num))
            return cli_fail(RUN_EXIT_USAGE, "run: -j '%s': not a percentage", s);
        memcpy(num, s, len - 1);
        num[len - 1] = '\0';
        if (rapt__parse_double(num, &pct) < 0 || pct <= 0 || pct > 100000)
            return cli_fail(RUN_EXIT_USAGE, "run: -j '%s': not a percentage of the CPUs", s);
        /* GNU parallel: the CPU count times the percentage, rounded up (75% of 2 is 2). */
        double n = ceil((double)cpus * pct / 100.0);
        *out = n < 1 ? 1 : (unsigned)n;
        return 0;
    }
    if (rapt__parse_u64(s, SIZE_MAX, &v) < 0)
        return cli_fail(RUN_EXIT_USAGE,
                        "run: -j '%s': not a number of job slots (N, N%%, +N or -N)", s);
    if (v == 0)
        return cli_fail(RUN_EXIT_USAGE,
                        "run: -j 0: must be at least 1 (rapt has no 'as many as possible')");
    if (v > 100000)
        return cli_fail(RUN_EXIT_USAGE, "run: -j '%s': at most 100000 job slots", s);
    *out = (unsigned)v;
    return 0;
}

/* -d: a delimiter with C escapes. */
static int parse_delim(const char *s, char *out, size_t max, size_t *n)
{
    *n = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (c == '\\' && s[i + 1]) {
            char e = s[++i];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'a': c = '\a'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'v': c = '\v'; break;
            case 'e': c = '\033'; break;
            case '\\': c = '\\'; break;
            case 'x': {
                unsigned v = 0, k = 0;
                while (k < 2 && s[i + 1] && strchr("0123456789abcdefABCDEF", s[i + 1])) {
                    char h = s[++i];
                    v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                    k++;
                }
                if (k == 0)
                    return -EINVAL;
                c = (char)v;
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    unsigned v = (unsigned)(e - '0'), k = 1;
                    while (k < 3 && s[i + 1] >= '0' && s[i + 1] <= '7') {
                        v = v * 8 + (unsigned)(s[++i] - '0');
                        k++;
                    }
                    if (v > 255)
                        return -EINVAL;
                    c = (char)v;
                } else {
                    return -EINVAL;
                }
            }
        }
        if (*n == max)
            return -EINVAL;
        out[(*n)++] = c;
    }
    return *n ? 0 : -EINVAL;
}

/* The words that start an input source. ":::+" and "::::+" are recognised only to refuse
 * them clearly; taken as values they would run surprising jobs. */
static bool is_sep(const char *w)
{
    return strcmp(w, ":::") == 0 || strcmp(w, "::::") == 0 || strcmp(w, ":::+") == 0 ||
           strcmp(w, "::::+") == 0;
}

/* fds 0-2 must be open: otherwise a pipe rapt creates could become a job's stdout. */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (n >= 0 && n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
    }
}

/* "N%": 1 with *pct = N when s ends in '%' and N is in (0, max]; -1 when it ends in '%' but N
 * is not such a number; 0 when s is not a percentage at all. */
static int parse_percent(const char *s, double max, double *pct)
{
    size_t len = strlen(s);
    if (len < 2 || s[len - 1] != '%')
        return 0;
    char num[32];
    if (len - 1 >= sizeof(num))
        return -1;
    memcpy(num, s, len - 1);
    num[len - 1] = '\0';
    if (rapt__parse_double(num, pct) < 0 || !(*pct > 0) || *pct > max)
        return -1;
    return 1;
}

/* The memory options against the machine: --mem-budget's form, and hints that could never
 * fit (an error) or only one job at a time (a warning). */
static int check_memory_options(rapt__run_opts *o, const rapt_sys_info *si, const char *budget)
{
    if (budget) {
        double pct;
        int k = parse_percent(budget, 100, &pct);
        if (k < 0)
            return cli_fail(RUN_EXIT_USAGE,
                            "run: --mem-budget '%s': a percentage of the limit must be in "
                            "(0, 100]",
                            budget);
        if (k > 0) {
            o->mem.cfg.eta = pct / 100;
        } else if (cli_size("run: --mem-budget", budget, false, &o->mem.cfg.budget_abs)) {
            return RUN_EXIT_USAGE;
        }
    }
    if (o->mem.per_job && o->mem.model)
        return cli_fail(RUN_EXIT_USAGE, "run: --mem-per-job and --mem-model exclude each other");
    bool limit_known = si->mem.limit_bound != RAPT_BOUND_UNKNOWN;
    if (!o->mem.aware || !limit_known) {
        if ((o->mem.per_job || o->mem.model || budget) && o->mem.aware)
            cli_warn("run: the memory limit is unknown here: memory options are ignored");
        o->mem.aware = o->mem.aware && limit_known;
        return 0;
    }
    char a[32], b[32];
    if (o->mem.per_job > si->mem.limit)
        return cli_fail(RUN_EXIT_USAGE,
                        "run: --mem-per-job %s is more than the memory limit %s (%s: %s): no job "
                        "could ever run",
                        rapt_size_format(o->mem.per_job, a, sizeof(a)),
                        rapt_size_format(si->mem.limit, b, sizeof(b)),
                        rapt_bound_name(si->mem.limit_bound), si->mem.limit_where);
    rapt__adm_cfg c = o->mem.cfg;
    uint64_t bud = rapt__adm_budget(&c, si->mem.limit,
                                    si->mem.available_known ? si->mem.available : si->mem.limit, 0);
    if (o->mem.per_job > bud)
        cli_warn("run: --mem-per-job %s is more than the memory budget %s: jobs will run one "
                 "at a time",
                 rapt_size_format(o->mem.per_job, a, sizeof(a)),
                 rapt_size_format(bud, b, sizeof(b)));
    return 0;
}

/* The history library's warnings while it opens a file are kept, so that a refusal is one
 * line; later ones (a disk error during the run) are printed as they come. It outlives the
 * handle. */
typedef struct hist_log {
    bool opening;
    char msg[512];
} hist_log;

static void hist_log_line(void *ud, rapt_log_level lv, const char *msg)
{
    hist_log *hl = ud;
    if (lv > RAPT_LOG_WARN)
        return;
    if (hl->opening)
        rapt__strlcpy(hl->msg, msg, sizeof(hl->msg));
    else
        cli_warn("run: %s", msg);
}

/* The history file (docs/history.md). A file rapt must not touch (damaged, a newer schema,
 * another program's) or one that other writers hold is one warning and a run without history;
 * a --history FILE that cannot be created or opened is a usage error, as for --joblog. With no
 * --history and no usable default location the run goes on without history, also with one
 * warning. Returns 0 (with *out, or NULL) or the exit status. */
static int open_history(const char *opt, hist_log *hl, rapt_history **out)
{
    *out = NULL;
    char path[4096];
    if (!opt && rapt_history_default_path(NULL, path, sizeof(path)) < 0) {
        cli_warn("run: no history file: neither XDG_STATE_HOME nor HOME is an absolute path; "
                 "continuing without history (--no-history says so quietly)");
        return 0;
    }
    if (opt && cli_history_path("run", opt, path, sizeof(path)))
        return RUN_EXIT_USAGE;
    rapt_history_opts ho;
    rapt_history_opts_init(&ho);
    ho.path = path;
    ho.log = hist_log_line;
    ho.log_data = hl;
    hl->opening = true;
    hl->msg[0] = '\0';
    int rc = rapt_history_open(out, &ho);
    hl->opening = false;
    if (rc == 0)
        return 0;
    *out = NULL;
    if (rc == RAPT_ECORRUPT || rc == RAPT_ESCHEMA) {
        if (hl->msg[0])
            cli_warn("run: %s; the file was left as it is, continuing without history", hl->msg);
        else
            cli_warn("run: history %s: %s; the file was left as it is, continuing without history",
                     path, rapt_strerror(rc));
        return 0;
    }
    if (rc == -EBUSY || !opt) {
        cli_warn("run: history %s: %s; continuing without history", path, rapt_strerror(rc));
        return 0;
    }
    return cli_fail(RUN_EXIT_USAGE, "run: --history '%s': %s", path, rapt_strerror(rc));
}

static int exec_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"arg-file", required_argument, NULL, 'a'},
        {"null", no_argument, NULL, '0'},
        {"delimiter", required_argument, NULL, 'd'},
        {"colsep", required_argument, NULL, 'C'},
        {"no-run-if-empty", no_argument, NULL, 'r'},
        {"jobs", required_argument, NULL, 'j'},
        {"max-procs", required_argument, NULL, 'P'},
        {"delay", required_argument, NULL, OPT_DELAY},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"term-seq", required_argument, NULL, OPT_TERM_SEQ},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"halt", required_argument, NULL, OPT_HALT},
        {"halt-on-error", required_argument, NULL, OPT_HALT},
        {"shell", required_argument, NULL, OPT_SHELL},
        {"measure", required_argument, NULL, OPT_MEASURE},
        {"group", no_argument, NULL, OPT_GROUP},
        {"line-buffer", no_argument, NULL, OPT_LB},
        {"lb", no_argument, NULL, OPT_LB},
        {"ungroup", no_argument, NULL, 'u'},
        {"keep-order", no_argument, NULL, 'k'},
        {"tag", no_argument, NULL, OPT_TAG},
        {"tagstring", required_argument, NULL, OPT_TAGSTRING},
        {"results", required_argument, NULL, OPT_RESULTS},
        {"verbose", no_argument, NULL, 'v'},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"bar", no_argument, NULL, OPT_BAR},
        {"eta", no_argument, NULL, OPT_ETA},
        {"joblog", required_argument, NULL, OPT_JOBLOG},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"resume-failed", no_argument, NULL, OPT_RESUME_FAILED},
        {"retry-failed", no_argument, NULL, OPT_RETRY_FAILED},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"will-cite", no_argument, NULL, OPT_CITE},
        {"max-jobs", required_argument, NULL, OPT_MAX_JOBS},
        {"mem-per-job", required_argument, NULL, OPT_MEM_PER_JOB},
        {"mem-model", required_argument, NULL, OPT_MEM_MODEL},
        {"mem-budget", required_argument, NULL, OPT_MEM_BUDGET},
        {"mem-limit-per-job", required_argument, NULL, OPT_MEM_CEILING},
        {"on-pressure", required_argument, NULL, OPT_ON_PRESSURE},
        {"oom-retries", required_argument, NULL, OPT_OOM_RETRIES},
        {"ignore-memory", no_argument, NULL, OPT_IGNORE_MEMORY},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"no-history", no_argument, NULL, OPT_NO_HISTORY},
        {"class", required_argument, NULL, OPT_CLASS},
        {"order", required_argument, NULL, OPT_ORDER},
        {"priority-col", required_argument, NULL, OPT_PRIORITY_COL},
        {"deadline-col", required_argument, NULL, OPT_DEADLINE_COL},
        {"report", required_argument, NULL, OPT_REPORT},
        {"summary", required_argument, NULL, OPT_SUMMARY},
        {"sla", required_argument, NULL, OPT_SLA},
        {"stage", required_argument, NULL, OPT_STAGE},
        {"stage-col", required_argument, NULL, OPT_STAGE_COL},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    rapt__run_opts o;
    memset(&o, 0, sizeof(o));
    o.retries = 1;
    o.shell = "/bin/sh";
    o.mem.aware = true;
    rapt__adm_cfg_init(&o.mem.cfg);
    const char *budget_arg = NULL, *history = NULL;
    bool no_history = false;
    unsigned max_jobs = 0;
    o.argv = argv;
    o.argc = argc;
    const char *jobs = NULL, *delim = NULL, *timeout = NULL, *term = NULL, *afiles[64];
    size_t nafiles = 0;
    bool null = false, skip_empty = false, group = false, tag = false;
    int resumes = 0;
    char dbuf[64];
    size_t dlen = 0;
    const char *colsep = NULL;
    run_report rr;
    run_report_init(&rr);
    opterr = 0;
    optind = 1;
    int c, rc = 0;
    /* '+': options end at the first non-option, so `rapt run grep -v x ::: f` leaves -v to
     * grep, as GNU parallel does. */
    while (rc == 0 && (c = getopt_long(argc, argv, "+:a:0d:C:rj:P:ukvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (nafiles == RAPT__ARRAY_SIZE(afiles))
                return cli_fail(RUN_EXIT_USAGE, "run: too many -a files (at most 64)");
            afiles[nafiles++] = optarg;
            break;
        case '0': null = true; break;
        case 'd': delim = optarg; break;
        case 'C': colsep = optarg; break;
        case 'r': skip_empty = true; break;
        case 'j':
        case 'P': jobs = optarg; break;
        case OPT_DELAY:
            if (rapt_duration_parse(optarg, &o.delay_ns) < 0)
                return cli_fail(RUN_EXIT_USAGE,
                                "run: --delay '%s': not a duration (e.g. 250ms, 1.5, 2m)", optarg);
            break;
        case OPT_TIMEOUT: timeout = optarg; break;
        case OPT_TERM_SEQ: term = optarg; break;
        case OPT_RETRIES:
            if (cli_uint("run: --retries", optarg, 0, 1000000, &o.retries))
                return RUN_EXIT_USAGE;
            break;
        case OPT_HALT:
            if (rapt__halt_parse(optarg, &o.halt) < 0)
                return cli_fail(RUN_EXIT_USAGE,
                                "run: --halt '%s': expected never, or now|soon,fail|success|done="
                                "N or N%%",
                                optarg);
            break;
        case OPT_SHELL: o.shell = optarg; break;
        case OPT_MEASURE:
            if (strcmp(optarg, "auto") == 0)
                o.measure = RAPT__MEASURE_AUTO;
            else if (strcmp(optarg, "cgroup") == 0)
                o.measure = RAPT__MEASURE_CGROUP;
            else if (strcmp(optarg, "proc") == 0)
                o.measure = RAPT__MEASURE_PROC;
            else
                return cli_fail(RUN_EXIT_USAGE,
                                "run: --measure '%s': expected auto, cgroup or proc", optarg);
            break;
        case OPT_GROUP: group = true; break;
        case OPT_LB: o.out_mode = RAPT__OUT_LINE; break;
        case 'u': o.out_mode = RAPT__OUT_UNGROUP; break;
        case 'k': o.keep_order = true; break;
        case OPT_TAG: tag = true; break;
        case OPT_TAGSTRING: o.tagstring = optarg; break;
        case OPT_RESULTS: o.results = optarg; break;
        case 'v': o.verbose = true; break;
        case OPT_DRY: o.dry_run = true; break;
        case OPT_BAR: o.bar = true; break;
        case OPT_ETA: o.eta = true; break;
        case OPT_JOBLOG:
            o.joblog = optarg;
            if (optarg[0] == '+') {
                o.joblog = optarg + 1;
                o.joblog_append = true;
            }
            if (!*o.joblog)
                return cli_fail(RUN_EXIT_USAGE, "run: --joblog needs a file name");
            break;
        case OPT_RESUME:
            o.resume = RAPT__RESUME_ALL;
            resumes |= 1;
            break;
        case OPT_RESUME_FAILED:
            o.resume = RAPT__RESUME_FAILED;
            resumes |= 2;
            break;
        case OPT_RETRY_FAILED:
            o.resume = RAPT__RETRY_FAILED;
            resumes |= 4;
            break;
        case OPT_EVENTS: o.events = optarg; break;
        case OPT_MAX_JOBS:
            if (cli_uint("run: --max-jobs", optarg, 1, 1u << 16, &max_jobs))
                return RUN_EXIT_USAGE;
            break;
        case OPT_MEM_PER_JOB:
            if (cli_size("run: --mem-per-job", optarg, false, &o.mem.per_job))
                return RUN_EXIT_USAGE;
            break;
        case OPT_MEM_MODEL:
            if (parse_model(optarg, &o.mem.gamma, &o.mem.overhead))
                return RUN_EXIT_USAGE;
            o.mem.model = true;
            break;
        case OPT_MEM_BUDGET: budget_arg = optarg; break;
        case OPT_MEM_CEILING:
            if (cli_size("run: --mem-limit-per-job", optarg, false, &o.mem.job_ceiling))
                return RUN_EXIT_USAGE;
            break;
        case OPT_ON_PRESSURE:
            if (strcmp(optarg, "requeue") == 0)
                o.mem.cfg.mode = RAPT__ADM_REQUEUE;
            else if (strcmp(optarg, "suspend") == 0)
                o.mem.cfg.mode = RAPT__ADM_SUSPEND;
            else
                return cli_fail(RUN_EXIT_USAGE,
                                "run: --on-pressure '%s': expected requeue or suspend", optarg);
            break;
        case OPT_OOM_RETRIES:
            if (cli_uint("run: --oom-retries", optarg, 0, 1000, &o.mem.cfg.oom_retries))
                return RUN_EXIT_USAGE;
            break;
        case OPT_IGNORE_MEMORY: o.mem.aware = false; break;
        case OPT_EXPLAIN: o.mem.explain = true; break;
        case OPT_HISTORY: history = optarg; break;
        case OPT_NO_HISTORY: no_history = true; break;
        case OPT_CLASS:
            if (!*optarg)
                return cli_fail(RUN_EXIT_USAGE, "run: --class: the class name is empty");
            o.learn.class_name = optarg;
            break;
        case OPT_ORDER:
            if (rapt_sched_order_parse(optarg, &o.learn.order) < 0)
                return cli_fail(RUN_EXIT_USAGE,
                                "run: --order '%s': expected input, priority, deadline, sjf, lpt "
                                "or pack",
                                optarg);
            break;
        case OPT_PRIORITY_COL:
            if (cli_uint("run: --priority-col", optarg, 1, 1000000, &o.learn.priority_col))
                return RUN_EXIT_USAGE;
            break;
        case OPT_DEADLINE_COL:
            if (cli_uint("run: --deadline-col", optarg, 1, 1000000, &o.learn.deadline_col))
                return RUN_EXIT_USAGE;
            break;
        case OPT_REPORT: rr.html = optarg; break;
        case OPT_SUMMARY: rr.summary = optarg; break;
        case OPT_SLA:
            if (run_report_sla(&rr, optarg))
                return RUN_EXIT_USAGE;
            break;
        case OPT_STAGE: rr.stage = optarg; break;
        case OPT_STAGE_COL:
            if (cli_uint("run: --stage-col", optarg, 1, 1u << 16, &rr.stage_col))
                return RUN_EXIT_USAGE;
            break;
        case OPT_CITE: break;
        case 'h':
            cli_help(&rapt_cmd_run);
            fputs(usage_learn, stdout);
            fputs(usage_more, stdout);
            return cli_close_stdout(0);
        default: return cli_bad_option(&rapt_cmd_run, c, argc, argv) ? RUN_EXIT_USAGE : 0;
        }
    }
    (void)group; /* the default */
    if (tag && !o.tagstring)
        o.tagstring = "{}";
    if (o.out_mode == RAPT__OUT_UNGROUP)
        o.tagstring = NULL; /* GNU parallel ignores --tag with -u: lines are not its to touch */
    if (resumes & (resumes - 1))
        return cli_fail(RUN_EXIT_USAGE,
                        "run: --resume, --resume-failed and --retry-failed exclude each other");
    if (o.resume && !o.joblog)
        return cli_fail(RUN_EXIT_USAGE, "run: --%s needs --joblog FILE",
                        o.resume == RAPT__RESUME_ALL      ? "resume"
                        : o.resume == RAPT__RESUME_FAILED ? "resume-failed"
                                                          : "retry-failed");
    if (null && delim)
        return cli_fail(RUN_EXIT_USAGE, "run: -0 and -d exclude each other");
    if (history && no_history)
        return cli_fail(RUN_EXIT_USAGE, "run: --history and --no-history contradict");
    if ((o.learn.order == RAPT_ORDER_PRIORITY) != (o.learn.priority_col != 0))
        return cli_fail(RUN_EXIT_USAGE, o.learn.priority_col
                                            ? "run: --priority-col needs --order priority"
                                            : "run: --order priority needs --priority-col N "
                                              "(the value that holds each job's priority)");
    if ((o.learn.order == RAPT_ORDER_DEADLINE) != (o.learn.deadline_col != 0))
        return cli_fail(RUN_EXIT_USAGE, o.learn.deadline_col
                                            ? "run: --deadline-col needs --order deadline"
                                            : "run: --order deadline needs --deadline-col N "
                                              "(the value that holds each job's deadline)");
    if (delim && parse_delim(delim, dbuf, sizeof(dbuf), &dlen) < 0)
        return cli_fail(RUN_EXIT_USAGE,
                        "run: -d '%s': not a delimiter (1 to 64 bytes; escapes \\n \\t \\0 \\\\ "
                        "\\xHH \\NNN)",
                        delim);
    if (term) {
        if (rapt__term_seq_parse(term, o.term, RAPT__TERM_MAX, &o.nterm) < 0)
            return cli_fail(RUN_EXIT_USAGE,
                            "run: --term-seq '%s': expected SIGNAL,MS pairs such as "
                            "TERM,200,KILL,25",
                            term);
    } else {
        rapt__term_seq_parse("TERM,200,TERM,100,TERM,50,KILL,25", o.term, RAPT__TERM_MAX, &o.nterm);
    }
    if (timeout) {
        double pct;
        int k = parse_percent(timeout, 1e6, &pct);
        if (k < 0)
            return cli_fail(RUN_EXIT_USAGE,
                            "run: --timeout '%s': not a percentage of the median runtime", timeout);
        if (k > 0) {
            o.timeout_pct = pct / 100.0;
        } else {
            int r = rapt_duration_parse(timeout, &o.timeout_ns);
            if (r < 0)
                return cli_fail(RUN_EXIT_USAGE,
                                "run: --timeout '%s': not a duration (e.g. 30s, 1.5, 2m) or N%%",
                                timeout);
            if (o.timeout_ns == 0)
                return cli_fail(RUN_EXIT_USAGE, "run: --timeout '%s': must be more than zero",
                                timeout);
        }
    }
    if (access(o.shell, X_OK) < 0)
        return cli_fail(RUN_EXIT_USAGE, "run: --shell '%s': %s", o.shell, strerror(errno));

    /* Options are checked before the machine is read or any input opened, so a typo costs
     * nothing and prints one line. */
    /* The machine: default slots and the memory cgroup jobs are measured under. */
    rapt_sys_info si;
    if (rapt_sys_read(NULL, &si) < 0)
        memset(&si, 0, sizeof(si));
    unsigned cpus = si.cpu.effective ? si.cpu.effective : 1;
    o.si = &si;
    o.cpus = cpus;
    o.slots = si.default_slots ? si.default_slots : cpus;
    if (jobs && strcmp(jobs, "auto") != 0) {
        if (parse_jobs(jobs, cpus, &o.slots))
            return RUN_EXIT_USAGE;
        if (max_jobs)
            return cli_fail(RUN_EXIT_USAGE,
                            "run: --max-jobs is -j auto's ceiling; with -j %s "
                            "the ceiling is %u already",
                            jobs, o.slots);
    } else {
        /* -j auto: CPU-bound jobs get the CPUs; I/O-bound ones up to the ceiling, memory
         * permitting (docs/admission.md). */
        o.jobs_auto = true;
        o.slots = max_jobs ? max_jobs : (cpus * 8 < 16 ? 16 : cpus * 8);
        if (o.slots > 1024 && !max_jobs)
            o.slots = 1024;
    }
    if (rc = check_memory_options(&o, &si, budget_arg), rc)
        return rc;

    /* The command (words up to the first separator) and the input sources. */
    int i = optind;
    size_t cmdlen = 0;
    int cmd_first = i;
    for (; i < argc && !is_sep(argv[i]); i++)
        cmdlen += strlen(argv[i]) + 1;
    char *command = calloc(1, cmdlen + 1);
    if (!command)
        return cli_fail(RUN_EXIT_OTHER, "run: out of memory");
    size_t at = 0;
    for (int k = cmd_first; k < i; k++) {
        if (k > cmd_first)
            command[at++] = ' ';
        size_t n = strlen(argv[k]);
        memcpy(command + at, argv[k], n);
        at += n;
    }
    command[at] = '\0';
    o.command = command;

    rapt__input_opts io = {.skip_empty = skip_empty, .colsep = colsep};
    if (null) {
        io.delim = "\0";
        io.delim_len = 1;
    } else if (delim) {
        io.delim = dbuf;
        io.delim_len = dlen;
    }
    rapt__input *in = NULL;
    char err[256] = "";
    rc = rapt__input_create(&in, &io, err, sizeof(err));
    if (rc < 0) {
        free(command);
        return cli_fail(RUN_EXIT_USAGE, "run: --colsep '%s': %s", colsep ? colsep : "", err);
    }
    for (size_t k = 0; rc == 0 && k < nafiles; k++) {
        rc = rapt__input_add_file(in, afiles[k]);
        if (rc < 0)
            rc = cli_fail(RUN_EXIT_USAGE, "run: -a '%s': %s", afiles[k], rapt_strerror(rc));
    }
    while (rc == 0 && i < argc) {
        const char *sep = argv[i++];
        if (strcmp(sep, ":::+") == 0 || strcmp(sep, "::::+") == 0) {
            rc = cli_fail(RUN_EXIT_USAGE, "run: '%s' (linked input sources) is not supported", sep);
            break;
        }
        int first = i;
        while (i < argc && !is_sep(argv[i]))
            i++;
        if (strcmp(sep, ":::") == 0) {
            rc = rapt__input_add_values(in, argv + first, (size_t)(i - first));
            if (rc < 0)
                rc = cli_fail(RUN_EXIT_OTHER, "run: out of memory");
            continue;
        }
        if (first == i)
            rc = cli_fail(RUN_EXIT_USAGE, "run: '::::' needs at least one file");
        for (int k = first; rc == 0 && k < i; k++) {
            int r = rapt__input_add_file(in, argv[k]);
            if (r < 0)
                rc = cli_fail(RUN_EXIT_USAGE, "run: :::: '%s': %s", argv[k], rapt_strerror(r));
        }
    }
    if (rc == 0 && rapt__input_nsources(in) == 0 && o.resume != RAPT__RETRY_FAILED) {
        rc = rapt__input_add_file(in, "-");
        if (rc < 0)
            rc = cli_fail(RUN_EXIT_OTHER, "run: out of memory");
    }
    if (rc == 0 && (rc = rapt__input_start(in)) < 0)
        rc = cli_fail(RUN_EXIT_USAGE, "run: reading input: %s", rapt_strerror(rc));
    if (rc != 0) {
        rapt__input_destroy(in);
        free(command);
        return rc < 0 ? RUN_EXIT_USAGE : rc;
    }
    if (o.resume == RAPT__RETRY_FAILED && (cmdlen > 0 || rapt__input_nsources(in) > 0))
        cli_warn("run: --retry-failed runs the commands of the joblog; the command line's "
                 "command and input are ignored");

    /* The total number of jobs, when something needs it: a percentage --halt, progress on
     * a terminal, or values given on the command line (free to count). */
    bool need_total = (o.halt.when != RAPT__HALT_NEVER && o.halt.pct) ||
                      ((o.bar || o.eta) && isatty(STDERR_FILENO));
    if (o.resume != RAPT__RETRY_FAILED && need_total) {
        int r = rapt__input_count(in, &o.total_jobs);
        if (r < 0) {
            rapt__input_destroy(in);
            free(command);
            return cli_fail(RUN_EXIT_USAGE, "run: reading input: %s", rapt_strerror(r));
        }
        o.total_known = true;
    }
    /* Last of the checks, so nothing runs when a report could not be written. */
    if ((rc = run_report_prepare(&rr, o.dry_run, &o.report))) {
        rapt__input_destroy(in);
        free(command);
        run_report_free(&rr);
        return rc;
    }
    /* The history last, so that every usage error above costs no file. */
    static hist_log hl;
    rapt_history *hist = NULL;
    if (!no_history && !o.dry_run && (rc = open_history(history, &hl, &hist)) != 0) {
        rapt__input_destroy(in);
        free(command);
        run_report_free(&rr);
        return rc;
    }
    o.learn.history = hist;
    o.input = in;
    const char *lvl = getenv("RAPT_LOG");
    bool notes = o.mem.explain || (lvl && (strcmp(lvl, "info") == 0 || strcmp(lvl, "debug") == 0));
    o.log = log_line;
    o.log_ud = &notes;
    ensure_std_fds();
    /* Everything rapt prints itself goes to stderr; stdout is the jobs'. */
    fflush(stdout);
    rapt__run_result res;
    rc = rapt__run(&o, &res);
    rapt_history_close(hist); /* writes what a busy file kept back */
    free(command);
    if (rc < 0) {
        run_report_free(&rr);
        return cli_fail(res.usage_error ? RUN_EXIT_USAGE : RUN_EXIT_OTHER, "run: %s", res.error);
    }
    rc = run_report_end(&rr, res.exit_code);
    run_report_free(&rr);
    return rc;
}
