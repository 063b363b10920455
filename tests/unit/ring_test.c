/* ring_test.c — the record ring: sequencing, cursors, capacity and age eviction, loss
 * accounting, concurrent writers and readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ring/ring.h"

static nf_ring *
make_ring(uint64_t cap, uint64_t retention_ms, uint64_t first_seq)
{
    nf_ring_config cfg = {.max_records = cap, .retention_ms = retention_ms,
                          .first_seq = first_seq};
    nf_ring *r = NULL;
    nf_err err;
    assert_int_equal(nf_ring_create(&cfg, &r, &err), NF_OK);
    return r;
}

/* Flow i carries i in bytes so order can be checked after reads. */
static void
fill(nf_flow *f, size_t n, uint64_t base, uint64_t received_ms)
{
    memset(f, 0, n * sizeof(*f));
    for (size_t i = 0; i < n; i++) {
        f[i].bytes = base + i;
        f[i].received_ms = received_ms;
    }
}

static void
test_sequences_and_cursor(void **state)
{
    (void)state;
    nf_ring *r = make_ring(100, 0, 1);
    nf_flow in[10], out[10];
    fill(in, 10, 0, 1000);
    assert_int_equal(nf_ring_append(r, in, 10, 1000), 10);

    nf_ring_read_result res;
    nf_ring_read(r, 0, out, 4, 1000, &res);
    assert_int_equal(res.count, 4);
    assert_int_equal(res.first_seq, 1);
    assert_int_equal(res.last_seq, 10);
    assert_int_equal(res.missed, 0);
    assert_int_equal(out[0].bytes, 0);
    assert_int_equal(out[3].bytes, 3);

    nf_ring_read(r, 4, out, 10, 1000, &res);
    assert_int_equal(res.count, 6);
    assert_int_equal(res.first_seq, 5);
    assert_int_equal(out[5].bytes, 9);

    nf_ring_read(r, 10, out, 10, 1000, &res); /* caught up */
    assert_int_equal(res.count, 0);
    assert_false(res.cursor_reset);
    nf_ring_destroy(r);
}

static void
test_capacity_eviction_counts_unread(void **state)
{
    (void)state;
    nf_ring *r = make_ring(8, 0, 1);
    nf_flow in[20], out[20];
    fill(in, 20, 100, 1000);
    nf_ring_append(r, in, 5, 1000);
    nf_ring_read_result res;
    nf_ring_read(r, 0, out, 3, 1000, &res); /* reader fetched 1..3 */
    nf_ring_append(r, in + 5, 15, 1000);    /* 20 records into 8 slots: 12 evicted */

    nf_ring_stats st;
    nf_ring_stats_get(r, &st);
    assert_int_equal(st.appended, 20);
    assert_int_equal(st.evicted_capacity, 12);
    assert_int_equal(st.evicted_unread, 9); /* 4..12 were never fetched */
    assert_int_equal(st.held, 8);
    assert_int_equal(st.oldest_seq, 13);

    nf_ring_read(r, 3, out, 20, 1000, &res);
    assert_int_equal(res.missed, 9);
    assert_int_equal(res.first_seq, 13);
    assert_int_equal(res.count, 8);
    assert_int_equal(out[0].bytes, 112);
    assert_int_equal(out[7].bytes, 119); /* wrapped copy keeps order */
    nf_ring_destroy(r);
}

static void
test_bulk_append_larger_than_ring(void **state)
{
    (void)state;
    /* One append of more records than the ring holds keeps the newest, counts the rest. */
    nf_ring *r = make_ring(8, 0, 1);
    nf_flow in[30], out[8];
    fill(in, 3, 0, 1);
    nf_ring_append(r, in, 3, 1);
    nf_ring_read_result res;
    nf_ring_read(r, 0, out, 2, 1, &res); /* 1 and 2 were read */
    fill(in, 30, 100, 1);
    assert_int_equal(nf_ring_append(r, in, 30, 1), 33);
    nf_ring_stats st;
    nf_ring_stats_get(r, &st);
    assert_int_equal(st.held, 8);
    assert_int_equal(st.oldest_seq, 26);
    assert_int_equal(st.evicted_capacity, 25);
    assert_int_equal(st.evicted_unread, 23); /* all but the two that were read */
    nf_ring_read(r, 2, out, 8, 1, &res);
    assert_int_equal(res.missed, 23);
    assert_int_equal(res.first_seq, 26);
    assert_int_equal(res.count, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i].bytes, 122 + i); /* the last 8 of the 30, in order */
    nf_ring_destroy(r);
}

