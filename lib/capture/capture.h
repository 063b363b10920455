/* capture.h — UDP datagrams out of pcap files, for flowdump, tests and benchmarks.
 *
 * Two layers: nf_frame_udp() is pure and parses one captured frame (link layer, IPv4 or
 * IPv6, UDP) into an nf_udp_datagram that points into the frame; nf_pcap_* wraps libpcap's
 * offline reader around it and counts what it skips. IP fragments are not reassembled
 * (NetFlow exporters keep datagrams under the MTU): they are counted and skipped.
 *
 * Link types: Ethernet (with 802.1Q/802.1ad tags), Linux cooked v1 and v2, raw IP, BSD
 * loopback (DLT_NULL/DLT_LOOP).
 *
 * Not thread-safe; one reader per thread.
 */
#ifndef NFX_LIB_CAPTURE_CAPTURE_H
#define NFX_LIB_CAPTURE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"

typedef struct nf_udp_datagram {
    const uint8_t *payload; /* UDP payload, borrowed from the frame */
    size_t len;             /* payload bytes actually captured */
    uint8_t src[16];        /* source address, IPv4-mapped for IPv4 */
    uint8_t dst[16];        /* destination address */
    uint16_t src_port;
    uint16_t dst_port;
    uint64_t ts_ms;         /* capture timestamp, epoch ms */
} nf_udp_datagram;

/* Why a frame yielded no datagram. */
typedef enum nf_frame_skip {
    NF_FRAME_OK = 0,
    NF_FRAME_NOT_UDP,     /* not IPv4/IPv6 or not UDP */
    NF_FRAME_FRAGMENT,    /* an IP fragment */
    NF_FRAME_TRUNCATED,   /* headers cut short by the capture or inconsistent lengths */
    NF_FRAME_LINKTYPE,    /* link type not supported */
    NF_FRAME_SKIP_COUNT
} nf_frame_skip;

/* Parses one frame of link type dlt (a DLT_* value). On NF_FRAME_OK, out points into frame;
 * on any other result *out is unspecified. Only len bytes of frame are read. */
nf_frame_skip nf_frame_udp(int dlt, const uint8_t *frame, size_t len, nf_udp_datagram *out);

typedef struct nf_pcap_reader nf_pcap_reader;

typedef struct nf_pcap_stats {
    uint64_t frames;                        /* frames read */
    uint64_t datagrams;                     /* UDP datagrams returned */
    uint64_t skipped[NF_FRAME_SKIP_COUNT];  /* frames skipped, by reason */
} nf_pcap_stats;

/* Opens a pcap (or pcapng) file. Free with nf_pcap_close. */
nf_status nf_pcap_open(const char *path, nf_pcap_reader **out, nf_err *err);

/* Next UDP datagram. Returns NF_OK, NF_ENOTFOUND at end of file, NF_EIO on a read error.
 * out points into the reader's buffer, valid until the next call. */
nf_status nf_pcap_next(nf_pcap_reader *r, nf_udp_datagram *out, nf_err *err);

const nf_pcap_stats *nf_pcap_stats_get(const nf_pcap_reader *r);

/* Short name of a skip reason ("fragment"). */
const char *nf_frame_skip_name(nf_frame_skip s);

/* NULL-safe. */
void nf_pcap_close(nf_pcap_reader *r);

#endif
