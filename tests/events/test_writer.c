/* tests/events/test_writer.c — the group-commit writer: many producers, every ack exactly
 * once after commit, gapless unique seqs, group commit actually grouping, per-submitter
 * order, conflict isolation inside one group, unique-key races, back-pressure, drain on
 * stop, copied payloads, and storage-full failing the group cleanly. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "events/log.h"
#include "events/writer.h"
#include "tests/support/tmpdir.h"

static char tmp_root[64];
static stk_log_t *LOG;

static void open_log(uint64_t map_size)
{
    cr_assert_eq(stk_test_tmpdir_make(tmp_root, sizeof tmp_root, "writer"), 0);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/log", tmp_root);
    stk_log_opts_t o = {.map_size = map_size};
    cr_assert_eq(stk_log_open(&LOG, dir, &o), 0);
}

static void setup(void)
{
    open_log(512u << 20);
}

static void teardown(void)
{
    stk_log_close(LOG);
    LOG = NULL;
    stk_test_tmpdir_remove(tmp_root);
}

static stk_uuid_t uuid_n(uint32_t n)
{
    stk_uuid_t u;
    memset(&u, 0, sizeof u);
    u.b[0] = 0x77;
    u.b[12] = (uint8_t)(n >> 24);
    u.b[13] = (uint8_t)(n >> 16);
    u.b[14] = (uint8_t)(n >> 8);
    u.b[15] = (uint8_t)n;
    return u;
}

static stk_append_t item(stk_uuid_t stream, uint64_t expected, const void *p, size_t n)
{
    stk_append_t a;
    memset(&a, 0, sizeof a);
    a.stream = stream;
    a.type = 1;
    a.schema = 1;
    a.payload = p;
    a.payload_len = n;
    a.expected_version = expected;
    return a;
}

TestSuite(writer, .init = setup, .fini = teardown);

/* ---- many producers ---- */

#define PRODUCERS    64
#define PER_PRODUCER 100
#define TOTAL        (PRODUCERS * PER_PRODUCER)

typedef struct acks {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t done;
    size_t failed;
    uint32_t calls[TOTAL];   /* done_cb calls per submission */
    uint64_t seq_of[TOTAL];  /* seq per submission */
    uint64_t version[TOTAL]; /* stream version per submission */
    uint8_t seen[TOTAL + 2]; /* seq → acked (seq 1 is the hold batch) */
    int dup_seq;
    uint64_t head_at_ack_min; /* min over acks of (head visible at ack - acked seq) >= 0 */
    int ack_before_commit;
} acks_t;

static acks_t ACKS;

static void ack_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    size_t id = (size_t)(uintptr_t)ud;
    /* The event must already be readable by anyone: the ack comes after the commit. */
    uint64_t head = 0;
    int hrc = stk_log_head(LOG, &head, NULL);
    pthread_mutex_lock(&ACKS.mu);
    ACKS.calls[id]++;
    if (status != 0 || n != 1 || res == NULL) {
        ACKS.failed++;
    } else {
        ACKS.seq_of[id] = res[0].seq;
        ACKS.version[id] = res[0].version;
        if (res[0].seq < 2 || res[0].seq > TOTAL + 1 || ACKS.seen[res[0].seq])
            ACKS.dup_seq = 1;
        else
            ACKS.seen[res[0].seq] = 1;
        if (hrc != 0 || head < res[0].seq)
            ACKS.ack_before_commit = 1;
    }
    ACKS.done++;
    pthread_cond_broadcast(&ACKS.cv);
    pthread_mutex_unlock(&ACKS.mu);
}

/* Holds the writer thread inside the first batch's callback until released, so that a
 * backlog builds up while producers keep submitting: grouping then does not depend on
 * how fast the disk is. */
typedef struct hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, released;
} hold_t;

static void hold_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    (void)status;
    (void)res;
    (void)n;
    hold_t *h = ud;
    pthread_mutex_lock(&h->mu);
    h->entered = 1;
    pthread_cond_broadcast(&h->cv);
    while (!h->released)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

