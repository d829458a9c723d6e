/* tests/events/test_session.c — events/session.h through a real LMDB log in a temp dir:
 * acks come after commits and only then is an input applied; refused inputs write
 * nothing; outcome events and tick marks land in the log with the live game's hashes, and a
 * replay of the stream (with the bridge alone) reproduces every one of them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "events/game.h"
#include "events/log.h"
#include "events/session.h"
#include "events/types.h"
#include "events/writer.h"
#include "tests/support/tmpdir.h"

typedef struct fx {
    char dir[64];
    stk_log_t *log;
    stk_writer_t *w;
    msgpack_sbuffer map;
    stk_session_t *s;
    stk_uuid_t id;
    int accepted; /* inputs accepted by ok() */
} fx_t;

/* 20x20 grass, spawn (0,10), goal (19,10), `waves` waves of 3 grunts. */
static void fx_map_payload(msgpack_sbuffer *sb, uint32_t waves)
{
    stk_map_t *m = malloc(sizeof *m);
    cr_assert_eq(stk_map_init(m, 20, 20), 0);
    m->spawn = (stk_point_t){0, 10};
    m->goal = (stk_point_t){19, 10};
    m->n_waves = waves;
    for (uint32_t i = 0; i < waves; i++) {
        m->waves[i].number = i + 1;
        m->waves[i].n_groups = 1;
        m->waves[i].groups[0] = (stk_map_enemies_t){STK_ENEMY_GRUNT, 3, 700};
    }
    stk_game_map_meta_t meta;
    memset(&meta, 0, sizeof meta);
    memset(meta.user_id.b, 1, 16);
    meta.name = "session test";
    meta.name_len = strlen(meta.name);
    cr_assert_eq(stk_game_map_encode(STK_EV_MAP_DRAWN, m, &meta, sb), 0);
    free(m);
}

static void fx_open(fx_t *f, uint32_t waves, uint32_t mark_every)
{
    memset(f, 0, sizeof *f);
    cr_assert_eq(stk_test_tmpdir_make(f->dir, sizeof f->dir, "session"), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/log", f->dir);
    stk_log_opts_t lo = {.nosync = 1}; /* durability is not what is tested here */
    cr_assert_eq(stk_log_open(&f->log, path, &lo), 0);
    cr_assert_eq(stk_writer_start(&f->w, f->log, NULL), 0);
    msgpack_sbuffer_init(&f->map);
    fx_map_payload(&f->map, waves);
    stk_session_open_args_t a;
    memset(&a, 0, sizeof a);
    memset(a.id.b, 0xAB, 16);
    memset(a.opener.b, 1, 16);
    memset(a.map_id.b, 0xCD, 16);
    a.seed = 42;
    a.map_payload = (const uint8_t *)f->map.data;
    a.map_len = f->map.size;
    f->id = a.id;
    stk_session_opts_t o = {.mark_every = mark_every};
    cr_assert_eq(stk_session_open(&f->s, f->w, &a, &o), 0);
    stk_session_wait(f->s);
}

static void fx_close(fx_t *f)
{
    stk_session_close(f->s);
    stk_writer_free(f->w);
    stk_log_close(f->log);
    msgpack_sbuffer_destroy(&f->map);
    stk_test_tmpdir_remove(f->dir);
}

static stk_game_input_t in_of(int kind, uint8_t player)
{
    stk_game_input_t in;
    memset(&in, 0, sizeof in);
    in.kind = kind;
    memset(in.player, player, sizeof in.player);
    if (kind == STK_INPUT_JOIN) {
        memset(in.tribe, 0x70 + player, sizeof in.tribe);
        in.range_bp = 5000;
        in.color = 0x123456;
    }
    in.ready = true;
    return in;
}

static void ok(fx_t *f, stk_game_input_t in)
{
    stk_reject_t why = STK_REJECT_COUNT;
    int rc = stk_session_submit(f->s, &in, &why, NULL, NULL);
    cr_assert_eq(rc, 0, "%s refused: %s (%s)", stk_game_input_event(in.kind), stk_errname(rc),
                 stk_reject_name(why));
    f->accepted++;
}

/* Players 1..n join, ready, player 1 starts; all committed. */
static void fx_start(fx_t *f, int n)
{
    for (int p = 1; p <= n; p++)
        ok(f, in_of(STK_INPUT_JOIN, (uint8_t)p));
    for (int p = 1; p <= n; p++)
        ok(f, in_of(STK_INPUT_READY, (uint8_t)p));
    ok(f, in_of(STK_INPUT_START, 1));
    stk_session_wait(f->s);
    cr_assert_eq(stk_game_state(stk_session_game(f->s)), STK_GAME_IN_PROGRESS);
}

static uint64_t head(fx_t *f)
{
    uint64_t seq = 0;
    cr_assert_eq(stk_log_head(f->log, &seq, NULL), 0);
    return seq;
}

typedef struct ack {
    int calls;
    int status;
    uint64_t seq;
    size_t players_at_ack;
    const stk_session_t *s;
} ack_t;

static void on_ack(void *ud, int status, uint64_t seq)
{
    ack_t *a = ud;
    a->calls++;
    a->status = status;
    a->seq = seq;
    a->players_at_ack = stk_game_player_count(stk_session_game(a->s));
}

Test(session, an_input_is_applied_only_after_its_commit_is_polled)
{
    fx_t f;
    fx_open(&f, 1, 0);
    ack_t a = {.s = f.s};
    stk_game_input_t in = in_of(STK_INPUT_JOIN, 1);
    cr_assert_eq(stk_session_submit(f.s, &in, NULL, on_ack, &a), 0);
    cr_assert_eq(stk_game_player_count(stk_session_game(f.s)), 0, "applied before the ack");
    cr_assert_eq(a.calls, 0);
    /* Even once committed, nothing changes until the owner polls. */
    uint64_t h = 0;
    cr_assert_eq(stk_log_wait(f.log, 1, 5000, &h), 0);
    cr_assert_geq(h, 2, "the writer committed SessionOpened and PlayerJoined");
    cr_assert_eq(stk_game_player_count(stk_session_game(f.s)), 0);
    stk_session_wait(f.s);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.status, 0);
    cr_assert_eq(a.seq, 2);
    cr_assert_eq(a.players_at_ack, 1, "the ack runs once the input is applied");
    cr_assert_eq(stk_session_in_flight(f.s), 0);
    fx_close(&f);
}

