/* net/api_sessions.c — sessions over REST, and the owner of the live hub (net/hub.h).
 *
 *   POST /v1/sessions {map_id, tick_rate?}   → 201 {id, status, map_id, tick_rate, seed}
 *        opens a lobby: SessionOpened with the map's current MapDrawn payload embedded, the
 *        default balance, a random seed; the map must be public or the caller's (else 404,
 *        as GET /v1/maps/{id} answers). Nobody has joined yet: the opener joins like anyone.
 *   POST /v1/sessions/{id}/join {tribe_id}   → 200 {id, player, seq}  (PlayerJoined)
 *        the caller's own, live tribe (else 404); the first joiner is host (core rules);
 *        full → 409 session_full; not in the lobby → 409 wrong_state; twice → 409.
 *   POST /v1/sessions/{id}/leave             → 200 {id, seq}          (PlayerLeft)
 *   GET  /v1/sessions/{id}                   → 200 status, players, wave, lives, tick
 *   GET  /v1/sessions/{id}/events[?from_seq=N] → 200 application/x-ndjson: the session's
 *        stream, one stk_json_event_dump line per event (seq >= N), streamed in chunks
 *   GET  /v1/sessions                        → 503 problem (listing: projections issue)
 *   GET  /v1/sessions/{id}/live              → WebSocket (net/api_live.c)
 * Every route needs a Bearer access token. REST inputs and live ops are inputs of the same
 * session host, through the hub. A refused input answers 409 (422 for bad bonuses) with
 * the game's reject code as a field error on "session".
 * Thread: loop thread.
 */
#include "net/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "core/error.h"
#include "events/game.h"
#include "events/json.h"
#include "events/types.h"
#include "net/hub.h"
#include "net/live_codec.h"
#include "net/model.h"

#define EVENTS_CHUNK 256

static void hub_stop_hook(stk_app_t *app, void *ud)
{
    (void)app;
    stk_hub_stop(ud);
}

static void hub_free_hook(stk_app_t *app, void *ud)
{
    (void)app;
    stk_hub_free(ud);
}

/* ---- POST /v1/sessions ---------------------------------------------------------------- */

typedef struct open_ctx {
    stk_http_res_t *res;
    stk_uuid_t id, map_id;
    uint32_t tick_rate;
    uint64_t seed;
} open_ctx_t;

static void opened_cb(void *ud, int status)
{
    open_ctx_t *x = ud;
    if (status != 0) {
        stk_app_problem_err(x->res, status, "the session could not be opened", NULL);
    } else {
        char ids[STK_UUID_STR_LEN + 1], mids[STK_UUID_STR_LEN + 1], loc[64], seed[24];
        stk_uuid_format(&x->id, ids);
        stk_uuid_format(&x->map_id, mids);
        snprintf(loc, sizeof loc, "/v1/sessions/%s", ids);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)x->seed);
        (void)stk_http_res_header(x->res, "Location", loc);
        stk_app_send_json_new(x->res, 201,
                              json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", ids, "status", "lobby",
                                        "map_id", mids, "tick_rate", (json_int_t)x->tick_rate,
                                        "seed", seed));
    }
    free(x);
}

