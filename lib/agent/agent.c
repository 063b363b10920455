/* agent.c — AgentService forwarding to the NetFlow checker. See agent.h. */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"
#include "../base/log.h"
#include "../base/memory.h"
#include "monitoring.pb-c.h"

#define COMP "agent"

#define MAX_CHECKERS 64
/* Longest a forwarded call may take when the caller gave no deadline. */
#define DEFAULT_FORWARD_MS 60000

static const char *const log_levels[] = {"debug", "info", "warn", "warning", "error", NULL};

#define F(key, type, field, def, min, max, help) \
    {key, type, offsetof(nf_agent_config, field), def, min, max, NULL, NULL, help}

const nf_cfg_field nf_agent_config_table[] = {
    F("agent_id", NF_CFG_STRING, agent_id, "agent", 0, 0, "this agent's id"),
    {"listen_addr", NF_CFG_STRING, offsetof(nf_agent_config, listen_addr), ":50051", 0, 0, NULL,
     NULL, "host:port of the AgentService", nf_cfg_check_hostport},
    F("checkers_dir", NF_CFG_STRING, checkers_dir, "/etc/serviceradar/checkers", 0, 0,
      "directory of checker configs; only checkers found there are reachable"),
    {"metrics_addr", NF_CFG_STRING, offsetof(nf_agent_config, metrics_addr), "127.0.0.1:9193",
     0, 0, NULL, NULL, "host:port serving Prometheus /metrics; \"\" = off",
     nf_cfg_check_hostport_or_empty},
    {"log_level", NF_CFG_STRING, offsetof(nf_agent_config, log_level), "info", 0, 0, NULL,
     log_levels, "debug, info, warn or error"},
    F("rpc_threads", NF_CFG_UINT, rpc_threads, "8", 1, 64, "calls served at once"),
    F("forward_timeout", NF_CFG_DURATION, forward_timeout_ms, "60s", 100, 3600000,
      "longest forwarded call when the caller set no deadline"),
    {"security", NF_CFG_OBJECT, offsetof(nf_agent_config, security), NULL, 0, 0,
     nf_security_table, NULL, "mTLS for the AgentService and towards the checkers"},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

/* ---- checkers directory ------------------------------------------------------------------ */

/* "host:port" with a wildcard or empty host → "127.0.0.1:port" (the agent runs beside the
 * checker); false if text is not host:port. */
static bool
normalise_address(const char *text, char *out, size_t n)
{
    char host[NF_ADDR_STRLEN];
    uint16_t port;
    if (!nf_hostport_parse(text, host, sizeof(host), &port) || port == 0)
        return false;
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        snprintf(out, n, "127.0.0.1:%u", port);
    else if (strchr(host, ':') != NULL)
        snprintf(out, n, "[%s]:%u", host, port);
    else
        snprintf(out, n, "%s:%u", host, port);
    return true;
}

/* What a file in checkers_dir is to the agent. */
typedef enum { CHECKER_OK, CHECKER_NOT_GRPC, CHECKER_BAD_ADDRESS } checker_kind;

/* A checker config names its gRPC address in grpc_listen_addr (ours) or address
 * (ServiceRadar's other checkers); a file with neither is some other service's config. */
static checker_kind
checker_from_json(const char *name, json_t *root, nf_agent_checker *c, const char **key)
{
    *key = "grpc_listen_addr";
    json_t *addr = json_object_get(root, *key);
    if (addr == NULL) {
        *key = "address";
        addr = json_object_get(root, *key);
    }
    if (addr == NULL || (json_is_string(addr) && json_string_value(addr)[0] == '\0'))
        return CHECKER_NOT_GRPC; /* "" turns the checker's gRPC side off */
    if (!json_is_string(addr) ||
        !normalise_address(json_string_value(addr), c->address, sizeof(c->address)))
        return CHECKER_BAD_ADDRESS;
    snprintf(c->name, sizeof(c->name), "%s", name);
    json_t *sec = json_object_get(root, "security");
    json_t *sn = json_object_get(sec, "server_name");
    json_t *mode = json_object_get(sec, "mode");
    snprintf(c->server_name, sizeof(c->server_name), "%s",
             json_is_string(sn) ? json_string_value(sn) : "");
    c->tls = json_is_string(mode) && strcmp(json_string_value(mode), "mtls") == 0;
    return CHECKER_OK;
}

nf_status
nf_agent_checkers_load(const char *dir, nf_agent_checker *out, size_t max, size_t *n_out,
                       nf_err *err)
{
    *n_out = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return nf_err_sys(err, NF_EIO, errno, "checkers_dir %s", dir);
    struct dirent *de;
    nf_status st = NF_OK;
    while (st == NF_OK && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 || de->d_name[0] == '.')
            continue;
        char path[4096], name[64];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        if (root == NULL) {
            st = nf_err_set(err, NF_EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                            jerr.text);
            break;
        }
        nf_agent_checker c;
        const char *key = "";
        checker_kind kind = json_is_object(root) ? checker_from_json(name, root, &c, &key)
                                                 : CHECKER_NOT_GRPC;
        if (kind == CHECKER_BAD_ADDRESS)
            st = nf_cfg_json_error(err, path, key, "expected the checker's gRPC host:port");
        else if (kind == CHECKER_NOT_GRPC)
            nf_log_warn(COMP, "%s: no grpc_listen_addr or address: not a gRPC checker, skipped",
                        path);
        else if (*n_out == max)
            nf_log_warn(COMP, "%s: more than %zu checkers, skipped", path, max);
        else
            out[(*n_out)++] = c;
        json_decref(root);
    }
    closedir(d);
    return st;
}

