/* events/replay.c — re-simulation of a recorded session and its checks (see replay.h).
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
#include "events/replay.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <xxhash.h>

#include "core/error.h"
#include "events/json.h"
#include "events/payload.h"
#include "events/types.h"

#define PEND_MAX          8u
#define STORED_KF_MAX     100000u
#define STORED_KF_TRIES   64u /* stored keyframes a seek tries before simulating from 0 */
#define KF_STREAM_CONTEXT "stockade.replay.keyframes"

typedef struct pending {
    uint16_t type; /* STK_EV_WAVE_ENDED or STK_EV_GAME_ENDED */
    uint64_t tick;
    uint32_t wave;
} pending_t;

typedef struct keyframe {
    uint64_t tick;
    size_t input_idx; /* journal entries applied before it */
    uint64_t seq, version, hash;
    stk_game_t *g;
    /* outcomes the step to `tick` produced whose events come later in the stream: a
     * replay resumed from this keyframe must still expect them */
    pending_t pend[PEND_MAX];
    size_t n_pend;
} keyframe_t;

typedef struct journal_entry {
    uint64_t tick;
    stk_game_input_t in;
} journal_entry_t;

/* A stored keyframe as loaded for checking: its numbers, and XXH3 of its state bytes. */
typedef struct stored_kf {
    uint64_t tick, hash;
    uint64_t state_hash; /* XXH3_64 of the stored state (has_state) */
    bool has_state;      /* format 2 records carry the state; format 1 only the hash */
    bool bad;            /* the record does not decode: reported when its tick is reached */
} stored_kf_t;

/* A decoded stored keyframe record; state and pend point into the payload buffer. */
typedef struct kf_record {
    uint64_t format, tick, seq, version, hash;
    const uint8_t *state; /* NULL for format 1 */
    size_t state_len;
    pending_t pend[PEND_MAX];
    size_t n_pend;
} kf_record_t;

struct stk_replay {
    stk_replay_opts_t opts;
    uint32_t kf_every;
    int err;
    bool finished;
    uint64_t fed_version; /* stream version of the last event fed (applied or not) */
    stk_game_t *g;
    stk_replay_summary_t sum;
    /* timeline tracking (only when note_cb is set) */
    uint32_t waves_seen, leaks_seen;
    uint32_t kills_seen[STK_GAME_MAX_PLAYERS];
    /* outcomes produced by steps, waiting for their event */
    pending_t pend[PEND_MAX];
    size_t n_pend;
    /* state at the last check that matched (NULL: kf[0]) */
    stk_game_t *good;
    uint64_t good_seq, good_tick;
    /* first divergence */
    bool diverged;
    stk_replay_divergence_t div;
    stk_game_t *div_game;
    /* keyframes and the input journal */
    keyframe_t kf[STK_REPLAY_MAX_KEYFRAMES];
    size_t n_kf;
    bool resumed; /* kf[0] was restored from a stored keyframe, not created at tick 0 */
    journal_entry_t *jr;
    size_t n_jr, cap_jr;
    /* keyframes loaded from the log */
    stored_kf_t *stored;
    size_t n_stored, i_stored;
};

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

static const char *event_name(uint16_t type)
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
                p->type == STK_EV_WAVE_ENDED ? "a wave" : "the game", p->tick, event_name(p->type));
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
                event_name(e->type), t, STK_REPLAY_MAX_TICK_GAP, stk_game_tick(r->g));
        return false;
    }
    while (stk_game_tick(r->g) < t) {
        if (stk_game_state(r->g) != STK_GAME_IN_PROGRESS) {
            diverge(r, STK_REPLAY_TICK, e->seq, t, e->type, NULL, NULL, STK_REJECT_NONE,
                    "%s at tick %" PRIu64 " cannot be reached: the session is %s at tick %" PRIu64,
                    event_name(e->type), t, stk_game_state_name(stk_game_state(r->g)),
                    stk_game_tick(r->g));
            return false;
        }
        step_once(r);
    }
    if (stk_game_tick(r->g) > t) {
        diverge(r, STK_REPLAY_TICK, e->seq, t, e->type, NULL, NULL, STK_REJECT_NONE,
                "%s at tick %" PRIu64 " is behind the game, already at tick %" PRIu64,
                event_name(e->type), t, stk_game_tick(r->g));
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
                event_name(e->type), e->seq, stk_reject_name(why), stk_reject_message(why));
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
            event_name(rec->type), e->tick, e->seq, what,
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

