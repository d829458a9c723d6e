/* tests/net/test_auth_refresh.c — the refresh-token store and the login / refresh / logout
 * flows: rotation, replay after rotation (revokes the family), replay after logout,
 * revocation per user, wrong token types, tampered and unknown tokens, expiry, the per-user
 * cap, the table-full policy (sweep, tombstone drop, then STK_EFULL) and a bulk run. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "net/auth_jwt.h"
#include "net/auth_refresh.h"

#define T0 1700000000

static stk_jwt_key_t KEY;
static stk_refresh_store_t *S;

static stk_uuid_t user(uint8_t n)
{
    stk_uuid_t u;
    memset(&u, 0, sizeof u);
    u.b[0] = n;
    u.b[6] = 0x40;
    u.b[8] = 0x80;
    return u;
}

static void setup(void)
{
    cr_assert_eq(stk_jwt_key_generate(&KEY), 0);
    cr_assert_eq(stk_refresh_mem_create(&S, NULL), 0);
}

static void teardown(void)
{
    stk_refresh_store_destroy(S);
    S = NULL;
}

TestSuite(auth_refresh, .init = setup, .fini = teardown);

static void jti(uint8_t out[STK_JWT_JTI_LEN], unsigned n)
{
    memset(out, 0, STK_JWT_JTI_LEN);
    memcpy(out, &n, sizeof n);
}

static int rotate(const char *tok, int64_t now, stk_token_pair_t *out, stk_jwt_reason_t *jw,
                  stk_refresh_reason_t *rw)
{
    return stk_refresh_rotate(S, &KEY, tok, strlen(tok), now, out, jw, rw);
}

Test(auth_refresh, login_issues_an_access_and_a_refresh_token)
{
    stk_uuid_t u = user(1);
    stk_token_pair_t p;
    stk_jwt_claims_t c;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &p), 0);
    cr_assert_eq(stk_jwt_verify(&KEY, p.access, strlen(p.access), STK_JWT_ACCESS, T0, &c, NULL), 0);
    cr_assert_eq(memcmp(&c.sub, &u, sizeof u), 0);
    cr_assert_eq(stk_jwt_verify(&KEY, p.refresh, strlen(p.refresh), STK_JWT_REFRESH, T0, &c, NULL),
                 0);
    cr_assert_eq(memcmp(c.jti, p.refresh_claims.jti, STK_JWT_JTI_LEN), 0);
    cr_assert_eq(stk_refresh_mem_count(S), 1);
}

Test(auth_refresh, refresh_rotates_and_the_new_token_works)
{
    stk_uuid_t u = user(1);
    stk_token_pair_t a, b, c;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &a), 0);
    cr_assert_eq(rotate(a.refresh, T0 + 60, &b, &jw, &rw), 0);
    cr_assert_eq(jw, STK_JWT_OK);
    cr_assert_eq(rw, STK_REFRESH_OK);
    cr_assert_str_neq(a.refresh, b.refresh);
    cr_assert_eq(memcmp(&b.refresh_claims.sub, &u, sizeof u), 0);
    cr_assert_eq(b.refresh_claims.iat, T0 + 60);
    cr_assert_eq(rotate(b.refresh, T0 + 120, &c, &jw, &rw), 0);
}

Test(auth_refresh, replay_after_rotation_is_refused_and_revokes_the_family)
{
    stk_uuid_t u = user(1), other = user(2);
    stk_token_pair_t a, b, c, o, d;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &a), 0);
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &c), 0); /* a second device */
    cr_assert_eq(stk_refresh_login(S, &KEY, &other, T0, &o), 0);
    cr_assert_eq(rotate(a.refresh, T0 + 1, &b, &jw, &rw), 0);
    /* The stolen copy of a is replayed. */
    cr_assert_eq(rotate(a.refresh, T0 + 2, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(jw, STK_JWT_OK);
    cr_assert_eq(rw, STK_REFRESH_REUSED);
    /* Every live token of the user is gone: the legitimate successor and the other device. */
    cr_assert_eq(rotate(b.refresh, T0 + 3, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_REVOKED);
    cr_assert_eq(rotate(c.refresh, T0 + 3, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_REVOKED);
    /* Other users are untouched. */
    cr_assert_eq(rotate(o.refresh, T0 + 3, &d, &jw, &rw), 0);
    /* A new login works again. */
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0 + 4, &d), 0);
}

Test(auth_refresh, replay_after_logout_is_refused)
{
    stk_uuid_t u = user(1);
    stk_token_pair_t a, b, d;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &a), 0);
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &b), 0);
    cr_assert_eq(stk_refresh_logout(S, &KEY, a.refresh, strlen(a.refresh), T0 + 5, &jw), 0);
    cr_assert_eq(rotate(a.refresh, T0 + 6, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_REVOKED);
    /* Logging out again is harmless; the other device stays logged in. */
    cr_assert_eq(stk_refresh_logout(S, &KEY, a.refresh, strlen(a.refresh), T0 + 7, &jw), 0);
    cr_assert_eq(rotate(b.refresh, T0 + 8, &d, &jw, &rw), 0);
}

