/* tests/events/test_log.c — the LMDB log: appends read back by range and by stream,
 * optimistic concurrency, unique claims, snapshots, per-user keys, verification (clean
 * and tampered), hot backup under a concurrent writer, reopen, read-only, limits. */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "events/envelope.h"
#include "events/log.h"
#include "tests/support/tmpdir.h"

/* ---- helpers ---- */

static char tmp_root[64];
static stk_log_t *LOG;

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmp_root, name);
}

static void setup(void)
{
    cr_assert_eq(stk_test_tmpdir_make(tmp_root, sizeof tmp_root, "log"), 0);
    char dir[128];
    path_in_tmp(dir, sizeof dir, "log");
    stk_log_opts_t o = {.map_size = 256u << 20};
    cr_assert_eq(stk_log_open(&LOG, dir, &o), 0);
}

static void teardown(void)
{
    stk_log_close(LOG);
    LOG = NULL;
    stk_test_tmpdir_remove(tmp_root);
}

static stk_uuid_t uuid_n(uint8_t n)
{
    stk_uuid_t u;
    memset(&u, 0, sizeof u);
    u.b[0] = 0x5a;
    u.b[15] = n;
    return u;
}

/* An item whose payload is the NUL-terminated text s (tests only care about bytes). */
static stk_append_t item(stk_uuid_t stream, uint64_t expected, const char *s)
{
    stk_append_t a;
    memset(&a, 0, sizeof a);
    a.stream = stream;
    a.type = 7;
    a.schema = 1;
    a.tick = 3;
    a.actor = uuid_n(99);
    a.payload = (const uint8_t *)s;
    a.payload_len = strlen(s);
    a.expected_version = expected;
    return a;
}

static uint64_t head_seq(stk_log_t *log)
{
    uint64_t h = 0;
    cr_assert_eq(stk_log_head(log, &h, NULL), 0);
    return h;
}

typedef struct collected {
    size_t n;
    uint64_t seq[64];
    uint64_t version[64];
    char payload[64][32];
    stk_uuid_t stream[64];
} collected_t;

static int collect_cb(void *ud, const stk_envelope_t *e)
{
    collected_t *c = ud;
    cr_assert_lt(c->n, 64);
    c->seq[c->n] = e->seq;
    c->version[c->n] = e->version;
    c->stream[c->n] = e->stream;
    size_t n = e->payload_len < 31 ? e->payload_len : 31;
    memcpy(c->payload[c->n], e->payload, n);
    c->payload[c->n][n] = 0;
    c->n++;
    return 0;
}

/* ---- append and read ---- */

TestSuite(log, .init = setup, .fini = teardown);

Test(log, appends_and_reads_back_by_range_and_by_stream)
{
    stk_uuid_t a = uuid_n(1), b = uuid_n(2);
    const char *texts[] = {"a1", "b1", "a2", "a3", "b2"};
    stk_uuid_t streams[] = {a, b, a, a, b};
    for (int i = 0; i < 5; i++) {
        stk_append_t it = item(streams[i], STK_VERSION_ANY, texts[i]);
        stk_append_result_t r;
        cr_assert_eq(stk_log_append(LOG, &it, 1, &r), 0);
        cr_expect_eq(r.seq, (uint64_t)i + 1);
        cr_expect_gt(r.time_us, 0);
    }
    cr_expect_eq(head_seq(LOG), 5);

    collected_t all = {0};
    cr_assert_eq(stk_log_read(LOG, 1, 0, collect_cb, &all), 0);
    cr_assert_eq(all.n, 5);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(all.seq[i], (uint64_t)i + 1);
        cr_expect_str_eq(all.payload[i], texts[i]);
    }
    cr_expect_eq(all.version[3], 3); /* a3 */
    cr_expect_eq(all.version[4], 2); /* b2 */

    collected_t part = {0};
    cr_assert_eq(stk_log_read(LOG, 3, 2, collect_cb, &part), 0);
    cr_assert_eq(part.n, 2);
    cr_expect_eq(part.seq[0], 3);
    cr_expect_eq(part.seq[1], 4);

    collected_t sa = {0};
    cr_assert_eq(stk_log_read_stream(LOG, &a, 1, 0, collect_cb, &sa), 0);
    cr_assert_eq(sa.n, 3);
    cr_expect_str_eq(sa.payload[0], "a1");
    cr_expect_str_eq(sa.payload[2], "a3");
    cr_expect_eq(sa.seq[1], 3);

    collected_t sb = {0};
    cr_assert_eq(stk_log_read_stream(LOG, &b, 2, 0, collect_cb, &sb), 0);
    cr_assert_eq(sb.n, 1);
    cr_expect_str_eq(sb.payload[0], "b2");

    stk_uuid_t none = uuid_n(3);
    collected_t sn = {0};
    cr_expect_eq(stk_log_read_stream(LOG, &none, 1, 0, collect_cb, &sn), 0);
    cr_expect_eq(sn.n, 0);

    uint64_t v = 0;
    cr_expect_eq(stk_log_stream_version(LOG, &a, &v), 0);
    cr_expect_eq(v, 3);
    cr_expect_eq(stk_log_stream_version(LOG, &none, &v), 0);
    cr_expect_eq(v, 0);
}

