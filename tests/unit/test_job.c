/* test_job.c: the job lifecycle table, without any process.
 *
 * Besides the usual paths, an exhaustive walk over every reachable (state, what-happened)
 * combination proves the table's invariants: an attempt finishes exactly when its process is
 * reaped and its output closed (or it never spawned), a stopping job stays stopping until it
 * ends, and every live state can still reach a final one.
 */
#include <string.h>

#include "harness.h"
#include "lib/job.h"

static rapt__job_state step(rapt__job_state st, rapt__job_event ev, rapt__job_action want)
{
    rapt__job_step s = rapt__job_transition(st, ev);
    ck_assert_msg(s.action == want, "%s + %s: got action %s, want %s", rapt__job_state_name(st),
                  rapt__job_event_name(ev), rapt__job_action_name(s.action),
                  rapt__job_action_name(want));
    return s.next;
}

START_TEST(normal_paths)
{
    /* exit before EOF */
    rapt__job_state st = RAPT__JS_QUEUED;
    st = step(st, RAPT__JE_ADMIT, RAPT__JA_SPAWN);
    st = step(st, RAPT__JE_SPAWNED, RAPT__JA_WATCH);
    ck_assert_int_eq(st, RAPT__JS_RUNNING);
    st = step(st, RAPT__JE_EXIT, RAPT__JA_NONE);
    ck_assert_int_eq(st, RAPT__JS_REAPED);
    st = step(st, RAPT__JE_EOF, RAPT__JA_FINISH);
    ck_assert_int_eq(st, RAPT__JS_ENDED);
    st = step(st, RAPT__JE_SUCCEED, RAPT__JA_RELEASE);
    ck_assert_int_eq(st, RAPT__JS_SUCCEEDED);

    /* EOF before exit */
    st = RAPT__JS_RUNNING;
    st = step(st, RAPT__JE_EOF, RAPT__JA_NONE);
    ck_assert_int_eq(st, RAPT__JS_CLOSED);
    st = step(st, RAPT__JE_EXIT, RAPT__JA_FINISH);
    ck_assert_int_eq(st, RAPT__JS_ENDED);
    st = step(st, RAPT__JE_FAIL, RAPT__JA_RELEASE);
    ck_assert_int_eq(st, RAPT__JS_FAILED);
}
END_TEST

START_TEST(spawn_failure_finishes_at_once)
{
    rapt__job_state st = step(RAPT__JS_QUEUED, RAPT__JE_ADMIT, RAPT__JA_SPAWN);
    st = step(st, RAPT__JE_SPAWN_FAILED, RAPT__JA_FINISH);
    ck_assert_int_eq(st, RAPT__JS_ENDED);
}
END_TEST

START_TEST(kill_runs_the_term_sequence)
{
    rapt__job_state st = step(RAPT__JS_RUNNING, RAPT__JE_KILL, RAPT__JA_TERM_START);
    ck_assert_int_eq(st, RAPT__JS_STOPPING);
    /* A second kill (say, interrupt during a timeout) does not restart the sequence. */
    st = step(st, RAPT__JE_KILL, RAPT__JA_NONE);
    st = step(st, RAPT__JE_TERM_STEP, RAPT__JA_TERM_NEXT);
    /* The leader dies but a grandchild still holds the pipe: keep going against the group. */
    st = step(st, RAPT__JE_EXIT, RAPT__JA_NONE);
    ck_assert_int_eq(st, RAPT__JS_STOPPING_REAPED);
    st = step(st, RAPT__JE_TERM_STEP, RAPT__JA_TERM_NEXT);
    st = step(st, RAPT__JE_EOF, RAPT__JA_FINISH);
    ck_assert_int_eq(st, RAPT__JS_ENDED);
    /* A timer that fires after the end is harmless. */
    st = step(st, RAPT__JE_TERM_STEP, RAPT__JA_NONE);
    ck_assert_int_eq(st, RAPT__JS_ENDED);
}
END_TEST

