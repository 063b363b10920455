/* status.c — GET /api/netflow/status: the pipeline at a glance, gathered at request time.
 *
 * Every daemon already counts what it received, forwarded and dropped, and exposes the
 * counters on its Prometheus endpoint. The core reads the endpoints listed in
 * status.sources (all in parallel, each bounded by status.timeout and by SCRAPE_MAX bytes),
 * parses them with lib/metrics' reader, and maps each daemon's own counters to one shape by a
 * table per role (rules[] below): received, forwarded, dropped by reason, lag, health. The
 * two tiers' freshness is asked of the tiers themselves (ClickHouse's newest flow, Iceberg's
 * current snapshot). Nothing is cached: the answer is as fresh as the request, and a daemon
 * that cannot be read is reported as such ("up": false, "error"), never silently skipped.
 *
 * Why scrape rather than have the daemons push: the endpoints exist for Prometheus anyway,
 * the core needs no new protocol, and the status page shows exactly what an operator's
 * Prometheus sees.
 *
 * Units differ between hops (a checker receives datagrams, an agent relays chunks): each hop
 * says its units. "dropped_total" adds every drop counter whatever its unit: it is a signal
 * ("0 = nothing was lost anywhere"), the per-reason counts are the facts.
 */
#include "core_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../metrics/parse.h"

#define SCRAPE_MAX (4u << 20) /* a daemon's metrics are a few KiB; a poller with many agents
                               * a few hundred KiB */

/* ---- the mapping: a daemon's counters → the hop's fields ------------------------------------ */

enum field { F_RECEIVED, F_DECODED, F_FORWARDED, F_DROPPED, F_LAG_PENDING, F_LAG_ACK, F_UP };

typedef struct rule {
    nf_core_role role;
    const char *metric;
    enum field field;
    const char *label;  /* F_DROPPED: the reason is "<reason>_<label value>"; else NULL */
    const char *want;   /* only samples whose `label` has this value; NULL: all */
    const char *reason; /* F_DROPPED */
} rule;

