/* events/game.h — the bridge between stored events and the game core (core/game.h).
 *
 * Stored session events are MessagePack payloads (events/types.def); the core speaks C
 * structs (stk_balance_t, stk_map_t, stk_game_setup_t, stk_game_input_t,
 * stk_game_outcome_t). This module converts between the two, both ways, and nothing else:
 *
 *   balance tables   stk_balance_t      <-> SessionOpened.balance bin (format below)
 *   map              stk_map_t + meta   <-> MapDrawn / MapEdited payload (and the
 *                                            SessionOpened.map bin, a MapDrawn v1 payload)
 *   session opening  SessionOpened      <-> stk_game_opened_t (map id + stk_game_setup_t)
 *   inputs           session input event <-> stk_game_input_t (actor = player)
 *   outcomes         WaveEnded / GameEnded / TickMark <-> stk_game_record_t
 *
 * It is NOT the log or the writer (events/log.h, events/writer.h), NOT the command path
 * that decides what to write (events/session.h), and NOT replay (events/replay.h). It never
 * runs the game: it only converts. Decoders take untrusted bytes: they check the payload
 * against its schema (events/payload.h) after upcasting it to the current version
 * (events/upcast.h) and report the offending field in a stk_payload_error_t.
 *
 * Ticks. The envelope tick of a session input is the value of stk_game_tick() at the moment
 * the input is applied: the number of steps done before it takes effect. So an input with
 * tick t acts after step t and before step t+1 ("the next tick"). A replay therefore does:
 *     while (stk_game_tick(g) < e->tick) stk_game_step(g, &o);   then apply the input.
 * An outcome event with tick t carries the state right after step t (WaveEnded/GameEnded
 * of that step, TickMark every N ticks) — or, for a TickMark/GameEnded written in the same
 * batch as a SessionPaused/SessionAbandoned input, right after that input was applied.
 * Inputs never move the tick; in the log an outcome of tick t precedes the inputs of tick t.
 *
 * Balance bin format (a MessagePack map, keys in this order; every key required, no other
 * key allowed; integers must fit int32):
 *   {"enemies": [4 x {"name": str, "health", "speed_mt", "armour", "bounty", "lives",
 *                      "flying"}],                      (index = enum stk_enemy_type)
 *    "towers":  [4 x {"name": str, "effect", "levels": [3 x {"cost", "damage", "range_mt",
 *                      "cooldown_ms", "splash_mt", "slow_bp", "slow_ms", "chain_jumps",
 *                      "chain_mt", "falloff_bp"}]}],     (index = stk_tower_kind_t)
 *    "start_gold", "start_lives", "sell_refund_bp", "wave_bonus", "wave_bonus_step",
 *    "first_wave_ms", "wave_countdown_ms", "splash_min_bp", "spawn_jitter_mt",
 *    ["wave_health_bp"]}
 * i.e. exactly the fields of core/balance.h with the same names. "wave_health_bp" (added
 * later) is the one optional key: written only when not 0, read as 0 when absent, so
 * tables recorded before it decode and re-encode unchanged. The decoded table must
 * pass stk_balance_validate().
 *
 * Output buffers: every encoder writes into a msgpack_sbuffer that the caller initialised
 * (msgpack_sbuffer_init) and destroys; the buffer is CLEARED first, so on success it holds
 * exactly one payload (out->data, out->size), canonical (keys in schema order, smallest
 * integer forms) and already checked with stk_payload_check(). On error its content is
 * unspecified.
 *
 * Thread: every function is pure and reentrant; any thread.
 */
#ifndef STK_EVENTS_GAME_H
#define STK_EVENTS_GAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "core/balance.h"
#include "core/game.h"
#include "core/map.h"
#include "events/envelope.h"
#include "events/payload.h"

/* ---- balance tables ------------------------------------------------------------------ */

/* Encode *b (which must pass stk_balance_validate()) into out as the balance bin's
 * MessagePack map. Returns 0; STK_EINVAL (NULL argument); STK_ERANGE (b is invalid);
 * STK_ENOMEM. Borrowed: b, out. */
int stk_game_balance_encode(const stk_balance_t *b, msgpack_sbuffer *out);

/* Decode len bytes at mp (a SessionOpened.balance bin) into *out. Strict: the exact keys
 * and counts above, then stk_balance_validate(). Returns 0; STK_EINVAL (NULL argument);
 * STK_ETOOBIG, STK_ETRUNC, STK_EDECODE (malformed MessagePack); STK_ESCHEMA (missing,
 * unknown or mistyped key, wrong count, int32 overflow, name too long: err->path names it,
 * e.g. "towers[2].levels[1].cost"); STK_ERANGE (a value outside its documented range:
 * err->path is the stk_balance_validate() field); STK_ENOMEM. err may be NULL.
 * *out is unspecified on error. Borrowed: mp for the call. */
int stk_game_balance_decode(const uint8_t *mp, size_t len, stk_balance_t *out,
                            stk_payload_error_t *err);

