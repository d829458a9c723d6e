/* tests/net/test_api_auth.c — accounts over real sockets against the in-process app:
 * register, login, me, refresh (rotation, replay), logout, every validation rule of the
 * contract, hostile tokens, and that rejected requests leave nothing in the log. */
#include <criterion/criterion.h>

#include "client.h"

#include "core/error.h"
#include "net/auth_jwt.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static app_runner_t R;

static void setup(void)
{
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
}

static void teardown(void)
{
    ar_stop(&R, false);
}

TestSuite(api_auth, .init = setup, .fini = teardown, .timeout = 60);

static void register_ok(const char *user, const char *email, const char *pw)
{
    hc_resp_t r;
    hc_jsonf(R.port, "POST", "/v1/auth/register", NULL, &r,
             "{\"username\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}", user, email, pw);
    cr_assert_eq(r.status, 201, "register %s: %d %s", user, r.status, r.body);
    cr_assert_str_eq(hc_str(&r, "username"), user);
    stk_uuid_t id;
    cr_assert_eq(stk_uuid_parse(hc_str(&r, "id"), &id), 0);
    cr_assert(strlen(hc_str(&r, "created_at")) == 24, "created_at %s", hc_str(&r, "created_at"));
    hc_free(&r);
}

/* Logs in; copies the tokens (each buffer STK_JWT_BUF). */
static int login(const char *field, const char *name, const char *pw, char *access, char *refresh)
{
    hc_resp_t r;
    hc_jsonf(R.port, "POST", "/v1/auth/login", NULL, &r, "{\"%s\":\"%s\",\"password\":\"%s\"}",
             field, name, pw);
    int st = r.status;
    if (st == 200) {
        cr_assert_str_eq(hc_str(&r, "token_type"), "Bearer");
        cr_assert_eq(json_integer_value(json_object_get(r.json, "expires_in")), 900);
        snprintf(access, STK_JWT_BUF, "%s", hc_str(&r, "access_token"));
        snprintf(refresh, STK_JWT_BUF, "%s", hc_str(&r, "refresh_token"));
    } else {
        cr_assert(hc_is_problem(&r), "login error is a problem: %s", r.body);
    }
    hc_free(&r);
    return st;
}

Test(api_auth, register_login_me_refresh_logout_then_old_refresh_is_refused)
{
    register_ok("Alice", "alice@example.com", "correct horse");
    char access[STK_JWT_BUF], refresh[STK_JWT_BUF];
    cr_assert_eq(login("username", "alice", "correct horse", access, refresh), 200,
                 "login is case-insensitive on the username");

    hc_resp_t r;
    hc_json(R.port, "GET", "/v1/users/me", access, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(hc_str(&r, "username"), "Alice");
    cr_assert_str_eq(hc_str(&r, "email"), "alice@example.com", "email unsealed for its owner");
    cr_assert(json_is_string(json_object_get(r.json, "last_login")), "login recorded");
    hc_free(&r);

    /* Rotation: the refresh token buys a new pair once. */
    hc_jsonf(R.port, "POST", "/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}", refresh);
    cr_assert_eq(r.status, 200, "%s", r.body);
    char access2[STK_JWT_BUF], refresh2[STK_JWT_BUF];
    snprintf(access2, sizeof access2, "%s", hc_str(&r, "access_token"));
    snprintf(refresh2, sizeof refresh2, "%s", hc_str(&r, "refresh_token"));
    hc_free(&r);
    cr_assert_str_neq(refresh2, refresh);

    hc_json(R.port, "POST", "/v1/auth/logout", access2, NULL, &r);
    cr_assert_eq(r.status, 204, "%s", r.body);
    hc_free(&r);

    /* After logout the rotated token is revoked; the first one was already used. */
    hc_jsonf(R.port, "POST", "/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}", refresh2);
    cr_assert_eq(r.status, 401, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_jsonf(R.port, "POST", "/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}", refresh);
    cr_assert_eq(r.status, 401, "%s", r.body);
    cr_assert(strstr(r.body, "already used"), "%s", r.body);
    hc_free(&r);
}

Test(api_auth, replayed_refresh_token_revokes_the_family)
{
    register_ok("bob", "bob@example.com", "hunter22hunter");
    char access[STK_JWT_BUF], refresh[STK_JWT_BUF];
    cr_assert_eq(login("email", "BOB@example.com", "hunter22hunter", access, refresh), 200,
                 "login by email, case-insensitive");
    hc_resp_t r;
    hc_jsonf(R.port, "POST", "/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}", refresh);
    cr_assert_eq(r.status, 200);
    char refresh2[STK_JWT_BUF];
    snprintf(refresh2, sizeof refresh2, "%s", hc_str(&r, "refresh_token"));
    hc_free(&r);
    /* The thief replays the old token: refused, and the legitimate new one dies too. */
    hc_jsonf(R.port, "POST", "/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}", refresh);
    cr_assert_eq(r.status, 401);
    hc_free(&r);
    hc_jsonf(R.port, "POST", "/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}", refresh2);
    cr_assert_eq(r.status, 401, "%s", r.body);
    hc_free(&r);
}

Test(api_auth, duplicate_username_or_email_is_409_naming_the_field)
{
    register_ok("carol", "carol@example.com", "password123");
    uint64_t head = ar_head(&R);
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/auth/register", NULL,
            "{\"username\":\"CAROL\",\"email\":\"other@example.com\",\"password\":\"password123\"}",
            &r);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    cr_assert(hc_has_field_error(&r, "username", "taken"), "%s", r.body);
    hc_free(&r);
    hc_json(
        R.port, "POST", "/v1/auth/register", NULL,
        "{\"username\":\"carol2\",\"email\":\"Carol@Example.COM\",\"password\":\"password123\"}",
        &r);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(hc_has_field_error(&r, "email", "taken"), "%s", r.body);
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head, "rejected registrations leave nothing in the log");
}