Test(session, a_refused_input_writes_nothing_and_is_never_acked)
{
    fx_t f;
    fx_open(&f, 1, 0);
    fx_start(&f, 1);
    uint64_t before = head(&f);
    ack_t a = {.s = f.s};
    stk_game_input_t in = in_of(STK_INPUT_PLACE, 1);
    in.x = 0;
    in.y = 10; /* the spawn */
    in.tower = STK_TOWER_ARROW;
    stk_reject_t why = STK_REJECT_NONE;
    cr_assert_eq(stk_session_submit(f.s, &in, &why, on_ack, &a), STK_EPERM);
    cr_assert_eq(why, STK_REJECT_ON_SPAWN_OR_GOAL);
    in = in_of(STK_INPUT_UPGRADE, 2); /* not a player */
    cr_assert_eq(stk_session_submit(f.s, &in, &why, on_ack, &a), STK_EPERM);
    cr_assert_eq(why, STK_REJECT_NOT_IN_SESSION);
    stk_session_wait(f.s);
    cr_assert_eq(head(&f), before, "a refused input reached the log");
    cr_assert_eq(a.calls, 0);
    cr_assert_eq(stk_session_rejected(f.s), 2);
    fx_close(&f);
}

Test(session, two_inputs_of_one_tick_cannot_both_take_a_tile)
{
    fx_t f;
    fx_open(&f, 1, 0);
    fx_start(&f, 2);
    stk_game_input_t a = in_of(STK_INPUT_PLACE, 1), b = in_of(STK_INPUT_PLACE, 2);
    a.x = b.x = 5;
    a.y = b.y = 5;
    a.tower = b.tower = STK_TOWER_ARROW;
    cr_assert_eq(stk_session_submit(f.s, &a, NULL, NULL, NULL), 0);
    stk_reject_t why = STK_REJECT_NONE;
    cr_assert_eq(stk_session_submit(f.s, &b, &why, NULL, NULL), STK_EPERM,
                 "checked against the committed game only");
    cr_assert_eq(why, STK_REJECT_TILE_OCCUPIED);
    stk_session_wait(f.s);
    cr_assert_eq(stk_game_tower_count(stk_session_game(f.s)), 1);
    cr_assert_eq(stk_session_error(f.s), 0);
    fx_close(&f);
}

