/* net/ws.c — RFC 6455 handshake and connections on wslay's event API. See ws.h.
 *
 * wslay does the framing: unmasking, fragment reassembly up to the message limit (1009
 * itself), control frames, automatic pong and close replies, 1002 on protocol errors.
 * This file adds what wslay leaves to its user: the handshake, UTF-8 validation (1007),
 * the byte-bounded send queue with slow-consumer drops, ping keepalive, close timeouts,
 * and the bridge to the server's socket through stk_ws_io_t.
 *
 * Invariants: wslay's recv/send run only inside stk_ws_io_read / stk_ws_io_flush (never
 * inside a user send), so user callbacks are never re-entered; `queued` counts the bytes
 * handed to wslay and not yet to the socket, each message charged WS_MSG_OVERHEAD more
 * for wslay's bookkeeping and frame header (so a flood of tiny messages is bounded too);
 * after CLOSED nothing but free happens.
 */
#include "net/ws.h"

#include "core/error.h"
#include "net/problem.h"

#include <openssl/evp.h>
#include <wslay/wslay.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ws_state { WS_OPEN, WS_CLOSING, WS_CLOSED };

struct stk_ws {
    wslay_event_context_ptr ctx;
    stk_ws_callbacks_t cb;
    void *arg, *user;
    const char *subprotocol;
    stk_ws_io_t io;
    bool attached;
    stk_ws_limits_t lim;
    enum ws_state state;
    const uint8_t *rbuf;
    size_t rlen;
    size_t queued;
    bool ping_outstanding, finishing;
    uint64_t last_rx, ping_sent_at, close_deadline;
    /* stk_ws_close while data was queued: wslay sends control frames before queued data,
     * so the close frame waits here until the data queue drained (see pump). */
    bool close_pending;
    uint16_t close_code;
    uint8_t close_reason[123];
    size_t close_reason_len;
};

#define WS_MSG_OVERHEAD 64 /* wslay's per-message allocation and the frame header */
#define WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- pure helpers --------------------------------------------------------------------- */

bool stk_ws_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3Fu);
        }
        if (k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            return false;
        if (k == 3 && (cp < 0x10000 || cp > 0x10FFFF))
            return false;
        i += k + 1;
    }
    return true;
}

int stk_ws_accept_key(const char *key, char out[29])
{
    unsigned char cat[128], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t kl = strlen(key);
    if (kl + sizeof(WS_GUID) > sizeof(cat))
        return STK_EINVAL;
    memcpy(cat, key, kl);
    memcpy(cat + kl, WS_GUID, sizeof(WS_GUID) - 1);
    if (EVP_Digest(cat, kl + sizeof(WS_GUID) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return STK_ECRYPTO;
    if (EVP_EncodeBlock((unsigned char *)out, md, 20) != 28)
        return STK_ECRYPTO;
    out[28] = '\0';
    return 0;
}

/* A valid key is base64 of exactly 16 bytes: 22 characters and "==". */
static bool key_valid(const char *key)
{
    if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
        return false;
    unsigned char raw[24];
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

static void drop(stk_ws_t *ws);

/* ---- wslay callbacks ------------------------------------------------------------------ */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    stk_ws_t *ws = user;
    if (ws->rlen == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < ws->rlen ? len : ws->rlen;
    memcpy(buf, ws->rbuf, n);
    ws->rbuf += n;
    ws->rlen -= n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    stk_ws_t *ws = user;
    if (!ws->attached || ws->state == WS_CLOSED) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    long n = ws->io.write(ws->io.conn, data, len);
    if (n < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ws->queued -= (size_t)n < ws->queued ? (size_t)n : ws->queued;
    return (ssize_t)n;
}

static void enter_closing(stk_ws_t *ws)
{
    if (ws->state != WS_OPEN)
        return;
    ws->state = WS_CLOSING;
    ws->close_deadline = (ws->attached ? ws->io.now(ws->io.conn) : 0) + ws->lim.close_timeout_ms;
}

static void fail_with(stk_ws_t *ws, uint16_t code, const char *reason)
{
    if (ws->state != WS_OPEN)
        return;
    wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, strlen(reason));
    wslay_event_shutdown_read(ws->ctx);
    enter_closing(ws);
}

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    (void)ctx;
    stk_ws_t *ws = user;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        enter_closing(ws);
        return;
    }
    if (arg->opcode == WSLAY_PING) { /* wslay queued a pong: it counts against the queue */
        ws->queued += WS_MSG_OVERHEAD + arg->msg_length;
        return;
    }
    if (ws->state != WS_OPEN)
        return;
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; /* ping/pong: wslay answers pings; any frame already counted as life */
    if (arg->opcode == WSLAY_TEXT_FRAME && !stk_ws_utf8_valid(arg->msg, arg->msg_length)) {
        fail_with(ws, STK_WS_BAD_DATA, "invalid UTF-8");
        return;
    }
    ws->io.count(ws->io.conn, 0);
    if (ws->cb.on_message)
        ws->cb.on_message(ws, arg->opcode == WSLAY_TEXT_FRAME ? STK_WS_TEXT : STK_WS_BINARY,
                          arg->msg, arg->msg_length, ws->arg);
}

static const struct wslay_event_callbacks WS_CALLBACKS = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_msg_recv_callback = on_msg_cb,
};

