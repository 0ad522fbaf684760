/* template.c: compiling and expanding command templates (see template.h).
 *
 * Owns the replacement-string grammar, the decision between exec'ing directly and running
 * under a shell, and GNU parallel's quoting. Expansion allocates only by growing the caller's
 * buffers, so a job struct that keeps its buffers expands with no allocation at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lib/template.h"

enum tk_kind { TK_LIT, TK_FIELD };
enum tk_what { W_ALL, W_NTH, W_SEQ, W_SLOT };

typedef struct tok {
    unsigned char kind; /* tk_kind */
    unsigned char what; /* tk_what, for fields */
    unsigned char op;   /* rapt__rpl_op, for fields */
    int32_t n;          /* W_NTH: 1-based index, negative from the end */
    size_t off, len;    /* TK_LIT: the bytes in text */
} tok;

struct rapt__tmpl {
    char *text; /* the template as given */
    tok *toks;
    size_t ntoks;
    bool empty;    /* no command: the arguments are the command */
    bool has_rpl;  /* at least one replacement string (else arguments are appended) */
    bool direct;   /* exec without a shell */
    char *program; /* the literal first word in direct mode, else NULL */
};

/* ---- value operations (GNU parallel's Perl, translated) --------------------------------- */

/* Perl `s:.*\/::` removes, on the first line (as `.` stops at a newline) that holds a '/', the
 * text from that line's start through its last '/'. Returns how many leading bytes of the
 * result come from before the match and where the kept tail starts; false when no match. */
static bool base_span(const char *p, size_t n, size_t *cut_from, size_t *keep_from)
{
    size_t line = 0;
    while (line <= n) {
        const char *nl = memchr(p + line, '\n', n - line);
        size_t end = nl ? (size_t)(nl - p) : n;
        const char *slash = NULL;
        for (size_t i = end; i > line; i--) {
            if (p[i - 1] == '/') {
                slash = p + i - 1;
                break;
            }
        }
        if (slash) {
            *cut_from = line;
            *keep_from = (size_t)(slash - p) + 1;
            return true;
        }
        if (!nl)
            break;
        line = end + 1;
    }
    return false;
}

/* Perl `s:\.[^/.]*$::`: the last '.' is cut off with everything after it, unless a '/' follows
 * it. (`[^/.]` also matches a newline, so Perl's "$ before a final newline" never matters.)
 * Returns the length to keep. */
static size_t noext_len(const char *p, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] == '/')
            return n;
        if (p[i - 1] == '.')
            return i - 1;
    }
    return n;
}

/* File::Basename::fileparse on Unix: the directory part through the last '/', or "./". */
static void fileparse_dir(const char *p, size_t n, const char **d, size_t *dlen)
{
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] == '/') {
            *d = p;
            *dlen = i;
            return;
        }
    }
    *d = "./";
    *dlen = 2;
}

/* File::Basename's _strip_trailing_sep (s{(.)/+ at the end}{$1}): trailing slashes go, but the
 * first byte always stays. */
static size_t strip_trailing_sep(const char *p, size_t n)
{
    while (n > 1 && p[n - 1] == '/')
        n--;
    return n;
}

int rapt__rpl_apply(rapt__rpl_op op, const char *p, size_t n, rapt__buf *out)
{
    switch (op) {
    case RAPT__OP_NONE: return rapt__buf_add(out, p, n);
    case RAPT__OP_NOEXT: return rapt__buf_add(out, p, noext_len(p, n));
    case RAPT__OP_BASE:
    case RAPT__OP_BASENOEXT: {
        size_t cut, keep;
        const char *tail = p;
        size_t tlen = n;
        size_t head = 0;
        if (base_span(p, n, &cut, &keep)) {
            head = cut;
            tail = p + keep;
            tlen = n - keep;
        }
        /* {/.} removes the extension from the whole result, as Perl runs the second
         * substitution on the string the first one left. */
        if (op == RAPT__OP_BASENOEXT && head > 0) {
            rapt__buf tmp = RAPT__BUF_INIT;
            int r = rapt__buf_add(&tmp, p, head);
            if (r == 0)
                r = rapt__buf_add(&tmp, tail, tlen);
            if (r == 0)
                r = rapt__buf_add(out, tmp.p, noext_len(tmp.p, tmp.len));
            rapt__buf_free(&tmp);
            return r;
        }
        int r = rapt__buf_add(out, p, head);
        if (r < 0)
            return r;
        if (op == RAPT__OP_BASENOEXT)
            tlen = noext_len(tail, tlen);
        return rapt__buf_add(out, tail, tlen);
    }
    case RAPT__OP_DIR: {
        /* File::Basename::dirname on Unix: the directory of fileparse without trailing
         * slashes; when the basename is empty ("a/"), once more on that directory. */
        const char *d;
        size_t dlen;
        fileparse_dir(p, n, &d, &dlen);
        bool base_empty = dlen == n && d == p;
        dlen = strip_trailing_sep(d, dlen);
        if (base_empty) {
            const char *d2;
            size_t d2len;
            fileparse_dir(d, dlen, &d2, &d2len);
            d = d2;
            dlen = strip_trailing_sep(d2, d2len);
        }
        return rapt__buf_add(out, d, dlen);
    }
    }
    return -EINVAL;
}

