/* rpc_server.c — gRPC server: a fixed pool of workers, each with its own completion queue,
 * serving one call at a time with synchronous handlers.
 *
 * One call on a worker (all ops on the worker's completion queue; tags are addresses inside
 * the nf_rpc_call, which lives on the worker's stack):
 *
 *     request_call ──tag_new──▶ RECV_CLOSE_ON_SERVER started (tag_close, completes when the
 *          │                    call ends for any reason: how cancellation is noticed)
 *          ▼
 *     known method? ──no──▶ SEND_STATUS(UNIMPLEMENTED) ─────────────────────────────┐
 *          │ yes                                                                   │
 *          ▼                                                                       │
 *     RECV_MESSAGE (tag_op) ──none/failed──▶ SEND_STATUS(INVALID_ARGUMENT) or skip ─┤
 *          │                                                                       │
 *          ▼                                                                       │
 *     handler ── stream: SEND_MESSAGE (tag_op) per nf_rpc_stream_send ─┐           │
 *          │                                                         ▼           ▼
 *          └──────────────▶ SEND_STATUS (+ response for unary) ──▶ wait tag_close ──▶ unref
 *
 *   | transition                          | function          |
 *   | new call, dispatch                  | serve_call        |
 *   | wait for one op, bounded            | call_wait         |
 *   | send one stream message             | nf_rpc_stream_send|
 *   | final status, drain, release        | call_finish       |
 *
 * Every wait is bounded (call_wait): the call's deadline plus 1 s (gRPC cancels the call at
 * the deadline itself; the slack lets it do so with its own status) and NF_RPC_STALL_MS
 * without any completion. On expiry the worker cancels the call, after which gRPC completes
 * every pending op promptly, so a worker never waits forever on a peer.
 *
 * Shutdown (nf_rpc_server_destroy): set `stopping`, grpc_server_shutdown_and_notify (pending
 * request_call tags fail, so idle workers wake and exit), grpc_server_cancel_all_calls (ops
 * of busy workers fail, handlers see nf_rpc_call_cancelled), join the workers, wait for the
 * shutdown tag, destroy the server, then shut down and drain every completion queue. A call
 * that finishes while `stopping` is set ends UNAVAILABLE, never OK: its handler may have
 * stopped early on nf_rpc_call_cancelled, and cancel_all_calls may not have reached it yet.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"
#include "internal.h"

#define DEFAULT_THREADS 4      /* a checker serves a poller or two: a few calls at once */
#define DEADLINE_SLACK_MS 1000 /* let gRPC's own deadline cancel first (its status is better) */
#define HANDSHAKE_TIMEOUT_MS 10000 /* a TCP peer that does not finish TLS in 10 s is gone */
#define KEEPALIVE_TIME_MS 60000    /* ping clients with open calls every minute ... */
#define KEEPALIVE_TIMEOUT_MS 20000 /* ... and drop them if the ack is 20 s late: a dead
                                    * client on a long stream is noticed within ~80 s */

typedef enum method_kind { METHOD_UNARY, METHOD_STREAM } method_kind;

typedef struct method {
    char name[NF_RPC_NAME_MAX];
    method_kind kind;
    nf_rpc_unary_fn *unary;
    nf_rpc_stream_fn *stream;
    void *ctx;
} method;

typedef struct health_entry {
    char name[NF_RPC_NAME_MAX];
    bool serving;
} health_entry;

typedef struct worker {
    nf_rpc_server *s;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool running; /* thread created (joined in destroy) */
} worker;

struct nf_rpc_server {
    grpc_server *srv;
    grpc_completion_queue *shutdown_cq; /* receives only the shutdown tag */
    uint16_t port;
    bool tls;
    bool started;
    atomic_bool stopping;
    method methods[NF_RPC_MAX_METHODS];
    size_t nmethods;
    method health_method; /* built-in grpc.health.v1.Health/Check */
    pthread_mutex_t health_mu;
    health_entry health[NF_RPC_MAX_HEALTH];
    size_t nhealth;
    worker *workers;
    unsigned nworkers; /* completion queues created (threads: see worker.running) */
};

