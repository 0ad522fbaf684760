/* template.h: command templates for `rapt run` (internal to librapt).
 *
 * A template is the command as the user typed it, its words joined by single spaces (as GNU
 * parallel joins them). It may hold replacement strings:
 *
 *   {}  {.}  {/}  {//}  {/.}      every argument (joined by spaces), then the same with
 *                                 extension removed / basename / dirname / basename without
 *                                 extension
 *   {n} {n.} {n/} {n//} {n/.}     the same for argument n (1-based; negative counts from the
 *                                 end; beyond the last argument it is empty)
 *   {#} {%}                       the job's sequence number and its job slot
 *
 * Anything else in braces is literal text. The string operations copy GNU parallel's Perl
 * expressions byte for byte (including their handling of newlines), so `{.}` of "x.tar.gz" is
 * "x.tar" and `{//}` of "a/" is "." in both tools.
 *
 * With no replacement string the job's arguments are appended, each quoted. With no command at
 * all the arguments are the command (run by the shell, unquoted), as in GNU parallel.
 *
 * Two ways to run an expanded template:
 *   - direct: the template has no shell syntax (only words of letters, digits and _-.,/:@+%=
 *     separated by spaces, and its first word is not a shell builtin or keyword), so it is
 *     split into argv and exec'd without a shell. A replacement that yields several arguments
 *     yields several words, exactly as the quoted form would under a shell.
 *   - shell: anything else runs as `sh -c LINE`, where LINE has every substituted value quoted
 *     with GNU parallel's quoting (single quotes, ' as '"'"'), so no value is ever interpreted.
 * The quoted LINE is also what the joblog, --dry-run and --verbose show in both modes.
 *
 * A compiled template is immutable and may be shared by threads; expansion writes only into the
 * caller's buffers.
 */
#ifndef RAPT_TEMPLATE_H
#define RAPT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* One input value: bytes that are not NUL-terminated in general. */
typedef struct rapt__val {
    const char *p;
    size_t len;
} rapt__val;

/* What a template is expanded against: one job. All pointers are borrowed for the call. */
typedef struct rapt__jobctx {
    uint64_t seq;          /* {#}, 1-based */
    unsigned slot;         /* {%}, 1-based */
    const rapt__val *args; /* the job's arguments (columns of every input source, in order) */
    size_t nargs;
} rapt__jobctx;

typedef struct rapt__tmpl rapt__tmpl;

/* Compiles `cmd` (NULL or blank: no command). Returns 0 or -ENOMEM; *out is freed with
 * rapt__tmpl_destroy(). The template keeps its own copy of cmd. */
int rapt__tmpl_compile(rapt__tmpl **out, const char *cmd);
void rapt__tmpl_destroy(rapt__tmpl *t);

/* The template as given (borrowed until destroy); "" when there is no command. */
const char *rapt__tmpl_text(const rapt__tmpl *t);

/* True when jobs are exec'd directly (see above). */
bool rapt__tmpl_direct(const rapt__tmpl *t);

/* True when there was no command: the arguments are the command. */
bool rapt__tmpl_empty(const rapt__tmpl *t);

/* The first word when it is literal text (no replacement string in it), so the caller can look
 * the program up once for the whole run; NULL otherwise or in shell mode. Borrowed. */
const char *rapt__tmpl_program(const rapt__tmpl *t);

/* Expands the quoted command line into out (appending). Returns 0 or -ENOMEM. */
int rapt__tmpl_line(const rapt__tmpl *t, const rapt__jobctx *c, rapt__buf *out);

/* Expands without quoting (for --tagstring and --results paths). Returns 0 or -ENOMEM. */
int rapt__tmpl_plain(const rapt__tmpl *t, const rapt__jobctx *c, rapt__buf *out);

/* Direct mode only: builds the argv. The strings go into `strings` and the NULL-terminated
 * pointer array into `ptrs` (both emptied first); *argv points into ptrs and stays valid until
 * either buffer changes. A NUL byte inside a value ends that argument, as the kernel would.
 * Returns 0, -ENOMEM or -EINVAL (called in shell mode). */
int rapt__tmpl_argv(const rapt__tmpl *t, const rapt__jobctx *c, rapt__buf *strings, rapt__buf *ptrs,
                    char ***argv);

/* GNU parallel's shell quoting of one value, appended to out: unchanged when it consists only
 * of [-_.+a-zA-Z0-9/], '' when empty, else single-quoted. Returns 0 or -ENOMEM. */
int rapt__shell_quote(rapt__buf *out, const char *p, size_t n);

/* The replacement-string operations, exposed for tests. Each appends the transformed value. */
typedef enum rapt__rpl_op {
    RAPT__OP_NONE = 0, /* {}   */
    RAPT__OP_NOEXT,    /* {.}  */
    RAPT__OP_BASE,     /* {/}  */
    RAPT__OP_DIR,      /* {//} */
    RAPT__OP_BASENOEXT /* {/.} */
} rapt__rpl_op;
int rapt__rpl_apply(rapt__rpl_op op, const char *p, size_t n, rapt__buf *out);

#endif /* RAPT_TEMPLATE_H */
