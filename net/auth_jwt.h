/* net/auth_jwt.h — JSON Web Tokens, HS256 only (RFC 7519 / RFC 7515), for access and
 * refresh tokens (DESIGN §8; data contract: access 15 min, refresh 7 days).
 *
 * A token is base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256), without
 * padding. The header is always {"alg":"HS256","typ":"JWT"}; the payload carries exactly
 * the claims of stk_jwt_claims_t: sub (user uuid, canonical string), iat and exp (Unix
 * seconds), jti (16 random bytes, base64url) and typ ("access" or "refresh").
 *
 * This module signs and verifies; it is not the refresh-token store (net/auth_refresh.h:
 * revocation and rotation live there), does no I/O and reads no clock: every call that
 * needs the time takes `now` (Unix seconds) from the caller. Randomness (jti) comes from
 * libsodium. Verification is strict: anything but our own well-formed tokens is refused
 * with a precise stk_jwt_reason_t, so the HTTP layer can answer 401 with a useful problem.
 *
 * Thread: every function is reentrant and may be called from any thread; a stk_jwt_key_t is
 * read-only after stk_jwt_key_set / stk_jwt_key_generate and may be shared.
 */
#ifndef STK_NET_AUTH_JWT_H
#define STK_NET_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "events/envelope.h" /* stk_uuid_t */

#define STK_JWT_ACCESS_TTL_S  (15 * 60)          /* 15 minutes */
#define STK_JWT_REFRESH_TTL_S (7 * 24 * 60 * 60) /* 7 days */
#define STK_JWT_MAX           4096u              /* longest token accepted (bytes, no NUL) */
#define STK_JWT_SKEW_S        60    /* an iat up to this far in the future is tolerated */
#define STK_JWT_JTI_LEN       16u   /* raw jti bytes */
#define STK_JWT_KEY_MIN       32u   /* secret bytes: at least the HMAC-SHA256 output size */
#define STK_JWT_KEY_MAX       64u   /* stored bytes: at most one SHA-256 block */
#define STK_JWT_SECRET_MAX    1024u /* longest secret accepted by stk_jwt_key_set */
#define STK_JWT_BUF           512u  /* buffer that always holds a token we sign, with NUL */

/* Why a token was refused: X(name, message). OK is 0. */
#define STK_JWT_REASON_MAP(X)                                                                      \
    X(OK, "token is valid")                                                                        \
    X(TOO_BIG, "token is longer than 4096 bytes")                                                  \
    X(SEGMENTS, "token does not have exactly three non-empty segments")                            \
    X(BASE64, "token segment is not base64url without padding")                                    \
    X(HEADER, "token header is not a JSON object with only alg and typ")                           \
    X(ALG, "token algorithm is not HS256")                                                         \
    X(SIGNATURE, "token signature does not match")                                                 \
    X(PAYLOAD, "token payload is not a JSON object")                                               \
    X(CLAIMS, "token claims are missing, malformed or unexpected")                                 \
    X(TYP, "token is of the wrong type")                                                           \
    X(EXPIRED, "token has expired")                                                                \
    X(FUTURE, "token is issued in the future")

typedef enum stk_jwt_reason {
#define STK_JWT_REASON_ENUM(name, msg) STK_JWT_##name,
    STK_JWT_REASON_MAP(STK_JWT_REASON_ENUM)
#undef STK_JWT_REASON_ENUM
} stk_jwt_reason_t;

typedef enum stk_jwt_typ {
    STK_JWT_ACCESS = 1,  /* "access": authorises API calls, 15 minutes */
    STK_JWT_REFRESH = 2, /* "refresh": buys a new pair once, 7 days */
} stk_jwt_typ_t;

/* The HMAC secret. Open so it can live in a config struct; wipe it with sodium_memzero. */
typedef struct stk_jwt_key {
    uint8_t bytes[STK_JWT_KEY_MAX];
    size_t len; /* STK_JWT_KEY_MIN..STK_JWT_KEY_MAX */
} stk_jwt_key_t;

typedef struct stk_jwt_claims {
    stk_uuid_t sub;               /* the user */
    int64_t iat;                  /* issued at, Unix seconds */
    int64_t exp;                  /* expires at, Unix seconds; exp > iat */
    uint8_t jti[STK_JWT_JTI_LEN]; /* random token id (refresh store key) */
    stk_jwt_typ_t typ;
} stk_jwt_claims_t;

