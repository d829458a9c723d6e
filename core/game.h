/* core/game.h — the deterministic game: session state machine, towers, enemies, waves,
 * economy, and the canonical state hash.
 *
 * A stk_game_t is one session's simulation. It is driven by two calls only:
 *   stk_game_apply(g, input)  one player/server input (the session events of
 *                             events-list.md, one input kind per event type), and
 *   stk_game_step(g, out)     one fixed tick, which reports wave and game ends.
 * Both are pure functions of (state, argument): integer and 16.16 fixed-point arithmetic
 * only, entity ids that are never reused, iteration in id order, one seeded PRNG kept in the
 * state, no clock, no I/O, no allocation (every pool is sized at stk_game_create()).
 * Two games created with the same setup and fed the same inputs at the same ticks have the
 * same stk_game_hash() after every call, on every platform.
 *
 * It is NOT the event codec (events/ turns session events into stk_game_input_t and step
 * outcomes into WaveEnded/GameEnded/TickMark) and NOT the map or pathing (core/map.h,
 * core/path.h), which it uses.
 *
 * Session states (stk_game_state_t):
 *
 *      JOIN/LEAVE/READY               PAUSE (host)
 *     +--------+   START (host,   +-------------+ ------------> +--------+
 *     | LOBBY  | -- all ready) -> | IN_PROGRESS |               | PAUSED |
 *     +--------+                  +-------------+ <------------ +--------+
 *         |                         |        |     RESUME (host)     |
 *         |                   0 lives   all waves cleared            |
 *         |                         v        v                       |
 *         |                      +-----------+                       |
 *         |                      | COMPLETED |  (defeat | victory)   |
 *         |                      +-----------+                       |
 *         +---------- ABANDON (host or server) --> ABANDONED <-------+
 *
 * Only IN_PROGRESS advances time (stk_game_step() is a no-op otherwise and the tick count
 * does not move). COMPLETED and ABANDONED are final: every input is refused.
 *
 * Rules summary (numbers are the balance tables, core/balance.h):
 * - Players: up to STK_GAME_MAX_PLAYERS, in join order; the host is the first player in
 *   join order who has not left (the opener, unless they left). Each player brings tribe
 *   bonuses in basis points (damage, attack speed, range, each 0..5000, summing to 5000)
 *   that apply to the towers they own: damage * (1 + d), range * (1 + r),
 *   cooldown / (1 + s). Each player starts with balance.start_gold.
 * - Lives are shared (balance.start_lives); an enemy reaching the goal costs its `lives`.
 *   0 lives → COMPLETED/defeat. Every wave cleared → COMPLETED/victory.
 * - Waves come from the map, in order. The first starts balance.first_wave_ms after START,
 *   each following one balance.wave_countdown_ms after the previous finished spawning, or
 *   at once when a player calls it (CALL_WAVE; refused while a wave is still spawning).
 *   A wave's groups spawn one after another, one enemy every interval_ms (ms → ticks,
 *   rounded to nearest); if the enemy pool is full, spawning waits. Wave k is cleared when
 *   it and every earlier wave have no enemy left to spawn or alive; every player then
 *   receives wave_bonus + wave_bonus_step * (k - 1).
 * - Enemies walk tile to tile on the walker distance field (towers block), flyers on the
 *   flyer field (towers and water do not block); sub-tile progress is 16.16 fixed point.
 *   Balance times and speeds are converted once at create: ms → ticks rounded to nearest,
 *   speeds rounded down to 1/65536 tile per tick (< 0.03% slower at 20 Hz, < 1% at 1000 Hz).
 *   A hit deals max(1, damage - armour). A kill pays the enemy's bounty to the owner of the
 *   tower whose hit killed it.
 * - Shots hit at once (there are no projectile entities to pool or hash).
 * - Towers fire when their cooldown is 0 and an enemy is in range (distance from the tile
 *   centre to the enemy, squared, in fixed point), at the enemy furthest along its path
 *   (fewest remaining steps, then most progress), ties to the lowest enemy id; towers act in
 *   id order. Arrow: one target. Cannon: the target and every enemy within splash of it
 *   (the others take a PRNG share of the damage in [splash_min_bp, 100%]). Frost: damage and
 *   a slow for a while. Tesla: the target, then jumps to the nearest unhit enemy within
 *   chain range, each jump doing falloff_bp of the previous hit.
 * - Placement is refused off-map, on spawn/goal, on blocked or water terrain, on a tower or
 *   on a tile a walker occupies, when the tower pool is full, when the player cannot pay,
 *   or when it would cut the spawn or any walking enemy off the goal. Upgrade (to level 2,
 *   then 3) and sell are for the owner only; a sale refunds sell_refund_bp of all the gold
 *   spent on the tower. Building, upgrading, selling and calling waves need IN_PROGRESS.
 *
 * Thread: a stk_game_t belongs to one thread (the session's owner); the const accessors may
 * run concurrently with each other but not with apply/step/check (check uses scratch space
 * inside the pathing object).
 */
