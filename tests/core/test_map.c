/* tests/core/test_map.c — the map value type and stk_map_validate(): every problem code is
 * reported with its field path, all problems are reported at once, and the shipped example
 * maps (the maps/ folder JSON files, loaded here with a small test-only jansson reader) are valid.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "core/error.h"
#include "core/map.h"
#include "core/path.h"

#ifndef STK_MAPS_DIR
#error "STK_MAPS_DIR must name the repository's maps/ folder"
#endif

#define PROBLEMS_CAP 64

/* A valid 20x20 open grass map: spawn top-left, goal bottom-right, three small waves. */
static void make_valid(stk_map_t *m)
{
    cr_assert_eq(stk_map_init(m, 20, 20), 0);
    m->spawn = (stk_point_t){0, 0};
    m->goal = (stk_point_t){19, 19};
    m->n_waves = 3;
    for (uint32_t i = 0; i < 3; i++) {
        m->waves[i].number = i + 1;
        m->waves[i].n_groups = 1;
        m->waves[i].groups[0] = (stk_map_enemies_t){STK_ENEMY_GRUNT, 10, 1000};
    }
}

static stk_map_t *new_valid(void)
{
    stk_map_t *m = NULL;

    cr_assert_eq(stk_map_create(20, 20, &m), 0);
    make_valid(m);
    return m;
}

typedef struct result {
    int rc;
    size_t count;
    stk_map_problem_t problems[PROBLEMS_CAP];
} result_t;

static void validate(const stk_map_t *m, result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->rc = stk_map_validate(m, r->problems, PROBLEMS_CAP, &r->count);
}

/* Assert the map has exactly one problem and it is (code, field). */
static void expect_only(const stk_map_t *m, int code, const char *field)
{
    result_t r;

    validate(m, &r);
    cr_assert_eq(r.rc, STK_ESCHEMA, "expected STK_ESCHEMA, got %d", r.rc);
    cr_assert_eq(r.count, 1, "expected 1 problem, got %zu (first: %s at %s)", r.count,
                 r.count ? stk_map_problem_name(r.problems[0].code) : "-",
                 r.count ? r.problems[0].field : "-");
    cr_expect_eq(r.problems[0].code, code, "expected %s, got %s", stk_map_problem_name(code),
                 stk_map_problem_name(r.problems[0].code));
    cr_expect_str_eq(r.problems[0].field, field);
    cr_expect(strlen(r.problems[0].message) > 0);
}

/* True if the result holds (code, field) somewhere. */
static bool has(const result_t *r, int code, const char *field)
{
    for (size_t i = 0; i < r->count && i < PROBLEMS_CAP; i++)
        if (r->problems[i].code == code && strcmp(r->problems[i].field, field) == 0)
            return true;
    return false;
}

Test(map_validate, valid_map_has_no_problems)
{
    stk_map_t *m = new_valid();
    result_t r;

    validate(m, &r);
    cr_expect_eq(r.rc, 0);
    cr_expect_eq(r.count, 0);
    stk_map_destroy(m);
}

Test(map_validate, boundary_values_are_valid)
{
    stk_map_t *m = NULL;
    result_t r;

    cr_assert_eq(stk_map_create(100, 100, &m), 0);
    m->spawn = (stk_point_t){99, 0};
    m->goal = (stk_point_t){0, 99};
    m->n_waves = STK_MAP_MAX_WAVES;
    for (uint32_t i = 0; i < STK_MAP_MAX_WAVES; i++) {
        m->waves[i].number = i + 1;
        m->waves[i].n_groups = STK_MAP_MAX_GROUPS;
        for (uint32_t j = 0; j < STK_MAP_MAX_GROUPS; j++)
            m->waves[i].groups[j] =
                (stk_map_enemies_t){j % STK_ENEMY_TYPE_COUNT, j % 2 ? STK_MAP_MAX_COUNT : 1,
                                    j % 2 ? STK_MAP_MAX_INTERVAL_MS : 0};
    }
    validate(m, &r);
    cr_expect_eq(r.rc, 0, "first problem: %s", r.count ? r.problems[0].field : "-");
    cr_expect_eq(r.count, 0);
    stk_map_destroy(m);
}

