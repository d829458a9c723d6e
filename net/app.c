/* net/app.c — the application context of `stockade serve` (see net/app.h).
 *
 * Layout: configuration; the route wrapper (rate limit, counting); request helpers
 * (auth, JSON body, problems, answers); appends (writer thread → stk_server_post → loop);
 * worker jobs; lifecycle and shutdown.
 *
 * Shutdown states: RUNNING → STOPPING (hooks ran, stk_server_stop called) → SERVER_STOPPED
 * (stopped_cb) → run returns once no worker job and no append is in flight → destroy.
 * Invariant: every stk_app_append that returned 0 reaches its callback exactly once
 * (during run, or at the latest inside stk_server_destroy, which runs queued posts).
 */
#include "net/app.h"

#include "core/error.h"
#include "events/writer.h"
#include "net/model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#define HOOKS_MAX 32
#define LABEL_MAX 160
#define GROUP_MAX 32

typedef struct route_rec {
    stk_app_t *app;
    stk_http_handler_cb handler;
    void *arg;
    char label[LABEL_MAX]; /* "GET /v1/tribes/{id}" */
    char group[GROUP_MAX]; /* the rate-limit endpoint group (route_group) */
} route_rec_t;

typedef struct hook {
    stk_app_hook_cb fn;
    void *ud;
} hook_t;

enum app_state { ST_CREATED, ST_RUNNING, ST_STOPPING, ST_SERVER_STOPPED, ST_DONE };

struct stk_app {
    stk_app_config_t cfg;
    uv_loop_t loop;
    bool loop_init;
    stk_server_t *server;
    stk_router_t *router;
    stk_log_t *log;
    stk_writer_t *writer;
    stk_refresh_store_t *refresh;
    stk_ratelimiter_t *rl;
    stk_model_t *model;
    stk_metrics_t *metrics;

    route_rec_t *recs; /* n_recs, stable addresses (route args) */
    size_t n_recs;

    hook_t on_stop[HOOKS_MAX], on_free[HOOKS_MAX];
    size_t n_on_stop, n_on_free;

    uv_signal_t sig_term, sig_int;
    bool signals_open;

    enum app_state state;
    bool ran;
    bool writer_closed; /* stk_app_append refuses from now on */
    size_t work_inflight, appends_inflight, holds;

    stk_metric_t *m_requests, *m_responses, *m_ratelimited, *m_latency, *m_appends, *m_events,
        *m_commits, *m_conns, *m_ws, *m_by_class, *m_queue;
};

/* ---- configuration ----------------------------------------------------------------------- */

void stk_app_config_init(stk_app_config_t *c)
{
    memset(c, 0, sizeof(*c));
    stk_app_config_listen(c, STK_APP_LISTEN_DEFAULT);
    snprintf(c->data_dir, sizeof c->data_dir, "%s", STK_APP_DATA_DIR_DEFAULT);
    c->projections = true;
    stk_password_cost_t cost = STK_PASSWORD_COST_INTERACTIVE;
    c->password_cost = cost;
}

int stk_app_config_listen(stk_app_config_t *c, const char *hostport)
{
    if (!c || !hostport)
        return STK_EINVAL;
    const char *colon;
    const char *host = hostport;
    size_t host_len;
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        if (!close || close[1] != ':')
            return STK_EINVAL;
        host = hostport + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(hostport, ':');
        if (!colon || memchr(hostport, ':', (size_t)(colon - hostport)))
            return STK_EINVAL; /* a bare IPv6 address needs brackets */
        host_len = (size_t)(colon - hostport);
    }
    if (host_len == 0 || host_len > STK_APP_HOST_MAX)
        return STK_EINVAL;
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5)
        return STK_EINVAL;
    long port = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return STK_EINVAL;
        port = port * 10 + (*p - '0');
    }
    if (port > 65535)
        return STK_EINVAL;
    memcpy(c->host, host, host_len);
    c->host[host_len] = '\0';
    c->port = (int)port;
    return 0;
}

