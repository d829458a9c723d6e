/* core/game.c — game lifecycle, input validation and application, read-only accessors.
 *
 * This file holds the session state machine and the economy of inputs (build, upgrade,
 * sell, call a wave). The tick itself is in game_step.c, the canonical hash and the diff in
 * game_hash.c. See game.h for the rules and game_internal.h for the invariants.
 */
#include "core/game.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/game_internal.h"

/* ---- names ---------------------------------------------------------------------------- */

static const char *const reject_names[] = {
#define STK_REJECT_NAME(name, msg) #name,
    STK_REJECT_MAP(STK_REJECT_NAME)
#undef STK_REJECT_NAME
};
static const char *const reject_messages[] = {
#define STK_REJECT_MSG(name, msg) msg,
    STK_REJECT_MAP(STK_REJECT_MSG)
#undef STK_REJECT_MSG
};
static const char *const input_events[] = {
#define STK_INPUT_EVENT(name, event) event,
    STK_GAME_INPUT_MAP(STK_INPUT_EVENT)
#undef STK_INPUT_EVENT
};

const char *stk_reject_name(stk_reject_t why)
{
    return (unsigned)why < STK_REJECT_COUNT ? reject_names[why] : "UNKNOWN";
}

const char *stk_reject_message(stk_reject_t why)
{
    return (unsigned)why < STK_REJECT_COUNT ? reject_messages[why] : "unknown reason";
}

