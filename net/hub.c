/* net/hub.c — the live-session hub (net/hub.h): registry, scheduler, commit polling,
 * broadcasts, presence and abandonment. The per-socket protocol is net/hub_client.c; both
 * share net/hub_internal.h.
 *
 * Invariants (loop thread):
 *   - a session's `bcast_version` is the last stream version sent as `event` to its live
 *     sockets; events are only sent once they are committed AND applied to the game
 *     (seq <= the last input ack polled, or everything when nothing is in flight), so a
 *     welcome's snapshot always equals the log up to its seq: welcomes are only sent when
 *     nothing is in flight (they wait otherwise);
 *   - acks are flushed after the broadcast that carried their event;
 *   - a session is freed only when no socket refers to it and nothing is in flight.
 */
#include "net/hub_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "core/error.h"
#include "events/types.h"

#define NS_PER_S        1000000000ull
#define NS_PER_MS       1000000ull
#define UNLOAD_AFTER_NS (10ull * NS_PER_S) /* a finished session with no socket */
#define HOUSEKEEP_MS    100u

/* ---- small helpers ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

void hub_send(hclient_t *c, const stk_live_buf_t *b)
{
    if (!c->ws || c->phase == C_CLOSING || !b->data)
        return;
    if (c->fmt == STK_LIVE_JSON)
        (void)stk_ws_send_text(c->ws, (const char *)b->data, b->len);
    else
        (void)stk_ws_send_binary(c->ws, b->data, b->len);
}

void hub_close_client(hclient_t *c, int code, const char *reason)
{
    if (!c->ws || c->phase == C_CLOSING)
        return;
    c->phase = C_CLOSING;
    (void)stk_ws_close(c->ws, code, reason);
}

void hub_count_reject(stk_hub_t *h, const char *code)
{
    if (h->m_rejects) {
        const char *lv[1] = {code};
        stk_metric_add(h->m_rejects, lv, 1);
    }
}

static bool game_final(const stk_game_t *g)
{
    stk_game_state_t st = stk_game_state(g);
    return st == STK_GAME_COMPLETED || st == STK_GAME_ABANDONED;
}

static bool seen_has(const hsess_t *s, const uint8_t id[STK_UUID_LEN])
{
    for (size_t i = 0; i < s->n_seen; i++)
        if (memcmp(s->seen[i], id, STK_UUID_LEN) == 0)
            return true;
    return false;
}

void hub_seen_add(hsess_t *s, const uint8_t id[STK_UUID_LEN])
{
    if (seen_has(s, id) || s->n_seen >= HUB_SEEN_MAX)
        return;
    memcpy(s->seen[s->n_seen++], id, STK_UUID_LEN);
}

/* A live player socket of user in s (spectating sockets do not count). */
static bool has_player_socket(const hsess_t *s, const uint8_t id[STK_UUID_LEN])
{
    for (const hclient_t *c = s->clients; c; c = c->next)
        if ((c->phase == C_LIVE || c->phase == C_HELLO_PENDING) && !c->spectator &&
            memcmp(c->user.b, id, STK_UUID_LEN) == 0)
            return true;
    return false;
}

/* ---- session acks ------------------------------------------------------------------- */

static void sess_ack_cb(void *ud, int status, uint64_t seq)
{
    hack_t *a = ud;
    hsess_t *s = a->sess;
    a->status = status;
    a->seq = seq;
    if (status == 0 && seq > s->max_acked_seq)
        s->max_acked_seq = seq;
    a->next = NULL;
    if (s->done_tail)
        s->done_tail->next = a;
    else
        s->done_head = a;
    s->done_tail = a;
}

int hub_submit(hsess_t *s, const stk_game_input_t *in, stk_reject_t *why, hack_t *a)
{
    if (!s->s || s->dead)
        return STK_ESTATE;
    a->sess = s;
    a->tick = stk_game_tick(stk_session_game(s->s));
    int rc = stk_session_submit(s->s, in, why, sess_ack_cb, a);
    if (rc == 0)
        s->hub->polls_wanted = true;
    return rc;
}

