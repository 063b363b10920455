/* bus.c — JetStream publishing and durable pull consuming over libnats. See bus.h for the
 * contract, the ack/redelivery diagram and the threading rules.
 *
 * Error mapping (one place: nats_fail_of). libnats reports a natsStatus, a JetStream error
 * code (jsErrCode, from the server's "err_code") and a thread-local text
 * (nats_GetLastError). They become:
 *   NF_EAGAIN    the connection is down or a reply did not come in time (NATS_TIMEOUT,
 *                NATS_NO_RESPONDERS, NATS_CONNECTION_DISCONNECTED, NATS_IO_ERROR, ...), or
 *                the server could not store now: JSStreamStoreFailedErr (10077: "maximum
 *                bytes exceeded" / "maximum messages exceeded" with discard new), storage or
 *                resource limits (10002, 10023, 10028, 10047), cluster not ready (10008,
 *                10009, 10118).
 *   NF_EINVAL    our input: NATS_INVALID_*, NATS_MAX_PAYLOAD, JSStreamMessageExceedsMaximumErr.
 *   NF_ENOTFOUND NATS_NOT_FOUND, JSStreamNotFoundErr, JSConsumerNotFoundErr.
 *   NF_ENOMEM    NATS_NO_MEMORY.
 *   NF_EUPSTREAM everything else (TLS and auth failures, refused configs, ...).
 * The message keeps libnats' text, the status text and the JetStream code.
 */
#include "bus.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "../base/clock.h"

/* JetStream API / connect timeout when the config leaves it 0: libnats' own default. */
#define DEFAULT_TIMEOUT_MS 5000
/* Pause between reconnect attempts when the config leaves it 0: libnats' default. */
#define DEFAULT_RECONNECT_WAIT_MS 2000
/* A pull request shorter than this is pointless (the client subtracts 10 ms for the server's
 * expiry), and libnats refuses 0. */
#define MIN_FETCH_MS 20
/* After the first message of a fetch, how long each further one-message request may wait:
 * the server answers at once while messages are available, so this only bounds the case
 * where nothing else is there. Small so one lone message is not held back. */
#define FETCH_MORE_MS 20
/* Polling step while waiting for a reconnect inside nf_bus_fetch. */
#define RECONNECT_POLL_MS 50

struct nf_bus {
    natsConnection *nc;
    jsCtx *js;
    int64_t timeout_ms; /* JetStream API and ack-confirmation wait */
};

struct nf_bus_consumer {
    nf_bus *bus;
    natsSubscription *sub;
    char *stream;
    char *durable;
};

/* ---- errors ------------------------------------------------------------------------------ */

typedef struct nats_fail {
    nf_status code;
    char why[200];
} nats_fail;

/* True if text mentions a "stream is full" refusal (older servers send no err_code). */
static bool
is_full_text(const char *text)
{
    return text != NULL &&
           (strstr(text, "maximum bytes exceeded") != NULL ||
            strstr(text, "maximum messages exceeded") != NULL ||
            strstr(text, "insufficient resources") != NULL);
}

/* Classifies a failed libnats call and renders its reason. Must run on the thread that made
 * the call, right after it (the text is thread-local). */
static nats_fail
nats_fail_of(natsStatus s, jsErrCode jerr)
{
    nats_fail f;
    natsStatus last_status = NATS_OK;
    const char *last = nats_GetLastError(&last_status);
    /* The thread's last error may be stale (some paths return NATS_TIMEOUT without setting
     * it): trust it only if it carries the status we got. */
    const char *text = (last != NULL && last[0] != '\0' && last_status == s) ? last : NULL;
    /* libnats prefixes its text with "(file.c:123): ": not for operators. */
    if (text != NULL && text[0] == '(') {
        const char *close = strstr(text, "): ");
        if (close != NULL)
            text = close + 3;
    }

    switch (s) {
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_NO_SERVER:
    case NATS_INSUFFICIENT_BUFFER: /* reconnect buffer full */
    case NATS_DRAINING:
        f.code = NF_EAGAIN;
        break;
    case NATS_NO_MEMORY:
        f.code = NF_ENOMEM;
        break;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_TIMEOUT:
    case NATS_ADDRESS_MISSING:
    case NATS_MAX_PAYLOAD:
        f.code = NF_EINVAL;
        break;
    case NATS_NOT_FOUND:
        f.code = NF_ENOTFOUND;
        break;
    default:
        f.code = NF_EUPSTREAM;
        break;
    }
    /* Only a JetStream API refusal (NATS_ERR) is classified by its err_code: libnats also
     * attaches codes to local conditions (no responders comes with 10076, "JetStream not
     * enabled"), and those are already classified by their status above. */
    if (s == NATS_ERR) {
        switch ((int)jerr) {
        case JSStreamStoreFailedErr:        /* "maximum bytes exceeded" (discard new), disk */
        case JSInsufficientResourcesErr:    /* server out of JetStream storage */
        case JSStorageResourcesExceededErr: /* account/server file storage limit */
        case JSMemoryResourcesExceededErr:
        case JSAccountResourcesExceededErr:
        case JSClusterNotAvailErr: /* cluster electing a leader: try again */
        case JSClusterNotLeaderErr:
        case JSStreamOfflineErr:
            f.code = NF_EAGAIN;
            break;
        case JSStreamMessageExceedsMaximumErr:
            f.code = NF_EINVAL;
            break;
        case JSStreamNotFoundErr:
        case JSConsumerNotFoundErr:
            f.code = NF_ENOTFOUND;
            break;
        case 0:
            if (is_full_text(text)) /* servers that send no err_code */
                f.code = NF_EAGAIN;
            break;
        default:
            break;
        }
    }

    const char *stext = natsStatus_GetText(s);
    if (text == NULL || strcmp(text, stext) == 0)
        snprintf(f.why, sizeof(f.why), "%s", stext);
    else if (s == NATS_ERR) /* its status text, "Error", adds nothing */
        snprintf(f.why, sizeof(f.why), "%s", text);
    else
        snprintf(f.why, sizeof(f.why), "%s [nats: %s]", text, stext);
    if (jerr != 0) {
        size_t used = strlen(f.why);
        snprintf(f.why + used, sizeof(f.why) - used, " [jetstream err_code %d]", (int)jerr);
    }
    return f;
}

