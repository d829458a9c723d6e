/* events/log.c — the LMDB event log (see log.h for the layout, threads and invariants).
 *
 * This is the one wrapper around LMDB: every mdb_* return goes through lmdb_err().
 * Appends run in a write transaction: read meta head once per group, then for each item
 * check the expected version, apply unique ops and key ops, reserve the record in `events`
 * (MDB_APPEND | MDB_RESERVE) and encode the envelope straight into the map, chain it, index
 * it in `streams`. Meta head and the stream counter are written once, at group commit.
 * A batch looks each of its streams' version up once and counts the rest in memory
 * (ver_cache_t). In a group transaction, a batch with unique ops runs in a nested
 * transaction (one op may fail on another of the same batch, after writes); any other batch
 * has all its versions checked before its first write and goes straight into the group
 * transaction (nested transactions cost LMDB a dirty-page list and a merge per batch).
 *
 * Not here: the queue and thread of group commit (writer.c), payload schemas (payload.c).
 */
#include "events/log.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"

#define LOG_FORMAT     "stockade-log 1"
#define LOG_MAX_DBS    8
#define STREAM_KEY_LEN (STK_UUID_LEN + 8)

struct stk_log {
    MDB_env *env;
    MDB_dbi db_events, db_streams, db_snapshots, db_unique, db_keys, db_meta;
    int read_only;
    char *dir;
    pthread_mutex_t mu; /* guards committed_seq; pairs with cond */
    pthread_cond_t cond;
    uint64_t committed_seq; /* head after this process's last commit */
};

/* In-memory head of a write transaction; copied before a child txn, restored on abort. */
typedef struct head {
    uint64_t seq;
    uint8_t chain[STK_CHAIN_LEN];
    uint64_t streams;
} head_t;

struct stk_log_txn {
    stk_log_t *log;
    MDB_txn *txn;
    head_t head;
    int poison; /* first hard error; the txn can only be aborted */
};

struct stk_log_iter {
    stk_log_t *log;
    MDB_txn *txn;
    MDB_cursor *cur;
    uint64_t from_seq;
    int started;
};

/* ---- small helpers ---- */

static int lmdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return STK_ENOTFOUND;
    case MDB_MAP_FULL:
        return STK_EFULL;
    case MDB_KEYEXIST:
        return STK_EEXIST;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_PANIC:
        return STK_ECORRUPT;
    case MDB_READERS_FULL:
    case MDB_TLS_FULL:
        return STK_EBUSY;
    case MDB_TXN_FULL:
    case MDB_BAD_VALSIZE:
        return STK_ETOOBIG;
    case ENOMEM:
        return STK_ENOMEM;
    case EACCES:
    case EPERM:
    case EROFS:
        return STK_EPERM;
    case ENOENT:
        return STK_ENOTFOUND;
    case EEXIST:
        return STK_EEXIST;
    case ENOSPC:
        return STK_EFULL;
    default:
        return STK_EIO;
    }
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void stream_key(uint8_t k[STREAM_KEY_LEN], const stk_uuid_t *s, uint64_t v)
{
    memcpy(k, s->b, STK_UUID_LEN);
    put_be64(k + STK_UUID_LEN, v);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int is_logical_error(int rc)
{
    return rc == STK_EINVAL || rc == STK_ETOOBIG || rc == STK_ECONFLICT || rc == STK_EEXIST ||
           rc == STK_EPERM || rc == STK_ERANGE;
}

static int read_begin(stk_log_t *log, MDB_txn **txn)
{
    return lmdb_err(mdb_txn_begin(log->env, NULL, MDB_RDONLY, txn));
}

/* ---- meta ---- */

static int meta_read(stk_log_t *log, MDB_txn *txn, head_t *h)
{
    memset(h, 0, sizeof *h);
    MDB_val k = {4, "head"}, v;
    int rc = mdb_get(txn, log->db_meta, &k, &v);
    if (rc == 0) {
        if (v.mv_size != 8 + STK_CHAIN_LEN)
            return STK_ECORRUPT;
        h->seq = get_be64(v.mv_data);
        memcpy(h->chain, (const uint8_t *)v.mv_data + 8, STK_CHAIN_LEN);
    } else if (rc != MDB_NOTFOUND) {
        return lmdb_err(rc);
    }
    MDB_val ks = {7, "streams"};
    rc = mdb_get(txn, log->db_meta, &ks, &v);
    if (rc == 0) {
        if (v.mv_size != 8)
            return STK_ECORRUPT;
        h->streams = get_be64(v.mv_data);
    } else if (rc != MDB_NOTFOUND) {
        return lmdb_err(rc);
    }
    return 0;
}

static int meta_write(stk_log_t *log, MDB_txn *txn, const head_t *h)
{
    uint8_t hv[8 + STK_CHAIN_LEN], sv[8];
    put_be64(hv, h->seq);
    memcpy(hv + 8, h->chain, STK_CHAIN_LEN);
    put_be64(sv, h->streams);
    MDB_val k = {4, "head"}, v = {sizeof hv, hv};
    int rc = mdb_put(txn, log->db_meta, &k, &v, 0);
    if (rc == 0) {
        MDB_val ks = {7, "streams"}, vs = {sizeof sv, sv};
        rc = mdb_put(txn, log->db_meta, &ks, &vs, 0);
    }
    return lmdb_err(rc);
}

/* ---- open / close ---- */

static int open_dbs(stk_log_t *log)
{
    MDB_txn *txn = NULL;
    unsigned flags = log->read_only ? 0 : MDB_CREATE;
    int rc = mdb_txn_begin(log->env, NULL, log->read_only ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        return lmdb_err(rc);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"events", &log->db_events},       {"streams", &log->db_streams},
               {"snapshots", &log->db_snapshots}, {"unique", &log->db_unique},
               {"keys", &log->db_keys},           {"meta", &log->db_meta}};
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && rc == 0; i++)
        rc = mdb_dbi_open(txn, dbs[i].name, flags, dbs[i].dbi);
    if (rc == 0 && !log->read_only) {
        MDB_val k = {6, "format"}, v = {sizeof LOG_FORMAT - 1, LOG_FORMAT};
        rc = mdb_put(txn, log->db_meta, &k, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            rc = 0;
    }
    if (rc == 0) { /* an existing log must carry our format marker */
        MDB_val k = {6, "format"}, v;
        rc = mdb_get(txn, log->db_meta, &k, &v);
        if (rc == 0 &&
            (v.mv_size != sizeof LOG_FORMAT - 1 || memcmp(v.mv_data, LOG_FORMAT, v.mv_size) != 0))
            rc = MDB_INCOMPATIBLE;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc == MDB_INCOMPATIBLE ? STK_ECORRUPT : lmdb_err(rc);
    }
    /* Committing (also a read txn) keeps the dbi handles for the life of the env. */
    return lmdb_err(mdb_txn_commit(txn));
}

