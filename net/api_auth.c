/* net/api_auth.c — accounts: register, login, refresh, logout, me (DESIGN §8).
 *
 *   POST /v1/auth/register {username, email, password} → 201 {id, username, created_at}
 *   POST /v1/auth/login    {username | email, password} → 200 token pair
 *   POST /v1/auth/refresh  {refresh_token}              → 200 new pair (rotation)
 *   POST /v1/auth/logout   (Bearer access)              → 204, the user's refresh tokens revoked
 *   GET  /v1/users/me      (Bearer access)              → 200 the user
 *
 * Registration checks the contract (username 3..50 code points — and no '@' or control
 * characters, so a login name is never mistaken for an email —, email against the
 * contract's regex and at most 255 bytes, password 8..128 bytes), then hashes the password
 * with argon2id on a worker thread and appends UserRegistered with, in the same LMDB
 * transaction: the unique claims "username" (ASCII-lowercased: "Alice" and "alice" are one
 * name) and "email" (BLAKE2b-256 of the lowercased address — the index holds no personal
 * data) and a fresh per-user data key with which the email and the hash inside the event
 * are sealed (events/seal.h).
 * Login verifies on a worker too (an unknown name burns the same work), appends
 * UserLoggedIn (last_login) and only then issues the tokens. Wrong password and unknown
 * user get the same 401.
 *
 * Not here: token crypto (net/auth_jwt.h), the refresh store (net/auth_refresh.h), the
 * argon2id parameters (net/auth_password.h), erasure (a later tool).
 * Thread: handlers run on the loop thread; only argon2id runs on workers.
 */
#include "net/app.h"

#include "core/error.h"
#include "events/payload.h"
#include "events/seal.h"
#include "events/types.h"
#include "net/model.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define USERNAME_MIN   3
#define USERNAME_MAX   50  /* code points (the contract's length()) */
#define USERNAME_BYTES 200 /* 50 code points of at most 4 bytes */
#define EMAIL_MAX      255 /* varchar(255) */
#define EMAIL_HASH_LEN 32
#define IDX_USERNAME   "username"
#define IDX_EMAIL      "email"

/* ---- checks --------------------------------------------------------------------------------- */

static size_t utf8_codepoints(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static void ascii_lower(const char *s, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[len] = '\0';
}

/* The contract's CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}$'),
 * case-insensitive. The top-level part admits no '.', so it follows the LAST dot. */
static bool email_valid(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (!at || at == s)
        return false;
    for (const char *p = s; p < at; p++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
        if (!ok)
            return false;
    }
    const char *dom = at + 1, *end = s + len;
    const char *dot = NULL;
    for (const char *p = dom; p < end; p++) {
        if (*p == '.')
            dot = p;
    }
    if (!dot || dot == dom || end - (dot + 1) < 2)
        return false;
    for (const char *p = dom; p < dot; p++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-';
        if (!ok)
            return false;
    }
    for (const char *p = dot + 1; p < end; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '|'))
            return false;
    }
    return true;
}

/* Reads body[key] as a string into *s and *len; adds a field error if it is missing or not a
 * string. Returns true if present and a string. */
static bool get_string(const json_t *body, const char *key, stk_app_fields_t *f, const char **s,
                       size_t *len)
{
    const json_t *v = json_object_get(body, key);
    if (!v) {
        stk_app_fields_add(f, key, "required", "%s is required", key);
        return false;
    }
    if (!json_is_string(v)) {
        stk_app_fields_add(f, key, "type", "%s must be a string", key);
        return false;
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return true;
}

static void check_username(const char *s, size_t len, stk_app_fields_t *f)
{
    size_t cp = utf8_codepoints(s, len);
    if (cp < USERNAME_MIN || cp > USERNAME_MAX) {
        stk_app_fields_add(f, "username", "length", "username must be %d..%d characters, not %zu",
                           USERNAME_MIN, USERNAME_MAX, cp);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            stk_app_fields_add(f, "username", "format",
                               "username must not contain control characters");
            return;
        }
        if (c == '@') {
            stk_app_fields_add(f, "username", "format", "username must not contain '@'");
            return;
        }
    }
    if (s[0] == ' ' || s[len - 1] == ' ')
        stk_app_fields_add(f, "username", "format", "username must not start or end with a space");
}

static void check_email(const char *s, size_t len, stk_app_fields_t *f)
{
    if (len > EMAIL_MAX)
        stk_app_fields_add(f, "email", "length", "email must be at most %d bytes", EMAIL_MAX);
    else if (!email_valid(s, len))
        stk_app_fields_add(f, "email", "format", "email must look like name@example.com");
}

