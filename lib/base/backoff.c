/* backoff.c — see backoff.h. */
#include "backoff.h"

#include <stdlib.h>

void
nf_backoff_init(nf_backoff *b, uint64_t min_ms, uint64_t max_ms, unsigned seed)
{
    b->min_ms = min_ms;
    b->max_ms = max_ms < min_ms ? min_ms : max_ms;
    b->current_ms = 0;
    b->seed = seed;
}

uint64_t
nf_backoff_next(nf_backoff *b)
{
    uint64_t cur = b->current_ms ? b->current_ms : b->min_ms;
    uint64_t delay = b->min_ms + (uint64_t)rand_r(&b->seed) % (cur - b->min_ms + 1);
    b->current_ms = cur * 2 > b->max_ms ? b->max_ms : cur * 2;
    return delay;
}

void
nf_backoff_reset(nf_backoff *b)
{
    b->current_ms = 0;
}
