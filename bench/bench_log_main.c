/* bench/bench_log_main.c — bench_log: Stockade's event log against raw LMDB, same run, same
 * machine, fresh directories (see bench_log.h for the workload and bench/README.md for
 * what each figure means). Prints figures 1-4 of the log benchmark on stdout:
 *   log_append_batched   events/s  peer=raw_lmdb_put
 *   log_commit_p50/p99   us        peer=raw_mdb_txn_commit
 *   log_group_commit     events/s  peer=log_single_commit  (64 threads, each blocked on its ack)
 *   log_group_commit_size events/commit
 *   log_group_commit_loop events/s peer=log_single_commit  (64 clients on one submitting thread)
 *   log_group_commit_loop_size events/commit
 *   log_read_decode      events/s  peer=raw_cursor_scan
 * Knobs (environment): STK_BENCH_DIR, STK_BENCH_BATCH_EVENTS, STK_BENCH_COMMITS,
 * STK_BENCH_GROUP_MS, STK_BENCH_PRODUCERS, STK_BENCH_READ_MS, STK_BENCH_STREAMS,
 * STK_BENCH_PAYLOAD, STK_BENCH_MAP_MIB, STK_BENCH_ROUNDS. Exit status 0 when every figure was
 * measured.
 */
#include "bench/bench_log.h"
#include "bench/bench_util.h"

#include "core/error.h"
#include "events/types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void failed(const char *what, int rc)
{
    fprintf(stderr, "bench_log: %s failed: %s\n", what, stk_strerror(rc));
}

typedef struct dirs {
    char raw_batch[STK_BENCH_PATH_MAX];
    char log_batch[STK_BENCH_PATH_MAX];
    char raw_commit[STK_BENCH_PATH_MAX];
    char log_commit[STK_BENCH_PATH_MAX];
    char log_group[STK_BENCH_PATH_MAX];
    char log_loop[STK_BENCH_PATH_MAX];
} dirs_t;

static void config(stk_bench_log_cfg_t *cfg)
{
    stk_envelope_t e = {0};

    cfg->batch_events = stk_bench_env_u64("STK_BENCH_BATCH_EVENTS", 1000000, 1000, 100000000);
    cfg->batch_size = 1000;
    cfg->rounds = stk_bench_env_u64("STK_BENCH_ROUNDS", 4, 1, 100);
    cfg->commits = stk_bench_env_u64("STK_BENCH_COMMITS", 5000, 10, 10000000);
    cfg->group_ms = stk_bench_env_u64("STK_BENCH_GROUP_MS", 5000, 100, 3600000);
    cfg->producers = stk_bench_env_u64("STK_BENCH_PRODUCERS", 64, 1, 4096);
    cfg->read_ms = stk_bench_env_u64("STK_BENCH_READ_MS", 1000, 1, 3600000);
    cfg->streams = stk_bench_env_u64("STK_BENCH_STREAMS", 100, 1, 1000000);
    cfg->payload_len = (size_t)stk_bench_env_u64("STK_BENCH_PAYLOAD", 100, 16, 60000);
    cfg->map_size = (size_t)stk_bench_env_u64("STK_BENCH_MAP_MIB", 16384, 16, 1048576) << 20;

    /* A typical stored record of this run: the raw peers write values of this size. */
    e.seq = cfg->batch_events;
    e.version = cfg->batch_events / cfg->streams + 1;
    e.type = STK_EV_TOWER_PLACED;
    e.schema = 1;
    e.tick = cfg->batch_events;
    e.actor.b[0] = 1;
    e.time_us = (int64_t)time(NULL) * 1000000;
    e.payload_len = cfg->payload_len;
    cfg->record_len = STK_CHAIN_LEN + stk_envelope_size(&e);
}

static int make_dirs(dirs_t *d)
{
    if (stk_bench_mkdtemp(d->raw_batch, sizeof d->raw_batch, "raw-batch") != 0)
        return STK_EIO;
    if (stk_bench_mkdtemp(d->log_batch, sizeof d->log_batch, "log-batch") != 0)
        return STK_EIO;
    if (stk_bench_mkdtemp(d->raw_commit, sizeof d->raw_commit, "raw-commit") != 0)
        return STK_EIO;
    if (stk_bench_mkdtemp(d->log_commit, sizeof d->log_commit, "log-commit") != 0)
        return STK_EIO;
    if (stk_bench_mkdtemp(d->log_group, sizeof d->log_group, "log-group") != 0)
        return STK_EIO;
    if (stk_bench_mkdtemp(d->log_loop, sizeof d->log_loop, "log-loop") != 0)
        return STK_EIO;
    return 0;
}

