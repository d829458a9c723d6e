/* tests/fuzz/fuzz_http_request.c — libFuzzer target for the HTTP request path: the
 * connection-less parser (net/http.h), the router's matching and 404/405 answers, and
 * response serialisation.
 *
 * The first input byte chooses how the rest is cut into feeds (1..256 bytes at a time),
 * so request boundaries, split headers and split chunk sizes are all explored. Every
 * request the parser returns is dispatched through a small router and serialised; the
 * parser's limits are small, so memory stays bounded whatever the bytes. Nothing may
 * crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void h_ok(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)arg;
    (void)stk_http_req_header(req, "Host");
    (void)stk_http_req_header_has_token(req, "Connection", "upgrade");
    (void)stk_http_req_param(req, "id");
    stk_http_res_header(res, "X-Echo-Len", "1");
    stk_http_res_send(res, 200, "application/octet-stream", req->body, req->body_len);
}

static stk_router_t *router(void)
{
    static stk_router_t *r;
    if (!r) {
        static const stk_route_t routes[] = {
            {"GET", "/healthz", h_ok, NULL, 0},
            {"POST", "/echo", h_ok, NULL, 0},
            {"GET", "/v1/sessions/{id}/live", h_ok, NULL, STK_ROUTE_WEBSOCKET},
            {"DELETE", "/v1/maps/{id}/ratings/{user}", h_ok, NULL, 0},
        };
        if (stk_router_create(routes, sizeof(routes) / sizeof(routes[0]), &r) != 0)
            abort();
    }
    return r;
}

static void serve(stk_http_req_t *req)
{
    stk_http_res_t *res;
    if (stk_http_res_create(req, NULL, NULL, &res) != 0) {
        stk_http_req_free(req);
        return;
    }
    stk_router_dispatch(req, res, router());
    if (!stk_http_res_completed(res))
        abort(); /* every handler here answers synchronously */
    char *head;
    size_t hl, bl;
    const void *body;
    if (stk_http_res_serialize(res, !req->keep_alive, "Sun, 06 Nov 1994 08:49:37 GMT", &head, &hl,
                               &body, &bl) == 0)
        free(head);
    stk_http_res_free(res);
    stk_http_req_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] + 1;
    data++;
    size--;
    stk_http_limits_t lim = {.max_header_bytes = 4096, .max_headers = 32, .max_body_bytes = 8192};
    stk_http_parser_t *p;
    if (stk_http_parser_create(&lim, &p) != 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        size_t used = 0;
        stk_http_req_t *req = NULL;
        int status = 0;
        int rc = stk_http_parser_feed(p, data + off, n, &used, &req, &status);
        if (used > n)
            abort();
        if (rc < 0) {
            if (req || status < 400 || status > 599)
                abort();
            break;
        }
        if (req)
            serve(req);
        else if (used != n)
            abort(); /* no request: everything must have been consumed */
        off += used;
        if (stk_http_parser_upgraded(p))
            break;
    }
    stk_http_parser_destroy(p);
    return 0;
}
