/* manifest.c — Iceberg v2 manifests (manifest_entry records) and manifest lists
 * (manifest_file records) as Avro container files (avro.c does the framing).
 *
 * Writing: the schema text is built here with every `field-id`, `element-id` and
 * `logicalType` attribute of the spec (libavro keeps none of them), values are set through
 * libavro's generic values so each is type-checked, and every ["null", T] union gets an
 * explicit branch.
 *
 * Reading: files may come from other writers (Java, pyiceberg), whose field names differ
 * (e.g. added_data_files_count for 504), so fields are resolved BY FIELD ID: the file's own
 * schema text is parsed with jansson once per file into a table of field indexes (layout
 * below), and each record is then walked by index. Unknown fields are ignored; missing
 * optional fields read as null; a missing required field is NF_EPROTO naming file and id.
 *
 * Invariants:
 *   1. Reading is linear in the file: one index table per file, one libavro value reused for
 *      every record, column stats appended with a position hint (maps list columns in the
 *      same order, so the lookup is O(1) in practice).
 *   2. Bounds longer than NF_ICE_BOUND_MAX from foreign writers are dropped, never cut: a
 *      missing bound only keeps a file in a scan, a wrongly cut upper bound would lose it.
 *   3. Inherited values (null snapshot_id / sequence numbers) are resolved from the manifest
 *      list entry on read; ADDED entries are written with them null, as the spec requires.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro.h"
#include "iceberg.h"

/* Most column stats kept per data file read (a table has a few dozen columns). */
#define MAX_COLS 4096

/* ---- paths and URIs (static copies: fs.c owns the public nf_ice_path_uri) ------------- */

static int
unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~/!$&'()*+,;=:@", c) != NULL;
}

