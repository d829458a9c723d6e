/* tests/events/test_replay.c — replay (events/replay.h): games played live through the
 * session host into a temporary log replay with every hash matching; tampered outcomes,
 * dropped outcomes and impossible inputs are found at the right event; seeking, stored
 * keyframes, JSON-lines input; a 1,000-seed property test; golden replays with pinned
 * hashes (tests/fixtures/replays). */
#include <criterion/criterion.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "events/game.h"
#include "events/json.h"
#include "events/log.h"
#include "events/payload.h"
#include "events/replay.h"
#include "events/session.h"
#include "events/types.h"
#include "events/writer.h"

/* ---- temp log + writer ------------------------------------------------------------- */

typedef struct env {
    char dir[64];
    stk_log_t *log;
    stk_writer_t *w;
} env_t;

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char sub[512];
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                rm_tree(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static void env_open(env_t *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/stk_replay_XXXXXX");
    cr_assert_not_null(mkdtemp(e->dir));
    stk_log_opts_t o = {.map_size = 256ull << 20, .nosync = 1};
    int rc = stk_log_open(&e->log, e->dir, &o);
    cr_assert_eq(rc, 0, "stk_log_open: %s", stk_strerror(rc));
    rc = stk_writer_start(&e->w, e->log, NULL);
    cr_assert_eq(rc, 0, "stk_writer_start: %s", stk_strerror(rc));
}

static void env_close(env_t *e)
{
    if (e->w != NULL) {
        stk_writer_stop(e->w);
        stk_writer_free(e->w);
    }
    stk_log_close(e->log);
    rm_tree(e->dir);
}

/* ---- a small map and a quick balance ------------------------------------------------ */

/* 20x20 grass, spawn (0,10), goal (19,10), `waves` waves of grunts/runners/flyers. */
static void make_map_payload(msgpack_sbuffer *sb, uint32_t waves, uint32_t variant)
{
    stk_map_t *m = malloc(sizeof(*m));
    cr_assert_not_null(m);
    cr_assert_eq(stk_map_init(m, 20, 20), 0);
    m->spawn = (stk_point_t){0, 10};
    m->goal = (stk_point_t){19, 10};
    if (variant % 3 == 1) { /* a pond, so walkers and flyers differ */
        for (uint32_t y = 4; y < 8; y++)
            stk_map_tile_mut(m, 9, y)->terrain = STK_TERRAIN_WATER;
    }
    m->n_waves = waves;
    for (uint32_t i = 0; i < waves; i++) {
        m->waves[i].number = i + 1;
        m->waves[i].n_groups = 2;
        m->waves[i].groups[0] = (stk_map_enemies_t){(i + variant) % 3, 3 + i, 300};
        m->waves[i].groups[1] = (stk_map_enemies_t){STK_ENEMY_FLYER, 1 + (variant % 2), 500};
    }
    stk_game_map_meta_t meta = {.name = "test", .name_len = 4};
    memset(meta.user_id.b, 1, STK_UUID_LEN);
    msgpack_sbuffer_init(sb);
    int rc = stk_game_map_encode(STK_EV_MAP_DRAWN, m, &meta, sb);
    cr_assert_eq(rc, 0, "stk_game_map_encode: %s", stk_strerror(rc));
    free(m);
}

/* Quick waves, and enemies the scripted defence can clear (these tests are about replay,
 * not about the shipped balance): the first tuned tables' enemies, growing 10% a wave. */
static void quick_balance(stk_balance_t *b)
{
    static const stk_enemy_spec_t enemy[STK_ENEMY_KINDS] = {
        [STK_ENEMY_GRUNT] = {"grunt", 60, 1000, 0, 5, 1, 0},
        [STK_ENEMY_RUNNER] = {"runner", 35, 2000, 0, 6, 1, 0},
        [STK_ENEMY_BRUTE] = {"brute", 220, 600, 4, 15, 3, 0},
        [STK_ENEMY_FLYER] = {"flyer", 50, 1300, 0, 8, 2, 1},
    };
    stk_balance_default(b);
    memcpy(b->enemy, enemy, sizeof(enemy));
    b->wave_health_bp = 1000;
    b->first_wave_ms = 1000;
    b->wave_countdown_ms = 2000;
}

/* ---- live games through the session host --------------------------------------------- */

typedef struct live {
    stk_uuid_t id;
    uint64_t hash, tick;
    uint64_t accepted, refused;
    stk_game_state_t state;
} live_t;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static stk_game_input_t input_of(int kind, uint8_t player)
{
    stk_game_input_t in;
    memset(&in, 0, sizeof(in));
    in.kind = kind;
    memset(in.player, player, sizeof(in.player));
    return in;
}

static void submit(stk_session_t *s, const stk_game_input_t *in, live_t *out)
{
    stk_reject_t why;
    int rc;
    while ((rc = stk_session_submit(s, in, &why, NULL, NULL)) == STK_EBUSY)
        stk_session_wait(s);
    cr_assert(rc == 0 || rc == STK_EPERM, "submit: %s", stk_strerror(rc));
    if (rc == 0)
        out->accepted++;
    else
        out->refused++;
}

static void step(stk_session_t *s)
{
    int rc;
    while ((rc = stk_session_step(s, NULL)) == STK_EBUSY)
        stk_session_wait(s);
    cr_assert_eq(rc, 0, "step: %s", stk_strerror(rc));
}

static stk_session_t *open_session(env_t *e, uint64_t seed, uint32_t waves, uint32_t mark_every,
                                   live_t *out)
{
    msgpack_sbuffer map;
    make_map_payload(&map, waves, (uint32_t)seed);
    stk_balance_t b;
    quick_balance(&b);
    stk_session_open_args_t a;
    memset(&a, 0, sizeof(a));
    stk_uuid_random(&a.id);
    memset(a.opener.b, 1, STK_UUID_LEN);
    memset(a.map_id.b, 0x4d, STK_UUID_LEN);
    a.seed = seed;
    a.tick_rate = 20;
    a.balance = &b;
    a.map_payload = (const uint8_t *)map.data;
    a.map_len = map.size;
    stk_session_opts_t so = {.mark_every = mark_every};
    stk_session_t *s = NULL;
    int rc = stk_session_open(&s, e->w, &a, &so);
    msgpack_sbuffer_destroy(&map);
    cr_assert_eq(rc, 0, "stk_session_open: %s", stk_strerror(rc));
    memset(out, 0, sizeof(*out));
    out->id = a.id;
    return s;
}

static void finish_live(stk_session_t *s, live_t *out)
{
    stk_session_wait(s);
    const stk_game_t *g = stk_session_game(s);
    stk_game_state_t st = stk_game_state(g);
    if (st != STK_GAME_COMPLETED && st != STK_GAME_ABANDONED) {
        stk_game_input_t ab = input_of(STK_INPUT_ABANDON, 0); /* the server ends it */
        submit(s, &ab, out);
        stk_session_wait(s);
    }
    cr_assert_eq(stk_session_error(s), 0);
    g = stk_session_game(s);
    out->hash = stk_game_hash(g);
    out->tick = stk_game_tick(g);
    out->state = stk_game_state(g);
    stk_session_close(s);
}

/* A scripted game: two players, towers along the path, played to its end. */
static void play_scripted(env_t *e, uint64_t seed, live_t *out)
{
    stk_session_t *s = open_session(e, seed, 3, 40, out);
    stk_game_input_t in = input_of(STK_INPUT_JOIN, 1);
    memset(in.tribe, 0x71, STK_UUID_LEN);
    in.damage_bp = 5000;
    in.color = 0x112233;
    submit(s, &in, out);
    in = input_of(STK_INPUT_JOIN, 2);
    memset(in.tribe, 0x72, STK_UUID_LEN);
    in.range_bp = 2500;
    in.attack_speed_bp = 2500;
    in.color = 0x445566;
    submit(s, &in, out);
    for (uint8_t p = 1; p <= 2; p++) {
        in = input_of(STK_INPUT_READY, p);
        in.ready = true;
        submit(s, &in, out);
    }
    in = input_of(STK_INPUT_START, 1);
    submit(s, &in, out);
    stk_session_wait(s);
    static const uint32_t spots[][3] = {{4, 9, 0}, {6, 11, 1}, {9, 9, 2}, {12, 11, 3}, {15, 9, 0}};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        in = input_of(STK_INPUT_PLACE, (uint8_t)(1 + i % 2));
        in.x = spots[i][0];
        in.y = spots[i][1];
        in.tower = (int32_t)spots[i][2];
        submit(s, &in, out);
        stk_session_wait(s);
        step(s);
    }
    for (uint32_t t = 0; t < 6000; t++) {
        stk_game_state_t st = stk_game_state(stk_session_game(s));
        if (st == STK_GAME_COMPLETED || st == STK_GAME_ABANDONED)
            break;
        if (t == 100) {
            in = input_of(STK_INPUT_UPGRADE, 1);
            in.tower_id = 1;
            submit(s, &in, out);
            stk_session_wait(s);
        }
        if (t == 150) { /* pause and resume by the host: a TickMark at the pause */
            in = input_of(STK_INPUT_PAUSE, 1);
            submit(s, &in, out);
            in = input_of(STK_INPUT_RESUME, 1);
            submit(s, &in, out);
            stk_session_wait(s);
        }
        if (t == 200) {
            in = input_of(STK_INPUT_SELL, 2);
            in.tower_id = 2;
            submit(s, &in, out);
            stk_session_wait(s);
        }
        step(s);
    }
    finish_live(s, out);
}