static nf_status bus_fail_(nf_err *e, nats_fail f, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static nf_status
bus_fail_(nf_err *e, nats_fail f, const char *where, const char *fmt, ...)
{
    char head[NF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    return nf_err_set_(e, f.code, where, "%s: %s", head, f.why);
}

/* bus_fail(err, natsStatus, jsErrCode, "context fmt", args...): sets err to
 * "<context>: <nats reason>" with the mapped code, and returns the code. */
#define bus_fail(e, s, jerr, ...) \
    bus_fail_((e), nats_fail_of((s), (jerr)), __FILE__ ":" NF_STR(__LINE__), __VA_ARGS__)

/* The same with the code forced (e.g. NF_EINVAL for a certificate file OpenSSL rejects). */
static nats_fail
nats_fail_as(natsStatus s, nf_status code)
{
    nats_fail f = nats_fail_of(s, 0);
    f.code = code;
    return f;
}
#define bus_fail_as(e, code, s, ...) \
    bus_fail_((e), nats_fail_as((s), (code)), __FILE__ ":" NF_STR(__LINE__), __VA_ARGS__)

static const char *
conn_status_name(natsConnStatus st)
{
    switch (st) {
    case NATS_CONN_STATUS_DISCONNECTED: return "disconnected";
    case NATS_CONN_STATUS_CONNECTING: return "connecting";
    case NATS_CONN_STATUS_CONNECTED: return "connected";
    case NATS_CONN_STATUS_CLOSED: return "closed";
    case NATS_CONN_STATUS_RECONNECTING: return "reconnecting";
    case NATS_CONN_STATUS_DRAINING_SUBS: return "draining subscriptions";
    case NATS_CONN_STATUS_DRAINING_PUBS: return "draining publishers";
    }
    return "unknown";
}

/* ---- small helpers ----------------------------------------------------------------------- */

static bool
empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static int64_t
clamp_ms(uint64_t ms)
{
    return ms > (uint64_t)INT64_MAX / 1000000 ? INT64_MAX / 1000000 : (int64_t)ms;
}

static void
sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static jsOptions
api_opts(const nf_bus *b)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = b->timeout_ms; /* > 0 also turns nak/term into confirmed requests */
    return jo;
}

static char *
dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- connection -------------------------------------------------------------------------- */

/* Joins a relative file name to dir ("" or NULL dir: name as is). */
static nf_status
join_path(char *out, size_t out_len, const char *dir, const char *name, const char *key,
          nf_err *err)
{
    int n;
    if (name[0] == '/' || empty(dir))
        n = snprintf(out, out_len, "%s", name);
    else
        n = snprintf(out, out_len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    if (n < 0 || (size_t)n >= out_len)
        return nf_err_set(err, NF_EINVAL, "security.%s: path too long", key);
    return NF_OK;
}

/* Resolves one certificate file of the security block and checks it is readable, so a
 * missing file is reported with its key and path rather than as an OpenSSL error. */
static nf_status
cert_path(char *out, size_t out_len, const nf_security_config *sec, const char *name,
          const char *key, nf_err *err)
{
    if (empty(name))
        return nf_err_set(err, NF_EINVAL, "security.%s is required when security.mode is mtls",
                          key);
    nf_status st = join_path(out, out_len, sec->cert_dir, name, key, err);
    if (st != NF_OK)
        return st;
    if (access(out, R_OK) != 0)
        return nf_err_sys(err, NF_EINVAL, errno, "security.%s '%s'", key, out);
    return NF_OK;
}

/* Copies the host of the first URL in url ("tls://user:pw@host:4222,nats://...") to out;
 * "" if there is none. IPv6 brackets are removed. */
static void
url_host(const char *url, char *out, size_t out_len)
{
    out[0] = '\0';
    if (url == NULL)
        return;
    const char *p = strstr(url, "://");
    p = (p != NULL) ? p + 3 : url;
    const char *end = p + strcspn(p, ",/");
    for (const char *q = p; q < end; q++) /* skip user info */
        if (*q == '@')
            p = q + 1;
    const char *host_end;
    if (*p == '[') {
        p++;
        host_end = memchr(p, ']', (size_t)(end - p));
        if (host_end == NULL)
            return;
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        if (host_end == NULL)
            host_end = end;
    }
    size_t n = (size_t)(host_end - p);
    if (n >= out_len)
        return;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Configures TLS on o from the security block: trust only ca_file, present cert_file/key_file,
 * check the server's name. Nothing to do for mode "none". */
static nf_status
setup_tls(natsOptions *o, const nf_bus_config *cfg, nf_err *err)
{
    const nf_security_config *sec = cfg->security;
    if (sec == NULL || empty(sec->mode) || strcmp(sec->mode, "none") == 0)
        return NF_OK;
    if (strcmp(sec->mode, "mtls") != 0)
        return nf_err_set(err, NF_EINVAL, "security.mode '%s': want \"mtls\" or \"none\"",
                          sec->mode);

    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], host[256];
    nf_status st = cert_path(ca, sizeof(ca), sec, sec->tls.ca_file, "tls.ca_file", err);
    if (st == NF_OK)
        st = cert_path(cert, sizeof(cert), sec, sec->tls.cert_file, "tls.cert_file", err);
    if (st == NF_OK)
        st = cert_path(key, sizeof(key), sec, sec->tls.key_file, "tls.key_file", err);
    if (st != NF_OK)
        return st;

    /* Without an expected name libnats checks the chain only, so any certificate of our CA
     * could impersonate the server: default to the host we dial. */
    const char *name = sec->server_name;
    if (empty(name)) {
        url_host(cfg->url, host, sizeof(host));
        name = host;
    }
    if (empty(name))
        return nf_err_set(err, NF_EINVAL,
                          "security.server_name is empty and url '%s' names no host",
                          cfg->url);

    natsStatus s = natsOptions_SetSecure(o, true);
    if (s != NATS_OK)
        return bus_fail(err, s, 0, "enabling TLS");
    s = natsOptions_LoadCATrustedCertificates(o, ca);
    if (s != NATS_OK)
        return bus_fail_as(err, NF_EINVAL, s, "security.tls.ca_file '%s'", ca);
    s = natsOptions_LoadCertificatesChain(o, cert, key);
    if (s != NATS_OK)
        return bus_fail_as(err, NF_EINVAL, s, "security.tls.cert_file '%s' / key_file '%s'",
                           cert, key);
    s = natsOptions_SetExpectedHostname(o, name);
    if (s != NATS_OK)
        return bus_fail(err, s, 0, "security.server_name '%s'", name);
    return NF_OK;
}

nf_status
nf_bus_connect(const nf_bus_config *cfg, nf_bus **out, nf_err *err)
{
    if (cfg == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_bus_connect: NULL argument");
    if (empty(cfg->url))
        return nf_err_set(err, NF_EINVAL, "NATS url is empty");

    nf_status st = NF_OK;
    natsOptions *o = NULL;
    nf_bus *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return nf_err_set(err, NF_ENOMEM, "nf_bus_connect: out of memory");
    b->timeout_ms = clamp_ms(cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS);
    int64_t rwait =
        clamp_ms(cfg->reconnect_wait_ms != 0 ? cfg->reconnect_wait_ms : DEFAULT_RECONNECT_WAIT_MS);

    natsStatus s = natsOptions_Create(&o);
    if (s != NATS_OK) {
        st = bus_fail(err, s, 0, "creating NATS options");
        goto fail;
    }
    s = natsOptions_SetURL(o, cfg->url);
    if (s != NATS_OK) {
        st = bus_fail_as(err, NF_EINVAL, s, "NATS url '%s'", cfg->url);
        goto fail;
    }
    if (!empty(cfg->name))
        s = natsOptions_SetName(o, cfg->name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, b->timeout_ms);
    /* Forever: the daemons' back-pressure design relies on the bus coming back by itself. */
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(o, true);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, rwait);
    /* Jitter spreads the reconnects of many pollers after a server restart; a quarter of
     * the wait keeps the worst case close to the configured pause. */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(o, rwait / 4, rwait / 4);
    /* A request in flight when the link drops fails at once (NF_EAGAIN) instead of
     * waiting out its timeout. */
    if (s == NATS_OK)
        s = natsOptions_SetFailRequestsOnDisconnect(o, true);
    if (s != NATS_OK) {
        st = bus_fail(err, s, 0, "setting NATS options");
        goto fail;
    }
    st = setup_tls(o, cfg, err);
    if (st != NF_OK)
        goto fail;

    s = natsConnection_Connect(&b->nc, o);
    if (s != NATS_OK) {
        b->nc = NULL;
        /* With TLS 1.3 the client finishes its handshake before the server checks our
         * certificate; a refusal then shows up as the connection closing before the first
         * PONG ("Expected 'PONG', got ''"). Say so. */
        bool tls = cfg->security != NULL && !empty(cfg->security->mode) &&
                   strcmp(cfg->security->mode, "mtls") == 0;
        bool dropped = s == NATS_PROTOCOL_ERROR || s == NATS_CONNECTION_CLOSED;
        st = bus_fail(err, s, 0, "connecting to NATS at %s%s", cfg->url,
                      tls && dropped ? " (server closed the connection after the TLS handshake: "
                                       "client certificate refused?)"
                                     : "");
        goto fail;
    }
    jsOptions jo = api_opts(b);
    s = natsConnection_JetStream(&b->js, b->nc, &jo);
    if (s != NATS_OK) {
        b->js = NULL;
        st = bus_fail(err, s, 0, "creating the JetStream context");
        goto fail;
    }
    natsOptions_Destroy(o); /* the connection keeps its own copy */
    *out = b;
    return NF_OK;

fail:
    natsOptions_Destroy(o);
    nf_bus_close(b);
    return st;
}

void
nf_bus_close(nf_bus *b)
{
    if (b == NULL)
        return;
    jsCtx_Destroy(b->js);
    if (b->nc != NULL) {
        natsConnection_Close(b->nc);
        natsConnection_Destroy(b->nc);
    }
    free(b);
}

bool
nf_bus_connected(const nf_bus *b)
{
    return b != NULL && b->nc != NULL &&
           natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED;
}

void
nf_bus_global_cleanup(uint64_t timeout_ms)
{
    nats_CloseAndWait(clamp_ms(timeout_ms));
}

/* Fails fast with NF_EAGAIN while the connection is down: libnats would otherwise buffer
 * the request until the reconnect and report a timeout much later. */
static nf_status
check_connected(const nf_bus *b, const char *what, nf_err *err)
{
    natsConnStatus cs = natsConnection_Status(b->nc);
    if (cs == NATS_CONN_STATUS_CONNECTED)
        return NF_OK;
    return nf_err_set(err, cs == NATS_CONN_STATUS_CLOSED ? NF_EUPSTREAM : NF_EAGAIN,
                      "%s: not connected to NATS (%s)", what, conn_status_name(cs));
}

/* ---- streams ----------------------------------------------------------------------------- */

static const char *
retention_name(jsRetentionPolicy r)
{
    switch (r) {
    case js_LimitsPolicy: return "Limits";
    case js_InterestPolicy: return "Interest";
    case js_WorkQueuePolicy: return "WorkQueue";
    }
    return "unknown";
}

/* Renders a subject list as "[a, b]" into buf. */
static const char *
subjects_text(char *buf, size_t len, const char *const *subj, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", subj[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

static bool
same_subjects(const nf_stream_config *want, const jsStreamConfig *have)
{
    if (have->SubjectsLen < 0 || (size_t)have->SubjectsLen != want->nsubjects)
        return false;
    for (size_t i = 0; i < want->nsubjects; i++) {
        bool found = false;
        for (int j = 0; j < have->SubjectsLen && !found; j++)
            found = strcmp(want->subjects[i], have->Subjects[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

static int64_t
want_max_bytes(const nf_stream_config *cfg)
{
    return cfg->max_bytes > 0 ? cfg->max_bytes : -1;
}

static int64_t
want_duplicates_ns(const nf_stream_config *cfg)
{
    return clamp_ms(cfg->duplicate_window_ms) * 1000000;
}

static jsRetentionPolicy
want_retention(const nf_stream_config *cfg)
{
    return cfg->limits_retention ? js_LimitsPolicy : js_InterestPolicy;
}

static int64_t
want_max_age_ns(const nf_stream_config *cfg)
{
    return clamp_ms(cfg->max_age_ms) * 1000000;
}

/* Checks an existing stream against cfg and updates the limits that may change. */
static nf_status
check_stream(nf_bus *b, const nf_stream_config *cfg, const jsStreamInfo *si, nf_err *err)
{
    const jsStreamConfig *have = si->Config;
    if (have == NULL)
        return nf_err_set(err, NF_EUPSTREAM, "stream '%s': server sent no configuration",
                          cfg->name);
    if (have->Retention != want_retention(cfg))
        return nf_err_set(err, NF_EINVAL,
                          "stream '%s' exists with %s retention, but %s retention is "
                          "required%s; delete the stream (nats stream rm %s) or migrate it, "
                          "then restart",
                          cfg->name, retention_name(have->Retention),
                          retention_name(want_retention(cfg)),
                          cfg->limits_retention
                              ? ""
                              : " (each durable consumer must see every message)",
                          cfg->name);
    if (!same_subjects(cfg, have)) {
        char a[96], w[96];
        return nf_err_set(err, NF_EINVAL,
                          "stream '%s' exists with subjects [%s], configured [%s]; fix the "
                          "config or the stream",
                          cfg->name,
                          subjects_text(a, sizeof(a), (const char *const *)have->Subjects,
                                        (size_t)have->SubjectsLen),
                          subjects_text(w, sizeof(w), cfg->subjects, cfg->nsubjects));
    }

    jsDiscardPolicy discard = cfg->discard_new ? js_DiscardNew : js_DiscardOld;
    int64_t dup = want_duplicates_ns(cfg);
    bool update = have->MaxBytes != want_max_bytes(cfg) || have->Discard != discard ||
                  (dup != 0 && have->Duplicates != dup) || have->MaxAge != want_max_age_ns(cfg);
    if (!update)
        return NF_OK;

    jsStreamConfig uc = *have; /* shallow: the strings stay owned by si during the call */
    uc.MaxBytes = want_max_bytes(cfg);
    uc.Discard = discard;
    uc.MaxAge = want_max_age_ns(cfg);
    if (dup != 0)
        uc.Duplicates = dup;
    jsOptions jo = api_opts(b);
    jsErrCode jerr = 0;
    natsStatus s = js_UpdateStream(NULL, b->js, &uc, &jo, &jerr);
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "updating stream '%s' limits", cfg->name);
    return NF_OK;
}

nf_status
nf_bus_ensure_stream(nf_bus *b, const nf_stream_config *cfg, nf_err *err)
{
    if (b == NULL || cfg == NULL || empty(cfg->name) || cfg->subjects == NULL ||
        cfg->nsubjects == 0 || cfg->nsubjects > 1024)
        return nf_err_set(err, NF_EINVAL, "nf_bus_ensure_stream: bad arguments");
    for (size_t i = 0; i < cfg->nsubjects; i++)
        if (empty(cfg->subjects[i]))
            return nf_err_set(err, NF_EINVAL, "stream '%s': subject %zu is empty", cfg->name, i);
    nf_status st = check_connected(b, "ensuring stream", err);
    if (st != NF_OK)
        return st;

    jsOptions jo = api_opts(b);
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, b->js, cfg->name, &jo, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        sc.Name = cfg->name;
        sc.Subjects = (const char **)cfg->subjects;
        sc.SubjectsLen = (int)cfg->nsubjects;
        sc.Retention = want_retention(cfg);
        sc.MaxAge = want_max_age_ns(cfg);
        sc.Storage = js_FileStorage;
        sc.MaxBytes = want_max_bytes(cfg);
        sc.Discard = cfg->discard_new ? js_DiscardNew : js_DiscardOld;
        sc.Duplicates = want_duplicates_ns(cfg);
        sc.Replicas = cfg->replicas > 0 ? cfg->replicas : 1;
        jerr = 0;
        s = js_AddStream(NULL, b->js, &sc, &jo, &jerr);
        if (s == NATS_OK)
            return NF_OK;
        if (jerr != JSStreamNameExistErr)
            return bus_fail(err, s, jerr, "creating stream '%s'", cfg->name);
        /* Another process created it between our lookup and our create: check theirs. */
        jerr = 0;
        s = js_GetStreamInfo(&si, b->js, cfg->name, &jo, &jerr);
    }
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "looking up stream '%s'", cfg->name);
    st = check_stream(b, cfg, si, err);
    jsStreamInfo_Destroy(si);
    return st;
}

nf_status
nf_bus_stream_info(nf_bus *b, const char *stream, nf_stream_info *out, nf_err *err)
{
    if (b == NULL || empty(stream) || out == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_bus_stream_info: bad arguments");
    nf_status st = check_connected(b, "reading stream info", err);
    if (st != NF_OK)
        return st;
    jsOptions jo = api_opts(b);
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, b->js, stream, &jo, &jerr);
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "stream '%s' info", stream);
    out->messages = si->State.Msgs;
    out->bytes = si->State.Bytes;
    out->first_seq = si->State.FirstSeq;
    out->last_seq = si->State.LastSeq;
    out->consumers = si->State.Consumers > 0 ? (uint64_t)si->State.Consumers : 0;
    out->max_bytes = si->Config != NULL ? si->Config->MaxBytes : -1;
    jsStreamInfo_Destroy(si);
    return NF_OK;
}

nf_status
nf_bus_ensure_dead_letter_stream(nf_bus *b, const char *stream, const char *subject,
                                 uint64_t max_age_ms, nf_err *err)
{
    const char *subjects[] = {subject};
    nf_stream_config sc = {.name = stream,
                           .subjects = subjects,
                           .nsubjects = 1,
                           .max_bytes = (int64_t)256 << 20,
                           .discard_new = false, /* keep the newest dead letters */
                           .limits_retention = true,
                           .max_age_ms = max_age_ms};
    return nf_bus_ensure_stream(b, &sc, err);
}

nf_status
nf_bus_dead_letter(nf_bus *b, nf_bus_consumer *c, nf_bus_msg *m,
                   const char *dead_letter_subject, const char *stream, const char *id,
                   const char *reason, uint64_t retry_delay_ms, nf_err *err)
{
    char seq[24], dlq_id[256];
    snprintf(seq, sizeof(seq), "%" PRIu64, m->stream_seq);
    snprintf(dlq_id, sizeof(dlq_id), "dlq:%s", id);
    const char *headers[] = {"NetFlow-Dead-Letter-Reason", reason,
                             "NetFlow-Original-Stream",    stream,
                             "NetFlow-Original-Sequence",  seq,
                             "NetFlow-Original-Msg-Id",    id};
    nf_status st = nf_bus_publish_headers(b, dead_letter_subject, m->data, m->len, dlq_id,
                                          headers, 4, 0, NULL, err);
    if (st == NF_OK)
        st = nf_bus_term(c, m, err);
    if (st != NF_OK && m->handle != NULL && nf_bus_nak(c, m, retry_delay_ms, NULL) != NF_OK)
        nf_bus_msg_release(m);
    return st;
}

nf_status
nf_bus_consumer_state(nf_bus *b, const char *stream, const char *durable, nf_consumer_state *out,
                      nf_err *err)
{
    if (b == NULL || empty(stream) || empty(durable) || out == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_bus_consumer_state: bad arguments");
    nf_status st = check_connected(b, "reading consumer info", err);
    if (st != NF_OK)
        return st;
    jsOptions jo = api_opts(b);
    jsErrCode jerr = 0;
    jsConsumerInfo *ci = NULL;
    natsStatus s = js_GetConsumerInfo(&ci, b->js, stream, durable, &jo, &jerr);
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "consumer '%s' of stream '%s' info", durable, stream);
    *out = (nf_consumer_state){
        .ack_floor = ci->AckFloor.Stream,
        .pending = ci->NumPending,
        .ack_pending = ci->NumAckPending < 0 ? 0 : (uint64_t)ci->NumAckPending,
        .redelivered = ci->NumRedelivered < 0 ? 0 : (uint64_t)ci->NumRedelivered};
    jsConsumerInfo_Destroy(ci);
    return NF_OK;
}

nf_status
nf_bus_consumer_ack_floor(nf_bus *b, const char *stream, const char *durable, uint64_t *floor,
                          nf_err *err)
{
    if (floor == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_bus_consumer_ack_floor: bad arguments");
    nf_consumer_state cs;
    nf_status st = nf_bus_consumer_state(b, stream, durable, &cs, err);
    if (st == NF_OK)
        *floor = cs.ack_floor;
    return st;
}

void
nf_bus_lag_refresh(nf_bus_lag *l, nf_bus *b, const char *stream, const char *durable,
                   uint64_t every_ms)
{
    uint64_t now = nf_mono_ms();
    if (now < l->next_ms)
        return;
    l->next_ms = now + every_ms;
    nf_consumer_state cs;
    if (b == NULL || nf_bus_consumer_state(b, stream, durable, &cs, NULL) != NF_OK) {
        atomic_store(&l->known, false);
        return;
    }
    atomic_store(&l->pending, cs.pending);
    atomic_store(&l->ack_pending, cs.ack_pending);
    atomic_store(&l->known, true);
}

bool
nf_bus_lag_read(nf_bus_lag *l, uint64_t *pending, uint64_t *ack_pending)
{
    if (!atomic_load(&l->known))
        return false;
    *pending = atomic_load(&l->pending);
    *ack_pending = atomic_load(&l->ack_pending);
    return true;
}

/* ---- publishing -------------------------------------------------------------------------- */

nf_status
nf_bus_publish(nf_bus *b, const char *subject, const void *data, size_t len, const char *msg_id,
               uint64_t timeout_ms, nf_pub_ack *ack, nf_err *err)
{
    return nf_bus_publish_headers(b, subject, data, len, msg_id, NULL, 0, timeout_ms, ack, err);
}

nf_status
nf_bus_publish_headers(nf_bus *b, const char *subject, const void *data, size_t len,
                       const char *msg_id, const char *const *headers, size_t nheaders,
                       uint64_t timeout_ms, nf_pub_ack *ack, nf_err *err)
{
    if (b == NULL || empty(subject) || (data == NULL && len > 0))
        return nf_err_set(err, NF_EINVAL, "nf_bus_publish: bad arguments");
    const char *id = msg_id != NULL ? msg_id : "-";
    if (len > (size_t)INT_MAX)
        return nf_err_set(err, NF_EINVAL, "publish to '%s' (id %s): %zu bytes is too large",
                          subject, id, len);
    /* Not a size check against max_payload: the server's limit (default 1 MiB) may change
     * on reconnect; libnats checks it and reports NATS_MAX_PAYLOAD → NF_EINVAL. */
    char what[160];
    snprintf(what, sizeof(what), "publish to '%s' (id %s)", subject, id);
    nf_status st = check_connected(b, what, err);
    if (st != NF_OK)
        return st;

    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, (const char *)data, (int)len);
    if (s == NATS_OK && msg_id != NULL)
        s = natsMsgHeader_Set(m, NF_BUS_MSG_ID_HEADER, msg_id);
    for (size_t i = 0; s == NATS_OK && i < nheaders; i++)
        s = natsMsgHeader_Set(m, headers[2 * i], headers[2 * i + 1]);
    if (s != NATS_OK) {
        st = bus_fail(err, s, 0, "%s: building the message", what);
        natsMsg_Destroy(m);
        return st;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms != 0 ? clamp_ms(timeout_ms) : b->timeout_ms;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    s = js_PublishMsg(&pa, b->js, m, &po, &jerr);
    if (s != NATS_OK)
        st = bus_fail(err, s, jerr, "%s", what);
    natsMsg_Destroy(m);
    if (s != NATS_OK)
        return st;
    if (ack != NULL) {
        ack->stream_seq = pa->Sequence;
        ack->duplicate = pa->Duplicate;
    }
    jsPubAck_Destroy(pa);
    return NF_OK;
}

/* ---- consumers --------------------------------------------------------------------------- */

static bool
same_filter(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Checks an existing durable against what the caller asks for; updates AckWait and
 * MaxAckPending if they differ (the server allows changing both). */
static nf_status
check_consumer(nf_bus *b, const char *stream, const char *durable, const char *filter,
               int64_t ack_wait_ns, int max_ack_pending, const jsConsumerInfo *ci, nf_err *err)
{
    const jsConsumerConfig *have = ci->Config;
    if (have == NULL)
        return nf_err_set(err, NF_EUPSTREAM, "consumer '%s' on stream '%s': no configuration",
                          durable, stream);
    if (!empty(have->DeliverSubject))
        return nf_err_set(err, NF_EINVAL,
                          "consumer '%s' on stream '%s' is a push consumer (deliver subject "
                          "'%s'); a pull consumer is required: delete it and restart",
                          durable, stream, have->DeliverSubject);
    if (have->AckPolicy != js_AckExplicit)
        return nf_err_set(err, NF_EINVAL,
                          "consumer '%s' on stream '%s' does not use explicit acks; delete it "
                          "and restart",
                          durable, stream);
    if (!same_filter(have->FilterSubject, filter))
        return nf_err_set(err, NF_EINVAL,
                          "consumer '%s' on stream '%s' filters '%s', configured '%s'; delete "
                          "it or fix the config",
                          durable, stream, empty(have->FilterSubject) ? "" : have->FilterSubject,
                          empty(filter) ? "" : filter);
    bool update = (ack_wait_ns != 0 && have->AckWait != ack_wait_ns) ||
                  (max_ack_pending > 0 && have->MaxAckPending != max_ack_pending);
    if (!update)
        return NF_OK;
    jsConsumerConfig uc = *have; /* shallow: strings stay owned by ci during the call */
    if (ack_wait_ns != 0)
        uc.AckWait = ack_wait_ns;
    if (max_ack_pending > 0)
        uc.MaxAckPending = max_ack_pending;
    jsOptions jo = api_opts(b);
    jsErrCode jerr = 0;
    natsStatus s = js_UpdateConsumer(NULL, b->js, stream, &uc, &jo, &jerr);
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "updating consumer '%s' on stream '%s'", durable, stream);
    return NF_OK;
}

nf_status
nf_bus_consumer_ensure(nf_bus *b, const char *stream, const char *durable,
                       const char *filter_subject, uint64_t ack_wait_ms, int max_ack_pending,
                       nf_err *err)
{
    if (b == NULL || empty(stream) || empty(durable))
        return nf_err_set(err, NF_EINVAL, "nf_bus_consumer_ensure: bad arguments");
    if (strpbrk(durable, ".*> \t") != NULL)
        return nf_err_set(err, NF_EINVAL, "durable name '%s' contains '.', '*', '>' or space",
                          durable);
    nf_status st = check_connected(b, "ensuring consumer", err);
    if (st != NF_OK)
        return st;

    /* 0: create with JetStream's default (30 s) and leave an existing durable's alone, so a
     * publisher that only makes sure the durable exists never overrides its owner. */
    int64_t ack_wait_ns = ack_wait_ms != 0 ? clamp_ms(ack_wait_ms) * 1000000 : 0;
    jsOptions jo = api_opts(b);
    jsErrCode jerr = 0;
    jsConsumerInfo *ci = NULL;
    natsStatus s = js_GetConsumerInfo(&ci, b->js, stream, durable, &jo, &jerr);
    if (s != NATS_OK && jerr == JSStreamNotFoundErr)
        return bus_fail(err, s, jerr, "consumer '%s': stream '%s' does not exist", durable,
                        stream);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = durable;
        cc.DeliverPolicy = js_DeliverAll;
        cc.AckPolicy = js_AckExplicit;
        cc.ReplayPolicy = js_ReplayInstant;
        cc.AckWait = ack_wait_ns != 0 ? ack_wait_ns : 30 * 1000000000LL;
        if (max_ack_pending > 0)
            cc.MaxAckPending = max_ack_pending;
        if (!empty(filter_subject))
            cc.FilterSubject = filter_subject;
        jerr = 0;
        s = js_AddConsumer(NULL, b->js, stream, &cc, &jo, &jerr);
        if (s == NATS_OK)
            return NF_OK;
        if (jerr != JSConsumerNameExistErr && jerr != JSConsumerExistingActiveErr)
            return bus_fail(err, s, jerr, "creating consumer '%s' on stream '%s'", durable,
                            stream);
        /* Lost a creation race with another process: check the one that won. */
        jerr = 0;
        s = js_GetConsumerInfo(&ci, b->js, stream, durable, &jo, &jerr);
    }
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "looking up consumer '%s' on stream '%s'", durable,
                        stream);
    st = check_consumer(b, stream, durable, filter_subject, ack_wait_ns, max_ack_pending, ci,
                        err);
    jsConsumerInfo_Destroy(ci);
    return st;
}

nf_status
nf_bus_consumer_open(nf_bus *b, const char *stream, const char *durable,
                     const char *filter_subject, uint64_t ack_wait_ms, int max_ack_pending,
                     nf_bus_consumer **out, nf_err *err)
{
    if (out == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_bus_consumer_open: NULL out");
    nf_status st = nf_bus_consumer_ensure(b, stream, durable, filter_subject, ack_wait_ms,
                                          max_ack_pending, err);
    if (st != NF_OK)
        return st;

    nf_bus_consumer *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nf_err_set(err, NF_ENOMEM, "consumer '%s': out of memory", durable);
    c->bus = b;
    c->stream = dup_str(stream);
    c->durable = dup_str(durable);
    if (c->stream == NULL || c->durable == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "consumer '%s': out of memory", durable);
        goto fail;
    }
    /* Bind to the durable by name (Stream + Consumer) rather than letting libnats create
     * it: a consumer libnats created is deleted again by an unsubscribe. */
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = durable;
    jsOptions jo = api_opts(b);
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&c->sub, b->js, empty(filter_subject) ? NULL : filter_subject,
                                    durable, &jo, &so, &jerr);
    if (s != NATS_OK) {
        c->sub = NULL;
        st = bus_fail(err, s, jerr, "subscribing to consumer '%s' on stream '%s'", durable,
                      stream);
        goto fail;
    }
    *out = c;
    return NF_OK;

fail:
    nf_bus_consumer_close(c);
    return st;
}

void
nf_bus_consumer_close(nf_bus_consumer *c)
{
    if (c == NULL)
        return;
    /* Destroy, not Unsubscribe: the durable and its position stay on the server. */
    natsSubscription_Destroy(c->sub);
    free(c->stream);
    free(c->durable);
    free(c);
}

/* Fills m from a libnats message, taking ownership of it. */
static void
msg_fill(nf_bus_msg *m, natsMsg *nm)
{
    memset(m, 0, sizeof(*m));
    m->handle = nm;
    m->data = (const uint8_t *)natsMsg_GetData(nm);
    m->len = (size_t)natsMsg_GetDataLength(nm);
    jsMsgMetaData *md = NULL;
    if (natsMsg_GetMetaData(&md, nm) == NATS_OK) {
        m->stream_seq = md->Sequence.Stream;
        m->num_delivered = md->NumDelivered;
        jsMsgMetaData_Destroy(md);
    }
    const char *id = NULL;
    if (natsMsgHeader_Get(nm, NF_BUS_MSG_ID_HEADER, &id) == NATS_OK)
        m->msg_id = id;
}

/* Moves the messages of list into out[*n...], up to cap; frees the rest (they will be
 * redelivered after AckWait — cannot happen as we never ask for more than cap). */
static void
take_list(natsMsgList *list, nf_bus_msg *out, size_t *n, size_t cap)
{
    for (int i = 0; i < list->Count; i++) {
        if (list->Msgs[i] == NULL || *n >= cap)
            continue;
        msg_fill(&out[(*n)++], list->Msgs[i]);
        list->Msgs[i] = NULL; /* now ours: natsMsgList_Destroy skips NULL entries */
    }
    natsMsgList_Destroy(list);
}

/* Fetches at most one message into out[*n] (advancing *n). Always a batch of one: libnats
 * 3.4's Fetch returned more messages than the batch it allocated for (ASan: a read past its
 * array; the ClickHouse writer had died with "double free or corruption"). It first takes
 * messages already queued on the subscription (late answers to an earlier request) and then
 * loops against a batch reduced by their number; with a batch of one that cannot overflow,
 * and a queued message is returned without a new request. */
static natsStatus
fetch_one(nf_bus_consumer *c, int64_t wait_ms, nf_bus_msg *out, size_t *n, size_t max,
          jsErrCode *jerr)
{
    natsMsgList list = {0};
    natsStatus s = natsSubscription_Fetch(&list, c->sub, 1, wait_ms, jerr);
    if (s == NATS_OK)
        take_list(&list, out, n, max);
    return s;
}

nf_status
nf_bus_fetch(nf_bus_consumer *c, size_t max, uint64_t timeout_ms, nf_bus_msg *out,
             size_t *n_out, nf_err *err)
{
    if (c == NULL || out == NULL || n_out == NULL || max == 0)
        return nf_err_set(err, NF_EINVAL, "nf_bus_fetch: bad arguments");
    uint64_t deadline = nf_mono_ms() + (uint64_t)clamp_ms(timeout_ms);

    /* While reconnecting, wait for the link rather than returning at once: a caller's fetch
     * loop must not spin. */
    while (!nf_bus_connected(c->bus)) {
        uint64_t now = nf_mono_ms();
        if (now >= deadline)
            return nf_err_set(err, NF_EAGAIN,
                              "fetch from consumer '%s' on stream '%s': not connected to NATS "
                              "(%s)",
                              c->durable, c->stream,
                              conn_status_name(natsConnection_Status(c->bus->nc)));
        uint64_t left = deadline - now;
        sleep_ms(left < RECONNECT_POLL_MS ? left : RECONNECT_POLL_MS);
    }

    /* Step 1: wait for one message: a waiting pull request the server answers as soon as a
     * message is there. */
    uint64_t now = nf_mono_ms();
    int64_t wait = now < deadline ? (int64_t)(deadline - now) : 0;
    if (wait < MIN_FETCH_MS)
        wait = MIN_FETCH_MS;
    jsErrCode jerr = 0;
    size_t n = 0;
    natsStatus s = fetch_one(c, wait, out, &n, max, &jerr);
    if (s == NATS_TIMEOUT) {
        *n_out = 0;
        return NF_OK;
    }
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "fetch from consumer '%s' on stream '%s'", c->durable,
                        c->stream);

    /* Step 2: take what else is there now, one message per request (each answered at once
     * while messages are available; the first that finds none ends the batch after
     * FETCH_MORE_MS). Errors here are not the caller's problem: it already has a message,
     * and the next fetch will report a persistent failure. */
    while (n < max && fetch_one(c, FETCH_MORE_MS, out, &n, max, &jerr) == NATS_OK)
        ;
    *n_out = n;
    return NF_OK;
}

