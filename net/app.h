/* net/app.h — the application context of `stockade serve` (DESIGN §1, §8).
 *
 * stk_app_t ties the server together: configuration (flags and environment), the libuv
 * loop, the HTTP server (net/server.h), one router built from every API module listed in
 * net/apis.def, the event log (<data-dir>/log) and its group-commit writer, the
 * refresh-token store, the rate limiter, the write-model reader (net/model.h) and the
 * metrics registry (net/metrics.h). API modules get the app as the `arg` of their routes
 * and use the helpers below, so that authentication, JSON bodies, problem answers, appends
 * and CPU-heavy work are written once.
 *
 * It is not an API module (those are net/api_*.c), not the transport (net/server.h) and
 * holds no game rules.
 *
 * API modules: net/apis.def lists X(name); each module exports
 *     int stk_api_<name>_routes(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n);
 * which writes up to cap routes into out, sets *n, and returns 0 (or an STK_E* code that
 * aborts stk_app_create). It runs once, on the creating thread, inside stk_app_create, after
 * the log, writer, stores, model, metrics and server (not yet listening) exist; a module may
 * allocate its state there, register metric families, and register stk_app_on_stop /
 * stk_app_on_free hooks.
 * Each route's handler runs behind the app's wrapper: rate limit per client address (IPv6
 * by /64) and endpoint group — the route's first two path segments, "v1/maps", "healthz" —
 * (429 problem+json with
 * RateLimit-Limit/-Remaining/-Reset and Retry-After; every answer carries the RateLimit-*
 * headers), request counting by route, then the module's handler with the module's arg.
 * The wrapper stores its route record in req->user: handlers must not overwrite req->user.
 *
 * Lifecycle (legal order):
 *   stk_app_config_init → [stk_app_config_env] → [set fields / stk_app_config_listen]
 *   → stk_app_create (opens the log, starts the writer, builds the router, listens)
 *   → stk_app_run (until SIGTERM/SIGINT or stk_app_stop) → stk_app_destroy
 * Shutdown (a signal, or stk_app_stop): the on_stop hooks run; the server stops accepting;
 * idle connections close; in-flight requests finish (their commits included) and are
 * answered; WebSockets get close 1001 (going away); after limits.stop_timeout_ms the rest
 * is cut. stk_app_run then returns 0. stk_app_destroy waits for queued worker jobs, stops
 * the writer (everything submitted is committed and its callback runs, answering into
 * abandoned responses if their clients are gone), runs on_free hooks, closes the log.
 *
 * Threads: everything here runs on the loop thread (the thread that calls stk_app_run),
 * except where a function says otherwise (config functions, stk_app_create/destroy on the
 * owner thread before/after run, stk_app_stop from any thread).
 */
#ifndef STK_NET_APP_H
#define STK_NET_APP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "events/envelope.h"
#include "events/log.h"
#include "net/auth_jwt.h"
#include "net/auth_password.h"
#include "net/auth_refresh.h"
#include "net/http.h"
#include "net/metrics.h"
#include "net/problem.h"
#include "net/ratelimit.h"
#include "net/router.h"
#include "net/server.h"

struct uv_loop_s;
typedef struct stk_model stk_model_t; /* net/model.h */
typedef struct stk_writer stk_writer_t;

#define STK_APP_HOST_MAX         255
#define STK_APP_PATH_MAX         1024
#define STK_APP_URL_MAX          1024
#define STK_APP_ROUTES_MAX       256 /* routes of all modules together */
#define STK_APP_LISTEN_DEFAULT   "127.0.0.1:8080"
#define STK_APP_DATA_DIR_DEFAULT "./var"
#define STK_APP_JWT_SECRET_FILE  "jwt.secret" /* in the data dir, mode 0600, 32 raw bytes */

typedef struct stk_app_config {
    char host[STK_APP_HOST_MAX + 1];     /* listen address; "127.0.0.1" */
    int port;                            /* 0: ephemeral (stk_app_port tells) */
    char data_dir[STK_APP_PATH_MAX + 1]; /* the log is <data_dir>/log */
    /* JWT HMAC secret. has_jwt_key 0: stk_app_create loads <data_dir>/jwt.secret, creating
     * it (32 random bytes, mode 0600) if missing. STOCKADE_JWT_SECRET sets it. */
    bool has_jwt_key;
    stk_jwt_key_t jwt_key;
    char database_url[STK_APP_URL_MAX + 1]; /* recorded; not used yet (projections issue) */
    char redis_url[STK_APP_URL_MAX + 1];    /* recorded; not used yet */
    bool projections;    /* false with --no-projections; listing/search answer 503 anyway */
    bool handle_signals; /* stk_app_create installs SIGTERM/SIGINT handlers (the CLI: true) */
    stk_ratelimit_opts_t ratelimit; /* zero fields: 100 per 60 s (DESIGN §8) */
    /* STOCKADE_RATE_LIMIT: N requests per minute per address, or 0 = no limit (benchmarks
     * and trusted load tests only: never in front of the internet). */
    bool ratelimit_off;
    stk_password_cost_t password_cost; /* argon2id cost; default interactive */
    stk_server_limits_t limits;        /* zero fields: net/server.h defaults */
    stk_log_opts_t log_opts;           /* zero: defaults (durable) */
} stk_app_config_t;