/* "/a b" → "file:///a%20b" (malloc'd), NULL on allocation failure. */
static char *
path_to_uri(const char *path)
{
    size_t len = strlen(path);
    char *out = malloc(7 + 3 * len + 1);
    if (out == NULL)
        return NULL;
    char *o = out + sprintf(out, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        o += unreserved(*p) && *p != '\0' ? sprintf(o, "%c", *p) : sprintf(o, "%%%02X", *p);
    *o = '\0';
    return out;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "file:///a%20b" or "/a b" → "/a b" (malloc'd). */
static nf_status
uri_to_path(const char *uri, char **path, nf_err *err)
{
    const char *p = uri;
    if (strncmp(uri, "file://", 7) == 0)
        p = uri + 7;
    if (p[0] != '/')
        return nf_err_set(err, NF_EINVAL, "not a local file URI: %s", uri);
    char *out = malloc(strlen(p) + 1), *o = out;
    if (out == NULL)
        return nf_err_set(err, NF_ENOMEM, "path of %s", uri);
    for (; *p; p++) {
        int h, l;
        if (*p == '%' && (h = hexval(p[1])) >= 0 && (l = hexval(p[2])) >= 0 && (h || l)) {
            *o++ = (char)(h * 16 + l);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    *path = out;
    return NF_OK;
}

/* ---- schema text ------------------------------------------------------------------------ */

#define MAP_FIELD(name, id, rec, kid, vid, vtype)                                              \
    "{\"name\":\"" name "\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":"      \
    "\"record\",\"name\":\"" rec "\",\"fields\":[{\"name\":\"key\",\"type\":\"int\","          \
    "\"field-id\":" #kid "},{\"name\":\"value\",\"type\":\"" vtype "\",\"field-id\":" #vid    \
    "}]},\"logicalType\":\"map\"}],\"default\":null,\"field-id\":" #id "}"

/* manifest_entry, with %s the partition record's fields. */
static const char ENTRY_SCHEMA_HEAD[] =
    "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
    "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
    "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
    "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,"
    "\"field-id\":3},"
    "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,"
    "\"field-id\":4},"
    "{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
    "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
    "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
    "{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[";
static const char ENTRY_SCHEMA_TAIL[] =
    "]},\"field-id\":102},"
    "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
    "{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
    MAP_FIELD("column_sizes", 108, "k117_v118", 117, 118, "long") ","
    MAP_FIELD("value_counts", 109, "k119_v120", 119, 120, "long") ","
    MAP_FIELD("null_value_counts", 110, "k121_v122", 121, 122, "long") ","
    MAP_FIELD("nan_value_counts", 137, "k138_v139", 138, 139, "long") ","
    MAP_FIELD("lower_bounds", 125, "k126_v127", 126, 127, "bytes") ","
    MAP_FIELD("upper_bounds", 128, "k129_v130", 129, 130, "bytes") ","
    "{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,"
    "\"field-id\":131},"
    "{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"long\","
    "\"element-id\":133}],\"default\":null,\"field-id\":132},"
    "{\"name\":\"equality_ids\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"int\","
    "\"element-id\":136}],\"default\":null,\"field-id\":135},"
    "{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,"
    "\"field-id\":140}"
    "]},\"field-id\":2}]}";

static const char MLIST_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
    "{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
    "{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
    "{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
    "{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
    "{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
    "{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
    "{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
    "{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
    "{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
    "{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
    "{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
    "{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514},"
    "{\"name\":\"partitions\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":"
    "\"record\",\"name\":\"r508\",\"fields\":["
    "{\"name\":\"contains_null\",\"type\":\"boolean\",\"field-id\":509},"
    "{\"name\":\"contains_nan\",\"type\":[\"null\",\"boolean\"],\"default\":null,"
    "\"field-id\":518},"
    "{\"name\":\"lower_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,"
    "\"field-id\":510},"
    "{\"name\":\"upper_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,"
    "\"field-id\":511}]},\"element-id\":508}],\"default\":null,\"field-id\":507},"
    "{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,"
    "\"field-id\":519}]}";

/* Partition field name: Avro names are [A-Za-z_][A-Za-z0-9_]*, and the spec's are too. */
static int
avro_name_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static nf_status
check_spec(const nf_ice_spec *spec, nf_err *err)
{
    if (spec->transform == NF_ICE_UNPARTITIONED)
        return NF_OK;
    if (spec->transform != NF_ICE_DAY && spec->transform != NF_ICE_IDENTITY)
        return nf_err_set(err, NF_EINVAL, "partition spec %d: unsupported transform %d",
                          spec->spec_id, (int)spec->transform);
    if (!avro_name_ok(spec->name) || spec->field_id < 1000)
        return nf_err_set(err, NF_EINVAL, "partition spec %d: bad field \"%.64s\" id %d",
                          spec->spec_id, spec->name, spec->field_id);
    return NF_OK;
}

/* The manifest_entry schema for spec (malloc'd). */
static char *
entry_schema(const nf_ice_spec *spec)
{
    char part[256] = "";
    if (spec->transform == NF_ICE_DAY)
        snprintf(part, sizeof(part),
                 "{\"name\":\"%s\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":"
                 "\"date\"}],\"default\":null,\"field-id\":%d}",
                 spec->name, spec->field_id);
    else if (spec->transform == NF_ICE_IDENTITY)
        snprintf(part, sizeof(part),
                 "{\"name\":\"%s\",\"type\":[\"null\",\"int\"],\"default\":null,"
                 "\"field-id\":%d}",
                 spec->name, spec->field_id);
    size_t len = sizeof(ENTRY_SCHEMA_HEAD) + strlen(part) + sizeof(ENTRY_SCHEMA_TAIL);
    char *s = malloc(len);
    if (s != NULL)
        snprintf(s, len, "%s%s%s", ENTRY_SCHEMA_HEAD, part, ENTRY_SCHEMA_TAIL);
    return s;
}

/* The header's partition-spec: a JSON array of the spec's fields (malloc'd). */
static char *
spec_fields_json(const nf_ice_spec *spec)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    if (spec->transform != NF_ICE_UNPARTITIONED) {
        json_t *f = json_pack("{s:s, s:s, s:i, s:i}", "name", spec->name, "transform",
                              spec->transform == NF_ICE_DAY ? "day" : "identity",
                              "source-id", (int)spec->source_id, "field-id",
                              (int)spec->field_id);
        if (f == NULL || json_array_append_new(arr, f) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

/* ---- setting values ---------------------------------------------------------------------- */

/* Each returns 0 or libavro's error; callers map it to NF_EINVAL with avro_strerror(). */
static int
field(avro_value_t *rec, const char *name, avro_value_t *out)
{
    return avro_value_get_by_name(rec, name, out, NULL);
}

static int
set_null(avro_value_t *u)
{
    avro_value_t b;
    return avro_value_set_branch(u, 0, &b) || avro_value_set_null(&b);
}

static int
set_opt_long(avro_value_t *u, int64_t v)
{
    avro_value_t b;
    if (v < 0)
        return set_null(u);
    return avro_value_set_branch(u, 1, &b) || avro_value_set_long(&b, v);
}

static int
set_int_field(avro_value_t *rec, const char *name, int32_t v)
{
    avro_value_t f;
    return field(rec, name, &f) || avro_value_set_int(&f, v);
}

static int
set_long_field(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    return field(rec, name, &f) || avro_value_set_long(&f, v);
}

/* Which statistic a map holds. */
enum stat_kind { ST_SIZE, ST_VALUES, ST_NULLS, ST_LOWER, ST_UPPER };

static int
stat_present(const nf_ice_colstat *c, enum stat_kind k)
{
    switch (k) {
    case ST_SIZE: return c->column_size >= 0;
    case ST_VALUES: return c->value_count >= 0;
    case ST_NULLS: return c->null_count >= 0;
    case ST_LOWER: return c->lower_len > 0;
    case ST_UPPER: return c->upper_len > 0;
    }
    return 0;
}

/* One statistics map (array of {key, value}); null when no column has the statistic. */
static int
set_stat_map(avro_value_t *df, const char *name, const nf_ice_datafile *f, enum stat_kind k)
{
    avro_value_t u, arr, item, key, val;
    size_t present = 0;
    for (size_t i = 0; i < f->ncols; i++)
        present += stat_present(&f->cols[i], k) != 0;
    if (field(df, name, &u))
        return -1;
    if (present == 0)
        return set_null(&u);
    if (avro_value_set_branch(&u, 1, &arr))
        return -1;
    for (size_t i = 0; i < f->ncols; i++) {
        const nf_ice_colstat *c = &f->cols[i];
        if (!stat_present(c, k))
            continue;
        if (avro_value_append(&arr, &item, NULL) || field(&item, "key", &key) ||
            field(&item, "value", &val) || avro_value_set_int(&key, c->field_id))
            return -1;
        int rc;
        switch (k) {
        case ST_SIZE: rc = avro_value_set_long(&val, c->column_size); break;
        case ST_VALUES: rc = avro_value_set_long(&val, c->value_count); break;
        case ST_NULLS: rc = avro_value_set_long(&val, c->null_count); break;
        case ST_LOWER: rc = avro_value_set_bytes(&val, (void *)c->lower, c->lower_len); break;
        default: rc = avro_value_set_bytes(&val, (void *)c->upper, c->upper_len); break;
        }
        if (rc)
            return -1;
    }
    return 0;
}

/* Checks one data file before it is written (message names file and column). */
static nf_status
check_file(const nf_ice_manifest_ctx *ctx, const nf_ice_datafile *f, size_t i, nf_err *err)
{
    if (f->path == NULL || f->path[0] == '\0')
        return nf_err_set(err, NF_EINVAL, "data file %zu has no path", i);
    if (f->status != NF_ICE_EXISTING && f->status != NF_ICE_ADDED &&
        f->status != NF_ICE_DELETED)
        return nf_err_set(err, NF_EINVAL, "data file %s: bad status %d", f->path,
                          (int)f->status);
    if (f->record_count < 0 || f->file_size < 0)
        return nf_err_set(err, NF_EINVAL, "data file %s: negative record count or size",
                          f->path);
    if (f->ncols > 0 && f->cols == NULL)
        return nf_err_set(err, NF_EINVAL, "data file %s: %zu columns but no stats", f->path,
                          f->ncols);
    for (size_t c = 0; c < f->ncols; c++) {
        const nf_ice_colstat *s = &f->cols[c];
        if (s->field_id <= 0 || s->lower_len > NF_ICE_BOUND_MAX ||
            s->upper_len > NF_ICE_BOUND_MAX)
            return nf_err_set(err, NF_EINVAL, "data file %s: column %zu (field %d) is invalid",
                              f->path, c, s->field_id);
        size_t want = ctx->type_of ? nf_ice_bound_len(ctx->type_of(s->field_id)) : 0;
        if (want && ((s->lower_len && s->lower_len != want) ||
                     (s->upper_len && s->upper_len != want)))
            return nf_err_set(err, NF_EINVAL, "data file %s: field %d bounds must be %zu "
                              "bytes", f->path, s->field_id, want);
    }
    return NF_OK;
}

static int
set_entry(avro_value_t *rec, const nf_ice_spec *spec, const nf_ice_datafile *f,
          int64_t snapshot_id, int64_t seq)
{
    avro_value_t u, df, part, b;
    if (set_int_field(rec, "status", (int32_t)f->status))
        return -1;
    /* ADDED entries inherit snapshot id and sequence numbers from the manifest list (null);
     * EXISTING and DELETED ones carry them (given, or this manifest's when -1). */
    bool added = f->status == NF_ICE_ADDED;
    int64_t snap = added ? -1 : (f->snapshot_id >= 0 ? f->snapshot_id : snapshot_id);
    int64_t dseq = added ? -1 : (f->data_seq >= 0 ? f->data_seq : seq);
    int64_t fseq = added ? -1 : (f->file_seq >= 0 ? f->file_seq : seq);
    if (field(rec, "snapshot_id", &u) || set_opt_long(&u, snap) ||
        field(rec, "sequence_number", &u) || set_opt_long(&u, dseq) ||
        field(rec, "file_sequence_number", &u) || set_opt_long(&u, fseq))
        return -1;
    if (field(rec, "data_file", &df) || set_int_field(&df, "content", 0))
        return -1;
    if (field(&df, "file_path", &u) || avro_value_set_string(&u, f->path) ||
        field(&df, "file_format", &u) || avro_value_set_string(&u, "PARQUET"))
        return -1;
    if (field(&df, "partition", &part))
        return -1;
    if (spec->transform != NF_ICE_UNPARTITIONED) {
        if (field(&part, spec->name, &u))
            return -1;
        if (f->partition_null ? set_null(&u)
                              : (avro_value_set_branch(&u, 1, &b) ||
                                 avro_value_set_int(&b, f->partition)))
            return -1;
    }
    if (set_long_field(&df, "record_count", f->record_count) ||
        set_long_field(&df, "file_size_in_bytes", f->file_size))
        return -1;
    if (set_stat_map(&df, "column_sizes", f, ST_SIZE) ||
        set_stat_map(&df, "value_counts", f, ST_VALUES) ||
        set_stat_map(&df, "null_value_counts", f, ST_NULLS) ||
        field(&df, "nan_value_counts", &u) || set_null(&u) ||
        set_stat_map(&df, "lower_bounds", f, ST_LOWER) ||
        set_stat_map(&df, "upper_bounds", f, ST_UPPER))
        return -1;
    if (field(&df, "key_metadata", &u) || set_null(&u) || field(&df, "split_offsets", &u) ||
        set_null(&u) || field(&df, "equality_ids", &u) || set_null(&u) ||
        field(&df, "sort_order_id", &u))
        return -1;
    if (f->sort_order_id < 0)
        return set_null(&u);
    return avro_value_set_branch(&u, 1, &b) || avro_value_set_int(&b, f->sort_order_id);
}

nf_status
nf_ice_manifest_write(const char *path, const nf_ice_manifest_ctx *ctx, int64_t snapshot_id,
                      int64_t seq, const nf_ice_datafile *files, size_t n, nf_ice_manifest *out,
                      nf_err *err)
{
    if (path == NULL || path[0] != '/' || ctx == NULL || ctx->spec == NULL ||
        ctx->schema_json == NULL || (n > 0 && files == NULL) || snapshot_id < 0 || seq < 0)
        return nf_err_set(err, NF_EINVAL, "manifest %s: bad arguments",
                          path ? path : "(null)");
    const nf_ice_spec *spec = ctx->spec;
    nf_status st = check_spec(spec, err);
    if (st != NF_OK)
        return st;
    if (n > INT32_MAX)
        return nf_err_set(err, NF_EINVAL, "manifest %s: %zu files", path, n);
    nf_ice_manifest m;
    memset(&m, 0, sizeof(m));
    m.spec_id = spec->spec_id;
    m.sequence_number = seq;
    m.min_sequence_number = seq;
    m.added_snapshot_id = snapshot_id;
    m.has_summary = spec->transform != NF_ICE_UNPARTITIONED;
    bool first_min = true;
    for (size_t i = 0; i < n; i++) {
        const nf_ice_datafile *f = &files[i];
        if ((st = check_file(ctx, f, i, err)) != NF_OK)
            return st;
        switch (f->status) {
        case NF_ICE_ADDED: m.added_files++, m.added_rows += f->record_count; break;
        case NF_ICE_EXISTING: m.existing_files++, m.existing_rows += f->record_count; break;
        default: m.deleted_files++, m.deleted_rows += f->record_count; break;
        }
        if (f->status != NF_ICE_DELETED) {
            int64_t ds = f->status == NF_ICE_ADDED || f->data_seq < 0 ? seq : f->data_seq;
            if (first_min || ds < m.min_sequence_number)
                m.min_sequence_number = ds;
            first_min = false;
        }
        if (!m.has_summary)
            continue;
        if (f->partition_null) {
            m.contains_null = true;
        } else if (!m.has_bounds) {
            m.has_bounds = true;
            m.lower = m.upper = f->partition;
        } else {
            if (f->partition < m.lower)
                m.lower = f->partition;
            if (f->partition > m.upper)
                m.upper = f->partition;
        }
    }

    char *schema = entry_schema(spec), *spec_json = spec_fields_json(spec);
    nf_avro_writer *w = NULL;
    if (schema == NULL || spec_json == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "manifest %s: schema", path);
        goto done;
    }
    char schema_id[24], spec_id[24];
    snprintf(schema_id, sizeof(schema_id), "%" PRId32, ctx->schema_id);
    snprintf(spec_id, sizeof(spec_id), "%" PRId32, spec->spec_id);
    const char *meta[] = {"schema", ctx->schema_json, "schema-id", schema_id,
                          "partition-spec", spec_json, "partition-spec-id", spec_id,
                          "format-version", "2", "content", "data"};
    if ((st = nf_avro_writer_new(schema, meta, 6, &w, err)) != NF_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (set_entry(nf_avro_writer_record(w), spec, &files[i], snapshot_id, seq) != 0) {
            st = nf_err_set(err, NF_EINVAL, "manifest %s: entry %s: %s", path, files[i].path,
                            avro_strerror());
            goto done;
        }
        if ((st = nf_avro_writer_append(w, err)) != NF_OK)
            goto done;
    }
    m.path = path_to_uri(path);
    if (m.path == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "manifest %s: URI", path);
        goto done;
    }
    if ((st = nf_avro_writer_finish(w, path, &m.length, err)) != NF_OK) {
        free(m.path);
        goto done;
    }
    *out = m;
done:
    nf_avro_writer_free(w);
    free(schema);
    free(spec_json);
    return st;
}

/* ---- manifest lists: writing -------------------------------------------------------------- */

static int
set_opt_bytes(avro_value_t *u, const uint8_t *p, size_t n, bool present)
{
    avro_value_t b;
    if (!present)
        return set_null(u);
    return avro_value_set_branch(u, 1, &b) || avro_value_set_bytes(&b, (void *)p, n);
}

static int
set_mlist_entry(avro_value_t *rec, const nf_ice_manifest *m)
{
    avro_value_t u, arr, item, b;
    if (field(rec, "manifest_path", &u) || avro_value_set_string(&u, m->path) ||
        set_long_field(rec, "manifest_length", m->length) ||
        set_int_field(rec, "partition_spec_id", m->spec_id) ||
        set_int_field(rec, "content", m->content) ||
        set_long_field(rec, "sequence_number", m->sequence_number) ||
        set_long_field(rec, "min_sequence_number", m->min_sequence_number) ||
        set_long_field(rec, "added_snapshot_id", m->added_snapshot_id) ||
        set_int_field(rec, "added_files_count", m->added_files) ||
        set_int_field(rec, "existing_files_count", m->existing_files) ||
        set_int_field(rec, "deleted_files_count", m->deleted_files) ||
        set_long_field(rec, "added_rows_count", m->added_rows) ||
        set_long_field(rec, "existing_rows_count", m->existing_rows) ||
        set_long_field(rec, "deleted_rows_count", m->deleted_rows) ||
        field(rec, "key_metadata", &u) || set_null(&u) || field(rec, "partitions", &u))
        return -1;
    /* No summary: null (readers then cannot prune by it), never an empty list for a
     * partitioned spec, which Java readers would index past. */
    if (!m->has_summary)
        return set_null(&u);
    uint8_t lo[4], hi[4];
    nf_ice_bound_int(m->lower, lo);
    nf_ice_bound_int(m->upper, hi);
    if (avro_value_set_branch(&u, 1, &arr) || avro_value_append(&arr, &item, NULL) ||
        field(&item, "contains_null", &b) || avro_value_set_boolean(&b, m->contains_null) ||
        field(&item, "contains_nan", &b) || set_null(&b) ||
        field(&item, "lower_bound", &b) || set_opt_bytes(&b, lo, 4, m->has_bounds) ||
        field(&item, "upper_bound", &b) || set_opt_bytes(&b, hi, 4, m->has_bounds))
        return -1;
    return 0;
}

nf_status
nf_ice_mlist_write(const char *path, int64_t snapshot_id, int64_t parent_id, int64_t seq,
                   const nf_ice_manifest *m, size_t n, nf_err *err)
{
    if (path == NULL || path[0] != '/' || (n > 0 && m == NULL) || snapshot_id < 0 || seq < 0)
        return nf_err_set(err, NF_EINVAL, "manifest list %s: bad arguments",
                          path ? path : "(null)");
    for (size_t i = 0; i < n; i++)
        if (m[i].path == NULL || m[i].length < 0 || m[i].added_files < 0 ||
            m[i].existing_files < 0 || m[i].deleted_files < 0)
            return nf_err_set(err, NF_EINVAL, "manifest list %s: entry %zu (%s) is invalid",
                              path, i, m[i].path ? m[i].path : "no path");
    char snap[24], parent[24], sequence[24];
    snprintf(snap, sizeof(snap), "%" PRId64, snapshot_id);
    if (parent_id < 0)
        snprintf(parent, sizeof(parent), "null");
    else
        snprintf(parent, sizeof(parent), "%" PRId64, parent_id);
    snprintf(sequence, sizeof(sequence), "%" PRId64, seq);
    const char *meta[] = {"snapshot-id", snap, "parent-snapshot-id", parent,
                          "sequence-number", sequence, "format-version", "2"};
    nf_avro_writer *w;
    nf_status st = nf_avro_writer_new(MLIST_SCHEMA, meta, 4, &w, err);
    if (st != NF_OK)
        return st;
    for (size_t i = 0; i < n && st == NF_OK; i++) {
        if (set_mlist_entry(nf_avro_writer_record(w), &m[i]) != 0)
            st = nf_err_set(err, NF_EINVAL, "manifest list %s: entry %s: %s", path, m[i].path,
                            avro_strerror());
        else
            st = nf_avro_writer_append(w, err);
    }
    if (st == NF_OK)
        st = nf_avro_writer_finish(w, path, NULL, err);
    nf_avro_writer_free(w);
    return st;
}

/* ---- reading: field resolution by id ------------------------------------------------------ */

/* The type of a field with a union ["null", T] unwrapped to T (NULL if absent/odd). */
static json_t *
unwrap(json_t *type)
{
    if (json_is_array(type)) {
        size_t i;
        json_t *b;
        json_array_foreach(type, i, b)
        {
            if (!(json_is_string(b) && strcmp(json_string_value(b), "null") == 0))
                return b;
        }
        return NULL;
    }
    return type;
}

/* Index of the field with field-id id in record JSON rec, -1 if none; *type (may be NULL)
 * receives its unwrapped type. */
static int
field_by_id(json_t *rec, int id, json_t **type)
{
    json_t *fields = json_is_object(rec) ? json_object_get(rec, "fields") : NULL;
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        json_t *fid = json_object_get(f, "field-id");
        if (json_is_integer(fid) && json_integer_value(fid) == id) {
            if (type != NULL)
                *type = unwrap(json_object_get(f, "type"));
            return i > INT32_MAX ? -1 : (int)i;
        }
    }
    return -1;
}

/* The record type of an array's items, or NULL. */
static json_t *
array_items(json_t *type)
{
    if (!json_is_object(type))
        return NULL;
    json_t *items = json_object_get(type, "items");
    return json_is_object(items) ? items : NULL;
}

/* A statistics map: the field's index and the key/value indexes in its item record. */
typedef struct map_idx {
    int field, key, val;
} map_idx;

static void
resolve_map(json_t *df, int id, int kid, int vid, map_idx *m)
{
    json_t *type = NULL;
    m->field = field_by_id(df, id, &type);
    json_t *item = array_items(type);
    m->key = item ? field_by_id(item, kid, NULL) : -1;
    m->val = item ? field_by_id(item, vid, NULL) : -1;
    if (m->key < 0 || m->val < 0)
        m->field = -1; /* not a map we understand (e.g. an Avro map): ignore it */
}

/* Optional value: returns 1 with *out the value, 0 for null/absent, -1 on error. */
static int
opt(avro_value_t *parent, int idx, avro_value_t *out)
{
    avro_value_t v;
    if (idx < 0)
        return 0;
    if (avro_value_get_by_index(parent, (size_t)idx, &v, NULL) != 0)
        return -1;
    if (avro_value_get_type(&v) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(&v, &b) != 0)
            return -1;
        v = b;
    }
    if (avro_value_get_type(&v) == AVRO_NULL)
        return 0;
    *out = v;
    return 1;
}

/* An integer of either width. */
static int
as_long(avro_value_t *v, int64_t *out)
{
    int32_t i;
    switch (avro_value_get_type(v)) {
    case AVRO_INT64: return avro_value_get_long(v, out);
    case AVRO_INT32:
        if (avro_value_get_int(v, &i) != 0)
            return -1;
        *out = i;
        return 0;
    default: return -1;
    }
}

/* Optional integer: 1 present, 0 null/absent, -1 wrong type. */
static int
opt_long(avro_value_t *parent, int idx, int64_t *out)
{
    avro_value_t v;
    int r = opt(parent, idx, &v);
    if (r <= 0)
        return r;
    return as_long(&v, out) == 0 ? 1 : -1;
}

static int
opt_int(avro_value_t *parent, int idx, int32_t *out)
{
    int64_t v;
    int r = opt_long(parent, idx, &v);
    if (r == 1) {
        if (v < INT32_MIN || v > INT32_MAX)
            return -1;
        *out = (int32_t)v;
    }
    return r;
}

/* ---- reading manifests -------------------------------------------------------------------- */

typedef struct entry_idx {
    int status, snap, seq, fseq, df;
    int content, path, record_count, file_size, partition, part_field, sort_order;
    map_idx maps[5]; /* enum stat_kind order */
} entry_idx;

static const int MAP_IDS[5][3] = {
    {108, 117, 118}, {109, 119, 120}, {110, 121, 122}, {125, 126, 127}, {128, 129, 130}};

/* Spec from the header's partition-spec / partition-spec-id. */
static void
header_spec(nf_avro_reader *r, nf_ice_manifest_spec *ms)
{
    memset(ms, 0, sizeof(*ms));
    size_t len, ilen;
    const char *text = nf_avro_reader_meta(r, "partition-spec", &len);
    const char *id = nf_avro_reader_meta(r, "partition-spec-id", &ilen);
    if (text == NULL)
        return;
    if (id != NULL && ilen > 0 && ilen < 12) {
        char tmp[12];
        memcpy(tmp, id, ilen);
        tmp[ilen] = '\0';
        ms->spec.spec_id = (int32_t)strtol(tmp, NULL, 10);
    }
    json_t *arr = json_loadb(text, len, 0, NULL);
    if (!json_is_array(arr) || json_array_size(arr) > 1) {
        json_decref(arr);
        return;
    }
    if (json_array_size(arr) == 0) {
        ms->spec.transform = NF_ICE_UNPARTITIONED;
        ms->known = true;
        json_decref(arr);
        return;
    }
    json_t *f = json_array_get(arr, 0);
    const char *tr = json_string_value(json_object_get(f, "transform"));
    const char *name = json_string_value(json_object_get(f, "name"));
    json_t *src = json_object_get(f, "source-id"), *fid = json_object_get(f, "field-id");
    if (tr != NULL && name != NULL && json_is_integer(src) && json_is_integer(fid) &&
        (strcmp(tr, "day") == 0 || strcmp(tr, "identity") == 0) &&
        json_integer_value(src) > 0 && json_integer_value(src) <= INT32_MAX &&
        json_integer_value(fid) > 0 && json_integer_value(fid) <= INT32_MAX) {
        ms->spec.transform = strcmp(tr, "day") == 0 ? NF_ICE_DAY : NF_ICE_IDENTITY;
        ms->spec.source_id = (int32_t)json_integer_value(src);
        ms->spec.field_id = (int32_t)json_integer_value(fid);
        snprintf(ms->spec.name, sizeof(ms->spec.name), "%s", name);
        ms->known = true;
    }
    json_decref(arr);
}

static nf_status
resolve_entry(nf_avro_reader *r, const char *name, const nf_ice_manifest_spec *ms,
              entry_idx *ix, nf_err *err)
{
    const char *text = nf_avro_reader_schema_json(r);
    json_t *root = json_loads(text, 0, NULL);
    nf_status st = NF_OK;
    json_t *df = NULL, *part = NULL;
    ix->status = field_by_id(root, 0, NULL);
    ix->snap = field_by_id(root, 1, NULL);
    ix->seq = field_by_id(root, 3, NULL);
    ix->fseq = field_by_id(root, 4, NULL);
    ix->df = field_by_id(root, 2, &df);
    ix->content = field_by_id(df, 134, NULL);
    ix->path = field_by_id(df, 100, NULL);
    ix->record_count = field_by_id(df, 103, NULL);
    ix->file_size = field_by_id(df, 104, NULL);
    ix->partition = field_by_id(df, 102, &part);
    ix->sort_order = field_by_id(df, 140, NULL);
    ix->part_field = -1;
    if (ms->known && ms->spec.transform != NF_ICE_UNPARTITIONED)
        ix->part_field = field_by_id(part, ms->spec.field_id, NULL);
    for (int k = 0; k < 5; k++)
        resolve_map(df, MAP_IDS[k][0], MAP_IDS[k][1], MAP_IDS[k][2], &ix->maps[k]);
    const char *missing = ix->status < 0 ? "status (0)" : ix->df < 0 ? "data_file (2)"
                          : ix->path < 0 ? "file_path (100)"
                          : ix->record_count < 0 ? "record_count (103)"
                          : ix->file_size < 0 ? "file_size_in_bytes (104)" : NULL;
    if (root == NULL)
        st = nf_err_set(err, NF_EPROTO, "manifest %s: schema is not JSON", name);
    else if (missing != NULL)
        st = nf_err_set(err, NF_EPROTO, "manifest %s: no field %s in its schema", name,
                        missing);
    json_decref(root);
    return st;
}

/* The column stat of field id in f, appended if new; hint makes repeated orders O(1). */
static nf_ice_colstat *
colstat(nf_ice_datafile *f, size_t *cap, size_t *hint, int32_t id)
{
    if (*hint < f->ncols && f->cols[*hint].field_id == id)
        return &f->cols[(*hint)++];
    for (size_t i = 0; i < f->ncols; i++)
        if (f->cols[i].field_id == id) {
            *hint = i + 1;
            return &f->cols[i];
        }
    if (f->ncols >= MAX_COLS)
        return NULL;
    if (f->ncols == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        nf_ice_colstat *c = realloc(f->cols, ncap * sizeof(*c));
        if (c == NULL)
            return NULL;
        f->cols = c;
        *cap = ncap;
    }
    nf_ice_colstat *c = &f->cols[f->ncols++];
    memset(c, 0, sizeof(*c));
    c->field_id = id;
    c->column_size = c->value_count = c->null_count = -1;
    *hint = f->ncols;
    return c;
}

static int
read_stat_map(avro_value_t *df, const map_idx *mi, enum stat_kind k, nf_ice_datafile *f,
              size_t *cap)
{
    avro_value_t arr, item, key, val;
    int r = opt(df, mi->field, &arr);
    if (r <= 0)
        return r;
    size_t n;
    if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n) != 0)
        return -1;
    size_t hint = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id;
        if (avro_value_get_by_index(&arr, i, &item, NULL) != 0 ||
            avro_value_get_by_index(&item, (size_t)mi->key, &key, NULL) != 0 ||
            avro_value_get_by_index(&item, (size_t)mi->val, &val, NULL) != 0 ||
            avro_value_get_type(&key) != AVRO_INT32 || avro_value_get_int(&key, &id) != 0)
            return -1;
        nf_ice_colstat *c = colstat(f, cap, &hint, id);
        if (c == NULL)
            return -1;
        if (k == ST_LOWER || k == ST_UPPER) {
            const void *p;
            size_t len;
            if (avro_value_get_type(&val) != AVRO_BYTES ||
                avro_value_get_bytes(&val, &p, &len) != 0)
                return -1;
            if (len == 0 || len > NF_ICE_BOUND_MAX)
                continue; /* invariant 2 */
            if (k == ST_LOWER) {
                memcpy(c->lower, p, len);
                c->lower_len = (uint8_t)len;
            } else {
                memcpy(c->upper, p, len);
                c->upper_len = (uint8_t)len;
            }
        } else {
            int64_t v;
            if (as_long(&val, &v) != 0)
                return -1;
            if (k == ST_SIZE)
                c->column_size = v;
            else if (k == ST_VALUES)
                c->value_count = v;
            else
                c->null_count = v;
        }
    }
    return 0;
}

