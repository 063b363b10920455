/* httpd.h — what the libmicrohttpd servers of this project (the Iceberg catalog, core) share:
 * parsing the listen address, reading the PEM files of the security block, collecting a
 * request body up to a bound, and starting a thread-per-connection daemon (HTTP or HTTPS).
 *
 * Each server keeps its own routing, answers and error bodies; this library only holds the
 * glue that was identical in them. Nothing here keeps global state.
 *
 * Request-body cycle: the access handler calls nf_httpd_collect on every call:
 *
 *   first call (headers)  ──▶ allocate the body; Content-Length > max? → TOO_BIG (413)
 *   calls with data       ──▶ append, bounded by max → CONTINUE
 *   last call             ──▶ passed the bound? TOO_BIG (413); else COMPLETE: answer
 *   request done          ──▶ nf_httpd_completed (MHD_OPTION_NOTIFY_COMPLETED) frees it
 */
#ifndef NF_HTTPD_H
#define NF_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "../base/nf_status.h"
#include "../config/config.h"

/* A chunked body beyond the bound is read and dropped (so that the 413 can be sent once it
 * is consumed) up to this many times the bound; then the connection is closed. */
#define NF_HTTPD_DISCARD_FACTOR 4u

/* A parsed listen address. */
typedef struct nf_httpd_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    uint16_t port;
} nf_httpd_addr;

/* Parses listen_addr ("host:port") into out. NF_OK, or NF_EINVAL with
 * 'listen_addr "<text>": want host:port' in err. */
nf_status nf_httpd_listen_parse(const char *listen_addr, nf_httpd_addr *out, nf_err *err);

/* Reads the PEM file `name` of the security block (relative to sec->cert_dir unless
 * absolute; see nf_security_path). `key` is the config key named in errors
 * ("security.tls.<key>: ..."). The file must be at most max bytes and contain
 * "-----BEGIN ". On NF_OK *out is a NUL-terminated malloc'd copy the caller frees; on error
 * (NF_EINVAL for path/open/read/size/format problems, NF_ENOMEM) *out is unchanged. */
nf_status nf_httpd_read_pem(const nf_security_config *sec, const char *key, const char *name,
                            size_t max, char **out, nf_err *err);

/* A request body being collected; t0_us is CLOCK_MONOTONIC in µs when the headers came. */
typedef struct nf_httpd_body {
    char *buf; /* malloc'd, not NUL-terminated; NULL while empty */
    size_t len, cap;
    size_t discarded; /* bytes dropped since the body passed the bound */
    bool too_big;     /* the body passed the bound: answer 413 */
    uint64_t t0_us;
} nf_httpd_body;

/* CLOCK_MONOTONIC in microseconds. */
uint64_t nf_httpd_mono_us(void);

/* What nf_httpd_collect tells the access handler to do. */
typedef enum nf_httpd_step {
    NF_HTTPD_CONTINUE, /* return *ret to microhttpd (headers taken, data consumed, or MHD_NO
                        * when out of memory or too much was dropped) */
    NF_HTTPD_TOO_BIG,  /* answer 413 with the message nf_httpd_collect wrote */
    NF_HTTPD_COMPLETE  /* the whole body is in the nf_httpd_body at *con_cls: answer */
} nf_httpd_step;

/* One call of the access handler's body collection, bounded by max bytes. The first call
 * (*con_cls NULL) allocates an nf_httpd_body into *con_cls (freed by nf_httpd_completed) and
 * answers NF_HTTPD_TOO_BIG at once if Content-Length declares more than max. Calls with data
 * append it and set *size to 0; a chunked body passing max is dropped, counted, and
 * answered NF_HTTPD_TOO_BIG once consumed (the connection is closed instead, MHD_NO, past
 * NF_HTTPD_DISCARD_FACTOR times max). On NF_HTTPD_TOO_BIG, msg (msg_len bytes, NUL-
 * terminated, truncated if short) holds "request body [of N bytes ]exceeds max_body_bytes
 * (max)"; *con_cls is non-NULL on NF_HTTPD_TOO_BIG and NF_HTTPD_COMPLETE. */
nf_httpd_step nf_httpd_collect(struct MHD_Connection *conn, const char *data, size_t *size,
                               void **con_cls, size_t max, enum MHD_Result *ret, char *msg,
                               size_t msg_len);

/* MHD_OPTION_NOTIFY_COMPLETED callback: frees the nf_httpd_body in *con_cls (if any) and
 * sets *con_cls to NULL. cls is unused. */
void nf_httpd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe);

/* How to start a daemon. The PEM strings must outlive the daemon (the caller owns them). */
typedef struct nf_httpd_options {
    const char *listen_addr;       /* for the error message only */
    const nf_httpd_addr *addr;     /* where to listen (IPv6 listens dual-stack) */
    MHD_AccessHandlerCallback handler;
    void *cls;                     /* the handler's first argument */
    unsigned max_connections;      /* = max threads: thread per connection */
    unsigned connection_timeout_s; /* idle keep-alive connections are closed after this */
    const char *pem_cert, *pem_key; /* both NULL: plain HTTP; else HTTPS */
    const char *pem_trust;          /* CA asking for client certificates, or NULL */
    const char *tls_priorities;     /* GnuTLS priority string (HTTPS only) */
} nf_httpd_options;

/* Starts a daemon with an internal polling thread, a thread per connection and
 * nf_httpd_completed as the completion callback. NF_OK with *out (stop it with
 * MHD_stop_daemon), or NF_EIO ("listen_addr ...: cannot listen ...") in err. */
nf_status nf_httpd_start(const nf_httpd_options *o, struct MHD_Daemon **out, nf_err *err);

#endif
