/* flowgen_test.c — unit tests of lib/flowgen: determinism, the round trip through the
 * project's decoder (every flow field by field, zero errors, zero sequence loss), totals,
 * limits, configuration checks and pcap framing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/addr.h"
#include "decode/nf_decode.h"
#include "flowgen/flowgen.h"

#define BUF_CAP 65536

/* A growable array of flows. */
typedef struct flow_vec {
    nf_flow *v;
    size_t n, cap;
} flow_vec;

static void
vec_push(void *ctx, const nf_flow *f)
{
    flow_vec *fv = ctx;
    if (fv->n == fv->cap) {
        fv->cap = fv->cap ? fv->cap * 2 : 1024;
        fv->v = realloc(fv->v, fv->cap * sizeof(*fv->v));
        assert_non_null(fv->v);
    }
    fv->v[fv->n++] = *f;
}

static flowgen *
make_gen(const flowgen_config *c)
{
    flowgen *g = NULL;
    nf_err err;
    nf_err_clear(&err);
    nf_status st = flowgen_create(c, &g, &err);
    if (st != NF_OK)
        fail_msg("flowgen_create: %s", err.msg);
    return g;
}

/* ---- determinism ---- */

static uint64_t
stream_hash(const flowgen_config *c, int datagrams)
{
    flowgen *g = make_gen(c);
    uint8_t *buf = malloc(BUF_CAP);
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < datagrams; i++) {
        size_t len;
        assert_int_equal(flowgen_next(g, 0, buf, BUF_CAP, &len, NULL), NF_OK);
        for (size_t k = 0; k < len; k++)
            h = (h ^ buf[k]) * 1099511628211ull;
        h = (h ^ len) * 1099511628211ull;
    }
    free(buf);
    flowgen_destroy(g);
    return h;
}

static void
test_determinism(void **state)
{
    (void)state;
    flowgen_config c;
    flowgen_config_default(&c);
    c.protocol = FLOWGEN_MIX;
    c.exporters = 5;
    c.sampling_rate = 10;
    c.ipv6_share = 30;
    c.seed = 42;

    /* Byte-identical, datagram by datagram. */
    flowgen *a = make_gen(&c), *b = make_gen(&c);
    uint8_t *ba = malloc(BUF_CAP), *bb = malloc(BUF_CAP);
    for (int i = 0; i < 300; i++) {
        size_t la, lb;
        flowgen_datagram ia, ib;
        assert_int_equal(flowgen_next(a, 0, ba, BUF_CAP, &la, &ia), NF_OK);
        assert_int_equal(flowgen_next(b, 0, bb, BUF_CAP, &lb, &ib), NF_OK);
        assert_int_equal(la, lb);
        assert_memory_equal(ba, bb, la);
        assert_memory_equal(&ia, &ib, sizeof(ia));
    }
    free(ba);
    free(bb);
    flowgen_destroy(a);
    flowgen_destroy(b);

    uint64_t h1 = stream_hash(&c, 100);
    assert_true(h1 == stream_hash(&c, 100));
    c.seed = 43;
    assert_true(h1 != stream_hash(&c, 100));
    c.seed = 0; /* 0 is a valid seed too */
    assert_true(h1 != stream_hash(&c, 100));
}

/* ---- round trip through the decoder ---- */

typedef struct roundtrip {
    flow_vec expected;      /* from the hook */
    flow_vec decoded;       /* from the decoder */
    flowgen_counts dg_sums; /* summed from flowgen_datagram infos */
    uint64_t template_dgs;
    uint64_t options_records;
} roundtrip;

