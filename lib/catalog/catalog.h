/* catalog.h — serviceradar-iceberg-catalog: an Iceberg REST catalog server (the subset of
 * the Iceberg REST OpenAPI spec that ServiceRadar's writers and readers use) backed by a
 * SQLite file that holds namespaces and, per table, the location of its current metadata
 * file. The metadata files themselves live in the table's directory under the warehouse,
 * written through lib/iceberg (nf_ice_table_*, nf_ice_fs_write_version).
 *
 * Routes (all answers application/json; errors {"error":{"message","type","code"}}):
 *   GET  /v1/config                                  {"defaults":{},"overrides":{}}
 *   GET|POST /v1/namespaces                          list / create
 *   GET|HEAD|DELETE /v1/namespaces/{ns}              load / exists / drop (only when empty)
 *   POST /v1/namespaces/{ns}/properties              set and remove properties
 *   GET|POST /v1/namespaces/{ns}/tables              list / create
 *   GET|HEAD|POST|DELETE /v1/namespaces/{ns}/tables/{t}   load / exists / commit / drop
 *   POST /v1/namespaces/{ns}/register                register an existing metadata file
 *   POST /v1/tables/rename                           rename (metadata pointer only)
 *   GET  /healthz                                    {"status":"ok"}
 * Namespaces are one level (a %1F-joined multi-level namespace is refused with 400).
 *
 * Threading: libmicrohttpd's internal thread accepts and one thread per connection serves
 * it; handlers share the store (serialized inside) and a striped table-lock array (one
 * commit per table at a time in this process). Two processes on one database stay correct
 * through the store's compare-and-swap.
 */
#ifndef NFX_LIB_CATALOG_CATALOG_H
#define NFX_LIB_CATALOG_CATALOG_H

#include <stdint.h>

#include "../base/nf_status.h"
#include "../metrics/metrics.h"
#include "catalog_config.h"

typedef struct nf_catalog nf_catalog;

/* Opens the database and starts serving on cfg->listen_addr (HTTPS with client
 * certificates when cfg->security.mode is "mtls"). cfg is borrowed for the call only.
 * Errors name the config key at fault (security.tls.cert_file, database, listen_addr).
 * *out is set only on NF_OK; stop with nf_catalog_stop. */
nf_status nf_catalog_start(const nf_catalog_config *cfg, nf_catalog **out, nf_err *err);

/* Stops serving (waits for requests in progress), closes the database, frees. NULL-safe. */
void nf_catalog_stop(nf_catalog *c);

/* The TCP port served (useful when listen_addr asked for port 0). */
uint16_t nf_catalog_port(const nf_catalog *c);

/* nf_metrics_render_fn: requests by route and status, commits by outcome. ctx is the
 * nf_catalog; safe to call from another thread while serving. */
void nf_catalog_render_metrics(void *ctx, nf_metrics *m);

#endif
