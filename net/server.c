/* net/server.c — listener, connection lifecycle, HTTP exchanges, hand-off to WebSocket.
 *
 * One libuv loop; every handle here belongs to it. Per connection: a TCP handle, one timer
 * (whose meaning depends on the state: idle, request, linger, or the WebSocket's), an HTTP
 * parser, and a FIFO of exchanges (request + response) in request order. Handlers complete
 * responses whenever they like; completion only marks the connection dirty, and the
 * prepare callback (which runs before the loop blocks) writes every completed response
 * at the head of each dirty connection's FIFO. That keeps responses in order, batches
 * writes per loop turn, and means no user callback ever runs re-entrantly inside another.
 *
 * Reading is paused while the connection holds unparsed input (a pipelined request
 * waiting for room in the FIFO, or bytes after an Upgrade request), so the input kept per
 * connection is at most one read (the read buffer itself is shared by the whole loop).
 *
 * Closing: a final response (error, Connection: close, stop) leads to a write-side
 * shutdown and lingering: input is read and discarded until EOF or close_timeout_ms, so
 * the client reads the response instead of a reset. uv_close on both handles; the memory
 * goes in the last close callback. Exchanges still in a handler's hands are orphaned (their
 * completion frees them).
 */
#include "net/server.h"

#include "core/error.h"
#include "net/problem.h"
#include "net/ws.h"

#include <uv.h>

#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_BUF_SIZE (64u * 1024u)

typedef struct link {
    struct link *prev, *next;
} link_t;

#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static void list_init(link_t *h)
{
    h->prev = h->next = h;
}

static bool list_empty(const link_t *h)
{
    return h->next == h;
}

