/* metadata.c — Iceberg v2 table metadata (metadata.json) and the REST commit protocol
 * (requirements + updates) applied to it. Contract: iceberg.h, "table metadata".
 *
 * Design
 *   An nf_ice_table is the parsed jansson tree plus a cached array of nf_ice_snapshot whose
 *   strings point into the tree. The tree is the truth: members we do not know (a newer
 *   writer's, "statistics", "partition-statistics") are kept and written back untouched.
 *   The cache is rebuilt after every change.
 *
 *   nf_ice_table_apply works like a catalog server under its table lock: every requirement
 *   is checked against the table as it is, then the updates are applied one by one to a
 *   deep copy, the copy is validated as a whole (the same checks a parse makes) and only
 *   then swapped in. So a failure at any step leaves the table exactly as it was.
 *
 * Invariants (checked by validate(), which parse and apply both run)
 *   1. format-version is 2; every required member is present with the right JSON type.
 *   2. current-schema-id, default-spec-id and default-sort-order-id name existing entries.
 *   3. refs.main, when present, and current-snapshot-id agree; -1 means no current snapshot
 *      (written as -1 rather than null: every reader since Java's v1 accepts -1, pyiceberg
 *      and icebird included).
 *   4. Every ref names an existing snapshot; every snapshot has snapshot-id,
 *      sequence-number <= last-sequence-number, timestamp-ms, manifest-list and a summary
 *      whose "operation" is a string.
 *
 * Choices where the spec leaves room (the same as Java's TableMetadata.Builder):
 *   - add-snapshot: a sequence number not above last-sequence-number, or a snapshot id
 *     already present, means another writer got there first: NF_ECONFLICT (reload, retry).
 *   - last-updated-ms becomes the added snapshot's timestamp when the commit adds one, else
 *     the wall clock; snapshot-log entries carry that time.
 *   - metadata-log gets {timestamp-ms: the previous last-updated-ms, metadata-file: the
 *     previous file} and keeps write.metadata.previous-versions-max entries (default 100).
 *   - add-schema / add-spec / add-sort-order reuse the id of an identical existing entry,
 *     else take the highest id + 1; "-1" in the set-* updates means "the one just added".
 */
#include "meta_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/files.h"

/* metadata-log length when write.metadata.previous-versions-max is absent (Java's default). */
#define DEFAULT_PREVIOUS_VERSIONS_MAX 100
/* Largest snapshot id: JavaScript readers keep integers exactly only up to 2^53 - 1. */
#define SNAPSHOT_ID_MAX ((INT64_C(1) << 53) - 1)
/* Partition field ids start here (the spec); last-partition-id is 999 when unpartitioned. */
#define FIRST_PARTITION_FIELD_ID 1000

struct nf_ice_table {
    json_t *root;            /* the metadata object; owned */
    nf_ice_snapshot *snaps;  /* cache of root.snapshots, strings borrowed from root */
    size_t nsnaps;
    const nf_ice_snapshot *current; /* into snaps, NULL if none */
};

/* ---- small JSON helpers ---------------------------------------------------------------------- */

static bool
get_int(const json_t *obj, const char *key, int64_t *v)
{
    json_t *x = json_object_get(obj, key);
    if (!json_is_integer(x))
        return false;
    *v = (int64_t)json_integer_value(x);
    return true;
}

static const char *
get_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key)); /* NULL if absent or not a string */
}

/* Sets obj[key] = value (consumed); false on allocation failure. */
static bool
set_new(json_t *obj, const char *key, json_t *value)
{
    return value != NULL && json_object_set_new(obj, key, value) == 0;
}

/* Highest field id in a schema type (struct/list/map nested at any depth), or 0. */
static int64_t
max_field_id(const json_t *type, int depth)
{
    if (!json_is_object(type) || depth > 64)
        return 0;
    int64_t best = 0, v;
    json_t *fields = json_object_get(type, "fields");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        if (get_int(f, "id", &v) && v > best)
            best = v;
        v = max_field_id(json_object_get(f, "type"), depth + 1);
        if (v > best)
            best = v;
    }
    static const char *const ids[] = {"element-id", "key-id", "value-id"};
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
        if (get_int(type, ids[k], &v) && v > best)
            best = v;
    static const char *const subs[] = {"element", "key", "value"};
    for (size_t k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
        v = max_field_id(json_object_get(type, subs[k]), depth + 1);
        if (v > best)
            best = v;
    }
    return best;
}

/* Highest partition field id of a spec, or 999 when it has none. */
static int64_t
max_partition_id(const json_t *spec)
{
    int64_t best = FIRST_PARTITION_FIELD_ID - 1, v;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(spec, "fields"), i, f)
        if (get_int(f, "field-id", &v) && v > best)
            best = v;
    return best;
}

/* The element of array arr whose integer member key equals id, NULL if none. */
static json_t *
find_by_id(const json_t *arr, const char *key, int64_t id)
{
    size_t i;
    json_t *e;
    int64_t v;
    json_array_foreach(arr, i, e)
        if (get_int(e, key, &v) && v == id)
            return e;
    return NULL;
}

/* ---- validation ------------------------------------------------------------------------------ */

