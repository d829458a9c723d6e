/* net/http.h — HTTP/1.1 requests and responses, without sockets.
 *
 * This module is the byte-level half of HTTP: a request parser (on llhttp) that is fed
 * bytes and yields complete requests one at a time, within configured limits; the
 * request struct handlers read; and the response handle handlers fill and complete, which
 * it serialises to bytes. It is not the connection: it never touches a socket, a timer or
 * the loop (net/server.c does, and drives the response completion hook). It does not
 * route (net/router.h) and does not speak WebSocket (net/ws.h).
 *
 * Parser states:  IDLE --first byte--> IN_MESSAGE --complete--> IDLE (request returned)
 *                 any --bad input / limit--> FAILED (terminal; every later feed fails)
 *                 IDLE after a request with Upgrade --> UPGRADED (terminal; the rest of the
 *                 stream is not HTTP)
 *
 * Response lifecycle: the server creates a response per request and passes it to the
 * handler with the request. The handler completes it exactly once, now or later, with one
 * of the stk_http_res_send* functions (or stk_problem_send / stk_ws_accept). Request and
 * response stay valid until that call; neither may be touched after it returns. If the
 * client went away meanwhile, completing still must happen (it frees them);
 * stk_http_res_abandoned() tells the handler its work will not be seen.
 *
 * Thread: a parser, request or response is used by one thread at a time; in the server
 * that is the loop thread.
 */
#ifndef STK_NET_HTTP_H
#define STK_NET_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what a peer controls while sending one request. Zero means "default". */
typedef struct stk_http_limits {
    size_t max_header_bytes; /* request line + header section; default 16 KiB → 431 */
    size_t max_headers;      /* header lines; default 64 → 431 */
    size_t max_body_bytes;   /* decoded body (Content-Length or chunked); 1 MiB → 413 */
} stk_http_limits_t;

#define STK_HTTP_DEFAULT_MAX_HEADER_BYTES (16u * 1024u)
#define STK_HTTP_DEFAULT_MAX_HEADERS      64u
#define STK_HTTP_DEFAULT_MAX_BODY_BYTES   (1024u * 1024u)
#define STK_HTTP_MAX_PARAMS               8 /* path parameters a route may capture */

typedef enum stk_http_method {
    STK_HTTP_OTHER = 0,
    STK_HTTP_GET,
    STK_HTTP_HEAD,
    STK_HTTP_POST,
    STK_HTTP_PUT,
    STK_HTTP_DELETE,
    STK_HTTP_PATCH,
    STK_HTTP_OPTIONS,
} stk_http_method_t;

typedef struct stk_http_header {
    const char *name;  /* NUL-terminated, as sent (compare case-insensitively) */
    const char *value; /* NUL-terminated, surrounding whitespace removed by llhttp */
    size_t value_len;
} stk_http_header_t;

/* One parsed request. Read-only for handlers except `user` and the params, which the
 * router fills. Every string is NUL-terminated and lives in the request's own storage,
 * valid until the response is completed (or stk_http_req_free for parser users). */
typedef struct stk_http_req {
    stk_http_method_t method;
    const char *method_name; /* "GET", "PROPFIND", ... */
    const char *target;      /* raw request-target: path and query */
    const char *path;        /* target up to '?', not percent-decoded */
    const char *query;       /* after '?', "" if none */
    int http_major, http_minor;
    const stk_http_header_t *headers;
    size_t n_headers;
    const uint8_t *body; /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    bool keep_alive;      /* the client allows another request on this connection */
    bool upgrade;         /* Connection: upgrade + Upgrade: present; the stream ends here */
    char remote_addr[48]; /* peer IP as text ("127.0.0.1", "::1"), filled by the server;
                             "" from the bare parser. For rate limits and logs. */
    size_t n_params;      /* path parameters captured by the router ("{id}") */
    const char *param_names[STK_HTTP_MAX_PARAMS];
    const char *param_values[STK_HTTP_MAX_PARAMS];
    void *user; /* free for the handler */
} stk_http_req_t;

/* ---- request accessors ---------------------------------------------------------------- */

/* First header named `name` (ASCII case-insensitive), or NULL. Borrowed from req. */
const char *stk_http_req_header(const stk_http_req_t *req, const char *name);
/* Path parameter captured by the router ("id" for "/v1/sessions/{id}"), or NULL. */
const char *stk_http_req_param(const stk_http_req_t *req, const char *name);
/* True if the comma-separated header `name` lists `token` (case-insensitive), e.g.
 * Connection: keep-alive, Upgrade. */
bool stk_http_req_header_has_token(const stk_http_req_t *req, const char *name, const char *token);