static int copy_env(char *dst, size_t cap, const char *name, const char **bad)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    if (strlen(v) >= cap) {
        if (bad)
            *bad = name;
        return STK_ETOOBIG;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int stk_app_config_env(stk_app_config_t *c, const char **bad)
{
    const char *v = getenv("STOCKADE_LISTEN");
    if (v && *v && stk_app_config_listen(c, v) != 0) {
        if (bad)
            *bad = "STOCKADE_LISTEN";
        return STK_EINVAL;
    }
    v = getenv("STOCKADE_RATE_LIMIT");
    if (v && *v) {
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (*end != '\0' || v[0] == '-' || n > 1000000) {
            if (bad)
                *bad = "STOCKADE_RATE_LIMIT";
            return STK_EINVAL;
        }
        c->ratelimit_off = n == 0;
        c->ratelimit.limit = (uint32_t)n;
    }
    int rc = copy_env(c->data_dir, sizeof c->data_dir, "STOCKADE_DATA_DIR", bad);
    rc = rc ? rc : copy_env(c->database_url, sizeof c->database_url, "DATABASE_URL", bad);
    rc = rc ? rc : copy_env(c->redis_url, sizeof c->redis_url, "REDIS_URL", bad);
    if (rc)
        return rc;
    v = getenv("STOCKADE_JWT_SECRET");
    if (v && *v) {
        size_t len = strlen(v);
        if (len < STK_JWT_KEY_MIN) {
            if (bad)
                *bad = "STOCKADE_JWT_SECRET";
            return STK_EINVAL;
        }
        if (len > STK_JWT_KEY_MAX) {
            uint8_t h[32];
            if (sodium_init() < 0)
                return STK_ECRYPTO;
            crypto_generichash(h, sizeof h, (const uint8_t *)v, len, NULL, 0);
            rc = stk_jwt_key_set(&c->jwt_key, h, sizeof h);
            sodium_memzero(h, sizeof h);
        } else {
            rc = stk_jwt_key_set(&c->jwt_key, (const uint8_t *)v, len);
        }
        if (rc)
            return rc;
        c->has_jwt_key = true;
    }
    return 0;
}

/* Loads <data_dir>/jwt.secret, or creates it with 32 random bytes (mode 0600). */
static int load_secret(const char *data_dir, stk_jwt_key_t *key)
{
    char path[STK_APP_PATH_MAX + 32];
    int n = snprintf(path, sizeof path, "%s/%s", data_dir, STK_APP_JWT_SECRET_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return STK_ETOOBIG;
    uint8_t buf[STK_JWT_KEY_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        size_t got = 0;
        while (got < sizeof buf) {
            ssize_t r = read(fd, buf + got, sizeof buf - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
        int rc = stk_jwt_key_set(key, buf, got);
        sodium_memzero(buf, sizeof buf);
        return rc ? STK_EIO : 0;
    }
    if (errno != ENOENT)
        return STK_EIO;
    int rc = stk_jwt_key_generate(key);
    if (rc)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return STK_EIO;
    size_t put = 0;
    while (put < key->len) {
        ssize_t w = write(fd, key->bytes + put, key->len - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        put += (size_t)w;
    }
    int ok = put == key->len && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlink(path);
        return STK_EIO;
    }
    return 0;
}

/* ---- small accessors ---------------------------------------------------------------------- */

const stk_app_config_t *stk_app_config(const stk_app_t *app)
{
    return &app->cfg;
}
struct uv_loop_s *stk_app_loop(stk_app_t *app)
{
    return &app->loop;
}
stk_server_t *stk_app_server(stk_app_t *app)
{
    return app->server;
}
stk_log_t *stk_app_log(stk_app_t *app)
{
    return app->log;
}
stk_writer_t *stk_app_writer(stk_app_t *app)
{
    return app->writer;
}
stk_model_t *stk_app_model(stk_app_t *app)
{
    return app->model;
}
stk_metrics_t *stk_app_metrics(stk_app_t *app)
{
    return app->metrics;
}
stk_refresh_store_t *stk_app_refresh(stk_app_t *app)
{
    return app->refresh;
}
const stk_jwt_key_t *stk_app_jwt_key(const stk_app_t *app)
{
    return &app->cfg.jwt_key;
}
bool stk_app_stopping(const stk_app_t *app)
{
    return app->state >= ST_STOPPING;
}
int stk_app_port(const stk_app_t *app)
{
    return stk_server_port(app->server);
}

int64_t stk_app_now_s(void)
{
    return (int64_t)time(NULL);
}

void stk_app_iso8601(int64_t time_us, char out[STK_APP_ISO_LEN])
{
    int64_t secs = time_us >= 0 ? time_us / 1000000 : (time_us - 999999) / 1000000;
    int ms = (int)((time_us - secs * 1000000) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, STK_APP_ISO_LEN, "1970-01-01T00:00:00.000Z");
        return;
    }
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, STK_APP_ISO_LEN, "%.20s.%03dZ", day, ms);
}

int stk_app_on_stop(stk_app_t *app, stk_app_hook_cb fn, void *ud)
{
    if (!fn)
        return STK_EINVAL;
    if (app->n_on_stop == HOOKS_MAX)
        return STK_EFULL;
    app->on_stop[app->n_on_stop++] = (hook_t){fn, ud};
    return 0;
}

int stk_app_on_free(stk_app_t *app, stk_app_hook_cb fn, void *ud)
{
    if (!fn)
        return STK_EINVAL;
    if (app->n_on_free == HOOKS_MAX)
        return STK_EFULL;
    app->on_free[app->n_on_free++] = (hook_t){fn, ud};
    return 0;
}

/* ---- answers and their counting ------------------------------------------------------------ */

static route_rec_t *rec_of(stk_http_res_t *res)
{
    stk_http_req_t *req = stk_http_res_req(res);
    return req ? (route_rec_t *)req->user : NULL;
}

static void count_answer(stk_http_res_t *res, int status)
{
    route_rec_t *r = rec_of(res);
    if (!r)
        return;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    stk_metric_add(r->app->m_responses, (const char *[]){r->label, code}, 1);
}

static void free_text(void *p)
{
    free(p);
}

int stk_app_send_json(stk_http_res_t *res, int status, const json_t *json)
{
    /* Reals with 15 significant digits, so 0.1 is written as 0.1 (bonuses, ratings). */
    char *text = json ? json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    if (!text)
        return stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
    count_answer(res, status);
    return stk_http_res_send_borrowed(res, status, "application/json", text, strlen(text),
                                      free_text, text);
}

int stk_app_send_json_new(stk_http_res_t *res, int status, json_t *json)
{
    if (!json)
        return stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
    int rc = stk_app_send_json(res, status, json);
    json_decref(json);
    return rc;
}

int stk_app_send_empty(stk_http_res_t *res, int status)
{
    count_answer(res, status);
    return stk_http_res_send(res, status, NULL, NULL, 0);
}

void stk_app_fields_init(stk_app_fields_t *f)
{
    f->n = 0;
    f->dropped = 0;
    f->used = 0;
}

static const char *fields_store(stk_app_fields_t *f, const char *s, size_t len)
{
    if (f->used + len + 1 > sizeof f->store)
        return NULL;
    char *p = f->store + f->used;
    memcpy(p, s, len);
    p[len] = '\0';
    f->used += len + 1;
    return p;
}

void stk_app_fields_add(stk_app_fields_t *f, const char *field, const char *code, const char *fmt,
                        ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    if (f->n == STK_APP_FIELDS_MAX) {
        f->dropped++;
        return;
    }
    size_t mark = f->used;
    const char *a = fields_store(f, field, strlen(field));
    const char *b = a ? fields_store(f, code, strlen(code)) : NULL;
    const char *c = b ? fields_store(f, msg, strlen(msg)) : NULL;
    if (!c) {
        f->used = mark;
        f->dropped++;
        return;
    }
    f->e[f->n++] = (stk_problem_error_t){a, b, c};
}

int stk_app_status_of(int err)
{
    switch (err) {
    case STK_ECONFLICT:
    case STK_EEXIST:
    case STK_ESTATE:
        return 409;
    case STK_ENOTFOUND:
        return 404;
    case STK_EPERM:
        return 403;
    case STK_ESCHEMA:
    case STK_EINVAL:
    case STK_ERANGE:
    case STK_EDECODE:
        return 422;
    case STK_ETOOBIG:
        return 413;
    case STK_EBUSY:
    case STK_ECLOSED:
    case STK_EFULL:
        return 503;
    default:
        return 500;
    }
}

static const char *type_of(int status)
{
    switch (status) {
    case 400:
        return "urn:stockade:problem:bad-request";
    case 401:
        return "urn:stockade:problem:unauthorized";
    case 403:
        return "urn:stockade:problem:forbidden";
    case 404:
        return "urn:stockade:problem:not-found";
    case 409:
        return "urn:stockade:problem:conflict";
    case 413:
        return "urn:stockade:problem:too-large";
    case 415:
        return "urn:stockade:problem:unsupported-media-type";
    case 422:
        return "urn:stockade:problem:validation";
    case 429:
        return "urn:stockade:problem:rate-limited";
    case 503:
        return "urn:stockade:problem:unavailable";
    default:
        return status >= 500 ? "urn:stockade:problem:internal" : "about:blank";
    }
}

static int send_problem(stk_http_res_t *res, int status, const char *title, const char *detail,
                        const stk_app_fields_t *fields)
{
    count_answer(res, status);
    return stk_problem_send(res, status, type_of(status), title, detail, fields ? fields->e : NULL,
                            fields ? fields->n : 0);
}

int stk_app_problem_err(stk_http_res_t *res, int err, const char *detail,
                        const stk_app_fields_t *fields)
{
    int status = stk_app_status_of(err);
    const char *title = NULL;
    if (status == 503)
        stk_http_res_header(res, "Retry-After", "1"); /* overload or shutdown: transient */
    switch (err) {
    case STK_ECONFLICT:
        title = "Concurrent change";
        if (!detail)
            detail = "the resource changed meanwhile; read it again and retry";
        break;
    case STK_EEXIST:
        title = "Already exists";
        break;
    case STK_ESCHEMA:
    case STK_EINVAL:
    case STK_ERANGE:
    case STK_EDECODE:
        title = "Validation failed";
        break;
    case STK_EBUSY:
        title = "Busy";
        if (!detail)
            detail = "the server is overloaded; retry shortly";
        break;
    case STK_ECLOSED:
        title = "Shutting down";
        if (!detail)
            detail = "the server is shutting down";
        break;
    default:
        if (status == 500 && !detail)
            detail = stk_strerror(err);
        break;
    }
    return send_problem(res, status, title, detail, fields);
}

int stk_app_problem(stk_http_res_t *res, int status, const stk_app_fields_t *fields,
                    const char *fmt, ...)
{
    char detail[512];
    const char *d = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        d = n >= 0 ? detail : NULL;
    }
    return send_problem(res, status, status == 422 ? "Validation failed" : NULL, d, fields);
}

int stk_app_problem_fields(stk_http_res_t *res, const stk_app_fields_t *fields)
{
    char detail[128];
    size_t n = fields ? fields->n + fields->dropped : 0;
    snprintf(detail, sizeof detail, "%zu field%s invalid%s", n, n == 1 ? " is" : "s are",
             fields && fields->dropped ? " (not all are listed)" : "");
    return send_problem(res, 422, "Validation failed", detail, fields);
}

int stk_app_param_uuid(stk_http_req_t *req, stk_http_res_t *res, const char *name, stk_uuid_t *out)
{
    const char *v = stk_http_req_param(req, name);
    if (!v || stk_uuid_parse(v, out) != 0) {
        stk_app_problem(res, 404, NULL, "no such resource (%s is not a UUID)", name);
        return STK_ENOTFOUND;
    }
    return 0;
}

int stk_app_expected_version(stk_http_req_t *req, stk_http_res_t *res, uint64_t read,
                             uint64_t *expected)
{
    const char *h = stk_http_req_header(req, "If-Match");
    if (!h) {
        *expected = read;
        return 0;
    }
    const char *p = h + (h[0] == '"');
    uint64_t v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
        v = v * 10 + (uint64_t)(*p - '0');
    if (h[0] == '"' && *p == '"')
        p++;
    if (digits == 0 || *p != '\0' || v == 0) {
        stk_app_problem(res, 400, NULL, "If-Match must be a version such as \"3\"");
        return STK_EINVAL;
    }
    *expected = v;
    return 0;
}

void stk_app_etag(stk_http_res_t *res, uint64_t version)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%llu\"", (unsigned long long)version);
    stk_http_res_header(res, "ETag", etag);
}

