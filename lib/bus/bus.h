/* bus.h — NATS JetStream for the project: publish FlowBatches, consume them with durable pull
 * consumers. A thin layer over libnats (the NATS C client) that maps its status codes to
 * nf_status at the boundary and keeps the original text in nf_err.msg.
 *
 * Design notes
 *   - One nf_bus = one NATS connection + one JetStream context. After the first successful
 *     connect, libnats reconnects in the background forever (no attempt limit); calls made
 *     while disconnected fail fast with NF_EAGAIN instead of being buffered.
 *   - Streams always use Interest retention (ARCHITECTURE.md §2): a message is deleted once
 *     every durable consumer has acked it, so "clickhouse" and "parquet" each see every
 *     message. WorkQueue or Limits retention on an existing stream is refused, never changed.
 *   - JetStream quirk the caller must know: on an Interest stream with NO consumer at all, the
 *     server acks a publish (with a sequence number) but stores nothing. Create the durables
 *     first (nf_bus_consumer_ensure) before publishing anything that must not be lost.
 *   - Publishes carry Nats-Msg-Id (<agent_id>:<first_seq>) so the server drops a retried batch
 *     that was already stored within the stream's duplicate window; the ack says "duplicate".
 *
 * The ack / redelivery cycle of one message on a durable pull consumer:
 *
 *        publish ──► [stored] ──fetch──► [in flight: pending ack, AckWait timer runs]
 *                        ▲                   │        │          │          │
 *                        │     AckWait       │ ack    │ nak(d)   │ term     │ release
 *                        │     expires  ◄────┼────────┼──────────┼──────────┘
 *                        │  (num_delivered+1)│        │          │
 *                        └───────────────────┼────────┘ after d  │
 *                                            ▼                   ▼
 *                              [acked by this durable]   [never redelivered]
 *                                            │
 *                     all durables acked ──► deleted from the stream (Interest retention)
 *
 *   transition            function              server effect
 *   stored → in flight    nf_bus_fetch          delivered, num_delivered += 1
 *   in flight → acked     nf_bus_ack            ack confirmed by the server (AckSync)
 *   in flight → stored    nf_bus_nak            redelivered after delay_ms (0 = at once)
 *   in flight → dropped   nf_bus_term           never redelivered to this durable (poison)
 *   in flight → stored    nf_bus_msg_release    nothing sent; redelivered after AckWait
 *
 * Threading
 *   - nf_bus: nf_bus_publish, nf_bus_ensure_stream, nf_bus_stream_info, nf_bus_consumer_ensure,
 *     nf_bus_consumer_open and nf_bus_connected may be called from any thread concurrently.
 *     nf_bus_close must be the last call, after every consumer of the bus is closed.
 *   - nf_bus_consumer: one thread at a time (fetch, ack, nak, term, close). Several consumers
 *     of one bus may run on different threads, and several consumers (in one or many
 *     processes) may open the same durable to share its messages.
 *   - nf_bus_msg: owned by whoever fetched it until acked, nak'ed, termed or released; all of
 *     them must be settled before the consumer that fetched them is closed.
 *
 * Invariants
 *   1. Out-parameters are written only on NF_OK.
 *   2. A message handle is freed exactly once: by a successful ack/nak/term or by release.
 *   3. Nothing is sent to the server while the connection is known to be down.
 */
#ifndef NFX_LIB_BUS_BUS_H
#define NFX_LIB_BUS_BUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../config/config.h"

typedef struct nf_bus nf_bus;
typedef struct nf_bus_consumer nf_bus_consumer;

/* Header the server uses for de-duplication. */
#define NF_BUS_MSG_ID_HEADER "Nats-Msg-Id"

