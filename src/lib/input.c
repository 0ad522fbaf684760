/* input.c: streaming input sources and their combinations (see input.h).
 *
 * Owns the file descriptors of `::::`/-a files (not stdin's), the read buffers, the odometer
 * that walks the cartesian product, and the --colsep regular expression.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "lib/input.h"

#define READ_CHUNK 65536

enum src_kind { SRC_VALUES, SRC_FD };

typedef struct src {
    enum src_kind kind;
    const char *name; /* for messages: the path, or "-" */
    /* SRC_VALUES */
    char *const *values;
    size_t nvalues, idx;
    /* SRC_FD */
    int fd;
    bool own_fd;
    bool seekable; /* a regular file: rewind with lseek */
    bool pollable; /* a pipe, socket or terminal: read only when poll() says so */
    off_t origin;  /* the offset to rewind to */
    rapt__buf rbuf;
    size_t rpos; /* consumed bytes of rbuf */
    bool eof;
    /* Replay of a pipe used as an inner source: every record, kept in memory. */
    bool stored, replaying;
    rapt__buf store; /* records, each followed by a NUL */
    rapt__buf offs;  /* size_t start offsets into store */
    size_t nstored, ridx;
    /* The current record and its columns (rapt__val into cur). */
    rapt__buf cur;
    rapt__buf cols;
} src;

struct rapt__input {
    rapt__input_opts o;
    char delim[64];
    size_t dlen;
    bool have_colsep;
    regex_t colsep;
    src *srcs;
    size_t nsrcs;
    bool primed;     /* the first combination has been produced */
    bool need_outer; /* inner sources are rewound; the outermost must advance */
    bool done;
    rapt__buf vals; /* rapt__val of the current combination */
};

/* ---- --colsep: Perl escapes to POSIX ERE ------------------------------------------------ */

int rapt__colsep_translate(const char *s, rapt__buf *ere)
{
    rapt__buf_clear(ere);
    bool in_bracket = false;
    int r = 0;
    for (size_t i = 0; s[i] && r == 0; i++) {
        char c = s[i];
        if (c == '[' && !in_bracket) {
            in_bracket = true;
            r = rapt__buf_addc(ere, c);
            /* A ']' right after '[' or '[^' is a member, not the end. */
            if (s[i + 1] == '^') {
                r = rapt__buf_addc(ere, '^');
                i++;
            }
            if (r == 0 && s[i + 1] == ']') {
                r = rapt__buf_addc(ere, ']');
                i++;
            }
            continue;
        }
        if (c == ']' && in_bracket) {
            in_bracket = false;
            r = rapt__buf_addc(ere, c);
            continue;
        }
        if (c != '\\' || !s[i + 1]) {
            r = rapt__buf_addc(ere, c);
            continue;
        }
        char e = s[++i];
        const char *cls = NULL, *ncls = NULL;
        char byte = 0;
        bool is_byte = true;
        switch (e) {
        case 't': byte = '\t'; break;
        case 'n': byte = '\n'; break;
        case 'r': byte = '\r'; break;
        case 'f': byte = '\f'; break;
        case 'e': byte = '\033'; break;
        case 'x': {
            unsigned v = 0, k = 0;
            while (k < 2 &&
                   ((s[i + 1] >= '0' && s[i + 1] <= '9') || (s[i + 1] >= 'a' && s[i + 1] <= 'f') ||
                    (s[i + 1] >= 'A' && s[i + 1] <= 'F'))) {
                char h = s[++i];
                v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                k++;
            }
            byte = (char)v;
            break;
        }
        case 's': cls = "[:space:]"; break;
        case 'S': ncls = "[:space:]"; break;
        case 'd': cls = "0-9"; break;
        case 'D': ncls = "0-9"; break;
        case 'w': cls = "[:alnum:]_"; break;
        case 'W': ncls = "[:alnum:]_"; break;
        default: is_byte = false; break;
        }
        if (cls || ncls) {
            if (in_bracket && cls)
                r = rapt__buf_adds(ere, cls);
            else if (in_bracket)
                r = rapt__buf_adds(ere, ncls); /* [^...] inside [...] has no ERE form: rare */
            else
                r = rapt__buf_addf(ere, "[%s%s]", ncls ? "^" : "", cls ? cls : ncls);
        } else if (is_byte) {
            /* A byte that is special in ERE (only possible through \x) is bracketed. */
            if (!in_bracket && byte && strchr(".[]()*+?{}|^$\\", byte))
                r = rapt__buf_addf(ere, "[%c]", byte);
            else if (byte == 0)
                r = -EINVAL; /* a NUL cannot be part of a POSIX pattern */
            else
                r = rapt__buf_addc(ere, byte);
        } else if (in_bracket) {
            /* Inside brackets a backslash is literal in ERE; Perl's \] \\ \- mean the char. */
            r = rapt__buf_addc(ere, e);
        } else {
            /* \. \| \( \\ ...: ERE reads an escaped special character literally. */
            r = rapt__buf_addc(ere, '\\');
            if (r == 0)
                r = rapt__buf_addc(ere, e);
        }
    }
    if (r == 0 && !ere->p)
        r = rapt__buf_add(ere, "", 0);
    return r;
}