static int stop_after_two(void *ud, const stk_envelope_t *e)
{
    (void)e;
    int *n = ud;
    return ++*n == 2 ? 42 : 0;
}

Test(log, read_stops_when_the_callback_says_so)
{
    for (int i = 0; i < 4; i++) {
        stk_append_t it = item(uuid_n(1), STK_VERSION_ANY, "x");
        stk_append_result_t r;
        cr_assert_eq(stk_log_append(LOG, &it, 1, &r), 0);
    }
    int n = 0;
    cr_expect_eq(stk_log_read(LOG, 1, 0, stop_after_two, &n), 42);
    cr_expect_eq(n, 2);
}

Test(log, iterator_walks_one_snapshot)
{
    stk_append_t items[3] = {item(uuid_n(1), 0, "one"), item(uuid_n(1), 1, "two"),
                             item(uuid_n(2), 0, "three")};
    stk_append_result_t r[3];
    cr_assert_eq(stk_log_append(LOG, items, 3, r), 0);
    stk_log_iter_t *it;
    cr_assert_eq(stk_log_iter_open(LOG, 2, &it), 0);
    /* A later append is not in the iterator's snapshot. */
    stk_append_t more = item(uuid_n(3), 0, "four");
    stk_append_result_t mr;
    cr_assert_eq(stk_log_append(LOG, &more, 1, &mr), 0);
    stk_envelope_t e;
    cr_assert_eq(stk_log_iter_next(it, &e), 0);
    cr_expect_eq(e.seq, 2);
    cr_expect_eq(memcmp(e.payload, "two", 3), 0);
    cr_assert_eq(stk_log_iter_next(it, &e), 0);
    cr_expect_eq(e.seq, 3);
    cr_expect_eq(stk_log_iter_next(it, &e), STK_ENOTFOUND);
    stk_log_iter_close(it);
}

Test(log, batch_assigns_consecutive_seqs_versions_and_chains)
{
    stk_append_t items[3] = {item(uuid_n(1), STK_VERSION_NONE, "p"), item(uuid_n(1), 1, "q"),
                             item(uuid_n(2), STK_VERSION_NONE, "r")};
    stk_append_result_t r[3];
    cr_assert_eq(stk_log_append(LOG, items, 3, r), 0);
    cr_expect_eq(r[0].seq, 1);
    cr_expect_eq(r[1].seq, 2);
    cr_expect_eq(r[2].seq, 3);
    cr_expect_eq(r[0].version, 1);
    cr_expect_eq(r[1].version, 2);
    cr_expect_eq(r[2].version, 1);
    uint8_t chain[STK_CHAIN_LEN];
    uint64_t h;
    cr_assert_eq(stk_log_head(LOG, &h, chain), 0);
    cr_expect_eq(h, 3);
    cr_expect_eq(memcmp(chain, r[2].chain, STK_CHAIN_LEN), 0);
}

typedef struct rechain {
    uint8_t chain[STK_CHAIN_LEN];
    uint64_t n;
    int bad;
} rechain_t;

static int rechain_cb(void *ud, uint64_t seq, const uint8_t chain[STK_CHAIN_LEN],
                      const uint8_t *env, size_t len)
{
    rechain_t *rc = ud;
    stk_chain_next(rc->chain, env, len, rc->chain);
    if (memcmp(rc->chain, chain, STK_CHAIN_LEN) != 0 || seq != rc->n + 1)
        rc->bad++;
    rc->n++;
    return 0;
}

Test(log, raw_records_rechain_from_zero_to_the_head)
{
    for (int i = 0; i < 20; i++) {
        stk_append_t it = item(uuid_n((uint8_t)(i % 3)), STK_VERSION_ANY, "raw");
        stk_append_result_t r;
        cr_assert_eq(stk_log_append(LOG, &it, 1, &r), 0);
    }
    rechain_t rc = {{0}, 0, 0};
    cr_assert_eq(stk_log_read_raw(LOG, 1, 0, rechain_cb, &rc), 0);
    cr_expect_eq(rc.n, 20);
    cr_expect_eq(rc.bad, 0);
    uint8_t chain[STK_CHAIN_LEN];
    uint64_t h;
    cr_assert_eq(stk_log_head(LOG, &h, chain), 0);
    cr_expect_eq(memcmp(chain, rc.chain, STK_CHAIN_LEN), 0);
}

/* ---- optimistic concurrency ---- */

Test(log, expected_version_none_exact_and_any)
{
    stk_uuid_t s = uuid_n(1);
    stk_append_result_t r;
    stk_append_t first = item(s, STK_VERSION_NONE, "v1");
    cr_assert_eq(stk_log_append(LOG, &first, 1, &r), 0);

    stk_append_t again = item(s, STK_VERSION_NONE, "dup");
    cr_expect_eq(stk_log_append(LOG, &again, 1, &r), STK_ECONFLICT);
    cr_expect_eq(head_seq(LOG), 1);

    stk_append_t stale = item(s, 5, "stale");
    cr_expect_eq(stk_log_append(LOG, &stale, 1, &r), STK_ECONFLICT);
    cr_expect_eq(head_seq(LOG), 1);

    stk_append_t exact = item(s, 1, "v2");
    cr_assert_eq(stk_log_append(LOG, &exact, 1, &r), 0);
    cr_expect_eq(r.version, 2);

    stk_append_t any = item(s, STK_VERSION_ANY, "v3");
    cr_assert_eq(stk_log_append(LOG, &any, 1, &r), 0);
    cr_expect_eq(r.version, 3);
    cr_expect_eq(head_seq(LOG), 3);
}