int rapt__shell_quote(rapt__buf *out, const char *p, size_t n)
{
    if (n == 0)
        return rapt__buf_add(out, "''", 2);
    bool plain = true;
    for (size_t i = 0; i < n && plain; i++) {
        unsigned char c = (unsigned char)p[i];
        plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '+' || c == '/';
    }
    if (plain)
        return rapt__buf_add(out, p, n);
    /* '...' with every ' written as '"'"'; GNU parallel then drops a '' left at either end,
     * so "'x" quotes as "'"'x' rather than ''"'"'x'. */
    size_t start = out->len;
    int r = rapt__buf_addc(out, '\'');
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (p[i] == '\'')
            r = rapt__buf_add(out, "'\"'\"'", 5);
        else
            r = rapt__buf_addc(out, p[i]);
    }
    if (r == 0)
        r = rapt__buf_addc(out, '\'');
    if (r < 0)
        return r;
    if (out->len - start >= 2 && out->p[start] == '\'' && out->p[start + 1] == '\'') {
        memmove(out->p + start, out->p + start + 2, out->len - start - 2);
        out->len -= 2;
    }
    if (out->len - start >= 2 && out->p[out->len - 1] == '\'' && out->p[out->len - 2] == '\'')
        out->len -= 2;
    out->p[out->len] = '\0';
    return 0;
}

/* ---- compiling -------------------------------------------------------------------------- */

static int push_tok(rapt__tmpl *t, size_t *cap, tok k)
{
    if (t->ntoks == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        tok *nt = realloc(t->toks, nc * sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        t->toks = nt;
        *cap = nc;
    }
    t->toks[t->ntoks++] = k;
    return 0;
}

/* Parses the inside of {...}; false when it is not a replacement string. */
static bool parse_field(const char *s, size_t n, tok *k)
{
    static const struct {
        const char *suffix;
        rapt__rpl_op op;
    } ops[] = {
        {"", RAPT__OP_NONE},  {".", RAPT__OP_NOEXT},      {"/", RAPT__OP_BASE},
        {"//", RAPT__OP_DIR}, {"/.", RAPT__OP_BASENOEXT},
    };
    memset(k, 0, sizeof(*k));
    k->kind = TK_FIELD;
    if (n == 1 && s[0] == '#') {
        k->what = W_SEQ;
        return true;
    }
    if (n == 1 && s[0] == '%') {
        k->what = W_SLOT;
        return true;
    }
    size_t i = 0;
    bool neg = false;
    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    size_t d0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    bool numbered = i > d0;
    if (neg && !numbered)
        return false;
    if (numbered) {
        uint64_t v;
        if (rapt__parse_u64(s + d0, i - d0, &v) < 0 || v == 0 || v > INT32_MAX)
            return false;
        k->what = W_NTH;
        k->n = neg ? -(int32_t)v : (int32_t)v;
    } else {
        k->what = W_ALL;
    }
    for (size_t j = 0; j < RAPT__ARRAY_SIZE(ops); j++) {
        size_t sl = strlen(ops[j].suffix);
        if (n - i == sl && memcmp(s + i, ops[j].suffix, sl) == 0) {
            k->op = (unsigned char)ops[j].op;
            return true;
        }
    }
    return false;
}

/* Characters that mean nothing to a POSIX shell inside a word (bytes >= 0x80 included: dash
 * and bash treat them as ordinary). '=' is checked separately in the first word. */
static bool plain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80 || strchr("_-.,/:@+%=", c) != NULL;
}

