/* tests/core/test_game_determinism.c — same setup + same inputs → same hash, always; a
 * different seed or input → a different state; live play vs replay of the accepted inputs
 * over 1,000 seeds; clone and diff; a pinned golden hash. */
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "core/rng.h"
#include "test_game_fixture.h"

/* A small deterministic generator for the test's own choices (not the game's PRNG). */
static uint64_t test_rand(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

static void mixed_map(stk_map_t *m)
{
    fx_map(m, STK_ENEMY_GRUNT, 6, 300);
    m->waves[0].n_groups = 2;
    m->waves[0].groups[1] = (stk_map_enemies_t){STK_ENEMY_RUNNER, 4, 200};
    fx_add_wave(m, STK_ENEMY_BRUTE, 3, 700);
    fx_add_wave(m, STK_ENEMY_FLYER, 5, 250);
    fx_add_wave(m, STK_ENEMY_GRUNT, 12, 100);
    for (uint32_t y = 2; y < 18; y++)
        if (y != FX_ROW)
            stk_map_tile_mut(m, 12, y)->terrain = STK_TERRAIN_WATER;
}

/* A fixed script: two players build one of each tower, call waves, upgrade, sell. */
static void scripted(stk_game_t *g, uint64_t *hashes, int n_ticks)
{
    fx_start(g, 2);
    fx_place(g, 1, 4, FX_ROW - 1, STK_TOWER_CANNON);
    fx_place(g, 2, 6, FX_ROW + 1, STK_TOWER_TESLA);
    fx_place(g, 1, 8, FX_ROW - 1, STK_TOWER_FROST);
    uint32_t arrow = fx_place(g, 2, 10, FX_ROW + 1, STK_TOWER_ARROW);
    fx_call_wave(g, 1);
    for (int t = 0; t < n_ticks; t++) {
        if (t == 100) {
            stk_game_input_t in = fx_input(STK_INPUT_UPGRADE, 2);
            in.tower_id = arrow;
            fx_ok(g, &in);
        }
        if (t == 300) {
            stk_game_input_t in = fx_input(STK_INPUT_SELL, 2);
            in.tower_id = arrow;
            fx_ok(g, &in);
            fx_place(g, 2, 11, FX_ROW, STK_TOWER_CANNON);
        }
        stk_game_step(g, NULL);
        if (hashes)
            hashes[t] = stk_game_hash(g);
    }
}

Test(game_determinism, same_seed_and_inputs_give_the_same_hash_every_tick)
{
    enum { N = 1500 };
    static uint64_t ha[N], hb[N];
    stk_map_t m;
    mixed_map(&m);
    stk_game_t *a = fx_game(&m, 42), *b = fx_game(&m, 42);
    scripted(a, ha, N);
    scripted(b, hb, N);
    for (int t = 0; t < N; t++)
        cr_assert_eq(ha[t], hb[t], "hashes differ at tick %d", t + 1);
    cr_expect_eq(stk_game_diff(a, b, NULL, NULL, 100), 0);
    cr_expect_gt(stk_game_waves_cleared(a), 0, "the script actually plays");
    stk_game_destroy(a);
    stk_game_destroy(b);
}

typedef struct diffs {
    int n, gameplay;
    char first[64];
} diffs_t;

static void collect(void *ctx, const char *field, int64_t a, int64_t b)
{
    diffs_t *d = ctx;
    (void)a;
    (void)b;
    if (d->n++ == 0)
        snprintf(d->first, sizeof(d->first), "%s", field);
    if (strncmp(field, "enemies", 7) == 0 || strncmp(field, "players", 7) == 0)
        d->gameplay++;
}

Test(game_determinism, a_different_seed_changes_the_hash_and_the_play)
{
    stk_map_t m;
    mixed_map(&m);
    stk_game_t *a = fx_game(&m, 1), *b = fx_game(&m, 2);
    cr_expect_neq(stk_game_hash(a), stk_game_hash(b));
    scripted(a, NULL, 400);
    scripted(b, NULL, 400);
    diffs_t d = {0};
    cr_expect_gt(stk_game_diff(a, b, collect, &d, 1000), 0);
    cr_expect_str_eq(d.first, "setup");
    cr_expect_gt(d.gameplay, 0, "the PRNG (spawn jitter, splash) must matter");
    stk_game_destroy(a);
    stk_game_destroy(b);
}

Test(game_determinism, a_different_input_changes_the_hash)
{
    stk_map_t m;
    mixed_map(&m);
    stk_game_t *a = fx_game(&m, 5), *b = fx_game(&m, 5);
    fx_start(a, 1);
    fx_start(b, 1);
    cr_expect_eq(stk_game_hash(a), stk_game_hash(b));
    fx_place(a, 1, 3, 3, STK_TOWER_ARROW);
    fx_place(b, 1, 3, 4, STK_TOWER_ARROW);
    cr_expect_neq(stk_game_hash(a), stk_game_hash(b));
    diffs_t d = {0};
    stk_game_diff(a, b, collect, &d, 10);
    cr_expect_str_eq(d.first, "towers[0].y");
    stk_game_destroy(a);
    stk_game_destroy(b);
}

/* A random input, valid or not, for the property test. */
static stk_game_input_t random_input(uint64_t *s, uint32_t max_tower_id)
{
    stk_game_input_t in =
        fx_input((int)(test_rand(s) % (STK_INPUT_KINDS + 1)), (uint8_t)(test_rand(s) % 6));
    if (in.kind == STK_INPUT_ABANDON && test_rand(s) % 20 != 0)
        in.kind = STK_INPUT_PLACE; /* keep most games alive */
    if (in.kind == STK_INPUT_PAUSE && test_rand(s) % 4 != 0)
        in.kind = STK_INPUT_RESUME;
    uint32_t bonus[3] = {0, 0, 0};
    bonus[test_rand(s) % 3] = 5000 - (uint32_t)(test_rand(s) % 2) * (uint32_t)(test_rand(s) % 5000);
    in.damage_bp = bonus[0];
    in.attack_speed_bp = bonus[1];
    in.range_bp = 5000 - bonus[0] - bonus[1] > 5000 ? 0 : bonus[2];
    in.ready = test_rand(s) % 4 != 0;
    in.x = (uint32_t)(test_rand(s) % (FX_W + 2));
    in.y = (uint32_t)(test_rand(s) % (FX_H + 2));
    in.tower = (int32_t)(test_rand(s) % (STK_TOWER_KINDS + 2)) - 1;
    in.tower_id = (uint32_t)(test_rand(s) % (max_tower_id + 3));
    return in;
}

typedef struct logged {
    uint64_t tick;
    stk_game_input_t in;
} logged_t;

Test(game_determinism, live_play_and_replay_of_accepted_inputs_agree_over_1000_seeds)
{
    enum { SEEDS = 1000, TICKS = 900, LOG_MAX = 4096 };
    static logged_t log[LOG_MAX];
    stk_map_t m;
    mixed_map(&m);
    int accepted_total = 0, rejected_total = 0, ended_total = 0, waves_total = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15);
        stk_game_t *live = fx_game(&m, seed), *twin = fx_game(&m, seed);
        size_t n_log = 0;
        uint64_t wave_hashes = 0;
        /* live: every input applied to two independent games; accepted ones are logged */
        int n_players = 1 + (int)(seed % 4);
        for (int t = 0; t < TICKS; t++) {
            /* mostly quiet ticks; a burst of joins/readies/start at the beginning */
            int n_inputs = t < 3 ? n_players + 1 : (test_rand(&s) % 6 == 0) + (t % 97 == 0);
            for (int k = 0; k < n_inputs; k++) {
                stk_game_input_t in = random_input(&s, (uint32_t)stk_game_tower_count(live) + 2);
                if (t < 3 && test_rand(&s) % 8 != 0) { /* help the session get going */
                    uint8_t p = (uint8_t)(1 + k % n_players);
                    if (t == 0)
                        in = fx_join_input(p, FX_TRIBE_RANGE);
                    if (t == 1) {
                        in = fx_input(STK_INPUT_READY, p);
                        in.ready = true;
                    }
                    if (t == 2)
                        in = fx_input(STK_INPUT_START, 1);
                } else if (test_rand(&s) % 3 == 0) { /* plausible builds */
                    in.kind = STK_INPUT_PLACE;
                    in.player[0] = in.player[15] = 0;
                    memset(in.player, 1 + (int)(test_rand(&s) % (unsigned)n_players),
                           sizeof(in.player));
                    in.tower = (int32_t)(test_rand(&s) % STK_TOWER_KINDS);
                }
                stk_reject_t w1, w2;
                int r1 = stk_game_apply(live, &in, &w1);
                int r2 = stk_game_apply(twin, &in, &w2);
                cr_assert_eq(r1, r2);
                cr_assert_eq(w1, w2, "seed %llu", (unsigned long long)seed);
                if (r1 == 0) {
                    cr_assert_lt(n_log, (size_t)LOG_MAX);
                    log[n_log++] = (logged_t){stk_game_tick(live), in};
                    accepted_total++;
                } else {
                    rejected_total++;
                }
            }
            stk_game_outcome_t o1, o2;
            stk_game_step(live, &o1);
            stk_game_step(twin, &o2);
            cr_assert_eq(o1.hash, o2.hash);
            if (o1.wave_ended || o1.game_ended)
                wave_hashes = wave_hashes * 31 + o1.hash;
            ended_total += o1.game_ended;
        }
        waves_total += (int)stk_game_waves_cleared(live);
        uint64_t h = stk_game_hash(live);
        cr_assert_eq(h, stk_game_hash(twin), "seed %llu: twins diverged", (unsigned long long)seed);

        /* replay: only the logged inputs, each at its recorded tick. Steps outside
         * IN_PROGRESS are no-ops, so inputs sharing a tick (lobby, pause) are applied
         * together before the next step, as a log reader does. */
        stk_game_t *replay = fx_game(&m, seed);
        uint64_t target = stk_game_tick(live);
        size_t next = 0;
        uint64_t replay_wave_hashes = 0;
        for (int guard = 0;; guard++) {
            cr_assert_lt(guard, TICKS + 10);
            while (next < n_log && log[next].tick == stk_game_tick(replay)) {
                stk_reject_t why;
                cr_assert_eq(stk_game_apply(replay, &log[next].in, &why), 0,
                             "seed %llu: logged input refused on replay: %s",
                             (unsigned long long)seed, stk_reject_name(why));
                next++;
            }
            if (stk_game_tick(replay) == target)
                break;
            stk_game_outcome_t o;
            stk_game_step(replay, &o);
            if (o.wave_ended || o.game_ended)
                replay_wave_hashes = replay_wave_hashes * 31 + o.hash;
        }
        cr_assert_eq(next, n_log, "seed %llu: log not fully replayed", (unsigned long long)seed);
        cr_assert_eq(stk_game_hash(replay), h, "seed %llu: replay diverged",
                     (unsigned long long)seed);
        cr_assert_eq(replay_wave_hashes, wave_hashes);

        /* and a snapshot of the final state restores to the same state, whatever it is */
        static uint8_t snap[1 << 16];
        size_t len = 0;
        cr_assert_eq(stk_game_snapshot(live, snap, sizeof(snap), &len), 0);
        stk_game_t *restored = fx_game(&m, seed);
        cr_assert_eq(stk_game_restore(restored, snap, len), 0, "seed %llu",
                     (unsigned long long)seed);
        cr_assert_eq(stk_game_hash(restored), h);
        stk_game_destroy(restored);
        stk_game_destroy(replay);
        stk_game_destroy(live);
        stk_game_destroy(twin);
    }
    cr_expect_gt(accepted_total, SEEDS * 10);
    cr_expect_gt(rejected_total, SEEDS * 10);
    cr_expect_gt(waves_total, SEEDS / 2, "games get past their first waves");
    cr_expect_gt(ended_total, 0, "some games end");
    cr_log_info("accepted %d, rejected %d, games ended %d, waves cleared %d", accepted_total,
                rejected_total, ended_total, waves_total);
}

