/* events/replay.c — re-simulation of a recorded session and its checks (see replay.h).
 *
 * This file is the engine: create/destroy, feed/finish, the log and JSON-lines sources
 * and seeking through the in-memory keyframes. It is not the text/JSON output
 * (replay_report.c) nor the stored keyframe records (replay_keyframes.c); the struct they
 * share is in replay_internal.h.
 *
 * Invariants between calls:
 *   - r->g is NULL until SessionOpened was fed; afterwards stk_game_tick(r->g) is the tick
 *     of the last event applied (or less, if an event's tick could not be reached).
 *   - kf[0] is the game as created (tick 0, no input); kf[i].tick < kf[i+1].tick; every
 *     kf[i] for i > 0 was taken right after the step that reached kf[i].tick, before any
 *     input of that tick, so kf[i].input_idx inputs of the journal precede it.
 *   - pend[] holds wave/game ends produced by steps and not yet matched by an event.
 *   - r->err is sticky: once set, every later feed returns it.
 */
#include "events/replay_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/json.h"
#include "events/payload.h"
#include "events/types.h"

const char *stk_replay_problem_name(stk_replay_problem_t p)
{
    switch (p) {
    case STK_REPLAY_OK:
        return "ok";
    case STK_REPLAY_OUTCOME:
        return "outcome";
    case STK_REPLAY_MISSING:
        return "missing";
    case STK_REPLAY_INPUT_REFUSED:
        return "input_refused";
    case STK_REPLAY_TICK:
        return "tick";
    case STK_REPLAY_KEYFRAME:
        return "keyframe";
    }
    return "unknown";
}

const char *stk_replay_event_name(uint16_t type)
{
    const stk_event_type_t *t = stk_event_type_by_id(type);
    return t != NULL ? t->name : "none";
}

int stk_replay_create(const stk_replay_opts_t *opts, stk_replay_t **out)
{
    if (out == NULL)
        return STK_EINVAL;
    stk_replay_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return STK_ENOMEM;
    if (opts != NULL) {
        r->opts = *opts;
    } else {
        r->opts.until_tick = STK_REPLAY_UNTIL_END;
    }
    r->kf_every = r->opts.keyframe_ticks != 0 ? r->opts.keyframe_ticks : STK_REPLAY_KEYFRAME_TICKS;
    *out = r;
    return 0;
}

void stk_replay_destroy(stk_replay_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_kf; i++)
        stk_game_destroy(r->kf[i].g);
    stk_game_destroy(r->g);
    stk_game_destroy(r->good);
    stk_game_destroy(r->div_game);
    free(r->jr);
    free(r->stored);
    free(r);
}

/* ---- divergence --------------------------------------------------------------------- */

struct diff_ctx {
    stk_replay_divergence_t *d;
};

static void diff_cb(void *ctx, const char *field, int64_t a, int64_t b)
{
    struct diff_ctx *c = ctx;
    stk_replay_divergence_t *d = c->d;
    if (d->n_diff < STK_REPLAY_DIFF_MAX) {
        stk_replay_diff_line_t *l = &d->diff[d->n_diff++];
        snprintf(l->field, sizeof(l->field), "%s", field);
        l->a = a;
        l->b = b;
    }
    d->n_diff_total++;
}

/* Record a divergence found at (seq, tick, type). The first one is kept in full. */
static void diverge(stk_replay_t *r, stk_replay_problem_t p, uint64_t seq, uint64_t tick,
                    uint16_t type, const stk_game_record_t *expected,
                    const stk_game_record_t *actual, stk_reject_t why, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 9, 10)))
#endif
    ;

