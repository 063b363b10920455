/* server.c — serviceradar-core's HTTP server (libmicrohttpd, one thread per connection):
 * request bodies, authentication, the auth routes, /healthz, /metrics and the dispatch to
 * routes.c. See core.h for the routes and the thread rules.
 *
 * Request cycle (microhttpd calls handle() several times per request):
 *
 *   headers ──▶ first call: Content-Length > max_body? → 413; else allocate the upload
 *   body    ──▶ calls with *upload_size > 0: append, bounded by max_body (chunked bodies
 *               that pass it are read and dropped, then 413) — lib/httpd
 *   end     ──▶ last call: dispatch → core_answer → send (JSON errors everywhere)
 *   done    ──▶ nf_httpd_completed(): free the upload
 *
 * Invariants:
 *   1. Nothing from a request is kept after its answer; shared state is the immutable
 *      config/nf_auth, the limiter (own mutex), the historical backend (hist_mu), counters
 *      (atomics).
 *   2. /api/... is refused with 401 before its parameters are looked at, unless auth is off.
 *   3. Secrets (passwords, tokens, keys) never reach logs or error bodies.
 */
#include "core_int.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../base/log.h"
#include "../httpd/httpd.h"
#include "../metrics/metrics.h"

#define COMP "core"
#define MAX_CONNECTIONS 256u    /* thread per connection: bounds the threads too */
#define CONNECTION_TIMEOUT_S 120u /* idle keep-alive connections; a slow historical query
                                   * holds its connection busy, not idle */
#define PEM_MAX (256u << 10)    /* certificate chains are a few KiB */
#define MAX_QUERY_ARGS (NF_API_MAX_PARAMS + 1) /* one more than lib/api accepts, so that it
                                                * sees and refuses "too many" */

static const unsigned status_codes[CORE_STATUS_COUNT - 1] = {200, 400, 401, 404, 405, 413,
                                                             429, 500, 502, 503, 504};
static const char *const route_names[CORE_R_COUNT] = {
    "healthz", "metrics", "auth_login", "auth_refresh", "netflow", "netflow_realtime",
    "netflow_historical", "netflow_fields", "netflow_status", "netflow_flows", "openapi", "other"};

void
core_fail(core_answer *a, unsigned status, const char *param, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    free(a->body);
    a->status = status;
    a->body = nf_api_render_error(param, msg);
    a->len = a->body != NULL ? strlen(a->body) : 0;
    a->type = "application/json";
    a->disposition = NULL;
}

/* ---- authentication --------------------------------------------------------------------- */

/* True if the request may use /api; else a holds the 401. */
static bool
authorized(nf_core *c, struct MHD_Connection *conn, core_answer *a)
{
    if (c->auth == NULL)
        return true;
    nf_err e = {0};
    const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Key");
    if (key != NULL) {
        if (nf_auth_check_api_key(c->auth, key, NULL, &e) == NF_OK)
            return true;
        core_fail(a, 401, NULL, "invalid API key");
        return false;
    }
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h == NULL) {
        core_fail(a, 401, NULL, "authentication required: Authorization: Bearer <token> or "
                                "X-API-Key");
        return false;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        core_fail(a, 401, NULL, "Authorization: only the Bearer scheme is accepted");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    nf_auth_verdict v = nf_auth_verify_for(c->auth, tok, (int64_t)time(NULL), NF_AUTH_ACCESS,
                                           NULL, &e);
    if (v != NF_AUTH_TOKEN_OK) {
        core_fail(a, 401, NULL, "token refused: %s", nf_auth_verdict_name(v));
        return false;
    }
    return true;
}

static void
client_addr(struct MHD_Connection *conn, char *out, size_t n)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0)
        out[0] = '\0';
}

/* Parses a JSON object body; a holds the 400 on failure. */
static json_t *
json_body(const char *body, size_t len, core_answer *a)
{
    json_error_t je;
    json_t *j = body != NULL ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        core_fail(a, 400, NULL, "request body: a JSON object is required");
        return NULL;
    }
    return j;
}