/* Fills f from one manifest_entry record; returns a static description of what was wrong
 * or NULL. */
static const char *
read_entry(avro_value_t *rec, const entry_idx *ix, const nf_ice_manifest *m,
           nf_ice_datafile *f)
{
    avro_value_t df, v, part;
    int32_t i32;
    int64_t i64;
    if (opt_int(rec, ix->status, &i32) != 1 || i32 < 0 || i32 > 2)
        return "bad status";
    f->status = (nf_ice_entry_status)i32;
    int r = opt_long(rec, ix->snap, &i64);
    if (r < 0)
        return "bad snapshot_id";
    f->snapshot_id = r ? i64 : m->added_snapshot_id;
    r = opt_long(rec, ix->seq, &i64);
    if (r < 0)
        return "bad sequence_number";
    f->data_seq = r ? i64 : m->sequence_number;
    r = opt_long(rec, ix->fseq, &i64);
    if (r < 0)
        return "bad file_sequence_number";
    f->file_seq = r ? i64 : m->sequence_number;
    if (opt(rec, ix->df, &df) != 1 || avro_value_get_type(&df) != AVRO_RECORD)
        return "bad data_file";
    r = opt_int(&df, ix->content, &i32);
    if (r < 0 || (r == 1 && i32 != 0))
        return "not a data file (delete files are not supported)";
    const char *s;
    size_t len;
    if (opt(&df, ix->path, &v) != 1 || avro_value_get_type(&v) != AVRO_STRING ||
        avro_value_get_string(&v, &s, &len) != 0 || len == 0)
        return "bad file_path";
    /* libavro's length includes the terminating NUL; refuse embedded NULs. */
    if (strlen(s) + 1 != len)
        return "file_path with a NUL byte";
    if (opt_long(&df, ix->record_count, &f->record_count) != 1 || f->record_count < 0)
        return "bad record_count";
    if (opt_long(&df, ix->file_size, &f->file_size) != 1 || f->file_size < 0)
        return "bad file_size_in_bytes";
    f->partition_null = true;
    f->partition = 0;
    if (ix->part_field >= 0 && opt(&df, ix->partition, &part) == 1 &&
        avro_value_get_type(&part) == AVRO_RECORD) {
        r = opt_int(&part, ix->part_field, &i32);
        if (r < 0)
            return "partition value is not an int";
        if (r == 1) {
            f->partition = i32;
            f->partition_null = false;
        }
    }
    r = opt_int(&df, ix->sort_order, &i32);
    if (r < 0)
        return "bad sort_order_id";
    f->sort_order_id = r ? i32 : -1;
    size_t cap = 0;
    for (int k = 0; k < 5; k++)
        if (ix->maps[k].field >= 0 && read_stat_map(&df, &ix->maps[k], (enum stat_kind)k, f,
                                                    &cap) != 0)
            return "bad column statistics";
    f->path = strdup(s);
    if (f->path == NULL)
        return "out of memory";
    return NULL;
}