typedef struct stk_app stk_app_t;

/* The routes function of every module of net/apis.def (see above). */
#include "net/apis.def"
#define STK_API_DECL(name)                                                                         \
    int stk_api_##name##_routes(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n);
STK_APIS(STK_API_DECL)
#undef STK_API_DECL

/* ---- configuration (any thread, before create) ---------------------------------------- */

/* Defaults: 127.0.0.1:8080, ./var, no secret (generated/kept in the data dir), projections
 * on, no signal handling, default rate limit, interactive argon2id cost, default limits. */
void stk_app_config_init(stk_app_config_t *c);

/* Applies the environment: STOCKADE_LISTEN (HOST:PORT, [v6]:PORT), STOCKADE_DATA_DIR,
 * STOCKADE_JWT_SECRET (32..64 bytes are used as they are; a longer value is hashed with
 * BLAKE2b-256; shorter → STK_EINVAL), DATABASE_URL, REDIS_URL. Unset or empty variables
 * change nothing. Returns 0, STK_EINVAL (*bad names the variable), STK_ETOOBIG. bad may be
 * NULL. */
int stk_app_config_env(stk_app_config_t *c, const char **bad);

/* Parses "HOST:PORT" / "[V6]:PORT" (port 0..65535) into c->host / c->port. Returns 0 or
 * STK_EINVAL. */
int stk_app_config_listen(stk_app_config_t *c, const char *hostport);

/* ---- lifecycle ------------------------------------------------------------------------ */

/* Creates the app: makes the data dir (one level, mode 0700) if missing, loads or creates
 * the JWT secret, opens the log and starts the writer, creates the stores, builds the
 * owner index of the write model (one scan of the log: O(log), see net/model.h), builds the
 * router from net/apis.def and listens. cfg is copied. Returns 0 and *out; STK_EINVAL (bad
 * config), STK_EIO (bind failed, data dir unusable, secret file unreadable), STK_ECRYPTO,
 * STK_ENOMEM, or the errors of stk_log_open / a module's routes function. On error
 * everything opened is closed again. Owner thread. */
int stk_app_create(const stk_app_config_t *cfg, stk_app_t **out);

/* The bound port (after create). Any thread after create. */
int stk_app_port(const stk_app_t *app);

/* Runs the loop on the calling thread (which becomes the loop thread) until shutdown
 * completes. Returns 0 (stopped cleanly) or STK_ESTATE (run twice). */
int stk_app_run(stk_app_t *app);

/* Requests the graceful shutdown described above. Any thread (uses stk_server_post), also
 * before stk_app_run (it then stops as soon as it runs). Idempotent. Returns 0 or
 * STK_ENOMEM. */
int stk_app_stop(stk_app_t *app);

/* Frees the app after stk_app_run returned (or if it never ran). Owner thread. NULL ok. */
void stk_app_destroy(stk_app_t *app);

typedef void (*stk_app_hook_cb)(stk_app_t *app, void *ud);
/* on_stop: runs once on the loop thread when shutdown starts, before the server stops
 * (stop tick timers, tell live clients). on_free: runs once inside stk_app_destroy after
 * the server, the workers and the writer are done (free module state). Hooks run in
 * registration order. Call from a routes function (or the loop thread). Returns 0,
 * STK_EFULL (more than 32 hooks of a kind). */
int stk_app_on_stop(stk_app_t *app, stk_app_hook_cb fn, void *ud);
int stk_app_on_free(stk_app_t *app, stk_app_hook_cb fn, void *ud);

/* A module's own asynchronous work that shutdown must wait for (commits it submitted to the
 * writer itself, sessions being closed): each hold keeps stk_app_run going after the server
 * stopped until the matching release. Loop thread. */
void stk_app_hold(stk_app_t *app);
void stk_app_release(stk_app_t *app);

/* ---- accessors (borrowed; valid until stk_app_destroy) -------------------------------- */