static const rule rules[] = {
    {NF_CORE_ROLE_CHECKER, "netflow_checker_udp_datagrams_total", F_RECEIVED, NULL, NULL, NULL},
    {NF_CORE_ROLE_CHECKER, "netflow_checker_flows_decoded_total", F_DECODED, NULL, NULL, NULL},
    /* Stored for the agent to fetch (records_sent_total counts re-reads again). */
    {NF_CORE_ROLE_CHECKER, "netflow_checker_ring_appended_total", F_FORWARDED, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_CHECKER, "netflow_checker_udp_kernel_drops_total", F_DROPPED, NULL, NULL,
     "udp_kernel_drops"},
    {NF_CORE_ROLE_CHECKER, "netflow_checker_udp_truncated_total", F_DROPPED, NULL, NULL,
     "udp_truncated"},
    {NF_CORE_ROLE_CHECKER, "netflow_checker_udp_receive_errors_total", F_DROPPED, NULL, NULL,
     "udp_receive_errors"},
    {NF_CORE_ROLE_CHECKER, "netflow_checker_decode_errors_total", F_DROPPED, "reason", NULL,
     "decode"},
    {NF_CORE_ROLE_CHECKER, "netflow_checker_ring_evicted_unread_total", F_DROPPED, NULL, NULL,
     "ring_evicted_unread"},
    /* Lost before the checker (exporter or network), seen in the export sequence numbers. */
    {NF_CORE_ROLE_CHECKER, "netflow_checker_sequence_lost_total", F_DROPPED, "unit", NULL,
     "exporter_sequence_lost"},
    {NF_CORE_ROLE_AGENT, "serviceradar_agent_chunks_relayed_total", F_RECEIVED, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_AGENT, "serviceradar_agent_chunks_relayed_total", F_FORWARDED, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_AGENT, "serviceradar_agent_refused_total", F_DROPPED, NULL, NULL,
     "refused_requests"},
    {NF_CORE_ROLE_AGENT, "serviceradar_agent_forward_failures_total", F_DROPPED, NULL, NULL,
     "forward_failures"},
    {NF_CORE_ROLE_POLLER, "serviceradar_poller_records_published_total", F_RECEIVED, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_POLLER, "serviceradar_poller_records_published_total", F_FORWARDED, NULL,
     NULL, NULL},
    {NF_CORE_ROLE_POLLER, "serviceradar_poller_records_lost_at_edge_total", F_DROPPED, NULL,
     NULL, "lost_at_edge"},
    {NF_CORE_ROLE_POLLER, "serviceradar_poller_publish_errors_total", F_DROPPED, NULL, NULL,
     "publish_errors"},
    {NF_CORE_ROLE_POLLER, "serviceradar_poller_nats_connected", F_UP, NULL, NULL, NULL},
    {NF_CORE_ROLE_POLLER, "serviceradar_poller_agent_up", F_UP, NULL, NULL, NULL},
    {NF_CORE_ROLE_CLICKHOUSE_WRITER, "serviceradar_netflow_clickhouse_records_total", F_RECEIVED,
     NULL, NULL, NULL},
    {NF_CORE_ROLE_CLICKHOUSE_WRITER, "serviceradar_netflow_clickhouse_records_inserted_total",
     F_FORWARDED, NULL, NULL, NULL},
    {NF_CORE_ROLE_CLICKHOUSE_WRITER, "serviceradar_netflow_clickhouse_dead_letters_total",
     F_DROPPED, NULL, NULL, "dead_letter_messages"},
    {NF_CORE_ROLE_CLICKHOUSE_WRITER,
     "serviceradar_netflow_clickhouse_consumer_pending_messages", F_LAG_PENDING, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_CLICKHOUSE_WRITER, "serviceradar_netflow_clickhouse_consumer_ack_pending",
     F_LAG_ACK, NULL, NULL, NULL},
    {NF_CORE_ROLE_CLICKHOUSE_WRITER, "serviceradar_netflow_clickhouse_up", F_UP, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_CLICKHOUSE_WRITER, "serviceradar_netflow_clickhouse_nats_up", F_UP, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_PARQUET_WRITER, "serviceradar_netflow_parquet_records_total", F_RECEIVED, NULL,
     NULL, NULL},
    {NF_CORE_ROLE_PARQUET_WRITER, "serviceradar_netflow_parquet_records_committed_total",
     F_FORWARDED, NULL, NULL, NULL},
    {NF_CORE_ROLE_PARQUET_WRITER, "serviceradar_netflow_parquet_dead_letters_total", F_DROPPED,
     NULL, NULL, "dead_letter_messages"},
    {NF_CORE_ROLE_PARQUET_WRITER, "serviceradar_netflow_parquet_consumer_pending_messages",
     F_LAG_PENDING, NULL, NULL, NULL},
    {NF_CORE_ROLE_PARQUET_WRITER, "serviceradar_netflow_parquet_consumer_ack_pending", F_LAG_ACK,
     NULL, NULL, NULL},
    {NF_CORE_ROLE_PARQUET_WRITER, "serviceradar_netflow_parquet_nats_up", F_UP, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_PARQUET_WRITER, "serviceradar_netflow_parquet_catalog_up", F_UP, NULL, NULL,
     NULL},
    {NF_CORE_ROLE_ICEBERG_CATALOG, "serviceradar_iceberg_catalog_requests_total", F_RECEIVED,
     NULL, NULL, NULL},
    {NF_CORE_ROLE_ICEBERG_CATALOG, "serviceradar_iceberg_catalog_commits_total", F_FORWARDED,
     "result", "ok", NULL},
};

