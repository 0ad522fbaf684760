/* test_sys.c: the sys module against its parsers and the fixture trees.
 *
 * Every scenario in tests/fixtures asserts exact figures: effective CPUs and what bounds them,
 * the binding memory limit and the file that set it, usage, available and the budget.
 */
#include <string.h>

#include "harness.h"
#include "os/os.h"
#include "rapt/sys.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

static rapt_sys_info info;

static void read_fixture(const char *name, char *const *envp)
{
    static char *const empty_env[] = {NULL};
    rapt_sys_opts o;
    rapt_sys_opts_init(&o);
    o.sysroot = fixture(name);
    o.envp = envp ? envp : empty_env;
    ck_assert_int_eq(rapt_sys_read(&o, &info), 0);
}

/* ---- parsers ----------------------------------------------------------------------------- */

START_TEST(parse_meminfo_units)
{
    rapt__meminfo mi;
    ck_assert_int_eq(
        rapt__parse_meminfo("MemTotal:  1000 kB\nMemAvailable: 10 kB\nHugePages_Total: 5\n", &mi),
        0);
    ck_assert_uint_eq(mi.total, 1024000);
    ck_assert_uint_eq(mi.available, 10240);
    ck_assert(mi.available_ok);
    ck_assert(!mi.swap_total_ok);
    /* An unknown unit leaves the field unknown; a missing MemTotal fails the parse. */
    ck_assert_int_eq(rapt__parse_meminfo("MemTotal: 5 MB\n", &mi), -EINVAL);
    ck_assert_int_eq(rapt__parse_meminfo("", &mi), -EINVAL);
    ck_assert_int_eq(rapt__parse_meminfo("MemTotal: 99999999999999999999999 kB\n", &mi), -EINVAL);
}
END_TEST

