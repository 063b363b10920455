/* capture_test.c — lib/capture: the pure frame parser nf_frame_udp and the pcap reader.
 *
 * Frames are built by hand (Ethernet with 0, 1 and 2 VLAN tags, Linux cooked v1/v2, raw IP,
 * BSD loopback; IPv4 with options, fragments, padding; IPv6 with extension headers) and
 * handed to the parser as exact-size heap copies, so ASan reports any read past the
 * captured bytes. Every strict prefix of each valid frame is parsed too. The reader is
 * tested on real files written with libpcap's pcap_dump (and one pcapng file written by
 * hand) in a mkdtemp directory: datagrams, timestamps, counters by skip reason, end of file,
 * bad and missing files.
 *
 * Tests marked "Regression" reproduce library bugs that were found and fixed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/addr.h"
#include "capture/capture.h"

#define REGRESSION(...)                                    \
    do {                                                   \
        print_message("REGRESSION: " __VA_ARGS__);         \
        fail();                                            \
    } while (0)

#define SRC_PORT 40000
#define DST_PORT 2055
#define PROTO_UDP 17
#define PROTO_TCP 6
#define PROTO_ICMP 1
#define PROTO_ICMP6 58

static const char PAYLOAD[] = "0123456789abcdef"; /* 16 bytes used */
#define PLEN 16

/* ---- frame building ------------------------------------------------------------------- */

typedef struct pkt {
    uint8_t b[2048];
    size_t len;
    size_t ip_off;      /* start of the IP header */
    size_t udp_off;     /* start of the UDP header */
    size_t payload_off; /* start of the UDP payload */
} pkt;

static void
put8(pkt *k, unsigned v)
{
    k->b[k->len++] = (uint8_t)v;
}

static void
put16(pkt *k, unsigned v)
{
    put8(k, (v >> 8) & 0xff);
    put8(k, v & 0xff);
}

static void
put_bytes(pkt *k, const void *d, size_t n)
{
    memcpy(k->b + k->len, d, n);
    k->len += n;
}

static void
set16(pkt *k, size_t off, unsigned v)
{
    k->b[off] = (uint8_t)(v >> 8);
    k->b[off + 1] = (uint8_t)v;
}

/* UDP header plus plen payload bytes; the length field is 8 + plen. */
static void
udp(pkt *k, size_t plen)
{
    k->udp_off = k->len;
    put16(k, SRC_PORT);
    put16(k, DST_PORT);
    put16(k, (unsigned)(8 + plen));
    put16(k, 0);
    k->payload_off = k->len;
    for (size_t i = 0; i < plen; i++)
        put8(k, (uint8_t)PAYLOAD[i % PLEN]);
}

/* IPv4 192.0.2.1 -> 198.51.100.2 with opt_len option bytes, protocol proto, the flags and
 * fragment-offset field frag, carrying an 8-byte transport header and plen payload bytes. */
static void
ip4(pkt *k, size_t opt_len, unsigned proto, unsigned frag, size_t plen)
{
    k->ip_off = k->len;
    size_t ihl = 20 + opt_len;
    put8(k, 0x40 | (unsigned)(ihl / 4));
    put8(k, 0);
    put16(k, (unsigned)(ihl + 8 + plen));
    put16(k, 0x1234); /* id */
    put16(k, frag);
    put8(k, 64);
    put8(k, proto);
    put16(k, 0);
    static const uint8_t addrs[8] = {192, 0, 2, 1, 198, 51, 100, 2};
    put_bytes(k, addrs, 8);
    for (size_t i = 0; i < opt_len; i++)
        put8(k, 1); /* NOP options */
    udp(k, plen);
}

/* IPv6 2001:db8::1 -> 2001:db8::2. ext (ext_len bytes) are extension headers already
 * chained by the caller, first is the next-header value in the fixed header. */
static void
ip6(pkt *k, const uint8_t *ext, size_t ext_len, unsigned first, size_t plen)
{
    k->ip_off = k->len;
    put8(k, 0x60);
    put8(k, 0);
    put16(k, 0);
    put16(k, (unsigned)(ext_len + 8 + plen));
    put8(k, first);
    put8(k, 64);
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    put_bytes(k, src, 16);
    put_bytes(k, dst, 16);
    if (ext_len > 0)
        put_bytes(k, ext, ext_len);
    udp(k, plen);
}

static void
eth(pkt *k, const unsigned *tpids, size_t ntags, unsigned type)
{
    static const uint8_t macs[12] = {0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10};
    put_bytes(k, macs, 12);
    for (size_t i = 0; i < ntags; i++) {
        put16(k, tpids[i]);
        put16(k, 100 + (unsigned)i); /* VLAN id */
    }
    put16(k, type);
}

static void
sll(pkt *k, unsigned type)
{
    put16(k, 0); /* to us */
    put16(k, 1); /* ARPHRD_ETHER */
    put16(k, 6);
    static const uint8_t addr[8] = {0, 1, 2, 3, 4, 5, 0, 0};
    put_bytes(k, addr, 8);
    put16(k, type);
}

static void
sll2(pkt *k, unsigned type)
{
    put16(k, type);
    put16(k, 0);      /* reserved */
    put16(k, 0);      /* interface index, high */
    put16(k, 2);      /* interface index, low */
    put16(k, 1);      /* ARPHRD_ETHER */
    put8(k, 0);       /* packet type */
    put8(k, 6);       /* address length */
    static const uint8_t addr[8] = {0, 1, 2, 3, 4, 5, 0, 0};
    put_bytes(k, addr, 8);
}

