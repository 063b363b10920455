/* bounds.c — Iceberg single-value bound encoding, string bound truncation, bound comparison,
 * and the owned-memory helpers of nf_ice_datafile / nf_ice_manifest.
 *
 * String bounds longer than NF_ICE_BOUND_MAX bytes are truncated as the spec allows:
 *   - lower: the longest prefix that ends on a UTF-8 character boundary (a prefix sorts
 *     before every string it starts, so it is still a lower bound);
 *   - upper: that prefix with its last character incremented to the next valid code point
 *     (skipping surrogates), dropping characters from the end while incrementing is
 *     impossible (U+10FFFF) or would not fit; no upper bound if nothing is left. The result
 *     stays valid UTF-8 — Java readers decode string bounds — and, since UTF-8 byte order is
 *     code-point order, it sorts after every string starting with the kept prefix.
 *   Bytes that are not valid UTF-8 fall back to byte arithmetic (increment the last byte
 *   below 0xFF).
 */
#include <stdlib.h>
#include <string.h>

#include "iceberg.h"

size_t
nf_ice_bound_int(int32_t v, uint8_t out[4])
{
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(u >> (8 * i));
    return 4;
}

size_t
nf_ice_bound_long(int64_t v, uint8_t out[8])
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(u >> (8 * i));
    return 8;
}

size_t
nf_ice_bound_len(nf_ice_type t)
{
    switch (t) {
    case NF_ICE_INT:
    case NF_ICE_DATE: return 4;
    case NF_ICE_LONG:
    case NF_ICE_TIMESTAMPTZ: return 8;
    default: return 0; /* variable */
    }
}

/* Longest prefix of s (at most max bytes) ending on a UTF-8 character boundary. */
static size_t
utf8_cut(const unsigned char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* s[cut] starts the first character left out; back off while it is a continuation. */
    while (cut > 0 && (s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

void
nf_ice_bound_string_lower(nf_ice_colstat *st, const char *s, size_t len)
{
    size_t n = utf8_cut((const unsigned char *)s, len, NF_ICE_BOUND_MAX);
    memcpy(st->lower, s, n);
    st->lower_len = (uint8_t)n;
}

/* Decodes the character starting at s[i] (len bytes available); returns its length or 0 if
 * it is not valid UTF-8. */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t n;
    uint32_t v;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if ((b & 0xE0) == 0xC0) {
        n = 2, v = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
        n = 3, v = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
        n = 4, v = b & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static size_t
utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    } else if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Byte fallback for input that is not UTF-8: increment the last byte below 0xFF. */
static void
upper_bytes(nf_ice_colstat *st, const unsigned char *s)
{
    for (size_t n = NF_ICE_BOUND_MAX; n > 0; n--)
        if (s[n - 1] != 0xFF) {
            memcpy(st->upper, s, n);
            st->upper[n - 1]++;
            st->upper_len = (uint8_t)n;
            return;
        }
    st->upper_len = 0;
}

void
nf_ice_bound_string_upper(nf_ice_colstat *st, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len <= NF_ICE_BOUND_MAX) {
        memcpy(st->upper, s, len);
        st->upper_len = (uint8_t)len;
        return;
    }
    /* Character starts of the kept prefix. */
    size_t cut = utf8_cut(s, len, NF_ICE_BOUND_MAX);
    size_t starts[NF_ICE_BOUND_MAX];
    size_t nchars = 0;
    for (size_t i = 0; i < cut;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, cut - i, &cp);
        if (n == 0) {
            upper_bytes(st, s);
            return;
        }
        starts[nchars++] = i;
        i += n;
    }
    while (nchars > 0) {
        size_t at = starts[--nchars];
        uint32_t cp;
        utf8_decode(s + at, cut - at, &cp);
        cp++;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xE000;
        if (cp > 0x10FFFF)
            continue; /* cannot grow this character: drop it, try the one before */
        unsigned char enc[4];
        size_t elen = utf8_encode(cp, enc);
        if (at + elen > NF_ICE_BOUND_MAX)
            continue;
        memcpy(st->upper, s, at);
        memcpy(st->upper + at, enc, elen);
        st->upper_len = (uint8_t)(at + elen);
        return;
    }
    st->upper_len = 0;
}

static int
sign(long long d)
{
    return (d > 0) - (d < 0);
}

int
nf_ice_bound_cmp(nf_ice_type t, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if ((t == NF_ICE_INT || t == NF_ICE_DATE) && alen == 4 && blen == 4) {
        int32_t x = (int32_t)((uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 |
                              (uint32_t)a[3] << 24);
        int32_t y = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                              (uint32_t)b[3] << 24);
        return (x > y) - (x < y);
    }
    if ((t == NF_ICE_LONG || t == NF_ICE_TIMESTAMPTZ) && alen == 8 && blen == 8) {
        uint64_t ux = 0, uy = 0;
        for (int i = 7; i >= 0; i--) {
            ux = ux << 8 | a[i];
            uy = uy << 8 | b[i];
        }
        int64_t x = (int64_t)ux, y = (int64_t)uy;
        return (x > y) - (x < y);
    }
    /* Strings, binary (and malformed numbers): unsigned bytes, a prefix first. */
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return sign(c);
    return (alen > blen) - (alen < blen);
}

void
nf_ice_datafile_clear(nf_ice_datafile *f)
{
    if (f == NULL)
        return;
    free(f->path);
    free(f->cols);
    f->path = NULL;
    f->cols = NULL;
    f->ncols = 0;
}

void
nf_ice_datafiles_free(nf_ice_datafile *files, size_t n)
{
    if (files == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        nf_ice_datafile_clear(&files[i]);
    free(files);
}

nf_status
nf_ice_datafile_copy(nf_ice_datafile *dst, const nf_ice_datafile *src, nf_err *err)
{
    nf_ice_datafile d = *src;
    d.path = NULL;
    d.cols = NULL;
    if (src->path != NULL && (d.path = strdup(src->path)) == NULL)
        return nf_err_set(err, NF_ENOMEM, "copy of data file %s", src->path);
    if (src->ncols > 0) {
        d.cols = malloc(src->ncols * sizeof(*d.cols));
        if (d.cols == NULL) {
            free(d.path);
            return nf_err_set(err, NF_ENOMEM, "copy of %zu column stats of %s", src->ncols,
                              src->path ? src->path : "(no path)");
        }
        memcpy(d.cols, src->cols, src->ncols * sizeof(*d.cols));
    }
    *dst = d;
    return NF_OK;
}

void
nf_ice_manifests_free(nf_ice_manifest *m, size_t n)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(m[i].path);
    free(m);
}
