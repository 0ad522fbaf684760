/* dbpool: an object pool of expensive handles, SQLite connections (a librapt example).
 *
 *   rapt-dbpool [-j THREADS] [-c CONNECTIONS] [-t TASKS] [-r ROWS] DBFILE
 *
 * Creates DBFILE with a table of ROWS numbers, then runs TASKS pool tasks that each borrow a
 * connection from a rapt_objpool of at most CONNECTIONS, sum one slice of the table with the
 * connection's prepared statement, and give it back. Opening a connection and preparing its
 * statement is the expensive part (file open, schema read, statement compile), so the pool
 * makes a few and lends them again and again; a connection whose database handle went bad would
 * be caught by the validate callback and replaced. Prints the total and the pool's figures:
 *
 *   sum <total>
 *   connections created <n>, acquisitions <n>, reused <n> (<rate>), waited <n>
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rapt/rapt.h>

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *sum; /* SELECT total(v) FROM t WHERE id % ?1 = ?2 */
} conn;

static int conn_create(void *ud, void **out)
{
    const char *path = ud;
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "SELECT total(v) FROM t WHERE id % ?1 = ?2", -1, &c->sum, NULL) !=
            SQLITE_OK) {
        sqlite3_close(c->db);
        free(c);
        return -EIO;
    }
    *out = c;
    return 0;
}

static void conn_destroy(void *ud, void *obj)
{
    conn *c = obj;
    sqlite3_finalize(c->sum);
    sqlite3_close(c->db);
    free(c);
}

static bool conn_validate(void *ud, void *obj)
{
    /* A cheap liveness check: the handle still answers and holds no open transaction. */
    conn *c = obj;
    return sqlite3_get_autocommit(c->db) != 0;
}

static void conn_reset(void *ud, void *obj)
{
    conn *c = obj;
    sqlite3_reset(c->sum);
    sqlite3_clear_bindings(c->sum);
}

typedef struct slice {
    rapt_objpool *conns;
    int mod, rem;
    atomic_llong *total;
} slice;

static int sum_slice(rapt_task *t, void *arg)
{
    slice *s = arg;
    conn *c = NULL;
    int r = rapt_objpool_acquire(s->conns, 10ull * 1000 * 1000 * 1000, (void **)&c);
    if (r < 0)
        return r;
    sqlite3_bind_int(c->sum, 1, s->mod);
    sqlite3_bind_int(c->sum, 2, s->rem);
    if (sqlite3_step(c->sum) == SQLITE_ROW) {
        atomic_fetch_add(s->total, (long long)sqlite3_column_double(c->sum, 0));
        r = 0;
    } else {
        r = -EIO;
    }
    /* A connection that failed is not lent again. */
    if (r == 0)
        rapt_objpool_release(s->conns, c);
    else
        rapt_objpool_discard(s->conns, c);
    return r;
}

static int make_db(const char *path, int rows)
{
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    int r = sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)", NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL;
    if (r == SQLITE_OK)
        r = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (r == SQLITE_OK)
        r = sqlite3_prepare_v2(db, "INSERT INTO t(id, v) VALUES(?1, ?2)", -1, &ins, NULL);
    for (int i = 1; r == SQLITE_OK && i <= rows; i++) {
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_int(ins, 2, (i * 37) % 1001);
        r = sqlite3_step(ins) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (r == SQLITE_OK)
        r = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return r == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    unsigned threads = 4, conns = 3, tasks = 200;
    int rows = 100000, c;
    while ((c = getopt(argc, argv, "j:c:t:r:")) != -1) {
        unsigned long v = strtoul(optarg, NULL, 10);
        switch (c) {
        case 'j': threads = (unsigned)v; break;
        case 'c': conns = (unsigned)v; break;
        case 't': tasks = (unsigned)v; break;
        case 'r': rows = (int)v; break;
        default:
            fprintf(stderr, "usage: %s [-j THREADS] [-c CONNECTIONS] [-t TASKS] [-r ROWS] DBFILE\n",
                    argv[0]);
            return 2;
        }
    }
    if (optind + 1 != argc || tasks < 1 || tasks > 1000000 || rows < 1) {
        fprintf(stderr, "usage: %s [-j THREADS] [-c CONNECTIONS] [-t TASKS] [-r ROWS] DBFILE\n",
                argv[0]);
        return 2;
    }
    const char *path = argv[optind];
    if (make_db(path, rows) < 0) {
        fprintf(stderr, "dbpool: cannot create %s\n", path);
        return 3;
    }
    rapt_objpool_opts oo;
    rapt_objpool_opts_init(&oo);
    oo.ops.create = conn_create;
    oo.ops.destroy = conn_destroy;
    oo.ops.validate = conn_validate;
    oo.ops.reset = conn_reset;
    oo.userdata = (void *)path;
    oo.min = 1;
    oo.max = conns;
    oo.idle_timeout_ns = 5ull * 1000 * 1000 * 1000;
    rapt_objpool *cp = NULL;
    int r = rapt_objpool_create(&cp, &oo);
    if (r < 0) {
        fprintf(stderr, "dbpool: %s\n", rapt_strerror(r));
        return 3;
    }
    rapt_pool_opts po;
    rapt_pool_opts_init(&po);
    po.threads = threads;
    po.mem_budget = RAPT_GATE_UNLIMITED;
    rapt_pool *pool = NULL;
    if ((r = rapt_pool_create(&pool, &po)) < 0) {
        fprintf(stderr, "dbpool: %s\n", rapt_strerror(r));
        return 3;
    }
    atomic_llong total = 0;
    slice *sl = calloc(tasks, sizeof(*sl));
    for (unsigned i = 0; i < tasks; i++) {
        sl[i] = (slice){.conns = cp, .mod = (int)tasks, .rem = (int)i, .total = &total};
        if ((r = rapt_pool_submit(pool, sum_slice, &sl[i], NULL, NULL)) < 0) {
            fprintf(stderr, "dbpool: %s\n", rapt_strerror(r));
            return 3;
        }
    }
    rapt_pool_wait_idle(pool);
    rapt_pool_stats ps;
    rapt_pool_stats_get(pool, &ps);
    rapt_objpool_stats os;
    rapt_objpool_stats_get(cp, &os);
    printf("sum %lld\n", (long long)atomic_load(&total));
    printf("connections created %llu, acquisitions %llu, reused %llu (%.2f), waited %llu\n",
           (unsigned long long)os.created, (unsigned long long)os.acquired,
           (unsigned long long)os.reused, os.reuse_rate, (unsigned long long)os.waits);
    rapt_pool_destroy(pool);
    rapt_objpool_destroy(cp);
    free(sl);
    return ps.ok == tasks ? 0 : 1;
}