static void
null_hdr(pkt *k, uint32_t af)
{
    put_bytes(k, &af, 4); /* host byte order, as BSD writes it */
}

/* Parses the first len bytes of k from an exact-size heap copy. On OK the payload must lie
 * inside the copy; out->payload is then rebased onto k->b for the caller's checks. */
static nf_frame_skip
parse_n(int dlt, const pkt *k, size_t len, nf_udp_datagram *out)
{
    uint8_t *copy = malloc(len);
    assert_true(copy != NULL || len == 0);
    if (len > 0)
        memcpy(copy, k->b, len);
    memset(out, 0, sizeof(*out));
    nf_frame_skip s = nf_frame_udp(dlt, copy, len, out);
    if (s == NF_FRAME_OK) {
        assert_true(out->payload >= copy);
        assert_true((size_t)(out->payload - copy) + out->len <= len);
        out->payload = k->b + (out->payload - copy);
    }
    free(copy);
    return s;
}

static nf_frame_skip
parse(int dlt, const pkt *k, nf_udp_datagram *out)
{
    return parse_n(dlt, k, k->len, out);
}

/* Checks a datagram parsed from k: ports, payload position and length, addresses. */
static void
check_datagram(const pkt *k, const nf_udp_datagram *d, size_t plen, bool v6)
{
    assert_int_equal(d->src_port, SRC_PORT);
    assert_int_equal(d->dst_port, DST_PORT);
    assert_ptr_equal(d->payload, k->b + k->payload_off);
    assert_int_equal(d->len, plen);
    assert_memory_equal(d->payload, PAYLOAD, plen < PLEN ? plen : PLEN);
    char a[NF_ADDR_STRLEN];
    assert_string_equal(nf_addr_format(d->src, a), v6 ? "2001:db8::1" : "192.0.2.1");
    assert_string_equal(nf_addr_format(d->dst, a), v6 ? "2001:db8::2" : "198.51.100.2");
}

static void
expect_ok(int dlt, const pkt *k, bool v6)
{
    nf_udp_datagram d;
    nf_frame_skip s = parse(dlt, k, &d);
    if (s != NF_FRAME_OK)
        fail_msg("frame refused: %s", nf_frame_skip_name(s));
    check_datagram(k, &d, PLEN, v6);
}

static void
expect_skip(int dlt, const pkt *k, nf_frame_skip want)
{
    nf_udp_datagram d;
    nf_frame_skip s = parse(dlt, k, &d);
    if (s != want)
        fail_msg("got %s, expected %s", nf_frame_skip_name(s), nf_frame_skip_name(want));
}

/* ---- standard frames (also used for the prefix tests) -------------------------------- */

static void
f_eth_v4(pkt *k)
{
    eth(k, NULL, 0, 0x0800);
    ip4(k, 0, PROTO_UDP, 0, PLEN);
}

static void
f_eth_v6(pkt *k)
{
    eth(k, NULL, 0, 0x86dd);
    ip6(k, NULL, 0, PROTO_UDP, PLEN);
}

static void
f_eth_vlan_v4(pkt *k)
{
    static const unsigned tags[] = {0x8100};
    eth(k, tags, 1, 0x0800);
    ip4(k, 0, PROTO_UDP, 0, PLEN);
}

static void
f_eth_qinq_v6(pkt *k)
{
    static const unsigned tags[] = {0x88a8, 0x8100};
    eth(k, tags, 2, 0x86dd);
    ip6(k, NULL, 0, PROTO_UDP, PLEN);
}

