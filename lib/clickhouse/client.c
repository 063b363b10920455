/* client.c — ClickHouse's HTTP interface over libcurl. See clickhouse.h for the contract.
 *
 * One request per call, on one reused curl easy handle, so consecutive calls share a
 * keep-alive connection (curl reconnects by itself when the server closed an idle one):
 *
 *   exec, query   POST <url>/?[database=D&]wait_end_of_query=1      body: the SQL
 *   insert        POST <url>/?[database=D&]query=INSERT%20INTO%20…   body: RowBinary rows
 *
 * The user and password travel as X-ClickHouse-User / X-ClickHouse-Key headers (never in a
 * URL, which ends up in logs). wait_end_of_query=1 makes the server finish the query before
 * it sends the status line: without it an exception after the first buffer of output is
 * appended to a 200 answer and looks like data.
 *
 * Error mapping (one place: outcome_of):
 *   curl failed (refused, reset, timeout, DNS) -> NF_EAGAIN with curl's text
 *   our size bound hit                         -> NF_EUPSTREAM
 *   HTTP 200                                   -> NF_OK
 *   exception (X-ClickHouse-Exception-Code header, or a body starting "Code: N") ->
 *       nf_ch_retryable(N) ? NF_EAGAIN : NF_EUPSTREAM, msg "ClickHouse code N: text"
 *   other HTTP status: 5xx -> NF_EAGAIN (a proxy or a server going down), else NF_EUPSTREAM
 * Exception bodies look like "Code: 60, e.displayText() = DB::Exception: Table x doesn't
 * exist., e.what() = DB::Exception" (18.16) or "Code: 60. DB::Exception: Table x does not
 * exist. (UNKNOWN_TABLE) (version 24.8.4.13)" (current); 18.16 sends no exception header.
 */
#include "clickhouse.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* Defaults of nf_ch_config's 0 values. */
#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_TIMEOUT_MS 60000u
/* nf_ch_query's bound when the caller passes 0: far above any answer core asks for, far
 * below what would hurt the process. */
#define DEFAULT_MAX_ANSWER ((size_t)64 << 20)
/* Bytes of an error answer kept for the message: an exception is one line (plus, on some
 * versions, a stack trace we do not need). The rest is read and dropped so the connection
 * stays reusable. */
#define ERROR_BODY_KEEP 4096u
/* First allocation of an answer buffer; it doubles from there. */
#define INITIAL_ANSWER_CAP 4096u

struct nf_ch {
    CURL *curl;
    struct curl_slist *sql_headers; /* auth + text/plain; owned */
    struct curl_slist *bin_headers; /* auth + octet-stream; owned */
    char *base;                     /* "http://host:port/" (one trailing slash); owned */
    char *db_escaped;               /* URL-escaped database, NULL for the server default */
    int last_code;                  /* exception code of the last answer, 0 if none */
    bool last_unanswered;           /* the last request got no HTTP answer (timeout, lost
                                     * connection): the server may still run it */
    char curl_err[CURL_ERROR_SIZE]; /* curl's message of the last failure */
};

/* ---- curl global state ------------------------------------------------------------------- */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in older libcurl, and curl_easy_init would call it
 * implicitly: do it exactly once, before the first handle. Never undone: other libraries of
 * the process may use curl too. */