Test(game_determinism, a_clone_is_equal_and_independent)
{
    stk_map_t m;
    mixed_map(&m);
    stk_game_t *a = fx_game(&m, 9), *b = NULL;
    scripted(a, NULL, 400);
    cr_assert_gt(stk_game_enemy_count(a), 0);
    cr_assert_eq(stk_game_clone(a, &b), 0);
    cr_expect_eq(stk_game_hash(a), stk_game_hash(b));
    cr_expect_eq(stk_game_diff(a, b, NULL, NULL, 10), 0);
    fx_steps(a, 50);
    fx_steps(b, 50);
    cr_expect_eq(stk_game_hash(a), stk_game_hash(b));
    fx_place(b, 1, 2, 2, STK_TOWER_ARROW);
    cr_expect_neq(stk_game_hash(a), stk_game_hash(b));
    diffs_t d = {0};
    cr_expect_gt(stk_game_diff(a, b, collect, &d, 1), 0);
    cr_expect_eq(d.n, 1, "max is honoured");
    stk_game_destroy(a);
    stk_game_destroy(b);
}

/* Pinned: the scripted game on the mixed map, seed 42, after 1500 ticks. A change here is a
 * change of the rules or of the default balance: bump STK_RULESET_VERSION (or ship a new
 * balance table) and update the pin deliberately. */
