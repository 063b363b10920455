/* server.c — the Iceberg REST catalog's HTTP side: routing, request bodies, JSON answers,
 * commits. See catalog.h for the routes and store.h for the database.
 *
 * Design notes:
 *   - libmicrohttpd with an internal polling thread and a thread per connection: requests
 *     block on file I/O (metadata files are fsync'd) and on the table locks, which is
 *     natural in a dedicated thread; the catalog sees a handful of writers and readers,
 *     not thousands of connections (MAX_CONNECTIONS bounds the threads).
 *   - Bodies are collected per connection up to max_body_bytes: a Content-Length above it
 *     is answered 413 before anything is read, a chunked body is answered 413 as soon as
 *     it passes the bound. Metadata files read from disk are bounded by METADATA_MAX.
 *   - Table locks: TABLE_LOCKS mutexes, a table uses the one its "ns\x1fname" hashes to.
 *     Commits and creates of one table never run concurrently in this process, so they
 *     queue instead of failing their compare-and-swap; two tables sharing a stripe merely
 *     wait for each other (commits take milliseconds).
 *
 * Commit (POST /v1/namespaces/{ns}/tables/{t}), under the table's lock:
 *
 *   store: pointer P, version V ──► read + parse P ──► nf_ice_table_apply(requirements,
 *   updates, previous = P) ──fail──► 409 CommitFailedException / 400, nothing written
 *        │ ok
 *        ▼
 *   write V+1.metadata.json ──exists──► pointer still P? (an orphan left by a
 *        │ ok (no hint yet)                crashed writer) try V+2 …; moved? 409
 *        ▼
 *   CAS pointer P → new file ──0 rows──► 409 (another catalog process won; our file stays
 *        │ ok                             as an unreferenced orphan, harmless)
 *        ▼
 *   version-hint.text → V+1 (path readers see only committed versions)
 *        ▼
 *   200 {metadata-location, metadata}
 *
 * Writes stay inside the warehouse: a create with a location elsewhere and a commit whose
 * table location (after set-location) is elsewhere are refused with 400; a table
 * registered from outside the warehouse can be loaded but not committed to.
 *
 * Invariants:
 *   1. A failed requirement changes nothing: no file written, pointer unchanged.
 *   2. The pointer only moves by compare-and-swap from the file the commit was built on, so
 *      no commit is lost, even across processes sharing the database.
 *   3. Every answer is application/json; every error is {"error":{message,type,code}}.
 *   4. version-hint.text never names a version whose swap has not happened.
 */
#include "catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/files.h"
#include "../base/log.h"
#include "../config/config.h"
#include "../httpd/httpd.h"
#include "../iceberg/iceberg.h"
#include "store.h"

#define COMP "iceberg-catalog"

#define TABLE_LOCKS 64
/* Bounds the threads of thread-per-connection. */
#define MAX_CONNECTIONS 128u
/* Idle keep-alive connections are closed after this many seconds. */
#define CONNECTION_TIMEOUT_S 60u
/* Metadata files grow with snapshots and the metadata log; writers expire snapshots long
 * before this. A bigger file is refused rather than read into memory. */
#define METADATA_MAX (64u * 1024 * 1024)
/* Longest namespace or table name: it becomes a directory name. */
#define NAME_MAX_LEN 255
/* An orphan metadata file left by a crashed writer is skipped; more than this many in a
 * row means something else is wrong. */
#define VERSION_PROBES 100
#define PEM_MAX (1024u * 1024)

/* ---- metrics ------------------------------------------------------------------------------ */

enum route {
    R_CONFIG, R_NAMESPACES, R_NAMESPACE, R_NS_PROPERTIES, R_TABLES, R_TABLE, R_REGISTER,
    R_RENAME, R_HEALTHZ, R_OTHER, R_COUNT
};
static const char *const route_names[R_COUNT] = {
    "config", "namespaces", "namespace", "namespace_properties", "tables", "table",
    "register", "rename", "healthz", "other"};
static const unsigned status_codes[] = {200, 204, 400, 401, 404, 405, 409, 413, 500, 503};
#define N_STATUS (sizeof(status_codes) / sizeof(status_codes[0]))

struct nf_catalog {
    struct MHD_Daemon *mhd;
    cat_store *store;
    char *warehouse; /* no trailing slash */
    size_t max_body;
    bool mtls;
    char *pem_cert, *pem_key, *pem_ca; /* must outlive mhd */
    pthread_mutex_t locks[TABLE_LOCKS];
    pthread_mutex_t stats_mu;
    uint64_t requests[R_COUNT][N_STATUS + 1]; /* last column: any other status */
    uint64_t commits_ok, commits_conflict, commits_failed;
};

static void
count_request(nf_catalog *c, enum route r, unsigned status)
{
    size_t i = 0;
    while (i < N_STATUS && status_codes[i] != status)
        i++;
    pthread_mutex_lock(&c->stats_mu);
    c->requests[r][i]++;
    pthread_mutex_unlock(&c->stats_mu);
}

static void
count_commit(nf_catalog *c, nf_status st)
{
    pthread_mutex_lock(&c->stats_mu);
    if (st == NF_OK)
        c->commits_ok++;
    else if (st == NF_ECONFLICT)
        c->commits_conflict++;
    else
        c->commits_failed++;
    pthread_mutex_unlock(&c->stats_mu);
}

