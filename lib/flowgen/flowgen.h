/* flowgen.h — a deterministic NetFlow v5 / v9 / IPFIX traffic generator.
 *
 * Pure: no sockets, files, wall clocks or logging. A generator holds N simulated exporters
 * and produces, one call at a time, the next export datagram (UDP payload) of the next
 * exporter in turn (round-robin). The output is a pure function of the configuration and
 * the seed: same config ⇒ byte-identical datagrams, on the same platform and libm.
 *
 * Traffic model (see traffic.c for the constants and their reasons): Zipf-distributed
 * client (2000) and server (500) pools per address family, server ports from a weighted
 * list with a consistent transport protocol, a little ICMP, heavy-tailed (Pareto) packet
 * counts, bytes = packets × a per-flow packet size in 40..1500, TCP flags, ToS, interfaces,
 * AS numbers, masks, next hops and durations up to a 120 s active timeout.
 *
 * Time: a virtual clock starts at start_ms and advances by 1/flows_per_sec seconds per
 * generated flow (over all exporters), so timestamps never depend on the real clock. Each
 * exporter has a boot time a few days before start_ms, and v5/v9 sysUptime values are
 * computed from the header time as decoded (v5: ms, v9: whole seconds), so a correct
 * decoder converts them back to the exact epoch milliseconds the flow hook reports.
 *
 * Sequence numbers follow the RFCs exactly (a correct decoder sees zero loss):
 *   v5     flow_sequence = flow records sent before by this exporter
 *   v9     sequence      = export datagrams sent before by this exporter (source id)
 *   IPFIX  sequence      = data records (flows + options data) sent before in the domain
 *
 * Wire formats (templates are re-sent in the first datagram of each exporter and every
 * template_interval datagrams after, in front of the data of that datagram):
 *   v5     engine_type 1, engine_id = exporter index & 0xff (domain = 0x100 | id);
 *          sampling: header interval field = 01 mode << 14 | rate (rate <= 16383).
 *   v9     source id = exporter index. Template 256 (IPv4), 257 (IPv6): 4-byte counters,
 *          FIRST/LAST_SWITCHED, ports, ICMP_TYPE (32), masks, 4-byte AS, next hop, and
 *          FLOW_SAMPLER_ID (48, 1 byte) when sampled. Sampled: options template 258 with
 *          scope System (4 bytes) and FLOW_SAMPLER_ID, FLOW_SAMPLER_MODE (49, = 2 random),
 *          FLOW_SAMPLER_RANDOM_INTERVAL (50, = rate), and one options data record.
 *   IPFIX  observation domain = exporter index + 1. Template 256 (IPv4), 257 (IPv6):
 *          8-byte counters, flowStart/EndMilliseconds (152/153), icmpTypeCodeIPv4/IPv6,
 *          enterprise element 1 of PEN 32473 (RFC 5612 documentation PEN, 4 bytes), and
 *          (ipfix_varlen) interfaceName (82) as a variable-length string. Sampled: options
 *          template 258, scope selectorId (302), samplingPacketInterval (305) = 1,
 *          samplingPacketSpace (306) = rate - 1, and one options data record.
 *   Data records go in at most two data sets per datagram (IPv4 set, then IPv6 set), the
 *   flow hook seeing them in that order. Sets are padded to 4 bytes with zeros.
 *
 * Thread-safety: a generator is single-threaded; distinct generators are independent and
 * share nothing (no globals), so benchmarks may run one per thread.
 *
 * Ownership: the generator owns all its memory (pools, templates); the caller owns the
 * datagram buffers it passes in.
 */
#ifndef NFX_LIB_FLOWGEN_FLOWGEN_H
#define NFX_LIB_FLOWGEN_FLOWGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../flow/flow.h"

