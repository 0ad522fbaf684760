/* output.c: buffering, spilling, tagging, ordering and printing jobs' output (see output.h).
 *
 * Owns the spill files of job streams (through rapt__jobout), the keep-order ring of
 * unprinted jobs, the shared parking file, and the staging buffer in front of rapt's stdout
 * and stderr. All output goes through write_all/copy_out, which handle short writes, EINTR,
 * a non-blocking stdout inherited from the caller, and remember the first error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "lib/output.h"

#define CHUNK 65536

enum { E_PENDING = 0, E_PARKED, E_GONE };

typedef struct oentry {
    uint8_t state;
    rapt__jobout *jo; /* while pending: the job, so line mode can make it live */
    bool infile[2];   /* parked in the parking file rather than in mem */
    rapt__buf mem[2];
    uint64_t off[2], len[2];
    rapt__buf trailer; /* handed to the trailer callback when the entry's turn comes */
} oentry;

struct rapt__out {
    rapt__out_opts o;
    oentry *ring; /* keep-order entries for positions [head, tail) at index pos & (cap-1) */
    size_t cap;
    uint64_t head, tail;
    int park_fd; /* the shared parking file, -1 until needed */
    uint64_t park_end;
    size_t park_in_file; /* entries with bytes in the parking file */
    size_t parked_mem;
    rapt__buf stage; /* bytes on their way to one fd */
    int stage_fd;
    char scratch[CHUNK];
    int err;
};

/* ---- temporary files ------------------------------------------------------------------- */

static int tmpfile_fd(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    /* File systems without O_TMPFILE: create and unlink at once. */
    char path[4096];
    snprintf(path, sizeof(path), "%s/rapt-out.XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path);
    return fd;
}

/* ---- writing to rapt's stdout/stderr ----------------------------------------------------- */

static void write_all(rapt__out *o, int fd, const char *p, size_t n)
{
    while (n > 0 && !o->err) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                /* Someone handed us a non-blocking stdout: wait until it drains. */
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            o->err = -errno;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void stage_flush(rapt__out *o)
{
    if (o->stage.len > 0 && o->stage_fd >= 0)
        write_all(o, o->stage_fd, o->stage.p, o->stage.len);
    rapt__buf_clear(&o->stage);
}

void rapt__out_flush(rapt__out *o)
{
    stage_flush(o);
}

/* Copies [off, off+len) of file `in` to fd `out`: sendfile, or read/write where sendfile
 * refuses (an O_APPEND stdout, old kernels). */
static void copy_out(rapt__out *o, int out, int in, uint64_t off, uint64_t len)
{
    off_t pos = (off_t)off;
    while (len > 0 && !o->err) {
        size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t n = sendfile(out, in, &pos, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = out, .events = POLLOUT};
            poll(&pfd, 1, -1);
            continue;
        }
        if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
            while (len > 0 && !o->err) {
                ssize_t r = pread(in, o->scratch, len < CHUNK ? (size_t)len : CHUNK, pos);
                if (r <= 0) {
                    o->err = r < 0 ? -errno : -EIO;
                    return;
                }
                write_all(o, out, o->scratch, (size_t)r);
                pos += r;
                len -= (uint64_t)r;
            }
            return;
        }
        if (n <= 0) {
            o->err = n < 0 ? -errno : -EIO;
            return;
        }
        len -= (uint64_t)n;
    }
}

/* ---- sinks: where emitted bytes go ------------------------------------------------------- */

/* A sink is either an fd (through the staging buffer) or one stream of a parked entry. */
typedef struct sink {
    rapt__out *o;
    int fd;
    oentry *e;
    int stream;
} sink;

static int park_file(rapt__out *o)
{
    if (o->park_fd < 0) {
        int fd = tmpfile_fd();
        if (fd < 0)
            return fd;
        o->park_fd = fd;
        o->park_end = 0;
    }
    return 0;
}

/* Small pieces (tags, lines) are staged and flushed together, so --tag does not cost a
 * write per line; large ones go straight out. A parked stream whose memory cannot grow moves
 * to the parking file rather than failing. */