typedef struct nf_bus_config {
    const char *url;                    /* "nats://host:port" or "tls://host:port"; several
                                           separated by commas; borrowed for the call */
    const nf_security_config *security; /* NULL or mode "none": plaintext. "mtls": TLS with
                                           tls.cert_file/key_file as client certificate, the
                                           server verified against tls.ca_file and its name
                                           against server_name (default: the URL's host).
                                           Relative file names are joined to cert_dir. */
    const char *name;                   /* connection name shown by the server, or NULL */
    uint64_t timeout_ms;                /* connect and JetStream API timeout; 0 = 5000 */
    uint64_t reconnect_wait_ms;         /* pause between reconnect attempts; 0 = 2000 */
} nf_bus_config;

/* Connects (one attempt over the listed servers) and creates the JetStream context. After
 * this succeeds the connection reconnects forever in the background.
 * Returns NF_OK and *out (returned-owned: free with nf_bus_close); NF_EINVAL for a bad
 * config or unreadable certificate/key files; NF_EAGAIN if no server could be reached (try
 * again later); NF_EUPSTREAM if a server refused us (TLS handshake, certificate, auth).
 * cfg and everything it points to is borrowed for the duration of the call. */
nf_status nf_bus_connect(const nf_bus_config *cfg, nf_bus **out, nf_err *err);

/* Closes the connection and frees the bus. NULL-safe. Close consumers first. */
void nf_bus_close(nf_bus *b);

/* True while the connection is established (false while reconnecting). */
bool nf_bus_connected(const nf_bus *b);

/* Frees libnats' process-wide state (its internal threads, timers and buffers) after every
 * bus is closed, waiting up to timeout_ms (0 = as long as needed) for its threads to end.
 * Optional: call once at process exit for a tidy shutdown (LeakSanitizer reports nothing
 * either way, the state stays reachable). No nf_bus may be used afterwards. */
void nf_bus_global_cleanup(uint64_t timeout_ms);

/* ---- streams ----------------------------------------------------------------------------- */

typedef struct nf_stream_config {
    const char *name;              /* stream name, e.g. "NETFLOW" (no '.', '*', '>') */
    const char *const *subjects;   /* e.g. {"netflow.raw"}; borrowed */
    size_t nsubjects;              /* >= 1 */
    int64_t max_bytes;             /* size limit in bytes; <= 0 = unlimited */
    bool discard_new;              /* when full: refuse new messages (true) or drop old */
    uint64_t duplicate_window_ms;  /* de-dup window for Nats-Msg-Id; 0 = server default 2m */
    int replicas;                  /* 1 on a single server, 3 on a cluster; 0 = 1. Only used
                                      when creating: an existing stream keeps its own */
    bool limits_retention;         /* false: Interest retention (the data streams); true:
                                      Limits (kept until max_bytes/max_age, e.g. dead letters) */
    uint64_t max_age_ms;           /* drop messages older than this; 0 = no age limit */
} nf_stream_config;

/* Creates the stream (file storage; Interest retention, or Limits with limits_retention), or
 * checks an existing one: refuses an existing stream with another retention or with other
 * subjects (NF_EINVAL, the message says what differs and what to do), and updates max_bytes,
 * max_age, the discard policy and the duplicate window when they differ. Idempotent; safe when several
 * processes race to create the same stream.
 * Returns NF_OK, NF_EINVAL, NF_EAGAIN (not connected, timeout, JetStream not ready) or
 * NF_EUPSTREAM (the server refused the create/update). cfg is borrowed. */
nf_status nf_bus_ensure_stream(nf_bus *b, const nf_stream_config *cfg, nf_err *err);

typedef struct nf_stream_info {
    uint64_t messages;  /* messages stored now */
    uint64_t bytes;     /* bytes stored now (payload + headers + per-message overhead) */
    uint64_t first_seq; /* sequence of the oldest stored message */
    uint64_t last_seq;  /* sequence of the newest message ever stored */
    uint64_t consumers; /* number of consumers */
    int64_t max_bytes;  /* configured limit, -1 = unlimited */
} nf_stream_info;

/* Reads the stream's state. Returns NF_OK, NF_ENOTFOUND (no such stream), NF_EAGAIN or
 * NF_EUPSTREAM. stream is borrowed; *out is written on NF_OK. */
