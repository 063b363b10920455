/* rpc_common.c — credentials from ServiceRadar's security block, byte-buffer helpers and the
 * hand-encoded grpc.health.v1 messages.
 *
 * Design notes:
 *   - PEM files are read and parsed with OpenSSL here, at create time, so that a missing,
 *     unreadable or mismatched file fails with a message naming it rather than as an opaque
 *     TLS handshake failure on the first call.
 *   - The classic SSL credentials (grpc_ssl_credentials_create_ex,
 *     grpc_ssl_server_credentials_create_ex) are used: they are the non-experimental C API
 *     and do everything needed (client-certificate requirement, name override).
 *   - TLS 1.3 minimum: libgrpc 1.51 has no C function for it; grpc_ssl_credentials and
 *     grpc_ssl_server_credentials export C++ member functions set_min_tls_version() that set
 *     the field the security connector reads when it builds the OpenSSL context (per
 *     connection on the client, at add_http2_port on the server). With
 *     NF_RPC_HAVE_TLS13_SETTERS (found by a link test in CMake) they are called through their
 *     Itanium-ABI symbol names: a non-virtual member function is an ordinary function whose
 *     first argument is `this`; both classes derive singly from the C handle type, so the
 *     handle pointer is `this`. If a future libgrpc drops the symbols the link test fails and
 *     the build falls back to gRPC's default (TLS 1.2 minimum) instead of breaking.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define PEM_MAX_BYTES (1024 * 1024) /* a certificate bundle is a few KiB; refuse anything huge */

#ifdef NF_RPC_HAVE_TLS13_SETTERS
void rpc_ssl_creds_set_min_tls(grpc_channel_credentials *self, grpc_tls_version v) __asm__(
    "_ZN20grpc_ssl_credentials19set_min_tls_versionE16grpc_tls_version");
void rpc_ssl_server_creds_set_min_tls(grpc_server_credentials *self, grpc_tls_version v) __asm__(
    "_ZN27grpc_ssl_server_credentials19set_min_tls_versionE16grpc_tls_version");
#endif

bool
nf_rpc_tls13_enforced(void)
{
#ifdef NF_RPC_HAVE_TLS13_SETTERS
    return true;
#else
    return false;
#endif
}

const char *
nf_rpc_code_name(int code)
{
    static const char *const names[] = {
        "OK",           "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",   "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",       "DATA_LOSS",
        "UNAUTHENTICATED"};
    if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
        return "INVALID_CODE";
    return names[code];
}

gpr_timespec
rpc_deadline_in(uint64_t timeout_ms)
{
    /* Cap at ~10 years: gpr arithmetic is int64 seconds and needs no more. */
    if (timeout_ms == 0 || timeout_ms > 315360000000ull)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis((int64_t)timeout_ms, GPR_TIMESPAN));
}

/* ---- PEM files --------------------------------------------------------------------------- */

static const char *
str_or_empty(const char *s)
{
    return s == NULL ? "" : s;
}

