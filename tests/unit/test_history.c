/* test_history.c: the SQLite history store on real files: round trips, batching, retention,
 * read-only use, files it must refuse and leave byte for byte as they were, and several
 * processes writing one file at once without losing a record. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "rapt/history.h"

static char tmpdir[64];
static char dbpath[128];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/rapt-history-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof(dbpath), "%s/state/rapt/history.db", tmpdir);
}

static void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Counts warnings from the library's log callback. */
static int warnings;
static void count_log(void *ud, rapt_log_level lv, const char *msg)
{
    (void)ud;
    (void)msg;
    if (lv <= RAPT_LOG_WARN)
        warnings++;
}

static rapt_history *open_rw(const char *path, unsigned batch)
{
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = path;
    o.batch = batch;
    o.busy_timeout_ms = 20000;
    o.log = count_log;
    rapt_history *h = NULL;
    int rc = rapt_history_open(&h, &o);
    ck_assert_msg(rc == 0, "open %s: %s", path, rapt_strerror(rc));
    return h;
}

static int64_t begin_run(rapt_history *h, const char *id)
{
    rapt_history_run r;
    rapt_history_run_init(&r);
    r.run_id = id;
    r.host = "testhost";
    r.command = "work {}";
    r.started = 1795000000.0;
    r.slots = 2;
    r.mem_limit = 1 << 30;
    int64_t key;
    ck_assert_int_eq(rapt_history_run_begin(h, &r, &key), 0);
    return key;
}

static void fill_attempt(rapt_attempt *a, const char *cls, uint64_t seq)
{
    rapt_attempt_init(a);
    a->class_name = cls;
    a->seq = seq;
    a->attempt = 1;
    a->slot = 1 + (unsigned)(seq % 2);
    a->input_bytes = (int64_t)(seq * 1000);
    a->start = 1795000000.0 + (double)seq;
    a->wall_s = 0.5 + (double)seq / 100;
    a->user_s = 0.25;
    a->sys_s = 0.125;
    a->peak_bytes = (int64_t)(3 * seq * 1000 + 50000);
    a->peak_method = "cgroup-v1";
    a->exit_code = 0;
    a->mem_limit = 1 << 30;
    a->mem_budget = 900000000;
    a->slots = 2;
    a->has_digest = true;
    memset(a->digest, (int)(seq & 0xff), sizeof(a->digest));
}

/* Whole contents of a file, or NULL when it does not exist. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static bool exists(const char *path, const char *suffix)
{
    char p[256];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    struct stat st;
    return lstat(p, &st) == 0;
}

/* Opens `path` and asserts it is refused with `want` and left exactly as it was, with no
 * -wal/-shm/-journal created beside it. */
static void assert_refused_untouched(const char *path, int want)
{
    size_t before_len, after_len;
    char *before = slurp(path, &before_len);
    ck_assert_ptr_nonnull(before);
    struct stat st0, st1;
    ck_assert_int_eq(stat(path, &st0), 0);
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = path;
    o.log = count_log;
    warnings = 0;
    rapt_history *h = NULL;
    int rc = rapt_history_open(&h, &o);
    ck_assert_msg(rc == want, "expected %s, got %s", rapt_strerror(want), rapt_strerror(rc));
    ck_assert_ptr_null(h);
    ck_assert_int_ge(warnings, 1);
    char *after = slurp(path, &after_len);
    ck_assert_uint_eq(before_len, after_len);
    ck_assert(memcmp(before, after, before_len) == 0);
    ck_assert_int_eq(stat(path, &st1), 0);
    ck_assert_int_eq(st0.st_mtim.tv_sec, st1.st_mtim.tv_sec);
    ck_assert_int_eq(st0.st_mtim.tv_nsec, st1.st_mtim.tv_nsec);
    ck_assert(!exists(path, "-wal"));
    ck_assert(!exists(path, "-shm"));
    ck_assert(!exists(path, "-journal"));
    /* The read-only path refuses it the same way. */
    o.readonly = true;
    ck_assert_int_eq(rapt_history_open(&h, &o), want);
    ck_assert(!exists(path, "-wal"));
    free(before);
    free(after);
}