#ifndef STK_CORE_GAME_H
#define STK_CORE_GAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/balance.h"
#include "core/map.h"

#define STK_GAME_MAX_PLAYERS   4
#define STK_GAME_MAX_ENEMIES   512 /* live enemies per session; spawns wait when full */
#define STK_GAME_MAX_TOWERS    256 /* towers per session; placement refused when full */
#define STK_GAME_ID_LEN        16  /* user and tribe ids (UUID bytes) */
#define STK_GAME_MAX_TICK_RATE 1000

/* 16.16 fixed point: one tile is STK_FP_ONE. */
#define STK_FP_SHIFT 16
#define STK_FP_ONE   (1 << STK_FP_SHIFT)

typedef struct stk_game stk_game_t;

typedef enum stk_game_state {
    STK_GAME_LOBBY = 0,
    STK_GAME_IN_PROGRESS = 1,
    STK_GAME_PAUSED = 2,
    STK_GAME_COMPLETED = 3,
    STK_GAME_ABANDONED = 4,
} stk_game_state_t;

typedef enum stk_game_result {
    STK_RESULT_NONE = 0,
    STK_RESULT_VICTORY = 1,
    STK_RESULT_DEFEAT = 2,
    STK_RESULT_ABANDONED = 3,
} stk_game_result_t;

/* X(NAME, "SessionEventType") — one input kind per session event type, in this order. */
#define STK_GAME_INPUT_MAP(X)                                                                      \
    X(JOIN, "PlayerJoined")                                                                        \
    X(LEAVE, "PlayerLeft")                                                                         \
    X(READY, "PlayerReady")                                                                        \
    X(START, "SessionStarted")                                                                     \
    X(PLACE, "TowerPlaced")                                                                        \
    X(UPGRADE, "TowerUpgraded")                                                                    \
    X(SELL, "TowerSold")                                                                           \
    X(CALL_WAVE, "WaveCalled")                                                                     \
    X(PAUSE, "SessionPaused")                                                                      \
    X(RESUME, "SessionResumed")                                                                    \
    X(DISCONNECT, "PlayerDisconnected")                                                            \
    X(RECONNECT, "PlayerReconnected")                                                              \
    X(ABANDON, "SessionAbandoned")

typedef enum stk_game_input_kind {
#define STK_GAME_INPUT_ENUM(name, event) STK_INPUT_##name,
    STK_GAME_INPUT_MAP(STK_GAME_INPUT_ENUM)
#undef STK_GAME_INPUT_ENUM
        STK_INPUT_KINDS
} stk_game_input_kind_t;

/* One input. Fields not used by `kind` are ignored (zero them). */
typedef struct stk_game_input {
    int kind;                        /* stk_game_input_kind_t; others: UNKNOWN_INPUT */
    uint8_t player[STK_GAME_ID_LEN]; /* acting user (envelope actor); all-zero = server */
    /* JOIN */
    uint8_t tribe[STK_GAME_ID_LEN];
    uint32_t damage_bp, attack_speed_bp, range_bp; /* each 0..5000, sum 5000 */
    uint32_t color;                                /* 0xRRGGBB */
    /* READY */
    bool ready;
    /* PLACE */
    uint32_t x, y;
    int32_t tower; /* stk_tower_kind_t (stk_balance_tower_by_name()), -1 for an unknown name */
    /* UPGRADE, SELL */
    uint32_t tower_id;
} stk_game_input_t;

