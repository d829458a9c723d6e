/* tests/net/test_http.c — HTTP/1.1 behaviour of net/ over real sockets on 127.0.0.1. */
#include "testsrv.h"

#include "core/error.h"

#include <uv.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static testsrv_t S;

static void setup(void)
{
    cr_assert_eq(testsrv_start(&S, NULL), 0);
}

static void teardown(void)
{
    testsrv_stop(&S);
}

TestSuite(http, .init = setup, .fini = teardown);

static tconn_t *conn(void)
{
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    return c;
}

static void expect(tconn_t *c, int status, const char *body, bool head_only)
{
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, head_only), 0, "no response");
    cr_expect_eq(r.status, status, "status %d, want %d", r.status, status);
    if (body)
        cr_expect_str_eq((const char *)r.body, body);
    tresp_free(&r);
}

Test(http, get_healthz_answers_200_ok)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq((const char *)r.body, "ok\n");
    char ct[64];
    cr_expect(tresp_header(&r, "Content-Type", ct, sizeof(ct)));
    cr_expect_str_eq(ct, "text/plain");
    char date[64];
    cr_expect(tresp_header(&r, "Date", date, sizeof(date)));
    cr_expect(strlen(date) == 29 && strcmp(date + 25, " GMT") == 0, "Date: %s", date);
    tresp_free(&r);
    tc_close(c);
}

Test(http, post_echo_returns_the_body)
{
    tconn_t *c = conn();
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
    expect(c, 200, "hello world", false);
    tc_close(c);
}

Test(http, keep_alive_serves_two_requests_on_one_socket)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(c, 200, "ok\n", false);
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    expect(c, 200, "abc", false);
    tc_close(c);
}

Test(http, pipelined_responses_keep_request_order_behind_a_slow_handler)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                   "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthird"
                   "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(c, 200, "slow", false);
    expect(c, 200, "ok\n", false);
    expect(c, 200, "third", false);
    expect(c, 200, "slow", false);
    tc_close(c);
}

Test(http, head_sends_headers_and_length_without_body)
{
    tconn_t *c = conn();
    tc_send_str(c, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, true), 0);
    cr_expect_eq(r.status, 200);
    char cl[32];
    cr_expect(tresp_header(&r, "Content-Length", cl, sizeof(cl)));
    cr_expect_str_eq(cl, "3");
    tresp_free(&r);
    /* The next response starts right after the head: no body bytes were sent. */
    expect(c, 200, "ok\n", false);
    tc_close(c);
}

static json_t *problem(tconn_t *c, int status)
{
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, status);
    char ct[64];
    cr_expect(tresp_header(&r, "Content-Type", ct, sizeof(ct)));
    cr_expect_str_eq(ct, "application/problem+json");
    json_error_t err;
    json_t *j = json_loadb((const char *)r.body, r.body_len, 0, &err);
    cr_assert_not_null(j, "body is not JSON: %s", r.body);
    tresp_free(&r);
    cr_expect_eq(json_integer_value(json_object_get(j, "status")), status);
    cr_expect_str_eq(json_string_value(json_object_get(j, "type")), "about:blank");
    cr_expect(json_is_string(json_object_get(j, "title")));
    cr_expect(json_is_string(json_object_get(j, "detail")));
    return j;
}

Test(http, unknown_path_is_404_problem_json)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    json_t *j = problem(c, 404);
    cr_expect_str_eq(json_string_value(json_object_get(j, "title")), "Not Found");
    json_decref(j);
    /* The connection stays usable after a 404. */
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(c, 200, "ok\n", false);
    tc_close(c);
}

Test(http, wrong_method_is_405_problem_json_with_allow)
{
    tconn_t *c = conn();
    tc_send_str(c, "PUT /items/7 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 405);
    char allow[128];
    cr_expect(tresp_header(&r, "Allow", allow, sizeof(allow)));
    cr_expect(strstr(allow, "GET") != NULL);
    cr_expect(strstr(allow, "DELETE") != NULL);
    json_t *j = json_loadb((const char *)r.body, r.body_len, 0, NULL);
    cr_assert_not_null(j);
    cr_expect_eq(json_integer_value(json_object_get(j, "status")), 405);
    cr_expect_str_eq(json_string_value(json_object_get(j, "title")), "Method Not Allowed");
    json_decref(j);
    tresp_free(&r);
    tc_close(c);
}

Test(http, path_parameters_reach_the_handler)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /items/abc-42?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(c, 200, "{\"id\":\"abc-42\"}", false);
    tc_close(c);
}