typedef struct producer {
    stk_writer_t *w;
    uint32_t index;
    int err;
} producer_t;

static void *produce(void *arg)
{
    producer_t *p = arg;
    stk_uuid_t stream = uuid_n(p->index);
    for (uint32_t k = 0; k < PER_PRODUCER; k++) {
        uint32_t payload[2] = {p->index, k};
        stk_append_t a = item(stream, STK_VERSION_ANY, payload, sizeof payload);
        size_t id = (size_t)p->index * PER_PRODUCER + k;
        int rc;
        while ((rc = stk_writer_submit(p->w, &a, 1, ack_cb, (void *)(uintptr_t)id)) == STK_EBUSY)
            sched_yield();
        if (rc != 0) {
            p->err = rc;
            return NULL;
        }
    }
    return NULL;
}

typedef struct order_check {
    uint32_t producer;
    uint32_t next;
    int bad;
} order_check_t;

static int order_cb(void *ud, const stk_envelope_t *e)
{
    order_check_t *oc = ud;
    uint32_t payload[2];
    if (e->payload_len != sizeof payload) {
        oc->bad++;
        return 0;
    }
    memcpy(payload, e->payload, sizeof payload);
    if (payload[0] != oc->producer || payload[1] != oc->next || e->version != oc->next + 1)
        oc->bad++;
    oc->next++;
    return 0;
}

Test(writer, many_producers_get_every_ack_once_with_gapless_seqs_and_grouped_commits,
     .timeout = 240)
{
    memset(&ACKS, 0, sizeof ACKS);
    pthread_mutex_init(&ACKS.mu, NULL);
    pthread_cond_init(&ACKS.cv, NULL);
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, NULL), 0);
    hold_t hold = {.entered = 0};
    pthread_mutex_init(&hold.mu, NULL);
    pthread_cond_init(&hold.cv, NULL);
    stk_append_t first = item(uuid_n(9999), STK_VERSION_NONE, "hold", 4);
    cr_assert_eq(stk_writer_submit(w, &first, 1, hold_cb, &hold), 0);
    pthread_mutex_lock(&hold.mu);
    while (!hold.entered)
        pthread_cond_wait(&hold.cv, &hold.mu);
    pthread_mutex_unlock(&hold.mu);

    pthread_t th[PRODUCERS];
    producer_t p[PRODUCERS];
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        p[i] = (producer_t){.w = w, .index = i};
        cr_assert_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    /* Release the writer once a backlog exists; producers go on submitting meanwhile. */
    stk_writer_stats_t st;
    do {
        stk_writer_stats(w, &st);
        if (st.queued < PRODUCERS)
            sched_yield();
    } while (st.queued < PRODUCERS);
    pthread_mutex_lock(&hold.mu);
    hold.released = 1;
    pthread_cond_broadcast(&hold.cv);
    pthread_mutex_unlock(&hold.mu);
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(p[i].err, 0, "producer %d: %s", i, stk_strerror(p[i].err));
    }
    pthread_mutex_lock(&ACKS.mu);
    while (ACKS.done < TOTAL)
        pthread_cond_wait(&ACKS.cv, &ACKS.mu);
    pthread_mutex_unlock(&ACKS.mu);

    stk_writer_stats(w, &st);
    stk_writer_free(w);
    pthread_cond_destroy(&hold.cv);
    pthread_mutex_destroy(&hold.mu);

    cr_expect_eq(ACKS.failed, 0);
    cr_expect_eq(ACKS.dup_seq, 0);
    cr_expect_eq(ACKS.ack_before_commit, 0);
    for (size_t i = 0; i < TOTAL; i++)
        cr_assert_eq(ACKS.calls[i], 1, "submission %zu acked %u times", i, ACKS.calls[i]);
    for (size_t s = 2; s <= TOTAL + 1; s++)
        cr_assert(ACKS.seen[s], "seq %zu never acked", s);

    uint64_t head = 0;
    cr_assert_eq(stk_log_head(LOG, &head, NULL), 0);
    cr_expect_eq(head, TOTAL + 1);
    cr_expect_eq(st.events, TOTAL + 1);
    cr_expect_eq(st.batches, TOTAL + 1);
    cr_expect_eq(st.batches_failed, 0);
    cr_expect_eq(st.queued, 0);
    /* Group commit happened: fewer transactions than events (the backlog of >= PRODUCERS
     * submissions built while the writer was held went into shared transactions). */
    cr_expect_lt(st.commits, st.events, "commits %llu events %llu", (unsigned long long)st.commits,
                 (unsigned long long)st.events);
    cr_expect_geq(st.max_group, PRODUCERS);

    /* Each producer's submissions keep their order in its stream. */
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        order_check_t oc = {.producer = i};
        stk_uuid_t s = uuid_n(i);
        cr_assert_eq(stk_log_read_stream(LOG, &s, 1, 0, order_cb, &oc), 0);
        cr_expect_eq(oc.next, PER_PRODUCER);
        cr_expect_eq(oc.bad, 0, "producer %u out of order", i);
    }
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
    pthread_cond_destroy(&ACKS.cv);
    pthread_mutex_destroy(&ACKS.mu);
}

