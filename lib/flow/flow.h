/* flow.h — the flow record: what the decoder produces, the ring stores and the RPC sends.
 *
 * One plain struct, filled field by field by the decoder (never memcpy'd from the wire).
 * Addresses are 16 bytes with IPv4 as IPv4-mapped IPv6 (see base/addr.h); ip_version says
 * which family src/dst are. Counters are as exported: NOT multiplied by the sampling rate;
 * consumers scale at query time (multiply by sampling_rate), as akvorado does, so the raw
 * numbers stay auditable against the exporter.
 *
 * Times: first_ms/last_ms are epoch milliseconds on the exporter's clock (converted from
 * sysUptime-relative or NTP forms by the decoder); received_ms is epoch ms on the collector's
 * clock when the datagram was read. A flow that carries no time of its own gets the export
 * packet's time in first_ms and last_ms.
 *
 * Size: 144 bytes (checked by a static assert below), so a ring of 100 000 records needs
 * 14.4 MB. Field order keeps the struct free of padding holes.
 */
#ifndef NFX_LIB_FLOW_FLOW_H
#define NFX_LIB_FLOW_FLOW_H

#include <stdint.h>

/* Export protocol the record came from; values are the header version numbers. */
typedef enum nf_flow_type {
    NF_FLOW_V5 = 5,
    NF_FLOW_V9 = 9,
    NF_FLOW_IPFIX = 10,
} nf_flow_type;

typedef struct nf_flow {
    uint8_t src_addr[16]; /* source address, IPv4-mapped when ip_version == 4 */
    uint8_t dst_addr[16]; /* destination address, same form */
    uint8_t next_hop[16]; /* IP next hop (or BGP next hop if that is all there is), :: if none */
    uint8_t exporter[16]; /* address the export datagram came from */

    uint64_t bytes;       /* octets as exported (unsampled count) */
    uint64_t packets;     /* packets as exported (unsampled count) */
    uint64_t first_ms;    /* flow start, epoch ms, exporter clock */
    uint64_t last_ms;     /* flow end, epoch ms, exporter clock */
    uint64_t received_ms; /* datagram receive time, epoch ms, collector clock */

    uint32_t in_if;         /* ingress interface index (SNMP ifIndex), 0 if unknown */
    uint32_t out_if;        /* egress interface index, 0 if unknown */
    uint32_t src_as;        /* source autonomous system, 0 if unknown */
    uint32_t dst_as;        /* destination autonomous system, 0 if unknown */
    uint32_t domain;        /* v9 source id, IPFIX observation domain, v5 engine type<<8|id */
    uint32_t sampling_rate; /* 1 in N packets sampled; 1 = unsampled or not announced */

    uint16_t src_port;  /* transport source port, 0 if none */
    uint16_t dst_port;  /* transport destination port; ICMP: type*256+code when exported so */
    uint8_t protocol;   /* IP protocol number */
    uint8_t tcp_flags;  /* cumulative TCP flags */
    uint8_t tos;        /* IP type of service / traffic class */
    uint8_t src_mask;   /* source prefix length */
    uint8_t dst_mask;   /* destination prefix length */
    uint8_t ip_version; /* 6 if any address is IPv6, else 4 (both addresses IPv4-mapped),
                         * 0 if the record carried no address */
    uint8_t flow_type;  /* nf_flow_type */
    uint8_t reserved[5]; /* zero; makes the size explicit (no compiler tail padding) */
} nf_flow;

_Static_assert(sizeof(nf_flow) == 144, "nf_flow size is documented as 144 bytes");

#endif