struct nf_rpc_call {
    worker *w;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    const method *m;
    char method_name[NF_RPC_NAME_MAX]; /* "" if the name did not fit (then unknown) */
    char *peer;                        /* gpr_malloc'd by grpc_call_get_peer */
    char cn[256];                      /* client certificate CN, "" without TLS */
    gpr_timespec deadline;             /* monotonic; inf_future when none */
    int close_cancelled;               /* RECV_CLOSE_ON_SERVER result */
    bool close_pending;                /* RECV_CLOSE_ON_SERVER started, not completed */
    bool md_sent;                      /* initial metadata sent */
    bool failed;                       /* the call can no longer succeed */
    bool timed_out;                    /* ... because of the deadline or a stalled peer */
    bool cancel_sent;                  /* we cancelled the call ourselves */
    char tag_new, tag_close, tag_op;   /* their addresses are the completion tags */
};

/* ---- waiting ----------------------------------------------------------------------------- */

static bool
deadline_passed(const nf_rpc_call *c)
{
    return gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), c->deadline) >= 0;
}

static void
call_cancel(nf_rpc_call *c, grpc_status_code code, const char *why)
{
    if (!c->cancel_sent) {
        grpc_call_cancel_with_status(c->call, code, why, NULL);
        c->cancel_sent = true;
    }
    c->failed = true;
}

static void
note_close(nf_rpc_call *c)
{
    c->close_pending = false;
    if (c->close_cancelled)
        c->failed = true;
}

/* Waits until the op tagged tag completes; returns its success. Bounded as described at
 * the top; after our own cancel the op completes promptly, so the second wait is unbounded. */
static bool
call_wait(nf_rpc_call *c, void *tag)
{
    for (;;) {
        gpr_timespec until = gpr_inf_future(GPR_CLOCK_MONOTONIC);
        if (!c->cancel_sent) {
            until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                 gpr_time_from_millis(NF_RPC_STALL_MS, GPR_TIMESPAN));
            if (gpr_time_cmp(c->deadline, gpr_inf_future(GPR_CLOCK_MONOTONIC)) != 0)
                until = gpr_time_min(until, gpr_time_add(c->deadline,
                                                          gpr_time_from_millis(
                                                              DEADLINE_SLACK_MS, GPR_TIMESPAN)));
        }
        grpc_event ev = grpc_completion_queue_next(c->w->cq, until, NULL);
        if (ev.type == GRPC_OP_COMPLETE) {
            if (ev.tag == &c->tag_close) {
                note_close(c);
                if (tag == &c->tag_close)
                    return true;
                continue;
            }
            if (ev.tag == tag) {
                if (!ev.success)
                    c->failed = true;
                return ev.success != 0;
            }
            continue; /* invariant 1: nothing else is outstanding */
        }
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            bool late = deadline_passed(c);
            call_cancel(c, late ? GRPC_STATUS_DEADLINE_EXCEEDED : GRPC_STATUS_CANCELLED,
                        late ? "deadline exceeded" : "peer made no progress");
            c->timed_out = true;
            continue;
        }
        c->failed = true; /* GRPC_QUEUE_SHUTDOWN: cannot happen while the worker runs */
        return false;
    }
}

/* Starts a batch and waits for it. */
static bool
call_batch(nf_rpc_call *c, const grpc_op *ops, size_t n)
{
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->tag_op, NULL);
    if (e != GRPC_CALL_OK) {
        call_cancel(c, GRPC_STATUS_INTERNAL, "batch refused");
        return false;
    }
    return call_wait(c, &c->tag_op);
}

/* ---- handler-side API -------------------------------------------------------------------- */