static void diverge(stk_replay_t *r, stk_replay_problem_t p, uint64_t seq, uint64_t tick,
                    uint16_t type, const stk_game_record_t *expected,
                    const stk_game_record_t *actual, stk_reject_t why, const char *fmt, ...)
{
    r->sum.mismatches++;
    if (r->opts.note_cb != NULL && (p == STK_REPLAY_OUTCOME || p == STK_REPLAY_MISSING)) {
        stk_replay_note_t n = {.kind = STK_NOTE_CHECK,
                               .tick = tick,
                               .seq = seq,
                               .player = -1,
                               .event_type = type,
                               .ok = false};
        r->opts.note_cb(r->opts.note_ud, &n);
    }
    if (r->diverged)
        return;
    r->diverged = true;
    stk_replay_divergence_t *d = &r->div;
    memset(d, 0, sizeof(*d));
    d->problem = p;
    d->seq = seq;
    d->tick = tick;
    d->event_type = type;
    d->rejected = why;
    if (expected != NULL && actual != NULL) {
        d->expected = *expected;
        d->actual = *actual;
        d->has_expected = true;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
    va_end(ap);
    d->good_seq = r->good_seq;
    d->good_tick = r->good_tick;
    if (r->g != NULL) {
        const stk_game_t *base = r->good != NULL ? r->good : r->kf[0].g;
        if (stk_game_clone(r->g, &r->div_game) != 0)
            r->div_game = NULL;
        if (base != NULL) {
            struct diff_ctx c = {d};
            stk_game_diff(base, r->g, diff_cb, &c, SIZE_MAX);
        }
    }
}

/* ---- stepping, timeline, keyframes -------------------------------------------------- */

static void note_outcome(stk_replay_t *r, stk_replay_note_t *n, const stk_game_outcome_t *o)
{
    n->lives = o->lives;
    n->n_players = o->n_players;
    for (uint32_t i = 0; i < o->n_players && i < STK_GAME_MAX_PLAYERS; i++)
        n->gold_all[i] = o->gold[i];
    (void)r;
}

/* Emit the notes that follow from the state changing (a step or an input). */
static void notes_after_change(stk_replay_t *r, uint64_t seq)
{
    stk_replay_note_cb cb = r->opts.note_cb;
    if (cb == NULL)
        return;
    const stk_game_t *g = r->g;
    uint64_t tick = stk_game_tick(g);
    uint32_t w = stk_game_wave(g);
    while (r->waves_seen < w) {
        stk_replay_note_t n = {.kind = STK_NOTE_WAVE_STARTED,
                               .tick = tick,
                               .seq = seq,
                               .player = -1,
                               .wave = ++r->waves_seen};
        cb(r->opts.note_ud, &n);
    }
    size_t np = stk_game_player_count(g);
    for (size_t i = 0; i < np && i < STK_GAME_MAX_PLAYERS; i++) {
        stk_game_player_info_t pi;
        if (stk_game_player(g, i, &pi) != 0 || pi.kills <= r->kills_seen[i])
            continue;
        stk_replay_note_t n = {.kind = STK_NOTE_KILLS,
                               .tick = tick,
                               .seq = seq,
                               .player = (int)i,
                               .count = pi.kills - r->kills_seen[i],
                               .gold = pi.gold};
        r->kills_seen[i] = pi.kills;
        cb(r->opts.note_ud, &n);
    }
    uint32_t leaks = stk_game_leaks(g);
    if (leaks > r->leaks_seen) {
        stk_replay_note_t n = {.kind = STK_NOTE_LEAK,
                               .tick = tick,
                               .seq = seq,
                               .player = -1,
                               .count = leaks - r->leaks_seen,
                               .lives = stk_game_lives(g)};
        r->leaks_seen = leaks;
        cb(r->opts.note_ud, &n);
    }
}

static void check_stored_keyframe(stk_replay_t *r, uint64_t tick)
{
    while (r->i_stored < r->n_stored && r->stored[r->i_stored].tick < tick)
        r->i_stored++;
    if (r->i_stored >= r->n_stored || r->stored[r->i_stored].tick != tick)
        return;
    const stored_kf_t *k = &r->stored[r->i_stored++];
    uint64_t got = stk_game_hash(r->g);
    if (k->bad) {
        diverge(r, STK_REPLAY_KEYFRAME, r->sum.last_seq, tick, 0, NULL, NULL, STK_REJECT_NONE,
                "stored keyframe at tick %" PRIu64 " does not decode", tick);
        return;
    }
    if (k->hash == got && (!k->has_state || k->state_hash == got)) {
        r->sum.keyframes_checked++;
        return;
    }
    /* Trust neither part of the record: its hash field and its state bytes must both be
     * the state this replay computed (a corrupted state with an intact hash field would
     * otherwise pass here and then be restored by a seek). */
    uint64_t want = k->hash != got ? k->hash : k->state_hash;
    stk_game_record_t e = {.type = STK_EV_TICK_MARK, .tick = tick, .hash = want};
    stk_game_record_t a = {.type = STK_EV_TICK_MARK, .tick = tick, .hash = got};
    diverge(r, STK_REPLAY_KEYFRAME, r->sum.last_seq, tick, 0, &e, &a, STK_REJECT_NONE,
            "stored keyframe at tick %" PRIu64 " has %s %016" PRIx64
            ", the replay computes %016" PRIx64,
            tick, k->hash != got ? "hash" : "a state hashing to", want, got);
}

static void take_keyframe(stk_replay_t *r)
{
    if (r->n_kf == STK_REPLAY_MAX_KEYFRAMES) {
        /* Thin out: keep kf[0] and every keyframe at a multiple of twice the spacing. */
        size_t j = 1;
        uint64_t every2 = (uint64_t)r->kf_every * 2;
        for (size_t i = 1; i < r->n_kf; i++) {
            if (r->kf[i].tick % every2 == 0)
                r->kf[j++] = r->kf[i];
            else
                stk_game_destroy(r->kf[i].g);
        }
        r->n_kf = j;
        r->kf_every = (uint32_t)(every2 > UINT32_MAX ? UINT32_MAX : every2);
        if (stk_game_tick(r->g) % r->kf_every != 0)
            return;
    }
    keyframe_t *k = &r->kf[r->n_kf];
    if (stk_game_clone(r->g, &k->g) != 0)
        return; /* out of memory: seeking is just slower */
    k->tick = stk_game_tick(r->g);
    k->input_idx = r->n_jr;
    k->seq = r->sum.last_seq;
    k->version = r->sum.last_version;
    k->hash = stk_game_hash(r->g);
    memcpy(k->pend, r->pend, r->n_pend * sizeof(pending_t));
    k->n_pend = r->n_pend;
    r->n_kf++;
    r->sum.keyframes++;
}

static void push_pending(stk_replay_t *r, uint16_t type, uint64_t tick, uint32_t wave)
{
    if (r->n_pend == PEND_MAX) {
        pending_t *p = &r->pend[0];
        diverge(r, STK_REPLAY_MISSING, r->sum.last_seq, p->tick, p->type, NULL, NULL,
                STK_REJECT_NONE, "the replay ended %s at tick %" PRIu64 " but the log has no %s",
                p->type == STK_EV_WAVE_ENDED ? "a wave" : "the game", p->tick,
                stk_replay_event_name(p->type));
        memmove(&r->pend[0], &r->pend[1], (PEND_MAX - 1) * sizeof(pending_t));
        r->n_pend--;
    }
    r->pend[r->n_pend++] = (pending_t){type, tick, wave};
}

static void step_once(stk_replay_t *r)
{
    stk_game_outcome_t o;
    stk_game_step(r->g, &o);
    r->sum.steps++;
    if (o.wave_ended)
        push_pending(r, STK_EV_WAVE_ENDED, o.tick, o.wave_cleared);
    if (o.game_ended)
        push_pending(r, STK_EV_GAME_ENDED, o.tick, 0);
    if (r->opts.note_cb != NULL) {
        notes_after_change(r, 0);
        if (o.wave_ended) {
            stk_replay_note_t n = {
                .kind = STK_NOTE_WAVE_ENDED, .tick = o.tick, .player = -1, .wave = o.wave_cleared};
            note_outcome(r, &n, &o);
            r->opts.note_cb(r->opts.note_ud, &n);
        }
        if (o.game_ended) {
            stk_replay_note_t n = {.kind = STK_NOTE_GAME_ENDED,
                                   .tick = o.tick,
                                   .player = -1,
                                   .wave = o.wave,
                                   .result = o.result};
            note_outcome(r, &n, &o);
            r->opts.note_cb(r->opts.note_ud, &n);
        }
    }
    if (r->n_stored > 0)
        check_stored_keyframe(r, o.tick);
    if (!r->opts.no_keyframes && o.tick % r->kf_every == 0)
        take_keyframe(r);
}

/* Step until the game's tick is `tick`. Returns true if it got there. A divergence is
 * recorded for an event whose tick is behind or cannot be reached. */
static bool advance(stk_replay_t *r, const stk_envelope_t *e)
{
    uint64_t t = e->tick;
    if (t > stk_game_tick(r->g) && t - stk_game_tick(r->g) > STK_REPLAY_MAX_TICK_GAP) {
        diverge(r, STK_REPLAY_TICK, e->seq, t, e->type, NULL, NULL, STK_REJECT_NONE,
                "%s at tick %" PRIu64 " is more than %u ticks after the game's tick %" PRIu64,
                stk_replay_event_name(e->type), t, STK_REPLAY_MAX_TICK_GAP, stk_game_tick(r->g));
        return false;
    }
    while (stk_game_tick(r->g) < t) {
        if (stk_game_state(r->g) != STK_GAME_IN_PROGRESS) {
            diverge(r, STK_REPLAY_TICK, e->seq, t, e->type, NULL, NULL, STK_REJECT_NONE,
                    "%s at tick %" PRIu64 " cannot be reached: the session is %s at tick %" PRIu64,
                    stk_replay_event_name(e->type), t, stk_game_state_name(stk_game_state(r->g)),
                    stk_game_tick(r->g));
            return false;
        }
        step_once(r);
    }
    if (stk_game_tick(r->g) > t) {
        diverge(r, STK_REPLAY_TICK, e->seq, t, e->type, NULL, NULL, STK_REJECT_NONE,
                "%s at tick %" PRIu64 " is behind the game, already at tick %" PRIu64,
                stk_replay_event_name(e->type), t, stk_game_tick(r->g));
        return false;
    }
    return true;
}

/* Pending outcomes older than `tick` (or at `tick` too when `inclusive`) were never
 * recorded although the log went past them. */
static void flag_missing(stk_replay_t *r, uint64_t tick, bool inclusive, uint64_t seq)
{
    size_t j = 0;
    for (size_t i = 0; i < r->n_pend; i++) {
        pending_t *p = &r->pend[i];
        if (p->tick < tick || (inclusive && p->tick == tick)) {
            if (p->type == STK_EV_WAVE_ENDED)
                diverge(r, STK_REPLAY_MISSING, seq, p->tick, p->type, NULL, NULL, STK_REJECT_NONE,
                        "the replay cleared wave %" PRIu32 " at tick %" PRIu64
                        " but the log has no WaveEnded there",
                        p->wave, p->tick);
            else
                diverge(r, STK_REPLAY_MISSING, seq, p->tick, p->type, NULL, NULL, STK_REJECT_NONE,
                        "the replay ended the game at tick %" PRIu64
                        " but the log has no GameEnded there",
                        p->tick);
        } else {
            r->pend[j++] = *p;
        }
    }
    r->n_pend = j;
}

static bool take_pending(stk_replay_t *r, uint16_t type, uint64_t tick)
{
    for (size_t i = 0; i < r->n_pend; i++) {
        if (r->pend[i].type == type && r->pend[i].tick == tick) {
            memmove(&r->pend[i], &r->pend[i + 1], (r->n_pend - i - 1) * sizeof(pending_t));
            r->n_pend--;
            return true;
        }
    }
    return false;
}

/* ---- feeding ------------------------------------------------------------------------ */

static int open_session(stk_replay_t *r, const stk_envelope_t *e)
{
    if (e->type != STK_EV_SESSION_OPENED)
        return STK_ESTATE;
    stk_map_t *map = malloc(sizeof(*map));
    if (map == NULL)
        return STK_ENOMEM;
    stk_game_opened_t op;
    int rc = stk_game_opened_decode(e, map, &op, NULL);
    if (rc == 0)
        rc = stk_game_create(&op.setup, &r->g); /* the game keeps its own copy of the map */
    free(map);
    if (rc != 0)
        return rc;
    r->sum.opened = true;
    r->sum.session = e->stream;
    r->good_seq = e->seq;
    r->good_tick = 0;
    /* kf[0]: the game as created, always kept (seek starts here without keyframes). */
    if (stk_game_clone(r->g, &r->kf[0].g) != 0)
        return STK_ENOMEM;
    r->kf[0].tick = 0;
    r->kf[0].input_idx = 0;
    r->kf[0].seq = e->seq;
    r->kf[0].version = e->version;
    r->kf[0].hash = stk_game_hash(r->g);
    r->n_kf = 1;
    if (e->tick != 0) /* the host opens at tick 0; the game starts there whatever is written */
        diverge(r, STK_REPLAY_TICK, e->seq, e->tick, e->type, NULL, NULL, STK_REJECT_NONE,
                "SessionOpened is recorded at tick %" PRIu64 ", not 0", e->tick);
    return 0;
}

static int journal_add(stk_replay_t *r, uint64_t tick, const stk_game_input_t *in)
{
    if (r->n_jr == r->cap_jr) {
        if (r->cap_jr >= STK_REPLAY_MAX_INPUTS)
            return STK_ETOOBIG;
        size_t cap = r->cap_jr == 0 ? 64 : r->cap_jr * 2;
        if (cap > STK_REPLAY_MAX_INPUTS)
            cap = STK_REPLAY_MAX_INPUTS;
        journal_entry_t *jr = realloc(r->jr, cap * sizeof(*jr));
        if (jr == NULL)
            return STK_ENOMEM;
        r->jr = jr;
        r->cap_jr = cap;
    }
    r->jr[r->n_jr].tick = tick;
    r->jr[r->n_jr].in = *in;
    r->n_jr++;
    return 0;
}

static void note_input(stk_replay_t *r, const stk_envelope_t *e, const stk_game_input_t *in,
                       const stk_game_tower_info_t *sold)
{
    stk_replay_note_t n = {.kind = STK_NOTE_INPUT,
                           .tick = e->tick,
                           .seq = e->seq,
                           .input = in->kind,
                           .actor = e->actor,
                           .player = -1,
                           .tower_kind = -1};
    n.player = stk_game_player_index(r->g, in->player);
    if (n.player >= 0) {
        stk_game_player_info_t pi;
        if (stk_game_player(r->g, (size_t)n.player, &pi) == 0)
            n.gold = pi.gold;
    }
    stk_game_tower_info_t t;
    bool have = false;
    if (in->kind == STK_INPUT_PLACE) {
        size_t nt = stk_game_tower_count(r->g);
        have = nt > 0 && stk_game_tower(r->g, nt - 1, &t) == 0;
    } else if (in->kind == STK_INPUT_UPGRADE) {
        have = stk_game_tower_by_id(r->g, in->tower_id, &t) == 0;
    } else if (in->kind == STK_INPUT_SELL && sold != NULL) {
        t = *sold;
        have = true;
    }
    if (have) {
        n.tower_id = t.id;
        n.tower_kind = t.kind;
        n.tower_level = t.level;
        n.x = t.x;
        n.y = t.y;
        n.spent = t.spent;
    }
    r->opts.note_cb(r->opts.note_ud, &n);
}

static void apply_input(stk_replay_t *r, const stk_envelope_t *e, const stk_game_input_t *in)
{
    stk_game_state_t before = stk_game_state(r->g);
    stk_game_tower_info_t sold;
    bool have_sold =
        in->kind == STK_INPUT_SELL && stk_game_tower_by_id(r->g, in->tower_id, &sold) == 0;
    stk_reject_t why = STK_REJECT_NONE;
    if (stk_game_apply(r->g, in, &why) != 0) {
        diverge(r, STK_REPLAY_INPUT_REFUSED, e->seq, e->tick, e->type, NULL, NULL, why,
                "recorded %s (seq %" PRIu64 ") is refused by the replay: %s (%s)",
                stk_replay_event_name(e->type), e->seq, stk_reject_name(why),
                stk_reject_message(why));
        return;
    }
    r->sum.inputs++;
    if (journal_add(r, e->tick, in) != 0 && r->err == 0)
        r->err = STK_ETOOBIG;
    if (r->opts.note_cb != NULL) {
        note_input(r, e, in, have_sold ? &sold : NULL);
        notes_after_change(r, e->seq);
        stk_game_state_t now = stk_game_state(r->g);
        if (now != before && (now == STK_GAME_COMPLETED || now == STK_GAME_ABANDONED)) {
            stk_game_outcome_t o;
            stk_game_outcome(r->g, &o);
            stk_replay_note_t n = {.kind = STK_NOTE_GAME_ENDED,
                                   .tick = o.tick,
                                   .seq = e->seq,
                                   .player = -1,
                                   .wave = o.wave,
                                   .result = o.result};
            note_outcome(r, &n, &o);
            r->opts.note_cb(r->opts.note_ud, &n);
        }
    }
}

static void describe_record_diff(const stk_game_record_t *x, const stk_game_record_t *y, char *buf,
                                 size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (off < cap) {                                                                           \
            int k_ = snprintf(buf + off, cap - off, __VA_ARGS__);                                  \
            if (k_ > 0)                                                                            \
                off += (size_t)k_;                                                                 \
        }                                                                                          \
    } while (0)
    if (x->tick != y->tick)
        ADD(" tick %" PRIu64 "!=%" PRIu64, x->tick, y->tick);
    if (x->type == STK_EV_GAME_ENDED && x->result != y->result)
        ADD(" result %s!=%s", stk_game_result_name(x->result), stk_game_result_name(y->result));
    if (x->type != STK_EV_TICK_MARK) {
        if (x->wave != y->wave)
            ADD(" wave %" PRIu32 "!=%" PRIu32, x->wave, y->wave);
        if (x->lives != y->lives)
            ADD(" lives %" PRId32 "!=%" PRId32, x->lives, y->lives);
        if (x->n_gold != y->n_gold)
            ADD(" players %" PRIu32 "!=%" PRIu32, x->n_gold, y->n_gold);
        for (uint32_t i = 0; i < x->n_gold && i < y->n_gold && i < STK_GAME_MAX_PLAYERS; i++) {
            if (x->gold[i] != y->gold[i])
                ADD(" gold[%" PRIu32 "] %" PRIu64 "!=%" PRIu64, i, x->gold[i], y->gold[i]);
        }
    }
    if (x->hash != y->hash)
        ADD(" hash %016" PRIx64 "!=%016" PRIx64, x->hash, y->hash);
#undef ADD
}

