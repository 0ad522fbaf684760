/* report_html.c: the report as one self-contained HTML page with inline SVG charts.
 *
 * Owns the page: a Gantt timeline of jobs per slot coloured by outcome, concurrency with what
 * limited admission, memory over time (per-job stacked areas with the budget and limit lines),
 * CPU over time, peak memory against input size with the model's line, and the tables.
 *
 * Self-contained means: no script at all, no external fonts, styles or images, and a
 * Content-Security-Policy that forbids every fetch, so a browser proves it (a violation shows
 * as a console error, which the e2e test fails on). Every chart aggregates so the page stays
 * small and fast for 100 000 jobs: the Gantt draws one rectangle per attempt up to
 * GANTT_DETAIL attempts and otherwise run-length-merged time bins per row; memory draws one
 * area per job up to RAPT__R_MEMJOBS_MAX attempts and otherwise one per group of rows; the
 * scatter turns into a density grid past SCATTER_POINTS points. The number of SVG elements is
 * therefore bounded whatever the run's size (docs/report.md gives the figures).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/report_int.h"

#define PAGE_W         1000.0 /* SVG user units across a chart */
#define MARGIN_L       74.0
#define MARGIN_R       16.0
#define BINS           400  /* time bins of the line and area charts */
#define GANTT_BINS     500  /* time bins of an aggregated Gantt row */
#define GANTT_DETAIL   2500 /* attempts drawn one by one */
#define GANTT_LINES    64   /* rows drawn; more slots are grouped */
#define BAND_LINES     16   /* stacked bands in the aggregated memory chart */
#define FAIL_MARKS     1000 /* failed attempts marked in an aggregated Gantt */
#define SCATTER_POINTS 1500 /* points drawn one by one */
#define GRID_X         100
#define GRID_Y         50

static const char *const palette[] = {"#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756",
                                      "#72b7b2", "#eeca3b", "#9d755d", "#ff9da6", "#bab0ac"};

/* ---- output helpers ---------------------------------------------------------------------- */

/* HTML-escapes s. Control characters become U+FFFD: they are parse errors in HTML. */
static void esc(FILE *f, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                fputs("&#xFFFD;", f);
            else
                fputc(c, f);
        }
    }
}

/* A coordinate: never NaN or infinite (a browser reports those as console errors). */
static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

/* Writes a coordinate with one decimal at most: finer than a pixel is noise, and every byte
 * counts in a 100 000-job report. */
static void co(FILE *f, double v)
{
    v = fin(v);
    if (fabs(v - round(v)) < 0.05)
        fprintf(f, "%.0f", v);
    else
        fprintf(f, "%.1f", v);
}

static const char *secs(double s, char *buf, size_t len)
{
    return rapt__report_secs(s, buf, len);
}

static const char *bytes(double v, char *buf, size_t len)
{
    if (!isfinite(v) || v < 0)
        return "-";
    return rapt_size_format((uint64_t)llround(v), buf, len);
}

/* Sizes for tables and tooltips: 0 is shown as "-" too (a peak of 0 means "not measured"). */
static const char *u64size(uint64_t v, char *buf, size_t len)
{
    if (v == RAPT__R_NONE || v == 0)
        return "-";
    return rapt_size_format(v, buf, len);
}

/* ---- plot frame -------------------------------------------------------------------------- */

/* A chart's plot area and its domains. px/py map data to SVG units and clamp to the area, so a
 * stray value draws at the edge instead of outside the frame. */
typedef struct plot {
    FILE *f;
    double x, y, w, h; /* plot area */
    double t0, t1;     /* x domain */
    double v0, v1;     /* y domain */
} plot;

static double px(const plot *p, double t)
{
    double s = p->t1 - p->t0;
    double x = p->x + (s > 0 ? (t - p->t0) / s : 0) * p->w;
    return fin(fmin(fmax(x, p->x), p->x + p->w));
}

static double py(const plot *p, double v)
{
    double s = p->v1 - p->v0;
    double y = p->y + p->h - (s > 0 ? (v - p->v0) / s : 0) * p->h;
    return fin(fmin(fmax(y, p->y), p->y + p->h));
}

enum axis_kind { AX_TIME, AX_BYTES, AX_COUNT, AX_PCT };

/* A "nice" tick step: 1, 2 or 5 times a power of ten, giving at most `n` ticks up to `span`. */
static double nice_step(double span, int n)
{
    if (!(span > 0))
        return 1;
    double raw = span / n;
    double mag = pow(10, floor(log10(raw)));
    double steps[] = {1, 2, 5, 10};
    for (unsigned i = 0; i < RAPT__ARRAY_SIZE(steps); i++)
        if (steps[i] * mag >= raw)
            return steps[i] * mag;
    return 10 * mag;
}

/* Durations read best on 1-2-5 seconds below a minute and on minute/hour multiples above. */
static double time_step(double span)
{
    static const double steps[] = {60,   120,   300,   600,   900,   1800,   3600,
                                   7200, 10800, 21600, 43200, 86400, 172800, 604800};
    if (span <= 480)
        return nice_step(span, 8);
    for (unsigned i = 0; i < RAPT__ARRAY_SIZE(steps); i++)
        if (span / steps[i] <= 8)
            return steps[i];
    return nice_step(span, 8);
}

/* Byte axes tick on powers of two, so labels read "256 MiB", "512 MiB", "768 MiB". */
static double bytes_step(double span)
{
    double s = 1;
    while (span / s > 8)
        s *= 2;
    return s;
}

/* Tick labels in the unit of the axis. */
static void tick_label(FILE *f, enum axis_kind k, double v)
{
    char b[32];
    switch (k) {
    case AX_TIME: fputs(secs(v, b, sizeof(b)), f); break;
    case AX_BYTES: fputs(bytes(v, b, sizeof(b)), f); break;
    case AX_PCT: fprintf(f, "%.0f%%", v); break;
    case AX_COUNT: fprintf(f, "%g", v); break;
    }
}

/* Time ticks `dy` below the plot area. */
static void x_axis(const plot *p, double dy)
{
    FILE *f = p->f;
    double span = p->t1 - p->t0;
    double step = time_step(span);
    fprintf(f, "<g class=\"ax\">");
    for (int i = 0; i <= 40; i++) {
        double v = i * step;
        if (v > span * 1.0001)
            break;
        double x = px(p, p->t0 + v);
        fprintf(f, "<line x1=\"");
        co(f, x);
        fprintf(f, "\" x2=\"");
        co(f, x);
        fprintf(f, "\" y1=\"");
        co(f, p->y + p->h + dy);
        fprintf(f, "\" y2=\"");
        co(f, p->y + p->h + dy + 4);
        fprintf(f, "\"/><text x=\"");
        co(f, x);
        fprintf(f, "\" y=\"");
        co(f, p->y + p->h + dy + 15);
        fprintf(f, "\" text-anchor=\"middle\">");
        tick_label(f, AX_TIME, v);
        fprintf(f, "</text>");
    }
    fprintf(f, "</g>\n");
}

/* Value ticks with grid lines across the plot. */
static void y_axis(const plot *p, enum axis_kind k)
{
    FILE *f = p->f;
    double span = p->v1 - p->v0;
    double step = k == AX_BYTES ? bytes_step(span) : nice_step(span, 5);
    fprintf(f, "<g class=\"ax\">");
    for (int i = 0; i <= 40; i++) {
        double v = p->v0 + i * step;
        if (v > p->v1 * 1.0001 + 1e-12)
            break;
        double y = py(p, v);
        fprintf(f, "<line class=\"grid\" x1=\"");
        co(f, p->x);
        fprintf(f, "\" x2=\"");
        co(f, p->x + p->w);
        fprintf(f, "\" y1=\"");
        co(f, y);
        fprintf(f, "\" y2=\"");
        co(f, y);
        fprintf(f, "\"/><text x=\"");
        co(f, p->x - 6);
        fprintf(f, "\" y=\"");
        co(f, y + 4);
        fprintf(f, "\" text-anchor=\"end\">");
        tick_label(f, k, v);
        fprintf(f, "</text>");
    }
    fprintf(f, "</g>\n");
}

/* The plot area's border. */
static void frame(const plot *p)
{
    fprintf(p->f, "<rect class=\"frame\" x=\"");
    co(p->f, p->x);
    fprintf(p->f, "\" y=\"");
    co(p->f, p->y);
    fprintf(p->f, "\" width=\"");
    co(p->f, p->w);
    fprintf(p->f, "\" height=\"");
    co(p->f, p->h);
    fprintf(p->f, "\"/>\n");
}

/* Every chart is a fixed-width viewBox scaled to the page by CSS; aria-label names it for
 * screen readers. */
