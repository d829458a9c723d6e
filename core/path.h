/* core/path.h — enemy pathing: a distance field to the goal over the map's grid.
 *
 * A stk_path_t holds, for every tile of one map, the number of steps from that tile to the
 * goal (4-neighbour moves, every step costs 1), computed by a breadth-first search from the
 * goal. Enemies do not search: each one asks stk_path_next() for the neighbour one step
 * closer to the goal, so a thousand enemies cost nothing more than one field. The field is
 * recomputed only when the grid changes (a tower placed or sold): O(width * height), about
 * 10,000 tile visits on the largest map, with no allocation.
 *
 * Movement classes (one stk_path_t each; the rules engine keeps two per session):
 *   walkers  stk_path_compute(p, map, tower_blocked): water, isBlocked and towers block.
 *   flyers   stk_path_compute_flyer(p, map): only isBlocked blocks; towers and water do
 *            not. Towers never change it, so compute it once at session start.
 * Height has no effect on cost in ruleset 1 (kept simple; a weighted field would be a new
 * ruleset).
 *
 * Determinism: distances are unique; when several neighbours are one step closer,
 * stk_path_next() takes the first in the fixed order NORTH (y-1), EAST (x+1), SOUTH (y+1),
 * WEST (x-1). No randomness, no dependence on memory addresses.
 *
 * This module is NOT the placement rule set: the rules engine checks off-map, blocked
 * terrain and an existing tower with its own typed reasons, and asks
 * stk_path_would_cut() only for the "would cut every path" reason.
 *
 * Lifecycle: stk_path_create() (the only allocation) → stk_path_compute*() any number of
 * times → queries → stk_path_destroy(). Before the first compute every tile is unreachable.
 *
 * Thread: a stk_path_t is not thread-safe; it belongs to the thread that owns its session.
 * Queries (const functions) may run concurrently with each other, not with compute or
 * would_cut (which uses the path's scratch space).
 */
#ifndef STK_CORE_PATH_H
#define STK_CORE_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/map.h"

/* Distance reported for off-map, impassable and unreachable tiles. */
#define STK_PATH_UNREACHABLE UINT32_MAX

typedef struct stk_path stk_path_t;

/* Allocate a path for a width x height grid (1..STK_MAP_MAX_SIDE each): the distance field
 * and its BFS scratch (queue and a mark bitmap) in ONE allocation, about 4.1 bytes per tile
 * (~41 KiB for 100x100). Returns 0 and *out, STK_EINVAL (out NULL), STK_ERANGE (size),
 * STK_ENOMEM. The caller owns *out; free it with stk_path_destroy(). */
int stk_path_create(uint32_t width, uint32_t height, stk_path_t **out);

/* Free a path. NULL is a no-op. */
void stk_path_destroy(stk_path_t *path);

/* Recompute the WALKER field of *path for *map with the given towers.
 *
 * tower_blocked: borrowed for the call; NULL (no towers) or an array of width * height
 * bytes, row-major (index y * width + x), nonzero where a tower stands.
 * A tile is passable when it is on-map, not isBlocked, not water and has no tower. If the
 * goal itself is impassable (or off-map) every tile becomes unreachable; that is not an
 * error (validation rejects such maps; callers see it through stk_path_distance()).
 *
 * Returns 0; STK_EINVAL if path or map is NULL or map's width/height differ from the
 * path's. No allocation; O(width * height). Thread: the session's owner.
 */
int stk_path_compute(stk_path_t *path, const stk_map_t *map, const uint8_t *tower_blocked);

/* Recompute the FLYER field of *path for *map: only isBlocked tiles are impassable
 * (flyers cross water and ignore towers). Returns and errors as stk_path_compute(). */
int stk_path_compute_flyer(stk_path_t *path, const stk_map_t *map);

/* Steps from (x, y) to the goal in the last computed field: 0 at the goal,
 * STK_PATH_UNREACHABLE when off-map, impassable or cut off. Thread: any reader. */
uint32_t stk_path_distance(const stk_path_t *path, uint32_t x, uint32_t y);

/* True when stk_path_distance(path, x, y) != STK_PATH_UNREACHABLE. */
bool stk_path_reachable(const stk_path_t *path, uint32_t x, uint32_t y);

/* The next tile from (x, y) toward the goal: the first neighbour, in the order N, E, S, W,
 * whose distance is one less. At the goal, (*nx, *ny) = (x, y).
 * Returns 0 and *nx, *ny; STK_ENOTFOUND if (x, y) is off-map or unreachable (*nx, *ny
 * untouched); STK_EINVAL if an argument is NULL. Thread: any reader. */
int stk_path_next(const stk_path_t *path, uint32_t x, uint32_t y, uint32_t *nx, uint32_t *ny);

/* Would a tower on (x, y) cut walkers off the goal?
 *
 * Sets *cut = true when, with (x, y) blocked in addition to map and tower_blocked:
 *   - spawn has no path to the goal, or
 *   - any tile in occupied[0..n_occupied) (the tiles where WALKING enemies now stand; pass
 *     no flyers) that has a path now would have none — including an enemy standing on
 *     (x, y) itself, which would be walled in.
 * Otherwise *cut = false. A spawn that is already cut off reports true.
 *
 * PRECONDITION: *path holds the walker field last computed for this same map and
 * tower_blocked (the rules engine recomputes after every placement/sale, so it does). The
 * field is used for a fast answer — a tile that is unreachable now cannot cut anything —
 * and to know which occupied tiles have a path now. The field is NOT modified: after a
 * successful placement the caller recomputes with stk_path_compute().
 *
 * occupied: borrowed, may be NULL when n_occupied is 0; off-map entries are ignored.
 * Returns 0 and *cut; STK_EINVAL (NULL argument, or map size differs from the path's);
 * STK_ERANGE if (x, y) is off-map. No allocation; at most one BFS, O(width * height).
 * Thread: the session's owner (writes the path's scratch).
 */
int stk_path_would_cut(stk_path_t *path, const stk_map_t *map, const uint8_t *tower_blocked,
                       uint32_t x, uint32_t y, const stk_point_t *occupied, size_t n_occupied,
                       bool *cut);

#endif
