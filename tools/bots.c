/* tools/bots.c — scripted players (see tools/bots.h).
 *
 * Strategy, per bot turn (every half second of game time):
 *   - about 1 turn in 40: a deliberately invalid command (it must be refused);
 *   - the host pauses once, at a tick drawn from the seed, and resumes on its next turn;
 *   - upgrade its least-upgraded tower when it has three or more and can pay (1 in 3);
 *   - otherwise build: a kind drawn with weights (arrow 45, cannon 25, frost 15, tesla 15,
 *     arrow if the draw is too dear), on one of the five tiles that see the most tiles of
 *     the walkers' current path within the kind's range and would not cut that path;
 *   - now and then sell its oldest level-1 tower once it has more than five;
 *   - call the next wave when no enemy is on the field and lives are at least half.
 * Coverage is counted by stamping a disc around each path tile: O(path * range^2).
 */
#include "tools/bots.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/path.h"
#include "core/rng.h"

#define TOP_CHOICES 5  /* a bot picks at random among this many of the best tiles */
#define CANDIDATES  32 /* best-covered tiles examined for path cutting */

struct stk_bots {
    size_t n;
    uint8_t players[STK_GAME_MAX_PLAYERS][STK_GAME_ID_LEN];
    stk_rng_t rng[STK_GAME_MAX_PLAYERS];
    uint32_t w, h;
    stk_path_t *path;
    uint8_t *blocked;                               /* w*h: towers */
    uint16_t *cover;                                /* w*h: path tiles within range */
    stk_point_t *trail;                             /* the walkers' path, spawn to goal */
    stk_point_t occupied[2 * STK_GAME_MAX_ENEMIES]; /* tiles walkers stand on or enter */
    bool paused_once;
    uint64_t pause_at;
};

int stk_bots_create(stk_bots_t **out, const uint8_t (*players)[STK_GAME_ID_LEN], size_t n,
                    const stk_map_t *map, uint64_t seed)
{
    if (out == NULL || players == NULL || map == NULL)
        return STK_EINVAL;
    if (n == 0 || n > STK_GAME_MAX_PLAYERS)
        return STK_ERANGE;
    stk_bots_t *b = calloc(1, sizeof *b);
    if (b == NULL)
        return STK_ENOMEM;
    b->n = n;
    b->w = map->width;
    b->h = map->height;
    memcpy(b->players, players, n * STK_GAME_ID_LEN);
    for (size_t i = 0; i < n; i++)
        stk_rng_seed(&b->rng[i], seed ^ (0x9E3779B97F4A7C15ull * (i + 1)));
    size_t tiles = (size_t)b->w * b->h;
    b->blocked = calloc(tiles, 1);
    b->cover = calloc(tiles, sizeof *b->cover);
    b->trail = calloc(tiles, sizeof *b->trail);
    int rc = STK_ENOMEM;
    if (b->blocked == NULL || b->cover == NULL || b->trail == NULL)
        goto fail;
    rc = stk_path_create(b->w, b->h, &b->path);
    if (rc != 0)
        goto fail;
    /* Pause somewhere in the first minute of play (20..60 s at 20 Hz; scaled later). */
    b->pause_at = 400 + stk_rng_below(&b->rng[0], 800);
    *out = b;
    return 0;
fail:
    stk_bots_destroy(b);
    return rc;
}

void stk_bots_destroy(stk_bots_t *b)
{
    if (b == NULL)
        return;
    stk_path_destroy(b->path);
    free(b->blocked);
    free(b->cover);
    free(b->trail);
    free(b);
}

static stk_game_input_t make(const stk_bots_t *b, size_t i, int kind)
{
    stk_game_input_t in;
    memset(&in, 0, sizeof in);
    in.kind = kind;
    memcpy(in.player, b->players[i], STK_GAME_ID_LEN);
    return in;
}

/* Recompute the walker path with the current towers; returns its length in tiles. */
static size_t trace_path(stk_bots_t *b, const stk_game_t *g)
{
    const stk_map_t *m = stk_game_map(g);
    memset(b->blocked, 0, (size_t)b->w * b->h);
    size_t nt = stk_game_tower_count(g);
    for (size_t t = 0; t < nt; t++) {
        stk_game_tower_info_t ti;
        if (stk_game_tower(g, t, &ti) == 0 && ti.x < b->w && ti.y < b->h)
            b->blocked[(size_t)ti.y * b->w + ti.x] = 1;
    }
    if (stk_path_compute(b->path, m, b->blocked) != 0)
        return 0;
    size_t n = 0, max = (size_t)b->w * b->h;
    uint32_t x = m->spawn.x, y = m->spawn.y;
    while (n < max && stk_path_reachable(b->path, x, y)) {
        b->trail[n++] = (stk_point_t){x, y};
        uint32_t nx, ny;
        if ((x == m->goal.x && y == m->goal.y) || stk_path_next(b->path, x, y, &nx, &ny) != 0)
            break;
        x = nx;
        y = ny;
    }
    return n;
}