int stk_log_open(stk_log_t **out, const char *dir, const stk_log_opts_t *opts)
{
    stk_log_opts_t def = {0};
    if (out == NULL || dir == NULL || dir[0] == '\0')
        return STK_EINVAL;
    if (opts == NULL)
        opts = &def;
    *out = NULL;
    int rc;
    stk_log_t *log = calloc(1, sizeof *log);
    if (log == NULL)
        return STK_ENOMEM;
    log->read_only = opts->read_only != 0;
    log->dir = strdup(dir);
    if (log->dir == NULL) {
        rc = STK_ENOMEM;
        goto fail_log;
    }
    if (!log->read_only && mkdir(dir, 0750) != 0 && errno != EEXIST) {
        rc = lmdb_err(errno);
        goto fail_dir;
    }
    if (pthread_mutex_init(&log->mu, NULL) != 0) {
        rc = STK_ENOMEM;
        goto fail_dir;
    }
    if (pthread_cond_init(&log->cond, NULL) != 0) {
        rc = STK_ENOMEM;
        goto fail_mu;
    }
    rc = lmdb_err(mdb_env_create(&log->env));
    if (rc != 0)
        goto fail_cond;
    uint64_t map = opts->map_size ? opts->map_size : STK_LOG_MAP_SIZE_DEFAULT;
    rc = lmdb_err(mdb_env_set_mapsize(log->env, (size_t)map));
    if (rc == 0)
        rc = lmdb_err(mdb_env_set_maxdbs(log->env, LOG_MAX_DBS));
    if (rc == 0 && opts->max_readers)
        rc = lmdb_err(mdb_env_set_maxreaders(log->env, opts->max_readers));
    if (rc != 0)
        goto fail_env;
    unsigned flags = MDB_NOTLS;
    if (opts->nosync)
        flags |= MDB_NOSYNC;
    if (log->read_only)
        flags |= MDB_RDONLY;
    rc = lmdb_err(mdb_env_open(log->env, dir, flags, 0640));
    if (rc != 0)
        goto fail_env;
    int dead = 0;
    (void)mdb_reader_check(log->env, &dead); /* best effort: stale slots of dead processes */
    rc = open_dbs(log);
    if (rc != 0)
        goto fail_env;
    rc = stk_log_head(log, &log->committed_seq, NULL);
    if (rc != 0)
        goto fail_env;
    *out = log;
    return 0;

fail_env:
    mdb_env_close(log->env);
fail_cond:
    pthread_cond_destroy(&log->cond);
fail_mu:
    pthread_mutex_destroy(&log->mu);
fail_dir:
    free(log->dir);
fail_log:
    free(log);
    return rc;
}

void stk_log_close(stk_log_t *log)
{
    if (log == NULL)
        return;
    mdb_env_close(log->env);
    pthread_cond_destroy(&log->cond);
    pthread_mutex_destroy(&log->mu);
    free(log->dir);
    free(log);
}

const char *stk_log_dir(const stk_log_t *log)
{
    return log->dir;
}

/* ---- append ---- */

static int check_unique_op(const stk_unique_op_t *u, size_t *bytes)
{
    if (u->index == NULL || (u->value == NULL && u->value_len > 0))
        return STK_EINVAL;
    size_t nl = strnlen(u->index, STK_UNIQUE_NAME_MAX + 1);
    if (nl == 0 || u->value_len == 0)
        return STK_EINVAL;
    if (nl > STK_UNIQUE_NAME_MAX || u->value_len > STK_UNIQUE_VALUE_MAX)
        return STK_ETOOBIG;
    *bytes += nl + 1 + u->value_len;
    return 0;
}

/* Validates a whole batch before touching the database. */
int stk_log_check_batch(const stk_append_t *items, size_t n)
{
    if (items == NULL || n == 0)
        return STK_EINVAL;
    if (n > STK_LOG_BATCH_MAX)
        return STK_ETOOBIG;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const stk_append_t *it = &items[i];
        if (it->payload == NULL && it->payload_len > 0)
            return STK_EINVAL;
        if (it->payload_len > STK_PAYLOAD_MAX)
            return STK_ETOOBIG;
        bytes += it->payload_len;
        if (it->n_unique > 0 && it->unique == NULL)
            return STK_EINVAL;
        if (it->n_unique > STK_UNIQUE_OPS_MAX)
            return STK_ETOOBIG;
        for (size_t j = 0; j < it->n_unique; j++) {
            int rc = check_unique_op(&it->unique[j], &bytes);
            if (rc != 0)
                return rc;
        }
        switch (it->key_op) {
        case STK_KEY_KEEP:
        case STK_KEY_DELETE:
            break;
        case STK_KEY_PUT:
            if (it->data_key == NULL || it->data_key_len == 0)
                return STK_EINVAL;
            if (it->data_key_len > STK_DATA_KEY_MAX)
                return STK_ETOOBIG;
            bytes += it->data_key_len;
            break;
        default:
            return STK_EINVAL;
        }
        if (bytes > STK_LOG_BATCH_BYTES_MAX)
            return STK_ETOOBIG;
    }
    return 0;
}

/* Current version of s through cursor c on `streams` (0 when the stream has no events). */
static int cursor_stream_version(MDB_cursor *c, const stk_uuid_t *s, uint64_t *ver)
{
    uint8_t k[STREAM_KEY_LEN];
    stream_key(k, s, UINT64_MAX);
    MDB_val key = {sizeof k, k}, val;
    int rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &key, &val, MDB_LAST);
    else if (rc == 0)
        rc = mdb_cursor_get(c, &key, &val, MDB_PREV);
    *ver = 0;
    if (rc == 0 && key.mv_size == STREAM_KEY_LEN && memcmp(key.mv_data, s->b, STK_UUID_LEN) == 0)
        *ver = get_be64((const uint8_t *)key.mv_data + STK_UUID_LEN);
    return (rc == 0 || rc == MDB_NOTFOUND) ? 0 : lmdb_err(rc);
}