void
nf_catalog_render_metrics(void *ctx, nf_metrics *m)
{
    nf_catalog *c = ctx;
    uint64_t req[R_COUNT][N_STATUS + 1];
    uint64_t ok, conflict, failed;
    pthread_mutex_lock(&c->stats_mu);
    memcpy(req, c->requests, sizeof(req));
    ok = c->commits_ok;
    conflict = c->commits_conflict;
    failed = c->commits_failed;
    pthread_mutex_unlock(&c->stats_mu);
    const char *name = "serviceradar_iceberg_catalog_requests_total";
    nf_metrics_family(m, name, "counter", "REST requests answered, by route and HTTP status");
    for (size_t r = 0; r < R_COUNT; r++)
        for (size_t i = 0; i <= N_STATUS; i++) {
            if (req[r][i] == 0)
                continue;
            char labels[96], st[8];
            if (i < N_STATUS)
                snprintf(st, sizeof(st), "%u", status_codes[i]);
            else
                snprintf(st, sizeof(st), "other");
            snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%s\"", route_names[r], st);
            nf_metrics_sample(m, name, labels, req[r][i]);
        }
    name = "serviceradar_iceberg_catalog_commits_total";
    nf_metrics_family(m, name, "counter",
                      "table commits: ok, conflict (409: requirement failed or a concurrent "
                      "commit won), failed (400/5xx)");
    nf_metrics_sample(m, name, "result=\"ok\"", ok);
    nf_metrics_sample(m, name, "result=\"conflict\"", conflict);
    nf_metrics_sample(m, name, "result=\"failed\"", failed);
}

/* ---- answers ------------------------------------------------------------------------------ */

typedef struct answer {
    unsigned status;
    json_t *body; /* owned; NULL = empty body */
} answer;

static void
set_answer(answer *a, unsigned status, json_t *body)
{
    json_decref(a->body);
    a->status = status;
    a->body = body;
}

static void
fail(answer *a, unsigned status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail(answer *a, unsigned status, const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_answer(a, status,
               json_pack("{s:{s:s,s:s,s:i}}", "error", "message", msg, "type", type, "code",
                         (int)status));
}

/* Answers a failed nf_status; conflict_type names the 409 flavour of the caller. */
static void
fail_status(answer *a, const nf_err *e, const char *conflict_type)
{
    switch (e->code) {
    case NF_ENOTFOUND:
        fail(a, 404,
             strncmp(e->msg, "namespace ", 10) == 0 ? "NoSuchNamespaceException"
                                                    : "NoSuchTableException",
             "%s", e->msg);
        break;
    case NF_ECONFLICT:
        fail(a, 409, conflict_type, "%s", e->msg);
        break;
    case NF_EINVAL:
    case NF_EPROTO:
        fail(a, 400, "BadRequestException", "%s", e->msg);
        break;
    case NF_EAGAIN:
        fail(a, 503, "ServiceUnavailableException", "%s", e->msg);
        break;
    default:
        fail(a, 500, "InternalServerError", "%s", e->msg);
        break;
    }
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* A namespace or table name usable as a directory name and in SQL text values. */
static bool
name_ok(const char *s, const char **why)
{
    size_t n = strlen(s);
    if (n == 0)
        return *why = "is empty", false;
    if (n > NAME_MAX_LEN)
        return *why = "is longer than 255 bytes", false;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return *why = "is . or ..", false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == 0x1f)
            return *why = "is a multi-level namespace (only one level is supported)", false;
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return *why = "contains '/', '\\' or a control character", false;
    }
    return true;
}

/* True if uri is the warehouse or below it, without . or .. segments: the catalog writes
 * metadata files only there, whatever location a client asks for. */
static bool
inside_warehouse(const nf_catalog *c, const char *uri)
{
    size_t n = strlen(c->warehouse);
    if (strncmp(uri, c->warehouse, n) != 0 || (uri[n] != '/' && uri[n] != '\0'))
        return false;
    size_t len = strlen(uri);
    return strstr(uri + n, "/../") == NULL && strstr(uri + n, "/./") == NULL &&
           !(len >= n + 3 && strcmp(uri + len - 3, "/..") == 0);
}

static size_t
lock_index(const char *ns, const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)ns; *p; p++)
        h = (h ^ *p) * 16777619u;
    h = (h ^ 0x1f) * 16777619u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % TABLE_LOCKS;
}

/* Reads a whole file of at most max bytes (NUL-terminated copy). what names it in errors. */
static nf_status
read_file(const char *path, size_t max, char **out, size_t *len, nf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nf_err_sys(err, errno == ENOENT ? NF_ENOTFOUND : NF_EIO, errno,
                          "metadata file %s", path);
    nf_status rc = NF_OK;
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = nf_err_sys(err, NF_EIO, errno, "metadata file %s: stat", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > max) {
        rc = nf_err_set(err, NF_EINVAL, "metadata file %s: not a regular file of at most %zu "
                        "bytes (%lld)", path, max, (long long)st.st_size);
        goto fail;
    }
    size_t n = (size_t)st.st_size, got = 0;
    buf = malloc(n + 1);
    if (buf == NULL) {
        rc = nf_err_set(err, NF_ENOMEM, "metadata file %s: %zu bytes", path, n);
        goto fail;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? nf_err_sys(err, NF_EIO, errno, "metadata file %s: read", path)
                       : nf_err_set(err, NF_EIO, "metadata file %s: shrank while read", path);
            goto fail;
        }
        got += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
    *out = buf;
    *len = n;
    return NF_OK;
fail:
    free(buf);
    close(fd);
    return rc;
}

/* Reads the metadata file at uri: its text (malloc'd) and parsed JSON (new reference). */
static nf_status
load_metadata(const char *uri, char **text, json_t **json, nf_err *err)
{
    char *path = NULL, *buf = NULL;
    size_t len = 0;
    nf_status rc = nf_ice_uri_path(uri, &path, err);
    if (rc == NF_OK)
        rc = read_file(path, METADATA_MAX, &buf, &len, err);
    free(path);
    if (rc != NF_OK)
        return rc;
    json_error_t je;
    json_t *j = json_loadb(buf, len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        free(buf);
        return nf_err_set(err, NF_EPROTO, "metadata file %s: not a JSON object (line %d: %s)",
                          uri, je.line, je.text);
    }
    if (text != NULL)
        *text = buf;
    else
        free(buf);
    *json = j;
    return NF_OK;
}

