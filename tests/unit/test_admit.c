/* test_admit.c: the memory policy of rapt run, without processes.
 *
 * Budget arithmetic (also on the fixture machines), the cold-start rule, holds and plateaus,
 * admission verdicts, the protection policy as a state x event table walked exhaustively, the
 * choice of victims, and the verdicts after an OOM kill or a protection stop.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "lib/admit.h"
#include "rapt/sys.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define MS  (1000ull * 1000)
#define SEC (1000ull * MS)

static rapt__adm_cfg cfg(void)
{
    rapt__adm_cfg c;
    rapt__adm_cfg_init(&c);
    return c;
}

START_TEST(budget_arithmetic)
{
    rapt__adm_cfg c = cfg();
    /* 512 MiB limit, nothing else in use: 85% of it. */
    ck_assert_uint_eq(rapt__adm_budget(&c, 512 * MIB, 512 * MIB, 0), 456340275ull);
    /* 100 MiB used, all of it by jobs: the jobs' holds account for it, the budget does not move. */
    ck_assert_uint_eq(rapt__adm_budget(&c, 512 * MIB, 412 * MIB, 100 * MIB), 456340275ull);
    /* 100 MiB used by something else: the budget shrinks by it. */
    ck_assert_uint_eq(rapt__adm_budget(&c, 512 * MIB, 412 * MIB, 0), 456340275ull - 100 * MIB);
    /* Jobs measured above what the container says is used (samples from different moments):
     * others is 0, not negative. */
    ck_assert_uint_eq(rapt__adm_budget(&c, 512 * MIB, 500 * MIB, 100 * MIB), 456340275ull);
    /* Others beyond the cap: nothing left. */
    ck_assert_uint_eq(rapt__adm_budget(&c, 512 * MIB, 0, 0), 0);
    /* Unknown limit. */
    ck_assert_uint_eq(rapt__adm_budget(&c, 0, 100, 0), 0);
    /* --mem-budget: a fixed cap, never past 95% of the limit. */
    c.budget_abs = 200 * MIB;
    ck_assert_uint_eq(rapt__adm_budget(&c, 512 * MIB, 512 * MIB, 0), 200 * MIB);
    c.budget_abs = 600 * MIB;
    ck_assert_uint_eq(rapt__adm_budget(&c, 512 * MIB, 512 * MIB, 0), 510027366ull);
    /* --mem-budget N%: eta. */
    c.budget_abs = 0;
    c.eta = 0.5;
    ck_assert_uint_eq(rapt__adm_budget(&c, 1000, 1000, 0), 500);
}
END_TEST

/* The budget on the fixture machines: the limit and available memory the sys module reads,
 * turned into what jobs may hold. */
START_TEST(budget_on_fixture_machines)
{
    static const struct {
        const char *name;
        uint64_t budget;
    } cases[] = {
        /* 512 MiB limit, 100 MiB used (20 MiB inactive cache): others = 80 MiB. */
        {"v1-free-tier", 456340275ull - 80 * MIB},
        /* 1 GiB limit, 256 MiB used less 64 MiB cache: others = 192 MiB. */
        {"v2-limited", 912680550ull - 192 * MIB},
        /* 2 GiB pod, but the level above leaves 72 MiB: others fill all but 72 MiB. */
        {"v2-nested", 0},
        /* No limit: 16 GiB host, 12 GiB available. */
        {"nolimits", 14602888806ull - 4 * GIB},
    };
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(cases); i++) {
        static char *const env[] = {NULL};
        rapt_sys_opts o;
        rapt_sys_opts_init(&o);
        o.sysroot = fixture(cases[i].name);
        o.envp = env;
        rapt_sys_info si;
        ck_assert_int_eq(rapt_sys_read(&o, &si), 0);
        rapt__adm_cfg c = cfg();
        uint64_t b = rapt__adm_budget(&c, si.mem.limit, si.mem.available, 0);
        ck_assert_msg(b == cases[i].budget, "%s: budget %llu, expected %llu", cases[i].name,
                      (unsigned long long)b, (unsigned long long)cases[i].budget);
    }
}
END_TEST