START_TEST(parse_cpulist_forms)
{
    unsigned n;
    ck_assert_int_eq(rapt__parse_cpulist("0-3,8,10-11\n", SIZE_MAX, &n), 0);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(rapt__parse_cpulist("5", SIZE_MAX, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(rapt__parse_cpulist("3-1", SIZE_MAX, &n), -EINVAL);
    ck_assert_int_eq(rapt__parse_cpulist("", SIZE_MAX, &n), -EINVAL);
    ck_assert_int_eq(rapt__parse_cpulist("0-1,", SIZE_MAX, &n), -EINVAL);
    ck_assert_int_eq(rapt__parse_cpulist("a-b", SIZE_MAX, &n), -EINVAL);
    ck_assert_int_eq(rapt__parse_cpulist("0-99999999", SIZE_MAX, &n), -EINVAL);
}
END_TEST

START_TEST(parse_cpu_max_forms)
{
    uint64_t q, p;
    bool unl;
    ck_assert_int_eq(rapt__parse_cpu_max("max 100000\n", &q, &p, &unl), 0);
    ck_assert(unl);
    ck_assert_uint_eq(p, 100000);
    ck_assert_int_eq(rapt__parse_cpu_max("50000 100000\n", &q, &p, &unl), 0);
    ck_assert(!unl);
    ck_assert_uint_eq(q, 50000);
    ck_assert_int_eq(rapt__parse_cpu_max("50000\n", &q, &p, &unl), -EINVAL);
    ck_assert_int_eq(rapt__parse_cpu_max("50000 0\n", &q, &p, &unl), -EINVAL);
    ck_assert_int_eq(rapt__parse_cpu_max("0 100000\n", &q, &p, &unl), -EINVAL);
    ck_assert_int_eq(rapt__parse_cpu_max("-1 100000\n", &q, &p, &unl), -EINVAL);
}
END_TEST

START_TEST(parse_mem_limit_sentinels)
{
    uint64_t b;
    bool unl;
    ck_assert_int_eq(rapt__parse_mem_limit("max\n", &b, &unl), 0);
    ck_assert(unl);
    ck_assert_int_eq(rapt__parse_mem_limit("9223372036854771712\n", &b, &unl), 0);
    ck_assert(unl);
    /* The 64 KiB-page sentinel is unlimited too. */
    ck_assert_int_eq(rapt__parse_mem_limit("9223372036854710272\n", &b, &unl), 0);
    ck_assert(unl);
    ck_assert_int_eq(rapt__parse_mem_limit("536870912\n", &b, &unl), 0);
    ck_assert(!unl);
    ck_assert_uint_eq(b, 536870912);
    ck_assert_int_eq(rapt__parse_mem_limit("-1\n", &b, &unl), -EINVAL);
    ck_assert_int_eq(rapt__parse_mem_limit("lots\n", &b, &unl), -EINVAL);
    ck_assert_int_eq(rapt__parse_mem_limit("", &b, &unl), -EINVAL);
}
END_TEST

START_TEST(parse_proc_cgroup_lines)
{
    const char *buf = "12:cpu,cpuacct:/a:b\n4:memory:/docker/x\n0::/user.slice\n";
    rapt__cgline l;
    ck_assert_int_eq(rapt__parse_proc_cgroup(buf, "cpu", &l), 0);
    ck_assert_int_eq((int)l.path_len, 4);
    ck_assert(strncmp(l.path, "/a:b", 4) == 0);
    ck_assert_int_eq(rapt__parse_proc_cgroup(buf, "cpuacct", &l), 0);
    ck_assert_int_eq(rapt__parse_proc_cgroup(buf, "memory", &l), 0);
    ck_assert(strncmp(l.path, "/docker/x", l.path_len) == 0);
    ck_assert_int_eq(rapt__parse_proc_cgroup(buf, NULL, &l), 0);
    ck_assert(strncmp(l.path, "/user.slice", l.path_len) == 0);
    ck_assert_int_eq(rapt__parse_proc_cgroup(buf, "pids", &l), -ENOENT);
    /* "cpu" must not match "cpuset". */
    ck_assert_int_eq(rapt__parse_proc_cgroup("3:cpuset:/x\n", "cpu", &l), -ENOENT);
    ck_assert_int_eq(rapt__parse_proc_cgroup("garbage\n", "cpu", &l), -EINVAL);
    ck_assert_int_eq(rapt__parse_proc_cgroup("x:memory:/\n", "memory", &l), -EINVAL);
}
END_TEST

START_TEST(parse_mountinfo_fields)
{
    const char *buf = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
                      "35 31 0:32 /lxc/c1 /sys/fs/cgroup/memory rw,relatime shared:9 master:2 - "
                      "cgroup cgroup rw,memory\n"
                      "41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw - cgroup2 cgroup2 rw\n";
    rapt__cgmount m;
    ck_assert_int_eq(rapt__parse_mountinfo(buf, "memory", &m), 0);
    ck_assert_str_eq(m.root, "/lxc/c1");
    ck_assert_str_eq(m.point, "/sys/fs/cgroup/memory");
    ck_assert_int_eq(rapt__parse_mountinfo(buf, NULL, &m), 0);
    ck_assert_str_eq(m.point, "/sys/fs/cgroup/uni fied");
    ck_assert_int_eq(rapt__parse_mountinfo(buf, "cpu", &m), -ENOENT);
    ck_assert_int_eq(rapt__parse_mountinfo("1 2 3\n", "cpu", &m), -EINVAL);
    ck_assert_int_eq(rapt__parse_mountinfo("1 2 3:4 / /x rw no-separator here\n", NULL, &m),
                     -EINVAL);
    ck_assert_int_eq(rapt__parse_mountinfo("1 2 3:4 / /x\\09 rw - cgroup2 cgroup2 rw\n", NULL, &m),
                     -EINVAL);
}
END_TEST

START_TEST(parse_psi_lines)
{
    rapt_psi_res r;
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(rapt__parse_psi("some avg10=1.50 avg60=0.75 avg300=0.25 total=123456\n", &r),
                     0);
    ck_assert(r.some.known && !r.full.known);
    ck_assert(r.some.avg10 > 1.49 && r.some.avg10 < 1.51);
    ck_assert_uint_eq(r.some.total_us, 123456);
    ck_assert_int_eq(rapt__parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                                     "full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n",
                                     &r),
                     0);
    ck_assert(r.full.known);
    ck_assert_uint_eq(r.full.total_us, 7);
    ck_assert_int_eq(rapt__parse_psi("some avg10=abc avg60=0 avg300=0 total=0\n", &r), -EINVAL);
    ck_assert_int_eq(rapt__parse_psi("full avg10=0.00\n", &r), -EINVAL);
    ck_assert_int_eq(rapt__parse_psi("some avg10=101 avg60=0 avg300=0 total=0\n", &r), -EINVAL);
}
END_TEST

START_TEST(parse_limits_rows)
{
    const char *buf = "Limit                     Soft Limit           Hard Limit           Units\n"
                      "Max data size             unlimited            unlimited            bytes\n"
                      "Max address space         1073741824           unlimited            bytes\n";
    uint64_t v;
    bool unl;
    ck_assert_int_eq(rapt__parse_limits(buf, "Max data size", &v, &unl), 0);
    ck_assert(unl);
    ck_assert_int_eq(rapt__parse_limits(buf, "Max address space", &v, &unl), 0);
    ck_assert(!unl);
    ck_assert_uint_eq(v, GIB);
    ck_assert_int_eq(rapt__parse_limits(buf, "Max stack size", &v, &unl), -ENOENT);
    ck_assert_int_eq(rapt__parse_limits("Max data size   lots  x\n", "Max data size", &v, &unl),
                     -EINVAL);
}
END_TEST

/* ---- fixture scenarios ------------------------------------------------------------------- */

START_TEST(scenario_nolimits)
{
    read_fixture("nolimits", NULL);
    ck_assert_uint_eq(info.cpu.online.value, 8);
    ck_assert_uint_eq(info.cpu.affinity.value, 8);
    ck_assert_int_eq(info.cpu.quota_milli.state, RAPT_QTY_UNLIMITED);
    ck_assert_uint_eq(info.cpu.effective, 8);
    ck_assert_int_eq(info.cgroup.memory_version, RAPT_CGROUP_V1);
    ck_assert_str_eq(info.cgroup.memory_dir, "/sys/fs/cgroup/memory/user.slice/session-1");
    ck_assert_str_eq(info.cgroup.memory_path, "/user.slice/session-1");
    ck_assert_int_eq(info.mem.cgroup_limit.state, RAPT_QTY_UNLIMITED);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_HOST);
    ck_assert_uint_eq(info.mem.limit, 16 * GIB);
    ck_assert_str_eq(info.mem.limit_where, "/proc/meminfo MemTotal");
    ck_assert_uint_eq(info.mem.cgroup_usage.value, 200 * MIB);
    ck_assert_uint_eq(info.mem.cgroup_reclaimable.value, 50 * MIB);
    ck_assert(info.mem.available_known);
    ck_assert_uint_eq(info.mem.available, 12 * GIB);
    ck_assert_int_eq(info.mem.cgroup_swap_limit.state, RAPT_QTY_UNLIMITED);
    ck_assert_uint_eq(info.mem.swap_total.value, 0);
    /* PSI: cpu has no "full" line on this kernel's files; memory and io have both. */
    ck_assert(info.psi_system.cpu.known && !info.psi_system.cpu.full.known);
    ck_assert(info.psi_system.memory.full.known);
    ck_assert(info.psi_system.io.some.avg10 > 2.99 && info.psi_system.io.some.avg10 < 3.01);
    ck_assert(!info.psi_cgroup.memory.known); /* the hybrid v2 root has no pressure files here */
    ck_assert_int_eq(info.env_class, RAPT_ENV_MEDIUM);
    ck_assert_uint_eq(info.default_slots, 8);
    /* 12 GiB available less 15% of the 16 GiB limit. */
    ck_assert_uint_eq(info.default_budget, 12 * GIB - 2576980378ull);
    ck_assert(!info.slurm.in_allocation);
}
END_TEST

