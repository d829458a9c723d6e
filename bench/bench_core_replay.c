/* bench/bench_core_replay.c — bench_core's recorded game and its timed replay (see
 * bench_core.h).
 *
 * The recorder is `stockade simulate` without the user, tribe and map events (a replay
 * reads only the session stream): the same bots (tools/bots.c, compiled into bench_core),
 * the same lobby (join with the simulate bonuses, ready, start) and the same loop (every
 * bot's turn, wait for the commits, step), through the session host and the group-commit
 * writer, into a log opened no-sync (durability is not what the replay figure measures;
 * the recording is not timed). The replay side is `stockade replay SESSION --quiet` without
 * keyframe storing: stk_replay_run_log() with default options (in-memory keyframes every
 * 1200 ticks) over the log opened read-only.
 */
#include "bench/bench_core.h"
#include "bench/bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "events/log.h"
#include "events/replay.h"
#include "events/session.h"
#include "events/types.h"
#include "events/writer.h"
#include "tools/bots.h"

#define REC_MAX_TICKS (20ull * 3600 * 4) /* as simulate: 4 hours of game time, then abandon */
#define REC_MAP_SIZE  (1ull << 30)       /* a whole game is well under 1 MiB of log */

static const uint32_t bonuses[STK_GAME_MAX_PLAYERS][3] = {
    {3000, 1500, 500}, {1000, 1000, 3000}, {1700, 1700, 1600}, {500, 3000, 1500}};

typedef struct rec {
    stk_session_t *session;
    stk_bots_t *bots;
    size_t players;
    uint8_t ids[STK_GAME_MAX_PLAYERS][STK_GAME_ID_LEN];
} rec_t;

/* Submit one input; a refusal (some bot inputs are invalid on purpose) is not an error. */
static int submit(rec_t *s, const stk_game_input_t *in)
{
    int rc = stk_session_submit(s->session, in, NULL, NULL, NULL);
    return rc == STK_EPERM ? 0 : rc;
}

static stk_game_input_t input_for(const rec_t *s, size_t i, int kind)
{
    stk_game_input_t in;
    memset(&in, 0, sizeof(in));
    in.kind = kind;
    memcpy(in.player, s->ids[i], STK_GAME_ID_LEN);
    return in;
}

static int lobby(rec_t *s)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->players; i++) {
        stk_game_input_t in = input_for(s, i, STK_INPUT_JOIN);
        in.tribe[0] = 0x7B;
        in.tribe[1] = (uint8_t)(i + 1);
        in.damage_bp = bonuses[i][0];
        in.attack_speed_bp = bonuses[i][1];
        in.range_bp = bonuses[i][2];
        in.color = 0x336699u * (uint32_t)(i + 1) & 0xFFFFFFu;
        rc = submit(s, &in);
    }
    for (size_t i = 0; rc == 0 && i < s->players; i++) {
        stk_game_input_t in = input_for(s, i, STK_INPUT_READY);
        in.ready = true;
        rc = submit(s, &in);
    }
    if (rc == 0) {
        stk_game_input_t in = input_for(s, 0, STK_INPUT_START);
        rc = submit(s, &in);
    }
    stk_session_wait(s->session);
    return rc != 0 ? rc : stk_session_error(s->session);
}

static int play(rec_t *s)
{
    for (;;) {
        const stk_game_t *g = stk_session_game(s->session);
        stk_game_state_t st = stk_game_state(g);
        int rc;
        if (st == STK_GAME_COMPLETED || st == STK_GAME_ABANDONED)
            return 0;
        if (stk_game_tick(g) >= REC_MAX_TICKS) {
            stk_game_input_t in = input_for(s, 0, STK_INPUT_ABANDON);
            rc = submit(s, &in);
            stk_session_wait(s->session);
            if (rc != 0)
                return rc;
            continue;
        }
        for (size_t i = 0; i < s->players; i++) {
            stk_game_input_t ins[STK_BOTS_MAX_INPUTS];
            size_t n = stk_bots_turn(s->bots, i, g, ins, STK_BOTS_MAX_INPUTS);
            for (size_t k = 0; k < n; k++)
                if ((rc = submit(s, &ins[k])) != 0)
                    return rc;
        }
        stk_session_wait(s->session);
        if ((rc = stk_session_step(s->session, NULL)) != 0)
            return rc;
    }
}

