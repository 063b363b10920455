/* bus_test.c — lib/bus against a real nats-server started by the test: stream creation and
 * checks (Interest retention, WorkQueue refused), publish de-duplication, the stream-full
 * back-pressure path, two durables each seeing every message, a shared durable, redelivery
 * after AckWait, nak with delay, term, reconnect across a server restart, and mutual TLS
 * with certificates from scripts/certs.sh and the etc/nats-server.conf.in template.
 *
 * Every nats-server is started with PR_SET_PDEATHSIG and stopped by its PID; all state lives
 * in one mkdtemp directory that is removed at the end. NATS_SERVER overrides the binary. */
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
#include <netinet/in.h>
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

#include <nats/nats.h>

#include "base/clock.h"
#include "bus/bus.h"

/* ---- process and file helpers ------------------------------------------------------------ */

typedef struct server {
    pid_t pid;
    int port;
    char store[512]; /* JetStream store dir */
    char log[512];   /* stdout+stderr of the server */
    char conf[512];  /* config file, "" for command-line flags */
} server;

static char g_dir[256];   /* the test's temporary directory */
static server g_srv;      /* plaintext server shared by most tests */
static char g_url[64];    /* nats://127.0.0.1:port of g_srv */
static nf_bus *g_bus;     /* bus connected to g_srv */
static natsConnection *g_nc; /* raw libnats connection to g_srv, for independent checks */
static jsCtx *g_js;

static bool
port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void
dump_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL)
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

static const char *
server_binary(void)
{
    const char *env = getenv("NATS_SERVER");
    return env != NULL && env[0] != '\0' ? env : "/usr/sbin/nats-server";
}

/* Starts s (s->port, s->store, s->log and s->conf set) and waits until it accepts. */
static void
server_start(server *s)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        const char *bin = server_binary();
        if (s->conf[0] != '\0')
            execl(bin, bin, "-c", s->conf, (char *)NULL);
        else
            execl(bin, bin, "-js", "-sd", s->store, "-a", "127.0.0.1", "-p", port,
                  (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    uint64_t deadline = nf_mono_ms() + 10000;
    while (!port_accepts(s->port)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid || nf_mono_ms() > deadline) {
            fprintf(stderr, "nats-server on port %d did not start; log:\n", s->port);
            dump_file(s->log);
            s->pid = 0;
            fail_msg("nats-server did not start");
        }
        msleep(20);
    }
}

/* Stops s by its PID: SIGTERM, then SIGKILL after 5 s. */
static void
server_stop(server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    uint64_t deadline = nf_mono_ms() + 5000;
    int status;
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (nf_mono_ms() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        msleep(20);
    }
    s->pid = 0;
}

