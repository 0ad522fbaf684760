/* monitor_cli.h: the parts of `rapt monitor` shared by its three files.
 *
 *   cmd_monitor.c      options, the event loop, the terminal (raw mode, alternate screen, signals)
 *   monitor_view.c     what is drawn: the live view's frame and the plain line mode
 *   monitor_follow.c   following a rapt.events/1 stream to know which jobs of a run are running
 */
#ifndef RAPT_MONITOR_CLI_H
#define RAPT_MONITOR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rapt/monitor.h"

/* ---- drawing ------------------------------------------------------------------------------- */

/* A growable output buffer; the frame is built in it and written with one write() so the
 * terminal never shows half a frame. */
typedef struct mon_buf {
    char *p;
    size_t len, cap;
    bool oom; /* an append failed; the frame is dropped rather than shown truncated */
} mon_buf;

void mon_buf_reset(mon_buf *b);
void mon_buf_free(mon_buf *b);
void mon_buf_add(mon_buf *b, const char *s, size_t n);
void mon_buf_str(mon_buf *b, const char *s);

/* What the view needs besides the monitor itself. */
typedef struct mon_view {
    unsigned rows, cols;  /* terminal size */
    bool color;           /* SGR colors (a terminal, NO_COLOR unset) */
    bool utf8;            /* the locale's codeset is UTF-8: arrows and blocks */
    double interval_s;    /* for the header */
    const char *events;   /* the followed events file, or NULL */
    const char *run_note; /* "run ended", "waiting for run_start", ... or NULL */
    bool have_sample;
    const char *hostname;
} mon_view;

/* Builds one full frame of the live view into b (cursor home, each line cleared to its end,
 * the rest of the screen cleared), fitting rows x cols. */
void mon_view_frame(mon_buf *b, rapt_monitor *m, const mon_view *v);

/* The plain mode: the column header, and one line per sample. */
void mon_view_line_header(mon_buf *b);
void mon_view_line(mon_buf *b, rapt_monitor *m);

/* Compact sizes for narrow columns: "512B", "1.5K", "23G" (binary units). */
char *mon_size_compact(double bytes, char *buf, size_t len);

/* ---- following a rapt run ------------------------------------------------------------------- */

typedef struct mon_follow {
    int fd;
    const char *path; /* borrowed from argv */
    char *buf;        /* bytes read but not yet a whole line */
    size_t len, cap;
    uint64_t lineno;
    off_t offset; /* bytes consumed, to notice a truncated or replaced file */
    bool run_started, run_ended;
    bool skipping; /* inside a line too long to keep: drop bytes up to its newline */
    bool warned_newer, warned_garbage, warned_long;
    unsigned running; /* jobs the stream says are running */
} mon_follow;

/* Opens the events file; returns 0 or -errno. */
int mon_follow_open(mon_follow *f, const char *path);
void mon_follow_close(mon_follow *f);

/* Reads what was appended since the last call and applies it to the monitor's tracked jobs:
 * job_start adds the job's process group (id = seq, label = cmd), job_end removes it, run_start
 * and run_end clear them. A partial last line waits for its end. Warnings (a record of a newer
 * schema, a line that is not JSON) go to stderr once per kind. */
void mon_follow_poll(mon_follow *f, rapt_monitor *m);

#endif /* RAPT_MONITOR_CLI_H */