/* ---- sources ---------------------------------------------------------------------------- */

static void src_free(src *s)
{
    if (s->own_fd && s->fd >= 0)
        close(s->fd);
    rapt__buf_free(&s->rbuf);
    rapt__buf_free(&s->store);
    rapt__buf_free(&s->offs);
    rapt__buf_free(&s->cur);
    rapt__buf_free(&s->cols);
}

static int add_src(rapt__input *in, src **out)
{
    src *ns = realloc(in->srcs, (in->nsrcs + 1) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    in->srcs = ns;
    src *s = &ns[in->nsrcs++];
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    *out = s;
    return 0;
}

int rapt__input_create(rapt__input **out, const rapt__input_opts *o, char *err, size_t errlen)
{
    *out = NULL;
    rapt__input *in = calloc(1, sizeof(*in));
    if (!in)
        return -ENOMEM;
    in->o = *o;
    if (o->delim) {
        if (o->delim_len == 0 || o->delim_len > sizeof(in->delim)) {
            free(in);
            if (err)
                snprintf(err, errlen, "the delimiter must be 1 to %zu bytes", sizeof(in->delim));
            return -EINVAL;
        }
        memcpy(in->delim, o->delim, o->delim_len);
        in->dlen = o->delim_len;
    } else {
        in->delim[0] = '\n';
        in->dlen = 1;
    }
    if (o->colsep) {
        rapt__buf ere = RAPT__BUF_INIT;
        int r = rapt__colsep_translate(o->colsep, &ere);
        if (r == 0) {
            int rc = regcomp(&in->colsep, ere.p, REG_EXTENDED);
            if (rc != 0) {
                if (err)
                    regerror(rc, &in->colsep, err, errlen);
                r = -EINVAL;
            } else {
                in->have_colsep = true;
            }
        } else if (r == -EINVAL && err) {
            snprintf(err, errlen, "a NUL byte cannot be part of the pattern");
        }
        rapt__buf_free(&ere);
        if (r < 0) {
            free(in);
            return r;
        }
    }
    *out = in;
    return 0;
}

void rapt__input_destroy(rapt__input *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->nsrcs; i++)
        src_free(&in->srcs[i]);
    free(in->srcs);
    if (in->have_colsep)
        regfree(&in->colsep);
    rapt__buf_free(&in->vals);
    free(in);
}

int rapt__input_add_values(rapt__input *in, char *const *values, size_t n)
{
    src *s;
    int r = add_src(in, &s);
    if (r < 0)
        return r;
    s->kind = SRC_VALUES;
    s->name = ":::";
    s->values = values;
    s->nvalues = n;
    return 0;
}

/* Classifies an open fd: regular files are rewound with lseek, pipes/ttys/sockets polled. */
/* Regular files never block and can be re-read; everything else (pipes, terminals, sockets)
 * must be polled before a read and read only once. */
static void classify_fd(src *s)
{
    struct stat st;
    if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        off_t at = lseek(s->fd, 0, SEEK_CUR);
        s->seekable = at >= 0;
        s->origin = at >= 0 ? at : 0;
    }
    s->pollable = !s->seekable;
}