bool
nf_rpc_call_cancelled(nf_rpc_call *c)
{
    if (c->close_pending) { /* non-blocking poll: picks up a cancel that arrived meanwhile */
        grpc_event ev;
        do {
            ev = grpc_completion_queue_next(c->w->cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
            if (ev.type == GRPC_OP_COMPLETE && ev.tag == &c->tag_close)
                note_close(c);
        } while (ev.type == GRPC_OP_COMPLETE);
    }
    return c->failed || deadline_passed(c) || atomic_load(&c->w->s->stopping);
}

uint64_t
nf_rpc_call_deadline_ms(nf_rpc_call *c)
{
    if (gpr_time_cmp(c->deadline, gpr_inf_future(GPR_CLOCK_MONOTONIC)) == 0)
        return UINT64_MAX;
    gpr_timespec left = gpr_time_sub(c->deadline, gpr_now(GPR_CLOCK_MONOTONIC));
    if (left.tv_sec < 0)
        return 0;
    return (uint64_t)left.tv_sec * 1000u + (uint64_t)left.tv_nsec / 1000000u;
}

const char *
nf_rpc_call_peer(nf_rpc_call *c)
{
    return c->peer != NULL ? c->peer : "";
}

const char *
nf_rpc_call_peer_cn(nf_rpc_call *c)
{
    return c->cn;
}

const char *
nf_rpc_call_method(nf_rpc_call *c)
{
    return c->method_name;
}

nf_status
nf_rpc_stream_send(nf_rpc_call *c, const uint8_t *data, size_t len, nf_err *err)
{
    if (c->m == NULL || c->m->kind != METHOD_STREAM)
        return nf_err_set(err, NF_EINVAL, "%s: not a streaming call", c->method_name);
    if (len > NF_RPC_MAX_MSG)
        return nf_err_set(err, NF_EINVAL, "%s: message of %zu bytes > %u", c->method_name, len,
                          NF_RPC_MAX_MSG);
    if (!c->failed && (atomic_load(&c->w->s->stopping) || deadline_passed(c)))
        call_cancel(c, deadline_passed(c) ? GRPC_STATUS_DEADLINE_EXCEEDED
                                          : GRPC_STATUS_UNAVAILABLE,
                    deadline_passed(c) ? "deadline exceeded" : "server shutting down");
    if (!c->failed) {
        grpc_byte_buffer *bb = rpc_bb_copy(data, len);
        if (bb == NULL)
            return nf_err_set(err, NF_ENOMEM, "%s: %zu bytes for a message", c->method_name,
                              len);
        grpc_op ops[2];
        size_t n = 0;
        memset(ops, 0, sizeof(ops));
        if (!c->md_sent)
            ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
        bool ok = call_batch(c, ops, n);
        c->md_sent = true; /* attempted: never offered twice */
        grpc_byte_buffer_destroy(bb);
        if (ok)
            return NF_OK;
    }
    if (c->timed_out || deadline_passed(c))
        return nf_err_set(err, NF_ETIMEDOUT, "%s: deadline passed or peer stalled (peer %s)",
                          c->method_name, nf_rpc_call_peer(c));
    return nf_err_set(err, NF_EUPSTREAM, "%s: call cancelled (peer %s gone or server stopping)",
                      c->method_name, nf_rpc_call_peer(c));
}

/* ---- serving one call -------------------------------------------------------------------- */

/* Sends the final status (and the unary response, consumed), then waits for the call to
 * close. Always leaves no op outstanding (invariant 1). */
static void
call_finish(nf_rpc_call *c, int code, const char *msg, grpc_byte_buffer *resp)
{
    if (code == GRPC_STATUS_OK && atomic_load(&c->w->s->stopping)) {
        /* The handler may have cut its work short when nf_rpc_call_cancelled said the server
         * is stopping; an OK sent before cancel_all_calls reached the call would claim a
         * whole result (seen under load in rpc_test). The client retries an UNAVAILABLE. */
        code = GRPC_STATUS_UNAVAILABLE;
        msg = "server shutting down";
        if (resp != NULL)
            grpc_byte_buffer_destroy(resp);
        resp = NULL;
    }
    if (!c->failed) {
        grpc_op ops[3];
        size_t n = 0;
        memset(ops, 0, sizeof(ops));
        if (!c->md_sent)
            ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        if (resp != NULL) {
            ops[n].op = GRPC_OP_SEND_MESSAGE;
            ops[n++].data.send_message.send_message = resp;
        }
        grpc_slice details = grpc_slice_from_copied_string(msg != NULL ? msg : "");
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = (grpc_status_code)code;
        ops[n++].data.send_status_from_server.status_details =
            (msg != NULL && msg[0] != '\0') ? &details : NULL;
        grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->tag_op, NULL);
        grpc_slice_unref(details); /* not retained past start_batch */
        if (e == GRPC_CALL_OK)
            (void)call_wait(c, &c->tag_op);
        else
            call_cancel(c, GRPC_STATUS_INTERNAL, "status batch refused");
        c->md_sent = true;
    }
    if (resp != NULL)
        grpc_byte_buffer_destroy(resp);
    if (c->close_pending) {
        if (c->failed) /* make sure the call ends so that RECV_CLOSE completes */
            call_cancel(c, GRPC_STATUS_CANCELLED, "cancelled");
        (void)call_wait(c, &c->tag_close);
    }
}

