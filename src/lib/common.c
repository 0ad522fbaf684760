/* common.c: error strings, version, strict number parsing, sizes and durations.
 *
 * Owns the parsers every user-facing number goes through, so "12QB", "-1", "1e3" and
 * 2^64 are refused in one place with one set of rules.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

#ifndef RAPT_VERSION_STRING
#define RAPT_VERSION_STRING "0.0.0"
#endif

const char *rapt_strerror(int err)
{
    switch (err) {
#define RAPT__ERR_CASE(name, val, msg) \
    case RAPT_E##name: return msg;
        RAPT_ERRNO_MAP(RAPT__ERR_CASE)
#undef RAPT__ERR_CASE
    default: break;
    }
    if (err == 0)
        return "success";
    /* strerror() may return a buffer shared between threads for unknown values; the values we
     * pass are real errno numbers, for which glibc returns static strings. strerrordesc_np is
     * the thread-safe form. */
    const char *s = strerrordesc_np(err < 0 ? -err : err);
    return s ? s : "unknown error";
}

const char *rapt_version(void)
{
    return RAPT_VERSION_STRING;
}

bool rapt__strlcpy(char *dst, const char *src, size_t n)
{
    if (n == 0)
        return false;
    size_t len = strlen(src);
    if (len >= n) {
        memcpy(dst, src, n - 1);
        dst[n - 1] = '\0';
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

bool rapt__bufprintf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(dst, n, fmt, ap);
    va_end(ap);
    return r >= 0 && (size_t)r < n;
}

void rapt__vlogf(rapt_log_fn log, void *ud, rapt_log_level lv, const char *fmt, va_list ap)
{
    if (!log)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    log(ud, lv, msg);
}

void rapt__logf(rapt_log_fn log, void *ud, rapt_log_level lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rapt__vlogf(log, ud, lv, fmt, ap);
    va_end(ap);
}

int rapt__parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == SIZE_MAX)
        len = strlen(s);
    if (len == 0)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int rapt__parse_i64(const char *s, size_t len, int64_t *out)
{
    if (len == SIZE_MAX)
        len = strlen(s);
    bool neg = len > 0 && s[0] == '-';
    uint64_t mag;
    int r = rapt__parse_u64(s + neg, len - neg, &mag);
    if (r < 0)
        return r;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return -ERANGE;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > INT64_MAX)
            return -ERANGE;
        *out = (int64_t)mag;
    }
    return 0;
}

int rapt__parse_double(const char *s, double *out)
{
    /* Only plain decimal notation: digits, one optional '.', optional leading '-' or '+'. We
     * refuse strtod's extras (hex, inf, nan, exponents, leading blanks) because a user who
     * types "0x1p3" for a fraction made a mistake we should point out. */
    size_t i = 0, digits = 0, dots = 0;
    if (s[i] == '-' || s[i] == '+')
        i++;
    for (; s[i]; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.')
            dots++;
        else
            return -EINVAL;
    }
    if (digits == 0 || dots > 1)
        return -EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || !isfinite(v))
        return -ERANGE;
    *out = v;
    return 0;
}

uint64_t rapt__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t rapt__wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Splits "1.5G" into its number part [s, num_end) and its unit. Accepts digits with at most one
 * '.', at least one digit. Returns the length of the number part or 0 when there is none. */
static size_t number_prefix(const char *s)
{
    size_t i = 0, digits = 0, dots = 0;
    for (; s[i]; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.' && dots == 0)
            dots++;
        else
            break;
    }
    return digits ? i : 0;
}

/* Multiplies the decimal number in [s, s+len) by mult exactly when it has no fraction and
 * with rounding to nearest otherwise. Returns 0 or -ERANGE. */
static int scale_number(const char *s, size_t len, uint64_t mult, uint64_t *out)
{
    const char *dot = memchr(s, '.', len);
    size_t ilen = dot ? (size_t)(dot - s) : len;
    uint64_t ipart = 0;
    if (ilen > 0) {
        int r = rapt__parse_u64(s, ilen, &ipart);
        if (r < 0)
            return r;
    }
    if (ipart != 0 && mult > UINT64_MAX / ipart)
        return -ERANGE;
    uint64_t v = ipart * mult;
    if (dot) {
        /* The fraction is at most 19 significant digits; a long double keeps the product of a
         * fraction and a 2^40 multiplier exact enough for byte counts. */
        char frac[32] = "0.";
        size_t flen = len - ilen - 1;
        if (flen > sizeof(frac) - 3)
            flen = sizeof(frac) - 3;
        memcpy(frac + 2, dot + 1, flen);
        frac[2 + flen] = '\0';
        long double f = strtold(frac, NULL) * (long double)mult;
        uint64_t add = (uint64_t)(f + 0.5L);
        if (v > UINT64_MAX - add)
            return -ERANGE;
        v += add;
    }
    *out = v;
    return 0;
}

