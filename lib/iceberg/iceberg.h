/* iceberg.h — the Apache Iceberg v2 table format, the part ServiceRadar NetFlow needs:
 * table metadata (JSON), manifest lists and manifests (Avro), commits through a REST catalog
 * or straight on a filesystem, and a scan that walks metadata → manifest list → manifests
 * and keeps only the data files a time range and filters can touch. Design and the facts it
 * rests on: docs/iceberg.md and ../shared/docs/iceberg-notes.md.
 *
 * Scope (what a caller may rely on, and what is refused rather than half done)
 *   - Format version 2, data files only (content 0); delete files are refused when read.
 *   - Partition specs with at most one field whose value is an Avro int: `day` (days since
 *     1970-01-01) or `identity` of an int column. Enough for day(timestamp); anything else
 *     is refused with NF_EINVAL naming the transform.
 *   - Files are local (`file:///abs/path` URIs); nf_ice_uri_path converts.
 *
 * Pieces and files
 *   avro.c      Avro object-container framing written and read by us (libavro encodes and
 *               decodes the values only: Debian's libavro 1.11 drops field ids from the
 *               schema text and cannot write header metadata).
 *   manifest.c  manifest and manifest-list files (nf_ice_manifest_*, nf_ice_mlist_*).
 *   scan.c      nf_ice_scan: pruning by partition summaries, partition values, column bounds.
 *   metadata.c  table metadata JSON (nf_ice_table): parse, create, accessors, requirements
 *               and updates of the REST commit protocol applied to it.
 *   catalog.c   nf_ice_catalog: REST client (libcurl) or filesystem catalog, same calls.
 *   fs.c        metadata files on a filesystem: vN.metadata.json created without clobbering,
 *               version-hint.text; shared by the filesystem catalog and the catalog server.
 *
 * Ownership: every `out` parameter is written only on NF_OK and is owned by the caller,
 * freed with the matching *_free function; `const` inputs are borrowed for the call.
 * Thread safety: no shared state; distinct objects may be used on distinct threads.
 */
#ifndef NFX_LIB_ICEBERG_ICEBERG_H
#define NFX_LIB_ICEBERG_ICEBERG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"

/* ---- values and statistics ------------------------------------------------------------------- */

/* Iceberg primitive types we write and compare. Bounds use the spec's single-value binary
 * encoding: INT/DATE 4-byte little-endian, LONG/TIMESTAMP(TZ) 8-byte little-endian (µs),
 * STRING UTF-8 bytes, BINARY raw. */
typedef enum nf_ice_type {
    NF_ICE_INT = 1,
    NF_ICE_LONG,
    NF_ICE_STRING,
    NF_ICE_TIMESTAMPTZ, /* µs since epoch, UTC */
    NF_ICE_DATE,
    NF_ICE_BINARY,
} nf_ice_type;

/* Longest bound kept. Longer strings are truncated as the spec allows: the lower bound to a
 * prefix, the upper bound to a prefix whose last byte is incremented (no upper bound if
 * that is impossible). */
#define NF_ICE_BOUND_MAX 32

/* Statistics of one column in one data file (manifest maps 108/109/110/125/128). */
typedef struct nf_ice_colstat {
    int32_t field_id;
    int64_t column_size; /* bytes on disk; -1 = unknown (omitted) */
    int64_t value_count; /* values including nulls; -1 = unknown */
    int64_t null_count;  /* -1 = unknown */
    uint8_t lower_len;   /* 0 = no lower bound */
    uint8_t upper_len;   /* 0 = no upper bound */
    uint8_t lower[NF_ICE_BOUND_MAX];
    uint8_t upper[NF_ICE_BOUND_MAX];
} nf_ice_colstat;

/* Encodes v as an INT/DATE (4 bytes) or LONG/TIMESTAMPTZ (8 bytes) bound; returns length. */
size_t nf_ice_bound_int(int32_t v, uint8_t out[4]);
size_t nf_ice_bound_long(int64_t v, uint8_t out[8]);
/* Length of every encoded bound of type t: 4 (INT, DATE), 8 (LONG, TIMESTAMPTZ), 0 for the
 * variable-length types (STRING, BINARY). */
size_t nf_ice_bound_len(nf_ice_type t);
/* Sets st's lower/upper bound from a string of len bytes, truncating as described above. */
void nf_ice_bound_string_lower(nf_ice_colstat *st, const char *s, size_t len);
void nf_ice_bound_string_upper(nf_ice_colstat *st, const char *s, size_t len);
/* Compares two encoded bounds of type t (-1, 0, 1): numbers numerically, strings and
 * binary as unsigned bytes, a prefix before any longer value. */
