/* net/router.c — table-driven routing. See router.h.
 *
 * Each pattern is compiled into segments (literal or parameter). Matching walks the
 * request path segment by segment; there are few routes, so a linear scan in table order
 * is both simple and fast enough (a trie can replace it behind the same API).
 */
#include "net/router.h"

#include "core/error.h"
#include "net/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 32

typedef struct seg {
    char *text; /* literal text, or the parameter name */
    size_t len;
    bool param;
} seg_t;

typedef struct route_c {
    char *method;
    stk_http_handler_cb handler;
    void *arg;
    unsigned flags;
    seg_t segs[MAX_SEGMENTS];
    size_t n_segs;
} route_c_t;

struct stk_router {
    route_c_t *routes;
    size_t n;
};

static void route_free(route_c_t *rc)
{
    free(rc->method);
    for (size_t i = 0; i < rc->n_segs; i++)
        free(rc->segs[i].text);
}

static int compile(const stk_route_t *src, route_c_t *rc)
{
    memset(rc, 0, sizeof(*rc));
    if (!src->method || !*src->method || !src->handler || !src->pattern || src->pattern[0] != '/')
        return STK_EINVAL;
    rc->method = strdup(src->method);
    if (!rc->method)
        return STK_ENOMEM;
    rc->handler = src->handler;
    rc->arg = src->arg;
    rc->flags = src->flags;
    size_t n_params = 0;
    const char *s = src->pattern + 1;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (rc->n_segs == MAX_SEGMENTS)
            return STK_EINVAL;
        seg_t *sg = &rc->segs[rc->n_segs];
        if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
            if (len == 2 || ++n_params > STK_HTTP_MAX_PARAMS)
                return STK_EINVAL;
            sg->param = true;
            sg->text = strndup(s + 1, len - 2);
            sg->len = len - 2;
        } else {
            if (memchr(s, '{', len) || memchr(s, '}', len))
                return STK_EINVAL;
            sg->text = strndup(s, len);
            sg->len = len;
        }
        if (!sg->text)
            return STK_ENOMEM;
        rc->n_segs++;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

int stk_router_create(const stk_route_t *routes, size_t n_routes, stk_router_t **out)
{
    if (n_routes > STK_ROUTER_MAX_ROUTES || (n_routes && !routes))
        return STK_EINVAL;
    stk_router_t *r = calloc(1, sizeof(*r));
    if (!r)
        return STK_ENOMEM;
    int rc = 0;
    r->routes = calloc(n_routes ? n_routes : 1, sizeof(*r->routes));
    if (!r->routes) {
        rc = STK_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n_routes; i++) {
        rc = compile(&routes[i], &r->routes[i]);
        r->n = i + 1;
        if (rc)
            goto fail;
    }
    *out = r;
    return 0;
fail:
    stk_router_destroy(r);
    return rc;
}

void stk_router_destroy(stk_router_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_free(&r->routes[i]);
    free(r->routes);
    free(r);
}

/* Matches path against rc; on success the params are recorded in req. */
static bool match(const route_c_t *rc, const char *path, stk_http_req_t *req)
{
    stk_http_req_clear_params(req);
    if (path[0] != '/')
        return false;
    const char *s = path + 1;
    for (size_t i = 0; i < rc->n_segs; i++) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        const seg_t *sg = &rc->segs[i];
        if (sg->param) {
            if (len == 0 || stk_http_req_add_param(req, sg->text, s, len) != 0)
                return false;
        } else if (len != sg->len || memcmp(s, sg->text, len) != 0) {
            return false;
        }
        bool last = i + 1 == rc->n_segs;
        if (last != (e == NULL))
            return false;
        if (e)
            s = e + 1;
    }
    return true;
}

static bool method_ok(const route_c_t *rc, const stk_http_req_t *req)
{
    if (strcmp(rc->method, req->method_name) == 0)
        return true;
    return req->method == STK_HTTP_HEAD && strcmp(rc->method, "GET") == 0;
}

void stk_router_dispatch(stk_http_req_t *req, stk_http_res_t *res, void *router)
{
    stk_router_t *r = router;
    if (strlen(req->path) > STK_ROUTER_MAX_PATH) {
        stk_problem_send(res, 414, NULL, NULL, "The request path is too long.", NULL, 0);
        return;
    }
    char allow[256];
    size_t allow_len = 0;
    allow[0] = '\0';
    bool path_matched = false;
    for (size_t i = 0; i < r->n; i++) {
        const route_c_t *rc = &r->routes[i];
        if (!match(rc, req->path, req))
            continue;
        path_matched = true;
        if (method_ok(rc, req)) {
            if ((rc->flags & STK_ROUTE_WEBSOCKET) && !req->upgrade) {
                stk_http_req_clear_params(req);
                stk_http_res_header(res, "Upgrade", "websocket");
                stk_problem_send(res, 426, NULL, NULL,
                                 "This resource is a WebSocket endpoint: send an Upgrade "
                                 "request.",
                                 NULL, 0);
                return;
            }
            rc->handler(req, res, rc->arg);
            return;
        }
        size_t ml = strlen(rc->method);
        if (!strstr(allow, rc->method) && allow_len + ml + 3 < sizeof(allow)) {
            allow_len += (size_t)snprintf(allow + allow_len, sizeof(allow) - allow_len, "%s%s",
                                          allow_len ? ", " : "", rc->method);
            if (strcmp(rc->method, "GET") == 0 && allow_len + 7 < sizeof(allow))
                allow_len +=
                    (size_t)snprintf(allow + allow_len, sizeof(allow) - allow_len, ", HEAD");
        }
    }
    stk_http_req_clear_params(req);
    if (path_matched) {
        stk_http_res_header(res, "Allow", allow);
        char detail[320];
        snprintf(detail, sizeof(detail), "Method %s is not allowed here; allowed: %s.",
                 req->method_name, allow);
        stk_problem_send(res, 405, NULL, NULL, detail, NULL, 0);
        return;
    }
    stk_problem_send(res, 404, NULL, NULL, "No resource at this path.", NULL, 0);
}
