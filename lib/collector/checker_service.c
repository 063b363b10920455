/* checker_service.c — monitoring.AgentService for the NetFlow checker. See
 * checker_service.h.
 *
 * StreamResults, as a loop:
 *
 *     cursor = last_sequence
 *     loop:  read up to B records after cursor from the ring
 *            none read            → (first chunk only) send an empty final chunk; stop
 *            encode until B records or the byte budget; cursor = last encoded
 *            final = caught up with the ring and none were left out for size
 *            send chunk; stop if final, cancelled, or MAX_CHUNKS sent (the poller asks
 *            again at once when a stream ends without a final chunk)
 */
#include "checker_service.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/clock.h"
#include "../base/memory.h"
#include "../base/parse.h"
#include "../proto/flowbatch.h"
#include "monitoring.pb-c.h"

/* Records read from the ring per chunk at most: ~9 000 encoded records fill the byte
 * budget anyway, and this bounds the copy buffer (1.4 MB). */
#define READ_MAX 10000
/* Chunks per StreamResults call: about 256 MB; the poller simply calls again. */
#define MAX_CHUNKS 256

struct nf_checker_service {
    nf_collector *collector;
    nf_ring *ring;
    const nf_checker_config *cfg;
    atomic_uint_fast64_t status_calls;
    atomic_uint_fast64_t results_calls;
    atomic_uint_fast64_t stream_calls;
    atomic_uint_fast64_t chunks_sent;
    atomic_uint_fast64_t records_sent;
    atomic_uint_fast64_t bad_requests;
    atomic_uint_fast64_t dropped_reported; /* evicted-unfetched records reported to readers */
};

static int
bad_request(nf_checker_service *s, char *msg, size_t msg_len, const char *why)
{
    atomic_fetch_add(&s->bad_requests, 1);
    snprintf(msg, msg_len, "%s", why);
    return NF_RPC_INVALID_ARGUMENT;
}

static int
handle_status(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len, uint8_t **resp,
              size_t *resp_len, char *msg, size_t msg_len)
{
    (void)call;
    nf_checker_service *s = ctx;
    uint64_t t0 = nf_mono_ns();
    Monitoring__StatusRequest *in = monitoring__status_request__unpack(NULL, req_len, req);
    if (in == NULL)
        return bad_request(s, msg, msg_len, "StatusRequest does not decode");
    atomic_fetch_add(&s->status_calls, 1);
    json_t *status = nf_collector_status_json(s->collector);
    json_object_set_new(status, "service",
                        json_pack("{s:s,s:I,s:I,s:I}", "name", "netflow", "stream_calls",
                                  (json_int_t)atomic_load(&s->stream_calls), "records_sent",
                                  (json_int_t)atomic_load(&s->records_sent), "chunks_sent",
                                  (json_int_t)atomic_load(&s->chunks_sent)));
    char *text = json_dumps(status, JSON_COMPACT);
    json_decref(status);
    if (text == NULL) {
        monitoring__status_request__free_unpacked(in, NULL);
        snprintf(msg, msg_len, "out of memory");
        return NF_RPC_RESOURCE_EXHAUSTED;
    }
    Monitoring__StatusResponse out = MONITORING__STATUS_RESPONSE__INIT;
    out.available = true;
    out.message.data = (uint8_t *)text;
    out.message.len = strlen(text);
    out.service_name = in->service_name;
    out.service_type = in->service_type;
    out.agent_id = in->agent_id;
    out.poller_id = in->poller_id;
    out.response_time = (int64_t)(nf_mono_ns() - t0);
    *resp_len = monitoring__status_response__get_packed_size(&out);
    *resp = malloc(*resp_len ? *resp_len : 1);
    int rc = NF_RPC_OK;
    if (*resp == NULL) {
        snprintf(msg, msg_len, "out of memory");
        rc = NF_RPC_RESOURCE_EXHAUSTED;
    } else {
        monitoring__status_response__pack(&out, *resp);
    }
    free(text);
    monitoring__status_request__free_unpacked(in, NULL);
    return rc;
}

/* Parses last_sequence ("" = from the start). */
static bool
parse_cursor(const char *text, uint64_t *out)
{
    if (text == NULL || text[0] == '\0') {
        *out = 0;
        return true;
    }
    return nf_parse_u64(text, 0, UINT64_MAX, out);
}

/* Decodes a ResultsRequest and its last_sequence; on success *out is the caller's to free
 * (monitoring__results_request__free_unpacked). */
static bool
unpack_results_request(const uint8_t *req, size_t req_len, Monitoring__ResultsRequest **out,
                       uint64_t *cursor)
{
    Monitoring__ResultsRequest *in = monitoring__results_request__unpack(NULL, req_len, req);
    if (in == NULL)
        return false;
    if (!parse_cursor(in->last_sequence, cursor)) {
        monitoring__results_request__free_unpacked(in, NULL);
        return false;
    }
    *out = in;
    return true;
}