/* Finds `name` in a query string ("a=1&b=x%20y", no leading '?') and writes its
 * percent-decoded value ('+' is a space) to out (NUL-terminated). Returns 0,
 * STK_ENOTFOUND, STK_ETOOBIG (value longer than cap-1), STK_EDECODE (bad %-escape or a
 * decoded NUL). A name without '=' has the value "". Thread: any (pure). */
int stk_http_query_get(const char *query, const char *name, char *out, size_t cap);

/* Records a path parameter: name is borrowed (must outlive req: the router's table), the
 * value is copied into req's storage. Returns 0, STK_ETOOBIG (more than
 * STK_HTTP_MAX_PARAMS), STK_ENOMEM. Used by net/router.c. */
int stk_http_req_add_param(stk_http_req_t *req, const char *name, const char *value, size_t len);
/* Forgets captured parameters (the router tries routes in turn). */
void stk_http_req_clear_params(stk_http_req_t *req);

/* ---- parser (connection-less; fuzzed by tests/fuzz/fuzz_http_request.c) --------------- */

typedef struct stk_http_parser stk_http_parser_t;

/* Creates a request parser with `limits` (NULL or zero fields → defaults; copied).
 * Returns 0 or STK_ENOMEM. *out is freed with stk_http_parser_destroy. */
int stk_http_parser_create(const stk_http_limits_t *limits, stk_http_parser_t **out);
void stk_http_parser_destroy(stk_http_parser_t *p);

/* Feeds up to len bytes. Parsing stops right after a complete request, so one call yields
 * at most one request: *consumed tells how many bytes were used; feed the rest again.
 * Returns 0 with *req set (taken: free with stk_http_req_free, or hand it to the server)
 * when a request completed, 0 with *req NULL when all bytes were used and more are needed.
 * Errors (the parser is then FAILED): STK_EDECODE malformed (*status 400; includes an
 * HTTP/1.1 request without exactly one Host header, RFC 9112 §3.2), STK_ETOOBIG a
 * limit (*status 431 headers, 413 body), STK_ESTATE fed after FAILED or UPGRADED,
 * STK_ENOMEM. *status is the HTTP status to answer with, or 0. */
int stk_http_parser_feed(stk_http_parser_t *p, const uint8_t *data, size_t len, size_t *consumed,
                         stk_http_req_t **req, int *status);
/* True between the first byte of a request and its completion (the request timeout runs). */
bool stk_http_parser_busy(const stk_http_parser_t *p);
/* True after an Upgrade request was returned: the following bytes are another protocol. */
bool stk_http_parser_upgraded(const stk_http_parser_t *p);
/* True once per request that sent "Expect: 100-continue" and has a body to come: the
 * server may answer "100 Continue" now (clears the flag). */
bool stk_http_parser_take_continue(stk_http_parser_t *p);
/* Short reason of the last error ("header section too large", llhttp's reason...). */
const char *stk_http_parser_error(const stk_http_parser_t *p);

/* Frees a request returned by stk_http_parser_feed. NULL is fine. */
void stk_http_req_free(stk_http_req_t *req);

/* ---- responses ------------------------------------------------------------------------ */

typedef struct stk_http_res stk_http_res_t;

/* Adds a response header (both strings copied). Content-Length, Connection and
 * Transfer-Encoding are the server's and refused. Returns 0, STK_EINVAL (empty name, CR/LF
 * or colon in name, CR/LF in value, reserved name, already completed), STK_ETOOBIG (more
 * than 8 KiB of headers), STK_ENOMEM. */
int stk_http_res_header(stk_http_res_t *res, const char *name, const char *value);

/* Completes the response with a status and a copied body (may be NULL/0). content_type
 * may be NULL (no Content-Type). For HEAD the body is omitted but Content-Length kept.
 * Always completes: on failure (STK_ENOMEM, STK_EINVAL: status outside 200..599 and not
 * 101, or a bad content type) a bare 500 goes out
 * instead and the error is returned. res and its request are invalid afterwards. */
int stk_http_res_send(stk_http_res_t *res, int status, const char *content_type, const void *body,
                      size_t len);

/* As stk_http_res_send but the body is borrowed: free_cb(free_arg) runs exactly once, when
 * the bytes are written or dropped (also if this call fails). free_cb may be NULL. */
int stk_http_res_send_borrowed(stk_http_res_t *res, int status, const char *content_type,
                               const void *body, size_t len, void (*free_cb)(void *),
                               void *free_arg);

/* Completes with `json` (borrowed; serialised compactly) as application/json. */
int stk_http_res_send_json(stk_http_res_t *res, int status, const json_t *json);