/* Checks arr (a member "what") is an array of objects each having integer member key. */
static nf_status
check_id_array(const json_t *root, const char *what, const char *key, nf_status code, nf_err *err)
{
    json_t *arr = json_object_get(root, what);
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return nf_err_set(err, code, "table metadata: \"%s\" missing or not a non-empty array",
                          what);
    size_t i;
    json_t *e;
    int64_t v;
    json_array_foreach(arr, i, e)
        if (!json_is_object(e) || !get_int(e, key, &v))
            return nf_err_set(err, code, "table metadata: %s[%zu] has no integer \"%s\"", what, i,
                              key);
    return NF_OK;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Snapshot ids are unique: sorted, then compared with the neighbour (a table may hold tens
 * of thousands of snapshots; a pairwise check would take seconds per parse). */
static nf_status
check_unique_ids(json_t *snaps, nf_status code, nf_err *err)
{
    size_t n = json_array_size(snaps);
    if (n < 2)
        return NF_OK;
    int64_t *ids = malloc(n * sizeof(*ids));
    if (ids == NULL)
        return nf_err_set(err, NF_ENOMEM, "table metadata: out of memory");
    for (size_t i = 0; i < n; i++) {
        ids[i] = 0;
        get_int(json_array_get(snaps, i), "snapshot-id", &ids[i]);
    }
    qsort(ids, n, sizeof(*ids), cmp_i64);
    nf_status st = NF_OK;
    for (size_t i = 1; i < n && st == NF_OK; i++)
        if (ids[i] == ids[i - 1])
            st = nf_err_set(err, code, "table metadata: snapshot %" PRId64 " listed twice",
                            ids[i]);
    free(ids);
    return st;
}

static nf_status
check_snapshot(const json_t *s, size_t i, int64_t last_seq, nf_status code, nf_err *err)
{
    int64_t v;
    if (!json_is_object(s))
        return nf_err_set(err, code, "table metadata: snapshots[%zu] is not an object", i);
    if (!get_int(s, "snapshot-id", &v))
        return nf_err_set(err, code, "table metadata: snapshots[%zu]: no integer snapshot-id", i);
    json_t *parent = json_object_get(s, "parent-snapshot-id");
    if (parent != NULL && !json_is_integer(parent) && !json_is_null(parent))
        return nf_err_set(err, code, "table metadata: snapshot %" PRId64
                          ": parent-snapshot-id is not an integer", v);
    int64_t seq;
    if (!get_int(s, "sequence-number", &seq) || seq < 0 || seq > last_seq)
        return nf_err_set(err, code, "table metadata: snapshot %" PRId64
                          ": sequence-number missing or not in 0..last-sequence-number %" PRId64,
                          v, last_seq);
    int64_t ts;
    if (!get_int(s, "timestamp-ms", &ts))
        return nf_err_set(err, code, "table metadata: snapshot %" PRId64 ": no timestamp-ms", v);
    if (get_str(s, "manifest-list") == NULL)
        return nf_err_set(err, code, "table metadata: snapshot %" PRId64
                          ": no manifest-list (v1 \"manifests\" are not supported)", v);
    json_t *summary = json_object_get(s, "summary");
    if (!json_is_object(summary) || get_str(summary, "operation") == NULL)
        return nf_err_set(err, code, "table metadata: snapshot %" PRId64
                          ": summary without \"operation\"", v);
    return NF_OK;
}

/* Ensures root.key exists: when absent it is set to fresh (consumed either way). */
static bool
default_member(json_t *root, const char *key, json_t *fresh)
{
    if (json_object_get(root, key) != NULL) {
        json_decref(fresh);
        return true;
    }
    return set_new(root, key, fresh);
}

/* Checks the invariants listed at the top and fills in optional members we rely on
 * (properties, snapshots, snapshot-log, metadata-log, refs, current-snapshot-id). Errors
 * are reported with code (NF_EPROTO for a file read, NF_EINVAL for a result of apply). */
static nf_status
validate(json_t *root, nf_status code, nf_err *err)
{
    if (!json_is_object(root))
        return nf_err_set(err, code, "table metadata: not a JSON object");
    int64_t fv;
    if (!get_int(root, "format-version", &fv))
        return nf_err_set(err, code, "table metadata: no integer format-version");
    if (fv != 2)
        return nf_err_set(err, NF_EINVAL, "table metadata: format-version %" PRId64
                          " not supported (only 2)", fv);
    static const char *const strs[] = {"table-uuid", "location"};
    for (size_t i = 0; i < 2; i++)
        if (get_str(root, strs[i]) == NULL)
            return nf_err_set(err, code, "table metadata: no string \"%s\"", strs[i]);
    static const char *const ints[] = {"last-sequence-number", "last-updated-ms", "last-column-id",
                                       "current-schema-id", "default-spec-id", "last-partition-id",
                                       "default-sort-order-id"};
    int64_t v[7];
    for (size_t i = 0; i < 7; i++)
        if (!get_int(root, ints[i], &v[i]))
            return nf_err_set(err, code, "table metadata: no integer \"%s\"", ints[i]);
    int64_t last_seq = v[0];
    if (last_seq < 0)
        return nf_err_set(err, code, "table metadata: last-sequence-number %" PRId64 " < 0",
                          last_seq);
    nf_status st;
    if ((st = check_id_array(root, "schemas", "schema-id", code, err)) != NF_OK ||
        (st = check_id_array(root, "partition-specs", "spec-id", code, err)) != NF_OK ||
        (st = check_id_array(root, "sort-orders", "order-id", code, err)) != NF_OK)
        return st;
    if (find_by_id(json_object_get(root, "schemas"), "schema-id", v[3]) == NULL)
        return nf_err_set(err, code, "table metadata: current-schema-id %" PRId64
                          " is not in schemas", v[3]);
    if (find_by_id(json_object_get(root, "partition-specs"), "spec-id", v[4]) == NULL)
        return nf_err_set(err, code, "table metadata: default-spec-id %" PRId64
                          " is not in partition-specs", v[4]);
    if (find_by_id(json_object_get(root, "sort-orders"), "order-id", v[6]) == NULL)
        return nf_err_set(err, code, "table metadata: default-sort-order-id %" PRId64
                          " is not in sort-orders", v[6]);

    if (!default_member(root, "properties", json_object()) ||
        !default_member(root, "snapshots", json_array()) ||
        !default_member(root, "snapshot-log", json_array()) ||
        !default_member(root, "metadata-log", json_array()))
        return nf_err_set(err, NF_ENOMEM, "table metadata: no memory");
    json_t *props = json_object_get(root, "properties");
    if (!json_is_object(props))
        return nf_err_set(err, code, "table metadata: properties is not an object");
    const char *pk;
    json_t *pv;
    json_object_foreach(props, pk, pv)
        if (!json_is_string(pv))
            return nf_err_set(err, code, "table metadata: property \"%s\" is not a string", pk);

    json_t *snaps = json_object_get(root, "snapshots");
    if (!json_is_array(snaps))
        return nf_err_set(err, code, "table metadata: snapshots is not an array");
    size_t i;
    json_t *s;
    json_array_foreach(snaps, i, s)
        if ((st = check_snapshot(s, i, last_seq, code, err)) != NF_OK)
            return st;
    if ((st = check_unique_ids(snaps, code, err)) != NF_OK)
        return st;
    static const char *const logs[] = {"snapshot-log", "metadata-log"};
    static const char *const log_keys[] = {"snapshot-id", "metadata-file"};
    for (size_t k = 0; k < 2; k++) {
        json_t *log = json_object_get(root, logs[k]);
        if (!json_is_array(log))
            return nf_err_set(err, code, "table metadata: %s is not an array", logs[k]);
        json_t *e;
        int64_t t;
        json_array_foreach(log, i, e)
            if (!get_int(e, "timestamp-ms", &t) || json_object_get(e, log_keys[k]) == NULL)
                return nf_err_set(err, code, "table metadata: %s[%zu] malformed", logs[k], i);
    }

    /* Current snapshot: refs.main wins, current-snapshot-id must agree (invariant 3). */
    json_t *cur = json_object_get(root, "current-snapshot-id");
    int64_t cur_id = -1;
    if (cur != NULL && !json_is_null(cur)) {
        if (!json_is_integer(cur))
            return nf_err_set(err, code, "table metadata: current-snapshot-id is not an integer");
        cur_id = (int64_t)json_integer_value(cur);
    }
    json_t *refs = json_object_get(root, "refs");
    if (refs == NULL) {
        refs = json_object();
        if (!set_new(root, "refs", refs))
            return nf_err_set(err, NF_ENOMEM, "table metadata: no memory");
        if (cur_id >= 0 &&
            !set_new(refs, "main", json_pack("{s:I,s:s}", "snapshot-id", (json_int_t)cur_id,
                                             "type", "branch")))
            return nf_err_set(err, NF_ENOMEM, "table metadata: no memory");
    }
    if (!json_is_object(refs))
        return nf_err_set(err, code, "table metadata: refs is not an object");
    const char *rk;
    json_t *rv;
    json_object_foreach(refs, rk, rv) {
        int64_t id;
        const char *type = get_str(rv, "type");
        if (!get_int(rv, "snapshot-id", &id) || type == NULL ||
            (strcmp(type, "branch") != 0 && strcmp(type, "tag") != 0))
            return nf_err_set(err, code, "table metadata: ref \"%s\" malformed", rk);
        if (find_by_id(snaps, "snapshot-id", id) == NULL)
            return nf_err_set(err, code, "table metadata: ref \"%s\" names unknown snapshot %"
                              PRId64, rk, id);
    }
    json_t *main_ref = json_object_get(refs, "main");
    int64_t main_id = -1;
    if (main_ref != NULL) {
        get_int(main_ref, "snapshot-id", &main_id);
        if (cur_id >= 0 && cur_id != main_id)
            return nf_err_set(err, code, "table metadata: current-snapshot-id %" PRId64
                              " disagrees with refs.main %" PRId64, cur_id, main_id);
    } else if (cur_id >= 0) {
        return nf_err_set(err, code, "table metadata: current-snapshot-id %" PRId64
                          " without refs.main", cur_id);
    }
    if (!set_new(root, "current-snapshot-id", json_integer(main_id)))
        return nf_err_set(err, NF_ENOMEM, "table metadata: no memory");
    return NF_OK;
}

/* Rebuilds t's snapshot cache from t->root (validated). */
static nf_status
rebuild(nf_ice_table *t, nf_err *err)
{
    json_t *snaps = json_object_get(t->root, "snapshots");
    size_t n = json_array_size(snaps);
    nf_ice_snapshot *a = NULL;
    if (n > 0) {
        a = calloc(n, sizeof(*a));
        if (a == NULL)
            return nf_err_set(err, NF_ENOMEM, "table metadata: no memory for %zu snapshots", n);
    }
    int64_t cur_id = -1;
    get_int(t->root, "current-snapshot-id", &cur_id);
    const nf_ice_snapshot *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(snaps, i);
        nf_ice_snapshot *o = &a[i];
        get_int(s, "snapshot-id", &o->snapshot_id);
        if (!get_int(s, "parent-snapshot-id", &o->parent_id))
            o->parent_id = -1;
        get_int(s, "sequence-number", &o->sequence_number);
        get_int(s, "timestamp-ms", &o->timestamp_ms);
        o->manifest_list = get_str(s, "manifest-list");
        o->operation = get_str(json_object_get(s, "summary"), "operation");
        if (o->snapshot_id == cur_id)
            cur = o;
    }
    free(t->snaps);
    t->snaps = a;
    t->nsnaps = n;
    t->current = cur;
    return NF_OK;
}

