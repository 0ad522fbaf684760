/* loop.c: the runner's event loop primitives: epoll, one signalfd, one timerfd.
 *
 * Owns those three fds. Everything the runner waits for is an fd: job exits (pidfds), job
 * output (pipes), input (a pipe or terminal), signals (signalfd) and time (one timerfd armed to
 * the earliest deadline). So the runner sleeps in exactly one place, epoll_wait, and never
 * polls or busy-waits; a signal handler never runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"

int rapt__loop_open(rapt__loop *l, const sigset_t *sigs)
{
    memset(l, 0, sizeof(*l));
    l->epfd = l->sigfd = l->timerfd = -1;
    int e;
    if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        goto fail;
    if ((l->sigfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        goto fail;
    if ((l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
        goto fail;
    if (rapt__loop_add(l, l->sigfd, RAPT__LOOP_SIGNAL) < 0 ||
        rapt__loop_add(l, l->timerfd, RAPT__LOOP_TIMER) < 0)
        goto fail;
    return 0;
fail:
    e = errno;
    rapt__loop_close(l);
    return -e;
}

void rapt__loop_close(rapt__loop *l)
{
    if (l->timerfd >= 0)
        close(l->timerfd);
    if (l->sigfd >= 0)
        close(l->sigfd);
    if (l->epfd >= 0)
        close(l->epfd);
    l->epfd = l->sigfd = l->timerfd = -1;
}

int rapt__loop_add(rapt__loop *l, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int rapt__loop_add_pri(rapt__loop *l, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLPRI, .data.u64 = tag};
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int rapt__psi_trigger_open(const char *path, unsigned stall_us, unsigned window_us)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "some %u %u", stall_us, window_us);
    /* The kernel takes the trigger with its terminating NUL, as in its PSI documentation. */
    if (write(fd, buf, (size_t)n + 1) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

int rapt__loop_del(rapt__loop *l, int fd)
{
    return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int rapt__loop_arm(rapt__loop *l, uint64_t deadline_ns)
{
    if (deadline_ns == l->armed)
        return 0;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (deadline_ns) {
        its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ull);
        its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ull);
    }
    if (timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -errno;
    l->armed = deadline_ns;
    return 0;
}

int rapt__loop_wait(rapt__loop *l, rapt__loop_ev *evs, int max)
{
    struct epoll_event raw[64];
    if (max > (int)RAPT__ARRAY_SIZE(raw))
        max = (int)RAPT__ARRAY_SIZE(raw);
    int n = epoll_wait(l->epfd, raw, max, -1);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        evs[i].tag = raw[i].data.u64;
        evs[i].flags = ((raw[i].events & EPOLLIN) ? RAPT__LOOP_IN : 0) |
                       ((raw[i].events & (EPOLLHUP | EPOLLERR)) ? RAPT__LOOP_HUP : 0) |
                       ((raw[i].events & EPOLLPRI) ? RAPT__LOOP_PRI : 0);
    }
    return n;
}

int rapt__loop_signal(rapt__loop *l, int *signo)
{
    struct signalfd_siginfo si;
    ssize_t n;
    do
        n = read(l->sigfd, &si, sizeof(si));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(si))
        return 0;
    *signo = (int)si.ssi_signo;
    return 1;
}

void rapt__loop_timer_ack(rapt__loop *l)
{
    uint64_t expirations;
    /* Non-blocking: a spurious wake-up (the deadline moved) reads EAGAIN, which is fine. */
    ssize_t n = read(l->timerfd, &expirations, sizeof(expirations));
    (void)n;
    l->armed = 0;
}