/* X(NAME, "message") — why an input was refused. Declared once; names via
 * stk_reject_name(), messages via stk_reject_message(). */
#define STK_REJECT_MAP(X)                                                                          \
    X(NONE, "accepted")                                                                            \
    X(UNKNOWN_INPUT, "unknown input kind")                                                         \
    X(INVALID_PLAYER, "the all-zero id is the server, not a player")                               \
    X(NOT_IN_SESSION, "player is not in this session")                                             \
    X(ALREADY_JOINED, "player already joined this session")                                        \
    X(SESSION_FULL, "session already has 4 players")                                               \
    X(BAD_BONUS, "tribe bonuses must each be 0..5000 and sum to 5000")                             \
    X(NOT_HOST, "only the host may do this")                                                       \
    X(WRONG_STATE, "not allowed in the session's current state")                                   \
    X(NOT_ALL_READY, "every player must be ready")                                                 \
    X(UNKNOWN_TOWER, "unknown tower type")                                                         \
    X(OFF_MAP, "tile is outside the map")                                                          \
    X(ON_SPAWN_OR_GOAL, "cannot build on the spawn or the goal")                                   \
    X(TILE_BLOCKED, "tile is blocked or not buildable")                                            \
    X(TILE_OCCUPIED, "tile holds a tower or an enemy")                                             \
    X(TOWER_LIMIT, "the session's tower limit is reached")                                         \
    X(NOT_ENOUGH_GOLD, "not enough gold")                                                          \
    X(WOULD_BLOCK_PATH, "tower would cut every path to the goal")                                  \
    X(NO_SUCH_TOWER, "no tower with this id")                                                      \
    X(NOT_OWNER, "only the tower's owner may do this")                                             \
    X(MAX_LEVEL, "tower is already at its highest level")                                          \
    X(NO_MORE_WAVES, "every wave has already started")                                             \
    X(WAVE_SPAWNING, "the current wave is still spawning")                                         \
    X(ALREADY_CONNECTED, "player is connected")                                                    \
    X(ALREADY_DISCONNECTED, "player is already disconnected")

typedef enum stk_reject {
#define STK_REJECT_ENUM(name, msg) STK_REJECT_##name,
    STK_REJECT_MAP(STK_REJECT_ENUM)
#undef STK_REJECT_ENUM
        STK_REJECT_COUNT
} stk_reject_t;

/* Static names/messages; never NULL ("UNKNOWN" / "unknown reason" out of range). */
const char *stk_reject_name(stk_reject_t why);
const char *stk_reject_message(stk_reject_t why);
/* "lobby", "in_progress", "paused", "completed", "abandoned"; "unknown" otherwise. */
const char *stk_game_state_name(stk_game_state_t s);
/* "none", "victory", "defeat", "abandoned" (GameEnded's result strings); "unknown". */
const char *stk_game_result_name(stk_game_result_t r);
/* The session event type name of an input kind ("TowerPlaced"); NULL if unknown. */
const char *stk_game_input_event(int kind);

typedef struct stk_game_setup {
    const stk_map_t *map;  /* borrowed for the call: the game keeps its own copy */
    uint64_t seed;         /* SessionOpened.seed */
    uint32_t tick_rate;    /* ticks per second, 1..STK_GAME_MAX_TICK_RATE */
    uint32_t ruleset;      /* must be STK_RULESET_VERSION */
    stk_balance_t balance; /* copied; stk_balance_default() for a new session */
} stk_game_setup_t;

/* Create a session in LOBBY. Validates the map (stk_map_validate), the balance
 * (stk_balance_validate), the tick rate and the ruleset; copies the map and balance; sizes
 * every pool; computes both path fields. This is the only allocation of a game.
 * Returns 0 and *out (owned by the caller, free with stk_game_destroy()); STK_EINVAL (NULL
 * argument), STK_ESCHEMA (invalid map), STK_ERANGE (balance or tick rate out of range),
 * STK_EVERSION (unsupported ruleset), STK_ENOMEM. On failure *out is untouched. */
int stk_game_create(const stk_game_setup_t *setup, stk_game_t **out);

/* An independent deep copy of src (for replay keyframes and what-if checks). Returns 0 and
 * *out (caller owns), STK_EINVAL, STK_ENOMEM. */
