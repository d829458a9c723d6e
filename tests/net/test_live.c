/* tests/net/test_live.c — live play end to end over real sockets (docs/live-protocol.md):
 * four users register, found a tribe each, one draws a map (the meadow terrain of
 * maps/meadow.json with two short waves, so the game lasts seconds, not minutes), opens a
 * session; four sockets (two JSON, two MessagePack; query-token and auth-message) join,
 * ready, start, place towers and call waves until the game ends. Checked: the `end` hash
 * of every player equals the final hash of a replay of GET /v1/sessions/{id}/events; a
 * player who disconnects and reconnects with last_seq misses no event; a spectator sees
 * exactly the log's sequence; ops for another player's tower, from a user who is not in
 * the session and from a spectating socket are rejected with their codes and leave nothing
 * in the log; bad, tampered and expired tokens are refused (401 / close 4001). */
#include <criterion/criterion.h>

#include "client.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "events/replay.h"
#include "net/auth_jwt.h"
#include "net/live_codec.h"

#define SEQ_MAX 20000

static app_runner_t R;

typedef struct cl {
    ws_client_t *ws;
    bool mp;
    uint64_t next_ref;
    uint64_t seqs[SEQ_MAX];
    size_t n_seq;
    json_t *acks;    /* "ref" → ack */
    json_t *rejects; /* "ref" → reject */
    json_t *welcome;
    json_t *end;
    json_t *events; /* array of event messages */
    int close_code;
    bool closed;
    uint64_t states;
} cl_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cl_init(cl_t *c)
{
    memset(c, 0, sizeof *c);
    c->acks = json_object();
    c->rejects = json_object();
    c->events = json_array();
    c->next_ref = 1;
}

static void cl_free(cl_t *c)
{
    if (c->ws)
        ws_free(c->ws);
    json_decref(c->acks);
    json_decref(c->rejects);
    json_decref(c->welcome);
    json_decref(c->end);
    json_decref(c->events);
    c->ws = NULL;
}

static void handle(cl_t *c, json_t *m)
{
    const char *op = json_string_value(json_object_get(m, "op"));
    cr_assert(op, "server message without op");
    char ref[80] = "";
    json_t *jr = json_object_get(m, "ref");
    if (json_is_integer(jr))
        snprintf(ref, sizeof ref, "%lld", (long long)json_integer_value(jr));
    else if (json_is_string(jr))
        snprintf(ref, sizeof ref, "%s", json_string_value(jr));
    if (strcmp(op, "event") == 0) {
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
        cr_assert(c->n_seq < SEQ_MAX);
        c->seqs[c->n_seq++] = seq;
        json_array_append(c->events, m);
    } else if (strcmp(op, "ack") == 0) {
        /* the event of an ack always comes first */
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
        bool seen = false;
        for (size_t i = 0; i < c->n_seq; i++)
            seen |= c->seqs[i] == seq;
        cr_assert(seen, "ack of seq %llu before its event", (unsigned long long)seq);
        json_object_set(c->acks, ref, m);
    } else if (strcmp(op, "reject") == 0) {
        json_object_set(c->rejects, ref[0] ? ref : "null", m);
    } else if (strcmp(op, "welcome") == 0) {
        json_decref(c->welcome);
        c->welcome = json_incref(m);
    } else if (strcmp(op, "end") == 0) {
        json_decref(c->end);
        c->end = json_incref(m);
    } else if (strcmp(op, "state") == 0) {
        c->states++;
    }
}

/* Reads one frame if one is available within wait_ms; returns false if none. */
static bool cl_read(cl_t *c, int wait_ms)
{
    if (!c->ws || c->closed)
        return false;
    if (c->ws->len == 0) {
        struct pollfd p = {.fd = c->ws->fd, .events = POLLIN};
        if (poll(&p, 1, wait_ms) <= 0)
            return false;
    }
    int opcode = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    if (ws_recv(c->ws, &opcode, &data, &len) != 0) {
        c->closed = true;
        if (!c->close_code)
            c->close_code = 1006;
        return false;
    }
    if (opcode == 8) {
        c->close_code = len >= 2 ? (data[0] << 8 | data[1]) : 1005;
        c->closed = true;
        ws_send(c->ws, 8, data, len >= 2 ? 2 : 0);
    } else if (opcode == 9) {
        ws_send(c->ws, 10, data, len);
    } else if (opcode == 1 || opcode == 2) {
        cr_assert_eq(opcode, c->mp ? 2 : 1, "frame kind matches the subprotocol");
        json_t *m = NULL;
        if (c->mp) {
            cr_assert_eq(stk_live_msgpack_to_json(data, len, &m), 0, "msgpack message decodes");
        } else {
            json_error_t je;
            m = json_loadb((const char *)data, len, 0, &je);
        }
        cr_assert(m, "server message decodes");
        handle(c, m);
        json_decref(m);
    }
    free(data);
    return true;
}