static void svg_open(FILE *f, double h, const char *label)
{
    fprintf(f, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", PAGE_W, fin(h));
    esc(f, label);
    fprintf(f, "\">\n");
}

/* A legend entry at (x, y): a swatch of class or colour, then the label. Returns the x after it. */
static double legend(FILE *f, double x, double y, const char *cls, const char *color,
                     const char *label)
{
    fprintf(f, "<rect x=\"");
    co(f, x);
    fprintf(f, "\" y=\"");
    co(f, y - 9);
    fprintf(f, "\" width=\"10\" height=\"10\"");
    if (cls)
        fprintf(f, " class=\"%s\"", cls);
    if (color)
        fprintf(f, " fill=\"%s\"", color);
    fprintf(f, "/><text x=\"");
    co(f, x + 14);
    fprintf(f, "\" y=\"");
    co(f, y);
    fprintf(f, "\">");
    esc(f, label);
    fprintf(f, "</text>\n");
    return x + 22 + 6.2 * (double)strlen(label);
}

/* Adds each attempt's overlap with [t0, t1) bins of width bw to acc[bin] scaled by `weight`
 * per second. */
static void spread_bins(double *acc, unsigned nb, double t0, double bw, double start, double end,
                        double weight)
{
    if (!(end > start) || !(bw > 0))
        return;
    double fb = (start - t0) / bw, lb = (end - t0) / bw;
    long b0 = (long)floor(fb), b1 = (long)floor(lb);
    if (b0 < 0)
        b0 = 0;
    if (b1 >= (long)nb)
        b1 = (long)nb - 1;
    for (long b = b0; b <= b1; b++) {
        double s = fmax(start, t0 + (double)b * bw), e = fmin(end, t0 + (double)(b + 1) * bw);
        if (e > s)
            acc[b] += (e - s) * weight;
    }
}

/* ---- Gantt ------------------------------------------------------------------------------- */

static const char *const out_cls[RAPT__O_N] = {"s", "f", "r", "q", "u"};

/* The timeline: one row per slot (per group of slots above GANTT_LINES rows). Small runs get a
 * bar per attempt with a tooltip; large ones per-row time bins, each coloured by the outcome
 * that used most of it and shaded by how busy the row was, merged into runs of equal bins, so
 * the element count is bounded by rows x GANTT_BINS whatever the number of jobs. */
static void gantt(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    uint32_t rows = RAPT__MAX(an->rows, 1u);
    uint32_t group = (rows + GANTT_LINES - 1) / GANTT_LINES;
    uint32_t lines = (rows + group - 1) / group;
    double rowh = fmin(16, fmax(4, 360.0 / lines));
    plot p = {.f = f,
              .x = MARGIN_L,
              .y = 8,
              .w = PAGE_W - MARGIN_L - MARGIN_R,
              .h = rowh * lines,
              .t0 = an->t0,
              .t1 = an->t_end,
              .v0 = 0,
              .v1 = lines};
    char b1[32], b2[32];
    fprintf(f, "<section id=\"timeline\"><h2>Timeline: jobs per slot</h2>\n");
    if (r->natt == 0) {
        fprintf(f, "<p class=\"none\">No job ended or started in the events.</p></section>\n");
        return;
    }
    fprintf(f, "<p class=\"note\">");
    if (r->natt <= GANTT_DETAIL)
        fprintf(f, "One bar per attempt (hover for details).");
    else
        fprintf(f,
                "%zu attempts, aggregated: each row is divided into %d time bins; a bin's "
                "colour is the outcome that used most of it, its opacity how busy the row was. "
                "Failed attempts are marked below the rows.",
                r->natt, GANTT_BINS);
    if (group > 1)
        fprintf(f, " %u slots per row.", group);
    fprintf(f, "</p>\n");
    svg_open(f, p.y + p.h + 46, "Gantt chart of jobs per slot over time");
    frame(&p);
    /* Row labels: every row when they fit, else every k-th. */
    unsigned every = (unsigned)ceil(12.0 / rowh);
    fprintf(f, "<g class=\"ax\">");
    for (uint32_t l = 0; l < lines; l += every) {
        fprintf(f, "<text x=\"");
        co(f, p.x - 6);
        fprintf(f, "\" y=\"");
        co(f, p.y + rowh * l + rowh / 2 + 4);
        if (group > 1)
            fprintf(f, "\" text-anchor=\"end\">%u-%u</text>", l * group + 1,
                    RAPT__MIN((l + 1) * group, rows));
        else
            fprintf(f, "\" text-anchor=\"end\">%u</text>", l + 1);
    }
    fprintf(f, "</g>\n");
    double bh = fmax(rowh - 1.5, 2);
    if (r->natt <= GANTT_DETAIL) {
        fprintf(f, "<g class=\"gd\">\n");
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            double x0 = px(&p, a->start), x1 = px(&p, a->start + a->wall);
            fprintf(f, "<rect class=\"%s\" x=\"", out_cls[a->outcome]);
            co(f, x0);
            fprintf(f, "\" y=\"");
            co(f, p.y + rowh * (double)(a->row / group) + 0.75); /* the row's line */
            fprintf(f, "\" width=\"");
            co(f, fmax(x1 - x0, 0.6));
            fprintf(f, "\" height=\"");
            co(f, bh);
            fprintf(f, "\"><title>job %u", a->seq);
            if (a->attempt > 1)
                fprintf(f, " (attempt %u)", a->attempt);
            if (a->stage) {
                fprintf(f, ", stage ");
                esc(f, rapt__report_stage_name(r, a->stage));
            }
            fprintf(f, ": %s, %s, peak %s", rapt__r_outcome_names[a->outcome],
                    secs(a->wall, b1, sizeof(b1)), u64size(a->peak, b2, sizeof(b2)));
            if (a->outcome == RAPT__O_FAILED && a->exit > 0)
                fprintf(f, ", exit %d", a->exit);
            if (a->signal)
                fprintf(f, ", signal %u", a->signal);
            fprintf(f, "</title></rect>\n");
        }
        fprintf(f, "</g>\n");
    } else {
        double span = an->t_end - an->t0;
        double bw = span > 0 ? span / GANTT_BINS : 1;
        size_t cells = (size_t)lines * GANTT_BINS * RAPT__O_N;
        double *busy = calloc(cells, sizeof(*busy));
        if (!busy) {
            fprintf(f,
                    "</svg><p class=\"none\">Out of memory drawing the timeline.</p></section>\n");
            return;
        }
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            double *row = busy + (size_t)(a->row / group) * GANTT_BINS * RAPT__O_N;
            /* one accumulator array per outcome, interleaved by bin */
            double fb = (a->start - an->t0) / bw, lb = (a->start + a->wall - an->t0) / bw;
            long b0 = (long)floor(fb), b1l = (long)floor(lb);
            b0 = b0 < 0 ? 0 : b0;
            b1l = b1l >= GANTT_BINS ? GANTT_BINS - 1 : b1l;
            for (long b = b0; b <= b1l; b++) {
                double s = fmax(a->start, an->t0 + (double)b * bw);
                double e = fmin(a->start + a->wall, an->t0 + (double)(b + 1) * bw);
                if (e > s)
                    row[(size_t)b * RAPT__O_N + a->outcome] += e - s;
            }
        }
        /* A row's capacity per bin is the bin's width times the slots it stands for; busy time
         * over capacity gives the shade, quantised to four levels so equal neighbours merge. */
        double cap = bw * group;
        for (uint32_t l = 0; l < lines; l++) {
            const double *row = busy + (size_t)l * GANTT_BINS * RAPT__O_N;
            int run_cls = -1, run_lvl = 0, run_b0 = 0;
            for (int b = 0; b <= GANTT_BINS; b++) {
                int cls = -1, lvl = 0;
                if (b < GANTT_BINS) {
                    const double *c = row + (size_t)b * RAPT__O_N;
                    double tot = 0, best = 0;
                    for (int o = 0; o < RAPT__O_N; o++) {
                        tot += c[o];
                        if (c[o] > best) {
                            best = c[o];
                            cls = o;
                        }
                    }
                    /* Trouble stays visible: a failure, retry or requeue that takes a quarter
                     * of the bin's busy time colours it. */
                    for (int o = RAPT__O_FAILED; o <= RAPT__O_REQUEUED; o++)
                        if (c[o] >= 0.25 * tot && c[o] > 0) {
                            cls = o;
                            break;
                        }
                    double frac = cap > 0 ? tot / cap : 0;
                    lvl = frac < 0.02    ? 0
                          : frac < 0.375 ? 1
                          : frac < 0.625 ? 2
                          : frac < 0.875 ? 3
                                         : 4;
                    if (lvl == 0)
                        cls = -1;
                }
                if (cls == run_cls && lvl == run_lvl)
                    continue;
                if (run_cls >= 0) {
                    fprintf(f, "<rect class=\"%s o%d\" x=\"", out_cls[run_cls], run_lvl);
                    co(f, p.x + p.w * run_b0 / GANTT_BINS);
                    fprintf(f, "\" y=\"");
                    co(f, p.y + rowh * l + 0.75);
                    fprintf(f, "\" width=\"");
                    co(f, p.w * (b - run_b0) / GANTT_BINS);
                    fprintf(f, "\" height=\"");
                    co(f, bh);
                    fprintf(f, "\"/>\n");
                }
                run_cls = cls;
                run_lvl = lvl;
                run_b0 = b;
            }
        }
        free(busy);
        /* Failed attempts as ticks under the rows, so a few failures among 100 000 jobs are
         * not averaged away. */
        unsigned marks = 0;
        fprintf(f, "<g class=\"f\">");
        for (size_t i = 0; i < r->natt && marks < FAIL_MARKS; i++) {
            const rapt__ratt *a = &r->att[i];
            if (a->outcome != RAPT__O_FAILED)
                continue;
            marks++;
            fprintf(f, "<rect x=\"");
            co(f, px(&p, a->start + a->wall) - 0.5);
            fprintf(f, "\" y=\"");
            co(f, p.y + p.h + 20);
            fprintf(f, "\" width=\"1\" height=\"6\"/>");
        }
        fprintf(f, "</g>\n");
    }
    x_axis(&p, 0);
    double lx = p.x, ly = p.y + p.h + 40;
    for (int o = 0; o < RAPT__O_N; o++)
        lx = legend(f, lx, ly, out_cls[o], NULL, rapt__r_outcome_names[o]);
    fprintf(f, "</svg></section>\n");
}

