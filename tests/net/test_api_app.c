/* tests/net/test_api_app.c — the application layer (net/app.h): rate limiting with its
 * headers, /healthz and /metrics, problem+json on router errors, the owner index rebuilt
 * from the log at restart, graceful stop with requests in flight, configuration parsing,
 * and the metrics registry (net/metrics.h). */
#include <criterion/criterion.h>

#include "client.h"

#include "core/error.h"
#include "events/payload.h"
#include "events/types.h"
#include "events/writer.h"
#include "net/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void limit5(stk_app_config_t *c)
{
    c->ratelimit.limit = 5;
}

Test(api_app, sixth_request_in_the_window_is_429_with_ratelimit_headers, .timeout = 60)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, limit5, NULL), 0);
    hc_resp_t r;
    char v[32];
    for (int i = 0; i < 5; i++) {
        hc_json(R.port, "GET", "/healthz", NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "request %d", i + 1);
        cr_assert(hc_header(&r, "RateLimit-Remaining", v, sizeof v));
        cr_assert_eq(atoi(v), 4 - i);
        hc_free(&r);
    }
    hc_json(R.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert_eq(r.status, 429);
    cr_assert(hc_is_problem(&r), "%s", r.body);
    cr_assert(hc_header(&r, "Retry-After", v, sizeof v));
    cr_assert(atoi(v) >= 1 && atoi(v) <= 60, "Retry-After %s", v);
    cr_assert(hc_header(&r, "RateLimit-Limit", v, sizeof v));
    cr_assert_str_eq(v, "5");
    cr_assert(hc_header(&r, "RateLimit-Remaining", v, sizeof v));
    cr_assert_str_eq(v, "0");
    cr_assert(hc_header(&r, "RateLimit-Reset", v, sizeof v));
    hc_free(&r);
    /* Another endpoint group of the same address has its own budget. */
    hc_json(R.port, "GET", "/v1/maps", NULL, NULL, &r);
    cr_assert_eq(r.status, 503);
    hc_free(&r);
    /* A refused registration is refused before any work or append. */
    uint64_t head = ar_head(&R);
    for (int i = 0; i < 6; i++) {
        hc_jsonf(
            R.port, "POST", "/v1/auth/register", NULL, &r,
            "{\"username\":\"user%d\",\"email\":\"u%d@example.com\",\"password\":\"pw123456\"}", i,
            i);
        cr_assert_eq(r.status, i < 5 ? 201 : 429, "%d: %s", i, r.body);
        hc_free(&r);
    }
    cr_assert_eq(ar_head(&R), head + 5);
    hc_json(R.port, "GET", "/metrics", NULL, NULL, &r);
    cr_assert(strstr(r.body, "stockade_ratelimit_rejections_total{group=\"healthz\"} 1"), "%s",
              r.body);
    hc_free(&r);
    ar_stop(&R, false);
}

Test(api_app, the_default_limit_is_100_per_minute, .timeout = 60)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
    hc_resp_t r;
    hc_json(R.port, "GET", "/healthz", NULL, NULL, &r);
    char v[32];
    cr_assert(hc_header(&r, "RateLimit-Limit", v, sizeof v));
    cr_assert_str_eq(v, "100");
    hc_free(&r);
    for (int i = 1; i < 100; i++) {
        hc_json(R.port, "GET", "/healthz", NULL, NULL, &r);
        cr_assert_eq(r.status, 200, "request %d", i + 1);
        hc_free(&r);
    }
    hc_json(R.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert_eq(r.status, 429, "the 101st request in a minute");
    hc_free(&r);
    ar_stop(&R, false);
}

