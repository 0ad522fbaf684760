/* history.c: the SQLite history store (see rapt/history.h and docs/history.md).
 *
 * Owns the file's lifecycle: the read-only examination of an existing file before anything may
 * write it, creation, forward migrations, the batched writer and the queries the CLI and the
 * model use. SQLite does the storage, locking and crash safety; this file decides when it may
 * touch a file at all.
 *
 * Invariant: a file is opened for writing only after it passed probe(), or when this process
 * created it. probe() reads the header with read(2), then opens SQLite read-only and (when no
 * WAL exists) immutable, which creates no -wal/-shm side files and takes no locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "internal.h"
#include "rapt/history.h"

extern char **environ;

#define DEFAULT_BUSY_MS 5000u
#define DEFAULT_BATCH   64u
#define DEFAULT_KEEP    10000u

/* Forward migrations: migrations[i] takes a file from schema i to i + 1. Each runs inside the
 * one BEGIN IMMEDIATE transaction that also sets user_version, so a crash leaves the old schema
 * or the new one, never a mixture. Never edit a shipped entry; append a new one. */
static const char *const migrations[RAPT_HISTORY_SCHEMA] = {
    /* 0 -> 1: runs, classes, attempts. */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id TEXT NOT NULL UNIQUE,"
    "  host TEXT NOT NULL,"
    "  command TEXT,"
    "  started REAL NOT NULL,"
    "  ended REAL,"
    "  slots INTEGER, cpus INTEGER, mem_limit INTEGER, mem_budget INTEGER,"
    "  jobs INTEGER, succeeded INTEGER, failed INTEGER, exit_code INTEGER, reason TEXT);"
    "CREATE TABLE classes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  run INTEGER NOT NULL REFERENCES runs(id),"
    "  class INTEGER NOT NULL REFERENCES classes(id),"
    "  stage TEXT, seq INTEGER, attempt INTEGER, slot INTEGER,"
    "  arg_digest BLOB, input_bytes INTEGER,"
    "  start REAL NOT NULL, wall_s REAL, user_s REAL, sys_s REAL,"
    "  peak_bytes INTEGER, peak_method TEXT,"
    "  \"exit\" INTEGER, \"signal\" INTEGER, reason TEXT NOT NULL, outcome TEXT NOT NULL,"
    "  oom_kill INTEGER NOT NULL DEFAULT 0,"
    "  reservation INTEGER, mem_limit INTEGER, mem_budget INTEGER, slots INTEGER,"
    "  recorded REAL NOT NULL);"
    /* The class index also orders by rowid, which is what "the newest N of a class" needs. */
    "CREATE INDEX attempts_by_class ON attempts(class);"
    "CREATE INDEX attempts_by_digest ON attempts(class, arg_digest);"
    "CREATE INDEX attempts_by_run ON attempts(run);",
};

/* The values docs/events.md allows for `reason` and `outcome`. add() refuses anything else:
 * the model reads these strings, and a typo in the runner would silently teach it nothing. */
static const char *const reasons[] = {"exit",      "signal", "timeout", "halt",
                                      "interrupt", "memory", "oom",     "spawn"};
static const char *const outcomes[] = {"success", "failed", "retry", "requeued"};

/* An attempt waiting in the write buffer: rapt_attempt with owned strings. */
typedef struct pending {
    rapt_attempt a;
    int64_t run;
    char *class_name, *stage, *peak_method;
} pending;

struct rapt_history {
    sqlite3 *db;
    char *path;
    bool readonly;
    bool broken; /* SQLite reported corruption: write nothing more */
    unsigned batch, keep;
    rapt_log_fn log;
    void *log_data;
    pending *pend;
    size_t npend, cappend;
};

struct rapt_history_iter {
    rapt_history *h;
    sqlite3_stmt *st;
};

/* ---- small helpers -------------------------------------------------------------------------- */

static void logf_(rapt_log_fn fn, void *ud, rapt_log_level lv, const char *fmt, ...)
    RAPT__PRINTF(4, 5);
static void logf_(rapt_log_fn fn, void *ud, rapt_log_level lv, const char *fmt, ...)
{
    if (!fn)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fn(ud, lv, buf);
}

#define HLOG(h, lv, ...) logf_((h)->log, (h)->log_data, (lv), __VA_ARGS__)

/* The caller only needs to tell four things apart: try again later (-EBUSY), the file is damaged
 * (RAPT_ECORRUPT: stop using it), the caller did something wrong (-EINVAL), and the machine
 * refused (everything else). Extended codes are off, so the primary code is enough. */
/* Maps a SQLite result code to rapt's convention. */
static int sqlerr(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW: return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return -EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return RAPT_ECORRUPT;
    case SQLITE_READONLY: return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_CANTOPEN: return -EACCES;
    case SQLITE_NOMEM: return -ENOMEM;
    case SQLITE_FULL: return -ENOSPC;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return -EINVAL;
    default: return -EIO;
    }
}