START_TEST(scenario_v1_free_tier)
{
    read_fixture("v1-free-tier", NULL);
    ck_assert_uint_eq(info.cpu.quota_milli.value, 100);
    ck_assert_uint_eq(info.cpu.quota_cpus, 1);
    ck_assert_uint_eq(info.cpu.effective, 1);
    ck_assert_int_eq(info.cpu.effective_bound, RAPT_BOUND_CGROUP);
    ck_assert_str_eq(info.cpu.quota_milli.where, "/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us");
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_CGROUP);
    ck_assert_uint_eq(info.mem.limit, 512 * MIB);
    ck_assert_str_eq(info.mem.limit_where,
                     "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes");
    ck_assert_uint_eq(info.mem.cgroup_usage.value, 100 * MIB);
    ck_assert_uint_eq(info.mem.cgroup_reclaimable.value, 20 * MIB);
    /* 512 - 100 + 20 MiB of inactive cache. */
    ck_assert_uint_eq(info.mem.cgroup_headroom.value, 432 * MIB);
    ck_assert_uint_eq(info.mem.available, 432 * MIB);
    ck_assert_int_eq(info.env_class, RAPT_ENV_CONSTRAINED);
    ck_assert_uint_eq(info.default_slots, 1);
    ck_assert_uint_eq(info.default_budget, 432 * MIB - 80530637ull);
    ck_assert_int_eq(info.mem.cgroup_high.state, RAPT_QTY_UNKNOWN);
}
END_TEST

