/* core/map.c — map value type: init, tile access, terrain rules and name tables.
 *
 * Validation lives in core/map_validate.c; pathing in core/path.c. Nothing here allocates
 * except stk_map_create().
 */
#include "core/map.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The map is hashed and compared bytewise by the rules engine: no padding anywhere. */
_Static_assert(sizeof(stk_tile_t) == 3, "stk_tile_t must be the 3-byte wire layout");
_Static_assert(sizeof(stk_map_enemies_t) == 12, "stk_map_enemies_t has padding");
_Static_assert(sizeof(stk_map_wave_t) == 8 + 12 * STK_MAP_MAX_GROUPS, "stk_map_wave_t padding");
_Static_assert(sizeof(stk_map_t) ==
                   4 * 7 + sizeof(stk_map_wave_t) * STK_MAP_MAX_WAVES + 3 * STK_MAP_MAX_TILES,
               "stk_map_t has padding");

static const char *const enemy_names[STK_ENEMY_TYPE_COUNT] = {"grunt", "runner", "brute", "flyer"};
static const char *const terrain_names[STK_TERRAIN_COUNT] = {"grass", "dirt", "stone", "water",
                                                             "rock"};

int stk_map_init(stk_map_t *m, uint32_t width, uint32_t height)
{
    if (m == NULL)
        return STK_EINVAL;
    if (width == 0 || height == 0 || width > STK_MAP_MAX_SIDE || height > STK_MAP_MAX_SIDE)
        return STK_ERANGE;
    memset(m, 0, sizeof(*m));
    m->width = width;
    m->height = height;
    return 0;
}

int stk_map_create(uint32_t width, uint32_t height, stk_map_t **out)
{
    stk_map_t *m;
    int rc;

    if (out == NULL)
        return STK_EINVAL;
    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return STK_ENOMEM;
    rc = stk_map_init(m, width, height);
    if (rc != 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void stk_map_destroy(stk_map_t *m)
{
    free(m);
}

bool stk_map_in_bounds(const stk_map_t *m, uint32_t x, uint32_t y)
{
    /* Bounded by capacity too, so a map holding out-of-range dimensions (awaiting
     * validation) never indexes past tiles[]. */
    return m != NULL && x < m->width && y < m->height && m->width <= STK_MAP_MAX_SIDE &&
           m->height <= STK_MAP_MAX_SIDE;
}

const stk_tile_t *stk_map_tile(const stk_map_t *m, uint32_t x, uint32_t y)
{
    if (!stk_map_in_bounds(m, x, y))
        return NULL;
    return &m->tiles[(size_t)y * m->width + x];
}

stk_tile_t *stk_map_tile_mut(stk_map_t *m, uint32_t x, uint32_t y)
{
    if (!stk_map_in_bounds(m, x, y))
        return NULL;
    return &m->tiles[(size_t)y * m->width + x];
}

bool stk_map_walkable(const stk_map_t *m, uint32_t x, uint32_t y)
{
    const stk_tile_t *t = stk_map_tile(m, x, y);

    return t != NULL && t->blocked == 0 && t->terrain < STK_TERRAIN_COUNT &&
           t->terrain != STK_TERRAIN_WATER;
}

bool stk_map_flyable(const stk_map_t *m, uint32_t x, uint32_t y)
{
    const stk_tile_t *t = stk_map_tile(m, x, y);

    return t != NULL && t->blocked == 0;
}

bool stk_map_buildable(const stk_map_t *m, uint32_t x, uint32_t y)
{
    if (!stk_map_walkable(m, x, y))
        return false;
    if (x == m->spawn.x && y == m->spawn.y)
        return false;
    if (x == m->goal.x && y == m->goal.y)
        return false;
    return true;
}

int stk_map_enemy_type_parse(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > STK_MAP_ENEMY_NAME_MAX)
        return STK_ENOTFOUND;
    for (int i = 0; i < STK_ENEMY_TYPE_COUNT; i++) {
        if (strlen(enemy_names[i]) == len && memcmp(enemy_names[i], name, len) == 0)
            return i;
    }
    return STK_ENOTFOUND;
}

const char *stk_map_enemy_type_name(uint32_t type)
{
    return type < STK_ENEMY_TYPE_COUNT ? enemy_names[type] : NULL;
}

const char *stk_map_terrain_name(uint32_t terrain)
{
    return terrain < STK_TERRAIN_COUNT ? terrain_names[terrain] : NULL;
}
