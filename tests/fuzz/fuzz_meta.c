/* fuzz_meta.c — libFuzzer target for Iceberg table metadata (lib/iceberg/metadata.c): the JSON
 * a catalog answers or a metadata file holds, and the requirements and updates of a REST
 * commit, which the catalog server takes from its clients.
 *
 * The input is split at its first NUL byte: before it, a metadata document for
 * nf_ice_table_parse; after it, a commit "requirements\x01updates" applied to a fixed valid
 * table (the netflow table of lib/cold with one snapshot). Checks, beyond memory safety:
 *   - a parsed table serializes, and the text parses again to the same text;
 *   - a failed nf_ice_table_apply leaves the table's JSON unchanged (the contract the
 *     catalog's 409 relies on); a successful one leaves a table that serializes and parses.
 *
 * Built twice from this file: the fuzzer, and with FUZZ_META_SEEDS a seed writer
 * (`fuzz_meta_seeds OUT_DIR`).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cold/table.h"
#include "iceberg/iceberg.h"

static nf_ice_table *
base_table(void)
{
    nf_ice_table *t = NULL;
    if (nf_ice_table_new("file:///w/default/netflow", nf_cold_schema_json, nf_cold_spec_json,
                         nf_cold_sort_order_json, nf_cold_properties_json, &t, NULL) != NF_OK)
        abort();
    const char *kv[] = {"added-records", "10", NF_COLD_SUMMARY_STREAM, "NETFLOW",
                        NF_COLD_SUMMARY_SEQS, "1-5"};
    nf_ice_snapshot_new s = {.snapshot_id = 42, .parent_id = -1, .sequence_number = 1,
                             .timestamp_ms = 1700000000000, .manifest_list = "file:///w/l.avro",
                             .operation = "append", .summary = kv, .nsummary = 3};
    char *req = nf_ice_requirements_main(t), *upd = nf_ice_updates_add_snapshot(&s);
    if (req == NULL || upd == NULL || nf_ice_table_apply(t, req, upd, NULL, NULL) != NF_OK)
        abort();
    free(req);
    free(upd);
    return t;
}

#ifndef FUZZ_META_SEEDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const nf_ice_table *t)
{
    char *json = nf_ice_table_json(t);
    if (json == NULL)
        return; /* out of memory */
    nf_ice_table *again = NULL;
    if (nf_ice_table_parse(json, strlen(json), &again, NULL) != NF_OK)
        abort(); /* what we write, we read */
    char *json2 = nf_ice_table_json(again);
    if (json2 != NULL && strcmp(json, json2) != 0)
        abort();
    free(json2);
    nf_ice_table_free(again);
    free(json);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t meta_len = nul ? (size_t)(nul - data) : size;
    nf_ice_table *t = NULL;
    if (nf_ice_table_parse((const char *)data, meta_len, &t, NULL) == NF_OK) {
        round_trip(t);
        nf_ice_table_free(t);
    }
    if (nul == NULL)
        return 0;
    /* The commit: "requirements\x01updates", both NUL-terminated copies. */
    size_t rest = size - meta_len - 1;
    char *commit = malloc(rest + 1);
    if (commit == NULL)
        return 0;
    memcpy(commit, nul + 1, rest);
    commit[rest] = '\0';
    char *sep = strchr(commit, '\x01');
    const char *reqs = "[]", *upds = commit;
    if (sep != NULL) {
        *sep = '\0';
        reqs = commit;
        upds = sep + 1;
    }
    nf_ice_table *b = base_table();
    char *before = nf_ice_table_json(b);
    nf_status st = nf_ice_table_apply(b, reqs, upds, "file:///w/v1.metadata.json", NULL);
    if (st != NF_OK) {
        char *after = nf_ice_table_json(b);
        if (before != NULL && after != NULL && strcmp(before, after) != 0)
            abort(); /* a refused commit changed the table */
        free(after);
    } else {
        round_trip(b);
    }
    free(before);
    nf_ice_table_free(b);
    free(commit);
    return 0;
}

#else /* FUZZ_META_SEEDS */

static void
put(const char *dir, const char *name, const char *a, const char *b)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fwrite(a, 1, strlen(a), f);
    if (b != NULL) {
        fputc(0, f);
        fwrite(b, 1, strlen(b), f);
    }
    fclose(f);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_meta_seeds OUT_DIR\n");
        return 2;
    }
    nf_ice_table *t = base_table();
    char *json = nf_ice_table_json(t);
    char *req = nf_ice_requirements_main(t);
    const char *kv[] = {"added-records", "3"};
    nf_ice_snapshot_new s = {.snapshot_id = 43, .parent_id = 42, .sequence_number = 2,
                             .timestamp_ms = 1700000001000, .manifest_list = "file:///w/m.avro",
                             .operation = "append", .summary = kv, .nsummary = 1};
    char *upd = nf_ice_updates_add_snapshot(&s);
    int64_t ids[] = {42};
    char *rm = nf_ice_updates_remove_snapshots(ids, 1);
    size_t n = strlen(req) + strlen(upd) + 2;
    char *commit = malloc(n);
    snprintf(commit, n, "%s\x01%s", req, upd);
    put(argv[1], "metadata", json, NULL);
    put(argv[1], "commit", json, commit);
    put(argv[1], "remove", "{}", rm);
    put(argv[1], "props", "null",
        "[]\x01[{\"action\":\"set-properties\",\"updates\":{\"a\":\"b\"}},"
        "{\"action\":\"remove-properties\",\"removals\":[\"a\"]}]");
    put(argv[1], "stale", "",
        "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":7}]\x01[]");
    free(commit);
    free(rm);
    free(upd);
    free(req);
    free(json);
    nf_ice_table_free(t);
    return 0;
}

#endif
