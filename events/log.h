/* events/log.h — the LMDB event log: the durable, append-only source of truth (DESIGN §3, §6).
 *
 * One LMDB environment in one directory, with named sub-databases:
 *   events    key = big-endian seq (8)               → chain[32] || envelope bytes
 *   streams   key = stream uuid (16) || BE version (8) → BE seq (8)
 *   snapshots key = stream uuid (16) || BE seq (8)     → opaque bytes
 *   unique    key = index name || 0x00 || value        → owner uuid (16)
 *   keys      key = user uuid (16)                     → opaque key bytes (deletable: erasure)
 *   meta      "head" → BE seq (8) || chain (32); "streams" → BE count (8); "format" → text
 * This module is the only one that includes lmdb.h; LMDB codes are translated here.
 *
 * It is not the payload codec (payload bytes are opaque here), not the group-commit queue
 * (events/writer.h drives stk_log_txn_* from its thread) and not the write-model records
 * (those live in callers; only unique indexes are kept here, updated atomically with events).
 *
 * Lifecycle: stk_log_open() → any calls from any threads (see each) → stk_log_close()
 * once no call, iterator, writer or stk_log_wait() is still running.
 *
 * Threads: reads use their own read-only LMDB transaction (MDB_NOTLS), may run on any thread
 * concurrently with each other and with the writer, and never block it. Writes (append, the
 * stk_log_txn_* family, snapshot/key puts) are serialised by LMDB's single-writer lock: any
 * thread may call them, but a stk_log_txn_t must be begun, used and ended on one thread.
 * Another process may open the same directory (readers, a verifier, a backup); commit
 * wake-ups (stk_log_wait) are only delivered inside the process that committed.
 *
 * Invariants after every commit: seqs are 1..head with no gap; for every event,
 * streams[stream||version] = seq and the stream's versions are 1..n with no gap;
 * chain(seq) = BLAKE2b-256(chain(seq-1) || envelope(seq)); meta head = (head seq, its chain).
 */
#ifndef STK_EVENTS_LOG_H
#define STK_EVENTS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "events/envelope.h"

typedef struct stk_log stk_log_t;
typedef struct stk_log_txn stk_log_txn_t;
typedef struct stk_log_iter stk_log_iter_t;

/* ---- limits (every size an append can carry) ---- */
#define STK_LOG_BATCH_MAX        4096u                 /* items in one atomic batch */
#define STK_LOG_BATCH_BYTES_MAX  (64u * 1024u * 1024u) /* payload + claim bytes in one batch */
#define STK_UNIQUE_OPS_MAX       8u                    /* unique claims/releases per item */
#define STK_UNIQUE_NAME_MAX      32u                   /* index name bytes (no NUL inside) */
#define STK_UNIQUE_VALUE_MAX     256u                  /* indexed value bytes */
#define STK_DATA_KEY_MAX         256u                  /* per-user key bytes */
#define STK_SNAPSHOT_MAX         (64u * 1024u * 1024u)
#define STK_LOG_MAP_SIZE_DEFAULT (16ull << 30) /* 16 GiB, sparse */

/* ---- open / close ---- */

typedef struct stk_log_opts {
    uint64_t map_size;    /* bytes; 0 → STK_LOG_MAP_SIZE_DEFAULT. Rounded by LMDB to pages. */
    unsigned max_readers; /* concurrent read transactions; 0 → 126 (LMDB default) */
    int nosync;           /* 1 = MDB_NOSYNC: commits are NOT durable. Benchmarks only. */
    int read_only;        /* 1 = open an existing log read-only (appends → STK_EPERM) */
} stk_log_opts_t;

/* Opens (creating the directory — one level — and the sub-databases if missing) the log in
 * dir. opts may be NULL for defaults. Clears stale reader slots left by dead processes.
 * Returns 0 and sets *out (free with stk_log_close); STK_EINVAL, STK_ENOMEM, STK_EPERM,
 * STK_ENOTFOUND (read_only and no log there), STK_ECORRUPT (not an LMDB file or wrong
 * version), STK_EIO. Borrowed: dir (copied), opts. Any thread. */
int stk_log_open(stk_log_t **out, const char *dir, const stk_log_opts_t *opts);
/* Closes and frees the log. NULL is a no-op. Nothing may be using it (see Lifecycle). */
void stk_log_close(stk_log_t *log);

