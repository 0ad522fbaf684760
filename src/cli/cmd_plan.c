/* cmd_plan.c: `rapt plan`, how many jobs at once, from the machine's real limits.
 *
 * Two forms (formulas in include/rapt/plan.h and docs/plan.md):
 *   rapt plan --mem-per-job SIZE [--cpus-per-job N] [--max N]
 *   rapt plan [--gamma G] [--overhead SIZE] [--eta F] [--base SIZE] [--min N] [--max N] FILE...
 *   rapt plan --class CLASS [--history FILE] [...] FILE...   (gamma, overhead from history)
 * Limits come from rapt_sys_read() unless --limit / --cpus override them for what-if plans.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "rapt/rapt.h"

static const char usage_text[] =
    "usage: rapt plan --mem-per-job SIZE [--cpus-per-job N] [--max N] [options]\n"
    "       rapt plan [--gamma G] [--overhead SIZE] [--eta F] [--base SIZE] [--min N] [--max N]\n"
    "                 [--no-safety] [options] FILE...\n"
    "       rapt plan --class CLASS [--history FILE] [--eta F] [...] FILE...\n"
    "\n"
    "Per-job form: how many jobs of SIZE memory and N CPUs fit at once:\n"
    "  min(memory budget / SIZE, effective CPUs / N, max), at least 1, naming the limit.\n"
    "  The budget is 85% of the binding memory limit less what is already in use (see\n"
    "  'rapt info'). The usual formula min(free // 150MB, cpus // 2, 5) is\n"
    "  'rapt plan --mem-per-job 150M --cpus-per-job 2 --max 5'.\n"
    "\n"
    "Input-size form: each job needs G x size(FILE) + overhead; the largest P such that\n"
    "  base + sum over the P largest FILEs of (G x size + overhead) <= eta x limit,\n"
    "  clamped to [min, max], with the estimate at P and at P+1.\n"
    "  With --class, G and overhead come from what rapt learned about CLASS in earlier runs\n"
    "  (its fitted peak = a x size + b with the safe margin, see 'rapt history'); when the\n"
    "  class is unknown the defaults are used and the output says so.\n"
    "\n"
    "options:\n"
    "  --mem-per-job SIZE   memory each job needs (per-job form)\n"
    "  --cpus-per-job N     CPUs each job keeps busy (default 1; fractions allowed)\n"
    "  --gamma G            memory per byte of input (default 3.0)\n"
    "  --overhead SIZE      memory per job on top of G x size (default 50M)\n"
    "  --eta F              fraction of the limit jobs may use, 0 < F <= 1 (default 0.75)\n"
    "  --base SIZE          memory already taken that jobs cannot use (default 0)\n"
    "  --min N              smallest answer (default 1)\n"
    "  --max N              largest answer (per-job default: none; input default: 16)\n"
    "  --no-safety          input form: return the CPU-based answer, ignoring memory\n"
    "  --files-from FILE    read input file names from FILE, one per line ('-' = stdin)\n"
    "  --class CLASS        input form: take G and overhead from the history of CLASS\n"
    "  --history FILE       the history file (default $XDG_STATE_HOME/rapt/history.db)\n"
    "  --no-history         do not read any history (--class then uses the defaults)\n"
    "  --limit SIZE         plan for this memory limit instead of the detected one\n"
    "  --cpus N             plan for N effective CPUs instead of the detected number\n"
    "  --json               print one JSON object (schema \"rapt.plan/1\")\n"
    "  --sysroot DIR        read /proc and /sys under DIR instead of /\n"
    "  -h, --help           show this help\n"
    "\n"
    "Sizes are bytes or take K, M, G or T (binary; 'MiB' and 'MB' mean the same here).\n";

static int exec_plan(int argc, char **argv);

const rapt_cmd rapt_cmd_plan = {
    .name = "plan",
    .summary = "compute how many jobs fit at once, per job or from input sizes",
    .usage = usage_text,
    .exec = exec_plan,
};

enum {
    OPT_MEM = 256,
    OPT_CPUS_PER_JOB,
    OPT_GAMMA,
    OPT_OVERHEAD,
    OPT_ETA,
    OPT_BASE,
    OPT_MIN,
    OPT_MAX,
    OPT_NO_SAFETY,
    OPT_FILES_FROM,
    OPT_LIMIT,
    OPT_CPUS,
    OPT_JSON,
    OPT_SYSROOT,
    OPT_CLASS,
    OPT_HISTORY,
    OPT_NO_HISTORY,
};

typedef struct plan_args {
    bool json, no_safety, have_mem, have_input_opt, have_max, have_limit, have_cpus;
    bool have_gamma_overhead, no_history;
    uint64_t mem_per_job, overhead, base, limit;
    double cpus_per_job, gamma, eta;
    unsigned min, max, cpus;
    const char *files_from, *sysroot, *class_name, *history;
} plan_args;

/* Where gamma and overhead of the input form came from (--class). */
typedef struct plan_model {
    bool learned;       /* from history; else the defaults (or --gamma/--overhead) */
    const char *path;   /* the history file read, or NULL */
    rapt_model_fit fit; /* the class's peak fit when learned */
    double coverage;    /* share of fresh jobs the safe estimate covers */
    char note[600];     /* why the defaults were used */
} plan_model;

