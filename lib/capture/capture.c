/* capture.c — frame parsing and the libpcap offline reader. See capture.h. */
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_UDP_NUM 17

struct nf_pcap_reader {
    pcap_t *pcap;
    int dlt;
    nf_pcap_stats stats;
};

static uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static nf_frame_skip
parse_udp(const uint8_t *p, size_t len, nf_udp_datagram *out)
{
    if (len < 8)
        return NF_FRAME_TRUNCATED;
    uint16_t udp_len = be16(p + 4);
    if (udp_len < 8)
        return NF_FRAME_TRUNCATED;
    out->src_port = be16(p);
    out->dst_port = be16(p + 2);
    out->payload = p + 8;
    size_t want = (size_t)udp_len - 8;
    out->len = want <= len - 8 ? want : len - 8; /* snaplen may cut the payload */
    return out->len == want ? NF_FRAME_OK : NF_FRAME_TRUNCATED;
}

static nf_frame_skip
parse_ipv4(const uint8_t *p, size_t len, nf_udp_datagram *out)
{
    if (len < 20 || (p[0] >> 4) != 4)
        return NF_FRAME_TRUNCATED;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = be16(p + 2);
    if (ihl < 20 || total < ihl || len < ihl)
        return NF_FRAME_TRUNCATED;
    if (total < len)
        len = total; /* Ethernet trailer padding is not payload */
    if ((be16(p + 6) & 0x3fff) != 0) /* MF flag or a fragment offset */
        return NF_FRAME_FRAGMENT;
    if (p[9] != IPPROTO_UDP_NUM)
        return NF_FRAME_NOT_UDP;
    nf_addr_from_v4(out->src, p + 12);
    nf_addr_from_v4(out->dst, p + 16);
    return parse_udp(p + ihl, len - ihl, out);
}

static nf_frame_skip
parse_ipv6(const uint8_t *p, size_t len, nf_udp_datagram *out)
{
    if (len < 40 || (p[0] >> 4) != 6)
        return NF_FRAME_TRUNCATED;
    size_t payload = be16(p + 4);
    if (40 + payload < len)
        len = 40 + payload;
    memcpy(out->src, p + 8, 16);
    memcpy(out->dst, p + 24, 16);
    uint8_t next = p[6];
    size_t off = 40;
    /* Skip hop-by-hop (0), routing (43) and destination options (60) headers. */
    for (int hops = 0; hops < 8; hops++) {
        if (next == IPPROTO_UDP_NUM)
            return parse_udp(p + off, len - off, out);
        if (next == 44)
            return NF_FRAME_FRAGMENT;
        if (next != 0 && next != 43 && next != 60)
            return NF_FRAME_NOT_UDP;
        if (len - off < 8)
            return NF_FRAME_TRUNCATED;
        size_t ext = ((size_t)p[off + 1] + 1) * 8;
        if (len - off < ext)
            return NF_FRAME_TRUNCATED;
        next = p[off];
        off += ext;
    }
    return NF_FRAME_NOT_UDP;
}

static nf_frame_skip
parse_l3(uint16_t ethertype, const uint8_t *p, size_t len, nf_udp_datagram *out)
{
    if (ethertype == ETHERTYPE_IPV4)
        return parse_ipv4(p, len, out);
    if (ethertype == ETHERTYPE_IPV6)
        return parse_ipv6(p, len, out);
    return NF_FRAME_NOT_UDP;
}

static nf_frame_skip
parse_ip_by_version(const uint8_t *p, size_t len, nf_udp_datagram *out)
{
    if (len < 1)
        return NF_FRAME_TRUNCATED;
    switch (p[0] >> 4) {
    case 4:
        return parse_l3(ETHERTYPE_IPV4, p, len, out);
    case 6:
        return parse_l3(ETHERTYPE_IPV6, p, len, out);
    default:
        return NF_FRAME_NOT_UDP;
    }
}

nf_frame_skip
nf_frame_udp(int dlt, const uint8_t *frame, size_t len, nf_udp_datagram *out)
{
    switch (dlt) {
    case DLT_EN10MB: {
        if (len < 14)
            return NF_FRAME_TRUNCATED;
        size_t off = 12;
        uint16_t type = be16(frame + off);
        while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) {
            off += 4;
            if (len < off + 2)
                return NF_FRAME_TRUNCATED;
            type = be16(frame + off);
        }
        off += 2;
        return parse_l3(type, frame + off, len - off, out);
    }
    case DLT_LINUX_SLL:
        if (len < 16)
            return NF_FRAME_TRUNCATED;
        return parse_l3(be16(frame + 14), frame + 16, len - 16, out);
    case DLT_LINUX_SLL2:
        if (len < 20)
            return NF_FRAME_TRUNCATED;
        return parse_l3(be16(frame), frame + 20, len - 20, out);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return parse_ip_by_version(frame, len, out);
    case DLT_NULL:
    case DLT_LOOP:
        if (len < 4)
            return NF_FRAME_TRUNCATED;
        return parse_ip_by_version(frame + 4, len - 4, out);
    default:
        return NF_FRAME_LINKTYPE;
    }
}

const char *
nf_frame_skip_name(nf_frame_skip s)
{
    static const char *const names[NF_FRAME_SKIP_COUNT] = {
        [NF_FRAME_OK] = "ok",
        [NF_FRAME_NOT_UDP] = "not_udp",
        [NF_FRAME_FRAGMENT] = "fragment",
        [NF_FRAME_TRUNCATED] = "truncated",
        [NF_FRAME_LINKTYPE] = "link_type",
    };
    return (unsigned)s < NF_FRAME_SKIP_COUNT ? names[s] : "unknown";
}

nf_status
nf_pcap_open(const char *path, nf_pcap_reader **out, nf_err *err)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    nf_pcap_reader *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return nf_err_set(err, NF_ENOMEM, "pcap: out of memory");
    errno = 0;
    r->pcap = pcap_open_offline(path, errbuf);
    if (r->pcap == NULL) {
        int e = errno;
        free(r);
        nf_err_set(err, NF_EIO, "pcap: cannot open %s: %s", path, errbuf);
        if (err != NULL)
            err->sys_errno = e; /* libpcap's text already says it; keep the code too */
        return NF_EIO;
    }
    r->dlt = pcap_datalink(r->pcap);
    *out = r;
    return NF_OK;
}

nf_status
nf_pcap_next(nf_pcap_reader *r, nf_udp_datagram *out, nf_err *err)
{
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc = pcap_next_ex(r->pcap, &h, &data);
        if (rc == PCAP_ERROR_BREAK)
            return NF_ENOTFOUND;
        if (rc != 1)
            return nf_err_set(err, NF_EIO, "pcap: read error: %s", pcap_geterr(r->pcap));
        r->stats.frames++;
        nf_frame_skip s = nf_frame_udp(r->dlt, data, h->caplen, out);
        if (s != NF_FRAME_OK) {
            r->stats.skipped[s]++;
            continue;
        }
        out->ts_ms = (uint64_t)h->ts.tv_sec * 1000u + (uint64_t)h->ts.tv_usec / 1000u;
        r->stats.datagrams++;
        return NF_OK;
    }
}

const nf_pcap_stats *
nf_pcap_stats_get(const nf_pcap_reader *r)
{
    return &r->stats;
}

void
nf_pcap_close(nf_pcap_reader *r)
{
    if (r == NULL)
        return;
    pcap_close(r->pcap);
    free(r);
}