static void
curl_init_once(void)
{
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- answers ----------------------------------------------------------------------------- */

typedef struct answer {
    CURL *curl; /* to read the status code from inside the write callback */
    bool store; /* keep a 200 body (query) or drop it (exec, insert) */
    size_t max; /* bound of a stored 200 body */
    char *buf;  /* malloc'd, NUL-terminated when len > 0 */
    size_t len; /* bytes kept in buf */
    size_t cap; /* bytes allocated for buf */
    bool too_big;    /* a 200 body went past max: transfer aborted */
    bool no_memory;  /* growing buf failed: transfer aborted */
    int header_code; /* X-ClickHouse-Exception-Code, 0 if absent */
} answer;

static bool
answer_reserve(answer *a, size_t need)
{
    if (need <= a->cap)
        return true;
    size_t cap = a->cap != 0 ? a->cap : INITIAL_ANSWER_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(a->buf, cap);
    if (p == NULL)
        return false;
    a->buf = p;
    a->cap = cap;
    return true;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    answer *a = userp;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);

    size_t keep;
    if (status == 200) {
        if (!a->store)
            return n;
        if (n > a->max - a->len) {
            a->too_big = true;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        keep = n;
    } else {
        keep = a->len < ERROR_BODY_KEEP ? ERROR_BODY_KEEP - a->len : 0;
        if (keep > n)
            keep = n;
        if (keep == 0)
            return n;
    }
    if (!answer_reserve(a, a->len + keep + 1)) {
        a->no_memory = true;
        return 0;
    }
    memcpy(a->buf + a->len, data, keep);
    a->len += keep;
    a->buf[a->len] = '\0';
    return n;
}

/* Header lines arrive one by one, with their CRLF. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    answer *a = userp;
    size_t n = size * nmemb;
    static const char name[] = "X-ClickHouse-Exception-Code:";
    size_t nl = sizeof(name) - 1;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        a->header_code = 0; /* a new response (after 100 Continue, say) */
    } else if (n > nl && strncasecmp(data, name, nl) == 0) {
        int code = 0;
        size_t i = nl;
        while (i < n && data[i] == ' ')
            i++;
        while (i < n && data[i] >= '0' && data[i] <= '9' && code < 100000)
            code = code * 10 + (data[i++] - '0');
        a->header_code = code;
    }
    return n;
}

/* ---- exceptions -------------------------------------------------------------------------- */

bool
nf_ch_retryable(int code)
{
    switch (code) {
    case 159: /* TIMEOUT_EXCEEDED: max_execution_time; a quieter server may make it */
    case 173: /* CANNOT_ALLOCATE_MEMORY */
    case 202: /* TOO_MANY_SIMULTANEOUS_QUERIES: max_concurrent_queries reached */
    case 203: /* NO_FREE_CONNECTION */
    case 209: /* SOCKET_TIMEOUT */
    case 210: /* NETWORK_ERROR */
    case 241: /* MEMORY_LIMIT_EXCEEDED: often other queries' memory */
    case 242: /* TABLE_IS_READ_ONLY: replica lost its coordinator for a while */
    case 243: /* NOT_ENOUGH_SPACE: retention or an operator frees disk; not the data's fault */
    case 252: /* TOO_MANY_PARTS: merges catch up */
    case 285: /* TOO_FEW_LIVE_REPLICAS */
    case 286: /* UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE */
    case 319: /* UNKNOWN_STATUS_OF_INSERT */
    case 394: /* QUERY_WAS_CANCELLED: e.g. by a server shutting down */
    case 425: /* SYSTEM_ERROR */
    case 439: /* CANNOT_SCHEDULE_TASK: thread pool exhausted */
    case 999: /* KEEPER_EXCEPTION: ZooKeeper/Keeper unavailable */
        return true;
    default:
        /* Everything else, including 3 UNEXPECTED_END_OF_FILE (the body we sent was cut
         * short: the same body fails again), syntax, unknown objects, type and parse errors
         * of the data, and authentication. */
        return false;
    }
}

/* Parses "Code: N" at the start of body (after blanks). Returns N, or 0. */
static int
body_code(const char *body)
{
    if (body == NULL)
        return 0;
    while (*body == ' ' || *body == '\n' || *body == '\r' || *body == '\t')
        body++;
    if (strncmp(body, "Code: ", 6) != 0)
        return 0;
    int code = 0;
    for (const char *p = body + 6; *p >= '0' && *p <= '9' && code < 100000; p++)
        code = code * 10 + (*p - '0');
    return code;
}

/* Writes the readable part of an exception body into out (n bytes): without "Code: N",
 * "e.displayText() = ", "DB::Exception: ", 18.16's ", e.what() = …" tail and current
 * versions' " (version …)" tail; newlines become spaces. */
