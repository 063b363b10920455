/* catalog.c — nf_ice_catalog: one set of calls over two backends. Contract: iceberg.h,
 * "catalogs".
 *
 * Filesystem catalog ("file:///warehouse")
 *   Table ns.name lives in <warehouse>/<ns>/<name> (a dotted namespace "a.b" is nested
 *   directories a/b). Its metadata is metadata/vN.metadata.json + version-hint.text, written
 *   by fs.c without clobbering. A commit loads the latest vN, applies the requirements and
 *   updates (metadata.c) and links vN+1; when another writer linked vN+1 first, it reloads
 *   and applies again against the newer metadata, so it fails only when the requirements
 *   fail there (NF_ECONFLICT) — the same answer a REST server gives under its table lock.
 *   After COMMIT_ATTEMPTS lost races it gives up with NF_ECONFLICT.
 *   Drop renames metadata/ to metadata.dropped-<epoch ms>: atomic, keeps the manifests and
 *   data files (the contract drops metadata only), and a table of that name can be created
 *   again afterwards.
 *
 * REST catalog ("http[s]://host:port[/path]": requests go to <uri>/v1/…)
 *   open      GET  /v1/config[?warehouse=W]          "prefix" from overrides, else defaults
 *   ensure    POST /v1/{p}/namespaces                  409 (exists) is success
 *   load      GET  /v1/{p}/namespaces/{ns}/tables/{t}  LoadTableResult
 *   create    POST /v1/{p}/namespaces/{ns}/tables      CreateTableRequest → LoadTableResult
 *   commit    POST /v1/{p}/namespaces/{ns}/tables/{t}  CommitTableRequest → CommitTableResponse
 *   drop      DELETE /v1/{p}/namespaces/{ns}/tables/{t}
 *   Namespace levels are joined by %1F, every name is URL-encoded. One curl handle per
 *   catalog (keep-alive between calls); redirects are refused (they would resend the token).
 *
 *   Status mapping (status_error):
 *     200/204 ok · 404 NF_ENOTFOUND · 409 NF_ECONFLICT · 503/429 NF_EAGAIN
 *     other 5xx NF_EUPSTREAM (for a commit: outcome unknown) · other 4xx NF_EINVAL
 *     curl timeout NF_ETIMEDOUT · other transport errors NF_EAGAIN
 *   Messages carry the server's {"error":{"type","message"}}.
 *   Answers are bounded by NF_ICE_META_MAX (64 MiB), error answers by ERROR_KEEP.
 *
 * Thread safety: a catalog is used by one thread at a time (the curl handle is not shared).
 */
#include "meta_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "base/clock.h"
#include "base/files.h"

/* Default per-request timeout (nf_ice_catalog_config.timeout_ms = 0). */
#define DEFAULT_TIMEOUT_MS 30000
/* Connecting should be quick on the networks a catalog lives on; the rest of the timeout
 * is for the server's work (a commit writes and fsyncs a file). */
#define CONNECT_TIMEOUT_MS 5000
/* Bytes of a non-2xx answer kept for its message. */
#define ERROR_KEEP 65536u
/* Lost races on vN+1 before a filesystem commit gives up (each attempt reloads). */
#define COMMIT_ATTEMPTS 16
/* Longest namespace or table name (one directory name). */
#define NAME_MAX_LEN 255

struct nf_ice_catalog {
    bool rest;
    /* filesystem */
    char *warehouse_path;      /* "/abs/warehouse", no trailing '/'; owned */
    /* REST */
    char *warehouse;           /* default location root of new tables, or NULL; owned */
    CURL *curl;
    struct curl_slist *headers; /* owned */
    char *base;                /* "<uri>/v1/[<prefix>/]"; owned */
    char curl_err[CURL_ERROR_SIZE];
};

/* ---- names ----------------------------------------------------------------------------------- */

/* One level of a namespace, or a table name: 1..255 bytes, no '/', no control characters,
 * not "." or "..". (Also what keeps a filesystem catalog inside its warehouse.) */
