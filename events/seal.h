/* events/seal.h — per-user data keys: sealing personal data inside events (DESIGN §6).
 *
 * Personal data (email, password hash) is stored in events only sealed with the user's own
 * 32-byte key (libsodium secretbox: XSalsa20-Poly1305). A sealed value is
 *     nonce (24 random bytes) || secretbox ciphertext (plaintext + 16-byte tag)
 * so it is STK_SEAL_OVERHEAD bytes longer than the plaintext. Keys live in the log's `keys`
 * sub-database (events/log.h: put atomically with the registration event through
 * stk_append_t.key_op, or stk_log_key_put). Erasure is crypto-shredding: the caller deletes
 * the key (stk_log_key_delete, or key_op DELETE with the erasure event); the log stays
 * immutable and verifiable, and every sealed value of that user becomes unreadable —
 * stk_seal_open_for_user then answers STK_ENOTFOUND.
 *
 * This module is not the key store (events/log.h is) and not the payload codec; it seals and
 * opens bytes. A sealed value is bound to the key only, not to its field or event: callers
 * must not rely on it to tell an email from a hash of the same user.
 *
 * Thread: every function is reentrant and may be called from any thread (the log functions
 * it calls say the same).
 */
#ifndef STK_EVENTS_SEAL_H
#define STK_EVENTS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "events/envelope.h"
#include "events/log.h"

#define STK_SEAL_KEY_LEN   32u /* crypto_secretbox_KEYBYTES */
#define STK_SEAL_NONCE_LEN 24u /* crypto_secretbox_NONCEBYTES */
#define STK_SEAL_TAG_LEN   16u /* crypto_secretbox_MACBYTES */
#define STK_SEAL_OVERHEAD  (STK_SEAL_NONCE_LEN + STK_SEAL_TAG_LEN)
#define STK_SEAL_PLAIN_MAX (64u * 1024u) /* largest plaintext sealed or opened */
#define STK_SEAL_MAX       (STK_SEAL_PLAIN_MAX + STK_SEAL_OVERHEAD)

/* Fills key with a fresh random data key (crypto_secretbox_keygen). It is the caller's to
 * store (stk_log_key_put / key_op PUT) and to wipe (sodium_memzero). Returns 0 or
 * STK_ECRYPTO (libsodium could not initialise), STK_EINVAL (key NULL). */
int stk_seal_user_key_create(uint8_t key[STK_SEAL_KEY_LEN]);

/* Seals plain (len bytes, 0..STK_SEAL_PLAIN_MAX; plain may be NULL when len is 0) with key
 * and a random nonce into out (cap bytes; needs len + STK_SEAL_OVERHEAD), sets *out_len.
 * Returns 0, STK_EINVAL (NULL arguments), STK_ETOOBIG (len over the limit or cap too small),
 * STK_ECRYPTO. Borrowed: key, plain. out must not overlap plain. */
int stk_seal(const uint8_t key[STK_SEAL_KEY_LEN], const uint8_t *plain, size_t len, uint8_t *out,
             size_t cap, size_t *out_len);

/* Opens sealed (len bytes) with key into out (cap bytes; needs len - STK_SEAL_OVERHEAD),
 * sets *out_len. Returns 0; STK_ETRUNC (shorter than STK_SEAL_OVERHEAD), STK_ETOOBIG
 * (longer than STK_SEAL_MAX, or cap too small), STK_ECRYPTO (wrong key or tampered bytes:
 * out then holds nothing usable), STK_EINVAL (NULL arguments). Borrowed: key, sealed. */
int stk_seal_open(const uint8_t key[STK_SEAL_KEY_LEN], const uint8_t *sealed, size_t len,
                  uint8_t *out, size_t cap, size_t *out_len);

/* Loads user's key from log and opens sealed with it (the key is wiped before returning).
 * Returns as stk_seal_open, plus STK_ENOTFOUND (no key: never created, or erased — the
 * data is gone for good), STK_ECORRUPT (the stored key is not STK_SEAL_KEY_LEN bytes) and
 * the errors of stk_log_key_get. Borrowed: log, user, sealed. Any thread. */
int stk_seal_open_for_user(stk_log_t *log, const stk_uuid_t *user, const uint8_t *sealed,
                           size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Loads user's key from log and seals plain with it. Returns as stk_seal, plus the key
 * errors of stk_seal_open_for_user. */
int stk_seal_for_user(stk_log_t *log, const stk_uuid_t *user, const uint8_t *plain, size_t len,
                      uint8_t *out, size_t cap, size_t *out_len);

#endif