/* The random command stream of one seed. Lobby: joins (some with bad bonuses, one player
 * too many when four joined), readies (some missing), start attempts by random players. */
static size_t random_lobby(uint64_t *rs, stk_game_input_t *out)
{
    size_t n = 0;
    uint32_t players = 1 + (uint32_t)(rng_next(rs) % 4);
    for (uint8_t p = 1; p <= players + 1; p++) {
        stk_game_input_t in = input_of(STK_INPUT_JOIN, p);
        memset(in.tribe, 0x70 + p, STK_UUID_LEN);
        uint32_t d = (uint32_t)(rng_next(rs) % 5001);
        in.damage_bp = d;
        in.attack_speed_bp = 5000 - d;
        in.range_bp = rng_next(rs) % 8 == 0 ? 100 : 0; /* sometimes a bad sum */
        in.color = (uint32_t)(rng_next(rs) & 0xFFFFFF);
        out[n++] = in;
        in.ready = true;
        in.kind = STK_INPUT_READY;
        if (rng_next(rs) % 10 != 0)
            out[n++] = in;
    }
    for (int k = 0; k < 3; k++) /* the host, or someone else (refused) */
        out[n++] = input_of(STK_INPUT_START, (uint8_t)(1 + rng_next(rs) % 3));
    return n; /* at most 5 * 2 + 3 */
}

/* One tick's commands: usually none, else 1..3 of any kind from any actor (0..5; 0 is the
 * server), with random fields. */
static size_t random_tick(uint64_t *rs, stk_game_input_t *out)
{
    size_t n = rng_next(rs) % 4 == 0 ? 1 + (size_t)(rng_next(rs) % 3) : 0;
    for (size_t i = 0; i < n; i++) {
        int kind = (int)(rng_next(rs) % (STK_INPUT_KINDS + 6));
        if (kind >= STK_INPUT_KINDS) /* weigh placements up */
            kind = kind % 2 ? STK_INPUT_PLACE : STK_INPUT_UPGRADE;
        if (kind == STK_INPUT_ABANDON && rng_next(rs) % 64 != 0)
            kind = STK_INPUT_CALL_WAVE;
        stk_game_input_t in = input_of(kind, (uint8_t)(rng_next(rs) % 6));
        in.ready = rng_next(rs) % 2;
        in.x = (uint32_t)(rng_next(rs) % 22);
        in.y = (uint32_t)(rng_next(rs) % 22);
        in.tower = (int32_t)(rng_next(rs) % (STK_TOWER_KINDS + 1)) - 1;
        in.tower_id = (uint32_t)(rng_next(rs) % 12);
        memset(in.tribe, 0x77, STK_UUID_LEN);
        in.range_bp = 5000;
        out[i] = in;
    }
    return n;
}

static bool game_over(const stk_game_t *g)
{
    stk_game_state_t st = stk_game_state(g);
    return st == STK_GAME_COMPLETED || st == STK_GAME_ABANDONED;
}

/* Random commands through the session host, up to max_ticks ticks. */
static void play_random(env_t *e, uint64_t seed, uint32_t max_ticks, live_t *out)
{
    uint64_t rs = seed * 0x9E3779B97F4A7C15ull + 1;
    stk_session_t *s = open_session(e, seed, 1 + (uint32_t)(rng_next(&rs) % 3), 25, out);
    stk_game_input_t ins[16];
    size_t n = random_lobby(&rs, ins);
    for (size_t i = 0; i < n; i++)
        submit(s, &ins[i], out);
    stk_session_wait(s);
    for (uint32_t t = 0; t < max_ticks && !game_over(stk_session_game(s)); t++) {
        n = random_tick(&rs, ins);
        for (size_t i = 0; i < n; i++)
            submit(s, &ins[i], out);
        if (n > 0)
            stk_session_wait(s);
        step(s);
    }
    finish_live(s, out);
}

/* ---- the same game recorded directly: stk_game + one batch append per game ------------
 * For the 1,000-seed property: no writer thread round trip per tick. The events are those
 * the session host writes (events/session.h "Batches"): accepted inputs at the game's
 * tick, a TickMark after a pause, GameEnded after an abandon, and after each step its
 * WaveEnded / GameEnded / TickMark (every mark_every ticks). */

typedef struct recorder {
    stk_uuid_t stream;
    stk_append_t *items;
    uint8_t **bufs;
    size_t n, cap;
} recorder_t;

