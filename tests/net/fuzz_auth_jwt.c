/* tests/net/fuzz_auth_jwt.c — libFuzzer target for stk_jwt_verify. A fuzzer cannot forge
 * HMACs, so besides raw tokens (mode 0) it also fuzzes a header (mode 1) or a payload
 * (mode 2) that this harness signs with the verifier's key, reaching the header check and
 * the claims parser behind the signature. Properties checked: no crash, no leak, no UB, and
 * a token is accepted only with reason OK and claims that obey the documented bounds. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/auth_jwt.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char HDR[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char PAYLOAD[] = "{\"sub\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"iat\":"
                              "1700000000,\"exp\":1700000900,\"jti\":\"AAECAwQFBgcICQoLDA0ODw\","
                              "\"typ\":\"access\"}";

/* Builds b64(h).b64(p).b64(HMAC) into a malloc'd string; NULL if too big. */
static char *sign(const stk_jwt_key_t *key, const uint8_t *h, size_t hn, const uint8_t *p,
                  size_t pn, size_t *len)
{
    size_t hl = sodium_base64_ENCODED_LEN(hn, B64), pl = sodium_base64_ENCODED_LEN(pn, B64);
    size_t sl = sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, B64);
    char *t = malloc(hl + pl + sl + 2);
    if (t == NULL)
        return NULL;
    sodium_bin2base64(t, hl, h, hn, B64);
    size_t n = hl - 1;
    t[n++] = '.';
    sodium_bin2base64(t + n, pl, p, pn, B64);
    n += pl - 1;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)t, n);
    crypto_auth_hmacsha256_final(&st, mac);
    t[n++] = '.';
    sodium_bin2base64(t + n, sl, mac, sizeof mac, B64);
    *len = n + sl - 1;
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static stk_jwt_key_t key;
    if (key.len == 0) {
        uint8_t s[32];
        memset(s, 0x5a, sizeof s);
        if (sodium_init() < 0 || stk_jwt_key_set(&key, s, sizeof s) != 0)
            abort();
    }
    if (size == 0)
        return 0;
    int mode = data[0] % 3;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    char *owned = NULL;
    const char *tok = (const char *)in;
    size_t len = n;
    if (mode == 1)
        tok = owned = sign(&key, in, n, (const uint8_t *)PAYLOAD, sizeof PAYLOAD - 1, &len);
    else if (mode == 2)
        tok = owned = sign(&key, (const uint8_t *)HDR, sizeof HDR - 1, in, n, &len);
    if (tok == NULL)
        return 0;
    for (int want = STK_JWT_ACCESS; want <= STK_JWT_REFRESH; want++) {
        stk_jwt_claims_t c;
        stk_jwt_reason_t why = (stk_jwt_reason_t)-1;
        int rc = stk_jwt_verify(&key, tok, len, (stk_jwt_typ_t)want, 1700000100, &c, &why);
        if ((rc == 0) != (why == STK_JWT_OK) || (rc != 0 && rc != STK_EPERM))
            abort();
        if (rc == 0 &&
            (c.typ != (stk_jwt_typ_t)want || c.exp <= c.iat || c.iat < 0 ||
             c.exp - c.iat > stk_jwt_ttl(c.typ) || c.exp <= 1700000100 || len > STK_JWT_MAX))
            abort();
    }
    free(owned);
    return 0;
}
