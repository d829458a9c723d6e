/* tests/core/test_game_rules.c — one test per game rule: pathing around towers, blocking,
 * each tower effect, each enemy trait, tribe bonuses, bounty, leaks, waves, victory,
 * defeat, economy of upgrades and sales. Enemies walk the open fixture map along y = 10. */
#include "test_game_fixture.h"

/* The rules are tested against fixed tables, not the shipped defaults (which balance tuning
 * changes): the default towers, with the enemy and economy numbers these tests were written
 * for and no growth of health per wave (except where a test sets it). */
static void rules_balance(stk_balance_t *b)
{
    static const stk_enemy_spec_t enemy[STK_ENEMY_KINDS] = {
        [STK_ENEMY_GRUNT] = {"grunt", 60, 1000, 0, 5, 1, 0},
        [STK_ENEMY_RUNNER] = {"runner", 35, 2000, 0, 6, 1, 0},
        [STK_ENEMY_BRUTE] = {"brute", 220, 600, 4, 15, 3, 0},
        [STK_ENEMY_FLYER] = {"flyer", 50, 1300, 0, 8, 2, 1},
    };
    stk_balance_default(b);
    memcpy(b->enemy, enemy, sizeof(enemy));
    b->wave_bonus = 25;
    b->wave_bonus_step = 5;
    b->wave_health_bp = 0;
}

static stk_game_t *rules_game(const stk_map_t *m, uint64_t seed)
{
    stk_balance_t b;
    rules_balance(&b);
    return fx_game_with(m, seed, &b);
}
#define fx_game(m, seed) rules_game((m), (seed))

/* Run until the map's only wave is gone; record whether an enemy of each kind ever stood
 * on (x, y). */
static void watch_tile(stk_game_t *g, uint32_t x, uint32_t y, bool seen[STK_ENEMY_KINDS])
{
    for (int t = 0; t < 4000 && stk_game_state(g) == STK_GAME_IN_PROGRESS; t++) {
        stk_game_step(g, NULL);
        for (size_t i = 0; i < stk_game_enemy_count(g); i++) {
            stk_game_enemy_info_t e = fx_enemy(g, i);
            if ((e.x == x && e.y == y) || (e.nx == x && e.ny == y))
                seen[e.kind] = true;
        }
    }
}

static stk_balance_t harmless_balance(void)
{
    stk_balance_t b;
    rules_balance(&b);
    for (int k = 0; k < STK_TOWER_KINDS; k++)
        for (int l = 0; l < STK_TOWER_LEVELS; l++)
            b.tower[k].level[l].damage = 0;
    return b;
}

Test(game_rules, walkers_reroute_around_a_tower_and_flyers_fly_over_it)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 2, 500);
    m.waves[0].n_groups = 2;
    m.waves[0].groups[1] = (stk_map_enemies_t){STK_ENEMY_FLYER, 2, 500};
    stk_balance_t b = harmless_balance();

    /* Without a tower both kinds cross (10, 10). */
    stk_game_t *g = fx_game_with(&m, 1, &b);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    bool seen[STK_ENEMY_KINDS] = {0};
    watch_tile(g, 10, FX_ROW, seen);
    cr_expect(seen[STK_ENEMY_GRUNT]);
    cr_expect(seen[STK_ENEMY_FLYER]);
    cr_expect_eq(stk_game_leaks(g), 4, "all four reach the goal");
    stk_game_destroy(g);

    /* With a tower there, walkers go around it; flyers still cross it. */
    g = fx_game_with(&m, 1, &b);
    fx_start(g, 1);
    fx_place(g, 1, 10, FX_ROW, STK_TOWER_ARROW);
    fx_call_wave(g, 1);
    memset(seen, 0, sizeof(seen));
    watch_tile(g, 10, FX_ROW, seen);
    cr_expect_not(seen[STK_ENEMY_GRUNT], "a walker stepped on a tower");
    cr_expect(seen[STK_ENEMY_FLYER], "the flyer should ignore the tower");
    cr_expect_eq(stk_game_leaks(g), 4, "the walkers found the way around");
    stk_game_destroy(g);
}

