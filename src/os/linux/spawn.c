/* spawn.c: starting and reaping job processes.
 *
 * Owns the child's side of a spawn. Why clone(CLONE_VM | CLONE_VFORK) and not posix_spawn():
 * a job must join its slot's memory cgroup and arm PR_SET_PDEATHSIG before it execs, and
 * posix_spawn has no hook for either. fork() would copy rapt's page tables and, with
 * accounting on, charge the copy-on-write pages to the job. A vfork-style clone costs what
 * posix_spawn costs (glibc's posix_spawn is this same clone), keeps ru_maxrss from inheriting
 * rapt's memory through COW, and lets the child report exec failures through memory shared
 * with the parent, so no status pipe is needed: the parent resumes only when the child has
 * exec'd or exited.
 *
 * The child runs on rapt's memory with its own stack until exec. It may only make
 * async-signal-safe system calls and must not touch anything the parent reads afterwards
 * except the `shared` block. All signals are blocked around clone() so no handler can run on
 * the child's borrowed stack.
 *
 * Whether the child really shares memory is checked once, when the spawner is made: an
 * emulator (valgrind turns such a clone into a fork) or an unusual kernel may not honour
 * CLONE_VM. Then the child reports through a CLOEXEC status pipe instead, which reaches EOF at
 * the exec; the parent reads it before it goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* 256 KiB: the child calls a handful of libc syscall wrappers; sanitizer builds need more. */
#define CHILD_STACK (256u * 1024u)

/* What parent and child share while the parent is suspended. */
typedef struct shared {
    const rapt__spawn_req *req;
    pid_t parent;
    int report; /* write end of the status pipe when memory is not shared, else -1 */
    int exec_errno;
    int cgroup_errno;
} shared;

/* A record on the status pipe. */
enum { REPORT_CGROUP = 1, REPORT_EXEC = 2 };
typedef struct report {
    int what;
    int err;
} report;

/* Runs on the borrowed stack like child_main, so the sanitizers stay out of it too. */
__attribute__((no_sanitize("address", "undefined", "thread"))) static int probe_child(void *p)
{
    *(volatile int *)p = 1;
    _exit(0);
}

/* Does a CLONE_VM | CLONE_VFORK child write into our memory? */
static bool probe_shared_vm(void *stack, size_t size)
{
    int flag = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(probe_child, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &flag);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return false;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return flag == 1;
}

int rapt__spawner_init(rapt__spawner *sp)
{
    memset(sp, 0, sizeof(*sp));
    void *st = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (st == MAP_FAILED)
        return -errno;
    sp->stack = st;
    sp->stack_size = CHILD_STACK;
    sp->self = getpid();
    /* pidfd_open (5.3) implies CLONE_PIDFD (5.2). Older kernels ignore unknown clone flags,
     * so the flag must not be passed blindly. */
    int fd = (int)syscall(SYS_pidfd_open, sp->self, 0);
    if (fd >= 0) {
        sp->pidfd = true;
        close(fd);
    }
    sp->shared_vm = probe_shared_vm(sp->stack, sp->stack_size);
    return 0;
}

void rapt__spawner_free(rapt__spawner *sp)
{
    if (sp->stack)
        munmap(sp->stack, sp->stack_size);
    sp->stack = NULL;
}

/* Puts fd at target in the child, without CLOEXEC. */
static int install(int fd, int target)
{
    if (fd < 0)
        return 0;
    if (fd == target) {
        int fl = fcntl(fd, F_GETFD);
        return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
    }
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* The child, between clone and exec. Sanitizers are off here: this runs on a stack they do
 * not know, in a process that shares their state with the parent. */
__attribute__((no_sanitize("address", "undefined", "thread"))) static int child_main(void *p)
{
    shared *sh = p;
    const rapt__spawn_req *r = sh->req;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) {
        if (r->reset && sigismember(r->reset, s) == 1)
            sigaction(s, &dfl, NULL);
    }
    /* Its own process group, so killpg() reaches every process the job starts and a terminal's
     * Ctrl-C reaches rapt alone, which then ends the jobs in order. */
    setpgid(0, 0);
    if (r->pdeathsig) {
        prctl(PR_SET_PDEATHSIG, r->pdeathsig);
        /* rapt may have died between clone and prctl: then nobody would send the signal. */
        if (getppid() != sh->parent)
            _exit(127);
    }
    if (r->cgroup_procs >= 0 && write(r->cgroup_procs, "0", 1) != 1) {
        sh->cgroup_errno = errno ? errno : EIO;
        if (sh->report >= 0) {
            report rep = {REPORT_CGROUP, sh->cgroup_errno};
            ssize_t w = write(sh->report, &rep, sizeof(rep));
            (void)w;
        }
    }
    int err = 0;
    if (install(r->fd[0], 0) < 0 || install(r->fd[1], 1) < 0 || install(r->fd[2], 2) < 0) {
        err = errno;
    } else {
        sigprocmask(SIG_SETMASK, r->mask, NULL);
        execve(r->path, r->argv, r->envp);
        err = errno ? errno : ENOEXEC;
    }
    sh->exec_errno = err;
    if (sh->report >= 0) {
        report rep = {REPORT_EXEC, err};
        ssize_t w = write(sh->report, &rep, sizeof(rep));
        (void)w;
    }
    _exit(127);
}

