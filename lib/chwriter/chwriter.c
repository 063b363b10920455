/* chwriter.c — the ClickHouse writer's engine. See chwriter.h for the design and the
 * invariants; docs/clickhouse.md for why the ingest log makes redelivery safe.
 */
#include "chwriter.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/backoff.h"
#include "../base/clock.h"
#include "../base/daemon.h"
#include "../base/log.h"
#include "../bus/bus.h"
#include "../clickhouse/clickhouse.h"
#include "../proto/flowbatch.h"
#include "rowbinary.h"

#define COMP "clickhouse-writer"
#define FETCH_MAX 64            /* messages per fetch */
#define LAG_EVERY_MS 5000u      /* how often the durable's backlog is asked for */
#define MSG_ID_MAX 200          /* Nats-Msg-Id kept per held message */
#define RECORDS_PER_MSG_MAX 1000000u /* a FlowBatch is <= 8 MiB: far fewer records */
#define RETENTION_EVERY_MS 3600000u
#define RETENTION_RETRY_MS 300000u
#define LOG_EVERY_MS 10000u
#define FLIGHT_POLL_MS 20u /* fetch wait while an INSERT is in flight (<= batch_interval) */

/* A message held until the INSERT with its rows succeeded. */
typedef struct held_msg {
    nf_bus_msg msg;
    char id[MSG_ID_MAX]; /* its Nats-Msg-Id, or "stream:<seq>" */
    uint64_t records;
} held_msg;

/* A batch: the messages whose rows are in rows, held until the INSERT of rows succeeded. */
typedef struct batch {
    held_msg *held;
    size_t nheld, cap;
    nf_rowbuf rows;
    uint64_t started_ms; /* when its first message was taken */
} batch;

typedef struct stats {
    atomic_uint_fast64_t messages;          /* fetched */
    atomic_uint_fast64_t records;           /* in decoded messages */
    atomic_uint_fast64_t redeliveries;      /* fetched with num_delivered > 1 */
    atomic_uint_fast64_t already_stored;    /* redelivered and found in ingest_log: acked */
    atomic_uint_fast64_t held_twice;        /* a delivery of a message already held */
    atomic_uint_fast64_t inserts;           /* successful INSERTs */
    atomic_uint_fast64_t records_inserted;
    atomic_uint_fast64_t messages_acked;
    atomic_uint_fast64_t insert_failures;
    atomic_uint_fast64_t insert_ms_total;   /* time spent in successful INSERTs */
    atomic_uint_fast64_t ack_failures;      /* acks that failed after a good INSERT */
    atomic_uint_fast64_t dead_letters;
    atomic_uint_fast64_t dead_letter_failures;
    atomic_uint_fast64_t lookups;           /* ingest_log look-ups (one per fetch) */
    atomic_uint_fast64_t lookup_failures;   /* ingest_log look-ups that failed */
    atomic_uint_fast64_t retention_runs;
    atomic_uint_fast64_t retention_dropped; /* day partitions dropped */
    atomic_uint_fast64_t retention_failures;
    atomic_uint_fast64_t held_records;      /* gauge: rows in the batch being filled */
    atomic_uint_fast64_t flight_records;    /* gauge: rows of the INSERT in flight */
    atomic_int clickhouse_up;               /* gauge */
    atomic_int nats_up;                     /* gauge */
    atomic_uint_fast64_t unknown_outcomes;  /* INSERTs whose answer never came */
    nf_bus_lag lag; /* the durable's backlog, for the metrics */
} stats;

struct nf_chwriter {
    const nf_chwriter_config *cfg;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu; /* guards stop */
    pthread_cond_t wake;
    bool stop;

    nf_bus *bus;
    nf_bus_consumer *consumer;
    bool dlq_ready;
    nf_ch *ch;
    bool schema_ready;
    char into[1024]; /* "db.ingest (columns…)" */

    batch cur; /* being filled by the main thread */
    bool nap_due; /* main thread: an INSERT failed since the last back-off */

    /* The inserter thread and what it owns while in_flight (invariant 5). */
    pthread_t inserter;
    bool inserter_started;
    pthread_mutex_t imu; /* guards in_flight, flight_done, flight_ok, inserter_quit */
    pthread_cond_t icv;
    bool in_flight;      /* flight is handed over */
    bool flight_done;    /* the INSERT finished; the main thread settles the messages */
    bool flight_ok;      /* … and it succeeded */
    bool inserter_quit;
    batch flight;
    nf_ch *ch_insert;    /* its own connection */
    uint64_t insert_seq; /* inserter: numbers its INSERTs' query ids */
    uint64_t started_ms; /* wall clock at create: makes query ids unique across runs */
    nf_ratelimit insert_rl;
    atomic_int schema_lost; /* set by the inserter: unknown table or column */

