/* iceberg_format_test.c — lib/iceberg's Avro half: bound encoding and truncation, manifest and
 * manifest-list round trips (every field, inherited values, header metadata), scan pruning
 * (partition summary, partition value, timestamp bounds, conditions, missing statistics,
 * delete manifests), and malformed containers (truncated, bad magic, huge counts, unknown
 * codec, corrupted bytes) that must fail with NF_EPROTO and never crash.
 *
 * When node is on PATH, tests/js/avro_check.js (avsc, a strict reader) decodes the files
 * the writer produced and must accept them, and must refuse a manifest whose schema lacks
 * field ids. Files live in one mkdtemp directory removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iceberg/avro.h"
#include "iceberg/iceberg.h"

#define DAY_US 86400000000LL
#define D0 20000 /* a day number (2024-10-04) */

static char g_dir[256];

static const char TABLE_SCHEMA[] =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"timestamp\",\"required\":false,\"type\":\"timestamptz\"},"
    "{\"id\":2,\"name\":\"src_ip\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":4,\"name\":\"src_port\",\"required\":false,\"type\":\"int\"}]}";

static const nf_ice_spec DAY_SPEC = {
    .spec_id = 0, .transform = NF_ICE_DAY, .source_id = 1, .field_id = 1000,
    .name = "timestamp_day"};
static const nf_ice_spec NO_SPEC = {.spec_id = 1, .transform = NF_ICE_UNPARTITIONED};

static nf_ice_type
type_of(int32_t id)
{
    return id == 1 ? NF_ICE_TIMESTAMPTZ : id == 2 ? NF_ICE_STRING : id == 4 ? NF_ICE_INT : 0;
}

static void
tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A data file with stats for ts (1), src_ip (2), src_port (4); NULL strings = no stat. */
static nf_ice_datafile
mkfile(const char *name, nf_ice_entry_status status, int32_t day, bool part_null, int64_t ts_lo,
       int64_t ts_hi, int32_t port_lo, int32_t port_hi, const char *ip_lo, const char *ip_hi)
{
    nf_ice_datafile f;
    memset(&f, 0, sizeof(f));
    char uri[512];
    snprintf(uri, sizeof(uri), "file://%s/data/%s", g_dir, name);
    f.path = strdup(uri);
    f.record_count = 100 + (int64_t)strlen(name);
    f.file_size = 4096 + (int64_t)strlen(name);
    f.partition = day;
    f.partition_null = part_null;
    f.sort_order_id = 1;
    f.status = status;
    f.snapshot_id = f.data_seq = f.file_seq = -1;
    f.ncols = 3;
    f.cols = calloc(3, sizeof(nf_ice_colstat));
    for (int i = 0; i < 3; i++) {
        f.cols[i].field_id = i == 0 ? 1 : i == 1 ? 2 : 4;
        f.cols[i].column_size = 1000 + i;
        f.cols[i].value_count = f.record_count;
        f.cols[i].null_count = i;
    }
    if (ts_lo != INT64_MIN) {
        f.cols[0].lower_len = (uint8_t)nf_ice_bound_long(ts_lo, f.cols[0].lower);
        f.cols[0].upper_len = (uint8_t)nf_ice_bound_long(ts_hi, f.cols[0].upper);
    }
    if (ip_lo != NULL) {
        nf_ice_bound_string_lower(&f.cols[1], ip_lo, strlen(ip_lo));
        nf_ice_bound_string_upper(&f.cols[1], ip_hi, strlen(ip_hi));
    }
    if (port_lo >= 0) {
        f.cols[2].lower_len = (uint8_t)nf_ice_bound_int(port_lo, f.cols[2].lower);
        f.cols[2].upper_len = (uint8_t)nf_ice_bound_int(port_hi, f.cols[2].upper);
    }
    return f;
}

static void
assert_same_file(const nf_ice_datafile *a, const nf_ice_datafile *b)
{
    assert_string_equal(a->path, b->path);
    assert_int_equal(a->record_count, b->record_count);
    assert_int_equal(a->file_size, b->file_size);
    assert_int_equal(a->partition_null, b->partition_null);
    if (!a->partition_null)
        assert_int_equal(a->partition, b->partition);
    assert_int_equal(a->sort_order_id, b->sort_order_id);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->ncols, b->ncols);
    /* Same columns, in any order (a reader lists them as the maps name them). */
    for (size_t i = 0; i < a->ncols; i++) {
        const nf_ice_colstat *x = &a->cols[i], *y = NULL;
        for (size_t j = 0; j < b->ncols && y == NULL; j++)
            if (b->cols[j].field_id == x->field_id)
                y = &b->cols[j];
        assert_non_null(y);
        assert_int_equal(x->column_size, y->column_size);
        assert_int_equal(x->value_count, y->value_count);
        assert_int_equal(x->null_count, y->null_count);
        assert_int_equal(x->lower_len, y->lower_len);
        assert_int_equal(x->upper_len, y->upper_len);
        assert_memory_equal(x->lower, y->lower, x->lower_len);
        assert_memory_equal(x->upper, y->upper, x->upper_len);
    }
}

/* Runs avro_check.js on the files; returns its exit status, or -1 without node. */
static int
avro_check(const char *files)
{
    if (system("command -v node >/dev/null 2>&1") != 0)
        return -1;
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "node %s/tests/js/avro_check.js %s > %s/check.out 2>&1",
             NF_SOURCE_DIR, files, g_dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 255;
}

/* ---- bounds ------------------------------------------------------------------------------ */