static nf_status
read_manifest(nf_avro_reader *r, const nf_ice_manifest *m, nf_ice_datafile **out, size_t *n,
              nf_ice_manifest_spec *spec_out, nf_err *err)
{
    const char *name = m->path;
    size_t len;
    const char *content = nf_avro_reader_meta(r, "content", &len);
    if (content != NULL && !(len == 4 && memcmp(content, "data", 4) == 0))
        return nf_err_set(err, NF_EINVAL, "manifest %s: content \"%.*s\" is not supported",
                          name, (int)(len > 16 ? 16 : len), content);
    nf_ice_manifest_spec ms;
    header_spec(r, &ms);
    entry_idx ix;
    nf_status st = resolve_entry(r, name, &ms, &ix, err);
    if (st != NF_OK)
        return st;
    nf_ice_datafile *files = NULL;
    size_t count = 0, cap = 0;
    for (;;) {
        avro_value_t *rec;
        st = nf_avro_reader_next(r, &rec, err);
        if (st == NF_ENOTFOUND) {
            st = NF_OK;
            break;
        }
        if (st != NF_OK)
            goto fail;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            nf_ice_datafile *nf = realloc(files, ncap * sizeof(*nf));
            if (nf == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "manifest %s: %zu entries", name, ncap);
                goto fail;
            }
            files = nf;
            cap = ncap;
        }
        nf_ice_datafile *f = &files[count];
        memset(f, 0, sizeof(*f));
        const char *why = read_entry(rec, &ix, m, f);
        if (why != NULL) {
            nf_ice_datafile_clear(f);
            st = nf_err_set(err, strstr(why, "delete") ? NF_EINVAL : NF_EPROTO,
                            "manifest %s: entry %zu: %s", name, count, why);
            goto fail;
        }
        count++;
    }
    *out = files;
    *n = count;
    if (spec_out != NULL)
        *spec_out = ms;
    return NF_OK;