START_TEST(kill_now_escalates_from_anywhere_live)
{
    ck_assert_int_eq(step(RAPT__JS_RUNNING, RAPT__JE_KILL_NOW, RAPT__JA_KILL_NOW),
                     RAPT__JS_STOPPING);
    ck_assert_int_eq(step(RAPT__JS_STOPPING, RAPT__JE_KILL_NOW, RAPT__JA_KILL_NOW),
                     RAPT__JS_STOPPING);
    ck_assert_int_eq(step(RAPT__JS_CLOSED, RAPT__JE_KILL_NOW, RAPT__JA_KILL_NOW),
                     RAPT__JS_STOPPING_CLOSED);
    ck_assert_int_eq(step(RAPT__JS_REAPED, RAPT__JE_KILL_NOW, RAPT__JA_KILL_NOW),
                     RAPT__JS_STOPPING_REAPED);
    /* Queued jobs have nothing to kill; they are simply never admitted. */
    ck_assert_int_eq(step(RAPT__JS_QUEUED, RAPT__JE_KILL, RAPT__JA_NONE), RAPT__JS_QUEUED);
}
END_TEST

START_TEST(a_deferred_spawn_goes_back_to_the_queue)
{
    /* No process could be made while others run: not an attempt, just later. */
    rapt__job_state st = step(RAPT__JS_QUEUED, RAPT__JE_ADMIT, RAPT__JA_SPAWN);
    st = step(st, RAPT__JE_DEFER, RAPT__JA_NONE);
    ck_assert_int_eq(st, RAPT__JS_QUEUED);
    step(RAPT__JS_RUNNING, RAPT__JE_DEFER, RAPT__JA_INVALID);
}
END_TEST

START_TEST(retry_and_requeue_go_back_to_the_queue)
{
    rapt__job_state st = step(RAPT__JS_ENDED, RAPT__JE_RETRY, RAPT__JA_REQUEUE);
    ck_assert_int_eq(st, RAPT__JS_REQUEUED);
    st = step(st, RAPT__JE_ADMIT, RAPT__JA_SPAWN);
    ck_assert_int_eq(st, RAPT__JS_ADMITTED);
    ck_assert_int_eq(step(RAPT__JS_ENDED, RAPT__JE_REQUEUE, RAPT__JA_REQUEUE), RAPT__JS_REQUEUED);
}
END_TEST

START_TEST(impossible_events_are_flagged)
{
    /* A spawned event for a job nobody admitted, an exit for a queued job, a verdict for a
     * running job: all runner bugs, reported and leaving the state alone. */
    step(RAPT__JS_QUEUED, RAPT__JE_SPAWNED, RAPT__JA_INVALID);
    step(RAPT__JS_QUEUED, RAPT__JE_EXIT, RAPT__JA_INVALID);
    step(RAPT__JS_RUNNING, RAPT__JE_SUCCEED, RAPT__JA_INVALID);
    step(RAPT__JS_REAPED, RAPT__JE_EXIT, RAPT__JA_INVALID);
    step(RAPT__JS_CLOSED, RAPT__JE_EOF, RAPT__JA_INVALID);
    step(RAPT__JS_SUCCEEDED, RAPT__JE_ADMIT, RAPT__JA_INVALID);
    rapt__job_step s = rapt__job_transition(RAPT__JS_RUNNING, RAPT__JE_ADMIT);
    ck_assert_int_eq(s.next, RAPT__JS_RUNNING);
    s = rapt__job_transition(RAPT__JS_COUNT, RAPT__JE_ADMIT);
    ck_assert_int_eq(s.action, RAPT__JA_INVALID);
}
END_TEST

/* The exhaustive walk. A node is a state plus what has happened to the attempt so far. */
typedef struct node {
    rapt__job_state st;
    int spawned, exited, eof, killed;
} node;

static int node_key(const node *n)
{
    return (((n->st * 2 + n->spawned) * 2 + n->exited) * 2 + n->eof) * 2 + n->killed;
}

