/* tests/fuzz/fuzz_ws_frames.c — libFuzzer target for the WebSocket receive path: wslay's
 * framing plus net/ws.c (UTF-8 checks, close handling, ping accounting, queue limits,
 * timers), without sockets.
 *
 * A fixed handshake makes a stk_ws_t; it is attached to a fake transport that swallows
 * writes (or reports "would block" when the input says so) and then fed the input after
 * its first byte, cut into pieces of (first byte + 1) bytes, with flushes and timer ticks
 * in between. Messages are echoed back, so the send queue and its limit are exercised too.
 * Nothing may crash, leak or grow past the configured limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fake {
    bool closed, block;
    uint64_t now;
} fake_t;

static long f_write(void *conn, const uint8_t *buf, size_t len)
{
    fake_t *f = conn;
    (void)buf;
    if (f->closed)
        return -1;
    return f->block ? 0 : (long)len;
}

static void f_noop(void *conn)
{
    (void)conn;
}

static void f_timer(void *conn, uint64_t ms)
{
    (void)conn;
    (void)ms;
}

static void f_close(void *conn)
{
    ((fake_t *)conn)->closed = true;
}

static uint64_t f_now(void *conn)
{
    return ((fake_t *)conn)->now;
}

static void f_count(void *conn, int what)
{
    (void)conn;
    (void)what;
}

static void on_message(stk_ws_t *ws, stk_ws_kind_t kind, const uint8_t *d, size_t len, void *arg)
{
    (void)arg;
    if (len && d[0] == 'C')
        stk_ws_close(ws, 1000, "bye");
    else if (kind == STK_WS_TEXT)
        stk_ws_send_text(ws, (const char *)d, len);
    else
        stk_ws_send_binary(ws, d, len);
}

static void on_close(stk_ws_t *ws, int code, void *arg)
{
    (void)ws;
    (void)code;
    (void)arg;
}

static stk_ws_t *open_ws(void)
{
    static const char hs[] =
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    stk_http_parser_t *p;
    if (stk_http_parser_create(NULL, &p) != 0)
        abort();
    size_t used;
    stk_http_req_t *req;
    int status;
    if (stk_http_parser_feed(p, (const uint8_t *)hs, sizeof(hs) - 1, &used, &req, &status) != 0 ||
        !req)
        abort();
    stk_http_parser_destroy(p);
    stk_http_res_t *res;
    if (stk_http_res_create(req, NULL, NULL, &res) != 0)
        abort();
    stk_ws_options_t o = {.cb = {.on_message = on_message, .on_close = on_close}};
    stk_ws_t *ws;
    if (stk_ws_accept(req, res, &o, &ws) != 0)
        abort();
    if (stk_http_res_take_upgrade(res) != ws)
        abort();
    stk_http_res_free(res);
    stk_http_req_free(req);
    return ws;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)(data[0] & 0x7F) + 1;
    fake_t f = {.block = (data[0] & 0x80) != 0};
    data++;
    size--;
    stk_ws_t *ws = open_ws();
    stk_ws_io_t io = {.conn = &f,
                      .write = f_write,
                      .schedule = f_noop,
                      .set_timer = f_timer,
                      .hard_close = f_close,
                      .finish = f_close,
                      .now = f_now,
                      .count = f_count};
    stk_ws_limits_t lim = {.max_message_bytes = 4096,
                           .send_queue_bytes = 16384,
                           .ping_interval_ms = 1000,
                           .pong_timeout_ms = 1000,
                           .close_timeout_ms = 1000};
    if (stk_ws_io_attach(ws, &io, &lim) != 0)
        abort();
    for (size_t off = 0; off < size && !f.closed; off += step) {
        size_t n = size - off < step ? size - off : step;
        stk_ws_io_read(ws, data + off, n);
        if (f.closed)
            break;
        stk_ws_io_flush(ws);
        if (stk_ws_queued_bytes(ws) > lim.send_queue_bytes + 4096 + 64)
            abort(); /* the queue limit must hold */
        f.now += 300;
        stk_ws_io_timer(ws);
    }
    if (!f.closed)
        stk_ws_io_eof(ws);
    stk_ws_io_detach(ws);
    return 0;
}
