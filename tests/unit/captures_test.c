/* captures_test.c — the 20 public reference captures in ../shared/testdata/netflow-captures
 * (real exporters: Cisco, Juniper, ASA, FortiGate, Palo Alto, nProbe, NetScaler, YAF,
 * Huawei, IOS-XR ...), decoded and checked against the expected results in that folder's
 * README. The captures are read where they are, never copied into the repository; every
 * test skips when the folder is absent (a user's fresh clone).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/addr.h"
#include "capture/capture.h"
#include "decode/nf_decode.h"

#define MAX_FLOWS 512

typedef struct result {
    nf_flow flows[MAX_FLOWS];
    size_t n;
    nf_decode_counters c;
    uint64_t packets, bytes; /* sums over flows */
} result;

static void
collect(void *ctx, const nf_flow *f)
{
    result *r = ctx;
    if (r->n < MAX_FLOWS)
        r->flows[r->n++] = *f;
    r->packets += f->packets;
    r->bytes += f->bytes;
}

/* Decodes a capture from the corpus into r; skips the test if the corpus is absent. */
static void
decode_capture(const char *name, bool backlog, result *r)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", NF_CAPTURES_DIR, name);
    if (access(path, R_OK) != 0)
        skip();
    memset(r, 0, sizeof(*r));
    nf_decoder_config cfg;
    nf_decoder_config_default(&cfg);
    if (!backlog)
        cfg.backlog_sets = 0;
    nf_decoder *d = NULL;
    nf_pcap_reader *pr = NULL;
    assert_int_equal(nf_decoder_create(&cfg, &d, NULL), NF_OK);
    assert_int_equal(nf_pcap_open(path, &pr, NULL), NF_OK);
    nf_udp_datagram u;
    uint64_t last = 0;
    while (nf_pcap_next(pr, &u, NULL) == NF_OK) {
        nf_datagram dg = {.data = u.payload, .len = u.len, .src_port = u.src_port,
                          .received_ms = u.ts_ms};
        memcpy(dg.src_addr, u.src, 16);
        nf_decoder_decode(d, &dg, collect, r);
        last = u.ts_ms;
    }
    nf_decoder_expire(d, last + 86400000ull * 30); /* leftovers count as drops */
    r->c = *nf_decoder_counters(d);
    nf_pcap_close(pr);
    nf_decoder_destroy(d);
}

static void
assert_addr(const uint8_t a[16], const char *text)
{
    char buf[NF_ADDR_STRLEN];
    assert_string_equal(nf_addr_format(a, buf), text);
}

static uint64_t
errors_total(const nf_decode_counters *c)
{
    uint64_t n = 0;
    for (int i = 0; i < NF_DROP_REASON_COUNT; i++)
        n += c->errors[i];
    return n;
}

static void
test_01_v5_cisco(void **state)
{
    (void)state;
    static result r;
    decode_capture("01_nf5_cisco_29rec.pcap", true, &r);
    assert_int_equal(r.n, 29);
    assert_int_equal(r.packets, 78); /* nfcapd's totals */
    assert_int_equal(r.bytes, 88345);
    const nf_flow *f = &r.flows[0];
    assert_addr(f->src_addr, "161.202.212.212");
    assert_addr(f->dst_addr, "202.152.70.24");
    assert_int_equal(f->src_port, 30104);
    assert_int_equal(f->dst_port, 11963);
    assert_int_equal(f->protocol, 6);
    assert_int_equal(f->packets, 1);
    assert_int_equal(f->bytes, 133);
    assert_int_equal(f->in_if, 117);
    assert_int_equal(f->out_if, 86);
    assert_int_equal(f->src_as, 36351);
    assert_int_equal(f->dst_as, 10101);
    assert_int_equal(f->src_mask, 19);
    assert_int_equal(f->dst_mask, 24);
    assert_addr(f->next_hop, "61.6.255.150");
    assert_int_equal(f->first_ms / 1000, 1680626664); /* unix_secs - 15 s */
    assert_int_equal(f->last_ms, f->first_ms);
    assert_int_equal(f->domain, 3);
    assert_int_equal(f->sampling_rate, 1);
    assert_int_equal(errors_total(&r.c), 0);
}