/* ---- create, parse, dump --------------------------------------------------------------------- */

nf_status
nf_ice_table_adopt(json_t *root, nf_ice_table **out, nf_err *err)
{
    nf_status st = validate(root, NF_EPROTO, err);
    if (st != NF_OK) {
        json_decref(root);
        return st;
    }
    nf_ice_table *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        json_decref(root);
        return nf_err_set(err, NF_ENOMEM, "table metadata: no memory");
    }
    t->root = root;
    if ((st = rebuild(t, err)) != NF_OK) {
        nf_ice_table_free(t);
        return st;
    }
    *out = t;
    return NF_OK;
}

const json_t *
nf_ice_table_root(const nf_ice_table *t)
{
    return t->root;
}

nf_status
nf_ice_table_parse(const char *json, size_t len, nf_ice_table **out, nf_err *err)
{
    if (json == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ice_table_parse: NULL argument");
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return nf_err_set(err, NF_EPROTO, "table metadata: JSON error at line %d column %d: %s",
                          je.line, je.column, je.text);
    return nf_ice_table_adopt(root, out, err);
}

char *
nf_ice_table_json(const nf_ice_table *t)
{
    return t != NULL ? json_dumps(t->root, JSON_COMPACT) : NULL;
}

void
nf_ice_table_free(nf_ice_table *t)
{
    if (t == NULL)
        return;
    json_decref(t->root);
    free(t->snaps);
    free(t);
}

int64_t
nf_ice_new_snapshot_id(void)
{
    for (;;) {
        uint64_t r = 0;
        nf_err ignored;
        if (nf_random_bytes(&r, sizeof(r), "a snapshot id", &ignored) != NF_OK) {
            /* getrandom cannot fail on a Linux >= 3.17 once booted; keep going regardless,
             * with a value that still differs between calls and processes. */
            r = nf_wall_ms() * UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)getpid() ^
                nf_mono_ns();
        }
        /* avsc (JavaScript) refuses longs above 2^53 - 2 by default: stay below it. */
        int64_t id = (int64_t)(r & (uint64_t)SNAPSHOT_ID_MAX);
        if (id != 0 && id <= SNAPSHOT_ID_MAX - 2)
            return id;
    }
}

/* Parses text as a JSON object ("what" names it in errors); NULL text → fallback. */
static nf_status
parse_object(const char *text, const char *what, const char *fallback, json_t **out, nf_err *err)
{
    if (text == NULL)
        text = fallback;
    if (text == NULL)
        return nf_err_set(err, NF_EINVAL, "new table: %s missing", what);
    json_error_t je;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL)
        return nf_err_set(err, NF_EINVAL, "new table: %s: JSON error at column %d: %s", what,
                          je.column, je.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return nf_err_set(err, NF_EINVAL, "new table: %s is not a JSON object", what);
    }
    *out = v;
    return NF_OK;
}

/* Gives the spec's fields without "field-id" one (1000, 1001, … after the highest). */
static bool
number_partition_fields(json_t *spec)
{
    int64_t next = max_partition_id(spec) + 1;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(spec, "fields"), i, f)
        if (json_object_get(f, "field-id") == NULL &&
            !set_new(f, "field-id", json_integer(next++)))
            return false;
    return true;
}