static void
server_init(server *s, const char *name)
{
    memset(s, 0, sizeof(*s));
    s->port = free_port();
    snprintf(s->store, sizeof(s->store), "%s/%s-store", g_dir, name);
    snprintf(s->log, sizeof(s->log), "%s/%s.log", g_dir, name);
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

/* ---- bus helpers ------------------------------------------------------------------------- */

static nf_bus *
connect_plain(const char *url)
{
    nf_bus_config cfg = {.url = url, .name = "bus_test", .timeout_ms = 3000,
                         .reconnect_wait_ms = 20};
    nf_bus *b = NULL;
    nf_err err = {0};
    nf_status st = nf_bus_connect(&cfg, &b, &err);
    if (st != NF_OK)
        fail_msg("connect %s: %s %s", url, nf_status_name(st), err.msg);
    return b;
}

static void
ensure_stream(nf_bus *b, const char *name, const char *subject, int64_t max_bytes)
{
    const char *subjects[] = {subject};
    nf_stream_config sc = {.name = name, .subjects = subjects, .nsubjects = 1,
                           .max_bytes = max_bytes, .discard_new = true,
                           .duplicate_window_ms = 60000, .replicas = 1};
    nf_err err = {0};
    nf_status st = nf_bus_ensure_stream(b, &sc, &err);
    if (st != NF_OK)
        fail_msg("ensure stream %s: %s %s", name, nf_status_name(st), err.msg);
}

static nf_bus_consumer *
open_consumer(nf_bus *b, const char *stream, const char *durable, const char *filter,
              uint64_t ack_wait_ms)
{
    nf_bus_consumer *c = NULL;
    nf_err err = {0};
    nf_status st = nf_bus_consumer_open(b, stream, durable, filter, ack_wait_ms, 100, &c, &err);
    if (st != NF_OK)
        fail_msg("open consumer %s/%s: %s %s", stream, durable, nf_status_name(st), err.msg);
    return c;
}

static void
publish_ok(nf_bus *b, const char *subject, const char *id, const char *payload, nf_pub_ack *ack)
{
    nf_err err = {0};
    nf_pub_ack a;
    nf_status st = nf_bus_publish(b, subject, payload, strlen(payload), id, 0, &a, &err);
    if (st != NF_OK)
        fail_msg("publish %s id %s: %s %s", subject, id, nf_status_name(st), err.msg);
    if (ack != NULL)
        *ack = a;
}

static nf_stream_info
stream_info(nf_bus *b, const char *stream)
{
    nf_stream_info si;
    nf_err err = {0};
    nf_status st = nf_bus_stream_info(b, stream, &si, &err);
    if (st != NF_OK)
        fail_msg("stream info %s: %s %s", stream, nf_status_name(st), err.msg);
    return si;
}

/* Interest retention deletes acked messages as the acks are processed; give the server a
 * moment before asserting on the count. */
static void
wait_messages(nf_bus *b, const char *stream, uint64_t want)
{
    uint64_t deadline = nf_mono_ms() + 3000;
    nf_stream_info si = stream_info(b, stream);
    while (si.messages != want && nf_mono_ms() < deadline) {
        msleep(20);
        si = stream_info(b, stream);
    }
    assert_int_equal(si.messages, want);
}

/* Fetches until want messages arrived or timeout_ms passed; returns how many. */
static size_t
fetch_n(nf_bus_consumer *c, nf_bus_msg *out, size_t want, uint64_t timeout_ms)
{
    size_t have = 0;
    uint64_t deadline = nf_mono_ms() + timeout_ms;
    while (have < want) {
        uint64_t now = nf_mono_ms();
        if (now >= deadline)
            break;
        size_t n = 0;
        nf_err err = {0};
        nf_status st = nf_bus_fetch(c, want - have, deadline - now, out + have, &n, &err);
        if (st != NF_OK)
            fail_msg("fetch: %s %s", nf_status_name(st), err.msg);
        have += n;
    }
    return have;
}

static void
ack_ok(nf_bus_consumer *c, nf_bus_msg *m)
{
    nf_err err = {0};
    nf_status st = nf_bus_ack(c, m, &err);
    if (st != NF_OK)
        fail_msg("ack seq %llu: %s %s", (unsigned long long)m->stream_seq, nf_status_name(st),
                 err.msg);
    assert_null(m->handle);
}

static bool
payload_is(const nf_bus_msg *m, const char *text)
{
    return m->len == strlen(text) && memcmp(m->data, text, m->len) == 0;
}

/* ---- group setup ------------------------------------------------------------------------- */

static int
group_setup(void **state)
{
    (void)state;
    server_init(&g_srv, "main");
    server_start(&g_srv);
    snprintf(g_url, sizeof(g_url), "nats://127.0.0.1:%d", g_srv.port);
    g_bus = connect_plain(g_url);
    if (natsConnection_ConnectTo(&g_nc, g_url) != NATS_OK ||
        natsConnection_JetStream(&g_js, g_nc, NULL) != NATS_OK)
        return -1;
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    jsCtx_Destroy(g_js);
    natsConnection_Destroy(g_nc);
    nf_bus_close(g_bus);
    server_stop(&g_srv);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void
test_connect_refused(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", free_port());
    nf_bus_config cfg = {.url = url, .timeout_ms = 1000};
    nf_bus *b = NULL;
    nf_err err = {0};
    assert_int_equal(nf_bus_connect(&cfg, &b, &err), NF_EAGAIN);
    assert_null(b);
    assert_non_null(strstr(err.msg, url));
    print_message("  connect refused: %s\n", err.msg);

    nf_bus_config none = {.url = ""};
    assert_int_equal(nf_bus_connect(&none, &b, &err), NF_EINVAL);
    assert_true(nf_bus_connected(g_bus));
    assert_false(nf_bus_connected(NULL));
}

static void
test_stream_created_interest_and_idempotent(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_CREATE", "t.create", 1 << 20);

    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, g_js, "T_CREATE", NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->Retention, js_InterestPolicy);
    assert_int_equal(si->Config->Discard, js_DiscardNew);
    assert_int_equal(si->Config->Storage, js_FileStorage);
    assert_int_equal(si->Config->MaxBytes, 1 << 20);
    assert_int_equal(si->Config->Duplicates, 60000LL * 1000000LL);
    assert_int_equal(si->Config->SubjectsLen, 1);
    assert_string_equal(si->Config->Subjects[0], "t.create");
    jsStreamInfo_Destroy(si);

    /* Idempotent: same config again changes nothing. */
    ensure_stream(g_bus, "T_CREATE", "t.create", 1 << 20);
    nf_stream_info info = stream_info(g_bus, "T_CREATE");
    assert_int_equal(info.max_bytes, 1 << 20);
    assert_int_equal(info.messages, 0);
    assert_int_equal(info.consumers, 0);

    /* A new limit is applied to the existing stream. */
    ensure_stream(g_bus, "T_CREATE", "t.create", 2 << 20);
    assert_int_equal(stream_info(g_bus, "T_CREATE").max_bytes, 2 << 20);

    /* So are the discard policy and the duplicate window. */
    const char *same[] = {"t.create"};
    nf_stream_config sc2 = {.name = "T_CREATE", .subjects = same, .nsubjects = 1,
                            .max_bytes = 2 << 20, .discard_new = false,
                            .duplicate_window_ms = 30000};
    nf_err e2 = {0};
    assert_int_equal(nf_bus_ensure_stream(g_bus, &sc2, &e2), NF_OK);
    assert_int_equal(js_GetStreamInfo(&si, g_js, "T_CREATE", NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->Discard, js_DiscardOld);
    assert_int_equal(si->Config->Duplicates, 30000LL * 1000000LL);
    assert_int_equal(si->Config->Retention, js_InterestPolicy);
    jsStreamInfo_Destroy(si);

    /* Other subjects are refused, not changed. */
    const char *other[] = {"t.other"};
    nf_stream_config sc = {.name = "T_CREATE", .subjects = other, .nsubjects = 1,
                           .max_bytes = 2 << 20, .discard_new = true};
    nf_err err = {0};
    assert_int_equal(nf_bus_ensure_stream(g_bus, &sc, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "t.create"));
    assert_non_null(strstr(err.msg, "t.other"));
    print_message("  other subjects: %s\n", err.msg);

    nf_err err2 = {0};
    nf_stream_info dummy;
    assert_int_equal(nf_bus_stream_info(g_bus, "T_NO_SUCH", &dummy, &err2), NF_ENOTFOUND);
}

static void
test_workqueue_stream_refused(void **state)
{
    (void)state;
    /* Someone (an old deployment following the PRD) created the stream as a work queue. */
    const char *subjects[] = {"t.wq"};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = "T_WQ";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = js_WorkQueuePolicy;
    assert_int_equal(js_AddStream(NULL, g_js, &sc, NULL, NULL), NATS_OK);

    const char *want[] = {"t.wq"};
    nf_stream_config cfg = {.name = "T_WQ", .subjects = want, .nsubjects = 1,
                            .max_bytes = 1 << 20, .discard_new = true};
    nf_err err = {0};
    assert_int_equal(nf_bus_ensure_stream(g_bus, &cfg, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "WorkQueue"));
    assert_non_null(strstr(err.msg, "Interest"));
    print_message("  workqueue: %s\n", err.msg);

    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, g_js, "T_WQ", NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->Retention, js_WorkQueuePolicy); /* left alone */
    jsStreamInfo_Destroy(si);
}

static void
test_publish_dedup(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_DEDUP", "t.dedup", 1 << 20);
    nf_err err = {0};
    assert_int_equal(nf_bus_consumer_ensure(g_bus, "T_DEDUP", "clickhouse", NULL, 30000, 0, &err),
                     NF_OK);

    nf_pub_ack a1, a2, a3;
    publish_ok(g_bus, "t.dedup", "agent-1:1", "batch one", &a1);
    assert_false(a1.duplicate);
    publish_ok(g_bus, "t.dedup", "agent-1:1", "batch one", &a2); /* a retried publish */
    assert_true(a2.duplicate);
    assert_int_equal(a2.stream_seq, a1.stream_seq);
    publish_ok(g_bus, "t.dedup", "agent-1:101", "batch two", &a3);
    assert_false(a3.duplicate);
    assert_int_equal(a3.stream_seq, a1.stream_seq + 1);
    assert_int_equal(stream_info(g_bus, "T_DEDUP").messages, 2);

    /* No stream listens on this subject: no responders → retry later. */
    nf_status st = nf_bus_publish(g_bus, "t.nobody", "x", 1, "a:1", 1000, NULL, &err);
    print_message("  no stream: %s\n", err.msg);
    assert_int_equal(st, NF_EAGAIN);
    assert_non_null(strstr(err.msg, "t.nobody"));

    assert_int_equal(nf_bus_publish(g_bus, "", "x", 1, "a:1", 0, NULL, &err), NF_EINVAL);

    /* Larger than the server's max_payload (1 MiB by default): retrying cannot help. */
    size_t big_len = 2u << 20;
    char *big = calloc(1, big_len);
    assert_non_null(big);
    st = nf_bus_publish(g_bus, "t.dedup", big, big_len, "agent-1:9999", 0, NULL, &err);
    free(big);
    assert_int_equal(st, NF_EINVAL);
    print_message("  too large: %s\n", err.msg);
    assert_true(nf_bus_connected(g_bus));
    assert_int_equal(stream_info(g_bus, "T_DEDUP").messages, 2);
}

static void
test_interest_without_consumer_stores_nothing(void **state)
{
    (void)state;
    /* Pins a JetStream behaviour the poller depends on knowing: an Interest stream with no
     * consumer acks a publish but keeps nothing. */
    ensure_stream(g_bus, "T_NOCONS", "t.nocons", 1 << 20);
    nf_pub_ack a;
    publish_ok(g_bus, "t.nocons", "a:1", "lost", &a);
    assert_true(a.stream_seq >= 1);
    assert_int_equal(stream_info(g_bus, "T_NOCONS").messages, 0);
}

static void
test_stream_full_then_drained(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_FULL", "t.full", 4096);
    nf_bus_consumer *c = open_consumer(g_bus, "T_FULL", "clickhouse", NULL, 30000);

    char payload[401];
    memset(payload, 'x', sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    nf_err err = {0};
    nf_status st = NF_OK;
    int stored = 0;
    for (int i = 0; i < 100 && st == NF_OK; i++) {
        char id[32];
        snprintf(id, sizeof(id), "a:%d", i);
        st = nf_bus_publish(g_bus, "t.full", payload, strlen(payload), id, 0, NULL, &err);
        if (st == NF_OK)
            stored++;
    }
    assert_int_equal(st, NF_EAGAIN);
    assert_non_null(strstr(err.msg, "maximum bytes exceeded"));
    print_message("  stream full after %d: %s\n", stored, err.msg);
    assert_true(stored >= 1 && stored < 100);
    assert_int_equal(stream_info(g_bus, "T_FULL").messages, (uint64_t)stored);

    /* Still full: refused again, nothing stored. */
    assert_int_equal(nf_bus_publish(g_bus, "t.full", payload, strlen(payload), "b:1", 0, NULL,
                                    &err),
                     NF_EAGAIN);
    assert_int_equal(stream_info(g_bus, "T_FULL").messages, (uint64_t)stored);

    /* The only durable consumes and acks everything: Interest retention frees the space. */
    nf_bus_msg msgs[100];
    assert_int_equal(fetch_n(c, msgs, (size_t)stored, 5000), (size_t)stored);
    for (int i = 0; i < stored; i++)
        ack_ok(c, &msgs[i]);
    wait_messages(g_bus, "T_FULL", 0);
    publish_ok(g_bus, "t.full", "b:1", payload, NULL);
    assert_int_equal(stream_info(g_bus, "T_FULL").messages, 1);

    nf_bus_msg m;
    assert_int_equal(fetch_n(c, &m, 1, 3000), 1);
    ack_ok(c, &m);
    nf_bus_consumer_close(c);
}

static void
test_two_durables_each_see_every_message(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_TWO", "t.two", 1 << 20);
    nf_bus_consumer *ch = open_consumer(g_bus, "T_TWO", "clickhouse", NULL, 30000);
    nf_bus_consumer *pq = open_consumer(g_bus, "T_TWO", "parquet", "t.two", 30000);
    assert_int_equal(stream_info(g_bus, "T_TWO").consumers, 2);

    char id[5][16], body[5][16];
    for (int i = 0; i < 5; i++) {
        snprintf(id[i], sizeof(id[i]), "agent:%d", i * 100 + 1);
        snprintf(body[i], sizeof(body[i]), "batch-%d", i);
        publish_ok(g_bus, "t.two", id[i], body[i], NULL);
    }

    nf_bus_msg a[8], b[8];
    assert_int_equal(fetch_n(ch, a, 5, 5000), 5);
    uint64_t prev_seq = 0;
    for (int i = 0; i < 5; i++) {
        assert_true(payload_is(&a[i], body[i]));
        assert_non_null(a[i].msg_id);
        assert_string_equal(a[i].msg_id, id[i]);
        assert_int_equal(a[i].num_delivered, 1);
        if (i > 0)
            assert_int_equal(a[i].stream_seq, prev_seq + 1);
        prev_seq = a[i].stream_seq;
        ack_ok(ch, &a[i]);
    }
    /* One durable acked everything; the other has not: all five are still stored. */
    assert_int_equal(stream_info(g_bus, "T_TWO").messages, 5);

    assert_int_equal(fetch_n(pq, b, 5, 5000), 5);
    for (int i = 0; i < 5; i++) {
        assert_true(payload_is(&b[i], body[i]));
        ack_ok(pq, &b[i]);
    }
    wait_messages(g_bus, "T_TWO", 0); /* acked by every durable: deleted */

    size_t n = 1;
    nf_err err = {0};
    assert_int_equal(nf_bus_fetch(ch, 4, 200, a, &n, &err), NF_OK); /* nothing left */
    assert_int_equal(n, 0);
    nf_bus_consumer_close(ch);
    nf_bus_consumer_close(pq);
}

static void
test_shared_durable_splits_work(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_SHARE", "t.share", 1 << 20);
    /* Two writer instances (here two handles) on one durable. */
    nf_bus_consumer *w1 = open_consumer(g_bus, "T_SHARE", "clickhouse", NULL, 30000);
    nf_bus *bus2 = connect_plain(g_url);
    nf_bus_consumer *w2 = open_consumer(bus2, "T_SHARE", "clickhouse", NULL, 30000);
    assert_int_equal(stream_info(g_bus, "T_SHARE").consumers, 1);

    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof(id), "s:%d", i);
        publish_ok(g_bus, "t.share", id, id, NULL);
    }
    nf_bus_msg a[6], b[6];
    size_t na = fetch_n(w1, a, 3, 5000);
    assert_int_equal(na, 3);
    size_t nb = fetch_n(w2, b, 3, 5000);
    assert_int_equal(nb, 3);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            assert_int_not_equal(a[i].stream_seq, b[j].stream_seq);
    for (size_t i = 0; i < 3; i++) {
        ack_ok(w1, &a[i]);
        ack_ok(w2, &b[i]);
    }
    wait_messages(g_bus, "T_SHARE", 0);
    nf_bus_consumer_close(w1);
    nf_bus_consumer_close(w2);
    nf_bus_close(bus2);
}

