/* tests/core/test_path.c — distance fields, next steps, tie-breaks, would_cut, flyers.
 *
 * Besides hand-built cases, two property tests compare the module with naive references on
 * seeded random grids: distances against repeated relaxation, and would_cut against "place
 * the tower, recompute, look at the spawn".
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "core/map.h"
#include "core/path.h"

typedef struct fixture {
    stk_map_t *map;
    stk_path_t *path;
    uint8_t towers[STK_MAP_MAX_TILES];
} fixture_t;

static fixture_t *fx_new(uint32_t w, uint32_t h, stk_point_t spawn, stk_point_t goal)
{
    fixture_t *f = calloc(1, sizeof(*f));

    cr_assert_not_null(f);
    cr_assert_eq(stk_map_create(w, h, &f->map), 0);
    f->map->spawn = spawn;
    f->map->goal = goal;
    cr_assert_eq(stk_path_create(w, h, &f->path), 0);
    return f;
}

static void fx_free(fixture_t *f)
{
    stk_path_destroy(f->path);
    stk_map_destroy(f->map);
    free(f);
}

static void block(fixture_t *f, uint32_t x, uint32_t y)
{
    stk_map_tile_mut(f->map, x, y)->blocked = 1;
}

static void tower(fixture_t *f, uint32_t x, uint32_t y)
{
    f->towers[y * f->map->width + x] = 1;
}

static void compute(fixture_t *f)
{
    cr_assert_eq(stk_path_compute(f->path, f->map, f->towers), 0);
}

static bool cuts(fixture_t *f, uint32_t x, uint32_t y, const stk_point_t *occ, size_t n)
{
    bool cut = false;

    cr_assert_eq(stk_path_would_cut(f->path, f->map, f->towers, x, y, occ, n, &cut), 0);
    return cut;
}

/* Follow next() from (x, y) to the goal, recording the tiles (cap entries) and checking that
 * every step is to a 4-neighbour that is one closer. Returns the number of steps. */
static uint32_t walk(const stk_path_t *p, uint32_t x, uint32_t y, stk_point_t *trail, size_t cap)
{
    uint32_t steps = 0;

    while (stk_path_distance(p, x, y) != 0) {
        uint32_t nx, ny, d = stk_path_distance(p, x, y);

        cr_assert_eq(stk_path_next(p, x, y, &nx, &ny), 0, "stuck at (%u,%u)", x, y);
        cr_assert_eq((nx > x ? nx - x : x - nx) + (ny > y ? ny - y : y - ny), 1);
        cr_assert_eq(stk_path_distance(p, nx, ny), d - 1);
        if (steps < cap)
            trail[steps] = (stk_point_t){nx, ny};
        x = nx;
        y = ny;
        cr_assert_lt(++steps, STK_MAP_MAX_TILES);
    }
    return steps;
}

Test(path, straight_corridor_walks_east_to_the_goal)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 5}, (stk_point_t){19, 5});
    stk_point_t trail[32];

    for (uint32_t y = 0; y < 20; y++)
        for (uint32_t x = 0; x < 20; x++)
            if (y != 5)
                block(f, x, y);
    compute(f);
    cr_expect_eq(stk_path_distance(f->path, 0, 5), 19);
    cr_expect_eq(stk_path_distance(f->path, 19, 5), 0);
    cr_expect_eq(stk_path_distance(f->path, 0, 4), STK_PATH_UNREACHABLE);
    cr_assert_eq(walk(f->path, 0, 5, trail, 32), 19);
    for (uint32_t i = 0; i < 19; i++) {
        cr_expect_eq(trail[i].x, i + 1);
        cr_expect_eq(trail[i].y, 5);
    }
    fx_free(f);
}

Test(path, detour_goes_around_a_wall)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 10}, (stk_point_t){19, 10});
    stk_point_t trail[64];
    uint32_t steps;

    for (uint32_t y = 0; y <= 15; y++)
        block(f, 10, y);
    compute(f);
    /* 19 across, plus down to row 16 and back up: 6 each way. */
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 19 + 2 * 6);
    steps = walk(f->path, 0, 10, trail, 64);
    cr_expect_eq(steps, 31);
    for (uint32_t i = 0; i < steps; i++)
        cr_expect(!(trail[i].x == 10 && trail[i].y <= 15), "stepped into the wall");
    fx_free(f);
}