/* A growing list of input sizes. */
typedef struct sizes {
    uint64_t *v;
    size_t n, cap;
    uint64_t total, largest;
} sizes;

static int sizes_push(sizes *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    s->total = rapt__sat_add(s->total, v);
    if (v > s->largest)
        s->largest = v;
    return 0;
}

/* Stats one input: it must be a readable regular file (a job will read it). */
static int add_file(sizes *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return cli_fail(RAPT_EXIT_USAGE, "plan: '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cli_fail(RAPT_EXIT_USAGE, "plan: '%s': is a directory, not an input file", path);
    if (!S_ISREG(st.st_mode))
        return cli_fail(RAPT_EXIT_USAGE, "plan: '%s': not a regular file", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return cli_fail(RAPT_EXIT_USAGE, "plan: '%s': %s", path, strerror(errno));
    close(fd);
    if (sizes_push(s, (uint64_t)st.st_size) < 0)
        return cli_fail(RAPT_EXIT_SYSTEM, "plan: out of memory");
    return 0;
}

static int read_list(sizes *s, const char *from)
{
    FILE *f = strcmp(from, "-") == 0 ? stdin : fopen(from, "re");
    if (!f)
        return cli_fail(RAPT_EXIT_USAGE, "plan: --files-from '%s': %s", from, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0)
            continue;
        rc = add_file(s, line);
    }
    if (rc == 0 && ferror(f))
        rc = cli_fail(RAPT_EXIT_USAGE, "plan: --files-from '%s': read error", from);
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static void print_limit_source(const rapt_sys_info *si, bool overridden)
{
    if (overridden)
        printf("--limit");
    else
        printf("%s: %s", rapt_bound_name(si->mem.limit_bound), si->mem.limit_where);
}

static int plan_per_job(const plan_args *a, const rapt_sys_info *si)
{
    rapt_plan_job_opts o;
    rapt_plan_job_opts_init(&o);
    o.mem_per_job = a->mem_per_job;
    o.cpus_per_job = a->cpus_per_job;
    o.max = a->have_max ? a->max : 0;
    o.cpus = a->have_cpus ? a->cpus : si->cpu.effective;
    /* With --limit the plan assumes nothing else uses the memory: budget = 85% of it. */
    o.budget = a->have_limit ? (uint64_t)((long double)a->limit * RAPT_SYS_DEFAULT_ETA)
                             : si->default_budget;
    rapt_plan_job_result r;
    int rc = rapt_plan_jobs(&o, &r);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_USAGE, "plan: %s", rapt_strerror(rc));
    char a1[32], a2[32];
    if (a->json) {
        rapt__jw w;
        rapt__jw_init(&w, stdout, true);
        rapt__jw_obj(&w);
        rapt__jw_key(&w, "schema");
        rapt__jw_str(&w, "rapt.plan/1");
        rapt__jw_key(&w, "form");
        rapt__jw_str(&w, "per-job");
        rapt__jw_key(&w, "jobs");
        rapt__jw_u64(&w, r.jobs);
        rapt__jw_key(&w, "limited_by");
        rapt__jw_str(&w, rapt_plan_factor_name(r.factor));
        rapt__jw_key(&w, "overcommitted");
        rapt__jw_bool(&w, r.overcommitted);
        rapt__jw_key(&w, "by_memory");
        rapt__jw_u64(&w, r.by_memory);
        rapt__jw_key(&w, "by_cpu");
        rapt__jw_u64(&w, r.by_cpu);
        rapt__jw_key(&w, "by_max");
        if (r.by_max)
            rapt__jw_u64(&w, r.by_max);
        else
            rapt__jw_null(&w);
        rapt__jw_key(&w, "mem_per_job");
        rapt__jw_u64(&w, o.mem_per_job);
        rapt__jw_key(&w, "cpus_per_job");
        rapt__jw_dbl(&w, o.cpus_per_job);
        rapt__jw_key(&w, "memory_budget");
        rapt__jw_u64(&w, o.budget);
        rapt__jw_key(&w, "cpus");
        rapt__jw_u64(&w, o.cpus);
        rapt__jw_end(&w);
        rapt__jw_done(&w);
    } else {
        printf("jobs           %-8u limited by %s\n", r.jobs, rapt_plan_factor_name(r.factor));
        printf("  by memory    %-8llu memory budget %s / %s per job\n",
               (unsigned long long)r.by_memory, rapt_size_format(o.budget, a1, sizeof(a1)),
               rapt_size_format(o.mem_per_job, a2, sizeof(a2)));
        printf("  by cpu       %-8llu %u effective CPU%s / %g per job\n",
               (unsigned long long)r.by_cpu, o.cpus, o.cpus == 1 ? "" : "s", o.cpus_per_job);
        if (r.by_max)
            printf("  by max       %u\n", r.by_max);
        else
            printf("  by max       -        no --max\n");
    }
    if (r.overcommitted)
        cli_warn("plan: one job (%s) does not fit the memory budget (%s); running even one "
                 "risks the OOM killer",
                 rapt_size_format(o.mem_per_job, a1, sizeof(a1)),
                 rapt_size_format(o.budget, a2, sizeof(a2)));
    return RAPT_EXIT_OK;
}

/* Fills gamma and overhead from the history of a->class_name. Never fails: an unknown class or
 * an unusable file leaves the defaults and says why in pm->note. */
static void learn_class(plan_args *a, plan_model *pm, const char *path)
{
    memset(pm, 0, sizeof(*pm));
    if (!path) {
        rapt__bufprintf(pm->note, sizeof(pm->note), "--no-history");
        return;
    }
    pm->path = path;
    rapt_history *h = NULL;
    char why[512] = "";
    cli_history_open_soft("plan", path, true, &h, why, sizeof(why));
    if (!h) {
        rapt__bufprintf(pm->note, sizeof(pm->note), "%s", why);
        return;
    }
    rapt_model_opts mo;
    rapt_model_opts_init(&mo);
    pm->coverage = mo.coverage;
    rapt_model *m = NULL;
    int rc = rapt_model_create(&m, &mo);
    if (rc == 0)
        rc = rapt_model_load(m, h, a->class_name, 0);
    if (rc >= 0)
        rc = rapt_model_fit_info(m, a->class_name, RAPT_MODEL_PEAK, &pm->fit);
    if (rc < 0) {
        cli_warn("plan: history %s: %s; planning with the defaults", path, rapt_strerror(rc));
        rapt__bufprintf(pm->note, sizeof(pm->note), "history %s not readable", path);
    } else if (pm->fit.basis == RAPT_BASIS_NONE) {
        rapt__bufprintf(pm->note, sizeof(pm->note), "no measured attempt of this class in %s",
                        path);
    } else {
        /* The safe line: with the conformal margin, so the plan covers the jobs it predicts
         * (a median basis is a flat line: gamma 0, the class's safe peak as overhead). */
        pm->learned = true;
        a->gamma = RAPT__MAX(pm->fit.safe_slope, 0.0);
        double ov = ceil(RAPT__MAX(pm->fit.safe_intercept, 0.0));
        a->overhead = ov >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)ov;
    }
    rapt_model_destroy(m);
    rapt_history_close(h);
}