static void check_outcome(stk_replay_t *r, const stk_envelope_t *e, const stk_game_record_t *rec)
{
    stk_game_outcome_t o;
    stk_game_outcome(r->g, &o);
    o.wave_cleared = stk_game_waves_cleared(r->g);
    stk_game_record_t act;
    if (stk_game_record_from_outcome(rec->type, &o, &act) != 0)
        memset(&act, 0, sizeof(act));
    bool produced = true;
    if (rec->type == STK_EV_WAVE_ENDED) {
        produced = take_pending(r, STK_EV_WAVE_ENDED, e->tick);
    } else if (rec->type == STK_EV_GAME_ENDED) {
        produced = take_pending(r, STK_EV_GAME_ENDED, e->tick) ||
                   stk_game_state(r->g) == STK_GAME_ABANDONED;
    }
    bool by_server = stk_uuid_is_nil(&e->actor); /* outcomes are the server's, never a user's */
    bool ok = produced && by_server && stk_game_record_equal(rec, &act);
    if (rec->type == STK_EV_TICK_MARK) {
        r->sum.tick_marks++;
        r->sum.tick_marks_ok += ok;
    } else {
        r->sum.outcomes++;
        r->sum.outcomes_ok += ok;
    }
    if (ok) {
        if (!r->diverged) {
            stk_game_t *c = NULL;
            if (stk_game_clone(r->g, &c) == 0) {
                stk_game_destroy(r->good);
                r->good = c;
                r->good_seq = e->seq;
                r->good_tick = e->tick;
            }
        }
        if (r->opts.note_cb != NULL) {
            stk_replay_note_t n = {.kind = STK_NOTE_CHECK,
                                   .tick = e->tick,
                                   .seq = e->seq,
                                   .player = -1,
                                   .event_type = rec->type,
                                   .ok = true};
            r->opts.note_cb(r->opts.note_ud, &n);
        }
        return;
    }
    char what[160];
    describe_record_diff(rec, &act, what, sizeof(what));
    diverge(r, STK_REPLAY_OUTCOME, e->seq, e->tick, rec->type, rec, &act, STK_REJECT_NONE,
            "%s at tick %" PRIu64 " (seq %" PRIu64 ") differs (recorded!=replayed):%s%s",
            stk_replay_event_name(rec->type), e->tick, e->seq, what,
            !produced    ? " (the replay ended no such thing at this tick)"
            : !by_server ? " (recorded by a user, not by the server)"
                         : "");
}

