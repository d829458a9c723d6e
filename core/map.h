/* core/map.h — the map a game is played on: grid, spawn, goal, waves, and their validation.
 *
 * A stk_map_t is the in-memory form of a MapDrawn/MapEdited payload (events-list.md) and of
 * the contract's `maps` row (terrain_data, spawn_point, goal_point, wave_config). It is a
 * plain value type with FIXED capacity (no pointers inside, ~50 KiB): it may be copied with
 * memcpy, embedded in a session, or allocated with stk_map_create(). It has no padding, so
 * a map initialised with stk_map_init() (which zeroes everything) may be hashed or compared
 * bytewise.
 *
 * This module is NOT a parser: JSON and MessagePack are turned into a stk_map_t by
 * events/ and tools/ (the decoder maps enemy type names with stk_map_enemy_type_parse()).
 * It does not path (see core/path.h), and it knows nothing of towers, enemy stats or
 * balance (core/game*). The shipped example maps are in maps/ at the repository root.
 *
 * Terrain table (terrainType, u8). `isBlocked` is per tile and independent of terrain:
 *   id  name    walkers        flyers         towers (stk_map_buildable)
 *   0   grass   pass           pass           yes
 *   1   dirt    pass           pass           yes
 *   2   stone   pass           pass           yes
 *   3   water   BLOCKED        pass           no
 *   4   rock    pass           pass           yes
 * A tile with isBlocked = 1 is impassable to everyone and not buildable. `height` (0..255)
 * is carried for the client (isometric elevation); ruleset 1 gives it no effect on pathing.
 *
 * Enemy types (ids stored in stk_map_enemies_t.type; names as in the contract's JSON):
 *   0 "grunt", 1 "runner", 2 "brute", 3 "flyer". Their stats are balance data (core/game*).
 *
 * Coordinates: x is the column (0..width-1), y the row (0..height-1); tiles are stored
 * row-major, index = y * width + x, exactly like MapDrawn's `terrain` bin (3 bytes per tile
 * in the order terrain_type, height, blocked — the layout of stk_tile_t, so a decoder may
 * memcpy it) and like the index used in "terrain_data[i]" problem paths.
 *
 * JSON (contract) <-> struct: width, height; terrain_data[i] = {x, y, terrainType, height,
 * isBlocked (JSON boolean)} -> tiles[y * width + x]; spawn_point/goal_point {x, y} -> spawn,
 * goal; wave_config.waves[i] = {waveNumber, enemies[j] = {type (name), count,
 * spawnInterval (ms)}} -> waves[i].number, groups[j].type (id), count, interval_ms.
 *
 * Thread: every function here is pure (no globals); a map may be read from many threads at
 * once, written by one.
 */
#ifndef STK_CORE_MAP_H
#define STK_CORE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits (the contract's check constraints and events-list.md). */
#define STK_MAP_MIN_SIDE        20
#define STK_MAP_MAX_SIDE        100
#define STK_MAP_MAX_TILES       (STK_MAP_MAX_SIDE * STK_MAP_MAX_SIDE)
#define STK_MAP_MAX_WAVES       100
#define STK_MAP_MAX_GROUPS      16     /* enemy groups per wave */
#define STK_MAP_MAX_COUNT       1000   /* enemies per group, minimum 1 */
#define STK_MAP_MAX_INTERVAL_MS 600000 /* spawnInterval, minimum 0 */
#define STK_MAP_ENEMY_NAME_MAX  16     /* longest accepted enemy type name (events-list) */

enum stk_terrain {
    STK_TERRAIN_GRASS = 0,
    STK_TERRAIN_DIRT = 1,
    STK_TERRAIN_STONE = 2,
    STK_TERRAIN_WATER = 3,
    STK_TERRAIN_ROCK = 4,
    STK_TERRAIN_COUNT = 5
};

enum stk_enemy_type {
    STK_ENEMY_GRUNT = 0,
    STK_ENEMY_RUNNER = 1,
    STK_ENEMY_BRUTE = 2,
    STK_ENEMY_FLYER = 3,
    STK_ENEMY_TYPE_COUNT = 4,
    /* What a decoder stores for a name it does not know, so that stk_map_validate()
     * reports it with its field path instead of the decoder failing without one. */
    STK_ENEMY_TYPE_INVALID = 255
};

/* One tile; the byte layout of MapDrawn's terrain bin. */
typedef struct stk_tile {
    uint8_t terrain; /* enum stk_terrain; >= STK_TERRAIN_COUNT is a validation problem */
    uint8_t height;  /* 0..255, cosmetic in ruleset 1 */
    uint8_t blocked; /* 0 or 1; other values are a validation problem */
} stk_tile_t;

