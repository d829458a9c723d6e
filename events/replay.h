/* events/replay.h — re-simulate a recorded game from its events and check every outcome.
 *
 * A replay is fed the events of ONE session stream in version order (from the LMDB log
 * with stk_replay_run_log(), from JSON lines as `GET /v1/sessions/{id}/events` and
 * `stockade log dump` write them with stk_replay_run_jsonl(), or one by one with
 * stk_replay_feed()). It rebuilds the game exactly as the session host played it:
 *   - SessionOpened (upcast to the current schema) creates the game (events/game.h bridge);
 *   - an input event with envelope tick T first steps the game until its tick is T, then
 *     is applied; the log holds only accepted inputs, so a refusal is a divergence;
 *   - an outcome event (WaveEnded, GameEnded, TickMark) with tick T steps to T, then its
 *     recorded numbers (wave, lives, gold per player, result, state hash) are compared with
 *     the recomputed ones. The session host records outcomes right after the step that
 *     produced them and before any later input, so "the state when the event is reached
 *     in log order" is exactly the state the host hashed.
 * A wave end or game end that the recomputation produces but the log never records (an
 * input or a later outcome follows it, or the log ends) is a divergence too.
 *
 * Timeline: an optional callback receives notes as they happen (inputs applied with their
 * tower details, waves started and ended, leaks, kills per player, game end, each check).
 *
 * Keyframes: every `keyframe_ticks` ticks of game time (default 1200) the replay keeps an
 * in-memory clone of the game, plus the index of the next recorded input, so that
 * stk_replay_seek() rebuilds the state at any tick with at most keyframe_ticks steps. The
 * same keyframes can be kept in the log's snapshot store (stk_replay_keyframes_store()):
 * a stored keyframe holds the serialized game (stk_game_snapshot()), its hash, its
 * position in the stream (tick; seq and stream version of the last event applied before
 * it) and the outcomes its step produced whose events come after it. Two uses:
 *   - checking: a full replay (stk_replay_keyframes_load() then stk_replay_run_log())
 *     still simulates from tick 0 and trusts nothing stored: it compares each stored
 *     keyframe's hash AND the hash of its state bytes with the state it computed (counted
 *     in keyframes_checked); a record that differs or does not decode is a KEYFRAME
 *     divergence;
 *   - seeking: stk_replay_run_log_seek() restores the latest stored keyframe at or before
 *     until_tick whose restored state hashes to its recorded hash (others are skipped and
 *     counted in keyframes_rejected), reads the stream from the event after it and so
 *     steps at most the stored spacing. The outcome checks after the keyframe still run.
 * Stored keyframes live on a stream derived from the session id
 * (stk_replay_keyframe_stream()), with the snapshot "seq" being the keyframe's tick, so
 * they never collide with the session host's resume snapshots and
 * `stk_log_snapshot_get(kf_stream, T)` finds the last keyframe at or before tick T.
 *
 * Divergence: the first mismatch is kept with the recorded and recomputed numbers, the
 * full recomputed state and a field-by-field stk_game_diff() against the state at the
 * last check that matched; stk_replay_report() writes it as text or JSON. Replay goes on
 * after a mismatch (the timeline and later counts stay useful) and counts every one.
 *
 * Not here: decoding session events into core inputs (events/game.h), the log itself
 * (events/log.h), printing a timeline (tools/cmd_replay.c).
 *
 * Lifecycle: stk_replay_create → [stk_replay_keyframes_load] → feed / run_* →
 * stk_replay_finish → queries, seek, report, [stk_replay_keyframes_store] →
 * stk_replay_destroy; or stk_replay_create (with until_tick) → stk_replay_run_log_seek →
 * queries, seek, report → stk_replay_destroy.
 * Thread: a stk_replay_t belongs to one thread at a time; callbacks run on it.
 */
#ifndef STK_EVENTS_REPLAY_H
#define STK_EVENTS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/game.h"
#include "events/envelope.h"
#include "events/game.h"
#include "events/log.h"

#define STK_REPLAY_KEYFRAME_TICKS 1200u     /* default keyframe spacing, ticks */
#define STK_REPLAY_MAX_KEYFRAMES  256u      /* in memory; beyond, spacing doubles */
#define STK_REPLAY_MAX_INPUTS     1000000u  /* inputs journalled for seek */
#define STK_REPLAY_MAX_EVENTS     10000000u /* events in one session stream */
#define STK_REPLAY_DIFF_MAX       64u       /* diff lines kept in a divergence */
/* Most ticks stepped to reach one event. The host records a TickMark every few seconds of
 * game time, so a longer silence means a forged or corrupt tick (a divergence), and
 * replay time stays bounded by the input's size whatever the ticks say. */