int rapt__input_add_file(rapt__input *in, const char *path)
{
    int fd;
    bool own = true;
    if (strcmp(path, "-") == 0) {
        fd = STDIN_FILENO;
        own = false;
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return -errno;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            close(fd);
            return -EISDIR;
        }
    }
    src *s;
    int r = add_src(in, &s);
    if (r < 0) {
        if (own)
            close(fd);
        return r;
    }
    s->kind = SRC_FD;
    s->name = path;
    s->fd = fd;
    s->own_fd = own;
    classify_fd(s);
    return 0;
}

size_t rapt__input_nsources(const rapt__input *in)
{
    return in->nsrcs;
}

/* Splits s->cur into columns (rapt__val into cur), GNU parallel's `split /colsep/, $_, -1`:
 * trailing empty fields are kept; an empty match never separates at the start, at the end,
 * or right where the previous separator ended. */
/* REG_STARTEND matches within [pos, len) without copying and lets values hold NUL bytes;
 * REG_NOTBOL keeps '^' from matching in the middle of a record. */
static int split_columns(rapt__input *in, src *s)
{
    rapt__buf_clear(&s->cols);
    const char *p = s->cur.p ? s->cur.p : "";
    size_t len = s->cur.len;
    if (!in->have_colsep) {
        rapt__val v = {p, len};
        return rapt__buf_add(&s->cols, &v, sizeof(v));
    }
    size_t field = 0, pos = 0, prev_end = SIZE_MAX;
    int r = 0;
    while (pos <= len && r == 0) {
        regmatch_t m[1];
        m[0].rm_so = (regoff_t)pos;
        m[0].rm_eo = (regoff_t)len;
        if (regexec(&in->colsep, p, 1, m, REG_STARTEND | (pos > 0 ? REG_NOTBOL : 0)) != 0)
            break;
        size_t ms = (size_t)m[0].rm_so, me = (size_t)m[0].rm_eo;
        if (me == ms && (ms == 0 || ms == len || ms == prev_end)) {
            pos = ms + 1;
            continue;
        }
        rapt__val v = {p + field, ms - field};
        r = rapt__buf_add(&s->cols, &v, sizeof(v));
        field = me;
        prev_end = me;
        pos = me > ms ? me : me + 1;
    }
    if (r == 0) {
        rapt__val v = {p + field, len - field};
        r = rapt__buf_add(&s->cols, &v, sizeof(v));
    }
    return r;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\v' &&
            p[i] != '\f')
            return false;
    }
    return true;
}

/* Reads more bytes into s->rbuf. Returns 1 (got some or hit EOF), RAPT__INPUT_AGAIN, or
 * -errno. Never blocks on a pollable fd unless block is set. */
/* The read buffer keeps the unconsumed tail of the last read at its front; a record longer
 * than one read makes it grow, and nothing else does. */
static int fill(src *s, bool block)
{
    if (s->rpos > 0) {
        rapt__buf_consume(&s->rbuf, s->rpos);
        s->rpos = 0;
    }
    if (s->pollable && !block) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int n;
        do
            n = poll(&pfd, 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
        if (n == 0)
            return RAPT__INPUT_AGAIN;
    }
    int r = rapt__buf_reserve(&s->rbuf, READ_CHUNK);
    if (r < 0)
        return r;
    ssize_t got;
    do
        got = read(s->fd, s->rbuf.p + s->rbuf.len, READ_CHUNK);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return RAPT__INPUT_AGAIN;
        return -errno;
    }
    if (got == 0)
        s->eof = true;
    s->rbuf.len += (size_t)got;
    s->rbuf.p[s->rbuf.len] = '\0';
    return 1;
}

