/* routes.c — /api/netflow, /api/netflow/realtime, /api/netflow/historical and
 * /api/netflow/fields: parameters (lib/api) → the tier(s) that hold the range → answer.
 *
 * Routing (docs/core.md "Routing and stitching"):
 *   realtime    ClickHouse only; a range starting before now − hot_retention is refused
 *               (400 naming start or time_range) rather than answered partially.
 *   historical  Iceberg only (time travel: snapshot, as_of).
 *   auto        snapshot/as_of → Iceberg. end − start < realtime_threshold and the range
 *               inside the hot tier → ClickHouse. Otherwise the boundary
 *                   B = start of the current UTC hour − 1 h,
 *               lowered to the cold tier's freshness (current snapshot time) floored to the
 *               hour when that is older; [start, B) from Iceberg, [B, end) from ClickHouse,
 *               merged by nf_api_merge (top-N: both sides asked with limit 10 000, the
 *               largest, so the merged ranking sees every key unless a side was cut: then
 *               the answer says "approximate": true). B <= start: ClickHouse alone;
 *               B >= end: Iceberg alone. B (or start, for ClickHouse alone) earlier than
 *               now − hot_retention: the hot part misses flows, "incomplete": true.
 *               Cold tier unavailable (catalog down, table missing): a range inside the
 *               hot tier is answered by ClickHouse alone, an older one gets a 503.
 *   Whole hours for B let both tiers' hourly rollups answer their parts.
 * A stitched answer asks both tiers at once: the ClickHouse part runs on a thread of its own
 * (core_ch_run opens its own connection) while this thread reads Iceberg, so where the host
 * has cores for both the answer takes the slower part's time, not the sum.
 * Answer metadata added to lib/api's JSON: "boundary" (stitched), "incomplete",
 * "approximate" (only when true).
 */
#include "core_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/log.h"

#define TOPN_ASK 10000u /* lib/query's largest limit: what each side of a stitch is asked */

static uint64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The ClickHouse part of a stitched answer, run on its own thread. */
typedef struct hot_part {
    nf_core *c;
    nf_q_request q;
    nf_api_row *rows; /* malloc'd by core_ch_run; the caller frees */
    size_t n;
    char plan[256];
    nf_status st;
    nf_err err;
} hot_part;

static void *
run_hot_part(void *arg)
{
    hot_part *h = arg;
    h->st = core_ch_run(h->c, &h->q, &h->rows, &h->n, h->plan, sizeof(h->plan), &h->err);
    return NULL;
}

/* Maps a backend failure to an HTTP answer. */
static void
fail_backend(core_answer *a, const nf_api_request *req, const char *tier, nf_status st,
             const nf_err *e)
{
    switch (st) {
    case NF_EINVAL:
        core_fail(a, 400, NULL, "%s: %s", tier, e->msg);
        break;
    case NF_ENOTFOUND: {
        const char *p = (req->given & NF_API_GIVEN_SNAPSHOT)  ? "snapshot"
                        : (req->given & NF_API_GIVEN_AS_OF) ? "as_of"
                                                            : NULL;
        core_fail(a, 404, p, "%s: %s", tier, e->msg);
        break;
    }
    case NF_EAGAIN:
    case NF_ETIMEDOUT:
        core_fail(a, 503, NULL, "%s unavailable: %s", tier, e->msg);
        break;
    case NF_ENOMEM:
        core_fail(a, 500, NULL, "%s: out of memory", tier);
        break;
    default:
        core_fail(a, 502, NULL, "%s: %s", tier, e->msg);
        break;
    }
}

static void
rfc3339(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%" PRId64, t);
}

/* Adds ,"k":v members before the closing brace of a rendered JSON object. extra is
 * already JSON (made here from numbers and fixed text). */
static char *
json_append(char *json, const char *extra)
{
    size_t n = strlen(json), m = strlen(extra);
    if (m == 0)
        return json;
    while (n > 0 && json[n - 1] != '}')
        n--;
    if (n == 0)
        return json; /* not an object: leave it as lib/api wrote it */
    char *g = realloc(json, n + m + 2);
    if (g == NULL)
        return NULL;
    memcpy(g + n - 1, extra, m);
    g[n - 1 + m] = '}';
    g[n + m] = '\0';
    return g;
}

/* Parses the request's parameters for route into *req; false after setting the 400. */
static bool
parse_params(const nf_api_kv *kv, size_t n, int64_t now_s, nf_api_route route,
             nf_api_request *req, core_answer *a)
{
    char param[NF_API_PARAM_MAX];
    nf_err e = {0};
    if (nf_api_parse(kv, n, now_s, route, req, param, &e) == NF_OK)
        return true;
    core_fail(a, 400, param, "%s", e.msg);
    return false;
}