/* Feed the stream from the version after the last one fed, then finish. */
static int run_log_from(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session)
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
    return run_log_from(r, log, session);
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

/* ---- reports ------------------------------------------------------------------------ */

static const char *tower_name(const stk_game_t *g, int kind)
{
    const stk_balance_t *b = stk_game_balance(g);
    if (kind >= 0 && kind < STK_TOWER_KINDS)
        return b->tower[kind].name;
    return "?";
}

static json_t *state_json(const stk_game_t *g)
{
    json_t *o = json_object();
    json_t *pl = json_array();
    json_t *tw = json_array();
    json_t *en = json_array();
    if (o == NULL || pl == NULL || tw == NULL || en == NULL)
        goto fail;
    char hash[17];
    snprintf(hash, sizeof(hash), "%016" PRIx64, stk_game_hash(g));
    json_object_set_new(o, "state", json_string(stk_game_state_name(stk_game_state(g))));
    json_object_set_new(o, "result", json_string(stk_game_result_name(stk_game_result(g))));
    json_object_set_new(o, "tick", json_integer((json_int_t)stk_game_tick(g)));
    json_object_set_new(o, "wave", json_integer(stk_game_wave(g)));
    json_object_set_new(o, "waves_cleared", json_integer(stk_game_waves_cleared(g)));
    json_object_set_new(o, "wave_count", json_integer(stk_game_wave_count(g)));
    json_object_set_new(o, "lives", json_integer(stk_game_lives(g)));
    json_object_set_new(o, "leaks", json_integer(stk_game_leaks(g)));
    json_object_set_new(o, "hash", json_string(hash));
    for (size_t i = 0; i < stk_game_player_count(g); i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) != 0)
            continue;
        char id[STK_UUID_STR_LEN + 1];
        stk_uuid_t u;
        memcpy(u.b, p.id, STK_UUID_LEN);
        stk_uuid_format(&u, id);
        json_array_append_new(pl, json_pack("{s:s, s:I, s:I, s:b, s:b, s:b, s:b, s:i, s:i, s:i}",
                                            "id", id, "gold", (json_int_t)p.gold, "kills",
                                            (json_int_t)p.kills, "ready", p.ready, "connected",
                                            p.connected, "left", p.left, "host", p.host,
                                            "damage_bp", (int)p.damage_bp, "attack_speed_bp",
                                            (int)p.attack_speed_bp, "range_bp", (int)p.range_bp));
    }
    for (size_t i = 0; i < stk_game_tower_count(g); i++) {
        stk_game_tower_info_t t;
        if (stk_game_tower(g, i, &t) != 0)
            continue;
        json_array_append_new(tw, json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                                            (json_int_t)t.id, "owner", (json_int_t)t.owner, "tower",
                                            tower_name(g, t.kind), "level", (json_int_t)t.level,
                                            "x", (json_int_t)t.x, "y", (json_int_t)t.y, "spent",
                                            (json_int_t)t.spent, "cooldown", (json_int_t)t.cooldown,
                                            "kills", (json_int_t)t.kills));
    }
    for (size_t i = 0; i < stk_game_enemy_count(g); i++) {
        stk_game_enemy_info_t e;
        if (stk_game_enemy(g, i, &e) != 0)
            continue;
        const char *kn = stk_map_enemy_type_name((uint32_t)e.kind);
        json_array_append_new(
            en, json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                          (json_int_t)e.id, "enemy", kn != NULL ? kn : "?", "wave",
                          (json_int_t)e.wave, "health", (json_int_t)e.health, "x", (json_int_t)e.x,
                          "y", (json_int_t)e.y, "nx", (json_int_t)e.nx, "ny", (json_int_t)e.ny,
                          "progress", (json_int_t)e.progress, "slow_bp", (json_int_t)e.slow_bp,
                          "slow_ticks", (json_int_t)e.slow_ticks));
    }
    json_object_set_new(o, "players", pl);
    json_object_set_new(o, "towers", tw);
    json_object_set_new(o, "enemies", en);
    return o;