Test(path, towers_block_walkers_like_walls)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 10}, (stk_point_t){19, 10});

    for (uint32_t y = 0; y <= 15; y++)
        tower(f, 10, y);
    compute(f);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 31);
    cr_expect_eq(stk_path_distance(f->path, 10, 3), STK_PATH_UNREACHABLE);
    /* Without the tower mask the straight line is back. */
    cr_assert_eq(stk_path_compute(f->path, f->map, NULL), 0);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 19);
    fx_free(f);
}

Test(path, water_blocks_walkers_but_not_flyers)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 10}, (stk_point_t){19, 10});

    for (uint32_t y = 0; y <= 18; y++)
        stk_map_tile_mut(f->map, 10, y)->terrain = STK_TERRAIN_WATER;
    compute(f);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 19 + 2 * 9);
    cr_assert_eq(stk_path_compute_flyer(f->path, f->map), 0);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 19);
    fx_free(f);
}

Test(path, flyers_ignore_towers_but_not_blocked_tiles)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 10}, (stk_point_t){19, 10});

    for (uint32_t y = 0; y < 20; y++)
        tower(f, 10, y); /* walkers fully cut off */
    compute(f);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), STK_PATH_UNREACHABLE);
    cr_assert_eq(stk_path_compute_flyer(f->path, f->map), 0);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 19);
    block(f, 5, 10);
    cr_assert_eq(stk_path_compute_flyer(f->path, f->map), 0);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 21);
    cr_expect_eq(stk_path_distance(f->path, 5, 10), STK_PATH_UNREACHABLE);
    fx_free(f);
}

Test(path, ties_prefer_north_east_south_west)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 0}, (stk_point_t){5, 5});
    uint32_t nx, ny;
    stk_point_t trail[16];

    compute(f);
    /* From the top-left, north is off-map; east comes before south: east first, all the
     * way, then south. */
    cr_assert_eq(walk(f->path, 0, 0, trail, 16), 10);
    for (uint32_t i = 0; i < 5; i++)
        cr_expect(trail[i].x == i + 1 && trail[i].y == 0, "step %u: (%u,%u)", i, trail[i].x,
                  trail[i].y);
    for (uint32_t i = 5; i < 10; i++)
        cr_expect(trail[i].x == 5 && trail[i].y == i - 4);
    /* From below-right of the goal, north before west. */
    cr_assert_eq(stk_path_next(f->path, 9, 9, &nx, &ny), 0);
    cr_expect(nx == 9 && ny == 8);
    /* From below-left: north before east. */
    cr_assert_eq(stk_path_next(f->path, 1, 9, &nx, &ny), 0);
    cr_expect(nx == 1 && ny == 8);
    /* From above-left: east before south. */
    cr_assert_eq(stk_path_next(f->path, 1, 1, &nx, &ny), 0);
    cr_expect(nx == 2 && ny == 1);
    /* From above-right: south before west. */
    cr_assert_eq(stk_path_next(f->path, 9, 1, &nx, &ny), 0);
    cr_expect(nx == 9 && ny == 2);
    fx_free(f);
}

Test(path, same_grid_gives_the_same_walk_every_time)
{
    fixture_t *a = fx_new(40, 40, (stk_point_t){0, 0}, (stk_point_t){39, 39});
    fixture_t *b = fx_new(40, 40, (stk_point_t){0, 0}, (stk_point_t){39, 39});
    stk_point_t ta[256], tb[256];
    uint32_t na, nb;

    for (uint32_t i = 3; i < 37; i += 4) { /* some pillars to make many equal paths */
        block(a, i, i - 1);
        block(b, i, i - 1);
    }
    compute(a);
    compute(b);
    na = walk(a->path, 0, 0, ta, 256);
    nb = walk(b->path, 0, 0, tb, 256);
    cr_assert_eq(na, nb);
    cr_expect_eq(memcmp(ta, tb, na * sizeof(stk_point_t)), 0);
    compute(a); /* recomputing changes nothing */
    nb = walk(a->path, 0, 0, tb, 256);
    cr_assert_eq(na, nb);
    cr_expect_eq(memcmp(ta, tb, na * sizeof(stk_point_t)), 0);
    fx_free(a);
    fx_free(b);
}