START_TEST(cold_start_rule)
{
    rapt__adm_cfg c = cfg();
    rapt__adm_learn l;
    memset(&l, 0, sizeof(l));
    /* Nothing known: the budget split over the CPU slots. */
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 400 * MIB, 2, NULL, 0), 200 * MIB);
    /* Never below 1 MiB. */
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 0, 2, NULL, 0), MIB);
    /* One value (a running job that showed its size): it x margin. */
    uint64_t run1[] = {300 * MIB};
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 400 * MIB, 2, run1, 1), 330 * MIB);
    /* More: the (lower) median x margin. */
    rapt__adm_learn_add(&l, 10 * MIB);
    rapt__adm_learn_add(&l, 50 * MIB);
    rapt__adm_learn_add(&l, 20 * MIB);
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 400 * MIB, 2, NULL, 0), 22 * MIB);
    rapt__adm_learn_add(&l, 40 * MIB);
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 400 * MIB, 2, NULL, 0), 22 * MIB); /* 10 20 40 50 */
    /* A long tail: one heavy job among many small ones does not set every reservation. */
    memset(&l, 0, sizeof(l));
    for (int i = 0; i < 19; i++)
        rapt__adm_learn_add(&l, 20 * MIB);
    rapt__adm_learn_add(&l, 360 * MIB);
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 4 * GIB, 2, NULL, 0), 22 * MIB);
    /* Running jobs that showed their size are samples: many heavy ones move the median. */
    uint64_t heavy[20];
    for (int i = 0; i < 20; i++)
        heavy[i] = 300 * MIB;
    /* 19 small + 18 heavy running + 1 heavy finished: the median is still a small one. */
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 4 * GIB, 2, heavy, 18), 22 * MIB);
    /* With 20 heavy running, heavy jobs are the majority. */
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 4 * GIB, 2, heavy, 20), 330 * MIB);
    ck_assert_uint_eq(l.max_peak, 360 * MIB);
    /* Only the last RAPT__ADM_WINDOW peaks count. */
    for (int i = 0; i < RAPT__ADM_WINDOW; i++)
        rapt__adm_learn_add(&l, 8 * MIB);
    ck_assert_uint_eq(rapt__adm_cold(&c, &l, 4 * GIB, 2, NULL, 0), 9227469ull); /* 8 MiB x 1.1 */
}
END_TEST

START_TEST(holds_and_plateaus)
{
    rapt__adm_cfg c = cfg();
    rapt__adm_job j = {.reserve = 100 * MIB, .started_ns = 0};
    /* Starting: the reservation is held even though nothing is allocated yet. */
    rapt__adm_observe(&j, 0, 0);
    ck_assert_uint_eq(rapt__adm_hold(&c, &j, 0), 100 * MIB);
    /* Ramping past the reservation: current x margin. */
    rapt__adm_observe(&j, 50 * MIB, 100 * MS);
    ck_assert_uint_eq(rapt__adm_hold(&c, &j, 100 * MS), 100 * MIB);
    rapt__adm_observe(&j, 120 * MIB, 200 * MS);
    ck_assert_uint_eq(rapt__adm_hold(&c, &j, 200 * MS), 132 * MIB);
    ck_assert(!rapt__adm_plateau(&c, &j, 200 * MS));
    /* Flat for 0.5 s and a quarter of its age: a plateau, the hold is its peak x margin. */
    rapt__adm_observe(&j, 121 * MIB, 400 * MS); /* +0.8%: not growth */
    ck_assert(!rapt__adm_plateau(&c, &j, 600 * MS));
    ck_assert(rapt__adm_plateau(&c, &j, 700 * MS));
    ck_assert_uint_eq(rapt__adm_hold(&c, &j, 700 * MS), 139565466ull); /* 121 MiB x 1.1 */
    /* A small job on a plateau gives back most of a large reservation. */
    rapt__adm_job s = {.reserve = 200 * MIB, .started_ns = 0};
    rapt__adm_observe(&s, 20 * MIB, 100 * MS);
    ck_assert_uint_eq(rapt__adm_hold(&c, &s, 100 * MS), 200 * MIB);
    ck_assert_uint_eq(rapt__adm_hold(&c, &s, 2 * SEC), 22 * MIB);
    /* An old job needs a longer flat stretch: a quarter of its age. */
    rapt__adm_job o = {.reserve = 10 * MIB, .started_ns = 0};
    rapt__adm_observe(&o, 5 * MIB, 10 * SEC);
    ck_assert(!rapt__adm_plateau(&c, &o, 11 * SEC));
    ck_assert(rapt__adm_plateau(&c, &o, 14 * SEC));
    /* Creeping up 1% a tick is growth: measured against the mark, not the last sample. */
    rapt__adm_job k = {.reserve = MIB, .started_ns = 0};
    uint64_t v = 100 * MIB;
    for (int t = 0; t < 30; t++) {
        rapt__adm_observe(&k, v, (uint64_t)t * 100 * MS);
        v += v / 100;
    }
    ck_assert(!rapt__adm_plateau(&c, &k, 3 * SEC));
}
END_TEST

