/* decode_report.h — decoder counters and exporter state as JSON (jansson), shared by
 * flowdump's summary and the checker's status answer.
 *
 * Kept out of the pure decoder library: it is the only part that needs jansson.
 */
#ifndef NFX_LIB_DECODE_DECODE_REPORT_H
#define NFX_LIB_DECODE_DECODE_REPORT_H

#include <jansson.h>

#include "nf_decode.h"

/* Returns a new JSON object (caller owns the reference; json_decref it) with every counter
 * of c: packets, flows, options_records, templates_learnt, ..., and "errors": {reason: n}
 * listing every reason, zeros included, so consumers can rely on the keys. NULL on ENOMEM. */
json_t *nf_decode_counters_json(const nf_decode_counters *c);

/* Returns a new JSON array with one object per exporter in xs[0..n). */
json_t *nf_exporters_json(const nf_exporter_info *xs, size_t n);

/* Adds b's counters into a (aggregating several decoders). */
void nf_decode_counters_add(nf_decode_counters *a, const nf_decode_counters *b);

#endif