Test(api_app, healthz_metrics_and_router_problems, .timeout = 60)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
    char tok[STK_JWT_BUF];
    cr_assert_eq(hc_user(R.port, "mia", tok, NULL), 0);
    hc_resp_t r;
    hc_json(R.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(hc_str(&r, "status"), "ok");
    cr_assert_eq(json_integer_value(json_object_get(r.json, "head_seq")), 2,
                 "registered and logged in: two events");
    hc_free(&r);

    hc_json(R.port, "GET", "/metrics", NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    char ct[128];
    cr_assert(hc_header(&r, "Content-Type", ct, sizeof ct));
    cr_assert(strstr(ct, "text/plain; version=0.0.4"), "%s", ct);
    cr_assert(strstr(r.body, "stockade_events_appended_total 2\n"), "%s", r.body);
    cr_assert(strstr(r.body, "stockade_log_commits_total "), "%s", r.body);
    cr_assert(strstr(r.body, "stockade_commit_latency_seconds_count 2\n"), "%s", r.body);
    cr_assert(strstr(r.body, "stockade_commit_latency_seconds_bucket{le=\"+Inf\"} 2\n"), "%s",
              r.body);
    cr_assert(strstr(r.body, "stockade_connections_open "), "%s", r.body);
    cr_assert(strstr(r.body, "stockade_http_responses_total{route=\"POST /v1/auth/register\","
                             "code=\"201\"} 1"),
              "%s", r.body);
    cr_assert(strstr(r.body, "stockade_http_responses_by_class_total{class=\"2xx\"}"), "%s",
              r.body);
    cr_assert(strstr(r.body, "# TYPE stockade_commit_latency_seconds histogram"), "%s", r.body);
    hc_free(&r);

    hc_json(R.port, "GET", "/nowhere", NULL, NULL, &r);
    cr_assert_eq(r.status, 404);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    hc_json(R.port, "DELETE", "/v1/auth/login", NULL, NULL, &r);
    cr_assert_eq(r.status, 405);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    /* The WebSocket client against a plain route: served as plain HTTP, not upgraded. */
    ws_client_t *ws;
    cr_assert_eq(ws_connect(R.port, "/healthz", NULL, NULL, &ws, NULL, 0), 200);
    cr_assert_null(ws);
    ar_stop(&R, false);
}

Test(api_app, owner_index_and_secret_survive_a_restart, .timeout = 60)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
    char tok[STK_JWT_BUF];
    cr_assert_eq(hc_user(R.port, "nora", tok, NULL), 0);
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/tribes", tok,
            "{\"name\":\"Keep\",\"archetype\":\"Support\",\"damage_bonus\":0.1,"
            "\"attack_speed_bonus\":0.2,\"range_bonus\":0.2,\"color_theme\":\"#123456\"}",
            &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    hc_free(&r);
    char dir[64];
    snprintf(dir, sizeof dir, "%s", R.dir);
    uint64_t head = ar_head(&R);
    ar_stop(&R, true);

    cr_assert_eq(ar_start(&R, NULL, dir), 0);
    cr_assert_eq(ar_head(&R), head);
    hc_json(R.port, "GET", "/v1/tribes", tok, NULL, &r);
    cr_assert_eq(r.status, 200, "the token still verifies: %s", r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "tribes")), 1,
                 "the owner index was rebuilt from the log");
    hc_free(&r);
    hc_json(R.port, "POST", "/v1/auth/login", NULL,
            "{\"username\":\"nora\",\"password\":\"password123\"}", &r);
    cr_assert_eq(r.status, 200, "sealed hash readable after restart: %s", r.body);
    hc_free(&r);
    ar_stop(&R, false);
}

static void generated_secret(stk_app_config_t *c)
{
    c->has_jwt_key = false;
}

Test(api_app, a_missing_secret_is_generated_once_with_mode_0600)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, generated_secret, NULL), 0);
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "%s", R.dir);
    snprintf(path, sizeof path, "%s/jwt.secret", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(st.st_size, 32);
    char tok[STK_JWT_BUF];
    cr_assert_eq(hc_user(R.port, "olga", tok, NULL), 0);
    ar_stop(&R, true);
    cr_assert_eq(ar_start(&R, generated_secret, dir), 0);
    hc_resp_t r;
    hc_json(R.port, "GET", "/v1/users/me", tok, NULL, &r);
    cr_assert_eq(r.status, 200, "the kept secret verifies old tokens: %s", r.body);
    hc_free(&r);
    ar_stop(&R, false);
}

/* A request whose argon2id work is in flight when the stop arrives is still answered. */
typedef struct bg {
    int port;
    int status;
} bg_t;

