/* clickhouse_test.c — lib/clickhouse against a real clickhouse-server started by the test
 * from etc/clickhouse/{config,users}.xml.in (rendered by scripts/clickhouse-config.sh) on
 * free loopback ports: config checks, exec/query/RowBinary insert round trips, exception mapping
 * (syntax, unknown table, bad data, wrong password, readonly user), unreachable and slow
 * servers, the answer size bound, the schema (idempotent, concurrent, refusing a newer
 * version, every table fed with equal sums, the address aliases, the order of the views),
 * retention, and reconnecting after a server restart.
 *
 * The server is started with PR_SET_PDEATHSIG and stopped by its PID; all its state lives in
 * one mkdtemp directory that is removed at the end (kept with CH_TEST_KEEP=1).
 * CLICKHOUSE_SERVER overrides the binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "clickhouse/clickhouse.h"

#define WRITER "netflow_writer"
#define READER "netflow_reader"
#define WRITER_PW "w-secret-1"
#define READER_PW "r-secret-2"
/* Objects of the schema: netflow, ingest, 13 rollups, ingest_log, schema_version, and the
 * 15 views (mv_netflow, 13 rollup views, zz_mv_ingest_log). */
#define SCHEMA_OBJECTS 32

/* ---- server ------------------------------------------------------------------------------- */

static char g_dir[256]; /* the test's temporary directory (the server's DIR) */
static pid_t g_pid;     /* clickhouse-server, 0 when stopped */
static int g_http;      /* its HTTP port */
static char g_url[64];  /* http://127.0.0.1:<g_http> */

static void
dump_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL)
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

/* Runs argv (argv[0] a path) and waits; returns its exit status or -1. */
static int
run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static nf_ch *
open_as(const char *user, const char *password, const char *db, uint64_t timeout_ms)
{
    nf_ch_config cfg = {.url = g_url,
                        .user = user,
                        .password = password,
                        .database = db,
                        .connect_timeout_ms = 2000,
                        .timeout_ms = timeout_ms};
    nf_ch *c = NULL;
    nf_err err = {0};
    nf_status st = nf_ch_open(&cfg, &c, &err);
    if (st != NF_OK)
        fail_msg("nf_ch_open %s: %s %s", g_url, nf_status_name(st), err.msg);
    return c;
}

static nf_ch *
writer(const char *db)
{
    return open_as(WRITER, WRITER_PW, db, 30000);
}

/* Renders the config (first start only) and starts the server; waits until it answers. */
static void
server_start(void)
{
    char conf[512], log[512];
    snprintf(conf, sizeof(conf), "%s/config.xml", g_dir);
    snprintf(log, sizeof(log), "%s/log/stdout.log", g_dir);
    if (access(conf, F_OK) != 0) {
        g_http = free_port();
        int tcp = free_port();
        while (tcp == g_http)
            tcp = free_port();
        char script[512], http_s[16], tcp_s[16];
        snprintf(script, sizeof(script), "%s/scripts/clickhouse-config.sh", NF_SOURCE_DIR);
        snprintf(http_s, sizeof(http_s), "%d", g_http);
        snprintf(tcp_s, sizeof(tcp_s), "%d", tcp);
        char *argv[] = {"/bin/bash", script, g_dir, http_s, tcp_s, WRITER_PW, READER_PW, NULL};
        assert_int_equal(run(argv), 0);
        snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d", g_http);
    }
    const char *env = getenv("CLICKHOUSE_SERVER");
    const char *bin = env != NULL && env[0] != '\0' ? env : "/usr/sbin/clickhouse-server";
    char arg[600];
    snprintf(arg, sizeof(arg), "--config-file=%s", conf);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(bin, bin, arg, (char *)NULL);
        _exit(127);
    }
    g_pid = pid;
    nf_ch *c = open_as(NULL, NULL, NULL, 2000);
    uint64_t deadline = nf_mono_ms() + 60000;
    for (;;) {
        char v[64];
        nf_err err = {0};
        if (nf_ch_server_version(c, v, sizeof(v), &err) == NF_OK)
            break;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid || nf_mono_ms() > deadline) {
            char elog[512];
            snprintf(elog, sizeof(elog), "%s/log/clickhouse-server.err.log", g_dir);
            fprintf(stderr, "clickhouse-server did not start (%s); logs:\n", err.msg);
            dump_tail(log);
            dump_tail(elog);
            g_pid = 0;
            nf_ch_close(c);
            fail_msg("clickhouse-server did not start");
        }
        msleep(50);
    }
    nf_ch_close(c);
}