nf_status nf_bus_stream_info(nf_bus *b, const char *stream, nf_stream_info *out, nf_err *err);

/* The durable's ack floor: every message of the stream with a sequence <= *floor has been
 * acked (or terminated) by it and will never be delivered to it again. Returns NF_OK,
 * NF_ENOTFOUND (no such stream or consumer), NF_EAGAIN or NF_EUPSTREAM. */
nf_status nf_bus_consumer_ack_floor(nf_bus *b, const char *stream, const char *durable,
                                    uint64_t *floor, nf_err *err);

/* A durable's position, as the server reports it. */
typedef struct nf_consumer_state {
    uint64_t ack_floor;   /* see nf_bus_consumer_ack_floor */
    uint64_t pending;     /* stored messages not delivered to it yet: its lag */
    uint64_t ack_pending; /* delivered, not acked yet (in its hands or waiting for AckWait) */
    uint64_t redelivered; /* of those, delivered more than once */
} nf_consumer_state;

/* Reads the durable's state. Returns as nf_bus_consumer_ack_floor; *out written on NF_OK. */
nf_status nf_bus_consumer_state(nf_bus *b, const char *stream, const char *durable,
                                nf_consumer_state *out, nf_err *err);

/* The lag a consuming daemon shows in its metrics: refreshed from the server at most every
 * `every_ms` by the consuming thread (nf_bus_lag_refresh), read by the metrics thread
 * (nf_bus_lag_read). Zero-initialise; no resources. */
typedef struct nf_bus_lag {
    _Atomic uint64_t pending, ack_pending;
    _Atomic bool known;  /* false until the first answer, and after a failed refresh */
    uint64_t next_ms;    /* consuming thread only */
} nf_bus_lag;

/* Asks the server for the durable's state when due (best effort: a failure makes the lag
 * unknown until the next success; nothing is reported). */
void nf_bus_lag_refresh(nf_bus_lag *l, nf_bus *b, const char *stream, const char *durable,
                        uint64_t every_ms);

/* True with *pending and *ack_pending when the lag is known. */
bool nf_bus_lag_read(nf_bus_lag *l, uint64_t *pending, uint64_t *ack_pending);

/* ---- publishing -------------------------------------------------------------------------- */

typedef struct nf_pub_ack {
    uint64_t stream_seq; /* sequence the message got (or the first copy got, if duplicate) */
    bool duplicate;      /* the server already had this msg_id: nothing new was stored */
} nf_pub_ack;

/* Publishes one message (data, len bytes, borrowed) on subject with header
 * Nats-Msg-Id = msg_id (NULL = no de-duplication) and waits up to timeout_ms (0 = the bus
 * timeout) for the JetStream ack.
 * Returns
 *   NF_OK        stored, or recognised as a duplicate (ack->duplicate); *ack written (ack may
 *                be NULL).
 *   NF_EAGAIN    not stored now, retry later with the same msg_id: the stream is full
 *                ("maximum bytes exceeded" with discard new) or out of storage, no stream
 *                or JetStream answered (no responders), not connected, or no ack within
 *                the timeout (the message may have been stored: the retry with the same
 *                msg_id is then acked as a duplicate).
 *   NF_EINVAL    bad arguments, or the message is larger than the server or stream allows
 *                (retrying cannot help: split the batch).
 *   NF_EUPSTREAM any other refusal.
 * err->msg names the subject, the msg_id and the server's or libnats' text. */
nf_status nf_bus_publish(nf_bus *b, const char *subject, const void *data, size_t len,
                         const char *msg_id, uint64_t timeout_ms, nf_pub_ack *ack, nf_err *err);

/* nf_bus_publish with extra headers: nheaders (name, value) pairs in headers[0..2n-1]
 * (borrowed; names must be valid NATS header names). */