Test(path, next_at_goal_stays_and_unreachable_is_enotfound)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 0}, (stk_point_t){10, 10});
    uint32_t nx = 77, ny = 77;

    block(f, 3, 3);
    compute(f);
    cr_assert_eq(stk_path_next(f->path, 10, 10, &nx, &ny), 0);
    cr_expect(nx == 10 && ny == 10);
    nx = ny = 77;
    cr_expect_eq(stk_path_next(f->path, 3, 3, &nx, &ny), STK_ENOTFOUND);
    cr_expect_eq(stk_path_next(f->path, 20, 0, &nx, &ny), STK_ENOTFOUND);
    cr_expect_eq(stk_path_next(f->path, UINT32_MAX, 0, &nx, &ny), STK_ENOTFOUND);
    cr_expect(nx == 77 && ny == 77, "outputs untouched on failure");
    cr_expect_eq(stk_path_next(f->path, 0, 0, NULL, &ny), STK_EINVAL);
    cr_expect_not(stk_path_reachable(f->path, 3, 3));
    cr_expect(stk_path_reachable(f->path, 0, 0));
    fx_free(f);
}

Test(path, unreachable_goal_is_detected)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 0}, (stk_point_t){10, 10});
    uint32_t nx, ny;
    bool cut = false;

    for (uint32_t y = 9; y <= 11; y++)
        for (uint32_t x = 9; x <= 11; x++)
            if (x != 10 || y != 10)
                stk_map_tile_mut(f->map, x, y)->terrain = STK_TERRAIN_WATER;
    compute(f);
    cr_expect_eq(stk_path_distance(f->path, 0, 0), STK_PATH_UNREACHABLE);
    cr_expect_eq(stk_path_distance(f->path, 10, 10), 0);
    cr_expect_eq(stk_path_next(f->path, 0, 0, &nx, &ny), STK_ENOTFOUND);
    cr_assert_eq(stk_path_would_cut(f->path, f->map, NULL, 5, 5, NULL, 0, &cut), 0);
    cr_expect(cut, "a spawn already cut off reports cut");
    fx_free(f);
}

Test(path, blocked_goal_makes_everything_unreachable)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 0}, (stk_point_t){10, 10});

    tower(f, 10, 10);
    compute(f);
    for (uint32_t y = 0; y < 20; y++)
        for (uint32_t x = 0; x < 20; x++)
            cr_expect_eq(stk_path_distance(f->path, x, y), STK_PATH_UNREACHABLE);
    fx_free(f);
}

Test(path, would_cut_detects_wall_completion)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 10}, (stk_point_t){19, 10});

    for (uint32_t y = 0; y < 19; y++)
        tower(f, 10, y);
    compute(f);
    cr_expect_eq(stk_path_distance(f->path, 0, 10), 19 + 2 * 9);
    cr_expect(cuts(f, 10, 19, NULL, 0), "closing the last gap cuts");
    cr_expect_not(cuts(f, 5, 5, NULL, 0));
    cr_expect(cuts(f, 9, 19, NULL, 0), "the gap's only approach also cuts");
    cr_expect_not(cuts(f, 8, 19, NULL, 0), "near the gap is fine");
    cr_expect(cuts(f, 19, 10, NULL, 0), "a tower on the goal cuts");
    cr_expect(cuts(f, 0, 10, NULL, 0), "a tower on the spawn cuts");
    fx_free(f);
}

Test(path, would_cut_leaves_the_field_unchanged)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 10}, (stk_point_t){19, 10});
    uint32_t before[400];

    for (uint32_t y = 0; y < 19; y++)
        tower(f, 10, y);
    compute(f);
    for (uint32_t i = 0; i < 400; i++)
        before[i] = stk_path_distance(f->path, i % 20, i / 20);
    (void)cuts(f, 10, 19, NULL, 0);
    (void)cuts(f, 3, 3, NULL, 0);
    for (uint32_t i = 0; i < 400; i++)
        cr_expect_eq(stk_path_distance(f->path, i % 20, i / 20), before[i]);
    fx_free(f);
}

Test(path, would_cut_protects_enemies_in_a_pocket)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 0}, (stk_point_t){19, 19});
    stk_point_t enemy = {5, 5};
    stk_point_t elsewhere = {15, 2};

    /* A pocket around (5,5) open only to the south. */
    tower(f, 5, 4);
    tower(f, 4, 5);
    tower(f, 6, 5);
    compute(f);
    cr_expect_not(cuts(f, 5, 6, NULL, 0), "nobody inside: closing the pocket is fine");
    cr_expect_not(cuts(f, 5, 6, &elsewhere, 1));
    cr_expect(cuts(f, 5, 6, &enemy, 1), "an enemy inside would be walled in");
    cr_expect(cuts(f, 5, 5, &enemy, 1), "a tower on an enemy's own tile");
    fx_free(f);
}