/* ---- concurrency and admission ----------------------------------------------------------- */

static const char *const lim_color[RAPT__L_N] = {"#e8eaed", "#4c78a8", "#e45756", "#f58518",
                                                 "#54a24b", "#9aa0a6", "#777777"};

/* Per-bin figures from the downsampled series. A sample describes the state from its time
 * until the next sample (the last one until the run's last record), so each point is spread
 * over that span: sparse samples fill their bins instead of leaving gaps, dense ones average. */
typedef struct sbins {
    double lim[BINS][RAPT__L_N]; /* seconds in each limiting state */
    double used[BINS];           /* largest memory in use; NaN none */
    double budget[BINS];         /* smallest budget; NaN none */
    double cpu_acc[BINS], cpu_w[BINS];
} sbins;

static void sample_bins(const rapt_report *r, bool decisions, sbins *sb)
{
    const rapt__ranalysis *an = &r->an;
    double bw = an->makespan / BINS;
    memset(sb, 0, sizeof(*sb));
    for (int b = 0; b < BINS; b++)
        sb->used[b] = sb->budget[b] = NAN;
    if (!(bw > 0))
        return;
    for (size_t i = 0; i < r->nruns; i++) {
        const rapt__rrun *ru = &r->runs[i];
        const rapt__rseries *s = decisions ? &ru->decisions : &ru->samples;
        for (uint32_t k = 0; k < s->n; k++) {
            const rapt__rpoint *pt = &s->p[k];
            double a = pt->t0;
            double e = k + 1 < s->n ? s->p[k + 1].t0 : fmax(pt->t1, ru->last);
            if (!(e > a))
                e = a + bw / 2; /* a lone last point still shows */
            long b0 = (long)floor((a - an->t0) / bw), b1 = (long)floor((e - an->t0) / bw);
            b0 = b0 < 0 ? 0 : b0;
            b1 = b1 >= BINS ? BINS - 1 : b1;
            for (long b = b0; b <= b1; b++) {
                double ov =
                    fmin(e, an->t0 + (double)(b + 1) * bw) - fmax(a, an->t0 + (double)b * bw);
                if (!(ov > 0))
                    continue;
                for (int l = 0; l < RAPT__L_N; l++)
                    sb->lim[b][l] += (double)pt->limited[l] / (pt->raw ? pt->raw : 1) * ov;
                if (!isnan(pt->mem_used_max))
                    sb->used[b] =
                        isnan(sb->used[b]) ? pt->mem_used_max : fmax(sb->used[b], pt->mem_used_max);
                if (!isnan(pt->budget_min))
                    sb->budget[b] =
                        isnan(sb->budget[b]) ? pt->budget_min : fmin(sb->budget[b], pt->budget_min);
            }
            /* cpu_pct is what the jobs used since the previous sample (docs/events.md), so it
             * covers the time up to this point, not after it. */
            if (!pt->cpu_n)
                continue;
            double cpu = pt->cpu_sum / pt->cpu_n;
            double ca = k > 0 ? s->p[k - 1].t1 : isfinite(ru->started) ? ru->started : ru->first;
            double ce = pt->t1;
            if (!(ce > ca))
                continue;
            b0 = (long)floor((ca - an->t0) / bw);
            b1 = (long)floor((ce - an->t0) / bw);
            b0 = b0 < 0 ? 0 : b0;
            b1 = b1 >= BINS ? BINS - 1 : b1;
            for (long b = b0; b <= b1; b++) {
                double ov =
                    fmin(ce, an->t0 + (double)(b + 1) * bw) - fmax(ca, an->t0 + (double)b * bw);
                if (ov > 0) {
                    sb->cpu_acc[b] += cpu * ov;
                    sb->cpu_w[b] += ov;
                }
            }
        }
    }
}

/* Running jobs per bin (time-weighted mean, so short jobs count for what they occupied)
 * against the slots, and the strip of what limited admission under it. */
static void concurrency_chart(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    fprintf(f, "<section id=\"concurrency\"><h2>Concurrency and what limited admission</h2>\n");
    if (r->natt == 0 || !(an->makespan > 0)) {
        fprintf(f, "<p class=\"none\">Nothing ran long enough to plot.</p></section>\n");
        return;
    }
    double bw = an->makespan / BINS;
    double run[BINS] = {0};
    for (size_t i = 0; i < r->natt; i++)
        spread_bins(run, BINS, an->t0, bw, r->att[i].start, r->att[i].start + r->att[i].wall, 1);
    double ymax = an->slots;
    for (int b = 0; b < BINS; b++) {
        run[b] /= bw;
        ymax = fmax(ymax, run[b]);
    }
    plot p = {.f = f,
              .x = MARGIN_L,
              .y = 8,
              .w = PAGE_W - MARGIN_L - MARGIN_R,
              .h = 170,
              .t0 = an->t0,
              .t1 = an->t_end,
              .v0 = 0,
              .v1 = ceil(ymax * 1.1)};
    bool from_dec = an->samples == 0;
    bool have_lim = an->samples > 0 || an->share_from_decisions;
    fprintf(f,
            "<p class=\"note\">Running jobs (time-weighted mean per bin) against the %u "
            "slots; below, what kept the next job waiting, ",
            an->slots);
    if (!have_lim)
        fprintf(f, "unknown: the events hold no sample or decision records.");
    else if (from_dec)
        fprintf(f, "from the admission decisions (the events hold no samples).");
    else
        fprintf(f, "from %llu samples.", (unsigned long long)an->samples);
    fprintf(f, "</p>\n");
    svg_open(f, p.y + p.h + 76, "running jobs over time and what limited admission");
    frame(&p);
    y_axis(&p, AX_COUNT);
    fprintf(f, "<path class=\"area\" d=\"M");
    co(f, px(&p, an->t0));
    fputc(' ', f);
    co(f, py(&p, 0));
    for (int b = 0; b < BINS; b++) {
        fputs(" L", f);
        co(f, p.x + p.w * b / BINS);
        fputc(' ', f);
        co(f, py(&p, run[b]));
        fputs(" L", f);
        co(f, p.x + p.w * (b + 1) / BINS);
        fputc(' ', f);
        co(f, py(&p, run[b]));
    }
    fputs(" L", f);
    co(f, p.x + p.w);
    fputc(' ', f);
    co(f, py(&p, 0));
    fprintf(f, " Z\"/>\n<line class=\"limit\" x1=\"");
    co(f, p.x);
    fprintf(f, "\" x2=\"");
    co(f, p.x + p.w);
    fprintf(f, "\" y1=\"");
    co(f, py(&p, an->slots));
    fprintf(f, "\" y2=\"");
    co(f, py(&p, an->slots));
    fprintf(f, "\"/>\n");
    /* The admission strip under the plot: each bin coloured by the state that held most of
     * its time ("none": nothing kept a job waiting). */
    double sy = p.y + p.h + 4;
    sbins *sb = have_lim ? malloc(sizeof(*sb)) : NULL;
    if (sb) {
        sample_bins(r, from_dec, sb);
        int prev = -1, b0 = 0;
        for (int b = 0; b <= BINS; b++) {
            int best = -1;
            if (b < BINS) {
                double bv = 0;
                for (int l = 0; l < RAPT__L_N; l++)
                    if (sb->lim[b][l] > bv) {
                        bv = sb->lim[b][l];
                        best = l;
                    }
            }
            if (best == prev && b < BINS)
                continue;
            if (prev >= 0) {
                fprintf(f, "<rect fill=\"%s\" x=\"", lim_color[prev]);
                co(f, p.x + p.w * b0 / BINS);
                fprintf(f, "\" y=\"");
                co(f, sy);
                fprintf(f, "\" width=\"");
                co(f, p.w * (b - b0) / BINS);
                fprintf(f, "\" height=\"12\"><title>%s</title></rect>\n",
                        rapt__r_limited_names[prev]);
            }
            prev = best;
            b0 = b;
        }
        free(sb);
    }
    x_axis(&p, 18);
    double lx = p.x, ly = p.y + p.h + 60;
    lx = legend(f, lx, ly, "area", NULL, "running");
    lx = legend(f, lx, ly, NULL, "#333", "slots");
    for (int l = 0; l < RAPT__L_N && have_lim; l++) {
        if (!(an->share[l] > 0))
            continue;
        char lab[64];
        snprintf(lab, sizeof(lab), "%s %.0f%%", rapt__r_limited_names[l], an->share[l] * 100);
        lx = legend(f, lx, ly, NULL, lim_color[l], lab);
    }
    fprintf(f, "</svg></section>\n");
}