static void list_add(link_t *h, link_t *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static void list_del(link_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

typedef struct post_item {
    stk_server_post_fn fn;
    void *arg;
    struct post_item *next;
} post_item_t;

struct stk_server {
    uv_loop_t *loop;
    bool own_loop;
    char *host;
    int port;
    stk_server_limits_t limits;
    stk_http_handler_cb handler;
    void *handler_arg;
    void (*on_response)(const stk_http_req_t *, int, uint64_t, void *);
    void *on_response_arg;

    uv_tcp_t listener;
    bool listening, listener_open;
    uv_async_t async;
    uv_mutex_t post_mu;
    post_item_t *post_head, *post_tail;
    uv_prepare_t prepare;
    bool prepare_active;
    uv_timer_t stop_timer;
    int handles_open; /* server-level handles not yet closed */
    bool destroying;

    link_t conns, dirty;
    size_t n_conns;
    bool stopping, stop_done;
    stk_server_stopped_cb stopped_cb;
    void *stopped_arg;

    stk_server_metrics_t m;
    time_t date_sec;             /* second that `date` shows */
    char date[40];               /* IMF-fixdate for the Date header, refreshed once a second */
    uint8_t rbuf[READ_BUF_SIZE]; /* shared: a read is consumed before the next alloc */
};

typedef struct conn conn_t;

typedef struct exch {
    stk_http_req_t *req; /* NULL for a server-made error response */
    stk_http_res_t *res;
    conn_t *conn; /* NULL once orphaned */
    struct exch *next;
    bool final;     /* the connection closes after this response */
    bool head_sent; /* streamed response: status line and headers are out */
    bool close;     /* streamed response: decided when its head went out */
    uint64_t t0;    /* uv_hrtime() when the request was complete */
} exch_t;

enum conn_mode { MODE_HTTP, MODE_WS };

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    stk_server_t *srv;
    link_t node, dirty;
    int handles_open;
    enum conn_mode mode;
    bool closing, draining, reading, rejected;
    bool no_more_requests; /* error, Connection: close, upgrade or stop */
    bool upgrade_pending;  /* an Upgrade request was the last one read */
    bool close_after;      /* close once every response is written */
    stk_http_parser_t *parser;
    uint8_t *inbuf; /* unparsed input held while reading is paused */
    size_t in_len;
    exch_t *q_head, *q_tail;
    size_t n_inflight; /* queued + being written */
    size_t n_writing;
    uint64_t req_start, idle_since, linger_deadline, write_progress;
    stk_ws_t *ws;
    int ws_writes;
    char remote_addr[48];
};

typedef struct http_write {
    uv_write_t w;
    conn_t *conn;
    exch_t *x;           /* freed when written (the response's last write), or NULL */
    char *head;          /* owned bytes written first, or NULL */
    exch_t *stream_x;    /* streamed response these bytes belong to (compared, never read) */
    size_t stream_bytes; /* its payload bytes in this write */
} http_write_t;

typedef struct ws_write {
    uv_write_t w;
    conn_t *conn;
    uint8_t data[];
} ws_write_t;

static void conn_close(conn_t *c);
static void conn_update_timer(conn_t *c);
static void conn_update_reading(conn_t *c);
static void conn_mark_dirty(conn_t *c);
static void srv_check_stopped(stk_server_t *srv);

void stk_server_limits_default(stk_server_limits_t *l)
{
    l->max_header_bytes = STK_HTTP_DEFAULT_MAX_HEADER_BYTES;
    l->max_headers = STK_HTTP_DEFAULT_MAX_HEADERS;
    l->max_body_bytes = STK_HTTP_DEFAULT_MAX_BODY_BYTES;
    l->max_connections = 1024;
    l->max_pipelined = 16;
    l->idle_timeout_ms = 30000;
    l->request_timeout_ms = 10000;
    l->close_timeout_ms = 2000;
    l->stop_timeout_ms = 5000;
    l->ws_max_message_bytes = 1024 * 1024;
    l->ws_send_queue_bytes = 1024 * 1024;
    l->ws_ping_interval_ms = 20000;
    l->ws_pong_timeout_ms = 10000;
}

static void fill_limits(stk_server_limits_t *l, const stk_server_limits_t *in)
{
    stk_server_limits_t d;
    stk_server_limits_default(&d);
    *l = *in;
#define DEF(f)                                                                                     \
    if (!l->f)                                                                                     \
    l->f = d.f
    DEF(max_header_bytes);
    DEF(max_headers);
    DEF(max_body_bytes);
    DEF(max_connections);
    DEF(max_pipelined);
    DEF(idle_timeout_ms);
    DEF(request_timeout_ms);
    DEF(close_timeout_ms);
    DEF(stop_timeout_ms);
    DEF(ws_max_message_bytes);
    DEF(ws_send_queue_bytes);
    DEF(ws_ping_interval_ms);
    DEF(ws_pong_timeout_ms);
#undef DEF
}

/* ---- server-level handles ------------------------------------------------------------- */

static void srv_handle_closed(uv_handle_t *h)
{
    stk_server_t *srv = h->data;
    if (h == (uv_handle_t *)&srv->listener)
        srv->listener_open = false;
    srv->handles_open--;
    if (srv->destroying && srv->handles_open == 0 && list_empty(&srv->conns)) {
        uv_mutex_destroy(&srv->post_mu);
        free(srv->host);
        free(srv);
        return;
    }
    srv_check_stopped(srv);
}

static void run_posts(stk_server_t *srv)
{
    uv_mutex_lock(&srv->post_mu);
    post_item_t *it = srv->post_head;
    srv->post_head = srv->post_tail = NULL;
    uv_mutex_unlock(&srv->post_mu);
    while (it) {
        post_item_t *next = it->next;
        it->fn(it->arg);
        free(it);
        it = next;
    }
}

static void on_async(uv_async_t *a)
{
    run_posts(a->data);
}

static void conn_flush(conn_t *c);

static void on_prepare(uv_prepare_t *p)
{
    stk_server_t *srv = p->data;
    /* Flushing can mark other connections dirty (a handler answering for another), so
     * take one connection at a time off the list. */
    while (!list_empty(&srv->dirty)) {
        conn_t *c = CONTAINER(srv->dirty.next, conn_t, dirty);
        list_del(&c->dirty);
        conn_flush(c);
    }
    srv_check_stopped(srv);
    if (list_empty(&srv->dirty) && (!srv->stopping || srv->stop_done)) {
        uv_prepare_stop(p);
        srv->prepare_active = false;
    }
}

static void srv_wake_prepare(stk_server_t *srv)
{
    if (!srv->prepare_active && !srv->destroying) {
        uv_prepare_start(&srv->prepare, on_prepare);
        srv->prepare_active = true;
    }
}

int stk_server_create(uv_loop_t *loop, const stk_server_config_t *cfg, stk_server_t **out)
{
    if (!cfg || !cfg->handler || !cfg->host)
        return STK_EINVAL;
    /* A peer that resets while we write must cost an error code, not the process. */
    signal(SIGPIPE, SIG_IGN);
    stk_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return STK_ENOMEM;
    int rc = STK_ENOMEM;
    srv->host = strdup(cfg->host);
    if (!srv->host)
        goto fail_srv;
    if (!loop) {
        loop = malloc(sizeof(*loop));
        if (!loop)
            goto fail_host;
        if (uv_loop_init(loop) != 0) {
            free(loop);
            rc = STK_EIO;
            goto fail_host;
        }
        srv->own_loop = true;
    }
    srv->loop = loop;
    srv->port = cfg->port;
    fill_limits(&srv->limits, &cfg->limits);
    srv->handler = cfg->handler;
    srv->handler_arg = cfg->handler_arg;
    srv->on_response = cfg->on_response;
    srv->on_response_arg = cfg->on_response_arg;
    list_init(&srv->conns);
    list_init(&srv->dirty);
    if (uv_mutex_init(&srv->post_mu) != 0) {
        rc = STK_EIO;
        goto fail_loop;
    }
    if (uv_async_init(loop, &srv->async, on_async) != 0) {
        rc = STK_EIO;
        goto fail_mutex;
    }
    srv->async.data = srv;
    uv_prepare_init(loop, &srv->prepare);
    srv->prepare.data = srv;
    uv_timer_init(loop, &srv->stop_timer);
    srv->stop_timer.data = srv;
    uv_unref((uv_handle_t *)&srv->stop_timer);
    srv->handles_open = 3;
    *out = srv;
    return 0;
fail_mutex:
    uv_mutex_destroy(&srv->post_mu);
fail_loop:
    if (srv->own_loop) {
        uv_loop_close(loop);
        free(loop);
    }
fail_host:
    free(srv->host);
fail_srv:
    free(srv);
    return rc;
}

uv_loop_t *stk_server_loop(stk_server_t *server)
{
    return server->loop;
}

void stk_server_metrics(const stk_server_t *server, stk_server_metrics_t *out)
{
    *out = server->m;
}

int stk_server_port(const stk_server_t *server)
{
    if (!server->listening)
        return -1;
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getsockname(&server->listener, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int stk_server_post(stk_server_t *server, stk_server_post_fn fn, void *arg)
{
    post_item_t *it = malloc(sizeof(*it));
    if (!it)
        return STK_ENOMEM;
    it->fn = fn;
    it->arg = arg;
    it->next = NULL;
    uv_mutex_lock(&server->post_mu);
    if (server->post_tail)
        server->post_tail->next = it;
    else
        server->post_head = it;
    server->post_tail = it;
    uv_mutex_unlock(&server->post_mu);
    uv_async_send(&server->async);
    return 0;
}

/* ---- HTTP exchanges ------------------------------------------------------------------- */

static void exch_free(exch_t *x)
{
    stk_http_res_free(x->res);
    stk_http_req_free(x->req);
    free(x);
}

static void on_res_done(stk_http_res_t *res, void *arg)
{
    exch_t *x = arg;
    if (!x->conn) { /* the client left while the handler worked */
        if (stk_http_res_completed(res))
            exch_free(x);
        return;
    }
    conn_mark_dirty(x->conn);
}

static void queue_push(conn_t *c, exch_t *x)
{
    x->conn = c;
    if (c->q_tail)
        c->q_tail->next = x;
    else
        c->q_head = x;
    c->q_tail = x;
    c->n_inflight++;
}

/* Queues a server-made final error response and stops reading requests. */
static void conn_fail(conn_t *c, int status, const char *detail)
{
    c->no_more_requests = true;
    c->upgrade_pending = false;
    exch_t *x = calloc(1, sizeof(*x));
    if (!x || stk_http_res_create(NULL, on_res_done, x, &x->res) != 0) {
        free(x);
        conn_close(c);
        return;
    }
    x->final = true;
    x->t0 = uv_hrtime();
    queue_push(c, x);
    (void)stk_problem_send(x->res, status, NULL, NULL, detail, NULL, 0);
}

static void conn_dispatch(conn_t *c, stk_http_req_t *req)
{
    stk_server_t *srv = c->srv;
    exch_t *x = calloc(1, sizeof(*x));
    if (!x || stk_http_res_create(req, on_res_done, x, &x->res) != 0) {
        free(x);
        stk_http_req_free(req);
        conn_fail(c, 503, "The server is out of memory.");
        return;
    }
    x->req = req;
    x->t0 = uv_hrtime();
    memcpy(req->remote_addr, c->remote_addr, sizeof(req->remote_addr));
    queue_push(c, x);
    srv->m.requests++;
    srv->handler(req, x->res, srv->handler_arg);
}

static void on_continue_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void conn_write_continue(conn_t *c)
{
    static const char CONTINUE[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_write_t *w = malloc(sizeof(*w));
    if (!w)
        return; /* the client sends the body after its own delay anyway */
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)CONTINUE, sizeof(CONTINUE) - 1);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) != 0)
        free(w);
    else
        c->srv->m.bytes_out += sizeof(CONTINUE) - 1;
}