static const char *
json_str(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
rfc3339(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%" PRId64, t);
}

static void
answer_json(core_answer *a, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (s == NULL) {
        core_fail(a, 500, NULL, "out of memory");
        return;
    }
    a->status = 200;
    a->body = s;
    a->len = strlen(s);
    a->type = "application/json";
}

static void
route_login(nf_core *c, struct MHD_Connection *conn, const char *body, size_t len,
            core_answer *a)
{
    if (c->auth == NULL) {
        core_fail(a, 404, NULL, "authentication is disabled (auth.enabled false)");
        return;
    }
    json_t *j = json_body(body, len, a);
    if (j == NULL)
        return;
    const char *user = json_str(j, "username"), *pass = json_str(j, "password");
    if (user == NULL || pass == NULL) {
        json_decref(j);
        core_fail(a, 400, user == NULL ? "username" : "password",
                  "request body: \"username\" and \"password\" strings are required");
        return;
    }
    char addr[64];
    client_addr(conn, addr, sizeof(addr));
    int64_t now = (int64_t)time(NULL);
    uint32_t retry = 0;
    if (!nf_auth_login_allowed(c->limiter, addr, user, now, &retry)) {
        json_decref(j);
        core_fail(a, 429, NULL, "too many failed logins; retry in %u s", retry);
        a->retry_after = retry > 0 ? retry : 1;
        return;
    }
    nf_err e = {0};
    nf_status st = nf_auth_check_password(c->auth, user, pass, &e);
    if (st != NF_OK) {
        if (st == NF_EINVAL) {
            nf_auth_login_failed(c->limiter, addr, user, now);
            core_fail(a, 401, NULL, "invalid user name or password");
            nf_log_info(COMP, "login failed addr=%s", addr);
        } else {
            core_fail(a, 500, NULL, "password check failed: %s", e.msg);
        }
        json_decref(j);
        return;
    }
    nf_auth_login_succeeded(c->limiter, addr, user, now);
    char *access = NULL, *refresh = NULL;
    int64_t exp = 0;
    if (nf_auth_issue_for(c->auth, user, NF_AUTH_ACCESS, now, &access, &exp, &e) != NF_OK ||
        nf_auth_issue_for(c->auth, user, NF_AUTH_REFRESH, now, &refresh, NULL, &e) != NF_OK) {
        free(access);
        json_decref(j);
        core_fail(a, 500, NULL, "issuing tokens: %s", e.msg);
        return;
    }
    json_decref(j);
    char when[32];
    rfc3339(exp, when);
    answer_json(a, json_pack("{s:s, s:s, s:s, s:s}", "access_token", access, "refresh_token",
                             refresh, "expires_at", when, "token_type", "Bearer"));
    free(access);
    free(refresh);
}

static void
route_refresh(nf_core *c, const char *body, size_t len, core_answer *a)
{
    if (c->auth == NULL) {
        core_fail(a, 404, NULL, "authentication is disabled (auth.enabled false)");
        return;
    }
    json_t *j = json_body(body, len, a);
    if (j == NULL)
        return;
    const char *tok = json_str(j, "refresh_token");
    if (tok == NULL) {
        json_decref(j);
        core_fail(a, 400, "refresh_token", "request body: \"refresh_token\" string required");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    nf_auth_claims cl;
    nf_err e = {0};
    nf_auth_verdict v = nf_auth_verify_for(c->auth, tok, now, NF_AUTH_REFRESH, &cl, &e);
    json_decref(j);
    if (v != NF_AUTH_TOKEN_OK) {
        core_fail(a, 401, NULL, "refresh token refused: %s", nf_auth_verdict_name(v));
        return;
    }
    if (!nf_auth_user_exists(c->auth, cl.sub)) {
        core_fail(a, 401, NULL, "refresh token refused: the user no longer exists");
        return;
    }
    char *access = NULL;
    int64_t exp = 0;
    if (nf_auth_issue_for(c->auth, cl.sub, NF_AUTH_ACCESS, now, &access, &exp, &e) != NF_OK) {
        core_fail(a, 500, NULL, "issuing a token: %s", e.msg);
        return;
    }
    char when[32];
    rfc3339(exp, when);
    answer_json(a, json_pack("{s:s, s:s, s:s}", "access_token", access, "expires_at", when,
                             "token_type", "Bearer"));
    free(access);
}

/* ---- metrics ------------------------------------------------------------------------------ */

static void
route_metrics(nf_core *c, core_answer *a)
{
    nf_metrics m = {0};
    char labels[128];
    nf_metrics_family(&m, "serviceradar_core_http_requests_total", "counter",
                      "HTTP requests answered, by route and status");
    for (size_t r = 0; r < CORE_R_COUNT; r++)
        for (size_t s = 0; s < CORE_STATUS_COUNT; s++) {
            uint64_t v = atomic_load(&c->requests[r][s]);
            if (v == 0)
                continue;
            if (s < CORE_STATUS_COUNT - 1)
                snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%u\"", route_names[r],
                         status_codes[s]);
            else
                snprintf(labels, sizeof(labels), "route=\"%s\",status=\"other\"",
                         route_names[r]);
            nf_metrics_sample(&m, "serviceradar_core_http_requests_total", labels, v);
        }
    nf_metrics_family(&m, "serviceradar_core_http_request_seconds_sum", "counter",
                      "time spent answering, by route");
    for (size_t r = 0; r < CORE_R_COUNT; r++) {
        snprintf(labels, sizeof(labels), "route=\"%s\"", route_names[r]);
        nf_metrics_sample_double(&m, "serviceradar_core_http_request_seconds_sum", labels,
                                 (double)atomic_load(&c->latency_us[r]) / 1e6);
    }
    static const char *const bnames[CORE_B_COUNT] = {"clickhouse", "iceberg"};
    nf_metrics_family(&m, "serviceradar_core_backend_queries_total", "counter",
                      "queries sent to a tier");
    for (size_t b = 0; b < CORE_B_COUNT; b++) {
        snprintf(labels, sizeof(labels), "backend=\"%s\"", bnames[b]);
        nf_metrics_sample(&m, "serviceradar_core_backend_queries_total", labels,
                          atomic_load(&c->backend_queries[b]));
    }
    nf_metrics_family(&m, "serviceradar_core_backend_errors_total", "counter",
                      "failed queries to a tier");
    for (size_t b = 0; b < CORE_B_COUNT; b++) {
        snprintf(labels, sizeof(labels), "backend=\"%s\"", bnames[b]);
        nf_metrics_sample(&m, "serviceradar_core_backend_errors_total", labels,
                          atomic_load(&c->backend_errors[b]));
    }
    nf_metrics_counter(&m, "serviceradar_core_stitched_queries_total",
                       "auto-route answers stitched from both tiers", atomic_load(&c->stitched));
    if (m.failed || m.buf == NULL) {
        nf_metrics_reset(&m);
        core_fail(a, 500, NULL, "out of memory");
        return;
    }
    a->status = 200;
    a->body = m.buf;
    a->len = m.len;
    a->type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- dispatch ----------------------------------------------------------------------------- */

typedef struct args {
    nf_api_kv kv[MAX_QUERY_ARGS];
    size_t n;
} args;

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    args *g = cls;
    if (g->n < MAX_QUERY_ARGS)
        g->kv[g->n++] = (nf_api_kv){key, value};
    return g->n < MAX_QUERY_ARGS ? MHD_YES : MHD_NO;
}

static void
dispatch(nf_core *c, struct MHD_Connection *conn, const char *url, const char *method,
         const char *body, size_t len, enum core_route *rid, core_answer *a)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    static const struct {
        const char *path;
        enum core_route id;
        bool post;
    } table[] = {
        {"/healthz", CORE_R_HEALTHZ, false},
        {"/metrics", CORE_R_METRICS, false},
        {"/auth/login", CORE_R_LOGIN, true},
        {"/auth/refresh", CORE_R_REFRESH, true},
        {"/api/netflow", CORE_R_NETFLOW, false},
        {"/api/netflow/realtime", CORE_R_REALTIME, false},
        {"/api/netflow/historical", CORE_R_HISTORICAL, false},
        {"/api/netflow/fields", CORE_R_FIELDS, false},
        {"/api/netflow/status", CORE_R_STATUS, false},
        {"/api/netflow/flows", CORE_R_FLOWS, false},
        {"/api/openapi.json", CORE_R_OPENAPI, false},
    };
    *rid = CORE_R_OTHER;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(url, table[i].path) == 0) {
            *rid = table[i].id;
            if (table[i].post ? !post : !get) {
                core_fail(a, 405, NULL, "%s: method %s not allowed (use %s)", url, method,
                          table[i].post ? "POST" : "GET");
                return;
            }
            break;
        }
    if (*rid == CORE_R_OTHER) {
        /* The web UI's files, for GET paths outside the API's prefixes. */
        if (get && c->cfg->static_dir[0] != '\0' && strncmp(url, "/api/", 5) != 0 &&
            strncmp(url, "/auth/", 6) != 0)
            core_route_static(c, url, a);
        else
            core_fail(a, 404, NULL, "no such route");
        return;
    }
    switch (*rid) {
    case CORE_R_HEALTHZ:
        a->body = strdup("{\"status\":\"ok\"}");
        if (a->body == NULL) {
            core_fail(a, 500, NULL, "out of memory");
            return;
        }
        a->status = 200;
        a->len = strlen(a->body);
        a->type = "application/json";
        return;
    case CORE_R_METRICS:
        route_metrics(c, a);
        return;
    case CORE_R_LOGIN:
        route_login(c, conn, body, len, a);
        return;
    case CORE_R_REFRESH:
        route_refresh(c, body, len, a);
        return;
    case CORE_R_OPENAPI: /* the API's description is public, like /healthz */
        core_route_openapi(a);
        return;
    default:
        break;
    }
    if (!authorized(c, conn, a))
        return;
    if (*rid == CORE_R_FIELDS) {
        core_route_fields(a);
        return;
    }
    if (*rid == CORE_R_STATUS) {
        core_route_status(c, a);
        return;
    }
    args g;
    g.n = 0;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &g);
    if (*rid == CORE_R_FLOWS) {
        core_route_flows(c, g.kv, g.n, (int64_t)time(NULL), a);
        return;
    }
    nf_api_route route = *rid == CORE_R_REALTIME     ? NF_API_REALTIME
                         : *rid == CORE_R_HISTORICAL ? NF_API_HISTORICAL
                                                     : NF_API_AUTO;
    core_route_netflow(c, route, g.kv, g.n, (int64_t)time(NULL), a);
}

