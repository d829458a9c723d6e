/* tests/events/test_crash.c — durability under SIGKILL.
 *
 * A forked child opens the log and appends through the group-commit writer as fast as it
 * can, reporting each acknowledged event (seq, checksum of its payload) on a pipe from
 * inside done_cb, i.e. only after the commit. The parent kills it with SIGKILL at a random
 * moment (seeded PRNG, 5..50 ms after the child reports the log open), reopens the log and checks:
 * every acknowledged event is present with its exact payload, acknowledgements came in seq order,
 * the chain and the indexes verify (nothing half-written past the head), and the next child
 * continues from the head. Repeated for ROUNDS rounds on the same log.
 *
 * The parent never holds the log open while a child runs (LMDB forbids using an env
 * across fork) and forks before any thread of ours exists.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "events/log.h"
#include "events/writer.h"
#include "tests/support/tmpdir.h"

#define ROUNDS        32
#define CHILD_MAX_MS  3000 /* a child that was never killed stops by itself */
#define INFLIGHT_MAX  64
#define ACK_REC_BYTES 16

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ---- the child ---- */

typedef struct child {
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
} child_t;

typedef struct pending {
    child_t *c;
    size_t n;
    uint64_t sums[3];
} pending_t;

static void child_done_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    pending_t *p = ud;
    child_t *c = p->c;
    if (status == 0) {
        uint8_t rec[3 * ACK_REC_BYTES];
        if (n > 3)
            _exit(6); /* batches here are 1..3 items (also tells gcc -O3 rec cannot overflow) */
        for (size_t i = 0; i < n; i++) {
            memcpy(rec + i * ACK_REC_BYTES, &res[i].seq, 8);
            memcpy(rec + i * ACK_REC_BYTES + 8, &p->sums[i], 8);
        }
        /* <= PIPE_BUF bytes: one atomic write, never half a record. */
        if (write(c->fd, rec, n * ACK_REC_BYTES) != (ssize_t)(n * ACK_REC_BYTES))
            _exit(4);
    } else {
        _exit(5); /* nothing in this test may fail */
    }
    free(p);
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run_child(const char *dir, int fd, uint64_t seed)
{
    stk_log_t *log;
    if (stk_log_open(&log, dir, NULL) != 0)
        _exit(2);
    stk_writer_t *w;
    if (stk_writer_start(&w, log, NULL) != 0)
        _exit(3);
    uint8_t ready[ACK_REC_BYTES] = {0}; /* seq 0: "log open" */
    if (write(fd, ready, sizeof ready) != (ssize_t)sizeof ready)
        _exit(8);
    child_t c = {.fd = fd};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    int64_t deadline = mono_ms() + CHILD_MAX_MS;
    uint8_t payloads[3][256];
    while (mono_ms() < deadline) {
        pending_t *p = malloc(sizeof *p);
        if (p == NULL)
            _exit(6);
        p->c = &c;
        p->n = 1 + xorshift(&seed) % 3;
        stk_append_t items[3];
        memset(items, 0, sizeof items);
        for (size_t i = 0; i < p->n; i++) {
            size_t len = 8 + xorshift(&seed) % 248;
            for (size_t j = 0; j < len; j++)
                payloads[i][j] = (uint8_t)xorshift(&seed);
            items[i].stream.b[15] = (uint8_t)(xorshift(&seed) % 8);
            items[i].type = 1;
            items[i].schema = 1;
            items[i].payload = payloads[i];
            items[i].payload_len = len;
            items[i].expected_version = STK_VERSION_ANY;
            p->sums[i] = fnv1a(payloads[i], len);
        }
        pthread_mutex_lock(&c.mu);
        while (c.inflight >= INFLIGHT_MAX)
            pthread_cond_wait(&c.cv, &c.mu);
        c.inflight++;
        pthread_mutex_unlock(&c.mu);
        int rc = stk_writer_submit(w, items, p->n, child_done_cb, p);
        if (rc != 0)
            _exit(7);
    }
    stk_writer_free(w);
    stk_log_close(log);
    _exit(0);
}

/* ---- the parent ---- */

typedef struct acked {
    uint64_t *sum; /* by seq; valid where have[seq] */
    uint8_t *have;
    size_t cap;
    uint64_t max_seq;
} acked_t;

static void acked_put(acked_t *a, uint64_t seq, uint64_t sum)
{
    if (seq >= a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap <= seq)
            cap *= 2;
        a->sum = realloc(a->sum, cap * sizeof *a->sum);
        a->have = realloc(a->have, cap);
        cr_assert(a->sum && a->have);
        memset(a->have + a->cap, 0, cap - a->cap);
        a->cap = cap;
    }
    a->sum[seq] = sum;
    a->have[seq] = 1;
    if (seq > a->max_seq)
        a->max_seq = seq;
}

typedef struct check {
    const acked_t *a;
    uint64_t checked, mismatched, next_seq;
} check_t;

