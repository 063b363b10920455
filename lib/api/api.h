/* api.h — the parameter and answer layer of the core service's HTTP API (/api/netflow,
 * /api/netflow/realtime, /api/netflow/historical; ARCHITECTURE.md §5, PRD §7.5). A pure
 * library with no HTTP server: query parameters in → a typed request or a 400 naming the
 * parameter; rows in → JSON or CSV out; plus the merge of two backends' answers (stitching)
 * and spike flags for time series.
 *
 * Parameters (nf_api_parse). Names are exact and lowercase; anything else is refused.
 *   time_range  relative range, ending with the current second (end = now + 1, exclusive):
 *                 last_15m  the last 900 s        last_1h   the last 3 600 s
 *                 last_6h   the last 21 600 s     last_24h  the last 86 400 s
 *                 last_7d   the last 7 days       last_30d  the last 30 days
 *                 last_90d  the last 90 days
 *                 today     since 00:00 UTC of the current day
 *               default last_1h when neither time_range nor start/end is given.
 *   start, end  absolute range [start, end): RFC 3339 ("2025-04-14T12:00:00Z",
 *               "2025-04-14T14:00:00+02:00", fraction allowed: start is rounded down, end up,
 *               to whole seconds) or epoch seconds ("1744632000"). Both or neither; end >
 *               start; 1970-01-01 <= start, end <= 2^32-1 (ClickHouse DateTime). Not
 *               together with time_range.
 *   group_by    required: a field lib/query knows (src_ip, dst_ip, src_port, dst_port,
 *               protocol, exporter, in_if, out_if, src_as, dst_as, aliases src_addr,
 *               dst_addr, exporter_ip) → top-N; or "time" → time series.
 *   interval    time series only: "60s", "5m", "1h", "1d" (nf_parse_duration_ms, whole
 *               seconds) or bare seconds ("300"); 1 s .. 366 d; at most 1000 buckets over the
 *               range (lib/query's bound). Default: the smallest of 60, 300, 900, 3600, 86400
 *               (then whole days) giving at most NF_API_TARGET_POINTS buckets.
 *   filter      repeatable, and each value may also hold several conditions separated by
 *               commas (no field value can contain a comma: addresses, CIDRs, numbers and
 *               protocol names cannot). Each condition is "field=value" (nf_q_parse_filter);
 *               at most NF_Q_MAX_FILTERS conditions in all; empty conditions are refused.
 *   metric      bytes (default) | packets | flows
 *   unscaled    true | false (default false: counters × sampling rate)
 *   limit       top-N only: 1..10000, default 10
 *   format      json (default) | csv
 *   snapshot    time travel: an Iceberg snapshot id (1..2^63-1)
 *   as_of       time travel: the snapshot current at this time (RFC 3339 or epoch seconds)
 *               snapshot and as_of exclude each other; both are refused on the realtime
 *               route (ClickHouse has no snapshots); the auto route must send a request that
 *               has one to Iceberg.
 * /api/netflow/flows (route NF_API_FLOWS) takes only time_range/start/end, filter, format
 * and limit (1..NF_Q_FLOWS_MAX, default 100); the others are refused naming them.
 * Refused with a 400 as well: unknown parameters, a single-valued parameter given twice,
 * empty values, values longer than NF_API_VALUE_MAX bytes or holding a control character
 * (bytes < 0x20 and 0x7f), more than NF_API_MAX_PARAMS parameters, interval or limit on the
 * wrong kind of query.
 *
 * Answers (nf_api_render_json, PRD §7.5 plus metadata):
 *   {"results":[{"src_ip":"10.1.2.3","bytes":1000}, …],            top-N
 *    "results":[{"timestamp":"2025-04-14T12:00:00Z","bytes":1000,"spike":false}, …]  series
 *    "backend":"clickhouse","table":"…","elapsed_ms":12,"start":"…Z","end":"…Z",
 *    "group_by":"src_ip","metric":"bytes", ["interval":300,] ["limit":10,]
 *    ["snapshot_id":123]}
 *   Address keys are strings, numeric keys (ports, protocol, interfaces, AS) numbers. Values
 *   are written as decimal text, so every uint64 (up to 2^64-1) is exact in the JSON text —
 *   jansson's json_integer is int64 and is not used for them; readers that parse numbers as
 *   doubles lose precision above 2^53, which is theirs to handle. CSV has the same columns in
 *   the same order, a header line, CRLF line ends (RFC 4180), strings always quoted, numbers
 *   and booleans bare.
 *
 * Thread safety: every function works only on its arguments; any thread may call any of
 * them. No function keeps a pointer to its arguments.
 */