START_TEST(admission_verdicts)
{
    rapt__adm_cfg c = cfg();
    rapt__adm_now n = {.limit = 1000 * MIB,
                       .available = 800 * MIB,
                       .available_known = true,
                       .psi_some = 0,
                       .budget = 850 * MIB,
                       .held = 500 * MIB,
                       .running = 2};
    ck_assert_int_eq(rapt__adm_decide(&c, &n, 350 * MIB), RAPT__ADM_START);
    ck_assert_int_eq(rapt__adm_decide(&c, &n, 351 * MIB), RAPT__ADM_WAIT_MEMORY);
    /* More than the whole limit can never run. */
    ck_assert_int_eq(rapt__adm_decide(&c, &n, 1001 * MIB), RAPT__ADM_NEVER);
    /* Available under the resume line (10%): pressure. */
    n.available = 99 * MIB;
    ck_assert_int_eq(rapt__adm_decide(&c, &n, MIB), RAPT__ADM_WAIT_PRESSURE);
    n.available = 800 * MIB;
    /* Memory PSI above its line: pressure; unknown PSI is not pressure. */
    n.psi_some = 25;
    ck_assert_int_eq(rapt__adm_decide(&c, &n, MIB), RAPT__ADM_WAIT_PRESSURE);
    n.psi_some = NAN;
    ck_assert_int_eq(rapt__adm_decide(&c, &n, MIB), RAPT__ADM_START);
    c.psi_max = -1;
    n.psi_some = 99;
    ck_assert_int_eq(rapt__adm_decide(&c, &n, MIB), RAPT__ADM_START);
    /* A victim being stopped: no starts. */
    n.protecting = true;
    ck_assert_int_eq(rapt__adm_decide(&c, &n, MIB), RAPT__ADM_WAIT_PRESSURE);
    /* Nothing running: no waiting, whatever the pressure; too big for the budget -> alone. */
    n.running = 0;
    n.held = 0;
    n.available = 10 * MIB;
    ck_assert_int_eq(rapt__adm_decide(&c, &n, 100 * MIB), RAPT__ADM_START);
    ck_assert_int_eq(rapt__adm_decide(&c, &n, 900 * MIB), RAPT__ADM_START_ALONE);
    /* Holds above the budget (jobs grew past their reservations): nothing fits. */
    n.running = 1;
    n.protecting = false;
    n.available = 800 * MIB;
    n.held = 900 * MIB;
    ck_assert_int_eq(rapt__adm_decide(&c, &n, 1), RAPT__ADM_WAIT_MEMORY);
}
END_TEST

/* Every cell of the protection table, with the numbers of running and suspended jobs that
 * change its answer. */
