/* tests/core/test_game_maps.c — whole games on the shipped maps (the JSON files in maps/, read with
 * jansson, test-only): a simple scripted bot builds along the path, the game reaches its end,
 * and a second run with the same seed and inputs ends with the same hash. */
#include <jansson.h>
#include <stdio.h>

#include "core/path.h"
#include "test_game_fixture.h"

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
    snprintf(path, sizeof(path), "%s/%s", STK_MAPS_DIR, file);
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s:%d: %s", path, err.line, err.text);
    cr_assert_eq(stk_map_init(m, get_uint(root, "width"), get_uint(root, "height")), 0);
    json_t *tiles = json_object_get(root, "terrain_data"), *v;
    size_t i;
    cr_assert_eq(json_array_size(tiles), (size_t)m->width * m->height);
    json_array_foreach(tiles, i, v)
    {
        stk_tile_t *t = stk_map_tile_mut(m, get_uint(v, "x"), get_uint(v, "y"));
        cr_assert_not_null(t);
        t->terrain = (uint8_t)get_uint(v, "terrainType");
        t->height = (uint8_t)get_uint(v, "height");
        t->blocked = json_is_true(json_object_get(v, "isBlocked")) ? 1 : 0;
    }
    m->spawn.x = get_uint(json_object_get(root, "spawn_point"), "x");
    m->spawn.y = get_uint(json_object_get(root, "spawn_point"), "y");
    m->goal.x = get_uint(json_object_get(root, "goal_point"), "x");
    m->goal.y = get_uint(json_object_get(root, "goal_point"), "y");
    json_t *waves = json_object_get(json_object_get(root, "wave_config"), "waves");
    cr_assert_leq(json_array_size(waves), STK_MAP_MAX_WAVES);
    m->n_waves = (uint32_t)json_array_size(waves);
    json_array_foreach(waves, i, v)
    {
        json_t *enemies = json_object_get(v, "enemies"), *e;
        size_t j;
        m->waves[i].number = get_uint(v, "waveNumber");
        m->waves[i].n_groups = (uint32_t)json_array_size(enemies);
        cr_assert_leq(m->waves[i].n_groups, STK_MAP_MAX_GROUPS);
        json_array_foreach(enemies, j, e)
        {
            const char *type = json_string_value(json_object_get(e, "type"));
            cr_assert_not_null(type);
            int id = stk_map_enemy_type_parse(type, strlen(type));
            cr_assert_geq(id, 0, "unknown enemy type %s", type);
            m->waves[i].groups[j] = (stk_map_enemies_t){(uint32_t)id, get_uint(e, "count"),
                                                        get_uint(e, "spawnInterval")};
        }
    }
    json_decref(root);
}

typedef struct result {
    uint64_t hash, ticks;
    stk_game_result_t result;
    uint32_t waves, towers;
    int32_t lives;
} result_t;

/* Candidate build tiles: the neighbours of the initial walker path, in path order. */
static size_t candidates(const stk_map_t *m, stk_point_t *out, size_t cap)
{
    stk_path_t *p = NULL;
    cr_assert_eq(stk_path_create(m->width, m->height, &p), 0);
    cr_assert_eq(stk_path_compute(p, m, NULL), 0);
    size_t n = 0;
    uint32_t x = m->spawn.x, y = m->spawn.y;
    for (int step = 0; step < STK_MAP_MAX_TILES && n < cap; step++) {
        static const int d[8][2] = {{0, -2}, {2, 0}, {0, 2},  {-2, 0},
                                    {1, -1}, {1, 1}, {-1, 1}, {-1, -1}};
        for (int k = 0; k < 8 && n < cap; k++)
            if (step % 3 == 0 || k < 4)
                out[n++] = (stk_point_t){x + (uint32_t)d[k][0], y + (uint32_t)d[k][1]};
        uint32_t nx, ny;
        if (stk_path_next(p, x, y, &nx, &ny) != 0 || (nx == x && ny == y))
            break;
        x = nx;
        y = ny;
    }
    stk_path_destroy(p);
    return n;
}

static result_t play(const stk_map_t *m, uint64_t seed, int players)
{
    enum { CAP = 4096 };
    static stk_point_t cand[CAP];
    size_t n_cand = candidates(m, cand, CAP), next_cand = 0;
    stk_game_t *g = fx_game(m, seed);
    fx_start(g, players);
    result_t r = {0};
    stk_game_outcome_t out = {0};
    for (uint64_t t = 0; t < 2000000 && !out.game_ended; t++) {
        if (t % 40 == 0) {
            /* each player in turn: upgrade the oldest tower it can, or build */
            uint8_t p = (uint8_t)(1 + (t / 40) % (uint64_t)players);
            int kind = (int)((t / 40) % STK_TOWER_KINDS);
            for (size_t i = 0; i < stk_game_tower_count(g); i++) {
                stk_game_tower_info_t ti;
                stk_game_tower(g, i, &ti);
                stk_game_input_t up = fx_input(STK_INPUT_UPGRADE, p);
                up.tower_id = ti.id;
                if (ti.owner == (uint32_t)(p - 1) && ti.level < 3 && fx_gold(g, p - 1u) > 400 &&
                    fx_try(g, &up) == STK_REJECT_NONE)
                    break;
            }
            while (next_cand < n_cand) {
                stk_game_input_t in = fx_place_input(p, cand[next_cand].x, cand[next_cand].y, kind);
                stk_reject_t why = fx_try(g, &in);
                if (why == STK_REJECT_NOT_ENOUGH_GOLD || why == STK_REJECT_TOWER_LIMIT)
                    break;
                next_cand++;
                if (why == STK_REJECT_NONE)
                    break;
            }
        }
        stk_game_step(g, &out);
        if (out.wave_ended)
            cr_assert_eq(out.hash, stk_game_hash(g));
    }
    cr_assert(out.game_ended, "the game never ended");
    r.hash = stk_game_hash(g);
    r.ticks = stk_game_tick(g);
    r.result = out.result;
    r.waves = stk_game_waves_cleared(g);
    r.towers = (uint32_t)stk_game_tower_count(g);
    r.lives = out.lives;
    stk_game_destroy(g);
    return r;
}

static void play_twice(const char *file, int players)
{
    stk_map_t *m = NULL;
    cr_assert_eq(stk_map_create(STK_MAP_MIN_SIDE, STK_MAP_MIN_SIDE, &m), 0);
    load_map(file, m);
    result_t a = play(m, 1234, players), b = play(m, 1234, players);
    cr_expect_eq(a.hash, b.hash);
    cr_expect_eq(a.ticks, b.ticks);
    cr_expect(a.result == STK_RESULT_VICTORY || a.result == STK_RESULT_DEFEAT);
    cr_log_info("%s: %s after %llu ticks, %u waves cleared, %d lives, %u towers, hash %016llx",
                file, stk_game_result_name(a.result), (unsigned long long)a.ticks, a.waves, a.lives,
                a.towers, (unsigned long long)a.hash);
    stk_map_destroy(m);
}

Test(game_maps, meadow_plays_to_the_end_the_same_way_twice)
{
    play_twice("meadow.json", 1);
}

Test(game_maps, canyon_plays_to_the_end_the_same_way_twice)
{
    play_twice("canyon.json", 2);
}

Test(game_maps, fortress_plays_to_the_end_the_same_way_twice, .timeout = 240)
{
    play_twice("fortress.json", 4);
}
