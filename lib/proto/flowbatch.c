/* flowbatch.c — FlowBatch encoding by hand, decoding through protobuf-c. See flowbatch.h.
 *
 * Wire format reminder (protobuf): every field is a tag varint (field number << 3 | wire
 * type) and a value — type 0: varint; type 2: length varint, then bytes. FlowRecord has
 * fields 1..27, so tags of 16 and above take two bytes.
 */
#include "flowbatch.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"
#include "netflow.pb-c.h"

#define WT_VARINT 0
#define WT_LEN 2
/* Largest encoded record: 27 tags, varints of at most 10 bytes, two text addresses and four
 * 16-byte addresses. 512 bytes is comfortably more. */
#define RECORD_MAX 512

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static size_t
varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Varint field, omitted when zero (proto3 default). */
static uint8_t *
put_uint(uint8_t *p, unsigned field, uint64_t v)
{
    if (v == 0)
        return p;
    p = put_varint(p, (uint64_t)field << 3 | WT_VARINT);
    return put_varint(p, v);
}

static uint8_t *
put_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
    if (len == 0)
        return p;
    p = put_varint(p, (uint64_t)field << 3 | WT_LEN);
    p = put_varint(p, len);
    memcpy(p, data, len);
    return p + len;
}

/* Address as 4 raw bytes when IPv4-mapped, else 16; nothing when all zero and omit_zero. */
static uint8_t *
put_addr(uint8_t *p, unsigned field, const uint8_t a[16], bool omit_zero)
{
    static const uint8_t zero[16];
    if (omit_zero && memcmp(a, zero, 16) == 0)
        return p;
    return nf_addr_is_v4(a) ? put_bytes(p, field, a + 12, 4) : put_bytes(p, field, a, 16);
}

static uint8_t *
put_text_addr(uint8_t *p, unsigned field, const uint8_t a[16])
{
    char text[NF_ADDR_STRLEN];
    nf_addr_format(a, text);
    return put_bytes(p, field, text, strlen(text));
}

/* Encodes one FlowRecord into out (RECORD_MAX bytes); returns its length. */
static size_t
encode_record(uint8_t *out, const nf_flow *f, uint64_t seq)
{
    uint8_t *p = out;
    p = put_uint(p, 1, f->received_ms / 1000u);
    if (f->ip_version != 0) {
        p = put_text_addr(p, 2, f->src_addr);
        p = put_text_addr(p, 3, f->dst_addr);
    }
    p = put_uint(p, 4, f->src_port);
    p = put_uint(p, 5, f->dst_port);
    p = put_uint(p, 6, f->protocol);
    p = put_uint(p, 7, f->bytes);
    p = put_uint(p, 8, f->packets);
    p = put_uint(p, 9, f->tcp_flags);
    p = put_uint(p, 10, f->tos);
    if (f->ip_version != 0) {
        p = put_addr(p, 11, f->src_addr, false);
        p = put_addr(p, 12, f->dst_addr, false);
    }
    p = put_addr(p, 13, f->exporter, false);
    p = put_uint(p, 14, f->domain);
    p = put_uint(p, 15, f->sampling_rate);
    p = put_uint(p, 16, f->in_if);
    p = put_uint(p, 17, f->out_if);
    p = put_uint(p, 18, f->src_as);
    p = put_uint(p, 19, f->dst_as);
    p = put_uint(p, 20, f->src_mask);
    p = put_uint(p, 21, f->dst_mask);
    p = put_addr(p, 22, f->next_hop, true);
    p = put_uint(p, 23, f->first_ms);
    p = put_uint(p, 24, f->last_ms);
    p = put_uint(p, 25, f->flow_type);
    p = put_uint(p, 26, f->received_ms);
    p = put_uint(p, 27, seq);
    return (size_t)(p - out);
}

/* Bytes the header fields take at most: two 128-byte ids, three varint fields. */
#define HEADER_MAX (2 * (1 + 2 + 128) + 3 * (1 + 10))