START_TEST(scenario_v2_limited)
{
    read_fixture("v2-limited", NULL);
    ck_assert_int_eq(info.cgroup.memory_version, RAPT_CGROUP_V2);
    ck_assert_int_eq(info.cgroup.cpu_version, RAPT_CGROUP_V2);
    ck_assert_str_eq(info.cgroup.memory_dir, "/sys/fs/cgroup/app.slice/job");
    ck_assert_str_eq(info.cgroup.unified_dir, "/sys/fs/cgroup/app.slice/job");
    ck_assert_uint_eq(info.cpu.quota_milli.value, 1500);
    ck_assert_uint_eq(info.cpu.quota_cpus, 2);
    ck_assert_uint_eq(info.cpu.effective, 2);
    ck_assert_int_eq(info.cpu.effective_bound, RAPT_BOUND_CGROUP);
    ck_assert_uint_eq(info.mem.limit, 1 * GIB);
    ck_assert_str_eq(info.mem.limit_where, "/sys/fs/cgroup/app.slice/job/memory.max");
    ck_assert_uint_eq(info.mem.cgroup_high.value, 896 * MIB);
    ck_assert_uint_eq(info.mem.cgroup_usage.value, 256 * MIB);
    ck_assert_uint_eq(info.mem.cgroup_reclaimable.value, 64 * MIB);
    ck_assert_uint_eq(info.mem.available, (1024 - 256 + 64) * MIB);
    ck_assert_int_eq(info.mem.cgroup_swap_limit.state, RAPT_QTY_KNOWN);
    ck_assert_uint_eq(info.mem.cgroup_swap_limit.value, 0);
    ck_assert(info.psi_cgroup.memory.known);
    ck_assert_str_eq(info.psi_cgroup.memory.where, "/sys/fs/cgroup/app.slice/job/memory.pressure");
    ck_assert_int_eq(info.env_class, RAPT_ENV_CONSTRAINED);
}
END_TEST