/* Current version of s in txn (0 when the stream has no events). */
static int txn_stream_version(stk_log_t *log, MDB_txn *txn, const stk_uuid_t *s, uint64_t *ver)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, log->db_streams, &c);
    if (rc != 0)
        return lmdb_err(rc);
    rc = cursor_stream_version(c, s, ver);
    mdb_cursor_close(c);
    return rc;
}

/* Stream versions of one batch: the batch's items only ever advance their own streams, so
 * a stream's version is read from `streams` once (first item of that stream) and then
 * counted here. An open-addressing table of at least 2n slots (a power of two, on the stack
 * for small batches), and one cursor for every lookup. Lives exactly as long as the batch:
 * a failed batch is rolled back whole, so the table is never out of step with the txn. */
typedef struct ver_slot {
    stk_uuid_t stream;
    uint64_t version;
    int used;
} ver_slot_t;

#define VER_STACK_SLOTS 64u

typedef struct ver_cache {
    stk_log_t *log;
    MDB_txn *txn;
    MDB_cursor *cur; /* on db_streams, opened at the first lookup */
    ver_slot_t *slots;
    size_t mask;
    ver_slot_t stack[VER_STACK_SLOTS];
} ver_cache_t;

static int ver_cache_init(ver_cache_t *vc, stk_log_t *log, MDB_txn *txn, size_t n)
{
    size_t cap = 8;
    while (cap < 2 * n) /* n <= STK_LOG_BATCH_MAX: no overflow */
        cap *= 2;
    vc->log = log;
    vc->txn = txn;
    vc->cur = NULL;
    vc->mask = cap - 1;
    if (cap <= VER_STACK_SLOTS) {
        memset(vc->stack, 0, cap * sizeof vc->stack[0]);
        vc->slots = vc->stack;
        return 0;
    }
    vc->slots = calloc(cap, sizeof *vc->slots);
    return vc->slots == NULL ? STK_ENOMEM : 0;
}

static void ver_cache_free(ver_cache_t *vc)
{
    if (vc->cur != NULL)
        mdb_cursor_close(vc->cur);
    if (vc->slots != vc->stack)
        free(vc->slots);
}

/* MurmurHash3's 64-bit finalizer: every input bit reaches the low bits (ids that differ
 * only in their last byte must not share a slot). */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* The slot of s, filled from the database on first use. Returns 0 or an error. */
static int ver_cache_get(ver_cache_t *vc, const stk_uuid_t *s, ver_slot_t **out)
{
    uint64_t a, b;
    memcpy(&a, s->b, 8);
    memcpy(&b, s->b + 8, 8);
    size_t i = (size_t)mix64(a ^ mix64(b)) & vc->mask;
    while (vc->slots[i].used) { /* at most n of 2n slots are used: always ends */
        if (stk_uuid_eq(&vc->slots[i].stream, s)) {
            *out = &vc->slots[i];
            return 0;
        }
        i = (i + 1) & vc->mask;
    }
    if (vc->cur == NULL) {
        int rc = mdb_cursor_open(vc->txn, vc->log->db_streams, &vc->cur);
        if (rc != 0) {
            vc->cur = NULL;
            return lmdb_err(rc);
        }
    }
    ver_slot_t *sl = &vc->slots[i];
    int rc = cursor_stream_version(vc->cur, s, &sl->version);
    if (rc != 0)
        return rc;
    sl->stream = *s;
    sl->used = 1;
    *out = sl;
    return 0;
}

static size_t unique_key(uint8_t *k, const char *index, const uint8_t *value, size_t value_len)
{
    size_t nl = strlen(index);
    memcpy(k, index, nl);
    k[nl] = 0;
    memcpy(k + nl + 1, value, value_len);
    return nl + 1 + value_len;
}