/* ---- memory ------------------------------------------------------------------------------ */

/* RSS points sorted by job, then time: one binary search finds a job's points. */
static int cmp_rss(const void *pa, const void *pb)
{
    const rapt__rrss *a = pa, *b = pb;
    if (a->run != b->run)
        return a->run < b->run ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return a->t < b->t ? -1 : a->t > b->t;
}

/* Stacking order of per-job areas: by row, then start, so a slot's jobs stack at one height. */
static int cmp_row_start(const void *pa, const void *pb, void *ctx)
{
    const rapt__ratt *att = ctx;
    const rapt__ratt *a = &att[*(const size_t *)pa], *b = &att[*(const size_t *)pb];
    if (a->row != b->row)
        return a->row < b->row ? -1 : 1;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* A job's memory in bin [s, e): its largest RSS sample in the bin; between samples the last
 * one before; before its first sample the first; with no samples at all its peak. */
static double job_mem(const rapt__ratt *a, const rapt__rrss *pts, size_t n, double s, double e)
{
    if (n == 0)
        return a->peak == RAPT__R_NONE ? 0 : (double)a->peak;
    double in = -1, before = -1;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].t < s)
            before = (double)pts[i].rss;
        else if (pts[i].t < e)
            in = fmax(in, (double)pts[i].rss);
    }
    if (in >= 0)
        return in;
    if (before >= 0)
        return before;
    return (double)pts[0].rss;
}

/* Memory over time as stacked areas (per job for small runs, per slot band for large ones),
 * with the measured total, the budget and the limit as lines. Each layer's value in a bin is a
 * time-weighted mean, so a job that occupied a tenth of a bin adds a tenth of its memory: the
 * stack's height is the mean memory held in the bin. */
static void memory_chart(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    char b1[32], b2[32];
    fprintf(f, "<section id=\"memory\"><h2>Memory over time</h2>\n");
    bool any_peak = false;
    for (size_t i = 0; i < r->natt && !any_peak; i++)
        any_peak = r->att[i].peak != RAPT__R_NONE;
    bool any_used = r->sample_mem_n > 0;
    if (!(an->makespan > 0) || (!any_peak && !any_used && r->nrss == 0)) {
        fprintf(f, "<p class=\"none\">The events carry no memory figures (peak_bytes, "
                   "sample.mem_used).</p></section>\n");
        return;
    }
    double bw = an->makespan / BINS;
    bool per_job = r->natt <= RAPT__R_MEMJOBS_MAX;
    size_t nlayers;
    uint32_t lines = RAPT__MAX(an->rows, 1u), lgroup = 1;
    if (per_job) {
        nlayers = r->natt;
    } else {
        lgroup = (lines + BAND_LINES - 1) / BAND_LINES;
        nlayers = (lines + lgroup - 1) / lgroup;
    }
    /* val[layer][bin]: the layer's time-weighted mean memory in the bin. */
    double *val = calloc(nlayers * BINS + 1, sizeof(*val));
    size_t *ord = malloc((r->natt + 1) * sizeof(*ord));
    rapt__rrss *pts = NULL;
    if (r->nrss > 0 && per_job && (pts = malloc(r->nrss * sizeof(*pts)))) {
        memcpy(pts, r->rss, r->nrss * sizeof(*pts));
        qsort(pts, r->nrss, sizeof(*pts), cmp_rss);
    }
    if (!val || !ord) {
        free(val);
        free(ord);
        free(pts);
        fprintf(f, "<p class=\"none\">Out of memory drawing the chart.</p></section>\n");
        return;
    }
    for (size_t i = 0; i < r->natt; i++)
        ord[i] = i;
    if (per_job) {
        qsort_r(ord, r->natt, sizeof(*ord), cmp_row_start, r->att);
        for (size_t k = 0; k < r->natt; k++) {
            const rapt__ratt *a = &r->att[ord[k]];
            /* This job's RSS points: the run of equal (run, seq) in the sorted copy, cut to the
             * attempt's lifetime (a retried job's earlier attempts have the same seq). */
            const rapt__rrss *jp = NULL;
            size_t jn = 0;
            if (pts) {
                size_t lo = 0, hi = r->nrss;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (pts[mid].run < a->run || (pts[mid].run == a->run && pts[mid].seq < a->seq))
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                size_t e = lo;
                while (e < r->nrss && pts[e].run == a->run && pts[e].seq == a->seq &&
                       pts[e].t <= a->start + a->wall + 1e-6)
                    e++;
                while (lo < e && pts[lo].t < a->start - 1e-6)
                    lo++;
                jp = pts + lo;
                jn = e - lo;
            }
            double end = a->start + a->wall;
            long b0 = (long)floor((a->start - an->t0) / bw), b1l = (long)floor((end - an->t0) / bw);
            b0 = b0 < 0 ? 0 : b0;
            b1l = b1l >= BINS ? BINS - 1 : b1l;
            for (long b = b0; b <= b1l; b++) {
                double s = an->t0 + (double)b * bw, e = s + bw;
                double ov = fmin(end, e) - fmax(a->start, s);
                if (ov > 0)
                    val[k * BINS + (size_t)b] = job_mem(a, jp, jn, s, e) * ov / bw;
            }
        }
    } else {
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            if (a->peak == RAPT__R_NONE)
                continue;
            size_t layer = (a->row / lgroup);
            spread_bins(val + layer * BINS, BINS, an->t0, bw, a->start, a->start + a->wall,
                        (double)a->peak / bw);
        }
    }
    /* Stack: cumulative tops per bin. */
    double top[BINS] = {0};
    for (size_t k = 0; k < nlayers; k++)
        for (int b = 0; b < BINS; b++)
            top[b] += val[k * BINS + (size_t)b];
    sbins *sbn = malloc(sizeof(*sbn));
    if (!sbn) {
        free(val);
        free(ord);
        free(pts);
        fprintf(f, "<p class=\"none\">Out of memory drawing the chart.</p></section>\n");
        return;
    }
    sample_bins(r, false, sbn);
    const double *used = sbn->used, *budget_b = sbn->budget;
    double ymax = 0, bmax = 0;
    for (int b = 0; b < BINS; b++) {
        ymax = fmax(ymax, top[b]);
        if (!isnan(used[b]))
            ymax = fmax(ymax, used[b]);
        if (!isnan(budget_b[b]))
            bmax = fmax(bmax, budget_b[b]);
    }
    bool budget = an->budget != RAPT__R_NONE && an->budget > 0;
    if (budget)
        bmax = fmax(bmax, (double)an->budget);
    /* The budget is drawn when the jobs used a visible part of it (a quarter): a real run of
     * small jobs on a large host would otherwise be a flat line under a 20 GiB budget. */
    double data_max = ymax;
    bool budget_on = bmax > 0 && bmax <= 4 * fmax(data_max, 1);
    if (budget_on)
        ymax = fmax(ymax, bmax);
    /* The limit is drawn when it is on the same scale; a 24 GiB host limit under 100 MiB of
     * jobs would flatten everything. */
    bool limit = an->limit != RAPT__R_NONE && (double)an->limit <= 1.6 * fmax(ymax, 1);
    if (limit)
        ymax = fmax(ymax, (double)an->limit);
    ymax = fmax(ymax * 1.08, 1024);
    plot p = {.f = f,
              .x = MARGIN_L,
              .y = 8,
              .w = PAGE_W - MARGIN_L - MARGIN_R,
              .h = 220,
              .t0 = an->t0,
              .t1 = an->t_end,
              .v0 = 0,
              .v1 = ymax};
    fprintf(f, "<p class=\"note\">");
    if (per_job)
        fprintf(f, "One stacked area per job (ordered by slot): its RSS from the samples where "
                   "there are any, else its peak over its lifetime.");
    else {
        if (lgroup > 1)
            fprintf(f, "%zu attempts: one stacked area per group of %u slots", r->natt, lgroup);
        else
            fprintf(f, "%zu attempts: one stacked area per slot", r->natt);
        fprintf(f, ", each job counted at its peak over its lifetime (an upper bound).");
    }
    if (any_used)
        fprintf(f, " The line is the memory the samples measured in use.");
    if (bmax > 0 && !budget_on)
        fprintf(f, " The budget (%s) is off the scale: the jobs held at most %.0f%% of it.",
                bytes(bmax, b1, sizeof(b1)), 100.0 * data_max / bmax);
    if (an->limit != RAPT__R_NONE && !limit)
        fprintf(f, " The limit (%s) is off the scale.", bytes((double)an->limit, b1, sizeof(b1)));
    fprintf(f, "</p>\n");
    svg_open(f, p.y + p.h + 46, "memory over time");
    frame(&p);
    y_axis(&p, AX_BYTES);
    double base[BINS] = {0};
    for (size_t k = 0; k < nlayers; k++) {
        const double *v = val + k * BINS;
        int first = -1, last = -1;
        for (int b = 0; b < BINS; b++)
            if (v[b] > 0) {
                if (first < 0)
                    first = b;
                last = b;
            }
        if (first < 0)
            continue;
        const char *color = palette[k % RAPT__ARRAY_SIZE(palette)];
        if (per_job) {
            const rapt__ratt *a = &r->att[ord[k]];
            color = palette[(a->seq + a->run) % RAPT__ARRAY_SIZE(palette)];
        }
        fprintf(f, "<path fill=\"%s\" d=\"M", color);
        /* the top edge left to right as steps, then the bottom edge back */
        for (int b = first; b <= last; b++) {
            if (b > first)
                fputs(" L", f);
            co(f, p.x + p.w * b / BINS);
            fputc(' ', f);
            co(f, py(&p, base[b] + v[b]));
            fputs(" L", f);
            co(f, p.x + p.w * (b + 1) / BINS);
            fputc(' ', f);
            co(f, py(&p, base[b] + v[b]));
        }
        for (int b = last; b >= first; b--) {
            fputs(" L", f);
            co(f, p.x + p.w * (b + 1) / BINS);
            fputc(' ', f);
            co(f, py(&p, base[b]));
            fputs(" L", f);
            co(f, p.x + p.w * b / BINS);
            fputc(' ', f);
            co(f, py(&p, base[b]));
        }
        fprintf(f, " Z\">");
        if (per_job) {
            const rapt__ratt *a = &r->att[ord[k]];
            fprintf(f, "<title>job %u: peak %s</title>", a->seq, u64size(a->peak, b2, sizeof(b2)));
        } else {
            fprintf(f, "<title>slots %u-%u</title>", (unsigned)(k * lgroup + 1),
                    (unsigned)RAPT__MIN((k + 1) * lgroup, lines));
        }
        fprintf(f, "</path>\n");
        for (int b = first; b <= last; b++)
            base[b] += v[b];
    }
    /* measured use */
    if (any_used) {
        fprintf(f, "<path class=\"used\" d=\"");
        bool pen = false;
        for (int b = 0; b < BINS; b++) {
            if (isnan(used[b])) {
                pen = false;
                continue;
            }
            fputs(pen ? " L" : " M", f);
            co(f, p.x + p.w * (b + 0.5) / BINS);
            fputc(' ', f);
            co(f, py(&p, used[b]));
            pen = true;
        }
        fprintf(f, "\"/>\n");
    }
    /* budget: from the samples where they have it, else the run's */
    bool sb = false;
    for (int b = 0; b < BINS; b++)
        sb |= !isnan(budget_b[b]);
    if (sb && budget_on) {
        fprintf(f, "<path class=\"budget\" d=\"");
        bool pen = false;
        for (int b = 0; b < BINS; b++) {
            if (isnan(budget_b[b])) {
                pen = false;
                continue;
            }
            fputs(pen ? " L" : " M", f);
            co(f, p.x + p.w * b / BINS);
            fputc(' ', f);
            co(f, py(&p, budget_b[b]));
            fputs(" L", f);
            co(f, p.x + p.w * (b + 1) / BINS);
            fputc(' ', f);
            co(f, py(&p, budget_b[b]));
            pen = true;
        }
        fprintf(f, "\"/>\n");
    } else if (budget && budget_on) {
        fprintf(f, "<line class=\"budget\" x1=\"");
        co(f, p.x);
        fprintf(f, "\" x2=\"");
        co(f, p.x + p.w);
        fprintf(f, "\" y1=\"");
        co(f, py(&p, (double)an->budget));
        fprintf(f, "\" y2=\"");
        co(f, py(&p, (double)an->budget));
        fprintf(f, "\"/>\n");
    }
    if (limit) {
        fprintf(f, "<line class=\"limit\" x1=\"");
        co(f, p.x);
        fprintf(f, "\" x2=\"");
        co(f, p.x + p.w);
        fprintf(f, "\" y1=\"");
        co(f, py(&p, (double)an->limit));
        fprintf(f, "\" y2=\"");
        co(f, py(&p, (double)an->limit));
        fprintf(f, "\"/>\n");
    }
    x_axis(&p, 0);
    double lx = p.x, ly = p.y + p.h + 40;
    lx = legend(f, lx, ly, NULL, palette[0], per_job ? "jobs (stacked)" : "slots (stacked)");
    if (any_used)
        lx = legend(f, lx, ly, NULL, "#222", "in use (samples)");
    if (budget_on) {
        char lab[64];
        snprintf(lab, sizeof(lab), "budget %s",
                 budget ? bytes((double)an->budget, b1, sizeof(b1)) : "");
        lx = legend(f, lx, ly, NULL, "#e45756", lab);
    }
    if (limit) {
        char lab[64];
        snprintf(lab, sizeof(lab), "limit %s", bytes((double)an->limit, b1, sizeof(b1)));
        legend(f, lx, ly, NULL, "#333", lab);
    }
    fprintf(f, "</svg></section>\n");
    free(val);
    free(ord);
    free(pts);
    free(sbn);
}