static hclient_t *find_client(hsess_t *s, uint64_t id)
{
    for (hclient_t *c = s->clients; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void flush_acks(hsess_t *s)
{
    stk_hub_t *h = s->hub;
    while (s->done_head) {
        hack_t *a = s->done_head;
        s->done_head = a->next;
        if (!s->done_head)
            s->done_tail = NULL;
        if (a->cb) {
            a->cb(a->ud, a->status, a->seq, a->tick);
        } else if (a->client_id) {
            hclient_t *c = find_client(s, a->client_id);
            stk_live_buf_t b = {0};
            if (c) {
                int rc;
                if (a->status == 0) {
                    rc = stk_live_encode_ack(c->fmt, &a->ref, a->seq, a->tick, &b);
                    if (h->m_acks)
                        stk_metric_add(h->m_acks, NULL, 1);
                } else {
                    rc = stk_live_encode_reject(
                        c->fmt, &a->ref, stk_live_reject_code(STK_LIVE_REJECT_SERVER_ERROR),
                        stk_live_reject_message(STK_LIVE_REJECT_SERVER_ERROR), &b);
                    hub_count_reject(h, "server_error");
                }
                if (rc == 0)
                    hub_send(c, &b);
                stk_live_buf_free(&b);
            }
        }
        free(a);
    }
}

/* ---- broadcast ---------------------------------------------------------------------- */

typedef struct bcast_ctx {
    hsess_t *s;
    uint64_t safe_seq;
    bool stopped;
    size_t n;
} bcast_ctx_t;

static int bcast_cb(void *ud, const stk_envelope_t *e)
{
    bcast_ctx_t *x = ud;
    if (e->seq > x->safe_seq) {
        x->stopped = true;
        return 1;
    }
    hsess_t *s = x->s;
    stk_live_buf_t b[2] = {{0}, {0}};
    bool tried[2] = {false, false};
    for (hclient_t *c = s->clients; c; c = c->next) {
        if (c->phase != C_LIVE)
            continue;
        int f = (int)c->fmt;
        if (!tried[f]) {
            tried[f] = true;
            if (stk_live_encode_event(c->fmt, e, &b[f]) != 0)
                b[f].data = NULL;
        }
        hub_send(c, &b[f]);
    }
    stk_live_buf_free(&b[0]);
    stk_live_buf_free(&b[1]);
    s->bcast_version = e->version;
    s->bcast_seq = e->seq;
    x->n++;
    return 0;
}

static void broadcast(hsess_t *s, uint64_t safe_seq)
{
    stk_log_t *log = stk_app_log(s->hub->app);
    for (;;) {
        bcast_ctx_t x = {s, safe_seq, false, 0};
        int rc = stk_log_read_stream(log, &s->id, s->bcast_version + 1, 256, bcast_cb, &x);
        if (rc < 0 || x.stopped || x.n < 256)
            break;
    }
}

/* ---- history and welcome ------------------------------------------------------------ */

typedef struct hist_ctx {
    hclient_t *c;
    uint64_t after_seq, upto_version;
} hist_ctx_t;

static int hist_cb(void *ud, const stk_envelope_t *e)
{
    hist_ctx_t *x = ud;
    if (e->version > x->upto_version)
        return 1;
    if (e->seq <= x->after_seq)
        return 0;
    if (x->c->phase == C_CLOSING)
        return 1;
    stk_live_buf_t b = {0};
    if (stk_live_encode_event(x->c->fmt, e, &b) == 0)
        hub_send(x->c, &b);
    stk_live_buf_free(&b);
    return 0;
}

static void send_end(hsess_t *s, hclient_t *c)
{
    stk_live_buf_t b = {0};
    if (stk_live_encode_end(c->fmt, stk_session_game(s->s), &b) == 0)
        hub_send(c, &b);
    stk_live_buf_free(&b);
    hub_close_client(c, STK_WS_NORMAL, "game over"); /* ws.c sends `end` before the close */
}

static void welcome(hsess_t *s, hclient_t *c)
{
    const stk_game_t *g = stk_session_game(s->s);
    stk_live_you_t you;
    memset(&you, 0, sizeof you);
    you.user = c->user;
    you.player = stk_game_player_index(g, c->user.b);
    you.spectator = c->spectator;
    if (you.player >= 0) {
        stk_game_player_info_t p;
        if (stk_game_player(g, (size_t)you.player, &p) == 0)
            you.host = p.host && !c->spectator;
    }
    stk_live_buf_t b = {0};
    if (stk_live_encode_welcome(c->fmt, &c->hello_ref, &s->id, &s->map_id, &you, s->bcast_seq, g,
                                &b) != 0) {
        hub_close_client(c, STK_WS_INTERNAL, "welcome failed");
        return;
    }
    hub_send(c, &b);
    stk_live_buf_free(&b);
    c->phase = C_LIVE;
    if (!c->spectator)
        hub_seen_add(s, c->user.b);
    if (c->has_last_seq) {
        stk_log_t *log = stk_app_log(s->hub->app);
        hist_ctx_t x = {c, c->last_seq, s->bcast_version};
        (void)stk_log_read_stream(log, &s->id, 1, 0, hist_cb, &x);
    }
    if (game_final(g) && s->end_ready)
        send_end(s, c);
}

/* Welcome every socket whose hello waits, if the session is quiet. */
static void process_hellos(hsess_t *s)
{
    if (!s->s || s->dead || stk_session_in_flight(s->s) > 0 || s->done_head)
        return;
    for (hclient_t *c = s->clients; c; c = c->next)
        if (c->phase == C_HELLO_PENDING)
            welcome(s, c);
}

/* ---- loading and unloading ---------------------------------------------------------- */

static void notify_cb(void *ud)
{
    /* writer thread: only wake the loop */
    uv_async_send(&((stk_hub_t *)ud)->async);
}

static stk_session_opts_t sess_opts(stk_hub_t *h)
{
    stk_session_opts_t o;
    memset(&o, 0, sizeof o);
    o.notify = notify_cb;
    o.notify_ud = h;
    return o;
}

/* map_id of SessionOpened: one key of the payload map. */
static int opened_map_id(void *ud, const stk_envelope_t *e)
{
    stk_uuid_t *out = ud;
    msgpack_zone zone;
    msgpack_object o;
    size_t off = 0;
    if (e->type != STK_EV_SESSION_OPENED || !msgpack_zone_init(&zone, 256))
        return 1;
    if (msgpack_unpack((const char *)e->payload, e->payload_len, &off, &zone, &o) ==
            MSGPACK_UNPACK_SUCCESS &&
        o.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o.via.map.size; i++) {
            const msgpack_object_kv *kv = &o.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 6 &&
                memcmp(kv->key.via.str.ptr, "map_id", 6) == 0 &&
                kv->val.type == MSGPACK_OBJECT_BIN && kv->val.via.bin.size == STK_UUID_LEN)
                memcpy(out->b, kv->val.via.bin.ptr, STK_UUID_LEN);
        }
    }
    msgpack_zone_destroy(&zone);
    return 1;
}

