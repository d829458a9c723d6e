/* events/writer.c — the group-commit writer thread (see writer.h).
 *
 * State of the writer:   RUNNING --stop()--> STOPPING --queue drained--> STOPPED
 * Invariants: every accepted submission is in the queue or in the group being committed
 * until its done_cb has run; done_cb runs after stk_log_txn_commit returned; queue counters
 * (queued, queued_bytes) match the list. Each submission is one malloc holding the sub
 * header, the copied items, unique ops, results and all copied bytes.
 *
 * Not here: LMDB (events/log.c owns it), command validation.
 */
#include "events/writer.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define DEFAULT_QUEUE_MAX        65536u
#define DEFAULT_QUEUE_BYTES_MAX  (256u * 1024u * 1024u)
#define DEFAULT_GROUP_MAX_EVENTS 16384u
#define DEFAULT_GROUP_MAX_BYTES  (128u * 1024u * 1024u)

typedef struct sub {
    struct sub *next;
    stk_writer_done_cb cb;
    void *ud;
    size_t n;
    size_t bytes; /* whole allocation */
    int status;
    stk_append_t *items;
    stk_append_result_t *res;
} sub_t;

struct stk_writer {
    stk_log_t *log;
    stk_writer_opts_t opts;
    pthread_t thread;
    int joined;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t nonempty;
    sub_t *head, *tail;
    size_t queued, queued_bytes;
    int stopping;
    stk_writer_stats_t stats;
};

/* ---- copying a batch into one allocation ---- */

static size_t align_up(size_t n)
{
    size_t a = alignof(max_align_t);
    return (n + a - 1) & ~(a - 1);
}

/* Sizes are bounded by stk_log_check_batch (run first), so no sum can overflow. */
static size_t sub_size(const stk_append_t *items, size_t n)
{
    size_t fixed = align_up(sizeof(sub_t)) + align_up(n * sizeof(stk_append_t)) +
                   align_up(n * sizeof(stk_append_result_t));
    size_t ops = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        ops += items[i].n_unique;
        bytes += items[i].payload_len;
        if (items[i].key_op == STK_KEY_PUT)
            bytes += items[i].data_key_len;
        for (size_t j = 0; j < items[i].n_unique; j++)
            bytes += strlen(items[i].unique[j].index) + 1 + items[i].unique[j].value_len;
    }
    return fixed + align_up(ops * sizeof(stk_unique_op_t)) + bytes;
}

static uint8_t *copy_bytes(uint8_t **cursor, const void *src, size_t n)
{
    uint8_t *dst = *cursor;
    if (n > 0)
        memcpy(dst, src, n);
    *cursor += n;
    return dst;
}

static sub_t *sub_new(const stk_append_t *items, size_t n)
{
    size_t total = sub_size(items, n);
    uint8_t *block = malloc(total);
    if (block == NULL)
        return NULL;
    sub_t *s = (sub_t *)block;
    memset(s, 0, sizeof *s);
    s->n = n;
    s->bytes = total;
    uint8_t *p = block + align_up(sizeof(sub_t));
    s->items = (stk_append_t *)p;
    p += align_up(n * sizeof(stk_append_t));
    s->res = (stk_append_result_t *)p;
    p += align_up(n * sizeof(stk_append_result_t));
    stk_unique_op_t *ops = (stk_unique_op_t *)p;
    size_t n_ops = 0;
    for (size_t i = 0; i < n; i++)
        n_ops += items[i].n_unique;
    uint8_t *cur = p + align_up(n_ops * sizeof(stk_unique_op_t));

    for (size_t i = 0; i < n; i++) {
        stk_append_t *it = &s->items[i];
        *it = items[i];
        it->payload = it->payload_len ? copy_bytes(&cur, items[i].payload, it->payload_len) : NULL;
        if (it->key_op == STK_KEY_PUT) {
            it->data_key = copy_bytes(&cur, items[i].data_key, it->data_key_len);
        } else {
            it->data_key = NULL;
            it->data_key_len = 0;
        }
        it->unique = it->n_unique ? ops : NULL;
        for (size_t j = 0; j < items[i].n_unique; j++) {
            const stk_unique_op_t *src = &items[i].unique[j];
            *ops = *src;
            ops->index = (const char *)copy_bytes(&cur, src->index, strlen(src->index) + 1);
            ops->value = copy_bytes(&cur, src->value, src->value_len);
            ops++;
        }
    }
    return s;
}