/* ---- streamed responses (Transfer-Encoding: chunked) ----
 * For bodies produced over time (e.g. a game's log as JSON lines): begin, write any number
 * of times, end. The head goes out when the response reaches the front of the pipeline;
 * chunks follow as they are written. HTTP/1.0 clients get the raw body and a close; HEAD
 * gets the head only. At most STK_HTTP_STREAM_MAX_BUFFERED bytes may wait unwritten:
 * beyond, write returns STK_EBUSY and on_drain runs once they are written (or the client
 * left: then write returns STK_ECLOSED). stream_end completes the response (res and req
 * invalid afterwards) and must be called exactly once after a successful begin, even
 * after STK_ECLOSED. */
#define STK_HTTP_STREAM_MAX_BUFFERED (1024u * 1024u)

/* Starts a streamed response. Returns 0, STK_ESTATE (already completed or begun),
 * STK_EINVAL (bad status, bad content type): then res is NOT completed and the handler
 * still owes a stk_http_res_send*. */
int stk_http_res_stream_begin(stk_http_res_t *res, int status, const char *content_type);
/* Queues len bytes (copied). Returns 0, STK_EBUSY (buffer full: nothing queued; wait for
 * on_drain), STK_ECLOSED (client gone), STK_ESTATE (not begun or ended), STK_ENOMEM. */
int stk_http_res_stream_write(stk_http_res_t *res, const void *data, size_t len);
/* Ends the stream and completes the response. Returns 0 or STK_ESTATE (not streaming). */
int stk_http_res_stream_end(stk_http_res_t *res);
/* on_drain(res, arg) runs on the loop thread after a STK_EBUSY, once the buffered bytes
 * are written or the client left (possibly inside stk_server_stop). NULL clears it. */
void stk_http_res_stream_on_drain(stk_http_res_t *res, void (*on_drain)(stk_http_res_t *, void *),
                                  void *arg);

/* True if the client is gone: completing is still required, but nobody will read it. */
bool stk_http_res_abandoned(const stk_http_res_t *res);
/* The request this response answers (borrowed; same lifetime as res). */
stk_http_req_t *stk_http_res_req(stk_http_res_t *res);
/* Standard reason phrase ("Not Found"), "Unknown" for unlisted codes. */
const char *stk_http_status_reason(int status);

/* ---- transport hooks: net/server.c, net/ws.c and tests only --------------------------- */

/* Called once when the handler completed the response. */
typedef void (*stk_http_res_done_cb)(stk_http_res_t *res, void *arg);

/* Creates a response for req (req is NOT taken). Returns 0 or STK_ENOMEM. */
int stk_http_res_create(stk_http_req_t *req, stk_http_res_done_cb done, void *done_arg,
                        stk_http_res_t **out);
/* Frees the response and runs the borrowed body's free_cb and the upgrade abort hook if
 * still set. The request is freed separately. */
void stk_http_res_free(stk_http_res_t *res);
void stk_http_res_set_abandoned(stk_http_res_t *res);
bool stk_http_res_completed(const stk_http_res_t *res);
int stk_http_res_status(const stk_http_res_t *res);
/* Serialises the status line and headers into a new malloc'd buffer (*head, *head_len;
 * caller frees). close adds "Connection: close"; date (IMF-fixdate, may be NULL) a Date header.
 * *body and *body_len: what to write after it (empty for HEAD, 1xx, 204, 304). Returns 0 or
 * STK_ENOMEM. */
int stk_http_res_serialize(const stk_http_res_t *res, bool close, const char *date, char **head,
                           size_t *head_len, const void **body, size_t *body_len);
/* Streaming, for the server: true once stk_http_res_stream_begin succeeded. */
bool stk_http_res_streaming(const stk_http_res_t *res);
/* Moves the queued chunks out as one wire buffer (*buf malloc'd, caller frees; NULL when
 * nothing): chunk framing for HTTP/1.1, raw for 1.0, nothing for HEAD. *payload: user
 * bytes inside (report them with stk_http_res_stream_written once written); *last: the
 * stream ended and the terminator is included. Returns 0 or STK_ENOMEM. */
int stk_http_res_stream_take(stk_http_res_t *res, char **buf, size_t *len, size_t *payload,
                             bool *last);
void stk_http_res_stream_written(stk_http_res_t *res, size_t payload);
/* An upgrade hand-off: ctx travels with the response; abort(ctx) runs if the response is
 * freed before the server took it with stk_http_res_take_upgrade. */
void stk_http_res_set_upgrade(stk_http_res_t *res, void *ctx, void (*abort)(void *ctx));
void *stk_http_res_take_upgrade(stk_http_res_t *res);

#endif
