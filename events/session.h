/* events/session.h — the session host: the command path of one live game.
 *
 * A stk_session_t owns one stk_game_t and is the only thing that writes that session's
 * stream. It takes player (and server) inputs, validates them against the game, writes the
 * accepted ones through the group-commit writer (events/writer.h) and applies each to the
 * game only after its batch committed ("ack after commit"), in submission (= seq) order.
 * It advances time with stk_session_step() and records the outcome events: WaveEnded and
 * GameEnded when a step reports them, and a TickMark with the state hash every
 * `mark_every` ticks and at each pause. Rejected inputs write nothing.
 *
 * It is NOT the network layer (net/ turns live ops into stk_game_input_t and acks into
 * frames), NOT a clock (the caller decides when to step: a libuv timer in the server, a
 * plain loop in `stockade simulate`), and does NOT read the log (replay: events/replay.h).
 * It includes no libuv: the writer's commit callback only queues the result and calls the
 * optional `notify` hook (the server passes one that does uv_async_send); the owner then
 * calls stk_session_poll() on its own thread. A synchronous driver calls
 * stk_session_wait() instead.
 *
 * Ticks (see also events/game.h). An input accepted while the game is at tick T (T steps
 * done) is recorded with envelope tick T and applied before step T+1: it acts on "the next
 * tick". To keep that exact, stk_session_step() refuses (STK_EBUSY) while any input is
 * still uncommitted or unpolled; the server retries at its next timer turn, simulate
 * waits. Inputs submitted in the same tick are checked against the game PLUS every earlier
 * pending input of that tick (a speculative copy), so two players cannot both take the
 * same tile: whatever is accepted here applies cleanly after commit, and replay gets the
 * same answers.
 *
 * Batches (each one atomic, one writer submit, expected stream version checked):
 *   open                SessionOpened (expected version: the stream is new)
 *   submit              the input event; for SessionPaused also a TickMark (hash after the
 *                       pause); for SessionAbandoned also GameEnded{abandoned}
 *   step                WaveEnded and/or GameEnded and/or TickMark of that tick, if any
 * Outcome events carry the server actor (all-zero) and the tick of the state they hash.
 *
 * States:   open() | resume() ──▶ LIVE
 *           LIVE ──(a batch fails: storage error, version conflict)──▶ FAILED
 *           LIVE | FAILED ──close()──▶ freed
 * In FAILED every submit/step returns STK_ESTATE (the stream on disk no longer matches
 * what this host believes; the server reloads the session from the log). Acks of batches
 * already in flight still run, with their error status.
 *
 * Threads: every function is for the owner thread only, except that the writer thread runs
 * the internal commit callback, which takes the session's mutex briefly and calls `notify`.
 * Ack callbacks run on the owner thread, inside stk_session_poll()/wait()/close().
 * Lifecycle: stk_session_open | stk_session_resume → (submit | poll | wait | step)* →
 * stk_session_close; the writer (and its log) must outlive the session.
 */
#ifndef STK_EVENTS_SESSION_H
#define STK_EVENTS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/game.h"
#include "events/envelope.h"
#include "events/log.h"
#include "events/writer.h"

typedef struct stk_session stk_session_t;

/* Ack of one submitted input, on the owner thread. status: 0 (committed and applied),
 * STK_ESTATE (committed but not applied: an earlier batch failed, or the game refused it,
 * which would be a bug; the session is FAILED), or the writer's status (STK_ECONFLICT,
 * STK_EIO, ...: nothing written, not applied). seq: the global seq of the input event when
 * status == 0 (else 0). */
typedef void (*stk_session_ack_cb)(void *ud, int status, uint64_t seq);

/* Called on the WRITER thread after a batch of this session was acknowledged: there is
 * something for stk_session_poll(). Must be short and thread-safe (e.g. uv_async_send). */
typedef void (*stk_session_notify_cb)(void *ud);

typedef struct stk_session_opts {
    uint32_t mark_every; /* ticks between TickMarks; 0 -> 5 s of game time (tick_rate * 5) */
    size_t pending_max;  /* batches in flight (submitted, not yet polled); 0 -> 1024 */
    stk_session_notify_cb notify; /* may be NULL */
    void *notify_ud;
} stk_session_opts_t;

/* What SessionOpened records. */
typedef struct stk_session_open_args {
    stk_uuid_t id;     /* the session's stream id (must be a new stream) */
    stk_uuid_t opener; /* actor of SessionOpened (the user who opened it) */
    stk_uuid_t map_id;
    uint64_t seed;
    uint32_t tick_rate;           /* 1..STK_GAME_MAX_TICK_RATE; 0 -> 20 */
    uint32_t ruleset;             /* 0 -> STK_RULESET_VERSION */
    const stk_balance_t *balance; /* NULL -> stk_balance_default(); copied */
    /* The MapDrawn v1 payload of the map as it is now (embedded verbatim); borrowed. */
    const uint8_t *map_payload;
    size_t map_len;
} stk_session_open_args_t;