static void
test_redelivery_after_ack_wait(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_REDELIVER", "t.redeliver", 1 << 20);
    nf_bus_consumer *c = open_consumer(g_bus, "T_REDELIVER", "clickhouse", NULL, 500);
    publish_ok(g_bus, "t.redeliver", "r:1", "payload", NULL);

    nf_bus_msg m;
    assert_int_equal(fetch_n(c, &m, 1, 3000), 1);
    uint64_t seq = m.stream_seq;
    assert_int_equal(m.num_delivered, 1);
    uint64_t t0 = nf_mono_ms();
    nf_bus_msg_release(&m); /* e.g. the writer crashed before acking */
    assert_null(m.handle);
    nf_bus_msg_release(&m); /* a no-op on a released message */

    assert_int_equal(fetch_n(c, &m, 1, 5000), 1);
    assert_int_equal(m.stream_seq, seq);
    assert_int_equal(m.num_delivered, 2);
    assert_true(nf_mono_ms() - t0 >= 300);
    assert_true(payload_is(&m, "payload"));
    ack_ok(c, &m);

    nf_err err = {0};
    assert_int_equal(nf_bus_ack(c, &m, &err), NF_EINVAL); /* already settled */
    wait_messages(g_bus, "T_REDELIVER", 0);
    nf_bus_consumer_close(c);
}

