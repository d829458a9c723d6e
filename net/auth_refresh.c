/* net/auth_refresh.c — the in-process refresh-token store and the login/refresh/logout
 * flows over the stk_refresh_ops_t interface.
 *
 * The in-memory store is an open-addressing hash table (linear probing, at most half full)
 * keyed by a SipHash (libsodium crypto_shorthash, per-store random key) of the jti. Entries
 * are never removed one by one: state changes mark them, and room is made by rebuilding the
 * table without the expired entries (then, if still full, without tombstones). So a probe
 * chain is never broken and no deleted-slot markers are needed.
 *
 * A second table of the same size indexes users with their number of LIVE entries, so the
 * per-user cap costs a scan only when a user actually is at it.
 *
 * Invariants: count <= max <= slots / 2; every entry is reachable from its hash slot by a
 * probe run without an EMPTY slot; no two entries share a jti; for every user, the index's
 * live count equals the number of its entries in state LIVE (expired ones included); the
 * index holds at most one user per entry put since the last rebuild, so at most max.
 */
#include "net/auth_refresh.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

enum { SLOT_EMPTY = 0, SLOT_LIVE, SLOT_USED, SLOT_REVOKED };

typedef struct entry {
    uint8_t jti[STK_JWT_JTI_LEN];
    stk_uuid_t user;
    int64_t exp;
    uint8_t state;
} entry_t;

/* Per-user index: how many entries of the user are in state LIVE (expired or not), so a put
 * scans the table only when the user is at the per-user cap. */
typedef struct user_slot {
    stk_uuid_t user;
    uint32_t live;
    uint32_t used; /* 0: empty slot */
} user_slot_t;

typedef struct mem_store {
    stk_refresh_store_t base; /* first: the interface */
    entry_t *slots;
    user_slot_t *users; /* as many slots as `slots`, same mask */
    size_t mask;        /* slots - 1 (a power of two) */
    size_t count;
    size_t max;
    size_t per_user;
    uint8_t hkey[crypto_shorthash_KEYBYTES];
} mem_store_t;

static size_t hash_of(const mem_store_t *m, const uint8_t *bytes, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, bytes, len, m->hkey);
    memcpy(&v, h, sizeof v);
    return (size_t)v & m->mask;
}

static entry_t *find(mem_store_t *m, const uint8_t jti[STK_JWT_JTI_LEN])
{
    for (size_t i = hash_of(m, jti, STK_JWT_JTI_LEN);; i = (i + 1) & m->mask) {
        entry_t *e = &m->slots[i];
        if (e->state == SLOT_EMPTY)
            return NULL;
        if (memcmp(e->jti, jti, STK_JWT_JTI_LEN) == 0)
            return e;
    }
}

static int user_eq(const stk_uuid_t *a, const stk_uuid_t *b)
{
    return memcmp(a->b, b->b, STK_UUID_LEN) == 0;
}

/* The index slot of user in users, added (live = 0) if absent. There is always room: the
 * index holds at most one user per entry of the table (users are added by puts and dropped
 * only by rebuilds, which recount them from the entries kept). */
static user_slot_t *user_slot(const mem_store_t *m, user_slot_t *users, const stk_uuid_t *user)
{
    size_t i = hash_of(m, user->b, STK_UUID_LEN);
    for (; users[i].used; i = (i + 1) & m->mask)
        if (user_eq(&users[i].user, user))
            return &users[i];
    users[i].user = *user;
    users[i].live = 0;
    users[i].used = 1;
    return &users[i];
}

/* Inserts e (jti known absent) into slots; the table has room by the invariants. */
static void insert(entry_t *slots, const mem_store_t *m, const entry_t *e)
{
    size_t i = hash_of(m, e->jti, STK_JWT_JTI_LEN);
    while (slots[i].state != SLOT_EMPTY)
        i = (i + 1) & m->mask;
    slots[i] = *e;
}