static double wall_now(void)
{
    return (double)rapt__wall_ns() / 1e9;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* True when s is one of the n strings of list (NULL never is). */
static bool in_list(const char *s, const char *const *list, size_t n)
{
    if (!s)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* Statements here are few and run once per open, flush or query, so they are prepared when
 * used rather than cached: a flush is dominated by its fsync, not by parsing SQL. */
/* Runs SQL without results. */
static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Reads a single integer from a PRAGMA or query. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- the header, read with read(2) ---------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rapt__history_parse_header(const unsigned char *b, size_t n, uint64_t file_size,
                               rapt__dbheader *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 100 || memcmp(b, "SQLite format 3", 16) != 0)
        return RAPT_ECORRUPT;
    uint32_t ps = (uint32_t)b[16] << 8 | b[17];
    if (ps == 1)
        ps = 65536;
    if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0)
        return RAPT_ECORRUPT;
    /* Write/read versions 1 (rollback journal) or 2 (WAL); the payload fractions are fixed by
     * the file format. Anything else is not a file SQLite 3 wrote. */
    if (b[18] < 1 || b[18] > 2 || b[19] < 1 || b[19] > 2 || b[21] != 64 || b[22] != 32 ||
        b[23] != 32)
        return RAPT_ECORRUPT;
    out->page_size = ps;
    out->wal = b[18] == 2;
    out->user_version = be32(b + 60);
    out->app_id = be32(b + 68);
    uint32_t enc = be32(b + 56);
    if (enc > 3)
        return RAPT_ECORRUPT;
    /* A database file is whole pages. The in-header page count is valid when the change counter
     * matches version-valid-for; a file shorter than that count was truncated. */
    if (file_size % ps != 0)
        return RAPT_ECORRUPT;
    uint32_t pages = be32(b + 28);
    if (pages != 0 && be32(b + 24) == be32(b + 92)) {
        out->pages = pages;
        if ((uint64_t)pages * ps > file_size)
            return RAPT_ECORRUPT;
    }
    return 0;
}

/* ---- probing a file before writing it -------------------------------------------------------- */

/* Builds "file:<path>?<query>" with the path percent-encoded as RFC 3986 wants. */
static char *file_uri(const char *path, const char *query)
{
    size_t n = strlen(path);
    char *u = malloc(8 + 3 * n + strlen(query) + 2);
    if (!u)
        return NULL;
    char *p = u;
    p += sprintf(p, "file:");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '/' || c == '-' || c == '_' || c == '.' || c == '~')
            *p++ = (char)c;
        else
            p += sprintf(p, "%%%02X", c);
    }
    sprintf(p, "?%s", query);
    return u;
}

/* Whether path+suffix exists (-wal, -shm, -journal). lstat, because a side file is never a
 * link SQLite would follow, and a dangling one still means something is going on. */
static bool side_file_exists(const char *path, const char *suffix)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (!s)
        return false;
    snprintf(s, n, "%s%s", path, suffix);
    struct stat st;
    bool r = lstat(s, &st) == 0;
    free(s);
    return r;
}

typedef enum probe_verdict {
    PROBE_EMPTY, /* a new, empty database: initialise it */
    PROBE_OURS,  /* a rapt history at this or an older schema */
} probe_verdict;

/* Examines an existing file without modifying it. Returns 0 with a verdict or RAPT_ECORRUPT /
 * RAPT_ESCHEMA / -errno, logging why. */
static int probe(const char *path, bool check, unsigned busy_ms, rapt_log_fn log, void *ud,
                 probe_verdict *v)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : RAPT_ECORRUPT;
    }
    unsigned char hdr[100];
    ssize_t got = 0;
    while (got < (ssize_t)sizeof(hdr)) {
        ssize_t r = read(fd, hdr + got, sizeof(hdr) - (size_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += r;
    }
    close(fd);
    if (st.st_size == 0) {
        /* SQLite treats a zero-length file as an empty database. */
        *v = PROBE_EMPTY;
        return 0;
    }
    rapt__dbheader h;
    if (rapt__history_parse_header(hdr, (size_t)(got < 0 ? 0 : got), (uint64_t)st.st_size, &h) <
        0) {
        logf_(log, ud, RAPT_LOG_WARN,
              "history %s: not a SQLite database, or its header is "
              "damaged",
              path);
        return RAPT_ECORRUPT;
    }
    if (h.app_id != 0 && h.app_id != RAPT_HISTORY_APP_ID) {
        logf_(log, ud, RAPT_LOG_WARN,
              "history %s: a SQLite database of another program (application id 0x%08x)", path,
              h.app_id);
        return RAPT_ESCHEMA;
    }
    if (h.user_version > RAPT_HISTORY_SCHEMA) {
        logf_(log, ud, RAPT_LOG_WARN,
              "history %s: schema version %u is newer than this rapt knows (%d)", path,
              h.user_version, RAPT_HISTORY_SCHEMA);
        return RAPT_ESCHEMA;
    }

    /* Now SQLite itself, read-only. Without a WAL file nobody is writing the database, so an
     * immutable connection reads it with no locks and no side files. With a WAL file another
     * process has it open; its side files exist already, and a plain read-only connection
     * sees the WAL's newest pages. */
    bool live = side_file_exists(path, "-wal") || side_file_exists(path, "-journal");
    char *uri = file_uri(path, live ? "mode=ro" : "mode=ro&immutable=1");
    if (!uri)
        return -ENOMEM;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(db, (int)RAPT__MIN(busy_ms, (unsigned)INT32_MAX));
    int ret = 0;
    int64_t uv = 0, app = 0, tables = 0;
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA user_version", &uv);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA application_id", &app);
    if (rc == SQLITE_OK)
        rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc != SQLITE_OK) {
        /* Busy and out-of-memory are passing conditions, reported as such; anything else
         * means SQLite cannot make sense of the file. */
        ret = sqlerr(rc);
        if (ret != -EBUSY && ret != -ENOMEM)
            ret = RAPT_ECORRUPT;
        logf_(log, ud, RAPT_LOG_WARN, "history %s: cannot be read: %s", path,
              db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto out;
    }
    if ((app != 0 && app != RAPT_HISTORY_APP_ID) || (app == 0 && uv == 0 && tables > 0) ||
        (app == 0 && uv != 0)) {
        logf_(log, ud, RAPT_LOG_WARN,
              "history %s: a SQLite database of another program (application id %lld, "
              "user_version %lld)",
              path, (long long)app, (long long)uv);
        ret = RAPT_ESCHEMA;
        goto out;
    }
    if (uv > RAPT_HISTORY_SCHEMA) {
        logf_(log, ud, RAPT_LOG_WARN,
              "history %s: schema version %lld is newer than this rapt knows (%d)", path,
              (long long)uv, RAPT_HISTORY_SCHEMA);
        ret = RAPT_ESCHEMA;
        goto out;
    }
    if (check && tables > 0) {
        /* quick_check reads every page once (bench/history-bench: 6.5 ms for a 2.8 MiB file
         * of 20k attempts, 130 ms for 64 MiB and 500k): the price of never writing into a
         * damaged file, which SQLite would otherwise notice only when a write touched the
         * bad page. */
        sqlite3_stmt *qc;
        rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &qc, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(qc);
            if (rc == SQLITE_ROW) {
                const char *res = (const char *)sqlite3_column_text(qc, 0);
                if (!res || strcmp(res, "ok") != 0) {
                    logf_(log, ud, RAPT_LOG_WARN, "history %s: quick_check: %s", path,
                          res ? res : "(no answer)");
                    ret = RAPT_ECORRUPT;
                }
                rc = SQLITE_OK;
            }
            sqlite3_finalize(qc);
        }
        if (ret == 0 && rc != SQLITE_OK) {
            logf_(log, ud, RAPT_LOG_WARN, "history %s: quick_check failed: %s", path,
                  sqlite3_errmsg(db));
            ret = sqlerr(rc) == -EBUSY ? -EBUSY : RAPT_ECORRUPT;
        }
    }
    if (ret == 0)
        *v = uv == 0 ? PROBE_EMPTY : PROBE_OURS;
