/* net/auth_password.c — password rules and argon2id hashes through libsodium.
 *
 * Everything cryptographic is libsodium's crypto_pwhash_str* (argon2id13); this file only
 * adds the length rules, the input limits and the translation to STK_E* codes.
 */
#include "net/auth_password.h"

#include <sodium.h>
#include <string.h>

#include "core/error.h"

_Static_assert(STK_PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "hash buffer size");
_Static_assert(2ull == crypto_pwhash_OPSLIMIT_INTERACTIVE, "interactive opslimit");
_Static_assert(67108864u == crypto_pwhash_MEMLIMIT_INTERACTIVE, "interactive memlimit");
_Static_assert(1ull == crypto_pwhash_OPSLIMIT_MIN, "min opslimit");
_Static_assert(8192u == crypto_pwhash_MEMLIMIT_MIN, "min memlimit");

static const char argon2id_prefix[] = crypto_pwhash_argon2id_STRPREFIX; /* "$argon2id$" */

static const stk_password_cost_t *cost_or_default(const stk_password_cost_t *cost)
{
    static const stk_password_cost_t interactive = STK_PASSWORD_COST_INTERACTIVE;
    return cost != NULL ? cost : &interactive;
}

static int cost_valid(const stk_password_cost_t *c)
{
    return c->opslimit >= crypto_pwhash_OPSLIMIT_MIN && c->opslimit <= crypto_pwhash_OPSLIMIT_MAX &&
           c->memlimit >= crypto_pwhash_MEMLIMIT_MIN && c->memlimit <= crypto_pwhash_MEMLIMIT_MAX;
}

int stk_password_check(const char *pw, size_t len, stk_password_problem_t *why)
{
    stk_password_problem_t p = STK_PASSWORD_OK;
    if (pw == NULL && len > 0)
        return STK_EINVAL;
    if (len < STK_PASSWORD_MIN)
        p = STK_PASSWORD_TOO_SHORT;
    else if (len > STK_PASSWORD_MAX)
        p = STK_PASSWORD_TOO_LONG;
    else if (memchr(pw, '\0', len) != NULL)
        p = STK_PASSWORD_NUL_BYTE;
    if (why != NULL)
        *why = p;
    return p == STK_PASSWORD_OK ? 0 : STK_EINVAL;
}

const char *stk_password_problem_message(stk_password_problem_t why)
{
    switch (why) {
#define STK_PASSWORD_PROBLEM_MSG(name, msg)                                                        \
    case STK_PASSWORD_##name:                                                                      \
        return msg;
        STK_PASSWORD_PROBLEM_MAP(STK_PASSWORD_PROBLEM_MSG)
#undef STK_PASSWORD_PROBLEM_MSG
    }
    return "unknown password problem";
}

const char *stk_password_problem_name(stk_password_problem_t why)
{
    switch (why) {
#define STK_PASSWORD_PROBLEM_NAME(name, msg)                                                       \
    case STK_PASSWORD_##name:                                                                      \
        return #name;
        STK_PASSWORD_PROBLEM_MAP(STK_PASSWORD_PROBLEM_NAME)
#undef STK_PASSWORD_PROBLEM_NAME
    }
    return "UNKNOWN";
}

/* 0 if hash is a NUL-terminated argon2id string within the buffer size, else STK_EINVAL. */
static int hash_shape(const char *hash)
{
    if (hash == NULL)
        return STK_EINVAL;
    size_t n = strnlen(hash, STK_PASSWORD_HASH_MAX);
    if (n == STK_PASSWORD_HASH_MAX)
        return STK_EINVAL;
    if (n < sizeof argon2id_prefix - 1 ||
        memcmp(hash, argon2id_prefix, sizeof argon2id_prefix - 1) != 0)
        return STK_EINVAL;
    return 0;
}

int stk_password_hash(const char *pw, size_t len, const stk_password_cost_t *cost,
                      char out[STK_PASSWORD_HASH_MAX])
{
    char tmp[STK_PASSWORD_HASH_MAX];
    const stk_password_cost_t *c = cost_or_default(cost);
    if (out == NULL || stk_password_check(pw, len, NULL) != 0 || !cost_valid(c))
        return STK_EINVAL;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    /* crypto_pwhash_str fails only when argon2 cannot get its memory (limits are checked). */
    if (crypto_pwhash_str_alg(tmp, pw, len, c->opslimit, c->memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return STK_ENOMEM;
    memcpy(out, tmp, sizeof tmp);
    return 0;
}

int stk_password_verify(const char *hash, const char *pw, size_t len)
{
    if (hash_shape(hash) != 0)
        return STK_EINVAL;
    if (stk_password_check(pw, len, NULL) != 0)
        return STK_EPERM;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    /* A well-prefixed but malformed string also fails here; it is reported as a mismatch,
     * which is what a login must answer either way. */
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : STK_EPERM;
}

void stk_password_burn(const stk_password_cost_t *cost)
{
    const stk_password_cost_t *c = cost_or_default(cost);
    unsigned char salt[crypto_pwhash_SALTBYTES];
    unsigned char sink[32];
    static const char pw[] = "stockade-burn-password";
    if (!cost_valid(c) || sodium_init() < 0)
        return;
    randombytes_buf(salt, sizeof salt);
    /* The result is unused on purpose: only the time it takes matters (a failure to get
     * memory merely makes this call faster, as it would a real verify). */
    if (crypto_pwhash(sink, sizeof sink, pw, sizeof pw - 1, salt, c->opslimit, c->memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        sodium_memzero(sink, sizeof sink);
    sodium_memzero(sink, sizeof sink);
}

int stk_password_needs_rehash(const char *hash, const stk_password_cost_t *cost)
{
    const stk_password_cost_t *c = cost_or_default(cost);
    if (hash_shape(hash) != 0 || !cost_valid(c))
        return STK_EINVAL;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    int r = crypto_pwhash_str_needs_rehash(hash, c->opslimit, c->memlimit);
    if (r < 0)
        return STK_EINVAL;
    return r;
}