int stk_replay_feed(stk_replay_t *r, const stk_envelope_t *e)
{
    if (r == NULL || e == NULL)
        return STK_EINVAL;
    if (r->err != 0)
        return r->err;
    if (r->finished)
        return STK_ESTATE;
    uint64_t before = r->sum.mismatches;
    int rc;
    if (r->g == NULL) {
        rc = open_session(r, e);
        if (rc != 0) {
            r->err = rc;
            return rc;
        }
        r->sum.events = 1;
        r->sum.last_seq = e->seq;
        r->sum.last_version = e->version;
        r->fed_version = e->version;
        r->sum.last_tick = e->tick;
        return r->sum.mismatches != before ? STK_EHASH : 0;
    }
    if (!stk_uuid_eq(&e->stream, &r->sum.session) || e->version != r->fed_version + 1 ||
        r->sum.events >= STK_REPLAY_MAX_EVENTS) {
        r->err = STK_ECORRUPT;
        return r->err;
    }
    if (e->type == STK_EV_SESSION_OPENED) {
        r->err = STK_ESTATE;
        return r->err;
    }
    r->sum.events++;
    r->fed_version = e->version;
    if (r->sum.stopped)
        return 0;
    if (e->tick > r->opts.until_tick) {
        uint64_t stop = r->opts.until_tick;
        if (stk_game_tick(r->g) < stop &&
            stop - stk_game_tick(r->g) > STK_REPLAY_MAX_TICK_GAP) /* as advance() */
            stop = stk_game_tick(r->g) + STK_REPLAY_MAX_TICK_GAP;
        while (stk_game_tick(r->g) < stop && stk_game_state(r->g) == STK_GAME_IN_PROGRESS)
            step_once(r);
        r->sum.stopped = true;
        return 0;
    }

    stk_game_input_t in;
    stk_game_record_t rec;
    rc = stk_game_event_to_input(e, stk_game_balance(r->g), &in, &rec, NULL);
    if (rc < 0) {
        r->err = rc;
        return rc;
    }
    if (rc == STK_GAME_EVENT_OTHER) { /* a user, tribe or map event in a session stream */
        r->err = STK_ECORRUPT;
        return r->err;
    }
    bool reached = advance(r, e);
    if (rc == STK_GAME_EVENT_INPUT) {
        flag_missing(r, e->tick, true, e->seq);
        apply_input(r, e, &in);
    } else {
        flag_missing(r, e->tick, false, e->seq);
        if (reached)
            check_outcome(r, e, &rec);
        else if (rec.type == STK_EV_TICK_MARK)
            r->sum.tick_marks++;
        else
            r->sum.outcomes++;
    }
    r->sum.last_seq = e->seq;
    r->sum.last_version = e->version;
    r->sum.last_tick = e->tick;
    if (r->err != 0)
        return r->err;
    return r->sum.mismatches != before ? STK_EHASH : 0;
}