static void sink_put(sink *k, const char *p, size_t n)
{
    rapt__out *o = k->o;
    if (n == 0)
        return;
    if (!k->e) {
        if (o->stage_fd != k->fd) {
            stage_flush(o);
            o->stage_fd = k->fd;
        }
        if (n >= CHUNK) {
            stage_flush(o);
            write_all(o, k->fd, p, n);
            return;
        }
        if (rapt__buf_add(&o->stage, p, n) < 0) {
            stage_flush(o);
            write_all(o, k->fd, p, n);
            return;
        }
        if (o->stage.len >= CHUNK)
            stage_flush(o);
        return;
    }
    oentry *e = k->e;
    int s = k->stream;
    if (!e->infile[s]) {
        if (rapt__buf_add(&e->mem[s], p, n) == 0) {
            o->parked_mem += n;
            return;
        }
        /* Out of memory: move what this stream has to the file and go on there. */
        if (park_file(o) < 0)
            return;
        e->infile[s] = true;
        e->off[s] = o->park_end;
        e->len[s] = 0;
        o->park_in_file++;
        if (e->mem[s].len) {
            pwrite(o->park_fd, e->mem[s].p, e->mem[s].len, (off_t)o->park_end);
            o->park_end += e->mem[s].len;
            e->len[s] += e->mem[s].len;
            o->parked_mem -= e->mem[s].len;
            rapt__buf_free(&e->mem[s]);
        }
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(o->park_fd, p + done, n - done, (off_t)o->park_end);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            o->err = w < 0 ? -errno : -EIO;
            return;
        }
        done += (size_t)w;
        o->park_end += (uint64_t)w;
        e->len[s] += (uint64_t)w;
    }
}