/* Hop-by-hop (8 bytes) then destination options (16 bytes) then UDP. */
static void
f_eth_v6_ext(pkt *k)
{
    static const uint8_t ext[24] = {60, 0, 1, 4, 0, 0, 0, 0, /* HBH: next DSTOPT, 8 bytes */
                                    PROTO_UDP, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    eth(k, NULL, 0, 0x86dd);
    ip6(k, ext, sizeof(ext), 0, PLEN);
}

static void
f_sll_v4(pkt *k)
{
    sll(k, 0x0800);
    ip4(k, 0, PROTO_UDP, 0, PLEN);
}

static void
f_sll2_v6(pkt *k)
{
    sll2(k, 0x86dd);
    ip6(k, NULL, 0, PROTO_UDP, PLEN);
}

static void
f_raw_v4_opts(pkt *k)
{
    ip4(k, 8, PROTO_UDP, 0, PLEN);
}

static void
f_raw_v6(pkt *k)
{
    ip6(k, NULL, 0, PROTO_UDP, PLEN);
}

static void
f_null_v4(pkt *k)
{
    null_hdr(k, 2);
    ip4(k, 0, PROTO_UDP, 0, PLEN);
}

static void
f_null_v6(pkt *k)
{
    null_hdr(k, 30);
    ip6(k, NULL, 0, PROTO_UDP, PLEN);
}

static pkt
build(void (*fn)(pkt *))
{
    pkt k;
    memset(&k, 0, sizeof(k));
    fn(&k);
    return k;
}

/* ---- link layers ---------------------------------------------------------------------- */

static void
test_en10mb_ipv4(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    expect_ok(DLT_EN10MB, &k, false);
    assert_int_equal(k.payload_off, 14 + 20 + 8);
}

static void
test_en10mb_ipv6(void **state)
{
    (void)state;
    pkt k = build(f_eth_v6);
    expect_ok(DLT_EN10MB, &k, true);
}

static void
test_en10mb_one_vlan_tag(void **state)
{
    (void)state;
    pkt k = build(f_eth_vlan_v4);
    expect_ok(DLT_EN10MB, &k, false);
    assert_int_equal(k.payload_off, 18 + 20 + 8);
}

static void
test_en10mb_qinq(void **state)
{
    (void)state;
    pkt k = build(f_eth_qinq_v6);
    expect_ok(DLT_EN10MB, &k, true);
    assert_int_equal(k.payload_off, 22 + 40 + 8);
}

static void
test_linux_sll(void **state)
{
    (void)state;
    pkt k = build(f_sll_v4);
    expect_ok(DLT_LINUX_SLL, &k, false);
    pkt k6;
    memset(&k6, 0, sizeof(k6));
    sll(&k6, 0x86dd);
    ip6(&k6, NULL, 0, PROTO_UDP, PLEN);
    expect_ok(DLT_LINUX_SLL, &k6, true);
}

static void
test_linux_sll2(void **state)
{
    (void)state;
    pkt k = build(f_sll2_v6);
    expect_ok(DLT_LINUX_SLL2, &k, true);
    pkt k4;
    memset(&k4, 0, sizeof(k4));
    sll2(&k4, 0x0800);
    ip4(&k4, 0, PROTO_UDP, 0, PLEN);
    expect_ok(DLT_LINUX_SLL2, &k4, false);
}

static void
test_raw_ipv4(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    ip4(&k, 0, PROTO_UDP, 0, PLEN);
    expect_ok(DLT_RAW, &k, false);
    expect_ok(DLT_IPV4, &k, false);
}

static void
test_raw_ipv6(void **state)
{
    (void)state;
    pkt k = build(f_raw_v6);
    expect_ok(DLT_RAW, &k, true);
    expect_ok(DLT_IPV6, &k, true);
}

static void
test_null_loopback(void **state)
{
    (void)state;
    pkt k = build(f_null_v4);
    expect_ok(DLT_NULL, &k, false);
    pkt k6 = build(f_null_v6);
    expect_ok(DLT_NULL, &k6, true);
    expect_ok(DLT_LOOP, &k, false);
}

static void
test_unsupported_dlt(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    expect_skip(DLT_IEEE802_11, &k, NF_FRAME_LINKTYPE);
    expect_skip(DLT_PPP, &k, NF_FRAME_LINKTYPE);
    expect_skip(-1, &k, NF_FRAME_LINKTYPE);
}

static void
test_non_ip_ethertype_not_udp(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0806); /* ARP */
    for (int i = 0; i < 28; i++)
        put8(&k, 0);
    expect_skip(DLT_EN10MB, &k, NF_FRAME_NOT_UDP);
}

static void
test_raw_unknown_ip_version(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    ip4(&k, 0, PROTO_UDP, 0, PLEN);
    k.b[0] = 0x55; /* version 5, a full-size packet: neither IPv4 nor IPv6 */
    nf_udp_datagram d;
    nf_frame_skip s = parse(DLT_RAW, &k, &d);
    assert_int_not_equal(s, NF_FRAME_OK);
    if (s != NF_FRAME_NOT_UDP) {
        /* Regression (found and fixed): capture.c parse_ip_by_version() maps every non-6 version to IPv4,
         * and parse_ipv4() reports the version mismatch as TRUNCATED; capture.h defines
         * NOT_UDP as "not IPv4/IPv6 or not UDP" and TRUNCATED as cut/inconsistent lengths. */
        REGRESSION("DLT_RAW frame with IP version 5 (%zu bytes): got %s, expected not_udp\n",
                    k.len, nf_frame_skip_name(s));
    }
}

/* ---- IPv4 ------------------------------------------------------------------------------- */

static void
test_ipv4_options(void **state)
{
    (void)state;
    pkt k = build(f_raw_v4_opts);
    expect_ok(DLT_RAW, &k, false);
    assert_int_equal(k.payload_off, 28 + 8);
    pkt max;
    memset(&max, 0, sizeof(max));
    eth(&max, NULL, 0, 0x0800);
    ip4(&max, 40, PROTO_UDP, 0, PLEN); /* IHL 15 */
    expect_ok(DLT_EN10MB, &max, false);
}

static void
test_ipv4_ihl_below_5_truncated(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    k.b[k.ip_off] = 0x44;
    expect_skip(DLT_EN10MB, &k, NF_FRAME_TRUNCATED);
}

static void
test_ipv4_total_length_below_header_truncated(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    set16(&k, k.ip_off + 2, 19);
    expect_skip(DLT_EN10MB, &k, NF_FRAME_TRUNCATED);
}

static void
test_ethernet_trailer_padding_not_payload(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_UDP, 0, 4); /* 14 + 20 + 8 + 4 = 46 bytes */
    while (k.len < 60)
        put8(&k, 0xee); /* minimum Ethernet frame: 14 bytes of trailer */
    nf_udp_datagram d;
    assert_int_equal(parse(DLT_EN10MB, &k, &d), NF_FRAME_OK);
    check_datagram(&k, &d, 4, false);
}

static void
test_udp_length_reaching_into_trailer_truncated(void **state)
{
    (void)state;
    /* The UDP length claims 10 bytes more than the IP packet holds; the frame has them only
     * as Ethernet trailer, which must not be taken as payload. */
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_UDP, 0, 4);
    set16(&k, k.udp_off + 4, 8 + 4 + 10);
    while (k.len < 64)
        put8(&k, 0xee);
    expect_skip(DLT_EN10MB, &k, NF_FRAME_TRUNCATED);

    pkt k6;
    memset(&k6, 0, sizeof(k6));
    eth(&k6, NULL, 0, 0x86dd);
    ip6(&k6, NULL, 0, PROTO_UDP, 4);
    set16(&k6, k6.udp_off + 4, 8 + 4 + 10);
    for (int i = 0; i < 16; i++)
        put8(&k6, 0xee);
    expect_skip(DLT_EN10MB, &k6, NF_FRAME_TRUNCATED);
}