int stk_replay_finish(stk_replay_t *r)
{
    if (r == NULL)
        return STK_EINVAL;
    if (r->err != 0)
        return r->err;
    if (r->g == NULL)
        return STK_ESTATE;
    if (!r->finished) {
        r->finished = true;
        if (!r->sum.stopped)
            flag_missing(r, UINT64_MAX, true, r->sum.last_seq);
    }
    return r->sum.mismatches != 0 ? STK_EHASH : 0;
}

/* ---- sources ------------------------------------------------------------------------ */

static int log_feed_cb(void *ud, const stk_envelope_t *e)
{
    int rc = stk_replay_feed(ud, e);
    if (rc == STK_EHASH)
        return 0;
    return rc; /* 0 goes on; an error stops the read and is returned by it */
}

int stk_replay_run_log_from(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session)
{
    int rc =
        stk_log_read_stream(log, session, r->g != NULL ? r->fed_version + 1 : 1, 0, log_feed_cb, r);
    if (rc != 0)
        return rc;
    if (r->g == NULL && r->err == 0 && r->sum.events == 0)
        return STK_ENOTFOUND;
    return stk_replay_finish(r);
}

int stk_replay_run_log(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session)
{
    if (r == NULL || log == NULL || session == NULL)
        return STK_EINVAL;
    return stk_replay_run_log_from(r, log, session);
}

