/* bench/bench_log_ours.c — the stockade side of bench_log (see bench_log.h): the same
 * workload as the raw peers, through the public API of events/log.h and events/writer.h
 * only. Every log is opened with its defaults (durable commits) and the run's map size.
 */
#include "bench/bench_log.h"
#include "bench/bench_util.h"

#include "core/error.h"
#include "events/log.h"
#include "events/types.h"
#include "events/writer.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int open_log(const stk_bench_log_cfg_t *cfg, const char *dir, stk_log_t **log)
{
    stk_log_opts_t opts;
    int rc;

    memset(&opts, 0, sizeof opts);
    opts.map_size = cfg->map_size;
    if ((rc = stk_log_open(log, dir, &opts)) != 0)
        fprintf(stderr, "bench ours: stk_log_open %s: %s\n", dir, stk_strerror(rc));
    return rc;
}

/* Item for workload event i (0-based): stream i % streams, any version. */
static void fill_item(const stk_bench_log_cfg_t *cfg, stk_append_t *a, uint64_t i,
                      const uint8_t *payload)
{
    memset(a, 0, sizeof *a);
    stk_bench_log_stream_id(i % cfg->streams, &a->stream);
    a->type = STK_EV_TOWER_PLACED;
    a->schema = 1;
    a->tick = i;
    a->actor.b[0] = 1;
    a->payload = payload;
    a->payload_len = cfg->payload_len;
    a->expected_version = STK_VERSION_ANY;
}

int stk_bench_ours_batched(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                           uint64_t count, uint64_t *elapsed_ns)
{
    stk_log_t *log = NULL;
    stk_append_t *items = NULL;
    stk_append_result_t *res = NULL;
    uint8_t *payload = NULL;
    uint64_t i = first, end = first + count, t0;
    int rc = STK_ENOMEM;

    items = calloc(cfg->batch_size, sizeof *items);
    res = calloc(cfg->batch_size, sizeof *res);
    payload = malloc(cfg->payload_len);
    if (items == NULL || res == NULL || payload == NULL)
        goto fail;
    stk_bench_log_payload(payload, cfg->payload_len);
    if ((rc = open_log(cfg, dir, &log)) != 0)
        goto fail;
    t0 = stk_bench_now_ns();
    while (i < end) {
        size_t n = 0;
        for (; n < cfg->batch_size && i < end; n++, i++)
            fill_item(cfg, &items[n], i, payload);
        if ((rc = stk_log_append(log, items, n, res)) != 0) {
            fprintf(stderr, "bench ours: stk_log_append: %s\n", stk_strerror(rc));
            goto fail;
        }
    }
    *elapsed_ns += stk_bench_now_ns() - t0;
    rc = 0;
fail:
    stk_log_close(log);
    free(payload);
    free(res);
    free(items);
    return rc;
}

int stk_bench_ours_commits(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t first,
                           uint64_t count, uint64_t *lat_ns)
{
    stk_log_t *log = NULL;
    stk_append_t item;
    stk_append_result_t res;
    uint8_t *payload = NULL;
    uint64_t t0;
    int rc = STK_ENOMEM;

    if ((payload = malloc(cfg->payload_len)) == NULL)
        goto fail;
    stk_bench_log_payload(payload, cfg->payload_len);
    if ((rc = open_log(cfg, dir, &log)) != 0)
        goto fail;
    for (uint64_t j = 0; j < count; j++) {
        fill_item(cfg, &item, first + j, payload);
        t0 = stk_bench_now_ns();
        if ((rc = stk_log_append(log, &item, 1, &res)) != 0) {
            fprintf(stderr, "bench ours: stk_log_append: %s\n", stk_strerror(rc));
            goto fail;
        }
        lat_ns[j] = stk_bench_now_ns() - t0;
    }
    rc = 0;
fail:
    stk_log_close(log);
    free(payload);
    return rc;
}

/* Next single-event append of client c, whose stream is at `version`. A client is its
 * stream's only writer, so its count is the stream's version: every append is checked with
 * an exact expected version, and a conflict here would be a bug in the log. */