/* Parses as many requests from data as the FIFO has room for; returns bytes used. */
static size_t conn_parse(conn_t *c, const uint8_t *data, size_t len)
{
    stk_server_t *srv = c->srv;
    size_t off = 0;
    while (off < len && !c->no_more_requests && !c->closing &&
           c->n_inflight < srv->limits.max_pipelined) {
        size_t used;
        stk_http_req_t *req;
        int status;
        bool was_busy = stk_http_parser_busy(c->parser);
        int rc = stk_http_parser_feed(c->parser, data + off, len - off, &used, &req, &status);
        off += used;
        if (rc < 0) {
            srv->m.bad_requests++;
            conn_fail(c, status ? status : 400, stk_http_parser_error(c->parser));
            return len;
        }
        if (!was_busy && stk_http_parser_busy(c->parser))
            c->req_start = uv_now(srv->loop);
        if (stk_http_parser_take_continue(c->parser) && c->n_inflight == 0)
            conn_write_continue(c); /* only when it cannot overtake an earlier response */
        if (!req)
            break;
        bool upgrade = req->upgrade, keep = req->keep_alive;
        conn_dispatch(c, req); /* req may be gone now */
        if (upgrade) {
            c->no_more_requests = true;
            c->upgrade_pending = true;
            return off; /* the rest belongs to the next protocol */
        }
        if (!keep) {
            c->no_more_requests = true;
            return len;
        }
    }
    return off;
}

