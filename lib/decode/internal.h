/* internal.h — the decoder's private data structures, shared by its .c files only.
 *
 * Files:  decoder.c  object, exporter table, counters, expiry, sequence tracking
 *         v5.c       NetFlow v5 datagrams
 *         sets.c     v9 and IPFIX datagrams: headers, set walking, template sets
 *         template.c template compilation into field programs; per-exporter template table
 *         record.c   running a field program over data and options records
 *         backlog.c  data sets waiting for their template
 *         state.c    save/load of templates and sampling rates
 *         ie.c       information element table (element id → operation)
 *
 * Invariants (checked in debug builds: exporter_check() for the exporter a datagram touched,
 * decoder_check() for all of them at every expiry and at destroy):
 *  1. Every exporter is in exactly one hash chain, the one its key hashes to; d->nexporters
 *     counts them.
 *  2. An exporter's templates array is sorted by id, without duplicates; the sum of all
 *     exporters' ntemplates equals d->templates_total.
 *  3. An exporter's backlog list has bl_sets entries totalling bl_bytes data bytes; the sum
 *     of bl_bytes over exporters equals d->backlog_bytes_total.
 *  4. last_tmpl, when set, points into the exporter's own templates array.
 */
#ifndef NFX_LIB_DECODE_INTERNAL_H
#define NFX_LIB_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cursor.h"
#include "nf_decode.h"

/* What one template field does to the record being built. */
typedef enum field_op {
    OP_SKIP = 0,
    OP_BYTES,          /* bytes = value */
    OP_BYTES_ADD,      /* bytes += value (initiator + responder octets) */
    OP_PACKETS,
    OP_PACKETS_ADD,
    OP_PROTO,
    OP_TOS,
    OP_TCP_FLAGS,
    OP_SRC_PORT,
    OP_DST_PORT,
    OP_SRC4,
    OP_DST4,
    OP_SRC6,
    OP_DST6,
    OP_NH4,
    OP_NH6,
    OP_SRC_MASK,
    OP_DST_MASK,
    OP_IN_IF,
    OP_OUT_IF,
    OP_SRC_AS,
    OP_DST_AS,
    OP_ICMP,           /* type*256+code, becomes dst_port when that is 0 */
    OP_START_UPTIME,   /* ms on the exporter's sysUptime clock */
    OP_END_UPTIME,
    OP_START_SEC,      /* epoch seconds */
    OP_END_SEC,
    OP_START_MS,       /* epoch milliseconds */
    OP_END_MS,
    OP_START_NTP,      /* 64-bit NTP timestamp (micro- and nanosecond elements) */
    OP_END_NTP,
    OP_START_DELTA_US, /* microseconds before the export time */
    OP_END_DELTA_US,
    OP_OBS_SEC,        /* observation time: used when there is no start/end */
    OP_OBS_MS,
    OP_OBS_NTP,
    OP_SYSINIT_MS,     /* systemInitTimeMilliseconds: epoch ms of sysUptime 0 */
    OP_SAMPLER_ID,
    OP_SAMPLING_INTERVAL, /* 1-in-N */
    OP_PKT_INTERVAL,      /* samplingPacketInterval (305) */
    OP_PKT_SPACE,         /* samplingPacketSpace (306) */
    OP_SAMPLE_SIZE,       /* samplingSize (309) */
    OP_SAMPLE_POPULATION, /* samplingPopulation (310) */
    OP_COUNT
} field_op;

/* Value shapes an operation accepts. */
typedef enum field_shape {
    SHAPE_ANY = 0, /* skip: any length, including variable */
    SHAPE_UINT,    /* unsigned integer, 1..8 bytes */
    SHAPE_ADDR4,   /* exactly 4 bytes */
    SHAPE_ADDR6,   /* exactly 16 bytes */
    SHAPE_NTP,     /* exactly 8 bytes */
} field_shape;

/* Row of the element table (ie.c). group/prio resolve alternatives: within a template, only
 * the fields of a group with the lowest prio present are used (octetDeltaCount before
 * octetTotalCount before postOctetDeltaCount ...). group 0 = no alternatives. */
typedef struct ie_def {
    uint16_t ie;    /* element id (IANA; v9 uses the same numbers below 128) */
    uint8_t op;     /* field_op */
    uint8_t shape;  /* field_shape */
    uint8_t group;  /* alternatives group, 0 none */
    uint8_t prio;   /* lower wins within a group */
} ie_def;

