/* bench/bench_core_main.c — bench_core: the deterministic game core (core/game.h) and replay
 * (events/replay.h) against the budgets and goals of issue 3. Prints, in this order:
 *   core_tick_heavy_p50, _p99  us        peer=budget_20hz 50000 (ratio = budget / cost)
 *   core_sessions_per_core     sessions  (no peer: the issue sets no number)
 *   core_replay_speed          x         peer=goal 10000 (ratio = ours / goal)
 *   core_memory_per_session    KiB       peer=goal 256 (ratio = ours / goal)
 *   core_hash                  us        peer=core_tick_heavy_p50 (ratio = ours / peer)
 * bench/README.md says what each one times. The heavy session is bench_core_heavy.c's.
 *
 * Knobs (environment; `--quick` or STK_BENCH_QUICK=1 lowers the defaults, values set in
 * the environment win): STK_BENCH_CORE_TICKS, STK_BENCH_CORE_WARMUP, STK_BENCH_CORE_MS,
 * STK_BENCH_CORE_CLONES, STK_BENCH_CORE_REPLAYS, STK_BENCH_CORE_SESSIONS,
 * STK_BENCH_CORE_HASHES, STK_BENCH_CORE_SEED, STK_BENCH_CORE_PLAYERS, STK_BENCH_CORE_MAP,
 * STK_BENCH_DIR. Exit status 0 when every figure was measured, 1 otherwise (the figures
 * that could not be measured print n/a).
 */
#include "bench/bench_core.h"
#include "bench/bench_util.h"

#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#ifndef STK_BENCH_SOURCE_DIR
#define STK_BENCH_SOURCE_DIR "."
#endif

#define TICK_RATE    20
#define TICK_BUDGET  (1e6 / TICK_RATE) /* us per tick at 20 Hz */
#define REPLAY_GOAL  10000.0           /* x real time (issue 3) */
#define MEMORY_GOAL  256.0             /* KiB per 100x100 mid-game session (issue 3) */
#define MAX_SAMPLES  10000000u
#define MAX_CLONES   4096u
#define DEFAULT_SEED 7 /* a fortress game the 4 bots play through all 30 waves */
#define DEFAULT_MAP  STK_BENCH_SOURCE_DIR "/maps/fortress.json"

typedef struct cfg {
    int quick;
    uint64_t ticks, warmup, ms, clones, replays, sessions, hashes, seed, players;
    const char *map;
} cfg_t;

static void config(cfg_t *c, int argc, char **argv)
{
    const char *q = getenv("STK_BENCH_QUICK");

    c->quick = q != NULL && q[0] != '\0' && strcmp(q, "0") != 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            c->quick = 1;
    c->ticks = stk_bench_env_u64("STK_BENCH_CORE_TICKS", c->quick ? 1000 : 5000, 10, MAX_SAMPLES);
    c->warmup = stk_bench_env_u64("STK_BENCH_CORE_WARMUP", c->quick ? 1500 : 3000, 0, 100000);
    c->ms = stk_bench_env_u64("STK_BENCH_CORE_MS", c->quick ? 1000 : 5000, 10, 3600000);
    c->clones = stk_bench_env_u64("STK_BENCH_CORE_CLONES", 16, 1, MAX_CLONES);
    c->replays = stk_bench_env_u64("STK_BENCH_CORE_REPLAYS", c->quick ? 1 : 5, 1, 1000);
    c->sessions = stk_bench_env_u64("STK_BENCH_CORE_SESSIONS", c->quick ? 200 : 1000, 1, 100000);
    c->hashes = stk_bench_env_u64("STK_BENCH_CORE_HASHES", c->quick ? 500 : 5000, 1, MAX_SAMPLES);
    c->seed = stk_bench_env_u64("STK_BENCH_CORE_SEED", DEFAULT_SEED, 0, UINT64_MAX);
    c->players = stk_bench_env_u64("STK_BENCH_CORE_PLAYERS", 4, 1, STK_GAME_MAX_PLAYERS);
    c->map = getenv("STK_BENCH_CORE_MAP");
    if (c->map == NULL || c->map[0] == '\0')
        c->map = DEFAULT_MAP;
}

