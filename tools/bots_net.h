/* tools/bots_net.h — the client side of the wire for `stockade bots`: one-shot HTTP/1.1
 * requests and WebSocket (RFC 6455, client role, masked frames on wslay) connections, all
 * driven by one libuv loop with non-blocking sockets, so that one thread drives a thousand
 * clients.
 *
 * HTTP: each request opens its own connection (`Connection: close`), writes the request,
 * reads the answer to EOF and decodes it (Content-Length or chunked). Simple and enough for
 * a load generator's setup traffic; the keep-alive benchmark uses wrk.
 * WebSocket: connect, upgrade (Sec-WebSocket-Accept checked with SHA-1, the subprotocol
 * checked), then whole messages in and out; pings are answered by wslay.
 *
 * It is NOT the live protocol (tools/cmd_bots.c speaks it) and NOT a general HTTP client:
 * no TLS, no redirects, no proxies, no pipelining.
 *
 * Callback contract (STYLE #11): when a call that takes a callback fails, the callback never
 * runs; when it succeeds, it runs exactly once (the WebSocket's on_close), always from the
 * loop, never inside the call.
 *
 * Limits: an HTTP answer is at most `max_body` bytes of body and 16 KiB of headers; a
 * WebSocket handshake answer at most 8 KiB; a received WebSocket message at most
 * STK_BNET_WS_MSG_MAX bytes (bigger: close 1009).
 *
 * Thread: everything runs on the loop's thread.
 */
#ifndef STK_TOOLS_BOTS_NET_H
#define STK_TOOLS_BOTS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define STK_BNET_WS_MSG_MAX (4u << 20)

/* Per-loop state shared by every connection (the read buffer). */
typedef struct stk_bnet stk_bnet_t;

/* Create for `loop` (borrowed; must outlive the stk_bnet_t). Returns 0 and *out, or
 * STK_ENOMEM. */
int stk_bnet_create(uv_loop_t *loop, stk_bnet_t **out);
/* Free; every connection must be finished (their callbacks have run). NULL ok. */
void stk_bnet_destroy(stk_bnet_t *n);

/* Where to connect: server address, optional local address to bind (a loopback source
 * address, port 0), and the Host header. Copied by each call. */
typedef struct stk_bnet_target {
    struct sockaddr_storage addr;
    struct sockaddr_storage src; /* ss_family AF_UNSPEC: no bind */
    char host[128];              /* "127.0.0.1:8080" */
} stk_bnet_target_t;

/* Parse "http://HOST:PORT" (numeric IPv4, or "localhost") into t (no src). Returns 0 or
 * STK_EINVAL. */
int stk_bnet_target_parse(const char *url, stk_bnet_target_t *t);

/* The answer of one request: status is the HTTP status, or a negative STK_E* code when no
 * answer was read (connect refused, reset, too big, malformed). body (NUL-terminated,
 * decoded) is valid during the callback only. retry_after: seconds from Retry-After, 0 if
 * none. */
typedef void (*stk_bnet_http_cb)(void *ud, int status, const char *body, size_t len,
                                 int retry_after);

/* Send one request. method/path borrowed for the call; token (may be NULL) is sent as
 * `Authorization: Bearer`; body (may be NULL) as application/json. Returns 0 (cb will
 * run), STK_EINVAL, STK_ENOMEM, or a translated libuv error (nothing runs). */
int stk_bnet_http(stk_bnet_t *n, const stk_bnet_target_t *t, const char *method, const char *path,
                  const char *token, const char *body, size_t len, size_t max_body,
                  stk_bnet_http_cb cb, void *ud);

typedef struct stk_bnet_ws stk_bnet_ws_t;

typedef struct stk_bnet_ws_cbs {
    /* The upgrade succeeded; sends are possible from now on. */
    void (*on_open)(void *ud);
    /* One whole message (data valid during the call). */
    void (*on_message)(void *ud, bool binary, const uint8_t *data, size_t len);
    /* Exactly once per successful stk_bnet_ws_connect: code is the peer's close code
     * (1006 if none arrived), http_status the handshake's status when the upgrade failed
     * (0 otherwise). The ws is freed after this returns. */
    void (*on_close)(void *ud, int code, int http_status);
} stk_bnet_ws_cbs_t;

/* Connect and upgrade to `path` offering `subprotocol`. cbs and ud are kept. Returns 0 and
 * *out (valid until on_close returns), STK_EINVAL, STK_ENOMEM, or a libuv error. */
int stk_bnet_ws_connect(stk_bnet_t *n, const stk_bnet_target_t *t, const char *path,
                        const char *subprotocol, const stk_bnet_ws_cbs_t *cbs, void *ud,
                        stk_bnet_ws_t **out);

/* Queue one message (copied) and write it. Returns 0, STK_ESTATE (not open, or closing),
 * STK_ENOMEM. */
int stk_bnet_ws_send(stk_bnet_ws_t *ws, bool binary, const uint8_t *data, size_t len);

/* Start the closing handshake with `code` (or cut the socket if the upgrade is not done);
 * on_close follows. Idempotent. */
void stk_bnet_ws_close(stk_bnet_ws_t *ws, uint16_t code);

/* Bytes queued to the kernel and not yet written (for back-pressure accounting). */
size_t stk_bnet_ws_pending(const stk_bnet_ws_t *ws);

#endif