static void remove_dirs(dirs_t *d)
{
    char *all[] = {d->raw_batch,  d->log_batch, d->raw_commit,
                   d->log_commit, d->log_group, d->log_loop};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i][0] != '\0' && stk_bench_rmdir(all[i]) != 0)
            fprintf(stderr, "bench_log: could not remove %s\n", all[i]);
}

/* User + system CPU time of this process, µs. */
static uint64_t cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Round r covers events [first, first + count) of n, split into `rounds` whole batches. */
static void round_span(uint64_t n, uint64_t rounds, uint64_t batch, uint64_t r, uint64_t *first,
                       uint64_t *count)
{
    uint64_t per = (n / rounds + batch - 1) / batch * batch;
    *first = per * r < n ? per * r : n;
    *count = r + 1 == rounds ? n - *first : (per < n - *first ? per : n - *first);
}

/* Figure 1, both sides, alternating rounds (the side that goes first alternates too). */
static int run_batched(const stk_bench_log_cfg_t *cfg, const dirs_t *d, double *raw_rate,
                       double *log_rate)
{
    uint64_t raw_ns = 0, log_ns = 0, first, count, cpu[2] = {0, 0};
    int rc;

    for (uint64_t r = 0; r < cfg->rounds; r++) {
        round_span(cfg->batch_events, cfg->rounds, cfg->batch_size, r, &first, &count);
        for (int side = 0; side < 2; side++) {
            int raw = (side == 0) == (r % 2 == 0);
            uint64_t c0 = cpu_us();
            if (raw)
                rc = stk_bench_raw_batched(cfg, d->raw_batch, first, count, &raw_ns);
            else
                rc = stk_bench_ours_batched(cfg, d->log_batch, first, count, &log_ns);
            cpu[raw] += cpu_us() - c0;
            if (rc != 0) {
                failed("batched append", rc);
                *raw_rate = *log_rate = NAN;
                return rc;
            }
        }
    }
    /* Where the difference goes: CPU (ours does more work) or waiting on the disk. */
    fprintf(stderr,
            "bench_log: batched: log %.2f us/event (%.2f us CPU), raw %.2f us/event (%.2f us "
            "CPU)\n",
            (double)log_ns / 1e3 / (double)cfg->batch_events,
            (double)cpu[0] / (double)cfg->batch_events,
            (double)raw_ns / 1e3 / (double)cfg->batch_events,
            (double)cpu[1] / (double)cfg->batch_events);
    *raw_rate = (double)cfg->batch_events * 1e9 / (double)raw_ns;
    *log_rate = (double)cfg->batch_events * 1e9 / (double)log_ns;
    return 0;
}

/* Figures 2 and 3 interleaved: each round times a share of the single commits (raw and ours,
 * alternating which goes first) and then a share of both group-commit runs, so that the
 * single-commit rate that is the group figures' peer is measured over the same minutes.
 * Fills raw_lat and log_lat (cfg->commits each) and the two group totals. */
static int run_commits_and_group(const stk_bench_log_cfg_t *cfg, const dirs_t *d, uint64_t *raw_lat,
                                 uint64_t *log_lat, stk_bench_group_t *threads,
                                 stk_bench_group_t *loop)
{
    uint64_t first, count, ms = cfg->group_ms / cfg->rounds;
    int rc;

    if (ms == 0)
        ms = 1;
    for (uint64_t r = 0; r < cfg->rounds; r++) {
        round_span(cfg->commits, cfg->rounds, 1, r, &first, &count);
        for (int side = 0; side < 2; side++) {
            if ((side == 0) == (r % 2 == 0))
                rc = stk_bench_raw_commits(cfg, d->raw_commit, first, count, raw_lat + first);
            else
                rc = stk_bench_ours_commits(cfg, d->log_commit, first, count, log_lat + first);
            if (rc != 0) {
                failed("single commits", rc);
                return rc;
            }
        }
        if ((rc = stk_bench_ours_group(cfg, d->log_group, ms, threads)) != 0) {
            failed("group commit (threads)", rc);
            return rc;
        }
        if ((rc = stk_bench_ours_group_loop(cfg, d->log_loop, ms, loop)) != 0) {
            failed("group commit (loop)", rc);
            return rc;
        }
    }
    return 0;
}

static void print_group(const char *name, const stk_bench_group_t *g, double single_rate)
{
    char size_name[96];
    double rate = g->ns ? (double)g->events * 1e9 / (double)g->ns : NAN;
    double size = g->commits ? (double)g->committed / (double)g->commits : NAN;

    stk_bench_print(name, rate, "events/s", 0, "log_single_commit", single_rate,
                    single_rate > 0 ? rate / single_rate : -1);
    snprintf(size_name, sizeof size_name, "%s_size", name);
    stk_bench_print(size_name, size, "events/commit", 1, NULL, 0, -1);
}

