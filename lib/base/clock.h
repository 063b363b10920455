/* clock.h — the two clocks the project uses, in milliseconds.
 *
 * Wall time (epoch ms) stamps data: flow times, receive times, retention cut-offs.
 * Monotonic time measures intervals: timeouts, rate limits, backoff. Never mix them.
 */
#ifndef NFX_LIB_BASE_CLOCK_H
#define NFX_LIB_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch, from CLOCK_REALTIME. */
static inline uint64_t
nf_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds from CLOCK_MONOTONIC: only differences mean anything. */
static inline uint64_t
nf_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* a / b rounded toward negative infinity (b != 0): the day or hour number of an epoch time,
 * also before 1970, e.g. nf_floor_div(ts_us, 86400000000) is the UTC day of ts_us. */
static inline int64_t
nf_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Nanoseconds from CLOCK_MONOTONIC, for benchmarks. */
static inline uint64_t
nf_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