static void conn_consume_inbuf(conn_t *c)
{
    if (!c->in_len || c->no_more_requests || c->mode != MODE_HTTP)
        return;
    size_t used = conn_parse(c, c->inbuf, c->in_len);
    if (c->upgrade_pending && used < c->in_len) {
        memmove(c->inbuf, c->inbuf + used, c->in_len - used);
        c->in_len -= used;
        return;
    }
    if (used >= c->in_len || c->no_more_requests) {
        free(c->inbuf);
        c->inbuf = NULL;
        c->in_len = 0;
        return;
    }
    memmove(c->inbuf, c->inbuf + used, c->in_len - used);
    c->in_len -= used;
}

static void conn_http_input(conn_t *c, const uint8_t *data, size_t len)
{
    size_t used = conn_parse(c, data, len);
    if (used < len && !c->closing) {
        /* Held until the FIFO has room (or the upgrade completes); reading pauses, so
         * this is at most one read. */
        uint8_t *b = realloc(c->inbuf, c->in_len + (len - used));
        if (!b) {
            conn_close(c);
            return;
        }
        memcpy(b + c->in_len, data + used, len - used);
        c->inbuf = b;
        c->in_len += len - used;
    }
}

/* ---- writing -------------------------------------------------------------------------- */

static void conn_shutdown(conn_t *c);
static void conn_switch_to_ws(conn_t *c, stk_ws_t *ws);

static void on_http_write(uv_write_t *w, int status)
{
    http_write_t *hw = CONTAINER(w, http_write_t, w);
    conn_t *c = hw->conn;
    if (hw->x) {
        exch_free(hw->x);
        c->n_inflight--;
    }
    exch_t *sx = hw->stream_x;
    size_t sb = hw->stream_bytes;
    free(hw->head);
    free(hw);
    c->n_writing--;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->write_progress = uv_now(c->srv->loop);
    /* A streamed response stays at the head of the FIFO until its last write is queued,
     * and is freed only after that write: comparing the pointer is safe. */
    if (sb && c->q_head == sx)
        stk_http_res_stream_written(sx->res, sb);
    conn_mark_dirty(c); /* room in the FIFO: resume parsing, maybe shut down */
}

/* Queues owned head (may be NULL) + borrowed body; owner is freed after the write. Returns
 * false (and closes the connection) on failure; owned buffers and owner are freed. */
static bool conn_write(conn_t *c, char *head, size_t hl, const void *body, size_t bl, exch_t *owner,
                       exch_t *stream_x, size_t stream_bytes)
{
    http_write_t *hw = malloc(sizeof(*hw));
    if (!hw)
        goto fail;
    *hw = (http_write_t){
        .conn = c, .x = owner, .head = head, .stream_x = stream_x, .stream_bytes = stream_bytes};
    uv_buf_t bufs[2];
    unsigned n = 0;
    if (hl)
        bufs[n++] = uv_buf_init(head, (unsigned)hl);
    if (bl)
        bufs[n++] = uv_buf_init((char *)(uintptr_t)body, (unsigned)bl);
    if (n == 0)
        bufs[n++] = uv_buf_init(NULL, 0);
    if (uv_write(&hw->w, (uv_stream_t *)&c->tcp, bufs, n, on_http_write) != 0) {
        free(hw);
        goto fail;
    }
    if (c->n_writing++ == 0)
        c->write_progress = uv_now(c->srv->loop);
    c->srv->m.bytes_out += hl + bl;
    return true;
fail:
    free(head);
    if (owner) {
        exch_free(owner);
        c->n_inflight--;
    }
    conn_close(c);
    return false;
}

static void queue_pop(conn_t *c)
{
    exch_t *x = c->q_head;
    c->q_head = x->next;
    if (!c->q_head)
        c->q_tail = NULL;
    x->next = NULL;
}