static bool
valid_part(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static nf_status
check_names(const char *ns, const char *name, nf_err *err)
{
    if (ns == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog: namespace missing");
    const char *p = ns;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (!valid_part(p, n))
            return nf_err_set(err, NF_EINVAL, "catalog: namespace \"%.100s\" invalid", ns);
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    if (name != NULL && !valid_part(name, strlen(name)))
        return nf_err_set(err, NF_EINVAL, "catalog: table name \"%.100s\" invalid", name);
    return NF_OK;
}

/* ---- filesystem backend ---------------------------------------------------------------------- */

/* <warehouse>/<ns with '.' → '/'>[/<name>], malloc'd. */
static char *
fs_dir(const nf_ice_catalog *c, const char *ns, const char *name)
{
    size_t wl = strlen(c->warehouse_path), nl = strlen(ns);
    size_t n = wl + 1 + nl + 1 + (name != NULL ? strlen(name) : 0) + 1;
    char *p = malloc(n);
    if (p == NULL)
        return NULL;
    snprintf(p, n, "%s/%s%s%s", c->warehouse_path, ns, name != NULL ? "/" : "",
             name != NULL ? name : "");
    for (size_t i = wl + 1; i < wl + 1 + nl; i++) /* the namespace part only */
        if (p[i] == '.')
            p[i] = '/';
    return p;
}

/* Loads the latest metadata of the table in dir; *version and *uri (malloc'd) describe it. */
static nf_status
fs_load_dir(const char *dir, nf_ice_table **out, int64_t *version, char **uri, nf_err *err)
{
    int64_t v;
    nf_status st = nf_ice_fs_latest_version(dir, &v, err);
    if (st != NF_OK)
        return st;
    char name[64];
    snprintf(name, sizeof(name), "/metadata/v%" PRId64 ".metadata.json", v);
    size_t n = strlen(dir) + strlen(name) + 1;
    char *path = malloc(n);
    if (path == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    snprintf(path, n, "%s%s", dir, name);
    char *text = NULL;
    size_t len = 0;
    if ((st = nf_ice_read_file(path, NF_ICE_META_MAX, &text, &len, err)) != NF_OK) {
        free(path);
        return st;
    }
    nf_ice_table *t = NULL;
    st = nf_ice_table_parse(text, len, &t, err);
    free(text);
    if (st != NF_OK) {
        /* Name the file: the parser's message names only the member. */
        if (err != NULL) {
            char msg[NF_ERR_MSG_MAX];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            nf_err_set(err, st, "%.120s: %s", path, msg);
        }
        free(path);
        return st;
    }
    char *u = NULL;
    if (uri != NULL && (u = nf_ice_path_uri(path)) == NULL) {
        nf_ice_table_free(t);
        free(path);
        return nf_err_set(err, NF_ENOMEM, "no memory");
    }
    free(path);
    *out = t;
    *version = v;
    if (uri != NULL)
        *uri = u;
    return NF_OK;
}

static nf_status
fs_create(nf_ice_catalog *c, const char *ns, const char *name, const char *location,
          const char *schema_json, const char *spec_json, const char *sort_order_json,
          const char *properties_json, nf_ice_table **out, nf_err *err)
{
    char *dir = fs_dir(c, ns, name);
    char *loc = NULL, *json = NULL;
    nf_ice_table *t = NULL;
    nf_status st;
    if (dir == NULL || (location == NULL && (loc = nf_ice_path_uri(dir)) == NULL)) {
        st = nf_err_set(err, NF_ENOMEM, "no memory");
        goto done;
    }
    int64_t v;
    nf_err probe = {0};
    if (nf_ice_fs_latest_version(dir, &v, &probe) == NF_OK) {
        st = nf_err_set(err, NF_ECONFLICT, "table %.100s.%.100s already exists (v%" PRId64 ")",
                        ns, name, v);
        goto done;
    }
    if ((st = nf_ice_table_new(location != NULL ? location : loc, schema_json, spec_json,
                               sort_order_json, properties_json, &t, err)) != NF_OK)
        goto done;
    if ((json = nf_ice_table_json(t)) == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "no memory");
        goto done;
    }
    if ((st = nf_mkdirs(dir, err)) != NF_OK)
        goto done;
    if ((st = nf_ice_fs_write_version(dir, 1, json, NULL, err)) != NF_OK)
        goto done;
    if (out != NULL) {
        *out = t;
        t = NULL;
    }
done:
    nf_ice_table_free(t);
    free(json);
    free(loc);
    free(dir);
    return st;
}

static nf_status
fs_commit(nf_ice_catalog *c, const char *ns, const char *name, const char *requirements_json,
          const char *updates_json, nf_ice_table **out, nf_err *err)
{
    char *dir = fs_dir(c, ns, name);
    if (dir == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    nf_status st = NF_ECONFLICT;
    for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        nf_ice_table *t = NULL;
        char *uri = NULL, *json = NULL;
        int64_t v;
        if ((st = fs_load_dir(dir, &t, &v, &uri, err)) != NF_OK)
            break;
        st = nf_ice_table_apply(t, requirements_json, updates_json, uri, err);
        if (st == NF_OK) {
            json = nf_ice_table_json(t);
            st = json != NULL ? nf_ice_fs_write_version(dir, v + 1, json, NULL, err)
                              : nf_err_set(err, NF_ENOMEM, "no memory");
        }
        free(json);
        free(uri);
        if (st == NF_OK && out != NULL)
            *out = t;
        else
            nf_ice_table_free(t);
        /* NF_ECONFLICT from the write only: another writer linked v+1 first; reload. A
         * failed requirement (from apply) is final. */
        if (st != NF_ECONFLICT || json == NULL)
            break;
    }
    free(dir);
    return st;
}

static nf_status
fs_drop(nf_ice_catalog *c, const char *ns, const char *name, nf_err *err)
{
    char *dir = fs_dir(c, ns, name);
    if (dir == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    int64_t v;
    nf_status st = nf_ice_fs_latest_version(dir, &v, err);
    if (st == NF_OK) {
        size_t n = strlen(dir) + 64;
        char *from = malloc(n), *to = malloc(n);
        if (from == NULL || to == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "no memory");
        } else {
            snprintf(from, n, "%s/metadata", dir);
            snprintf(to, n, "%s/metadata.dropped-%" PRIu64, dir, nf_wall_ms());
            if (rename(from, to) != 0)
                st = nf_err_sys(err, errno == ENOENT ? NF_ENOTFOUND : NF_EIO, errno,
                                "rename %.200s", from);
        }
        free(from);
        free(to);
    }
    free(dir);
    return st;
}

/* ---- REST backend: requests ------------------------------------------------------------------ */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in older libcurl: once per process, never undone
 * (other libraries of the process may use curl too). The only process-wide state here. */
static void
curl_init_once(void)
{
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct answer {
    CURL *curl;
    char *buf;      /* malloc'd, NUL-terminated */
    size_t len, cap;
    bool too_big, no_memory;
} answer;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    answer *a = userp;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    size_t max = status >= 200 && status < 300 ? NF_ICE_META_MAX : ERROR_KEEP;
    size_t keep = n;
    if (keep > max - a->len) {
        if (status >= 200 && status < 300) {
            a->too_big = true;
            return 0; /* aborts the transfer */
        }
        keep = max - a->len; /* an error text: keep its start, drop the rest */
    }
    if (a->len + keep + 1 > a->cap) {
        size_t cap = a->cap != 0 ? a->cap : 4096;
        while (cap < a->len + keep + 1)
            cap *= 2;
        char *p = realloc(a->buf, cap);
        if (p == NULL) {
            a->no_memory = true;
            return 0;
        }
        a->buf = p;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, data, keep);
    a->len += keep;
    a->buf[a->len] = '\0';
    return n;
}

/* "type: message" of an Iceberg error answer into out; the raw start of the text when it
 * is not one. */
static void
error_text(const answer *a, char *out, size_t n)
{
    out[0] = '\0';
    if (a->buf == NULL)
        return;
    json_t *root = json_loadb(a->buf, a->len, 0, NULL);
    json_t *e = json_object_get(root, "error");
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (msg != NULL)
        snprintf(out, n, "%s%s%s", type != NULL ? type : "", type != NULL ? ": " : "", msg);
    else
        snprintf(out, n, "%.*s", (int)(a->len < 160 ? a->len : 160), a->buf);
    json_decref(root);
    for (char *p = out; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

/* One request: method "GET", "POST" (body JSON text) or "DELETE" to base + path. On NF_OK
 * the transfer completed; *status is the HTTP status and *doc the parsed JSON answer (NULL
 * when empty or not JSON; caller decrefs). Transport failures are mapped here. */
static nf_status
request(nf_ice_catalog *c, const char *method, const char *url, const char *body, long *status,
        json_t **doc, char *errtext, size_t errlen, nf_err *err)
{
    answer a = {.curl = c->curl};
    c->curl_err[0] = '\0';
    CURLcode rc;
    bool post = strcmp(method, "POST") == 0;
    if ((rc = curl_easy_setopt(c->curl, CURLOPT_URL, url)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &a)) != CURLE_OK ||
        (rc = post ? curl_easy_setopt(c->curl, CURLOPT_POST, 1L)
                   : curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L)) != CURLE_OK ||
        (post && (rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                        (curl_off_t)strlen(body))) != CURLE_OK) ||
        (post && (rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body)) != CURLE_OK) ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
                               strcmp(method, "DELETE") == 0 ? "DELETE" : NULL)) != CURLE_OK)
        return nf_err_set(err, NF_EINTERNAL, "catalog %s %.200s: curl setup: %s", method, url,
                          curl_easy_strerror(rc));
    rc = curl_easy_perform(c->curl);
    nf_status st = NF_OK;
    if (a.no_memory || rc == CURLE_OUT_OF_MEMORY) {
        st = nf_err_set(err, NF_ENOMEM, "catalog %s %.200s: out of memory for the answer", method,
                        url);
    } else if (a.too_big) {
        st = nf_err_set(err, NF_EUPSTREAM, "catalog %s %.200s: answer larger than %zu bytes",
                        method, url, NF_ICE_META_MAX);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        st = nf_err_set(err, NF_ETIMEDOUT, "catalog %s %.200s: %s", method, url,
                        c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
    } else if (rc != CURLE_OK) {
        st = nf_err_set(err, NF_EAGAIN, "catalog %s %.200s: %s", method, url,
                        c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
        *doc = NULL;
        if (*status >= 200 && *status < 300) {
            if (a.len > 0)
                *doc = json_loadb(a.buf, a.len, JSON_REJECT_DUPLICATES, NULL);
            if (a.len > 0 && *doc == NULL)
                st = nf_err_set(err, NF_EUPSTREAM, "catalog %s %.200s: HTTP %ld answer is not "
                                "JSON", method, url, *status);
        } else {
            error_text(&a, errtext, errlen);
        }
    }
    free(a.buf);
    return st;
}

/* The status for a non-2xx answer (see the top of the file). */
static nf_status
status_error(long status, const char *what, const char *text, nf_err *err)
{
    nf_status code;
    if (status == 404)
        code = NF_ENOTFOUND;
    else if (status == 409)
        code = NF_ECONFLICT;
    else if (status == 503 || status == 429)
        code = NF_EAGAIN;
    else if (status >= 500)
        code = NF_EUPSTREAM;
    else
        code = NF_EINVAL;
    return nf_err_set(err, code, "catalog %s: HTTP %ld: %s", what, status, text);
}

/* base + "namespaces/<ns levels joined by %1F>[/tables[/<name>]]", malloc'd. */
static char *
table_url(nf_ice_catalog *c, const char *ns, bool tables, const char *name)
{
    char *out = NULL;
    size_t cap = strlen(c->base) + 3 * (strlen(ns) + (name ? strlen(name) : 0)) + 64;
    char *u = malloc(cap);
    if (u == NULL)
        return NULL;
    size_t n = (size_t)snprintf(u, cap, "%snamespaces/", c->base);
    const char *p = ns;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        char *e = curl_easy_escape(c->curl, p, (int)len);
        if (e == NULL)
            goto done;
        n += (size_t)snprintf(u + n, cap - n, "%s%s", e, dot != NULL ? "%1F" : "");
        curl_free(e);
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    if (tables)
        n += (size_t)snprintf(u + n, cap - n, "/tables");
    if (name != NULL) {
        char *e = curl_easy_escape(c->curl, name, 0);
        if (e == NULL)
            goto done;
        snprintf(u + n, cap - n, "/%s", e);
        curl_free(e);
    }
    out = u;
    u = NULL;
done:
    free(u);
    return out;
}

/* ["a","b"] of "a.b". */
static json_t *
ns_array(const char *ns)
{
    json_t *arr = json_array();
    const char *p = ns;
    while (arr != NULL) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (json_array_append_new(arr, json_stringn(p, len)) != 0) {
            json_decref(arr);
            return NULL;
        }
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    return arr;
}

/* A LoadTableResult / CommitTableResponse into a table and its metadata URI. */
static nf_status
load_result(json_t *doc, const char *what, nf_ice_table **out, char **metadata_uri, nf_err *err)
{
    json_t *meta = json_object_get(doc, "metadata");
    if (!json_is_object(meta))
        return nf_err_set(err, NF_EUPSTREAM, "catalog %s: answer has no \"metadata\" object",
                          what);
    const char *loc = json_string_value(json_object_get(doc, "metadata-location"));
    char *uri = NULL;
    if (metadata_uri != NULL && loc != NULL && (uri = strdup(loc)) == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    nf_ice_table *t = NULL;
    nf_status st = nf_ice_table_adopt(json_incref(meta), &t, err);
    if (st != NF_OK) {
        free(uri);
        return st;
    }
    if (out != NULL)
        *out = t;
    else
        nf_ice_table_free(t);
    if (metadata_uri != NULL)
        *metadata_uri = uri;
    return NF_OK;
}

/* Sends a request whose 2xx answer is a LoadTableResult (load, create, commit). */
static nf_status
table_call(nf_ice_catalog *c, const char *method, const char *url, const char *body,
           const char *what, nf_ice_table **out, char **metadata_uri, nf_err *err)
{
    long status = 0;
    json_t *doc = NULL;
    char text[200] = "";
    nf_status st = request(c, method, url, body, &status, &doc, text, sizeof(text), err);
    if (st != NF_OK)
        return st;
    if (status < 200 || status >= 300)
        return status_error(status, what, text, err);
    st = load_result(doc, what, out, metadata_uri, err);
    json_decref(doc);
    return st;
}

/* Parses text (a JSON object or array, by want) for a request body. */
static nf_status
parse_part(const char *text, const char *what, bool array, json_t **out, nf_err *err)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog: %s: JSON error at column %d: %s", what,
                          je.column, je.text);
    if (array ? !json_is_array(v) : !json_is_object(v)) {
        json_decref(v);
        return nf_err_set(err, NF_EINVAL, "catalog: %s is not a JSON %s", what,
                          array ? "array" : "object");
    }
    *out = v;
    return NF_OK;
}