static void
test_nak_with_delay(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_NAK", "t.nak", 1 << 20);
    nf_bus_consumer *c = open_consumer(g_bus, "T_NAK", "clickhouse", NULL, 30000);
    publish_ok(g_bus, "t.nak", "n:1", "retry me", NULL);

    nf_bus_msg m;
    assert_int_equal(fetch_n(c, &m, 1, 3000), 1);
    nf_err err = {0};
    uint64_t t0 = nf_mono_ms();
    assert_int_equal(nf_bus_nak(c, &m, 800, &err), NF_OK);
    assert_null(m.handle);

    size_t n = 1;
    assert_int_equal(nf_bus_fetch(c, 1, 300, &m, &n, &err), NF_OK);
    assert_int_equal(n, 0); /* not before the delay */
    assert_int_equal(fetch_n(c, &m, 1, 5000), 1);
    assert_true(nf_mono_ms() - t0 >= 700);
    assert_int_equal(m.num_delivered, 2);

    /* nak without delay: back at once. */
    t0 = nf_mono_ms();
    assert_int_equal(nf_bus_nak(c, &m, 0, &err), NF_OK);
    assert_int_equal(fetch_n(c, &m, 1, 3000), 1);
    assert_true(nf_mono_ms() - t0 < 1500);
    assert_int_equal(m.num_delivered, 3);
    ack_ok(c, &m);
    wait_messages(g_bus, "T_NAK", 0);
    nf_bus_consumer_close(c);
}

