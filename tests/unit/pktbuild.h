/* pktbuild.h — a tiny builder of NetFlow v5, v9 and IPFIX datagrams for unit tests.
 *
 * Everything is appended big-endian to one fixed buffer. Sets are opened with pkt_set_begin
 * and closed with pkt_set_end, which patches the set length in; pkt_finish patches the
 * IPFIX message length (v9 headers carry a record count the decoder ignores, v5 headers are
 * written complete). Overflowing the buffer is a test bug: it is recorded in `overflow` and
 * further appends are ignored (the caller asserts !overflow).
 *
 * Not thread-safe; a pkt is plain data owned by the caller (stack or static).
 */
#ifndef NFX_TESTS_UNIT_PKTBUILD_H
#define NFX_TESTS_UNIT_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 70000 /* above the largest UDP payload, so tests can build oversize input */

typedef struct pkt {
    uint8_t buf[PKT_MAX];
    size_t len;
    size_t msg_start; /* offset of the current message header (IPFIX length patching) */
    size_t set_start; /* offset of the open set header, or SIZE_MAX */
    uint16_t version; /* 5, 9 or 10 once a header was written, else 0 */
    bool overflow;    /* an append did not fit */
} pkt;

/* Empties p. */
void pkt_init(pkt *p);

/* Raw appends (big-endian). */
void pkt_u8(pkt *p, uint8_t v);
void pkt_u16(pkt *p, uint16_t v);
void pkt_u24(pkt *p, uint32_t v);
void pkt_u32(pkt *p, uint32_t v);
void pkt_u64(pkt *p, uint64_t v);
/* Unsigned v in its low n bytes (1..8), reduced-size encoding. */
void pkt_uint(pkt *p, uint64_t v, unsigned n);
void pkt_bytes(pkt *p, const void *src, size_t n);
void pkt_fill(pkt *p, uint8_t byte, size_t n);
/* The 4 bytes of a.b.c.d. */
void pkt_ip4(pkt *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d);

/* Overwrites 2 or 4 bytes at offset off (must lie inside p->len). */
void pkt_patch_u16(pkt *p, size_t off, uint16_t v);
void pkt_patch_u32(pkt *p, size_t off, uint32_t v);

/* Headers. v5 is written whole (24 bytes). v9 (20 bytes) carries count as given. IPFIX (16
 * bytes) gets its length patched by pkt_finish. */
void pkt_v5_header(pkt *p, uint16_t count, uint32_t sys_uptime, uint32_t unix_secs,
                   uint32_t unix_nsecs, uint32_t flow_seq, uint8_t engine_type,
                   uint8_t engine_id, uint16_t sampling);
void pkt_v9_header(pkt *p, uint16_t count, uint32_t sys_uptime, uint32_t unix_secs,
                   uint32_t seq, uint32_t source_id);
void pkt_ipfix_header(pkt *p, uint32_t export_time, uint32_t seq, uint32_t domain);

/* One v5 record (48 bytes); addresses are host-order uint32 (0x0a000001 = 10.0.0.1). */
typedef struct pkt_v5_rec {
    uint32_t src, dst, nexthop;
    uint16_t input, output;
    uint32_t packets, octets, first, last;
    uint16_t src_port, dst_port;
    uint8_t tcp_flags, proto, tos;
    uint16_t src_as, dst_as;
    uint8_t src_mask, dst_mask;
} pkt_v5_rec;
void pkt_v5_record(pkt *p, const pkt_v5_rec *r);

/* Sets: begin writes {id, 0} and remembers where; end appends pad zero bytes then patches the
 * length to cover everything since begin. */
void pkt_set_begin(pkt *p, uint16_t set_id);
void pkt_set_end(pkt *p);
void pkt_set_end_pad(pkt *p, size_t pad);

/* Template records. A template is {id, field_count} followed by field specifiers. */
void pkt_tmpl_begin(pkt *p, uint16_t template_id, uint16_t field_count);
/* One field specifier {type, length}. */
void pkt_field(pkt *p, uint16_t type, uint16_t len);
/* IPFIX enterprise field specifier: type | 0x8000, length, then the 4-byte PEN. */
void pkt_field_pen(pkt *p, uint16_t type, uint16_t len, uint32_t pen);
/* Whole template from n (type, length) pairs: fields[2*i] = type, fields[2*i+1] = length. */
void pkt_tmpl(pkt *p, uint16_t template_id, const uint16_t *fields, uint16_t n);

/* v9 options template header (set 1): {id, scope_length, option_length}, lengths in BYTES of
 * field specifiers (4 per field). Follow with the scope then option specifiers. */
void pkt_v9_opt_tmpl_begin(pkt *p, uint16_t template_id, uint16_t scope_bytes,
                           uint16_t option_bytes);
/* IPFIX options template header (set 3): {id, field_count, scope_field_count}. */
void pkt_ipfix_opt_tmpl_begin(pkt *p, uint16_t template_id, uint16_t field_count,
                              uint16_t scope_count);

/* IPFIX variable-length value: 1-byte length when n < 255, else 255 then a 2-byte length. */
void pkt_varlen(pkt *p, const void *src, size_t n);
/* Same, always in the 3-byte form (255, u16 length). Legal for any n. */
void pkt_varlen_long(pkt *p, const void *src, size_t n);

/* Patches the IPFIX message length to cover the message (no-op for v5/v9). */
void pkt_finish(pkt *p);

#endif
