/* store.c — the catalog's SQLite store. See store.h for the contract.
 *
 * Design notes:
 *   - One connection behind a mutex rather than one per request: every statement here is a
 *     primary-key lookup or a one-row change (microseconds), so serializing them costs
 *     nothing next to the metadata file I/O the server does outside the store, and a single
 *     connection keeps prepared-statement and error handling in one place.
 *   - WAL journal + synchronous=FULL: a commit's pointer swap is durable when the call
 *     returns (the client is told the commit happened), readers never block the writer.
 *   - busy_timeout 5 s: a second catalog process on the same file waits for the write lock
 *     instead of answering SQLITE_BUSY; beyond that the caller gets NF_EAGAIN (→ 503).
 *   - Check-then-change operations run inside BEGIN IMMEDIATE, which takes the write lock
 *     first, so no other process can slip between the check and the change.
 */
#include "store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

struct cat_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    char path[512];
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS namespaces ("
    "  name TEXT PRIMARY KEY,"
    "  properties TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE IF NOT EXISTS tables ("
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  metadata_location TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  PRIMARY KEY (namespace, name));";

/* Maps a failed SQLite call to a status: busy/locked → NF_EAGAIN, the rest NF_EIO. */
static nf_status
db_fail(cat_store *s, nf_err *err, const char *what)
{
    int rc = sqlite3_extended_errcode(s->db);
    nf_status code = ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) ? NF_EAGAIN
                                                                                 : NF_EIO;
    return nf_err_set(err, code, "catalog database %s: %s: %s (sqlite %d)", s->path, what,
                      sqlite3_errmsg(s->db), rc);
}

static nf_status
exec(cat_store *s, const char *sql, nf_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, err, sql);
    return NF_OK;
}

/* Prepares sql and binds the NULL-terminated text arguments in order. */
static nf_status
prep(cat_store *s, sqlite3_stmt **st, nf_err *err, const char *sql, ...)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare");
    va_list ap;
    va_start(ap, sql);
    int i = 1;
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        if (sqlite3_bind_text(*st, i++, a, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
            va_end(ap);
            nf_status rc = db_fail(s, err, "bind");
            sqlite3_finalize(*st);
            *st = NULL;
            return rc;
        }
    }
    va_end(ap);
    return NF_OK;
}

/* Steps a statement that returns no rows; finalizes it. */
static nf_status
step_done(cat_store *s, sqlite3_stmt *st, nf_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    nf_status out = rc == SQLITE_DONE ? NF_OK : db_fail(s, err, what);
    sqlite3_finalize(st);
    return out;
}

/* 1 if the query (a SELECT with text arguments) returns a row, 0 if not, -1 on error. */
static int
exists(cat_store *s, nf_err *err, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    if (prep(s, &st, err, sql, a, b, (const char *)NULL) != NF_OK)
        return -1;
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (out < 0)
        db_fail(s, err, "select");
    sqlite3_finalize(st);
    return out;
}

static int
ns_exists(cat_store *s, const char *ns, nf_err *err)
{
    return exists(s, err, "SELECT 1 FROM namespaces WHERE name = ?", ns, NULL);
}

static int
table_exists(cat_store *s, const char *ns, const char *name, nf_err *err)
{
    return exists(s, err, "SELECT 1 FROM tables WHERE namespace = ? AND name = ?", ns, name);
}

/* Ends a BEGIN IMMEDIATE transaction: COMMIT when rc is NF_OK, else ROLLBACK. */
static nf_status
finish(cat_store *s, nf_status rc, nf_err *err)
{
    if (rc == NF_OK)
        return exec(s, "COMMIT", err);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

nf_status
cat_store_open(const char *path, cat_store **out, nf_err *err)
{
    cat_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nf_err_set(err, NF_ENOMEM, "catalog database %s: out of memory", path);
    snprintf(s->path, sizeof(s->path), "%s", path);
    nf_status rc;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        rc = s->db != NULL ? db_fail(s, err, "open")
                           : nf_err_set(err, NF_ENOMEM, "catalog database %s: open", path);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(s->db, 1);
    if ((rc = exec(s, "PRAGMA journal_mode=WAL", err)) != NF_OK ||
        (rc = exec(s, "PRAGMA synchronous=FULL", err)) != NF_OK ||
        (rc = exec(s, schema_sql, err)) != NF_OK)
        goto fail;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        rc = nf_err_set(err, NF_ENOMEM, "catalog database %s: mutex", path);
        goto fail;
    }
    *out = s;
    return NF_OK;
fail:
    sqlite3_close(s->db);
    free(s);
    return rc;
}