#define STK_REPLAY_MAX_TICK_GAP   1000000u
#define STK_REPLAY_UNTIL_END      UINT64_MAX

/* Stored keyframe record (MessagePack map, keys in this order):
 *   {"v": 2, "tick": uint, "seq": uint, "version": uint,
 *    "pend": [[event type, tick, wave], ...], "state": bin (stk_game_snapshot), "hash": uint}
 * "pend": WaveEnded/GameEnded the step to `tick` produced, recorded after the keyframe.
 * Format 1 records ({"v", "tick", "seq", "version", "hash"}) are still checked by a full
 * replay but never restored. */
#define STK_REPLAY_KF_FORMAT 2

typedef enum stk_replay_note_kind {
    STK_NOTE_INPUT = 0,    /* an input applied: input, actor, player, tower fields */
    STK_NOTE_WAVE_STARTED, /* wave (1-based) */
    STK_NOTE_WAVE_ENDED,   /* wave (cleared), lives, gold_all */
    STK_NOTE_LEAK,         /* count enemies reached the goal this tick; lives after */
    STK_NOTE_KILLS,        /* player's towers killed count enemies this tick */
    STK_NOTE_GAME_ENDED,   /* result, wave, lives, gold_all */
    STK_NOTE_CHECK,        /* an outcome event compared: event_type, ok */
} stk_replay_note_kind_t;

typedef struct stk_replay_note {
    stk_replay_note_kind_t kind;
    uint64_t tick;
    uint64_t seq;     /* seq of the event behind the note; 0 for step-derived notes */
    int input;        /* NOTE_INPUT: STK_INPUT_* */
    stk_uuid_t actor; /* NOTE_INPUT: envelope actor */
    int player;       /* join index of the actor / killer; -1 for none or the server */
    uint32_t wave;
    uint32_t count;
    int32_t lives;
    /* NOTE_INPUT of PLACE/UPGRADE/SELL: the tower as placed / after upgrade / as sold */
    uint32_t tower_id, tower_level, x, y, spent;
    int tower_kind;     /* stk_tower_kind_t */
    uint64_t gold;      /* NOTE_INPUT: the acting player's gold after the input */
    uint32_t n_players; /* WAVE_ENDED, GAME_ENDED */
    uint64_t gold_all[STK_GAME_MAX_PLAYERS];
    stk_game_result_t result;
    uint16_t event_type; /* NOTE_CHECK: STK_EV_WAVE_ENDED / GAME_ENDED / TICK_MARK */
    bool ok;             /* NOTE_CHECK */
} stk_replay_note_t;

/* Runs synchronously inside feed/run; n is valid during the call only. */
typedef void (*stk_replay_note_cb)(void *ud, const stk_replay_note_t *n);

typedef struct stk_replay_opts {
    uint64_t until_tick;        /* stop at this tick (STK_REPLAY_UNTIL_END: no stop) */
    uint32_t keyframe_ticks;    /* 0 → STK_REPLAY_KEYFRAME_TICKS */
    bool no_keyframes;          /* keep no in-memory keyframes (seek then starts from the open) */
    stk_replay_note_cb note_cb; /* may be NULL */
    void *note_ud;
} stk_replay_opts_t;

/* What went wrong at the first divergence. */
typedef enum stk_replay_problem {
    STK_REPLAY_OK = 0,
    STK_REPLAY_OUTCOME,       /* recorded outcome numbers differ from the recomputed ones */
    STK_REPLAY_MISSING,       /* the game produced a wave/game end the log never recorded */
    STK_REPLAY_INPUT_REFUSED, /* a recorded (accepted) input is refused by the replay */
    STK_REPLAY_TICK,          /* an event's tick is behind the game or cannot be reached */
    STK_REPLAY_KEYFRAME,      /* a stored keyframe's hash differs from the recomputed one */
} stk_replay_problem_t;

typedef struct stk_replay_diff_line {
    char field[48];
    int64_t a, b; /* a = state at the last good check, b = recomputed state now */
} stk_replay_diff_line_t;