static int
clamp_code(int code)
{
    return (code < 0 || code > 16) ? GRPC_STATUS_UNKNOWN : code;
}

static void
run_unary(nf_rpc_call *c, const uint8_t *req, size_t req_len)
{
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    char msg[256] = "";
    int code = clamp_code(
        c->m->unary(c->m->ctx, c, req, req_len, &resp, &resp_len, msg, sizeof(msg)));
    msg[sizeof(msg) - 1] = '\0';
    grpc_byte_buffer *bb = NULL;
    if (code == GRPC_STATUS_OK) {
        if (resp_len > NF_RPC_MAX_MSG) {
            code = GRPC_STATUS_INTERNAL;
            snprintf(msg, sizeof(msg), "response of %zu bytes > %u", resp_len, NF_RPC_MAX_MSG);
        } else {
            if (resp_len > 0 && resp == NULL) {
                code = GRPC_STATUS_INTERNAL;
                snprintf(msg, sizeof(msg), "handler gave a length but no response buffer");
            } else if (resp_len > 0) { /* hand the handler's buffer over, no copy */
                grpc_slice sl = grpc_slice_new(resp, resp_len, free);
                resp = NULL;
                bb = grpc_raw_byte_buffer_create(&sl, 1);
                grpc_slice_unref(sl);
            } else {
                bb = rpc_bb_copy(NULL, 0);
            }
            if (bb == NULL && code == GRPC_STATUS_OK) {
                code = GRPC_STATUS_RESOURCE_EXHAUSTED;
                snprintf(msg, sizeof(msg), "out of memory for the response");
            }
        }
    }
    free(resp);
    call_finish(c, code, msg, bb);
}

static void
run_stream(nf_rpc_call *c, const uint8_t *req, size_t req_len)
{
    char msg[256] = "";
    int code = clamp_code(c->m->stream(c->m->ctx, c, req, req_len, msg, sizeof(msg)));
    msg[sizeof(msg) - 1] = '\0';
    call_finish(c, code, msg, NULL);
}

/* Copies the verified client certificate's CN out of the call's auth context. */
static void
fetch_cn(nf_rpc_call *c)
{
    grpc_auth_context *ac = grpc_call_auth_context(c->call);
    if (ac == NULL)
        return;
    if (grpc_auth_context_peer_is_authenticated(ac)) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ac, GRPC_X509_CN_PROPERTY_NAME);
        const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
        if (p != NULL && p->value != NULL) {
            size_t n = p->value_length < sizeof(c->cn) - 1 ? p->value_length : sizeof(c->cn) - 1;
            memcpy(c->cn, p->value, n);
            c->cn[n] = '\0';
        }
    }
    grpc_auth_context_release(ac);
}

static const method *
find_method(nf_rpc_server *s, const char *name)
{
    if (name[0] == '\0')
        return NULL;
    for (size_t i = 0; i < s->nmethods; i++)
        if (strcmp(s->methods[i].name, name) == 0)
            return &s->methods[i];
    if (strcmp(name, RPC_HEALTH_CHECK_METHOD) == 0)
        return &s->health_method;
    return NULL;
}

static void
serve_call(worker *w, nf_rpc_call *c)
{
    nf_rpc_server *s = w->s;
    size_t mlen = GRPC_SLICE_LENGTH(c->details.method);
    if (mlen < sizeof(c->method_name)) {
        memcpy(c->method_name, GRPC_SLICE_START_PTR(c->details.method), mlen);
        c->method_name[mlen] = '\0';
    }
    c->deadline = gpr_convert_clock_type(c->details.deadline, GPR_CLOCK_MONOTONIC);
    if (c->details.deadline.tv_sec == INT64_MAX) /* gpr_inf_future of any clock */
        c->deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    c->peer = grpc_call_get_peer(c->call);
    if (s->tls)
        fetch_cn(c);

    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    if (grpc_call_start_batch(c->call, &op, 1, &c->tag_close, NULL) != GRPC_CALL_OK) {
        grpc_call_cancel(c->call, NULL); /* cannot track it: drop the call */
        return;
    }
    c->close_pending = true;

    c->m = find_method(s, c->method_name);
    if (c->m == NULL) {
        char msg[NF_RPC_NAME_MAX + 32];
        snprintf(msg, sizeof(msg), "unknown method %s", c->method_name[0] ? c->method_name
                                                                        : "(name too long)");
        call_finish(c, GRPC_STATUS_UNIMPLEMENTED, msg, NULL);
        return;
    }

    grpc_byte_buffer *bb = NULL;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    bool ok = call_batch(c, &op, 1);
    if (!ok || bb == NULL) {
        if (bb != NULL)
            grpc_byte_buffer_destroy(bb);
        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "request message missing", NULL);
        return;
    }
    uint8_t *req = NULL;
    size_t req_len = 0;
    nf_err e;
    nf_status rc = rpc_bb_read(bb, &req, &req_len, &e);
    grpc_byte_buffer_destroy(bb);
    if (rc != NF_OK) {
        call_finish(c, rc == NF_ENOMEM ? GRPC_STATUS_RESOURCE_EXHAUSTED
                                       : GRPC_STATUS_INVALID_ARGUMENT, e.msg, NULL);
        return;
    }
    if (c->m->kind == METHOD_UNARY)
        run_unary(c, req, req_len);
    else
        run_stream(c, req, req_len);
    free(req);
}

