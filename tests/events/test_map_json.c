/* tests/events/test_map_json.c — events/map_json.h: the shipped maps load and convert to
 * MapDrawn payloads; every kind of bad document is refused with the field it is about. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/game.h"
#include "events/map_json.h"
#include "events/types.h"

static stk_map_doc_t *load_shipped(const char *name)
{
    const char *src = getenv("STK_SOURCE_DIR");
    cr_assert_not_null(src, "STK_SOURCE_DIR is set by ctest");
    char path[1024];
    snprintf(path, sizeof path, "%s/maps/%s.json", src, name);
    stk_map_doc_t *doc = malloc(sizeof *doc);
    stk_payload_error_t err;
    int rc = stk_map_json_load(path, doc, &err);
    cr_assert_eq(rc, 0, "%s: %s: %s %s", name, stk_errname(rc), err.path, err.reason);
    return doc;
}

static void shipped_round_trip(const char *name, uint32_t w, uint32_t h, uint32_t waves)
{
    stk_map_doc_t *doc = load_shipped(name);
    cr_assert_eq(doc->map.width, w);
    cr_assert_eq(doc->map.height, h);
    cr_assert_eq(doc->map.n_waves, waves);
    cr_assert_gt(strlen(doc->name), 0);
    stk_uuid_t user;
    memset(&user, 0x5A, sizeof user);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_map_json_to_payload(doc, STK_EV_MAP_DRAWN, &user, &sb), 0);
    stk_map_t *back = malloc(sizeof *back);
    stk_game_map_meta_t meta;
    cr_assert_eq(stk_game_map_decode(STK_EV_MAP_DRAWN, 1, (const uint8_t *)sb.data, sb.size, back,
                                     &meta, NULL),
                 0);
    cr_assert_eq(memcmp(back, &doc->map, sizeof *back), 0, "%s changed in the payload", name);
    cr_assert_eq(meta.name_len, strlen(doc->name));
    cr_assert(stk_uuid_eq(&meta.user_id, &user));
    free(back);
    free(doc);
    msgpack_sbuffer_destroy(&sb);
}

Test(map_json, meadow_loads_and_round_trips)
{
    shipped_round_trip("meadow", 20, 20, 5);
}

Test(map_json, canyon_loads_and_round_trips)
{
    shipped_round_trip("canyon", 40, 30, 10);
}

Test(map_json, fortress_loads_and_round_trips)
{
    shipped_round_trip("fortress", 100, 100, 30);
}

/* A valid 20x20 document: open grass, spawn (0,10), goal (19,10), one wave. */
static json_t *good_doc(void)
{
    json_t *root = json_object();
    json_object_set_new(root, "name", json_string("Test"));
    json_object_set_new(root, "description", json_string("for tests"));
    json_object_set_new(root, "width", json_integer(20));
    json_object_set_new(root, "height", json_integer(20));
    json_t *tiles = json_array();
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 20; x++)
            json_array_append_new(tiles, json_pack("{s:i,s:i,s:i,s:i,s:b}", "x", x, "y", y,
                                                   "terrainType", 0, "height", 0, "isBlocked", 0));
    json_object_set_new(root, "terrain_data", tiles);
    json_object_set_new(root, "spawn_point", json_pack("{s:i,s:i}", "x", 0, "y", 10));
    json_object_set_new(root, "goal_point", json_pack("{s:i,s:i}", "x", 19, "y", 10));
    json_object_set_new(root, "wave_config",
                        json_pack("{s:[{s:i,s:[{s:s,s:i,s:i}]}]}", "waves", "waveNumber", 1,
                                  "enemies", "type", "grunt", "count", 5, "spawnInterval", 1000));
    return root;
}

/* Parse root (serialised, to go through the text path) and expect `code` at `path`. */
static void expect_error(json_t *root, int code, const char *path)
{
    char *text = json_dumps(root, JSON_COMPACT);
    stk_map_doc_t *doc = malloc(sizeof *doc);
    stk_payload_error_t err;
    memset(&err, 0, sizeof err);
    int rc = stk_map_json_parse(text, strlen(text), doc, &err);
    cr_assert_eq(rc, code, "rc %s, wanted %s (%s: %s)", stk_errname(rc), stk_errname(code),
                 err.path, err.reason);
    cr_assert_str_eq(err.path, path, "reason: %s", err.reason);
    cr_assert_gt(strlen(err.reason), 0);
    free(doc);
    free(text);
    json_decref(root);
}

static json_t *tile(json_t *root, size_t i)
{
    return json_array_get(json_object_get(root, "terrain_data"), i);
}

static json_t *group(json_t *root, size_t w, size_t g)
{
    json_t *waves = json_object_get(json_object_get(root, "wave_config"), "waves");
    return json_array_get(json_object_get(json_array_get(waves, w), "enemies"), g);
}

Test(map_json, the_test_document_is_valid)
{
    json_t *root = good_doc();
    stk_map_doc_t *doc = malloc(sizeof *doc);
    cr_assert_eq(stk_map_json_from_object(root, doc, NULL), 0);
    cr_assert_str_eq(doc->description, "for tests");
    free(doc);
    json_decref(root);
}

Test(map_json, missing_description_is_empty)
{
    json_t *root = good_doc();
    json_object_del(root, "description");
    json_object_set_new(root, "id", json_string("ignored extra column"));
    stk_map_doc_t *doc = malloc(sizeof *doc);
    cr_assert_eq(stk_map_json_from_object(root, doc, NULL), 0);
    cr_assert_str_eq(doc->description, "");
    free(doc);
    json_decref(root);
}