static void pump(cl_t **cs, size_t n, int ms)
{
    long long end = now_ms() + ms;
    do {
        bool any = false;
        for (size_t i = 0; i < n; i++)
            while (cl_read(cs[i], 0))
                any = true;
        if (!any) {
            struct pollfd p[16];
            size_t k = 0;
            for (size_t i = 0; i < n && k < 16; i++)
                if (cs[i]->ws && !cs[i]->closed)
                    p[k++] = (struct pollfd){.fd = cs[i]->ws->fd, .events = POLLIN};
            if (k == 0)
                return;
            long long left = end - now_ms();
            poll(p, k, left > 20 ? 20 : (left > 0 ? (int)left : 0));
        }
    } while (now_ms() < end);
}

static void pack_json(msgpack_packer *pk, const json_t *v)
{
    if (json_is_object(v)) {
        msgpack_pack_map(pk, json_object_size(v));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            msgpack_pack_str(pk, strlen(k));
            msgpack_pack_str_body(pk, k, strlen(k));
            pack_json(pk, x);
        }
    } else if (json_is_integer(v)) {
        msgpack_pack_int64(pk, json_integer_value(v));
    } else if (json_is_string(v)) {
        msgpack_pack_str(pk, json_string_length(v));
        msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
    } else if (json_is_boolean(v)) {
        if (json_is_true(v))
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
    } else {
        msgpack_pack_nil(pk);
    }
}

/* Sends msg (taken) with a fresh ref unless it has one; returns the ref. */
static uint64_t cl_send(cl_t *c, json_t *msg)
{
    uint64_t ref = 0;
    if (!json_object_get(msg, "ref")) {
        ref = c->next_ref++;
        json_object_set_new(msg, "ref", json_integer((json_int_t)ref));
    }
    if (c->mp) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack_json(&pk, msg);
        cr_assert_eq(ws_send(c->ws, 2, sb.data, sb.size), 0);
        msgpack_sbuffer_destroy(&sb);
    } else {
        char *s = json_dumps(msg, JSON_COMPACT);
        cr_assert_eq(ws_send_text(c->ws, s), 0);
        free(s);
    }
    json_decref(msg);
    return ref;
}

/* Waits for the answer to ref; returns the ack (borrowed) or NULL if rejected (code copied
 * into code_out). */
static json_t *cl_wait(cl_t **all, size_t n, cl_t *c, uint64_t ref, char *code_out)
{
    char k[32];
    snprintf(k, sizeof k, "%llu", (unsigned long long)ref);
    long long end = now_ms() + 10000;
    while (now_ms() < end) {
        json_t *a = json_object_get(c->acks, k);
        if (a)
            return a;
        json_t *r = json_object_get(c->rejects, k);
        if (r) {
            if (code_out)
                snprintf(code_out, 64, "%s", json_string_value(json_object_get(r, "code")));
            return NULL;
        }
        pump(all, n, 20);
    }
    cr_assert_fail("no answer to ref %s", k);
    return NULL;
}

static const char *sessions_path(const char *sid, const char *tail, char *buf, size_t cap)
{
    snprintf(buf, cap, "/v1/sessions/%s%s", sid, tail);
    return buf;
}