/* Stops the server by its PID: SIGTERM, then SIGKILL after 30 s. */
static void
server_stop(void)
{
    if (g_pid <= 0)
        return;
    kill(g_pid, SIGTERM);
    uint64_t deadline = nf_mono_ms() + 30000;
    int status;
    while (waitpid(g_pid, &status, WNOHANG) == 0) {
        if (nf_mono_ms() > deadline) {
            kill(g_pid, SIGKILL);
            waitpid(g_pid, &status, 0);
            break;
        }
        msleep(50);
    }
    g_pid = 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* ---- SQL helpers ---------------------------------------------------------------------------- */

static void exec_ok(nf_ch *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *query_ok(nf_ch *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint64_t query_u64(nf_ch *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
exec_ok(nf_ch *c, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    nf_err err = {0};
    nf_status st = nf_ch_exec(c, sql, &err);
    if (st != NF_OK)
        fail_msg("exec %s: %s %s", sql, nf_status_name(st), err.msg);
}

/* The answer of a query (caller frees). */
static char *
query_ok(nf_ch *c, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    char *body = NULL;
    size_t len = 0;
    nf_err err = {0};
    nf_status st = nf_ch_query(c, sql, 0, &body, &len, &err);
    if (st != NF_OK)
        fail_msg("query %s: %s %s", sql, nf_status_name(st), err.msg);
    assert_int_equal(strlen(body), len);
    return body;
}

static uint64_t
query_u64(nf_ch *c, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    char *body = query_ok(c, "%s", sql);
    char *end = NULL;
    uint64_t v = strtoull(body, &end, 10);
    if (end == body || (*end != '\n' && *end != '\0'))
        fail_msg("query %s: answer '%s' is not a number", sql, body);
    free(body);
    return v;
}

static void
apply_ok(nf_ch *c, const char *db)
{
    nf_err err = {0};
    nf_status st = nf_ch_schema_apply(c, db, &err);
    if (st != NF_OK)
        fail_msg("schema apply %s: %s %s", db, nf_status_name(st), err.msg);
}

/* ---- RowBinary by hand ---------------------------------------------------------------------- */

typedef struct rb {
    uint8_t buf[1 << 16];
    size_t len;
} rb;

static void
rb_bytes(rb *b, const void *p, size_t n)
{
    assert_true(b->len + n <= sizeof(b->buf));
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

/* Little-endian integer of width n bytes. */
static void
rb_uint(rb *b, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        rb_bytes(b, &byte, 1);
    }
}

static void
rb_string(rb *b, const char *s)
{
    size_t n = strlen(s);
    size_t v = n;
    do { /* LEB128 length */
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            byte |= 0x80;
        rb_bytes(b, &byte, 1);
    } while (v != 0);
    rb_bytes(b, s, n);
}

/* One row of `ingest`, the fields the tests vary. */
typedef struct flow {
    uint32_t ts;
    uint8_t src[16], dst[16], exporter[16], next_hop[16];
    uint16_t src_port, dst_port;
    uint8_t protocol;
    uint64_t bytes, packets;
    uint32_t rate, in_if, out_if, src_as, dst_as;
    const char *msg_id;
} flow;

static void
addr4(uint8_t out[16], const char *dotted)
{
    memset(out, 0, 16);
    out[10] = 0xff;
    out[11] = 0xff;
    assert_int_equal(inet_pton(AF_INET, dotted, out + 12), 1);
}

static void
addr6(uint8_t out[16], const char *text)
{
    assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

/* Encodes f in the column order of NF_CH_INGEST_COLUMNS. */
static void
rb_flow(rb *b, const flow *f)
{
    rb_uint(b, f->ts, 4);
    rb_bytes(b, f->src, 16);
    rb_bytes(b, f->dst, 16);
    rb_uint(b, f->src_port, 2);
    rb_uint(b, f->dst_port, 2);
    rb_uint(b, f->protocol, 1);
    rb_uint(b, f->bytes, 8);
    rb_uint(b, f->packets, 8);
    rb_uint(b, 0x12, 1); /* tcp_flags */
    rb_uint(b, 0, 1);    /* tos */
    rb_bytes(b, f->exporter, 16);
    rb_uint(b, 7, 4); /* observation_domain */
    rb_uint(b, f->rate, 4);
    rb_uint(b, f->in_if, 4);
    rb_uint(b, f->out_if, 4);
    rb_uint(b, f->src_as, 4);
    rb_uint(b, f->dst_as, 4);
    rb_uint(b, 24, 1); /* src_mask */
    rb_uint(b, 16, 1); /* dst_mask */
    rb_bytes(b, f->next_hop, 16);
    rb_uint(b, f->ts - 10, 4); /* flow_start */
    rb_uint(b, f->ts - 1, 4);  /* flow_end */
    rb_uint(b, 9, 1);          /* flow_type */
    rb_string(b, "edge-1");
    rb_string(b, f->msg_id);
}

static void
insert_flows(nf_ch *c, const char *db, const flow *f, size_t n)
{
    static rb b; /* 64 KiB: not on the stack */
    b.len = 0;
    for (size_t i = 0; i < n; i++)
        rb_flow(&b, &f[i]);
    char into[1024];
    snprintf(into, sizeof(into), "%s.ingest %s", db, NF_CH_INGEST_COLUMNS);
    nf_err err = {0};
    nf_status st = nf_ch_insert_rowbinary(c, into, b.buf, b.len, &err);
    if (st != NF_OK)
        fail_msg("insert into %s: %s %s", into, nf_status_name(st), err.msg);
}

/* A deterministic flow for index i at time base. */
static flow
make_flow(size_t i, uint32_t base, const char *msg_id)
{
    flow f = {0};
    f.ts = base + (uint32_t)(i * 97 % 7200); /* two hours, many 5-minute buckets */
    if (i % 3 == 0) {
        addr6(f.src, "2001:db8::1");
        addr6(f.dst, "2001:db8::2");
    } else {
        addr4(f.src, i % 2 == 0 ? "10.1.2.3" : "10.1.2.4");
        addr4(f.dst, "192.168.7.9");
    }
    addr4(f.exporter, i % 4 < 2 ? "192.0.2.1" : "192.0.2.2");
    addr4(f.next_hop, "10.0.0.254");
    f.src_port = (uint16_t)(40000 + i);
    f.dst_port = i % 5 == 0 ? 53 : 443;
    f.protocol = i % 5 == 0 ? 17 : 6;
    f.bytes = 1000 + i * 13;
    f.packets = 1 + i % 9;
    f.rate = i % 7 == 0 ? 100 : 1;
    f.in_if = 1 + (uint32_t)(i % 2);
    f.out_if = 10;
    f.src_as = 64500 + (uint32_t)(i % 3);
    f.dst_as = 64510;
    f.msg_id = msg_id;
    return f;
}

/* ---- client tests ---------------------------------------------------------------------------- */

static void
test_open_rejects_bad_config(void **state)
{
    (void)state;
    nf_ch *c = NULL;
    nf_err err = {0};
    assert_int_equal(nf_ch_open(NULL, &c, &err), NF_EINVAL);
    nf_ch_config cfg = {.url = NULL};
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_EINVAL);
    cfg.url = "";
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_EINVAL);
    cfg.url = "ftp://127.0.0.1:21";
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "http://"));
    cfg.url = "http://127.0.0.1:8123/?user=x";
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_EINVAL);
    cfg.url = "http://127.0.0.1:8123";
    cfg.user = "bob\r\nX-Evil: 1";
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "user"));
    cfg.user = "bob";
    cfg.password = "pw\n";
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_EINVAL);
    assert_null(c); /* out is written only on success */
    nf_ch_close(NULL);
}

static void
test_server_version(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    char v[64];
    nf_err err = {0};
    assert_int_equal(nf_ch_server_version(c, v, sizeof(v), &err), NF_OK);
    assert_true(v[0] >= '1' && v[0] <= '9');
    assert_null(strchr(v, '\n'));
    print_message("  server version %s\n", v);
    char tiny[3];
    assert_int_equal(nf_ch_server_version(c, tiny, sizeof(tiny), &err), NF_OK);
    assert_int_equal(strlen(tiny), 2); /* truncated, still terminated */
    nf_ch_close(c);
}

