/* tests/fuzz/fuzz_game_restore.c — libFuzzer target for stk_game_restore() (core/game.h):
 * a snapshot is untrusted bytes (replay keyframes, crash resume), so restore must refuse
 * anything it cannot run and leave the game untouched when it does.
 *
 * The input is restored into a clone of a fresh game on the fixed setup of
 * fuzz_game_setup.h. Seeds: real snapshots of that setup at several stages, and "odd_*"
 * ones edited to pass every range check yet be unreachable by play (towers walling the
 * goal or the spawn, two towers on one tile, enemies in water, on a tower, walled in).
 * Checked, abort() otherwise:
 *   - a refused snapshot changes nothing (same hash as before);
 *   - an accepted one snapshots back to exactly the input bytes (the snapshot IS the
 *     canonical hashed state) and restores into a second game with the same hash;
 *   - after steps and inputs on the restored state (nothing may crash: the state may be
 *     unreachable by play, e.g. enemies walled in), snapshot -> restore gives the same
 *     hash, and both copies stay equal for one more step.
 * Nothing may leak or read out of bounds. Not thread-safe (libFuzzer runs it on one). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/game.h"
#include "fuzz_game_setup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RESTORE_INPUT_MAX (1024u * 1024u)

static stk_game_t *base; /* fresh LOBBY game, built once; reachable, so not a leak */

static void snap(const stk_game_t *g, uint8_t **buf, size_t *len)
{
    size_t need = 0;
    if (stk_game_snapshot(g, NULL, 0, &need) != STK_ETOOBIG && need != 0)
        abort();
    *buf = malloc(need);
    if (!*buf || stk_game_snapshot(g, *buf, need, len) != 0 || *len != need)
        abort();
}

/* Inputs a restored state must survive: each refused or applied, never a crash. */
static void poke(stk_game_t *g, const uint8_t *data, size_t size)
{
    static const uint8_t who[] = {FUZZ_P1, FUZZ_P2, FUZZ_P3, 0};
    uint8_t k = size ? data[size - 1] : 0;
    uint8_t w = who[k & 3];
    uint32_t x = (k >> 2) % 20u, y = (uint32_t)(size % 20u);
    fuzz_apply(g, STK_INPUT_CALL_WAVE, w, 0, 0, 0, 0);
    fuzz_apply(g, STK_INPUT_PLACE, w, x, y, (int32_t)(k % STK_TOWER_KINDS), 0);
    fuzz_apply(g, STK_INPUT_UPGRADE, w, 0, 0, 0, 1u + k % 4u);
    fuzz_apply(g, STK_INPUT_SELL, w, 0, 0, 0, 1u + (k >> 4));
    fuzz_apply(g, STK_INPUT_RESUME, w, 0, 0, 0, 0);
    if (k & 0x80)
        fuzz_apply(g, STK_INPUT_LEAVE, w, 0, 0, 0, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stk_game_t *g = NULL, *g2 = NULL;
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    stk_game_outcome_t o;
    if (size > RESTORE_INPUT_MAX)
        return 0;
    if (!base && fuzz_game_new(NULL, &base) != 0)
        abort();
    if (stk_game_clone(base, &g) != 0)
        abort();
    uint64_t before = stk_game_hash(g);
    if (stk_game_restore(g, data, size) != 0) {
        if (stk_game_hash(g) != before)
            abort(); /* a refused snapshot must change nothing */
        goto done;
    }
    uint64_t h = stk_game_hash(g);
    snap(g, &s1, &n1);
    if (n1 != size || memcmp(s1, data, size) != 0)
        abort(); /* restore accepted a non-canonical snapshot */
    if (stk_game_clone(base, &g2) != 0 || stk_game_restore(g2, s1, n1) != 0 ||
        stk_game_hash(g2) != h)
        abort();
    stk_game_destroy(g2);
    g2 = NULL;

    /* Run the restored state: it may be odd but valid by every range check. */
    for (int i = 0; i < 24; i++) {
        stk_game_step(g, &o);
        if (i == 8)
            poke(g, data, size);
    }
    stk_game_outcome(g, &o);
    h = stk_game_hash(g);
    snap(g, &s2, &n2);
    if (stk_game_clone(base, &g2) != 0 || stk_game_restore(g2, s2, n2) != 0 ||
        stk_game_hash(g2) != h)
        abort(); /* a snapshot of a running game must restore to the same state */
    stk_game_step(g, NULL);
    stk_game_step(g2, NULL);
    if (stk_game_hash(g) != stk_game_hash(g2))
        abort(); /* and run on identically */
done:
    free(s2);
    free(s1);
    stk_game_destroy(g2);
    stk_game_destroy(g);
    return 0;
}