/* Words a shell handles itself: running them through exec would fail (cd, exit, export, ...)
 * or parse differently (keywords). Utilities that also exist as programs (echo, printf, test,
 * true, kill, pwd) are exec'd directly. */
static bool shell_word(const char *w)
{
    static const char *const words[] = {
        ".",      ":",       "[[",     "]]",     "{",       "}",        "!",        "alias",
        "bg",     "break",   "case",   "cd",     "command", "continue", "coproc",   "declare",
        "do",     "done",    "elif",   "else",   "esac",    "eval",     "exec",     "exit",
        "export", "fc",      "fg",     "fi",     "for",     "function", "getopts",  "hash",
        "if",     "in",      "jobs",   "let",    "local",   "read",     "readonly", "return",
        "select", "set",     "shift",  "source", "then",    "time",     "times",    "trap",
        "type",   "typeset", "ulimit", "umask",  "unalias", "unset",    "until",    "wait",
        "while",
    };
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(words); i++) {
        if (strcmp(w, words[i]) == 0)
            return true;
    }
    return false;
}

/* Decides direct vs shell mode once the tokens are known. */
static int classify(rapt__tmpl *t)
{
    t->direct = false;
    if (t->empty)
        return 0;
    for (size_t i = 0; i < t->ntoks; i++) {
        const tok *k = &t->toks[i];
        if (k->kind != TK_LIT)
            continue;
        for (size_t j = 0; j < k->len; j++) {
            unsigned char c = (unsigned char)t->text[k->off + j];
            if (c != ' ' && !plain_char(c))
                return 0;
        }
    }
    /* The first word: skip leading blanks, then collect literal bytes up to the next blank. */
    rapt__buf first = RAPT__BUF_INIT;
    bool literal = true, started = false, done = false;
    for (size_t i = 0; i < t->ntoks && !done; i++) {
        const tok *k = &t->toks[i];
        if (k->kind == TK_FIELD) {
            started = true;
            literal = false;
            continue;
        }
        for (size_t j = 0; j < k->len; j++) {
            char c = t->text[k->off + j];
            if (c == ' ') {
                if (started) {
                    done = true;
                    break;
                }
                continue;
            }
            started = true;
            if (rapt__buf_addc(&first, c) < 0) {
                rapt__buf_free(&first);
                return -ENOMEM;
            }
        }
    }
    bool shell = (first.p && strchr(first.p, '=')) || (literal && first.p && shell_word(first.p));
    if (!shell) {
        t->direct = true;
        if (literal && first.p) {
            t->program = first.p; /* ownership moves to the template */
            first.p = NULL;
        }
    }
    rapt__buf_free(&first);
    return 0;
}

int rapt__tmpl_compile(rapt__tmpl **out, const char *cmd)
{
    *out = NULL;
    rapt__tmpl *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->text = strdup(cmd ? cmd : "");
    if (!t->text) {
        free(t);
        return -ENOMEM;
    }
    size_t n = strlen(t->text);
    t->empty = strspn(t->text, " ") == n;
    size_t cap = 0, lit = 0;
    int r = 0;
    for (size_t i = 0; i < n && r == 0;) {
        if (t->text[i] == '{') {
            const char *close = memchr(t->text + i + 1, '}', n - i - 1);
            tok k;
            if (close && parse_field(t->text + i + 1, (size_t)(close - t->text) - i - 1, &k)) {
                if (i > lit)
                    r = push_tok(t, &cap, (tok){.kind = TK_LIT, .off = lit, .len = i - lit});
                if (r == 0)
                    r = push_tok(t, &cap, k);
                t->has_rpl = true;
                i = (size_t)(close - t->text) + 1;
                lit = i;
                continue;
            }
        }
        i++;
    }
    if (r == 0 && n > lit)
        r = push_tok(t, &cap, (tok){.kind = TK_LIT, .off = lit, .len = n - lit});
    if (r == 0)
        r = classify(t);
    if (r < 0) {
        rapt__tmpl_destroy(t);
        return r;
    }
    *out = t;
    return 0;
}

