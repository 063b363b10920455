/* store.h — the catalog's SQLite store: namespaces and, per table, the pointer to its
 * current metadata file. Internal to lib/catalog.
 *
 *   namespaces(name TEXT PRIMARY KEY, properties TEXT)     properties: a JSON object
 *   tables(namespace, name, metadata_location, version, PRIMARY KEY(namespace, name))
 *
 * A commit moves a table's pointer by compare-and-swap (cat_store_table_swap): the UPDATE
 * names the location the committer started from, so of two writers (threads or processes
 * sharing the database file) that started from the same metadata only one succeeds.
 * Operations that check and then change (create a table only in an existing namespace, drop
 * a namespace only when empty) run in one BEGIN IMMEDIATE transaction, so they are atomic
 * across processes too.
 *
 * Thread safety: one connection, every call serialized by the store's mutex (calls are
 * short: no file I/O beyond SQLite's own). The file is in WAL mode with a busy timeout so
 * a second catalog process on the same file waits instead of failing.
 * Errors: err must not be NULL (every failure fills it). SQLite busy → NF_EAGAIN.
 * Ownership: returned strings and json_t values belong to the caller (free / json_decref).
 */
#ifndef NFX_LIB_CATALOG_STORE_H
#define NFX_LIB_CATALOG_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "../base/nf_status.h"

typedef struct cat_store cat_store;

/* Opens (creating if needed) the database at path. */
nf_status cat_store_open(const char *path, cat_store **out, nf_err *err);
/* Closes; NULL-safe. */
void cat_store_close(cat_store *s);

/* Creates namespace ns with properties (a JSON object, borrowed; NULL = {}).
 * NF_ECONFLICT if it exists. */
nf_status cat_store_ns_create(cat_store *s, const char *ns, const json_t *props, nf_err *err);
/* *props receives the namespace's properties (new reference). NF_ENOTFOUND if absent. */
nf_status cat_store_ns_get(cat_store *s, const char *ns, json_t **props, nf_err *err);
/* *names receives an array of namespace names, sorted (new reference). */
nf_status cat_store_ns_list(cat_store *s, json_t **names, nf_err *err);
/* Drops ns. NF_ENOTFOUND if absent, NF_ECONFLICT if it still holds tables. */
nf_status cat_store_ns_drop(cat_store *s, const char *ns, nf_err *err);
/* Sets the keys of updates (object of strings) and removes removals (array of strings)
 * atomically; *result receives {"updated":[...],"removed":[...],"missing":[...]}.
 * NF_ENOTFOUND if ns is absent, NF_EINVAL if a key is both set and removed. */
nf_status cat_store_ns_update_props(cat_store *s, const char *ns, const json_t *updates,
                                    const json_t *removals, json_t **result, nf_err *err);

/* *names receives the table names of ns, sorted (new reference). NF_ENOTFOUND: no ns. */
nf_status cat_store_table_list(cat_store *s, const char *ns, json_t **names, nf_err *err);
/* *location (malloc'd) and *version (may be NULL) of ns.name. NF_ENOTFOUND if absent
 * (message says whether the namespace or the table is missing). */
nf_status cat_store_table_get(cat_store *s, const char *ns, const char *name, char **location,
                              int64_t *version, nf_err *err);
/* Adds ns.name → location. NF_ENOTFOUND if ns is absent, NF_ECONFLICT if the table exists. */
nf_status cat_store_table_create(cat_store *s, const char *ns, const char *name,
                                 const char *location, int64_t version, nf_err *err);
/* Compare-and-swap of the pointer: from old_location to new_location. NF_ECONFLICT if the
 * table's pointer is no longer old_location (or the table is gone). */
nf_status cat_store_table_swap(cat_store *s, const char *ns, const char *name,
                               const char *old_location, const char *new_location,
                               int64_t new_version, nf_err *err);
/* Removes ns.name (its files stay). NF_ENOTFOUND if absent. */
nf_status cat_store_table_drop(cat_store *s, const char *ns, const char *name, nf_err *err);
/* Renames from_ns.from → to_ns.to. NF_ENOTFOUND if the source or the target namespace is
 * absent, NF_ECONFLICT if the target exists. */
nf_status cat_store_table_rename(cat_store *s, const char *from_ns, const char *from,
                                 const char *to_ns, const char *to, nf_err *err);

#endif
