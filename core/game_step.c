/* core/game_step.c — one simulation tick: waves, spawning, movement, towers, kills, leaks.
 *
 * Everything here runs in the session's tick path: no allocation, no I/O, integer and 16.16
 * fixed-point arithmetic only, entities visited in id order, randomness only from g->rng.
 * It does not validate inputs (game.c) nor hash (game_hash.c).
 */
#include <string.h>

#include "core/game.h"
#include "core/game_internal.h"

#define BP 10000 /* basis points in one */

void stk_game__enemy_pos(const stk_game_enemy_t *e, int32_t *px, int32_t *py)
{
    int32_t dx = (int32_t)e->nx - (int32_t)e->x;
    int32_t dy = (int32_t)e->ny - (int32_t)e->y;
    *px = (int32_t)(e->x << STK_FP_SHIFT) + STK_FP_ONE / 2 + dx * e->progress;
    *py = (int32_t)(e->y << STK_FP_SHIFT) + STK_FP_ONE / 2 + dy * e->progress;
}

static const stk_path_t *field_of(const stk_game_t *g, const stk_game_enemy_t *e)
{
    return g->balance.enemy[e->kind].flying ? g->fly : g->walk;
}

/* How far an enemy still has to go, in fixed point: smaller is further along. */
static int64_t remaining(const stk_game_t *g, const stk_game_enemy_t *e)
{
    uint32_t d = stk_path_distance(field_of(g, e), e->nx, e->ny);
    int64_t steps = d == STK_PATH_UNREACHABLE ? (int64_t)STK_MAP_MAX_TILES * 4 : (int64_t)d;
    return steps * STK_FP_ONE + (STK_FP_ONE - e->progress);
}

static int64_t dist2(int32_t ax, int32_t ay, int32_t bx, int32_t by)
{
    int64_t dx = (int64_t)ax - bx, dy = (int64_t)ay - by;
    return dx * dx + dy * dy;
}

/* ---- waves and spawning --------------------------------------------------------------- */

static void spawn_one(stk_game_t *g, uint32_t wave, uint32_t kind)
{
    stk_game_enemy_t *e = &g->enemies[g->n_enemies++]; /* ids grow: appending keeps order */
    memset(e, 0, sizeof(*e));
    e->id = g->next_enemy_id++;
    e->kind = kind;
    e->wave = wave;
    e->health = stk_balance_enemy_health(&g->balance, (int)kind, wave);
    e->x = e->nx = g->map.spawn.x;
    e->y = e->ny = g->map.spawn.y;
    if (stk_path_next(field_of(g, e), e->x, e->y, &e->nx, &e->ny) == 0)
        e->progress = (int32_t)stk_rng_below(&g->rng, (uint32_t)g->spawn_jitter_fp);
}

static void waves_and_spawning(stk_game_t *g)
{
    if (!g->spawning && g->waves_started < g->map.n_waves) {
        if (g->countdown > 0)
            g->countdown--;
        if (g->countdown == 0)
            stk_game__start_wave(g);
    }
    if (!g->spawning)
        return;
    if (g->spawn_timer > 0)
        g->spawn_timer--;
    uint32_t w = g->waves_started - 1;
    const stk_map_wave_t *wave = &g->map.waves[w];
    while (g->spawning && g->spawn_timer == 0) {
        if (g->n_enemies >= g->enemy_cap)
            return; /* pool full: the spawn waits for a free slot, timer stays 0 */
        const stk_map_enemies_t *grp = &wave->groups[g->spawn_group];
        spawn_one(g, w, grp->type);
        g->spawn_timer = (uint32_t)(((uint64_t)grp->interval_ms * g->tick_rate + 500) / 1000);
        if (++g->spawn_in_group >= grp->count) {
            g->spawn_in_group = 0;
            if (++g->spawn_group >= wave->n_groups) {
                g->spawning = 0;
                g->spawn_group = 0;
                g->spawn_timer = 0;
                g->countdown = g->wave_countdown_ticks;
            }
        }
    }
}

/* ---- movement ------------------------------------------------------------------------- */

