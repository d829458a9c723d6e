/* tools/bots_live.c — `stockade bots`: the live protocol clients and the game mirror.
 *
 * The mirror is the host's copy of the game, fed by the session log and then by the host
 * socket's `event` and `state` messages; the scripted bots (tools/bots.h) decide on it what
 * each player sends. This file sends ops (JSON or MessagePack, refs tracked for the ack
 * latency), receives and counts messages, rejects, protocol errors and closes. It is NOT
 * the REST setup or the audit (tools/bots_session.c) nor the run's timer (tools/cmd_bots.c).
 * Thread: the run's loop only.
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
#include <msgpack.h>

#include "core/error.h"
#include "core/game.h"
#include "events/game.h"
#include "events/json.h"
#include "events/types.h"
#include "net/live_codec.h"

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
/* ---- the mirror --------------------------------------------------------------------------- */

void stk_botrun_mirror_free(bsession_t *s)
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

static void mirror_step_to(bsession_t *s, uint64_t tick, bool turns)
{
    while (s->g && !s->mirror_dead && stk_game_tick(s->g) < tick) {
        uint64_t before = stk_game_tick(s->g);
        stk_game_outcome_t o;
        stk_game_step(s->g, &o);
        if (stk_game_tick(s->g) == before)
            break;
        if (turns)
            stk_botrun_turns(s);
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
void stk_botrun_mirror_feed(bsession_t *s, const stk_envelope_t *e)
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
int stk_botrun_send_op(bclient_t *c, stk_live_op_t kind, const opf_t *f, size_t nf)
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
void stk_botrun_turns(bsession_t *s)
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
            stk_botrun_send_op(c, op, f, nf);
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
void stk_botrun_maybe_start(bsession_t *s)
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
    if (stk_botrun_send_op(host, STK_LIVE_OP_START, NULL, 0) == 0)
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
    stk_botrun_mirror_feed(s, &e);
    msgpack_sbuffer_destroy(&sb);
    if (s->g && stk_game_state(s->g) == STK_GAME_LOBBY)
        stk_botrun_maybe_start(s);
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
            stk_botrun_send_op(c, STK_LIVE_OP_READY, &f, 1);
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
            stk_botrun_session_audit(s);
        else if (r->stopping)
            s->phase = SP_DONE; /* cut by --duration or SIGINT: neither failed nor audited */
        else
            stk_botrun_session_audit(
                s); /* closed without `end`: the log says whether the game ended */
    }
}

void stk_botrun_client_connect(bclient_t *c)
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
