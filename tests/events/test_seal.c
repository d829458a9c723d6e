/* tests/events/test_seal.c — per-user data keys: seal/open round trips, fresh nonces,
 * tampering with any byte, wrong key, truncation and size limits, and erasure through the
 * log: sealed data opens with the stored key and fails for good once the key is deleted,
 * without touching other users. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "events/log.h"
#include "events/seal.h"
#include "tests/support/tmpdir.h"

static const char EMAIL[] = "ada@example.com";

/* 1 if needle occurs in hay (memmem is a GNU extension). */
static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

static void seal_email(const uint8_t key[STK_SEAL_KEY_LEN], uint8_t *out, size_t *len)
{
    cr_assert_eq(stk_seal(key, (const uint8_t *)EMAIL, sizeof EMAIL - 1, out,
                          sizeof EMAIL - 1 + STK_SEAL_OVERHEAD, len),
                 0);
    cr_assert_eq(*len, sizeof EMAIL - 1 + STK_SEAL_OVERHEAD);
}

Test(seal, sealed_bytes_open_with_the_key)
{
    uint8_t key[STK_SEAL_KEY_LEN], box[128], plain[128];
    size_t n, m;
    cr_assert_eq(stk_seal_user_key_create(key), 0);
    seal_email(key, box, &n);
    cr_assert_eq(stk_seal_open(key, box, n, plain, sizeof plain, &m), 0);
    cr_assert_eq(m, sizeof EMAIL - 1);
    cr_assert_eq(memcmp(plain, EMAIL, m), 0);
    /* The output buffer can be exactly the plaintext size. */
    cr_assert_eq(stk_seal_open(key, box, n, plain, sizeof EMAIL - 1, &m), 0);
}

Test(seal, ciphertext_does_not_contain_the_plaintext_and_nonces_are_fresh)
{
    uint8_t key[STK_SEAL_KEY_LEN], a[128], b[128];
    size_t na, nb;
    cr_assert_eq(stk_seal_user_key_create(key), 0);
    seal_email(key, a, &na);
    seal_email(key, b, &nb);
    cr_assert_neq(memcmp(a, b, na), 0);
    cr_assert_neq(memcmp(a, b, STK_SEAL_NONCE_LEN), 0);
    cr_assert_eq(contains(a, na, "example"), 0);
}

