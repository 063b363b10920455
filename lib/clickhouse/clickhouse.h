/* clickhouse.h — a ClickHouse client over its HTTP interface (libcurl), the schema of the
 * hot tier, and its retention. Design and schema: docs/clickhouse.md.
 *
 * One nf_ch is one keep-alive HTTP connection (a reused curl easy handle): use it from one
 * thread at a time; open one per thread otherwise. Every call is a complete request; nothing
 * is buffered between calls.
 *
 * Errors. Each call returns:
 *   NF_OK
 *   NF_EAGAIN    ClickHouse could not be reached or answered too late (connection refused,
 *                reset, timeout, HTTP 5xx without an exception, or an exception whose code
 *                nf_ch_retryable() accepts: too many parts, memory limit, too many queries,
 *                timeouts, network errors). Try again later.
 *   NF_EUPSTREAM ClickHouse refused the request with an exception that retrying will not
 *                cure (syntax, unknown table or column, type mismatch, parse error of the
 *                data, authentication). err->msg holds "ClickHouse code N: <text>".
 *   NF_EINVAL    bad arguments or config.
 *   NF_ENOMEM
 * After any call, nf_ch_last_code() is the ClickHouse exception code of the last answer
 * (0 if it was not an exception).
 *
 * Ownership: strings in nf_ch_config are copied at open. Buffers returned by nf_ch_query are
 * the caller's (free()).
 */
#ifndef NFX_LIB_CLICKHOUSE_CLICKHOUSE_H
#define NFX_LIB_CLICKHOUSE_CLICKHOUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../base/nf_status.h"

typedef struct nf_ch nf_ch;

typedef struct nf_ch_config {
    const char *url;             /* "http://host:port" (ClickHouse's http_port); required */
    const char *user;            /* NULL or "" = ClickHouse's "default" user */
    const char *password;        /* NULL = none; sent as X-ClickHouse-Key, never in a URL */
    const char *database;        /* default database of every query; NULL = server default */
    uint64_t connect_timeout_ms; /* 0 = 5000 */
    uint64_t timeout_ms;         /* whole request; 0 = 60000 */
} nf_ch_config;

/* Validates the config and prepares the connection (does not connect yet). *out is the
 * caller's: nf_ch_close. Returns NF_OK, NF_EINVAL (names the bad field) or NF_ENOMEM. */
nf_status nf_ch_open(const nf_ch_config *cfg, nf_ch **out, nf_err *err);

/* NULL-safe. */
void nf_ch_close(nf_ch *c);

/* Runs a statement that returns nothing useful (DDL, ALTER, OPTIMIZE, INSERT … SELECT). */
nf_status nf_ch_exec(nf_ch *c, const char *sql, nf_err *err);

/* Runs a query and returns its whole answer body (in the FORMAT the SQL names; ClickHouse's
 * default is TabSeparated) as a NUL-terminated malloc'd buffer in *body, its length (without
 * the NUL) in *len. The answer may be at most max_bytes (0 = 64 MiB): larger answers fail
 * with NF_EUPSTREAM and nothing is returned. *body is set only on NF_OK. */
nf_status nf_ch_query(nf_ch *c, const char *sql, size_t max_bytes, char **body, size_t *len,
                      nf_err *err);

/* INSERT INTO <into> FORMAT RowBinary, with data (len bytes of RowBinary rows) as the body.
 * into is a table name optionally followed by a column list: "netflow.ingest" or
 * "t (a, b)". It must come from the program, never from a user. */
nf_status nf_ch_insert_rowbinary(nf_ch *c, const char *into, const uint8_t *data, size_t len,
                                 nf_err *err);

/* The same with a query id ([A-Za-z0-9_-], 1..64 bytes; NULL = the server picks one), so that
 * an INSERT whose answer never came can be found on the server (nf_ch_query_gone). */
nf_status nf_ch_insert_rowbinary_id(nf_ch *c, const char *into, const char *query_id,
                                    const uint8_t *data, size_t len, nf_err *err);

/* The ClickHouse exception code of the last answer on c, 0 if none. */
int nf_ch_last_code(const nf_ch *c);

/* True when the last request on c failed without any HTTP answer (timeout, connection lost):
 * its outcome is unknown — the server may have run it, be running it, or run it later from
 * the bytes it already holds. */
bool nf_ch_last_unanswered(const nf_ch *c);

/* Makes sure the query query_id is not running: asks ClickHouse to cancel it (KILL QUERY,
 * ASYNC: it returns at once), then checks system.processes. NF_OK: it has finished (done or
 * killed) and will not change anything any more; NF_EAGAIN/NF_EUPSTREAM: not known yet
 * (ClickHouse unreachable, still running) — call again later. Not SYNC: a KILL that waits
 * holds one of the server's max_concurrent_queries slots for as long as the query lingers,
 * and a caller that retries would pile such waits up until the server refuses everything. */
nf_status nf_ch_query_gone(nf_ch *c, const char *query_id, nf_err *err);

/* True for exception codes that a later retry may cure (see the list above). */
bool nf_ch_retryable(int code);

/* The server's version string ("18.16.1", "24.8.4.13"), from SELECT version(). Written to
 * out (NUL-terminated, truncated to n). */
nf_status nf_ch_server_version(nf_ch *c, char *out, size_t n, nf_err *err);

/* ---- schema ----------------------------------------------------------------------------- */

#define NF_CH_SCHEMA_VERSION 1

/* Creates database db and every table and view of docs/clickhouse.md that is missing, then
 * records NF_CH_SCHEMA_VERSION in db.schema_version. Idempotent; safe when two writers start
 * at once. Refuses (NF_EUPSTREAM, saying so) a database whose schema_version is newer than
 * this program's. db must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*), else NF_EINVAL. */
nf_status nf_ch_schema_apply(nf_ch *c, const char *db, nf_err *err);

/* Column list of db.ingest in the order the writer sends RowBinary rows, in parentheses
 * ("(timestamp, src_addr, …, msg_id)"), for nf_ch_insert_rowbinary's `into`:
 * "<db>.ingest " followed by it. */
extern const char NF_CH_INGEST_COLUMNS[];

/* ---- retention -------------------------------------------------------------------------- */

typedef struct nf_ch_retention_result {
    unsigned partitions_dropped; /* (table, day) pairs dropped */
    unsigned tables;             /* tables looked at */
} nf_ch_retention_result;

/* Drops, from every table of the schema in db, the day partitions older than `days` days
 * before now's UTC date: with days = 2 and now on 2026-11-27, partitions up to 2026-11-24
 * go and 2026-11-25 stays. ingest_log keeps one day more. days >= 1. */
nf_status nf_ch_retention_apply(nf_ch *c, const char *db, unsigned days, time_t now,
                                nf_ch_retention_result *res, nf_err *err);

#endif
