/* net/auth_jwt.c — HS256 JWT signing and strict verification.
 *
 * Primitives are libsodium's: HMAC-SHA256 (crypto_auth_hmacsha256_* with the secret as the
 * HMAC key, so tokens interoperate with any JWT library given the same secret), base64url
 * without padding (sodium_bin2base64 / sodium_base642bin, which also reject non-canonical
 * trailing bits), constant-time comparison (sodium_memcmp), randombytes for jti. JSON is
 * jansson with duplicate keys refused (a second "alg" must not sneak past the first).
 */
#include "net/auth_jwt.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define B64     sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SIG_LEN crypto_auth_hmacsha256_BYTES

_Static_assert(SIG_LEN == 32, "HS256 signature size");
_Static_assert(STK_JWT_KEY_MAX == 64, "HMAC-SHA256 block size");

static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static int sodium_ready(void)
{
    return sodium_init() >= 0;
}

int stk_jwt_key_set(stk_jwt_key_t *key, const uint8_t *secret, size_t len)
{
    if (key == NULL || secret == NULL || len < STK_JWT_KEY_MIN || len > STK_JWT_SECRET_MAX)
        return STK_EINVAL;
    if (!sodium_ready())
        return STK_ECRYPTO;
    sodium_memzero(key, sizeof *key);
    if (len > STK_JWT_KEY_MAX) {
        crypto_hash_sha256(key->bytes, secret, len);
        key->len = crypto_hash_sha256_BYTES;
    } else {
        memcpy(key->bytes, secret, len);
        key->len = len;
    }
    return 0;
}

int stk_jwt_key_generate(stk_jwt_key_t *key)
{
    if (key == NULL)
        return STK_EINVAL;
    if (!sodium_ready())
        return STK_ECRYPTO;
    sodium_memzero(key, sizeof *key);
    randombytes_buf(key->bytes, 32);
    key->len = 32;
    return 0;
}

int64_t stk_jwt_ttl(stk_jwt_typ_t typ)
{
    switch (typ) {
    case STK_JWT_ACCESS:
        return STK_JWT_ACCESS_TTL_S;
    case STK_JWT_REFRESH:
        return STK_JWT_REFRESH_TTL_S;
    }
    return 0;
}

static const char *typ_name(stk_jwt_typ_t typ)
{
    return typ == STK_JWT_ACCESS ? "access" : typ == STK_JWT_REFRESH ? "refresh" : NULL;
}

int stk_jwt_claims_new(stk_jwt_claims_t *claims, const stk_uuid_t *sub, stk_jwt_typ_t typ,
                       int64_t now)
{
    int64_t ttl = stk_jwt_ttl(typ);
    if (claims == NULL || sub == NULL || ttl == 0 || now < 0 || now > INT64_MAX - ttl)
        return STK_EINVAL;
    if (!sodium_ready())
        return STK_ECRYPTO;
    memset(claims, 0, sizeof *claims);
    claims->sub = *sub;
    claims->iat = now;
    claims->exp = now + ttl;
    randombytes_buf(claims->jti, sizeof claims->jti);
    claims->typ = typ;
    return 0;
}

static int key_valid(const stk_jwt_key_t *key)
{
    return key != NULL && key->len >= STK_JWT_KEY_MIN && key->len <= STK_JWT_KEY_MAX;
}

