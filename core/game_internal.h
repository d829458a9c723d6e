/* core/game_internal.h — the body of stk_game_t, shared by game.c, game_step.c and
 * game_hash.c only. Not a public header: nothing outside core/game*.c includes it.
 *
 * Invariants:
 * - towers[0..n_towers) and enemies[0..n_enemies) are sorted by id (ids only grow; removal
 *   compacts in place), so "iteration order" is "id order" everywhere.
 * - tower_at[y * w + x] is nonzero exactly where a tower stands; walk holds the walker field
 *   for (map, tower_at), fly the flyer field for map (computed once).
 * - wave_left[k] counts the enemies of wave k not yet spawned plus those alive; it is set to
 *   the wave's size when the wave starts.
 * - Everything hashed lives in the fields listed in game_hash.c; the derived tables
 *   (enemy_speed, lvl) are a function of (balance, tick_rate), which the setup digest covers.
 */
#ifndef STK_CORE_GAME_INTERNAL_H
#define STK_CORE_GAME_INTERNAL_H

#include "core/game.h"
#include "core/path.h"
#include "core/rng.h"

typedef struct stk_game_player {
    uint8_t id[STK_GAME_ID_LEN];
    uint8_t tribe[STK_GAME_ID_LEN];
    uint32_t damage_bp, attack_speed_bp, range_bp, color;
    uint8_t ready, connected, left;
    int64_t gold;
    uint32_t kills;
} stk_game_player_t;

typedef struct stk_game_tower {
    uint32_t id;
    uint32_t owner;
    uint32_t kind;
    uint32_t level; /* 1..STK_TOWER_LEVELS */
    uint32_t x, y;
    uint32_t spent;
    uint32_t cooldown;
    uint32_t kills;
} stk_game_tower_t;

typedef struct stk_game_enemy {
    uint32_t id;
    uint32_t kind;
    uint32_t wave; /* 0-based wave index */
    int32_t health;
    uint32_t x, y, nx, ny;
    int32_t progress;
    int32_t slow_bp;
    uint32_t slow_ticks;
    uint32_t gone; /* 1: killed or leaked this tick, removed at the end of the step */
} stk_game_enemy_t;

#define STK_GAME_CELL_SHIFT 2 /* 4 x 4 tiles per cell */

#define STK_GAME_CELL_SHIFT 2 /* 4 x 4 tiles per cell */

/* Per-level tower numbers converted to ticks and fixed point at create. */
typedef struct stk_game_level {
    int64_t range_fp, splash_fp, chain_fp;
    uint32_t cooldown_ticks, slow_ticks;
} stk_game_level_t;

struct stk_game {
    /* setup (constant) */
    stk_map_t map;
    stk_balance_t balance;
    uint64_t seed;
    uint32_t tick_rate;
    uint32_t ruleset;
    uint64_t setup_digest; /* XXH3 of the canonical map + balance + tick rate + ruleset */
    uint32_t enemy_cap, tower_cap;
    /* derived (constant) */
    int32_t enemy_speed[STK_ENEMY_KINDS]; /* fixed-point tiles per tick */
    stk_game_level_t lvl[STK_TOWER_KINDS][STK_TOWER_LEVELS];
    uint32_t first_wave_ticks, wave_countdown_ticks;
    int32_t spawn_jitter_fp;
    uint32_t wave_size[STK_MAP_MAX_WAVES];

    /* dynamic state (hashed) */
    uint32_t state;  /* stk_game_state_t */
    uint32_t result; /* stk_game_result_t */
    uint64_t tick;
    stk_rng_t rng;
    int32_t lives;
    uint32_t leaks;
    uint32_t waves_started, waves_cleared;
    uint32_t spawning; /* the wave waves_started - 1 is spawning */
    uint32_t spawn_group, spawn_in_group, spawn_timer;
    uint32_t countdown; /* ticks to the next automatic wave, when not spawning */
    uint32_t next_tower_id, next_enemy_id;
    uint32_t wave_left[STK_MAP_MAX_WAVES];
    uint32_t n_players;
    stk_game_player_t players[STK_GAME_MAX_PLAYERS];
    uint32_t n_towers, n_enemies;

    /* pools and pathing (allocated at create) */
    stk_game_tower_t *towers;  /* tower_cap */
    stk_game_enemy_t *enemies; /* enemy_cap */
    uint8_t *tower_at;         /* width * height */
    stk_point_t *occupied;     /* enemy_cap: scratch for stk_path_would_cut */
    /* Spatial index of enemies rebuilt every tick after movement (derived, not hashed):
     * cells of 2^STK_GAME_CELL_SHIFT tiles square; cell_head[c] / cell_next[i] hold an enemy
     * index + 1, 0 ends a list. Only an acceleration: every query orders its results by
     * (key, index), so the visiting order never shows. */
    uint16_t *cell_head; /* cells_w * cells_h */
    uint16_t *cell_next; /* enemy_cap */
    uint32_t cells_w, cells_h;
    stk_path_t *walk, *fly;
};

/* game.c: start the next wave now (one is left and none is spawning). */
void stk_game__start_wave(stk_game_t *g);
/* game_step.c: an enemy's position, 16.16 tiles (tile centres at +0.5). */
void stk_game__enemy_pos(const stk_game_enemy_t *e, int32_t *px, int32_t *py);
/* game_hash.c */
uint64_t stk_game__setup_digest(const stk_game_t *g);

#endif
