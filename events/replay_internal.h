/* events/replay_internal.h — private declarations shared by the replay sources.
 *
 * This is NOT a public header: only events/replay.c (the engine: create, feed, finish,
 * sources, seek), events/replay_report.c (state and report output) and
 * events/replay_keyframes.c (stored keyframe records and seeking through the store)
 * include it. It holds the body of stk_replay_t and the few helpers the files share;
 * callers outside events/replay*.c use events/replay.h only.
 */
#ifndef STK_EVENTS_REPLAY_INTERNAL_H
#define STK_EVENTS_REPLAY_INTERNAL_H

#include "events/replay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Name of an event type id for messages ("none" if unknown). Static storage, any thread. */
const char *stk_replay_event_name(uint16_t type);

/* Feed r the stream of session from the version after the last one fed (from 1 if none
 * was), then stk_replay_finish(). Returns 0, STK_ENOTFOUND when the stream holds nothing,
 * or the read's or the replay's error. The replay's thread only. */
int stk_replay_run_log_from(stk_replay_t *r, stk_log_t *log, const stk_uuid_t *session);

#endif /* STK_EVENTS_REPLAY_INTERNAL_H */
