/* tests/net/test_api_maps.c — maps over real sockets: an invalid map is 422 listing each
 * problem's field, a valid one 201; edit, publish/unpublish, rating (one per user, the
 * latest counts), visibility of private maps (404 for others), listing 503. */
#include <criterion/criterion.h>

#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static app_runner_t R;
static char alice[STK_JWT_BUF], bob[STK_JWT_BUF], carol[STK_JWT_BUF];

static void setup(void)
{
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
    cr_assert_eq(hc_user(R.port, "alice", alice, NULL), 0);
    cr_assert_eq(hc_user(R.port, "bob", bob, NULL), 0);
    cr_assert_eq(hc_user(R.port, "carol", carol, NULL), 0);
}

static void teardown(void)
{
    ar_stop(&R, false);
}

TestSuite(api_maps, .init = setup, .fini = teardown, .timeout = 60);

/* A w x h contract map: grass, a wall across row 10 with a gap at x = w-1, spawn (0,0),
 * goal (w-1,h-1), two waves. Caller frees the string. */
static char *map_text(const char *name, int w, int h)
{
    json_t *tiles = json_array();
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int blocked = y == 10 && x < w - 1;
            json_array_append_new(tiles,
                                  json_pack("{s:i, s:i, s:i, s:i, s:b}", "x", x, "y", y,
                                            "terrainType", 0, "height", 0, "isBlocked", blocked));
        }
    }
    json_t *waves =
        json_pack("{s:[{s:i, s:[{s:s, s:i, s:i}]}, {s:i, s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}]}]}",
                  "waves", "waveNumber", 1, "enemies", "type", "grunt", "count", 5, "spawnInterval",
                  1000, "waveNumber", 2, "enemies", "type", "runner", "count", 3, "spawnInterval",
                  500, "type", "flyer", "count", 2, "spawnInterval", 800);
    json_t *m = json_pack("{s:s, s:s, s:i, s:i, s:o, s:{s:i, s:i}, s:{s:i, s:i}, s:o}", "name",
                          name, "description", "a test map", "width", w, "height", h,
                          "terrain_data", tiles, "spawn_point", "x", 0, "y", 0, "goal_point", "x",
                          w - 1, "y", h - 1, "wave_config", waves);
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return s;
}

static void create(const char *token, const char *name, char *id)
{
    char *body = map_text(name, 20, 20);
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/maps", token, body, &r);
    free(body);
    cr_assert_eq(r.status, 201, "%s", r.body);
    snprintf(id, STK_UUID_STR_LEN + 1, "%s", hc_str(&r, "id"));
    cr_assert_eq(json_integer_value(json_object_get(r.json, "width")), 20);
    cr_assert_eq(json_array_size(json_object_get(r.json, "terrain_data")), 400);
    cr_assert(json_is_false(json_object_get(r.json, "is_public")), "maps start private");
    hc_free(&r);
}

static int get_status(const char *id, const char *token)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/maps/%s", id);
    hc_resp_t r;
    hc_json(R.port, "GET", path, token, NULL, &r);
    int st = r.status;
    hc_free(&r);
    return st;
}

Test(api_maps, invalid_map_lists_every_problem_field)
{
    uint64_t head = ar_head(&R);
    char *body = map_text("bad", 20, 20);
    json_t *m = json_loads(body, 0, NULL);
    free(body);
    /* Spawn on the wall, goal equal... no: goal on water-free tile but waves broken. */
    json_object_set_new(json_object_get(m, "spawn_point"), "y", json_integer(10));
    json_t *w0 = json_array_get(json_object_get(json_object_get(m, "wave_config"), "waves"), 0);
    json_object_set_new(w0, "waveNumber", json_integer(7));
    json_t *e0 = json_array_get(json_object_get(w0, "enemies"), 0);
    json_object_set_new(e0, "type", json_string("dragon"));
    json_object_set_new(e0, "count", json_integer(0));
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/maps", alice, text, &r);
    free(text);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert(hc_is_problem(&r), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "spawn_point", "spawn_blocked"), "%s", r.body);
    cr_assert(hc_has_field_error(&r, "wave_config.waves[0].waveNumber", "wave_number"), "%s",
              r.body);
    cr_assert(hc_has_field_error(&r, "wave_config.waves[0].enemies[0].type", "enemy_type"), "%s",
              r.body);
    cr_assert(hc_has_field_error(&r, "wave_config.waves[0].enemies[0].count", "count_range"), "%s",
              r.body);
    hc_free(&r);

    /* A shape problem names its field too. */
    hc_json(R.port, "POST", "/v1/maps", alice, "{\"name\":\"x\",\"width\":\"wide\"}", &r);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert(json_array_size(json_object_get(r.json, "errors")) >= 1);
    hc_free(&r);
    body = map_text("small", 10, 20);
    hc_json(R.port, "POST", "/v1/maps", alice, body, &r);
    free(body);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert(hc_has_field_error(&r, "width", NULL), "%s", r.body);
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head, "nothing logged");
}

