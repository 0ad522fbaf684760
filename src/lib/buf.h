/* buf.h: a growable byte buffer for the runner's per-job work.
 *
 * The runner builds command lines, argv arrays and output chunks once per job. Each job struct
 * owns a few of these buffers and keeps their capacity from one job to the next, so the
 * steady state of a long run allocates nothing per job. Growth is geometric and overflow-checked;
 * the buffer is always NUL-terminated past its length, so its bytes can be used as a C string
 * when they hold no NUL.
 *
 * Not thread-safe; a buffer belongs to one owner.
 */
#ifndef RAPT_BUF_H
#define RAPT_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rapt__buf {
    char *p;    /* NULL until the first append; p[len] == '\0' afterwards */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated, not counting the terminating NUL */
} rapt__buf;

/* An empty buffer that owns nothing. */
#define RAPT__BUF_INIT \
    {                  \
        NULL, 0, 0     \
    }

/* Makes room for `more` bytes after len. Returns 0 or -ENOMEM (the buffer is unchanged). */
int rapt__buf_reserve(rapt__buf *b, size_t more);

/* Appends n bytes (or a C string, or one byte). Return 0 or -ENOMEM. */
int rapt__buf_add(rapt__buf *b, const void *p, size_t n);
int rapt__buf_adds(rapt__buf *b, const char *s);
int rapt__buf_addc(rapt__buf *b, char c);

/* Appends printf output. Returns 0, -ENOMEM or -EINVAL (bad format). */
int rapt__buf_addf(rapt__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the buffer, keeping its capacity. */
static inline void rapt__buf_clear(rapt__buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void rapt__buf_consume(rapt__buf *b, size_t n);

/* Releases the memory when the capacity is above keep bytes, so one huge job does not pin its
 * peak for the rest of the run. Empties the buffer either way. */
void rapt__buf_shrink(rapt__buf *b, size_t keep);

/* Frees the memory; the buffer is empty and reusable afterwards. */
void rapt__buf_free(rapt__buf *b);

#endif /* RAPT_BUF_H */