static void
test_term_never_redelivers(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_TERM", "t.term", 1 << 20);
    nf_bus_consumer *c = open_consumer(g_bus, "T_TERM", "clickhouse", NULL, 300);
    publish_ok(g_bus, "t.term", "p:1", "poison", NULL);
    publish_ok(g_bus, "t.term", "p:2", "fine", NULL);

    nf_bus_msg m[2];
    assert_int_equal(fetch_n(c, m, 2, 3000), 2);
    nf_err err = {0};
    assert_true(payload_is(&m[0], "poison"));
    assert_int_equal(nf_bus_term(c, &m[0], &err), NF_OK);
    assert_null(m[0].handle);
    ack_ok(c, &m[1]);

    /* AckWait is 300 ms: a plain release would be back within this fetch. */
    nf_bus_msg again;
    size_t n = 1;
    assert_int_equal(nf_bus_fetch(c, 1, 1200, &again, &n, &err), NF_OK);
    assert_int_equal(n, 0);
    /* With Interest retention a termed message counts as done for this durable. */
    wait_messages(g_bus, "T_TERM", 0);
    nf_bus_consumer_close(c);
}

static void
test_consumer_checks(void **state)
{
    (void)state;
    ensure_stream(g_bus, "T_CONS", "t.cons.>", 1 << 20);
    nf_err err = {0};
    assert_int_equal(
        nf_bus_consumer_ensure(g_bus, "T_CONS", "parquet", "t.cons.a", 30000, 50, &err), NF_OK);
    /* Same again, with a new AckWait: updated in place. */
    assert_int_equal(
        nf_bus_consumer_ensure(g_bus, "T_CONS", "parquet", "t.cons.a", 10000, 50, &err), NF_OK);
    jsConsumerInfo *ci = NULL;
    assert_int_equal(js_GetConsumerInfo(&ci, g_js, "T_CONS", "parquet", NULL, NULL), NATS_OK);
    assert_int_equal(ci->Config->AckWait, 10000LL * 1000000LL);
    assert_int_equal(ci->Config->MaxAckPending, 50);
    assert_int_equal(ci->Config->AckPolicy, js_AckExplicit);
    assert_int_equal(ci->Config->DeliverPolicy, js_DeliverAll);
    jsConsumerInfo_Destroy(ci);
    /* ack_wait 0 (a publisher making sure the durable exists) leaves its owner's AckWait. */
    assert_int_equal(nf_bus_consumer_ensure(g_bus, "T_CONS", "parquet", "t.cons.a", 0, 0, &err),
                     NF_OK);
    assert_int_equal(js_GetConsumerInfo(&ci, g_js, "T_CONS", "parquet", NULL, NULL), NATS_OK);
    assert_int_equal(ci->Config->AckWait, 10000LL * 1000000LL);
    jsConsumerInfo_Destroy(ci);
    /* ...and creates a missing one with 30 s. */
    assert_int_equal(nf_bus_consumer_ensure(g_bus, "T_CONS", "fresh", "t.cons.a", 0, 0, &err),
                     NF_OK);
    assert_int_equal(js_GetConsumerInfo(&ci, g_js, "T_CONS", "fresh", NULL, NULL), NATS_OK);
    assert_int_equal(ci->Config->AckWait, 30000LL * 1000000LL);
    jsConsumerInfo_Destroy(ci);

    /* A different filter is refused with a clear message. */
    assert_int_equal(
        nf_bus_consumer_ensure(g_bus, "T_CONS", "parquet", "t.cons.b", 10000, 50, &err),
        NF_EINVAL);
    assert_non_null(strstr(err.msg, "t.cons.a"));
    print_message("  filter: %s\n", err.msg);

    /* Missing stream, bad durable name. */
    assert_int_equal(nf_bus_consumer_ensure(g_bus, "T_NONE", "parquet", NULL, 1000, 0, &err),
                     NF_ENOTFOUND);
    print_message("  no stream: %s\n", err.msg);
    assert_int_equal(nf_bus_consumer_ensure(g_bus, "T_CONS", "a.b", NULL, 1000, 0, &err),
                     NF_EINVAL);
}

