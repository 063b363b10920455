/* chquery.c — prints the SQL lib/query builds for a request, or the plan behind it.
 *
 *   chquery [--db netflow] --start EPOCH --end EPOCH --group-by FIELD [--interval S]
 *           [--metric bytes|packets|flows] [--unscaled] [--limit N] [--filter F]...
 *           [--raw-only] [--explain]
 *
 * For tests and operators: the integration test of "rollups answer like the raw table"
 * runs it with and without --raw-only and sends both to ClickHouse (the SQL is printed
 * without a FORMAT clause, so it may append one). Every value goes through the same parsers
 * as the API's (nf_q_parse_*), so the errors are the API's too.
 *
 * Output: the SQL, or with --explain the plan ("raw[a,b) rollup_5m_iface[b,c) …"), and a
 * newline, on stdout. Exit status: 0, 2 for a bad argument or an invalid request (message
 * on stderr), 1 for anything else.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "query/query.h"

#define EXPLAIN_MAX 1024
#define DEFAULT_LIMIT 10

static void
usage(FILE *f)
{
    fprintf(f, "usage: chquery [--db NAME] --start EPOCH --end EPOCH --group-by FIELD\n"
               "               [--interval S] [--metric bytes|packets|flows] [--unscaled]\n"
               "               [--limit N] [--filter FIELD=VALUE]... [--raw-only] [--explain]\n"
               "FIELD: src_ip dst_ip src_port dst_port protocol exporter in_if out_if src_as\n"
               "       dst_as, or time (a time series of --interval seconds)\n");
}

typedef struct opts {
    const char *db;
    bool have_start, have_end, have_group, explain;
    nf_q_request req;
} opts;

/* Epoch seconds or a count: the library checks the ranges that matter, here only that the
 * text is a number DateTime and uint32_t can hold. */
static bool
number_arg(const char *name, const char *v, uint64_t *out)
{
    if (nf_parse_u64(v, 0, UINT32_MAX, out))
        return true;
    fprintf(stderr, "chquery: %s: \"%s\" is not a number in 0..%u\n", name, v, UINT32_MAX);
    return false;
}

/* Sets the option name (one that takes a value) from v. */
static bool
set_value(opts *o, const char *name, const char *v)
{
    nf_err err = {0};
    nf_status st = NF_OK;
    uint64_t n;
    if (strcmp(name, "--db") == 0) {
        o->db = v;
    } else if (strcmp(name, "--start") == 0) {
        if (!number_arg(name, v, &n))
            return false;
        o->req.start = (int64_t)n;
        o->have_start = true;
    } else if (strcmp(name, "--end") == 0) {
        if (!number_arg(name, v, &n))
            return false;
        o->req.end = (int64_t)n;
        o->have_end = true;
    } else if (strcmp(name, "--interval") == 0 || strcmp(name, "--limit") == 0) {
        if (!number_arg(name, v, &n))
            return false;
        *(strcmp(name, "--limit") == 0 ? &o->req.limit : &o->req.interval) = (uint32_t)n;
    } else if (strcmp(name, "--group-by") == 0) {
        st = nf_q_parse_field(v, name, &o->req.group_by, &err);
        o->have_group = st == NF_OK;
    } else if (strcmp(name, "--metric") == 0) {
        st = nf_q_parse_metric(v, name, &o->req.metric, &err);
    } else if (o->req.nfilters == NF_Q_MAX_FILTERS) { /* --filter */
        st = nf_err_set(&err, NF_EINVAL, "%s: at most %d", name, NF_Q_MAX_FILTERS);
    } else {
        st = nf_q_parse_filter(v, name, &o->req.filters[o->req.nfilters], &err);
        o->req.nfilters += st == NF_OK;
    }
    if (st != NF_OK)
        fprintf(stderr, "chquery: %s\n", err.msg);
    return st == NF_OK;
}

/* Reads argv[*i] (and its value, advancing *i). Returns false with a message on stderr. */
static bool
parse_opt(opts *o, int argc, char **argv, int *i)
{
    static const char *const with_value[] = {"--db",       "--start",  "--end",   "--group-by",
                                             "--interval", "--metric", "--limit", "--filter"};
    const char *name = argv[*i];
    bool *flag = strcmp(name, "--unscaled") == 0   ? &o->req.unscaled
                 : strcmp(name, "--raw-only") == 0 ? &o->req.raw_only
                 : strcmp(name, "--explain") == 0  ? &o->explain
                                                   : NULL;
    if (flag != NULL) {
        *flag = true;
        return true;
    }
    for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
        if (strcmp(name, with_value[k]) != 0)
            continue;
        if (*i + 1 >= argc) {
            fprintf(stderr, "chquery: %s needs a value\n", name);
            return false;
        }
        (*i)++;
        return set_value(o, name, argv[*i]);
    }
    fprintf(stderr, "chquery: unknown option %s\n", name);
    return false;
}

int
main(int argc, char **argv)
{
    opts o = {.db = "netflow", .req = {.metric = NF_Q_BYTES, .limit = DEFAULT_LIMIT}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!parse_opt(&o, argc, argv, &i)) {
            usage(stderr);
            return 2;
        }
    }
    if (!o.have_start || !o.have_end || !o.have_group) {
        fprintf(stderr, "chquery: --start, --end and --group-by are required\n");
        usage(stderr);
        return 2;
    }
    nf_err err = {0};
    nf_status st;
    if (o.explain) {
        char plan[EXPLAIN_MAX];
        st = nf_q_explain(&o.req, plan, sizeof(plan), &err);
        if (st == NF_OK)
            printf("%s\n", plan);
    } else {
        char *sql = NULL;
        st = nf_q_build(&o.req, o.db, &sql, &err);
        if (st == NF_OK)
            printf("%s\n", sql);
        free(sql);
    }
    if (st != NF_OK) {
        fprintf(stderr, "chquery: %s\n", err.msg);
        return st == NF_EINVAL ? 2 : 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
