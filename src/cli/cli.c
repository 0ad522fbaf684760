/* cli.c: error reporting and strict option parsing shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "rapt/history.h"
#include "rapt/report.h"

/* Prints the message with every newline folded into "\n" so the error stays one line even
 * when it quotes a hostile file name. */
static void one_line(const char *prefix, const char *fmt, va_list ap) RAPT__PRINTF(2, 0);
static void one_line(const char *prefix, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    fputs(prefix, stderr);
    for (const char *p = buf; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stderr);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    one_line("rapt: error: ", fmt, ap);
    va_end(ap);
    return code;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    one_line("rapt: warning: ", fmt, ap);
    va_end(ap);
}

int cli_bad_option(const rapt_cmd *cmd, int c, int argc, char **argv)
{
    /* Commands call getopt_long with opterr = 0 and an optstring starting with ':', so getopt
     * prints nothing and tells missing values (':') from unknown options ('?'). */
    extern int optind, optopt;
    const char *word = optind > 0 && optind - 1 < argc ? argv[optind - 1] : "?";
    char name[64];
    if (strncmp(word, "--", 2) == 0) {
        /* A long option: name it without any "=value" part. */
        size_t n = strcspn(word, "=");
        snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), word);
    } else if (optopt > 0 && optopt < 128) {
        /* A short option, possibly inside a cluster such as "-xq": name the letter. */
        snprintf(name, sizeof(name), "-%c", optopt);
    } else {
        snprintf(name, sizeof(name), "%.60s", word);
    }
    word = name;
    if (c == ':')
        return cli_fail(RAPT_EXIT_USAGE, "%s: option '%s' needs a value (see 'rapt %s --help')",
                        cmd->name, word, cmd->name);
    return cli_fail(RAPT_EXIT_USAGE, "%s: unknown option '%s' (see 'rapt %s --help')", cmd->name,
                    word, cmd->name);
}

int cli_help(const rapt_cmd *cmd)
{
    fputs(cmd->usage, stdout);
    return RAPT_EXIT_OK;
}

int cli_size(const char *what, const char *s, bool allow_zero, uint64_t *out)
{
    int r = rapt_size_parse(s, out);
    if (r == RAPT_EUNIT)
        return cli_fail(RAPT_EXIT_USAGE,
                        "%s '%s': unknown unit (use B, K, M, G or T, optionally with iB)", what, s);
    if (r == -ERANGE)
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': too large", what, s);
    if (r < 0)
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': not a size (e.g. 512M, 1.5G, 1073741824)", what,
                        s);
    if (!allow_zero && *out == 0)
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': must be more than zero", what, s);
    return 0;
}

int cli_uint(const char *what, const char *s, unsigned min, unsigned max, unsigned *out)
{
    uint64_t v;
    int r = rapt__parse_u64(s, SIZE_MAX, &v);
    if (r == -ERANGE || (r == 0 && v > max))
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': must be at most %u", what, s, max);
    if (r < 0)
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': not a whole number", what, s);
    if (v < min)
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': must be at least %u", what, s, min);
    *out = (unsigned)v;
    return 0;
}

int cli_sla(const char *cmd, const char *spec, int usage_code, size_t *stage_len, double *seconds)
{
    int r = rapt_report_sla_parse(spec, stage_len, seconds);
    if (r == 0)
        return 0;
    return cli_fail(usage_code,
                    "%s: --sla '%s': %s (use DURATION or STAGE=DURATION, e.g. 90s, build=1m30s)",
                    cmd, spec,
                    r == RAPT_EUNIT ? "unknown unit"
                    : r == -ERANGE  ? "too large"
                                    : "not a duration above zero");
}

