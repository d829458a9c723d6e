/* tests/net/testsrv.c — the example server and blocking client of the net/ tests. */
#include "testsrv.h"

#include "core/error.h"
#include "net/problem.h"
#include "net/ws.h"
#include "tests/support/wire.h"

#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- handlers ------------------------------------------------------------------------- */

static void h_healthz(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    (void)arg;
    stk_http_res_send(res, 200, "text/plain", "ok\n", 3);
}

static void h_echo(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)arg;
    stk_http_res_send(res, 200, "application/octet-stream", req->body, req->body_len);
}

static void h_big(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    (void)arg;
    size_t n = 256 * 1024;
    char *b = malloc(n);
    if (b)
        memset(b, 'z', n);
    stk_http_res_send_borrowed(res, 200, "text/plain", b, b ? n : 0, free, b);
}

/* GET /stream?n=K: K lines, one every 5 ms, chunked. GET /stream-big: 8 MiB as fast as
 * the client reads, through STK_EBUSY and on_drain. */
typedef struct streamer {
    uv_timer_t t;
    stk_http_res_t *res;
    int i, n;
    size_t sent, total;
} streamer_t;

static void streamer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void stream_tick(uv_timer_t *t)
{
    streamer_t *s = t->data;
    char line[32];
    int len = snprintf(line, sizeof(line), "line %d\n", s->i);
    int rc = stk_http_res_stream_write(s->res, line, (size_t)len);
    if (rc == STK_ECLOSED || ++s->i >= s->n) {
        stk_http_res_stream_end(s->res);
        uv_close((uv_handle_t *)&s->t, streamer_closed);
    }
}

static void h_stream(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    testsrv_t *t = arg;
    char n[16] = "3";
    (void)stk_http_query_get(req->query, "n", n, sizeof(n));
    streamer_t *s = calloc(1, sizeof(*s));
    if (!s || stk_http_res_stream_begin(res, 200, "text/plain") != 0) {
        free(s);
        stk_http_res_send(res, 500, NULL, NULL, 0);
        return;
    }
    s->res = res;
    s->n = atoi(n);
    s->t.data = s;
    uv_timer_init(stk_server_loop(t->srv), &s->t);
    uv_timer_start(&s->t, stream_tick, 5, 5);
}

static void big_pump(stk_http_res_t *res, void *arg)
{
    streamer_t *s = arg;
    static uint8_t block[64 * 1024];
    while (s->sent < s->total) {
        memset(block, 'a' + (int)((s->sent / sizeof(block)) % 26), sizeof(block));
        int rc = stk_http_res_stream_write(res, block, sizeof(block));
        if (rc == STK_EBUSY)
            return; /* on_drain calls us again */
        if (rc != 0)
            break;
        s->sent += sizeof(block);
    }
    stk_http_res_stream_end(res);
    free(s);
}

static void h_stream_big(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    (void)arg;
    streamer_t *s = calloc(1, sizeof(*s));
    if (!s || stk_http_res_stream_begin(res, 200, "application/octet-stream") != 0) {
        free(s);
        stk_http_res_send(res, 500, NULL, NULL, 0);
        return;
    }
    s->total = 8u * 1024u * 1024u;
    stk_http_res_stream_on_drain(res, big_pump, s);
    big_pump(res, s);
}

static void h_item(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)arg;
    json_t *j = json_pack("{s:s}", "id", stk_http_req_param(req, "id"));
    if (strcmp(req->remote_addr, "127.0.0.1") != 0) /* the server fills the peer address */
        json_object_set_new(j, "remote_addr", json_string(req->remote_addr));
    stk_http_res_send_json(res, 200, j);
    json_decref(j);
}

typedef struct slow {
    uv_timer_t t;
    stk_http_res_t *res;
} slow_t;

static void slow_closed(uv_handle_t *h)
{
    free(h->data);
}

static void slow_fire(uv_timer_t *t)
{
    slow_t *s = t->data;
    stk_http_res_send(s->res, 200, "text/plain", "slow", 4);
    uv_close((uv_handle_t *)&s->t, slow_closed);
}

static void h_slow(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    testsrv_t *t = arg;
    slow_t *s = calloc(1, sizeof(*s));
    if (!s) {
        stk_http_res_send(res, 500, NULL, NULL, 0);
        return;
    }
    s->res = res;
    s->t.data = s;
    uv_timer_init(stk_server_loop(t->srv), &s->t);
    uv_timer_start(&s->t, slow_fire, 50, 0);
}