/* A tile coordinate. uint32_t so a decoder can store any wire value and let
 * stk_map_validate() report it as off-map. */
typedef struct stk_point {
    uint32_t x;
    uint32_t y;
} stk_point_t;

/* One enemy group of a wave: `count` enemies of `type`, one every `interval_ms`. */
typedef struct stk_map_enemies {
    uint32_t type;        /* enum stk_enemy_type (or STK_ENEMY_TYPE_INVALID) */
    uint32_t count;       /* 1..STK_MAP_MAX_COUNT */
    uint32_t interval_ms; /* 0..STK_MAP_MAX_INTERVAL_MS (the contract's spawnInterval) */
} stk_map_enemies_t;

typedef struct stk_map_wave {
    uint32_t number;   /* the contract's waveNumber; must equal index + 1 */
    uint32_t n_groups; /* 1..STK_MAP_MAX_GROUPS; a decoder may store a larger wire count
                          (keeping only the first STK_MAP_MAX_GROUPS groups) so that
                          validation reports it */
    stk_map_enemies_t groups[STK_MAP_MAX_GROUPS];
} stk_map_wave_t;

typedef struct stk_map {
    uint32_t width;  /* 20..100 (any value may be stored; validation reports it) */
    uint32_t height; /* 20..100 */
    stk_point_t spawn;
    stk_point_t goal;
    uint32_t n_waves; /* 1..STK_MAP_MAX_WAVES; larger values allowed as for n_groups */
    stk_map_wave_t waves[STK_MAP_MAX_WAVES];
    /* Row-major, index y * width + x; only the first width * height entries are
     * meaningful, and only when width * height <= STK_MAP_MAX_TILES. */
    stk_tile_t tiles[STK_MAP_MAX_TILES];
} stk_map_t;

/* Initialise *m as a width x height map of unblocked grass at height 0, spawn and goal at
 * (0,0), no waves; every byte (including unused capacity) is zeroed first.
 * Returns 0, STK_EINVAL if m is NULL, STK_ERANGE if width or height is 0 or greater than
 * STK_MAP_MAX_SIDE (smaller-than-20 maps are allowed here — tests use them — but fail
 * validation). Ownership: *m is the caller's. */
int stk_map_init(stk_map_t *m, uint32_t width, uint32_t height);

/* Allocate a zeroed map (one calloc) and stk_map_init() it. Returns 0 and *out, or
 * STK_EINVAL (out NULL), STK_ERANGE (as stk_map_init), STK_ENOMEM. The caller owns *out
 * and frees it with stk_map_destroy(). */
int stk_map_create(uint32_t width, uint32_t height, stk_map_t **out);

/* Free a map from stk_map_create(). NULL is a no-op. */
void stk_map_destroy(stk_map_t *m);

/* True if (x, y) is inside the map's width x height (and inside the tile capacity). */
bool stk_map_in_bounds(const stk_map_t *m, uint32_t x, uint32_t y);

/* The tile at (x, y), or NULL when off-map. Borrowed: valid as long as *m. */
const stk_tile_t *stk_map_tile(const stk_map_t *m, uint32_t x, uint32_t y);
/* Mutable variant for builders and decoders; NULL when off-map. */
stk_tile_t *stk_map_tile_mut(stk_map_t *m, uint32_t x, uint32_t y);

/* Whether a walker may stand on (x, y) ignoring towers: on-map, not isBlocked, not water.
 * Off-map or an out-of-range terrain value gives false. */
bool stk_map_walkable(const stk_map_t *m, uint32_t x, uint32_t y);
/* Whether a flyer may cross (x, y): on-map and not isBlocked (water is fine). */
bool stk_map_flyable(const stk_map_t *m, uint32_t x, uint32_t y);
/* Whether the terrain allows a tower on (x, y): walkable and neither spawn nor goal.
 * It does NOT check other towers or path cutting (core/game*, stk_path_would_cut()). */
bool stk_map_buildable(const stk_map_t *m, uint32_t x, uint32_t y);

/* Enemy type id for a name ("grunt", "runner", "brute", "flyer"; exact, case-sensitive;
 * len bytes, need not be NUL-terminated). Returns the id (0..3) or STK_ENOTFOUND. */
