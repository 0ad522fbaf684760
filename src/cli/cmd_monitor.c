/* cmd_monitor.c: `rapt monitor`, the live view of the machine, rapt's cgroup and a run's jobs.
 *
 * Owns the options, the event loop and the terminal. One thread polls a timerfd (the sampling
 * cadence), a signalfd (INT, TERM, HUP, QUIT end it; WINCH redraws; TSTP/CONT suspend and
 * resume) and, in the live view, the keyboard. Signals are blocked and read as events, so no
 * handler ever runs and every way out — q, Ctrl-C, SIGTERM, SIGHUP, --count, an error — goes
 * through the same cleanup that restores the terminal.
 *
 * The live view uses plain ANSI/VT100 sequences rather than ncurses: the handful it needs
 * (cursor home, clear to end of line and of screen, SGR colors, the alternate screen, hiding the
 * cursor) work on every terminal emulator and over ssh, and owning the termios state ourselves
 * is what makes "restore on every exit path" checkable (tests/e2e/monitor.bats compares `stty -a`
 * before and after). ncurses would add a dependency and install signal handlers of its own.
 * TERM=dumb, or stdout not a terminal, gets the plain line mode instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/monitor_cli.h"
#include "rapt/rapt.h"

static const char usage_text[] =
    "usage: rapt monitor [options]\n"
    "\n"
    "Shows what the machine, rapt's cgroup and the jobs of a running `rapt run` are doing: CPU,\n"
    "memory against the limit that binds, swap, pressure (PSI), disk and network throughput,\n"
    "trends and alerts. On a terminal it is a live view (q or Ctrl-C quits); otherwise it prints\n"
    "one line per sample.\n"
    "\n"
    "options:\n"
    "  -i, --interval DUR      time between samples (default 1s; 10ms to 1h; e.g. 100ms, 2s)\n"
    "  -n, --count N           stop after N samples\n"
    "      --json              one JSON object per sample (schema rapt.monitor/1)\n"
    "      --plain             one line per sample even on a terminal\n"
    "      --prometheus FILE   after each sample, write FILE atomically for node_exporter's\n"
    "                          textfile collector (metrics named rapt_*)\n"
    "      --cgroup DIR        monitor this cgroup directory instead of rapt's own\n"
    "      --events FILE       follow the events file of a running `rapt run --events FILE`\n"
    "                          and show its running jobs (memory and CPU read from /proc)\n"
    "      --threshold M=W,C[,H]  warning and critical lines (and hysteresis) of metric M,\n"
    "                          in its unit; M=off disables it. Metrics: cpu, cgroup_cpu,\n"
    "                          memory, swap, psi_cpu, psi_memory, psi_io (%), disk_read,\n"
    "                          disk_write, net_rx, net_tx (B/s), jobs_memory (B)\n"
    "      --sysroot DIR       read /proc and /sys under DIR instead of / (diagnosis, tests)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Metrics, default thresholds and the JSON and Prometheus formats: docs/monitor.md.\n";

static int exec_monitor(int argc, char **argv);

const rapt_cmd rapt_cmd_monitor = {
    .name = "monitor",
    .summary = "watch CPU, memory, pressure, I/O and a run's jobs live",
    .usage = usage_text,
    .exec = exec_monitor,
};

#define MIN_INTERVAL_NS (10ull * 1000000ull)
#define MAX_INTERVAL_NS (3600ull * 1000000000ull)

typedef struct thr_opt {
    rapt_metric metric;
    rapt_monitor_threshold t;
} thr_opt;

typedef struct mon_opts {
    uint64_t interval_ns;
    unsigned count; /* 0: no limit */
    bool json, plain;
    const char *prom, *cgroup, *events, *sysroot;
    thr_opt thr[RAPT_METRIC_COUNT * 2];
    size_t nthr;
} mon_opts;

/* ---- option parsing ----------------------------------------------------------------------------
 */

static int parse_interval(const char *s, uint64_t *out)
{
    int rc = rapt_duration_parse(s, out);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_USAGE,
                        "monitor: --interval '%s': not a duration (e.g. 500ms, 2s, 1m)", s);
    if (*out < MIN_INTERVAL_NS)
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --interval '%s': must be at least 10ms", s);
    if (*out > MAX_INTERVAL_NS)
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --interval '%s': must be at most 1h", s);
    return 0;
}