void rapt__tmpl_destroy(rapt__tmpl *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->toks);
    free(t->program);
    free(t);
}

const char *rapt__tmpl_text(const rapt__tmpl *t)
{
    return t->empty ? "" : t->text;
}

bool rapt__tmpl_direct(const rapt__tmpl *t)
{
    return t->direct;
}

bool rapt__tmpl_empty(const rapt__tmpl *t)
{
    return t->empty;
}

const char *rapt__tmpl_program(const rapt__tmpl *t)
{
    return t->program;
}

/* ---- expanding -------------------------------------------------------------------------- */

/* The values a field stands for: [*first, *first + *count) of the job's arguments. */
static void field_range(const tok *k, const rapt__jobctx *c, size_t *first, size_t *count)
{
    *first = 0;
    *count = 0;
    if (k->what == W_ALL) {
        *count = c->nargs;
    } else if (k->what == W_NTH) {
        int64_t idx = k->n > 0 ? (int64_t)k->n - 1 : (int64_t)c->nargs + k->n;
        if (idx >= 0 && (uint64_t)idx < c->nargs) {
            *first = (size_t)idx;
            *count = 1;
        }
    }
}

/* A numbered argument beyond the last one is an empty value (GNU parallel expands it to ''),
 * which is not the same as "no values" (a `{}` of a job with no arguments). */
static bool field_is_empty_value(const tok *k, const rapt__jobctx *c)
{
    size_t f, cnt;
    field_range(k, c, &f, &cnt);
    return k->what == W_NTH && cnt == 0;
}

static int add_number(rapt__buf *out, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    return rapt__buf_add(out, num, (size_t)n);
}

/* Expands the template as one string; quote selects GNU parallel's quoting of values. */
static int expand_string(const rapt__tmpl *t, const rapt__jobctx *c, rapt__buf *out, bool quote,
                         bool append)
{
    int r = 0;
    if (t->empty) {
        /* No command: the arguments, unquoted, are the command line. */
        for (size_t i = 0; r == 0 && i < c->nargs; i++) {
            if (i)
                r = rapt__buf_addc(out, ' ');
            if (r == 0)
                r = rapt__buf_add(out, c->args[i].p, c->args[i].len);
        }
        return r;
    }
    rapt__buf tmp = RAPT__BUF_INIT;
    for (size_t i = 0; r == 0 && i < t->ntoks; i++) {
        const tok *k = &t->toks[i];
        if (k->kind == TK_LIT) {
            r = rapt__buf_add(out, t->text + k->off, k->len);
            continue;
        }
        if (k->what == W_SEQ) {
            r = add_number(out, c->seq);
            continue;
        }
        if (k->what == W_SLOT) {
            r = add_number(out, c->slot);
            continue;
        }
        size_t first, count;
        field_range(k, c, &first, &count);
        if (count == 0 && field_is_empty_value(k, c) && quote)
            r = rapt__buf_add(out, "''", 2);
        for (size_t j = 0; r == 0 && j < count; j++) {
            if (j)
                r = rapt__buf_addc(out, ' ');
            const rapt__val *v = &c->args[first + j];
            if (r == 0 && quote) {
                rapt__buf_clear(&tmp);
                r = rapt__rpl_apply((rapt__rpl_op)k->op, v->p, v->len, &tmp);
                if (r == 0)
                    r = rapt__shell_quote(out, tmp.p ? tmp.p : "", tmp.len);
            } else if (r == 0) {
                r = rapt__rpl_apply((rapt__rpl_op)k->op, v->p, v->len, out);
            }
        }
    }
    rapt__buf_free(&tmp);
    if (r == 0 && append && !t->has_rpl) {
        /* No replacement string: the arguments are appended, each quoted. */
        for (size_t i = 0; r == 0 && i < c->nargs; i++) {
            r = rapt__buf_addc(out, ' ');
            if (r == 0)
                r = quote ? rapt__shell_quote(out, c->args[i].p, c->args[i].len)
                          : rapt__buf_add(out, c->args[i].p, c->args[i].len);
        }
    }
    return r;
}

