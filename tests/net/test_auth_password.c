/* tests/net/test_auth_password.c — password rules (length bounds, NUL), argon2id hashing
 * and verification (match, mismatch, salts, malformed hashes, over-long input), the cost
 * parameters and re-hash detection. Hashes use the minimum cost except where the
 * interactive default itself is under test. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "net/auth_password.h"

static const stk_password_cost_t MIN = STK_PASSWORD_COST_MIN;

static int check(const char *pw, size_t len, stk_password_problem_t *why)
{
    *why = (stk_password_problem_t)-1;
    return stk_password_check(pw, len, why);
}

Test(auth_password, rules_accept_8_and_128_bytes)
{
    char pw[STK_PASSWORD_MAX];
    stk_password_problem_t why;
    memset(pw, 'a', sizeof pw);
    cr_assert_eq(check(pw, 8, &why), 0);
    cr_assert_eq(why, STK_PASSWORD_OK);
    cr_assert_eq(check(pw, 128, &why), 0);
    cr_assert_eq(why, STK_PASSWORD_OK);
}

Test(auth_password, rules_refuse_7_and_129_bytes)
{
    char pw[STK_PASSWORD_MAX + 1];
    stk_password_problem_t why;
    memset(pw, 'a', sizeof pw);
    cr_assert_eq(check(pw, 7, &why), STK_EINVAL);
    cr_assert_eq(why, STK_PASSWORD_TOO_SHORT);
    cr_assert_eq(check(pw, 129, &why), STK_EINVAL);
    cr_assert_eq(why, STK_PASSWORD_TOO_LONG);
    cr_assert_eq(check("", 0, &why), STK_EINVAL);
    cr_assert_eq(why, STK_PASSWORD_TOO_SHORT);
}

Test(auth_password, rules_refuse_nul_byte_anywhere)
{
    stk_password_problem_t why;
    cr_assert_eq(check("abcd\0efgh", 9, &why), STK_EINVAL);
    cr_assert_eq(why, STK_PASSWORD_NUL_BYTE);
    cr_assert_eq(check("abcdefgh\0", 9, &why), STK_EINVAL);
    cr_assert_eq(why, STK_PASSWORD_NUL_BYTE);
}

Test(auth_password, rules_refuse_null_pointer_with_length)
{
    cr_assert_eq(stk_password_check(NULL, 10, NULL), STK_EINVAL);
}

Test(auth_password, problem_names_and_messages_are_distinct)
{
    cr_assert_str_eq(stk_password_problem_name(STK_PASSWORD_TOO_LONG), "TOO_LONG");
    cr_assert_str_eq(stk_password_problem_message(STK_PASSWORD_TOO_SHORT),
                     "password must be at least 8 bytes");
    cr_assert_str_eq(stk_password_problem_name((stk_password_problem_t)99), "UNKNOWN");
}

Test(auth_password, hash_then_verify_matches_only_the_same_password)
{
    char h[STK_PASSWORD_HASH_MAX];
    cr_assert_eq(stk_password_hash("correct horse", 13, &MIN, h), 0);
    cr_assert_eq(strncmp(h, "$argon2id$", 10), 0, "%s", h);
    cr_assert_eq(stk_password_verify(h, "correct horse", 13), 0);
    cr_assert_eq(stk_password_verify(h, "correct horsf", 13), STK_EPERM);
    cr_assert_eq(stk_password_verify(h, "correct hors", 12), STK_EPERM);
    cr_assert_eq(stk_password_verify(h, "correct horse ", 14), STK_EPERM);
}

Test(auth_password, same_password_hashes_differently_each_time)
{
    char a[STK_PASSWORD_HASH_MAX], b[STK_PASSWORD_HASH_MAX];
    cr_assert_eq(stk_password_hash("password1", 9, &MIN, a), 0);
    cr_assert_eq(stk_password_hash("password1", 9, &MIN, b), 0);
    cr_assert_str_neq(a, b);
    cr_assert_eq(stk_password_verify(a, "password1", 9), 0);
    cr_assert_eq(stk_password_verify(b, "password1", 9), 0);
}

Test(auth_password, hash_refuses_passwords_that_break_the_rules)
{
    char h[STK_PASSWORD_HASH_MAX] = "untouched";
    cr_assert_eq(stk_password_hash("short", 5, &MIN, h), STK_EINVAL);
    cr_assert_eq(stk_password_hash("abcd\0efgh", 9, &MIN, h), STK_EINVAL);
    cr_assert_str_eq(h, "untouched");
}

Test(auth_password, hash_refuses_cost_below_libsodium_minimum)
{
    char h[STK_PASSWORD_HASH_MAX];
    stk_password_cost_t tiny = {0, 8192};
    cr_assert_eq(stk_password_hash("password1", 9, &tiny, h), STK_EINVAL);
    tiny = (stk_password_cost_t){1, 1024};
    cr_assert_eq(stk_password_hash("password1", 9, &tiny, h), STK_EINVAL);
}

Test(auth_password, verify_refuses_overlong_password_without_hashing)
{
    char h[STK_PASSWORD_HASH_MAX];
    char big[1000];
    memset(big, 'x', sizeof big);
    cr_assert_eq(stk_password_hash(big, STK_PASSWORD_MAX, &MIN, h), 0);
    cr_assert_eq(stk_password_verify(h, big, STK_PASSWORD_MAX), 0);
    cr_assert_eq(stk_password_verify(h, big, sizeof big), STK_EPERM);
}

Test(auth_password, verify_refuses_malformed_hashes)
{
    char h[STK_PASSWORD_HASH_MAX];
    cr_assert_eq(stk_password_verify(NULL, "password1", 9), STK_EINVAL);
    cr_assert_eq(stk_password_verify("", "password1", 9), STK_EINVAL);
    cr_assert_eq(
        stk_password_verify("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "password1", 9),
        STK_EINVAL);
    cr_assert_eq(stk_password_verify("plaintext-password1", "password1", 9), STK_EINVAL);
    /* Unterminated within the buffer size. */
    char unterminated[STK_PASSWORD_HASH_MAX];
    memset(unterminated, 'a', sizeof unterminated);
    memcpy(unterminated, "$argon2id$", 10);
    cr_assert_eq(stk_password_verify(unterminated, "password1", 9), STK_EINVAL);
    /* Right prefix, truncated body: a mismatch, never a match. */
    cr_assert_eq(stk_password_hash("password1", 9, &MIN, h), 0);
    h[strlen(h) - 5] = '\0';
    cr_assert_eq(stk_password_verify(h, "password1", 9), STK_EPERM);
}

