/* nf_decode.h — NetFlow v5, v9 and IPFIX decoder: datagram bytes in, flow records out.
 *
 * Pure: no sockets, files, clocks or logging. The caller hands in one UDP payload with the
 * exporter's address and the receive time; the decoder calls a sink once per flow record.
 * All per-exporter state lives in the decoder object:
 *
 *   exporter key = (exporter address, export version, source id / observation domain)
 *   ├─ templates        keyed by template id; each compiled once into a field program
 *   ├─ samplers         sampler/selector id → rate, learnt from options data
 *   ├─ default rate     v5 header, or options data without a sampler id (a lone
 *   │                   announced sampler also applies to records that name none)
 *   ├─ sequence tracker expected next sequence, loss/reorder/reset counters
 *   └─ backlog          data sets that arrived before their template (bounded, aged out)
 *
 * The UDP source port is deliberately NOT part of the key: exporters change it on restart
 * while keeping their templates' meaning, and nfcapd/nfacctd key the same way.
 *
 * Data before its template: such sets are queued in a small per-exporter backlog (bounded
 * in sets, bytes and age, plus a decoder-wide byte cap) and decoded, with their original
 * header times, as soon as the template arrives. Sets that age out or overflow the backlog
 * are dropped and counted under NF_DROP_NO_TEMPLATE. backlog_sets = 0 turns this off.
 *
 * Malformed input never crashes or reads out of bounds: every length is checked through a
 * bounded cursor, and each problem increments a counter in nf_decode_counters.errors[] by
 * reason (see nf_drop_reason). Decoding continues with whatever is still well-framed.
 *
 * Threading: a decoder is single-threaded. Use one per worker; steer an exporter's datagrams
 * to one worker (the collector does this by source address).
 *
 * Memory is bounded by the limits in nf_decoder_config; each is documented there.
 */
#ifndef NFX_LIB_DECODE_NF_DECODE_H
#define NFX_LIB_DECODE_NF_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../flow/flow.h"

typedef struct nf_decoder nf_decoder;

typedef struct nf_decoder_config {
    uint32_t max_exporters;       /* exporter keys held; new ones beyond are refused (4096) */
    uint32_t max_templates;       /* templates per exporter key (1024) */
    uint32_t max_templates_total; /* templates over all exporters (16384) */
    uint32_t max_template_fields; /* fields in one template; longer ones refused (512) */
    uint32_t max_samplers;        /* sampler ids remembered per exporter key (64) */
    uint32_t backlog_sets;        /* data sets queued per exporter awaiting a template (256) */
    uint32_t backlog_bytes;       /* bytes queued per exporter (65536) */
    uint32_t backlog_total_bytes; /* bytes queued over all exporters (8 MiB) */
    uint32_t backlog_max_age_ms;  /* queued sets older than this are dropped (60000) */
    uint32_t exporter_idle_ms;    /* nf_decoder_expire forgets exporters idle this long (24 h) */
} nf_decoder_config;

/* Fills c with the defaults shown above. */
void nf_decoder_config_default(nf_decoder_config *c);

/* Why input was refused or skipped. Counted per event; the unit is in the comment. */
typedef enum nf_drop_reason {
    NF_DROP_SHORT_HEADER = 0, /* datagram: shorter than its version's header */
    NF_DROP_BAD_VERSION,      /* datagram: version not 5, 9 or 10 */
    NF_DROP_V5_COUNT,         /* datagram: v5 count 0, > 30, or records beyond the datagram */
    NF_DROP_MSG_LENGTH,       /* datagram: IPFIX message length < 16 or > datagram */
    NF_DROP_SET_LENGTH,       /* rest of datagram: set length < 4 or beyond the message */
    NF_DROP_RESERVED_SET,     /* set: reserved set id (v9 2..255, IPFIX 0,1,4..255) */
    NF_DROP_BAD_TEMPLATE,     /* rest of set: malformed template or options template record */
    NF_DROP_TEMPLATE_LIMIT,   /* template: exporter or decoder template cap reached */
    NF_DROP_EXPORTER_LIMIT,   /* datagram: exporter cap reached */
    NF_DROP_NO_TEMPLATE,      /* set: data for a template never seen (after the backlog) */
    NF_DROP_SHORT_RECORD,     /* rest of set: variable-length record runs past the set */
    NF_DROP_BAD_FIELD_LENGTH, /* template field: length impossible for its element; skipped */
    NF_DROP_SAMPLER_LIMIT,    /* options record: sampler table full */
    NF_DROP_REASON_COUNT
} nf_drop_reason;

/* Stable snake_case name of a reason for metrics labels ("no_template"). */
const char *nf_drop_reason_name(nf_drop_reason r);