int rapt__spawn(rapt__spawner *sp, const rapt__spawn_req *req, rapt__spawn_res *res)
{
    memset(res, 0, sizeof(*res));
    res->pidfd = -1;
    shared sh = {.req = req, .parent = sp->self, .report = -1};
    int status[2] = {-1, -1};
    if (!sp->shared_vm) {
        if (pipe2(status, O_CLOEXEC) < 0)
            return -errno;
        sh.report = status[1];
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (sp->pidfd ? CLONE_PIDFD : 0);
    pid_t pid = clone(child_main, (char *)sp->stack + sp->stack_size, flags, &sh, &pidfd);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (status[1] >= 0)
        close(status[1]);
    if (pid < 0) {
        if (status[0] >= 0)
            close(status[0]);
        return -e;
    }
    if (status[0] >= 0) {
        /* EOF comes with the exec (CLOEXEC) or the child's exit. */
        report rep;
        ssize_t n;
        while ((n = read(status[0], &rep, sizeof(rep))) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n != (ssize_t)sizeof(rep))
                break;
            if (rep.what == REPORT_CGROUP)
                sh.cgroup_errno = rep.err;
            else if (rep.what == REPORT_EXEC)
                sh.exec_errno = rep.err;
        }
        close(status[0]);
    }
    res->pid = pid;
    res->pidfd = sp->pidfd ? pidfd : -1;
    res->cgroup_errno = sh.cgroup_errno;
    if (sh.exec_errno) {
        /* The child has already called _exit(127): collect it now, it is no job. */
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (res->pidfd >= 0)
            close(res->pidfd);
        res->pidfd = -1;
        res->exec_errno = sh.exec_errno;
    }
    return 0;
}

static uint64_t tv_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

int rapt__reap(const rapt__root *r, pid_t pid, const char *shell_comm, rapt__exit *out,
               bool *from_shell)
{
    if (from_shell)
        *from_shell = false;
    if (shell_comm && from_shell && r) {
        /* Peek first: once reaped, the process's name is gone. A shell that ran the command
         * as its child reports a signal death as 128+n; a command the shell exec'd into
         * reports its own status, which may really be 130. */
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        int w;
        do
            w = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            return -errno;
        if (si.si_pid == 0)
            return 0;
        if (si.si_code == CLD_EXITED && si.si_status >= 129 && si.si_status <= 128 + 64) {
            char path[64], comm[64];
            snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
            ssize_t n = rapt__slurp(r, path, comm, sizeof(comm));
            if (n > 0 && comm[n - 1] == '\n')
                comm[n - 1] = '\0';
            *from_shell = n > 0 && strcmp(comm, shell_comm) == 0;
        }
    }
    int st;
    struct rusage ru;
    pid_t w;
    do
        w = wait4(pid, &st, WNOHANG, &ru);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -errno;
    if (w == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    out->exited = WIFEXITED(st);
    out->code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    out->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    out->core = WIFSIGNALED(st) && WCOREDUMP(st);
    out->user_ns = tv_ns(ru.ru_utime);
    out->sys_ns = tv_ns(ru.ru_stime);
    out->maxrss = (uint64_t)ru.ru_maxrss * 1024u;
    return 1;
}

int rapt__killpg(pid_t pgid, int sig)
{
    if (pgid <= 1)
        return -EINVAL; /* never signal "every process" or init by accident */
    return kill(-pgid, sig) < 0 ? -errno : 0;
}

bool rapt__pgrp_alive(pid_t pgid)
{
    if (pgid <= 1)
        return false;
    return kill(-pgid, 0) == 0 || errno == EPERM;
}