/* Sets *key from secret (len bytes, STK_JWT_KEY_MIN..STK_JWT_SECRET_MAX; e.g. the bytes of
 * STOCKADE_JWT_SECRET). A secret longer than STK_JWT_KEY_MAX is stored as its SHA-256, which
 * is exactly what HMAC does with such a key (RFC 2104), so tokens stay interoperable with
 * any HS256 library given the original secret. Returns 0, STK_EINVAL (length out of range),
 * STK_ECRYPTO. Borrowed: secret. */
int stk_jwt_key_set(stk_jwt_key_t *key, const uint8_t *secret, size_t len);
/* Fills *key with 32 random bytes. Returns 0 or STK_ECRYPTO (libsodium init failed). */
int stk_jwt_key_generate(stk_jwt_key_t *key);

/* TTL in seconds of a token type (STK_JWT_ACCESS_TTL_S / STK_JWT_REFRESH_TTL_S), 0 if typ is
 * not a valid type. Pure. */
int64_t stk_jwt_ttl(stk_jwt_typ_t typ);

/* Fills *claims for a new token of type typ for user sub issued at now: iat = now,
 * exp = now + stk_jwt_ttl(typ), a random jti. Returns 0, STK_EINVAL (bad typ, now < 0 or
 * so large that exp overflows), STK_ECRYPTO. */
int stk_jwt_claims_new(stk_jwt_claims_t *claims, const stk_uuid_t *sub, stk_jwt_typ_t typ,
                       int64_t now);

/* Signs claims into out (cap bytes; STK_JWT_BUF is always enough) as a NUL-terminated token
 * and sets *len (may be NULL) to its length without the NUL. Returns 0, STK_EINVAL (bad
 * claims: typ invalid, exp <= iat, negative times), STK_ETOOBIG (cap too small; out is then
 * "" if cap > 0), STK_ENOMEM, STK_ECRYPTO. Borrowed: key, claims. */
int stk_jwt_sign(const stk_jwt_key_t *key, const stk_jwt_claims_t *claims, char *out, size_t cap,
                 size_t *len);

/* Verifies token (len bytes, need not be NUL-terminated) as a token of type want at time now
 * and on success fills *claims (may be NULL). Checks, in order: size, three segments,
 * base64url, header (alg must be "HS256" — "none" and every other alg are refused before
 * any signature work), signature (constant time), payload JSON, claims (all five present,
 * nothing else, well typed, exp > iat, exp - iat not above the type's TTL), typ == want,
 * iat <= now + STK_JWT_SKEW_S, now < exp.
 * Returns 0 (*why = STK_JWT_OK); STK_EPERM when the token is refused, with *why saying why
 * (a JSON allocation failure also reads as HEADER or PAYLOAD: the token is refused either
 * way); STK_EINVAL (key or token NULL, bad want); STK_ECRYPTO (libsodium could not
 * initialise). why and claims may be NULL. Borrowed: all. Stack use: about 4.5 KiB. */
int stk_jwt_verify(const stk_jwt_key_t *key, const char *token, size_t len, stk_jwt_typ_t want,
                   int64_t now, stk_jwt_claims_t *claims, stk_jwt_reason_t *why);

/* Extracts the token from an Authorization header value (value: len bytes, need not be
 * NUL-terminated): optional spaces/tabs, the scheme "Bearer" (any case), one or more
 * spaces, then a b64token (RFC 6750 §2.1: ALPHA DIGIT - . _ ~ + / then any "="), optional
 * trailing spaces/tabs, nothing else. Sets *token (pointing into value) and *token_len.
 * Returns 0; STK_EINVAL (another scheme, no token, a character outside b64token, NULL
 * arguments); STK_ETOOBIG (token longer than STK_JWT_MAX). Either error → 401. Pure. */
int stk_jwt_bearer(const char *value, size_t len, const char **token, size_t *token_len);

/* Message ("token has expired") and symbolic name ("EXPIRED") of a reason; never NULL. */
const char *stk_jwt_reason_message(stk_jwt_reason_t why);
const char *stk_jwt_reason_name(stk_jwt_reason_t why);

#endif