static void
test_limits_stream_and_headers(void **state)
{
    (void)state;
    const char *subjects[] = {"t.dlq"};
    nf_stream_config sc = {.name = "T_DLQ", .subjects = subjects, .nsubjects = 1,
                           .max_bytes = 1 << 20, .limits_retention = true,
                           .max_age_ms = 3600000};
    nf_err err = {0};
    assert_int_equal(nf_bus_ensure_stream(g_bus, &sc, &err), NF_OK);
    assert_int_equal(nf_bus_ensure_stream(g_bus, &sc, &err), NF_OK); /* idempotent */
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, g_js, "T_DLQ", NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->Retention, js_LimitsPolicy);
    assert_int_equal(si->Config->MaxAge, 3600000LL * 1000000LL);
    jsStreamInfo_Destroy(si);
    /* Stored with no consumer (Limits, unlike Interest), headers intact. */
    const char *headers[] = {"NetFlow-Reason", "bad batch", "NetFlow-Seq", "42"};
    nf_pub_ack ack;
    assert_int_equal(nf_bus_publish_headers(g_bus, "t.dlq", "x", 1, "dlq:1", headers, 2, 0,
                                            &ack, &err),
                     NF_OK);
    nf_bus_consumer *c = NULL;
    assert_int_equal(nf_bus_consumer_open(g_bus, "T_DLQ", "reader", NULL, 30000, 0, &c, &err),
                     NF_OK);
    nf_bus_msg m[1];
    size_t n = 0;
    assert_int_equal(nf_bus_fetch(c, 1, 5000, m, &n, &err), NF_OK);
    assert_int_equal(n, 1);
    assert_string_equal(nf_bus_msg_header(&m[0], "NetFlow-Reason"), "bad batch");
    assert_string_equal(nf_bus_msg_header(&m[0], "NetFlow-Seq"), "42");
    assert_null(nf_bus_msg_header(&m[0], "Absent"));
    assert_string_equal(m[0].msg_id, "dlq:1");
    assert_int_equal(nf_bus_ack(c, &m[0], &err), NF_OK);
    nf_bus_consumer_close(c);
    /* An Interest stream of the same name would be refused. */
    sc.limits_retention = false;
    assert_int_equal(nf_bus_ensure_stream(g_bus, &sc, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "Limits"));
}