/* Returns the table row for a non-enterprise element, or NULL (skip it). */
const ie_def *ie_lookup(uint16_t ie);

/* One compiled step of a template. */
typedef struct field_prog {
    uint16_t offset; /* byte offset in the record (fixed-layout templates only) */
    uint16_t len;    /* field length; NF_VARLEN for variable-length */
    uint8_t op;      /* field_op */
} field_prog;

#define NF_VARLEN 0xFFFFu

/* A compiled template. Allocated as one block: struct, ops[nops], then spec[spec_len].
 *
 * Fixed layout (has_varlen == 0): ops holds only the fields that do something, each with its
 * offset; records are exactly rec_len bytes. Variable layout: ops holds every field in order
 * (skips included) and records are walked field by field; rec_len is then the minimum record
 * length (fixed fields plus one length byte per variable field). rec_len > 0 always. */
typedef struct tmpl {
    uint16_t id;          /* template id, >= 256 */
    uint8_t is_options;   /* options template: records feed sampling state, not flows */
    uint8_t has_varlen;   /* any variable-length field */
    uint16_t field_count; /* fields in the definition */
    uint16_t scope_count; /* leading scope fields (options templates) */
    uint16_t nops;        /* entries in ops */
    uint16_t enterprise;  /* enterprise-specific fields in the definition */
    uint32_t rec_len;     /* see above */
    uint16_t spec_len;    /* bytes of the wire field specifiers kept for state saving */
    uint8_t *spec;        /* points after ops[] */
    field_prog ops[];
} tmpl;

/* Header values a record's times are computed from; kept with backlogged sets too. */
typedef struct hdr_ctx {
    uint64_t export_ms;   /* header export time, epoch ms (v5 includes unix_nsecs) */
    uint32_t sys_uptime;  /* v5/v9 header sysUptime, ms; 0 for IPFIX */
    uint64_t received_ms; /* collector receive time */
} hdr_ctx;

/* Epoch ms of a sysUptime-relative time t (v5 and v9 FIRST/LAST_SWITCHED): how long before
 * the export it happened, on a 32-bit ms clock that may have wrapped; 0 if before 1970. */
static inline uint64_t
uptime_to_epoch_ms(const hdr_ctx *hdr, uint32_t t)
{
    int64_t ago = (int32_t)(hdr->sys_uptime - t);
    int64_t ms = (int64_t)hdr->export_ms - ago;
    return ms > 0 ? (uint64_t)ms : 0;
}

typedef struct sampler {
    uint32_t id;   /* sampler / selector id */
    uint32_t rate; /* 1 in rate */
} sampler;

/* A run of sequence units [start, end) not (yet) seen. */
typedef struct seq_gap {
    uint32_t start;
    uint32_t end;
} seq_gap;

/* Open gaps tracked per exporter key; the oldest is confirmed as lost when more open up. */
#define SEQ_GAPS 16

typedef struct backlog_entry {
    struct backlog_entry *next;
    hdr_ctx hdr;      /* header of the datagram the set came in */
    uint16_t set_id;  /* template id the set needs */
    uint32_t len;     /* bytes in data (set body, header stripped) */
    uint8_t data[];
} backlog_entry;

typedef struct exporter {
    struct exporter *hnext; /* hash chain */
    uint8_t addr[16];
    uint32_t domain;
    uint8_t version;
    uint16_t last_port;
    uint64_t last_seen_ms;

    tmpl **templates;      /* sorted by id */
    uint32_t ntemplates;
    uint32_t templates_cap;
    tmpl *last_tmpl;       /* lookup cache */

    uint32_t default_rate; /* 0 = never announced (flows get 1) */
    sampler *samplers;
    uint32_t nsamplers;
    uint64_t sysinit_ms;   /* IPFIX systemInitTimeMilliseconds, 0 unknown */

    bool seq_valid;        /* seq_next means something */
    uint8_t seq_mode;      /* how this exporter counts (decoder.c: enum seq_mode) */
    uint8_t seq_matched;   /* datagrams in a row that matched seq_mode, capped */
    uint32_t seq_next;     /* expected start of the next datagram, in seq_mode's terms */
    uint32_t seq_last;     /* sequence field of the last datagram */
    uint32_t seq_last_flows, seq_last_records; /* its flow and data record counts */
    uint32_t last_uptime;  /* v9 sysUptime of the last datagram */
    seq_gap gaps[SEQ_GAPS]; /* open gaps, oldest first: missing but maybe only late */
    uint8_t ngaps;
    uint64_t seq_lost;      /* confirmed missing units */
    uint64_t seq_reordered; /* datagrams that arrived late */
    uint64_t seq_resets;

    backlog_entry *bl_head, *bl_tail;
    uint32_t bl_sets;
    uint32_t bl_bytes;

    uint64_t packets;
    uint64_t flows;
    uint64_t options_records;
} exporter;

