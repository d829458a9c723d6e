/* events/writer.h — the group-commit writer: one thread that owns all appends to a log.
 *
 * Submitters (the network loop, tools, tests) hand batches to stk_writer_submit(), which
 * copies them into a bounded queue and returns at once. The writer thread takes everything
 * queued (up to a group limit), appends each submitted batch in its own nested transaction
 * of ONE LMDB write transaction (stk_log_txn_*), commits it with one fsync, and only then
 * calls each batch's done_cb exactly once. One batch's conflict (version, unique key) fails
 * only that batch; a storage error (full, I/O) fails every batch of the group.
 *
 * It is not the log (events/log.h) and does not validate payload schemas or commands;
 * that happens before submit.
 *
 * Lifecycle:  stk_writer_start → (submit | append_wait)* → stk_writer_stop → stk_writer_free
 *   stop drains: everything submitted before stop is committed and acknowledged; submit
 *   after stop (or while stopping) returns STK_ECLOSED. free also stops if needed.
 *   The log must stay open until stk_writer_free returned.
 *
 * Threads: submit, append_wait and stats may be called from any thread concurrently.
 * done_cb runs on the writer thread: it must be short, must not call stk_writer_append_wait,
 * stop or free on the same writer (deadlock), and typically forwards to its owner's loop
 * (uv_async_send). It may call stk_writer_submit. start/stop/free from one owner thread.
 */
#ifndef STK_EVENTS_WRITER_H
#define STK_EVENTS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "events/log.h"

typedef struct stk_writer stk_writer_t;

typedef struct stk_writer_opts {
    size_t queue_max;        /* submitted batches waiting; 0 → 65536 */
    size_t queue_bytes_max;  /* copied bytes waiting; 0 → 256 MiB */
    size_t group_max_events; /* events in one LMDB transaction; 0 → 16384 */
    size_t group_max_bytes;  /* payload bytes in one LMDB transaction; 0 → 128 MiB */
} stk_writer_opts_t;

/* Called exactly once per successful submit, after the group's commit (or failure).
 * status: 0 (committed and durable), or STK_ECONFLICT / STK_EEXIST / STK_EPERM /
 * STK_ERANGE (this batch only; nothing of it written), STK_EFULL / STK_EIO / STK_ECORRUPT
 * (the group failed; nothing of it written). results: n entries when status == 0, else
 * NULL; valid only during the call. */
typedef void (*stk_writer_done_cb)(void *userdata, int status, const stk_append_result_t *results,
                                   size_t n);

/* Starts the writer thread on log. opts may be NULL for defaults.
 * Returns 0 and *out, STK_EINVAL, STK_ENOMEM, STK_EIO (thread creation failed). */
int stk_writer_start(stk_writer_t **out, stk_log_t *log, const stk_writer_opts_t *opts);

/* Queues items[0..n) as one atomic batch. The items, their payloads, unique ops and data
 * keys are COPIED: the caller may free or reuse them as soon as submit returns.
 * Returns 0 (done_cb will run exactly once), or (done_cb will never run):
 * STK_EINVAL / STK_ETOOBIG (the batch breaks a rule of stk_log_check_batch, or cb is
 * NULL), STK_EBUSY (queue full: retry later or shed load), STK_ECLOSED (stopping or
 * stopped), STK_ENOMEM. Any thread. */
int stk_writer_submit(stk_writer_t *w, const stk_append_t *items, size_t n, stk_writer_done_cb cb,
                      void *userdata);

/* Submits and blocks until the batch's commit; fills res[0..n) on success. Returns the
 * batch status (see done_cb) or a submit error; STK_ESTATE when called on the writer's own
 * thread (from a done_cb), where it would deadlock. Any other thread. */
int stk_writer_append_wait(stk_writer_t *w, const stk_append_t *items, size_t n,
                           stk_append_result_t *res);

/* Stops accepting, commits and acknowledges everything queued, joins the thread.
 * Idempotent. Owner thread. */
void stk_writer_stop(stk_writer_t *w);
/* Stops if still running, then frees. NULL is a no-op. Owner thread. */
void stk_writer_free(stk_writer_t *w);

typedef struct stk_writer_stats {
    uint64_t commits;        /* LMDB write transactions committed */
    uint64_t events;         /* events committed */
    uint64_t batches;        /* batches acknowledged with status 0 */
    uint64_t batches_failed; /* batches acknowledged with an error */
    uint64_t queued;         /* batches waiting right now */
    uint64_t max_group;      /* most batches committed in one transaction */
} stk_writer_stats_t;

/* Snapshot of the counters. Any thread. */
void stk_writer_stats(stk_writer_t *w, stk_writer_stats_t *st);

#endif