static void
test_02_v5_sampled(void **state)
{
    (void)state;
    static result r;
    decode_capture("02_nf5_juniper_mx80_sampled1000.pcap", true, &r);
    assert_int_equal(r.n, 29);
    assert_int_equal(r.packets, 31);
    assert_int_equal(r.bytes, 3989);
    const nf_flow *f = &r.flows[28];
    assert_addr(f->src_addr, "66.249.92.75");
    assert_addr(f->dst_addr, "192.168.0.1");
    assert_int_equal(f->src_port, 37387);
    assert_int_equal(f->dst_port, 80);
    assert_int_equal(f->packets, 2);
    assert_int_equal(f->bytes, 104);
    assert_int_equal(f->src_as, 15169);
    assert_int_equal(f->dst_as, 64496);
    assert_int_equal(f->src_mask, 19);
    assert_int_equal(f->dst_mask, 24);
    for (size_t i = 0; i < r.n; i++)
        assert_int_equal(r.flows[i].sampling_rate, 1000);
}

static void
test_03_v5_bad_count(void **state)
{
    (void)state;
    static result r;
    decode_capture("03_nf5_malformed_count.pcap", true, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.c.errors[NF_DROP_V5_COUNT], 2);
}

static void
test_04_v9_options_sampling(void **state)
{
    (void)state;
    static result r;
    decode_capture("04_nf9_cisco_options_sampling30000.pcap", true, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.c.options_records, 4);
    assert_int_equal(r.packets * 30000, 120000); /* nfcapd scales to 120000 */
    const nf_flow *f = &r.flows[0];
    assert_addr(f->src_addr, "198.38.121.178");
    assert_addr(f->dst_addr, "91.170.143.87");
    assert_int_equal(f->src_port, 443);
    assert_int_equal(f->dst_port, 19624);
    assert_int_equal(f->protocol, 6);
    assert_int_equal(f->bytes, 1500);
    assert_int_equal(f->in_if, 335);
    assert_int_equal(f->out_if, 450);
    assert_int_equal(f->src_mask, 24);
    assert_int_equal(f->dst_mask, 14);
    assert_addr(f->next_hop, "194.149.174.63");
    for (size_t i = 0; i < r.n; i++)
        assert_int_equal(r.flows[i].sampling_rate, 30000);
}

static void
test_05_v9_per_sampler_rates(void **state)
{
    (void)state;
    static result r;
    decode_capture("05_nf9_cisco_multi_sampler_ipv6.pcap", true, &r);
    assert_int_equal(r.n, 12);
    const nf_flow *a = &r.flows[0], *b = &r.flows[1];
    assert_addr(a->src_addr, "ffff::68");
    assert_addr(a->dst_addr, "ffff::1a");
    assert_int_equal(a->src_port, 443);
    assert_int_equal(a->dst_port, 52616);
    assert_int_equal(a->packets, 18);
    assert_int_equal(a->bytes, 1348);
    assert_int_equal(a->sampling_rate, 4000);
    assert_int_equal(a->ip_version, 6);
    assert_addr(b->src_addr, "ffff::5a");
    assert_int_equal(b->protocol, 17);
    assert_int_equal(b->packets, 4);
    assert_int_equal(b->bytes, 579);
    assert_int_equal(b->sampling_rate, 2000);
}

static void
test_06_asa_nsel(void **state)
{
    (void)state;
    static result r;
    decode_capture("06_nf9_cisco_asa_nsel.pcap", true, &r);
    assert_int_equal(r.n, 139);
    assert_int_equal(r.packets, 0);
    assert_int_equal(r.bytes, 17998); /* initiator + responder octets, as nfcapd */
    assert_addr(r.flows[0].src_addr, "10.4.102.104");
    assert_addr(r.flows[0].dst_addr, "10.4.11.102");
    assert_int_equal(r.flows[0].src_port, 51034);
    assert_int_equal(r.flows[0].dst_port, 53);
    assert_int_equal(r.flows[0].protocol, 17);
    assert_int_equal(errors_total(&r.c), 0);
}

