/* events/session.c — the session host (see events/session.h).
 *
 * Invariants (owner thread unless noted):
 *   - ring[head .. head+count) are the batches submitted and not yet polled, in
 *     submission order; `inputs` of them carry an input.
 *   - game = the committed state: every polled input applied, in order.
 *   - spec, when not NULL, = game with every pending input applied too (the speculative
 *     state new inputs are checked against). It is built lazily, dropped at each step and
 *     whenever it may have diverged (a failed submit or batch).
 *   - version = the stream's version once every submitted batch has committed; each batch
 *     expects exactly the version before it.
 *   - Under mu (shared with the writer thread): each slot's done/status/seq and n_done, the
 *     number of acknowledged slots not yet polled.
 */
#include "events/session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "core/error.h"
#include "events/game.h"
#include "events/log.h"
#include "events/types.h"

#define SESSION_PENDING_DEFAULT 1024
#define SESSION_BATCH_MAX       3 /* input + derived outcome, or WaveEnded+GameEnded+mark */

typedef struct pending {
    stk_session_t *s;
    bool has_input;
    stk_game_input_t in;
    stk_session_ack_cb cb;
    void *ud;
    /* under s->mu */
    bool done;
    int status;
    uint64_t seq;
} pending_t;

struct stk_session {
    stk_writer_t *w;
    stk_uuid_t id;
    stk_game_t *game;
    stk_game_t *spec;
    uint32_t mark_every;
    uint64_t version;
    pending_t *ring;
    size_t cap, head, count, inputs;
    int error;
    bool opened; /* SessionOpened committed (polled) */
    uint64_t submitted, rejected;
    stk_session_notify_cb notify;
    void *notify_ud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n_done; /* under mu */
    msgpack_sbuffer buf[SESSION_BATCH_MAX];
};

/* ---- writer thread ------------------------------------------------------------------- */

static void on_commit(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    pending_t *p = ud;
    stk_session_t *s = p->s;
    pthread_mutex_lock(&s->mu);
    p->status = status;
    p->seq = (status == 0 && res != NULL && n > 0) ? res[0].seq : 0;
    p->done = true;
    s->n_done++;
    pthread_cond_broadcast(&s->cv);
    /* Read under the lock: s is not freed before every slot is done and polled. */
    stk_session_notify_cb notify = s->notify;
    void *notify_ud = s->notify_ud;
    pthread_mutex_unlock(&s->mu);
    if (notify != NULL)
        notify(notify_ud);
}

/* ---- owner thread -------------------------------------------------------------------- */

static void drop_spec(stk_session_t *s)
{
    stk_game_destroy(s->spec);
    s->spec = NULL;
}

static void fail(stk_session_t *s, int status)
{
    if (s->error == 0)
        s->error = status;
    drop_spec(s);
}

/* Make spec = game + every pending input. */
static int ensure_spec(stk_session_t *s)
{
    if (s->spec != NULL)
        return 0;
    int rc = stk_game_clone(s->game, &s->spec);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < s->count; i++) {
        const pending_t *p = &s->ring[(s->head + i) % s->cap];
        stk_reject_t why;
        if (p->has_input && stk_game_apply(s->spec, &p->in, &why) != 0) {
            /* It was accepted against this very sequence before: cannot happen. */
            drop_spec(s);
            return STK_ESTATE;
        }
    }
    return 0;
}

/* Submit items[0..n) as the next batch; the slot's fields (input, cb) are set by the
 * caller through *slot after success. */
static int submit_batch(stk_session_t *s, stk_append_t *items, size_t n, uint64_t expected,
                        pending_t **slot_out, const stk_game_input_t *in, stk_session_ack_cb cb,
                        void *ud)
{
    if (s->count == s->cap)
        return STK_EBUSY;
    for (size_t i = 0; i < n; i++) {
        items[i].stream = s->id;
        items[i].expected_version = i == 0 ? expected : STK_VERSION_ANY;
    }
    pending_t *p = &s->ring[(s->head + s->count) % s->cap];
    memset(p, 0, sizeof *p);
    p->s = s;
    p->has_input = in != NULL;
    if (in != NULL)
        p->in = *in;
    p->cb = cb;
    p->ud = ud;
    int rc = stk_writer_submit(s->w, items, n, on_commit, p);
    if (rc != 0)
        return rc;
    s->count++;
    if (in != NULL)
        s->inputs++;
    s->version += n;
    s->submitted += n;
    if (slot_out != NULL)
        *slot_out = p;
    return 0;
}