typedef enum settle_kind { SETTLE_ACK, SETTLE_NAK, SETTLE_TERM } settle_kind;

/* Sends ack / nak / term for m and waits for the server's confirmation (jsOptions.Wait > 0
 * makes libnats send each of them as a request). Frees m on success. */
static nf_status
settle(nf_bus_consumer *c, nf_bus_msg *m, settle_kind kind, uint64_t delay_ms, nf_err *err)
{
    static const char *const names[] = {"ack", "nak", "term"};
    if (c == NULL || m == NULL)
        return nf_err_set(err, NF_EINVAL, "%s: NULL argument", names[kind]);
    if (m->handle == NULL)
        return nf_err_set(err, NF_EINVAL, "%s of stream seq %llu: message already settled",
                          names[kind], (unsigned long long)m->stream_seq);
    char what[160];
    snprintf(what, sizeof(what), "%s of stream seq %llu (consumer '%s')", names[kind],
             (unsigned long long)m->stream_seq, c->durable);
    nf_status st = check_connected(c->bus, what, err);
    if (st != NF_OK)
        return st;

    natsMsg *nm = m->handle;
    jsOptions jo = api_opts(c->bus);
    jsErrCode jerr = 0;
    natsStatus s;
    switch (kind) {
    case SETTLE_ACK:
        s = natsMsg_AckSync(nm, &jo, &jerr);
        break;
    case SETTLE_NAK:
        s = natsMsg_NakWithDelay(nm, clamp_ms(delay_ms), &jo);
        break;
    default:
        s = natsMsg_Term(nm, &jo);
        break;
    }
    if (s != NATS_OK)
        return bus_fail(err, s, jerr, "%s", what);
    nf_bus_msg_release(m);
    return NF_OK;
}