static void
test_exec_query_insert_round_trip(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    exec_ok(c, "CREATE DATABASE IF NOT EXISTS t_rt");
    exec_ok(c, "CREATE TABLE t_rt.rt (a UInt8, b UInt32, c UInt64, s String, f FixedString(4), "
               "d DateTime) ENGINE = MergeTree() ORDER BY a");
    static rb b;
    b.len = 0;
    char long_s[301];
    memset(long_s, 'x', 300);
    long_s[300] = '\0';
    const char *strs[3] = {"", "tab\there", long_s}; /* 300 bytes: a two-byte length */
    for (unsigned i = 0; i < 3; i++) {
        rb_uint(&b, i + 1, 1);
        rb_uint(&b, 0xdeadbeefu - i, 4);
        rb_uint(&b, UINT64_MAX - i, 8);
        rb_string(&b, strs[i]);
        rb_bytes(&b, "ab\0d", 4);
        rb_uint(&b, 1700000000u + i * 3600u, 4);
    }
    nf_err err = {0};
    assert_int_equal(nf_ch_insert_rowbinary(c, "t_rt.rt", b.buf, b.len, &err), NF_OK);
    assert_int_equal(nf_ch_last_code(c), 0);

    char *body = query_ok(c, "SELECT a, b, c, length(s), hex(f), d FROM t_rt.rt ORDER BY a");
    assert_string_equal(
        body, "1\t3735928559\t18446744073709551615\t0\t61620064\t2023-11-14 22:13:20\n"
              "2\t3735928558\t18446744073709551614\t8\t61620064\t2023-11-14 23:13:20\n"
              "3\t3735928557\t18446744073709551613\t300\t61620064\t2023-11-15 00:13:20\n");
    free(body);
    body = query_ok(c, "SELECT s FROM t_rt.rt WHERE a = 2");
    assert_string_equal(body, "tab\\there\n"); /* TabSeparated escapes the tab */
    free(body);

    /* A column list in `into`, the rest defaults; a default database from the config. */
    b.len = 0;
    rb_uint(&b, 9, 1);
    rb_string(&b, "only-s");
    assert_int_equal(nf_ch_insert_rowbinary(c, "t_rt.rt (a, s)", b.buf, b.len, &err), NF_OK);
    nf_ch *d = writer("t_rt");
    assert_int_equal(query_u64(d, "SELECT count() FROM rt"), 4);
    assert_int_equal(query_u64(d, "SELECT b FROM rt WHERE s = 'only-s'"), 0);
    /* An empty answer is an empty string, not NULL. */
    body = query_ok(d, "SELECT a FROM rt WHERE a = 200");
    assert_string_equal(body, "");
    free(body);
    /* FORMAT is the caller's. */
    body = query_ok(d, "SELECT a, s FROM rt WHERE a = 9 FORMAT JSONEachRow");
    assert_string_equal(body, "{\"a\":9,\"s\":\"only-s\"}\n");
    free(body);
    nf_ch_close(d);

    /* Truncated RowBinary: refused by the server as bad data, not retryable. */
    b.len = 0;
    rb_uint(&b, 5, 1);
    rb_uint(&b, 7, 2); /* half of b */
    assert_int_equal(nf_ch_insert_rowbinary(c, "t_rt.rt", b.buf, b.len, &err), NF_EUPSTREAM);
    assert_int_not_equal(nf_ch_last_code(c), 0);
    assert_false(nf_ch_retryable(nf_ch_last_code(c)));
    print_message("  truncated RowBinary: %s\n", err.msg);
    assert_int_equal(query_u64(c, "SELECT count() FROM t_rt.rt"), 4); /* nothing half-done */
    nf_ch_close(c);
}

static void
test_exceptions(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    nf_err err = {0};
    assert_int_equal(nf_ch_exec(c, "SELEC 1", &err), NF_EUPSTREAM);
    assert_int_equal(nf_ch_last_code(c), 62);
    assert_non_null(strstr(err.msg, "ClickHouse code 62: "));
    assert_non_null(strstr(err.msg, "Syntax error"));
    assert_null(strstr(err.msg, "e.what()"));
    assert_null(strstr(err.msg, "\n"));
    print_message("  %s\n", err.msg);

    char *body = (char *)"untouched";
    size_t len = 99;
    assert_int_equal(nf_ch_query(c, "SELECT * FROM default.no_such_table", 0, &body, &len, &err),
                     NF_EUPSTREAM);
    assert_int_equal(nf_ch_last_code(c), 60);
    assert_string_equal(body, "untouched");
    assert_int_equal(len, 99);
    assert_non_null(strstr(err.msg, "ClickHouse code 60: "));
    assert_non_null(strstr(err.msg, "no_such_table"));

    /* The code belongs to the last answer only. */
    exec_ok(c, "SELECT 1");
    assert_int_equal(nf_ch_last_code(c), 0);

    /* Inserting into a table that does not exist. */
    uint8_t one = 1;
    assert_int_equal(nf_ch_insert_rowbinary(c, "default.no_such_table", &one, 1, &err),
                     NF_EUPSTREAM);
    assert_int_equal(nf_ch_last_code(c), 60);

    /* A mid-query exception after megabytes of output (more than the server's send
     * buffer): with wait_end_of_query it cannot hide behind a 200 at the end of the data. */
    assert_int_equal(nf_ch_query(c,
                                 "SELECT throwIf(number = 3000000) FROM system.numbers "
                                 "LIMIT 4000000",
                                 0, &body, &len, &err),
                     NF_EUPSTREAM);
    assert_int_equal(nf_ch_last_code(c), 395);
    nf_ch_close(c);
}

static void
test_retryable_codes(void **state)
{
    (void)state;
    int yes[] = {159, 202, 209, 210, 241, 242, 252, 319, 425, 999};
    int no[] = {0, 3, 33, 47, 53, 60, 62, 81, 164, 192, 193, 194, 395, 516};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!nf_ch_retryable(yes[i]))
            fail_msg("code %d should be retryable", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (nf_ch_retryable(no[i]))
            fail_msg("code %d should not be retryable", no[i]);
}

