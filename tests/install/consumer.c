/* consumer.c: a program outside the source tree that uses librapt only through its installed
 * headers and library (tests/e2e/install.bats builds it with pkg-config and with CMake).
 * It exercises one call of each module and prints what it saw. */
#include <stdio.h>

#include <rapt/rapt.h>

static int square(rapt_task *t, void *arg)
{
    int *v = arg;
    *v = *v * *v;
    return rapt_task_check(t);
}

int main(void)
{
    rapt_gate *g = NULL;
    rapt_gate_opts go;
    rapt_gate_opts_init(&go);
    go.slots = 2;
    go.bytes = 100;
    if (rapt_gate_create(&g, &go) != 0)
        return 1;
    int too_big = rapt_gate_acquire(g, 1, 1000);
    rapt_gate_destroy(g);

    rapt_pool_opts po;
    rapt_pool_opts_init(&po);
    po.threads = 2;
    po.mem_budget = 1 << 20;
    rapt_pool *p = NULL;
    if (rapt_pool_create(&p, &po) != 0)
        return 1;
    int v = 7;
    rapt_future *f = NULL;
    rapt_task_result r;
    if (rapt_pool_submit(p, square, &v, NULL, &f) != 0 || rapt_future_wait(f, &r) != 0)
        return 1;
    rapt_future_release(f);
    rapt_pool_destroy(p);

    rapt_arena_opts ao;
    rapt_arena_opts_init(&ao);
    ao.capacity = 4096;
    rapt_arena *a = NULL;
    void *blk = NULL;
    if (rapt_arena_create(&a, &ao) != 0 || rapt_arena_alloc(a, 100, &blk) != 0)
        return 1;
    rapt_arena_destroy(a);

    printf("rapt %s: square=%d status=%d too_big=%s\n", rapt_version(), v, r.status,
           rapt_strerror(too_big));
    return 0;
}
