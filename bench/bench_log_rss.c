/* bench/bench_log_rss.c — bench_log_rss: resident memory of a process appending many events
 * to one log (figure 5 of the log benchmark; bench/README.md).
 *
 * Appends STK_BENCH_EVENTS (default 10,000,000) workload events (bench_log.h) through
 * stk_log_append, 1000 per transaction, into a log opened with nosync (durability is not
 * what is measured), and samples /proc/self/status after 10%, 50% and 100% of them.
 * Prints VmRSS (which counts the LMDB map's file-backed pages the process touched) and
 * RssAnon (the process's own memory: the figure that must stay flat) at each point and
 * their growth from the first to the last. It runs alone in its process so that nothing
 * else is resident.
 *
 * Knobs: STK_BENCH_EVENTS, STK_BENCH_STREAMS, STK_BENCH_PAYLOAD, STK_BENCH_MAP_MIB,
 * STK_BENCH_DIR. Exit status 0 when every figure was measured.
 */
#include "bench/bench_log.h"
#include "bench/bench_util.h"

#include "core/error.h"
#include "events/log.h"
#include "events/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH   1000u
#define SAMPLES 3

static double mib(uint64_t kib)
{
    return (double)kib / 1024.0;
}

/* Prints log_<what>_at_<n> for the samples and log_<what>_growth_<first>_to_<last>. */
static void print_samples(const char *what, const uint64_t at[SAMPLES], const uint64_t kib[SAMPLES])
{
    char name[96], n[32], first[32];

    for (int i = 0; i < SAMPLES; i++) {
        stk_bench_count_name(n, sizeof n, at[i]);
        snprintf(name, sizeof name, "log_%s_%s_%s", what, i == SAMPLES - 1 ? "after" : "at", n);
        stk_bench_print(name, mib(kib[i]), "MiB", 1, NULL, 0, -1);
    }
    stk_bench_count_name(first, sizeof first, at[0]);
    snprintf(name, sizeof name, "log_%s_growth_%s_to_%s", what, first, n);
    stk_bench_print(name, mib(kib[SAMPLES - 1]) - mib(kib[0]), "MiB", 1, NULL, 0, -1);
}

int main(void)
{
    stk_bench_log_cfg_t cfg;
    stk_log_opts_t opts;
    stk_log_t *log = NULL;
    stk_append_t *items = NULL;
    stk_append_result_t *res = NULL;
    uint8_t *payload = NULL;
    uint64_t vm_rss[SAMPLES], rss_anon[SAMPLES], rss_file;
    uint64_t events, marks[SAMPLES], i = 0, t0, base_rss = 0, base_anon = 0;
    char dir[STK_BENCH_PATH_MAX] = "";
    int rc = STK_ENOMEM, next = 0;

    memset(&cfg, 0, sizeof cfg);
    events = stk_bench_env_u64("STK_BENCH_EVENTS", 10000000, 10 * BATCH, 1000000000);
    cfg.streams = stk_bench_env_u64("STK_BENCH_STREAMS", 100, 1, 1000000);
    cfg.payload_len = (size_t)stk_bench_env_u64("STK_BENCH_PAYLOAD", 100, 16, 60000);
    cfg.map_size = (size_t)stk_bench_env_u64("STK_BENCH_MAP_MIB", 16384, 16, 1048576) << 20;
    /* Sample at whole batches: 10%, 50%, 100%. */
    marks[0] = events / 10 / BATCH * BATCH;
    marks[1] = events / 2 / BATCH * BATCH;
    marks[2] = events;

    items = calloc(BATCH, sizeof *items);
    res = calloc(BATCH, sizeof *res);
    payload = malloc(cfg.payload_len);
    if (items == NULL || res == NULL || payload == NULL)
        goto fail;
    stk_bench_log_payload(payload, cfg.payload_len);
    if ((rc = stk_bench_mkdtemp(dir, sizeof dir, "log-rss")) != 0)
        goto fail;
    memset(&opts, 0, sizeof opts);
    opts.map_size = cfg.map_size;
    opts.nosync = 1;
    if ((rc = stk_log_open(&log, dir, &opts)) != 0) {
        fprintf(stderr, "bench_log_rss: stk_log_open: %s\n", stk_strerror(rc));
        goto fail;
    }
    if ((rc = stk_bench_rss_kib(&base_rss, &base_anon, NULL)) != 0)
        goto fail;
    fprintf(stderr,
            "bench_log_rss: %llu events, nosync, after open VmRSS %.1f MiB RssAnon %.1f MiB\n",
            (unsigned long long)events, mib(base_rss), mib(base_anon));
    t0 = stk_bench_now_ns();
    while (i < events) {
        size_t n = 0;
        for (; n < BATCH && i < events; n++, i++) {
            stk_append_t *a = &items[n];
            memset(a, 0, sizeof *a);
            stk_bench_log_stream_id(i % cfg.streams, &a->stream);
            a->type = STK_EV_TOWER_PLACED;
            a->schema = 1;
            a->tick = i;
            a->actor.b[0] = 1;
            a->payload = payload;
            a->payload_len = cfg.payload_len;
            a->expected_version = STK_VERSION_ANY;
        }
        if ((rc = stk_log_append(log, items, n, res)) != 0) {
            fprintf(stderr, "bench_log_rss: stk_log_append at %llu: %s\n", (unsigned long long)i,
                    stk_strerror(rc));
            goto fail;
        }
        while (next < SAMPLES && i >= marks[next]) {
            stk_log_stats_t st;
            if ((rc = stk_bench_rss_kib(&vm_rss[next], &rss_anon[next], &rss_file)) != 0)
                goto fail;
            if ((rc = stk_log_stats(log, &st)) != 0)
                goto fail;
            fprintf(stderr,
                    "bench_log_rss: %llu events after %.1f s: VmRSS %.1f MiB = RssAnon %.1f + "
                    "RssFile %.1f (+shmem); data.mdb %.1f MiB\n",
                    (unsigned long long)i, (double)(stk_bench_now_ns() - t0) / 1e9,
                    mib(vm_rss[next]), mib(rss_anon[next]), mib(rss_file),
                    (double)st.file_size / 1048576.0);
            next++;
        }
    }
    print_samples("rss", marks, vm_rss);
    print_samples("rss_anon", marks, rss_anon);
    rc = 0;
fail:
    if (rc != 0)
        fprintf(stderr, "bench_log_rss: failed: %s\n", stk_strerror(rc));
    stk_log_close(log);
    if (dir[0] != '\0' && stk_bench_rmdir(dir) != 0)
        fprintf(stderr, "bench_log_rss: could not remove %s\n", dir);
    free(payload);
    free(res);
    free(items);
    return rc == 0 ? 0 : 1;
}