/* ---- handshake ------------------------------------------------------------------------ */

static const char *pick_subprotocol(const stk_http_req_t *req, const stk_ws_options_t *o)
{
    /* Client order wins; the header may repeat and lists tokens separated by commas. */
    for (size_t h = 0; h < req->n_headers; h++) {
        if (strcasecmp(req->headers[h].name, "Sec-WebSocket-Protocol") != 0)
            continue;
        const char *s = req->headers[h].value;
        while (*s) {
            while (*s == ' ' || *s == '\t' || *s == ',')
                s++;
            const char *e = s;
            while (*e && *e != ',' && *e != ' ' && *e != '\t')
                e++;
            for (size_t i = 0; i < o->n_subprotocols; i++) {
                const char *sp = o->subprotocols[i];
                if (strlen(sp) == (size_t)(e - s) && strncmp(sp, s, (size_t)(e - s)) == 0)
                    return sp;
            }
            s = e;
        }
    }
    return NULL;
}

static int refuse(stk_http_res_t *res, int status, const char *field, const char *code,
                  const char *message)
{
    stk_problem_error_t e = {field, code, message};
    stk_problem_send(res, status, NULL, "WebSocket handshake refused", message, &e, 1);
    return STK_EINVAL;
}

int stk_ws_accept(stk_http_req_t *req, stk_http_res_t *res, const stk_ws_options_t *opts,
                  stk_ws_t **out)
{
    *out = NULL;
    if (stk_http_res_abandoned(res)) {
        stk_http_res_send(res, 400, NULL, NULL, 0);
        return STK_ECLOSED;
    }
    if (req->method != STK_HTTP_GET)
        return refuse(res, 400, "method", "invalid", "A WebSocket handshake must be a GET.");
    if (!stk_http_req_header_has_token(req, "Upgrade", "websocket")) {
        stk_http_res_header(res, "Upgrade", "websocket");
        return refuse(res, 426, "Upgrade", "required", "Upgrade: websocket is required.");
    }
    if (!req->upgrade || !stk_http_req_header_has_token(req, "Connection", "upgrade"))
        return refuse(res, 400, "Connection", "invalid", "Connection: Upgrade is required.");
    const char *ver = stk_http_req_header(req, "Sec-WebSocket-Version");
    if (!ver || strcmp(ver, "13") != 0) {
        stk_http_res_header(res, "Sec-WebSocket-Version", "13");
        return refuse(res, 426, "Sec-WebSocket-Version", "unsupported",
                      "Only WebSocket version 13 is supported.");
    }
    const char *key = stk_http_req_header(req, "Sec-WebSocket-Key");
    if (!key_valid(key))
        return refuse(res, 400, "Sec-WebSocket-Key", "invalid",
                      "Sec-WebSocket-Key must be the base64 of 16 bytes.");
    const char *proto = NULL;
    if (opts->n_subprotocols) {
        proto = pick_subprotocol(req, opts);
        if (!proto)
            return refuse(res, 400, "Sec-WebSocket-Protocol", "unsupported",
                          "None of the offered subprotocols is supported.");
    }
    char accept[29];
    int rc = stk_ws_accept_key(key, accept);
    if (rc) {
        stk_http_res_send(res, 500, NULL, NULL, 0);
        return rc;
    }
    stk_ws_t *ws = calloc(1, sizeof(*ws));
    if (!ws || wslay_event_context_server_init(&ws->ctx, &WS_CALLBACKS, ws) != 0) {
        free(ws);
        stk_http_res_send(res, 503, NULL, NULL, 0);
        return STK_ENOMEM;
    }
    ws->cb = opts->cb;
    ws->arg = opts->arg;
    ws->subprotocol = proto;
    ws->lim.max_message_bytes = 1024 * 1024;
    ws->lim.send_queue_bytes = 1024 * 1024;
    ws->lim.close_timeout_ms = 2000;
    wslay_event_config_set_max_recv_msg_length(ws->ctx, ws->lim.max_message_bytes);
    rc = stk_http_res_header(res, "Upgrade", "websocket");
    if (!rc)
        rc = stk_http_res_header(res, "Sec-WebSocket-Accept", accept);
    if (!rc && proto)
        rc = stk_http_res_header(res, "Sec-WebSocket-Protocol", proto);
    if (rc) {
        wslay_event_context_free(ws->ctx);
        free(ws);
        stk_http_res_send(res, 500, NULL, NULL, 0);
        return rc;
    }
    stk_http_res_set_upgrade(res, ws, stk_ws_io_abort);
    /* Completing only marks the connection for writing; the switch happens on the loop's
     * next turn, so no callback of ws runs before the caller has *out. */
    stk_http_res_send(res, 101, NULL, NULL, 0);
    *out = ws;
    return 0;
}

