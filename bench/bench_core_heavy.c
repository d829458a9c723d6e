/* bench/bench_core_heavy.c — the heavy session of bench_core (see bench_core.h): map and
 * balance for the benchmark, 4 players, 100 legally placed towers, and the wave feeder.
 * Everything goes through the public core API (stk_game_apply for every input), so the
 * session is one that a real log could hold.
 */
#include "bench/bench_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/path.h"

/* Tribe bonuses per player (damage, attack speed, range; sum 5000), as `stockade simulate`. */
static const uint32_t bonuses[STK_GAME_MAX_PLAYERS][3] = {
    {3000, 1500, 500}, {1000, 1000, 3000}, {1700, 1700, 1600}, {500, 3000, 1500}};

int stk_bench_core_map_load(const char *path, stk_map_doc_t **out)
{
    stk_map_doc_t *doc = malloc(sizeof(*doc));
    stk_payload_error_t err;
    int rc;

    if (doc == NULL)
        return STK_ENOMEM;
    rc = stk_map_json_load(path, doc, &err);
    if (rc != 0) {
        fprintf(stderr, "bench_core: %s: %s %s %s\n", path, stk_strerror(rc), err.path, err.reason);
        free(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

static void player_id(uint8_t id[STK_GAME_ID_LEN], size_t i, uint8_t tag)
{
    memset(id, 0, STK_GAME_ID_LEN);
    id[0] = tag;
    id[1] = (uint8_t)(i + 1);
}

/* The benchmark waves: each one grunts, runners, brutes and flyers, one every 2 ticks. */
static void bench_waves(stk_map_t *m)
{
    static const uint32_t mix[4][2] = {
        {STK_ENEMY_GRUNT, 12}, {STK_ENEMY_RUNNER, 6}, {STK_ENEMY_BRUTE, 6}, {STK_ENEMY_FLYER, 6}};
    _Static_assert(12 + 6 + 6 + 6 == STK_BENCH_CORE_WAVE_SIZE, "wave mix");
    m->n_waves = STK_BENCH_CORE_WAVES;
    for (uint32_t w = 0; w < STK_BENCH_CORE_WAVES; w++) {
        stk_map_wave_t *wave = &m->waves[w];
        memset(wave, 0, sizeof(*wave));
        wave->number = w + 1;
        wave->n_groups = 4;
        for (int k = 0; k < 4; k++) {
            wave->groups[k].type = mix[k][0];
            wave->groups[k].count = mix[k][1];
            wave->groups[k].interval_ms = 100;
        }
    }
}

/* Default tables, but tough enemies that cost no lives, rich players, waves only on call. */
static void bench_balance(stk_balance_t *b)
{
    stk_balance_default(b);
    for (int k = 0; k < STK_ENEMY_KINDS; k++) {
        b->enemy[k].health *= STK_BENCH_CORE_HEALTH_MUL;
        b->enemy[k].lives = 0;
    }
    b->start_gold = 100000;
    b->first_wave_ms = 0;
    b->wave_countdown_ms = 3600000; /* the maximum: the feeder calls every wave */
}

static int apply(stk_game_t *g, const stk_game_input_t *in, const char *what)
{
    stk_reject_t why = STK_REJECT_NONE;
    int rc = stk_game_apply(g, in, &why);
    if (rc != 0)
        fprintf(stderr, "bench_core: %s refused: %s\n", what,
                rc == STK_EPERM ? stk_reject_name(why) : stk_strerror(rc));
    return rc;
}

static int lobby(stk_game_t *g)
{
    stk_game_input_t in;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < STK_GAME_MAX_PLAYERS; i++) {
        memset(&in, 0, sizeof(in));
        in.kind = STK_INPUT_JOIN;
        player_id(in.player, i, 0xB0);
        player_id(in.tribe, i, 0x7B);
        in.damage_bp = bonuses[i][0];
        in.attack_speed_bp = bonuses[i][1];
        in.range_bp = bonuses[i][2];
        in.color = 0x336699u * (uint32_t)(i + 1) & 0xFFFFFFu;
        rc = apply(g, &in, "join");
    }
    for (size_t i = 0; rc == 0 && i < STK_GAME_MAX_PLAYERS; i++) {
        memset(&in, 0, sizeof(in));
        in.kind = STK_INPUT_READY;
        player_id(in.player, i, 0xB0);
        in.ready = true;
        rc = apply(g, &in, "ready");
    }
    if (rc == 0) {
        memset(&in, 0, sizeof(in));
        in.kind = STK_INPUT_START;
        player_id(in.player, 0, 0xB0);
        rc = apply(g, &in, "start");
    }
    return rc;
}

/* Tiles next to the walkers' path (8-neighbourhood, not on the path, buildable terrain),
 * in path order from the spawn: cand[0..*n). path_len gets the path's length. */
static int path_candidates(const stk_map_t *m, stk_point_t *cand, size_t cap, size_t *n,
                           size_t *path_len)
{
    stk_path_t *p = NULL;
    uint8_t *mark = calloc((size_t)m->width * m->height, 1); /* 1 path, 2 candidate */
    stk_point_t *path = malloc(sizeof(*path) * (size_t)m->width * m->height);
    size_t len = 0;
    uint32_t x = m->spawn.x, y = m->spawn.y;
    int rc = STK_ENOMEM;

    *n = 0;
    if (mark == NULL || path == NULL)
        goto fail;
    if ((rc = stk_path_create(m->width, m->height, &p)) != 0)
        goto fail;
    if ((rc = stk_path_compute(p, m, NULL)) != 0)
        goto fail;
    for (;;) {
        uint32_t nx, ny;
        path[len++] = (stk_point_t){x, y};
        mark[y * m->width + x] = 1;
        if (x == m->goal.x && y == m->goal.y)
            break;
        if ((rc = stk_path_next(p, x, y, &nx, &ny)) != 0 || len >= (size_t)m->width * m->height)
            goto fail;
        x = nx;
        y = ny;
    }
    for (size_t i = 0; i < len; i++) {
        for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
                uint32_t cx = path[i].x + (uint32_t)dx, cy = path[i].y + (uint32_t)dy;
                if (!stk_map_buildable(m, cx, cy) || mark[cy * m->width + cx] != 0)
                    continue;
                mark[cy * m->width + cx] = 2;
                if (*n < cap)
                    cand[(*n)++] = (stk_point_t){cx, cy};
            }
        }
    }
    *path_len = len;
    rc = 0;
fail:
    stk_path_destroy(p);
    free(path);
    free(mark);
    return rc;
}