out:
    sqlite3_close(db);
    return ret;
}

/* ---- opening ------------------------------------------------------------------------------ */

void rapt_history_opts_init(rapt_history_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->busy_timeout_ms = DEFAULT_BUSY_MS;
    o->batch = DEFAULT_BATCH;
    o->keep_per_class = DEFAULT_KEEP;
}

/* getenv over an explicit environment, so tests and embedders can pass their own. */
static const char *env_get(const char *const *envp, const char *name)
{
    if (!envp)
        envp = (const char *const *)environ;
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

int rapt_history_default_path(const char *const *envp, char *buf, size_t len)
{
    if (!buf || len == 0)
        return -EINVAL;
    /* The XDG base directory spec says a relative XDG_STATE_HOME is invalid and is ignored. */
    const char *xdg = env_get(envp, "XDG_STATE_HOME");
    if (xdg && xdg[0] == '/')
        return rapt__bufprintf(buf, len, "%s/rapt/history.db", xdg) ? 0 : -ENAMETOOLONG;
    const char *home = env_get(envp, "HOME");
    if (home && home[0] == '/')
        return rapt__bufprintf(buf, len, "%s/.local/state/rapt/history.db", home) ? 0
                                                                                  : -ENAMETOOLONG;
    return -ENOENT;
}

/* mkdir -p of the directory that will hold path, private to the user (0700), as the XDG spec
 * asks of state directories. */
static int make_parent(const char *path)
{
    char *d = strdup(path);
    if (!d)
        return -ENOMEM;
    char *slash = strrchr(d, '/');
    int rc = 0;
    if (slash && slash != d) {
        *slash = '\0';
        for (char *p = d + 1; rc == 0; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char c = *p;
            *p = '\0';
            if (mkdir(d, 0700) < 0 && errno != EEXIST)
                rc = -errno;
            *p = c;
            if (c == '\0')
                break;
        }
    }
    free(d);
    return rc;
}

/* Creates or upgrades the schema inside one write transaction. Re-reads the version under the
 * write lock: another process may have created or upgraded the file since probe(). */
static int ensure_schema(rapt_history *h)
{
    int rc = exec(h->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return sqlerr(rc);
    int64_t uv = 0, app = 0, tables = 0;
    rc = query_int(h->db, "PRAGMA user_version", &uv);
    if (rc == SQLITE_OK)
        rc = query_int(h->db, "PRAGMA application_id", &app);
    if (rc == SQLITE_OK)
        rc = query_int(h->db, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc != SQLITE_OK)
        goto fail;
    if ((app != 0 && app != RAPT_HISTORY_APP_ID) || uv > RAPT_HISTORY_SCHEMA ||
        (uv == 0 && tables > 0)) {
        exec(h->db, "ROLLBACK");
        HLOG(h, RAPT_LOG_WARN,
             "history %s: changed under us to schema %lld (application id %lld); not using it",
             h->path, (long long)uv, (long long)app);
        return RAPT_ESCHEMA;
    }
    for (int64_t v = uv; v < RAPT_HISTORY_SCHEMA; v++) {
        rc = exec(h->db, migrations[v]);
        if (rc != SQLITE_OK)
            goto fail;
    }
    if (uv < RAPT_HISTORY_SCHEMA) {
        char sql[96];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 RAPT_HISTORY_APP_ID, RAPT_HISTORY_SCHEMA);
        rc = exec(h->db, sql);
        if (rc != SQLITE_OK)
            goto fail;
        if (uv > 0)
            HLOG(h, RAPT_LOG_INFO, "history %s: upgraded schema %lld -> %d", h->path, (long long)uv,
                 RAPT_HISTORY_SCHEMA);
    }
    rc = exec(h->db, "COMMIT");
    if (rc == SQLITE_OK)
        return 0;
fail:
    HLOG(h, RAPT_LOG_WARN, "history %s: preparing the schema: %s", h->path, sqlite3_errmsg(h->db));
    exec(h->db, "ROLLBACK");
    return sqlerr(rc);
}

/* Creates a complete history file at path, atomically: it is built under a temporary name in
 * the same directory (WAL mode, schema, ids), closed, which checkpoints and removes its WAL, and
 * renamed into place without replacing anything. Other processes therefore see no file or a
 * complete one, never a half-written header or a creation-time rollback journal that they
 * would have to tell from damage. When another process wins the race, its file is used. */
static int create_file(rapt_history *h, const char *path)
{
    int ret = make_parent(path);
    if (ret < 0) {
        HLOG(h, RAPT_LOG_WARN, "history %s: cannot create its directory: %s", path,
             rapt_strerror(ret));
        return ret;
    }
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, n, "%s.new-%ld-%llx", path, (long)getpid(), (unsigned long long)rapt__now_ns());
    int rc = sqlite3_open_v2(
        tmp, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    int64_t dummy;
    if (rc == SQLITE_OK)
        rc = query_int(h->db, "PRAGMA journal_mode = WAL", &dummy);
    if (rc != SQLITE_OK) {
        HLOG(h, RAPT_LOG_WARN, "history %s: cannot create: %s", path,
             h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
        ret = sqlerr(rc);
    } else {
        ret = ensure_schema(h);
    }
    rc = sqlite3_close(h->db);
    h->db = NULL;
    if (ret == 0 && rc != SQLITE_OK)
        ret = sqlerr(rc);
    if (ret == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
        /* EEXIST: another process created it first, and theirs is as good. A file system
         * without RENAME_NOREPLACE gets link(2), which never replaces either. */
        if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
            if (link(tmp, path) < 0 && errno != EEXIST)
                ret = -errno;
        } else if (errno != EEXIST) {
            ret = -errno;
        }
        if (ret < 0)
            HLOG(h, RAPT_LOG_WARN, "history %s: cannot create: %s", path, rapt_strerror(ret));
    }
    unlink(tmp);
    free(tmp);
    return ret;
}

int rapt_history_open(rapt_history **out, const rapt_history_opts *o)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    rapt_history_opts def;
    if (!o) {
        rapt_history_opts_init(&def);
        o = &def;
    }
    char dpath[4096];
    const char *path = o->path;
    if (!path) {
        int rc = rapt_history_default_path(o->envp, dpath, sizeof(dpath));
        if (rc < 0)
            return rc;
        path = dpath;
    }
    if (!*path)
        return -EINVAL;

    rapt_history *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->path = strdup(path);
    h->readonly = o->readonly;
    h->batch = o->batch ? o->batch : DEFAULT_BATCH;
    h->keep = o->keep_per_class;
    h->log = o->log;
    h->log_data = o->log_data;
    int ret = 0;
    if (!h->path) {
        ret = -ENOMEM;
        goto fail;
    }

    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT) {
        ret = -errno;
        goto fail;
    }
    if (!exists && h->readonly) {
        ret = -ENOENT;
        goto fail;
    }
    if (!exists && (ret = create_file(h, path)) < 0)
        goto fail;
    /* Even a file this process just created is examined: another process may have won the race
     * to create it, and what it left there is not known to be a rapt history. */
    probe_verdict v = PROBE_EMPTY;
    ret = probe(path, !o->skip_integrity_check, o->busy_timeout_ms, h->log, h->log_data, &v);
    if (ret < 0)
        goto fail;
    if (v == PROBE_EMPTY && h->readonly) {
        ret = -ENOENT;
        goto fail;
    }

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &h->db, flags, NULL);
    if (rc != SQLITE_OK && h->readonly) {
        /* A file we may read but not write (another user's, a read-only mount). */
        sqlite3_close(h->db);
        h->db = NULL;
        rc = sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    }
    if (rc != SQLITE_OK) {
        HLOG(h, RAPT_LOG_WARN, "history %s: cannot open: %s", path,
             h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
        ret = sqlerr(rc);
        goto fail;
    }
    sqlite3_extended_result_codes(h->db, 0);
    sqlite3_busy_timeout(h->db, (int)RAPT__MIN(o->busy_timeout_ms, (unsigned)INT32_MAX));
    if (h->readonly) {
        exec(h->db, "PRAGMA query_only = 1");
        int64_t uv = 0;
        rc = query_int(h->db, "PRAGMA user_version", &uv);
        if (rc != SQLITE_OK) {
            ret = sqlerr(rc);
            goto fail;
        }
        if (uv != RAPT_HISTORY_SCHEMA) {
            /* Only a writer upgrades; an older file read as is could mislead, a newer one was
             * refused by probe(). */
            HLOG(h, RAPT_LOG_WARN, "history %s: schema %lld, this rapt reads %d", path,
                 (long long)uv, RAPT_HISTORY_SCHEMA);
            ret = RAPT_ESCHEMA;
            goto fail;
        }
    } else {
        /* WAL lets readers run beside the writer; NORMAL synchronous loses at most the last
         * transactions on power loss, never on a crash of rapt, and never corrupts. */
        int64_t dummy;
        rc = query_int(h->db, "PRAGMA journal_mode = WAL", &dummy);
        if (rc == SQLITE_OK)
            rc = exec(h->db, "PRAGMA synchronous = NORMAL");
        /* An attempt whose run key did not come from rapt_history_run_begin() is refused at
         * the insert rather than written where no query (they join runs) would find it. */
        if (rc == SQLITE_OK)
            rc = exec(h->db, "PRAGMA foreign_keys = ON");
        if (rc != SQLITE_OK) {
            HLOG(h, RAPT_LOG_WARN, "history %s: %s", path, sqlite3_errmsg(h->db));
            ret = sqlerr(rc);
            goto fail;
        }
        if ((ret = ensure_schema(h)) < 0)
            goto fail;
    }
    *out = h;
    return 0;
fail:
    if (h->db)
        sqlite3_close(h->db);
    free(h->path);
    free(h);
    return ret;
}