static void
test_unreachable_and_slow(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
    nf_ch_config cfg = {.url = url, .connect_timeout_ms = 1000, .timeout_ms = 2000};
    nf_ch *c = NULL;
    nf_err err = {0};
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_OK);
    assert_int_equal(nf_ch_exec(c, "SELECT 1", &err), NF_EAGAIN);
    assert_int_equal(nf_ch_last_code(c), 0);
    assert_non_null(strstr(err.msg, url));
    print_message("  %s\n", err.msg);
    nf_ch_close(c);

    /* The whole-request timeout. */
    nf_ch *slow = open_as(WRITER, WRITER_PW, NULL, 300);
    uint64_t t0 = nf_mono_ms();
    assert_int_equal(nf_ch_exec(slow, "SELECT sleep(2)", &err), NF_EAGAIN);
    assert_true(nf_mono_ms() - t0 < 1900);
    print_message("  %s\n", err.msg);
    nf_ch_close(slow);
}

static void
test_wrong_password_and_readonly(void **state)
{
    (void)state;
    nf_err err = {0};
    nf_ch *bad = open_as(WRITER, "not-the-password", NULL, 5000);
    assert_int_equal(nf_ch_exec(bad, "SELECT 1", &err), NF_EUPSTREAM);
    int code = nf_ch_last_code(bad);
    assert_true(code == 193 || code == 516); /* WRONG_PASSWORD, AUTHENTICATION_FAILED */
    assert_null(strstr(err.msg, "not-the-password"));
    print_message("  %s\n", err.msg);
    nf_ch_close(bad);

    nf_ch *nobody = open_as("nobody", "x", NULL, 5000);
    assert_int_equal(nf_ch_exec(nobody, "SELECT 1", &err), NF_EUPSTREAM);
    nf_ch_close(nobody);

    /* `default` has no password but may not change anything. */
    nf_ch *def = open_as(NULL, NULL, NULL, 5000);
    assert_int_equal(query_u64(def, "SELECT 41 + 1"), 42);
    assert_int_equal(nf_ch_exec(def, "CREATE DATABASE def_may_not", &err), NF_EUPSTREAM);
    assert_int_equal(nf_ch_last_code(def), 164); /* READONLY */
    nf_ch_close(def);
}

static void
test_answer_bound(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    nf_err err = {0};
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(
        nf_ch_query(c, "SELECT number FROM system.numbers LIMIT 100000", 1000, &body, &len, &err),
        NF_EUPSTREAM);
    assert_null(body);
    assert_non_null(strstr(err.msg, "larger than 1000 bytes"));
    /* Exactly at the bound is fine, one byte more is not. */
    assert_int_equal(nf_ch_query(c, "SELECT 'abc'", 4, &body, &len, &err), NF_OK);
    assert_string_equal(body, "abc\n");
    assert_int_equal(len, 4);
    free(body);
    body = NULL;
    assert_int_equal(nf_ch_query(c, "SELECT 'abcd'", 4, &body, &len, &err), NF_EUPSTREAM);
    assert_null(body);
    /* The handle is still good after an aborted transfer, and over many requests. */
    for (int i = 0; i < 200; i++)
        assert_int_equal(query_u64(c, "SELECT %d", i), (uint64_t)i);
    nf_ch_close(c);
}

/* ---- a fake server: answers current versions' shapes and shows what we send ---------------- */

typedef struct fake {
    int listen_fd;
    int port;
    const char *response; /* the whole HTTP answer, sent once */
    char request[8192];   /* what the client sent (headers and body), NUL-terminated */
    size_t request_len;
    pthread_t thread;
} fake;

/* Reads one request (headers, then Content-Length bytes of body), answers, closes. */
static void *
fake_serve(void *arg)
{
    fake *f = arg;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t want = 0;
    bool have_headers = false;
    while (f->request_len < sizeof(f->request) - 1) {
        ssize_t n = read(fd, f->request + f->request_len, sizeof(f->request) - 1 - f->request_len);
        if (n <= 0)
            break;
        f->request_len += (size_t)n;
        f->request[f->request_len] = '\0';
        char *end = strstr(f->request, "\r\n\r\n");
        if (!have_headers && end != NULL) {
            have_headers = true;
            char *cl = strcasestr(f->request, "Content-Length: ");
            want = (size_t)(end + 4 - f->request) + (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0);
        }
        if (have_headers && f->request_len >= want)
            break;
    }
    ssize_t w = write(fd, f->response, strlen(f->response));
    (void)w;
    close(fd);
    return NULL;
}

static void
fake_start(fake *f, const char *response)
{
    memset(f, 0, sizeof(*f));
    f->response = response;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&sa, &len), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(listen(f->listen_fd, 4), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void
fake_stop(fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}

static nf_ch *
fake_client(const fake *f, const char *db)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f->port);
    nf_ch_config cfg = {
        .url = url, .user = "u1", .password = "k-secret", .database = db, .timeout_ms = 5000};
    nf_ch *c = NULL;
    nf_err err = {0};
    assert_int_equal(nf_ch_open(&cfg, &c, &err), NF_OK);
    return c;
}

/* One request against a fake answer: the status, the code and the message. */
static nf_status
fake_exec(const char *response, int *code, nf_err *err)
{
    fake f;
    fake_start(&f, response);
    nf_ch *c = fake_client(&f, NULL);
    nf_status st = nf_ch_exec(c, "SELECT 1", err);
    *code = nf_ch_last_code(c);
    nf_ch_close(c);
    fake_stop(&f);
    return st;
}

static void
test_answers_of_current_versions(void **state)
{
    (void)state;
    nf_err err = {0};
    int code = -1;
    /* Current ClickHouse: the code in a header and "Code: N. DB::Exception: … (NAME)
     * (version …)" in the body; 241 may pass. */
    assert_int_equal(fake_exec("HTTP/1.1 500 Internal Server Error\r\n"
                               "X-ClickHouse-Exception-Code: 241\r\nContent-Length: 142\r\n"
                               "Connection: close\r\n\r\n"
                               "Code: 241. DB::Exception: Memory limit (for query) exceeded: "
                               "would use 9.31 GiB. (MEMORY_LIMIT_EXCEEDED) (version 24.8.4.13 "
                               "(official build))\n",
                               &code, &err),
                     NF_EAGAIN);
    assert_int_equal(code, 241);
    assert_string_equal(err.msg, "ClickHouse code 241: Memory limit (for query) exceeded: would "
                                 "use 9.31 GiB. (MEMORY_LIMIT_EXCEEDED)");
    /* The header alone is enough (an exception written in the output format). */
    assert_int_equal(fake_exec("HTTP/1.1 404 Not Found\r\nX-ClickHouse-Exception-Code: 60\r\n"
                               "Content-Length: 18\r\nConnection: close\r\n\r\n"
                               "{\"exception\": \"x\"}",
                               &code, &err),
                     NF_EUPSTREAM);
    assert_int_equal(code, 60);
    /* An answer without an exception: 5xx is a server (or proxy) in trouble, try later… */
    assert_int_equal(fake_exec("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n"
                               "Connection: close\r\n\r\nbusy",
                               &code, &err),
                     NF_EAGAIN);
    assert_int_equal(code, 0);
    assert_non_null(strstr(err.msg, "HTTP 503"));
    /* … anything else is a refusal. */
    assert_int_equal(fake_exec("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
                               "Connection: close\r\n\r\nno such\r\n",
                               &code, &err),
                     NF_EUPSTREAM);
    assert_int_equal(code, 0);
    /* A peer that hangs up without answering. */
    assert_int_equal(fake_exec("", &code, &err), NF_EAGAIN);
}