static void h_stats(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    testsrv_t *t = arg;
    stk_server_metrics_t m;
    stk_server_metrics(t->srv, &m);
    json_t *j = json_pack("{s:I,s:I,s:I,s:I}", "connections_open", (json_int_t)m.connections_open,
                          "ws_drops", (json_int_t)m.ws_drops, "requests", (json_int_t)m.requests,
                          "ws_open", (json_int_t)m.ws_open);
    stk_http_res_send_json(res, 200, j);
    json_decref(j);
}

static const char *const PROTOS[] = {"stockade.v1.json", "stockade.v1.msgpack"};

static void ws_echo_msg(stk_ws_t *ws, stk_ws_kind_t kind, const uint8_t *data, size_t len,
                        void *arg)
{
    (void)arg;
    if (kind == STK_WS_TEXT && len == 3 && memcmp(data, "bye", 3) == 0) {
        /* Last words, then a close in the same turn: the words must arrive first. */
        stk_ws_send_text(ws, "one", 3);
        stk_ws_send_text(ws, "two", 3);
        stk_ws_send_text(ws, "three", 5);
        stk_ws_close(ws, 4000, "done");
        return;
    }
    if (kind == STK_WS_TEXT)
        stk_ws_send_text(ws, (const char *)data, len);
    else
        stk_ws_send_binary(ws, data, len);
}

static void h_ws(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)arg;
    stk_ws_options_t o = {
        .subprotocols = PROTOS,
        .n_subprotocols = 2,
        .cb = {.on_message = ws_echo_msg},
    };
    stk_ws_t *ws;
    stk_ws_accept(req, res, &o, &ws);
}

typedef struct flood {
    uv_timer_t t;
    stk_ws_t *ws; /* NULL once closed */
    bool running;
    uint8_t chunk[64 * 1024];
} flood_t;

static void flood_closed(uv_handle_t *h)
{
    free(h->data);
}

static void flood_tick(uv_timer_t *t)
{
    flood_t *f = t->data;
    if (!f->ws || stk_ws_send_binary(f->ws, f->chunk, sizeof(f->chunk)) != 0)
        uv_timer_stop(t);
}

static void flood_msg(stk_ws_t *ws, stk_ws_kind_t kind, const uint8_t *data, size_t len, void *arg)
{
    (void)ws;
    (void)kind;
    (void)data;
    (void)len;
    flood_t *f = arg;
    if (!f->running) {
        f->running = true;
        uv_timer_start(&f->t, flood_tick, 1, 1);
    }
}

static void flood_close(stk_ws_t *ws, int code, void *arg)
{
    (void)ws;
    (void)code;
    flood_t *f = arg;
    f->ws = NULL;
    uv_close((uv_handle_t *)&f->t, flood_closed);
}

static void h_flood(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    testsrv_t *t = arg;
    flood_t *f = calloc(1, sizeof(*f));
    if (!f) {
        stk_http_res_send(res, 500, NULL, NULL, 0);
        return;
    }
    f->t.data = f;
    uv_timer_init(stk_server_loop(t->srv), &f->t);
    stk_ws_options_t o = {.cb = {.on_message = flood_msg, .on_close = flood_close}, .arg = f};
    if (stk_ws_accept(req, res, &o, &f->ws) != 0) {
        uv_close((uv_handle_t *)&f->t, flood_closed);
        return;
    }
}

/* ---- server thread -------------------------------------------------------------------- */

static void on_response(const stk_http_req_t *req, int status, uint64_t ns, void *arg)
{
    (void)req;
    (void)ns;
    testsrv_t *t = arg;
    t->responses_seen++;
    t->last_status_seen = status;
}