void
cat_store_close(cat_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

nf_status
cat_store_ns_create(cat_store *s, const char *ns, const json_t *props, nf_err *err)
{
    char *text = props != NULL ? json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    if (text == NULL)
        return nf_err_set(err, NF_ENOMEM, "namespace %s: properties", ns);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    nf_status rc = prep(s, &st, err, "INSERT INTO namespaces(name, properties) VALUES (?, ?)",
                        ns, text, (const char *)NULL);
    if (rc == NF_OK) {
        int r = sqlite3_step(st);
        if ((r & 0xff) == SQLITE_CONSTRAINT)
            rc = nf_err_set(err, NF_ECONFLICT, "namespace %s already exists", ns);
        else if (r != SQLITE_DONE)
            rc = db_fail(s, err, "insert namespace");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    free(text);
    return rc;
}

nf_status
cat_store_ns_get(cat_store *s, const char *ns, json_t **props, nf_err *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    nf_status rc = prep(s, &st, err, "SELECT properties FROM namespaces WHERE name = ?", ns,
                        (const char *)NULL);
    if (rc == NF_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(st, 0);
            json_t *j = json_loads(text != NULL ? text : "{}", 0, NULL);
            if (!json_is_object(j)) {
                json_decref(j);
                rc = nf_err_set(err, NF_EIO, "namespace %s: stored properties are not a JSON "
                                "object", ns);
            } else {
                *props = j;
            }
        } else if (r == SQLITE_DONE) {
            rc = nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", ns);
        } else {
            rc = db_fail(s, err, "select namespace");
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Collects the first text column of every row of st into a new JSON array; finalizes st. */
static nf_status
collect(cat_store *s, sqlite3_stmt *st, json_t **out, nf_err *err)
{
    json_t *arr = json_array();
    nf_status rc = arr != NULL ? NF_OK : nf_err_set(err, NF_ENOMEM, "list");
    int r = SQLITE_DONE;
    while (rc == NF_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (json_array_append_new(arr, json_string(v != NULL ? v : "")) != 0)
            rc = nf_err_set(err, NF_ENOMEM, "list");
    }
    if (rc == NF_OK && r != SQLITE_DONE)
        rc = db_fail(s, err, "list");
    sqlite3_finalize(st);
    if (rc != NF_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return NF_OK;
}

nf_status
cat_store_ns_list(cat_store *s, json_t **names, nf_err *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    nf_status rc = prep(s, &st, err, "SELECT name FROM namespaces ORDER BY name",
                        (const char *)NULL);
    if (rc == NF_OK)
        rc = collect(s, st, names, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

nf_status
cat_store_ns_drop(cat_store *s, const char *ns, nf_err *err)
{
    pthread_mutex_lock(&s->mu);
    nf_status rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc != NF_OK)
        goto out;
    int e = ns_exists(s, ns, err);
    int t = e == 1 ? exists(s, err, "SELECT 1 FROM tables WHERE namespace = ?", ns, NULL) : 0;
    sqlite3_stmt *st = NULL;
    if (e < 0 || t < 0)
        rc = err->code;
    else if (e == 0)
        rc = nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", ns);
    else if (t == 1)
        rc = nf_err_set(err, NF_ECONFLICT, "namespace %s is not empty: drop its tables first",
                        ns);
    else if ((rc = prep(s, &st, err, "DELETE FROM namespaces WHERE name = ?", ns,
                        (const char *)NULL)) == NF_OK)
        rc = step_done(s, st, err, "delete namespace");
    rc = finish(s, rc, err);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

nf_status
cat_store_ns_update_props(cat_store *s, const char *ns, const json_t *updates,
                          const json_t *removals, json_t **result, nf_err *err)
{
    json_t *props = NULL, *res = NULL;
    char *text = NULL;
    pthread_mutex_lock(&s->mu);
    nf_status rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc != NF_OK)
        goto out;
    sqlite3_stmt *st = NULL;
    rc = prep(s, &st, err, "SELECT properties FROM namespaces WHERE name = ?", ns,
              (const char *)NULL);
    if (rc == NF_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            props = json_loads(t != NULL ? t : "{}", 0, NULL);
            if (!json_is_object(props))
                rc = nf_err_set(err, NF_EIO, "namespace %s: stored properties are not a JSON "
                                "object", ns);
        } else if (r == SQLITE_DONE) {
            rc = nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", ns);
        } else {
            rc = db_fail(s, err, "select namespace");
        }
        sqlite3_finalize(st);
    }
    res = json_pack("{s:[],s:[],s:[]}", "updated", "removed", "missing");
    if (rc == NF_OK && res == NULL)
        rc = nf_err_set(err, NF_ENOMEM, "namespace %s: properties", ns);
    size_t i;
    json_t *v;
    const char *k;
    json_array_foreach(removals, i, v) {
        if (rc != NF_OK)
            break;
        k = json_string_value(v);
        if (json_object_get(updates, k) != NULL) {
            rc = nf_err_set(err, NF_EINVAL, "property '%s' is both updated and removed", k);
            break;
        }
        json_t *dst = json_object_get(props, k) != NULL ? json_object_get(res, "removed")
                                                         : json_object_get(res, "missing");
        json_object_del(props, k);
        json_array_append_new(dst, json_string(k));
    }
    json_object_foreach((json_t *)updates, k, v) {
        if (rc != NF_OK)
            break;
        json_object_set(props, k, v);
        json_array_append_new(json_object_get(res, "updated"), json_string(k));
    }
    if (rc == NF_OK) {
        text = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
        if (text == NULL)
            rc = nf_err_set(err, NF_ENOMEM, "namespace %s: properties", ns);
    }
    if (rc == NF_OK &&
        (rc = prep(s, &st, err, "UPDATE namespaces SET properties = ? WHERE name = ?", text, ns,
                   (const char *)NULL)) == NF_OK)
        rc = step_done(s, st, err, "update namespace");
    rc = finish(s, rc, err);
out:
    pthread_mutex_unlock(&s->mu);
    json_decref(props);
    free(text);
    if (rc == NF_OK)
        *result = res;
    else
        json_decref(res);
    return rc;
}

nf_status
cat_store_table_list(cat_store *s, const char *ns, json_t **names, nf_err *err)
{
    pthread_mutex_lock(&s->mu);
    /* One read transaction so the namespace check and the listing see the same state. */
    nf_status rc = exec(s, "BEGIN", err);
    if (rc != NF_OK)
        goto out;
    int e = ns_exists(s, ns, err);
    sqlite3_stmt *st = NULL;
    if (e < 0)
        rc = err->code;
    else if (e == 0)
        rc = nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", ns);
    else if ((rc = prep(s, &st, err,
                        "SELECT name FROM tables WHERE namespace = ? ORDER BY name", ns,
                        (const char *)NULL)) == NF_OK)
        rc = collect(s, st, names, err);
    nf_status end = exec(s, "COMMIT", err);
    if (rc == NF_OK && end != NF_OK) {
        json_decref(*names);
        rc = end;
    }
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

nf_status
cat_store_table_get(cat_store *s, const char *ns, const char *name, char **location,
                    int64_t *version, nf_err *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    nf_status rc = prep(s, &st, err,
                        "SELECT metadata_location, version FROM tables "
                        "WHERE namespace = ? AND name = ?",
                        ns, name, (const char *)NULL);
    if (rc != NF_OK)
        goto out;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *loc = (const char *)sqlite3_column_text(st, 0);
        char *copy = strdup(loc != NULL ? loc : "");
        if (copy == NULL) {
            rc = nf_err_set(err, NF_ENOMEM, "table %s.%s", ns, name);
        } else {
            *location = copy;
            if (version != NULL)
                *version = sqlite3_column_int64(st, 1);
        }
    } else if (r == SQLITE_DONE) {
        int e = ns_exists(s, ns, err);
        rc = e < 0 ? err->code
             : e == 0 ? nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", ns)
                      : nf_err_set(err, NF_ENOTFOUND, "table %s.%s does not exist", ns, name);
    } else {
        rc = db_fail(s, err, "select table");
    }
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

nf_status
cat_store_table_create(cat_store *s, const char *ns, const char *name, const char *location,
                       int64_t version, nf_err *err)
{
    char vtext[32];
    snprintf(vtext, sizeof(vtext), "%lld", (long long)version);
    pthread_mutex_lock(&s->mu);
    nf_status rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc != NF_OK)
        goto out;
    int e = ns_exists(s, ns, err);
    int t = e == 1 ? table_exists(s, ns, name, err) : 0;
    sqlite3_stmt *st = NULL;
    if (e < 0 || t < 0)
        rc = err->code;
    else if (e == 0)
        rc = nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", ns);
    else if (t == 1)
        rc = nf_err_set(err, NF_ECONFLICT, "table %s.%s already exists", ns, name);
    else if ((rc = prep(s, &st, err,
                        "INSERT INTO tables(namespace, name, metadata_location, version) "
                        "VALUES (?, ?, ?, CAST(? AS INTEGER))",
                        ns, name, location, vtext, (const char *)NULL)) == NF_OK)
        rc = step_done(s, st, err, "insert table");
    rc = finish(s, rc, err);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

nf_status
cat_store_table_swap(cat_store *s, const char *ns, const char *name, const char *old_location,
                     const char *new_location, int64_t new_version, nf_err *err)
{
    char vtext[32];
    snprintf(vtext, sizeof(vtext), "%lld", (long long)new_version);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    nf_status rc = prep(s, &st, err,
                        "UPDATE tables SET metadata_location = ?, version = CAST(? AS INTEGER) "
                        "WHERE namespace = ? AND name = ? AND metadata_location = ?",
                        new_location, vtext, ns, name, old_location, (const char *)NULL);
    if (rc == NF_OK && (rc = step_done(s, st, err, "update table")) == NF_OK &&
        sqlite3_changes(s->db) != 1)
        rc = nf_err_set(err, NF_ECONFLICT,
                        "table %s.%s: its metadata is no longer %s (a concurrent commit won)",
                        ns, name, old_location);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

nf_status
cat_store_table_drop(cat_store *s, const char *ns, const char *name, nf_err *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    nf_status rc = prep(s, &st, err, "DELETE FROM tables WHERE namespace = ? AND name = ?", ns,
                        name, (const char *)NULL);
    if (rc == NF_OK && (rc = step_done(s, st, err, "delete table")) == NF_OK &&
        sqlite3_changes(s->db) != 1) {
        int e = ns_exists(s, ns, err);
        rc = e < 0 ? err->code
             : e == 0 ? nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", ns)
                      : nf_err_set(err, NF_ENOTFOUND, "table %s.%s does not exist", ns, name);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

nf_status
cat_store_table_rename(cat_store *s, const char *from_ns, const char *from, const char *to_ns,
                       const char *to, nf_err *err)
{
    pthread_mutex_lock(&s->mu);
    nf_status rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc != NF_OK)
        goto out;
    int src = table_exists(s, from_ns, from, err);
    int dns = src == 1 ? ns_exists(s, to_ns, err) : 0;
    int dst = dns == 1 ? table_exists(s, to_ns, to, err) : 0;
    sqlite3_stmt *st = NULL;
    if (src < 0 || dns < 0 || dst < 0)
        rc = err->code;
    else if (src == 0)
        rc = nf_err_set(err, NF_ENOTFOUND, "table %s.%s does not exist", from_ns, from);
    else if (dns == 0)
        rc = nf_err_set(err, NF_ENOTFOUND, "namespace %s does not exist", to_ns);
    else if (dst == 1)
        rc = nf_err_set(err, NF_ECONFLICT, "table %s.%s already exists", to_ns, to);
    else if ((rc = prep(s, &st, err,
                        "UPDATE tables SET namespace = ?, name = ? "
                        "WHERE namespace = ? AND name = ?",
                        to_ns, to, from_ns, from, (const char *)NULL)) == NF_OK)
        rc = step_done(s, st, err, "rename table");
    rc = finish(s, rc, err);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}