int stk_game_clone(const stk_game_t *src, stk_game_t **out);

/* Free a game. NULL is a no-op. */
void stk_game_destroy(stk_game_t *g);

/* Would `in` be accepted now? Returns 0 (and *why = NONE), STK_EPERM if it would be
 * refused (*why says why), STK_EINVAL if g, in or why is NULL. Changes nothing observable
 * (it uses the pathing scratch space for WOULD_BLOCK_PATH). */
int stk_game_check(const stk_game_t *g, const stk_game_input_t *in, stk_reject_t *why);

/* Check `in`, then apply it. Returns as stk_game_check(); a refused input changes nothing.
 * Accepted inputs take effect immediately (at the current tick, before the next step).
 * No allocation. */
int stk_game_apply(stk_game_t *g, const stk_game_input_t *in, stk_reject_t *why);

/* What the outcome events carry. */
typedef struct stk_game_outcome {
    uint64_t tick;         /* ticks advanced so far (after this step) */
    bool wave_ended;       /* a WaveEnded event is due ... */
    uint32_t wave_cleared; /* ... for this wave number (1-based; the highest cleared now) */
    bool game_ended;       /* a GameEnded event is due */
    stk_game_result_t result;
    uint32_t wave;      /* current wave: number of waves started so far */
    int32_t lives;      /* shared lives, never negative */
    uint32_t n_players; /* players in join order, those who left included */
    uint64_t gold[STK_GAME_MAX_PLAYERS];
    uint64_t hash; /* stk_game_hash() after this step (see stk_game_step) */
    /* What happened during this step (timelines; not part of any event): */
    uint32_t spawned;      /* enemies spawned */
    uint32_t kills;        /* enemies killed by towers */
    uint32_t leaks;        /* enemies that reached the goal */
    uint32_t wave_started; /* number of the wave its countdown started, 0 if none */
} stk_game_outcome_t;

/* Advance one tick if IN_PROGRESS (otherwise nothing changes). Order inside a tick: wave
 * countdown, spawning, enemy movement and leaks, towers (id order), removal of the dead,
 * wave clearance and bonuses, defeat/victory. *out (may be NULL) receives the outcome
 * data; out->hash is computed only when wave_ended or game_ended is set (0 otherwise, to
 * keep plain ticks cheap; stk_game_hash() gives it at any time). No allocation. */
void stk_game_step(stk_game_t *g, stk_game_outcome_t *out);

/* Fill *out with the current numbers and hash (for TickMark, and for GameEnded after an
 * ABANDON input). wave_ended is false; game_ended is true when the state is final
 * (COMPLETED or ABANDONED), with result set accordingly. */
void stk_game_outcome(const stk_game_t *g, stk_game_outcome_t *out);

/* XXH3_64 of the canonical serialization of the whole state (setup digest, scalars, PRNG,
 * players, towers, enemies, each integer as 8 bytes little-endian, in a fixed order; no
 * padding, no pointers). */
uint64_t stk_game_hash(const stk_game_t *g);

/* Serialize the dynamic state: exactly the canonical bytes that stk_game_hash() hashes, so
 * XXH3_64bits(buf, len) == stk_game_hash(g). The constant setup (map, balance, seed, tick
 * rate, ruleset) is NOT included, only its digest: a snapshot is restored into a game created
 * from the same setup (the session's first event). For replay keyframes and crash resume.
 * Writes at most cap bytes; *len receives the full size. Returns 0, STK_ETOOBIG (buffer too
 * small; call with buf NULL and cap 0 to size it), STK_EINVAL. 104 bytes per player, 72
 * per tower, 88 per enemy, 8 per map wave, plus 200. No allocation. */
int stk_game_snapshot(const stk_game_t *g, uint8_t *buf, size_t cap, size_t *len);

/* Replace g's dynamic state with a snapshot's. g must come from stk_game_create() with the
 * same setup as the snapshotted game. Every field is range-checked (untrusted bytes).
 * Returns 0; STK_EINVAL (NULL arguments, or a snapshot of another setup); STK_ECORRUPT
 * (truncated, trailing bytes, or a value out of range); STK_ENOMEM. On error g is unchanged.
 * Allocates one scratch copy of the state during the call. */