/* ---- the writer thread ---- */

static size_t payload_bytes(const sub_t *s)
{
    size_t b = 0;
    for (size_t i = 0; i < s->n; i++)
        b += s->items[i].payload_len;
    return b;
}

/* Commits one group (a detached list) and acknowledges every submission in it. */
static void run_group(stk_writer_t *w, sub_t *group)
{
    stk_log_txn_t *t = NULL;
    int rc = stk_log_txn_begin(w->log, &t);
    size_t ok = 0, ok_events = 0, count = 0;
    for (sub_t *s = group; s != NULL; s = s->next) {
        count++;
        s->status = rc != 0 ? rc : stk_log_txn_append(t, s->items, s->n, s->res);
        if (s->status == 0) {
            ok++;
            ok_events += s->n;
        }
    }
    if (rc == 0) {
        int crc;
        if (ok > 0) {
            crc = stk_log_txn_commit(t);
        } else {
            stk_log_txn_abort(t); /* nothing to write: spare the fsync */
            crc = 0;
        }
        if (crc != 0) {
            for (sub_t *s = group; s != NULL; s = s->next)
                if (s->status == 0)
                    s->status = crc;
            ok = ok_events = 0;
        }
        pthread_mutex_lock(&w->mu);
        if (crc == 0 && ok > 0) {
            w->stats.commits++;
            w->stats.events += ok_events;
            if (ok > w->stats.max_group)
                w->stats.max_group = ok;
        }
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_lock(&w->mu);
    w->stats.batches += ok;
    w->stats.batches_failed += count - ok;
    pthread_mutex_unlock(&w->mu);

    while (group != NULL) {
        sub_t *next = group->next;
        group->cb(group->ud, group->status, group->status == 0 ? group->res : NULL, group->n);
        free(group);
        group = next;
    }
}

static void *writer_main(void *arg)
{
    stk_writer_t *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->nonempty, &w->mu);
        if (w->head == NULL) { /* stopping and drained */
            pthread_mutex_unlock(&w->mu);
            break;
        }
        /* Take a prefix of the queue within the group limits (always at least one). */
        sub_t *group = w->head, *last = w->head;
        size_t events = last->n, bytes = payload_bytes(last), taken_bytes = last->bytes, n = 1;
        while (last->next != NULL) {
            sub_t *nx = last->next;
            size_t pb = payload_bytes(nx);
            if (events + nx->n > w->opts.group_max_events || bytes + pb > w->opts.group_max_bytes)
                break;
            events += nx->n;
            bytes += pb;
            taken_bytes += nx->bytes;
            n++;
            last = nx;
        }
        w->head = last->next;
        if (w->head == NULL)
            w->tail = NULL;
        last->next = NULL;
        w->queued -= n;
        w->queued_bytes -= taken_bytes;
        pthread_mutex_unlock(&w->mu);

        run_group(w, group);
    }
    return NULL;
}

/* ---- public API ---- */

int stk_writer_start(stk_writer_t **out, stk_log_t *log, const stk_writer_opts_t *opts)
{
    if (out == NULL || log == NULL)
        return STK_EINVAL;
    *out = NULL;
    stk_writer_t *w = calloc(1, sizeof *w);
    if (w == NULL)
        return STK_ENOMEM;
    w->log = log;
    if (opts != NULL)
        w->opts = *opts;
    if (w->opts.queue_max == 0)
        w->opts.queue_max = DEFAULT_QUEUE_MAX;
    if (w->opts.queue_bytes_max == 0)
        w->opts.queue_bytes_max = DEFAULT_QUEUE_BYTES_MAX;
    if (w->opts.group_max_events == 0)
        w->opts.group_max_events = DEFAULT_GROUP_MAX_EVENTS;
    if (w->opts.group_max_bytes == 0)
        w->opts.group_max_bytes = DEFAULT_GROUP_MAX_BYTES;
    int rc = STK_ENOMEM;
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        goto fail_w;
    if (pthread_cond_init(&w->nonempty, NULL) != 0)
        goto fail_mu;
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        rc = STK_EIO;
        goto fail_cond;
    }
    *out = w;
    return 0;