#ifndef NFX_LIB_API_API_H
#define NFX_LIB_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../query/query.h"

#define NF_API_MAX_PARAMS 64     /* parameters per request: the UI sends at most ~25 */
#define NF_API_VALUE_MAX 1024    /* bytes per value: the longest honest one (16 comma-separated
                                  * IPv6 CIDRs) is under 800 */
#define NF_API_PARAM_MAX 64      /* size of a parameter name buffer, NUL included */
#define NF_API_TARGET_POINTS 300 /* default interval: at most this many buckets */

/* One query parameter as libmicrohttpd hands it over (MHD_get_connection_values with
 * MHD_GET_ARGUMENT_KIND): key and value already percent-decoded; value NULL for "?key". */
typedef struct nf_api_kv {
    const char *key;
    const char *value;
} nf_api_kv;

/* Which route the request came in on. */
typedef enum nf_api_route {
    NF_API_AUTO = 0,   /* /api/netflow: the core picks (and stitches) */
    NF_API_REALTIME,   /* /api/netflow/realtime: ClickHouse only */
    NF_API_HISTORICAL, /* /api/netflow/historical: Iceberg only */
    NF_API_FLOWS,      /* /api/netflow/flows: the newest raw flows (ClickHouse) */
} nf_api_route;

typedef enum nf_api_format { NF_API_JSON = 0, NF_API_CSV } nf_api_format;

/* Bits of nf_api_request.given: which parameters the request carried. */
enum {
    NF_API_GIVEN_TIME_RANGE = 1u << 0,
    NF_API_GIVEN_START = 1u << 1,
    NF_API_GIVEN_END = 1u << 2,
    NF_API_GIVEN_GROUP_BY = 1u << 3,
    NF_API_GIVEN_INTERVAL = 1u << 4,
    NF_API_GIVEN_FILTER = 1u << 5,
    NF_API_GIVEN_METRIC = 1u << 6,
    NF_API_GIVEN_UNSCALED = 1u << 7,
    NF_API_GIVEN_LIMIT = 1u << 8,
    NF_API_GIVEN_FORMAT = 1u << 9,
    NF_API_GIVEN_SNAPSHOT = 1u << 10,
    NF_API_GIVEN_AS_OF = 1u << 11,
};

typedef struct nf_api_request {
    nf_q_request q;       /* valid for nf_q_build (raw_only false); interval 0 and limit 10
                           * is kept for the kind that ignores it */
    nf_api_format format;
    int64_t snapshot_id;  /* > 0: read exactly this Iceberg snapshot; 0: not asked */
    int64_t as_of_ms;     /* > 0: the snapshot current at this epoch ms; 0: not asked */
    unsigned given;       /* NF_API_GIVEN_* bits */
} nf_api_request;

/* Parses the n parameters kv (borrowed; kv may be NULL when n is 0) of a request that came
 * in on route, with now_s the current epoch second (for time_range). Returns NF_OK and
 * fills *out; or NF_EINVAL with err->msg "parameter 'X': why" and, when param is not NULL,
 * the parameter's name X written to param (NF_API_PARAM_MAX bytes; "" when the fault is not
 * one parameter's, e.g. too many of them). A name repeated from the request is clipped and
 * its bytes outside printable ASCII and quotes replaced by '?'. *out and param are written
 * only on the corresponding outcome. NF_EINVAL also (parameter "") for a NULL out, a NULL kv
 * with n > 0, or now_s outside 0..2^32-2. */
