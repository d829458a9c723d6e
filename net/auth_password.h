/* net/auth_password.h — password rules and argon2id password hashes (DESIGN §8).
 *
 * This module checks a candidate password against the account rules (8..128 bytes, no NUL
 * byte) and turns it into, or checks it against, a libsodium argon2id hash string
 * ("$argon2id$v=19$m=...,t=...,p=1$salt$hash", NUL-terminated, < STK_PASSWORD_HASH_MAX
 * bytes). The cost (time and memory) is a parameter so tests can use the minimum; the server
 * uses STK_PASSWORD_COST_INTERACTIVE. It is not a user store, not a login flow and does no
 * I/O: the hash string is kept (sealed) in the user's events by the caller.
 *
 * Hashing is deliberately slow (about 0.1 s and 64 MiB at the interactive cost): callers on
 * the network thread must run it on a worker (uv_queue_work) or accept the stall.
 *
 * Thread: every function is reentrant and may be called from any thread.
 */
#ifndef STK_NET_AUTH_PASSWORD_H
#define STK_NET_AUTH_PASSWORD_H

#include <stddef.h>

#define STK_PASSWORD_MIN      8u   /* bytes */
#define STK_PASSWORD_MAX      128u /* bytes; also bounds the work an attacker can cause */
#define STK_PASSWORD_HASH_MAX 128u /* buffer size for a hash string, NUL included */

/* Why a password breaks the rules: X(name, message). */
#define STK_PASSWORD_PROBLEM_MAP(X)                                                                \
    X(OK, "password is acceptable")                                                                \
    X(TOO_SHORT, "password must be at least 8 bytes")                                              \
    X(TOO_LONG, "password must be at most 128 bytes")                                              \
    X(NUL_BYTE, "password must not contain a NUL byte")

typedef enum stk_password_problem {
#define STK_PASSWORD_PROBLEM_ENUM(name, msg) STK_PASSWORD_##name,
    STK_PASSWORD_PROBLEM_MAP(STK_PASSWORD_PROBLEM_ENUM)
#undef STK_PASSWORD_PROBLEM_ENUM
} stk_password_problem_t;

/* argon2id cost: libsodium opslimit (passes) and memlimit (bytes). */
typedef struct stk_password_cost {
    unsigned long long opslimit;
    size_t memlimit;
} stk_password_cost_t;

/* Initialisers (`stk_password_cost_t c = STK_PASSWORD_COST_MIN;`) with libsodium 1.0.18's
 * crypto_pwhash_OPSLIMIT/MEMLIMIT_{INTERACTIVE,MIN} (checked against the library at compile
 * time in auth_password.c). INTERACTIVE: 2 passes, 64 MiB; MIN: 1 pass, 8 KiB (tests). */
/* clang-format off */
#define STK_PASSWORD_COST_INTERACTIVE {2ull, 67108864u}
#define STK_PASSWORD_COST_MIN         {1ull, 8192u}
/* clang-format on */

/* Checks pw (len bytes, need not be NUL-terminated) against the rules. Returns 0 if it is
 * acceptable, else STK_EINVAL with *why (if why is not NULL) saying which rule it breaks;
 * STK_EINVAL also for pw == NULL with len > 0. Pure. */
int stk_password_check(const char *pw, size_t len, stk_password_problem_t *why);

/* Message for a problem ("password must be at least 8 bytes"); never NULL, static. */
const char *stk_password_problem_message(stk_password_problem_t why);
/* Symbolic name ("TOO_SHORT"); never NULL, static. */
const char *stk_password_problem_name(stk_password_problem_t why);

/* Hashes pw (which must pass stk_password_check) with argon2id and a random salt into out, a
 * NUL-terminated string of fewer than STK_PASSWORD_HASH_MAX bytes. cost NULL →
 * STK_PASSWORD_COST_INTERACTIVE. Returns 0; STK_EINVAL (pw breaks the rules, or cost is out
 * of libsodium's range), STK_ENOMEM (argon2 could not allocate its memory), STK_ECRYPTO
 * (libsodium failed to initialise). Borrowed: pw, cost. out is written only on success. */
int stk_password_hash(const char *pw, size_t len, const stk_password_cost_t *cost,
                      char out[STK_PASSWORD_HASH_MAX]);

/* Checks pw against hash (a NUL-terminated string from stk_password_hash, whatever its
 * cost). Returns 0 if it matches; STK_EPERM if it does not (also for a pw that breaks the
 * length rules: it cannot have been hashed, and no argon2 work is spent on it); STK_EINVAL
 * (hash NULL, unterminated within STK_PASSWORD_HASH_MAX, or not an argon2id string);
 * STK_ECRYPTO (libsodium failed to initialise). Borrowed: hash, pw. */
int stk_password_verify(const char *hash, const char *pw, size_t len);

/* Spends the same work as verifying against a hash of the given cost (NULL → interactive)
 * and returns nothing: call it when a login names an unknown user so that response times do
 * not tell which usernames exist. */
void stk_password_burn(const stk_password_cost_t *cost);

/* 1 if hash was made with a cost other than cost (NULL → interactive) and should be
 * re-hashed at the next successful login, 0 if not, STK_EINVAL if hash is not an argon2id
 * string. */
int stk_password_needs_rehash(const char *hash, const stk_password_cost_t *cost);

#endif
