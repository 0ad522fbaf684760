/* monitor_view.c: what `rapt monitor` shows, on a terminal and as plain lines.
 *
 * Owns the layout of the live view and of the plain line mode. The live view is plain ANSI/VT100:
 * cursor home, each line written over the old one and cleared to its end (ESC [ K), the rest of
 * the screen cleared (ESC [ J). Nothing is cleared before drawing, so the screen never flickers,
 * and every line is cut to the terminal's width so nothing wraps. Escape sequences and UTF-8
 * continuation bytes take no column.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/monitor_cli.h"

/* ---- buffer ------------------------------------------------------------------------------- */

void mon_buf_reset(mon_buf *b)
{
    b->len = 0;
    b->oom = false;
}

void mon_buf_free(mon_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void mon_buf_add(mon_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len < n + 1) {
        size_t ncap = b->cap ? b->cap : 8192;
        while (ncap - b->len < n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void mon_buf_str(mon_buf *b, const char *s)
{
    mon_buf_add(b, s, strlen(s));
}

static void buf_printf(mon_buf *b, const char *fmt, ...) RAPT__PRINTF(2, 3);
static void buf_printf(mon_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        mon_buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- formatting ----------------------------------------------------------------------------- */

/* At most 4 characters and a unit, so a column of sizes stays aligned in the line mode; one
 * decimal below 10, where it carries information. */
char *mon_size_compact(double bytes, char *buf, size_t len)
{
    static const char units[] = "BKMGTP";
    if (!isfinite(bytes) || bytes < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < sizeof(units) - 1) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0fB", bytes);
    else if (bytes < 10)
        snprintf(buf, len, "%.1f%c", bytes, units[u]);
    else
        snprintf(buf, len, "%.0f%c", bytes, units[u]);
    return buf;
}

static const char *size_human(uint64_t bytes, char *buf, size_t len)
{
    return rapt_size_format(bytes, buf, len);
}

static const char *rate_human(double bps, char *buf, size_t len)
{
    if (!isfinite(bps)) {
        snprintf(buf, len, "-");
        return buf;
    }
    char s[32];
    rapt_size_format((uint64_t)(bps + 0.5), s, sizeof(s));
    snprintf(buf, len, "%s/s", s);
    return buf;
}

static const char *pct_str(double v, char *buf, size_t len)
{
    if (isfinite(v))
        snprintf(buf, len, "%5.1f %%", v);
    else
        snprintf(buf, len, "    - %%");
    return buf;
}

/* ---- a line of the frame, cut to the terminal's width -----------------------------------------
 */

typedef struct line {
    mon_buf *b;
    const mon_view *v;
    unsigned col;
} line;

/* Appends visible text, stopping at the width. UTF-8 lead bytes take one column (every glyph
 * this view draws is single-width), continuation bytes none. */
static void ln_text(line *l, const char *s)
{
    const char *start = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool cont = (c & 0xC0) == 0x80;
        if (!cont) {
            if (l->col >= l->v->cols)
                break;
            l->col++;
        }
    }
    mon_buf_add(l->b, start, (size_t)(s - start));
}

static void ln_printf(line *l, const char *fmt, ...) RAPT__PRINTF(2, 3);
static void ln_printf(line *l, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    ln_text(l, tmp);
}

/* Moves to column c (at least one space when already there or past it). */
static void ln_tab(line *l, unsigned c)
{
    do
        ln_text(l, " ");
    while (l->col < c && l->col < l->v->cols);
}

/* Starts a styled run (SGR); ln_plain ends it. Colors only on a color terminal. */
static void ln_sgr(line *l, const char *sgr)
{
    if (l->v->color && sgr) {
        mon_buf_str(l->b, "\x1b[");
        mon_buf_str(l->b, sgr);
        mon_buf_str(l->b, "m");
    }
}

static void ln_plain(line *l)
{
    if (l->v->color)
        mon_buf_str(l->b, "\x1b[0m");
}

static const char *level_sgr(rapt_alert_level lv)
{
    return lv == RAPT_ALERT_CRITICAL ? "1;31" : lv == RAPT_ALERT_WARNING ? "33" : NULL;
}

/* The frame: at most rows lines, each cleared to its end; no newline after the last so the
 * screen never scrolls. */
typedef struct frame {
    mon_buf *b;
    const mon_view *v;
    unsigned n; /* lines begun */
    line cur;
    bool open;
} frame;

static line *fr_line(frame *f)
{
    if (f->open) {
        ln_plain(&f->cur);
        mon_buf_str(f->b, "\x1b[K");
        f->open = false;
    }
    if (f->n >= f->v->rows)
        return NULL;
    if (f->n > 0)
        mon_buf_str(f->b, "\r\n");
    f->n++;
    f->cur = (line){.b = f->b, .v = f->v, .col = 0};
    f->open = true;
    return &f->cur;
}

static void fr_end(frame *f)
{
    if (f->open) {
        ln_plain(&f->cur);
        mon_buf_str(f->b, "\x1b[K");
        f->open = false;
    }
    mon_buf_str(f->b, "\x1b[J");
}

/* ---- the live view -----------------------------------------------------------------------------
 */

static const char *arrow(const mon_view *v, rapt_trend_dir d)
{
    switch (d) {
    case RAPT_TREND_INCREASING: return v->utf8 ? "\xe2\x86\x91" : "^";
    case RAPT_TREND_DECREASING: return v->utf8 ? "\xe2\x86\x93" : "v";
    case RAPT_TREND_STABLE: return v->utf8 ? "\xe2\x86\x92" : "=";
    case RAPT_TREND_UNKNOWN: break;
    }
    return " ";
}

/* The trend arrow of a metric ("↑", "↓", "→"; blank while unknown). */
static void trend_arrow(line *l, rapt_monitor *m, rapt_metric metric)
{
    rapt_trend t;
    if (rapt_monitor_trend(m, metric, &t) < 0)
        t.dir = RAPT_TREND_UNKNOWN;
    ln_text(l, " ");
    ln_text(l, arrow(l->v, t.dir));
}

/* A percentage in its alert color, its trend arrow, then a bar of `width` cells. */
static void pct_bar(line *l, rapt_monitor *m, const rapt_sample *s, rapt_metric metric,
                    unsigned width)
{
    char b[32];
    double v = s->value[metric];
    ln_sgr(l, level_sgr(s->level[metric]));
    ln_text(l, pct_str(v, b, sizeof(b)));
    ln_plain(l);
    trend_arrow(l, m, metric);
    if (width == 0)
        return;
    ln_text(l, " [");
    unsigned fill =
        isfinite(v) ? (unsigned)lround(RAPT__MIN(RAPT__MAX(v, 0), 100) / 100 * width) : 0;
    ln_sgr(l, level_sgr(s->level[metric]));
    for (unsigned i = 0; i < width; i++)
        ln_text(l, i < fill ? "#" : ".");
    ln_plain(l);
    ln_text(l, "]");
}

static void header(frame *f, const rapt_sample *s, const mon_view *v)
{
    line *l = fr_line(f);
    if (!l)
        return;
    char when[32] = "--:--:--", iv[32];
    if (s) {
        time_t t = (time_t)(s->wall_ns / 1000000000ull);
        struct tm tm;
        if (localtime_r(&t, &tm))
            strftime(when, sizeof(when), "%H:%M:%S", &tm);
    }
    rapt_duration_format((uint64_t)(v->interval_s * 1e9), iv, sizeof(iv));
    ln_sgr(l, "1");
    ln_text(l, "rapt monitor");
    ln_plain(l);
    ln_printf(l, "  %s  every %s  sample %llu  %s", v->hostname, iv,
              s ? (unsigned long long)s->seq : 0ull, when);
    if (l->col + 10 <= v->cols)
        ln_tab(l, v->cols - 7);
    ln_text(l, "q: quit");
}

/* Rows are built in a fixed order, most important first: when the window is short, fr_line()
 * returns NULL and what does not fit is left out from the bottom up. Labels are 9 columns so
 * values line up down the screen. */
static void cpu_rows(frame *f, rapt_monitor *m, const rapt_sample *s, const rapt_monitor_scope *sc)
{
    line *l = fr_line(f);
    if (l) {
        ln_text(l, "CPU      ");
        pct_bar(l, m, s, RAPT_METRIC_CPU, 20);
        char a[32], b[32];
        ln_printf(l, "  iowait %s  steal %s", pct_str(s->cpu_iowait_pct, a, sizeof(a)),
                  pct_str(s->cpu_steal_pct, b, sizeof(b)));
    }
    if ((l = fr_line(f))) {
        ln_text(l, "  cgroup ");
        pct_bar(l, m, s, RAPT_METRIC_CGROUP_CPU, 0);
        if (isfinite(s->value[RAPT_METRIC_CGROUP_CPU]))
            ln_printf(l, "  %.2f of %.3g CPUs  ", s->cgroup_cpu_cores, s->cgroup_cpu_capacity);
        else
            ln_text(l, "  ");
        ln_text(l, sc->cpu_dir[0] ? sc->cpu_dir : "no cgroup CPU counter");
    }
}

static void memory_rows(frame *f, rapt_monitor *m, const rapt_sample *s,
                        const rapt_monitor_scope *sc)
{
    char a[32], b[32];
    line *l = fr_line(f);
    if (!l)
        return;
    ln_text(l, "Memory   ");
    if (!s->mem_known) {
        ln_text(l, "    - %   limit or usage unknown");
    } else {
        pct_bar(l, m, s, RAPT_METRIC_MEMORY, 20);
        ln_printf(l, "  used %s  avail %s", size_human(s->mem_used, a, sizeof(a)),
                  size_human(s->mem_available, b, sizeof(b)));
        /* The fit is in points of the limit per second; people think in bytes per second. */
        rapt_trend t;
        if (rapt_monitor_trend(m, RAPT_METRIC_MEMORY, &t) == 0 &&
            (t.dir == RAPT_TREND_INCREASING || t.dir == RAPT_TREND_DECREASING)) {
            double bps = t.slope / 100 * (double)s->mem_limit;
            ln_printf(l, "  %s%s/s", bps < 0 ? "-" : "+",
                      size_human((uint64_t)fabs(bps), a, sizeof(a)));
        }
    }
    if ((l = fr_line(f))) {
        ln_text(l, "  limit  ");
        if (s->mem_known)
            ln_printf(l, "%s  %s: %s", size_human(s->mem_limit, a, sizeof(a)),
                      rapt_bound_name(sc->mem_limit_bound), sc->mem_limit_source);
        else
            ln_text(l, "unknown");
    }
    if ((l = fr_line(f))) {
        ln_text(l, "  budget ");
        if (s->mem_known)
            ln_printf(l, "%s  (%.0f %% of the limit, less what is in use)",
                      size_human(s->mem_budget, a, sizeof(a)), sc->eta * 100);
        else
            ln_text(l, "-");
    }
    if ((l = fr_line(f))) {
        ln_text(l, "  cgroup ");
        if (s->cgroup_mem_known)
            ln_printf(l, "%s charged  ", size_human(s->cgroup_mem_usage, a, sizeof(a)));
        ln_text(l, sc->cgroup_dir[0] ? sc->cgroup_dir : "no memory cgroup");
    }
    if ((l = fr_line(f))) {
        ln_text(l, "Swap     ");
        if (s->swap_total == 0) {
            ln_text(l, "none");
        } else {
            pct_bar(l, m, s, RAPT_METRIC_SWAP, 0);
            ln_printf(l, "  used %s of %s", size_human(s->swap_used, a, sizeof(a)),
                      size_human(s->swap_total, b, sizeof(b)));
        }
    }
}

static void psi_value(line *l, rapt_monitor *m, const rapt_sample *s, rapt_metric metric,
                      double full)
{
    char a[32];
    ln_sgr(l, level_sgr(s->level[metric]));
    if (isfinite(s->value[metric]))
        snprintf(a, sizeof(a), "%.2f", s->value[metric]);
    else
        snprintf(a, sizeof(a), "-");
    ln_text(l, a);
    ln_plain(l);
    if (isfinite(full))
        ln_printf(l, "/%.2f", full);
    trend_arrow(l, m, metric);
}

static void rate(line *l, rapt_monitor *m, const rapt_sample *s, rapt_metric metric,
                 const char *label, unsigned col)
{
    char a[48];
    ln_tab(l, col);
    ln_printf(l, "%s %s", label, rate_human(s->value[metric], a, sizeof(a)));
    trend_arrow(l, m, metric);
}

static void io_rows(frame *f, rapt_monitor *m, const rapt_sample *s)
{
    line *l = fr_line(f);
    if (l) {
        ln_text(l, "Pressure ");
        if (s->psi_scope == RAPT_PSI_NONE) {
            ln_text(l, "not offered by this kernel");
        } else {
            ln_text(l, "cpu ");
            psi_value(l, m, s, RAPT_METRIC_PSI_CPU, NAN);
            ln_text(l, "  memory ");
            psi_value(l, m, s, RAPT_METRIC_PSI_MEMORY, s->psi_memory_full);
            ln_text(l, "  io ");
            psi_value(l, m, s, RAPT_METRIC_PSI_IO, s->psi_io_full);
            ln_printf(l, "  (%% of 10 s stalled, some/full, %s)",
                      s->psi_scope == RAPT_PSI_CGROUP ? "cgroup" : "system");
        }
    }
    if ((l = fr_line(f))) {
        ln_text(l, "Disk    ");
        rate(l, m, s, RAPT_METRIC_DISK_READ, "read", 9);
        rate(l, m, s, RAPT_METRIC_DISK_WRITE, "write", 32);
    }
    if ((l = fr_line(f))) {
        ln_text(l, "Network ");
        rate(l, m, s, RAPT_METRIC_NET_RX, "in", 9);
        rate(l, m, s, RAPT_METRIC_NET_TX, "out", 32);
    }
}

static void alert_rows(frame *f, rapt_monitor *m, const rapt_sample *s)
{
    line *l = fr_line(f);
    if (!l)
        return;
    ln_text(l, "Alerts   ");
    bool any = false;
    for (int lv = RAPT_ALERT_CRITICAL; lv >= RAPT_ALERT_WARNING; lv--) {
        for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
            if ((int)s->level[i] != lv)
                continue;
            rapt_monitor_threshold t;
            rapt_monitor_get_threshold(m, (rapt_metric)i, &t);
            if (any)
                ln_text(l, "  ");
            ln_sgr(l, level_sgr((rapt_alert_level)lv));
            ln_printf(l, "%s %s %.1f%s", lv == RAPT_ALERT_CRITICAL ? "CRITICAL" : "WARNING",
                      rapt_monitor_metric_name((rapt_metric)i), s->value[i],
                      strcmp(rapt_monitor_metric_unit((rapt_metric)i), "%") == 0 ? " %" : "");
            ln_plain(l);
            ln_printf(l, " (>= %g)", lv == RAPT_ALERT_CRITICAL ? t.critical : t.warning);
            any = true;
        }
    }
    if (!any)
        ln_text(l, "none");
}

/* The jobs table: one row per tracked job in the order they started, cut off with a count of
 * the rest when the window is short. Only jobs of a followed run are tracked by the CLI. */
static void job_rows(frame *f, rapt_monitor *m, const mon_view *v)
{
    rapt_monitor_job jobs[256];
    size_t n = rapt_monitor_jobs(m, jobs, RAPT__ARRAY_SIZE(jobs));
    size_t shown = RAPT__MIN(n, RAPT__ARRAY_SIZE(jobs));
    if (!v->events && n == 0)
        return;
    line *l = fr_line(f); /* a blank line before the table */
    if (!l)
        return;
    if ((l = fr_line(f))) {
        ln_sgr(l, "1");
        ln_printf(l, "Jobs     %zu running", n);
        ln_plain(l);
        if (v->events)
            ln_printf(l, "  (events: %s%s%s)", v->events, v->run_note ? "; " : "",
                      v->run_note ? v->run_note : "");
    }
    if (n == 0)
        return;
    if ((l = fr_line(f)))
        ln_text(l, "      SEQ      PID  PROCS      MEMORY        PEAK   CPU %  COMMAND");
    for (size_t i = 0; i < shown; i++) {
        /* Keep the last row for "... and N more" when the screen is short. */
        if (f->n + 1 >= v->rows && i + 1 < n) {
            if ((l = fr_line(f)))
                ln_printf(l, "      ... and %zu more", n - i);
            return;
        }
        const rapt_monitor_job *j = &jobs[i];
        char a[32], b[32], c[16];
        if (!(l = fr_line(f)))
            return;
        if (isfinite(j->cpu_pct))
            snprintf(c, sizeof(c), "%7.1f", j->cpu_pct);
        else
            snprintf(c, sizeof(c), "%7s", "-");
        ln_printf(l, "%9llu %8ld %6u %11s %11s %s  ", (unsigned long long)j->id, (long)j->pid,
                  j->nprocs, size_human(j->memory, a, sizeof(a)),
                  size_human(j->memory_peak, b, sizeof(b)), c);
        if (!j->alive)
            ln_text(l, "(gone) ");
        /* A command may hold control characters; show them as '?' rather than let them move
         * the cursor. */
        char lab[RAPT_MONITOR_LABEL_MAX];
        rapt__strlcpy(lab, j->label, sizeof(lab));
        for (char *p = lab; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        }
        ln_text(l, lab);
    }
}

void mon_view_frame(mon_buf *b, rapt_monitor *m, const mon_view *v)
{
    frame f = {.b = b, .v = v};
    mon_buf_str(b, "\x1b[H");
    rapt_sample s;
    bool have = v->have_sample && rapt_monitor_get(m, 0, &s) == 0;
    header(&f, have ? &s : NULL, v);
    if (!have) {
        line *l = fr_line(&f);
        if (l)
            ln_text(l, "waiting for the first sample...");
        fr_end(&f);
        return;
    }
    rapt_monitor_scope sc;
    rapt_monitor_get_scope(m, &sc);
    cpu_rows(&f, m, &s, &sc);
    memory_rows(&f, m, &s, &sc);
    io_rows(&f, m, &s);
    alert_rows(&f, m, &s);
    job_rows(&f, m, v);
    fr_end(&f);
}

/* ---- plain lines ------------------------------------------------------------------------------
 */

/* The line mode is for logs and scripts: fixed, space-separated columns that awk can take
 * apart ($1 time ... $16 jobs, $17 alerts), "-" for unknown, and the same header as the
 * first line. */
void mon_view_line_header(mon_buf *b)
{
    mon_buf_str(b, "time       cpu%   cg%  mem%   used  avail  limit  swap%  psi-cpu  psi-mem  "
                   "psi-io  disk-r  disk-w   net-rx   net-tx  jobs  alerts\n");
}

static void col_pct(mon_buf *b, double v, int width)
{
    if (isfinite(v))
        buf_printf(b, " %*.1f", width, v);
    else
        buf_printf(b, " %*s", width, "-");
}

void mon_view_line(mon_buf *b, rapt_monitor *m)
{
    rapt_sample s;
    if (rapt_monitor_get(m, 0, &s) < 0)
        return;
    char when[32] = "--:--:--", x[16], y[16], z[16];
    time_t t = (time_t)(s.wall_ns / 1000000000ull);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
    const double *v = s.value;
    buf_printf(b, "%-8s ", when);
    col_pct(b, v[RAPT_METRIC_CPU], 5);
    col_pct(b, v[RAPT_METRIC_CGROUP_CPU], 5);
    col_pct(b, v[RAPT_METRIC_MEMORY], 5);
    buf_printf(b, " %6s %6s %6s", mon_size_compact(s.mem_known ? (double)s.mem_used : NAN, x, 16),
               mon_size_compact(s.mem_known ? (double)s.mem_available : NAN, y, 16),
               mon_size_compact(s.mem_known ? (double)s.mem_limit : NAN, z, 16));
    col_pct(b, v[RAPT_METRIC_SWAP], 6);
    col_pct(b, v[RAPT_METRIC_PSI_CPU], 8);
    col_pct(b, v[RAPT_METRIC_PSI_MEMORY], 8);
    col_pct(b, v[RAPT_METRIC_PSI_IO], 7);
    buf_printf(b, " %7s %7s", mon_size_compact(v[RAPT_METRIC_DISK_READ], x, 16),
               mon_size_compact(v[RAPT_METRIC_DISK_WRITE], y, 16));
    buf_printf(b, " %8s %8s", mon_size_compact(v[RAPT_METRIC_NET_RX], x, 16),
               mon_size_compact(v[RAPT_METRIC_NET_TX], y, 16));
    buf_printf(b, " %5u  ", s.jobs_alive);
    bool any = false;
    for (int i = 0; i < RAPT_METRIC_COUNT; i++) {
        if (s.level[i] == RAPT_ALERT_OK)
            continue;
        buf_printf(b, "%s%s:%s", any ? "," : "", rapt_monitor_metric_name((rapt_metric)i),
                   rapt_alert_level_name(s.level[i]));
        any = true;
    }
    mon_buf_str(b, any ? "\n" : "-\n");
}