Test(game_rules, flyers_cross_water_that_walkers_avoid)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    m.waves[0].n_groups = 2;
    m.waves[0].groups[1] = (stk_map_enemies_t){STK_ENEMY_FLYER, 1, 0};
    stk_map_tile_mut(&m, 10, FX_ROW)->terrain = STK_TERRAIN_WATER;
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    bool seen[STK_ENEMY_KINDS] = {0};
    watch_tile(g, 10, FX_ROW, seen);
    cr_expect_not(seen[STK_ENEMY_GRUNT]);
    cr_expect(seen[STK_ENEMY_FLYER]);
    stk_game_destroy(g);
}

Test(game_rules, a_placement_that_cuts_every_path_is_refused)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    for (uint32_t y = 0; y < FX_H; y++)
        if (y != FX_ROW)
            stk_map_tile_mut(&m, 10, y)->blocked = 1; /* a wall with one gap */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    uint64_t before = stk_game_hash(g);
    stk_game_input_t in = fx_place_input(1, 10, FX_ROW, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_WOULD_BLOCK_PATH);
    cr_expect_eq(stk_game_hash(g), before, "a refused input changes nothing");
    cr_expect_eq(fx_gold(g, 0), 500);
    in = fx_place_input(1, 10, 3, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_TILE_BLOCKED);
    /* next to the gap is fine */
    in = fx_place_input(1, 9, 9, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NONE);
    stk_game_destroy(g);
}

Test(game_rules, a_tile_a_walker_is_on_cannot_be_built_on)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    fx_steps(g, 60);
    stk_game_enemy_info_t e = fx_enemy(g, 0);
    stk_game_input_t in = fx_place_input(1, e.nx, e.ny, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_TILE_OCCUPIED);
    in = fx_place_input(1, e.x, e.y, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_TILE_OCCUPIED);
    stk_game_destroy(g);
}

/* Enemies damaged so far (health below their full value). */
static int damaged(const stk_game_t *g, int32_t full, int32_t healths[], int cap)
{
    int n = 0;
    for (size_t i = 0; i < stk_game_enemy_count(g); i++) {
        stk_game_enemy_info_t e = fx_enemy(g, i);
        if (e.health < full && n < cap)
            healths[n++] = e.health;
    }
    return n;
}

Test(game_rules, an_arrow_hits_a_single_target)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 3, 0); /* three grunts spawn together */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    uint32_t t = fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_ARROW);
    fx_call_wave(g, 1);
    fx_until_fired(g, t, 100);
    int32_t h[3];
    cr_assert_eq(stk_game_enemy_count(g), 3);
    cr_expect_eq(damaged(g, 60, h, 3), 1);
    cr_expect_eq(h[0], 60 - 12);
    stk_game_destroy(g);
}

Test(game_rules, a_cannon_splashes_every_enemy_near_its_target)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 3, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    uint32_t t = fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_CANNON);
    fx_call_wave(g, 1);
    fx_until_fired(g, t, 100);
    int32_t h[3];
    cr_assert_eq(damaged(g, 60, h, 3), 3, "all three are within the splash");
    int full = 0;
    for (int i = 0; i < 3; i++) {
        cr_expect(h[i] >= 60 - 25 && h[i] <= 60 - 25 * 7500 / 10000, "health %d", h[i]);
        full += h[i] == 60 - 25;
    }
    cr_expect_geq(full, 1, "the target takes the full damage");
    stk_game_destroy(g);
}