static void *
worker_main(void *arg)
{
    worker *w = arg;
    nf_rpc_server *s = w->s;
    while (!atomic_load(&s->stopping)) {
        nf_rpc_call c;
        memset(&c, 0, sizeof(c));
        c.w = w;
        c.deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
        grpc_call_details_init(&c.details);
        grpc_metadata_array_init(&c.md);
        grpc_call_error e =
            grpc_server_request_call(s->srv, &c.call, &c.details, &c.md, w->cq, w->cq, &c.tag_new);
        bool ok = false;
        if (e == GRPC_CALL_OK) {
            /* Only tag_new is outstanding; shutdown fails it, so no timeout is needed. */
            grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                                       NULL);
            ok = ev.type == GRPC_OP_COMPLETE && ev.tag == &c.tag_new && ev.success;
        }
        if (ok && c.call != NULL)
            serve_call(w, &c);
        if (c.call != NULL)
            grpc_call_unref(c.call);
        if (c.peer != NULL)
            gpr_free(c.peer);
        grpc_call_details_destroy(&c.details);
        grpc_metadata_array_destroy(&c.md);
        if (!ok)
            break; /* request refused or failed: only happens at shutdown */
    }
    return NULL;
}

/* ---- built-in health service ------------------------------------------------------------- */

static int
health_check(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len, uint8_t **resp,
             size_t *resp_len, char *msg, size_t msg_len)
{
    (void)call;
    nf_rpc_server *s = ctx;
    char service[NF_RPC_NAME_MAX];
    if (!rpc_health_req_decode(req, req_len, service, sizeof(service))) {
        snprintf(msg, msg_len, "bad HealthCheckRequest");
        return GRPC_STATUS_INVALID_ARGUMENT;
    }
    int status = -1;
    pthread_mutex_lock(&s->health_mu);
    for (size_t i = 0; i < s->nhealth; i++)
        if (strcmp(s->health[i].name, service) == 0)
            status = s->health[i].serving ? RPC_HEALTH_SERVING : RPC_HEALTH_NOT_SERVING;
    pthread_mutex_unlock(&s->health_mu);
    if (status < 0) {
        snprintf(msg, msg_len, "unknown service '%s'", service);
        return GRPC_STATUS_NOT_FOUND;
    }
    uint8_t *out = malloc(8);
    if (out == NULL) {
        snprintf(msg, msg_len, "out of memory");
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    }
    *resp_len = rpc_health_resp_encode(status, out);
    *resp = out;
    return GRPC_STATUS_OK;
}

