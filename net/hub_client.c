/* net/hub_client.c — one live socket of the hub: accept, auth, hello, ops → session
 * inputs, rejects, timeouts, close (docs/live-protocol.md). Broadcasts, welcomes and acks
 * are sent by net/hub.c once the session is quiet / the commit is polled.
 *
 * Socket states: C_AUTH (no token yet) → C_HELLO → C_HELLO_PENDING → C_LIVE → C_CLOSING;
 * any state → freed in on_close (ws.h guarantees it runs once, never re-entrantly).
 */
#include "net/hub_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "net/auth_jwt.h"

static const char *const subprotocols[] = {STK_LIVE_SUBPROTO_JSON, STK_LIVE_SUBPROTO_MSGPACK};

static void reject(hclient_t *c, const stk_live_ref_t *ref, const char *code, const char *msg)
{
    stk_live_buf_t b = {0};
    hub_count_reject(c->hub, code);
    if (stk_live_encode_reject(c->fmt, ref, code, msg, &b) == 0)
        hub_send(c, &b);
    stk_live_buf_free(&b);
}

static void reject_live(hclient_t *c, const stk_live_ref_t *ref, stk_live_reject_t r)
{
    reject(c, ref, stk_live_reject_code(r), stk_live_reject_message(r));
}

static void unlink_client(hclient_t *c)
{
    hsess_t *s = c->sess;
    for (hclient_t **pp = &s->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            s->n_clients--;
            break;
        }
}

static void on_close(stk_ws_t *ws, int code, void *arg)
{
    (void)ws;
    (void)code;
    hclient_t *c = arg;
    unlink_client(c);
    stk_hub_t *h = c->hub;
    free(c);
    if (!h->stopping)
        hub_kick(h); /* presence: a player may be gone */
}

static bool rate_ok(hclient_t *c)
{
    uint64_t now = uv_hrtime();
    double dt = (double)(now - c->tokens_ns) / 1e9;
    c->tokens_ns = now;
    c->tokens += dt * HUB_OPS_PER_S;
    if (c->tokens > HUB_OPS_BURST)
        c->tokens = HUB_OPS_BURST;
    if (c->tokens < 1.0)
        return false;
    c->tokens -= 1.0;
    return true;
}

static void do_hello(hclient_t *c, const stk_live_msg_t *m)
{
    hsess_t *s = c->sess;
    c->hello_ref = m->ref;
    c->has_last_seq = m->has_last_seq;
    c->last_seq = m->last_seq;
    c->spectator = m->spectate;
    if (!s->s) {
        hub_close_client(c, STK_WS_GOING_AWAY, "server shutting down");
        return;
    }
    const stk_game_t *g = stk_session_game(s->s);
    int idx = stk_game_player_index(g, c->user.b);
    stk_game_player_info_t p;
    if (idx < 0 || stk_game_player((const stk_game_t *)g, (size_t)idx, &p) != 0 || p.left)
        c->spectator = true;
    if (!c->spectator) {
        /* one socket per player: the newest wins */
        for (hclient_t *o = s->clients; o; o = o->next)
            if (o != c && !o->spectator && (o->phase == C_LIVE || o->phase == C_HELLO_PENDING) &&
                stk_uuid_eq(&o->user, &c->user))
                hub_close_client(o, 4009, "replaced by a newer connection");
    }
    c->phase = C_HELLO_PENDING;
    hub_kick(c->hub);
}

