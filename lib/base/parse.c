/* parse.c — strict scalar parsers. See parse.h. */
#include "parse.h"

#include <ctype.h>
#include <string.h>

/* Reads a run of decimal digits into *v; returns the number of digits, 0 on none or overflow. */
static size_t
read_digits(const char *s, uint64_t *v)
{
    size_t n = 0;
    uint64_t acc = 0;
    while (isdigit((unsigned char)s[n])) {
        unsigned d = (unsigned)(s[n] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return 0;
        acc = acc * 10 + d;
        n++;
    }
    *v = acc;
    return n;
}

bool
nf_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (text == NULL)
        return false;
    size_t n = read_digits(text, &v);
    if (n == 0 || text[n] != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool
nf_parse_duration_ms(const char *text, uint64_t *out_ms)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = {
        /* "ms" must be tried before "m". */
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    if (text == NULL || *text == '\0')
        return false;
    uint64_t total = 0;
    const char *p = text;
    while (*p != '\0') {
        uint64_t v;
        size_t n = read_digits(p, &v);
        if (n == 0)
            return false;
        p += n;
        size_t u;
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            size_t len = strlen(units[u].suffix);
            if (strncmp(p, units[u].suffix, len) == 0)
                break;
        }
        if (u == sizeof(units) / sizeof(units[0]))
            return false;
        /* At most INT64_MAX ms, so any consumer may hold the value signed. */
        if (v > ((uint64_t)INT64_MAX - total) / units[u].ms)
            return false;
        total += v * units[u].ms;
        p += strlen(units[u].suffix);
    }
    *out_ms = total;
    return true;
}

bool
nf_parse_size(const char *text, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {
        {"", 1},         {"K", 1u << 10}, {"KiB", 1u << 10}, {"M", 1u << 20},
        {"MiB", 1u << 20}, {"G", 1u << 30}, {"GiB", 1u << 30},
    };
    uint64_t v;
    if (text == NULL)
        return false;
    size_t n = read_digits(text, &v);
    if (n == 0)
        return false;
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (strcmp(text + n, units[u].suffix) == 0) {
            if (v > UINT64_MAX / units[u].mult)
                return false;
            *out = v * units[u].mult;
            return true;
        }
    }
    return false;
}