/* Rebuilds the table and the user index keeping entries that are not expired at now and,
 * if drop_tombstones, only LIVE ones. 0 or STK_ENOMEM (then nothing changed). */
static int rebuild(mem_store_t *m, int64_t now, int drop_tombstones)
{
    entry_t *fresh = calloc(m->mask + 1, sizeof *fresh);
    user_slot_t *users = calloc(m->mask + 1, sizeof *users);
    size_t kept = 0;
    if (fresh == NULL || users == NULL) {
        free(users);
        free(fresh);
        return STK_ENOMEM;
    }
    for (size_t i = 0; i <= m->mask; i++) {
        const entry_t *e = &m->slots[i];
        if (e->state == SLOT_EMPTY || e->exp <= now)
            continue;
        if (drop_tombstones && e->state != SLOT_LIVE)
            continue;
        insert(fresh, m, e);
        if (e->state == SLOT_LIVE)
            user_slot(m, users, &e->user)->live++;
        kept++;
    }
    free(m->slots);
    free(m->users);
    m->slots = fresh;
    m->users = users;
    m->count = kept;
    return 0;
}

/* Makes room for one more live token of u: retires the user's expired LIVE entries, then
 * revokes the oldest live ones (smallest exp: all have the same TTL) until fewer than
 * per_user remain. Scans the table, but only when the index says the user is at the cap. */
static void cap_user(mem_store_t *m, user_slot_t *u, int64_t now)
{
    while (u->live >= m->per_user) {
        size_t live = 0;
        entry_t *oldest = NULL;
        for (size_t i = 0; i <= m->mask; i++) {
            entry_t *e = &m->slots[i];
            if (e->state != SLOT_LIVE || !user_eq(&e->user, &u->user))
                continue;
            if (e->exp <= now) {
                e->state = SLOT_REVOKED; /* expired: its state no longer matters */
                u->live--;
                continue;
            }
            live++;
            if (oldest == NULL || e->exp < oldest->exp)
                oldest = e;
        }
        if (live < m->per_user || oldest == NULL)
            return;
        oldest->state = SLOT_REVOKED;
        u->live--;
    }
}

/* Moves e out of LIVE into state, keeping the index in step. */
static void retire(mem_store_t *m, entry_t *e, uint8_t state)
{
    if (e->state == SLOT_LIVE) {
        user_slot_t *u = user_slot(m, m->users, &e->user);
        if (u->live > 0)
            u->live--;
    }
    e->state = state;
}

static int mem_put(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                   const stk_uuid_t *user, int64_t exp, int64_t now)
{
    mem_store_t *m = (mem_store_t *)s;
    int rc;
    if (jti == NULL || user == NULL || exp <= now)
        return STK_EINVAL;
    if (find(m, jti) != NULL)
        return STK_EEXIST;
    if (m->count >= m->max && (rc = rebuild(m, now, 0)) != 0)
        return rc;
    if (m->count >= m->max && (rc = rebuild(m, now, 1)) != 0)
        return rc;
    if (m->count >= m->max)
        return STK_EFULL; /* fail closed: max live sessions reached */
    user_slot_t *u = user_slot(m, m->users, user);
    cap_user(m, u, now);
    entry_t e;
    memset(&e, 0, sizeof e);
    memcpy(e.jti, jti, STK_JWT_JTI_LEN);
    e.user = *user;
    e.exp = exp;
    e.state = SLOT_LIVE;
    insert(m->slots, m, &e);
    u->live++;
    m->count++;
    return 0;
}

static int mem_revoke_user(stk_refresh_store_t *s, const stk_uuid_t *user, int64_t now)
{
    mem_store_t *m = (mem_store_t *)s;
    (void)now;
    if (user == NULL)
        return STK_EINVAL;
    for (size_t i = 0; i <= m->mask; i++) {
        entry_t *e = &m->slots[i];
        if (e->state == SLOT_LIVE && user_eq(&e->user, user))
            retire(m, e, SLOT_REVOKED);
    }
    return 0;
}

