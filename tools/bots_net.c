/* tools/bots_net.c — libuv HTTP/1.1 one-shot requests and WebSocket client connections
 * (see tools/bots_net.h).
 *
 * Both kinds share one shape: a TCP handle, a connect request, writes that each own a
 * malloc'd block (freed in their write callback), reads into the per-loop buffer of
 * stk_bnet_t (consumed inside the read callback, so one buffer serves every socket), and
 * deferred destruction: the object is freed in the TCP handle's close callback, after the
 * user's callback ran (STYLE #15).
 *
 * WebSocket states: CONNECTING → HANDSHAKE (upgrade written, reading the 101) → OPEN →
 * CLOSING (close frame queued or received) → closed (uv_close; on_close; free).
 */
#include "tools/bots_net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>
#include <sodium.h>
#include <wslay/wslay.h>

#include "core/error.h"

#define READ_BUF         (64u * 1024u)
#define HTTP_HEAD_MAX    (16u * 1024u)
#define WS_HANDSHAKE_MAX (8u * 1024u)

struct stk_bnet {
    uv_loop_t *loop;
    char rbuf[READ_BUF];
    bool rbuf_busy;
};

int stk_bnet_create(uv_loop_t *loop, stk_bnet_t **out)
{
    if (!loop || !out)
        return STK_EINVAL;
    stk_bnet_t *n = calloc(1, sizeof *n);
    if (!n)
        return STK_ENOMEM;
    n->loop = loop;
    *out = n;
    return 0;
}

void stk_bnet_destroy(stk_bnet_t *n)
{
    free(n);
}

static int uverr(int e)
{
    return e == UV_ENOMEM ? STK_ENOMEM : e == UV_EINVAL ? STK_EINVAL : STK_EIO;
}

int stk_bnet_target_parse(const char *url, stk_bnet_target_t *t)
{
    if (!url || !t)
        return STK_EINVAL;
    memset(t, 0, sizeof *t);
    t->src.ss_family = AF_UNSPEC;
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    char host[64];
    const char *colon = strchr(p, ':');
    size_t hl = colon ? (size_t)(colon - p) : strcspn(p, "/");
    if (hl == 0 || hl >= sizeof host)
        return STK_EINVAL;
    memcpy(host, p, hl);
    host[hl] = '\0';
    long port = 80;
    if (colon) {
        char *end;
        port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || (*end != '\0' && *end != '/') || port < 1 || port > 65535)
            return STK_EINVAL;
    }
    const char *ip = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (uv_ip4_addr(ip, (int)port, (struct sockaddr_in *)&t->addr) != 0)
        return STK_EINVAL;
    snprintf(t->host, sizeof t->host, "%s:%ld", host, port);
    return 0;
}

/* ---- shared: connect and write ------------------------------------------------------- */

typedef struct wblock {
    uv_write_t req;
    char data[];
} wblock_t;

static void write_cb(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error / EOF */
    wblock_t *b = (wblock_t *)req;
    free(b);
}

/* Write len bytes (copied). Returns 0 or an STK_E code. */
static int write_copy(uv_stream_t *s, const void *data, size_t len)
{
    wblock_t *b = malloc(sizeof *b + len);
    if (!b)
        return STK_ENOMEM;
    memcpy(b->data, data, len);
    uv_buf_t buf = uv_buf_init(b->data, (unsigned)len);
    int e = uv_write(&b->req, s, &buf, 1, write_cb);
    if (e) {
        free(b);
        return uverr(e);
    }
    return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    stk_bnet_t *n = h->data;
    /* The per-loop buffer is consumed inside each read callback; libuv never asks twice
     * before delivering, so one buffer is enough. */
    buf->base = n->rbuf;
    buf->len = READ_BUF;
}

static int start_connect(stk_bnet_t *n, const stk_bnet_target_t *t, uv_tcp_t *tcp,
                         uv_connect_t *req, uv_connect_cb cb)
{
    int e = uv_tcp_init(n->loop, tcp);
    if (e)
        return uverr(e);
    tcp->data = n;
    uv_tcp_nodelay(tcp, 1);
    if (t->src.ss_family != AF_UNSPEC)
        e = uv_tcp_bind(tcp, (const struct sockaddr *)&t->src, 0);
    if (!e)
        e = uv_tcp_connect(req, tcp, (const struct sockaddr *)&t->addr, cb);
    return e ? uverr(e) : 0;
}