Test(log, a_conflict_anywhere_in_a_batch_writes_nothing)
{
    stk_uuid_t s = uuid_n(1), t = uuid_n(2);
    stk_append_t items[3] = {item(t, STK_VERSION_NONE, "ok"), item(s, STK_VERSION_NONE, "ok"),
                             item(s, STK_VERSION_NONE, "conflicts with item 2")};
    stk_append_result_t r[3];
    cr_expect_eq(stk_log_append(LOG, items, 3, r), STK_ECONFLICT);
    cr_expect_eq(head_seq(LOG), 0);
    uint64_t v = 9;
    cr_expect_eq(stk_log_stream_version(LOG, &t, &v), 0);
    cr_expect_eq(v, 0);
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);

    /* And the log goes on normally afterwards. */
    cr_assert_eq(stk_log_append(LOG, items, 2, r), 0);
    cr_expect_eq(r[0].seq, 1);
}

/* ---- unique claims ---- */

static stk_unique_op_t claim(const char *index, const char *value, stk_uuid_t owner, int release)
{
    stk_unique_op_t u = {.index = index,
                         .value = (const uint8_t *)value,
                         .value_len = strlen(value),
                         .owner = owner,
                         .release = release};
    return u;
}

/* A batch's stream versions are counted in memory after the first lookup of each stream
 * (a table that grows past its on-stack size for large batches): exact expected versions
 * over many streams, repeated within one batch and across batches, must all line up. */
Test(log, expected_versions_count_items_of_the_same_batch_over_many_streams)
{
    enum { STREAMS = 150, ITEMS = 600 };
    static stk_append_t items[ITEMS];
    static stk_append_result_t r[ITEMS];
    uint64_t ver[STREAMS] = {0};
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < ITEMS; i++) {
            int s = (i * 7) % STREAMS;
            stk_uuid_t id = uuid_n((uint8_t)s);
            id.b[1] = (uint8_t)(s >> 8) + 1; /* distinct ids that differ in a middle byte too */
            items[i] = item(id, ver[s], "v");
            ver[s]++;
        }
        cr_assert_eq(stk_log_append(LOG, items, ITEMS, r), 0);
        for (int i = 0; i < ITEMS; i++)
            cr_assert_eq(r[i].version, items[i].expected_version + 1);
    }
    /* One stale expected version in the middle of a large batch refuses all of it. */
    for (int i = 0; i < ITEMS; i++) {
        int s = (i * 7) % STREAMS;
        stk_uuid_t id = uuid_n((uint8_t)s);
        id.b[1] = (uint8_t)(s >> 8) + 1;
        items[i] = item(id, ver[s], "v");
        ver[s]++;
    }
    items[ITEMS / 2].expected_version--;
    cr_expect_eq(stk_log_append(LOG, items, ITEMS, r), STK_ECONFLICT);
    cr_expect_eq(head_seq(LOG), 2 * ITEMS);
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
}

/* In a group transaction a batch without unique ops is checked whole before it writes
 * (no nested transaction): a conflict on its last item, after earlier items of the same
 * stream, leaves nothing behind, and batches before and after it (one with a unique claim,
 * which does use a nested transaction) are committed with gapless seqs and versions. */
Test(log, a_group_keeps_only_the_batches_that_pass_their_checks)
{
    stk_uuid_t a = uuid_n(1), b = uuid_n(2), owner = uuid_n(3);
    stk_log_txn_t *t;
    cr_assert_eq(stk_log_txn_begin(LOG, &t), 0);
    stk_append_t i1[2] = {item(a, STK_VERSION_NONE, "a1"), item(a, 1, "a2")};
    stk_append_t i2[3] = {item(b, STK_VERSION_NONE, "b1"), item(b, 1, "b2"), item(a, 1, "stale")};
    stk_append_t i3[1] = {item(b, STK_VERSION_NONE, "b1 again")};
    stk_unique_op_t u[1] = {claim("name", "taken", owner, 0)};
    stk_append_t i4[2] = {item(a, 2, "a3"), item(a, 5, "conflicts after a claim")};
    i4[0].unique = u;
    i4[0].n_unique = 1;
    stk_append_t i5[1] = {item(a, 2, "a3 for real")};
    stk_append_result_t r1[2], r2[3], r3[1], r4[2], r5[1];
    cr_expect_eq(stk_log_txn_append(t, i1, 2, r1), 0);
    cr_expect_eq(stk_log_txn_append(t, i2, 3, r2), STK_ECONFLICT);
    cr_expect_eq(stk_log_txn_append(t, i3, 1, r3), 0);
    cr_expect_eq(stk_log_txn_append(t, i4, 2, r4), STK_ECONFLICT);
    cr_expect_eq(stk_log_txn_append(t, i5, 1, r5), 0);
    cr_assert_eq(stk_log_txn_commit(t), 0);
    cr_expect_eq(r1[1].seq, 2);
    cr_expect_eq(r3[0].seq, 3);
    cr_expect_eq(r3[0].version, 1);
    cr_expect_eq(r5[0].seq, 4);
    cr_expect_eq(r5[0].version, 3);
    stk_uuid_t got;
    cr_expect_eq(stk_log_unique_get(LOG, "name", (const uint8_t *)"taken", 5, &got), STK_ENOTFOUND);
    collected_t c = {0};
    cr_assert_eq(stk_log_read_stream(LOG, &b, 1, 0, collect_cb, &c), 0);
    cr_expect_eq(c.n, 1);
    cr_expect_str_eq(c.payload[0], "b1 again");
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
    cr_expect_eq(rep.events, 4);
}