fail:
    json_decref(o);
    json_decref(pl);
    json_decref(tw);
    json_decref(en);
    return NULL;
}

static int state_text(const stk_game_t *g, FILE *f)
{
    fprintf(f,
            "state %s  result %s  tick %" PRIu64 "  wave %" PRIu32 "/%" PRIu32 " (cleared %" PRIu32
            ")  lives %" PRId32 "  leaks %" PRIu32 "  hash %016" PRIx64 "\n",
            stk_game_state_name(stk_game_state(g)), stk_game_result_name(stk_game_result(g)),
            stk_game_tick(g), stk_game_wave(g), stk_game_wave_count(g), stk_game_waves_cleared(g),
            stk_game_lives(g), stk_game_leaks(g), stk_game_hash(g));
    for (size_t i = 0; i < stk_game_player_count(g); i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) != 0)
            continue;
        char id[STK_UUID_STR_LEN + 1];
        stk_uuid_t u;
        memcpy(u.b, p.id, STK_UUID_LEN);
        stk_uuid_format(&u, id);
        fprintf(f,
                "  player %zu %s gold %" PRIu64 " kills %" PRIu32 "%s%s%s%s  bonus dmg %" PRIu32
                " spd %" PRIu32 " rng %" PRIu32 "\n",
                i, id, p.gold, p.kills, p.host ? " host" : "", p.ready ? " ready" : "",
                p.connected ? "" : " disconnected", p.left ? " left" : "", p.damage_bp,
                p.attack_speed_bp, p.range_bp);
    }
    for (size_t i = 0; i < stk_game_tower_count(g); i++) {
        stk_game_tower_info_t t;
        if (stk_game_tower(g, i, &t) != 0)
            continue;
        fprintf(f,
                "  tower %" PRIu32 " %s L%" PRIu32 " at (%" PRIu32 ",%" PRIu32 ") owner %" PRIu32
                " spent %" PRIu32 " kills %" PRIu32 " cooldown %" PRIu32 "\n",
                t.id, tower_name(g, t.kind), t.level, t.x, t.y, t.owner, t.spent, t.kills,
                t.cooldown);
    }
    for (size_t i = 0; i < stk_game_enemy_count(g); i++) {
        stk_game_enemy_info_t e;
        if (stk_game_enemy(g, i, &e) != 0)
            continue;
        const char *kn = stk_map_enemy_type_name((uint32_t)e.kind);
        fprintf(f,
                "  enemy %" PRIu32 " %s wave %" PRIu32 " health %" PRId32 " at (%" PRIu32
                ",%" PRIu32 ")->(%" PRIu32 ",%" PRIu32 ") progress %" PRId32 " slow %" PRId32
                "/%" PRIu32 "\n",
                e.id, kn != NULL ? kn : "?", e.wave, e.health, e.x, e.y, e.nx, e.ny, e.progress,
                e.slow_bp, e.slow_ticks);
    }
    return ferror(f) ? STK_EIO : 0;
}

int stk_replay_state_write(const stk_replay_t *r, FILE *f, bool json)
{
    if (r == NULL || f == NULL)
        return STK_EINVAL;
    if (r->g == NULL)
        return STK_ESTATE;
    if (!json)
        return state_text(r->g, f);
    json_t *o = state_json(r->g);
    if (o == NULL)
        return STK_ENOMEM;
    int rc = json_dumpf(o, f, JSON_COMPACT) == 0 ? 0 : STK_EIO;
    fputc('\n', f);
    json_decref(o);
    return rc;
}

static json_t *record_json(const stk_game_record_t *x)
{
    char hash[17];
    snprintf(hash, sizeof(hash), "%016" PRIx64, x->hash);
    json_t *gold = json_array();
    for (uint32_t i = 0; i < x->n_gold && i < STK_GAME_MAX_PLAYERS; i++)
        json_array_append_new(gold, json_integer((json_int_t)x->gold[i]));
    return json_pack("{s:s, s:I, s:s, s:I, s:i, s:o, s:s}", "type", event_name(x->type), "tick",
                     (json_int_t)x->tick, "result", stk_game_result_name(x->result), "wave",
                     (json_int_t)x->wave, "lives", (int)x->lives, "gold", gold, "hash", hash);
}