static void
test_request_shape(void **state)
{
    (void)state;
    nf_err err = {0};
    fake f;
    fake_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n42\n");
    nf_ch *c = fake_client(&f, "my db");
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(nf_ch_query(c, "SELECT 42", 0, &body, &len, &err), NF_OK);
    assert_string_equal(body, "42\n");
    free(body);
    nf_ch_close(c);
    fake_stop(&f);
    assert_non_null(strstr(f.request, "POST /?database=my%20db&wait_end_of_query=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\nX-ClickHouse-User: u1\r\n"));
    assert_non_null(strstr(f.request, "\r\nX-ClickHouse-Key: k-secret\r\n"));
    assert_null(strstr(f.request, "Expect:"));
    assert_non_null(strstr(f.request, "\r\n\r\nSELECT 42"));
    /* The key is in its header only. */
    assert_ptr_equal(strstr(f.request, "k-secret"), strstr(f.request, "X-ClickHouse-Key: ") + 18);

    fake_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    c = fake_client(&f, NULL);
    const uint8_t rows[5] = {1, 0, 0xff, '\r', '\n'};
    assert_int_equal(nf_ch_insert_rowbinary(c, "db.t (a, b)", rows, sizeof(rows), &err), NF_OK);
    nf_ch_close(c);
    fake_stop(&f);
    assert_non_null(strstr(f.request, "POST /?query=INSERT%20INTO%20db.t%20%28a%2C%20b%29%20"
                                      "FORMAT%20RowBinary HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\nContent-Length: 5\r\n"));
    assert_non_null(strstr(f.request, "\r\nContent-Type: application/octet-stream\r\n"));
    assert_memory_equal(f.request + f.request_len - 5, rows, 5);
}

/* ---- schema tests -----------------------------------------------------------------------------
 */

static void
test_schema_apply_idempotent(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    apply_ok(c, "nf_idem");
    apply_ok(c, "nf_idem");
    assert_int_equal(query_u64(c, "SELECT count() FROM system.tables WHERE database = 'nf_idem'"),
                     SCHEMA_OBJECTS);
    assert_int_equal(query_u64(c, "SELECT max(version) FROM nf_idem.schema_version"),
                     NF_CH_SCHEMA_VERSION);
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_idem.schema_version"), 1);

    /* NF_CH_INGEST_COLUMNS is exactly ingest's columns, in order. */
    char *names = query_ok(c, "SELECT name FROM system.columns WHERE database = 'nf_idem' AND "
                              "table = 'ingest'");
    char list[1024] = "(";
    for (char *p = strtok(names, "\n"); p != NULL; p = strtok(NULL, "\n")) {
        if (list[1] != '\0')
            strcat(list, ", ");
        strcat(list, p);
    }
    strcat(list, ")");
    assert_string_equal(list, NF_CH_INGEST_COLUMNS);
    free(names);
    /* The text columns of netflow are ALIAS columns (computed, not stored). */
    assert_int_equal(query_u64(c, "SELECT count() FROM system.columns WHERE database = 'nf_idem' "
                                  "AND table = 'netflow' AND default_kind = 'ALIAS'"),
                     4 + 2); /* and flow_start, flow_end (STORED_AS) */
    assert_int_equal(query_u64(c, "SELECT count() FROM system.columns WHERE database = 'nf_idem' "
                                  "AND table = 'netflow'"),
                     24 + 2 + 4);

    /* A repaired schema: a dropped view comes back. */
    exec_ok(c, "DROP TABLE nf_idem.mv_rollup_1h_as");
    apply_ok(c, "nf_idem");
    assert_int_equal(query_u64(c, "SELECT count() FROM system.tables WHERE database = 'nf_idem'"),
                     SCHEMA_OBJECTS);

    const char *bad[] = {"", "1abc", "a-b", "x;DROP TABLE y", "a.b", "schéma"};
    nf_err err = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nf_ch_schema_apply(c, bad[i], &err), NF_EINVAL);
    assert_int_equal(nf_ch_schema_apply(c, NULL, &err), NF_EINVAL);
    nf_ch_close(c);
}

typedef struct apply_job {
    const char *db;
    pthread_barrier_t *go;
    nf_status st;
    nf_err err;
} apply_job;

static void *
apply_thread(void *arg)
{
    apply_job *j = arg;
    nf_ch_config cfg = {.url = g_url, .user = WRITER, .password = WRITER_PW};
    nf_ch *c = NULL;
    j->st = nf_ch_open(&cfg, &c, &j->err);
    pthread_barrier_wait(j->go);
    if (j->st == NF_OK)
        j->st = nf_ch_schema_apply(c, j->db, &j->err);
    nf_ch_close(c);
    return NULL;
}

static void
test_schema_apply_concurrent(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    for (int round = 0; round < 4; round++) {
        char db[32];
        snprintf(db, sizeof(db), "nf_conc%d", round);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 3);
        apply_job jobs[3];
        pthread_t th[3];
        for (int i = 0; i < 3; i++) {
            jobs[i] = (apply_job){.db = db, .go = &go};
            assert_int_equal(pthread_create(&th[i], NULL, apply_thread, &jobs[i]), 0);
        }
        for (int i = 0; i < 3; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < 3; i++)
            if (jobs[i].st != NF_OK)
                fail_msg("concurrent apply %s #%d: %s %s", db, i, nf_status_name(jobs[i].st),
                         jobs[i].err.msg);
        assert_int_equal(
            query_u64(c, "SELECT count() FROM system.tables WHERE database = '%s'", db),
            SCHEMA_OBJECTS);
        assert_int_equal(query_u64(c, "SELECT max(version) FROM %s.schema_version", db), 1);
    }
    nf_ch_close(c);
}

