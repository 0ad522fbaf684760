/* rapt/common.h: what every librapt module shares.
 *
 * Error convention: every function that can fail returns 0 on success or a negative error code.
 * Negative errno values (-ENOMEM, -EINVAL, ...) keep their usual meaning; rapt's own conditions
 * use the RAPT_E* codes below, which never collide with errno. rapt_strerror() describes both.
 * When a call returns an error, none of the callbacks it was given fire and its out-parameters
 * are left in a defined but unspecified state.
 *
 * The library never prints, exits or aborts on bad input. Diagnostics that are not errors go
 * through an optional log callback installed per handle (rapt_log_fn).
 */
#ifndef RAPT_COMMON_H
#define RAPT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RAPT_BUILDING_LIBRARY)
#define RAPT_API __attribute__((visibility("default")))
#else
#define RAPT_API
#endif

/* rapt's own error codes, as an X-macro so the enum and the messages share one table.
 * The values start far above any errno so `-code` never means two things. */
#define RAPT_ERRNO_MAP(XX)                                              \
    XX(PARSE, 10001, "malformed value")                                 \
    XX(UNIT, 10002, "unknown unit suffix")                              \
    XX(NOCGROUP, 10003, "no cgroup found for this process")             \
    XX(UNKNOWN, 10004, "value is unknown on this machine")              \
    XX(SCHEMA, 10005, "data has a newer or unknown schema")             \
    XX(TOOBIG, 10006, "request can never fit the capacity")             \
    XX(CLOSED, 10007, "object is shut down")                            \
    XX(TIMEDOUT, 10008, "timed out")                                    \
    XX(CANCELED, 10009, "canceled")                                     \
    XX(CORRUPT, 10010, "file is corrupt or not in the expected format") \
    XX(NOTCGROUP, 10011, "not a memory cgroup directory")

enum rapt_error {
#define RAPT__ERR_ENUM(name, val, msg) RAPT_E##name = -(val),
    RAPT_ERRNO_MAP(RAPT__ERR_ENUM)
#undef RAPT__ERR_ENUM
};

/* Returns a static, never-NULL description of `err` (a negative errno or a RAPT_E* code; the
 * sign is ignored for errno values). Thread-safe. */
RAPT_API const char *rapt_strerror(int err);

/* The library's version, "MAJOR.MINOR.PATCH". Static string. */
RAPT_API const char *rapt_version(void);

/* Log levels for rapt_log_fn. */
typedef enum rapt_log_level {
    RAPT_LOG_ERROR = 0,
    RAPT_LOG_WARN = 1,
    RAPT_LOG_INFO = 2,
    RAPT_LOG_DEBUG = 3
} rapt_log_level;

/* A caller-installed diagnostics sink. `msg` is borrowed for the duration of the call and has
 * no trailing newline. May be called from any thread that uses the owning handle. */
typedef void (*rapt_log_fn)(void *userdata, rapt_log_level level, const char *msg);

/* Parses a byte size: an unsigned decimal number, optionally with a fraction, followed by an
 * optional unit: B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB (case-insensitive). Every unit is
 * binary (K = 1024), as in free(1) and ps(1): memory is what sizes describe here. The whole
 * string must be consumed; no sign, no spaces. Returns 0, -EINVAL (empty, sign, garbage),
 * RAPT_EUNIT (unknown suffix) or -ERANGE (does not fit 64 bits). Thread-safe. */
RAPT_API int rapt_size_parse(const char *s, uint64_t *out);

/* Formats `bytes` for people ("512 MiB", "1.5 GiB", "900 B") into buf (at least 16 bytes
 * recommended; output is always NUL-terminated and truncated to len). Returns buf. */
RAPT_API char *rapt_size_format(uint64_t bytes, char *buf, size_t len);

/* Parses a duration into nanoseconds: a plain number is seconds ("1.5"); otherwise one or more
 * number+unit groups with units ns, us, ms, s, m, h, d ("1h30m", "250ms", "2.5s"), as GNU
 * parallel's --timeout and --delay accept. Returns 0, -EINVAL, RAPT_EUNIT or -ERANGE. */
RAPT_API int rapt_duration_parse(const char *s, uint64_t *out_ns);

/* Formats a duration in nanoseconds for people ("850 ms", "12.3 s", "1h 02m", "3d 04h").
 * Returns buf; always NUL-terminated. */
RAPT_API char *rapt_duration_format(uint64_t ns, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_COMMON_H */