nf_status
nf_ice_table_new(const char *location, const char *schema_json, const char *spec_json,
                 const char *sort_order_json, const char *properties_json, nf_ice_table **out,
                 nf_err *err)
{
    if (location == NULL || location[0] == '\0' || out == NULL)
        return nf_err_set(err, NF_EINVAL, "new table: location missing");
    json_t *schema = NULL, *spec = NULL, *order = NULL, *props = NULL, *root = NULL;
    nf_status st;
    if ((st = parse_object(schema_json, "schema", NULL, &schema, err)) != NF_OK ||
        (st = parse_object(spec_json, "partition spec", "{\"spec-id\":0,\"fields\":[]}", &spec,
                           err)) != NF_OK ||
        (st = parse_object(sort_order_json, "sort order", "{\"order-id\":0,\"fields\":[]}",
                           &order, err)) != NF_OK ||
        (st = parse_object(properties_json, "properties", "{}", &props, err)) != NF_OK)
        goto fail;
    if (!json_is_array(json_object_get(schema, "fields"))) {
        st = nf_err_set(err, NF_EINVAL, "new table: schema has no \"fields\" array");
        goto fail;
    }
    if (!json_is_array(json_object_get(spec, "fields")) ||
        !json_is_array(json_object_get(order, "fields"))) {
        st = nf_err_set(err, NF_EINVAL, "new table: partition spec or sort order has no "
                        "\"fields\" array");
        goto fail;
    }
    /* Defaults of the ids the caller may leave out. */
    if (!default_member(schema, "schema-id", json_integer(0)) ||
        !default_member(schema, "type", json_string("struct")) ||
        !default_member(spec, "spec-id", json_integer(0)) ||
        !default_member(order, "order-id", json_integer(0)) || !number_partition_fields(spec)) {
        st = nf_err_set(err, NF_ENOMEM, "new table: no memory");
        goto fail;
    }
    int64_t schema_id, spec_id, order_id;
    if (!get_int(schema, "schema-id", &schema_id) || !get_int(spec, "spec-id", &spec_id) ||
        !get_int(order, "order-id", &order_id)) {
        st = nf_err_set(err, NF_EINVAL, "new table: schema-id, spec-id or order-id is not an "
                        "integer");
        goto fail;
    }
    char uuid[NF_UUID_STRLEN];
    if ((st = nf_uuid4(uuid, "a new table's uuid", err)) != NF_OK)
        goto fail;
    root = json_pack("{s:i,s:s,s:s,s:i,s:I,s:I,s:[O],s:I,s:[O],s:I,s:I,s:[O],s:I,s:O,s:i,"
                     "s:[],s:[],s:[],s:{}}",
                     "format-version", 2, "table-uuid", uuid, "location", location,
                     "last-sequence-number", 0, "last-updated-ms", (json_int_t)nf_wall_ms(),
                     "last-column-id", (json_int_t)max_field_id(schema, 0), "schemas", schema,
                     "current-schema-id", (json_int_t)schema_id, "partition-specs", spec,
                     "default-spec-id", (json_int_t)spec_id, "last-partition-id",
                     (json_int_t)max_partition_id(spec), "sort-orders", order,
                     "default-sort-order-id", (json_int_t)order_id, "properties", props,
                     "current-snapshot-id", -1, "snapshots", "snapshot-log", "metadata-log",
                     "refs");
    if (root == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "new table: no memory");
        goto fail;
    }
    json_decref(schema);
    json_decref(spec);
    json_decref(order);
    json_decref(props);
    st = nf_ice_table_adopt(root, out, err);
    if (st == NF_EPROTO) { /* our caller's input, not a file, was wrong */
        st = NF_EINVAL;
        if (err != NULL)
            err->code = st;
    }
    return st;

fail:
    json_decref(schema);
    json_decref(spec);
    json_decref(order);
    json_decref(props);
    return st;
}

/* ---- accessors ------------------------------------------------------------------------------- */

const char *
nf_ice_table_location(const nf_ice_table *t)
{
    return get_str(t->root, "location");
}

const char *
nf_ice_table_uuid(const nf_ice_table *t)
{
    return get_str(t->root, "table-uuid");
}

int64_t
nf_ice_table_last_sequence(const nf_ice_table *t)
{
    int64_t v = 0;
    get_int(t->root, "last-sequence-number", &v);
    return v;
}

const nf_ice_snapshot *
nf_ice_table_current(const nf_ice_table *t)
{
    return t->current;
}

const nf_ice_snapshot *
nf_ice_table_snapshot(const nf_ice_table *t, int64_t id)
{
    for (size_t i = 0; i < t->nsnaps; i++)
        if (t->snaps[i].snapshot_id == id)
            return &t->snaps[i];
    return NULL;
}

const nf_ice_snapshot *
nf_ice_table_snapshot_at(const nf_ice_table *t, int64_t timestamp_ms)
{
    /* The log is in commit order; the last entry at or before the time wins. */
    json_t *log = json_object_get(t->root, "snapshot-log");
    const nf_ice_snapshot *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e) {
        int64_t ts, id;
        if (!get_int(e, "timestamp-ms", &ts) || !get_int(e, "snapshot-id", &id))
            continue;
        if (ts <= timestamp_ms)
            found = nf_ice_table_snapshot(t, id);
    }
    return found;
}

const nf_ice_snapshot *
nf_ice_table_snapshots(const nf_ice_table *t, size_t *n)
{
    *n = t->nsnaps;
    return t->snaps;
}

const char *
nf_ice_table_summary(const nf_ice_table *t, int64_t snapshot_id, const char *key)
{
    json_t *s = find_by_id(json_object_get(t->root, "snapshots"), "snapshot-id", snapshot_id);
    return s != NULL ? get_str(json_object_get(s, "summary"), key) : NULL;
}

const char *
nf_ice_table_property(const nf_ice_table *t, const char *key)
{
    return get_str(json_object_get(t->root, "properties"), key);
}

static json_t *
current_schema(const nf_ice_table *t)
{
    int64_t id = 0;
    get_int(t->root, "current-schema-id", &id);
    return find_by_id(json_object_get(t->root, "schemas"), "schema-id", id);
}

char *
nf_ice_table_schema_json(const nf_ice_table *t)
{
    json_t *s = current_schema(t);
    return s != NULL ? json_dumps(s, JSON_COMPACT) : NULL;
}

int32_t
nf_ice_table_schema_id(const nf_ice_table *t)
{
    int64_t id = 0;
    get_int(t->root, "current-schema-id", &id);
    return (int32_t)id;
}

nf_status
nf_ice_table_spec(const nf_ice_table *t, nf_ice_spec *out, nf_err *err)
{
    int64_t id = 0;
    get_int(t->root, "default-spec-id", &id);
    json_t *spec = find_by_id(json_object_get(t->root, "partition-specs"), "spec-id", id);
    json_t *fields = json_object_get(spec, "fields");
    nf_ice_spec s = {.spec_id = (int32_t)id, .transform = NF_ICE_UNPARTITIONED};
    size_t n = json_array_size(fields);
    if (n == 0) {
        *out = s;
        return NF_OK;
    }
    if (n > 1)
        return nf_err_set(err, NF_EINVAL, "partition spec %" PRId64 ": %zu fields (only one "
                          "supported)", id, n);
    json_t *f = json_array_get(fields, 0);
    const char *transform = get_str(f, "transform");
    const char *name = get_str(f, "name");
    int64_t source, field;
    if (transform == NULL || name == NULL || !get_int(f, "source-id", &source) ||
        !get_int(f, "field-id", &field))
        return nf_err_set(err, NF_EINVAL, "partition spec %" PRId64 ": malformed field", id);
    if (strcmp(transform, "day") == 0)
        s.transform = NF_ICE_DAY;
    else if (strcmp(transform, "identity") == 0)
        s.transform = NF_ICE_IDENTITY;
    else
        return nf_err_set(err, NF_EINVAL, "partition spec %" PRId64 ": transform \"%.64s\" not "
                          "supported (day or identity only)", id, transform);
    if (strlen(name) >= sizeof(s.name))
        return nf_err_set(err, NF_EINVAL, "partition spec %" PRId64 ": field name too long", id);
    if (source < 0 || source > INT32_MAX || field < 0 || field > INT32_MAX)
        return nf_err_set(err, NF_EINVAL, "partition spec %" PRId64 ": field id out of range",
                          id);
    s.source_id = (int32_t)source;
    s.field_id = (int32_t)field;
    strcpy(s.name, name);
    *out = s;
    return NF_OK;
}