static void leak(stk_game_t *g, stk_game_enemy_t *e)
{
    g->lives -= g->balance.enemy[e->kind].lives;
    if (g->lives < 0)
        g->lives = 0;
    g->leaks++;
    g->wave_left[e->wave]--;
    e->gone = 1;
}

static void move_enemies(stk_game_t *g)
{
    const stk_point_t goal = g->map.goal;
    for (uint32_t i = 0; i < g->n_enemies; i++) {
        stk_game_enemy_t *e = &g->enemies[i];
        int64_t speed = g->enemy_speed[e->kind];
        if (e->slow_ticks > 0) {
            speed = speed * (BP - e->slow_bp) / BP;
            if (--e->slow_ticks == 0)
                e->slow_bp = 0;
        }
        if (speed < 1)
            speed = 1;
        int64_t prog = e->progress + speed;
        while (prog >= STK_FP_ONE) {
            prog -= STK_FP_ONE;
            e->x = e->nx;
            e->y = e->ny;
            if (e->x == goal.x && e->y == goal.y) {
                leak(g, e);
                break;
            }
            if (stk_path_next(field_of(g, e), e->x, e->y, &e->nx, &e->ny) != 0 ||
                (e->nx == e->x && e->ny == e->y)) {
                /* cut off (cannot happen for walkers: placement refuses it): wait here and
                 * retry next tick, e.g. after a sale reopens the way */
                e->nx = e->x;
                e->ny = e->y;
                prog = 0;
                break;
            }
        }
        e->progress = (int32_t)prog;
    }
}

/* ---- towers --------------------------------------------------------------------------- */

static void hit(stk_game_t *g, stk_game_tower_t *t, stk_game_enemy_t *e, int64_t damage)
{
    if (e->gone || damage <= 0)
        return;
    const stk_enemy_spec_t *spec = &g->balance.enemy[e->kind];
    int64_t dealt = damage - spec->armour;
    if (dealt < 1)
        dealt = 1;
    if (dealt >= e->health) {
        e->health = 0;
        e->gone = 1;
        g->players[t->owner].gold += spec->bounty;
        g->players[t->owner].kills++;
        t->kills++;
        g->wave_left[e->wave]--;
    } else {
        e->health -= (int32_t)dealt;
    }
}

/* Rebuild the enemy cell index (after movement, before towers). */
static void index_enemies(stk_game_t *g)
{
    memset(g->cell_head, 0, sizeof(*g->cell_head) * g->cells_w * g->cells_h);
    for (uint32_t i = g->n_enemies; i-- > 0;) {
        int32_t px, py;
        stk_game__enemy_pos(&g->enemies[i], &px, &py);
        uint32_t c = ((uint32_t)py >> (STK_FP_SHIFT + STK_GAME_CELL_SHIFT)) * g->cells_w +
                     ((uint32_t)px >> (STK_FP_SHIFT + STK_GAME_CELL_SHIFT));
        g->cell_next[i] = g->cell_head[c];
        g->cell_head[c] = (uint16_t)(i + 1);
    }
}

/* Cell range covering [c - r, c + r] (fixed point), clamped to the map. */
static void cell_span(const stk_game_t *g, int32_t c, int64_t r, uint32_t n, uint32_t *lo,
                      uint32_t *hi)
{
    int64_t a = ((int64_t)c - r) >> (STK_FP_SHIFT + STK_GAME_CELL_SHIFT);
    int64_t b = ((int64_t)c + r) >> (STK_FP_SHIFT + STK_GAME_CELL_SHIFT);
    (void)g;
    *lo = a < 0 ? 0 : (uint32_t)a;
    *hi = b >= (int64_t)n ? n - 1 : (uint32_t)b;
}

/* The alive enemy furthest along within range of (cx, cy), ties to the lowest id (index);
 * -1 if none. Visits only the cells the range overlaps; the (remaining, index) order makes
 * the answer independent of the visiting order. */