static int input_of(hclient_t *c, const stk_live_msg_t *m, stk_game_input_t *in)
{
    memset(in, 0, sizeof *in);
    memcpy(in->player, c->user.b, STK_UUID_LEN);
    switch (m->op) {
    case STK_LIVE_OP_READY:
        in->kind = STK_INPUT_READY;
        in->ready = m->ready;
        return 0;
    case STK_LIVE_OP_START:
        in->kind = STK_INPUT_START;
        return 0;
    case STK_LIVE_OP_PLACE:
        in->kind = STK_INPUT_PLACE;
        in->x = m->x;
        in->y = m->y;
        in->tower =
            stk_balance_tower_by_name(stk_game_balance(stk_session_game(c->sess->s)), m->tower);
        if (in->tower < 0)
            in->tower = -1;
        return 0;
    case STK_LIVE_OP_UPGRADE:
        in->kind = STK_INPUT_UPGRADE;
        in->tower_id = m->tower_id;
        return 0;
    case STK_LIVE_OP_SELL:
        in->kind = STK_INPUT_SELL;
        in->tower_id = m->tower_id;
        return 0;
    case STK_LIVE_OP_CALL_WAVE:
        in->kind = STK_INPUT_CALL_WAVE;
        return 0;
    case STK_LIVE_OP_PAUSE:
        in->kind = STK_INPUT_PAUSE;
        return 0;
    case STK_LIVE_OP_RESUME:
        in->kind = STK_INPUT_RESUME;
        return 0;
    default:
        return STK_EINVAL;
    }
}

static void do_op(hclient_t *c, const stk_live_msg_t *m)
{
    hsess_t *s = c->sess;
    if (c->spectator) {
        /* a player watching on a second socket is a spectator; anyone else is not in it */
        int idx = s->s ? stk_game_player_index(stk_session_game(s->s), c->user.b) : -1;
        reject_live(c, &m->ref,
                    idx >= 0 ? STK_LIVE_REJECT_SPECTATOR : STK_LIVE_REJECT_NOT_IN_SESSION);
        return;
    }
    if (!rate_ok(c)) {
        reject_live(c, &m->ref, STK_LIVE_REJECT_RATE_LIMITED);
        return;
    }
    if (!s->s || s->dead) {
        reject_live(c, &m->ref, STK_LIVE_REJECT_SERVER_ERROR);
        return;
    }
    stk_game_input_t in;
    if (input_of(c, m, &in) != 0) {
        reject_live(c, &m->ref, STK_LIVE_REJECT_UNKNOWN_OP);
        return;
    }
    hack_t *a = calloc(1, sizeof *a);
    if (!a) {
        reject_live(c, &m->ref, STK_LIVE_REJECT_BUSY);
        return;
    }
    a->client_id = c->id;
    a->ref = m->ref;
    stk_reject_t why = STK_REJECT_NONE;
    int rc = hub_submit(s, &in, &why, a);
    if (rc == 0)
        return;
    free(a);
    if (rc == STK_EPERM) {
        if (why == STK_REJECT_NOT_IN_SESSION)
            reject_live(c, &m->ref, STK_LIVE_REJECT_NOT_IN_SESSION);
        else
            reject(c, &m->ref, stk_live_game_reject_code(why), stk_reject_message(why));
    } else if (rc == STK_EBUSY || rc == STK_ENOMEM) {
        reject_live(c, &m->ref, STK_LIVE_REJECT_BUSY);
    } else {
        reject_live(c, &m->ref, STK_LIVE_REJECT_SERVER_ERROR);
    }
}