/* Connects and says hello; the welcome is in c->welcome afterwards. */
static void cl_connect(cl_t *c, const char *sid, const char *token, bool mp, bool query_token,
                       const char *hello_extra)
{
    char path[512], proto[64];
    if (query_token)
        snprintf(path, sizeof path, "/v1/sessions/%s/live?access_token=%s", sid, token);
    else
        snprintf(path, sizeof path, "/v1/sessions/%s/live", sid);
    c->mp = mp;
    int st = ws_connect(R.port, path, mp ? STK_LIVE_SUBPROTO_MSGPACK : STK_LIVE_SUBPROTO_JSON, NULL,
                        &c->ws, proto, sizeof proto);
    cr_assert_eq(st, 101);
    cr_assert_str_eq(proto, mp ? STK_LIVE_SUBPROTO_MSGPACK : STK_LIVE_SUBPROTO_JSON);
    c->closed = false;
    c->close_code = 0;
    if (!query_token)
        cl_send(c, json_pack("{s:s, s:s}", "op", "auth", "token", token));
    json_t *hello = json_pack("{s:s}", "op", "hello");
    if (hello_extra) {
        json_error_t je;
        json_t *x = json_loads(hello_extra, 0, &je);
        json_object_update(hello, x);
        json_decref(x);
    }
    json_decref(c->welcome);
    c->welcome = NULL;
    cl_send(c, hello);
    long long end = now_ms() + 10000;
    while (!c->welcome && !c->closed && now_ms() < end)
        cl_read(c, 50);
    cr_assert(c->welcome, "welcome received");
}

static void make_tribe(const char *token, char *id)
{
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/tribes", token,
            "{\"name\":\"Tribe\",\"archetype\":\"Balanced\",\"damage_bonus\":0.25,"
            "\"attack_speed_bonus\":0.15,\"range_bonus\":0.10,\"color_theme\":\"#aa3300\"}",
            &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    snprintf(id, STK_UUID_STR_LEN + 1, "%s", hc_str(&r, "id"));
    hc_free(&r);
}

/* meadow.json with two short waves. */
static void make_map(const char *token, char *id)
{
    char path[1024];
    const char *src = getenv("STK_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/maps/meadow.json", src ? src : ".");
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    cr_assert(m, "meadow.json loads: %s", je.text);
    json_object_set_new(m, "wave_config",
                        json_pack("{s:[{s:i, s:[{s:s, s:i, s:i}]}, {s:i, s:[{s:s, s:i, s:i}]}]}",
                                  "waves", "waveNumber", 1, "enemies", "type", "grunt", "count", 4,
                                  "spawnInterval", 300, "waveNumber", 2, "enemies", "type",
                                  "runner", "count", 3, "spawnInterval", 300));
    char *body = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    hc_resp_t r;
    hc_json(R.port, "POST", "/v1/maps", token, body, &r);
    free(body);
    cr_assert_eq(r.status, 201, "%s", r.body);
    snprintf(id, STK_UUID_STR_LEN + 1, "%s", hc_str(&r, "id"));
    hc_free(&r);
}

/* Starts the app with the given abandon time (seconds, STOCKADE_ABANDON_AFTER). */
static void start(const char *abandon_after)
{
    setenv("STOCKADE_ABANDON_AFTER", abandon_after, 1);
    cr_assert_eq(ar_start(&R, NULL, NULL), 0);
}

static void teardown(void)
{
    if (R.app)
        ar_stop(&R, false);
}

TestSuite(live, .fini = teardown, .timeout = 150);

typedef struct world {
    char tok[5][STK_JWT_BUF];
    stk_uuid_t uid[5];
    char tribe[4][STK_UUID_STR_LEN + 1];
    char map[STK_UUID_STR_LEN + 1];
    char sid[STK_UUID_STR_LEN + 1];
} world_t;

static void make_world(world_t *w, bool join)
{
    static const char *const names[5] = {"alice", "bob", "carol", "dave", "eve"};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(hc_user(R.port, names[i], w->tok[i], &w->uid[i]), 0);
    for (int i = 0; i < 4; i++)
        make_tribe(w->tok[i], w->tribe[i]);
    make_map(w->tok[0], w->map);
    hc_resp_t r;
    hc_jsonf(R.port, "POST", "/v1/sessions", w->tok[0], &r, "{\"map_id\":\"%s\"}", w->map);
    cr_assert_eq(r.status, 201, "%s", r.body);
    cr_assert_str_eq(hc_str(&r, "status"), "lobby");
    snprintf(w->sid, sizeof w->sid, "%s", hc_str(&r, "id"));
    hc_free(&r);
    if (!join)
        return;
    char p[256];
    for (int i = 0; i < 4; i++) {
        hc_jsonf(R.port, "POST", sessions_path(w->sid, "/join", p, sizeof p), w->tok[i], &r,
                 "{\"tribe_id\":\"%s\"}", w->tribe[i]);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert_eq(json_integer_value(json_object_get(r.json, "player")), i);
        hc_free(&r);
    }
}

