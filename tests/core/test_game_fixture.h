/* tests/core/test_game_fixture.h — small builders shared by the tests/core/test_game_*.c
 * files: an open 20x20 map, players, inputs, stepping. Test-only; every helper is static
 * inline so each test file compiles on its own. */
#ifndef STK_TESTS_CORE_TEST_GAME_FIXTURE_H
#define STK_TESTS_CORE_TEST_GAME_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "core/game.h"

#define FX_W            20
#define FX_H            20
#define FX_ROW          10 /* spawn (0, 10), goal (19, 10): enemies walk along y = 10 */
#define FX_RATE         20
#define FX_TRIBE_RANGE  0, 0, 5000 /* a tribe whose bonus is all range */
#define FX_TRIBE_DAMAGE 5000, 0, 0 /* all damage */
#define FX_TRIBE_SPEED  0, 5000, 0 /* all attack speed */

/* An open 20x20 grass map, spawn (0,10), goal (19,10), one wave of `count` enemies of
 * `type` every `interval_ms`. */
static inline void fx_map(stk_map_t *m, uint32_t type, uint32_t count, uint32_t interval_ms)
{
    cr_assert_eq(stk_map_init(m, FX_W, FX_H), 0);
    m->spawn = (stk_point_t){0, FX_ROW};
    m->goal = (stk_point_t){FX_W - 1, FX_ROW};
    m->n_waves = 1;
    m->waves[0].number = 1;
    m->waves[0].n_groups = 1;
    m->waves[0].groups[0] = (stk_map_enemies_t){type, count, interval_ms};
}

/* Append a wave of one group to *m. */
static inline void fx_add_wave(stk_map_t *m, uint32_t type, uint32_t count, uint32_t interval_ms)
{
    stk_map_wave_t *w = &m->waves[m->n_waves];
    memset(w, 0, sizeof(*w));
    w->number = ++m->n_waves;
    w->n_groups = 1;
    w->groups[0] = (stk_map_enemies_t){type, count, interval_ms};
}

static inline stk_game_t *fx_game_with(const stk_map_t *m, uint64_t seed, const stk_balance_t *b)
{
    stk_game_setup_t s;
    memset(&s, 0, sizeof(s));
    s.map = m;
    s.seed = seed;
    s.tick_rate = FX_RATE;
    s.ruleset = STK_RULESET_VERSION;
    if (b)
        s.balance = *b;
    else
        stk_balance_default(&s.balance);
    stk_game_t *g = NULL;
    int rc = stk_game_create(&s, &g);
    cr_assert_eq(rc, 0, "stk_game_create: %s", stk_strerror(rc));
    return g;
}

static inline stk_game_t *fx_game(const stk_map_t *m, uint64_t seed)
{
    return fx_game_with(m, seed, NULL);
}

/* Player n's id: n in every byte (n >= 1; 0 is the server). */
static inline stk_game_input_t fx_input(int kind, uint8_t player)
{
    stk_game_input_t in;
    memset(&in, 0, sizeof(in));
    in.kind = kind;
    memset(in.player, player, sizeof(in.player));
    return in;
}

static inline stk_reject_t fx_try(stk_game_t *g, const stk_game_input_t *in)
{
    stk_reject_t why = STK_REJECT_COUNT;
    int rc = stk_game_apply(g, in, &why);
    cr_assert_eq(rc == 0, why == STK_REJECT_NONE, "rc %d why %s", rc, stk_reject_name(why));
    return why;
}

static inline void fx_ok(stk_game_t *g, const stk_game_input_t *in)
{
    stk_reject_t why = fx_try(g, in);
    cr_assert_eq(why, STK_REJECT_NONE, "input %s refused: %s", stk_game_input_event(in->kind),
                 stk_reject_name(why));
}

static inline stk_game_input_t fx_join_input(uint8_t player, uint32_t dmg, uint32_t as,
                                             uint32_t range)
{
    stk_game_input_t in = fx_input(STK_INPUT_JOIN, player);
    memset(in.tribe, 0x70 + player, sizeof(in.tribe));
    in.damage_bp = dmg;
    in.attack_speed_bp = as;
    in.range_bp = range;
    in.color = 0x112233u * player;
    return in;
}

static inline void fx_join(stk_game_t *g, uint8_t player, uint32_t dmg, uint32_t as, uint32_t range)
{
    stk_game_input_t in = fx_join_input(player, dmg, as, range);
    fx_ok(g, &in);
}

static inline void fx_ready(stk_game_t *g, uint8_t player)
{
    stk_game_input_t in = fx_input(STK_INPUT_READY, player);
    in.ready = true;
    fx_ok(g, &in);
}

/* Players 1..n join (range tribes), all ready, player 1 starts. */
static inline void fx_start(stk_game_t *g, int n)
{
    for (int p = 1; p <= n; p++)
        fx_join(g, (uint8_t)p, FX_TRIBE_RANGE);
    for (int p = 1; p <= n; p++)
        fx_ready(g, (uint8_t)p);
    stk_game_input_t in = fx_input(STK_INPUT_START, 1);
    fx_ok(g, &in);
}

static inline stk_game_input_t fx_place_input(uint8_t player, uint32_t x, uint32_t y, int kind)
{
    stk_game_input_t in = fx_input(STK_INPUT_PLACE, player);
    in.x = x;
    in.y = y;
    in.tower = kind;
    return in;
}

/* Place and return the new tower's id. */
static inline uint32_t fx_place(stk_game_t *g, uint8_t player, uint32_t x, uint32_t y, int kind)
{
    stk_game_input_t in = fx_place_input(player, x, y, kind);
    fx_ok(g, &in);
    stk_game_tower_info_t t;
    cr_assert_eq(stk_game_tower(g, stk_game_tower_count(g) - 1, &t), 0);
    return t.id;
}

static inline void fx_call_wave(stk_game_t *g, uint8_t player)
{
    stk_game_input_t in = fx_input(STK_INPUT_CALL_WAVE, player);
    fx_ok(g, &in);
}

static inline void fx_steps(stk_game_t *g, int n)
{
    for (int i = 0; i < n; i++)
        stk_game_step(g, NULL);
}

static inline uint64_t fx_gold(const stk_game_t *g, size_t player_index)
{
    stk_game_player_info_t p;
    cr_assert_eq(stk_game_player(g, player_index, &p), 0);
    return p.gold;
}

static inline stk_game_enemy_info_t fx_enemy(const stk_game_t *g, size_t i)
{
    stk_game_enemy_info_t e;
    cr_assert_eq(stk_game_enemy(g, i, &e), 0);
    return e;
}

/* Step until some enemy exists and tower `tid` has fired once (its cooldown went up), at
 * most `limit` ticks. Returns the ticks taken. */
static inline int fx_until_fired(stk_game_t *g, uint32_t tid, int limit)
{
    for (int i = 1; i <= limit; i++) {
        stk_game_step(g, NULL);
        stk_game_tower_info_t t;
        cr_assert_eq(stk_game_tower_by_id(g, tid, &t), 0);
        if (t.cooldown > 0)
            return i;
    }
    cr_assert_fail("tower %u never fired in %d ticks", tid, limit);
    return -1;
}

#endif
