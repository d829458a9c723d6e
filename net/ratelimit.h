/* net/ratelimit.h — request rate limiting per (client address, endpoint group): by default
 * 100 requests per 60 s (DESIGN §8; data contract `ratelimit:{ip}:{endpoint}`, TTL 60 s).
 *
 * Fixed windows, the same algorithm as the contract's Redis counter (INCR, EXPIRE 60 on the
 * first hit), so the later Redis implementation answers exactly like this one: a key's
 * window starts at its first request, counts every request (refused ones too: they are
 * load as well) and resets when it ends. A burst of up to 2 × limit across a window edge is
 * the known price of fixed windows.
 *
 * This module decides; it is not the HTTP layer (it answers allowed / remaining / reset so
 * the caller can send 429 with Retry-After and the RateLimit-* headers), does no I/O and
 * reads no clock: `now_ms` comes from the caller and should be monotonic (uv_now()).
 * Callers should pass IPv6 clients by their /64 prefix, or one host owns 2^64 keys.
 *
 * The limiter is an interface (stk_ratelimit_ops_t) so a Redis implementation can follow;
 * this module ships the in-process one (stk_ratelimit_mem_create).
 *
 * Thread: a limiter is not thread-safe: one thread (the loop) owns it.
 */
#ifndef STK_NET_RATELIMIT_H
#define STK_NET_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define STK_RATELIMIT_LIMIT_DEFAULT     100u   /* requests per window */
#define STK_RATELIMIT_WINDOW_MS_DEFAULT 60000  /* window length */
#define STK_RATELIMIT_KEYS_DEFAULT      65536u /* tracked (ip, group) keys */
#define STK_RATELIMIT_KEYS_LIMIT        (1u << 24)
#define STK_RATELIMIT_IP_MAX            64u /* bytes of the address text, NUL excluded */
#define STK_RATELIMIT_GROUP_MAX         32u /* bytes of the endpoint group, NUL excluded */

/* What to do with a new key when the table is full of keys whose windows are all open. */
typedef enum stk_ratelimit_full {
    /* Refuse it until the earliest window ends (default). The server keeps its capacity:
     * an attacker with more addresses than the table has slots gains nothing beyond what
     * the per-key limit already grants, at the price of refusing new clients meanwhile. */
    STK_RATELIMIT_FULL_CLOSED = 0,
    /* Let it through untracked: nobody is refused for lack of room, but every address
     * beyond the table is unlimited. */
    STK_RATELIMIT_FULL_OPEN = 1,
} stk_ratelimit_full_t;

typedef struct stk_ratelimit_opts {
    uint32_t limit;    /* 0 → STK_RATELIMIT_LIMIT_DEFAULT */
    int64_t window_ms; /* 0 → STK_RATELIMIT_WINDOW_MS_DEFAULT; at most one day */
    size_t max_keys;   /* 0 → STK_RATELIMIT_KEYS_DEFAULT; at most STK_RATELIMIT_KEYS_LIMIT */
    stk_ratelimit_full_t when_full;
} stk_ratelimit_opts_t;

typedef struct stk_ratelimit_result {
    int allowed;         /* 1: serve it; 0: answer 429 */
    uint32_t limit;      /* RateLimit-Limit */
    uint32_t remaining;  /* RateLimit-Remaining (after this request) */
    int64_t reset_in_ms; /* until the window ends (RateLimit-Reset / Retry-After, rounded up) */
    int untracked;       /* 1: decided by the when_full policy, not by a counter */
} stk_ratelimit_result_t;

typedef struct stk_ratelimiter stk_ratelimiter_t;

typedef struct stk_ratelimit_ops {
    /* Counts one request of (ip, group) at now_ms and fills *res. Returns 0 (allowed or not:
     * see res->allowed), STK_EINVAL (NULL or over-long ip/group, empty ip), STK_ENOMEM. */
    int (*hit)(stk_ratelimiter_t *rl, const char *ip, const char *group, int64_t now_ms,
               stk_ratelimit_result_t *res);
    void (*destroy)(stk_ratelimiter_t *rl);
} stk_ratelimit_ops_t;

/* Every implementation's struct starts with this. */
struct stk_ratelimiter {
    const stk_ratelimit_ops_t *ops;
};

/* Creates an in-process limiter (all memory allocated here, about 64 bytes per max_keys;
 * keys are stored as a keyed 128-bit hash of ip and group). Expired windows are swept only
 * when the table is full, and then not again before the earliest open window can end, so a
 * full table costs no repeated scans. opts may be NULL. Returns 0 and *out (free with
 * stk_ratelimit_destroy); STK_EINVAL (options out of range), STK_ENOMEM, STK_ECRYPTO. */
int stk_ratelimit_mem_create(stk_ratelimiter_t **out, const stk_ratelimit_opts_t *opts);
/* Keys tracked by an in-process limiter; for tests and metrics. */
size_t stk_ratelimit_mem_count(const stk_ratelimiter_t *rl);

/* ip: the client address as text (NUL-terminated, 1..STK_RATELIMIT_IP_MAX bytes); group:
 * the endpoint group ("auth", "api", "live"; 0..STK_RATELIMIT_GROUP_MAX bytes). Borrowed.
 * See stk_ratelimit_ops_t.hit. */
int stk_ratelimit_hit(stk_ratelimiter_t *rl, const char *ip, const char *group, int64_t now_ms,
                      stk_ratelimit_result_t *res);
/* NULL is a no-op. */
void stk_ratelimit_destroy(stk_ratelimiter_t *rl);

/* res->reset_in_ms in whole seconds, rounded up (for RateLimit-Reset and Retry-After). */
int64_t stk_ratelimit_reset_s(const stk_ratelimit_result_t *res);

#endif
