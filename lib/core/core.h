/* core.h — serviceradar-core: the HTTP API over the NetFlow hot tier (ClickHouse) and cold
 * tier (Iceberg through DuckDB), with ServiceRadar's authentication (ARCHITECTURE.md §5,
 * docs/core.md).
 *
 * Routes:
 *   GET  /healthz                      no auth; {"status":"ok"}
 *   GET  /metrics                      no auth; Prometheus text (requests by route and
 *                                      status, latency sums, backend errors)
 *   POST /auth/login    {"username","password"} → {"access_token","refresh_token",
 *                                      "expires_at"}; 401 bad credentials, 429 + Retry-After
 *   POST /auth/refresh  {"refresh_token"} → {"access_token","expires_at"}
 *   GET  /api/netflow[/realtime|/historical]   lib/api parameters; JSON or CSV
 *   GET  /api/netflow/fields           what can be grouped, filtered and measured
 *   GET  /<path>                       static_dir's files (the web UI; "/" = index.html),
 *                                      no auth; only regular files inside static_dir
 * Every /api route needs "Authorization: Bearer <access token>" or "X-API-Key: <key>"
 * (unless auth.enabled is false). Every error is a JSON body {"error":{…}}.
 *
 * Threads: libmicrohttpd runs one thread per connection. Shared state: the immutable config
 * and nf_auth, the login limiter (its own mutex), counters (atomics), and the historical
 * backend (one DuckDB connection and one catalog, used under one mutex: historical queries
 * run one at a time). ClickHouse: one connection (nf_ch) per request, so realtime queries
 * run in parallel.
 */
#ifndef NFX_LIB_CORE_CORE_H
#define NFX_LIB_CORE_CORE_H

#include "../base/nf_status.h"
#include "core_config.h"

typedef struct nf_core nf_core;

/* Opens the backends' handles (no query is run: ClickHouse or the catalog being down is not
 * fatal, requests then answer 503), builds the authenticator and starts listening on
 * cfg->listen_addr. cfg is borrowed and must outlive the server. *out written on NF_OK; stop
 * with nf_core_stop. NF_EINVAL (bad listen_addr, TLS files, auth), NF_EIO (cannot listen),
 * NF_EUPSTREAM (DuckDB refused its settings), NF_ENOMEM. */
nf_status nf_core_start(const nf_core_config *cfg, nf_core **out, nf_err *err);

/* Stops listening (waits for requests in progress) and frees. NULL-safe. */
void nf_core_stop(nf_core *c);

#endif