Test(log, unique_claims_are_exclusive_and_atomic_with_the_event)
{
    stk_uuid_t alice = uuid_n(1), bob = uuid_n(2), owner;
    stk_append_result_t r;

    stk_unique_op_t c1 = claim("username", "ada", alice, 0);
    stk_append_t reg = item(alice, STK_VERSION_NONE, "alice registers");
    reg.unique = &c1;
    reg.n_unique = 1;
    cr_assert_eq(stk_log_append(LOG, &reg, 1, &r), 0);
    cr_assert_eq(stk_log_unique_get(LOG, "username", (const uint8_t *)"ada", 3, &owner), 0);
    cr_expect(stk_uuid_eq(&owner, &alice));

    /* Same owner again: fine, nothing changes. */
    stk_append_t again = item(alice, 1, "alice renames to the same");
    again.unique = &c1;
    again.n_unique = 1;
    cr_expect_eq(stk_log_append(LOG, &again, 1, &r), 0);

    /* Another owner: EEXIST, and neither its event nor its other claim is written. */
    stk_unique_op_t c2[2] = {claim("email", "bob@x", bob, 0), claim("username", "ada", bob, 0)};
    stk_append_t breg = item(bob, STK_VERSION_NONE, "bob registers");
    breg.unique = c2;
    breg.n_unique = 2;
    uint64_t before = head_seq(LOG);
    cr_expect_eq(stk_log_append(LOG, &breg, 1, &r), STK_EEXIST);
    cr_expect_eq(head_seq(LOG), before);
    cr_expect_eq(stk_log_unique_get(LOG, "email", (const uint8_t *)"bob@x", 5, &owner),
                 STK_ENOTFOUND);
    uint64_t v;
    cr_assert_eq(stk_log_stream_version(LOG, &bob, &v), 0);
    cr_expect_eq(v, 0);

    /* Same value under another index is a different key. */
    stk_unique_op_t c3 = claim("tribe", "ada", bob, 0);
    stk_append_t other = item(uuid_n(3), STK_VERSION_NONE, "bob's tribe named ada");
    other.unique = &c3;
    other.n_unique = 1;
    cr_expect_eq(stk_log_append(LOG, &other, 1, &r), 0);

    /* Bob cannot release Alice's name; Alice can, then Bob can claim it. */
    stk_unique_op_t rel_bob = claim("username", "ada", bob, 1);
    stk_append_t bad_rel = item(bob, STK_VERSION_ANY, "bob releases");
    bad_rel.unique = &rel_bob;
    bad_rel.n_unique = 1;
    cr_expect_eq(stk_log_append(LOG, &bad_rel, 1, &r), STK_EPERM);

    stk_unique_op_t rel = claim("username", "ada", alice, 1);
    stk_append_t erase = item(alice, STK_VERSION_ANY, "alice erased");
    erase.unique = &rel;
    erase.n_unique = 1;
    cr_assert_eq(stk_log_append(LOG, &erase, 1, &r), 0);
    cr_expect_eq(stk_log_unique_get(LOG, "username", (const uint8_t *)"ada", 3, &owner),
                 STK_ENOTFOUND);
    cr_expect_eq(stk_log_append(LOG, &breg, 1, &r), 0);
    cr_assert_eq(stk_log_unique_get(LOG, "username", (const uint8_t *)"ada", 3, &owner), 0);
    cr_expect(stk_uuid_eq(&owner, &bob));
}

Test(log, two_items_of_one_batch_cannot_claim_the_same_value)
{
    stk_uuid_t a = uuid_n(1), b = uuid_n(2);
    stk_unique_op_t ca = claim("username", "zed", a, 0), cb = claim("username", "zed", b, 0);
    stk_append_t items[2] = {item(a, STK_VERSION_NONE, "a"), item(b, STK_VERSION_NONE, "b")};
    items[0].unique = &ca;
    items[0].n_unique = 1;
    items[1].unique = &cb;
    items[1].n_unique = 1;
    stk_append_result_t r[2];
    cr_expect_eq(stk_log_append(LOG, items, 2, r), STK_EEXIST);
    stk_uuid_t owner;
    cr_expect_eq(stk_log_unique_get(LOG, "username", (const uint8_t *)"zed", 3, &owner),
                 STK_ENOTFOUND);
}