Test(game_rules, frost_slows_its_target)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    fx_steps(g, 3);
    int32_t before = fx_enemy(g, 0).px;
    stk_game_step(g, NULL);
    int32_t normal = fx_enemy(g, 0).px - before;
    cr_assert_eq(normal, (1000 << 16) / (1000 * FX_RATE), "1 tile/s at 20 Hz");

    uint32_t t = fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_FROST);
    fx_until_fired(g, t, 100);
    stk_game_enemy_info_t e = fx_enemy(g, 0);
    cr_expect_eq(e.slow_bp, 4000);
    cr_expect_eq(e.health, 60 - 4);
    before = e.px;
    stk_game_step(g, NULL);
    cr_expect_eq(fx_enemy(g, 0).px - before, normal * 6000 / 10000, "40%% slower");
    /* the slow wears off: 1.5 s = 30 ticks, refreshed only by new hits */
    stk_game_destroy(g);
}

Test(game_rules, tesla_chains_to_nearby_enemies_with_falloff)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 3, 500); /* half a tile apart */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    fx_steps(g, 25);
    uint32_t t = fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_TESLA);
    fx_until_fired(g, t, 100);
    cr_assert_eq(stk_game_enemy_count(g), 3);
    /* id order = spawn order; the first is furthest along and takes the first hit */
    cr_expect_eq(fx_enemy(g, 0).health, 60 - 18);
    cr_expect_eq(fx_enemy(g, 1).health, 60 - 18 * 7000 / 10000);
    cr_expect_eq(fx_enemy(g, 2).health, 60 - (18 * 7000 / 10000) * 7000 / 10000);
    stk_game_destroy(g);
}

Test(game_rules, towers_target_the_enemy_furthest_along)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    fx_add_wave(&m, STK_ENEMY_RUNNER, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1); /* grunt */
    fx_steps(g, 5);
    fx_call_wave(g, 1); /* runner, later but twice as fast: overtakes */
    fx_steps(g, 40);
    stk_game_enemy_info_t a = fx_enemy(g, 0), b = fx_enemy(g, 1);
    cr_assert_gt(b.px, a.px, "the runner is ahead");
    uint32_t t = fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_ARROW);
    fx_until_fired(g, t, 100);
    cr_expect_eq(fx_enemy(g, 0).health, 60);
    cr_expect_eq(fx_enemy(g, 1).health, 35 - 12);
    stk_game_destroy(g);
}

Test(game_rules, armour_reduces_every_hit)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_BRUTE, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    uint32_t t = fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_ARROW);
    fx_call_wave(g, 1);
    fx_until_fired(g, t, 200);
    cr_expect_eq(fx_enemy(g, 0).health, 220 - (12 - 4));
    stk_game_destroy(g);
}

Test(game_rules, enemy_kinds_differ_in_speed)
{
    int32_t moved[STK_ENEMY_KINDS];
    for (int k = 0; k < STK_ENEMY_KINDS; k++) {
        stk_map_t m;
        fx_map(&m, (uint32_t)k, 1, 0);
        stk_game_t *g = fx_game(&m, 1);
        fx_start(g, 1);
        fx_call_wave(g, 1);
        fx_steps(g, 2);
        int32_t x0 = fx_enemy(g, 0).px;
        fx_steps(g, 10);
        moved[k] = fx_enemy(g, 0).px - x0;
        stk_game_destroy(g);
    }
    cr_expect_gt(moved[STK_ENEMY_RUNNER], moved[STK_ENEMY_GRUNT]);
    cr_expect_gt(moved[STK_ENEMY_GRUNT], moved[STK_ENEMY_BRUTE]);
    cr_expect_gt(moved[STK_ENEMY_FLYER], moved[STK_ENEMY_GRUNT]);
}

/* Ticks until the first shot and the damage / cooldown it left, for a tribe. */
static void first_shot(uint32_t dmg, uint32_t as, uint32_t range, int *ticks, int32_t *health,
                       uint32_t *cooldown)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_join(g, 1, dmg, as, range);
    fx_ready(g, 1);
    stk_game_input_t in = fx_input(STK_INPUT_START, 1);
    fx_ok(g, &in);
    uint32_t t = fx_place(g, 1, 5, FX_ROW - 1, STK_TOWER_ARROW);
    fx_call_wave(g, 1);
    *ticks = fx_until_fired(g, t, 200);
    *health = fx_enemy(g, 0).health;
    stk_game_tower_info_t ti;
    cr_assert_eq(stk_game_tower_by_id(g, t, &ti), 0);
    *cooldown = ti.cooldown;
    stk_game_destroy(g);
}

