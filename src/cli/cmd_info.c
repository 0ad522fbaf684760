/* cmd_info.c: `rapt info`, the detection report.
 *
 * Prints what the sys module found: CPUs, memory, swap, pressure, the SLURM allocation, the
 * environment class and the defaults rapt would use. It only reads files; it forks nothing
 * (tests/e2e/info.bats checks that under strace).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "rapt/rapt.h"

static const char usage_text[] =
    "usage: rapt info [--json] [--sysroot DIR]\n"
    "\n"
    "Reports the CPUs and memory this process may really use: the affinity mask, cgroup CPU\n"
    "quotas and memory limits along the whole cgroup ancestry (v1 and v2), rlimits, a SLURM\n"
    "allocation, memory pressure (PSI), and the job slots and memory budget rapt would use.\n"
    "\n"
    "options:\n"
    "  --json          print one JSON object (schema \"rapt.info/1\", see docs/resources.md)\n"
    "  --sysroot DIR   read /proc and /sys under DIR instead of / (diagnosis, tests)\n"
    "  -h, --help      show this help\n";

static int exec_info(int argc, char **argv);

const rapt_cmd rapt_cmd_info = {
    .name = "info",
    .summary = "show the CPUs, memory and pressure rapt detects here",
    .usage = usage_text,
    .exec = exec_info,
};

/* ---- human output ------------------------------------------------------------------------ */

static const char *fmt_bytes(const rapt_qty *q, char *buf, size_t len)
{
    if (q->state == RAPT_QTY_UNLIMITED)
        return "unlimited";
    if (q->state == RAPT_QTY_UNKNOWN)
        return "unknown";
    return rapt_size_format(q->value, buf, len);
}

static const char *fmt_count(const rapt_qty *q, char *buf, size_t len)
{
    if (q->state == RAPT_QTY_UNLIMITED)
        return "unlimited";
    if (q->state == RAPT_QTY_UNKNOWN)
        return "unknown";
    snprintf(buf, len, "%llu", (unsigned long long)q->value);
    return buf;
}

/* One row: label, value, and where it came from (or why it is unknown). */
static void row(const char *label, const char *value, const rapt_qty *q)
{
    const char *note = "";
    if (q)
        note = q->state == RAPT_QTY_UNKNOWN ? q->why : q->where;
    printf("  %-18s %-14s %s\n", label, value, note);
}

static void psi_row(const char *scope, const char *res, const rapt_psi_res *p)
{
    if (!p->known) {
        printf("  %-7s %-7s unknown (%s)\n", scope, res, p->why);
        return;
    }
    printf("  %-7s %-7s some %6.2f %6.2f %6.2f", scope, res, p->some.avg10, p->some.avg60,
           p->some.avg300);
    if (p->full.known)
        printf("   full %6.2f %6.2f %6.2f\n", p->full.avg10, p->full.avg60, p->full.avg300);
    else
        printf("   full -\n");
}

