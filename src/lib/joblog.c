/* joblog.c: GNU parallel's --joblog format (see joblog.h).
 *
 * Owns the joblog file descriptor and the bitmaps of a log read back. Reading is streamed
 * (a line at a time through stdio), so a log of millions of jobs costs two bits per job.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "lib/joblog.h"

/* 2^26 jobs: 8 MiB per bitmap. A larger seq in a log is refused as corrupt. */
#define MAX_SEQ (1ull << 26)

const char rapt__joblog_header[] =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

int rapt__joblog_format(const rapt__joblog_rec *r, rapt__buf *out)
{
    rapt__buf_clear(out);
    /* GNU parallel: sprintf("%.3f", start) and sprintf("%10.3f", int(runtime*1000)/1000). */
    uint64_t ms = r->runtime_ns / 1000000ull;
    double start = (double)r->start_wall_ns / 1e9;
    int rc = rapt__buf_addf(out, "%llu\t:\t%.3f\t%10.3f\t0\t%llu\t%lld\t%d\t",
                            (unsigned long long)r->seq, start, (double)ms / 1000.0,
                            (unsigned long long)r->receive, (long long)r->exitval, r->signal);
    if (rc < 0)
        return rc;
    size_t at = out->len;
    if ((rc = rapt__buf_add(out, r->cmd, r->cmd_len)) < 0)
        return rc;
    for (size_t i = at; i < out->len; i++) {
        if (out->p[i] == '\n')
            out->p[i] = '\0';
    }
    return rapt__buf_addc(out, '\n');
}

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct parsed {
    uint64_t seq;
    int64_t exitval;
    int64_t signal;
    const char *cmd;
    size_t cmd_len;
} parsed;

/* Splits one line (without its newline) into the nine fields. */
/* The command is everything after the eighth tab: a command may contain tabs itself, and
 * GNU parallel writes it unescaped. Only its newlines are encoded (as NUL bytes). */
static int parse_line(const char *line, size_t len, parsed *p)
{
    const char *f[9];
    size_t fl[9];
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len && k < 9; i++) {
        /* The command is the rest of the line: it may hold tabs of its own. */
        if (k == 8) {
            f[8] = line + start;
            fl[8] = len - start;
            k = 9;
            break;
        }
        if (i == len || line[i] == '\t') {
            f[k] = line + start;
            fl[k] = i - start;
            k++;
            start = i + 1;
        }
    }
    if (k != 9)
        return -EINVAL;
    if (rapt__parse_u64(f[0], fl[0], &p->seq) < 0 || p->seq == 0)
        return -EINVAL;
    if (rapt__parse_i64(f[6], fl[6], &p->exitval) < 0 ||
        rapt__parse_i64(f[7], fl[7], &p->signal) < 0)
        return -EINVAL;
    p->cmd = f[8];
    p->cmd_len = fl[8];
    return 0;
}

/* Bitmaps grow by doubling to the largest seq seen (capped at MAX_SEQ): two bits a job, so
 * a million-job log costs 250 KB. */
static int set_bit(uint8_t **bits, uint64_t *cap, uint64_t seq, bool on)
{
    if (seq > *cap) {
        uint64_t nc = *cap ? *cap : 1024;
        while (nc < seq)
            nc *= 2;
        if (nc > MAX_SEQ)
            nc = MAX_SEQ;
        uint8_t *nb = realloc(*bits, (size_t)(nc / 8));
        if (!nb)
            return -ENOMEM;
        memset(nb + *cap / 8, 0, (size_t)((nc - *cap) / 8));
        *bits = nb;
        *cap = nc;
    }
    uint8_t m = (uint8_t)(1u << ((seq - 1) % 8));
    if (on)
        (*bits)[(seq - 1) / 8] |= m;
    else
        (*bits)[(seq - 1) / 8] &= (uint8_t)~m;
    return 0;
}