int stk_game_restore(stk_game_t *g, const uint8_t *buf, size_t len);

/* Report up to `max` fields that differ between a and b, in canonical order, as
 * cb(ctx, field, value_a, value_b) with field like "tick", "players[1].gold",
 * "towers[3].level", "enemies[0].health", "towers.count" (a count mismatch stops the
 * comparison of that list). Returns the number of differences reported. cb runs
 * synchronously; field is valid during the call only. */
typedef void (*stk_game_diff_cb)(void *ctx, const char *field, int64_t a, int64_t b);
size_t stk_game_diff(const stk_game_t *a, const stk_game_t *b, stk_game_diff_cb cb, void *ctx,
                     size_t max);

/* Read-only views (copies; valid until you overwrite them). */
typedef struct stk_game_player_info {
    uint8_t id[STK_GAME_ID_LEN];
    uint8_t tribe[STK_GAME_ID_LEN];
    uint32_t damage_bp, attack_speed_bp, range_bp, color;
    bool ready, connected, left, host;
    uint64_t gold;
    uint32_t kills;
} stk_game_player_info_t;

typedef struct stk_game_tower_info {
    uint32_t id;
    uint32_t owner; /* player index (join order) */
    int kind;       /* stk_tower_kind_t */
    uint32_t level; /* 1..STK_TOWER_LEVELS */
    uint32_t x, y;
    uint32_t spent;    /* gold spent on it so far */
    uint32_t cooldown; /* ticks until it may fire */
    uint32_t kills;
} stk_game_tower_info_t;

typedef struct stk_game_enemy_info {
    uint32_t id;
    int kind;      /* enum stk_enemy_type */
    uint32_t wave; /* 1-based wave number it belongs to */
    int32_t health;
    uint32_t x, y;    /* tile it left */
    uint32_t nx, ny;  /* tile it walks to */
    int32_t progress; /* 0..STK_FP_ONE-1 of the step from (x,y) to (nx,ny) */
    int32_t px, py;   /* position, 16.16 tiles (tile centres at +0.5) */
    int32_t slow_bp;  /* active slow */
    uint32_t slow_ticks;
} stk_game_enemy_info_t;

stk_game_state_t stk_game_state(const stk_game_t *g);
stk_game_result_t stk_game_result(const stk_game_t *g);
uint64_t stk_game_tick(const stk_game_t *g);
uint64_t stk_game_seed(const stk_game_t *g);
uint32_t stk_game_tick_rate(const stk_game_t *g);
uint32_t stk_game_wave(const stk_game_t *g); /* waves started */
uint32_t stk_game_waves_cleared(const stk_game_t *g);
uint32_t stk_game_wave_count(const stk_game_t *g); /* waves in the map */
bool stk_game_wave_spawning(const stk_game_t *g);
uint32_t stk_game_wave_countdown(const stk_game_t *g); /* ticks until the next auto wave */
int32_t stk_game_lives(const stk_game_t *g);
uint32_t stk_game_leaks(const stk_game_t *g);       /* enemies that reached the goal */
const stk_map_t *stk_game_map(const stk_game_t *g); /* the game's copy; valid with g */
const stk_balance_t *stk_game_balance(const stk_game_t *g);
/* Player index (join order) of a user id, or -1. */
int stk_game_player_index(const stk_game_t *g, const uint8_t id[STK_GAME_ID_LEN]);
size_t stk_game_player_count(const stk_game_t *g);
size_t stk_game_tower_count(const stk_game_t *g);
size_t stk_game_enemy_count(const stk_game_t *g);
/* i-th player/tower/enemy in join/id order. Return 0, or STK_ERANGE if i is past the end,
 * STK_EINVAL for NULL arguments. */
int stk_game_player(const stk_game_t *g, size_t i, stk_game_player_info_t *out);
int stk_game_tower(const stk_game_t *g, size_t i, stk_game_tower_info_t *out);
int stk_game_enemy(const stk_game_t *g, size_t i, stk_game_enemy_info_t *out);
/* The tower with this id; 0, STK_ENOTFOUND, STK_EINVAL. */
int stk_game_tower_by_id(const stk_game_t *g, uint32_t id, stk_game_tower_info_t *out);

#endif
