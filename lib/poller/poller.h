/* poller.h — serviceradar-poller's engine: agents' netflow records into JetStream.
 *
 * One thread per agent:
 *
 *      ┌─────────────┐ ok  ┌──────────────────────────────┐  caught up  ┌───────────────┐
 *   ┌─▶│ health check│────▶│ StreamResults(after cursor)  │────────────▶│ poll_interval │─┐
 *   │  └─────┬───────┘     │  each chunk = one FlowBatch: │             └───────────────┘ │
 *   │        │ fail        │  publish (Nats-Msg-Id =      │ more                          │
 *   │        ▼             │  <agent>:<first_seq>), wait  │───────┐                       │
 *   │  ┌─────────────┐     │  for the ack, then advance   │       │                       │
 *   └──│ backoff with│◀────│  and save the cursor         │◀──────┘                       │
 *      │ jitter      │fail └──────────────────────────────┘◀──────────────────────────────┘
 *      └─────────────┘
 *
 * Exactly once into the stream: the cursor moves only after JetStream acknowledged a batch;
 * a re-sent batch has the same records and message id and is dropped by the server as a
 * duplicate. The checker cuts batches deterministically from a start sequence, so full
 * batches re-read after a crash are identical; a partial tail batch (published only once
 * it is batch_interval old) has its exact range saved (fsync) before it is published, and
 * after a crash exactly that range is asked for again (lib/poller/cursor.h).
 *
 * Back-pressure: when JetStream refuses (stream full, NATS down), the thread backs off
 * and retries from its cursor; the records wait in the checker's ring, whose evictions are
 * reported back in FlowBatch.dropped_before and counted here as lost at the edge.
 *
 * JetStream's Interest retention stores nothing when no consumer exists, so the poller
 * creates the stream and the durable consumers the writers use before publishing.
 */
#ifndef NFX_LIB_POLLER_POLLER_H
#define NFX_LIB_POLLER_POLLER_H

#include "../metrics/metrics.h"
#include "poller_config.h"

typedef struct nf_poller nf_poller;

/* Builds the engine for cfg (borrowed; must outlive the poller). Nothing is connected yet.
 * Free with nf_poller_destroy. */
nf_status nf_poller_create(const nf_poller_config *cfg, nf_poller **out, nf_err *err);

/* Starts one thread per agent. NATS and the agents are reached from those threads, with
 * backoff, so the poller starts whatever is up. */
nf_status nf_poller_start(nf_poller *p, nf_err *err);

/* Stops the threads (at the next chunk, publish or sleep) and joins them. Idempotent. */
void nf_poller_stop(nf_poller *p);

/* Stops if needed and frees. NULL-safe. */
void nf_poller_destroy(nf_poller *p);

/* nf_metrics_render_fn for the poller's /metrics. */
void nf_poller_render_metrics(void *ctx, nf_metrics *m);

#endif
