/* bench/bench_log_raw.c — the raw-LMDB peers of bench_log (see bench_log.h): the same keys
 * and value sizes the log writes, put with plain mdb_put calls, so the printed ratio is the
 * cost of everything the log adds (encoding, chain hash, version checks, its own API).
 *
 * This is the one place outside events/ that includes lmdb.h, on purpose: a peer has to
 * be written against the library itself. Nothing here is used by the server.
 */
#include "bench/bench_log.h"
#include "bench/bench_util.h"

#include "core/error.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct raw_env {
    MDB_env *env;
    MDB_dbi events;
    MDB_dbi streams;
} raw_env_t;

static int lmdb_fail(const char *what, int rc)
{
    fprintf(stderr, "bench raw: %s: %s\n", what, mdb_strerror(rc));
    return STK_EIO;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Opens an environment in dir with default (fully durable) flags and both sub-databases. */
static int raw_open(const stk_bench_log_cfg_t *cfg, const char *dir, raw_env_t *r)
{
    MDB_txn *txn = NULL;
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = mdb_env_create(&r->env)) != 0)
        return lmdb_fail("mdb_env_create", rc);
    if ((rc = mdb_env_set_maxdbs(r->env, 8)) != 0 ||
        (rc = mdb_env_set_mapsize(r->env, cfg->map_size)) != 0) {
        lmdb_fail("mdb_env_set", rc);
        goto fail;
    }
    if ((rc = mdb_env_open(r->env, dir, 0, 0644)) != 0) {
        lmdb_fail("mdb_env_open", rc);
        goto fail;
    }
    if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0) {
        lmdb_fail("mdb_txn_begin", rc);
        goto fail;
    }
    if ((rc = mdb_dbi_open(txn, "events", MDB_CREATE, &r->events)) != 0 ||
        (rc = mdb_dbi_open(txn, "streams", MDB_CREATE, &r->streams)) != 0) {
        lmdb_fail("mdb_dbi_open", rc);
        mdb_txn_abort(txn);
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        lmdb_fail("mdb_txn_commit", rc);
        goto fail;
    }
    return 0;
fail:
    mdb_env_close(r->env);
    r->env = NULL;
    return STK_EIO;
}

static void raw_close(raw_env_t *r)
{
    if (r->env != NULL)
        mdb_env_close(r->env);
    r->env = NULL;
}

/* Puts event `seq` (1-based; workload index seq-1) into both sub-databases. */
static int raw_put_event(const stk_bench_log_cfg_t *cfg, raw_env_t *r, MDB_txn *txn, uint64_t seq,
                         uint8_t *value)
{
    uint8_t seq_be[8], skey[STK_UUID_LEN + 8];
    uint64_t i = seq - 1;
    stk_uuid_t sid;
    MDB_val k, v;
    int rc;

    put_be64(seq_be, seq);
    memcpy(value, seq_be, 8); /* vary the bytes a little, as real records do */
    k.mv_data = seq_be;
    k.mv_size = 8;
    v.mv_data = value;
    v.mv_size = cfg->record_len;
    /* The sequence only grows, so MDB_APPEND, as a careful raw user would write it. */
    if ((rc = mdb_put(txn, r->events, &k, &v, MDB_APPEND)) != 0)
        return lmdb_fail("mdb_put events", rc);
    stk_bench_log_stream_id(i % cfg->streams, &sid);
    memcpy(skey, sid.b, STK_UUID_LEN);
    put_be64(skey + STK_UUID_LEN, i / cfg->streams + 1);
    k.mv_data = skey;
    k.mv_size = sizeof skey;
    v.mv_data = seq_be;
    v.mv_size = 8;
    if ((rc = mdb_put(txn, r->streams, &k, &v, 0)) != 0)
        return lmdb_fail("mdb_put streams", rc);
    return 0;
}