/* ---- append ---- */

#define STK_VERSION_ANY  UINT64_MAX /* expected_version: no check */
#define STK_VERSION_NONE 0u         /* expected_version: the stream must not exist yet */

/* One write-model unique index operation, applied in the same transaction as the event.
 * Claim: if index/value is free it becomes owner's; if owner already holds it, nothing
 * changes; if someone else holds it → STK_EEXIST. Release: if owner holds it, it is freed;
 * if nobody holds it, nothing changes; if someone else holds it → STK_EPERM. */
typedef struct stk_unique_op {
    const char *index;    /* NUL-terminated, 1..STK_UNIQUE_NAME_MAX bytes; e.g. "username" */
    const uint8_t *value; /* value_len bytes, 1..STK_UNIQUE_VALUE_MAX (callers normalise) */
    size_t value_len;
    stk_uuid_t owner;
    int release; /* 0 = claim, 1 = release */
} stk_unique_op_t;

enum stk_key_op { STK_KEY_KEEP = 0, STK_KEY_PUT = 1, STK_KEY_DELETE = 2 };

/* One event to append. The log assigns seq, version, time_us and chain. */
typedef struct stk_append {
    stk_uuid_t stream;
    uint16_t type;
    uint16_t schema;
    uint64_t tick;
    stk_uuid_t actor;
    const uint8_t *payload; /* payload_len bytes (MessagePack map); borrowed for the call */
    size_t payload_len;     /* <= STK_PAYLOAD_MAX */
    /* STK_VERSION_ANY, STK_VERSION_NONE, or the exact current version of the stream (the
     * stream's version counting the earlier items of the same batch). */
    uint64_t expected_version;
    const stk_unique_op_t *unique; /* n_unique ops (<= STK_UNIQUE_OPS_MAX); borrowed */
    size_t n_unique;
    /* Per-user data key of the user `stream`, in the same transaction (registration puts
     * it, erasure deletes it). data_key: data_key_len bytes, 1..STK_DATA_KEY_MAX, for PUT. */
    int key_op; /* enum stk_key_op */
    const uint8_t *data_key;
    size_t data_key_len;
} stk_append_t;

typedef struct stk_append_result {
    uint64_t seq;
    uint64_t version;
    int64_t time_us;
    uint8_t chain[STK_CHAIN_LEN];
} stk_append_result_t;

/* Checks a batch against every limit and field rule without touching the database.
 * Returns 0, STK_EINVAL or STK_ETOOBIG (the same answer an append would give). Pure. */
int stk_log_check_batch(const stk_append_t *items, size_t n);

/* Appends items[0..n) atomically and durably (one write transaction, one fsync unless
 * nosync): all or nothing. On success fills res[0..n) (caller-owned array of n).
 * Errors (nothing written): STK_EINVAL (bad item, n == 0), STK_ETOOBIG (a limit above),
 * STK_ECONFLICT (expected version mismatch), STK_EEXIST (unique value owned by another),
 * STK_EPERM (release of another's value; read-only log), STK_EFULL (map full), STK_EIO,
 * STK_ECORRUPT. Blocks while another write transaction is open. Any thread; for many small
 * appends prefer the group-committing writer (events/writer.h). */
int stk_log_append(stk_log_t *log, const stk_append_t *items, size_t n, stk_append_result_t *res);

/* Group commit: one write transaction holding several independent batches.
 * stk_log_txn_begin → stk_log_txn_append (any number) → stk_log_txn_commit | _abort.
 * Each stk_log_txn_append is atomic on its own: a batch that fails with a logical error
 * (EINVAL, ETOOBIG, ECONFLICT, EEXIST, EPERM, ERANGE) is rolled back alone and the
 * transaction goes on; any other error (EFULL, EIO, ...) poisons the transaction:
 * later appends and the commit return that error and nothing is written. (A batch with
 * unique ops runs in a nested transaction; any other batch is checked whole before it
 * writes and then written directly, so there an LMDB size error during its writes — too many
 * dirty pages in one transaction, STK_ETOOBIG — poisons the transaction too.)
 * Results written to res are only true once stk_log_txn_commit returned 0.
 * All calls on one thread; the txn blocks other writers until it ends. */
