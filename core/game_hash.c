/* core/game_hash.c — the canonical form of a game's state: its hash, its snapshot bytes
 * (and their validating restore), and the field-by-field diff of two games.
 *
 * Canonical form: a fixed sequence of integers, each written as 8 bytes little-endian
 * (signed values sign-extended), hashed with XXH3_64 (streaming, state on the stack: no
 * allocation, usable in the tick path). The sequence is:
 *   "STKGAME1", setup digest, then the GAME_FIELDS scalars, the PRNG state, wave_left for
 *   every map wave, players (count, then id and tribe as 16 raw bytes each and
 *   PLAYER_FIELDS), towers (count, TOWER_FIELDS
 *   each, id order), enemies (count, ENEMY_FIELDS each, id order).
 * The setup digest covers everything constant: ruleset, tick rate, seed, the whole balance
 * table and the map (size, spawn, goal, waves, tiles), also in this integer form.
 * Derived data (path fields, converted tables, tower_at) is not hashed: it is a function
 * of the hashed fields (restore rebuilds it). The same field lists drive the snapshot and
 * stk_game_diff(), so hash, snapshot and diff cannot disagree about what the state is.
 * Not here: the rules (game.c, game_step.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "core/error.h"
#include "core/game.h"
#include "core/game_internal.h"

/* parse_state() reads these lists back in the same order with a range per field; the
 * snapshot round-trip test fails if the two ever disagree. */
#define GAME_FIELDS(X)                                                                             \
    X(state)                                                                                       \
    X(result)                                                                                      \
    X(tick)                                                                                        \
    X(lives)                                                                                       \
    X(leaks)                                                                                       \
    X(waves_started)                                                                               \
    X(waves_cleared)                                                                               \
    X(spawning)                                                                                    \
    X(spawn_group)                                                                                 \
    X(spawn_in_group)                                                                              \
    X(spawn_timer)                                                                                 \
    X(countdown)                                                                                   \
    X(next_tower_id)                                                                               \
    X(next_enemy_id)

#define PLAYER_FIELDS(X)                                                                           \
    X(damage_bp)                                                                                   \
    X(attack_speed_bp)                                                                             \
    X(range_bp)                                                                                    \
    X(color)                                                                                       \
    X(ready)                                                                                       \
    X(connected)                                                                                   \
    X(left)                                                                                        \
    X(gold)                                                                                        \
    X(kills)

#define TOWER_FIELDS(X)                                                                            \
    X(id)                                                                                          \
    X(owner)                                                                                       \
    X(kind)                                                                                        \
    X(level)                                                                                       \
    X(x)                                                                                           \
    X(y)                                                                                           \
    X(spent)                                                                                       \
    X(cooldown)                                                                                    \
    X(kills)

#define ENEMY_FIELDS(X)                                                                            \
    X(id)                                                                                          \
    X(kind)                                                                                        \
    X(wave)                                                                                        \
    X(health)                                                                                      \
    X(x)                                                                                           \
    X(y)                                                                                           \
    X(nx)                                                                                          \
    X(ny)                                                                                          \
    X(progress)                                                                                    \
    X(slow_bp)                                                                                     \
    X(slow_ticks)

/* Signed fields sign-extend, unsigned ones zero-extend: both are exact in int64. */
#define AS_I64(v) ((int64_t)(v))

/* Streams the canonical bytes either into XXH3 (out == NULL) or into a caller's buffer
 * (len counts every byte, also those past cap, so a first call can size the buffer). */
typedef struct writer {
    XXH3_state_t st;
    uint8_t *out;
    size_t cap, len;
    int to_buffer;
    uint8_t buf[2048];
    size_t n;
} writer_t;

static void w_flush(writer_t *w)
{
    if (!w->to_buffer) {
        (void)XXH3_64bits_update(&w->st, w->buf, w->n);
    } else {
        if (w->out && w->len < w->cap)
            memcpy(w->out + w->len, w->buf, w->n < w->cap - w->len ? w->n : w->cap - w->len);
        w->len += w->n;
    }
    w->n = 0;
}

static void w_u64(writer_t *w, uint64_t v)
{
    if (w->n + 8 > sizeof(w->buf))
        w_flush(w);
    uint8_t *p = w->buf + w->n;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    p[4] = (uint8_t)(v >> 32);
    p[5] = (uint8_t)(v >> 40);
    p[6] = (uint8_t)(v >> 48);
    p[7] = (uint8_t)(v >> 56);
    w->n += 8;
}