static void
exception_text(const char *body, char *out, size_t n)
{
    const char *p = body != NULL ? body : "";
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (strncmp(p, "Code: ", 6) == 0) {
        p += 6;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == ',' || *p == '.')
            p++;
        while (*p == ' ')
            p++;
    }
    static const char *const prefixes[] = {"e.displayText() = ", "DB::Exception: "};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(p, prefixes[i], strlen(prefixes[i])) == 0)
            p += strlen(prefixes[i]);

    size_t len = strlen(p);
    const char *cut = strstr(p, ", e.what() = ");
    if (cut != NULL && (size_t)(cut - p) < len)
        len = (size_t)(cut - p);
    cut = strstr(p, " (version ");
    if (cut != NULL && (size_t)(cut - p) < len)
        len = (size_t)(cut - p);
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' '))
        len--;

    if (n == 0)
        return;
    size_t w = len < n - 1 ? len : n - 1;
    for (size_t i = 0; i < w; i++)
        out[i] = (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') ? ' ' : p[i];
    out[w] = '\0';
}

/* Classifies a finished request: sets c->last_code and err, returns the status. */
static nf_status
outcome_of(nf_ch *c, CURLcode rc, const answer *a, const char *what, nf_err *err)
{
    c->last_code = 0;
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    c->last_unanswered = rc != CURLE_OK && status == 0;
    if (a->no_memory)
        return nf_err_set(err, NF_ENOMEM, "ClickHouse %s: out of memory for the answer", what);
    if (a->too_big)
        return nf_err_set(err, NF_EUPSTREAM, "ClickHouse %s: answer larger than %zu bytes", what,
                          a->max);
    if (rc != CURLE_OK) {
        if (rc == CURLE_OUT_OF_MEMORY)
            return nf_err_set(err, NF_ENOMEM, "ClickHouse %s: curl out of memory", what);
        return nf_err_set(err, NF_EAGAIN, "ClickHouse %s at %s: %s", what, c->base,
                          c->curl_err[0] != '\0' ? c->curl_err : curl_easy_strerror(rc));
    }
    if (status == 200)
        return NF_OK;

    char text[NF_ERR_MSG_MAX];
    exception_text(a->buf, text, sizeof(text));
    int code = a->header_code != 0 ? a->header_code : body_code(a->buf);
    if (code != 0) {
        c->last_code = code;
        return nf_err_set(err, nf_ch_retryable(code) ? NF_EAGAIN : NF_EUPSTREAM,
                          "ClickHouse code %d: %s", code, text);
    }
    return nf_err_set(err, status >= 500 ? NF_EAGAIN : NF_EUPSTREAM, "ClickHouse %s: HTTP %ld: %s",
                      what, status, text);
}

/* ---- requests ---------------------------------------------------------------------------- */

/* Builds the request URL: base, '?', then "database=D&" when set, then tail (already
 * escaped). Returns malloc'd or NULL. */
static char *
request_url(const nf_ch *c, const char *tail)
{
    size_t n = strlen(c->base) + 1 + strlen(tail) + 1;
    if (c->db_escaped != NULL)
        n += strlen("database=&") + strlen(c->db_escaped);
    char *url = malloc(n);
    if (url == NULL)
        return NULL;
    if (c->db_escaped != NULL)
        snprintf(url, n, "%s?database=%s&%s", c->base, c->db_escaped, tail);
    else
        snprintf(url, n, "%s?%s", c->base, tail);
    return url;
}

/* POSTs body to url with headers; fills a. The answer buffer is a's (free it). */
static nf_status
post(nf_ch *c, const char *url, struct curl_slist *headers, const void *body, size_t len, answer *a,
     const char *what, nf_err *err)
{
    a->curl = c->curl;
    c->curl_err[0] = '\0';
    CURLcode rc = CURLE_OK;
    if ((rc = curl_easy_setopt(c->curl, CURLOPT_URL, url)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len)) !=
            CURLE_OK ||
        /* Not copied: body lives until curl_easy_perform returns. */
        (rc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body != NULL ? body : "")) !=
            CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, a)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, a)) != CURLE_OK) {
        c->last_code = 0;
        return nf_err_set(err, NF_EINTERNAL, "ClickHouse %s: curl setup: %s", what,
                          curl_easy_strerror(rc));
    }
    rc = curl_easy_perform(c->curl);
    return outcome_of(c, rc, a, what, err);
}

