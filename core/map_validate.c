/* core/map_validate.c — stk_map_validate(): every rule of the map contract, every problem
 * reported with its field path (see map.h for the codes and paths).
 *
 * It is not a parser and does not stop at the first problem: callers (the REST layer, the
 * map editor) show all of them at once. The only non-trivial check, spawn-to-goal
 * connectivity, is a flood fill on stack scratch, so validation never allocates.
 */
#include "core/map.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

typedef struct report {
    stk_map_problem_t *problems;
    size_t cap;
    size_t count;
} report_t;

static const char *const problem_names[STK_MAP_PROBLEM_COUNT] = {
#define STK_MAP_PROBLEM_NAME(name, msg) #name,
    STK_MAP_PROBLEM_MAP(STK_MAP_PROBLEM_NAME)
#undef STK_MAP_PROBLEM_NAME
};

static const char *const problem_messages[STK_MAP_PROBLEM_COUNT] = {
#define STK_MAP_PROBLEM_MSG(name, msg) msg,
    STK_MAP_PROBLEM_MAP(STK_MAP_PROBLEM_MSG)
#undef STK_MAP_PROBLEM_MSG
};

const char *stk_map_problem_name(int code)
{
    if (code < 0 || code >= STK_MAP_PROBLEM_COUNT)
        return "UNKNOWN";
    return problem_names[code];
}

/* Record one problem: the default message of its code, then ": <detail>" if given. The
 * field is formatted by the caller into a buffer of STK_MAP_FIELD_MAX. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void
add(report_t *r, int code, const char *field, const char *detail_fmt, ...)
{
    stk_map_problem_t *p;
    size_t len;
    va_list ap;

    if (r->count < r->cap) {
        p = &r->problems[r->count];
        memset(p, 0, sizeof(*p));
        p->code = code;
        snprintf(p->field, sizeof(p->field), "%s", field);
        len = (size_t)snprintf(p->message, sizeof(p->message), "%s", problem_messages[code]);
        if (detail_fmt != NULL && len + 2 < sizeof(p->message)) {
            p->message[len++] = ':';
            p->message[len++] = ' ';
            va_start(ap, detail_fmt);
            vsnprintf(p->message + len, sizeof(p->message) - len, detail_fmt, ap);
            va_end(ap);
        }
    }
    r->count++;
}

/* Walker connectivity from spawn to goal (both known on-map and walkable). */
static bool connected(const stk_map_t *m)
{
    static const int dx[4] = {0, 1, 0, -1};
    static const int dy[4] = {-1, 0, 1, 0};
    uint8_t seen[STK_MAP_MAX_TILES];
    uint16_t queue[STK_MAP_MAX_TILES];
    size_t head = 0, tail = 0;
    uint32_t w = m->width, h = m->height;
    uint32_t start = m->spawn.y * w + m->spawn.x;
    uint32_t target = m->goal.y * w + m->goal.x;

    memset(seen, 0, (size_t)w * h);
    seen[start] = 1;
    queue[tail++] = (uint16_t)start;
    while (head < tail) {
        uint32_t i = queue[head++];
        uint32_t x = i % w, y = i / w;

        if (i == target)
            return true;
        for (int d = 0; d < 4; d++) {
            uint32_t nx = x + (uint32_t)dx[d], ny = y + (uint32_t)dy[d]; /* wraps past 0 */
            uint32_t j;

            if (nx >= w || ny >= h)
                continue;
            j = ny * w + nx;
            if (seen[j] || !stk_map_walkable(m, nx, ny))
                continue;
            seen[j] = 1;
            queue[tail++] = (uint16_t)j;
        }
    }
    return false;
}

static void check_grid(const stk_map_t *m, report_t *r)
{
    char field[STK_MAP_FIELD_MAX];
    size_t n = (size_t)m->width * m->height;
    bool spawn_ok = false, goal_ok = false;

    for (size_t i = 0; i < n; i++) {
        const stk_tile_t *t = &m->tiles[i];

        if (t->terrain >= STK_TERRAIN_COUNT) {
            snprintf(field, sizeof(field), "terrain_data[%zu].terrainType", i);
            add(r, STK_MAP_PROBLEM_TERRAIN_RANGE, field, "got %u at (%zu,%zu)", t->terrain,
                i % m->width, i / m->width);
        }
        if (t->blocked > 1) {
            snprintf(field, sizeof(field), "terrain_data[%zu].isBlocked", i);
            add(r, STK_MAP_PROBLEM_BLOCKED_RANGE, field, "got %u at (%zu,%zu)", t->blocked,
                i % m->width, i / m->width);
        }
    }

    if (!stk_map_in_bounds(m, m->spawn.x, m->spawn.y))
        add(r, STK_MAP_PROBLEM_SPAWN_OFF_MAP, "spawn_point", "(%u,%u) on a %ux%u map", m->spawn.x,
            m->spawn.y, m->width, m->height);
    else if (!stk_map_walkable(m, m->spawn.x, m->spawn.y))
        add(r, STK_MAP_PROBLEM_SPAWN_BLOCKED, "spawn_point", "(%u,%u)", m->spawn.x, m->spawn.y);
    else
        spawn_ok = true;

    if (!stk_map_in_bounds(m, m->goal.x, m->goal.y))
        add(r, STK_MAP_PROBLEM_GOAL_OFF_MAP, "goal_point", "(%u,%u) on a %ux%u map", m->goal.x,
            m->goal.y, m->width, m->height);
    else if (!stk_map_walkable(m, m->goal.x, m->goal.y))
        add(r, STK_MAP_PROBLEM_GOAL_BLOCKED, "goal_point", "(%u,%u)", m->goal.x, m->goal.y);
    else
        goal_ok = true;

    if (spawn_ok && goal_ok) {
        if (m->spawn.x == m->goal.x && m->spawn.y == m->goal.y)
            add(r, STK_MAP_PROBLEM_SPAWN_IS_GOAL, "goal_point", "(%u,%u)", m->goal.x, m->goal.y);
        else if (!connected(m))
            add(r, STK_MAP_PROBLEM_NO_PATH, "spawn_point", "(%u,%u) to (%u,%u)", m->spawn.x,
                m->spawn.y, m->goal.x, m->goal.y);
    }
}