static void record_text(FILE *f, const char *label, const stk_game_record_t *x)
{
    fprintf(f, "  %-10s tick %" PRIu64, label, x->tick);
    if (x->type == STK_EV_GAME_ENDED)
        fprintf(f, " result %s", stk_game_result_name(x->result));
    if (x->type != STK_EV_TICK_MARK) {
        fprintf(f, " wave %" PRIu32 " lives %" PRId32 " gold [", x->wave, x->lives);
        for (uint32_t i = 0; i < x->n_gold && i < STK_GAME_MAX_PLAYERS; i++)
            fprintf(f, "%s%" PRIu64, i ? " " : "", x->gold[i]);
        fprintf(f, "]");
    }
    fprintf(f, " hash %016" PRIx64 "\n", x->hash);
}

int stk_replay_report(const stk_replay_t *r, FILE *f, bool json)
{
    if (r == NULL || f == NULL)
        return STK_EINVAL;
    const stk_replay_divergence_t *d = r->diverged ? &r->div : NULL;
    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    if (json) {
        json_t *o = json_object();
        if (o == NULL)
            return STK_ENOMEM;
        json_object_set_new(o, "diverged", json_boolean(d != NULL));
        json_object_set_new(o, "mismatches", json_integer((json_int_t)s.mismatches));
        if (d != NULL) {
            json_object_set_new(o, "problem", json_string(stk_replay_problem_name(d->problem)));
            json_object_set_new(o, "seq", json_integer((json_int_t)d->seq));
            json_object_set_new(o, "tick", json_integer((json_int_t)d->tick));
            json_object_set_new(o, "event", json_string(event_name(d->event_type)));
            json_object_set_new(o, "detail", json_string(d->detail));
            if (d->problem == STK_REPLAY_INPUT_REFUSED)
                json_object_set_new(o, "rejected", json_string(stk_reject_name(d->rejected)));
            if (d->has_expected) {
                json_object_set_new(o, "recorded", record_json(&d->expected));
                json_object_set_new(o, "replayed", record_json(&d->actual));
            }
            json_object_set_new(o, "last_good_seq", json_integer((json_int_t)d->good_seq));
            json_object_set_new(o, "last_good_tick", json_integer((json_int_t)d->good_tick));
            json_t *diff = json_array();
            for (size_t i = 0; i < d->n_diff; i++)
                json_array_append_new(diff, json_pack("{s:s, s:I, s:I}", "field", d->diff[i].field,
                                                      "last_good", (json_int_t)d->diff[i].a,
                                                      "replayed", (json_int_t)d->diff[i].b));
            json_object_set_new(o, "diff", diff);
            json_object_set_new(o, "diff_total", json_integer((json_int_t)d->n_diff_total));
            if (r->div_game != NULL)
                json_object_set_new(o, "state", state_json(r->div_game));
        }
        int rc = json_dumpf(o, f, JSON_COMPACT) == 0 ? 0 : STK_EIO;
        fputc('\n', f);
        json_decref(o);
        return rc;
    }
    if (d == NULL) {
        fprintf(f, "no divergence\n");
        return ferror(f) ? STK_EIO : 0;
    }
    fprintf(f,
            "DIVERGENCE (%s) at tick %" PRIu64 ", seq %" PRIu64 " (%s); %" PRIu64
            " mismatch(es) in all\n",
            stk_replay_problem_name(d->problem), d->tick, d->seq, event_name(d->event_type),
            s.mismatches);
    fprintf(f, "  %s\n", d->detail);
    if (d->has_expected) {
        record_text(f, "recorded", &d->expected);
        record_text(f, "replayed", &d->actual);
    }
    fprintf(f,
            "state diff: last matching check (tick %" PRIu64 ", seq %" PRIu64
            ") -> replayed state at the divergence, %zu field(s)%s\n",
            d->good_tick, d->good_seq, d->n_diff_total,
            d->n_diff_total > d->n_diff ? " (first shown)" : "");
    for (size_t i = 0; i < d->n_diff; i++)
        fprintf(f, "  %-32s %" PRId64 " -> %" PRId64 "\n", d->diff[i].field, d->diff[i].a,
                d->diff[i].b);
    if (r->div_game != NULL) {
        fprintf(f, "replayed state at the divergence:\n");
        state_text(r->div_game, f);
    }
    return ferror(f) ? STK_EIO : 0;
}

