/* input.h: where `rapt run` gets its arguments (internal to librapt).
 *
 * Input sources, in command-line order: values given after `:::`, files given after `::::` or
 * with -a (a file named "-" is standard input), and standard input when there is no other
 * source. Each source yields records split at a delimiter ("\n" by default, NUL with -0, any
 * string with -d); with --colsep each record is further split into columns at a regular
 * expression. Several sources combine as GNU parallel combines them: every combination, the
 * last source varying fastest; a job's arguments are the columns of every source in order.
 *
 * Streaming: records are produced one at a time as the runner asks for them, so a million
 * input lines cost the runner one record's worth of memory. The outermost (first) source is
 * only ever read forwards. Inner sources must be read again for every record of the sources
 * before them: regular files are re-read from the start (lseek), values are indexed, and a pipe
 * (stdin) is read once completely and kept in memory — the one case whose memory grows with the
 * input, documented in the man page.
 *
 * Pipes and terminals are read only when poll() says they are readable, so reading input never
 * blocks the runner's event loop: rapt__input_next() returns RAPT__INPUT_AGAIN and the caller
 * waits for rapt__input_pollfd() to become readable.
 *
 * Not thread-safe: one input belongs to one runner.
 */
#ifndef RAPT_INPUT_H
#define RAPT_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/template.h"

#define RAPT__INPUT_AGAIN 2 /* rapt__input_next(): nothing ready yet, poll the fd */

typedef struct rapt__input rapt__input;

typedef struct rapt__input_opts {
    const char *delim;  /* record delimiter; NULL means "\n" */
    size_t delim_len;   /* its length (1 for "\n" and "\0") */
    const char *colsep; /* column separator: a Perl-style regular expression, or NULL */
    bool skip_empty;    /* -r: records of blanks only are skipped */
} rapt__input_opts;

/* One combination: the job's arguments. Borrowed until the next call on the input. */
typedef struct rapt__record {
    const rapt__val *vals;
    size_t n;
} rapt__record;

/* Creates an input with no sources. A --colsep that does not compile returns -EINVAL with the
 * regex library's message in err. Free with rapt__input_destroy(). */
int rapt__input_create(rapt__input **out, const rapt__input_opts *o, char *err, size_t errlen);
void rapt__input_destroy(rapt__input *in);

/* Adds the values of one `:::` (borrowed: they must outlive the input; argv strings do). */
int rapt__input_add_values(rapt__input *in, char *const *values, size_t n);

/* Adds a file (`::::` or -a); "-" is standard input. The file is opened now, so a missing or
 * unreadable one is reported before anything runs: returns 0 or -errno. */
int rapt__input_add_file(rapt__input *in, const char *path);

/* Number of sources added. */
size_t rapt__input_nsources(const rapt__input *in);

/* Reads inner sources that can only be read once (pipes) into memory. Call once after the
 * last add and before next(); it blocks until those sources end. Returns 0 or -errno. */
int rapt__input_start(rapt__input *in);

/* Counts the combinations without consuming them (for --bar, --eta and percentage --halt).
 * A pipe as the outermost source is copied into an unlinked temporary file first, so this
 * blocks until the input ends and costs disk, not memory. Call after start() and before next().
 * Returns 0 or -errno. */
int rapt__input_count(rapt__input *in, uint64_t *total);

/* The next combination: 1 with *rec filled, 0 at the end, RAPT__INPUT_AGAIN when the outermost
 * source has nothing ready (wait for rapt__input_pollfd() to be readable), or -errno for a read
 * error (then *errpath names the source). */
int rapt__input_next(rapt__input *in, rapt__record *rec, const char **errpath);

/* The fd to wait on after RAPT__INPUT_AGAIN, or -1. */
int rapt__input_pollfd(const rapt__input *in);

/* Bytes of buffers the input holds right now (read buffers, records, replay stores): what
 * streaming keeps bounded. */
size_t rapt__input_memory(const rapt__input *in);

/* Translates a Perl-style --colsep into POSIX extended syntax (\t, \n, \r, \f, \e, \0, \xHH,
 * \s, \S, \d, \D, \w, \W, also inside brackets). Exposed for tests. Returns 0 or -ENOMEM. */
int rapt__colsep_translate(const char *perl, rapt__buf *ere);

#endif /* RAPT_INPUT_H */