/* Full path of a configured file name: absolute as is, relative joined to cert_dir. */
static nf_status
join_path(const nf_security_config *sec, const char *key, const char *name, char *out,
          size_t cap, nf_err *err)
{
    const char *dir = str_or_empty(sec->cert_dir);
    int n;
    if (name[0] == '/' || dir[0] == '\0')
        n = snprintf(out, cap, "%s", name);
    else
        n = snprintf(out, cap, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    if (n < 0 || (size_t)n >= cap)
        return nf_err_set(err, NF_EINVAL, "security.%s: path too long: %s", key, name);
    return NF_OK;
}

/* Reads a whole PEM file into a NUL-terminated malloc'd string. */
static nf_status
read_pem(const char *key, const char *path, char **out, nf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return nf_err_sys(err, NF_EINVAL, errno, "security.%s: cannot open %s", key, path);
    nf_status rc = NF_OK;
    char *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        rc = nf_err_sys(err, NF_EINVAL, errno, "security.%s: cannot stat %s", key, path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX_BYTES) {
        rc = nf_err_set(err, NF_EINVAL, "security.%s: %s is not a PEM file (%lld bytes)", key,
                        path, (long long)st.st_size);
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    buf = malloc(len + 1);
    if (buf == NULL) {
        rc = nf_err_set(err, NF_ENOMEM, "security.%s: %zu bytes for %s", key, len, path);
        goto fail;
    }
    if (fread(buf, 1, len, f) != len) {
        rc = nf_err_sys(err, NF_EINVAL, errno, "security.%s: cannot read %s", key, path);
        goto fail;
    }
    buf[len] = '\0';
    fclose(f);
    *out = buf;
    return NF_OK;
fail:
    free(buf);
    fclose(f);
    return rc;
}

/* Never prompt for a pass phrase: an encrypted key is a configuration error here. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Counts the certificates in pem; 0 if none parses. */
static int
count_certs(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL)
        return 0;
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    ERR_clear_error(); /* the loop ends on an expected "no start line" */
    return n;
}

/* Checks that key_pem holds a private key matching the first certificate of cert_pem. */
static nf_status
check_pair(const char *cert_path, const char *cert_pem, const char *key_path,
           const char *key_pem, nf_err *err)
{
    nf_status rc = NF_OK;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    BIO *cb = BIO_new_mem_buf(cert_pem, -1);
    BIO *kb = BIO_new_mem_buf(key_pem, -1);
    if (cb == NULL || kb == NULL) {
        rc = nf_err_set(err, NF_ENOMEM, "BIO for %s", cert_path);
        goto out;
    }
    x = PEM_read_bio_X509(cb, NULL, no_passphrase, NULL);
    if (x == NULL) {
        rc = nf_err_set(err, NF_EINVAL, "security.tls.cert_file: no PEM certificate in %s",
                        cert_path);
        goto out;
    }
    k = PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL);
    if (k == NULL) {
        rc = nf_err_set(err, NF_EINVAL,
                        "security.tls.key_file: no unencrypted PEM private key in %s",
                        key_path);
        goto out;
    }
    if (X509_check_private_key(x, k) != 1) {
        rc = nf_err_set(err, NF_EINVAL,
                        "security.tls.key_file: key in %s does not match certificate %s",
                        key_path, cert_path);
        goto out;
    }
out:
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    return rc;
}

typedef struct pem_set {
    char *cert; /* own certificate chain */
    char *key;  /* own private key */
    char *ca;   /* roots that verify the peer */
} pem_set;

static void
pem_set_free(pem_set *p)
{
    free(p->cert);
    if (p->key != NULL) {
        memset(p->key, 0, strlen(p->key)); /* do not leave key material in freed memory */
        free(p->key);
    }
    free(p->ca);
    memset(p, 0, sizeof(*p));
}

/* Loads and checks cert, key and the CA file (server: client_ca_file or ca_file). */
static nf_status
pem_set_load(const nf_security_config *sec, bool server, pem_set *out, nf_err *err)
{
    pem_set p = {0};
    nf_status rc;
    char cert_path[PATH_MAX], key_path[PATH_MAX], ca_path[PATH_MAX];
    const char *cert = str_or_empty(sec->tls.cert_file);
    const char *key = str_or_empty(sec->tls.key_file);
    const char *ca_key = "tls.ca_file";
    const char *ca = str_or_empty(sec->tls.ca_file);
    if (server && str_or_empty(sec->tls.client_ca_file)[0] != '\0') {
        ca_key = "tls.client_ca_file";
        ca = sec->tls.client_ca_file;
    }
    if (cert[0] == '\0')
        return nf_err_set(err, NF_EINVAL, "security.tls.cert_file is empty (mode mtls)");
    if (key[0] == '\0')
        return nf_err_set(err, NF_EINVAL, "security.tls.key_file is empty (mode mtls)");
    if (ca[0] == '\0')
        return nf_err_set(err, NF_EINVAL, "security.%s is empty (mode mtls)", ca_key);
    if ((rc = join_path(sec, "tls.cert_file", cert, cert_path, sizeof(cert_path), err)) ||
        (rc = join_path(sec, "tls.key_file", key, key_path, sizeof(key_path), err)) ||
        (rc = join_path(sec, ca_key, ca, ca_path, sizeof(ca_path), err)))
        return rc;
    if ((rc = read_pem("tls.cert_file", cert_path, &p.cert, err)) ||
        (rc = read_pem("tls.key_file", key_path, &p.key, err)) ||
        (rc = read_pem(ca_key, ca_path, &p.ca, err)))
        goto fail;
    if ((rc = check_pair(cert_path, p.cert, key_path, p.key, err)))
        goto fail;
    if (count_certs(p.ca) == 0) {
        rc = nf_err_set(err, NF_EINVAL, "security.%s: no PEM certificate in %s", ca_key,
                        ca_path);
        goto fail;
    }
    *out = p;
    return NF_OK;
fail:
    pem_set_free(&p);
    return rc;
}

