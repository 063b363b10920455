/* fuzz_flowbatch.c — libFuzzer target for the FlowBatch reader (lib/proto/flowbatch.h): the
 * bytes of one JetStream message, as every central consumer receives them from the bus.
 *
 * Checks, beyond memory safety:
 *   - nf_flowbatch_decode never returns more records than asked for or than the batch has;
 *   - when both the full decoder and the header-only peek accept the input, they agree on
 *     the record count, the sequences and dropped_before (the poller and the writers read
 *     the same message with different functions);
 *   - what decodes re-encodes with nf_flowbatch_add/finish into a batch that decodes to the
 *     same records, sequences and header (a consumer that re-publishes loses nothing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/flowbatch.h"

#define MAX_RECORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nf_flow flows[MAX_RECORDS], again[MAX_RECORDS];
static uint64_t seqs[MAX_RECORDS], seqs_again[MAX_RECORDS];

static void
check_roundtrip(const nf_flowbatch_header *h, size_t n)
{
    nf_flowbatch_writer w = {0};
    for (size_t i = 0; i < n; i++)
        if (!nf_flowbatch_add(&w, &flows[i], seqs[i], NF_FLOWBATCH_MAX_BYTES))
            abort(); /* 64 records always fit */
    size_t len;
    const uint8_t *buf = nf_flowbatch_finish(&w, h->agent_id, h->poller_id, h->dropped_before,
                                             &len);
    if (buf == NULL)
        abort();
    nf_flowbatch_header h2;
    size_t n2 = 0;
    nf_err err = {0};
    if (nf_flowbatch_decode(buf, len, &h2, again, seqs_again, MAX_RECORDS, &n2, &err) != NF_OK ||
        n2 != n || h2.records != n || h2.dropped_before != h->dropped_before ||
        strcmp(h2.agent_id, h->agent_id) != 0 || strcmp(h2.poller_id, h->poller_id) != 0)
        abort();
    if (n > 0 && (memcmp(again, flows, n * sizeof(nf_flow)) != 0 ||
                  memcmp(seqs_again, seqs, n * sizeof(uint64_t)) != 0))
        abort();
    nf_flowbatch_writer_free(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_flowbatch_header peeked, h;
    nf_err err = {0};
    nf_status ps = nf_flowbatch_peek(data, size, &peeked, &err);
    size_t n = 0;
    nf_status ds = nf_flowbatch_decode(data, size, &h, flows, seqs, MAX_RECORDS, &n, &err);
    if (n > MAX_RECORDS || (ds == NF_OK && n > h.records))
        abort();
    if (ds == NF_OK && ps == NF_OK &&
        (peeked.records != h.records || peeked.first_seq != h.first_seq ||
         peeked.last_seq != h.last_seq || peeked.dropped_before != h.dropped_before))
        abort();
    /* A decoded batch may hold more than MAX_RECORDS; re-encode only complete ones. */
    if (ds == NF_OK && n == h.records)
        check_roundtrip(&h, n);
    return 0;
}