nf_status nf_api_parse(const nf_api_kv *kv, size_t n, int64_t now_s, nf_api_route route,
                       nf_api_request *out, char *param, nf_err *err);

/* One answer row, as both backends give them (the layout of nf_histq_row; the core converts
 * ClickHouse's TabSeparated lines into it). */
typedef struct nf_api_row {
    char key[48];   /* top-N: the key as text ("10.1.2.3", "2001:db8::1", "443"); "" for a
                     * time series */
    int64_t ts;     /* time series: bucket start, epoch seconds; 0 for top-N */
    uint64_t value; /* the metric */
} nf_api_row;

/* What the answer says about itself. All pointers borrowed. */
typedef struct nf_api_meta {
    const char *backend;  /* "clickhouse", "iceberg" or "both" (stitched) */
    const char *table;    /* table or plan text (nf_q_explain, histq stats); may be NULL */
    uint64_t elapsed_ms;  /* time spent answering */
    int64_t snapshot_id;  /* > 0: written as "snapshot_id" (Iceberg answers) */
    const bool *spikes;   /* time series: NULL, or one flag per row (nf_api_spikes) */
} nf_api_meta;

/* The JSON answer (shape at the top) for req (borrowed, as nf_api_parse made it) and the n
 * rows (borrowed; may be NULL when n is 0) in the order given. *out is malloc'd,
 * NUL-terminated, owned by the caller (free()); written only on NF_OK. NF_EINVAL for a NULL
 * req, meta or out, an unknown group_by or metric, or a row the answer cannot carry: a
 * numeric key that is not a decimal number, an address key that is not an address, a
 * bucket time outside 0..253402300799; NF_ENOMEM. Text in table that is not valid UTF-8 is
 * written with '?' for the bad bytes. */
nf_status nf_api_render_json(const nf_api_request *req, const nf_api_row *rows, size_t n,
                             const nf_api_meta *meta, char **out, nf_err *err);

/* The CSV answer: a header line with the columns of the JSON results ("src_ip,bytes" or
 * "timestamp,bytes[,spike]"), then one line per row, CRLF ends. Same arguments, ownership
 * and errors as nf_api_render_json; of meta only spikes is used. */
nf_status nf_api_render_csv(const nf_api_request *req, const nf_api_row *rows, size_t n,
                            const nf_api_meta *meta, char **out, nf_err *err);

/* One raw flow of /api/netflow/flows (nf_q_build_flows' columns). */
typedef struct nf_api_flow {
    int64_t ts;                 /* epoch seconds the flow was received */
    char src[48], dst[48];      /* address text */
    char exporter[48];
    uint16_t src_port, dst_port;
    uint8_t protocol;
    uint64_t bytes, packets;    /* as exported (multiply by sampling_rate to scale) */
    uint32_t in_if, out_if;
    uint32_t sampling_rate;
} nf_api_flow;

/* The answer of /api/netflow/flows for req (route NF_API_FLOWS) and the n flows (borrowed):
 *   JSON {"results":[{"timestamp":"…Z","src_ip":"…","dst_ip":"…","src_port":n,"dst_port":n,
 *         "protocol":n,"bytes":n,"packets":n,"exporter":"…","in_if":n,"out_if":n,
 *         "sampling_rate":n}, …],"backend":…,"table":…,"elapsed_ms":n,"start":…,"end":…,
 *         "limit":n}
 *   CSV  the same columns, header line, CRLF (csv true; of meta nothing is used).
 * Ownership and errors as nf_api_render_json (an address that does not parse, a time outside
 * 0..253402300799: NF_EINVAL). */
nf_status nf_api_render_flows(const nf_api_request *req, const nf_api_flow *flows, size_t n,
                              const nf_api_meta *meta, bool csv, char **out, nf_err *err);