Test(path, would_cut_on_an_isolated_tile_is_free)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 0}, (stk_point_t){19, 19});
    stk_point_t stranded = {10, 10};

    /* (10,10) fenced in by rock: not part of the goal's region. */
    block(f, 10, 9);
    block(f, 9, 10);
    block(f, 11, 10);
    block(f, 10, 11);
    compute(f);
    cr_expect_not(cuts(f, 10, 10, &stranded, 1));
    fx_free(f);
}

Test(path, argument_errors)
{
    fixture_t *f = fx_new(20, 20, (stk_point_t){0, 0}, (stk_point_t){19, 19});
    stk_map_t *other = NULL;
    stk_path_t *p = NULL;
    bool cut;

    cr_expect_eq(stk_path_create(0, 20, &p), STK_ERANGE);
    cr_expect_eq(stk_path_create(20, 101, &p), STK_ERANGE);
    cr_expect_null(p);
    cr_expect_eq(stk_path_create(20, 20, NULL), STK_EINVAL);
    cr_assert_eq(stk_map_create(21, 20, &other), 0);
    cr_expect_eq(stk_path_compute(f->path, other, NULL), STK_EINVAL);
    cr_expect_eq(stk_path_compute_flyer(f->path, other), STK_EINVAL);
    cr_expect_eq(stk_path_compute(NULL, f->map, NULL), STK_EINVAL);
    cr_expect_eq(stk_path_would_cut(f->path, other, NULL, 1, 1, NULL, 0, &cut), STK_EINVAL);
    compute(f);
    cr_expect_eq(stk_path_would_cut(f->path, f->map, NULL, 20, 1, NULL, 0, &cut), STK_ERANGE);
    cr_expect_eq(stk_path_would_cut(f->path, f->map, NULL, 1, 1, NULL, 3, &cut), STK_EINVAL);
    cr_expect_eq(stk_path_would_cut(f->path, f->map, NULL, 1, 1, NULL, 0, NULL), STK_EINVAL);
    cr_expect_eq(stk_path_distance(NULL, 0, 0), STK_PATH_UNREACHABLE);
    stk_path_destroy(NULL);
    stk_map_destroy(other);
    fx_free(f);
}

Test(path, before_first_compute_nothing_is_reachable)
{
    stk_path_t *p = NULL;

    cr_assert_eq(stk_path_create(20, 20, &p), 0);
    cr_expect_eq(stk_path_distance(p, 0, 0), STK_PATH_UNREACHABLE);
    stk_path_destroy(p);
}

Test(path, largest_map_serpentine_is_walked_end_to_end)
{
    fixture_t *f = fx_new(100, 100, (stk_point_t){0, 0}, (stk_point_t){99, 99});
    uint32_t steps;
    bool cut;

    compute(f);
    cr_expect_eq(stk_path_distance(f->path, 0, 0), 198);
    /* Tower walls on odd rows 1..97, gap alternating right/left: a serpentine. */
    for (uint32_t y = 1; y < 99; y += 2)
        for (uint32_t x = 0; x < 100; x++)
            if (x != ((y / 2) % 2 == 0 ? 99u : 0u))
                tower(f, x, y);
    compute(f);
    steps = walk(f->path, 0, 0, NULL, 0);
    cr_expect_eq(steps, stk_path_distance(f->path, 0, 0));
    cr_expect_eq(steps, 99 * 49 + 99); /* rows 0..96 crossed fully, 99 steps down */
    cr_assert_eq(stk_path_would_cut(f->path, f->map, f->towers, 99, 1, NULL, 0, &cut), 0);
    cr_expect(cut);
    cr_assert_eq(stk_path_would_cut(f->path, f->map, f->towers, 50, 0, NULL, 0, &cut), 0);
    cr_expect(cut, "row 0 is part of the only path");
    cr_assert_eq(stk_path_would_cut(f->path, f->map, f->towers, 0, 99, NULL, 0, &cut), 0);
    cr_expect_not(cut, "the far end of the last row is a dead end");
    fx_free(f);
}

/* ---- properties on seeded random grids ---- */

static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