/* Copies a file range into a sink without tags. */
static void sink_copy_file(sink *k, int in, uint64_t off, uint64_t len)
{
    rapt__out *o = k->o;
    if (!k->e) {
        stage_flush(o);
        copy_out(o, k->fd, in, off, len);
        return;
    }
    if (k->e->infile[k->stream]) {
        /* Both in temporary files: let the kernel copy. */
        loff_t ioff = (loff_t)off, ooff = (loff_t)o->park_end;
        while (len > 0) {
            ssize_t n = copy_file_range(in, &ioff, o->park_fd, &ooff, (size_t)len, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; /* cross-device or unsupported: fall back below */
            len -= (uint64_t)n;
            o->park_end += (uint64_t)n;
            k->e->len[k->stream] += (uint64_t)n;
        }
        off = (uint64_t)ioff;
    }
    while (len > 0) {
        ssize_t r = pread(in, o->scratch, len < CHUNK ? (size_t)len : CHUNK, (off_t)off);
        if (r <= 0) {
            o->err = r < 0 ? -errno : -EIO;
            return;
        }
        sink_put(k, o->scratch, (size_t)r);
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
}

/* Writes bytes with the tag at the start of every line. *bol: at a line start. */
static void put_tagged(sink *k, const rapt__buf *tag, const char *p, size_t n, bool *bol)
{
    while (n > 0) {
        if (*bol && tag->len)
            sink_put(k, tag->p, tag->len);
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) + 1 : n;
        sink_put(k, p, len);
        *bol = nl != NULL;
        p += len;
        n -= len;
    }
}

/* Emits a whole stream (memory head, then the spill file) into a sink, tagged or raw. */
static void emit_stream(rapt__out *o, sink *k, const rapt__stream *s, const rapt__buf *tag)
{
    if (!tag->len) {
        sink_put(k, s->mem.p, s->mem.len);
        if (s->spilled)
            sink_copy_file(k, s->spill, 0, s->spilled);
        return;
    }
    bool bol = true;
    put_tagged(k, tag, s->mem.p, s->mem.len, &bol);
    for (uint64_t off = 0; off < s->spilled;) {
        uint64_t left = s->spilled - off;
        ssize_t r = pread(s->spill, o->scratch, left < CHUNK ? (size_t)left : CHUNK, (off_t)off);
        if (r <= 0) {
            o->err = r < 0 ? -errno : -EIO;
            return;
        }
        put_tagged(k, tag, o->scratch, (size_t)r, &bol);
        off += (uint64_t)r;
    }
}

/* ---- streams ----------------------------------------------------------------------------- */

/* Empties a stream for the next attempt. The spill file is kept (truncated) so the next job
 * of this struct spills without another open; one that cannot be truncated is closed. */
static void stream_reset(rapt__stream *s, size_t keep)
{
    rapt__buf_shrink(&s->mem, keep);
    if (s->spilled && s->spill >= 0 && ftruncate(s->spill, 0) < 0) {
        close(s->spill);
        s->spill = -1;
    }
    s->spilled = 0;
}

/* Appends raw bytes to a stream: memory up to the limit, the spill file after. */
static int stream_add(rapt__out *o, rapt__stream *s, const char *p, size_t n)
{
    if (!s->spilled && s->mem.len + n <= o->o.mem_limit)
        return rapt__buf_add(&s->mem, p, n);
    if (s->spill < 0) {
        int fd = tmpfile_fd();
        if (fd < 0)
            return fd;
        s->spill = fd;
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(s->spill, p + done, n - done, (off_t)s->spilled);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        done += (size_t)w;
        s->spilled += (uint64_t)w;
    }
    return 0;
}

static size_t stream_size(const rapt__stream *s)
{
    return s->mem.len + (size_t)s->spilled;
}

void rapt__jobout_init(rapt__jobout *jo)
{
    memset(jo, 0, sizeof(*jo));
    jo->s[0].spill = jo->s[1].spill = -1;
}

void rapt__jobout_free(rapt__jobout *jo)
{
    for (int i = 0; i < 2; i++) {
        rapt__buf_free(&jo->s[i].mem);
        if (jo->s[i].spill >= 0)
            close(jo->s[i].spill);
        jo->s[i].spill = -1;
    }
    rapt__buf_free(&jo->tag);
    rapt__buf_free(&jo->verbose);
}

/* ---- line mode --------------------------------------------------------------------------- */

/* Live line mode: prints every complete line now; keeps the partial last line. The stream
 * holds only a partial line (no newline), which starts at a line start. */
static int line_feed(rapt__out *o, rapt__jobout *jo, int st, const char *p, size_t n)
{
    rapt__stream *s = &jo->s[st];
    const char *nl = NULL;
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] == '\n') {
            nl = p + i - 1;
            break;
        }
    }
    if (!nl)
        return stream_add(o, s, p, n);
    sink k = {.o = o, .fd = o->o.fd[st]};
    bool bol = true;
    if (stream_size(s)) {
        /* The partial line held so far, then the rest of it from this chunk. */
        if (jo->tag.len)
            sink_put(&k, jo->tag.p, jo->tag.len);
        sink_put(&k, s->mem.p, s->mem.len);
        if (s->spilled)
            sink_copy_file(&k, s->spill, 0, s->spilled);
        bol = false;
        stream_reset(s, o->o.mem_limit);
    }
    put_tagged(&k, &jo->tag, p, (size_t)(nl - p) + 1, &bol);
    stage_flush(o);
    return stream_add(o, s, nl + 1, n - (size_t)(nl - p) - 1);
}

/* A held job becomes the one printing (keep-order, line mode): what it wrote so far goes
 * through the live path, so complete lines print now and a partial one stays. */
static void make_live(rapt__out *o, rapt__jobout *jo)
{
    jo->live = true;
    if (jo->verbose.len) {
        sink k = {.o = o, .fd = o->o.fd[0]};
        sink_put(&k, jo->verbose.p, jo->verbose.len);
    }
    for (int st = 0; st < 2; st++) {
        rapt__stream *s = &jo->s[st];
        /* Detach what was held, then feed it back through line_feed. */
        rapt__buf held = s->mem;
        int spill = s->spill;
        uint64_t spilled = s->spilled;
        memset(&s->mem, 0, sizeof(s->mem));
        s->spill = -1;
        s->spilled = 0;
        line_feed(o, jo, st, held.p ? held.p : "", held.len);
        /* line_feed may use o->scratch itself, so the spilled part is read elsewhere. */
        char *buf = spilled ? malloc(CHUNK) : NULL;
        for (uint64_t off = 0; buf && off < spilled;) {
            uint64_t left = spilled - off;
            ssize_t r = pread(spill, buf, left < CHUNK ? (size_t)left : CHUNK, (off_t)off);
            if (r <= 0)
                break;
            line_feed(o, jo, st, buf, (size_t)r);
            off += (uint64_t)r;
        }
        free(buf);
        rapt__buf_free(&held);
        if (spill >= 0) {
            if (s->spill < 0 && ftruncate(spill, 0) == 0)
                s->spill = spill; /* keep it for reuse */
            else
                close(spill);
        }
    }
    stage_flush(o);
}