Test(map_json, missing_width_names_width)
{
    json_t *root = good_doc();
    json_object_del(root, "width");
    expect_error(root, STK_ESCHEMA, "width");
}

Test(map_json, width_out_of_range_names_width)
{
    json_t *root = good_doc();
    json_object_set_new(root, "width", json_integer(101));
    expect_error(root, STK_ESCHEMA, "width");
}

Test(map_json, empty_name_names_name)
{
    json_t *root = good_doc();
    json_object_set_new(root, "name", json_string(""));
    expect_error(root, STK_ESCHEMA, "name");
}

Test(map_json, integer_is_blocked_names_the_tile_field)
{
    json_t *root = good_doc();
    json_object_set_new(tile(root, 41), "isBlocked", json_integer(1));
    expect_error(root, STK_ESCHEMA, "terrain_data[41].isBlocked");
}

Test(map_json, negative_height_names_the_tile_field)
{
    json_t *root = good_doc();
    json_object_set_new(tile(root, 7), "height", json_integer(-1));
    expect_error(root, STK_ESCHEMA, "terrain_data[7].height");
}

Test(map_json, unknown_terrain_type_is_reported_by_the_validator_with_its_field)
{
    json_t *root = good_doc();
    json_object_set_new(tile(root, 3), "terrainType", json_integer(9));
    expect_error(root, STK_ESCHEMA, "terrain_data[3].terrainType");
}

Test(map_json, a_tile_listed_twice_names_the_second)
{
    json_t *root = good_doc();
    json_object_set_new(tile(root, 5), "x", json_integer(4)); /* (4,0) again */
    expect_error(root, STK_ESCHEMA, "terrain_data[5]");
}

Test(map_json, too_few_tiles_names_terrain_data)
{
    json_t *root = good_doc();
    json_array_remove(json_object_get(root, "terrain_data"), 0);
    expect_error(root, STK_ESCHEMA, "terrain_data");
}

Test(map_json, tile_outside_the_map_names_its_coordinate)
{
    json_t *root = good_doc();
    json_object_set_new(tile(root, 0), "y", json_integer(20));
    expect_error(root, STK_ESCHEMA, "terrain_data[0].y");
}

Test(map_json, spawn_on_water_names_spawn_point)
{
    json_t *root = good_doc();
    json_object_set_new(tile(root, 10 * 20 + 0), "terrainType", json_integer(3));
    expect_error(root, STK_ESCHEMA, "spawn_point");
}

Test(map_json, missing_goal_names_goal_point)
{
    json_t *root = good_doc();
    json_object_del(root, "goal_point");
    expect_error(root, STK_ESCHEMA, "goal_point");
}

Test(map_json, walled_off_goal_is_no_path)
{
    json_t *root = good_doc();
    for (int y = 0; y < 20; y++)
        json_object_set_new(tile(root, (size_t)y * 20 + 10), "isBlocked", json_true());
    expect_error(root, STK_ESCHEMA, "spawn_point");
}

Test(map_json, unknown_enemy_names_the_enemy_type)
{
    json_t *root = good_doc();
    json_object_set_new(group(root, 0, 0), "type", json_string("dragon"));
    expect_error(root, STK_ESCHEMA, "wave_config.waves[0].enemies[0].type");
}

Test(map_json, zero_count_names_the_count)
{
    json_t *root = good_doc();
    json_object_set_new(group(root, 0, 0), "count", json_integer(0));
    expect_error(root, STK_ESCHEMA, "wave_config.waves[0].enemies[0].count");
}

Test(map_json, string_interval_names_spawn_interval)
{
    json_t *root = good_doc();
    json_object_set_new(group(root, 0, 0), "spawnInterval", json_string("1000"));
    expect_error(root, STK_ESCHEMA, "wave_config.waves[0].enemies[0].spawnInterval");
}

Test(map_json, wrong_wave_number_names_wave_number)
{
    json_t *root = good_doc();
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(root, "wave_config"), "waves"), 0),
        "waveNumber", json_integer(2));
    expect_error(root, STK_ESCHEMA, "wave_config.waves[0].waveNumber");
}

Test(map_json, not_json_is_a_decode_error)
{
    stk_map_doc_t *doc = malloc(sizeof *doc);
    stk_payload_error_t err;
    cr_assert_eq(stk_map_json_parse("{\"name\": ", 9, doc, &err), STK_EDECODE);
    cr_assert(strstr(err.reason, "line 1") != NULL, "%s", err.reason);
    cr_assert_eq(stk_map_json_parse("[1,2]", 5, doc, &err), STK_EDECODE);
    free(doc);
}

Test(map_json, missing_file_is_not_found)
{
    stk_map_doc_t *doc = malloc(sizeof *doc);
    cr_assert_eq(stk_map_json_load("/nonexistent/stockade/map.json", doc, NULL), STK_ENOTFOUND);
    free(doc);
}

Test(map_json, a_shipped_map_survives_json_export_and_import)
{
    stk_map_doc_t *doc = load_shipped("canyon");
    json_t *j = NULL;
    cr_assert_eq(stk_map_json_to_object(doc, &j), 0);
    stk_map_doc_t *back = malloc(sizeof *back);
    stk_payload_error_t err;
    int rc = stk_map_json_from_object(j, back, &err);
    cr_assert_eq(rc, 0, "%s %s", err.path, err.reason);
    cr_assert_eq(memcmp(&back->map, &doc->map, sizeof back->map), 0);
    cr_assert_str_eq(back->name, doc->name);
    cr_assert_str_eq(back->description, doc->description);
    json_decref(j);
    free(back);
    free(doc);
}