nf_status
nf_rpc_server_set_health(nf_rpc_server *s, const char *service, bool serving, nf_err *err)
{
    if (s == NULL || service == NULL)
        return nf_err_set(err, NF_EINVAL, "set_health: NULL argument");
    if (strlen(service) >= NF_RPC_NAME_MAX)
        return nf_err_set(err, NF_EINVAL, "health service name too long: %.40s...", service);
    nf_status rc = NF_OK;
    pthread_mutex_lock(&s->health_mu);
    size_t i;
    for (i = 0; i < s->nhealth; i++)
        if (strcmp(s->health[i].name, service) == 0)
            break;
    if (i == s->nhealth) {
        if (s->nhealth == NF_RPC_MAX_HEALTH) {
            rc = nf_err_set(err, NF_ENOMEM, "more than %d health service names",
                            NF_RPC_MAX_HEALTH);
            goto out;
        }
        strcpy(s->health[i].name, service); /* length checked above */
        s->nhealth++;
    }
    s->health[i].serving = serving;
out:
    pthread_mutex_unlock(&s->health_mu);
    return rc;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

/* gRPC listen address from "host:port", ":port", "[v6]:port". */
static nf_status
listen_target(const char *addr, char *out, size_t cap, nf_err *err)
{
    char host[NF_ADDR_STRLEN + 64];
    uint16_t port;
    if (addr == NULL || !nf_hostport_parse(addr, host, sizeof(host), &port))
        return nf_err_set(err, NF_EINVAL, "listen address '%s': expected host:port, :port or "
                                          "[v6]:port", addr == NULL ? "(null)" : addr);
    int n;
    if (host[0] == '\0')
        n = snprintf(out, cap, "[::]:%u", port); /* dual stack: IPv6 and IPv4 */
    else if (strchr(host, ':') != NULL)
        n = snprintf(out, cap, "[%s]:%u", host, port);
    else
        n = snprintf(out, cap, "%s:%u", host, port);
    if (n < 0 || (size_t)n >= cap)
        return nf_err_set(err, NF_EINVAL, "listen address '%s' too long", addr);
    return NF_OK;
}

nf_status
nf_rpc_server_create(const char *listen_addr, const nf_security_config *sec,
                     nf_rpc_server **out, nf_err *err)
{
    char target[NF_ADDR_STRLEN + 96];
    nf_status rc = listen_target(listen_addr, target, sizeof(target), err);
    if (rc != NF_OK)
        return rc;
    nf_rpc_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nf_err_set(err, NF_ENOMEM, "rpc server");
    if (pthread_mutex_init(&s->health_mu, NULL) != 0) {
        free(s);
        return nf_err_set(err, NF_ENOMEM, "rpc server mutex");
    }
    atomic_init(&s->stopping, false);
    snprintf(s->health_method.name, sizeof(s->health_method.name), "%s",
             RPC_HEALTH_CHECK_METHOD);
    s->health_method.kind = METHOD_UNARY;
    s->health_method.unary = health_check;
    s->health_method.ctx = s;
    grpc_init(); /* invariant 2; nf_rpc_server_destroy undoes it on every path from here */

    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = (int)NF_RPC_MAX_MSG},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = (int)NF_RPC_MAX_MSG},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONCURRENT_STREAMS,
         .value.integer = NF_RPC_MAX_STREAMS},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
         .value.integer = HANDSHAKE_TIMEOUT_MS},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS,
         .value.integer = KEEPALIVE_TIME_MS},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
         .value.integer = KEEPALIVE_TIMEOUT_MS},
        /* keep pinging a stream that is open but quiet (gRPC stops after 2 by default) */
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
         .value.integer = 0},
        /* gRPC sets SO_REUSEPORT by default: a second daemon on the same port would then
         * bind too and silently take half the connections. A busy port must fail. */
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0},
    };
    grpc_channel_args cargs = {.num_args = sizeof(args) / sizeof(args[0]), .args = args};
    grpc_server_credentials *creds = NULL;
    s->srv = grpc_server_create(&cargs, NULL);
    s->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    if (s->srv == NULL || s->shutdown_cq == NULL) {
        rc = nf_err_set(err, NF_ENOMEM, "grpc server");
        goto fail;
    }
    grpc_server_register_completion_queue(s->srv, s->shutdown_cq, NULL);
    if ((rc = rpc_server_creds(sec, &creds, &s->tls, err)) != NF_OK)
        goto fail;
    int port = grpc_server_add_http2_port(s->srv, target, creds);
    grpc_server_credentials_release(creds);
    if (port <= 0 || port > 65535) {
        rc = nf_err_set(err, NF_EIO, "cannot listen on %s (address in use or unavailable)",
                        listen_addr);
        goto fail;
    }
    s->port = (uint16_t)port;
    *out = s;
    return NF_OK;
fail:
    nf_rpc_server_destroy(s);
    return rc;
}