/* Feed, refreshing *g from the template once its waves run out (not timed by callers). */
static int feed(stk_game_t **g, const stk_game_t *tmpl, uint64_t *refreshes)
{
    if (stk_bench_core_heavy_feed(*g) >= 0)
        return 0;
    stk_game_t *fresh = NULL;
    int rc = stk_game_clone(tmpl, &fresh);
    if (rc != 0)
        return rc;
    stk_game_destroy(*g);
    *g = fresh;
    (*refreshes)++;
    return stk_bench_core_heavy_feed(*g) >= 0 ? 0 : STK_ESTATE;
}

/* Figure 1: per-tick cost of the heavy session, every tick timed on its own. */
static int tick_heavy(const cfg_t *c, const stk_game_t *tmpl, double *p50_us)
{
    uint64_t *ns = malloc(sizeof(*ns) * c->ticks);
    stk_game_t *g = NULL;
    uint64_t refreshes = 0, emin = UINT64_MAX, emax = 0, esum = 0, kills = 0, leaks = 0;
    uint64_t sum = 0;
    int rc = STK_ENOMEM;

    *p50_us = NAN;
    if (ns == NULL || (rc = stk_game_clone(tmpl, &g)) != 0)
        goto done;
    for (uint64_t i = 0; i < c->ticks; i++) {
        stk_game_outcome_t out;
        if ((rc = feed(&g, tmpl, &refreshes)) != 0)
            goto done;
        uint64_t t0 = stk_bench_now_ns();
        stk_game_step(g, &out);
        ns[i] = stk_bench_now_ns() - t0;
        sum += ns[i];
        uint64_t e = stk_game_enemy_count(g);
        emin = e < emin ? e : emin;
        emax = e > emax ? e : emax;
        esum += e;
        kills += out.kills;
        leaks += out.leaks;
    }
    rc = STK_ESTATE;
    if (stk_game_state(g) != STK_GAME_IN_PROGRESS)
        goto done;
    rc = 0;
    double p50 = (double)stk_bench_percentile(ns, c->ticks, 50) / 1e3;
    double p99 = (double)stk_bench_percentile(ns, c->ticks, 99) / 1e3;
    double mean = (double)sum / (double)c->ticks / 1e3;
    fprintf(stderr,
            "core_tick_heavy: %" PRIu64 " ticks, %zu towers, enemies alive min/mean/max "
            "%" PRIu64 "/%.0f/%" PRIu64 ", %" PRIu64 " kills, %" PRIu64 " leaks, mean %.1f us, "
            "max %.1f us, %" PRIu64 " refreshes from the template\n",
            c->ticks, stk_game_tower_count(g), emin, (double)esum / (double)c->ticks, emax, kills,
            leaks, mean, (double)ns[c->ticks - 1] / 1e3, refreshes);
    stk_bench_print("core_tick_heavy_p50", p50, "us", 1, "budget_20hz", TICK_BUDGET,
                    TICK_BUDGET / p50);
    stk_bench_print("core_tick_heavy_p99", p99, "us", 1, "budget_20hz", TICK_BUDGET,
                    TICK_BUDGET / p99);
    *p50_us = p50;
done:
    if (rc != 0) {
        fprintf(stderr, "bench_core: core_tick_heavy failed: %s\n", stk_strerror(rc));
        stk_bench_print("core_tick_heavy_p50", NAN, "us", 1, "budget_20hz", TICK_BUDGET, -1);
        stk_bench_print("core_tick_heavy_p99", NAN, "us", 1, "budget_20hz", TICK_BUDGET, -1);
    }
    stk_game_destroy(g);
    free(ns);
    return rc;
}

/* Figure 2: N heavy sessions ticked round-robin for c->ms of wall time; sustained ticks per
 * CPU second of this thread / 20 (the wall-clock rate goes to the notes). */
