/* tests/core/test_game_restore.c — stk_game_restore refuses snapshots whose fields are each
 * in range but break the game's cross-field invariants (found by fuzz_game_restore: a
 * wave_left of 0 with live enemies made the wave clear early, then underflow on the next
 * kill, so the game could neither end nor be snapshotted again). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "core/game.h"
#include "tests/fuzz/fuzz_game_setup.h"

/* Layout of a snapshot (core/game_hash.c w_state): magic, setup digest, 14 scalar fields,
 * 4 PRNG words, then wave_left[] — every item 8 bytes little-endian. */
#define WAVE_LEFT_OFFSET ((2 + 14 + 4) * 8)

static uint8_t snap[1 << 16];

static stk_game_t *running_game(size_t *len)
{
    stk_game_t *g = NULL;
    cr_assert_eq(fuzz_game_new(NULL, &g), 0);
    fuzz_game_drive(g, 2); /* in progress: towers placed, wave 1 enemies alive */
    cr_assert_gt(stk_game_enemy_count(g), 0, "the setup must have live enemies");
    cr_assert_eq(stk_game_snapshot(g, snap, sizeof(snap), len), 0);
    return g;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

Test(game_restore, own_snapshot_restores_to_the_same_hash)
{
    size_t len;
    stk_game_t *g = running_game(&len);
    uint64_t h = stk_game_hash(g);
    cr_expect_eq(stk_game_restore(g, snap, len), 0);
    cr_expect_eq(stk_game_hash(g), h);
    stk_game_destroy(g);
}

Test(game_restore, wave_left_disagreeing_with_live_enemies_is_refused)
{
    size_t len;
    stk_game_t *g = running_game(&len);
    uint64_t h = stk_game_hash(g);
    uint64_t left = get_u64(snap + WAVE_LEFT_OFFSET);
    cr_assert_gt(left, 0, "wave 1 has enemies left");
    uint64_t bad[] = {0, left - 1, left + 1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_u64(snap + WAVE_LEFT_OFFSET, bad[i]);
        cr_expect_eq(stk_game_restore(g, snap, len), STK_ECORRUPT, "wave_left %llu accepted",
                     (unsigned long long)bad[i]);
        cr_expect_eq(stk_game_hash(g), h, "a refused restore changed the game");
    }
    /* The game still steps and snapshots after the refusals. */
    stk_game_step(g, NULL);
    cr_expect_eq(stk_game_snapshot(g, snap, sizeof(snap), &len), 0);
    cr_expect_eq(stk_game_restore(g, snap, len), 0);
    stk_game_destroy(g);
}
