/* rpc.h — a small gRPC server and client on the gRPC C core (Debian libgrpc 1.51).
 *
 * Protobuf-agnostic: every message is a byte buffer; callers pack and unpack with protobuf-c.
 * The library itself only hand-encodes the two tiny grpc.health.v1 messages.
 *
 * Server model (synchronous handlers on a fixed pool):
 *   - nf_rpc_server_create binds the listener (port 0 = pick; nf_rpc_server_port tells),
 *     methods are added, then nf_rpc_server_start runs `threads` worker threads. Each worker
 *     owns one completion queue, asks gRPC for the next call, runs its handler to the end
 *     and only then asks for another: at most `threads` calls are served at once, further
 *     calls wait inside gRPC until a worker is free.
 *   - A handler runs on its worker thread and may block; nf_rpc_stream_send blocks until gRPC
 *     accepted the message (HTTP/2 flow control), so a slow reader slows only its own call.
 *     Every wait on the network is bounded by the call's deadline, by cancellation (client
 *     went away, server shutting down) and by NF_RPC_STALL_MS without progress.
 *   - grpc.health.v1.Health/Check is built in (nf_rpc_server_set_health).
 *   - nf_rpc_server_destroy stops accepting, cancels the calls in flight (their sends fail,
 *     nf_rpc_call_cancelled turns true), joins the workers and frees everything. A handler
 *     that computes for a long time without looking at nf_rpc_call_cancelled delays it.
 *
 * Client model: one HTTP/2 channel per client, reconnecting on its own (backoff 1 s .. 10 s).
 * Every call uses its own completion queue, so any number of threads may make calls on one
 * client at the same time. Calls fail fast (no wait-for-ready): a peer that is down gives
 * NF_EAGAIN at once rather than at the deadline.
 *
 * Status mapping on the client (nf_rpc_unary, nf_rpc_server_stream):
 *   gRPC OK → NF_OK; DEADLINE_EXCEEDED → NF_ETIMEDOUT; UNAVAILABLE → NF_EAGAIN (peer down,
 *   unreachable, TLS handshake refused: retry later); any other code → NF_EUPSTREAM. The gRPC
 *   code and message are always in *st and, on failure, also in err->msg.
 *
 * Security (nf_security_config, ServiceRadar's "security" block):
 *   mode "none": plaintext HTTP/2 (local experiments only).
 *   mode "mtls": PEM files cert_file, key_file, ca_file, client_ca_file (relative names are
 *   joined to cert_dir; empty client_ca_file = ca_file) are read and checked with OpenSSL at
 *   create time, errors name the file. The server requires a client certificate and
 *   verifies it against client_ca_file; the client verifies the server's chain against
 *   ca_file and the server's certificate name (SAN, else CN) against server_name (empty:
 *   the host of the target). The verified client certificate's CN is available to handlers
 *   (nf_rpc_call_peer_cn).
 *   TLS version: libgrpc 1.51's public C API has no setter for the TLS version (the default
 *   is 1.2..1.3). When the build finds the exported setters of grpc's SSL credential
 *   objects (NF_RPC_TLS13 in CMake, on by default), both sides require TLS 1.3;
 *   nf_rpc_tls13_enforced() says whether this build does. Otherwise TLS 1.2 is accepted.
 *
 * Limits: messages up to NF_RPC_MAX_MSG bytes each way (gRPC refuses larger ones with
 * RESOURCE_EXHAUSTED); at most NF_RPC_MAX_STREAMS concurrent calls per connection; the
 * listener is exclusive (SO_REUSEPORT off, so a second server on a busy port fails).
 *
 * Logging: this library logs nothing, but gRPC core writes its own lines to stderr (e.g. one
 * per refused TLS handshake); the GRPC_VERBOSITY environment variable (ERROR by default)
 * controls them.
 *
 * Invariants:
 *   1. A worker has at most one call, and waits for every operation it started on that call
 *      before it releases the call (no completion can arrive for a finished call).
 *   2. gRPC is initialised once per live server or client object (grpc_init in create,
 *      grpc_shutdown in destroy; gRPC counts the references).
 */
#ifndef NFX_LIB_RPC_RPC_H
#define NFX_LIB_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../config/config.h"

#define NF_RPC_MAX_MSG (8u * 1024u * 1024u) /* bytes; chunks the project sends are <= 1 MiB */
#define NF_RPC_MAX_STREAMS 64          /* concurrent calls per connection (server side) */
#define NF_RPC_STALL_MS 30000          /* a wait with no progress for this long cancels */
#define NF_RPC_MAX_METHODS 32          /* methods per server (a daemon serves a handful) */
#define NF_RPC_MAX_HEALTH 32           /* service names known to the health service */
#define NF_RPC_NAME_MAX 128            /* longest method or health service name, with NUL */
#define NF_RPC_MAX_THREADS 64          /* worker threads per server */

