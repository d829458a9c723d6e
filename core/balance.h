/* core/balance.h — the balance tables of a Stockade session (towers, enemies, economy).
 *
 * This module is the data half of the rules: plain value tables, the default set that a
 * new session embeds in its SessionOpened event, name lookups and a validator for tables
 * that arrive from a log (untrusted). It is not the simulation (core/game.h) and does no
 * encoding (the msgpack bridge lives in events/).
 *
 * Units are chosen so that balance does not depend on a session's tick rate: times are in
 * milliseconds, distances in milli-tiles, speeds in milli-tiles per second; the game
 * converts them to ticks and 16.16 fixed-point tiles once, at stk_game_create(), with
 * integer arithmetic. Bonuses and shares are basis points (10000 = 100%).
 *
 * A change of mechanics (what the numbers mean) bumps STK_RULESET_VERSION; a change of
 * numbers only needs a new table, since each session carries its own.
 *
 * Thread: every function here is pure and may be called from any thread.
 */
#ifndef STK_CORE_BALANCE_H
#define STK_CORE_BALANCE_H

#include <stdint.h>

#include "core/map.h"

/* The mechanics version implemented by core/game*.c. */
#define STK_RULESET_VERSION 1

#define STK_BALANCE_NAME_MAX 16 /* names are NUL-terminated, at most 15 bytes */
#define STK_TOWER_LEVELS     3  /* a tower is placed at level 1 and upgraded to 2 and 3 */

/* Enemy kinds are the map's enemy type ids (core/map.h: STK_ENEMY_GRUNT, _RUNNER, _BRUTE,
 * _FLYER); the balance table is indexed by them and names them the same way. */
#define STK_ENEMY_KINDS STK_ENEMY_TYPE_COUNT

/* X(ENUM, "name") — tower kinds, in table order. */
#define STK_TOWER_KIND_MAP(X)                                                                      \
    X(ARROW, "arrow")                                                                              \
    X(CANNON, "cannon")                                                                            \
    X(FROST, "frost")                                                                              \
    X(TESLA, "tesla")

typedef enum stk_tower_kind {
#define STK_TOWER_ENUM(e, name) STK_TOWER_##e,
    STK_TOWER_KIND_MAP(STK_TOWER_ENUM)
#undef STK_TOWER_ENUM
        STK_TOWER_KINDS
} stk_tower_kind_t;

/* What a tower's shot does (mechanics; fixed per kind in ruleset 1). */
typedef enum stk_tower_effect {
    STK_EFFECT_SINGLE = 0, /* damage one target */
    STK_EFFECT_SPLASH = 1, /* damage the target and every enemy within splash of it */
    STK_EFFECT_SLOW = 2,   /* damage and slow one target */
    STK_EFFECT_CHAIN = 3,  /* damage the target, then jump to the nearest unhit enemies */
} stk_tower_effect_t;

typedef struct stk_enemy_spec {
    char name[STK_BALANCE_NAME_MAX]; /* must equal stk_map_enemy_type_name(kind) */
    int32_t health;                  /* hit points, 1..1000000 */
    int32_t speed_mt;                /* milli-tiles per second, 1..20000 */
    int32_t armour; /* flat reduction of every hit (a hit always does at least 1), 0..100000 */
    int32_t bounty; /* gold to the owner of the tower landing the kill, 0..100000 */
    int32_t lives;  /* shared lives lost when it reaches the goal, 0..100 */
    int32_t flying; /* 1: ignores towers' blocking (walks the terrain-only field) */
} stk_enemy_spec_t;

typedef struct stk_tower_level {
    int32_t cost;        /* gold: placement for level 1, the upgrade for levels 2 and 3 */
    int32_t damage;      /* per hit, before armour, 0..1000000 */
    int32_t range_mt;    /* milli-tiles from the tower's centre, 1..100000 */
    int32_t cooldown_ms; /* between shots, 1..600000 */
    int32_t splash_mt;   /* SPLASH: radius around the target, milli-tiles */
    int32_t slow_bp;     /* SLOW: speed reduction, basis points 0..9000 */
    int32_t slow_ms;     /* SLOW: duration, refreshed by each hit */
    int32_t chain_jumps; /* CHAIN: extra targets after the first, 0..16 */
    int32_t chain_mt;    /* CHAIN: max distance of one jump, milli-tiles */
    int32_t falloff_bp;  /* CHAIN: damage of each jump relative to the previous hit */
} stk_tower_level_t;