/* One line of f (newline included if present) into *buf (grown up to
 * STK_JSON_LINE_MAX + 2 bytes, NUL-terminated), its length in *len. Returns 0,
 * STK_ENOTFOUND at the end of the input, STK_ETOOBIG for a longer line (it is not read
 * further), STK_EIO, STK_ENOMEM. Unlike getline() it never holds more than the limit. */
static int read_line(FILE *f, char **buf, size_t *cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (*cap - n < 2 || *buf == NULL) {
            if (*cap >= STK_JSON_LINE_MAX + 2)
                return STK_ETOOBIG;
            size_t nc = *cap == 0 ? 4096 : *cap * 2;
            if (nc > STK_JSON_LINE_MAX + 2)
                nc = STK_JSON_LINE_MAX + 2;
            char *nb = realloc(*buf, nc);
            if (nb == NULL)
                return STK_ENOMEM;
            *buf = nb;
            *cap = nc;
        }
        if (fgets(*buf + n, (int)(*cap - n), f) == NULL) {
            if (ferror(f))
                return STK_EIO;
            if (n == 0)
                return STK_ENOTFOUND;
            break;
        }
        n += strlen(*buf + n);
        if (n > 0 && (*buf)[n - 1] == '\n')
            break;
        if (feof(f))
            break;
    }
    if (n > STK_JSON_LINE_MAX)
        return STK_ETOOBIG;
    *len = n;
    return 0;
}