static void
test_07_data_before_template(void **state)
{
    (void)state;
    static result r;
    /* Without a backlog: what nfcapd and tshark see. */
    decode_capture("07_nf9_fortigate_data_before_template.pcap", false, &r);
    assert_int_equal(r.n, 65);
    /* tshark's sum. nfcapd reports 746: it adds postPacketDeltaCount (24), which this
     * FortiGate sends equal to packetDeltaCount, so its total counts every packet twice. */
    assert_int_equal(r.packets, 373);
    assert_int_equal(r.flows[0].src_port, 443);
    assert_int_equal(r.flows[0].dst_port, 37033);
    assert_int_equal(r.flows[0].packets, 15);
    assert_int_equal(r.flows[0].bytes, 6867);
    assert_true(r.c.errors[NF_DROP_NO_TEMPLATE] > 0);
    /* With it, the 81 records of frames 1-5 are recovered once frame 6 brings templates. */
    decode_capture("07_nf9_fortigate_data_before_template.pcap", true, &r);
    assert_int_equal(r.n, 146);
    assert_int_equal(r.c.backlog_decoded, r.c.backlog_queued);
    assert_int_equal(r.c.errors[NF_DROP_NO_TEMPLATE], 0);
    assert_int_equal(r.flows[81].bytes, 6867); /* frame 7's first flow comes after them */
}

static void
test_08_two_source_ids(void **state)
{
    (void)state;
    static result r;
    decode_capture("08_nf9_cisco_xr_two_source_ids.pcap", true, &r);
    assert_int_equal(r.n, 35);
    assert_int_equal(r.packets, 107);
    assert_int_equal(r.bytes, 7594);
    assert_addr(r.flows[0].src_addr, "213.3.216.138");
    assert_addr(r.flows[0].dst_addr, "213.3.216.137");
    assert_int_equal(r.flows[0].src_port, 44187);
    assert_int_equal(r.flows[0].dst_port, 179);
    assert_int_equal(r.flows[0].bytes, 60);
    /* Reordered datagrams are not loss: 29 datagrams really are missing from the capture. */
    assert_int_equal(r.c.seq_lost_packets, 29);
}

static void
test_09_zero_length_fields(void **state)
{
    (void)state;
    static result r;
    decode_capture("09_nf9_zero_length_fields.pcap", true, &r);
    assert_int_equal(r.n, 10);
    assert_addr(r.flows[9].src_addr, "192.168.1.33");
}

static void
test_10_options_scope_zero(void **state)
{
    (void)state;
    static result r;
    decode_capture("10_nf9_juniper_srx_options_scope0.pcap", true, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.c.options_records, 1);
    assert_int_equal(r.c.templates_learnt, 2); /* options template and template 257 */
    assert_int_equal(errors_total(&r.c), 0);
}

static void
test_11_zero_filled_tail(void **state)
{
    (void)state;
    static result r;
    decode_capture("11_nf9_paloalto_zero_filled_tail.pcap", true, &r);
    assert_int_equal(r.n, 1);
    const nf_flow *f = &r.flows[0];
    assert_addr(f->src_addr, "134.220.2.6");
    assert_addr(f->dst_addr, "134.220.1.156");
    assert_int_equal(f->src_port, 88);
    assert_int_equal(f->dst_port, 50234);
    assert_int_equal(f->packets, 3);
    assert_int_equal(f->bytes, 363);
    assert_int_equal(errors_total(&r.c), 0); /* zero padding is not an error */
}

static void
test_12_mixed_v5_v9(void **state)
{
    (void)state;
    static result r;
    decode_capture("12_nf9_nprobe_mixed_v5_v9.pcap", true, &r);
    assert_int_equal(r.n, 152);
    assert_int_equal(r.c.packets_v5, 5);
    assert_int_equal(r.c.packets_v9, 4);
}