static void check_waves(const stk_map_t *m, report_t *r)
{
    char field[STK_MAP_FIELD_MAX];
    uint32_t n_waves = m->n_waves;

    if (n_waves == 0)
        add(r, STK_MAP_PROBLEM_NO_WAVES, "wave_config.waves", NULL);
    if (n_waves > STK_MAP_MAX_WAVES) {
        add(r, STK_MAP_PROBLEM_TOO_MANY_WAVES, "wave_config.waves", "got %u", n_waves);
        n_waves = STK_MAP_MAX_WAVES;
    }
    for (uint32_t i = 0; i < n_waves; i++) {
        const stk_map_wave_t *w = &m->waves[i];
        uint32_t n_groups = w->n_groups;

        if (w->number != i + 1) {
            snprintf(field, sizeof(field), "wave_config.waves[%u].waveNumber", i);
            add(r, STK_MAP_PROBLEM_WAVE_NUMBER, field, "expected %u, got %u", i + 1, w->number);
        }
        snprintf(field, sizeof(field), "wave_config.waves[%u].enemies", i);
        if (n_groups == 0)
            add(r, STK_MAP_PROBLEM_NO_ENEMIES, field, NULL);
        if (n_groups > STK_MAP_MAX_GROUPS) {
            add(r, STK_MAP_PROBLEM_TOO_MANY_GROUPS, field, "got %u", n_groups);
            n_groups = STK_MAP_MAX_GROUPS;
        }
        for (uint32_t j = 0; j < n_groups; j++) {
            const stk_map_enemies_t *g = &w->groups[j];

            if (g->type >= STK_ENEMY_TYPE_COUNT) {
                snprintf(field, sizeof(field), "wave_config.waves[%u].enemies[%u].type", i, j);
                add(r, STK_MAP_PROBLEM_ENEMY_TYPE, field, "expected grunt, runner, brute or flyer");
            }
            if (g->count < 1 || g->count > STK_MAP_MAX_COUNT) {
                snprintf(field, sizeof(field), "wave_config.waves[%u].enemies[%u].count", i, j);
                add(r, STK_MAP_PROBLEM_COUNT_RANGE, field, "got %u", g->count);
            }
            if (g->interval_ms > STK_MAP_MAX_INTERVAL_MS) {
                snprintf(field, sizeof(field), "wave_config.waves[%u].enemies[%u].spawnInterval", i,
                         j);
                add(r, STK_MAP_PROBLEM_INTERVAL_RANGE, field, "got %u", g->interval_ms);
            }
        }
    }
}

int stk_map_validate(const stk_map_t *m, stk_map_problem_t *problems, size_t cap, size_t *count)
{
    report_t r = {problems, cap, 0};

    if (m == NULL || count == NULL || (problems == NULL && cap > 0))
        return STK_EINVAL;

    if (m->width < STK_MAP_MIN_SIDE || m->width > STK_MAP_MAX_SIDE)
        add(&r, STK_MAP_PROBLEM_WIDTH_RANGE, "width", "got %u", m->width);
    if (m->height < STK_MAP_MIN_SIDE || m->height > STK_MAP_MAX_SIDE)
        add(&r, STK_MAP_PROBLEM_HEIGHT_RANGE, "height", "got %u", m->height);
    /* Below 20 the grid is still meaningful (it fits the capacity), so its problems are
     * reported too; above 100 the tiles cannot exist and are skipped. */
    if (m->width >= 1 && m->height >= 1 && m->width <= STK_MAP_MAX_SIDE &&
        m->height <= STK_MAP_MAX_SIDE)
        check_grid(m, &r);
    check_waves(m, &r);

    *count = r.count;
    return r.count == 0 ? 0 : STK_ESCHEMA;
}