static void
test_udp_length_shorter_than_ip_payload(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    set16(&k, k.udp_off + 4, 8 + 4); /* UDP says 4 payload bytes, IP carries 16 */
    nf_udp_datagram d;
    assert_int_equal(parse(DLT_EN10MB, &k, &d), NF_FRAME_OK);
    check_datagram(&k, &d, 4, false);
}

static void
test_udp_empty_payload(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_UDP, 0, 0);
    nf_udp_datagram d;
    assert_int_equal(parse(DLT_EN10MB, &k, &d), NF_FRAME_OK);
    assert_int_equal(d.len, 0);
    assert_int_equal(d.dst_port, DST_PORT);
}

static void
test_ipv4_more_fragments_flag(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_UDP, 0x2000, PLEN); /* MF, offset 0: the first fragment */
    expect_skip(DLT_EN10MB, &k, NF_FRAME_FRAGMENT);
}

static void
test_ipv4_fragment_offset(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_UDP, 185, PLEN); /* last fragment: MF clear, offset 1480 bytes */
    expect_skip(DLT_EN10MB, &k, NF_FRAME_FRAGMENT);
    memset(&k, 0, sizeof(k));
    ip4(&k, 0, PROTO_TCP, 0x2000 | 1, PLEN); /* a fragment of anything is a fragment */
    expect_skip(DLT_RAW, &k, NF_FRAME_FRAGMENT);
}

static void
test_ipv4_dont_fragment_is_not_a_fragment(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_UDP, 0x4000, PLEN); /* DF only */
    expect_ok(DLT_EN10MB, &k, false);
}

static void
test_ipv4_non_udp(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_TCP, 0, PLEN);
    expect_skip(DLT_EN10MB, &k, NF_FRAME_NOT_UDP);
    memset(&k, 0, sizeof(k));
    ip4(&k, 0, PROTO_ICMP, 0, PLEN);
    expect_skip(DLT_RAW, &k, NF_FRAME_NOT_UDP);
}

/* ---- IPv6 ------------------------------------------------------------------------------- */

static void
test_ipv6_hop_by_hop_and_destination_options(void **state)
{
    (void)state;
    pkt k = build(f_eth_v6_ext);
    expect_ok(DLT_EN10MB, &k, true);
    assert_int_equal(k.payload_off, 14 + 40 + 24 + 8);
}

static void
test_ipv6_routing_header(void **state)
{
    (void)state;
    static const uint8_t ext[8] = {PROTO_UDP, 0, 0, 0, 0, 0, 0, 0};
    pkt k;
    memset(&k, 0, sizeof(k));
    ip6(&k, ext, sizeof(ext), 43, PLEN);
    expect_ok(DLT_RAW, &k, true);
}

static void
test_ipv6_fragment_header(void **state)
{
    (void)state;
    static const uint8_t frag[8] = {PROTO_UDP, 0, 0, 1, 0, 0, 0, 42}; /* M=1 */
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x86dd);
    ip6(&k, frag, sizeof(frag), 44, PLEN);
    expect_skip(DLT_EN10MB, &k, NF_FRAME_FRAGMENT);
    static const uint8_t hbh_frag[16] = {44, 0, 1, 4, 0, 0, 0, 0, PROTO_UDP, 0, 0, 1, 0, 0, 0, 42};
    memset(&k, 0, sizeof(k));
    ip6(&k, hbh_frag, sizeof(hbh_frag), 0, PLEN);
    expect_skip(DLT_RAW, &k, NF_FRAME_FRAGMENT);
}

static void
test_ipv6_extension_header_beyond_payload_truncated(void **state)
{
    (void)state;
    /* Hop-by-hop claims 24 bytes; the IPv6 payload (8 + 8 UDP header) holds only 16. */
    static const uint8_t ext[8] = {PROTO_UDP, 2, 0, 0, 0, 0, 0, 0};
    pkt k;
    memset(&k, 0, sizeof(k));
    ip6(&k, ext, sizeof(ext), 0, 0);
    expect_skip(DLT_RAW, &k, NF_FRAME_TRUNCATED);
}

static void
test_ipv6_non_udp(void **state)
{
    (void)state;
    pkt k;
    memset(&k, 0, sizeof(k));
    ip6(&k, NULL, 0, PROTO_TCP, PLEN);
    expect_skip(DLT_RAW, &k, NF_FRAME_NOT_UDP);
    memset(&k, 0, sizeof(k));
    ip6(&k, NULL, 0, PROTO_ICMP6, PLEN);
    expect_skip(DLT_RAW, &k, NF_FRAME_NOT_UDP);
    static const uint8_t ext[8] = {PROTO_TCP, 0, 0, 0, 0, 0, 0, 0};
    memset(&k, 0, sizeof(k));
    ip6(&k, ext, sizeof(ext), 60, PLEN); /* TCP behind destination options */
    expect_skip(DLT_RAW, &k, NF_FRAME_NOT_UDP);
}

/* ---- lengths -------------------------------------------------------------------------- */

static void
test_udp_length_below_8_truncated(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    set16(&k, k.udp_off + 4, 7);
    expect_skip(DLT_EN10MB, &k, NF_FRAME_TRUNCATED);
    set16(&k, k.udp_off + 4, 0);
    expect_skip(DLT_EN10MB, &k, NF_FRAME_TRUNCATED);
    pkt k6 = build(f_raw_v6);
    set16(&k6, k6.udp_off + 4, 4);
    expect_skip(DLT_RAW, &k6, NF_FRAME_TRUNCATED);
}