/* 0 = plaintext, 1 = mTLS. */
static nf_status
security_mode(const nf_security_config *sec, int *mode, nf_err *err)
{
    const char *m = sec == NULL ? "none" : str_or_empty(sec->mode);
    if (strcmp(m, "none") == 0)
        *mode = 0;
    else if (strcmp(m, "mtls") == 0)
        *mode = 1;
    else
        return nf_err_set(err, NF_EINVAL, "security.mode '%s': expected \"mtls\" or \"none\"", m);
    return NF_OK;
}

nf_status
rpc_server_creds(const nf_security_config *sec, grpc_server_credentials **out, bool *tls_out,
                 nf_err *err)
{
    int mode;
    nf_status rc = security_mode(sec, &mode, err);
    if (rc != NF_OK)
        return rc;
    if (mode == 0) {
        grpc_server_credentials *c = grpc_insecure_server_credentials_create();
        if (c == NULL)
            return nf_err_set(err, NF_ENOMEM, "insecure server credentials");
        *out = c;
        *tls_out = false;
        return NF_OK;
    }
    pem_set p;
    if ((rc = pem_set_load(sec, true, &p, err)) != NF_OK)
        return rc;
    grpc_ssl_pem_key_cert_pair pair = {.private_key = p.key, .cert_chain = p.cert};
    /* Require a client certificate and verify it against the client CA (ServiceRadar mTLS). */
    grpc_server_credentials *c = grpc_ssl_server_credentials_create_ex(
        p.ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
    pem_set_free(&p); /* gRPC keeps its own copies */
    if (c == NULL)
        return nf_err_set(err, NF_EINVAL, "gRPC refused the server TLS credentials");
#ifdef NF_RPC_HAVE_TLS13_SETTERS
    rpc_ssl_server_creds_set_min_tls(c, TLS1_3);
#endif
    *out = c;
    *tls_out = true;
    return NF_OK;
}

nf_status
rpc_channel_creds(const nf_security_config *sec, grpc_channel_credentials **out,
                  char **server_name_out, nf_err *err)
{
    int mode;
    nf_status rc = security_mode(sec, &mode, err);
    if (rc != NF_OK)
        return rc;
    if (mode == 0) {
        grpc_channel_credentials *c = grpc_insecure_credentials_create();
        if (c == NULL)
            return nf_err_set(err, NF_ENOMEM, "insecure channel credentials");
        *out = c;
        *server_name_out = NULL;
        return NF_OK;
    }
    char *name = strdup(str_or_empty(sec->server_name));
    if (name == NULL)
        return nf_err_set(err, NF_ENOMEM, "server name");
    pem_set p;
    if ((rc = pem_set_load(sec, false, &p, err)) != NF_OK) {
        free(name);
        return rc;
    }
    grpc_ssl_pem_key_cert_pair pair = {.private_key = p.key, .cert_chain = p.cert};
    /* verify_options NULL: default chain verification against p.ca plus the name check. */
    grpc_channel_credentials *c = grpc_ssl_credentials_create_ex(p.ca, &pair, NULL, NULL);
    pem_set_free(&p);
    if (c == NULL) {
        free(name);
        return nf_err_set(err, NF_EINVAL, "gRPC refused the client TLS credentials");
    }
#ifdef NF_RPC_HAVE_TLS13_SETTERS
    rpc_ssl_creds_set_min_tls(c, TLS1_3);
#endif
    *out = c;
    *server_name_out = name;
    return NF_OK;
}

/* ---- byte buffers ------------------------------------------------------------------------ */

nf_status
rpc_bb_read(grpc_byte_buffer *bb, uint8_t **out, size_t *len_out, nf_err *err)
{
    size_t cap = grpc_byte_buffer_length(bb);
    if (cap > NF_RPC_MAX_MSG)
        return nf_err_set(err, NF_EINVAL, "message of %zu bytes > %u", cap, NF_RPC_MAX_MSG);
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return nf_err_set(err, NF_EPROTO, "undecodable (compressed?) message");
    uint8_t *buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL) {
        grpc_byte_buffer_reader_destroy(&rd);
        return nf_err_set(err, NF_ENOMEM, "%zu bytes for a message", cap);
    }
    size_t len = 0;
    grpc_slice sl;
    nf_status rc = NF_OK;
    while (grpc_byte_buffer_reader_next(&rd, &sl)) {
        size_t n = GRPC_SLICE_LENGTH(sl);
        if (n > cap - len) { /* a decompressing reader can yield more than the raw length */
            size_t want = len + n;
            uint8_t *nb = want <= NF_RPC_MAX_MSG ? realloc(buf, want) : NULL;
            if (nb == NULL) {
                grpc_slice_unref(sl);
                rc = want > NF_RPC_MAX_MSG
                         ? nf_err_set(err, NF_EINVAL, "message larger than %u", NF_RPC_MAX_MSG)
                         : nf_err_set(err, NF_ENOMEM, "%zu bytes for a message", want);
                break;
            }
            buf = nb;
            cap = want;
        }
        if (n > 0)
            memcpy(buf + len, GRPC_SLICE_START_PTR(sl), n);
        len += n;
        grpc_slice_unref(sl);
    }
    grpc_byte_buffer_reader_destroy(&rd);
    if (rc != NF_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len_out = len;
    return NF_OK;
}

grpc_byte_buffer *
rpc_bb_copy(const uint8_t *data, size_t len)
{
    grpc_slice sl = len > 0 ? grpc_slice_from_copied_buffer((const char *)data, len)
                            : grpc_empty_slice();
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl); /* the buffer holds its own reference */
    return bb;
}