static void hmac(const stk_jwt_key_t *key, const char *msg, size_t len, uint8_t out[SIG_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* Appends base64url(bin) and a NUL at out[*pos]; advances *pos past the text (not the NUL).
 * STK_ETOOBIG if it does not fit in cap. */
static int put_b64(char *out, size_t cap, size_t *pos, const void *bin, size_t len)
{
    size_t need = sodium_base64_ENCODED_LEN(len, B64); /* includes the NUL */
    if (cap - *pos < need)
        return STK_ETOOBIG;
    sodium_bin2base64(out + *pos, need, bin, len, B64);
    *pos += need - 1;
    return 0;
}

static int put_char(char *out, size_t cap, size_t *pos, char c)
{
    if (cap - *pos < 2)
        return STK_ETOOBIG;
    out[(*pos)++] = c;
    out[*pos] = '\0';
    return 0;
}

int stk_jwt_sign(const stk_jwt_key_t *key, const stk_jwt_claims_t *claims, char *out, size_t cap,
                 size_t *len)
{
    const char *typ = claims != NULL ? typ_name(claims->typ) : NULL;
    char sub[STK_UUID_STR_LEN + 1];
    char jti[sodium_base64_ENCODED_LEN(STK_JWT_JTI_LEN, B64)];
    uint8_t sig[SIG_LEN];
    json_t *payload = NULL;
    char *text = NULL;
    size_t pos = 0;
    int rc;

    if (!key_valid(key) || typ == NULL || out == NULL || claims->iat < 0 ||
        claims->exp <= claims->iat)
        return STK_EINVAL;
    if (cap == 0)
        return STK_ETOOBIG;
    if (!sodium_ready())
        return STK_ECRYPTO;
    stk_uuid_format(&claims->sub, sub);
    sodium_bin2base64(jti, sizeof jti, claims->jti, sizeof claims->jti, B64);
    payload = json_pack("{s:s, s:I, s:I, s:s, s:s}", "sub", sub, "iat", (json_int_t)claims->iat,
                        "exp", (json_int_t)claims->exp, "jti", jti, "typ", typ);
    if (payload == NULL) {
        rc = STK_ENOMEM;
        goto fail;
    }
    text = json_dumps(payload, JSON_COMPACT);
    if (text == NULL) {
        rc = STK_ENOMEM;
        goto fail;
    }
    out[0] = '\0';
    if ((rc = put_b64(out, cap, &pos, header_json, sizeof header_json - 1)) != 0 ||
        (rc = put_char(out, cap, &pos, '.')) != 0 ||
        (rc = put_b64(out, cap, &pos, text, strlen(text))) != 0)
        goto fail;
    hmac(key, out, pos, sig);
    if ((rc = put_char(out, cap, &pos, '.')) != 0 ||
        (rc = put_b64(out, cap, &pos, sig, sizeof sig)) != 0)
        goto fail;
    if (len != NULL)
        *len = pos;
    rc = 0;
fail:
    if (rc != 0)
        out[0] = '\0';
    free(text);
    json_decref(payload);
    return rc;
}

/* Decodes one base64url segment into buf (cap bytes). 0 or -1 (bad alphabet, padding,
 * non-canonical bits, or too long for buf). */
static int b64_decode(const char *seg, size_t seg_len, uint8_t *buf, size_t cap, size_t *n)
{
    const char *end = NULL;
    if (sodium_base642bin(buf, cap, seg, seg_len, NULL, n, &end, B64) != 0)
        return -1;
    return end == seg + seg_len ? 0 : -1;
}

/* Checks the decoded header. Returns the reason (OK, HEADER or ALG). */
static stk_jwt_reason_t check_header(const uint8_t *buf, size_t n)
{
    stk_jwt_reason_t r = STK_JWT_HEADER;
    json_error_t err;
    json_t *h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &err);
    if (h == NULL || !json_is_object(h))
        goto done;
    json_t *alg = json_object_get(h, "alg");
    if (alg == NULL)
        goto done;
    /* The algorithm is decided by us, never by the token: anything else (none, HS512,
     * RS256 for key confusion, a non-string) is refused before any signature work. */
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0) {
        r = STK_JWT_ALG;
        goto done;
    }
    json_t *typ = json_object_get(h, "typ");
    size_t expect = 1;
    if (typ != NULL) {
        if (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)
            goto done;
        expect = 2;
    }
    if (json_object_size(h) != expect) /* crit, kid, jku, x5u...: none are ours */
        goto done;
    r = STK_JWT_OK;
done:
    json_decref(h);
    return r;
}

/* Parses and checks the decoded payload into *c. Returns OK, PAYLOAD or CLAIMS. */
static stk_jwt_reason_t parse_claims(const uint8_t *buf, size_t n, stk_jwt_claims_t *c)
{
    stk_jwt_reason_t r = STK_JWT_PAYLOAD;
    json_error_t err;
    json_t *p = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &err);
    if (p == NULL || !json_is_object(p))
        goto done;
    r = STK_JWT_CLAIMS;
    json_t *sub = json_object_get(p, "sub"), *iat = json_object_get(p, "iat"),
           *exp = json_object_get(p, "exp"), *jti = json_object_get(p, "jti"),
           *typ = json_object_get(p, "typ");
    if (json_object_size(p) != 5 || !json_is_string(sub) || !json_is_integer(iat) ||
        !json_is_integer(exp) || !json_is_string(jti) || !json_is_string(typ))
        goto done;
    if (json_string_length(sub) != STK_UUID_STR_LEN ||
        stk_uuid_parse(json_string_value(sub), &c->sub) != 0)
        goto done;
    const char *t = json_string_value(typ);
    if (strcmp(t, "access") == 0)
        c->typ = STK_JWT_ACCESS;
    else if (strcmp(t, "refresh") == 0)
        c->typ = STK_JWT_REFRESH;
    else
        goto done;
    size_t jn = 0;
    uint8_t jbuf[STK_JWT_JTI_LEN + 1];
    if (b64_decode(json_string_value(jti), json_string_length(jti), jbuf, sizeof jbuf, &jn) != 0 ||
        jn != STK_JWT_JTI_LEN)
        goto done;
    memcpy(c->jti, jbuf, STK_JWT_JTI_LEN);
    c->iat = json_integer_value(iat);
    c->exp = json_integer_value(exp);
    /* exp - iat cannot overflow: both are >= 0 here. */
    if (c->iat < 0 || c->exp <= c->iat || c->exp - c->iat > stk_jwt_ttl(c->typ))
        goto done;
    r = STK_JWT_OK;