static int apply_unique(stk_log_t *log, MDB_txn *txn, const stk_unique_op_t *u)
{
    uint8_t kb[STK_UNIQUE_NAME_MAX + 1 + STK_UNIQUE_VALUE_MAX];
    MDB_val k = {unique_key(kb, u->index, u->value, u->value_len), kb}, v;
    int rc = mdb_get(txn, log->db_unique, &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_err(rc);
    int held = rc == 0;
    if (held && v.mv_size != STK_UUID_LEN)
        return STK_ECORRUPT;
    int mine = held && memcmp(v.mv_data, u->owner.b, STK_UUID_LEN) == 0;
    if (!u->release) {
        if (mine)
            return 0;
        if (held)
            return STK_EEXIST;
        MDB_val nv = {STK_UUID_LEN, (void *)u->owner.b};
        return lmdb_err(mdb_put(txn, log->db_unique, &k, &nv, 0));
    }
    if (!held)
        return 0;
    if (!mine)
        return STK_EPERM;
    return lmdb_err(mdb_del(txn, log->db_unique, &k, NULL));
}

static int apply_key_op(stk_log_t *log, MDB_txn *txn, const stk_append_t *it)
{
    MDB_val k = {STK_UUID_LEN, (void *)it->stream.b};
    if (it->key_op == STK_KEY_PUT) {
        MDB_val v = {it->data_key_len, (void *)it->data_key};
        return lmdb_err(mdb_put(txn, log->db_keys, &k, &v, 0));
    }
    if (it->key_op == STK_KEY_DELETE) {
        int rc = mdb_del(txn, log->db_keys, &k, NULL);
        return (rc == 0 || rc == MDB_NOTFOUND) ? 0 : lmdb_err(rc);
    }
    return 0;
}

/* The version item it gets (its stream's current version + 1, counting the earlier items
 * of the batch through vc) after the expected-version and range checks; seq_before is the
 * head seq before it. Writes nothing but vc. Returns 0, STK_ECONFLICT, STK_ERANGE or a
 * lookup error. */
static int item_version(ver_cache_t *vc, const stk_append_t *it, uint64_t seq_before,
                        uint64_t *version)
{
    ver_slot_t *slot = NULL; /* set by ver_cache_get on success (gcc cannot see it) */
    int rc = ver_cache_get(vc, &it->stream, &slot);
    if (rc != 0)
        return rc;
    uint64_t cur = slot->version;
    if (it->expected_version != STK_VERSION_ANY && it->expected_version != cur)
        return STK_ECONFLICT;
    if (cur == UINT64_MAX - 1 || seq_before == UINT64_MAX - 1)
        return STK_ERANGE;
    slot->version = cur + 1; /* a later failure rolls the whole batch back, vc with it */
    *version = cur + 1;
    return 0;
}

/* Writes one item whose version was checked by item_version(): its unique and key ops, the
 * record and its index entry, advancing *h. */
static int append_one(stk_log_t *log, MDB_txn *txn, head_t *h, const stk_append_t *it,
                      uint64_t version, stk_append_result_t *res)
{
    int rc;
    uint64_t cur = version - 1;
    for (size_t j = 0; j < it->n_unique; j++) {
        rc = apply_unique(log, txn, &it->unique[j]);
        if (rc != 0)
            return rc;
    }
    rc = apply_key_op(log, txn, it);
    if (rc != 0)
        return rc;

    stk_envelope_t e = {
        .seq = h->seq + 1,
        .stream = it->stream,
        .version = cur + 1,
        .type = it->type,
        .schema = it->schema,
        .tick = it->tick,
        .actor = it->actor,
        .time_us = now_us(),
        .payload = it->payload,
        .payload_len = it->payload_len,
    };
    size_t env_len = stk_envelope_size(&e);
    uint8_t kb[8];
    put_be64(kb, e.seq);
    MDB_val k = {sizeof kb, kb}, v = {STK_CHAIN_LEN + env_len, NULL};
    rc = mdb_put(txn, log->db_events, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc == MDB_KEYEXIST)
        return STK_ECORRUPT; /* meta head is behind the stored records */
    if (rc != 0)
        return lmdb_err(rc);
    uint8_t *rec = v.mv_data;
    size_t written = 0;
    rc = stk_envelope_encode(&e, rec + STK_CHAIN_LEN, env_len, &written);
    if (rc != 0)
        return rc == STK_ETOOBIG ? STK_ETOOBIG : STK_EIO;
    stk_chain_next(h->chain, rec + STK_CHAIN_LEN, env_len, rec);

    uint8_t sk[STREAM_KEY_LEN], sv[8];
    stream_key(sk, &it->stream, e.version);
    put_be64(sv, e.seq);
    MDB_val skv = {sizeof sk, sk}, svv = {sizeof sv, sv};
    rc = mdb_put(txn, log->db_streams, &skv, &svv, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        return STK_ECORRUPT;
    if (rc != 0)
        return lmdb_err(rc);

    h->seq = e.seq;
    memcpy(h->chain, rec, STK_CHAIN_LEN);
    if (e.version == 1)
        h->streams++;
    if (res != NULL) {
        res->seq = e.seq;
        res->version = e.version;
        res->time_us = e.time_us;
        memcpy(res->chain, rec, STK_CHAIN_LEN);
    }
    return 0;
}

/* Appends items[0..n) (already checked by stk_log_check_batch) inside txn, advancing *h.
 * Item by item (version check, then writes), as the API describes, unless checks_first:
 * then every version is checked before anything is written, so a conflict leaves txn
 * untouched. *wrote tells whether txn may hold part of a failed batch (the caller must then
 * roll it back). */
static int append_batch(stk_log_t *log, MDB_txn *txn, head_t *h, const stk_append_t *items,
                        size_t n, stk_append_result_t *res, int checks_first, int *wrote)
{
    ver_cache_t vc;
    *wrote = 0;
    int rc = ver_cache_init(&vc, log, txn, n);
    if (rc == 0 && checks_first) {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = item_version(&vc, &items[i], h->seq + i, &res[i].version);
        for (size_t i = 0; i < n && rc == 0; i++) {
            *wrote = 1;
            rc = append_one(log, txn, h, &items[i], res[i].version, &res[i]);
        }
    } else if (rc == 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            uint64_t version;
            rc = item_version(&vc, &items[i], h->seq, &version);
            if (rc == 0) {
                *wrote = 1;
                rc = append_one(log, txn, h, &items[i], version, &res[i]);
            }
        }
    }
    ver_cache_free(&vc);
    return rc;
}

/* 1 if no item claims or releases a unique value: such a batch can only fail logically on
 * a version check (unique ops can fail on another op of the same batch, key ops never). */
static int batch_checks_first(const stk_append_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].n_unique > 0)
            return 0;
    return 1;
}

