/* nf_status.h — the one status enum of the project, and the error object that carries context.
 *
 * Every fallible library call returns nf_status and, when it fails, fills a caller-owned
 * nf_err with the code, the errno if one applies, the source location and a readable message.
 * The error object is passed explicitly (never thread-local), so callback and event-loop code
 * cannot overwrite a pending error by accident.
 *
 * Third-party codes (gRPC, NATS, DuckDB, HTTP) are mapped at the boundary to NF_EUPSTREAM with
 * the original code and text kept in msg.
 */
#ifndef NFX_LIB_BASE_NF_STATUS_H
#define NFX_LIB_BASE_NF_STATUS_H

#include <stdarg.h>

typedef enum nf_status {
    NF_OK = 0,    /* success */
    NF_EINVAL,    /* bad argument or bad configuration value */
    NF_ENOMEM,    /* allocation failed or a configured memory bound was reached */
    NF_EIO,       /* operating-system I/O error (errno in sys_errno) */
    NF_EPROTO,    /* malformed wire data */
    NF_ETIMEDOUT, /* a deadline passed */
    NF_EAGAIN,    /* try again later (would block, back-pressure) */
    NF_ENOTFOUND, /* the named thing does not exist */
    NF_EUPSTREAM, /* a peer (ClickHouse, NATS, DuckDB, gRPC) refused */
    NF_EINTERNAL, /* a bug: an invariant did not hold */
    NF_ECONFLICT  /* someone else changed it first (optimistic concurrency): reload, retry */
} nf_status;

#define NF_ERR_MSG_MAX 256

typedef struct nf_err {
    nf_status code;            /* NF_OK until something failed */
    int sys_errno;             /* errno captured at the failure, 0 if none */
    const char *where;         /* "file.c:123", static storage */
    char msg[NF_ERR_MSG_MAX];  /* human-readable, names the input that failed */
} nf_err;

#define NF_STR_(x) #x
#define NF_STR(x) NF_STR_(x)

/* Short stable name of a status ("EPROTO"); never NULL. */
const char *nf_status_name(nf_status s);

/* Records an error in e (which may be NULL) and returns code, so callers write
 * `return nf_err_set(err, NF_EPROTO, "set length %u", len);`. */
nf_status nf_err_set_(nf_err *e, nf_status code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Like nf_err_set_ but also records errnum and appends ": strerror(errnum)" to the message. */
nf_status nf_err_sys_(nf_err *e, nf_status code, int errnum, const char *where, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

#define nf_err_set(e, c, ...) nf_err_set_((e), (c), __FILE__ ":" NF_STR(__LINE__), __VA_ARGS__)
#define nf_err_sys(e, c, n, ...) \
    nf_err_sys_((e), (c), (n), __FILE__ ":" NF_STR(__LINE__), __VA_ARGS__)

/* Resets e to "no error". NULL-safe. */
void nf_err_clear(nf_err *e);

#endif