fail_cond:
    pthread_cond_destroy(&w->nonempty);
fail_mu:
    pthread_mutex_destroy(&w->mu);
fail_w:
    free(w);
    return rc;
}

int stk_writer_submit(stk_writer_t *w, const stk_append_t *items, size_t n, stk_writer_done_cb cb,
                      void *userdata)
{
    if (w == NULL || cb == NULL)
        return STK_EINVAL;
    int rc = stk_log_check_batch(items, n);
    if (rc != 0)
        return rc;
    /* Cheap early refusal before copying. */
    pthread_mutex_lock(&w->mu);
    rc = w->stopping ? STK_ECLOSED : (w->queued >= w->opts.queue_max ? STK_EBUSY : 0);
    pthread_mutex_unlock(&w->mu);
    if (rc != 0)
        return rc;
    sub_t *s = sub_new(items, n);
    if (s == NULL)
        return STK_ENOMEM;
    s->cb = cb;
    s->ud = userdata;

    pthread_mutex_lock(&w->mu);
    if (w->stopping)
        rc = STK_ECLOSED;
    else if (w->queued >= w->opts.queue_max || w->queued_bytes + s->bytes > w->opts.queue_bytes_max)
        rc = STK_EBUSY;
    if (rc == 0) {
        if (w->tail != NULL)
            w->tail->next = s;
        else
            w->head = s;
        w->tail = s;
        w->queued++;
        w->queued_bytes += s->bytes;
        pthread_cond_signal(&w->nonempty);
    }
    pthread_mutex_unlock(&w->mu);
    if (rc != 0)
        free(s);
    return rc;
}

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int status;
    stk_append_result_t *res;
} waiter_t;

static void waiter_done_cb(void *ud, int status, const stk_append_result_t *results, size_t n)
{
    waiter_t *wt = ud;
    if (status == 0)
        memcpy(wt->res, results, n * sizeof *results);
    pthread_mutex_lock(&wt->mu);
    wt->status = status;
    wt->done = 1;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

int stk_writer_append_wait(stk_writer_t *w, const stk_append_t *items, size_t n,
                           stk_append_result_t *res)
{
    if (w == NULL || res == NULL)
        return STK_EINVAL;
    /* From a done_cb it would wait for a commit that its own thread has to make. */
    if (pthread_equal(pthread_self(), w->thread))
        return STK_ESTATE;
    waiter_t wt = {.res = res};
    if (pthread_mutex_init(&wt.mu, NULL) != 0)
        return STK_ENOMEM;
    if (pthread_cond_init(&wt.cv, NULL) != 0) {
        pthread_mutex_destroy(&wt.mu);
        return STK_ENOMEM;
    }
    int rc = stk_writer_submit(w, items, n, waiter_done_cb, &wt);
    if (rc == 0) {
        pthread_mutex_lock(&wt.mu);
        while (!wt.done)
            pthread_cond_wait(&wt.cv, &wt.mu);
        rc = wt.status;
        pthread_mutex_unlock(&wt.mu);
    }
    pthread_cond_destroy(&wt.cv);
    pthread_mutex_destroy(&wt.mu);
    return rc;
}

void stk_writer_stop(stk_writer_t *w)
{
    if (w == NULL || w->joined)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->nonempty);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->joined = 1;
}

void stk_writer_free(stk_writer_t *w)
{
    if (w == NULL)
        return;
    stk_writer_stop(w);
    pthread_cond_destroy(&w->nonempty);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void stk_writer_stats(stk_writer_t *w, stk_writer_stats_t *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->stats;
    st->queued = w->queued;
    pthread_mutex_unlock(&w->mu);
}