/* Build the SessionOpened payload, decode it back exactly as replay will
 * (stk_game_opened_decode) and create the game from that, then submit SessionOpened.
 * Inputs are accepted once SessionOpened has committed and been polled (before that
 * stk_session_submit says STK_EBUSY): an id that already has a stream must not receive
 * inputs. A synchronous caller does stk_session_wait() right after open. opts may be NULL.
 * Returns 0 and *out (free with stk_session_close), or, with nothing written: STK_EINVAL
 * (NULL argument); STK_ESCHEMA / STK_ERANGE / STK_EVERSION (invalid map payload, balance,
 * tick rate or ruleset: the errors of stk_game_opened_encode/decode and stk_game_create);
 * STK_EBUSY / STK_ECLOSED / STK_ETOOBIG (writer submit); STK_ENOMEM. If the SessionOpened
 * batch fails later (e.g. STK_ECONFLICT: the stream already exists), the session turns
 * FAILED. Owner thread. */
int stk_session_open(stk_session_t **out, stk_writer_t *w, const stk_session_open_args_t *args,
                     const stk_session_opts_t *opts);

/* Rebuild the host of an existing session from its stream in `log` (after a restart or a
 * FAILED session): SessionOpened creates the game, every input is applied at its tick and
 * every outcome event's hash is checked on the way. The game resumes at the tick of the
 * last logged event (ticks stepped after it without an event are simply played again);
 * new batches expect the stream's version. opts may be NULL (its mark_every should be the
 * one the session was opened with). Returns 0 and *out; STK_EINVAL; STK_ENOTFOUND (no
 * such stream); STK_ECORRUPT (the stream does not start with SessionOpened, holds a
 * non-session event, or its ticks cannot be reached); STK_ESTATE (a logged input is
 * refused by this build's rules); STK_EHASH (an outcome hash differs: this build would
 * not continue the same game); the decode errors of events/game.h; STK_EIO / STK_EBUSY
 * (reading). The caller must make sure no other host writes this stream. Owner thread. */
int stk_session_resume(stk_session_t **out, stk_writer_t *w, stk_log_t *log, const stk_uuid_t *id,
                       const stk_session_opts_t *opts);

/* Submit one input (in->player is the actor; all-zero = the server). It is checked against
 * the game plus the pending inputs; if refused, *why says why, STK_EPERM is returned and
 * nothing is written (cb never runs). If accepted, the batch is submitted and 0 returned:
 * cb (may be NULL) will run exactly once, from stk_session_poll/wait/close, after the
 * commit, once the input has been applied to the game. why may be NULL.
 * Errors (cb never runs, nothing written): STK_EINVAL (NULL s/in), STK_EPERM (refused),
 * STK_ESTATE (session FAILED), STK_EBUSY (SessionOpened not committed yet, pending_max
 * batches in flight, or the writer's queue is full: poll and retry later), STK_ECLOSED (writer
 * stopped), STK_ENOMEM. Owner thread. */
int stk_session_submit(stk_session_t *s, const stk_game_input_t *in, stk_reject_t *why,
                       stk_session_ack_cb cb, void *ud);

/* Apply every batch acknowledged so far, in submission order, stopping at the first one
 * not yet acknowledged; run their ack callbacks. Never blocks on the disk. Returns the
 * number of batches processed (>= 0). Owner thread. */
int stk_session_poll(stk_session_t *s);

/* Block until every submitted batch was acknowledged, then poll. Returns the number of
 * batches processed. For synchronous drivers (simulate, tests); never from a libuv loop.
 * Owner thread. */
int stk_session_wait(stk_session_t *s);

/* Advance the game one tick (stk_game_step) and submit the outcome events it calls for.
 * *out (may be NULL) receives the step's outcome (out->hash is filled whenever an outcome
 * event was written). A game that is not IN_PROGRESS does not move and writes nothing.
 * Returns 0; STK_EBUSY (inputs still in flight: poll or wait first; nothing happened);
 * STK_ESTATE (FAILED); or a writer submit error (the tick was stepped but its outcome could
 * not be queued: the session turns FAILED). Owner thread. */
int stk_session_step(stk_session_t *s, stk_game_outcome_t *out);

/* Wait for everything in flight, run the remaining acks, free the games and the session.
 * NULL is a no-op. The writer must still be running. Owner thread. */
void stk_session_close(stk_session_t *s);

/* The committed game (inputs applied after commit). Borrowed: valid until close; do not
 * keep pointers across submit/poll/step. */
const stk_game_t *stk_session_game(const stk_session_t *s);
/* The session's stream id (borrowed, valid until close). */
const stk_uuid_t *stk_session_id(const stk_session_t *s);
/* Batches submitted and not yet polled. */
size_t stk_session_in_flight(const stk_session_t *s);
/* 0 while LIVE; the first failing status once FAILED. */
int stk_session_error(const stk_session_t *s);
/* Counters: events submitted (all kinds) and inputs refused by the game. */
uint64_t stk_session_events_submitted(const stk_session_t *s);
uint64_t stk_session_rejected(const stk_session_t *s);

#endif