/* {"metadata-location": loc, "metadata": meta (consumed), "config": {}} */
static json_t *
load_result(const char *loc, json_t *meta)
{
    return json_pack("{s:s,s:o,s:{}}", "metadata-location", loc, "metadata", meta, "config");
}

/* The version number in a metadata file name: "v12.metadata.json" (ours, Hadoop tables)
 * or "00012-<uuid>.metadata.json" (Java catalogs); 0 if neither. */
static int64_t
version_of(const char *uri)
{
    const char *b = strrchr(uri, '/');
    b = b != NULL ? b + 1 : uri;
    if (*b == 'v')
        b++;
    int64_t v = 0;
    const char *p = b;
    while (*p >= '0' && *p <= '9' && v < (INT64_MAX - 9) / 10)
        v = v * 10 + (*p++ - '0');
    if (p == b || (strcmp(p, ".metadata.json") != 0 && *p != '-'))
        return 0;
    return v;
}

/* Copies of ns / name out of an identifier object {"namespace":[ns],"name":t}. */
static bool
identifier(const json_t *id, const char **ns, const char **name)
{
    const json_t *n = json_object_get(id, "namespace");
    if (!json_is_array(n) || json_array_size(n) != 1 ||
        !json_is_string(json_array_get(n, 0)) || !json_is_string(json_object_get(id, "name")))
        return false;
    *ns = json_string_value(json_array_get(n, 0));
    *name = json_string_value(json_object_get(id, "name"));
    return true;
}

/* ---- handlers ----------------------------------------------------------------------------- */

typedef struct request {
    nf_catalog *c;
    const char *method;
    const char *ns;    /* {ns} of the path, or NULL */
    const char *table; /* {t}, or NULL */
    json_t *body;      /* parsed body (POST), or NULL */
    struct MHD_Connection *conn;
} request;

static void
get_config(request *q, answer *a)
{
    (void)q;
    set_answer(a, 200, json_pack("{s:{},s:{}}", "defaults", "overrides"));
}

static void
namespaces(request *q, answer *a)
{
    nf_err e = {0};
    if (strcmp(q->method, "GET") == 0) {
        const char *parent =
            MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "parent");
        json_t *names = NULL;
        if (parent != NULL && parent[0] != '\0') {
            /* One level only: a namespace has no children. */
            json_t *props = NULL;
            if (cat_store_ns_get(q->c->store, parent, &props, &e) != NF_OK)
                return fail_status(a, &e, "");
            json_decref(props);
            names = json_array();
        } else if (cat_store_ns_list(q->c->store, &names, &e) != NF_OK) {
            return fail_status(a, &e, "");
        }
        json_t *list = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(names, i, v) json_array_append_new(list, json_pack("[O]", v));
        json_decref(names);
        return set_answer(a, 200, json_pack("{s:o}", "namespaces", list));
    }
    json_t *nsj = json_object_get(q->body, "namespace");
    json_t *props = json_object_get(q->body, "properties");
    if (!json_is_array(nsj) || json_array_size(nsj) == 0 ||
        !json_is_string(json_array_get(nsj, 0)))
        return fail(a, 400, "BadRequestException",
                    "body: 'namespace' must be a non-empty array of strings");
    if (json_array_size(nsj) > 1)
        return fail(a, 400, "BadRequestException",
                    "body: 'namespace' has %zu levels; only one level is supported",
                    json_array_size(nsj));
    if (props != NULL && !json_is_null(props)) {
        const char *k;
        json_t *v;
        if (!json_is_object(props))
            return fail(a, 400, "BadRequestException", "body: 'properties' must be an object");
        json_object_foreach(props, k, v) if (!json_is_string(v)) return fail(
            a, 400, "BadRequestException", "body: property '%s' is not a string", k);
    } else {
        props = NULL;
    }
    const char *ns = json_string_value(json_array_get(nsj, 0)), *why;
    if (!name_ok(ns, &why))
        return fail(a, 400, "BadRequestException", "namespace '%s' %s", ns, why);
    if (cat_store_ns_create(q->c->store, ns, props, &e) != NF_OK)
        return fail_status(a, &e, "AlreadyExistsException");
    set_answer(a, 200, json_pack("{s:[s],s:o}", "namespace", ns, "properties",
                                 props != NULL ? json_incref(props) : json_object()));
}

static void
namespace(request *q, answer *a)
{
    nf_err e = {0};
    json_t *props = NULL;
    if (strcmp(q->method, "DELETE") == 0) {
        if (cat_store_ns_drop(q->c->store, q->ns, &e) != NF_OK)
            return fail_status(a, &e, "NamespaceNotEmptyException");
        return set_answer(a, 204, NULL);
    }
    if (cat_store_ns_get(q->c->store, q->ns, &props, &e) != NF_OK)
        return fail_status(a, &e, "");
    if (strcmp(q->method, "HEAD") == 0) {
        json_decref(props);
        return set_answer(a, 204, NULL);
    }
    set_answer(a, 200, json_pack("{s:[s],s:o}", "namespace", q->ns, "properties", props));
}

static void
ns_properties(request *q, answer *a)
{
    json_t *upd = json_object_get(q->body, "updates");
    json_t *rem = json_object_get(q->body, "removals");
    json_t *empty_o = json_object(), *empty_a = json_array();
    if (upd == NULL || json_is_null(upd))
        upd = empty_o;
    if (rem == NULL || json_is_null(rem))
        rem = empty_a;
    const char *k;
    json_t *v;
    size_t i;
    bool ok = json_is_object(upd) && json_is_array(rem);
    json_object_foreach(upd, k, v) ok = ok && json_is_string(v);
    json_array_foreach(rem, i, v) ok = ok && json_is_string(v);
    if (!ok) {
        fail(a, 400, "BadRequestException",
             "body: 'updates' must be an object of strings, 'removals' an array of strings");
    } else {
        nf_err e = {0};
        json_t *res = NULL;
        if (cat_store_ns_update_props(q->c->store, q->ns, upd, rem, &res, &e) != NF_OK)
            fail_status(a, &e, "");
        else
            set_answer(a, 200, res);
    }
    json_decref(empty_o);
    json_decref(empty_a);
}