Test(api_auth, invalid_fields_are_422_with_every_field_named)
{
    uint64_t head = ar_head(&R);
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/auth/register", NULL,
            "{\"username\":\"ab\",\"email\":\"not-an-email\",\"password\":\"short\"}", &r);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert(hc_is_problem(&r), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "username", "length"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "email", "format"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "password", "too_short"), "%s", r.body);
    hc_free(&r);

    const char *bad_emails[] = {"a@b.c",  "@example.com",   "a b@example.com", "a@example",
                                "a@.com", "a@exa_mple.com", "a@example.c0m"};
    for (size_t i = 0; i < sizeof bad_emails / sizeof bad_emails[0]; i++) {
        hc_jsonf(R.port, "POST", "/v1/auth/register", NULL, &r,
                 "{\"username\":\"dave%zu\",\"email\":\"%s\",\"password\":\"password123\"}", i,
                 bad_emails[i]);
        cr_assert_eq(r.status, 422, "%s: %s", bad_emails[i], r.body);
        cr_assert(hc_has_field_error(&r, "email", NULL), "%s", bad_emails[i]);
        hc_free(&r);
    }
    char longname[80];
    memset(longname, 'x', 51);
    longname[51] = 0;
    hc_jsonf(R.port, "POST", "/v1/auth/register", NULL, &r,
             "{\"username\":\"%s\",\"email\":\"x@example.com\",\"password\":\"password123\"}",
             longname);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "username", "length"));
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/auth/register", NULL,
            "{\"username\":\"a@b\",\"email\":\"x@example.com\",\"password\":\"password123\"}", &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "username", "format"));
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/auth/register", NULL, "{\"username\":5,\"password\":true}", &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "username", "type"));
    cr_assert(hc_has_field_error(&r, "email", "required"));
    cr_assert(hc_has_field_error(&r, "password", "type"));
    hc_free(&r);
    /* A 50-character name with multi-byte characters counts code points, not bytes. */
    hc_json(R.port, "POST", "/v1/auth/register", NULL,
            "{\"username\":\"\u00e9\u00e9\u00e9\",\"email\":\"e@example.com\","
            "\"password\":\"password123\"}",
            &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head + 1, "only the valid registration was appended");
}

Test(api_auth, bodies_must_be_json_objects)
{
    hc_resp_t r;
    hc_request(R.port, "POST", "/v1/auth/register", NULL, "text/plain", "{}", 2, &r);
    cr_assert_eq(r.status, 415);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/auth/register", NULL, "{\"username\":", &r);
    cr_assert_eq(r.status, 400);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/auth/register", NULL, "[1,2]", &r);
    cr_assert_eq(r.status, 400);
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/auth/login", NULL, "{\"username\":\"a\",\"username\":\"b\"}", &r);
    cr_assert_eq(r.status, 400, "duplicate keys are refused");
    hc_free(&r);
}

Test(api_auth, wrong_password_and_unknown_user_get_the_same_401)
{
    register_ok("erin", "erin@example.com", "password123");
    uint64_t head = ar_head(&R);
    char a[STK_JWT_BUF], b[STK_JWT_BUF];
    hc_resp_t r1, r2;
    hc_json(R.port, "POST", "/v1/auth/login", NULL,
            "{\"username\":\"erin\",\"password\":\"wrong-password\"}", &r1);
    hc_json(R.port, "POST", "/v1/auth/login", NULL,
            "{\"username\":\"nobody\",\"password\":\"wrong-password\"}", &r2);
    cr_assert_eq(r1.status, 401);
    cr_assert_eq(r2.status, 401);
    cr_assert_str_eq(r1.body, r2.body);
    cr_assert(hc_is_problem(&r1));
    hc_free(&r1);
    hc_free(&r2);
    cr_assert_eq(login("username", "erin", "x", a, b), 401, "a too short password is just wrong");
    cr_assert_eq(ar_head(&R), head, "failed logins append nothing");
}