/* ---- requirements ---------------------------------------------------------------------------- */

/* Checks one requirement against root; NF_ECONFLICT naming it when it does not hold. */
static nf_status
check_requirement(const json_t *root, const json_t *r, size_t i, nf_err *err)
{
    const char *type = get_str(r, "type");
    if (type == NULL)
        return nf_err_set(err, NF_EINVAL, "requirement %zu: no \"type\"", i);
    if (strcmp(type, "assert-create") == 0)
        return nf_err_set(err, NF_ECONFLICT, "requirement assert-create failed: the table "
                          "already exists");
    if (strcmp(type, "assert-table-uuid") == 0) {
        const char *want = get_str(r, "uuid");
        if (want == NULL)
            return nf_err_set(err, NF_EINVAL, "requirement assert-table-uuid: no \"uuid\"");
        const char *have = get_str(root, "table-uuid");
        if (strcasecmp(want, have) != 0)
            return nf_err_set(err, NF_ECONFLICT, "requirement assert-table-uuid failed: "
                              "table uuid is %s, not %.40s", have, want);
        return NF_OK;
    }
    if (strcmp(type, "assert-ref-snapshot-id") == 0) {
        const char *ref = get_str(r, "ref");
        json_t *want = json_object_get(r, "snapshot-id");
        if (ref == NULL || (want != NULL && !json_is_integer(want) && !json_is_null(want)))
            return nf_err_set(err, NF_EINVAL, "requirement assert-ref-snapshot-id malformed");
        json_t *have = json_object_get(json_object_get(root, "refs"), ref);
        int64_t have_id = 0;
        get_int(have, "snapshot-id", &have_id);
        if (want == NULL || json_is_null(want)) {
            if (have != NULL)
                return nf_err_set(err, NF_ECONFLICT, "requirement assert-ref-snapshot-id "
                                  "failed: ref %.64s exists (snapshot %" PRId64 ")", ref,
                                  have_id);
            return NF_OK;
        }
        int64_t want_id = (int64_t)json_integer_value(want);
        if (have == NULL)
            return nf_err_set(err, NF_ECONFLICT, "requirement assert-ref-snapshot-id failed: "
                              "ref %.64s is missing, expected snapshot %" PRId64, ref, want_id);
        if (have_id != want_id)
            return nf_err_set(err, NF_ECONFLICT, "requirement assert-ref-snapshot-id failed: "
                              "ref %.64s is snapshot %" PRId64 ", expected %" PRId64, ref,
                              have_id, want_id);
        return NF_OK;
    }
    /* The integer assertions: requirement member → metadata member. */
    static const struct {
        const char *type, *key, *meta;
    } ints[] = {
        {"assert-last-assigned-field-id", "last-assigned-field-id", "last-column-id"},
        {"assert-current-schema-id", "current-schema-id", "current-schema-id"},
        {"assert-last-assigned-partition-id", "last-assigned-partition-id", "last-partition-id"},
        {"assert-default-spec-id", "default-spec-id", "default-spec-id"},
        {"assert-default-sort-order-id", "default-sort-order-id", "default-sort-order-id"},
    };
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        if (strcmp(type, ints[k].type) != 0)
            continue;
        int64_t want, have = 0;
        if (!get_int(r, ints[k].key, &want))
            return nf_err_set(err, NF_EINVAL, "requirement %s: no integer \"%s\"", type,
                              ints[k].key);
        get_int(root, ints[k].meta, &have);
        if (want != have)
            return nf_err_set(err, NF_ECONFLICT, "requirement %s failed: %s is %" PRId64
                              ", expected %" PRId64, type, ints[k].meta, have, want);
        return NF_OK;
    }
    return nf_err_set(err, NF_EINVAL, "requirement %zu: unknown type \"%.64s\"", i, type);
}

/* ---- updates --------------------------------------------------------------------------------- */

typedef struct apply_ctx {
    json_t *root;        /* the copy being changed */
    int64_t now_ms;      /* last-updated-ms of the result, time of snapshot-log entries */
    int64_t last_schema; /* id of the schema added by this commit, -1 none */
    int64_t last_spec;
    int64_t last_order;
} apply_ctx;

/* Members of an entry that identify it, compared without its id: an identical entry
 * already present is reused rather than added again. */
static json_t *
same_entry(const json_t *arr, const json_t *entry, const char *id_key)
{
    json_t *probe = json_deep_copy(entry);
    if (probe == NULL)
        return NULL;
    json_object_del(probe, id_key);
    size_t i;
    json_t *e, *found = NULL;
    json_array_foreach(arr, i, e) {
        json_t *c = json_deep_copy(e);
        if (c == NULL)
            break;
        json_object_del(c, id_key);
        bool eq = json_equal(c, probe);
        json_decref(c);
        if (eq) {
            found = e;
            break;
        }
    }
    json_decref(probe);
    return found;
}

/* add-schema / add-spec / add-sort-order: appends a copy of entry to root[arr_key] with a
 * fresh id (or finds an identical one) and records the id in *last. */
static nf_status
add_entry(apply_ctx *c, const char *action, const json_t *entry, const char *arr_key,
          const char *id_key, int64_t *last, nf_err *err)
{
    if (!json_is_object(entry) || !json_is_array(json_object_get(entry, "fields")))
        return nf_err_set(err, NF_EINVAL, "update %s: not an object with \"fields\"", action);
    json_t *arr = json_object_get(c->root, arr_key);
    json_t *same = same_entry(arr, entry, id_key);
    if (same != NULL) {
        get_int(same, id_key, last);
        return NF_OK;
    }
    int64_t next = 0, v;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
        if (get_int(e, id_key, &v) && v >= next)
            next = v + 1;
    /* Sort order 0 is reserved for "unsorted". */
    if (strcmp(id_key, "order-id") == 0 && json_array_size(json_object_get(entry, "fields")) > 0 &&
        next == 0)
        next = 1;
    json_t *copy = json_deep_copy(entry);
    if (copy == NULL || !set_new(copy, id_key, json_integer(next)) ||
        json_array_append_new(arr, copy) != 0)
        return nf_err_set(err, NF_ENOMEM, "update %s: no memory", action);
    *last = next;
    return NF_OK;
}

