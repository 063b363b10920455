/* flowbatch_test.c — FlowBatch encoding (hand-written) against decoding (protobuf-c): every
 * field of flowgen's flows survives the round trip; byte budgets hold; peek agrees with a
 * full decode; the PRD's text fields are filled; malformed bytes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "flowgen/flowgen.h"
#include "netflow.pb-c.h"
#include "proto/flowbatch.h"

#define MAX_FLOWS 20000

typedef struct collected {
    nf_flow flows[MAX_FLOWS];
    size_t n;
} collected;

static void
hook(void *ctx, const nf_flow *f)
{
    collected *c = ctx;
    if (c->n < MAX_FLOWS) {
        c->flows[c->n] = *f;
        c->flows[c->n].received_ms = 1767225600123ull + c->n; /* the collector sets it */
        c->n++;
    }
}

/* flowgen flows (v5, v9, IPFIX, IPv6, sampled) as a decoder would produce them. */
static collected *
make_flows(size_t want)
{
    collected *c = calloc(1, sizeof(*c));
    flowgen_config cfg;
    flowgen_config_default(&cfg);
    cfg.protocol = FLOWGEN_MIX;
    cfg.exporters = 6;
    cfg.ipv6_share = 30;
    cfg.sampling_rate = 8;
    flowgen *g = NULL;
    assert_int_equal(flowgen_create(&cfg, &g, NULL), NF_OK);
    flowgen_set_flow_hook(g, hook, c);
    uint8_t buf[2048];
    while (c->n < want) {
        size_t len;
        assert_int_equal(flowgen_next(g, 0, buf, sizeof(buf), &len, NULL), NF_OK);
    }
    c->n = want;
    flowgen_destroy(g);
    return c;
}

static void
test_roundtrip_every_field(void **state)
{
    (void)state;
    collected *c = make_flows(5000);
    nf_flowbatch_writer w = {0};
    nf_flowbatch_reset(&w);
    for (size_t i = 0; i < c->n; i++)
        assert_true(nf_flowbatch_add(&w, &c->flows[i], 1000 + i, 4u << 20));
    size_t len;
    const uint8_t *msg = nf_flowbatch_finish(&w, "agent-1", "poller-1", 7, &len);
    assert_non_null(msg);

    nf_flowbatch_header h;
    nf_flow *out = calloc(c->n, sizeof(nf_flow));
    uint64_t *seqs = calloc(c->n, sizeof(uint64_t));
    size_t n;
    assert_int_equal(nf_flowbatch_decode(msg, len, &h, out, seqs, c->n, &n, NULL), NF_OK);
    assert_int_equal(n, c->n);
    assert_string_equal(h.agent_id, "agent-1");
    assert_string_equal(h.poller_id, "poller-1");
    assert_int_equal(h.first_seq, 1000);
    assert_int_equal(h.last_seq, 1000 + c->n - 1);
    assert_int_equal(h.dropped_before, 7);
    assert_int_equal(h.records, c->n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(seqs[i], 1000 + i);
        if (memcmp(&out[i], &c->flows[i], sizeof(nf_flow)) != 0) {
            fail_msg("record %zu differs after the round trip", i);
        }
    }
    free(out);
    free(seqs);
    nf_flowbatch_writer_free(&w);
    free(c);
}

static void
test_prd_text_fields(void **state)
{
    (void)state;
    collected *c = make_flows(200);
    nf_flowbatch_writer w = {0};
    for (size_t i = 0; i < c->n; i++)
        assert_true(nf_flowbatch_add(&w, &c->flows[i], i + 1, NF_FLOWBATCH_MAX_BYTES));
    size_t len;
    const uint8_t *msg = nf_flowbatch_finish(&w, NULL, NULL, 0, &len);
    Netflow__FlowBatch *b = netflow__flow_batch__unpack(NULL, len, msg);
    assert_non_null(b);
    assert_int_equal(b->n_records, c->n);
    for (size_t i = 0; i < b->n_records; i++) {
        char src[NF_ADDR_STRLEN], dst[NF_ADDR_STRLEN];
        const Netflow__FlowRecord *r = b->records[i];
        assert_string_equal(r->src_ip, nf_addr_format(c->flows[i].src_addr, src));
        assert_string_equal(r->dst_ip, nf_addr_format(c->flows[i].dst_addr, dst));
        assert_int_equal(r->timestamp, (int64_t)(c->flows[i].received_ms / 1000));
        assert_int_equal(r->bytes, c->flows[i].bytes);
        assert_int_equal(r->src_addr.len, c->flows[i].ip_version == 4 ? 4 : 16);
    }
    netflow__flow_batch__free_unpacked(b, NULL);
    nf_flowbatch_writer_free(&w);
    free(c);
}