/* True after setting a 400 (naming time_range or start) when req's range starts before what
 * the hot tier keeps; what says what the caller asked for, instead says where to go. */
static bool
refused_before_hot(const nf_core *c, const nf_api_request *req, int64_t now_s,
                   const char *what, core_answer *a)
{
    uint64_t keep_s = c->cfg->netflow.hot_retention_ms / 1000;
    if (req->q.start >= now_s - (int64_t)keep_s)
        return false;
    const char *p = (req->given & NF_API_GIVEN_TIME_RANGE) ? "time_range" : "start";
    core_fail(a, 400, p, "parameter '%s': the range starts before the hot tier's retention (%"
              PRIu64 " s); %s", p, keep_s, what);
    return true;
}

void
core_route_netflow(nf_core *c, nf_api_route route, const nf_api_kv *kv, size_t n,
                   int64_t now_s, core_answer *a)
{
    uint64_t t0 = mono_ms();
    const nf_core_netflow_config *nfc = &c->cfg->netflow;
    nf_api_request req;
    nf_err e = {0};
    if (!parse_params(kv, n, now_s, route, &req, a))
        return;
    int64_t hot_floor = now_s - (int64_t)(nfc->hot_retention_ms / 1000);
    enum { USE_CH, USE_ICE, USE_BOTH } use;
    int64_t boundary = 0;
    bool incomplete = false;
    if (route == NF_API_REALTIME) {
        if (refused_before_hot(c, &req, now_s, "use /api/netflow or /api/netflow/historical", a))
            return;
        use = USE_CH;
    } else if (route == NF_API_HISTORICAL ||
               (req.given & (NF_API_GIVEN_SNAPSHOT | NF_API_GIVEN_AS_OF))) {
        use = USE_ICE;
    } else if ((uint64_t)(req.q.end - req.q.start) * 1000u < nfc->realtime_threshold_ms &&
               req.q.start >= hot_floor) {
        use = USE_CH;
    } else {
        int64_t fresh_ms = 0;
        nf_status st = core_ice_freshness(c, &fresh_ms, NULL, &e);
        if (st != NF_OK && req.q.start < hot_floor) {
            /* Part of the range exists only in the cold tier. */
            core_fail(a, 503, NULL, "cold tier unavailable (%s), and the range starts before "
                      "the hot tier's retention", e.msg);
            return;
        }
        boundary = now_s - now_s % 3600 - 3600;
        int64_t fresh = fresh_ms / 1000;
        if (fresh < boundary)
            boundary = fresh - fresh % 3600;
        if (st != NF_OK) {
            /* The hot tier holds the whole range: answer from it rather than fail. */
            nf_log_warn("core", "cold tier unavailable, answering from ClickHouse: %s", e.msg);
            use = USE_CH;
        } else if (boundary <= req.q.start) {
            use = USE_CH;
            incomplete = req.q.start < hot_floor;
        } else if (boundary >= req.q.end) {
            use = USE_ICE;
        } else {
            use = USE_BOTH;
            incomplete = boundary < hot_floor;
        }
    }

    nf_api_row *rows = NULL, *cold = NULL, *hot = NULL;
    size_t nrows = 0, ncold = 0, nhot = 0;
    int64_t snapshot = 0;
    bool approximate = false;
    char plan[640] = "";
    const char *backend = "clickhouse";
    nf_status st;
    if (use == USE_CH) {
        if ((st = core_ch_run(c, &req.q, &rows, &nrows, plan, sizeof(plan), &e)) != NF_OK) {
            fail_backend(a, &req, "clickhouse", st, &e);
            return;
        }
    } else if (use == USE_ICE) {
        backend = "iceberg";
        nf_histq_options opt = {.snapshot_id = req.snapshot_id, .as_of_ms = req.as_of_ms};
        if ((st = core_ice_run(c, &req.q, &opt, &rows, &nrows, &snapshot, &e)) != NF_OK) {
            fail_backend(a, &req, "iceberg", st, &e);
            return;
        }
        snprintf(plan, sizeof(plan), "%s.%s", c->cfg->ice_ns, c->cfg->ice_table);
    } else {
        backend = "both";
        atomic_fetch_add(&c->stitched, 1);
        nf_q_request qc = req.q, qh = req.q;
        qc.end = boundary;
        qh.start = boundary;
        if (req.q.group_by != NF_Q_TIME)
            qc.limit = qh.limit = TOPN_ASK;
        hot_part hp = {.c = c, .q = qh};
        pthread_t th;
        bool threaded = pthread_create(&th, NULL, run_hot_part, &hp) == 0;
        st = core_ice_run(c, &qc, NULL, &cold, &ncold, &snapshot, &e);
        if (threaded)
            pthread_join(th, NULL);
        else
            run_hot_part(&hp); /* no thread to be had: one after the other */
        hot = hp.rows;
        nhot = hp.n;
        if (st != NF_OK || hp.st != NF_OK) {
            free(cold);
            free(hot);
            if (st != NF_OK)
                fail_backend(a, &req, "iceberg", st, &e);
            else
                fail_backend(a, &req, "clickhouse", hp.st, &hp.err);
            return;
        }
        approximate = req.q.group_by != NF_Q_TIME && (ncold >= TOPN_ASK || nhot >= TOPN_ASK);
        st = nf_api_merge(&req, cold, ncold, hot, nhot, &rows, &nrows, &e);
        free(cold);
        free(hot);
        if (st != NF_OK) {
            core_fail(a, 500, NULL, "merging the answers: %s", e.msg);
            return;
        }
        snprintf(plan, sizeof(plan), "%s.%s + clickhouse %s", c->cfg->ice_ns,
                 c->cfg->ice_table, hp.plan);
    }

    bool *spikes = NULL;
    if (req.q.group_by == NF_Q_TIME && nrows > 0) {
        spikes = calloc(nrows, sizeof(*spikes));
        if (spikes == NULL || nf_api_spikes(rows, nrows, req.q.interval, spikes, NULL, &e) !=
                                  NF_OK) {
            /* Spike flags are an extra: the series is answered without them. */
            free(spikes);
            spikes = NULL;
        }
    }
    nf_api_meta meta = {
        .backend = backend,
        .table = plan,
        .elapsed_ms = mono_ms() - t0,
        .snapshot_id = snapshot,
        .spikes = spikes,
    };
    char *out = NULL;
    if (req.format == NF_API_CSV) {
        st = nf_api_render_csv(&req, rows, nrows, &meta, &out, &e);
        a->type = "text/csv; charset=utf-8";
        a->disposition = "attachment; filename=\"netflow.csv\"";
    } else {
        st = nf_api_render_json(&req, rows, nrows, &meta, &out, &e);
        a->type = "application/json";
        if (st == NF_OK) {
            char extra[160] = "", b[32];
            size_t len = 0;
            if (use == USE_BOTH) {
                rfc3339(boundary, b);
                len += (size_t)snprintf(extra + len, sizeof(extra) - len, ",\"boundary\":\"%s\"",
                                        b);
            }
            if (incomplete)
                len += (size_t)snprintf(extra + len, sizeof(extra) - len, ",\"incomplete\":true");
            if (approximate)
                snprintf(extra + len, sizeof(extra) - len, ",\"approximate\":true");
            char *g = json_append(out, extra);
            if (g == NULL) {
                free(out);
                out = NULL;
                st = nf_err_set(&e, NF_ENOMEM, "out of memory");
            } else {
                out = g;
            }
        }
    }
    free(spikes);
    free(rows);
    if (st != NF_OK) {
        a->type = NULL;
        a->disposition = NULL;
        core_fail(a, 500, NULL, "rendering the answer: %s", e.msg);
        return;
    }
    a->status = 200;
    a->body = out;
    a->len = strlen(out);
}