/* ---- unique-key race ---- */

#define RACERS 16

typedef struct racer {
    stk_writer_t *w;
    pthread_barrier_t *start;
    uint32_t index;
    int rc;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    stk_uuid_t me = uuid_n(1000 + r->index);
    stk_unique_op_t claim = {
        .index = "username", .value = (const uint8_t *)"highlander", .value_len = 10, .owner = me};
    stk_append_t a = item(me, STK_VERSION_NONE, "\x80", 1);
    a.unique = &claim;
    a.n_unique = 1;
    stk_append_result_t res;
    pthread_barrier_wait(r->start);
    r->rc = stk_writer_append_wait(r->w, &a, 1, &res);
    return NULL;
}

Test(writer, concurrent_claims_of_one_username_have_exactly_one_winner)
{
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, NULL), 0);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    pthread_t th[RACERS];
    racer_t r[RACERS];
    for (uint32_t i = 0; i < RACERS; i++) {
        r[i] = (racer_t){.w = w, .start = &start, .index = i};
        cr_assert_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int winners = 0, losers = 0, winner = -1;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        if (r[i].rc == 0) {
            winners++;
            winner = i;
        } else if (r[i].rc == STK_EEXIST) {
            losers++;
        }
    }
    stk_writer_free(w);
    pthread_barrier_destroy(&start);
    cr_expect_eq(winners, 1);
    cr_expect_eq(losers, RACERS - 1);
    stk_uuid_t owner, expect = uuid_n(1000 + (uint32_t)winner);
    cr_assert_eq(stk_log_unique_get(LOG, "username", (const uint8_t *)"highlander", 10, &owner), 0);
    cr_expect(stk_uuid_eq(&owner, &expect));
    uint64_t head = 0;
    cr_assert_eq(stk_log_head(LOG, &head, NULL), 0);
    cr_expect_eq(head, 1); /* only the winner's event was written */
}

/* ---- nested transactions: one batch's failure does not touch the others ---- */