int main(void)
{
    stk_bench_log_cfg_t cfg;
    dirs_t d;
    uint64_t *raw_lat = NULL, *log_lat = NULL;
    double raw_rate = 0, log_rate = 0;
    uint64_t raw_count = 0, log_count = 0;
    int rc, bad = 0;

    memset(&d, 0, sizeof d);
    config(&cfg);
    fprintf(stderr,
            "bench_log: batch %llu events x%llu/txn, %llu commits, %llu producers for %llu ms, "
            "%llu streams, payload %zu B, record %zu B\n",
            (unsigned long long)cfg.batch_events, (unsigned long long)cfg.batch_size,
            (unsigned long long)cfg.commits, (unsigned long long)cfg.producers,
            (unsigned long long)cfg.group_ms, (unsigned long long)cfg.streams, cfg.payload_len,
            cfg.record_len);
    raw_lat = calloc(cfg.commits, sizeof *raw_lat);
    log_lat = calloc(cfg.commits, sizeof *log_lat);
    if (raw_lat == NULL || log_lat == NULL) {
        failed("allocation", STK_ENOMEM);
        bad = 1;
        goto done;
    }
    if (make_dirs(&d) != 0) {
        failed("temp directories", STK_EIO);
        bad = 1;
        goto done;
    }

    /* 1. Batched durable append: 1000 events per transaction. */
    if (run_batched(&cfg, &d, &raw_rate, &log_rate) != 0)
        bad = 1;
    stk_bench_print("log_append_batched", log_rate, "events/s", 0, "raw_lmdb_put", raw_rate,
                    raw_rate > 0 ? log_rate / raw_rate : -1);

    /* 2. One event, one durable transaction: latency percentiles; interleaved with
     * 3. group commit (both shapes), whose peer is figure 2's single-commit rate. */
    {
        double r50 = NAN, r99 = NAN, o50 = NAN, o99 = NAN, log_total = 0, single_rate = NAN;
        stk_bench_group_t threads, loop;
        memset(&threads, 0, sizeof threads);
        memset(&loop, 0, sizeof loop);
        if (run_commits_and_group(&cfg, &d, raw_lat, log_lat, &threads, &loop) != 0) {
            bad = 1;
        } else {
            for (uint64_t i = 0; i < cfg.commits; i++)
                log_total += (double)log_lat[i];
            single_rate = (double)cfg.commits * 1e9 / log_total;
            r50 = (double)stk_bench_percentile(raw_lat, cfg.commits, 50) / 1e3;
            r99 = (double)stk_bench_percentile(raw_lat, cfg.commits, 99) / 1e3;
            o50 = (double)stk_bench_percentile(log_lat, cfg.commits, 50) / 1e3;
            o99 = (double)stk_bench_percentile(log_lat, cfg.commits, 99) / 1e3;
            fprintf(stderr,
                    "bench_log: group commit: threads %llu events in %llu commits, loop %llu "
                    "events in %llu commits\n",
                    (unsigned long long)threads.committed, (unsigned long long)threads.commits,
                    (unsigned long long)loop.committed, (unsigned long long)loop.commits);
        }
        stk_bench_print("log_commit_p50", o50, "us", 1, "raw_mdb_txn_commit", r50,
                        r50 > 0 ? o50 / r50 : -1);
        stk_bench_print("log_commit_p99", o99, "us", 1, "raw_mdb_txn_commit", r99,
                        r99 > 0 ? o99 / r99 : -1);
        print_group("log_group_commit", &threads, single_rate);
        print_group("log_group_commit_loop", &loop, single_rate);
    }

    /* 4. Sequential read of figure 1's logs: ours decodes every envelope, raw only walks. */
    raw_rate = log_rate = 0;
    if ((rc = stk_bench_raw_scan(&cfg, d.raw_batch, &raw_rate, &raw_count)) != 0) {
        failed("raw cursor scan", rc);
        raw_rate = NAN;
        bad = 1;
    }
    if ((rc = stk_bench_ours_scan(&cfg, d.log_batch, &log_rate, &log_count)) != 0) {
        failed("log read+decode", rc);
        log_rate = NAN;
        bad = 1;
    }
    if (raw_count != log_count && !isnan(raw_rate) && !isnan(log_rate))
        fprintf(stderr, "bench_log: read %llu events from the log but %llu raw\n",
                (unsigned long long)log_count, (unsigned long long)raw_count);
    stk_bench_print("log_read_decode", log_rate, "events/s", 0, "raw_cursor_scan", raw_rate,
                    raw_rate > 0 ? log_rate / raw_rate : -1);

done:
    remove_dirs(&d);
    free(log_lat);
    free(raw_lat);
    return bad ? 1 : 0;
}