Test(seal, keys_are_random)
{
    uint8_t a[STK_SEAL_KEY_LEN], b[STK_SEAL_KEY_LEN];
    cr_assert_eq(stk_seal_user_key_create(a), 0);
    cr_assert_eq(stk_seal_user_key_create(b), 0);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(seal, empty_plaintext_round_trips)
{
    uint8_t key[STK_SEAL_KEY_LEN], box[STK_SEAL_OVERHEAD], out[1];
    size_t n, m = 99;
    cr_assert_eq(stk_seal_user_key_create(key), 0);
    cr_assert_eq(stk_seal(key, NULL, 0, box, sizeof box, &n), 0);
    cr_assert_eq(n, STK_SEAL_OVERHEAD);
    cr_assert_eq(stk_seal_open(key, box, n, out, 0, &m), 0);
    cr_assert_eq(m, 0);
}

Test(seal, any_tampered_byte_fails_to_open)
{
    uint8_t key[STK_SEAL_KEY_LEN], box[128], plain[128];
    size_t n, m;
    cr_assert_eq(stk_seal_user_key_create(key), 0);
    seal_email(key, box, &n);
    for (size_t i = 0; i < n; i++) {
        uint8_t t[128];
        memcpy(t, box, n);
        t[i] ^= 0x01;
        memset(plain, 0x55, sizeof plain);
        cr_assert_eq(stk_seal_open(key, t, n, plain, sizeof plain, &m), STK_ECRYPTO, "byte %zu", i);
        cr_assert_eq(contains(plain, sizeof plain, "ada@"), 0, "byte %zu", i);
    }
}

Test(seal, wrong_key_fails_to_open)
{
    uint8_t key[STK_SEAL_KEY_LEN], other[STK_SEAL_KEY_LEN], box[128], plain[128];
    size_t n, m;
    cr_assert_eq(stk_seal_user_key_create(key), 0);
    cr_assert_eq(stk_seal_user_key_create(other), 0);
    seal_email(key, box, &n);
    cr_assert_eq(stk_seal_open(other, box, n, plain, sizeof plain, &m), STK_ECRYPTO);
}

Test(seal, truncated_and_oversized_inputs_are_refused)
{
    uint8_t key[STK_SEAL_KEY_LEN], box[128], plain[128];
    size_t n, m;
    cr_assert_eq(stk_seal_user_key_create(key), 0);
    seal_email(key, box, &n);
    cr_assert_eq(stk_seal_open(key, box, STK_SEAL_OVERHEAD - 1, plain, sizeof plain, &m),
                 STK_ETRUNC);
    cr_assert_eq(stk_seal_open(key, box, 0, plain, sizeof plain, &m), STK_ETRUNC);
    cr_assert_eq(stk_seal_open(key, box, n - 1, plain, sizeof plain, &m), STK_ECRYPTO);
    cr_assert_eq(stk_seal_open(key, box, n, plain, sizeof EMAIL - 2, &m), STK_ETOOBIG);
    cr_assert_eq(stk_seal(key, (const uint8_t *)EMAIL, sizeof EMAIL - 1, box,
                          sizeof EMAIL - 2 + STK_SEAL_OVERHEAD, &m),
                 STK_ETOOBIG);
    cr_assert_eq(stk_seal(key, box, STK_SEAL_PLAIN_MAX + 1, box, SIZE_MAX, &m), STK_ETOOBIG);
    cr_assert_eq(stk_seal_open(key, box, STK_SEAL_MAX + 1, plain, SIZE_MAX, &m), STK_ETOOBIG);
    cr_assert_eq(stk_seal(NULL, box, 1, box, sizeof box, &m), STK_EINVAL);
    cr_assert_eq(stk_seal_open(key, NULL, 50, plain, sizeof plain, &m), STK_EINVAL);
}

/* ---- with the log: keys stored per user, erasure by deleting the key ---- */

static char tmp_root[64];
static stk_log_t *LOG;

static void log_setup(void)
{
    cr_assert_eq(stk_test_tmpdir_make(tmp_root, sizeof tmp_root, "seal"), 0);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/log", tmp_root);
    stk_log_opts_t o = {.map_size = 64u << 20};
    cr_assert_eq(stk_log_open(&LOG, dir, &o), 0);
}

static void log_teardown(void)
{
    stk_log_close(LOG);
    LOG = NULL;
    stk_test_tmpdir_remove(tmp_root);
}

TestSuite(seal_log, .init = log_setup, .fini = log_teardown);

static stk_uuid_t user(uint8_t n)
{
    stk_uuid_t u;
    memset(&u, 0, sizeof u);
    u.b[15] = n;
    return u;
}

Test(seal_log, sealed_data_opens_until_the_key_is_deleted)
{
    stk_uuid_t ada = user(1), bob = user(2);
    uint8_t k[STK_SEAL_KEY_LEN], box_a[128], box_b[128], plain[128];
    size_t na, nb, m;
    cr_assert_eq(stk_seal_user_key_create(k), 0);
    cr_assert_eq(stk_log_key_put(LOG, &ada, k, sizeof k), 0);
    cr_assert_eq(stk_seal_user_key_create(k), 0);
    cr_assert_eq(stk_log_key_put(LOG, &bob, k, sizeof k), 0);

    cr_assert_eq(stk_seal_for_user(LOG, &ada, (const uint8_t *)EMAIL, sizeof EMAIL - 1, box_a,
                                   sizeof box_a, &na),
                 0);
    cr_assert_eq(stk_seal_for_user(LOG, &bob, (const uint8_t *)"bob@example.com", 15, box_b,
                                   sizeof box_b, &nb),
                 0);
    cr_assert_eq(stk_seal_open_for_user(LOG, &ada, box_a, na, plain, sizeof plain, &m), 0);
    cr_assert_eq(m, sizeof EMAIL - 1);
    cr_assert_eq(memcmp(plain, EMAIL, m), 0);
    /* One user's key does not open another's data. */
    cr_assert_eq(stk_seal_open_for_user(LOG, &bob, box_a, na, plain, sizeof plain, &m),
                 STK_ECRYPTO);

    /* Erasure. */
    cr_assert_eq(stk_log_key_delete(LOG, &ada), 0);
    cr_assert_eq(stk_seal_open_for_user(LOG, &ada, box_a, na, plain, sizeof plain, &m),
                 STK_ENOTFOUND);
    cr_assert_eq(stk_seal_for_user(LOG, &ada, (const uint8_t *)EMAIL, sizeof EMAIL - 1, box_a,
                                   sizeof box_a, &na),
                 STK_ENOTFOUND);
    /* Bob is untouched. */
    cr_assert_eq(stk_seal_open_for_user(LOG, &bob, box_b, nb, plain, sizeof plain, &m), 0);
    cr_assert_eq(memcmp(plain, "bob@example.com", 15), 0);
}

Test(seal_log, user_without_a_key_cannot_open)
{
    stk_uuid_t nobody = user(9);
    uint8_t box[64] = {0}, plain[64];
    size_t m;
    cr_assert_eq(stk_seal_open_for_user(LOG, &nobody, box, sizeof box, plain, sizeof plain, &m),
                 STK_ENOTFOUND);
}

Test(seal_log, stored_key_of_wrong_length_is_corrupt)
{
    stk_uuid_t u = user(3);
    uint8_t short_key[16] = {1}, box[64] = {0}, plain[64];
    size_t m;
    cr_assert_eq(stk_log_key_put(LOG, &u, short_key, sizeof short_key), 0);
    cr_assert_eq(stk_seal_open_for_user(LOG, &u, box, sizeof box, plain, sizeof plain, &m),
                 STK_ECORRUPT);
}
