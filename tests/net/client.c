/* tests/net/client.c — the app runner, HTTP client and WebSocket client of the API tests
 * (see client.h). */
#include "client.h"

#include "core/error.h"

#include "net/ws.h"
#include "tests/support/wire.h"
#include "tests/support/tmpdir.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

/* ---- app runner ------------------------------------------------------------------------- */

const stk_jwt_key_t ar_test_key = {
    .bytes = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    .len = 32,
};

static void *ar_main(void *arg)
{
    app_runner_t *r = arg;
    r->run_rc = stk_app_run(r->app);
    return NULL;
}

int ar_start(app_runner_t *r, void (*tweak)(stk_app_config_t *cfg), const char *dir_reuse)
{
    memset(r, 0, sizeof(*r));
    if (dir_reuse) {
        snprintf(r->dir, sizeof r->dir, "%s", dir_reuse);
    } else {
        int mk = stk_test_tmpdir_make(r->dir, sizeof r->dir, "api");
        if (mk)
            return mk;
    }
    stk_app_config_t cfg;
    stk_app_config_init(&cfg);
    snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
    cfg.port = 0;
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", r->dir);
    cfg.jwt_key = ar_test_key;
    cfg.has_jwt_key = true;
    stk_password_cost_t min = STK_PASSWORD_COST_MIN;
    cfg.password_cost = min;
    cfg.limits.stop_timeout_ms = 2000;
    if (tweak)
        tweak(&cfg);
    int rc = stk_app_create(&cfg, &r->app);
    if (rc) {
        if (!dir_reuse)
            stk_test_tmpdir_remove(r->dir);
        return rc;
    }
    r->port = stk_app_port(r->app);
    if (pthread_create(&r->thread, NULL, ar_main, r) != 0) {
        stk_app_destroy(r->app);
        return STK_EIO;
    }
    r->running = true;
    return 0;
}

void ar_stop(app_runner_t *r, bool keep_dir)
{
    if (r->running) {
        stk_app_stop(r->app);
        pthread_join(r->thread, NULL);
        r->running = false;
    }
    stk_app_destroy(r->app);
    r->app = NULL;
    if (!keep_dir)
        stk_test_tmpdir_remove(r->dir);
}

uint64_t ar_head(app_runner_t *r)
{
    uint64_t head = 0;
    stk_log_head(stk_app_log(r->app), &head, NULL);
    return head;
}

/* ---- sockets ------------------------------------------------------------------------------ */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

/* Decodes a chunked body in place; returns the decoded length. */
static size_t dechunk(char *b, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        char *end;
        unsigned long n = strtoul(b + in, &end, 16);
        char *crlf = strstr(b + in, "\r\n");
        if (!crlf || end > crlf)
            break;
        in = (size_t)(crlf - b) + 2;
        if (n == 0 || in + n > len)
            break;
        memmove(b + out, b + in, n);
        out += n;
        in += n + 2;
    }
    b[out] = '\0';
    return out;
}

