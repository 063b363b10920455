/* query_int.h — what parse.c and build.c share inside lib/query: the one table that says,
 * for every field, its API name, its column in the schema (docs/clickhouse.md) and which
 * values it takes. Not part of the library's contract.
 */
#ifndef NFX_LIB_QUERY_QUERY_INT_H
#define NFX_LIB_QUERY_QUERY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "query.h"

typedef enum q_kind {
    Q_KIND_ADDR,  /* 16-byte address, filtered by a lo..hi range */
    Q_KIND_NUM,   /* unsigned number 0..max */
    Q_KIND_PROTO, /* like Q_KIND_NUM, and also a protocol name */
    Q_KIND_TIME,  /* group_by only */
} q_kind;

typedef struct q_field_info {
    nf_q_field field;   /* equals the row's index in the table */
    const char *name;   /* API name, what nf_q_field_name returns */
    const char *column; /* column in netflow and in the rollups that have it; NULL for time */
    q_kind kind;
    uint64_t max;       /* Q_KIND_NUM/PROTO: largest value the column holds */
} q_field_info;

/* The row of f, or NULL for NF_Q_NONE and values outside the enum. */
const q_field_info *q_field_get(nf_q_field f);

/* The request checks nf_q_build documents in query.h (range, shape, limit, interval and
 * bucket count, filters), without the database name: NF_OK or NF_EINVAL naming the request
 * member. Shared by build.c (ClickHouse) and duck.c (DuckDB), so both refuse the same
 * requests. req may be NULL (refused). */
nf_status q_check_request(const nf_q_request *req, nf_err *err);

#endif