/* ---- snapshots and keys ---- */

static void put_snap(stk_uuid_t s, uint64_t seq, const char *text)
{
    cr_assert_eq(stk_log_snapshot_put(LOG, &s, seq, (const uint8_t *)text, strlen(text)), 0);
}

static void expect_snap(stk_uuid_t s, uint64_t at, int rc, uint64_t seq, const char *text)
{
    uint64_t got_seq = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    cr_assert_eq(stk_log_snapshot_get(LOG, &s, at, &got_seq, &data, &len), rc, "at %llu",
                 (unsigned long long)at);
    if (rc == 0) {
        cr_expect_eq(got_seq, seq);
        cr_expect_eq(len, strlen(text));
        cr_expect_eq(memcmp(data, text, len), 0);
    }
    free(data);
}

Test(log, snapshot_get_returns_the_latest_at_or_before)
{
    stk_uuid_t a = uuid_n(1), b = uuid_n(2), c = uuid_n(3), z = uuid_n(0);
    put_snap(a, 5, "a@5");
    put_snap(a, 10, "a@10");
    put_snap(a, 20, "a@20");
    put_snap(b, 7, "b@7");
    expect_snap(a, 4, STK_ENOTFOUND, 0, NULL);
    expect_snap(a, 5, 0, 5, "a@5");
    expect_snap(a, 15, 0, 10, "a@10");
    expect_snap(a, 20, 0, 20, "a@20");
    expect_snap(a, UINT64_MAX, 0, 20, "a@20");
    expect_snap(b, 100, 0, 7, "b@7");
    expect_snap(b, 6, STK_ENOTFOUND, 0, NULL);
    expect_snap(c, UINT64_MAX, STK_ENOTFOUND, 0, NULL);
    expect_snap(z, UINT64_MAX, STK_ENOTFOUND, 0, NULL);
    put_snap(a, 10, "a@10 again");
    expect_snap(a, 19, 0, 10, "a@10 again");
}

Test(log, keys_are_put_with_events_and_deleted_for_erasure)
{
    stk_uuid_t u = uuid_n(1);
    const uint8_t key[32] = {1, 2, 3};
    stk_append_t reg = item(u, STK_VERSION_NONE, "registered");
    reg.key_op = STK_KEY_PUT;
    reg.data_key = key;
    reg.data_key_len = sizeof key;
    stk_append_result_t r;
    cr_assert_eq(stk_log_append(LOG, &reg, 1, &r), 0);

    uint8_t buf[64];
    size_t len = 0;
    cr_assert_eq(stk_log_key_get(LOG, &u, buf, sizeof buf, &len), 0);
    cr_expect_eq(len, sizeof key);
    cr_expect_eq(memcmp(buf, key, len), 0);
    cr_expect_eq(stk_log_key_get(LOG, &u, buf, 8, &len), STK_ETOOBIG);

    cr_assert_eq(stk_log_key_delete(LOG, &u), 0);
    cr_expect_eq(stk_log_key_get(LOG, &u, buf, sizeof buf, &len), STK_ENOTFOUND);
    cr_expect_eq(stk_log_key_delete(LOG, &u), STK_ENOTFOUND);

    /* Put directly, then erase atomically with an event. */
    cr_assert_eq(stk_log_key_put(LOG, &u, key, 16), 0);
    stk_append_t erase = item(u, 1, "erased");
    erase.key_op = STK_KEY_DELETE;
    cr_assert_eq(stk_log_append(LOG, &erase, 1, &r), 0);
    cr_expect_eq(stk_log_key_get(LOG, &u, buf, sizeof buf, &len), STK_ENOTFOUND);
    /* The events stay: the log is immutable. */
    cr_expect_eq(head_seq(LOG), 2);
}

/* ---- limits ---- */

