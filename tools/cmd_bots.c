/* tools/cmd_bots.c — `stockade bots`: a load generator that plays real games against a
 * running `stockade serve` over its REST API and the live WebSocket protocol
 * (docs/live-protocol.md), then audits every finished game.
 *
 * One libuv loop drives every client (non-blocking sockets through tools/bots_net.h; no
 * thread per client). The run:
 *   1. users: register, log in and found a tribe (N distinct bot users, names from the seed
 *      and the time; --users caps N, players of one session are always distinct users);
 *   2. sessions: the host draws the map (POST /v1/maps), opens the session, every player
 *      joins with its tribe (REST), the host reads the session's log so far
 *      (GET /v1/sessions/{id}/events) to build a MIRROR of the game;
 *   3. play: P WebSocket clients per session (JSON, MessagePack, or mixed: by player slot),
 *      hello, ready, the host starts; the host's socket feeds the mirror (every `event`
 *      applied at its tick, every `state` steps it to the server's tick) and the scripted
 *      bots of tools/bots.h decide, on the mirror, what each player sends (place, upgrade,
 *      sell, call_wave, the host's pause/resume, and a few deliberately invalid ops);
 *   4. audit: when a game ends (`end`), its log is fetched again and replayed
 *      (events/replay.h); the replay's final hash must equal the `end` message's hash.
 *
 * Measured: ack latency (op written → its ack read, client side), messages in/out, rejects
 * by code, protocol errors, unexpected disconnects by close code, finished games, hash
 * mismatches. A progress line goes to stderr every second; phase lines ("bots: phase ...")
 * let scripts (bench/bench_live.sh) sample the server at known moments.
 *
 * Session phases:  WAIT_USERS → MAP → OPEN → JOIN → LOG → READY_TO_CONNECT → LIVE → AUDIT
 *                  → DONE;  any step that fails → FAILED (counted; the run goes on).
 * Sockets connect only once every session is set up, so "all connected" is one moment.
 * A game cut by --duration or SIGINT is DONE without an audit (neither failed nor finished).
 *
 * Limits: sessions ≤ MAX_SESSIONS; HTTP requests in flight ≤ HTTP_INFLIGHT (429/503 are
 * retried after Retry-After, 20 times at most); ops in flight per socket ≤ INFLIGHT_OPS/2
 * (the bots skip their turn beyond); latency samples ≤ LAT_MAX; an events log fetched for
 * an audit ≤ EVENTS_BODY_MAX; a received WebSocket message ≤ STK_BNET_WS_MSG_MAX.
 * Environment: STK_BOTS_TRACE (print every message received), STK_BOTS_TEST_CORRUPT_END_HASH
 * (fault injection for tests: flip a bit of each `end` hash, so the audit must fail).
 *
 * It is NOT a stress fuzzer (every op is well-formed), and it does not measure the server
 * from the inside (bench/bench_live.sh reads /proc for that). Thread: one (the loop's).
 */
#include "tools/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>
#include <uv.h>

#include "core/error.h"
#include "core/game.h"
#include "events/game.h"
#include "events/json.h"
#include "events/replay.h"
#include "events/types.h"
#include "net/live_codec.h"
#include "tools/bots.h"
#include "tools/bots_net.h"

#define CMD             "bots"
#define MAX_SESSIONS    10000
#define MAX_PLAYERS     STK_GAME_MAX_PLAYERS
#define HTTP_BODY_MAX   (1u << 20)
#define EVENTS_BODY_MAX (256u << 20)
#define HTTP_INFLIGHT   16                   /* concurrent setup requests */
#define INFLIGHT_OPS    64                   /* per client: ops sent and not answered (ring) */
#define LAT_MAX         (4u * 1000u * 1000u) /* ack latencies kept (16 MiB) */
#define TICK_MS         100
#define PASSWORD        "Bot-pass-9xQ!"

/* ---- run state -------------------------------------------------------------------------- */

typedef enum proto_mode { MODE_JSON, MODE_MSGPACK, MODE_MIXED } proto_mode_t;

typedef struct run run_t;
typedef struct bsession bsession_t;

typedef struct buser {
    run_t *run;
    size_t idx;
    char name[48];
    char token[2048];
    char id[STK_UUID_STR_LEN + 1];
    stk_uuid_t uuid;
    char tribe[STK_UUID_STR_LEN + 1];
    stk_bnet_target_t target;
    bool ready;
} buser_t;

typedef struct inflight {
    uint64_t ref;
    uint64_t t_ns;
    int kind; /* stk_live_op_t */
    bool used;
} inflight_t;

typedef struct bclient {
    bsession_t *s;
    size_t slot; /* 0..P-1; slot 0 is the host and the mirror's feeder */
    buser_t *u;
    stk_live_format_t fmt;
    stk_bnet_ws_t *ws;
    bool open, welcomed, ended, closed;
    int player; /* join index (welcome) */
    uint64_t next_ref;
    inflight_t fl[INFLIGHT_OPS];
    size_t outstanding;
    uint64_t end_hash;
    bool has_end_hash;
    uint64_t ready_retry_at; /* resend `ready` at this time (0: no) */
} bclient_t;

typedef enum sphase {
    SP_WAIT_USERS,
    SP_MAP,
    SP_OPEN,
    SP_JOIN,
    SP_LOG,
    SP_READY_TO_CONNECT,
    SP_LIVE,
    SP_AUDIT,
    SP_DONE,
    SP_FAILED,
} sphase_t;

struct bsession {
    run_t *run;
    size_t idx;
    sphase_t phase;
    char id[STK_UUID_STR_LEN + 1];
    stk_uuid_t uuid;
    char map_id[STK_UUID_STR_LEN + 1];
    size_t joined;
    bclient_t c[MAX_PLAYERS];
    /* the mirror */
    stk_map_t *map;
    stk_game_t *g;
    stk_bots_t *bots;
    int bot_client[MAX_PLAYERS]; /* join index → client slot */
    bool mirror_dead, start_sent;
    uint64_t last_seq, start_retry_at, resume_at;
    /* the end */
    bool got_end;
    uint64_t end_hash;
    char result[16];
    bool verified, mismatch;
    char why[200];
};

typedef struct hjob {
    run_t *run;
    const stk_bnet_target_t *target;
    char method[8];
    char path[160];
    const char *token;
    char *body;
    size_t max;
    void (*done)(void *ud, int status, const char *body, size_t len);
    void *ud;
    uint64_t not_before_ns;
    int tries;
    struct hjob *next;
} hjob_t;

typedef struct rej {
    char code[48];
    uint64_t n;
} rej_t;