int nf_ice_bound_cmp(nf_ice_type t, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ---- partition spec ------------------------------------------------------------------------ */

typedef enum nf_ice_transform { NF_ICE_UNPARTITIONED = 0, NF_ICE_DAY, NF_ICE_IDENTITY } nf_ice_transform;

typedef struct nf_ice_spec {
    int32_t spec_id;
    nf_ice_transform transform; /* UNPARTITIONED: no field */
    int32_t source_id;          /* column the partition value is derived from */
    int32_t field_id;           /* partition field id (>= 1000) */
    char name[64];              /* partition field name, e.g. "timestamp_day" */
} nf_ice_spec;

/* ---- data files (manifest entries) ----------------------------------------------------------- */

typedef enum nf_ice_entry_status {
    NF_ICE_EXISTING = 0,
    NF_ICE_ADDED = 1,
    NF_ICE_DELETED = 2,
} nf_ice_entry_status;

typedef struct nf_ice_datafile {
    char *path;              /* absolute URI, "file:///…"; owned */
    int64_t record_count;
    int64_t file_size;       /* bytes */
    int32_t partition;       /* the spec's partition value (e.g. days since epoch) */
    bool partition_null;     /* true: null partition value (or unpartitioned spec) */
    nf_ice_colstat *cols;    /* owned array */
    size_t ncols;
    int32_t sort_order_id;   /* -1 = not written */
    /* Manifest-entry fields. Writing: status ADDED with snapshot_id/-seq -1 (inherited from
     * the manifest list, as the spec requires); EXISTING/DELETED carry them explicitly.
     * Reading: filled in, inherited values resolved from the manifest list entry. */
    nf_ice_entry_status status;
    int64_t snapshot_id;     /* -1 = inherit */
    int64_t data_seq;        /* sequence_number; -1 = inherit (null) */
    int64_t file_seq;        /* file_sequence_number; -1 = inherit (null) */
} nf_ice_datafile;

/* Frees what f owns (path, cols), not f itself. NULL-safe. */
void nf_ice_datafile_clear(nf_ice_datafile *f);
/* Frees an array of n files and their contents. NULL-safe. */
void nf_ice_datafiles_free(nf_ice_datafile *files, size_t n);
/* Deep copy of src into *dst. */
nf_status nf_ice_datafile_copy(nf_ice_datafile *dst, const nf_ice_datafile *src, nf_err *err);

/* ---- manifests ------------------------------------------------------------------------------ */

/* What a manifest's header says about its table (Avro metadata keys `schema`, `schema-id`,
 * `partition-spec`, `partition-spec-id`, `format-version`, `content`). */
typedef struct nf_ice_manifest_ctx {
    const char *schema_json; /* the table's current schema object, JSON text */
    int32_t schema_id;
    const nf_ice_spec *spec;
    /* Types of the columns whose bounds the writer may be given, so readers can compare
     * them: looked up by field id; NULL = unknown (bounds written, never compared). */
    nf_ice_type (*type_of)(int32_t field_id);
} nf_ice_manifest_ctx;

/* One manifest-list entry (manifest_file record). */
typedef struct nf_ice_manifest {
    char *path;                    /* URI; owned */
    int64_t length;                /* exact size in bytes */
    int32_t spec_id;
    int32_t content;               /* 0 data; 1 deletes (refused by scans) */
    int64_t sequence_number;       /* of the snapshot that added it */
    int64_t min_sequence_number;   /* smallest data sequence number of its live files */
    int64_t added_snapshot_id;
    int32_t added_files, existing_files, deleted_files;
    int64_t added_rows, existing_rows, deleted_rows;
    /* Partition summary of the one partition field (507/508): */
    bool has_summary;
    bool contains_null;
    bool has_bounds;               /* false when every value was null or no files */
    int32_t lower, upper;          /* partition value range of the files listed */
} nf_ice_manifest;

void nf_ice_manifests_free(nf_ice_manifest *m, size_t n);

/* Writes a manifest of n entries to file path (a local path, not a URI), deflate-compressed,
 * readable by strict Avro readers and Iceberg readers, and fills *out with the manifest-list
 * entry describing it (path as a file:// URI, exact length, counts, partition summary,
 * added_snapshot_id = snapshot_id, sequence numbers = seq). The file is fsync'd. */
nf_status nf_ice_manifest_write(const char *path, const nf_ice_manifest_ctx *ctx,
                                int64_t snapshot_id, int64_t seq, const nf_ice_datafile *files,
                                size_t n, nf_ice_manifest *out, nf_err *err);

/* Reads the entries of manifest m (all statuses), resolving inherited snapshot ids and
 * sequence numbers from m. Fields are matched by field id, so manifests from other writers
 * (Java, pyiceberg) read too. NF_EPROTO for a malformed file, naming it. */
nf_status nf_ice_manifest_read(const nf_ice_manifest *m, nf_ice_datafile **out, size_t *n,
                               nf_err *err);

/* Writes a manifest list (snap-….avro) for a snapshot to local path; fsync'd. */
nf_status nf_ice_mlist_write(const char *path, int64_t snapshot_id, int64_t parent_id,
                             int64_t seq, const nf_ice_manifest *m, size_t n, nf_err *err);

/* Reads a manifest list given as URI or local path. */
nf_status nf_ice_mlist_read(const char *uri, nf_ice_manifest **out, size_t *n, nf_err *err);

/* ---- scan ----------------------------------------------------------------------------------- */

/* A condition a file's column bounds must allow: some value of field_id in [lo, hi]
 * (encoded bounds of type `type`; a zero length means unbounded on that side). Conditions
 * on the same field are ORed, on different fields ANDed. */
typedef struct nf_ice_cond {
    int32_t field_id;
    nf_ice_type type;
    uint8_t lo_len, hi_len;
    uint8_t lo[NF_ICE_BOUND_MAX], hi[NF_ICE_BOUND_MAX];
} nf_ice_cond;

#define NF_ICE_MAX_CONDS 32

typedef struct nf_ice_scan_filter {
    /* Time range [ts_lo_us, ts_hi_us) on column ts_field_id (TIMESTAMPTZ); used with the
     * partition spec (day transform of that column) and the column's bounds. ts_field_id 0 =
     * no time condition. */
    int32_t ts_field_id;
    int64_t ts_lo_us, ts_hi_us;
    nf_ice_cond conds[NF_ICE_MAX_CONDS];
    size_t nconds;
} nf_ice_scan_filter;

typedef struct nf_ice_scan_stats {
    size_t manifests, manifests_skipped; /* by partition summary */
    size_t files, files_skipped;         /* live files seen; skipped by partition or bounds */
    int64_t records;                     /* records in the files kept */
    int64_t bytes;                       /* bytes of the files kept */
} nf_ice_scan_stats;

/* The live data files (ADDED or EXISTING entries) of the snapshot whose manifest list is
 * mlist_uri that filter f (NULL = everything) cannot exclude. Sorted by path. st may be
 * NULL. A file is only excluded when its partition value or bounds prove no row matches;
 * missing statistics keep it. Delete manifests → NF_EINVAL (not supported). */
nf_status nf_ice_scan(const char *mlist_uri, const nf_ice_scan_filter *f,
                      nf_ice_datafile **out, size_t *n, nf_ice_scan_stats *st, nf_err *err);

/* ---- table metadata ------------------------------------------------------------------------- */

typedef struct nf_ice_table nf_ice_table; /* one metadata.json, parsed */

typedef struct nf_ice_snapshot {
    int64_t snapshot_id;
    int64_t parent_id;        /* -1 = none */
    int64_t sequence_number;
    int64_t timestamp_ms;
    const char *manifest_list; /* URI; owned by the table */
    const char *operation;     /* "append", "replace", "overwrite", "delete" */
} nf_ice_snapshot;

/* A new table's metadata: fresh table-uuid, no snapshots. schema_json is a schema object
 * with "schema-id" 0 and fields with ids; spec/sort_order JSON objects as the spec writes
 * them ("spec-id"/"fields", "order-id"/"fields"); properties a JSON object or NULL. */
nf_status nf_ice_table_new(const char *location, const char *schema_json, const char *spec_json,
                           const char *sort_order_json, const char *properties_json,
                           nf_ice_table **out, nf_err *err);
/* Parses metadata JSON (v2; v1 refused with NF_EINVAL). */
nf_status nf_ice_table_parse(const char *json, size_t len, nf_ice_table **out, nf_err *err);
/* The metadata as JSON text (malloc'd; caller frees); NULL on allocation failure. */
char *nf_ice_table_json(const nf_ice_table *t);
void nf_ice_table_free(nf_ice_table *t);

const char *nf_ice_table_location(const nf_ice_table *t); /* e.g. "file:///var/lib/…/netflow" */
const char *nf_ice_table_uuid(const nf_ice_table *t);
int64_t nf_ice_table_last_sequence(const nf_ice_table *t);
/* Current snapshot (refs.main / current-snapshot-id), NULL if none. Valid until t changes. */
const nf_ice_snapshot *nf_ice_table_current(const nf_ice_table *t);
/* Snapshot by id, NULL if absent. */
const nf_ice_snapshot *nf_ice_table_snapshot(const nf_ice_table *t, int64_t id);
/* The snapshot that was current at timestamp_ms (from the snapshot log), NULL if none. */
const nf_ice_snapshot *nf_ice_table_snapshot_at(const nf_ice_table *t, int64_t timestamp_ms);
/* All snapshots in the metadata, in file order; *n receives the count. */
const nf_ice_snapshot *nf_ice_table_snapshots(const nf_ice_table *t, size_t *n);
/* A summary value of a snapshot ("added-records", or a writer's own key), NULL if absent. */
const char *nf_ice_table_summary(const nf_ice_table *t, int64_t snapshot_id, const char *key);
/* A table property, NULL if absent. */
const char *nf_ice_table_property(const nf_ice_table *t, const char *key);
/* Current schema object as JSON text (malloc'd), its id; default partition spec. */
char *nf_ice_table_schema_json(const nf_ice_table *t);
int32_t nf_ice_table_schema_id(const nf_ice_table *t);
nf_status nf_ice_table_spec(const nf_ice_table *t, nf_ice_spec *out, nf_err *err);

/* Applies a REST commit (CommitTableRequest members, JSON arrays as text) to t: checks every
 * requirement first (assert-create, assert-table-uuid, assert-ref-snapshot-id,
 * assert-last-assigned-field-id, assert-current-schema-id, assert-last-assigned-partition-id,
 * assert-default-spec-id, assert-default-sort-order-id), then applies every update
 * (assign-uuid, upgrade-format-version, add-schema, set-current-schema, add-spec,
 * set-default-spec, add-sort-order, set-default-sort-order, add-snapshot, set-snapshot-ref,
 * remove-snapshots, remove-snapshot-ref, set-location, set-properties, remove-properties),
 * updating last-sequence-number, last-updated-ms, snapshot-log and metadata-log
 * (previous_metadata_uri, may be NULL). NF_ECONFLICT when a requirement fails, NF_EINVAL for
 * a malformed or unknown update (message names it); t is unchanged unless NF_OK. */
nf_status nf_ice_table_apply(nf_ice_table *t, const char *requirements_json,
                             const char *updates_json, const char *previous_metadata_uri,
                             nf_err *err);

/* Builders of commit JSON (malloc'd text; caller frees; NULL on allocation failure). */
typedef struct nf_ice_snapshot_new {
    int64_t snapshot_id;     /* nf_ice_new_snapshot_id() */
    int64_t parent_id;       /* -1 = none */
    int64_t sequence_number; /* base's last sequence + 1 */
    int64_t timestamp_ms;
    const char *manifest_list; /* URI */
    const char *operation;     /* "append", "replace", "delete", "overwrite" */
    const char *const *summary; /* key, value, key, value, … (operation is added) */
    size_t nsummary;            /* number of pairs */
} nf_ice_snapshot_new;

/* [assert-table-uuid, assert-ref-snapshot-id main = base's current (null if none)] */
char *nf_ice_requirements_main(const nf_ice_table *base);
/* [add-snapshot s, set-snapshot-ref main → s] */
char *nf_ice_updates_add_snapshot(const nf_ice_snapshot_new *s);
/* [remove-snapshots ids] */
char *nf_ice_updates_remove_snapshots(const int64_t *ids, size_t n);

/* A random snapshot id in [1, 2^53-3] (JavaScript readers round or refuse larger ids). */
int64_t nf_ice_new_snapshot_id(void);

/* ---- catalogs ------------------------------------------------------------------------------- */

typedef struct nf_ice_catalog nf_ice_catalog;

typedef struct nf_ice_catalog_config {
    /* "http://host:port[/prefix]" or "https://…": REST catalog.
     * "file:///abs/warehouse": filesystem catalog, table location <warehouse>/<ns>/<table>. */
    const char *uri;
    const char *warehouse;  /* REST: location for new tables, "file:///…" (may be NULL) */
    const char *ca_file;    /* https: CA to verify the server; NULL = system */
    const char *cert_file;  /* https client certificate (mTLS); NULL = none */
    const char *key_file;
    const char *token;      /* bearer token; NULL = none */
    int timeout_ms;         /* per request; 0 = 30 s */
} nf_ice_catalog_config;

nf_status nf_ice_catalog_open(const nf_ice_catalog_config *cfg, nf_ice_catalog **out,
                              nf_err *err);
void nf_ice_catalog_close(nf_ice_catalog *c);

/* Namespace ns (one level, e.g. "default"); created if absent (idempotent). */
nf_status nf_ice_catalog_ensure_namespace(nf_ice_catalog *c, const char *ns, nf_err *err);
/* Loads ns.name: NF_ENOTFOUND if it does not exist. *metadata_uri (may be NULL) receives the
 * metadata file's URI (malloc'd). */
nf_status nf_ice_catalog_load(nf_ice_catalog *c, const char *ns, const char *name,
                              nf_ice_table **out, char **metadata_uri, nf_err *err);
/* Creates ns.name (arguments as nf_ice_table_new; location NULL = the catalog's default).
 * NF_ECONFLICT if it already exists. */
nf_status nf_ice_catalog_create(nf_ice_catalog *c, const char *ns, const char *name,
                                const char *location, const char *schema_json,
                                const char *spec_json, const char *sort_order_json,
                                const char *properties_json, nf_ice_table **out, nf_err *err);
/* Commits requirements + updates to ns.name. NF_OK: *out (may be NULL) is the new metadata.
 * NF_ECONFLICT: a requirement failed, nothing changed — reload, rebase, retry.
 * NF_EUPSTREAM / NF_ETIMEDOUT / NF_EAGAIN: the outcome is UNKNOWN — reload and look for the
 * snapshot before retrying, and never delete the files it references. */
nf_status nf_ice_catalog_commit(nf_ice_catalog *c, const char *ns, const char *name,
                                const char *requirements_json, const char *updates_json,
                                nf_ice_table **out, nf_err *err);
/* Drops ns.name (metadata only; data files stay). NF_ENOTFOUND if absent. */
nf_status nf_ice_catalog_drop(nf_ice_catalog *c, const char *ns, const char *name, nf_err *err);

/* ---- metadata files on a filesystem (fs.c) --------------------------------------------------- */

/* Writes <table_dir>/metadata/v<version>.metadata.json with json, durably (temp file,
 * fsync, link() to the final name — never overwriting: NF_ECONFLICT if it exists), then
 * version-hint.text (temp + rename). *uri (may be NULL) receives the file's URI. */
nf_status nf_ice_fs_write_version(const char *table_dir, int64_t version, const char *json,
                                  char **uri, nf_err *err);
/* The same without touching version-hint.text when hint is false: for a catalog whose
 * commit point is elsewhere (the REST catalog's pointer swap), which raises the hint with
 * nf_ice_fs_write_hint only after the swap — so a path reader never sees a version that a
 * lost swap or a crash left uncommitted. */
nf_status nf_ice_fs_write_version_only(const char *table_dir, int64_t version, const char *json,
                                       char **uri, bool hint, nf_err *err);
/* Raises <table_dir>/metadata/version-hint.text to version (temp + rename; a higher hint
 * stays). */
nf_status nf_ice_fs_write_hint(const char *table_dir, int64_t version, nf_err *err);
/* Highest N with metadata/vN.metadata.json present (version-hint.text, then probing N+1…);
 * NF_ENOTFOUND if none. */
nf_status nf_ice_fs_latest_version(const char *table_dir, int64_t *version, nf_err *err);
/* The N of a metadata file name "v<N>.metadata.json" (N >= 1, no leading zero, no overflow);
 * 0 for any other name. */
int64_t nf_ice_fs_version_of_name(const char *name);

/* "file:///a/b" → "/a/b" (malloc'd); plain absolute paths are returned copied; anything
 * else NF_EINVAL. */
nf_status nf_ice_uri_path(const char *uri, char **path, nf_err *err);
/* "/a/b" → "file:///a/b" (malloc'd). */
char *nf_ice_path_uri(const char *path);
/* Removes the local files of the n data files (borrowed; path as nf_ice_uri_path takes it).
 * Best effort, nothing reported: for files written for a commit that never happened. */
void nf_ice_fs_remove_files(const nf_ice_datafile *files, size_t n);

#endif