Test(session, step_waits_for_inputs_in_flight)
{
    fx_t f;
    fx_open(&f, 1, 0);
    fx_start(&f, 1);
    uint64_t t = stk_game_tick(stk_session_game(f.s));
    ok(&f, in_of(STK_INPUT_CALL_WAVE, 1));
    cr_assert_eq(stk_session_step(f.s, NULL), STK_EBUSY);
    cr_assert_eq(stk_game_tick(stk_session_game(f.s)), t);
    stk_session_wait(f.s);
    cr_assert_eq(stk_session_step(f.s, NULL), 0);
    cr_assert_eq(stk_game_tick(stk_session_game(f.s)), t + 1);
    fx_close(&f);
}

Test(session, an_existing_stream_fails_the_session_and_nothing_is_applied)
{
    fx_t f;
    fx_open(&f, 1, 0);
    stk_session_wait(f.s);
    /* A second host for the same session id. */
    stk_session_open_args_t a;
    memset(&a, 0, sizeof a);
    a.id = f.id;
    memset(a.opener.b, 1, 16);
    a.map_payload = (const uint8_t *)f.map.data;
    a.map_len = f.map.size;
    stk_session_t *dup = NULL;
    cr_assert_eq(stk_session_open(&dup, f.w, &a, NULL), 0);
    ack_t ack = {.s = dup};
    stk_game_input_t in = in_of(STK_INPUT_JOIN, 1);
    cr_assert_eq(stk_session_submit(dup, &in, NULL, on_ack, &ack), STK_EBUSY,
                 "no input before SessionOpened committed");
    stk_session_wait(dup);
    cr_assert_eq(stk_session_error(dup), STK_ECONFLICT);
    cr_assert_eq(ack.calls, 0);
    cr_assert_eq(stk_game_player_count(stk_session_game(dup)), 0);
    cr_assert_eq(stk_session_submit(dup, &in, NULL, NULL, NULL), STK_ESTATE);
    cr_assert_eq(stk_session_step(dup, NULL), STK_ESTATE);
    cr_assert_eq(head(&f), 1, "only the first SessionOpened is in the log");
    stk_session_close(dup);
    fx_close(&f);
}

/* ---- a whole game, then a replay of its stream with the bridge alone ---------------- */

typedef struct replay {
    stk_game_t *g;
    stk_map_t *map;
    stk_balance_t balance;
    int inputs, outcomes, marks, wave_ends, game_ends, mismatches, pause_marks;
    uint64_t last_tick;
    bool paused_before;
} replay_t;

static int replay_cb(void *ud, const stk_envelope_t *e)
{
    replay_t *r = ud;
    if (e->type == STK_EV_SESSION_OPENED) {
        stk_game_opened_t o;
        cr_assert_eq(stk_game_opened_decode(e, r->map, &o, NULL), 0);
        cr_assert_eq(stk_game_create(&o.setup, &r->g), 0);
        r->balance = o.setup.balance;
        return 0;
    }
    cr_assert_not_null(r->g, "SessionOpened comes first");
    cr_assert_geq(e->tick, r->last_tick, "ticks never go back in the log");
    r->last_tick = e->tick;
    stk_game_input_t in;
    stk_game_record_t rec;
    int cls = stk_game_event_to_input(e, &r->balance, &in, &rec, NULL);
    cr_assert_geq(cls, 0);
    while (stk_game_tick(r->g) < e->tick) {
        stk_game_step(r->g, NULL);
        cr_assert(stk_game_state(r->g) == STK_GAME_IN_PROGRESS || stk_game_tick(r->g) == e->tick);
    }
    cr_assert_eq(stk_game_tick(r->g), e->tick);
    if (cls == STK_GAME_EVENT_INPUT) {
        stk_reject_t why;
        cr_assert_eq(stk_game_apply(r->g, &in, &why), 0, "a logged input was refused: %s",
                     stk_reject_name(why));
        r->inputs++;
        r->paused_before = in.kind == STK_INPUT_PAUSE;
        return 0;
    }
    r->outcomes++;
    if (rec.type == STK_EV_TICK_MARK) {
        r->marks++;
        if (r->paused_before)
            r->pause_marks++;
    } else if (rec.type == STK_EV_WAVE_ENDED) {
        r->wave_ends++;
    } else {
        r->game_ends++;
    }
    r->paused_before = false;
    if (rec.hash != stk_game_hash(r->g))
        r->mismatches++;
    if (rec.type != STK_EV_TICK_MARK) {
        /* Recompute the whole record from the state (o is the last step's outcome). */
        stk_game_outcome_t now;
        stk_game_outcome(r->g, &now);
        now.wave_cleared = stk_game_waves_cleared(r->g);
        stk_game_record_t mine;
        cr_assert_eq(stk_game_record_from_outcome(rec.type, &now, &mine), 0);
        if (!stk_game_record_equal(&mine, &rec))
            r->mismatches++;
    }
    return 0;
}

