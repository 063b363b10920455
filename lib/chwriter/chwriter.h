/* chwriter.h — serviceradar-netflow-clickhouse's engine: flow batches from JetStream into
 * the ClickHouse hot tier, exactly once. Design: docs/clickhouse.md.
 *
 * Two threads. The main thread fetches, decodes and fills a batch; when the batch is due it
 * hands it to the inserter thread and fills the next one while that INSERT runs, so the
 * writer's own work overlaps ClickHouse's. The inserter only runs the INSERT: every NATS
 * call (fetch, ack, nak, dead letter) is made by the main thread, which settles a finished
 * INSERT's messages after its next fetch — one thread owns every message from fetch to
 * settlement, and libnats' thread safety is never relied on:
 *
 *   fetch ─▶ settle the finished INSERT: ack its messages │ it failed: nak them, back off
 *     │
 *     ▼
 *   held already (batch or INSERT in flight)? ──yes─▶ release this delivery
 *     │ no
 *     ▼
 *   in ingest_log (one look-up per fetch)? ──yes─▶ ack │ look-up failed: nak, back off
 *     │ no
 *     ▼
 *   decode FlowBatch ──bad──▶ dead-letter stream (reason header) ─▶ term
 *     │ ok
 *     ▼
 *   rows += records; hold the message
 *     │ batch_size rows held, or the oldest waited batch_interval
 *     ▼
 *   hand over (after the previous INSERT finished and was settled)
 *     │                                              inserter thread
 *     └──▶ INSERT INTO ingest FORMAT RowBinary ─▶ done (ok or failed)
 *
 * Invariants
 *   1. A message is acked only after ClickHouse answered 200 to the INSERT holding its rows,
 *      or after ingest_log showed an earlier INSERT of it (at-least-once + the log = once).
 *   2. One INSERT holds at most batch_size (<= 1 000 000) rows, so ClickHouse writes it as
 *      one block: all of its messages' rows or none.
 *   3. A message the writer holds is never held twice: a delivery of a message in the batch
 *      being filled, in the INSERT in flight or earlier in the same fetch (same stream
 *      sequence) is released, not added. ack_wait is at least twice batch_interval + clickhouse_timeout (config check;
 *      a message waits at most batch_interval being batched, one timeout behind the INSERT
 *      before it, one in its own and a fetch of at most 20 ms before it is settled, no more
 *      than batch_interval), so that is rare.
 *   4. An undecodable message never blocks the stream: it is copied to the dead-letter
 *      stream with its reason and terminated; if that copy fails it is nak'ed and retried.
 *   5. Every message not held is looked up in ingest_log before it is taken — not only
 *      redeliveries: after a nats-server restart JetStream may deliver again, with
 *      num_delivered 1, a message it had delivered and we had stored (its consumer state on
 *      disk lagged). At most one INSERT is in flight, and a message whose INSERT is still
 *      running is held (3), so it is never taken for one that was lost. "In flight" ends on
 *      the server too: an INSERT whose answer never came (timeout, lost connection) stays in
 *      flight until ClickHouse says its query id is not running (KILL QUERY … ASYNC,
 *      system.processes). What stays open: an INSERT of a writer process that died before
 *      that was settled, executed by ClickHouse after the next process looked its messages
 *      up.
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

/* Starts the threads. NATS and ClickHouse are reached from them, with backoff, so the writer
 * starts whatever is up. */
nf_status nf_chwriter_start(nf_chwriter *w, nf_err *err);

/* Stops both threads: the batch in hand is inserted (one attempt) and acked, or nak'ed.
 * Idempotent. */
void nf_chwriter_stop(nf_chwriter *w);

/* Stops if needed and frees. NULL-safe. */
void nf_chwriter_destroy(nf_chwriter *w);

/* nf_metrics_render_fn for /metrics (ctx: the writer). */
void nf_chwriter_render_metrics(void *ctx, nf_metrics *m);

#endif