static void *server_main(void *arg)
{
    testsrv_t *t = arg;
    stk_route_t routes[] = {
        {"GET", "/healthz", h_healthz, t, 0},
        {"POST", "/echo", h_echo, t, 0},
        {"GET", "/slow", h_slow, t, 0},
        {"GET", "/items/{id}", h_item, t, 0},
        {"DELETE", "/items/{id}", h_item, t, 0},
        {"GET", "/stats", h_stats, t, 0},
        {"GET", "/big", h_big, t, 0},
        {"GET", "/stream", h_stream, t, 0},
        {"GET", "/stream-big", h_stream_big, t, 0},
        {"GET", "/ws", h_ws, t, STK_ROUTE_WEBSOCKET},
        {"GET", "/flood", h_flood, t, STK_ROUTE_WEBSOCKET},
    };
    int rc = stk_router_create(routes, sizeof(routes) / sizeof(routes[0]), &t->router);
    stk_server_config_t cfg = {.host = "127.0.0.1",
                               .port = 0,
                               .limits = t->limits,
                               .handler = stk_router_dispatch,
                               .handler_arg = t->router,
                               .on_response = on_response,
                               .on_response_arg = t};
    if (!rc)
        rc = stk_server_create(NULL, &cfg, &t->srv);
    if (!rc)
        rc = stk_server_listen(t->srv);
    pthread_mutex_lock(&t->mu);
    t->rc = rc;
    t->port = rc ? -1 : stk_server_port(t->srv);
    t->ready = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (!rc)
        stk_server_run(t->srv);
    stk_server_destroy(t->srv);
    stk_router_destroy(t->router);
    return NULL;
}

int testsrv_start(testsrv_t *t, const stk_server_limits_t *limits)
{
    memset(t, 0, sizeof(*t));
    if (limits)
        t->limits = *limits;
    else
        stk_server_limits_default(&t->limits);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->thread, NULL, server_main, t) != 0)
        return -1;
    pthread_mutex_lock(&t->mu);
    while (!t->ready)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    if (t->rc) {
        pthread_join(t->thread, NULL);
        return t->rc;
    }
    return 0;
}

static void post_stop(void *arg)
{
    testsrv_t *t = arg;
    stk_server_stop(t->srv, NULL, NULL);
}

void testsrv_stop(testsrv_t *t)
{
    stk_server_post(t->srv, post_stop, t);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}

typedef struct metrics_req {
    testsrv_t *t;
    stk_server_metrics_t m;
    bool done;
} metrics_req_t;

static void post_metrics(void *arg)
{
    metrics_req_t *r = arg;
    stk_server_metrics(r->t->srv, &r->m);
    pthread_mutex_lock(&r->t->mu);
    r->done = true;
    pthread_cond_broadcast(&r->t->cv);
    pthread_mutex_unlock(&r->t->mu);
}

void testsrv_metrics(testsrv_t *t, stk_server_metrics_t *out)
{
    metrics_req_t r = {.t = t};
    stk_server_post(t->srv, post_metrics, &r);
    pthread_mutex_lock(&t->mu);
    while (!r.done)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    *out = r.m;
}

/* ---- client --------------------------------------------------------------------------- */

tconn_t *tc_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return NULL;
    }
    tconn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    return c;
}

void tc_close(tconn_t *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c);
}

int tc_send(tconn_t *c, const void *data, size_t len)
{
    return stk_test_send_all(c->fd, data, len);
}

int tc_send_str(tconn_t *c, const char *s)
{
    return tc_send(c, s, strlen(s));
}

/* Reads more bytes into the buffer; -1 on EOF, error or timeout. */
static int fill(tconn_t *c)
{
    if (c->len == sizeof(c->buf))
        return -1;
    ssize_t n;
    do
        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return 0;
}

static void consume(tconn_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

bool tresp_header(const tresp_t *r, const char *name, char *out, size_t cap)
{
    return stk_test_http_header(r->headers, name, out, cap);
}

static uint8_t *find_crlf(uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 2 <= n; i++)
        if (b[i] == '\r' && b[i + 1] == '\n')
            return b + i;
    return NULL;
}

static uint8_t *find_crlfcrlf(uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(b + i, "\r\n\r\n", 4) == 0)
            return b + i;
    return NULL;
}

/* Decodes a chunked body into r->body (up to 64 MiB). */
static int read_chunked(tconn_t *c, tresp_t *r)
{
    size_t cap = 1024, len = 0;
    uint8_t *body = malloc(cap);
    for (;;) {
        uint8_t *eol;
        while ((eol = find_crlf(c->buf, c->len)) == NULL)
            if (fill(c) != 0)
                goto fail;
        size_t sz = strtoul((const char *)c->buf, NULL, 16);
        consume(c, (size_t)(eol - c->buf) + 2);
        if (sz > (64u << 20) || len + sz > (64u << 20))
            goto fail;
        while (c->len < sz + 2)
            if (fill(c) != 0)
                goto fail;
        if (len + sz + 1 > cap) {
            while (len + sz + 1 > cap)
                cap *= 2;
            body = realloc(body, cap);
        }
        memcpy(body + len, c->buf, sz);
        len += sz;
        consume(c, sz + 2); /* data and its CRLF (for the last chunk: the final CRLF) */
        if (sz == 0)
            break;
    }
    body[len] = '\0';
    r->body = body;
    r->body_len = len;
    return 0;
fail:
    free(body);
    return -1;
}

