/* render.c — answers of the core's HTTP API: JSON and CSV from rows, the JSON error, the
 * merge of two backends' answers (stitching) and spike flags for time series. See api.h.
 *
 * Design:
 *  1. Output is written into one growing buffer (sb); the first failed allocation sticks and
 *     is reported once at the end, so the writers need no error path per append.
 *  2. Numbers are printed as decimal text from their uint64, never through json_integer
 *     (int64) or a double: 2^64-1 stays 18446744073709551615. Strings go through jansson's
 *     encoder (escaping), after invalid UTF-8 bytes are replaced by '?' (jansson refuses
 *     invalid UTF-8, and an answer must not fail because a plan text had a stray byte).
 *  3. Keys are checked against the field before they are written: an address key must parse
 *     as an address, a numeric key as a decimal number (written back canonically). Rows come
 *     from our own backends, but a wrong row must give an error, not a wrong answer.
 *  4. JSON and CSV share one description of the columns (cols), so they cannot drift apart.
 */
#include "api.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/addr.h"
#include "../base/parse.h"

#define TS_MAX 253402300799LL /* 9999-12-31T23:59:59Z: four-digit years */
#define TS_TEXT 80 /* "YYYY-MM-DDTHH:MM:SSZ" and NUL (room for any int the compiler imagines) */

/* ---- growing buffer --------------------------------------------------------------------- */

typedef struct sb {
    char *p;
    size_t len, cap;
    bool failed; /* an allocation failed: everything after is dropped */
} sb;