int rapt_size_parse(const char *s, uint64_t *out)
{
    if (!s || !out)
        return -EINVAL;
    size_t n = number_prefix(s);
    if (n == 0)
        return -EINVAL;
    const char *unit = s + n;
    static const struct {
        const char *name;
        unsigned shift;
    } units[] = {
        {"", 0},    {"b", 0},    {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20},
        {"mb", 20}, {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},
        {"tb", 40}, {"tib", 40}, {"p", 50}, {"pb", 50}, {"pib", 50},
    };
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(units); i++) {
        if (strcasecmp(unit, units[i].name) == 0)
            return scale_number(s, n, 1ull << units[i].shift, out);
    }
    /* A unit that starts with a letter is a unit we do not know ("12QB"); anything else
     * (a second '.', a sign, a blank) is a malformed number. */
    return isalpha((unsigned char)*unit) ? RAPT_EUNIT : -EINVAL;
}

char *rapt_size_format(uint64_t bytes, char *buf, size_t len)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (!buf || len == 0)
        return buf;
    if (bytes < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    unsigned u = 0;
    double v = (double)bytes;
    while (v >= 1024.0 && u + 1 < RAPT__ARRAY_SIZE(names)) {
        v /= 1024.0;
        u++;
    }
    /* Whole numbers print without a fraction so "512 MiB" reads as the user typed it. */
    if (fabs(v - round(v)) < 0.005)
        snprintf(buf, len, "%.0f %s", v, names[u]);
    else if (v < 10)
        snprintf(buf, len, "%.2f %s", v, names[u]);
    else if (v < 100)
        snprintf(buf, len, "%.1f %s", v, names[u]);
    else
        snprintf(buf, len, "%.0f %s", v, names[u]);
    return buf;
}

int rapt_duration_parse(const char *s, uint64_t *out_ns)
{
    if (!s || !out_ns || !*s)
        return -EINVAL;
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1ull},
        {"us", 1000ull},
        {"ms", 1000000ull},
        {"s", 1000000000ull},
        {"m", 60ull * 1000000000ull},
        {"h", 3600ull * 1000000000ull},
        {"d", 86400ull * 1000000000ull},
    };
    uint64_t total = 0;
    const char *p = s;
    bool first = true;
    while (*p) {
        size_t n = number_prefix(p);
        if (n == 0)
            return -EINVAL;
        const char *u = p + n;
        size_t ulen = 0;
        while (isalpha((unsigned char)u[ulen]))
            ulen++;
        uint64_t mult = 0;
        if (ulen == 0) {
            /* A bare number is seconds, and only allowed alone ("1.5"), as in GNU parallel. */
            if (!first || u[0] != '\0')
                return -EINVAL;
            mult = 1000000000ull;
        } else {
            for (size_t i = 0; i < RAPT__ARRAY_SIZE(units); i++) {
                if (strlen(units[i].name) == ulen && strncasecmp(u, units[i].name, ulen) == 0)
                    mult = units[i].ns;
            }
            if (mult == 0)
                return RAPT_EUNIT;
        }
        uint64_t part;
        int r = scale_number(p, n, mult, &part);
        if (r < 0)
            return r;
        if (total > UINT64_MAX - part)
            return -ERANGE;
        total += part;
        p = u + ulen;
        first = false;
    }
    *out_ns = total;
    return 0;
}

char *rapt_duration_format(uint64_t ns, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    double s = (double)ns / 1e9;
    if (ns < 1000000ull)
        snprintf(buf, len, "%.0f us", (double)ns / 1e3);
    else if (ns < 1000000000ull)
        snprintf(buf, len, "%.0f ms", (double)ns / 1e6);
    else if (s < 60)
        snprintf(buf, len, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, len, "%um %02us", (unsigned)(s / 60), (unsigned)fmod(s, 60));
    else if (s < 86400)
        snprintf(buf, len, "%uh %02um", (unsigned)(s / 3600), (unsigned)fmod(s / 60, 60));
    else
        snprintf(buf, len, "%ud %02uh", (unsigned)(s / 86400), (unsigned)fmod(s / 3600, 24));
    return buf;
}