START_TEST(protection_table)
{
    static const struct {
        rapt__prot_state st;
        rapt__prot_event ev;
        rapt__adm_mode mode;
        unsigned running, suspended;
        rapt__prot_state next;
        rapt__prot_action act;
    } t[] = {
        /* calm */
        {RAPT__PS_CALM, RAPT__PE_LOW, RAPT__ADM_REQUEUE, 3, 0, RAPT__PS_STOPPING,
         RAPT__PA_STOP_YOUNGEST},
        {RAPT__PS_CALM, RAPT__PE_LOW, RAPT__ADM_REQUEUE, 2, 0, RAPT__PS_STOPPING,
         RAPT__PA_STOP_YOUNGEST},
        {RAPT__PS_CALM, RAPT__PE_LOW, RAPT__ADM_REQUEUE, 1, 0, RAPT__PS_CALM, RAPT__PA_NONE},
        {RAPT__PS_CALM, RAPT__PE_LOW, RAPT__ADM_REQUEUE, 0, 0, RAPT__PS_CALM, RAPT__PA_NONE},
        {RAPT__PS_CALM, RAPT__PE_LOW, RAPT__ADM_SUSPEND, 2, 0, RAPT__PS_SUSPENDED,
         RAPT__PA_SUSPEND_YOUNGEST},
        {RAPT__PS_CALM, RAPT__PE_LOW, RAPT__ADM_SUSPEND, 1, 0, RAPT__PS_CALM, RAPT__PA_NONE},
        {RAPT__PS_CALM, RAPT__PE_MID, RAPT__ADM_REQUEUE, 3, 0, RAPT__PS_CALM, RAPT__PA_NONE},
        {RAPT__PS_CALM, RAPT__PE_HIGH, RAPT__ADM_REQUEUE, 3, 0, RAPT__PS_CALM, RAPT__PA_NONE},
        {RAPT__PS_CALM, RAPT__PE_VICTIM_GONE, RAPT__ADM_REQUEUE, 3, 0, RAPT__PS_CALM,
         RAPT__PA_NONE},
        /* stopping: one victim at a time */
        {RAPT__PS_STOPPING, RAPT__PE_LOW, RAPT__ADM_REQUEUE, 3, 0, RAPT__PS_STOPPING,
         RAPT__PA_NONE},
        {RAPT__PS_STOPPING, RAPT__PE_MID, RAPT__ADM_REQUEUE, 3, 0, RAPT__PS_STOPPING,
         RAPT__PA_NONE},
        {RAPT__PS_STOPPING, RAPT__PE_HIGH, RAPT__ADM_REQUEUE, 3, 0, RAPT__PS_STOPPING,
         RAPT__PA_NONE},
        {RAPT__PS_STOPPING, RAPT__PE_VICTIM_GONE, RAPT__ADM_REQUEUE, 2, 0, RAPT__PS_CALM,
         RAPT__PA_NONE},
        /* suspended */
        {RAPT__PS_SUSPENDED, RAPT__PE_LOW, RAPT__ADM_SUSPEND, 2, 1, RAPT__PS_SUSPENDED,
         RAPT__PA_SUSPEND_YOUNGEST},
        {RAPT__PS_SUSPENDED, RAPT__PE_LOW, RAPT__ADM_SUSPEND, 1, 1, RAPT__PS_SUSPENDED,
         RAPT__PA_NONE},
        {RAPT__PS_SUSPENDED, RAPT__PE_MID, RAPT__ADM_SUSPEND, 2, 1, RAPT__PS_SUSPENDED,
         RAPT__PA_NONE},
        {RAPT__PS_SUSPENDED, RAPT__PE_HIGH, RAPT__ADM_SUSPEND, 2, 2, RAPT__PS_SUSPENDED,
         RAPT__PA_RESUME_OLDEST},
        {RAPT__PS_SUSPENDED, RAPT__PE_HIGH, RAPT__ADM_SUSPEND, 2, 1, RAPT__PS_CALM,
         RAPT__PA_RESUME_OLDEST},
        {RAPT__PS_SUSPENDED, RAPT__PE_VICTIM_GONE, RAPT__ADM_SUSPEND, 2, 1, RAPT__PS_SUSPENDED,
         RAPT__PA_NONE},
        /* nothing else runs: a suspended job is resumed whatever memory says */
        {RAPT__PS_SUSPENDED, RAPT__PE_LOW, RAPT__ADM_SUSPEND, 0, 2, RAPT__PS_SUSPENDED,
         RAPT__PA_RESUME_OLDEST},
        {RAPT__PS_SUSPENDED, RAPT__PE_LOW, RAPT__ADM_SUSPEND, 0, 1, RAPT__PS_CALM,
         RAPT__PA_RESUME_OLDEST},
        /* every suspended job is gone (killed from outside) */
        {RAPT__PS_SUSPENDED, RAPT__PE_MID, RAPT__ADM_SUSPEND, 2, 0, RAPT__PS_CALM, RAPT__PA_NONE},
    };
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(t); i++) {
        rapt__prot_step s =
            rapt__prot_transition(t[i].st, t[i].ev, t[i].mode, t[i].running, t[i].suspended);
        ck_assert_msg(s.next == t[i].next && s.action == t[i].act,
                      "row %zu: %s + %s -> %s/%s, expected %s/%s", i,
                      rapt__prot_state_name(t[i].st), rapt__prot_event_name(t[i].ev),
                      rapt__prot_state_name(s.next), rapt__prot_action_name(s.action),
                      rapt__prot_state_name(t[i].next), rapt__prot_action_name(t[i].act));
    }
    /* Whatever the input, the table never acts on the last running job, and from a calm state
     * it never resumes. */
    for (int st = 0; st < RAPT__PS_COUNT; st++)
        for (int ev = 0; ev < RAPT__PE_COUNT; ev++)
            for (int m = 0; m < 2; m++)
                for (unsigned run = 0; run < 4; run++)
                    for (unsigned sus = 0; sus < 3; sus++) {
                        rapt__prot_step s =
                            rapt__prot_transition((rapt__prot_state)st, (rapt__prot_event)ev,
                                                  (rapt__adm_mode)m, run, sus);
                        if (s.action == RAPT__PA_STOP_YOUNGEST ||
                            s.action == RAPT__PA_SUSPEND_YOUNGEST)
                            ck_assert_uint_ge(run, 2);
                        if (s.action == RAPT__PA_RESUME_OLDEST)
                            ck_assert_uint_ge(sus, 1);
                        if (s.action == RAPT__PA_STOP_YOUNGEST)
                            ck_assert_int_eq(m, RAPT__ADM_REQUEUE);
                    }
}
END_TEST