Test(http, connection_close_is_honoured)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    char v[32];
    cr_expect(tresp_header(&r, "Connection", v, sizeof(v)));
    cr_expect_str_eq(v, "close");
    tresp_free(&r);
    cr_expect(tc_wait_closed(c, 5000), "server kept the connection open");
    tc_close(c);
}

Test(http, http10_without_keep_alive_closes)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.0\r\n\r\n");
    expect(c, 200, "ok\n", false);
    cr_expect(tc_wait_closed(c, 5000));
    tc_close(c);
}

Test(http, chunked_request_body_is_reassembled)
{
    tconn_t *c = conn();
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n");
    tc_send_str(c, "6\r\n world\r\n0\r\n\r\n");
    expect(c, 200, "hello world", false);
    tc_close(c);
}

Test(http, websocket_route_without_upgrade_is_426)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
    json_t *j = problem(c, 426);
    json_decref(j);
    tc_close(c);
}

Test(http, metrics_count_requests_and_connections)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(c, 200, "ok\n", false);
    stk_server_metrics_t m;
    testsrv_metrics(&S, &m);
    cr_expect_geq(m.requests, 1);
    cr_expect_geq(m.responses[2], 1);
    cr_expect_geq(m.connections_total, 1);
    cr_expect_geq(m.bytes_in, 30);
    tc_close(c);
    /* The on_response hook saw it (read on the loop thread's behalf after the stop). */
    testsrv_stop(&S);
    cr_expect_geq(S.responses_seen, 1);
    cr_expect_eq(S.last_status_seen, 200);
    cr_assert_eq(testsrv_start(&S, NULL), 0); /* the fixture stops it again */
}

Test(http, streamed_response_is_chunked_and_keeps_pipeline_order)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /stream?n=4 HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    char te[32];
    cr_expect(tresp_header(&r, "Transfer-Encoding", te, sizeof(te)));
    cr_expect_str_eq(te, "chunked");
    cr_expect_str_eq((const char *)r.body, "line 0\nline 1\nline 2\nline 3\n");
    tresp_free(&r);
    expect(c, 200, "ok\n", false);
    tc_close(c);
}

Test(http, big_stream_survives_back_pressure_intact)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /stream-big HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(200000); /* let the server hit its buffer limit before we read */
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_assert_eq(r.body_len, 8u * 1024u * 1024u);
    bool ok = true;
    for (size_t i = 0; i < r.body_len && ok; i += 64 * 1024)
        ok = r.body[i] == 'a' + (int)((i / (64 * 1024)) % 26) && r.body[i + 65535] == r.body[i];
    cr_expect(ok, "stream content out of order or corrupted");
    tresp_free(&r);
    tc_close(c);
}