static void rec_add(recorder_t *r, uint16_t type, uint64_t tick, const uint8_t *actor,
                    const msgpack_sbuffer *sb)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->items = realloc(r->items, r->cap * sizeof(*r->items));
        r->bufs = realloc(r->bufs, r->cap * sizeof(*r->bufs));
        cr_assert(r->items != NULL && r->bufs != NULL);
    }
    uint8_t *p = malloc(sb->size);
    cr_assert_not_null(p);
    memcpy(p, sb->data, sb->size);
    stk_append_t *a = &r->items[r->n];
    memset(a, 0, sizeof(*a));
    a->stream = r->stream;
    a->type = type;
    a->schema = stk_event_type_by_id(type)->schema;
    a->tick = tick;
    if (actor != NULL)
        memcpy(a->actor.b, actor, STK_UUID_LEN);
    a->payload = p;
    a->payload_len = sb->size;
    a->expected_version = STK_VERSION_ANY;
    r->bufs[r->n++] = p;
}

static void rec_outcome(recorder_t *r, uint16_t type, const stk_game_outcome_t *o)
{
    stk_game_record_t rec;
    cr_assert_eq(stk_game_record_from_outcome(type, o, &rec), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_record_encode(&rec, &sb), 0);
    rec_add(r, type, o->tick, NULL, &sb);
    msgpack_sbuffer_destroy(&sb);
}

static void rec_flush(recorder_t *r, stk_log_t *log)
{
    for (size_t off = 0; off < r->n; off += STK_LOG_BATCH_MAX) {
        size_t k = r->n - off < STK_LOG_BATCH_MAX ? r->n - off : STK_LOG_BATCH_MAX;
        stk_append_result_t *res = malloc(k * sizeof(*res));
        cr_assert_not_null(res);
        int rc = stk_log_append(log, r->items + off, k, res);
        cr_assert_eq(rc, 0, "append: %s", stk_strerror(rc));
        free(res);
    }
    for (size_t i = 0; i < r->n; i++)
        free(r->bufs[i]);
    free(r->bufs);
    free(r->items);
}

static void direct_input(stk_game_t *g, recorder_t *r, const stk_game_input_t *in, live_t *out)
{
    stk_reject_t why;
    if (stk_game_apply(g, in, &why) != 0) {
        out->refused++;
        return;
    }
    out->accepted++;
    uint16_t type;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = stk_game_input_encode(in, stk_game_balance(g), &type, &sb);
    cr_assert_eq(rc, 0, "encode: %s", stk_strerror(rc));
    rec_add(r, type, stk_game_tick(g), in->player, &sb);
    msgpack_sbuffer_destroy(&sb);
    stk_game_outcome_t o;
    if (in->kind == STK_INPUT_PAUSE) {
        stk_game_outcome(g, &o);
        rec_outcome(r, STK_EV_TICK_MARK, &o);
    } else if (in->kind == STK_INPUT_ABANDON) {
        stk_game_outcome(g, &o);
        rec_outcome(r, STK_EV_GAME_ENDED, &o);
    }
}

static void direct_step(stk_game_t *g, recorder_t *r, uint32_t mark_every)
{
    uint64_t before = stk_game_tick(g);
    stk_game_outcome_t o;
    stk_game_step(g, &o);
    if (stk_game_tick(g) == before)
        return;
    if (o.wave_ended)
        rec_outcome(r, STK_EV_WAVE_ENDED, &o);
    if (o.game_ended)
        rec_outcome(r, STK_EV_GAME_ENDED, &o);
    if (!o.game_ended && o.tick % mark_every == 0) {
        if (!o.wave_ended)
            o.hash = stk_game_hash(g);
        rec_outcome(r, STK_EV_TICK_MARK, &o);
    }
}

/* The random game of `seed`, applied directly to a game and recorded into log. */
static void play_direct(stk_log_t *log, uint64_t seed, uint32_t max_ticks, live_t *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t rs = seed * 0x9E3779B97F4A7C15ull + 1;
    msgpack_sbuffer map, sb;
    make_map_payload(&map, 1 + (uint32_t)(rng_next(&rs) % 3), (uint32_t)seed);
    stk_game_setup_t setup;
    memset(&setup, 0, sizeof(setup));
    setup.seed = seed;
    setup.tick_rate = 20;
    setup.ruleset = STK_RULESET_VERSION;
    quick_balance(&setup.balance);
    stk_uuid_t map_id;
    memset(map_id.b, 0x4d, STK_UUID_LEN);
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_opened_encode(&map_id, &setup, (const uint8_t *)map.data, map.size, &sb),
                 0);
    recorder_t r = {0};
    stk_uuid_random(&r.stream);
    out->id = r.stream;
    uint8_t opener[STK_UUID_LEN];
    memset(opener, 1, sizeof(opener));
    rec_add(&r, STK_EV_SESSION_OPENED, 0, opener, &sb);
    /* the game, created from the event exactly as replay will */
    stk_envelope_t e = {.stream = r.stream,
                        .version = 1,
                        .type = STK_EV_SESSION_OPENED,
                        .schema = r.items[0].schema,
                        .payload = r.items[0].payload,
                        .payload_len = r.items[0].payload_len};
    stk_map_t *m = malloc(sizeof(*m));
    cr_assert_not_null(m);
    stk_game_opened_t op;
    cr_assert_eq(stk_game_opened_decode(&e, m, &op, NULL), 0);
    stk_game_t *g = NULL;
    cr_assert_eq(stk_game_create(&op.setup, &g), 0);
    free(m);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&map);

    stk_game_input_t ins[16];
    size_t n = random_lobby(&rs, ins);
    for (size_t i = 0; i < n; i++)
        direct_input(g, &r, &ins[i], out);
    for (uint32_t t = 0; t < max_ticks && !game_over(g); t++) {
        n = random_tick(&rs, ins);
        for (size_t i = 0; i < n; i++)
            direct_input(g, &r, &ins[i], out);
        direct_step(g, &r, 25);
    }
    if (!game_over(g)) {
        stk_game_input_t ab = input_of(STK_INPUT_ABANDON, 0);
        direct_input(g, &r, &ab, out);
    }
    out->hash = stk_game_hash(g);
    out->tick = stk_game_tick(g);
    out->state = stk_game_state(g);
    stk_game_destroy(g);
    rec_flush(&r, log);
}

/* ---- event lists (for tampering) ----------------------------------------------------- */

typedef struct evlist {
    stk_envelope_t *e;
    size_t n, cap;
} evlist_t;

static int collect_cb(void *ud, const stk_envelope_t *e)
{
    evlist_t *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->e = realloc(l->e, l->cap * sizeof(*l->e));
        cr_assert_not_null(l->e);
    }
    stk_envelope_t c = *e;
    uint8_t *p = malloc(e->payload_len + 1);
    cr_assert_not_null(p);
    memcpy(p, e->payload, e->payload_len);
    c.payload = p;
    l->e[l->n++] = c;
    return 0;
}