static void set_item(stk_append_t *it, uint16_t type, uint64_t tick, const stk_uuid_t *actor,
                     const msgpack_sbuffer *b)
{
    memset(it, 0, sizeof *it);
    it->type = type;
    it->schema = stk_event_type_by_id(type)->schema;
    it->tick = tick;
    if (actor != NULL)
        it->actor = *actor;
    it->payload = (const uint8_t *)b->data;
    it->payload_len = b->size;
}

static int record_item(stk_session_t *s, stk_append_t *it, msgpack_sbuffer *b, uint16_t type,
                       const stk_game_outcome_t *o)
{
    stk_game_record_t rec;
    int rc = stk_game_record_from_outcome(type, o, &rec);
    rc = rc ? rc : stk_game_record_encode(&rec, b);
    if (rc == 0)
        set_item(it, type, o->tick, NULL, b);
    (void)s;
    return rc;
}

/* Allocate a session with its ring, buffers and lock; no game yet. */
static int session_new(stk_session_t **out, stk_writer_t *w, const stk_uuid_t *id,
                       const stk_session_opts_t *opts)
{
    stk_session_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return STK_ENOMEM;
    for (size_t i = 0; i < SESSION_BATCH_MAX; i++)
        msgpack_sbuffer_init(&s->buf[i]);
    s->w = w;
    s->id = *id;
    s->cap = opts != NULL && opts->pending_max > 0 ? opts->pending_max : SESSION_PENDING_DEFAULT;
    if (opts != NULL) {
        s->notify = opts->notify;
        s->notify_ud = opts->notify_ud;
        s->mark_every = opts->mark_every;
    }
    s->ring = calloc(s->cap, sizeof *s->ring);
    if (s->ring == NULL)
        goto fail;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    for (size_t i = 0; i < SESSION_BATCH_MAX; i++)
        msgpack_sbuffer_destroy(&s->buf[i]);
    free(s->ring);
    free(s);
    return STK_ENOMEM;
}

/* Free everything; nothing may be in flight. */
static void session_free(stk_session_t *s)
{
    drop_spec(s);
    stk_game_destroy(s->game);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    for (size_t i = 0; i < SESSION_BATCH_MAX; i++)
        msgpack_sbuffer_destroy(&s->buf[i]);
    free(s->ring);
    free(s);
}

/* Create the game from a SessionOpened envelope, exactly as replay does. */
static int game_from_opened(stk_session_t *s, const stk_envelope_t *e)
{
    stk_map_t *map = malloc(sizeof *map);
    if (map == NULL)
        return STK_ENOMEM;
    stk_game_opened_t opened;
    int rc = stk_game_opened_decode(e, map, &opened, NULL);
    rc = rc ? rc : stk_game_create(&opened.setup, &s->game);
    free(map);
    if (rc == 0 && s->mark_every == 0)
        s->mark_every = stk_game_tick_rate(s->game) * 5;
    return rc;
}