static void
test_bound_numbers(void **state)
{
    (void)state;
    uint8_t a[8], b[8];
    assert_int_equal(nf_ice_bound_int(-2, a), 4);
    assert_memory_equal(a, "\xfe\xff\xff\xff", 4);
    nf_ice_bound_int(1, b);
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_INT, a, 4, b, 4), -1);
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_DATE, b, 4, a, 4), 1);
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_INT, b, 4, b, 4), 0);
    assert_int_equal(nf_ice_bound_long(0x0102030405060708LL, a), 8);
    assert_memory_equal(a, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    nf_ice_bound_long(-1, b);
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_LONG, b, 8, a, 8), -1);
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_TIMESTAMPTZ, a, 8, b, 8), 1);
    /* Strings: unsigned bytes, prefix first. */
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_STRING, (const uint8_t *)"ab", 2,
                                      (const uint8_t *)"abc", 3), -1);
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_STRING, (const uint8_t *)"\xc3\xa9", 2,
                                      (const uint8_t *)"z", 1), 1);
    assert_int_equal(nf_ice_bound_cmp(NF_ICE_BINARY, (const uint8_t *)"", 0,
                                      (const uint8_t *)"", 0), 0);
}

static void
test_bound_strings(void **state)
{
    (void)state;
    nf_ice_colstat st;
    char s[128];
    /* Short: exact. */
    memset(&st, 0, sizeof(st));
    nf_ice_bound_string_lower(&st, "10.0.0.1", 8);
    nf_ice_bound_string_upper(&st, "10.0.0.9", 8);
    assert_int_equal(st.lower_len, 8);
    assert_memory_equal(st.lower, "10.0.0.1", 8);
    assert_int_equal(st.upper_len, 8);
    assert_memory_equal(st.upper, "10.0.0.9", 8);
    /* Exactly NF_ICE_BOUND_MAX: exact too. */
    memset(s, 'q', 32);
    nf_ice_bound_string_upper(&st, s, 32);
    assert_int_equal(st.upper_len, 32);
    /* 40 ASCII: lower = 32-byte prefix, upper = 31 bytes + last incremented. */
    memset(s, 'a', 40);
    nf_ice_bound_string_lower(&st, s, 40);
    nf_ice_bound_string_upper(&st, s, 40);
    assert_int_equal(st.lower_len, 32);
    assert_memory_equal(st.lower, s, 32);
    assert_int_equal(st.upper_len, 32);
    assert_memory_equal(st.upper, s, 31);
    assert_int_equal(st.upper[31], 'b');
    /* A 2-byte character straddling byte 32 is not cut. */
    memset(s, 'a', 31);
    memcpy(s + 31, "\xc3\xa9zzzz", 6);
    nf_ice_bound_string_lower(&st, s, 37);
    nf_ice_bound_string_upper(&st, s, 37);
    assert_int_equal(st.lower_len, 31);
    assert_int_equal(st.upper_len, 31);
    assert_memory_equal(st.upper, s, 30);
    assert_int_equal(st.upper[30], 'b');
    /* The last kept character is a 2-byte é: incremented to ê. */
    memset(s, 'a', 30);
    memcpy(s + 30, "\xc3\xa9zzzz", 6);
    nf_ice_bound_string_upper(&st, s, 36);
    assert_int_equal(st.upper_len, 32);
    assert_memory_equal(st.upper + 30, "\xc3\xaa", 2);
    /* U+007F at byte 31 would grow to 2 bytes: dropped, the 'a' before is incremented. */
    memset(s, 'a', 31);
    s[31] = 0x7f;
    memset(s + 32, 'x', 5);
    nf_ice_bound_string_upper(&st, s, 37);
    assert_int_equal(st.upper_len, 31);
    assert_int_equal(st.upper[30], 'b');
    /* U+D7FF increments past the surrogates to U+E000. */
    memset(s, 'a', 29);
    memcpy(s + 29, "\xed\x9f\xbfzz", 5);
    nf_ice_bound_string_upper(&st, s, 34);
    assert_int_equal(st.upper_len, 32);
    assert_memory_equal(st.upper + 29, "\xee\x80\x80", 3);
    /* Only U+10FFFF: no upper bound possible; the lower bound stops at 8 characters. */
    for (int i = 0; i < 9; i++)
        memcpy(s + 4 * i, "\xf4\x8f\xbf\xbf", 4);
    st.upper_len = 7;
    nf_ice_bound_string_upper(&st, s, 36);
    nf_ice_bound_string_lower(&st, s, 36);
    assert_int_equal(st.upper_len, 0);
    assert_int_equal(st.lower_len, 32);
    /* Not UTF-8: byte arithmetic on the 32-byte prefix. */
    memset(s, 0xff, 40);
    s[5] = 0x41;
    nf_ice_bound_string_upper(&st, s, 40);
    assert_int_equal(st.upper_len, 6);
    assert_int_equal(st.upper[5], 0x42);
    /* Every truncated upper bound sorts after the value, every lower one before. */
    memset(s, 'a', 31);
    memcpy(s + 31, "\xc3\xa9zzzz", 6);
    nf_ice_bound_string_lower(&st, s, 37);
    nf_ice_bound_string_upper(&st, s, 37);
    assert_true(nf_ice_bound_cmp(NF_ICE_STRING, st.lower, st.lower_len, (uint8_t *)s, 37) < 0);
    assert_true(nf_ice_bound_cmp(NF_ICE_STRING, st.upper, st.upper_len, (uint8_t *)s, 37) > 0);
}

static void
test_datafile_copy(void **state)
{
    (void)state;
    nf_ice_datafile f = mkfile("copy.parquet", NF_ICE_ADDED, D0, false, 1, 2, 3, 4, "a", "b");
    nf_ice_datafile g;
    nf_err err = {0};
    assert_int_equal(nf_ice_datafile_copy(&g, &f, &err), NF_OK);
    assert_ptr_not_equal(g.path, f.path);
    assert_ptr_not_equal(g.cols, f.cols);
    assert_same_file(&f, &g);
    nf_ice_datafile_clear(&f);
    nf_ice_datafile_clear(&g);
    nf_ice_datafile_clear(NULL);
    nf_ice_datafiles_free(NULL, 3);
    nf_ice_manifests_free(NULL, 3);
}