static void h_open(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_hub_t *h = arg;
    stk_app_t *app = stk_hub_app(h);
    stk_uuid_t user;
    json_t *body = NULL;
    stk_model_map_t *mm = NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (stk_app_auth(app, req, res, &user) != 0)
        goto done;
    if (stk_app_json_body(req, res, &body) != 0)
        goto done;
    stk_app_fields_t *f = malloc(sizeof *f);
    if (!f) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        goto done;
    }
    stk_app_fields_init(f);
    stk_uuid_t map_id;
    json_t *jm = json_object_get(body, "map_id");
    if (!json_is_string(jm) || stk_uuid_parse(json_string_value(jm), &map_id) != 0)
        stk_app_fields_add(f, "map_id", "invalid", "map_id must be a UUID");
    uint32_t tick_rate = 20;
    json_t *jt = json_object_get(body, "tick_rate");
    if (jt) {
        if (!json_is_integer(jt) || json_integer_value(jt) < 1 ||
            json_integer_value(jt) > STK_GAME_MAX_TICK_RATE)
            stk_app_fields_add(f, "tick_rate", "out_of_range", "tick_rate must be 1..1000");
        else
            tick_rate = (uint32_t)json_integer_value(jt);
    }
    if (f->n) {
        stk_app_problem_fields(res, f);
        free(f);
        goto done;
    }
    free(f);
    mm = malloc(sizeof *mm);
    if (!mm) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        goto done;
    }
    int rc = stk_model_map(stk_app_model(app), stk_app_log(app), &map_id, mm);
    if (rc == 0 && !mm->is_public && !stk_uuid_eq(&mm->user_id, &user))
        rc = STK_ENOTFOUND;
    if (rc != 0) {
        if (rc == STK_ENOTFOUND)
            stk_app_problem(res, 404, NULL, "no such map (or it is private)");
        else
            stk_app_problem_err(res, rc, NULL, NULL);
        goto done;
    }
    stk_game_map_meta_t meta;
    memset(&meta, 0, sizeof meta);
    meta.user_id = mm->user_id;
    meta.name = mm->name;
    meta.name_len = strlen(mm->name);
    meta.description = mm->description;
    meta.description_len = strlen(mm->description);
    rc = stk_game_map_encode(STK_EV_MAP_DRAWN, &mm->map, &meta, &sb);
    if (rc != 0) {
        stk_app_problem_err(res, rc, "the map cannot be played", NULL);
        goto done;
    }
    open_ctx_t *x = calloc(1, sizeof *x);
    if (!x) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        goto done;
    }
    x->res = res;
    stk_uuid_random(&x->id);
    x->map_id = map_id;
    x->tick_rate = tick_rate;
    randombytes_buf(&x->seed, sizeof x->seed);
    stk_session_open_args_t a;
    memset(&a, 0, sizeof a);
    a.id = x->id;
    a.opener = user;
    a.map_id = map_id;
    a.seed = x->seed;
    a.tick_rate = tick_rate;
    a.map_payload = (const uint8_t *)sb.data;
    a.map_len = sb.size;
    rc = stk_hub_open(h, &a, opened_cb, x);
    if (rc != 0) {
        free(x);
        stk_app_problem_err(res, rc, "the session could not be opened", NULL);
    }
done:
    msgpack_sbuffer_destroy(&sb);
    free(mm);
    json_decref(body);
}

/* ---- join / leave ------------------------------------------------------------------- */

typedef struct input_ctx {
    stk_http_res_t *res;
    stk_hub_t *hub;
    stk_uuid_t id, user;
} input_ctx_t;

static void input_done(void *ud, int status, uint64_t seq, uint64_t tick)
{
    input_ctx_t *x = ud;
    (void)tick;
    if (status != 0) {
        stk_app_problem_err(x->res, status, "the command could not be recorded", NULL);
    } else {
        char ids[STK_UUID_STR_LEN + 1];
        stk_uuid_format(&x->id, ids);
        json_t *d = NULL;
        json_int_t player = -1;
        if (stk_hub_describe(x->hub, &x->id, &d) == 0) {
            json_t *ps = json_object_get(d, "players");
            size_t i;
            json_t *p;
            char us[STK_UUID_STR_LEN + 1];
            stk_uuid_format(&x->user, us);
            json_array_foreach(ps, i, p)
            {
                const char *u = json_string_value(json_object_get(p, "user"));
                if (u && strcmp(u, us) == 0)
                    player = (json_int_t)i;
            }
        }
        json_t *out =
            json_pack("{s:s, s:I, s:I, s:s}", "id", ids, "player", player, "seq", (json_int_t)seq,
                      "status", d ? json_string_value(json_object_get(d, "status")) : "unknown");
        json_decref(d);
        stk_app_send_json_new(x->res, 200, out);
    }
    free(x);
}

static void submit_input(stk_hub_t *h, stk_http_res_t *res, const stk_uuid_t *id,
                         const stk_uuid_t *user, const stk_game_input_t *in)
{
    input_ctx_t *x = calloc(1, sizeof *x);
    if (!x) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    x->res = res;
    x->hub = h;
    x->id = *id;
    x->user = *user;
    stk_reject_t why = STK_REJECT_NONE;
    int rc = stk_hub_input(h, id, in, &why, input_done, x);
    if (rc == 0)
        return;
    free(x);
    if (rc == STK_EPERM) {
        stk_app_fields_t *f = malloc(sizeof *f);
        if (!f) {
            stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
            return;
        }
        stk_app_fields_init(f);
        stk_app_fields_add(f, "session", stk_live_game_reject_code(why), "%s",
                           stk_reject_message(why));
        stk_app_problem(res, why == STK_REJECT_BAD_BONUS ? 422 : 409, f, "%s",
                        stk_reject_message(why));
        free(f);
    } else if (rc == STK_ENOTFOUND || rc == STK_ECORRUPT) { /* ECORRUPT: not a session */
        stk_app_problem(res, 404, NULL, "no such session");
    } else {
        stk_app_problem_err(res, rc, NULL, NULL);
    }
}