int stk_app_loaded(stk_http_res_t *res, int rc, const char *what, bool denied)
{
    if (rc == STK_ENOTFOUND) {
        stk_app_problem(res, 404, NULL, "no such %s", what);
    } else if (rc) {
        stk_app_problem_err(res, rc, NULL, NULL);
    } else if (denied) {
        rc = STK_EPERM;
        stk_app_problem(res, 403, NULL, "only the %s's owner may change it", what);
    }
    return rc;
}

int stk_app_routes(const stk_route_t *routes, size_t k, stk_route_t *out, size_t cap, size_t *n)
{
    if (k > cap)
        return STK_EFULL;
    memcpy(out, routes, k * sizeof(*routes));
    *n = k;
    return 0;
}

/* ---- auth and JSON bodies ---------------------------------------------------------------- */

static int unauthorized(stk_http_res_t *res, const char *detail, bool token_given)
{
    char challenge[300];
    if (token_given)
        snprintf(challenge, sizeof challenge,
                 "Bearer realm=\"stockade\", error=\"invalid_token\", error_description=\"%s\"",
                 detail);
    else
        snprintf(challenge, sizeof challenge, "Bearer realm=\"stockade\"");
    stk_http_res_header(res, "WWW-Authenticate", challenge);
    send_problem(res, 401, "Unauthorized", detail, NULL);
    return STK_EPERM;
}

