/* net/ws.h — WebSocket (RFC 6455) connections on wslay.
 *
 * A route handler turns an HTTP request into a WebSocket with stk_ws_accept: it checks
 * the handshake (GET, Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Version: 13,
 * a 16-byte base64 Sec-WebSocket-Key), picks a subprotocol, answers 101 with the
 * Sec-WebSocket-Accept (SHA-1 from libcrypto) and returns a stk_ws_t. From then on the
 * owner gets whole messages (fragments reassembled by wslay) through on_message and sends
 * with stk_ws_send_text/binary; pings are answered automatically.
 *
 * Subprotocol decision: if the server lists subprotocols, the connection MUST agree on
 * one: the first of the CLIENT's offers that the server lists wins (clients state their
 * preference); no common one (or no offer) → 400 problem+json with an `errors` entry for
 * field "Sec-WebSocket-Protocol", code "unsupported". An empty server list accepts any
 * client and selects none. Rationale: the live protocol needs to know the encoding
 * (JSON text vs MessagePack binary) before the first message; guessing would be worse
 * than refusing.
 *
 * Limits and errors (from stk_server_limits): a message over ws_max_message_bytes → close
 * 1009; invalid UTF-8 in a text message → 1007; protocol errors (unmasked frames, RSV
 * bits, bad opcodes, bad control frames) → 1002; more than ws_send_queue_bytes queued to a
 * client → the client is dropped: close 1008 is attempted, the socket is cut at the
 * latest close_timeout_ms later, and sends fail at once, so one slow reader never holds
 * memory or the loop for others. Each queued message is charged 64 bytes on top of its
 * length (wslay's bookkeeping), and the pongs owed for a client's pings count too, so a
 * flood of tiny messages or of pings from a client that reads nothing is bounded alike.
 * A silent client is pinged after ws_ping_interval_ms and dropped if nothing arrives
 * within ws_pong_timeout_ms.
 *
 * States: OPEN → CLOSING (close frame sent or received) → CLOSED (on_close ran, ws freed).
 * on_close runs exactly once per accepted ws, with the peer's close code (1006 if none
 * arrived); the stk_ws_t is invalid after on_close returns. It never runs inside
 * stk_ws_accept, stk_ws_send_* or stk_ws_close (calls are never re-entrant).
 *
 * Thread: loop thread only.
 */
#ifndef STK_NET_WS_H
#define STK_NET_WS_H

#include "net/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct stk_ws stk_ws_t;

typedef enum stk_ws_kind {
    STK_WS_TEXT = 1,
    STK_WS_BINARY = 2,
} stk_ws_kind_t;

/* Close codes used here (RFC 6455 §7.4.1). */
#define STK_WS_NORMAL     1000
#define STK_WS_GOING_AWAY 1001
#define STK_WS_PROTOCOL   1002
#define STK_WS_BAD_DATA   1007
#define STK_WS_POLICY     1008
#define STK_WS_TOO_BIG    1009
#define STK_WS_INTERNAL   1011
#define STK_WS_TRY_LATER  1013
#define STK_WS_NO_STATUS  1005
#define STK_WS_ABNORMAL   1006

typedef struct stk_ws_callbacks {
    /* A complete message. data is borrowed for the call only. Text is valid UTF-8. */
    void (*on_message)(stk_ws_t *ws, stk_ws_kind_t kind, const uint8_t *data, size_t len,
                       void *arg);
    /* The connection is gone; code as received (1006 if none). ws is freed after this. */
    void (*on_close)(stk_ws_t *ws, int code, void *arg);
} stk_ws_callbacks_t;

typedef struct stk_ws_options {
    const char *const *subprotocols; /* server's list; may be NULL if n_subprotocols 0 */
    size_t n_subprotocols;
    stk_ws_callbacks_t cb;
    void *arg; /* passed to callbacks; borrowed */
} stk_ws_options_t;

