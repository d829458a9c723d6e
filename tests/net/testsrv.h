/* tests/net/testsrv.h — an example server for the net/ tests, and a tiny blocking client.
 *
 * The server runs on its own loop in a thread: GET /healthz, POST /echo (returns the
 * body), GET /slow (answers after 50 ms from a timer), GET /items/{id} (JSON with the
 * captured id), GET /stats (the metrics as JSON), GET /big (256 KiB), GET /stream?n=K
 * (K chunked lines, 5 ms apart), GET /stream-big (8 MiB chunked, with back-pressure), WS /ws (echo;
 * subprotocols stockade.v1.json and stockade.v1.msgpack), WS /flood (on any message, sends 64 KiB
 * binary messages every millisecond until the server drops the client).
 * The client side: blocking sockets with 5 s receive timeouts, a buffered reader for HTTP
 * responses, and a masking WebSocket frame writer/reader.
 */
#ifndef STK_TESTS_NET_TESTSRV_H
#define STK_TESTS_NET_TESTSRV_H

#include "net/server.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct testsrv {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;
    int rc;
    int port;
    stk_server_limits_t limits;
    stk_server_t *srv;
    stk_router_t *router;
    int responses_seen; /* by the on_response hook (loop thread) */
    int last_status_seen;
} testsrv_t;

/* Starts the server thread; limits NULL → defaults. Returns 0 or a negative code. */
int testsrv_start(testsrv_t *t, const stk_server_limits_t *limits);
/* Stops gracefully (stk_server_stop posted from this thread), joins, frees. */
void testsrv_stop(testsrv_t *t);
/* Reads the metrics (posted to the loop thread and waited for). */
void testsrv_metrics(testsrv_t *t, stk_server_metrics_t *out);

/* ---- client ---- */
typedef struct tconn {
    int fd;
    uint8_t buf[1 << 20];
    size_t len;
} tconn_t;

typedef struct tresp {
    int status;
    char headers[8192]; /* raw header section, NUL-terminated */
    uint8_t *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
} tresp_t;

tconn_t *tc_connect(int port);
void tc_close(tconn_t *c);
int tc_send(tconn_t *c, const void *data, size_t len);
int tc_send_str(tconn_t *c, const char *s);
/* Reads one response (head_only: no body despite Content-Length). 0 or -1 (EOF/timeout). */
int tc_read_response(tconn_t *c, tresp_t *r, bool head_only);
void tresp_free(tresp_t *r);
/* Header value (case-insensitive name) copied into out; false if absent. */
bool tresp_header(const tresp_t *r, const char *name, char *out, size_t cap);
/* True if the peer closed (EOF or reset) within timeout_ms, reading and discarding data. */
bool tc_wait_closed(tconn_t *c, int timeout_ms);

/* WebSocket: handshake on path with a "Sec-WebSocket-Protocol" offer (NULL: none).
 * Returns the HTTP status; *proto gets the chosen subprotocol ("" if none). */
int tc_ws_handshake(tconn_t *c, const char *path, const char *protocols, char *proto, size_t cap);
/* Sends one frame, masked unless `unmasked`. */
int tc_ws_send_frame(tconn_t *c, bool fin, int opcode, const void *data, size_t len, bool unmasked);
/* Reads one frame: opcode, fin, payload (malloc'd into *data). 0 or -1. */
int tc_ws_read_frame(tconn_t *c, int *opcode, bool *fin, uint8_t **data, size_t *len);
/* Reads frames until a close frame; returns its status code, 1005 if none, -1 on EOF. */
int tc_ws_read_close(tconn_t *c);

#endif
