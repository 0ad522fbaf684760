/* buf.c: the growable byte buffer (see buf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

int rapt__buf_reserve(rapt__buf *b, size_t more)
{
    if (more > SIZE_MAX - 1 - b->len)
        return -ENOMEM;
    size_t need = b->len + more;
    if (b->p && need <= b->cap)
        return 0;
    /* Double, starting at 64 bytes, so a buffer grown byte by byte costs O(log n) reallocs. */
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > (SIZE_MAX - 1) / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap + 1);
    if (!p)
        return -ENOMEM;
    if (!b->p)
        p[0] = '\0';
    b->p = p;
    b->cap = cap;
    return 0;
}

int rapt__buf_add(rapt__buf *b, const void *p, size_t n)
{
    int r = rapt__buf_reserve(b, n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int rapt__buf_adds(rapt__buf *b, const char *s)
{
    return rapt__buf_add(b, s, strlen(s));
}

int rapt__buf_addc(rapt__buf *b, char c)
{
    return rapt__buf_add(b, &c, 1);
}

int rapt__buf_addf(rapt__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return rapt__buf_add(b, small, (size_t)n);
    /* Rare: format straight into the buffer's tail. */
    int r = rapt__buf_reserve(b, (size_t)n);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void rapt__buf_consume(rapt__buf *b, size_t n)
{
    if (n >= b->len) {
        rapt__buf_clear(b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

void rapt__buf_shrink(rapt__buf *b, size_t keep)
{
    if (b->cap > keep)
        rapt__buf_free(b);
    else
        rapt__buf_clear(b);
}

void rapt__buf_free(rapt__buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