/* ---- manifests --------------------------------------------------------------------------- */

static void
test_manifest_round_trip(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof(path), "rt-m0.avro");
    nf_ice_datafile files[4];
    files[0] = mkfile("a.parquet", NF_ICE_ADDED, D0, false, D0 * DAY_US, D0 * DAY_US + 5,
                      10, 20, "10.0.0.1", "10.0.0.9");
    files[1] = mkfile("b.parquet", NF_ICE_EXISTING, D0 + 2, false, -1, -1, 443, 443, NULL,
                      NULL);
    files[1].snapshot_id = 77, files[1].data_seq = 3, files[1].file_seq = 4;
    files[1].cols[0].lower_len = files[1].cols[0].upper_len = 0;
    files[1].cols[1].column_size = -1; /* omitted from column_sizes only */
    files[2] = mkfile("c.parquet", NF_ICE_DELETED, 0, true, INT64_MIN, 0, -1, 0, NULL, NULL);
    files[2].snapshot_id = 78, files[2].data_seq = 2, files[2].file_seq = 2;
    files[2].sort_order_id = -1;
    files[3] = mkfile("d.parquet", NF_ICE_EXISTING, D0 - 1, false, 5, 6, 1, 2, "x", "y");
    free(files[3].cols);
    files[3].cols = NULL, files[3].ncols = 0; /* no statistics at all */

    nf_ice_manifest_ctx ctx = {TABLE_SCHEMA, 0, &DAY_SPEC, type_of};
    nf_ice_manifest m;
    nf_err err = {0};
    assert_int_equal(nf_ice_manifest_write(path, &ctx, 900, 5, files, 4, &m, &err), NF_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    char uri[600];
    snprintf(uri, sizeof(uri), "file://%s", path);
    assert_string_equal(m.path, uri);
    assert_int_equal(m.length, sb.st_size);
    assert_int_equal(m.spec_id, 0);
    assert_int_equal(m.content, 0);
    assert_int_equal(m.sequence_number, 5);
    assert_int_equal(m.min_sequence_number, 3); /* b's explicit data_seq; c is deleted */
    assert_int_equal(m.added_snapshot_id, 900);
    assert_int_equal(m.added_files, 1);
    assert_int_equal(m.existing_files, 2);
    assert_int_equal(m.deleted_files, 1);
    assert_int_equal(m.added_rows, files[0].record_count);
    assert_int_equal(m.existing_rows, files[1].record_count + files[3].record_count);
    assert_int_equal(m.deleted_rows, files[2].record_count);
    assert_true(m.has_summary);
    assert_true(m.contains_null);
    assert_true(m.has_bounds);
    assert_int_equal(m.lower, D0 - 1);
    assert_int_equal(m.upper, D0 + 2);

    nf_ice_datafile *got;
    size_t n;
    assert_int_equal(nf_ice_manifest_read(&m, &got, &n, &err), NF_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < 4; i++) {
        /* b's column 2 has no size: read back as -1 as well. */
        assert_same_file(&files[i], &got[i]);
    }
    /* Inherited values resolved for the ADDED entry; explicit ones kept. */
    assert_int_equal(got[0].snapshot_id, 900);
    assert_int_equal(got[0].data_seq, 5);
    assert_int_equal(got[0].file_seq, 5);
    assert_int_equal(got[1].snapshot_id, 77);
    assert_int_equal(got[1].data_seq, 3);
    assert_int_equal(got[1].file_seq, 4);
    assert_int_equal(got[2].snapshot_id, 78);
    assert_int_equal(got[3].snapshot_id, 900); /* EXISTING with -1: written explicitly */
    assert_int_equal(got[3].data_seq, 5);
    nf_ice_datafiles_free(got, n);

    /* Header metadata and the verbatim schema. */
    nf_avro_reader *r;
    assert_int_equal(nf_avro_reader_open_file(path, &r, &err), NF_OK);
    size_t len;
    const char *v = nf_avro_reader_meta(r, "format-version", &len);
    assert_non_null(v);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "2", 1);
    v = nf_avro_reader_meta(r, "content", &len);
    assert_int_equal(len, 4);
    assert_memory_equal(v, "data", 4);
    v = nf_avro_reader_meta(r, "schema", &len);
    assert_int_equal(len, strlen(TABLE_SCHEMA));
    assert_memory_equal(v, TABLE_SCHEMA, len);
    v = nf_avro_reader_meta(r, "partition-spec", &len);
    const char spec[] = "[{\"name\":\"timestamp_day\",\"transform\":\"day\",\"source-id\":1,"
                        "\"field-id\":1000}]";
    assert_int_equal(len, strlen(spec));
    assert_memory_equal(v, spec, len);
    v = nf_avro_reader_meta(r, "avro.codec", &len);
    assert_memory_equal(v, "deflate", 7);
    const char *schema = nf_avro_reader_schema_json(r);
    assert_non_null(strstr(schema, "\"logicalType\":\"date\"}],\"default\":null,"
                                   "\"field-id\":1000"));
    assert_non_null(strstr(schema, "\"element-id\":133"));
    nf_avro_reader_free(r);

    /* An unpartitioned spec: empty partition record, no summary. */
    char path2[512];
    tmp_path(path2, sizeof(path2), "rt-m1.avro");
    nf_ice_manifest_ctx ctx2 = {TABLE_SCHEMA, 0, &NO_SPEC, NULL};
    nf_ice_manifest m2;
    assert_int_equal(nf_ice_manifest_write(path2, &ctx2, 901, 6, files, 1, &m2, &err), NF_OK);
    assert_false(m2.has_summary);
    assert_int_equal(m2.spec_id, 1);
    assert_int_equal(nf_ice_manifest_read(&m2, &got, &n, &err), NF_OK);
    assert_int_equal(n, 1);
    assert_true(got[0].partition_null);
    nf_ice_datafiles_free(got, n);

    /* A strict reader accepts both. */
    char args[1200];
    snprintf(args, sizeof(args), "%s %s", path, path2);
    int rc = avro_check(args);
    if (rc >= 0)
        assert_int_equal(rc, 0);

    /* Bad input is refused before anything is written. */
    files[0].cols[2].lower_len = 8; /* an int bound must be 4 bytes */
    char path3[512];
    tmp_path(path3, sizeof(path3), "never.avro");
    assert_int_equal(nf_ice_manifest_write(path3, &ctx, 900, 5, files, 1, &m2, &err),
                     NF_EINVAL);
    assert_non_null(strstr(err.msg, "field 4"));
    assert_int_not_equal(access(path3, F_OK), 0);
    free(m.path);
    free(m2.path);
    for (int i = 0; i < 4; i++)
        nf_ice_datafile_clear(&files[i]);
}

