/* tests/fuzz/fuzz_game_setup.h — the small, fixed game setup shared by the game fuzz targets
 * (fuzz_game_bridge, fuzz_game_restore) and by the program that wrote their seed corpora.
 *
 * A snapshot only restores into a game created from the same setup (its digest is inside
 * the snapshot), so the seeds in tests/fuzz/corpus/fuzz_game_restore/ are valid only for
 * exactly this map, seed, tick rate and balance: changing anything here makes them bounce
 * off the setup check (the target still runs, it just loses its good seeds; regenerate).
 *
 * It is NOT a test fixture for the unit tests and has no public names: static inline
 * helpers only, for single-threaded fuzz harnesses.
 */
#ifndef STK_TESTS_FUZZ_GAME_SETUP_H
#define STK_TESTS_FUZZ_GAME_SETUP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/balance.h"
#include "core/game.h"
#include "core/map.h"

/* Player ids used by the fuzz harnesses: two who join, one stranger, and the server. */
#define FUZZ_P1 0x11
#define FUZZ_P2 0x22
#define FUZZ_P3 0x33

/* A valid 20x20 map: a lake, a blocked tile, rock, two short waves of every walker type
 * and a flyer, spawn on the west edge and goal on the east edge. */
static inline void fuzz_sample_map(stk_map_t *m)
{
    (void)stk_map_init(m, 20, 20);
    m->spawn = (stk_point_t){0, 10};
    m->goal = (stk_point_t){19, 10};
    for (uint32_t y = 0; y < 5; y++)
        stk_map_tile_mut(m, 5, y)->terrain = STK_TERRAIN_WATER;
    stk_map_tile_mut(m, 7, 3)->blocked = 1;
    stk_map_tile_mut(m, 8, 8)->height = 7;
    stk_map_tile_mut(m, 9, 9)->terrain = STK_TERRAIN_ROCK;
    m->n_waves = 2;
    m->waves[0].number = 1;
    m->waves[0].n_groups = 2;
    m->waves[0].groups[0] = (stk_map_enemies_t){STK_ENEMY_GRUNT, 5, 250};
    m->waves[0].groups[1] = (stk_map_enemies_t){STK_ENEMY_BRUTE, 2, 500};
    m->waves[1].number = 2;
    m->waves[1].n_groups = 2;
    m->waves[1].groups[0] = (stk_map_enemies_t){STK_ENEMY_RUNNER, 3, 100};
    m->waves[1].groups[1] = (stk_map_enemies_t){STK_ENEMY_FLYER, 2, 0};
}

/* Create a LOBBY game on fuzz_sample_map() with seed 7, 20 ticks/s, the given balance
 * (NULL = defaults). Returns stk_game_create()'s code; *out is the caller's. */
static inline int fuzz_game_new(const stk_balance_t *balance, stk_game_t **out)
{
    stk_game_setup_t s;
    stk_map_t *m = malloc(sizeof *m);
    if (!m)
        return -1;
    fuzz_sample_map(m);
    memset(&s, 0, sizeof s);
    s.map = m;
    s.seed = 7;
    s.tick_rate = 20;
    s.ruleset = STK_RULESET_VERSION;
    if (balance)
        s.balance = *balance;
    else
        stk_balance_default(&s.balance);
    int rc = stk_game_create(&s, out);
    free(m);
    return rc;
}

static inline void fuzz_id(uint8_t id[STK_GAME_ID_LEN], uint8_t who)
{
    memset(id, who, STK_GAME_ID_LEN);
}

/* Apply one input built from the arguments; the result is ignored (a refused input
 * changes nothing). */
static inline void fuzz_apply(stk_game_t *g, int kind, uint8_t who, uint32_t x, uint32_t y,
                              int32_t tower, uint32_t tower_id)
{
    stk_game_input_t in;
    stk_reject_t why;
    memset(&in, 0, sizeof in);
    in.kind = kind;
    fuzz_id(in.player, who);
    fuzz_id(in.tribe, (uint8_t)(who + 1));
    in.damage_bp = 2000;
    in.attack_speed_bp = 2000;
    in.range_bp = 1000;
    in.color = 0x336699u * who & 0xffffffu;
    in.ready = true;
    in.x = x;
    in.y = y;
    in.tower = tower;
    in.tower_id = tower_id;
    (void)stk_game_apply(g, &in, &why);
}

/* Drive g (fresh LOBBY) to `stage`: 0 lobby, 1 lobby with P1 (host) and P2 ready, 2 in
 * progress with towers and live enemies, 3 paused (stage 2 then PAUSE), 4 in progress
 * late (second wave spawning, a tower upgraded, one sold). */
static inline void fuzz_game_drive(stk_game_t *g, int stage)
{
    if (stage < 1)
        return;
    fuzz_apply(g, STK_INPUT_JOIN, FUZZ_P1, 0, 0, 0, 0);
    fuzz_apply(g, STK_INPUT_JOIN, FUZZ_P2, 0, 0, 0, 0);
    fuzz_apply(g, STK_INPUT_READY, FUZZ_P2, 0, 0, 0, 0);
    if (stage < 2)
        return;
    fuzz_apply(g, STK_INPUT_READY, FUZZ_P1, 0, 0, 0, 0);
    fuzz_apply(g, STK_INPUT_START, FUZZ_P1, 0, 0, 0, 0);
    fuzz_apply(g, STK_INPUT_PLACE, FUZZ_P1, 3, 9, 0, 0);
    fuzz_apply(g, STK_INPUT_PLACE, FUZZ_P2, 6, 11, 1, 0);
    fuzz_apply(g, STK_INPUT_PLACE, FUZZ_P2, 10, 9, 2, 0);
    fuzz_apply(g, STK_INPUT_PLACE, FUZZ_P1, 14, 11, 3, 0);
    fuzz_apply(g, STK_INPUT_CALL_WAVE, FUZZ_P1, 0, 0, 0, 0);
    for (int i = 0; i < 40; i++)
        stk_game_step(g, NULL);
    if (stage == 3)
        fuzz_apply(g, STK_INPUT_PAUSE, FUZZ_P1, 0, 0, 0, 0);
    if (stage < 4)
        return;
    fuzz_apply(g, STK_INPUT_UPGRADE, FUZZ_P1, 0, 0, 0, 1);
    fuzz_apply(g, STK_INPUT_SELL, FUZZ_P2, 0, 0, 0, 2);
    for (int i = 0; i < 200 && stk_game_wave(g) < 2; i++) {
        stk_game_step(g, NULL);
        fuzz_apply(g, STK_INPUT_CALL_WAVE, FUZZ_P2, 0, 0, 0, 0);
    }
    for (int i = 0; i < 15; i++)
        stk_game_step(g, NULL);
}

#endif