int rapt__tmpl_line(const rapt__tmpl *t, const rapt__jobctx *c, rapt__buf *out)
{
    return expand_string(t, c, out, true, true);
}

int rapt__tmpl_plain(const rapt__tmpl *t, const rapt__jobctx *c, rapt__buf *out)
{
    return expand_string(t, c, out, false, false);
}

/* argv construction: words are NUL-separated in `strings`; offsets of their starts are kept in
 * `ptrs` until the end, when they become pointers (strings may move while it grows). */
typedef struct argv_builder {
    rapt__buf *strings, *ptrs;
    size_t word_start;
    bool in_word;
} argv_builder;

static void ab_start(argv_builder *b)
{
    if (b->in_word)
        return;
    b->word_start = b->strings->len;
    b->in_word = true;
}

static int ab_end(argv_builder *b)
{
    if (!b->in_word)
        return 0;
    /* A NUL inside a value ends the argument there (what execve would do anyway). */
    size_t len = strnlen(b->strings->p + b->word_start, b->strings->len - b->word_start);
    b->strings->len = b->word_start + len;
    int r = rapt__buf_addc(b->strings, '\0');
    size_t off = b->word_start;
    if (r == 0)
        r = rapt__buf_add(b->ptrs, &off, sizeof(off));
    b->in_word = false;
    return r;
}

int rapt__tmpl_argv(const rapt__tmpl *t, const rapt__jobctx *c, rapt__buf *strings, rapt__buf *ptrs,
                    char ***argv)
{
    if (!t->direct)
        return -EINVAL;
    rapt__buf_clear(strings);
    rapt__buf_clear(ptrs);
    argv_builder b = {.strings = strings, .ptrs = ptrs};
    int r = 0;
    for (size_t i = 0; r == 0 && i < t->ntoks; i++) {
        const tok *k = &t->toks[i];
        if (k->kind == TK_LIT) {
            for (size_t j = 0; r == 0 && j < k->len; j++) {
                char ch = t->text[k->off + j];
                if (ch == ' ') {
                    r = ab_end(&b);
                } else {
                    ab_start(&b);
                    r = rapt__buf_addc(strings, ch);
                }
            }
            continue;
        }
        if (k->what == W_SEQ || k->what == W_SLOT) {
            ab_start(&b);
            r = add_number(strings, k->what == W_SEQ ? c->seq : c->slot);
            continue;
        }
        size_t first, count;
        field_range(k, c, &first, &count);
        if (count == 0 && field_is_empty_value(k, c))
            ab_start(&b); /* '' is still a word */
        for (size_t j = 0; r == 0 && j < count; j++) {
            if (j)
                r = ab_end(&b); /* several values are several words, as quoted words are */
            ab_start(&b);
            const rapt__val *v = &c->args[first + j];
            if (r == 0)
                r = rapt__rpl_apply((rapt__rpl_op)k->op, v->p, v->len, strings);
        }
    }
    if (r == 0)
        r = ab_end(&b);
    if (r == 0 && !t->has_rpl) {
        for (size_t i = 0; r == 0 && i < c->nargs; i++) {
            ab_start(&b);
            r = rapt__buf_add(strings, c->args[i].p, c->args[i].len);
            if (r == 0)
                r = ab_end(&b);
        }
    }
    if (r < 0)
        return r;
    /* Turn offsets into pointers in place (same size, checked below) and terminate the
     * array. memcpy keeps the two views of the bytes free of aliasing questions. */
    _Static_assert(sizeof(size_t) == sizeof(char *), "offsets and pointers share the array");
    size_t nwords = ptrs->len / sizeof(size_t);
    if ((r = rapt__buf_reserve(ptrs, sizeof(char *))) < 0)
        return r;
    for (size_t i = 0; i <= nwords; i++) {
        char *ptr = NULL;
        if (i < nwords) {
            size_t off;
            memcpy(&off, ptrs->p + i * sizeof(off), sizeof(off));
            ptr = strings->p + off;
        }
        memcpy(ptrs->p + i * sizeof(ptr), &ptr, sizeof(ptr));
    }
    ptrs->len = (nwords + 1) * sizeof(char *);
    *argv = (char **)(void *)ptrs->p;
    return 0;
}