/* ---- the keep-order ring ----------------------------------------------------------------- */

static oentry *entry_at(rapt__out *o, uint64_t pos)
{
    return &o->ring[pos & (o->cap - 1)];
}

static void entry_clear(rapt__out *o, oentry *e)
{
    for (int s = 0; s < 2; s++) {
        o->parked_mem -= e->mem[s].len;
        rapt__buf_free(&e->mem[s]);
        if (e->infile[s])
            o->park_in_file--;
    }
    rapt__buf_free(&e->trailer);
    memset(e, 0, sizeof(*e));
}

/* Prints a parked entry and releases its parking space. */
static void emit_parked(rapt__out *o, oentry *e)
{
    for (int s = 0; s < 2; s++) {
        sink k = {.o = o, .fd = o->o.fd[s]};
        if (e->infile[s]) {
            stage_flush(o);
            copy_out(o, o->o.fd[s], o->park_fd, e->off[s], e->len[s]);
#ifdef FALLOC_FL_PUNCH_HOLE
            if (e->len[s])
                fallocate(o->park_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)e->off[s],
                          (off_t)e->len[s]);
#endif
        } else {
            sink_put(&k, e->mem[s].p, e->mem[s].len);
        }
        stage_flush(o);
    }
    entry_clear(o, e);
    /* Nothing left in the parking file: start it over so it never grows past what waits. */
    if (o->park_fd >= 0 && o->park_in_file == 0 && o->park_end > 0) {
        if (ftruncate(o->park_fd, 0) == 0)
            o->park_end = 0;
    }
}

static void emit_trailer(rapt__out *o, const char *p, size_t n)
{
    if (o->o.trailer && n)
        o->o.trailer(o->o.trailer_ctx, p, n);
}

/* Prints whatever heads the ring and is ready, then makes the next running job live. */
/* Invariant: the ring's head is the oldest job not yet printed. Everything behind it that
 * is parked prints as soon as the head is gone; a running job at the head stops the walk. */
static void advance(rapt__out *o)
{
    while (o->head < o->tail) {
        oentry *e = entry_at(o, o->head);
        if (e->state == E_PENDING) {
            if (o->o.mode == RAPT__OUT_LINE && e->jo && !e->jo->live)
                make_live(o, e->jo);
            return;
        }
        rapt__buf t = e->trailer;
        e->trailer = (rapt__buf){0};
        if (e->state == E_PARKED)
            emit_parked(o, e);
        else
            entry_clear(o, e);
        o->head++;
        emit_trailer(o, t.p, t.len);
        rapt__buf_free(&t);
    }
}

/* Positions are absolute and never reused; the ring maps them to cap slots (cap a power of
 * two). Growing keeps each position where pos & (cap - 1) puts it in the new ring. */
static int ring_grow(rapt__out *o)
{
    size_t nc = o->cap ? o->cap * 2 : 64;
    oentry *nr = calloc(nc, sizeof(*nr));
    if (!nr)
        return -ENOMEM;
    for (uint64_t p = o->head; p < o->tail; p++) {
        nr[p & (nc - 1)] = *entry_at(o, p);
        if (nr[p & (nc - 1)].jo)
            nr[p & (nc - 1)].jo->pos = p; /* unchanged, but keeps the link explicit */
    }
    free(o->ring);
    o->ring = nr;
    o->cap = nc;
    return 0;
}

/* ---- the API ----------------------------------------------------------------------------- */

