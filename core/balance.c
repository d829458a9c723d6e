/* core/balance.c — default balance tables and their validator (see balance.h). */
#include "core/balance.h"

#include <string.h>

#include "core/error.h"

/* Default tables, ruleset 1. Rows: name, health, speed (mt/s), armour, bounty, lives, flying.
 * Tuned with the scripted bots (tools/bots.c, `stockade simulate`, 20 seeds per map): two
 * bots usually clear meadow but lose lives, one bot mostly loses canyon, and fortress
 * turns hard from about wave 20 as wave_health_bp compounds (x2.5 by wave 10, x20 by 30).
 * Health is the wave-1 value; brutes are armoured rather than fat, so they are not a wall
 * for the arrow-heavy early defence. */
static const stk_enemy_spec_t default_enemy[STK_ENEMY_KINDS] = {
    [STK_ENEMY_GRUNT] = {"grunt", 300, 1000, 0, 3, 1, 0},
    [STK_ENEMY_RUNNER] = {"runner", 190, 2000, 0, 4, 1, 0},
    [STK_ENEMY_BRUTE] = {"brute", 420, 600, 3, 10, 3, 0},
    [STK_ENEMY_FLYER] = {"flyer", 230, 1300, 0, 6, 2, 1},
};

/* Levels: cost, damage, range, cooldown, splash, slow_bp, slow_ms, jumps, chain, falloff. */
static const stk_tower_spec_t default_tower[STK_TOWER_KINDS] = {
    [STK_TOWER_ARROW] = {"arrow",
                         STK_EFFECT_SINGLE,
                         {{60, 12, 3000, 600, 0, 0, 0, 0, 0, 0},
                          {50, 20, 3250, 550, 0, 0, 0, 0, 0, 0},
                          {90, 32, 3500, 500, 0, 0, 0, 0, 0, 0}}},
    [STK_TOWER_CANNON] = {"cannon",
                          STK_EFFECT_SPLASH,
                          {{100, 25, 2500, 1500, 1000, 0, 0, 0, 0, 0},
                           {80, 40, 2500, 1500, 1250, 0, 0, 0, 0, 0},
                           {140, 65, 2750, 1400, 1500, 0, 0, 0, 0, 0}}},
    [STK_TOWER_FROST] = {"frost",
                         STK_EFFECT_SLOW,
                         {{80, 4, 2500, 1000, 0, 4000, 1500, 0, 0, 0},
                          {60, 6, 2500, 1000, 0, 5000, 2000, 0, 0, 0},
                          {100, 9, 2750, 900, 0, 6000, 2500, 0, 0, 0}}},
    [STK_TOWER_TESLA] = {"tesla",
                         STK_EFFECT_CHAIN,
                         {{120, 18, 2750, 1200, 0, 0, 0, 2, 1500, 7000},
                          {90, 28, 2750, 1200, 0, 0, 0, 3, 1500, 7000},
                          {150, 42, 3000, 1100, 0, 0, 0, 4, 1750, 7500}}},
};

void stk_balance_default(stk_balance_t *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->enemy, default_enemy, sizeof(default_enemy));
    memcpy(out->tower, default_tower, sizeof(default_tower));
    out->start_gold = 500;
    out->start_lives = 20;
    out->sell_refund_bp = 7000;
    out->wave_bonus = 20;
    out->wave_bonus_step = 3;
    out->first_wave_ms = 10000;
    out->wave_countdown_ms = 15000;
    out->splash_min_bp = 7500;
    out->spawn_jitter_mt = 250;
    out->wave_health_bp = 1100;
}

int32_t stk_balance_enemy_health(const stk_balance_t *b, int kind, uint32_t wave)
{
    /* Compounding, so late waves outgrow a defence that keeps buying towers; integer
     * steps (each rounded down) keep it exact on every platform. */
    int64_t h = b->enemy[kind].health;
    for (uint32_t w = 0; w < wave && h < INT32_MAX; w++)
        h += h * b->wave_health_bp / 10000;
    return h > INT32_MAX ? INT32_MAX : (int32_t)h;
}