typedef struct stk_tower_spec {
    char name[STK_BALANCE_NAME_MAX];
    int32_t effect; /* stk_tower_effect_t */
    stk_tower_level_t level[STK_TOWER_LEVELS];
} stk_tower_spec_t;

typedef struct stk_balance {
    stk_enemy_spec_t enemy[STK_ENEMY_KINDS];
    stk_tower_spec_t tower[STK_TOWER_KINDS];
    int32_t start_gold;        /* per player, 0..1000000 */
    int32_t start_lives;       /* shared, 1..1000 */
    int32_t sell_refund_bp;    /* share of all gold spent on a tower returned on sale */
    int32_t wave_bonus;        /* gold paid to every player when a wave is cleared ... */
    int32_t wave_bonus_step;   /* ... plus this times (wave number - 1) */
    int32_t first_wave_ms;     /* countdown from start to the first wave */
    int32_t wave_countdown_ms; /* countdown after a wave finished spawning to the next one */
    int32_t splash_min_bp;     /* SPLASH: secondary targets take a PRNG share in */
    int32_t spawn_jitter_mt;   /* spawn: PRNG head start in [0, jitter) milli-tiles */
    int32_t wave_health_bp;    /* each wave's enemies spawn with this much more health than
                                * the previous wave's, compounding (stk_balance_enemy_health) */
} stk_balance_t;

/* Field lists, X(field, min, max): every int32 field of the tables with its valid range, in
 * the canonical order. stk_balance_validate(), the state hash's setup digest and the events/
 * msgpack bridge all walk these lists, so a new field is declared once (and the static
 * asserts in balance.c fail until it is). Names are the wire keys. */
#define STK_BALANCE_ENEMY_FIELDS(X)                                                                \
    X(health, 1, 1000000)                                                                          \
    X(speed_mt, 1, 20000)                                                                          \
    X(armour, 0, 100000)                                                                           \
    X(bounty, 0, 100000)                                                                           \
    X(lives, 0, 100)                                                                               \
    X(flying, 0, 1)
#define STK_BALANCE_LEVEL_FIELDS(X)                                                                \
    X(cost, 0, 1000000)                                                                            \
    X(damage, 0, 1000000)                                                                          \
    X(range_mt, 1, 100000)                                                                         \
    X(cooldown_ms, 1, 600000)                                                                      \
    X(splash_mt, 0, 100000)                                                                        \
    X(slow_bp, 0, 9000)                                                                            \
    X(slow_ms, 0, 600000)                                                                          \
    X(chain_jumps, 0, 16)                                                                          \
    X(chain_mt, 0, 100000)                                                                         \
    X(falloff_bp, 0, 10000)
#define STK_BALANCE_SCALAR_FIELDS(X)                                                               \
    X(start_gold, 0, 1000000)                                                                      \
    X(start_lives, 1, 1000)                                                                        \
    X(sell_refund_bp, 0, 10000)                                                                    \
    X(wave_bonus, 0, 1000000)                                                                      \
    X(wave_bonus_step, 0, 100000)                                                                  \
    X(first_wave_ms, 0, 3600000)                                                                   \
    X(wave_countdown_ms, 0, 3600000)                                                               \
    X(splash_min_bp, 0, 10000)                                                                     \
    X(spawn_jitter_mt, 0, 1000)                                                                    \
    X(wave_health_bp, 0, 10000)
/* Besides these: enemy[k].name (must be the map's name of kind k), tower[k].name (unique,
 * 1..15 bytes) and tower[k].effect (the stk_tower_effect_t, 0..3). */

/* Health an enemy of `kind` spawns with in wave `wave` (0-based): health grown `wave` times
 * by wave_health_bp (h += h * wave_health_bp / 10000, rounded down each time, in 64-bit),
 * capped at INT32_MAX. Pure; kind must be a valid stk_enemy_type. */
int32_t stk_balance_enemy_health(const stk_balance_t *b, int kind, uint32_t wave);

/* The default tables of STK_RULESET_VERSION. Never fails. */
void stk_balance_default(stk_balance_t *out);

/* Checks every field of an untrusted table against the ranges documented above.
 * Returns 0, or STK_ERANGE (and *field, if non-NULL, points to a static name of the first
 * bad field), or STK_EINVAL for a NULL table. */
int stk_balance_validate(const stk_balance_t *b, const char **field);

/* Looks up a tower kind by its table name ("arrow"). Returns the index (a
 * stk_tower_kind_t), or -1 if none matches (exact, case-sensitive). name may be NULL (-1).
 * Enemy names are the map's: stk_map_enemy_type_parse(). */
int stk_balance_tower_by_name(const stk_balance_t *b, const char *name);

#endif