static nf_status
add_method(nf_rpc_server *s, const char *name, method_kind kind, nf_rpc_unary_fn *u,
           nf_rpc_stream_fn *st, void *ctx, nf_err *err)
{
    if (s == NULL || name == NULL || (u == NULL && st == NULL))
        return nf_err_set(err, NF_EINVAL, "add method: NULL argument");
    if (s->started)
        return nf_err_set(err, NF_EINVAL, "add method %s: server already started", name);
    size_t len = strlen(name);
    if (len < 3 || name[0] != '/' || strchr(name + 1, '/') == NULL || len >= NF_RPC_NAME_MAX)
        return nf_err_set(err, NF_EINVAL, "method '%s': expected /package.Service/Method "
                                          "shorter than %d", name, NF_RPC_NAME_MAX);
    size_t i;
    for (i = 0; i < s->nmethods; i++)
        if (strcmp(s->methods[i].name, name) == 0)
            break;
    if (i == s->nmethods) {
        if (s->nmethods == NF_RPC_MAX_METHODS)
            return nf_err_set(err, NF_ENOMEM, "more than %d methods", NF_RPC_MAX_METHODS);
        s->nmethods++;
    }
    method *m = &s->methods[i];
    memcpy(m->name, name, len + 1);
    m->kind = kind;
    m->unary = u;
    m->stream = st;
    m->ctx = ctx;
    return NF_OK;
}

nf_status
nf_rpc_server_add_unary(nf_rpc_server *s, const char *method_name, nf_rpc_unary_fn *fn,
                        void *ctx, nf_err *err)
{
    return add_method(s, method_name, METHOD_UNARY, fn, NULL, ctx, err);
}

nf_status
nf_rpc_server_add_stream(nf_rpc_server *s, const char *method_name, nf_rpc_stream_fn *fn,
                         void *ctx, nf_err *err)
{
    return add_method(s, method_name, METHOD_STREAM, NULL, fn, ctx, err);
}

nf_status
nf_rpc_server_start(nf_rpc_server *s, unsigned threads, nf_err *err)
{
    if (s == NULL)
        return nf_err_set(err, NF_EINVAL, "start: NULL server");
    if (s->started)
        return nf_err_set(err, NF_EINVAL, "server already started");
    if (threads == 0)
        threads = DEFAULT_THREADS;
    if (threads > NF_RPC_MAX_THREADS)
        threads = NF_RPC_MAX_THREADS;
    s->workers = calloc(threads, sizeof(*s->workers));
    if (s->workers == NULL)
        return nf_err_set(err, NF_ENOMEM, "%u workers", threads);
    /* Completion queues must be registered before grpc_server_start. */
    for (unsigned i = 0; i < threads; i++) {
        s->workers[i].s = s;
        s->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        if (s->workers[i].cq == NULL)
            return nf_err_set(err, NF_ENOMEM, "completion queue");
        s->nworkers++;
        grpc_server_register_completion_queue(s->srv, s->workers[i].cq, NULL);
    }
    grpc_server_start(s->srv);
    s->started = true;
    for (unsigned i = 0; i < threads; i++) {
        int e = pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
        if (e != 0)
            return nf_err_sys(err, NF_EINTERNAL, e, "rpc worker thread %u of %u", i + 1,
                              threads);
        s->workers[i].running = true;
    }
    return NF_OK;
}

uint16_t
nf_rpc_server_port(const nf_rpc_server *s)
{
    return s == NULL ? 0 : s->port;
}

static void
drain_cq(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    grpc_event ev;
    do {
        ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    } while (ev.type != GRPC_QUEUE_SHUTDOWN);
    grpc_completion_queue_destroy(cq);
}

void
nf_rpc_server_destroy(nf_rpc_server *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopping, true);
    if (s->srv != NULL) {
        if (s->shutdown_cq != NULL) {
            grpc_server_shutdown_and_notify(s->srv, s->shutdown_cq, &s->shutdown_cq);
            grpc_server_cancel_all_calls(s->srv);
        }
        for (unsigned i = 0; i < s->nworkers; i++)
            if (s->workers[i].running)
                pthread_join(s->workers[i].thread, NULL);
        if (s->shutdown_cq != NULL) {
            grpc_event ev;
            do {
                ev = grpc_completion_queue_next(s->shutdown_cq,
                                                gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            } while (ev.type == GRPC_OP_COMPLETE && ev.tag != &s->shutdown_cq);
        }
        grpc_server_destroy(s->srv);
    }
    for (unsigned i = 0; i < s->nworkers; i++)
        drain_cq(s->workers[i].cq);
    if (s->shutdown_cq != NULL)
        drain_cq(s->shutdown_cq);
    free(s->workers);
    pthread_mutex_destroy(&s->health_mu);
    free(s);
    grpc_shutdown();
}