/* set-current-schema / set-default-spec / set-default-sort-order. */
static nf_status
set_default(apply_ctx *c, const char *action, const json_t *u, const char *u_key,
            const char *arr_key, const char *id_key, const char *meta_key, int64_t last,
            nf_err *err)
{
    int64_t id;
    if (!get_int(u, u_key, &id))
        return nf_err_set(err, NF_EINVAL, "update %s: no integer \"%s\"", action, u_key);
    if (id == -1) {
        if (last < 0)
            return nf_err_set(err, NF_EINVAL, "update %s: -1 but nothing was added", action);
        id = last;
    }
    if (find_by_id(json_object_get(c->root, arr_key), id_key, id) == NULL)
        return nf_err_set(err, NF_EINVAL, "update %s: %s %" PRId64 " does not exist", action,
                          id_key, id);
    if (!set_new(c->root, meta_key, json_integer(id)))
        return nf_err_set(err, NF_ENOMEM, "update %s: no memory", action);
    return NF_OK;
}

static nf_status
add_snapshot(apply_ctx *c, const json_t *u, nf_err *err)
{
    json_t *s = json_object_get(u, "snapshot");
    int64_t last_seq = 0, id, seq;
    get_int(c->root, "last-sequence-number", &last_seq);
    if (!json_is_object(s) || !get_int(s, "snapshot-id", &id) ||
        !get_int(s, "sequence-number", &seq))
        return nf_err_set(err, NF_EINVAL, "update add-snapshot: snapshot without integer "
                          "snapshot-id and sequence-number");
    nf_status st = check_snapshot(s, 0, seq, NF_EINVAL, err);
    if (st != NF_OK)
        return st;
    json_t *snaps = json_object_get(c->root, "snapshots");
    if (find_by_id(snaps, "snapshot-id", id) != NULL)
        return nf_err_set(err, NF_ECONFLICT, "update add-snapshot: snapshot %" PRId64
                          " already exists", id);
    if (seq <= last_seq)
        return nf_err_set(err, NF_ECONFLICT, "update add-snapshot: snapshot %" PRId64
                          " sequence-number %" PRId64 " is not above last-sequence-number %"
                          PRId64, id, seq, last_seq);
    json_t *copy = json_deep_copy(s);
    if (copy == NULL || json_array_append_new(snaps, copy) != 0 ||
        !set_new(c->root, "last-sequence-number", json_integer(seq)))
        return nf_err_set(err, NF_ENOMEM, "update add-snapshot: no memory");
    return NF_OK;
}

static nf_status
set_snapshot_ref(apply_ctx *c, const json_t *u, nf_err *err)
{
    const char *name = get_str(u, "ref-name");
    const char *type = get_str(u, "type");
    int64_t id;
    if (name == NULL || type == NULL || !get_int(u, "snapshot-id", &id))
        return nf_err_set(err, NF_EINVAL, "update set-snapshot-ref: needs ref-name, type and "
                          "snapshot-id");
    if (strcmp(type, "branch") != 0 && strcmp(type, "tag") != 0)
        return nf_err_set(err, NF_EINVAL, "update set-snapshot-ref %.64s: type \"%.16s\"", name,
                          type);
    bool is_main = strcmp(name, "main") == 0;
    if (is_main && strcmp(type, "branch") != 0)
        return nf_err_set(err, NF_EINVAL, "update set-snapshot-ref: main must be a branch");
    if (find_by_id(json_object_get(c->root, "snapshots"), "snapshot-id", id) == NULL)
        return nf_err_set(err, NF_EINVAL, "update set-snapshot-ref %.64s: snapshot %" PRId64
                          " does not exist", name, id);
    json_t *ref = json_pack("{s:I,s:s}", "snapshot-id", (json_int_t)id, "type", type);
    if (ref == NULL)
        return nf_err_set(err, NF_ENOMEM, "update set-snapshot-ref: no memory");
    static const char *const opt[] = {"max-ref-age-ms", "max-snapshot-age-ms",
                                      "min-snapshots-to-keep"};
    for (size_t k = 0; k < sizeof(opt) / sizeof(opt[0]); k++) {
        json_t *v = json_object_get(u, opt[k]);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_integer(v)) {
            json_decref(ref);
            return nf_err_set(err, NF_EINVAL, "update set-snapshot-ref: %s is not an integer",
                              opt[k]);
        }
        if (json_object_set(ref, opt[k], v) != 0) {
            json_decref(ref);
            return nf_err_set(err, NF_ENOMEM, "update set-snapshot-ref: no memory");
        }
    }
    int64_t before = -1;
    get_int(c->root, "current-snapshot-id", &before);
    if (!set_new(json_object_get(c->root, "refs"), name, ref))
        return nf_err_set(err, NF_ENOMEM, "update set-snapshot-ref: no memory");
    if (is_main && before != id) {
        json_t *entry = json_pack("{s:I,s:I}", "timestamp-ms", (json_int_t)c->now_ms,
                                  "snapshot-id", (json_int_t)id);
        if (entry == NULL ||
            json_array_append_new(json_object_get(c->root, "snapshot-log"), entry) != 0 ||
            !set_new(c->root, "current-snapshot-id", json_integer(id)))
            return nf_err_set(err, NF_ENOMEM, "update set-snapshot-ref: no memory");
    }
    return NF_OK;
}

/* Removes from arr every element whose integer member key is in ids. */
static void
remove_ids(json_t *arr, const char *key, const json_t *ids)
{
    for (size_t i = json_array_size(arr); i-- > 0;) {
        int64_t v;
        if (!get_int(json_array_get(arr, i), key, &v))
            continue;
        size_t k;
        json_t *x;
        json_array_foreach(ids, k, x)
            if (json_is_integer(x) && (int64_t)json_integer_value(x) == v) {
                json_array_remove(arr, i);
                break;
            }
    }
}

static nf_status
remove_snapshots(apply_ctx *c, const json_t *u, nf_err *err)
{
    json_t *ids = json_object_get(u, "snapshot-ids");
    if (!json_is_array(ids))
        return nf_err_set(err, NF_EINVAL, "update remove-snapshots: no \"snapshot-ids\" array");
    size_t k;
    json_t *x;
    json_array_foreach(ids, k, x)
        if (!json_is_integer(x))
            return nf_err_set(err, NF_EINVAL, "update remove-snapshots: snapshot-ids[%zu] is "
                              "not an integer", k);
    remove_ids(json_object_get(c->root, "snapshots"), "snapshot-id", ids);
    remove_ids(json_object_get(c->root, "snapshot-log"), "snapshot-id", ids);
    /* Refs to a removed snapshot go too (json_object_foreach_safe allows deleting). */
    json_t *refs = json_object_get(c->root, "refs");
    const char *name;
    json_t *ref;
    void *it;
    json_object_foreach_safe(refs, it, name, ref) {
        int64_t id;
        if (!get_int(ref, "snapshot-id", &id))
            continue;
        json_array_foreach(ids, k, x)
            if ((int64_t)json_integer_value(x) == id) {
                if (strcmp(name, "main") == 0 &&
                    !set_new(c->root, "current-snapshot-id", json_integer(-1)))
                    return nf_err_set(err, NF_ENOMEM, "update remove-snapshots: no memory");
                json_object_del(refs, name);
                break;
            }
    }
    return NF_OK;
}