nf_status
nf_bus_ack(nf_bus_consumer *c, nf_bus_msg *m, nf_err *err)
{
    return settle(c, m, SETTLE_ACK, 0, err);
}

nf_status
nf_bus_nak(nf_bus_consumer *c, nf_bus_msg *m, uint64_t delay_ms, nf_err *err)
{
    return settle(c, m, SETTLE_NAK, delay_ms, err);
}

nf_status
nf_bus_term(nf_bus_consumer *c, nf_bus_msg *m, nf_err *err)
{
    return settle(c, m, SETTLE_TERM, 0, err);
}

const char *
nf_bus_msg_header(const nf_bus_msg *m, const char *name)
{
    const char *v = NULL;
    if (m == NULL || m->handle == NULL || name == NULL ||
        natsMsgHeader_Get((natsMsg *)m->handle, name, &v) != NATS_OK)
        return NULL;
    return v;
}

void
nf_bus_msg_release(nf_bus_msg *m)
{
    if (m == NULL || m->handle == NULL)
        return;
    natsMsg_Destroy(m->handle);
    memset(m, 0, sizeof(*m));
}

void
nf_bus_msg_id(const nf_bus_msg *m, char *out, size_t n)
{
    if (m->msg_id != NULL && m->msg_id[0] != '\0')
        snprintf(out, n, "%s", m->msg_id);
    else
        snprintf(out, n, "stream:%" PRIu64, m->stream_seq);
}

