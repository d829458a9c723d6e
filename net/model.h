/* net/model.h — the read side of the write model for users, tribes and maps, without
 * PostgreSQL (DESIGN §1, §6).
 *
 * A record is the fold of its stream: stk_model_user / _tribe / _map read one stream
 * (stk_log_read_stream, a short LMDB read transaction that never blocks the writer) and
 * apply its events in order into a small struct. These are what commands are validated
 * against (existence, owner, current stream version for expected-version appends) and what
 * GET by id serves until the projections issue serves reads from PostgreSQL.
 *
 * The owner index (user → tribe ids, user → map ids), the play count per map (sessions
 * opened on it) and the games played per user (distinct sessions joined) are kept in memory: built
 * at startup by ONE SCAN OF THE WHOLE LOG (stk_model_build: O(events) time, O(tribes + maps +
 * users) memory), then caught up with the log's tail before every index query (stk_model_sync: one
 * short read transaction that applies whatever was committed since — by stk_app_append, the session
 * hub's own writer use, or another process). This is a stop-gap: the projections (PostgreSQL
 * `tribes.user_id`, `maps.user_id`, `maps.play_count`) replace it.
 *
 * It is not the HTTP layer and validates no commands itself; it does not write.
 * Thread: the index (build/extract/apply/owned lists/play count) belongs to the loop
 * thread; the fold functions may run on any thread (they only read the log).
 */
#ifndef STK_NET_MODEL_H
#define STK_NET_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/map.h"
#include "events/envelope.h"
#include "events/log.h"

typedef struct stk_model stk_model_t;

#define STK_MODEL_SEALED_MAX 512 /* the schema's limit on sealed email / password hash */
#define STK_MODEL_NAME_MAX   400 /* 100 code points, UTF-8 */
#define STK_MODEL_DESC_MAX   8000

/* A user as folded from UserRegistered / UserLoggedIn / UserErased. */
typedef struct stk_model_user {
    stk_uuid_t id;
    uint64_t version; /* stream version (0: no such user) */
    char username[51 * 4];
    uint8_t email_sealed[STK_MODEL_SEALED_MAX];
    size_t email_sealed_len;
    uint8_t hash_sealed[STK_MODEL_SEALED_MAX];
    size_t hash_sealed_len;
    int64_t created_us;    /* time of UserRegistered */
    int64_t last_login_us; /* time of the last UserLoggedIn, 0 if never */
    bool erased;
} stk_model_user_t;

typedef struct stk_model_tribe {
    stk_uuid_t id;
    uint64_t version;
    stk_uuid_t user_id;
    char name[STK_MODEL_NAME_MAX + 1];
    char archetype[16];
    uint32_t damage_bp, attack_speed_bp, range_bp;
    char color[8]; /* "#RRGGBB" */
    int64_t created_us, updated_us;
    bool deleted;
} stk_model_tribe_t;

/* A map. Large (the stk_map_t grid is ~60 KiB): allocate it. */
typedef struct stk_model_map {
    stk_uuid_t id;
    uint64_t version;
    stk_uuid_t user_id;
    char name[STK_MODEL_NAME_MAX + 1];
    char description[STK_MODEL_DESC_MAX + 1];
    stk_map_t map;
    bool is_public;
    uint64_t rating_count; /* users who rated (the latest rating per user counts) */
    uint64_t rating_sum;   /* sum of those users' stars */
    uint32_t rating_centi; /* average × 100, rounded half up (0..500; 0 if none) */
    uint64_t play_count;   /* from the index: SessionOpened on this map */
    int64_t created_us, updated_us;
} stk_model_map_t;

/* Creates an empty index over log (borrowed; must outlive the model). Returns 0 or
 * STK_ENOMEM. */
int stk_model_create(stk_log_t *log, stk_model_t **out);
void stk_model_destroy(stk_model_t *m); /* NULL is a no-op */

/* Scans the whole log once and fills the index. Returns 0 or the read errors of
 * stk_log_read, STK_ENOMEM. Loop (owner) thread, before serving. */
int stk_model_build(stk_model_t *m);
/* Applies the events committed since the last build/sync. Same returns. The query
 * functions below call it themselves. Loop thread. */
int stk_model_sync(stk_model_t *m);

/* What one event changes in the index. */
typedef struct stk_model_note {
    uint16_t type;     /* TribeFounded, TribeDeleted, MapDrawn, SessionOpened, PlayerJoined */
    stk_uuid_t stream; /* the tribe / map / session */
    stk_uuid_t ref;    /* owner user (founded/drawn), map id (opened), player (joined) */
    stk_uuid_t tribe;  /* joined: the tribe played */
} stk_model_note_t;

/* Fills *note for an event that the index must see and returns 1; returns 0 for every
 * other event (and for a payload it cannot read). Pure; any thread. */
int stk_model_extract(const stk_envelope_t *e, stk_model_note_t *note);
/* Applies a committed note (used by sync). Returns 0 or STK_ENOMEM. */
int stk_model_apply(stk_model_t *m, const stk_model_note_t *note);

/* The ids of the live (not deleted) tribes / the maps of user, in creation order: up to cap
 * ids into out, *n = how many there are in all (may exceed cap). Returns 0, or the error
 * of stk_model_sync (the answer is then as of the last successful sync). */
int stk_model_user_tribes(stk_model_t *m, const stk_uuid_t *user, stk_uuid_t *out, size_t cap,
                          size_t *n);
int stk_model_user_maps(stk_model_t *m, const stk_uuid_t *user, stk_uuid_t *out, size_t cap,
                        size_t *n);
/* True once a player joined a session with tribe: the contract's session_players.tribe_id
 * is ON DELETE RESTRICT, so such a tribe cannot be deleted. */
bool stk_model_tribe_in_use(stk_model_t *m, const stk_uuid_t *tribe);
/* Distinct sessions user joined (the contract's users.total_games_played). */
uint64_t stk_model_games_played(stk_model_t *m, const stk_uuid_t *user);
/* Sessions opened on map (0 if none). */
uint64_t stk_model_play_count(stk_model_t *m, const stk_uuid_t *map);

/* Folds one stream into *out. Returns 0, STK_ENOTFOUND (no such stream, or it is not a
 * stream of that kind), STK_ECORRUPT (an event does not decode: the log is damaged), the
 * read errors of stk_log_read_stream. A deleted tribe or erased user is returned with its
 * flag set (callers answer 404 / 410 as they see fit). Any thread for user/tribe; _map
 * also reads the play count from the index (loop thread; pass m NULL from elsewhere). */
int stk_model_user(stk_log_t *log, const stk_uuid_t *id, stk_model_user_t *out);
int stk_model_tribe(stk_log_t *log, const stk_uuid_t *id, stk_model_tribe_t *out);
int stk_model_map(stk_model_t *m, stk_log_t *log, const stk_uuid_t *id, stk_model_map_t *out);

#endif