static void w_i64(writer_t *w, int64_t v)
{
    w_u64(w, (uint64_t)v);
}

static void w_id(writer_t *w, const uint8_t id[STK_GAME_ID_LEN])
{
    for (int i = 0; i < STK_GAME_ID_LEN; i++) {
        if (w->n + 1 > sizeof(w->buf))
            w_flush(w);
        w->buf[w->n++] = id[i];
    }
}

static void w_init(writer_t *w)
{
    (void)XXH3_64bits_reset(&w->st);
    w->to_buffer = 0;
    w->out = NULL;
    w->cap = w->len = 0;
    w->n = 0;
}

static uint64_t w_digest(writer_t *w)
{
    w_flush(w);
    return XXH3_64bits_digest(&w->st);
}

static void w_name(writer_t *w, const char name[STK_BALANCE_NAME_MAX])
{
    uint8_t tmp[STK_GAME_ID_LEN] = {0};
    memcpy(tmp, name, strnlen(name, STK_BALANCE_NAME_MAX));
    w_id(w, tmp);
}

uint64_t stk_game__setup_digest(const stk_game_t *g)
{
    writer_t w;
    const stk_balance_t *b = &g->balance;
    const stk_map_t *m = &g->map;
    w_init(&w);
    w_u64(&w, g->ruleset);
    w_u64(&w, g->tick_rate);
    w_u64(&w, g->seed);
    for (int k = 0; k < STK_ENEMY_KINDS; k++) {
        const stk_enemy_spec_t *e = &b->enemy[k];
        w_name(&w, e->name);
#define H_ENEMY_SPEC(f, lo, hi) w_i64(&w, e->f);
        STK_BALANCE_ENEMY_FIELDS(H_ENEMY_SPEC)
#undef H_ENEMY_SPEC
    }
    for (int k = 0; k < STK_TOWER_KINDS; k++) {
        const stk_tower_spec_t *t = &b->tower[k];
        w_name(&w, t->name);
        w_i64(&w, t->effect);
        for (int l = 0; l < STK_TOWER_LEVELS; l++) {
            const stk_tower_level_t *v = &t->level[l];
#define H_LEVEL(f, lo, hi) w_i64(&w, v->f);
            STK_BALANCE_LEVEL_FIELDS(H_LEVEL)
#undef H_LEVEL
        }
    }
#define H_SCALAR(f, lo, hi) w_i64(&w, b->f);
    STK_BALANCE_SCALAR_FIELDS(H_SCALAR)
#undef H_SCALAR
    w_u64(&w, m->width);
    w_u64(&w, m->height);
    w_u64(&w, m->spawn.x);
    w_u64(&w, m->spawn.y);
    w_u64(&w, m->goal.x);
    w_u64(&w, m->goal.y);
    w_u64(&w, m->n_waves);
    for (uint32_t i = 0; i < m->n_waves; i++) {
        const stk_map_wave_t *wv = &m->waves[i];
        w_u64(&w, wv->number);
        w_u64(&w, wv->n_groups);
        for (uint32_t j = 0; j < wv->n_groups; j++) {
            w_u64(&w, wv->groups[j].type);
            w_u64(&w, wv->groups[j].count);
            w_u64(&w, wv->groups[j].interval_ms);
        }
    }
    for (uint32_t i = 0; i < m->width * m->height; i++) {
        w_u64(&w, m->tiles[i].terrain);
        w_u64(&w, m->tiles[i].height);
        w_u64(&w, m->tiles[i].blocked);
    }
    return w_digest(&w);
}