static void
test_schema_refuses_newer_version(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    apply_ok(c, "nf_newer");
    exec_ok(c, "INSERT INTO nf_newer.schema_version (version, applied) SELECT %d, now()",
            NF_CH_SCHEMA_VERSION + 1);
    nf_err err = {0};
    assert_int_equal(nf_ch_schema_apply(c, "nf_newer", &err), NF_EUPSTREAM);
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, "nf_newer"));
    print_message("  %s\n", err.msg);
    nf_ch_close(c);
}

typedef struct sums {
    uint64_t rows, bytes, packets, bytes_scaled, packets_scaled, flows_scaled;
} sums;

static sums
sums_of(const flow *f, size_t n)
{
    sums s = {0};
    for (size_t i = 0; i < n; i++) {
        s.rows++;
        s.bytes += f[i].bytes;
        s.packets += f[i].packets;
        s.bytes_scaled += f[i].bytes * f[i].rate;
        s.packets_scaled += f[i].packets * f[i].rate;
        s.flows_scaled += f[i].rate;
    }
    return s;
}

/* Distinct (hour, exporter, in_if, out_if, protocol, rate) groups: the rows one insert adds
 * to rollup_1h_iface. */
static uint64_t
groups_1h_iface(const flow *f, size_t n)
{
    uint64_t groups = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = f[j].ts / 3600 == f[i].ts / 3600 &&
                   memcmp(f[j].exporter, f[i].exporter, 16) == 0 && f[j].in_if == f[i].in_if &&
                   f[j].out_if == f[i].out_if && f[j].protocol == f[i].protocol &&
                   f[j].rate == f[i].rate;
        groups += !seen;
    }
    return groups;
}

/* The config template asks for ZSTD on every part: the first compressed block of a column
 * file says which method wrote it (byte 16, after the checksum: 0x90 ZSTD, 0x82 LZ4). Only
 * where the data directory has 18.16's layout (data/<db>/<table>/<part>/<col>.bin). */
static void
assert_zstd_parts(const char *db_table)
{
    char pattern[512];
    snprintf(pattern, sizeof(pattern), "%s/data/data/%s/*/*.bin", g_dir, db_table);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) {
        print_message("  no %s: other data layout, compression not checked\n", pattern);
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "rb");
        assert_non_null(f);
        uint8_t head[17];
        size_t n = fread(head, 1, sizeof(head), f);
        fclose(f);
        if (n == sizeof(head) && head[16] != 0x90)
            fail_msg("%s: compression method 0x%02x, not ZSTD", g.gl_pathv[i], head[16]);
    }
    globfree(&g);
}

static const char *const ROLLUP_TABLES[] = {
    "rollup_5m_iface",    "rollup_1h_iface",    "rollup_5m_src_addr", "rollup_1h_src_addr",
    "rollup_5m_dst_addr", "rollup_1h_dst_addr", "rollup_5m_dst_port", "rollup_1h_dst_port",
    "rollup_5m_as",       "rollup_1h_as",       "rollup_1h_exporter_dst_port",
    "rollup_1h_exporter_src_addr", "rollup_1h_exporter_dst_addr",
};