int stk_log_txn_begin(stk_log_t *log, stk_log_txn_t **out);
int stk_log_txn_append(stk_log_txn_t *t, const stk_append_t *items, size_t n,
                       stk_append_result_t *res);
/* Commits (one fsync), frees t, wakes stk_log_wait(). Returns 0 or the poison / commit
 * error (then nothing was written). */
int stk_log_txn_commit(stk_log_txn_t *t);
/* Aborts and frees t; nothing is written. NULL is a no-op. */
void stk_log_txn_abort(stk_log_txn_t *t);

/* ---- reads ---- */

/* Called once per event in order. e (and e->payload) are valid only during the call.
 * Return 0 to go on; any other value stops the read, which then returns that value. */
typedef int (*stk_log_event_cb)(void *ud, const stk_envelope_t *e);
/* Raw record: chain and envelope bytes exactly as stored, valid only during the call. */
typedef int (*stk_log_raw_cb)(void *ud, uint64_t seq, const uint8_t chain[STK_CHAIN_LEN],
                              const uint8_t *env, size_t env_len);

/* Events with seq >= from_seq in seq order, at most max of them (0 = no limit), from one
 * consistent snapshot. Returns 0, the callback's non-zero value, STK_ECORRUPT (a record
 * does not decode or its seq does not match its key), STK_EBUSY (reader slots full),
 * STK_EIO. Any thread. */
int stk_log_read(stk_log_t *log, uint64_t from_seq, size_t max, stk_log_event_cb cb, void *ud);
/* Events of one stream with version >= from_version in version order (max: 0 = no limit).
 * Same returns; an unknown stream reads nothing and returns 0. Any thread. */
int stk_log_read_stream(stk_log_t *log, const stk_uuid_t *stream, uint64_t from_version, size_t max,
                        stk_log_event_cb cb, void *ud);
/* Raw records with seq >= from_seq (max: 0 = no limit); no decoding, no checks but the
 * record length (STK_ECORRUPT if shorter than a chain). For verifiers and exports. */
int stk_log_read_raw(stk_log_t *log, uint64_t from_seq, size_t max, stk_log_raw_cb cb, void *ud);

/* Pull-style reading from one snapshot: open → next* → close. The iterator holds an LMDB
 * read transaction: keep it short-lived (a long-lived one stops LMDB reusing pages).
 * One thread at a time per iterator. */
int stk_log_iter_open(stk_log_t *log, uint64_t from_seq, stk_log_iter_t **out);
/* Next event into *e: 0, STK_ENOTFOUND at the end of the snapshot, STK_ECORRUPT.
 * e->payload is valid until the next stk_log_iter_next or stk_log_iter_close. */
int stk_log_iter_next(stk_log_iter_t *it, stk_envelope_t *e);
void stk_log_iter_close(stk_log_iter_t *it); /* NULL is a no-op */

/* Head: last committed seq (0 when empty) and its chain (zeros when empty). chain may be
 * NULL. Returns 0, STK_EBUSY, STK_EIO, STK_ECORRUPT. Any thread. */
int stk_log_head(stk_log_t *log, uint64_t *seq, uint8_t chain[STK_CHAIN_LEN]);
/* Current version of a stream (0 if it has no events). Any thread. */
int stk_log_stream_version(stk_log_t *log, const stk_uuid_t *stream, uint64_t *version);

/* Blocks until the head is past after_seq or timeout_ms elapses (< 0: no timeout), woken
 * by commits of this process (other processes' commits are seen at the timeout). Sets
 * *head to the head seq seen and returns 0 either way (compare *head with after_seq), or
 * an error of stk_log_head. Any thread; must return before stk_log_close. */
int stk_log_wait(stk_log_t *log, uint64_t after_seq, int timeout_ms, uint64_t *head);

/* ---- write model: unique indexes, per-user keys, snapshots ---- */

/* Owner of index/value. Returns 0, STK_ENOTFOUND, STK_EINVAL (bad sizes). Any thread. */
int stk_log_unique_get(stk_log_t *log, const char *index, const uint8_t *value, size_t value_len,
                       stk_uuid_t *owner);

