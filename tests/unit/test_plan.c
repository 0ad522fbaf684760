/* test_plan.c: both planning formulas, with hand-computed answers. */
#include "harness.h"
#include "rapt/plan.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

START_TEST(per_job_seed_formula)
{
    /* workers = min(free // 150MB, cpus // 2, 5) on 8 CPUs and 10 GiB: min(68, 4, 5) = 4. */
    rapt_plan_job_opts o;
    rapt_plan_job_opts_init(&o);
    o.mem_per_job = 150 * MIB;
    o.cpus_per_job = 2;
    o.max = 5;
    o.budget = 10 * GIB;
    o.cpus = 8;
    rapt_plan_job_result r;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), 0);
    ck_assert_uint_eq(r.jobs, 4);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_CPU);
    ck_assert_uint_eq(r.by_memory, 68);
    ck_assert_uint_eq(r.by_cpu, 4);
    ck_assert_uint_eq(r.by_max, 5);
    ck_assert(!r.overcommitted);
}
END_TEST

START_TEST(per_job_memory_and_max)
{
    rapt_plan_job_opts o;
    rapt_plan_job_opts_init(&o);
    o.mem_per_job = 300 * MIB;
    o.budget = 1 * GIB;
    o.cpus = 16;
    rapt_plan_job_result r;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), 0);
    ck_assert_uint_eq(r.jobs, 3);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_MEMORY);
    o.max = 2;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), 0);
    ck_assert_uint_eq(r.jobs, 2);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_MAX);
    /* A tie names memory first. */
    o.max = 0;
    o.cpus = 3;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), 0);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_MEMORY);
    /* Half a CPU per job on one CPU: two jobs. */
    o.cpus = 1;
    o.cpus_per_job = 0.5;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), 0);
    ck_assert_uint_eq(r.by_cpu, 2);
    ck_assert_uint_eq(r.jobs, 2);
}
END_TEST

START_TEST(per_job_overcommitted)
{
    rapt_plan_job_opts o;
    rapt_plan_job_opts_init(&o);
    o.mem_per_job = 2 * GIB;
    o.budget = 1 * GIB;
    o.cpus = 4;
    rapt_plan_job_result r;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), 0);
    ck_assert_uint_eq(r.jobs, 1);
    ck_assert(r.overcommitted);
    ck_assert_uint_eq(r.by_memory, 0);
    /* More CPUs per job than there are: still one job. */
    o.mem_per_job = 1;
    o.cpus_per_job = 8;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), 0);
    ck_assert_uint_eq(r.by_cpu, 1);
}
END_TEST

START_TEST(per_job_bad_args)
{
    rapt_plan_job_opts o;
    rapt_plan_job_opts_init(&o);
    rapt_plan_job_result r;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), -EINVAL); /* mem_per_job 0 */
    o.mem_per_job = 1;
    o.cpus_per_job = 0;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), -EINVAL);
    o.cpus_per_job = 1;
    o.cpus = 0;
    ck_assert_int_eq(rapt_plan_jobs(&o, &r), -EINVAL);
    ck_assert_int_eq(rapt_plan_jobs(NULL, &r), -EINVAL);
}
END_TEST

START_TEST(inputs_largest_first)
{
    /* limit 4 GiB, eta 0.75 -> 3 GiB allowed. Costs with gamma 3, overhead 50 MiB:
     * 400 MiB -> 1250, 300 -> 950, 200 -> 650, 100 -> 350, 100 -> 350 (MiB).
     * Prefix: 1250, 2200, 2850, 3200 > 3072. So P = 3, estimate 2850 MiB, next 3200 MiB. */
    uint64_t sizes[] = {100 * MIB, 300 * MIB, 200 * MIB, 400 * MIB, 100 * MIB};
    rapt_plan_input_opts o;
    rapt_plan_input_opts_init(&o);
    o.limit = 4 * GIB;
    o.cpus = 2;
    rapt_plan_input_result r;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 5, &r), 0);
    ck_assert_uint_eq(r.jobs, 3);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_MEMORY);
    ck_assert_uint_eq(r.allowed, 3 * GIB);
    ck_assert_uint_eq(r.est_at_p, 2850 * MIB);
    ck_assert(r.has_next);
    ck_assert_uint_eq(r.est_at_p1, 3200 * MIB);
    ck_assert(!r.overcommitted);
    /* The input array is left as it was. */
    ck_assert_uint_eq(sizes[0], 100 * MIB);
    /* A base of 300 MiB pushes the third job out. */
    o.base = 300 * MIB;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 5, &r), 0);
    ck_assert_uint_eq(r.jobs, 2);
    ck_assert_uint_eq(r.est_at_p, 2500 * MIB);
}
END_TEST

START_TEST(inputs_bounds)
{
    uint64_t sizes[] = {1 * MIB, 1 * MIB, 1 * MIB};
    rapt_plan_input_opts o;
    rapt_plan_input_opts_init(&o);
    o.limit = 64 * GIB;
    rapt_plan_input_result r;
    /* Everything fits: bounded by the number of inputs. */
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 3, &r), 0);
    ck_assert_uint_eq(r.jobs, 3);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_INPUTS);
    ck_assert(!r.has_next);
    /* Bounded by max. */
    o.max = 2;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 3, &r), 0);
    ck_assert_uint_eq(r.jobs, 2);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_MAX);
    ck_assert(r.has_next);
    /* Not even one fits: min forces one, flagged as overcommitted. */
    o.max = 16;
    o.limit = 10 * MIB;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 3, &r), 0);
    ck_assert_uint_eq(r.jobs, 1);
    ck_assert_uint_eq(r.by_memory, 0);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_MIN);
    ck_assert(r.overcommitted);
    /* No safety: the CPU count, clamped. */
    o.no_safety = true;
    o.cpus = 2;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 3, &r), 0);
    ck_assert_uint_eq(r.jobs, 2);
    ck_assert_int_eq(r.factor, RAPT_PLAN_BY_FALLBACK);
}
END_TEST

START_TEST(inputs_bad_args)
{
    uint64_t sizes[] = {1};
    rapt_plan_input_opts o;
    rapt_plan_input_opts_init(&o);
    o.limit = GIB;
    rapt_plan_input_result r;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 0, &r), -EINVAL);
    o.eta = 1.5;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 1, &r), -EINVAL);
    o.eta = 0;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 1, &r), -EINVAL);
    o.eta = 0.5;
    o.gamma = -1;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 1, &r), -EINVAL);
    o.gamma = 1;
    o.min = 4;
    o.max = 2;
    ck_assert_int_eq(rapt_plan_inputs(&o, sizes, 1, &r), -EINVAL);
    /* Overflow of gamma x size is reported, not wrapped. */
    rapt_plan_input_opts_init(&o);
    o.limit = GIB;
    o.gamma = 1e9;
    uint64_t big[] = {UINT64_MAX / 2};
    ck_assert_int_eq(rapt_plan_inputs(&o, big, 1, &r), -ERANGE);
}
END_TEST

static Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    RAPT_TCASE(s, per_job_seed_formula, 10);
    RAPT_TCASE(s, per_job_memory_and_max, 10);
    RAPT_TCASE(s, per_job_overcommitted, 10);
    RAPT_TCASE(s, per_job_bad_args, 10);
    RAPT_TCASE(s, inputs_largest_first, 10);
    RAPT_TCASE(s, inputs_bounds, 10);
    RAPT_TCASE(s, inputs_bad_args, 10);
    return s;
}

RAPT_TEST_MAIN(plan_suite)