static char *fetch_events(const char *sid, const char *token, size_t *len)
{
    char p[256];
    hc_resp_t r;
    hc_json(R.port, "GET", sessions_path(sid, "/events", p, sizeof p), token, NULL, &r);
    cr_assert_eq(r.status, 200);
    char ct[128];
    cr_assert(hc_header(&r, "Content-Type", ct, sizeof ct));
    cr_assert(strstr(ct, "application/x-ndjson"));
    char *body = r.body;
    *len = r.body_len;
    r.body = NULL;
    hc_free(&r);
    return body;
}

Test(live, four_players_play_to_the_end_and_the_replay_agrees)
{
    start("60");
    world_t *w = calloc(1, sizeof *w);
    make_world(w, true);

    /* a fifth user may not join with someone else's tribe, nor join a full session */
    hc_resp_t r;
    char p[256], eve_tribe[STK_UUID_STR_LEN + 1];
    hc_jsonf(R.port, "POST", sessions_path(w->sid, "/join", p, sizeof p), w->tok[4], &r,
             "{\"tribe_id\":\"%s\"}", w->tribe[0]);
    cr_assert_eq(r.status, 404, "someone else's tribe: %s", r.body);
    hc_free(&r);
    make_tribe(w->tok[4], eve_tribe);
    hc_jsonf(R.port, "POST", sessions_path(w->sid, "/join", p, sizeof p), w->tok[4], &r,
             "{\"tribe_id\":\"%s\"}", eve_tribe);
    cr_assert_eq(r.status, 409, "full: %s", r.body);
    cr_assert(hc_has_field_error(&r, "session", "session_full"));
    hc_free(&r);

    cl_t *c[7];
    for (int i = 0; i < 7; i++) {
        c[i] = calloc(1, sizeof(cl_t));
        cl_init(c[i]);
    }
    /* players: 0 json+query, 1 msgpack+auth, 2 json+auth, 3 msgpack+query */
    cl_connect(c[0], w->sid, w->tok[0], false, true, NULL);
    cl_connect(c[1], w->sid, w->tok[1], true, false, NULL);
    cl_connect(c[2], w->sid, w->tok[2], false, false, NULL);
    cl_connect(c[3], w->sid, w->tok[3], true, true, NULL);
    /* spectator from the very start (whole history), eve not in the session, and dave
     * watching on a second socket */
    cl_connect(c[4], w->sid, w->tok[4], false, true, "{\"last_seq\":0}");
    cl_connect(c[5], w->sid, w->tok[4], true, true, NULL);
    cl_connect(c[6], w->sid, w->tok[3], false, true, "{\"spectate\":true}");
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(c[0]->welcome, "you"), "player")), 0);
    cr_assert(json_is_true(json_object_get(json_object_get(c[0]->welcome, "you"), "host")));
    cr_assert(json_is_true(json_object_get(json_object_get(c[4]->welcome, "you"), "spectator")));
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(c[0]->welcome, "snapshot"), "state")),
        "lobby");
    cr_assert_eq(
        json_array_size(json_object_get(json_object_get(c[1]->welcome, "snapshot"), "players")), 4);

    char code[64];
    /* eve is not in the session; dave's spectating socket is read-only */
    uint64_t ref = cl_send(c[5], json_pack("{s:s, s:b}", "op", "ready", "ready", 1));
    cr_assert_null(cl_wait(c, 7, c[5], ref, code));
    cr_assert_str_eq(code, "not_in_session");
    ref = cl_send(c[6], json_pack("{s:s, s:b}", "op", "ready", "ready", 1));
    cr_assert_null(cl_wait(c, 7, c[6], ref, code));
    cr_assert_str_eq(code, "spectator");
    /* start before everyone is ready */
    ref = cl_send(c[0], json_pack("{s:s}", "op", "start"));
    cr_assert_null(cl_wait(c, 7, c[0], ref, code));
    cr_assert_str_eq(code, "not_all_ready");
    for (int i = 0; i < 4; i++) {
        ref = cl_send(c[i], json_pack("{s:s, s:b}", "op", "ready", "ready", 1));
        cr_assert_not_null(cl_wait(c, 7, c[i], ref, NULL));
    }
    ref = cl_send(c[1], json_pack("{s:s}", "op", "start"));
    cr_assert_null(cl_wait(c, 7, c[1], ref, code));
    cr_assert_str_eq(code, "not_host");
    /* a flood of ops from one socket is rate limited (and writes nothing) */
    uint64_t first = 0;
    for (int i = 0; i < 60; i++) {
        uint64_t rf = cl_send(c[1], json_pack("{s:s}", "op", "start"));
        first = first ? first : rf;
    }
    int limited = 0, not_host = 0;
    for (uint64_t rf = first; rf < first + 60; rf++) {
        cr_assert_null(cl_wait(c, 7, c[1], rf, code));
        limited += strcmp(code, "rate_limited") == 0;
        not_host += strcmp(code, "not_host") == 0;
    }
    cr_assert_gt(limited, 0, "flood limited");
    cr_assert_gt(not_host, 0, "the first ops of the burst are served");
    ref = cl_send(c[0], json_pack("{s:s}", "op", "start"));
    cr_assert_not_null(cl_wait(c, 7, c[0], ref, NULL));

    /* towers along the road (row 10): rows 9 and 11 */
    uint32_t alice_tower = 0;
    int placed = 0;
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 4; k++) {
            int x = 2 + i * 4 + k, y = (k % 2) ? 9 : 11;
            ref = cl_send(c[i], json_pack("{s:s, s:i, s:i, s:s}", "op", "place", "x", x, "y", y,
                                          "tower", "arrow"));
            json_t *a = cl_wait(c, 7, c[i], ref, code);
            if (a) {
                placed++;
                if (i == 0 && !alice_tower)
                    alice_tower = 1; /* tower ids start at 1, in placement order */
            }
        }
    }
    cr_assert_gt(placed, 8, "most placements are accepted");
    /* bob may not upgrade alice's tower (id 1: the first placed) */
    ref = cl_send(c[1], json_pack("{s:s, s:i}", "op", "upgrade", "tower_id", (int)alice_tower));
    cr_assert_null(cl_wait(c, 7, c[1], ref, code));
    cr_assert_str_eq(code, "not_owner");
    /* malformed ops */
    cr_assert_eq(ws_send_text(c[0]->ws, "{\"op\":\"place\",\"ref\":99,\"x\":\"a\"}"), 0);
    cr_assert_null(cl_wait(c, 7, c[0], 99, code));
    cr_assert_str_eq(code, "bad_message");
    cr_assert_eq(ws_send_text(c[0]->ws, "{\"op\":\"dance\",\"ref\":98}"), 0);
    cr_assert_null(cl_wait(c, 7, c[0], 98, code));
    cr_assert_str_eq(code, "unknown_op");

    /* the host pauses; nothing can be built while paused; the host resumes */
    ref = cl_send(c[1], json_pack("{s:s}", "op", "pause"));
    cr_assert_null(cl_wait(c, 7, c[1], ref, code));
    cr_assert_str_eq(code, "not_host");
    ref = cl_send(c[0], json_pack("{s:s}", "op", "pause"));
    cr_assert_not_null(cl_wait(c, 7, c[0], ref, code), "%s", code);
    ref = cl_send(
        c[2], json_pack("{s:s, s:i, s:i, s:s}", "op", "place", "x", 17, "y", 12, "tower", "frost"));
    cr_assert_null(cl_wait(c, 7, c[2], ref, code));
    cr_assert_str_eq(code, "wrong_state");
    ref = cl_send(c[0], json_pack("{s:s}", "op", "resume"));
    cr_assert_not_null(cl_wait(c, 7, c[0], ref, code), "%s", code);

    ref = cl_send(c[2], json_pack("{s:s}", "op", "call_wave"));
    cr_assert_not_null(cl_wait(c, 7, c[2], ref, code), "%s", code);
    pump(c, 7, 300);

    /* player 3 drops mid-game and comes back with its last seq */
    uint64_t first_welcome_seq =
        (uint64_t)json_integer_value(json_object_get(c[3]->welcome, "seq"));
    uint64_t last = c[3]->n_seq ? c[3]->seqs[c[3]->n_seq - 1] : first_welcome_seq;
    ws_free(c[3]->ws);
    c[3]->ws = NULL;
    pump(c, 7, 700);
    char hx[64];
    snprintf(hx, sizeof hx, "{\"last_seq\":%llu}", (unsigned long long)last);
    cl_connect(c[3], w->sid, w->tok[3], true, true, hx);

    /* call the second wave as soon as the first stops spawning, then play to the end */
    long long end = now_ms() + 60000;
    int called = 1;
    while (now_ms() < end) {
        bool all_end = true;
        for (int i = 0; i < 4; i++)
            all_end &= c[i]->end != NULL;
        if (all_end && c[4]->end)
            break;
        if (called < 2) {
            ref = cl_send(c[0], json_pack("{s:s}", "op", "call_wave"));
            if (cl_wait(c, 7, c[0], ref, code))
                called++;
            else
                cr_assert(strcmp(code, "wave_spawning") == 0 || strcmp(code, "no_more_waves") == 0,
                          "%s", code);
        }
        pump(c, 7, 100);
    }
    if (!c[0]->end) {
        hc_json(R.port, "GET", sessions_path(w->sid, "", p, sizeof p), w->tok[1], NULL, &r);
        fprintf(stderr, "no end; session: %s; states seen %llu, called %d\n", r.body,
                (unsigned long long)c[0]->states, called);
        for (int i = 0; i < 7; i++)
            fprintf(stderr, "client %d: closed %d code %d events %zu\n", i, c[i]->closed,
                    c[i]->close_code, c[i]->n_seq);
        hc_free(&r);
    }
    for (int i = 0; i < 5; i++)
        cr_assert_not_null(c[i]->end, "client %d got end", i);
    const char *hash = json_string_value(json_object_get(c[0]->end, "hash"));
    cr_assert_not_null(hash, "JSON hash is a decimal string");
    char h1[32];
    json_t *h1j = json_object_get(c[1]->end, "hash"); /* msgpack uint: above INT64_MAX it
                                                         converts to a decimal string */
    if (json_is_string(h1j))
        snprintf(h1, sizeof h1, "%s", json_string_value(h1j));
    else
        snprintf(h1, sizeof h1, "%llu", (unsigned long long)json_integer_value(h1j));
    cr_assert_str_eq(hash, h1, "json and msgpack players agree on the final hash");
    pump(c, 7, 300);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(c[i]->close_code, 1000, "client %d closed normally after end (%d)", i,
                     c[i]->close_code);

    /* the replay of the served log agrees */
    size_t len = 0;
    char *log = fetch_events(w->sid, w->tok[0], &len);
    FILE *f = fmemopen(log, len, "r");
    stk_replay_t *rp = NULL;
    cr_assert_eq(stk_replay_create(NULL, &rp), 0);
    uint64_t line = 0;
    cr_assert_eq(stk_replay_run_jsonl(rp, f, NULL, &line), 0, "replay ok (line %llu)",
                 (unsigned long long)line);
    stk_replay_summary_t sum;
    stk_replay_summary(rp, &sum);
    cr_assert(sum.all_ok);
    char h2[32];
    snprintf(h2, sizeof h2, "%llu", (unsigned long long)sum.hash);
    cr_assert_str_eq(hash, h2, "live end hash == replay hash");
    stk_replay_destroy(rp);
    fclose(f);

    /* the spectator saw exactly the log's sequence; nothing from eve or the refused ops */
    size_t n_lines = 0, upgrades = 0, eve = 0, disc = 0, reco = 0;
    char eve_id[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&w->uid[4], eve_id);
    for (char *s = log, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
        json_error_t je;
        json_t *ev = json_loadb(s, (size_t)(nl - s), 0, &je);
        cr_assert(ev);
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
        cr_assert(n_lines < c[4]->n_seq && c[4]->seqs[n_lines] == seq,
                  "spectator event %zu is seq %llu", n_lines, (unsigned long long)seq);
        const char *type = json_string_value(json_object_get(ev, "type"));
        upgrades += strcmp(type, "TowerUpgraded") == 0;
        disc += strcmp(type, "PlayerDisconnected") == 0;
        reco += strcmp(type, "PlayerReconnected") == 0;
        eve += strcmp(json_string_value(json_object_get(ev, "actor")), eve_id) == 0;
        /* the reconnecting player has every event after its first welcome */
        if (seq > first_welcome_seq) {
            bool has = false;
            for (size_t i = 0; i < c[3]->n_seq; i++)
                has |= c[3]->seqs[i] == seq;
            cr_assert(has, "reconnected player missed seq %llu", (unsigned long long)seq);
        }
        n_lines++;
        json_decref(ev);
    }
    cr_assert_eq(n_lines, c[4]->n_seq, "spectator saw every event and nothing more");
    cr_assert_eq(upgrades, 0);
    cr_assert_eq(eve, 0);
    cr_assert_geq(disc, 1, "the drop was recorded");
    cr_assert_geq(reco, 1, "the return was recorded");
    free(log);

    hc_json(R.port, "GET", sessions_path(w->sid, "", p, sizeof p), w->tok[1], NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(hc_str(&r, "status"), "completed");
    hc_free(&r);
    /* the live metrics are exported */
    hc_request(R.port, "GET", "/metrics", NULL, NULL, NULL, 0, &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "stockade_live_acks_total"), "acks counted");
    cr_assert(strstr(r.body, "stockade_tick_duration_seconds"), "tick histogram");
    cr_assert(strstr(r.body, "stockade_live_rejects_total{reason=\"not_owner\"}"), "rejects");
    cr_assert(strstr(r.body, "stockade_sessions{state=\"completed\"}"), "sessions by state");
    hc_free(&r);
    for (int i = 0; i < 7; i++) {
        cl_free(c[i]);
        free(c[i]);
    }
    free(w);
}