/* ---- forwarding ---------------------------------------------------------------------------- */

typedef struct checker_link {
    nf_agent_checker info;
    nf_rpc_client *client; /* thread-safe, created at start, connects on first use */
} checker_link;

struct nf_agent {
    const nf_agent_config *cfg;
    checker_link links[MAX_CHECKERS];
    size_t nlinks;
    atomic_uint_fast64_t forwarded[3]; /* GetStatus, GetResults, StreamResults */
    atomic_uint_fast64_t failed[3];
    atomic_uint_fast64_t refused;      /* no such checker, bad request, unsupported type */
    atomic_uint_fast64_t chunks_relayed;
    atomic_uint_fast64_t bytes_relayed;
};

enum { M_STATUS = 0, M_RESULTS = 1, M_STREAM = 2 };

/* The checker for a request: by details (host:port) or by name (details or service_name). */
static checker_link *
route(nf_agent *a, const char *details, const char *service_name)
{
    char want[128] = "";
    if (details != NULL && !normalise_address(details, want, sizeof(want)))
        want[0] = '\0';
    for (size_t i = 0; i < a->nlinks; i++) {
        checker_link *l = &a->links[i];
        if ((want[0] && strcmp(l->info.address, want) == 0) ||
            (details && strcmp(l->info.name, details) == 0) ||
            (service_name && strcmp(l->info.name, service_name) == 0))
            return l;
    }
    return NULL;
}

static bool
forwardable(const char *type)
{
    return type != NULL && (strcmp(type, "netflow") == 0 || strcmp(type, "grpc") == 0);
}

/* Longest wait for a (re)connecting checker before a forwarded call. */
#define CONNECT_WAIT_MS 3000

/* Makes sure the channel to the checker is up before forwarding: a health check waits for
 * the connection and drives it (lib/rpc: plain calls fail at once while a restarted
 * checker is being reconnected). A checker that stays down costs CONNECT_WAIT_MS. */
static void
connect_checker(checker_link *l, uint64_t deadline_ms)
{
    bool serving;
    nf_rpc_health_check(l->client, "", deadline_ms < CONNECT_WAIT_MS ? deadline_ms : CONNECT_WAIT_MS,
                        &serving, NULL);
}

static uint64_t
forward_deadline(nf_agent *a, nf_rpc_call *call)
{
    uint64_t left = nf_rpc_call_deadline_ms(call);
    uint64_t cap = a->cfg->forward_timeout_ms ? a->cfg->forward_timeout_ms : DEFAULT_FORWARD_MS;
    return left < cap ? left : cap;
}

/* Maps a failed forward to the status the caller sees: the checker being down is
 * UNAVAILABLE (retry later), the rest is passed on as the checker said it. */
static int
forward_code(nf_status st, const nf_rpc_status *rs, char *msg, size_t msg_len,
             const checker_link *l, const nf_err *e)
{
    snprintf(msg, msg_len, "checker %s (%s): %s", l->info.name, l->info.address, e->msg);
    if (st == NF_EAGAIN)
        return NF_RPC_UNAVAILABLE;
    if (st == NF_ETIMEDOUT)
        return NF_RPC_DEADLINE_EXCEEDED;
    return rs->code != NF_RPC_OK ? rs->code : NF_RPC_INTERNAL;
}

/* A StatusResponse saying the check is not available, with a JSON reason. */
static int
unavailable_status(const Monitoring__StatusRequest *in, const char *why, uint8_t **resp,
                   size_t *resp_len)
{
    json_t *j = json_pack("{s:s}", "error", why);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    Monitoring__StatusResponse out = MONITORING__STATUS_RESPONSE__INIT;
    out.available = false;
    out.message.data = (uint8_t *)text;
    out.message.len = text ? strlen(text) : 0;
    out.service_name = in->service_name;
    out.service_type = in->service_type;
    out.agent_id = in->agent_id;
    out.poller_id = in->poller_id;
    *resp_len = monitoring__status_response__get_packed_size(&out);
    *resp = malloc(*resp_len ? *resp_len : 1);
    if (*resp != NULL)
        monitoring__status_response__pack(&out, *resp);
    free(text);
    return *resp ? NF_RPC_OK : NF_RPC_RESOURCE_EXHAUSTED;
}