const char *rapt_history_path(const rapt_history *h)
{
    return h ? h->path : NULL;
}

/* Frees the strings a pending attempt owns (reason and outcome point at static tables). */
static void pending_free(pending *p)
{
    free(p->class_name);
    free(p->stage);
    free(p->peak_method);
}

void rapt_history_close(rapt_history *h)
{
    if (!h)
        return;
    if (h->npend && !h->readonly && !h->broken) {
        int rc = rapt_history_flush(h);
        if (rc < 0)
            HLOG(h, RAPT_LOG_WARN, "history %s: %zu attempts not recorded: %s", h->path, h->npend,
                 rapt_strerror(rc));
    }
    for (size_t i = 0; i < h->npend; i++)
        pending_free(&h->pend[i]);
    free(h->pend);
    sqlite3_close(h->db);
    free(h->path);
    free(h);
}

/* ---- writing ------------------------------------------------------------------------------ */

void rapt_history_run_init(rapt_history_run *r)
{
    memset(r, 0, sizeof(*r));
    r->mem_limit = -1;
    r->mem_budget = -1;
}

void rapt_attempt_init(rapt_attempt *a)
{
    memset(a, 0, sizeof(*a));
    a->input_bytes = -1;
    a->wall_s = a->user_s = a->sys_s = -1;
    a->peak_bytes = -1;
    a->exit_code = -1;
    a->reason = "exit";
    a->outcome = "success";
    a->reservation = -1;
    a->mem_limit = a->mem_budget = -1;
}