static int sessions_per_core(const cfg_t *c, const stk_game_t *tmpl)
{
    stk_game_t **gs = calloc(c->clones, sizeof(*gs));
    uint64_t refreshes = 0, ticks = 0, elapsed = 0, t0, c0, cpu;
    int rc = STK_ENOMEM;

    if (gs == NULL)
        goto done;
    /* Desynchronise the clones (different spawn and firing phases), not timed. */
    for (size_t i = 0; i < c->clones; i++) {
        if ((rc = stk_game_clone(tmpl, &gs[i])) != 0)
            goto done;
        for (size_t k = 0; k < i * 13 % 200; k++) {
            if ((rc = feed(&gs[i], tmpl, &refreshes)) != 0)
                goto done;
            stk_game_step(gs[i], NULL);
        }
    }
    refreshes = 0;
    t0 = stk_bench_now_ns();
    c0 = stk_bench_core_cpu_ns();
    while (elapsed < c->ms * 1000000u) {
        for (size_t i = 0; i < c->clones; i++) {
            if ((rc = feed(&gs[i], tmpl, &refreshes)) != 0)
                goto done;
            stk_game_step(gs[i], NULL);
        }
        ticks += c->clones;
        elapsed = stk_bench_now_ns() - t0;
    }
    cpu = stk_bench_core_cpu_ns() - c0;
    double per_cpu_s = (double)ticks / ((double)cpu / 1e9);
    double per_wall_s = (double)ticks / ((double)elapsed / 1e9);
    fprintf(stderr,
            "core_sessions_per_core: %" PRIu64 " clones, %" PRIu64 " ticks in %.2f s CPU "
            "(%.2f s wall): %.0f ticks per CPU second = %.1f us per tick (wall: %.0f ticks/s, "
            "%.0f sessions); the feeder and %" PRIu64 " refreshes included\n",
            c->clones, ticks, (double)cpu / 1e9, (double)elapsed / 1e9, per_cpu_s, 1e6 / per_cpu_s,
            per_wall_s, per_wall_s / TICK_RATE, refreshes);
    stk_bench_print("core_sessions_per_core", per_cpu_s / TICK_RATE, "sessions", 1, NULL, 0, -1);
done:
    if (rc != 0) {
        fprintf(stderr, "bench_core: core_sessions_per_core failed: %s\n", stk_strerror(rc));
        stk_bench_print("core_sessions_per_core", NAN, "sessions", 1, NULL, 0, -1);
    }
    for (size_t i = 0; gs != NULL && i < c->clones; i++)
        stk_game_destroy(gs[i]);
    free(gs);
    return rc;
}

