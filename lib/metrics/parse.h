/* parse.h — reading the Prometheus text exposition format (the inverse of metrics.h), for
 * serviceradar-core's /api/netflow/status, which gathers every daemon's counters from its
 * /metrics endpoint.
 *
 * The text comes from another process over the network: it is untrusted. The parser never
 * reads outside [text, text + len), accepts only the format's grammar (metric name, optional
 * {label="value",...} with \\ \" \n escapes, a value, an optional timestamp) and reports the
 * first bad line by number. Comments (# HELP, # TYPE) and blank lines are skipped.
 */
#ifndef NFX_LIB_METRICS_PARSE_H
#define NFX_LIB_METRICS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"

#define NF_PROM_LINE_MAX 4096u /* longer lines are refused: ours are < 300 bytes */

/* One sample. name and labels point into the parsed text (not NUL-terminated), valid only
 * during the callback. labels is the inside of the braces, escapes kept (empty: none). */
typedef struct nf_prom_sample {
    const char *name;
    size_t name_len;
    const char *labels;
    size_t labels_len;
    double value;        /* NaN, +Inf, -Inf as strtod reads them */
    uint64_t uvalue;     /* the exact value when is_uint */
    bool is_uint;        /* the value was written as a plain decimal integer <= UINT64_MAX */
} nf_prom_sample;

typedef void nf_prom_sample_fn(void *ctx, const nf_prom_sample *s);

/* Calls fn for every sample of text, in order. NF_EINVAL ("line N: why") on the first line
 * that is not valid; samples before it have been delivered. */
nf_status nf_prom_parse(const char *text, size_t len, nf_prom_sample_fn *fn, void *ctx,
                        nf_err *err);

/* True when s's name is exactly name. */
bool nf_prom_is(const nf_prom_sample *s, const char *name);

/* Looks for label key in s; true with its unescaped value in out (size n, truncated and
 * NUL-terminated) when present. */
bool nf_prom_label(const nf_prom_sample *s, const char *key, char *out, size_t n);

#endif