START_TEST(classify_lines)
{
    rapt__adm_cfg c = cfg();
    ck_assert_int_eq(rapt__prot_classify(&c, 1000, 49, 0), RAPT__PE_LOW);
    ck_assert_int_eq(rapt__prot_classify(&c, 1000, 50, 0), RAPT__PE_MID);
    ck_assert_int_eq(rapt__prot_classify(&c, 1000, 99, 0), RAPT__PE_MID);
    ck_assert_int_eq(rapt__prot_classify(&c, 1000, 100, 0), RAPT__PE_HIGH);
    ck_assert_int_eq(rapt__prot_classify(&c, 1000, 900, 30), RAPT__PE_LOW);
    ck_assert_int_eq(rapt__prot_classify(&c, 1000, 900, NAN), RAPT__PE_HIGH);
    ck_assert_int_eq(rapt__prot_classify(&c, 0, 0, 0), RAPT__PE_HIGH);
}
END_TEST

START_TEST(victims)
{
    rapt__adm_job j[4] = {
        {.started_ns = 10},
        {.started_ns = 40, .stopping = true},
        {.started_ns = 30},
        {.started_ns = 20},
    };
    ck_assert_int_eq(rapt__adm_pick(j, 4, false), 2); /* youngest not being stopped */
    j[2].suspended = true;
    ck_assert_int_eq(rapt__adm_pick(j, 4, false), 3);
    ck_assert_int_eq(rapt__adm_pick(j, 4, true), 2); /* oldest suspended */
    j[0].suspended = true;
    ck_assert_int_eq(rapt__adm_pick(j, 4, true), 0);
    ck_assert_int_eq(rapt__adm_pick(j, 0, false), -1);
}
END_TEST