const stk_app_config_t *stk_app_config(const stk_app_t *app);
struct uv_loop_s *stk_app_loop(stk_app_t *app);
stk_server_t *stk_app_server(stk_app_t *app);
stk_log_t *stk_app_log(stk_app_t *app);
stk_writer_t *stk_app_writer(stk_app_t *app);
stk_model_t *stk_app_model(stk_app_t *app);
stk_metrics_t *stk_app_metrics(stk_app_t *app);
stk_refresh_store_t *stk_app_refresh(stk_app_t *app);
const stk_jwt_key_t *stk_app_jwt_key(const stk_app_t *app);
/* True once shutdown started: modules should refuse new long-lived work. */
bool stk_app_stopping(const stk_app_t *app);
/* Wall clock, Unix seconds (tokens). Any thread. */
int64_t stk_app_now_s(void);
/* An event time (µs since the epoch) as ISO 8601 UTC with milliseconds,
 * "2026-11-25T03:21:42.123Z". Any thread. */
#define STK_APP_ISO_LEN 32
void stk_app_iso8601(int64_t time_us, char out[STK_APP_ISO_LEN]);

/* ---- request helpers (loop thread) ---------------------------------------------------- */

/* Authenticates req by "Authorization: Bearer <access token>": on success sets *user and
 * returns 0. Otherwise it COMPLETES res with 401 problem+json whose detail is the precise
 * reason (missing header, not Bearer, expired, bad signature, alg not HS256, refresh token
 * used as access token...) and a WWW-Authenticate: Bearer challenge
 * (error="invalid_token" when a token was given), and returns STK_EPERM: the handler must
 * not touch req/res afterwards. */
int stk_app_auth(stk_app_t *app, stk_http_req_t *req, stk_http_res_t *res, stk_uuid_t *user);

/* Parses the JSON request body into *out (a new reference; caller json_decref()s) and
 * returns 0. Otherwise COMPLETES res and returns non-zero: 415 (Content-Type is not
 * application/json, parameters such as charset allowed), 400 (empty body, not JSON with the
 * line/column, duplicate keys, or not an object). The body size is already limited by the
 * server (413). */
int stk_app_json_body(stk_http_req_t *req, stk_http_res_t *res, json_t **out);

/* Field-level errors collected during validation (copied into the struct's own storage). */
#define STK_APP_FIELDS_MAX   64
#define STK_APP_FIELDS_BYTES 8192
typedef struct stk_app_fields {
    size_t n;       /* errors kept (at most STK_APP_FIELDS_MAX) */
    size_t dropped; /* errors that did not fit */
    stk_problem_error_t e[STK_APP_FIELDS_MAX];
    size_t used;
    char store[STK_APP_FIELDS_BYTES];
} stk_app_fields_t;

void stk_app_fields_init(stk_app_fields_t *f);
/* Adds {field, code, message (printf-style)}. Never fails: beyond the limits the error is
 * counted in f->dropped. */
