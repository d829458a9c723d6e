/* tests/net/test_hostile.c — hostile clients: malformed requests, limits, slowloris, too
 * many connections, a WebSocket client that never reads. After each, the server must
 * still answer /healthz. Timeouts are configured short; tests assert THAT a connection
 * closes (within a generous bound), never how fast. */
#include "testsrv.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static testsrv_t S;

static stk_server_limits_t small_limits(void)
{
    stk_server_limits_t l;
    stk_server_limits_default(&l);
    l.max_header_bytes = 1024;
    l.max_body_bytes = 1024;
    l.request_timeout_ms = 300;
    l.close_timeout_ms = 300;
    l.max_connections = 8;
    l.max_pipelined = 2;
    l.ws_send_queue_bytes = 256 * 1024;
    return l;
}

static void start(void)
{
    stk_server_limits_t l = small_limits();
    cr_assert_eq(testsrv_start(&S, &l), 0);
}

static tconn_t *conn(void)
{
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    return c;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The server is alive: a fresh connection gets 200 from /healthz. */
static void assert_healthy(void)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0, "server did not answer /healthz");
    cr_assert_eq(r.status, 200);
    tresp_free(&r);
    tc_close(c);
}

/* Reads a problem+json response with `status`, then expects the connection closed. */
static void expect_problem_and_close(tconn_t *c, int status)
{
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0, "no response");
    cr_expect_eq(r.status, status, "status %d, want %d", r.status, status);
    char v[64];
    cr_expect(tresp_header(&r, "Content-Type", v, sizeof(v)));
    cr_expect_str_eq(v, "application/problem+json");
    json_t *j = json_loadb((const char *)r.body, r.body_len, 0, NULL);
    cr_expect_not_null(j, "problem body is not JSON");
    cr_expect_eq(json_integer_value(json_object_get(j, "status")), status);
    json_decref(j);
    cr_expect(tresp_header(&r, "Connection", v, sizeof(v)));
    cr_expect_str_eq(v, "close");
    tresp_free(&r);
    cr_expect(tc_wait_closed(c, 5000), "connection left open");
}