int stk_log_txn_begin(stk_log_t *log, stk_log_txn_t **out)
{
    if (log == NULL || out == NULL)
        return STK_EINVAL;
    *out = NULL;
    if (log->read_only)
        return STK_EPERM;
    stk_log_txn_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return STK_ENOMEM;
    t->log = log;
    int rc = lmdb_err(mdb_txn_begin(log->env, NULL, 0, &t->txn));
    if (rc != 0) {
        free(t);
        return rc;
    }
    rc = meta_read(log, t->txn, &t->head);
    if (rc != 0) {
        mdb_txn_abort(t->txn);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int stk_log_txn_append(stk_log_txn_t *t, const stk_append_t *items, size_t n,
                       stk_append_result_t *res)
{
    if (t == NULL || res == NULL)
        return STK_EINVAL;
    if (t->poison)
        return t->poison;
    int rc = stk_log_check_batch(items, n);
    if (rc != 0)
        return rc;
    head_t h = t->head;
    int wrote = 0;
    if (batch_checks_first(items, n)) {
        /* Every logical error is found before the first write, so the batch goes straight
         * into the group transaction: a nested transaction costs LMDB a dirty-page list and
         * a merge per batch, twice the CPU of the append itself for one-event batches. An
         * error after the first write (EFULL, EIO, ...) poisons the transaction. */
        rc = append_batch(t->log, t->txn, &h, items, n, res, 1, &wrote);
        if (rc == 0) {
            t->head = h;
            return 0;
        }
        if (wrote || !is_logical_error(rc))
            t->poison = rc;
        return rc;
    }
    MDB_txn *child = NULL;
    rc = lmdb_err(mdb_txn_begin(t->log->env, t->txn, 0, &child));
    if (rc != 0) {
        t->poison = rc;
        return rc;
    }
    rc = append_batch(t->log, child, &h, items, n, res, 0, &wrote);
    if (rc == 0)
        rc = lmdb_err(mdb_txn_commit(child));
    else
        mdb_txn_abort(child);
    if (rc == 0) {
        t->head = h;
        return 0;
    }
    if (!is_logical_error(rc))
        t->poison = rc;
    return rc;
}

int stk_log_txn_commit(stk_log_txn_t *t)
{
    if (t == NULL)
        return STK_EINVAL;
    stk_log_t *log = t->log;
    int rc = t->poison;
    if (rc == 0)
        rc = meta_write(log, t->txn, &t->head);
    if (rc == 0) {
        rc = lmdb_err(mdb_txn_commit(t->txn));
    } else {
        mdb_txn_abort(t->txn);
    }
    if (rc == 0) {
        pthread_mutex_lock(&log->mu);
        if (t->head.seq > log->committed_seq)
            log->committed_seq = t->head.seq;
        pthread_cond_broadcast(&log->cond);
        pthread_mutex_unlock(&log->mu);
    }
    free(t);
    return rc;
}

void stk_log_txn_abort(stk_log_txn_t *t)
{
    if (t == NULL)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

int stk_log_append(stk_log_t *log, const stk_append_t *items, size_t n, stk_append_result_t *res)
{
    if (log == NULL || res == NULL)
        return STK_EINVAL;
    int rc = stk_log_check_batch(items, n);
    if (rc != 0)
        return rc;
    stk_log_txn_t *t;
    rc = stk_log_txn_begin(log, &t);
    if (rc != 0)
        return rc;
    /* One batch in its own transaction: it needs no nested transaction (which costs LMDB
     * a dirty-page list per batch), a failure aborts the whole transaction. */
    head_t h = t->head;
    int wrote;
    rc = append_batch(log, t->txn, &h, items, n, res, 0, &wrote);
    if (rc != 0) {
        stk_log_txn_abort(t);
        return rc;
    }
    t->head = h;
    return stk_log_txn_commit(t);
}

/* ---- reads ---- */

/* Splits and decodes one `events` record; checks key/seq agreement. */
static int decode_record(const MDB_val *k, const MDB_val *v, stk_envelope_t *e)
{
    if (k->mv_size != 8 || v->mv_size < STK_CHAIN_LEN)
        return STK_ECORRUPT;
    const uint8_t *rec = v->mv_data;
    if (stk_envelope_decode(rec + STK_CHAIN_LEN, v->mv_size - STK_CHAIN_LEN, e) != 0)
        return STK_ECORRUPT;
    if (e->seq != get_be64(k->mv_data))
        return STK_ECORRUPT;
    return 0;
}

static int seek_seq(MDB_cursor *c, uint64_t from_seq, MDB_val *k, MDB_val *v, uint8_t kb[8])
{
    put_be64(kb, from_seq);
    k->mv_size = 8;
    k->mv_data = kb;
    return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
}

typedef struct scan_ctx {
    stk_log_event_cb cb;
    stk_log_raw_cb raw_cb;
    void *ud;
} scan_ctx_t;

static int scan_events(stk_log_t *log, uint64_t from_seq, size_t max, const scan_ctx_t *sc)
{
    if (log == NULL || (sc->cb == NULL && sc->raw_cb == NULL))
        return STK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, log->db_events, &c);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_err(rc);
    }
    MDB_val k, v;
    uint8_t kb[8];
    size_t count = 0;
    int mrc = seek_seq(c, from_seq, &k, &v, kb);
    rc = 0;
    while (mrc == 0 && (max == 0 || count < max)) {
        if (sc->raw_cb != NULL) {
            if (k.mv_size != 8 || v.mv_size < STK_CHAIN_LEN) {
                rc = STK_ECORRUPT;
                break;
            }
            const uint8_t *rec = v.mv_data;
            rc = sc->raw_cb(sc->ud, get_be64(k.mv_data), rec, rec + STK_CHAIN_LEN,
                            v.mv_size - STK_CHAIN_LEN);
        } else {
            stk_envelope_t e;
            rc = decode_record(&k, &v, &e);
            if (rc == 0)
                rc = sc->cb(sc->ud, &e);
        }
        if (rc != 0)
            break;
        count++;
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = lmdb_err(mrc);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc;
}

int stk_log_read(stk_log_t *log, uint64_t from_seq, size_t max, stk_log_event_cb cb, void *ud)
{
    scan_ctx_t sc = {cb, NULL, ud};
    return scan_events(log, from_seq, max, &sc);
}

int stk_log_read_raw(stk_log_t *log, uint64_t from_seq, size_t max, stk_log_raw_cb cb, void *ud)
{
    scan_ctx_t sc = {NULL, cb, ud};
    return scan_events(log, from_seq, max, &sc);
}

int stk_log_read_stream(stk_log_t *log, const stk_uuid_t *stream, uint64_t from_version, size_t max,
                        stk_log_event_cb cb, void *ud)
{
    if (log == NULL || stream == NULL || cb == NULL)
        return STK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, log->db_streams, &c);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_err(rc);
    }
    uint8_t sk[STREAM_KEY_LEN];
    stream_key(sk, stream, from_version);
    MDB_val k = {sizeof sk, sk}, v;
    size_t count = 0;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    rc = 0;
    while (mrc == 0 && (max == 0 || count < max)) {
        if (k.mv_size != STREAM_KEY_LEN || memcmp(k.mv_data, stream->b, STK_UUID_LEN) != 0)
            break;
        if (v.mv_size != 8) {
            rc = STK_ECORRUPT;
            break;
        }
        MDB_val ek = {8, v.mv_data}, ev;
        int grc = mdb_get(txn, log->db_events, &ek, &ev);
        if (grc != 0) {
            rc = grc == MDB_NOTFOUND ? STK_ECORRUPT : lmdb_err(grc);
            break;
        }
        stk_envelope_t e;
        rc = decode_record(&ek, &ev, &e);
        if (rc == 0 && (!stk_uuid_eq(&e.stream, stream) ||
                        e.version != get_be64((const uint8_t *)k.mv_data + STK_UUID_LEN)))
            rc = STK_ECORRUPT;
        if (rc == 0)
            rc = cb(ud, &e);
        if (rc != 0)
            break;
        count++;
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = lmdb_err(mrc);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc;
}

int stk_log_iter_open(stk_log_t *log, uint64_t from_seq, stk_log_iter_t **out)
{
    if (log == NULL || out == NULL)
        return STK_EINVAL;
    *out = NULL;
    stk_log_iter_t *it = calloc(1, sizeof *it);
    if (it == NULL)
        return STK_ENOMEM;
    it->log = log;
    it->from_seq = from_seq;
    int rc = read_begin(log, &it->txn);
    if (rc != 0)
        goto fail_it;
    rc = lmdb_err(mdb_cursor_open(it->txn, log->db_events, &it->cur));
    if (rc != 0)
        goto fail_txn;
    *out = it;
    return 0;

fail_txn:
    mdb_txn_abort(it->txn);
fail_it:
    free(it);
    return rc;
}

int stk_log_iter_next(stk_log_iter_t *it, stk_envelope_t *e)
{
    if (it == NULL || e == NULL)
        return STK_EINVAL;
    MDB_val k, v;
    uint8_t kb[8];
    int rc;
    if (!it->started) {
        it->started = 1;
        rc = seek_seq(it->cur, it->from_seq, &k, &v, kb);
    } else {
        rc = mdb_cursor_get(it->cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0)
        return lmdb_err(rc);
    return decode_record(&k, &v, e);
}

void stk_log_iter_close(stk_log_iter_t *it)
{
    if (it == NULL)
        return;
    mdb_cursor_close(it->cur);
    mdb_txn_abort(it->txn);
    free(it);
}

int stk_log_head(stk_log_t *log, uint64_t *seq, uint8_t chain[STK_CHAIN_LEN])
{
    if (log == NULL || seq == NULL)
        return STK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    head_t h;
    rc = meta_read(log, txn, &h);
    mdb_txn_abort(txn);
    if (rc != 0)
        return rc;
    *seq = h.seq;
    if (chain != NULL)
        memcpy(chain, h.chain, STK_CHAIN_LEN);
    return 0;
}

int stk_log_stream_version(stk_log_t *log, const stk_uuid_t *stream, uint64_t *version)
{
    if (log == NULL || stream == NULL || version == NULL)
        return STK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    rc = txn_stream_version(log, txn, stream, version);
    mdb_txn_abort(txn);
    return rc;
}

int stk_log_wait(stk_log_t *log, uint64_t after_seq, int timeout_ms, uint64_t *head)
{
    if (log == NULL || head == NULL)
        return STK_EINVAL;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    if (timeout_ms >= 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&log->mu);
    int timed_out = 0;
    while (log->committed_seq <= after_seq && !timed_out) {
        if (timeout_ms < 0)
            pthread_cond_wait(&log->cond, &log->mu);
        else
            timed_out = pthread_cond_timedwait(&log->cond, &log->mu, &deadline) == ETIMEDOUT;
    }
    uint64_t seen = log->committed_seq;
    pthread_mutex_unlock(&log->mu);
    if (seen > after_seq) {
        *head = seen;
        return 0;
    }
    /* Timed out: another process may have committed; ask LMDB. */
    return stk_log_head(log, head, NULL);
}

/* ---- write model ---- */

int stk_log_unique_get(stk_log_t *log, const char *index, const uint8_t *value, size_t value_len,
                       stk_uuid_t *owner)
{
    if (log == NULL || owner == NULL)
        return STK_EINVAL;
    stk_unique_op_t u = {.index = index, .value = value, .value_len = value_len};
    size_t bytes = 0;
    int rc = check_unique_op(&u, &bytes);
    if (rc != 0)
        return rc;
    MDB_txn *txn;
    rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    uint8_t kb[STK_UNIQUE_NAME_MAX + 1 + STK_UNIQUE_VALUE_MAX];
    MDB_val k = {unique_key(kb, index, value, value_len), kb}, v;
    rc = lmdb_err(mdb_get(txn, log->db_unique, &k, &v));
    if (rc == 0) {
        if (v.mv_size == STK_UUID_LEN)
            memcpy(owner->b, v.mv_data, STK_UUID_LEN);
        else
            rc = STK_ECORRUPT;
    }
    mdb_txn_abort(txn);
    return rc;
}

/* One small write transaction: put (data != NULL) or delete (data == NULL) key in dbi. */
static int write_one(stk_log_t *log, MDB_dbi dbi, MDB_val *k, const uint8_t *data, size_t len)
{
    if (log->read_only)
        return STK_EPERM;
    MDB_txn *txn;
    int rc = lmdb_err(mdb_txn_begin(log->env, NULL, 0, &txn));
    if (rc != 0)
        return rc;
    if (data != NULL) {
        MDB_val v = {len, (void *)data};
        rc = lmdb_err(mdb_put(txn, dbi, k, &v, 0));
    } else {
        rc = lmdb_err(mdb_del(txn, dbi, k, NULL));
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return lmdb_err(mdb_txn_commit(txn));
}

int stk_log_key_put(stk_log_t *log, const stk_uuid_t *user, const uint8_t *key, size_t len)
{
    if (log == NULL || user == NULL || key == NULL || len == 0)
        return STK_EINVAL;
    if (len > STK_DATA_KEY_MAX)
        return STK_ETOOBIG;
    MDB_val k = {STK_UUID_LEN, (void *)user->b};
    return write_one(log, log->db_keys, &k, key, len);
}

int stk_log_key_get(stk_log_t *log, const stk_uuid_t *user, uint8_t *buf, size_t cap, size_t *len)
{
    if (log == NULL || user == NULL || buf == NULL || len == NULL)
        return STK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    MDB_val k = {STK_UUID_LEN, (void *)user->b}, v;
    rc = lmdb_err(mdb_get(txn, log->db_keys, &k, &v));
    if (rc == 0) {
        *len = v.mv_size;
        if (v.mv_size > cap)
            rc = STK_ETOOBIG;
        else
            memcpy(buf, v.mv_data, v.mv_size);
    }
    mdb_txn_abort(txn);
    return rc;
}

int stk_log_key_delete(stk_log_t *log, const stk_uuid_t *user)
{
    if (log == NULL || user == NULL)
        return STK_EINVAL;
    MDB_val k = {STK_UUID_LEN, (void *)user->b};
    return write_one(log, log->db_keys, &k, NULL, 0);
}

int stk_log_snapshot_put(stk_log_t *log, const stk_uuid_t *stream, uint64_t seq,
                         const uint8_t *data, size_t len)
{
    if (log == NULL || stream == NULL || data == NULL || len == 0)
        return STK_EINVAL;
    if (len > STK_SNAPSHOT_MAX)
        return STK_ETOOBIG;
    uint8_t kb[STREAM_KEY_LEN];
    stream_key(kb, stream, seq);
    MDB_val k = {sizeof kb, kb};
    return write_one(log, log->db_snapshots, &k, data, len);
}

int stk_log_snapshot_get(stk_log_t *log, const stk_uuid_t *stream, uint64_t at_seq,
                         uint64_t *seq_out, uint8_t **data, size_t *len)
{
    if (log == NULL || stream == NULL || seq_out == NULL || data == NULL || len == NULL)
        return STK_EINVAL;
    *data = NULL;
    MDB_txn *txn;
    int rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    MDB_cursor *c;
    rc = lmdb_err(mdb_cursor_open(txn, log->db_snapshots, &c));
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    /* Seek past (stream, at_seq), then step back one: the latest key <= (stream, at_seq). */
    uint8_t kb[STREAM_KEY_LEN];
    int mrc;
    MDB_val k, v;
    if (at_seq == UINT64_MAX) {
        uint8_t next[STK_UUID_LEN];
        int carry = 1;
        memcpy(next, stream->b, STK_UUID_LEN);
        for (int i = STK_UUID_LEN - 1; i >= 0 && carry; i--)
            carry = ++next[i] == 0;
        memset(kb, 0, sizeof kb);
        memcpy(kb, next, STK_UUID_LEN);
        k.mv_size = sizeof kb;
        k.mv_data = kb;
        mrc = carry ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    } else {
        stream_key(kb, stream, at_seq + 1);
        k.mv_size = sizeof kb;
        k.mv_data = kb;
        mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    if (mrc == MDB_NOTFOUND)
        mrc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    else if (mrc == 0)
        mrc = mdb_cursor_get(c, &k, &v, MDB_PREV);
    if (mrc == 0 && k.mv_size == STREAM_KEY_LEN &&
        memcmp(k.mv_data, stream->b, STK_UUID_LEN) == 0) {
        *data = malloc(v.mv_size ? v.mv_size : 1);
        if (*data == NULL) {
            rc = STK_ENOMEM;
        } else {
            memcpy(*data, v.mv_data, v.mv_size);
            *len = v.mv_size;
            *seq_out = get_be64((const uint8_t *)k.mv_data + STK_UUID_LEN);
        }
    } else {
        rc = (mrc == 0 || mrc == MDB_NOTFOUND) ? STK_ENOTFOUND : lmdb_err(mrc);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc;
}

/* ---- verify ---- */

static int damage(stk_log_verify_report_t *r, stk_log_damage_t d, uint64_t seq, const char *what)
{
    if (r->damage == STK_DAMAGE_NONE || (seq != 0 && (r->bad_seq == 0 || seq < r->bad_seq))) {
        r->damage = d;
        r->bad_seq = seq;
        snprintf(r->detail, sizeof r->detail, "seq %llu: %s", (unsigned long long)seq, what);
    }
    return r->damage == STK_DAMAGE_CHAIN ? STK_ECHAIN : STK_ECORRUPT;
}

/* Pass 1: every record in seq order — gaps, chain, decode, forward stream index. */
static int verify_records(stk_log_t *log, MDB_txn *txn, stk_log_verify_report_t *r)
{
    MDB_cursor *c;
    int rc = lmdb_err(mdb_cursor_open(txn, log->db_events, &c));
    if (rc != 0)
        return rc;
    uint8_t chain[STK_CHAIN_LEN] = {0};
    uint64_t expect = 1;
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    rc = 0;
    while (mrc == 0) {
        if (k.mv_size != 8 || get_be64(k.mv_data) != expect) {
            rc = damage(r, STK_DAMAGE_GAP, expect, "missing record or malformed key");
            break;
        }
        if (v.mv_size < STK_CHAIN_LEN) {
            rc = damage(r, STK_DAMAGE_RECORD, expect, "record shorter than its chain");
            break;
        }
        const uint8_t *rec = v.mv_data;
        stk_chain_next(chain, rec + STK_CHAIN_LEN, v.mv_size - STK_CHAIN_LEN, chain);
        if (memcmp(chain, rec, STK_CHAIN_LEN) != 0) {
            rc = damage(r, STK_DAMAGE_CHAIN, expect, "chain mismatch");
            break;
        }
        stk_envelope_t e;
        if (decode_record(&k, &v, &e) != 0) {
            rc = damage(r, STK_DAMAGE_DECODE, expect, "envelope does not decode");
            break;
        }
        uint8_t sk[STREAM_KEY_LEN];
        stream_key(sk, &e.stream, e.version);
        MDB_val skv = {sizeof sk, sk}, sv;
        int grc = mdb_get(txn, log->db_streams, &skv, &sv);
        if (grc != 0 && grc != MDB_NOTFOUND) {
            rc = lmdb_err(grc);
            break;
        }
        if (grc == MDB_NOTFOUND || sv.mv_size != 8 || get_be64(sv.mv_data) != expect) {
            rc = damage(r, STK_DAMAGE_STREAM_INDEX, expect, "stream index entry missing/wrong");
            break;
        }
        r->events++;
        r->head_seq = expect;
        memcpy(r->head_chain, chain, STK_CHAIN_LEN);
        expect++;
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc != MDB_NOTFOUND && mrc != 0)
        rc = lmdb_err(mrc);
    mdb_cursor_close(c);
    return rc;
}

/* Pass 2: every stream index entry points at an event that says the same stream/version,
 * and each stream's versions run 1..n. Reports the smallest damaged seq. */
static int verify_streams(stk_log_t *log, MDB_txn *txn, stk_log_verify_report_t *r)
{
    MDB_cursor *c;
    int rc = lmdb_err(mdb_cursor_open(txn, log->db_streams, &c));
    if (rc != 0)
        return rc;
    uint8_t prev_stream[STK_UUID_LEN];
    uint64_t prev_version = 0, entries = 0;
    int have_prev = 0, bad = 0;
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (mrc == 0) {
        entries++;
        if (k.mv_size != STREAM_KEY_LEN || v.mv_size != 8) {
            bad = damage(r, STK_DAMAGE_STREAM_INDEX, 0, "malformed stream index entry");
        } else {
            const uint8_t *kp = k.mv_data;
            uint64_t ver = get_be64(kp + STK_UUID_LEN), seq = get_be64(v.mv_data);
            int same = have_prev && memcmp(prev_stream, kp, STK_UUID_LEN) == 0;
            if (!same)
                r->streams++;
            if (ver != (same ? prev_version + 1 : 1))
                bad = damage(r, STK_DAMAGE_STREAM_INDEX, seq, "stream version gap");
            memcpy(prev_stream, kp, STK_UUID_LEN);
            prev_version = ver;
            have_prev = 1;
            uint8_t ekb[8];
            put_be64(ekb, seq);
            MDB_val ek = {8, ekb}, ev;
            stk_envelope_t e;
            int grc = mdb_get(txn, log->db_events, &ek, &ev);
            if (grc != 0 && grc != MDB_NOTFOUND) {
                rc = lmdb_err(grc);
                break;
            }
            if (grc == MDB_NOTFOUND || decode_record(&ek, &ev, &e) != 0 ||
                memcmp(e.stream.b, kp, STK_UUID_LEN) != 0 || e.version != ver)
                bad = damage(r, STK_DAMAGE_STREAM_INDEX, seq,
                             "stream index entry points at another event");
        }
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && mrc != MDB_NOTFOUND && mrc != 0)
        rc = lmdb_err(mrc);
    mdb_cursor_close(c);
    if (rc != 0)
        return rc;
    if (!bad && entries != r->events)
        bad = damage(r, STK_DAMAGE_STREAM_INDEX, 0, "stream index has extra entries");
    return bad;
}

int stk_log_verify(stk_log_t *log, stk_log_verify_report_t *r)
{
    if (r == NULL)
        return STK_EINVAL;
    memset(r, 0, sizeof *r);
    if (log == NULL)
        return STK_EINVAL;
    MDB_txn *txn;
    int rc = read_begin(log, &txn);
    if (rc != 0) {
        snprintf(r->detail, sizeof r->detail, "cannot begin read: %s", stk_strerror(rc));
        return rc;
    }
    rc = verify_records(log, txn, r);
    if (rc == 0 || rc == STK_ECHAIN || rc == STK_ECORRUPT) {
        int rc2 = verify_streams(log, txn, r);
        if (rc2 != 0 && rc2 != STK_ECHAIN && rc2 != STK_ECORRUPT)
            rc = rc2; /* could not check */
        else if (r->damage != STK_DAMAGE_NONE)
            rc = r->damage == STK_DAMAGE_CHAIN ? STK_ECHAIN : STK_ECORRUPT;
    }
    if (rc == 0) {
        head_t h;
        rc = meta_read(log, txn, &h);
        if (rc == STK_ECORRUPT)
            rc = damage(r, STK_DAMAGE_META, 0, "meta record malformed");
        else if (rc == 0 &&
                 (h.seq != r->head_seq || memcmp(h.chain, r->head_chain, STK_CHAIN_LEN) != 0))
            rc = damage(r, STK_DAMAGE_META, r->head_seq + 1, "meta head disagrees with records");
        else if (rc == 0 && h.streams != r->streams)
            rc = damage(r, STK_DAMAGE_META, 0, "meta stream count disagrees with index");
    }
    mdb_txn_abort(txn);
    if (rc == 0)
        snprintf(r->detail, sizeof r->detail, "ok: %llu events, %llu streams",
                 (unsigned long long)r->events, (unsigned long long)r->streams);
    else if (r->damage == STK_DAMAGE_NONE)
        snprintf(r->detail, sizeof r->detail, "could not verify: %s", stk_strerror(rc));
    return rc;
}

/* ---- backup, stats ---- */

int stk_log_backup(stk_log_t *log, const char *dest_dir)
{
    if (log == NULL || dest_dir == NULL || dest_dir[0] == '\0')
        return STK_EINVAL;
    if (mkdir(dest_dir, 0750) != 0 && errno != EEXIST)
        return lmdb_err(errno);
    return lmdb_err(mdb_env_copy2(log->env, dest_dir, MDB_CP_COMPACT));
}

int stk_log_stats(stk_log_t *log, stk_log_stats_t *st)
{
    if (log == NULL || st == NULL)
        return STK_EINVAL;
    memset(st, 0, sizeof *st);
    MDB_envinfo info;
    MDB_stat es;
    int rc = lmdb_err(mdb_env_info(log->env, &info));
    if (rc == 0)
        rc = lmdb_err(mdb_env_stat(log->env, &es));
    if (rc != 0)
        return rc;
    st->map_size = info.me_mapsize;
    st->used_size = (uint64_t)(info.me_last_pgno + 1) * es.ms_psize;
    st->max_readers = info.me_maxreaders;
    st->readers_used = info.me_numreaders;
    char path[4096];
    struct stat fs;
    if (snprintf(path, sizeof path, "%s/data.mdb", log->dir) < (int)sizeof path &&
        stat(path, &fs) == 0)
        st->file_size = (uint64_t)fs.st_size;

    MDB_txn *txn;
    rc = read_begin(log, &txn);
    if (rc != 0)
        return rc;
    struct {
        MDB_dbi dbi;
        uint64_t *out;
    } dbs[] = {{log->db_events, &st->events},
               {log->db_streams, &st->stream_entries},
               {log->db_snapshots, &st->snapshots},
               {log->db_unique, &st->unique},
               {log->db_keys, &st->keys}};
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && rc == 0; i++) {
        MDB_stat s;
        rc = lmdb_err(mdb_stat(txn, dbs[i].dbi, &s));
        if (rc == 0)
            *dbs[i].out = s.ms_entries;
    }
    head_t h;
    if (rc == 0)
        rc = meta_read(log, txn, &h);
    if (rc == 0) {
        st->head_seq = h.seq;
        st->streams = h.streams;
    }
    mdb_txn_abort(txn);
    return rc;
}
