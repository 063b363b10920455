/* icetool.c — a command line over nf_ice_catalog, for tests and operators.
 *
 *   icetool [-c CATALOG_URI] [-w WAREHOUSE] [-T TOKEN] COMMAND NS.TABLE [ARGS]
 *     create NS.TABLE                         the netflow table of lib/cold/table.h
 *     load NS.TABLE                           prints the metadata JSON
 *     snapshots NS.TABLE                      one line per snapshot (below)
 *     commit-raw NS.TABLE REQUIREMENTS UPDATES  JSON arrays of a CommitTableRequest
 *     drop NS.TABLE
 *
 * CATALOG_URI is "http[s]://host:port" (REST) or "file:///abs/warehouse" (filesystem).
 * Without -c, -w names a filesystem catalog's warehouse directory; with a REST -c, -w is the
 * location root of new tables. NS.TABLE splits at the last '.'.
 *
 * snapshots prints, tab-separated: snapshot id, parent id (-1 none), sequence number,
 * timestamp-ms, operation, the summary as compact JSON; the current snapshot's line ends
 * with "\tcurrent".
 *
 * Exit status: 0 ok, 3 conflict (NF_ECONFLICT), 4 not found (NF_ENOTFOUND), 2 usage,
 * 1 anything else; errors on stderr.
 */
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cold/table.h"
#include "iceberg/iceberg.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: icetool [-c CATALOG_URI] [-w WAREHOUSE] [-T TOKEN] COMMAND NS.TABLE\n"
               "  create NS.TABLE | load NS.TABLE | snapshots NS.TABLE | drop NS.TABLE\n"
               "  commit-raw NS.TABLE REQUIREMENTS_JSON UPDATES_JSON\n");
}

static int
exit_code(nf_status st)
{
    return st == NF_OK ? 0 : st == NF_ECONFLICT ? 3 : st == NF_ENOTFOUND ? 4 : 1;
}

static int
fail(const char *what, nf_status st, const nf_err *err)
{
    fprintf(stderr, "icetool: %s: %s: %s\n", what, nf_status_name(st), err->msg);
    return exit_code(st);
}

/* A warehouse given as a path becomes a file:// URI (absolute). */
static char *
warehouse_uri(const char *w)
{
    if (strstr(w, "://") != NULL)
        return strdup(w);
    return nf_ice_path_uri(w);
}

static int
print_snapshots(const nf_ice_table *t)
{
    char *text = nf_ice_table_json(t);
    json_t *root = text != NULL ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (root == NULL) {
        fprintf(stderr, "icetool: no memory\n");
        return 1;
    }
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(root, "snapshots"), i, s) {
        json_int_t id = json_integer_value(json_object_get(s, "snapshot-id"));
        const nf_ice_snapshot *snap = nf_ice_table_snapshot(t, (int64_t)id);
        char *summary = json_dumps(json_object_get(s, "summary"), JSON_COMPACT);
        if (snap == NULL || summary == NULL) {
            free(summary);
            json_decref(root);
            fprintf(stderr, "icetool: snapshot %" PRId64 " unreadable\n", (int64_t)id);
            return 1;
        }
        printf("%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s\t%s%s\n", snap->snapshot_id,
               snap->parent_id, snap->sequence_number, snap->timestamp_ms, snap->operation,
               summary, snap == cur ? "\tcurrent" : "");
        free(summary);
    }
    json_decref(root);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *uri = NULL, *warehouse = NULL, *token = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:w:T:h")) != -1) {
        switch (opt) {
        case 'c':
            uri = optarg;
            break;
        case 'w':
            warehouse = optarg;
            break;
        case 'T':
            token = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind < 2 || (uri == NULL && warehouse == NULL)) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    const char *ident = argv[optind + 1];
    const char *dot = strrchr(ident, '.');
    if (dot == NULL || dot == ident || dot[1] == '\0') {
        fprintf(stderr, "icetool: \"%s\" is not NS.TABLE\n", ident);
        return 2;
    }
    bool raw = strcmp(cmd, "commit-raw") == 0;
    if (argc - optind != (raw ? 4 : 2)) {
        usage(stderr);
        return 2;
    }
    char ns[256];
    if ((size_t)(dot - ident) >= sizeof(ns)) {
        fprintf(stderr, "icetool: namespace too long\n");
        return 2;
    }
    memcpy(ns, ident, (size_t)(dot - ident));
    ns[dot - ident] = '\0';
    const char *name = dot + 1;

    char *wh = warehouse != NULL ? warehouse_uri(warehouse) : NULL;
    if (warehouse != NULL && wh == NULL) {
        fprintf(stderr, "icetool: no memory\n");
        return 1;
    }
    nf_ice_catalog_config cfg = {.uri = uri != NULL ? uri : wh, .warehouse = wh, .token = token};
    nf_ice_catalog *c = NULL;
    nf_err err = {0};
    nf_status st = nf_ice_catalog_open(&cfg, &c, &err);
    if (st != NF_OK) {
        free(wh);
        return fail("open catalog", st, &err);
    }
    nf_ice_table *t = NULL;
    int rc = 0;
    if (strcmp(cmd, "create") == 0) {
        st = nf_ice_catalog_ensure_namespace(c, ns, &err);
        if (st == NF_OK)
            st = nf_ice_catalog_create(c, ns, name, NULL, nf_cold_schema_json, nf_cold_spec_json,
                                       nf_cold_sort_order_json, nf_cold_properties_json, &t, &err);
        rc = st == NF_OK ? 0 : fail("create", st, &err);
        if (st == NF_OK)
            printf("%s\n", nf_ice_table_location(t));
    } else if (strcmp(cmd, "load") == 0 || strcmp(cmd, "snapshots") == 0) {
        st = nf_ice_catalog_load(c, ns, name, &t, NULL, &err);
        if (st != NF_OK) {
            rc = fail("load", st, &err);
        } else if (cmd[0] == 'l') {
            char *json = nf_ice_table_json(t);
            if (json == NULL) {
                fprintf(stderr, "icetool: no memory\n");
                rc = 1;
            } else {
                printf("%s\n", json);
                free(json);
            }
        } else {
            rc = print_snapshots(t);
        }
    } else if (raw) {
        st = nf_ice_catalog_commit(c, ns, name, argv[optind + 2], argv[optind + 3], &t, &err);
        rc = st == NF_OK ? 0 : fail("commit", st, &err);
    } else if (strcmp(cmd, "drop") == 0) {
        st = nf_ice_catalog_drop(c, ns, name, &err);
        rc = st == NF_OK ? 0 : fail("drop", st, &err);
    } else {
        usage(stderr);
        rc = 2;
    }
    if (fflush(stdout) != 0 && rc == 0) {
        perror("icetool: stdout");
        rc = 1;
    }
    nf_ice_table_free(t);
    nf_ice_catalog_close(c);
    free(wh);
    return rc;
}
