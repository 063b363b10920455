/* rowbinary.c — see rowbinary.h. */
#include "rowbinary.h"

#include <stdlib.h>
#include <string.h>

#define STRING_MAX 255u /* fits a one-byte LEB128 length... and any sane id */

static uint8_t *
put_le(uint8_t *p, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *
put_string(uint8_t *p, const char *s, size_t n)
{
    p = put_le(p, n >= 128 ? (n & 0x7f) | 0x80 : n, 1);
    if (n >= 128)
        p = put_le(p, n >> 7, 1); /* n <= 255: two LEB128 bytes at most */
    memcpy(p, s, n);
    return p + n;
}

/* Epoch milliseconds → DateTime seconds, clamped to the type. */
static uint32_t
datetime(uint64_t ms)
{
    uint64_t s = ms / 1000u;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static bool
reserve(nf_rowbuf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return true;
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *grown = realloc(b->buf, cap);
    if (grown == NULL)
        return false;
    b->buf = grown;
    b->cap = cap;
    return true;
}

void
nf_rowbuf_reset(nf_rowbuf *b)
{
    b->len = 0;
    b->rows = 0;
}

bool
nf_rowbuf_add(nf_rowbuf *b, const nf_flow *f, const char *agent_id, const char *msg_id)
{
    size_t na = agent_id ? strnlen(agent_id, STRING_MAX) : 0;
    size_t nm = msg_id ? strnlen(msg_id, STRING_MAX) : 0;
    if (!reserve(b, NF_ROWBINARY_FIXED + 4 + na + nm))
        return false;
    uint8_t *p = b->buf + b->len;
    p = put_le(p, datetime(f->received_ms), 4); /* timestamp */
    memcpy(p, f->src_addr, 16), p += 16;
    memcpy(p, f->dst_addr, 16), p += 16;
    p = put_le(p, f->src_port, 2);
    p = put_le(p, f->dst_port, 2);
    p = put_le(p, f->protocol, 1);
    p = put_le(p, f->bytes, 8);
    p = put_le(p, f->packets, 8);
    p = put_le(p, f->tcp_flags, 1);
    p = put_le(p, f->tos, 1);
    memcpy(p, f->exporter, 16), p += 16;
    p = put_le(p, f->domain, 4);
    p = put_le(p, f->sampling_rate ? f->sampling_rate : 1, 4);
    p = put_le(p, f->in_if, 4);
    p = put_le(p, f->out_if, 4);
    p = put_le(p, f->src_as, 4);
    p = put_le(p, f->dst_as, 4);
    p = put_le(p, f->src_mask, 1);
    p = put_le(p, f->dst_mask, 1);
    memcpy(p, f->next_hop, 16), p += 16;
    p = put_le(p, datetime(f->first_ms), 4);
    p = put_le(p, datetime(f->last_ms), 4);
    p = put_le(p, f->flow_type, 1);
    p = put_string(p, agent_id ? agent_id : "", na);
    p = put_string(p, msg_id ? msg_id : "", nm);
    b->len = (size_t)(p - b->buf);
    b->rows++;
    return true;
}

void
nf_rowbuf_free(nf_rowbuf *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}