static void print_human(const rapt_sys_info *s, const char *sysroot)
{
    char a[32], b[32];
    printf("rapt %s: what this process may use (sysroot %s)\n\n", rapt_version(),
           sysroot ? sysroot : "/");

    printf("CPUs\n");
    row("online", fmt_count(&s->cpu.online, a, sizeof(a)), &s->cpu.online);
    row("affinity", fmt_count(&s->cpu.affinity, a, sizeof(a)), &s->cpu.affinity);
    if (s->cpu.quota_milli.state == RAPT_QTY_KNOWN) {
        snprintf(a, sizeof(a), "%.3g CPU", (double)s->cpu.quota_milli.value / 1000.0);
        row("cgroup quota", a, &s->cpu.quota_milli);
    } else {
        row("cgroup quota", fmt_count(&s->cpu.quota_milli, a, sizeof(a)), &s->cpu.quota_milli);
    }
    row("SLURM",
        s->cpu.slurm.state == RAPT_QTY_KNOWN ? fmt_count(&s->cpu.slurm, a, sizeof(a)) : "-",
        &s->cpu.slurm);
    snprintf(a, sizeof(a), "%u", s->cpu.effective);
    snprintf(b, sizeof(b), "bound by %s", rapt_bound_name(s->cpu.effective_bound));
    printf("  %-18s %-14s %s\n\n", "effective", a, b);

    const rapt_sys_memory *m = &s->mem;
    printf("Memory\n");
    row("host total", fmt_bytes(&m->host_total, a, sizeof(a)), &m->host_total);
    row("host available", fmt_bytes(&m->host_available, a, sizeof(a)), &m->host_available);
    if (s->cgroup.memory_version != RAPT_CGROUP_NONE)
        printf("  %-18s v%d %s\n", "cgroup", (int)s->cgroup.memory_version, s->cgroup.memory_dir);
    else
        printf("  %-18s %-14s %s\n", "cgroup", "none", s->cgroup.why);
    row("cgroup limit", fmt_bytes(&m->cgroup_limit, a, sizeof(a)), &m->cgroup_limit);
    /* memory.high exists only in v2; on v1 it is not unknown, it is not a thing. */
    row("cgroup high",
        s->cgroup.memory_version == RAPT_CGROUP_V1 ? "-" : fmt_bytes(&m->cgroup_high, a, sizeof(a)),
        &m->cgroup_high);
    row("cgroup usage", fmt_bytes(&m->cgroup_usage, a, sizeof(a)), &m->cgroup_usage);
    row("reclaimable", fmt_bytes(&m->cgroup_reclaimable, a, sizeof(a)), &m->cgroup_reclaimable);
    row("RLIMIT_AS", fmt_bytes(&m->rlimit_as, a, sizeof(a)), &m->rlimit_as);
    row("RLIMIT_DATA", fmt_bytes(&m->rlimit_data, a, sizeof(a)), &m->rlimit_data);
    row("SLURM", m->slurm.state == RAPT_QTY_UNKNOWN ? "-" : fmt_bytes(&m->slurm, a, sizeof(a)),
        &m->slurm);
    if (m->limit_bound != RAPT_BOUND_UNKNOWN) {
        snprintf(b, sizeof(b), "%s:", rapt_bound_name(m->limit_bound));
        printf("  %-18s %-14s %s %s\n", "limit", rapt_size_format(m->limit, a, sizeof(a)), b,
               m->limit_where);
    } else {
        printf("  %-18s %-14s %s\n", "limit", "unknown", "no memory figure could be read");
    }
    printf("  %-18s %s\n\n", "available",
           m->available_known ? rapt_size_format(m->available, a, sizeof(a)) : "unknown");

    printf("Swap\n");
    row("host total", fmt_bytes(&m->swap_total, a, sizeof(a)), &m->swap_total);
    row("host free", fmt_bytes(&m->swap_free, a, sizeof(a)), &m->swap_free);
    row("cgroup limit", fmt_bytes(&m->cgroup_swap_limit, a, sizeof(a)), &m->cgroup_swap_limit);
    printf("\n");

    printf("Pressure (PSI: %% of time stalled over 10 s, 60 s, 300 s)\n");
    psi_row("system", "cpu", &s->psi_system.cpu);
    psi_row("system", "memory", &s->psi_system.memory);
    psi_row("system", "io", &s->psi_system.io);
    psi_row("cgroup", "cpu", &s->psi_cgroup.cpu);
    psi_row("cgroup", "memory", &s->psi_cgroup.memory);
    psi_row("cgroup", "io", &s->psi_cgroup.io);
    printf("\n");

    if (s->slurm.in_allocation)
        printf("SLURM allocation   job %s%s%s\n\n", s->slurm.job_id, s->slurm.why[0] ? ": " : "",
               s->slurm.why);
    else
        printf("SLURM allocation   none\n\n");

    printf("Environment        %s\n", rapt_env_class_name(s->env_class));
    printf("Defaults           %u job slot%s, memory budget %s (%.0f%% of the limit, less what is "
           "in use)\n",
           s->default_slots, s->default_slots == 1 ? "" : "s",
           rapt_size_format(s->default_budget, a, sizeof(a)), RAPT_SYS_DEFAULT_ETA * 100);
}

/* ---- JSON output ------------------------------------------------------------------------- */

