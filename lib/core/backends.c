/* backends.c — the two tiers as the routes see them: ClickHouse (lib/query SQL over
 * lib/clickhouse, TabSeparated rows parsed here) and Iceberg (lib/histq through DuckDB).
 *
 * Design:
 *   1. ClickHouse: one nf_ch per request (nf_ch is one curl handle, single-threaded). A
 *      connection costs a TCP handshake on loopback/LAN — small next to a query — and needs no
 *      pool, no lock and no lifetime rules between requests.
 *   2. Iceberg: c->duck and c->cat are shared and used under c->hist_mu, one query at a time
 *      (the catalog client is opened on first use, and again after a failure)
 *      (DuckDB parallelises inside a query with duckdb_threads; its memory limit then bounds
 *      the whole process's historical memory).
 *   3. ClickHouse's answer is untrusted text: at most CH_MAX_ANSWER bytes, every line exactly
 *      "key<TAB>value" with a key shorter than nf_api_row.key and a decimal value, at most
 *      10 000 rows (lib/query's largest limit) or 1 000 buckets.
 */
#include "core_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../base/clock.h"
#include "../clickhouse/clickhouse.h"

/* 10 000 rows of at most 47 + 1 + 20 + 1 bytes is under 700 KB; 4 MiB leaves room without
 * letting a confused server fill memory. */
#define CH_MAX_ANSWER (4u << 20)
#define MAX_ROWS 10000u

static bool
parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Parses TabSeparated "key\tvalue\n" lines into rows. */
static nf_status
parse_tsv(const char *body, size_t len, bool series, nf_api_row **out, size_t *nout,
          nf_err *err)
{
    size_t cap = 0, n = 0;
    nf_api_row *rows = NULL;
    const char *p = body, *end = body + len;
    size_t line = 0;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            free(rows);
            return nf_err_set(err, NF_EPROTO, "ClickHouse answer line %zu: no line end", line);
        }
        const char *tab = memchr(p, '\t', (size_t)(nl - p));
        if (tab == NULL || memchr(tab + 1, '\t', (size_t)(nl - tab - 1)) != NULL) {
            free(rows);
            return nf_err_set(err, NF_EPROTO, "ClickHouse answer line %zu: not two columns",
                              line);
        }
        if (n == MAX_ROWS) {
            free(rows);
            return nf_err_set(err, NF_EPROTO, "ClickHouse answer: more than %u rows", MAX_ROWS);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            nf_api_row *g = realloc(rows, cap * sizeof(*rows));
            if (g == NULL) {
                free(rows);
                return nf_err_set(err, NF_ENOMEM, "ClickHouse answer: out of memory");
            }
            rows = g;
        }
        nf_api_row *r = &rows[n];
        memset(r, 0, sizeof(*r));
        size_t klen = (size_t)(tab - p);
        uint64_t ts;
        bool ok = parse_u64(tab + 1, (size_t)(nl - tab - 1), &r->value);
        if (series)
            ok = ok && parse_u64(p, klen, &ts) && ts <= INT64_MAX;
        else
            ok = ok && klen > 0 && klen < sizeof(r->key);
        if (!ok) {
            free(rows);
            return nf_err_set(err, NF_EPROTO, "ClickHouse answer line %zu: bad key or value",
                              line);
        }
        if (series)
            r->ts = (int64_t)ts;
        else
            memcpy(r->key, p, klen);
        n++;
        p = nl + 1;
    }
    *out = rows;
    *nout = n;
    return NF_OK;
}

/* One query over a fresh connection as the configured (read-only) user: *body malloc'd
 * (free()) and *len on NF_OK. Counted as a ClickHouse backend query; a failure as an error. */
static nf_status
ch_query(nf_core *c, const char *sql, size_t max, char **body, size_t *len, nf_err *err)
{
    const nf_core_netflow_config *nf = &c->cfg->netflow;
    nf_ch_config cc = {
        .url = nf->clickhouse_url,
        .user = nf->clickhouse_user,
        .password = nf->clickhouse_password,
        .database = nf->clickhouse_database,
        .timeout_ms = nf->clickhouse_timeout_ms,
    };
    nf_ch *ch = NULL;
    atomic_fetch_add(&c->backend_queries[CORE_B_CLICKHOUSE], 1);
    nf_status st = nf_ch_open(&cc, &ch, err);
    if (st == NF_OK)
        st = nf_ch_query(ch, sql, max, body, len, err);
    nf_ch_close(ch);
    if (st != NF_OK)
        atomic_fetch_add(&c->backend_errors[CORE_B_CLICKHOUSE], 1);
    return st;
}