static void on_message(stk_ws_t *ws, stk_ws_kind_t kind, const uint8_t *data, size_t len, void *arg)
{
    (void)ws;
    hclient_t *c = arg;
    if (c->phase == C_CLOSING)
        return;
    stk_live_msg_t *m = malloc(sizeof *m);
    if (!m) {
        hub_close_client(c, STK_WS_INTERNAL, "out of memory");
        return;
    }
    stk_live_error_t err;
    bool kind_ok = (kind == STK_WS_TEXT) == (c->fmt == STK_LIVE_JSON);
    int rc = kind_ok ? stk_live_decode(c->fmt, data, len, m, &err) : STK_EDECODE;
    if (!kind_ok) {
        memset(&err, 0, sizeof err);
        err.code = STK_LIVE_REJECT_BAD_MESSAGE;
        snprintf(err.message, sizeof err.message, "%s", "wrong frame kind for the subprotocol");
    }
    if (c->phase == C_AUTH) {
        if (rc != 0 || m->op != STK_LIVE_OP_AUTH) {
            hub_close_client(c, 4001, "auth required");
        } else {
            stk_jwt_claims_t cl;
            stk_jwt_reason_t why = STK_JWT_OK;
            if (stk_jwt_verify(stk_app_jwt_key(c->hub->app), m->token, m->token_len, STK_JWT_ACCESS,
                               stk_app_now_s(), &cl, &why) != 0) {
                hub_close_client(c, 4001, stk_jwt_reason_message(why));
            } else {
                c->user = cl.sub;
                c->phase = C_HELLO;
            }
        }
        free(m);
        return;
    }
    if (rc != 0) {
        stk_live_buf_t b = {0};
        const char *code = stk_live_reject_code(err.code);
        hub_count_reject(c->hub, code);
        if (stk_live_encode_reject(c->fmt, &err.ref, code, err.message, &b) == 0)
            hub_send(c, &b);
        stk_live_buf_free(&b);
        free(m);
        return;
    }
    if (m->op == STK_LIVE_OP_AUTH) {
        reject(c, &m->ref, "bad_message", "already authenticated");
    } else if (m->op == STK_LIVE_OP_HELLO) {
        if (c->phase == C_HELLO)
            do_hello(c, m);
        else
            reject(c, &m->ref, "bad_message", "hello was already received");
    } else if (c->phase != C_LIVE) {
        reject_live(c, &m->ref, STK_LIVE_REJECT_HELLO_REQUIRED);
    } else {
        do_op(c, m);
    }
    free(m);
}

void hub_client_timeouts(hsess_t *s, uint64_t now_ns)
{
    for (hclient_t *c = s->clients; c; c = c->next) {
        if ((c->phase == C_AUTH || c->phase == C_HELLO) &&
            now_ns - c->opened_ns > HUB_AUTH_TIMEOUT_NS)
            hub_close_client(c, 4008, "no auth/hello in time");
    }
}

void stk_hub_accept(stk_hub_t *h, const stk_uuid_t *id, const stk_uuid_t *user, stk_http_req_t *req,
                    stk_http_res_t *res)
{
    hsess_t *s = NULL;
    int rc = hub_get(h, id, &s);
    if (rc == STK_ENOTFOUND || rc == STK_ECORRUPT) { /* ECORRUPT: not a session stream */
        stk_app_problem(res, 404, NULL, "no such session");
        return;
    }
    if (rc != 0) {
        stk_app_problem_err(res, rc, "the session could not be loaded", NULL);
        return;
    }
    if (s->n_clients >= STK_HUB_CLIENTS_MAX) {
        stk_app_problem(res, 503, NULL, "too many sockets on this session");
        return;
    }
    hclient_t *c = calloc(1, sizeof *c);
    if (!c) {
        stk_app_problem_err(res, STK_ENOMEM, NULL, NULL);
        return;
    }
    c->hub = h;
    c->sess = s;
    c->id = ++h->next_client_id;
    c->opened_ns = uv_hrtime();
    c->tokens_ns = c->opened_ns;
    c->tokens = HUB_OPS_BURST;
    if (user) {
        c->user = *user;
        c->phase = C_HELLO;
    } else {
        c->phase = C_AUTH;
    }
    stk_ws_options_t o;
    memset(&o, 0, sizeof o);
    o.subprotocols = subprotocols;
    o.n_subprotocols = 2;
    o.cb.on_message = on_message;
    o.cb.on_close = on_close;
    o.arg = c;
    stk_ws_t *ws = NULL;
    if (stk_ws_accept(req, res, &o, &ws) != 0 || !ws) {
        free(c);
        return;
    }
    c->ws = ws;
    const char *sp = stk_ws_subprotocol(ws);
    c->fmt = (sp && strcmp(sp, STK_LIVE_SUBPROTO_MSGPACK) == 0) ? STK_LIVE_MSGPACK : STK_LIVE_JSON;
    c->next = s->clients;
    s->clients = c;
    s->n_clients++;
}