static void *bg_register(void *arg)
{
    bg_t *b = arg;
    hc_resp_t r;
    hc_json(b->port, "POST", "/v1/auth/register", NULL,
            "{\"username\":\"late\",\"email\":\"late@example.com\",\"password\":\"password123\"}",
            &r);
    b->status = r.status;
    hc_free(&r);
    return NULL;
}

static void slow_hash(stk_app_config_t *c)
{
    stk_password_cost_t cost = {3, 32u * 1024u * 1024u};
    c->password_cost = cost;
}

Test(api_app, stop_finishes_in_flight_requests_and_commits, .timeout = 60)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, slow_hash, NULL), 0);
    bg_t b = {R.port, 0};
    pthread_t th;
    pthread_create(&th, NULL, bg_register, &b);
    /* Wait until the request reached the server (it counts requests at dispatch). */
    for (int i = 0; i < 200; i++) {
        stk_server_metrics_t m;
        stk_server_metrics(stk_app_server(R.app), &m); /* racy read of counters: a hint only */
        if (m.requests >= 1)
            break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    char dir[64];
    snprintf(dir, sizeof dir, "%s", R.dir);
    stk_app_stop(R.app);
    pthread_join(R.thread, NULL);
    R.running = false;
    pthread_join(th, NULL);
    cr_assert_eq(b.status, 201, "answered after its commit, during the graceful stop");
    cr_assert_eq(ar_head(&R), 1);
    ar_stop(&R, false);
}

Test(api_app, config_parses_listen_and_environment)
{
    stk_app_config_t c;
    stk_app_config_init(&c);
    cr_assert_str_eq(c.host, "127.0.0.1");
    cr_assert_eq(c.port, 8080);
    cr_assert_str_eq(c.data_dir, "./var");
    cr_assert_eq(stk_app_config_listen(&c, "[::1]:0"), 0);
    cr_assert_str_eq(c.host, "::1");
    cr_assert_eq(c.port, 0);
    cr_assert_eq(stk_app_config_listen(&c, "0.0.0.0:65535"), 0);
    cr_assert_eq(stk_app_config_listen(&c, "0.0.0.0:65536"), STK_EINVAL);
    cr_assert_eq(stk_app_config_listen(&c, "::1:80"), STK_EINVAL);
    cr_assert_eq(stk_app_config_listen(&c, "host:"), STK_EINVAL);
    cr_assert_eq(stk_app_config_listen(&c, ":80"), STK_EINVAL);
    setenv("STOCKADE_LISTEN", "10.0.0.1:9000", 1);
    setenv("STOCKADE_DATA_DIR", "/srv/stockade", 1);
    setenv("STOCKADE_JWT_SECRET", "short", 1);
    setenv("DATABASE_URL", "postgres://db/stockade", 1);
    const char *bad = NULL;
    cr_assert_eq(stk_app_config_env(&c, &bad), STK_EINVAL);
    cr_assert_str_eq(bad, "STOCKADE_JWT_SECRET");
    setenv("STOCKADE_JWT_SECRET",
           "0123456789abcdef0123456789abcdef-and-a-bit-more-than-64-bytes-long", 1);
    cr_assert_eq(stk_app_config_env(&c, &bad), 0);
    cr_assert_str_eq(c.host, "10.0.0.1");
    cr_assert_eq(c.port, 9000);
    cr_assert_str_eq(c.data_dir, "/srv/stockade");
    cr_assert_str_eq(c.database_url, "postgres://db/stockade");
    cr_assert(c.has_jwt_key);
    cr_assert_eq(c.jwt_key.len, 32, "a long secret is hashed to 32 bytes");
    unsetenv("STOCKADE_LISTEN");
    unsetenv("STOCKADE_DATA_DIR");
    unsetenv("STOCKADE_JWT_SECRET");
    unsetenv("DATABASE_URL");
}