/* The Date header every response carries (RFC 9110 §6.6.1). */
static const char *srv_date(stk_server_t *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_sec || !srv->date[0]) {
        struct tm tm;
        if (!gmtime_r(&now, &tm) ||
            strftime(srv->date, sizeof(srv->date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
            return NULL;
        srv->date_sec = now;
    }
    return srv->date;
}

static void report(conn_t *c, exch_t *x, int st)
{
    stk_server_t *srv = c->srv;
    if (srv->on_response)
        srv->on_response(x->req, st, uv_hrtime() - x->t0, srv->on_response_arg);
}

/* Whether the response at the head of the FIFO is the connection's last. */
static bool response_closes(conn_t *c, exch_t *x, int st)
{
    stk_server_t *srv = c->srv;
    bool close = x->final || !x->req || !x->req->keep_alive || (x->req->upgrade && st != 101) ||
                 (srv->stopping && !x->next && c->no_more_requests);
    if (st == 101 && (!x->req || !x->req->upgrade))
        close = true; /* a 101 nobody asked for: do not switch, close */
    if (stk_http_res_streaming(x->res) && x->req && x->req->http_major == 1 &&
        x->req->http_minor == 0)
        close = true; /* an HTTP/1.0 streamed body ends with the connection */
    return close;
}

/* Writes what a streamed response at the FIFO head has; returns true if it finished. */
static bool conn_flush_stream(conn_t *c, exch_t *x)
{
    stk_server_t *srv = c->srv;
    if (!x->head_sent) {
        int st = stk_http_res_status(x->res);
        x->close = response_closes(c, x, st);
        char *head;
        size_t hl, bl;
        const void *body;
        if (stk_http_res_serialize(x->res, x->close, srv_date(srv), &head, &hl, &body, &bl) != 0) {
            conn_close(c);
            return false;
        }
        if (!conn_write(c, head, hl, NULL, 0, NULL, NULL, 0))
            return false;
        x->head_sent = true;
        srv->m.responses[st / 100]++;
    }
    char *buf;
    size_t len, payload;
    bool last;
    if (stk_http_res_stream_take(x->res, &buf, &len, &payload, &last) != 0) {
        conn_close(c);
        return false;
    }
    if (!last) {
        if (buf && !conn_write(c, buf, len, NULL, 0, NULL, x, payload))
            return false;
        return false;
    }
    queue_pop(c);
    report(c, x, stk_http_res_status(x->res));
    return conn_write(c, buf, len, NULL, 0, x, NULL, 0);
}

static void conn_flush_http(conn_t *c)
{
    stk_server_t *srv = c->srv;
    while (c->q_head && !c->closing) {
        exch_t *x = c->q_head;
        if (stk_http_res_streaming(x->res)) {
            if (!conn_flush_stream(c, x))
                break;
            if (x->close) { /* x lives until its write callback, which is never synchronous */
                c->close_after = true;
                c->no_more_requests = true;
                break;
            }
            continue;
        }
        if (!stk_http_res_completed(x->res))
            break;
        int st = stk_http_res_status(x->res);
        bool close = response_closes(c, x, st); /* before the pop: it looks at x->next */
        queue_pop(c);
        char *head;
        size_t hl, bl;
        const void *body;
        if (stk_http_res_serialize(x->res, close, srv_date(srv), &head, &hl, &body, &bl) != 0) {
            exch_free(x);
            c->n_inflight--;
            conn_close(c);
            return;
        }
        stk_ws_t *ws = (st == 101 && !close) ? stk_http_res_take_upgrade(x->res) : NULL;
        report(c, x, st);
        if (!conn_write(c, head, hl, body, bl, x, NULL, 0)) {
            if (ws)
                stk_ws_io_abort(ws);
            return;
        }
        if (st >= 100 && st <= 599)
            srv->m.responses[st / 100]++;
        if (ws) {
            conn_switch_to_ws(c, ws);
            return;
        }
        if (close) {
            c->close_after = true;
            c->no_more_requests = true;
            break;
        }
    }
    if (c->closing)
        return;
    if (c->no_more_requests && !c->upgrade_pending && !c->q_head)
        c->close_after = true;
    if (c->close_after) {
        if (!c->q_head && c->n_writing == 0 && !c->draining)
            conn_shutdown(c);
    } else {
        conn_consume_inbuf(c);
    }
    conn_update_reading(c);
    conn_update_timer(c);
}

static void conn_flush(conn_t *c)
{
    if (c->closing)
        return;
    if (c->mode == MODE_WS)
        stk_ws_io_flush(c->ws);
    else
        conn_flush_http(c);
}

static void conn_mark_dirty(conn_t *c)
{
    if (c->closing || c->draining || c->dirty.next != &c->dirty)
        return;
    list_add(&c->srv->dirty, &c->dirty);
    srv_wake_prepare(c->srv);
}

/* ---- reading -------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn_t *c = h->data;
    *buf = uv_buf_init((char *)c->srv->rbuf, READ_BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (n == 0 || c->closing)
        return;
    if (n < 0) {
        if (c->mode == MODE_WS && c->ws)
            stk_ws_io_eof(c->ws);
        else
            conn_close(c);
        return;
    }
    c->srv->m.bytes_in += (uint64_t)n;
    if (c->draining)
        return; /* lingering: discard */
    if (c->mode == MODE_WS) {
        stk_ws_io_read(c->ws, (const uint8_t *)buf->base, (size_t)n);
        return;
    }
    if (c->no_more_requests && !c->upgrade_pending)
        return; /* discarded: the connection is finishing */
    conn_http_input(c, (const uint8_t *)buf->base, (size_t)n);
    if (c->closing)
        return;
    conn_update_reading(c);
    conn_update_timer(c);
}

static void conn_update_reading(conn_t *c)
{
    if (c->closing)
        return;
    bool want;
    if (c->mode == MODE_WS || c->draining)
        want = true;
    else if (c->upgrade_pending)
        want = false;
    else if (c->no_more_requests)
        want = true; /* discard until the last response is out */
    else
        want = c->in_len == 0 && c->n_inflight < c->srv->limits.max_pipelined;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* ---- timers --------------------------------------------------------------------------- */

static void on_conn_timer(uv_timer_t *t)
{
    conn_t *c = t->data;
    stk_server_t *srv = c->srv;
    if (c->closing)
        return;
    if (c->draining) {
        conn_close(c);
        return;
    }
    if (c->mode == MODE_WS) {
        stk_ws_io_timer(c->ws);
        return;
    }
    uint64_t now = uv_now(srv->loop);
    if (!c->no_more_requests && stk_http_parser_busy(c->parser) &&
        now >= c->req_start + srv->limits.request_timeout_ms) {
        srv->m.timeouts++;
        conn_fail(c, 408, "The request was not completed in time.");
        conn_update_reading(c);
        return;
    }
    if (c->n_writing > 0 && now >= c->write_progress + srv->limits.idle_timeout_ms) {
        srv->m.timeouts++;
        conn_close(c);
        return;
    }
    if (c->idle_since && now >= c->idle_since + srv->limits.idle_timeout_ms) {
        srv->m.timeouts++;
        conn_close(c);
        return;
    }
    conn_update_timer(c);
}

static void conn_update_timer(conn_t *c)
{
    if (c->closing || (c->mode != MODE_HTTP && !c->draining))
        return;
    stk_server_t *srv = c->srv;
    uint64_t now = uv_now(srv->loop), deadline = 0;
    if (c->draining) {
        deadline = c->linger_deadline;
    } else {
        bool busy = stk_http_parser_busy(c->parser);
        bool idle = !c->no_more_requests && c->n_inflight == 0 && !busy;
        if (!idle)
            c->idle_since = 0;
        if (!c->no_more_requests && busy) {
            deadline = c->req_start + srv->limits.request_timeout_ms;
        } else if (c->n_writing > 0) {
            /* A client that stops reading: no write progress for idle_timeout → cut. */
            deadline = c->write_progress + srv->limits.idle_timeout_ms;
        } else if (idle) {
            if (!c->idle_since)
                c->idle_since = now;
            deadline = c->idle_since + srv->limits.idle_timeout_ms;
        }
    }
    if (deadline)
        uv_timer_start(&c->timer, on_conn_timer, deadline > now ? deadline - now : 0, 0);
    else
        uv_timer_stop(&c->timer);
}

/* ---- closing -------------------------------------------------------------------------- */

static void on_shutdown(uv_shutdown_t *r, int status)
{
    conn_t *c = r->data;
    if (status < 0 && !c->closing)
        conn_close(c);
}

/* Write side done: send FIN, then read and discard until EOF or the linger timeout. */
static void conn_shutdown(conn_t *c)
{
    c->draining = true;
    c->linger_deadline = uv_now(c->srv->loop) + c->srv->limits.close_timeout_ms;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
    conn_update_timer(c);
}

static void conn_free(conn_t *c)
{
    stk_server_t *srv = c->srv;
    if (c->ws) {
        stk_ws_t *ws = c->ws;
        c->ws = NULL;
        srv->m.ws_open--;
        stk_ws_io_detach(ws);
    }
    stk_http_parser_destroy(c->parser);
    free(c->inbuf);
    list_del(&c->node);
    if (!c->rejected) {
        srv->n_conns--;
        srv->m.connections_open--;
    }
    free(c);
    if (srv->destroying && srv->handles_open == 0 && list_empty(&srv->conns)) {
        uv_mutex_destroy(&srv->post_mu);
        free(srv->host);
        free(srv);
        return;
    }
    srv_check_stopped(srv);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    if (--c->handles_open == 0)
        conn_free(c);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->dirty.next != &c->dirty)
        list_del(&c->dirty);
    /* Orphan what handlers still hold; free what is complete but unwritten. */
    exch_t *x = c->q_head;
    c->q_head = c->q_tail = NULL;
    while (x) {
        exch_t *next = x->next;
        x->next = NULL;
        x->conn = NULL;
        c->n_inflight--;
        if (stk_http_res_completed(x->res))
            exch_free(x);
        else
            stk_http_res_set_abandoned(x->res);
        x = next;
    }
    c->handles_open = 2;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* ---- WebSocket hand-off ---------------------------------------------------------------- */

static void on_ws_write(uv_write_t *w, int status)
{
    ws_write_t *ww = CONTAINER(w, ws_write_t, w);
    conn_t *c = ww->conn;
    free(ww);
    c->ws_writes--;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_mark_dirty(c);
}

static long ws_io_write(void *conn, const uint8_t *buf, size_t len)
{
    conn_t *c = conn;
    if (c->closing)
        return -1;
    if (c->ws_writes > 0 || c->n_writing > 0)
        return 0; /* one write in flight at a time: the rest waits in wslay's queue */
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)buf, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == UV_EAGAIN)
        n = 0;
    else if (n < 0)
        return -1;
    c->srv->m.bytes_out += (uint64_t)n;
    if ((size_t)n == len)
        return n;
    size_t rest = len - (size_t)n;
    ws_write_t *ww = malloc(sizeof(*ww) + rest);
    if (!ww)
        return -1;
    memcpy(ww->data, buf + n, rest);
    ww->conn = c;
    uv_buf_t rb = uv_buf_init((char *)ww->data, (unsigned)rest);
    if (uv_write(&ww->w, (uv_stream_t *)&c->tcp, &rb, 1, on_ws_write) != 0) {
        free(ww);
        return -1;
    }
    c->ws_writes++;
    c->srv->m.bytes_out += rest;
    return (long)len;
}

