/* backoff.h — exponential backoff with full jitter, for every retry loop of the daemons.
 *
 * Each failure waits a random delay in [min, current], and current doubles up to max; a
 * success resets it. Full jitter keeps many clients that failed together (all pollers when
 * NATS restarts) from retrying in lockstep.
 */
#ifndef NFX_LIB_BASE_BACKOFF_H
#define NFX_LIB_BASE_BACKOFF_H

#include <stdint.h>

typedef struct nf_backoff {
    uint64_t min_ms;     /* first delay's upper bound, and every delay's lower bound */
    uint64_t max_ms;     /* largest upper bound */
    uint64_t current_ms; /* upper bound of the next delay; 0 = min_ms */
    unsigned seed;       /* rand_r state */
} nf_backoff;

/* min_ms <= max_ms; seed: anything that differs between threads and processes. */
void nf_backoff_init(nf_backoff *b, uint64_t min_ms, uint64_t max_ms, unsigned seed);

/* The delay to wait after a failure (ms), and the bound doubles for the next one. */
uint64_t nf_backoff_next(nf_backoff *b);

/* After a success: the next failure starts again at min_ms. */
void nf_backoff_reset(nf_backoff *b);

#endif
