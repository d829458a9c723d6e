/* tests/fuzz/fuzz_game_bridge.c — libFuzzer target for the decoders of events/game.h, the
 * bridge from stored session events to the game core.
 *
 * Input: byte 0 picks what the rest is, byte 1 is a modifier, bytes 2.. are a payload.
 *   selector 0  balance bin (stk_game_balance_decode); on success a game is created with
 *               those tables and played for a while (any valid table must be playable);
 *   selector 1  MapDrawn / MapEdited payload (stk_game_map_decode; modifier bit 0 picks the
 *               type, bit 7 an arbitrary schema); a map that validates must re-encode and
 *               decode to the same stk_map_t, and must make a game;
 *   selector 2  SessionOpened payload in an envelope (stk_game_opened_decode; modifier bit 0
 *               picks schema 1 or 2); on success the game is created (it may still refuse);
 *   selector 3+ the payload of one event type (table below: every session type, a few
 *               others, an unknown id) through stk_game_event_to_input(); the modifier picks
 *               the actor and one of five prepared games. An input is applied to a clone
 *               of that game, which is then stepped; a decoded input or outcome must
 *               encode and decode back to the same value.
 * Nothing may crash, leak or read out of bounds. Not thread-safe (one libFuzzer thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/game.h"
#include "events/game.h"
#include "events/types.h"
#include "fuzz_game_setup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BRIDGE_INPUT_MAX (1024u * 1024u)
#define BRIDGE_STAGES    5

static const uint16_t event_types[] = {
    STK_EV_PLAYER_JOINED,     STK_EV_PLAYER_LEFT,         STK_EV_PLAYER_READY,
    STK_EV_SESSION_STARTED,   STK_EV_TOWER_PLACED,        STK_EV_TOWER_UPGRADED,
    STK_EV_TOWER_SOLD,        STK_EV_WAVE_CALLED,         STK_EV_SESSION_PAUSED,
    STK_EV_SESSION_RESUMED,   STK_EV_PLAYER_DISCONNECTED, STK_EV_PLAYER_RECONNECTED,
    STK_EV_SESSION_ABANDONED, STK_EV_WAVE_ENDED,          STK_EV_GAME_ENDED,
    STK_EV_TICK_MARK,         STK_EV_SESSION_OPENED,      STK_EV_MAP_DRAWN,
    STK_EV_TRIBE_FOUNDED,     STK_EV_USER_REGISTERED,     999,
};
#define N_EVENT_TYPES (sizeof event_types / sizeof event_types[0])

static stk_game_t *stages[BRIDGE_STAGES]; /* built once; reachable, so not leaks */

static void build_stages(void)
{
    for (int i = 0; i < BRIDGE_STAGES; i++) {
        if (fuzz_game_new(NULL, &stages[i]) != 0)
            abort();
        fuzz_game_drive(stages[i], i);
    }
}

/* Join, ready, start, build one of each tower, call both waves and run 300 ticks. */
static void play(stk_game_t *g)
{
    fuzz_game_drive(g, 2);
    fuzz_apply(g, STK_INPUT_UPGRADE, FUZZ_P1, 0, 0, 0, 1);
    for (int i = 0; i < 300; i++) {
        stk_game_step(g, NULL);
        if (i % 50 == 0)
            fuzz_apply(g, STK_INPUT_CALL_WAVE, FUZZ_P1, 0, 0, 0, 0);
    }
    (void)stk_game_hash(g);
}

static void try_balance(const uint8_t *p, size_t n)
{
    stk_balance_t b;
    stk_game_t *g = NULL;
    stk_payload_error_t err;
    if (stk_game_balance_decode(p, n, &b, &err) != 0)
        return;
    if (fuzz_game_new(&b, &g) != 0)
        abort(); /* decode promises a table that passes stk_balance_validate() */
    play(g);
    stk_game_destroy(g);
}

static void try_map(uint8_t mod, const uint8_t *p, size_t n)
{
    uint16_t type = (mod & 1) ? STK_EV_MAP_EDITED : STK_EV_MAP_DRAWN;
    uint16_t schema = (mod & 0x80) ? (uint16_t)((mod >> 1) & 3) : 1;
    stk_map_t *m = malloc(sizeof *m), *back = malloc(sizeof *back);
    stk_game_map_meta_t meta, meta2;
    stk_payload_error_t err;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (!m || !back)
        abort();
    if (stk_game_map_decode(type, schema, p, n, m, &meta, &err) != 0)
        goto done;
    stk_map_problem_t probs[4];
    size_t count = 0;
    int rc = stk_map_validate(m, probs, 4, &count);
    if ((rc == 0) != (count == 0))
        abort();
    if (rc != 0)
        goto done;
    if (stk_game_map_encode(type, m, &meta, &sb) != 0)
        abort(); /* a valid decoded map must encode */
    if (stk_game_map_decode(type, 1, (const uint8_t *)sb.data, sb.size, back, &meta2, &err) != 0 ||
        memcmp(m, back, sizeof *m) != 0 || meta2.name_len != meta.name_len ||
        meta2.description_len != meta.description_len)
        abort(); /* and decode to the same map */
    stk_game_setup_t s;
    stk_game_t *g = NULL;
    memset(&s, 0, sizeof s);
    s.map = m;
    s.seed = 1;
    s.tick_rate = 20;
    s.ruleset = STK_RULESET_VERSION;
    stk_balance_default(&s.balance);
    if (stk_game_create(&s, &g) != 0)
        abort(); /* a map that passes stk_map_validate() must make a game */
    (void)stk_game_hash(g);
    stk_game_destroy(g);
done:
    msgpack_sbuffer_destroy(&sb);
    free(back);
    free(m);
}