/* Best tile for a tower of range r_mt (milli-tiles): one of the TOP_CHOICES best covered
 * free buildable tiles, or false if there is none. */
static bool pick_tile(stk_bots_t *b, size_t i, const stk_game_t *g, size_t trail_len, int32_t r_mt,
                      stk_point_t *at)
{
    const stk_map_t *m = stk_game_map(g);
    size_t tiles = (size_t)b->w * b->h;
    memset(b->cover, 0, tiles * sizeof *b->cover);
    int32_t r = r_mt / 1000;
    int64_t r2 = (int64_t)r_mt * r_mt;
    for (size_t k = 0; k < trail_len; k++) {
        int32_t px = (int32_t)b->trail[k].x, py = (int32_t)b->trail[k].y;
        for (int32_t dy = -r; dy <= r; dy++)
            for (int32_t dx = -r; dx <= r; dx++) {
                int32_t x = px + dx, y = py + dy;
                if (x < 0 || y < 0 || x >= (int32_t)b->w || y >= (int32_t)b->h)
                    continue;
                if ((int64_t)dx * dx * 1000000 + (int64_t)dy * dy * 1000000 > r2)
                    continue;
                b->cover[(size_t)y * b->w + (size_t)x]++;
            }
    }
    uint32_t best[CANDIDATES];
    uint16_t score[CANDIDATES];
    size_t nb = 0;
    for (uint32_t y = 0; y < b->h; y++)
        for (uint32_t x = 0; x < b->w; x++) {
            size_t idx = (size_t)y * b->w + x;
            uint16_t s = b->cover[idx];
            if (s == 0 || b->blocked[idx] || !stk_map_buildable(m, x, y))
                continue;
            /* Keep the CANDIDATES best, ties to the lower index (row-major order). */
            size_t pos = nb;
            while (pos > 0 && score[pos - 1] < s)
                pos--;
            if (pos >= CANDIDATES)
                continue;
            size_t last = nb < CANDIDATES ? nb : CANDIDATES - 1;
            for (size_t k = last; k > pos; k--) {
                best[k] = best[k - 1];
                score[k] = score[k - 1];
            }
            best[pos] = (uint32_t)idx;
            score[pos] = s;
            if (nb < CANDIDATES)
                nb++;
        }
    /* Drop the tiles the game would refuse for cutting the path (the field in b->path is
     * the one trace_path() just computed for these towers). */
    size_t nocc = 0;
    for (size_t e = 0; e < stk_game_enemy_count(g) && nocc + 2 <= 2 * STK_GAME_MAX_ENEMIES; e++) {
        stk_game_enemy_info_t ei;
        if (stk_game_enemy(g, e, &ei) != 0 || ei.kind == STK_ENEMY_FLYER)
            continue;
        b->occupied[nocc++] = (stk_point_t){ei.x, ei.y};
        b->occupied[nocc++] = (stk_point_t){ei.nx, ei.ny};
    }
    size_t ok = 0;
    for (size_t k = 0; k < nb && ok < TOP_CHOICES; k++) {
        bool cut = true;
        uint32_t x = best[k] % b->w, y = best[k] / b->w;
        if (stk_path_would_cut(b->path, m, b->blocked, x, y, b->occupied, nocc, &cut) == 0 && !cut)
            best[ok++] = best[k];
    }
    if (ok == 0)
        return false;
    uint32_t idx = best[stk_rng_below(&b->rng[i], (uint32_t)ok)];
    at->x = idx % b->w;
    at->y = idx / b->w;
    return true;
}

/* A command that must be refused. */
static stk_game_input_t invalid_command(stk_bots_t *b, size_t i, const stk_game_t *g)
{
    const stk_map_t *m = stk_game_map(g);
    stk_game_input_t in = make(b, i, STK_INPUT_PLACE);
    in.tower = STK_TOWER_ARROW;
    switch (stk_rng_below(&b->rng[i], 5)) {
    case 0: /* off the map */
        in.x = b->w + 3;
        in.y = 1;
        break;
    case 1: /* on the spawn */
        in.x = m->spawn.x;
        in.y = m->spawn.y;
        break;
    case 2: /* a tower that does not exist */
        in = make(b, i, STK_INPUT_UPGRADE);
        in.tower_id = 1000000;
        break;
    case 3: { /* someone else's tower, or nobody's */
        in = make(b, i, STK_INPUT_SELL);
        in.tower_id = 1000001;
        int me = stk_game_player_index(g, b->players[i]);
        for (size_t t = 0; t < stk_game_tower_count(g); t++) {
            stk_game_tower_info_t ti;
            if (stk_game_tower(g, t, &ti) == 0 && (int)ti.owner != me) {
                in.tower_id = ti.id;
                break;
            }
        }
        break;
    }
    default: /* an unknown tower kind */
        in.x = m->goal.x > 0 ? m->goal.x - 1 : 1;
        in.y = m->goal.y;
        in.tower = -1;
        break;
    }
    return in;
}

