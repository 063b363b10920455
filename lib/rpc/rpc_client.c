/* rpc_client.c — gRPC client: one channel, one pluck completion queue per call.
 *
 * A call's ops all complete on its own completion queue, which only the calling thread
 * plucks, so calls on one client from many threads do not interact (the channel itself is
 * thread-safe in gRPC). The call's deadline is given to gRPC, which ends every op when it
 * passes; plucks therefore wait without a limit of their own.
 *
 * Channel arguments and why:
 *   - message limits NF_RPC_MAX_MSG both ways (gRPC's default receive limit is 4 MiB);
 *   - retries off: a failed call is reported, the caller decides (and retries would buffer
 *     request copies);
 *   - reconnect backoff 1 s .. 10 s instead of gRPC's 1 s .. 120 s: a restarted peer is used
 *     again within seconds;
 *   - a subchannel pool local to the channel: clients never share connections, so destroying
 *     one client closes its connections;
 *   - GRPC_SSL_TARGET_NAME_OVERRIDE_ARG = security.server_name: the name checked in the
 *     server's certificate (and sent as SNI and :authority).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define RECONNECT_INITIAL_MS 1000
#define RECONNECT_MAX_MS 10000

struct nf_rpc_client {
    grpc_channel *ch;
    char target[256];
};

nf_status
nf_rpc_client_create(const char *target, const nf_security_config *sec, nf_rpc_client **out,
                     nf_err *err)
{
    if (target == NULL || target[0] == '\0')
        return nf_err_set(err, NF_EINVAL, "rpc client: empty target");
    if (strlen(target) >= sizeof(((nf_rpc_client *)0)->target))
        return nf_err_set(err, NF_EINVAL, "rpc client: target too long: %.40s...", target);
    nf_rpc_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nf_err_set(err, NF_ENOMEM, "rpc client");
    strcpy(c->target, target);
    grpc_init(); /* invariant 2 */
    grpc_channel_credentials *creds = NULL;
    char *server_name = NULL;
    nf_status rc = rpc_channel_creds(sec, &creds, &server_name, err);
    if (rc != NF_OK) {
        free(c);
        grpc_shutdown();
        return rc;
    }
    grpc_arg args[7] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = (int)NF_RPC_MAX_MSG},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = (int)NF_RPC_MAX_MSG},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
         .value.integer = RECONNECT_INITIAL_MS},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
         .value.integer = RECONNECT_MAX_MS},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1},
    };
    size_t nargs = 6;
    if (server_name != NULL && server_name[0] != '\0') {
        args[nargs].type = GRPC_ARG_STRING;
        args[nargs].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[nargs].value.string = server_name;
        nargs++;
    }
    grpc_channel_args cargs = {.num_args = nargs, .args = args};
    c->ch = grpc_channel_create(target, creds, &cargs); /* copies the args */
    grpc_channel_credentials_release(creds);
    free(server_name);
    if (c->ch == NULL) {
        free(c);
        grpc_shutdown();
        return nf_err_set(err, NF_ENOMEM, "grpc channel to %s", target);
    }
    *out = c;
    return NF_OK;
}

void
nf_rpc_client_destroy(nf_rpc_client *c)
{
    if (c == NULL)
        return;
    grpc_channel_destroy(c->ch);
    free(c);
    grpc_shutdown();
}

/* Maps a finished call's status to nf_status, filling st and err. */
static nf_status
map_status(const nf_rpc_client *c, const char *method, grpc_status_code code,
           grpc_slice details, nf_rpc_status *st, nf_err *err)
{
    char msg[sizeof(st->message)];
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n > sizeof(msg) - 1)
        n = sizeof(msg) - 1;
    memcpy(msg, GRPC_SLICE_START_PTR(details), n);
    msg[n] = '\0';
    if (st != NULL) {
        st->code = (int)code;
        memcpy(st->message, msg, n + 1);
    }
    nf_status s;
    switch (code) {
    case GRPC_STATUS_OK:
        return NF_OK;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        s = NF_ETIMEDOUT;
        break;
    case GRPC_STATUS_UNAVAILABLE:
        s = NF_EAGAIN;
        break;
    default:
        s = NF_EUPSTREAM;
        break;
    }
    return nf_err_set(err, s, "grpc %s %s: %s (%d): %s", c->target, method,
                      nf_rpc_code_name((int)code), (int)code, msg);
}