Test(game_rules, tribe_bonuses_change_damage_range_and_attack_speed)
{
    int t_dmg, t_speed, t_range;
    int32_t h_dmg, h_speed, h_range;
    uint32_t c_dmg, c_speed, c_range;
    first_shot(FX_TRIBE_DAMAGE, &t_dmg, &h_dmg, &c_dmg);
    first_shot(FX_TRIBE_SPEED, &t_speed, &h_speed, &c_speed);
    first_shot(FX_TRIBE_RANGE, &t_range, &h_range, &c_range);
    cr_expect_eq(h_dmg, 60 - 12 * 15000 / 10000, "+50%% damage");
    cr_expect_eq(h_range, 60 - 12);
    cr_expect_eq(c_range, 12, "600 ms at 20 Hz");
    cr_expect_eq(c_speed, 12 * 10000 / 15000, "+50%% attack speed");
    cr_expect_lt(t_range, t_dmg, "+50%% range reaches the enemy earlier");
    cr_expect_eq(t_speed, t_dmg);
}

Test(game_rules, a_kill_pays_the_bounty_to_the_killing_towers_owner)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    fx_add_wave(&m, STK_ENEMY_GRUNT, 1, 0); /* keeps the game going */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 2);
    uint32_t t = fx_place(g, 2, 5, FX_ROW - 1, STK_TOWER_ARROW);
    fx_call_wave(g, 1);
    stk_game_outcome_t out;
    int guard = 0;
    do {
        stk_game_step(g, &out);
        cr_assert_lt(++guard, 1000);
    } while (!out.wave_ended);
    cr_expect_eq(stk_game_leaks(g), 0);
    cr_expect_eq(out.kills, 1, "the kill is reported in the step's outcome");
    cr_expect_eq(out.leaks, 0);
    stk_game_player_info_t p1, p2;
    stk_game_player(g, 0, &p1);
    stk_game_player(g, 1, &p2);
    cr_expect_eq(p2.kills, 1);
    cr_expect_eq(p1.kills, 0);
    cr_expect_eq(p1.gold, 500 + 25, "wave bonus only");
    cr_expect_eq(p2.gold, 500 - 60 + 5 + 25, "tower, bounty, wave bonus");
    cr_expect_eq(out.gold[0], p1.gold);
    cr_expect_eq(out.gold[1], p2.gold);
    stk_game_tower_info_t ti;
    stk_game_tower_by_id(g, t, &ti);
    cr_expect_eq(ti.kills, 1);
    stk_game_destroy(g);
}

Test(game_rules, leaks_cost_the_enemys_lives)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 3, 100);
    fx_add_wave(&m, STK_ENEMY_BRUTE, 2, 100); /* starts by itself 15 s later */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    fx_steps(g, 600);
    cr_expect_eq(stk_game_lives(g), 20 - 3);
    cr_expect_eq(stk_game_leaks(g), 3);
    cr_expect_eq(stk_game_wave(g), 2);
    fx_steps(g, 1000);
    cr_expect_eq(stk_game_lives(g), 20 - 3 - 2 * 3, "a brute costs 3 lives");
    cr_expect_eq(stk_game_leaks(g), 5);
    stk_game_destroy(g);
}

