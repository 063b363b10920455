/* rollup.c — the cold tier's hourly rollup tables (see rollup.h): the family list, the
 * columns and schema JSON built from it, and the summary's day list.
 *
 * The column list of a family is derived from the family's dims and the raw table's columns
 * (lib/cold/table.c), so a dim always has the raw column's name and type and nothing is
 * written twice. Field ids are positions: 1 ts, 2.. dims, then the six metrics.
 */
#include "rollup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Metric columns, in id order after the dims. */
static const char *const g_metrics[NF_COLD_ROLLUP_NMETRICS] = {
    "flows", "flows_scaled", "bytes", "bytes_scaled", "packets", "packets_scaled"};

/* Type of field id in family r's table. */
static nf_ice_type
rollup_type(const nf_cold_rollup *r, int32_t id)
{
    if (id == 1)
        return NF_ICE_TIMESTAMPTZ;
    if (id >= 2 && (size_t)id < 2 + r->ndims)
        return nf_cold_type_of(r->dims[id - 2]);
    if ((size_t)id >= 2 + r->ndims && (size_t)id < 2 + r->ndims + NF_COLD_ROLLUP_NMETRICS)
        return NF_ICE_LONG;
    return 0;
}

/* nf_ice_manifest_ctx.type_of takes no context: one small function per family. */
#define TYPE_OF(i)                                                                              \
    static nf_ice_type type_of_##i(int32_t id) { return rollup_type(&nf_cold_rollups[i], id); }
TYPE_OF(0)
TYPE_OF(1)
TYPE_OF(2)
TYPE_OF(3)
TYPE_OF(4)
TYPE_OF(5)
TYPE_OF(6)
TYPE_OF(7)
#undef TYPE_OF

/* lib/query build.c `families[]`, same order and dims (exporter = exporter_ip, src_addr =
 * src_ip, dst_addr = dst_ip). */
const nf_cold_rollup nf_cold_rollups[NF_COLD_ROLLUP_NFAMILIES] = {
    {"iface", {NF_COLD_EXPORTER_IP, NF_COLD_IN_IF, NF_COLD_OUT_IF, NF_COLD_PROTOCOL}, 4, type_of_0},
    {"as", {NF_COLD_EXPORTER_IP, NF_COLD_SRC_AS, NF_COLD_DST_AS}, 3, type_of_1},
    {"dst_port", {NF_COLD_PROTOCOL, NF_COLD_DST_PORT}, 2, type_of_2},
    {"src_addr", {NF_COLD_SRC_IP}, 1, type_of_3},
    {"dst_addr", {NF_COLD_DST_IP}, 1, type_of_4},
    {"exporter_dst_port", {NF_COLD_EXPORTER_IP, NF_COLD_PROTOCOL, NF_COLD_DST_PORT}, 3, type_of_5},
    {"exporter_src_addr", {NF_COLD_EXPORTER_IP, NF_COLD_SRC_IP}, 2, type_of_6},
    {"exporter_dst_addr", {NF_COLD_EXPORTER_IP, NF_COLD_DST_IP}, 2, type_of_7},
};

const nf_ice_spec nf_cold_rollup_spec = {
    .spec_id = 0,
    .transform = NF_ICE_DAY,
    .source_id = 1,
    .field_id = 1000,
    .name = "ts_day",
};

const char nf_cold_rollup_spec_json[] =
    "{\"spec-id\":0,\"fields\":[{\"name\":\"ts_day\",\"transform\":\"day\","
    "\"source-id\":1,\"field-id\":1000}]}";

const char nf_cold_rollup_sort_order_json[] =
    "{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
    "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}";

nf_status
nf_cold_rollup_table(const char *raw, const nf_cold_rollup *r, char *out, size_t cap,
                     nf_err *err)
{
    if (raw == NULL || raw[0] == '\0' || r == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "rollup table name: missing raw table or family");
    int k = snprintf(out, cap, "%s_rollup_1h_%s", raw, r->family);
    if (k < 0 || (size_t)k >= cap)
        return nf_err_set(err, NF_EINVAL, "rollup table name of %.64s/%s: longer than %zu bytes",
                          raw, r->family, cap);
    return NF_OK;
}

const nf_cold_rollup *
nf_cold_rollup_named(const char *family)
{
    if (family == NULL)
        return NULL;
    for (size_t i = 0; i < NF_COLD_ROLLUP_NFAMILIES; i++)
        if (strcmp(nf_cold_rollups[i].family, family) == 0)
            return &nf_cold_rollups[i];
    return NULL;
}

