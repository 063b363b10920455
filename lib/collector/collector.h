/* collector.h — the NetFlow checker's collection engine: UDP sockets → decoders → ring.
 *
 *   exporters ──UDP──▶ socket i (SO_REUSEPORT group, steered by source address)
 *                          │ recvmmsg batch
 *                          ▼
 *                      worker i: own nf_decoder ──flows──▶ nf_ring (shared, sequenced)
 *                          │ every second
 *                          ▼
 *                      snapshot i (counters, exporters, decoder state) ◀── readers
 *
 * One worker thread per socket, each with its own decoder, so decoding needs no locks; the
 * ring is appended once per receive batch. Readers (metrics, status, the state file) never
 * touch a decoder: workers publish their counters under a per-worker mutex after every
 * batch, and their exporter list and decoder state once a second.
 *
 * State file: every state_interval the collector writes all workers' decoder states into
 * one file (atomically: temp file, fsync, rename). At start every worker loads every saved
 * state, so templates decode at once even if the number of workers changed; the decoder
 * keeps the freshest copy of each exporter (see nf_decoder_load_state).
 *
 * Lifecycle: create (opens sockets, loads state) → start (threads) → tick about once a
 * second from the owner's loop → stop (joins, saves state) → destroy.
 */
#ifndef NFX_LIB_COLLECTOR_COLLECTOR_H
#define NFX_LIB_COLLECTOR_COLLECTOR_H

#include <jansson.h>
#include <stdint.h>

#include "../decode/nf_decode.h"
#include "../metrics/metrics.h"
#include "../ring/ring.h"
#include "checker_config.h"

typedef struct nf_collector nf_collector;

typedef struct nf_collector_stats {
    uint64_t datagrams;        /* UDP datagrams received */
    uint64_t bytes;            /* their payload bytes */
    uint64_t truncated;        /* datagrams larger than the receive buffer (not decoded) */
    uint64_t kernel_drops;     /* datagrams the kernel dropped for lack of buffer */
    uint64_t receive_errors;   /* failed receive calls (socket errors) */
    uint64_t flows_stored;     /* flow records appended to the ring */
    nf_decode_counters decode; /* all workers' decoder counters added up */
    unsigned workers;          /* receive sockets / decode workers */
    int steered;               /* source-address steering active */
    uint16_t port;             /* UDP port actually bound */
    uint64_t state_templates_loaded; /* templates restored from the state file at start */
    uint64_t state_writes;     /* successful state file writes */
    uint64_t state_errors;     /* failed state file writes */
    double flows_per_s;        /* flows stored per second over the last tick interval */
    double datagrams_per_s;    /* datagrams received per second, same interval */
} nf_collector_stats;

/* Opens the sockets and loads the state file. cfg and ring are borrowed and must outlive
 * the collector. A state file that cannot be read is not fatal: the reason is put in
 * state_note (may be NULL, 256 bytes) and collection starts without it. */
nf_status nf_collector_create(const nf_checker_config *cfg, nf_ring *ring, nf_collector **out,
                              char *state_note, nf_err *err);

/* Starts the worker threads. */
nf_status nf_collector_start(nf_collector *c, nf_err *err);

/* Housekeeping, about once a second from the owning thread: ring retention, the receive
 * rates, and the state file when due. Returns NF_OK or the state-file error (collection
 * goes on regardless). */
nf_status nf_collector_tick(nf_collector *c, uint64_t now_ms, nf_err *err);

/* Stops the workers (they finish their current batch into the ring) and writes the state
 * file. Idempotent. */
void nf_collector_stop(nf_collector *c);

/* Frees everything (stops first if needed). NULL-safe. */
void nf_collector_destroy(nf_collector *c);

void nf_collector_stats_get(nf_collector *c, nf_collector_stats *out);

/* New JSON object (caller owns) with the collector's status: receive counters and rates,
 * decoder counters with drops by reason, ring state, state file, and the exporters with
 * their template and sequence counters (one entry per exporter key, merged over workers). */
json_t *nf_collector_status_json(nf_collector *c);

/* nf_status_render_fn for the checker's /status: nf_collector_status_json as text. */
char *nf_collector_status_text(void *ctx);

/* nf_metrics_render_fn for the checker's /metrics; ctx is the collector. */
void nf_collector_render_metrics(void *ctx, nf_metrics *m);

#endif