void rapt__joblog_state_free(rapt__joblog_state *st)
{
    free(st->logged);
    free(st->failed);
    rapt__buf_free(&st->probe_cmd);
    memset(st, 0, sizeof(*st));
}

int rapt__joblog_read(const char *path, rapt__joblog_state *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    uint64_t bitcap = 0, offset = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        bool whole = n > 0 && line[n - 1] == '\n';
        size_t len = (size_t)n - (whole ? 1 : 0);
        if (lineno == 1) {
            if (!whole && strncmp(line, rapt__joblog_header, len) == 0) {
                st->torn = true; /* even the header was cut short */
                break;
            }
            if ((size_t)n != strlen(rapt__joblog_header) ||
                memcmp(line, rapt__joblog_header, (size_t)n) != 0) {
                snprintf(err, errlen, "the first line is not GNU parallel's joblog header");
                rc = RAPT_EPARSE;
                break;
            }
            offset += (uint64_t)n;
            st->good_len = offset;
            continue;
        }
        if (!whole) {
            st->torn = true; /* the last record was cut short: ignore it */
            break;
        }
        parsed p;
        if (parse_line(line, len, &p) < 0) {
            /* Only the last line may be torn; a bad line before it means another file. */
            int c = fgetc(f);
            if (c == EOF) {
                st->torn = true;
                break;
            }
            snprintf(err, errlen, "line %zu is not a joblog record", lineno);
            rc = RAPT_EPARSE;
            break;
        }
        if (p.seq > MAX_SEQ) {
            snprintf(err, errlen, "line %zu: job number %llu is beyond what rapt accepts", lineno,
                     (unsigned long long)p.seq);
            rc = RAPT_EPARSE;
            break;
        }
        uint64_t c1 = bitcap, c2 = bitcap;
        bool failed = p.exitval != 0 || p.signal != 0;
        if ((rc = set_bit(&st->logged, &c1, p.seq, true)) < 0 ||
            (rc = set_bit(&st->failed, &c2, p.seq, failed)) < 0)
            break;
        bitcap = c1;
        if (p.seq > st->max_seq)
            st->max_seq = p.seq;
        st->records++;
        if (failed)
            st->failures++;
        if (st->probe_seq == 0 || p.seq < st->probe_seq) {
            st->probe_seq = p.seq;
            rapt__buf_clear(&st->probe_cmd);
            if ((rc = rapt__buf_add(&st->probe_cmd, p.cmd, p.cmd_len)) < 0)
                break;
        }
        offset += (uint64_t)n;
        st->good_len = offset;
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    free(line);
    fclose(f);
    if (rc < 0)
        rapt__joblog_state_free(st);
    return rc;
}

/* The iterator indexes the log once: for every record of a failed seq, its offset; sorted by
 * seq (stable, so the last record of a seq comes last), duplicates dropped but the last. Then
 * each step is one seek and one line: memory grows with the failed jobs, not with the log. */
typedef struct seqoff {
    uint64_t seq;
    uint64_t off;
    uint64_t order; /* position in the file, to keep the sort stable */
} seqoff;

struct rapt__joblog_iter {
    FILE *f;
    seqoff *v;
    size_t n, next;
    char *line;
    size_t linecap;
};