/* ---- grpc.health.v1 ---------------------------------------------------------------------
 * HealthCheckRequest  { string service = 1; }          tag 0x0a, varint length, bytes
 * HealthCheckResponse { ServingStatus status = 1; }    tag 0x08, varint value
 * Unknown fields are skipped by wire type, as protobuf requires.
 */

static size_t
put_varint(uint64_t v, uint8_t *out, size_t cap)
{
    size_t n = 0;
    do {
        if (n >= cap)
            return 0;
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        out[n++] = (uint8_t)(b | (v != 0 ? 0x80 : 0));
    } while (v != 0);
    return n;
}

static bool
get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Skips a field of the given wire type; false on malformed input. */
static bool
skip_field(const uint8_t **p, const uint8_t *end, unsigned wire)
{
    uint64_t v;
    switch (wire) {
    case 0:
        return get_varint(p, end, &v);
    case 1:
        if (end - *p < 8)
            return false;
        *p += 8;
        return true;
    case 2:
        if (!get_varint(p, end, &v) || v > (uint64_t)(end - *p))
            return false;
        *p += v;
        return true;
    case 5:
        if (end - *p < 4)
            return false;
        *p += 4;
        return true;
    default:
        return false;
    }
}

size_t
rpc_health_req_encode(const char *service, uint8_t *out, size_t cap)
{
    size_t slen = strlen(service);
    if (slen == 0)
        return 0; /* proto3: the empty string is not written */
    if (cap < 1)
        return 0;
    out[0] = 0x0a;
    size_t n = put_varint(slen, out + 1, cap - 1);
    if (n == 0 || slen > cap - 1 - n)
        return 0;
    memcpy(out + 1 + n, service, slen);
    return 1 + n + slen;
}

bool
rpc_health_req_decode(const uint8_t *p, size_t len, char *service, size_t cap)
{
    const uint8_t *end = p + len;
    service[0] = '\0';
    while (p < end) {
        uint64_t key;
        if (!get_varint(&p, end, &key))
            return false;
        if (key == 0x0a) {
            uint64_t slen;
            if (!get_varint(&p, end, &slen) || slen > (uint64_t)(end - p) || slen >= cap)
                return false;
            memcpy(service, p, (size_t)slen);
            service[slen] = '\0';
            p += slen;
        } else if (!skip_field(&p, end, (unsigned)(key & 7))) {
            return false;
        }
    }
    return true;
}

size_t
rpc_health_resp_encode(int status, uint8_t out[8])
{
    if (status == 0)
        return 0;
    out[0] = 0x08;
    return 1 + put_varint((uint64_t)status, out + 1, 7);
}

bool
rpc_health_resp_decode(const uint8_t *p, size_t len, int *status)
{
    const uint8_t *end = p + len;
    int st = 0; /* absent = UNKNOWN */
    while (p < end) {
        uint64_t key, v;
        if (!get_varint(&p, end, &key))
            return false;
        if (key == 0x08) {
            if (!get_varint(&p, end, &v))
                return false;
            st = (int)(v & 0x7fffffff);
        } else if (!skip_field(&p, end, (unsigned)(key & 7))) {
            return false;
        }
    }
    *status = st;
    return true;
}