static void
set_local_status(nf_rpc_status *st, int code, const char *msg)
{
    if (st != NULL) {
        st->code = code;
        snprintf(st->message, sizeof(st->message), "%s", msg);
    }
}

/* One call in progress on the client side. */
typedef struct ccall {
    grpc_completion_queue *cq;
    grpc_call *call;
} ccall;

static nf_status
ccall_start(nf_rpc_client *c, const char *method, uint64_t timeout_ms, ccall *cc, nf_err *err)
{
    if (c == NULL || method == NULL || method[0] != '/')
        return nf_err_set(err, NF_EINVAL, "rpc call: bad client or method '%s'",
                          method == NULL ? "(null)" : method);
    cc->cq = grpc_completion_queue_create_for_pluck(NULL);
    if (cc->cq == NULL)
        return nf_err_set(err, NF_ENOMEM, "completion queue");
    grpc_slice m = grpc_slice_from_copied_string(method);
    cc->call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cc->cq, m, NULL,
                                        rpc_deadline_in(timeout_ms), NULL);
    grpc_slice_unref(m);
    if (cc->call == NULL) {
        grpc_completion_queue_shutdown(cc->cq);
        grpc_completion_queue_destroy(cc->cq);
        return nf_err_set(err, NF_ENOMEM, "grpc call %s", method);
    }
    return NF_OK;
}