static void
test_mlist_round_trip(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof(path), "snap-1.avro");
    nf_ice_manifest m[2];
    memset(m, 0, sizeof(m));
    m[0].path = "file:///x/m0.avro";
    m[0].length = 1234;
    m[0].spec_id = 0;
    m[0].sequence_number = 7;
    m[0].min_sequence_number = 3;
    m[0].added_snapshot_id = 42;
    m[0].added_files = 1, m[0].existing_files = 2, m[0].deleted_files = 3;
    m[0].added_rows = 10, m[0].existing_rows = 20, m[0].deleted_rows = 30;
    m[0].has_summary = true, m[0].contains_null = true, m[0].has_bounds = true;
    m[0].lower = -5, m[0].upper = D0;
    m[1].path = "file:///x/m1.avro";
    m[1].length = 99;
    m[1].spec_id = 1;
    m[1].sequence_number = 8;
    m[1].min_sequence_number = 8;
    m[1].added_snapshot_id = (1LL << 53) - 1;
    nf_ice_manifest m2 = m[0];
    m2.path = "file:///x/m2.avro";
    m2.has_bounds = false; /* summary of an all-null partition */
    nf_ice_manifest all[3] = {m[0], m[1], m2};
    nf_err err = {0};
    assert_int_equal(nf_ice_mlist_write(path, 43, 42, 8, all, 3, &err), NF_OK);
    nf_ice_manifest *got;
    size_t n;
    char uri[600];
    snprintf(uri, sizeof(uri), "file://%s", path);
    assert_int_equal(nf_ice_mlist_read(uri, &got, &n, &err), NF_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(got[i].path, all[i].path);
        assert_int_equal(got[i].length, all[i].length);
        assert_int_equal(got[i].spec_id, all[i].spec_id);
        assert_int_equal(got[i].content, all[i].content);
        assert_int_equal(got[i].sequence_number, all[i].sequence_number);
        assert_int_equal(got[i].min_sequence_number, all[i].min_sequence_number);
        assert_int_equal(got[i].added_snapshot_id, all[i].added_snapshot_id);
        assert_int_equal(got[i].added_files, all[i].added_files);
        assert_int_equal(got[i].existing_files, all[i].existing_files);
        assert_int_equal(got[i].deleted_files, all[i].deleted_files);
        assert_int_equal(got[i].added_rows, all[i].added_rows);
        assert_int_equal(got[i].existing_rows, all[i].existing_rows);
        assert_int_equal(got[i].deleted_rows, all[i].deleted_rows);
        assert_int_equal(got[i].has_summary, all[i].has_summary);
        assert_int_equal(got[i].contains_null, all[i].contains_null);
        assert_int_equal(got[i].has_bounds, all[i].has_bounds);
        if (all[i].has_bounds) {
            assert_int_equal(got[i].lower, all[i].lower);
            assert_int_equal(got[i].upper, all[i].upper);
        }
    }
    nf_ice_manifests_free(got, n);
    /* Plain paths are accepted too; header keys are there. */
    assert_int_equal(nf_ice_mlist_read(path, &got, &n, &err), NF_OK);
    nf_ice_manifests_free(got, n);
    nf_avro_reader *r;
    assert_int_equal(nf_avro_reader_open_file(path, &r, &err), NF_OK);
    size_t len;
    const char *v = nf_avro_reader_meta(r, "parent-snapshot-id", &len);
    assert_int_equal(len, 2);
    assert_memory_equal(v, "42", 2);
    v = nf_avro_reader_meta(r, "sequence-number", &len);
    assert_memory_equal(v, "8", 1);
    assert_non_null(strstr(nf_avro_reader_schema_json(r), "\"element-id\":508"));
    nf_avro_reader_free(r);
    int rc = avro_check(path);
    if (rc >= 0)
        assert_int_equal(rc, 0);
    /* No such file. */
    snprintf(uri, sizeof(uri), "file://%s/absent.avro", g_dir);
    assert_int_equal(nf_ice_mlist_read(uri, &got, &n, &err), NF_ENOTFOUND);
    assert_int_equal(nf_ice_mlist_read("s3://bucket/x.avro", &got, &n, &err), NF_EINVAL);
}

/* Many entries: several blocks, still one linear pass. */
static void
test_manifest_many(void **state)
{
    (void)state;
    enum { N = 5000 };
    char path[512];
    tmp_path(path, sizeof(path), "many.avro");
    nf_ice_datafile *files = calloc(N, sizeof(*files));
    for (int i = 0; i < N; i++) {
        char name[64];
        snprintf(name, sizeof(name), "f%05d-with-a-longer-name-to-fill-blocks.parquet", i);
        files[i] = mkfile(name, NF_ICE_ADDED, D0 + i % 3, false, i, i + 10, i, i + 1,
                          "10.0.0.0", "10.255.255.255");
    }
    nf_ice_manifest_ctx ctx = {TABLE_SCHEMA, 0, &DAY_SPEC, type_of};
    nf_ice_manifest m;
    nf_err err = {0};
    assert_int_equal(nf_ice_manifest_write(path, &ctx, 1, 1, files, N, &m, &err), NF_OK);
    nf_ice_datafile *got;
    size_t n;
    assert_int_equal(nf_ice_manifest_read(&m, &got, &n, &err), NF_OK);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++)
        assert_same_file(&files[i], &got[i]);
    nf_ice_datafiles_free(got, n);
    nf_ice_datafiles_free(files, N);
    free(m.path);
}