/* What received and forwarded count, by role. */
static const char *const units[NF_CORE_ROLE_COUNT][2] = {
    [NF_CORE_ROLE_CHECKER] = {"datagrams", "records"},
    [NF_CORE_ROLE_AGENT] = {"chunks", "chunks"},
    [NF_CORE_ROLE_POLLER] = {"records", "records"},
    [NF_CORE_ROLE_CLICKHOUSE_WRITER] = {"records", "records"},
    [NF_CORE_ROLE_PARQUET_WRITER] = {"records", "records"},
    [NF_CORE_ROLE_ICEBERG_CATALOG] = {"requests", "commits"},
};

#define REASONS_MAX 48

typedef struct hop {
    nf_core_role role;
    uint64_t received, decoded, forwarded, lag_pending, lag_ack;
    bool has_decoded, has_lag_pending, has_lag_ack, has_up, healthy;
    size_t nreasons;
    char reason[REASONS_MAX][64];
    uint64_t dropped[REASONS_MAX];
} hop;

static uint64_t
sample_u64(const nf_prom_sample *s)
{
    if (s->is_uint)
        return s->uvalue;
    if (!(s->value >= 0)) /* negative or NaN */
        return 0;
    return s->value >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)s->value;
}

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void
add_drop(hop *h, const char *reason, uint64_t v)
{
    for (size_t i = 0; i < h->nreasons; i++)
        if (strcmp(h->reason[i], reason) == 0) {
            h->dropped[i] = add_sat(h->dropped[i], v);
            return;
        }
    if (h->nreasons == REASONS_MAX)
        return; /* a daemon inventing reasons without end: the first REASONS_MAX are kept */
    snprintf(h->reason[h->nreasons], sizeof(h->reason[0]), "%s", reason);
    h->dropped[h->nreasons++] = v;
}

/* Reason label values become part of a JSON key: keep them to [a-z0-9_]. */
static void
reason_key(char *out, size_t n, const char *base, const char *label_value)
{
    size_t o = (size_t)snprintf(out, n, "%s%s", base, label_value != NULL ? "_" : "");
    if (o >= n || label_value == NULL)
        return;
    for (const char *p = label_value; *p != '\0' && o + 1 < n; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a'), ok = true;
        out[o++] = ok ? c : '_';
    }
    out[o] = '\0';
}

static void
apply_sample(void *ctx, const nf_prom_sample *s)
{
    hop *h = ctx;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const rule *r = &rules[i];
        if (r->role != h->role || !nf_prom_is(s, r->metric))
            continue;
        char lv[64] = "";
        if (r->label != NULL && !nf_prom_label(s, r->label, lv, sizeof(lv)))
            continue;
        if (r->want != NULL && strcmp(lv, r->want) != 0)
            continue;
        uint64_t v = sample_u64(s);
        switch (r->field) {
        case F_RECEIVED:
            h->received = add_sat(h->received, v);
            break;
        case F_DECODED:
            h->decoded = add_sat(h->decoded, v);
            h->has_decoded = true;
            break;
        case F_FORWARDED:
            h->forwarded = add_sat(h->forwarded, v);
            break;
        case F_DROPPED: {
            char key[64];
            reason_key(key, sizeof(key), r->reason, r->label != NULL ? lv : NULL);
            add_drop(h, key, v);
            break;
        }
        case F_LAG_PENDING:
            h->lag_pending = v;
            h->has_lag_pending = true;
            break;
        case F_LAG_ACK:
            h->lag_ack = v;
            h->has_lag_ack = true;
            break;
        case F_UP:
            h->healthy = (h->has_up ? h->healthy : true) && s->value == 1.0;
            h->has_up = true;
            break;
        }
    }
}

/* ---- scraping ---------------------------------------------------------------------------- */