START_TEST(scenario_v2_nested)
{
    read_fixture("v2-nested", NULL);
    /* The pod's 0.5 CPU binds although the container allows 2. */
    ck_assert_uint_eq(info.cpu.quota_milli.value, 500);
    ck_assert_str_eq(info.cpu.quota_milli.where, "/sys/fs/cgroup/kubepods/pod1/cpu.max");
    ck_assert_uint_eq(info.cpu.effective, 1);
    /* The pod's 2 GiB is the tightest limit, though the leaf says 4 GiB. */
    ck_assert_uint_eq(info.mem.limit, 2 * GIB);
    ck_assert_str_eq(info.mem.limit_where, "/sys/fs/cgroup/kubepods/pod1/memory.max");
    ck_assert_uint_eq(info.mem.cgroup_usage.value, 1536 * MIB);
    /* kubepods (3 GiB, 3000 MiB used) leaves the least room: 72 MiB. */
    ck_assert_uint_eq(info.mem.cgroup_headroom.value, 72 * MIB);
    ck_assert_str_eq(info.mem.cgroup_headroom.where, "/sys/fs/cgroup/kubepods/memory.max");
    ck_assert_uint_eq(info.mem.available, 72 * MIB);
    ck_assert_int_eq(info.mem.cgroup_high.state, RAPT_QTY_UNLIMITED);
    ck_assert_int_eq(info.mem.cgroup_swap_limit.state, RAPT_QTY_UNLIMITED);
    /* 72 MiB available is less than the 15% headroom of 2 GiB: nothing left for jobs. */
    ck_assert_uint_eq(info.default_budget, 0);
}
END_TEST

START_TEST(scenario_cpuset)
{
    read_fixture("cpuset", NULL);
    ck_assert_uint_eq(info.cpu.online.value, 8);
    ck_assert_uint_eq(info.cpu.affinity.value, 2);
    ck_assert_uint_eq(info.cpu.effective, 2);
    ck_assert_int_eq(info.cpu.effective_bound, RAPT_BOUND_AFFINITY);
    ck_assert_int_eq(info.env_class, RAPT_ENV_SMALL);
}
END_TEST

START_TEST(scenario_v2_max)
{
    read_fixture("v2-max", NULL);
    ck_assert_int_eq(info.cpu.quota_milli.state, RAPT_QTY_UNLIMITED);
    ck_assert_uint_eq(info.cpu.effective, 8);
    ck_assert_int_eq(info.mem.cgroup_limit.state, RAPT_QTY_UNLIMITED);
    ck_assert_int_eq(info.mem.cgroup_high.state, RAPT_QTY_UNLIMITED);
    ck_assert_int_eq(info.mem.cgroup_swap_limit.state, RAPT_QTY_UNLIMITED);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_HOST);
    ck_assert_uint_eq(info.mem.limit, 16 * GIB);
    ck_assert_uint_eq(info.mem.cgroup_usage.value, 64 * MIB);
    ck_assert_uint_eq(info.mem.available, 12 * GIB);
}
END_TEST

START_TEST(scenario_missing)
{
    read_fixture("missing", NULL);
    ck_assert_int_eq(info.cpu.online.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.cpu.affinity.state, RAPT_QTY_UNKNOWN);
    ck_assert(strstr(info.cpu.online.why, "cannot read") != NULL);
    ck_assert_uint_eq(info.cpu.effective, 1);
    ck_assert_int_eq(info.cpu.effective_bound, RAPT_BOUND_UNKNOWN);
    ck_assert_int_eq(info.cgroup.memory_version, RAPT_CGROUP_NONE);
    ck_assert(strstr(info.cgroup.why, "/proc/self/cgroup") != NULL);
    ck_assert_int_eq(info.mem.cgroup_limit.state, RAPT_QTY_UNKNOWN);
    ck_assert_uint_eq(info.mem.limit, 4 * GIB);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_HOST);
    /* No MemAvailable (nor Buffers/Cached) and no cgroup: available is unknown and the
     * budget falls back to eta x limit. */
    ck_assert_int_eq(info.mem.host_available.state, RAPT_QTY_UNKNOWN);
    ck_assert(!info.mem.available_known);
    ck_assert_uint_eq(info.default_budget, 3650722202ull); /* round(0.85 x 4 GiB) */
    ck_assert(!info.psi_system.cpu.known);
    ck_assert(strstr(info.psi_system.cpu.why, "not offered") != NULL);
    ck_assert_int_eq(info.mem.rlimit_as.state, RAPT_QTY_UNKNOWN);
}
END_TEST