/* "memory=80,90", "memory=80,90,2" or "memory=off". */
static int parse_threshold(const char *arg, thr_opt *out)
{
    const char *eq = strchr(arg, '=');
    char name[32];
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
        return cli_fail(RAPT_EXIT_USAGE,
                        "monitor: --threshold '%s': expected METRIC=WARNING,CRITICAL[,HYSTERESIS] "
                        "or METRIC=off",
                        arg);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    if (rapt_monitor_metric_parse(name, &out->metric) < 0)
        return cli_fail(RAPT_EXIT_USAGE,
                        "monitor: --threshold '%s': unknown metric '%s' (cpu, cgroup_cpu, memory, "
                        "swap, psi_cpu, psi_memory, psi_io, disk_read, disk_write, net_rx, net_tx, "
                        "jobs_memory)",
                        arg, name);
    rapt_monitor_threshold_default(out->metric, &out->t);
    const char *v = eq + 1;
    if (strcmp(v, "off") == 0) {
        out->t.enabled = false;
        return 0;
    }
    double nums[3] = {0, 0, 0};
    size_t n = 0;
    char copy[128];
    if (!rapt__strlcpy(copy, v, sizeof(copy)))
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --threshold '%s': too long", arg);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == 3 || rapt__parse_double(tok, &nums[n]) < 0 || nums[n] < 0)
            return cli_fail(RAPT_EXIT_USAGE,
                            "monitor: --threshold '%s': the lines must be 2 or 3 numbers >= 0 "
                            "separated by commas",
                            arg);
        n++;
    }
    if (n < 2 || v[strlen(v) - 1] == ',')
        return cli_fail(RAPT_EXIT_USAGE,
                        "monitor: --threshold '%s': expected WARNING,CRITICAL[,HYSTERESIS]", arg);
    if (nums[0] > nums[1])
        return cli_fail(RAPT_EXIT_USAGE,
                        "monitor: --threshold '%s': the warning line is above the critical one",
                        arg);
    out->t.enabled = true;
    out->t.warning = nums[0];
    out->t.critical = nums[1];
    if (n == 3)
        out->t.hysteresis = nums[2];
    return 0;
}

/* The textfile collector needs the file's directory to exist and be writable; find out now, by
 * creating and removing a scratch file there, rather than after the first sample. */
static int check_prom_path(const char *path)
{
    struct stat st;
    if (!*path)
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --prometheus: empty file name");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --prometheus '%s': is a directory", path);
    const char *slash = strrchr(path, '/');
    char probe[4096];
    if (!rapt__bufprintf(probe, sizeof(probe), "%.*s.rapt-probe.%ld",
                         slash ? (int)(slash - path + 1) : 0, path, (long)getpid()))
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --prometheus '%s': name too long", path);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --prometheus '%s': cannot write there: %s", path,
                        strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

static int parse_opts(int argc, char **argv, mon_opts *o)
{
    static const struct option longopts[] = {
        {"interval", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"plain", no_argument, NULL, 'p'},
        {"prometheus", required_argument, NULL, 'P'},
        {"cgroup", required_argument, NULL, 'c'},
        {"events", required_argument, NULL, 'e'},
        {"threshold", required_argument, NULL, 't'},
        {"sysroot", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof(*o));
    o->interval_ns = 1000000000ull;
    opterr = 0;
    optind = 1;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":hi:n:", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if ((rc = parse_interval(optarg, &o->interval_ns)))
                return rc;
            break;
        case 'n':
            if ((rc = cli_uint("monitor: --count", optarg, 1, UINT32_MAX, &o->count)))
                return rc;
            break;
        case 'j': o->json = true; break;
        case 'p': o->plain = true; break;
        case 'P': o->prom = optarg; break;
        case 'c': o->cgroup = optarg; break;
        case 'e': o->events = optarg; break;
        case 'r': o->sysroot = optarg; break;
        case 't':
            if (o->nthr == RAPT__ARRAY_SIZE(o->thr))
                return cli_fail(RAPT_EXIT_USAGE, "monitor: too many --threshold options");
            if ((rc = parse_threshold(optarg, &o->thr[o->nthr])))
                return rc;
            o->nthr++;
            break;
        case 'h': return -1;
        default: return cli_bad_option(&rapt_cmd_monitor, c, argc, argv);
        }
    }
    if (optind < argc)
        return cli_fail(RAPT_EXIT_USAGE, "monitor: unexpected argument '%s'", argv[optind]);
    if (o->json && o->plain)
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --json and --plain exclude each other");
    if (o->cgroup && !*o->cgroup)
        return cli_fail(RAPT_EXIT_USAGE, "monitor: --cgroup: empty directory name");
    return 0;
}

/* ---- the terminal -------------------------------------------------------------------------------
 */