static void collect(env_t *env, const stk_uuid_t *id, evlist_t *l)
{
    memset(l, 0, sizeof(*l));
    cr_assert_eq(stk_log_read_stream(env->log, id, 1, 0, collect_cb, l), 0);
    cr_assert_gt(l->n, 0);
}

static void evlist_free(evlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((void *)l->e[i].payload);
    free(l->e);
}

static void set_payload(stk_envelope_t *e, const msgpack_sbuffer *sb)
{
    free((void *)e->payload);
    uint8_t *p = malloc(sb->size);
    cr_assert_not_null(p);
    memcpy(p, sb->data, sb->size);
    e->payload = p;
    e->payload_len = sb->size;
}

/* Index of the k-th (0-based) event of `type`, or SIZE_MAX. */
static size_t find_event(const evlist_t *l, uint16_t type, size_t k)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->e[i].type == type && k-- == 0)
            return i;
    }
    return SIZE_MAX;
}

static int feed_all(stk_replay_t *r, const evlist_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        int rc = stk_replay_feed(r, &l->e[i]);
        if (rc != 0 && rc != STK_EHASH)
            return rc;
    }
    return stk_replay_finish(r);
}

/* ---- tests ----------------------------------------------------------------------------- */

struct timeline {
    size_t inputs, placed, upgraded, sold, waves_started, waves_ended, leaks, kills, ended, checks;
};

static void timeline_cb(void *ud, const stk_replay_note_t *n)
{
    struct timeline *t = ud;
    switch (n->kind) {
    case STK_NOTE_INPUT:
        t->inputs++;
        t->placed += n->input == STK_INPUT_PLACE;
        t->upgraded += n->input == STK_INPUT_UPGRADE;
        t->sold += n->input == STK_INPUT_SELL;
        break;
    case STK_NOTE_WAVE_STARTED:
        t->waves_started++;
        break;
    case STK_NOTE_WAVE_ENDED:
        t->waves_ended++;
        break;
    case STK_NOTE_LEAK:
        t->leaks += n->count;
        break;
    case STK_NOTE_KILLS:
        t->kills += n->count;
        break;
    case STK_NOTE_GAME_ENDED:
        t->ended++;
        break;
    case STK_NOTE_CHECK:
        t->checks += n->ok;
        break;
    }
}

Test(replay, scripted_game_replays_with_every_hash_matching)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 42, &live);

    struct timeline tl = {0};
    stk_replay_opts_t o = {
        .until_tick = STK_REPLAY_UNTIL_END, .note_cb = timeline_cb, .note_ud = &tl};
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    int rc = stk_replay_run_log(r, env.log, &live.id);
    cr_assert_eq(rc, 0, "replay: %s", stk_strerror(rc));
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    cr_expect(s.all_ok);
    cr_expect_eq(s.hash, live.hash);
    cr_expect_eq(s.tick, live.tick);
    cr_expect_gt(s.outcomes, 0);
    cr_expect_eq(s.outcomes, s.outcomes_ok);
    cr_expect_gt(s.tick_marks, 0);
    cr_expect_eq(s.tick_marks, s.tick_marks_ok);
    cr_expect_eq(s.inputs, live.accepted);
    cr_expect_null(stk_replay_divergence(r));
    /* the timeline saw the game */
    cr_expect_eq(tl.placed, 5);
    cr_expect_eq(tl.upgraded, 1);
    cr_expect_eq(tl.sold, 1);
    cr_expect_eq(tl.waves_started, 3);
    cr_expect_eq(tl.waves_ended, 3);
    cr_expect_gt(tl.kills + tl.leaks, 0);
    cr_expect_eq(tl.ended, 1);
    cr_expect_eq(tl.checks, s.outcomes_ok + s.tick_marks_ok);
    cr_log_info("scripted: %" PRIu64 " events, %" PRIu64 " inputs, tick %" PRIu64 ", %" PRIu64
                " outcomes, %" PRIu64 " tick marks, kills %zu, leaks %zu",
                s.events, s.inputs, s.tick, s.outcomes, s.tick_marks, tl.kills, tl.leaks);
    stk_replay_destroy(r);
    env_close(&env);
}

/* Replays the list with one outcome's hash flipped; returns the replay. */
static void expect_outcome_mismatch_at(evlist_t *l, uint16_t type, size_t k)
{
    size_t i = find_event(l, type, k);
    cr_assert_neq(i, SIZE_MAX, "no %u #%zu in the game", type, k);
    stk_game_input_t in;
    stk_game_record_t rec;
    cr_assert_eq(stk_game_event_to_input(&l->e[i], NULL, &in, &rec, NULL), STK_GAME_EVENT_OUTCOME);
    rec.hash ^= 0x10;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_record_encode(&rec, &sb), 0);
    set_payload(&l->e[i], &sb);
    msgpack_sbuffer_destroy(&sb);

    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(feed_all(r, l), STK_EHASH);
    const stk_replay_divergence_t *d = stk_replay_divergence(r);
    cr_assert_not_null(d);
    cr_expect_eq(d->problem, STK_REPLAY_OUTCOME);
    cr_expect_eq(d->tick, l->e[i].tick);
    cr_expect_eq(d->seq, l->e[i].seq);
    cr_expect_eq(d->event_type, type);
    cr_expect(d->has_expected);
    cr_expect_eq(d->expected.hash, rec.hash);
    cr_expect_eq(d->actual.hash, rec.hash ^ 0x10);
    cr_expect_neq(strstr(d->detail, "hash"), NULL, "%s", d->detail);
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    cr_expect_eq(s.mismatches, 1); /* the hash alone: the state goes on matching */
    cr_expect(!s.all_ok);
    /* the report names the event, in text and JSON */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_expect_eq(stk_replay_report(r, f, false), 0);
    cr_expect_eq(stk_replay_report(r, f, true), 0);
    fclose(f);
    cr_expect_neq(strstr(buf, "DIVERGENCE (outcome)"), NULL, "%s", buf);
    cr_expect_neq(strstr(buf, "\"problem\":\"outcome\""), NULL, "%s", buf);
    free(buf);
    stk_replay_destroy(r);
}

Test(replay, altered_wave_hash_is_reported_at_its_tick)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 7, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    expect_outcome_mismatch_at(&l, STK_EV_WAVE_ENDED, 1);
    evlist_free(&l);
    env_close(&env);
}

Test(replay, altered_tick_mark_hash_is_reported_at_its_tick)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 8, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    expect_outcome_mismatch_at(&l, STK_EV_TICK_MARK, 3);
    evlist_free(&l);
    env_close(&env);
}