/* {"error":{"message":"…","parameter":"…"}} — parameter null when param is NULL or "".
 * message NULL gives "error". Both borrowed; invalid UTF-8 bytes become '?'. Returns a
 * malloc'd string (free()), or NULL when out of memory. */
char *nf_api_render_error(const char *param, const char *message);

/* Stitching: the answer to req from two answers over disjoint parts of its time range
 * (e.g. Iceberg for the old part, ClickHouse for the recent part), a and b (borrowed, may be
 * NULL when their count is 0).
 *   top-N:       values summed per key (keys compared as the field's value: addresses by
 *                their 16 bytes, numbers numerically, so "::ffff:10.0.0.1" and "10.0.0.1"
 *                are one key; the text of its first row is kept), sums wrapping modulo 2^64
 *                as ClickHouse's UInt64; ordered by value desc, then key ascending (lib/query's
 *                order); cut to req->q.limit.
 *   time series: values summed per bucket start; ascending.
 * Exactness: a time series is always exact. A top-N is exact only when each input holds
 * every key of its part: a key cut from one input's top list would miss that part of its
 * sum, and could be ranked too low or left out. So the core asks each backend for the
 * largest limit (10000), and treats an input of 10000 rows as possibly incomplete (the
 * merged answer is then a good estimate, not exact: every value is at most the true one).
 * *out (malloc'd, free(); NULL when *nout is 0) and *nout are written only on NF_OK.
 * NF_EINVAL for NULL arguments, an unknown group_by, or a key that is not its field's value;
 * NF_ENOMEM. */
nf_status nf_api_merge(const nf_api_request *req, const nf_api_row *a, size_t na,
                       const nf_api_row *b, size_t nb, nf_api_row **out, size_t *nout,
                       nf_err *err);

/* Spike detection (issue 6 item 5) for a time series.
 *
 * Method: the rows (ascending bucket starts, interval apart or more) are laid out on the
 * dense grid from the first to the last bucket, missing buckets being 0 (no flows). For each
 * row's bucket, the baseline is the median m of the NF_API_SPIKE_WINDOW buckets centred on it
 * (shifted inward at the ends, so the window stays full), the spread is the median absolute
 * deviation MAD of the same window, scaled by 1.4826 (then it estimates the standard
 * deviation of normal noise). A bucket is a spike when
 *     |x − m| > max(NF_API_SPIKE_K · 1.4826 · MAD,  NF_API_SPIKE_REL · m,  1)
 * — both directions: a burst and a collapse of traffic. Why so: median and MAD ignore up to
 * half the window being outliers, so one spike does not raise its own baseline, and a
 * centred window follows trends and daily cycles slower than the window. The floor (a
 * relative departure of at least NF_API_SPIKE_REL of the baseline) keeps a perfectly flat
 * series (MAD 0) from flagging every small wiggle. A series shorter than
 * NF_API_SPIKE_MIN_POINTS buckets has no baseline: nothing is flagged.
 *
 * flags (n entries, caller-owned) gets one flag per row; *nflagged (may be NULL) the count.
 * Both written only on NF_OK. NF_EINVAL for interval 0, rows not strictly ascending or not on
 * the interval grid relative to the first row, or a grid longer than NF_API_SPIKE_MAX_GRID
 * buckets; NF_ENOMEM. series and flags may be NULL when n is 0. */
#define NF_API_SPIKE_WINDOW 15         /* buckets: 15 min at 1 min, a bit over a day at 1 h */
#define NF_API_SPIKE_K 5.0             /* robust z-score bound: rare for honest noise */
#define NF_API_SPIKE_REL 0.25          /* departure of at least a quarter of the baseline */
#define NF_API_SPIKE_MIN_POINTS 8      /* fewer buckets: no baseline to speak of */
#define NF_API_SPIKE_MAX_GRID 1000000  /* bound on the dense grid (memory: 8 B a bucket) */
nf_status nf_api_spikes(const nf_api_row *series, size_t n, uint32_t interval, bool *flags,
                        size_t *nflagged, nf_err *err);

#endif
