/* json.c: a small streaming JSON writer (see internal.h for why it is hand-written).
 *
 * Owns comma placement, nesting and string escaping. The caller owns the FILE and its errors:
 * check ferror()/fflush() after a record.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void rapt__jw_init(rapt__jw *w, FILE *f, bool pretty)
{
    memset(w, 0, sizeof(*w));
    w->f = f;
    w->pretty = pretty;
    w->first[0] = true;
}

static void indent(rapt__jw *w)
{
    if (!w->pretty)
        return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++)
        fputs("  ", w->f);
}

/* Emits the separator a new value needs at the current position. */
static void before_value(rapt__jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (!w->first[w->depth])
            fputc(',', w->f);
        indent(w);
    }
    w->first[w->depth] = false;
}

static void open(rapt__jw *w, char c)
{
    before_value(w);
    fputc(c, w->f);
    /* Deeper nesting than RAPT__JSON_DEPTH is a programming error in rapt; the writer stays in
     * bounds and the output stays balanced because end() mirrors the same clamp. */
    if (w->depth + 1 < RAPT__JSON_DEPTH)
        w->depth++;
    w->first[w->depth] = true;
    w->closer[w->depth] = c == '{' ? '}' : ']';
}

void rapt__jw_obj(rapt__jw *w)
{
    open(w, '{');
}

void rapt__jw_arr(rapt__jw *w)
{
    open(w, '[');
}

void rapt__jw_end(rapt__jw *w)
{
    bool empty = w->first[w->depth];
    char c = w->closer[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (!empty)
        indent(w);
    fputc(c ? c : '}', w->f);
}

void rapt__jw_key(rapt__jw *w, const char *k)
{
    before_value(w);
    rapt__json_escape(w->f, k, strlen(k));
    fputs(w->pretty ? ": " : ":", w->f);
    w->after_key = true;
}

void rapt__jw_str(rapt__jw *w, const char *s)
{
    before_value(w);
    if (s)
        rapt__json_escape(w->f, s, strlen(s));
    else
        fputs("null", w->f);
}

void rapt__jw_strn(rapt__jw *w, const char *s, size_t n)
{
    before_value(w);
    rapt__json_escape(w->f, s, n);
}

void rapt__jw_u64(rapt__jw *w, uint64_t v)
{
    before_value(w);
    fprintf(w->f, "%llu", (unsigned long long)v);
}

void rapt__jw_i64(rapt__jw *w, int64_t v)
{
    before_value(w);
    fprintf(w->f, "%lld", (long long)v);
}

void rapt__jw_dbl(rapt__jw *w, double v)
{
    before_value(w);
    if (!isfinite(v))
        fputs("null", w->f);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(w->f, "%.0f", v);
    else
        fprintf(w->f, "%.6g", v);
}

void rapt__jw_fixed(rapt__jw *w, double v, int decimals)
{
    before_value(w);
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    if (isfinite(v))
        fprintf(w->f, "%.*f", decimals, v);
    else
        fputs("null", w->f);
}

void rapt__jw_bool(rapt__jw *w, bool v)
{
    before_value(w);
    fputs(v ? "true" : "false", w->f);
}

void rapt__jw_null(rapt__jw *w)
{
    before_value(w);
    fputs("null", w->f);
}

void rapt__jw_done(rapt__jw *w)
{
    fputc('\n', w->f);
    w->first[0] = true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not valid:
 * overlong forms, surrogates and code points above U+10FFFF are refused. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void rapt__json_escape(FILE *f, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            /* Copy the longest run of plain ASCII in one call. */
            size_t j = i + 1;
            while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
                j++;
            fwrite(s + i, 1, j - i, f);
            i = j;
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20) {
                fprintf(f, "\\u%04x", c);
            } else {
                size_t len = utf8_len(s + i, n - i);
                if (len == 0) {
                    fputs("\\ufffd", f);
                    len = 1;
                } else {
                    fwrite(s + i, 1, len, f);
                }
                i += len;
                continue;
            }
        }
        i++;
    }
    fputc('"', f);
}