static void h_join(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_hub_t *h = arg;
    stk_app_t *app = stk_hub_app(h);
    stk_uuid_t user, id, tribe_id;
    json_t *body = NULL;
    stk_model_tribe_t *t = NULL;
    if (stk_app_auth(app, req, res, &user) != 0 || stk_app_param_uuid(req, res, "id", &id) != 0 ||
        stk_app_json_body(req, res, &body) != 0)
        goto done;
    json_t *jt = json_object_get(body, "tribe_id");
    if (!json_is_string(jt) || stk_uuid_parse(json_string_value(jt), &tribe_id) != 0) {
        stk_app_problem(res, 422, NULL, "tribe_id must be a UUID");
        goto done;
    }
    t = malloc(sizeof *t);
    if (!t) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        goto done;
    }
    int rc = stk_model_tribe(stk_app_log(app), &tribe_id, t);
    if (rc == 0 && (t->deleted || !stk_uuid_eq(&t->user_id, &user)))
        rc = STK_ENOTFOUND;
    if (rc != 0) {
        if (rc == STK_ENOTFOUND)
            stk_app_problem(res, 404, NULL, "no such tribe of yours");
        else
            stk_app_problem_err(res, rc, NULL, NULL);
        goto done;
    }
    stk_game_input_t in;
    memset(&in, 0, sizeof in);
    in.kind = STK_INPUT_JOIN;
    memcpy(in.player, user.b, STK_UUID_LEN);
    memcpy(in.tribe, tribe_id.b, STK_UUID_LEN);
    in.damage_bp = t->damage_bp;
    in.attack_speed_bp = t->attack_speed_bp;
    in.range_bp = t->range_bp;
    if (stk_game_color_parse(t->color, strlen(t->color), &in.color) != 0)
        in.color = 0;
    submit_input(h, res, &id, &user, &in);
done:
    free(t);
    json_decref(body);
}

static void h_leave(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_hub_t *h = arg;
    stk_uuid_t user, id;
    if (stk_app_auth(stk_hub_app(h), req, res, &user) != 0 ||
        stk_app_param_uuid(req, res, "id", &id) != 0)
        return;
    stk_game_input_t in;
    memset(&in, 0, sizeof in);
    in.kind = STK_INPUT_LEAVE;
    memcpy(in.player, user.b, STK_UUID_LEN);
    submit_input(h, res, &id, &user, &in);
}

/* ---- GET ------------------------------------------------------------------------------ */

static void h_get(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_hub_t *h = arg;
    stk_uuid_t user, id;
    if (stk_app_auth(stk_hub_app(h), req, res, &user) != 0 ||
        stk_app_param_uuid(req, res, "id", &id) != 0)
        return;
    json_t *d = NULL;
    int rc = stk_hub_describe(h, &id, &d);
    if (rc == STK_ENOTFOUND || rc == STK_ECORRUPT)
        stk_app_problem(res, 404, NULL, "no such session");
    else if (rc != 0)
        stk_app_problem_err(res, rc, NULL, NULL);
    else
        stk_app_send_json_new(res, 200, d);
}

static void h_list(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    (void)req;
    (void)arg;
    stk_app_problem(res, 503, NULL,
                    "listing sessions needs the PostgreSQL projection, which is not configured");
}

/* GET /events: read EVENTS_CHUNK events per round, write them, continue on drain. */
typedef struct events_ctx {
    stk_app_t *app;
    stk_http_res_t *res;
    stk_uuid_t id;
    uint64_t next_version, from_seq;
    char *pending; /* a chunk that met a full buffer */
    size_t pending_len;
    char *buf;
    size_t len, cap;
    size_t n;
    int err;
} events_ctx_t;

static int events_line(void *ud, const stk_envelope_t *e)
{
    events_ctx_t *x = ud;
    x->next_version = e->version + 1;
    x->n++;
    if (e->seq < x->from_seq)
        return 0;
    char *line = NULL;
    int rc = stk_json_event_dump(e, &line, NULL);
    if (rc != 0)
        return rc;
    size_t n = strlen(line);
    if (x->len + n + 1 > x->cap) {
        size_t cap = (x->cap ? x->cap * 2 : 65536);
        while (cap < x->len + n + 1)
            cap *= 2;
        char *nb = realloc(x->buf, cap);
        if (!nb) {
            free(line);
            return STK_ENOMEM;
        }
        x->buf = nb;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, line, n);
    x->buf[x->len + n] = '\n';
    x->len += n + 1;
    free(line);
    return 0;
}

