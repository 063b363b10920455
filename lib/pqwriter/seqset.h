/* seqset.h — a set of JetStream stream sequences kept as sorted, disjoint, non-adjacent
 * ranges: the Parquet writer's record of which messages are committed to the table, carried
 * in every snapshot's summary as text "a-b,c-d,e" (docs/iceberg.md, "Exactly once").
 *
 * With one writer the set is one range; gaps appear while several writers share the durable
 * or when a message is dead-lettered, and disappear as they fill or fall below the
 * consumer's ack floor (nf_seqset_trim: messages at or below it are never delivered again,
 * so they need no record). The number of ranges is capped (NF_SEQSET_MAX_RANGES): input
 * text with more is refused, so a corrupt summary cannot make the writer allocate without
 * bound.
 */
#ifndef NFX_LIB_PQWRITER_SEQSET_H
#define NFX_LIB_PQWRITER_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"

#define NF_SEQSET_MAX_RANGES 100000

typedef struct nf_seqrange {
    uint64_t lo, hi; /* inclusive */
} nf_seqrange;

typedef struct nf_seqset {
    nf_seqrange *r; /* owned; sorted, disjoint, never adjacent */
    size_t n, cap;
} nf_seqset;

/* An empty set is all zeroes. Frees the ranges; the set is empty afterwards. */
void nf_seqset_clear(nf_seqset *s);

bool nf_seqset_contains(const nf_seqset *s, uint64_t seq);

/* Adds [lo, hi] (lo <= hi), merging neighbours. NF_ENOMEM, or NF_EINVAL beyond
 * NF_SEQSET_MAX_RANGES ranges; s is unchanged on failure. */
nf_status nf_seqset_add(nf_seqset *s, uint64_t lo, uint64_t hi, nf_err *err);

/* s ∪= o. */
nf_status nf_seqset_union(nf_seqset *s, const nf_seqset *o, nf_err *err);

/* Removes everything <= floor. */
void nf_seqset_trim(nf_seqset *s, uint64_t floor);

/* Largest member, 0 if empty. */
uint64_t nf_seqset_max(const nf_seqset *s);

/* Parses "a-b,c,d-e" (ascending, disjoint; "" = empty) into *s (cleared first). NF_EINVAL
 * naming the problem for anything else; s is empty then. */
nf_status nf_seqset_parse(nf_seqset *s, const char *text, nf_err *err);

/* The set as text (malloc'd; caller frees); NULL on allocation failure. */
char *nf_seqset_format(const nf_seqset *s);

#endif