static int last_seq_cb(void *ud, const stk_envelope_t *e)
{
    *(uint64_t *)ud = e->seq;
    return 0;
}

static hsess_t *sess_new(stk_hub_t *h, const stk_uuid_t *id)
{
    if (h->n_sessions >= STK_HUB_SESSIONS_MAX)
        return NULL;
    hsess_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hub = h;
    s->id = *id;
    s->next = h->sessions;
    h->sessions = s;
    h->n_sessions++;
    return s;
}

static void sess_unlink_free(hsess_t *s)
{
    stk_hub_t *h = s->hub;
    for (hsess_t **pp = &h->sessions; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            h->n_sessions--;
            break;
        }
    if (s->s)
        stk_session_close(s->s);
    s->s = NULL;
    flush_acks(s);
    free(s);
}

hsess_t *hub_find(stk_hub_t *h, const stk_uuid_t *id)
{
    for (hsess_t *s = h->sessions; s; s = s->next)
        if (!s->dead && stk_uuid_eq(&s->id, id))
            return s;
    return NULL;
}

int hub_get(stk_hub_t *h, const stk_uuid_t *id, hsess_t **out)
{
    *out = NULL;
    if (h->stopping)
        return STK_ECLOSED;
    hsess_t *s = hub_find(h, id);
    if (s) {
        *out = s;
        return 0;
    }
    stk_log_t *log = stk_app_log(h->app);
    stk_session_opts_t o = sess_opts(h);
    stk_session_t *ss = NULL;
    int rc = stk_session_resume(&ss, stk_app_writer(h->app), log, id, &o);
    if (rc != 0)
        return rc;
    s = sess_new(h, id);
    if (!s) {
        stk_session_close(ss);
        return STK_EFULL;
    }
    s->s = ss;
    (void)stk_log_read_stream(log, id, 1, 1, opened_map_id, &s->map_id);
    uint64_t v = 0;
    (void)stk_log_stream_version(log, id, &v);
    s->bcast_version = v;
    if (v > 0)
        (void)stk_log_read_stream(log, id, v, 1, last_seq_cb, &s->bcast_seq);
    /* Nobody is connected to a session that was just loaded: every player who was
     * connected is recorded as disconnected (presence sync), and comes back with a socket. */
    const stk_game_t *g = stk_session_game(ss);
    for (size_t i = 0; i < stk_game_player_count(g); i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) == 0)
            hub_seen_add(s, p.id);
    }
    s->end_ready = game_final(g);
    s->end_sent = s->end_ready;
    h->loads++;
    *out = s;
    return 0;
}