static void events_finish(events_ctx_t *x)
{
    stk_http_res_stream_on_drain(x->res, NULL, NULL);
    stk_http_res_stream_end(x->res);
    free(x->buf);
    free(x);
}

static void events_pump(stk_http_res_t *res, void *ud)
{
    events_ctx_t *x = ud;
    (void)res;
    for (;;) {
        if (x->len == 0) {
            x->n = 0;
            int rc = stk_log_read_stream(stk_app_log(x->app), &x->id, x->next_version, EVENTS_CHUNK,
                                         events_line, x);
            if (rc != 0 || (x->n == 0 && x->len == 0)) {
                events_finish(x);
                return;
            }
            if (x->len == 0)
                continue;
        }
        int rc = stk_http_res_stream_write(x->res, x->buf, x->len);
        if (rc == STK_EBUSY) {
            stk_http_res_stream_on_drain(x->res, events_pump, x);
            return;
        }
        if (rc != 0) {
            events_finish(x);
            return;
        }
        x->len = 0;
        if (x->n < EVENTS_CHUNK) {
            events_finish(x);
            return;
        }
    }
}

static int first_is_opened(void *ud, const stk_envelope_t *e)
{
    *(bool *)ud = e->type == STK_EV_SESSION_OPENED;
    return 1;
}

static void h_events(stk_http_req_t *req, stk_http_res_t *res, void *arg)
{
    stk_hub_t *h = arg;
    stk_app_t *app = stk_hub_app(h);
    stk_uuid_t user, id;
    if (stk_app_auth(app, req, res, &user) != 0 || stk_app_param_uuid(req, res, "id", &id) != 0)
        return;
    uint64_t from_seq = 0;
    char v[32];
    int rc = stk_http_query_get(req->query, "from_seq", v, sizeof v);
    if (rc == 0) {
        char *end = NULL;
        unsigned long long n = strtoull(v, &end, 10);
        if (!v[0] || *end || v[0] == '-') {
            stk_app_problem(res, 422, NULL, "from_seq must be an unsigned integer");
            return;
        }
        from_seq = n;
    } else if (rc != STK_ENOTFOUND) {
        stk_app_problem(res, 422, NULL, "from_seq must be an unsigned integer");
        return;
    }
    bool opened = false;
    rc = stk_log_read_stream(stk_app_log(app), &id, 1, 1, first_is_opened, &opened);
    if (rc < 0) {
        stk_app_problem_err(res, rc, NULL, NULL);
        return;
    }
    if (!opened) {
        stk_app_problem(res, 404, NULL, "no such session");
        return;
    }
    events_ctx_t *x = calloc(1, sizeof *x);
    if (!x) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    x->app = app;
    x->res = res;
    x->id = id;
    x->next_version = 1;
    x->from_seq = from_seq;
    if (stk_http_res_stream_begin(res, 200, "application/x-ndjson") != 0) {
        free(x);
        stk_app_problem_err(res, STK_EIO, NULL, NULL);
        return;
    }
    events_pump(res, x);
}

/* ---- module --------------------------------------------------------------------------- */

int stk_api_sessions_routes(stk_app_t *app, stk_route_t *out, size_t cap, size_t *n)
{
    stk_hub_t *h = NULL;
    int rc = stk_hub_create(app, NULL, &h);
    if (rc != 0)
        return rc;
    if ((rc = stk_app_on_stop(app, hub_stop_hook, h)) != 0 ||
        (rc = stk_app_on_free(app, hub_free_hook, h)) != 0) {
        /* the hub's handles are on the loop: free them through the normal path */
        return rc;
    }
    const stk_route_t routes[] = {
        {"POST", "/v1/sessions", h_open, h, 0},
        {"GET", "/v1/sessions", h_list, h, 0},
        {"GET", "/v1/sessions/{id}", h_get, h, 0},
        {"POST", "/v1/sessions/{id}/join", h_join, h, 0},
        {"POST", "/v1/sessions/{id}/leave", h_leave, h, 0},
        {"GET", "/v1/sessions/{id}/events", h_events, h, 0},
        {"GET", "/v1/sessions/{id}/live", stk_api_live_handler, h, STK_ROUTE_WEBSOCKET},
    };
    return stk_app_routes(routes, sizeof routes / sizeof routes[0], out, cap, n);
}