/* gRPC status codes used by handlers and callers (same values as grpc_status_code). */
enum {
    NF_RPC_OK = 0,
    NF_RPC_CANCELLED = 1,
    NF_RPC_UNKNOWN = 2,
    NF_RPC_INVALID_ARGUMENT = 3,
    NF_RPC_DEADLINE_EXCEEDED = 4,
    NF_RPC_NOT_FOUND = 5,
    NF_RPC_ALREADY_EXISTS = 6,
    NF_RPC_PERMISSION_DENIED = 7,
    NF_RPC_RESOURCE_EXHAUSTED = 8,
    NF_RPC_FAILED_PRECONDITION = 9,
    NF_RPC_ABORTED = 10,
    NF_RPC_OUT_OF_RANGE = 11,
    NF_RPC_UNIMPLEMENTED = 12,
    NF_RPC_INTERNAL = 13,
    NF_RPC_UNAVAILABLE = 14,
    NF_RPC_DATA_LOSS = 15,
    NF_RPC_UNAUTHENTICATED = 16
};

/* Short name of a gRPC status code ("UNAVAILABLE"); never NULL. */
const char *nf_rpc_code_name(int code);

/* True if this build makes both sides of an mTLS connection require TLS 1.3. */
bool nf_rpc_tls13_enforced(void);

/* ------------------------------------------------------------------------------------------
 * Server
 */
typedef struct nf_rpc_server nf_rpc_server;
typedef struct nf_rpc_call nf_rpc_call; /* the server side of one call in progress */

/* Unary handler, run on a worker thread. req (req_len bytes) is borrowed for the duration
 * of the call. Returns a gRPC status code (NF_RPC_OK = 0). On NF_RPC_OK, *resp / *resp_len
 * is the response: malloc'd by the handler, consumed by the library (NULL with length 0 is an
 * empty response); whatever the handler leaves in *resp is freed also on other codes. On
 * other codes msg (msg_len bytes, starts as "") may receive the status message. */
typedef int nf_rpc_unary_fn(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len,
                            uint8_t **resp, size_t *resp_len, char *msg, size_t msg_len);

/* Server-streaming handler, run on a worker thread: sends with nf_rpc_stream_send and returns
 * the final status code (message in msg as for unary handlers). req is borrowed. */
typedef int nf_rpc_stream_fn(void *ctx, nf_rpc_call *call, const uint8_t *req, size_t req_len,
                             char *msg, size_t msg_len);

/* The nf_rpc_call functions below may only be called by the handler that received call, on
 * its thread, while it runs. */

/* Sends one message of a server-streaming call (data borrowed, copied). Blocks until gRPC
 * accepted it (flow control), at most until the deadline or NF_RPC_STALL_MS without
 * progress. Returns NF_OK; NF_EINVAL (len > NF_RPC_MAX_MSG, or not a streaming call);
 * NF_ETIMEDOUT (deadline passed or the peer stalled); NF_EUPSTREAM (call cancelled: client
 * gone or server shutting down; a client giving up at its own deadline may also show up so,
 * as its cancel can arrive just before the server's copy of the deadline passes). After a
 * failure every later send fails at once and the handler should return (its status is then
 * not delivered). */
nf_status nf_rpc_stream_send(nf_rpc_call *call, const uint8_t *data, size_t len, nf_err *err);

/* True once the call can no longer succeed: the client cancelled or went away, the deadline
 * passed, a send failed, or the server is shutting down. Cheap (a non-blocking poll). */
bool nf_rpc_call_cancelled(nf_rpc_call *call);

/* Milliseconds left until the call's deadline, 0 if passed, UINT64_MAX if it has none. */
uint64_t nf_rpc_call_deadline_ms(nf_rpc_call *call);

/* The peer as gRPC names it ("ipv4:127.0.0.1:5555"); borrowed, valid while the handler runs. */
const char *nf_rpc_call_peer(nf_rpc_call *call);

/* The common name of the client's verified certificate ("poller.serviceradar"), "" without
 * TLS. Borrowed, valid while the handler runs. */
const char *nf_rpc_call_peer_cn(nf_rpc_call *call);

/* The full method name of the call ("/monitoring.AgentService/GetStatus"); borrowed. */
const char *nf_rpc_call_method(nf_rpc_call *call);

/* Creates a server listening on listen_addr: "host:port", ":port" (every address, IPv6 and
 * IPv4), "[v6]:port"; port 0 lets the kernel choose. sec (borrowed, read during the call only)
 * selects plaintext or mTLS. The socket is bound here, so a busy port fails here. On success
 * *out is returned-owned (free with nf_rpc_server_destroy). Errors: NF_EINVAL (bad address or
 * security config, unreadable or invalid PEM file — the message names the file), NF_EIO
 * (cannot bind), NF_ENOMEM. */
nf_status nf_rpc_server_create(const char *listen_addr, const nf_security_config *sec,
                               nf_rpc_server **out, nf_err *err);

/* Adds a unary or server-streaming method ("/package.Service/Method"; method borrowed, copied;
 * ctx borrowed, passed to fn). Only before nf_rpc_server_start. A method added twice replaces
 * the first; adding "/grpc.health.v1.Health/Check" replaces the built-in health service.
 * Errors: NF_EINVAL (bad name, already started), NF_ENOMEM (more than NF_RPC_MAX_METHODS). */