START_TEST(scenario_garbage)
{
    read_fixture("garbage", NULL);
    ck_assert_int_eq(info.cpu.online.state, RAPT_QTY_UNKNOWN);
    ck_assert_str_eq(info.cpu.online.why, "malformed CPU list");
    ck_assert_int_eq(info.cpu.affinity.state, RAPT_QTY_UNKNOWN);
    ck_assert_uint_eq(info.cpu.effective, 1);
    ck_assert_int_eq(info.mem.host_total.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.mem.host_available.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.mem.swap_total.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.mem.rlimit_as.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.mem.rlimit_data.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_UNKNOWN);
    ck_assert(!info.mem.available_known);
    ck_assert_uint_eq(info.default_budget, 0);
    ck_assert_int_eq(info.cgroup.memory_version, RAPT_CGROUP_NONE);
    ck_assert_str_eq(info.cgroup.why, "malformed /proc/self/cgroup");
    ck_assert(!info.psi_system.cpu.known);
    ck_assert(!info.psi_system.memory.known);
    ck_assert(!info.psi_system.io.known);
    ck_assert_str_eq(info.psi_system.io.why, "malformed pressure file");
    ck_assert_int_eq(info.env_class, RAPT_ENV_CONSTRAINED);
}
END_TEST

START_TEST(scenario_v1_garbage_limits)
{
    read_fixture("v1-garbage-limits", NULL);
    ck_assert_int_eq(info.mem.cgroup_limit.state, RAPT_QTY_UNKNOWN);
    ck_assert_str_eq(info.mem.cgroup_limit.why, "malformed memory limit");
    ck_assert_str_eq(info.mem.cgroup_limit.where,
                     "/sys/fs/cgroup/memory/job/memory.limit_in_bytes");
    ck_assert_int_eq(info.mem.cgroup_usage.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.mem.cgroup_reclaimable.state, RAPT_QTY_UNKNOWN);
    ck_assert_int_eq(info.cpu.quota_milli.state, RAPT_QTY_UNKNOWN);
    ck_assert_str_eq(info.cpu.quota_milli.why, "malformed CPU quota");
    /* The host's figures still stand. */
    ck_assert_uint_eq(info.cpu.effective, 8);
    ck_assert_uint_eq(info.mem.limit, 16 * GIB);
    ck_assert_uint_eq(info.mem.available, 12 * GIB);
}
END_TEST

START_TEST(scenario_slurm_per_node)
{
    char *env[] = {"SLURM_JOB_ID=4242", "SLURM_CPUS_ON_NODE=4", "SLURM_MEM_PER_NODE=8192",
                   "PATH=/usr/bin", NULL};
    read_fixture("slurm", env);
    ck_assert(info.slurm.in_allocation);
    ck_assert_str_eq(info.slurm.job_id, "4242");
    ck_assert_uint_eq(info.cpu.online.value, 16);
    ck_assert_uint_eq(info.cpu.slurm.value, 4);
    ck_assert_uint_eq(info.cpu.effective, 4);
    ck_assert_int_eq(info.cpu.effective_bound, RAPT_BOUND_SLURM);
    ck_assert_uint_eq(info.mem.slurm.value, 8 * GIB);
    ck_assert_uint_eq(info.mem.limit, 8 * GIB);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_SLURM);
    ck_assert_str_eq(info.mem.limit_where, "SLURM_MEM_PER_NODE");
    /* 60 GiB available on the host, capped by the allocation. */
    ck_assert_uint_eq(info.mem.available, 8 * GIB);
    ck_assert_int_eq(info.env_class, RAPT_ENV_SMALL);
}
END_TEST