struct nf_decoder {
    nf_decoder_config cfg;
    exporter **buckets;      /* hash chains */
    uint32_t nbuckets;       /* power of two */
    uint32_t nexporters;
    exporter *last_exporter; /* lookup cache */
    uint32_t templates_total;
    uint64_t backlog_bytes_total;
    uint64_t state_gen;      /* bumped whenever saved state would differ (templates,
                              * rates, exporters); see nf_decoder_state_generation */
    nf_decode_counters c;
};

/* Everything one datagram's decoding needs, passed down the call chain. */
typedef struct pkt_ctx {
    nf_decoder *d;
    exporter *e;
    hdr_ctx hdr;
    nf_flow_sink *sink;
    void *sink_ctx;
    uint32_t records;  /* data + options records decoded from this datagram's own sets */
    uint32_t flows;    /* ... of which flow records */
    bool uncountable;  /* a set's records could not be counted (no template) */
} pkt_ctx;

static inline void
count_error(nf_decoder *d, nf_drop_reason r)
{
    d->c.errors[r]++;
}

/* decoder.c */
#ifndef NDEBUG
bool exporter_check(const nf_decoder *d, const exporter *e);
bool decoder_check(const nf_decoder *d);
#endif
/* Finds or creates the exporter key (counting NF_DROP_EXPORTER_LIMIT and returning NULL at
 * the cap); exporter_get also counts a datagram and stamps last_seen_ms. */
exporter *exporter_find(nf_decoder *d, const uint8_t addr[16], uint8_t version, uint32_t domain);
exporter *exporter_find_or_add(nf_decoder *d, const uint8_t addr[16], uint8_t version,
                               uint32_t domain);
exporter *exporter_get(nf_decoder *d, const uint8_t addr[16], uint8_t version, uint32_t domain,
                       uint64_t now_ms);
/* Sequence accounting for one datagram: seq is its header sequence; flows and records are
 * the flow records and all data records (flows + options) it carried. v9 passes 1, 1. */
void seq_track(nf_decoder *d, exporter *e, uint32_t seq, uint32_t flows, uint32_t records,
               uint16_t port);
void seq_confirm_all(nf_decoder *d, exporter *e);

/* v5.c */
nf_status v5_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx);

/* sets.c */
nf_status v9_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx);
nf_status ipfix_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx);

/* template.c */
/* Compiles and installs (or replaces) a template from its wire field specifiers. spec holds
 * field_count specifiers in the format of version (v9: 4 bytes each; IPFIX: 4 or 8).
 * Returns false and counts the reason if the definition is refused. */
bool template_install(nf_decoder *d, exporter *e, uint8_t version, uint16_t id, bool is_options,
                      uint16_t field_count, uint16_t scope_count, const uint8_t *spec,
                      size_t spec_len);
/* True if the definition would compile (for validating saved state; counts nothing). */
bool template_valid(uint8_t version, bool is_options, uint16_t field_count, uint16_t scope_count,
                    const uint8_t *spec, size_t spec_len, uint32_t max_fields);
tmpl *template_find(exporter *e, uint16_t id);
void template_withdraw(nf_decoder *d, exporter *e, uint16_t id);
void template_withdraw_all(nf_decoder *d, exporter *e, bool options);
void template_free_all(nf_decoder *d, exporter *e);

/* record.c */
/* Decodes every record of a data set body with template t. Returns records decoded. */
uint32_t records_decode(pkt_ctx *pc, const tmpl *t, const hdr_ctx *hdr, nf_cursor set);

/* backlog.c */
void backlog_push(pkt_ctx *pc, uint16_t set_id, nf_cursor body);
void backlog_replay(pkt_ctx *pc, uint16_t template_id);
void backlog_expire(nf_decoder *d, exporter *e, uint64_t now_ms);
void backlog_free(nf_decoder *d, exporter *e);

/* sampling (record.c) */
uint32_t sampler_rate(const exporter *e, uint32_t id, bool *found);
void sampler_set(nf_decoder *d, exporter *e, uint32_t id, uint32_t rate);

#endif