static void b64url(const void *data, size_t len, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int me_status(const char *token, char *detail, size_t cap)
{
    hc_resp_t r;
    hc_json(R.port, "GET", "/v1/users/me", token, NULL, &r);
    int st = r.status;
    char www[512];
    if (st == 401) {
        cr_assert(hc_is_problem(&r), "%s", r.body);
        cr_assert(hc_header(&r, "WWW-Authenticate", www, sizeof www), "challenge present");
        cr_assert(strncmp(www, "Bearer", 6) == 0);
    }
    snprintf(detail, cap, "%s", hc_str(&r, "detail"));
    hc_free(&r);
    return st;
}

Test(api_auth, hostile_tokens_are_401_with_the_reason)
{
    register_ok("frank", "frank@example.com", "password123");
    char access[STK_JWT_BUF], refresh[STK_JWT_BUF], d[256];
    cr_assert_eq(login("username", "frank", "password123", access, refresh), 200);
    cr_assert_eq(me_status(access, d, sizeof d), 200);

    cr_assert_eq(me_status(NULL, d, sizeof d), 401);
    cr_assert(strstr(d, "missing"), "%s", d);

    /* Refresh token used as an access token. */
    cr_assert_eq(me_status(refresh, d, sizeof d), 401);
    cr_assert(strstr(d, "not an access token"), "%s", d);

    /* Tampered: flip one character of the payload. */
    char t[STK_JWT_BUF];
    snprintf(t, sizeof t, "%s", access);
    char *dot = strchr(t, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    cr_assert_eq(me_status(t, d, sizeof d), 401);

    /* Expired: signed with the right key two hours ago. */
    stk_jwt_claims_t c;
    stk_uuid_t sub;
    stk_uuid_random(&sub);
    cr_assert_eq(stk_jwt_claims_new(&c, &sub, STK_JWT_ACCESS, stk_app_now_s() - 7200), 0);
    cr_assert_eq(stk_jwt_sign(&ar_test_key, &c, t, sizeof t, NULL), 0);
    cr_assert_eq(me_status(t, d, sizeof d), 401);
    cr_assert(strstr(d, "expired"), "%s", d);

    /* alg:none with the real payload and no signature. */
    const char *hdr = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    char h64[128];
    b64url(hdr, strlen(hdr), h64, sizeof h64);
    char *p1 = strchr(access, '.') + 1;
    char *p2 = strchr(p1, '.');
    char none[STK_JWT_BUF];
    snprintf(none, sizeof none, "%s.%.*s.", h64, (int)(p2 - p1), p1);
    cr_assert_eq(me_status(none, d, sizeof d), 401);
    snprintf(none, sizeof none, "%s.%.*s.%s", h64, (int)(p2 - p1), p1, p2 + 1);
    cr_assert_eq(me_status(none, d, sizeof d), 401);
    cr_assert(strstr(d, "HS256"), "%s", d);

    /* Signed with another key. */
    stk_jwt_key_t other;
    stk_jwt_key_generate(&other);
    cr_assert_eq(stk_jwt_claims_new(&c, &sub, STK_JWT_ACCESS, stk_app_now_s()), 0);
    cr_assert_eq(stk_jwt_sign(&other, &c, t, sizeof t, NULL), 0);
    cr_assert_eq(me_status(t, d, sizeof d), 401);
    cr_assert(strstr(d, "signature"), "%s", d);

    /* An access token used as a refresh token. */
    hc_resp_t r;
    hc_jsonf(R.port, "POST", "/v1/auth/refresh", NULL, &r, "{\"refresh_token\":\"%s\"}", access);
    cr_assert_eq(r.status, 401);
    hc_free(&r);

    /* Not a Bearer scheme. */
    hc_request(R.port, "GET", "/v1/users/me", "Authorization: Basic YTpi\r\n", NULL, NULL, 0, &r);
    cr_assert_eq(r.status, 401);
    hc_free(&r);
}

typedef struct racer {
    int port;
    int i;
    int status;
    bool named_username;
} racer_t;

static void *race_register(void *arg)
{
    racer_t *x = arg;
    hc_resp_t r;
    hc_jsonf(
        x->port, "POST", "/v1/auth/register", NULL, &r,
        "{\"username\":\"Racer\",\"email\":\"racer%d@example.com\",\"password\":\"password123\"}",
        x->i);
    x->status = r.status;
    x->named_username = hc_has_field_error(&r, "username", "taken");
    hc_free(&r);
    return NULL;
}

Test(api_auth, concurrent_registrations_of_one_name_yield_exactly_one_account)
{
    enum { N = 8 };
    racer_t x[N];
    pthread_t th[N];
    uint64_t head = ar_head(&R);
    for (int i = 0; i < N; i++) {
        x[i] = (racer_t){.port = R.port, .i = i};
        pthread_create(&th[i], NULL, race_register, &x[i]);
    }
    int created = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (x[i].status == 201)
            created++;
        else {
            cr_assert_eq(x[i].status, 409, "racer %d: %d", i, x[i].status);
            cr_assert(x[i].named_username, "racer %d: the conflict names username", i);
        }
    }
    cr_assert_eq(created, 1);
    cr_assert_eq(ar_head(&R), head + 1, "one UserRegistered in the log");
}