/* ---- recent flows ---------------------------------------------------------------------------
 * The newest rows need a sort of the whole range in ClickHouse (18.16 cannot read a table in
 * reverse key order), which over a day of a busy network is slow. Recent flows are dense in
 * the last minute, so the last minute is asked first, then the last hour, then the whole
 * range: each wider window only when the narrower one had fewer rows than asked for. */

static const int64_t flow_windows[] = {60, 3600};

void
core_route_flows(nf_core *c, const nf_api_kv *kv, size_t n, int64_t now_s, core_answer *a)
{
    uint64_t t0 = mono_ms();
    nf_api_request req;
    nf_err e = {0};
    if (!parse_params(kv, n, now_s, NF_API_FLOWS, &req, a) ||
        refused_before_hot(c, &req, now_s, "only the hot tier keeps raw flows", a))
        return;
    nf_api_flow *flows = NULL;
    size_t nflows = 0;
    nf_status st = NF_OK;
    size_t w = 0, nw = sizeof(flow_windows) / sizeof(flow_windows[0]);
    for (;; w++) {
        nf_q_request q = req.q;
        if (w < nw && q.end - flow_windows[w] > q.start)
            q.start = q.end - flow_windows[w];
        else
            w = nw; /* this window is the whole range: the last try */
        free(flows);
        flows = NULL;
        if ((st = core_ch_flows(c, &q, &flows, &nflows, &e)) != NF_OK)
            break;
        if (nflows >= req.q.limit || w >= nw)
            break;
    }
    if (st != NF_OK) {
        fail_backend(a, &req, "clickhouse", st, &e);
        return;
    }
    nf_api_meta meta = {.backend = "clickhouse", .table = "netflow",
                        .elapsed_ms = mono_ms() - t0};
    char *out = NULL;
    bool csv = req.format == NF_API_CSV;
    st = nf_api_render_flows(&req, flows, nflows, &meta, csv, &out, &e);
    free(flows);
    if (st != NF_OK) {
        core_fail(a, 500, NULL, "rendering the answer: %s", e.msg);
        return;
    }
    a->type = csv ? "text/csv; charset=utf-8" : "application/json";
    a->disposition = csv ? "attachment; filename=\"netflow-flows.csv\"" : NULL;
    a->status = 200;
    a->body = out;
    a->len = strlen(out);
}