static bool
reserve(nf_flowbatch_writer *w, size_t more)
{
    if (w->failed)
        return false;
    if (w->len + more <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 64 * 1024;
    while (cap < w->len + more)
        cap *= 2;
    uint8_t *grown = realloc(w->buf, cap);
    if (grown == NULL) {
        w->failed = true;
        return false;
    }
    w->buf = grown;
    w->cap = cap;
    return true;
}

void
nf_flowbatch_reset(nf_flowbatch_writer *w)
{
    w->len = 0;
    w->first_seq = w->last_seq = 0;
    w->records = 0;
    w->failed = false;
}

bool
nf_flowbatch_add(nf_flowbatch_writer *w, const nf_flow *f, uint64_t seq, size_t max_bytes)
{
    uint8_t rec[RECORD_MAX];
    size_t n = encode_record(rec, f, seq);
    size_t framed = 1 + varint_len(n) + n; /* field 6 tag, length, record */
    if (w->len + framed + HEADER_MAX > max_bytes || !reserve(w, framed + HEADER_MAX))
        return false;
    uint8_t *p = w->buf + w->len;
    p = put_varint(p, 6u << 3 | WT_LEN);
    p = put_varint(p, n);
    memcpy(p, rec, n);
    w->len += framed;
    if (w->records == 0)
        w->first_seq = seq;
    w->last_seq = seq;
    w->records++;
    return true;
}

static uint8_t *
put_id(uint8_t *p, unsigned field, const char *id)
{
    if (id == NULL)
        return p;
    size_t len = strnlen(id, 128);
    return put_bytes(p, field, id, len);
}

const uint8_t *
nf_flowbatch_finish(nf_flowbatch_writer *w, const char *agent_id, const char *poller_id,
                    uint64_t dropped_before, size_t *len_out)
{
    if (!reserve(w, HEADER_MAX))
        return NULL;
    uint8_t *p = w->buf + w->len;
    p = put_id(p, 1, agent_id);
    p = put_id(p, 2, poller_id);
    p = put_uint(p, 3, w->first_seq);
    p = put_uint(p, 4, w->last_seq);
    p = put_uint(p, 5, dropped_before);
    w->len = (size_t)(p - w->buf);
    *len_out = w->len;
    return w->buf;
}

void
nf_flowbatch_writer_free(nf_flowbatch_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

/* ---- reading ---------------------------------------------------------------------------- */

static bool
get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t acc = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        acc |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = acc;
            return true;
        }
    }
    return false;
}

