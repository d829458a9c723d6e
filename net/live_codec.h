/* net/live_codec.h — the messages of the live protocol (docs/live-protocol.md), both ways,
 * for both subprotocols: `stockade.v1.json` (JSON objects, jansson) and
 * `stockade.v1.msgpack` (MessagePack maps, msgpack-c).
 *
 * Client messages are DECODED from untrusted bytes into a typed stk_live_msg_t, with every
 * limit checked (message size, string lengths, numeric ranges, field kinds) and a typed
 * error (the protocol reject code to answer, a message, and the ref when one could be
 * read so the reject can echo it). Server messages are ENCODED from C values and from the
 * game's read-only accessors into one buffer (a JSON text or a MessagePack map). The ops
 * are declared once in STK_LIVE_OP_MAP, the protocol reject codes in STK_LIVE_REJECT_MAP.
 *
 * It is NOT the hub (net/hub.h decides what to send and when), does no I/O and never
 * touches a socket: pure functions of their arguments.
 *
 * Thread: every function is reentrant; any thread (the const game accessors used by the
 * encoders must not run concurrently with a step of that game).
 */
#ifndef STK_NET_LIVE_CODEC_H
#define STK_NET_LIVE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/game.h"
#include "events/envelope.h"

#define STK_LIVE_PROTOCOL         1
#define STK_LIVE_SUBPROTO_JSON    "stockade.v1.json"
#define STK_LIVE_SUBPROTO_MSGPACK "stockade.v1.msgpack"
#define STK_LIVE_MSG_MAX          4096u /* bytes of one client message */
#define STK_LIVE_STR_MAX          64u   /* bytes of a string field (ref, tower, op) */
#define STK_LIVE_TOKEN_MAX        4096u /* bytes of the auth token */
#define STK_LIVE_COORD_MAX        65535u
#define STK_LIVE_REF_MAX          9007199254740991ull /* 2^53 - 1 */

typedef enum stk_live_format {
    STK_LIVE_JSON = 0,
    STK_LIVE_MSGPACK = 1,
} stk_live_format_t;

/* X(NAME, "wire name") — client ops, in one place. */
#define STK_LIVE_OP_MAP(X)                                                                         \
    X(AUTH, "auth")                                                                                \
    X(HELLO, "hello")                                                                              \
    X(READY, "ready")                                                                              \
    X(START, "start")                                                                              \
    X(PLACE, "place")                                                                              \
    X(UPGRADE, "upgrade")                                                                          \
    X(SELL, "sell")                                                                                \
    X(CALL_WAVE, "call_wave")                                                                      \
    X(PAUSE, "pause")                                                                              \
    X(RESUME, "resume")

typedef enum stk_live_op {
#define STK_LIVE_OP_ENUM(name, wire) STK_LIVE_OP_##name,
    STK_LIVE_OP_MAP(STK_LIVE_OP_ENUM)
#undef STK_LIVE_OP_ENUM
        STK_LIVE_OP_COUNT
} stk_live_op_t;

/* X(NAME, "wire code", "message") — reject codes of the protocol itself (the game's are
 * core/game.h STK_REJECT_MAP, sent lowercased). */
#define STK_LIVE_REJECT_MAP(X)                                                                     \
    X(BAD_MESSAGE, "bad_message", "malformed message")                                             \
    X(UNKNOWN_OP, "unknown_op", "unknown op")                                                      \
    X(HELLO_REQUIRED, "hello_required", "send hello first")                                        \
    X(SPECTATOR, "spectator", "spectators are read-only")                                          \
    X(NOT_IN_SESSION, "not_in_session", "you are not a player of this session")                    \
    X(RATE_LIMITED, "rate_limited", "too many ops per second")                                     \
    X(BUSY, "busy", "the session is busy, retry")                                                  \
    X(SERVER_ERROR, "server_error", "the command could not be recorded")

typedef enum stk_live_reject {
#define STK_LIVE_REJECT_ENUM(name, code, msg) STK_LIVE_REJECT_##name,
    STK_LIVE_REJECT_MAP(STK_LIVE_REJECT_ENUM)
#undef STK_LIVE_REJECT_ENUM
        STK_LIVE_REJECT_COUNT
} stk_live_reject_t;

/* A client's ref: absent, an unsigned integer 0..2^53-1, or a string of 1..64 bytes. */
typedef enum stk_live_ref_kind {
    STK_LIVE_REF_NONE = 0,
    STK_LIVE_REF_NUM = 1,
    STK_LIVE_REF_STR = 2,
} stk_live_ref_kind_t;

typedef struct stk_live_ref {
    stk_live_ref_kind_t kind;
    uint64_t num;
    size_t len;
    char str[STK_LIVE_STR_MAX + 1]; /* NUL-terminated (may hold NULs of its own: use len) */
} stk_live_ref_t;