/* The next raw record of an fd source into s->cur: 1, 0 at EOF, AGAIN or -errno. */
static int next_fd_record(rapt__input *in, src *s, bool block)
{
    for (;;) {
        const char *base = s->rbuf.p ? s->rbuf.p + s->rpos : "";
        size_t avail = s->rbuf.len - s->rpos;
        const char *d = NULL;
        if (avail >= in->dlen)
            d = in->dlen == 1 ? memchr(base, in->delim[0], avail)
                              : memmem(base, avail, in->delim, in->dlen);
        if (d) {
            rapt__buf_clear(&s->cur);
            int r = rapt__buf_add(&s->cur, base, (size_t)(d - base));
            s->rpos += (size_t)(d - base) + in->dlen;
            return r < 0 ? r : 1;
        }
        if (s->eof) {
            if (avail == 0)
                return 0;
            /* The last record needs no delimiter after it. */
            rapt__buf_clear(&s->cur);
            int r = rapt__buf_add(&s->cur, base, avail);
            s->rpos += avail;
            return r < 0 ? r : 1;
        }
        int r = fill(s, block);
        if (r != 1)
            return r;
    }
}

/* The next record of a source (raw, before --colsep): 1, 0, AGAIN or -errno. */
static int src_next_raw(rapt__input *in, src *s, bool block)
{
    if (s->kind == SRC_VALUES) {
        if (s->idx >= s->nvalues)
            return 0;
        rapt__buf_clear(&s->cur);
        return rapt__buf_adds(&s->cur, s->values[s->idx++]) < 0 ? -ENOMEM : 1;
    }
    if (s->replaying) {
        if (s->ridx >= s->nstored)
            return 0;
        size_t off;
        memcpy(&off, s->offs.p + s->ridx * sizeof(off), sizeof(off));
        size_t end = s->store.len;
        if (s->ridx + 1 < s->nstored)
            memcpy(&end, s->offs.p + (s->ridx + 1) * sizeof(end), sizeof(end));
        s->ridx++;
        rapt__buf_clear(&s->cur);
        return rapt__buf_add(&s->cur, s->store.p + off, end - off - 1) < 0 ? -ENOMEM : 1;
    }
    return next_fd_record(in, s, block);
}

/* The next record with -r applied and columns split. */
static int src_next(rapt__input *in, src *s, bool block)
{
    for (;;) {
        int r = src_next_raw(in, s, block);
        if (r != 1)
            return r;
        if (in->o.skip_empty && blank(s->cur.p ? s->cur.p : "", s->cur.len))
            continue;
        r = split_columns(in, s);
        return r < 0 ? r : 1;
    }
}

static int src_rewind(src *s)
{
    if (s->kind == SRC_VALUES) {
        s->idx = 0;
        return 0;
    }
    if (s->stored) {
        s->replaying = true;
        s->ridx = 0;
        return 0;
    }
    if (!s->seekable)
        return -ESPIPE; /* cannot happen: inner pipes are stored by start() */
    if (lseek(s->fd, s->origin, SEEK_SET) < 0)
        return -errno;
    rapt__buf_clear(&s->rbuf);
    s->rpos = 0;
    s->eof = false;
    return 0;
}

/* Reads a pipe completely into its replay store (raw records, each followed by a NUL). */
static int store_all(rapt__input *in, src *s)
{
    for (;;) {
        int r = next_fd_record(in, s, true);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        size_t off = s->store.len;
        if ((r = rapt__buf_add(&s->offs, &off, sizeof(off))) < 0 ||
            (r = rapt__buf_add(&s->store, s->cur.p ? s->cur.p : "", s->cur.len)) < 0 ||
            (r = rapt__buf_addc(&s->store, '\0')) < 0)
            return r;
        s->nstored++;
    }
    rapt__buf_free(&s->rbuf);
    s->stored = true;
    s->replaying = true;
    s->ridx = 0;
    return 0;
}

int rapt__input_start(rapt__input *in)
{
    for (size_t i = 1; i < in->nsrcs; i++) {
        src *s = &in->srcs[i];
        if (s->kind == SRC_FD && !s->seekable && !s->stored) {
            int r = store_all(in, s);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* Copies a pipe into an unlinked temporary file and makes the source read that file. */
static int spool(src *s)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/rapt-input.XXXXXX", dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
            return -errno;
        unlink(path);
    }
    char buf[READ_CHUNK];
    /* What was already buffered comes first. */
    size_t pending = s->rbuf.len - s->rpos;
    if (pending && write(fd, s->rbuf.p + s->rpos, pending) != (ssize_t)pending) {
        int e = errno ? errno : EIO;
        close(fd);
        return -e;
    }
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(fd, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                int e = errno;
                close(fd);
                return -e;
            }
            w += k;
        }
    }
    if (s->own_fd)
        close(s->fd);
    s->fd = fd;
    s->own_fd = true;
    s->seekable = true;
    s->pollable = false;
    s->origin = 0;
    s->eof = false;
    rapt__buf_clear(&s->rbuf);
    s->rpos = 0;
    return lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0;
}