static int cmp_seqoff(const void *a, const void *b)
{
    const seqoff *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

int rapt__joblog_iter_open(rapt__joblog_iter **out, const char *path, const rapt__joblog_state *st)
{
    *out = NULL;
    rapt__joblog_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return -ENOMEM;
    it->f = fopen(path, "re");
    if (!it->f) {
        int e = errno;
        free(it);
        return -e;
    }
    size_t cap = 0;
    uint64_t off = 0, order = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&it->line, &it->linecap, it->f)) >= 0) {
        uint64_t here = off;
        off += (uint64_t)n;
        if (order++ == 0 || it->line[n - 1] != '\n')
            continue; /* the header, or a torn last line */
        parsed p;
        if (parse_line(it->line, (size_t)n - 1, &p) < 0 ||
            !rapt__joblog_has(st->failed, st->max_seq, p.seq))
            continue;
        if (it->n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            seqoff *nv = realloc(it->v, nc * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            it->v = nv;
            cap = nc;
        }
        it->v[it->n++] = (seqoff){p.seq, here, order};
    }
    if (rc == 0 && ferror(it->f))
        rc = -EIO;
    if (rc < 0) {
        rapt__joblog_iter_close(it);
        return rc;
    }
    qsort(it->v, it->n, sizeof(*it->v), cmp_seqoff);
    /* Keep only the last record of each seq. */
    size_t w = 0;
    for (size_t i = 0; i < it->n; i++) {
        if (i + 1 < it->n && it->v[i + 1].seq == it->v[i].seq)
            continue;
        it->v[w++] = it->v[i];
    }
    it->n = w;
    *out = it;
    return 0;
}

int rapt__joblog_iter_next(rapt__joblog_iter *it, uint64_t *seq, rapt__buf *cmd)
{
    if (it->next >= it->n)
        return 0;
    const seqoff *so = &it->v[it->next++];
    if (fseeko(it->f, (off_t)so->off, SEEK_SET) < 0)
        return -errno;
    ssize_t n = getline(&it->line, &it->linecap, it->f);
    parsed p;
    if (n <= 0 || parse_line(it->line, (size_t)n - 1, &p) < 0)
        return -EIO; /* the file changed under us */
    rapt__buf_clear(cmd);
    if (rapt__buf_add(cmd, p.cmd, p.cmd_len) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < cmd->len; i++) {
        if (cmd->p[i] == '\0')
            cmd->p[i] = '\n';
    }
    *seq = so->seq;
    return 1;
}

void rapt__joblog_iter_close(rapt__joblog_iter *it)
{
    if (!it)
        return;
    if (it->f)
        fclose(it->f);
    free(it->v);
    free(it->line);
    free(it);
}

/* ---- writing ----------------------------------------------------------------------------- */

struct rapt__joblog {
    int fd;
};

int rapt__joblog_open(rapt__joblog **out, const char *path, bool truncate, uint64_t keep_len)
{
    *out = NULL;
    rapt__joblog *jl = calloc(1, sizeof(*jl));
    if (!jl)
        return -ENOMEM;
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    jl->fd = open(path, flags, 0644);
    if (jl->fd < 0) {
        int e = errno;
        free(jl);
        return -e;
    }
    struct stat st;
    if (fstat(jl->fd, &st) < 0) {
        int e = errno;
        rapt__joblog_close(jl);
        return -e;
    }
    /* Cut a torn last line off, so the next record starts on a line of its own. */
    if (!truncate && keep_len > 0 && (uint64_t)st.st_size > keep_len) {
        if (ftruncate(jl->fd, (off_t)keep_len) < 0) {
            int e = errno;
            rapt__joblog_close(jl);
            return -e;
        }
        st.st_size = (off_t)keep_len;
    }
    if (st.st_size == 0) {
        size_t n = strlen(rapt__joblog_header);
        if (write(jl->fd, rapt__joblog_header, n) != (ssize_t)n) {
            int e = errno ? errno : EIO;
            rapt__joblog_close(jl);
            return -e;
        }
    }
    *out = jl;
    return 0;
}

/* One write() of the whole record on an O_APPEND fd: appends to a regular file are atomic,
 * so a concurrent reader or a crash sees either the record or nothing of it. */
int rapt__joblog_write(rapt__joblog *jl, const char *p, size_t n)
{
    ssize_t w;
    do
        w = write(jl->fd, p, n);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -errno;
    if ((size_t)w != n)
        return -ENOSPC; /* a short append: the next read-back treats it as torn */
    return 0;
}

void rapt__joblog_close(rapt__joblog *jl)
{
    if (!jl)
        return;
    if (jl->fd >= 0)
        close(jl->fd);
    free(jl);
}