nf_status nf_bus_publish_headers(nf_bus *b, const char *subject, const void *data, size_t len,
                                 const char *msg_id, const char *const *headers,
                                 size_t nheaders, uint64_t timeout_ms, nf_pub_ack *ack,
                                 nf_err *err);

/* ---- consuming --------------------------------------------------------------------------- */

/* Creates the durable pull consumer if it does not exist (explicit ack, deliver all, AckWait
 * ack_wait_ms (0 = 30 s), MaxAckPending max_ack_pending (<= 0 = server default), only
 * subjects matching filter_subject (NULL = all of the stream)); if it exists, checks that it
 * is a pull consumer with explicit ack and the same filter (NF_EINVAL otherwise) and updates
 * AckWait (unless ack_wait_ms is 0) and MaxAckPending (unless <= 0) when they differ. A publisher calls this for every durable that must see
 * its messages, before publishing (see the Interest quirk above).
 * Returns NF_OK, NF_EINVAL, NF_ENOTFOUND (no such stream), NF_EAGAIN or NF_EUPSTREAM.
 * Strings are borrowed. */
nf_status nf_bus_consumer_ensure(nf_bus *b, const char *stream, const char *durable,
                                 const char *filter_subject, uint64_t ack_wait_ms,
                                 int max_ack_pending, nf_err *err);

/* nf_bus_consumer_ensure, then binds a pull subscription to the durable. Several consumers
 * (threads or processes) may open the same durable: each message goes to one of them.
 * Closing never deletes the durable; its position survives restarts.
 * Returns as nf_bus_consumer_ensure; on NF_OK *out is returned-owned (free with
 * nf_bus_consumer_close, before nf_bus_close). */
nf_status nf_bus_consumer_open(nf_bus *b, const char *stream, const char *durable,
                               const char *filter_subject, uint64_t ack_wait_ms,
                               int max_ack_pending, nf_bus_consumer **out, nf_err *err);

typedef struct nf_bus_msg {
    const uint8_t *data;    /* payload; valid until the message is settled or released */
    size_t len;             /* payload bytes */
    uint64_t stream_seq;    /* the message's sequence in the stream */
    uint64_t num_delivered; /* 1 on first delivery, 2+ on redeliveries */
    const char *msg_id;     /* Nats-Msg-Id header, or NULL; same lifetime as data */
    void *handle;           /* libnats message; NULL once settled or released */
} nf_bus_msg;

/* Fetches up to max messages into out[0..max-1]: waits up to timeout_ms for the first one,
 * then takes whatever else is available at once. *n_out = number fetched, which may be 0 on
 * timeout (still NF_OK). Each fetched message is owned by the caller until it is acked,
 * nak'ed, termed or released.
 * Returns NF_OK; NF_EAGAIN if the connection is down (after waiting up to timeout_ms for
 * it to come back); NF_EINVAL for bad arguments; NF_EUPSTREAM if the server refused. */
nf_status nf_bus_fetch(nf_bus_consumer *c, size_t max, uint64_t timeout_ms, nf_bus_msg *out,
                       size_t *n_out, nf_err *err);

/* Acks m and waits for the server's confirmation (AckSync), so NF_OK means the durable has
 * recorded it. On NF_OK the message is freed and *m zeroed (m->handle == NULL): copy
 * stream_seq first if you need it. On failure (NF_EAGAIN: not connected / no confirmation
 * in time; NF_EUPSTREAM) m stays held: retry, or release it (the server then redelivers it
 * after AckWait). NF_EINVAL for a message already settled. */
nf_status nf_bus_ack(nf_bus_consumer *c, nf_bus_msg *m, nf_err *err);

/* Negative ack: asks for redelivery after delay_ms (0 = as soon as possible), confirmed by
 * the server. Frees m on NF_OK; errors as nf_bus_ack. */
nf_status nf_bus_nak(nf_bus_consumer *c, nf_bus_msg *m, uint64_t delay_ms, nf_err *err);

/* Terminates m: this durable never gets it again (poison message). With Interest
 * retention the server counts it as done for this durable. Frees m on NF_OK; errors as
 * nf_bus_ack. */