/* ---- maps ---------------------------------------------------------------------------- */

/* The parts of a MapDrawn/MapEdited payload that are not in stk_map_t. Strings are
 * UTF-8, not NUL-terminated, with explicit byte lengths. On encode they are borrowed for
 * the call; on decode they point INTO the decoded bytes (valid while those are). */
typedef struct stk_game_map_meta {
    stk_uuid_t user_id; /* MapDrawn only (ignored for MapEdited) */
    const char *name;   /* 1..100 code points */
    size_t name_len;
    const char *description; /* 0..2000 code points; may be NULL when description_len = 0 */
    size_t description_len;
} stk_game_map_meta_t;

/* Encode *m with *meta as a payload of `type` (STK_EV_MAP_DRAWN or STK_EV_MAP_EDITED, both
 * schema 1): terrain bin from m->tiles, spawn/goal, waves with enemy type names
 * (stk_map_enemy_type_name). Only the schema's rules are checked (stk_payload_check: sizes,
 * ranges, spawn/goal inside the map); run stk_map_validate() first for the game's rules
 * (connectivity, wave numbering). Returns 0; STK_EINVAL (NULL argument, other type, or an
 * enemy type id with no name); STK_ESCHEMA (the result breaks the schema; a sizes or range
 * problem of m or meta); STK_ENOMEM. */
int stk_game_map_encode(uint16_t type, const stk_map_t *m, const stk_game_map_meta_t *meta,
                        msgpack_sbuffer *out);

/* Decode a MapDrawn or MapEdited payload (type, schema as in the envelope; upcast first)
 * into *m (stk_map_init'ed first, so unused capacity is zero) and, if meta is not NULL,
 * *meta (pointers into mp). An enemy type name the core does not know is stored as
 * STK_ENEMY_TYPE_INVALID so that stk_map_validate() reports it with its field; this
 * decoder does NOT run stk_map_validate() (stk_game_create() does).
 * Returns 0; STK_EINVAL (NULL argument, type not a map event); STK_ETYPE / STK_EVERSION /
 * STK_ETOOBIG / STK_ETRUNC / STK_EDECODE / STK_ESCHEMA (err names the field) as
 * stk_payload_check(); STK_ENOMEM. err may be NULL. Borrowed: mp (see meta). */
int stk_game_map_decode(uint16_t type, uint16_t schema, const uint8_t *mp, size_t len, stk_map_t *m,
                        stk_game_map_meta_t *meta, stk_payload_error_t *err);

/* ---- SessionOpened ------------------------------------------------------------------- */

/* A decoded SessionOpened: what stk_game_create() needs, plus the map's stream id.
 * setup.map points at the stk_map_t the caller passed to stk_game_opened_decode(). */
typedef struct stk_game_opened {
    stk_uuid_t map_id;
    stk_game_setup_t setup; /* seed, tick_rate, ruleset, balance (copied), map (borrowed) */
} stk_game_opened_t;

/* Build a SessionOpened payload at the CURRENT schema (v2) from map_id, setup->seed,
 * setup->ruleset, setup->tick_rate, setup->balance (encoded with stk_game_balance_encode)
 * and map_payload: the MapDrawn v1 payload bytes of the map as it is at open (borrowed for
 * the call; build one with stk_game_map_encode(STK_EV_MAP_DRAWN, ...)). setup->map is NOT
 * read: the embedded map is map_payload. Returns 0; STK_EINVAL (NULL argument); STK_ERANGE
 * (invalid balance); STK_ESCHEMA (tick rate out of 1..1000, map_payload not a valid
 * MapDrawn v1 payload); STK_ENOMEM. */
int stk_game_opened_encode(const stk_uuid_t *map_id, const stk_game_setup_t *setup,
                           const uint8_t *map_payload, size_t map_len, msgpack_sbuffer *out);

/* Decode a SessionOpened event (any known schema: v1 is upcast, so its tick_rate is 20)
 * into *out, decoding the embedded map into *map (caller-owned, ~50 KiB; out->setup.map =
 * map afterwards) and the balance bin into out->setup.balance. The result is ready for
 * stk_game_create(&out->setup, &g), which still validates the map, the ruleset and the
 * balance ranges. Returns 0; STK_EINVAL (NULL argument, e->type is not SessionOpened);
 * the errors of stk_upcast() / stk_payload_check() for a bad payload; the errors of
 * stk_game_balance_decode() (err->path prefixed "balance.") and stk_game_map_decode()
 * (prefixed "map."); STK_ENOMEM. err may be NULL. Borrowed: e for the call. */
int stk_game_opened_decode(const stk_envelope_t *e, stk_map_t *map, stk_game_opened_t *out,
                           stk_payload_error_t *err);

/* ---- session inputs and outcomes ----------------------------------------------------- */

/* What stk_game_event_to_input() found. */
typedef enum stk_game_event_class {
    STK_GAME_EVENT_OTHER = 0,  /* not a game input nor an outcome (SessionOpened, user,
                                  tribe and map events) */
    STK_GAME_EVENT_INPUT = 1,  /* *in was filled */
    STK_GAME_EVENT_OUTCOME = 2 /* *rec was filled */
} stk_game_event_class_t;