size_t
nf_cold_rollup_columns(const nf_cold_rollup *r, nf_cold_column out[NF_COLD_ROLLUP_MAX_COLUMNS])
{
    size_t n = 0;
    out[n++] = (nf_cold_column){1, "ts", NF_ICE_TIMESTAMPTZ, "timestamptz", "TIMESTAMPTZ"};
    for (size_t i = 0; i < r->ndims && i < NF_COLD_ROLLUP_MAX_DIMS; i++) {
        out[n] = nf_cold_columns[r->dims[i] - 1];
        out[n].id = (int32_t)(n + 1);
        n++;
    }
    for (size_t i = 0; i < NF_COLD_ROLLUP_NMETRICS; i++) {
        out[n] = (nf_cold_column){(int32_t)(n + 1), g_metrics[i], NF_ICE_LONG, "long", "BIGINT"};
        n++;
    }
    return n;
}

char *
nf_cold_rollup_schema_json(const nf_cold_rollup *r)
{
    nf_cold_column cols[NF_COLD_ROLLUP_MAX_COLUMNS];
    size_t n = nf_cold_rollup_columns(r, cols);
    /* Each field is under 100 bytes of JSON (names are short constants). */
    size_t cap = 64 + n * 100;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    size_t len = (size_t)snprintf(s, cap, "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "%s{\"id\":%d,\"name\":\"%s\",\"required\":false,\"type\":\"%s\"}",
                                i ? "," : "", (int)cols[i].id, cols[i].name, cols[i].iceberg);
    snprintf(s + len, cap - len, "]}");
    return s;
}

/* ---- the summary's day list ------------------------------------------------------------------ */

static int
day_cmp(const void *a, const void *b)
{
    int32_t x = ((const nf_cold_rollup_day *)a)->day, y = ((const nf_cold_rollup_day *)b)->day;
    return (x > y) - (x < y);
}

/* A decimal number at *p (a leading '-' allowed if neg_ok); *p moves past its digits. False
 * if there is no digit or the value overflows int64. */
static bool
read_num(const char **p, bool neg_ok, int64_t *out)
{
    const char *s = *p;
    bool neg = false;
    if (*s == '-' && neg_ok) {
        neg = true;
        s++;
    }
    if (*s < '0' || *s > '9')
        return false;
    int64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    *p = s;
    return true;
}

nf_status
nf_cold_rollup_days_parse(const char *text, nf_cold_rollup_day **out, size_t *n, nf_err *err)
{
    if (out == NULL || n == NULL)
        return nf_err_set(err, NF_EINVAL, "rollup days: missing output");
    if (text == NULL || text[0] == '\0') {
        *out = NULL;
        *n = 0;
        return NF_OK;
    }
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    if (cap > NF_COLD_ROLLUP_MAX_DAYS)
        return nf_err_set(err, NF_EINVAL, "%s: %zu entries, at most %d",
                          NF_COLD_ROLLUP_SUMMARY_DAYS, cap, NF_COLD_ROLLUP_MAX_DAYS);
    nf_cold_rollup_day *v = calloc(cap, sizeof *v);
    if (v == NULL)
        return nf_err_set(err, NF_ENOMEM, "%s: %zu entries", NF_COLD_ROLLUP_SUMMARY_DAYS, cap);
    size_t k = 0;
    const char *p = text;
    for (;;) {
        const char *entry = p;
        int64_t day = 0, rec = 0;
        if (!read_num(&p, true, &day) || day < INT32_MIN || day > INT32_MAX || *p != ':' ||
            (p++, !read_num(&p, false, &rec)) || (*p != ',' && *p != '\0')) {
            const char *end = strchr(entry, ',');
            int len = end != NULL ? (int)(end - entry) : (int)strlen(entry);
            free(v);
            return nf_err_set(err, NF_EINVAL, "%s: entry %zu '%.*s' is not day:records",
                              NF_COLD_ROLLUP_SUMMARY_DAYS, k, len > 40 ? 40 : len, entry);
        }
        v[k++] = (nf_cold_rollup_day){(int32_t)day, rec};
        if (*p == '\0')
            break;
        p++;
    }
    qsort(v, k, sizeof *v, day_cmp);
    for (size_t i = 1; i < k; i++)
        if (v[i].day == v[i - 1].day) {
            int32_t d = v[i].day;
            free(v);
            return nf_err_set(err, NF_EINVAL, "%s: day %" PRId32 " listed twice",
                              NF_COLD_ROLLUP_SUMMARY_DAYS, d);
        }
    *out = v;
    *n = k;
    return NF_OK;
}

char *
nf_cold_rollup_days_format(const nf_cold_rollup_day *days, size_t n)
{
    /* "-2147483648:9223372036854775807," is 32 bytes. */
    size_t cap = n * 32 + 1;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    size_t len = 0;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%" PRId32 ":%" PRId64, i ? "," : "",
                                days[i].day, days[i].raw_records);
    return s;
}

int64_t
nf_cold_rollup_days_find(const nf_cold_rollup_day *days, size_t n, int32_t day)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (days[mid].day == day)
            return days[mid].raw_records;
        if (days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