static void check_password(const char *s, size_t len, stk_app_fields_t *f)
{
    stk_password_problem_t why;
    if (stk_password_check(s, len, &why) != 0) {
        const char *code = why == STK_PASSWORD_TOO_SHORT  ? "too_short"
                           : why == STK_PASSWORD_TOO_LONG ? "too_long"
                                                          : "format";
        stk_app_fields_add(f, "password", code, "%s", stk_password_problem_message(why));
    }
}

static void email_key(const char *lower, size_t len, uint8_t out[EMAIL_HASH_LEN])
{
    static const char domain[] = "stockade.email.v1";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, EMAIL_HASH_LEN);
    crypto_generichash_update(&st, (const uint8_t *)domain, sizeof domain);
    crypto_generichash_update(&st, (const uint8_t *)lower, len);
    crypto_generichash_final(&st, out, EMAIL_HASH_LEN);
}

/* Owner of a username / email, or ENOTFOUND. */
static int lookup(stk_app_t *app, const char *index, const uint8_t *v, size_t len,
                  stk_uuid_t *owner)
{
    return stk_log_unique_get(stk_app_log(app), index, v, len, owner);
}

static int conflict(stk_http_res_t *res, const char *field)
{
    stk_app_fields_t f;
    stk_app_fields_init(&f);
    stk_app_fields_add(&f, field, "taken", "this %s is already registered", field);
    return stk_app_problem(res, 409, &f, "%s is already registered", field);
}

/* ---- register ------------------------------------------------------------------------------- */

typedef struct reg {
    stk_app_t *app;
    stk_http_res_t *res;
    stk_uuid_t id;
    char username[USERNAME_BYTES + 1];
    size_t username_len;
    char username_lc[USERNAME_BYTES + 1];
    char email[EMAIL_MAX + 1];
    size_t email_len;
    uint8_t email_hash[EMAIL_HASH_LEN];
    char password[STK_PASSWORD_MAX + 1];
    size_t password_len;
    stk_password_cost_t cost;
    char hash[STK_PASSWORD_HASH_MAX];
    int hash_rc;
} reg_t;

static void reg_free(reg_t *r)
{
    sodium_memzero(r->password, sizeof r->password);
    sodium_memzero(r->hash, sizeof r->hash);
    free(r);
}

static void reg_hash(void *ud)
{
    reg_t *r = ud;
    r->hash_rc = stk_password_hash(r->password, r->password_len, &r->cost, r->hash);
    sodium_memzero(r->password, sizeof r->password);
}

static void reg_committed(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    reg_t *r = ud;
    (void)n;
    if (status == 0) {
        char id[STK_UUID_STR_LEN + 1], at[STK_APP_ISO_LEN];
        stk_uuid_format(&r->id, id);
        stk_app_iso8601(res[0].time_us, at);
        stk_app_send_json_new(
            r->res, 201,
            json_pack("{s:s, s:s, s:s}", "id", id, "username", r->username, "created_at", at));
    } else if (status == STK_EEXIST) {
        /* Lost a race with another registration: name the field that is taken. */
        stk_uuid_t owner;
        int taken = lookup(r->app, IDX_USERNAME, (const uint8_t *)r->username_lc,
                           strlen(r->username_lc), &owner) == 0;
        conflict(r->res, taken ? "username" : "email");
    } else {
        stk_app_problem_err(r->res, status, NULL, NULL);
    }
    reg_free(r);
}