struct run {
    uv_loop_t loop;
    uv_timer_t timer;
    uv_signal_t sigint;
    stk_bnet_t *net;
    stk_bnet_target_t target;
    /* options */
    size_t n_sessions, n_players, n_users, tick_rate;
    proto_mode_t mode;
    uint64_t seed;
    double duration;
    bool json, spread, quiet, trace;
    bool corrupt_end; /* fault injection for tests: flip a bit of every `end` hash */
    double settle;
    char map_json[1 << 17];
    /* state */
    buser_t *users;
    bsession_t *sessions;
    size_t users_ready, users_failed;
    hjob_t *queue_head, *queue_tail;
    size_t http_inflight;
    uint64_t t0_ns, deadline_ns, settle_until_ns, play_t0_ns, play_t1_ns;
    int settle_stage; /* 0 setting up, 1 settling (set up, nothing connected), 2 connecting */
    bool connecting, stopping, stopped, all_connected_said;
    size_t clients_open, clients_total;
    /* stats */
    uint32_t *lat_us;
    size_t n_lat;
    uint64_t ops_out, msgs_in, msgs_out, bytes_in, bytes_out, acks, events_in, states_in;
    uint64_t proto_errors, disconnects, http_errors, mirror_errors, missing_end;
    uint64_t games_finished, games_verified, mismatches, sessions_failed;
    uint64_t close_codes[5000];
    rej_t rejects[64];
    size_t n_rejects;
    uint64_t last_in, last_out, ticks, said_429;
};

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static void logf_(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(run_t *r, const char *fmt, ...)
{
    if (r->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bots: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void count_reject(run_t *r, const char *code)
{
    for (size_t i = 0; i < r->n_rejects; i++)
        if (strcmp(r->rejects[i].code, code) == 0) {
            r->rejects[i].n++;
            return;
        }
    if (r->n_rejects < sizeof r->rejects / sizeof r->rejects[0]) {
        snprintf(r->rejects[r->n_rejects].code, sizeof r->rejects[0].code, "%s", code);
        r->rejects[r->n_rejects++].n = 1;
    }
}

static void session_fail(bsession_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- HTTP queue (bounded concurrency, 429 → retry after Retry-After) -------------------- */

static void queue_pump(run_t *r);

static void hjob_cb(void *ud, int status, const char *body, size_t len, int retry_after)
{
    hjob_t *j = ud;
    run_t *r = j->run;
    r->http_inflight--;
    if ((status == 429 || status == 503) && j->tries < 20 && !r->stopping) {
        if (status == 429 && !r->said_429++ && !r->spread)
            fprintf(stderr, "bots: rate limited (429): retrying after Retry-After; against a "
                            "loopback server, --spread-ips gives each bot its own address\n");
        j->tries++;
        j->not_before_ns = now_ns() + (uint64_t)(retry_after > 0 ? retry_after : 1) * 1000000000ull;
        j->next = NULL;
        if (r->queue_tail)
            r->queue_tail->next = j;
        else
            r->queue_head = j;
        r->queue_tail = j;
        queue_pump(r);
        return;
    }
    if (status < 200 || status >= 300)
        r->http_errors++;
    j->done(j->ud, status, body, len);
    free(j->body);
    free(j);
    queue_pump(r);
}

static void queue_pump(run_t *r)
{
    uint64_t now = now_ns();
    hjob_t **pp = &r->queue_head, *prev = NULL;
    while (*pp && r->http_inflight < HTTP_INFLIGHT) {
        hjob_t *j = *pp;
        if (j->not_before_ns > now) {
            prev = j;
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        if (r->queue_tail == j)
            r->queue_tail = prev;
        int rc = stk_bnet_http(r->net, j->target, j->method, j->path, j->token, j->body,
                               j->body ? strlen(j->body) : 0, j->max, hjob_cb, j);
        if (rc) {
            r->http_errors++;
            j->done(j->ud, rc, "", 0);
            free(j->body);
            free(j);
            continue;
        }
        r->http_inflight++;
    }
}

/* Queue a request; body (may be NULL) is taken (freed here). */
static void http(run_t *r, const stk_bnet_target_t *t, const char *method, const char *path,
                 const char *token, char *body, size_t max,
                 void (*done)(void *, int, const char *, size_t), void *ud)
{
    hjob_t *j = calloc(1, sizeof *j);
    if (!j) {
        free(body);
        done(ud, STK_ENOMEM, "", 0);
        return;
    }
    j->run = r;
    j->target = t;
    snprintf(j->method, sizeof j->method, "%s", method);
    snprintf(j->path, sizeof j->path, "%s", path);
    j->token = token;
    j->body = body;
    j->max = max;
    j->done = done;
    j->ud = ud;
    if (r->queue_tail)
        r->queue_tail->next = j;
    else
        r->queue_head = j;
    r->queue_tail = j;
    queue_pump(r);
}

/* The JSON body of a 2xx answer, or NULL. */
static json_t *body_json(int status, const char *body, size_t len)
{
    if (status < 200 || status >= 300)
        return NULL;
    return json_loadb(body, len, 0, NULL);
}

static bool json_id(json_t *j, const char *key, char out[STK_UUID_STR_LEN + 1])
{
    const char *v = json_string_value(json_object_get(j, key));
    stk_uuid_t u;
    if (!v || stk_uuid_parse(v, &u) != 0)
        return false;
    stk_uuid_format(&u, out);
    return true;
}

/* ---- users ------------------------------------------------------------------------------ */

static void sessions_kick(run_t *r);

static void user_done(buser_t *u, bool ok, const char *what, int status, const char *body)
{
    run_t *r = u->run;
    if (ok) {
        u->ready = true;
        r->users_ready++;
    } else {
        r->users_failed++;
        fprintf(stderr, "bots: user %s: %s failed (%d): %.200s\n", u->name, what, status, body);
    }
    sessions_kick(r);
}

static void user_tribe_cb(void *ud, int status, const char *body, size_t len)
{
    buser_t *u = ud;
    json_t *j = body_json(status, body, len);
    bool ok = j && json_id(j, "id", u->tribe);
    json_decref(j);
    user_done(u, ok, "found tribe", status, body);
}

static void user_login_cb(void *ud, int status, const char *body, size_t len)
{
    buser_t *u = ud;
    run_t *r = u->run;
    json_t *j = body_json(status, body, len);
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    if (!tok || strlen(tok) >= sizeof u->token) {
        json_decref(j);
        user_done(u, false, "login", status, body);
        return;
    }
    snprintf(u->token, sizeof u->token, "%s", tok);
    json_decref(j);
    static const char *const arch[] = {"Aggressive", "Defensive", "Balanced", "Support"};
    static const char *const bonus[] = {"0.25", "0.15", "0.10", "0.20", "0.20", "0.10"};
    size_t k = u->idx % 3;
    char color[8];
    snprintf(color, sizeof color, "#%02x%02x%02x", (unsigned)(u->idx * 67 % 256),
             (unsigned)(u->idx * 131 % 256), (unsigned)(u->idx * 29 % 256));
    json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", u->name, "archetype",
                          arch[u->idx % 4], "damage_bonus", bonus[k * 2], "attack_speed_bonus",
                          bonus[k * 2 + 1], "range_bonus",
                          k == 0   ? "0.10"
                          : k == 1 ? "0.20"
                                   : "0.20",
                          "color_theme", color);
    /* 0.25+0.15+0.10, 0.10+0.20+0.20, 0.20+0.10+0.20: all sum to 0.50 */
    http(r, &u->target, "POST", "/v1/tribes", u->token, json_dumps(b, JSON_COMPACT), HTTP_BODY_MAX,
         user_tribe_cb, u);
    json_decref(b);
}

static void user_login(buser_t *u)
{
    json_t *b = json_pack("{s:s, s:s}", "username", u->name, "password", PASSWORD);
    http(u->run, &u->target, "POST", "/v1/auth/login", NULL, json_dumps(b, JSON_COMPACT),
         HTTP_BODY_MAX, user_login_cb, u);
    json_decref(b);
}

static void user_register_cb(void *ud, int status, const char *body, size_t len)
{
    buser_t *u = ud;
    json_t *j = body_json(status, body, len);
    bool ok = j && json_id(j, "id", u->id) && stk_uuid_parse(u->id, &u->uuid) == 0;
    json_decref(j);
    if (!ok) {
        user_done(u, false, "register", status, body);
        return;
    }
    user_login(u);
}

static void user_start(buser_t *u)
{
    char email[96];
    snprintf(email, sizeof email, "%s@bots.example.com", u->name);
    json_t *b =
        json_pack("{s:s, s:s, s:s}", "username", u->name, "email", email, "password", PASSWORD);
    http(u->run, &u->target, "POST", "/v1/auth/register", NULL, json_dumps(b, JSON_COMPACT),
         HTTP_BODY_MAX, user_register_cb, u);
    json_decref(b);
}

/* ---- the mirror --------------------------------------------------------------------------- */

static void mirror_free(bsession_t *s)
{
    stk_bots_destroy(s->bots);
    stk_game_destroy(s->g);
    free(s->map);
    s->bots = NULL;
    s->g = NULL;
    s->map = NULL;
}

/* Step the mirror to `tick` (never backwards; stops if the game stops advancing). Each new
 * tick gives the bots a turn. */
static void bots_turns(bsession_t *s);

static void mirror_step_to(bsession_t *s, uint64_t tick, bool turns)
{
    while (s->g && !s->mirror_dead && stk_game_tick(s->g) < tick) {
        uint64_t before = stk_game_tick(s->g);
        stk_game_outcome_t o;
        stk_game_step(s->g, &o);
        if (stk_game_tick(s->g) == before)
            break;
        if (turns)
            bots_turns(s);
    }
}

static void mirror_kill(bsession_t *s, const char *why)
{
    if (s->mirror_dead)
        return;
    s->mirror_dead = true;
    s->run->mirror_errors++;
    fprintf(stderr, "bots: session %s: mirror lost (%s); its bots stop playing\n", s->id, why);
}

/* Apply one event of the session's stream to the mirror. */
static void mirror_feed(bsession_t *s, const stk_envelope_t *e)
{
    if (s->mirror_dead)
        return;
    if (e->seq && e->seq <= s->last_seq)
        return; /* seen (history overlapping the live stream) */
    if (e->seq)
        s->last_seq = e->seq;
    if (e->type == STK_EV_SESSION_OPENED) {
        if (s->g) {
            mirror_kill(s, "second SessionOpened");
            return;
        }
        s->map = calloc(1, sizeof *s->map);
        stk_game_opened_t op;
        if (!s->map || stk_game_opened_decode(e, s->map, &op, NULL) != 0 ||
            stk_game_create(&op.setup, &s->g) != 0) {
            mirror_kill(s, "SessionOpened does not decode");
            return;
        }
        return;
    }
    if (!s->g) {
        mirror_kill(s, "event before SessionOpened");
        return;
    }
    stk_game_input_t in;
    stk_game_record_t rec;
    int cls = stk_game_event_to_input(e, stk_game_balance(s->g), &in, &rec, NULL);
    if (cls < 0) {
        mirror_kill(s, "event does not decode");
        return;
    }
    if (cls == STK_GAME_EVENT_INPUT) {
        if (e->tick < stk_game_tick(s->g)) {
            mirror_kill(s, "input behind the mirror's tick");
            return;
        }
        mirror_step_to(s, e->tick, false);
        stk_reject_t why;
        if (stk_game_apply(s->g, &in, &why) != 0) {
            mirror_kill(s, stk_reject_name(why));
            return;
        }
    } else if (cls == STK_GAME_EVENT_OUTCOME) {
        mirror_step_to(s, e->tick, false);
    }
}

/* ---- live protocol: sending ------------------------------------------------------------- */

typedef struct opf {
    const char *key;
    int kind; /* 0 uint, 1 str, 2 bool */
    uint64_t u;
    const char *s;
    bool b;
} opf_t;

static int send_msg(bclient_t *c, const char *op, bool with_ref, uint64_t ref, const opf_t *f,
                    size_t nf)
{
    run_t *r = c->s->run;
    int rc;
    if (c->fmt == STK_LIVE_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "op", json_string(op));
        if (with_ref)
            json_object_set_new(o, "ref", json_integer((json_int_t)ref));
        for (size_t i = 0; i < nf; i++)
            json_object_set_new(o, f[i].key,
                                f[i].kind == 0   ? json_integer((json_int_t)f[i].u)
                                : f[i].kind == 1 ? json_string(f[i].s)
                                                 : json_boolean(f[i].b));
        char *txt = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!txt)
            return STK_ENOMEM;
        size_t n = strlen(txt);
        rc = stk_bnet_ws_send(c->ws, false, (const uint8_t *)txt, n);
        r->bytes_out += n;
        free(txt);
    } else {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1 + (with_ref ? 1 : 0) + nf);
        msgpack_pack_str_with_body(&pk, "op", 2);
        msgpack_pack_str_with_body(&pk, op, strlen(op));
        if (with_ref) {
            msgpack_pack_str_with_body(&pk, "ref", 3);
            msgpack_pack_uint64(&pk, ref);
        }
        for (size_t i = 0; i < nf; i++) {
            msgpack_pack_str_with_body(&pk, f[i].key, strlen(f[i].key));
            if (f[i].kind == 0)
                msgpack_pack_uint64(&pk, f[i].u);
            else if (f[i].kind == 1)
                msgpack_pack_str_with_body(&pk, f[i].s, strlen(f[i].s));
            else if (f[i].b)
                msgpack_pack_true(&pk);
            else
                msgpack_pack_false(&pk);
        }
        rc = stk_bnet_ws_send(c->ws, true, (const uint8_t *)sb.data, sb.size);
        r->bytes_out += sb.size;
        msgpack_sbuffer_destroy(&sb);
    }
    if (rc == 0)
        r->msgs_out++;
    return rc;
}

/* Send one op with a fresh ref and remember when. Returns 0 or an error (nothing pending). */
static int send_op(bclient_t *c, stk_live_op_t kind, const opf_t *f, size_t nf)
{
    if (!c->open || c->ended || c->outstanding >= INFLIGHT_OPS / 2)
        return STK_EBUSY;
    uint64_t ref = ++c->next_ref;
    inflight_t *fl = &c->fl[ref % INFLIGHT_OPS];
    if (fl->used)
        return STK_EBUSY;
    int rc = send_msg(c, stk_live_op_name(kind), true, ref, f, nf);
    if (rc)
        return rc;
    *fl = (inflight_t){ref, now_ns(), (int)kind, true};
    c->outstanding++;
    c->s->run->ops_out++;
    return 0;
}

/* The bots of the session take their turn on the mirror; each input goes out on the socket
 * of the player it is for. */
static void bots_turns(bsession_t *s)
{
    if (!s->bots || s->mirror_dead || s->run->stopping)
        return;
    size_t n = stk_game_player_count(s->g);
    const stk_balance_t *bal = stk_game_balance(s->g);
    for (size_t i = 0; i < n && i < MAX_PLAYERS; i++) {
        if (s->bot_client[i] < 0)
            continue;
        bclient_t *c = &s->c[s->bot_client[i]];
        stk_game_input_t in[STK_BOTS_MAX_INPUTS];
        size_t k = stk_bots_turn(s->bots, i, s->g, in, STK_BOTS_MAX_INPUTS);
        for (size_t j = 0; j < k; j++) {
            opf_t f[3];
            size_t nf = 0;
            stk_live_op_t op;
            switch (in[j].kind) {
            case STK_INPUT_PLACE:
                op = STK_LIVE_OP_PLACE;
                f[nf++] = (opf_t){"x", 0, in[j].x, NULL, false};
                f[nf++] = (opf_t){"y", 0, in[j].y, NULL, false};
                f[nf++] = (opf_t){"tower", 1, 0,
                                  in[j].tower >= 0 && in[j].tower < STK_TOWER_KINDS
                                      ? bal->tower[in[j].tower].name
                                      : "catapult",
                                  false};
                break;
            case STK_INPUT_UPGRADE:
            case STK_INPUT_SELL:
                op = in[j].kind == STK_INPUT_UPGRADE ? STK_LIVE_OP_UPGRADE : STK_LIVE_OP_SELL;
                f[nf++] = (opf_t){"tower_id", 0, in[j].tower_id, NULL, false};
                break;
            case STK_INPUT_CALL_WAVE:
                op = STK_LIVE_OP_CALL_WAVE;
                break;
            case STK_INPUT_PAUSE:
                op = STK_LIVE_OP_PAUSE;
                break;
            case STK_INPUT_RESUME:
                op = STK_LIVE_OP_RESUME;
                break;
            default:
                continue;
            }
            send_op(c, op, f, nf);
        }
    }
}

/* Once the mirror shows the game started: bots for the players, in join order. */
static void bots_begin(bsession_t *s)
{
    if (s->bots || !s->g || s->mirror_dead)
        return;
    size_t n = stk_game_player_count(s->g);
    uint8_t ids[MAX_PLAYERS][STK_GAME_ID_LEN];
    for (size_t i = 0; i < n && i < MAX_PLAYERS; i++) {
        stk_game_player_info_t pi;
        s->bot_client[i] = -1;
        if (stk_game_player(s->g, i, &pi) != 0)
            continue;
        memcpy(ids[i], pi.id, STK_GAME_ID_LEN);
        for (size_t k = 0; k < s->run->n_players; k++)
            if (memcmp(s->c[k].u->uuid.b, pi.id, STK_GAME_ID_LEN) == 0)
                s->bot_client[i] = (int)k;
    }
    if (stk_bots_create(&s->bots, (const uint8_t(*)[STK_GAME_ID_LEN])ids, n, stk_game_map(s->g),
                        s->run->seed ^ (0x9E3779B97F4A7C15ull * (s->idx + 1))) != 0)
        mirror_kill(s, "bots could not be created");
}

/* The host starts once the mirror shows every player ready. */
static void maybe_start(bsession_t *s)
{
    bclient_t *host = &s->c[0];
    if (!s->g || s->start_sent || !host->welcomed || stk_game_state(s->g) != STK_GAME_LOBBY)
        return;
    if (now_ns() < s->start_retry_at)
        return;
    size_t n = stk_game_player_count(s->g);
    if (n < s->run->n_players)
        return;
    for (size_t i = 0; i < n; i++) {
        stk_game_player_info_t pi;
        if (stk_game_player(s->g, i, &pi) != 0 || !pi.ready)
            return;
    }
    if (send_op(host, STK_LIVE_OP_START, NULL, 0) == 0)
        s->start_sent = true;
}

/* ---- live protocol: receiving ------------------------------------------------------------- */

static uint64_t json_u64(const json_t *v)
{
    if (json_is_integer(v))
        return (uint64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

/* A live `event` message → envelope → mirror. */
static void on_event(bclient_t *c, json_t *m)
{
    bsession_t *s = c->s;
    const char *type = json_string_value(json_object_get(m, "type"));
    const stk_event_type_t *t = type ? stk_event_type_by_name(type, strlen(type)) : NULL;
    if (!t) {
        s->run->proto_errors++;
        return;
    }
    stk_envelope_t e = {
        .seq = json_u64(json_object_get(m, "seq")),
        .stream = s->uuid,
        .version = json_u64(json_object_get(m, "version")),
        .type = t->id,
        .schema = t->schema,
        .tick = json_u64(json_object_get(m, "tick")),
    };
    const char *actor = json_string_value(json_object_get(m, "actor"));
    if (actor && stk_uuid_parse(actor, &e.actor) != 0) {
        s->run->proto_errors++;
        return;
    }
    if (t->id == STK_EV_SESSION_OPENED)
        return; /* sent without its bins; the mirror was opened from the REST log */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    json_t *payload = json_object_get(m, "payload");
    if (!payload || stk_json_to_payload(t->id, t->schema, payload, &sb, NULL) != 0) {
        msgpack_sbuffer_destroy(&sb);
        s->run->proto_errors++;
        mirror_kill(s, "event payload does not decode");
        return;
    }
    e.payload = (const uint8_t *)sb.data;
    e.payload_len = sb.size;
    mirror_feed(s, &e);
    msgpack_sbuffer_destroy(&sb);
    if (s->g && stk_game_state(s->g) == STK_GAME_LOBBY)
        maybe_start(s);
    else if (s->g && stk_game_state(s->g) == STK_GAME_IN_PROGRESS)
        bots_begin(s);
}

static inflight_t *take_ref(bclient_t *c, json_t *m)
{
    json_t *ref = json_object_get(m, "ref");
    if (!json_is_integer(ref))
        return NULL;
    uint64_t v = (uint64_t)json_integer_value(ref);
    inflight_t *fl = &c->fl[v % INFLIGHT_OPS];
    if (!fl->used || fl->ref != v)
        return NULL;
    fl->used = false;
    c->outstanding--;
    return fl;
}

/* Count a protocol error; the first few are shown. */
static void proto_error(run_t *r, const char *what, const uint8_t *data, size_t len, bool binary)
{
    if (++r->proto_errors > 5)
        return;
    fprintf(stderr, "bots: protocol error: %s (%zu bytes%s", what, len, binary ? ": " : "");
    for (size_t i = 0; binary && i < len && i < 24; i++)
        fprintf(stderr, "%02x", data[i]);
    if (!binary)
        fprintf(stderr, ": %.*s", (int)(len < 200 ? len : 200), (const char *)data);
    fprintf(stderr, ")\n");
}

/* The op of a server message when it is "state" or "event", read from the first bytes
 * without decoding (the server writes "op" first); NULL otherwise. Only the host's socket
 * feeds the mirror: the other sockets count these, the bulk of the traffic, and skip them,
 * so that the load generator spends its CPU on load, not on parsing what it ignores. */
static const char *bulk_op(bool binary, const uint8_t *d, size_t len)
{
    static const char *const ops[2] = {"state", "event"};
    for (int i = 0; i < 2; i++) {
        if (!binary && len > 13 && memcmp(d, "{\"op\":\"", 7) == 0 &&
            memcmp(d + 7, ops[i], 5) == 0 && d[12] == '"')
            return ops[i];
        size_t h = len > 0 && (d[0] & 0xf0) == 0x80 ? 1 : len > 2 && d[0] == 0xde ? 3 : 0;
        if (binary && h && len > h + 9 && memcmp(d + h, "\xa2op\xa5", 4) == 0 &&
            memcmp(d + h + 4, ops[i], 5) == 0)
            return ops[i];
    }
    return NULL;
}

static void on_message(void *ud, bool binary, const uint8_t *data, size_t len)
{
    bclient_t *c = ud;
    bsession_t *s = c->s;
    run_t *r = s->run;
    r->msgs_in++;
    r->bytes_in += len;
    json_t *m = NULL;
    const char *bulk = c->slot != 0 && !r->trace ? bulk_op(binary, data, len) : NULL;
    if (bulk && binary == (c->fmt == STK_LIVE_MSGPACK)) {
        if (bulk[0] == 's')
            r->states_in++;
        else
            r->events_in++;
        return;
    }
    if (binary != (c->fmt == STK_LIVE_MSGPACK)) {
        proto_error(r, "frame of the other kind", data, len, binary);
        return;
    }
    if (binary) {
        if (stk_live_msgpack_to_json(data, len, &m) != 0)
            m = NULL;
    } else {
        m = json_loadb((const char *)data, len, 0, NULL);
    }
    if (r->trace && m) {
        char *t = json_dumps(m, JSON_COMPACT);
        fprintf(stderr, "bots: < %zu.%zu %.160s\n", s->idx, c->slot, t ? t : "?");
        free(t);
    }
    const char *op = json_string_value(json_object_get(m, "op"));
    if (!op) {
        proto_error(r, m ? "no op" : "does not decode", data, len, binary);
        json_decref(m);
        return;
    }
    if (strcmp(op, "ack") == 0) {
        r->acks++;
        inflight_t *fl = take_ref(c, m);
        if (!fl)
            proto_error(r, "ack of no pending ref", data, len, binary);
        else if (r->n_lat < LAT_MAX && r->lat_us) {
            uint64_t us = (now_ns() - fl->t_ns) / 1000;
            r->lat_us[r->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
    } else if (strcmp(op, "reject") == 0) {
        const char *code = json_string_value(json_object_get(m, "code"));
        count_reject(r, code ? code : "?");
        inflight_t *fl = take_ref(c, m);
        if (fl && fl->kind == STK_LIVE_OP_START) {
            s->start_sent = false; /* not everyone's ready yet: try again shortly */
            s->start_retry_at = now_ns() + 200000000ull;
        } else if (fl && fl->kind == STK_LIVE_OP_READY && code &&
                   (strcmp(code, "busy") == 0 || strcmp(code, "rate_limited") == 0 ||
                    strcmp(code, "server_error") == 0)) {
            c->ready_retry_at = now_ns() + 200000000ull; /* transient: the timer resends */
        }
    } else if (strcmp(op, "event") == 0) {
        r->events_in++;
        if (c->slot == 0)
            on_event(c, m);
    } else if (strcmp(op, "state") == 0) {
        r->states_in++;
        if (c->slot == 0 && s->g && !s->mirror_dead) {
            bots_begin(s);
            mirror_step_to(s, json_u64(json_object_get(m, "tick")), true);
        }
    } else if (strcmp(op, "welcome") == 0) {
        c->welcomed = true;
        json_t *you = json_object_get(m, "you");
        c->player = (int)json_integer_value(json_object_get(you, "player"));
        const char *st =
            json_string_value(json_object_get(json_object_get(m, "snapshot"), "state"));
        if (st && strcmp(st, "lobby") == 0) {
            opf_t f = {"ready", 2, 0, NULL, true};
            send_op(c, STK_LIVE_OP_READY, &f, 1);
        }
    } else if (strcmp(op, "end") == 0) {
        c->ended = true;
        c->end_hash = json_u64(json_object_get(m, "hash")) ^ (r->corrupt_end ? 1u : 0u);
        c->has_end_hash = json_object_get(m, "hash") != NULL;
        if (c->slot == 0) {
            s->got_end = true;
            s->end_hash = c->end_hash;
            snprintf(s->result, sizeof s->result, "%s",
                     json_string_value(json_object_get(m, "result"))
                         ? json_string_value(json_object_get(m, "result"))
                         : "?");
        }
    } else {
        proto_error(r, "unknown op", data, len, binary);
    }
    json_decref(m);
}

static void on_open(void *ud)
{
    bclient_t *c = ud;
    c->open = true;
    c->s->run->clients_open++;
    opf_t f = {"last_seq", 0, c->s->last_seq, NULL, false};
    /* The host resumes from the log it read, so its mirror misses nothing. */
    send_msg(c, "hello", true, 0, c->slot == 0 ? &f : NULL, c->slot == 0 ? 1 : 0);
}

static void session_audit(bsession_t *s);

static void on_close(void *ud, int code, int http_status)
{
    bclient_t *c = ud;
    bsession_t *s = c->s;
    run_t *r = s->run;
    c->closed = true;
    c->ws = NULL;
    if (c->open)
        r->clients_open--;
    c->open = false;
    if (code >= 0 && code < 5000)
        r->close_codes[code]++;
    if (r->trace)
        fprintf(stderr, "bots: closed %zu.%zu code %d http %d\n", s->idx, c->slot, code,
                http_status);
    if (!c->ended && !r->stopping) {
        r->disconnects++;
        if (http_status)
            fprintf(stderr, "bots: session %s player %zu: upgrade refused (HTTP %d)\n", s->id,
                    c->slot, http_status);
    }
    bool all = true;
    for (size_t i = 0; i < r->n_players; i++)
        all = all && s->c[i].closed;
    if (all && s->phase == SP_LIVE) {
        if (s->got_end && !r->stopping)
            session_audit(s);
        else if (r->stopping)
            s->phase = SP_DONE; /* cut by --duration or SIGINT: neither failed nor audited */
        else
            session_audit(s); /* closed without `end`: the log says whether the game ended */
    }
}

static void client_connect(bclient_t *c)
{
    run_t *r = c->s->run;
    char path[2600];
    snprintf(path, sizeof path, "/v1/sessions/%s/live?access_token=%s", c->s->id, c->u->token);
    stk_bnet_ws_cbs_t cbs = {on_open, on_message, on_close};
    int rc = stk_bnet_ws_connect(r->net, &c->u->target, path,
                                 c->fmt == STK_LIVE_JSON ? STK_LIVE_SUBPROTO_JSON
                                                         : STK_LIVE_SUBPROTO_MSGPACK,
                                 &cbs, c, &c->ws);
    if (rc) {
        c->closed = true;
        r->disconnects++;
    }
}

/* ---- sessions ----------------------------------------------------------------------------- */

static void session_fail(bsession_t *s, const char *fmt, ...)
{
    if (s->phase == SP_FAILED || s->phase == SP_DONE)
        return;
    s->phase = SP_FAILED;
    s->run->sessions_failed++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    fprintf(stderr, "bots: session %zu %s: %s\n", s->idx, s->id, s->why);
    for (size_t i = 0; i < s->run->n_players; i++)
        if (s->c[i].ws)
            stk_bnet_ws_close(s->c[i].ws, 1000);
}

static void session_audit_cb(void *ud, int status, const char *body, size_t len)
{
    bsession_t *s = ud;
    run_t *r = s->run;
    if (status != 200) {
        s->phase = SP_DONE;
        s->mismatch = true;
        r->mismatches++;
        fprintf(stderr, "bots: session %s: GET events failed (%d)\n", s->id, status);
        return;
    }
    stk_replay_opts_t o = {.until_tick = STK_REPLAY_UNTIL_END, .no_keyframes = true};
    stk_replay_t *rp = NULL;
    FILE *f = fmemopen((void *)body, len ? len : 1, "r");
    uint64_t line = 0;
    int rc = f ? stk_replay_create(&o, &rp) : STK_ENOMEM;
    if (rc == 0)
        rc = stk_replay_run_jsonl(rp, f, &s->uuid, &line);
    stk_replay_summary_t sum = {0};
    bool over = false;
    if (rp) {
        stk_replay_summary(rp, &sum);
        const stk_game_t *g = stk_replay_game(rp);
        over = g &&
               (stk_game_state(g) == STK_GAME_COMPLETED || stk_game_state(g) == STK_GAME_ABANDONED);
    }
    if (f)
        fclose(f);
    stk_replay_destroy(rp);
    s->phase = SP_DONE;
    if (!s->got_end) {
        /* Every socket closed and no `end` arrived: a protocol failure either way. */
        r->games_finished -= 1;
        r->missing_end++;
        s->phase = SP_LIVE;
        session_fail(s,
                     over ? "the game ended (GameEnded is in the log; replay %s) but no `end` "
                            "message arrived before the close"
                          : "sockets closed before the game ended (replay %s)",
                     rc == 0 && sum.all_ok ? "ok" : "diverged");
        return;
    }
    bool ok = rc == 0 && sum.all_ok && sum.hash == s->end_hash;
    for (size_t i = 0; i < r->n_players; i++)
        if (s->c[i].has_end_hash && s->c[i].end_hash != s->end_hash)
            ok = false;
    if (ok) {
        s->verified = true;
        r->games_verified++;
    } else {
        s->mismatch = true;
        r->mismatches++;
        fprintf(stderr,
                "bots: MISMATCH session %s: end hash %016" PRIx64 ", replay hash %016" PRIx64
                " (replay: %s, line %" PRIu64 ", %" PRIu64 " divergences)\n",
                s->id, s->end_hash, sum.hash, stk_strerror(rc), line, sum.mismatches);
    }
}

static void session_audit(bsession_t *s)
{
    run_t *r = s->run;
    s->phase = SP_AUDIT;
    r->games_finished++;
    char path[128];
    snprintf(path, sizeof path, "/v1/sessions/%s/events", s->id);
    buser_t *host = s->c[0].u;
    http(r, &host->target, "GET", path, host->token, NULL, EVENTS_BODY_MAX, session_audit_cb, s);
}

static void session_log_cb(void *ud, int status, const char *body, size_t len)
{
    bsession_t *s = ud;
    if (status != 200) {
        session_fail(s, "GET events: HTTP %d: %.200s", status, body);
        return;
    }
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (ll > 0) {
            stk_envelope_t e;
            uint8_t *payload = NULL;
            if (stk_json_event_parse(p, ll, &e, &payload, NULL) != 0) {
                session_fail(s, "GET events: a line does not parse");
                return;
            }
            if (stk_uuid_eq(&e.stream, &s->uuid))
                mirror_feed(s, &e);
            free(payload);
        }
        p += ll + 1;
    }
    if (!s->g || s->mirror_dead) {
        session_fail(s, "GET events: no usable SessionOpened");
        return;
    }
    s->phase = SP_READY_TO_CONNECT;
    sessions_kick(s->run);
}

static void session_join_cb(void *ud, int status, const char *body, size_t len)
{
    bsession_t *s = ud;
    (void)len;
    if (status < 200 || status >= 300) {
        session_fail(s, "join: HTTP %d: %.200s", status, body);
        return;
    }
    if (++s->joined < s->run->n_players)
        return;
    s->phase = SP_LOG;
    char path[128];
    snprintf(path, sizeof path, "/v1/sessions/%s/events", s->id);
    http(s->run, &s->c[0].u->target, "GET", path, s->c[0].u->token, NULL, EVENTS_BODY_MAX,
         session_log_cb, s);
}

static void session_join(bsession_t *s, size_t from)
{
    for (size_t i = from; i < s->run->n_players; i++) {
        buser_t *u = s->c[i].u;
        char path[128];
        snprintf(path, sizeof path, "/v1/sessions/%s/join", s->id);
        json_t *b = json_pack("{s:s}", "tribe_id", u->tribe);
        http(s->run, &u->target, "POST", path, u->token, json_dumps(b, JSON_COMPACT), HTTP_BODY_MAX,
             session_join_cb, s);
        json_decref(b);
    }
}

static void session_open_cb(void *ud, int status, const char *body, size_t len)
{
    bsession_t *s = ud;
    json_t *j = body_json(status, body, len);
    bool ok = j && json_id(j, "id", s->id) && stk_uuid_parse(s->id, &s->uuid) == 0;
    /* If opening made the host a player already, only the others join. */
    size_t already = 0;
    json_t *players = json_object_get(j, "players");
    if (json_is_array(players))
        already = json_array_size(players);
    json_decref(j);
    if (!ok) {
        session_fail(s, "open session: HTTP %d: %.200s", status, body);
        return;
    }
    s->phase = SP_JOIN;
    s->joined = already;
    if (already >= s->run->n_players) {
        s->joined = already - 1;
        session_join_cb(s, 200, "", 0);
        return;
    }
    session_join(s, already);
}

static void session_map_cb(void *ud, int status, const char *body, size_t len)
{
    bsession_t *s = ud;
    json_t *j = body_json(status, body, len);
    bool ok = j && json_id(j, "id", s->map_id);
    json_decref(j);
    if (!ok) {
        session_fail(s, "draw map: HTTP %d: %.200s", status, body);
        return;
    }
    s->phase = SP_OPEN;
    buser_t *host = s->c[0].u;
    json_t *b = json_pack("{s:s}", "map_id", s->map_id);
    if (s->run->tick_rate)
        json_object_set_new(b, "tick_rate", json_integer((json_int_t)s->run->tick_rate));
    http(s->run, &host->target, "POST", "/v1/sessions", host->token, json_dumps(b, JSON_COMPACT),
         HTTP_BODY_MAX, session_open_cb, s);
    json_decref(b);
}

static void session_start(bsession_t *s)
{
    run_t *r = s->run;
    buser_t *host = s->c[0].u;
    for (size_t i = 0; i < r->n_players; i++)
        if (!s->c[i].u->ready) {
            session_fail(s, "a player's user could not be set up");
            return;
        }
    s->phase = SP_MAP;
    json_t *m = json_loads(r->map_json, 0, NULL);
    if (!m) {
        session_fail(s, "map file is not JSON");
        return;
    }
    char name[96];
    snprintf(name, sizeof name, "Bots %" PRIu64 " #%zu", r->seed, s->idx);
    json_object_set_new(m, "name", json_string(name));
    http(r, &host->target, "POST", "/v1/maps", host->token, json_dumps(m, JSON_COMPACT),
         HTTP_BODY_MAX, session_map_cb, s);
    json_decref(m);
}

static void say_phase(run_t *r, const char *phase)
{
    fprintf(stderr, "bots: phase %s clients=%zu\n", phase, r->clients_open);
    fflush(stderr);
}

static void connect_all(run_t *r)
{
    r->connecting = true;
    r->settle_stage = 2;
    say_phase(r, "connect");
    for (size_t i = 0; i < r->n_sessions; i++) {
        bsession_t *s = &r->sessions[i];
        if (s->phase != SP_READY_TO_CONNECT)
            continue;
        s->phase = SP_LIVE;
        for (size_t k = 0; k < r->n_players; k++)
            client_connect(&s->c[k]);
    }
    r->play_t0_ns = now_ns();
}

/* Advance whatever can advance: sessions wait for their users; connections wait until
 * every session is set up (so that the "connected" figures are taken at one moment). */
static void sessions_kick(run_t *r)
{
    if (r->users_ready + r->users_failed < r->n_users)
        return;
    size_t setting_up = 0;
    for (size_t i = 0; i < r->n_sessions; i++) {
        bsession_t *s = &r->sessions[i];
        if (s->phase == SP_WAIT_USERS)
            session_start(s);
        if (s->phase < SP_READY_TO_CONNECT)
            setting_up++;
    }
    if (setting_up == 0 && !r->connecting && r->settle_stage == 0) {
        if (r->settle > 0) {
            say_phase(r, "setup-done");
            r->settle_stage = 1;
            r->settle_until_ns = now_ns() + (uint64_t)(r->settle * 1e9);
        } else {
            connect_all(r);
        }
    }
}

/* ---- timer: progress, settle, deadline, end of run ---------------------------------------- */

static void stop_all(run_t *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    r->play_t1_ns = now_ns();
    for (size_t i = 0; i < r->n_sessions; i++)
        for (size_t k = 0; k < r->n_players; k++)
            if (r->sessions[i].c[k].ws)
                stk_bnet_ws_close(r->sessions[i].c[k].ws, 1000);
}

static bool all_settled(run_t *r)
{
    if (r->http_inflight || r->queue_head)
        return false;
    for (size_t i = 0; i < r->n_sessions; i++) {
        bsession_t *s = &r->sessions[i];
        for (size_t k = 0; k < r->n_players; k++)
            if (s->c[k].ws)
                return false;
    }
    return true;
}

static void timer_cb(uv_timer_t *t)
{
    run_t *r = t->data;
    uint64_t now = now_ns();
    queue_pump(r);
    for (size_t i = 0; i < r->n_sessions && r->connecting; i++) {
        bsession_t *s = &r->sessions[i];
        if (s->phase != SP_LIVE)
            continue;
        maybe_start(s);
        for (size_t k = 0; k < r->n_players; k++) {
            bclient_t *c = &s->c[k];
            opf_t f = {"ready", 2, 0, NULL, true};
            if (c->ready_retry_at && now >= c->ready_retry_at &&
                send_op(c, STK_LIVE_OP_READY, &f, 1) == 0)
                c->ready_retry_at = 0;
        }
        /* A paused game does not step, so the bots get their turn (the host's resume)
         * from here, at most every half second and with nothing of the host's pending. */
        if (s->g && s->bots && stk_game_state(s->g) == STK_GAME_PAUSED &&
            s->c[0].outstanding == 0 && now >= s->resume_at) {
            s->resume_at = now + 500000000ull;
            bots_turns(s);
        }
    }
    if (r->settle_stage == 1 && now >= r->settle_until_ns)
        connect_all(r);
    if (r->connecting && !r->all_connected_said && r->clients_open == r->clients_total) {
        r->all_connected_said = true;
        say_phase(r, "connected");
    }
    size_t done = 0;
    for (size_t i = 0; i < r->n_sessions; i++)
        done += r->sessions[i].phase >= SP_DONE;
    if (!r->stopping && (done == r->n_sessions || (r->deadline_ns && now >= r->deadline_ns) ||
                         r->users_failed == r->n_users))
        stop_all(r);
    if (++r->ticks % (1000 / TICK_MS) == 0 && !r->quiet) {
        size_t live = 0;
        for (size_t i = 0; i < r->n_sessions; i++)
            live += r->sessions[i].phase == SP_LIVE;
        fprintf(stderr,
                "bots: %4.0fs users %zu/%zu sessions live %zu done %zu failed %" PRIu64
                " | clients %zu | ops %" PRIu64 " acks %" PRIu64 " | in %" PRIu64 "/s out %" PRIu64
                "/s | finished %" PRIu64 " verified %" PRIu64 "\n",
                (double)(now - r->t0_ns) / 1e9, r->users_ready, r->n_users, live, done,
                r->sessions_failed, r->clients_open, r->ops_out, r->acks, r->msgs_in - r->last_in,
                r->msgs_out - r->last_out, r->games_finished, r->games_verified);
        r->last_in = r->msgs_in;
        r->last_out = r->msgs_out;
    }
    if (r->stopping && all_settled(r) && !r->stopped) {
        r->stopped = true;
        uv_timer_stop(&r->timer);
        uv_close((uv_handle_t *)&r->timer, NULL);
        uv_close((uv_handle_t *)&r->sigint, NULL);
    }
}

static void sigint_cb(uv_signal_t *h, int sig)
{
    (void)sig;
    run_t *r = h->data;
    fprintf(stderr, "bots: interrupted; closing\n");
    r->deadline_ns = now_ns();
}

/* ---- report ------------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

static int report(run_t *r)
{
    qsort(r->lat_us, r->n_lat, sizeof *r->lat_us, cmp_u32);
    double secs = (double)((r->play_t1_ns ? r->play_t1_ns : now_ns()) - r->play_t0_ns) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    double p50 = pct_ms(r->lat_us, r->n_lat, 0.50), p99 = pct_ms(r->lat_us, r->n_lat, 0.99),
           p999 = pct_ms(r->lat_us, r->n_lat, 0.999),
           pmax = r->n_lat ? r->lat_us[r->n_lat - 1] / 1000.0 : 0;
    uint64_t rejects = 0;
    for (size_t i = 0; i < r->n_rejects; i++)
        rejects += r->rejects[i].n;
    const char *mode = r->mode == MODE_JSON      ? "json"
                       : r->mode == MODE_MSGPACK ? "msgpack"
                                                 : "mixed";
    if (r->json) {
        json_t *rj = json_object(), *cc = json_object();
        for (size_t i = 0; i < r->n_rejects; i++)
            json_object_set_new(rj, r->rejects[i].code, json_integer((json_int_t)r->rejects[i].n));
        for (int i = 0; i < 5000; i++)
            if (r->close_codes[i]) {
                char k[8];
                snprintf(k, sizeof k, "%d", i);
                json_object_set_new(cc, k, json_integer((json_int_t)r->close_codes[i]));
            }
        json_t *mm = json_array();
        for (size_t i = 0; i < r->n_sessions; i++)
            if (r->sessions[i].mismatch)
                json_array_append_new(mm, json_string(r->sessions[i].id));
        json_t *o = json_pack(
            "{s:i, s:i, s:i, s:s, s:I, s:f, s:{s:I, s:f, s:f, s:f, s:f}, s:{s:I, s:I, s:f, s:f, "
            "s:I, s:I}, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:I, s:I, s:I, "
            "s:o}",
            "sessions", (int)r->n_sessions, "players", (int)r->n_players, "users", (int)r->n_users,
            "protocol", mode, "clients", (json_int_t)r->clients_total, "seconds", secs,
            "ack_latency_ms", "samples", (json_int_t)r->n_lat, "p50", p50, "p99", p99, "p999", p999,
            "max", pmax, "messages", "in", (json_int_t)r->msgs_in, "out", (json_int_t)r->msgs_out,
            "in_per_s", r->msgs_in / secs, "out_per_s", r->msgs_out / secs, "bytes_in",
            (json_int_t)r->bytes_in, "bytes_out", (json_int_t)r->bytes_out, "ops",
            (json_int_t)r->ops_out, "acks", (json_int_t)r->acks, "rejects", (json_int_t)rejects,
            "rejects_by_code", rj, "errors", "protocol", (json_int_t)r->proto_errors, "disconnects",
            (json_int_t)r->disconnects, "http", (json_int_t)r->http_errors, "mirror",
            (json_int_t)r->mirror_errors, "sessions_failed", (json_int_t)r->sessions_failed,
            "missing_end", (json_int_t)r->missing_end, "close_codes", cc, "finished_games",
            (json_int_t)r->games_finished, "verified_games", (json_int_t)r->games_verified,
            "hash_mismatches", (json_int_t)r->mismatches, "mismatched_sessions", mm);
        /* One bot's credentials and a readable resource, for follow-up measurements
         * (bench/bench_live.sh points wrk at GET /v1/tribes/{id} with this token). */
        for (size_t i = 0; o && i < r->n_users; i++)
            if (r->users[i].ready) {
                char path[64];
                snprintf(path, sizeof path, "/v1/tribes/%s", r->users[i].tribe);
                json_object_set_new(
                    o, "sample",
                    json_pack("{s:s, s:s}", "token", r->users[i].token, "get_by_id", path));
                break;
            }
        char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(o);
    } else {
        printf("sessions %zu x players %zu (%zu users, %s), %zu clients, %.1f s of play\n",
               r->n_sessions, r->n_players, r->n_users, mode, r->clients_total, secs);
        printf("ack latency ms: p50 %.3f  p99 %.3f  p999 %.3f  max %.3f  (%zu acks timed)\n", p50,
               p99, p999, pmax, r->n_lat);
        printf("messages: in %" PRIu64 " (%.0f/s)  out %" PRIu64 " (%.0f/s)  ops %" PRIu64
               "  acks %" PRIu64 "  rejects %" PRIu64 "\n",
               r->msgs_in, r->msgs_in / secs, r->msgs_out, r->msgs_out / secs, r->ops_out, r->acks,
               rejects);
        for (size_t i = 0; i < r->n_rejects; i++)
            printf("  reject %-20s %" PRIu64 "\n", r->rejects[i].code, r->rejects[i].n);
        printf("errors: protocol %" PRIu64 "  disconnects %" PRIu64 "  http %" PRIu64
               "  mirror %" PRIu64 "  failed sessions %" PRIu64 "  games without end %" PRIu64 "\n",
               r->proto_errors, r->disconnects, r->http_errors, r->mirror_errors,
               r->sessions_failed, r->missing_end);
        for (int i = 0; i < 5000; i++)
            if (r->close_codes[i])
                printf("  close %d: %" PRIu64 "\n", i, r->close_codes[i]);
        printf("games: finished %" PRIu64 "  verified by replay %" PRIu64
               "  hash mismatches %" PRIu64 "\n",
               r->games_finished, r->games_verified, r->mismatches);
        for (size_t i = 0; i < r->n_sessions; i++)
            if (r->sessions[i].mismatch)
                printf("  MISMATCH %s\n", r->sessions[i].id);
    }
    return r->mismatches || r->sessions_failed ? STK_EXIT_FAIL : STK_EXIT_OK;
}

/* ---- command ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: stockade bots [--url URL] [--sessions S] [--players P] [--users N]\n"
        "                     [--protocol json|msgpack|mixed] [--seed N] [--map FILE]\n"
        "                     [--duration SECONDS] [--tick-rate N] [--spread-ips]\n"
        "                     [--settle SECONDS] [--json]\n"
        "\n"
        "Load generator: registers bot users, opens S sessions of P players on a running\n"
        "`stockade serve` and plays real games over WebSocket (scripted bots, tools/bots.h),\n"
        "then replays every finished game from GET /v1/sessions/{id}/events and compares the\n"
        "final hash with the one of the `end` message.\n"
        "\n"
        "  --url URL         server (default http://127.0.0.1:8080)\n"
        "  --sessions S      sessions (default 1, at most %d)\n"
        "  --players P       players per session, 1..4 (default 4)\n"
        "  --users N         distinct bot users (default S*P, at least P); players of one\n"
        "                    session are distinct users\n"
        "  --protocol MODE   json, msgpack, or mixed (player slots alternate; default mixed)\n"
        "  --seed N          names and bot choices (default: the time)\n"
        "  --map FILE        contract map JSON (default maps/meadow.json)\n"
        "  --duration SECS   stop this long after the start (setup included), even if\n"
        "                    games are still running (they are then neither failed nor audited)\n"
        "  --tick-rate N     ask for sessions at N ticks per second (default: the server's)\n"
        "  --spread-ips      each user connects from its own loopback address 127.1.x.y (so a\n"
        "                    per-IP rate limit applies per simulated player; loopback only)\n"
        "  --settle SECS     wait between setup and connecting, printing \"bots: phase\n"
        "                    setup-done\" (a script samples the idle server meanwhile)\n"
        "  --json            print the report as one JSON object\n"
        "\n"
        "Measures ack latency (op sent -> ack read) p50/p99/p999, messages/s, rejects by code,\n"
        "protocol errors, disconnects, finished games. Progress on stderr every second.\n"
        "Exit: 0 all good; 1 a hash mismatch or a failed session; 2 usage; 3 runtime error.\n",
        MAX_SESSIONS);
}

/* The map file: --map, else maps/meadow.json, $STOCKADE_MAPS_DIR/meadow.json, then
 * ../maps/meadow.json next to the executable (as `stockade simulate` looks). */
static int read_map(run_t *r, const char *path)
{
    char tries[3][1100] = {{0}};
    if (path) {
        snprintf(tries[0], sizeof tries[0], "%s", path);
    } else {
        snprintf(tries[0], sizeof tries[0], "maps/meadow.json");
        const char *dir = getenv("STOCKADE_MAPS_DIR");
        if (dir)
            snprintf(tries[1], sizeof tries[1], "%s/meadow.json", dir);
        char exe[1024];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = '\0';
            snprintf(tries[2], sizeof tries[2], "%s/../maps/meadow.json", exe);
        }
    }
    for (int i = 0; i < 3; i++) {
        FILE *f = tries[i][0] ? fopen(tries[i], "r") : NULL;
        if (!f)
            continue;
        size_t n = fread(r->map_json, 1, sizeof r->map_json - 1, f);
        bool big = !feof(f);
        fclose(f);
        if (big)
            return STK_ETOOBIG;
        r->map_json[n] = '\0';
        return 0;
    }
    return STK_ENOTFOUND;
}

static bool parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return false;
    *out = (size_t)v;
    return true;
}

