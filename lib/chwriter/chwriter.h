/* chwriter.h — serviceradar-netflow-clickhouse's engine: flow batches from JetStream into
 * the ClickHouse hot tier, exactly once. Design: docs/clickhouse.md.
 *
 * One thread:
 *
 *   fetch ─▶ redelivered? ──yes─▶ in ingest_log? ──yes─▶ ack (already stored)
 *     ▲          │ no                   │ no
 *     │          ▼                      ▼
 *     │      decode FlowBatch ──bad──▶ dead-letter stream (reason header) ─▶ term
 *     │          │ ok
 *     │          ▼
 *     │      rows += records; hold the message
 *     │          │ batch_size rows held, or the oldest waited batch_interval
 *     │          ▼
 *     └─ ack ◀── INSERT INTO ingest FORMAT RowBinary ──fails─▶ nak all (delay), backoff
 *
 * Invariants
 *   1. A message is acked only after ClickHouse answered 200 to the INSERT holding its rows,
 *      or after ingest_log showed an earlier INSERT of it (at-least-once + the log = once).
 *   2. One INSERT holds at most batch_size (<= 1 000 000) rows, so ClickHouse writes it as
 *      one block: all of its messages' rows or none.
 *   3. A message the writer holds is never held twice: ack_wait is at least twice
 *      batch_interval + clickhouse_timeout (config check), and a delivery of a message
 *      already held is released, not added.
 *   4. An undecodable message never blocks the stream: it is copied to the dead-letter
 *      stream with its reason and terminated; if that copy fails it is nak'ed and retried.
 *
 * Retention runs at start and every hour (nf_ch_retention_apply).
 */
#ifndef NFX_LIB_CHWRITER_CHWRITER_H
#define NFX_LIB_CHWRITER_CHWRITER_H

#include "../metrics/metrics.h"
#include "chwriter_config.h"

typedef struct nf_chwriter nf_chwriter;

/* Builds the engine for cfg (borrowed; must outlive it). Nothing is connected yet. Free with
 * nf_chwriter_destroy. */
nf_status nf_chwriter_create(const nf_chwriter_config *cfg, nf_chwriter **out, nf_err *err);

/* Starts the thread. NATS and ClickHouse are reached from it, with backoff, so the writer
 * starts whatever is up. */
nf_status nf_chwriter_start(nf_chwriter *w, nf_err *err);

/* Stops the thread: the batch in hand is inserted (one attempt) and acked, or nak'ed.
 * Idempotent. */
void nf_chwriter_stop(nf_chwriter *w);

/* Stops if needed and frees. NULL-safe. */
void nf_chwriter_destroy(nf_chwriter *w);

/* nf_metrics_render_fn for /metrics (ctx: the writer). */
void nf_chwriter_render_metrics(void *ctx, nf_metrics *m);

#endif