nf_status
nf_ch_exec(nf_ch *c, const char *sql, nf_err *err)
{
    if (c == NULL || sql == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ch_exec: NULL argument");
    char *url = request_url(c, "wait_end_of_query=1");
    if (url == NULL)
        return nf_err_set(err, NF_ENOMEM, "nf_ch_exec: no memory for the URL");
    answer a = {.store = false};
    nf_status st = post(c, url, c->sql_headers, sql, strlen(sql), &a, "exec", err);
    free(a.buf);
    free(url);
    return st;
}

nf_status
nf_ch_query(nf_ch *c, const char *sql, size_t max_bytes, char **body, size_t *len, nf_err *err)
{
    if (c == NULL || sql == NULL || body == NULL || len == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ch_query: NULL argument");
    char *url = request_url(c, "wait_end_of_query=1");
    if (url == NULL)
        return nf_err_set(err, NF_ENOMEM, "nf_ch_query: no memory for the URL");
    answer a = {.store = true, .max = max_bytes != 0 ? max_bytes : DEFAULT_MAX_ANSWER};
    nf_status st = post(c, url, c->sql_headers, sql, strlen(sql), &a, "query", err);
    free(url);
    if (st != NF_OK) {
        free(a.buf);
        return st;
    }
    if (a.buf == NULL) { /* empty answer: still a NUL-terminated buffer */
        a.buf = malloc(1);
        if (a.buf == NULL)
            return nf_err_set(err, NF_ENOMEM, "nf_ch_query: no memory for the answer");
        a.buf[0] = '\0';
    }
    *body = a.buf;
    *len = a.len;
    return NF_OK;
}

nf_status
nf_ch_insert_rowbinary(nf_ch *c, const char *into, const uint8_t *data, size_t len, nf_err *err)
{
    return nf_ch_insert_rowbinary_id(c, into, NULL, data, len, err);
}

/* A query id is ours: [A-Za-z0-9_-], 1..64 bytes (it goes into a URL and into SQL). */
static bool
query_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

nf_status
nf_ch_insert_rowbinary_id(nf_ch *c, const char *into, const char *query_id, const uint8_t *data,
                          size_t len, nf_err *err)
{
    if (c == NULL || into == NULL || into[0] == '\0' || (data == NULL && len > 0))
        return nf_err_set(err, NF_EINVAL, "nf_ch_insert_rowbinary: NULL or empty argument");
    if (query_id != NULL && !query_id_ok(query_id))
        return nf_err_set(err, NF_EINVAL, "nf_ch_insert_rowbinary: bad query id");
    size_t qn = strlen("INSERT INTO  FORMAT RowBinary") + strlen(into) + 1;
    char *q = malloc(qn);
    if (q == NULL)
        return nf_err_set(err, NF_ENOMEM, "nf_ch_insert_rowbinary: no memory for the query");
    snprintf(q, qn, "INSERT INTO %s FORMAT RowBinary", into);
    char *escaped = curl_easy_escape(c->curl, q, 0);
    free(q);
    if (escaped == NULL)
        return nf_err_set(err, NF_ENOMEM, "nf_ch_insert_rowbinary: no memory for the query");
    size_t tn = strlen("query=&query_id=") + strlen(escaped) +
                (query_id != NULL ? strlen(query_id) : 0) + 1;
    char *tail = malloc(tn);
    char *url = NULL;
    if (tail != NULL) {
        snprintf(tail, tn, "query=%s%s%s", escaped, query_id != NULL ? "&query_id=" : "",
                 query_id != NULL ? query_id : "");
        url = request_url(c, tail);
    }
    curl_free(escaped);
    free(tail);
    if (url == NULL)
        return nf_err_set(err, NF_ENOMEM, "nf_ch_insert_rowbinary: no memory for the URL");
    answer a = {.store = false};
    nf_status st = post(c, url, c->bin_headers, data, len, &a, "insert", err);
    free(a.buf);
    free(url);
    return st;
}

int
nf_ch_last_code(const nf_ch *c)
{
    return c != NULL ? c->last_code : 0;
}

bool
nf_ch_last_unanswered(const nf_ch *c)
{
    return c != NULL && c->last_unanswered;
}

nf_status
nf_ch_query_gone(nf_ch *c, const char *query_id, nf_err *err)
{
    if (c == NULL || query_id == NULL || !query_id_ok(query_id))
        return nf_err_set(err, NF_EINVAL, "nf_ch_query_gone: bad query id");
    char sql[256];
    snprintf(sql, sizeof(sql), "KILL QUERY WHERE query_id = '%s' ASYNC", query_id);
    nf_status st = nf_ch_exec(c, sql, err);
    if (st != NF_OK)
        return st;
    snprintf(sql, sizeof(sql), "SELECT count() FROM system.processes WHERE query_id = '%s'",
             query_id);
    char *body = NULL;
    size_t len = 0;
    if ((st = nf_ch_query(c, sql, 64, &body, &len, err)) != NF_OK)
        return st;
    bool gone = len >= 2 && body[0] == '0' && body[1] == '\n';
    free(body);
    return gone ? NF_OK : nf_err_set(err, NF_EAGAIN, "query %s still running", query_id);
}

nf_status
nf_ch_server_version(nf_ch *c, char *out, size_t n, nf_err *err)
{
    if (out == NULL || n == 0)
        return nf_err_set(err, NF_EINVAL, "nf_ch_server_version: no room for the answer");
    char *body = NULL;
    size_t len = 0;
    nf_status st = nf_ch_query(c, "SELECT version()", 256, &body, &len, err);
    if (st != NF_OK)
        return st;
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        body[--len] = '\0';
    snprintf(out, n, "%s", body);
    free(body);
    return NF_OK;
}

/* ---- open / close ------------------------------------------------------------------------ */

/* True if s may go into an HTTP header value: no control characters (CR/LF would let a
 * config value add headers of its own). */
static bool
header_safe(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Appends "name: value" to *list. */
static bool
add_header(struct curl_slist **list, const char *name, const char *value)
{
    size_t n = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(n);
    if (line == NULL)
        return false;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    /* The key is a secret: do not leave a copy in freed memory. */
    memset(line, 0, n);
    free(line);
    if (l == NULL)
        return false;
    *list = l;
    return true;
}

/* The two header lists: auth (if any), content type, and an empty "Expect:" so curl never
 * waits for a 100 Continue before a large body. */
static bool
build_headers(nf_ch *c, const char *user, const char *password)
{
    struct curl_slist **lists[2] = {&c->sql_headers, &c->bin_headers};
    const char *types[2] = {"text/plain; charset=utf-8", "application/octet-stream"};
    for (int i = 0; i < 2; i++) {
        if (user != NULL && !add_header(lists[i], "X-ClickHouse-User", user))
            return false;
        if (password != NULL && !add_header(lists[i], "X-ClickHouse-Key", password))
            return false;
        if (!add_header(lists[i], "Content-Type", types[i]))
            return false;
        struct curl_slist *l = curl_slist_append(*lists[i], "Expect:");
        if (l == NULL)
            return false;
        *lists[i] = l;
    }
    return true;
}

/* Checks cfg; NF_OK or NF_EINVAL naming the field. */
static nf_status
check_config(const nf_ch_config *cfg, nf_err *err)
{
    if (cfg == NULL)
        return nf_err_set(err, NF_EINVAL, "clickhouse: no config");
    if (cfg->url == NULL || cfg->url[0] == '\0')
        return nf_err_set(err, NF_EINVAL, "clickhouse url: missing");
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0)
        return nf_err_set(err, NF_EINVAL,
                          "clickhouse url '%s': must start with http:// or https://", cfg->url);
    /* We append the query string ourselves. */
    if (strpbrk(cfg->url, "?# \t\r\n") != NULL)
        return nf_err_set(err, NF_EINVAL,
                          "clickhouse url '%s': must be scheme://host:port[/path] only", cfg->url);
    if (cfg->user != NULL && !header_safe(cfg->user))
        return nf_err_set(err, NF_EINVAL, "clickhouse user: contains control characters");
    if (cfg->password != NULL && !header_safe(cfg->password))
        return nf_err_set(err, NF_EINVAL, "clickhouse password: contains control characters");
    return NF_OK;
}

/* Options that stay the same for every request of c. */
static CURLcode
set_fixed_options(nf_ch *c, const nf_ch_config *cfg)
{
    uint64_t connect_ms =
        cfg->connect_timeout_ms != 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    uint64_t total_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (connect_ms > LONG_MAX)
        connect_ms = LONG_MAX;
    if (total_ms > LONG_MAX)
        total_ms = LONG_MAX;
    CURLcode rc;
    /* NOSIGNAL: curl must not use SIGALRM for DNS timeouts in a threaded program. */
    if ((rc = curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)total_ms)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header)) != CURLE_OK ||
        /* Redirects would re-send the body (and the key) somewhere else: refuse them. */
        (rc = curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
        (rc = curl_easy_setopt(c->curl, CURLOPT_POST, 1L)) != CURLE_OK)
        return rc;
    return CURLE_OK;
}

