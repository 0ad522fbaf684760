/* rapt-testchild: a deterministic job for tests and benchmarks.
 *
 * Runs a little program given as words on its command line, left to right:
 *
 *   exit N            exit with status N now
 *   signal S          die by signal S now (number or name: KILL, TERM, SEGV, ...)
 *   alloc M           allocate and touch M MiB (kept until exit or `free`)
 *   ramp M SECS       allocate M MiB gradually over SECS seconds, touching as it goes
 *   free              release everything allocated so far
 *   sleep SECS        sleep (fractions allowed)
 *   spin SECS         burn CPU for SECS seconds of wall time
 *   print N           write N bytes ('x' lines of 64 bytes) to stdout
 *   eprint N          the same to stderr
 *   echo TEXT         write TEXT and a newline to stdout
 *   eecho TEXT        write TEXT and a newline to stderr
 *   args              write every argument after "--" framed as "<len>:<bytes>\n" (see below)
 *   cat               copy stdin to stdout
 *   ignore S          ignore signal S (e.g. "ignore TERM")
 *   pidfile PATH      write this process's pid to PATH
 *   touch PATH        create PATH (empty) to mark that the program got here
 *   fork ... ;;       run the words up to ";;" in a child process, continue at once
 *   orphan ... ;;     like fork, but the child's parent exits so it is reparented, while it
 *                     stays in the job's process group (for "no grandchild survives" tests)
 *   wait              wait for every child started by `fork`
 *   fds               write the numbers of this process's open file descriptors, one line
 *                     each (for "nothing leaks into jobs" tests)
 *   ppidfile PATH     write the parent's pid to PATH
 *   --                stop; the remaining words are data for `args`
 *
 * `args` prints the words after "--" with a length frame so tests can check that hostile
 * values (newlines, quotes, "$(...)", leading '-') arrived byte for byte.
 *
 * Exit status: 0 at the end of the program, N for "exit N", 100 on a malformed program (with a
 * message on stderr), 101 when an allocation fails.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BAD   100
#define NOMEM 101

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "rapt-testchild: %s: %s\n", what, arg ? arg : "(missing)");
    exit(BAD);
}

static double number(const char *s)
{
    if (!s)
        die("missing number", NULL);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0)
        die("bad number", s);
    return v;
}

static int signum(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},
        {"ABRT", SIGABRT}, {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"SEGV", SIGSEGV},
        {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"USR1", SIGUSR1},
        {"USR2", SIGUSR2}, {"BUS", SIGBUS},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    };
    if (!s)
        die("missing signal", NULL);
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].name) == 0)
            return names[i].sig;
    }
    double v = number(s);
    if (v < 1 || v > 64)
        die("bad signal", s);
    return (int)v;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double secs)
{
    struct timespec ts = {.tv_sec = (time_t)secs,
                          .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Allocations are mmap'd and touched page by page so they count as resident memory at once
 * and are returned to the kernel by `free` (malloc could keep them). */
typedef struct block {
    void *p;
    size_t len;
} block;
static block blocks[4096];
static size_t nblocks;
static long pagesize;

static void touch_alloc(size_t bytes)
{
    if (bytes == 0)
        return;
    if (nblocks == sizeof(blocks) / sizeof(blocks[0]))
        die("too many allocations", NULL);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "rapt-testchild: cannot allocate %zu bytes: %s\n", bytes, strerror(errno));
        exit(NOMEM);
    }
    for (size_t off = 0; off < bytes; off += (size_t)pagesize)
        ((volatile char *)p)[off] = 1;
    blocks[nblocks].p = p;
    blocks[nblocks].len = bytes;
    nblocks++;
}