Test(auth_refresh, logout_refuses_access_tokens_and_unknown_tokens)
{
    stk_uuid_t u = user(1);
    stk_token_pair_t a;
    stk_jwt_reason_t jw;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &a), 0);
    cr_assert_eq(stk_refresh_logout(S, &KEY, a.access, strlen(a.access), T0, &jw), STK_EPERM);
    cr_assert_eq(jw, STK_JWT_TYP);
    stk_jwt_claims_t c;
    char tok[STK_JWT_BUF];
    cr_assert_eq(stk_jwt_claims_new(&c, &u, STK_JWT_REFRESH, T0), 0);
    cr_assert_eq(stk_jwt_sign(&KEY, &c, tok, sizeof tok, NULL), 0);
    cr_assert_eq(stk_refresh_logout(S, &KEY, tok, strlen(tok), T0, &jw), STK_ENOTFOUND);
}

Test(auth_refresh, access_token_cannot_refresh)
{
    stk_uuid_t u = user(1);
    stk_token_pair_t a, d;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &a), 0);
    cr_assert_eq(rotate(a.access, T0, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(jw, STK_JWT_TYP);
    cr_assert_eq(rw, STK_REFRESH_OK);
    /* The refresh token was not consumed by the failed attempt. */
    cr_assert_eq(rotate(a.refresh, T0, &d, &jw, &rw), 0);
}

Test(auth_refresh, tampered_refresh_token_is_refused_without_consuming)
{
    stk_uuid_t u = user(1);
    stk_token_pair_t a, d;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &a), 0);
    char t[STK_JWT_BUF];
    strcpy(t, a.refresh);
    size_t mid = strlen(t) - 10;
    t[mid] = t[mid] == 'A' ? 'B' : 'A';
    cr_assert_eq(rotate(t, T0, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(jw, STK_JWT_SIGNATURE);
    cr_assert_eq(rotate(a.refresh, T0, &d, &jw, &rw), 0);
}

Test(auth_refresh, validly_signed_but_never_stored_token_is_unknown)
{
    stk_uuid_t u = user(1);
    stk_jwt_claims_t c;
    char tok[STK_JWT_BUF];
    stk_token_pair_t d;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_jwt_claims_new(&c, &u, STK_JWT_REFRESH, T0), 0);
    cr_assert_eq(stk_jwt_sign(&KEY, &c, tok, sizeof tok, NULL), 0);
    cr_assert_eq(rotate(tok, T0, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(jw, STK_JWT_OK);
    cr_assert_eq(rw, STK_REFRESH_UNKNOWN);
}

Test(auth_refresh, expired_refresh_token_is_refused)
{
    stk_uuid_t u = user(1);
    stk_token_pair_t a, d;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_refresh_login(S, &KEY, &u, T0, &a), 0);
    cr_assert_eq(rotate(a.refresh, T0 + STK_JWT_REFRESH_TTL_S, &d, &jw, &rw), STK_EPERM);
    cr_assert_eq(jw, STK_JWT_EXPIRED);
    /* The store itself also refuses an entry past its expiry. */
    uint8_t j[STK_JWT_JTI_LEN];
    jti(j, 77);
    cr_assert_eq(stk_refresh_store_put(S, j, &u, T0 + 10, T0), 0);
    cr_assert_eq(stk_refresh_store_take(S, j, &u, T0 + 10, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_EXPIRED);
}

Test(auth_refresh, token_of_another_user_is_refused)
{
    stk_uuid_t a = user(1), b = user(2);
    uint8_t j[STK_JWT_JTI_LEN];
    stk_refresh_reason_t rw;
    jti(j, 1);
    cr_assert_eq(stk_refresh_store_put(S, j, &a, T0 + 100, T0), 0);
    cr_assert_eq(stk_refresh_store_take(S, j, &b, T0, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_WRONG_USER);
    cr_assert_eq(stk_refresh_store_take(S, j, &a, T0, &rw), 0);
}

Test(auth_refresh, put_refuses_duplicates_and_past_expiry)
{
    stk_uuid_t a = user(1);
    uint8_t j[STK_JWT_JTI_LEN];
    jti(j, 1);
    cr_assert_eq(stk_refresh_store_put(S, j, &a, T0 + 100, T0), 0);
    cr_assert_eq(stk_refresh_store_put(S, j, &a, T0 + 100, T0), STK_EEXIST);
    jti(j, 2);
    cr_assert_eq(stk_refresh_store_put(S, j, &a, T0, T0), STK_EINVAL);
    cr_assert_eq(stk_refresh_store_put(S, NULL, &a, T0 + 1, T0), STK_EINVAL);
}

Test(auth_refresh, revoke_user_revokes_only_that_user)
{
    stk_uuid_t a = user(1), b = user(2);
    uint8_t ja[STK_JWT_JTI_LEN], jb[STK_JWT_JTI_LEN];
    stk_refresh_reason_t rw;
    jti(ja, 1);
    jti(jb, 2);
    cr_assert_eq(stk_refresh_store_put(S, ja, &a, T0 + 100, T0), 0);
    cr_assert_eq(stk_refresh_store_put(S, jb, &b, T0 + 100, T0), 0);
    cr_assert_eq(stk_refresh_store_revoke_user(S, &a, T0), 0);
    cr_assert_eq(stk_refresh_store_take(S, ja, &a, T0, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_REVOKED);
    cr_assert_eq(stk_refresh_store_take(S, jb, &b, T0, &rw), 0);
    cr_assert_eq(stk_refresh_store_revoke(S, ja, T0), 0);
    jti(ja, 99);
    cr_assert_eq(stk_refresh_store_revoke(S, ja, T0), STK_ENOTFOUND);
}

Test(auth_refresh, per_user_cap_revokes_the_oldest_session)
{
    stk_refresh_store_t *s;
    stk_refresh_mem_opts_t o = {.max_tokens = 64, .max_per_user = 3};
    cr_assert_eq(stk_refresh_mem_create(&s, &o), 0);
    stk_uuid_t a = user(1);
    uint8_t j[4][STK_JWT_JTI_LEN];
    stk_refresh_reason_t rw;
    for (unsigned i = 0; i < 4; i++) {
        jti(j[i], i + 1);
        cr_assert_eq(stk_refresh_store_put(s, j[i], &a, T0 + 100 + i, T0 + i), 0);
    }
    cr_assert_eq(stk_refresh_store_take(s, j[0], &a, T0 + 5, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_REVOKED);
    for (unsigned i = 1; i < 4; i++)
        cr_assert_eq(stk_refresh_store_take(s, j[i], &a, T0 + 5, &rw), 0, "token %u", i);
    stk_refresh_store_destroy(s);
}

Test(auth_refresh, per_user_cap_counts_rotations_and_expiry_exactly)
{
    stk_refresh_store_t *s;
    stk_refresh_mem_opts_t o = {.max_tokens = 256, .max_per_user = 3};
    cr_assert_eq(stk_refresh_mem_create(&s, &o), 0);
    stk_uuid_t a = user(1);
    stk_token_pair_t p1, p2, p3, next, p4;
    stk_jwt_reason_t jw;
    stk_refresh_reason_t rw;
    cr_assert_eq(stk_refresh_login(s, &KEY, &a, T0, &p1), 0);
    cr_assert_eq(stk_refresh_login(s, &KEY, &a, T0 + 1, &p2), 0);
    cr_assert_eq(stk_refresh_login(s, &KEY, &a, T0 + 2, &p3), 0);
    /* Fifty rotations of the first device keep the user at three live tokens. */
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(stk_refresh_rotate(s, &KEY, p1.refresh, strlen(p1.refresh), T0 + 10 + i, &next,
                                        &jw, &rw),
                     0, "rotation %d", i);
        p1 = next;
    }
    /* A fourth login revokes exactly the oldest live one (p2), not p3 nor p1's successor. */
    cr_assert_eq(stk_refresh_login(s, &KEY, &a, T0 + 100, &p4), 0);
    cr_assert_eq(
        stk_refresh_rotate(s, &KEY, p2.refresh, strlen(p2.refresh), T0 + 101, &next, &jw, &rw),
        STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_REVOKED);
    cr_assert_eq(
        stk_refresh_rotate(s, &KEY, p3.refresh, strlen(p3.refresh), T0 + 101, &next, &jw, &rw), 0);
    cr_assert_eq(
        stk_refresh_rotate(s, &KEY, p1.refresh, strlen(p1.refresh), T0 + 101, &next, &jw, &rw), 0);
    cr_assert_eq(
        stk_refresh_rotate(s, &KEY, p4.refresh, strlen(p4.refresh), T0 + 101, &next, &jw, &rw), 0);
    stk_refresh_store_destroy(s);
}

Test(auth_refresh, expired_sessions_do_not_count_against_the_cap)
{
    stk_refresh_store_t *s;
    stk_refresh_mem_opts_t o = {.max_tokens = 64, .max_per_user = 2};
    cr_assert_eq(stk_refresh_mem_create(&s, &o), 0);
    stk_uuid_t a = user(1);
    uint8_t j[5][STK_JWT_JTI_LEN];
    stk_refresh_reason_t rw;
    for (unsigned i = 0; i < 5; i++)
        jti(j[i], i + 1);
    cr_assert_eq(stk_refresh_store_put(s, j[0], &a, T0 + 10, T0), 0);
    cr_assert_eq(stk_refresh_store_put(s, j[1], &a, T0 + 10, T0), 0);
    /* Both expired: two new ones fit without revoking each other. */
    cr_assert_eq(stk_refresh_store_put(s, j[2], &a, T0 + 1000, T0 + 20), 0);
    cr_assert_eq(stk_refresh_store_put(s, j[3], &a, T0 + 1001, T0 + 21), 0);
    cr_assert_eq(stk_refresh_store_take(s, j[2], &a, T0 + 22, &rw), 0);
    cr_assert_eq(stk_refresh_store_take(s, j[3], &a, T0 + 22, &rw), 0);
    stk_refresh_store_destroy(s);
}

Test(auth_refresh, full_store_sweeps_expired_then_tombstones_then_fails_closed)
{
    stk_refresh_store_t *s;
    stk_refresh_mem_opts_t o = {.max_tokens = 4, .max_per_user = 4};
    cr_assert_eq(stk_refresh_mem_create(&s, &o), 0);
    uint8_t j[8][STK_JWT_JTI_LEN];
    stk_uuid_t u[8];
    stk_refresh_reason_t rw;
    for (unsigned i = 0; i < 8; i++) {
        jti(j[i], i + 1);
        u[i] = user((uint8_t)(i + 1));
    }
    /* Four live tokens, one expiring early. */
    cr_assert_eq(stk_refresh_store_put(s, j[0], &u[0], T0 + 10, T0), 0);
    for (unsigned i = 1; i < 4; i++)
        cr_assert_eq(stk_refresh_store_put(s, j[i], &u[i], T0 + 1000, T0), 0);
    cr_assert_eq(stk_refresh_mem_count(s), 4);
    /* Full of live tokens: refused. */
    cr_assert_eq(stk_refresh_store_put(s, j[4], &u[4], T0 + 1000, T0 + 5), STK_EFULL);
    /* Once one has expired, it is swept to make room. */
    cr_assert_eq(stk_refresh_store_put(s, j[4], &u[4], T0 + 1000, T0 + 10), 0);
    cr_assert_eq(stk_refresh_mem_count(s), 4);
    /* A used token is a tombstone: dropped when room is needed. */
    cr_assert_eq(stk_refresh_store_take(s, j[1], &u[1], T0 + 11, &rw), 0);
    cr_assert_eq(stk_refresh_store_put(s, j[5], &u[5], T0 + 1000, T0 + 12), 0);
    /* Its replay is then unknown — still refused. */
    cr_assert_eq(stk_refresh_store_take(s, j[1], &u[1], T0 + 13, &rw), STK_EPERM);
    cr_assert_eq(rw, STK_REFRESH_UNKNOWN);
    /* All surviving live tokens still work. */
    cr_assert_eq(stk_refresh_store_take(s, j[2], &u[2], T0 + 13, &rw), 0);
    cr_assert_eq(stk_refresh_store_take(s, j[3], &u[3], T0 + 13, &rw), 0);
    cr_assert_eq(stk_refresh_store_take(s, j[4], &u[4], T0 + 13, &rw), 0);
    cr_assert_eq(stk_refresh_store_take(s, j[5], &u[5], T0 + 13, &rw), 0);
    stk_refresh_store_destroy(s);
}

Test(auth_refresh, thousands_of_tokens_rotate_and_replays_are_caught)
{
    stk_refresh_store_t *s;
    stk_refresh_mem_opts_t o = {.max_tokens = 8192, .max_per_user = 4};
    cr_assert_eq(stk_refresh_mem_create(&s, &o), 0);
    enum { N = 5000 };
    stk_refresh_reason_t rw;
    for (unsigned i = 0; i < N; i++) {
        uint8_t j[STK_JWT_JTI_LEN];
        stk_uuid_t u = user((uint8_t)i);
        u.b[1] = (uint8_t)(i >> 8);
        jti(j, i);
        cr_assert_eq(stk_refresh_store_put(s, j, &u, T0 + 1000, T0), 0, "put %u", i);
    }
    cr_assert_eq(stk_refresh_mem_count(s), N);
    for (unsigned i = 0; i < N; i++) {
        uint8_t j[STK_JWT_JTI_LEN];
        stk_uuid_t u = user((uint8_t)i);
        u.b[1] = (uint8_t)(i >> 8);
        jti(j, i);
        cr_assert_eq(stk_refresh_store_take(s, j, &u, T0 + 1, &rw), 0, "take %u", i);
        cr_assert_eq(stk_refresh_store_take(s, j, &u, T0 + 1, &rw), STK_EPERM);
        cr_assert_eq(rw, STK_REFRESH_REUSED);
    }
    stk_refresh_store_destroy(s);
}

Test(auth_refresh, create_refuses_oversized_tables)
{
    stk_refresh_store_t *s = NULL;
    stk_refresh_mem_opts_t o = {.max_tokens = STK_REFRESH_MEM_MAX_LIMIT + 1};
    cr_assert_eq(stk_refresh_mem_create(&s, &o), STK_EINVAL);
    cr_assert_null(s);
    cr_assert_eq(stk_refresh_store_put(NULL, NULL, NULL, 0, 0), STK_EINVAL);
    stk_refresh_store_destroy(NULL);
}

Test(auth_refresh, reasons_have_names_and_messages)
{
    cr_assert_str_eq(stk_refresh_reason_name(STK_REFRESH_REUSED), "REUSED");
    cr_assert_str_eq(stk_refresh_reason_message(STK_REFRESH_REVOKED), "refresh token was revoked");
}