done:
    json_decref(p);
    return r;
}

int stk_jwt_verify(const stk_jwt_key_t *key, const char *token, size_t len, stk_jwt_typ_t want,
                   int64_t now, stk_jwt_claims_t *claims, stk_jwt_reason_t *why)
{
    uint8_t buf[STK_JWT_MAX];
    uint8_t mac[SIG_LEN];
    stk_jwt_claims_t c;
    stk_jwt_reason_t r;
    size_t n = 0;

    if (!key_valid(key) || token == NULL || typ_name(want) == NULL)
        return STK_EINVAL;
    if (!sodium_ready())
        return STK_ECRYPTO;
    if (len > STK_JWT_MAX) {
        r = STK_JWT_TOO_BIG;
        goto refuse;
    }
    /* Exactly two dots, three non-empty segments. */
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    const char *end = token + len;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL ||
        d1 == token || d2 == d1 + 1 || d2 + 1 == end) {
        r = STK_JWT_SEGMENTS;
        goto refuse;
    }
    if (b64_decode(token, (size_t)(d1 - token), buf, sizeof buf, &n) != 0) {
        r = STK_JWT_BASE64;
        goto refuse;
    }
    if ((r = check_header(buf, n)) != STK_JWT_OK)
        goto refuse;
    /* Decoded into the big buffer (the header is done with) so that a signature of the
     * wrong length reads as SIGNATURE, not BASE64. */
    if (b64_decode(d2 + 1, (size_t)(end - d2 - 1), buf, sizeof buf, &n) != 0) {
        r = STK_JWT_BASE64;
        goto refuse;
    }
    hmac(key, token, (size_t)(d2 - token), mac);
    if (n != SIG_LEN || sodium_memcmp(buf, mac, SIG_LEN) != 0) {
        r = STK_JWT_SIGNATURE;
        goto refuse;
    }
    /* Only now, with the signature good, is the payload looked at. */
    if (b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), buf, sizeof buf, &n) != 0) {
        r = STK_JWT_BASE64;
        goto refuse;
    }
    memset(&c, 0, sizeof c);
    if ((r = parse_claims(buf, n, &c)) != STK_JWT_OK)
        goto refuse;
    if (c.typ != want) {
        r = STK_JWT_TYP;
        goto refuse;
    }
    if (now <= INT64_MAX - STK_JWT_SKEW_S && c.iat > now + STK_JWT_SKEW_S) {
        r = STK_JWT_FUTURE;
        goto refuse;
    }
    if (now >= c.exp) {
        r = STK_JWT_EXPIRED;
        goto refuse;
    }
    if (claims != NULL)
        *claims = c;
    if (why != NULL)
        *why = STK_JWT_OK;
    return 0;
refuse:
    if (why != NULL)
        *why = r;
    return STK_EPERM;
}

static int is_b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int stk_jwt_bearer(const char *value, size_t len, const char **token, size_t *token_len)
{
    static const char scheme[] = "bearer";
    size_t i = 0, start, end;
    if (value == NULL || token == NULL || token_len == NULL)
        return STK_EINVAL;
    while (i < len && (value[i] == ' ' || value[i] == '\t'))
        i++;
    if (len - i < sizeof scheme - 1)
        return STK_EINVAL;
    for (size_t k = 0; k < sizeof scheme - 1; k++) {
        char c = value[i + k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != scheme[k])
            return STK_EINVAL;
    }
    i += sizeof scheme - 1;
    if (i >= len || value[i] != ' ')
        return STK_EINVAL;
    while (i < len && value[i] == ' ')
        i++;
    start = i;
    while (i < len && is_b64token_char(value[i]))
        i++;
    if (i == start)
        return STK_EINVAL; /* b64token needs one character before any "=" */
    while (i < len && value[i] == '=')
        i++;
    end = i;
    while (i < len && (value[i] == ' ' || value[i] == '\t'))
        i++;
    if (i != len || end == start)
        return STK_EINVAL;
    if (end - start > STK_JWT_MAX)
        return STK_ETOOBIG;
    *token = value + start;
    *token_len = end - start;
    return 0;
}

const char *stk_jwt_reason_message(stk_jwt_reason_t why)
{
    switch (why) {
#define STK_JWT_REASON_MSG(name, msg)                                                              \
    case STK_JWT_##name:                                                                           \
        return msg;
        STK_JWT_REASON_MAP(STK_JWT_REASON_MSG)
#undef STK_JWT_REASON_MSG
    }
    return "unknown token problem";
}

const char *stk_jwt_reason_name(stk_jwt_reason_t why)
{
    switch (why) {
#define STK_JWT_REASON_NAME(name, msg)                                                             \
    case STK_JWT_##name:                                                                           \
        return #name;
        STK_JWT_REASON_MAP(STK_JWT_REASON_NAME)
#undef STK_JWT_REASON_NAME
    }
    return "UNKNOWN";
}