static void
roundtrip_run(const flowgen_config *c, int datagrams, uint32_t max_flows)
{
    roundtrip rt;
    memset(&rt, 0, sizeof(rt));
    flowgen *g = make_gen(c);
    flowgen_set_flow_hook(g, vec_push, &rt.expected);
    nf_decoder *d = NULL;
    assert_int_equal(nf_decoder_create(NULL, &d, NULL), NF_OK);
    uint8_t *buf = malloc(BUF_CAP);

    for (int i = 0; i < datagrams; i++) {
        size_t len;
        flowgen_datagram info;
        size_t before = rt.expected.n;
        assert_int_equal(flowgen_next(g, max_flows, buf, BUF_CAP, &len, &info), NF_OK);
        assert_true(len <= c->max_datagram);
        assert_int_equal(rt.expected.n - before, info.flows);
        assert_true(info.flows >= 1);
        if (max_flows != 0)
            assert_true(info.flows <= max_flows);
        assert_int_equal(info.exporter, (uint32_t)i % c->exporters);

        nf_datagram dg;
        memset(&dg, 0, sizeof(dg));
        dg.data = buf;
        dg.len = len;
        memcpy(dg.src_addr, info.exporter_addr, 16);
        dg.src_port = (uint16_t)(40000 + info.exporter);
        dg.received_ms = 1234; /* zeroed before comparing */
        size_t dec_before = rt.decoded.n;
        assert_int_equal(nf_decoder_decode(d, &dg, vec_push, &rt.decoded), NF_OK);
        assert_int_equal(rt.decoded.n - dec_before, info.flows);

        rt.dg_sums.datagrams++;
        rt.dg_sums.flows += info.flows;
        rt.dg_sums.bytes += info.bytes;
        rt.dg_sums.packets += info.packets;
        rt.dg_sums.template_datagrams += info.has_templates;
        rt.options_records += info.options_records;
    }

    /* Field by field. */
    assert_int_equal(rt.decoded.n, rt.expected.n);
    for (size_t i = 0; i < rt.expected.n; i++) {
        nf_flow *e = &rt.expected.v[i], *got = &rt.decoded.v[i];
        assert_int_equal(e->received_ms, 0);
        assert_int_equal(got->received_ms, 1234);
        got->received_ms = 0;
        if (memcmp(e, got, sizeof(*e)) != 0) {
            char s1[NF_ADDR_STRLEN], s2[NF_ADDR_STRLEN];
            fail_msg("flow %zu differs: expected %s->%s %u:%u proto %u bytes %llu first %llu "
                     "last %llu rate %u; decoded %s->%s %u:%u proto %u bytes %llu first %llu "
                     "last %llu rate %u",
                     i, nf_addr_format(e->src_addr, s1), nf_addr_format(e->dst_addr, s2),
                     e->src_port, e->dst_port, e->protocol, (unsigned long long)e->bytes,
                     (unsigned long long)e->first_ms, (unsigned long long)e->last_ms,
                     e->sampling_rate, nf_addr_format(got->src_addr, s1),
                     nf_addr_format(got->dst_addr, s2), got->src_port, got->dst_port, got->protocol,
                     (unsigned long long)got->bytes, (unsigned long long)got->first_ms,
                     (unsigned long long)got->last_ms, got->sampling_rate);
        }
    }

    /* No errors, no loss, no resets. */
    const nf_decode_counters *dc = nf_decoder_counters(d);
    for (int r = 0; r < NF_DROP_REASON_COUNT; r++)
        if (dc->errors[r] != 0)
            fail_msg("decoder error %s: %llu", nf_drop_reason_name((nf_drop_reason)r),
                     (unsigned long long)dc->errors[r]);
    assert_int_equal(dc->seq_lost_packets, 0);
    assert_int_equal(dc->seq_lost_flows, 0);
    assert_int_equal(dc->seq_resets, 0);
    assert_int_equal(dc->packets, (uint64_t)datagrams);
    assert_int_equal(dc->flows, rt.expected.n);
    assert_int_equal(dc->options_records, rt.options_records);
    assert_int_equal(dc->backlog_queued, 0);

    /* Totals: equal to the hook's flows and to the datagram infos. */
    flowgen_counts tot;
    flowgen_totals(g, &tot);
    uint64_t bytes = 0, packets = 0;
    for (size_t i = 0; i < rt.expected.n; i++) {
        bytes += rt.expected.v[i].bytes;
        packets += rt.expected.v[i].packets;
    }
    assert_int_equal(tot.datagrams, (uint64_t)datagrams);
    assert_int_equal(tot.flows, rt.expected.n);
    assert_int_equal(tot.bytes, bytes);
    assert_int_equal(tot.packets, packets);
    assert_memory_equal(&tot, &rt.dg_sums, sizeof(tot));

    /* Per exporter: counts sum to the totals and match the hook's flows per exporter. */
    flowgen_counts sum;
    memset(&sum, 0, sizeof(sum));
    assert_int_equal(flowgen_exporter_count(g), c->exporters);
    for (uint32_t x = 0; x < c->exporters; x++) {
        flowgen_exporter ex;
        assert_true(flowgen_exporter_get(g, x, &ex));
        uint64_t fl = 0, by = 0, pk = 0;
        for (size_t i = 0; i < rt.expected.n; i++) {
            const nf_flow *f = &rt.expected.v[i];
            if (memcmp(f->exporter, ex.addr, 16) == 0 && f->domain == ex.domain) {
                fl++;
                by += f->bytes;
                pk += f->packets;
                assert_int_equal(f->flow_type, ex.version);
            }
        }
        assert_int_equal(ex.counts.flows, fl);
        assert_int_equal(ex.counts.bytes, by);
        assert_int_equal(ex.counts.packets, pk);
        sum.datagrams += ex.counts.datagrams;
        sum.flows += ex.counts.flows;
        sum.bytes += ex.counts.bytes;
        sum.packets += ex.counts.packets;
        sum.template_datagrams += ex.counts.template_datagrams;
    }
    assert_memory_equal(&sum, &tot, sizeof(sum));
    flowgen_exporter none;
    assert_false(flowgen_exporter_get(g, c->exporters, &none));

    /* Decoder's view of the exporters: rates and no per-exporter loss. */
    nf_exporter_info infos[64];
    size_t nex = nf_decoder_exporters(d, infos, 64);
    assert_int_equal(nex, c->exporters);
    for (size_t i = 0; i < nex; i++) {
        assert_int_equal(infos[i].seq_lost, 0);
        assert_int_equal(infos[i].seq_reordered, 0);
        assert_int_equal(infos[i].sampling_rate, c->sampling_rate);
    }

    free(buf);
    free(rt.expected.v);
    free(rt.decoded.v);
    nf_decoder_destroy(d);
    flowgen_destroy(g);
}