#define FLOWGEN_MAX_EXPORTERS 65535u
#define FLOWGEN_MIN_DATAGRAM 512u             /* room for templates, options and one record */
#define FLOWGEN_MAX_DATAGRAM 65507u           /* largest UDP payload over IPv4 */
#define FLOWGEN_V5_MAX_RATE 16383u            /* the v5 header's 14-bit sampling interval */
#define FLOWGEN_MIN_START_MS 2678400000ull    /* 31 days: boot times stay after the epoch */
#define FLOWGEN_MAX_START_MS 4102444800000ull /* 2100-01-01: v5/v9 unix_secs are 32-bit */

/* Export protocol of the exporters; values are the header version numbers. */
typedef enum flowgen_protocol {
    FLOWGEN_MIX = 0, /* exporter i speaks v5, v9, IPFIX for i % 3 == 0, 1, 2 */
    FLOWGEN_V5 = 5,
    FLOWGEN_V9 = 9,
    FLOWGEN_IPFIX = 10,
} flowgen_protocol;

typedef struct flowgen_config {
    flowgen_protocol protocol;  /* all exporters, or FLOWGEN_MIX (FLOWGEN_V9) */
    uint32_t exporters;         /* simulated exporters, 1..FLOWGEN_MAX_EXPORTERS (4) */
    uint8_t exporter_base[16];  /* address of exporter 0, 16-byte form (base/addr.h);
                                 * exporter i is base + i as a 128-bit integer
                                 * (127.0.0.10 IPv4-mapped) */
    uint64_t seed;              /* PRNG seed; any value (1) */
    uint32_t sampling_rate;     /* 1 in N packets; 1 = unsampled; v5 at most 16383 (1) */
    uint32_t ipv6_share;        /* percent of v9/IPFIX flows that are IPv6, 0..100 (10);
                                 * v5 is IPv4-only */
    uint32_t template_interval; /* re-send templates every N datagrams of an exporter;
                                 * 0 = only in its first datagram (20) */
    uint64_t start_ms;          /* virtual clock start, epoch ms (1767225600000 =
                                 * 2026-01-01T00:00:00Z), FLOWGEN_MIN_START_MS ..
                                 * FLOWGEN_MAX_START_MS */
    uint32_t flows_per_sec;     /* virtual clock pace: flows per virtual second over all
                                 * exporters, >= 1 (10000) */
    uint32_t max_datagram;      /* UDP payload limit in bytes, FLOWGEN_MIN_DATAGRAM ..
                                 * FLOWGEN_MAX_DATAGRAM (1400) */
    bool ipfix_varlen;          /* IPFIX templates carry a variable-length field (true) */
} flowgen_config;

/* Fills c with the defaults shown in parentheses above. */
void flowgen_config_default(flowgen_config *c);

/* Short name of a protocol value: "v5", "v9", "ipfix", "mix"; "?" for anything else. */
const char *flowgen_protocol_name(int protocol);

/* Parses "v5", "v9", "ipfix" or "mix". Returns false (out untouched) on anything else. */
bool flowgen_protocol_parse(const char *text, flowgen_protocol *out);

typedef struct flowgen flowgen;

/* Creates a generator. cfg is borrowed and copied. Returns NF_EINVAL (naming the field in
 * err) if the configuration is out of range, NF_ENOMEM on allocation failure. *out is set
 * only on NF_OK; free with flowgen_destroy. */
nf_status flowgen_create(const flowgen_config *cfg, flowgen **out, nf_err *err);

/* Frees the generator. NULL-safe. */
void flowgen_destroy(flowgen *g);

/* Called once per generated flow, in datagram order, during flowgen_next; flow is borrowed
 * for the duration of the call (copy it). The record is exactly what a correct decoder
 * produces from the datagram, with received_ms = 0. */
typedef void flowgen_flow_hook(void *ctx, const nf_flow *flow);

/* Installs (fn != NULL) or removes (fn == NULL) the flow hook. ctx is borrowed: it must
 * outlive the generator or the next call of this function. */
void flowgen_set_flow_hook(flowgen *g, flowgen_flow_hook *fn, void *ctx);

