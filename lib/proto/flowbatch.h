/* flowbatch.h — flow records in and out of netflow.FlowBatch (proto/netflow.proto).
 *
 * Encoding is hand-written (a varint writer over a growing buffer, no per-record
 * allocation): the checker encodes every record it serves, so this is on the hot path.
 * Records are added one at a time; a batch never grows beyond the byte budget the caller
 * gives, so a chunk fits a gRPC message and a NATS payload. Zero values are omitted, as
 * proto3 encoders do. The header fields (agent, poller, first/last sequence, dropped) are
 * written after the records — protobuf allows any field order.
 *
 * Decoding uses the protobuf-c generated parser, so anything a standard protobuf encoder
 * writes is accepted, and malformed input is refused (NF_EPROTO) rather than half read.
 * nf_flowbatch_peek reads only the header fields, skipping the records by length: the
 * poller needs the sequences without paying for a full decode.
 *
 * Not thread-safe per writer; writers are independent.
 */
#ifndef NFX_LIB_PROTO_FLOWBATCH_H
#define NFX_LIB_PROTO_FLOWBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../flow/flow.h"

/* Largest FlowBatch the project sends: under NATS's default 1 MiB max_payload with room for
 * headers, and under gRPC's 4 MiB default message limit. */
#define NF_FLOWBATCH_MAX_BYTES 1000000u

typedef struct nf_flowbatch_header {
    char agent_id[128];      /* truncated if longer */
    char poller_id[128];
    uint64_t first_seq;      /* sequence of the first record */
    uint64_t last_seq;       /* sequence of the last record */
    uint64_t dropped_before; /* records evicted before they were fetched */
    uint32_t records;        /* number of records */
} nf_flowbatch_header;

typedef struct nf_flowbatch_writer {
    uint8_t *buf;            /* encoded bytes, owned; free with nf_flowbatch_writer_free */
    size_t len;              /* bytes used */
    size_t cap;              /* bytes allocated */
    uint64_t first_seq;      /* of the first record added, 0 if none */
    uint64_t last_seq;       /* of the last record added */
    uint32_t records;        /* records added */
    bool failed;             /* an allocation failed: the batch is unusable */
} nf_flowbatch_writer;

/* Starts an empty batch (keeps the buffer of a previous batch for reuse). */
void nf_flowbatch_reset(nf_flowbatch_writer *w);

/* Appends the record f with sequence seq unless the batch would then exceed max_bytes once
 * finished (header included); returns false (nothing added) in that case or on
 * allocation failure. */
bool nf_flowbatch_add(nf_flowbatch_writer *w, const nf_flow *f, uint64_t seq, size_t max_bytes);

/* Writes the header fields and returns the complete message (valid until the next reset or
 * free); *len_out receives its length. agent_id and poller_id may be NULL. NULL if the
 * writer failed. */
const uint8_t *nf_flowbatch_finish(nf_flowbatch_writer *w, const char *agent_id,
                                   const char *poller_id, uint64_t dropped_before,
                                   size_t *len_out);

void nf_flowbatch_writer_free(nf_flowbatch_writer *w);

/* Reads the header fields of a serialized FlowBatch without decoding its records (they
 * are counted). NF_EPROTO if the bytes are not a well-formed FlowBatch. */
nf_status nf_flowbatch_peek(const uint8_t *buf, size_t len, nf_flowbatch_header *out,
                            nf_err *err);

/* Decodes a serialized FlowBatch: header into *hdr, records into out[0..max) as nf_flow
 * (addresses back in 16-byte form) with their sequences in seqs[] (may be NULL). *n_out
 * receives the number of records decoded (at most max; hdr->records tells how many there
 * were). NF_EPROTO on malformed input. */
nf_status nf_flowbatch_decode(const uint8_t *buf, size_t len, nf_flowbatch_header *hdr,
                              nf_flow *out, uint64_t *seqs, size_t max, size_t *n_out,
                              nf_err *err);

#endif
