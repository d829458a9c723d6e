/* tests/net/test_auth_jwt.c — HS256 JWT: round trip, interoperability (RFC 7515 A.1), and
 * hostile tokens: tampered segments, alg none / HS512 / RS256 / duplicated alg, extra header
 * fields, expired, issued in the future, wrong typ, every truncation, oversized, bad
 * base64, non-JSON and malformed claims, wrong key. Forged tokens are built here with
 * libsodium directly so that they carry valid signatures where the test needs one. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/auth_jwt.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define T0  1700000000 /* a fixed "now" */

static stk_jwt_key_t KEY;
static stk_uuid_t USER;

static void setup(void)
{
    cr_assert_eq(sodium_init() >= 0, 1);
    uint8_t secret[32];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(i * 7 + 1);
    cr_assert_eq(stk_jwt_key_set(&KEY, secret, sizeof secret), 0);
    cr_assert_eq(stk_uuid_parse("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", &USER), 0);
}

TestSuite(auth_jwt, .init = setup);

static void b64(char *out, size_t cap, const void *bin, size_t len)
{
    cr_assert_geq(cap, sodium_base64_ENCODED_LEN(len, B64));
    sodium_bin2base64(out, cap, bin, len, B64);
}

enum sig { SIG_HS256, SIG_HS512, SIG_NONE, SIG_GARBAGE };

/* A token of the given header and payload texts, signed per sig with the bytes of KEY.
 * Returns a static buffer. */
static const char *forge(const char *header, const char *payload, enum sig sig)
{
    static char tok[16384];
    char h[4096], p[8192], s[256] = "";
    b64(h, sizeof h, header, strlen(header));
    b64(p, sizeof p, payload, strlen(payload));
    char signing[16384];
    snprintf(signing, sizeof signing, "%s.%s", h, p);
    if (sig == SIG_HS256) {
        uint8_t mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, KEY.bytes, KEY.len);
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)signing, strlen(signing));
        crypto_auth_hmacsha256_final(&st, mac);
        b64(s, sizeof s, mac, sizeof mac);
    } else if (sig == SIG_HS512) {
        uint8_t mac[crypto_auth_hmacsha512_BYTES];
        crypto_auth_hmacsha512_state st;
        crypto_auth_hmacsha512_init(&st, KEY.bytes, KEY.len);
        crypto_auth_hmacsha512_update(&st, (const uint8_t *)signing, strlen(signing));
        crypto_auth_hmacsha512_final(&st, mac);
        b64(s, sizeof s, mac, sizeof mac);
    } else if (sig == SIG_GARBAGE) {
        strcpy(s, "c2lnbmF0dXJl");
    }
    snprintf(tok, sizeof tok, "%s.%s", signing, s);
    return tok;
}

static const char *HDR = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* A payload text with our five claims; typ and times as given. */
static const char *claims_json(const char *typ, long long iat, long long exp)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":%lld,\"exp\":%lld,"
             "\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"%s\"}",
             iat, exp, typ);
    return buf;
}

static stk_jwt_reason_t verify(const char *tok, stk_jwt_typ_t want, int64_t now)
{
    stk_jwt_reason_t why = (stk_jwt_reason_t)-1;
    int rc = stk_jwt_verify(&KEY, tok, strlen(tok), want, now, NULL, &why);
    cr_assert_eq(rc == 0, why == STK_JWT_OK, "rc %d why %d", rc, why);
    if (rc != 0)
        cr_assert_eq(rc, STK_EPERM);
    return why;
}

static void issue(char tok[STK_JWT_BUF], stk_jwt_typ_t typ, int64_t now, stk_jwt_claims_t *c)
{
    stk_jwt_claims_t tmp;
    if (c == NULL)
        c = &tmp;
    cr_assert_eq(stk_jwt_claims_new(c, &USER, typ, now), 0);
    size_t len = 0;
    cr_assert_eq(stk_jwt_sign(&KEY, c, tok, STK_JWT_BUF, &len), 0);
    cr_assert_eq(len, strlen(tok));
}