Test(metrics, renders_counters_gauges_histograms_with_escaped_labels)
{
    stk_metrics_t *m;
    cr_assert_eq(stk_metrics_create(&m), 0);
    stk_metric_t *c, *g, *h;
    const char *lbl[] = {"state"};
    const double b[] = {0.01, 0.1};
    cr_assert_eq(stk_metrics_counter(m, "x_total", "a \\ help\nline", lbl, 1, &c), 0);
    cr_assert_eq(stk_metrics_counter(m, "x_total", "dup", NULL, 0, &g), STK_EEXIST);
    cr_assert_eq(stk_metrics_gauge(m, "bad name", "", NULL, 0, &g), STK_EINVAL);
    cr_assert_eq(stk_metrics_gauge(m, "y", "gauge", NULL, 0, &g), 0);
    cr_assert_eq(stk_metrics_histogram(m, "z_seconds", "h", NULL, 0, b, 2, &h), 0);
    const double unsorted[] = {1, 0.5};
    stk_metric_t *h2;
    cr_assert_eq(stk_metrics_histogram(m, "w", "h", NULL, 0, unsorted, 2, &h2), STK_EINVAL);
    stk_metric_add(c, (const char *[]){"Lo\"bby"}, 2);
    stk_metric_add(c, (const char *[]){"Lo\"bby"}, 1);
    stk_metric_add(c, (const char *[]){"x"}, -5); /* counters never go down */
    stk_metric_set(g, NULL, 7.5);
    stk_metric_observe(h, NULL, 0.005);
    stk_metric_observe(h, NULL, 0.05);
    stk_metric_observe(h, NULL, 3);
    char *text;
    size_t len;
    cr_assert_eq(stk_metrics_render(m, &text, &len), 0);
    cr_assert(strstr(text, "# HELP x_total a \\\\ help\\nline\n"), "%s", text);
    cr_assert(strstr(text, "x_total{state=\"Lo\\\"bby\"} 3\n"), "%s", text);
    cr_assert_null(strstr(text, "x_total{state=\"x\"}"), "%s", text);
    cr_assert(strstr(text, "y 7.5\n"), "%s", text);
    cr_assert(strstr(text, "z_seconds_bucket{le=\"0.01\"} 1\n"), "%s", text);
    cr_assert(strstr(text, "z_seconds_bucket{le=\"0.1\"} 2\n"), "%s", text);
    cr_assert(strstr(text, "z_seconds_bucket{le=\"+Inf\"} 3\n"), "%s", text);
    cr_assert(strstr(text, "z_seconds_count 3\n"), "%s", text);
    free(text);
    stk_metrics_destroy(m);
}

static void collect(stk_metrics_t *m, void *ud)
{
    (void)ud;
    stk_metric_t *g = stk_metrics_find(m, "sessions");
    stk_metric_reset(g);
    stk_metric_set(g, (const char *[]){"InProgress"}, 4);
}

Test(metrics, label_values_beyond_the_limit_fold_into_other_and_collectors_run)
{
    stk_metrics_t *m;
    cr_assert_eq(stk_metrics_create(&m), 0);
    stk_metric_t *c, *g;
    cr_assert_eq(stk_metrics_counter(m, "c_total", "", (const char *[]){"k"}, 1, &c), 0);
    cr_assert_eq(stk_metrics_gauge(m, "sessions", "", (const char *[]){"state"}, 1, &g), 0);
    cr_assert_eq(stk_metrics_collector(m, collect, NULL), 0);
    for (int i = 0; i < 3 * STK_METRICS_SERIES_MAX; i++) {
        char k[16];
        snprintf(k, sizeof k, "v%d", i);
        stk_metric_add(c, (const char *[]){k}, 1);
    }
    cr_assert_eq(stk_metric_value(c, (const char *[]){"v0"}), 1);
    cr_assert_eq(stk_metric_value(c, (const char *[]){"other"}),
                 3 * STK_METRICS_SERIES_MAX - (STK_METRICS_SERIES_MAX - 1));
    char *text;
    cr_assert_eq(stk_metrics_render(m, &text, NULL), 0);
    cr_assert(strstr(text, "sessions{state=\"InProgress\"} 4\n"), "%s", text);
    free(text);
    stk_metrics_destroy(m);
}