typedef struct nf_decode_counters {
    uint64_t packets;             /* datagrams handed in */
    uint64_t packets_v5;          /* ... of which well-formed v5 headers */
    uint64_t packets_v9;          /* ... v9 */
    uint64_t packets_ipfix;       /* ... IPFIX */
    uint64_t flows;               /* flow records emitted to the sink */
    uint64_t options_records;     /* options data records consumed (not flows) */
    uint64_t templates_learnt;    /* new or changed template definitions accepted (an
                                   * identical re-send is a refresh, not counted) */
    uint64_t templates_withdrawn; /* templates removed by IPFIX withdrawal */
    uint64_t enterprise_values;   /* enterprise-specific field values skipped in records */
    uint64_t backlog_queued;      /* data sets queued to wait for a template */
    uint64_t backlog_decoded;     /* queued sets decoded after their template arrived */
    uint64_t seq_lost_packets;    /* v9 export packets missing by sequence (confirmed gaps) */
    uint64_t seq_lost_flows;      /* v5/IPFIX records missing by sequence (confirmed gaps) */
    uint64_t seq_resets;          /* sequence discontinuities treated as exporter restarts */
    uint64_t errors[NF_DROP_REASON_COUNT]; /* by nf_drop_reason */
} nf_decode_counters;

/* One received datagram. All pointers borrowed for the duration of the call. */
typedef struct nf_datagram {
    const uint8_t *data;    /* UDP payload */
    size_t len;             /* its length */
    uint8_t src_addr[16];   /* exporter address, IPv4-mapped for IPv4 (base/addr.h) */
    uint16_t src_port;      /* exporter UDP port (restart detection only) */
    uint64_t received_ms;   /* epoch ms, collector clock */
} nf_datagram;

/* Called once per decoded flow; flow is valid only during the call (copy it). */
typedef void nf_flow_sink(void *ctx, const nf_flow *flow);

/* Creates a decoder; cfg is copied (NULL = defaults). *out is set only on NF_OK.
 * Free with nf_decoder_destroy. */
nf_status nf_decoder_create(const nf_decoder_config *cfg, nf_decoder **out, nf_err *err);

/* Frees the decoder and all its state. NULL-safe. */
void nf_decoder_destroy(nf_decoder *d);

/* Decodes one datagram, calling sink for each flow (in datagram order; flows recovered from
 * the backlog come when their template is read). Returns NF_OK if the datagram's header was
 * valid (even if parts of it were dropped and counted), NF_EPROTO if the whole datagram was
 * refused. Never fails for other reasons: allocation failure counts as a limit drop. */
nf_status nf_decoder_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx);

/* Drops backlog entries older than their age limit and forgets exporters idle longer than
 * exporter_idle_ms. now_ms is epoch ms on the collector clock. Call about once a second. */
void nf_decoder_expire(nf_decoder *d, uint64_t now_ms);

/* Counters since creation. The pointer stays valid until destroy; read only from the thread
 * that owns the decoder (copy it to share). */
const nf_decode_counters *nf_decoder_counters(const nf_decoder *d);

/* What the decoder knows about one exporter key. */
typedef struct nf_exporter_info {
    uint8_t addr[16];         /* exporter address */
    uint16_t last_port;       /* last UDP source port seen */
    uint8_t version;          /* 5, 9 or 10 */
    uint32_t domain;          /* source id / observation domain / v5 engine */
    uint64_t packets;         /* datagrams */
    uint64_t flows;           /* flow records emitted */
    uint64_t options_records; /* options records consumed */
    uint32_t templates;       /* templates currently held */
    uint32_t backlog_sets;    /* data sets waiting for a template */
    uint32_t sampling_rate;   /* rate of records that name no sampler (1 if none announced) */
    uint64_t seq_lost;        /* confirmed + still-open gaps; unit: packets for v9, records
                               * for v5 and IPFIX */
    uint64_t seq_reordered;   /* datagrams that arrived after a later one */
    uint64_t seq_resets;      /* restarts or resynchronisations */
    uint64_t last_seen_ms;    /* received_ms of the last datagram */
} nf_exporter_info;

/* Copies up to max exporter descriptions into out (caller-owned) and returns how many exist
 * in total (which may exceed max). */
size_t nf_decoder_exporters(const nf_decoder *d, nf_exporter_info *out, size_t max);

/* A number that changes whenever what nf_decoder_save_state would write changes (templates,
 * sampling rates, exporters added or forgotten; not last-seen times), so a caller can skip
 * saving an unchanged decoder. */
uint64_t nf_decoder_state_generation(const nf_decoder *d);

/* Serialises learnt templates and sampling rates into a newly allocated buffer (*buf_out,
 * free with free()) so a restarted collector can decode at once. */
nf_status nf_decoder_save_state(const nf_decoder *d, uint8_t **buf_out, size_t *len_out,
                                nf_err *err);

/* Loads a buffer written by nf_decoder_save_state (possibly by another process: it is
 * treated as untrusted and validated whole before anything is applied). On NF_EPROTO the
 * decoder is unchanged. Exporters the decoder has seen more recently than the buffer did
 * are left as they are, so several buffers can be loaded into one decoder in any order.
 * *loaded_out (may be NULL) receives the number of templates loaded. */
nf_status nf_decoder_load_state(nf_decoder *d, const uint8_t *buf, size_t len,
                                size_t *loaded_out, nf_err *err);

#endif