static void
test_udp_length_beyond_capture_truncated(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    set16(&k, k.ip_off + 2, 20 + 8 + 100);
    set16(&k, k.udp_off + 4, 8 + 100); /* IP and UDP agree on 100 bytes; 16 captured */
    expect_skip(DLT_EN10MB, &k, NF_FRAME_TRUNCATED);
    pkt k2 = build(f_eth_v4);
    set16(&k2, k2.udp_off + 4, 8 + 17); /* UDP claims one byte more than IP carries */
    expect_skip(DLT_EN10MB, &k2, NF_FRAME_TRUNCATED);
    pkt k6 = build(f_raw_v6);
    set16(&k6, k6.udp_off + 4, 8 + 17);
    expect_skip(DLT_RAW, &k6, NF_FRAME_TRUNCATED);
}

/* Every strict prefix of a frame without trailer must be refused (its datagram is cut),
 * without reading past the prefix (ASan on the exact-size copy). */
static void
check_all_prefixes(const char *name, int dlt, void (*fn)(pkt *))
{
    pkt k = build(fn);
    nf_udp_datagram d;
    assert_int_equal(parse(dlt, &k, &d), NF_FRAME_OK);
    for (size_t n = 0; n < k.len; n++) {
        nf_frame_skip s = parse_n(dlt, &k, n, &d);
        if (s == NF_FRAME_OK)
            fail_msg("%s: prefix of %zu/%zu bytes returned OK (len %zu)", name, n, k.len,
                     d.len);
    }
}

static void
test_strict_prefixes_refused(void **state)
{
    (void)state;
    check_all_prefixes("eth v4", DLT_EN10MB, f_eth_v4);
    check_all_prefixes("eth v6", DLT_EN10MB, f_eth_v6);
    check_all_prefixes("eth vlan v4", DLT_EN10MB, f_eth_vlan_v4);
    check_all_prefixes("eth qinq v6", DLT_EN10MB, f_eth_qinq_v6);
    check_all_prefixes("eth v6 ext", DLT_EN10MB, f_eth_v6_ext);
    check_all_prefixes("sll v4", DLT_LINUX_SLL, f_sll_v4);
    check_all_prefixes("sll2 v6", DLT_LINUX_SLL2, f_sll2_v6);
    check_all_prefixes("raw v4 opts", DLT_RAW, f_raw_v4_opts);
    check_all_prefixes("raw v6", DLT_RAW, f_raw_v6);
    check_all_prefixes("null v4", DLT_NULL, f_null_v4);
    check_all_prefixes("null v6", DLT_NULL, f_null_v6);
}

static void
test_strict_prefixes_of_padded_frame(void **state)
{
    (void)state;
    /* With a trailer, prefixes that still hold the whole IP packet are complete datagrams;
     * shorter ones are refused. parse_n checks the payload stays inside the prefix. */
    pkt k;
    memset(&k, 0, sizeof(k));
    eth(&k, NULL, 0, 0x0800);
    ip4(&k, 0, PROTO_UDP, 0, 4);
    size_t ip_end = k.len;
    while (k.len < 60)
        put8(&k, 0);
    for (size_t n = 0; n < k.len; n++) {
        nf_udp_datagram d;
        nf_frame_skip s = parse_n(DLT_EN10MB, &k, n, &d);
        if (n < ip_end) {
            assert_int_not_equal(s, NF_FRAME_OK);
        } else {
            assert_int_equal(s, NF_FRAME_OK);
            assert_int_equal(d.len, 4);
        }
    }
}

static void
test_skip_names(void **state)
{
    (void)state;
    assert_string_equal(nf_frame_skip_name(NF_FRAME_OK), "ok");
    assert_string_equal(nf_frame_skip_name(NF_FRAME_NOT_UDP), "not_udp");
    assert_string_equal(nf_frame_skip_name(NF_FRAME_FRAGMENT), "fragment");
    assert_string_equal(nf_frame_skip_name(NF_FRAME_TRUNCATED), "truncated");
    assert_string_equal(nf_frame_skip_name(NF_FRAME_LINKTYPE), "link_type");
    assert_string_equal(nf_frame_skip_name(NF_FRAME_SKIP_COUNT), "unknown");
    assert_string_equal(nf_frame_skip_name((nf_frame_skip)-1), "unknown");
}

/* ---- pcap files --------------------------------------------------------------------------- */

typedef struct rec {
    const pkt *k;
    uint32_t caplen; /* 0 = whole frame */
    long sec, usec;  /* usec is nanoseconds for nanosecond files */
} rec;

typedef struct tmpdir {
    char dir[64];
    char path[128];
} tmpdir;

static void
tmp_make(tmpdir *t, const char *file)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/capture_test.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, file);
}

static void
tmp_remove(tmpdir *t)
{
    unlink(t->path);
    assert_int_equal(rmdir(t->dir), 0);
}

static void
write_pcap_prec(const char *path, int dlt, unsigned prec, const rec *r, size_t n)
{
    pcap_t *p = pcap_open_dead_with_tstamp_precision(dlt, 65535, prec);
    assert_non_null(p);
    pcap_dumper_t *dump = pcap_dump_open(p, path);
    assert_non_null(dump);
    for (size_t i = 0; i < n; i++) {
        struct pcap_pkthdr h;
        memset(&h, 0, sizeof(h));
        h.ts.tv_sec = r[i].sec;
        h.ts.tv_usec = r[i].usec;
        h.len = (uint32_t)r[i].k->len;
        h.caplen = r[i].caplen ? r[i].caplen : h.len;
        pcap_dump((u_char *)dump, &h, r[i].k->b);
    }
    pcap_dump_close(dump);
    pcap_close(p);
}