static void
test_retention_by_age(void **state)
{
    (void)state;
    nf_ring *r = make_ring(100, 5000, 1);
    nf_flow in[4], out[4];
    fill(in, 2, 0, 1000);
    nf_ring_append(r, in, 2, 1000);
    fill(in, 2, 2, 4000);
    nf_ring_append(r, in, 2, 4000);

    nf_ring_read_result res;
    nf_ring_read(r, 0, out, 4, 6500, &res); /* records received at 1000 are too old */
    assert_int_equal(res.count, 2);
    assert_int_equal(res.first_seq, 3);
    assert_int_equal(res.missed, 2);
    nf_ring_stats st;
    nf_ring_stats_get(r, &st);
    assert_int_equal(st.evicted_age, 2);
    assert_int_equal(st.evicted_unread, 2);

    nf_ring_expire(r, 10000);
    nf_ring_stats_get(r, &st);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.evicted_unread, 2); /* 3 and 4 had been read */
    nf_ring_destroy(r);
}

static void
test_cursor_from_another_life(void **state)
{
    (void)state;
    /* A restarted checker starts at a new first_seq; a poller's old cursor is below it. */
    nf_ring *r = make_ring(16, 0, 1000000);
    nf_flow in[3], out[3];
    fill(in, 3, 0, 1);
    nf_ring_append(r, in, 3, 1);
    nf_ring_read_result res;
    nf_ring_read(r, 5000, out, 3, 1, &res);
    assert_int_equal(res.first_seq, 1000000);
    assert_int_equal(res.count, 3);
    assert_int_equal(res.missed, 0); /* nothing this ring ever held was lost */

    /* A cursor from the future (ring restarted lower) reads from the oldest. */
    nf_ring_read(r, 9000000, out, 3, 1, &res);
    assert_true(res.cursor_reset);
    assert_int_equal(res.first_seq, 1000000);
    assert_int_equal(res.count, 3);
    nf_ring_destroy(r);
}

static void
test_bad_config(void **state)
{
    (void)state;
    nf_ring_config cfg = {.max_records = 0, .first_seq = 1};
    nf_ring *r = NULL;
    nf_err err = {0};
    assert_int_equal(nf_ring_create(&cfg, &r, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "max_records"));
    cfg.max_records = 10;
    cfg.first_seq = 0;
    assert_int_equal(nf_ring_create(&cfg, &r, &err), NF_EINVAL);
    assert_null(r);
}

#define WRITERS 2
#define PER_WRITER 20000

static void *
writer(void *arg)
{
    nf_ring *r = arg;
    nf_flow batch[50];
    fill(batch, 50, 0, 1);
    for (int i = 0; i < PER_WRITER / 50; i++)
        nf_ring_append(r, batch, 50, 1);
    return NULL;
}

static void
test_concurrent_writers_and_reader(void **state)
{
    (void)state;
    /* A reader that follows by cursor sees every sequence exactly once, in order, and the
     * records it did not see are exactly the ones reported missed. */
    nf_ring *r = make_ring(4096, 0, 1);
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, r);
    nf_flow *out = malloc(512 * sizeof(nf_flow));
    uint64_t cursor = 0, seen = 0, missed = 0;
    while (cursor < WRITERS * PER_WRITER) {
        nf_ring_read_result res;
        nf_ring_read(r, cursor, out, 512, 1, &res);
        if (res.count > 0)
            assert_int_equal(res.first_seq, cursor + 1 + res.missed);
        seen += res.count;
        missed += res.missed;
        if (res.count > 0)
            cursor = res.first_seq + res.count - 1;
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(seen + missed, WRITERS * PER_WRITER);
    nf_ring_stats st;
    nf_ring_stats_get(r, &st);
    assert_int_equal(st.evicted_unread, missed);
    free(out);
    nf_ring_destroy(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequences_and_cursor),
        cmocka_unit_test(test_capacity_eviction_counts_unread),
        cmocka_unit_test(test_bulk_append_larger_than_ring),
        cmocka_unit_test(test_retention_by_age),
        cmocka_unit_test(test_cursor_from_another_life),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_concurrent_writers_and_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