static nf_status
remove_snapshot_ref(apply_ctx *c, const json_t *u, nf_err *err)
{
    const char *name = get_str(u, "ref-name");
    if (name == NULL)
        return nf_err_set(err, NF_EINVAL, "update remove-snapshot-ref: no \"ref-name\"");
    json_object_del(json_object_get(c->root, "refs"), name); /* absent: nothing to do */
    if (strcmp(name, "main") == 0 && !set_new(c->root, "current-snapshot-id", json_integer(-1)))
        return nf_err_set(err, NF_ENOMEM, "update remove-snapshot-ref: no memory");
    return NF_OK;
}

static nf_status
set_properties(apply_ctx *c, const json_t *u, nf_err *err)
{
    json_t *updates = json_object_get(u, "updates");
    if (!json_is_object(updates))
        return nf_err_set(err, NF_EINVAL, "update set-properties: no \"updates\" object");
    json_t *props = json_object_get(c->root, "properties");
    const char *k;
    json_t *v;
    json_object_foreach(updates, k, v) {
        if (!json_is_string(v))
            return nf_err_set(err, NF_EINVAL, "update set-properties: \"%.64s\" is not a string",
                              k);
        if (json_object_set(props, k, v) != 0)
            return nf_err_set(err, NF_ENOMEM, "update set-properties: no memory");
    }
    return NF_OK;
}

static nf_status
remove_properties(apply_ctx *c, const json_t *u, nf_err *err)
{
    json_t *removals = json_object_get(u, "removals");
    if (!json_is_array(removals))
        return nf_err_set(err, NF_EINVAL, "update remove-properties: no \"removals\" array");
    size_t i;
    json_t *k;
    json_array_foreach(removals, i, k) {
        if (!json_is_string(k))
            return nf_err_set(err, NF_EINVAL, "update remove-properties: removals[%zu] is not a "
                              "string", i);
        json_object_del(json_object_get(c->root, "properties"), json_string_value(k));
    }
    return NF_OK;
}

static nf_status
apply_update(apply_ctx *c, const json_t *u, size_t i, nf_err *err)
{
    const char *action = get_str(u, "action");
    if (action == NULL)
        return nf_err_set(err, NF_EINVAL, "update %zu: no \"action\"", i);
    if (strcmp(action, "assign-uuid") == 0) {
        const char *uuid = get_str(u, "uuid");
        if (uuid == NULL || uuid[0] == '\0')
            return nf_err_set(err, NF_EINVAL, "update assign-uuid: no \"uuid\"");
        if (!set_new(c->root, "table-uuid", json_string(uuid)))
            return nf_err_set(err, NF_ENOMEM, "update assign-uuid: no memory");
        return NF_OK;
    }
    if (strcmp(action, "upgrade-format-version") == 0) {
        int64_t v;
        if (!get_int(u, "format-version", &v))
            return nf_err_set(err, NF_EINVAL, "update upgrade-format-version: no integer "
                              "\"format-version\"");
        if (v != 2)
            return nf_err_set(err, NF_EINVAL, "update upgrade-format-version: %" PRId64
                              " not supported (the table is 2, only 2 is supported)", v);
        return NF_OK;
    }
    if (strcmp(action, "add-schema") == 0) {
        const json_t *schema = json_object_get(u, "schema");
        nf_status st = add_entry(c, action, schema, "schemas", "schema-id", &c->last_schema, err);
        if (st != NF_OK)
            return st;
        int64_t have = 0, given = 0;
        get_int(c->root, "last-column-id", &have);
        int64_t max = max_field_id(schema, 0);
        if (get_int(u, "last-column-id", &given) && given > max)
            max = given;
        if (max > have && !set_new(c->root, "last-column-id", json_integer(max)))
            return nf_err_set(err, NF_ENOMEM, "update add-schema: no memory");
        return NF_OK;
    }
    if (strcmp(action, "set-current-schema") == 0)
        return set_default(c, action, u, "schema-id", "schemas", "schema-id", "current-schema-id",
                           c->last_schema, err);
    if (strcmp(action, "add-spec") == 0) {
        json_t *spec = json_deep_copy(json_object_get(u, "spec"));
        if (spec == NULL)
            return nf_err_set(err, NF_EINVAL, "update add-spec: no \"spec\" object");
        /* Fields without ids get the next free ones after last-partition-id. */
        int64_t last = FIRST_PARTITION_FIELD_ID - 1;
        get_int(c->root, "last-partition-id", &last);
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(spec, "fields"), k, f)
            if (json_is_object(f) && json_object_get(f, "field-id") == NULL &&
                !set_new(f, "field-id", json_integer(++last))) {
                json_decref(spec);
                return nf_err_set(err, NF_ENOMEM, "update add-spec: no memory");
            }
        nf_status st = add_entry(c, action, spec, "partition-specs", "spec-id", &c->last_spec,
                                 err);
        int64_t max = max_partition_id(spec);
        json_decref(spec);
        if (st != NF_OK)
            return st;
        get_int(c->root, "last-partition-id", &last);
        if (max > last && !set_new(c->root, "last-partition-id", json_integer(max)))
            return nf_err_set(err, NF_ENOMEM, "update add-spec: no memory");
        return NF_OK;
    }
    if (strcmp(action, "set-default-spec") == 0)
        return set_default(c, action, u, "spec-id", "partition-specs", "spec-id",
                           "default-spec-id", c->last_spec, err);
    if (strcmp(action, "add-sort-order") == 0)
        return add_entry(c, action, json_object_get(u, "sort-order"), "sort-orders", "order-id",
                         &c->last_order, err);
    if (strcmp(action, "set-default-sort-order") == 0)
        return set_default(c, action, u, "sort-order-id", "sort-orders", "order-id",
                           "default-sort-order-id", c->last_order, err);
    if (strcmp(action, "add-snapshot") == 0)
        return add_snapshot(c, u, err);
    if (strcmp(action, "set-snapshot-ref") == 0)
        return set_snapshot_ref(c, u, err);
    if (strcmp(action, "remove-snapshots") == 0)
        return remove_snapshots(c, u, err);
    if (strcmp(action, "remove-snapshot-ref") == 0)
        return remove_snapshot_ref(c, u, err);
    if (strcmp(action, "set-location") == 0) {
        const char *loc = get_str(u, "location");
        if (loc == NULL || loc[0] == '\0')
            return nf_err_set(err, NF_EINVAL, "update set-location: no \"location\"");
        if (!set_new(c->root, "location", json_string(loc)))
            return nf_err_set(err, NF_ENOMEM, "update set-location: no memory");
        return NF_OK;
    }
    if (strcmp(action, "set-properties") == 0)
        return set_properties(c, u, err);
    if (strcmp(action, "remove-properties") == 0)
        return remove_properties(c, u, err);
    return nf_err_set(err, NF_EINVAL, "update %zu: unknown action \"%.64s\"", i, action);
}

