/* job.h: the lifecycle of one job attempt as a state x event -> action table.
 *
 * The runner never changes a job's state by hand: it reports what happened (an event) and
 * performs the action the table returns. The table is pure data, so every path through it -
 * including the odd ones (output that closes before the process exits, a grandchild that keeps
 * a pipe open after its parent died, a timeout while output is still draining) - is tested
 * without a single process (tests/unit/test_job.c).
 *
 * A job is finished only when its process has been reaped AND its output pipes are at EOF (the
 * tmux rule): exiting first leaves output unread, EOF first leaves a zombie.
 *
 * States:
 *   QUEUED           waiting for admission (new, or again after a retry or a requeue)
 *   ADMITTED         admission said start; being spawned
 *   RUNNING          process alive, output open
 *   CLOSED           process alive, output at EOF
 *   REAPED           process reaped, output still open (a grandchild holds a pipe)
 *   STOPPING         rapt is ending it (term sequence), process alive, output open
 *   STOPPING_CLOSED  rapt is ending it, process alive, output at EOF
 *   STOPPING_REAPED  rapt is ending it, leader reaped, output open (the sequence goes on
 *                    against the process group until the pipes close)
 *   ENDED            reaped and closed: the attempt is over, its verdict is pending
 *   REQUEUED         the attempt ended and the job will run again (retry, or memory protection)
 *   FAILED           final: failed for good
 *   SUCCEEDED        final: succeeded
 */
#ifndef RAPT_JOB_H
#define RAPT_JOB_H

typedef enum rapt__job_state {
    RAPT__JS_QUEUED = 0,
    RAPT__JS_ADMITTED,
    RAPT__JS_RUNNING,
    RAPT__JS_CLOSED,
    RAPT__JS_REAPED,
    RAPT__JS_STOPPING,
    RAPT__JS_STOPPING_CLOSED,
    RAPT__JS_STOPPING_REAPED,
    RAPT__JS_ENDED,
    RAPT__JS_REQUEUED,
    RAPT__JS_FAILED,
    RAPT__JS_SUCCEEDED,
    RAPT__JS_COUNT
} rapt__job_state;

typedef enum rapt__job_event {
    RAPT__JE_ADMIT = 0,    /* admission chose this job */
    RAPT__JE_SPAWNED,      /* the process exists (exec may still report "not found" as exit 127) */
    RAPT__JE_SPAWN_FAILED, /* no process could be made (fork or fd limits) */
    RAPT__JE_EXIT,         /* the leader was reaped */
    RAPT__JE_EOF,          /* every output pipe reached EOF (or there were none) */
    RAPT__JE_KILL,         /* rapt decided to end it: timeout, halt, interrupt, memory */
    RAPT__JE_KILL_NOW,     /* end it at once (second SIGINT): SIGKILL, no sequence */
    RAPT__JE_TERM_STEP,    /* the term sequence's timer fired */
    RAPT__JE_SUCCEED,      /* verdict: succeeded */
    RAPT__JE_FAIL,         /* verdict: failed for good */
    RAPT__JE_RETRY,        /* verdict: run again (--retries) */
    RAPT__JE_REQUEUE,      /* verdict: run again without using a retry (memory protection) */
    RAPT__JE_DEFER,        /* no process could be made now, others are running: wait, retry */
    RAPT__JE_COUNT
} rapt__job_event;

typedef enum rapt__job_action {
    RAPT__JA_NONE = 0,   /* nothing to do (e.g. a late timer for a job already gone) */
    RAPT__JA_SPAWN,      /* start the process */
    RAPT__JA_WATCH,      /* watch its exit and output, arm its timeout */
    RAPT__JA_TERM_START, /* send the first signal of the term sequence, arm the next step */
    RAPT__JA_TERM_NEXT,  /* send the next signal of the sequence (or give up on open pipes) */
    RAPT__JA_KILL_NOW,   /* SIGKILL the process group now */
    RAPT__JA_FINISH,     /* account the attempt and decide its verdict */
    RAPT__JA_RELEASE,    /* the job is done for good: log it, free its slot and memory */
    RAPT__JA_REQUEUE,    /* put it back in the queue for another attempt */
    RAPT__JA_INVALID     /* the event cannot happen in this state: a bug in the runner */
} rapt__job_action;

typedef struct rapt__job_step {
    rapt__job_state next;
    rapt__job_action action;
} rapt__job_step;

/* The table lookup: what happens when `ev` hits a job in `st`. On RAPT__JA_INVALID the state
 * does not change. Pure; thread-safe. */
rapt__job_step rapt__job_transition(rapt__job_state st, rapt__job_event ev);

/* True for states whose process may still be alive (the runner must watch them). */
int rapt__job_state_live(rapt__job_state st);

/* True for RAPT__JS_STOPPING*: rapt is ending the job. */
int rapt__job_state_stopping(rapt__job_state st);

/* Names for messages and tests ("running", "stopping-reaped", ...). Static strings. */
const char *rapt__job_state_name(rapt__job_state st);
const char *rapt__job_event_name(rapt__job_event ev);
const char *rapt__job_action_name(rapt__job_action a);

#endif /* RAPT_JOB_H */
