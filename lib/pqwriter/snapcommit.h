/* snapcommit.h — one commit of a new live-file set to a cold-tier Iceberg table, shared by
 * maintenance (maintain.c: compaction, retention) and the rollup tables (rollup.c). Internal
 * to nf_pqwriter.
 *
 * The snapshot has the simple shape maintain.c describes: ONE manifest listing every live
 * file of the table (EXISTING entries kept as read, DELETED entries for the files leaving,
 * ADDED entries for the new ones) and a manifest list holding it, committed with the
 * requirement "main is still the snapshot we planned from" (nf_ice_requirements_main).
 *
 * Outcomes of a commit (maintain.h's rules): NF_ECONFLICT means nothing changed; NF_EUPSTREAM,
 * NF_ETIMEDOUT and NF_EAGAIN mean the outcome is unknown, so the table is reloaded and looked
 * at for our snapshot. Files written for an attempt that did not land are never deleted here.
 *
 * Thread safety: no shared state; the catalog must not be used by another thread meanwhile.
 */
#ifndef NFX_LIB_PQWRITER_SNAPCOMMIT_H
#define NFX_LIB_PQWRITER_SNAPCOMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../iceberg/iceberg.h"
#include "maintain.h"

/* Summary pairs a caller may add after the counters. */
#define NF_SNAPCOMMIT_MAX_EXTRA 4

/* What one commit changes. Everything is borrowed for the call. */
typedef struct nf_snapcommit {
    const char *ns, *table;          /* names, for the catalog and messages */
    const nf_ice_table *t;           /* as loaded: the parent is its current snapshot (none:
                                      * the first snapshot); location, schema, spec from it */
    nf_ice_type (*type_of)(int32_t field_id); /* column types (nf_ice_manifest_ctx.type_of) */
    const nf_ice_datafile *live;     /* live files of t's current snapshot */
    size_t nlive;
    const bool *drop;                /* per live file: it leaves the table (DELETED entry) */
    const nf_ice_datafile *added;    /* new files (ADDED entries) */
    size_t nadded;
    const char *operation;           /* NULL: "append", "delete" or "overwrite" by what
                                      * changes */
    bool files_size;                 /* the summary has total-files-size too */
    const char *const *extra;        /* summary pairs after the counters: key, value, ... */
    size_t nextra;                   /* pairs in extra, at most NF_SNAPCOMMIT_MAX_EXTRA */
    const char *phase;               /* given to o->before_commit */
} nf_snapcommit;

/* What happened to an attempt, for the caller's report. */
typedef struct nf_snapcommit_result {
    int64_t snapshot_id; /* the attempt's snapshot id; 0 if no commit was sent */
    bool conflicted;     /* the catalog said NF_ECONFLICT */
    bool unknown;        /* the outcome was unknown and had to be looked up */
} nf_snapcommit_result;

/* Commit attempts per operation: o->max_attempts, or 8 when it is 0 (maintain.h). */
int nf_snapcommit_attempts(const nf_maint_options *o);

/* True for the statuses whose commit outcome is unknown (see the top). */
bool nf_snapcommit_unknown(nf_status st);

/* Writes the manifest and manifest list of sc (under <location>/metadata, named after a new
 * UUID and `attempt`) and commits the snapshot; o (borrowed) gives the hook. Returns NF_OK:
 * committed (perhaps found after an unknown outcome). NF_ECONFLICT: nothing changed.
 * NF_EAGAIN: outcome unknown and our snapshot is not in the reloaded metadata (it may still
 * land: look for res->snapshot_id after later reloads). An unknown outcome whose reload
 * failed returns the commit's status (NF_EUPSTREAM, NF_ETIMEDOUT). err keeps the commit's
 * error in those cases. Anything else: stop (catalog, manifest or NF_ENOMEM errors).
 * *res is always written. */
nf_status nf_snapcommit_try(nf_ice_catalog *c, const nf_snapcommit *sc,
                            const nf_maint_options *o, int attempt, nf_snapcommit_result *res,
                            nf_err *err);

#endif