static int plan_inputs(const plan_args *a, const rapt_sys_info *si, const sizes *s,
                       const plan_model *pm)
{
    rapt_plan_input_opts o;
    rapt_plan_input_opts_init(&o);
    o.gamma = a->gamma;
    o.overhead = a->overhead;
    o.eta = a->eta;
    o.base = a->base;
    o.min = a->min;
    o.max = a->max;
    o.cpus = a->have_cpus ? a->cpus : si->cpu.effective;
    o.no_safety = a->no_safety;
    if (a->have_limit)
        o.limit = a->limit;
    else if (si->mem.limit_bound != RAPT_BOUND_UNKNOWN)
        o.limit = si->mem.limit;
    else
        return cli_fail(RAPT_EXIT_SYSTEM,
                        "plan: the memory limit is unknown here; give --limit SIZE");
    rapt_plan_input_result r;
    int rc = rapt_plan_inputs(&o, s->v, s->n, &r);
    if (rc == -ERANGE)
        return cli_fail(RAPT_EXIT_USAGE,
                        "plan: the estimate overflows 64 bits; check --gamma and --overhead");
    if (rc < 0)
        return cli_fail(RAPT_EXIT_USAGE, "plan: %s", rapt_strerror(rc));
    char b1[32], b2[32], b3[32];
    if (a->json) {
        rapt__jw w;
        rapt__jw_init(&w, stdout, true);
        rapt__jw_obj(&w);
        rapt__jw_key(&w, "schema");
        rapt__jw_str(&w, "rapt.plan/1");
        rapt__jw_key(&w, "form");
        rapt__jw_str(&w, "input-size");
        rapt__jw_key(&w, "jobs");
        rapt__jw_u64(&w, r.jobs);
        rapt__jw_key(&w, "limited_by");
        rapt__jw_str(&w, rapt_plan_factor_name(r.factor));
        rapt__jw_key(&w, "overcommitted");
        rapt__jw_bool(&w, r.overcommitted);
        rapt__jw_key(&w, "by_memory");
        rapt__jw_u64(&w, r.by_memory);
        rapt__jw_key(&w, "allowed");
        rapt__jw_u64(&w, r.allowed);
        rapt__jw_key(&w, "estimate_at_p");
        rapt__jw_u64(&w, r.est_at_p);
        rapt__jw_key(&w, "estimate_at_p_plus_1");
        if (r.has_next)
            rapt__jw_u64(&w, r.est_at_p1);
        else
            rapt__jw_null(&w);
        rapt__jw_key(&w, "limit");
        rapt__jw_u64(&w, o.limit);
        rapt__jw_key(&w, "limit_source");
        rapt__jw_str(&w, a->have_limit ? "--limit" : si->mem.limit_where);
        rapt__jw_key(&w, "gamma");
        rapt__jw_dbl(&w, o.gamma);
        rapt__jw_key(&w, "overhead");
        rapt__jw_u64(&w, o.overhead);
        rapt__jw_key(&w, "eta");
        rapt__jw_dbl(&w, o.eta);
        rapt__jw_key(&w, "base");
        rapt__jw_u64(&w, o.base);
        rapt__jw_key(&w, "min");
        rapt__jw_u64(&w, o.min);
        rapt__jw_key(&w, "max");
        rapt__jw_u64(&w, o.max);
        rapt__jw_key(&w, "cpus");
        rapt__jw_u64(&w, o.cpus);
        rapt__jw_key(&w, "model");
        if (!a->class_name) {
            rapt__jw_null(&w);
        } else {
            rapt__jw_obj(&w);
            rapt__jw_key(&w, "class");
            rapt__jw_str(&w, a->class_name);
            rapt__jw_key(&w, "source");
            rapt__jw_str(&w, pm->learned ? "history" : "defaults");
            rapt__jw_key(&w, "history");
            rapt__jw_str(&w, pm->path);
            rapt__jw_key(&w, "basis");
            rapt__jw_str(&w, pm->learned ? rapt_model_basis_name(pm->fit.basis) : NULL);
            rapt__jw_key(&w, "samples");
            rapt__jw_u64(&w, pm->learned ? pm->fit.samples : 0);
            rapt__jw_key(&w, "confidence");
            rapt__jw_dbl(&w, pm->learned ? pm->fit.confidence : 0);
            rapt__jw_key(&w, "coverage");
            rapt__jw_dbl(&w, pm->learned ? pm->coverage : NAN);
            rapt__jw_key(&w, "fit_gamma");
            rapt__jw_dbl(&w, pm->learned ? pm->fit.slope : NAN);
            rapt__jw_key(&w, "fit_overhead");
            rapt__jw_dbl(&w, pm->learned ? round(pm->fit.intercept) : NAN);
            rapt__jw_key(&w, "margin");
            rapt__jw_dbl(&w, pm->learned ? pm->fit.margin : NAN);
            rapt__jw_key(&w, "note");
            rapt__jw_str(&w, pm->learned ? NULL : pm->note);
            rapt__jw_end(&w);
        }
        rapt__jw_key(&w, "inputs");
        rapt__jw_obj(&w);
        rapt__jw_key(&w, "count");
        rapt__jw_u64(&w, s->n);
        rapt__jw_key(&w, "total_bytes");
        rapt__jw_u64(&w, s->total);
        rapt__jw_key(&w, "largest_bytes");
        rapt__jw_u64(&w, s->largest);
        rapt__jw_end(&w);
        rapt__jw_end(&w);
        rapt__jw_done(&w);
    } else {
        printf("jobs           %-10u limited by %s\n", r.jobs, rapt_plan_factor_name(r.factor));
        if (a->class_name && pm->learned) {
            rapt_size_format((uint64_t)RAPT__MAX(pm->fit.intercept, 0.0), b1, sizeof(b1));
            printf("  model        learned for class '%s' from %u samples in %s\n", a->class_name,
                   pm->fit.samples, pm->path);
            if (pm->fit.basis == RAPT_BASIS_FIT)
                printf("               peak = %.4g x size + %s (Theil-Sen fit, confidence %.2f); "
                       "with the margin that covers %.0f%% of jobs: %.4g x size + %s\n",
                       pm->fit.slope, b1, pm->fit.confidence, 100 * pm->coverage, o.gamma,
                       rapt_size_format(o.overhead, b2, sizeof(b2)));
            else
                printf("               peak does not follow input size: median %s, %.0f%% of "
                       "jobs under %s (confidence %.2f)\n",
                       b1, 100 * pm->coverage, rapt_size_format(o.overhead, b2, sizeof(b2)),
                       pm->fit.confidence);
        } else if (a->class_name) {
            printf("  model        defaults for class '%s': %s\n", a->class_name, pm->note);
        }
        printf("  allowed      %-10s eta %g x limit %s (",
               rapt_size_format(r.allowed, b1, sizeof(b1)), o.eta,
               rapt_size_format(o.limit, b2, sizeof(b2)));
        print_limit_source(si, a->have_limit);
        printf(")\n");
        printf("  at P=%-7u %-10s base %s + the %u largest inputs x (%g x size + %s)%s\n", r.jobs,
               rapt_size_format(r.est_at_p, b1, sizeof(b1)),
               rapt_size_format(o.base, b2, sizeof(b2)), r.jobs, o.gamma,
               rapt_size_format(o.overhead, b3, sizeof(b3)),
               r.overcommitted ? "  EXCEEDS allowed" : "");
        if (r.has_next)
            printf("  at P=%-7u %-10s %s\n", r.jobs + 1,
                   rapt_size_format(r.est_at_p1, b1, sizeof(b1)),
                   r.est_at_p1 > r.allowed ? "exceeds allowed" : "fits");
        else
            printf("  at P=%-7u -          no more inputs\n", r.jobs + 1);
        printf("  inputs       %zu file%s, %s in all, largest %s\n", s->n, s->n == 1 ? "" : "s",
               rapt_size_format(s->total, b1, sizeof(b1)),
               rapt_size_format(s->largest, b2, sizeof(b2)));
        printf("  fallback     %u (effective CPUs, within [%u, %u])%s\n",
               o.cpus < o.min   ? o.min
               : o.cpus > o.max ? o.max
                                : o.cpus,
               o.min, o.max, o.no_safety ? "  <- used: --no-safety" : "");
    }
    if (r.overcommitted && !o.no_safety)
        cli_warn("plan: even %u job%s need%s %s, more than the %s allowed", r.jobs,
                 r.jobs == 1 ? "" : "s", r.jobs == 1 ? "s" : "",
                 rapt_size_format(r.est_at_p, b1, sizeof(b1)),
                 rapt_size_format(r.allowed, b2, sizeof(b2)));
    return RAPT_EXIT_OK;
}