static int name_ok(const char name[STK_BALANCE_NAME_MAX])
{
    size_t n = strnlen(name, STK_BALANCE_NAME_MAX);
    return n > 0 && n < STK_BALANCE_NAME_MAX;
}

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (field)                                                                             \
                *field = (what);                                                                   \
            return STK_ERANGE;                                                                     \
        }                                                                                          \
    } while (0)
#define IN(v, lo, hi) ((v) >= (lo) && (v) <= (hi))

#define FIELD_SIZE(f, lo, hi) +sizeof(int32_t)
_Static_assert(sizeof(stk_enemy_spec_t) ==
                   STK_BALANCE_NAME_MAX + 0 STK_BALANCE_ENEMY_FIELDS(FIELD_SIZE),
               "STK_BALANCE_ENEMY_FIELDS must list every enemy field");
_Static_assert(sizeof(stk_tower_level_t) == 0 STK_BALANCE_LEVEL_FIELDS(FIELD_SIZE),
               "STK_BALANCE_LEVEL_FIELDS must list every level field");
_Static_assert(sizeof(stk_balance_t) == sizeof(stk_enemy_spec_t) * STK_ENEMY_KINDS +
                                            sizeof(stk_tower_spec_t) * STK_TOWER_KINDS +
                                            0 STK_BALANCE_SCALAR_FIELDS(FIELD_SIZE),
               "STK_BALANCE_SCALAR_FIELDS must list every scalar field");
#undef FIELD_SIZE

int stk_balance_validate(const stk_balance_t *b, const char **field)
{
    if (!b)
        return STK_EINVAL;
    for (int k = 0; k < STK_ENEMY_KINDS; k++) {
        const stk_enemy_spec_t *e = &b->enemy[k];
        CHECK(name_ok(e->name), "enemy.name");
        CHECK(strcmp(e->name, stk_map_enemy_type_name((uint32_t)k)) == 0, "enemy.name");
#define CHECK_ENEMY(f, lo, hi) CHECK(IN(e->f, lo, hi), "enemy." #f);
        STK_BALANCE_ENEMY_FIELDS(CHECK_ENEMY)
#undef CHECK_ENEMY
    }
    for (int k = 0; k < STK_TOWER_KINDS; k++) {
        const stk_tower_spec_t *t = &b->tower[k];
        CHECK(name_ok(t->name), "tower.name");
        for (int j = 0; j < k; j++)
            CHECK(strcmp(b->tower[j].name, t->name) != 0, "tower.name");
        CHECK(IN(t->effect, STK_EFFECT_SINGLE, STK_EFFECT_CHAIN), "tower.effect");
        for (int l = 0; l < STK_TOWER_LEVELS; l++) {
            const stk_tower_level_t *v = &t->level[l];
#define CHECK_LEVEL(f, lo, hi) CHECK(IN(v->f, lo, hi), "tower.level." #f);
            STK_BALANCE_LEVEL_FIELDS(CHECK_LEVEL)
#undef CHECK_LEVEL
        }
    }
#define CHECK_SCALAR(f, lo, hi) CHECK(IN(b->f, lo, hi), #f);
    STK_BALANCE_SCALAR_FIELDS(CHECK_SCALAR)
#undef CHECK_SCALAR
    return 0;
}

static int same_name(const char stored[STK_BALANCE_NAME_MAX], const char *name)
{
    return strlen(name) < STK_BALANCE_NAME_MAX && strncmp(stored, name, STK_BALANCE_NAME_MAX) == 0;
}

int stk_balance_tower_by_name(const stk_balance_t *b, const char *name)
{
    for (int i = 0; b && name && i < STK_TOWER_KINDS; i++)
        if (same_name(b->tower[i].name, name))
            return i;
    return -1;
}
