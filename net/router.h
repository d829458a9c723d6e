/* net/router.h — table-driven HTTP routing.
 *
 * A router is built once from a table of routes {method, pattern, handler, arg, flags}
 * and then dispatches each request: it matches the path against the patterns, captures
 * "{name}" segments into req->param_names/param_values, and calls the route's handler.
 * No path match → 404, a path match without the method → 405 with an Allow header, an
 * Upgrade request on a route not flagged STK_ROUTE_WEBSOCKET is served as plain HTTP, a
 * flagged route reached without Upgrade → 426; all as problem+json. HEAD is served by the
 * GET route of the same path (the body is dropped by the server).
 *
 * Patterns: absolute paths of literal segments and "{name}" segments ("{id}" matches one
 * non-empty segment, no '/'); no wildcards, no regexes; a trailing slash is significant.
 * The first matching route in table order wins. The router does not decode percent-escapes
 * and does not authenticate: handlers do.
 *
 * Lifecycle: stk_router_create → (stk_router_dispatch)* → stk_router_destroy, after the
 * server that dispatches into it was destroyed. Thread: dispatch runs on the loop thread;
 * the router is immutable after create, so it may be shared read-only.
 */
#ifndef STK_NET_ROUTER_H
#define STK_NET_ROUTER_H

#include "net/http.h"

#include <stddef.h>

/* A request handler: must complete `res` exactly once, now or later (see net/http.h). */
typedef void (*stk_http_handler_cb)(stk_http_req_t *req, stk_http_res_t *res, void *arg);

enum stk_route_flags {
    STK_ROUTE_WEBSOCKET = 1u << 0, /* the handler expects Upgrade: websocket (stk_ws_accept) */
};

typedef struct stk_route {
    const char *method;  /* "GET", "POST", ...; exact, upper case */
    const char *pattern; /* "/v1/sessions/{id}/live" */
    stk_http_handler_cb handler;
    void *arg;      /* passed to handler; borrowed, must outlive the router */
    unsigned flags; /* enum stk_route_flags */
} stk_route_t;

typedef struct stk_router stk_router_t;

#define STK_ROUTER_MAX_ROUTES 512
#define STK_ROUTER_MAX_PATH   2048 /* longer paths get 414 */

/* Copies and compiles the table. Returns 0, STK_EINVAL (bad pattern: not starting with
 * '/', unclosed or empty "{}", more than STK_HTTP_MAX_PARAMS params, missing method or
 * handler; too many routes), STK_ENOMEM. */
int stk_router_create(const stk_route_t *routes, size_t n_routes, stk_router_t **out);
void stk_router_destroy(stk_router_t *r);

/* Dispatches req to its route or answers 404/405/426/414 itself. Signature matches
 * stk_http_handler_cb with arg = the router, so it can be the server's handler. */
void stk_router_dispatch(stk_http_req_t *req, stk_http_res_t *res, void *router);

#endif