/* Waits for tag; gRPC ends the op at the latest at the call's deadline. */
static bool
ccall_wait(ccall *cc, void *tag)
{
    grpc_event ev =
        grpc_completion_queue_pluck(cc->cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static void
ccall_end(ccall *cc)
{
    grpc_call_unref(cc->call);
    grpc_completion_queue_shutdown(cc->cq);
    grpc_completion_queue_destroy(cc->cq);
}

/* A unary call; wait_for_ready makes the call wait (until its deadline) for the channel to
 * connect instead of failing at once while it is (re)connecting. While a call waits it also
 * drives the connection attempt: between calls gRPC only advances it from its backup poller
 * (every 5 s), so a reconnect over TLS — several round trips — would otherwise take tens of
 * seconds. */
static nf_status
unary_call(nf_rpc_client *c, const char *method, const uint8_t *req, size_t req_len,
           uint64_t timeout_ms, bool wait_for_ready, uint8_t **resp, size_t *resp_len,
           nf_rpc_status *st, nf_err *err)
{
    if (resp == NULL || resp_len == NULL || (req == NULL && req_len > 0))
        return nf_err_set(err, NF_EINVAL, "rpc unary: NULL argument");
    if (req_len > NF_RPC_MAX_MSG)
        return nf_err_set(err, NF_EINVAL, "rpc unary %s: request of %zu bytes > %u",
                          method == NULL ? "" : method, req_len, NF_RPC_MAX_MSG);
    ccall cc;
    nf_status rc = ccall_start(c, method, timeout_ms, &cc, err);
    if (rc != NF_OK)
        return rc;
    grpc_byte_buffer *send = rpc_bb_copy(req, req_len);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array imd, tmd;
    grpc_metadata_array_init(&imd);
    grpc_metadata_array_init(&tmd);
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;
    if (send == NULL) {
        rc = nf_err_set(err, NF_ENOMEM, "rpc unary %s: request buffer", method);
        goto out;
    }
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (wait_for_ready)
        ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY |
                       GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;
    grpc_call_error e = grpc_call_start_batch(cc.call, ops, 6, &cc, NULL);
    if (e != GRPC_CALL_OK) {
        rc = nf_err_set(err, NF_EINTERNAL, "rpc unary %s: start_batch: %s", method,
                        grpc_call_error_to_string(e));
        goto out;
    }
    (void)ccall_wait(&cc, &cc); /* the status tells how it went */
    rc = map_status(c, method, code, details, st, err);
    if (rc == NF_OK) {
        if (recv == NULL) {
            set_local_status(st, GRPC_STATUS_INTERNAL, "OK status without a response message");
            rc = nf_err_set(err, NF_EPROTO, "grpc %s %s: OK without a response message",
                            c->target, method);
        } else {
            uint8_t *buf;
            size_t len;
            rc = rpc_bb_read(recv, &buf, &len, err);
            if (rc == NF_OK) {
                if (len == 0) {
                    free(buf);
                    buf = NULL;
                }
                *resp = buf;
                *resp_len = len;
            }
        }
    }
out:
    if (send != NULL)
        grpc_byte_buffer_destroy(send);
    if (recv != NULL)
        grpc_byte_buffer_destroy(recv);
    grpc_metadata_array_destroy(&imd);
    grpc_metadata_array_destroy(&tmd);
    grpc_slice_unref(details);
    gpr_free((void *)error_string);
    ccall_end(&cc);
    return rc;
}

nf_status
nf_rpc_unary(nf_rpc_client *c, const char *method, const uint8_t *req, size_t req_len,
             uint64_t timeout_ms, uint8_t **resp, size_t *resp_len, nf_rpc_status *st,
             nf_err *err)
{
    return unary_call(c, method, req, req_len, timeout_ms, false, resp, resp_len, st, err);
}

nf_status
nf_rpc_server_stream(nf_rpc_client *c, const char *method, const uint8_t *req, size_t req_len,
                     uint64_t timeout_ms, nf_rpc_msg_fn *on_msg, void *ctx, nf_rpc_status *st,
                     nf_err *err)
{
    if (on_msg == NULL || (req == NULL && req_len > 0))
        return nf_err_set(err, NF_EINVAL, "rpc stream: NULL argument");
    if (req_len > NF_RPC_MAX_MSG)
        return nf_err_set(err, NF_EINVAL, "rpc stream %s: request of %zu bytes > %u",
                          method == NULL ? "" : method, req_len, NF_RPC_MAX_MSG);
    ccall cc;
    nf_status rc = ccall_start(c, method, timeout_ms, &cc, err);
    if (rc != NF_OK)
        return rc;
    grpc_byte_buffer *send = rpc_bb_copy(req, req_len);
    grpc_metadata_array imd, tmd;
    grpc_metadata_array_init(&imd);
    grpc_metadata_array_init(&tmd);
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;
    /* Distinct tags: addresses of distinct locals. */
    char tag_send, tag_md, tag_msg, tag_status;
    bool send_started = false, md_started = false, stopped_by_caller = false;
    nf_status cb_rc = NF_OK;
    if (send == NULL) {
        rc = nf_err_set(err, NF_ENOMEM, "rpc stream %s: request buffer", method);
        goto out;
    }
    grpc_op ops[3];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    grpc_call_error e = grpc_call_start_batch(cc.call, ops, 3, &tag_send, NULL);
    if (e != GRPC_CALL_OK)
        goto batch_fail;
    send_started = true;
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[0].data.recv_initial_metadata.recv_initial_metadata = &imd;
    e = grpc_call_start_batch(cc.call, ops, 1, &tag_md, NULL);
    if (e != GRPC_CALL_OK)
        goto batch_fail;
    md_started = true;

    for (;;) {
        grpc_byte_buffer *bb = NULL;
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_RECV_MESSAGE;
        ops[0].data.recv_message.recv_message = &bb;
        e = grpc_call_start_batch(cc.call, ops, 1, &tag_msg, NULL);
        if (e != GRPC_CALL_OK)
            goto batch_fail;
        (void)ccall_wait(&cc, &tag_msg);
        if (bb == NULL)
            break; /* end of stream or failure: the status says which */
        uint8_t *buf;
        size_t len;
        cb_rc = rpc_bb_read(bb, &buf, &len, err);
        grpc_byte_buffer_destroy(bb);
        if (cb_rc != NF_OK) {
            grpc_call_cancel(cc.call, NULL);
            break;
        }
        bool more = on_msg(ctx, buf, len);
        free(buf);
        if (!more) {
            grpc_call_cancel(cc.call, NULL);
            stopped_by_caller = true;
            break;
        }
    }
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[0].data.recv_status_on_client.status = &code;
    ops[0].data.recv_status_on_client.status_details = &details;
    ops[0].data.recv_status_on_client.error_string = &error_string;
    e = grpc_call_start_batch(cc.call, ops, 1, &tag_status, NULL);
    if (e != GRPC_CALL_OK)
        goto batch_fail;
    (void)ccall_wait(&cc, &tag_status);
    if (stopped_by_caller) {
        set_local_status(st, GRPC_STATUS_CANCELLED, "cancelled by the caller");
        rc = NF_OK;
    } else if (cb_rc != NF_OK) {
        set_local_status(st, GRPC_STATUS_INTERNAL, err != NULL ? err->msg : "bad message");
        rc = cb_rc;
    } else {
        rc = map_status(c, method, code, details, st, err);
    }
    goto out;
batch_fail:
    grpc_call_cancel(cc.call, NULL);
    rc = nf_err_set(err, NF_EINTERNAL, "rpc stream %s: start_batch: %s", method,
                    grpc_call_error_to_string(e));
out:
    /* Every started op must be plucked before the queue goes (after a cancel they complete
     * at once). */
    if (send_started)
        (void)ccall_wait(&cc, &tag_send);
    if (md_started)
        (void)ccall_wait(&cc, &tag_md);
    if (send != NULL)
        grpc_byte_buffer_destroy(send);
    grpc_metadata_array_destroy(&imd);
    grpc_metadata_array_destroy(&tmd);
    grpc_slice_unref(details);
    gpr_free((void *)error_string);
    ccall_end(&cc);
    return rc;
}

nf_status
nf_rpc_health_check(nf_rpc_client *c, const char *service, uint64_t timeout_ms, bool *serving,
                    nf_err *err)
{
    if (service == NULL || serving == NULL)
        return nf_err_set(err, NF_EINVAL, "health check: NULL argument");
    size_t slen = strlen(service);
    if (slen >= NF_RPC_NAME_MAX)
        return nf_err_set(err, NF_EINVAL, "health check: service name too long");
    uint8_t req[NF_RPC_NAME_MAX + 8];
    size_t req_len = rpc_health_req_encode(service, req, sizeof(req));
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    nf_rpc_status st = {.code = GRPC_STATUS_UNKNOWN};
    /* Wait for ready: a health check is the place to (re)connect, see unary_call. */
    nf_status rc = unary_call(c, RPC_HEALTH_CHECK_METHOD, req, req_len, timeout_ms, true, &resp,
                              &resp_len, &st, err);
    if (rc != NF_OK) {
        if (rc == NF_EUPSTREAM && st.code == GRPC_STATUS_NOT_FOUND)
            return nf_err_set(err, NF_ENOTFOUND, "health %s: service '%s' unknown: %s",
                              c->target, service, st.message);
        return rc;
    }
    int status = 0;
    bool ok = rpc_health_resp_decode(resp, resp_len, &status);
    free(resp);
    if (!ok)
        return nf_err_set(err, NF_EPROTO, "health %s: undecodable HealthCheckResponse",
                          c->target);
    *serving = status == RPC_HEALTH_SERVING;
    return NF_OK;
}