void stk_app_fields_add(stk_app_fields_t *f, const char *field, const char *code, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

/* HTTP status of an STK_E* code: ECONFLICT/EEXIST → 409, ENOTFOUND → 404, EPERM → 403,
 * ESCHEMA/EINVAL/ERANGE/EDECODE → 422, ETOOBIG → 413, EBUSY/ECLOSED/EFULL → 503,
 * ESTATE → 409, anything else → 500. */
int stk_app_status_of(int err);

/* Completes res with a problem for err (status from stk_app_status_of, a title and a type
 * of our own per code, detail may be NULL; its 503s — overload, shutdown — carry
 * Retry-After: 1). fields may be NULL.
 * Counts the answer in the route's metrics. Returns the stk_problem_send result. */
int stk_app_problem_err(stk_http_res_t *res, int err, const char *detail,
                        const stk_app_fields_t *fields);
/* Completes res with a problem of an explicit status (type derived from the status),
 * title NULL → the reason phrase; detail printf-style (NULL → none). */
int stk_app_problem(stk_http_res_t *res, int status, const stk_app_fields_t *fields,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 422 "validation failed" with the collected field errors. */
int stk_app_problem_fields(stk_http_res_t *res, const stk_app_fields_t *fields);

/* Completes res with json (borrowed) as application/json and counts the answer. */
int stk_app_send_json(stk_http_res_t *res, int status, const json_t *json);
/* As stk_app_send_json but takes the reference (json_decref'd here; NULL → 500). */
int stk_app_send_json_new(stk_http_res_t *res, int status, json_t *json);
/* Completes res with no body (204 and the like) and counts the answer. */
int stk_app_send_empty(stk_http_res_t *res, int status);

/* The path parameter name as a UUID: 0, or COMPLETES res with 404 problem (an id that is
 * not a UUID names nothing) and returns STK_ENOTFOUND. */
int stk_app_param_uuid(stk_http_req_t *req, stk_http_res_t *res, const char *name, stk_uuid_t *out);

/* The stream version a command expects: the client's If-Match ("3" or "\"3\"", as sent in
 * the ETag of the resource) if present, else `read` (the version the command was validated
 * against), so a concurrent change fails the append with STK_ECONFLICT (409) instead of
 * being overwritten. Returns 0, or COMPLETES res with 400 (malformed If-Match) and returns
 * STK_EINVAL. */
int stk_app_expected_version(stk_http_req_t *req, stk_http_res_t *res, uint64_t read,
                             uint64_t *expected);
/* Sets ETag: "<version>" on res. */
void stk_app_etag(stk_http_res_t *res, uint64_t version);

/* Answers the outcome of loading the resource a request names (what: "map", "tribe"):
 * rc STK_ENOTFOUND → 404 "no such <what>", another error → its problem, rc 0 with denied
 * (the caller may see it but not change it) → 403 "only the <what>'s owner may change it".
 * Returns 0 (res untouched) or non-zero with res COMPLETED. */
int stk_app_loaded(stk_http_res_t *res, int rc, const char *what, bool denied);

/* Copies a module's route table routes[0..k) into out (cap entries) and sets *n: the tail
 * of every stk_api_<name>_routes. Returns 0 or STK_EFULL (k > cap). */
int stk_app_routes(const stk_route_t *routes, size_t k, stk_route_t *out, size_t cap, size_t *n);

/* ---- appends and work ----------------------------------------------------------------- */

/* Runs ON THE LOOP THREAD after the batch's commit (or failure). status and results as
 * stk_writer_done_cb (results: n entries when status == 0, valid during the call). */
typedef void (*stk_app_append_cb)(void *ud, int status, const stk_append_result_t *results,
                                  size_t n);

/* Submits items[0..n) as one atomic batch to the group-commit writer (copied: the caller may
 * free them on return) and runs cb(ud, ...) on the loop thread once the LMDB transaction
 * holding it committed (durable) or failed, so a handler answers only after the commit.
 * After a successful commit the write model's owner index (net/model.h) already includes
 * the batch when cb runs, and the commit latency (submit → cb) is observed in the metrics.
 * If the client went away meanwhile the handler still completes its response (net/http.h):
 * stk_http_res_abandoned() tells it nobody will read it.
 * Returns 0 (cb runs exactly once) or, with cb never running: STK_ECLOSED (shutting down),
 * STK_EBUSY (writer queue full: answer 503), STK_EINVAL / STK_ETOOBIG (a batch rule),
 * STK_ENOMEM. Loop thread. */
int stk_app_append(stk_app_t *app, const stk_append_t *items, size_t n, stk_app_append_cb cb,
                   void *ud);

/* A command of one event (schema 1) on the stream of one resource, answered after commit. */
typedef struct stk_app_cmd {
    uint16_t type;
    stk_uuid_t stream; /* the resource's id */
    stk_uuid_t actor;
    const uint8_t *payload; /* MessagePack map, borrowed for the call; NULL: the empty map */
    size_t payload_len;
    uint64_t expected; /* stream version the append expects (or STK_VERSION_NONE/ANY) */
    int ok_status;     /* for the answer: 200, 201, 204... */
    int arg;           /* for the answer: the module's own */
} stk_app_cmd_t;

/* Completes res after a command committed. cmd is a copy (its payload is NULL by then),
 * valid during the call. Loop thread. */
typedef void (*stk_app_answer_cb)(stk_app_t *app, stk_http_res_t *res, const stk_app_cmd_t *cmd);

/* Appends cmd's event (stk_app_append) and, once it committed, runs answer(app, res, cmd);
 * if the append fails (now or at the commit: 409 on a version conflict, 503 when busy or
 * shutting down...) res is completed with the error's problem and answer never runs. Either
 * way res is completed exactly once. cmd is copied. Loop thread. */
void stk_app_command(stk_app_t *app, stk_http_res_t *res, const stk_app_cmd_t *cmd,
                     stk_app_answer_cb answer);

/* fn(ud) runs on a libuv worker thread (uv_queue_work) — for CPU-heavy work such as
 * argon2id, which must never run on the loop thread; then after(ud, status) runs on the loop
 * thread with status 0, or STK_ECLOSED if the job was cancelled before it started. fn must
 * not touch the loop, the server, requests or responses. Returns 0 (after runs exactly
 * once), STK_ECLOSED (shutting down; nothing runs), STK_ENOMEM. Loop thread. */
typedef void (*stk_app_work_fn)(void *ud);
typedef void (*stk_app_after_fn)(void *ud, int status);
int stk_app_work(stk_app_t *app, stk_app_work_fn fn, stk_app_after_fn after, void *ud);

#endif