START_TEST(exhaustive_invariants)
{
    enum { MAXN = RAPT__JS_COUNT * 16 };
    node queue[MAXN];
    int seen[MAXN];
    memset(seen, 0, sizeof(seen));
    int head = 0, tail = 0;
    queue[tail++] = (node){RAPT__JS_QUEUED, 0, 0, 0, 0};
    seen[node_key(&queue[0])] = 1;
    int reached_final = 0;
    while (head < tail) {
        node n = queue[head++];
        for (int ev = 0; ev < RAPT__JE_COUNT; ev++) {
            /* Events the world can produce only when they are physically possible. */
            if (ev == RAPT__JE_EXIT && (!n.spawned || n.exited))
                continue;
            if (ev == RAPT__JE_EOF && (!n.spawned || n.eof))
                continue;
            rapt__job_step s = rapt__job_transition(n.st, (rapt__job_event)ev);
            if (s.action == RAPT__JA_INVALID)
                continue;
            node m = n;
            m.st = s.next;
            if (ev == RAPT__JE_SPAWNED)
                m.spawned = 1;
            if (ev == RAPT__JE_EXIT)
                m.exited = 1;
            if (ev == RAPT__JE_EOF)
                m.eof = 1;
            if ((ev == RAPT__JE_KILL || ev == RAPT__JE_KILL_NOW) && rapt__job_state_live(n.st))
                m.killed = 1;
            if (s.action == RAPT__JA_FINISH) {
                /* Finished only when reaped and closed, or when nothing was spawned. */
                ck_assert_msg((m.exited && m.eof) || !m.spawned,
                              "FINISH from %s on %s before exit+eof", rapt__job_state_name(n.st),
                              rapt__job_event_name((rapt__job_event)ev));
            }
            if (rapt__job_state_live(m.st)) {
                ck_assert(m.spawned);
                /* The state says exactly what happened. */
                int st_exited = m.st == RAPT__JS_REAPED || m.st == RAPT__JS_STOPPING_REAPED;
                int st_eof = m.st == RAPT__JS_CLOSED || m.st == RAPT__JS_STOPPING_CLOSED;
                ck_assert_int_eq(st_exited, m.exited);
                ck_assert_int_eq(st_eof, m.eof);
                /* Once rapt started ending a job, it stays ending until it ends. */
                if (m.killed)
                    ck_assert(rapt__job_state_stopping(m.st));
            }
            if (m.st == RAPT__JS_REQUEUED) {
                /* A new attempt starts from scratch. */
                m.spawned = m.exited = m.eof = m.killed = 0;
            }
            if (m.st == RAPT__JS_FAILED || m.st == RAPT__JS_SUCCEEDED)
                reached_final = 1;
            int k = node_key(&m);
            if (!seen[k]) {
                seen[k] = 1;
                ck_assert_int_lt(tail, MAXN);
                queue[tail++] = m;
            }
        }
    }
    ck_assert(reached_final);
    /* From every reachable live node, exit and EOF (in either order) reach ENDED. */
    for (int i = 0; i < tail; i++) {
        node n = queue[i];
        if (!rapt__job_state_live(n.st))
            continue;
        rapt__job_state st = n.st;
        if (!n.exited)
            st = rapt__job_transition(st, RAPT__JE_EXIT).next;
        if (!n.eof)
            st = rapt__job_transition(st, RAPT__JE_EOF).next;
        ck_assert_msg(st == RAPT__JS_ENDED, "%s does not end", rapt__job_state_name(n.st));
    }
}
END_TEST

START_TEST(names_cover_everything)
{
    for (int s = 0; s < RAPT__JS_COUNT; s++)
        ck_assert_str_ne(rapt__job_state_name((rapt__job_state)s), "?");
    for (int e = 0; e < RAPT__JE_COUNT; e++)
        ck_assert_str_ne(rapt__job_event_name((rapt__job_event)e), "?");
    for (int a = 0; a <= RAPT__JA_INVALID; a++)
        ck_assert_str_ne(rapt__job_action_name((rapt__job_action)a), "?");
}
END_TEST

static Suite *job_suite(void)
{
    Suite *s = suite_create("job");
    RAPT_TCASE(s, normal_paths, 10);
    RAPT_TCASE(s, spawn_failure_finishes_at_once, 10);
    RAPT_TCASE(s, kill_runs_the_term_sequence, 10);
    RAPT_TCASE(s, kill_now_escalates_from_anywhere_live, 10);
    RAPT_TCASE(s, a_deferred_spawn_goes_back_to_the_queue, 10);
    RAPT_TCASE(s, retry_and_requeue_go_back_to_the_queue, 10);
    RAPT_TCASE(s, impossible_events_are_flagged, 10);
    RAPT_TCASE(s, exhaustive_invariants, 10);
    RAPT_TCASE(s, names_cover_everything, 10);
    return s;
}

RAPT_TEST_MAIN(job_suite)