Test(auth_jwt, signed_access_token_verifies_with_its_claims)
{
    char tok[STK_JWT_BUF];
    stk_jwt_claims_t in, out;
    issue(tok, STK_JWT_ACCESS, T0, &in);
    cr_assert_eq(in.exp - in.iat, STK_JWT_ACCESS_TTL_S);
    stk_jwt_reason_t why;
    cr_assert_eq(stk_jwt_verify(&KEY, tok, strlen(tok), STK_JWT_ACCESS, T0 + 1, &out, &why), 0);
    cr_assert_eq(why, STK_JWT_OK);
    cr_assert_eq(memcmp(&out.sub, &USER, sizeof USER), 0);
    cr_assert_eq(out.iat, T0);
    cr_assert_eq(out.exp, T0 + 15 * 60);
    cr_assert_eq(memcmp(out.jti, in.jti, STK_JWT_JTI_LEN), 0);
    cr_assert_eq(out.typ, STK_JWT_ACCESS);
}

Test(auth_jwt, refresh_token_lives_seven_days)
{
    char tok[STK_JWT_BUF];
    stk_jwt_claims_t c;
    issue(tok, STK_JWT_REFRESH, T0, &c);
    cr_assert_eq(c.exp, T0 + 7 * 24 * 3600);
    cr_assert_eq(verify(tok, STK_JWT_REFRESH, T0 + 7 * 24 * 3600 - 1), STK_JWT_OK);
    cr_assert_eq(verify(tok, STK_JWT_REFRESH, T0 + 7 * 24 * 3600), STK_JWT_EXPIRED);
}

Test(auth_jwt, header_is_the_canonical_hs256_header)
{
    char tok[STK_JWT_BUF];
    issue(tok, STK_JWT_ACCESS, T0, NULL);
    cr_assert_eq(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0, "%s", tok);
}

Test(auth_jwt, each_token_has_a_fresh_jti)
{
    stk_jwt_claims_t a, b;
    cr_assert_eq(stk_jwt_claims_new(&a, &USER, STK_JWT_ACCESS, T0), 0);
    cr_assert_eq(stk_jwt_claims_new(&b, &USER, STK_JWT_ACCESS, T0), 0);
    cr_assert_neq(memcmp(a.jti, b.jti, STK_JWT_JTI_LEN), 0);
}

Test(auth_jwt, rfc7515_example_signature_checks_out_then_claims_are_refused)
{
    /* RFC 7515 appendix A.1: an HS256 JWS from another implementation. Its signature must
     * verify (HMAC and base64url interoperate); its claims are not ours. */
    static const char k[] =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    static const char tok[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    uint8_t secret[64];
    size_t n = 0;
    cr_assert_eq(sodium_base642bin(secret, sizeof secret, k, strlen(k), NULL, &n, NULL, B64), 0);
    cr_assert_eq(n, 64);
    stk_jwt_key_t rfc;
    cr_assert_eq(stk_jwt_key_set(&rfc, secret, n), 0);
    stk_jwt_reason_t why;
    cr_assert_eq(stk_jwt_verify(&rfc, tok, strlen(tok), STK_JWT_ACCESS, 1300819000, NULL, &why),
                 STK_EPERM);
    cr_assert_eq(why, STK_JWT_CLAIMS, "%s", stk_jwt_reason_name(why));
    /* The same token under our key: the signature is what fails. */
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, 1300819000), STK_JWT_SIGNATURE);
}

Test(auth_jwt, forged_token_with_valid_signature_verifies)
{
    /* Guards the forging helper used below: a well-formed forgery under KEY passes. */
    cr_assert_eq(
        verify(forge(HDR, claims_json("access", T0, T0 + 900), SIG_HS256), STK_JWT_ACCESS, T0),
        STK_JWT_OK);
}

Test(auth_jwt, one_flipped_char_in_any_segment_is_refused)
{
    char tok[STK_JWT_BUF];
    issue(tok, STK_JWT_ACCESS, T0, NULL);
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    size_t at[3] = {(size_t)(d1 - tok) / 2, (size_t)(d1 - tok) + (size_t)(d2 - d1) / 2,
                    (size_t)(d2 - tok) + strlen(d2) / 2};
    for (int s = 0; s < 3; s++) {
        char t[STK_JWT_BUF];
        strcpy(t, tok);
        t[at[s]] = t[at[s]] == 'A' ? 'B' : 'A';
        stk_jwt_reason_t why = verify(t, STK_JWT_ACCESS, T0);
        cr_assert_neq(why, STK_JWT_OK, "segment %d", s);
        if (s > 0)
            cr_assert_eq(why, STK_JWT_SIGNATURE, "segment %d: %s", s, stk_jwt_reason_name(why));
    }
}