int tc_read_response(tconn_t *c, tresp_t *r, bool head_only)
{
    memset(r, 0, sizeof(*r));
    uint8_t *end;
    while ((end = find_crlfcrlf(c->buf, c->len)) == NULL)
        if (fill(c) != 0)
            return -1;
    size_t hl = (size_t)(end - c->buf) + 4;
    if (hl >= sizeof(r->headers))
        return -1;
    memcpy(r->headers, c->buf, hl);
    r->headers[hl] = '\0';
    consume(c, hl);
    if (sscanf(r->headers, "HTTP/1.1 %d", &r->status) != 1)
        return -1;
    char cl[32];
    size_t n = 0;
    if (!head_only && stk_test_http_header(r->headers, "Transfer-Encoding", cl, sizeof(cl)) &&
        strcasecmp(cl, "chunked") == 0)
        return read_chunked(c, r);
    if (!head_only && stk_test_http_header(r->headers, "Content-Length", cl, sizeof(cl)))
        n = strtoul(cl, NULL, 10);
    while (c->len < n)
        if (fill(c) != 0)
            return -1;
    r->body = malloc(n + 1);
    memcpy(r->body, c->buf, n);
    r->body[n] = '\0';
    r->body_len = n;
    consume(c, n);
    return 0;
}

void tresp_free(tresp_t *r)
{
    free(r->body);
    r->body = NULL;
}

bool tc_wait_closed(tconn_t *c, int timeout_ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    uint8_t scratch[65536];
    for (;;) {
        int rc = poll(&p, 1, timeout_ms);
        if (rc <= 0)
            return false;
        ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return true;
    }
}

int tc_ws_handshake(tconn_t *c, const char *path, const char *protocols, char *proto, size_t cap)
{
    char req[1024];
    char pl[256] = "";
    if (protocols)
        snprintf(pl, sizeof(pl), "Sec-WebSocket-Protocol: %s\r\n", protocols);
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s\r\n",
             path, pl);
    if (tc_send_str(c, req) != 0)
        return -1;
    tresp_t r;
    if (tc_read_response(c, &r, false) != 0)
        return -1;
    if (proto && !tresp_header(&r, "Sec-WebSocket-Protocol", proto, cap))
        proto[0] = '\0';
    tresp_free(&r);
    return r.status;
}

int tc_ws_send_frame(tconn_t *c, bool fin, int opcode, const void *data, size_t len, bool unmasked)
{
    uint8_t *f = malloc(len + STK_TEST_WS_HEAD_MAX);
    if (!f)
        return -1;
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t n = stk_test_ws_frame(f, fin, opcode, unmasked ? NULL : mask, data, len);
    int rc = tc_send(c, f, n);
    free(f);
    return rc;
}

int tc_ws_read_frame(tconn_t *c, int *opcode, bool *fin, uint8_t **data, size_t *len)
{
    while (c->len < 2)
        if (fill(c) != 0)
            return -1;
    size_t h = 2;
    uint64_t n = c->buf[1] & 0x7F;
    if (n == 126)
        h = 4;
    else if (n == 127)
        h = 10;
    while (c->len < h)
        if (fill(c) != 0)
            return -1;
    if (n == 126)
        n = ((uint64_t)c->buf[2] << 8) | c->buf[3];
    else if (n == 127) {
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | c->buf[2 + i];
    }
    if (n > sizeof(c->buf) - h)
        return -1;
    while (c->len < h + n)
        if (fill(c) != 0)
            return -1;
    *opcode = c->buf[0] & 0x0F;
    *fin = (c->buf[0] & 0x80) != 0;
    *data = malloc(n + 1);
    memcpy(*data, c->buf + h, n);
    (*data)[n] = 0;
    *len = n;
    consume(c, h + n);
    return 0;
}

int tc_ws_read_close(tconn_t *c)
{
    for (;;) {
        int op;
        bool fin;
        uint8_t *d;
        size_t n;
        if (tc_ws_read_frame(c, &op, &fin, &d, &n) != 0)
            return -1;
        if (op == 8) {
            int code = n >= 2 ? (d[0] << 8) | d[1] : 1005;
            free(d);
            return code;
        }
        free(d);
    }
}