Test(live, bad_tokens_are_refused)
{
    start("60");
    world_t *w = calloc(1, sizeof *w);
    make_world(w, false);
    char path[1024], proto[64];
    ws_client_t *ws = NULL;

    /* garbage and tampered tokens in the query: 401 before the upgrade */
    snprintf(path, sizeof path, "/v1/sessions/%s/live?access_token=abc.def.ghi", w->sid);
    cr_assert_eq(ws_connect(R.port, path, STK_LIVE_SUBPROTO_JSON, NULL, &ws, proto, sizeof proto),
                 401);
    char tampered[STK_JWT_BUF];
    snprintf(tampered, sizeof tampered, "%s", w->tok[0]);
    size_t tl = strlen(tampered);
    tampered[tl - 2] = tampered[tl - 2] == 'A' ? 'B' : 'A';
    snprintf(path, sizeof path, "/v1/sessions/%s/live?access_token=%s", w->sid, tampered);
    cr_assert_eq(ws_connect(R.port, path, STK_LIVE_SUBPROTO_JSON, NULL, &ws, proto, sizeof proto),
                 401);

    /* an expired token in the auth message: close 4001 */
    stk_jwt_claims_t cl;
    cr_assert_eq(stk_jwt_claims_new(&cl, &w->uid[0], STK_JWT_ACCESS, (int64_t)time(NULL) - 3600),
                 0);
    char expired[STK_JWT_BUF];
    cr_assert_eq(stk_jwt_sign(&ar_test_key, &cl, expired, sizeof expired, NULL), 0);
    snprintf(path, sizeof path, "/v1/sessions/%s/live", w->sid);
    cr_assert_eq(ws_connect(R.port, path, STK_LIVE_SUBPROTO_JSON, NULL, &ws, proto, sizeof proto),
                 101);
    char msg[1024];
    snprintf(msg, sizeof msg, "{\"op\":\"auth\",\"token\":\"%s\"}", expired);
    cr_assert_eq(ws_send_text(ws, msg), 0);
    cr_assert_eq(ws_wait_close(ws), 4001);
    ws_free(ws);

    /* an op before auth: close 4001 */
    cr_assert_eq(
        ws_connect(R.port, path, STK_LIVE_SUBPROTO_MSGPACK, NULL, &ws, proto, sizeof proto), 101);
    cr_assert_eq(ws_send(ws, 2, "\x81\xa2op\xa5start", 10), 0);
    cr_assert_eq(ws_wait_close(ws), 4001);
    ws_free(ws);

    /* no subprotocol: 400; unknown session: 404 */
    snprintf(path, sizeof path, "/v1/sessions/%s/live?access_token=%s", w->sid, w->tok[0]);
    cr_assert_eq(ws_connect(R.port, path, NULL, NULL, &ws, proto, sizeof proto), 400);
    snprintf(path, sizeof path,
             "/v1/sessions/00000000-0000-4000-8000-000000000001/live?access_token=%s", w->tok[0]);
    cr_assert_eq(ws_connect(R.port, path, STK_LIVE_SUBPROTO_JSON, NULL, &ws, proto, sizeof proto),
                 404);

    /* the log holds only the session's opening */
    size_t len = 0;
    char *log = fetch_events(w->sid, w->tok[0], &len);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += log[i] == '\n';
    cr_assert_eq(lines, 1);
    free(log);

    hc_resp_t r;
    hc_json(R.port, "GET", "/v1/sessions", w->tok[0], NULL, &r);
    cr_assert_eq(r.status, 503);
    hc_free(&r);
    /* a stream that is not a session (a user's) is no session */
    char uid[STK_UUID_STR_LEN + 1], p[128];
    stk_uuid_format(&w->uid[0], uid);
    hc_json(R.port, "GET", sessions_path(uid, "", p, sizeof p), w->tok[0], NULL, &r);
    cr_assert_eq(r.status, 404);
    hc_free(&r);
    hc_json(R.port, "GET", sessions_path(w->sid, "", p, sizeof p), NULL, NULL, &r);
    cr_assert_eq(r.status, 401, "sessions need a token");
    hc_free(&r);

    /* ?from_seq= filters the served stream */
    hc_json(R.port, "GET", sessions_path(w->sid, "/events?from_seq=abc", p, sizeof p), w->tok[0],
            NULL, &r);
    cr_assert_eq(r.status, 422);
    hc_free(&r);
    hc_json(R.port, "GET", sessions_path(w->sid, "/events?from_seq=999999", p, sizeof p), w->tok[0],
            NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0, "nothing at or after seq 999999");
    hc_free(&r);

    /* join then leave over REST; leaving twice is refused */
    hc_jsonf(R.port, "POST", sessions_path(w->sid, "/join", p, sizeof p), w->tok[0], &r,
             "{\"tribe_id\":\"%s\"}", w->tribe[0]);
    cr_assert_eq(r.status, 200, "%s", r.body);
    hc_free(&r);
    hc_json(R.port, "POST", sessions_path(w->sid, "/leave", p, sizeof p), w->tok[0], NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.body);
    hc_free(&r);
    hc_json(R.port, "POST", sessions_path(w->sid, "/leave", p, sizeof p), w->tok[0], NULL, &r);
    cr_assert_eq(r.status, 409, "%s", r.body);
    cr_assert(hc_has_field_error(&r, "session", "not_in_session"));
    hc_free(&r);
    free(w);
}