Test(api_maps, create_publish_rate_get_and_privacy)
{
    char id[STK_UUID_STR_LEN + 1], path[160];
    create(alice, "Meadow", id);
    cr_assert_eq(get_status(id, alice), 200, "the owner sees a private map");
    cr_assert_eq(get_status(id, bob), 404, "others do not");
    cr_assert_eq(get_status(id, NULL), 404, "nor does anyone anonymous");

    hc_resp_t r;
    snprintf(path, sizeof path, "/v1/maps/%s/rating", id);
    hc_json(R.port, "POST", path, bob, "{\"stars\":4}", &r);
    cr_assert_eq(r.status, 404, "a private map cannot be rated by others");
    hc_free(&r);

    snprintf(path, sizeof path, "/v1/maps/%s/publish", id);
    hc_json(R.port, "POST", path, bob, NULL, &r);
    cr_assert_eq(r.status, 404, "nor published by them");
    hc_free(&r);
    hc_json(R.port, "POST", path, alice, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(json_is_true(json_object_get(r.json, "is_public")));
    hc_free(&r);
    cr_assert_eq(get_status(id, NULL), 200, "public maps are for anyone");
    cr_assert_eq(get_status(id, bob), 200);

    snprintf(path, sizeof path, "/v1/maps/%s/rating", id);
    hc_json(R.port, "POST", path, bob, "{\"stars\":5}", &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    hc_free(&r);
    hc_json(R.port, "POST", path, bob, "{\"stars\":2}", &r); /* the latest counts */
    cr_assert_eq(r.status, 200);
    hc_free(&r);
    hc_json(R.port, "POST", path, carol, "{\"stars\":3}", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "rating_count")), 2);
    cr_assert_float_eq(json_real_value(json_object_get(r.json, "rating")), 2.5, 1e-9);
    hc_free(&r);
    uint64_t head = ar_head(&R);
    hc_json(R.port, "POST", path, carol, "{\"stars\":6}", &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "stars", "range"));
    hc_free(&r);
    hc_json(R.port, "POST", path, carol, "{\"stars\":2.5}", &r);
    cr_assert_eq(r.status, 422);
    cr_assert(hc_has_field_error(&r, "stars", "type"));
    hc_free(&r);
    hc_json(R.port, "POST", path, NULL, "{\"stars\":3}", &r);
    cr_assert_eq(r.status, 401);
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head);

    snprintf(path, sizeof path, "/v1/maps/%s", id);
    hc_json(R.port, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_float_eq(json_real_value(json_object_get(r.json, "rating")), 2.5, 1e-9);
    cr_assert_str_eq(hc_str(&r, "name"), "Meadow");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "play_count")), 0);
    json_t *spawn = json_object_get(r.json, "spawn_point");
    cr_assert_eq(json_integer_value(json_object_get(spawn, "x")), 0);
    hc_free(&r);

    snprintf(path, sizeof path, "/v1/maps/%s/unpublish", id);
    hc_json(R.port, "POST", path, alice, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    hc_free(&r);
    cr_assert_eq(get_status(id, bob), 404, "private again");
}

Test(api_maps, only_the_owner_edits)
{
    char id[STK_UUID_STR_LEN + 1], path[160];
    create(alice, "Canyon", id);
    snprintf(path, sizeof path, "/v1/maps/%s/publish", id);
    hc_resp_t r;
    hc_json(R.port, "POST", path, alice, NULL, &r);
    hc_free(&r);
    snprintf(path, sizeof path, "/v1/maps/%s", id);
    char *body = map_text("Canyon v2", 30, 25);
    hc_json(R.port, "PUT", path, bob, body, &r);
    cr_assert_eq(r.status, 403, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_json(R.port, "PUT", path, alice, body, &r);
    free(body);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(hc_str(&r, "name"), "Canyon v2");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "width")), 30);
    cr_assert(json_is_true(json_object_get(r.json, "is_public")), "edits keep publication");
    hc_free(&r);
}

Test(api_maps, listing_waits_for_the_projections)
{
    hc_resp_t r;
    hc_json(R.port, "GET", "/v1/maps", NULL, NULL, &r);
    cr_assert_eq(r.status, 503);
    cr_assert(hc_is_problem(&r));
    cr_assert(strstr(hc_str(&r, "detail"), "projections not configured"), "%s", r.body);
    hc_free(&r);
}

Test(api_maps, hostile_bodies_are_refused_with_problems)
{
    uint64_t head = ar_head(&R);
    hc_resp_t r;
    size_t big = 2u * 1024u * 1024u;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = 0;
    char auth[STK_JWT_BUF + 32];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", alice);
    hc_request(R.port, "POST", "/v1/maps", auth, "application/json", huge, big, &r);
    free(huge);
    cr_assert_eq(r.status, 413, "%d", r.status);
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/maps", alice, "{\"name\":\"x\",\"terrain_data\":7}", &r);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/maps", alice, "[]", &r);
    cr_assert_eq(r.status, 400, "%s", r.body);
    hc_free(&r);
    hc_json(R.port, "PUT", "/v1/maps/00000000-0000-4000-8000-000000000000", alice, "{}", &r);
    cr_assert_eq(r.status, 404, "%s", r.body);
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head);
}

Test(api_maps, my_maps_lists_private_and_public_ones_of_the_caller_only)
{
    char a[STK_UUID_STR_LEN + 1], b[STK_UUID_STR_LEN + 1], c[STK_UUID_STR_LEN + 1];
    create(alice, "First", a);
    create(alice, "Second", b);
    create(bob, "Bobs", c);
    char path[160];
    snprintf(path, sizeof path, "/v1/maps/%s/publish", b);
    hc_resp_t r;
    hc_json(R.port, "POST", path, alice, NULL, &r);
    hc_free(&r);
    hc_json(R.port, "GET", "/v1/users/me/maps", alice, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *maps = json_object_get(r.json, "maps");
    cr_assert_eq(json_array_size(maps), 2, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(maps, 0), "id")), a);
    cr_assert(json_is_false(json_object_get(json_array_get(maps, 0), "is_public")));
    cr_assert(json_is_true(json_object_get(json_array_get(maps, 1), "is_public")));
    cr_assert_null(json_object_get(json_array_get(maps, 0), "terrain_data"), "summaries only");
    hc_free(&r);
    hc_json(R.port, "GET", "/v1/users/me/maps", NULL, NULL, &r);
    cr_assert_eq(r.status, 401);
    hc_free(&r);
}