static int
handle_status(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len, uint8_t **resp,
              size_t *resp_len, char *msg, size_t msg_len)
{
    nf_agent *a = ctx;
    Monitoring__StatusRequest *in = monitoring__status_request__unpack(NULL, req_len, req);
    if (in == NULL) {
        atomic_fetch_add(&a->refused, 1);
        snprintf(msg, msg_len, "StatusRequest does not decode");
        return NF_RPC_INVALID_ARGUMENT;
    }
    int rc;
    checker_link *l = forwardable(in->service_type) ? route(a, in->details, in->service_name)
                                                    : NULL;
    if (l == NULL) {
        atomic_fetch_add(&a->refused, 1);
        char why[256];
        snprintf(why, sizeof(why), "no checker for service_type \"%s\" details \"%s\" in %s",
                 in->service_type, in->details, a->cfg->checkers_dir);
        rc = unavailable_status(in, why, resp, resp_len);
    } else {
        nf_rpc_status rs;
        nf_err e = {0};
        connect_checker(l, forward_deadline(a, call));
        nf_status st = nf_rpc_unary(l->client, "/monitoring.AgentService/GetStatus", req,
                                    req_len, forward_deadline(a, call), resp, resp_len, &rs, &e);
        atomic_fetch_add(&a->forwarded[M_STATUS], 1);
        if (st == NF_OK) {
            rc = NF_RPC_OK;
        } else {
            atomic_fetch_add(&a->failed[M_STATUS], 1);
            rc = unavailable_status(in, e.msg, resp, resp_len); /* ServiceRadar's way */
        }
    }
    monitoring__status_request__free_unpacked(in, NULL);
    return rc;
}

/* Routes a ResultsRequest; NULL with msg and *code set when it cannot be forwarded. */
static checker_link *
route_results(nf_agent *a, const uint8_t *req, size_t req_len, char *msg, size_t msg_len,
              int *code)
{
    Monitoring__ResultsRequest *in = monitoring__results_request__unpack(NULL, req_len, req);
    checker_link *l = NULL;
    if (in == NULL) {
        snprintf(msg, msg_len, "ResultsRequest does not decode");
        *code = NF_RPC_INVALID_ARGUMENT;
    } else if (!forwardable(in->service_type)) {
        snprintf(msg, msg_len, "service_type \"%s\" has no results here", in->service_type);
        *code = NF_RPC_UNIMPLEMENTED;
    } else if ((l = route(a, in->details, in->service_name)) == NULL) {
        snprintf(msg, msg_len, "no checker for details \"%s\" in %s", in->details,
                 a->cfg->checkers_dir);
        *code = NF_RPC_NOT_FOUND;
    }
    if (in != NULL)
        monitoring__results_request__free_unpacked(in, NULL);
    if (l == NULL)
        atomic_fetch_add(&a->refused, 1);
    return l;
}

static int
handle_results(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len, uint8_t **resp,
               size_t *resp_len, char *msg, size_t msg_len)
{
    nf_agent *a = ctx;
    int code;
    checker_link *l = route_results(a, req, req_len, msg, msg_len, &code);
    if (l == NULL)
        return code;
    nf_rpc_status rs;
    nf_err e = {0};
    connect_checker(l, forward_deadline(a, call));
    nf_status st = nf_rpc_unary(l->client, "/monitoring.AgentService/GetResults", req, req_len,
                                forward_deadline(a, call), resp, resp_len, &rs, &e);
    atomic_fetch_add(&a->forwarded[M_RESULTS], 1);
    if (st == NF_OK)
        return NF_RPC_OK;
    atomic_fetch_add(&a->failed[M_RESULTS], 1);
    return forward_code(st, &rs, msg, msg_len, l, &e);
}

typedef struct relay {
    nf_agent *a;
    nf_rpc_call *call;
    bool downstream_failed;
} relay;

static bool
relay_chunk(void *ctx, const uint8_t *data, size_t len)
{
    relay *r = ctx;
    if (nf_rpc_stream_send(r->call, data, len, NULL) != NF_OK) {
        r->downstream_failed = true; /* the poller went away: cancel the checker's stream */
        return false;
    }
    atomic_fetch_add(&r->a->chunks_relayed, 1);
    atomic_fetch_add(&r->a->bytes_relayed, len);
    return true;
}