int cli_double(const char *what, const char *s, double min, double max, bool min_open, double *out)
{
    double v;
    if (rapt__parse_double(s, &v) < 0)
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': not a number", what, s);
    if ((min_open ? v <= min : v < min) || v > max)
        return cli_fail(RAPT_EXIT_USAGE, "%s '%s': must be in %s%g, %g]", what, s,
                        min_open ? "(" : "[", min, max);
    *out = v;
    return 0;
}

int cli_close_stdout(int rc)
{
    /* A failed write to stdout (a full disk, a closed pipe) must not end in exit 0. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        fclose(stdout);
        return cli_fail(RAPT_EXIT_SYSTEM, "writing to standard output: %s", strerror(e ? e : EIO));
    }
    if (fclose(stdout) != 0)
        return cli_fail(RAPT_EXIT_SYSTEM, "closing standard output: %s", strerror(errno));
    return rc;
}

int cli_read_sys(const char *cmd, const char *sysroot, rapt_sys_info *si)
{
    rapt_sys_opts so;
    rapt_sys_opts_init(&so);
    so.sysroot = sysroot;
    int rc = rapt_sys_read(&so, si);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_USAGE, "%s: sysroot '%s': %s", cmd, sysroot ? sysroot : "/",
                        rapt_strerror(rc));
    /* A directory with no readable CPU or memory facts at all is not a Linux root: say so
     * rather than print a page of "unknown". Partly readable trees are reported as they are. */
    if (si->cpu.online.state == RAPT_QTY_UNKNOWN && si->cpu.affinity.state == RAPT_QTY_UNKNOWN &&
        si->mem.host_total.state == RAPT_QTY_UNKNOWN)
        return cli_fail(RAPT_EXIT_USAGE,
                        "%s: sysroot '%s': no readable /proc/meminfo, /proc/self/status or "
                        "/sys/devices/system/cpu/online (not a Linux root?)",
                        cmd, sysroot ? sysroot : "/");
    return 0;
}

int cli_history_path(const char *cmd, const char *opt, char *buf, size_t len)
{
    if (opt) {
        if (!*opt)
            return cli_fail(RAPT_EXIT_USAGE, "%s: --history: the file name is empty", cmd);
        if (!rapt__strlcpy(buf, opt, len))
            return cli_fail(RAPT_EXIT_USAGE, "%s: --history '%s': name too long", cmd, opt);
        return 0;
    }
    int rc = rapt_history_default_path(NULL, buf, len);
    if (rc < 0)
        return cli_fail(RAPT_EXIT_USAGE,
                        "%s: no history file: neither XDG_STATE_HOME nor HOME is an absolute "
                        "path (give --history FILE or --no-history)",
                        cmd);
    return 0;
}

/* Keeps the library's last warning, which names the exact problem with the file. */
typedef struct last_warning {
    char msg[512];
} last_warning;

static void keep_warning(void *ud, rapt_log_level lv, const char *msg)
{
    if (lv <= RAPT_LOG_WARN)
        rapt__strlcpy(((last_warning *)ud)->msg, msg, sizeof(((last_warning *)ud)->msg));
}

int cli_history_open_soft(const char *cmd, const char *path, bool readonly, rapt_history **out,
                          char *why, size_t whylen)
{
    last_warning lw = {{0}};
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = path;
    o.readonly = readonly;
    o.log = keep_warning;
    o.log_data = &lw;
    *out = NULL;
    int rc = rapt_history_open(out, &o);
    if (rc == 0)
        return 0;
    if (rc == -ENOENT && readonly) {
        if (why)
            rapt__bufprintf(why, whylen, "no history yet in %s", path);
        return 0;
    }
    /* One line: the library's own account when it gave one, else the error's name. */
    if (lw.msg[0])
        cli_warn("%s: %s; the file was left as it is, continuing without history", cmd, lw.msg);
    else
        cli_warn("%s: history %s: %s; continuing without history", cmd, path, rapt_strerror(rc));
    if (why)
        rapt__bufprintf(why, whylen, "history %s not usable: %s", path, rapt_strerror(rc));
    return 0;
}