typedef struct scrape {
    const nf_core_status_source *src;
    CURL *h;
    char *body;
    size_t len;
    bool too_big;
    bool done;
    CURLcode rc;
    char errbuf[CURL_ERROR_SIZE];
} scrape;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    scrape *s = ctx;
    size_t n = size * nmemb;
    if (n > SCRAPE_MAX - s->len) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    char *g = realloc(s->body, s->len + n + 1);
    if (g == NULL)
        return 0;
    s->body = g;
    memcpy(s->body + s->len, data, n);
    s->len += n;
    s->body[s->len] = '\0';
    return n;
}

static bool
scrape_setup(scrape *s, uint64_t timeout_ms)
{
    s->h = curl_easy_init();
    if (s->h == NULL)
        return false;
    curl_easy_setopt(s->h, CURLOPT_URL, s->src->url);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(s->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->h, CURLOPT_FOLLOWLOCATION, 0L);
    return true;
}

/* Reads every source at once; each scrape ends done (rc, body) or failed. */
static void
scrape_all(scrape *sc, size_t n, uint64_t timeout_ms)
{
    CURLM *m = curl_multi_init();
    for (size_t i = 0; i < n; i++) {
        if (!scrape_setup(&sc[i], timeout_ms) || m == NULL ||
            curl_multi_add_handle(m, sc[i].h) != CURLM_OK) {
            sc[i].rc = CURLE_OUT_OF_MEMORY;
            sc[i].done = true;
        }
    }
    if (m == NULL)
        return;
    int running = 1;
    while (running > 0) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running > 0 && curl_multi_poll(m, NULL, 0, 200, NULL) != CURLM_OK)
            break;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        for (size_t i = 0; i < n; i++)
            if (sc[i].h == msg->easy_handle) {
                sc[i].rc = msg->data.result;
                sc[i].done = true;
            }
    }
    for (size_t i = 0; i < n; i++)
        if (sc[i].h != NULL)
            curl_multi_remove_handle(m, sc[i].h);
    curl_multi_cleanup(m);
}

/* ---- the answer -------------------------------------------------------------------------- */

static json_t *
jint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *
jtime(int64_t epoch_s)
{
    char buf[32];
    time_t t = (time_t)epoch_s;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* One hop's JSON from its scrape; adds its drops to *dropped_total. */
static json_t *
hop_json(const scrape *s, uint64_t *dropped_total)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->src->name));
    json_object_set_new(o, "role", json_string(nf_core_role_name(s->src->role)));
    json_object_set_new(o, "url", json_string(s->src->url));
    char why[CURL_ERROR_SIZE + 64] = "";
    hop h;
    memset(&h, 0, sizeof(h));
    h.role = s->src->role;
    if (!s->done)
        snprintf(why, sizeof(why), "no answer within the timeout");
    else if (s->too_big)
        snprintf(why, sizeof(why), "metrics larger than %u bytes", SCRAPE_MAX);
    else if (s->rc != CURLE_OK)
        snprintf(why, sizeof(why), "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->rc));
    else {
        nf_err e = {0};
        if (nf_prom_parse(s->body != NULL ? s->body : "", s->len, apply_sample, &h, &e) != NF_OK)
            snprintf(why, sizeof(why), "not Prometheus text: %s", e.msg);
    }
    json_object_set_new(o, "up", json_boolean(why[0] == '\0'));
    if (why[0] != '\0') {
        json_object_set_new(o, "error", json_string(why));
        return o;
    }
    json_object_set_new(o, "received", jint(h.received));
    if (h.has_decoded)
        json_object_set_new(o, "decoded", jint(h.decoded));
    json_object_set_new(o, "forwarded", jint(h.forwarded));
    json_t *units_o = json_object();
    json_object_set_new(units_o, "received", json_string(units[h.role][0]));
    if (h.has_decoded)
        json_object_set_new(units_o, "decoded", json_string("records"));
    json_object_set_new(units_o, "forwarded", json_string(units[h.role][1]));
    json_object_set_new(o, "units", units_o);
    json_t *d = json_object();
    for (size_t i = 0; i < h.nreasons; i++) {
        json_object_set_new(d, h.reason[i], jint(h.dropped[i]));
        *dropped_total = add_sat(*dropped_total, h.dropped[i]);
    }
    json_object_set_new(o, "dropped", d);
    if (h.has_lag_pending || h.has_lag_ack) {
        json_t *lag = json_object();
        json_object_set_new(lag, "pending_messages", jint(h.lag_pending));
        json_object_set_new(lag, "ack_pending", jint(h.lag_ack));
        json_object_set_new(o, "lag", lag);
    }
    if (h.has_up)
        json_object_set_new(o, "healthy", json_boolean(h.healthy));
    return o;
}

