/* rollup.h — maintenance of the cold tier's hourly rollup tables (lib/cold/rollup.h): for
 * every closed day of the raw table whose rollup is missing or stale, compute the day's
 * hourly sums of every family from exactly the raw files live now, write one zstd Parquet
 * file per family and commit it in place of the day's previous rollup; drop the rollup of
 * days the raw table no longer has (retention); expire old snapshots of the rollup tables.
 * Design: docs/iceberg.md, "Rollups".
 *
 * Called by the Parquet writer's maintenance pass after compaction and retention (so a day
 * is summed from its one compacted file, and days retention removed are dropped in the same
 * pass), and before expiry.
 *
 * Staleness: a rollup table's current snapshot records, per day, the raw record count the
 * day's rollup was computed from (NF_COLD_ROLLUP_SUMMARY_DAYS). A closed day whose raw live
 * record count differs (a late append, or never built) is rebuilt; one whose count is equal
 * is left alone; a recorded day with no raw records left is dropped.
 *
 * Commits follow maintain.h's rules (optimistic, main asserted; NF_ECONFLICT re-plans,
 * unknown outcomes are looked up; no file is deleted after a failed or unknown commit). A
 * commit of a family's table replaces whole days: the day's previous file becomes DELETED,
 * the new one ADDED, other days EXISTING (one manifest listing the table's live files, like
 * maintain.c's commits), and the summary's day list is the parent's with those days updated.
 *
 * Thread safety: no shared state; the catalog and nf_duck must not be used by another thread
 * during a call. One maintainer per table (as maintain.h).
 */
#ifndef NFX_LIB_PQWRITER_ROLLUP_H
#define NFX_LIB_PQWRITER_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../duck/duck.h"
#include "../iceberg/iceberg.h"
#include "maintain.h"

/* What a call did; the caller zeroes it once, each call adds to it. */
typedef struct nf_rollup_report {
    size_t tables_created;      /* rollup tables that did not exist */
    size_t days_read;           /* raw days summed (each read once for all its stale families) */
    int64_t records_read;       /* raw records of those days */
    size_t rollups_built;       /* (family, day) rollups written and committed */
    size_t rollups_dropped;     /* (family, day) rollups removed: the raw day is gone */
    int64_t rollup_rows;        /* rows of the files committed */
    size_t commits;             /* snapshots committed to rollup tables */
    size_t conflicts;           /* commit attempts that conflicted and were re-planned */
    size_t unknown_outcomes;    /* commit attempts whose outcome had to be looked up */
} nf_rollup_report;

/* Brings the rollup tables of raw table ns.raw up to date (see the top). Uses from o:
 * now_ms (what "closed" means: days before the UTC day of now), max_attempts (per commit),
 * before_commit (phase "rollup"). Creates missing rollup tables. NF_OK with nothing done if
 * the raw table has no snapshot. Errors: NF_ENOTFOUND if ns.raw does not exist; NF_ECONFLICT
 * if every attempt of a commit conflicted; NF_EINTERNAL if a rollup's flows do not add up to
 * the raw record count (the file is removed, nothing committed); otherwise those of the
 * catalog, the manifests, DuckDB (NF_EUPSTREAM) and the filesystem (NF_EIO naming the
 * path). Work committed before an error stays. c, duck and o are borrowed; r may be NULL. */
nf_status nf_rollup_maintain(nf_ice_catalog *c, const char *ns, const char *raw, nf_duck *duck,
                             const nf_maint_options *o, nf_rollup_report *r, nf_err *err);

/* Snapshot expiry (nf_maint_expire with o) on every existing rollup table of ns.raw; tables
 * that do not exist are skipped. Every table is tried; the first error is returned. r (may
 * be NULL) is added to as nf_maint_expire does. */
nf_status nf_rollup_expire(nf_ice_catalog *c, const char *ns, const char *raw,
                           const nf_maint_options *o, nf_maint_report *r, nf_err *err);

#endif