Test(replay, altered_lives_diverges_with_a_state_diff)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 9, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    size_t i = find_event(&l, STK_EV_WAVE_ENDED, 0);
    cr_assert_neq(i, SIZE_MAX);
    stk_game_input_t in;
    stk_game_record_t rec;
    cr_assert_eq(stk_game_event_to_input(&l.e[i], NULL, &in, &rec, NULL), STK_GAME_EVENT_OUTCOME);
    rec.lives += 3;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_record_encode(&rec, &sb), 0);
    set_payload(&l.e[i], &sb);
    msgpack_sbuffer_destroy(&sb);
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(feed_all(r, &l), STK_EHASH);
    const stk_replay_divergence_t *d = stk_replay_divergence(r);
    cr_assert_not_null(d);
    cr_expect_eq(d->tick, l.e[i].tick);
    cr_expect_neq(strstr(d->detail, "lives"), NULL, "%s", d->detail);
    cr_expect_gt(d->n_diff, 0); /* the state moved since the last good check */
    cr_expect_lt(d->good_seq, l.e[i].seq);
    stk_replay_destroy(r);
    evlist_free(&l);
    env_close(&env);
}

Test(replay, dropped_wave_end_is_reported_missing)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 10, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    size_t i = find_event(&l, STK_EV_WAVE_ENDED, 0);
    cr_assert_neq(i, SIZE_MAX);
    uint64_t tick = l.e[i].tick;
    free((void *)l.e[i].payload);
    memmove(&l.e[i], &l.e[i + 1], (l.n - i - 1) * sizeof(l.e[0]));
    l.n--;
    for (size_t j = i; j < l.n; j++)
        l.e[j].version--; /* keep the stream gapless: only the event is gone */
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(feed_all(r, &l), STK_EHASH);
    const stk_replay_divergence_t *d = stk_replay_divergence(r);
    cr_assert_not_null(d);
    cr_expect_eq(d->problem, STK_REPLAY_MISSING);
    cr_expect_eq(d->tick, tick);
    stk_replay_destroy(r);
    evlist_free(&l);
    env_close(&env);
}

Test(replay, impossible_input_is_reported_refused)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 11, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    size_t i = find_event(&l, STK_EV_TOWER_UPGRADED, 0);
    cr_assert_neq(i, SIZE_MAX);
    stk_game_input_t in;
    stk_game_record_t rec;
    cr_assert_eq(stk_game_event_to_input(&l.e[i], NULL, &in, &rec, NULL), STK_GAME_EVENT_INPUT);
    in.tower_id = 999;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint16_t type;
    cr_assert_eq(stk_game_input_encode(&in, NULL, &type, &sb), 0);
    set_payload(&l.e[i], &sb);
    msgpack_sbuffer_destroy(&sb);
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(feed_all(r, &l), STK_EHASH);
    const stk_replay_divergence_t *d = stk_replay_divergence(r);
    cr_assert_not_null(d);
    cr_expect_eq(d->problem, STK_REPLAY_INPUT_REFUSED);
    cr_expect_eq(d->seq, l.e[i].seq);
    cr_expect_eq(d->rejected, STK_REJECT_NO_SUCH_TOWER);
    stk_replay_destroy(r);
    evlist_free(&l);
    env_close(&env);
}

/* A session opened with SessionOpened v1 (no tick_rate: upcast to 20 Hz) replays like
 * the v2 original: readers upcast old versions, forever. */
Test(replay, session_opened_v1_is_upcast_and_replays_the_same)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 16, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    cr_assert_eq(l.e[0].type, STK_EV_SESSION_OPENED);
    cr_assert_eq(l.e[0].schema, 2);
    stk_payload_t p;
    cr_assert_eq(stk_payload_open(&p, l.e[0].payload, l.e[0].payload_len, NULL), 0);
    const msgpack_object *root = stk_payload_root(&p);
    stk_uuid_t map_id;
    uint64_t seed, ruleset, rate;
    const uint8_t *balance, *map;
    size_t balance_len, map_len;
    cr_assert_eq(stk_payload_get_uuid(root, "map_id", &map_id), 0);
    cr_assert_eq(stk_payload_get_uint(root, "seed", &seed), 0);
    cr_assert_eq(stk_payload_get_uint(root, "ruleset", &ruleset), 0);
    cr_assert_eq(stk_payload_get_bin(root, "balance", &balance, &balance_len), 0);
    cr_assert_eq(stk_payload_get_bin(root, "map", &map, &map_len), 0);
    cr_assert_eq(stk_payload_get_uint(root, "tick_rate", &rate), 0);
    cr_assert_eq(rate, 20); /* what the upcast will assume */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    cr_assert_eq(msgpack_pack_map(&pk, 5), 0);
    cr_assert_eq(stk_payload_put_uuid(&pk, "map_id", &map_id), 0);
    cr_assert_eq(stk_payload_put_uint(&pk, "seed", seed), 0);
    cr_assert_eq(stk_payload_put_uint(&pk, "ruleset", ruleset), 0);
    cr_assert_eq(stk_payload_put_bin(&pk, "balance", balance, balance_len), 0);
    cr_assert_eq(stk_payload_put_bin(&pk, "map", map, map_len), 0);
    stk_payload_close(&p);
    cr_assert_eq(
        stk_payload_check(STK_EV_SESSION_OPENED, 1, (const uint8_t *)sb.data, sb.size, NULL), 0);
    set_payload(&l.e[0], &sb);
    l.e[0].schema = 1;
    msgpack_sbuffer_destroy(&sb);
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(feed_all(r, &l), 0);
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    cr_expect(s.all_ok);
    cr_expect_eq(s.hash, live.hash);
    stk_replay_destroy(r);
    evlist_free(&l);
    env_close(&env);
}

/* Hostile logs: one random mutation (a payload byte, the tick, the type, the schema, the
 * actor) of one random event. The replay never crashes (ASan), answers with a documented
 * code, and notices nearly every change. */
Test(replay, mutated_events_are_refused_or_diverge_never_crash)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 17, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    uint64_t rs = 12345;
    size_t detected = 0, runs = 300;
    for (size_t k = 0; k < runs; k++) {
        size_t i = (size_t)(rng_next(&rs) % l.n);
        stk_envelope_t saved = l.e[i];
        uint8_t *copy = malloc(saved.payload_len + 1);
        cr_assert_not_null(copy);
        memcpy(copy, saved.payload, saved.payload_len);
        l.e[i].payload = copy;
        switch (rng_next(&rs) % 5) {
        case 0:
            if (saved.payload_len > 0)
                copy[rng_next(&rs) % saved.payload_len] ^= (uint8_t)(1 + rng_next(&rs) % 255);
            else
                l.e[i].tick += 1;
            break;
        case 1:
            l.e[i].tick = rng_next(&rs) % 2 ? l.e[i].tick + 1 + rng_next(&rs) % 50
                                            : rng_next(&rs) >> (rng_next(&rs) % 64);
            break;
        case 2:
            l.e[i].type = (uint16_t)(rng_next(&rs) % 60);
            break;
        case 3:
            l.e[i].schema = (uint16_t)(rng_next(&rs) % 4);
            break;
        default:
            l.e[i].actor.b[rng_next(&rs) % STK_UUID_LEN] ^= 0x5a;
            break;
        }
        bool same = l.e[i].tick == saved.tick && l.e[i].type == saved.type &&
                    l.e[i].schema == saved.schema && stk_uuid_eq(&l.e[i].actor, &saved.actor) &&
                    memcmp(copy, saved.payload, saved.payload_len) == 0;
        stk_replay_t *r = NULL;
        cr_assert_eq(stk_replay_create(NULL, &r), 0);
        int rc = feed_all(r, &l);
        cr_expect(rc == 0 || rc == STK_EHASH || rc == STK_EDECODE || rc == STK_ESCHEMA ||
                      rc == STK_ETYPE || rc == STK_EVERSION || rc == STK_ETRUNC ||
                      rc == STK_ETOOBIG || rc == STK_ERANGE || rc == STK_ECORRUPT ||
                      rc == STK_ESTATE,
                  "mutation %zu: %s", k, stk_strerror(rc));
        if (rc != 0 || same)
            detected++;
        else
            cr_log_info(
                "undetected: event %zu type %u->%u tick %" PRIu64 "->%" PRIu64 " schema %u->%u", i,
                saved.type, l.e[i].type, saved.tick, l.e[i].tick, saved.schema, l.e[i].schema);
        stk_replay_destroy(r);
        free(copy);
        l.e[i] = saved;
    }
    cr_log_info("%zu of %zu mutations detected", detected, runs);
    cr_expect_geq(detected * 10, runs * 9, "only %zu of %zu mutations detected", detected, runs);
    evlist_free(&l);
    env_close(&env);
}

