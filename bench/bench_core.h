/* bench/bench_core.h — the pieces of bench_core (the game core's benchmark) shared by its
 * files: the heavy session and the recorded game.
 *
 * Heavy session (bench_core_heavy.c): the shipped 100x100 fortress map with its terrain,
 * spawn and goal, but with benchmark waves (STK_BENCH_CORE_WAVES waves of
 * STK_BENCH_CORE_WAVE_SIZE mixed enemies) and a benchmark balance (enemies STK_BENCH_CORE_
 * HEALTH_MUL times tougher and costing no lives, so that the game neither empties nor ends;
 * plenty of gold; no automatic waves); 4 players; 100 towers of the four kinds at levels
 * 1..3, placed through stk_game_apply() (so legally) on tiles next to the walkers' path,
 * spread along its whole length; then fed with CALL_WAVE inputs so that about 300 enemies
 * are alive at every tick. It is a worst case for the tick (every tower has targets, every
 * enemy walks), not a balanced game.
 *
 * Recorded game (bench_core_replay.c): a whole game played by the scripted bots of
 * `stockade simulate` (tools/bots.c) through the session host (events/session.h) into a
 * fresh log, for the replay figure.
 *
 * It is not a benchmark framework and not a test: nothing here checks the rules.
 * Thread: everything runs on the benchmark's main thread (the recorder also runs the
 * log's writer thread inside).
 */
#ifndef STK_BENCH_CORE_H
#define STK_BENCH_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/game.h"
#include "events/envelope.h"
#include "events/map_json.h"

#define STK_BENCH_CORE_TOWERS     100 /* towers of the heavy session */
#define STK_BENCH_CORE_ENEMIES    300 /* live enemies the feeder keeps the session near */
#define STK_BENCH_CORE_WAVES      100 /* benchmark waves (the map's maximum) */
#define STK_BENCH_CORE_WAVE_SIZE  30  /* enemies per benchmark wave, all four kinds */
#define STK_BENCH_CORE_HEALTH_MUL 20  /* enemy health multiplier of the benchmark balance */

/* What the heavy session was built with (for the notes on stderr). */
typedef struct stk_bench_core_heavy_info {
    size_t towers;          /* towers placed */
    size_t levels[3];       /* ... at level 1, 2, 3 */
    size_t kinds[4];        /* ... per stk_tower_kind_t */
    size_t path_len;        /* walker path tiles, spawn to goal */
    size_t candidates;      /* buildable tiles next to the path */
    size_t refused;         /* placements refused (tried the next candidate) */
    uint64_t warmup_ticks;  /* ticks stepped before the template was taken */
    size_t enemies_at_warm; /* live enemies when the template was taken */
} stk_bench_core_heavy_info_t;

/* Load the shipped map at path (contract JSON) into a new document (free()). Returns 0,
 * or the errors of stk_map_json_load() (reported on stderr). */
int stk_bench_core_map_load(const char *path, stk_map_doc_t **out);

/* Build the heavy session on `base`'s terrain (borrowed) and step it `warmup` ticks (fed),
 * so that enemies are spread along the whole path. Returns 0 and *out (stk_game_destroy()),
 * or a core error (reported on stderr). */
int stk_bench_core_heavy_create(const stk_map_t *base, uint64_t warmup, stk_game_t **out,
                                stk_bench_core_heavy_info_t *info);

/* The feeder, called before each step of a heavy session: calls the next wave (as the
 * host) when fewer than STK_BENCH_CORE_ENEMIES - WAVE_SIZE / 2 enemies are alive and no
 * wave is spawning. Returns 1 if a wave was called, 0 if not, STK_ERANGE when the waves are
 * nearly used up (the caller starts again from a fresh clone of its template). */
int stk_bench_core_heavy_feed(stk_game_t *g);

/* The recorded game. */
typedef struct stk_bench_core_recording {
    stk_uuid_t session;
    uint64_t ticks;   /* game ticks of the whole game */
    uint64_t events;  /* session events written */
    uint32_t waves;   /* waves cleared */
    uint32_t n_waves; /* waves in the map */
    stk_game_result_t result;
    uint64_t hash; /* final state hash */
} stk_bench_core_recording_t;

/* Play one whole game on doc's map with `players` bots (1..4) seeded by `seed` through the
 * session host into a new no-sync log in `dir` (an empty directory). Returns 0 and *rec, or
 * an error (reported on stderr). */
int stk_bench_core_record(const stk_map_doc_t *doc, const char *dir, uint64_t seed, size_t players,
                          stk_bench_core_recording_t *rec);

/* Replay the recorded session from the log in `dir` (opened read-only) with default replay
 * options, as `stockade replay` does. *wall_ns and *cpu_ns receive the wall time and the
 * calling thread's CPU time of stk_replay_create + stk_replay_run_log + stk_replay_destroy
 * (the log open is not timed); *ticks the replayed ticks. Returns 0, STK_EHASH if the
 * replay diverged, or an error. */
int stk_bench_core_replay(const char *dir, const stk_uuid_t *session, uint64_t *wall_ns,
                          uint64_t *cpu_ns, uint64_t *ticks);

/* CPU time of the calling thread, ns (CLOCK_THREAD_CPUTIME_ID): what "one core" spent,
 * whatever else the machine runs. */
uint64_t stk_bench_core_cpu_ns(void);

#endif