static void
test_reconnect_after_server_restart(void **state)
{
    (void)state;
    server s;
    server_init(&s, "restart");
    server_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", s.port);
    nf_bus *b = connect_plain(url); /* reconnect wait 20 ms */
    ensure_stream(b, "NETFLOW", "netflow.raw", 1 << 20);
    nf_bus_consumer *c = open_consumer(b, "NETFLOW", "clickhouse", NULL, 30000);
    publish_ok(b, "netflow.raw", "agent:1", "before", NULL);

    server_stop(&s);
    uint64_t t0 = nf_mono_ms();
    while (nf_bus_connected(b) && nf_mono_ms() - t0 < 3000)
        msleep(10);
    assert_false(nf_bus_connected(b));
    nf_err err = {0};
    t0 = nf_mono_ms();
    assert_int_equal(nf_bus_publish(b, "netflow.raw", "during", 6, "agent:2", 0, NULL, &err),
                     NF_EAGAIN);
    assert_true(nf_mono_ms() - t0 < 500); /* fails fast, no buffering until timeout */
    print_message("  while down: %s\n", err.msg);
    nf_bus_msg m[4];
    size_t n = 9;
    assert_int_equal(nf_bus_fetch(c, 4, 200, m, &n, &err), NF_EAGAIN);
    print_message("  fetch while down: %s\n", err.msg);

    /* Down long enough for more attempts than libnats' default limit (60): with the
     * limit in place the connection would now be closed for good. */
    msleep(2000);
    server_start(&s);
    t0 = nf_mono_ms();
    while (!nf_bus_connected(b) && nf_mono_ms() - t0 < 10000)
        msleep(20);
    assert_true(nf_bus_connected(b));

    /* JetStream may need a moment after the restart: NF_EAGAIN until then. */
    nf_status st;
    t0 = nf_mono_ms();
    do {
        st = nf_bus_publish(b, "netflow.raw", "during", 6, "agent:2", 1000, NULL, &err);
        if (st == NF_EAGAIN)
            msleep(100);
    } while (st == NF_EAGAIN && nf_mono_ms() - t0 < 10000);
    assert_int_equal(st, NF_OK);

    /* The durable survived the restart and the subscription was re-established. */
    assert_int_equal(fetch_n(c, m, 2, 5000), 2);
    assert_true(payload_is(&m[0], "before"));
    assert_true(payload_is(&m[1], "during"));
    ack_ok(c, &m[0]);
    ack_ok(c, &m[1]);
    wait_messages(b, "NETFLOW", 0);

    nf_bus_consumer_close(c);
    nf_bus_close(b);
    server_stop(&s);
}

/* ---- mutual TLS -------------------------------------------------------------------------- */

static void
run_certs(const char *dir, const char *components)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s/scripts/certs.sh' '%s' %s >/dev/null 2>&1", NF_SOURCE_DIR,
             dir, components);
    assert_int_equal(system(cmd), 0);
}

/* Replaces every "@key@" in text (in place, buffer of cap bytes) by value. */
static void
subst(char *text, size_t cap, const char *key, const char *value)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "@%s@", key);
    char *p;
    while ((p = strstr(text, pat)) != NULL) {
        size_t plen = strlen(pat), vlen = strlen(value), rest = strlen(p + plen);
        assert_true(strlen(text) - plen + vlen < cap);
        memmove(p + vlen, p + plen, rest + 1);
        memcpy(p, value, vlen);
    }
}