typedef struct term {
    bool active;   /* alternate screen entered */
    bool have_tio; /* saved holds the keyboard's original modes */
    struct termios saved;
    int in; /* keyboard fd, or -1 */
} term;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Keys without Enter and without echo; ISIG stays on so Ctrl-C and Ctrl-Z still reach us as
 * signals (read from the signalfd). TCSANOW rather than TCSAFLUSH: a key typed before the view
 * came up must not be thrown away. */
static int term_enter(term *t)
{
    if (t->in >= 0 && !t->have_tio) {
        if (tcgetattr(t->in, &t->saved) == 0) {
            t->have_tio = true;
            struct termios raw = t->saved;
            raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
            raw.c_cc[VMIN] = 1;
            raw.c_cc[VTIME] = 0;
            if (tcsetattr(t->in, TCSANOW, &raw) < 0)
                t->have_tio = false;
        }
    }
    t->active = true;
    /* Alternate screen, cursor hidden, cleared. */
    static const char enter[] = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
    return write_all(STDOUT_FILENO, enter, sizeof(enter) - 1);
}

static void term_leave(term *t)
{
    if (t->active) {
        /* Attributes off, cursor back, main screen back: the shell's screen reappears as it
         * was. */
        static const char leave[] = "\x1b[0m\x1b[?25h\x1b[?1049l";
        write_all(STDOUT_FILENO, leave, sizeof(leave) - 1);
        t->active = false;
    }
    if (t->have_tio) {
        tcsetattr(t->in, TCSANOW, &t->saved);
        t->have_tio = false;
    }
}

static void term_size(unsigned *rows, unsigned *cols)
{
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/* ---- warnings -----------------------------------------------------------------------------------
 */

/* On the live view stderr would be drawn over; warnings are kept, shown after the terminal is
 * restored, and printed at once in the other modes. */
typedef struct notes {
    bool defer;
    char msg[8][256];
    size_t n;
    int prom_errs[16]; /* the --prometheus errors already reported */
    size_t nprom;
} notes;

static void note(notes *ns, const char *fmt, ...) RAPT__PRINTF(2, 3);
static void note(notes *ns, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!ns->defer) {
        cli_warn("%s", msg);
        return;
    }
    if (ns->n < RAPT__ARRAY_SIZE(ns->msg))
        rapt__strlcpy(ns->msg[ns->n++], msg, sizeof(ns->msg[0]));
}

static void notes_flush(notes *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        cli_warn("%s", ns->msg[i]);
    ns->n = 0;
}

static void on_log(void *ud, rapt_log_level level, const char *msg)
{
    (void)level;
    note(ud, "%s", msg);
}

/* One warning per distinct failure of the --prometheus write; the monitor keeps going. */
static void write_prom(rapt_monitor *m, const char *path, notes *ns)
{
    int rc = rapt_monitor_write_prometheus(m, path);
    if (rc == 0)
        return;
    for (size_t i = 0; i < ns->nprom; i++) {
        if (ns->prom_errs[i] == rc)
            return;
    }
    if (ns->nprom < RAPT__ARRAY_SIZE(ns->prom_errs))
        ns->prom_errs[ns->nprom++] = rc;
    note(ns, "monitor: writing --prometheus '%s': %s (still sampling; trying again each time)",
         path, rapt_strerror(rc));
}

/* ---- the loop ----------------------------------------------------------------------------------
 */

typedef enum mode { MODE_TUI, MODE_LINES, MODE_JSON } mode;

/* Jobs known from the events stream whose processes are all gone (a run that was killed before
 * it could write job_end) are dropped after two intervals. */
static void prune_gone(rapt_monitor *m, uint64_t interval_ns)
{
    rapt_monitor_job jobs[256];
    size_t n = rapt_monitor_jobs(m, jobs, RAPT__ARRAY_SIZE(jobs));
    uint64_t now = rapt__now_ns();
    for (size_t i = 0; i < n && i < RAPT__ARRAY_SIZE(jobs); i++) {
        if (!jobs[i].alive && now - jobs[i].added_mono_ns > 2 * interval_ns)
            rapt_monitor_job_remove(m, jobs[i].id);
    }
}

