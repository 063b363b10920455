/* ring.c — bounded, sequence-numbered record ring. See ring.h for the contract.
 *
 * Invariants (under the mutex):
 *  1. oldest_seq <= next_seq and next_seq - oldest_seq <= cap (the held count).
 *  2. The record with sequence s (oldest_seq <= s < next_seq) is slots[s % cap].
 *  3. Held records are in received order by sequence; retention evicts a prefix.
 */
#include "ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct nf_ring {
    pthread_mutex_t mu;
    nf_flow *slots;
    uint64_t cap;
    uint64_t retention_ms;
    uint64_t base_seq;   /* first sequence this ring ever assigns */
    uint64_t oldest_seq; /* oldest held */
    uint64_t next_seq;   /* next to assign */
    uint64_t highest_read;
    nf_ring_stats st;
};

nf_status
nf_ring_create(const nf_ring_config *cfg, nf_ring **out, nf_err *err)
{
    if (cfg->max_records == 0 || cfg->max_records > (1u << 28))
        return nf_err_set(err, NF_EINVAL, "ring: max_records %llu out of range 1..268435456",
                          (unsigned long long)cfg->max_records);
    if (cfg->first_seq == 0)
        return nf_err_set(err, NF_EINVAL, "ring: first_seq must be >= 1");
    nf_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return nf_err_set(err, NF_ENOMEM, "ring: out of memory");
    r->slots = malloc(cfg->max_records * sizeof(nf_flow));
    if (r->slots == NULL) {
        free(r);
        return nf_err_set(err, NF_ENOMEM, "ring: cannot allocate %llu records",
                          (unsigned long long)cfg->max_records);
    }
    /* Touch every page now: the ring's memory is committed at start (what an operator sizes
     * for), and no page fault lands on the receive path later. Volatile writes, because a
     * compiler may turn malloc + memset(0) into calloc, which touches nothing. */
    volatile uint8_t *touch = (volatile uint8_t *)r->slots;
    size_t bytes = cfg->max_records * sizeof(nf_flow);
    for (size_t off = 0; off < bytes; off += 4096)
        touch[off] = 0;
    pthread_mutex_init(&r->mu, NULL);
    r->cap = cfg->max_records;
    r->retention_ms = cfg->retention_ms;
    r->base_seq = r->oldest_seq = r->next_seq = cfg->first_seq;
    *out = r;
    return NF_OK;
}

void
nf_ring_destroy(nf_ring *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r->slots);
    free(r);
}

/* Evicts the n oldest sequences (some may not be stored yet: see nf_ring_append). */
static void
evict_n(nf_ring *r, uint64_t n)
{
    uint64_t from = r->oldest_seq, to = r->oldest_seq + n;
    uint64_t unread_from = r->highest_read + 1 > from ? r->highest_read + 1 : from;
    if (to > unread_from)
        r->st.evicted_unread += to - unread_from;
    r->oldest_seq = to;
}

static void
evict_oldest(nf_ring *r)
{
    if (r->oldest_seq > r->highest_read)
        r->st.evicted_unread++;
    r->oldest_seq++;
}

static void
expire_locked(nf_ring *r, uint64_t now_ms)
{
    if (r->retention_ms == 0 || now_ms < r->retention_ms)
        return;
    uint64_t cutoff = now_ms - r->retention_ms;
    while (r->oldest_seq < r->next_seq && r->slots[r->oldest_seq % r->cap].received_ms < cutoff) {
        evict_oldest(r);
        r->st.evicted_age++;
    }
}

uint64_t
nf_ring_append(nf_ring *r, const nf_flow *flows, size_t n, uint64_t now_ms)
{
    pthread_mutex_lock(&r->mu);
    /* Evict what the new records push out (oldest first; with more than cap new records
     * the excess new ones too, at once: their sequences are assigned and counted). */
    uint64_t held = r->next_seq - r->oldest_seq;
    if (held + n > r->cap) {
        evict_n(r, held + n - r->cap);
        r->st.evicted_capacity += held + n - r->cap;
    }
    size_t skip = n > r->cap ? (size_t)(n - r->cap) : 0;
    r->next_seq += skip;
    size_t left = n - skip;
    /* Copy in at most two runs: to the end of the slot array, then from its start. */
    const nf_flow *src = flows + skip;
    while (left > 0) {
        size_t slot = (size_t)(r->next_seq % r->cap);
        size_t run = left < r->cap - slot ? left : (size_t)(r->cap - slot);
        memcpy(&r->slots[slot], src, run * sizeof(nf_flow));
        r->next_seq += run;
        src += run;
        left -= run;
    }
    r->st.appended += n;
    expire_locked(r, now_ms);
    uint64_t last = r->next_seq - 1;
    pthread_mutex_unlock(&r->mu);
    return last;
}

void
nf_ring_read(nf_ring *r, uint64_t after, nf_flow *out, size_t max, uint64_t now_ms,
             nf_ring_read_result *res)
{
    pthread_mutex_lock(&r->mu);
    expire_locked(r, now_ms);
    memset(res, 0, sizeof(*res));
    if (after >= r->next_seq) {
        res->cursor_reset = true;
        after = r->oldest_seq - 1;
    }
    uint64_t want = after + 1;
    uint64_t from_ring_start = want > r->base_seq ? want : r->base_seq;
    if (r->oldest_seq > from_ring_start)
        res->missed = r->oldest_seq - from_ring_start;
    uint64_t start = want > r->oldest_seq ? want : r->oldest_seq;
    uint64_t avail = r->next_seq - start;
    size_t count = avail < max ? (size_t)avail : max;
    /* Copy in at most two runs: up to the end of the slot array, then from its start. */
    size_t first_slot = (size_t)(start % r->cap);
    size_t run = count < r->cap - first_slot ? count : (size_t)(r->cap - first_slot);
    if (run > 0)
        memcpy(out, &r->slots[first_slot], run * sizeof(nf_flow));
    if (count > run)
        memcpy(out + run, &r->slots[0], (count - run) * sizeof(nf_flow));
    res->first_seq = start;
    res->count = count;
    res->last_seq = r->next_seq - 1;
    if (count > 0 && start + count - 1 > r->highest_read)
        r->highest_read = start + count - 1;
    pthread_mutex_unlock(&r->mu);
}

void
nf_ring_expire(nf_ring *r, uint64_t now_ms)
{
    pthread_mutex_lock(&r->mu);
    expire_locked(r, now_ms);
    pthread_mutex_unlock(&r->mu);
}

void
nf_ring_stats_get(nf_ring *r, nf_ring_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    out->held = r->next_seq - r->oldest_seq;
    out->oldest_seq = r->oldest_seq;
    out->last_seq = r->next_seq - 1;
    out->highest_read_seq = r->highest_read;
    pthread_mutex_unlock(&r->mu);
}
