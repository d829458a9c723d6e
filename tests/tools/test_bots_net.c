/* tests/tools/test_bots_net.c — the load generator's HTTP client (tools/bots_net.h) against a
 * canned libuv server on the same loop: answers delivered without waiting for EOF,
 * chunked bodies decoded, Retry-After read, size limits, refused connections, URL parsing.
 * (The WebSocket side is exercised end to end by test_bots.sh against the real server.)
 */
#include <criterion/criterion.h>

#include <string.h>

#include <uv.h>

#include "core/error.h"
#include "tools/bots_net.h"

typedef struct canned {
    uv_tcp_t server;
    uv_tcp_t conn;
    bool accepted;
    const char *answer; /* written once the request head is in */
    bool close_after;   /* close the connection after answering (else keep it open) */
    char head[4096];
    size_t head_len;
} canned_t;

typedef struct result {
    int calls;
    int status;
    char body[256];
    size_t len;
    int retry_after;
} result_t;

static void canned_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
    (void)h;
    static char buf[4096];
    (void)n;
    b->base = buf;
    b->len = sizeof buf;
}

static void canned_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void canned_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    canned_t *c = s->data;
    if (n <= 0)
        return;
    size_t k =
        (size_t)n < sizeof c->head - 1 - c->head_len ? (size_t)n : sizeof c->head - 1 - c->head_len;
    memcpy(c->head + c->head_len, b->base, k);
    c->head_len += k;
    c->head[c->head_len] = '\0';
    if (!strstr(c->head, "\r\n\r\n"))
        return;
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t out = uv_buf_init((char *)c->answer, (unsigned)strlen(c->answer));
    uv_write(w, s, &out, 1, canned_written);
    if (c->close_after)
        uv_close((uv_handle_t *)s, NULL);
}

static void canned_accept(uv_stream_t *srv, int status)
{
    canned_t *c = srv->data;
    cr_assert_eq(status, 0);
    cr_assert(!c->accepted, "one connection per test");
    uv_tcp_init(srv->loop, &c->conn);
    c->conn.data = c;
    cr_assert_eq(uv_accept(srv, (uv_stream_t *)&c->conn), 0);
    c->accepted = true;
    uv_read_start((uv_stream_t *)&c->conn, canned_alloc, canned_read);
}

static int canned_start(uv_loop_t *loop, canned_t *c)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &c->server);
    c->server.data = c;
    cr_assert_eq(uv_tcp_bind(&c->server, (const struct sockaddr *)&a, 0), 0);
    cr_assert_eq(uv_listen((uv_stream_t *)&c->server, 8, canned_accept), 0);
    struct sockaddr_in b;
    int len = sizeof b;
    uv_tcp_getsockname(&c->server, (struct sockaddr *)&b, &len);
    return ntohs(b.sin_port);
}

static void got(void *ud, int status, const char *body, size_t len, int retry_after)
{
    result_t *r = ud;
    r->calls++;
    r->status = status;
    r->len = len < sizeof r->body - 1 ? len : sizeof r->body - 1;
    memcpy(r->body, body, r->len);
    r->body[r->len] = '\0';
    r->retry_after = retry_after;
}

/* One request against a canned answer; returns the result after the loop drained. */
static result_t exchange(const char *answer, bool close_after, size_t max_body, canned_t *seen)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    canned_t c = {.answer = answer, .close_after = close_after};
    int port = canned_start(&loop, &c);
    stk_bnet_t *n = NULL;
    cr_assert_eq(stk_bnet_create(&loop, &n), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    stk_bnet_target_t t;
    cr_assert_eq(stk_bnet_target_parse(url, &t), 0);
    result_t r = {0};
    cr_assert_eq(stk_bnet_http(n, &t, "POST", "/v1/things", "tok", "{}", 2, max_body, got, &r), 0);
    while (r.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    if (c.accepted && !uv_is_closing((uv_handle_t *)&c.conn))
        uv_close((uv_handle_t *)&c.conn, NULL);
    uv_close((uv_handle_t *)&c.server, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0, "every handle was closed");
    stk_bnet_destroy(n);
    if (seen)
        *seen = c;
    return r;
}

Test(bots_net, answer_with_content_length_is_delivered_without_waiting_for_eof)
{
    canned_t c;
    result_t r =
        exchange("HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello", false, 1024, &c);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, 201);
    cr_assert_str_eq(r.body, "hello");
    cr_assert(strstr(c.head, "POST /v1/things HTTP/1.1\r\n"), "%s", c.head);
    cr_assert(strstr(c.head, "Authorization: Bearer tok\r\n"));
    cr_assert(strstr(c.head, "Content-Length: 2\r\n"));
}

Test(bots_net, chunked_answer_is_decoded)
{
    result_t r = exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
                          false, 1024, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello world");
}

Test(bots_net, answer_read_to_eof_when_it_has_no_length)
{
    result_t r = exchange("HTTP/1.1 200 OK\r\n\r\nuntil the end", true, 1024, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "until the end");
}

Test(bots_net, retry_after_is_reported_with_429)
{
    result_t r = exchange("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: "
                          "0\r\n\r\n",
                          false, 1024, NULL);
    cr_assert_eq(r.status, 429);
    cr_assert_eq(r.retry_after, 7);
}

Test(bots_net, body_over_the_limit_is_refused)
{
    static char big[40000];
    static char answer[40100];
    memset(big, 'x', sizeof big - 1);
    snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\n\r\n%s", big);
    result_t r = exchange(answer, true, 100, NULL);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, STK_ETOOBIG);
}

Test(bots_net, garbage_answer_is_a_decode_error)
{
    result_t r = exchange("SSH-2.0-OpenSSH\r\n\r\n", true, 1024, NULL);
    cr_assert_eq(r.status, STK_EDECODE);
}

Test(bots_net, refused_connection_runs_the_callback_once_with_an_error)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    stk_bnet_t *n = NULL;
    cr_assert_eq(stk_bnet_create(&loop, &n), 0);
    /* A port that was just free: bind, read the number, close. */
    canned_t c = {0};
    int port = canned_start(&loop, &c);
    uv_close((uv_handle_t *)&c.server, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    stk_bnet_target_t t;
    cr_assert_eq(stk_bnet_target_parse(url, &t), 0);
    result_t r = {0};
    cr_assert_eq(stk_bnet_http(n, &t, "GET", "/", NULL, NULL, 0, 1024, got, &r), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(r.calls, 1);
    cr_assert_lt(r.status, 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    stk_bnet_destroy(n);
}

Test(bots_net, urls_are_parsed_strictly)
{
    stk_bnet_target_t t;
    cr_assert_eq(stk_bnet_target_parse("http://127.0.0.1:8080", &t), 0);
    cr_assert_str_eq(t.host, "127.0.0.1:8080");
    cr_assert_eq(t.src.ss_family, AF_UNSPEC);
    cr_assert_eq(stk_bnet_target_parse("localhost:9", &t), 0);
    cr_assert_eq(stk_bnet_target_parse("http://127.0.0.1:99999", &t), STK_EINVAL);
    cr_assert_eq(stk_bnet_target_parse("http://example.com:80", &t), STK_EINVAL);
    cr_assert_eq(stk_bnet_target_parse("http://:80", &t), STK_EINVAL);
    cr_assert_eq(stk_bnet_target_parse(NULL, &t), STK_EINVAL);
}