/* Dumps doc (consumed) and sends it; see table_call. */
static nf_status
table_call_json(nf_ice_catalog *c, const char *url, json_t *doc, const char *what,
                nf_ice_table **out, nf_err *err)
{
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (body == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    nf_status st = table_call(c, "POST", url, body, what, out, NULL, err);
    free(body);
    return st;
}

static nf_status
rest_create(nf_ice_catalog *c, const char *ns, const char *name, const char *location,
            const char *schema_json, const char *spec_json, const char *sort_order_json,
            const char *properties_json, nf_ice_table **out, nf_err *err)
{
    json_t *schema = NULL, *spec = NULL, *order = NULL, *props = NULL;
    nf_status st;
    if (schema_json == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog create: schema missing");
    if ((st = parse_part(schema_json, "schema", false, &schema, err)) != NF_OK ||
        (spec_json && (st = parse_part(spec_json, "partition spec", false, &spec, err)) != NF_OK) ||
        (sort_order_json &&
         (st = parse_part(sort_order_json, "sort order", false, &order, err)) != NF_OK) ||
        (properties_json &&
         (st = parse_part(properties_json, "properties", false, &props, err)) != NF_OK)) {
        json_decref(schema);
        json_decref(spec);
        json_decref(order);
        json_decref(props);
        return st;
    }
    json_t *doc = json_pack("{s:s,s:o,s:b}", "name", name, "schema", schema, "stage-create", 0);
    char *loc = NULL;
    if (doc != NULL && location == NULL && c->warehouse != NULL) {
        size_t n = strlen(c->warehouse) + strlen(ns) + strlen(name) + 3;
        if ((loc = malloc(n)) != NULL)
            snprintf(loc, n, "%s/%s/%s", c->warehouse, ns, name);
        location = loc;
    }
    bool ok = doc != NULL && (location == NULL || json_object_set_new(doc, "location",
                                                                      json_string(location)) == 0);
    if (ok && spec != NULL)
        ok = json_object_set_new(doc, "partition-spec", spec) == 0;
    else
        json_decref(spec);
    if (ok && order != NULL)
        ok = json_object_set_new(doc, "write-order", order) == 0;
    else
        json_decref(order);
    if (ok && props != NULL)
        ok = json_object_set_new(doc, "properties", props) == 0;
    else
        json_decref(props);
    free(loc);
    char *url = table_url(c, ns, true, NULL);
    if (!ok || url == NULL) {
        json_decref(doc);
        free(url);
        return nf_err_set(err, NF_ENOMEM, "no memory");
    }
    st = table_call_json(c, url, doc, "create table", out, err);
    free(url);
    return st;
}

static nf_status
rest_commit(nf_ice_catalog *c, const char *ns, const char *name, const char *requirements_json,
            const char *updates_json, nf_ice_table **out, nf_err *err)
{
    json_t *reqs = NULL, *ups = NULL;
    nf_status st;
    if ((st = parse_part(requirements_json != NULL ? requirements_json : "[]", "requirements",
                         true, &reqs, err)) != NF_OK)
        return st;
    if ((st = parse_part(updates_json != NULL ? updates_json : "[]", "updates", true, &ups,
                         err)) != NF_OK) {
        json_decref(reqs);
        return st;
    }
    json_t *doc = json_pack("{s:{s:o,s:s},s:o,s:o}", "identifier", "namespace", ns_array(ns),
                            "name", name, "requirements", reqs, "updates", ups);
    char *url = table_url(c, ns, true, name);
    if (doc == NULL || url == NULL) {
        json_decref(doc);
        free(url);
        return nf_err_set(err, NF_ENOMEM, "no memory");
    }
    st = table_call_json(c, url, doc, "commit", out, err);
    free(url);
    return st;
}

/* Sends a request with no interesting answer; ok_conflict: 409 counts as success. */
static nf_status
simple_call(nf_ice_catalog *c, const char *method, const char *url, const char *body,
            const char *what, bool ok_conflict, nf_err *err)
{
    long status = 0;
    json_t *doc = NULL;
    char text[200] = "";
    nf_status st = request(c, method, url, body, &status, &doc, text, sizeof(text), err);
    json_decref(doc);
    if (st != NF_OK)
        return st;
    if ((status >= 200 && status < 300) || (ok_conflict && status == 409))
        return NF_OK;
    return status_error(status, what, text, err);
}

/* ---- REST backend: open ---------------------------------------------------------------------- */

static bool
add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l == NULL)
        return false;
    *list = l;
    return true;
}