static size_t
status_index(unsigned status)
{
    for (size_t i = 0; i < CORE_STATUS_COUNT - 1; i++)
        if (status_codes[i] == status)
            return i;
    return CORE_STATUS_COUNT - 1;
}

static enum MHD_Result
send_answer(nf_core *c, struct MHD_Connection *conn, enum core_route rid, core_answer *a,
            uint64_t t0_us)
{
    static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"parameter\":null}}";
    struct MHD_Response *r;
    if (a->file) {
        /* microhttpd owns the fd from here, also when it fails. */
        r = MHD_create_response_from_fd64(a->size, a->fd);
        if (r == NULL)
            close(a->fd);
    } else if (a->body == NULL) {
        a->status = 500;
        a->type = "application/json";
        r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
                                            MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL)
            free(a->body);
    }
    a->body = NULL;
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", a->type != NULL ? a->type : "application/json");
    if (a->disposition != NULL)
        MHD_add_response_header(r, "Content-Disposition", a->disposition);
    if (a->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", a->retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    if (a->status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (rid == CORE_R_LOGIN || rid == CORE_R_REFRESH)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, a->status, r);
    MHD_destroy_response(r);
    atomic_fetch_add(&c->requests[rid][status_index(a->status)], 1);
    atomic_fetch_add(&c->latency_us[rid], nf_httpd_mono_us() - t0_us);
    return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    nf_core *c = cls;
    core_answer a = {.fd = -1};
    enum MHD_Result ret;
    char msg[256];
    nf_httpd_step step = nf_httpd_collect(conn, upload_data, upload_size, con_cls,
                                          (size_t)c->cfg->max_body_bytes, &ret, msg,
                                          sizeof(msg));
    if (step == NF_HTTPD_CONTINUE)
        return ret;
    nf_httpd_body *u = *con_cls;
    if (step == NF_HTTPD_TOO_BIG) {
        core_fail(&a, 413, NULL, "%s", msg);
        return send_answer(c, conn, CORE_R_OTHER, &a, u->t0_us);
    }
    enum core_route rid;
    dispatch(c, conn, url, method, u->buf, u->len, &rid, &a);
    if (a.status >= 500)
        nf_log_warn(COMP, "%s %s: %u", method, url, a.status);
    return send_answer(c, conn, rid, &a, u->t0_us);
}