int stk_app_auth(stk_app_t *app, stk_http_req_t *req, stk_http_res_t *res, stk_uuid_t *user)
{
    const char *h = stk_http_req_header(req, "Authorization");
    if (!h || !*h)
        return unauthorized(res, "missing Authorization: Bearer <access token>", false);
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return unauthorized(res, "Authorization scheme must be Bearer", false);
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    while (len > 0 && tok[len - 1] == ' ')
        len--;
    if (len == 0)
        return unauthorized(res, "empty bearer token", false);
    stk_jwt_claims_t claims;
    stk_jwt_reason_t why = STK_JWT_OK;
    int rc =
        stk_jwt_verify(&app->cfg.jwt_key, tok, len, STK_JWT_ACCESS, stk_app_now_s(), &claims, &why);
    if (rc == STK_EPERM) {
        const char *msg =
            why == STK_JWT_TYP ? "token is not an access token" : stk_jwt_reason_message(why);
        return unauthorized(res, msg, true);
    }
    if (rc != 0) {
        stk_app_problem_err(res, rc, NULL, NULL);
        return rc;
    }
    *user = claims.sub;
    return 0;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;
    if (strncasecmp(ct, want, n) != 0)
        return false;
    const char *p = ct + n;
    while (*p == ' ')
        p++;
    return *p == '\0' || *p == ';';
}

int stk_app_json_body(stk_http_req_t *req, stk_http_res_t *res, json_t **out)
{
    if (!is_json_type(stk_http_req_header(req, "Content-Type"))) {
        send_problem(res, 415, "Unsupported Media Type", "the body must be application/json", NULL);
        return STK_EINVAL;
    }
    if (req->body_len == 0) {
        send_problem(res, 400, "Bad Request", "the request body is empty", NULL);
        return STK_EINVAL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char d[300];
        snprintf(d, sizeof d, "malformed JSON at line %d column %d: %s", je.line, je.column,
                 je.text);
        send_problem(res, 400, "Bad Request", d, NULL);
        return STK_EDECODE;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        send_problem(res, 400, "Bad Request", "the body must be a JSON object", NULL);
        return STK_EDECODE;
    }
    *out = j;
    return 0;
}

