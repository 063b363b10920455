/* rowbinary_test.c — the writer's RowBinary rows: layout, strings, clamping. The server side
 * of the format (ClickHouse reading these rows into the ingest table) is covered by the
 * clickhouse integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "chwriter/rowbinary.h"

static uint64_t
le(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static nf_flow
sample(void)
{
    nf_flow f;
    memset(&f, 0, sizeof(f));
    nf_addr_parse("10.1.2.3", f.src_addr);
    nf_addr_parse("2001:db8::7", f.dst_addr);
    nf_addr_parse("192.0.2.1", f.exporter);
    nf_addr_parse("10.0.0.254", f.next_hop);
    f.received_ms = 1795000000999ull; /* → 1795000000 s */
    f.first_ms = 1794999990000ull;
    f.last_ms = 1794999999500ull;
    f.src_port = 443, f.dst_port = 50000, f.protocol = 6;
    f.bytes = 0x0102030405060708ull, f.packets = 77;
    f.tcp_flags = 0x1b, f.tos = 0x20;
    f.domain = 0x01020304, f.sampling_rate = 100;
    f.in_if = 3, f.out_if = 4, f.src_as = 64500, f.dst_as = 4200000000u;
    f.src_mask = 24, f.dst_mask = 48, f.flow_type = 10;
    return f;
}

/* Every column at its offset, in NF_CH_INGEST_COLUMNS order. */
static void
test_layout(void **state)
{
    (void)state;
    nf_rowbuf b = {0};
    nf_flow f = sample();
    assert_true(nf_rowbuf_add(&b, &f, "edge-1", "edge-1:42"));
    assert_int_equal(b.rows, 1);
    assert_int_equal(b.len, NF_ROWBINARY_FIXED + 1 + 6 + 1 + 9);
    const uint8_t *p = b.buf;
    assert_int_equal(le(p, 4), 1795000000u), p += 4;
    assert_memory_equal(p, f.src_addr, 16), p += 16;
    assert_memory_equal(p, f.dst_addr, 16), p += 16;
    assert_int_equal(le(p, 2), 443), p += 2;
    assert_int_equal(le(p, 2), 50000), p += 2;
    assert_int_equal(le(p, 1), 6), p += 1;
    assert_int_equal(le(p, 8), 0x0102030405060708ull), p += 8;
    assert_int_equal(le(p, 8), 77), p += 8;
    assert_int_equal(le(p, 1), 0x1b), p += 1;
    assert_int_equal(le(p, 1), 0x20), p += 1;
    assert_memory_equal(p, f.exporter, 16), p += 16;
    assert_int_equal(le(p, 4), 0x01020304), p += 4;
    assert_int_equal(le(p, 4), 100), p += 4;
    assert_int_equal(le(p, 4), 3), p += 4;
    assert_int_equal(le(p, 4), 4), p += 4;
    assert_int_equal(le(p, 4), 64500), p += 4;
    assert_int_equal(le(p, 4), 4200000000u), p += 4;
    assert_int_equal(le(p, 1), 24), p += 1;
    assert_int_equal(le(p, 1), 48), p += 1;
    assert_memory_equal(p, f.next_hop, 16), p += 16;
    assert_int_equal(le(p, 4), 1794999990u), p += 4;
    assert_int_equal(le(p, 4), 1794999999u), p += 4;
    assert_int_equal(le(p, 1), 10), p += 1;
    assert_int_equal((size_t)(p - b.buf), NF_ROWBINARY_FIXED);
    assert_int_equal(*p++, 6);
    assert_memory_equal(p, "edge-1", 6), p += 6;
    assert_int_equal(*p++, 9);
    assert_memory_equal(p, "edge-1:42", 9);
    nf_rowbuf_free(&b);
}

/* Strings: LEB128 lengths (one byte below 128, two above), NULL as "", cut at 255. */
static void
test_strings(void **state)
{
    (void)state;
    char id[400];
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    nf_flow f = sample();
    size_t lens[] = {0, 127, 128, 255, 399};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        nf_rowbuf b = {0};
        char s[400];
        memcpy(s, id, lens[i]);
        s[lens[i]] = '\0';
        assert_true(nf_rowbuf_add(&b, &f, NULL, s));
        const uint8_t *p = b.buf + NF_ROWBINARY_FIXED;
        assert_int_equal(*p++, 0); /* NULL agent */
        size_t want = lens[i] > 255 ? 255 : lens[i];
        size_t got = p[0] & 0x7f;
        if (p[0] & 0x80)
            got |= (size_t)p[1] << 7, p += 2;
        else
            p += 1;
        assert_int_equal(got, want);
        assert_int_equal(b.len, (size_t)(p - b.buf) + want);
        nf_rowbuf_free(&b);
    }
}

/* Times beyond DateTime's range clamp; a zero sampling rate is written as 1. */
static void
test_clamps(void **state)
{
    (void)state;
    nf_flow f = sample();
    f.received_ms = UINT64_MAX;
    f.sampling_rate = 0;
    nf_rowbuf b = {0};
    assert_true(nf_rowbuf_add(&b, &f, "a", "m"));
    assert_int_equal(le(b.buf, 4), UINT32_MAX);
    assert_int_equal(le(b.buf + 4 + 16 + 16 + 2 + 2 + 1 + 8 + 8 + 1 + 1 + 16 + 4, 4), 1);
    nf_rowbuf_free(&b);
}

/* Many rows grow the buffer; reset keeps the memory and starts over. */
static void
test_many_and_reset(void **state)
{
    (void)state;
    nf_rowbuf b = {0};
    nf_flow f = sample();
    for (int i = 0; i < 10000; i++)
        assert_true(nf_rowbuf_add(&b, &f, "agent", "msg"));
    assert_int_equal(b.rows, 10000);
    assert_int_equal(b.len, 10000 * (NF_ROWBINARY_FIXED + 1 + 5 + 1 + 3));
    size_t cap = b.cap;
    nf_rowbuf_reset(&b);
    assert_int_equal(b.rows, 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    nf_rowbuf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_clamps),
        cmocka_unit_test(test_many_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