fail:
    nf_ice_datafiles_free(files, count);
    return st;
}

nf_status
nf_ice_manifest_read_spec(const nf_ice_manifest *m, nf_ice_datafile **out, size_t *n,
                          nf_ice_manifest_spec *spec_out, nf_err *err)
{
    if (m == NULL || m->path == NULL)
        return nf_err_set(err, NF_EINVAL, "manifest without a path");
    char *path;
    nf_status st = uri_to_path(m->path, &path, err);
    if (st != NF_OK)
        return st;
    nf_avro_reader *r;
    st = nf_avro_reader_open_file(path, &r, err);
    if (st == NF_OK) {
        st = read_manifest(r, m, out, n, spec_out, err);
        nf_avro_reader_free(r);
    }
    free(path);
    return st;
}

nf_status
nf_ice_manifest_read(const nf_ice_manifest *m, nf_ice_datafile **out, size_t *n, nf_err *err)
{
    return nf_ice_manifest_read_spec(m, out, n, NULL, err);
}

nf_status
nf_ice_manifest_read_mem(const nf_ice_manifest *m, const uint8_t *buf, size_t len,
                         nf_ice_datafile **out, size_t *n, nf_err *err)
{
    nf_avro_reader *r;
    nf_status st = nf_avro_reader_open_mem(buf, len, m->path, &r, err);
    if (st != NF_OK)
        return st;
    st = read_manifest(r, m, out, n, NULL, err);
    nf_avro_reader_free(r);
    return st;
}