int stk_replay_run_jsonl(stk_replay_t *r, FILE *f, const stk_uuid_t *session, uint64_t *line_out)
{
    if (r == NULL || f == NULL)
        return STK_EINVAL;
    if (line_out != NULL)
        *line_out = 0;
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0;
    bool have = session != NULL;
    stk_uuid_t sid;
    if (have)
        sid = *session;
    int rc = 0;
    for (;;) {
        size_t n = 0;
        rc = read_line(f, &line, &cap, &n);
        if (rc == STK_ENOTFOUND) {
            rc = 0;
            break;
        }
        lineno++;
        if (rc != 0)
            break;
        size_t len = n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
            len--;
        if (len == 0)
            continue;
        stk_envelope_t e;
        uint8_t *payload = NULL;
        rc = stk_json_event_parse(line, len, &e, &payload, NULL);
        if (rc != 0)
            break;
        if (!have && e.type == STK_EV_SESSION_OPENED) {
            sid = e.stream;
            have = true;
        }
        if (have && stk_uuid_eq(&e.stream, &sid)) {
            rc = stk_replay_feed(r, &e);
            if (rc == STK_EHASH)
                rc = 0;
        }
        free(payload);
        if (rc != 0)
            break;
    }
    free(line);
    if (rc != 0) {
        if (line_out != NULL)
            *line_out = lineno;
        return rc;
    }
    if (r->g == NULL)
        return r->err != 0 ? r->err : STK_ENOTFOUND;
    return stk_replay_finish(r);
}