Test(map_validate, width_below_20_is_reported_on_width)
{
    stk_map_t *m = new_valid();

    m->width = 19;
    m->goal = (stk_point_t){18, 19};
    expect_only(m, STK_MAP_PROBLEM_WIDTH_RANGE, "width");
    stk_map_destroy(m);
}

Test(map_validate, width_above_100_is_reported_on_width)
{
    stk_map_t *m = new_valid();

    m->width = 101;
    expect_only(m, STK_MAP_PROBLEM_WIDTH_RANGE, "width");
    stk_map_destroy(m);
}

Test(map_validate, height_out_of_range_is_reported_on_height)
{
    stk_map_t *m = new_valid();

    m->height = 5000;
    expect_only(m, STK_MAP_PROBLEM_HEIGHT_RANGE, "height");
    m->height = 0;
    expect_only(m, STK_MAP_PROBLEM_HEIGHT_RANGE, "height");
    stk_map_destroy(m);
}

Test(map_validate, terrain_type_out_of_range_names_the_tile_index)
{
    stk_map_t *m = new_valid();

    m->tiles[12].terrain = STK_TERRAIN_COUNT;
    expect_only(m, STK_MAP_PROBLEM_TERRAIN_RANGE, "terrain_data[12].terrainType");
    stk_map_destroy(m);
}

Test(map_validate, terrain_problem_message_carries_value_and_coordinates)
{
    stk_map_t *m = new_valid();
    result_t r;

    stk_map_tile_mut(m, 3, 2)->terrain = 9; /* index 2 * 20 + 3 = 43 */
    validate(m, &r);
    cr_assert_eq(r.count, 1);
    cr_expect_str_eq(r.problems[0].field, "terrain_data[43].terrainType");
    cr_expect(strstr(r.problems[0].message, "9") != NULL, "%s", r.problems[0].message);
    cr_expect(strstr(r.problems[0].message, "(3,2)") != NULL, "%s", r.problems[0].message);
    stk_map_destroy(m);
}

Test(map_validate, is_blocked_other_than_0_or_1_is_reported)
{
    stk_map_t *m = new_valid();

    m->tiles[5].blocked = 2;
    expect_only(m, STK_MAP_PROBLEM_BLOCKED_RANGE, "terrain_data[5].isBlocked");
    stk_map_destroy(m);
}

Test(map_validate, spawn_off_map_is_reported_on_spawn_point)
{
    stk_map_t *m = new_valid();

    m->spawn = (stk_point_t){20, 0};
    expect_only(m, STK_MAP_PROBLEM_SPAWN_OFF_MAP, "spawn_point");
    m->spawn = (stk_point_t){0, UINT32_MAX};
    expect_only(m, STK_MAP_PROBLEM_SPAWN_OFF_MAP, "spawn_point");
    stk_map_destroy(m);
}

Test(map_validate, spawn_on_blocked_or_water_tile_is_reported)
{
    stk_map_t *m = new_valid();

    m->tiles[0].blocked = 1;
    expect_only(m, STK_MAP_PROBLEM_SPAWN_BLOCKED, "spawn_point");
    m->tiles[0].blocked = 0;
    m->tiles[0].terrain = STK_TERRAIN_WATER;
    expect_only(m, STK_MAP_PROBLEM_SPAWN_BLOCKED, "spawn_point");
    stk_map_destroy(m);
}

Test(map_validate, goal_off_map_is_reported_on_goal_point)
{
    stk_map_t *m = new_valid();

    m->goal = (stk_point_t){19, 20};
    expect_only(m, STK_MAP_PROBLEM_GOAL_OFF_MAP, "goal_point");
    stk_map_destroy(m);
}

Test(map_validate, goal_on_blocked_tile_is_reported)
{
    stk_map_t *m = new_valid();

    stk_map_tile_mut(m, 19, 19)->blocked = 1;
    expect_only(m, STK_MAP_PROBLEM_GOAL_BLOCKED, "goal_point");
    stk_map_destroy(m);
}

Test(map_validate, spawn_equal_to_goal_is_reported)
{
    stk_map_t *m = new_valid();

    m->goal = m->spawn;
    expect_only(m, STK_MAP_PROBLEM_SPAWN_IS_GOAL, "goal_point");
    stk_map_destroy(m);
}