static void fail_session(hsess_t *s)
{
    if (s->dead)
        return;
    s->dead = true;
    for (hclient_t *c = s->clients; c; c = c->next)
        hub_close_client(c, STK_WS_INTERNAL, "session failed; reconnect");
    if (s->open_cb) {
        stk_hub_open_cb cb = s->open_cb;
        s->open_cb = NULL;
        cb(s->open_ud, stk_session_error(s->s) ? stk_session_error(s->s) : STK_EIO);
    }
}

/* ---- after a poll ------------------------------------------------------------------- */

static void after_poll(hsess_t *s)
{
    if (!s->s)
        return;
    bool quiet = stk_session_in_flight(s->s) == 0;
    if (stk_session_error(s->s) != 0) {
        broadcast(s, s->max_acked_seq); /* what did commit and apply still goes out first */
        flush_acks(s);
        fail_session(s);
        return;
    }
    if (s->open_cb && quiet) {
        stk_hub_open_cb cb = s->open_cb;
        s->open_cb = NULL;
        cb(s->open_ud, 0);
    }
    broadcast(s, quiet ? UINT64_MAX : s->max_acked_seq);
    flush_acks(s);
    if (!quiet)
        return;
    process_hellos(s);
    const stk_game_t *g = stk_session_game(s->s);
    if (game_final(g) && !s->end_sent) {
        s->end_ready = true;
        s->end_sent = true;
        s->final_since_ns = now_ns();
        for (hclient_t *c = s->clients; c; c = c->next)
            if (c->phase == C_LIVE)
                send_end(s, c);
    }
}

static void poll_all(stk_hub_t *h)
{
    h->polls_wanted = false;
    for (hsess_t *s = h->sessions; s; s = s->next) {
        if (!s->s)
            continue;
        if (stk_session_in_flight(s->s) > 0 || s->done_head) {
            (void)stk_session_poll(s->s);
            after_poll(s);
        }
    }
}

static void arm(stk_hub_t *h, uint64_t ms);

static void async_cb(uv_async_t *a)
{
    stk_hub_t *h = a->data;
    if (h->stopping)
        return;
    poll_all(h);
    arm(h, 0);
}

/* ---- presence, abandonment, state messages ------------------------------------------ */

static void presence(hsess_t *s, uint64_t now)
{
    stk_hub_t *h = s->hub;
    const stk_game_t *g = stk_session_game(s->s);
    if (game_final(g)) {
        s->gone_since_ns = 0;
        return;
    }
    bool any_present = false;
    size_t np = stk_game_player_count(g);
    for (size_t i = 0; i < np; i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) != 0 || p.left)
            continue;
        bool present = has_player_socket(s, p.id) || !seen_has(s, p.id);
        any_present |= present;
        if (p.connected == present)
            continue;
        stk_game_input_t in;
        memset(&in, 0, sizeof in);
        in.kind = present ? STK_INPUT_RECONNECT : STK_INPUT_DISCONNECT;
        memcpy(in.player, p.id, STK_UUID_LEN);
        hack_t *a = calloc(1, sizeof *a);
        if (!a)
            return;
        if (hub_submit(s, &in, NULL, a) != 0)
            free(a);
    }
    if (any_present) {
        s->gone_since_ns = 0;
    } else if (s->gone_since_ns == 0) {
        s->gone_since_ns = now;
    } else if (now - s->gone_since_ns >= (uint64_t)h->abandon_ms * NS_PER_MS) {
        stk_game_input_t in;
        memset(&in, 0, sizeof in);
        in.kind = STK_INPUT_ABANDON; /* the server (all-zero actor) */
        hack_t *a = calloc(1, sizeof *a);
        if (a && hub_submit(s, &in, NULL, a) != 0)
            free(a);
        s->gone_since_ns = 0;
    }
}