nf_status nf_bus_term(nf_bus_consumer *c, nf_bus_msg *m, nf_err *err);

/* The value of header name on a held message (valid as long as m->data), or NULL if absent
 * or the message is already settled. */
const char *nf_bus_msg_header(const nf_bus_msg *m, const char *name);

/* Text naming m in logs and dead letters: its Nats-Msg-Id, or "stream:<sequence>" when it has
 * none. Written into out (n bytes, cut to fit, always NUL-terminated when n > 0). */
void nf_bus_msg_id(const nf_bus_msg *m, char *out, size_t n);

/* Frees m without telling the server (it is redelivered after AckWait) and zeroes *m.
 * NULL-safe, and a no-op on a message already settled or released. */
void nf_bus_msg_release(nf_bus_msg *m);

/* Unbinds and frees the consumer (the durable stays on the server). NULL-safe. Settle or
 * release its messages first. */
void nf_bus_consumer_close(nf_bus_consumer *c);

/* ---- dead letters ------------------------------------------------------------------------ */

/* Creates (or checks) a dead-letter stream: Limits retention, 256 MiB, oldest dropped first,
 * messages kept max_age_ms. Returns as nf_bus_ensure_stream. */
nf_status nf_bus_ensure_dead_letter_stream(nf_bus *b, const char *stream, const char *subject,
                                           uint64_t max_age_ms, nf_err *err);

/* Copies m to dead_letter_subject with headers NetFlow-Dead-Letter-Reason (reason),
 * NetFlow-Original-Stream (stream), -Sequence and -Msg-Id (id), then terminates m: it is
 * never delivered to this durable again. Returns NF_OK when both happened. Otherwise m is
 * nak'ed with retry_delay_ms (or released if even that fails), so it comes back and nothing
 * is lost, and the error says what failed. m is settled either way. */
nf_status nf_bus_dead_letter(nf_bus *b, nf_bus_consumer *c, nf_bus_msg *m,
                             const char *dead_letter_subject, const char *stream,
                             const char *id, const char *reason, uint64_t retry_delay_ms,
                             nf_err *err);

/* ---- a reading daemon's setup ------------------------------------------------------------ */

/* What a daemon reading a stream (the ClickHouse and Parquet writers) sets up: the
 * connection, its dead-letter stream and its durable consumer. Everything borrowed. */
typedef struct nf_bus_reader_config {
    nf_bus_config bus;
    const char *dead_letter_stream;
    const char *dead_letter_subject;
    uint64_t dead_letter_max_age_ms;
    const char *stream;  /* the stream read */
    const char *durable; /* the durable consumer's name */
    const char *subject; /* its filter subject */
    uint64_t ack_wait_ms;
    int max_ack_pending;
} nf_bus_reader_config;

/* Flags of *done in nf_bus_reader_ready: what that call set up. */
#define NF_BUS_READER_CONNECTED 1u /* *bus was connected */
#define NF_BUS_READER_BOUND 2u     /* *consumer was opened */

/* Brings a reader's NATS side up step by step, resuming where an earlier call stopped:
 * connects if *bus is NULL (nf_bus_connect), ensures the dead-letter stream unless
 * *dlq_ready (then sets it), opens the durable consumer if *consumer is NULL
 * (nf_bus_consumer_open). *bus and *consumer become returned-owned as those calls say.
 * *done receives the NF_BUS_READER_* flags of what this call set up (so the caller can log
 * it), also on failure. On failure *what (a static text) names the step: "NATS",
 * "dead-letter stream", "consumer", or "stream not found yet (the poller creates it)" for
 * NF_ENOTFOUND; what was set up before stays for the next call. Errors as the call that
 * failed. */
nf_status nf_bus_reader_ready(const nf_bus_reader_config *rc, nf_bus **bus, bool *dlq_ready,
                              nf_bus_consumer **consumer, unsigned *done, const char **what,
                              nf_err *err);

#endif