Test(map_validate, wall_between_spawn_and_goal_is_no_path)
{
    stk_map_t *m = new_valid();

    for (uint32_t y = 0; y < 20; y++)
        stk_map_tile_mut(m, 10, y)->blocked = 1;
    expect_only(m, STK_MAP_PROBLEM_NO_PATH, "spawn_point");
    /* One gap makes it valid again. */
    stk_map_tile_mut(m, 10, 7)->blocked = 0;
    cr_expect_eq(stk_map_validate(m, NULL, 0, &(size_t){0}), 0);
    stk_map_destroy(m);
}

Test(map_validate, water_moat_around_goal_is_no_path)
{
    stk_map_t *m = new_valid();

    m->goal = (stk_point_t){10, 10};
    for (uint32_t y = 9; y <= 11; y++)
        for (uint32_t x = 9; x <= 11; x++)
            if (x != 10 || y != 10)
                stk_map_tile_mut(m, x, y)->terrain = STK_TERRAIN_WATER;
    expect_only(m, STK_MAP_PROBLEM_NO_PATH, "spawn_point");
    stk_map_destroy(m);
}

Test(map_validate, no_waves_is_reported_on_waves)
{
    stk_map_t *m = new_valid();

    m->n_waves = 0;
    expect_only(m, STK_MAP_PROBLEM_NO_WAVES, "wave_config.waves");
    stk_map_destroy(m);
}

Test(map_validate, more_than_100_waves_is_reported)
{
    stk_map_t *m = new_valid();

    m->n_waves = STK_MAP_MAX_WAVES;
    for (uint32_t i = 0; i < STK_MAP_MAX_WAVES; i++) {
        m->waves[i].number = i + 1;
        m->waves[i].n_groups = 1;
        m->waves[i].groups[0] = (stk_map_enemies_t){STK_ENEMY_RUNNER, 1, 0};
    }
    m->n_waves = 101;
    expect_only(m, STK_MAP_PROBLEM_TOO_MANY_WAVES, "wave_config.waves");
    stk_map_destroy(m);
}

Test(map_validate, wave_numbers_out_of_order_name_the_wave)
{
    stk_map_t *m = new_valid();

    m->waves[1].number = 3;
    expect_only(m, STK_MAP_PROBLEM_WAVE_NUMBER, "wave_config.waves[1].waveNumber");
    m->waves[1].number = 2;
    m->waves[0].number = 0;
    expect_only(m, STK_MAP_PROBLEM_WAVE_NUMBER, "wave_config.waves[0].waveNumber");
    stk_map_destroy(m);
}

Test(map_validate, wave_without_enemies_is_reported)
{
    stk_map_t *m = new_valid();

    m->waves[2].n_groups = 0;
    expect_only(m, STK_MAP_PROBLEM_NO_ENEMIES, "wave_config.waves[2].enemies");
    stk_map_destroy(m);
}

Test(map_validate, more_than_16_groups_is_reported)
{
    stk_map_t *m = new_valid();

    for (uint32_t j = 0; j < STK_MAP_MAX_GROUPS; j++)
        m->waves[0].groups[j] = (stk_map_enemies_t){STK_ENEMY_BRUTE, 2, 500};
    m->waves[0].n_groups = 17;
    expect_only(m, STK_MAP_PROBLEM_TOO_MANY_GROUPS, "wave_config.waves[0].enemies");
    stk_map_destroy(m);
}

Test(map_validate, unknown_enemy_type_names_wave_and_group)
{
    stk_map_t *m = new_valid();

    m->waves[2].groups[0].type = STK_ENEMY_TYPE_INVALID;
    expect_only(m, STK_MAP_PROBLEM_ENEMY_TYPE, "wave_config.waves[2].enemies[0].type");
    m->waves[2].groups[0].type = STK_ENEMY_TYPE_COUNT;
    expect_only(m, STK_MAP_PROBLEM_ENEMY_TYPE, "wave_config.waves[2].enemies[0].type");
    stk_map_destroy(m);
}