/* ---- the route wrapper -------------------------------------------------------------------- */

/* IPv6 clients are limited by their /64 (one host owns 2^64 addresses). */
static void ratelimit_key(const char *addr, char *out, size_t cap)
{
    struct in6_addr a6;
    if (strchr(addr, ':') && inet_pton(AF_INET6, addr, &a6) == 1) {
        memset(a6.s6_addr + 8, 0, 8);
        if (inet_ntop(AF_INET6, &a6, out, (socklen_t)cap))
            return;
    }
    snprintf(out, cap, "%s", addr[0] ? addr : "unknown");
}

static void app_dispatch(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    route_rec_t *r = arg;
    stk_app_t *app = r->app;
    req->user = r;
    stk_metric_add(app->m_requests, (const char *[]){r->label}, 1);

    if (app->cfg.ratelimit_off) {
        r->handler(req, res, r->arg);
        return;
    }
    char ip[INET6_ADDRSTRLEN + 8];
    ratelimit_key(req->remote_addr, ip, sizeof ip);
    stk_ratelimit_result_t rl;
    int rc = stk_ratelimit_hit(app->rl, ip, r->group, (int64_t)uv_now(&app->loop), &rl);
    if (rc == 0) {
        char v[32];
        snprintf(v, sizeof v, "%u", rl.limit);
        stk_http_res_header(res, "RateLimit-Limit", v);
        snprintf(v, sizeof v, "%u", rl.remaining);
        stk_http_res_header(res, "RateLimit-Remaining", v);
        snprintf(v, sizeof v, "%lld", (long long)stk_ratelimit_reset_s(&rl));
        stk_http_res_header(res, "RateLimit-Reset", v);
        if (!rl.allowed) {
            stk_http_res_header(res, "Retry-After", v);
            stk_metric_add(app->m_ratelimited, (const char *[]){r->group}, 1);
            stk_app_problem(res, 429, NULL,
                            "more than %u requests in a minute from this address; retry in %s s",
                            rl.limit, v);
            return;
        }
    }
    /* rc != 0: the limiter could not decide (no memory, no address): serve, not refuse. */
    r->handler(req, res, r->arg);
}

/* ---- appends ------------------------------------------------------------------------------ */

typedef struct append_ctx {
    stk_app_t *app;
    stk_app_append_cb cb;
    void *ud;
    uint64_t t0_ns;
    int status;
    size_t n;
    stk_append_result_t *res;
} append_ctx_t;

static void append_ctx_free(append_ctx_t *c)
{
    free(c->res);
    free(c);
}

static const char *status_name(int status)
{
    switch (status) {
    case 0:
        return "ok";
    case STK_ECONFLICT:
        return "conflict";
    case STK_EEXIST:
        return "exists";
    default:
        return "error";
    }
}

/* Loop thread: the batch is committed (or failed). */
static void append_landed(void *arg)
{
    append_ctx_t *c = arg;
    stk_app_t *app = c->app;
    app->appends_inflight--;
    double secs = (double)(uv_hrtime() - c->t0_ns) / 1e9;
    stk_metric_observe(app->m_latency, NULL, secs);
    stk_metric_add(app->m_appends, (const char *[]){status_name(c->status)}, 1);
    if (c->status == 0) {
        stk_metric_add(app->m_events, NULL, (double)c->n);
        (void)stk_model_sync(app->model); /* a read error: the next query retries */
    }
    c->cb(c->ud, c->status, c->status == 0 ? c->res : NULL, c->status == 0 ? c->n : 0);
    append_ctx_free(c);
}