/* ---- scan -------------------------------------------------------------------------------- */

static char g_mlist[600];

/* Day D0: a (00-06 h, ports 10-20, ips 10.0.0.1-10.0.0.9), b (12-18 h, 443-443,
 *         192.168.0.1-192.168.0.200), gone (deleted);
 * day D0+1: c (whole day, no stats), d (00-01 h, ports 80-80);
 * day D0+2: e (no ts stats, ports 1000-2000);
 * unpartitioned-by-day manifest (identity spec on another column): f (days mixed). */
static void
build_table(void)
{
    nf_ice_manifest_ctx ctx = {TABLE_SCHEMA, 0, &DAY_SPEC, type_of};
    nf_err err = {0};
    nf_ice_manifest ms[3];
    int64_t t0 = (int64_t)D0 * DAY_US, h = 3600000000LL;
    nf_ice_datafile day0[3] = {
        mkfile("a", NF_ICE_ADDED, D0, false, t0, t0 + 6 * h, 10, 20, "10.0.0.1", "10.0.0.9"),
        mkfile("b", NF_ICE_EXISTING, D0, false, t0 + 12 * h, t0 + 18 * h, 443, 443,
               "192.168.0.1", "192.168.0.200"),
        mkfile("gone", NF_ICE_DELETED, D0, false, t0, t0 + 1, 10, 20, NULL, NULL)};
    nf_ice_datafile day1[2] = {
        mkfile("c", NF_ICE_ADDED, D0 + 1, false, INT64_MIN, 0, -1, 0, NULL, NULL),
        mkfile("d", NF_ICE_ADDED, D0 + 1, false, t0 + DAY_US, t0 + DAY_US + h, 80, 80, NULL,
               NULL)};
    free(day1[0].cols);
    day1[0].cols = NULL, day1[0].ncols = 0;
    nf_ice_datafile day2[1] = {
        mkfile("e", NF_ICE_ADDED, D0 + 2, false, INT64_MIN, 0, 1000, 2000, NULL, NULL)};
    char p[512];
    tmp_path(p, sizeof(p), "s-m0.avro");
    assert_int_equal(nf_ice_manifest_write(p, &ctx, 10, 1, day0, 3, &ms[0], &err), NF_OK);
    tmp_path(p, sizeof(p), "s-m1.avro");
    assert_int_equal(nf_ice_manifest_write(p, &ctx, 11, 2, day1, 2, &ms[1], &err), NF_OK);
    tmp_path(p, sizeof(p), "s-m2.avro");
    assert_int_equal(nf_ice_manifest_write(p, &ctx, 12, 3, day2, 1, &ms[2], &err), NF_OK);
    tmp_path(p, sizeof(p), "snap-s.avro");
    assert_int_equal(nf_ice_mlist_write(p, 12, 11, 3, ms, 3, &err), NF_OK);
    snprintf(g_mlist, sizeof(g_mlist), "file://%s", p);
    for (int i = 0; i < 3; i++) {
        free(ms[i].path);
        nf_ice_datafile_clear(&day0[i]);
    }
    nf_ice_datafile_clear(&day1[0]);
    nf_ice_datafile_clear(&day1[1]);
    nf_ice_datafile_clear(&day2[0]);
}

/* Scans and returns the kept files' names (the part after data/) joined by ',' */
static void
scan_names(const nf_ice_scan_filter *f, char *out, size_t cap, nf_ice_scan_stats *st)
{
    nf_ice_datafile *files;
    size_t n;
    nf_err err = {0};
    nf_status s = nf_ice_scan(g_mlist, f, &files, &n, st, &err);
    if (s != NF_OK)
        fprintf(stderr, "scan: %s\n", err.msg);
    assert_int_equal(s, NF_OK);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *name = strrchr(files[i].path, '/') + 1;
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", name);
    }
    nf_ice_datafiles_free(files, n);
}

static nf_ice_cond
int_cond(int32_t id, int32_t lo, int32_t hi)
{
    nf_ice_cond c;
    memset(&c, 0, sizeof(c));
    c.field_id = id;
    c.type = NF_ICE_INT;
    c.lo_len = (uint8_t)nf_ice_bound_int(lo, c.lo);
    c.hi_len = (uint8_t)nf_ice_bound_int(hi, c.hi);
    return c;
}

