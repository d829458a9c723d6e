/* bench/bench_log.h — the parts of the event-log benchmark (bench_log) and how they meet.
 *
 * bench_log measures Stockade's LMDB event log (events/log.h, events/writer.h) and, in the
 * same process and run, the same operation done with raw LMDB calls (its peer):
 *   bench_log_raw.c   the raw-LMDB peers: batched puts, one durable commit, cursor scan
 *   bench_log_ours.c  the same operations through stockade's log and writer (group commit
 *                     twice: 64 blocked threads, and 64 clients on one loop thread)
 *   bench_log_workload.c  stream ids and payloads both sides append
 *   bench_log_main.c  knobs, temp directories, order of runs, the printed figures
 * The resident-memory figure lives in its own executable (bench_log_rss.c) so that its
 * process holds nothing but the one log it measures.
 *
 * Workload shared by both sides (stk_bench_log_cfg_t): event i (0-based) belongs to stream
 * i % streams, at stream version i / streams + 1, with a payload of payload_len bytes.
 * Raw peers write, per event, the same keys as the log: `events` (8-byte big-endian
 * sequence -> a value of record_len bytes, the size of the log's stored record
 * chain[32] || envelope) and `streams` (16-byte stream id || 8-byte big-endian version ->
 * 8-byte big-endian sequence). They do not encode, hash or check versions: that is the
 * cost the ratio shows.
 *
 * Not a test: nothing here asserts on timings. Functions return 0 or a negative STK_E*
 * (LMDB errors are reported on stderr and returned as STK_EIO). Main thread only, except
 * where a function starts its own threads.
 */
#ifndef STK_BENCH_LOG_H
#define STK_BENCH_LOG_H

#include "events/envelope.h"

#include <stddef.h>
#include <stdint.h>

typedef struct stk_bench_log_cfg {
    uint64_t batch_events; /* figure 1: events appended per side */
    uint64_t batch_size;   /* figure 1: events per transaction (1000) */
    uint64_t commits;      /* figure 2: single durable commits timed per side */
    uint64_t rounds;       /* figures 1-3: alternating rounds the work is split into */
    uint64_t group_ms;     /* figure 3: how long the producers run (each variant, in all) */
    uint64_t producers;    /* figure 3: concurrent producer threads (64) */
    uint64_t read_ms;      /* figure 4: minimum time spent re-reading each side's log */
    uint64_t streams;      /* distinct stream ids the events are spread over */
    size_t payload_len;    /* bytes of MessagePack payload per event (~100) */
    size_t record_len;     /* bytes of one stored record (chain + envelope) */
    size_t map_size;       /* LMDB map size for every environment opened */
} stk_bench_log_cfg_t;

/* Deterministic stream id for stream index s (distinct for distinct s, not sorted). */
void stk_bench_log_stream_id(uint64_t s, stk_uuid_t *out);

/* Fills buf[0..len) with a MessagePack map {"pad": bin} of exactly len bytes (len >= 8),
 * standing for a typical small game payload. */
void stk_bench_log_payload(uint8_t *buf, size_t len);

/* Both sides are called in rounds that alternate with the other side's, each round
 * continuing the same environment where the last one stopped (events first..first+count-1
 * of the workload, sequence numbers first+1..first+count), so that slow drifts of the disk
 * or of other load fall on both sides alike. Opening and closing are not timed.
 *
 * ---- raw LMDB peers (bench_log_raw.c) -------------------------------------------------- */

/* Figure 1 peer: events+streams puts, cfg->batch_size per transaction, each commit durable
 * (default env flags: fsync), in the environment in dir (created if new). Adds the time
 * spent to *elapsed_ns. */
int stk_bench_raw_batched(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                          uint64_t count, uint64_t *elapsed_ns);

/* Figure 2 peer: count transactions of one mdb_put (events only) + a durable
 * mdb_txn_commit each. lat_ns[0..count) receives each one's begin-to-commit time. */
int stk_bench_raw_commits(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                          uint64_t count, uint64_t *lat_ns);

/* Figure 4 peer: iterates the `events` sub-database of the environment in dir with
 * mdb_cursor_get(MDB_NEXT) in one read transaction, touching each value's first and last
 * byte but not decoding, repeated until cfg->read_ms elapsed (at least one pass). Sets
 * *events_per_s over all passes; *count to the events in one pass. */
int stk_bench_raw_scan(const stk_bench_log_cfg_t *cfg, const char *dir, double *events_per_s,
                       uint64_t *count);

/* ---- stockade's log (bench_log_ours.c) -------------------------------------------------- */

/* Figure 1: the same events through stk_log_append, cfg->batch_size per call (one durable
 * transaction each), expected version ANY. Adds the time spent to *elapsed_ns. */
int stk_bench_ours_batched(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                           uint64_t count, uint64_t *elapsed_ns);

/* Figure 2: count single-event stk_log_append calls; lat_ns[0..count) receives each one's
 * call time. */
int stk_bench_ours_commits(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                           uint64_t count, uint64_t *lat_ns);

/* What a group-commit run adds to its running totals. */
typedef struct stk_bench_group {
    uint64_t events;    /* appends acknowledged to clients inside the timed window */
    uint64_t ns;        /* length of the timed window */
    uint64_t commits;   /* LMDB commits the writer made (stk_writer_stats) */
    uint64_t committed; /* events in those commits */
} stk_bench_group_t;

/* Figure 3: cfg->producers threads, each appending to its own stream through
 * stk_writer_submit (exact expected versions, continuing from the stream's current version)
 * and waiting for its done_cb before the next append, for `ms`. Adds to *acc. */
int stk_bench_ours_group(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t ms,
                         stk_bench_group_t *acc);

/* Figure 3b, the server's shape: cfg->producers clients, each with one single-event append
 * in flight (exact expected versions), all submitted from ONE thread that the done_cb
 * wakes through a coalescing signal (as uv_async_send would), for `ms`. Adds to *acc. */
int stk_bench_ours_group_loop(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t ms,
                              stk_bench_group_t *acc);

/* Figure 4: stk_log_read of the whole log (decoding every envelope), repeated until
 * cfg->read_ms elapsed. Sets *events_per_s over all passes; *count to one pass's events. */
int stk_bench_ours_scan(const stk_bench_log_cfg_t *cfg, const char *dir, double *events_per_s,
                        uint64_t *count);

#endif
