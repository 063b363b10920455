/* ie.c — the information elements the decoder understands, and what each one does.
 *
 * Element ids are IANA's IPFIX numbers; NetFlow v9 uses the same numbers for the fields it
 * defines (1..127 and a few above), so one table serves both. Anything not listed here is
 * skipped by length, and so is every enterprise-specific element (IPFIX E-bit), which the
 * caller never looks up.
 *
 * Alternatives: several elements can carry the same value (byte counts as delta, total or
 * post-NAT; ports as generic or TCP/UDP-specific; times as ms, NTP, seconds, uptime or
 * deltas). Rows of one group are alternatives; within a template only the rows with the
 * lowest prio present are used, so e.g. octetDeltaCount wins over octetTotalCount whatever
 * the field order. initiatorOctets + responderOctets (Cisco ASA NSEL) share a prio and add up,
 * which matches nfcapd's totals for such records.
 */
#include "internal.h"

enum {
    G_NONE = 0,
    G_BYTES,
    G_PACKETS,
    G_SPORT,
    G_DPORT,
    G_INIF,
    G_OUTIF,
    G_NEXTHOP,
    G_START,
    G_END,
    G_OBS,
    G_SAMPLER,
    G_INTERVAL,
};

#define ROW(id, o, s, g, p) [id] = {(id), (o), (s), (g), (p)}

