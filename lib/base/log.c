/* log.c — stderr logging with a run-time level. See log.h. */
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static atomic_int min_level = NF_LOG_INFO;

void
nf_log_set_level(nf_log_level level)
{
    atomic_store(&min_level, (int)level);
}

nf_log_level
nf_log_get_level(void)
{
    return (nf_log_level)atomic_load(&min_level);
}

bool
nf_log_parse_level(const char *text, nf_log_level *out)
{
    static const struct {
        const char *name;
        nf_log_level level;
    } names[] = {
        {"debug", NF_LOG_DEBUG}, {"info", NF_LOG_INFO},   {"warn", NF_LOG_WARN},
        {"warning", NF_LOG_WARN}, {"error", NF_LOG_ERROR},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (text != NULL && strcasecmp(text, names[i].name) == 0) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

void
nf_log_at(nf_log_level level, const char *component, const char *fmt, ...)
{
    static const char *const level_names[] = {"debug", "info", "warn", "error"};
    if ((int)level < atomic_load(&min_level))
        return;

    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L, level_names[level], component);
    if (n < 0)
        return;
    size_t used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
    va_end(ap);
    if (m > 0)
        used += (size_t)m < sizeof(line) - used ? (size_t)m : sizeof(line) - used - 1;
    if (used >= sizeof(line) - 1)
        used = sizeof(line) - 2;
    line[used++] = '\n';
    /* One write per line so concurrent threads never interleave inside a line. */
    ssize_t ignored = write(STDERR_FILENO, line, used);
    (void)ignored;
}

bool
nf_ratelimit_allow(nf_ratelimit *rl, uint64_t now_ms, uint64_t interval_ms,
                   uint64_t *suppressed_out)
{
    if (rl->used && now_ms - rl->last_ms < interval_ms) {
        rl->suppressed++;
        return false;
    }
    if (suppressed_out != NULL)
        *suppressed_out = rl->suppressed;
    rl->suppressed = 0;
    rl->last_ms = now_ms;
    rl->used = true;
    return true;
}

void
nf_log_warn_rl(nf_ratelimit *rl, uint64_t interval_ms, const char *component, const char *what,
               const char *why)
{
    uint64_t suppressed;
    if (nf_ratelimit_allow(rl, nf_mono_ms(), interval_ms, &suppressed))
        nf_log_warn(component, "%s: %s (similar messages suppressed: %" PRIu64 ")", what, why,
                    suppressed);
}
