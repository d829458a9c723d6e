/* net/auth_refresh.h — the refresh-token store: which refresh tokens are live, rotation on
 * use, replay detection and revocation (DESIGN §8; data contract: refresh 7 days, revocable).
 *
 * A refresh JWT (net/auth_jwt.h) proves who signed it, not that it is still good: the store
 * remembers every issued refresh jti with its user and expiry and a state:
 *
 *     put ──▶ LIVE ──take──▶ USED ──take again (replay)──▶ every LIVE token of the user → REVOKED
 *              │                                            (the thief or the victim lost
 *              └──revoke / revoke_user──▶ REVOKED            the race: both must log in again)
 *   USED and REVOKED entries are tombstones kept until their expiry so that a replay is
 *   recognised; an expired entry of any state is swept.
 *
 * Rotation (OAuth 2.0 security BCP §4.14): a refresh token is good exactly once; using it
 * yields a new pair. Replaying an already rotated token revokes the whole family — here all
 * of that user's live refresh tokens (a superset of the one login chain, chosen because it
 * needs no family id and errs on the safe side). A logged-out token is refused.
 *
 * The store is an interface (stk_refresh_ops_t) so that a Redis implementation
 * (`session:{user_id}:refresh_token` of the contract) can follow; this module ships the
 * in-process one (stk_refresh_mem_create). It does no I/O and reads no clock (`now` is Unix
 * seconds from the caller). The stk_refresh_login/rotate/logout helpers tie it to the JWT
 * module and are what HTTP routes should call.
 *
 * Thread: a store is not thread-safe: one thread (the loop) owns it. Note for the Redis
 * version: the ops are synchronous; an asynchronous backend needs callback variants.
 */
#ifndef STK_NET_AUTH_REFRESH_H
#define STK_NET_AUTH_REFRESH_H

#include <stddef.h>
#include <stdint.h>

#include "events/envelope.h"
#include "net/auth_jwt.h"

/* Why a refresh token was refused: X(name, message). OK is 0. */
#define STK_REFRESH_REASON_MAP(X)                                                                  \
    X(OK, "refresh token accepted")                                                                \
    X(UNKNOWN, "refresh token is not known here")                                                  \
    X(EXPIRED, "refresh token has expired")                                                        \
    X(REUSED, "refresh token was already used; all sessions of the user are revoked")              \
    X(REVOKED, "refresh token was revoked")                                                        \
    X(WRONG_USER, "refresh token belongs to another user")

typedef enum stk_refresh_reason {
#define STK_REFRESH_REASON_ENUM(name, msg) STK_REFRESH_##name,
    STK_REFRESH_REASON_MAP(STK_REFRESH_REASON_ENUM)
#undef STK_REFRESH_REASON_ENUM
} stk_refresh_reason_t;

typedef struct stk_refresh_store stk_refresh_store_t;

/* Operations of a store implementation. Every op returns 0 or a negative STK_E* code; all
 * pointers are borrowed for the call. */
typedef struct stk_refresh_ops {
    /* Remembers a new LIVE token jti of user, good until exp (> now). May revoke the user's
     * oldest live token (per-user cap) and sweep expired entries. STK_EEXIST (jti already
     * known), STK_EINVAL, STK_EFULL (no room even after sweeping), STK_ENOMEM. */
    int (*put)(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN], const stk_uuid_t *user,
               int64_t exp, int64_t now);
    /* Uses token jti presented by user: LIVE → USED and 0. Otherwise STK_EPERM with *why
     * (UNKNOWN, EXPIRED, REUSED — which also revokes every live token of the user —,
     * REVOKED, WRONG_USER). STK_EINVAL on bad arguments. */
    int (*take)(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN], const stk_uuid_t *user,
                int64_t now, stk_refresh_reason_t *why);
    /* Revokes one token (logout): LIVE → REVOKED; USED or REVOKED stay as they are; 0 in
     * all three cases; STK_ENOTFOUND if unknown or expired. */
    int (*revoke)(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN], int64_t now);
    /* Revokes every live token of user (logout everywhere, erasure). 0 even if none. */
    int (*revoke_user)(stk_refresh_store_t *s, const stk_uuid_t *user, int64_t now);
    /* Frees the store. */
    void (*destroy)(stk_refresh_store_t *s);
} stk_refresh_ops_t;

/* Every implementation's struct starts with this. */
struct stk_refresh_store {
    const stk_refresh_ops_t *ops;
};