/* A quantity as {"state": ..., "value": N|null, "source"|"reason": "..."}. */
static void json_qty(rapt__jw *w, const char *key, const rapt_qty *q)
{
    rapt__jw_key(w, key);
    rapt__jw_obj(w);
    rapt__jw_key(w, "state");
    rapt__jw_str(w, q->state == RAPT_QTY_KNOWN       ? "known"
                    : q->state == RAPT_QTY_UNLIMITED ? "unlimited"
                                                     : "unknown");
    rapt__jw_key(w, "value");
    if (q->state == RAPT_QTY_KNOWN)
        rapt__jw_u64(w, q->value);
    else
        rapt__jw_null(w);
    if (q->where[0]) {
        rapt__jw_key(w, "source");
        rapt__jw_str(w, q->where);
    }
    if (q->state == RAPT_QTY_UNKNOWN) {
        rapt__jw_key(w, "reason");
        rapt__jw_str(w, q->why);
    }
    rapt__jw_end(w);
}

static void json_psi_line(rapt__jw *w, const char *key, const rapt_psi_line *l)
{
    rapt__jw_key(w, key);
    if (!l->known) {
        rapt__jw_null(w);
        return;
    }
    rapt__jw_obj(w);
    rapt__jw_key(w, "avg10");
    rapt__jw_dbl(w, l->avg10);
    rapt__jw_key(w, "avg60");
    rapt__jw_dbl(w, l->avg60);
    rapt__jw_key(w, "avg300");
    rapt__jw_dbl(w, l->avg300);
    rapt__jw_key(w, "total_us");
    rapt__jw_u64(w, l->total_us);
    rapt__jw_end(w);
}

static void json_psi(rapt__jw *w, const char *key, const rapt_psi *p)
{
    const rapt_psi_res *res[] = {&p->cpu, &p->memory, &p->io};
    const char *names[] = {"cpu", "memory", "io"};
    rapt__jw_key(w, key);
    rapt__jw_obj(w);
    for (size_t i = 0; i < 3; i++) {
        rapt__jw_key(w, names[i]);
        rapt__jw_obj(w);
        rapt__jw_key(w, "known");
        rapt__jw_bool(w, res[i]->known);
        rapt__jw_key(w, "source");
        rapt__jw_str(w, res[i]->where);
        if (!res[i]->known) {
            rapt__jw_key(w, "reason");
            rapt__jw_str(w, res[i]->why);
        }
        json_psi_line(w, "some", &res[i]->some);
        json_psi_line(w, "full", &res[i]->full);
        rapt__jw_end(w);
    }
    rapt__jw_end(w);
}

