/* rowbinary.h — flow records as ClickHouse RowBinary rows of the `ingest` table, in the
 * column order of NF_CH_INGEST_COLUMNS (lib/clickhouse/clickhouse.h, docs/clickhouse.md).
 *
 * RowBinary is ClickHouse's row format without framing: little-endian integers of the
 * column's width, FixedString(N) as N raw bytes, String as a LEB128 length and the bytes,
 * DateTime as UInt32 epoch seconds. A row of this table is 126 bytes plus the two strings.
 *
 * Values that do not fit a column are clamped, never wrapped: epoch milliseconds beyond
 * 2106 become the largest DateTime (DateTime is UInt32 seconds).
 */
#ifndef NFX_LIB_CHWRITER_ROWBINARY_H
#define NFX_LIB_CHWRITER_ROWBINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../flow/flow.h"

/* Bytes of one row without its two strings. */
#define NF_ROWBINARY_FIXED 126u

typedef struct nf_rowbuf {
    uint8_t *buf; /* rows so far, owned; free with nf_rowbuf_free */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
    size_t rows;  /* rows encoded */
} nf_rowbuf;

/* Empties the buffer, keeping its memory. */
void nf_rowbuf_reset(nf_rowbuf *b);

/* Appends one row: the flow, the agent it came through and the id of the JetStream message
 * that carried it (both up to 255 bytes; longer strings are truncated). False (nothing
 * appended) if memory runs out. */
bool nf_rowbuf_add(nf_rowbuf *b, const nf_flow *f, const char *agent_id, const char *msg_id);

void nf_rowbuf_free(nf_rowbuf *b);

#endif