static flowgen_config
cfg_for(flowgen_protocol p, uint32_t rate, uint32_t v6)
{
    flowgen_config c;
    flowgen_config_default(&c);
    c.protocol = p;
    c.sampling_rate = rate;
    c.ipv6_share = v6;
    c.exporters = 3;
    c.seed = 7;
    return c;
}

static void
test_roundtrip_v5(void **state)
{
    (void)state;
    flowgen_config c = cfg_for(FLOWGEN_V5, 1, 0);
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_V5, 512, 0);
    c.max_datagram = 65507; /* v5 still stops at 30 records */
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_V5, FLOWGEN_V5_MAX_RATE, 0);
    roundtrip_run(&c, 50, 0);
}

static void
test_roundtrip_v9(void **state)
{
    (void)state;
    flowgen_config c = cfg_for(FLOWGEN_V9, 1, 0);
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_V9, 1, 50);
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_V9, 64, 100);
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_V9, 100000, 25); /* above v5's 14-bit limit: fine without v5 */
    c.template_interval = 1;
    roundtrip_run(&c, 200, 0);
}

static void
test_roundtrip_ipfix(void **state)
{
    (void)state;
    flowgen_config c = cfg_for(FLOWGEN_IPFIX, 1, 0);
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_IPFIX, 1, 100);
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_IPFIX, 1000, 40);
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_IPFIX, 8, 40);
    c.ipfix_varlen = false;
    c.template_interval = 0;
    roundtrip_run(&c, 400, 0);
    c = cfg_for(FLOWGEN_IPFIX, 8, 40);
    c.max_datagram = 9000; /* jumbo */
    roundtrip_run(&c, 100, 0);
}

