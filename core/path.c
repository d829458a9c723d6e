/* core/path.c — distance fields by breadth-first search from the goal (see path.h).
 *
 * Storage: one allocation holding the header, the distance field (uint16_t per tile; the
 * longest possible distance on a 100x100 grid is < 10,000, so 0xFFFF is free to mean
 * "unreachable"), the BFS ring queue (uint16_t tile indices; each tile is queued at most
 * once, so width * height entries never overflow) and a bitmap of marks (one bit per tile) used by
 * stk_path_would_cut(). Compute and would_cut touch only this storage.
 *
 * Invariants: dist[i] == DIST_NONE or dist[i] == 1 + min(dist of passable neighbours);
 * dist[goal] == 0 whenever the goal is passable.
 */
#include "core/path.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define DIST_NONE UINT16_MAX

struct stk_path {
    uint32_t width;
    uint32_t height;
    uint32_t n;      /* width * height */
    uint16_t *dist;  /* n entries */
    uint16_t *queue; /* n entries */
    uint8_t *mark;   /* bitmap, (n + 7) / 8 bytes */
};

/* Which tiles block, for one BFS. */
typedef struct passability {
    const stk_map_t *map;
    const uint8_t *towers; /* may be NULL */
    uint32_t extra;        /* one more blocked tile index, or UINT32_MAX */
    bool flying;
} passability_t;

int stk_path_create(uint32_t width, uint32_t height, stk_path_t **out)
{
    stk_path_t *p;
    size_t n;
    char *mem;

    if (out == NULL)
        return STK_EINVAL;
    *out = NULL;
    if (width == 0 || height == 0 || width > STK_MAP_MAX_SIDE || height > STK_MAP_MAX_SIDE)
        return STK_ERANGE;
    n = (size_t)width * height;
    /* Header first; the uint16_t arrays follow at an even offset, the marks last. */
    mem = calloc(1, sizeof(*p) + n * sizeof(uint16_t) * 2 + (n + 7) / 8);
    if (mem == NULL)
        return STK_ENOMEM;
    p = (stk_path_t *)(void *)mem;
    p->width = width;
    p->height = height;
    p->n = (uint32_t)n;
    p->dist = (uint16_t *)(void *)(mem + sizeof(*p));
    p->queue = p->dist + n;
    p->mark = (uint8_t *)(p->queue + n);
    memset(p->dist, 0xFF, n * sizeof(uint16_t));
    *out = p;
    return 0;
}

void stk_path_destroy(stk_path_t *path)
{
    free(path);
}

static bool mark_get(const uint8_t *mark, uint32_t i)
{
    return (mark[i >> 3] >> (i & 7)) & 1u;
}