Test(auth_jwt, every_single_char_change_is_refused)
{
    char tok[STK_JWT_BUF];
    issue(tok, STK_JWT_ACCESS, T0, NULL);
    size_t n = strlen(tok);
    for (size_t i = 0; i < n; i++) {
        char t[STK_JWT_BUF];
        strcpy(t, tok);
        t[i] = t[i] == 'x' ? 'y' : 'x';
        cr_assert_neq(verify(t, STK_JWT_ACCESS, T0), STK_JWT_OK, "position %zu", i);
    }
}

Test(auth_jwt, alg_none_is_refused_with_or_without_signature)
{
    const char *p = claims_json("access", T0, T0 + 900);
    cr_assert_eq(
        verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, SIG_NONE), STK_JWT_ACCESS, T0),
        STK_JWT_SEGMENTS);
    cr_assert_eq(
        verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
        STK_JWT_ALG);
    cr_assert_eq(verify(forge("{\"alg\":\"none\"}", p, SIG_GARBAGE), STK_JWT_ACCESS, T0),
                 STK_JWT_ALG);
    cr_assert_eq(verify(forge("{\"alg\":\"None\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
                 STK_JWT_ALG);
}

Test(auth_jwt, other_algorithms_are_refused)
{
    const char *p = claims_json("access", T0, T0 + 900);
    cr_assert_eq(
        verify(forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", p, SIG_HS512), STK_JWT_ACCESS, T0),
        STK_JWT_ALG);
    cr_assert_eq(
        verify(forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
        STK_JWT_ALG);
    cr_assert_eq(verify(forge("{\"alg\":\"hs256\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
                 STK_JWT_ALG);
    cr_assert_eq(verify(forge("{\"alg\":256}", p, SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_ALG);
    cr_assert_eq(verify(forge("{\"alg\":null}", p, SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_ALG);
}

Test(auth_jwt, malformed_headers_are_refused)
{
    const char *p = claims_json("access", T0, T0 + 900);
    /* A second alg must not override the first (or vice versa). */
    cr_assert_eq(
        verify(forge("{\"alg\":\"HS256\",\"alg\":\"none\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
        STK_JWT_HEADER);
    cr_assert_eq(verify(forge("{\"typ\":\"JWT\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
                 STK_JWT_HEADER);
    cr_assert_eq(
        verify(forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", p, SIG_HS256), STK_JWT_ACCESS, T0),
        STK_JWT_HEADER);
    cr_assert_eq(verify(forge("{\"alg\":\"HS256\",\"kid\":\"../../etc/passwd\"}", p, SIG_HS256),
                        STK_JWT_ACCESS, T0),
                 STK_JWT_HEADER);
    cr_assert_eq(
        verify(forge("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
        STK_JWT_HEADER);
    cr_assert_eq(verify(forge("[\"HS256\"]", p, SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_HEADER);
    cr_assert_eq(verify(forge("not json", p, SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_HEADER);
    cr_assert_eq(verify(forge("{\"alg\":\"HS256\"} x", p, SIG_HS256), STK_JWT_ACCESS, T0),
                 STK_JWT_HEADER);
    /* Header without typ is allowed (RFC 7519 makes typ optional). */
    cr_assert_eq(verify(forge("{\"alg\":\"HS256\"}", p, SIG_HS256), STK_JWT_ACCESS, T0),
                 STK_JWT_OK);
}

Test(auth_jwt, expired_token_is_refused_at_exp_not_before)
{
    char tok[STK_JWT_BUF];
    issue(tok, STK_JWT_ACCESS, T0, NULL);
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, T0 + 15 * 60 - 1), STK_JWT_OK);
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, T0 + 15 * 60), STK_JWT_EXPIRED);
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, T0 + 365 * 24 * 3600), STK_JWT_EXPIRED);
}

Test(auth_jwt, token_issued_far_in_the_future_is_refused)
{
    char tok[STK_JWT_BUF];
    issue(tok, STK_JWT_ACCESS, T0, NULL);
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, T0 - STK_JWT_SKEW_S), STK_JWT_OK);
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, T0 - STK_JWT_SKEW_S - 1), STK_JWT_FUTURE);
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, 0), STK_JWT_FUTURE);
}

Test(auth_jwt, refresh_token_is_not_an_access_token_and_back)
{
    char r[STK_JWT_BUF], a[STK_JWT_BUF];
    issue(r, STK_JWT_REFRESH, T0, NULL);
    issue(a, STK_JWT_ACCESS, T0, NULL);
    cr_assert_eq(verify(r, STK_JWT_ACCESS, T0), STK_JWT_TYP);
    cr_assert_eq(verify(a, STK_JWT_REFRESH, T0), STK_JWT_TYP);
}

Test(auth_jwt, every_truncation_is_refused)
{
    char tok[STK_JWT_BUF];
    issue(tok, STK_JWT_ACCESS, T0, NULL);
    size_t n = strlen(tok);
    for (size_t len = 0; len < n; len++) {
        stk_jwt_reason_t why = STK_JWT_OK;
        cr_assert_eq(stk_jwt_verify(&KEY, tok, len, STK_JWT_ACCESS, T0, NULL, &why), STK_EPERM,
                     "length %zu", len);
        cr_assert_neq(why, STK_JWT_OK);
    }
    /* And a token with bytes appended. */
    char t[STK_JWT_BUF + 8];
    snprintf(t, sizeof t, "%s.", tok);
    cr_assert_eq(verify(t, STK_JWT_ACCESS, T0), STK_JWT_SEGMENTS);
    snprintf(t, sizeof t, "%sA", tok);
    cr_assert_neq(verify(t, STK_JWT_ACCESS, T0), STK_JWT_OK);
}

Test(auth_jwt, oversized_token_is_refused_before_parsing)
{
    size_t n = STK_JWT_MAX + 1;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    memset(big, 'A', n);
    big[n] = '\0';
    big[10] = '.';
    big[20] = '.';
    cr_assert_eq(verify(big, STK_JWT_ACCESS, T0), STK_JWT_TOO_BIG);
    big[STK_JWT_MAX] = '\0'; /* exactly the limit: parsed, then refused for what it is */
    cr_assert_neq(verify(big, STK_JWT_ACCESS, T0), STK_JWT_TOO_BIG);
    free(big);
    /* A huge but validly signed payload is refused for its size too. */
    char pad[5000];
    memset(pad, 'z', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    char payload[6000];
    snprintf(payload, sizeof payload, "{\"pad\":\"%s\"}", pad);
    cr_assert_eq(verify(forge(HDR, payload, SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_TOO_BIG);
}

Test(auth_jwt, wrong_segment_counts_are_refused)
{
    const char *bad[] = {"", ".", "..", "...", "abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(verify(bad[i], STK_JWT_ACCESS, T0), STK_JWT_SEGMENTS, "'%s'", bad[i]);
}

Test(auth_jwt, non_base64url_characters_are_refused)
{
    char tok[STK_JWT_BUF];
    issue(tok, STK_JWT_ACCESS, T0, NULL);
    const char *d2 = strrchr(tok, '.');
    char t[STK_JWT_BUF + 4];
    /* Standard-alphabet and padding characters in the signature. */
    strcpy(t, tok);
    t[(size_t)(d2 - tok) + 3] = '+';
    cr_assert_eq(verify(t, STK_JWT_ACCESS, T0), STK_JWT_BASE64);
    snprintf(t, sizeof t, "%s=", tok);
    cr_assert_eq(verify(t, STK_JWT_ACCESS, T0), STK_JWT_BASE64);
    /* A NUL or a space inside the header. */
    strcpy(t, tok);
    t[3] = ' ';
    cr_assert_eq(verify(t, STK_JWT_ACCESS, T0), STK_JWT_BASE64);
    strcpy(t, tok);
    t[3] = '\0';
    stk_jwt_reason_t why;
    cr_assert_eq(stk_jwt_verify(&KEY, t, strlen(tok), STK_JWT_ACCESS, T0, NULL, &why), STK_EPERM);
    cr_assert_eq(why, STK_JWT_BASE64);
}

Test(auth_jwt, signature_of_wrong_length_is_refused)
{
    cr_assert_eq(
        verify(forge(HDR, claims_json("access", T0, T0 + 900), SIG_GARBAGE), STK_JWT_ACCESS, T0),
        STK_JWT_SIGNATURE);
    cr_assert_eq(
        verify(forge(HDR, claims_json("access", T0, T0 + 900), SIG_HS512), STK_JWT_ACCESS, T0),
        STK_JWT_SIGNATURE);
}

Test(auth_jwt, non_json_payload_with_valid_signature_is_refused)
{
    cr_assert_eq(verify(forge(HDR, "hello", SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_PAYLOAD);
    cr_assert_eq(verify(forge(HDR, "[1,2,3]", SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_PAYLOAD);
    cr_assert_eq(verify(forge(HDR, "{\"sub\":", SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_PAYLOAD);
    cr_assert_eq(verify(forge(HDR, "\"string\"", SIG_HS256), STK_JWT_ACCESS, T0), STK_JWT_PAYLOAD);
}

Test(auth_jwt, malformed_claims_with_valid_signature_are_refused)
{
    static const char *const bad[] = {
        "{}",
        /* missing jti */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1700000900,\"typ\":\"access\"}",
        /* an extra claim */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1700000900,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\",\"admin\":true}",
        /* sub not a uuid */
        "{\"sub\":\"admin\",\"iat\":1700000000,\"exp\":1700000900,"
        "\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\"}",
        /* iat a string */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":\"1700000000\","
        "\"exp\":1700000900,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\"}",
        /* exp a real */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1700000900.5,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\"}",
        /* unknown typ */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1700000900,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"admin\"}",
        /* jti of 15 bytes */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1700000900,\"jti\":\"AAECAwQFBgcICQoLDA0O\",\"typ\":\"access\"}",
        /* access token living a day */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1700086400,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\"}",
        /* exp before iat */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1699999999,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\"}",
        /* negative iat */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":-100,"
        "\"exp\":100,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\"}",
        /* duplicated sub */
        "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":1700000000,"
        "\"exp\":1700000900,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\",\"typ\":\"access\","
        "\"sub\":\"00000000-0000-4000-8000-000000000000\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stk_jwt_reason_t why = verify(forge(HDR, bad[i], SIG_HS256), STK_JWT_ACCESS, T0);
        if (i == sizeof bad / sizeof bad[0] - 1)
            cr_assert_eq(why, STK_JWT_PAYLOAD, "case %zu: %s", i, stk_jwt_reason_name(why));
        else
            cr_assert_eq(why, STK_JWT_CLAIMS, "case %zu: %s", i, stk_jwt_reason_name(why));
    }
}

Test(auth_jwt, token_signed_with_another_key_is_refused)
{
    stk_jwt_key_t other;
    cr_assert_eq(stk_jwt_key_generate(&other), 0);
    stk_jwt_claims_t c;
    char tok[STK_JWT_BUF];
    cr_assert_eq(stk_jwt_claims_new(&c, &USER, STK_JWT_ACCESS, T0), 0);
    cr_assert_eq(stk_jwt_sign(&other, &c, tok, sizeof tok, NULL), 0);
    cr_assert_eq(verify(tok, STK_JWT_ACCESS, T0), STK_JWT_SIGNATURE);
}

Test(auth_jwt, key_length_is_bounded)
{
    static uint8_t s[STK_JWT_SECRET_MAX + 1];
    stk_jwt_key_t k;
    cr_assert_eq(stk_jwt_key_set(&k, s, 31), STK_EINVAL);
    cr_assert_eq(stk_jwt_key_set(&k, s, STK_JWT_SECRET_MAX + 1), STK_EINVAL);
    cr_assert_eq(stk_jwt_key_set(&k, s, 32), 0);
    cr_assert_eq(stk_jwt_key_set(&k, s, 64), 0);
    cr_assert_eq(k.len, 64);
    cr_assert_eq(stk_jwt_key_set(&k, s, STK_JWT_SECRET_MAX), 0);
    cr_assert_eq(k.len, 32);
}

Test(auth_jwt, long_secret_signs_like_hmac_with_the_whole_secret)
{
    /* Another HS256 implementation given the 100-byte secret must accept our token. */
    uint8_t secret[100];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(255 - i);
    stk_jwt_key_t k;
    cr_assert_eq(stk_jwt_key_set(&k, secret, sizeof secret), 0);
    stk_jwt_claims_t c;
    char tok[STK_JWT_BUF];
    cr_assert_eq(stk_jwt_claims_new(&c, &USER, STK_JWT_ACCESS, T0), 0);
    cr_assert_eq(stk_jwt_sign(&k, &c, tok, sizeof tok, NULL), 0);
    const char *d2 = strrchr(tok, '.');
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, secret, sizeof secret);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)tok, (size_t)(d2 - tok));
    crypto_auth_hmacsha256_final(&st, mac);
    char sig[64];
    b64(sig, sizeof sig, mac, sizeof mac);
    cr_assert_str_eq(d2 + 1, sig);
}

Test(auth_jwt, sign_refuses_small_buffers_and_bad_claims)
{
    stk_jwt_claims_t c;
    char tok[STK_JWT_BUF];
    cr_assert_eq(stk_jwt_claims_new(&c, &USER, STK_JWT_ACCESS, T0), 0);
    cr_assert_eq(stk_jwt_sign(&KEY, &c, tok, 100, NULL), STK_ETOOBIG);
    cr_assert_eq(tok[0], '\0');
    cr_assert_eq(stk_jwt_sign(&KEY, &c, tok, 0, NULL), STK_ETOOBIG);
    c.exp = c.iat;
    cr_assert_eq(stk_jwt_sign(&KEY, &c, tok, sizeof tok, NULL), STK_EINVAL);
    c.exp = c.iat + 10;
    c.typ = (stk_jwt_typ_t)7;
    cr_assert_eq(stk_jwt_sign(&KEY, &c, tok, sizeof tok, NULL), STK_EINVAL);
    cr_assert_eq(stk_jwt_claims_new(&c, &USER, (stk_jwt_typ_t)0, T0), STK_EINVAL);
    cr_assert_eq(stk_jwt_claims_new(&c, &USER, STK_JWT_ACCESS, INT64_MAX - 5), STK_EINVAL);
}

Test(auth_jwt, verify_refuses_bad_arguments)
{
    stk_jwt_key_t weak = {.len = 3};
    cr_assert_eq(stk_jwt_verify(&weak, "a.b.c", 5, STK_JWT_ACCESS, T0, NULL, NULL), STK_EINVAL);
    cr_assert_eq(stk_jwt_verify(&KEY, NULL, 5, STK_JWT_ACCESS, T0, NULL, NULL), STK_EINVAL);
    cr_assert_eq(stk_jwt_verify(&KEY, "a.b.c", 5, (stk_jwt_typ_t)9, T0, NULL, NULL), STK_EINVAL);
}

Test(auth_jwt, reasons_have_names_and_messages)
{
    cr_assert_str_eq(stk_jwt_reason_name(STK_JWT_ALG), "ALG");
    cr_assert_str_eq(stk_jwt_reason_message(STK_JWT_EXPIRED), "token has expired");
    cr_assert_str_eq(stk_jwt_reason_name((stk_jwt_reason_t)99), "UNKNOWN");
}

static int bearer(const char *v, const char **tok, size_t *n)
{
    *tok = NULL;
    *n = 0;
    return stk_jwt_bearer(v, strlen(v), tok, n);
}

Test(auth_jwt, bearer_header_yields_the_token)
{
    const char *t;
    size_t n;
    cr_assert_eq(bearer("Bearer abc.def.ghi", &t, &n), 0);
    cr_assert_eq(n, 11);
    cr_assert_eq(strncmp(t, "abc.def.ghi", n), 0);
    cr_assert_eq(bearer("  bEaReR   abc.d-f_g~h+i/j==  \t", &t, &n), 0);
    cr_assert_eq(strncmp(t, "abc.d-f_g~h+i/j==", n), 0);
    cr_assert_eq(n, 17);
}

Test(auth_jwt, bearer_header_refuses_anything_else)
{
    const char *t;
    size_t n;
    const char *bad[] = {"",
                         "Bearer",
                         "Bearer ",
                         "Bearer    ",
                         "Bearerabc.def.ghi",
                         "Bearer\tabc.def.ghi",
                         "Basic dXNlcjpwYXNz",
                         "Token abc",
                         "Bearer abc def",
                         "Bearer abc,def",
                         "Bearer abc==def",
                         "Bearer abc\"",
                         "Bearer a\r\nX-Injected: 1",
                         "Bearer =abc",
                         "Bearer =="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(bearer(bad[i], &t, &n), STK_EINVAL, "'%s'", bad[i]);
    /* A NUL inside the value ends nothing: it is just a bad character. */
    cr_assert_eq(stk_jwt_bearer("Bearer ab\0cd", 13, &t, &n), STK_EINVAL);
    /* Oversized token. */
    static char big[STK_JWT_MAX + 16];
    memcpy(big, "Bearer ", 7);
    memset(big + 7, 'a', STK_JWT_MAX + 1);
    cr_assert_eq(stk_jwt_bearer(big, 7 + STK_JWT_MAX + 1, &t, &n), STK_ETOOBIG);
    cr_assert_eq(stk_jwt_bearer(big, 7 + STK_JWT_MAX, &t, &n), 0);
    cr_assert_eq(n, STK_JWT_MAX);
}