static const ie_def table[] = {
    ROW(1, OP_BYTES, SHAPE_UINT, G_BYTES, 0),         /* octetDeltaCount / IN_BYTES */
    ROW(2, OP_PACKETS, SHAPE_UINT, G_PACKETS, 0),     /* packetDeltaCount / IN_PKTS */
    ROW(4, OP_PROTO, SHAPE_UINT, G_NONE, 0),          /* protocolIdentifier */
    ROW(5, OP_TOS, SHAPE_UINT, G_NONE, 0),            /* ipClassOfService */
    ROW(6, OP_TCP_FLAGS, SHAPE_UINT, G_NONE, 0),      /* tcpControlBits (1 or 2 bytes) */
    ROW(7, OP_SRC_PORT, SHAPE_UINT, G_SPORT, 0),      /* sourceTransportPort */
    ROW(8, OP_SRC4, SHAPE_ADDR4, G_NONE, 0),          /* sourceIPv4Address */
    ROW(9, OP_SRC_MASK, SHAPE_UINT, G_NONE, 0),       /* sourceIPv4PrefixLength */
    ROW(10, OP_IN_IF, SHAPE_UINT, G_INIF, 0),         /* ingressInterface */
    ROW(11, OP_DST_PORT, SHAPE_UINT, G_DPORT, 0),     /* destinationTransportPort */
    ROW(12, OP_DST4, SHAPE_ADDR4, G_NONE, 0),         /* destinationIPv4Address */
    ROW(13, OP_DST_MASK, SHAPE_UINT, G_NONE, 0),      /* destinationIPv4PrefixLength */
    ROW(14, OP_OUT_IF, SHAPE_UINT, G_OUTIF, 0),       /* egressInterface */
    ROW(15, OP_NH4, SHAPE_ADDR4, G_NEXTHOP, 0),       /* ipNextHopIPv4Address */
    ROW(16, OP_SRC_AS, SHAPE_UINT, G_NONE, 0),        /* bgpSourceAsNumber */
    ROW(17, OP_DST_AS, SHAPE_UINT, G_NONE, 0),        /* bgpDestinationAsNumber */
    ROW(18, OP_NH4, SHAPE_ADDR4, G_NEXTHOP, 1),       /* bgpNextHopIPv4Address */
    ROW(21, OP_END_UPTIME, SHAPE_UINT, G_END, 3),     /* flowEndSysUpTime / LAST_SWITCHED */
    ROW(22, OP_START_UPTIME, SHAPE_UINT, G_START, 3), /* flowStartSysUpTime / FIRST_SWITCHED */
    ROW(23, OP_BYTES, SHAPE_UINT, G_BYTES, 2),        /* postOctetDeltaCount / OUT_BYTES */
    ROW(24, OP_PACKETS, SHAPE_UINT, G_PACKETS, 2),    /* postPacketDeltaCount / OUT_PKTS */
    ROW(27, OP_SRC6, SHAPE_ADDR6, G_NONE, 0),         /* sourceIPv6Address */
    ROW(28, OP_DST6, SHAPE_ADDR6, G_NONE, 0),         /* destinationIPv6Address */
    ROW(29, OP_SRC_MASK, SHAPE_UINT, G_NONE, 0),      /* sourceIPv6PrefixLength */
    ROW(30, OP_DST_MASK, SHAPE_UINT, G_NONE, 0),      /* destinationIPv6PrefixLength */
    ROW(32, OP_ICMP, SHAPE_UINT, G_NONE, 0),          /* icmpTypeCodeIPv4 */
    ROW(34, OP_SAMPLING_INTERVAL, SHAPE_UINT, G_INTERVAL, 0), /* samplingInterval */
    ROW(48, OP_SAMPLER_ID, SHAPE_UINT, G_SAMPLER, 0), /* samplerId / FLOW_SAMPLER_ID */
    ROW(50, OP_SAMPLING_INTERVAL, SHAPE_UINT, G_INTERVAL, 1), /* samplerRandomInterval */
    ROW(62, OP_NH6, SHAPE_ADDR6, G_NEXTHOP, 0),       /* ipNextHopIPv6Address */
    ROW(63, OP_NH6, SHAPE_ADDR6, G_NEXTHOP, 1),       /* bgpNextHopIPv6Address */
    ROW(85, OP_BYTES, SHAPE_UINT, G_BYTES, 1),        /* octetTotalCount */
    ROW(86, OP_PACKETS, SHAPE_UINT, G_PACKETS, 1),    /* packetTotalCount */
    ROW(139, OP_ICMP, SHAPE_UINT, G_NONE, 0),         /* icmpTypeCodeIPv6 */
    ROW(150, OP_START_SEC, SHAPE_UINT, G_START, 2),   /* flowStartSeconds */
    ROW(151, OP_END_SEC, SHAPE_UINT, G_END, 2),       /* flowEndSeconds */
    ROW(152, OP_START_MS, SHAPE_UINT, G_START, 0),    /* flowStartMilliseconds */
    ROW(153, OP_END_MS, SHAPE_UINT, G_END, 0),        /* flowEndMilliseconds */
    ROW(154, OP_START_NTP, SHAPE_NTP, G_START, 1),    /* flowStartMicroseconds */
    ROW(155, OP_END_NTP, SHAPE_NTP, G_END, 1),        /* flowEndMicroseconds */
    ROW(156, OP_START_NTP, SHAPE_NTP, G_START, 1),    /* flowStartNanoseconds */
    ROW(157, OP_END_NTP, SHAPE_NTP, G_END, 1),        /* flowEndNanoseconds */
    ROW(158, OP_START_DELTA_US, SHAPE_UINT, G_START, 4), /* flowStartDeltaMicroseconds */
    ROW(159, OP_END_DELTA_US, SHAPE_UINT, G_END, 4),  /* flowEndDeltaMicroseconds */
    ROW(160, OP_SYSINIT_MS, SHAPE_UINT, G_NONE, 0),   /* systemInitTimeMilliseconds */
    ROW(180, OP_SRC_PORT, SHAPE_UINT, G_SPORT, 1),    /* udpSourcePort */
    ROW(181, OP_DST_PORT, SHAPE_UINT, G_DPORT, 1),    /* udpDestinationPort */
    ROW(182, OP_SRC_PORT, SHAPE_UINT, G_SPORT, 1),    /* tcpSourcePort */
    ROW(183, OP_DST_PORT, SHAPE_UINT, G_DPORT, 1),    /* tcpDestinationPort */
    ROW(231, OP_BYTES_ADD, SHAPE_UINT, G_BYTES, 3),   /* initiatorOctets */
    ROW(232, OP_BYTES_ADD, SHAPE_UINT, G_BYTES, 3),   /* responderOctets */
    ROW(252, OP_IN_IF, SHAPE_UINT, G_INIF, 1),        /* ingressPhysicalInterface */
    ROW(253, OP_OUT_IF, SHAPE_UINT, G_OUTIF, 1),      /* egressPhysicalInterface */
    ROW(298, OP_PACKETS_ADD, SHAPE_UINT, G_PACKETS, 3), /* initiatorPackets */
    ROW(299, OP_PACKETS_ADD, SHAPE_UINT, G_PACKETS, 3), /* responderPackets */
    ROW(302, OP_SAMPLER_ID, SHAPE_UINT, G_SAMPLER, 1), /* selectorId */
    ROW(305, OP_PKT_INTERVAL, SHAPE_UINT, G_NONE, 0), /* samplingPacketInterval */
    ROW(306, OP_PKT_SPACE, SHAPE_UINT, G_NONE, 0),    /* samplingPacketSpace */
    ROW(309, OP_SAMPLE_SIZE, SHAPE_UINT, G_NONE, 0),  /* samplingSize */
    ROW(310, OP_SAMPLE_POPULATION, SHAPE_UINT, G_NONE, 0), /* samplingPopulation */
    ROW(322, OP_OBS_SEC, SHAPE_UINT, G_OBS, 2),       /* observationTimeSeconds */
    ROW(323, OP_OBS_MS, SHAPE_UINT, G_OBS, 0),        /* observationTimeMilliseconds */
    ROW(324, OP_OBS_NTP, SHAPE_NTP, G_OBS, 1),        /* observationTimeMicroseconds */
    ROW(325, OP_OBS_NTP, SHAPE_NTP, G_OBS, 1),        /* observationTimeNanoseconds */
};

const ie_def *
ie_lookup(uint16_t ie)
{
    if (ie >= sizeof(table) / sizeof(table[0]) || table[ie].op == OP_SKIP)
        return NULL;
    return &table[ie];
}
