/* net/server.h — the listener and its connections on one libuv loop.
 *
 * The server accepts TCP connections, runs each through HTTP/1.1 (net/http.h) — keep-alive,
 * pipelining with responses strictly in request order, limits and timeouts — hands every
 * request to one handler (typically stk_router_dispatch), and switches a connection to
 * WebSocket (net/ws.h) when a handler accepts an upgrade. It owns sockets, timers and the
 * cross-thread queue (stk_server_post). It knows no routes, no game and no accounts.
 *
 * Lifecycle (legal order):
 *   stk_server_create → stk_server_listen → [stk_server_run | caller runs the loop]
 *   → stk_server_stop (→ stopped_cb) → stk_server_destroy (loop not running)
 *
 * Connection states (per connection):
 *   HTTP: reading ⇄ (queue full: paused) → [response with close] draining → lingering
 *         (write side shut, input discarded until EOF or close_timeout) → closed
 *   HTTP → WS after a 101 → closing (close frame sent/received) → closed
 *   Timers: idle (keep-alive, no request in flight), request (first byte → complete:
 *   408), linger/close, WS ping/pong.
 * Invariants: a connection is freed only in its handles' close callbacks (STYLE.md #15);
 * responses go out in request order; every peer-driven size is bounded by stk_server_limits.
 *
 * Threads: every function runs on the loop thread, except stk_server_post (any thread).
 *
 * Example (tests/net/testsrv.c is a complete one):
 *     static void healthz(stk_http_req_t *req, stk_http_res_t *res, void *arg)
 *     {   stk_http_res_send(res, 200, "text/plain", "ok\n", 3);   }
 *     static void live(stk_http_req_t *req, stk_http_res_t *res, void *arg)
 *     {   static const char *const protos[] = {"stockade.v1.json", "stockade.v1.msgpack"};
 *         stk_ws_options_t o = {protos, 2, {on_message, on_close}, arg};
 *         stk_ws_t *ws;
 *         if (stk_ws_accept(req, res, &o, &ws) == 0) hub_add(arg, ws);   }
 *     stk_route_t routes[] = {{"GET", "/healthz", healthz, NULL, 0},
 *                             {"GET", "/v1/sessions/{id}/live", live, hub, STK_ROUTE_WEBSOCKET}};
 *     stk_router_create(routes, 2, &router);
 *     stk_server_config_t cfg = {.host = "0.0.0.0", .port = 8080,
 *                                .handler = stk_router_dispatch, .handler_arg = router};
 *     stk_server_create(NULL, &cfg, &srv);  stk_server_listen(srv);  stk_server_run(srv);
 *     (a signal watcher or another thread: stk_server_post(srv, fn_calling_stop, srv))
 *     stk_server_destroy(srv);  stk_router_destroy(router);
 */
#ifndef STK_NET_SERVER_H
#define STK_NET_SERVER_H

#include "net/router.h"

#include <stddef.h>
#include <stdint.h>

struct uv_loop_s; /* uv_loop_t, without making users include uv.h */

typedef struct stk_server_limits {
    size_t max_header_bytes;      /* 16 KiB: request line + headers → 431 and close */
    size_t max_headers;           /* 64 header lines → 431 */
    size_t max_body_bytes;        /* 1 MiB (Content-Length or chunked) → 413 and close */
    size_t max_connections;       /* 1024 open connections; beyond → 503 and close */
    size_t max_pipelined;         /* 16 requests awaiting/writing responses per conn */
    uint32_t idle_timeout_ms;     /* 30 s keep-alive with nothing in flight → close */
    uint32_t request_timeout_ms;  /* 10 s first byte → complete request, else 408 */
    uint32_t close_timeout_ms;    /* 2 s linger after a final response / WS close frame */
    uint32_t stop_timeout_ms;     /* 5 s graceful stop, then everything is cut */
    size_t ws_max_message_bytes;  /* 1 MiB reassembled message → close 1009 */
    size_t ws_send_queue_bytes;   /* 1 MiB queued to one client → dropped (1008) */
    uint32_t ws_ping_interval_ms; /* 20 s of silence → server pings */
    uint32_t ws_pong_timeout_ms;  /* 10 s without any frame after a ping → dropped */
} stk_server_limits_t;