/* Binding helpers: the API's "unknown" (-1, a negative duration, NULL) becomes SQL NULL, which
 * every query and the export turn back into "unknown", never into a zero that would look like a
 * measurement. */
static void bind_opt_i64(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static void bind_opt_dbl(sqlite3_stmt *st, int i, double v)
{
    if (!(v >= 0) || !isfinite(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Why this handle may not write, or 0. */
static int writable(rapt_history *h)
{
    if (h->readonly)
        return -EROFS;
    if (h->broken)
        return RAPT_ECORRUPT;
    return 0;
}

/* Notes corruption found while working so nothing more is written into the file. */
static int fail_rc(rapt_history *h, int rc, const char *what)
{
    int r = sqlerr(rc);
    if (r == RAPT_ECORRUPT && !h->broken) {
        h->broken = true;
        HLOG(h, RAPT_LOG_WARN, "history %s: %s: the file is damaged; writing stops", h->path, what);
    } else if (r != -EBUSY) {
        HLOG(h, RAPT_LOG_WARN, "history %s: %s: %s", h->path, what, sqlite3_errmsg(h->db));
    }
    return r;
}

int rapt_history_run_begin(rapt_history *h, const rapt_history_run *r, int64_t *key)
{
    if (!h || !r || !key || !r->run_id || !*r->run_id || !r->host)
        return -EINVAL;
    int rc = writable(h);
    if (rc < 0)
        return rc;
    static const char sql[] =
        "INSERT INTO runs (run_id, host, command, started, slots, cpus, mem_limit, mem_budget)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT (run_id) DO UPDATE SET host = excluded.host RETURNING id";
    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(h, rc, "recording the run");
    bind_text(st, 1, r->run_id);
    bind_text(st, 2, r->host);
    bind_text(st, 3, r->command);
    sqlite3_bind_double(st, 4, r->started);
    if (r->slots)
        sqlite3_bind_int64(st, 5, r->slots);
    if (r->cpus)
        sqlite3_bind_int64(st, 6, r->cpus);
    bind_opt_i64(st, 7, r->mem_limit);
    bind_opt_i64(st, 8, r->mem_budget);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *key = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : fail_rc(h, rc, "recording the run");
}

int rapt_history_run_finish(rapt_history *h, int64_t key, const rapt_history_run_end *e)
{
    if (!h || !e)
        return -EINVAL;
    int rc = writable(h);
    if (rc < 0)
        return rc;
    if ((rc = rapt_history_flush(h)) < 0)
        return rc;
    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(h->db,
                            "UPDATE runs SET ended = ?2, jobs = ?3, succeeded = ?4, failed = ?5,"
                            " exit_code = ?6, reason = ?7 WHERE id = ?1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(h, rc, "recording the end of the run");
    sqlite3_bind_int64(st, 1, key);
    sqlite3_bind_double(st, 2, e->ended);
    sqlite3_bind_int64(st, 3, (int64_t)e->jobs);
    sqlite3_bind_int64(st, 4, (int64_t)e->succeeded);
    sqlite3_bind_int64(st, 5, (int64_t)e->failed);
    sqlite3_bind_int64(st, 6, e->exit_code);
    bind_text(st, 7, e->reason);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail_rc(h, rc, "recording the end of the run");
}

int rapt_history_add(rapt_history *h, int64_t run_key, const rapt_attempt *a)
{
    if (!h || !a || !a->class_name || run_key <= 0 ||
        !in_list(a->reason, reasons, RAPT__ARRAY_SIZE(reasons)) ||
        !in_list(a->outcome, outcomes, RAPT__ARRAY_SIZE(outcomes)))
        return -EINVAL;
    int rc = writable(h);
    if (rc < 0)
        return rc;
    if (h->npend == h->cappend) {
        size_t cap = h->cappend ? h->cappend * 2 : 64;
        pending *np = realloc(h->pend, cap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        h->pend = np;
        h->cappend = cap;
    }
    pending *p = &h->pend[h->npend];
    memset(p, 0, sizeof(*p));
    p->a = *a;
    p->run = run_key;
    p->class_name = strdup(a->class_name);
    p->stage = xstrdup(a->stage);
    p->peak_method = xstrdup(a->peak_method);
    if (!p->class_name || (a->stage && !p->stage) || (a->peak_method && !p->peak_method)) {
        pending_free(p);
        return -ENOMEM;
    }
    /* reason and outcome point at our static tables, so the copy owns no string for them. */
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(reasons); i++)
        if (strcmp(a->reason, reasons[i]) == 0)
            p->a.reason = reasons[i];
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(outcomes); i++)
        if (strcmp(a->outcome, outcomes[i]) == 0)
            p->a.outcome = outcomes[i];
    p->a.class_name = p->class_name;
    p->a.stage = p->stage;
    p->a.peak_method = p->peak_method;
    h->npend++;
    if (h->npend >= h->batch)
        return rapt_history_flush(h);
    return 0;
}

size_t rapt_history_pending(const rapt_history *h)
{
    return h ? h->npend : 0;
}

/* The id of a class, created when new; inside the caller's transaction. An upsert with
 * RETURNING gives the id in one statement whether or not the row existed; "SET name = name"
 * is the no-op update that makes RETURNING fire on a conflict. */
static int class_id(rapt_history *h, const char *name, int64_t *id)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(h->db,
                                "INSERT INTO classes (name) VALUES (?1) ON CONFLICT (name)"
                                " DO UPDATE SET name = name RETURNING id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Deletes the oldest attempts of a class beyond the newest `keep`. It finds the id of the
 * keep+1-th newest through the class index and deletes at or below it, one index range scan,
 * instead of counting rows. Rowids grow with insertion, so "newest" means last written, which
 * does not depend on the clocks of the machines that wrote the attempts. */
static int trim_class(rapt_history *h, int64_t cid)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(h->db,
                                "DELETE FROM attempts WHERE class = ?1 AND id <= (SELECT id FROM"
                                " attempts WHERE class = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, cid);
    sqlite3_bind_int64(st, 2, h->keep);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int rapt_history_flush(rapt_history *h)
{
    if (!h)
        return -EINVAL;
    int rc = writable(h);
    if (rc < 0)
        return rc;
    if (h->npend == 0)
        return 0;
    /* BEGIN IMMEDIATE takes the write lock now, waiting up to the busy timeout for other
     * writers; a deferred transaction would instead fail with SQLITE_BUSY at its first write
     * without waiting, because upgrading a read snapshot in WAL mode cannot wait. */
    rc = exec(h->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return fail_rc(h, rc, "starting a write");
    static const char sql[] =
        "INSERT INTO attempts (run, class, stage, seq, attempt, slot, arg_digest, input_bytes,"
        " start, wall_s, user_s, sys_s, peak_bytes, peak_method, \"exit\", \"signal\", reason,"
        " outcome, oom_kill, reservation, mem_limit, mem_budget, slots, recorded)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18, ?19, ?20, ?21, ?22, ?23, ?24)";
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);
    double now = wall_now();
    /* Classes touched by this batch, for trimming; a batch almost always holds one class. */
    int64_t touched[8];
    size_t ntouched = 0;
    bool overflow = false;
    const char *last_name = NULL;
    int64_t cid = 0;
    for (size_t i = 0; rc == SQLITE_OK && i < h->npend; i++) {
        const rapt_attempt *a = &h->pend[i].a;
        if (!last_name || strcmp(last_name, a->class_name) != 0) {
            rc = class_id(h, a->class_name, &cid);
            if (rc != SQLITE_OK)
                break;
            last_name = a->class_name;
            bool seen = false;
            for (size_t t = 0; t < ntouched; t++)
                seen |= touched[t] == cid;
            if (!seen && ntouched < RAPT__ARRAY_SIZE(touched))
                touched[ntouched++] = cid;
            else if (!seen)
                overflow = true;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, h->pend[i].run);
        sqlite3_bind_int64(st, 2, cid);
        bind_text(st, 3, a->stage);
        sqlite3_bind_int64(st, 4, (int64_t)a->seq);
        sqlite3_bind_int64(st, 5, a->attempt);
        sqlite3_bind_int64(st, 6, a->slot);
        if (a->has_digest)
            sqlite3_bind_blob(st, 7, a->digest, RAPT_DIGEST_SIZE, SQLITE_STATIC);
        bind_opt_i64(st, 8, a->input_bytes);
        sqlite3_bind_double(st, 9, a->start);
        bind_opt_dbl(st, 10, a->wall_s);
        bind_opt_dbl(st, 11, a->user_s);
        bind_opt_dbl(st, 12, a->sys_s);
        bind_opt_i64(st, 13, a->peak_bytes);
        bind_text(st, 14, a->peak_method);
        if (a->exit_code >= 0)
            sqlite3_bind_int64(st, 15, a->exit_code);
        if (a->signal > 0)
            sqlite3_bind_int64(st, 16, a->signal);
        bind_text(st, 17, a->reason);
        bind_text(st, 18, a->outcome);
        sqlite3_bind_int(st, 19, a->oom_kill);
        bind_opt_i64(st, 20, a->reservation);
        bind_opt_i64(st, 21, a->mem_limit);
        bind_opt_i64(st, 22, a->mem_budget);
        if (a->slots)
            sqlite3_bind_int64(st, 23, a->slots);
        sqlite3_bind_double(st, 24, now);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && h->keep) {
        if (overflow) {
            /* More than 8 classes in one batch: trim them all, rarely needed. */
            sqlite3_stmt *cs;
            rc = sqlite3_prepare_v2(h->db, "SELECT id FROM classes", -1, &cs, NULL);
            while (rc == SQLITE_OK && sqlite3_step(cs) == SQLITE_ROW)
                rc = trim_class(h, sqlite3_column_int64(cs, 0));
            sqlite3_finalize(cs);
        }
        for (size_t t = 0; rc == SQLITE_OK && t < ntouched; t++)
            rc = trim_class(h, touched[t]);
    }
    if (rc == SQLITE_OK)
        rc = exec(h->db, "COMMIT");
    if (rc != SQLITE_OK) {
        int r = fail_rc(h, rc, "writing attempts");
        exec(h->db, "ROLLBACK");
        return r;
    }
    for (size_t i = 0; i < h->npend; i++)
        pending_free(&h->pend[i]);
    h->npend = 0;
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* A column as an owned string (NULL for SQL NULL); the caller checks allocation failures. */
static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? strdup((const char *)s) : NULL;
}

int rapt_history_classes(rapt_history *h, rapt_history_class **out, size_t *n)
{
    if (!h || !out || !n)
        return -EINVAL;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc =
        sqlite3_prepare_v2(h->db,
                           "SELECT c.name, count(a.id), coalesce(sum(a.outcome = 'success'), 0),"
                           " count(DISTINCT a.run), min(a.start), max(a.start)"
                           " FROM classes c LEFT JOIN attempts a ON a.class = c.id"
                           " GROUP BY c.id ORDER BY max(a.start) DESC, c.name",
                           -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(h, rc, "listing classes");
    rapt_history_class *v = NULL;
    size_t cnt = 0, cap = 0;
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            rapt_history_class *nv = realloc(v, cap * sizeof(*nv));
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            v = nv;
        }
        rapt_history_class *c = &v[cnt];
        c->name = col_dup(st, 0);
        if (!c->name) {
            ret = -ENOMEM;
            break;
        }
        c->attempts = (uint64_t)sqlite3_column_int64(st, 1);
        c->succeeded = (uint64_t)sqlite3_column_int64(st, 2);
        c->runs = (uint64_t)sqlite3_column_int64(st, 3);
        c->first = sqlite3_column_double(st, 4);
        c->last = sqlite3_column_double(st, 5);
        cnt++;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = fail_rc(h, rc, "listing classes");
    sqlite3_finalize(st);
    if (ret < 0) {
        rapt_history_classes_free(v, cnt);
        return ret;
    }
    *out = v;
    *n = cnt;
    return 0;
}

void rapt_history_classes_free(rapt_history_class *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
}

int rapt_history_runs(rapt_history *h, unsigned last, rapt_history_run_info **out, size_t *n)
{
    if (!h || !out || !n)
        return -EINVAL;
    *out = NULL;
    *n = 0;
    /* Counts come from the attempts, not from the runs row, so a run that never reached
     * run_finish (rapt was killed) still shows what it did. Correlated subqueries use the run
     * index and touch only the runs listed. */
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        h->db,
        "SELECT r.run_id, r.host, r.command, r.started, r.ended, r.exit_code,"
        " (SELECT count(*) FROM attempts a WHERE a.run = r.id),"
        " (SELECT count(*) FROM attempts a WHERE a.run = r.id AND a.outcome = 'success'),"
        " (SELECT count(*) FROM attempts a WHERE a.run = r.id AND a.outcome = 'failed')"
        " FROM runs r ORDER BY r.id DESC LIMIT ?1",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(h, rc, "listing runs");
    sqlite3_bind_int64(st, 1, last ? (int64_t)last : -1);
    rapt_history_run_info *v = NULL;
    size_t cnt = 0, cap = 0;
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            rapt_history_run_info *nv = realloc(v, cap * sizeof(*nv));
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            v = nv;
        }
        rapt_history_run_info *r = &v[cnt];
        memset(r, 0, sizeof(*r));
        r->run_id = col_dup(st, 0);
        r->host = col_dup(st, 1);
        r->command = col_dup(st, 2);
        cnt++;
        if (!r->run_id || !r->host) {
            ret = -ENOMEM;
            break;
        }
        r->started = sqlite3_column_double(st, 3);
        r->ended = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 4);
        r->exit_code = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
        r->attempts = (uint64_t)sqlite3_column_int64(st, 6);
        r->succeeded = (uint64_t)sqlite3_column_int64(st, 7);
        r->failed = (uint64_t)sqlite3_column_int64(st, 8);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = fail_rc(h, rc, "listing runs");
    sqlite3_finalize(st);
    if (ret < 0) {
        rapt_history_runs_free(v, cnt);
        return ret;
    }
    *out = v;
    *n = cnt;
    return 0;
}

void rapt_history_runs_free(rapt_history_run_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].run_id);
        free(v[i].host);
        free(v[i].command);
    }
    free(v);
}

int rapt_history_iter_open(rapt_history *h, const char *class_name, uint64_t last,
                           rapt_history_iter **out)
{
    if (!h || !out)
        return -EINVAL;
    *out = NULL;
    /* The inner query picks the newest `last` by rowid through the class index; the outer one
     * hands them out oldest first, the order a model learns them in. */
    static const char cols[] =
        "SELECT * FROM (SELECT a.id, c.name, a.stage, a.seq, a.attempt, a.slot, a.arg_digest,"
        " a.input_bytes, a.start, a.wall_s, a.user_s, a.sys_s, a.peak_bytes, a.peak_method,"
        " a.\"exit\", a.\"signal\", a.reason, a.outcome, a.oom_kill, a.reservation, a.mem_limit,"
        " a.mem_budget, a.slots, a.recorded, r.run_id, r.host"
        " FROM attempts a JOIN classes c ON c.id = a.class JOIN runs r ON r.id = a.run";
    /* Two statements rather than "?1 IS NULL OR ...", which would keep SQLite from using the
     * class index: a model loads its class at every start. */
    char sql[sizeof(cols) + 160];
    snprintf(sql, sizeof(sql), "%s%s ORDER BY a.id DESC LIMIT ?2) ORDER BY id", cols,
             class_name ? " WHERE a.class = (SELECT id FROM classes WHERE name = ?1)" : "");
    rapt_history_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return -ENOMEM;
    it->h = h;
    int rc = sqlite3_prepare_v2(h->db, sql, -1, &it->st, NULL);
    if (rc != SQLITE_OK) {
        free(it);
        return fail_rc(h, rc, "reading attempts");
    }
    if (class_name)
        sqlite3_bind_text(it->st, 1, class_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(it->st, 2, last ? (int64_t)RAPT__MIN(last, (uint64_t)INT64_MAX) : -1);
    *out = it;
    return 0;
}

static int64_t col_opt_i64(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

static double col_opt_dbl(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_double(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int rapt_history_iter_next(rapt_history_iter *it, rapt_history_row *row)
{
    /* The row's strings point into SQLite's column buffers, valid until the next step: the
     * documented "borrowed until the next rapt_history_iter_next()". */
    if (!it || !row)
        return -EINVAL;
    int rc = sqlite3_step(it->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return fail_rc(it->h, rc, "reading attempts");
    sqlite3_stmt *st = it->st;
    rapt_attempt *a = &row->a;
    rapt_attempt_init(a);
    a->class_name = col_text(st, 1);
    a->stage = col_text(st, 2);
    a->seq = (uint64_t)sqlite3_column_int64(st, 3);
    a->attempt = (unsigned)sqlite3_column_int(st, 4);
    a->slot = (unsigned)sqlite3_column_int(st, 5);
    if (sqlite3_column_bytes(st, 6) == RAPT_DIGEST_SIZE) {
        memcpy(a->digest, sqlite3_column_blob(st, 6), RAPT_DIGEST_SIZE);
        a->has_digest = true;
    }
    a->input_bytes = col_opt_i64(st, 7);
    a->start = sqlite3_column_double(st, 8);
    a->wall_s = col_opt_dbl(st, 9);
    a->user_s = col_opt_dbl(st, 10);
    a->sys_s = col_opt_dbl(st, 11);
    a->peak_bytes = col_opt_i64(st, 12);
    a->peak_method = col_text(st, 13);
    a->exit_code = (int)col_opt_i64(st, 14);
    a->signal = sqlite3_column_type(st, 15) == SQLITE_NULL ? 0 : sqlite3_column_int(st, 15);
    a->reason = col_text(st, 16);
    a->outcome = col_text(st, 17);
    a->oom_kill = sqlite3_column_int(st, 18) != 0;
    a->reservation = col_opt_i64(st, 19);
    a->mem_limit = col_opt_i64(st, 20);
    a->mem_budget = col_opt_i64(st, 21);
    a->slots =
        sqlite3_column_type(st, 22) == SQLITE_NULL ? 0 : (unsigned)sqlite3_column_int(st, 22);
    row->recorded = sqlite3_column_double(st, 23);
    row->run_id = col_text(st, 24);
    row->host = col_text(st, 25);
    if (!a->class_name || !a->reason || !a->outcome || !row->run_id || !row->host)
        return sqlite3_errcode(it->h->db) == SQLITE_NOMEM ? -ENOMEM : RAPT_ECORRUPT;
    return 1;
}

void rapt_history_iter_close(rapt_history_iter *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    free(it);
}

int rapt_history_forget(rapt_history *h, const char *class_name, uint64_t *removed)
{
    if (!h || !class_name)
        return -EINVAL;
    int rc = writable(h);
    if (rc < 0)
        return rc;
    /* Pending attempts go first, so a forget is not undone by a later flush of older records. */
    if ((rc = rapt_history_flush(h)) < 0)
        return rc;
    rc = exec(h->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return fail_rc(h, rc, "forgetting a class");
    int64_t cid = -1;
    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(h->db, "SELECT id FROM classes WHERE name = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, class_name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            cid = sqlite3_column_int64(st, 0);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK && cid < 0) {
        exec(h->db, "ROLLBACK");
        return -ENOENT;
    }
    int changes = 0;
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(h->db, "DELETE FROM attempts WHERE class = ?1", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, cid);
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            changes = sqlite3_changes(h->db);
            sqlite3_finalize(st);
        }
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(h->db, "DELETE FROM classes WHERE id = ?1", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, cid);
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_finalize(st);
        }
    }
    if (rc == SQLITE_OK)
        rc = exec(h->db, "COMMIT");
    if (rc != SQLITE_OK) {
        int r = fail_rc(h, rc, "forgetting a class");
        exec(h->db, "ROLLBACK");
        return r;
    }
    if (removed)
        *removed = (uint64_t)changes;
    return 0;
}