Test(replay, stream_not_starting_with_session_opened_is_refused)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 12, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(stk_replay_feed(r, &l.e[1]), STK_ESTATE);
    cr_expect_eq(stk_replay_feed(r, &l.e[0]), STK_ESTATE); /* sticky */
    stk_replay_destroy(r);
    /* a version gap */
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(stk_replay_feed(r, &l.e[0]), 0);
    cr_expect_eq(stk_replay_feed(r, &l.e[2]), STK_ECORRUPT);
    stk_replay_destroy(r);
    evlist_free(&l);
    env_close(&env);
}

Test(replay, until_tick_and_seek_give_the_same_state)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 13, &live);
    /* small keyframe spacing: many keyframes, and the in-memory list thins out */
    stk_replay_opts_t o = {.until_tick = STK_REPLAY_UNTIL_END, .keyframe_ticks = 2};
    stk_replay_t *full = NULL;
    cr_assert_eq(stk_replay_create(&o, &full), 0);
    cr_assert_eq(stk_replay_run_log(full, env.log, &live.id), 0);
    stk_replay_summary_t fs;
    stk_replay_summary(full, &fs);
    cr_assert_gt(fs.tick, 600);
    cr_expect_gt(fs.keyframes, STK_REPLAY_MAX_KEYFRAMES);
    const uint64_t ticks[] = {0, 1, 100, 150, 151, 333, fs.tick / 2, fs.tick - 1, fs.tick};
    for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
        stk_replay_opts_t uo = {.until_tick = ticks[i], .no_keyframes = true};
        stk_replay_t *u = NULL;
        cr_assert_eq(stk_replay_create(&uo, &u), 0);
        cr_assert_eq(stk_replay_run_log(u, env.log, &live.id), 0);
        stk_replay_summary_t us;
        stk_replay_summary(u, &us);
        cr_expect_eq(us.tick, ticks[i]);
        stk_game_t *g = NULL;
        cr_assert_eq(stk_replay_seek(full, ticks[i], &g), 0);
        cr_expect_eq(stk_game_tick(g), ticks[i]);
        cr_expect_eq(stk_game_hash(g), us.hash, "tick %" PRIu64, ticks[i]);
        stk_game_destroy(g);
        stk_replay_destroy(u);
    }
    /* seeking is bounded: never more steps than the keyframe spacing in force (2, doubled
     * each time the in-memory list filled up) */
    uint64_t worst = 0;
    for (uint64_t t = 0; t <= fs.tick; t++) {
        uint64_t steps = stk_replay_seek_steps(full, t);
        worst = steps > worst ? steps : worst;
    }
    cr_expect_leq(worst, 2u * 4u, "worst seek: %" PRIu64 " steps", worst);
    cr_expect_gt(worst, 0);
    stk_game_t *g = NULL;
    cr_expect_eq(stk_replay_seek(full, fs.tick + 1, &g), STK_ERANGE);
    stk_replay_destroy(full);
    env_close(&env);
}

Test(replay, stored_keyframes_are_checked_by_the_next_replay)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 14, &live);
    stk_replay_opts_t o = {.until_tick = STK_REPLAY_UNTIL_END, .keyframe_ticks = 100};
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    cr_assert_eq(stk_replay_keyframes_load(r, env.log, &live.id), 0);
    cr_assert_eq(stk_replay_run_log(r, env.log, &live.id), 0);
    size_t stored = 0;
    cr_assert_eq(stk_replay_keyframes_store(r, env.log, &stored), 0);
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    cr_expect_gt(stored, 0);
    cr_expect_eq(stored, s.keyframes);
    stk_replay_destroy(r);

    /* a second replay checks them and stores nothing new */
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    cr_assert_eq(stk_replay_keyframes_load(r, env.log, &live.id), 0);
    cr_assert_eq(stk_replay_run_log(r, env.log, &live.id), 0);
    stk_replay_summary(r, &s);
    cr_expect_eq(s.keyframes_checked, stored);
    cr_assert_eq(stk_replay_keyframes_store(r, env.log, &stored), 0);
    cr_expect_eq(stored, 0);
    stk_replay_destroy(r);

    /* a keyframe that disagrees with the rules of this build is a divergence */
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(&live.id, &kfs);
    uint64_t seq;
    uint8_t *data;
    size_t len;
    cr_assert_eq(stk_log_snapshot_get(env.log, &kfs, 200, &seq, &data, &len), 0);
    cr_expect_eq(seq, 200);
    data[len - 1] ^= 0x01; /* the hash is the last key: its last byte */
    cr_assert_eq(stk_log_snapshot_put(env.log, &kfs, seq, data, len), 0);
    free(data);
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    cr_assert_eq(stk_replay_keyframes_load(r, env.log, &live.id), 0);
    cr_expect_eq(stk_replay_run_log(r, env.log, &live.id), STK_EHASH);
    const stk_replay_divergence_t *d = stk_replay_divergence(r);
    cr_assert_not_null(d);
    cr_expect_eq(d->problem, STK_REPLAY_KEYFRAME);
    cr_expect_eq(d->tick, 200);
    stk_replay_destroy(r);
    env_close(&env);
}

/* A replay from tick 0 of `live` stopped at `tick`, without keyframes: the reference. */
static uint64_t scratch_hash_at(env_t *env, const live_t *live, uint64_t tick)
{
    stk_replay_opts_t o = {.until_tick = tick, .no_keyframes = true};
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    cr_assert_eq(stk_replay_run_log(r, env->log, &live->id), 0);
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    cr_expect_eq(s.tick, tick);
    stk_replay_destroy(r);
    return s.hash;
}