int stk_cmd_bots(int argc, char **argv)
{
    if (stk_cli_wants_help(argc, argv)) {
        usage(stdout);
        return STK_EXIT_OK;
    }
    run_t *r = calloc(1, sizeof *r);
    if (!r)
        return stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
    const char *url = "http://127.0.0.1:8080", *map = NULL;
    r->n_sessions = 1;
    r->n_players = 4;
    r->mode = MODE_MIXED;
    r->seed = (uint64_t)time(NULL);
    r->trace = getenv("STK_BOTS_TRACE") != NULL; /* every message received, on stderr */
    /* Test hook: proves the audit catches a live hash that differs from the replay's. */
    r->corrupt_end = getenv("STK_BOTS_TEST_CORRUPT_END_HASH") != NULL;
    int code = STK_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t n;
        if (strcmp(a, "--json") == 0) {
            r->json = true;
            continue;
        }
        if (strcmp(a, "--spread-ips") == 0) {
            r->spread = true;
            continue;
        }
        if (!v) {
            stk_cli_fail(STK_EXIT_USAGE, CMD, "unknown or incomplete option '%s'", a);
            goto out;
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--sessions") == 0 && parse_size(v, 1, MAX_SESSIONS, &n)) {
            r->n_sessions = n;
        } else if (strcmp(a, "--players") == 0 && parse_size(v, 1, MAX_PLAYERS, &n)) {
            r->n_players = n;
        } else if (strcmp(a, "--users") == 0 && parse_size(v, 1, MAX_SESSIONS * MAX_PLAYERS, &n)) {
            r->n_users = n;
        } else if (strcmp(a, "--seed") == 0 && parse_size(v, 0, SIZE_MAX, &n)) {
            r->seed = n;
        } else if (strcmp(a, "--tick-rate") == 0 && parse_size(v, 1, 1000, &n)) {
            r->tick_rate = n;
        } else if (strcmp(a, "--map") == 0) {
            map = v;
        } else if (strcmp(a, "--protocol") == 0 &&
                   (strcmp(v, "json") == 0 || strcmp(v, "msgpack") == 0 ||
                    strcmp(v, "mixed") == 0)) {
            r->mode = v[0] == 'j' ? MODE_JSON : v[1] == 's' ? MODE_MSGPACK : MODE_MIXED;
        } else if (strcmp(a, "--duration") == 0 && atof(v) > 0) {
            r->duration = atof(v);
        } else if (strcmp(a, "--settle") == 0 && atof(v) >= 0) {
            r->settle = atof(v);
        } else {
            stk_cli_fail(STK_EXIT_USAGE, CMD, "bad option '%s %s'", a, v);
            goto out;
        }
    }
    if (r->n_users == 0)
        r->n_users = r->n_sessions * r->n_players;
    if (r->n_users < r->n_players) {
        stk_cli_fail(STK_EXIT_USAGE, CMD, "--users must be at least --players");
        goto out;
    }
    if (stk_bnet_target_parse(url, &r->target) != 0) {
        stk_cli_fail(STK_EXIT_USAGE, CMD, "bad --url '%s' (http://IPV4:PORT)", url);
        goto out;
    }
    code = STK_EXIT_RUNTIME;
    int rc = read_map(r, map);
    if (rc) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "map %s: %s", map ? map : "maps/meadow.json",
                     stk_strerror(rc));
        goto out;
    }
    r->users = calloc(r->n_users, sizeof *r->users);
    r->sessions = calloc(r->n_sessions, sizeof *r->sessions);
    r->lat_us = malloc(sizeof *r->lat_us * LAT_MAX);
    if (!r->users || !r->sessions || !r->lat_us) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
        goto out;
    }
    /* Names: unique per run from the seed and the time. */
    uint64_t tag = (r->seed * 0x9E3779B97F4A7C15ull) ^ (uint64_t)time(NULL) ^ uv_hrtime();
    for (size_t i = 0; i < r->n_users; i++) {
        buser_t *u = &r->users[i];
        u->run = r;
        u->idx = i;
        snprintf(u->name, sizeof u->name, "bot%08" PRIx64 "_%zu", tag & 0xffffffffu, i);
        u->target = r->target;
        if (r->spread) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&u->target.src;
            char ip[32];
            snprintf(ip, sizeof ip, "127.1.%zu.%zu", (i / 254) % 256, i % 254 + 1);
            uv_ip4_addr(ip, 0, sin);
        }
    }
    for (size_t i = 0; i < r->n_sessions; i++) {
        bsession_t *s = &r->sessions[i];
        s->run = r;
        s->idx = i;
        for (size_t k = 0; k < r->n_players; k++) {
            bclient_t *c = &s->c[k];
            c->s = s;
            c->slot = k;
            c->u = &r->users[(i * r->n_players + k) % r->n_users];
            c->fmt = r->mode == MODE_JSON      ? STK_LIVE_JSON
                     : r->mode == MODE_MSGPACK ? STK_LIVE_MSGPACK
                     : (k + i) % 2             ? STK_LIVE_MSGPACK
                                               : STK_LIVE_JSON;
            c->player = -1;
        }
        for (size_t k = 0; k < MAX_PLAYERS; k++)
            s->bot_client[k] = -1;
    }
    r->clients_total = r->n_sessions * r->n_players;
    /* One descriptor per client plus the setup requests: raise the soft limit to the hard
     * one so that 1,000 clients do not meet the usual default of 1024. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (uv_loop_init(&r->loop) != 0 || stk_bnet_create(&r->loop, &r->net) != 0) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "event loop");
        goto out;
    }
    uv_timer_init(&r->loop, &r->timer);
    r->timer.data = r;
    uv_signal_init(&r->loop, &r->sigint);
    r->sigint.data = r;
    uv_signal_start(&r->sigint, sigint_cb, SIGINT);
    r->t0_ns = now_ns();
    if (r->duration > 0)
        r->deadline_ns = r->t0_ns + (uint64_t)(r->duration * 1e9);
    logf_(r, "%zu users, %zu sessions x %zu players against %s", r->n_users, r->n_sessions,
          r->n_players, r->target.host);
    for (size_t i = 0; i < r->n_users; i++)
        user_start(&r->users[i]);
    uv_timer_start(&r->timer, timer_cb, TICK_MS, TICK_MS);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (!r->play_t0_ns)
        r->play_t0_ns = r->t0_ns;
    code = report(r);
    if (r->users_failed == r->n_users) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "no bot user could be set up");
        code = STK_EXIT_RUNTIME;
    }
out:
    if (r->net) {
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_loop_close(&r->loop);
        stk_bnet_destroy(r->net);
    }
    if (r->sessions)
        for (size_t i = 0; i < r->n_sessions; i++)
            mirror_free(&r->sessions[i]);
    while (r->queue_head) {
        hjob_t *j = r->queue_head;
        r->queue_head = j->next;
        free(j->body);
        free(j);
    }
    free(r->users);
    free(r->sessions);
    free(r->lat_us);
    free(r);
    return code;
}