/* The UI's menu: fixed text, kept next to lib/api's parameter list (api.h). */
static const char fields_json[] =
    "{\"group_by\":[\"time\",\"src_ip\",\"dst_ip\",\"src_port\",\"dst_port\",\"protocol\","
    "\"exporter\",\"in_if\",\"out_if\",\"src_as\",\"dst_as\"],"
    "\"filter\":[{\"field\":\"src_ip\",\"type\":\"address_or_cidr\"},"
    "{\"field\":\"dst_ip\",\"type\":\"address_or_cidr\"},"
    "{\"field\":\"exporter\",\"type\":\"address_or_cidr\"},"
    "{\"field\":\"src_port\",\"type\":\"port\"},{\"field\":\"dst_port\",\"type\":\"port\"},"
    "{\"field\":\"protocol\",\"type\":\"protocol\",\"names\":[\"tcp\",\"udp\",\"icmp\","
    "\"icmpv6\",\"gre\",\"esp\",\"sctp\"]},"
    "{\"field\":\"in_if\",\"type\":\"uint32\"},{\"field\":\"out_if\",\"type\":\"uint32\"},"
    "{\"field\":\"src_as\",\"type\":\"uint32\"},{\"field\":\"dst_as\",\"type\":\"uint32\"}],"
    "\"metrics\":[\"bytes\",\"packets\",\"flows\"],"
    "\"time_ranges\":[\"last_15m\",\"last_1h\",\"last_6h\",\"last_24h\",\"last_7d\","
    "\"last_30d\",\"last_90d\",\"today\"],"
    "\"formats\":[\"json\",\"csv\"],\"limit\":{\"min\":1,\"max\":10000,\"default\":10},"
    "\"max_filters\":16}";

void
core_route_fields(core_answer *a)
{
    a->body = strdup(fields_json);
    if (a->body == NULL) {
        core_fail(a, 500, NULL, "out of memory");
        return;
    }
    a->status = 200;
    a->len = sizeof(fields_json) - 1;
    a->type = "application/json";
}

/* ---- static files (the web UI) -------------------------------------------------------------
 * Only regular files under static_dir: the decoded path must not hold a ".." segment, a
 * backslash or a control byte, and the resolved path (symlinks followed) must stay inside
 * the resolved static_dir. "/" and paths ending in "/" mean index.html. */

#define STATIC_PATH_MAX 512                 /* longer URL paths are not ours */
#define STATIC_FILE_MAX (256ull << 20)      /* bound on one file: a UI bundle is a few MiB */

static const char *
mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
        {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static bool
safe_url_path(const char *p)
{
    if (p[0] != '/' || strlen(p) > STATIC_PATH_MAX)
        return false;
    for (const char *s = p; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\')
            return false;
    for (const char *seg = p; seg != NULL; seg = strchr(seg + 1, '/')) {
        const char *name = seg + 1;
        size_t len = strcspn(name, "/");
        if ((len == 2 && name[0] == '.' && name[1] == '.') || (len == 1 && name[0] == '.'))
            return false;
    }
    return true;
}

void
core_route_static(const nf_core *c, const char *path, core_answer *a)
{
    if (!safe_url_path(path)) {
        core_fail(a, 404, NULL, "no such file");
        return;
    }
    char want[PATH_MAX], root[PATH_MAX], real[PATH_MAX];
    size_t n = strlen(path);
    int w = snprintf(want, sizeof(want), "%s%s%s", c->cfg->static_dir, path,
                     path[n - 1] == '/' ? "index.html" : "");
    if (w < 0 || (size_t)w >= sizeof(want) || realpath(c->cfg->static_dir, root) == NULL ||
        realpath(want, real) == NULL) {
        core_fail(a, 404, NULL, "no such file");
        return;
    }
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || real[rl] != '/') {
        core_fail(a, 404, NULL, "no such file");
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > STATIC_FILE_MAX) {
        if (fd >= 0)
            close(fd);
        core_fail(a, 404, NULL, "no such file");
        return;
    }
    a->status = 200;
    a->file = true;
    a->fd = fd;
    a->size = (uint64_t)st.st_size;
    a->type = mime_type(real);
}