Test(map_validate, count_outside_1_to_1000_is_reported)
{
    stk_map_t *m = new_valid();

    m->waves[1].n_groups = 2;
    m->waves[1].groups[1] = (stk_map_enemies_t){STK_ENEMY_FLYER, 0, 100};
    expect_only(m, STK_MAP_PROBLEM_COUNT_RANGE, "wave_config.waves[1].enemies[1].count");
    m->waves[1].groups[1].count = 1001;
    expect_only(m, STK_MAP_PROBLEM_COUNT_RANGE, "wave_config.waves[1].enemies[1].count");
    stk_map_destroy(m);
}

Test(map_validate, interval_above_600000_is_reported)
{
    stk_map_t *m = new_valid();

    m->waves[0].groups[0].interval_ms = STK_MAP_MAX_INTERVAL_MS + 1;
    expect_only(m, STK_MAP_PROBLEM_INTERVAL_RANGE, "wave_config.waves[0].enemies[0].spawnInterval");
    stk_map_destroy(m);
}

Test(map_validate, every_problem_is_reported_at_once)
{
    stk_map_t *m = new_valid();
    result_t r;

    m->tiles[12].terrain = 7;
    m->tiles[13].blocked = 9;
    m->spawn = (stk_point_t){40, 0};
    stk_map_tile_mut(m, 19, 19)->blocked = 1;
    m->waves[0].number = 5;
    m->waves[1].groups[0].type = STK_ENEMY_TYPE_INVALID;
    m->waves[1].groups[0].count = 0;
    m->waves[2].groups[0].interval_ms = 700000;
    validate(m, &r);
    cr_assert_eq(r.rc, STK_ESCHEMA);
    cr_expect_eq(r.count, 8);
    cr_expect(has(&r, STK_MAP_PROBLEM_TERRAIN_RANGE, "terrain_data[12].terrainType"));
    cr_expect(has(&r, STK_MAP_PROBLEM_BLOCKED_RANGE, "terrain_data[13].isBlocked"));
    cr_expect(has(&r, STK_MAP_PROBLEM_SPAWN_OFF_MAP, "spawn_point"));
    cr_expect(has(&r, STK_MAP_PROBLEM_GOAL_BLOCKED, "goal_point"));
    cr_expect(has(&r, STK_MAP_PROBLEM_WAVE_NUMBER, "wave_config.waves[0].waveNumber"));
    cr_expect(has(&r, STK_MAP_PROBLEM_ENEMY_TYPE, "wave_config.waves[1].enemies[0].type"));
    cr_expect(has(&r, STK_MAP_PROBLEM_COUNT_RANGE, "wave_config.waves[1].enemies[0].count"));
    cr_expect(
        has(&r, STK_MAP_PROBLEM_INTERVAL_RANGE, "wave_config.waves[2].enemies[0].spawnInterval"));
    /* Grid problems come before wave problems. */
    cr_expect_eq(r.problems[0].code, STK_MAP_PROBLEM_TERRAIN_RANGE);
    cr_expect_eq(r.problems[7].code, STK_MAP_PROBLEM_INTERVAL_RANGE);
    stk_map_destroy(m);
}

Test(map_validate, count_reports_total_beyond_capacity)
{
    stk_map_t *m = new_valid();
    stk_map_problem_t two[2];
    size_t count = 0;

    for (size_t i = 0; i < 400; i++)
        m->tiles[i].terrain = 200;
    memset(two, 0xAB, sizeof(two));
    cr_expect_eq(stk_map_validate(m, two, 2, &count), STK_ESCHEMA);
    cr_expect_eq(count, 400 + 2); /* every tile, and spawn and goal now off terrain rules */
    cr_expect_str_eq(two[0].field, "terrain_data[0].terrainType");
    cr_expect_str_eq(two[1].field, "terrain_data[1].terrainType");
    /* cap 0 with NULL counts without writing. */
    cr_expect_eq(stk_map_validate(m, NULL, 0, &count), STK_ESCHEMA);
    cr_expect_eq(count, 402);
    stk_map_destroy(m);
}

static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/* Garbage in any field (as a careless decoder might store) never reads out of bounds, and
 * the report does not depend on the capacity it is written into. */