int stk_bench_core_record(const stk_map_doc_t *doc, const char *dir, uint64_t seed, size_t players,
                          stk_bench_core_recording_t *rec)
{
    stk_log_opts_t lo = {.map_size = REC_MAP_SIZE, .nosync = 1};
    stk_log_t *log = NULL;
    stk_writer_t *w = NULL;
    msgpack_sbuffer mp;
    stk_session_open_args_t args;
    rec_t s;
    int rc;

    memset(rec, 0, sizeof(*rec));
    memset(&s, 0, sizeof(s));
    memset(&args, 0, sizeof(args));
    msgpack_sbuffer_init(&mp);
    s.players = players;
    for (size_t i = 0; i < players; i++) {
        s.ids[i][0] = 0xB0;
        s.ids[i][1] = (uint8_t)(i + 1);
        s.ids[i][2] = (uint8_t)seed;
    }
    if ((rc = stk_log_open(&log, dir, &lo)) != 0)
        goto fail;
    if ((rc = stk_writer_start(&w, log, NULL)) != 0)
        goto fail;
    memcpy(args.opener.b, s.ids[0], STK_UUID_LEN);
    if ((rc = stk_map_json_to_payload(doc, STK_EV_MAP_DRAWN, &args.opener, &mp)) != 0)
        goto fail;
    stk_uuid_random(&args.id);
    stk_uuid_random(&args.map_id);
    args.seed = seed;
    args.map_payload = (const uint8_t *)mp.data;
    args.map_len = mp.size;
    if ((rc = stk_session_open(&s.session, w, &args, NULL)) != 0)
        goto fail;
    stk_session_wait(s.session);
    if ((rc = stk_session_error(s.session)) != 0)
        goto fail;
    rc = stk_bots_create(&s.bots, (const uint8_t(*)[STK_GAME_ID_LEN])s.ids, players, &doc->map,
                         seed);
    rc = rc ? rc : lobby(&s);
    rc = rc ? rc : play(&s);
    if (rc == 0) {
        stk_session_wait(s.session);
        rc = stk_session_error(s.session);
    }
    if (rc != 0)
        goto fail;
    {
        const stk_game_t *g = stk_session_game(s.session);
        rec->session = *stk_session_id(s.session);
        rec->ticks = stk_game_tick(g);
        rec->events = stk_session_events_submitted(s.session);
        rec->waves = stk_game_waves_cleared(g);
        rec->n_waves = stk_game_wave_count(g);
        rec->result = stk_game_result(g);
        rec->hash = stk_game_hash(g);
    }
    goto done;
fail:
    fprintf(stderr, "bench_core: recording the game failed: %s\n", stk_strerror(rc));
done:
    stk_bots_destroy(s.bots);
    stk_session_close(s.session);
    stk_writer_free(w);
    stk_log_close(log);
    msgpack_sbuffer_destroy(&mp);
    return rc;
}

uint64_t stk_bench_core_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int stk_bench_core_replay(const char *dir, const stk_uuid_t *session, uint64_t *wall_ns,
                          uint64_t *cpu_ns, uint64_t *ticks)
{
    stk_log_opts_t lo = {.map_size = REC_MAP_SIZE, .read_only = 1};
    stk_log_t *log = NULL;
    stk_replay_t *r = NULL;
    stk_replay_summary_t sum;
    uint64_t t0, c0;
    int rc;

    if ((rc = stk_log_open(&log, dir, &lo)) != 0)
        goto done;
    t0 = stk_bench_now_ns();
    c0 = stk_bench_core_cpu_ns();
    if ((rc = stk_replay_create(NULL, &r)) != 0)
        goto done;
    rc = stk_replay_run_log(r, log, session);
    stk_replay_summary(r, &sum);
    stk_replay_destroy(r);
    r = NULL;
    *wall_ns = stk_bench_now_ns() - t0;
    *cpu_ns = stk_bench_core_cpu_ns() - c0;
    *ticks = sum.tick;
    if (rc == 0 && !sum.all_ok)
        rc = STK_EHASH;
    if (rc == 0 && sum.outcomes_ok + sum.tick_marks_ok == 0)
        rc = STK_ESTATE; /* nothing was checked: not the recorded game */
done:
    if (rc != 0)
        fprintf(stderr, "bench_core: replay failed: %s\n", stk_strerror(rc));
    stk_replay_destroy(r);
    stk_log_close(log);
    return rc;
}