static void
test_full_schema(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    apply_ok(c, "nf_full");
    enum { N = 240, NA = 150 };
    static flow f[N];
    uint32_t base = (uint32_t)(time(NULL) / 3600 * 3600) - 3 * 3600;
    for (size_t i = 0; i < N; i++)
        f[i] = make_flow(i, base, i < NA ? "msg-a" : "msg-b");
    insert_flows(c, "nf_full", f, N); /* one insert, one block */
    sums want = sums_of(f, N);

    char expect[256];
    snprintf(expect, sizeof(expect), "%llu\t%llu\t%llu\t%llu\t%llu\n",
             (unsigned long long)want.rows, (unsigned long long)want.bytes,
             (unsigned long long)want.packets, (unsigned long long)want.bytes_scaled,
             (unsigned long long)want.flows_scaled);
    char *got = query_ok(c, "SELECT count(), sum(bytes), sum(packets), "
                            "sum(bytes * sampling_rate), sum(sampling_rate) FROM nf_full.netflow");
    assert_string_equal(got, expect);
    free(got);

    snprintf(expect, sizeof(expect), "%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n",
             (unsigned long long)want.bytes, (unsigned long long)want.packets,
             (unsigned long long)want.rows, (unsigned long long)want.bytes_scaled,
             (unsigned long long)want.packets_scaled, (unsigned long long)want.flows_scaled);
    for (size_t r = 0; r < sizeof(ROLLUP_TABLES) / sizeof(ROLLUP_TABLES[0]); r++) {
        got = query_ok(c,
                       "SELECT sum(bytes), sum(packets), sum(flows), sum(bytes_scaled), "
                       "sum(packets_scaled), sum(flows_scaled) FROM nf_full.%s",
                       ROLLUP_TABLES[r]);
        if (strcmp(got, expect) != 0)
            fail_msg("%s: sums %s, expected %s", ROLLUP_TABLES[r], got, expect);
        free(got);
    }
    /* A rollup keyed right: DNS bytes per hour bucket equal the raw table's. */
    got = query_ok(c, "SELECT ts, sum(bytes), sum(flows) FROM nf_full.rollup_1h_dst_port "
                      "WHERE dst_port = 53 AND protocol = 17 GROUP BY ts ORDER BY ts");
    char *raw = query_ok(c, "SELECT toStartOfHour(timestamp) AS ts, sum(bytes), count() FROM "
                            "nf_full.netflow WHERE dst_port = 53 AND protocol = 17 GROUP BY ts "
                            "ORDER BY ts");
    assert_string_equal(got, raw);
    free(got);
    free(raw);
    got = query_ok(c, "SELECT ts, sum(bytes_scaled) FROM nf_full.rollup_5m_src_addr WHERE "
                      "src_addr = toFixedString(IPv6StringToNum('2001:db8::1'), 16) GROUP BY ts "
                      "ORDER BY ts");
    raw = query_ok(c, "SELECT toStartOfFiveMinute(timestamp) AS ts, sum(bytes * sampling_rate) "
                      "FROM nf_full.netflow WHERE src_ip = '2001:db8::1' GROUP BY ts ORDER BY ts");
    assert_string_equal(got, raw);
    free(got);
    free(raw);
    /* One exporter's sources, hourly. */
    got = query_ok(c, "SELECT hex(exporter), ts, sum(bytes) FROM "
                      "nf_full.rollup_1h_exporter_src_addr WHERE src_addr = "
                      "toFixedString(IPv6StringToNum('::ffff:10.1.2.3'), 16) GROUP BY exporter, "
                      "ts ORDER BY exporter, ts");
    raw = query_ok(c, "SELECT hex(exporter), toStartOfHour(timestamp) AS ts, sum(bytes) FROM "
                      "nf_full.netflow WHERE src_ip = '10.1.2.3' GROUP BY exporter, ts "
                      "ORDER BY exporter, ts");
    assert_string_equal(got, raw);
    assert_true(strlen(raw) > 0);
    free(got);
    free(raw);
    /* The views aggregate per insert: far fewer rows than flows. */
    uint64_t groups = groups_1h_iface(f, N);
    assert_true(groups < N / 4);
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_full.rollup_1h_iface"), groups);

    got = query_ok(c, "SELECT msg_id, sum(`rows`) FROM nf_full.ingest_log GROUP BY msg_id "
                      "ORDER BY msg_id");
    snprintf(expect, sizeof(expect), "msg-a\t%d\nmsg-b\t%d\n", NA, N - NA);
    assert_string_equal(got, expect);
    free(got);

    /* The text aliases. */
    got = query_ok(c, "SELECT DISTINCT src_ip, dst_ip, exporter_ip, next_hop_ip FROM "
                      "nf_full.netflow WHERE src_port = 40001");
    assert_string_equal(got, "10.1.2.4\t192.168.7.9\t192.0.2.1\t10.0.0.254\n");
    free(got);
    got = query_ok(c, "SELECT src_ip, dst_ip FROM nf_full.netflow WHERE src_port = 40000");
    assert_string_equal(got, "2001:db8::1\t2001:db8::2\n");
    free(got);
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_full.netflow WHERE src_ip = '10.1.2.3'"),
                     N / 3); /* i % 3 != 0 and i even: a third of the rows */

    /* Flow start and end are stored as offsets from timestamp and read back through their
     * ALIAS columns: every row as sent, and the edges (an exporter clock ahead of ours, a
     * start after the end, an end 100 years away) as docs/clickhouse.md says. */
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_full.netflow WHERE flow_start != "
                                  "timestamp - 10 OR flow_end != timestamp - 1"),
                     0);
    exec_ok(c, "INSERT INTO nf_full.ingest (timestamp, flow_start, flow_end, msg_id) VALUES "
               "(1000000000, 1000000030, 1000000005, 'edge-a'), "
               "(1000000000, 999999000, 999999990, 'edge-b'), "
               "(4000000000, 1, 1, 'edge-c')");
    got = query_ok(c, "SELECT toUInt32(timestamp), toUInt32(flow_start), toUInt32(flow_end), "
                      "flow_duration, flow_end_delay FROM nf_full.netflow WHERE "
                      "agent_id = '' ORDER BY timestamp, flow_start");
    assert_string_equal(got, "1000000000\t999999000\t999999990\t990\t10\n"
                             "1000000000\t1000000005\t1000000005\t0\t-5\n"
                             "4000000000\t1852516353\t1852516353\t0\t2147483647\n");
    free(got);

    nf_ch_close(c);
    assert_zstd_parts("nf_full/netflow");
}

static void
test_view_order(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    apply_ok(c, "nf_order");
    exec_ok(c, "CREATE TABLE nf_order.sink (x UInt8) ENGINE = Null");
    /* Sorts before zz_mv_ingest_log: its failure stops the insert before the log. */
    exec_ok(c, "CREATE MATERIALIZED VIEW nf_order.yy_mv_fail TO nf_order.sink AS "
               "SELECT throwIf(bytes = 666) AS x FROM nf_order.ingest");
    uint32_t now = (uint32_t)time(NULL);
    flow f = make_flow(1, now, "bad-before");
    f.bytes = 666;
    static rb b;
    b.len = 0;
    rb_flow(&b, &f);
    char into[1024];
    snprintf(into, sizeof(into), "nf_order.ingest %s", NF_CH_INGEST_COLUMNS);
    nf_err err = {0};
    assert_int_equal(nf_ch_insert_rowbinary(c, into, b.buf, b.len, &err), NF_EUPSTREAM);
    print_message("  failing view: %s\n", err.msg);
    /* The views sorting earlier ran (netflow has the row), the log did not. */
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_order.netflow WHERE bytes = 666"), 1);
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_order.rollup_5m_as WHERE bytes = 666"),
                     1);
    assert_int_equal(
        query_u64(c, "SELECT count() FROM nf_order.ingest_log WHERE msg_id = 'bad-before'"), 0);

    /* Control: the same view sorting after the log lets the log row through, so it is the
     * name order that protects the log. */
    exec_ok(c, "DROP TABLE nf_order.yy_mv_fail");
    exec_ok(c, "CREATE MATERIALIZED VIEW nf_order.zzz_mv_fail TO nf_order.sink AS "
               "SELECT throwIf(bytes = 666) AS x FROM nf_order.ingest");
    f.msg_id = "bad-after";
    b.len = 0;
    rb_flow(&b, &f);
    assert_int_equal(nf_ch_insert_rowbinary(c, into, b.buf, b.len, &err), NF_EUPSTREAM);
    assert_int_equal(
        query_u64(c, "SELECT count() FROM nf_order.ingest_log WHERE msg_id = 'bad-after'"), 1);

    exec_ok(c, "DROP TABLE nf_order.zzz_mv_fail");
    f.msg_id = "good";
    b.len = 0;
    rb_flow(&b, &f);
    assert_int_equal(nf_ch_insert_rowbinary(c, into, b.buf, b.len, &err), NF_OK);
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_order.ingest_log WHERE msg_id = 'good'"),
                     1);
    nf_ch_close(c);
}