Test(map_validate, random_garbage_is_reported_consistently_at_any_capacity)
{
    stk_map_t *m = NULL;
    static result_t big;
    stk_map_problem_t small[4];

    cr_assert_eq(stk_map_create(20, 20, &m), 0);
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint64_t s = seed;
        uint8_t *bytes = (uint8_t *)m;
        size_t small_count = 0;

        for (size_t i = 0; i < sizeof(*m); i++)
            bytes[i] = (uint8_t)lcg(&s);
        /* Mostly plausible sizes, sometimes huge ones. */
        m->width = seed % 7 == 0 ? lcg(&s) : 1 + lcg(&s) % 110;
        m->height = seed % 11 == 0 ? lcg(&s) : 1 + lcg(&s) % 110;
        m->spawn = (stk_point_t){lcg(&s) % 120, lcg(&s) % 120};
        m->goal = (stk_point_t){lcg(&s) % 120, lcg(&s) % 120};
        m->n_waves = seed % 5 == 0 ? lcg(&s) : lcg(&s) % 102;
        validate(m, &big);
        cr_expect_eq(stk_map_validate(m, small, 4, &small_count), big.rc);
        cr_assert_eq(small_count, big.count, "seed %llu", (unsigned long long)seed);
        cr_expect_gt(big.count, 0); /* random bytes are never a valid map */
        for (size_t i = 0; i < 4 && i < big.count; i++) {
            cr_expect_eq(small[i].code, big.problems[i].code);
            cr_expect_str_eq(small[i].field, big.problems[i].field);
            cr_expect_str_eq(small[i].message, big.problems[i].message);
        }
    }
    stk_map_destroy(m);
}

Test(map_validate, null_arguments_are_einval)
{
    stk_map_t *m = new_valid();
    stk_map_problem_t p[1];
    size_t count;

    cr_expect_eq(stk_map_validate(NULL, p, 1, &count), STK_EINVAL);
    cr_expect_eq(stk_map_validate(m, p, 1, NULL), STK_EINVAL);
    cr_expect_eq(stk_map_validate(m, NULL, 1, &count), STK_EINVAL);
    stk_map_destroy(m);
}

Test(map_validate, every_problem_code_has_a_distinct_name)
{
    for (int i = 0; i < STK_MAP_PROBLEM_COUNT; i++) {
        cr_expect_str_neq(stk_map_problem_name(i), "UNKNOWN");
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(stk_map_problem_name(i), stk_map_problem_name(j));
    }
    cr_expect_str_eq(stk_map_problem_name(STK_MAP_PROBLEM_NO_PATH), "NO_PATH");
    cr_expect_str_eq(stk_map_problem_name(-1), "UNKNOWN");
    cr_expect_str_eq(stk_map_problem_name(STK_MAP_PROBLEM_COUNT), "UNKNOWN");
}

Test(map, init_rejects_sizes_outside_capacity)
{
    stk_map_t *m = NULL;

    cr_expect_eq(stk_map_create(0, 20, &m), STK_ERANGE);
    cr_expect_eq(stk_map_create(20, 101, &m), STK_ERANGE);
    cr_expect_null(m);
    cr_expect_eq(stk_map_create(20, 20, NULL), STK_EINVAL);
    cr_expect_eq(stk_map_init(NULL, 20, 20), STK_EINVAL);
    stk_map_destroy(NULL);
}

Test(map, init_gives_open_grass_and_zeroed_capacity)
{
    stk_map_t *a = NULL, *b = NULL;

    cr_assert_eq(stk_map_create(30, 25, &a), 0);
    cr_assert_eq(stk_map_create(30, 25, &b), 0);
    a->n_waves = 7;
    a->tiles[9999].terrain = 4;
    cr_assert_eq(stk_map_init(a, 30, 25), 0); /* re-init clears everything */
    cr_expect_eq(memcmp(a, b, sizeof(*a)), 0);
    cr_expect_eq(a->width, 30);
    cr_expect_eq(a->height, 25);
    cr_expect(stk_map_walkable(a, 29, 24));
    cr_expect_eq(stk_map_tile(a, 29, 24)->terrain, STK_TERRAIN_GRASS);
    stk_map_destroy(a);
    stk_map_destroy(b);
}