static void
test_scan(void **state)
{
    (void)state;
    build_table();
    char names[256];
    nf_ice_scan_stats st;
    int64_t t0 = (int64_t)D0 * DAY_US, h = 3600000000LL;

    /* Everything live, sorted by path; the deleted entry is not there. */
    scan_names(NULL, names, sizeof(names), &st);
    assert_string_equal(names, "a,b,c,d,e");
    assert_int_equal(st.manifests, 3);
    assert_int_equal(st.manifests_skipped, 0);
    assert_int_equal(st.files, 5);
    assert_int_equal(st.files_skipped, 0);
    assert_int_equal(st.records, 5 * 101);
    assert_int_equal(st.bytes, 5 * 4097);

    /* Day D0+1 only: m0 is read (learning the spec) then skipped, m2 skipped by summary. */
    nf_ice_scan_filter f;
    memset(&f, 0, sizeof(f));
    f.ts_field_id = 1;
    f.ts_lo_us = t0 + DAY_US;
    f.ts_hi_us = t0 + 2 * DAY_US;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "c,d");
    assert_int_equal(st.manifests_skipped, 2);
    assert_int_equal(st.files, 2);

    /* [D0 07:00, D0+1 00:30): b by bounds, a excluded (ends 06:00), d kept, c kept. */
    f.ts_lo_us = t0 + 7 * h;
    f.ts_hi_us = t0 + DAY_US + h / 2;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "b,c,d");
    assert_int_equal(st.files_skipped, 1);
    /* The range's end is exclusive: ending exactly where d starts excludes d. */
    f.ts_lo_us = t0 + 19 * h;
    f.ts_hi_us = t0 + DAY_US;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "");
    assert_int_equal(st.manifests_skipped, 2);
    /* Empty range. */
    f.ts_hi_us = f.ts_lo_us;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "");

    /* Conditions: port 80 OR 443 → b, d; c and e? c has no stats (kept); e 1000-2000 out. */
    memset(&f, 0, sizeof(f));
    f.conds[0] = int_cond(4, 80, 80);
    f.conds[1] = int_cond(4, 443, 443);
    f.nconds = 2;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "b,c,d");
    /* AND with an address prefix range ["192.168.", "192.168.\xff"] → b; c (no stats); d has
     * ports but no address bounds: kept. */
    nf_ice_cond *c = &f.conds[2];
    memset(c, 0, sizeof(*c));
    c->field_id = 2;
    c->type = NF_ICE_STRING;
    memcpy(c->lo, "192.168.", 8);
    c->lo_len = 8;
    memcpy(c->hi, "192.168.\xff", 9);
    c->hi_len = 9;
    f.nconds = 3;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "b,c,d");
    /* Address below every file's: only files without address stats remain. */
    memcpy(c->lo, "0.", 2);
    c->lo_len = 2;
    memcpy(c->hi, "1.", 2);
    c->hi_len = 2;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "c,d");
    /* One-sided condition: port >= 1500 → c (no stats), e. */
    memset(&f, 0, sizeof(f));
    f.conds[0] = int_cond(4, 1500, 0);
    f.conds[0].hi_len = 0;
    f.nconds = 1;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "c,e");
    /* Time and conditions together. */
    f.ts_field_id = 1;
    f.ts_lo_us = t0;
    f.ts_hi_us = t0 + 2 * DAY_US;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "c");
}

/* A partition value outside the range excludes a file even without column bounds; a
 * manifest list whose spec is not day(ts) prunes nothing by partition. */
static void
test_scan_partition_values(void **state)
{
    (void)state;
    nf_ice_manifest_ctx ctx = {TABLE_SCHEMA, 0, &DAY_SPEC, type_of};
    nf_err err = {0};
    nf_ice_datafile fs[3] = {
        mkfile("p0", NF_ICE_ADDED, D0, false, INT64_MIN, 0, -1, 0, NULL, NULL),
        mkfile("p1", NF_ICE_ADDED, D0 + 1, false, INT64_MIN, 0, -1, 0, NULL, NULL),
        mkfile("pn", NF_ICE_ADDED, 0, true, INT64_MIN, 0, -1, 0, NULL, NULL)};
    nf_ice_manifest m[2];
    char p[512];
    tmp_path(p, sizeof(p), "pv-m0.avro");
    assert_int_equal(nf_ice_manifest_write(p, &ctx, 1, 1, fs, 3, &m[0], &err), NF_OK);
    nf_ice_spec ident = {.spec_id = 2, .transform = NF_ICE_IDENTITY, .source_id = 4,
                         .field_id = 1001, .name = "src_port"};
    nf_ice_manifest_ctx ctx2 = {TABLE_SCHEMA, 0, &ident, type_of};
    tmp_path(p, sizeof(p), "pv-m1.avro");
    nf_ice_datafile q = mkfile("q", NF_ICE_ADDED, 443, false, INT64_MIN, 0, -1, 0, NULL, NULL);
    assert_int_equal(nf_ice_manifest_write(p, &ctx2, 1, 1, &q, 1, &m[1], &err), NF_OK);
    tmp_path(p, sizeof(p), "snap-pv.avro");
    assert_int_equal(nf_ice_mlist_write(p, 1, -1, 1, m, 2, &err), NF_OK);
    snprintf(g_mlist, sizeof(g_mlist), "file://%s", p);
    nf_ice_scan_filter f;
    memset(&f, 0, sizeof(f));
    f.ts_field_id = 1;
    f.ts_lo_us = (int64_t)(D0 + 1) * DAY_US;
    f.ts_hi_us = f.ts_lo_us + 1;
    char names[128];
    nf_ice_scan_stats st;
    scan_names(&f, names, sizeof(names), &st);
    /* p0 out by partition value; the null partition and the identity-spec file stay. */
    assert_string_equal(names, "p1,pn,q");
    assert_int_equal(st.files_skipped, 1);
    assert_int_equal(st.manifests_skipped, 0);
    /* Negative times: day of -1 µs is -1. The first manifest's summary [D0, D0+1] excludes
     * it although it contains a null partition: a null timestamp is in no time range. */
    f.ts_lo_us = -1;
    f.ts_hi_us = 0;
    scan_names(&f, names, sizeof(names), &st);
    assert_string_equal(names, "q");
    assert_int_equal(st.manifests_skipped, 1);
    for (int i = 0; i < 3; i++)
        nf_ice_datafile_clear(&fs[i]);
    nf_ice_datafile_clear(&q);
    free(m[0].path);
    free(m[1].path);
}