static void
create_table(request *q, answer *a);

static void
tables(request *q, answer *a)
{
    if (strcmp(q->method, "POST") == 0)
        return create_table(q, a);
    nf_err e = {0};
    json_t *names = NULL;
    if (cat_store_table_list(q->c->store, q->ns, &names, &e) != NF_OK)
        return fail_status(a, &e, "");
    json_t *ids = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
        json_array_append_new(ids, json_pack("{s:[s],s:O}", "namespace", q->ns, "name", v));
    json_decref(names);
    set_answer(a, 200, json_pack("{s:o}", "identifiers", ids));
}

/* Text of member key of the body as compact JSON, or def when absent; NULL on ENOMEM. */
static char *
member_text(const json_t *body, const char *key, const char *def)
{
    const json_t *v = json_object_get(body, key);
    if (v == NULL || json_is_null(v))
        return strdup(def);
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Fills in what clients may leave to the server: schema-id 0, spec-id 0 and partition
 * field ids from 1000, order-id (0 unsorted, else 1). */
static void
complete_create_request(json_t *body)
{
    json_t *schema = json_object_get(body, "schema");
    if (json_object_get(schema, "schema-id") == NULL)
        json_object_set_new(schema, "schema-id", json_integer(0));
    json_t *spec = json_object_get(body, "partition-spec");
    if (json_is_object(spec)) {
        if (json_object_get(spec, "spec-id") == NULL)
            json_object_set_new(spec, "spec-id", json_integer(0));
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(spec, "fields"), i, f)
            if (json_is_object(f) && json_object_get(f, "field-id") == NULL)
                json_object_set_new(f, "field-id", json_integer(1000 + (json_int_t)i));
    }
    json_t *order = json_object_get(body, "write-order");
    if (json_is_object(order) && json_object_get(order, "order-id") == NULL)
        json_object_set_new(order, "order-id",
                            json_integer(json_array_size(json_object_get(order, "fields")) ? 1
                                                                                            : 0));
}

/* After a commit (the pointer swap): version-hint.text names the new version, so readers
 * that open the table by path see it — never before the swap, so they never see a version a
 * lost swap or a crash left uncommitted. A failure is logged, not returned: the commit
 * stands, and the next one raises the hint. */
static void
raise_hint(const char *dir, int64_t version)
{
    nf_err e = {0};
    if (nf_ice_fs_write_hint(dir, version, &e) != NF_OK)
        nf_log_warn(COMP, "version-hint.text of %s not raised to %lld: %s", dir,
                    (long long)version, e.msg);
}

/* Writes json as the first free metadata version >= first of the table in dir, while the
 * store's pointer of ns.name is still expected (NULL = the table must not exist yet). */
static nf_status
write_version(nf_catalog *c, const char *ns, const char *name, const char *expected,
              const char *dir, int64_t first, const char *json, char **uri, int64_t *version,
              nf_err *err)
{
    for (int64_t v = first; v < first + VERSION_PROBES; v++) {
        nf_status rc = nf_ice_fs_write_version_only(dir, v, json, uri, false, err);
        if (rc != NF_ECONFLICT) {
            if (rc == NF_OK)
                *version = v;
            return rc;
        }
        /* vN exists. If the pointer moved, another process committed: conflict. If it did
         * not, the file is an orphan (a writer died before its swap): skip it. */
        char *loc = NULL;
        nf_err e2 = {0};
        nf_status st = cat_store_table_get(c->store, ns, name, &loc, NULL, &e2);
        bool moved = expected == NULL ? st == NF_OK
                                      : (st != NF_OK || strcmp(loc, expected) != 0);
        free(loc);
        if (moved)
            return nf_err_set(err, NF_ECONFLICT,
                              "table %s.%s: metadata version %lld was written concurrently",
                              ns, name, (long long)v);
    }
    return nf_err_set(err, NF_EIO, "table %s.%s: metadata versions %lld..%lld all exist", ns,
                      name, (long long)first, (long long)(first + VERSION_PROBES - 1));
}