static json_t *
tiers_json(nf_core *c, int64_t now_s)
{
    json_t *tiers = json_object();
    json_t *ch = json_object();
    int64_t latest = 0;
    nf_err e = {0};
    bool up = core_ch_latest(c, &latest, &e) == NF_OK;
    json_object_set_new(ch, "up", json_boolean(up));
    if (!up)
        json_object_set_new(ch, "error", json_string(e.msg));
    json_object_set_new(ch, "latest", up && latest > 0 ? jtime(latest) : json_null());
    json_object_set_new(ch, "behind_seconds", up && latest > 0
                                                  ? json_integer(now_s > latest ? now_s - latest : 0)
                                                  : json_null());
    json_object_set_new(tiers, "clickhouse", ch);

    json_t *ice = json_object();
    int64_t fresh_ms = 0, snap = 0;
    memset(&e, 0, sizeof(e));
    up = core_ice_freshness(c, &fresh_ms, &snap, &e) == NF_OK;
    json_object_set_new(ice, "up", json_boolean(up));
    if (!up)
        json_object_set_new(ice, "error", json_string(e.msg));
    int64_t fresh_s = fresh_ms / 1000;
    json_object_set_new(ice, "last_commit", up && fresh_ms > 0 ? jtime(fresh_s) : json_null());
    json_object_set_new(ice, "behind_seconds", up && fresh_ms > 0
                                                   ? json_integer(now_s > fresh_s ? now_s - fresh_s : 0)
                                                   : json_null());
    json_object_set_new(ice, "snapshot_id", up && snap != 0 ? json_integer(snap) : json_null());
    json_object_set_new(tiers, "iceberg", ice);
    return tiers;
}

void
core_route_status(nf_core *c, core_answer *a)
{
    const nf_core_status_config *cfg = &c->cfg->status;
    int64_t now_s = (int64_t)time(NULL);
    scrape *sc = calloc(cfg->nsources ? cfg->nsources : 1, sizeof(*sc));
    json_t *root = json_object(), *hops = json_array();
    if (sc == NULL || root == NULL || hops == NULL) {
        free(sc);
        json_decref(root);
        json_decref(hops);
        core_fail(a, 500, NULL, "out of memory");
        return;
    }
    for (size_t i = 0; i < cfg->nsources; i++)
        sc[i].src = &cfg->sources[i];
    scrape_all(sc, cfg->nsources, cfg->timeout_ms);
    uint64_t dropped_total = 0;
    for (size_t i = 0; i < cfg->nsources; i++) {
        json_array_append_new(hops, hop_json(&sc[i], &dropped_total));
        if (sc[i].h != NULL)
            curl_easy_cleanup(sc[i].h);
        free(sc[i].body);
    }
    free(sc);
    json_object_set_new(root, "generated_at", jtime(now_s));
    json_object_set_new(root, "hops", hops);
    json_object_set_new(root, "tiers", tiers_json(c, now_s));
    json_object_set_new(root, "dropped_total", jint(dropped_total));
    char *body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (body == NULL) {
        core_fail(a, 500, NULL, "out of memory");
        return;
    }
    a->status = 200;
    a->body = body;
    a->len = strlen(body);
    a->type = "application/json";
}