START_TEST(scenario_slurm_per_cpu)
{
    char *env[] = {"SLURM_JOB_ID=77", "SLURM_JOB_CPUS_PER_NODE=3(x2)", "SLURM_MEM_PER_CPU=1G",
                   NULL};
    read_fixture("slurm", env);
    ck_assert_uint_eq(info.cpu.slurm.value, 3);
    ck_assert_str_eq(info.cpu.slurm.where, "SLURM_JOB_CPUS_PER_NODE");
    ck_assert_uint_eq(info.cpu.effective, 3);
    ck_assert_uint_eq(info.mem.limit, 3 * GIB);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_SLURM);
}
END_TEST

START_TEST(scenario_slurm_bad_values)
{
    char *env[] = {"SLURM_JOB_ID=9", "SLURM_CPUS_ON_NODE=many", "SLURM_MEM_PER_NODE=0", NULL};
    read_fixture("slurm", env);
    ck_assert(info.slurm.in_allocation);
    ck_assert_int_eq(info.cpu.slurm.state, RAPT_QTY_UNKNOWN);
    ck_assert(strstr(info.slurm.why, "SLURM_CPUS_ON_NODE") != NULL);
    ck_assert_uint_eq(info.cpu.effective, 16);
    /* --mem=0 is "the whole node". */
    ck_assert_int_eq(info.mem.slurm.state, RAPT_QTY_UNLIMITED);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_HOST);
    ck_assert_uint_eq(info.mem.limit, 64 * GIB);
}
END_TEST

START_TEST(scenario_hidden_ancestor)
{
    read_fixture("v1-hidden-ancestor", NULL);
    ck_assert_str_eq(info.cgroup.memory_dir, "/sys/fs/cgroup/memory");
    ck_assert_str_eq(info.cgroup.memory_path, "/lxc/c1");
    ck_assert_uint_eq(info.mem.limit, 256 * MIB);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_CGROUP_HIER);
    ck_assert(strstr(info.mem.limit_where, "hierarchical_memory_limit") != NULL);
    ck_assert_uint_eq(info.mem.available, (256 - 50 + 10) * MIB);
    ck_assert_uint_eq(info.cpu.quota_milli.value, 2500);
    ck_assert_uint_eq(info.cpu.effective, 3);
}
END_TEST

START_TEST(scenario_rlimit)
{
    read_fixture("rlimit", NULL);
    ck_assert_uint_eq(info.mem.rlimit_as.value, GIB);
    ck_assert_uint_eq(info.mem.rlimit_data.value, 3 * GIB);
    ck_assert_uint_eq(info.mem.limit, GIB);
    ck_assert_int_eq(info.mem.limit_bound, RAPT_BOUND_RLIMIT_AS);
    ck_assert_uint_eq(info.mem.available, GIB);
}
END_TEST

START_TEST(scenario_escaped_mount)
{
    read_fixture("escaped-mount", NULL);
    ck_assert_str_eq(info.cgroup.memory_dir, "/sys/fs/cgroup v2/job");
    ck_assert_uint_eq(info.mem.limit, 768 * MIB);
    ck_assert_uint_eq(info.mem.available, 700 * MIB);
    ck_assert_uint_eq(info.cpu.effective, 3);
}
END_TEST