static void
create_table(request *q, answer *a)
{
    nf_catalog *c = q->c;
    json_t *body = q->body;
    const char *name = json_string_value(json_object_get(body, "name")), *why;
    if (name == NULL)
        return fail(a, 400, "BadRequestException", "body: 'name' must be a string");
    if (!name_ok(name, &why))
        return fail(a, 400, "BadRequestException", "table name '%s' %s", name, why);
    if (!json_is_object(json_object_get(body, "schema")))
        return fail(a, 400, "BadRequestException", "body: 'schema' must be an object");
    if (json_is_true(json_object_get(body, "stage-create")))
        return fail(a, 400, "BadRequestException", "stage-create is not supported");
    const char *keys[] = {"partition-spec", "write-order", "properties"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (v != NULL && !json_is_null(v) && !json_is_object(v))
            return fail(a, 400, "BadRequestException", "body: '%s' must be an object", keys[i]);
    }
    json_t *locj = json_object_get(body, "location");
    if (locj != NULL && !json_is_null(locj) &&
        (!json_is_string(locj) || strncmp(json_string_value(locj), "file:///", 8) != 0))
        return fail(a, 400, "BadRequestException",
                    "body: 'location' must be a file:/// URI (only local tables are served)");
    complete_create_request(body);

    char *location = NULL, *dir = NULL, *mdir = NULL, *schema = NULL, *spec = NULL;
    char *order = NULL, *props = NULL, *json = NULL, *uri = NULL;
    nf_ice_table *t = NULL;
    nf_err e = {0};
    pthread_mutex_t *lock = &c->locks[lock_index(q->ns, name)];
    pthread_mutex_lock(lock);
    json_t *nsprops = NULL;
    char *existing = NULL;
    if (cat_store_ns_get(c->store, q->ns, &nsprops, &e) != NF_OK) {
        fail_status(a, &e, "");
        goto out;
    }
    json_decref(nsprops);
    if (cat_store_table_get(c->store, q->ns, name, &existing, NULL, &e) == NF_OK) {
        free(existing);
        fail(a, 409, "AlreadyExistsException", "table %s.%s already exists", q->ns, name);
        goto out;
    }
    if (locj != NULL && json_is_string(locj)) {
        location = strdup(json_string_value(locj));
    } else {
        size_t n = strlen(c->warehouse) + strlen(q->ns) + strlen(name) + 3;
        location = malloc(n);
        if (location != NULL)
            snprintf(location, n, "%s/%s/%s", c->warehouse, q->ns, name);
    }
    schema = member_text(body, "schema", "{}");
    spec = member_text(body, "partition-spec", "{\"spec-id\":0,\"fields\":[]}");
    order = member_text(body, "write-order", "{\"order-id\":0,\"fields\":[]}");
    props = member_text(body, "properties", "{}");
    if (location == NULL || schema == NULL || spec == NULL || order == NULL || props == NULL) {
        fail(a, 500, "InternalServerError", "out of memory");
        goto out;
    }
    for (size_t n = strlen(location); n > 8 && location[n - 1] == '/'; n--)
        location[n - 1] = '\0';
    if (!inside_warehouse(c, location)) {
        fail(a, 400, "BadRequestException", "location %s is not inside the warehouse %s",
             location, c->warehouse);
        goto out;
    }
    nf_status st = nf_ice_uri_path(location, &dir, &e);
    if (st == NF_OK) {
        size_t n = strlen(dir) + sizeof("/metadata");
        if ((mdir = malloc(n)) == NULL)
            st = nf_err_set(&e, NF_ENOMEM, "out of memory");
        else
            snprintf(mdir, n, "%s/metadata", dir);
    }
    if (st == NF_OK)
        st = nf_ice_table_new(location, schema, spec, order, props, &t, &e);
    if (st == NF_OK && (json = nf_ice_table_json(t)) == NULL)
        st = nf_err_set(&e, NF_ENOMEM, "table %s.%s: metadata text", q->ns, name);
    if (st == NF_OK)
        st = nf_mkdirs(mdir, &e);
    int64_t first = 1, version = 0;
    if (st == NF_OK) {
        /* A table dropped earlier at this location left its files: continue its numbering
         * rather than collide with them. */
        nf_status lv = nf_ice_fs_latest_version(dir, &first, &e);
        if (lv == NF_OK)
            first++;
        else if (lv == NF_ENOTFOUND)
            first = 1;
        else
            st = lv;
    }
    if (st == NF_OK)
        st = write_version(c, q->ns, name, NULL, dir, first, json, &uri, &version, &e);
    if (st == NF_OK)
        st = cat_store_table_create(c->store, q->ns, name, uri, version, &e);
    if (st == NF_OK)
        raise_hint(dir, version);
    if (st != NF_OK) {
        fail_status(a, &e, "AlreadyExistsException");
        goto out;
    }
    json_t *meta = json_loads(json, 0, NULL);
    if (meta == NULL)
        fail(a, 500, "InternalServerError", "table %s.%s: metadata is not JSON", q->ns, name);
    else
        set_answer(a, 200, load_result(uri, meta));
out:
    pthread_mutex_unlock(lock);
    nf_ice_table_free(t);
    free(location);
    free(dir);
    free(mdir);
    free(schema);
    free(spec);
    free(order);
    free(props);
    free(json);
    free(uri);
}

static void
load_table(request *q, answer *a)
{
    nf_err e = {0};
    char *loc = NULL;
    if (cat_store_table_get(q->c->store, q->ns, q->table, &loc, NULL, &e) != NF_OK)
        return fail_status(a, &e, "");
    if (strcmp(q->method, "HEAD") == 0) {
        free(loc);
        return set_answer(a, 204, NULL);
    }
    json_t *meta = NULL;
    if (load_metadata(loc, NULL, &meta, &e) != NF_OK) {
        /* The pointer names a file we cannot use: the server's problem, not the client's. */
        fail(a, 500, "InternalServerError", "table %s.%s: %s", q->ns, q->table, e.msg);
    } else {
        set_answer(a, 200, load_result(loc, meta));
    }
    free(loc);
}