static void
write_pcap(const char *path, int dlt, const rec *r, size_t n)
{
    write_pcap_prec(path, dlt, PCAP_TSTAMP_PRECISION_MICRO, r, n);
}

static nf_pcap_reader *
open_ok(const char *path)
{
    nf_pcap_reader *r = NULL;
    nf_err e = {0};
    if (nf_pcap_open(path, &r, &e) != NF_OK)
        fail_msg("nf_pcap_open(%s): %s", path, e.msg);
    assert_non_null(r);
    return r;
}

static void
test_pcap_mixed_file_datagrams_and_counts(void **state)
{
    (void)state;
    pkt v4 = build(f_eth_v4);
    pkt v6 = build(f_eth_qinq_v6);
    pkt tcp, frag, arp;
    memset(&tcp, 0, sizeof(tcp));
    eth(&tcp, NULL, 0, 0x0800);
    ip4(&tcp, 0, PROTO_TCP, 0, PLEN);
    memset(&frag, 0, sizeof(frag));
    eth(&frag, NULL, 0, 0x0800);
    ip4(&frag, 0, PROTO_UDP, 0x2000, PLEN);
    memset(&arp, 0, sizeof(arp));
    eth(&arp, NULL, 0, 0x0806);
    for (int i = 0; i < 28; i++)
        put8(&arp, 0);
    const rec recs[] = {
        {&v4, 0, 1700000000, 123456},
        {&tcp, 0, 1700000000, 200000},
        {&frag, 0, 1700000000, 300000},
        {&v4, 50, 1700000000, 400000}, /* snaplen cut the payload */
        {&v6, 0, 1700000001, 999999},
        {&arp, 0, 1700000002, 0},
    };
    tmpdir t;
    tmp_make(&t, "mixed.pcap");
    write_pcap(t.path, DLT_EN10MB, recs, sizeof(recs) / sizeof(recs[0]));

    nf_pcap_reader *r = open_ok(t.path);
    const nf_pcap_stats *st = nf_pcap_stats_get(r);
    assert_int_equal(st->frames, 0);
    nf_udp_datagram d;
    nf_err e = {0};
    assert_int_equal(nf_pcap_next(r, &d, &e), NF_OK);
    assert_int_equal(d.ts_ms, 1700000000123ULL);
    assert_int_equal(d.len, PLEN);
    assert_memory_equal(d.payload, PAYLOAD, PLEN);
    assert_int_equal(d.dst_port, DST_PORT);
    assert_int_equal(nf_pcap_next(r, &d, &e), NF_OK);
    assert_int_equal(d.ts_ms, 1700000001999ULL);
    char a[NF_ADDR_STRLEN];
    assert_string_equal(nf_addr_format(d.src, a), "2001:db8::1");
    assert_int_equal(nf_pcap_next(r, &d, &e), NF_ENOTFOUND);

    st = nf_pcap_stats_get(r);
    assert_int_equal(st->frames, 6);
    assert_int_equal(st->datagrams, 2);
    assert_int_equal(st->skipped[NF_FRAME_OK], 0);
    assert_int_equal(st->skipped[NF_FRAME_NOT_UDP], 2);
    assert_int_equal(st->skipped[NF_FRAME_FRAGMENT], 1);
    assert_int_equal(st->skipped[NF_FRAME_TRUNCATED], 1);
    assert_int_equal(st->skipped[NF_FRAME_LINKTYPE], 0);
    nf_pcap_close(r);
    tmp_remove(&t);
}

static void
test_pcap_end_of_file_repeats(void **state)
{
    (void)state;
    pkt v4 = build(f_eth_v4);
    const rec recs[] = {{&v4, 0, 1, 0}};
    tmpdir t;
    tmp_make(&t, "one.pcap");
    write_pcap(t.path, DLT_EN10MB, recs, 1);
    nf_pcap_reader *r = open_ok(t.path);
    nf_udp_datagram d;
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_OK);
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_ENOTFOUND);
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_ENOTFOUND);
    assert_int_equal(nf_pcap_stats_get(r)->frames, 1);
    nf_pcap_close(r);
    tmp_remove(&t);
}

static void
test_pcap_empty_capture(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "empty.pcap");
    write_pcap(t.path, DLT_EN10MB, NULL, 0);
    nf_pcap_reader *r = open_ok(t.path);
    nf_udp_datagram d;
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_ENOTFOUND);
    assert_int_equal(nf_pcap_stats_get(r)->frames, 0);
    nf_pcap_close(r);
    tmp_remove(&t);
}

/* One datagram read back from a one-frame file of link type dlt. */
static void
check_single_frame_file(int dlt, void (*fn)(pkt *), bool v6)
{
    pkt k = build(fn);
    const rec recs[] = {{&k, 0, 1600000000, 5000}};
    tmpdir t;
    tmp_make(&t, "single.pcap");
    write_pcap(t.path, dlt, recs, 1);
    nf_pcap_reader *r = open_ok(t.path);
    nf_udp_datagram d;
    nf_err e = {0};
    nf_status s = nf_pcap_next(r, &d, &e);
    if (s != NF_OK)
        fail_msg("dlt %d: %s, skipped truncated=%llu link=%llu", dlt, nf_status_name(s),
                 (unsigned long long)nf_pcap_stats_get(r)->skipped[NF_FRAME_TRUNCATED],
                 (unsigned long long)nf_pcap_stats_get(r)->skipped[NF_FRAME_LINKTYPE]);
    assert_int_equal(d.ts_ms, 1600000000005ULL);
    assert_int_equal(d.len, PLEN);
    assert_memory_equal(d.payload, PAYLOAD, PLEN);
    char a[NF_ADDR_STRLEN];
    assert_string_equal(nf_addr_format(d.dst, a), v6 ? "2001:db8::2" : "198.51.100.2");
    nf_pcap_close(r);
    tmp_remove(&t);
}

