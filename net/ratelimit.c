/* net/ratelimit.c — the in-process fixed-window rate limiter.
 *
 * An open-addressing hash table (linear probing, at most half full) of windows keyed by a
 * 128-bit SipHash (libsodium crypto_shorthash_siphashx24, per-limiter random key) of
 * "ip \0 group". Windows are never deleted one by one: a key whose window ended is simply
 * restarted in place on its next request; room for new keys is made by rebuilding the
 * table without ended windows, which happens only when it is full and not before
 * `next_sweep_ms` (the earliest end among the windows kept at the last rebuild).
 *
 * Invariants: count <= max <= slots / 2; each key is reachable from its hash slot by a
 * probe run without an empty slot.
 */
#include "net/ratelimit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define HASH_LEN      crypto_shorthash_siphashx24_BYTES /* 16 */
#define WINDOW_MS_MAX (24 * 60 * 60 * 1000)

typedef struct window {
    uint8_t key[HASH_LEN];
    int64_t start_ms;
    uint32_t count;
    uint32_t used; /* 0: empty slot */
} window_t;

typedef struct mem_limiter {
    stk_ratelimiter_t base; /* first: the interface */
    window_t *slots;
    size_t mask;
    size_t count;
    size_t max;
    uint32_t limit;
    int64_t window_ms;
    stk_ratelimit_full_t when_full;
    int64_t next_sweep_ms; /* no rebuild before this time */
    uint8_t hkey[crypto_shorthash_siphashx24_KEYBYTES];
} mem_limiter_t;

static size_t slot_of(const mem_limiter_t *m, const uint8_t key[HASH_LEN])
{
    uint64_t v;
    memcpy(&v, key, sizeof v); /* the key is already a keyed hash */
    return (size_t)v & m->mask;
}

static void insert(window_t *slots, size_t mask, const mem_limiter_t *m, const window_t *w)
{
    size_t i = slot_of(m, w->key);
    while (slots[i].used)
        i = (i + 1) & mask;
    slots[i] = *w;
}

static int ended(const mem_limiter_t *m, const window_t *w, int64_t now_ms)
{
    /* now_ms < start_ms (a caller's clock stepping back) counts as still open. */
    return now_ms >= w->start_ms && now_ms - w->start_ms >= m->window_ms;
}

/* Drops ended windows. 0 or STK_ENOMEM (then nothing changed). */
static int sweep(mem_limiter_t *m, int64_t now_ms)
{
    window_t *fresh = calloc(m->mask + 1, sizeof *fresh);
    int64_t next = INT64_MAX;
    size_t kept = 0;
    if (fresh == NULL)
        return STK_ENOMEM;
    for (size_t i = 0; i <= m->mask; i++) {
        const window_t *w = &m->slots[i];
        if (!w->used || ended(m, w, now_ms))
            continue;
        insert(fresh, m->mask, m, w);
        kept++;
        int64_t end =
            w->start_ms > INT64_MAX - m->window_ms ? INT64_MAX : w->start_ms + m->window_ms;
        if (end < next)
            next = end;
    }
    free(m->slots);
    m->slots = fresh;
    m->count = kept;
    m->next_sweep_ms = next;
    return 0;
}

static void fill(const mem_limiter_t *m, const window_t *w, int64_t now_ms,
                 stk_ratelimit_result_t *res)
{
    int64_t elapsed = now_ms > w->start_ms ? now_ms - w->start_ms : 0;
    res->limit = m->limit;
    res->allowed = w->count <= m->limit;
    res->remaining = res->allowed ? m->limit - w->count : 0;
    res->reset_in_ms = m->window_ms - elapsed;
    res->untracked = 0;
}