/* ---- queries ------------------------------------------------------------------------ */

const stk_game_t *stk_replay_game(const stk_replay_t *r)
{
    return r != NULL ? r->g : NULL;
}

void stk_replay_summary(const stk_replay_t *r, stk_replay_summary_t *out)
{
    *out = r->sum;
    if (r->g != NULL) {
        out->tick = stk_game_tick(r->g);
        out->hash = stk_game_hash(r->g);
    }
    out->all_ok = r->sum.opened && r->sum.mismatches == 0 && r->err == 0;
}

const stk_replay_divergence_t *stk_replay_divergence(const stk_replay_t *r)
{
    return r != NULL && r->diverged ? &r->div : NULL;
}

static size_t keyframe_at(const stk_replay_t *r, uint64_t tick)
{
    size_t k = 0;
    for (size_t i = 1; i < r->n_kf; i++) {
        if (r->kf[i].tick <= tick)
            k = i;
    }
    return k;
}

uint64_t stk_replay_seek_steps(const stk_replay_t *r, uint64_t tick)
{
    if (r == NULL || r->g == NULL || r->n_kf == 0 || tick < r->kf[0].tick)
        return UINT64_MAX;
    return tick - r->kf[keyframe_at(r, tick)].tick;
}

int stk_replay_seek(const stk_replay_t *r, uint64_t tick, stk_game_t **out)
{
    if (r == NULL || out == NULL)
        return STK_EINVAL;
    if (r->g == NULL || r->n_kf == 0)
        return STK_ESTATE;
    if (tick > stk_game_tick(r->g) || tick < r->kf[0].tick)
        return STK_ERANGE;
    size_t k = keyframe_at(r, tick);
    stk_game_t *g = NULL;
    int rc = stk_game_clone(r->kf[k].g, &g);
    if (rc != 0)
        return rc;
    for (size_t j = r->kf[k].input_idx; j < r->n_jr && r->jr[j].tick <= tick; j++) {
        while (stk_game_tick(g) < r->jr[j].tick && stk_game_state(g) == STK_GAME_IN_PROGRESS)
            stk_game_step(g, NULL);
        stk_reject_t why;
        (void)stk_game_apply(g, &r->jr[j].in, &why); /* accepted when it was journalled */
    }
    while (stk_game_tick(g) < tick && stk_game_state(g) == STK_GAME_IN_PROGRESS)
        stk_game_step(g, NULL);
    *out = g;
    return 0;
}
