/* tests/net/test_ws.c — RFC 6455 behaviour of net/ws over real sockets on 127.0.0.1. */
#include "testsrv.h"

#include "net/ws.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static testsrv_t S;

static void start(const stk_server_limits_t *l)
{
    cr_assert_eq(testsrv_start(&S, l), 0);
}

static tconn_t *ws_open(const char *path)
{
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    char proto[64];
    cr_assert_eq(tc_ws_handshake(c, path, "stockade.v1.json", proto, sizeof(proto)), 101);
    return c;
}

static void expect_frame(tconn_t *c, int opcode, const char *data, size_t len)
{
    int op;
    bool fin;
    uint8_t *d;
    size_t n;
    cr_assert_eq(tc_ws_read_frame(c, &op, &fin, &d, &n), 0, "no frame");
    cr_expect_eq(op, opcode, "opcode %d, want %d", op, opcode);
    cr_expect(fin);
    cr_expect_eq(n, len);
    cr_expect(n == len && memcmp(d, data, len) == 0);
    free(d);
}

/* RFC 6455 §1.3: "dGhlIHNhbXBsZSBub25jZQ==" → "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (checked against
 * Python's hashlib too; the brief's "s3pPLMBiTxaQ9kZxgOo0xmbJ+oo=" is not the RFC's value). */
Test(ws, accept_key_matches_the_rfc_example)
{
    char out[29];
    cr_assert_eq(stk_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    cr_expect_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws, handshake_answers_101_with_the_accept_key)
{
    start(NULL);
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    tc_send_str(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: stockade.v1.json\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 101);
    char v[64];
    cr_expect(tresp_header(&r, "Sec-WebSocket-Accept", v, sizeof(v)));
    cr_expect_str_eq(v, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    cr_expect(tresp_header(&r, "Upgrade", v, sizeof(v)));
    cr_expect_str_eq(v, "websocket");
    cr_expect(tresp_header(&r, "Connection", v, sizeof(v)));
    cr_expect_str_eq(v, "Upgrade");
    tresp_free(&r);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, subprotocol_follows_the_clients_preference_among_supported_ones)
{
    start(NULL);
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    char proto[64];
    cr_expect_eq(tc_ws_handshake(c, "/ws", "chat, stockade.v1.msgpack, stockade.v1.json", proto,
                                 sizeof(proto)),
                 101);
    cr_expect_str_eq(proto, "stockade.v1.msgpack");
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, no_common_subprotocol_is_400_with_a_field_error)
{
    start(NULL);
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    tc_send_str(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: chat\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 400);
    json_t *j = json_loadb((const char *)r.body, r.body_len, 0, NULL);
    cr_assert_not_null(j);
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    cr_assert_not_null(e);
    cr_expect_str_eq(json_string_value(json_object_get(e, "field")), "Sec-WebSocket-Protocol");
    cr_expect_str_eq(json_string_value(json_object_get(e, "code")), "unsupported");
    json_decref(j);
    tresp_free(&r);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, bad_version_is_426_and_bad_key_is_400)
{
    start(NULL);
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    tc_send_str(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
                   "Sec-WebSocket-Protocol: stockade.v1.json\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 426);
    char v[16];
    cr_expect(tresp_header(&r, "Sec-WebSocket-Version", v, sizeof(v)));
    cr_expect_str_eq(v, "13");
    tresp_free(&r);
    tc_close(c);
    c = tc_connect(S.port);
    cr_assert_not_null(c);
    tc_send_str(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: stockade.v1.json\r\n\r\n");
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 400);
    tresp_free(&r);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, echoes_text_and_binary_messages)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    tc_ws_send_frame(c, true, 1, "hello", 5, false);
    expect_frame(c, 1, "hello", 5);
    const uint8_t bin[] = {0, 1, 2, 255, 254};
    tc_ws_send_frame(c, true, 2, bin, sizeof(bin), false);
    expect_frame(c, 2, (const char *)bin, sizeof(bin));
    /* 70 KiB: the 64-bit length form. */
    size_t big = 70 * 1024;
    char *b = malloc(big);
    memset(b, 'x', big);
    tc_ws_send_frame(c, true, 2, b, big, false);
    expect_frame(c, 2, b, big);
    free(b);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, bytes_sent_right_after_the_handshake_are_not_lost)
{
    start(NULL);
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    /* Handshake and a first frame in one write. */
    uint8_t req[512];
    const char *h = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Protocol: stockade.v1.json\r\n\r\n";
    size_t hl = strlen(h);
    memcpy(req, h, hl);
    const uint8_t frame[] = {0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
    memcpy(req + hl, frame, sizeof(frame));
    tc_send(c, req, hl + sizeof(frame));
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 101);
    tresp_free(&r);
    expect_frame(c, 1, "hi", 2);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, upgrade_pipelined_behind_a_slow_request_waits_its_turn)
{
    start(NULL);
    tconn_t *c = tc_connect(S.port);
    cr_assert_not_null(c);
    tc_send_str(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: stockade.v1.json\r\n\r\n");
    tresp_t r;
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq((const char *)r.body, "slow");
    tresp_free(&r);
    cr_assert_eq(tc_read_response(c, &r, false), 0);
    cr_expect_eq(r.status, 101);
    tresp_free(&r);
    tc_ws_send_frame(c, true, 1, "after", 5, false);
    expect_frame(c, 1, "after", 5);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, fragmented_message_is_reassembled_with_a_ping_in_between)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    tc_ws_send_frame(c, false, 1, "hel", 3, false);
    tc_ws_send_frame(c, true, 9, "p", 1, false); /* control frames may interleave */
    tc_ws_send_frame(c, false, 0, "lo ", 3, false);
    tc_ws_send_frame(c, true, 0, "world", 5, false);
    expect_frame(c, 10, "p", 1);
    expect_frame(c, 1, "hello world", 11);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, ping_gets_a_pong_with_the_same_payload)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    tc_ws_send_frame(c, true, 9, "are you there", 13, false);
    expect_frame(c, 10, "are you there", 13);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, oversized_message_is_closed_with_1009)
{
    stk_server_limits_t l;
    stk_server_limits_default(&l);
    l.ws_max_message_bytes = 1024;
    start(&l);
    tconn_t *c = ws_open("/ws");
    char big[2000];
    memset(big, 'a', sizeof(big));
    tc_ws_send_frame(c, true, 2, big, sizeof(big), false);
    cr_expect_eq(tc_ws_read_close(c), 1009);
    tc_close(c);
    /* Growth by fragments counts too. */
    c = ws_open("/ws");
    tc_ws_send_frame(c, false, 2, big, 800, false);
    tc_ws_send_frame(c, true, 0, big, 800, false);
    cr_expect_eq(tc_ws_read_close(c), 1009);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, invalid_utf8_text_is_closed_with_1007)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    const uint8_t bad[] = {'o', 'k', 0xC0, 0xAF}; /* overlong '/' */
    tc_ws_send_frame(c, true, 1, bad, sizeof(bad), false);
    cr_expect_eq(tc_ws_read_close(c), 1007);
    cr_expect(tc_wait_closed(c, 5000));
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, unmasked_client_frame_is_a_protocol_error_1002)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    tc_ws_send_frame(c, true, 1, "hi", 2, true);
    cr_expect_eq(tc_ws_read_close(c), 1002);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, close_handshake_echoes_the_code_and_closes_tcp)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    const uint8_t payload[] = {0x03, 0xE8, 'b', 'y', 'e'}; /* 1000 */
    tc_ws_send_frame(c, true, 8, payload, sizeof(payload), false);
    cr_expect_eq(tc_ws_read_close(c), 1000);
    cr_expect(tc_wait_closed(c, 5000), "server kept TCP open after the close handshake");
    tc_close(c);
    testsrv_stop(&S);
}