/* ---- reading manifest lists --------------------------------------------------------------- */

typedef struct mlist_idx {
    int path, length, spec_id, content, seq, min_seq, snap;
    int added, existing, deleted, added_rows, existing_rows, deleted_rows;
    int partitions, contains_null, lower, upper;
} mlist_idx;

static nf_status
resolve_mlist(nf_avro_reader *r, const char *name, mlist_idx *ix, nf_err *err)
{
    json_t *root = json_loads(nf_avro_reader_schema_json(r), 0, NULL);
    json_t *parts = NULL;
    ix->path = field_by_id(root, 500, NULL);
    ix->length = field_by_id(root, 501, NULL);
    ix->spec_id = field_by_id(root, 502, NULL);
    ix->content = field_by_id(root, 517, NULL);
    ix->seq = field_by_id(root, 515, NULL);
    ix->min_seq = field_by_id(root, 516, NULL);
    ix->snap = field_by_id(root, 503, NULL);
    ix->added = field_by_id(root, 504, NULL);
    ix->existing = field_by_id(root, 505, NULL);
    ix->deleted = field_by_id(root, 506, NULL);
    ix->added_rows = field_by_id(root, 512, NULL);
    ix->existing_rows = field_by_id(root, 513, NULL);
    ix->deleted_rows = field_by_id(root, 514, NULL);
    ix->partitions = field_by_id(root, 507, &parts);
    json_t *item = array_items(parts);
    ix->contains_null = field_by_id(item, 509, NULL);
    ix->lower = field_by_id(item, 510, NULL);
    ix->upper = field_by_id(item, 511, NULL);
    if (ix->contains_null < 0)
        ix->partitions = -1;
    nf_status st = NF_OK;
    if (root == NULL)
        st = nf_err_set(err, NF_EPROTO, "manifest list %s: schema is not JSON", name);
    else if (ix->path < 0 || ix->length < 0 || ix->spec_id < 0 || ix->snap < 0)
        st = nf_err_set(err, NF_EPROTO, "manifest list %s: schema lacks field 500, 501, 502 "
                        "or 503", name);
    json_decref(root);
    return st;
}