static void ws_io_schedule(void *conn)
{
    conn_mark_dirty(conn);
}

static void ws_io_set_timer(void *conn, uint64_t ms)
{
    conn_t *c = conn;
    if (c->closing)
        return;
    if (ms)
        uv_timer_start(&c->timer, on_conn_timer, ms, 0);
    else
        uv_timer_stop(&c->timer);
}

static void ws_io_hard_close(void *conn)
{
    conn_close(conn);
}

static void ws_io_finish(void *conn)
{
    conn_t *c = conn;
    if (!c->closing && !c->draining)
        conn_shutdown(c);
}

static uint64_t ws_io_now(void *conn)
{
    conn_t *c = conn;
    return uv_now(c->srv->loop);
}

static void ws_io_count(void *conn, int what)
{
    conn_t *c = conn;
    if (what == 0)
        c->srv->m.ws_messages_in++;
    else if (what == 1)
        c->srv->m.ws_messages_out++;
    else
        c->srv->m.ws_drops++;
}

static void conn_switch_to_ws(conn_t *c, stk_ws_t *ws)
{
    stk_server_t *srv = c->srv;
    stk_ws_io_t io = {
        .conn = c,
        .write = ws_io_write,
        .schedule = ws_io_schedule,
        .set_timer = ws_io_set_timer,
        .hard_close = ws_io_hard_close,
        .finish = ws_io_finish,
        .now = ws_io_now,
        .count = ws_io_count,
    };
    stk_ws_limits_t lim = {
        .max_message_bytes = srv->limits.ws_max_message_bytes,
        .send_queue_bytes = srv->limits.ws_send_queue_bytes,
        .ping_interval_ms = srv->limits.ws_ping_interval_ms,
        .pong_timeout_ms = srv->limits.ws_pong_timeout_ms,
        .close_timeout_ms = srv->limits.close_timeout_ms,
    };
    c->mode = MODE_WS;
    c->upgrade_pending = false;
    uv_timer_stop(&c->timer);
    if (stk_ws_io_attach(ws, &io, &lim) != 0) {
        stk_ws_io_abort(ws);
        conn_close(c);
        return;
    }
    c->ws = ws;
    srv->m.ws_open++;
    srv->m.ws_total++;
    stk_http_parser_destroy(c->parser);
    c->parser = NULL;
    conn_update_reading(c);
    if (c->in_len) { /* bytes the client sent right after its upgrade request */
        uint8_t *b = c->inbuf;
        size_t n = c->in_len;
        c->inbuf = NULL;
        c->in_len = 0;
        stk_ws_io_read(ws, b, n);
        free(b);
    }
    if (!c->closing) {
        if (srv->stopping)
            stk_ws_io_going_away(ws);
        conn_mark_dirty(c);
    }
}