static int exec_monitor(int argc, char **argv)
{
    mon_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc < 0)
        return cli_close_stdout(cli_help(&rapt_cmd_monitor));
    if (rc)
        return rc;

    /* The locale decides only whether the arrows can be drawn as UTF-8; numbers stay in the C
     * locale (LC_NUMERIC untouched), so JSON and the line mode never print "0,5". */
    setlocale(LC_CTYPE, "");
    /* The live view only where someone looks at it: stdout a terminal that understands
     * cursor movement. Everything else (a pipe, a file, --plain, TERM=dumb) gets lines. */
    const char *termname = getenv("TERM");
    mode md = o.json ? MODE_JSON
              : o.plain || !isatty(STDOUT_FILENO) || (termname && strcmp(termname, "dumb") == 0)
                  ? MODE_LINES
                  : MODE_TUI;
    notes ns = {.defer = md == MODE_TUI};
    mon_follow fol = {.fd = -1};
    rapt_monitor *m = NULL;
    term tm = {.in = -1};
    int sfd = -1, tfd = -1;
    mon_buf out = {0};
    sigset_t mask, oldmask;
    sigemptyset(&oldmask);

    /* Every check of user input comes before the monitor exists and before the terminal is
     * touched, so bad input is one line on a terminal left as it was. */
    if (o.events) {
        int e = mon_follow_open(&fol, o.events);
        if (e < 0)
            return cli_fail(RAPT_EXIT_USAGE, "monitor: --events '%s': %s", o.events, strerror(-e));
    }
    if (o.prom && (rc = check_prom_path(o.prom))) {
        mon_follow_close(&fol);
        return rc;
    }
    struct stat st;
    if (o.sysroot && (stat(o.sysroot, &st) < 0 || !S_ISDIR(st.st_mode))) {
        mon_follow_close(&fol);
        return cli_fail(RAPT_EXIT_USAGE, "monitor: sysroot '%s': %s", o.sysroot,
                        strerror(errno ? errno : ENOTDIR));
    }

    rapt_monitor_opts mo;
    rapt_monitor_opts_init(&mo);
    mo.sysroot = o.sysroot;
    mo.cgroup = o.cgroup;
    mo.log = on_log;
    mo.log_userdata = &ns;
    for (size_t i = 0; i < o.nthr; i++)
        mo.thresholds[o.thr[i].metric] = o.thr[i].t;
    rc = rapt_monitor_create(&m, &mo);
    if (rc < 0) {
        mon_follow_close(&fol);
        if (o.cgroup && (rc == -ENOENT || rc == -ENOTDIR || rc == RAPT_ENOTCGROUP ||
                         rc == -EACCES || rc == -ENAMETOOLONG))
            return cli_fail(RAPT_EXIT_USAGE, "monitor: --cgroup '%s': %s", o.cgroup,
                            rapt_strerror(rc));
        if (rc == -ENOENT || rc == -ENOTDIR || rc == -EACCES)
            return cli_fail(RAPT_EXIT_USAGE, "monitor: sysroot '%s': %s",
                            o.sysroot ? o.sysroot : "/", rapt_strerror(rc));
        return cli_fail(RAPT_EXIT_SYSTEM, "monitor: %s", rapt_strerror(rc));
    }
    /* Catch up with the run so far: jobs that started before the monitor are running now. */
    if (o.events)
        mon_follow_poll(&fol, m);

    /* Signals become events on a signalfd: nothing runs in a handler. SIGPIPE keeps its default
     * action: `rapt monitor --json | head -3` ends quietly when head does, as other filters do. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    if (md == MODE_TUI) {
        sigaddset(&mask, SIGWINCH);
        sigaddset(&mask, SIGTSTP);
        sigaddset(&mask, SIGCONT);
    }
    sigprocmask(SIG_BLOCK, &mask, &oldmask);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    /* A periodic timerfd on the monotonic clock keeps the cadence fixed however long a sample
     * or a frame takes, and is one more fd for poll() rather than a sleep that signals cut
     * short. */
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec its = {
        .it_interval = {(time_t)(o.interval_ns / 1000000000ull),
                        (long)(o.interval_ns % 1000000000ull)},
    };
    its.it_value = its.it_interval;
    if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
        rc = cli_fail(RAPT_EXIT_SYSTEM, "monitor: cannot set up the timer and signals: %s",
                      strerror(errno));
        goto out;
    }

    char host[256] = "?";
    gethostname(host, sizeof(host) - 1);
    mon_view view = {
        .color = md == MODE_TUI && !getenv("NO_COLOR"),
        .utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0,
        .interval_s = (double)o.interval_ns / 1e9,
        .events = o.events,
        .hostname = host,
    };
    if (md == MODE_TUI) {
        term_size(&view.rows, &view.cols);
        tm.in = isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
        if (term_enter(&tm) < 0) {
            rc = cli_fail(RAPT_EXIT_SYSTEM, "monitor: cannot write to the terminal: %s",
                          strerror(errno));
            goto out;
        }
    } else if (md == MODE_LINES) {
        mon_view_line_header(&out);
        fwrite(out.p, 1, out.len, stdout);
        fflush(stdout);
    }

    unsigned taken = 0;
    bool quit = false, redraw = md == MODE_TUI;
    rc = RAPT_EXIT_OK;
    while (!quit) {
        if (redraw) {
            mon_buf_reset(&out);
            view.run_note = !o.events          ? NULL
                            : fol.run_ended    ? "the run has ended"
                            : !fol.run_started ? "no run_start yet"
                                               : NULL;
            mon_view_frame(&out, m, &view);
            if (!out.oom && write_all(STDOUT_FILENO, out.p, out.len) < 0) {
                rc = cli_fail(RAPT_EXIT_SYSTEM, "monitor: writing to the terminal: %s",
                              strerror(errno));
                break;
            }
            redraw = false;
        }
        struct pollfd pf[3] = {{tfd, POLLIN, 0}, {sfd, POLLIN, 0}, {tm.in, POLLIN, 0}};
        int np = poll(pf, tm.in >= 0 ? 3 : 2, -1);
        if (np < 0) {
            if (errno == EINTR)
                continue;
            rc = cli_fail(RAPT_EXIT_SYSTEM, "monitor: poll: %s", strerror(errno));
            break;
        }
        if (pf[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGWINCH:
                    term_size(&view.rows, &view.cols);
                    redraw = true;
                    break;
                case SIGTSTP:
                    /* Give the shell its terminal back, stop, and take it again when continued. */
                    term_leave(&tm);
                    kill(getpid(), SIGSTOP);
                    term_enter(&tm);
                    term_size(&view.rows, &view.cols);
                    redraw = true;
                    break;
                case SIGCONT: redraw = true; break;
                default: quit = true; break; /* INT, TERM, HUP, QUIT: a normal way to stop */
                }
            }
        }
        if (tm.in >= 0 && (pf[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            char keys[64];
            ssize_t n = read(tm.in, keys, sizeof(keys));
            if (n <= 0 && !(n < 0 && errno == EINTR)) {
                tm.in = n == 0 ? -1 : tm.in; /* keyboard closed: Ctrl-C still works */
                if (n < 0)
                    quit = true; /* the terminal went away */
            }
            for (ssize_t i = 0; i < n; i++) {
                if (keys[i] == 'q' || keys[i] == 'Q')
                    quit = true;
                else if (keys[i] == 0x0c) /* Ctrl-L */
                    redraw = true;
            }
        }
        if (quit || !(pf[0].revents & POLLIN))
            continue;
        uint64_t ticks;
        if (read(tfd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
            continue;
        /* Missed ticks (the process was stopped, the machine stalled) are not caught up: one
         * sample now covers the whole gap. The events are read first, so a job that started
         * since the last tick is in this sample. */
        if (o.events)
            mon_follow_poll(&fol, m);
        int src = rapt_monitor_sample(m, NULL);
        if (src < 0) {
            rc = cli_fail(RAPT_EXIT_SYSTEM, "monitor: sampling: %s", rapt_strerror(src));
            break;
        }
        taken++;
        if (o.events)
            prune_gone(m, o.interval_ns);
        /* Output errors end the loop; cli_close_stdout() turns them into one error line and
         * exit 3. */
        if (md == MODE_JSON) {
            if (rapt_monitor_print_json(m, stdout) < 0)
                break;
        } else if (md == MODE_LINES) {
            mon_buf_reset(&out);
            mon_view_line(&out, m);
            fwrite(out.p, 1, out.len, stdout);
            if (fflush(stdout) != 0)
                break;
        } else {
            view.have_sample = true;
            redraw = true;
        }
        if (o.prom)
            write_prom(m, o.prom, &ns);
        if (o.count && taken >= o.count) {
            /* The last frame is drawn before leaving, though the main screen comes back at
             * once: a script that records the terminal (as the tests do) sees the last sample. */
            if (md == MODE_TUI && redraw) {
                mon_buf_reset(&out);
                mon_view_frame(&out, m, &view);
                write_all(STDOUT_FILENO, out.p, out.len);
            }
            quit = true;
        }
    }

out:
    term_leave(&tm);
    notes_flush(&ns);
    if (sfd >= 0)
        close(sfd);
    if (tfd >= 0)
        close(tfd);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    mon_buf_free(&out);
    mon_follow_close(&fol);
    rapt_monitor_destroy(m);
    return cli_close_stdout(rc);
}