Test(game_rules, clearing_every_wave_is_a_victory)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    fx_add_wave(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    stk_game_outcome_t out;
    int waves = 0, guard = 0, started = 0, spawned = 0, leaks = 0;
    do {
        stk_game_step(g, &out);
        started += out.wave_started != 0;
        spawned += (int)out.spawned;
        leaks += (int)out.leaks;
        if (out.wave_ended) {
            waves++;
            cr_expect_eq(out.wave_cleared, (uint32_t)waves);
            cr_expect_eq(out.hash, stk_game_hash(g));
        }
        cr_assert_lt(++guard, 5000);
    } while (!out.game_ended);
    cr_expect_eq(waves, 2);
    cr_expect_eq(started, 2, "both waves started by their countdowns");
    cr_expect_eq(spawned, 2);
    cr_expect_eq(leaks, 2);
    cr_expect_eq(out.result, STK_RESULT_VICTORY);
    cr_expect_eq(stk_game_state(g), STK_GAME_COMPLETED);
    cr_expect_eq(out.lives, 18, "two leaks, still a victory");
    cr_expect_eq(out.wave, 2);
    cr_expect_eq(out.gold[0], 500 + 25 + 30, "bonus 25, then 25 + 5");
    cr_expect_eq(out.hash, stk_game_hash(g));
    uint64_t tick = stk_game_tick(g);
    fx_steps(g, 10);
    cr_expect_eq(stk_game_tick(g), tick, "a completed game does not advance");
    stk_game_destroy(g);
}

Test(game_rules, losing_every_life_is_a_defeat)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_BRUTE, 8, 0); /* 24 lives' worth */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    stk_game_outcome_t out;
    int guard = 0;
    do {
        stk_game_step(g, &out);
        cr_assert_lt(++guard, 5000);
    } while (!out.game_ended);
    cr_expect_eq(out.result, STK_RESULT_DEFEAT);
    cr_expect_eq(out.lives, 0);
    cr_expect_eq(stk_game_lives(g), 0);
    cr_expect_eq(stk_game_state(g), STK_GAME_COMPLETED);
    stk_game_input_t in = fx_place_input(1, 5, 5, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_WRONG_STATE);
    stk_game_destroy(g);
}

Test(game_rules, each_wave_spawns_enemies_with_compounded_health)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    fx_add_wave(&m, STK_ENEMY_GRUNT, 1, 0);
    fx_add_wave(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_balance_t b;
    rules_balance(&b);
    b.wave_health_bp = 5000; /* +50% per wave: 60, 90, 135 */
    cr_expect_eq(stk_balance_enemy_health(&b, STK_ENEMY_GRUNT, 0), 60);
    cr_expect_eq(stk_balance_enemy_health(&b, STK_ENEMY_GRUNT, 1), 90);
    cr_expect_eq(stk_balance_enemy_health(&b, STK_ENEMY_GRUNT, 2), 135);
    b.wave_health_bp = 10000;
    cr_expect_eq(stk_balance_enemy_health(&b, STK_ENEMY_GRUNT, 1000), INT32_MAX, "capped");
    b.wave_health_bp = 5000;
    stk_game_t *g = fx_game_with(&m, 1, &b);
    fx_start(g, 1);
    int32_t seen[3] = {0};
    for (int t = 0; t < 20000 && stk_game_state(g) == STK_GAME_IN_PROGRESS; t++) {
        stk_game_step(g, NULL);
        for (size_t i = 0; i < stk_game_enemy_count(g); i++) {
            stk_game_enemy_info_t e = fx_enemy(g, i);
            if (e.wave >= 1 && e.wave <= 3 && seen[e.wave - 1] == 0)
                seen[e.wave - 1] = e.health; /* 1-based; no towers: nothing hurts them */
        }
    }
    cr_expect_eq(seen[0], 60);
    cr_expect_eq(seen[1], 90);
    cr_expect_eq(seen[2], 135);
    stk_game_destroy(g);
}

Test(game_rules, the_first_wave_starts_by_itself_after_the_countdown)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    fx_add_wave(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_steps(g, 199);
    cr_expect_eq(stk_game_wave(g), 0);
    cr_expect_eq(stk_game_enemy_count(g), 0);
    stk_game_step(g, NULL); /* 10 s at 20 Hz */
    cr_expect_eq(stk_game_wave(g), 1);
    cr_expect_eq(stk_game_enemy_count(g), 1);
    /* the next one 15 s after the first finished spawning */
    fx_steps(g, 299);
    cr_expect_eq(stk_game_wave(g), 1);
    stk_game_step(g, NULL);
    cr_expect_eq(stk_game_wave(g), 2);
    stk_game_destroy(g);
}