/* Description of one produced datagram. */
typedef struct flowgen_datagram {
    uint32_t exporter;         /* exporter index, 0..exporters-1 */
    uint8_t exporter_addr[16]; /* its address, 16-byte form */
    uint8_t version;           /* 5, 9 or 10 */
    bool has_templates;        /* carries template (and, sampled, options) records */
    uint32_t domain;           /* v5 engine_type<<8|engine_id, v9 source id, IPFIX domain */
    uint32_t sequence;         /* the header's sequence number */
    uint32_t flows;            /* flow (data) records */
    uint32_t options_records;  /* options data records (sampling announcements) */
    uint64_t export_ms;        /* header export time, epoch ms as a decoder reads it
                                * (v9 and IPFIX: whole seconds) */
    uint64_t virtual_ms;       /* the virtual clock when the datagram was made, epoch ms
                                * (>= export_ms, never decreasing: pcap timestamps) */
    uint64_t bytes;            /* sum of the flows' byte counts (as exported) */
    uint64_t packets;          /* sum of the flows' packet counts (as exported) */
} flowgen_datagram;

/* Writes the next datagram of the next exporter in turn into buf (caller-owned, cap bytes)
 * and sets *len_out and *info (info may be NULL). The datagram holds at most max_flows flow
 * records (0 = as many as fit in min(cap, max_datagram)) and always at least one.
 * Returns NF_EINVAL, with nothing generated, if an argument is NULL or min(cap,
 * max_datagram) cannot hold this exporter's templates plus one record (never the case for
 * cap >= max_datagram). */
nf_status flowgen_next(flowgen *g, uint32_t max_flows, uint8_t *buf, size_t cap, size_t *len_out,
                       flowgen_datagram *info);

/* Running totals. Bytes and packets are raw sums as exported (not scaled by sampling). */
typedef struct flowgen_counts {
    uint64_t datagrams;          /* datagrams produced */
    uint64_t flows;              /* flow records */
    uint64_t bytes;              /* sum of flow byte counts */
    uint64_t packets;            /* sum of flow packet counts */
    uint64_t template_datagrams; /* datagrams that carried templates */
} flowgen_counts;

/* Copies the totals over all exporters into *out. */
void flowgen_totals(const flowgen *g, flowgen_counts *out);

/* One simulated exporter. */
typedef struct flowgen_exporter {
    uint8_t addr[16];      /* source address, 16-byte form */
    uint8_t version;       /* 5, 9 or 10 */
    uint32_t domain;       /* as in flowgen_datagram */
    flowgen_counts counts; /* this exporter's totals */
} flowgen_exporter;

/* Number of exporters (cfg.exporters). */
uint32_t flowgen_exporter_count(const flowgen *g);

/* Copies exporter i into *out. Returns false (out untouched) if i is out of range. */
bool flowgen_exporter_get(const flowgen *g, uint32_t i, flowgen_exporter *out);

/* Bytes that flowgen_frame_build adds in front of the payload: Ethernet 14 + IPv6 40 +
 * UDP 8 at most. */
#define FLOWGEN_FRAME_OVERHEAD 62u

/* Builds an Ethernet II frame holding an IPv4 (both addresses IPv4-mapped) or IPv6 (both
 * not) UDP datagram with the payload, for pcap files: correct lengths, IPv4 header checksum
 * and UDP checksum, TTL/hop limit 64, DF set, the given IPv4 identification; MAC addresses
 * are fixed locally administered ones. src/dst/payload are borrowed; out is caller-owned
 * (cap bytes). Returns NF_EINVAL if the families differ, the frame does not fit in cap or
 * the payload exceeds 65507 bytes. *len_out is set only on NF_OK. */
nf_status flowgen_frame_build(const uint8_t src[16], uint16_t src_port, const uint8_t dst[16],
                              uint16_t dst_port, uint16_t ip_id, const uint8_t *payload, size_t len,
                              uint8_t *out, size_t cap, size_t *len_out, nf_err *err);

#endif