static void replay_stream(fx_t *f, replay_t *r)
{
    memset(r, 0, sizeof *r);
    r->map = malloc(sizeof *r->map);
    cr_assert_eq(stk_log_read_stream(f->log, &f->id, 1, 0, replay_cb, r), 0);
}

static void replay_free(replay_t *r)
{
    stk_game_destroy(r->g);
    free(r->map);
}

Test(session, a_played_game_ends_completed_and_its_log_replays_to_the_same_hashes)
{
    fx_t f;
    fx_open(&f, 3, 50);
    fx_start(&f, 2);
    int placed = 0;
    bool paused = false;
    uint64_t live_marks = 0;
    for (int guard = 0; guard < 100000; guard++) {
        const stk_game_t *g = stk_session_game(f.s);
        if (stk_game_state(g) == STK_GAME_COMPLETED)
            break;
        uint64_t t = stk_game_tick(g);
        if (stk_game_state(g) == STK_GAME_PAUSED) {
            ok(&f, in_of(STK_INPUT_RESUME, 1));
        } else if (t == 30 && !paused) {
            ok(&f, in_of(STK_INPUT_PAUSE, 1));
            paused = true;
        } else if (t % 20 == 0 && placed < 6) {
            stk_game_input_t in = in_of(STK_INPUT_PLACE, (uint8_t)(1 + placed % 2));
            in.x = 3 + 2 * (uint32_t)placed;
            in.y = 9 + (uint32_t)(placed % 2) * 2;
            in.tower = STK_TOWER_ARROW;
            ok(&f, in);
            placed++;
        } else if (t > 250 && stk_game_enemy_count(g) == 0 && !stk_game_wave_spawning(g) &&
                   stk_game_wave(g) < stk_game_wave_count(g)) {
            ok(&f, in_of(STK_INPUT_CALL_WAVE, 2));
        }
        stk_session_wait(f.s);
        stk_game_outcome_t o;
        cr_assert_eq(stk_session_step(f.s, &o), 0);
        if (o.tick != t && o.tick % 50 == 0 && !o.game_ended)
            live_marks++;
    }
    const stk_game_t *g = stk_session_game(f.s);
    cr_assert_eq(stk_game_state(g), STK_GAME_COMPLETED);
    uint64_t final_hash = stk_game_hash(g);
    stk_session_wait(f.s);
    cr_assert_eq(stk_session_error(f.s), 0);

    replay_t r;
    replay_stream(&f, &r);
    cr_assert_eq(r.mismatches, 0, "recorded outcomes differ from the replayed game");
    cr_assert_eq(r.game_ends, 1);
    cr_assert_eq(r.wave_ends, 3);
    cr_assert_eq(r.pause_marks, 1, "a tick mark right after the pause");
    cr_assert_eq((uint64_t)r.marks, live_marks + 1, "one mark every 50 ticks plus the pause");
    cr_assert_eq(r.inputs, f.accepted, "every accepted input is in the log, once");
    cr_assert_eq(stk_game_hash(r.g), final_hash, "final hash differs after replay");
    cr_assert_eq(stk_game_result(r.g), stk_game_result(g));
    replay_free(&r);
    fx_close(&f);
}

Test(session, abandon_writes_game_ended_in_the_same_batch)
{
    fx_t f;
    fx_open(&f, 2, 0);
    fx_start(&f, 1);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(stk_session_step(f.s, NULL), 0);
    stk_game_input_t in = in_of(STK_INPUT_ABANDON, 0); /* the server */
    ok(&f, in);
    stk_session_wait(f.s);
    cr_assert_eq(stk_game_state(stk_session_game(f.s)), STK_GAME_ABANDONED);
    replay_t r;
    replay_stream(&f, &r);
    cr_assert_eq(r.game_ends, 1);
    cr_assert_eq(r.mismatches, 0);
    cr_assert_eq(stk_game_result(r.g), STK_RESULT_ABANDONED);
    replay_free(&r);
    fx_close(&f);
}