int rapt__out_create(rapt__out **out, const rapt__out_opts *opts)
{
    *out = NULL;
    rapt__out *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->o = *opts;
    if (!o->o.mem_limit)
        o->o.mem_limit = 64 * 1024;
    if (!o->o.park_mem)
        o->o.park_mem = 4 * 1024 * 1024;
    if (!o->o.window)
        o->o.window = 65536;
    if (o->o.mode == RAPT__OUT_UNGROUP)
        o->o.keep_order = false; /* as GNU parallel: -u prints as it comes, -k cannot apply */
    o->park_fd = -1;
    o->stage_fd = -1;
    *out = o;
    return 0;
}

void rapt__out_destroy(rapt__out *o)
{
    if (!o)
        return;
    stage_flush(o);
    for (uint64_t p = o->head; p < o->tail; p++)
        entry_clear(o, entry_at(o, p));
    free(o->ring);
    if (o->park_fd >= 0)
        close(o->park_fd);
    rapt__buf_free(&o->stage);
    free(o);
}

int rapt__out_position(rapt__out *o, rapt__jobout *jo)
{
    if (!o->o.keep_order || jo->positioned)
        return 0;
    if (o->tail - o->head == o->cap) {
        int r = ring_grow(o);
        if (r < 0)
            return r;
    }
    oentry *e = entry_at(o, o->tail);
    memset(e, 0, sizeof(*e));
    e->state = E_PENDING;
    e->jo = jo;
    jo->pos = o->tail++;
    jo->positioned = true;
    jo->live = false;
    return 0;
}

int rapt__out_begin(rapt__out *o, rapt__jobout *jo)
{
    for (int s = 0; s < 2; s++) {
        stream_reset(&jo->s[s], o->o.mem_limit);
        jo->s[s].total = 0;
    }
    bool now = o->o.mode == RAPT__OUT_UNGROUP ||
               (o->o.mode == RAPT__OUT_LINE && (!o->o.keep_order || jo->pos == o->head));
    if (o->o.mode == RAPT__OUT_LINE)
        jo->live = now;
    if (now && jo->verbose.len) {
        sink k = {.o = o, .fd = o->o.fd[0]};
        sink_put(&k, jo->verbose.p, jo->verbose.len);
        stage_flush(o);
    }
    return 0;
}

/* One read per readiness report: the pipe's read end is blocking (setting O_NONBLOCK would
 * cost two fcntl calls per job), and a level-triggered epoll reports it again while data is
 * left, so reading once can never block and never loses anything. */
int rapt__out_read(rapt__out *o, rapt__jobout *jo, int stream, int fd, bool *eof)
{
    *eof = false;
    ssize_t n;
    do
        n = read(fd, o->scratch, sizeof(o->scratch));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (n == 0) {
        *eof = true;
        return 0;
    }
    jo->s[stream].total += (uint64_t)n;
    return rapt__out_add(o, jo, stream, o->scratch, (size_t)n);
}

int rapt__out_add(rapt__out *o, rapt__jobout *jo, int stream, const char *p, size_t n)
{
    if (o->o.mode == RAPT__OUT_UNGROUP) {
        sink k = {.o = o, .fd = o->o.fd[stream]};
        sink_put(&k, p, n);
        stage_flush(o);
        return 0;
    }
    if (o->o.mode == RAPT__OUT_LINE && jo->live)
        return line_feed(o, jo, stream, p, n);
    return stream_add(o, &jo->s[stream], p, n);
}