/* A new replay seeking through the store to `tick`; returns its summary. */
static stk_replay_summary_t seek_stored(env_t *env, const live_t *live, uint64_t tick)
{
    stk_replay_opts_t o = {.until_tick = tick, .keyframe_ticks = 100};
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    int rc = stk_replay_run_log_seek(r, env->log, &live->id);
    cr_assert_eq(rc, 0, "tick %" PRIu64 ": %s", tick, stk_strerror(rc));
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    cr_expect(s.all_ok);
    /* the in-memory seek of the resumed replay agrees, and refuses ticks before its start */
    stk_game_t *g = NULL;
    cr_assert_eq(stk_replay_seek(r, tick, &g), 0);
    cr_expect_eq(stk_game_hash(g), s.hash);
    stk_game_destroy(g);
    if (s.resumed_tick > 0) {
        cr_expect_eq(stk_replay_seek(r, s.resumed_tick - 1, &g), STK_ERANGE);
        size_t stored = 9;
        cr_expect_eq(stk_replay_keyframes_store(r, env->log, &stored), STK_ESTATE);
        cr_expect_eq(stored, 0);
    }
    stk_replay_destroy(r);
    return s;
}

/* Store the keyframes of a full replay (spacing 100) of `live`; returns how many. */
static size_t store_keyframes(env_t *env, const live_t *live)
{
    stk_replay_opts_t o = {.until_tick = STK_REPLAY_UNTIL_END, .keyframe_ticks = 100};
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    cr_assert_eq(stk_replay_run_log(r, env->log, &live->id), 0);
    size_t stored = 0;
    cr_assert_eq(stk_replay_keyframes_store(r, env->log, &stored), 0);
    stk_replay_destroy(r);
    return stored;
}

Test(replay, new_replay_seeks_from_a_stored_keyframe_in_at_most_its_spacing)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 15, &live);
    cr_assert_gt(live.tick, 600);
    cr_assert_gt(store_keyframes(&env, &live), 5);
    const uint64_t ticks[] = {50, 100, 199, 300, 333, live.tick / 2, live.tick - 1, live.tick};
    for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
        uint64_t t = ticks[i];
        stk_replay_summary_t s = seek_stored(&env, &live, t);
        cr_expect_eq(s.tick, t);
        cr_expect_eq(s.hash, scratch_hash_at(&env, &live, t), "tick %" PRIu64, t);
        cr_expect_eq(s.keyframes_rejected, 0);
        cr_expect_eq(s.resumed_tick, t - t % 100, "tick %" PRIu64, t);
        cr_expect_leq(s.steps, 100, "tick %" PRIu64 ": %" PRIu64 " steps", t, s.steps);
        cr_expect_eq(s.steps, t % 100, "tick %" PRIu64, t);
    }
    /* without stored keyframes the same seek simulates from tick 0 */
    env_t other;
    env_open(&other);
    live_t l2;
    play_scripted(&other, 15, &l2);
    stk_replay_summary_t s = seek_stored(&other, &l2, l2.tick - 1);
    cr_expect_eq(s.resumed_tick, 0);
    cr_expect_eq(s.steps, l2.tick - 1);
    cr_expect_eq(s.hash, scratch_hash_at(&env, &live, live.tick - 1));
    env_close(&other);
    env_close(&env);
}

/* Offset of the "state" bin's bytes in a stored keyframe record, and their length. */
static size_t kf_state_at(const uint8_t *d, size_t len, size_t *n)
{
    static const uint8_t key[] = {0xa5, 's', 't', 'a', 't', 'e'};
    for (size_t i = 0; i + sizeof(key) + 5 < len; i++) {
        if (memcmp(d + i, key, sizeof(key)) != 0)
            continue;
        const uint8_t *h = d + i + sizeof(key);
        if (h[0] == 0xc4) {
            *n = h[1];
            return i + sizeof(key) + 2;
        }
        if (h[0] == 0xc5) {
            *n = (size_t)h[1] << 8 | h[2];
            return i + sizeof(key) + 3;
        }
        if (h[0] == 0xc6) {
            *n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
            return i + sizeof(key) + 5;
        }
    }
    cr_assert_fail("no state in the keyframe record");
    return 0;
}

Test(replay, corrupted_stored_keyframe_is_skipped_by_seek_and_reported_by_full_replay)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 16, &live);
    cr_assert_gt(live.tick, 600);
    cr_assert_gt(store_keyframes(&env, &live), 5);
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(&live.id, &kfs);
    /* tick 300: one byte of the state flipped, the hash field intact */
    uint64_t seq;
    uint8_t *data;
    size_t len, n = 0;
    cr_assert_eq(stk_log_snapshot_get(env.log, &kfs, 300, &seq, &data, &len), 0);
    cr_assert_eq(seq, 300);
    size_t at = kf_state_at(data, len, &n);
    cr_assert_gt(n, 100);
    data[at + n / 2] ^= 0x10;
    cr_assert_eq(stk_log_snapshot_put(env.log, &kfs, 300, data, len), 0);
    free(data);
    /* tick 500: not a keyframe record at all */
    static const uint8_t junk[] = {0x81, 0xa1, 'v', 0x02, 0xff};
    cr_assert_eq(stk_log_snapshot_put(env.log, &kfs, 500, junk, sizeof(junk)), 0);

    /* seeking passes over both, with the right state, and says so */
    stk_replay_summary_t s = seek_stored(&env, &live, 350);
    cr_expect_eq(s.resumed_tick, 200);
    cr_expect_eq(s.keyframes_rejected, 1);
    cr_expect_leq(s.steps, 200);
    cr_expect_eq(s.hash, scratch_hash_at(&env, &live, 350));
    s = seek_stored(&env, &live, 550);
    cr_expect_eq(s.resumed_tick, 400);
    cr_expect_eq(s.keyframes_rejected, 1);
    cr_expect_eq(s.hash, scratch_hash_at(&env, &live, 550));

    /* the full replay simulates from tick 0 and reports the first one as a divergence */
    stk_replay_opts_t o = {.until_tick = STK_REPLAY_UNTIL_END, .keyframe_ticks = 100};
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    cr_assert_eq(stk_replay_keyframes_load(r, env.log, &live.id), 0);
    cr_expect_eq(stk_replay_run_log(r, env.log, &live.id), STK_EHASH);
    const stk_replay_divergence_t *d = stk_replay_divergence(r);
    cr_assert_not_null(d);
    cr_expect_eq(d->problem, STK_REPLAY_KEYFRAME);
    cr_expect_eq(d->tick, 300);
    stk_replay_summary(r, &s);
    cr_expect_eq(s.mismatches, 2); /* tick 300 and the undecodable record at 500 */
    cr_expect_eq(s.steps, live.tick);
    cr_expect_eq(s.hash, live.hash);
    stk_replay_destroy(r);
    env_close(&env);
}