START_TEST(bad_sysroot)
{
    rapt_sys_opts o;
    rapt_sys_opts_init(&o);
    o.sysroot = "/nonexistent/rapt-sysroot";
    ck_assert_int_eq(rapt_sys_read(&o, &info), -ENOENT);
    o.sysroot = fixture("nolimits/proc/meminfo");
    ck_assert_int_eq(rapt_sys_read(&o, &info), -ENOTDIR);
    ck_assert_int_eq(rapt_sys_read(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(refresh_keeps_placement)
{
    read_fixture("v2-limited", NULL);
    rapt_sys_opts o;
    rapt_sys_opts_init(&o);
    o.sysroot = fixture("v2-limited");
    ck_assert_int_eq(rapt_sys_refresh(&o, &info), 0);
    ck_assert_uint_eq(info.mem.available, (1024 - 256 + 64) * MIB);
    ck_assert_uint_eq(info.cpu.effective, 2);
}
END_TEST

START_TEST(budget_arithmetic)
{
    rapt_sys_info s;
    memset(&s, 0, sizeof(s));
    s.mem.limit = 1000;
    s.mem.limit_bound = RAPT_BOUND_CGROUP;
    s.mem.available = 900;
    s.mem.available_known = true;
    ck_assert_uint_eq(rapt_sys_budget(&s, 0.85), 750);
    ck_assert_uint_eq(rapt_sys_budget(&s, 1.0), 900);
    s.mem.available = 100;
    ck_assert_uint_eq(rapt_sys_budget(&s, 0.85), 0);
    ck_assert_uint_eq(rapt_sys_budget(&s, 0), 0);
    ck_assert_uint_eq(rapt_sys_budget(&s, 1.5), 0);
    ck_assert_uint_eq(rapt_sys_budget(NULL, 0.5), 0);
}
END_TEST

START_TEST(live_machine_is_sane)
{
    /* The real root: whatever this machine is, the figures must hang together. */
    ck_assert_int_eq(rapt_sys_read(NULL, &info), 0);
    ck_assert_uint_ge(info.cpu.effective, 1);
    ck_assert_int_ne(info.mem.limit_bound, RAPT_BOUND_UNKNOWN);
    ck_assert(info.mem.available_known);
    ck_assert_uint_le(info.mem.available, info.mem.limit);
    ck_assert_uint_le(info.default_budget, info.mem.available);
}
END_TEST

static Suite *sys_suite(void)
{
    Suite *s = suite_create("sys");
    RAPT_TCASE(s, parse_meminfo_units, 10);
    RAPT_TCASE(s, parse_cpulist_forms, 10);
    RAPT_TCASE(s, parse_cpu_max_forms, 10);
    RAPT_TCASE(s, parse_mem_limit_sentinels, 10);
    RAPT_TCASE(s, parse_proc_cgroup_lines, 10);
    RAPT_TCASE(s, parse_mountinfo_fields, 10);
    RAPT_TCASE(s, parse_psi_lines, 10);
    RAPT_TCASE(s, parse_limits_rows, 10);
    RAPT_TCASE(s, scenario_nolimits, 10);
    RAPT_TCASE(s, scenario_v1_free_tier, 10);
    RAPT_TCASE(s, scenario_v2_limited, 10);
    RAPT_TCASE(s, scenario_v2_nested, 10);
    RAPT_TCASE(s, scenario_cpuset, 10);
    RAPT_TCASE(s, scenario_v2_max, 10);
    RAPT_TCASE(s, scenario_missing, 10);
    RAPT_TCASE(s, scenario_garbage, 10);
    RAPT_TCASE(s, scenario_v1_garbage_limits, 10);
    RAPT_TCASE(s, scenario_slurm_per_node, 10);
    RAPT_TCASE(s, scenario_slurm_per_cpu, 10);
    RAPT_TCASE(s, scenario_slurm_bad_values, 10);
    RAPT_TCASE(s, scenario_hidden_ancestor, 10);
    RAPT_TCASE(s, scenario_rlimit, 10);
    RAPT_TCASE(s, scenario_escaped_mount, 10);
    RAPT_TCASE(s, bad_sysroot, 10);
    RAPT_TCASE(s, refresh_keeps_placement, 10);
    RAPT_TCASE(s, budget_arithmetic, 10);
    RAPT_TCASE(s, live_machine_is_sane, 10);
    return s;
}

RAPT_TEST_MAIN(sys_suite)