static int pick_target(const stk_game_t *g, int32_t cx, int32_t cy, int64_t range)
{
    int best = -1;
    int64_t best_rem = 0, range2 = range * range;
    uint32_t x0, x1, y0, y1;
    cell_span(g, cx, range, g->cells_w, &x0, &x1);
    cell_span(g, cy, range, g->cells_h, &y0, &y1);
    for (uint32_t cyy = y0; cyy <= y1; cyy++) {
        for (uint32_t cxx = x0; cxx <= x1; cxx++) {
            for (uint32_t k = g->cell_head[cyy * g->cells_w + cxx]; k; k = g->cell_next[k - 1]) {
                const stk_game_enemy_t *e = &g->enemies[k - 1];
                if (e->gone)
                    continue;
                int32_t px, py;
                stk_game__enemy_pos(e, &px, &py);
                if (dist2(px, py, cx, cy) > range2)
                    continue;
                int64_t rem = remaining(g, e);
                int i = (int)(k - 1);
                if (best < 0 || rem < best_rem || (rem == best_rem && i < best)) {
                    best = i;
                    best_rem = rem;
                }
            }
        }
    }
    return best;
}

static void splash(stk_game_t *g, stk_game_tower_t *t, uint32_t target, int64_t damage,
                   int64_t radius)
{
    int32_t cx, cy;
    stk_game__enemy_pos(&g->enemies[target], &cx, &cy);
    hit(g, t, &g->enemies[target], damage);
    int64_t r2 = radius * radius;
    uint32_t span = (uint32_t)(BP - g->balance.splash_min_bp);
    for (uint32_t i = 0; i < g->n_enemies; i++) {
        stk_game_enemy_t *e = &g->enemies[i];
        if (i == target || e->gone)
            continue;
        int32_t px, py;
        stk_game__enemy_pos(e, &px, &py);
        if (dist2(px, py, cx, cy) > r2)
            continue;
        int64_t share = g->balance.splash_min_bp + stk_rng_below(&g->rng, span + 1);
        hit(g, t, e, damage * share / BP);
    }
}

static void chain(stk_game_t *g, stk_game_tower_t *t, uint32_t target, int64_t damage,
                  const stk_tower_level_t *lv, int64_t jump)
{
    uint32_t hitlist[1 + 16];
    uint32_t n = 0;
    uint32_t cur = target;
    int64_t jump2 = jump * jump;
    for (;;) {
        int32_t cx, cy;
        stk_game__enemy_pos(&g->enemies[cur], &cx, &cy);
        hit(g, t, &g->enemies[cur], damage);
        hitlist[n++] = cur;
        if (n > (uint32_t)lv->chain_jumps)
            break;
        damage = damage * lv->falloff_bp / BP;
        int next = -1;
        int64_t best = 0;
        for (uint32_t i = 0; i < g->n_enemies; i++) {
            const stk_game_enemy_t *e = &g->enemies[i];
            if (e->gone)
                continue;
            bool seen = false;
            for (uint32_t k = 0; k < n; k++)
                seen = seen || hitlist[k] == i;
            if (seen)
                continue;
            int32_t px, py;
            stk_game__enemy_pos(e, &px, &py);
            int64_t d2 = dist2(px, py, cx, cy);
            if (d2 <= jump2 && (next < 0 || d2 < best)) {
                next = (int)i;
                best = d2;
            }
        }
        if (next < 0 || damage <= 0)
            break;
        cur = (uint32_t)next;
    }
}