/* The commit itself (see the diagram at the top); the caller holds the table lock. */
static nf_status
commit_locked(request *q, const char *reqs, const char *upds, char **new_uri, char **new_json,
              nf_err *e)
{
    nf_catalog *c = q->c;
    char *loc = NULL, *text = NULL, *json = NULL, *dir = NULL, *uri = NULL;
    json_t *parsed = NULL;
    nf_ice_table *t = NULL;
    int64_t version = 0, written = 0;
    nf_status st = cat_store_table_get(c->store, q->ns, q->table, &loc, &version, e);
    if (st == NF_OK && (st = load_metadata(loc, &text, &parsed, e)) != NF_OK)
        st = nf_err_set(e, NF_EIO, "table %s.%s: current metadata: %s", q->ns, q->table,
                        e->msg);
    json_decref(parsed);
    if (st == NF_OK && (st = nf_ice_table_parse(text, strlen(text), &t, e)) != NF_OK)
        st = nf_err_set(e, NF_EIO, "table %s.%s: current metadata %s: %s", q->ns, q->table,
                        loc, e->msg);
    if (st == NF_OK)
        st = nf_ice_table_apply(t, reqs, upds, loc, e);
    if (st == NF_OK && (json = nf_ice_table_json(t)) == NULL)
        st = nf_err_set(e, NF_ENOMEM, "table %s.%s: metadata text", q->ns, q->table);
    if (st == NF_OK && !inside_warehouse(c, nf_ice_table_location(t)))
        st = nf_err_set(e, NF_EINVAL, "table %s.%s: location %s is not inside the warehouse "
                        "%s: the catalog does not write there", q->ns, q->table,
                        nf_ice_table_location(t), c->warehouse);
    if (st == NF_OK)
        st = nf_ice_uri_path(nf_ice_table_location(t), &dir, e);
    if (st == NF_OK) {
        size_t n = strlen(dir) + sizeof("/metadata");
        char *mdir = malloc(n);
        if (mdir == NULL) {
            st = nf_err_set(e, NF_ENOMEM, "out of memory");
        } else {
            snprintf(mdir, n, "%s/metadata", dir);
            st = nf_mkdirs(mdir, e); /* set-location may have moved the table */
            free(mdir);
        }
    }
    if (st == NF_OK)
        st = write_version(c, q->ns, q->table, loc, dir, version + 1, json, &uri, &written, e);
    if (st == NF_OK)
        st = cat_store_table_swap(c->store, q->ns, q->table, loc, uri, written, e);
    if (st == NF_OK)
        raise_hint(dir, written);
    if (st == NF_OK) {
        *new_uri = uri;
        *new_json = json;
        uri = json = NULL;
    }
    nf_ice_table_free(t);
    free(loc);
    free(text);
    free(json);
    free(dir);
    free(uri);
    return st;
}

static void
commit_table(request *q, answer *a)
{
    json_t *reqs = json_object_get(q->body, "requirements");
    json_t *upds = json_object_get(q->body, "updates");
    const char *ns, *name;
    json_t *id = json_object_get(q->body, "identifier");
    if (id != NULL && !json_is_null(id) &&
        (!identifier(id, &ns, &name) || strcmp(ns, q->ns) != 0 || strcmp(name, q->table) != 0))
        return fail(a, 400, "BadRequestException",
                    "body: 'identifier' does not name the table of the path (%s.%s)", q->ns,
                    q->table);
    if ((reqs != NULL && !json_is_null(reqs) && !json_is_array(reqs)) || !json_is_array(upds))
        return fail(a, 400, "BadRequestException",
                    "body: 'requirements' and 'updates' must be arrays");
    char *rtext = reqs != NULL && !json_is_null(reqs) ? json_dumps(reqs, JSON_COMPACT)
                                                      : strdup("[]");
    char *utext = json_dumps(upds, JSON_COMPACT);
    char *uri = NULL, *json = NULL;
    nf_err e = {0};
    nf_status st = NF_ENOMEM;
    if (rtext == NULL || utext == NULL) {
        nf_err_set(&e, NF_ENOMEM, "out of memory");
    } else {
        pthread_mutex_t *lock = &q->c->locks[lock_index(q->ns, q->table)];
        pthread_mutex_lock(lock);
        st = commit_locked(q, rtext, utext, &uri, &json, &e);
        pthread_mutex_unlock(lock);
    }
    count_commit(q->c, st);
    if (st != NF_OK) {
        fail_status(a, &e, "CommitFailedException");
    } else {
        json_t *meta = json_loads(json, 0, NULL);
        if (meta == NULL)
            fail(a, 500, "InternalServerError", "committed metadata is not JSON");
        else
            set_answer(a, 200,
                       json_pack("{s:s,s:o}", "metadata-location", uri, "metadata", meta));
    }
    free(rtext);
    free(utext);
    free(uri);
    free(json);
}

static void
table(request *q, answer *a)
{
    if (strcmp(q->method, "POST") == 0)
        return commit_table(q, a);
    if (strcmp(q->method, "DELETE") == 0) {
        /* purgeRequested is ignored: data and metadata files stay where they are. */
        nf_err e = {0};
        pthread_mutex_t *lock = &q->c->locks[lock_index(q->ns, q->table)];
        pthread_mutex_lock(lock);
        nf_status st = cat_store_table_drop(q->c->store, q->ns, q->table, &e);
        pthread_mutex_unlock(lock);
        if (st != NF_OK)
            return fail_status(a, &e, "");
        return set_answer(a, 204, NULL);
    }
    load_table(q, a);
}

static void
register_table(request *q, answer *a)
{
    const char *name = json_string_value(json_object_get(q->body, "name")), *why;
    const char *loc = json_string_value(json_object_get(q->body, "metadata-location"));
    if (name == NULL || loc == NULL)
        return fail(a, 400, "BadRequestException",
                    "body: 'name' and 'metadata-location' must be strings");
    if (!name_ok(name, &why))
        return fail(a, 400, "BadRequestException", "table name '%s' %s", name, why);
    if (json_is_true(json_object_get(q->body, "overwrite")))
        return fail(a, 400, "BadRequestException", "overwrite is not supported");
    nf_err e = {0};
    char *text = NULL;
    json_t *meta = NULL;
    nf_ice_table *t = NULL;
    nf_status st = load_metadata(loc, &text, &meta, &e);
    if (st == NF_OK && (st = nf_ice_table_parse(text, strlen(text), &t, &e)) == NF_OK) {
        pthread_mutex_t *lock = &q->c->locks[lock_index(q->ns, name)];
        pthread_mutex_lock(lock);
        st = cat_store_table_create(q->c->store, q->ns, name, loc, version_of(loc), &e);
        pthread_mutex_unlock(lock);
        if (st != NF_OK) {
            fail_status(a, &e, "AlreadyExistsException");
        } else {
            set_answer(a, 200, load_result(loc, meta));
            meta = NULL;
        }
    } else if (st != NF_OK) {
        /* A file the client named that is missing or unusable is a bad request. */
        fail(a, 400, "BadRequestException", "metadata-location: %s", e.msg);
    }
    json_decref(meta);
    nf_ice_table_free(t);
    free(text);
}