static void send_state(hsess_t *s)
{
    stk_live_buf_t b[2] = {{0}, {0}};
    bool tried[2] = {false, false};
    for (hclient_t *c = s->clients; c; c = c->next) {
        if (c->phase != C_LIVE || stk_ws_queued_bytes(c->ws) > HUB_STATE_SKIP_BYTES)
            continue;
        int f = (int)c->fmt;
        if (!tried[f]) {
            tried[f] = true;
            if (stk_live_encode_state(c->fmt, stk_session_game(s->s), &b[f]) != 0)
                b[f].data = NULL;
        }
        hub_send(c, &b[f]);
    }
    stk_live_buf_free(&b[0]);
    stk_live_buf_free(&b[1]);
}

/* Housekeeping of one session; returns true if s was freed. */
static bool service(hsess_t *s, uint64_t now)
{
    stk_hub_t *h = s->hub;
    hub_client_timeouts(s, now);
    if (!s->s)
        return false;
    if (s->dead) {
        if (!s->clients && stk_session_in_flight(s->s) == 0) {
            sess_unlink_free(s);
            return true;
        }
        return false;
    }
    const stk_game_t *g = stk_session_game(s->s);
    bool quiet = stk_session_in_flight(s->s) == 0 && !s->done_head;
    if (quiet) {
        process_hellos(s);
        if (!s->open_cb)
            presence(s, now);
    }
    stk_game_state_t st = stk_game_state(g);
    if (st == STK_GAME_IN_PROGRESS) {
        if (!s->clock_running) {
            s->clock_running = true;
            s->base_ns = now;
            s->base_tick = stk_game_tick(g);
        }
    } else {
        s->clock_running = false;
    }
    if ((st == STK_GAME_IN_PROGRESS && now >= s->next_state_ns) || (int)st != s->last_state) {
        s->last_state = (int)st;
        s->next_state_ns = now + NS_PER_S / h->state_hz;
        send_state(s);
    }
    if (game_final(g) && s->end_sent && !s->clients && quiet && s->final_since_ns &&
        now - s->final_since_ns >= UNLOAD_AFTER_NS) {
        sess_unlink_free(s);
        return true;
    }
    if (game_final(g) && s->end_sent && !s->final_since_ns)
        s->final_since_ns = now;
    return false;
}

/* ---- the scheduler ------------------------------------------------------------------ */

static uint64_t due_ns(const hsess_t *s, uint64_t tick_next)
{
    uint32_t rate = stk_game_tick_rate(stk_session_game(s->s));
    if (rate == 0)
        rate = 20;
    return s->base_ns + (tick_next - s->base_tick) * NS_PER_S / rate;
}

static void timer_cb(uv_timer_t *t)
{
    stk_hub_t *h = t->data;
    if (h->stopping)
        return;
    if (h->polls_wanted)
        poll_all(h);
    uint64_t start = now_ns();
    uint64_t budget = 50 * NS_PER_MS;
    bool more = false;
    uint64_t next_due = UINT64_MAX;

    /* round-robin: start after the session that was served first last time */
    size_t n = h->n_sessions, k = 0;
    hsess_t *s = h->sessions;
    for (size_t skip = n ? h->rr % n : 0; s && skip > 0; skip--)
        s = s->next;
    h->rr++;
    for (; k < n; k++) {
        if (!s)
            s = h->sessions;
        if (!s)
            break;
        hsess_t *next = s->next;
        uint64_t now = now_ns();
        if (service(s, now)) {
            s = next;
            continue;
        }
        if (s->s && !s->dead && s->clock_running) {
            uint32_t rate = stk_game_tick_rate(stk_session_game(s->s));
            uint64_t period = NS_PER_S / (rate ? rate : 20);
            if (period < budget)
                budget = period;
            for (;;) {
                const stk_game_t *g = stk_session_game(s->s);
                if (stk_game_state(g) != STK_GAME_IN_PROGRESS)
                    break;
                uint64_t due = due_ns(s, stk_game_tick(g) + 1);
                now = now_ns();
                if (due > now) {
                    if (due < next_due)
                        next_due = due;
                    break;
                }
                if (now - start >= budget) {
                    more = true;
                    break;
                }
                stk_game_outcome_t o;
                uint64_t t0 = now_ns();
                int rc = stk_session_step(s->s, &o);
                if (rc == STK_EBUSY)
                    break; /* inputs in flight: the poll re-arms us */
                if (rc != 0) {
                    fail_session(s);
                    break;
                }
                if (h->m_tick)
                    stk_metric_observe(h->m_tick, NULL, (double)(now_ns() - t0) / 1e9);
                if (stk_session_in_flight(s->s) > 0)
                    h->polls_wanted = true;
            }
        }
        if (more)
            break;
        s = next;
    }
    uint64_t now = now_ns();
    if (more || h->polls_wanted) {
        arm(h, 0);
        return;
    }
    uint64_t wait = HOUSEKEEP_MS;
    if (next_due != UINT64_MAX) {
        uint64_t ms = next_due > now ? (next_due - now + NS_PER_MS - 1) / NS_PER_MS : 0;
        if (ms < wait)
            wait = ms;
    }
    arm(h, wait);
}