static void
test_roundtrip_mix(void **state)
{
    (void)state;
    flowgen_config c = cfg_for(FLOWGEN_MIX, 100, 30);
    c.exporters = 7;
    c.template_interval = 5;
    roundtrip_run(&c, 700, 0);
    /* Small datagrams and a per-call flow limit. */
    c.max_datagram = FLOWGEN_MIN_DATAGRAM;
    roundtrip_run(&c, 300, 0);
    c.max_datagram = 1400;
    roundtrip_run(&c, 300, 3);
    roundtrip_run(&c, 100, 1);
    /* IPv6 exporter addresses. */
    assert_true(nf_addr_parse("2001:db8::10", c.exporter_base));
    roundtrip_run(&c, 200, 0);
}

/* ---- the traffic itself ---- */

static void
test_traffic_plausible(void **state)
{
    (void)state;
    flowgen_config c = cfg_for(FLOWGEN_IPFIX, 1, 20);
    flow_vec fv = {0};
    flowgen *g = make_gen(&c);
    flowgen_set_flow_hook(g, vec_push, &fv);
    uint8_t *buf = malloc(BUF_CAP);
    uint64_t last_export = 0;
    for (int i = 0; i < 2000; i++) {
        size_t len;
        flowgen_datagram info;
        size_t before = fv.n;
        assert_int_equal(flowgen_next(g, 0, buf, BUF_CAP, &len, &info), NF_OK);
        assert_true(info.export_ms >= last_export);
        assert_true(info.export_ms >= c.start_ms);
        last_export = info.export_ms;
        for (size_t k = before; k < fv.n; k++) {
            assert_true(fv.v[k].last_ms <= info.export_ms);
            assert_true(fv.v[k].first_ms <= fv.v[k].last_ms);
            assert_true(fv.v[k].last_ms - fv.v[k].first_ms <= 120000);
        }
    }
    /* 10000 flows/s virtual pace: the clock advanced by flows / 10 ms. */
    flowgen_counts tot;
    flowgen_totals(g, &tot);
    assert_true(last_export <= c.start_ms + tot.flows / 10);
    assert_true(last_export + 2000 >= c.start_ms + tot.flows / 10);

    size_t tcp = 0, udp = 0, icmp = 0, v6 = 0, https = 0, dns = 0;
    uint32_t top_count = 0;
    for (size_t i = 0; i < fv.n; i++) {
        const nf_flow *f = &fv.v[i];
        assert_true(f->packets >= 1 && f->packets <= 1000000);
        assert_true(f->bytes >= 40 * f->packets && f->bytes <= 1500 * f->packets);
        assert_int_equal(f->bytes % f->packets, 0);
        assert_true(f->in_if != 0 && f->out_if != 0 && f->in_if != f->out_if);
        v6 += f->ip_version == 6;
        assert_int_equal(f->ip_version == 4, nf_addr_is_v4(f->src_addr));
        assert_int_equal(f->ip_version == 4, nf_addr_is_v4(f->dst_addr));
        switch (f->protocol) {
        case 6:
            tcp++;
            assert_true(f->tcp_flags != 0);
            break;
        case 17:
            udp++;
            assert_int_equal(f->tcp_flags, 0);
            if (f->src_port == 53 || f->dst_port == 53)
                dns++;
            break;
        case 1:
        case 58:
            icmp++;
            assert_int_equal(f->protocol == 58, f->ip_version == 6);
            assert_int_equal(f->src_port, 0);
            break;
        default:
            fail_msg("unexpected protocol %u", f->protocol);
        }
        if (f->protocol == 6 && (f->src_port == 443 || f->dst_port == 443))
            https++;
        if (f->protocol == 6 && f->dst_port == 53)
            assert_true(f->src_port >= 32768);
    }
    /* Zipf: the most popular host (among the first flows' addresses) takes part in well
     * over 10% of the flows, where uniform popularity would give 1 in 500. */
    for (size_t i = 0; i < 100; i++) {
        for (int side = 0; side < 2; side++) {
            const uint8_t *cand = side ? fv.v[i].dst_addr : fv.v[i].src_addr;
            uint32_t count = 0;
            for (size_t k = 0; k < fv.n; k++)
                count += memcmp(fv.v[k].src_addr, cand, 16) == 0 ||
                         memcmp(fv.v[k].dst_addr, cand, 16) == 0;
            if (count > top_count)
                top_count = count;
        }
    }
    size_t n = fv.n;
    assert_true(n > 20000);
    assert_true(tcp > n / 2 && udp > n / 5 && icmp > 0 && icmp < n / 20);
    assert_true(https > n / 4 && dns > n / 20);
    assert_true(v6 > n / 10 && v6 < n * 3 / 10);
    assert_true(top_count > n / 10);
    free(buf);
    free(fv.v);
    flowgen_destroy(g);
}