static void client_item(const stk_bench_log_cfg_t *cfg, stk_append_t *a, uint64_t c,
                        uint64_t version, const uint8_t *payload)
{
    memset(a, 0, sizeof *a);
    stk_bench_log_stream_id(c, &a->stream);
    a->type = STK_EV_TOWER_PLACED;
    a->schema = 1;
    a->tick = version;
    a->actor.b[0] = 1;
    a->payload = payload;
    a->payload_len = cfg->payload_len;
    a->expected_version = version;
}

/* ---- group commit: producers in a closed loop ----------------------------------------- */

typedef struct group {
    const stk_bench_log_cfg_t *cfg;
    stk_writer_t *writer;
    const uint8_t *payload;
    pthread_mutex_t lock; /* with `go`: producers wait until all are started */
    pthread_cond_t go_cond;
    int go;
    atomic_int stop;
    atomic_int failed; /* first error seen by any producer, 0 if none */
} group_t;

typedef struct producer {
    group_t *g;
    uint64_t index; /* producer p appends to its own stream p, with exact versions */
    sem_t done;
    int status;
    uint64_t committed;
} producer_t;

static void producer_done_cb(void *userdata, int status, const stk_append_result_t *results,
                             size_t n)
{
    producer_t *p = userdata;
    (void)results;
    (void)n;
    p->status = status;
    sem_post(&p->done);
}