#define GOLDEN_HASH UINT64_C(0xf97ee76478e08051)

Test(game_determinism, the_golden_game_hash_is_pinned)
{
    stk_map_t m;
    mixed_map(&m);
    stk_game_t *g = fx_game(&m, 42);
    scripted(g, NULL, 1500);
    uint64_t h = stk_game_hash(g);
    cr_expect_eq(h, GOLDEN_HASH, "golden hash is 0x%016llx", (unsigned long long)h);
    stk_game_destroy(g);
}

Test(game_determinism, a_snapshot_restores_the_same_game)
{
    stk_map_t m;
    mixed_map(&m);
    stk_game_t *a = fx_game(&m, 11), *b = fx_game(&m, 11);
    scripted(a, NULL, 420);
    cr_assert_gt(stk_game_enemy_count(a), 0);
    cr_assert_gt(stk_game_tower_count(a), 0);
    size_t len = 0;
    cr_assert_eq(stk_game_snapshot(a, NULL, 0, &len), STK_ETOOBIG);
    uint8_t *buf = malloc(len);
    size_t len2 = 0;
    cr_assert_eq(stk_game_snapshot(a, buf, len - 1, &len2), STK_ETOOBIG);
    cr_assert_eq(stk_game_snapshot(a, buf, len, &len2), 0);
    cr_assert_eq(len2, len);
    cr_expect_eq(XXH3_64bits(buf, len), stk_game_hash(a), "the snapshot is what is hashed");

    cr_assert_eq(stk_game_restore(b, buf, len), 0);
    cr_expect_eq(stk_game_hash(b), stk_game_hash(a));
    cr_expect_eq(stk_game_diff(a, b, NULL, NULL, 10), 0);
    /* the restored game plays on exactly like the original, walls and all */
    stk_game_input_t in = fx_place_input(1, 2, FX_ROW - 1, STK_TOWER_ARROW);
    fx_ok(a, &in);
    fx_ok(b, &in);
    for (int t = 0; t < 600; t++) {
        stk_game_step(a, NULL);
        stk_game_step(b, NULL);
    }
    cr_expect_eq(stk_game_hash(b), stk_game_hash(a));
    free(buf);
    stk_game_destroy(a);
    stk_game_destroy(b);
}