static void
test_reader_cannot_write(void **state)
{
    (void)state;
    nf_ch *w = writer(NULL);
    apply_ok(w, "nf_ro");
    flow f = make_flow(2, (uint32_t)time(NULL), "ro-1");
    insert_flows(w, "nf_ro", &f, 1);
    nf_ch_close(w);

    nf_ch *r = open_as(READER, READER_PW, "nf_ro", 5000);
    assert_int_equal(query_u64(r, "SELECT count() FROM netflow"), 1);
    static rb b;
    b.len = 0;
    rb_flow(&b, &f);
    char into[1024];
    snprintf(into, sizeof(into), "nf_ro.ingest %s", NF_CH_INGEST_COLUMNS);
    nf_err err = {0};
    assert_int_equal(nf_ch_insert_rowbinary(r, into, b.buf, b.len, &err), NF_EUPSTREAM);
    assert_int_equal(nf_ch_last_code(r), 164); /* READONLY */
    assert_int_equal(nf_ch_exec(r, "DROP TABLE nf_ro.netflow", &err), NF_EUPSTREAM);
    assert_int_equal(nf_ch_schema_apply(r, "nf_ro2", &err), NF_EUPSTREAM);
    assert_int_equal(query_u64(r, "SELECT count() FROM netflow"), 1);
    nf_ch_close(r);
}

/* ---- retention ------------------------------------------------------------------------------- */

static void
test_retention(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    apply_ok(c, "nf_ret");
    time_t now = time(NULL);
    uint32_t today = (uint32_t)(now / 86400 * 86400);
    /* One flow at noon on each of the last six days (today - 5 … today). */
    for (int d = 5; d >= 0; d--) {
        char msg[16];
        snprintf(msg, sizeof(msg), "day-%d", d);
        flow f = make_flow((size_t)d, today - (uint32_t)d * 86400u + 43200u, msg);
        f.ts = today - (uint32_t)d * 86400u + 43200u;
        insert_flows(c, "nf_ret", &f, 1);
        /* ingest_log is partitioned by insert time: give it old days directly. */
        exec_ok(c,
                "INSERT INTO nf_ret.ingest_log (msg_id, `rows`, inserted) SELECT 'old-%d', "
                "1, toDateTime(%u)",
                d, today - (uint32_t)d * 86400u + 43200u);
    }
    /* A table of ours? No: retention leaves other tables of the database alone. */
    exec_ok(c, "CREATE TABLE nf_ret.other (d Date) ENGINE = MergeTree() PARTITION BY d ORDER BY d");
    exec_ok(c, "INSERT INTO nf_ret.other SELECT toDate(toDateTime(%u))", today - 5u * 86400u);

    nf_ch_retention_result res = {0};
    nf_err err = {0};
    assert_int_equal(nf_ch_retention_apply(c, "nf_ret", 0, now, &res, &err), NF_EINVAL);
    assert_int_equal(nf_ch_retention_apply(c, "bad name", 2, now, &res, &err), NF_EINVAL);
    assert_int_equal(nf_ch_retention_apply(c, "nf_ret", 2, now, &res, &err), NF_OK);
    /* netflow and 13 rollups drop today-5, -4, -3; ingest_log drops -5 and -4. */
    assert_int_equal(res.partitions_dropped, 14 * 3 + 2);
    assert_int_equal(res.tables, 15);

    char *got = query_ok(c, "SELECT count(), min(toDate(timestamp)) = today() - 2, "
                            "max(toDate(timestamp)) = today() FROM nf_ret.netflow");
    assert_string_equal(got, "3\t1\t1\n");
    free(got);
    for (size_t r = 0; r < sizeof(ROLLUP_TABLES) / sizeof(ROLLUP_TABLES[0]); r++) {
        got = query_ok(c, "SELECT sum(flows), min(toDate(ts)) = today() - 2 FROM nf_ret.%s",
                       ROLLUP_TABLES[r]);
        if (strcmp(got, "3\t1\n") != 0)
            fail_msg("%s after retention: %s", ROLLUP_TABLES[r], got);
        free(got);
    }
    got = query_ok(c, "SELECT groupArray(msg_id) FROM (SELECT msg_id FROM nf_ret.ingest_log "
                      "WHERE msg_id LIKE 'old-%%' ORDER BY msg_id)");
    assert_string_equal(got, "['old-0','old-1','old-2','old-3']\n");
    free(got);
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_ret.other"), 1);

    /* Again: nothing left to drop. */
    assert_int_equal(nf_ch_retention_apply(c, "nf_ret", 2, now, &res, &err), NF_OK);
    assert_int_equal(res.partitions_dropped, 0);
    /* One day: today - 2 goes too (ingest_log keeps it). */
    assert_int_equal(nf_ch_retention_apply(c, "nf_ret", 1, now, &res, &err), NF_OK);
    assert_int_equal(res.partitions_dropped, 14 + 1);
    nf_ch_close(c);
}

/* ---- restart ----------------------------------------------------------------------------------
 */

static void
test_server_restart(void **state)
{
    (void)state;
    nf_ch *c = writer(NULL);
    assert_int_equal(query_u64(c, "SELECT 1"), 1);
    server_stop();
    nf_err err = {0};
    assert_int_equal(nf_ch_exec(c, "SELECT 1", &err), NF_EAGAIN);
    print_message("  server down: %s\n", err.msg);
    server_start();
    /* The same handle reconnects; the data survived. */
    assert_int_equal(query_u64(c, "SELECT count() FROM nf_full.netflow"), 240 + 3);
    nf_ch_close(c);
}

/* ---- main -------------------------------------------------------------------------------------
 */

static int
group_setup(void **state)
{
    (void)state;
    server_start();
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    server_stop();
    return 0;
}

int
main(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/clickhouse_test.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_rejects_bad_config),
        cmocka_unit_test(test_server_version),
        cmocka_unit_test(test_exec_query_insert_round_trip),
        cmocka_unit_test(test_exceptions),
        cmocka_unit_test(test_retryable_codes),
        cmocka_unit_test(test_unreachable_and_slow),
        cmocka_unit_test(test_wrong_password_and_readonly),
        cmocka_unit_test(test_answer_bound),
        cmocka_unit_test(test_answers_of_current_versions),
        cmocka_unit_test(test_request_shape),
        cmocka_unit_test(test_schema_apply_idempotent),
        cmocka_unit_test(test_schema_apply_concurrent),
        cmocka_unit_test(test_schema_refuses_newer_version),
        cmocka_unit_test(test_full_schema),
        cmocka_unit_test(test_view_order),
        cmocka_unit_test(test_reader_cannot_write),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_server_restart),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    server_stop(); /* if a test failed while it was down and restarted */
    if (getenv("CH_TEST_KEEP") == NULL)
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept %s\n", g_dir);
    return failed;
}