/* A decoded client message. Fields not used by op are zero. */
typedef struct stk_live_msg {
    stk_live_op_t op;
    stk_live_ref_t ref;
    /* AUTH: the token (NUL-terminated copy) */
    char token[STK_LIVE_TOKEN_MAX + 1];
    size_t token_len;
    /* HELLO */
    bool has_last_seq;
    uint64_t last_seq;
    bool spectate;
    /* READY */
    bool ready;
    /* PLACE */
    uint32_t x, y;
    char tower[STK_LIVE_STR_MAX + 1];
    /* UPGRADE, SELL */
    uint32_t tower_id;
} stk_live_msg_t;

/* Why a client message was refused. */
typedef struct stk_live_error {
    stk_live_reject_t code; /* BAD_MESSAGE or UNKNOWN_OP */
    char message[128];      /* one human line naming the field */
    stk_live_ref_t ref;     /* the ref if it could be read (kind NONE otherwise) */
} stk_live_error_t;

/* Decode one client message of format fmt (len bytes at data, borrowed for the call) into
 * *out. Returns 0; STK_EDECODE with *err filled (code BAD_MESSAGE: too long, not JSON /
 * MessagePack, not an object/map, trailing bytes, a missing, mistyped or out-of-range
 * field, a missing ref on an op that needs one; UNKNOWN_OP: "op" names no op);
 * STK_EINVAL (NULL out or err, or data NULL with len > 0). Never allocates beyond the
 * parser's own transient memory. */
int stk_live_decode(stk_live_format_t fmt, const uint8_t *data, size_t len, stk_live_msg_t *out,
                    stk_live_error_t *err);

/* Wire names. Static strings; "?" for out-of-range values. */
const char *stk_live_op_name(stk_live_op_t op);
const char *stk_live_reject_code(stk_live_reject_t r);
const char *stk_live_reject_message(stk_live_reject_t r);
/* The lowercase wire code of a game reject ("not_enough_gold"). Static; "unknown" if out
 * of range. */
const char *stk_live_game_reject_code(stk_reject_t why);

/* ---- server messages ---------------------------------------------------------------- */

/* An encoded server message: JSON text (not NUL-counted in len; a NUL follows) or
 * MessagePack bytes. data is malloc'd; free with stk_live_buf_free. */
typedef struct stk_live_buf {
    uint8_t *data;
    size_t len;
} stk_live_buf_t;

void stk_live_buf_free(stk_live_buf_t *b); /* frees data, zeroes *b; NULL ok */

/* Who a welcome is for. */
typedef struct stk_live_you {
    stk_uuid_t user;
    int player; /* join index, -1 for a spectator who is not a player */
    bool spectator;
    bool host;
} stk_live_you_t;

/* Each encoder returns 0 and fills *out, or STK_EINVAL (NULL argument) / STK_ENOMEM
 * (nothing allocated). ref may be NULL (sent as null). */
int stk_live_encode_ack(stk_live_format_t fmt, const stk_live_ref_t *ref, uint64_t seq,
                        uint64_t tick, stk_live_buf_t *out);
/* code/message: static or caller strings, borrowed for the call. */
int stk_live_encode_reject(stk_live_format_t fmt, const stk_live_ref_t *ref, const char *code,
                           const char *message, stk_live_buf_t *out);
/* welcome: snapshot of g (borrowed) at seq (the stream head's global seq). */
int stk_live_encode_welcome(stk_live_format_t fmt, const stk_live_ref_t *ref,
                            const stk_uuid_t *session, const stk_uuid_t *map_id,
                            const stk_live_you_t *you, uint64_t seq, const stk_game_t *g,
                            stk_live_buf_t *out);
/* event: one committed event of the session stream (e borrowed). The payload is shown at
 * its stored schema; SessionOpened's balance and map bins are left out. Returns also the
 * errors of events/json.h for a payload that does not decode (STK_ESCHEMA, ...). */
int stk_live_encode_event(stk_live_format_t fmt, const stk_envelope_t *e, stk_live_buf_t *out);
/* state: the periodic update (tick, state, wave, lives, countdown, players, enemies). */
int stk_live_encode_state(stk_live_format_t fmt, const stk_game_t *g, stk_live_buf_t *out);
/* end: result, wave, lives, tick, hash of the final state of g. */
int stk_live_encode_end(stk_live_format_t fmt, const stk_game_t *g, stk_live_buf_t *out);

/* ---- for clients and tests ---------------------------------------------------------- */

/* Convert one MessagePack-encoded message (a server message or a client one) into the JSON
 * object the JSON subprotocol would carry: bin of 16 bytes → canonical UUID string, other
 * bin → base64, uint above INT64_MAX → decimal string. Returns 0 and *out (caller
 * json_decref()s), STK_EDECODE (not one MessagePack map, or nesting deeper than 16),
 * STK_ENOMEM. */
int stk_live_msgpack_to_json(const uint8_t *data, size_t len, json_t **out);

#endif