Test(api_app, the_owner_index_sees_events_committed_outside_the_api, .timeout = 60)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
    char tok[STK_JWT_BUF];
    stk_uuid_t user, tribe;
    cr_assert_eq(hc_user(R.port, "pia", tok, &user), 0);
    stk_uuid_random(&tribe);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    stk_payload_put_uuid(&pk, "user_id", &user);
    stk_payload_put_cstr(&pk, "name", "Outside");
    stk_payload_put_cstr(&pk, "archetype", "Balanced");
    stk_payload_put_uint(&pk, "damage_bp", 2000);
    stk_payload_put_uint(&pk, "attack_speed_bp", 2000);
    stk_payload_put_uint(&pk, "range_bp", 1000);
    stk_payload_put_cstr(&pk, "color", "#abcdef");
    stk_append_t item = {.stream = tribe,
                         .type = STK_EV_TRIBE_FOUNDED,
                         .schema = 1,
                         .actor = user,
                         .payload = (const uint8_t *)sb.data,
                         .payload_len = sb.size,
                         .expected_version = STK_VERSION_NONE};
    stk_append_result_t res;
    cr_assert_eq(stk_writer_append_wait(stk_app_writer(R.app), &item, 1, &res), 0);
    msgpack_sbuffer_destroy(&sb);
    hc_resp_t r;
    hc_json(R.port, "GET", "/v1/tribes", tok, NULL, &r);
    cr_assert_eq(r.status, 200);
    json_t *list = json_object_get(r.json, "tribes");
    cr_assert_eq(json_array_size(list), 1, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                     "Outside");
    hc_free(&r);

    /* The user joins a session with it, twice (a rejoin): one game played, and the tribe
     * can no longer be deleted (session_players.tribe_id is ON DELETE RESTRICT). */
    stk_uuid_t session;
    stk_uuid_random(&session);
    for (int i = 0; i < 2; i++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 5);
        stk_payload_put_uuid(&pk, "tribe_id", &tribe);
        stk_payload_put_uint(&pk, "damage_bp", 2000);
        stk_payload_put_uint(&pk, "attack_speed_bp", 2000);
        stk_payload_put_uint(&pk, "range_bp", 1000);
        stk_payload_put_cstr(&pk, "color", "#abcdef");
        cr_assert_eq(
            stk_payload_check(STK_EV_PLAYER_JOINED, 1, (const uint8_t *)sb.data, sb.size, NULL), 0);
        stk_append_t join = {.stream = session,
                             .type = STK_EV_PLAYER_JOINED,
                             .schema = 1,
                             .actor = user,
                             .payload = (const uint8_t *)sb.data,
                             .payload_len = sb.size,
                             .expected_version = STK_VERSION_ANY};
        cr_assert_eq(stk_writer_append_wait(stk_app_writer(R.app), &join, 1, &res), 0);
        msgpack_sbuffer_destroy(&sb);
    }
    hc_json(R.port, "GET", "/v1/users/me", tok, NULL, &r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total_games_played")), 1, "%s",
                 r.body);
    hc_free(&r);
    char path[96], ids[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&tribe, ids);
    snprintf(path, sizeof path, "/v1/tribes/%s", ids);
    uint64_t head = ar_head(&R);
    hc_json(R.port, "DELETE", path, tok, NULL, &r);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(hc_is_problem(&r));
    hc_free(&r);
    cr_assert_eq(ar_head(&R), head);
    ar_stop(&R, false);
}

Test(api_app, a_client_that_leaves_before_the_commit_does_not_hurt, .timeout = 60)
{
    app_runner_t R;
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
    const char *body =
        "{\"username\":\"ghost\",\"email\":\"ghost@example.com\",\"password\":\"password123\"}";
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST /v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)R.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(send(fd, req, (size_t)n, 0), n);
    struct linger lg = {1, 0}; /* reset at close: the answer has nowhere to go */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    /* The server stays up; the registration either committed or never started. */
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/auth/register", NULL, body, &r);
    int st = r.status;
    hc_free(&r);
    cr_assert(st == 409 || st == 201, "the first request committed, or this one did: %d", st);
    hc_json(R.port, "GET", "/healthz", NULL, NULL, &r);
    cr_assert_eq(r.status, 200);
    hc_free(&r);
    ar_stop(&R, false);
}