/* ---- HTTP ----------------------------------------------------------------------------- */

typedef struct http_req {
    uv_tcp_t tcp;
    uv_connect_t conn;
    stk_bnet_http_cb cb;
    void *ud;
    char *out; /* the request text */
    size_t out_len;
    char *in;
    size_t in_len, in_cap, max;
    int err;
    bool done;
} http_req_t;

static void http_free_cb(uv_handle_t *h)
{
    http_req_t *r = (http_req_t *)h;
    free(r->out);
    free(r->in);
    free(r);
}

/* Decode a chunked body in place; returns its length or -1. */
static long dechunk(char *b, size_t len)
{
    size_t i = 0, o = 0;
    for (;;) {
        char *end;
        if (i >= len)
            return -1;
        unsigned long n = strtoul(b + i, &end, 16);
        char *crlf = strstr(end, "\r\n");
        if (end == b + i || !crlf || (size_t)(crlf - b) >= len)
            return -1;
        i = (size_t)(crlf - b) + 2;
        if (n == 0)
            return (long)o;
        if (n > len - i)
            return -1;
        memmove(b + o, b + i, n);
        o += n;
        i += n + 2;
    }
}

static void http_finish(http_req_t *r)
{
    if (r->done)
        return;
    r->done = true;
    int status = r->err;
    const char *body = "";
    size_t blen = 0;
    int retry = 0;
    if (status == 0) {
        status = STK_EDECODE;
        char *sep = r->in ? strstr(r->in, "\r\n\r\n") : NULL;
        int code = 0;
        if (sep && sscanf(r->in, "HTTP/1.%*d %d", &code) == 1 && code >= 100 && code < 600) {
            *sep = '\0';
            char *b = sep + 4;
            size_t bl = r->in_len - (size_t)(b - r->in);
            bool chunked = false;
            long clen = -1;
            for (char *line = strstr(r->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
                const char *h = line + 2;
                if (strncasecmp(h, "content-length:", 15) == 0)
                    clen = strtol(h + 15, NULL, 10);
                else if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strstr(h, "chunked"))
                    chunked = true;
                else if (strncasecmp(h, "retry-after:", 12) == 0)
                    retry = (int)strtol(h + 12, NULL, 10);
            }
            long got = chunked ? dechunk(b, bl) : (long)bl;
            if (got >= 0 && (chunked || clen < 0 || clen == got)) {
                b[got] = '\0';
                body = b;
                blen = (size_t)got;
                status = code;
            }
        }
    }
    r->cb(r->ud, status, body, blen, retry);
    uv_close((uv_handle_t *)&r->tcp, http_free_cb);
}

static void http_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    http_req_t *r = (http_req_t *)s;
    if (nread == UV_EOF) {
        http_finish(r);
        return;
    }
    if (nread < 0) {
        r->err = STK_EIO;
        http_finish(r);
        return;
    }
    if ((size_t)nread > r->max + HTTP_HEAD_MAX - r->in_len) {
        r->err = STK_ETOOBIG;
        http_finish(r);
        return;
    }
    if (r->in_len + (size_t)nread + 1 > r->in_cap) {
        size_t cap = r->in_cap ? r->in_cap * 2 : 16384;
        while (cap < r->in_len + (size_t)nread + 1)
            cap *= 2;
        char *p = realloc(r->in, cap);
        if (!p) {
            r->err = STK_ENOMEM;
            http_finish(r);
            return;
        }
        r->in = p;
        r->in_cap = cap;
    }
    memcpy(r->in + r->in_len, buf->base, (size_t)nread);
    r->in_len += (size_t)nread;
    r->in[r->in_len] = '\0';
    /* Done once the answer is complete, even if the server keeps the connection open. */
    const char *sep = strstr(r->in, "\r\n\r\n");
    if (!sep)
        return;
    size_t head = (size_t)(sep - r->in) + 4, body = r->in_len - head;
    const char *cl = NULL, *te = NULL;
    for (const char *l = strstr(r->in, "\r\n"); l && l < sep; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, "content-length:", 15) == 0)
            cl = l + 17;
        else if (strncasecmp(l + 2, "transfer-encoding:", 18) == 0)
            te = l + 20;
    }
    if (te && strstr(te, "chunked") && strstr(te, "chunked") < sep) {
        if ((body == 5 && memcmp(r->in + head, "0\r\n\r\n", 5) == 0) ||
            (body > 7 && memcmp(r->in + r->in_len - 7, "\r\n0\r\n\r\n", 7) == 0))
            http_finish(r);
    } else if (cl && strtoul(cl, NULL, 10) <= body) {
        http_finish(r);
    }
}