static void arm(stk_hub_t *h, uint64_t ms)
{
    if (h->stopping)
        return;
    uv_timer_start(&h->timer, timer_cb, ms, 0);
}

void hub_kick(stk_hub_t *h)
{
    arm(h, 0);
}

/* ---- metrics ------------------------------------------------------------------------ */

static void collect(stk_metrics_t *m, void *ud)
{
    stk_hub_t *h = ud;
    (void)m;
    if (h->m_sessions) {
        stk_metric_reset(h->m_sessions);
        for (hsess_t *s = h->sessions; s; s = s->next) {
            if (!s->s)
                continue;
            const char *lv[1] = {stk_game_state_name(stk_game_state(stk_session_game(s->s)))};
            stk_metric_add(h->m_sessions, lv, 1);
        }
    }
    if (h->m_clients) {
        stk_metric_reset(h->m_clients);
        for (hsess_t *s = h->sessions; s; s = s->next)
            for (hclient_t *c = s->clients; c; c = c->next) {
                const char *lv[1] = {c->spectator ? "spectator" : "player"};
                stk_metric_add(h->m_clients, lv, 1);
            }
    }
}

static stk_metric_t *metric(stk_metrics_t *m, int kind, const char *name, const char *help,
                            const char *label)
{
    stk_metric_t *f = NULL;
    const char *labels[1] = {label};
    static const double bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                    0.005,   0.01,   0.025,   0.05,   0.1};
    int rc;
    if (kind == 0)
        rc = stk_metrics_counter(m, name, help, label ? labels : NULL, label ? 1 : 0, &f);
    else if (kind == 1)
        rc = stk_metrics_gauge(m, name, help, label ? labels : NULL, label ? 1 : 0, &f);
    else
        rc = stk_metrics_histogram(m, name, help, NULL, 0, bounds, sizeof bounds / sizeof bounds[0],
                                   &f);
    if (rc == STK_EEXIST)
        f = stk_metrics_find(m, name);
    return f;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *hd)
{
    stk_hub_t *h = hd->data;
    if (--h->handles_open == 0 && h->free_requested)
        free(h);
}

static void close_handles(stk_hub_t *h)
{
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, handle_closed);
    uv_close((uv_handle_t *)&h->async, handle_closed);
}

static uint32_t abandon_env(void)
{
    const char *v = getenv("STOCKADE_ABANDON_AFTER");
    if (!v || !*v)
        return STK_HUB_ABANDON_DEFAULT_MS;
    char *end = NULL;
    double s = strtod(v, &end);
    if (end == v || *end || !(s >= 0) || s > 86400.0 * 7)
        return STK_HUB_ABANDON_DEFAULT_MS;
    return (uint32_t)(s * 1000.0);
}

/* Startup: every session stream that was opened and has no GameEnded yet (a lobby, a game
 * in progress or paused when the server stopped or died) is loaded, so it resumes (and is
 * abandoned if nobody comes back) without waiting for a client to ask for it. */
typedef struct unfinished {
    stk_uuid_t *ids;
    size_t n, cap;
    int err;
} unfinished_t;

