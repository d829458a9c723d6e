/* tools/bots_session.c — `stockade bots`: setting up and auditing sessions over REST.
 *
 * The bounded HTTP request queue (at most HTTP_INFLIGHT in flight, 429/503 retried after
 * Retry-After), the bot users (register, log in, found a tribe) and each session's setup
 * phases (WAIT_USERS → MAP → OPEN → JOIN → LOG → READY_TO_CONNECT) and its AUDIT (the
 * finished game's log fetched again and replayed). It is NOT the live WebSocket play
 * (tools/bots_live.c) nor the options, timer and report (tools/cmd_bots.c,
 * tools/bots_report.c). Thread: the run's loop only.
 */
#include "tools/bots_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/error.h"
#include "events/game.h"
#include "events/json.h"
#include "events/replay.h"
#include "events/types.h"

/* ---- HTTP queue (bounded concurrency, 429 → retry after Retry-After) -------------------- */

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
        stk_botrun_queue_pump(r);
        return;
    }
    if (status < 200 || status >= 300)
        r->http_errors++;
    j->done(j->ud, status, body, len);
    free(j->body);
    free(j);
    stk_botrun_queue_pump(r);
}

void stk_botrun_queue_pump(run_t *r)
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
void stk_botrun_http(run_t *r, const stk_bnet_target_t *t, const char *method, const char *path,
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
    stk_botrun_queue_pump(r);
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
    stk_botrun_http(r, &u->target, "POST", "/v1/tribes", u->token, json_dumps(b, JSON_COMPACT),
                    HTTP_BODY_MAX, user_tribe_cb, u);
    json_decref(b);
}

static void user_login(buser_t *u)
{
    json_t *b = json_pack("{s:s, s:s}", "username", u->name, "password", PASSWORD);
    stk_botrun_http(u->run, &u->target, "POST", "/v1/auth/login", NULL, json_dumps(b, JSON_COMPACT),
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

void stk_botrun_user_start(buser_t *u)
{
    char email[96];
    snprintf(email, sizeof email, "%s@bots.example.com", u->name);
    json_t *b =
        json_pack("{s:s, s:s, s:s}", "username", u->name, "email", email, "password", PASSWORD);
    stk_botrun_http(u->run, &u->target, "POST", "/v1/auth/register", NULL,
                    json_dumps(b, JSON_COMPACT), HTTP_BODY_MAX, user_register_cb, u);
    json_decref(b);
}

/* ---- sessions ----------------------------------------------------------------------------- */

void stk_botrun_session_fail(bsession_t *s, const char *fmt, ...)
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
        stk_botrun_session_fail(
            s,
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

void stk_botrun_session_audit(bsession_t *s)
{
    run_t *r = s->run;
    s->phase = SP_AUDIT;
    r->games_finished++;
    char path[128];
    snprintf(path, sizeof path, "/v1/sessions/%s/events", s->id);
    buser_t *host = s->c[0].u;
    stk_botrun_http(r, &host->target, "GET", path, host->token, NULL, EVENTS_BODY_MAX,
                    session_audit_cb, s);
}

static void session_log_cb(void *ud, int status, const char *body, size_t len)
{
    bsession_t *s = ud;
    if (status != 200) {
        stk_botrun_session_fail(s, "GET events: HTTP %d: %.200s", status, body);
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
                stk_botrun_session_fail(s, "GET events: a line does not parse");
                return;
            }
            if (stk_uuid_eq(&e.stream, &s->uuid))
                stk_botrun_mirror_feed(s, &e);
            free(payload);
        }
        p += ll + 1;
    }
    if (!s->g || s->mirror_dead) {
        stk_botrun_session_fail(s, "GET events: no usable SessionOpened");
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
        stk_botrun_session_fail(s, "join: HTTP %d: %.200s", status, body);
        return;
    }
    if (++s->joined < s->run->n_players)
        return;
    s->phase = SP_LOG;
    char path[128];
    snprintf(path, sizeof path, "/v1/sessions/%s/events", s->id);
    stk_botrun_http(s->run, &s->c[0].u->target, "GET", path, s->c[0].u->token, NULL,
                    EVENTS_BODY_MAX, session_log_cb, s);
}

static void session_join(bsession_t *s, size_t from)
{
    for (size_t i = from; i < s->run->n_players; i++) {
        buser_t *u = s->c[i].u;
        char path[128];
        snprintf(path, sizeof path, "/v1/sessions/%s/join", s->id);
        json_t *b = json_pack("{s:s}", "tribe_id", u->tribe);
        stk_botrun_http(s->run, &u->target, "POST", path, u->token, json_dumps(b, JSON_COMPACT),
                        HTTP_BODY_MAX, session_join_cb, s);
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
        stk_botrun_session_fail(s, "open session: HTTP %d: %.200s", status, body);
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
        stk_botrun_session_fail(s, "draw map: HTTP %d: %.200s", status, body);
        return;
    }
    s->phase = SP_OPEN;
    buser_t *host = s->c[0].u;
    json_t *b = json_pack("{s:s}", "map_id", s->map_id);
    if (s->run->tick_rate)
        json_object_set_new(b, "tick_rate", json_integer((json_int_t)s->run->tick_rate));
    stk_botrun_http(s->run, &host->target, "POST", "/v1/sessions", host->token,
                    json_dumps(b, JSON_COMPACT), HTTP_BODY_MAX, session_open_cb, s);
    json_decref(b);
}

static void session_start(bsession_t *s)
{
    run_t *r = s->run;
    buser_t *host = s->c[0].u;
    for (size_t i = 0; i < r->n_players; i++)
        if (!s->c[i].u->ready) {
            stk_botrun_session_fail(s, "a player's user could not be set up");
            return;
        }
    s->phase = SP_MAP;
    json_t *m = json_loads(r->map_json, 0, NULL);
    if (!m) {
        stk_botrun_session_fail(s, "map file is not JSON");
        return;
    }
    char name[96];
    snprintf(name, sizeof name, "Bots %" PRIu64 " #%zu", r->seed, s->idx);
    json_object_set_new(m, "name", json_string(name));
    stk_botrun_http(r, &host->target, "POST", "/v1/maps", host->token, json_dumps(m, JSON_COMPACT),
                    HTTP_BODY_MAX, session_map_cb, s);
    json_decref(m);
}

void stk_botrun_say_phase(run_t *r, const char *phase)
{
    fprintf(stderr, "bots: phase %s clients=%zu\n", phase, r->clients_open);
    fflush(stderr);
}

void stk_botrun_connect_all(run_t *r)
{
    r->connecting = true;
    r->settle_stage = 2;
    stk_botrun_say_phase(r, "connect");
    for (size_t i = 0; i < r->n_sessions; i++) {
        bsession_t *s = &r->sessions[i];
        if (s->phase != SP_READY_TO_CONNECT)
            continue;
        s->phase = SP_LIVE;
        for (size_t k = 0; k < r->n_players; k++)
            stk_botrun_client_connect(&s->c[k]);
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
            stk_botrun_say_phase(r, "setup-done");
            r->settle_stage = 1;
            r->settle_until_ns = now_ns() + (uint64_t)(r->settle * 1e9);
        } else {
            stk_botrun_connect_all(r);
        }
    }
}