Test(game_rules, spawn_intervals_are_converted_to_ticks)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 3, 500); /* 10 ticks at 20 Hz */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    stk_game_step(g, NULL);
    cr_expect_eq(stk_game_enemy_count(g), 1);
    fx_steps(g, 9);
    cr_expect_eq(stk_game_enemy_count(g), 1);
    stk_game_step(g, NULL);
    cr_expect_eq(stk_game_enemy_count(g), 2);
    cr_expect(stk_game_wave_spawning(g));
    fx_steps(g, 10);
    cr_expect_eq(stk_game_enemy_count(g), 3);
    cr_expect_not(stk_game_wave_spawning(g));
    stk_game_destroy(g);
}

Test(game_rules, upgrades_cost_gold_and_sales_refund_seventy_percent)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 2);
    uint32_t t = fx_place(g, 1, 5, 5, STK_TOWER_ARROW);
    cr_expect_eq(fx_gold(g, 0), 440);
    stk_game_input_t up = fx_input(STK_INPUT_UPGRADE, 1);
    up.tower_id = t;
    fx_ok(g, &up);
    cr_expect_eq(fx_gold(g, 0), 390);
    fx_ok(g, &up);
    cr_expect_eq(fx_gold(g, 0), 300);
    stk_game_tower_info_t ti;
    stk_game_tower_by_id(g, t, &ti);
    cr_expect_eq(ti.level, 3);
    cr_expect_eq(ti.spent, 200);
    cr_expect_eq(fx_try(g, &up), STK_REJECT_MAX_LEVEL);

    stk_game_input_t sell = fx_input(STK_INPUT_SELL, 2);
    sell.tower_id = t;
    cr_expect_eq(fx_try(g, &sell), STK_REJECT_NOT_OWNER);
    memset(sell.player, 1, sizeof(sell.player));
    fx_ok(g, &sell);
    cr_expect_eq(fx_gold(g, 0), 300 + 140);
    cr_expect_eq(stk_game_tower_count(g), 0);
    cr_expect_eq(fx_try(g, &sell), STK_REJECT_NO_SUCH_TOWER);
    /* the tile is free again, and ids are never reused */
    uint32_t t2 = fx_place(g, 1, 5, 5, STK_TOWER_ARROW);
    cr_expect_gt(t2, t);
    stk_game_destroy(g);
}

Test(game_rules, selling_a_tower_reopens_the_path)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    for (uint32_t y = 0; y < FX_H; y++)
        if (y != FX_ROW && y != FX_ROW + 1)
            stk_map_tile_mut(&m, 10, y)->blocked = 1; /* two gaps */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    uint32_t t = fx_place(g, 1, 10, FX_ROW, STK_TOWER_ARROW);
    stk_game_input_t in = fx_place_input(1, 10, FX_ROW + 1, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_WOULD_BLOCK_PATH);
    stk_game_input_t sell = fx_input(STK_INPUT_SELL, 1);
    sell.tower_id = t;
    fx_ok(g, &sell);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NONE);
    stk_game_destroy(g);
}

Test(game_rules, spawns_wait_while_the_enemy_pool_is_full)
{
    stk_map_t m;
    fx_map(&m, STK_ENEMY_RUNNER, 600, 0); /* more than STK_GAME_MAX_ENEMIES at once */
    stk_balance_t b;
    rules_balance(&b);
    b.start_lives = 1000;
    stk_game_t *g = fx_game_with(&m, 1, &b);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    stk_game_step(g, NULL);
    cr_expect_eq(stk_game_enemy_count(g), STK_GAME_MAX_ENEMIES);
    cr_expect(stk_game_wave_spawning(g));
    fx_steps(g, 150);
    cr_expect_eq(stk_game_enemy_count(g), STK_GAME_MAX_ENEMIES, "nobody left yet");
    cr_expect(stk_game_wave_spawning(g));
    stk_game_outcome_t out;
    int guard = 0;
    do {
        stk_game_step(g, &out);
        cr_assert_lt(++guard, 2000);
    } while (!out.game_ended);
    cr_expect_eq(stk_game_leaks(g), 600, "every enemy eventually spawned and leaked");
    cr_expect_eq(out.result, STK_RESULT_VICTORY);
    cr_expect_eq(out.lives, 1000 - 600);
    stk_game_destroy(g);
}