static void w_state(writer_t *w, const stk_game_t *g)
{
    w_u64(w, UINT64_C(0x31454d414b4b5453)); /* "STKGAME1" little-endian */
    w_u64(w, g->setup_digest);
#define H_GAME(f) w_i64(w, AS_I64(g->f));
    GAME_FIELDS(H_GAME)
#undef H_GAME
    for (int i = 0; i < 4; i++)
        w_u64(w, g->rng.s[i]);
    for (uint32_t i = 0; i < g->map.n_waves; i++)
        w_u64(w, g->wave_left[i]);
    w_u64(w, g->n_players);
    for (uint32_t i = 0; i < g->n_players; i++) {
        const stk_game_player_t *p = &g->players[i];
        w_id(w, p->id);
        w_id(w, p->tribe);
#define H_PLAYER(f) w_i64(w, AS_I64(p->f));
        PLAYER_FIELDS(H_PLAYER)
#undef H_PLAYER
    }
    w_u64(w, g->n_towers);
    for (uint32_t i = 0; i < g->n_towers; i++) {
        const stk_game_tower_t *t = &g->towers[i];
#define H_TOWER(f) w_i64(w, AS_I64(t->f));
        TOWER_FIELDS(H_TOWER)
#undef H_TOWER
    }
    w_u64(w, g->n_enemies);
    for (uint32_t i = 0; i < g->n_enemies; i++) {
        const stk_game_enemy_t *e = &g->enemies[i];
#define H_ENEMY(f) w_i64(w, AS_I64(e->f));
        ENEMY_FIELDS(H_ENEMY)
#undef H_ENEMY
    }
}

uint64_t stk_game_hash(const stk_game_t *g)
{
    writer_t w;
    w_init(&w);
    w_state(&w, g);
    return w_digest(&w);
}

/* ---- snapshot and restore ------------------------------------------------------------ */

int stk_game_snapshot(const stk_game_t *g, uint8_t *buf, size_t cap, size_t *len)
{
    writer_t w;
    if (!g || !len || (!buf && cap > 0))
        return STK_EINVAL;
    w_init(&w);
    w.to_buffer = 1;
    w.out = buf;
    w.cap = cap;
    w_state(&w, g);
    w_flush(&w);
    *len = w.len;
    return w.len <= cap ? 0 : STK_ETOOBIG;
}

typedef struct reader {
    const uint8_t *p;
    size_t n, off;
    int bad;
} reader_t;