static void
rename_table(request *q, answer *a)
{
    const char *fns, *fname, *tns, *tname, *why;
    if (!identifier(json_object_get(q->body, "source"), &fns, &fname) ||
        !identifier(json_object_get(q->body, "destination"), &tns, &tname))
        return fail(a, 400, "BadRequestException",
                    "body: 'source' and 'destination' must be identifiers "
                    "{\"namespace\":[ns],\"name\":t} of one-level namespaces");
    if (!name_ok(tname, &why))
        return fail(a, 400, "BadRequestException", "table name '%s' %s", tname, why);
    nf_err e = {0};
    if (cat_store_table_rename(q->c->store, fns, fname, tns, tname, &e) != NF_OK)
        return fail_status(a, &e, "AlreadyExistsException");
    set_answer(a, 204, NULL);
}

/* ---- routing ------------------------------------------------------------------------------ */

typedef void handler_fn(request *q, answer *a);

typedef struct route_def {
    enum route id;
    const char *pattern; /* segments; "*" = a path parameter */
    const char *methods; /* space-separated */
    handler_fn *fn;
    bool body;           /* POST needs a JSON object body */
} route_def;

static const route_def routes[] = {
    {R_CONFIG, "v1/config", "GET", get_config, false},
    {R_NAMESPACES, "v1/namespaces", "GET POST", namespaces, true},
    {R_NAMESPACE, "v1/namespaces/*", "GET HEAD DELETE", namespace, false},
    {R_NS_PROPERTIES, "v1/namespaces/*/properties", "POST", ns_properties, true},
    {R_TABLES, "v1/namespaces/*/tables", "GET POST", tables, true},
    {R_TABLE, "v1/namespaces/*/tables/*", "GET HEAD POST DELETE", table, true},
    {R_REGISTER, "v1/namespaces/*/register", "POST", register_table, true},
    {R_RENAME, "v1/tables/rename", "POST", rename_table, true},
};

/* Splits url (already percent-decoded by microhttpd) into at most max segments in buf. */
static size_t
split(const char *url, char *buf, size_t cap, char **seg, size_t max)
{
    size_t n = strlen(url);
    if (n >= cap)
        return max + 1;
    memcpy(buf, url, n + 1);
    size_t count = 0;
    char *save = NULL;
    for (char *s = strtok_r(buf, "/", &save); s != NULL; s = strtok_r(NULL, "/", &save)) {
        if (count == max)
            return max + 1;
        seg[count++] = s;
    }
    return count;
}