Test(log, limits_are_errors_and_write_nothing)
{
    stk_append_result_t r;
    stk_append_t ok = item(uuid_n(1), STK_VERSION_ANY, "x");
    cr_expect_eq(stk_log_append(LOG, &ok, 0, &r), STK_EINVAL);

    stk_append_t *many = calloc(STK_LOG_BATCH_MAX + 1, sizeof *many);
    stk_append_result_t *rs = calloc(STK_LOG_BATCH_MAX + 1, sizeof *rs);
    for (size_t i = 0; i <= STK_LOG_BATCH_MAX; i++)
        many[i] = ok;
    cr_expect_eq(stk_log_append(LOG, many, STK_LOG_BATCH_MAX + 1, rs), STK_ETOOBIG);
    cr_expect_eq(stk_log_append(LOG, many, STK_LOG_BATCH_MAX, rs), 0);
    cr_expect_eq(rs[STK_LOG_BATCH_MAX - 1].seq, STK_LOG_BATCH_MAX);
    free(rs);
    free(many);

    uint64_t before = head_seq(LOG);
    stk_append_t big = ok;
    big.payload_len = STK_PAYLOAD_MAX + 1;
    cr_expect_eq(stk_log_append(LOG, &big, 1, &r), STK_ETOOBIG);

    stk_append_t nullp = ok;
    nullp.payload = NULL;
    cr_expect_eq(stk_log_append(LOG, &nullp, 1, &r), STK_EINVAL);

    char name[STK_UNIQUE_NAME_MAX + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    stk_unique_op_t u = claim(name, "v", uuid_n(1), 0);
    stk_append_t longname = ok;
    longname.unique = &u;
    longname.n_unique = 1;
    cr_expect_eq(stk_log_append(LOG, &longname, 1, &r), STK_ETOOBIG);
    stk_unique_op_t empty = claim("username", "", uuid_n(1), 0);
    longname.unique = &empty;
    cr_expect_eq(stk_log_append(LOG, &longname, 1, &r), STK_EINVAL);

    stk_append_t badkey = ok;
    badkey.key_op = 9;
    cr_expect_eq(stk_log_append(LOG, &badkey, 1, &r), STK_EINVAL);

    cr_expect_eq(head_seq(LOG), before);
}

Test(log, max_size_payload_round_trips)
{
    uint8_t *p = malloc(STK_PAYLOAD_MAX);
    for (size_t i = 0; i < STK_PAYLOAD_MAX; i++)
        p[i] = (uint8_t)(i * 7);
    stk_append_t big = item(uuid_n(1), STK_VERSION_NONE, "");
    big.payload = p;
    big.payload_len = STK_PAYLOAD_MAX;
    stk_append_result_t r;
    cr_assert_eq(stk_log_append(LOG, &big, 1, &r), 0);
    stk_log_iter_t *it;
    cr_assert_eq(stk_log_iter_open(LOG, 1, &it), 0);
    stk_envelope_t e;
    cr_assert_eq(stk_log_iter_next(it, &e), 0);
    cr_assert_eq(e.payload_len, STK_PAYLOAD_MAX);
    cr_expect_eq(memcmp(e.payload, p, STK_PAYLOAD_MAX), 0);
    stk_log_iter_close(it);
    free(p);
}

/* ---- durability across reopen, read-only, wait, stats ---- */

Test(log, reopen_continues_seq_and_chain)
{
    stk_append_result_t r;
    stk_append_t a = item(uuid_n(1), STK_VERSION_NONE, "before");
    cr_assert_eq(stk_log_append(LOG, &a, 1, &r), 0);
    char dir[128];
    path_in_tmp(dir, sizeof dir, "log");
    stk_log_close(LOG);
    cr_assert_eq(stk_log_open(&LOG, dir, NULL), 0);
    stk_append_t b = item(uuid_n(1), 1, "after");
    cr_assert_eq(stk_log_append(LOG, &b, 1, &r), 0);
    cr_expect_eq(r.seq, 2);
    cr_expect_eq(r.version, 2);
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
    cr_expect_eq(rep.events, 2);
}

Test(log, read_only_open_reads_and_refuses_writes)
{
    stk_append_result_t r;
    stk_append_t a = item(uuid_n(1), STK_VERSION_NONE, "x");
    cr_assert_eq(stk_log_append(LOG, &a, 1, &r), 0);
    char dir[128];
    path_in_tmp(dir, sizeof dir, "log");
    stk_log_t *ro;
    stk_log_opts_t o = {.read_only = 1};
    cr_assert_eq(stk_log_open(&ro, dir, &o), 0);
    cr_expect_eq(head_seq(ro), 1);
    cr_expect_eq(stk_log_append(ro, &a, 1, &r), STK_EPERM);
    stk_log_close(ro);

    char missing[128];
    path_in_tmp(missing, sizeof missing, "nope");
    cr_expect_eq(stk_log_open(&ro, missing, &o), STK_ENOTFOUND);
}

static void *append_later(void *arg)
{
    usleep(20000);
    stk_append_t a = item(uuid_n(1), STK_VERSION_ANY, "late");
    stk_append_result_t r;
    return (void *)(intptr_t)stk_log_append(arg, &a, 1, &r);
}

Test(log, wait_wakes_on_commit_and_times_out_otherwise)
{
    uint64_t h = 99;
    cr_expect_eq(stk_log_wait(LOG, 0, 10, &h), 0);
    cr_expect_eq(h, 0); /* timed out, nothing new */
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, append_later, LOG), 0);
    cr_expect_eq(stk_log_wait(LOG, 0, -1, &h), 0);
    cr_expect_eq(h, 1);
    void *ret;
    pthread_join(th, &ret);
    cr_expect_eq((intptr_t)ret, 0);
}

Test(log, stats_count_entries)
{
    stk_unique_op_t c = claim("username", "u", uuid_n(1), 0);
    stk_append_t items[3] = {item(uuid_n(1), 0, "a"), item(uuid_n(1), 1, "b"),
                             item(uuid_n(2), 0, "c")};
    items[0].unique = &c;
    items[0].n_unique = 1;
    stk_append_result_t r[3];
    cr_assert_eq(stk_log_append(LOG, items, 3, r), 0);
    stk_uuid_t s = uuid_n(1);
    cr_assert_eq(stk_log_snapshot_put(LOG, &s, 2, (const uint8_t *)"s", 1), 0);
    stk_log_stats_t st;
    cr_assert_eq(stk_log_stats(LOG, &st), 0);
    cr_expect_eq(st.head_seq, 3);
    cr_expect_eq(st.events, 3);
    cr_expect_eq(st.stream_entries, 3);
    cr_expect_eq(st.streams, 2);
    cr_expect_eq(st.snapshots, 1);
    cr_expect_eq(st.unique, 1);
    cr_expect_eq(st.keys, 0);
    cr_expect_eq(st.map_size, 256u << 20);
    cr_expect_gt(st.file_size, 0);
    cr_expect_gt(st.used_size, 0);
}