static bool
header_safe(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* A prefix goes into every path as is: letters, digits and -._~/% only. */
static bool
prefix_safe(const char *s)
{
    if (s[0] == '\0' || s[0] == '/')
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-._~/%", *s) != NULL))
            return false;
    return true;
}

static nf_status
rest_open(nf_ice_catalog *c, const nf_ice_catalog_config *cfg, nf_err *err)
{
    const char *uri = cfg->uri;
    if (strpbrk(uri, "?# \t\r\n") != NULL)
        return nf_err_set(err, NF_EINVAL, "catalog uri \"%.200s\": must be scheme://host:port"
                          "[/path] only", uri);
    if (cfg->token != NULL && !header_safe(cfg->token))
        return nf_err_set(err, NF_EINVAL, "catalog token: contains control characters");
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK)
        return nf_err_set(err, NF_ENOMEM, "catalog: curl_global_init: %s",
                          curl_easy_strerror(g_curl_init_rc));
    if ((c->curl = curl_easy_init()) == NULL)
        return nf_err_set(err, NF_ENOMEM, "catalog: curl_easy_init failed");
    if (cfg->warehouse != NULL && (c->warehouse = strdup(cfg->warehouse)) == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    if (c->warehouse != NULL) {
        size_t n = strlen(c->warehouse);
        while (n > 1 && c->warehouse[n - 1] == '/')
            c->warehouse[--n] = '\0';
    }

    if (!add_header(&c->headers, "Content-Type: application/json") ||
        !add_header(&c->headers, "Accept: application/json") ||
        !add_header(&c->headers, "Expect:"))
        return nf_err_set(err, NF_ENOMEM, "no memory");
    if (cfg->token != NULL && cfg->token[0] != '\0') {
        size_t n = strlen("Authorization: Bearer ") + strlen(cfg->token) + 1;
        char *line = malloc(n);
        if (line == NULL)
            return nf_err_set(err, NF_ENOMEM, "no memory");
        snprintf(line, n, "Authorization: Bearer %s", cfg->token);
        bool ok = add_header(&c->headers, line);
        memset(line, 0, n); /* a secret: no copy left in freed memory */
        free(line);
        if (!ok)
            return nf_err_set(err, NF_ENOMEM, "no memory");
    }
    long timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    long connect = timeout < CONNECT_TIMEOUT_MS ? timeout : CONNECT_TIMEOUT_MS;
    CURLcode rc;
    if ((rc = curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers)) != CURLE_OK ||
        (cfg->ca_file && (rc = curl_easy_setopt(c->curl, CURLOPT_CAINFO, cfg->ca_file)) !=
                             CURLE_OK) ||
        (cfg->cert_file && (rc = curl_easy_setopt(c->curl, CURLOPT_SSLCERT, cfg->cert_file)) !=
                               CURLE_OK) ||
        (cfg->key_file && (rc = curl_easy_setopt(c->curl, CURLOPT_SSLKEY, cfg->key_file)) !=
                              CURLE_OK))
        return nf_err_set(err, NF_EINTERNAL, "catalog: curl setup: %s", curl_easy_strerror(rc));

    size_t ulen = strlen(uri);
    while (ulen > 0 && uri[ulen - 1] == '/')
        ulen--;
    size_t n = ulen + strlen("/v1/") + 1;
    if ((c->base = malloc(n)) == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    snprintf(c->base, n, "%.*s/v1/", (int)ulen, uri);

    /* GET /v1/config: the server may move us under a prefix. */
    char *wh = c->warehouse != NULL ? curl_easy_escape(c->curl, c->warehouse, 0) : NULL;
    size_t un = strlen(c->base) + strlen("config?warehouse=") + (wh ? strlen(wh) : 0) + 1;
    char *url = malloc(un);
    if (url == NULL || (c->warehouse != NULL && wh == NULL)) {
        curl_free(wh);
        free(url);
        return nf_err_set(err, NF_ENOMEM, "no memory");
    }
    snprintf(url, un, "%sconfig%s%s", c->base, wh ? "?warehouse=" : "", wh ? wh : "");
    curl_free(wh);
    long status = 0;
    json_t *doc = NULL;
    char text[200] = "";
    nf_status st = request(c, "GET", url, NULL, &status, &doc, text, sizeof(text), err);
    free(url);
    if (st != NF_OK)
        return st;
    if (status < 200 || status >= 300) {
        json_decref(doc);
        return status_error(status, "GET /v1/config", text, err);
    }
    const char *prefix =
        json_string_value(json_object_get(json_object_get(doc, "overrides"), "prefix"));
    if (prefix == NULL)
        prefix = json_string_value(json_object_get(json_object_get(doc, "defaults"), "prefix"));
    if (prefix != NULL && prefix[0] != '\0') {
        if (!prefix_safe(prefix)) {
            json_decref(doc);
            return nf_err_set(err, NF_EUPSTREAM, "catalog: /v1/config prefix \"%.100s\" has "
                              "characters a path cannot take", prefix);
        }
        size_t pn = strlen(c->base) + strlen(prefix) + 2;
        char *b = malloc(pn);
        if (b == NULL) {
            json_decref(doc);
            return nf_err_set(err, NF_ENOMEM, "no memory");
        }
        size_t pl = strlen(prefix);
        while (pl > 0 && prefix[pl - 1] == '/')
            pl--;
        snprintf(b, pn, "%s%.*s/", c->base, (int)pl, prefix);
        free(c->base);
        c->base = b;
    }
    json_decref(doc);
    return NF_OK;
}

/* ---- the public calls ------------------------------------------------------------------------ */

nf_status
nf_ice_catalog_open(const nf_ice_catalog_config *cfg, nf_ice_catalog **out, nf_err *err)
{
    if (cfg == NULL || cfg->uri == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog: uri missing");
    nf_ice_catalog *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    nf_status st;
    if (strncmp(cfg->uri, "file:", 5) == 0) {
        if ((st = nf_ice_uri_path(cfg->uri, &c->warehouse_path, err)) != NF_OK)
            goto fail;
        size_t n = strlen(c->warehouse_path);
        while (n > 1 && c->warehouse_path[n - 1] == '/')
            c->warehouse_path[--n] = '\0';
    } else if (strncmp(cfg->uri, "http://", 7) == 0 || strncmp(cfg->uri, "https://", 8) == 0) {
        c->rest = true;
        if ((st = rest_open(c, cfg, err)) != NF_OK)
            goto fail;
    } else {
        st = nf_err_set(err, NF_EINVAL, "catalog uri \"%.200s\": not file://, http:// or "
                        "https://", cfg->uri);
        goto fail;
    }
    *out = c;
    return NF_OK;
fail:
    nf_ice_catalog_close(c);
    return st;
}

void
nf_ice_catalog_close(nf_ice_catalog *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    for (struct curl_slist *p = c->headers; p != NULL; p = p->next)
        memset(p->data, 0, strlen(p->data)); /* one line holds the token */
    curl_slist_free_all(c->headers);
    free(c->base);
    free(c->warehouse);
    free(c->warehouse_path);
    free(c);
}

nf_status
nf_ice_catalog_ensure_namespace(nf_ice_catalog *c, const char *ns, nf_err *err)
{
    if (c == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog: NULL");
    nf_status st = check_names(ns, NULL, err);
    if (st != NF_OK)
        return st;
    if (!c->rest) {
        char *dir = fs_dir(c, ns, NULL);
        if (dir == NULL)
            return nf_err_set(err, NF_ENOMEM, "no memory");
        st = nf_mkdirs(dir, err);
        free(dir);
        return st;
    }
    json_t *doc = json_pack("{s:o,s:{}}", "namespace", ns_array(ns), "properties");
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    size_t n = strlen(c->base) + sizeof("namespaces");
    char *url = malloc(n);
    if (body == NULL || url == NULL) {
        free(body);
        free(url);
        return nf_err_set(err, NF_ENOMEM, "no memory");
    }
    snprintf(url, n, "%snamespaces", c->base);
    st = simple_call(c, "POST", url, body, "create namespace", true, err);
    free(body);
    free(url);
    return st;
}

nf_status
nf_ice_catalog_load(nf_ice_catalog *c, const char *ns, const char *name, nf_ice_table **out,
                    char **metadata_uri, nf_err *err)
{
    if (c == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog load: NULL argument");
    nf_status st = check_names(ns, name, err);
    if (st != NF_OK)
        return st;
    if (!c->rest) {
        char *dir = fs_dir(c, ns, name);
        if (dir == NULL)
            return nf_err_set(err, NF_ENOMEM, "no memory");
        int64_t v;
        st = fs_load_dir(dir, out, &v, metadata_uri, err);
        free(dir);
        if (st == NF_ENOTFOUND)
            nf_err_set(err, st, "table %.100s.%.100s not found", ns, name);
        return st;
    }
    char *url = table_url(c, ns, true, name);
    if (url == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    st = table_call(c, "GET", url, NULL, "load table", out, metadata_uri, err);
    free(url);
    return st;
}

nf_status
nf_ice_catalog_create(nf_ice_catalog *c, const char *ns, const char *name, const char *location,
                      const char *schema_json, const char *spec_json, const char *sort_order_json,
                      const char *properties_json, nf_ice_table **out, nf_err *err)
{
    if (c == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog create: NULL catalog");
    nf_status st = check_names(ns, name, err);
    if (st != NF_OK)
        return st;
    if (!c->rest)
        return fs_create(c, ns, name, location, schema_json, spec_json, sort_order_json,
                         properties_json, out, err);
    return rest_create(c, ns, name, location, schema_json, spec_json, sort_order_json,
                       properties_json, out, err);
}

nf_status
nf_ice_catalog_commit(nf_ice_catalog *c, const char *ns, const char *name,
                      const char *requirements_json, const char *updates_json, nf_ice_table **out,
                      nf_err *err)
{
    if (c == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog commit: NULL catalog");
    nf_status st = check_names(ns, name, err);
    if (st != NF_OK)
        return st;
    if (!c->rest)
        return fs_commit(c, ns, name, requirements_json, updates_json, out, err);
    return rest_commit(c, ns, name, requirements_json, updates_json, out, err);
}

nf_status
nf_ice_catalog_drop(nf_ice_catalog *c, const char *ns, const char *name, nf_err *err)
{
    if (c == NULL)
        return nf_err_set(err, NF_EINVAL, "catalog drop: NULL catalog");
    nf_status st = check_names(ns, name, err);
    if (st != NF_OK)
        return st;
    if (!c->rest)
        return fs_drop(c, ns, name, err);
    char *url = table_url(c, ns, true, name);
    if (url == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    size_t n = strlen(url) + sizeof("?purgeRequested=false");
    char *full = malloc(n);
    if (full == NULL) {
        free(url);
        return nf_err_set(err, NF_ENOMEM, "no memory");
    }
    snprintf(full, n, "%s?purgeRequested=false", url);
    st = simple_call(c, "DELETE", full, NULL, "drop table", false, err);
    free(full);
    free(url);
    return st;
}