int hc_request(int port, const char *method, const char *path, const char *extra_headers,
               const char *content_type, const void *body, size_t len, hc_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    r->status = -1;
    int fd = dial(port);
    if (fd < 0)
        return -1;
    char head[8192];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s%s", method,
                     path, extra_headers ? extra_headers : "", content_type ? "Content-Type: " : "",
                     content_type ? content_type : "", content_type ? "\r\n" : "");
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    if (stk_test_send_all(fd, head, (size_t)n) != 0 ||
        (len && stk_test_send_all(fd, body, len) != 0)) {
        close(fd);
        return -1;
    }
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (got == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t k = recv(fd, buf + got, cap - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        r->status = -1;
        return -1;
    }
    size_t hl = (size_t)(sep - buf) + 2;
    if (hl >= sizeof r->headers)
        hl = sizeof r->headers - 1;
    memcpy(r->headers, buf, hl);
    r->headers[hl] = '\0';
    size_t blen = got - (size_t)(sep + 4 - buf);
    r->body = malloc(blen + 1);
    memcpy(r->body, sep + 4, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    free(buf);
    char te[64];
    if (hc_header(r, "Transfer-Encoding", te, sizeof te) && strcasecmp(te, "chunked") == 0)
        r->body_len = dechunk(r->body, r->body_len);
    if (r->body_len > 0)
        r->json = json_loadb(r->body, r->body_len, 0, NULL);
    return 0;
}

int hc_json(int port, const char *method, const char *path, const char *token, const char *body,
            hc_resp_t *r)
{
    char auth[4096 + 64] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    return hc_request(port, method, path, auth, body ? "application/json" : NULL, body,
                      body ? strlen(body) : 0, r);
}

int hc_jsonf(int port, const char *method, const char *path, const char *token, hc_resp_t *r,
             const char *fmt, ...)
{
    char body[65536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return hc_json(port, method, path, token, body, r);
}

void hc_free(hc_resp_t *r)
{
    free(r->body);
    r->body = NULL;
    if (r->json)
        json_decref(r->json);
    r->json = NULL;
}

bool hc_header(const hc_resp_t *r, const char *name, char *out, size_t cap)
{
    return stk_test_http_header(r->headers, name, out, cap);
}

const char *hc_str(const hc_resp_t *r, const char *key)
{
    const char *s = r->json ? json_string_value(json_object_get(r->json, key)) : NULL;
    return s ? s : "";
}

bool hc_has_field_error(const hc_resp_t *r, const char *field, const char *code)
{
    json_t *errs = r->json ? json_object_get(r->json, "errors") : NULL;
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *c = json_string_value(json_object_get(e, "code"));
        if (f && strcmp(f, field) == 0 && (!code || (c && strcmp(c, code) == 0)))
            return true;
    }
    return false;
}

bool hc_is_problem(const hc_resp_t *r)
{
    char ct[128];
    if (!hc_header(r, "Content-Type", ct, sizeof ct) ||
        strcmp(ct, "application/problem+json") != 0 || !r->json)
        return false;
    json_t *st = json_object_get(r->json, "status");
    return json_is_string(json_object_get(r->json, "type")) &&
           json_is_string(json_object_get(r->json, "title")) && json_is_integer(st) &&
           json_integer_value(st) == r->status;
}

int hc_user(int port, const char *username, char *access, stk_uuid_t *id)
{
    hc_resp_t r;
    hc_jsonf(port, "POST", "/v1/auth/register", NULL, &r,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"password123\"}",
             username, username);
    int ok = r.status == 201 && (!id || stk_uuid_parse(hc_str(&r, "id"), id) == 0);
    hc_free(&r);
    if (!ok)
        return -1;
    hc_jsonf(port, "POST", "/v1/auth/login", NULL, &r,
             "{\"username\":\"%s\",\"password\":\"password123\"}", username);
    ok = r.status == 200;
    if (ok)
        snprintf(access, STK_JWT_BUF, "%s", hc_str(&r, "access_token"));
    hc_free(&r);
    return ok ? 0 : -1;
}

/* ---- WebSocket ---------------------------------------------------------------------------- */

int ws_connect(int port, const char *path, const char *protocols, const char *extra_headers,
               ws_client_t **out, char *proto, size_t proto_cap)
{
    *out = NULL;
    if (proto && proto_cap)
        proto[0] = '\0';
    int fd = dial(port);
    if (fd < 0)
        return -1;
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    char key[32];
    sodium_bin2base64(key, sizeof key, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    char req[8192];
    int n =
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: %s\r\n%s%s%s%s\r\n",
                 path, key, protocols ? "Sec-WebSocket-Protocol: " : "", protocols ? protocols : "",
                 protocols ? "\r\n" : "", extra_headers ? extra_headers : "");
    if (stk_test_send_all(fd, req, (size_t)n) != 0) {
        close(fd);
        return -1;
    }
    ws_client_t *c = calloc(1, sizeof(*c));
    c->fd = fd;
    char *sep = NULL;
    while (!sep) {
        if (c->len == sizeof c->buf) {
            ws_free(c);
            return -1;
        }
        ssize_t k = recv(fd, c->buf + c->len, sizeof c->buf - c->len - 1, 0);
        if (k <= 0) {
            ws_free(c);
            return -1;
        }
        c->len += (size_t)k;
        c->buf[c->len] = 0;
        sep = strstr((char *)c->buf, "\r\n\r\n");
    }
    int status = -1;
    sscanf((char *)c->buf, "HTTP/1.%*d %d", &status);
    size_t hl = (size_t)(sep + 4 - (char *)c->buf);
    char headers[8192];
    size_t cp = hl < sizeof headers ? hl : sizeof headers - 1;
    memcpy(headers, c->buf, cp);
    headers[cp] = '\0';
    memmove(c->buf, c->buf + hl, c->len - hl);
    c->len -= hl;
    if (status != 101) {
        ws_free(c);
        return status;
    }
    char want[29], got[64];
    stk_ws_accept_key(key, want);
    if (!stk_test_http_header(headers, "Sec-WebSocket-Accept", got, sizeof got) ||
        strcmp(got, want) != 0) {
        ws_free(c);
        return -1;
    }
    if (proto && proto_cap)
        stk_test_http_header(headers, "Sec-WebSocket-Protocol", proto, proto_cap);
    *out = c;
    return 101;
}

int ws_send(ws_client_t *c, int opcode, const void *data, size_t len)
{
    uint8_t *f = malloc(len + STK_TEST_WS_HEAD_MAX);
    uint8_t mask[4];
    randombytes_buf(mask, 4);
    size_t n = stk_test_ws_frame(f, true, opcode, mask, data, len);
    int rc = stk_test_send_all(c->fd, f, n);
    free(f);
    return rc;
}

int ws_send_text(ws_client_t *c, const char *text)
{
    return ws_send(c, 1, text, strlen(text));
}

static int fill(ws_client_t *c, size_t need)
{
    while (c->len < need) {
        if (need > sizeof c->buf)
            return -1;
        ssize_t k = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c->len += (size_t)k;
    }
    return 0;
}

int ws_recv(ws_client_t *c, int *opcode, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (fill(c, 2) != 0)
        return -1;
    int op = c->buf[0] & 0x0f;
    uint64_t n = c->buf[1] & 0x7f;
    size_t h = 2;
    if (n == 126) {
        if (fill(c, 4) != 0)
            return -1;
        n = ((uint64_t)c->buf[2] << 8) | c->buf[3];
        h = 4;
    } else if (n == 127) {
        if (fill(c, 10) != 0)
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | c->buf[2 + i];
        h = 10;
    }
    if (c->buf[1] & 0x80)
        return -1; /* servers never mask */
    uint8_t *out = malloc((size_t)n + 1);
    size_t copied = 0;
    /* Large payloads are streamed through the buffer. */
    size_t avail = c->len > h ? c->len - h : 0;
    size_t take = avail < n ? avail : (size_t)n;
    memcpy(out, c->buf + h, take);
    copied = take;
    memmove(c->buf, c->buf + h + take, c->len - h - take);
    c->len -= h + take;
    while (copied < n) {
        ssize_t k = recv(c->fd, out + copied, (size_t)n - copied, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            free(out);
            return -1;
        }
        copied += (size_t)k;
    }
    out[n] = 0;
    *opcode = op;
    *data = out;
    *len = (size_t)n;
    return 0;
}

json_t *ws_recv_json(ws_client_t *c)
{
    for (;;) {
        int op;
        uint8_t *d;
        size_t n;
        if (ws_recv(c, &op, &d, &n) != 0)
            return NULL;
        if (op == 9) {
            ws_send(c, 10, d, n);
            free(d);
            continue;
        }
        if (op == 1 || op == 2) {
            json_t *j = json_loadb((const char *)d, n, 0, NULL);
            free(d);
            return j;
        }
        free(d);
        if (op == 8)
            return NULL;
    }
}

int ws_wait_close(ws_client_t *c)
{
    for (;;) {
        int op;
        uint8_t *d;
        size_t n;
        if (ws_recv(c, &op, &d, &n) != 0)
            return -1;
        if (op == 8) {
            int code = n >= 2 ? (d[0] << 8) | d[1] : 1005;
            free(d);
            return code;
        }
        free(d);
    }
}

int ws_close(ws_client_t *c, int code)
{
    uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    if (ws_send(c, 8, p, 2) != 0)
        return -1;
    return ws_wait_close(c);
}

void ws_free(ws_client_t *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c);
}