static int unfinished_cb(void *ud, const stk_envelope_t *e)
{
    unfinished_t *u = ud;
    if (e->type == STK_EV_SESSION_OPENED) {
        if (u->n == u->cap) {
            size_t cap = u->cap ? u->cap * 2 : 64;
            stk_uuid_t *ids = realloc(u->ids, cap * sizeof *ids);
            if (!ids) {
                u->err = STK_ENOMEM;
                return 1;
            }
            u->ids = ids;
            u->cap = cap;
        }
        u->ids[u->n++] = e->stream;
    } else if (e->type == STK_EV_GAME_ENDED) {
        for (size_t i = u->n; i-- > 0;)
            if (stk_uuid_eq(&u->ids[i], &e->stream)) {
                u->ids[i] = u->ids[--u->n];
                break;
            }
    }
    return 0;
}

static void resume_unfinished(stk_hub_t *h)
{
    unfinished_t u = {NULL, 0, 0, 0};
    int rc = stk_log_read(stk_app_log(h->app), 1, 0, unfinished_cb, &u);
    for (size_t i = 0; rc == 0 && i < u.n && h->n_sessions < STK_HUB_SESSIONS_MAX; i++) {
        hsess_t *s = NULL;
        if (hub_get(h, &u.ids[i], &s) != 0)
            h->load_failures++; /* left on disk; a client asking for it retries the load */
    }
    free(u.ids);
}

int stk_hub_create(stk_app_t *app, const stk_hub_opts_t *opts, stk_hub_t **out)
{
    if (!app || !out)
        return STK_EINVAL;
    stk_hub_t *h = calloc(1, sizeof *h);
    if (!h)
        return STK_ENOMEM;
    h->app = app;
    h->abandon_ms = opts && opts->abandon_after_ms ? opts->abandon_after_ms : abandon_env();
    h->state_hz = opts && opts->state_hz ? opts->state_hz : STK_HUB_STATE_HZ;
    uv_loop_t *loop = stk_app_loop(app);
    if (uv_timer_init(loop, &h->timer) != 0) {
        free(h);
        return STK_EIO;
    }
    h->timer.data = h;
    h->handles_open = 1;
    if (uv_async_init(loop, &h->async, async_cb) != 0) {
        h->stopping = true;
        h->free_requested = true; /* the loop's close callback frees h */
        uv_close((uv_handle_t *)&h->timer, handle_closed);
        return STK_EIO;
    }
    h->async.data = h;
    h->handles_open = 2;
    stk_metrics_t *m = stk_app_metrics(app);
    if (m) {
        h->m_sessions = metric(m, 1, "stockade_sessions", "Sessions in memory by state", "state");
        h->m_clients =
            metric(m, 1, "stockade_live_clients", "Connected live sockets by kind", "kind");
        h->m_tick =
            metric(m, 2, "stockade_tick_duration_seconds", "Duration of one game tick", NULL);
        h->m_rejects =
            metric(m, 0, "stockade_live_rejects_total", "Live ops rejected by reason", "reason");
        h->m_acks = metric(m, 0, "stockade_live_acks_total", "Live ops acknowledged", NULL);
        (void)stk_metrics_collector(m, collect, h);
    }
    resume_unfinished(h);
    arm(h, HOUSEKEEP_MS);
    *out = h;
    return 0;
}

stk_app_t *stk_hub_app(stk_hub_t *h)
{
    return h->app;
}

void stk_hub_stop(stk_hub_t *h)
{
    if (!h || h->stopping)
        return;
    h->stopping = true;
    close_handles(h);
    for (hsess_t *s = h->sessions; s; s = s->next) {
        for (hclient_t *c = s->clients; c; c = c->next)
            hub_close_client(c, STK_WS_GOING_AWAY, "server shutting down");
        if (s->s) {
            stk_session_close(s->s); /* waits for in-flight commits; acks queue up */
            s->s = NULL;
        }
        if (s->open_cb) {
            stk_hub_open_cb cb = s->open_cb;
            s->open_cb = NULL;
            cb(s->open_ud, STK_ECLOSED);
        }
        flush_acks(s);
    }
}

void stk_hub_free(stk_hub_t *h)
{
    if (!h)
        return;
    while (h->sessions) {
        hsess_t *s = h->sessions;
        while (s->clients) {
            hclient_t *c = s->clients;
            s->clients = c->next;
            free(c);
        }
        sess_unlink_free(s);
    }
    h->free_requested = true;
    if (!h->stopping) {
        /* never stopped (the app did not run): the app's final loop run closes these */
        h->stopping = true;
        close_handles(h);
        return;
    }
    if (h->handles_open == 0)
        free(h);
}