Test(auth_password, tampered_hash_does_not_verify)
{
    char h[STK_PASSWORD_HASH_MAX];
    cr_assert_eq(stk_password_hash("password1", 9, &MIN, h), 0);
    size_t n = strlen(h);
    h[n - 2] = h[n - 2] == 'A' ? 'B' : 'A';
    cr_assert_eq(stk_password_verify(h, "password1", 9), STK_EPERM);
}

Test(auth_password, default_cost_is_interactive_and_rehash_is_detected)
{
    char h[STK_PASSWORD_HASH_MAX], lo[STK_PASSWORD_HASH_MAX];
    cr_assert_eq(stk_password_hash("password1", 9, NULL, h), 0);
    cr_assert_not_null(strstr(h, "m=65536,t=2,p=1"), "%s", h);
    cr_assert_eq(stk_password_verify(h, "password1", 9), 0);
    cr_assert_eq(stk_password_needs_rehash(h, NULL), 0);
    cr_assert_eq(stk_password_hash("password1", 9, &MIN, lo), 0);
    cr_assert_eq(stk_password_needs_rehash(lo, NULL), 1);
    cr_assert_eq(stk_password_needs_rehash(lo, &MIN), 0);
    cr_assert_eq(stk_password_needs_rehash("nonsense", NULL), STK_EINVAL);
}