static int mem_take(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                    const stk_uuid_t *user, int64_t now, stk_refresh_reason_t *why)
{
    mem_store_t *m = (mem_store_t *)s;
    stk_refresh_reason_t r;
    if (jti == NULL || user == NULL)
        return STK_EINVAL;
    entry_t *e = find(m, jti);
    if (e == NULL) {
        r = STK_REFRESH_UNKNOWN;
    } else if (!user_eq(&e->user, user)) {
        r = STK_REFRESH_WRONG_USER;
    } else if (e->exp <= now) {
        r = STK_REFRESH_EXPIRED;
    } else if (e->state == SLOT_USED) {
        /* Someone holds a copy of a rotated token: revoke the family. */
        mem_revoke_user(s, user, now);
        r = STK_REFRESH_REUSED;
    } else if (e->state == SLOT_REVOKED) {
        r = STK_REFRESH_REVOKED;
    } else {
        retire(m, e, SLOT_USED);
        r = STK_REFRESH_OK;
    }
    if (why != NULL)
        *why = r;
    return r == STK_REFRESH_OK ? 0 : STK_EPERM;
}

static int mem_revoke(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN], int64_t now)
{
    mem_store_t *m = (mem_store_t *)s;
    if (jti == NULL)
        return STK_EINVAL;
    entry_t *e = find(m, jti);
    if (e == NULL || e->exp <= now)
        return STK_ENOTFOUND;
    if (e->state == SLOT_LIVE)
        retire(m, e, SLOT_REVOKED);
    return 0;
}

static void mem_destroy(stk_refresh_store_t *s)
{
    mem_store_t *m = (mem_store_t *)s;
    free(m->users);
    free(m->slots);
    sodium_memzero(m, sizeof *m);
    free(m);
}

static const stk_refresh_ops_t mem_ops = {
    .put = mem_put,
    .take = mem_take,
    .revoke = mem_revoke,
    .revoke_user = mem_revoke_user,
    .destroy = mem_destroy,
};

int stk_refresh_mem_create(stk_refresh_store_t **out, const stk_refresh_mem_opts_t *opts)
{
    size_t max = opts != NULL && opts->max_tokens ? opts->max_tokens : STK_REFRESH_MEM_MAX_DEFAULT;
    size_t per =
        opts != NULL && opts->max_per_user ? opts->max_per_user : STK_REFRESH_MEM_PER_USER_DEFAULT;
    mem_store_t *m = NULL;
    size_t slots = 2;
    int rc;
    if (out == NULL || max > STK_REFRESH_MEM_MAX_LIMIT || per > UINT32_MAX)
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
    m->users = calloc(slots, sizeof *m->users);
    if (m->slots == NULL || m->users == NULL) {
        rc = STK_ENOMEM;
        goto fail;
    }
    m->base.ops = &mem_ops;
    m->mask = slots - 1;
    m->max = max;
    m->per_user = per;
    crypto_shorthash_keygen(m->hkey);
    *out = &m->base;
    return 0;
fail:
    if (m != NULL) {
        free(m->users);
        free(m->slots);
    }
    free(m);
    return rc;
}

size_t stk_refresh_mem_count(const stk_refresh_store_t *s)
{
    return s != NULL && s->ops == &mem_ops ? ((const mem_store_t *)s)->count : 0;
}

/* ---- interface calls ---- */

int stk_refresh_store_put(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                          const stk_uuid_t *user, int64_t exp, int64_t now)
{
    return s != NULL ? s->ops->put(s, jti, user, exp, now) : STK_EINVAL;
}

int stk_refresh_store_take(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                           const stk_uuid_t *user, int64_t now, stk_refresh_reason_t *why)
{
    return s != NULL ? s->ops->take(s, jti, user, now, why) : STK_EINVAL;
}