Test(writer, a_failed_batch_in_a_group_rolls_back_alone)
{
    stk_uuid_t a = uuid_n(1), b = uuid_n(2), c = uuid_n(3);
    stk_log_txn_t *t;
    cr_assert_eq(stk_log_txn_begin(LOG, &t), 0);
    stk_append_t ia[2] = {item(a, STK_VERSION_NONE, "a1", 2), item(a, 1, "a2", 2)};
    stk_append_t ib[2] = {item(b, STK_VERSION_NONE, "b1", 2), item(a, STK_VERSION_NONE, "x", 1)};
    stk_append_t ic[1] = {item(c, STK_VERSION_NONE, "c1", 2)};
    stk_append_result_t ra[2], rb[2], rc[1];
    cr_expect_eq(stk_log_txn_append(t, ia, 2, ra), 0);
    cr_expect_eq(stk_log_txn_append(t, ib, 2, rb), STK_ECONFLICT);
    cr_expect_eq(stk_log_txn_append(t, ic, 1, rc), 0);
    cr_assert_eq(stk_log_txn_commit(t), 0);
    cr_expect_eq(ra[1].seq, 2);
    cr_expect_eq(rc[0].seq, 3); /* b's seqs were rolled back, no gap */
    uint64_t v = 9;
    cr_assert_eq(stk_log_stream_version(LOG, &b, &v), 0);
    cr_expect_eq(v, 0);
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
    cr_expect_eq(rep.events, 3);
}

/* ---- back-pressure, drain, copies ---- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, open;
    int calls;
    int statuses[16];
} gate_t;

static void gate_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    (void)res;
    (void)n;
    gate_t *g = ud;
    pthread_mutex_lock(&g->mu);
    g->statuses[g->calls++] = status;
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

Test(writer, a_full_queue_says_busy_and_the_callback_of_a_refused_submit_never_runs)
{
    stk_writer_opts_t o = {.queue_max = 4};
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, &o), 0);
    gate_t g = {.entered = 0};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    stk_append_t a = item(uuid_n(1), STK_VERSION_ANY, "q", 1);

    /* The writer takes the first one and blocks in its callback. */
    cr_assert_eq(stk_writer_submit(w, &a, 1, gate_cb, &g), 0);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(stk_writer_submit(w, &a, 1, gate_cb, &g), 0);
    cr_expect_eq(stk_writer_submit(w, &a, 1, gate_cb, &g), STK_EBUSY);

    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    stk_writer_stop(w);
    cr_expect_eq(stk_writer_submit(w, &a, 1, gate_cb, &g), STK_ECLOSED);
    stk_writer_free(w);

    cr_expect_eq(g.calls, 5);
    for (int i = 0; i < 5; i++)
        cr_expect_eq(g.statuses[i], 0);
    uint64_t head = 0;
    cr_assert_eq(stk_log_head(LOG, &head, NULL), 0);
    cr_expect_eq(head, 5);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
}

static void count_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    (void)res;
    (void)n;
    int *counts = ud;
    __atomic_fetch_add(&counts[status == 0 ? 0 : 1], 1, __ATOMIC_SEQ_CST);
}

Test(writer, stop_commits_and_acks_everything_already_queued)
{
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, NULL), 0);
    int counts[2] = {0, 0};
    for (int i = 0; i < 1000; i++) {
        stk_append_t a = item(uuid_n((uint32_t)i % 5), STK_VERSION_ANY, "d", 1);
        cr_assert_eq(stk_writer_submit(w, &a, 1, count_cb, counts), 0);
    }
    stk_writer_stop(w);
    cr_expect_eq(counts[0], 1000);
    cr_expect_eq(counts[1], 0);
    stk_writer_stop(w); /* idempotent */
    stk_writer_free(w);
    uint64_t head = 0;
    cr_assert_eq(stk_log_head(LOG, &head, NULL), 0);
    cr_expect_eq(head, 1000);
}

Test(writer, submit_copies_the_batch)
{
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, NULL), 0);
    int counts[2] = {0, 0};
    char payload[16] = "original";
    char index[16] = "username";
    uint8_t value[8] = "name";
    stk_unique_op_t u = {.index = index, .value = value, .value_len = 4, .owner = uuid_n(1)};
    stk_append_t a = item(uuid_n(1), STK_VERSION_NONE, payload, 8);
    a.unique = &u;
    a.n_unique = 1;
    cr_assert_eq(stk_writer_submit(w, &a, 1, count_cb, counts), 0);
    memcpy(payload, "CLOBBER!", 8);
    memcpy(index, "clobber!", 8);
    memcpy(value, "XXXX", 4);
    memset(&a, 0xee, sizeof a);
    stk_writer_free(w);
    cr_expect_eq(counts[0], 1);

    stk_log_iter_t *it;
    cr_assert_eq(stk_log_iter_open(LOG, 1, &it), 0);
    stk_envelope_t e;
    cr_assert_eq(stk_log_iter_next(it, &e), 0);
    cr_expect_eq(e.payload_len, 8);
    cr_expect_eq(memcmp(e.payload, "original", 8), 0);
    stk_log_iter_close(it);
    stk_uuid_t owner;
    cr_expect_eq(stk_log_unique_get(LOG, "username", (const uint8_t *)"name", 4, &owner), 0);
}