static int check_cb(void *ud, const stk_envelope_t *e)
{
    check_t *c = ud;
    if (e->seq != c->next_seq)
        c->mismatched++;
    c->next_seq = e->seq + 1;
    if (e->seq < c->a->cap && c->a->have[e->seq]) {
        c->checked++;
        if (fnv1a(e->payload, e->payload_len) != c->a->sum[e->seq])
            c->mismatched++;
    }
    return 0;
}

static char root[64];
static int root_made;

static void cleanup(void)
{
    if (root_made)
        stk_test_tmpdir_remove(root);
}

Test(crash, acknowledged_events_survive_sigkill_at_random_moments, .timeout = 280, .fini = cleanup)
{
    cr_assert_eq(stk_test_tmpdir_make(root, sizeof root, "crash"), 0);
    root_made = 1;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/log", root);
    uint64_t rng = 0x5eed5eedull;
    acked_t acked = {0};
    uint64_t total_acked = 0, prev_head = 0;
    int rounds_with_acks = 0;

    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        cr_assert_eq(pipe(fds), 0);
        uint64_t child_seed = xorshift(&rng) | 1;
        unsigned kill_after_us = (unsigned)(5000 + xorshift(&rng) % 45001);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            close(fds[0]);
            run_child(dir, fds[1], child_seed);
        }
        close(fds[1]);

        /* Drain acks while the child runs; the kill timer starts at the first ack, so the
         * kill lands among appends even when the child starts slowly (sanitizers). */
        uint8_t buf[4096];
        size_t have = 0;
        uint64_t last_seq = prev_head, round_acks = 0;
        int64_t kill_at = -1;
        int killed = 0;
        for (;;) {
            if (!killed && kill_at >= 0 && mono_us() >= kill_at) {
                kill(pid, SIGKILL);
                killed = 1;
            }
            int timeout_ms = -1;
            if (!killed && kill_at >= 0)
                timeout_ms = (int)((kill_at - mono_us() + 999) / 1000);
            if (timeout_ms < -1)
                timeout_ms = 0;
            struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
            int pr = poll(&pfd, 1, timeout_ms);
            if (pr < 0 && errno == EINTR)
                continue;
            cr_assert_geq(pr, 0);
            if (pr == 0)
                continue; /* time to kill */
            ssize_t r = read(fds[0], buf + have, sizeof buf - have);
            if (r < 0 && errno == EINTR)
                continue;
            cr_assert_geq(r, 0);
            if (r == 0)
                break;
            have += (size_t)r;
            size_t off = 0;
            for (; off + ACK_REC_BYTES <= have; off += ACK_REC_BYTES) {
                uint64_t seq, sum;
                memcpy(&seq, buf + off, 8);
                memcpy(&sum, buf + off + 8, 8);
                if (seq == 0)
                    continue; /* the child's "log open" marker */
                cr_assert_gt(seq, last_seq, "round %d: ack %llu after %llu", round,
                             (unsigned long long)seq, (unsigned long long)last_seq);
                last_seq = seq;
                acked_put(&acked, seq, sum);
                round_acks++;
                if (kill_at < 0)
                    kill_at = mono_us() + kill_after_us;
            }
            memmove(buf, buf + off, have - off);
            have -= off;
        }
        if (!killed)
            kill(pid, SIGKILL); /* the child ended by itself (or never acked) */
        cr_assert_eq(have, 0, "half an ack record");
        close(fds[0]);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
                  "round %d: child failed with status %d", round, st);
        total_acked += round_acks;
        cr_log_info("round %d: killed %u us after the first ack, %llu acks", round, kill_after_us,
                    (unsigned long long)round_acks);
        rounds_with_acks += round_acks > 0;

        /* Reopen (recovery) and check everything acknowledged so far. */
        stk_log_t *log;
        cr_assert_eq(stk_log_open(&log, dir, NULL), 0, "round %d", round);
        stk_log_verify_report_t rep;
        cr_assert_eq(stk_log_verify(log, &rep), 0, "round %d: %s", round, rep.detail);
        uint64_t head = 0;
        cr_assert_eq(stk_log_head(log, &head, NULL), 0);
        cr_assert_geq(head, acked.max_seq, "round %d: acked seq %llu lost (head %llu)", round,
                      (unsigned long long)acked.max_seq, (unsigned long long)head);
        cr_assert_geq(head, prev_head);
        check_t c = {.a = &acked, .next_seq = 1};
        cr_assert_eq(stk_log_read(log, 1, 0, check_cb, &c), 0);
        cr_assert_eq(c.mismatched, 0, "round %d: %llu acked events damaged", round,
                     (unsigned long long)c.mismatched);
        cr_assert_eq(c.checked, total_acked, "round %d: only %llu of %llu acked found", round,
                     (unsigned long long)c.checked, (unsigned long long)total_acked);
        cr_assert_eq(c.next_seq, head + 1);
        prev_head = head;
        stk_log_close(log);
    }
    /* The test must have exercised something. */
    cr_expect_gt(rounds_with_acks, ROUNDS / 2, "only %d rounds acknowledged anything",
                 rounds_with_acks);
    cr_log_info("crash: %d rounds, %llu acked, head %llu", ROUNDS, (unsigned long long)total_acked,
                (unsigned long long)prev_head);
    free(acked.sum);
    free(acked.have);
}
