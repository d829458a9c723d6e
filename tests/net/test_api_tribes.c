/* tests/net/test_api_tribes.c — tribes CRUD over real sockets: every check of the
 * contract with its field error, exact decimal → basis-point conversion, owner-only
 * changes, expected versions (409), and nothing logged for rejected requests. */
#include <criterion/criterion.h>

#include "client.h"

#include <stdio.h>
#include <string.h>

static app_runner_t R;
static char alice[STK_JWT_BUF], bob[STK_JWT_BUF];

static void setup(void)
{
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
    cr_assert_eq(hc_user(R.port, "alice", alice, NULL), 0);
    cr_assert_eq(hc_user(R.port, "bob", bob, NULL), 0);
}

static void teardown(void)
{
    ar_stop(&R, false);
}

TestSuite(api_tribes, .init = setup, .fini = teardown, .timeout = 60);

#define GOOD                                                                                       \
    "{\"name\":\"Red Hand\",\"archetype\":\"Aggressive\",\"damage_bonus\":0.25,"                   \
    "\"attack_speed_bonus\":0.15,\"range_bonus\":0.10,\"color_theme\":\"#ff0000\"}"

/* Creates a tribe; copies its id into id (37 bytes). */
static void create(const char *token, const char *body, char *id)
{
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/tribes", token, body, &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    snprintf(id, STK_UUID_STR_LEN + 1, "%s", hc_str(&r, "id"));
    char loc[128];
    cr_assert(hc_header(&r, "Location", loc, sizeof loc));
    cr_assert(strstr(loc, id));
    hc_free(&r);
}

Test(api_tribes, create_get_list_update_delete)
{
    char id[STK_UUID_STR_LEN + 1], path[128];
    create(alice, GOOD, id);
    snprintf(path, sizeof path, "/v1/tribes/%s", id);

    hc_resp_t r;
    hc_json(R.port, "GET", path, bob, NULL, &r);
    cr_assert_eq(r.status, 200, "any logged-in user may look at a tribe: %s", r.body);
    cr_assert_str_eq(hc_str(&r, "name"), "Red Hand");
    cr_assert_str_eq(hc_str(&r, "archetype"), "Aggressive");
    cr_assert_float_eq(json_real_value(json_object_get(r.json, "damage_bonus")), 0.25, 1e-12);
    cr_assert_float_eq(json_real_value(json_object_get(r.json, "range_bonus")), 0.10, 1e-12);
    cr_assert(strstr(r.body, "\"range_bonus\":0.1,"), "decimals written exactly: %s", r.body);
    cr_assert_str_eq(hc_str(&r, "color_theme"), "#ff0000");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 1);
    char etag[32];
    cr_assert(hc_header(&r, "ETag", etag, sizeof etag));
    cr_assert_str_eq(etag, "\"1\"");
    hc_free(&r);

    char id2[STK_UUID_STR_LEN + 1];
    create(alice,
           "{\"name\":\"Wall\",\"archetype\":\"Defensive\",\"damage_bonus\":\"0\","
           "\"attack_speed_bonus\":\"0.5\",\"range_bonus\":0,\"color_theme\":\"#00AAff\"}",
           id2);
    hc_json(R.port, "GET", "/v1/tribes", alice, NULL, &r);
    cr_assert_eq(r.status, 200);
    json_t *list = json_object_get(r.json, "tribes");
    cr_assert_eq(json_array_size(list), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), id);
    hc_free(&r);
    hc_json(R.port, "GET", "/v1/tribes", bob, NULL, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "tribes")), 0, "own tribes only");
    hc_free(&r);

    hc_json(R.port, "PUT", path, alice,
            "{\"name\":\"Red Hand II\",\"archetype\":\"Support\",\"damage_bonus\":0.2,"
            "\"attack_speed_bonus\":0.2,\"range_bonus\":0.1,\"color_theme\":\"#112233\"}",
            &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(hc_str(&r, "name"), "Red Hand II");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "version")), 2);
    hc_free(&r);

    hc_json(R.port, "DELETE", path, alice, NULL, &r);
    cr_assert_eq(r.status, 204, "%s", r.body);
    hc_free(&r);
    hc_json(R.port, "GET", path, alice, NULL, &r);
    cr_assert_eq(r.status, 404);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_json(R.port, "GET", "/v1/tribes", alice, NULL, &r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "tribes")), 1, "deleted is gone");
    hc_free(&r);
}

Test(api_tribes, another_users_tribe_cannot_be_changed)
{
    char id[STK_UUID_STR_LEN + 1], path[128];
    create(alice, GOOD, id);
    snprintf(path, sizeof path, "/v1/tribes/%s", id);
    uint64_t head = ar_head(&R);
    hc_resp_t r;
    hc_json(R.port, "PUT", path, bob, GOOD, &r);
    cr_assert_eq(r.status, 403, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_json(R.port, "DELETE", path, bob, NULL, &r);
    cr_assert_eq(r.status, 403);
    hc_free(&r);
    hc_json(R.port, "GET", "/v1/tribes/00000000-0000-4000-8000-000000000000", alice, NULL, &r);
    cr_assert_eq(r.status, 404);
    hc_free(&r);
    hc_json(R.port, "GET", "/v1/tribes/not-a-uuid", alice, NULL, &r);
    cr_assert_eq(r.status, 404);
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/tribes", NULL, GOOD, &r);
    cr_assert_eq(r.status, 401, "tribes need a login");
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head);
}