Test(session, default_marks_come_every_five_seconds_of_game_time)
{
    fx_t f;
    fx_open(&f, 1, 0);
    fx_start(&f, 1);
    for (int i = 0; i < 250; i++)
        cr_assert_eq(stk_session_step(f.s, NULL), 0);
    stk_session_wait(f.s);
    replay_t r;
    replay_stream(&f, &r);
    cr_assert_eq(r.marks, 2, "ticks 100 and 200 at 20 Hz");
    cr_assert_eq(r.mismatches, 0);
    replay_free(&r);
    fx_close(&f);
}

/* ---- property: random valid and invalid commands, live then replayed ---------------- */

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One random command from player 0..4 (4 is nobody's id). */
static stk_game_input_t random_input(uint64_t *rs, const stk_game_t *g)
{
    static const int kinds[] = {STK_INPUT_PLACE,      STK_INPUT_PLACE,     STK_INPUT_PLACE,
                                STK_INPUT_UPGRADE,    STK_INPUT_SELL,      STK_INPUT_CALL_WAVE,
                                STK_INPUT_PAUSE,      STK_INPUT_RESUME,    STK_INPUT_RESUME,
                                STK_INPUT_DISCONNECT, STK_INPUT_RECONNECT, STK_INPUT_READY,
                                STK_INPUT_START,      STK_INPUT_LEAVE,     STK_INPUT_JOIN};
    int kind = kinds[mix(rs) % (sizeof kinds / sizeof kinds[0])];
    if (kind == STK_INPUT_LEAVE && mix(rs) % 8 != 0)
        kind = STK_INPUT_CALL_WAVE; /* keep most games populated */
    stk_game_input_t in = in_of(kind, (uint8_t)(1 + mix(rs) % 5));
    in.x = (uint32_t)(mix(rs) % 24);
    in.y = (uint32_t)(mix(rs) % 24);
    in.tower = (int32_t)(mix(rs) % 6) - 1;
    in.tower_id = (uint32_t)(mix(rs) % (stk_game_tower_count(g) + 3));
    if (kind == STK_INPUT_JOIN && mix(rs) % 2 == 0)
        in.damage_bp = 1; /* bonuses that do not sum to 5000 */
    return in;
}

Test(session, random_command_sequences_replay_to_the_live_hash_for_1000_seeds, .timeout = 600)
{
    fx_t f;
    fx_open(&f, 1, 40);
    stk_session_close(f.s); /* keep the log and writer, one session per seed below */
    f.s = NULL;
    uint64_t refused = 0, accepted = 0, finished = 0;
    for (uint64_t seed = 1; seed <= 1000; seed++) {
        uint64_t rs = seed;
        stk_session_open_args_t a;
        memset(&a, 0, sizeof a);
        memset(a.id.b, 0, 16);
        memcpy(a.id.b, &seed, sizeof seed);
        a.id.b[15] = 0x5E;
        memset(a.opener.b, 1, 16);
        a.seed = seed;
        a.map_payload = (const uint8_t *)f.map.data;
        a.map_len = f.map.size;
        stk_session_opts_t o = {.mark_every = 40};
        cr_assert_eq(stk_session_open(&f.s, f.w, &a, &o), 0);
        f.id = a.id;
        stk_session_wait(f.s);
        int players = 1 + (int)(mix(&rs) % 4);
        fx_start(&f, players);
        for (int it = 0; it < 1500; it++) {
            const stk_game_t *g = stk_session_game(f.s);
            stk_game_state_t st = stk_game_state(g);
            if (st == STK_GAME_COMPLETED || st == STK_GAME_ABANDONED)
                break;
            for (uint64_t k = mix(&rs) % 4; k > 0 && mix(&rs) % 3 == 0; k--) {
                stk_game_input_t in = random_input(&rs, g);
                int rc = stk_session_submit(f.s, &in, NULL, NULL, NULL);
                cr_assert(rc == 0 || rc == STK_EPERM, "seed %llu: %s", (unsigned long long)seed,
                          stk_errname(rc));
                if (rc == 0)
                    accepted++;
                else
                    refused++;
            }
            stk_session_wait(f.s);
            cr_assert_eq(stk_session_step(f.s, NULL), 0);
        }
        stk_session_wait(f.s);
        cr_assert_eq(stk_session_error(f.s), 0);
        if (stk_game_state(stk_session_game(f.s)) >= STK_GAME_COMPLETED)
            finished++;
        replay_t r;
        replay_stream(&f, &r);
        cr_assert_eq(r.mismatches, 0, "seed %llu: an outcome differs on replay",
                     (unsigned long long)seed);
        /* The live game may have run on past its last event: catch up. */
        const stk_game_t *live = stk_session_game(f.s);
        while (stk_game_tick(r.g) < stk_game_tick(live) &&
               stk_game_state(r.g) == STK_GAME_IN_PROGRESS)
            stk_game_step(r.g, NULL);
        cr_assert_eq(stk_game_hash(r.g), stk_game_hash(live),
                     "seed %llu: final hash differs on replay", (unsigned long long)seed);
        replay_free(&r);
        stk_session_close(f.s);
        f.s = NULL;
    }
    cr_assert_gt(accepted, 1000);
    cr_assert_gt(refused, 1000, "the sequences hold invalid commands too");
    cr_assert_gt(finished, 500, "most games reach their end");
    fx_close(&f);
}

/* ---- resume from the log ------------------------------------------------------------- */

Test(session, a_resumed_host_continues_the_same_game)
{
    fx_t f;
    fx_open(&f, 2, 30);
    fx_start(&f, 2);
    for (int t = 0; t < 120; t++) {
        if (t % 25 == 0) {
            stk_game_input_t in = in_of(STK_INPUT_PLACE, (uint8_t)(1 + t % 2));
            in.x = 2 + (uint32_t)t / 10;
            in.y = 9;
            in.tower = STK_TOWER_ARROW;
            ok(&f, in);
            stk_session_wait(f.s);
        }
        cr_assert_eq(stk_session_step(f.s, NULL), 0);
    }
    stk_session_wait(f.s);
    /* The last event is the tick mark of tick 120 (every 30): resume lands there. */
    uint64_t hash_at_120 = stk_game_hash(stk_session_game(f.s));
    stk_session_close(f.s);
    f.s = NULL;

    stk_session_opts_t o = {.mark_every = 30};
    cr_assert_eq(stk_session_resume(&f.s, f.w, f.log, &f.id, &o), 0);
    const stk_game_t *g = stk_session_game(f.s);
    cr_assert_eq(stk_game_tick(g), 120);
    cr_assert_eq(stk_game_hash(g), hash_at_120);
    cr_assert_eq(stk_game_tower_count(g), 5);
    for (int guard = 0; guard < 20000 && stk_game_state(g) != STK_GAME_COMPLETED; guard++) {
        if (stk_game_tick(g) == 150) {
            stk_game_input_t in = in_of(STK_INPUT_UPGRADE, 1);
            in.tower_id = 1;
            ok(&f, in);
            stk_session_wait(f.s);
        }
        cr_assert_eq(stk_session_step(f.s, NULL), 0);
    }
    cr_assert_eq(stk_game_state(g), STK_GAME_COMPLETED);
    stk_session_wait(f.s);
    cr_assert_eq(stk_session_error(f.s), 0, "the resumed host's versions fit the stream");
    replay_t r;
    replay_stream(&f, &r);
    cr_assert_eq(r.mismatches, 0);
    cr_assert_eq(r.game_ends, 1);
    cr_assert_eq(stk_game_hash(r.g), stk_game_hash(g));
    replay_free(&r);
    fx_close(&f);
}

Test(session, resume_refuses_a_stream_whose_hashes_differ)
{
    fx_t f;
    fx_open(&f, 1, 0);
    fx_start(&f, 1);
    stk_session_close(f.s);
    f.s = NULL;
    /* A TickMark with a wrong hash, appended behind the host's back. */
    stk_game_record_t rec = {.type = STK_EV_TICK_MARK, .tick = 0, .hash = 12345};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_record_encode(&rec, &sb), 0);
    stk_append_t it;
    memset(&it, 0, sizeof it);
    it.stream = f.id;
    it.type = STK_EV_TICK_MARK;
    it.schema = 1;
    it.payload = (const uint8_t *)sb.data;
    it.payload_len = sb.size;
    it.expected_version = STK_VERSION_ANY;
    stk_append_result_t res;
    cr_assert_eq(stk_log_append(f.log, &it, 1, &res), 0);
    msgpack_sbuffer_destroy(&sb);
    cr_assert_eq(stk_session_resume(&f.s, f.w, f.log, &f.id, NULL), STK_EHASH);
    cr_assert_null(f.s);
    stk_uuid_t nobody;
    memset(&nobody, 0x77, sizeof nobody);
    cr_assert_eq(stk_session_resume(&f.s, f.w, f.log, &nobody, NULL), STK_ENOTFOUND);
    fx_close(&f);
}
