/* events/seal.c — per-user data keys and secretbox sealing (libsodium only). */
#include "events/seal.h"

#include <sodium.h>
#include <string.h>

#include "core/error.h"

_Static_assert(STK_SEAL_KEY_LEN == crypto_secretbox_KEYBYTES, "key size");
_Static_assert(STK_SEAL_NONCE_LEN == crypto_secretbox_NONCEBYTES, "nonce size");
_Static_assert(STK_SEAL_TAG_LEN == crypto_secretbox_MACBYTES, "tag size");
_Static_assert(STK_SEAL_KEY_LEN <= STK_DATA_KEY_MAX, "key fits the log's key store");

int stk_seal_user_key_create(uint8_t key[STK_SEAL_KEY_LEN])
{
    if (key == NULL)
        return STK_EINVAL;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    crypto_secretbox_keygen(key);
    return 0;
}

int stk_seal(const uint8_t key[STK_SEAL_KEY_LEN], const uint8_t *plain, size_t len, uint8_t *out,
             size_t cap, size_t *out_len)
{
    if (key == NULL || (plain == NULL && len > 0) || out == NULL || out_len == NULL)
        return STK_EINVAL;
    if (len > STK_SEAL_PLAIN_MAX || cap < len + STK_SEAL_OVERHEAD)
        return STK_ETOOBIG;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    static const uint8_t empty[1];
    randombytes_buf(out, STK_SEAL_NONCE_LEN);
    if (crypto_secretbox_easy(out + STK_SEAL_NONCE_LEN, len > 0 ? plain : empty, len, out, key) !=
        0)
        return STK_ECRYPTO;
    *out_len = len + STK_SEAL_OVERHEAD;
    return 0;
}

int stk_seal_open(const uint8_t key[STK_SEAL_KEY_LEN], const uint8_t *sealed, size_t len,
                  uint8_t *out, size_t cap, size_t *out_len)
{
    if (key == NULL || sealed == NULL || out_len == NULL || (out == NULL && cap > 0))
        return STK_EINVAL;
    if (len < STK_SEAL_OVERHEAD)
        return STK_ETRUNC;
    if (len > STK_SEAL_MAX || cap < len - STK_SEAL_OVERHEAD)
        return STK_ETOOBIG;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    uint8_t empty[1];
    size_t plain_len = len - STK_SEAL_OVERHEAD;
    if (crypto_secretbox_open_easy(plain_len > 0 ? out : empty, sealed + STK_SEAL_NONCE_LEN,
                                   len - STK_SEAL_NONCE_LEN, sealed, key) != 0) {
        if (plain_len > 0)
            sodium_memzero(out, plain_len);
        return STK_ECRYPTO;
    }
    *out_len = plain_len;
    return 0;
}

/* Loads the user's key into key. 0, STK_ENOTFOUND, STK_ECORRUPT, or a log error. */
static int load_key(stk_log_t *log, const stk_uuid_t *user, uint8_t key[STK_SEAL_KEY_LEN])
{
    uint8_t buf[STK_DATA_KEY_MAX];
    size_t n = 0;
    int rc;
    if (log == NULL || user == NULL)
        return STK_EINVAL;
    rc = stk_log_key_get(log, user, buf, sizeof buf, &n);
    if (rc == 0 && n != STK_SEAL_KEY_LEN)
        rc = STK_ECORRUPT;
    if (rc == 0)
        memcpy(key, buf, STK_SEAL_KEY_LEN);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int stk_seal_open_for_user(stk_log_t *log, const stk_uuid_t *user, const uint8_t *sealed,
                           size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t key[STK_SEAL_KEY_LEN];
    int rc = load_key(log, user, key);
    if (rc == 0)
        rc = stk_seal_open(key, sealed, len, out, cap, out_len);
    sodium_memzero(key, sizeof key);
    return rc;
}

int stk_seal_for_user(stk_log_t *log, const stk_uuid_t *user, const uint8_t *plain, size_t len,
                      uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t key[STK_SEAL_KEY_LEN];
    int rc = load_key(log, user, key);
    if (rc == 0)
        rc = stk_seal(key, plain, len, out, cap, out_len);
    sodium_memzero(key, sizeof key);
    return rc;
}