/* ---- verification, tampering, backup ---- */

Test(log, verify_passes_on_a_clean_log)
{
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail); /* empty */
    for (int i = 0; i < 100; i++) {
        stk_append_t a = item(uuid_n((uint8_t)(i % 7)), STK_VERSION_ANY, "clean");
        stk_append_result_t r;
        cr_assert_eq(stk_log_append(LOG, &a, 1, &r), 0);
    }
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
    cr_expect_eq(rep.events, 100);
    cr_expect_eq(rep.streams, 7);
    cr_expect_eq(rep.head_seq, 100);
    cr_expect_eq(rep.damage, STK_DAMAGE_NONE);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Appends 60 events whose payloads carry unique markers; backs up; flips one byte of the
 * payload of `target` (and of nothing else) in the copy; returns the opened copy. */
static stk_log_t *tampered_copy(uint64_t target, size_t flip_offset_in_marker)
{
    for (int i = 1; i <= 60; i++) {
        char text[32];
        snprintf(text, sizeof text, "MARK-%06d-payload", i);
        stk_append_t a = item(uuid_n((uint8_t)(i % 4)), STK_VERSION_ANY, text);
        stk_append_result_t r;
        cr_assert_eq(stk_log_append(LOG, &a, 1, &r), 0);
    }
    char bdir[128], file[160];
    path_in_tmp(bdir, sizeof bdir, "copy");
    cr_assert_eq(stk_log_backup(LOG, bdir), 0);
    cr_expect_eq(stk_log_backup(LOG, bdir), STK_EEXIST); /* never clobbers */
    snprintf(file, sizeof file, "%s/data.mdb", bdir);

    size_t len;
    uint8_t *buf = read_file(file, &len);
    char marker[32];
    snprintf(marker, sizeof marker, "MARK-%06d-payload", (int)target);
    size_t ml = strlen(marker), hits = 0, at = 0;
    for (size_t i = 0; i + ml <= len; i++)
        if (memcmp(buf + i, marker, ml) == 0) {
            hits++;
            at = i;
        }
    cr_assert_eq(hits, 1, "marker found %zu times in the compacted copy", hits);
    buf[at + flip_offset_in_marker] ^= 0x01;
    write_file(file, buf, len);
    free(buf);

    stk_log_t *copy;
    cr_assert_eq(stk_log_open(&copy, bdir, NULL), 0);
    return copy;
}

Test(log, verify_names_the_tampered_seq)
{
    stk_log_t *copy = tampered_copy(37, 8);
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(copy, &rep), STK_ECHAIN);
    cr_expect_eq(rep.bad_seq, 37, "%s", rep.detail);
    cr_expect_eq(rep.damage, STK_DAMAGE_CHAIN);
    /* The original is untouched. */
    cr_expect_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
    stk_log_close(copy);
}

Test(log, verify_names_the_first_event_when_it_is_tampered)
{
    stk_log_t *copy = tampered_copy(1, 0);
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(copy, &rep), STK_ECHAIN);
    cr_expect_eq(rep.bad_seq, 1, "%s", rep.detail);
    stk_log_close(copy);
}

typedef struct bg_writer {
    stk_log_t *log;
    volatile int stop;
    uint64_t appended;
    int err;
} bg_writer_t;

static void *bg_append(void *arg)
{
    bg_writer_t *bw = arg;
    while (!bw->stop) {
        stk_append_t items[4];
        stk_append_result_t r[4];
        for (int i = 0; i < 4; i++)
            items[i] = item(uuid_n((uint8_t)(bw->appended % 11)), STK_VERSION_ANY,
                            "background append during a backup");
        int rc = stk_log_append(bw->log, items, 4, r);
        if (rc != 0) {
            bw->err = rc;
            break;
        }
        bw->appended += 4;
    }
    return NULL;
}

Test(log, backup_during_appends_is_a_consistent_verifiable_copy)
{
    bg_writer_t bw = {.log = LOG};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, bg_append, &bw), 0);
    while (head_seq(LOG) < 200)
        usleep(1000);
    char bdir[128];
    path_in_tmp(bdir, sizeof bdir, "hot");
    uint64_t before = head_seq(LOG);
    cr_assert_eq(stk_log_backup(LOG, bdir), 0);
    bw.stop = 1;
    pthread_join(th, NULL);
    cr_assert_eq(bw.err, 0, "%s", stk_strerror(bw.err));

    stk_log_t *copy;
    cr_assert_eq(stk_log_open(&copy, bdir, NULL), 0);
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(copy, &rep), 0, "%s", rep.detail);
    cr_expect_geq(rep.head_seq, before);
    cr_expect_leq(rep.head_seq, head_seq(LOG));
    cr_expect_eq(rep.head_seq % 4, 0); /* batches are atomic in the copy too */
    stk_log_close(copy);
}