/* ---- limits and configuration ---- */

static void
test_limits(void **state)
{
    (void)state;
    flowgen_config c = cfg_for(FLOWGEN_IPFIX, 100, 0);
    flowgen *g = make_gen(&c);
    uint8_t *buf = malloc(BUF_CAP);
    size_t len = 0;
    /* Too small for templates + a record: refused, nothing generated. */
    assert_int_equal(flowgen_next(g, 0, buf, 100, &len, NULL), NF_EINVAL);
    assert_int_equal(flowgen_next(NULL, 0, buf, BUF_CAP, &len, NULL), NF_EINVAL);
    assert_int_equal(flowgen_next(g, 0, NULL, BUF_CAP, &len, NULL), NF_EINVAL);
    flowgen_counts tot;
    flowgen_totals(g, &tot);
    assert_int_equal(tot.datagrams, 0);
    /* Exact flow counts per call; cap below max_datagram is honoured. */
    flowgen_datagram info;
    assert_int_equal(flowgen_next(g, 5, buf, BUF_CAP, &len, &info), NF_OK);
    assert_int_equal(info.flows, 5);
    assert_true(info.has_templates);
    assert_int_equal(info.options_records, 1);
    assert_int_equal(flowgen_next(g, 0, buf, 600, &len, &info), NF_OK);
    assert_true(len <= 600);
    assert_int_equal(info.exporter, 1);
    flowgen_destroy(g);
    free(buf);
}