/* ---- stored keyframes --------------------------------------------------------------- */

void stk_replay_keyframe_stream(const stk_uuid_t *session, stk_uuid_t *out)
{
    crypto_generichash_state st;
    uint8_t h[STK_UUID_LEN];
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)KF_STREAM_CONTEXT,
                              sizeof(KF_STREAM_CONTEXT)); /* with its NUL */
    crypto_generichash_update(&st, session->b, STK_UUID_LEN);
    crypto_generichash_final(&st, h, sizeof(h));
    memcpy(out->b, h, STK_UUID_LEN);
}

/* Decode a stored record. Format 2 must carry the state; format 1 (hash only) is still
 * read so a replay can check it. Returns 0 or STK_ECORRUPT; on success rec->state points
 * into p, which the caller closes after use. */
static int kf_decode(stk_payload_t *p, const uint8_t *data, size_t len, kf_record_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    if (stk_payload_open(p, data, len, NULL) != 0)
        return STK_ECORRUPT;
    const msgpack_object *root = stk_payload_root(p);
    if (stk_payload_get_uint(root, "v", &rec->format) != 0 ||
        (rec->format != 1 && rec->format != STK_REPLAY_KF_FORMAT) ||
        stk_payload_get_uint(root, "tick", &rec->tick) != 0 ||
        stk_payload_get_uint(root, "seq", &rec->seq) != 0 ||
        stk_payload_get_uint(root, "version", &rec->version) != 0 ||
        stk_payload_get_uint(root, "hash", &rec->hash) != 0)
        goto fail;
    if (rec->format == 1)
        return 0;
    const msgpack_object *items = NULL;
    size_t n = 0;
    if (stk_payload_get_bin(root, "state", &rec->state, &rec->state_len) != 0 ||
        rec->state_len == 0 || stk_payload_get_array(root, "pend", &items, &n) != 0 || n > PEND_MAX)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *it = &items[i];
        uint64_t type, tick, wave;
        if (it->type != MSGPACK_OBJECT_ARRAY || it->via.array.size != 3 ||
            stk_payload_as_uint(&it->via.array.ptr[0], &type) != 0 ||
            stk_payload_as_uint(&it->via.array.ptr[1], &tick) != 0 ||
            stk_payload_as_uint(&it->via.array.ptr[2], &wave) != 0 ||
            (type != STK_EV_WAVE_ENDED && type != STK_EV_GAME_ENDED) || tick != rec->tick ||
            wave > UINT32_MAX)
            goto fail;
        rec->pend[i] = (pending_t){(uint16_t)type, tick, (uint32_t)wave};
    }
    rec->n_pend = n;
    return 0;
fail:
    stk_payload_close(p);
    return STK_ECORRUPT;
}