/* Writer thread: copy the results and hand the batch back to the loop. */
static void append_done(void *ud, int status, const stk_append_result_t *results, size_t n)
{
    append_ctx_t *c = ud;
    c->status = status;
    if (status == 0 && results)
        memcpy(c->res, results, n * sizeof(*results));
    /* stk_server_post fails only without memory; the callback must still run exactly once,
     * so retry until a small allocation succeeds. */
    while (stk_server_post(c->app->server, append_landed, c) != 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

int stk_app_append(stk_app_t *app, const stk_append_t *items, size_t n, stk_app_append_cb cb,
                   void *ud)
{
    if (!app || !items || n == 0 || !cb)
        return STK_EINVAL;
    if (app->writer_closed)
        return STK_ECLOSED;
    append_ctx_t *c = calloc(1, sizeof(*c));
    if (!c)
        return STK_ENOMEM;
    c->app = app;
    c->cb = cb;
    c->ud = ud;
    c->n = n;
    c->res = calloc(n, sizeof(*c->res));
    if (!c->res)
        goto fail;
    c->t0_ns = uv_hrtime();
    int rc = stk_writer_submit(app->writer, items, n, append_done, c);
    if (rc != 0) {
        append_ctx_free(c);
        return rc;
    }
    app->appends_inflight++;
    return 0;
fail:
    append_ctx_free(c);
    return STK_ENOMEM;
}

typedef struct command {
    stk_app_t *app;
    stk_http_res_t *res;
    stk_app_cmd_t cmd;
    stk_app_answer_cb answer;
} command_t;

static void command_committed(void *ud, int status, const stk_append_result_t *r, size_t n)
{
    command_t *c = ud;
    (void)r;
    (void)n;
    if (status != 0)
        stk_app_problem_err(c->res, status, NULL, NULL);
    else
        c->answer(c->app, c->res, &c->cmd);
    free(c);
}

void stk_app_command(stk_app_t *app, stk_http_res_t *res, const stk_app_cmd_t *cmd,
                     stk_app_answer_cb answer)
{
    static const uint8_t empty_map = 0x80;
    command_t *c = malloc(sizeof(*c));
    if (!c) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    *c = (command_t){app, res, *cmd, answer};
    c->cmd.payload = NULL;
    stk_append_t item = {
        .stream = cmd->stream,
        .type = cmd->type,
        .schema = 1,
        .actor = cmd->actor,
        .payload = cmd->payload ? cmd->payload : &empty_map,
        .payload_len = cmd->payload ? cmd->payload_len : 1,
        .expected_version = cmd->expected,
    };
    int rc = stk_app_append(app, &item, 1, command_committed, c);
    if (rc) {
        free(c);
        stk_app_problem_err(res, rc, NULL, NULL);
    }
}

/* ---- worker jobs -------------------------------------------------------------------------- */

typedef struct work_ctx {
    uv_work_t req;
    stk_app_t *app;
    stk_app_work_fn fn;
    stk_app_after_fn after;
    void *ud;
} work_ctx_t;

static void work_run(uv_work_t *req)
{
    work_ctx_t *w = req->data;
    w->fn(w->ud);
}

static void work_after(uv_work_t *req, int status)
{
    work_ctx_t *w = req->data;
    w->app->work_inflight--;
    stk_app_after_fn after = w->after;
    void *ud = w->ud;
    free(w);
    after(ud, status == UV_ECANCELED ? STK_ECLOSED : 0);
}

int stk_app_work(stk_app_t *app, stk_app_work_fn fn, stk_app_after_fn after, void *ud)
{
    if (!app || !fn || !after)
        return STK_EINVAL;
    if (app->state >= ST_DONE)
        return STK_ECLOSED;
    work_ctx_t *w = calloc(1, sizeof(*w));
    if (!w)
        return STK_ENOMEM;
    w->req.data = w;
    w->app = app;
    w->fn = fn;
    w->after = after;
    w->ud = ud;
    if (uv_queue_work(&app->loop, &w->req, work_run, work_after) != 0) {
        free(w);
        return STK_ENOMEM;
    }
    app->work_inflight++;
    return 0;
}

/* ---- metrics collector -------------------------------------------------------------------- */

static void collect(stk_metrics_t *m, void *ud)
{
    (void)m;
    stk_app_t *app = ud;
    stk_writer_stats_t ws;
    stk_writer_stats(app->writer, &ws);
    stk_metric_set(app->m_commits, NULL, (double)ws.commits);
    stk_metric_set(app->m_queue, NULL, (double)ws.queued);
    stk_server_metrics_t sm;
    stk_server_metrics(app->server, &sm);
    stk_metric_set(app->m_conns, NULL, (double)sm.connections_open);
    stk_metric_set(app->m_ws, NULL, (double)sm.ws_open);
    static const char *const cls[6] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 1; i <= 5; i++)
        stk_metric_set(app->m_by_class, (const char *[]){cls[i]}, (double)sm.responses[i]);
}

static int register_metrics(stk_app_t *app)
{
    static const char *const l_route[] = {"route"};
    static const char *const l_route_code[] = {"route", "code"};
    static const char *const l_group[] = {"group"};
    static const char *const l_status[] = {"status"};
    static const char *const l_class[] = {"class"};
    static const double lat[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
    stk_metrics_t *m = app->metrics;
    int rc =
        stk_metrics_counter(m, "stockade_http_requests_total", "HTTP requests dispatched, by route",
                            l_route, 1, &app->m_requests);
    rc = rc ? rc
            : stk_metrics_counter(m, "stockade_http_responses_total",
                                  "HTTP answers of the API helpers, by route and status code",
                                  l_route_code, 2, &app->m_responses);
    rc = rc ? rc
            : stk_metrics_counter(m, "stockade_http_responses_by_class_total",
                                  "every HTTP response sent, by status class", l_class, 1,
                                  &app->m_by_class);
    rc = rc ? rc
            : stk_metrics_counter(m, "stockade_ratelimit_rejections_total",
                                  "requests refused with 429, by endpoint group", l_group, 1,
                                  &app->m_ratelimited);
    rc = rc ? rc
            : stk_metrics_histogram(m, "stockade_commit_latency_seconds",
                                    "time from append submit to the commit's callback on the loop",
                                    NULL, 0, lat, sizeof lat / sizeof lat[0], &app->m_latency);
    rc = rc ? rc
            : stk_metrics_counter(m, "stockade_appends_total",
                                  "batches submitted by the API, by result", l_status, 1,
                                  &app->m_appends);
    rc = rc ? rc
            : stk_metrics_counter(m, "stockade_events_appended_total",
                                  "events committed by the API", NULL, 0, &app->m_events);
    rc = rc ? rc
            : stk_metrics_counter(m, "stockade_log_commits_total",
                                  "LMDB write transactions committed by the writer", NULL, 0,
                                  &app->m_commits);
    rc = rc ? rc
            : stk_metrics_gauge(m, "stockade_writer_queue_batches",
                                "batches waiting in the writer queue", NULL, 0, &app->m_queue);
    rc = rc ? rc
            : stk_metrics_gauge(m, "stockade_connections_open", "connected clients (TCP)", NULL, 0,
                                &app->m_conns);
    rc = rc ? rc
            : stk_metrics_gauge(m, "stockade_websockets_open", "open WebSocket connections", NULL,
                                0, &app->m_ws);
    rc = rc ? rc : stk_metrics_collector(m, collect, app);
    return rc;
}

/* ---- router ------------------------------------------------------------------------------- */

typedef struct api_module {
    const char *name;
    int (*routes)(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n);
} api_module_t;

static const api_module_t modules[] = {
#define STK_API_ROW(name) {#name, stk_api_##name##_routes},
    STK_APIS(STK_API_ROW)
#undef STK_API_ROW
};

/* The rate-limit endpoint group of a route: its first two path segments ("/v1/maps/{id}"
 * → "v1/maps", "/healthz" → "healthz"), so each resource family has its own budget per
 * client and a scraper of /metrics does not eat into /healthz. */
static void route_group(const char *pattern, char *out, size_t cap)
{
    const char *p = pattern + (pattern[0] == '/');
    const char *slash = strchr(p, '/');
    if (slash && slash[1] && slash[1] != '{')
        slash = strchr(slash + 1, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static int build_router(stk_app_t *app)
{
    stk_route_t *tmp = calloc(STK_APP_ROUTES_MAX, sizeof(*tmp));
    stk_route_t *wrapped = calloc(STK_APP_ROUTES_MAX, sizeof(*wrapped));
    app->recs = calloc(STK_APP_ROUTES_MAX, sizeof(*app->recs));
    int rc = STK_ENOMEM;
    if (!tmp || !wrapped || !app->recs)
        goto done;
    size_t total = 0;
    for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++) {
        size_t n = 0;
        rc = modules[m].routes(app, tmp, STK_APP_ROUTES_MAX - total, &n);
        if (rc)
            goto done;
        rc = STK_EINVAL;
        if (n > STK_APP_ROUTES_MAX - total)
            goto done;
        for (size_t i = 0; i < n; i++) {
            route_rec_t *r = &app->recs[total];
            if (!tmp[i].method || !tmp[i].pattern || !tmp[i].handler)
                goto done;
            r->app = app;
            r->handler = tmp[i].handler;
            r->arg = tmp[i].arg;
            snprintf(r->label, sizeof r->label, "%s %s", tmp[i].method, tmp[i].pattern);
            route_group(tmp[i].pattern, r->group, sizeof r->group);
            wrapped[total] = tmp[i];
            wrapped[total].handler = app_dispatch;
            wrapped[total].arg = r;
            total++;
        }
    }
    app->n_recs = total;
    rc = stk_router_create(wrapped, total, &app->router);
done:
    free(tmp);
    free(wrapped);
    return rc;
}

/* The server's handler: the router exists by the time the server listens. */
static void app_entry(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_app_t *app = arg;
    stk_router_dispatch(req, res, app->router);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void on_server_stopped(stk_server_t *srv, void *arg)
{
    (void)srv;
    stk_app_t *app = arg;
    app->state = ST_SERVER_STOPPED;
    /* This may run in the prepare phase, before the loop would block in poll: make the
     * current UV_RUN_ONCE return so stk_app_run re-checks finished(). */
    uv_stop(&app->loop);
}

static void begin_shutdown(stk_app_t *app)
{
    if (app->state >= ST_STOPPING)
        return;
    app->state = ST_STOPPING;
    for (size_t i = 0; i < app->n_on_stop; i++)
        app->on_stop[i].fn(app, app->on_stop[i].ud);
    if (stk_server_stop(app->server, on_server_stopped, app) != 0)
        app->state = ST_SERVER_STOPPED;
}

static void stop_posted(void *arg)
{
    begin_shutdown(arg);
}

int stk_app_stop(stk_app_t *app)
{
    return stk_server_post(app->server, stop_posted, app);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    begin_shutdown(s->data);
}

static void close_signals(stk_app_t *app)
{
    if (!app->signals_open)
        return;
    app->signals_open = false;
    uv_close((uv_handle_t *)&app->sig_term, NULL);
    uv_close((uv_handle_t *)&app->sig_int, NULL);
}

static bool finished(const stk_app_t *app)
{
    return app->state >= ST_SERVER_STOPPED && app->work_inflight == 0 &&
           app->appends_inflight == 0 && app->holds == 0;
}

void stk_app_hold(stk_app_t *app)
{
    app->holds++;
}

void stk_app_release(stk_app_t *app)
{
    if (app->holds > 0)
        app->holds--;
    if (app->holds == 0 && app->state >= ST_STOPPING)
        uv_stop(&app->loop); /* let stk_app_run re-check, whichever phase this runs in */
}

int stk_app_run(stk_app_t *app)
{
    if (app->ran)
        return STK_ESTATE;
    app->ran = true;
    if (app->state == ST_CREATED)
        app->state = ST_RUNNING;
    while (!finished(app))
        uv_run(&app->loop, UV_RUN_ONCE);
    close_signals(app);
    return 0;
}

static int make_data_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return STK_EIO;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return STK_EIO;
    return 0;
}

int stk_app_create(const stk_app_config_t *cfg, stk_app_t **out)
{
    if (!cfg || !out || !cfg->host[0] || !cfg->data_dir[0])
        return STK_EINVAL;
    if (sodium_init() < 0)
        return STK_ECRYPTO;
    stk_app_t *app = calloc(1, sizeof(*app));
    if (!app)
        return STK_ENOMEM;
    app->cfg = *cfg;
    int rc = STK_EIO;
    if (uv_loop_init(&app->loop) != 0)
        goto fail;
    app->loop_init = true;
    rc = make_data_dir(cfg->data_dir);
    if (rc)
        goto fail;
    if (!app->cfg.has_jwt_key) {
        rc = load_secret(cfg->data_dir, &app->cfg.jwt_key);
        if (rc)
            goto fail;
        app->cfg.has_jwt_key = true;
    }
    char path[STK_APP_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/log", cfg->data_dir);
    rc = stk_log_open(&app->log, path, &cfg->log_opts);
    if (rc)
        goto fail;
    rc = stk_writer_start(&app->writer, app->log, NULL);
    rc = rc ? rc : stk_refresh_mem_create(&app->refresh, NULL);
    rc = rc ? rc : stk_ratelimit_mem_create(&app->rl, &cfg->ratelimit);
    rc = rc ? rc : stk_metrics_create(&app->metrics);
    rc = rc ? rc : register_metrics(app);
    rc = rc ? rc : stk_model_create(app->log, &app->model);
    rc = rc ? rc : stk_model_build(app->model);
    if (rc)
        goto fail;
    stk_server_config_t sc = {0};
    sc.host = app->cfg.host;
    sc.port = app->cfg.port;
    sc.limits = cfg->limits;
    sc.handler = app_entry;
    sc.handler_arg = app;
    rc = stk_server_create(&app->loop, &sc, &app->server);
    rc = rc ? rc : build_router(app); /* modules may use every accessor, the server too */
    rc = rc ? rc : stk_server_listen(app->server);
    if (rc)
        goto fail;
    if (app->cfg.handle_signals) {
        /* Installed before the caller announces the port: a SIGTERM sent as soon as
         * "listening" is printed is queued for the loop, never the default (death). */
        uv_signal_init(&app->loop, &app->sig_term);
        uv_signal_init(&app->loop, &app->sig_int);
        app->sig_term.data = app;
        app->sig_int.data = app;
        app->signals_open = true;
        uv_signal_start(&app->sig_term, on_signal, SIGTERM);
        uv_signal_start(&app->sig_int, on_signal, SIGINT);
    }
    *out = app;
    return 0;
fail:
    stk_app_destroy(app);
    return rc;
}

void stk_app_destroy(stk_app_t *app)
{
    if (!app)
        return;
    if (app->server && app->state < ST_SERVER_STOPPED) {
        begin_shutdown(app);
        while (!finished(app))
            uv_run(&app->loop, UV_RUN_ONCE);
    }
    while (app->work_inflight > 0)
        uv_run(&app->loop, UV_RUN_ONCE);
    app->state = ST_DONE;
    /* Everything submitted is committed and its callback posted; the posts run inside
     * stk_server_destroy (their answers go to abandoned responses, and any further
     * append is refused). */
    if (app->writer)
        stk_writer_stop(app->writer);
    app->writer_closed = true;
    if (app->server)
        stk_server_destroy(app->server);
    app->server = NULL;
    close_signals(app);
    for (size_t i = 0; i < app->n_on_free; i++)
        app->on_free[i].fn(app, app->on_free[i].ud);
    if (app->loop_init) {
        uv_run(&app->loop, UV_RUN_DEFAULT);
        uv_loop_close(&app->loop);
    }
    stk_writer_free(app->writer);
    stk_model_destroy(app->model);
    stk_log_close(app->log);
    stk_refresh_store_destroy(app->refresh);
    stk_ratelimit_destroy(app->rl);
    stk_router_destroy(app->router);
    stk_metrics_destroy(app->metrics);
    free(app->recs);
    sodium_memzero(&app->cfg.jwt_key, sizeof app->cfg.jwt_key);
    free(app);
}