Test(api_tribes, every_contract_check_is_a_field_error)
{
    uint64_t head = ar_head(&R);
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/tribes", alice,
            "{\"name\":\"\",\"archetype\":\"aggressive\",\"damage_bonus\":0.255,"
            "\"attack_speed_bonus\":-0.1,\"range_bonus\":\"abc\",\"color_theme\":\"red\"}",
            &r);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    cr_assert(hc_has_field_error(&r, "name", "length"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "archetype", "enum"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "damage_bonus", "precision"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "attack_speed_bonus", "range"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "range_bonus", "type"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "color_theme", "format"), "%s", r.body);
    hc_free(&r);

    /* Sum must be exactly 0.50. */
    hc_json(R.port, "POST", "/v1/tribes", alice,
            "{\"name\":\"x\",\"archetype\":\"Balanced\",\"damage_bonus\":0.2,"
            "\"attack_speed_bonus\":0.2,\"range_bonus\":0.2,\"color_theme\":\"#000000\"}",
            &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "bonuses", "sum"), "%s", r.body);
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/tribes", alice,
            "{\"name\":\"x\",\"archetype\":\"Balanced\",\"damage_bonus\":0.6,"
            "\"attack_speed_bonus\":0,\"range_bonus\":0,\"color_theme\":\"#000000\"}",
            &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "damage_bonus", "range"), "%s", r.body);
    hc_free(&r);

    char name[160];
    memset(name, 'n', 101);
    name[101] = 0;
    hc_jsonf(R.port, "POST", "/v1/tribes", alice, &r,
             "{\"name\":\"%s\",\"archetype\":\"Balanced\",\"damage_bonus\":0.5,"
             "\"attack_speed_bonus\":0,\"range_bonus\":0,\"color_theme\":\"#000000\"}",
             name);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "name", "length"));
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/tribes", alice, "{}", &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "name", "required"));
    cr_assert(hc_has_field_error(&r, "archetype", "required"));
    cr_assert(hc_has_field_error(&r, "damage_bonus", "required"));
    cr_assert(hc_has_field_error(&r, "color_theme", "required"));
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/tribes", alice,
            "{\"name\":\"x\",\"archetype\":\"Balanced\",\"damage_bonus\":0.5,"
            "\"attack_speed_bonus\":0,\"range_bonus\":0,\"color_theme\":\"#0000000\"}",
            &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "color_theme", "format"));
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head, "the log holds nothing from rejected requests");

    /* 100-character names with multi-byte characters are fine; 0.50 + 0 + 0 is a sum. */
    char ok[512] = "";
    for (int i = 0; i < 100; i++)
        strcat(ok, "\xc3\xa9");
    hc_jsonf(R.port, "POST", "/v1/tribes", alice, &r,
             "{\"name\":\"%s\",\"archetype\":\"Balanced\",\"damage_bonus\":0.50,"
             "\"attack_speed_bonus\":0,\"range_bonus\":0.00,\"color_theme\":\"#AbCdEf\"}",
             ok);
    cr_assert_eq(r.status, 201, "%s", r.body);
    hc_free(&r);
}

Test(api_tribes, stale_if_match_is_409_and_changes_nothing)
{
    char id[STK_UUID_STR_LEN + 1], path[128];
    create(alice, GOOD, id);
    snprintf(path, sizeof path, "/v1/tribes/%s", id);
    hc_resp_t r;
    hc_request(R.port, "PUT", path, "If-Match: \"1\"\r\nAuthorization: Bearer placeholder\r\n",
               "application/json", GOOD, strlen(GOOD), &r);
    cr_assert_eq(r.status, 401);
    hc_free(&r);
    char hdr[STK_JWT_BUF + 64];
    snprintf(hdr, sizeof hdr, "If-Match: \"1\"\r\nAuthorization: Bearer %s\r\n", alice);
    hc_request(R.port, "PUT", path, hdr, "application/json", GOOD, strlen(GOOD), &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    hc_free(&r);
    uint64_t head = ar_head(&R);
    /* Someone else changed it meanwhile (version 2): a client still holding 1 loses. */
    hc_request(R.port, "PUT", path, hdr, "application/json", GOOD, strlen(GOOD), &r);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_request(R.port, "DELETE", path, hdr, NULL, NULL, 0, &r);
    cr_assert_eq(r.status, 409, "%s", r.body);
    hc_free(&r);
    snprintf(hdr, sizeof hdr, "If-Match: bogus\r\nAuthorization: Bearer %s\r\n", alice);
    hc_request(R.port, "DELETE", path, hdr, NULL, NULL, 0, &r);
    cr_assert_eq(r.status, 400, "%s", r.body);
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head);
}
