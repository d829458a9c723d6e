/* tests/net/client.h — test harness for the API tests: the real app (net/app.h) running
 * in-process on 127.0.0.1, port 0, in a thread with a temporary data directory; a small
 * blocking HTTP client; and a WebSocket client (masked frames) for live-play tests.
 *
 * Everything here blocks with 10 s socket timeouts and is meant for tests only: no
 * pipelining, one request per connection for the HTTP helpers (Connection: close).
 */
#ifndef STK_TESTS_NET_CLIENT_H
#define STK_TESTS_NET_CLIENT_H

#include "net/app.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the app in a thread ---- */

typedef struct app_runner {
    pthread_t thread;
    stk_app_t *app;
    int port;
    char dir[64]; /* the temporary data directory (removed by ar_stop) */
    int run_rc;
    bool running;
} app_runner_t;

/* The JWT secret every runner uses (so tests can forge tokens): 32 bytes of 'k'. */
extern const stk_jwt_key_t ar_test_key;

/* Creates a temp data dir, configures the app (127.0.0.1:0, minimum argon2id cost,
 * ar_test_key, no signal handling), lets tweak(cfg) change anything, creates it and runs it
 * on a new thread. dir_reuse: a data dir from an earlier runner to reopen (NULL: a new one).
 * Returns 0 or the stk_app_create error. */
int ar_start(app_runner_t *r, void (*tweak)(stk_app_config_t *cfg), const char *dir_reuse);
/* Stops the app gracefully (stk_app_stop), joins the thread, destroys the app; removes the
 * data dir unless keep_dir. */
void ar_stop(app_runner_t *r, bool keep_dir);
/* Head sequence of the app's log. */
uint64_t ar_head(app_runner_t *r);

/* ---- HTTP ---- */

typedef struct hc_resp {
    int status;         /* -1 if no response */
    char headers[8192]; /* raw header section, NUL-terminated */
    char *body;         /* malloc'd, NUL-terminated (chunked bodies are decoded) */
    size_t body_len;
    json_t *json; /* the body parsed as JSON, or NULL */
} hc_resp_t;

/* One request on a new connection. extra_headers: CRLF-terminated lines or NULL;
 * content_type NULL → none. Returns 0 (r filled) or -1 (connect/IO failure, r->status -1). */
int hc_request(int port, const char *method, const char *path, const char *extra_headers,
               const char *content_type, const void *body, size_t len, hc_resp_t *r);
/* JSON request: body is JSON text (or NULL: no body); token NULL → no Authorization. */
int hc_json(int port, const char *method, const char *path, const char *token, const char *body,
            hc_resp_t *r);
/* Same with a printf-built JSON body. */
int hc_jsonf(int port, const char *method, const char *path, const char *token, hc_resp_t *r,
             const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void hc_free(hc_resp_t *r);
/* Header value (case-insensitive) copied to out; false if absent. */
bool hc_header(const hc_resp_t *r, const char *name, char *out, size_t cap);
/* String member of the JSON body ("" if absent). Borrowed from r. */
const char *hc_str(const hc_resp_t *r, const char *key);
/* True if the JSON body is a problem listing an error for field (and code, if not NULL). */
bool hc_has_field_error(const hc_resp_t *r, const char *field, const char *code);
/* True if Content-Type is application/problem+json and the body has type/title/status. */
bool hc_is_problem(const hc_resp_t *r);

/* Registers username (email <username>@example.com, password "password123") and logs
 * in: the access token into access (STK_JWT_BUF bytes), the user id into *id (may be
 * NULL). Returns 0 or -1. */
int hc_user(int port, const char *username, char *access, stk_uuid_t *id);

/* ---- WebSocket ---- */

typedef struct ws_client {
    int fd;
    uint8_t buf[1 << 16];
    size_t len;
} ws_client_t;

/* Opens a connection and performs the handshake on path (query allowed) with the offered
 * subprotocols (comma-separated, NULL: none) and extra header lines. Returns the HTTP
 * status (101 on success, then *out is set; else *out is NULL and the response body, if
 * any, is discarded). proto receives the chosen subprotocol ("" if none). */
int ws_connect(int port, const char *path, const char *protocols, const char *extra_headers,
               ws_client_t **out, char *proto, size_t proto_cap);
/* Sends one masked frame (opcode 1 text, 2 binary, 8 close, 9 ping). 0 or -1. */
int ws_send(ws_client_t *c, int opcode, const void *data, size_t len);
int ws_send_text(ws_client_t *c, const char *text);
/* Reads one frame (control frames included; fragments are not joined); *data malloc'd
 * and NUL-terminated (caller frees). 0, or -1 on EOF/timeout/bad frame. */
int ws_recv(ws_client_t *c, int *opcode, uint8_t **data, size_t *len);
/* Reads frames until a text/binary one (answering pings) and parses it as JSON, or NULL. */
json_t *ws_recv_json(ws_client_t *c);
/* Sends a close frame with code, then reads until the peer's close; returns the peer's
 * close code, 1005 if none, -1 on EOF first. */
int ws_close(ws_client_t *c, int code);
/* Reads frames until a close frame arrives; its code (1005 if empty), -1 on EOF. */
int ws_wait_close(ws_client_t *c);
void ws_free(ws_client_t *c); /* closes the socket */

#endif