/* ---- CPU --------------------------------------------------------------------------------- */

/* CPU as a percentage of the effective CPUs: measured from the samples when there are any,
 * and always (when user/sys are known) each job's CPU time spread over its life, which shows
 * the same thing from the jobs' side. */
static void cpu_chart(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    fprintf(f, "<section id=\"cpu\"><h2>CPU over time</h2>\n");
    double bw = an->makespan / BINS;
    double est[BINS] = {0}, meas[BINS];
    bool any_est = false, any_meas = false;
    for (int b = 0; b < BINS; b++)
        meas[b] = NAN;
    if (an->makespan > 0) {
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            if (!isfinite(a->cpu) || !(a->wall > 0))
                continue;
            any_est = true;
            /* A job's CPU time spread evenly over its life: per second of wall, cpu/wall CPUs. */
            spread_bins(est, BINS, an->t0, bw, a->start, a->start + a->wall,
                        a->cpu / a->wall * 100.0 / an->cpus / bw);
        }
        sbins *sb = malloc(sizeof(*sb));
        if (sb) {
            sample_bins(r, false, sb);
            for (int b = 0; b < BINS; b++)
                if (sb->cpu_w[b] > 0) {
                    meas[b] = sb->cpu_acc[b] / sb->cpu_w[b];
                    any_meas = true;
                }
            free(sb);
        }
    }
    if (!any_est && !any_meas) {
        fprintf(f, "<p class=\"none\">The events carry no CPU figures (user_s, sys_s, "
                   "sample.cpu_pct).</p></section>\n");
        return;
    }
    double ymax = 100;
    for (int b = 0; b < BINS; b++) {
        ymax = fmax(ymax, est[b]);
        if (!isnan(meas[b]))
            ymax = fmax(ymax, meas[b]);
    }
    plot p = {.f = f,
              .x = MARGIN_L,
              .y = 8,
              .w = PAGE_W - MARGIN_L - MARGIN_R,
              .h = 170,
              .t0 = an->t0,
              .t1 = an->t_end,
              .v0 = 0,
              .v1 = ceil(ymax * 1.05 / 10) * 10};
    fprintf(f, "<p class=\"note\">Percent of the %u effective CPU%s. %s</p>\n", an->cpus,
            an->cpus == 1 ? "" : "s",
            any_meas ? "The area is what the samples measured; the line spreads each job's CPU "
                       "time evenly over its life."
                     : "Each job's CPU time spread evenly over its life (the events hold no "
                       "samples).");
    svg_open(f, p.y + p.h + 46, "CPU utilisation over time");
    frame(&p);
    y_axis(&p, AX_PCT);
    if (any_meas) {
        fprintf(f, "<path class=\"cpu\" d=\"M");
        co(f, p.x);
        fputc(' ', f);
        co(f, py(&p, 0));
        for (int b = 0; b < BINS; b++) {
            double last = isnan(meas[b]) ? 0 : meas[b];
            fputs(" L", f);
            co(f, p.x + p.w * b / BINS);
            fputc(' ', f);
            co(f, py(&p, last));
            fputs(" L", f);
            co(f, p.x + p.w * (b + 1) / BINS);
            fputc(' ', f);
            co(f, py(&p, last));
        }
        fputs(" L", f);
        co(f, p.x + p.w);
        fputc(' ', f);
        co(f, py(&p, 0));
        fprintf(f, " Z\"/>\n");
    }
    if (any_est) {
        fprintf(f, "<path class=\"%s\" d=\"M", any_meas ? "est" : "cpu");
        co(f, p.x);
        fputc(' ', f);
        co(f, py(&p, 0));
        for (int b = 0; b < BINS; b++) {
            fputs(" L", f);
            co(f, p.x + p.w * (b + 0.5) / BINS);
            fputc(' ', f);
            co(f, py(&p, est[b]));
        }
        if (!any_meas) {
            fputs(" L", f);
            co(f, p.x + p.w);
            fputc(' ', f);
            co(f, py(&p, 0));
            fputs(" Z", f);
        }
        fprintf(f, "\"/>\n");
    }
    fprintf(f, "<line class=\"limit\" x1=\"");
    co(f, p.x);
    fprintf(f, "\" x2=\"");
    co(f, p.x + p.w);
    fprintf(f, "\" y1=\"");
    co(f, py(&p, 100));
    fprintf(f, "\" y2=\"");
    co(f, py(&p, 100));
    fprintf(f, "\"/>\n");
    x_axis(&p, 0);
    double lx = p.x, ly = p.y + p.h + 40;
    if (any_meas)
        lx = legend(f, lx, ly, "cpu", NULL, "measured (samples)");
    if (any_est)
        lx = legend(f, lx, ly, NULL, any_meas ? "#222" : "#4c78a8", "from the jobs' CPU time");
    char lab[48];
    snprintf(lab, sizeof(lab), "100%% = %u CPU%s", an->cpus, an->cpus == 1 ? "" : "s");
    legend(f, lx, ly, NULL, "#333", lab);
    fprintf(f, "</svg></section>\n");
}