static int64_t r_i64(reader_t *r)
{
    uint64_t v = 0;
    if (r->n - r->off < 8) {
        r->bad = 1;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += 8;
    return (int64_t)v;
}

static void r_id(reader_t *r, uint8_t id[STK_GAME_ID_LEN])
{
    if (r->n - r->off < STK_GAME_ID_LEN) {
        r->bad = 1;
        memset(id, 0, STK_GAME_ID_LEN);
        return;
    }
    memcpy(id, r->p + r->off, STK_GAME_ID_LEN);
    r->off += STK_GAME_ID_LEN;
}

/* Read one field into `dst` (any integer lvalue), marking the reader bad when the value
 * does not fit the field or lies outside [lo, hi]. */
#define READ_FIELD(r, dst, lo, hi)                                                                 \
    do {                                                                                           \
        int64_t v_ = r_i64(r);                                                                     \
        (dst) = v_;                                                                                \
        if ((int64_t)(dst) != v_ || v_ < (int64_t)(lo) || v_ > (int64_t)(hi))                      \
            (r)->bad = 1;                                                                          \
    } while (0)

#define U32_MAX_  INT64_C(0xffffffff)
#define GOLD_MAX_ (INT64_C(1) << 53)

/* Parse a snapshot into *t (a scratch game whose pools are g's, when commit) or only
 * validate it. Returns 0 or STK_ECORRUPT / STK_EINVAL. */
/* Cross-field checks of the validating pass (parse_state with commit == 0): the invariants
 * of game_internal.h that ranges alone cannot express. A snapshot that passes them restores
 * to a game that can step, clear its waves and snapshot again. */
typedef struct restore_check {
    uint8_t *tower_at;                 /* width * height, zeroed: towers seen so far */
    uint32_t alive[STK_MAP_MAX_WAVES]; /* live enemies per wave */
} restore_check_t;

/* Enemies of the current wave not spawned yet (0 unless spawning). */
static uint64_t unspawned(const stk_game_t *g, const stk_game_t *t)
{
    if (!t->spawning)
        return 0;
    const stk_map_wave_t *w = &g->map.waves[t->waves_started - 1];
    uint64_t n = w->groups[t->spawn_group].count - t->spawn_in_group;
    for (uint32_t k = t->spawn_group + 1; k < w->n_groups; k++)
        n += w->groups[k].count;
    return n;
}

static int parse_state(const stk_game_t *g, reader_t *r, stk_game_t *t, int commit,
                       restore_check_t *chk)
{
    const stk_balance_t *b = &g->balance;
    if ((uint64_t)r_i64(r) != UINT64_C(0x31454d414b4b5453) || r->bad)
        return STK_ECORRUPT;
    if ((uint64_t)r_i64(r) != g->setup_digest)
        return r->bad ? STK_ECORRUPT : STK_EINVAL;
    READ_FIELD(r, t->state, STK_GAME_LOBBY, STK_GAME_ABANDONED);
    READ_FIELD(r, t->result, STK_RESULT_NONE, STK_RESULT_ABANDONED);
    READ_FIELD(r, t->tick, 0, INT64_MAX);
    READ_FIELD(r, t->lives, 0, b->start_lives);
    READ_FIELD(r, t->leaks, 0, U32_MAX_);
    READ_FIELD(r, t->waves_started, 0, g->map.n_waves);
    READ_FIELD(r, t->waves_cleared, 0, t->waves_started);
    READ_FIELD(r, t->spawning, 0, t->waves_started > 0);
    if (r->bad)
        return STK_ECORRUPT;
    const stk_map_wave_t *cw = t->spawning ? &g->map.waves[t->waves_started - 1] : NULL;
    READ_FIELD(r, t->spawn_group, 0, cw ? cw->n_groups - 1 : 0);
    READ_FIELD(r, t->spawn_in_group, 0, cw && !r->bad ? cw->groups[t->spawn_group].count - 1 : 0);
    READ_FIELD(r, t->spawn_timer, 0, U32_MAX_);
    READ_FIELD(r, t->countdown, 0, U32_MAX_);
    READ_FIELD(r, t->next_tower_id, 1, U32_MAX_);
    READ_FIELD(r, t->next_enemy_id, 1, U32_MAX_);
    if (r->bad)
        return STK_ECORRUPT;
    for (int i = 0; i < 4; i++)
        t->rng.s[i] = (uint64_t)r_i64(r);
    for (uint32_t i = 0; i < g->map.n_waves; i++)
        READ_FIELD(r, t->wave_left[i], 0, i < t->waves_started ? g->wave_size[i] : 0);
    READ_FIELD(r, t->n_players, 0, STK_GAME_MAX_PLAYERS);
    if (r->bad)
        return STK_ECORRUPT;
    for (uint32_t i = 0; i < t->n_players; i++) {
        stk_game_player_t *p = &t->players[i];
        r_id(r, p->id);
        r_id(r, p->tribe);
        READ_FIELD(r, p->damage_bp, 0, 5000);
        READ_FIELD(r, p->attack_speed_bp, 0, 5000);
        READ_FIELD(r, p->range_bp, 0, 5000);
        READ_FIELD(r, p->color, 0, 0xffffff);
        READ_FIELD(r, p->ready, 0, 1);
        READ_FIELD(r, p->connected, 0, 1);
        READ_FIELD(r, p->left, 0, 1);
        READ_FIELD(r, p->gold, 0, GOLD_MAX_);
        READ_FIELD(r, p->kills, 0, U32_MAX_);
        if (p->damage_bp + p->attack_speed_bp + p->range_bp != 5000)
            r->bad = 1;
    }
    READ_FIELD(r, t->n_towers, 0, g->tower_cap);
    if (r->bad)
        return STK_ECORRUPT;
    uint32_t last_id = 0;
    for (uint32_t i = 0; i < t->n_towers; i++) {
        stk_game_tower_t tw, *dst = commit ? &t->towers[i] : &tw;
        READ_FIELD(r, dst->id, last_id + 1, t->next_tower_id - 1);
        READ_FIELD(r, dst->owner, 0, t->n_players ? t->n_players - 1 : 0);
        READ_FIELD(r, dst->kind, 0, STK_TOWER_KINDS - 1);
        READ_FIELD(r, dst->level, 1, STK_TOWER_LEVELS);
        READ_FIELD(r, dst->x, 0, g->map.width - 1);
        READ_FIELD(r, dst->y, 0, g->map.height - 1);
        READ_FIELD(r, dst->spent, 0, U32_MAX_);
        READ_FIELD(r, dst->cooldown, 0, U32_MAX_);
        READ_FIELD(r, dst->kills, 0, U32_MAX_);
        if (r->bad || t->n_players == 0 || !stk_map_buildable(&g->map, dst->x, dst->y))
            return STK_ECORRUPT;
        if (chk) {
            uint8_t *at = &chk->tower_at[dst->y * g->map.width + dst->x];
            bool on_end = (dst->x == g->map.spawn.x && dst->y == g->map.spawn.y) ||
                          (dst->x == g->map.goal.x && dst->y == g->map.goal.y);
            if (*at || on_end)
                return STK_ECORRUPT; /* two towers on a tile, or one on spawn/goal */
            *at = 1;
        }
        last_id = dst->id;
    }
    if (chk) {
        /* The walker field for these towers (g->walk is scratch here; the caller recomputes
         * it): the spawn must still reach the goal. */
        (void)stk_path_compute(g->walk, &g->map, chk->tower_at);
        if (!stk_path_reachable(g->walk, g->map.spawn.x, g->map.spawn.y))
            return STK_ECORRUPT;
    }
    READ_FIELD(r, t->n_enemies, 0, g->enemy_cap);
    if (r->bad)
        return STK_ECORRUPT;
    last_id = 0;
    for (uint32_t i = 0; i < t->n_enemies; i++) {
        stk_game_enemy_t en, *dst = commit ? &t->enemies[i] : &en;
        memset(dst, 0, sizeof(*dst));
        READ_FIELD(r, dst->id, last_id + 1, t->next_enemy_id - 1);
        READ_FIELD(r, dst->kind, 0, STK_ENEMY_KINDS - 1);
        READ_FIELD(r, dst->wave, 0, t->waves_started ? t->waves_started - 1 : 0);
        READ_FIELD(r, dst->health, 1,
                   r->bad ? 1 : stk_balance_enemy_health(b, (int)dst->kind, dst->wave));
        READ_FIELD(r, dst->x, 0, g->map.width - 1);
        READ_FIELD(r, dst->y, 0, g->map.height - 1);
        READ_FIELD(r, dst->nx, 0, g->map.width - 1);
        READ_FIELD(r, dst->ny, 0, g->map.height - 1);
        READ_FIELD(r, dst->progress, 0, STK_FP_ONE - 1);
        READ_FIELD(r, dst->slow_bp, 0, 9000);
        READ_FIELD(r, dst->slow_ticks, 0, U32_MAX_);
        if (r->bad || t->waves_started == 0)
            return STK_ECORRUPT;
        uint32_t dx = dst->x > dst->nx ? dst->x - dst->nx : dst->nx - dst->x;
        uint32_t dy = dst->y > dst->ny ? dst->y - dst->ny : dst->ny - dst->y;
        if (dx + dy > 1)
            return STK_ECORRUPT;
        if (chk) {
            bool ok;
            if (dst->kind == STK_ENEMY_FLYER)
                ok = stk_map_flyable(&g->map, dst->x, dst->y) &&
                     stk_map_flyable(&g->map, dst->nx, dst->ny);
            else
                ok = stk_map_walkable(&g->map, dst->x, dst->y) &&
                     !chk->tower_at[dst->y * g->map.width + dst->x] &&
                     stk_path_reachable(g->walk, dst->x, dst->y);
            if (!ok)
                return STK_ECORRUPT;
            chk->alive[dst->wave]++;
        }
        last_id = dst->id;
    }
    if (r->bad || r->off != r->n)
        return STK_ECORRUPT;
    if (chk) {
        /* wave_left[k] = live enemies of wave k + the unspawned rest of the current wave;
         * cleared waves are empty. */
        for (uint32_t k = 0; k < t->waves_started; k++) {
            uint64_t want = chk->alive[k] + (k == t->waves_started - 1 ? unspawned(g, t) : 0);
            if (t->wave_left[k] != want || (k < t->waves_cleared && want != 0))
                return STK_ECORRUPT;
        }
    }
    return 0;
}

int stk_game_restore(stk_game_t *g, const uint8_t *buf, size_t len)
{
    /* A first pass validates everything into a scratch copy (pools untouched); only then
     * does a second pass write into g, so a failure changes nothing. */
    stk_game_t *t;
    int rc;
    if (!g || (!buf && len > 0))
        return STK_EINVAL;
    reader_t r = {buf, len, 0, 0};
    t = malloc(sizeof(*t));
    if (!t)
        return STK_ENOMEM;
    memcpy(t, g, sizeof(*t));
    restore_check_t chk = {.tower_at = calloc((size_t)g->map.width * g->map.height, 1)};
    if (!chk.tower_at) {
        free(t);
        return STK_ENOMEM;
    }
    rc = parse_state(g, &r, t, 0, &chk);
    free(chk.tower_at);
    if (rc != 0) {
        (void)stk_path_compute(g->walk, &g->map, g->tower_at); /* undo the scratch use */
        goto out;
    }
    r = (reader_t){buf, len, 0, 0};
    rc = parse_state(g, &r, g, 1, NULL); /* validated: cannot fail now */
    memset(g->tower_at, 0, (size_t)g->map.width * g->map.height);
    for (uint32_t i = 0; i < g->n_towers; i++)
        g->tower_at[g->towers[i].y * g->map.width + g->towers[i].x] = 1;
    (void)stk_path_compute(g->walk, &g->map, g->tower_at);
out:
    free(t);
    return rc;
}

/* ---- diff ----------------------------------------------------------------------------- */

typedef struct differ {
    stk_game_diff_cb cb;
    void *ctx;
    size_t max, n;
} differ_t;

static void report(differ_t *d, const char *field, int64_t a, int64_t b)
{
    if (a == b || d->n >= d->max)
        return;
    d->n++;
    if (d->cb)
        d->cb(d->ctx, field, a, b);
}

static void report_at(differ_t *d, const char *list, size_t i, const char *field, int64_t a,
                      int64_t b)
{
    char name[64];
    if (a == b || d->n >= d->max)
        return;
    snprintf(name, sizeof(name), "%s[%zu].%s", list, i, field);
    report(d, name, a, b);
}

static int64_t id_word(const uint8_t id[STK_GAME_ID_LEN], int half)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)id[half * 8 + i] << (8 * i);
    return (int64_t)v;
}

