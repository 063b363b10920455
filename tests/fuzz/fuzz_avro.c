/* fuzz_avro.c — libFuzzer target for the Iceberg Avro readers (lib/iceberg/avro.h): the bytes
 * of one file, fed to the manifest reader and to the manifest-list reader, as a scan reads
 * files that other writers may have produced.
 *
 * Checks, beyond memory safety and bounded allocation (run-fuzz.sh sets -rss_limit_mb):
 *   - a reader that succeeds returns entries with a path and sane values (no negative
 *     counts or sizes, bounds no longer than NF_ICE_BOUND_MAX, statuses 0..2);
 *   - what the manifest-list reader accepts re-writes with nf_ice_mlist_write and reads back
 *     equal (so a rewrite of a foreign list loses nothing we keep).
 *
 * Built twice from this file: the fuzzer, and with FUZZ_AVRO_SEEDS a seed writer
 * (`fuzz_avro_seeds OUT_DIR`) producing manifests and manifest lists with our writer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iceberg/avro.h"
#include "iceberg/iceberg.h"

#ifndef FUZZ_AVRO_SEEDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* Debian's libavro 1.11 leaks on some error paths of its schema parser (e.g. a named type
 * defined twice: the half-built record is never freed). That is libavro's, bounded per file
 * read, and not ours to fix; the stacks end inside libavro.so without frame pointers, so the
 * suppression names the library. Our own use of libavro (decref of schemas, classes, values
 * on every path) is leak-checked without suppressions by iceberg_format_test. */
const char *
__lsan_default_suppressions(void)
{
    return "leak:libavro.so\n";
}

static void
check_files(const nf_ice_datafile *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].path == NULL || f[i].record_count < 0 || f[i].file_size < 0 ||
            (int)f[i].status < 0 || (int)f[i].status > 2 || (f[i].ncols && !f[i].cols))
            abort();
        for (size_t c = 0; c < f[i].ncols; c++)
            if (f[i].cols[c].lower_len > NF_ICE_BOUND_MAX ||
                f[i].cols[c].upper_len > NF_ICE_BOUND_MAX)
                abort();
    }
}

static void
check_rewrite(const nf_ice_manifest *m, size_t n)
{
    char path[] = "/tmp/fuzz_avro.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    close(fd);
    nf_err err = {0};
    nf_ice_manifest *again = NULL;
    size_t n2 = 0;
    if (nf_ice_mlist_write(path, 1, -1, 1, m, n, &err) == NF_OK) {
        if (nf_ice_mlist_read(path, &again, &n2, &err) != NF_OK || n2 != n)
            abort();
        for (size_t i = 0; i < n; i++)
            if (strcmp(again[i].path, m[i].path) != 0 || again[i].length != m[i].length ||
                again[i].added_snapshot_id != m[i].added_snapshot_id ||
                again[i].has_summary != m[i].has_summary ||
                again[i].has_bounds != m[i].has_bounds ||
                (m[i].has_bounds && (again[i].lower != m[i].lower ||
                                     again[i].upper != m[i].upper)))
                abort();
        nf_ice_manifests_free(again, n2);
    }
    unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_err err = {0};
    nf_ice_manifest m;
    memset(&m, 0, sizeof(m));
    m.path = "fuzz.avro";
    m.added_snapshot_id = 7;
    m.sequence_number = 3;
    nf_ice_datafile *files = NULL;
    size_t n = 0;
    if (nf_ice_manifest_read_mem(&m, data, size, &files, &n, &err) == NF_OK) {
        check_files(files, n);
        nf_ice_datafiles_free(files, n);
    }
    nf_ice_manifest *ms = NULL;
    if (nf_ice_mlist_read_mem("fuzz.avro", data, size, &ms, &n, &err) == NF_OK) {
        for (size_t i = 0; i < n; i++)
            if (ms[i].path == NULL || ms[i].length < 0 || ms[i].added_files < 0)
                abort();
        /* Rewriting needs a disk round trip: only for small lists, to keep the rate up. */
        if (n <= 4)
            check_rewrite(ms, n);
        nf_ice_manifests_free(ms, n);
    }
    return 0;
}

#else /* FUZZ_AVRO_SEEDS */

static const char SCHEMA[] =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"timestamp\","
    "\"required\":false,\"type\":\"timestamptz\"}]}";

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const nf_ice_spec spec = {.spec_id = 0, .transform = NF_ICE_DAY, .source_id = 1,
                              .field_id = 1000, .name = "timestamp_day"};
    const nf_ice_spec none = {.spec_id = 1, .transform = NF_ICE_UNPARTITIONED};
    nf_ice_colstat cols[2] = {{.field_id = 1, .column_size = 10, .value_count = 5,
                               .null_count = 0},
                              {.field_id = 2, .column_size = -1, .value_count = 5,
                               .null_count = 1}};
    cols[0].lower_len = (uint8_t)nf_ice_bound_long(1000, cols[0].lower);
    cols[0].upper_len = (uint8_t)nf_ice_bound_long(2000, cols[0].upper);
    nf_ice_bound_string_lower(&cols[1], "10.0.0.1", 8);
    nf_ice_bound_string_upper(&cols[1], "10.0.0.9", 8);
    nf_ice_datafile files[3] = {
        {.path = "file:///d/a.parquet", .record_count = 5, .file_size = 100, .partition = 1,
         .cols = cols, .ncols = 2, .sort_order_id = 1, .status = NF_ICE_ADDED,
         .snapshot_id = -1, .data_seq = -1, .file_seq = -1},
        {.path = "file:///d/b.parquet", .record_count = 6, .file_size = 200,
         .partition_null = true, .sort_order_id = -1, .status = NF_ICE_EXISTING,
         .snapshot_id = 5, .data_seq = 1, .file_seq = 1},
        {.path = "file:///d/c.parquet", .record_count = 7, .file_size = 300, .partition = 2,
         .cols = cols, .ncols = 1, .sort_order_id = 1, .status = NF_ICE_DELETED,
         .snapshot_id = 5, .data_seq = 1, .file_seq = 2}};
    nf_err err = {0};
    nf_ice_manifest ms[2];
    char path[4096];
    nf_ice_manifest_ctx ctx = {SCHEMA, 0, &spec, NULL};
    snprintf(path, sizeof(path), "%s/manifest-day.avro", argv[1]);
    if (nf_ice_manifest_write(path, &ctx, 9, 2, files, 3, &ms[0], &err) != NF_OK)
        goto fail;
    ctx.spec = &none;
    snprintf(path, sizeof(path), "%s/manifest-none.avro", argv[1]);
    if (nf_ice_manifest_write(path, &ctx, 9, 2, files, 1, &ms[1], &err) != NF_OK)
        goto fail;
    snprintf(path, sizeof(path), "%s/snap-seed.avro", argv[1]);
    if (nf_ice_mlist_write(path, 9, 8, 2, ms, 2, &err) != NF_OK)
        goto fail;
    free(ms[0].path);
    free(ms[1].path);
    return 0;
fail:
    fprintf(stderr, "%s: %s\n", path, err.msg);
    return 1;
}

#endif