Test(game_rules, times_and_speeds_follow_the_sessions_tick_rate)
{
    static const uint32_t rates[] = {1, 10, 20, 50, 1000};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        stk_map_t m;
        fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
        stk_game_setup_t s;
        memset(&s, 0, sizeof(s));
        s.map = &m;
        s.seed = 3;
        s.tick_rate = rates[i];
        s.ruleset = STK_RULESET_VERSION;
        rules_balance(&s.balance);
        stk_game_t *g = NULL;
        cr_assert_eq(stk_game_create(&s, &g), 0);
        fx_start(g, 1);
        fx_call_wave(g, 1);
        stk_game_outcome_t out;
        do {
            stk_game_step(g, &out);
            cr_assert_lt(stk_game_tick(g), 100u * rates[i] + 10);
        } while (!out.game_ended);
        /* 19 tiles at 1 tile/s, minus a head start of at most a quarter tile; speeds round
         * down to 1/65536 tile per tick (under 1% slower even at 1000 Hz) */
        uint64_t want = 19u * rates[i], got = stk_game_tick(g);
        cr_expect(got <= want + want / 100 + 1 && got + rates[i] / 4 + 1 >= want,
                  "rate %u: %llu ticks", rates[i], (unsigned long long)got);
        cr_expect_eq(out.result, STK_RESULT_VICTORY);
        stk_game_destroy(g);
    }
}

Test(game_rules, a_placement_that_walls_in_a_walking_enemy_is_refused)
{
    /* A walled corridor along y = 5 is the short way; the long way goes around the walls. */
    stk_map_t m;
    fx_map(&m, STK_ENEMY_GRUNT, 1, 0);
    m.spawn = (stk_point_t){0, 5};
    m.goal = (stk_point_t){FX_W - 1, 5};
    for (uint32_t x = 3; x <= 16; x++) {
        stk_map_tile_mut(&m, x, 4)->blocked = 1;
        stk_map_tile_mut(&m, x, 6)->blocked = 1;
    }

    /* without an enemy inside, closing the corridor at both ends is fine */
    stk_game_t *g = fx_game(&m, 1);
    fx_start(g, 1);
    fx_place(g, 1, 5, 5, STK_TOWER_ARROW);
    fx_place(g, 1, 11, 5, STK_TOWER_ARROW);
    stk_game_destroy(g);

    /* with a grunt walking between x = 5 and x = 11, the second tower would wall it in */
    stk_balance_t b = harmless_balance();
    g = fx_game_with(&m, 1, &b);
    fx_start(g, 1);
    fx_call_wave(g, 1);
    fx_steps(g, 150);
    stk_game_enemy_info_t e = fx_enemy(g, 0);
    cr_assert(e.y == 5 && e.x > 5 && e.nx < 11, "grunt at (%u,%u)->(%u,%u)", e.x, e.y, e.nx, e.ny);
    fx_place(g, 1, 5, 5, STK_TOWER_ARROW);
    stk_game_input_t in = fx_place_input(1, 11, 5, STK_TOWER_ARROW);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_WOULD_BLOCK_PATH);
    /* once it has walked past, the same placement is accepted */
    fx_steps(g, 140);
    cr_assert_gt(fx_enemy(g, 0).x, 11);
    cr_expect_eq(fx_try(g, &in), STK_REJECT_NONE);
    stk_game_destroy(g);
}