/* ---- peak memory against input size ------------------------------------------------------ */

/* Peak memory against input size: the data the memory model learns from, its fitted line per
 * stage and, when the runner predicted peaks, what it predicted. Only successful attempts
 * count: a killed attempt's peak is where it was stopped, not what it needed. */
static void model_chart(const rapt_report *r, FILE *f)
{
    char b1[32], b2[32], b3[32];
    fprintf(f, "<section id=\"model\"><h2>Peak memory against input size</h2>\n");
    size_t n = 0;
    double xmax = 0, ymax = 0;
    bool any_pred = false;
    for (size_t i = 0; i < r->natt; i++) {
        const rapt__ratt *a = &r->att[i];
        if (a->outcome != RAPT__O_SUCCESS || a->peak == RAPT__R_NONE || a->input == RAPT__R_NONE)
            continue;
        n++;
        xmax = fmax(xmax, (double)a->input);
        ymax = fmax(ymax, (double)a->peak);
        if (a->predicted != RAPT__R_NONE) {
            any_pred = true;
            ymax = fmax(ymax, (double)a->predicted);
        }
    }
    if (n == 0) {
        fprintf(f, "<p class=\"none\">No successful job has both input_bytes and peak_bytes.</p>"
                   "</section>\n");
        return;
    }
    xmax = fmax(xmax * 1.05, 1024);
    ymax = fmax(ymax * 1.1, 1024);
    plot p = {.f = f,
              .x = MARGIN_L,
              .y = 8,
              .w = PAGE_W - MARGIN_L - MARGIN_R,
              .h = 240,
              .t0 = 0,
              .t1 = xmax,
              .v0 = 0,
              .v1 = ymax};
    fprintf(f, "<p class=\"note\">%zu successful jobs. ", n);
    if (n > SCATTER_POINTS)
        fprintf(f, "Drawn as a density grid (darker: more jobs). ");
    fprintf(f,
            "Lines: the least-squares fit peak = gamma &#215; input + overhead per stage%s.</p>\n",
            any_pred ? "; dashed, the runner's predicted peaks" : "");
    svg_open(f, p.y + p.h + 46 + 16.0 * r->nstages, "peak memory against input size");
    frame(&p);
    y_axis(&p, AX_BYTES);
    /* x axis in bytes */
    fprintf(f, "<g class=\"ax\">");
    double step = bytes_step(xmax);
    for (int i = 0; i <= 40 && i * step <= xmax; i++) {
        double x = px(&p, i * step);
        fprintf(f, "<text x=\"");
        co(f, x);
        fprintf(f, "\" y=\"");
        co(f, p.y + p.h + 15);
        fprintf(f, "\" text-anchor=\"middle\">%s</text>", bytes(i * step, b1, sizeof(b1)));
    }
    fprintf(f, "</g>\n");
    if (n <= SCATTER_POINTS) {
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            if (a->outcome != RAPT__O_SUCCESS || a->peak == RAPT__R_NONE ||
                a->input == RAPT__R_NONE)
                continue;
            fprintf(f, "<circle r=\"2.5\" fill=\"%s\" cx=\"",
                    palette[a->stage % RAPT__ARRAY_SIZE(palette)]);
            co(f, px(&p, (double)a->input));
            fprintf(f, "\" cy=\"");
            co(f, py(&p, (double)a->peak));
            fprintf(f, "\"><title>job %u: input %s, peak %s</title></circle>\n", a->seq,
                    u64size(a->input, b1, sizeof(b1)), u64size(a->peak, b2, sizeof(b2)));
        }
    } else {
        unsigned *grid = calloc(GRID_X * GRID_Y, sizeof(*grid));
        if (grid) {
            unsigned cmax = 0;
            for (size_t i = 0; i < r->natt; i++) {
                const rapt__ratt *a = &r->att[i];
                if (a->outcome != RAPT__O_SUCCESS || a->peak == RAPT__R_NONE ||
                    a->input == RAPT__R_NONE)
                    continue;
                int gx = (int)((double)a->input / xmax * GRID_X);
                int gy = (int)((double)a->peak / ymax * GRID_Y);
                gx = gx < 0 ? 0 : gx >= GRID_X ? GRID_X - 1 : gx;
                gy = gy < 0 ? 0 : gy >= GRID_Y ? GRID_Y - 1 : gy;
                unsigned c = ++grid[gy * GRID_X + gx];
                cmax = RAPT__MAX(cmax, c);
            }
            double cw = p.w / GRID_X, ch = p.h / GRID_Y;
            for (int gy = 0; gy < GRID_Y; gy++)
                for (int gx = 0; gx < GRID_X; gx++) {
                    unsigned c = grid[gy * GRID_X + gx];
                    if (!c)
                        continue;
                    double op = 0.15 + 0.85 * log1p(c) / log1p(cmax);
                    fprintf(f, "<rect class=\"dens\" fill-opacity=\"%.2f\" x=\"", op);
                    co(f, p.x + gx * cw);
                    fprintf(f, "\" y=\"");
                    co(f, p.y + p.h - (gy + 1) * ch);
                    fprintf(f, "\" width=\"");
                    co(f, cw);
                    fprintf(f, "\" height=\"");
                    co(f, ch);
                    fprintf(f, "\"><title>%u jobs</title></rect>\n", c);
                }
            free(grid);
        }
    }
    /* predicted peaks: the mean prediction in 40 input-size bins, as a dashed line */
    if (any_pred) {
        enum { PB = 40 };
        double sum[PB] = {0}, cnt[PB] = {0};
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            if (a->outcome != RAPT__O_SUCCESS || a->predicted == RAPT__R_NONE ||
                a->input == RAPT__R_NONE || a->peak == RAPT__R_NONE)
                continue;
            int b = (int)((double)a->input / xmax * PB);
            b = b < 0 ? 0 : b >= PB ? PB - 1 : b;
            sum[b] += (double)a->predicted;
            cnt[b]++;
        }
        fprintf(f, "<path class=\"pred\" d=\"");
        bool pen = false;
        for (int b = 0; b < PB; b++) {
            if (!cnt[b])
                continue;
            fputs(pen ? " L" : "M", f);
            co(f, px(&p, (b + 0.5) * xmax / PB));
            fputc(' ', f);
            co(f, py(&p, sum[b] / cnt[b]));
            pen = true;
        }
        fprintf(f, "\"/>\n");
    }
    double ly = p.y + p.h + 40;
    for (unsigned s = 0; s < r->nstages; s++) {
        const rapt__rstage *st = &r->st[s];
        if (!isfinite(st->gamma))
            continue;
        double lo = INFINITY, hi = 0;
        for (size_t i = 0; i < r->natt; i++) {
            const rapt__ratt *a = &r->att[i];
            if (a->stage == s && a->outcome == RAPT__O_SUCCESS && a->input != RAPT__R_NONE &&
                a->peak != RAPT__R_NONE) {
                lo = fmin(lo, (double)a->input);
                hi = fmax(hi, (double)a->input);
            }
        }
        if (!isfinite(lo))
            continue;
        const char *color = palette[s % RAPT__ARRAY_SIZE(palette)];
        fprintf(f, "<line class=\"fit\" stroke=\"%s\" x1=\"", color);
        co(f, px(&p, lo));
        fprintf(f, "\" y1=\"");
        co(f, py(&p, st->gamma * lo + st->overhead));
        fprintf(f, "\" x2=\"");
        co(f, px(&p, hi));
        fprintf(f, "\" y2=\"");
        co(f, py(&p, st->gamma * hi + st->overhead));
        fprintf(f, "\"/>\n");
        char lab[200];
        snprintf(lab, sizeof(lab), "%s: peak = %.3g x input %s %s (R2 %.2f, %llu jobs)",
                 rapt__report_stage_name(r, s), st->gamma, st->overhead < 0 ? "-" : "+",
                 bytes(fabs(st->overhead), b3, sizeof(b3)), st->r2, (unsigned long long)st->fit_n);
        legend(f, p.x, ly, NULL, color, lab);
        ly += 16;
    }
    fprintf(f, "</svg></section>\n");
}

/* ---- tables ------------------------------------------------------------------------------ */

