/* maintain.h — maintenance of the cold tier's Iceberg table: compaction of closed day
 * partitions, retention (dropping old days), snapshot expiry with deletion of the files no
 * kept snapshot references, and picking a snapshot for time travel.
 *
 * Called by the Parquet writer daemon on a schedule (maintenance_interval) and by
 * `serviceradar-netflow-parquet --maintain`. Everything goes through nf_ice_catalog, so the
 * REST catalog and the filesystem catalog behave the same. Design: docs/iceberg.md,
 * "Maintenance".
 *
 * Commits are optimistic (requirement: main is still the snapshot we planned from):
 *   - NF_ECONFLICT: nothing changed; reload, re-plan, retry (at most max_attempts times);
 *   - NF_EUPSTREAM / NF_ETIMEDOUT / NF_EAGAIN: outcome unknown; reload and look for our
 *     snapshot (or, for expiry, for the snapshots still being there) before retrying;
 *   - no file is ever deleted after a failed or unknown commit: files written for an attempt
 *     that did not land stay as orphans (harmless: no snapshot references them).
 * Every snapshot committed here copies the JetStream keys (NF_COLD_SUMMARY_*) of its parent's
 * summary: the writer's exactly-once state lives in the current snapshot's summary.
 *
 * Thread safety: no shared state; the nf_ice_catalog and nf_duck passed in must not be used
 * by another thread during a call. Not to be run by two maintainers on one table at once
 * (their commits stay correct, but expiry of one could delete a file the other's compaction
 * is reading).
 */
#ifndef NFX_LIB_PQWRITER_MAINTAIN_H
#define NFX_LIB_PQWRITER_MAINTAIN_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../duck/duck.h"
#include "../iceberg/iceberg.h"

/* Called just before each commit attempt (tests use it to commit a competing append in
 * between, which must make the attempt conflict). phase is "compact", "retention" or
 * "expire"; attempt counts from 0. Must not use the nf_ice_catalog of the call. */
typedef void nf_maint_hook(void *ctx, const char *phase, int attempt);

typedef struct nf_maint_options {
    uint64_t compact_min_files;   /* a closed day with at least this many live files is
                                   * compacted (pqwriter_config.compact_min_files; < 2 = 2) */
    uint64_t snapshot_max_age_ms; /* snapshots older than this are expired */
    uint64_t min_snapshots;       /* the newest this many of main's history are kept (< 1 = 1) */
    uint64_t retention_ms;        /* day partitions wholly older than now - this are deleted;
                                   * 0 = keep everything */
    int64_t now_ms;               /* epoch ms used for "today" and the age cut-offs; 0 = clock */
    int max_attempts;             /* commit attempts per operation; 0 = 8 */
    uint64_t orphan_min_age_ms;   /* files no snapshot references, older than this, are
                                   * deleted by nf_maint_expire; 0 = 1 day (no commit attempt
                                   * lasts that long, so none in flight is touched) */
    nf_maint_hook *before_commit; /* NULL = none */
    void *hook_ctx;
} nf_maint_options;

/* What a call did; the caller zeroes it once, each call adds to it. */
typedef struct nf_maint_report {
    size_t days_compacted;        /* day partitions rewritten */
    size_t files_rewritten;       /* live files replaced by compaction */
    size_t files_written;         /* files compaction wrote */
    int64_t records_rewritten;
    size_t days_dropped;          /* day partitions removed by retention */
    size_t files_dropped;
    int64_t records_dropped;
    size_t snapshots_expired;
    size_t data_files_deleted;    /* files removed from disk by expiry */
    size_t manifests_deleted;
    size_t manifest_lists_deleted;
    size_t metadata_files_deleted; /* vN.metadata.json beyond previous-versions-max */
    size_t orphans_deleted;       /* data files, manifests, lists no snapshot references */
    size_t conflicts;             /* commit attempts that conflicted and were re-planned */
    size_t unknown_outcomes;      /* commit attempts whose outcome had to be looked up */
    int64_t last_snapshot_id;     /* last snapshot committed (0 = none) */
} nf_maint_report;

/* Compacts ns.table: every day partition strictly before the current UTC day (and not
 * older than retention would keep, when retention_ms > 0) with at least
 * compact_min_files live data files is rewritten by nf_flowfile_rewrite into one sorted file
 * (more if the rewrite splits it) and committed as one "replace" snapshot per day. The
 * replaced files stay on disk (older snapshots reference them; expiry deletes them). The
 * record count of the new files must equal the old ones', or the new files are deleted and
 * NF_EINTERNAL is returned. NF_OK with nothing done if the table has no snapshot or no day
 * qualifies; NF_ENOTFOUND if the table does not exist; NF_ECONFLICT if every attempt
 * conflicted; other errors from the catalog, the manifests or DuckDB. c, duck, o borrowed;
 * r may be NULL. */
nf_status nf_maint_compact(nf_ice_catalog *c, const char *ns, const char *table, nf_duck *duck,
                           const nf_maint_options *o, nf_maint_report *r, nf_err *err);

/* Retention: commits one "delete" snapshot removing every live file whose day partition is
 * older than the day of now - retention_ms (that day itself and later days stay). Files are
 * not deleted from disk (expiry does it). NF_OK with nothing done when retention_ms is 0 or
 * no file is that old. Errors as nf_maint_compact. */
nf_status nf_maint_retention(nf_ice_catalog *c, const char *ns, const char *table,
                             const nf_maint_options *o, nf_maint_report *r, nf_err *err);

/* Expiry: removes from the metadata every snapshot older than now - snapshot_max_age_ms,
 * except the current one and the newest min_snapshots of main's ancestry; once that commit
 * has landed, deletes the manifest lists, manifests and data files reachable from the
 * expired snapshots and from no kept one (a file counts as referenced by a kept snapshot
 * when an ADDED or EXISTING entry of one of its manifests lists it). Only files under the
 * table's location are deleted; a file already gone is not an error. Then, every time,
 * deletes the metadata files v<N>.metadata.json older than the current one that the
 * metadata-log no longer lists (the commit code keeps write.metadata.previous-versions-max
 * entries there, 100 by default); never the current or a newer file. Last, the orphan sweep:
 * files under <location>/data and *.avro files under <location>/metadata that no snapshot
 * of the metadata references and that are older than orphan_min_age_ms — what commit
 * attempts that never landed left behind (a writer or maintainer killed between writing and
 * committing, an attempt whose outcome stayed unknown). Errors as nf_maint_compact; an error
 * while deleting (NF_EIO, naming the file) comes after the metadata commit, which stays. */
nf_status nf_maint_expire(nf_ice_catalog *c, const char *ns, const char *table,
                          const nf_maint_options *o, nf_maint_report *r, nf_err *err);

/* Time travel: the snapshot to read. snapshot_id > 0: that snapshot (NF_ENOTFOUND if the
 * metadata does not have it, e.g. expired); else as_of_ms > 0: the snapshot that was
 * current at that time (NF_ENOTFOUND if the table had none yet); else the current one
 * (NF_ENOTFOUND if the table is empty). Both non-zero: NF_EINVAL. *out is owned by t and
 * valid until t changes or is freed. */
nf_status nf_maint_snapshot_for(const nf_ice_table *t, int64_t snapshot_id, int64_t as_of_ms,
                                const nf_ice_snapshot **out, nf_err *err);

#endif
