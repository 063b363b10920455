/* pqwriter.h — serviceradar-netflow-parquet's engine: flow batches from JetStream into the
 * Iceberg table of the cold tier, exactly once. Design: docs/iceberg.md.
 *
 * One worker thread does everything in order — NATS, DuckDB and the catalog are each used
 * by one thread only, and a batch is small next to what the disk and DuckDB write per second:
 *
 *   fetch ─▶ sequence already in the table's committed set? ──yes──▶ ack (already stored)
 *     │ no
 *     ▼
 *   decode FlowBatch ──bad──▶ dead-letter stream (reason header) ─▶ term; remember the sequence
 *     │ ok
 *     ▼
 *   rows += records; hold the message
 *     │ batch_size rows held, or the oldest waited batch_interval, or stopping
 *     ▼
 *   Parquet files (one per day, DuckDB, fsync'd) ─▶ append commit (append.h): manifest,
 *   manifest list, snapshot whose summary records the batch's sequences
 *     │ committed                  │ overlap: rows already stored     │ unknown outcome
 *     ▼                            ▼                                  ▼
 *   ack every held message     ack those, drop their rows,       retry the same commit with
 *                              write the rest again              backoff (same snapshot id);
 *                                                                 give up before ack_wait:
 *                                                                 release, JetStream redelivers
 *
 * Invariants
 *   1. A message is acked only after a snapshot holding its rows is committed, or when the
 *      table's committed set already contains its sequence.
 *   2. A message's rows are committed at most once: the committed set travels in every
 *      snapshot, and each commit checks its base (append.h invariant 2).
 *   3. The writer holds a message at most batch_interval + the commit's retries, which stop
 *      before ack_wait / 2 (config: ack_wait >= 2 (batch_interval + catalog_timeout)), so a
 *      message is not redelivered to another writer while this one holds it.
 *   4. Maintenance (compaction, retention, expiry) runs between batches on the same thread,
 *      never while a batch is held.
 */
#ifndef NFX_LIB_PQWRITER_PQWRITER_H
#define NFX_LIB_PQWRITER_PQWRITER_H

#include "../metrics/metrics.h"
#include "pqwriter_config.h"

typedef struct nf_pqwriter nf_pqwriter;

/* Builds the engine for cfg (borrowed; must outlive it). Nothing is connected yet. Free with
 * nf_pqwriter_destroy. */
nf_status nf_pqwriter_create(const nf_pqwriter_config *cfg, nf_pqwriter **out, nf_err *err);

/* Starts the worker thread. NATS, the catalog and the disk are reached from it, with
 * backoff, so the writer starts whatever is up. */
nf_status nf_pqwriter_start(nf_pqwriter *w, nf_err *err);

/* Stops the worker: the batch in hand is committed (a few attempts) and acked, or handed
 * back to JetStream. Idempotent. */
void nf_pqwriter_stop(nf_pqwriter *w);

/* Stops if needed and frees. NULL-safe. */
void nf_pqwriter_destroy(nf_pqwriter *w);

/* One maintenance pass (compaction, retention, snapshot expiry) now, on the caller's thread,
 * without NATS: `serviceradar-netflow-parquet --maintain`. The writer must not be started. */
nf_status nf_pqwriter_maintain_once(nf_pqwriter *w, nf_err *err);

/* nf_metrics_render_fn for /metrics (ctx: the writer). */
void nf_pqwriter_render_metrics(void *ctx, nf_metrics *m);

#endif