static void
test_pcap_linux_sll_file(void **state)
{
    (void)state;
    check_single_frame_file(DLT_LINUX_SLL, f_sll_v4, false);
}

static void
test_pcap_linux_sll2_file(void **state)
{
    (void)state;
    check_single_frame_file(DLT_LINUX_SLL2, f_sll2_v6, true);
}

static void
test_pcap_raw_file(void **state)
{
    (void)state;
    check_single_frame_file(DLT_RAW, f_raw_v4_opts, false);
}

static void
test_pcap_null_file(void **state)
{
    (void)state;
    check_single_frame_file(DLT_NULL, f_null_v6, true);
}

static void
test_pcap_unsupported_linktype_counted(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    const rec recs[] = {{&k, 0, 1, 0}, {&k, 0, 2, 0}};
    tmpdir t;
    tmp_make(&t, "wifi.pcap");
    write_pcap(t.path, DLT_IEEE802_11, recs, 2);
    nf_pcap_reader *r = open_ok(t.path);
    nf_udp_datagram d;
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_ENOTFOUND);
    const nf_pcap_stats *st = nf_pcap_stats_get(r);
    assert_int_equal(st->frames, 2);
    assert_int_equal(st->datagrams, 0);
    assert_int_equal(st->skipped[NF_FRAME_LINKTYPE], 2);
    nf_pcap_close(r);
    tmp_remove(&t);
}

static void
test_pcap_nanosecond_timestamps(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    const rec recs[] = {{&k, 0, 1700000000, 123456789}};
    tmpdir t;
    tmp_make(&t, "nano.pcap");
    write_pcap_prec(t.path, DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, recs, 1);
    nf_pcap_reader *r = open_ok(t.path);
    nf_udp_datagram d;
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_OK);
    assert_int_equal(d.ts_ms, 1700000000123ULL);
    nf_pcap_close(r);
    tmp_remove(&t);
}

static void
put_le32(FILE *f, uint32_t v)
{
    assert_int_equal(fwrite(&v, 4, 1, f), 1); /* host order; the byte-order magic says so */
}

static void
put_le16(FILE *f, uint16_t v)
{
    assert_int_equal(fwrite(&v, 2, 1, f), 1);
}

static void
test_pcapng_file(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    tmpdir t;
    tmp_make(&t, "one.pcapng");
    FILE *f = fopen(t.path, "wb");
    assert_non_null(f);
    /* Section header block. */
    put_le32(f, 0x0A0D0D0A);
    put_le32(f, 28);
    put_le32(f, 0x1A2B3C4D);
    put_le16(f, 1);
    put_le16(f, 0);
    put_le32(f, 0xffffffff);
    put_le32(f, 0xffffffff);
    put_le32(f, 28);
    /* Interface description block: Ethernet, default microsecond resolution. */
    put_le32(f, 1);
    put_le32(f, 20);
    put_le16(f, 1);
    put_le16(f, 0);
    put_le32(f, 65535);
    put_le32(f, 20);
    /* Enhanced packet block. */
    size_t padded = (k.len + 3) & ~(size_t)3;
    uint64_t ts = 1700000000ULL * 1000000ULL + 654321ULL;
    put_le32(f, 6);
    put_le32(f, (uint32_t)(32 + padded));
    put_le32(f, 0);
    put_le32(f, (uint32_t)(ts >> 32));
    put_le32(f, (uint32_t)ts);
    put_le32(f, (uint32_t)k.len);
    put_le32(f, (uint32_t)k.len);
    static const uint8_t zero[4];
    assert_int_equal(fwrite(k.b, 1, k.len, f), k.len);
    assert_int_equal(fwrite(zero, 1, padded - k.len, f), padded - k.len);
    put_le32(f, (uint32_t)(32 + padded));
    fclose(f);

    nf_pcap_reader *r = open_ok(t.path);
    nf_udp_datagram d;
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_OK);
    assert_int_equal(d.ts_ms, 1700000000654ULL);
    assert_int_equal(d.len, PLEN);
    assert_int_equal(nf_pcap_next(r, &d, NULL), NF_ENOTFOUND);
    nf_pcap_close(r);
    tmp_remove(&t);
}

static void
test_pcap_truncated_file_is_read_error(void **state)
{
    (void)state;
    pkt k = build(f_eth_v4);
    const rec recs[] = {{&k, 0, 1, 0}, {&k, 0, 2, 0}};
    tmpdir t;
    tmp_make(&t, "cut.pcap");
    write_pcap(t.path, DLT_EN10MB, recs, 2);
    assert_int_equal(truncate(t.path, (off_t)(24 + 2 * 16 + 2 * k.len - 10)), 0);
    nf_pcap_reader *r = open_ok(t.path);
    nf_udp_datagram d;
    nf_err e = {0};
    assert_int_equal(nf_pcap_next(r, &d, &e), NF_OK);
    assert_int_equal(nf_pcap_next(r, &d, &e), NF_EIO);
    assert_int_equal(e.code, NF_EIO);
    assert_non_null(strstr(e.msg, "pcap: read error"));
    nf_pcap_close(r);
    tmp_remove(&t);
}