static bool
method_in(const char *m, const char *list)
{
    size_t n = strlen(m);
    for (const char *p = list; (p = strstr(p, m)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void
dispatch(nf_catalog *c, struct MHD_Connection *conn, const char *url, const char *method,
         const char *body, size_t body_len, enum route *rid, answer *a)
{
    *rid = R_OTHER;
    if (strcmp(url, "/healthz") == 0) {
        *rid = R_HEALTHZ;
        return set_answer(a, 200, json_pack("{s:s}", "status", "ok"));
    }
    char buf[2048];
    char *seg[8];
    size_t n = split(url, buf, sizeof(buf), seg, 8);
    for (size_t r = 0; r < sizeof(routes) / sizeof(routes[0]); r++) {
        char pat[64];
        char *pseg[8];
        size_t pn = split(routes[r].pattern, pat, sizeof(pat), pseg, 8);
        if (pn != n)
            continue;
        const char *params[2] = {NULL, NULL};
        size_t np = 0;
        bool match = true;
        for (size_t i = 0; i < n && match; i++) {
            if (strcmp(pseg[i], "*") == 0)
                params[np++] = seg[i];
            else
                match = strcmp(pseg[i], seg[i]) == 0;
        }
        if (!match)
            continue;
        *rid = routes[r].id;
        if (!method_in(method, routes[r].methods))
            return fail(a, 405, "MethodNotAllowedException", "%s %s: allowed methods: %s",
                        method, url, routes[r].methods);
        const char *why;
        if (params[0] != NULL && !name_ok(params[0], &why))
            return fail(a, 400, "BadRequestException", "namespace in path %s", why);
        if (params[1] != NULL && !name_ok(params[1], &why))
            return fail(a, 400, "BadRequestException", "table name in path %s", why);
        request q = {.c = c, .method = method, .ns = params[0], .table = params[1],
                     .conn = conn};
        if (routes[r].body && strcmp(method, "POST") == 0) {
            json_error_t je;
            q.body = json_loadb(body != NULL ? body : "", body_len, 0, &je);
            if (q.body == NULL)
                return fail(a, 400, "BadRequestException",
                            "request body is not valid JSON: line %d column %d: %s", je.line,
                            je.column, je.text);
            if (!json_is_object(q.body)) {
                json_decref(q.body);
                return fail(a, 400, "BadRequestException",
                            "request body must be a JSON object");
            }
        }
        routes[r].fn(&q, a);
        json_decref(q.body);
        return;
    }
    fail(a, 404, "NotFoundException", "no route for %s %s", method, url);
}

/* ---- microhttpd glue ---------------------------------------------------------------------- */

static enum MHD_Result
send_answer(nf_catalog *c, struct MHD_Connection *conn, enum route rid, answer *a,
            const char *method)
{
    char *text = NULL;
    size_t len = 0;
    if (a->body != NULL && a->status != 204 && strcmp(method, "HEAD") != 0) {
        text = json_dumps(a->body, JSON_COMPACT);
        if (text == NULL) {
            static char oom[] =
                "{\"error\":{\"message\":\"out of memory\",\"type\":\"InternalServerError\","
                "\"code\":500}}";
            a->status = 500;
            text = strdup(oom);
        }
        len = text != NULL ? strlen(text) : 0;
    }
    json_decref(a->body);
    a->body = NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, a->status, r);
    MHD_destroy_response(r);
    count_request(c, rid, a->status);
    return ret;
}

/* mTLS: the handshake asked for a client certificate; here it must be present and valid
 * against the configured CA (libmicrohttpd requests it but does not insist). */
static bool
client_verified(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return false;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    unsigned status = 0;
    return gnutls_certificate_type_get(s) == GNUTLS_CRT_X509 &&
           gnutls_certificate_verify_peers2(s, &status) == GNUTLS_E_SUCCESS && status == 0;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    nf_catalog *c = cls;
    answer a = {0};
    /* First call: headers only. Refuse what cannot succeed before reading the body. */
    if (*con_cls == NULL && c->mtls && !client_verified(conn)) {
        fail(&a, 401, "NotAuthorizedException",
             "a client certificate signed by the configured CA is required");
        return send_answer(c, conn, R_OTHER, &a, method);
    }
    enum MHD_Result ret;
    char msg[256];
    nf_httpd_step step = nf_httpd_collect(conn, upload_data, upload_size, con_cls, c->max_body,
                                          &ret, msg, sizeof(msg));
    if (step == NF_HTTPD_CONTINUE)
        return ret;
    if (step == NF_HTTPD_TOO_BIG) {
        fail(&a, 413, "BadRequestException", "%s", msg);
        return send_answer(c, conn, R_OTHER, &a, method);
    }
    nf_httpd_body *u = *con_cls;
    enum route rid;
    dispatch(c, conn, url, method, u->buf, u->len, &rid, &a);
    return send_answer(c, conn, rid, &a, method);
}

/* ---- start / stop ------------------------------------------------------------------------- */

nf_status
nf_catalog_start(const nf_catalog_config *cfg, nf_catalog **out, nf_err *err)
{
    nf_httpd_addr addr;
    nf_status pst = nf_httpd_listen_parse(cfg->listen_addr, &addr, err);
    if (pst != NF_OK)
        return pst;
    nf_catalog *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nf_err_set(err, NF_ENOMEM, "catalog: out of memory");
    nf_status rc = NF_OK;
    size_t locks = 0;
    bool stats = false;
    c->max_body = (size_t)cfg->max_body_bytes;
    c->warehouse = strdup(cfg->warehouse);
    if (c->warehouse == NULL) {
        rc = nf_err_set(err, NF_ENOMEM, "catalog: out of memory");
        goto fail;
    }
    for (size_t n = strlen(c->warehouse); n > 8 && c->warehouse[n - 1] == '/'; n--)
        c->warehouse[n - 1] = '\0';
    for (; locks < TABLE_LOCKS; locks++)
        if (pthread_mutex_init(&c->locks[locks], NULL) != 0) {
            rc = nf_err_set(err, NF_ENOMEM, "catalog: mutex");
            goto fail;
        }
    if (pthread_mutex_init(&c->stats_mu, NULL) != 0) {
        rc = nf_err_set(err, NF_ENOMEM, "catalog: mutex");
        goto fail;
    }
    stats = true;
    const nf_security_config *sec = &cfg->security;
    c->mtls = sec->mode != NULL && strcmp(sec->mode, "mtls") == 0;
    if (c->mtls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            rc = nf_err_set(err, NF_EINVAL, "security.mode mtls: this libmicrohttpd was built "
                            "without TLS support");
            goto fail;
        }
        const char *ca = sec->tls.client_ca_file != NULL && sec->tls.client_ca_file[0] != '\0'
                             ? sec->tls.client_ca_file
                             : sec->tls.ca_file;
        if ((rc = nf_httpd_read_pem(sec, "cert_file", sec->tls.cert_file, PEM_MAX,
                                    &c->pem_cert, err)) != NF_OK ||
            (rc = nf_httpd_read_pem(sec, "key_file", sec->tls.key_file, PEM_MAX, &c->pem_key,
                                    err)) != NF_OK ||
            (rc = nf_httpd_read_pem(sec, ca == sec->tls.ca_file ? "ca_file" : "client_ca_file",
                                    ca, PEM_MAX, &c->pem_ca, err)) != NF_OK)
            goto fail;
    }
    /* The store is opened after the certificates so that a config error is reported
     * before a database file is created. */
    if ((rc = cat_store_open(cfg->database, &c->store, err)) != NF_OK) {
        nf_err_set(err, rc, "database: %s", err->msg);
        goto fail;
    }
    nf_httpd_options ho = {
        .listen_addr = cfg->listen_addr,
        .addr = &addr,
        .handler = handle,
        .cls = c,
        .max_connections = MAX_CONNECTIONS,
        .connection_timeout_s = CONNECTION_TIMEOUT_S,
        .pem_cert = c->pem_cert, /* all NULL unless mtls */
        .pem_key = c->pem_key,
        .pem_trust = c->pem_ca,
        /* TLS 1.3 only, as the other ServiceRadar NetFlow services. */
        .tls_priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3",
    };
    if ((rc = nf_httpd_start(&ho, &c->mhd, err)) != NF_OK)
        goto fail;
    *out = c;
    return NF_OK;
fail:
    cat_store_close(c->store);
    while (locks > 0)
        pthread_mutex_destroy(&c->locks[--locks]);
    if (stats)
        pthread_mutex_destroy(&c->stats_mu);
    free(c->pem_cert);
    free(c->pem_key);
    free(c->pem_ca);
    free(c->warehouse);
    free(c);
    return rc;
}

uint16_t
nf_catalog_port(const nf_catalog *c)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(c->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return di != NULL ? di->port : 0;
}

void
nf_catalog_stop(nf_catalog *c)
{
    if (c == NULL)
        return;
    MHD_stop_daemon(c->mhd);
    cat_store_close(c->store);
    for (size_t i = 0; i < TABLE_LOCKS; i++)
        pthread_mutex_destroy(&c->locks[i]);
    pthread_mutex_destroy(&c->stats_mu);
    free(c->pem_cert);
    free(c->pem_key);
    free(c->pem_ca);
    free(c->warehouse);
    free(c);
}