Test(http, head_of_a_streamed_response_sends_no_body)
{
    tconn_t *c = conn();
    tc_send_str(c, "HEAD /stream?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(c, 200, NULL, true);
    expect(c, 200, "ok\n", false);
    tc_close(c);
}

Test(http, streamed_response_to_http10_is_raw_and_closes)
{
    tconn_t *c = conn();
    tc_send_str(c, "GET /stream?n=2 HTTP/1.0\r\n\r\n");
    uint8_t all[256];
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(c->fd, all + n, sizeof(all) - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    all[n] = 0;
    const char *body = strstr((const char *)all, "\r\n\r\n");
    cr_assert_not_null(body, "no response");
    cr_expect(strstr((const char *)all, "Transfer-Encoding") == NULL);
    cr_expect_str_eq(body + 4, "line 0\nline 1\n");
    tc_close(c);
}

Test(http, expect_100_continue_gets_an_interim_response)
{
    tconn_t *c = conn();
    tc_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                   "Expect: 100-continue\r\n\r\n");
    expect(c, 100, NULL, true);
    tc_send_str(c, "body");
    expect(c, 200, "body", false);
    tc_close(c);
}

static void *stopper(void *arg)
{
    (void)arg;
    testsrv_stop(&S);
    return NULL;
}

/* Its own server (no suite fixture): the test stops it itself. */
Test(http_stop, graceful_stop_finishes_the_in_flight_response)
{
    cr_assert_eq(testsrv_start(&S, NULL), 0);
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    tc_send_str(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    /* Make sure the request reached its handler before stopping. */
    for (int i = 0; i < 500; i++) {
        stk_server_metrics_t m;
        testsrv_metrics(&S, &m);
        if (m.requests >= 1)
            break;
        usleep(2000);
    }
    pthread_t th;
    pthread_create(&th, NULL, stopper, NULL);
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0, "in-flight response lost on stop");
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq((const char *)r.body, "slow");
    char v[32];
    cr_expect(tresp_header(&r, "Connection", v, sizeof(v)));
    cr_expect_str_eq(v, "close");
    tresp_free(&r);
    cr_expect(tc_wait_closed(c, 5000));
    tc_close(c);
    pthread_join(th, NULL);
}

Test(query, query_values_are_percent_decoded)
{
    char v[32];
    cr_expect_eq(stk_http_query_get("a=1&access_token=x%2Fy+z&b", "access_token", v, sizeof(v)), 0);
    cr_expect_str_eq(v, "x/y z");
    cr_expect_eq(stk_http_query_get("a=1&b", "b", v, sizeof(v)), 0);
    cr_expect_str_eq(v, "");
    cr_expect_eq(stk_http_query_get("a=1", "c", v, sizeof(v)), STK_ENOTFOUND);
    cr_expect_eq(stk_http_query_get("a=%zz", "a", v, sizeof(v)), STK_EDECODE);
    cr_expect_eq(stk_http_query_get("a=%00", "a", v, sizeof(v)), STK_EDECODE);
    cr_expect_eq(stk_http_query_get("a=12345", "a", v, 4), STK_ETOOBIG);
}

/* The connection-less parser: requests split at every byte boundary parse the same. */
Test(parser, byte_by_byte_feeding_yields_the_same_requests)
{
    const char *in =
        "POST /echo?a=1 HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nContent-Length: 3\r\n\r\nabc"
        "GET /v1/x HTTP/1.1\r\nHost: y\r\nTransfer-Encoding: chunked\r\n\r\n"
        "2\r\nhi\r\n0\r\n\r\n";
    stk_http_parser_t *p;
    cr_assert_eq(stk_http_parser_create(NULL, &p), 0);
    stk_http_req_t *got[2] = {NULL, NULL};
    int n = 0;
    size_t len = strlen(in);
    for (size_t off = 0; off < len;) {
        size_t used;
        stk_http_req_t *req;
        int status;
        cr_assert_eq(stk_http_parser_feed(p, (const uint8_t *)in + off, 1, &used, &req, &status),
                     0);
        off += used;
        if (req) {
            cr_assert_lt(n, 2);
            got[n++] = req;
        }
        cr_assert(used == 1 || req, "a byte was neither used nor ended a request");
    }
    cr_assert_eq(n, 2);
    cr_expect_eq(got[0]->method, STK_HTTP_POST);
    cr_expect_str_eq(got[0]->path, "/echo");
    cr_expect_str_eq(got[0]->query, "a=1");
    cr_expect_str_eq(stk_http_req_header(got[0], "host"), "x");
    cr_expect_str_eq(stk_http_req_header(got[0], "X-Empty"), "");
    cr_expect_eq(got[0]->body_len, 3);
    cr_expect_str_eq((const char *)got[0]->body, "abc");
    cr_expect_str_eq(got[1]->path, "/v1/x");
    cr_expect_str_eq((const char *)got[1]->body, "hi");
    cr_expect(!stk_http_parser_busy(p));
    stk_http_req_free(got[0]);
    stk_http_req_free(got[1]);
    stk_http_parser_destroy(p);
}

Test(parser, limits_map_to_431_and_413)
{
    stk_http_limits_t lim = {.max_header_bytes = 64, .max_body_bytes = 4};
    stk_http_parser_t *p;
    size_t used;
    stk_http_req_t *req;
    int status;
    const char *big =
        "GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    cr_assert_eq(stk_http_parser_create(&lim, &p), 0);
    cr_expect_eq(stk_http_parser_feed(p, (const uint8_t *)big, strlen(big), &used, &req, &status),
                 STK_ETOOBIG);
    cr_expect_eq(status, 431);
    cr_expect_eq(stk_http_parser_feed(p, (const uint8_t *)"x", 1, &used, &req, &status),
                 STK_ESTATE);
    stk_http_parser_destroy(p);
    const char *body = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    cr_assert_eq(stk_http_parser_create(&lim, &p), 0);
    cr_expect_eq(stk_http_parser_feed(p, (const uint8_t *)body, strlen(body), &used, &req, &status),
                 STK_ETOOBIG);
    cr_expect_eq(status, 413);
    stk_http_parser_destroy(p);
}

static void noop_handler(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    (void)arg;
    stk_http_res_send(res, 204, NULL, NULL, 0);
}

static void count_stop(stk_server_t *srv, void *arg)
{
    (void)srv;
    ++*(int *)arg;
}

Test(lifecycle, create_listen_destroy_without_running_frees_everything)
{
    stk_server_config_t cfg = {.host = "127.0.0.1", .handler = noop_handler};
    stk_server_t *a, *b;
    cr_assert_eq(stk_server_create(NULL, &cfg, &a), 0);
    cr_assert_eq(stk_server_listen(a), 0);
    cr_expect_gt(stk_server_port(a), 0);
    cr_expect_eq(stk_server_listen(a), STK_ESTATE);
    /* A second server on the same port fails cleanly. */
    cfg.port = stk_server_port(a);
    cr_assert_eq(stk_server_create(NULL, &cfg, &b), 0);
    cr_expect_eq(stk_server_listen(b), STK_EIO);
    cr_expect_eq(stk_server_port(b), -1);
    stk_server_destroy(b);
    stk_server_destroy(a);
}

Test(lifecycle, stop_before_listen_completes_from_the_loop)
{
    stk_server_config_t cfg = {.host = "127.0.0.1", .handler = noop_handler};
    stk_server_t *s;
    int stopped = 0;
    cr_assert_eq(stk_server_create(NULL, &cfg, &s), 0);
    cr_assert_eq(stk_server_stop(s, count_stop, &stopped), 0);
    cr_expect_eq(stopped, 0, "stopped_cb ran inside stk_server_stop");
    cr_expect_eq(stk_server_stop(s, count_stop, &stopped), STK_ESTATE);
    cr_assert_eq(stk_server_run(s), 0);
    cr_expect_eq(stopped, 1);
    stk_server_destroy(s);
}

Test(lifecycle, bad_config_is_refused)
{
    stk_server_config_t cfg = {.host = "127.0.0.1"};
    stk_server_t *s;
    cr_expect_eq(stk_server_create(NULL, &cfg, &s), STK_EINVAL);
    cfg.handler = noop_handler;
    cfg.host = "not an address";
    cr_assert_eq(stk_server_create(NULL, &cfg, &s), 0);
    cr_expect_eq(stk_server_listen(s), STK_EINVAL);
    stk_server_destroy(s);
}

static void post_count(void *arg)
{
    ++*(int *)arg;
}

Test(lifecycle, posted_functions_run_exactly_once_even_at_destroy)
{
    stk_server_config_t cfg = {.host = "127.0.0.1", .handler = noop_handler};
    stk_server_t *s;
    int n = 0;
    cr_assert_eq(stk_server_create(NULL, &cfg, &s), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(stk_server_post(s, post_count, &n), 0);
    stk_server_destroy(s); /* never ran the loop: destroy runs them */
    cr_expect_eq(n, 5);
}

static void stop_then_nothing(stk_server_t *srv, void *arg)
{
    (void)srv;
    ++*(int *)arg;
}

Test(lifecycle, server_on_the_callers_loop_releases_every_handle)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    stk_server_config_t cfg = {.host = "127.0.0.1", .handler = noop_handler};
    stk_server_t *s;
    int stopped = 0;
    cr_assert_eq(stk_server_create(&loop, &cfg, &s), 0);
    cr_assert_eq(stk_server_listen(s), 0);
    cr_expect_eq(stk_server_run(s), STK_ESTATE); /* not its loop */
    cr_assert_eq(stk_server_stop(s, stop_then_nothing, &stopped), 0);
    while (!stopped)
        uv_run(&loop, UV_RUN_ONCE);
    stk_server_destroy(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_expect_eq(uv_loop_close(&loop), 0, "a handle was left open");
}