static void
test_scan_refuses_deletes(void **state)
{
    (void)state;
    nf_ice_manifest m;
    memset(&m, 0, sizeof(m));
    m.path = "file:///nonexistent/deletes.avro";
    m.content = 1;
    char p[512];
    tmp_path(p, sizeof(p), "snap-del.avro");
    nf_err err = {0};
    assert_int_equal(nf_ice_mlist_write(p, 1, -1, 1, &m, 1, &err), NF_OK);
    nf_ice_datafile *files;
    size_t n;
    assert_int_equal(nf_ice_scan(p, NULL, &files, &n, NULL, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "deletes"));
}

/* ---- malformed files --------------------------------------------------------------------- */

/* Appends a zig-zag long. */
static size_t
put_long(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    do {
        p[n] = z & 0x7f;
        z >>= 7;
        if (z)
            p[n] |= 0x80;
        n++;
    } while (z);
    return n;
}

static size_t
put_str(uint8_t *p, const char *s)
{
    size_t n = put_long(p, (int64_t)strlen(s));
    memcpy(p + n, s, strlen(s));
    return n + strlen(s);
}

/* A container with the given codec, schema and one block {count, payload}. */
static size_t
craft(uint8_t *out, const char *codec, const char *schema, int64_t count, const uint8_t *payload,
      size_t plen)
{
    size_t n = 0;
    memcpy(out, "Obj\x01", 4);
    n = 4;
    n += put_long(out + n, 2);
    n += put_str(out + n, "avro.schema");
    n += put_str(out + n, schema);
    n += put_str(out + n, "avro.codec");
    n += put_str(out + n, codec);
    n += put_long(out + n, 0);
    memset(out + n, 0xab, 16);
    n += 16;
    n += put_long(out + n, count);
    n += put_long(out + n, (int64_t)plen);
    memcpy(out + n, payload, plen);
    n += plen;
    memset(out + n, 0xab, 16);
    return n + 16;
}

static void
test_malformed(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof(path), "rt-m0.avro"); /* from test_manifest_round_trip */
    size_t len;
    uint8_t *good = slurp(path, &len);
    nf_ice_manifest m;
    memset(&m, 0, sizeof(m));
    m.path = "mem.avro";
    nf_ice_datafile *files;
    size_t n;
    nf_err err = {0};
    assert_int_equal(nf_ice_manifest_read_mem(&m, good, len, &files, &n, &err), NF_OK);
    assert_int_equal(n, 4);
    nf_ice_datafiles_free(files, n);
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 7)) {
        uint8_t *b = malloc(cut + 1);
        memcpy(b, good, cut);
        nf_status s = nf_ice_manifest_read_mem(&m, b, cut, &files, &n, &err);
        /* Cut exactly after the header or a block: a valid, shorter container. */
        if (s == NF_OK) {
            assert_true(n < 4);
            nf_ice_datafiles_free(files, n);
        } else {
            assert_int_equal(s, NF_EPROTO);
        }
        free(b);
    }
    /* Bad magic. */
    good[3] = 2;
    assert_int_equal(nf_ice_manifest_read_mem(&m, good, len, &files, &n, &err), NF_EPROTO);
    assert_non_null(strstr(err.msg, "mem.avro"));
    good[3] = 1;
    /* Corrupted bytes: never a crash, a leak or an unbounded allocation (ASan watches). */
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        uint8_t *b = malloc(len);
        memcpy(b, good, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            b[(seed >> 8) % len] = (uint8_t)(seed >> 3);
        }
        if (nf_ice_manifest_read_mem(&m, b, len, &files, &n, &err) == NF_OK)
            nf_ice_datafiles_free(files, n);
        nf_ice_manifest *ms;
        if (nf_ice_mlist_read_mem("mem", b, len, &ms, &n, &err) == NF_OK)
            nf_ice_manifests_free(ms, n);
        free(b);
    }
    free(good);

    uint8_t buf[4096], payload[64];
    const char *schema = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                         "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"null\"}}]}";
    nf_avro_reader *r;
    avro_value_t *rec;
    /* Huge block count. */
    size_t pl = put_long(payload, 0);
    size_t bl = craft(buf, "null", schema, (int64_t)1 << 40, payload, pl);
    assert_int_equal(nf_avro_reader_open_mem(buf, bl, "huge", &r, &err), NF_OK);
    assert_int_equal(nf_avro_reader_next(r, &rec, &err), NF_EPROTO);
    nf_avro_reader_free(r);
    /* An array of 2^40 nulls in 7 bytes. */
    pl = put_long(payload, (int64_t)1 << 40);
    pl += put_long(payload + pl, 0);
    bl = craft(buf, "null", schema, 1, payload, pl);
    assert_int_equal(nf_avro_reader_open_mem(buf, bl, "nulls", &r, &err), NF_OK);
    assert_int_equal(nf_avro_reader_next(r, &rec, &err), NF_EPROTO);
    nf_avro_reader_free(r);
    /* A string claiming 2^60 bytes. */
    const char *sschema = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                          "{\"name\":\"s\",\"type\":\"string\"}]}";
    pl = put_long(payload, (int64_t)1 << 60);
    bl = craft(buf, "null", sschema, 1, payload, pl);
    assert_int_equal(nf_avro_reader_open_mem(buf, bl, "longstr", &r, &err), NF_OK);
    assert_int_equal(nf_avro_reader_next(r, &rec, &err), NF_EPROTO);
    nf_avro_reader_free(r);
    /* A valid one of the same shape reads, then ends. */
    pl = put_str(payload, "hi");
    bl = craft(buf, "null", sschema, 1, payload, pl);
    assert_int_equal(nf_avro_reader_open_mem(buf, bl, "ok", &r, &err), NF_OK);
    assert_int_equal(nf_avro_reader_next(r, &rec, &err), NF_OK);
    const char *s;
    size_t slen;
    avro_value_t v;
    assert_int_equal(avro_value_get_by_index(rec, 0, &v, NULL), 0);
    assert_int_equal(avro_value_get_string(&v, &s, &slen), 0);
    assert_string_equal(s, "hi");
    assert_int_equal(nf_avro_reader_next(r, &rec, &err), NF_ENOTFOUND);
    nf_avro_reader_free(r);
    /* Wrong codec. */
    bl = craft(buf, "snappy", sschema, 1, payload, pl);
    assert_int_equal(nf_avro_reader_open_mem(buf, bl, "snappy", &r, &err), NF_EPROTO);
    assert_non_null(strstr(err.msg, "codec"));
    /* Sync marker mismatch. */
    bl = craft(buf, "null", sschema, 1, payload, pl);
    buf[bl - 1] ^= 1;
    assert_int_equal(nf_avro_reader_open_mem(buf, bl, "sync", &r, &err), NF_OK);
    assert_int_equal(nf_avro_reader_next(r, &rec, &err), NF_EPROTO);
    nf_avro_reader_free(r);
    /* Stray bytes after the records of a block. */
    payload[pl] = 0;
    bl = craft(buf, "null", sschema, 1, payload, pl + 1);
    assert_int_equal(nf_avro_reader_open_mem(buf, bl, "stray", &r, &err), NF_OK);
    assert_int_equal(nf_avro_reader_next(r, &rec, &err), NF_EPROTO);
    nf_avro_reader_free(r);
    /* A manifest whose schema lacks the required fields. */
    memset(&m, 0, sizeof(m));
    m.path = "nofields.avro";
    pl = put_str(payload, "hi");
    bl = craft(buf, "null", sschema, 1, payload, pl);
    assert_int_equal(nf_ice_manifest_read_mem(&m, buf, bl, &files, &n, &err), NF_EPROTO);
    assert_non_null(strstr(err.msg, "nofields.avro"));
}