static void
test_byte_budget_and_peek(void **state)
{
    (void)state;
    collected *c = make_flows(20000);
    nf_flowbatch_writer w = {0};
    size_t i = 0, batches = 0;
    uint64_t seq = 1;
    while (i < c->n) {
        nf_flowbatch_reset(&w);
        while (i < c->n && nf_flowbatch_add(&w, &c->flows[i], seq, 100000)) {
            i++;
            seq++;
        }
        assert_true(w.records > 0);
        size_t len;
        const uint8_t *msg = nf_flowbatch_finish(&w, "a", "p", 0, &len);
        assert_true(len <= 100000);
        nf_flowbatch_header h;
        assert_int_equal(nf_flowbatch_peek(msg, len, &h, NULL), NF_OK);
        assert_int_equal(h.records, w.records);
        assert_int_equal(h.first_seq, w.first_seq);
        assert_int_equal(h.last_seq, w.last_seq);
        assert_string_equal(h.agent_id, "a");
        batches++;
    }
    assert_true(batches > 10); /* 20000 records do not fit 100 kB */
    nf_flowbatch_writer_free(&w);
    free(c);
}

static void
test_record_without_addresses(void **state)
{
    (void)state;
    nf_flow f;
    memset(&f, 0, sizeof(f));
    static const uint8_t exp4[4] = {192, 0, 2, 1};
    nf_addr_from_v4(f.exporter, exp4);
    f.bytes = 104;
    f.sampling_rate = 1;
    f.received_ms = 1767225600000ull;
    nf_flowbatch_writer w = {0};
    assert_true(nf_flowbatch_add(&w, &f, 5, NF_FLOWBATCH_MAX_BYTES));
    size_t len, n;
    const uint8_t *msg = nf_flowbatch_finish(&w, NULL, NULL, 0, &len);
    nf_flowbatch_header h;
    nf_flow out;
    assert_int_equal(nf_flowbatch_decode(msg, len, &h, &out, NULL, 1, &n, NULL), NF_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(&out, &f, sizeof(f));
    nf_flowbatch_writer_free(&w);
}

/* A record from another encoder with only the PRD's dst_ip text (found by fuzz_flowbatch):
 * the address is kept and the record counts as addressed, so re-encoding keeps it too. */
static void
test_text_destination_only(void **state)
{
    (void)state;
    Netflow__FlowRecord r = NETFLOW__FLOW_RECORD__INIT;
    r.dst_ip = "2001:db8::9";
    r.bytes = 40;
    Netflow__FlowRecord *recs[] = {&r};
    Netflow__FlowBatch b = NETFLOW__FLOW_BATCH__INIT;
    b.n_records = 1;
    b.records = recs;
    uint8_t buf[256];
    size_t len = netflow__flow_batch__pack(&b, buf), n;
    nf_flowbatch_header h;
    nf_flow f, again;
    assert_int_equal(nf_flowbatch_decode(buf, len, &h, &f, NULL, 1, &n, NULL), NF_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f.ip_version, 6);
    char text[NF_ADDR_STRLEN];
    assert_string_equal(nf_addr_format(f.dst_addr, text), "2001:db8::9");
    nf_flowbatch_writer w = {0};
    assert_true(nf_flowbatch_add(&w, &f, 1, NF_FLOWBATCH_MAX_BYTES));
    const uint8_t *msg = nf_flowbatch_finish(&w, NULL, NULL, 0, &len);
    assert_int_equal(nf_flowbatch_decode(msg, len, &h, &again, NULL, 1, &n, NULL), NF_OK);
    assert_memory_equal(&again, &f, sizeof(f));
    nf_flowbatch_writer_free(&w);
}

static void
test_malformed_refused(void **state)
{
    (void)state;
    collected *c = make_flows(50);
    nf_flowbatch_writer w = {0};
    for (size_t i = 0; i < c->n; i++)
        nf_flowbatch_add(&w, &c->flows[i], i + 1, NF_FLOWBATCH_MAX_BYTES);
    size_t len;
    const uint8_t *msg = nf_flowbatch_finish(&w, "a", "p", 0, &len);
    nf_flowbatch_header h;
    nf_flow *out = calloc(c->n, sizeof(nf_flow));
    /* Every strict prefix that cuts a field is refused by both readers, never over-read. */
    size_t refused = 0;
    for (size_t cut = 1; cut < len; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, msg, cut);
        size_t n;
        nf_status a = nf_flowbatch_peek(copy, cut, &h, NULL);
        nf_status b = nf_flowbatch_decode(copy, cut, &h, out, NULL, c->n, &n, NULL);
        refused += a != NF_OK;
        assert_int_equal(a == NF_OK, b == NF_OK);
        free(copy);
    }
    assert_true(refused > len / 2);
    static const uint8_t garbage[] = {0x32, 0xff, 0xff, 0xff, 0x0f, 0x01};
    size_t n;
    assert_int_equal(nf_flowbatch_peek(garbage, sizeof(garbage), &h, NULL), NF_EPROTO);
    assert_int_equal(nf_flowbatch_decode(garbage, sizeof(garbage), &h, out, NULL, 1, &n, NULL),
                     NF_EPROTO);
    free(out);
    nf_flowbatch_writer_free(&w);
    free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_field),
        cmocka_unit_test(test_prd_text_fields),
        cmocka_unit_test(test_byte_budget_and_peek),
        cmocka_unit_test(test_record_without_addresses),
        cmocka_unit_test(test_text_destination_only),
        cmocka_unit_test(test_malformed_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