/* ---- accepting ------------------------------------------------------------------------ */

static const char REJECT_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                 "Content-Type: application/problem+json\r\n"
                                 "Content-Length: 98\r\n"
                                 "Connection: close\r\n\r\n"
                                 "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\","
                                 "\"status\":503,\"detail\":\"Too many connections.\"}";

static void on_connection(uv_stream_t *l, int status)
{
    stk_server_t *srv = l->data;
    if (status < 0 || srv->stopping)
        return;
    conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->srv = srv;
    list_init(&c->dirty);
    list_init(&c->node);
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    list_add(&srv->conns, &c->node);
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        c->rejected = true;
        conn_close(c);
        return;
    }
    if (srv->n_conns >= srv->limits.max_connections) {
        c->rejected = true;
        srv->m.connections_rejected++;
        uv_buf_t b = uv_buf_init((char *)REJECT_503, sizeof(REJECT_503) - 1);
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        conn_close(c);
        return;
    }
    srv->n_conns++;
    srv->m.connections_open++;
    srv->m.connections_total++;
    stk_http_limits_t hl = {
        .max_header_bytes = srv->limits.max_header_bytes,
        .max_headers = srv->limits.max_headers,
        .max_body_bytes = srv->limits.max_body_bytes,
    };
    if (stk_http_parser_create(&hl, &c->parser) != 0) {
        conn_close(c);
        return;
    }
    struct sockaddr_storage peer;
    int plen = sizeof(peer);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) == 0) {
        if (peer.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&peer, c->remote_addr, sizeof(c->remote_addr));
        else
            uv_ip4_name((struct sockaddr_in *)&peer, c->remote_addr, sizeof(c->remote_addr));
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_update_reading(c);
    conn_update_timer(c);
}