/* ---- damage other than a payload edit, injected with raw LMDB ----
 * The test plays a buggy or malicious tool that edits the environment directly, which is
 * the only way to produce these states: the log API itself never can. */

typedef struct raw_env {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi events, streams, meta;
} raw_env_t;

static void raw_begin(raw_env_t *r)
{
    char dir[128];
    path_in_tmp(dir, sizeof dir, "log");
    stk_log_close(LOG);
    LOG = NULL;
    cr_assert_eq(mdb_env_create(&r->env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(r->env, 8), 0);
    cr_assert_eq(mdb_env_set_mapsize(r->env, 256u << 20), 0);
    cr_assert_eq(mdb_env_open(r->env, dir, 0, 0640), 0);
    cr_assert_eq(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    cr_assert_eq(mdb_dbi_open(r->txn, "events", 0, &r->events), 0);
    cr_assert_eq(mdb_dbi_open(r->txn, "streams", 0, &r->streams), 0);
    cr_assert_eq(mdb_dbi_open(r->txn, "meta", 0, &r->meta), 0);
}

static void raw_end(raw_env_t *r)
{
    char dir[128];
    path_in_tmp(dir, sizeof dir, "log");
    cr_assert_eq(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
    cr_assert_eq(stk_log_open(&LOG, dir, NULL), 0);
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* 20 events over 3 streams; returns the stream key (stream || BE version) of seq 10. */
static void twenty_events(uint8_t key10[24])
{
    for (int i = 0; i < 20; i++) {
        stk_append_t a = item(uuid_n((uint8_t)(i % 3)), STK_VERSION_ANY, "dmg");
        stk_append_result_t r;
        cr_assert_eq(stk_log_append(LOG, &a, 1, &r), 0);
        if (r.seq == 10) {
            memcpy(key10, a.stream.b, 16);
            be64(key10 + 16, r.version);
        }
    }
    stk_log_verify_report_t rep;
    cr_assert_eq(stk_log_verify(LOG, &rep), 0, "%s", rep.detail);
}

static void expect_damage(int rc, stk_log_damage_t d, uint64_t seq)
{
    stk_log_verify_report_t rep;
    cr_expect_eq(stk_log_verify(LOG, &rep), rc, "%s", rep.detail);
    cr_expect_eq(rep.damage, d, "damage %d: %s", rep.damage, rep.detail);
    cr_expect_eq(rep.bad_seq, seq, "%s", rep.detail);
}

Test(log, verify_reports_a_missing_record_as_a_gap)
{
    uint8_t key10[24];
    twenty_events(key10);
    raw_env_t r;
    raw_begin(&r);
    uint8_t k[8];
    be64(k, 10);
    MDB_val kv = {8, k};
    cr_assert_eq(mdb_del(r.txn, r.events, &kv, NULL), 0);
    raw_end(&r);
    expect_damage(STK_ECORRUPT, STK_DAMAGE_GAP, 10);
}

Test(log, verify_reports_a_missing_stream_index_entry)
{
    uint8_t key10[24];
    twenty_events(key10);
    raw_env_t r;
    raw_begin(&r);
    MDB_val kv = {24, key10};
    cr_assert_eq(mdb_del(r.txn, r.streams, &kv, NULL), 0);
    raw_end(&r);
    expect_damage(STK_ECORRUPT, STK_DAMAGE_STREAM_INDEX, 10);
}

Test(log, verify_reports_an_extra_stream_index_entry)
{
    uint8_t key10[24];
    twenty_events(key10);
    raw_env_t r;
    raw_begin(&r);
    uint8_t k[24] = {0xee}, v[8];
    be64(k + 16, 1);
    be64(v, 3);
    MDB_val kv = {24, k}, vv = {8, v};
    cr_assert_eq(mdb_put(r.txn, r.streams, &kv, &vv, 0), 0);
    raw_end(&r);
    expect_damage(STK_ECORRUPT, STK_DAMAGE_STREAM_INDEX, 3);
}

Test(log, verify_reports_a_meta_head_behind_the_records)
{
    uint8_t key10[24];
    twenty_events(key10);
    raw_env_t r;
    raw_begin(&r);
    MDB_val kv = {4, "head"}, vv;
    cr_assert_eq(mdb_get(r.txn, r.meta, &kv, &vv), 0);
    uint8_t head[40];
    memcpy(head, vv.mv_data, sizeof head);
    be64(head, 19);
    MDB_val nv = {sizeof head, head};
    cr_assert_eq(mdb_put(r.txn, r.meta, &kv, &nv, 0), 0);
    raw_end(&r);
    expect_damage(STK_ECORRUPT, STK_DAMAGE_META, 21);
    /* And the log refuses to append on top of a head that disagrees with its records. */
    stk_append_t a = item(uuid_n(1), STK_VERSION_ANY, "after damage");
    stk_append_result_t res;
    cr_expect_eq(stk_log_append(LOG, &a, 1, &res), STK_ECORRUPT);
}