/* Writes s->conf from etc/nats-server.conf.in for a TLS server using the certs in pki. */
static void
write_tls_conf(server *s, const char *pki)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/etc/nats-server.conf.in", NF_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';

    char port[16], monitor[32], cert[600], key[600], ca[600];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(monitor, sizeof(monitor), "127.0.0.1:%d", free_port());
    snprintf(cert, sizeof(cert), "%s/nats.pem", pki);
    snprintf(key, sizeof(key), "%s/nats-key.pem", pki);
    snprintf(ca, sizeof(ca), "%s/root.pem", pki);
    subst(text, sizeof(text), "NATS_SERVER_NAME", "bus-test-tls");
    subst(text, sizeof(text), "NATS_HOST", "127.0.0.1");
    subst(text, sizeof(text), "NATS_PORT", port);
    subst(text, sizeof(text), "NATS_MONITOR", monitor);
    subst(text, sizeof(text), "NATS_STORE_DIR", s->store);
    subst(text, sizeof(text), "NATS_CERT_FILE", cert);
    subst(text, sizeof(text), "NATS_KEY_FILE", key);
    subst(text, sizeof(text), "NATS_CA_FILE", ca);
    assert_null(strstr(text, "@NATS_")); /* every placeholder filled */

    snprintf(s->conf, sizeof(s->conf), "%s/nats-tls.conf", g_dir);
    f = fopen(s->conf, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static nf_status
connect_tls(const char *url, const char *cert_dir, const char *cert, const char *key,
            const char *ca, const char *server_name, nf_bus **out, nf_err *err)
{
    nf_security_config sec = {.mode = "mtls", .cert_dir = (char *)cert_dir,
                              .server_name = (char *)server_name};
    sec.tls.cert_file = (char *)cert;
    sec.tls.key_file = (char *)key;
    sec.tls.ca_file = (char *)ca;
    nf_bus_config cfg = {.url = url, .security = &sec, .name = "bus_test_tls",
                         .timeout_ms = 2000};
    return nf_bus_connect(&cfg, out, err);
}

static void
test_mtls(void **state)
{
    (void)state;
    char pki[512], other[512], other_cert[600], other_key[600];
    snprintf(pki, sizeof(pki), "%s/pki", g_dir);
    snprintf(other, sizeof(other), "%s/other-ca", g_dir);
    run_certs(pki, "nats poller");
    run_certs(other, "poller"); /* same names, different CA */
    snprintf(other_cert, sizeof(other_cert), "%s/poller.pem", other);
    snprintf(other_key, sizeof(other_key), "%s/poller-key.pem", other);

    server s;
    server_init(&s, "tls");
    write_tls_conf(&s, pki);
    server_start(&s);
    char url[64];
    snprintf(url, sizeof(url), "tls://127.0.0.1:%d", s.port);

    /* Good client certificate, names relative to cert_dir, server name checked. */
    nf_bus *b = NULL;
    nf_err err = {0};
    nf_status st = connect_tls(url, pki, "poller.pem", "poller-key.pem", "root.pem",
                               "nats.serviceradar", &b, &err);
    if (st != NF_OK)
        fail_msg("mtls connect: %s %s", nf_status_name(st), err.msg);
    ensure_stream(b, "T_TLS", "t.tls", 1 << 20);
    nf_bus_consumer *c = open_consumer(b, "T_TLS", "clickhouse", NULL, 30000);
    publish_ok(b, "t.tls", "tls:1", "secret", NULL);
    nf_bus_msg m;
    assert_int_equal(fetch_n(c, &m, 1, 3000), 1);
    assert_true(payload_is(&m, "secret"));
    ack_ok(c, &m);
    nf_bus_consumer_close(c);
    nf_bus_close(b);

    /* server_name left empty: the URL's host (an IP SAN here) is checked. */
    b = NULL;
    st = connect_tls(url, pki, "poller.pem", "poller-key.pem", "root.pem", "", &b, &err);
    if (st != NF_OK)
        fail_msg("mtls connect, default server name: %s %s", nf_status_name(st), err.msg);
    nf_bus_close(b);

    /* A server certificate that does not carry the expected name is refused. */
    b = NULL;
    st = connect_tls(url, pki, "poller.pem", "poller-key.pem", "root.pem", "core.example", &b,
                     &err);
    assert_int_equal(st, NF_EUPSTREAM);
    assert_null(b);
    print_message("  wrong server name: %s\n", err.msg);

    /* A client certificate from another CA is refused by the server. */
    st = connect_tls(url, pki, other_cert, other_key, "root.pem", "nats.serviceradar", &b, &err);
    assert_int_equal(st, NF_EUPSTREAM);
    assert_null(b);
    assert_non_null(strstr(err.msg, "certificate"));
    print_message("  other CA: %s %s\n", nf_status_name(st), err.msg);

    /* No client certificate: the library refuses the config before dialing ... */
    st = connect_tls(url, pki, "", "", "root.pem", "nats.serviceradar", &b, &err);
    assert_int_equal(st, NF_EINVAL);
    assert_non_null(strstr(err.msg, "cert_file"));
    /* ... and the server refuses a TLS client that presents none (raw libnats). */
    natsOptions *o = NULL;
    char ca[600];
    snprintf(ca, sizeof(ca), "%s/root.pem", pki);
    assert_int_equal(natsOptions_Create(&o), NATS_OK);
    natsOptions_SetURL(o, url);
    natsOptions_SetSecure(o, true);
    assert_int_equal(natsOptions_LoadCATrustedCertificates(o, ca), NATS_OK);
    natsOptions_SetExpectedHostname(o, "nats.serviceradar");
    natsOptions_SetTimeout(o, 2000);
    natsConnection *nc = NULL;
    natsStatus ns = natsConnection_Connect(&nc, o);
    assert_int_not_equal(ns, NATS_OK);
    print_message("  no client cert (raw libnats): %s / %s\n", natsStatus_GetText(ns),
                  nats_GetLastError(NULL));
    natsConnection_Destroy(nc);
    natsOptions_Destroy(o);

    /* Missing certificate file: named in the error. */
    st = connect_tls(url, pki, "nope.pem", "poller-key.pem", "root.pem", "", &b, &err);
    assert_int_equal(st, NF_EINVAL);
    assert_non_null(strstr(err.msg, "nope.pem"));
    print_message("  missing file: %s\n", err.msg);

    /* A plaintext client against the TLS-only server. */
    nf_bus_config plain = {.url = url, .timeout_ms = 2000};
    plain.url = url + strlen("tls://"); /* "127.0.0.1:port", no scheme */
    st = nf_bus_connect(&plain, &b, &err);
    assert_int_not_equal(st, NF_OK);
    print_message("  plaintext vs TLS: %s %s\n", nf_status_name(st), err.msg);

    server_stop(&s);
}

int
main(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/bus_test.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_stream_created_interest_and_idempotent),
        cmocka_unit_test(test_workqueue_stream_refused),
        cmocka_unit_test(test_publish_dedup),
        cmocka_unit_test(test_interest_without_consumer_stores_nothing),
        cmocka_unit_test(test_stream_full_then_drained),
        cmocka_unit_test(test_two_durables_each_see_every_message),
        cmocka_unit_test(test_shared_durable_splits_work),
        cmocka_unit_test(test_redelivery_after_ack_wait),
        cmocka_unit_test(test_limits_stream_and_headers),
        cmocka_unit_test(test_nak_with_delay),
        cmocka_unit_test(test_term_never_redelivers),
        cmocka_unit_test(test_consumer_checks),
        cmocka_unit_test(test_reconnect_after_server_restart),
        cmocka_unit_test(test_mtls),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    if (getenv("BUS_TEST_KEEP") == NULL)
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    /* libnats keeps process-wide state (threads, buffers) until told to let go. */
    nf_bus_global_cleanup(5000);
    return failed;
}