int stk_map_enemy_type_parse(const char *name, size_t len);
/* Name of an enemy type id, static storage; NULL for an unknown id. */
const char *stk_map_enemy_type_name(uint32_t type);
/* Name of a terrain id ("grass", ...), static storage; NULL for an unknown id. */
const char *stk_map_terrain_name(uint32_t terrain);

/* Validation problems. X(name, default message). Each problem names the field it is
 * about with the contract's JSON names (field paths shown in the comment). */
#define STK_MAP_PROBLEM_MAP(X)                                                                     \
    X(WIDTH_RANGE, "width must be 20..100")                  /* "width" */                         \
    X(HEIGHT_RANGE, "height must be 20..100")                /* "height" */                        \
    X(TERRAIN_RANGE, "terrainType must be 0..4")             /* "terrain_data[i].terrainType" */   \
    X(BLOCKED_RANGE, "isBlocked must be 0 or 1")             /* "terrain_data[i].isBlocked" */     \
    X(SPAWN_OFF_MAP, "spawn_point is outside the map")       /* "spawn_point" */                   \
    X(SPAWN_BLOCKED, "spawn_point is on a blocked tile")     /* "spawn_point" */                   \
    X(GOAL_OFF_MAP, "goal_point is outside the map")         /* "goal_point" */                    \
    X(GOAL_BLOCKED, "goal_point is on a blocked tile")       /* "goal_point" */                    \
    X(SPAWN_IS_GOAL, "spawn_point and goal_point are equal") /* "goal_point" */                    \
    X(NO_PATH, "no walkable path from spawn_point to goal_point") /* "spawn_point" */              \
    X(NO_WAVES, "wave_config needs at least one wave")            /* "wave_config.waves" */        \
    X(TOO_MANY_WAVES, "wave_config has more than 100 waves")      /* "wave_config.waves" */        \
    X(WAVE_NUMBER, "waveNumber must be 1..n in order")            /* "...waves[i].waveNumber" */   \
    X(NO_ENEMIES, "a wave needs at least one enemy group")        /* "...waves[i].enemies" */      \
    X(TOO_MANY_GROUPS, "a wave has more than 16 enemy groups")    /* "...waves[i].enemies" */      \
    X(ENEMY_TYPE, "unknown enemy type")                           /* "...enemies[j].type" */       \
    X(COUNT_RANGE, "count must be 1..1000")                       /* "...enemies[j].count" */      \
    X(INTERVAL_RANGE, "spawnInterval must be 0..600000") /* "...enemies[j].spawnInterval" */

enum stk_map_problem_code {
#define STK_MAP_PROBLEM_ENUM(name, msg) STK_MAP_PROBLEM_##name,
    STK_MAP_PROBLEM_MAP(STK_MAP_PROBLEM_ENUM)
#undef STK_MAP_PROBLEM_ENUM
        STK_MAP_PROBLEM_COUNT
};

#define STK_MAP_FIELD_MAX   64 /* longest path is ~50 bytes, NUL included */
#define STK_MAP_MESSAGE_MAX 112

/* One validation problem: what (code), where (field path, the contract's JSON names,
 * e.g. "wave_config.waves[2].enemies[0].type"), and a human message that includes the
 * offending value. Both strings are NUL-terminated, truncated if ever too long. */
typedef struct stk_map_problem {
    int code; /* enum stk_map_problem_code */
    char field[STK_MAP_FIELD_MAX];
    char message[STK_MAP_MESSAGE_MAX];
} stk_map_problem_t;

/* Symbolic name ("NO_PATH") of a problem code, static storage; "UNKNOWN" if out of range. */
const char *stk_map_problem_name(int code);

/* Check *m against every rule of the contract and report EVERY problem found.
 *
 * Order of reports: width, height, then (only if both are 1..100, so the grid is
 * meaningful) tiles in index order, spawn, goal, connectivity; then waves in order.
 * Connectivity is checked only when spawn and goal are both on-map, walkable and distinct;
 * it uses the walker rules (water and isBlocked impassable; there are no towers yet).
 *
 * problems: caller-owned array of cap entries (may be NULL when cap is 0); the first cap
 * problems are written. *count (required) receives the total number found, which may
 * exceed cap (like snprintf), so a caller can size a second call.
 *
 * Returns 0 if the map is valid (*count == 0), STK_ESCHEMA if it has problems, STK_EINVAL
 * if m or count is NULL or problems is NULL with cap > 0.
 * No allocation; uses about 30 KiB of stack for the connectivity flood fill. Thread: any.
 */
int stk_map_validate(const stk_map_t *m, stk_map_problem_t *problems, size_t cap, size_t *count);

#endif