int stk_session_open(stk_session_t **out, stk_writer_t *w, const stk_session_open_args_t *args,
                     const stk_session_opts_t *opts)
{
    if (out == NULL || w == NULL || args == NULL || args->map_payload == NULL)
        return STK_EINVAL;
    stk_session_t *s = NULL;
    int rc = session_new(&s, w, &args->id, opts);
    if (rc != 0)
        return rc;
    stk_game_setup_t setup;
    memset(&setup, 0, sizeof setup);
    setup.seed = args->seed;
    setup.tick_rate = args->tick_rate != 0 ? args->tick_rate : 20;
    setup.ruleset = args->ruleset != 0 ? args->ruleset : STK_RULESET_VERSION;
    if (args->balance != NULL)
        setup.balance = *args->balance;
    else
        stk_balance_default(&setup.balance);
    rc =
        stk_game_opened_encode(&args->map_id, &setup, args->map_payload, args->map_len, &s->buf[0]);
    if (rc != 0)
        goto fail;
    /* Create the game from the bytes as replay will read them, not from our structs. */
    stk_envelope_t e;
    memset(&e, 0, sizeof e);
    e.type = STK_EV_SESSION_OPENED;
    e.schema = stk_event_type_by_id(STK_EV_SESSION_OPENED)->schema;
    e.payload = (const uint8_t *)s->buf[0].data;
    e.payload_len = s->buf[0].size;
    rc = game_from_opened(s, &e);
    if (rc != 0)
        goto fail;
    stk_append_t item;
    set_item(&item, STK_EV_SESSION_OPENED, 0, &args->opener, &s->buf[0]);
    rc = submit_batch(s, &item, 1, STK_VERSION_NONE, NULL, NULL, NULL, NULL);
    if (rc != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    session_free(s);
    return rc;
}

/* ---- resume -------------------------------------------------------------------------- */

typedef struct resume {
    stk_session_t *s;
    uint64_t events;
    int rc;
} resume_t;

static int resume_cb(void *ud, const stk_envelope_t *e)
{
    resume_t *r = ud;
    stk_session_t *s = r->s;
    r->events++;
    if (r->events == 1) {
        if (e->type != STK_EV_SESSION_OPENED)
            return r->rc = STK_ECORRUPT;
        return r->rc = game_from_opened(s, e);
    }
    stk_game_input_t in;
    stk_game_record_t rec;
    int cls = stk_game_event_to_input(e, stk_game_balance(s->game), &in, &rec, NULL);
    if (cls < 0)
        return r->rc = cls;
    if (cls == STK_GAME_EVENT_OTHER)
        return r->rc = STK_ECORRUPT; /* a second SessionOpened, or a foreign event */
    while (stk_game_tick(s->game) < e->tick) {
        if (stk_game_state(s->game) != STK_GAME_IN_PROGRESS)
            return r->rc = STK_ECORRUPT; /* time cannot move here */
        stk_game_step(s->game, NULL);
    }
    if (stk_game_tick(s->game) != e->tick)
        return r->rc = STK_ECORRUPT; /* ticks went back */
    if (cls == STK_GAME_EVENT_INPUT) {
        stk_reject_t why;
        if (stk_game_apply(s->game, &in, &why) != 0)
            return r->rc = STK_ESTATE;
        return 0;
    }
    if (rec.hash != stk_game_hash(s->game))
        return r->rc = STK_EHASH;
    return 0;
}

int stk_session_resume(stk_session_t **out, stk_writer_t *w, stk_log_t *log, const stk_uuid_t *id,
                       const stk_session_opts_t *opts)
{
    if (out == NULL || w == NULL || log == NULL || id == NULL)
        return STK_EINVAL;
    stk_session_t *s = NULL;
    int rc = session_new(&s, w, id, opts);
    if (rc != 0)
        return rc;
    resume_t r = {.s = s};
    rc = stk_log_read_stream(log, id, 1, 0, resume_cb, &r);
    if (rc == 0 && r.events == 0)
        rc = STK_ENOTFOUND;
    if (rc != 0 && r.rc != 0)
        rc = r.rc;
    if (rc != 0)
        goto fail;
    s->version = r.events;
    s->opened = true;
    *out = s;
    return 0;
fail:
    session_free(s);
    return rc;
}

int stk_session_submit(stk_session_t *s, const stk_game_input_t *in, stk_reject_t *why,
                       stk_session_ack_cb cb, void *ud)
{
    stk_reject_t r = STK_REJECT_NONE;
    if (why != NULL)
        *why = STK_REJECT_NONE;
    if (s == NULL || in == NULL)
        return STK_EINVAL;
    if (s->error != 0)
        return STK_ESTATE;
    /* Until SessionOpened is known to be in the log, an input could land on someone
     * else's stream (an id collision passes the next batch's version check). */
    if (!s->opened || s->count == s->cap)
        return STK_EBUSY;
    bool derived = in->kind == STK_INPUT_PAUSE || in->kind == STK_INPUT_ABANDON;
    bool use_spec = s->spec != NULL || s->inputs > 0 || derived;
    int rc;
    if (use_spec) {
        rc = ensure_spec(s);
        if (rc != 0)
            return rc;
        rc = stk_game_apply(s->spec, in, &r);
    } else {
        rc = stk_game_check(s->game, in, &r);
    }
    if (rc == STK_EPERM) {
        s->rejected++;
        if (why != NULL)
            *why = r;
        return rc; /* a refused input changed nothing, spec included */
    }
    if (rc != 0)
        return rc;

    stk_append_t items[2];
    size_t n = 1;
    uint16_t type = 0;
    const stk_game_t *g = use_spec ? s->spec : s->game;
    uint64_t tick = stk_game_tick(g);
    stk_uuid_t actor;
    memcpy(actor.b, in->player, STK_UUID_LEN);
    rc = stk_game_input_encode(in, stk_game_balance(g), &type, &s->buf[0]);
    if (rc != 0)
        goto fail;
    set_item(&items[0], type, tick, &actor, &s->buf[0]);
    if (derived) {
        /* The state right after this input, recorded in the same atomic batch so that no
         * other event can fall between the input and its mark. */
        stk_game_outcome_t o;
        stk_game_outcome(s->spec, &o);
        rc = record_item(s, &items[1], &s->buf[1],
                         in->kind == STK_INPUT_PAUSE ? STK_EV_TICK_MARK : STK_EV_GAME_ENDED, &o);
        if (rc != 0)
            goto fail;
        n = 2;
    }
    rc = submit_batch(s, items, n, s->version, NULL, in, cb, ud);
    if (rc != 0)
        goto fail;
    return 0;
fail:
    if (use_spec)
        drop_spec(s); /* it holds an input that was never written */
    return rc;
}

int stk_session_poll(stk_session_t *s)
{
    if (s == NULL)
        return 0;
    int processed = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (s->count == 0 || !s->ring[s->head].done) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        pending_t p = s->ring[s->head];
        s->n_done--;
        pthread_mutex_unlock(&s->mu);
        s->head = (s->head + 1) % s->cap;
        s->count--;
        if (p.has_input)
            s->inputs--;
        int status = p.status;
        if (status == 0 && s->error != 0) {
            status = STK_ESTATE; /* written after a failed batch: never applied */
        } else if (status == 0 && !p.has_input) {
            s->opened = true;
        } else if (status == 0 && p.has_input) {
            stk_reject_t why;
            if (stk_game_apply(s->game, &p.in, &why) != 0) {
                status = STK_ESTATE; /* checked before submit: a bug, not an input */
                fail(s, status);
            }
        } else if (status != 0) {
            fail(s, status);
        }
        if (p.cb != NULL)
            p.cb(p.ud, status, status == 0 ? p.seq : 0);
        processed++;
    }
    return processed;
}

