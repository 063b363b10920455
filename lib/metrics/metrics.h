/* metrics.h — Prometheus text exposition: a small writer and an HTTP endpoint.
 *
 * Daemons keep their own counters (plain structs, owned by whoever counts) and render them
 * on demand: the HTTP thread calls the daemon's render callback with a fresh nf_metrics
 * writer, then serves the text. No global registry: what is exposed is exactly what the
 * render function writes, in the order it writes it.
 *
 * Endpoint: GET /metrics (text/plain; version=0.0.4), GET /healthz ("ok") and, when the
 * daemon provides one, GET /status (its JSON status document). Served by libmicrohttpd's
 * internal thread; the callbacks run on that thread, so they must only read state that is
 * safe to read concurrently (snapshots under a lock, atomics).
 */
#ifndef NFX_LIB_METRICS_METRICS_H
#define NFX_LIB_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"

typedef struct nf_metrics {
    char *buf;    /* text so far, NUL-terminated */
    size_t len;   /* bytes in buf */
    size_t cap;   /* allocated */
    int failed;   /* an allocation failed; the text is incomplete */
} nf_metrics;

/* Starts a metric family: "# HELP name help" and "# TYPE name type" (counter, gauge). */
void nf_metrics_family(nf_metrics *m, const char *name, const char *type, const char *help);

/* One sample: name{labels} value. labels is the inside of the braces (k="v",k2="v2"), or
 * NULL for none; label values must already be escaped (nf_metrics_escape). */
void nf_metrics_sample(nf_metrics *m, const char *name, const char *labels, uint64_t value);
void nf_metrics_sample_double(nf_metrics *m, const char *name, const char *labels, double value);

/* Shorthand for a family with a single unlabelled sample. */
void nf_metrics_counter(nf_metrics *m, const char *name, const char *help, uint64_t value);
void nf_metrics_gauge(nf_metrics *m, const char *name, const char *help, double value);

/* Copies v into out (size n) escaping backslash, quote and newline for a label value. */
void nf_metrics_escape(const char *v, char *out, size_t n);

/* Frees the writer's buffer. */
void nf_metrics_reset(nf_metrics *m);

typedef void nf_metrics_render_fn(void *ctx, nf_metrics *m);

/* Returns the daemon's status as a NUL-terminated JSON text allocated with malloc (the
 * server frees it), or NULL on allocation failure. */
typedef char *nf_status_render_fn(void *ctx);

typedef struct nf_metrics_server nf_metrics_server;

/* Serves /metrics, /healthz and (status != NULL) /status on addr ("host:port", "[v6]:port"
 * or ":port"). The callbacks and ctx are borrowed until nf_metrics_server_stop. *out set
 * only on NF_OK. */
nf_status nf_metrics_server_start(const char *addr, nf_metrics_render_fn *render,
                                  nf_status_render_fn *status, void *ctx,
                                  nf_metrics_server **out, nf_err *err);

/* Stops serving and frees. NULL-safe. */
void nf_metrics_server_stop(nf_metrics_server *s);

#endif