Test(map, tile_access_is_row_major_and_null_off_map)
{
    stk_map_t *m = new_valid();

    cr_expect_eq(stk_map_tile(m, 3, 2), &m->tiles[43]);
    cr_expect_null(stk_map_tile(m, 20, 0));
    cr_expect_null(stk_map_tile(m, 0, 20));
    cr_expect_null(stk_map_tile_mut(m, UINT32_MAX, 0));
    m->width = 500; /* invalid dimensions never index past the capacity */
    cr_expect_null(stk_map_tile(m, 0, 0));
    stk_map_destroy(m);
}

Test(map, terrain_rules_for_walkers_flyers_and_towers)
{
    stk_map_t *m = new_valid();

    stk_map_tile_mut(m, 5, 5)->terrain = STK_TERRAIN_WATER;
    stk_map_tile_mut(m, 6, 5)->blocked = 1;
    stk_map_tile_mut(m, 7, 5)->terrain = STK_TERRAIN_ROCK;
    cr_expect_not(stk_map_walkable(m, 5, 5));
    cr_expect(stk_map_flyable(m, 5, 5));
    cr_expect_not(stk_map_buildable(m, 5, 5));
    cr_expect_not(stk_map_walkable(m, 6, 5));
    cr_expect_not(stk_map_flyable(m, 6, 5));
    cr_expect_not(stk_map_buildable(m, 6, 5));
    cr_expect(stk_map_walkable(m, 7, 5));
    cr_expect(stk_map_buildable(m, 7, 5));
    cr_expect_not(stk_map_buildable(m, 0, 0));   /* spawn */
    cr_expect_not(stk_map_buildable(m, 19, 19)); /* goal */
    cr_expect_not(stk_map_walkable(m, 20, 0));
    cr_expect_not(stk_map_flyable(m, 20, 0));
    stk_map_destroy(m);
}

Test(map, enemy_type_names_round_trip)
{
    for (uint32_t t = 0; t < STK_ENEMY_TYPE_COUNT; t++) {
        const char *name = stk_map_enemy_type_name(t);

        cr_assert_not_null(name);
        cr_expect_eq(stk_map_enemy_type_parse(name, strlen(name)), (int)t);
    }
    cr_expect_str_eq(stk_map_enemy_type_name(STK_ENEMY_FLYER), "flyer");
    cr_expect_eq(stk_map_enemy_type_parse("runnerX", 6), STK_ENEMY_RUNNER); /* length-bound */
    cr_expect_eq(stk_map_enemy_type_parse("Grunt", 5), STK_ENOTFOUND);
    cr_expect_eq(stk_map_enemy_type_parse("grun", 4), STK_ENOTFOUND);
    cr_expect_eq(stk_map_enemy_type_parse("", 0), STK_ENOTFOUND);
    cr_expect_eq(stk_map_enemy_type_parse(NULL, 5), STK_ENOTFOUND);
    cr_expect_null(stk_map_enemy_type_name(STK_ENEMY_TYPE_COUNT));
    cr_expect_str_eq(stk_map_terrain_name(STK_TERRAIN_WATER), "water");
    cr_expect_null(stk_map_terrain_name(STK_TERRAIN_COUNT));
}

/* ---- shipped maps: a test-only reader of the contract's JSON shape ---- */

static uint32_t get_uint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    cr_assert(json_is_integer(v), "missing integer %s", key);
    cr_assert(json_integer_value(v) >= 0 && json_integer_value(v) <= UINT32_MAX);
    return (uint32_t)json_integer_value(v);
}