int stk_replay_keyframes_load(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session)
{
    if (r == NULL || log == NULL || session == NULL)
        return STK_EINVAL;
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(session, &kfs);
    uint64_t at = UINT64_MAX;
    int rc = 0;
    while (r->n_stored < STORED_KF_MAX) {
        uint64_t seq = 0;
        uint8_t *data = NULL;
        size_t len = 0;
        rc = stk_log_snapshot_get(log, &kfs, at, &seq, &data, &len);
        if (rc == STK_ENOTFOUND) {
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        /* A record that does not decode is kept as "bad": the replay reports it when it
         * reaches its tick (the snapshot key), instead of silently checking less. */
        stored_kf_t k = {.tick = seq, .bad = true};
        stk_payload_t p;
        kf_record_t rec;
        if (kf_decode(&p, data, len, &rec) == 0) {
            if (rec.tick == seq) {
                k.hash = rec.hash;
                k.has_state = rec.state != NULL;
                if (k.has_state)
                    k.state_hash = XXH3_64bits(rec.state, rec.state_len);
                k.bad = false;
            }
            stk_payload_close(&p);
        }
        free(data);
        if (r->n_stored % 64 == 0) {
            stored_kf_t *s = realloc(r->stored, (r->n_stored + 64) * sizeof(*s));
            if (s == NULL) {
                rc = STK_ENOMEM;
                break;
            }
            r->stored = s;
        }
        r->stored[r->n_stored++] = k;
        if (seq == 0)
            break;
        at = seq - 1;
    }
    /* Loaded newest first: put them in tick order. */
    for (size_t i = 0; i < r->n_stored / 2; i++) {
        stored_kf_t t = r->stored[i];
        r->stored[i] = r->stored[r->n_stored - 1 - i];
        r->stored[r->n_stored - 1 - i] = t;
    }
    r->i_stored = 0;
    return rc;
}

int stk_replay_keyframes_store(const stk_replay_t *r, stk_log_t *log, size_t *stored)
{
    if (r == NULL || log == NULL)
        return STK_EINVAL;
    if (stored != NULL)
        *stored = 0;
    if (r->g == NULL || r->resumed)
        return STK_ESTATE;
    if (r->diverged)
        return STK_EHASH;
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(&r->sum.session, &kfs);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint8_t *state = NULL;
    size_t cap = 0;
    int rc = 0;
    size_t j = 0;
    for (size_t i = 1; i < r->n_kf; i++) {
        const keyframe_t *k = &r->kf[i];
        while (j < r->n_stored && r->stored[j].tick < k->tick)
            j++;
        if (j < r->n_stored && r->stored[j].tick == k->tick && !r->stored[j].bad &&
            r->stored[j].has_state && r->stored[j].hash == k->hash &&
            r->stored[j].state_hash == k->hash)
            continue;
        size_t len = 0;
        rc = stk_game_snapshot(k->g, NULL, 0, &len);
        if (rc != 0 && rc != STK_ETOOBIG)
            break;
        if (len > cap) {
            uint8_t *b = realloc(state, len);
            if (b == NULL) {
                rc = STK_ENOMEM;
                break;
            }
            state = b;
            cap = len;
        }
        rc = stk_game_snapshot(k->g, state, cap, &len);
        if (rc != 0)
            break;
        /* "hash" stays the last key (tools and tests locate it there). */
        msgpack_sbuffer_clear(&sb);
        int bad = msgpack_pack_map(&pk, 7) != 0 ||
                  stk_payload_put_uint(&pk, "v", STK_REPLAY_KF_FORMAT) != 0 ||
                  stk_payload_put_uint(&pk, "tick", k->tick) != 0 ||
                  stk_payload_put_uint(&pk, "seq", k->seq) != 0 ||
                  stk_payload_put_uint(&pk, "version", k->version) != 0 ||
                  stk_payload_put_array(&pk, "pend", k->n_pend) != 0;
        for (size_t q = 0; !bad && q < k->n_pend; q++)
            bad = msgpack_pack_array(&pk, 3) != 0 ||
                  msgpack_pack_uint64(&pk, k->pend[q].type) != 0 ||
                  msgpack_pack_uint64(&pk, k->pend[q].tick) != 0 ||
                  msgpack_pack_uint64(&pk, k->pend[q].wave) != 0;
        if (bad || stk_payload_put_bin(&pk, "state", state, len) != 0 ||
            stk_payload_put_uint(&pk, "hash", k->hash) != 0) {
            rc = STK_ENOMEM;
            break;
        }
        rc = stk_log_snapshot_put(log, &kfs, k->tick, (const uint8_t *)sb.data, sb.size);
        if (rc != 0)
            break;
        if (stored != NULL)
            (*stored)++;
    }
    free(state);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---- seeking through the store ------------------------------------------------------ */

/* Feed only the first event of the stream (SessionOpened), then stop the read. */
static int first_feed_cb(void *ud, const stk_envelope_t *e)
{
    int rc = stk_replay_feed(ud, e);
    if (rc == STK_EHASH)
        rc = 0;
    return rc != 0 ? rc : 1;
}

/* Try the stored record at snapshot key seq: decode, check its position, restore it into a
 * copy of the game as created and compare the restored state's hash with the record's.
 * Returns 0 and *out (the restored game) with *rec filled (rec->state cleared: it pointed
 * into the freed payload), or non-zero if the record is unusable. */
static int kf_try(stk_replay_t *r, uint64_t seq, const uint8_t *data, size_t len, kf_record_t *rec,
                  stk_game_t **out)
{
    stk_payload_t p;
    if (kf_decode(&p, data, len, rec) != 0)
        return STK_ECORRUPT;
    int rc = STK_ECORRUPT;
    stk_game_t *g = NULL;
    if (rec->state == NULL || rec->tick != seq || rec->tick > r->opts.until_tick ||
        rec->version < r->kf[0].version || rec->seq < r->kf[0].seq)
        goto done;
    rc = stk_game_clone(r->kf[0].g, &g);
    if (rc != 0)
        goto done;
    rc = stk_game_restore(g, rec->state, rec->state_len);
    if (rc == 0 && (stk_game_hash(g) != rec->hash || stk_game_tick(g) != rec->tick))
        rc = STK_EHASH;
done:
    rec->state = NULL;
    rec->state_len = 0;
    stk_payload_close(&p);
    if (rc != 0) {
        stk_game_destroy(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Make the restored game the replay's starting point. */
static int resume_at(stk_replay_t *r, stk_game_t *g, const kf_record_t *rec)
{
    stk_game_t *base = NULL, *good = NULL;
    if (stk_game_clone(g, &base) != 0 || stk_game_clone(g, &good) != 0) {
        stk_game_destroy(base);
        stk_game_destroy(good);
        stk_game_destroy(g);
        return STK_ENOMEM;
    }
    stk_game_destroy(r->g);
    r->g = g;
    stk_game_destroy(r->kf[0].g);
    r->kf[0] = (keyframe_t){.tick = rec->tick,
                            .input_idx = 0,
                            .seq = rec->seq,
                            .version = rec->version,
                            .hash = rec->hash,
                            .g = base};
    r->n_kf = 1;
    stk_game_destroy(r->good);
    r->good = good;
    r->good_seq = rec->seq;
    r->good_tick = rec->tick;
    memcpy(r->pend, rec->pend, rec->n_pend * sizeof(pending_t));
    r->n_pend = rec->n_pend;
    r->fed_version = rec->version;
    r->sum.last_seq = rec->seq;
    r->sum.last_version = rec->version;
    r->sum.last_tick = rec->tick;
    r->sum.resumed_tick = rec->tick;
    r->resumed = true;
    /* the timeline goes on from the restored state: no notes for what came before */
    r->waves_seen = stk_game_wave(g);
    r->leaks_seen = stk_game_leaks(g);
    for (size_t i = 0; i < stk_game_player_count(g) && i < STK_GAME_MAX_PLAYERS; i++) {
        stk_game_player_info_t pi;
        if (stk_game_player(g, i, &pi) == 0)
            r->kills_seen[i] = pi.kills;
    }
    return 0;
}

int stk_replay_run_log_seek(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session)
{
    if (r == NULL || log == NULL || session == NULL)
        return STK_EINVAL;
    if (r->opts.until_tick == STK_REPLAY_UNTIL_END || r->g != NULL || r->err != 0)
        return STK_ESTATE;
    int rc = stk_log_read_stream(log, session, 1, 1, first_feed_cb, r);
    if (rc < 0)
        return rc;
    if (r->g == NULL)
        return r->err != 0 ? r->err : STK_ENOTFOUND;
    if (r->diverged) /* SessionOpened itself is suspect: take no shortcut */
        return run_log_from(r, log, session);
    stk_uuid_t kfs;
    stk_replay_keyframe_stream(session, &kfs);
    uint64_t at = r->opts.until_tick;
    for (unsigned tries = 0; tries < STORED_KF_TRIES; tries++) {
        uint64_t seq = 0;
        uint8_t *data = NULL;
        size_t len = 0;
        rc = stk_log_snapshot_get(log, &kfs, at, &seq, &data, &len);
        if (rc == STK_ENOTFOUND)
            break;
        if (rc != 0)
            return rc;
        kf_record_t rec;
        stk_game_t *g = NULL;
        int trc = seq == 0 ? STK_ECORRUPT : kf_try(r, seq, data, len, &rec, &g);
        free(data);
        if (trc == STK_ENOMEM)
            return trc;
        if (trc == 0) {
            rc = resume_at(r, g, &rec);
            if (rc != 0)
                return rc;
            break;
        }
        r->sum.keyframes_rejected++;
        if (seq == 0)
            break;
        at = seq - 1;
    }
    return run_log_from(r, log, session);
}