/* Parses text (NULL or "" = empty) as a JSON array of objects; "what" names it. */
static nf_status
parse_list(const char *text, const char *what, json_t **out, nf_err *err)
{
    json_t *v;
    if (text == NULL || text[0] == '\0') {
        v = json_array();
        if (v == NULL)
            return nf_err_set(err, NF_ENOMEM, "commit: no memory");
    } else {
        json_error_t je;
        v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
        if (v == NULL)
            return nf_err_set(err, NF_EINVAL, "commit %s: JSON error at column %d: %s", what,
                              je.column, je.text);
    }
    if (!json_is_array(v)) {
        json_decref(v);
        return nf_err_set(err, NF_EINVAL, "commit %s: not a JSON array", what);
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
        if (!json_is_object(e)) {
            json_decref(v);
            return nf_err_set(err, NF_EINVAL, "commit %s[%zu]: not an object", what, i);
        }
    *out = v;
    return NF_OK;
}

/* write.metadata.previous-versions-max of root, or the default; at least 1. */
static size_t
previous_versions_max(const json_t *root)
{
    const char *v = get_str(json_object_get(root, "properties"),
                            "write.metadata.previous-versions-max");
    if (v == NULL)
        return DEFAULT_PREVIOUS_VERSIONS_MAX;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        return DEFAULT_PREVIOUS_VERSIONS_MAX; /* not a number: as if unset */
    return n < 1 ? 1 : (size_t)n;
}

nf_status
nf_ice_table_apply(nf_ice_table *t, const char *requirements_json, const char *updates_json,
                   const char *previous_metadata_uri, nf_err *err)
{
    if (t == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ice_table_apply: NULL table");
    json_t *reqs = NULL, *ups = NULL;
    apply_ctx c = {.last_schema = -1, .last_spec = -1, .last_order = -1};
    nf_status st;
    if ((st = parse_list(requirements_json, "requirements", &reqs, err)) != NF_OK ||
        (st = parse_list(updates_json, "updates", &ups, err)) != NF_OK)
        goto done;

    size_t i;
    json_t *e;
    json_array_foreach(reqs, i, e)
        if ((st = check_requirement(t->root, e, i, err)) != NF_OK)
            goto done;

    /* The time of this change: the snapshot's own when one is added (as Java does), so the
     * snapshot log says when each snapshot's data became current. */
    c.now_ms = (int64_t)nf_wall_ms();
    json_array_foreach(ups, i, e) {
        int64_t ts;
        const char *a = get_str(e, "action");
        if (a != NULL && strcmp(a, "add-snapshot") == 0 &&
            get_int(json_object_get(e, "snapshot"), "timestamp-ms", &ts))
            c.now_ms = ts;
    }
    int64_t prev_updated = 0;
    get_int(t->root, "last-updated-ms", &prev_updated);

    c.root = json_deep_copy(t->root);
    if (c.root == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "commit: no memory for a copy of the metadata");
        goto done;
    }
    json_array_foreach(ups, i, e)
        if ((st = apply_update(&c, e, i, err)) != NF_OK)
            goto done;

    if (!set_new(c.root, "last-updated-ms", json_integer(c.now_ms))) {
        st = nf_err_set(err, NF_ENOMEM, "commit: no memory");
        goto done;
    }
    if (previous_metadata_uri != NULL) {
        json_t *log = json_object_get(c.root, "metadata-log");
        json_t *entry = json_pack("{s:I,s:s}", "timestamp-ms", (json_int_t)prev_updated,
                                  "metadata-file", previous_metadata_uri);
        if (entry == NULL || json_array_append_new(log, entry) != 0) {
            st = nf_err_set(err, NF_ENOMEM, "commit: no memory");
            goto done;
        }
        size_t max = previous_versions_max(c.root);
        while (json_array_size(log) > max)
            json_array_remove(log, 0);
    }
    /* The result must be a table we would accept from a file. */
    if ((st = validate(c.root, NF_EINVAL, err)) != NF_OK)
        goto done;

    json_t *old = t->root;
    t->root = c.root;
    if ((st = rebuild(t, err)) != NF_OK) {
        t->root = old; /* the old cache still describes old */
        goto done;
    }
    c.root = old; /* released below */
    st = NF_OK;

done:
    json_decref(c.root);
    json_decref(reqs);
    json_decref(ups);
    return st;
}

/* ---- commit builders ------------------------------------------------------------------------- */

char *
nf_ice_requirements_main(const nf_ice_table *base)
{
    const nf_ice_snapshot *cur = nf_ice_table_current(base);
    json_t *id = cur != NULL ? json_integer(cur->snapshot_id) : json_null();
    json_t *r = json_pack("[{s:s,s:s},{s:s,s:s,s:o}]", "type", "assert-table-uuid", "uuid",
                          nf_ice_table_uuid(base), "type", "assert-ref-snapshot-id", "ref",
                          "main", "snapshot-id", id);
    if (r == NULL)
        return NULL;
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return text;
}

char *
nf_ice_updates_add_snapshot(const nf_ice_snapshot_new *s)
{
    if (s == NULL || s->manifest_list == NULL || s->operation == NULL ||
        (s->nsummary > 0 && s->summary == NULL))
        return NULL;
    json_t *summary = json_pack("{s:s}", "operation", s->operation);
    if (summary == NULL)
        return NULL;
    for (size_t i = 0; i < s->nsummary; i++) {
        const char *k = s->summary[2 * i], *v = s->summary[2 * i + 1];
        if (k == NULL || v == NULL || strcmp(k, "operation") == 0)
            continue;
        if (!set_new(summary, k, json_string(v))) {
            json_decref(summary);
            return NULL;
        }
    }
    json_t *snap = json_pack("{s:I,s:I,s:I,s:s,s:o}", "snapshot-id", (json_int_t)s->snapshot_id,
                             "sequence-number", (json_int_t)s->sequence_number, "timestamp-ms",
                             (json_int_t)s->timestamp_ms, "manifest-list", s->manifest_list,
                             "summary", summary);
    if (snap == NULL)
        return NULL;
    if (s->parent_id >= 0 && !set_new(snap, "parent-snapshot-id", json_integer(s->parent_id))) {
        json_decref(snap);
        return NULL;
    }
    json_t *u = json_pack("[{s:s,s:o},{s:s,s:s,s:s,s:I}]", "action", "add-snapshot", "snapshot",
                          snap, "action", "set-snapshot-ref", "ref-name", "main", "type",
                          "branch", "snapshot-id", (json_int_t)s->snapshot_id);
    if (u == NULL)
        return NULL;
    char *text = json_dumps(u, JSON_COMPACT);
    json_decref(u);
    return text;
}

char *
nf_ice_updates_remove_snapshots(const int64_t *ids, size_t n)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(arr, json_integer(ids[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    json_t *u = json_pack("[{s:s,s:o}]", "action", "remove-snapshots", "snapshot-ids", arr);
    if (u == NULL)
        return NULL;
    char *text = json_dumps(u, JSON_COMPACT);
    json_decref(u);
    return text;
}