static void
sb_add(sb *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 1024 : b->cap;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_str(sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(sb *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof(tmp)) {
        b->failed = true; /* only short numbers are printed this way */
        return;
    }
    sb_add(b, tmp, (size_t)w);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
static size_t
utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0; /* also stops at the NUL */
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* s as a JSON string (quoted, escaped; bad UTF-8 bytes as '?'). */
static void
sb_json_str(sb *b, const char *s)
{
    if (b->failed)
        return;
    size_t len = strlen(s);
    char *clean = malloc(len + 1);
    if (clean == NULL) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_len((const unsigned char *)s + i);
        if (k == 0) {
            clean[i++] = '?';
        } else {
            memcpy(clean + i, s + i, k);
            i += k;
        }
    }
    clean[len] = '\0';
    json_t *js = json_stringn(clean, len);
    char *text = js != NULL ? json_dumps(js, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (text == NULL)
        b->failed = true;
    else
        sb_str(b, text);
    free(text);
    json_decref(js);
    free(clean);
}

/* s as a CSV field: quoted, quotes doubled (RFC 4180 §2.7). */
static void
sb_csv_str(sb *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
        sb_add(b, s, (size_t)(q - s));
        sb_add(b, "\"\"", 2);
    }
    sb_str(b, s);
    sb_add(b, "\"", 1);
}

/* ---- columns ---------------------------------------------------------------------------- */

static bool
is_addr_field(nf_q_field f)
{
    return f == NF_Q_SRC_ADDR || f == NF_Q_DST_ADDR || f == NF_Q_EXPORTER;
}

static bool
known_group_by(nf_q_field f)
{
    return f > NF_Q_NONE && f <= NF_Q_TIME;
}

static const char *
metric_name(nf_q_metric m)
{
    switch (m) {
    case NF_Q_BYTES:
        return "bytes";
    case NF_Q_PACKETS:
        return "packets";
    case NF_Q_FLOWS:
        return "flows";
    }
    return NULL;
}

static bool
format_ts(int64_t t, char out[TS_TEXT])
{
    if (t < 0 || t > TS_MAX)
        return false;
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL)
        return false;
    snprintf(out, TS_TEXT, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return true;
}

/* A key as its field's value: 16 address bytes, or 8 zero bytes and the number big-endian
 * (the order lib/query sorts keys in). */
static bool
key_value(nf_q_field f, const char *key, uint8_t k[16], uint64_t *num)
{
    if (memchr(key, '\0', 48) == NULL)
        return false;
    if (is_addr_field(f))
        return nf_addr_parse(key, k);
    uint64_t v;
    if (!nf_parse_u64(key, 0, UINT64_MAX, &v))
        return false;
    memset(k, 0, 8);
    for (int i = 0; i < 8; i++)
        k[8 + i] = (uint8_t)(v >> (56 - 8 * i));
    if (num != NULL)
        *num = v;
    return true;
}

static nf_status
check_args(const nf_api_request *req, const nf_api_row *rows, size_t n, const nf_api_meta *meta,
           char **out, nf_err *err)
{
    if (req == NULL || meta == NULL || out == NULL || (rows == NULL && n > 0))
        return nf_err_set(err, NF_EINVAL, "render: missing argument");
    if (!known_group_by(req->q.group_by))
        return nf_err_set(err, NF_EINVAL, "render: unknown group_by %d", (int)req->q.group_by);
    if (metric_name(req->q.metric) == NULL)
        return nf_err_set(err, NF_EINVAL, "render: unknown metric %d", (int)req->q.metric);
    return NF_OK;
}

/* Writes row i's cells: key or timestamp, then the value, then the spike flag. csv selects
 * the syntax; JSON gets "name": before each cell. */
static nf_status
put_row(sb *b, const nf_api_request *req, const nf_api_row *r, size_t i, const bool *spikes,
        bool csv, nf_err *err)
{
    const char *metric = metric_name(req->q.metric);
    if (req->q.group_by == NF_Q_TIME) {
        char ts[TS_TEXT];
        if (!format_ts(r->ts, ts))
            return nf_err_set(err, NF_EINVAL, "render: row %zu: bucket time %" PRId64
                              " outside 0..%lld", i, r->ts, TS_MAX);
        if (csv)
            sb_csv_str(b, ts);
        else
            sb_printf(b, "{\"timestamp\":\"%s\"", ts);
    } else {
        const char *name = nf_q_field_name(req->q.group_by);
        uint8_t k[16];
        uint64_t num = 0;
        if (!key_value(req->q.group_by, r->key, k, &num))
            return nf_err_set(err, NF_EINVAL, "render: row %zu: key \"%.48s\" is not a %s value",
                              i, memchr(r->key, '\0', 48) ? r->key : "(unterminated)", name);
        if (!csv) {
            sb_printf(b, "{\"%s\":", name);
            if (is_addr_field(req->q.group_by))
                sb_json_str(b, r->key);
            else
                sb_printf(b, "%" PRIu64, num);
        } else if (is_addr_field(req->q.group_by)) {
            sb_csv_str(b, r->key);
        } else {
            sb_printf(b, "%" PRIu64, num);
        }
    }
    if (csv)
        sb_printf(b, ",%" PRIu64, r->value);
    else
        sb_printf(b, ",\"%s\":%" PRIu64, metric, r->value);
    if (req->q.group_by == NF_Q_TIME && spikes != NULL)
        sb_printf(b, csv ? ",%s" : ",\"spike\":%s", spikes[i] ? "true" : "false");
    sb_str(b, csv ? "\r\n" : "}");
    return NF_OK;
}

static nf_status
finish(sb *b, char **out, nf_status st, nf_err *err)
{
    if (st == NF_OK && b->failed)
        st = nf_err_set(err, NF_ENOMEM, "render: out of memory");
    if (st != NF_OK) {
        free(b->p);
        return st;
    }
    *out = b->p;
    return NF_OK;
}

nf_status
nf_api_render_json(const nf_api_request *req, const nf_api_row *rows, size_t n,
                   const nf_api_meta *meta, char **out, nf_err *err)
{
    nf_status st = check_args(req, rows, n, meta, out, err);
    if (st != NF_OK)
        return st;
    char start[TS_TEXT], end[TS_TEXT];
    if (!format_ts(req->q.start, start) || !format_ts(req->q.end, end))
        return nf_err_set(err, NF_EINVAL,
                          "render: range [%" PRId64 ", %" PRId64 ") outside 0..%lld",
                          req->q.start, req->q.end, TS_MAX);
    sb b = {0};
    sb_str(&b, "{\"results\":[");
    for (size_t i = 0; i < n && st == NF_OK; i++) {
        if (i > 0)
            sb_str(&b, ",");
        st = put_row(&b, req, &rows[i], i, meta->spikes, false, err);
    }
    sb_str(&b, "],\"backend\":");
    sb_json_str(&b, meta->backend != NULL ? meta->backend : "");
    sb_str(&b, ",\"table\":");
    sb_json_str(&b, meta->table != NULL ? meta->table : "");
    sb_printf(&b, ",\"elapsed_ms\":%" PRIu64 ",\"start\":\"%s\",\"end\":\"%s\"", meta->elapsed_ms,
              start, end);
    sb_printf(&b, ",\"group_by\":\"%s\",\"metric\":\"%s\"", nf_q_field_name(req->q.group_by),
              metric_name(req->q.metric));
    if (req->q.group_by == NF_Q_TIME)
        sb_printf(&b, ",\"interval\":%" PRIu32, req->q.interval);
    else
        sb_printf(&b, ",\"limit\":%" PRIu32, req->q.limit);
    if (meta->snapshot_id > 0)
        sb_printf(&b, ",\"snapshot_id\":%" PRId64, meta->snapshot_id);
    sb_str(&b, "}");
    return finish(&b, out, st, err);
}

nf_status
nf_api_render_csv(const nf_api_request *req, const nf_api_row *rows, size_t n,
                  const nf_api_meta *meta, char **out, nf_err *err)
{
    nf_status st = check_args(req, rows, n, meta, out, err);
    if (st != NF_OK)
        return st;
    sb b = {0};
    bool series = req->q.group_by == NF_Q_TIME;
    sb_printf(&b, "%s,%s%s\r\n", series ? "timestamp" : nf_q_field_name(req->q.group_by),
              metric_name(req->q.metric), series && meta->spikes != NULL ? ",spike" : "");
    for (size_t i = 0; i < n && st == NF_OK; i++)
        st = put_row(&b, req, &rows[i], i, meta->spikes, true, err);
    return finish(&b, out, st, err);
}

/* ---- recent flows ------------------------------------------------------------------------ */

static const char *const flow_cols[] = {"timestamp", "src_ip", "dst_ip", "src_port",
                                        "dst_port", "protocol", "bytes", "packets", "exporter",
                                        "in_if", "out_if", "sampling_rate"};

/* One flow: JSON object or CSV line; the columns in flow_cols' order. */
static nf_status
put_flow(sb *b, const nf_api_flow *f, size_t i, bool csv, nf_err *err)
{
    char ts[TS_TEXT];
    uint8_t a[16];
    const char *addrs[3] = {f->src, f->dst, f->exporter};
    if (!format_ts(f->ts, ts))
        return nf_err_set(err, NF_EINVAL, "render: flow %zu: time %" PRId64 " outside 0..%lld",
                          i, f->ts, TS_MAX);
    for (int k = 0; k < 3; k++)
        if (memchr(addrs[k], '\0', sizeof(f->src)) == NULL || !nf_addr_parse(addrs[k], a))
            return nf_err_set(err, NF_EINVAL, "render: flow %zu: %s is not an address", i,
                              flow_cols[k == 2 ? 8 : 1 + k]);
    const uint64_t nums[] = {f->src_port, f->dst_port, f->protocol, f->bytes, f->packets};
    const uint64_t nums2[] = {f->in_if, f->out_if, f->sampling_rate};
    if (csv) {
        sb_csv_str(b, ts);
        for (int k = 0; k < 2; k++) {
            sb_str(b, ",");
            sb_csv_str(b, addrs[k]);
        }
        for (size_t k = 0; k < 5; k++)
            sb_printf(b, ",%" PRIu64, nums[k]);
        sb_str(b, ",");
        sb_csv_str(b, f->exporter);
        for (size_t k = 0; k < 3; k++)
            sb_printf(b, ",%" PRIu64, nums2[k]);
        sb_str(b, "\r\n");
        return NF_OK;
    }
    sb_printf(b, "{\"timestamp\":\"%s\"", ts);
    for (int k = 0; k < 2; k++) {
        sb_printf(b, ",\"%s\":", flow_cols[1 + k]);
        sb_json_str(b, addrs[k]);
    }
    for (size_t k = 0; k < 5; k++)
        sb_printf(b, ",\"%s\":%" PRIu64, flow_cols[3 + k], nums[k]);
    sb_str(b, ",\"exporter\":");
    sb_json_str(b, f->exporter);
    for (size_t k = 0; k < 3; k++)
        sb_printf(b, ",\"%s\":%" PRIu64, flow_cols[9 + k], nums2[k]);
    sb_str(b, "}");
    return NF_OK;
}

nf_status
nf_api_render_flows(const nf_api_request *req, const nf_api_flow *flows, size_t n,
                    const nf_api_meta *meta, bool csv, char **out, nf_err *err)
{
    if (req == NULL || meta == NULL || out == NULL || (flows == NULL && n > 0))
        return nf_err_set(err, NF_EINVAL, "render: missing argument");
    char start[TS_TEXT], end[TS_TEXT];
    if (!format_ts(req->q.start, start) || !format_ts(req->q.end, end))
        return nf_err_set(err, NF_EINVAL,
                          "render: range [%" PRId64 ", %" PRId64 ") outside 0..%lld",
                          req->q.start, req->q.end, TS_MAX);
    sb b = {0};
    nf_status st = NF_OK;
    if (csv) {
        for (size_t k = 0; k < sizeof(flow_cols) / sizeof(flow_cols[0]); k++)
            sb_printf(&b, "%s%s", k > 0 ? "," : "", flow_cols[k]);
        sb_str(&b, "\r\n");
        for (size_t i = 0; i < n && st == NF_OK; i++)
            st = put_flow(&b, &flows[i], i, true, err);
        return finish(&b, out, st, err);
    }
    sb_str(&b, "{\"results\":[");
    for (size_t i = 0; i < n && st == NF_OK; i++) {
        if (i > 0)
            sb_str(&b, ",");
        st = put_flow(&b, &flows[i], i, false, err);
    }
    sb_str(&b, "],\"backend\":");
    sb_json_str(&b, meta->backend != NULL ? meta->backend : "");
    sb_str(&b, ",\"table\":");
    sb_json_str(&b, meta->table != NULL ? meta->table : "");
    sb_printf(&b, ",\"elapsed_ms\":%" PRIu64 ",\"start\":\"%s\",\"end\":\"%s\",\"limit\":%" PRIu32
                  "}",
              meta->elapsed_ms, start, end, req->q.limit);
    return finish(&b, out, st, err);
}

char *
nf_api_render_error(const char *param, const char *message)
{
    sb b = {0};
    sb_str(&b, "{\"error\":{\"message\":");
    sb_json_str(&b, message != NULL ? message : "error");
    sb_str(&b, ",\"parameter\":");
    if (param == NULL || param[0] == '\0')
        sb_str(&b, "null");
    else
        sb_json_str(&b, param);
    sb_str(&b, "}}");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- merge ------------------------------------------------------------------------------ */

typedef struct mrow {
    nf_api_row row;
    uint8_t k[16]; /* the key as its field's value (key_value), or the biased bucket time */
    size_t seq;    /* input position: a then b, so the first text of a key is kept */
} mrow;

static int
cmp_key(const void *x, const void *y)
{
    const mrow *a = x, *b = y;
    int c = memcmp(a->k, b->k, 16);
    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int
cmp_rank(const void *x, const void *y)
{
    const mrow *a = x, *b = y;
    if (a->row.value != b->row.value)
        return a->row.value > b->row.value ? -1 : 1;
    return memcmp(a->k, b->k, 16);
}

nf_status
nf_api_merge(const nf_api_request *req, const nf_api_row *a, size_t na, const nf_api_row *b,
             size_t nb, nf_api_row **out, size_t *nout, nf_err *err)
{
    if (req == NULL || out == NULL || nout == NULL || (a == NULL && na > 0) ||
        (b == NULL && nb > 0))
        return nf_err_set(err, NF_EINVAL, "merge: missing argument");
    if (!known_group_by(req->q.group_by))
        return nf_err_set(err, NF_EINVAL, "merge: unknown group_by %d", (int)req->q.group_by);
    if (na > SIZE_MAX / sizeof(mrow) - nb)
        return nf_err_set(err, NF_ENOMEM, "merge: %zu + %zu rows", na, nb);
    size_t total = na + nb;
    bool series = req->q.group_by == NF_Q_TIME;
    if (total == 0) {
        *out = NULL;
        *nout = 0;
        return NF_OK;
    }
    mrow *m = malloc(total * sizeof(*m));
    if (m == NULL)
        return nf_err_set(err, NF_ENOMEM, "merge: %zu rows", total);
    for (size_t i = 0; i < total; i++) {
        const nf_api_row *r = i < na ? &a[i] : &b[i - na];
        m[i].row = *r;
        m[i].seq = i;
        if (series) {
            uint64_t t = (uint64_t)r->ts ^ (UINT64_C(1) << 63); /* signed order as unsigned */
            memset(m[i].k, 0, 8);
            for (int j = 0; j < 8; j++)
                m[i].k[8 + j] = (uint8_t)(t >> (56 - 8 * j));
        } else if (!key_value(req->q.group_by, r->key, m[i].k, NULL)) {
            free(m);
            return nf_err_set(err, NF_EINVAL, "merge: %s row %zu: key is not a %s value",
                              i < na ? "first" : "second", i < na ? i : i - na,
                              nf_q_field_name(req->q.group_by));
        }
    }
    qsort(m, total, sizeof(*m), cmp_key);
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        if (k > 0 && memcmp(m[k - 1].k, m[i].k, 16) == 0)
            m[k - 1].row.value += m[i].row.value; /* wraps modulo 2^64, as UInt64 sums do */
        else
            m[k++] = m[i];
    }
    if (!series) {
        qsort(m, k, sizeof(*m), cmp_rank);
        if (k > req->q.limit)
            k = req->q.limit;
    }
    nf_api_row *res = k > 0 ? malloc(k * sizeof(*res)) : NULL;
    if (k > 0 && res == NULL) {
        free(m);
        return nf_err_set(err, NF_ENOMEM, "merge: %zu rows", k);
    }
    for (size_t i = 0; i < k; i++)
        res[i] = m[i].row;
    free(m);
    *out = res;
    *nout = k;
    return NF_OK;
}

/* ---- spikes ----------------------------------------------------------------------------- */

static int
cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Median of v[0..n) (n >= 1); sorts v. */
static double
median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

nf_status
nf_api_spikes(const nf_api_row *series, size_t n, uint32_t interval, bool *flags,
              size_t *nflagged, nf_err *err)
{
    if (interval == 0)
        return nf_err_set(err, NF_EINVAL, "spikes: interval 0");
    if (n > 0 && (series == NULL || flags == NULL))
        return nf_err_set(err, NF_EINVAL, "spikes: missing argument");
    size_t grid = 0;
    if (n > 0) {
        for (size_t i = 1; i < n; i++) {
            if (series[i].ts <= series[i - 1].ts)
                return nf_err_set(err, NF_EINVAL, "spikes: row %zu: time %" PRId64
                                  " not after the previous row's", i, series[i].ts);
            uint64_t span = (uint64_t)series[i].ts - (uint64_t)series[0].ts;
            if (span > (uint64_t)interval * NF_API_SPIKE_MAX_GRID)
                return nf_err_set(err, NF_EINVAL, "spikes: series spans more than %d buckets",
                                  NF_API_SPIKE_MAX_GRID);
            if (span % interval != 0)
                return nf_err_set(err, NF_EINVAL, "spikes: row %zu: time %" PRId64
                                  " not on the %" PRIu32 " s grid", i, series[i].ts, interval);
        }
        grid = (size_t)(((uint64_t)series[n - 1].ts - (uint64_t)series[0].ts) / interval) + 1;
    }
    if (grid < NF_API_SPIKE_MIN_POINTS) {
        for (size_t i = 0; i < n; i++)
            flags[i] = false;
        if (nflagged != NULL)
            *nflagged = 0;
        return NF_OK;
    }
    double *v = calloc(grid, sizeof(*v));
    if (v == NULL)
        return nf_err_set(err, NF_ENOMEM, "spikes: grid of %zu buckets", grid);
    for (size_t i = 0; i < n; i++)
        v[((uint64_t)series[i].ts - (uint64_t)series[0].ts) / interval] = (double)series[i].value;
    size_t w = grid < NF_API_SPIKE_WINDOW ? grid : NF_API_SPIKE_WINDOW;
    double win[NF_API_SPIKE_WINDOW];
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t g = (size_t)(((uint64_t)series[i].ts - (uint64_t)series[0].ts) / interval);
        size_t lo = g >= w / 2 ? g - w / 2 : 0;
        if (lo + w > grid)
            lo = grid - w;
        memcpy(win, v + lo, w * sizeof(*win));
        double m = median(win, w);
        for (size_t j = 0; j < w; j++)
            win[j] = win[j] > m ? win[j] - m : m - win[j];
        double mad = median(win, w);
        double dev = v[g] > m ? v[g] - m : m - v[g];
        double bound = NF_API_SPIKE_K * 1.4826 * mad;
        if (bound < NF_API_SPIKE_REL * m)
            bound = NF_API_SPIKE_REL * m;
        if (bound < 1.0)
            bound = 1.0;
        flags[i] = dev > bound;
        count += flags[i];
    }
    free(v);
    if (nflagged != NULL)
        *nflagged = count;
    return NF_OK;
}
