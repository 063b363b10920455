/* cursor.h — bounded big-endian reads over untrusted bytes.
 *
 * A cursor is {p, end}. Every read checks the remaining length first and returns false
 * without moving when the bytes are not there, so a caller can never read past end. Packet
 * bytes are never cast to structs and never written to.
 *
 * Invariant: p <= end at all times.
 */
#ifndef NFX_LIB_DECODE_CURSOR_H
#define NFX_LIB_DECODE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nf_cursor {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last readable byte */
} nf_cursor;

static inline nf_cursor
nf_cursor_make(const uint8_t *p, size_t len)
{
    nf_cursor c = {p, p + len};
    return c;
}

static inline size_t
nf_cursor_left(const nf_cursor *c)
{
    return (size_t)(c->end - c->p);
}

static inline bool
nf_cursor_skip(nf_cursor *c, size_t n)
{
    if (nf_cursor_left(c) < n)
        return false;
    c->p += n;
    return true;
}

/* Splits the next n bytes off into *sub and advances past them. */
static inline bool
nf_cursor_sub(nf_cursor *c, size_t n, nf_cursor *sub)
{
    if (nf_cursor_left(c) < n)
        return false;
    sub->p = c->p;
    sub->end = c->p + n;
    c->p += n;
    return true;
}

static inline uint16_t
nf_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
nf_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
nf_be64(const uint8_t *p)
{
    return (uint64_t)nf_be32(p) << 32 | nf_be32(p + 4);
}

/* Unsigned big-endian integer of 1..8 bytes (reduced-size encoding, RFC 7011 §6.2). */
static inline uint64_t
nf_be_uint(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

static inline bool
nf_rd_u8(nf_cursor *c, uint8_t *v)
{
    if (nf_cursor_left(c) < 1)
        return false;
    *v = c->p[0];
    c->p += 1;
    return true;
}

static inline bool
nf_rd_u16(nf_cursor *c, uint16_t *v)
{
    if (nf_cursor_left(c) < 2)
        return false;
    *v = nf_be16(c->p);
    c->p += 2;
    return true;
}

static inline bool
nf_rd_u32(nf_cursor *c, uint32_t *v)
{
    if (nf_cursor_left(c) < 4)
        return false;
    *v = nf_be32(c->p);
    c->p += 4;
    return true;
}

#endif