nf_status
nf_bus_reader_ready(const nf_bus_reader_config *rc, nf_bus **bus, bool *dlq_ready,
                    nf_bus_consumer **consumer, unsigned *done, const char **what, nf_err *err)
{
    *done = 0;
    *what = "NATS";
    nf_status st;
    if (*bus == NULL) {
        if ((st = nf_bus_connect(&rc->bus, bus, err)) != NF_OK)
            return st;
        *done |= NF_BUS_READER_CONNECTED;
    }
    if (!*dlq_ready) {
        *what = "dead-letter stream";
        st = nf_bus_ensure_dead_letter_stream(*bus, rc->dead_letter_stream,
                                              rc->dead_letter_subject,
                                              rc->dead_letter_max_age_ms, err);
        if (st != NF_OK)
            return st;
        *dlq_ready = true;
    }
    if (*consumer == NULL) {
        st = nf_bus_consumer_open(*bus, rc->stream, rc->durable, rc->subject, rc->ack_wait_ms,
                                  rc->max_ack_pending, consumer, err);
        if (st != NF_OK) {
            *what = st == NF_ENOTFOUND ? "stream not found yet (the poller creates it)"
                                       : "consumer";
            return st;
        }
        *done |= NF_BUS_READER_BOUND;
    }
    return NF_OK;
}