static void
test_pcap_open_missing_file(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "absent.pcap");
    static char sentinel;
    nf_pcap_reader *r = (nf_pcap_reader *)&sentinel; /* must stay untouched */
    nf_err e = {0};
    assert_int_equal(nf_pcap_open(t.path, &r, &e), NF_EIO);
    assert_ptr_equal(r, (nf_pcap_reader *)&sentinel);
    assert_int_equal(e.code, NF_EIO);
    assert_non_null(strstr(e.msg, t.path));
    tmp_remove(&t);
}

static void
test_pcap_open_missing_file_records_errno(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "absent.pcap");
    nf_pcap_reader *r = NULL;
    nf_err e = {0};
    assert_int_equal(nf_pcap_open(t.path, &r, &e), NF_EIO);
    tmp_remove(&t);
    if (e.sys_errno != ENOENT) {
        /* Regression (found and fixed): nf_status.h defines NF_EIO as an operating-system I/O error with
         * "errno in sys_errno"; capture.c nf_pcap_open uses nf_err_set (sys_errno = 0). */
        REGRESSION("nf_pcap_open(missing file): sys_errno %d, expected ENOENT (%d); msg "
                    "\"%s\"\n", e.sys_errno, ENOENT, e.msg);
    }
}

static void
test_pcap_open_not_a_pcap(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "notes.txt");
    FILE *f = fopen(t.path, "w");
    assert_non_null(f);
    fputs("this is not a capture file, just some text that is long enough\n", f);
    fclose(f);
    nf_pcap_reader *r = NULL;
    nf_err e = {0};
    assert_int_not_equal(nf_pcap_open(t.path, &r, &e), NF_OK);
    assert_null(r);
    assert_int_equal(e.code, NF_EIO);
    assert_non_null(strstr(e.msg, t.path));
    tmp_remove(&t);
}

static void
test_pcap_open_empty_file(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "zero.pcap");
    FILE *f = fopen(t.path, "w");
    assert_non_null(f);
    fclose(f);
    nf_pcap_reader *r = NULL;
    nf_err e = {0};
    assert_int_not_equal(nf_pcap_open(t.path, &r, &e), NF_OK);
    assert_null(r);
    tmp_remove(&t);
}

static void
test_pcap_close_null(void **state)
{
    (void)state;
    nf_pcap_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_en10mb_ipv4),
        cmocka_unit_test(test_en10mb_ipv6),
        cmocka_unit_test(test_en10mb_one_vlan_tag),
        cmocka_unit_test(test_en10mb_qinq),
        cmocka_unit_test(test_linux_sll),
        cmocka_unit_test(test_linux_sll2),
        cmocka_unit_test(test_raw_ipv4),
        cmocka_unit_test(test_raw_ipv6),
        cmocka_unit_test(test_null_loopback),
        cmocka_unit_test(test_unsupported_dlt),
        cmocka_unit_test(test_non_ip_ethertype_not_udp),
        cmocka_unit_test(test_raw_unknown_ip_version),
        cmocka_unit_test(test_ipv4_options),
        cmocka_unit_test(test_ipv4_ihl_below_5_truncated),
        cmocka_unit_test(test_ipv4_total_length_below_header_truncated),
        cmocka_unit_test(test_ethernet_trailer_padding_not_payload),
        cmocka_unit_test(test_udp_length_reaching_into_trailer_truncated),
        cmocka_unit_test(test_udp_length_shorter_than_ip_payload),
        cmocka_unit_test(test_udp_empty_payload),
        cmocka_unit_test(test_ipv4_more_fragments_flag),
        cmocka_unit_test(test_ipv4_fragment_offset),
        cmocka_unit_test(test_ipv4_dont_fragment_is_not_a_fragment),
        cmocka_unit_test(test_ipv4_non_udp),
        cmocka_unit_test(test_ipv6_hop_by_hop_and_destination_options),
        cmocka_unit_test(test_ipv6_routing_header),
        cmocka_unit_test(test_ipv6_fragment_header),
        cmocka_unit_test(test_ipv6_extension_header_beyond_payload_truncated),
        cmocka_unit_test(test_ipv6_non_udp),
        cmocka_unit_test(test_udp_length_below_8_truncated),
        cmocka_unit_test(test_udp_length_beyond_capture_truncated),
        cmocka_unit_test(test_strict_prefixes_refused),
        cmocka_unit_test(test_strict_prefixes_of_padded_frame),
        cmocka_unit_test(test_skip_names),
        cmocka_unit_test(test_pcap_mixed_file_datagrams_and_counts),
        cmocka_unit_test(test_pcap_end_of_file_repeats),
        cmocka_unit_test(test_pcap_empty_capture),
        cmocka_unit_test(test_pcap_linux_sll_file),
        cmocka_unit_test(test_pcap_linux_sll2_file),
        cmocka_unit_test(test_pcap_raw_file),
        cmocka_unit_test(test_pcap_null_file),
        cmocka_unit_test(test_pcap_unsupported_linktype_counted),
        cmocka_unit_test(test_pcap_nanosecond_timestamps),
        cmocka_unit_test(test_pcapng_file),
        cmocka_unit_test(test_pcap_truncated_file_is_read_error),
        cmocka_unit_test(test_pcap_open_missing_file),
        cmocka_unit_test(test_pcap_open_missing_file_records_errno),
        cmocka_unit_test(test_pcap_open_not_a_pcap),
        cmocka_unit_test(test_pcap_open_empty_file),
        cmocka_unit_test(test_pcap_close_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