int rapt__out_save(rapt__out *o, rapt__jobout *jo, int dirfd)
{
    static const char *const names[2] = {"stdout", "stderr"};
    for (int s = 0; s < 2; s++) {
        int fd = openat(dirfd, names[s], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return -errno;
        int save_err = o->err;
        o->err = 0;
        write_all(o, fd, jo->s[s].mem.p, jo->s[s].mem.len);
        if (jo->s[s].spilled)
            copy_out(o, fd, jo->s[s].spill, 0, jo->s[s].spilled);
        int r = o->err;
        o->err = save_err;
        if (close(fd) < 0 && r == 0)
            r = -errno;
        if (r < 0)
            return r;
    }
    return 0;
}

/* Parks a finished job that must wait for an earlier one. */
/* The decision is per stream and made once: memory while the total parked in memory stays
 * under park_mem, the shared file otherwise. The bytes are tagged now, so the job struct and
 * its tag can go at once. */
static void park(rapt__out *o, rapt__jobout *jo, oentry *e)
{
    for (int s = 0; s < 2; s++) {
        size_t size = stream_size(&jo->s[s]) + (s == 0 ? jo->verbose.len : 0);
        if (o->parked_mem + size > o->o.park_mem && park_file(o) == 0) {
            e->infile[s] = true;
            e->off[s] = o->park_end;
            e->len[s] = 0;
            o->park_in_file++;
        }
        sink k = {.o = o, .e = e, .stream = s};
        if (s == 0 && jo->verbose.len)
            sink_put(&k, jo->verbose.p, jo->verbose.len);
        emit_stream(o, &k, &jo->s[s], &jo->tag);
    }
    e->state = E_PARKED;
    e->jo = NULL;
}

/* Where a finished attempt's output goes: nowhere (a retry follows, or --results took it),
 * the rest of a live line-mode job, straight out when it is its turn, or into the park. */
int rapt__out_end(rapt__out *o, rapt__jobout *jo, bool final, bool print, const char *trailer,
                  size_t trailer_len)
{
    if (!final) {
        if (o->o.mode != RAPT__OUT_UNGROUP)
            for (int s = 0; s < 2; s++)
                stream_reset(&jo->s[s], o->o.mem_limit);
        return 0;
    }
    if (o->o.mode == RAPT__OUT_UNGROUP) {
        jo->positioned = false;
        emit_trailer(o, trailer, trailer_len);
        return 0;
    }
    oentry *e = jo->positioned ? entry_at(o, jo->pos) : NULL;
    bool my_turn = !e || jo->pos == o->head;
    int rc = 0;
    if (!my_turn && trailer_len && rapt__buf_add(&e->trailer, trailer, trailer_len) < 0)
        rc = -ENOMEM; /* the record is lost, the output is not */
    if (!print) {
        if (e) {
            e->state = E_GONE;
            e->jo = NULL;
        }
    } else if (o->o.mode == RAPT__OUT_LINE && jo->live) {
        /* Everything complete went out already; what is left is a last line without a
         * newline, printed as it is (GNU parallel does the same). */
        for (int s = 0; s < 2; s++) {
            if (!stream_size(&jo->s[s]))
                continue;
            sink k = {.o = o, .fd = o->o.fd[s]};
            emit_stream(o, &k, &jo->s[s], &jo->tag);
            stage_flush(o);
        }
        if (e) {
            e->state = E_GONE;
            e->jo = NULL;
        }
    } else if (my_turn) {
        for (int s = 0; s < 2; s++) {
            sink k = {.o = o, .fd = o->o.fd[s]};
            if (s == 0 && jo->verbose.len)
                sink_put(&k, jo->verbose.p, jo->verbose.len);
            emit_stream(o, &k, &jo->s[s], &jo->tag);
            stage_flush(o);
        }
        if (e) {
            e->state = E_GONE;
            e->jo = NULL;
        }
    } else {
        park(o, jo, e);
    }
    for (int s = 0; s < 2; s++)
        stream_reset(&jo->s[s], o->o.mem_limit);
    jo->positioned = false;
    jo->live = false;
    if (my_turn)
        emit_trailer(o, trailer, trailer_len);
    if (e)
        advance(o);
    return rc;
}

void rapt__out_forget(rapt__out *o, rapt__jobout *jo)
{
    if (!jo->positioned)
        return;
    oentry *e = entry_at(o, jo->pos);
    e->state = E_GONE;
    e->jo = NULL;
    jo->positioned = false;
    advance(o);
}

void rapt__out_print(rapt__out *o, int stream, const char *p, size_t n)
{
    sink k = {.o = o, .fd = o->o.fd[stream]};
    sink_put(&k, p, n);
}

bool rapt__out_window_full(const rapt__out *o)
{
    return o->o.keep_order && o->tail - o->head >= o->o.window;
}

int rapt__out_error(const rapt__out *o)
{
    return o->err;
}

size_t rapt__out_parked_memory(const rapt__out *o)
{
    return o->parked_mem;
}

size_t rapt__out_waiting(const rapt__out *o)
{
    return (size_t)(o->tail - o->head);
}