static void row_kv(FILE *f, const char *k, const char *fmt, ...) RAPT__PRINTF(3, 4);

/* One row of a two-column table; the value is escaped. */
static void row_kv(FILE *f, const char *k, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(f, "<tr><th>%s</th><td>", k);
    esc(f, buf);
    fprintf(f, "</td></tr>\n");
}

/* "12.3%" of a fraction, "-" when unknown. */
static const char *pct_s(double frac, char *buf, size_t len)
{
    if (!isfinite(frac))
        return "-";
    snprintf(buf, len, "%.1f%%", frac * 100);
    return buf;
}

/* The figures of the text summary as a table. */
static void summary_table(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    char b1[32], b2[32], b3[32], b4[32];
    fprintf(f, "<section id=\"summary\"><h2>Summary</h2><table class=\"kv\">\n");
    row_kv(f, "jobs", "%llu: %llu succeeded, %llu failed, %llu unfinished",
           (unsigned long long)an->jobs, (unsigned long long)an->succeeded,
           (unsigned long long)an->failed, (unsigned long long)an->unfinished);
    row_kv(f, "attempts", "%llu: %llu retried, %llu requeued, %llu OOM-killed, %llu timed out",
           (unsigned long long)an->attempts, (unsigned long long)an->retried,
           (unsigned long long)an->requeued, (unsigned long long)an->oom,
           (unsigned long long)an->timeouts);
    row_kv(f, "makespan", "%s", secs(an->makespan, b1, sizeof(b1)));
    row_kv(f, "CPU utilisation", "%s of %u CPU%s (%.1f CPU-seconds)",
           pct_s(an->cpu_util, b1, sizeof(b1)), an->cpus, an->cpus == 1 ? "" : "s", an->cpu_s);
    row_kv(f, "slots", "%.1f of %u busy on average (%s); at most %u; 90%% of the time <= %u",
           fin(an->mean_running), an->slots, pct_s(an->slot_util, b1, sizeof(b1)), an->max_running,
           an->p90_running);
    char b5[32];
    row_kv(f, "memory", "limit %s, budget %s; %s %s; job peaks %s median, %s max",
           u64size(an->limit, b1, sizeof(b1)), u64size(an->budget, b2, sizeof(b2)),
           isfinite(an->used_max) ? "in use at most" : "running jobs' peaks summed to at most",
           bytes(isfinite(an->used_max) ? an->used_max : an->peak_sum_max, b3, sizeof(b3)),
           u64size(an->peak_p50, b4, sizeof(b4)), u64size(an->peak_max, b5, sizeof(b5)));
    if (isfinite(an->mem_util))
        row_kv(f, "memory utilisation", "%.0f%% of the budget at the peak", an->mem_util * 100);
    row_kv(f, "runtime", "mean %s, median %s, p95 %s, max %s", secs(an->wall_mean, b1, sizeof(b1)),
           secs(an->wall_p50, b2, sizeof(b2)), secs(an->wall_p95, b3, sizeof(b3)),
           secs(an->wall_max, b4, sizeof(b4)));
    if (isfinite(an->spread))
        row_kv(f, "runtime spread", "%.1fx (longest / median)", an->spread);
    if (an->tail_known && an->tail_s > 0.01 * an->makespan)
        row_kv(f, "tail",
               "%s (%.0f%% of the run) after the first slot ran out of work; "
               "simulated %s in this order, %s longest first",
               secs(an->tail_s, b1, sizeof(b1)), an->tail_fraction * 100,
               secs(an->sim_actual, b2, sizeof(b2)), secs(an->sim_lpt, b3, sizeof(b3)));
    fprintf(f, "</table></section>\n");
}