static void http_connect_cb(uv_connect_t *req, int status)
{
    http_req_t *r = req->data;
    int e = status ? STK_EIO : write_copy((uv_stream_t *)&r->tcp, r->out, r->out_len);
    if (!e && uv_read_start((uv_stream_t *)&r->tcp, alloc_cb, http_read_cb) != 0)
        e = STK_EIO;
    if (e) {
        r->err = e;
        http_finish(r);
    }
}

int stk_bnet_http(stk_bnet_t *n, const stk_bnet_target_t *t, const char *method, const char *path,
                  const char *token, const char *body, size_t len, size_t max_body,
                  stk_bnet_http_cb cb, void *ud)
{
    if (!n || !t || !method || !path || !cb || (!body && len))
        return STK_EINVAL;
    http_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return STK_ENOMEM;
    size_t cap = strlen(path) + strlen(t->host) + (token ? strlen(token) : 0) + len + 256;
    r->out = malloc(cap);
    if (!r->out) {
        free(r);
        return STK_ENOMEM;
    }
    int h =
        snprintf(r->out, cap,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s%s%s"
                 "%s",
                 method, path, t->host, token ? "Authorization: Bearer " : "", token ? token : "",
                 token ? "\r\n" : "", body ? "Content-Type: application/json\r\n" : "");
    h += snprintf(r->out + h, cap - (size_t)h, "Content-Length: %zu\r\n\r\n", len);
    if (len)
        memcpy(r->out + h, body, len);
    r->out_len = (size_t)h + len;
    r->cb = cb;
    r->ud = ud;
    r->max = max_body;
    r->conn.data = r;
    int e = start_connect(n, t, &r->tcp, &r->conn, http_connect_cb);
    if (e) {
        /* The handle may be initialised: close it; the request is freed there and the user
         * callback never runs. */
        r->done = true;
        if (uv_is_active((uv_handle_t *)&r->tcp) || r->tcp.loop)
            uv_close((uv_handle_t *)&r->tcp, http_free_cb);
        else
            http_free_cb((uv_handle_t *)&r->tcp);
        return e;
    }
    return 0;
}

/* ---- WebSocket ---------------------------------------------------------------------- */

typedef enum ws_state { WS_CONNECTING, WS_HANDSHAKE, WS_OPEN, WS_CLOSING, WS_CLOSED } ws_state_t;

struct stk_bnet_ws {
    uv_tcp_t tcp;
    uv_connect_t conn;
    stk_bnet_t *net;
    stk_bnet_ws_cbs_t cbs;
    void *ud;
    ws_state_t state;
    wslay_event_context_ptr ctx;
    char key[32];   /* Sec-WebSocket-Key (base64 of 16 bytes) */
    char proto[64]; /* offered subprotocol */
    char hs[WS_HANDSHAKE_MAX + 1];
    size_t hs_len;
    const uint8_t *in; /* bytes being fed to wslay (the loop's read buffer) */
    size_t in_len, in_off;
    int close_code, http_status;
    uint64_t mask_state;
    bool uv_closing;
};

static void ws_free_cb(uv_handle_t *h)
{
    stk_bnet_ws_t *ws = (stk_bnet_ws_t *)h;
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    ws->state = WS_CLOSED;
    if (ws->cbs.on_close)
        ws->cbs.on_close(ws->ud, ws->close_code ? ws->close_code : 1006, ws->http_status);
    free(ws);
}