Test(replay, json_lines_replay_like_the_log)
{
    env_t env;
    env_open(&env);
    live_t live;
    play_scripted(&env, 15, &live);
    evlist_t l;
    collect(&env, &live.id, &l);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    for (size_t i = 0; i < l.n; i++) {
        char *line = NULL;
        cr_assert_eq(stk_json_event_dump(&l.e[i], &line, NULL), 0);
        fprintf(f, "%s\n%s", line, i == 3 ? "\n" : ""); /* a blank line is skipped */
        free(line);
    }
    fclose(f);
    f = fmemopen(buf, len, "r");
    stk_replay_t *r = NULL;
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    uint64_t bad = 99;
    cr_expect_eq(stk_replay_run_jsonl(r, f, NULL, &bad), 0);
    cr_expect_eq(bad, 0);
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    cr_expect(s.all_ok);
    cr_expect_eq(s.hash, live.hash);
    stk_replay_destroy(r);
    fclose(f);
    free(buf);

    const char garbage[] = "{\"seq\":1}\nnot json at all\n";
    f = fmemopen((void *)garbage, sizeof(garbage) - 1, "r");
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    int rc = stk_replay_run_jsonl(r, f, NULL, &bad);
    cr_expect(rc == STK_EDECODE || rc == STK_ESCHEMA, "%s", stk_strerror(rc));
    cr_expect_eq(bad, 1);
    stk_replay_destroy(r);
    fclose(f);
    /* a line longer than STK_JSON_LINE_MAX is refused without reading it all */
    f = tmpfile();
    cr_assert_not_null(f);
    for (size_t i = 0; i < STK_JSON_LINE_MAX / 64 + 2; i++)
        fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", f);
    fputs("\n", f);
    rewind(f);
    cr_assert_eq(stk_replay_create(NULL, &r), 0);
    cr_expect_eq(stk_replay_run_jsonl(r, f, NULL, &bad), STK_ETOOBIG);
    cr_expect_eq(bad, 1);
    stk_replay_destroy(r);
    fclose(f);
    evlist_free(&l);
    env_close(&env);
}

static void replay_and_compare(stk_log_t *log, uint64_t seed, const live_t *live,
                               uint64_t *outcomes, uint64_t *marks)
{
    stk_replay_t *r = NULL;
    stk_replay_opts_t o = {.until_tick = STK_REPLAY_UNTIL_END, .keyframe_ticks = 50};
    cr_assert_eq(stk_replay_create(&o, &r), 0);
    int rc = stk_replay_run_log(r, log, &live->id);
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    if (rc != 0 || s.hash != live->hash) {
        stk_replay_report(r, stderr, false);
        cr_assert_fail("seed %" PRIu64 ": replay %s, hash %016" PRIx64 " vs live %016" PRIx64, seed,
                       stk_strerror(rc), s.hash, live->hash);
    }
    cr_assert_eq(s.tick, live->tick, "seed %" PRIu64, seed);
    cr_assert(s.all_ok, "seed %" PRIu64, seed);
    cr_assert_eq(s.inputs, live->accepted, "seed %" PRIu64, seed);
    *outcomes += s.outcomes_ok;
    *marks += s.tick_marks_ok;
    stk_replay_destroy(r);
}

/* The property: whatever valid and invalid commands are thrown at a game, the log of the
 * accepted ones (with the outcomes the host records) replays to the very same final
 * state, with every check matching. 1,000 seeds, applied directly to stk_game and
 * appended to one log per game (no writer round trip per tick). */
Test(replay, random_commands_replay_to_identical_hashes_for_1000_seeds, .timeout = 600)
{
    env_t env;
    env_open(&env);
    uint64_t accepted = 0, refused = 0, outcomes = 0, marks = 0, completed = 0;
    for (uint64_t seed = 1; seed <= 1000; seed++) {
        live_t live;
        play_direct(env.log, seed, 900, &live);
        accepted += live.accepted;
        refused += live.refused;
        completed += live.state == STK_GAME_COMPLETED;
        replay_and_compare(env.log, seed, &live, &outcomes, &marks);
    }
    cr_log_info("1000 seeds: %" PRIu64 " inputs accepted, %" PRIu64 " refused, %" PRIu64
                " outcomes and %" PRIu64 " tick marks checked, %" PRIu64 " games completed",
                accepted, refused, outcomes, marks, completed);
    /* both kinds of commands, and finished games, were exercised */
    cr_expect_gt(accepted, 5000);
    cr_expect_gt(refused, 5000);
    cr_expect_gt(completed, 10);
    env_close(&env);
}

/* The same property through the real command path (session host, group-commit writer,
 * ack after commit): fewer seeds, since every tick with inputs waits for a commit. */
Test(replay, random_commands_through_the_session_host_replay_identically, .timeout = 600)
{
    env_t env;
    env_open(&env);
    uint64_t accepted = 0, refused = 0, outcomes = 0, marks = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        live_t live;
        play_random(&env, seed, 300, &live);
        accepted += live.accepted;
        refused += live.refused;
        replay_and_compare(env.log, seed, &live, &outcomes, &marks);
    }
    cr_log_info("100 seeds through the host: %" PRIu64 " accepted, %" PRIu64 " refused, %" PRIu64
                " outcomes, %" PRIu64 " tick marks",
                accepted, refused, outcomes, marks);
    cr_expect_gt(accepted, 500);
    cr_expect_gt(refused, 500);
    cr_expect_gt(outcomes + marks, 100);
    env_close(&env);
}

/* Golden replays: recorded games whose final hashes are pinned. A change of the rules
 * that alters one must be deliberate: bump the ruleset and re-record. */
Test(replay, golden_replays_match_their_pinned_hashes)
{
    const char *src = getenv("STK_SOURCE_DIR");
    cr_assert_not_null(src, "STK_SOURCE_DIR is not set (run through ctest)");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/fixtures/replays/HASHES", src);
    FILE *h = fopen(path, "r");
    cr_assert_not_null(h, "%s", path);
    char row[512], name[256], hex[32];
    size_t n = 0;
    while (fgets(row, sizeof(row), h) != NULL) {
        if (row[0] == '#' || sscanf(row, "%255s %31s", name, hex) != 2)
            continue;
        uint64_t want = strtoull(hex, NULL, 16);
        snprintf(path, sizeof(path), "%s/tests/fixtures/replays/%s", src, name);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        stk_replay_t *r = NULL;
        cr_assert_eq(stk_replay_create(NULL, &r), 0);
        uint64_t line = 0;
        int rc = stk_replay_run_jsonl(r, f, NULL, &line);
        if (rc != 0)
            stk_replay_report(r, stderr, false);
        cr_expect_eq(rc, 0, "%s: %s (line %" PRIu64 ")", name, stk_strerror(rc), line);
        stk_replay_summary_t s;
        stk_replay_summary(r, &s);
        cr_expect_eq(s.hash, want, "%s: final hash %016" PRIx64 ", pinned %016" PRIx64, name,
                     s.hash, want);
        cr_expect_gt(s.outcomes, 0, "%s", name);
        stk_replay_destroy(r);
        fclose(f);
        n++;
    }
    fclose(h);
    cr_expect_geq(n, 3);
}