/* The verdict first: the bottleneck and the recommendations, most severe first. */
static void recs_section(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    fprintf(f, "<section id=\"findings\"><h2>Bottleneck: <span class=\"bn\">%s</span></h2>\n",
            an->bottleneck);
    if (an->nrecs == 0) {
        fprintf(f, "<p>No recommendation: nothing stood out.</p></section>\n");
        return;
    }
    fprintf(f, "<ol class=\"recs\">\n");
    for (unsigned i = 0; i < an->nrecs; i++) {
        const rapt__rrec *rec = &an->recs[i];
        fprintf(f, "<li class=\"%s\"><span class=\"sev\">%s</span> <code>%s</code> ", rec->severity,
                rec->severity, rec->id);
        esc(f, rec->text);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ol></section>\n");
}

/* The slowest attempts (over 1.5 x the mean) with their commands. */
static void slowest_table(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    char b1[32], b2[32];
    fprintf(f, "<section id=\"slowest\"><h2>Slowest jobs</h2>\n");
    if (an->slow_count == 0) {
        fprintf(f, "<p>No attempt took more than 1.5 &#215; the mean (%s).</p></section>\n",
                secs(an->wall_mean, b1, sizeof(b1)));
        return;
    }
    fprintf(f, "<p>%llu attempt%s took more than 1.5 &#215; the mean %s (%s)%s.</p>\n",
            (unsigned long long)an->slow_count, an->slow_count == 1 ? "" : "s",
            secs(an->wall_mean, b1, sizeof(b1)), secs(an->slow_threshold, b2, sizeof(b2)),
            an->slow_count > an->nslow ? "; the longest are listed" : "");
    fprintf(f, "<table><tr><th>job</th><th>attempt</th><th>stage</th><th>wall</th>"
               "<th>&#215; mean</th><th>peak</th><th>outcome</th><th>command</th></tr>\n");
    for (size_t i = 0; i < an->nslow; i++) {
        const rapt__ratt *a = &r->att[an->slow[i]];
        fprintf(f, "<tr><td>%u</td><td>%u</td><td>", a->seq, a->attempt);
        esc(f, rapt__report_stage_name(r, a->stage));
        fprintf(f, "</td><td>%s</td><td>%.1f</td><td>%s</td><td class=\"%s\">%s</td><td><code>",
                secs(a->wall, b1, sizeof(b1)), a->wall / an->wall_mean,
                u64size(a->peak, b2, sizeof(b2)), out_cls[a->outcome],
                rapt__r_outcome_names[a->outcome]);
        esc(f, rapt__report_cmd(r, an->slow[i]));
        fprintf(f, "</code></td></tr>\n");
    }
    fprintf(f, "</table></section>\n");
}

/* One row per target with the counts behind its status. */
static void sla_table(const rapt_report *r, FILE *f)
{
    char b1[32], b2[32], b3[32];
    fprintf(f, "<section id=\"sla\"><h2>SLA</h2>\n");
    if (r->nslas == 0) {
        fprintf(f,
                "<p>No target was set (--sla DURATION or --sla STAGE=DURATION).</p></section>\n");
        return;
    }
    fprintf(f,
            "<p>A job's time runs from its first attempt's start to its last attempt's end; "
            "above %.0f%% of the target is a warning, above the target a violation.</p>\n",
            RAPT_REPORT_SLA_WARN * 100);
    fprintf(f, "<table><tr><th>scope</th><th>target</th><th>jobs</th><th>ok</th><th>warning</th>"
               "<th>violated</th><th>p95</th><th>worst</th><th>status</th></tr>\n");
    for (size_t i = 0; i < r->nslas; i++) {
        const rapt__rsla *s = &r->slas[i];
        const char *st = s->violated ? "violated"
                         : s->warned ? "warning"
                         : s->jobs   ? "ok"
                                     : "no jobs";
        fprintf(f, "<tr><td>");
        esc(f, s->stage_name ? s->stage_name : "every job");
        fprintf(f,
                "</td><td>%s</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
                "<td>%s</td><td>%s",
                secs(s->target, b1, sizeof(b1)), (unsigned long long)s->jobs,
                (unsigned long long)s->ok, (unsigned long long)s->warned,
                (unsigned long long)s->violated, secs(s->p95, b2, sizeof(b2)),
                s->jobs ? secs(s->worst, b3, sizeof(b3)) : "-");
        if (s->jobs)
            fprintf(f, " (job %u)", s->worst_seq);
        fprintf(f, "</td><td class=\"st-%s\">%s</td></tr>\n",
                s->violated ? "bad"
                : s->warned ? "warn"
                            : "ok",
                st);
    }
    fprintf(f, "</table></section>\n");
}

/* Per-stage metrics, including each stage's memory model and target. */
static void stages_table(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
    fprintf(f, "<section id=\"stages\"><h2>Stages</h2>\n");
    fprintf(f, "<table><tr><th>stage</th><th>jobs</th><th>ok</th><th>failed</th><th>attempts</th>"
               "<th>start</th><th>span</th><th>mean</th><th>p95</th><th>max</th><th>CPU-s</th>"
               "<th>peak max</th><th>model</th><th>SLA</th></tr>\n");
    for (unsigned s = 0; s < r->nstages; s++) {
        const rapt__rstage *st = &r->st[s];
        if (st->attempts == 0)
            continue;
        fprintf(f, "<tr><td>");
        esc(f, rapt__report_stage_name(r, s));
        fprintf(f,
                "</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>+%s</td>"
                "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.1f</td><td>%s</td><td>",
                (unsigned long long)st->jobs, (unsigned long long)st->succeeded,
                (unsigned long long)st->failed, (unsigned long long)st->attempts,
                secs(st->first - an->t0, b1, sizeof(b1)),
                secs(st->last - st->first, b2, sizeof(b2)), secs(st->wall_mean, b3, sizeof(b3)),
                secs(st->wall_p95, b4, sizeof(b4)), secs(st->wall_max, b5, sizeof(b5)), st->cpu_s,
                u64size(st->peak_max, b6, sizeof(b6)));
        if (isfinite(st->gamma))
            fprintf(f, "%.3g &#215; input %s %s", st->gamma, st->overhead < 0 ? "-" : "+",
                    bytes(fabs(st->overhead), b1, sizeof(b1)));
        else
            fputs("-", f);
        fprintf(f, "</td><td>%s</td></tr>\n",
                st->sla >= 0 ? secs(r->slas[st->sla].target, b2, sizeof(b2)) : "-");
    }
    fprintf(f, "</table></section>\n");
}

/* Each run with its settings: the context the figures above were measured in. */
static void runs_table(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    char b1[32], b2[32], b3[32], b4[32];
    fprintf(f, "<section id=\"runs\"><h2>Runs</h2>\n<table><tr><th>run</th><th>host</th>"
               "<th>command</th><th>slots</th><th>CPUs</th><th>limit</th><th>budget</th>"
               "<th>start</th><th>duration</th><th>end</th></tr>\n");
    for (size_t i = 0; i < r->nruns; i++) {
        const rapt__rrun *ru = &r->runs[i];
        fprintf(f, "<tr><td>");
        esc(f, ru->run_id ? ru->run_id : "(no run_start)");
        fprintf(f, "</td><td>");
        esc(f, ru->host ? ru->host : "");
        fprintf(f, "</td><td><code>");
        esc(f, ru->command ? ru->command : "");
        fprintf(f,
                "</code></td><td>%u</td><td>%u</td><td>%s</td><td>%s</td><td>+%s</td><td>%s</td>"
                "<td>",
                ru->slots, ru->cpus, u64size(ru->mem_limit, b1, sizeof(b1)),
                u64size(ru->mem_budget, b2, sizeof(b2)),
                secs(isfinite(ru->first) ? ru->first - an->t0 : NAN, b3, sizeof(b3)),
                secs(isfinite(ru->first) ? ru->last - ru->first : NAN, b4, sizeof(b4)));
        if (ru->ended) {
            esc(f, ru->end_reason);
            fprintf(f, ", exit %lld", (long long)ru->end_exit);
        } else {
            fputs("no run_end", f);
        }
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table></section>\n");
}

/* What was read and what was skipped, so a report of a damaged file says so on the page. */
static void input_section(const rapt_report *r, FILE *f)
{
    const rapt_report_input *in = &r->in;
    fprintf(f, "<section id=\"input\"><h2>Input</h2><p>%llu lines, %llu records used",
            (unsigned long long)in->lines, (unsigned long long)in->records);
    if (in->bad_lines) {
        fprintf(f, "; <strong>%llu skipped</strong>, the first at ",
                (unsigned long long)in->bad_lines);
        esc(f, in->first_bad_file);
        fprintf(f, ":%llu: ", (unsigned long long)in->first_bad_line);
        esc(f, in->first_bad_why);
    }
    if (in->newer_records)
        fprintf(f,
                "; <strong>%llu records of schema version %lld skipped</strong> (this rapt "
                "reads version %d)",
                (unsigned long long)in->newer_records, (long long)in->newest_version,
                RAPT_REPORT_EVENTS_VERSION);
    if (in->truncated)
        fprintf(f, "; <strong>the last line was cut off</strong>");
    if (in->unknown_records)
        fprintf(f, "; %llu records of unknown types ignored",
                (unsigned long long)in->unknown_records);
    if (in->runs_ended < in->runs)
        fprintf(f, "; %u of %u run%s had no run_end (still running, or rapt was killed)",
                in->runs - in->runs_ended, in->runs, in->runs == 1 ? "" : "s");
    fprintf(f, ".</p></section>\n");
}

/* The page's only style sheet, inline (the CSP allows inline styles and nothing external).
 * Outcome classes: s success, f failed, r retry, q requeued, u unfinished; o1-o4 shade the
 * aggregated Gantt bins. */
static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;"
    "max-width:1100px;padding:16px 24px;color:#1f2328;background:#fff}"
    "h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:26px 0 6px;border-bottom:1px solid "
    "#d0d7de;padding-bottom:3px}"
    "table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border:1px solid "
    "#d0d7de;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f6f8fa}"
    ".kv th{width:170px}code{font:12px ui-monospace,monospace;word-break:break-all}"
    ".meta{color:#57606a}.note{color:#57606a;font-size:12.5px;margin:2px 0}.none{color:#57606a}"
    "svg{width:100%;height:auto;display:block;font:11px system-ui,sans-serif}"
    ".ax text{fill:#57606a}.ax line{stroke:#8c959f}.grid{stroke:#eaeef2}"
    ".frame{fill:none;stroke:#d0d7de}"
    ".s{fill:#54a24b}.f{fill:#e45756}.r{fill:#f58518}.q{fill:#b279a2}.u{fill:#9aa0a6}"
    ".gd "
    "rect{stroke:#fff;stroke-width:.6}.o1{opacity:.3}.o2{opacity:.55}.o3{opacity:.8}.o4{opacity:1}"
    ".area{fill:#4c78a8;fill-opacity:.35;stroke:#4c78a8;stroke-width:1}"
    ".cpu{fill:#54a24b;fill-opacity:.35;stroke:#54a24b;stroke-width:1}"
    ".est{fill:none;stroke:#222;stroke-width:1.2}"
    ".used{fill:none;stroke:#222;stroke-width:1.5}"
    ".budget{fill:none;stroke:#e45756;stroke-width:1.5;stroke-dasharray:6 3}"
    ".limit{fill:none;stroke:#333;stroke-width:1.2;stroke-dasharray:2 3}"
    ".fit{stroke-width:2}.pred{fill:none;stroke:#222;stroke-width:1.5;stroke-dasharray:5 4}"
    ".dens{fill:#4c78a8}"
    ".bn{background:#fff8c5;padding:0 6px;border-radius:4px}"
    ".recs li{margin:4px 0}.sev{font-size:11px;text-transform:uppercase;padding:1px 5px;"
    "border-radius:3px;color:#fff;background:#57606a}"
    ".critical .sev{background:#cf222e}.warning .sev{background:#bf8700}.info "
    ".sev{background:#0969da}"
    ".st-bad{color:#cf222e;font-weight:600}.st-warn{color:#9a6700;font-weight:600}"
    ".st-ok{color:#1a7f37}";

/* The page: verdict, summary, the five charts, the tables. Section ids are stable so other
 * tools (and the e2e tests) can find them. */
int rapt__report_html(const rapt_report *r, FILE *f)
{
    const rapt__ranalysis *an = &r->an;
    char b1[32], when[64] = "";
    const rapt__rrun *first = r->nruns ? &r->runs[0] : NULL;
    if (isfinite(an->t0) && an->t0 > 0) {
        time_t sec = (time_t)floor(an->t0);
        struct tm tm;
        if (gmtime_r(&sec, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"generator\" content=\"rapt %s\">\n<title>",
            rapt_version());
    if (r->title)
        esc(f, r->title);
    else if (first && first->command && r->nruns == 1) {
        fprintf(f, "rapt report: ");
        esc(f, first->command);
    } else
        fprintf(f, "rapt report");
    fprintf(f, "</title>\n<style>%s</style></head><body>\n<header><h1>", css);
    if (r->title)
        esc(f, r->title);
    else
        fprintf(f, "rapt run report");
    fprintf(f, "</h1><p class=\"meta\">");
    if (first && first->command && r->nruns == 1) {
        fprintf(f, "<code>");
        esc(f, first->command);
        fprintf(f, "</code><br>");
    }
    fprintf(f, "%zu run%s", r->nruns, r->nruns == 1 ? "" : "s");
    if (first && first->host) {
        fprintf(f, " on ");
        esc(f, first->host);
    }
    if (when[0])
        fprintf(f, ", started %s", when);
    fprintf(f, "; %llu jobs in %s; %u slot%s, %u CPU%s. Generated by rapt %s.</p></header>\n",
            (unsigned long long)an->jobs, secs(an->makespan, b1, sizeof(b1)), an->slots,
            an->slots == 1 ? "" : "s", an->cpus, an->cpus == 1 ? "" : "s", rapt_version());
    recs_section(r, f);
    summary_table(r, f);
    gantt(r, f);
    concurrency_chart(r, f);
    memory_chart(r, f);
    cpu_chart(r, f);
    model_chart(r, f);
    slowest_table(r, f);
    sla_table(r, f);
    if (r->nstages > 1 || r->st[0].attempts > 0)
        stages_table(r, f);
    runs_table(r, f);
    input_section(r, f);
    fprintf(f, "</body></html>\n");
    return ferror(f) ? -EIO : 0;
}