nf_status nf_rpc_server_add_unary(nf_rpc_server *s, const char *method, nf_rpc_unary_fn *fn,
                                  void *ctx, nf_err *err);
nf_status nf_rpc_server_add_stream(nf_rpc_server *s, const char *method, nf_rpc_stream_fn *fn,
                                   void *ctx, nf_err *err);

/* Sets what grpc.health.v1.Health/Check answers for service (borrowed, copied; "" is the
 * whole server): SERVING or NOT_SERVING. Services never set get status NOT_FOUND. Thread-safe,
 * callable any time. Errors: NF_EINVAL (name too long), NF_ENOMEM (more than NF_RPC_MAX_HEALTH
 * names). */
nf_status nf_rpc_server_set_health(nf_rpc_server *s, const char *service, bool serving,
                                   nf_err *err);

/* Starts serving with `threads` workers (0 = 4, at most NF_RPC_MAX_THREADS). Once only.
 * Errors: NF_EINVAL (started already), NF_ENOMEM, NF_EINTERNAL (thread creation). */
nf_status nf_rpc_server_start(nf_rpc_server *s, unsigned threads, nf_err *err);

/* The bound port (useful with port 0). */
uint16_t nf_rpc_server_port(const nf_rpc_server *s);

/* Stops the server: no new calls, calls in flight are cancelled (clients see CANCELLED or
 * UNAVAILABLE — never OK, even when a handler returns OK after it saw the cancellation),
 * workers are joined once their handlers return. NULL-safe. Not from a handler. */
void nf_rpc_server_destroy(nf_rpc_server *s);

/* ------------------------------------------------------------------------------------------
 * Client
 */
typedef struct nf_rpc_client nf_rpc_client;

/* gRPC status of a finished call. */
typedef struct nf_rpc_status {
    int code;          /* gRPC status code (NF_RPC_*), NF_RPC_OK on success */
    char message[256]; /* status message sent by the server or made by gRPC, truncated */
} nf_rpc_status;

/* Creates a client for target ("host:port", "[v6]:port"; names are resolved by gRPC). Does not
 * connect: the first call does, and the channel reconnects by itself afterwards. sec is
 * borrowed (read during the call only). *out is returned-owned (nf_rpc_client_destroy).
 * Errors: NF_EINVAL (bad target or security config, PEM file problems naming the file),
 * NF_ENOMEM. */
nf_status nf_rpc_client_create(const char *target, const nf_security_config *sec,
                               nf_rpc_client **out, nf_err *err);

/* Unary call of method with req (borrowed). timeout_ms bounds the whole call (0 = no
 * deadline; avoid). On NF_OK, *resp is returned-owned (free with free(); NULL when
 * *resp_len is 0). st (may be NULL) receives the gRPC status whenever the call was made,
 * success or not. Errors: see the status mapping above; NF_EINVAL for a bad argument or a
 * request larger than NF_RPC_MAX_MSG; NF_ENOMEM. Thread-safe. */
nf_status nf_rpc_unary(nf_rpc_client *c, const char *method, const uint8_t *req,
                       size_t req_len, uint64_t timeout_ms, uint8_t **resp, size_t *resp_len,
                       nf_rpc_status *st, nf_err *err);

/* Receives one message of a stream: msg (len bytes) is borrowed for the duration of the
 * callback. Return false to cancel the stream. */
typedef bool nf_rpc_msg_fn(void *ctx, const uint8_t *msg, size_t len);

/* Server-streaming call: sends req (borrowed), then calls on_msg for every message in order,
 * on the calling thread. timeout_ms bounds the whole stream (0 = no deadline). When on_msg
 * returns false the call is cancelled and NF_OK is returned with st->code NF_RPC_CANCELLED.
 * Otherwise as nf_rpc_unary (messages delivered before a failure stay delivered).
 * Thread-safe. */
nf_status nf_rpc_server_stream(nf_rpc_client *c, const char *method, const uint8_t *req,
                               size_t req_len, uint64_t timeout_ms, nf_rpc_msg_fn *on_msg,
                               void *ctx, nf_rpc_status *st, nf_err *err);

/* grpc.health.v1.Health/Check for service ("" = the whole server). On NF_OK *serving tells
 * SERVING (true) or anything else (false). NF_ENOTFOUND when the server does not know the
 * service, NF_EPROTO for an undecodable answer, otherwise as nf_rpc_unary. Unlike the other
 * calls it waits for the channel to connect (wait-for-ready) up to timeout_ms, driving the
 * (re)connection meanwhile: call it before a burst of calls to a peer that may have
 * restarted; a peer that stays down costs the whole timeout. Thread-safe. */
nf_status nf_rpc_health_check(nf_rpc_client *c, const char *service, uint64_t timeout_ms,
                              bool *serving, nf_err *err);

/* Closes the channel. NULL-safe. No call may be in progress on c. */
void nf_rpc_client_destroy(nf_rpc_client *c);

#endif