/* Validates the handshake of req and completes res: 101 and *out set (return 0), or an
 * error response (400/426 problem+json) and STK_EINVAL / STK_EDECODE, or STK_ECLOSED if the
 * client already left (res completed, nothing opens). Always completes res; req and res
 * are invalid afterwards. The ws exists from now: sends are queued until the 101 is on the
 * wire. Strings in opts are borrowed until on_close. Returns STK_ENOMEM too. */
int stk_ws_accept(stk_http_req_t *req, stk_http_res_t *res, const stk_ws_options_t *opts,
                  stk_ws_t **out);

/* Queues a text (valid UTF-8, not checked) or binary message; the bytes are copied.
 * Returns 0, STK_ECLOSED (closing or closed, or the client was just dropped because the
 * queue would exceed ws_send_queue_bytes), STK_ETOOBIG (len > ws_max_message_bytes),
 * STK_ENOMEM. */
int stk_ws_send_text(stk_ws_t *ws, const char *data, size_t len);
int stk_ws_send_binary(stk_ws_t *ws, const void *data, size_t len);

/* Starts the close handshake with code (1000..4999) and an optional reason (≤ 123 bytes,
 * truncated). Queued messages are sent first. on_close follows later. Returns 0 or
 * STK_ECLOSED (already closing). */
int stk_ws_close(stk_ws_t *ws, int code, const char *reason);

/* Subprotocol agreed in the handshake (borrowed from opts), or NULL. */
const char *stk_ws_subprotocol(const stk_ws_t *ws);
/* Bytes queued and not yet handed to the socket. */
size_t stk_ws_queued_bytes(const stk_ws_t *ws);
/* Owner pointer, free for the application (initially opts->arg's callbacks' arg too). */
void stk_ws_set_user(stk_ws_t *ws, void *user);
void *stk_ws_user(const stk_ws_t *ws);

/* Computes Sec-WebSocket-Accept for key (NUL-terminated) into out (29 bytes incl. NUL).
 * Returns 0 or STK_ECRYPTO. Thread: any. */
int stk_ws_accept_key(const char *key, char out[29]);
/* True if s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool stk_ws_utf8_valid(const uint8_t *s, size_t len);

/* ---- transport hooks: net/server.c only ----------------------------------------------- */

typedef struct stk_ws_limits {
    size_t max_message_bytes;
    size_t send_queue_bytes;
    uint32_t ping_interval_ms, pong_timeout_ms, close_timeout_ms;
} stk_ws_limits_t;

typedef struct stk_ws_io {
    void *conn;
    /* Writes up to len bytes; returns bytes taken (0: would block, call
     * stk_ws_io_flush when writable) or a negative error (socket dead). */
    long (*write)(void *conn, const uint8_t *buf, size_t len);
    void (*schedule)(void *conn);               /* call stk_ws_io_flush soon */
    void (*set_timer)(void *conn, uint64_t ms); /* one shot → stk_ws_io_timer; 0 cancels */
    void (*hard_close)(void *conn);             /* cut the socket; detach follows */
    void (*finish)(void *conn);  /* written data goes out, then FIN, linger; detach follows */
    uint64_t (*now)(void *conn); /* loop time in ms */
    void (*count)(void *conn, int what); /* metrics: 0 msg in, 1 msg out, 2 drop */
} stk_ws_io_t;

/* The server takes the ws out of the 101 response and attaches the socket. io and limits
 * are copied. Returns 0 or STK_ENOMEM. */
int stk_ws_io_attach(stk_ws_t *ws, const stk_ws_io_t *io, const stk_ws_limits_t *limits);
void stk_ws_io_read(stk_ws_t *ws, const uint8_t *data, size_t len);
void stk_ws_io_eof(stk_ws_t *ws);
void stk_ws_io_flush(stk_ws_t *ws);
void stk_ws_io_timer(stk_ws_t *ws);
/* Graceful stop: close 1001. */
void stk_ws_io_going_away(stk_ws_t *ws);
/* The socket is closed: on_close runs and ws is freed. */
void stk_ws_io_detach(stk_ws_t *ws);
/* The upgrade never reached the socket (client gone): on_close(1006), free. */
void stk_ws_io_abort(void *ws);

#endif