static int reg_append(reg_t *r)
{
    uint8_t key[STK_SEAL_KEY_LEN];
    uint8_t email_sealed[EMAIL_MAX + STK_SEAL_OVERHEAD];
    uint8_t hash_sealed[STK_PASSWORD_HASH_MAX + STK_SEAL_OVERHEAD];
    size_t email_len = 0, hash_len = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = stk_seal_user_key_create(key);
    rc = rc ? rc
            : stk_seal(key, (const uint8_t *)r->email, r->email_len, email_sealed,
                       sizeof email_sealed, &email_len);
    rc = rc ? rc
            : stk_seal(key, (const uint8_t *)r->hash, strlen(r->hash), hash_sealed,
                       sizeof hash_sealed, &hash_len);
    if (rc)
        goto done;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rc = msgpack_pack_map(&pk, 3) ? STK_ENOMEM : 0;
    rc = rc ? rc : stk_payload_put_str(&pk, "username", r->username, r->username_len);
    rc = rc ? rc : stk_payload_put_bin(&pk, "email", email_sealed, email_len);
    rc = rc ? rc : stk_payload_put_bin(&pk, "password_hash", hash_sealed, hash_len);
    rc = rc ? rc
            : stk_payload_check(STK_EV_USER_REGISTERED, 1, (const uint8_t *)sb.data, sb.size, NULL);
    if (rc)
        goto done;
    stk_unique_op_t claims[2] = {
        {.index = IDX_USERNAME,
         .value = (const uint8_t *)r->username_lc,
         .value_len = strlen(r->username_lc),
         .owner = r->id},
        {.index = IDX_EMAIL, .value = r->email_hash, .value_len = EMAIL_HASH_LEN, .owner = r->id},
    };
    stk_append_t item = {
        .stream = r->id,
        .type = STK_EV_USER_REGISTERED,
        .schema = 1,
        .actor = r->id,
        .payload = (const uint8_t *)sb.data,
        .payload_len = sb.size,
        .expected_version = STK_VERSION_NONE,
        .unique = claims,
        .n_unique = 2,
        .key_op = STK_KEY_PUT,
        .data_key = key,
        .data_key_len = sizeof key,
    };
    rc = stk_app_append(r->app, &item, 1, reg_committed, r);
done:
    sodium_memzero(key, sizeof key);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void reg_hashed(void *ud, int status)
{
    reg_t *r = ud;
    int rc = status ? status : r->hash_rc;
    rc = rc ? rc : reg_append(r);
    if (rc) {
        stk_app_problem_err(r->res, rc, NULL, NULL);
        reg_free(r);
    }
}

static void h_register(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    json_t *body;
    if (stk_app_json_body(req, res, &body))
        return;
    stk_app_fields_t f;
    stk_app_fields_init(&f);
    const char *u = NULL, *e = NULL, *p = NULL;
    size_t ul = 0, el = 0, pl = 0;
    if (get_string(body, "username", &f, &u, &ul))
        check_username(u, ul, &f);
    if (get_string(body, "email", &f, &e, &el))
        check_email(e, el, &f);
    if (get_string(body, "password", &f, &p, &pl))
        check_password(p, pl, &f);
    if (f.n || f.dropped) {
        stk_app_problem_fields(res, &f);
        json_decref(body);
        return;
    }
    reg_t *r = calloc(1, sizeof(*r));
    if (!r) {
        json_decref(body);
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    r->app = app;
    r->res = res;
    stk_uuid_random(&r->id);
    memcpy(r->username, u, ul);
    r->username_len = ul;
    ascii_lower(u, ul, r->username_lc);
    memcpy(r->email, e, el);
    r->email_len = el;
    char email_lc[EMAIL_MAX + 1];
    ascii_lower(e, el, email_lc);
    email_key(email_lc, el, r->email_hash);
    memcpy(r->password, p, pl);
    r->password_len = pl;
    r->cost = stk_app_config(app)->password_cost;
    json_decref(body); /* the password copy in jansson's memory is freed here */

    /* Refuse taken names before spending argon2id work; the claims in the append are what
     * guarantees uniqueness under races. */
    stk_uuid_t owner;
    const char *taken = NULL;
    if (lookup(app, IDX_USERNAME, (const uint8_t *)r->username_lc, strlen(r->username_lc),
               &owner) == 0)
        taken = "username";
    else if (lookup(app, IDX_EMAIL, r->email_hash, EMAIL_HASH_LEN, &owner) == 0)
        taken = "email";
    int rc = taken ? STK_EEXIST : stk_app_work(app, reg_hash, reg_hashed, r);
    if (taken)
        conflict(res, taken);
    else if (rc)
        stk_app_problem_err(res, rc, NULL, NULL);
    if (rc)
        reg_free(r);
}

/* ---- login ---------------------------------------------------------------------------------- */

typedef struct login {
    stk_app_t *app;
    stk_http_res_t *res;
    bool known;
    stk_uuid_t user;
    char hash[STK_PASSWORD_HASH_MAX];
    char password[STK_PASSWORD_MAX + 1];
    size_t password_len;
    stk_password_cost_t cost;
    int verify_rc;
} login_t;

static void login_free(login_t *l)
{
    sodium_memzero(l, sizeof(*l));
    free(l);
}

static int bad_credentials(stk_http_res_t *res)
{
    stk_http_res_header(res, "WWW-Authenticate", "Bearer realm=\"stockade\"");
    return stk_app_problem(res, 401, NULL, "invalid username, email or password");
}

static json_t *token_json(const stk_token_pair_t *p)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I}", "access_token", p->access, "refresh_token",
                     p->refresh, "token_type", "Bearer", "expires_in",
                     (json_int_t)(p->access_claims.exp - p->access_claims.iat),
                     "refresh_expires_in",
                     (json_int_t)(p->refresh_claims.exp - p->refresh_claims.iat));
}