int stk_refresh_store_revoke(stk_refresh_store_t *s, const uint8_t jti[STK_JWT_JTI_LEN],
                             int64_t now)
{
    return s != NULL ? s->ops->revoke(s, jti, now) : STK_EINVAL;
}

int stk_refresh_store_revoke_user(stk_refresh_store_t *s, const stk_uuid_t *user, int64_t now)
{
    return s != NULL ? s->ops->revoke_user(s, user, now) : STK_EINVAL;
}

void stk_refresh_store_destroy(stk_refresh_store_t *s)
{
    if (s != NULL)
        s->ops->destroy(s);
}

/* ---- flows ---- */

int stk_refresh_login(stk_refresh_store_t *s, const stk_jwt_key_t *key, const stk_uuid_t *user,
                      int64_t now, stk_token_pair_t *out)
{
    int rc;
    if (s == NULL || key == NULL || user == NULL || out == NULL)
        return STK_EINVAL;
    memset(out, 0, sizeof *out);
    if ((rc = stk_jwt_claims_new(&out->access_claims, user, STK_JWT_ACCESS, now)) != 0 ||
        (rc = stk_jwt_claims_new(&out->refresh_claims, user, STK_JWT_REFRESH, now)) != 0 ||
        (rc = stk_jwt_sign(key, &out->access_claims, out->access, sizeof out->access, NULL)) != 0 ||
        (rc = stk_jwt_sign(key, &out->refresh_claims, out->refresh, sizeof out->refresh, NULL)) !=
            0)
        return rc;
    return s->ops->put(s, out->refresh_claims.jti, user, out->refresh_claims.exp, now);
}

int stk_refresh_rotate(stk_refresh_store_t *s, const stk_jwt_key_t *key, const char *token,
                       size_t len, int64_t now, stk_token_pair_t *out, stk_jwt_reason_t *jwt_why,
                       stk_refresh_reason_t *why)
{
    stk_jwt_claims_t c;
    int rc;
    if (jwt_why != NULL)
        *jwt_why = STK_JWT_OK;
    if (why != NULL)
        *why = STK_REFRESH_OK;
    if (s == NULL || out == NULL)
        return STK_EINVAL;
    if ((rc = stk_jwt_verify(key, token, len, STK_JWT_REFRESH, now, &c, jwt_why)) != 0)
        return rc;
    if ((rc = s->ops->take(s, c.jti, &c.sub, now, why)) != 0)
        return rc;
    return stk_refresh_login(s, key, &c.sub, now, out);
}

int stk_refresh_logout(stk_refresh_store_t *s, const stk_jwt_key_t *key, const char *token,
                       size_t len, int64_t now, stk_jwt_reason_t *jwt_why)
{
    stk_jwt_claims_t c;
    int rc;
    if (jwt_why != NULL)
        *jwt_why = STK_JWT_OK;
    if (s == NULL)
        return STK_EINVAL;
    if ((rc = stk_jwt_verify(key, token, len, STK_JWT_REFRESH, now, &c, jwt_why)) != 0)
        return rc;
    return s->ops->revoke(s, c.jti, now);
}

const char *stk_refresh_reason_message(stk_refresh_reason_t why)
{
    switch (why) {
#define STK_REFRESH_REASON_MSG(name, msg)                                                          \
    case STK_REFRESH_##name:                                                                       \
        return msg;
        STK_REFRESH_REASON_MAP(STK_REFRESH_REASON_MSG)
#undef STK_REFRESH_REASON_MSG
    }
    return "unknown refresh problem";
}

const char *stk_refresh_reason_name(stk_refresh_reason_t why)
{
    switch (why) {
#define STK_REFRESH_REASON_NAME(name, msg)                                                         \
    case STK_REFRESH_##name:                                                                       \
        return #name;
        STK_REFRESH_REASON_MAP(STK_REFRESH_REASON_NAME)
#undef STK_REFRESH_REASON_NAME
    }
    return "UNKNOWN";
}