/* 100 towers spread evenly over the candidates (a refused tile: try the next one); kinds
 * and owners round-robin; every third tower upgraded once, every third twice. */
static int place_towers(stk_game_t *g, stk_bench_core_heavy_info_t *info)
{
    const stk_map_t *m = stk_game_map(g);
    size_t cap = (size_t)m->width * m->height, n = 0;
    stk_point_t *cand = malloc(sizeof(*cand) * cap);
    uint8_t *used = calloc(cap, 1);
    int rc = STK_ENOMEM;

    if (cand == NULL || used == NULL)
        goto done;
    if ((rc = path_candidates(m, cand, cap, &n, &info->path_len)) != 0)
        goto done;
    info->candidates = n;
    rc = STK_ERANGE;
    if (n < STK_BENCH_CORE_TOWERS) {
        fprintf(stderr, "bench_core: only %zu buildable tiles next to the path\n", n);
        goto done;
    }
    for (size_t k = 0; k < STK_BENCH_CORE_TOWERS; k++) {
        size_t start = k * n / STK_BENCH_CORE_TOWERS, i;
        stk_game_input_t in;
        stk_reject_t why;
        stk_game_tower_info_t t;
        for (i = start; i < start + n; i++) {
            size_t c = i % n;
            if (used[c])
                continue;
            memset(&in, 0, sizeof(in));
            in.kind = STK_INPUT_PLACE;
            player_id(in.player, k % STK_GAME_MAX_PLAYERS, 0xB0);
            in.x = cand[c].x;
            in.y = cand[c].y;
            in.tower = (int32_t)(k % STK_TOWER_KINDS);
            used[c] = 1;
            if (stk_game_apply(g, &in, &why) == 0)
                break;
            info->refused++;
        }
        if (i == start + n) {
            fprintf(stderr, "bench_core: no legal tile left for tower %zu\n", k);
            goto done;
        }
        if ((rc = stk_game_tower(g, stk_game_tower_count(g) - 1, &t)) != 0)
            goto done;
        in.kind = STK_INPUT_UPGRADE;
        in.tower_id = t.id;
        for (size_t up = 0; up < k % 3; up++)
            if ((rc = apply(g, &in, "upgrade")) != 0)
                goto done;
        info->towers++;
        info->levels[k % 3]++;
        info->kinds[k % STK_TOWER_KINDS]++;
    }
    rc = 0;
done:
    free(used);
    free(cand);
    return rc;
}

int stk_bench_core_heavy_feed(stk_game_t *g)
{
    stk_game_input_t in;
    stk_reject_t why;

    if (stk_game_wave(g) + 1 >= stk_game_wave_count(g))
        return STK_ERANGE;
    if (stk_game_wave_spawning(g) ||
        stk_game_enemy_count(g) >= STK_BENCH_CORE_ENEMIES - STK_BENCH_CORE_WAVE_SIZE / 2)
        return 0;
    memset(&in, 0, sizeof(in));
    in.kind = STK_INPUT_CALL_WAVE;
    player_id(in.player, 0, 0xB0);
    return stk_game_apply(g, &in, &why) == 0 ? 1 : 0;
}

int stk_bench_core_heavy_create(const stk_map_t *base, uint64_t warmup, stk_game_t **out,
                                stk_bench_core_heavy_info_t *info)
{
    stk_game_setup_t setup;
    stk_map_t *m = malloc(sizeof(*m));
    stk_game_t *g = NULL;
    int rc = STK_ENOMEM;

    memset(info, 0, sizeof(*info));
    memset(&setup, 0, sizeof(setup));
    if (m == NULL)
        goto fail;
    memcpy(m, base, sizeof(*m));
    bench_waves(m);
    setup.map = m;
    setup.seed = 20261125;
    setup.tick_rate = 20;
    setup.ruleset = STK_RULESET_VERSION;
    bench_balance(&setup.balance);
    if ((rc = stk_game_create(&setup, &g)) != 0) {
        fprintf(stderr, "bench_core: heavy session: stk_game_create: %s\n", stk_strerror(rc));
        goto fail;
    }
    if ((rc = lobby(g)) != 0 || (rc = place_towers(g, info)) != 0)
        goto fail;
    for (uint64_t t = 0; t < warmup; t++) {
        if ((rc = stk_bench_core_heavy_feed(g)) < 0) {
            fprintf(stderr, "bench_core: waves used up during warm-up (%llu ticks)\n",
                    (unsigned long long)t);
            goto fail;
        }
        stk_game_step(g, NULL);
    }
    rc = STK_ESTATE;
    if (stk_game_state(g) != STK_GAME_IN_PROGRESS) {
        fprintf(stderr, "bench_core: heavy session ended during warm-up\n");
        goto fail;
    }
    info->warmup_ticks = warmup;
    info->enemies_at_warm = stk_game_enemy_count(g);
    free(m);
    *out = g;
    return 0;
fail:
    stk_game_destroy(g);
    free(m);
    return rc;
}