/* Figure 3: record a whole game (not timed), then replay it c->replays times. */
static int replay_speed(const cfg_t *c, const stk_map_doc_t *doc)
{
    char dir[STK_BENCH_PATH_MAX];
    stk_bench_core_recording_t rec;
    uint64_t *ns = calloc(c->replays, sizeof(*ns)), *cpu = calloc(c->replays, sizeof(*cpu));
    uint64_t ticks = 0, t0;
    int rc = STK_ENOMEM, made = 0;

    if (ns == NULL || cpu == NULL)
        goto done;
    if ((rc = stk_bench_mkdtemp(dir, sizeof(dir), "core-replay")) != 0)
        goto done;
    made = 1;
    t0 = stk_bench_now_ns();
    if ((rc = stk_bench_core_record(doc, dir, c->seed, c->players, &rec)) != 0)
        goto done;
    fprintf(
        stderr,
        "core_replay_speed: recorded seed %" PRIu64 ", %" PRIu64 " bots in %.2f s: %s, %u of "
        "%u waves cleared, %" PRIu64 " ticks, %" PRIu64 " session events, hash %016" PRIx64 "\n",
        c->seed, c->players, (double)(stk_bench_now_ns() - t0) / 1e9,
        stk_game_result_name(rec.result), rec.waves, rec.n_waves, rec.ticks, rec.events, rec.hash);
    if (rec.waves < rec.n_waves)
        fprintf(stderr,
                "core_replay_speed: WARNING: not every wave was played (%u of %u); "
                "try another STK_BENCH_CORE_SEED\n",
                rec.waves, rec.n_waves);
    for (size_t i = 0; i < c->replays; i++) {
        if ((rc = stk_bench_core_replay(dir, &rec.session, &ns[i], &cpu[i], &ticks)) != 0)
            goto done;
        if (ticks != rec.ticks) {
            fprintf(stderr, "bench_core: replay reached tick %" PRIu64 ", the game %" PRIu64 "\n",
                    ticks, rec.ticks);
            rc = STK_EHASH;
            goto done;
        }
    }
    double wall_s = (double)stk_bench_percentile(ns, c->replays, 50) / 1e9;
    double cpu_s = (double)stk_bench_percentile(cpu, c->replays, 50) / 1e9;
    double speed = (double)rec.ticks / cpu_s / TICK_RATE;
    fprintf(stderr,
            "core_replay_speed: %" PRIu64 " replays, every hash verified; median %.3f s CPU "
            "= %.0f ticks per CPU second; median %.3f s wall = %.0f ticks/s = %.0fx real time\n",
            c->replays, cpu_s, (double)rec.ticks / cpu_s, wall_s, (double)rec.ticks / wall_s,
            (double)rec.ticks / wall_s / TICK_RATE);
    stk_bench_print("core_replay_speed", speed, "x", 0, "goal", REPLAY_GOAL, speed / REPLAY_GOAL);
done:
    if (rc != 0) {
        fprintf(stderr, "bench_core: core_replay_speed failed: %s\n", stk_strerror(rc));
        stk_bench_print("core_replay_speed", NAN, "x", 0, "goal", REPLAY_GOAL, -1);
    }
    if (made)
        stk_bench_rmdir(dir);
    free(cpu);
    free(ns);
    return rc;
}

static uint64_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd; /* arena chunks in use + mmapped */
}

/* Figure 4: heap of one mid-game session: c->sessions clones of the heavy template. */
static int memory_per_session(const cfg_t *c, const stk_game_t *tmpl)
{
    stk_game_t **gs = calloc(c->sessions, sizeof(*gs));
    uint64_t anon0 = 0, anon1 = 0, h0, h1;
    size_t n = 0;
    int rc = STK_ENOMEM;

    if (gs == NULL)
        goto done;
    stk_bench_rss_kib(NULL, &anon0, NULL);
    h0 = heap_bytes();
    for (n = 0; n < c->sessions; n++)
        if ((rc = stk_game_clone(tmpl, &gs[n])) != 0)
            goto done;
    h1 = heap_bytes();
    stk_bench_rss_kib(NULL, &anon1, NULL);
    if (h1 <= h0) {
        /* A sanitizer's allocator replaces malloc and mallinfo2() sees none of it. */
        fprintf(stderr, "bench_core: mallinfo2() saw no allocation (sanitizer build?)\n");
        rc = STK_ESTATE;
        goto done;
    }
    double kib = (double)(h1 - h0) / (double)c->sessions / 1024.0;
    fprintf(stderr,
            "core_memory_per_session: %" PRIu64 " clones of the heavy mid-game session: malloc "
            "in use (mallinfo2 uordblks + hblkhd) +%.1f KiB each; RssAnon +%.1f KiB each\n",
            c->sessions, kib, (double)(anon1 - anon0) / (double)c->sessions);
    stk_bench_print("core_memory_per_session", kib, "KiB", 1, "goal", MEMORY_GOAL,
                    kib / MEMORY_GOAL);
done:
    if (rc != 0) {
        fprintf(stderr, "bench_core: core_memory_per_session failed: %s\n", stk_strerror(rc));
        stk_bench_print("core_memory_per_session", NAN, "KiB", 1, "goal", MEMORY_GOAL, -1);
    }
    for (size_t i = 0; i < n; i++)
        stk_game_destroy(gs[i]);
    free(gs);
    return rc;
}