static void random_grid(fixture_t *f, uint64_t seed, uint32_t percent)
{
    uint32_t n = f->map->width * f->map->height;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = lcg(&seed) % 100;

        f->map->tiles[i].blocked = r < percent / 2;
        f->map->tiles[i].terrain = r >= percent / 2 && r < percent ? STK_TERRAIN_WATER : 0;
        f->towers[i] = lcg(&seed) % 100 < 5;
    }
    f->map->tiles[f->map->goal.y * f->map->width + f->map->goal.x] = (stk_tile_t){0, 0, 0};
    f->towers[f->map->goal.y * f->map->width + f->map->goal.x] = 0;
}

/* Naive reference: relax until nothing changes. */
static void reference(const fixture_t *f, uint32_t *dist)
{
    uint32_t w = f->map->width, h = f->map->height, n = w * h;
    bool changed = true;

    for (uint32_t i = 0; i < n; i++)
        dist[i] = STK_PATH_UNREACHABLE;
    dist[f->map->goal.y * w + f->map->goal.x] = 0;
    while (changed) {
        changed = false;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = i % w, y = i / w, best = dist[i];

            if (!stk_map_walkable(f->map, x, y) || f->towers[i])
                continue;
            if (y > 0 && dist[i - w] != STK_PATH_UNREACHABLE && dist[i - w] + 1 < best)
                best = dist[i - w] + 1;
            if (x + 1 < w && dist[i + 1] != STK_PATH_UNREACHABLE && dist[i + 1] + 1 < best)
                best = dist[i + 1] + 1;
            if (y + 1 < h && dist[i + w] != STK_PATH_UNREACHABLE && dist[i + w] + 1 < best)
                best = dist[i + w] + 1;
            if (x > 0 && dist[i - 1] != STK_PATH_UNREACHABLE && dist[i - 1] + 1 < best)
                best = dist[i - 1] + 1;
            if (best != dist[i]) {
                dist[i] = best;
                changed = true;
            }
        }
    }
}

Test(path_property, distances_match_a_naive_reference_on_random_grids)
{
    static uint32_t ref[STK_MAP_MAX_TILES];

    for (uint64_t seed = 1; seed <= 40; seed++) {
        fixture_t *f = fx_new(20 + (uint32_t)seed % 13, 20 + (uint32_t)(seed * 7) % 11,
                              (stk_point_t){0, 0}, (stk_point_t){7, 9});

        random_grid(f, seed, 35);
        compute(f);
        reference(f, ref);
        for (uint32_t i = 0; i < f->map->width * f->map->height; i++)
            cr_assert_eq(stk_path_distance(f->path, i % f->map->width, i / f->map->width), ref[i],
                         "seed %llu tile %u", (unsigned long long)seed, i);
        fx_free(f);
    }
}

Test(path_property, would_cut_matches_place_and_recompute)
{
    for (uint64_t seed = 1; seed <= 12; seed++) {
        fixture_t *f = fx_new(20, 20, (stk_point_t){1, 18}, (stk_point_t){18, 1});
        stk_path_t *after = NULL;
        uint64_t s = seed * 977;
        stk_point_t occ[3];

        random_grid(f, seed, 30);
        f->map->tiles[18 * 20 + 1] = (stk_tile_t){0, 0, 0};
        f->towers[18 * 20 + 1] = 0;
        for (int k = 0; k < 3; k++)
            occ[k] = (stk_point_t){lcg(&s) % 20, lcg(&s) % 20};
        compute(f);
        cr_assert_eq(stk_path_create(20, 20, &after), 0);
        for (uint32_t y = 0; y < 20; y++) {
            for (uint32_t x = 0; x < 20; x++) {
                bool expect = false, got;
                uint8_t was = f->towers[y * 20 + x];

                f->towers[y * 20 + x] = 1;
                cr_assert_eq(stk_path_compute(after, f->map, f->towers), 0);
                f->towers[y * 20 + x] = was;
                if (!stk_path_reachable(after, 1, 18))
                    expect = true;
                for (int k = 0; k < 3; k++)
                    if (stk_path_reachable(f->path, occ[k].x, occ[k].y) &&
                        !stk_path_reachable(after, occ[k].x, occ[k].y))
                        expect = true;
                got = cuts(f, x, y, occ, 3);
                cr_assert_eq(got, expect, "seed %llu at (%u,%u)", (unsigned long long)seed, x, y);
            }
        }
        stk_path_destroy(after);
        fx_free(f);
    }
}