/* ---- sending -------------------------------------------------------------------------- */

static void schedule(stk_ws_t *ws)
{
    if (ws->attached)
        ws->io.schedule(ws->io.conn);
}

static void drop(stk_ws_t *ws)
{
    if (ws->attached)
        ws->io.count(ws->io.conn, 2);
    fail_with(ws, STK_WS_POLICY, "send queue full");
    schedule(ws);
}

static int ws_send(stk_ws_t *ws, uint8_t opcode, const void *data, size_t len)
{
    if (ws->state != WS_OPEN)
        return STK_ECLOSED;
    if (len > ws->lim.max_message_bytes)
        return STK_ETOOBIG;
    if (ws->queued + len + WS_MSG_OVERHEAD > ws->lim.send_queue_bytes) {
        drop(ws);
        return STK_ECLOSED;
    }
    struct wslay_event_msg m = {opcode, data, len};
    int rv = wslay_event_queue_msg(ws->ctx, &m);
    if (rv == WSLAY_ERR_NOMEM)
        return STK_ENOMEM;
    if (rv != 0)
        return STK_ECLOSED;
    ws->queued += len + WS_MSG_OVERHEAD;
    if (ws->attached)
        ws->io.count(ws->io.conn, 1);
    schedule(ws);
    return 0;
}

int stk_ws_send_text(stk_ws_t *ws, const char *data, size_t len)
{
    return ws_send(ws, WSLAY_TEXT_FRAME, data, len);
}

int stk_ws_send_binary(stk_ws_t *ws, const void *data, size_t len)
{
    return ws_send(ws, WSLAY_BINARY_FRAME, data, len);
}

int stk_ws_close(stk_ws_t *ws, int code, const char *reason)
{
    if (ws->state != WS_OPEN)
        return STK_ECLOSED;
    if (code < 1000 || code > 4999)
        code = STK_WS_NORMAL;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 123)
        rl = 123;
    if (wslay_event_get_queued_msg_count(ws->ctx) > 0) {
        ws->close_pending = true;
        ws->close_code = (uint16_t)code;
        if (rl > 0)
            memcpy(ws->close_reason, reason, rl);
        ws->close_reason_len = rl;
    } else {
        wslay_event_queue_close(ws->ctx, (uint16_t)code, (const uint8_t *)reason, rl);
    }
    enter_closing(ws); /* no more sends; the close deadline bounds a peer that never reads */
    schedule(ws);
    return 0;
}

const char *stk_ws_subprotocol(const stk_ws_t *ws)
{
    return ws->subprotocol;
}

size_t stk_ws_queued_bytes(const stk_ws_t *ws)
{
    return ws->queued;
}

void stk_ws_set_user(stk_ws_t *ws, void *user)
{
    ws->user = user;
}

void *stk_ws_user(const stk_ws_t *ws)
{
    return ws->user;
}

/* ---- transport hooks ------------------------------------------------------------------ */

static void arm_timer(stk_ws_t *ws)
{
    if (ws->state == WS_CLOSED || ws->finishing)
        return;
    uint64_t now = ws->io.now(ws->io.conn), deadline;
    if (ws->state == WS_CLOSING)
        deadline = ws->close_deadline;
    else if (ws->ping_outstanding)
        deadline = ws->ping_sent_at + ws->lim.pong_timeout_ms;
    else
        deadline = ws->last_rx + ws->lim.ping_interval_ms;
    ws->io.set_timer(ws->io.conn, deadline > now ? deadline - now : 1);
}