static void fire_towers(stk_game_t *g)
{
    for (uint32_t i = 0; i < g->n_towers; i++) {
        stk_game_tower_t *t = &g->towers[i];
        if (t->cooldown > 0 && --t->cooldown > 0)
            continue;
        const stk_game_player_t *owner = &g->players[t->owner];
        const stk_tower_spec_t *spec = &g->balance.tower[t->kind];
        const stk_tower_level_t *lv = &spec->level[t->level - 1];
        const stk_game_level_t *dl = &g->lvl[t->kind][t->level - 1];
        int64_t range = dl->range_fp * (BP + owner->range_bp) / BP;
        int32_t cx = (int32_t)(t->x << STK_FP_SHIFT) + STK_FP_ONE / 2;
        int32_t cy = (int32_t)(t->y << STK_FP_SHIFT) + STK_FP_ONE / 2;
        int target = pick_target(g, cx, cy, range);
        if (target < 0)
            continue; /* stays ready (cooldown 0) */
        int64_t damage = (int64_t)lv->damage * (BP + owner->damage_bp) / BP;
        stk_game_enemy_t *e = &g->enemies[target];
        switch (spec->effect) {
        case STK_EFFECT_SPLASH:
            splash(g, t, (uint32_t)target, damage, dl->splash_fp);
            break;
        case STK_EFFECT_SLOW:
            hit(g, t, e, damage);
            if (lv->slow_bp > e->slow_bp)
                e->slow_bp = lv->slow_bp;
            if (dl->slow_ticks > e->slow_ticks)
                e->slow_ticks = dl->slow_ticks;
            break;
        case STK_EFFECT_CHAIN:
            chain(g, t, (uint32_t)target, damage, lv, dl->chain_fp);
            break;
        default:
            hit(g, t, e, damage);
            break;
        }
        uint32_t cd = (uint32_t)((uint64_t)dl->cooldown_ticks * BP / (BP + owner->attack_speed_bp));
        t->cooldown = cd < 1 ? 1 : cd;
    }
}

/* ---- end of tick ---------------------------------------------------------------------- */

static void remove_gone(stk_game_t *g)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->n_enemies; i++)
        if (!g->enemies[i].gone)
            g->enemies[n++] = g->enemies[i];
    g->n_enemies = n;
}

/* Clear waves in order; returns the highest wave number cleared now, 0 if none. */
static uint32_t clear_waves(stk_game_t *g)
{
    uint32_t cleared = 0;
    while (g->waves_cleared < g->waves_started && g->wave_left[g->waves_cleared] == 0 &&
           !(g->spawning && g->waves_cleared == g->waves_started - 1)) {
        uint32_t k = ++g->waves_cleared;
        int64_t bonus = g->balance.wave_bonus + (int64_t)g->balance.wave_bonus_step * (k - 1);
        for (uint32_t p = 0; p < g->n_players; p++)
            g->players[p].gold += bonus;
        cleared = k;
    }
    return cleared;
}

void stk_game_step(stk_game_t *g, stk_game_outcome_t *out)
{
    uint32_t cleared = 0;
    bool ended = false;
    uint32_t leaks0 = g->leaks, ids0 = g->next_enemy_id, waves0 = g->waves_started, kills0 = 0;
    for (uint32_t i = 0; i < g->n_players; i++)
        kills0 += g->players[i].kills;
    if (g->state == STK_GAME_IN_PROGRESS) {
        g->tick++;
        waves_and_spawning(g);
        move_enemies(g);
        index_enemies(g);
        fire_towers(g);
        remove_gone(g);
        cleared = clear_waves(g);
        if (g->lives <= 0) {
            g->state = STK_GAME_COMPLETED;
            g->result = STK_RESULT_DEFEAT;
            ended = true;
        } else if (g->waves_cleared >= g->map.n_waves) {
            g->state = STK_GAME_COMPLETED;
            g->result = STK_RESULT_VICTORY;
            ended = true;
        }
    }
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    out->tick = g->tick;
    out->wave_ended = cleared > 0;
    out->wave_cleared = cleared;
    out->game_ended = ended;
    out->result = (stk_game_result_t)g->result;
    out->wave = g->waves_started;
    out->lives = g->lives;
    out->n_players = g->n_players;
    for (uint32_t i = 0; i < g->n_players; i++)
        out->gold[i] = (uint64_t)g->players[i].gold;
    if (cleared || ended)
        out->hash = stk_game_hash(g);
    out->spawned = g->next_enemy_id - ids0;
    out->leaks = g->leaks - leaks0;
    for (uint32_t i = 0; i < g->n_players; i++)
        out->kills += g->players[i].kills;
    out->kills -= kills0;
    out->wave_started = g->waves_started != waves0 ? g->waves_started : 0;
}