int stk_session_wait(stk_session_t *s)
{
    if (s == NULL)
        return 0;
    pthread_mutex_lock(&s->mu);
    while (s->n_done < s->count)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return stk_session_poll(s);
}

int stk_session_step(stk_session_t *s, stk_game_outcome_t *out)
{
    if (s == NULL)
        return STK_EINVAL;
    if (s->error != 0)
        return STK_ESTATE;
    if (s->inputs > 0 || s->count == s->cap)
        return STK_EBUSY;
    drop_spec(s); /* equal to game now; cheaper to rebuild than to step twice */
    stk_game_outcome_t o;
    uint64_t before = stk_game_tick(s->game);
    stk_game_step(s->game, &o);
    if (stk_game_tick(s->game) == before) {
        if (out != NULL)
            *out = o;
        return 0;
    }
    bool mark = !o.game_ended && o.tick % s->mark_every == 0;
    if (mark && !o.wave_ended)
        o.hash = stk_game_hash(s->game);
    stk_append_t items[SESSION_BATCH_MAX];
    size_t n = 0;
    int rc = 0;
    if (o.wave_ended)
        rc = record_item(s, &items[n], &s->buf[n], STK_EV_WAVE_ENDED, &o), n++;
    if (rc == 0 && o.game_ended)
        rc = record_item(s, &items[n], &s->buf[n], STK_EV_GAME_ENDED, &o), n++;
    if (rc == 0 && mark)
        rc = record_item(s, &items[n], &s->buf[n], STK_EV_TICK_MARK, &o), n++;
    if (rc == 0 && n > 0)
        rc = submit_batch(s, items, n, s->version, NULL, NULL, NULL, NULL);
    if (rc != 0)
        fail(s, rc);
    if (out != NULL)
        *out = o;
    return rc;
}

void stk_session_close(stk_session_t *s)
{
    if (s == NULL)
        return;
    stk_session_wait(s);
    session_free(s);
}

const stk_game_t *stk_session_game(const stk_session_t *s)
{
    return s->game;
}

const stk_uuid_t *stk_session_id(const stk_session_t *s)
{
    return &s->id;
}

size_t stk_session_in_flight(const stk_session_t *s)
{
    return s->count;
}

int stk_session_error(const stk_session_t *s)
{
    return s->error;
}

uint64_t stk_session_events_submitted(const stk_session_t *s)
{
    return s->submitted;
}

uint64_t stk_session_rejected(const stk_session_t *s)
{
    return s->rejected;
}