START_TEST(default_path_follows_xdg)
{
    char buf[256];
    const char *env1[] = {"HOME=/home/u", "XDG_STATE_HOME=/s", NULL};
    ck_assert_int_eq(rapt_history_default_path(env1, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/s/rapt/history.db");
    /* A relative XDG_STATE_HOME is invalid per the XDG spec and ignored. */
    const char *env2[] = {"HOME=/home/u", "XDG_STATE_HOME=rel", NULL};
    ck_assert_int_eq(rapt_history_default_path(env2, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/home/u/.local/state/rapt/history.db");
    const char *env3[] = {"PATH=/bin", NULL};
    ck_assert_int_eq(rapt_history_default_path(env3, buf, sizeof(buf)), -ENOENT);
    char tiny[8];
    ck_assert_int_eq(rapt_history_default_path(env1, tiny, sizeof(tiny)), -ENAMETOOLONG);
}
END_TEST

START_TEST(round_trip_every_field)
{
    rapt_history *h = open_rw(dbpath, 64);
    int64_t run = begin_run(h, "run-1");
    /* The same run id again is the same run. */
    ck_assert_int_eq(begin_run(h, "run-1"), run);
    rapt_attempt a;
    fill_attempt(&a, "work {}", 1);
    ck_assert_int_eq(rapt_history_add(h, run, &a), 0);
    fill_attempt(&a, "work {}", 2);
    a.exit_code = -1;
    a.signal = 9;
    a.reason = "oom";
    a.outcome = "requeued";
    a.oom_kill = true;
    a.reservation = 123456;
    a.stage = "decode";
    a.has_digest = false;
    a.input_bytes = -1;
    ck_assert_int_eq(rapt_history_add(h, run, &a), 0);
    /* A hostile class name is stored as is. */
    fill_attempt(&a, "cls,\"x\"\nnext", 3);
    ck_assert_int_eq(rapt_history_add(h, run, &a), 0);
    ck_assert_uint_eq(rapt_history_pending(h), 3);
    rapt_history_run_end e = {.ended = 1795000100.0,
                              .jobs = 3,
                              .succeeded = 2,
                              .failed = 0,
                              .exit_code = 0,
                              .reason = "done"};
    ck_assert_int_eq(rapt_history_run_finish(h, run, &e), 0);
    ck_assert_uint_eq(rapt_history_pending(h), 0);
    rapt_history_close(h);

    /* The file is in WAL mode with rapt's application id and schema in its header. */
    size_t len;
    char *b = slurp(dbpath, &len);
    ck_assert_ptr_nonnull(b);
    rapt__dbheader hd;
    ck_assert_int_eq(rapt__history_parse_header((unsigned char *)b, len, len, &hd), 0);
    ck_assert(hd.wal);
    ck_assert_uint_eq(hd.user_version, RAPT_HISTORY_SCHEMA);
    ck_assert_uint_eq(hd.app_id, RAPT_HISTORY_APP_ID);
    free(b);

    h = open_rw(dbpath, 64);
    rapt_history_iter *it;
    ck_assert_int_eq(rapt_history_iter_open(h, NULL, 0, &it), 0);
    rapt_history_row r;
    ck_assert_int_eq(rapt_history_iter_next(it, &r), 1);
    ck_assert_str_eq(r.a.class_name, "work {}");
    ck_assert_str_eq(r.run_id, "run-1");
    ck_assert_str_eq(r.host, "testhost");
    ck_assert_uint_eq(r.a.seq, 1);
    ck_assert_int_eq(r.a.input_bytes, 1000);
    ck_assert_int_eq(r.a.peak_bytes, 53000);
    ck_assert(r.a.wall_s > 0.509 && r.a.wall_s < 0.511);
    ck_assert(r.a.user_s == 0.25 && r.a.sys_s == 0.125);
    ck_assert_str_eq(r.a.peak_method, "cgroup-v1");
    ck_assert_int_eq(r.a.exit_code, 0);
    ck_assert_int_eq(r.a.signal, 0);
    ck_assert_str_eq(r.a.reason, "exit");
    ck_assert_str_eq(r.a.outcome, "success");
    ck_assert(r.a.has_digest && r.a.digest[0] == 1);
    ck_assert_int_eq(r.a.mem_limit, 1 << 30);
    ck_assert_int_eq(r.a.mem_budget, 900000000);
    ck_assert_uint_eq(r.a.slots, 2);
    ck_assert_int_eq(r.a.reservation, -1);
    ck_assert_int_eq(rapt_history_iter_next(it, &r), 1);
    ck_assert_uint_eq(r.a.seq, 2);
    ck_assert_int_eq(r.a.exit_code, -1);
    ck_assert_int_eq(r.a.signal, 9);
    ck_assert_str_eq(r.a.reason, "oom");
    ck_assert_str_eq(r.a.outcome, "requeued");
    ck_assert(r.a.oom_kill);
    ck_assert_int_eq(r.a.reservation, 123456);
    ck_assert_str_eq(r.a.stage, "decode");
    ck_assert(!r.a.has_digest);
    ck_assert_int_eq(r.a.input_bytes, -1);
    ck_assert_int_eq(rapt_history_iter_next(it, &r), 1);
    ck_assert_str_eq(r.a.class_name, "cls,\"x\"\nnext");
    ck_assert_int_eq(rapt_history_iter_next(it, &r), 0);
    rapt_history_iter_close(it);

    /* Only the newest N of one class, still oldest first. */
    ck_assert_int_eq(rapt_history_iter_open(h, "work {}", 1, &it), 0);
    ck_assert_int_eq(rapt_history_iter_next(it, &r), 1);
    ck_assert_uint_eq(r.a.seq, 2);
    ck_assert_int_eq(rapt_history_iter_next(it, &r), 0);
    rapt_history_iter_close(it);

    rapt_history_class *cv;
    size_t nc;
    ck_assert_int_eq(rapt_history_classes(h, &cv, &nc), 0);
    ck_assert_uint_eq(nc, 2);
    ck_assert_str_eq(cv[0].name, "cls,\"x\"\nnext"); /* the most recent first */
    ck_assert_uint_eq(cv[1].attempts, 2);
    ck_assert_uint_eq(cv[1].succeeded, 1);
    ck_assert_uint_eq(cv[1].runs, 1);
    rapt_history_classes_free(cv, nc);

    rapt_history_run_info *rv;
    size_t nr;
    ck_assert_int_eq(rapt_history_runs(h, 10, &rv, &nr), 0);
    ck_assert_uint_eq(nr, 1);
    ck_assert_str_eq(rv[0].run_id, "run-1");
    ck_assert_uint_eq(rv[0].attempts, 3);
    ck_assert_uint_eq(rv[0].succeeded, 2);
    ck_assert_int_eq(rv[0].exit_code, 0);
    ck_assert(rv[0].ended > rv[0].started);
    rapt_history_runs_free(rv, nr);
    rapt_history_close(h);
}
END_TEST

START_TEST(bad_attempts_are_refused)
{
    rapt_history *h = open_rw(dbpath, 64);
    int64_t run = begin_run(h, "r");
    rapt_attempt a;
    fill_attempt(&a, "c", 1);
    a.reason = "bored";
    ck_assert_int_eq(rapt_history_add(h, run, &a), -EINVAL);
    fill_attempt(&a, "c", 1);
    a.outcome = NULL;
    ck_assert_int_eq(rapt_history_add(h, run, &a), -EINVAL);
    fill_attempt(&a, NULL, 1);
    ck_assert_int_eq(rapt_history_add(h, run, &a), -EINVAL);
    fill_attempt(&a, "c", 1);
    ck_assert_int_eq(rapt_history_add(h, 0, &a), -EINVAL);
    ck_assert_uint_eq(rapt_history_pending(h), 0);
    /* A run key that no run_begin returned is refused when written, not stored unreachable. */
    ck_assert_int_eq(rapt_history_add(h, run + 1000, &a), 0);
    ck_assert_int_eq(rapt_history_flush(h), -EINVAL);
    ck_assert_uint_eq(rapt_history_pending(h), 1);
    rapt_history_close(h);
}
END_TEST

START_TEST(batches_flush_at_the_batch_size)
{
    rapt_history *w = open_rw(dbpath, 4);
    rapt_history *r = open_rw(dbpath, 4);
    int64_t run = begin_run(w, "r");
    rapt_attempt a;
    for (uint64_t i = 1; i <= 3; i++) {
        fill_attempt(&a, "c", i);
        ck_assert_int_eq(rapt_history_add(w, run, &a), 0);
    }
    /* Nothing is visible to another connection until the batch is written. */
    rapt_history_class *cv;
    size_t nc;
    ck_assert_int_eq(rapt_history_classes(r, &cv, &nc), 0);
    ck_assert_uint_eq(nc, 0);
    rapt_history_classes_free(cv, nc);
    fill_attempt(&a, "c", 4);
    ck_assert_int_eq(rapt_history_add(w, run, &a), 0);
    ck_assert_uint_eq(rapt_history_pending(w), 0);
    ck_assert_int_eq(rapt_history_classes(r, &cv, &nc), 0);
    ck_assert_uint_eq(nc, 1);
    ck_assert_uint_eq(cv[0].attempts, 4);
    rapt_history_classes_free(cv, nc);
    /* Closing writes the rest. */
    fill_attempt(&a, "c", 5);
    ck_assert_int_eq(rapt_history_add(w, run, &a), 0);
    rapt_history_close(w);
    ck_assert_int_eq(rapt_history_classes(r, &cv, &nc), 0);
    ck_assert_uint_eq(cv[0].attempts, 5);
    rapt_history_classes_free(cv, nc);
    rapt_history_close(r);
}
END_TEST

START_TEST(retention_and_forget)
{
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = dbpath;
    o.keep_per_class = 5;
    rapt_history *h;
    ck_assert_int_eq(rapt_history_open(&h, &o), 0);
    int64_t run = begin_run(h, "r");
    rapt_attempt a;
    for (uint64_t i = 1; i <= 12; i++) {
        fill_attempt(&a, "keep", i);
        ck_assert_int_eq(rapt_history_add(h, run, &a), 0);
        fill_attempt(&a, "other", i);
        ck_assert_int_eq(rapt_history_add(h, run, &a), 0);
        if (i % 3 == 0)
            ck_assert_int_eq(rapt_history_flush(h), 0);
    }
    ck_assert_int_eq(rapt_history_flush(h), 0);
    rapt_history_iter *it;
    rapt_history_row r;
    ck_assert_int_eq(rapt_history_iter_open(h, "keep", 0, &it), 0);
    uint64_t want = 8;
    while (rapt_history_iter_next(it, &r) == 1)
        ck_assert_uint_eq(r.a.seq, want++);
    ck_assert_uint_eq(want, 13); /* exactly the newest five: 8..12 */
    rapt_history_iter_close(it);

    uint64_t removed = 0;
    ck_assert_int_eq(rapt_history_forget(h, "other", &removed), 0);
    ck_assert_uint_eq(removed, 5);
    ck_assert_int_eq(rapt_history_forget(h, "other", &removed), -ENOENT);
    rapt_history_class *cv;
    size_t nc;
    ck_assert_int_eq(rapt_history_classes(h, &cv, &nc), 0);
    ck_assert_uint_eq(nc, 1);
    ck_assert_str_eq(cv[0].name, "keep");
    rapt_history_classes_free(cv, nc);
    rapt_history_close(h);
}
END_TEST

START_TEST(readonly_never_creates_or_writes)
{
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = dbpath;
    o.readonly = true;
    rapt_history *h = NULL;
    ck_assert_int_eq(rapt_history_open(&h, &o), -ENOENT);
    struct stat st;
    ck_assert_int_eq(stat(dbpath, &st), -1);

    rapt_history *w = open_rw(dbpath, 64);
    int64_t run = begin_run(w, "r");
    rapt_attempt a;
    fill_attempt(&a, "c", 1);
    ck_assert_int_eq(rapt_history_add(w, run, &a), 0);
    rapt_history_close(w);

    ck_assert_int_eq(rapt_history_open(&h, &o), 0);
    ck_assert_int_eq(rapt_history_add(h, run, &a), -EROFS);
    ck_assert_int_eq(rapt_history_forget(h, "c", NULL), -EROFS);
    rapt_history_class *cv;
    size_t nc;
    ck_assert_int_eq(rapt_history_classes(h, &cv, &nc), 0);
    ck_assert_uint_eq(nc, 1);
    rapt_history_classes_free(cv, nc);
    rapt_history_close(h);

    /* A zero-length file is an empty database: a writer initialises it, a reader sees none. */
    char empty[160];
    snprintf(empty, sizeof(empty), "%s/empty.db", tmpdir);
    close(open(empty, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    ck_assert_int_eq((o.path = empty, rapt_history_open(&h, &o)), -ENOENT);
    w = open_rw(empty, 64);
    rapt_history_close(w);
    ck_assert_int_eq(rapt_history_open(&h, &o), 0);
    rapt_history_close(h);
}
END_TEST

START_TEST(header_parser)
{
    unsigned char b[100] = "SQLite format 3";
    b[16] = 0x10; /* 4096 */
    b[18] = b[19] = 2;
    b[21] = 64;
    b[22] = b[23] = 32;
    b[27] = 5;    /* change counter 5 */
    b[31] = 3;    /* 3 pages */
    b[95] = 5;    /* valid for change 5 */
    b[63] = 1;    /* user_version 1 */
    b[68] = 0x72; /* application id "rapt" */
    b[69] = 0x61;
    b[70] = 0x70;
    b[71] = 0x74;
    b[59] = 1; /* UTF-8 */
    rapt__dbheader h;
    ck_assert_int_eq(rapt__history_parse_header(b, 100, 3 * 4096, &h), 0);
    ck_assert_uint_eq(h.page_size, 4096);
    ck_assert_uint_eq(h.pages, 3);
    ck_assert_uint_eq(h.user_version, 1);
    ck_assert_uint_eq(h.app_id, RAPT_HISTORY_APP_ID);
    ck_assert(h.wal);
    /* Shorter than the header says: truncated. Not whole pages: damaged. */
    ck_assert_int_eq(rapt__history_parse_header(b, 100, 2 * 4096, &h), RAPT_ECORRUPT);
    ck_assert_int_eq(rapt__history_parse_header(b, 100, 3 * 4096 + 1, &h), RAPT_ECORRUPT);
    /* When the page count is stale (counter mismatch) the file size is not held against it. */
    b[95] = 4;
    ck_assert_int_eq(rapt__history_parse_header(b, 100, 2 * 4096, &h), 0);
    ck_assert_uint_eq(h.pages, 0);
    b[16] = 0x03; /* 768: not a power of two */
    ck_assert_int_eq(rapt__history_parse_header(b, 100, 3 * 4096, &h), RAPT_ECORRUPT);
    b[16] = 0x10;
    b[21] = 60;
    ck_assert_int_eq(rapt__history_parse_header(b, 100, 3 * 4096, &h), RAPT_ECORRUPT);
    b[21] = 64;
    b[0] = 'X';
    ck_assert_int_eq(rapt__history_parse_header(b, 100, 3 * 4096, &h), RAPT_ECORRUPT);
    ck_assert_int_eq(rapt__history_parse_header(b, 50, 3 * 4096, &h), RAPT_ECORRUPT);
}
END_TEST

/* A real history with enough attempts to span many pages. */
static void make_big_history(const char *path)
{
    rapt_history *h = open_rw(path, 256);
    int64_t run = begin_run(h, "big");
    rapt_attempt a;
    for (uint64_t i = 1; i <= 3000; i++) {
        fill_attempt(&a, i % 2 ? "odd {}" : "even {}", i);
        ck_assert_int_eq(rapt_history_add(h, run, &a), 0);
    }
    rapt_history_close(h);
    /* The last connection checkpointed and removed the WAL: the file is quiescent. */
    ck_assert(!exists(path, "-wal"));
}

START_TEST(garbage_is_refused_untouched)
{
    char p[160];
    snprintf(p, sizeof(p), "%s/garbage.db", tmpdir);
    FILE *f = fopen(p, "we");
    for (int i = 0; i < 8192; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    assert_refused_untouched(p, RAPT_ECORRUPT);
    /* Text that starts like a SQLite header but is not one. */
    f = fopen(p, "we");
    fputs("SQLite format 3 but not really, just text that goes on for a while", f);
    fclose(f);
    assert_refused_untouched(p, RAPT_ECORRUPT);
}
END_TEST

START_TEST(truncated_and_damaged_are_refused_untouched)
{
    make_big_history(dbpath);
    size_t len;
    char *b = slurp(dbpath, &len);
    ck_assert_uint_gt(len, 40 * 4096);
    /* Truncated to half its pages. */
    char p[160];
    snprintf(p, sizeof(p), "%s/truncated.db", tmpdir);
    FILE *f = fopen(p, "we");
    fwrite(b, 1, (len / 2) & ~(size_t)4095, f);
    fclose(f);
    assert_refused_untouched(p, RAPT_ECORRUPT);
    /* Whole size, but b-tree pages in the middle overwritten: only SQLite's own check sees it. */
    snprintf(p, sizeof(p), "%s/damaged.db", tmpdir);
    for (size_t off = 10 * 4096; off < 14 * 4096; off++)
        b[off] = (char)(off * 31);
    f = fopen(p, "we");
    fwrite(b, 1, len, f);
    fclose(f);
    assert_refused_untouched(p, RAPT_ECORRUPT);
    free(b);
}
END_TEST

START_TEST(newer_schema_is_refused_untouched)
{
    rapt_history *h = open_rw(dbpath, 64);
    rapt_history_close(h);
    /* What a future rapt with schema 2 leaves behind. */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert(!exists(dbpath, "-wal"));
    assert_refused_untouched(dbpath, RAPT_ESCHEMA);
}
END_TEST

START_TEST(foreign_sqlite_files_are_refused_untouched)
{
    char p[160];
    snprintf(p, sizeof(p), "%s/other.db", tmpdir);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(p, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_refused_untouched(p, RAPT_ESCHEMA);
    ck_assert_int_eq(sqlite3_open(p, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA application_id = 1234", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_refused_untouched(p, RAPT_ESCHEMA);
}
END_TEST

/* Several processes, started at the same instant on a file that does not exist yet, each
 * writing its own run in small batches. Every record must be there exactly once. */
#define WRITERS    4
#define PER_WRITER 400

static void writer(int go_fd, int id)
{
    char buf;
    if (read(go_fd, &buf, 1) != 0)
        _exit(10);
    rapt_history_opts o;
    rapt_history_opts_init(&o);
    o.path = dbpath;
    o.batch = 7; /* many small transactions interleave more than a few big ones */
    o.busy_timeout_ms = 60000;
    rapt_history *h;
    if (rapt_history_open(&h, &o) < 0)
        _exit(11);
    char run_id[32];
    snprintf(run_id, sizeof(run_id), "writer-%d", id);
    rapt_history_run r;
    rapt_history_run_init(&r);
    r.run_id = run_id;
    r.host = "h";
    r.started = 1;
    int64_t key;
    if (rapt_history_run_begin(h, &r, &key) < 0)
        _exit(12);
    for (uint64_t i = 1; i <= PER_WRITER; i++) {
        rapt_attempt a;
        fill_attempt(&a, id % 2 ? "shared" : "mine {}", i);
        if (rapt_history_add(h, key, &a) < 0)
            _exit(13);
    }
    if (rapt_history_flush(h) < 0)
        _exit(14);
    rapt_history_close(h);
    _exit(0);
}

START_TEST(concurrent_writers_lose_nothing)
{
    int go[2];
    ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
    pid_t pids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            close(go[1]);
            writer(go[0], i);
        }
    }
    /* Closing the write end releases every writer at once. */
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < WRITERS; i++) {
        int st;
        ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d: status %d", i, st);
    }
    rapt_history *h = open_rw(dbpath, 64);
    rapt_history_iter *it;
    ck_assert_int_eq(rapt_history_iter_open(h, NULL, 0, &it), 0);
    static unsigned seen[WRITERS][PER_WRITER + 1];
    memset(seen, 0, sizeof(seen));
    rapt_history_row r;
    unsigned total = 0;
    int rc;
    while ((rc = rapt_history_iter_next(it, &r)) == 1) {
        int w = r.run_id[strlen(r.run_id) - 1] - '0';
        ck_assert(w >= 0 && w < WRITERS && r.a.seq >= 1 && r.a.seq <= PER_WRITER);
        seen[w][r.a.seq]++;
        total++;
    }
    ck_assert_int_eq(rc, 0);
    rapt_history_iter_close(it);
    ck_assert_uint_eq(total, WRITERS * PER_WRITER);
    for (int w = 0; w < WRITERS; w++)
        for (int s = 1; s <= PER_WRITER; s++)
            ck_assert_msg(seen[w][s] == 1, "writer %d seq %d seen %u times", w, s, seen[w][s]);
    rapt_history_run_info *rv;
    size_t nr;
    ck_assert_int_eq(rapt_history_runs(h, 0, &rv, &nr), 0);
    ck_assert_uint_eq(nr, WRITERS);
    rapt_history_runs_free(rv, nr);
    rapt_history_close(h);
    /* The race to create the file left no temporary file behind, and no side file once every
     * connection closed. */
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/state/rapt", tmpdir);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    unsigned entries = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        ck_assert_str_eq(e->d_name, "history.db");
        entries++;
    }
    closedir(d);
    ck_assert_uint_eq(entries, 1);
}
END_TEST

static Suite *history_suite(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, default_path_follows_xdg);
    tcase_add_test(tc, round_trip_every_field);
    tcase_add_test(tc, bad_attempts_are_refused);
    tcase_add_test(tc, batches_flush_at_the_batch_size);
    tcase_add_test(tc, retention_and_forget);
    tcase_add_test(tc, readonly_never_creates_or_writes);
    tcase_add_test(tc, header_parser);
    tcase_add_test(tc, garbage_is_refused_untouched);
    tcase_add_test(tc, truncated_and_damaged_are_refused_untouched);
    tcase_add_test(tc, newer_schema_is_refused_untouched);
    tcase_add_test(tc, foreign_sqlite_files_are_refused_untouched);
    tcase_add_test(tc, concurrent_writers_lose_nothing);
    suite_add_tcase(s, tc);
    return s;
}

RAPT_TEST_MAIN(history_suite)