size_t stk_game_diff(const stk_game_t *a, const stk_game_t *b, stk_game_diff_cb cb, void *ctx,
                     size_t max)
{
    differ_t d = {cb, ctx, max, 0};
    if (!a || !b)
        return 0;
    report(&d, "setup", (int64_t)a->setup_digest, (int64_t)b->setup_digest);
#define D_GAME(f) report(&d, #f, AS_I64(a->f), AS_I64(b->f));
    GAME_FIELDS(D_GAME)
#undef D_GAME
    for (int i = 0; i < 4; i++)
        report_at(&d, "rng", (size_t)i, "s", (int64_t)a->rng.s[i], (int64_t)b->rng.s[i]);
    uint32_t nw = a->map.n_waves < b->map.n_waves ? a->map.n_waves : b->map.n_waves;
    for (uint32_t i = 0; i < nw; i++)
        report_at(&d, "wave_left", i, "n", a->wave_left[i], b->wave_left[i]);

    report(&d, "players.count", a->n_players, b->n_players);
    for (uint32_t i = 0; i < a->n_players && a->n_players == b->n_players; i++) {
        const stk_game_player_t *pa = &a->players[i], *pb = &b->players[i];
        for (int h = 0; h < 2; h++) {
            report_at(&d, "players", i, "id", id_word(pa->id, h), id_word(pb->id, h));
            report_at(&d, "players", i, "tribe", id_word(pa->tribe, h), id_word(pb->tribe, h));
        }
#define D_PLAYER(f) report_at(&d, "players", i, #f, AS_I64(pa->f), AS_I64(pb->f));
        PLAYER_FIELDS(D_PLAYER)
#undef D_PLAYER
    }
    report(&d, "towers.count", a->n_towers, b->n_towers);
    for (uint32_t i = 0; i < a->n_towers && a->n_towers == b->n_towers; i++) {
        const stk_game_tower_t *ta = &a->towers[i], *tb = &b->towers[i];
#define D_TOWER(f) report_at(&d, "towers", i, #f, AS_I64(ta->f), AS_I64(tb->f));
        TOWER_FIELDS(D_TOWER)
#undef D_TOWER
    }
    report(&d, "enemies.count", a->n_enemies, b->n_enemies);
    for (uint32_t i = 0; i < a->n_enemies && a->n_enemies == b->n_enemies; i++) {
        const stk_game_enemy_t *ea = &a->enemies[i], *eb = &b->enemies[i];
#define D_ENEMY(f) report_at(&d, "enemies", i, #f, AS_I64(ea->f), AS_I64(eb->f));
        ENEMY_FIELDS(D_ENEMY)
#undef D_ENEMY
    }
    return d.n;
}