/* Foreign field names (an older writer's added_data_files_count) resolve by id; a manifest
 * without field ids is refused by the strict checker. */
static void
test_foreign_names_and_checker(void **state)
{
    (void)state;
    const char *schema =
        "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
        "{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
        "{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
        "{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
        "{\"name\":\"added_snapshot_id\",\"type\":[\"null\",\"long\"],\"field-id\":503},"
        "{\"name\":\"added_data_files_count\",\"type\":[\"null\",\"int\"],\"field-id\":504},"
        "{\"name\":\"existing_data_files_count\",\"type\":[\"null\",\"int\"],\"field-id\":505}"
        "]}";
    nf_avro_writer *w;
    nf_err err = {0};
    assert_int_equal(nf_avro_writer_new(schema, NULL, 0, &w, &err), NF_OK);
    avro_value_t *rec = nf_avro_writer_record(w), f, b;
    assert_int_equal(avro_value_get_by_index(rec, 0, &f, NULL), 0);
    avro_value_set_string(&f, "file:///old/m.avro");
    avro_value_get_by_index(rec, 1, &f, NULL);
    avro_value_set_long(&f, 321);
    avro_value_get_by_index(rec, 2, &f, NULL);
    avro_value_set_int(&f, 0);
    avro_value_get_by_index(rec, 3, &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_long(&b, 55);
    avro_value_get_by_index(rec, 4, &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_int(&b, 6);
    avro_value_get_by_index(rec, 5, &f, NULL);
    avro_value_set_branch(&f, 0, &b);
    avro_value_set_null(&b);
    assert_int_equal(nf_avro_writer_append(w, &err), NF_OK);
    char path[512];
    tmp_path(path, sizeof(path), "old-list.avro");
    int64_t len;
    assert_int_equal(nf_avro_writer_finish(w, path, &len, &err), NF_OK);
    nf_avro_writer_free(w);
    nf_ice_manifest *ms;
    size_t n;
    assert_int_equal(nf_ice_mlist_read(path, &ms, &n, &err), NF_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ms[0].path, "file:///old/m.avro");
    assert_int_equal(ms[0].length, 321);
    assert_int_equal(ms[0].added_snapshot_id, 55);
    assert_int_equal(ms[0].added_files, 6);
    assert_int_equal(ms[0].existing_files, 0);
    assert_false(ms[0].has_summary);
    nf_ice_manifests_free(ms, n);

    /* Without field ids: our reader cannot resolve it, the checker refuses it. */
    const char *noids = "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
                        "{\"name\":\"manifest_path\",\"type\":\"string\"}]}";
    assert_int_equal(nf_avro_writer_new(noids, NULL, 0, &w, &err), NF_OK);
    rec = nf_avro_writer_record(w);
    avro_value_get_by_index(rec, 0, &f, NULL);
    avro_value_set_string(&f, "x");
    assert_int_equal(nf_avro_writer_append(w, &err), NF_OK);
    char bad[512];
    tmp_path(bad, sizeof(bad), "noids.avro");
    assert_int_equal(nf_avro_writer_finish(w, bad, NULL, &err), NF_OK);
    nf_avro_writer_free(w);
    assert_int_equal(nf_ice_mlist_read(bad, &ms, &n, &err), NF_EPROTO);
    int rc = avro_check(bad);
    if (rc >= 0)
        assert_int_not_equal(rc, 0);
    rc = avro_check(path);
    if (rc >= 0)
        assert_int_equal(rc, 0);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int
main(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/iceberg_format_test.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    if (system("command -v node >/dev/null 2>&1") != 0)
        fprintf(stderr, "note: node not found, avro_check.js is skipped\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_numbers),
        cmocka_unit_test(test_bound_strings),
        cmocka_unit_test(test_datafile_copy),
        cmocka_unit_test(test_manifest_round_trip),
        cmocka_unit_test(test_mlist_round_trip),
        cmocka_unit_test(test_manifest_many),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_scan_partition_values),
        cmocka_unit_test(test_scan_refuses_deletes),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_foreign_names_and_checker),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (getenv("ICE_TEST_KEEP") == NULL)
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept %s\n", g_dir);
    return failed;
}