static void
copy_id(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

nf_status
nf_flowbatch_peek(const uint8_t *buf, size_t len, nf_flowbatch_header *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *p = buf, *end = buf + len;
    while (p < end) {
        uint64_t tag, v;
        if (!get_varint(&p, end, &tag))
            return nf_err_set(err, NF_EPROTO, "FlowBatch: truncated tag at byte %zu",
                              (size_t)(p - buf));
        unsigned field = (unsigned)(tag >> 3), type = (unsigned)(tag & 7);
        if (type == WT_VARINT) {
            if (!get_varint(&p, end, &v))
                return nf_err_set(err, NF_EPROTO, "FlowBatch: truncated varint field %u", field);
            if (field == 3)
                out->first_seq = v;
            else if (field == 4)
                out->last_seq = v;
            else if (field == 5)
                out->dropped_before = v;
        } else if (type == WT_LEN) {
            if (!get_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return nf_err_set(err, NF_EPROTO, "FlowBatch: field %u runs past the end",
                                  field);
            if (field == 1)
                copy_id(out->agent_id, sizeof(out->agent_id), p, (size_t)v);
            else if (field == 2)
                copy_id(out->poller_id, sizeof(out->poller_id), p, (size_t)v);
            else if (field == 6)
                out->records++;
            p += v;
        } else if (type == 1 || type == 5) { /* fixed64 / fixed32: not ours, skip */
            size_t step = type == 1 ? 8 : 4;
            if ((size_t)(end - p) < step)
                return nf_err_set(err, NF_EPROTO, "FlowBatch: truncated fixed field %u", field);
            p += step;
        } else {
            return nf_err_set(err, NF_EPROTO, "FlowBatch: wire type %u in field %u", type,
                              field);
        }
    }
    return NF_OK;
}

/* A 4- or 16-byte address field back into 16-byte form; false for other lengths. */
static bool
addr_from_bytes(uint8_t out[16], const ProtobufCBinaryData *b)
{
    if (b->len == 4) {
        nf_addr_from_v4(out, b->data);
        return true;
    }
    if (b->len == 16) {
        memcpy(out, b->data, 16);
        return true;
    }
    memset(out, 0, 16);
    return b->len == 0;
}

/* Fills f from a decoded record; false if an address field has an impossible length. */
static bool
record_to_flow(const Netflow__FlowRecord *r, nf_flow *f)
{
    memset(f, 0, sizeof(*f));
    bool ok = addr_from_bytes(f->src_addr, &r->src_addr) &&
              addr_from_bytes(f->dst_addr, &r->dst_addr) &&
              addr_from_bytes(f->exporter, &r->exporter) &&
              addr_from_bytes(f->next_hop, &r->next_hop);
    /* A record from an encoder that only filled the PRD's text fields. */
    if (r->src_addr.len == 0 && r->src_ip != NULL && r->src_ip[0] != '\0')
        ok &= nf_addr_parse(r->src_ip, f->src_addr);
    if (r->dst_addr.len == 0 && r->dst_ip != NULL && r->dst_ip[0] != '\0')
        ok &= nf_addr_parse(r->dst_ip, f->dst_addr);
    if (r->src_addr.len != 0 || r->dst_addr.len != 0 || (r->src_ip && r->src_ip[0]) ||
        (r->dst_ip && r->dst_ip[0]))
        f->ip_version = nf_addr_is_v4(f->src_addr) && nf_addr_is_v4(f->dst_addr) ? 4 : 6;
    f->src_port = (uint16_t)r->src_port;
    f->dst_port = (uint16_t)r->dst_port;
    f->protocol = (uint8_t)r->protocol;
    f->bytes = r->bytes;
    f->packets = r->packets;
    f->tcp_flags = (uint8_t)r->tcp_flags;
    f->tos = (uint8_t)r->tos;
    f->domain = r->observation_domain;
    f->sampling_rate = r->sampling_rate ? r->sampling_rate : 1;
    f->in_if = r->in_if;
    f->out_if = r->out_if;
    f->src_as = r->src_as;
    f->dst_as = r->dst_as;
    f->src_mask = (uint8_t)r->src_mask;
    f->dst_mask = (uint8_t)r->dst_mask;
    f->first_ms = r->flow_start_ms;
    f->last_ms = r->flow_end_ms;
    f->flow_type = (uint8_t)r->flow_type;
    f->received_ms = r->time_received_ms ? r->time_received_ms : (uint64_t)r->timestamp * 1000u;
    return ok;
}

nf_status
nf_flowbatch_decode(const uint8_t *buf, size_t len, nf_flowbatch_header *hdr, nf_flow *out,
                    uint64_t *seqs, size_t max, size_t *n_out, nf_err *err)
{
    Netflow__FlowBatch *b = netflow__flow_batch__unpack(NULL, len, buf);
    if (b == NULL)
        return nf_err_set(err, NF_EPROTO, "FlowBatch: not a valid message (%zu bytes)", len);
    memset(hdr, 0, sizeof(*hdr));
    if (b->agent_id)
        copy_id(hdr->agent_id, sizeof(hdr->agent_id), (const uint8_t *)b->agent_id,
                strlen(b->agent_id));
    if (b->poller_id)
        copy_id(hdr->poller_id, sizeof(hdr->poller_id), (const uint8_t *)b->poller_id,
                strlen(b->poller_id));
    hdr->first_seq = b->first_seq;
    hdr->last_seq = b->last_seq;
    hdr->dropped_before = b->dropped_before;
    hdr->records = (uint32_t)b->n_records;
    size_t n = 0;
    nf_status st = NF_OK;
    for (size_t i = 0; i < b->n_records && n < max; i++) {
        if (!record_to_flow(b->records[i], &out[n])) {
            st = nf_err_set(err, NF_EPROTO, "FlowBatch: record %zu has a bad address length", i);
            break;
        }
        if (seqs != NULL)
            seqs[n] = b->records[i]->sequence;
        n++;
    }
    netflow__flow_batch__free_unpacked(b, NULL);
    *n_out = n;
    return st;
}