/* ---- start / stop ------------------------------------------------------------------------- */

nf_status
nf_core_start(const nf_core_config *cfg, nf_core **out, nf_err *err)
{
    nf_httpd_addr addr;
    nf_status pst = nf_httpd_listen_parse(cfg->listen_addr, &addr, err);
    if (pst != NF_OK)
        return pst;
    nf_core *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nf_err_set(err, NF_ENOMEM, "core: out of memory");
    c->cfg = cfg;
    nf_status st = NF_OK;
    bool mu = false;
    if (pthread_mutex_init(&c->hist_mu, NULL) != 0) {
        st = nf_err_set(err, NF_ENOMEM, "core: mutex");
        goto fail;
    }
    mu = true;
    const nf_security_config *sec = &cfg->security;
    bool tls = sec->tls.cert_file != NULL && sec->tls.cert_file[0] != '\0';
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            st = nf_err_set(err, NF_EINVAL, "security.tls: this libmicrohttpd has no TLS");
            goto fail;
        }
        if ((st = nf_httpd_read_pem(sec, "cert_file", sec->tls.cert_file, PEM_MAX,
                                    &c->pem_cert, err)) != NF_OK ||
            (st = nf_httpd_read_pem(sec, "key_file", sec->tls.key_file, PEM_MAX, &c->pem_key,
                                    err)) != NF_OK)
            goto fail;
    }
    if (cfg->auth.enabled) {
        if ((st = nf_auth_create(&cfg->auth, "config", "auth", &c->auth, err)) != NF_OK ||
            (st = nf_auth_limiter_create_for(&cfg->auth, &c->limiter, err)) != NF_OK)
            goto fail;
    }
    const nf_core_netflow_config *nf = &cfg->netflow;
    if ((st = nf_duck_open(NULL, (int)nf->duckdb_threads, nf->duckdb_memory_limit, &c->duck,
                           err)) != NF_OK) {
        char why[sizeof(err->msg)];
        snprintf(why, sizeof(why), "%s", err->msg); /* nf_err_set must not read what it writes */
        nf_err_set(err, st, "netflow.duckdb_*: %s", why);
        goto fail;
    }
    /* The Iceberg catalog is opened on first use (backends.c): one that is down now is not a
     * reason to refuse the real-time answers. */
    nf_httpd_options ho = {
        .listen_addr = cfg->listen_addr,
        .addr = &addr,
        .handler = handle,
        .cls = c,
        .max_connections = MAX_CONNECTIONS,
        .connection_timeout_s = CONNECTION_TIMEOUT_S,
        .pem_cert = c->pem_cert,
        .pem_key = c->pem_key,
        .tls_priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
    };
    if ((st = nf_httpd_start(&ho, &c->mhd, err)) != NF_OK)
        goto fail;
    *out = c;
    return NF_OK;
fail:
    nf_ice_catalog_close(c->cat);
    nf_duck_close(c->duck);
    nf_auth_limiter_destroy(c->limiter);
    nf_auth_destroy(c->auth);
    free(c->pem_cert);
    free(c->pem_key);
    if (mu)
        pthread_mutex_destroy(&c->hist_mu);
    free(c);
    return st;
}

void
nf_core_stop(nf_core *c)
{
    if (c == NULL)
        return;
    MHD_stop_daemon(c->mhd);
    nf_ice_catalog_close(c->cat);
    nf_duck_close(c->duck);
    nf_auth_limiter_destroy(c->limiter);
    nf_auth_destroy(c->auth);
    free(c->pem_cert);
    free(c->pem_key);
    pthread_mutex_destroy(&c->hist_mu);
    free(c);
}