    nf_flow *flows;  /* decode buffer */
    size_t flows_cap;

    uint64_t next_retention_ms;
    nf_backoff backoff;
    nf_ratelimit rl;      /* main thread: warnings about the data (dead letters, memory) */
    nf_ratelimit rl_nats; /* main thread: the NATS side */
    nf_ratelimit rl_ch;   /* main thread: the ClickHouse side */
    stats st;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static bool
stopping(nf_chwriter *w)
{
    return nf_stop_requested(&w->mu, &w->stop);
}

/* Sleeps up to ms unless stop is requested; true when stopping. */
static bool
nap(nf_chwriter *w, uint64_t ms)
{
    return nf_nap_unless_stopped(&w->mu, &w->wake, &w->stop, ms);
}

/* Limiters are per thread (insert_rl is the inserter's) and per subject. */
static void
warn_rl(nf_ratelimit *rl, const char *what, const char *why)
{
    nf_log_warn_rl(rl, LOG_EVERY_MS, COMP, what, why);
}

static void
warn_limited(nf_chwriter *w, const char *what, const char *why)
{
    warn_rl(&w->rl, what, why);
}

/* Each side has its own limiter, so a ClickHouse outage never hides a NATS one. */
static void
warn_nats(nf_chwriter *w, const char *what, const char *why)
{
    warn_rl(&w->rl_nats, what, why);
}

static void
warn_ch(nf_chwriter *w, const char *what, const char *why)
{
    warn_rl(&w->rl_ch, what, why);
}

/* ---- connecting ------------------------------------------------------------------------- */

/* NATS side ready: connected, dead-letter stream, consumer bound. */
static bool
bus_ready(nf_chwriter *w)
{
    const nf_chwriter_config *cfg = w->cfg;
    nf_bus_reader_config rc = {
        .bus = {.url = cfg->nats_url,
                .security = &cfg->security,
                .name = "serviceradar-netflow-clickhouse"},
        .dead_letter_stream = cfg->dead_letter_stream,
        .dead_letter_subject = cfg->dead_letter_subject,
        .dead_letter_max_age_ms = cfg->dead_letter_max_age_ms,
        .stream = cfg->stream,
        .durable = cfg->consumer,
        .subject = cfg->subject,
        .ack_wait_ms = cfg->ack_wait_ms,
        .max_ack_pending = (int)cfg->max_ack_pending};
    nf_err err = {0};
    unsigned done = 0;
    const char *what = NULL;
    nf_status st =
        nf_bus_reader_ready(&rc, &w->bus, &w->dlq_ready, &w->consumer, &done, &what, &err);
    if (done & NF_BUS_READER_CONNECTED)
        nf_log_info(COMP, "connected to NATS %s", cfg->nats_url);
    if (done & NF_BUS_READER_BOUND)
        nf_log_info(COMP, "reading stream %s subject %s as durable %s", cfg->stream,
                    cfg->subject, cfg->consumer);
    if (st != NF_OK) {
        warn_nats(w, what, err.msg);
        return false;
    }
    return true;
}

/* ClickHouse side ready: client and schema. */
static bool
clickhouse_ready(nf_chwriter *w)
{
    nf_err err = {0};
    nf_ch_config cc = {.url = w->cfg->clickhouse_url,
                       .user = w->cfg->clickhouse_user,
                       .password = w->cfg->clickhouse_password,
                       /* no default database: it may not exist before the schema, and every
                        * statement names it */
                       .timeout_ms = w->cfg->clickhouse_timeout_ms};
    /* Two connections: the inserter's is only touched before the first hand-over. */
    if ((w->ch == NULL && nf_ch_open(&cc, &w->ch, &err) != NF_OK) ||
        (w->ch_insert == NULL && nf_ch_open(&cc, &w->ch_insert, &err) != NF_OK)) {
        warn_ch(w, "ClickHouse", err.msg);
        return false;
    }
    if (atomic_exchange(&w->schema_lost, 0))
        w->schema_ready = false;
    if (!w->schema_ready) {
        if (nf_ch_schema_apply(w->ch, w->cfg->clickhouse_database, &err) != NF_OK) {
            atomic_store(&w->st.clickhouse_up, 0);
            warn_ch(w, "ClickHouse schema", err.msg);
            return false;
        }
        char version[64] = "?";
        nf_ch_server_version(w->ch, version, sizeof(version), NULL);
        nf_log_info(COMP, "ClickHouse %s at %s: schema %d ready in database %s", version,
                    w->cfg->clickhouse_url, NF_CH_SCHEMA_VERSION, w->cfg->clickhouse_database);
        w->schema_ready = true;
        atomic_store(&w->st.clickhouse_up, 1);
    }
    return true;
}

/* ---- retention -------------------------------------------------------------------------- */

static void
maybe_retention(nf_chwriter *w)
{
    uint64_t now = nf_mono_ms();
    if (now < w->next_retention_ms)
        return;
    nf_ch_retention_result res = {0};
    nf_err err = {0};
    unsigned days = (unsigned)(w->cfg->retention_ms / 86400000u);
    atomic_fetch_add(&w->st.retention_runs, 1);
    if (nf_ch_retention_apply(w->ch, w->cfg->clickhouse_database, days, time(NULL), &res,
                              &err) != NF_OK) {
        atomic_fetch_add(&w->st.retention_failures, 1);
        nf_log_warn(COMP, "retention: %s (retried in %u min)", err.msg,
                    RETENTION_RETRY_MS / 60000);
        w->next_retention_ms = now + RETENTION_RETRY_MS;
        return;
    }
    atomic_fetch_add(&w->st.retention_dropped, res.partitions_dropped);
    if (res.partitions_dropped > 0)
        nf_log_info(COMP, "retention: dropped %u day partitions older than %u days",
                    res.partitions_dropped, days);
    w->next_retention_ms = now + RETENTION_EVERY_MS;
}

/* ---- the batch ---------------------------------------------------------------------------- */

static bool
batch_holds(const batch *b, uint64_t stream_seq)
{
    for (size_t i = 0; i < b->nheld; i++)
        if (b->held[i].msg.stream_seq == stream_seq)
            return true;
    return false;
}

/* Held by the batch being filled or by the INSERT in flight (the inserter never changes
 * flight's messages, so the main thread may read them while it runs). */
static bool
is_held(const nf_chwriter *w, uint64_t stream_seq)
{
    return batch_holds(&w->cur, stream_seq) || batch_holds(&w->flight, stream_seq);
}

/* Gives every message of b back to JetStream for redelivery after delay_ms and empties b
 * (its rows go too: the messages come back and are decoded again). */
static void
nak_batch(nf_chwriter *w, batch *b, uint64_t delay_ms)
{
    for (size_t i = 0; i < b->nheld; i++)
        if (w->consumer == NULL || nf_bus_nak(w->consumer, &b->held[i].msg, delay_ms, NULL) != NF_OK)
            nf_bus_msg_release(&b->held[i].msg); /* redelivered after ack_wait instead */
    b->nheld = 0;
    nf_rowbuf_reset(&b->rows);
}

static void
publish_held_gauge(nf_chwriter *w)
{
    atomic_store(&w->st.held_records, w->cur.rows.rows);
}

/* The inserter thread: INSERTs b's rows. True if ClickHouse stored them. Touches only
 * ch_insert and b's rows: every NATS call stays on the main thread (chwriter.h). */
/* Inserter: the INSERT query_id's answer never came (a timeout, a lost connection), so
 * ClickHouse may still run it — even later, from the bytes it already holds. Its messages
 * must not be handed back before that is settled: redelivered and looked up in ingest_log
 * while the INSERT is still on its way, they would be inserted a second time (found by the
 * fault suite: ClickHouse frozen past clickhouse_timeout, or slow to shut down). So the flight
 * stays in flight until the server says the query is not running (KILL QUERY … ASYNC, then
 * system.processes), checked twice a second apart: a request the server had not started when
 * it was frozen registers within moments of it resuming. At stop this is given up (the next
 * run's look-up then carries the small risk). */
static void
await_unknown_outcome(nf_chwriter *w, const char *query_id)
{
    atomic_fetch_add(&w->st.unknown_outcomes, 1);
    uint64_t delay = 200;
    for (;;) {
        nf_err e = {0};
        if (nf_ch_query_gone(w->ch_insert, query_id, &e) == NF_OK) {
            if (nap(w, 1000))
                break;
            if (nf_ch_query_gone(w->ch_insert, query_id, &e) == NF_OK) {
                nf_log_info(COMP, "INSERT %s (no answer) is not running on ClickHouse: its "
                            "messages go back", query_id);
                return;
            }
        }
        warn_rl(&w->insert_rl, "INSERT of unknown outcome; waiting until ClickHouse says it "
                "has ended", e.msg);
        if (nap(w, delay))
            break;
        delay = delay < 2500 ? delay * 2 : 5000;
    }
    nf_log_warn(COMP, "stopping while INSERT %s (no answer) may still run on ClickHouse",
                query_id);
}

static bool
insert_rows(nf_chwriter *w, const batch *b)
{
    nf_err err = {0};
    uint64_t t0 = nf_mono_ms();
    char query_id[64];
    snprintf(query_id, sizeof(query_id), "netflow-writer-%" PRIu64 "-%" PRIu64, w->started_ms,
             ++w->insert_seq);
    nf_log_debug(COMP, "INSERT %s: %zu messages (stream %" PRIu64 " .. %" PRIu64 "), %zu rows",
                 query_id, b->nheld, b->held[0].msg.stream_seq,
                 b->held[b->nheld - 1].msg.stream_seq, b->rows.rows);
    nf_status st = nf_ch_insert_rowbinary_id(w->ch_insert, w->into, query_id, b->rows.buf,
                                             b->rows.len, &err);
    nf_log_debug(COMP, "INSERT %s: %s", query_id, st == NF_OK ? "stored" : err.msg);
    if (st != NF_OK && nf_ch_last_unanswered(w->ch_insert)) {
        atomic_fetch_add(&w->st.insert_failures, 1);
        atomic_store(&w->st.clickhouse_up, 0);
        warn_rl(&w->insert_rl, "INSERT got no answer", err.msg);
        await_unknown_outcome(w, query_id);
        return false;
    }
    if (st != NF_OK) {
        atomic_fetch_add(&w->st.insert_failures, 1);
        atomic_store(&w->st.clickhouse_up, 0);
        int code = nf_ch_last_code(w->ch_insert);
        if (code == 60 || code == 16) /* unknown table or column: someone changed the schema */
            atomic_store(&w->schema_lost, 1);
        warn_rl(&w->insert_rl, "INSERT failed, messages will be redelivered", err.msg);
        return false;
    }
    atomic_store(&w->st.clickhouse_up, 1);
    atomic_fetch_add(&w->st.inserts, 1);
    atomic_fetch_add(&w->st.insert_ms_total, nf_mono_ms() - t0);
    atomic_fetch_add(&w->st.records_inserted, b->rows.rows);
    return true;
}

static void *
inserter(void *arg)
{
    nf_chwriter *w = arg;
    pthread_mutex_lock(&w->imu);
    for (;;) {
        while (!w->in_flight && !w->inserter_quit)
            pthread_cond_wait(&w->icv, &w->imu);
        if (!w->in_flight)
            break; /* quit, nothing handed over */
        pthread_mutex_unlock(&w->imu);
        bool ok = insert_rows(w, &w->flight);
        pthread_mutex_lock(&w->imu);
        w->in_flight = false;
        w->flight_done = true;
        w->flight_ok = ok;
        pthread_cond_broadcast(&w->icv);
    }
    pthread_mutex_unlock(&w->imu);
    return NULL;
}

/* Main thread: acks the messages of a flight whose INSERT succeeded, or naks them (and
 * backs off: nap_due) if it failed; then the flight is empty. Returns at once if the INSERT
 * is still running or nothing was handed over. */
static void
settle_flight(nf_chwriter *w)
{
    pthread_mutex_lock(&w->imu);
    bool done = w->flight_done, ok = w->flight_ok;
    w->flight_done = false;
    pthread_mutex_unlock(&w->imu);
    if (!done)
        return;
    batch *b = &w->flight;
    if (!ok) {
        w->nap_due = true;
        nak_batch(w, b, nf_backoff_next(&w->backoff));
    } else {
        nf_backoff_reset(&w->backoff);
        for (size_t i = 0; i < b->nheld; i++) {
            nf_err err = {0};
            /* A failed ack only means a redelivery, which the ingest log answers. */
            if (nf_bus_ack(w->consumer, &b->held[i].msg, &err) == NF_OK)
                atomic_fetch_add(&w->st.messages_acked, 1);
            else {
                atomic_fetch_add(&w->st.ack_failures, 1);
                nf_bus_msg_release(&b->held[i].msg);
            }
        }
        b->nheld = 0;
        nf_rowbuf_reset(&b->rows);
    }
    atomic_store(&w->st.flight_records, 0);
}

/* Waits until no INSERT is in flight and settles the last one (invariant 5). */
static void
wait_idle(nf_chwriter *w)
{
    pthread_mutex_lock(&w->imu);
    while (w->in_flight)
        pthread_cond_wait(&w->icv, &w->imu);
    pthread_mutex_unlock(&w->imu);
    settle_flight(w);
}

/* Hands the batch being filled to the inserter (after the previous INSERT finished and was
 * settled) and starts an empty one: the next batch is fetched and decoded while this one is
 * inserted. */
static void
dispatch(nf_chwriter *w)
{
    if (w->cur.nheld == 0)
        return;
    wait_idle(w);
    batch b = w->flight; /* empty: settle_flight emptied it */
    w->flight = w->cur;
    w->cur = b;
    atomic_store(&w->st.flight_records, w->flight.rows.rows);
    publish_held_gauge(w);
    pthread_mutex_lock(&w->imu);
    w->in_flight = true;
    pthread_cond_broadcast(&w->icv);
    pthread_mutex_unlock(&w->imu);
}

/* Copies m to the dead-letter stream with its reason, then terminates it. */
static void
dead_letter(nf_chwriter *w, nf_bus_msg *m, const char *id, const char *reason)
{
    uint64_t seq = m->stream_seq; /* m is settled below */
    nf_err err = {0};
    if (nf_bus_dead_letter(w->bus, w->consumer, m, w->cfg->dead_letter_subject, w->cfg->stream,
                           id, reason, w->cfg->backoff_max_ms, &err) != NF_OK) {
        atomic_fetch_add(&w->st.dead_letter_failures, 1);
        warn_limited(w, "dead letter not stored, message retried", err.msg);
        return;
    }
    atomic_fetch_add(&w->st.dead_letters, 1);
    nf_log_warn(COMP, "message %s (stream sequence %" PRIu64 ") dead-lettered to %s: %s", id,
                seq, w->cfg->dead_letter_subject, reason);
}

static bool
grow_flows(nf_chwriter *w, size_t n)
{
    if (n <= w->flows_cap)
        return true;
    nf_flow *f = realloc(w->flows, n * sizeof(nf_flow));
    if (f == NULL)
        return false;
    w->flows = f;
    w->flows_cap = n;
    return true;
}

static bool
hold(nf_chwriter *w, const nf_bus_msg *m, const char *id, uint64_t records)
{
    if (w->cur.nheld == w->cur.cap) {
        size_t cap = w->cur.cap ? w->cur.cap * 2 : 64;
        held_msg *h = realloc(w->cur.held, cap * sizeof(*h));
        if (h == NULL)
            return false;
        w->cur.held = h;
        w->cur.cap = cap;
    }
    held_msg *h = &w->cur.held[w->cur.nheld++];
    h->msg = *m;
    size_t n = strnlen(id, sizeof(h->id) - 1);
    memcpy(h->id, id, n);
    h->id[n] = '\0';
    h->records = records;
    if (w->cur.nheld == 1)
        w->cur.started_ms = nf_mono_ms();
    return true;
}

/* Decodes m and adds its rows to the batch (flushing first if they would not fit), or
 * dead-letters it. Takes ownership of *m. */
static void
take(nf_chwriter *w, nf_bus_msg *m, const char *id)
{
    nf_flowbatch_header h;
    nf_err err = {0};
    if (nf_flowbatch_peek(m->data, m->len, &h, &err) != NF_OK) {
        dead_letter(w, m, id, err.msg);
        return;
    }
    if (h.records > RECORDS_PER_MSG_MAX) {
        dead_letter(w, m, id, "more records than a FlowBatch can hold");
        return;
    }
    if (!grow_flows(w, h.records ? h.records : 1)) {
        warn_limited(w, "out of memory decoding a batch", id);
        nf_bus_msg_release(m);
        return;
    }
    size_t n = 0;
    if (nf_flowbatch_decode(m->data, m->len, &h, w->flows, NULL, w->flows_cap, &n, &err) !=
        NF_OK) {
        dead_letter(w, m, id, err.msg);
        return;
    }
    atomic_fetch_add(&w->st.records, n);
    if (w->cur.nheld > 0 && w->cur.rows.rows + n > w->cfg->batch_size)
        dispatch(w); /* keeps every INSERT within batch_size rows (invariant 2) */
    size_t mark = w->cur.rows.len, rows_mark = w->cur.rows.rows;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = nf_rowbuf_add(&w->cur.rows, &w->flows[i], h.agent_id, id);
    if (!ok || !hold(w, m, id, n)) {
        w->cur.rows.len = mark, w->cur.rows.rows = rows_mark;
        warn_limited(w, "out of memory holding a batch", id);
        nf_bus_msg_release(m);
        return;
    }
    publish_held_gauge(w);
}

/* Writes s as uppercase hex (what ClickHouse's hex() returns) at out; returns the end. */
static char *
put_hex(char *out, const char *s)
{
    static const char digits[] = "0123456789ABCDEF";
    for (; *s; s++) {
        *out++ = digits[(unsigned char)*s >> 4];
        *out++ = digits[(unsigned char)*s & 15];
    }
    return out;
}

/* Which of ids[0..n) are in ingest_log: found[i]. The ids come from message headers, i.e.
 * from whoever published: they reach the SQL only as hex inside unhex('…'). */
static nf_status
lookup_ingested(nf_chwriter *w, char (*ids)[MSG_ID_MAX], size_t n, bool *found, nf_err *err)
{
    size_t cap = 256 + n * (2 * MSG_ID_MAX + 16);
    char *sql = malloc(cap);
    if (sql == NULL)
        return nf_err_set(err, NF_ENOMEM, "out of memory");
    char *p = sql + snprintf(sql, cap, "SELECT hex(msg_id) FROM %s.ingest_log WHERE msg_id IN (",
                             w->cfg->clickhouse_database);
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%sunhex('", i > 0 ? "," : "");
        p = put_hex(p, ids[i]);
        p += sprintf(p, "')");
    }
    strcpy(p, ") FORMAT TabSeparated");
    char *body = NULL;
    size_t blen = 0;
    nf_status st = nf_ch_query(w->ch, sql, 0, &body, &blen, err);
    free(sql);
    if (st != NF_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        char line[2 * MSG_ID_MAX + 2];
        char *end = put_hex(line, ids[i]);
        *end++ = '\n';
        *end = '\0';
        size_t k = (size_t)(end - line);
        /* The answer is one hex id per line: match whole lines only. */
        found[i] = false;
        for (const char *q = body; !found[i] && (q = strstr(q, line)) != NULL; q += k)
            found[i] = q == body || q[-1] == '\n';
    }
    free(body);
    return NF_OK;
}

/* True if msgs[0..i) has another delivery of msgs[i] still in hand (not released). */
static bool
earlier_in_group(const nf_bus_msg *msgs, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (msgs[j].handle != NULL && msgs[j].stream_seq == msgs[i].stream_seq)
            return true;
    return false;
}

/* Handles one fetched group. A delivery of a message the writer holds (in the batch being
 * filled or in the INSERT in flight) or has earlier in the group is released (invariant 3); every other message is looked
 * up in ingest_log and acked without inserting if it is there (invariant 5). All of them,
 * not only redeliveries: after a nats-server restart JetStream delivered a message again
 * with num_delivered 1 — its consumer state on disk was older than what it had delivered
 * and we had acked (found by the fault suite) — so the count cannot tell a new message. */
static void
take_all(nf_chwriter *w, nf_bus_msg *msgs, size_t n)
{
    char ids[FETCH_MAX][MSG_ID_MAX];
    size_t ncheck = 0, where[FETCH_MAX];
    for (size_t i = 0; i < n; i++) {
        atomic_fetch_add(&w->st.messages, 1);
        nf_bus_msg_id(&msgs[i], ids[i], MSG_ID_MAX);
        nf_log_debug(COMP, "fetched %s: stream %" PRIu64 ", delivery %" PRIu64, ids[i],
                     msgs[i].stream_seq, msgs[i].num_delivered);
        if (msgs[i].num_delivered > 1)
            atomic_fetch_add(&w->st.redeliveries, 1);
        if (is_held(w, msgs[i].stream_seq) || earlier_in_group(msgs, i)) {
            atomic_fetch_add(&w->st.held_twice, 1);
            nf_bus_msg_release(&msgs[i]);
            continue;
        }
        where[ncheck++] = i;
    }
    if (ncheck == 0)
        return;
    char check[FETCH_MAX][MSG_ID_MAX];
    for (size_t k = 0; k < ncheck; k++)
        memcpy(check[k], ids[where[k]], MSG_ID_MAX);
    bool found[FETCH_MAX] = {false};
    nf_err err = {0};
    atomic_fetch_add(&w->st.lookups, 1);
    if (lookup_ingested(w, check, ncheck, found, &err) != NF_OK) {
        atomic_fetch_add(&w->st.lookup_failures, 1);
        atomic_store(&w->st.clickhouse_up, 0);
        warn_ch(w, "ingest_log look-up failed, messages retried later", err.msg);
        uint64_t delay = nf_backoff_next(&w->backoff);
        for (size_t k = 0; k < ncheck; k++)
            if (nf_bus_nak(w->consumer, &msgs[where[k]], delay, NULL) != NF_OK)
                nf_bus_msg_release(&msgs[where[k]]);
        w->nap_due = true; /* ClickHouse is away or failing: give it time */
        return;
    }
    for (size_t k = 0; k < ncheck; k++) {
        nf_bus_msg *m = &msgs[where[k]];
        if (!found[k]) {
            take(w, m, check[k]);
            continue;
        }
        atomic_fetch_add(&w->st.already_stored, 1);
        nf_log_debug(COMP, "%s is in ingest_log: acked", check[k]);
        if (nf_bus_ack(w->consumer, m, &err) != NF_OK) {
            atomic_fetch_add(&w->st.ack_failures, 1);
            nf_bus_msg_release(m);
        }
    }
}

/* ---- the thread --------------------------------------------------------------------------- */

/* How long a fetch may wait: until the batch is due, and not long while an INSERT is in
 * flight (its messages are acked by this thread, after the fetch). The inserter does not
 * change flight.nheld, so reading it here is safe. */
static uint64_t
fetch_wait_ms(const nf_chwriter *w)
{
    uint64_t wait = w->cfg->batch_interval_ms;
    if (w->cur.nheld > 0) {
        uint64_t age = nf_mono_ms() - w->cur.started_ms;
        wait = age >= wait ? 1 : wait - age;
    }
    if (w->flight.nheld > 0 && wait > FLIGHT_POLL_MS)
        wait = FLIGHT_POLL_MS;
    return wait;
}

static void
step(nf_chwriter *w)
{
    nf_bus_msg msgs[FETCH_MAX];
    size_t n = 0;
    nf_err err = {0};
    nf_status st = nf_bus_fetch(w->consumer, FETCH_MAX, fetch_wait_ms(w), msgs, &n, &err);
    atomic_store(&w->st.nats_up, st == NF_OK);
    if (st != NF_OK) {
        warn_nats(w, "fetch", err.msg);
        if (w->cur.nheld > 0) /* cannot ack while NATS is away: let them come back */
            nak_batch(w, &w->cur, 0);
        publish_held_gauge(w);
        settle_flight(w); /* acks fail now: redelivered later, found in ingest_log */
        nap(w, nf_backoff_next(&w->backoff));
        return;
    }
    settle_flight(w);
    nf_bus_lag_refresh(&w->st.lag, w->bus, w->cfg->stream, w->cfg->consumer, LAG_EVERY_MS);
    take_all(w, msgs, n);
    bool due = w->cur.nheld > 0 &&
               (w->cur.rows.rows >= w->cfg->batch_size ||
                nf_mono_ms() - w->cur.started_ms >= w->cfg->batch_interval_ms);
    if (due)
        dispatch(w);
    if (w->nap_due) { /* an INSERT failed: give ClickHouse time */
        w->nap_due = false;
        nap(w, nf_backoff_next(&w->backoff));
    }
}

static void *
run(void *arg)
{
    nf_chwriter *w = arg;
    while (!stopping(w)) {
        /* Each side independently: the schema and retention need only ClickHouse. */
        bool ch = clickhouse_ready(w);
        if (ch)
            maybe_retention(w);
        bool bus = bus_ready(w);
        if (!ch || !bus) {
            atomic_store(&w->st.nats_up, w->consumer != NULL);
            if (nap(w, nf_backoff_next(&w->backoff)))
                break;
            continue;
        }
        step(w);
    }
    /* Stopping: one attempt to store what is held (the inserter naks it if that fails),
     * else hand it back. */
    if (w->ch_insert != NULL)
        dispatch(w);
    wait_idle(w);
    nak_batch(w, &w->cur, 0);
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

nf_status
nf_chwriter_create(const nf_chwriter_config *cfg, nf_chwriter **out, nf_err *err)
{
    nf_chwriter *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nf_err_set(err, NF_ENOMEM, "clickhouse writer: out of memory");
    w->cfg = cfg;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    w->started_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_mutex_init(&w->imu, NULL);
    pthread_cond_init(&w->icv, NULL);
    unsigned seed = (unsigned)(nf_mono_ns() ^ (uintptr_t)w);
    nf_backoff_init(&w->backoff, cfg->backoff_min_ms, cfg->backoff_max_ms, seed);
    int n = snprintf(w->into, sizeof(w->into), "%s.ingest %s", cfg->clickhouse_database,
                     NF_CH_INGEST_COLUMNS);
    if (n < 0 || (size_t)n >= sizeof(w->into)) {
        nf_chwriter_destroy(w);
        return nf_err_set(err, NF_EINVAL, "clickhouse_database is too long");
    }
    *out = w;
    return NF_OK;
}

nf_status
nf_chwriter_start(nf_chwriter *w, nf_err *err)
{
    int rc = pthread_create(&w->inserter, NULL, inserter, w);
    if (rc != 0)
        return nf_err_sys(err, NF_EIO, rc, "clickhouse writer: starting its inserter thread");
    w->inserter_started = true;
    rc = pthread_create(&w->thread, NULL, run, w);
    if (rc != 0)
        return nf_err_sys(err, NF_EIO, rc, "clickhouse writer: starting its thread");
    w->started = true;
    return NF_OK;
}

void
nf_chwriter_stop(nf_chwriter *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    if (w->started) { /* it waits for the last INSERT before it returns */
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    if (w->inserter_started) {
        pthread_mutex_lock(&w->imu);
        w->inserter_quit = true;
        pthread_cond_broadcast(&w->icv);
        pthread_mutex_unlock(&w->imu);
        pthread_join(w->inserter, NULL);
        w->inserter_started = false;
    }
}

static void
batch_free(batch *b)
{
    nf_rowbuf_free(&b->rows);
    free(b->held);
}

void
nf_chwriter_destroy(nf_chwriter *w)
{
    if (w == NULL)
        return;
    nf_chwriter_stop(w);
    nak_batch(w, &w->cur, 0);
    nak_batch(w, &w->flight, 0);
    nf_bus_consumer_close(w->consumer);
    nf_bus_close(w->bus);
    nf_ch_close(w->ch);
    nf_ch_close(w->ch_insert);
    batch_free(&w->cur);
    batch_free(&w->flight);
    free(w->flows);
    pthread_cond_destroy(&w->icv);
    pthread_mutex_destroy(&w->imu);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* ---- metrics ------------------------------------------------------------------------------ */

void
nf_chwriter_render_metrics(void *ctx, nf_metrics *m)
{
    nf_chwriter *w = ctx;
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"messages_total", "JetStream messages fetched", offsetof(stats, messages)},
        {"records_total", "flow records in decoded messages", offsetof(stats, records)},
        {"redeliveries_total", "messages delivered again (a writer died or an INSERT failed)",
         offsetof(stats, redeliveries)},
        {"already_stored_total", "messages found in ingest_log (stored before): acked, not inserted",
         offsetof(stats, already_stored)},
        {"held_twice_total", "deliveries of a message already waiting for its INSERT: dropped",
         offsetof(stats, held_twice)},
        {"inserts_total", "successful INSERTs", offsetof(stats, inserts)},
        {"records_inserted_total", "flow records inserted", offsetof(stats, records_inserted)},
        {"messages_acked_total", "messages acknowledged after their INSERT",
         offsetof(stats, messages_acked)},
        {"insert_failures_total", "INSERTs that failed (messages redelivered)",
         offsetof(stats, insert_failures)},
        {"insert_milliseconds_total", "time spent in successful INSERTs",
         offsetof(stats, insert_ms_total)},
        {"ack_failures_total", "acks that failed after a good INSERT (redelivery is deduplicated)",
         offsetof(stats, ack_failures)},
        {"dead_letters_total", "undecodable messages copied to the dead-letter stream",
         offsetof(stats, dead_letters)},
        {"dead_letter_failures_total", "dead letters that could not be stored (retried)",
         offsetof(stats, dead_letter_failures)},
        {"lookups_total", "ingest_log look-ups (one per fetch of messages not held)",
         offsetof(stats, lookups)},
        {"lookup_failures_total", "ingest_log look-ups that failed (messages retried)",
         offsetof(stats, lookup_failures)},
        {"retention_runs_total", "retention passes", offsetof(stats, retention_runs)},
        {"retention_partitions_dropped_total", "day partitions dropped by retention",
         offsetof(stats, retention_dropped)},
        {"retention_failures_total", "retention passes that failed",
         offsetof(stats, retention_failures)},
        {"insert_unknown_outcomes_total",
         "INSERTs without an answer, held until ClickHouse said they had ended",
         offsetof(stats, unknown_outcomes)},
    };
    char name[128];
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        snprintf(name, sizeof(name), "serviceradar_netflow_clickhouse_%s", counters[i].name);
        atomic_uint_fast64_t *v = (atomic_uint_fast64_t *)((char *)&w->st + counters[i].offset);
        nf_metrics_counter(m, name, counters[i].help, atomic_load(v));
    }
    nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_held_records",
                     "records not stored yet: in the batch being filled and in the INSERT in flight",
                     (double)(atomic_load(&w->st.held_records) +
                              atomic_load(&w->st.flight_records)));
    nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_up",
                     "1 while the last ClickHouse request succeeded",
                     atomic_load(&w->st.clickhouse_up));
    nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_nats_up",
                     "1 while the last fetch from JetStream succeeded",
                     atomic_load(&w->st.nats_up));
    uint64_t pending, ack_pending;
    if (nf_bus_lag_read(&w->st.lag, &pending, &ack_pending)) {
        nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_consumer_pending_messages",
                         "messages in the stream not delivered to this durable yet (its lag)",
                         (double)pending);
        nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_consumer_ack_pending",
                         "messages delivered to this durable and not acked yet",
                         (double)ack_pending);
    }
}