int stk_bench_raw_batched(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                          uint64_t count, uint64_t *elapsed_ns)
{
    raw_env_t r;
    MDB_txn *txn = NULL;
    uint8_t *value = NULL;
    uint64_t seq = first + 1, end = first + count, t0;
    int rc;

    if ((value = calloc(1, cfg->record_len)) == NULL)
        return STK_ENOMEM;
    for (size_t j = 0; j < cfg->record_len; j++)
        value[j] = (uint8_t)(j * 13u + 1u);
    if ((rc = raw_open(cfg, dir, &r)) != 0)
        goto fail_value;
    t0 = stk_bench_now_ns();
    while (seq <= end) {
        if ((rc = mdb_txn_begin(r.env, NULL, 0, &txn)) != 0) {
            rc = lmdb_fail("mdb_txn_begin", rc);
            goto fail_env;
        }
        for (uint64_t n = 0; n < cfg->batch_size && seq <= end; n++, seq++) {
            if ((rc = raw_put_event(cfg, &r, txn, seq, value)) != 0) {
                mdb_txn_abort(txn);
                goto fail_env;
            }
        }
        if ((rc = mdb_txn_commit(txn)) != 0) {
            rc = lmdb_fail("mdb_txn_commit", rc);
            goto fail_env;
        }
    }
    *elapsed_ns += stk_bench_now_ns() - t0;
    rc = 0;
fail_env:
    raw_close(&r);
fail_value:
    free(value);
    return rc;
}

int stk_bench_raw_commits(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                          uint64_t count, uint64_t *lat_ns)
{
    raw_env_t r;
    MDB_txn *txn = NULL;
    uint8_t *value = NULL, seq_be[8];
    MDB_val k, v;
    int rc;

    if ((value = calloc(1, cfg->record_len)) == NULL)
        return STK_ENOMEM;
    if ((rc = raw_open(cfg, dir, &r)) != 0)
        goto fail_value;
    for (uint64_t j = 0; j < count; j++) {
        uint64_t t0 = stk_bench_now_ns();
        if ((rc = mdb_txn_begin(r.env, NULL, 0, &txn)) != 0) {
            rc = lmdb_fail("mdb_txn_begin", rc);
            goto fail_env;
        }
        put_be64(seq_be, first + j + 1);
        memcpy(value, seq_be, 8);
        k.mv_data = seq_be;
        k.mv_size = 8;
        v.mv_data = value;
        v.mv_size = cfg->record_len;
        if ((rc = mdb_put(txn, r.events, &k, &v, MDB_APPEND)) != 0) {
            mdb_txn_abort(txn);
            rc = lmdb_fail("mdb_put", rc);
            goto fail_env;
        }
        if ((rc = mdb_txn_commit(txn)) != 0) {
            rc = lmdb_fail("mdb_txn_commit", rc);
            goto fail_env;
        }
        lat_ns[j] = stk_bench_now_ns() - t0;
    }
    rc = 0;
fail_env:
    raw_close(&r);
fail_value:
    free(value);
    return rc;
}

int stk_bench_raw_scan(const stk_bench_log_cfg_t *cfg, const char *dir, double *events_per_s,
                       uint64_t *count)
{
    raw_env_t r;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t total = 0, pass_count = 0, t0, elapsed = 0, sink = 0;
    int rc;

    if ((rc = raw_open(cfg, dir, &r)) != 0)
        return rc;
    t0 = stk_bench_now_ns();
    do {
        if ((rc = mdb_txn_begin(r.env, NULL, MDB_RDONLY, &txn)) != 0) {
            rc = lmdb_fail("mdb_txn_begin", rc);
            goto fail_env;
        }
        if ((rc = mdb_cursor_open(txn, r.events, &cur)) != 0) {
            mdb_txn_abort(txn);
            rc = lmdb_fail("mdb_cursor_open", rc);
            goto fail_env;
        }
        pass_count = 0;
        while ((rc = mdb_cursor_get(cur, &k, &v, pass_count == 0 ? MDB_FIRST : MDB_NEXT)) == 0) {
            const uint8_t *b = v.mv_data;
            sink += b[0] + b[v.mv_size - 1]; /* touch the record like a decoder would */
            pass_count++;
        }
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        if (rc != MDB_NOTFOUND) {
            rc = lmdb_fail("mdb_cursor_get", rc);
            goto fail_env;
        }
        total += pass_count;
        elapsed = stk_bench_now_ns() - t0;
    } while (elapsed < cfg->read_ms * 1000000u && pass_count > 0);
    *events_per_s = (double)total * 1e9 / (double)elapsed;
    *count = pass_count;
    if (sink == 1) /* keep the touches from being optimised away */
        fprintf(stderr, "bench raw: sink %llu\n", (unsigned long long)sink);
    rc = 0;
fail_env:
    raw_close(&r);
    return rc;
}
