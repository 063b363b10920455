/* metrics.c — Prometheus text writer and the /metrics HTTP endpoint. See metrics.h. */
#include "metrics.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"

static void
append(nf_metrics *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
append(nf_metrics *m, const char *fmt, ...)
{
    if (m->failed)
        return;
    for (;;) {
        size_t room = m->cap - m->len;
        va_list ap;
        va_start(ap, fmt);
        int n = room ? vsnprintf(m->buf + m->len, room, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            m->len += (size_t)n;
            return;
        }
        size_t cap = m->cap ? m->cap * 2 : 4096;
        while (n >= 0 && cap - m->len <= (size_t)n)
            cap *= 2;
        char *grown = realloc(m->buf, cap);
        if (grown == NULL) {
            m->failed = 1;
            return;
        }
        m->buf = grown;
        m->cap = cap;
    }
}

/* Copies v into out (n bytes, n > 0) with the given characters escaped; an escape is never
 * cut in half. */
static void
escape_into(const char *v, char *out, size_t n, bool quotes)
{
    size_t o = 0;
    for (; *v != '\0'; v++) {
        char esc = *v == '\\' ? '\\' : *v == '\n' ? 'n' : (quotes && *v == '"') ? '"' : 0;
        size_t need = esc ? 2 : 1;
        if (o + need + 1 > n)
            break;
        if (esc) {
            out[o++] = '\\';
            out[o++] = esc;
        } else {
            out[o++] = *v;
        }
    }
    out[o] = '\0';
}

void
nf_metrics_family(nf_metrics *m, const char *name, const char *type, const char *help)
{
    /* HELP text escapes backslash and newline (not quotes), per the exposition format. */
    char escaped[512];
    escape_into(help, escaped, sizeof(escaped), false);
    append(m, "# HELP %s %s\n# TYPE %s %s\n", name, escaped, name, type);
}

void
nf_metrics_sample(nf_metrics *m, const char *name, const char *labels, uint64_t value)
{
    if (labels != NULL && labels[0] != '\0')
        append(m, "%s{%s} %" PRIu64 "\n", name, labels, value);
    else
        append(m, "%s %" PRIu64 "\n", name, value);
}

void
nf_metrics_sample_double(nf_metrics *m, const char *name, const char *labels, double value)
{
    if (labels != NULL && labels[0] != '\0')
        append(m, "%s{%s} %.17g\n", name, labels, value);
    else
        append(m, "%s %.17g\n", name, value);
}

void
nf_metrics_counter(nf_metrics *m, const char *name, const char *help, uint64_t value)
{
    nf_metrics_family(m, name, "counter", help);
    nf_metrics_sample(m, name, NULL, value);
}

void
nf_metrics_gauge(nf_metrics *m, const char *name, const char *help, double value)
{
    nf_metrics_family(m, name, "gauge", help);
    nf_metrics_sample_double(m, name, NULL, value);
}

void
nf_metrics_escape(const char *v, char *out, size_t n)
{
    if (n > 0)
        escape_into(v, out, n, true);
}

void
nf_metrics_reset(nf_metrics *m)
{
    free(m->buf);
    memset(m, 0, sizeof(*m));
}

struct nf_metrics_server {
    struct MHD_Daemon *mhd;
    nf_metrics_render_fn *render;
    nf_status_render_fn *status;
    void *ctx;
};

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body, size_t len,
      enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)con_cls;
    nf_metrics_server *s = cls;
    static char not_found[] = "not found\n";
    static char bad_method[] = "method not allowed\n";
    static char ok[] = "ok\n";
    if (strcmp(method, "GET") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
                     sizeof(bad_method) - 1, MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/healthz") == 0)
        return reply(conn, MHD_HTTP_OK, "text/plain", ok, sizeof(ok) - 1,
                     MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/status") == 0 && s->status != NULL) {
        char *body = s->status(s->ctx);
        if (body == NULL) {
            static char oom[] = "out of memory\n";
            return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom,
                         sizeof(oom) - 1, MHD_RESPMEM_PERSISTENT);
        }
        return reply(conn, MHD_HTTP_OK, "application/json", body, strlen(body),
                     MHD_RESPMEM_MUST_FREE);
    }
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1,
                     MHD_RESPMEM_PERSISTENT);
    nf_metrics m = {0};
    s->render(s->ctx, &m);
    if (m.buf == NULL && !m.failed) /* nothing to report is an empty page, not an error */
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", ok, 0,
                     MHD_RESPMEM_PERSISTENT);
    if (m.failed) {
        nf_metrics_reset(&m);
        static char oom[] = "out of memory\n";
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom, sizeof(oom) - 1,
                     MHD_RESPMEM_PERSISTENT);
    }
    /* MHD_RESPMEM_MUST_FREE hands m.buf to microhttpd, which free()s it. */
    return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", m.buf, m.len,
                 MHD_RESPMEM_MUST_FREE);
}

nf_status
nf_metrics_server_start(const char *addr, nf_metrics_render_fn *render,
                        nf_status_render_fn *status, void *ctx, nf_metrics_server **out,
                        nf_err *err)
{
    char host[NF_ADDR_STRLEN];
    uint16_t port;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!nf_hostport_parse(addr, host, sizeof(host), &port) ||
        !nf_sockaddr_make(host, port, &ss, &sslen))
        return nf_err_set(err, NF_EINVAL, "metrics: bad listen address \"%s\" (want host:port)",
                          addr);
    nf_metrics_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nf_err_set(err, NF_ENOMEM, "metrics: out of memory");
    s->render = render;
    s->status = status;
    s->ctx = ctx;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_DUAL_STACK;
    s->mhd = MHD_start_daemon(flags, port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 64u,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (s->mhd == NULL) {
        free(s);
        return nf_err_set(err, NF_EIO, "metrics: cannot listen on %s (port in use?)", addr);
    }
    *out = s;
    return NF_OK;
}

void
nf_metrics_server_stop(nf_metrics_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->mhd);
    free(s);
}