/* ---- abandonment ---------------------------------------------------------------------- */

Test(live, a_game_whose_players_are_gone_is_abandoned)
{
    start("0.5");
    world_t *w = calloc(1, sizeof *w);
    make_world(w, false);
    hc_resp_t r;
    char p[256];
    hc_jsonf(R.port, "POST", sessions_path(w->sid, "/join", p, sizeof p), w->tok[0], &r,
             "{\"tribe_id\":\"%s\"}", w->tribe[0]);
    cr_assert_eq(r.status, 200, "%s", r.body);
    hc_free(&r);
    cl_t *c = calloc(1, sizeof *c);
    cl_init(c);
    cl_connect(c, w->sid, w->tok[0], true, false, NULL);
    uint64_t ref = cl_send(c, json_pack("{s:s, s:b}", "op", "ready", "ready", 1));
    cr_assert_not_null(cl_wait(&c, 1, c, ref, NULL));
    ref = cl_send(c, json_pack("{s:s}", "op", "start"));
    cr_assert_not_null(cl_wait(&c, 1, c, ref, NULL));
    ws_free(c->ws);
    c->ws = NULL;

    long long end = now_ms() + 15000;
    bool abandoned = false;
    while (!abandoned && now_ms() < end) {
        hc_json(R.port, "GET", sessions_path(w->sid, "", p, sizeof p), w->tok[1], NULL, &r);
        abandoned = r.status == 200 && strcmp(hc_str(&r, "status"), "abandoned") == 0;
        hc_free(&r);
        if (!abandoned)
            poll(NULL, 0, 100);
    }
    cr_assert(abandoned, "abandoned after the players were gone");
    size_t len = 0;
    char *log = fetch_events(w->sid, w->tok[0], &len);
    cr_assert(strstr(log, "\"PlayerDisconnected\""));
    cr_assert(strstr(log, "\"SessionAbandoned\""));
    cr_assert(strstr(log, "\"abandoned\""), "GameEnded{abandoned}");
    free(log);

    /* a late spectator of the finished game gets welcome, end, then close 1000 */
    cl_t *s = calloc(1, sizeof *s);
    cl_init(s);
    cl_connect(s, w->sid, w->tok[4], false, true, NULL);
    end = now_ms() + 5000;
    while (!s->closed && now_ms() < end)
        cl_read(s, 50);
    cr_assert_not_null(s->end);
    cr_assert_str_eq(json_string_value(json_object_get(s->end, "result")), "abandoned");
    cr_assert_eq(s->close_code, 1000);
    cl_free(s);
    free(s);
    cl_free(c);
    free(c);
    free(w);
}