int stk_server_listen(stk_server_t *srv)
{
    if (srv->listening || srv->stopping || srv->destroying)
        return STK_ESTATE;
    struct sockaddr_storage ss;
    if (uv_ip4_addr(srv->host, srv->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(srv->host, srv->port, (struct sockaddr_in6 *)&ss) != 0)
        return STK_EINVAL;
    if (uv_tcp_init(srv->loop, &srv->listener) != 0)
        return STK_EIO;
    srv->listener.data = srv;
    srv->listener_open = true;
    srv->handles_open++;
    if (uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0) != 0 ||
        uv_listen((uv_stream_t *)&srv->listener, 511, on_connection) != 0) {
        uv_close((uv_handle_t *)&srv->listener, srv_handle_closed);
        return STK_EIO;
    }
    srv->listening = true;
    return 0;
}

/* ---- stopping ------------------------------------------------------------------------- */

static void srv_check_stopped(stk_server_t *srv)
{
    if (!srv->stopping || srv->stop_done || srv->destroying)
        return;
    if (srv->n_conns > 0 || !list_empty(&srv->conns) || srv->listener_open)
        return;
    srv->stop_done = true;
    uv_timer_stop(&srv->stop_timer);
    if (srv->own_loop)
        uv_stop(srv->loop);
    if (srv->stopped_cb)
        srv->stopped_cb(srv, srv->stopped_arg);
}

static void on_stop_timeout(uv_timer_t *t)
{
    stk_server_t *srv = t->data;
    for (link_t *l = srv->conns.next; l != &srv->conns;) {
        conn_t *c = CONTAINER(l, conn_t, node);
        l = l->next;
        conn_close(c);
    }
}

static void conn_stop(conn_t *c)
{
    if (c->closing || c->rejected)
        return;
    if (c->mode == MODE_WS) {
        stk_ws_io_going_away(c->ws);
        return;
    }
    if (c->draining)
        return;
    c->no_more_requests = true;
    if (c->n_inflight == 0 && !c->upgrade_pending)
        conn_close(c);
    else
        conn_mark_dirty(c);
}

int stk_server_stop(stk_server_t *srv, stk_server_stopped_cb cb, void *arg)
{
    if (srv->stopping || srv->destroying)
        return STK_ESTATE;
    srv->stopping = true;
    srv->stopped_cb = cb;
    srv->stopped_arg = arg;
    if (srv->listening) {
        srv->listening = false;
        uv_close((uv_handle_t *)&srv->listener, srv_handle_closed);
    }
    for (link_t *l = srv->conns.next; l != &srv->conns;) {
        conn_t *c = CONTAINER(l, conn_t, node);
        l = l->next;
        conn_stop(c);
    }
    uv_ref((uv_handle_t *)&srv->stop_timer);
    uv_timer_start(&srv->stop_timer, on_stop_timeout, srv->limits.stop_timeout_ms, 0);
    srv_wake_prepare(srv); /* completion is reported from the loop, never from here */
    return 0;
}

int stk_server_run(stk_server_t *srv)
{
    if (!srv->own_loop)
        return STK_ESTATE;
    if (srv->stop_done)
        return 0;
    uv_run(srv->loop, UV_RUN_DEFAULT);
    return 0;
}

void stk_server_destroy(stk_server_t *srv)
{
    if (!srv)
        return;
    uv_loop_t *loop = srv->loop;
    bool own = srv->own_loop;
    run_posts(srv);
    srv->destroying = true;
    if (srv->listener_open && !uv_is_closing((uv_handle_t *)&srv->listener))
        uv_close((uv_handle_t *)&srv->listener, srv_handle_closed);
    for (link_t *l = srv->conns.next; l != &srv->conns;) {
        conn_t *c = CONTAINER(l, conn_t, node);
        l = l->next;
        conn_close(c);
    }
    uv_close((uv_handle_t *)&srv->async, srv_handle_closed);
    uv_close((uv_handle_t *)&srv->prepare, srv_handle_closed);
    uv_close((uv_handle_t *)&srv->stop_timer, srv_handle_closed);
    /* srv is freed by the last close callback. */
    if (own) {
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
        free(loop);
    }
}