nf_status
core_ch_run(nf_core *c, const nf_q_request *q, nf_api_row **rows, size_t *n, char *plan,
            size_t n_plan, nf_err *err)
{
    char *sql = NULL, *body = NULL;
    size_t len = 0;
    nf_status st = nf_q_build(q, c->cfg->netflow.clickhouse_database, &sql, err);
    if (st != NF_OK)
        return st;
    if (plan != NULL && nf_q_explain(q, plan, n_plan, err) != NF_OK)
        plan[0] = '\0';
    if ((st = ch_query(c, sql, CH_MAX_ANSWER, &body, &len, err)) == NF_OK &&
        (st = parse_tsv(body, len, q->group_by == NF_Q_TIME, rows, n, err)) != NF_OK)
        atomic_fetch_add(&c->backend_errors[CORE_B_CLICKHOUSE], 1);
    free(body);
    free(sql);
    return st;
}

/* Splits one TabSeparated line [p, nl) into exactly n fields (no escapes: our columns are
 * numbers and address text). */
static bool
split_tsv(const char *p, const char *nl, const char **f, size_t *len, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *tab = i + 1 < n ? memchr(p, '\t', (size_t)(nl - p)) : nl;
        if (tab == NULL)
            return false;
        f[i] = p;
        len[i] = (size_t)(tab - p);
        p = tab + 1;
    }
    return memchr(f[n - 1], '\t', len[n - 1]) == NULL;
}

static bool
copy_text(char *out, size_t cap, const char *s, size_t len)
{
    if (len == 0 || len >= cap)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* One line of nf_q_build_flows' answer into f. */
static bool
parse_flow(const char *p, const char *nl, nf_api_flow *f)
{
    const char *c[12];
    size_t l[12];
    uint64_t v[12] = {0};
    if (!split_tsv(p, nl, c, l, 12))
        return false;
    static const uint64_t max[12] = {UINT32_MAX, 0, 0, UINT16_MAX, UINT16_MAX, UINT8_MAX,
                                     UINT64_MAX, UINT64_MAX, 0, UINT32_MAX, UINT32_MAX,
                                     UINT32_MAX};
    for (int i = 0; i < 12; i++)
        if (max[i] != 0 && (!parse_u64(c[i], l[i], &v[i]) || v[i] > max[i]))
            return false;
    memset(f, 0, sizeof(*f));
    f->ts = (int64_t)v[0];
    f->src_port = (uint16_t)v[3];
    f->dst_port = (uint16_t)v[4];
    f->protocol = (uint8_t)v[5];
    f->bytes = v[6];
    f->packets = v[7];
    f->in_if = (uint32_t)v[9];
    f->out_if = (uint32_t)v[10];
    f->sampling_rate = (uint32_t)v[11];
    return copy_text(f->src, sizeof(f->src), c[1], l[1]) &&
           copy_text(f->dst, sizeof(f->dst), c[2], l[2]) &&
           copy_text(f->exporter, sizeof(f->exporter), c[8], l[8]);
}

nf_status
core_ch_flows(nf_core *c, const nf_q_request *q, nf_api_flow **out, size_t *nout, nf_err *err)
{
    char *sql = NULL, *body = NULL;
    size_t len = 0;
    nf_status st = nf_q_build_flows(q, c->cfg->netflow.clickhouse_database, &sql, err);
    if (st != NF_OK)
        return st;
    st = ch_query(c, sql, CH_MAX_ANSWER, &body, &len, err);
    free(sql);
    if (st != NF_OK)
        return st;
    nf_api_flow *flows = calloc(q->limit, sizeof(*flows));
    size_t n = 0;
    if (flows == NULL)
        st = nf_err_set(err, NF_ENOMEM, "recent flows: out of memory");
    for (const char *p = body, *end = body + len; st == NF_OK && p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL || n == q->limit || !parse_flow(p, nl, &flows[n])) {
            st = nf_err_set(err, NF_EPROTO, "ClickHouse answer line %zu: not a flow row", n + 1);
            atomic_fetch_add(&c->backend_errors[CORE_B_CLICKHOUSE], 1);
        } else {
            p = nl + 1;
        }
    }
    free(body);
    if (st != NF_OK) {
        free(flows);
        return st;
    }
    *out = flows;
    *nout = n;
    return NF_OK;
}

/* The catalog client, opened on first use and again after a failed open (caller holds
 * hist_mu): a catalog that is down when the core starts, or restarts later, costs the
 * historical answers of that time (503), not the core. */
static nf_status
ice_catalog(nf_core *c, nf_err *err)
{
    if (c->cat != NULL)
        return NF_OK;
    const nf_core_netflow_config *nf = &c->cfg->netflow;
    nf_security_files f = {{0}};
    if (strncmp(nf->iceberg_catalog, "https://", 8) == 0)
        nf_security_files_get(&nf->iceberg_security, &f);
    nf_ice_catalog_config icc = {.uri = nf->iceberg_catalog,
                                 .ca_file = f.ca[0] ? f.ca : NULL,
                                 .cert_file = f.cert[0] ? f.cert : NULL,
                                 .key_file = f.key[0] ? f.key : NULL};
    nf_status st = nf_ice_catalog_open(&icc, &c->cat, err);
    if (st != NF_OK) {
        c->cat = NULL;
        /* The catalog's own status says what failed; unreachable is "come back later". */
        if (st != NF_EINVAL && st != NF_ENOMEM)
            st = NF_EAGAIN;
    }
    return st;
}

