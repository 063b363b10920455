/* log.h — one logging front end: a line of key=value text per event on stderr.
 *
 * Lines look like `2026-11-27T04:30:00.123Z warn checker: msg key=value`. The level is checked
 * at run time (debug is compiled in). Per-packet problems must not log per packet: callers
 * count them and log through an nf_ratelimit so a flood of bad input costs one line per
 * interval. Thread-safe: each line is written with a single write(2).
 *
 * Libraries do not log (they return nf_err); daemons and top-level loops do.
 */
#ifndef NFX_LIB_BASE_LOG_H
#define NFX_LIB_BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum nf_log_level { NF_LOG_DEBUG = 0, NF_LOG_INFO, NF_LOG_WARN, NF_LOG_ERROR } nf_log_level;

/* Sets the process-wide minimum level (a daemon's configuration, set once at start). */
void nf_log_set_level(nf_log_level level);
nf_log_level nf_log_get_level(void);

/* Parses "debug", "info", "warn"/"warning", "error". Returns false on anything else. */
bool nf_log_parse_level(const char *text, nf_log_level *out);

void nf_log_at(nf_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define nf_log_debug(c, ...) nf_log_at(NF_LOG_DEBUG, (c), __VA_ARGS__)
#define nf_log_info(c, ...) nf_log_at(NF_LOG_INFO, (c), __VA_ARGS__)
#define nf_log_warn(c, ...) nf_log_at(NF_LOG_WARN, (c), __VA_ARGS__)
#define nf_log_error(c, ...) nf_log_at(NF_LOG_ERROR, (c), __VA_ARGS__)

/* Rate limiter for repeated log lines: allow at most one line per interval_ms and remember how
 * many were suppressed in between. Not thread-safe: keep one per thread or per worker. */
typedef struct nf_ratelimit {
    uint64_t last_ms;    /* monotonic ms of the last allowed line */
    uint64_t suppressed; /* lines refused since the last allowed one */
    bool used;           /* a line was allowed before (zero-initialised: no) */
} nf_ratelimit;

/* Returns true if a line may be logged now; on true, *suppressed_out (may be NULL) receives the
 * number of lines refused since the previous allowed one and the count restarts at 0. */
bool nf_ratelimit_allow(nf_ratelimit *rl, uint64_t now_ms, uint64_t interval_ms,
                        uint64_t *suppressed_out);

/* A warning through rl (at most one per interval_ms of the monotonic clock): logs
 * `what: why (similar messages suppressed: N)` for component when rl allows it, else counts
 * it as suppressed. All strings borrowed. Same thread rule as rl. */
void nf_log_warn_rl(nf_ratelimit *rl, uint64_t interval_ms, const char *component,
                    const char *what, const char *why);

#endif