static void ws_shutdown(stk_bnet_ws_t *ws)
{
    if (ws->uv_closing)
        return;
    ws->uv_closing = true;
    uv_close((uv_handle_t *)&ws->tcp, ws_free_cb);
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user)
{
    (void)flags;
    stk_bnet_ws_t *ws = user;
    size_t left = ws->in_len - ws->in_off;
    if (left == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t k = left < len ? left : len;
    memcpy(buf, ws->in + ws->in_off, k);
    ws->in_off += k;
    return (ssize_t)k;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
    (void)flags;
    stk_bnet_ws_t *ws = user;
    if (ws->uv_closing || write_copy((uv_stream_t *)&ws->tcp, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    stk_bnet_ws_t *ws = user;
    /* Masking only defeats proxy cache poisoning; a fast xorshift suffices for a load
     * generator on loopback (randombytes per frame would dominate the client's CPU). */
    for (size_t i = 0; i < len; i++) {
        uint64_t x = ws->mask_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ws->mask_state = x;
        buf[i] = (uint8_t)x;
    }
    return 0;
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                      void *user)
{
    (void)ctx;
    stk_bnet_ws_t *ws = user;
    if (a->opcode == WSLAY_CONNECTION_CLOSE) {
        ws->close_code = a->status_code ? a->status_code : 1005;
        if (ws->state == WS_OPEN)
            ws->state = WS_CLOSING;
        return;
    }
    if ((a->opcode == WSLAY_TEXT_FRAME || a->opcode == WSLAY_BINARY_FRAME) &&
        ws->state == WS_OPEN && ws->cbs.on_message)
        ws->cbs.on_message(ws->ud, a->opcode == WSLAY_BINARY_FRAME, a->msg, a->msg_length);
}

/* Let wslay read what is buffered and write what it queued; shut down when it is done. */
static void ws_pump(stk_bnet_ws_t *ws)
{
    if (ws->uv_closing)
        return;
    if (wslay_event_recv(ws->ctx) != 0 || wslay_event_send(ws->ctx) != 0) {
        ws_shutdown(ws);
        return;
    }
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))
        ws_shutdown(ws);
}

static int ws_accept_ok(const stk_bnet_ws_t *ws, const char *value)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char cat[96];
    unsigned char sha[SHA_DIGEST_LENGTH];
    char b64[64];
    snprintf(cat, sizeof cat, "%s%s", ws->key, guid);
    SHA1((const unsigned char *)cat, strlen(cat), sha);
    sodium_bin2base64(b64, sizeof b64, sha, sizeof sha, sodium_base64_VARIANT_ORIGINAL);
    size_t n = strlen(b64);
    while (*value == ' ')
        value++;
    return strncmp(value, b64, n) == 0 && (value[n] == '\r' || value[n] == '\0');
}

/* Handshake bytes arrived: parse the answer once it is complete. Returns the number of
 * bytes of buf that belong to the WebSocket stream after the answer, or -1 (fail). */
static ssize_t ws_handshake(stk_bnet_ws_t *ws, const char *buf, size_t len)
{
    size_t room = WS_HANDSHAKE_MAX - ws->hs_len;
    size_t k = len < room ? len : room;
    memcpy(ws->hs + ws->hs_len, buf, k);
    size_t before = ws->hs_len;
    ws->hs_len += k;
    ws->hs[ws->hs_len] = '\0';
    char *end = strstr(ws->hs, "\r\n\r\n");
    if (!end)
        return ws->hs_len == WS_HANDSHAKE_MAX ? -1 : 0;
    size_t head = (size_t)(end - ws->hs) + 4;
    int code = 0;
    if (sscanf(ws->hs, "HTTP/1.1 %d", &code) != 1 || code != 101) {
        ws->http_status = code ? code : 502;
        return -1;
    }
    *end = '\0';
    bool accept = false, proto = false;
    for (char *l = strstr(ws->hs, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, "sec-websocket-accept:", 21) == 0)
            accept = ws_accept_ok(ws, h + 21);
        else if (strncasecmp(h, "sec-websocket-protocol:", 23) == 0) {
            const char *v = h + 23;
            while (*v == ' ')
                v++;
            size_t pl = strlen(ws->proto);
            proto = strncmp(v, ws->proto, pl) == 0 && (v[pl] == '\r' || v[pl] == '\0');
        }
    }
    if (!accept || !proto) {
        ws->http_status = 101;
        ws->close_code = 1002;
        return -1;
    }
    ws->state = WS_OPEN;
    /* Bytes past the head in this read: (before + len) - head of buf's tail. */
    return (ssize_t)(len - (head - before));
}

static void ws_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    stk_bnet_ws_t *ws = (stk_bnet_ws_t *)s;
    if (nread < 0) {
        ws_shutdown(ws);
        return;
    }
    const char *data = buf->base;
    size_t len = (size_t)nread;
    if (ws->state == WS_HANDSHAKE) {
        ssize_t rest = ws_handshake(ws, data, len);
        if (rest < 0) {
            ws_shutdown(ws);
            return;
        }
        if (ws->state != WS_OPEN)
            return;
        data += len - (size_t)rest;
        len = (size_t)rest;
        if (ws->cbs.on_open)
            ws->cbs.on_open(ws->ud);
        if (ws->uv_closing)
            return;
    }
    ws->in = (const uint8_t *)data;
    ws->in_len = len;
    ws->in_off = 0;
    ws_pump(ws);
    ws->in = NULL;
    ws->in_len = ws->in_off = 0;
}