/* Sends what wslay holds and decides whether the connection is over. */
static void pump(stk_ws_t *ws)
{
    if (ws->state == WS_CLOSED || ws->finishing)
        return;
    if (wslay_event_send(ws->ctx) != 0) {
        ws->state = WS_CLOSED;
        ws->io.hard_close(ws->io.conn);
        return;
    }
    if (ws->close_pending && wslay_event_get_queued_msg_count(ws->ctx) == 0) {
        ws->close_pending = false;
        wslay_event_queue_close(ws->ctx, ws->close_code, ws->close_reason, ws->close_reason_len);
        if (wslay_event_send(ws->ctx) != 0) {
            ws->state = WS_CLOSED;
            ws->io.hard_close(ws->io.conn);
            return;
        }
    }
    if (!wslay_event_want_write(ws->ctx))
        ws->queued = 0;
    if (wslay_event_get_close_received(ws->ctx) || wslay_event_get_close_sent(ws->ctx))
        enter_closing(ws);
    if (wslay_event_get_close_sent(ws->ctx) &&
        (wslay_event_get_close_received(ws->ctx) || !wslay_event_get_read_enabled(ws->ctx))) {
        /* Handshake done (or we failed the connection): the server closes TCP first. */
        ws->finishing = true;
        ws->io.finish(ws->io.conn);
        return;
    }
    arm_timer(ws);
}

int stk_ws_io_attach(stk_ws_t *ws, const stk_ws_io_t *io, const stk_ws_limits_t *limits)
{
    ws->io = *io;
    ws->lim = *limits;
    ws->attached = true;
    wslay_event_config_set_max_recv_msg_length(ws->ctx, limits->max_message_bytes);
    ws->last_rx = io->now(io->conn);
    if (ws->state == WS_CLOSING)
        ws->close_deadline = ws->last_rx + ws->lim.close_timeout_ms;
    arm_timer(ws);
    return 0;
}

void stk_ws_io_read(stk_ws_t *ws, const uint8_t *data, size_t len)
{
    if (ws->state == WS_CLOSED || ws->finishing)
        return;
    ws->last_rx = ws->io.now(ws->io.conn);
    ws->ping_outstanding = false;
    ws->rbuf = data;
    ws->rlen = len;
    int rv = wslay_event_recv(ws->ctx);
    ws->rbuf = NULL;
    ws->rlen = 0;
    if (rv != 0) {
        ws->state = WS_CLOSED;
        ws->io.hard_close(ws->io.conn);
        return;
    }
    if (ws->queued > ws->lim.send_queue_bytes) /* pings from a client that reads no pongs */
        drop(ws);
    pump(ws);
}

void stk_ws_io_eof(stk_ws_t *ws)
{
    if (ws->state == WS_CLOSED)
        return;
    ws->state = WS_CLOSED;
    ws->io.hard_close(ws->io.conn);
}

void stk_ws_io_flush(stk_ws_t *ws)
{
    pump(ws);
}

void stk_ws_io_timer(stk_ws_t *ws)
{
    if (ws->state == WS_CLOSED || ws->finishing)
        return;
    uint64_t now = ws->io.now(ws->io.conn);
    if (ws->state == WS_CLOSING) {
        if (now >= ws->close_deadline) {
            ws->state = WS_CLOSED;
            ws->io.hard_close(ws->io.conn);
            return;
        }
    } else if (ws->ping_outstanding) {
        if (now >= ws->ping_sent_at + ws->lim.pong_timeout_ms) {
            ws->io.count(ws->io.conn, 2);
            ws->state = WS_CLOSED;
            ws->io.hard_close(ws->io.conn);
            return;
        }
    } else if (now >= ws->last_rx + ws->lim.ping_interval_ms) {
        struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};
        if (wslay_event_queue_msg(ws->ctx, &m) == 0) {
            ws->ping_outstanding = true;
            ws->ping_sent_at = now;
        }
    }
    pump(ws);
}

void stk_ws_io_going_away(stk_ws_t *ws)
{
    if (stk_ws_close(ws, STK_WS_GOING_AWAY, "server shutting down") != 0 &&
        ws->state == WS_CLOSING && ws->attached && !ws->finishing)
        arm_timer(ws);
}

static void ws_free(stk_ws_t *ws, int code)
{
    ws->state = WS_CLOSED;
    if (ws->cb.on_close)
        ws->cb.on_close(ws, code, ws->arg);
    wslay_event_context_free(ws->ctx);
    free(ws);
}

void stk_ws_io_detach(stk_ws_t *ws)
{
    int code = STK_WS_ABNORMAL;
    if (wslay_event_get_close_received(ws->ctx))
        code = wslay_event_get_status_code_received(ws->ctx);
    ws_free(ws, code);
}

void stk_ws_io_abort(void *ws)
{
    ws_free(ws, STK_WS_ABNORMAL);
}
