/* parse.h — strict parsers for the scalar values that appear in configs and on command lines.
 *
 * All of them reject the whole string on any stray character (no atoi-style prefixes), leave
 * *out untouched on failure and return false; callers name the key and file in the error.
 */
#ifndef NFX_LIB_BASE_PARSE_H
#define NFX_LIB_BASE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Duration such as "500ms", "30s", "5m", "1h", "2d" or a sequence "1h30m"; bare numbers are
 * refused because their unit would be a guess. Result in milliseconds, at most INT64_MAX
 * (~292 My). */
bool nf_parse_duration_ms(const char *text, uint64_t *out_ms);

/* Decimal unsigned integer in [min, max]. */
bool nf_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Byte size: a decimal number with an optional suffix K, M, G (powers of 1024) or KiB/MiB/GiB. */
bool nf_parse_size(const char *text, uint64_t *out);

#endif