static void
test_config_checks(void **state)
{
    (void)state;
    flowgen_config c;
    flowgen *g = NULL;
    nf_err err;
    flowgen_config_default(&c);
    c.exporters = 0;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "exporters"));

    flowgen_config_default(&c);
    c.protocol = FLOWGEN_V5;
    c.sampling_rate = FLOWGEN_V5_MAX_RATE + 1;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "sampling"));
    c.protocol = FLOWGEN_MIX;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    c.protocol = FLOWGEN_V9;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_OK);
    flowgen_destroy(g);

    flowgen_config_default(&c);
    c.ipv6_share = 101;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    flowgen_config_default(&c);
    c.max_datagram = FLOWGEN_MIN_DATAGRAM - 1;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    flowgen_config_default(&c);
    c.start_ms = 1000;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    flowgen_config_default(&c);
    c.flows_per_sec = 0;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    flowgen_config_default(&c);
    c.protocol = (flowgen_protocol)7;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);

    /* Exporter addresses must not leave IPv4 space or overflow. */
    flowgen_config_default(&c);
    assert_true(nf_addr_parse("255.255.255.250", c.exporter_base));
    c.exporters = 6;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_OK);
    flowgen_exporter ex;
    assert_true(flowgen_exporter_get(g, 5, &ex));
    char s[NF_ADDR_STRLEN];
    assert_string_equal(nf_addr_format(ex.addr, s), "255.255.255.255");
    flowgen_destroy(g);
    c.exporters = 7;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);
    assert_true(nf_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", c.exporter_base));
    c.exporters = 3;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_EINVAL);

    /* Exporter addresses and domains. */
    flowgen_config_default(&c);
    c.protocol = FLOWGEN_MIX;
    c.exporters = 300;
    assert_int_equal(flowgen_create(&c, &g, &err), NF_OK);
    assert_true(flowgen_exporter_get(g, 0, &ex));
    assert_string_equal(nf_addr_format(ex.addr, s), "127.0.0.10");
    assert_int_equal(ex.version, 5);
    assert_int_equal(ex.domain, 0x100);
    assert_true(flowgen_exporter_get(g, 1, &ex));
    assert_int_equal(ex.version, 9);
    assert_int_equal(ex.domain, 1);
    assert_true(flowgen_exporter_get(g, 2, &ex));
    assert_int_equal(ex.version, 10);
    assert_int_equal(ex.domain, 3);
    assert_true(flowgen_exporter_get(g, 299, &ex));
    assert_string_equal(nf_addr_format(ex.addr, s), "127.0.1.53");
    flowgen_destroy(g);

    flowgen_protocol p;
    assert_true(flowgen_protocol_parse("ipfix", &p));
    assert_int_equal(p, FLOWGEN_IPFIX);
    assert_true(flowgen_protocol_parse("mix", &p));
    assert_int_equal(p, FLOWGEN_MIX);
    assert_false(flowgen_protocol_parse("v10", &p));
    assert_false(flowgen_protocol_parse(NULL, &p));
    assert_string_equal(flowgen_protocol_name(FLOWGEN_V5), "v5");
    assert_string_equal(flowgen_protocol_name(3), "?");
    flowgen_destroy(NULL);
}

/* ---- wire details a decoder does not show ---- */

static uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
test_wire_headers(void **state)
{
    (void)state;
    flowgen_config c = cfg_for(FLOWGEN_MIX, 50, 0);
    c.template_interval = 3;
    flowgen *g = make_gen(&c);
    uint8_t *buf = malloc(BUF_CAP);
    uint32_t v5_seq = 0, v9_seq = 0, ipfix_seq = 0;
    for (int i = 0; i < 30; i++) {
        size_t len;
        flowgen_datagram info;
        assert_int_equal(flowgen_next(g, 0, buf, BUF_CAP, &len, &info), NF_OK);
        assert_int_equal(be16(buf), info.version);
        int round = i / 3;
        switch (info.version) {
        case 5:
            assert_int_equal(be16(buf + 2), info.flows);
            assert_int_equal(len, 24 + 48 * info.flows);
            assert_int_equal(be32(buf + 16), v5_seq);
            assert_int_equal(be16(buf + 22), 0x4000 | 50);
            assert_int_equal(be32(buf + 8) * 1000ull + be32(buf + 12) / 1000000, info.export_ms);
            v5_seq += info.flows;
            assert_false(info.has_templates);
            break;
        case 9:
            assert_int_equal(be32(buf + 12), v9_seq);
            assert_int_equal(be32(buf + 8) * 1000ull, info.export_ms);
            /* count = 2 templates + options template + options data + flows */
            assert_int_equal(be16(buf + 2), info.flows + (info.has_templates ? 4 : 0));
            assert_int_equal(info.has_templates, round % 3 == 0);
            assert_int_equal(be16(buf + 20), info.has_templates ? 0 : 256);
            v9_seq++;
            break;
        case 10:
            assert_int_equal(be16(buf + 2), len);
            assert_int_equal(be32(buf + 8), ipfix_seq);
            assert_int_equal(be16(buf + 16), info.has_templates ? 2 : 256);
            ipfix_seq += info.flows + info.options_records;
            break;
        default:
            fail();
        }
        size_t seq_at = info.version == 10 ? 8 : info.version == 9 ? 12 : 16;
        assert_int_equal(info.sequence, be32(buf + seq_at));
        assert_int_equal(len % 4, 0);
    }
    free(buf);
    flowgen_destroy(g);
}