static int
opt_bound4(avro_value_t *rec, int idx, int32_t *out)
{
    avro_value_t v;
    const void *p;
    size_t len;
    int r = opt(rec, idx, &v);
    if (r <= 0)
        return r;
    if (avro_value_get_type(&v) != AVRO_BYTES || avro_value_get_bytes(&v, &p, &len) != 0)
        return -1;
    if (len != 4)
        return 0; /* a partition type we do not compare */
    const uint8_t *b = p;
    *out = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24);
    return 1;
}

static const char *
read_mlist_entry(avro_value_t *rec, const mlist_idx *ix, nf_ice_manifest *m)
{
    avro_value_t v, arr, item;
    const char *s;
    size_t len;
    int64_t i64;
    if (opt(rec, ix->path, &v) != 1 || avro_value_get_type(&v) != AVRO_STRING ||
        avro_value_get_string(&v, &s, &len) != 0 || len == 0 || strlen(s) + 1 != len)
        return "bad manifest_path";
    if (opt_long(rec, ix->length, &m->length) != 1 || m->length < 0)
        return "bad manifest_length";
    if (opt_int(rec, ix->spec_id, &m->spec_id) != 1)
        return "bad partition_spec_id";
    int32_t *ints[] = {&m->content, &m->added_files, &m->existing_files, &m->deleted_files};
    int iidx[] = {ix->content, ix->added, ix->existing, ix->deleted};
    for (int i = 0; i < 4; i++) {
        *ints[i] = 0;
        if (opt_int(rec, iidx[i], ints[i]) < 0 || *ints[i] < 0)
            return "bad content or file count";
    }
    int64_t *longs[] = {&m->sequence_number, &m->min_sequence_number, &m->added_snapshot_id,
                        &m->added_rows, &m->existing_rows, &m->deleted_rows};
    int lidx[] = {ix->seq, ix->min_seq, ix->snap, ix->added_rows, ix->existing_rows,
                  ix->deleted_rows};
    for (int i = 0; i < 6; i++) {
        int r = opt_long(rec, lidx[i], &i64);
        if (r < 0)
            return "bad sequence number, snapshot id or row count";
        *longs[i] = r == 1 ? i64 : 0;
    }
    m->has_summary = m->contains_null = m->has_bounds = false;
    m->lower = m->upper = 0;
    int r = opt(rec, ix->partitions, &arr);
    if (r < 0)
        return "bad partitions";
    size_t n = 0;
    if (r == 1 && (avro_value_get_type(&arr) != AVRO_ARRAY ||
                   avro_value_get_size(&arr, &n) != 0))
        return "bad partitions";
    if (n > 0) {
        int b;
        if (avro_value_get_by_index(&arr, 0, &item, NULL) != 0 ||
            opt(&item, ix->contains_null, &v) != 1 ||
            avro_value_get_type(&v) != AVRO_BOOLEAN || avro_value_get_boolean(&v, &b) != 0)
            return "bad partition summary";
        m->has_summary = true;
        m->contains_null = b != 0;
        int lr = opt_bound4(&item, ix->lower, &m->lower);
        int ur = opt_bound4(&item, ix->upper, &m->upper);
        if (lr < 0 || ur < 0)
            return "bad partition summary bounds";
        m->has_bounds = lr == 1 && ur == 1;
    }
    m->path = strdup(s);
    return m->path ? NULL : "out of memory";
}