static uint32_t
batch_size(const nf_checker_service *s, uint32_t requested)
{
    uint64_t b = requested ? requested : s->cfg->batch_size;
    return (uint32_t)(b > READ_MAX ? READ_MAX : b);
}

/* One chunk: reads after *cursor, encodes into w. Returns the records encoded; *final says
 * whether the ring had no more; *missed the records evicted after the cursor. */
static uint32_t
fill_chunk(nf_checker_service *s, uint64_t *cursor, uint32_t b, nf_flow *buf,
           nf_flowbatch_writer *w, bool *final, uint64_t *missed)
{
    nf_ring_read_result res;
    nf_ring_read(s->ring, *cursor, buf, b, nf_wall_ms(), &res);
    *missed = res.missed;
    nf_flowbatch_reset(w);
    size_t i = 0;
    while (i < res.count && nf_flowbatch_add(w, &buf[i], res.first_seq + i, NF_FLOWBATCH_MAX_BYTES))
        i++;
    if (i > 0)
        *cursor = res.first_seq + i - 1;
    /* Final: every record read fit and the reader is caught up with the ring (so a stream
     * that ends exactly at a chunk boundary still marks its last chunk). */
    *final = i == res.count && (res.count == 0 || res.first_seq + res.count - 1 >= res.last_seq);
    return (uint32_t)i;
}

static int
handle_results(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len, uint8_t **resp,
               size_t *resp_len, char *msg, size_t msg_len)
{
    (void)call;
    nf_checker_service *s = ctx;
    Monitoring__ResultsRequest *in;
    uint64_t cursor;
    if (!unpack_results_request(req, req_len, &in, &cursor))
        return bad_request(s, msg, msg_len, "ResultsRequest: bad message or last_sequence");
    atomic_fetch_add(&s->results_calls, 1);
    uint32_t b = batch_size(s, in->batch_size);
    nf_flow *buf = malloc(b * sizeof(nf_flow));
    nf_flowbatch_writer w = {0};
    int rc = NF_RPC_OK;
    if (buf == NULL) {
        snprintf(msg, msg_len, "out of memory");
        rc = NF_RPC_RESOURCE_EXHAUSTED;
        goto out;
    }
    uint64_t start = cursor, missed;
    bool final;
    uint32_t n = fill_chunk(s, &cursor, b, buf, &w, &final, &missed);
    size_t blen;
    const uint8_t *batch = nf_flowbatch_finish(&w, in->agent_id, in->poller_id, missed, &blen);
    char seq[24];
    snprintf(seq, sizeof(seq), "%" PRIu64, n ? cursor : start);
    Monitoring__ResultsResponse out = MONITORING__RESULTS_RESPONSE__INIT;
    out.available = true;
    out.data.data = (uint8_t *)batch;
    out.data.len = batch ? blen : 0;
    out.service_name = in->service_name;
    out.service_type = in->service_type;
    out.agent_id = in->agent_id;
    out.poller_id = in->poller_id;
    out.timestamp = (int64_t)(nf_wall_ms() / 1000);
    out.current_sequence = seq;
    out.has_new_data = n > 0;
    *resp_len = monitoring__results_response__get_packed_size(&out);
    *resp = malloc(*resp_len ? *resp_len : 1);
    if (batch == NULL || *resp == NULL) {
        snprintf(msg, msg_len, "out of memory");
        rc = NF_RPC_RESOURCE_EXHAUSTED;
        goto out;
    }
    monitoring__results_response__pack(&out, *resp);
    atomic_fetch_add(&s->records_sent, n);
    atomic_fetch_add(&s->dropped_reported, missed);
out:
    nf_flowbatch_writer_free(&w);
    free(buf);
    monitoring__results_request__free_unpacked(in, NULL);
    return rc;
}

