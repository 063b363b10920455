/* checker_service.h — the checker's gRPC face: ServiceRadar's monitoring.AgentService.
 *
 *   GetStatus      StatusResponse.message = the collector's status JSON (records held,
 *                  receive rates, exporters with template and loss counters, drops by
 *                  reason), plus what this service served.
 *   GetResults     one netflow.FlowBatch of the records after ResultsRequest.last_sequence
 *   StreamResults  FlowBatch chunks of the records after last_sequence until caught up
 *
 * Batches are cut deterministically: from a given start sequence a chunk holds batch_size
 * records (ResultsRequest.batch_size, else the configured default), or fewer when the next
 * record would push it past NF_FLOWBATCH_MAX_BYTES. Only the last chunk of a stream — marked
 * is_final, the one that catches up with the ring — may hold fewer because the ring had no
 * more. So asking again from the same
 * sequence yields the same chunks, which lets the poller re-publish after a crash under the
 * same Nats-Msg-Id without loss or duplicates (see lib/poller/cursor.h).
 *
 * The first chunk's FlowBatch.dropped_before is the number of records after last_sequence
 * that the ring evicted before anyone fetched them: loss is reported, never silent.
 *
 * Handlers run on the rpc server's worker threads; the ring and collector are thread-safe.
 */
#ifndef NFX_LIB_COLLECTOR_CHECKER_SERVICE_H
#define NFX_LIB_COLLECTOR_CHECKER_SERVICE_H

#include "../metrics/metrics.h"
#include "../ring/ring.h"
#include "../rpc/rpc.h"
#include "collector.h"

typedef struct nf_checker_service nf_checker_service;

/* Registers the AgentService methods and the health names ("", "AgentService",
 * "monitoring.AgentService") on srv. collector, ring and cfg are borrowed and must outlive
 * the server. *out (free with nf_checker_service_destroy after the server) holds the
 * service's counters. */
nf_status nf_checker_service_register(nf_rpc_server *srv, nf_collector *collector,
                                      nf_ring *ring, const nf_checker_config *cfg,
                                      nf_checker_service **out, nf_err *err);

void nf_checker_service_destroy(nf_checker_service *s);

/* Appends the service's counters to a /metrics page. */
void nf_checker_service_render_metrics(nf_checker_service *s, nf_metrics *m);

#endif