static void login_committed(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    login_t *l = ud;
    (void)res;
    (void)n;
    if (status != 0) {
        stk_app_problem_err(l->res, status, NULL, NULL);
        login_free(l);
        return;
    }
    stk_token_pair_t pair;
    int rc = stk_refresh_login(stk_app_refresh(l->app), stk_app_jwt_key(l->app), &l->user,
                               stk_app_now_s(), &pair);
    if (rc)
        stk_app_problem_err(l->res, rc == STK_EFULL ? STK_EBUSY : rc, NULL, NULL);
    else {
        stk_http_res_header(l->res, "Cache-Control", "no-store");
        stk_app_send_json_new(l->res, 200, token_json(&pair));
    }
    sodium_memzero(&pair, sizeof pair);
    login_free(l);
}

static void login_verify(void *ud)
{
    login_t *l = ud;
    if (l->known)
        l->verify_rc = stk_password_verify(l->hash, l->password, l->password_len);
    else {
        stk_password_burn(&l->cost);
        l->verify_rc = STK_EPERM;
    }
}

static void login_verified(void *ud, int status)
{
    login_t *l = ud;
    if (status != 0) {
        stk_app_problem_err(l->res, status, NULL, NULL);
        login_free(l);
        return;
    }
    if (l->verify_rc != 0) {
        if (l->verify_rc == STK_EPERM || l->verify_rc == STK_EINVAL)
            bad_credentials(l->res);
        else
            stk_app_problem_err(l->res, l->verify_rc, NULL, NULL);
        login_free(l);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = msgpack_pack_map(&pk, 0) ? STK_ENOMEM : 0;
    stk_append_t item = {
        .stream = l->user,
        .type = STK_EV_USER_LOGGED_IN,
        .schema = 1,
        .actor = l->user,
        .payload = (const uint8_t *)sb.data,
        .payload_len = sb.size,
        .expected_version = STK_VERSION_ANY,
    };
    rc = rc ? rc : stk_app_append(l->app, &item, 1, login_committed, l);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        stk_app_problem_err(l->res, rc, NULL, NULL);
        login_free(l);
    }
}