/* ---- REST side ---------------------------------------------------------------------- */

int stk_hub_open(stk_hub_t *h, const stk_session_open_args_t *args, stk_hub_open_cb cb, void *ud)
{
    if (!h || !args || !cb)
        return STK_EINVAL;
    if (h->stopping)
        return STK_ECLOSED;
    if (h->n_sessions >= STK_HUB_SESSIONS_MAX)
        return STK_EFULL;
    stk_session_opts_t o = sess_opts(h);
    stk_session_t *ss = NULL;
    int rc = stk_session_open(&ss, stk_app_writer(h->app), args, &o);
    if (rc != 0)
        return rc;
    hsess_t *s = sess_new(h, &args->id);
    if (!s) {
        stk_session_close(ss);
        return STK_EFULL;
    }
    s->s = ss;
    s->map_id = args->map_id;
    s->open_cb = cb;
    s->open_ud = ud;
    h->polls_wanted = true;
    return 0;
}

int stk_hub_input(stk_hub_t *h, const stk_uuid_t *id, const stk_game_input_t *in, stk_reject_t *why,
                  stk_hub_ack_cb cb, void *ud)
{
    if (!h || !id || !in || !cb)
        return STK_EINVAL;
    hsess_t *s = NULL;
    int rc = hub_get(h, id, &s);
    if (rc != 0)
        return rc;
    hack_t *a = calloc(1, sizeof *a);
    if (!a)
        return STK_ENOMEM;
    a->cb = cb;
    a->ud = ud;
    rc = hub_submit(s, in, why, a);
    if (rc != 0)
        free(a);
    return rc;
}

int stk_hub_describe(stk_hub_t *h, const stk_uuid_t *id, json_t **out)
{
    if (!h || !id || !out)
        return STK_EINVAL;
    hsess_t *s = NULL;
    int rc = hub_get(h, id, &s);
    if (rc != 0)
        return rc;
    const stk_game_t *g = stk_session_game(s->s);
    char sid[STK_UUID_STR_LEN + 1], mid[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&s->id, sid);
    stk_uuid_format(&s->map_id, mid);
    json_t *players = json_array();
    size_t spectators = 0, clients = 0;
    for (hclient_t *c = s->clients; c; c = c->next) {
        clients++;
        spectators += c->spectator;
    }
    for (size_t i = 0; players && i < stk_game_player_count(g); i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) != 0)
            continue;
        stk_uuid_t u, t;
        char us[STK_UUID_STR_LEN + 1], ts[STK_UUID_STR_LEN + 1], col[8];
        memcpy(u.b, p.id, STK_UUID_LEN);
        memcpy(t.b, p.tribe, STK_UUID_LEN);
        stk_uuid_format(&u, us);
        stk_uuid_format(&t, ts);
        if (stk_game_color_format(p.color, col) != 0)
            strcpy(col, "#000000");
        json_array_append_new(
            players, json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:b, s:b}", "index",
                               (json_int_t)i, "user", us, "tribe", ts, "color", col, "gold",
                               (json_int_t)p.gold, "kills", (json_int_t)p.kills, "ready", p.ready,
                               "connected", p.connected, "left", p.left, "host", p.host));
    }
    char hash[24];
    snprintf(hash, sizeof hash, "%llu", (unsigned long long)stk_game_hash(g));
    *out = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:s}", "id",
                     sid, "map_id", mid, "status", stk_game_state_name(stk_game_state(g)), "result",
                     stk_game_result_name(stk_game_result(g)), "tick", (json_int_t)stk_game_tick(g),
                     "tick_rate", (json_int_t)stk_game_tick_rate(g), "wave",
                     (json_int_t)stk_game_wave(g), "waves", (json_int_t)stk_game_wave_count(g),
                     "lives", (json_int_t)stk_game_lives(g), "players",
                     players ? players : json_array(), "spectators", (json_int_t)spectators,
                     "clients", (json_int_t)clients, "seq", (json_int_t)s->bcast_seq, "hash", hash);
    return *out ? 0 : STK_ENOMEM;
}