static int exec_plan(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mem-per-job", required_argument, NULL, OPT_MEM},
        {"cpus-per-job", required_argument, NULL, OPT_CPUS_PER_JOB},
        {"gamma", required_argument, NULL, OPT_GAMMA},
        {"overhead", required_argument, NULL, OPT_OVERHEAD},
        {"eta", required_argument, NULL, OPT_ETA},
        {"base", required_argument, NULL, OPT_BASE},
        {"min", required_argument, NULL, OPT_MIN},
        {"max", required_argument, NULL, OPT_MAX},
        {"no-safety", no_argument, NULL, OPT_NO_SAFETY},
        {"files-from", required_argument, NULL, OPT_FILES_FROM},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"json", no_argument, NULL, OPT_JSON},
        {"sysroot", required_argument, NULL, OPT_SYSROOT},
        {"class", required_argument, NULL, OPT_CLASS},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"no-history", no_argument, NULL, OPT_NO_HISTORY},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    plan_args a = {
        .cpus_per_job = 1.0,
        .gamma = RAPT_PLAN_DEFAULT_GAMMA,
        .eta = RAPT_PLAN_DEFAULT_ETA,
        .overhead = RAPT_PLAN_DEFAULT_OVERHEAD,
        .min = RAPT_PLAN_DEFAULT_MIN,
        .max = RAPT_PLAN_DEFAULT_MAX,
    };
    bool have_cpj = false;
    opterr = 0;
    optind = 1;
    int c, rc = 0;
    /* A leading '+' would stop at the first FILE; we want options after files too, as
     * GNU tools allow, but "--" still ends options so a file named "-x" can be planned. */
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_MEM:
            rc = cli_size("--mem-per-job", optarg, false, &a.mem_per_job);
            a.have_mem = true;
            break;
        case OPT_CPUS_PER_JOB:
            rc = cli_double("--cpus-per-job", optarg, 0, 1e6, true, &a.cpus_per_job);
            have_cpj = true;
            break;
        case OPT_GAMMA:
            rc = cli_double("--gamma", optarg, 0, 1e9, false, &a.gamma);
            a.have_input_opt = true;
            a.have_gamma_overhead = true;
            break;
        case OPT_OVERHEAD:
            rc = cli_size("--overhead", optarg, true, &a.overhead);
            a.have_input_opt = true;
            a.have_gamma_overhead = true;
            break;
        case OPT_ETA:
            rc = cli_double("--eta", optarg, 0, 1, true, &a.eta);
            a.have_input_opt = true;
            break;
        case OPT_BASE:
            rc = cli_size("--base", optarg, true, &a.base);
            a.have_input_opt = true;
            break;
        case OPT_MIN:
            rc = cli_uint("--min", optarg, 1, 1u << 20, &a.min);
            a.have_input_opt = true;
            break;
        case OPT_MAX:
            rc = cli_uint("--max", optarg, 1, 1u << 20, &a.max);
            a.have_max = true;
            break;
        case OPT_NO_SAFETY:
            a.no_safety = true;
            a.have_input_opt = true;
            break;
        case OPT_FILES_FROM: a.files_from = optarg; break;
        case OPT_LIMIT:
            rc = cli_size("--limit", optarg, false, &a.limit);
            a.have_limit = true;
            break;
        case OPT_CPUS:
            rc = cli_uint("--cpus", optarg, 1, 1u << 20, &a.cpus);
            a.have_cpus = true;
            break;
        case OPT_JSON: a.json = true; break;
        case OPT_SYSROOT: a.sysroot = optarg; break;
        case OPT_CLASS:
            if (!*optarg)
                rc = cli_fail(RAPT_EXIT_USAGE, "plan: --class: the class name is empty");
            a.class_name = optarg;
            break;
        case OPT_HISTORY: a.history = optarg; break;
        case OPT_NO_HISTORY: a.no_history = true; break;
        case 'h': return cli_close_stdout(cli_help(&rapt_cmd_plan));
        default: return cli_bad_option(&rapt_cmd_plan, c, argc, argv);
        }
    }
    if (rc)
        return rc;

    bool have_files = optind < argc || a.files_from;
    if (a.have_mem && (have_files || a.have_input_opt))
        return cli_fail(RAPT_EXIT_USAGE,
                        "plan: --mem-per-job (per-job form) cannot be combined "
                        "with input files or --gamma/--overhead/--eta/--base/--min/--no-safety");
    if (!a.have_mem && have_cpj)
        return cli_fail(RAPT_EXIT_USAGE,
                        "plan: --cpus-per-job belongs to the per-job form; add --mem-per-job SIZE");
    if (!a.have_mem && !have_files)
        return cli_fail(RAPT_EXIT_USAGE,
                        "plan: nothing to plan: give --mem-per-job SIZE, or input FILEs "
                        "(see 'rapt plan --help')");
    if (!a.have_mem && a.max < a.min)
        return cli_fail(RAPT_EXIT_USAGE, "plan: --max %u is smaller than --min %u", a.max, a.min);
    if (a.class_name && a.have_mem)
        return cli_fail(RAPT_EXIT_USAGE,
                        "plan: --class belongs to the input-size form, not --mem-per-job");
    if (a.class_name && a.have_gamma_overhead)
        return cli_fail(RAPT_EXIT_USAGE,
                        "plan: --class takes gamma and overhead from history; drop --gamma and "
                        "--overhead, or drop --class");
    if ((a.history || a.no_history) && !a.class_name)
        return cli_fail(RAPT_EXIT_USAGE, "plan: --%s only matters with --class",
                        a.history ? "history" : "no-history");
    if (a.history && a.no_history)
        return cli_fail(RAPT_EXIT_USAGE, "plan: --history and --no-history contradict");
    char hpath[4096];
    if (a.class_name && !a.no_history &&
        (rc = cli_history_path("plan", a.history, hpath, sizeof(hpath))))
        return rc;

    /* Read the machine first: a bad --sysroot is reported before any file. */
    rapt_sys_info si;
    if ((rc = cli_read_sys("plan", a.sysroot, &si)))
        return rc;

    if (a.have_mem)
        return cli_close_stdout(plan_per_job(&a, &si));

    sizes s = {0};
    for (int i = optind; rc == 0 && i < argc; i++)
        rc = add_file(&s, argv[i]);
    if (rc == 0 && a.files_from)
        rc = read_list(&s, a.files_from);
    if (rc == 0 && s.n == 0)
        rc = cli_fail(RAPT_EXIT_USAGE, "plan: --files-from '%s' names no files", a.files_from);
    plan_model pm;
    memset(&pm, 0, sizeof(pm));
    if (rc == 0 && a.class_name)
        learn_class(&a, &pm, a.no_history ? NULL : hpath);
    if (rc == 0)
        rc = plan_inputs(&a, &si, &s, &pm);
    free(s.v);
    return cli_close_stdout(rc);
}