size_t stk_bots_turn(stk_bots_t *b, size_t i, const stk_game_t *g, stk_game_input_t *out,
                     size_t cap)
{
    if (b == NULL || g == NULL || out == NULL || cap == 0 || i >= b->n)
        return 0;
    stk_game_state_t st = stk_game_state(g);
    if (st == STK_GAME_PAUSED) {
        if (i != 0)
            return 0;
        out[0] = make(b, i, STK_INPUT_RESUME);
        return 1;
    }
    if (st != STK_GAME_IN_PROGRESS)
        return 0;
    uint64_t tick = stk_game_tick(g);
    uint32_t every = stk_game_tick_rate(g) / 2;
    if (every == 0)
        every = 1;
    if ((tick + i * 3) % every != 0)
        return 0;
    stk_rng_t *rng = &b->rng[i];
    if (stk_rng_below(rng, 40) == 0) {
        out[0] = invalid_command(b, i, g);
        return 1;
    }
    if (i == 0 && !b->paused_once && tick >= b->pause_at) {
        b->paused_once = true;
        out[0] = make(b, i, STK_INPUT_PAUSE);
        return 1;
    }
    int me = stk_game_player_index(g, b->players[i]);
    stk_game_player_info_t pi;
    if (me < 0 || stk_game_player(g, (size_t)me, &pi) != 0)
        return 0;
    const stk_balance_t *bal = stk_game_balance(g);
    size_t n = 0;

    /* My towers: count, the least upgraded, the oldest level-1 one. */
    size_t mine = 0;
    stk_game_tower_info_t low = {0}, oldest = {0};
    bool have_low = false, have_oldest = false;
    for (size_t t = 0; t < stk_game_tower_count(g); t++) {
        stk_game_tower_info_t ti;
        if (stk_game_tower(g, t, &ti) != 0 || (int)ti.owner != me)
            continue;
        mine++;
        if (ti.level < STK_TOWER_LEVELS && (!have_low || ti.level < low.level)) {
            low = ti;
            have_low = true;
        }
        if (ti.level == 1 && !have_oldest) {
            oldest = ti;
            have_oldest = true;
        }
    }
    uint64_t gold = pi.gold;
    if (mine >= 3 && have_low && stk_rng_below(rng, 3) == 0) {
        int32_t cost = bal->tower[low.kind].level[low.level].cost;
        if (cost >= 0 && gold >= (uint64_t)cost) {
            stk_game_input_t in = make(b, i, STK_INPUT_UPGRADE);
            in.tower_id = low.id;
            out[n++] = in;
            gold -= (uint64_t)cost;
        }
    }
    if (n == 0 && stk_game_tower_count(g) < STK_GAME_MAX_TOWERS) {
        static const uint32_t weight[STK_TOWER_KINDS] = {45, 25, 15, 15};
        uint32_t draw = stk_rng_below(rng, 100), acc = 0;
        int kind = STK_TOWER_ARROW;
        for (int k = 0; k < STK_TOWER_KINDS; k++) {
            acc += weight[k];
            if (draw < acc) {
                kind = k;
                break;
            }
        }
        if (gold < (uint64_t)bal->tower[kind].level[0].cost)
            kind = STK_TOWER_ARROW;
        if (gold >= (uint64_t)bal->tower[kind].level[0].cost) {
            size_t len = trace_path(b, g);
            stk_point_t at;
            if (len > 0 && pick_tile(b, i, g, len, bal->tower[kind].level[0].range_mt, &at)) {
                stk_game_input_t in = make(b, i, STK_INPUT_PLACE);
                in.x = at.x;
                in.y = at.y;
                in.tower = kind;
                out[n++] = in;
            }
        }
    }
    if (n == 0 && mine > 5 && have_oldest && stk_rng_below(rng, 80) == 0) {
        stk_game_input_t in = make(b, i, STK_INPUT_SELL);
        in.tower_id = oldest.id;
        out[n++] = in;
    }
    if (n < cap && stk_game_enemy_count(g) == 0 && !stk_game_wave_spawning(g) &&
        stk_game_wave(g) < stk_game_wave_count(g) && stk_game_lives(g) * 2 >= bal->start_lives &&
        stk_rng_below(rng, 3) == 0)
        out[n++] = make(b, i, STK_INPUT_CALL_WAVE);
    return n;
}