static void *producer_main(void *arg)
{
    producer_t *p = arg;
    group_t *g = p->g;
    stk_append_t item;
    int rc, expected = 0;

    pthread_mutex_lock(&g->lock);
    while (!g->go)
        pthread_cond_wait(&g->go_cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
    while (!atomic_load(&g->stop)) {
        client_item(g->cfg, &item, p->index, p->committed, g->payload);
        rc = stk_writer_submit(g->writer, &item, 1, producer_done_cb, p);
        if (rc == STK_EBUSY)
            continue;
        if (rc == 0) {
            while (sem_wait(&p->done) != 0)
                ;
            rc = p->status;
        }
        if (rc != 0) {
            atomic_compare_exchange_strong(&g->failed, &expected, rc);
            break;
        }
        p->committed++;
    }
    return NULL;
}

/* Current version of each client's stream, so that a later round continues exactly. */
static int client_versions(stk_log_t *log, uint64_t n, uint64_t *out)
{
    for (uint64_t c = 0; c < n; c++) {
        stk_uuid_t id;
        int rc;
        stk_bench_log_stream_id(c, &id);
        if ((rc = stk_log_stream_version(log, &id, &out[c])) != 0)
            return rc;
    }
    return 0;
}

int stk_bench_ours_group(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t ms,
                         stk_bench_group_t *acc)
{
    group_t g;
    producer_t *ps = NULL;
    pthread_t *tids = NULL;
    stk_log_t *log = NULL;
    uint8_t *payload = NULL;
    stk_writer_stats_t st;
    uint64_t t0, t1, total = 0, started = 0, *first = NULL;
    struct timespec nap;
    int rc = STK_ENOMEM;

    memset(&g, 0, sizeof g);
    ps = calloc(cfg->producers, sizeof *ps);
    tids = calloc(cfg->producers, sizeof *tids);
    first = calloc(cfg->producers, sizeof *first);
    payload = malloc(cfg->payload_len);
    if (ps == NULL || tids == NULL || first == NULL || payload == NULL)
        goto fail_mem;
    stk_bench_log_payload(payload, cfg->payload_len);
    g.cfg = cfg;
    g.payload = payload;
    atomic_init(&g.stop, 0);
    atomic_init(&g.failed, 0);
    if ((rc = open_log(cfg, dir, &log)) != 0)
        goto fail_mem;
    if ((rc = client_versions(log, cfg->producers, first)) != 0)
        goto fail_log;
    if ((rc = stk_writer_start(&g.writer, log, NULL)) != 0) {
        fprintf(stderr, "bench ours: stk_writer_start: %s\n", stk_strerror(rc));
        goto fail_log;
    }
    if (pthread_mutex_init(&g.lock, NULL) != 0) {
        rc = STK_ENOMEM;
        goto fail_writer;
    }
    if (pthread_cond_init(&g.go_cond, NULL) != 0) {
        rc = STK_ENOMEM;
        goto fail_lock;
    }
    for (; started < cfg->producers; started++) {
        ps[started].g = &g;
        ps[started].index = started;
        ps[started].committed = first[started];
        if (sem_init(&ps[started].done, 0, 0) != 0)
            break;
        if (pthread_create(&tids[started], NULL, producer_main, &ps[started]) != 0) {
            sem_destroy(&ps[started].done);
            break;
        }
    }
    if (started < cfg->producers) {
        fprintf(stderr, "bench ours: could start only %llu producer threads\n",
                (unsigned long long)started);
        atomic_store(&g.stop, 1); /* the started ones exit at once */
    }
    pthread_mutex_lock(&g.lock);
    g.go = 1;
    pthread_cond_broadcast(&g.go_cond);
    pthread_mutex_unlock(&g.lock);
    t0 = stk_bench_now_ns();
    if (started == cfg->producers) {
        nap.tv_sec = (time_t)(ms / 1000);
        nap.tv_nsec = (long)(ms % 1000) * 1000000L;
        while (nanosleep(&nap, &nap) != 0)
            ;
        atomic_store(&g.stop, 1);
    }
    for (uint64_t p = 0; p < started; p++) {
        pthread_join(tids[p], NULL);
        sem_destroy(&ps[p].done);
        total += ps[p].committed - first[p];
    }
    t1 = stk_bench_now_ns();
    stk_writer_stats(g.writer, &st);
    rc = atomic_load(&g.failed);
    if (rc != 0)
        fprintf(stderr, "bench ours: a producer failed: %s\n", stk_strerror(rc));
    else if (started < cfg->producers)
        rc = STK_ENOMEM;
    else {
        acc->events += total;
        acc->ns += t1 - t0;
        acc->commits += st.commits;
        acc->committed += st.events;
    }
    pthread_cond_destroy(&g.go_cond);
fail_lock:
    pthread_mutex_destroy(&g.lock);
fail_writer:
    stk_writer_free(g.writer);
fail_log:
    stk_log_close(log);
fail_mem:
    free(payload);
    free(first);
    free(tids);
    free(ps);
    return rc;
}

/* ---- group commit, the server's shape: one loop thread, many waiting clients ----------- */

typedef struct loop {
    const stk_bench_log_cfg_t *cfg;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* stands for uv_async_send: many acks, one wake-up */
    uint64_t *ready;     /* clients acknowledged since the loop last looked */
    size_t n_ready;
    int waiting; /* the loop is asleep on `wake` */
    int failed;  /* first non-zero status */
} loop_t;

typedef struct client {
    loop_t *l;
    uint64_t index;
} client_t;

static void client_done_cb(void *userdata, int status, const stk_append_result_t *results, size_t n)
{
    client_t *c = userdata;
    loop_t *l = c->l;
    (void)results;
    (void)n;
    pthread_mutex_lock(&l->lock);
    if (status != 0 && l->failed == 0)
        l->failed = status;
    l->ready[l->n_ready++] = c->index;
    if (l->waiting) {
        l->waiting = 0;
        pthread_cond_signal(&l->wake);
    }
    pthread_mutex_unlock(&l->lock);
}

int stk_bench_ours_group_loop(const stk_bench_log_cfg_t *cfg, const char *dir, uint64_t ms,
                              stk_bench_group_t *acc)
{
    loop_t l;
    client_t *cs = NULL;
    uint64_t *versions = NULL, *mine = NULL, total = 0, in_flight = 0, t0, t1, deadline;
    stk_writer_t *writer = NULL;
    stk_log_t *log = NULL;
    uint8_t *payload = NULL;
    stk_append_t item;
    stk_writer_stats_t st;
    int rc = STK_ENOMEM;

    memset(&l, 0, sizeof l);
    l.cfg = cfg;
    cs = calloc(cfg->producers, sizeof *cs);
    versions = calloc(cfg->producers, sizeof *versions);
    mine = calloc(cfg->producers, sizeof *mine);
    l.ready = calloc(cfg->producers, sizeof *l.ready);
    payload = malloc(cfg->payload_len);
    if (cs == NULL || versions == NULL || mine == NULL || l.ready == NULL || payload == NULL)
        goto fail_mem;
    stk_bench_log_payload(payload, cfg->payload_len);
    if (pthread_mutex_init(&l.lock, NULL) != 0)
        goto fail_mem;
    if (pthread_cond_init(&l.wake, NULL) != 0)
        goto fail_lock;
    if ((rc = open_log(cfg, dir, &log)) != 0)
        goto fail_cond;
    if ((rc = stk_writer_start(&writer, log, NULL)) != 0) {
        fprintf(stderr, "bench ours: stk_writer_start: %s\n", stk_strerror(rc));
        goto fail_log;
    }
    if ((rc = client_versions(log, cfg->producers, versions)) != 0)
        goto drain;
    t0 = stk_bench_now_ns();
    deadline = t0 + ms * 1000000u;
    for (uint64_t c = 0; c < cfg->producers; c++) {
        cs[c].l = &l;
        cs[c].index = c;
        client_item(cfg, &item, c, versions[c], payload);
        if ((rc = stk_writer_submit(writer, &item, 1, client_done_cb, &cs[c])) != 0)
            goto drain;
        in_flight++;
    }
    while (in_flight > 0) {
        size_t n;
        int stopping = stk_bench_now_ns() >= deadline;
        pthread_mutex_lock(&l.lock);
        while (l.n_ready == 0) {
            l.waiting = 1;
            pthread_cond_wait(&l.wake, &l.lock);
        }
        n = l.n_ready;
        memcpy(mine, l.ready, n * sizeof *mine);
        l.n_ready = 0;
        rc = l.failed;
        pthread_mutex_unlock(&l.lock);
        in_flight -= n;
        total += n;
        if (rc != 0)
            goto drain;
        for (size_t j = 0; j < n && !stopping; j++) {
            uint64_t c = mine[j];
            client_item(cfg, &item, c, ++versions[c], payload);
            if ((rc = stk_writer_submit(writer, &item, 1, client_done_cb, &cs[c])) != 0)
                goto drain;
            in_flight++;
        }
    }
    t1 = stk_bench_now_ns();
    stk_writer_stats(writer, &st);
    acc->events += total;
    acc->ns += t1 - t0;
    acc->commits += st.commits;
    acc->committed += st.events;
drain:
    if (rc != 0)
        fprintf(stderr, "bench ours: group commit (loop) failed: %s\n", stk_strerror(rc));
    stk_writer_stop(writer); /* acknowledges whatever is still queued before `l` goes */
    stk_writer_free(writer);
fail_log:
    stk_log_close(log);
fail_cond:
    pthread_cond_destroy(&l.wake);
fail_lock:
    pthread_mutex_destroy(&l.lock);
fail_mem:
    free(payload);
    free(l.ready);
    free(mine);
    free(versions);
    free(cs);
    return rc;
}

/* ---- sequential read + decode --------------------------------------------------------- */

typedef struct scan {
    uint64_t count;
    uint64_t sink;
} scan_t;

static int scan_cb(void *ud, const stk_envelope_t *e)
{
    scan_t *s = ud;
    s->count++;
    s->sink += e->seq + e->payload_len + (e->payload_len ? e->payload[0] : 0);
    return 0;
}

int stk_bench_ours_scan(const stk_bench_log_cfg_t *cfg, const char *dir, double *events_per_s,
                        uint64_t *count)
{
    stk_log_t *log = NULL;
    scan_t s = {0, 0};
    uint64_t total = 0, t0, elapsed = 0;
    int rc;

    if ((rc = open_log(cfg, dir, &log)) != 0)
        return rc;
    t0 = stk_bench_now_ns();
    do {
        s.count = 0;
        if ((rc = stk_log_read(log, 1, 0, scan_cb, &s)) != 0) {
            fprintf(stderr, "bench ours: stk_log_read: %s\n", stk_strerror(rc));
            goto fail;
        }
        total += s.count;
        elapsed = stk_bench_now_ns() - t0;
    } while (elapsed < cfg->read_ms * 1000000u && s.count > 0);
    *events_per_s = (double)total * 1e9 / (double)elapsed;
    *count = s.count;
    if (s.sink == 1) /* keep the reads from being optimised away */
        fprintf(stderr, "bench ours: sink %llu\n", (unsigned long long)s.sink);
    rc = 0;
fail:
    stk_log_close(log);
    return rc;
}
