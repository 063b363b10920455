/* append.h — one append commit of the Parquet writer: data files already written become a
 * snapshot of the table, together with the writer's exactly-once state (docs/iceberg.md).
 *
 * The state is the set of JetStream stream sequences whose rows the table holds, kept in
 * every snapshot's summary (NF_COLD_SUMMARY_* in lib/cold/table.h) above the durable's ack
 * floor. A commit:
 *
 *   write manifest (once) ──▶ load/reload table ──▶ our snapshot already there? ──yes──▶ done
 *                                  ▲                      │ no
 *                                  │                      ▼
 *                                  │        base's set ∩ our sequences ≠ ∅ ──▶ NF_ECONFLICT
 *                                  │                      │ empty              + overlap
 *                                  │                      ▼
 *                                  │        manifest list = base's manifests + ours,
 *                                  │        summary = counts + (base set ∪ ours) above floor
 *                                  │                      │
 *                                  └── 409: reload ◀── commit (assert main = base's current)
 *                                                         │ 200
 *                                                         ▼ done
 *
 * Invariants
 *   1. The snapshot id is chosen once per nf_pq_append and kept across attempts and calls,
 *      so after an unknown outcome (timeout, 5xx, catalog restart) the next call finds the
 *      snapshot if it was committed instead of committing the rows twice.
 *   2. A commit never adds rows of a sequence the base snapshot already records (the overlap
 *      check runs against every base it commits on), so two writers sharing the durable, or
 *      a writer and its own earlier life, cannot both commit one message.
 *   3. Files of an attempt that certainly failed (409) are removed; after an unknown outcome
 *      nothing is removed (the catalog may reference it).
 */
#ifndef NFX_LIB_PQWRITER_APPEND_H
#define NFX_LIB_PQWRITER_APPEND_H

#include "../iceberg/iceberg.h"
#include "seqset.h"

typedef struct nf_pq_append {
    /* Inputs, borrowed, unchanged for the life of the append: */
    const char *ns, *table;
    const char *stream;                /* JetStream stream the sequences belong to */
    const nf_ice_datafile *files;      /* status ADDED, inherit everything */
    size_t nfiles;
    const nf_seqset *seqs;             /* messages whose rows the files hold */
    const nf_seqset *settled;          /* messages settled without rows (dead letters): recorded
                                          so the set has no permanent holes; may be NULL */
    uint64_t ack_floor;                /* durable's ack floor when the batch was taken */
    /* State kept across calls (zero-initialise; nf_pq_append_clear frees): */
    int64_t snapshot_id;
    nf_ice_manifest manifest;          /* ours, once written (path != NULL) */
    int attempts;
} nf_pq_append;

/* Commits a (see the diagram). *table is the caller's current view of the table: NULL or
 * stale is fine (it is reloaded as needed) and on return holds the newest metadata seen
 * (owned by the caller, replaced in place).
 * Returns
 *   NF_OK        committed (now or by an earlier call whose outcome was unknown);
 *   NF_ECONFLICT some of a->seqs are already in the table: *overlap (cleared first) receives
 *                them; nothing was committed; the caller drops those messages' rows (acks
 *                them: they are stored), writes new files and starts a new append;
 *   NF_EINVAL    the table's state is unreadable (bad summary) or the table is not ours;
 *   other        catalog or disk failure; the outcome may be unknown: call again later with
 *                the same a (invariant 1) before doing anything else with its messages. */
nf_status nf_pq_append_commit(nf_ice_catalog *cat, nf_pq_append *a, nf_ice_table **table,
                              nf_seqset *overlap, nf_err *err);

/* Forgets a's state (the snapshot id and the manifest record, not the files). */
void nf_pq_append_clear(nf_pq_append *a);

/* Removes the manifest a wrote (when its rows are abandoned after NF_ECONFLICT). */
void nf_pq_append_discard(nf_pq_append *a);

/* The committed set recorded in t's current snapshot for stream (empty when the table has no
 * snapshot or none recorded one). NF_EINVAL if the summary is malformed or names another
 * stream (the table is fed by a different stream: refuse rather than guess). */
nf_status nf_pq_committed(const nf_ice_table *t, const char *stream, nf_seqset *out,
                          nf_err *err);

#endif