static void try_opened(uint8_t mod, const uint8_t *p, size_t n)
{
    stk_envelope_t e;
    stk_game_opened_t op;
    stk_payload_error_t err;
    stk_map_t *m = malloc(sizeof *m);
    if (!m)
        abort();
    memset(&e, 0, sizeof e);
    e.seq = 1;
    e.version = 1;
    e.type = STK_EV_SESSION_OPENED;
    e.schema = (mod & 0x80) ? (uint16_t)(mod & 3) : (mod & 1) ? 1 : 2;
    e.payload = p;
    e.payload_len = n;
    if (stk_game_opened_decode(&e, m, &op, &err) == 0) {
        stk_game_t *g = NULL;
        if (op.setup.map != m)
            abort();
        if (stk_game_create(&op.setup, &g) == 0) {
            fuzz_game_drive(g, 2);
            for (int i = 0; i < 20; i++)
                stk_game_step(g, NULL);
            (void)stk_game_hash(g);
            stk_game_destroy(g);
        }
    }
    free(m);
}

static void check_input_round_trip(const stk_game_input_t *in, uint16_t type)
{
    stk_game_input_t back;
    stk_game_record_t rec;
    stk_envelope_t e;
    uint16_t t2 = 0;
    msgpack_sbuffer sb;
    if (in->kind == STK_INPUT_PLACE && in->tower < 0)
        return; /* an unknown tower name has no encoding (documented) */
    msgpack_sbuffer_init(&sb);
    if (stk_game_input_encode(in, NULL, &t2, &sb) != 0 || t2 != type)
        abort();
    memset(&e, 0, sizeof e);
    e.type = t2;
    e.schema = 1;
    memcpy(e.actor.b, in->player, STK_UUID_LEN);
    e.payload = (const uint8_t *)sb.data;
    e.payload_len = sb.size;
    if (stk_game_event_to_input(&e, NULL, &back, &rec, NULL) != STK_GAME_EVENT_INPUT ||
        memcmp(in, &back, sizeof back) != 0)
        abort();
    msgpack_sbuffer_destroy(&sb);
}

static void check_record_round_trip(const stk_game_record_t *rec)
{
    stk_game_input_t in;
    stk_game_record_t back;
    stk_envelope_t e;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (stk_game_record_encode(rec, &sb) != 0)
        abort();
    memset(&e, 0, sizeof e);
    e.type = rec->type;
    e.schema = 1;
    e.tick = rec->tick;
    e.payload = (const uint8_t *)sb.data;
    e.payload_len = sb.size;
    if (stk_game_event_to_input(&e, NULL, &in, &back, NULL) != STK_GAME_EVENT_OUTCOME ||
        !stk_game_record_equal(rec, &back))
        abort();
    msgpack_sbuffer_destroy(&sb);
}

static void try_event(uint8_t sel, uint8_t mod, const uint8_t *p, size_t n)
{
    static const uint8_t who[] = {FUZZ_P1, FUZZ_P2, FUZZ_P3, 0};
    stk_envelope_t e;
    stk_game_input_t in;
    stk_game_record_t rec;
    stk_payload_error_t err;
    memset(&e, 0, sizeof e);
    e.seq = 9;
    e.version = 3;
    e.type = event_types[(size_t)(sel - 3) % N_EVENT_TYPES];
    e.schema = 1;
    e.tick = 40;
    memset(e.actor.b, who[mod & 3], sizeof e.actor.b);
    e.payload = p;
    e.payload_len = n;
    int rc = stk_game_event_to_input(&e, NULL, &in, &rec, &err);
    if (rc == STK_GAME_EVENT_OUTCOME) {
        check_record_round_trip(&rec);
    } else if (rc == STK_GAME_EVENT_INPUT) {
        stk_game_t *g = NULL;
        stk_reject_t why;
        check_input_round_trip(&in, e.type);
        if (stk_game_clone(stages[(mod >> 2) % BRIDGE_STAGES], &g) != 0)
            abort();
        (void)stk_game_check(g, &in, &why);
        (void)stk_game_apply(g, &in, &why);
        for (int i = 0; i < 10; i++)
            stk_game_step(g, NULL);
        (void)stk_game_hash(g);
        stk_game_destroy(g);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > BRIDGE_INPUT_MAX)
        return 0;
    if (!stages[0])
        build_stages();
    uint8_t sel = data[0], mod = data[1];
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    sel %= (uint8_t)(3 + N_EVENT_TYPES);
    if (sel == 0)
        try_balance(p, n);
    else if (sel == 1)
        try_map(mod, p, n);
    else if (sel == 2)
        try_opened(mod, p, n);
    else
        try_event(sel, mod, p, n);
    return 0;
}