static nf_status
read_mlist(nf_avro_reader *r, const char *name, nf_ice_manifest **out, size_t *n, nf_err *err)
{
    mlist_idx ix;
    nf_status st = resolve_mlist(r, name, &ix, err);
    if (st != NF_OK)
        return st;
    nf_ice_manifest *ms = NULL;
    size_t count = 0, cap = 0;
    for (;;) {
        avro_value_t *rec;
        st = nf_avro_reader_next(r, &rec, err);
        if (st == NF_ENOTFOUND) {
            st = NF_OK;
            break;
        }
        if (st != NF_OK)
            goto fail;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            nf_ice_manifest *nm = realloc(ms, ncap * sizeof(*nm));
            if (nm == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "manifest list %s: %zu entries", name, ncap);
                goto fail;
            }
            ms = nm;
            cap = ncap;
        }
        memset(&ms[count], 0, sizeof(ms[count]));
        const char *why = read_mlist_entry(rec, &ix, &ms[count]);
        if (why != NULL) {
            st = nf_err_set(err, NF_EPROTO, "manifest list %s: entry %zu: %s", name, count,
                            why);
            goto fail;
        }
        count++;
    }
    *out = ms;
    *n = count;
    return NF_OK;
fail:
    nf_ice_manifests_free(ms, count);
    return st;
}

nf_status
nf_ice_mlist_read(const char *uri, nf_ice_manifest **out, size_t *n, nf_err *err)
{
    if (uri == NULL)
        return nf_err_set(err, NF_EINVAL, "manifest list without a path");
    char *path;
    nf_status st = uri_to_path(uri, &path, err);
    if (st != NF_OK)
        return st;
    nf_avro_reader *r;
    st = nf_avro_reader_open_file(path, &r, err);
    if (st == NF_OK) {
        st = read_mlist(r, uri, out, n, err);
        nf_avro_reader_free(r);
    }
    free(path);
    return st;
}

nf_status
nf_ice_mlist_read_mem(const char *name, const uint8_t *buf, size_t len, nf_ice_manifest **out,
                      size_t *n, nf_err *err)
{
    nf_avro_reader *r;
    nf_status st = nf_avro_reader_open_mem(buf, len, name, &r, err);
    if (st != NF_OK)
        return st;
    st = read_mlist(r, name, out, n, err);
    nf_avro_reader_free(r);
    return st;
}
