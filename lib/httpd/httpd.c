/* httpd.c — the libmicrohttpd glue shared by the catalog and core servers (see httpd.h).
 *
 * Design: plain functions over caller-owned data, so that each server keeps its own state
 * struct, routes and error bodies; the body collector and the completion callback are the
 * only things handed to microhttpd, and they touch nothing but the per-request body.
 */
#include "httpd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/addr.h"

#define BODY_MIN_CAP 4096u /* first allocation of a body buffer */

nf_status
nf_httpd_listen_parse(const char *listen_addr, nf_httpd_addr *out, nf_err *err)
{
    char host[NF_ADDR_STRLEN];
    if (!nf_hostport_parse(listen_addr, host, sizeof(host), &out->port) ||
        !nf_sockaddr_make(host, out->port, &out->ss, &out->len))
        return nf_err_set(err, NF_EINVAL, "listen_addr \"%s\": want host:port", listen_addr);
    return NF_OK;
}

nf_status
nf_httpd_read_pem(const nf_security_config *sec, const char *key, const char *name,
                  size_t max, char **out, nf_err *err)
{
    char path[1024];
    if (!nf_security_path(sec, name, path, sizeof(path)))
        return nf_err_set(err, NF_EINVAL, "security.tls.%s: path too long: %s", key, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return nf_err_set(err, NF_EINVAL, "security.tls.%s: %s: %s", key, path,
                          strerror(errno));
    char *buf = malloc(max + 1);
    if (buf == NULL) {
        fclose(f);
        return nf_err_set(err, NF_ENOMEM, "security.tls.%s: out of memory", key);
    }
    /* One byte more than allowed tells a too large file from one of exactly max bytes. */
    size_t n = fread(buf, 1, max + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || n > max) {
        free(buf);
        if (bad)
            return nf_err_set(err, NF_EINVAL, "security.tls.%s: %s: read error", key, path);
        return nf_err_set(err, NF_EINVAL, "security.tls.%s: %s: larger than %zu KiB", key,
                          path, max >> 10);
    }
    buf[n] = '\0';
    if (strstr(buf, "-----BEGIN ") == NULL) {
        free(buf);
        return nf_err_set(err, NF_EINVAL, "security.tls.%s: %s is not a PEM file", key, path);
    }
    *out = buf;
    return NF_OK;
}

uint64_t
nf_httpd_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static enum MHD_Result
body_append(nf_httpd_body *b, const char *data, size_t *size, size_t max)
{
    if (b->too_big || b->len + *size > max) {
        /* A chunked body passed the bound (a declared one is refused on the first call).
         * The 413 can only be sent once the body is consumed (microhttpd sends nothing
         * queued mid-upload), so the rest is read and dropped — up to DISCARD_FACTOR times
         * the bound, after which the connection is simply closed. */
        b->discarded += *size;
        *size = 0;
        free(b->buf);
        b->buf = NULL;
        b->len = b->cap = 0;
        b->too_big = true;
        return b->discarded / NF_HTTPD_DISCARD_FACTOR > max ? MHD_NO : MHD_YES;
    }
    if (b->len + *size > b->cap) {
        size_t cap = b->cap ? b->cap : BODY_MIN_CAP;
        while (cap < b->len + *size)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *grown = realloc(b->buf, cap);
        if (grown == NULL)
            return MHD_NO;
        b->buf = grown;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, *size);
    b->len += *size;
    *size = 0;
    return MHD_YES;
}

nf_httpd_step
nf_httpd_collect(struct MHD_Connection *conn, const char *data, size_t *size, void **con_cls,
                 size_t max, enum MHD_Result *ret, char *msg, size_t msg_len)
{
    nf_httpd_body *b = *con_cls;
    *ret = MHD_YES;
    if (b == NULL) {
        /* First call: headers only. A declared length over the bound is refused before
         * anything is read. */
        b = calloc(1, sizeof(*b));
        if (b == NULL) {
            *ret = MHD_NO;
            return NF_HTTPD_CONTINUE;
        }
        b->t0_us = nf_httpd_mono_us();
        *con_cls = b;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > max) {
            snprintf(msg, msg_len, "request body of %s bytes exceeds max_body_bytes (%zu)",
                     cl, max);
            return NF_HTTPD_TOO_BIG;
        }
        return NF_HTTPD_CONTINUE;
    }
    if (*size > 0) {
        *ret = body_append(b, data, size, max);
        return NF_HTTPD_CONTINUE;
    }
    if (b->too_big) {
        snprintf(msg, msg_len, "request body exceeds max_body_bytes (%zu)", max);
        return NF_HTTPD_TOO_BIG;
    }
    return NF_HTTPD_COMPLETE;
}

void
nf_httpd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    nf_httpd_body *b = *con_cls;
    if (b != NULL) {
        free(b->buf);
        free(b);
    }
    *con_cls = NULL;
}

nf_status
nf_httpd_start(const nf_httpd_options *o, struct MHD_Daemon **out, nf_err *err)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG;
    if (o->addr->ss.ss_family == AF_INET6)
        flags |= MHD_USE_DUAL_STACK;
    /* The options as an array, so that HTTPS and mTLS only add to the plain HTTP ones.
     * Pointer options go in ptr_value; NOTIFY_COMPLETED's function in value, its cls in
     * ptr_value (microhttpd's MHD_OPTION_ARRAY rules). */
    struct MHD_OptionItem opt[10];
    size_t n = 0;
    opt[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)&o->addr->ss};
    opt[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                       (intptr_t)o->max_connections, NULL};
    opt[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                       (intptr_t)o->connection_timeout_s, NULL};
    opt[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                       (intptr_t)nf_httpd_completed, NULL};
    if (o->pem_cert != NULL) {
        flags |= MHD_USE_TLS;
        opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->pem_cert};
        opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->pem_key};
        if (o->pem_trust != NULL)
            opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                               (void *)o->pem_trust};
        opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                           (void *)o->tls_priorities};
    }
    opt[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *d = MHD_start_daemon(flags, o->addr->port, NULL, NULL, o->handler,
                                            o->cls, MHD_OPTION_ARRAY, opt, MHD_OPTION_END);
    if (d == NULL)
        return nf_err_set(err, NF_EIO, "listen_addr %s: cannot listen (port in use, or the "
                          "certificate and key do not match?)", o->listen_addr);
    *out = d;
    return NF_OK;
}