static int mem_hit(stk_ratelimiter_t *rl, const char *ip, const char *group, int64_t now_ms,
                   stk_ratelimit_result_t *res)
{
    mem_limiter_t *m = (mem_limiter_t *)rl;
    uint8_t in[STK_RATELIMIT_IP_MAX + 1 + STK_RATELIMIT_GROUP_MAX];
    uint8_t key[HASH_LEN];
    size_t ip_len, group_len;
    int rc;

    if (ip == NULL || group == NULL || res == NULL)
        return STK_EINVAL;
    ip_len = strnlen(ip, STK_RATELIMIT_IP_MAX + 1);
    group_len = strnlen(group, STK_RATELIMIT_GROUP_MAX + 1);
    if (ip_len == 0 || ip_len > STK_RATELIMIT_IP_MAX || group_len > STK_RATELIMIT_GROUP_MAX)
        return STK_EINVAL;
    /* The NUL separator keeps ("1.2.3.4", "api") and ("1.2.3.4a", "pi") apart. */
    memcpy(in, ip, ip_len);
    in[ip_len] = 0;
    memcpy(in + ip_len + 1, group, group_len);
    crypto_shorthash_siphashx24(key, in, ip_len + 1 + group_len, m->hkey);

    size_t i = slot_of(m, key);
    for (; m->slots[i].used; i = (i + 1) & m->mask) {
        window_t *w = &m->slots[i];
        if (memcmp(w->key, key, HASH_LEN) != 0)
            continue;
        if (ended(m, w, now_ms)) {
            w->start_ms = now_ms;
            w->count = 0;
        }
        if (w->count < UINT32_MAX)
            w->count++;
        fill(m, w, now_ms, res);
        return 0;
    }

    /* A new key. */
    if (m->count >= m->max && now_ms >= m->next_sweep_ms && (rc = sweep(m, now_ms)) != 0)
        return rc;
    if (m->count >= m->max) {
        res->limit = m->limit;
        res->untracked = 1;
        res->reset_in_ms = m->next_sweep_ms > now_ms ? m->next_sweep_ms - now_ms : 0;
        if (m->when_full == STK_RATELIMIT_FULL_OPEN) {
            res->allowed = 1;
            res->remaining = m->limit - 1;
        } else {
            res->allowed = 0;
            res->remaining = 0;
        }
        return 0;
    }
    window_t w;
    memset(&w, 0, sizeof w);
    memcpy(w.key, key, HASH_LEN);
    w.start_ms = now_ms;
    w.count = 1;
    w.used = 1;
    insert(m->slots, m->mask, m, &w);
    m->count++;
    /* A window opened while the table had room ends no earlier than the sweep horizon
     * assumed so far, except when the horizon is stale (no sweep yet): keep it a lower
     * bound on the earliest end, which is all the full-table path needs. */
    int64_t end = now_ms > INT64_MAX - m->window_ms ? INT64_MAX : now_ms + m->window_ms;
    if (end < m->next_sweep_ms)
        m->next_sweep_ms = end;
    fill(m, &w, now_ms, res);
    return 0;
}

static void mem_destroy(stk_ratelimiter_t *rl)
{
    mem_limiter_t *m = (mem_limiter_t *)rl;
    free(m->slots);
    sodium_memzero(m, sizeof *m);
    free(m);
}

static const stk_ratelimit_ops_t mem_ops = {
    .hit = mem_hit,
    .destroy = mem_destroy,
};

int stk_ratelimit_mem_create(stk_ratelimiter_t **out, const stk_ratelimit_opts_t *opts)
{
    uint32_t limit = opts != NULL && opts->limit ? opts->limit : STK_RATELIMIT_LIMIT_DEFAULT;
    int64_t window =
        opts != NULL && opts->window_ms ? opts->window_ms : STK_RATELIMIT_WINDOW_MS_DEFAULT;
    size_t max = opts != NULL && opts->max_keys ? opts->max_keys : STK_RATELIMIT_KEYS_DEFAULT;
    stk_ratelimit_full_t when_full = opts != NULL ? opts->when_full : STK_RATELIMIT_FULL_CLOSED;
    mem_limiter_t *m = NULL;
    size_t slots = 2;
    int rc;

    if (out == NULL || window < 0 || window > WINDOW_MS_MAX || max > STK_RATELIMIT_KEYS_LIMIT ||
        (when_full != STK_RATELIMIT_FULL_CLOSED && when_full != STK_RATELIMIT_FULL_OPEN))
        return STK_EINVAL;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    while (slots < 2 * max)
        slots <<= 1;
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        rc = STK_ENOMEM;
        goto fail;
    }
    m->slots = calloc(slots, sizeof *m->slots);
    if (m->slots == NULL) {
        rc = STK_ENOMEM;
        goto fail;
    }
    m->base.ops = &mem_ops;
    m->mask = slots - 1;
    m->max = max;
    m->limit = limit;
    m->window_ms = window;
    m->when_full = when_full;
    m->next_sweep_ms = INT64_MAX;
    randombytes_buf(m->hkey, sizeof m->hkey);
    *out = &m->base;
    return 0;
fail:
    free(m);
    return rc;
}

size_t stk_ratelimit_mem_count(const stk_ratelimiter_t *rl)
{
    return rl != NULL && rl->ops == &mem_ops ? ((const mem_limiter_t *)rl)->count : 0;
}

int stk_ratelimit_hit(stk_ratelimiter_t *rl, const char *ip, const char *group, int64_t now_ms,
                      stk_ratelimit_result_t *res)
{
    return rl != NULL ? rl->ops->hit(rl, ip, group, now_ms, res) : STK_EINVAL;
}

void stk_ratelimit_destroy(stk_ratelimiter_t *rl)
{
    if (rl != NULL)
        rl->ops->destroy(rl);
}

int64_t stk_ratelimit_reset_s(const stk_ratelimit_result_t *res)
{
    if (res == NULL || res->reset_in_ms <= 0)
        return 0;
    return (res->reset_in_ms + 999) / 1000;
}