static int
handle_stream(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len, char *msg,
              size_t msg_len)
{
    nf_agent *a = ctx;
    int code;
    checker_link *l = route_results(a, req, req_len, msg, msg_len, &code);
    if (l == NULL)
        return code;
    relay r = {a, call, false};
    nf_rpc_status rs;
    nf_err e = {0};
    connect_checker(l, forward_deadline(a, call));
    nf_status st = nf_rpc_server_stream(l->client, "/monitoring.AgentService/StreamResults", req,
                                        req_len, forward_deadline(a, call), relay_chunk, &r, &rs,
                                        &e);
    atomic_fetch_add(&a->forwarded[M_STREAM], 1);
    nf_memory_release(); /* the relayed chunks are freed: keep the idle agent small */
    if (r.downstream_failed) {
        snprintf(msg, msg_len, "the caller went away");
        return NF_RPC_CANCELLED;
    }
    if (st == NF_OK && rs.code == NF_RPC_OK)
        return NF_RPC_OK;
    atomic_fetch_add(&a->failed[M_STREAM], 1);
    return forward_code(st, &rs, msg, msg_len, l, &e);
}

nf_status
nf_agent_create(nf_rpc_server *srv, const nf_agent_config *cfg, const nf_agent_checker *checkers,
                size_t n, nf_agent **out, nf_err *err)
{
    nf_agent *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return nf_err_set(err, NF_ENOMEM, "agent: out of memory");
    a->cfg = cfg;
    nf_status st = NF_OK;
    for (size_t i = 0; i < n && i < MAX_CHECKERS && st == NF_OK; i++) {
        checker_link *l = &a->links[a->nlinks];
        l->info = checkers[i];
        /* Towards the checker: the agent's own certificate, the checker's expected name. */
        nf_security_config sec = cfg->security;
        sec.server_name = l->info.server_name;
        if (!l->info.tls) {
            static char none[] = "none";
            sec.mode = none;
        }
        st = nf_rpc_client_create(l->info.address, &sec, &l->client, err);
        if (st == NF_OK)
            a->nlinks++;
    }
    static const char *const health[] = {"", "AgentService", "monitoring.AgentService"};
    if (st == NF_OK)
        st = nf_rpc_server_add_unary(srv, "/monitoring.AgentService/GetStatus", handle_status, a,
                                     err);
    if (st == NF_OK)
        st = nf_rpc_server_add_unary(srv, "/monitoring.AgentService/GetResults", handle_results,
                                     a, err);
    if (st == NF_OK)
        st = nf_rpc_server_add_stream(srv, "/monitoring.AgentService/StreamResults",
                                      handle_stream, a, err);
    for (size_t i = 0; st == NF_OK && i < sizeof(health) / sizeof(health[0]); i++)
        st = nf_rpc_server_set_health(srv, health[i], true, err);
    if (st != NF_OK) {
        nf_agent_destroy(a);
        return st;
    }
    *out = a;
    return NF_OK;
}

void
nf_agent_destroy(nf_agent *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->nlinks; i++)
        nf_rpc_client_destroy(a->links[i].client);
    free(a);
}

void
nf_agent_render_metrics(void *ctx, nf_metrics *m)
{
    nf_agent *a = ctx;
    static const char *const methods[] = {"GetStatus", "GetResults", "StreamResults"};
    nf_metrics_family(m, "serviceradar_agent_forwarded_total", "counter",
                      "calls forwarded to a checker, by method");
    for (int i = 0; i < 3; i++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "method=\"%s\"", methods[i]);
        nf_metrics_sample(m, "serviceradar_agent_forwarded_total", labels,
                          atomic_load(&a->forwarded[i]));
    }
    nf_metrics_family(m, "serviceradar_agent_forward_failures_total", "counter",
                      "forwarded calls that failed (checker down, timeout, error), by method");
    for (int i = 0; i < 3; i++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "method=\"%s\"", methods[i]);
        nf_metrics_sample(m, "serviceradar_agent_forward_failures_total", labels,
                          atomic_load(&a->failed[i]));
    }
    nf_metrics_counter(m, "serviceradar_agent_refused_total",
                       "requests refused: malformed, unsupported type or unknown checker",
                       atomic_load(&a->refused));
    nf_metrics_counter(m, "serviceradar_agent_chunks_relayed_total",
                       "StreamResults chunks relayed to the caller",
                       atomic_load(&a->chunks_relayed));
    nf_metrics_counter(m, "serviceradar_agent_bytes_relayed_total",
                       "bytes of StreamResults chunks relayed", atomic_load(&a->bytes_relayed));
    nf_metrics_gauge(m, "serviceradar_agent_checkers", "checkers the agent may forward to",
                     (double)a->nlinks);
}