nf_status
nf_ch_open(const nf_ch_config *cfg, nf_ch **out, nf_err *err)
{
    if (out == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ch_open: NULL out");
    nf_status st = check_config(cfg, err);
    if (st != NF_OK)
        return st;
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK)
        return nf_err_set(err, NF_ENOMEM, "clickhouse: curl_global_init: %s",
                          curl_easy_strerror(g_curl_init_rc));

    nf_ch *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nf_err_set(err, NF_ENOMEM, "clickhouse: no memory");
    c->curl = curl_easy_init();
    if (c->curl == NULL)
        goto fail;

    size_t ulen = strlen(cfg->url);
    while (ulen > 0 && cfg->url[ulen - 1] == '/')
        ulen--;
    c->base = malloc(ulen + 2);
    if (c->base == NULL)
        goto fail;
    memcpy(c->base, cfg->url, ulen);
    memcpy(c->base + ulen, "/", 2);

    if (cfg->database != NULL && cfg->database[0] != '\0') {
        c->db_escaped = curl_easy_escape(c->curl, cfg->database, 0);
        if (c->db_escaped == NULL)
            goto fail;
    }
    /* "" means none for both: an empty key is what ClickHouse assumes without one. */
    const char *user = cfg->user != NULL && cfg->user[0] != '\0' ? cfg->user : NULL;
    const char *password = cfg->password != NULL && cfg->password[0] != '\0' ? cfg->password : NULL;
    if (password != NULL && user == NULL)
        user = "default";
    if (!build_headers(c, user, password))
        goto fail;
    CURLcode rc = set_fixed_options(c, cfg);
    if (rc != CURLE_OK) {
        nf_ch_close(c);
        return nf_err_set(err, NF_EINTERNAL, "clickhouse: curl setup: %s", curl_easy_strerror(rc));
    }
    *out = c;
    return NF_OK;

fail:
    nf_ch_close(c);
    return nf_err_set(err, NF_ENOMEM, "clickhouse: no memory");
}

/* Overwrites every header line before freeing: one of them holds the key. */
static void
wipe_headers(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p != NULL; p = p->next)
        if (p->data != NULL)
            memset(p->data, 0, strlen(p->data));
    curl_slist_free_all(l);
}

void
nf_ch_close(nf_ch *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    wipe_headers(c->sql_headers);
    wipe_headers(c->bin_headers);
    curl_free(c->db_escaped);
    free(c->base);
    free(c);
}