static int
handle_stream(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len, char *msg,
              size_t msg_len)
{
    nf_checker_service *s = ctx;
    Monitoring__ResultsRequest *in;
    uint64_t cursor;
    if (!unpack_results_request(req, req_len, &in, &cursor))
        return bad_request(s, msg, msg_len, "ResultsRequest: bad message or last_sequence");
    atomic_fetch_add(&s->stream_calls, 1);
    uint32_t b = batch_size(s, in->batch_size);
    nf_flow *buf = malloc(b * sizeof(nf_flow));
    nf_flowbatch_writer w = {0};
    uint8_t *chunk_buf = NULL;
    int rc = NF_RPC_OK;
    if (buf == NULL) {
        snprintf(msg, msg_len, "out of memory");
        rc = NF_RPC_RESOURCE_EXHAUSTED;
        goto out;
    }
    for (int index = 0; index < MAX_CHUNKS && !nf_rpc_call_cancelled(call); index++) {
        bool final;
        uint64_t missed;
        uint32_t n = fill_chunk(s, &cursor, b, buf, &w, &final, &missed);
        if (n == 0 && index > 0)
            break; /* caught up exactly at a chunk boundary: the stream just ends */
        size_t blen;
        const uint8_t *batch = nf_flowbatch_finish(&w, in->agent_id, in->poller_id,
                                                   index == 0 ? missed : 0, &blen);
        char seq[24];
        snprintf(seq, sizeof(seq), "%" PRIu64, cursor);
        Monitoring__ResultsChunk chunk = MONITORING__RESULTS_CHUNK__INIT;
        chunk.data.data = (uint8_t *)batch;
        chunk.data.len = batch ? blen : 0;
        chunk.is_final = final;
        chunk.chunk_index = index;
        chunk.current_sequence = seq;
        chunk.timestamp = (int64_t)(nf_wall_ms() / 1000);
        size_t clen = monitoring__results_chunk__get_packed_size(&chunk);
        uint8_t *grown = realloc(chunk_buf, clen ? clen : 1);
        if (batch == NULL || grown == NULL) {
            if (grown != NULL)
                chunk_buf = grown;
            snprintf(msg, msg_len, "out of memory");
            rc = NF_RPC_RESOURCE_EXHAUSTED;
            break;
        }
        chunk_buf = grown;
        monitoring__results_chunk__pack(&chunk, chunk_buf);
        if (nf_rpc_stream_send(call, chunk_buf, clen, NULL) != NF_OK)
            break; /* the client went away: nothing more to do */
        atomic_fetch_add(&s->chunks_sent, 1);
        atomic_fetch_add(&s->records_sent, n);
        if (index == 0)
            atomic_fetch_add(&s->dropped_reported, missed);
        if (final)
            break;
    }
out:
    free(chunk_buf);
    nf_flowbatch_writer_free(&w);
    free(buf);
    monitoring__results_request__free_unpacked(in, NULL);
    /* The batch buffers of this call (and gRPC's copies of them) are free now; give the
     * memory back so an idle edge host stays small (see base/memory.h). */
    nf_memory_release();
    return rc;
}

nf_status
nf_checker_service_register(nf_rpc_server *srv, nf_collector *collector, nf_ring *ring,
                            const nf_checker_config *cfg, nf_checker_service **out,
                            nf_err *err)
{
    nf_checker_service *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nf_err_set(err, NF_ENOMEM, "checker service: out of memory");
    s->collector = collector;
    s->ring = ring;
    s->cfg = cfg;
    static const char *const health[] = {"", "AgentService", "monitoring.AgentService"};
    nf_status st = nf_rpc_server_add_unary(srv, "/monitoring.AgentService/GetStatus",
                                           handle_status, s, err);
    if (st == NF_OK)
        st = nf_rpc_server_add_unary(srv, "/monitoring.AgentService/GetResults", handle_results,
                                     s, err);
    if (st == NF_OK)
        st = nf_rpc_server_add_stream(srv, "/monitoring.AgentService/StreamResults",
                                      handle_stream, s, err);
    for (size_t i = 0; st == NF_OK && i < sizeof(health) / sizeof(health[0]); i++)
        st = nf_rpc_server_set_health(srv, health[i], true, err);
    if (st != NF_OK) {
        free(s);
        return st;
    }
    *out = s;
    return NF_OK;
}

void
nf_checker_service_destroy(nf_checker_service *s)
{
    free(s);
}

void
nf_checker_service_render_metrics(nf_checker_service *s, nf_metrics *m)
{
    nf_metrics_family(m, "netflow_checker_rpc_calls_total", "counter",
                      "AgentService calls answered, by method");
    nf_metrics_sample(m, "netflow_checker_rpc_calls_total", "method=\"GetStatus\"",
                      atomic_load(&s->status_calls));
    nf_metrics_sample(m, "netflow_checker_rpc_calls_total", "method=\"GetResults\"",
                      atomic_load(&s->results_calls));
    nf_metrics_sample(m, "netflow_checker_rpc_calls_total", "method=\"StreamResults\"",
                      atomic_load(&s->stream_calls));
    nf_metrics_counter(m, "netflow_checker_rpc_bad_requests_total",
                       "requests refused as malformed", atomic_load(&s->bad_requests));
    nf_metrics_counter(m, "netflow_checker_chunks_sent_total", "StreamResults chunks sent",
                       atomic_load(&s->chunks_sent));
    nf_metrics_counter(m, "netflow_checker_records_sent_total",
                       "flow records sent to readers (re-reads count again)",
                       atomic_load(&s->records_sent));
    nf_metrics_counter(m, "netflow_checker_dropped_reported_total",
                       "records evicted before fetched, as reported to readers",
                       atomic_load(&s->dropped_reported));
}