/* Counters, updated on the loop thread. Read them with stk_server_metrics. */
typedef struct stk_server_metrics {
    uint64_t connections_open;
    uint64_t connections_total;
    uint64_t connections_rejected; /* over max_connections */
    uint64_t requests;             /* complete requests handed to the handler */
    uint64_t responses[6];         /* by class: [1] 1xx ... [5] 5xx */
    uint64_t bad_requests;         /* parse errors and limits (400/413/431) */
    uint64_t timeouts;             /* 408s and idle/ping timeouts */
    uint64_t bytes_in, bytes_out;
    uint64_t ws_open, ws_total;
    uint64_t ws_messages_in, ws_messages_out;
    uint64_t ws_drops; /* slow consumers and unanswered pings */
} stk_server_metrics_t;

typedef struct stk_server_config {
    const char *host; /* "127.0.0.1", "::"; copied */
    int port;         /* 0: ephemeral (read it with stk_server_port) */
    stk_server_limits_t limits;
    stk_http_handler_cb handler; /* every request; e.g. stk_router_dispatch */
    void *handler_arg;           /* borrowed; e.g. the router */
    /* Optional: runs on the loop thread each time a response is handed to the socket (for
     * a streamed one: its end). req is NULL for the server's own errors (400, 408, 413,
     * 431, 503); it is borrowed for the call. duration_ns: from the complete request to
     * now. For access logs and latency histograms; must not block. */
    void (*on_response)(const stk_http_req_t *req, int status, uint64_t duration_ns, void *arg);
    void *on_response_arg;
} stk_server_config_t;

typedef struct stk_server stk_server_t;
typedef void (*stk_server_stopped_cb)(stk_server_t *server, void *arg);
typedef void (*stk_server_post_fn)(void *arg);

/* Fills *l with the defaults above. Thread: any. */
void stk_server_limits_default(stk_server_limits_t *l);

/* Creates a server on `loop` (NULL: the server creates and owns its own loop). Zero
 * limit fields take defaults. Process-wide side effect: SIGPIPE is ignored (a peer that
 * resets mid-write must yield EPIPE, not kill the process), as libuv recommends. Returns 0,
 * STK_EINVAL (no handler, no host), STK_ENOMEM, or STK_EIO (libuv failure). Does not listen yet. */
int stk_server_create(struct uv_loop_s *loop, const stk_server_config_t *cfg, stk_server_t **out);

/* Binds and listens. Returns 0, STK_EINVAL (bad address), STK_EIO (bind/listen failed:
 * port in use, permission), STK_ESTATE (already listening or stopping). */
int stk_server_listen(stk_server_t *server);

/* The bound port (after listen), or -1. */
int stk_server_port(const stk_server_t *server);

/* Runs the loop until the server has stopped (stk_server_stop completed). Returns 0 or
 * STK_ESTATE (the loop is not the server's own). */
int stk_server_run(stk_server_t *server);

/* Graceful stop: stop accepting; idle HTTP connections close; in-flight responses finish
 * (then their connections close); WebSockets get close 1001 going-away; after
 * stop_timeout_ms whatever remains is cut. Then cb(server, arg) runs once on the loop
 * thread (never inside this call); the loop returns from stk_server_run. Returns 0 or
 * STK_ESTATE (already stopping; cb will not run). cb may be NULL. */
int stk_server_stop(stk_server_t *server, stk_server_stopped_cb cb, void *arg);

/* Frees the server after it stopped (or if it never listened; open connections are cut).
 * Runs still-queued posted functions first (so each posted fn runs exactly once). With its
 * own loop: call it outside the loop run (not from a callback); it runs the loop until
 * every handle is closed and frees everything. With the caller's loop: it may be called
 * from a callback; the handles close and the memory is released by their close callbacks,
 * so the caller runs its loop afterwards (e.g. uv_run until it returns) before
 * uv_loop_close. */
void stk_server_destroy(stk_server_t *server);

/* Queues fn(arg) to run on the loop thread at its next turn. Thread: ANY thread (this is
 * how the LMDB writer hands back commit results). Returns 0 or STK_ENOMEM (fn will not
 * run). If it returns 0, fn runs exactly once (at the latest inside stk_server_destroy).
 * Must not be called after stk_server_destroy started. */
int stk_server_post(stk_server_t *server, stk_server_post_fn fn, void *arg);

/* Copies the counters into *out. */
void stk_server_metrics(const stk_server_t *server, stk_server_metrics_t *out);

/* The loop the server runs on (borrowed). */
struct uv_loop_s *stk_server_loop(stk_server_t *server);

#endif
