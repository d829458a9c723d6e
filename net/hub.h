/* net/hub.h — the live-session hub: every session being played, on the loop thread.
 *
 * The hub keeps a registry of live sessions (session id → events/session.h host, its
 * sockets and spectators) and is the only thing that submits inputs to them, whether they
 * come from REST (open, join, leave: net/api_sessions.c) or from live sockets (ops:
 * net/api_live.c, protocol in docs/live-protocol.md). It:
 *   - loads a session that is not in memory by replaying its log (stk_session_resume), so
 *     a session survives a restart: it resumes at its last logged event (ticks stepped
 *     after that event were never logged and are played again, identically, since no
 *     input after them was acknowledged). At creation it loads every session that has no
 *     GameEnded yet, so an unfinished game resumes (or is abandoned) by itself; players
 *     connected when the server died are recorded as disconnected at load;
 *   - steps every in-progress session from ONE uv_timer, at each session's tick rate,
 *     without drift (tick k is due at base + k / rate, in nanoseconds from a base taken when
 *     the game last started or resumed), catching up late ticks but spending at most one
 *     tick period of the fastest session per loop turn, round-robin, so a slow tick delays
 *     the loop by at most one tick;
 *   - turns the writer's commit notifications (session notify hook → uv_async) into
 *     stk_session_poll on the loop thread, then sends every newly committed event of the
 *     session to all its sockets (`event`), then the acks of the ops they carried (so a
 *     socket always has the event before its ack);
 *   - sends `state` at 10 Hz (skipped for a socket more than 256 KiB behind), `end` when
 *     the game is over (the close 1000 follows once `end` left the send queue: wslay would
 *     put a queued close frame ahead of it), welcomes (with history when asked for);
 *   - records PlayerDisconnected / PlayerReconnected as players' sockets come and go, and
 *     SessionAbandoned when every player has been gone for abandon_after_ms.
 * It is NOT the socket protocol decoder (net/live_codec.h) nor the HTTP routes.
 *
 * Lifecycle: stk_hub_create (in the sessions module's routes function) → used from the
 * loop → stk_hub_stop (app on_stop hook: closes sockets, timers, sessions, waiting for
 * their commits) → stk_hub_free (app on_free hook). Thread: loop thread only.
 */
#ifndef STK_NET_HUB_H
#define STK_NET_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/game.h"
#include "events/envelope.h"
#include "events/session.h"
#include "net/app.h"
#include "net/ws.h"

typedef struct stk_hub stk_hub_t;

#define STK_HUB_ABANDON_DEFAULT_MS 60000u /* STOCKADE_ABANDON_AFTER (seconds) overrides */
#define STK_HUB_STATE_HZ           10u
#define STK_HUB_SESSIONS_MAX       4096u /* sessions in memory */
#define STK_HUB_CLIENTS_MAX        64u   /* sockets per session (players and spectators) */

typedef struct stk_hub_opts {
    uint32_t abandon_after_ms; /* 0 → STOCKADE_ABANDON_AFTER or the default */
    uint32_t state_hz;         /* 0 → STK_HUB_STATE_HZ */
} stk_hub_opts_t;

/* Creates the hub on app's loop (timer and async handles), registers its metrics, and
 * loads every unfinished session of the log (one scan of the log, plus one replay per such
 * session; a session that fails to load is skipped and retried on first use). Returns 0
 * and *out, STK_ENOMEM, STK_EIO (libuv). Loop (creating) thread, before the loop runs. */
int stk_hub_create(stk_app_t *app, const stk_hub_opts_t *opts, stk_hub_t **out);
/* Closes every socket (1001), stops the timer, closes every session (waiting for its
 * commits: acks still run). Idempotent. Loop thread, while the loop runs. */
void stk_hub_stop(stk_hub_t *h);
/* Frees the hub after the loop ended. NULL ok. */
void stk_hub_free(stk_hub_t *h);
stk_app_t *stk_hub_app(stk_hub_t *h);

/* ---- REST side ------------------------------------------------------------------------ */

/* cb of an open: status 0 once SessionOpened committed, else an STK_E* code. */
typedef void (*stk_hub_open_cb)(void *ud, int status);
/* cb of an input: as stk_session_ack_cb, plus the tick the input took effect at. */
typedef void (*stk_hub_ack_cb)(void *ud, int status, uint64_t seq, uint64_t tick);

/* Opens a session (args as stk_session_open; args->id must be new). cb runs once, after
 * the commit or failure, unless this returns an error. Returns 0, the errors of
 * stk_session_open, STK_EFULL (too many sessions in memory). */
int stk_hub_open(stk_hub_t *h, const stk_session_open_args_t *args, stk_hub_open_cb cb, void *ud);

/* Submits one input to session `id` (loading it if needed). Returns 0 (cb runs exactly
 * once after the commit), STK_ENOTFOUND (no such session), STK_EPERM (refused: *why),
 * STK_EBUSY (retry), STK_ESTATE (the session failed and was unloaded), the load errors.
 * why may be NULL. */
int stk_hub_input(stk_hub_t *h, const stk_uuid_t *id, const stk_game_input_t *in, stk_reject_t *why,
                  stk_hub_ack_cb cb, void *ud);

/* The session's status as JSON: {id, map_id, status, tick, tick_rate, wave, waves, lives,
 * result, players: [{index, user, tribe, color, gold, ready, connected, left, host}],
 * spectators, clients}. Loads the session if needed. Returns 0 and *out (caller decrefs),
 * STK_ENOTFOUND, load errors, STK_ENOMEM. */
int stk_hub_describe(stk_hub_t *h, const stk_uuid_t *id, json_t **out);

/* ---- live sockets ------------------------------------------------------------------- */

/* Accepts a live socket for session `id` (the route handler calls this with the upgrade
 * request; see docs/live-protocol.md §1). user: the authenticated user, or NULL if the
 * first message must be `auth`. Completes res in every case (101, or a problem: 404 no
 * such session, 400 bad subprotocol, 503 full or stopping). */
void stk_hub_accept(stk_hub_t *h, const stk_uuid_t *id, const stk_uuid_t *user, stk_http_req_t *req,
                    stk_http_res_t *res);

/* The route handler of GET /v1/sessions/{id}/live (net/api_live.c), arg = the hub:
 * authenticates by Authorization header or `access_token` query parameter (401 problem if
 * one is given and invalid; neither → the first message must be `auth`), then
 * stk_hub_accept. */
void stk_api_live_handler(stk_http_req_t *req, stk_http_res_t *res, void *hub);

#endif