Test(hostile, garbage_request_line_is_400_and_closed)
{
    start();
    tconn_t *c = conn();
    tc_send_str(c, "HELLO THERE\r\n\r\n");
    expect_problem_and_close(c, 400);
    tc_close(c);
    c = conn();
    tc_send(c, "\x00\xff\x16\x03\x01\x02", 6); /* binary, e.g. TLS to a plain port */
    expect_problem_and_close(c, 400);
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, conflicting_or_bad_lengths_and_hosts_are_400)
{
    start();
    tconn_t *c = conn();
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
    expect_problem_and_close(c, 400);
    tc_close(c);
    c = conn();
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    expect_problem_and_close(c, 400);
    tc_close(c);
    c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\n\r\n"); /* HTTP/1.1 needs one Host */
    expect_problem_and_close(c, 400);
    tc_close(c);
    c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    expect_problem_and_close(c, 400);
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, header_section_over_limit_is_431)
{
    start();
    tconn_t *c = conn();
    char big[2048];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    tc_send_str(c, big);
    tc_send_str(c, "\r\n\r\n");
    expect_problem_and_close(c, 431);
    tc_close(c);
    /* Many small header lines also count. */
    c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++)
        tc_send_str(c, "X-A: 1\r\n");
    tc_send_str(c, "\r\n");
    expect_problem_and_close(c, 431);
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, body_over_limit_by_content_length_is_413)
{
    start();
    tconn_t *c = conn();
    /* Refused on the declaration, before any body byte. */
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    expect_problem_and_close(c, 413);
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, body_over_limit_by_chunked_growth_is_413)
{
    start();
    tconn_t *c = conn();
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[600];
    memset(chunk, 'b', sizeof(chunk));
    for (int i = 0; i < 4; i++) {
        tc_send_str(c, "258\r\n"); /* 600 */
        tc_send(c, chunk, sizeof(chunk));
        tc_send_str(c, "\r\n");
    }
    expect_problem_and_close(c, 413);
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, slowloris_gets_408_and_is_closed)
{
    start();
    tconn_t *c = conn();
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    tc_send_str(c, req);
    /* Trickle one byte every 20 ms for up to 5 s, until the server answers. */
    uint64_t deadline = now_ms() + 5000;
    bool answered = false;
    while (now_ms() < deadline) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            answered = true;
            break;
        }
        if (tc_send(c, "a", 1) != 0)
            break;
    }
    cr_assert(answered, "server never answered a trickling request");
    expect_problem_and_close(c, 408);
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, idle_keep_alive_connection_is_closed)
{
    stk_server_limits_t l = small_limits();
    l.idle_timeout_ms = 200;
    cr_assert_eq(testsrv_start(&S, &l), 0);
    tconn_t *c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    tresp_free(&r);
    cr_expect(tc_wait_closed(c, 5000), "idle connection left open");
    tc_close(c);
    /* Bare CRLFs between requests do not keep a connection alive either. */
    c = conn();
    bool closed = false;
    for (int i = 0; i < 250 && !closed; i++) {
        if (tc_send_str(c, "\r\n") != 0)
            closed = true;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0)
            closed = tc_wait_closed(c, 1000);
    }
    cr_expect(closed, "CRLF trickle kept the connection open");
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, pipelined_burst_beyond_the_queue_limit_is_served_in_order)
{
    start(); /* max_pipelined = 2 */
    tconn_t *c = conn();
    char burst[4096] = "";
    for (int i = 0; i < 10; i++) {
        char one[128];
        snprintf(one, sizeof(one),
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n%02d", i);
        strcat(burst, one);
    }
    tc_send_str(c, burst);
    for (int i = 0; i < 10; i++) {
        tresp_t r;
        cr_assert_eq(tc_read_response(c, &r, false), 0, "response %d missing", i);
        char want[3];
        snprintf(want, sizeof(want), "%02d", i);
        cr_expect_str_eq((const char *)r.body, want);
        tresp_free(&r);
    }
    tc_close(c);
    testsrv_stop(&S);
}

Test(hostile, connections_beyond_the_limit_are_refused_and_the_server_recovers)
{
    start(); /* max_connections = 8 */
    tconn_t *held[8];
    for (int i = 0; i < 8; i++) {
        held[i] = conn();
        tc_send_str(held[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        tresp_t r;
        cr_assert_eq(tc_read_response(held[i], &r, false), 0);
        tresp_free(&r);
    }
    tconn_t *extra = conn(); /* the kernel accepts; the server refuses */
    tresp_t r;
    if (tc_read_response(extra, &r, false) == 0) {
        cr_expect_eq(r.status, 503);
        tresp_free(&r);
    }
    cr_expect(tc_wait_closed(extra, 5000), "connection over the limit was kept");
    tc_close(extra);
    stk_server_metrics_t m;
    testsrv_metrics(&S, &m);
    cr_expect_geq(m.connections_rejected, 1);
    for (int i = 0; i < 8; i++)
        tc_close(held[i]);
    /* The server notices the closes asynchronously: retry for a bounded time. */
    bool ok = false;
    for (uint64_t deadline = now_ms() + 5000; !ok && now_ms() < deadline;) {
        tconn_t *c = conn();
        tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        if (tc_read_response(c, &r, false) == 0) {
            ok = r.status == 200;
            tresp_free(&r);
        }
        tc_close(c);
        if (!ok)
            usleep(20000);
    }
    cr_expect(ok, "server did not recover after connections were released");
    testsrv_stop(&S);
}

Test(hostile, http_client_that_never_reads_responses_is_cut)
{
    stk_server_limits_t l = small_limits();
    l.idle_timeout_ms = 300;
    cr_assert_eq(testsrv_start(&S, &l), 0);
    tconn_t *c = conn();
    /* 64 pipelined requests for 256 KiB each: 16 MiB of responses nobody reads. */
    for (int i = 0; i < 64; i++)
        if (tc_send_str(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") != 0)
            break;
    /* Not reading (reading would let the writes progress): poll the server's view. */
    stk_server_metrics_t m = {0};
    for (uint64_t deadline = now_ms() + 10000; now_ms() < deadline;) {
        testsrv_metrics(&S, &m);
        if (m.timeouts >= 1 && m.connections_open == 0)
            break;
        usleep(20000);
    }
    cr_expect_eq(m.connections_open, 0, "a non-reading client was kept");
    cr_expect_geq(m.timeouts, 1);
    cr_expect(tc_wait_closed(c, 10000));
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

static uint64_t ws_drops(void)
{
    stk_server_metrics_t m;
    testsrv_metrics(&S, &m);
    return m.ws_drops;
}

Test(hostile, websocket_client_that_never_reads_is_dropped_and_others_are_served)
{
    start(); /* ws_send_queue_bytes = 256 KiB */
    tconn_t *slow = conn();
    char proto[64];
    cr_assert_eq(tc_ws_handshake(slow, "/flood", NULL, proto, sizeof(proto)), 101);
    tc_ws_send_frame(slow, true, 1, "go", 2, false); /* server floods; we never read */
    tconn_t *fast = conn();
    cr_assert_eq(tc_ws_handshake(fast, "/ws", "stockade.v1.json", proto, sizeof(proto)), 101);
    bool dropped = false;
    for (uint64_t deadline = now_ms() + 20000; !dropped && now_ms() < deadline;) {
        tc_ws_send_frame(fast, true, 1, "ping?", 5, false);
        int op;
        bool fin;
        uint8_t *d;
        size_t n;
        cr_assert_eq(tc_ws_read_frame(fast, &op, &fin, &d, &n), 0, "fast client starved");
        cr_assert_eq(op, 1);
        cr_assert_eq(n, 5);
        free(d);
        dropped = ws_drops() >= 1;
        if (!dropped)
            usleep(10000);
    }
    cr_expect(dropped, "slow reader was never dropped");
    cr_expect(tc_wait_closed(slow, 10000), "slow reader's socket left open");
    tc_close(slow);
    tc_ws_send_frame(fast, true, 1, "after", 5, false);
    int op;
    bool fin;
    uint8_t *d;
    size_t n;
    cr_assert_eq(tc_ws_read_frame(fast, &op, &fin, &d, &n), 0);
    cr_expect_eq(n, 5);
    free(d);
    tc_close(fast);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, websocket_ping_flood_without_reading_pongs_is_dropped)
{
    start(); /* ws_send_queue_bytes = 256 KiB */
    tconn_t *c = conn();
    char proto[64];
    cr_assert_eq(tc_ws_handshake(c, "/ws", "stockade.v1.json", proto, sizeof(proto)), 101);
    char payload[125];
    memset(payload, 'p', sizeof(payload));
    /* Up to 64 MiB of pings, never reading a pong; the server must cut us off first. */
    for (int i = 0; i < 64 * 1024 * 1024 / 131; i++)
        if (tc_ws_send_frame(c, true, 9, payload, sizeof(payload), false) != 0)
            break;
    bool dropped = false;
    for (uint64_t deadline = now_ms() + 10000; !dropped && now_ms() < deadline;) {
        dropped = ws_drops() >= 1;
        if (!dropped)
            usleep(20000);
    }
    cr_expect(dropped, "ping flood was not dropped");
    cr_expect(tc_wait_closed(c, 10000));
    tc_close(c);
    assert_healthy();
    testsrv_stop(&S);
}

Test(hostile, client_vanishing_mid_request_and_mid_response_is_harmless)
{
    start();
    for (int i = 0; i < 24; i++) {
        tconn_t *c = conn();
        if (i % 4 == 2)
            tc_send_str(c, "GET /stream-big HTTP/1.1\r\nHost: x\r\n\r\n"); /* blocked */
        else if (i % 4 == 3)
            tc_send_str(c, "GET /stream?n=50 HTTP/1.1\r\nHost: x\r\n\r\n"); /* timer */
        else if (i % 2)
            tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
        else
            tc_send_str(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); /* handler still busy */
        tc_close(c);
    }
    usleep(400000); /* let the handlers complete on orphaned exchanges */
    assert_healthy();
    testsrv_stop(&S);
}