Test(game_determinism, restore_refuses_foreign_or_damaged_snapshots_and_changes_nothing)
{
    stk_map_t m;
    mixed_map(&m);
    stk_game_t *a = fx_game(&m, 11), *other = fx_game(&m, 12), *b = fx_game(&m, 11);
    scripted(a, NULL, 420);
    size_t len = 0;
    stk_game_snapshot(a, NULL, 0, &len);
    uint8_t *buf = malloc(len + 1);
    cr_assert_eq(stk_game_snapshot(a, buf, len + 1, &len), 0);
    cr_expect_eq(stk_game_restore(other, buf, len), STK_EINVAL, "another seed, another setup");
    uint64_t before = stk_game_hash(b);
    cr_expect_eq(stk_game_restore(b, buf, len - 1), STK_ECORRUPT);
    buf[len] = 0;
    cr_expect_eq(stk_game_restore(b, buf, len + 1), STK_ECORRUPT);
    cr_expect_eq(stk_game_restore(b, NULL, 5), STK_EINVAL);
    cr_expect_eq(stk_game_hash(b), before);
    /* every single damaged byte is either refused or yields a self-consistent game */
    int refused = 0;
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x5a;
        stk_game_t *c = fx_game(&m, 11);
        uint64_t h0 = stk_game_hash(c);
        int rc = stk_game_restore(c, buf, len);
        if (rc != 0) {
            cr_assert_eq(stk_game_hash(c), h0, "byte %zu: a refused restore changed the game", i);
            refused++;
        } else {
            fx_steps(c, 20); /* must not crash (ASan/UBSan) */
        }
        stk_game_destroy(c);
        buf[i] ^= 0x5a;
    }
    cr_expect_gt(refused, (int)len / 2);
    free(buf);
    stk_game_destroy(a);
    stk_game_destroy(other);
    stk_game_destroy(b);
}

Test(game_determinism, the_prng_sequence_is_pinned_and_bounded)
{
    stk_rng_t r, r2;
    stk_rng_seed(&r, 42);
    cr_expect_eq(stk_rng_next(&r), UINT64_C(0x15780b2e0c2ec716));
    cr_expect_eq(stk_rng_next(&r), UINT64_C(0x6104d9866d113a7e));
    cr_expect_eq(stk_rng_next(&r), UINT64_C(0xae17533239e499a1));
    stk_rng_seed(&r, 7);
    stk_rng_seed(&r2, 7);
    uint32_t hist[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint32_t v = stk_rng_below(&r, 3);
        cr_assert_lt(v, 3);
        cr_assert_eq(v, stk_rng_below(&r2, 3));
        hist[v]++;
    }
    for (int i = 0; i < 3; i++)
        cr_expect(hist[i] > 9000 && hist[i] < 11000, "bucket %d: %u", i, hist[i]);
    cr_expect_eq(stk_rng_below(&r, 0), 0);
    cr_expect_eq(stk_rng_below(&r, 1), 0);
}