/* Per-user data key (also settable atomically with an event through stk_append_t.key_op).
 * put: 1..STK_DATA_KEY_MAX bytes, replaces any old key. get: copies into buf (cap bytes),
 * sets *len; STK_ETOOBIG if cap is too small, STK_ENOTFOUND if none (never set or
 * erased). delete: 0 or STK_ENOTFOUND. Writes block like an append. Any thread. */
int stk_log_key_put(stk_log_t *log, const stk_uuid_t *user, const uint8_t *key, size_t len);
int stk_log_key_get(stk_log_t *log, const stk_uuid_t *user, uint8_t *buf, size_t cap, size_t *len);
int stk_log_key_delete(stk_log_t *log, const stk_uuid_t *user);

/* Stores a snapshot of stream as of seq (replaces one at the same stream/seq).
 * 1..STK_SNAPSHOT_MAX bytes. Errors as for an append. Any thread. */
int stk_log_snapshot_put(stk_log_t *log, const stk_uuid_t *stream, uint64_t seq,
                         const uint8_t *data, size_t len);
/* The latest snapshot of stream with seq <= at_seq: *data is malloc'd (caller frees with
 * free()), *len its size, *seq_out its seq. Returns 0, STK_ENOTFOUND, STK_ENOMEM,
 * STK_EIO. Any thread. */
int stk_log_snapshot_get(stk_log_t *log, const stk_uuid_t *stream, uint64_t at_seq,
                         uint64_t *seq_out, uint8_t **data, size_t *len);

/* ---- verification, backup, stats ---- */

typedef enum stk_log_damage {
    STK_DAMAGE_NONE = 0,
    STK_DAMAGE_GAP,          /* a seq is missing or a key is malformed */
    STK_DAMAGE_RECORD,       /* record shorter than a chain */
    STK_DAMAGE_CHAIN,        /* stored chain differs from the recomputed one */
    STK_DAMAGE_DECODE,       /* envelope does not decode, or its seq differs from its key */
    STK_DAMAGE_STREAM_INDEX, /* streams index missing, extra, wrong or with version gaps */
    STK_DAMAGE_META,         /* meta head/stream count disagree with the records */
} stk_log_damage_t;

typedef struct stk_log_verify_report {
    uint64_t events;   /* records checked */
    uint64_t streams;  /* distinct streams seen in the index */
    uint64_t head_seq; /* last record's seq */
    uint8_t head_chain[STK_CHAIN_LEN];
    uint64_t bad_seq; /* first damaged seq (0 if none or not attributable) */
    stk_log_damage_t damage;
    char detail[160]; /* human-readable, NUL-terminated */
} stk_log_verify_report_t;

/* Checks the whole log from one snapshot: recomputes every chain, decodes every envelope,
 * checks gaplessness, the streams index in both directions, and meta.
 * Returns 0 (clean), STK_ECHAIN (damage == CHAIN), STK_ECORRUPT (any other damage), or
 * STK_EBUSY / STK_EIO / STK_ENOMEM (could not check). *r is always filled. Any thread. */
int stk_log_verify(stk_log_t *log, stk_log_verify_report_t *r);

/* Hot, compacted copy of the whole environment into dest_dir/data.mdb (dest_dir is created
 * if missing; an existing data.mdb there → STK_EEXIST). Consistent as of one snapshot;
 * runs concurrently with the writer. Returns 0, STK_EEXIST, STK_EPERM, STK_EIO. Any thread. */
int stk_log_backup(stk_log_t *log, const char *dest_dir);

typedef struct stk_log_stats {
    uint64_t head_seq;
    uint64_t events;         /* entries in `events` */
    uint64_t streams;        /* distinct streams (meta counter) */
    uint64_t stream_entries; /* entries in `streams` */
    uint64_t snapshots, unique, keys;
    uint64_t map_size;  /* configured map size, bytes */
    uint64_t used_size; /* bytes of the map in use (last page + 1) */
    uint64_t file_size; /* data.mdb size on disk */
    unsigned max_readers, readers_used;
} stk_log_stats_t;

/* Fills *st from one snapshot. Returns 0, STK_EBUSY, STK_EIO. Any thread. */
int stk_log_stats(stk_log_t *log, stk_log_stats_t *st);

/* Directory the log was opened in (owned by log, valid until stk_log_close). */
const char *stk_log_dir(const stk_log_t *log);

#endif