int rapt__input_count(rapt__input *in, uint64_t *total)
{
    *total = 0;
    if (in->nsrcs == 0)
        return 0;
    uint64_t product = 1;
    for (size_t i = 0; i < in->nsrcs; i++) {
        src *s = &in->srcs[i];
        if (s->kind == SRC_FD && !s->seekable && !s->stored) {
            int r = spool(s);
            if (r < 0)
                return r;
        }
        uint64_t n = 0;
        int r;
        while ((r = src_next(in, s, true)) == 1)
            n++;
        if (r < 0)
            return r;
        if ((r = src_rewind(s)) < 0)
            return r;
        product = n && product > UINT64_MAX / n ? UINT64_MAX : product * n;
    }
    *total = product;
    return 0;
}

/* Builds in->vals from every source's current columns. */
static int assemble(rapt__input *in, rapt__record *rec)
{
    rapt__buf_clear(&in->vals);
    for (size_t i = 0; i < in->nsrcs; i++) {
        int r = rapt__buf_add(&in->vals, in->srcs[i].cols.p, in->srcs[i].cols.len);
        if (r < 0)
            return r;
    }
    rec->vals = (const rapt__val *)(const void *)in->vals.p;
    rec->n = in->vals.len / sizeof(rapt__val);
    return 1;
}

/* The odometer: source k-1 advances on every call; when it runs out it is rewound and the
 * source before it advances, and so on; when the first source runs out, all combinations are
 * done. Only the first source can say AGAIN (inner pipes were read whole by start()), so
 * need_outer remembers that the inner ones are already rewound when the call is repeated. */
int rapt__input_next(rapt__input *in, rapt__record *rec, const char **errpath)
{
    if (in->done || in->nsrcs == 0)
        return 0;
    size_t k = in->nsrcs;
    int r;
    if (!in->primed) {
        /* Inner sources first (they never block); then the outermost, which may. */
        if (!in->need_outer) {
            for (size_t i = 1; i < k; i++) {
                r = src_next(in, &in->srcs[i], true);
                if (r <= 0) {
                    if (r < 0 && errpath)
                        *errpath = in->srcs[i].name;
                    in->done = r == 0;
                    return r;
                }
            }
            in->need_outer = true;
        }
    } else if (!in->need_outer) {
        /* Advance like an odometer: the last source fastest. */
        size_t i = k - 1;
        for (; i >= 1; i--) {
            r = src_next(in, &in->srcs[i], true);
            if (r == 1)
                return assemble(in, rec);
            if (r < 0) {
                if (errpath)
                    *errpath = in->srcs[i].name;
                return r;
            }
            if ((r = src_rewind(&in->srcs[i])) < 0 || (r = src_next(in, &in->srcs[i], true)) < 0) {
                if (errpath)
                    *errpath = in->srcs[i].name;
                return r;
            }
        }
        in->need_outer = true;
    }
    r = src_next(in, &in->srcs[0], false);
    if (r == RAPT__INPUT_AGAIN)
        return r;
    if (r < 0) {
        if (errpath)
            *errpath = in->srcs[0].name;
        return r;
    }
    if (r == 0) {
        in->done = true;
        return 0;
    }
    in->need_outer = false;
    in->primed = true;
    return assemble(in, rec);
}

int rapt__input_pollfd(const rapt__input *in)
{
    if (in->nsrcs == 0 || in->srcs[0].kind != SRC_FD || !in->srcs[0].pollable)
        return -1;
    return in->srcs[0].fd;
}

size_t rapt__input_memory(const rapt__input *in)
{
    size_t total = in->vals.cap;
    for (size_t i = 0; i < in->nsrcs; i++) {
        const src *s = &in->srcs[i];
        total += s->rbuf.cap + s->store.cap + s->offs.cap + s->cur.cap + s->cols.cap;
    }
    return total;
}