static void free_all(void)
{
    for (size_t i = 0; i < nblocks; i++)
        munmap(blocks[i].p, blocks[i].len);
    nblocks = 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            exit(errno == EPIPE ? 0 : BAD);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void emit(int fd, double nbytes)
{
    static char line[64];
    if (!line[0]) {
        memset(line, 'x', sizeof(line) - 1);
        line[sizeof(line) - 1] = '\n';
    }
    char buf[65536];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = line[i % sizeof(line)];
    unsigned long long left = (unsigned long long)nbytes;
    while (left > 0) {
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        write_all(fd, buf, n);
        left -= n;
    }
}

/* Index just past the matching ";;" for a fork block starting at i. */
static int block_end(int argc, char **argv, int i)
{
    int depth = 1;
    for (int j = i; j < argc; j++) {
        if (strcmp(argv[j], "fork") == 0 || strcmp(argv[j], "orphan") == 0)
            depth++;
        else if (strcmp(argv[j], ";;") == 0 && --depth == 0)
            return j;
    }
    die("fork without ';;'", NULL);
    return argc;
}

static int run(int argc, char **argv, int i, int end);

static int run(int argc, char **argv, int i, int end)
{
    for (; i < end; i++) {
        const char *w = argv[i];
        const char *a = i + 1 < end ? argv[i + 1] : NULL;
        if (strcmp(w, "exit") == 0) {
            fflush(NULL);
            exit((int)number(a));
        } else if (strcmp(w, "signal") == 0) {
            int s = signum(a);
            fflush(NULL);
            signal(s, SIG_DFL);
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, s);
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            raise(s);
            kill(getpid(), s);
            pause();
            exit(BAD);
        } else if (strcmp(w, "alloc") == 0) {
            touch_alloc((size_t)(number(a) * 1048576.0));
            i++;
        } else if (strcmp(w, "ramp") == 0) {
            double mib = number(a), secs = number(i + 2 < end ? argv[i + 2] : NULL);
            /* 20 steps per second, at least one step. */
            int steps = secs > 0 ? (int)(secs * 20) : 1;
            if (steps < 1)
                steps = 1;
            size_t per = (size_t)(mib * 1048576.0 / steps);
            double t0 = now();
            for (int s = 0; s < steps; s++) {
                touch_alloc(per);
                double next = t0 + secs * (s + 1) / steps;
                double d = next - now();
                if (d > 0)
                    nap(d);
            }
            i += 2;
        } else if (strcmp(w, "free") == 0) {
            free_all();
        } else if (strcmp(w, "sleep") == 0) {
            nap(number(a));
            i++;
        } else if (strcmp(w, "spin") == 0) {
            double until = now() + number(a);
            volatile unsigned long x = 0;
            while (now() < until)
                for (int k = 0; k < 10000; k++)
                    x += (unsigned long)k;
            (void)x;
            i++;
        } else if (strcmp(w, "print") == 0 || strcmp(w, "eprint") == 0) {
            fflush(NULL);
            emit(w[0] == 'e' ? 2 : 1, number(a));
            i++;
        } else if (strcmp(w, "echo") == 0 || strcmp(w, "eecho") == 0) {
            if (!a)
                die("echo needs text", NULL);
            FILE *f = w[0] == 'e' && w[1] == 'e' ? stderr : stdout;
            fputs(a, f);
            fputc('\n', f);
            fflush(f);
            i++;
        } else if (strcmp(w, "args") == 0) {
            int k = 1;
            while (k < argc && strcmp(argv[k], "--") != 0)
                k++;
            for (k++; k < argc; k++)
                printf("%zu:%s\n", strlen(argv[k]), argv[k]);
            fflush(stdout);
        } else if (strcmp(w, "cat") == 0) {
            char buf[65536];
            ssize_t n;
            while ((n = read(0, buf, sizeof(buf))) > 0)
                write_all(1, buf, (size_t)n);
        } else if (strcmp(w, "ignore") == 0) {
            signal(signum(a), SIG_IGN);
            i++;
        } else if (strcmp(w, "pidfile") == 0 || strcmp(w, "touch") == 0) {
            if (!a)
                die("missing path", NULL);
            FILE *f = fopen(a, "w");
            if (!f)
                die("cannot write", a);
            if (w[0] == 'p')
                fprintf(f, "%ld\n", (long)getpid());
            fclose(f);
            i++;
        } else if (strcmp(w, "fork") == 0 || strcmp(w, "orphan") == 0) {
            int bend = block_end(argc, argv, i + 1);
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0)
                die("fork failed", strerror(errno));
            if (pid == 0) {
                if (w[0] == 'o') {
                    /* Double fork: the middle process exits, so the worker is reparented
                     * (to init or a subreaper) but keeps the process group. */
                    pid_t g = fork();
                    if (g < 0)
                        _exit(BAD);
                    if (g > 0)
                        _exit(0);
                }
                nblocks = 0; /* the parent's blocks are not ours to free */
                run(argc, argv, i + 1, bend);
                fflush(NULL);
                _exit(0);
            }
            if (w[0] == 'o')
                waitpid(pid, NULL, 0);
            i = bend;
        } else if (strcmp(w, "wait") == 0) {
            int st;
            while (wait(&st) > 0 || errno == EINTR)
                ;
        } else if (strcmp(w, "fds") == 0) {
            DIR *d = opendir("/proc/self/fd");
            if (!d)
                die("cannot list", "/proc/self/fd");
            int self = dirfd(d);
            for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && atoi(e->d_name) != self)
                    printf("%s\n", e->d_name);
            }
            closedir(d);
            fflush(stdout);
        } else if (strcmp(w, "ppidfile") == 0) {
            if (!a)
                die("missing path", NULL);
            FILE *f = fopen(a, "w");
            if (!f)
                die("cannot write", a);
            fprintf(f, "%ld\n", (long)getppid());
            fclose(f);
            i++;
        } else if (strcmp(w, "--") == 0) {
            break;
        } else if (strcmp(w, ";;") == 0) {
            die("unexpected ';;'", NULL);
        } else {
            die("unknown word", w);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    pagesize = sysconf(_SC_PAGESIZE);
    if (pagesize <= 0)
        pagesize = 4096;
    /* A job may inherit ignored or blocked signals from a careless runner; the test child
     * should die by what it is sent unless told otherwise. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    run(argc, argv, 1, argc);
    fflush(NULL);
    return 0;
}