/* ---- pcap framing ---- */

static uint16_t
csum(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

static void
test_frame(void **state)
{
    (void)state;
    uint8_t src[16], dst[16], out[2048];
    uint8_t payload[101];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    size_t len;
    nf_err err;

    assert_true(nf_addr_parse("127.0.0.10", src));
    assert_true(nf_addr_parse("127.0.0.1", dst));
    assert_int_equal(flowgen_frame_build(src, 50000, dst, 2055, 7, payload, sizeof(payload), out,
                                         sizeof(out), &len, &err),
                     NF_OK);
    assert_int_equal(len, 14 + 20 + 8 + sizeof(payload));
    assert_int_equal(be16(out + 12), 0x0800);
    const uint8_t *ip = out + 14;
    assert_int_equal(ip[0], 0x45);
    assert_int_equal(be16(ip + 2), 20 + 8 + sizeof(payload));
    assert_int_equal(csum(ip, 20, 0), 0xffff); /* header checksum verifies */
    assert_int_equal(be16(ip + 4), 7);
    assert_memory_equal(ip + 12, src + 12, 4);
    const uint8_t *udp = ip + 20;
    assert_int_equal(be16(udp), 50000);
    assert_int_equal(be16(udp + 2), 2055);
    assert_int_equal(be16(udp + 4), 8 + sizeof(payload));
    uint32_t pseudo = csum(ip + 12, 8, 0) + 17 + be16(udp + 4);
    assert_int_equal(csum(udp, 8 + sizeof(payload), pseudo), 0xffff);
    assert_memory_equal(udp + 8, payload, sizeof(payload));

    assert_true(nf_addr_parse("2001:db8::10", src));
    assert_true(nf_addr_parse("::1", dst));
    assert_int_equal(flowgen_frame_build(src, 50000, dst, 2055, 0, payload, sizeof(payload), out,
                                         sizeof(out), &len, &err),
                     NF_OK);
    assert_int_equal(len, 14 + 40 + 8 + sizeof(payload));
    assert_int_equal(be16(out + 12), 0x86dd);
    ip = out + 14;
    assert_int_equal(be16(ip + 4), 8 + sizeof(payload));
    assert_int_equal(ip[6], 17);
    udp = ip + 40;
    pseudo = csum(ip + 8, 32, 0) + 17 + be16(udp + 4);
    assert_int_equal(csum(udp, 8 + sizeof(payload), pseudo), 0xffff);

    /* Mixed families and short buffers are refused. */
    assert_true(nf_addr_parse("127.0.0.1", dst));
    assert_int_equal(flowgen_frame_build(src, 1, dst, 2, 0, payload, sizeof(payload), out,
                                         sizeof(out), &len, &err),
                     NF_EINVAL);
    assert_true(nf_addr_parse("::1", dst));
    assert_int_equal(
        flowgen_frame_build(src, 1, dst, 2, 0, payload, sizeof(payload), out, 100, &len, &err),
        NF_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),   cmocka_unit_test(test_roundtrip_v5),
        cmocka_unit_test(test_roundtrip_v9),  cmocka_unit_test(test_roundtrip_ipfix),
        cmocka_unit_test(test_roundtrip_mix), cmocka_unit_test(test_traffic_plausible),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_wire_headers),  cmocka_unit_test(test_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