static void
test_13_ipfix_padding(void **state)
{
    (void)state;
    static result r;
    decode_capture("13_ipfix_trailing_set_padding.pcap", true, &r);
    assert_int_equal(r.n, 2);
    assert_addr(r.flows[0].src_addr, "16.0.0.23");
    assert_addr(r.flows[0].dst_addr, "48.0.0.23");
    assert_int_equal(r.flows[0].src_port, 35784);
    assert_int_equal(r.flows[0].dst_port, 53);
    assert_int_equal(r.flows[0].packets, 1);
    assert_int_equal(r.flows[0].bytes, 59);
}

static void
test_14_ipfix_varlen_pen(void **state)
{
    (void)state;
    static result r;
    decode_capture("14_ipfix_ixia_varlen_pen.pcap", true, &r);
    assert_int_equal(r.n, 3);
    assert_true(r.c.enterprise_values > 0);
    assert_int_equal(errors_total(&r.c), 0);
}

static void
test_15_ipfix_varlen_long(void **state)
{
    (void)state;
    static result r;
    decode_capture("15_ipfix_netscaler_varlen_gt255.pcap", true, &r);
    assert_int_equal(r.n, 3);
    assert_addr(r.flows[0].src_addr, "192.168.0.1");
    assert_addr(r.flows[0].dst_addr, "10.0.0.1");
    assert_int_equal(r.flows[0].last_ms, 1478866159000ull); /* 2016-11-11T12:09:19.000127 */
    assert_int_equal(r.c.errors[NF_DROP_NO_TEMPLATE], 1);   /* the set without a template */
    assert_int_equal(r.c.errors[NF_DROP_SHORT_RECORD], 0);
}

static void
test_16_yaf(void **state)
{
    (void)state;
    static result r;
    decode_capture("16_ipfix_yaf_options_subtemplatelist.pcap", true, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.c.options_records, 1);
    assert_int_equal(errors_total(&r.c), 0);
}

static void
test_17_options_reassignment(void **state)
{
    (void)state;
    static result r;
    decode_capture("17_ipfix_cisco_xr_options_reassign_v6.pcap", true, &r);
    assert_int_equal(r.n, 9); /* templates keyed by (exporter address, domain), not port */
    assert_int_equal(r.c.options_records, 76);
    assert_int_equal(r.c.seq_resets, 1); /* the exporter restart */
    assert_addr(r.flows[0].exporter, "2001:db8:90::1");
}

static void
test_18_padding_octets(void **state)
{
    (void)state;
    static result r;
    decode_capture("18_ipfix_huawei_vrfname_v6.pcap", true, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.c.options_records, 1);
    assert_int_equal(errors_total(&r.c), 0);
}

static void
test_19_juniper_pen(void **state)
{
    (void)state;
    static result r;
    decode_capture("19_ipfix_juniper_cpid_pen.pcap", true, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.flows[0].in_if, 737);
}

static void
test_20_size_population_sampling(void **state)
{
    (void)state;
    static result r;
    decode_capture("20_ipfix_cisco_xr_sampling_option_v6.pcap", true, &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < r.n; i++)
        assert_int_equal(r.flows[i].sampling_rate, 256);
    assert_int_equal(r.flows[0].bytes, 72);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_01_v5_cisco),
        cmocka_unit_test(test_02_v5_sampled),
        cmocka_unit_test(test_03_v5_bad_count),
        cmocka_unit_test(test_04_v9_options_sampling),
        cmocka_unit_test(test_05_v9_per_sampler_rates),
        cmocka_unit_test(test_06_asa_nsel),
        cmocka_unit_test(test_07_data_before_template),
        cmocka_unit_test(test_08_two_source_ids),
        cmocka_unit_test(test_09_zero_length_fields),
        cmocka_unit_test(test_10_options_scope_zero),
        cmocka_unit_test(test_11_zero_filled_tail),
        cmocka_unit_test(test_12_mixed_v5_v9),
        cmocka_unit_test(test_13_ipfix_padding),
        cmocka_unit_test(test_14_ipfix_varlen_pen),
        cmocka_unit_test(test_15_ipfix_varlen_long),
        cmocka_unit_test(test_16_yaf),
        cmocka_unit_test(test_17_options_reassignment),
        cmocka_unit_test(test_18_padding_octets),
        cmocka_unit_test(test_19_juniper_pen),
        cmocka_unit_test(test_20_size_population_sampling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