/* A recorded (or recomputed) outcome event: WaveEnded, GameEnded or TickMark. */
typedef struct stk_game_record {
    uint16_t type;            /* STK_EV_WAVE_ENDED, STK_EV_GAME_ENDED or STK_EV_TICK_MARK */
    uint64_t tick;            /* envelope tick (see "Ticks" above) */
    stk_game_result_t result; /* GameEnded: VICTORY, DEFEAT or ABANDONED; else NONE */
    uint32_t wave;            /* WaveEnded: the wave cleared; GameEnded: waves started */
    int32_t lives;            /* WaveEnded, GameEnded */
    uint32_t n_gold;          /* WaveEnded, GameEnded: 0..STK_GAME_MAX_PLAYERS */
    uint64_t gold[STK_GAME_MAX_PLAYERS]; /* per player, join order; unused entries 0 */
    uint64_t hash;                       /* stk_game_hash() of the state */
} stk_game_record_t;

/* Classify a stored event and decode it.
 *   Session input (PlayerJoined ... SessionAbandoned): fills *in (zeroed first): kind,
 *     player = e->actor, and the kind's fields; TowerPlaced's tower name is looked up in
 *     `balance` (the session's tables; NULL = stk_balance_default()) and an unknown name
 *     gives tower = -1 (the core refuses it with UNKNOWN_TOWER); PlayerJoined's "#RRGGBB"
 *     becomes 0xRRGGBB. The input takes effect at e->tick. Returns STK_GAME_EVENT_INPUT.
 *   WaveEnded / GameEnded / TickMark: fills *rec (zeroed first; tick = e->tick).
 *     Returns STK_GAME_EVENT_OUTCOME.
 *   Anything else (known type): returns STK_GAME_EVENT_OTHER and touches nothing.
 * The payload is upcast to the current schema and checked first. Errors (negative):
 * STK_EINVAL (NULL e, in or rec); STK_ETYPE (unknown type id); the errors of
 * stk_upcast()/stk_payload_check() (err names the field); STK_ESCHEMA also for a value the
 * struct cannot hold (tower_id, x or y above UINT32_MAX; lives outside int32; more gold
 * entries than players). err may be NULL. Borrowed: e, balance for the call. */
int stk_game_event_to_input(const stk_envelope_t *e, const stk_balance_t *balance,
                            stk_game_input_t *in, stk_game_record_t *rec, stk_payload_error_t *err);

/* Build the payload of a session input event from *in: *type receives the event type
 * (STK_EV_PLAYER_JOINED ...), out the current-schema payload. The actor (in->player) and
 * the tick go in the envelope, not the payload: the caller sets them. PLACE writes the
 * tower's name from `balance` (NULL = defaults). Returns 0; STK_EINVAL (NULL argument,
 * unknown kind, PLACE with a tower kind outside 0..STK_TOWER_KINDS-1); STK_ESCHEMA
 * (the payload breaks its schema, e.g. JOIN bonuses that do not sum to 5000, color above
 * 0xFFFFFF); STK_ENOMEM. */
int stk_game_input_encode(const stk_game_input_t *in, const stk_balance_t *balance, uint16_t *type,
                          msgpack_sbuffer *out);

/* The record of outcome event `type` for outcome *o (from stk_game_step() of the tick it
 * reports, or stk_game_outcome() for a TickMark or an abandon's GameEnded): tick, hash,
 * and for WaveEnded wave = o->wave_cleared, for GameEnded result and wave = o->wave, plus
 * lives and gold[0..n_players). Returns 0; STK_EINVAL (NULL argument or type not an
 * outcome event). Replay recomputes with this and compares with stk_game_record_equal(). */
int stk_game_record_from_outcome(uint16_t type, const stk_game_outcome_t *o,
                                 stk_game_record_t *rec);

/* Build the payload of rec->type from *rec (rec->tick goes in the envelope). Returns 0;
 * STK_EINVAL (NULL argument, not an outcome type, n_gold > STK_GAME_MAX_PLAYERS, GameEnded
 * with result NONE); STK_ENOMEM. */
int stk_game_record_encode(const stk_game_record_t *rec, msgpack_sbuffer *out);

/* True when a and b carry the same type, tick and every field the type records (unused
 * fields are not compared). */
bool stk_game_record_equal(const stk_game_record_t *a, const stk_game_record_t *b);

/* "#RRGGBB" (either case, exactly 7 bytes) -> 0xRRGGBB. Returns 0 or STK_EINVAL. */
int stk_game_color_parse(const char *s, size_t len, uint32_t *rgb);
/* 0xRRGGBB -> "#rrggbb" and a NUL into out. Returns 0 or STK_ERANGE (rgb > 0xFFFFFF). */
int stk_game_color_format(uint32_t rgb, char out[8]);

#endif