/* stk_ws_close after sends in the same turn: wslay puts control frames ahead of queued
 * data, so the close must wait for the queue (the live hub's `end` was lost otherwise). */
Test(ws, messages_queued_before_a_close_are_delivered_first)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    tc_ws_send_frame(c, true, 1, "bye", 3, false);
    expect_frame(c, 1, "one", 3);
    expect_frame(c, 1, "two", 3);
    expect_frame(c, 1, "three", 5);
    cr_expect_eq(tc_ws_read_close(c), 4000);
    tc_close(c);
    testsrv_stop(&S);
}

static void *stopper(void *arg)
{
    (void)arg;
    testsrv_stop(&S);
    return NULL;
}

Test(ws, graceful_stop_sends_1001_going_away)
{
    start(NULL);
    tconn_t *c = ws_open("/ws");
    pthread_t th;
    pthread_create(&th, NULL, stopper, NULL);
    cr_expect_eq(tc_ws_read_close(c), 1001);
    const uint8_t payload[] = {0x03, 0xE9};
    tc_ws_send_frame(c, true, 8, payload, sizeof(payload), false);
    cr_expect(tc_wait_closed(c, 5000));
    tc_close(c);
    pthread_join(th, NULL);
}

Test(ws, silent_client_is_pinged_then_dropped)
{
    stk_server_limits_t l;
    stk_server_limits_default(&l);
    l.ws_ping_interval_ms = 100;
    l.ws_pong_timeout_ms = 200;
    start(&l);
    tconn_t *c = ws_open("/ws");
    int op;
    bool fin;
    uint8_t *d;
    size_t n;
    cr_assert_eq(tc_ws_read_frame(c, &op, &fin, &d, &n), 0);
    cr_expect_eq(op, 9, "expected a ping, got opcode %d", op);
    free(d);
    cr_expect(tc_wait_closed(c, 5000), "unanswered ping did not drop the client");
    stk_server_metrics_t m;
    testsrv_metrics(&S, &m);
    cr_expect_geq(m.ws_drops, 1);
    tc_close(c);
    testsrv_stop(&S);
}

Test(ws, answered_pings_keep_the_client)
{
    stk_server_limits_t l;
    stk_server_limits_default(&l);
    l.ws_ping_interval_ms = 100;
    l.ws_pong_timeout_ms = 200;
    start(&l);
    tconn_t *c = ws_open("/ws");
    for (int i = 0; i < 3; i++) {
        int op;
        bool fin;
        uint8_t *d;
        size_t n;
        cr_assert_eq(tc_ws_read_frame(c, &op, &fin, &d, &n), 0);
        cr_expect_eq(op, 9);
        tc_ws_send_frame(c, true, 10, d, n, false);
        free(d);
    }
    tc_ws_send_frame(c, true, 1, "still", 5, false);
    expect_frame(c, 1, "still", 5);
    tc_close(c);
    testsrv_stop(&S);
}