static void load_map(const char *file, stk_map_t *m)
{
    char path[512];
    json_error_t err;
    json_t *root, *tiles, *waves, *v;
    size_t i;

    snprintf(path, sizeof(path), "%s/%s", STK_MAPS_DIR, file);
    root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s:%d: %s", path, err.line, err.text);
    cr_assert(json_is_string(json_object_get(root, "name")));
    cr_assert(json_is_string(json_object_get(root, "description")));
    cr_assert_eq(stk_map_init(m, get_uint(root, "width"), get_uint(root, "height")), 0);

    tiles = json_object_get(root, "terrain_data");
    cr_assert(json_is_array(tiles));
    cr_assert_eq(json_array_size(tiles), (size_t)m->width * m->height);
    json_array_foreach(tiles, i, v)
    {
        uint32_t x = get_uint(v, "x"), y = get_uint(v, "y");
        stk_tile_t *t = stk_map_tile_mut(m, x, y);
        json_t *b = json_object_get(v, "isBlocked");

        cr_assert_not_null(t, "tile %zu off-map", i);
        cr_assert_eq((size_t)y * m->width + x, i, "terrain_data is row-major");
        t->terrain = (uint8_t)get_uint(v, "terrainType");
        t->height = (uint8_t)get_uint(v, "height");
        cr_assert(json_is_boolean(b));
        t->blocked = json_is_true(b) ? 1 : 0;
    }
    m->spawn.x = get_uint(json_object_get(root, "spawn_point"), "x");
    m->spawn.y = get_uint(json_object_get(root, "spawn_point"), "y");
    m->goal.x = get_uint(json_object_get(root, "goal_point"), "x");
    m->goal.y = get_uint(json_object_get(root, "goal_point"), "y");

    waves = json_object_get(json_object_get(root, "wave_config"), "waves");
    cr_assert(json_is_array(waves));
    cr_assert_leq(json_array_size(waves), STK_MAP_MAX_WAVES);
    m->n_waves = (uint32_t)json_array_size(waves);
    json_array_foreach(waves, i, v)
    {
        json_t *enemies = json_object_get(v, "enemies"), *e;
        size_t j;

        cr_assert(json_is_array(enemies));
        cr_assert_leq(json_array_size(enemies), STK_MAP_MAX_GROUPS);
        m->waves[i].number = get_uint(v, "waveNumber");
        m->waves[i].n_groups = (uint32_t)json_array_size(enemies);
        json_array_foreach(enemies, j, e)
        {
            const char *type = json_string_value(json_object_get(e, "type"));
            int id = type ? stk_map_enemy_type_parse(type, strlen(type)) : STK_ENOTFOUND;

            m->waves[i].groups[j].type = id < 0 ? STK_ENEMY_TYPE_INVALID : (uint32_t)id;
            m->waves[i].groups[j].count = get_uint(e, "count");
            m->waves[i].groups[j].interval_ms = get_uint(e, "spawnInterval");
        }
    }
    json_decref(root);
}

/* Loads, validates and paths one shipped map; returns the walker distance spawn → goal. */
static uint32_t check_shipped(const char *file, uint32_t w, uint32_t h, uint32_t n_waves)
{
    stk_map_t *m = NULL;
    stk_path_t *p = NULL;
    result_t r;
    uint32_t d;

    cr_assert_eq(stk_map_create(20, 20, &m), 0);
    load_map(file, m);
    cr_expect_eq(m->width, w);
    cr_expect_eq(m->height, h);
    cr_expect_eq(m->n_waves, n_waves);
    validate(m, &r);
    cr_expect_eq(r.rc, 0, "%s: %zu problems, first %s at %s: %s", file, r.count,
                 r.count ? stk_map_problem_name(r.problems[0].code) : "-",
                 r.count ? r.problems[0].field : "-", r.count ? r.problems[0].message : "-");
    cr_assert_eq(stk_path_create(m->width, m->height, &p), 0);
    cr_assert_eq(stk_path_compute(p, m, NULL), 0);
    d = stk_path_distance(p, m->spawn.x, m->spawn.y);
    stk_path_destroy(p);
    stk_map_destroy(m);
    return d;
}

/* The distances are the ones maps/generate.py prints (its own Python BFS): the C field and
 * the generator agree. */
Test(map_shipped, meadow_is_valid)
{
    cr_expect_eq(check_shipped("meadow.json", 20, 20, 5), 19);
}

Test(map_shipped, canyon_is_valid_and_winding)
{
    cr_expect_eq(check_shipped("canyon.json", 40, 30, 10), 188);
}

Test(map_shipped, fortress_is_valid)
{
    cr_expect_eq(check_shipped("fortress.json", 100, 100, 30), 176);
}