/* ---- the in-process implementation ---- */

#define STK_REFRESH_MEM_MAX_DEFAULT      65536u /* entries (live + tombstones) */
#define STK_REFRESH_MEM_PER_USER_DEFAULT 16u    /* live tokens per user (devices) */
#define STK_REFRESH_MEM_MAX_LIMIT        (1u << 24)

typedef struct stk_refresh_mem_opts {
    size_t max_tokens;   /* 0 → STK_REFRESH_MEM_MAX_DEFAULT; at most STK_REFRESH_MEM_MAX_LIMIT */
    size_t max_per_user; /* 0 → STK_REFRESH_MEM_PER_USER_DEFAULT; a put beyond it revokes the
                            user's oldest live token */
} stk_refresh_mem_opts_t;

/* Creates an empty in-memory store (all memory allocated here: about 144 bytes per
 * max_tokens, with its per-user index; put never grows it). opts may be NULL. Returns 0 and *out
 * (free with stk_refresh_store_destroy); STK_EINVAL (limits out of range), STK_ENOMEM, STK_ECRYPTO.
 * When full it fails closed: put answers STK_EFULL only after expired entries and then all
 * tombstones have been dropped, i.e. when max_tokens tokens are genuinely live. Dropping a
 * tombstone is safe: an unknown jti is refused too (it only loses replay detection).
 * take, revoke and put are O(1), except that a put scans the table (O(max_tokens)) when the
 * user is at max_per_user live tokens, as does a rebuild when the store is full;
 * revoke_user (and so a REUSED take) always scans. */
int stk_refresh_mem_create(stk_refresh_store_t **out, const stk_refresh_mem_opts_t *opts);

/* Entries (live + tombstones) held by an in-memory store; for tests and metrics. */
size_t stk_refresh_mem_count(const stk_refresh_store_t *s);

/* ---- calls through the interface ---- */

int stk_refresh_store_put(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                          const stk_uuid_t *user, int64_t exp, int64_t now);
int stk_refresh_store_take(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                           const stk_uuid_t *user, int64_t now, stk_refresh_reason_t *why);
int stk_refresh_store_revoke(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                             int64_t now);
int stk_refresh_store_revoke_user(stk_refresh_store_t *s, const stk_uuid_t *user, int64_t now);
/* NULL is a no-op. */
void stk_refresh_store_destroy(stk_refresh_store_t *s);

/* ---- the flows HTTP routes call ---- */

/* A new access + refresh pair (tokens NUL-terminated). */
typedef struct stk_token_pair {
    char access[STK_JWT_BUF];
    char refresh[STK_JWT_BUF];
    stk_jwt_claims_t access_claims;
    stk_jwt_claims_t refresh_claims;
} stk_token_pair_t;

/* Login (after the password was verified): issues a pair for user at now and remembers the
 * refresh token. Returns 0; errors of stk_jwt_claims_new, stk_jwt_sign and the store's put
 * (STK_EFULL → answer 503). *out is undefined on error. */
int stk_refresh_login(stk_refresh_store_t *s, const stk_jwt_key_t *key, const stk_uuid_t *user,
                      int64_t now, stk_token_pair_t *out);

/* Refresh: verifies token as a refresh JWT, uses it (take) and issues a new pair for the
 * same user. Returns 0; STK_EPERM when the token is refused — then *jwt_why says why if the
 * JWT itself was bad (else STK_JWT_OK) and *why says why if the store refused it (else
 * STK_REFRESH_OK); either out-reason may be NULL. Other errors as stk_refresh_login (the old
 * token is then already used: the client must log in again). */
int stk_refresh_rotate(stk_refresh_store_t *s, const stk_jwt_key_t *key, const char *token,
                       size_t len, int64_t now, stk_token_pair_t *out, stk_jwt_reason_t *jwt_why,
                       stk_refresh_reason_t *why);

/* Logout: verifies token as a refresh JWT and revokes it. Returns 0 (also if it was already
 * used or revoked); STK_EPERM (*jwt_why says why the JWT was refused), STK_ENOTFOUND
 * (unknown to the store). */
int stk_refresh_logout(stk_refresh_store_t *s, const stk_jwt_key_t *key, const char *token,
                       size_t len, int64_t now, stk_jwt_reason_t *jwt_why);

const char *stk_refresh_reason_message(stk_refresh_reason_t why);
const char *stk_refresh_reason_name(stk_refresh_reason_t why);

#endif
