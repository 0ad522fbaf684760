/* monitor_follow.c: following the events of a running `rapt run` (docs/events.md).
 *
 * Owns the read position in the events file and the partial line at its end. The monitor learns
 * which jobs run from job_start / job_end records and reads their memory and CPU from /proc
 * itself: the stream says *which* process groups to watch, the kernel says what they use now.
 * The runner flushes whole records, but a reader can still catch one half-written, so a line
 * counts only once its newline has arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/monitor_cli.h"

/* A record longer than this is not one rapt wrote (job_start lines are a few hundred bytes plus
 * the command); it is skipped rather than buffered without bound. */
#define LINE_MAX_BYTES (1u << 20)

int mon_follow_open(mon_follow *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    f->path = path;
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (f->fd < 0)
        return -errno;
    struct stat st;
    if (fstat(f->fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(f->fd);
        f->fd = -1;
        return -e;
    }
    return 0;
}

void mon_follow_close(mon_follow *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->buf);
    f->buf = NULL;
}

static bool get_u64(json_t *o, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static void clear_jobs(rapt_monitor *m, mon_follow *f)
{
    rapt_monitor_job jobs[64];
    size_t n;
    /* Removing shifts the list; read it again until it is empty. */
    while ((n = rapt_monitor_jobs(m, jobs, RAPT__ARRAY_SIZE(jobs))) > 0) {
        for (size_t i = 0; i < n && i < RAPT__ARRAY_SIZE(jobs); i++)
            rapt_monitor_job_remove(m, jobs[i].id);
    }
    f->running = 0;
}

static void apply(mon_follow *f, rapt_monitor *m, const char *line, size_t len)
{
    json_error_t err;
    json_t *o = json_loadb(line, len, 0, &err);
    if (!json_is_object(o)) {
        if (!f->warned_garbage)
            cli_warn("monitor: --events '%s': line %llu is not a JSON object; skipping such lines",
                     f->path, (unsigned long long)f->lineno);
        f->warned_garbage = true;
        json_decref(o);
        return;
    }
    uint64_t v = 0;
    const char *event = json_string_value(json_object_get(o, "event"));
    if (get_u64(o, "v", &v) && v > 1) {
        /* A newer writer may have changed what a field means: say so once, use nothing. */
        if (!f->warned_newer)
            cli_warn("monitor: --events '%s': records of schema version %llu are newer than this "
                     "rapt understands (1); skipping them",
                     f->path, (unsigned long long)v);
        f->warned_newer = true;
    } else if (!event) {
        if (!f->warned_garbage)
            cli_warn("monitor: --events '%s': line %llu has no \"event\"; skipping such lines",
                     f->path, (unsigned long long)f->lineno);
        f->warned_garbage = true;
    } else if (strcmp(event, "run_start") == 0) {
        /* A stream holds one run; a second run_start means the file was reused. */
        clear_jobs(m, f);
        f->run_started = true;
        f->run_ended = false;
    } else if (strcmp(event, "run_end") == 0) {
        clear_jobs(m, f);
        f->run_ended = true;
    } else if (strcmp(event, "job_start") == 0) {
        uint64_t seq, pid;
        if (get_u64(o, "seq", &seq) && get_u64(o, "pid", &pid) && pid > 0 && pid <= INT32_MAX) {
            rapt_monitor_job_spec js;
            rapt_monitor_job_spec_init(&js);
            js.id = seq;
            js.kind = RAPT_MONITOR_JOB_PGID;
            js.pid = (pid_t)pid;
            js.label = json_string_value(json_object_get(o, "cmd"));
            /* A retry of the same seq is a new process group. */
            if (rapt_monitor_job_remove(m, seq) == 0 && f->running > 0)
                f->running--;
            if (rapt_monitor_job_add(m, &js) == 0)
                f->running++;
        }
    } else if (strcmp(event, "job_end") == 0) {
        uint64_t seq;
        if (get_u64(o, "seq", &seq) && rapt_monitor_job_remove(m, seq) == 0 && f->running > 0)
            f->running--;
    }
    json_decref(o);
}

void mon_follow_poll(mon_follow *f, rapt_monitor *m)
{
    if (f->fd < 0)
        return;
    /* A file that shrank was truncated or replaced under the same name: start over. */
    struct stat st;
    if (fstat(f->fd, &st) == 0 && st.st_size < f->offset) {
        lseek(f->fd, 0, SEEK_SET);
        f->offset = 0;
        f->len = 0;
        f->lineno = 0;
        clear_jobs(m, f);
    }
    for (;;) {
        if (f->cap - f->len < 4096) {
            size_t ncap = f->cap ? f->cap * 2 : 16384;
            char *nb = realloc(f->buf, ncap);
            if (!nb)
                return; /* try again at the next tick */
            f->buf = nb;
            f->cap = ncap;
        }
        ssize_t n = read(f->fd, f->buf + f->len, f->cap - f->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        f->len += (size_t)n;
        f->offset += n;
        size_t start = 0;
        if (f->skipping) {
            char *nl = memchr(f->buf, '\n', f->len);
            if (!nl) {
                f->len = 0;
                continue;
            }
            f->skipping = false;
            f->lineno++;
            start = (size_t)(nl - f->buf) + 1;
        }
        for (;;) {
            char *nl = memchr(f->buf + start, '\n', f->len - start);
            if (!nl)
                break;
            size_t l = (size_t)(nl - (f->buf + start));
            f->lineno++;
            if (l > 0)
                apply(f, m, f->buf + start, l);
            start += l + 1;
        }
        memmove(f->buf, f->buf + start, f->len - start);
        f->len -= start;
        if (f->len > LINE_MAX_BYTES) {
            if (!f->warned_long)
                cli_warn("monitor: --events '%s': a line longer than %u bytes; skipping it",
                         f->path, LINE_MAX_BYTES);
            f->warned_long = true;
            f->len = 0;
            f->skipping = true;
        }
    }
}