nf_status
core_ice_run(nf_core *c, const nf_q_request *q, const nf_histq_options *opt,
             nf_api_row **rows, size_t *n, int64_t *snapshot_id, nf_err *err)
{
    nf_histq_result *res = NULL;
    nf_histq_stats stats;
    memset(&stats, 0, sizeof(stats));
    atomic_fetch_add(&c->backend_queries[CORE_B_ICEBERG], 1);
    pthread_mutex_lock(&c->hist_mu);
    nf_status st = ice_catalog(c, err);
    if (st == NF_OK)
        st = nf_histq_run(c->cat, c->cfg->ice_ns, c->cfg->ice_table, opt, c->duck, q, &res,
                          &stats, err);
    pthread_mutex_unlock(&c->hist_mu);
    if (st != NF_OK) {
        atomic_fetch_add(&c->backend_errors[CORE_B_ICEBERG], 1);
        return st;
    }
    nf_api_row *out = NULL;
    if (res->n > 0) {
        out = calloc(res->n, sizeof(*out));
        if (out == NULL) {
            nf_histq_result_free(res);
            return nf_err_set(err, NF_ENOMEM, "historical answer: out of memory");
        }
        /* Same layout, different types: copied field by field. */
        for (size_t i = 0; i < res->n; i++) {
            memcpy(out[i].key, res->rows[i].key, sizeof(out[i].key));
            out[i].key[sizeof(out[i].key) - 1] = '\0';
            out[i].ts = res->rows[i].ts;
            out[i].value = res->rows[i].value;
        }
    }
    *rows = out;
    *n = res->n;
    *snapshot_id = stats.snapshot_id;
    nf_histq_result_free(res);
    return NF_OK;
}

/* How long a read of the cold tier's freshness is reused. The stitch boundary is a whole
 * hour at most that fresh, so a few seconds late changes nothing; the metadata load it saves
 * grows with the table's snapshots. */
#define FRESHNESS_TTL_MS 5000u

nf_status
core_ice_freshness(nf_core *c, int64_t *fresh_ms, int64_t *snapshot_id, nf_err *err)
{
    nf_ice_table *t = NULL;
    uint64_t now = nf_mono_ms();
    pthread_mutex_lock(&c->hist_mu);
    if (c->fresh_read_at != 0 && now - c->fresh_read_at < FRESHNESS_TTL_MS) {
        *fresh_ms = c->fresh_ms;
        if (snapshot_id != NULL)
            *snapshot_id = c->fresh_snapshot;
        pthread_mutex_unlock(&c->hist_mu);
        return NF_OK;
    }
    nf_status st = ice_catalog(c, err);
    if (st == NF_OK)
        st = nf_ice_catalog_load(c->cat, c->cfg->ice_ns, c->cfg->ice_table, &t, NULL, err);
    if (st == NF_OK) {
        const nf_ice_snapshot *s = nf_ice_table_current(t);
        c->fresh_ms = s != NULL ? s->timestamp_ms : 0;
        c->fresh_snapshot = s != NULL ? s->snapshot_id : 0;
        c->fresh_read_at = now;
        *fresh_ms = c->fresh_ms;
        if (snapshot_id != NULL)
            *snapshot_id = c->fresh_snapshot;
    }
    pthread_mutex_unlock(&c->hist_mu);
    nf_ice_table_free(t);
    if (st != NF_OK)
        atomic_fetch_add(&c->backend_errors[CORE_B_ICEBERG], 1);
    return st;
}

nf_status
core_ch_latest(nf_core *c, int64_t *latest_s, nf_err *err)
{
    /* The database name is a checked identifier from the config; nothing else varies. The
     * one-day bound lets ClickHouse read only the newest partitions. */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT toUInt64(max(timestamp)) FROM %s.netflow WHERE timestamp >= now() - 86400",
             c->cfg->netflow.clickhouse_database);
    char *body = NULL;
    size_t len = 0;
    nf_status st = ch_query(c, sql, 64, &body, &len, err);
    if (st != NF_OK)
        return st;
    uint64_t v = 0;
    bool ok = len > 1 && body[len - 1] == '\n' && parse_u64(body, len - 1, &v) &&
              v <= INT64_MAX;
    free(body);
    if (!ok)
        return nf_err_set(err, NF_EPROTO, "ClickHouse answer to max(timestamp) not a number");
    *latest_s = (int64_t)v;
    return NF_OK;
}