/* Figure 5: stk_game_hash of the heavy state, each call timed on its own. */
static int hash_cost(const cfg_t *c, const stk_game_t *tmpl, double tick_p50_us)
{
    uint64_t *ns = malloc(sizeof(*ns) * c->hashes), first = stk_game_hash(tmpl);
    volatile uint64_t sink = 0;

    if (ns == NULL) {
        stk_bench_print("core_hash", NAN, "us", 2, "core_tick_heavy_p50", tick_p50_us, -1);
        return STK_ENOMEM;
    }
    for (uint64_t i = 0; i < c->hashes; i++) {
        uint64_t t0 = stk_bench_now_ns();
        sink ^= stk_game_hash(tmpl);
        ns[i] = stk_bench_now_ns() - t0;
    }
    (void)sink;
    size_t len = 0;
    stk_game_snapshot(tmpl, NULL, 0, &len);
    double us = (double)stk_bench_percentile(ns, c->hashes, 50) / 1e3;
    fprintf(stderr,
            "core_hash: %" PRIu64 " calls on %zu towers, %zu enemies (%zu canonical bytes), "
            "median %.2f us, p99 %.2f us, hash %016" PRIx64 "\n",
            c->hashes, stk_game_tower_count(tmpl), stk_game_enemy_count(tmpl), len, us,
            (double)stk_bench_percentile(ns, c->hashes, 99) / 1e3, first);
    stk_bench_print("core_hash", us, "us", 2, "core_tick_heavy_p50", tick_p50_us, us / tick_p50_us);
    free(ns);
    return 0;
}

int main(int argc, char **argv)
{
    cfg_t c;
    stk_map_doc_t *doc = NULL;
    stk_game_t *tmpl = NULL;
    stk_bench_core_heavy_info_t info;
    double tick_p50 = NAN;
    int failed = 0;
    uint64_t t0 = stk_bench_now_ns();

    config(&c, argc, argv);
    if (stk_bench_core_map_load(c.map, &doc) != 0)
        return 1;
    if (stk_bench_core_heavy_create(&doc->map, c.warmup, &tmpl, &info) == 0) {
        fprintf(stderr,
                "heavy session: %s terrain, %zu towers (levels 1/2/3: %zu/%zu/%zu; "
                "arrow/cannon/frost/tesla: %zu/%zu/%zu/%zu) on %zu of %zu tiles next to a "
                "%zu-tile path (%zu refused), %zu enemies alive after %" PRIu64 " warm-up ticks\n",
                c.map, info.towers, info.levels[0], info.levels[1], info.levels[2], info.kinds[0],
                info.kinds[1], info.kinds[2], info.kinds[3], info.towers, info.candidates,
                info.path_len, info.refused, info.enemies_at_warm, info.warmup_ticks);
        failed |= tick_heavy(&c, tmpl, &tick_p50) != 0;
        failed |= sessions_per_core(&c, tmpl) != 0;
    } else {
        failed = 1;
        stk_bench_print("core_tick_heavy_p50", NAN, "us", 1, "budget_20hz", TICK_BUDGET, -1);
        stk_bench_print("core_tick_heavy_p99", NAN, "us", 1, "budget_20hz", TICK_BUDGET, -1);
        stk_bench_print("core_sessions_per_core", NAN, "sessions", 1, NULL, 0, -1);
    }
    failed |= replay_speed(&c, doc) != 0;
    if (tmpl != NULL) {
        failed |= memory_per_session(&c, tmpl) != 0;
        failed |= hash_cost(&c, tmpl, tick_p50) != 0;
    } else {
        stk_bench_print("core_memory_per_session", NAN, "KiB", 1, "goal", MEMORY_GOAL, -1);
        stk_bench_print("core_hash", NAN, "us", 2, "core_tick_heavy_p50", NAN, -1);
    }
    stk_game_destroy(tmpl);
    free(doc);
    fprintf(stderr, "bench_core: %.1f s%s\n", (double)(stk_bench_now_ns() - t0) / 1e9,
            c.quick ? " (quick)" : "");
    return failed ? 1 : 0;
}
