/* job.c: the job lifecycle table (see job.h).
 *
 * One row per state, one column per event, every cell written out: X marks an event that
 * cannot happen in that state (the runner has a bug if it fires one). Late events that can
 * legitimately arrive after the fact - a kill or a timer for a job that already ended - map to
 * NONE, so a race between the timer and the exit is harmless by construction.
 */
#include "lib/job.h"

#define S(state, act)                    \
    {                                    \
        RAPT__JS_##state, RAPT__JA_##act \
    }
#define X                                \
    {                                    \
        RAPT__JS_COUNT, RAPT__JA_INVALID \
    }

/* clang-format off */
static const rapt__job_step table[RAPT__JS_COUNT][RAPT__JE_COUNT] = {
    /*                      ADMIT              SPAWNED           SPAWN_FAILED   EXIT                      EOF                       KILL                        KILL_NOW                    TERM_STEP                   SUCCEED            FAIL            RETRY                REQUEUE             DEFER */
    [RAPT__JS_QUEUED]          = {S(ADMITTED, SPAWN), X,         X,             X,                        X,                        S(QUEUED, NONE),            S(QUEUED, NONE),            S(QUEUED, NONE),            X,                 X,              X,                   X, X},
    [RAPT__JS_ADMITTED]        = {X,        S(RUNNING, WATCH),   S(ENDED, FINISH), X,                     X,                        X,                          X,                          X,                          X,                 X,              X,                   X, S(QUEUED, NONE)},
    [RAPT__JS_RUNNING]         = {X,        X,                   X,             S(REAPED, NONE),          S(CLOSED, NONE),          S(STOPPING, TERM_START),    S(STOPPING, KILL_NOW),      S(RUNNING, NONE),           X,                 X,              X,                   X, X},
    [RAPT__JS_CLOSED]          = {X,        X,                   X,             S(ENDED, FINISH),         X,                        S(STOPPING_CLOSED, TERM_START), S(STOPPING_CLOSED, KILL_NOW), S(CLOSED, NONE),    X,                 X,              X,                   X, X},
    [RAPT__JS_REAPED]          = {X,        X,                   X,             X,                        S(ENDED, FINISH),         S(STOPPING_REAPED, TERM_START), S(STOPPING_REAPED, KILL_NOW), S(REAPED, NONE),    X,                 X,              X,                   X, X},
    [RAPT__JS_STOPPING]        = {X,        X,                   X,             S(STOPPING_REAPED, NONE), S(STOPPING_CLOSED, NONE), S(STOPPING, NONE),          S(STOPPING, KILL_NOW),      S(STOPPING, TERM_NEXT),     X,                 X,              X,                   X, X},
    [RAPT__JS_STOPPING_CLOSED] = {X,        X,                   X,             S(ENDED, FINISH),         X,                        S(STOPPING_CLOSED, NONE),   S(STOPPING_CLOSED, KILL_NOW), S(STOPPING_CLOSED, TERM_NEXT), X,            X,              X,                   X, X},
    [RAPT__JS_STOPPING_REAPED] = {X,        X,                   X,             X,                        S(ENDED, FINISH),         S(STOPPING_REAPED, NONE),   S(STOPPING_REAPED, KILL_NOW), S(STOPPING_REAPED, TERM_NEXT), X,            X,              X,                   X, X},
    [RAPT__JS_ENDED]           = {X,        X,                   X,             X,                        X,                        S(ENDED, NONE),             S(ENDED, NONE),             S(ENDED, NONE),             S(SUCCEEDED, RELEASE), S(FAILED, RELEASE), S(REQUEUED, REQUEUE), S(REQUEUED, REQUEUE), X},
    [RAPT__JS_REQUEUED]        = {S(ADMITTED, SPAWN), X,         X,             X,                        X,                        S(REQUEUED, NONE),          S(REQUEUED, NONE),          S(REQUEUED, NONE),          X,                 X,              X,                   X, X},
    [RAPT__JS_FAILED]          = {X,        X,                   X,             X,                        X,                        S(FAILED, NONE),            S(FAILED, NONE),            S(FAILED, NONE),            X,                 X,              X,                   X, X},
    [RAPT__JS_SUCCEEDED]       = {X,        X,                   X,             X,                        X,                        S(SUCCEEDED, NONE),         S(SUCCEEDED, NONE),         S(SUCCEEDED, NONE),         X,                 X,              X,                   X, X},
};
/* clang-format on */

#undef S
#undef X

rapt__job_step rapt__job_transition(rapt__job_state st, rapt__job_event ev)
{
    rapt__job_step invalid = {st, RAPT__JA_INVALID};
    if ((unsigned)st >= RAPT__JS_COUNT || (unsigned)ev >= RAPT__JE_COUNT)
        return invalid;
    rapt__job_step s = table[st][ev];
    if (s.action == RAPT__JA_INVALID)
        return invalid;
    return s;
}

int rapt__job_state_live(rapt__job_state st)
{
    switch (st) {
    case RAPT__JS_RUNNING:
    case RAPT__JS_CLOSED:
    case RAPT__JS_REAPED:
    case RAPT__JS_STOPPING:
    case RAPT__JS_STOPPING_CLOSED:
    case RAPT__JS_STOPPING_REAPED: return 1;
    default: return 0;
    }
}

int rapt__job_state_stopping(rapt__job_state st)
{
    return st == RAPT__JS_STOPPING || st == RAPT__JS_STOPPING_CLOSED ||
           st == RAPT__JS_STOPPING_REAPED;
}

const char *rapt__job_state_name(rapt__job_state st)
{
    static const char *const names[RAPT__JS_COUNT] = {
        "queued",          "admitted",        "running", "closed",   "reaped", "stopping",
        "stopping-closed", "stopping-reaped", "ended",   "requeued", "failed", "succeeded",
    };
    return (unsigned)st < RAPT__JS_COUNT ? names[st] : "?";
}

const char *rapt__job_event_name(rapt__job_event ev)
{
    static const char *const names[RAPT__JE_COUNT] = {
        "admit",     "spawned", "spawn-failed", "exit",  "eof",     "kill",  "kill-now",
        "term-step", "succeed", "fail",         "retry", "requeue", "defer",
    };
    return (unsigned)ev < RAPT__JE_COUNT ? names[ev] : "?";
}

const char *rapt__job_action_name(rapt__job_action a)
{
    static const char *const names[] = {
        "none",     "spawn",  "watch",   "term-start", "term-next",
        "kill-now", "finish", "release", "requeue",    "invalid",
    };
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}