static void ws_connect_cb(uv_connect_t *req, int status)
{
    stk_bnet_ws_t *ws = req->data;
    if (status) {
        ws_shutdown(ws);
        return;
    }
    char head[2048];
    int h = snprintf(head, sizeof head,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n\r\n",
                     ws->hs, ws->hs + strlen(ws->hs) + 1, ws->key, ws->proto);
    ws->hs_len = 0;
    ws->hs[0] = '\0';
    ws->state = WS_HANDSHAKE;
    if (h <= 0 || (size_t)h >= sizeof head ||
        write_copy((uv_stream_t *)&ws->tcp, head, (size_t)h) != 0 ||
        uv_read_start((uv_stream_t *)&ws->tcp, alloc_cb, ws_read_cb) != 0)
        ws_shutdown(ws);
}

int stk_bnet_ws_connect(stk_bnet_t *n, const stk_bnet_target_t *t, const char *path,
                        const char *subprotocol, const stk_bnet_ws_cbs_t *cbs, void *ud,
                        stk_bnet_ws_t **out)
{
    if (!n || !t || !path || !subprotocol || !cbs || !out)
        return STK_EINVAL;
    size_t pl = strlen(path), hl = strlen(t->host);
    if (pl + hl + 2 > WS_HANDSHAKE_MAX || strlen(subprotocol) >= 64)
        return STK_EINVAL;
    stk_bnet_ws_t *ws = calloc(1, sizeof *ws);
    if (!ws)
        return STK_ENOMEM;
    ws->net = n;
    ws->cbs = *cbs;
    ws->ud = ud;
    snprintf(ws->proto, sizeof ws->proto, "%s", subprotocol);
    /* Until the connect completes, hs holds "path\0host" for the upgrade request. */
    memcpy(ws->hs, path, pl + 1);
    memcpy(ws->hs + pl + 1, t->host, hl + 1);
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(ws->key, sizeof ws->key, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    randombytes_buf(&ws->mask_state, sizeof ws->mask_state);
    ws->mask_state |= 1;
    struct wslay_event_callbacks wcb = {
        .recv_callback = ws_recv_cb,
        .send_callback = ws_send_cb,
        .genmask_callback = ws_genmask_cb,
        .on_msg_recv_callback = ws_msg_cb,
    };
    if (wslay_event_context_client_init(&ws->ctx, &wcb, ws) != 0) {
        free(ws);
        return STK_ENOMEM;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, STK_BNET_WS_MSG_MAX);
    ws->conn.data = ws;
    ws->state = WS_CONNECTING;
    int e = start_connect(n, t, &ws->tcp, &ws->conn, ws_connect_cb);
    if (e) {
        ws->cbs.on_close = NULL; /* failed call: the callback never runs */
        if (ws->tcp.loop)
            ws_shutdown(ws);
        else
            ws_free_cb((uv_handle_t *)&ws->tcp);
        return e;
    }
    *out = ws;
    return 0;
}

int stk_bnet_ws_send(stk_bnet_ws_t *ws, bool binary, const uint8_t *data, size_t len)
{
    if (!ws || ws->state != WS_OPEN || ws->uv_closing)
        return STK_ESTATE;
    struct wslay_event_msg m = {
        .opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
        .msg = data,
        .msg_length = len,
    };
    if (wslay_event_queue_msg(ws->ctx, &m) != 0)
        return STK_ENOMEM;
    if (wslay_event_send(ws->ctx) != 0) {
        ws_shutdown(ws);
        return STK_EIO;
    }
    return 0;
}

void stk_bnet_ws_close(stk_bnet_ws_t *ws, uint16_t code)
{
    if (!ws || ws->uv_closing)
        return;
    if (ws->state != WS_OPEN) { /* not upgraded yet, or a second close: cut */
        ws_shutdown(ws);
        return;
    }
    ws->state = WS_CLOSING;
    if (wslay_event_queue_close(ws->ctx, code, NULL, 0) != 0 || wslay_event_send(ws->ctx) != 0)
        ws_shutdown(ws);
}

size_t stk_bnet_ws_pending(const stk_bnet_ws_t *ws)
{
    return ws ? ws->tcp.write_queue_size : 0;
}