const char *stk_game_state_name(stk_game_state_t s)
{
    static const char *const names[] = {"lobby", "in_progress", "paused", "completed", "abandoned"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *stk_game_result_name(stk_game_result_t r)
{
    static const char *const names[] = {"none", "victory", "defeat", "abandoned"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

const char *stk_game_input_event(int kind)
{
    return kind >= 0 && kind < STK_INPUT_KINDS ? input_events[kind] : NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

/* ms → ticks, rounded to nearest, with integer math only. */
static uint32_t ms_to_ticks(uint32_t ms, uint32_t tick_rate)
{
    return (uint32_t)(((uint64_t)ms * tick_rate + 500) / 1000);
}

/* milli-tiles → 16.16 fixed-point tiles. */
static int64_t mt_to_fp(int32_t mt)
{
    return ((int64_t)mt << STK_FP_SHIFT) / 1000;
}

static void derive_tables(stk_game_t *g)
{
    const stk_balance_t *b = &g->balance;
    for (int k = 0; k < STK_ENEMY_KINDS; k++) {
        /* milli-tiles per second → fixed-point tiles per tick, at least 1 */
        int64_t v =
            ((int64_t)b->enemy[k].speed_mt << STK_FP_SHIFT) / (1000 * (int64_t)g->tick_rate);
        g->enemy_speed[k] = (int32_t)(v < 1 ? 1 : v);
    }
    for (int k = 0; k < STK_TOWER_KINDS; k++) {
        for (int l = 0; l < STK_TOWER_LEVELS; l++) {
            const stk_tower_level_t *src = &b->tower[k].level[l];
            stk_game_level_t *dst = &g->lvl[k][l];
            dst->range_fp = mt_to_fp(src->range_mt);
            dst->splash_fp = mt_to_fp(src->splash_mt);
            dst->chain_fp = mt_to_fp(src->chain_mt);
            dst->cooldown_ticks = ms_to_ticks((uint32_t)src->cooldown_ms, g->tick_rate);
            if (dst->cooldown_ticks < 1)
                dst->cooldown_ticks = 1;
            dst->slow_ticks = ms_to_ticks((uint32_t)src->slow_ms, g->tick_rate);
        }
    }
    g->first_wave_ticks = ms_to_ticks((uint32_t)b->first_wave_ms, g->tick_rate);
    g->wave_countdown_ticks = ms_to_ticks((uint32_t)b->wave_countdown_ms, g->tick_rate);
    g->spawn_jitter_fp = (int32_t)mt_to_fp(b->spawn_jitter_mt);
}

/* Allocate the pools of g (whose caps and map are set). */
static int alloc_pools(stk_game_t *g)
{
    size_t tiles = (size_t)g->map.width * g->map.height;
    int rc = STK_ENOMEM;
    g->towers = calloc(g->tower_cap, sizeof(*g->towers));
    g->enemies = calloc(g->enemy_cap, sizeof(*g->enemies));
    g->occupied = calloc(g->enemy_cap, sizeof(*g->occupied));
    g->tower_at = calloc(tiles, 1);
    g->cells_w = (g->map.width + (1u << STK_GAME_CELL_SHIFT) - 1) >> STK_GAME_CELL_SHIFT;
    g->cells_h = (g->map.height + (1u << STK_GAME_CELL_SHIFT) - 1) >> STK_GAME_CELL_SHIFT;
    g->cell_head = calloc((size_t)g->cells_w * g->cells_h, sizeof(*g->cell_head));
    g->cell_next = calloc(g->enemy_cap, sizeof(*g->cell_next));
    if (!g->towers || !g->enemies || !g->occupied || !g->tower_at || !g->cell_head || !g->cell_next)
        goto fail;
    if ((rc = stk_path_create(g->map.width, g->map.height, &g->walk)) != 0)
        goto fail;
    if ((rc = stk_path_create(g->map.width, g->map.height, &g->fly)) != 0)
        goto fail;
    return 0;
fail:
    return rc; /* the caller destroys the partial game */
}

int stk_game_create(const stk_game_setup_t *setup, stk_game_t **out)
{
    stk_game_t *g = NULL;
    size_t nprob = 0;
    int rc;

    if (!setup || !setup->map || !out)
        return STK_EINVAL;
    if (setup->ruleset != STK_RULESET_VERSION)
        return STK_EVERSION;
    if (setup->tick_rate < 1 || setup->tick_rate > STK_GAME_MAX_TICK_RATE)
        return STK_ERANGE;
    if ((rc = stk_balance_validate(&setup->balance, NULL)) != 0)
        return rc;
    if (stk_map_validate(setup->map, NULL, 0, &nprob) != 0 || nprob != 0)
        return STK_ESCHEMA;

    g = calloc(1, sizeof(*g));
    if (!g)
        return STK_ENOMEM;
    memcpy(&g->map, setup->map, sizeof(g->map));
    g->balance = setup->balance;
    g->seed = setup->seed;
    g->tick_rate = setup->tick_rate;
    g->ruleset = setup->ruleset;
    derive_tables(g);

    /* Pools sized from the map: never more enemies than the map can ever send, never more
     * towers than buildable tiles; both capped. */
    uint64_t total = 0;
    for (uint32_t w = 0; w < g->map.n_waves; w++) {
        uint32_t n = 0;
        for (uint32_t j = 0; j < g->map.waves[w].n_groups; j++)
            n += g->map.waves[w].groups[j].count;
        g->wave_size[w] = n;
        total += n;
    }
    g->enemy_cap = total < STK_GAME_MAX_ENEMIES ? (uint32_t)total : STK_GAME_MAX_ENEMIES;
    uint32_t buildable = 0;
    for (uint32_t y = 0; y < g->map.height; y++)
        for (uint32_t x = 0; x < g->map.width; x++)
            buildable += stk_map_buildable(&g->map, x, y);
    g->tower_cap = buildable < STK_GAME_MAX_TOWERS ? buildable : STK_GAME_MAX_TOWERS;
    if (g->tower_cap == 0)
        g->tower_cap = 1;

    if ((rc = alloc_pools(g)) != 0)
        goto fail;
    if ((rc = stk_path_compute(g->walk, &g->map, g->tower_at)) != 0)
        goto fail;
    if ((rc = stk_path_compute_flyer(g->fly, &g->map)) != 0)
        goto fail;

    g->state = STK_GAME_LOBBY;
    g->result = STK_RESULT_NONE;
    stk_rng_seed(&g->rng, setup->seed);
    g->lives = g->balance.start_lives;
    g->next_tower_id = 1;
    g->next_enemy_id = 1;
    g->setup_digest = stk_game__setup_digest(g);
    *out = g;
    return 0;
fail:
    stk_game_destroy(g);
    return rc;
}

int stk_game_clone(const stk_game_t *src, stk_game_t **out)
{
    stk_game_t *g;
    int rc;
    if (!src || !out)
        return STK_EINVAL;
    g = malloc(sizeof(*g));
    if (!g)
        return STK_ENOMEM;
    memcpy(g, src, sizeof(*g));
    g->towers = NULL;
    g->enemies = NULL;
    g->occupied = NULL;
    g->tower_at = NULL;
    g->cell_head = g->cell_next = NULL;
    g->walk = g->fly = NULL;
    if ((rc = alloc_pools(g)) != 0)
        goto fail;
    memcpy(g->towers, src->towers, sizeof(*g->towers) * src->n_towers);
    memcpy(g->enemies, src->enemies, sizeof(*g->enemies) * src->n_enemies);
    memcpy(g->tower_at, src->tower_at, (size_t)g->map.width * g->map.height);
    if ((rc = stk_path_compute(g->walk, &g->map, g->tower_at)) != 0)
        goto fail;
    if ((rc = stk_path_compute_flyer(g->fly, &g->map)) != 0)
        goto fail;
    *out = g;
    return 0;
fail:
    stk_game_destroy(g);
    return rc;
}

void stk_game_destroy(stk_game_t *g)
{
    if (!g)
        return;
    stk_path_destroy(g->fly);
    stk_path_destroy(g->walk);
    free(g->cell_next);
    free(g->cell_head);
    free(g->tower_at);
    free(g->occupied);
    free(g->enemies);
    free(g->towers);
    free(g);
}

/* ---- helpers -------------------------------------------------------------------------- */

static const uint8_t zero_id[STK_GAME_ID_LEN];

static int find_player(const stk_game_t *g, const uint8_t id[STK_GAME_ID_LEN])
{
    for (uint32_t i = 0; i < g->n_players; i++)
        if (memcmp(g->players[i].id, id, STK_GAME_ID_LEN) == 0)
            return (int)i;
    return -1;
}

/* The host: the first player in join order who has not left; -1 if none. */
static int host_index(const stk_game_t *g)
{
    for (uint32_t i = 0; i < g->n_players; i++)
        if (!g->players[i].left)
            return (int)i;
    return -1;
}

static int find_tower(const stk_game_t *g, uint32_t id)
{
    uint32_t lo = 0, hi = g->n_towers;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->towers[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n_towers && g->towers[lo].id == id ? (int)lo : -1;
}

static bool terminal(const stk_game_t *g)
{
    return g->state == STK_GAME_COMPLETED || g->state == STK_GAME_ABANDONED;
}

/* ---- validation ------------------------------------------------------------------------ */

static stk_reject_t check_place(const stk_game_t *g, int p, const stk_game_input_t *in)
{
    const stk_map_t *m = &g->map;
    if (in->tower < 0 || in->tower >= STK_TOWER_KINDS)
        return STK_REJECT_UNKNOWN_TOWER;
    if (!stk_map_in_bounds(m, in->x, in->y))
        return STK_REJECT_OFF_MAP;
    if ((in->x == m->spawn.x && in->y == m->spawn.y) || (in->x == m->goal.x && in->y == m->goal.y))
        return STK_REJECT_ON_SPAWN_OR_GOAL;
    if (!stk_map_buildable(m, in->x, in->y))
        return STK_REJECT_TILE_BLOCKED;
    if (g->tower_at[in->y * m->width + in->x])
        return STK_REJECT_TILE_OCCUPIED;
    for (uint32_t i = 0; i < g->n_enemies; i++) {
        const stk_game_enemy_t *e = &g->enemies[i];
        if (g->balance.enemy[e->kind].flying)
            continue;
        if ((e->x == in->x && e->y == in->y) || (e->nx == in->x && e->ny == in->y))
            return STK_REJECT_TILE_OCCUPIED;
    }
    if (g->n_towers >= g->tower_cap)
        return STK_REJECT_TOWER_LIMIT;
    if (g->players[p].gold < g->balance.tower[in->tower].level[0].cost)
        return STK_REJECT_NOT_ENOUGH_GOLD;

    size_t n = 0;
    for (uint32_t i = 0; i < g->n_enemies; i++) {
        const stk_game_enemy_t *e = &g->enemies[i];
        if (!g->balance.enemy[e->kind].flying)
            g->occupied[n++] = (stk_point_t){e->x, e->y};
    }
    bool cut = true;
    /* g->walk's scratch space is written; the field itself is left as it was. */
    if (stk_path_would_cut(g->walk, m, g->tower_at, in->x, in->y, g->occupied, n, &cut) != 0 || cut)
        return STK_REJECT_WOULD_BLOCK_PATH;
    return STK_REJECT_NONE;
}

static stk_reject_t check_tower_op(const stk_game_t *g, int p, const stk_game_input_t *in)
{
    int t = find_tower(g, in->tower_id);
    if (t < 0)
        return STK_REJECT_NO_SUCH_TOWER;
    const stk_game_tower_t *tw = &g->towers[t];
    if (tw->owner != (uint32_t)p)
        return STK_REJECT_NOT_OWNER;
    if (in->kind == STK_INPUT_UPGRADE) {
        if (tw->level >= STK_TOWER_LEVELS)
            return STK_REJECT_MAX_LEVEL;
        if (g->players[p].gold < g->balance.tower[tw->kind].level[tw->level].cost)
            return STK_REJECT_NOT_ENOUGH_GOLD;
    }
    return STK_REJECT_NONE;
}

static stk_reject_t check_input(const stk_game_t *g, const stk_game_input_t *in)
{
    if (in->kind < 0 || in->kind >= STK_INPUT_KINDS)
        return STK_REJECT_UNKNOWN_INPUT;
    bool server = memcmp(in->player, zero_id, STK_GAME_ID_LEN) == 0;
    int p = find_player(g, in->player);
    bool member = p >= 0 && !g->players[p].left;

    if (in->kind == STK_INPUT_JOIN) {
        if (server)
            return STK_REJECT_INVALID_PLAYER;
        if (g->state != STK_GAME_LOBBY)
            return STK_REJECT_WRONG_STATE;
        if (p >= 0)
            return STK_REJECT_ALREADY_JOINED;
        if (g->n_players >= STK_GAME_MAX_PLAYERS)
            return STK_REJECT_SESSION_FULL;
        if (in->damage_bp > 5000 || in->attack_speed_bp > 5000 || in->range_bp > 5000 ||
            in->damage_bp + in->attack_speed_bp + in->range_bp != 5000)
            return STK_REJECT_BAD_BONUS;
        return STK_REJECT_NONE;
    }
    if (in->kind == STK_INPUT_ABANDON) {
        if (terminal(g))
            return STK_REJECT_WRONG_STATE;
        if (server)
            return STK_REJECT_NONE;
        if (!member)
            return STK_REJECT_NOT_IN_SESSION;
        return host_index(g) == p ? STK_REJECT_NONE : STK_REJECT_NOT_HOST;
    }
    if (!member)
        return server ? STK_REJECT_INVALID_PLAYER : STK_REJECT_NOT_IN_SESSION;

    switch (in->kind) {
    case STK_INPUT_LEAVE:
        return terminal(g) ? STK_REJECT_WRONG_STATE : STK_REJECT_NONE;
    case STK_INPUT_READY:
        return g->state == STK_GAME_LOBBY ? STK_REJECT_NONE : STK_REJECT_WRONG_STATE;
    case STK_INPUT_START:
        if (g->state != STK_GAME_LOBBY)
            return STK_REJECT_WRONG_STATE;
        if (host_index(g) != p)
            return STK_REJECT_NOT_HOST;
        for (uint32_t i = 0; i < g->n_players; i++)
            if (!g->players[i].ready)
                return STK_REJECT_NOT_ALL_READY;
        return STK_REJECT_NONE;
    case STK_INPUT_PLACE:
        if (g->state != STK_GAME_IN_PROGRESS)
            return STK_REJECT_WRONG_STATE;
        return check_place(g, p, in);
    case STK_INPUT_UPGRADE:
    case STK_INPUT_SELL:
        if (g->state != STK_GAME_IN_PROGRESS)
            return STK_REJECT_WRONG_STATE;
        return check_tower_op(g, p, in);
    case STK_INPUT_CALL_WAVE:
        if (g->state != STK_GAME_IN_PROGRESS)
            return STK_REJECT_WRONG_STATE;
        if (g->waves_started >= g->map.n_waves)
            return STK_REJECT_NO_MORE_WAVES;
        if (g->spawning)
            return STK_REJECT_WAVE_SPAWNING;
        return STK_REJECT_NONE;
    case STK_INPUT_PAUSE:
    case STK_INPUT_RESUME:
        if (g->state != (in->kind == STK_INPUT_PAUSE ? STK_GAME_IN_PROGRESS : STK_GAME_PAUSED))
            return STK_REJECT_WRONG_STATE;
        return host_index(g) == p ? STK_REJECT_NONE : STK_REJECT_NOT_HOST;
    case STK_INPUT_DISCONNECT:
        if (terminal(g))
            return STK_REJECT_WRONG_STATE;
        return g->players[p].connected ? STK_REJECT_NONE : STK_REJECT_ALREADY_DISCONNECTED;
    case STK_INPUT_RECONNECT:
        if (terminal(g))
            return STK_REJECT_WRONG_STATE;
        return g->players[p].connected ? STK_REJECT_ALREADY_CONNECTED : STK_REJECT_NONE;
    }
    return STK_REJECT_UNKNOWN_INPUT;
}

int stk_game_check(const stk_game_t *g, const stk_game_input_t *in, stk_reject_t *why)
{
    if (!g || !in || !why)
        return STK_EINVAL;
    *why = check_input(g, in);
    return *why == STK_REJECT_NONE ? 0 : STK_EPERM;
}

/* ---- application ---------------------------------------------------------------------- */

/* Start the next wave now (the caller checked one is left and none is spawning). */
void stk_game__start_wave(stk_game_t *g)
{
    uint32_t w = g->waves_started++;
    g->wave_left[w] = g->wave_size[w];
    g->spawning = 1;
    g->spawn_group = 0;
    g->spawn_in_group = 0;
    g->spawn_timer = 0;
    g->countdown = 0;
}

static void apply_place(stk_game_t *g, int p, const stk_game_input_t *in)
{
    const stk_tower_spec_t *spec = &g->balance.tower[in->tower];
    stk_game_tower_t *t = &g->towers[g->n_towers++]; /* ids grow: appending keeps order */
    memset(t, 0, sizeof(*t));
    t->id = g->next_tower_id++;
    t->owner = (uint32_t)p;
    t->kind = (uint32_t)in->tower;
    t->level = 1;
    t->x = in->x;
    t->y = in->y;
    t->spent = (uint32_t)spec->level[0].cost;
    t->cooldown = 0;
    g->players[p].gold -= spec->level[0].cost;
    g->tower_at[in->y * g->map.width + in->x] = 1;
    (void)stk_path_compute(g->walk, &g->map, g->tower_at); /* sizes match: cannot fail */
}

static void apply_sell(stk_game_t *g, int p, uint32_t tower_id)
{
    int i = find_tower(g, tower_id);
    stk_game_tower_t *t = &g->towers[i];
    g->players[p].gold += (int64_t)t->spent * g->balance.sell_refund_bp / 10000;
    g->tower_at[t->y * g->map.width + t->x] = 0;
    memmove(t, t + 1, sizeof(*t) * (g->n_towers - (uint32_t)i - 1));
    g->n_towers--;
    (void)stk_path_compute(g->walk, &g->map, g->tower_at);
}

int stk_game_apply(stk_game_t *g, const stk_game_input_t *in, stk_reject_t *why)
{
    int rc = stk_game_check(g, in, why);
    if (rc != 0)
        return rc;
    int p = find_player(g, in->player);
    stk_game_player_t *pl = p >= 0 ? &g->players[p] : NULL;

    switch (in->kind) {
    case STK_INPUT_JOIN:
        pl = &g->players[g->n_players++];
        memset(pl, 0, sizeof(*pl));
        memcpy(pl->id, in->player, STK_GAME_ID_LEN);
        memcpy(pl->tribe, in->tribe, STK_GAME_ID_LEN);
        pl->damage_bp = in->damage_bp;
        pl->attack_speed_bp = in->attack_speed_bp;
        pl->range_bp = in->range_bp;
        pl->color = in->color & 0xffffffu;
        pl->connected = 1;
        pl->gold = g->balance.start_gold;
        break;
    case STK_INPUT_LEAVE:
        if (g->state == STK_GAME_LOBBY) {
            /* Before the game nothing refers to a player index: forget them. */
            memmove(pl, pl + 1, sizeof(*pl) * (g->n_players - (uint32_t)p - 1));
            g->n_players--;
            memset(&g->players[g->n_players], 0, sizeof(*pl));
        } else {
            /* Towers keep their owner index; the player stays in the outcome's gold list. */
            pl->left = 1;
            pl->connected = 0;
            pl->ready = 0;
        }
        break;
    case STK_INPUT_READY:
        pl->ready = in->ready ? 1 : 0;
        break;
    case STK_INPUT_START:
        g->state = STK_GAME_IN_PROGRESS;
        g->countdown = g->first_wave_ticks;
        break;
    case STK_INPUT_PLACE:
        apply_place(g, p, in);
        break;
    case STK_INPUT_UPGRADE: {
        stk_game_tower_t *t = &g->towers[find_tower(g, in->tower_id)];
        int32_t cost = g->balance.tower[t->kind].level[t->level].cost;
        pl->gold -= cost;
        t->spent += (uint32_t)cost;
        t->level++;
        break;
    }
    case STK_INPUT_SELL:
        apply_sell(g, p, in->tower_id);
        break;
    case STK_INPUT_CALL_WAVE:
        stk_game__start_wave(g);
        break;
    case STK_INPUT_PAUSE:
        g->state = STK_GAME_PAUSED;
        break;
    case STK_INPUT_RESUME:
        g->state = STK_GAME_IN_PROGRESS;
        break;
    case STK_INPUT_DISCONNECT:
        pl->connected = 0;
        break;
    case STK_INPUT_RECONNECT:
        pl->connected = 1;
        break;
    case STK_INPUT_ABANDON:
        g->state = STK_GAME_ABANDONED;
        g->result = STK_RESULT_ABANDONED;
        break;
    }
    return 0;
}

/* ---- accessors ------------------------------------------------------------------------ */

void stk_game_outcome(const stk_game_t *g, stk_game_outcome_t *out)
{
    memset(out, 0, sizeof(*out));
    out->tick = g->tick;
    out->game_ended = terminal(g);
    out->result = (stk_game_result_t)g->result;
    out->wave = g->waves_started;
    out->lives = g->lives < 0 ? 0 : g->lives;
    out->n_players = g->n_players;
    for (uint32_t i = 0; i < g->n_players; i++)
        out->gold[i] = (uint64_t)g->players[i].gold;
    out->hash = stk_game_hash(g);
}

stk_game_state_t stk_game_state(const stk_game_t *g)
{
    return (stk_game_state_t)g->state;
}
stk_game_result_t stk_game_result(const stk_game_t *g)
{
    return (stk_game_result_t)g->result;
}
uint64_t stk_game_tick(const stk_game_t *g)
{
    return g->tick;
}
uint64_t stk_game_seed(const stk_game_t *g)
{
    return g->seed;
}
uint32_t stk_game_tick_rate(const stk_game_t *g)
{
    return g->tick_rate;
}
uint32_t stk_game_wave(const stk_game_t *g)
{
    return g->waves_started;
}
uint32_t stk_game_waves_cleared(const stk_game_t *g)
{
    return g->waves_cleared;
}
uint32_t stk_game_wave_count(const stk_game_t *g)
{
    return g->map.n_waves;
}
bool stk_game_wave_spawning(const stk_game_t *g)
{
    return g->spawning != 0;
}
uint32_t stk_game_wave_countdown(const stk_game_t *g)
{
    return g->countdown;
}
int32_t stk_game_lives(const stk_game_t *g)
{
    return g->lives;
}
uint32_t stk_game_leaks(const stk_game_t *g)
{
    return g->leaks;
}
const stk_map_t *stk_game_map(const stk_game_t *g)
{
    return &g->map;
}
const stk_balance_t *stk_game_balance(const stk_game_t *g)
{
    return &g->balance;
}
int stk_game_player_index(const stk_game_t *g, const uint8_t id[STK_GAME_ID_LEN])
{
    return g && id ? find_player(g, id) : -1;
}
size_t stk_game_player_count(const stk_game_t *g)
{
    return g->n_players;
}
size_t stk_game_tower_count(const stk_game_t *g)
{
    return g->n_towers;
}
size_t stk_game_enemy_count(const stk_game_t *g)
{
    return g->n_enemies;
}

int stk_game_player(const stk_game_t *g, size_t i, stk_game_player_info_t *out)
{
    if (!g || !out)
        return STK_EINVAL;
    if (i >= g->n_players)
        return STK_ERANGE;
    const stk_game_player_t *p = &g->players[i];
    memset(out, 0, sizeof(*out));
    memcpy(out->id, p->id, STK_GAME_ID_LEN);
    memcpy(out->tribe, p->tribe, STK_GAME_ID_LEN);
    out->damage_bp = p->damage_bp;
    out->attack_speed_bp = p->attack_speed_bp;
    out->range_bp = p->range_bp;
    out->color = p->color;
    out->ready = p->ready;
    out->connected = p->connected;
    out->left = p->left;
    out->host = host_index(g) == (int)i;
    out->gold = (uint64_t)p->gold;
    out->kills = p->kills;
    return 0;
}

static void tower_info(const stk_game_tower_t *t, stk_game_tower_info_t *out)
{
    out->id = t->id;
    out->owner = t->owner;
    out->kind = (int)t->kind;
    out->level = t->level;
    out->x = t->x;
    out->y = t->y;
    out->spent = t->spent;
    out->cooldown = t->cooldown;
    out->kills = t->kills;
}

int stk_game_tower(const stk_game_t *g, size_t i, stk_game_tower_info_t *out)
{
    if (!g || !out)
        return STK_EINVAL;
    if (i >= g->n_towers)
        return STK_ERANGE;
    tower_info(&g->towers[i], out);
    return 0;
}

int stk_game_tower_by_id(const stk_game_t *g, uint32_t id, stk_game_tower_info_t *out)
{
    if (!g || !out)
        return STK_EINVAL;
    int i = find_tower(g, id);
    if (i < 0)
        return STK_ENOTFOUND;
    tower_info(&g->towers[i], out);
    return 0;
}

int stk_game_enemy(const stk_game_t *g, size_t i, stk_game_enemy_info_t *out)
{
    if (!g || !out)
        return STK_EINVAL;
    if (i >= g->n_enemies)
        return STK_ERANGE;
    const stk_game_enemy_t *e = &g->enemies[i];
    out->id = e->id;
    out->kind = (int)e->kind;
    out->wave = e->wave + 1;
    out->health = e->health;
    out->x = e->x;
    out->y = e->y;
    out->nx = e->nx;
    out->ny = e->ny;
    out->progress = e->progress;
    stk_game__enemy_pos(e, &out->px, &out->py);
    out->slow_bp = e->slow_bp;
    out->slow_ticks = e->slow_ticks;
    return 0;
}