START_TEST(after_an_attempt)
{
    rapt__adm_cfg c = cfg();
    char why[256];
    uint64_t r = 0;
    /* Stopped to protect memory: again with 1.5 x max(reservation, peak). */
    rapt__adm_end e = {
        .stopped_for_memory = true, .peak = 100 * MIB, .reserve = 80 * MIB, .limit = 512 * MIB};
    ck_assert_int_eq(rapt__adm_after_end(&c, &e, &r, why, sizeof(why)), RAPT__AFTER_REQUEUE);
    ck_assert_uint_eq(r, 150 * MIB);
    /* OOM-killed beside other jobs: again with >= 1.5 x its peak. */
    e = (rapt__adm_end){
        .oom = true, .oom_kills = 1, .peak = 200 * MIB, .reserve = 50 * MIB, .limit = 512 * MIB};
    ck_assert_int_eq(rapt__adm_after_end(&c, &e, &r, why, sizeof(why)), RAPT__AFTER_REQUEUE);
    ck_assert_uint_eq(r, 300 * MIB);
    /* ...capped at the limit, where it runs alone. */
    e.peak = 400 * MIB;
    ck_assert_int_eq(rapt__adm_after_end(&c, &e, &r, why, sizeof(why)), RAPT__AFTER_REQUEUE);
    ck_assert_uint_eq(r, 512 * MIB);
    /* OOM-killed while alone: it cannot fit; the message names its peak and the limit. */
    e.alone = true;
    e.peak = 500 * MIB;
    ck_assert_int_eq(rapt__adm_after_end(&c, &e, &r, why, sizeof(why)), RAPT__AFTER_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "cannot fit even alone"));
    ck_assert_ptr_nonnull(strstr(why, "500 MiB"));
    ck_assert_ptr_nonnull(strstr(why, "512 MiB"));
    /* Too many OOM kills. */
    e.alone = false;
    e.oom_kills = 4;
    ck_assert_int_eq(rapt__adm_after_end(&c, &e, &r, why, sizeof(why)), RAPT__AFTER_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "4 times"));
    /* At its own ceiling: retrying with more would hit the same ceiling. */
    e = (rapt__adm_end){.oom = true,
                        .oom_kills = 1,
                        .peak = 99 * MIB,
                        .reserve = 50 * MIB,
                        .limit = 512 * MIB,
                        .job_ceiling = 100 * MIB};
    ck_assert_int_eq(rapt__adm_after_end(&c, &e, &r, why, sizeof(why)), RAPT__AFTER_FAIL);
    ck_assert_ptr_nonnull(strstr(why, "--mem-limit-per-job"));
    /* Nothing memory-related. */
    e = (rapt__adm_end){.peak = 10, .limit = 512 * MIB};
    ck_assert_int_eq(rapt__adm_after_end(&c, &e, &r, why, sizeof(why)), RAPT__AFTER_NONE);
}
END_TEST

static Suite *admit_suite(void)
{
    Suite *s = suite_create("admit");
    RAPT_TCASE(s, budget_arithmetic, 10);
    RAPT_TCASE(s, budget_on_fixture_machines, 10);
    RAPT_TCASE(s, cold_start_rule, 10);
    RAPT_TCASE(s, holds_and_plateaus, 10);
    RAPT_TCASE(s, admission_verdicts, 10);
    RAPT_TCASE(s, protection_table, 10);
    RAPT_TCASE(s, classify_lines, 10);
    RAPT_TCASE(s, victims, 10);
    RAPT_TCASE(s, after_an_attempt, 10);
    return s;
}

RAPT_TEST_MAIN(admit_suite)