typedef struct reentry {
    stk_writer_t *w;
    int rc;
} reentry_t;

static void reentry_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    (void)status;
    (void)res;
    (void)n;
    reentry_t *r = ud;
    stk_append_t a = item(uuid_n(2), STK_VERSION_ANY, "inner", 5);
    stk_append_result_t inner;
    r->rc = stk_writer_append_wait(r->w, &a, 1, &inner);
}

Test(writer, append_wait_from_a_done_cb_is_refused_not_deadlocked)
{
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, NULL), 0);
    reentry_t r = {.w = w, .rc = 1};
    stk_append_t a = item(uuid_n(1), STK_VERSION_ANY, "outer", 5);
    cr_assert_eq(stk_writer_submit(w, &a, 1, reentry_cb, &r), 0);
    stk_writer_free(w);
    cr_expect_eq(r.rc, STK_ESTATE);
}

Test(writer, invalid_batches_are_refused_at_submit)
{
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, NULL), 0);
    int counts[2] = {0, 0};
    stk_append_t a = item(uuid_n(1), STK_VERSION_ANY, "x", 1);
    cr_expect_eq(stk_writer_submit(w, &a, 0, count_cb, counts), STK_EINVAL);
    cr_expect_eq(stk_writer_submit(w, &a, 1, NULL, counts), STK_EINVAL);
    a.payload_len = STK_PAYLOAD_MAX + 1;
    cr_expect_eq(stk_writer_submit(w, &a, 1, count_cb, counts), STK_ETOOBIG);
    stk_writer_free(w);
    cr_expect_eq(counts[0] + counts[1], 0);
}

/* ---- storage full ---- */

typedef struct full_ctx {
    int ok, full, other;
} full_ctx_t;

static void full_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    (void)res;
    (void)n;
    full_ctx_t *f = ud;
    if (status == 0)
        f->ok++;
    else if (status == STK_EFULL)
        f->full++;
    else
        f->other++;
}

Test(writer_full, a_full_map_fails_the_group_cleanly)
{
    open_log(4u << 20);
    stk_writer_t *w;
    cr_assert_eq(stk_writer_start(&w, LOG, NULL), 0);
    uint8_t *big = calloc(1, 256u << 10);
    full_ctx_t f = {0};
    stk_append_result_t r;
    int rc = 0;
    for (int i = 0; i < 40 && rc != STK_EFULL; i++) {
        stk_append_t a = item(uuid_n(1), STK_VERSION_ANY, big, 256u << 10);
        rc = stk_writer_append_wait(w, &a, 1, &r);
        cr_assert(rc == 0 || rc == STK_EFULL, "%s", stk_strerror(rc));
        full_cb(&f, rc, NULL, 0);
    }
    cr_expect_eq(rc, STK_EFULL);
    /* Small appends still fit after a failed big one? Either way the log is intact. */
    stk_append_t small = item(uuid_n(2), STK_VERSION_ANY, "s", 1);
    int src = stk_writer_append_wait(w, &small, 1, &r);
    cr_expect(src == 0 || src == STK_EFULL);
    stk_writer_free(w);
    free(big);

    uint64_t head = 0;
    cr_assert_eq(stk_log_head(LOG, &head, NULL), 0);
    cr_expect_eq(head, (uint64_t)f.ok + (src == 0));
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
    teardown();
}