static void print_json(const rapt_sys_info *s, const char *sysroot)
{
    rapt__jw w;
    rapt__jw_init(&w, stdout, true);
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "schema");
    rapt__jw_str(&w, "rapt.info/1");
    rapt__jw_key(&w, "version");
    rapt__jw_str(&w, rapt_version());
    rapt__jw_key(&w, "sysroot");
    rapt__jw_str(&w, sysroot ? sysroot : "/");

    rapt__jw_key(&w, "cpu");
    rapt__jw_obj(&w);
    json_qty(&w, "online", &s->cpu.online);
    json_qty(&w, "affinity", &s->cpu.affinity);
    json_qty(&w, "quota_millicpus", &s->cpu.quota_milli);
    rapt__jw_key(&w, "quota_cpus");
    if (s->cpu.quota_cpus)
        rapt__jw_u64(&w, s->cpu.quota_cpus);
    else
        rapt__jw_null(&w);
    json_qty(&w, "slurm", &s->cpu.slurm);
    rapt__jw_key(&w, "effective");
    rapt__jw_u64(&w, s->cpu.effective);
    rapt__jw_key(&w, "effective_bound");
    rapt__jw_str(&w, rapt_bound_name(s->cpu.effective_bound));
    rapt__jw_end(&w);

    const rapt_sys_memory *m = &s->mem;
    rapt__jw_key(&w, "memory");
    rapt__jw_obj(&w);
    json_qty(&w, "host_total", &m->host_total);
    json_qty(&w, "host_available", &m->host_available);
    rapt__jw_key(&w, "cgroup");
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "version");
    if (s->cgroup.memory_version == RAPT_CGROUP_NONE)
        rapt__jw_null(&w);
    else
        rapt__jw_u64(&w, (uint64_t)s->cgroup.memory_version);
    rapt__jw_key(&w, "path");
    rapt__jw_str(&w, s->cgroup.memory_path);
    rapt__jw_key(&w, "dir");
    rapt__jw_str(&w, s->cgroup.memory_dir);
    json_qty(&w, "limit", &m->cgroup_limit);
    json_qty(&w, "high", &m->cgroup_high);
    json_qty(&w, "usage", &m->cgroup_usage);
    json_qty(&w, "reclaimable", &m->cgroup_reclaimable);
    json_qty(&w, "headroom", &m->cgroup_headroom);
    json_qty(&w, "swap_limit", &m->cgroup_swap_limit);
    rapt__jw_end(&w);
    json_qty(&w, "rlimit_as", &m->rlimit_as);
    json_qty(&w, "rlimit_data", &m->rlimit_data);
    json_qty(&w, "slurm", &m->slurm);
    rapt__jw_key(&w, "limit");
    if (m->limit_bound != RAPT_BOUND_UNKNOWN)
        rapt__jw_u64(&w, m->limit);
    else
        rapt__jw_null(&w);
    rapt__jw_key(&w, "limit_bound");
    rapt__jw_str(&w, rapt_bound_name(m->limit_bound));
    rapt__jw_key(&w, "limit_source");
    rapt__jw_str(&w, m->limit_where);
    rapt__jw_key(&w, "available");
    if (m->available_known)
        rapt__jw_u64(&w, m->available);
    else
        rapt__jw_null(&w);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "swap");
    rapt__jw_obj(&w);
    json_qty(&w, "total", &m->swap_total);
    json_qty(&w, "free", &m->swap_free);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "cgroups");
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "memory_version");
    rapt__jw_u64(&w, (uint64_t)s->cgroup.memory_version);
    rapt__jw_key(&w, "memory_dir");
    rapt__jw_str(&w, s->cgroup.memory_dir);
    rapt__jw_key(&w, "cpu_version");
    rapt__jw_u64(&w, (uint64_t)s->cgroup.cpu_version);
    rapt__jw_key(&w, "cpu_dir");
    rapt__jw_str(&w, s->cgroup.cpu_dir);
    rapt__jw_key(&w, "unified_dir");
    rapt__jw_str(&w, s->cgroup.unified_dir);
    if (s->cgroup.why[0]) {
        rapt__jw_key(&w, "reason");
        rapt__jw_str(&w, s->cgroup.why);
    }
    rapt__jw_end(&w);

    rapt__jw_key(&w, "psi");
    rapt__jw_obj(&w);
    json_psi(&w, "system", &s->psi_system);
    json_psi(&w, "cgroup", &s->psi_cgroup);
    rapt__jw_end(&w);

    rapt__jw_key(&w, "slurm");
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "in_allocation");
    rapt__jw_bool(&w, s->slurm.in_allocation);
    rapt__jw_key(&w, "job_id");
    if (s->slurm.in_allocation)
        rapt__jw_str(&w, s->slurm.job_id);
    else
        rapt__jw_null(&w);
    if (s->slurm.why[0]) {
        rapt__jw_key(&w, "reason");
        rapt__jw_str(&w, s->slurm.why);
    }
    rapt__jw_end(&w);

    rapt__jw_key(&w, "environment");
    rapt__jw_str(&w, rapt_env_class_name(s->env_class));
    rapt__jw_key(&w, "defaults");
    rapt__jw_obj(&w);
    rapt__jw_key(&w, "slots");
    rapt__jw_u64(&w, s->default_slots);
    rapt__jw_key(&w, "memory_budget");
    rapt__jw_u64(&w, s->default_budget);
    rapt__jw_key(&w, "eta");
    rapt__jw_dbl(&w, RAPT_SYS_DEFAULT_ETA);
    rapt__jw_end(&w);
    rapt__jw_end(&w);
    rapt__jw_done(&w);
}

static int exec_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"sysroot", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    bool json = false;
    const char *sysroot = NULL;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'r': sysroot = optarg; break;
        case 'h': return cli_close_stdout(cli_help(&rapt_cmd_info));
        default: return cli_bad_option(&rapt_cmd_info, c, argc, argv);
        }
    }
    if (optind < argc)
        return cli_fail(RAPT_EXIT_USAGE, "info: unexpected argument '%s'", argv[optind]);

    rapt_sys_info info;
    int rc = cli_read_sys("info", sysroot, &info);
    if (rc)
        return rc;
    if (json)
        print_json(&info, sysroot);
    else
        print_human(&info, sysroot);
    return cli_close_stdout(RAPT_EXIT_OK);
}