static void h_login(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    json_t *body;
    if (stk_app_json_body(req, res, &body))
        return;
    stk_app_fields_t f;
    stk_app_fields_init(&f);
    const char *name = NULL, *pw = NULL;
    size_t name_len = 0, pw_len = 0;
    const char *which = json_object_get(body, "email") ? "email" : "username";
    get_string(body, which, &f, &name, &name_len);
    get_string(body, "password", &f, &pw, &pw_len);
    if (f.n) {
        stk_app_problem_fields(res, &f);
        json_decref(body);
        return;
    }
    login_t *l = calloc(1, sizeof(*l));
    if (!l) {
        json_decref(body);
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    l->app = app;
    l->res = res;
    l->cost = stk_app_config(app)->password_cost;
    if (pw_len <= STK_PASSWORD_MAX) {
        memcpy(l->password, pw, pw_len);
        l->password_len = pw_len;
    } else {
        l->password_len = pw_len; /* stk_password_verify refuses it without work */
    }
    int rc = STK_ENOTFOUND;
    char lc[USERNAME_BYTES + EMAIL_MAX + 2];
    if (name_len < sizeof lc) {
        ascii_lower(name, name_len, lc);
        if (strcmp(which, "email") == 0) {
            uint8_t h[EMAIL_HASH_LEN];
            email_key(lc, name_len, h);
            rc = lookup(app, IDX_EMAIL, h, sizeof h, &l->user);
        } else if (name_len > 0 && name_len <= STK_UNIQUE_VALUE_MAX) {
            rc = lookup(app, IDX_USERNAME, (const uint8_t *)lc, name_len, &l->user);
        }
    }
    json_decref(body);
    if (rc == 0) {
        stk_model_user_t *u = malloc(sizeof(*u));
        rc = u ? stk_model_user(stk_app_log(app), &l->user, u) : STK_ENOMEM;
        size_t hl = 0;
        if (rc == 0 && !u->erased)
            rc = stk_seal_open_for_user(stk_app_log(app), &l->user, u->hash_sealed,
                                        u->hash_sealed_len, (uint8_t *)l->hash, sizeof l->hash - 1,
                                        &hl);
        else if (rc == 0)
            rc = STK_ENOTFOUND;
        if (rc == 0) {
            l->hash[hl] = '\0';
            l->known = true;
        }
        if (u)
            sodium_memzero(u, sizeof(*u));
        free(u);
    }
    if (rc != 0 && rc != STK_ENOTFOUND) {
        stk_app_problem_err(res, rc, NULL, NULL);
        login_free(l);
        return;
    }
    rc = stk_app_work(app, login_verify, login_verified, l);
    if (rc) {
        stk_app_problem_err(res, rc, NULL, NULL);
        login_free(l);
    }
}

/* ---- refresh, logout, me -------------------------------------------------------------------- */

static void h_refresh(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    json_t *body;
    if (stk_app_json_body(req, res, &body))
        return;
    stk_app_fields_t f;
    stk_app_fields_init(&f);
    const char *tok = NULL;
    size_t len = 0;
    if (!get_string(body, "refresh_token", &f, &tok, &len)) {
        stk_app_problem_fields(res, &f);
        json_decref(body);
        return;
    }
    stk_token_pair_t pair;
    stk_jwt_reason_t jwt_why = STK_JWT_OK;
    stk_refresh_reason_t why = STK_REFRESH_OK;
    int rc = stk_refresh_rotate(stk_app_refresh(app), stk_app_jwt_key(app), tok, len,
                                stk_app_now_s(), &pair, &jwt_why, &why);
    json_decref(body);
    if (rc == STK_EPERM) {
        const char *msg = jwt_why != STK_JWT_OK
                              ? (jwt_why == STK_JWT_TYP ? "token is not a refresh token"
                                                        : stk_jwt_reason_message(jwt_why))
                              : stk_refresh_reason_message(why);
        stk_http_res_header(res, "WWW-Authenticate",
                            "Bearer realm=\"stockade\", error=\"invalid_token\"");
        stk_app_problem(res, 401, NULL, "%s", msg);
    } else if (rc != 0) {
        stk_app_problem_err(res, rc == STK_EFULL ? STK_EBUSY : rc, NULL, NULL);
    } else {
        stk_http_res_header(res, "Cache-Control", "no-store");
        stk_app_send_json_new(res, 200, token_json(&pair));
    }
    sodium_memzero(&pair, sizeof pair);
}

static void h_logout(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    int rc = stk_refresh_store_revoke_user(stk_app_refresh(app), &user, stk_app_now_s());
    if (rc)
        stk_app_problem_err(res, rc, NULL, NULL);
    else
        stk_app_send_empty(res, 204);
}

static void h_me(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_uuid_t user;
    if (stk_app_auth(app, req, res, &user))
        return;
    stk_model_user_t *u = malloc(sizeof(*u));
    int rc = u ? stk_model_user(stk_app_log(app), &user, u) : STK_ENOMEM;
    if (rc == 0 && u->erased)
        rc = STK_ENOTFOUND;
    char email[EMAIL_MAX + 1];
    size_t el = 0;
    if (rc == 0)
        rc = stk_seal_open_for_user(stk_app_log(app), &user, u->email_sealed, u->email_sealed_len,
                                    (uint8_t *)email, sizeof email - 1, &el);
    if (rc == STK_ENOTFOUND) {
        stk_app_problem(res, 404, NULL, "the account no longer exists");
    } else if (rc) {
        stk_app_problem_err(res, rc, NULL, NULL);
    } else {
        email[el] = '\0';
        char id[STK_UUID_STR_LEN + 1], created[STK_APP_ISO_LEN], last[STK_APP_ISO_LEN];
        stk_uuid_format(&user, id);
        stk_app_iso8601(u->created_us, created);
        stk_app_iso8601(u->last_login_us, last);
        json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s}", "id", id, "username", u->username,
                              "email", email, "level", 1, "total_games_played",
                              (json_int_t)stk_model_games_played(stk_app_model(app), &user),
                              "created_at", created);
        if (j)
            json_object_set_new(j, "last_login",
                                u->last_login_us ? json_string(last) : json_null());
        stk_app_send_json_new(res, 200, j);
        sodium_memzero(email, sizeof email);
    }
    if (u)
        sodium_memzero(u, sizeof(*u));
    free(u);
}

int stk_api_auth_routes(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n)
{
    const stk_route_t routes[] = {
        {"POST", "/v1/auth/register", h_register, app, 0},
        {"POST", "/v1/auth/login", h_login, app, 0},
        {"POST", "/v1/auth/refresh", h_refresh, app, 0},
        {"POST", "/v1/auth/logout", h_logout, app, 0},
        {"GET", "/v1/users/me", h_me, app, 0},
    };
    return stk_app_routes(routes, sizeof routes / sizeof routes[0], out, cap, n);
}