typedef struct stk_replay_divergence {
    stk_replay_problem_t problem;
    /* seq: the event that revealed it (MISSING: the first event past the unrecorded
     * outcome, or the last event at the end); tick: that event's tick, or for MISSING the
     * tick of the unrecorded outcome, for KEYFRAME the keyframe's tick. The diff and the
     * state dump are taken when the divergence is found. */
    uint64_t seq, tick;
    /* STK_EV_* of that event (MISSING: of the unrecorded outcome; KEYFRAME: 0) */
    uint16_t event_type;
    char detail[200]; /* one human line: which fields differ, or why */
    /* recorded (from the event) vs recomputed numbers (stk_game_record_from_outcome of the
     * state when the event was reached); for KEYFRAME only tick and hash are set */
    stk_game_record_t expected, actual;
    bool has_expected;            /* expected/actual are meaningful (OUTCOME, KEYFRAME) */
    stk_reject_t rejected;        /* INPUT_REFUSED: why */
    uint64_t good_seq, good_tick; /* last check that matched (none yet: SessionOpened, 0) */
    size_t n_diff;                /* lines in diff[] */
    size_t n_diff_total;          /* differences found (may exceed n_diff) */
    stk_replay_diff_line_t diff[STK_REPLAY_DIFF_MAX];
} stk_replay_divergence_t;

typedef struct stk_replay_summary {
    bool opened;                 /* SessionOpened seen and the game created */
    stk_uuid_t session;          /* stream id of the session */
    uint64_t events;             /* session events fed (including those past until_tick) */
    uint64_t inputs;             /* inputs applied */
    uint64_t outcomes;           /* WaveEnded/GameEnded events compared */
    uint64_t outcomes_ok;        /* ... that matched */
    uint64_t tick_marks;         /* TickMark events compared */
    uint64_t tick_marks_ok;      /* ... that matched */
    uint64_t keyframes;          /* keyframes taken in memory */
    uint64_t keyframes_checked;  /* stored keyframes compared (and matched) */
    uint64_t keyframes_rejected; /* run_log_seek: stored keyframes skipped as unusable */
    uint64_t resumed_tick;       /* run_log_seek: tick of the keyframe restored (0: none) */
    uint64_t steps;              /* stk_game_step() calls this replay made */
    uint64_t mismatches;         /* every divergence found, the first included */
    uint64_t last_seq;           /* seq / version / tick of the last event applied */
    uint64_t last_version;
    uint64_t last_tick;
    uint64_t tick; /* the game's tick now */
    uint64_t hash; /* stk_game_hash() now */
    bool stopped;  /* until_tick was reached; later events were not applied */
    bool all_ok;   /* opened, mismatches == 0 */
} stk_replay_summary_t;

typedef struct stk_replay stk_replay_t;

/* Create an empty replay. opts may be NULL (defaults). Returns 0 and *out (free with
 * stk_replay_destroy), STK_EINVAL, STK_ENOMEM. */
int stk_replay_create(const stk_replay_opts_t *opts, stk_replay_t **out);

/* Free everything; NULL is a no-op. */
void stk_replay_destroy(stk_replay_t *r);

/* Feed the next event of the session stream. The first event must be SessionOpened;
 * later ones must carry the same stream id and the next stream version. e is borrowed
 * for the call. Events past until_tick are counted and otherwise ignored.
 * Returns 0; STK_EHASH if this event revealed a divergence (replay goes on: keep
 * feeding); STK_ESTATE (first event is not SessionOpened, or a second one); STK_ECORRUPT
 * (another stream, a version out of order, too many events); the errors of the bridge
 * for an undecodable payload (STK_EDECODE, STK_ESCHEMA, STK_ETYPE, STK_EVERSION, ...);
 * STK_ENOMEM. After an error other than STK_EHASH the replay refuses further events with
 * the same error. */
int stk_replay_feed(stk_replay_t *r, const stk_envelope_t *e);

/* After the last event: seals the replay. A wave or game end that the steps produced but
 * no event matched is reported missing (the session host writes a step's outcomes in one
 * atomic batch, so even a log cut by a crash never ends between a step and its outcomes);
 * not when the replay stopped at until_tick. Returns 0, STK_EHASH if the replay diverged
 * anywhere, STK_ESTATE if no SessionOpened was fed, or the sticky error of
 * stk_replay_feed. Idempotent. */
int stk_replay_finish(stk_replay_t *r);

/* Read the session stream from the log and feed every event, then finish. session is
 * borrowed. Returns as stk_replay_finish, or the log's read errors (STK_ECORRUPT,
 * STK_EBUSY, STK_EIO), STK_ENOTFOUND if the stream is empty. Any thread owning r. */
int stk_replay_run_log(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session);

