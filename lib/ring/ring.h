/* ring.h — the checker's in-memory record store: a bounded ring of flow records, each
 * numbered by a monotonic 64-bit sequence, read by cursor.
 *
 * Writers (the collector's decode workers) append; readers (the gRPC side) ask for "records
 * after sequence N, at most M" and keep N themselves, so any number of readers can follow
 * the ring independently and a reader that crashes simply asks again from its last cursor.
 *
 * Bounds: at most max_records records, and none older than retention_ms (by received_ms,
 * the collector clock). The oldest records are evicted first. An evicted record whose
 * sequence is above every sequence any reader has fetched is counted as evicted_unread:
 * that is data loss, and it is reported, never silent. A read also says how many records
 * after its cursor were evicted before it came (missed).
 *
 * Sequences start at first_seq (>= 1; the collector seeds it from the wall clock so that a
 * restarted checker never reuses sequences a poller already holds) and increase by 1 per
 * record. A cursor of 0 means "from the oldest record held".
 *
 * Memory: max_records × sizeof(nf_flow) = 144 bytes per record, allocated and touched once
 * at create (so the memory is committed up front and the receive path never page-faults).
 * No per-record overhead: a record's sequence is implied by its slot.
 *
 * Thread-safe: one mutex; appends and reads copy records under it.
 */
#ifndef NFX_LIB_RING_RING_H
#define NFX_LIB_RING_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../flow/flow.h"

typedef struct nf_ring nf_ring;

typedef struct nf_ring_config {
    uint64_t max_records;  /* capacity, 1..(1<<28) */
    uint64_t retention_ms; /* maximum age by received_ms; 0 = no age limit */
    uint64_t first_seq;    /* sequence of the first record, >= 1 */
} nf_ring_config;

typedef struct nf_ring_stats {
    uint64_t appended;          /* records ever appended */
    uint64_t evicted_capacity;  /* evicted because the ring was full */
    uint64_t evicted_age;       /* evicted by retention_ms */
    uint64_t evicted_unread;    /* evicted (either way) before any reader fetched them */
    uint64_t held;              /* records held now */
    uint64_t oldest_seq;        /* sequence of the oldest held record (next one if empty) */
    uint64_t last_seq;          /* last sequence assigned (first_seq - 1 if none) */
    uint64_t highest_read_seq;  /* highest sequence any reader has fetched, 0 if none */
} nf_ring_stats;

typedef struct nf_ring_read_result {
    uint64_t first_seq; /* sequence of out[0] (meaningful when count > 0) */
    size_t count;       /* records copied to out */
    uint64_t missed;    /* records after the cursor evicted before this read */
    uint64_t last_seq;  /* last sequence assigned so far: the reader is caught up when
                         * first_seq + count - 1 == last_seq */
    bool cursor_reset;  /* the cursor was beyond last_seq (a restarted ring): read from the
                         * oldest record instead */
} nf_ring_read_result;

/* Creates a ring; *out set only on NF_OK. Free with nf_ring_destroy. */
nf_status nf_ring_create(const nf_ring_config *cfg, nf_ring **out, nf_err *err);

/* NULL-safe. */
void nf_ring_destroy(nf_ring *r);

/* Copies n records in, in order, evicting the oldest as needed, then applies retention at
 * now_ms. Returns the sequence assigned to the last record (last_seq when n == 0). */
uint64_t nf_ring_append(nf_ring *r, const nf_flow *flows, size_t n, uint64_t now_ms);

/* Copies at most max records with sequence > after into out (caller-owned, max entries),
 * oldest first, after applying retention at now_ms. */
void nf_ring_read(nf_ring *r, uint64_t after, nf_flow *out, size_t max, uint64_t now_ms,
                  nf_ring_read_result *res);

/* Applies retention at now_ms (call periodically when nothing is appended). */
void nf_ring_expire(nf_ring *r, uint64_t now_ms);

void nf_ring_stats_get(nf_ring *r, nf_ring_stats *out);

#endif