static void mark_set(uint8_t *mark, uint32_t i)
{
    mark[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static bool passable(const passability_t *pa, uint32_t i)
{
    const stk_tile_t *t = &pa->map->tiles[i];

    if (t->blocked || i == pa->extra)
        return false;
    if (pa->flying)
        return true;
    if (t->terrain == STK_TERRAIN_WATER || t->terrain >= STK_TERRAIN_COUNT)
        return false;
    return pa->towers == NULL || pa->towers[i] == 0;
}

static bool same_size(const stk_path_t *path, const stk_map_t *map)
{
    return map->width == path->width && map->height == path->height;
}

/* BFS from the goal over passable tiles. With dist != NULL it writes distances (entries
 * must be DIST_NONE beforehand); otherwise it sets the mark bit of every reached tile
 * (entries must be 0 beforehand). The queue is path->queue either way. */
static void flood(stk_path_t *path, const passability_t *pa, uint16_t *dist, uint8_t *mark)
{
    const stk_map_t *m = pa->map;
    uint32_t w = path->width, h = path->height;
    uint16_t *q = path->queue;
    uint32_t head = 0, tail = 0;
    uint32_t goal;

    if (m->goal.x >= w || m->goal.y >= h)
        return;
    goal = m->goal.y * w + m->goal.x;
    if (!passable(pa, goal))
        return;
    if (dist != NULL)
        dist[goal] = 0;
    else
        mark_set(mark, goal);
    q[tail++] = (uint16_t)goal;

    while (head < tail) {
        uint32_t i = q[head++];
        uint32_t x = i % w, y = i / w;
        uint16_t nd = dist != NULL ? (uint16_t)(dist[i] + 1) : 0;
        uint32_t nb[4];
        int k = 0;

        if (y > 0)
            nb[k++] = i - w;
        if (x + 1 < w)
            nb[k++] = i + 1;
        if (y + 1 < h)
            nb[k++] = i + w;
        if (x > 0)
            nb[k++] = i - 1;
        for (int j = 0; j < k; j++) {
            uint32_t t = nb[j];

            if (dist != NULL) {
                if (dist[t] != DIST_NONE || !passable(pa, t))
                    continue;
                dist[t] = nd;
            } else {
                if (mark_get(mark, t) || !passable(pa, t))
                    continue;
                mark_set(mark, t);
            }
            q[tail++] = (uint16_t)t;
        }
    }
}

static int compute(stk_path_t *path, const stk_map_t *map, const uint8_t *towers, bool flying)
{
    passability_t pa = {map, towers, UINT32_MAX, flying};

    if (path == NULL || map == NULL || !same_size(path, map))
        return STK_EINVAL;
    memset(path->dist, 0xFF, (size_t)path->n * sizeof(uint16_t));
    flood(path, &pa, path->dist, NULL);
    return 0;
}

int stk_path_compute(stk_path_t *path, const stk_map_t *map, const uint8_t *tower_blocked)
{
    return compute(path, map, tower_blocked, false);
}

int stk_path_compute_flyer(stk_path_t *path, const stk_map_t *map)
{
    return compute(path, map, NULL, true);
}

uint32_t stk_path_distance(const stk_path_t *path, uint32_t x, uint32_t y)
{
    uint16_t d;

    if (path == NULL || x >= path->width || y >= path->height)
        return STK_PATH_UNREACHABLE;
    d = path->dist[y * path->width + x];
    return d == DIST_NONE ? STK_PATH_UNREACHABLE : d;
}

bool stk_path_reachable(const stk_path_t *path, uint32_t x, uint32_t y)
{
    return stk_path_distance(path, x, y) != STK_PATH_UNREACHABLE;
}

int stk_path_next(const stk_path_t *path, uint32_t x, uint32_t y, uint32_t *nx, uint32_t *ny)
{
    /* The fixed tie-break order: NORTH, EAST, SOUTH, WEST. */
    static const int dx[4] = {0, 1, 0, -1};
    static const int dy[4] = {-1, 0, 1, 0};
    uint32_t d;

    if (path == NULL || nx == NULL || ny == NULL)
        return STK_EINVAL;
    d = stk_path_distance(path, x, y);
    if (d == STK_PATH_UNREACHABLE)
        return STK_ENOTFOUND;
    if (d == 0) {
        *nx = x;
        *ny = y;
        return 0;
    }
    for (int k = 0; k < 4; k++) {
        uint32_t cx = x + (uint32_t)dx[k], cy = y + (uint32_t)dy[k]; /* wraps past 0 */

        if (stk_path_distance(path, cx, cy) == d - 1) {
            *nx = cx;
            *ny = cy;
            return 0;
        }
    }
    /* Unreachable by the field's invariant: a tile at distance d > 0 has a neighbour at
     * d - 1. Report it rather than assert: the field is ours, but be safe. */
    return STK_ENOTFOUND;
}

int stk_path_would_cut(stk_path_t *path, const stk_map_t *map, const uint8_t *tower_blocked,
                       uint32_t x, uint32_t y, const stk_point_t *occupied, size_t n_occupied,
                       bool *cut)
{
    passability_t pa;
    uint32_t w, spawn;

    if (path == NULL || map == NULL || cut == NULL || (occupied == NULL && n_occupied > 0) ||
        !same_size(path, map))
        return STK_EINVAL;
    if (x >= path->width || y >= path->height)
        return STK_ERANGE;
    w = path->width;

    /* A spawn that is off-map or already cut off: nothing can make it worse, but the
     * answer to "does spawn have a path after this placement" is no. */
    if (!stk_path_reachable(path, map->spawn.x, map->spawn.y)) {
        *cut = true;
        return 0;
    }
    /* Removing a tile outside the goal's component cannot change that component. */
    if (path->dist[y * w + x] == DIST_NONE) {
        *cut = false;
        return 0;
    }

    pa.map = map;
    pa.towers = tower_blocked;
    pa.extra = y * w + x;
    pa.flying = false;
    memset(path->mark, 0, (path->n + 7) / 8);
    flood(path, &pa, NULL, path->mark);

    spawn = map->spawn.y * w + map->spawn.x;
    if (!mark_get(path->mark, spawn)) {
        *cut = true;
        return 0;
    }
    for (size_t i = 0; i < n_occupied; i++) {
        uint32_t ox = occupied[i].x, oy = occupied[i].y, o;

        if (ox >= path->width || oy >= path->height)
            continue;
        o = oy * w + ox;
        if (path->dist[o] != DIST_NONE && !mark_get(path->mark, o)) {
            *cut = true;
            return 0;
        }
    }
    *cut = false;
    return 0;
}