/* Like stk_replay_run_log() up to opts.until_tick, but starting from the latest stored
 * keyframe at or before until_tick instead of tick 0: reads SessionOpened, tries the
 * stored keyframes newest first (at most 64), restores the first one that decodes, sits
 * between SessionOpened and until_tick and whose restored state hashes to its recorded
 * hash (each other one is counted in keyframes_rejected: callers should warn), then feeds
 * the events after it. With no usable keyframe it replays from tick 0. The replay then
 * holds no state before the keyframe: stk_replay_seek() below resumed_tick is STK_ERANGE,
 * the timeline starts there, and stk_replay_keyframes_store() refuses (STK_ESTATE): only a
 * replay from tick 0 vouches for keyframes. Checks of outcomes after the keyframe run as
 * usual. r must be fresh (nothing fed) and created with until_tick set, else STK_ESTATE.
 * Returns as stk_replay_run_log(). Any thread owning r. */
int stk_replay_run_log_seek(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session);

/* Read JSON lines (stk_json_event_dump format, blank lines skipped) from f and feed the
 * events of one session: session if not NULL, else the stream of the first SessionOpened;
 * other streams' events are skipped. Then finish. *line_out (may be NULL) receives the
 * number of the line that failed (1-based) or 0. Returns as stk_replay_finish, or
 * STK_EDECODE / STK_ESCHEMA / STK_ETYPE / STK_EVERSION for a line that does not parse,
 * STK_ETOOBIG for a line over STK_JSON_LINE_MAX, STK_ENOTFOUND if no SessionOpened was
 * found, STK_EIO. f is borrowed. */
int stk_replay_run_jsonl(stk_replay_t *r, FILE *f, const stk_uuid_t *session, uint64_t *line_out);

/* The replayed game (borrowed; valid until the next feed or destroy); NULL before the
 * session was opened. */
const stk_game_t *stk_replay_game(const stk_replay_t *r);

/* Counters and the current position. */
void stk_replay_summary(const stk_replay_t *r, stk_replay_summary_t *out);

/* The first divergence, or NULL if none (borrowed, valid until destroy). */
const stk_replay_divergence_t *stk_replay_divergence(const stk_replay_t *r);

/* A new game (caller destroys) holding the state at `tick`, the same state a replay with
 * until_tick = tick reaches: every recorded input with tick <= `tick` applied, stepped to
 * `tick` as far as the session was in progress. Starts from the last in-memory keyframe
 * at or before `tick`, so it costs at most keyframe_ticks steps. Returns 0, STK_ESTATE
 * (not opened), STK_ERANGE (tick past the replay's current tick, or before the stored
 * keyframe a stk_replay_run_log_seek() started from), STK_ENOMEM. */
int stk_replay_seek(const stk_replay_t *r, uint64_t tick, stk_game_t **out);

/* Steps stk_replay_seek(r, tick) would run from its keyframe: tick minus the tick of the
 * last in-memory keyframe at or before it (at most the keyframe spacing in force, which
 * doubles each time STK_REPLAY_MAX_KEYFRAMES is reached). UINT64_MAX if not opened. */
uint64_t stk_replay_seek_steps(const stk_replay_t *r, uint64_t tick);

/* Write the divergence report (or a "no divergence" line/object) to f: text, or one
 * JSON object when json is true. Returns 0 or STK_EIO / STK_ENOMEM. */
int stk_replay_report(const stk_replay_t *r, FILE *f, bool json);

/* Write the recomputed state (scalars, players, towers, enemies) to f as text or as one
 * JSON object. Returns 0, STK_ESTATE (not opened), STK_EIO, STK_ENOMEM. */
int stk_replay_state_write(const stk_replay_t *r, FILE *f, bool json);

/* The stream id under which a session's keyframes are stored: the first 16 bytes of
 * BLAKE2b("stockade.replay.keyframes\0" || session). Pure. */
void stk_replay_keyframe_stream(const stk_uuid_t *session, stk_uuid_t *out);

/* Load the keyframes stored for `session` so the replay checks them as it reaches them.
 * Call before feeding. A record that does not decode is kept as bad and reported as a
 * KEYFRAME divergence when the replay reaches its tick. Returns 0 (also when there are
 * none), STK_ENOMEM, STK_EIO. */
int stk_replay_keyframes_load(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session);

/* Store the in-memory keyframes (after a replay without divergence; a diverged replay
 * stores nothing and returns STK_EHASH). *stored (may be NULL) gets how many were written
 * (keyframes already stored with the same hash and state are not rewritten). Returns 0,
 * STK_EHASH, STK_ESTATE (not opened, or resumed by stk_replay_run_log_seek), or the
 * errors of stk_game_snapshot and stk_log_snapshot_put (STK_EPERM for a read-only log). */
int stk_replay_keyframes_store(const stk_replay_t *r, stk_log_t *log, size_t *stored);

/* "outcome", "missing", ... ("ok" for STK_REPLAY_OK). Static. */
const char *stk_replay_problem_name(stk_replay_problem_t p);

#endif
