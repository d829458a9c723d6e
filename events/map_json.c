/* events/map_json.c — contract map JSON -> stk_map_t (see events/map_json.h).
 *
 * Shape errors are found here, with their JSON path; the game's rules are left to
 * stk_map_validate(), whose problems already carry the contract's field names. A value
 * that fits the struct but breaks a rule (terrainType 9, count 0, waveNumber 7 in first
 * place) is stored as is so that the validator names it; only values that cannot be
 * stored at all (negative, not an integer, beyond u32) are refused here.
 */
#include "events/map_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/game.h"
#include "events/types.h"

/* A shape error: "<what>" is a short phrase such as "missing integer". */
static int bad(stk_payload_error_t *err, const char *path, const char *what)
{
    return stk_payload_fail(err, STK_ESCHEMA, path, "%s", what);
}

/* An integer member 0..max; path is the member's path. */
static int get_u(const json_t *obj, const char *key, uint64_t max, const char *path, uint32_t *v,
                 stk_payload_error_t *err)
{
    const json_t *j = json_object_get(obj, key);
    if (j == NULL)
        return bad(err, path, "missing integer");
    if (!json_is_integer(j))
        return bad(err, path, "expected an integer");
    json_int_t i = json_integer_value(j);
    if (i < 0 || (uint64_t)i > max)
        return stk_payload_fail(err, STK_ESCHEMA, path, "%lld is outside 0..%llu", (long long)i,
                                (unsigned long long)max);
    *v = (uint32_t)i;
    return 0;
}

static size_t utf8_codepoints(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0u) != 0x80u)
            n++;
    return n;
}

static int get_text(const json_t *root, const char *key, bool required, size_t min_cp,
                    size_t max_cp, char *dst, size_t cap, stk_payload_error_t *err)
{
    const json_t *j = json_object_get(root, key);
    dst[0] = '\0';
    if (j == NULL || json_is_null(j)) {
        if (required)
            return bad(err, key, "missing string");
        return 0;
    }
    if (!json_is_string(j))
        return bad(err, key, "expected a string");
    const char *s = json_string_value(j);
    size_t len = json_string_length(j);
    size_t cp = utf8_codepoints(s, len);
    if (memchr(s, 0, len) != NULL)
        return bad(err, key, "contains a NUL character");
    if (cp < min_cp || cp > max_cp || len >= cap)
        return stk_payload_fail(err, STK_ESCHEMA, key, "%zu characters, expected %zu..%zu", cp,
                                min_cp, max_cp);
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int get_point(const json_t *root, const char *key, stk_point_t *p, stk_payload_error_t *err)
{
    char path[64];
    const json_t *j = json_object_get(root, key);
    if (j == NULL)
        return bad(err, key, "missing object {x, y}");
    if (!json_is_object(j))
        return bad(err, key, "expected an object {x, y}");
    snprintf(path, sizeof path, "%s.x", key);
    int rc = get_u(j, "x", UINT32_MAX, path, &p->x, err);
    snprintf(path, sizeof path, "%s.y", key);
    return rc ? rc : get_u(j, "y", UINT32_MAX, path, &p->y, err);
}

static int get_terrain(const json_t *root, stk_map_t *m, stk_payload_error_t *err)
{
    const json_t *arr = json_object_get(root, "terrain_data");
    if (arr == NULL)
        return bad(err, "terrain_data", "missing array");
    if (!json_is_array(arr))
        return bad(err, "terrain_data", "expected an array");
    size_t want = (size_t)m->width * m->height;
    if (json_array_size(arr) != want)
        return stk_payload_fail(err, STK_ESCHEMA, "terrain_data",
                                "%zu tiles, expected width*height = %zu", json_array_size(arr),
                                want);
    uint8_t seen[STK_MAP_MAX_TILES / 8 + 1];
    memset(seen, 0, sizeof seen);
    char path[64];
    for (size_t i = 0; i < want; i++) {
        const json_t *t = json_array_get(arr, i);
        snprintf(path, sizeof path, "terrain_data[%zu]", i);
        if (!json_is_object(t))
            return bad(err, path, "expected an object");
        uint32_t x = 0, y = 0, type = 0, h = 0;
        int rc;
        snprintf(path, sizeof path, "terrain_data[%zu].x", i);
        if ((rc = get_u(t, "x", m->width - 1, path, &x, err)) != 0)
            return rc;
        snprintf(path, sizeof path, "terrain_data[%zu].y", i);
        if ((rc = get_u(t, "y", m->height - 1, path, &y, err)) != 0)
            return rc;
        snprintf(path, sizeof path, "terrain_data[%zu].terrainType", i);
        if ((rc = get_u(t, "terrainType", 255, path, &type, err)) != 0)
            return rc;
        snprintf(path, sizeof path, "terrain_data[%zu].height", i);
        if ((rc = get_u(t, "height", 255, path, &h, err)) != 0)
            return rc;
        snprintf(path, sizeof path, "terrain_data[%zu].isBlocked", i);
        const json_t *b = json_object_get(t, "isBlocked");
        if (b == NULL)
            return bad(err, path, "missing boolean");
        if (!json_is_boolean(b))
            return bad(err, path, "expected a boolean");
        size_t idx = (size_t)y * m->width + x;
        if (seen[idx / 8] & (1u << (idx % 8))) {
            snprintf(path, sizeof path, "terrain_data[%zu]", i);
            return stk_payload_fail(err, STK_ESCHEMA, path, "tile (%u, %u) is listed twice",
                                    (unsigned)x, (unsigned)y);
        }
        seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
        stk_tile_t *tile = stk_map_tile_mut(m, x, y);
        tile->terrain = (uint8_t)type;
        tile->height = (uint8_t)h;
        tile->blocked = json_is_true(b) ? 1 : 0;
    }
    return 0;
}

static int get_waves(const json_t *root, stk_map_t *m, stk_payload_error_t *err)
{
    const json_t *wc = json_object_get(root, "wave_config");
    if (wc == NULL)
        return bad(err, "wave_config", "missing object {waves}");
    if (!json_is_object(wc))
        return bad(err, "wave_config", "expected an object {waves}");
    const json_t *waves = json_object_get(wc, "waves");
    if (waves == NULL)
        return bad(err, "wave_config.waves", "missing array");
    if (!json_is_array(waves))
        return bad(err, "wave_config.waves", "expected an array");
    size_t nw = json_array_size(waves);
    /* Keep the count (validation reports TOO_MANY_WAVES), parse what fits. */
    m->n_waves = nw > UINT32_MAX ? UINT32_MAX : (uint32_t)nw;
    char path[96];
    for (size_t i = 0; i < nw && i < STK_MAP_MAX_WAVES; i++) {
        const json_t *w = json_array_get(waves, i);
        stk_map_wave_t *wv = &m->waves[i];
        snprintf(path, sizeof path, "wave_config.waves[%zu]", i);
        if (!json_is_object(w))
            return bad(err, path, "expected an object");
        snprintf(path, sizeof path, "wave_config.waves[%zu].waveNumber", i);
        int rc = get_u(w, "waveNumber", UINT32_MAX, path, &wv->number, err);
        if (rc != 0)
            return rc;
        const json_t *en = json_object_get(w, "enemies");
        snprintf(path, sizeof path, "wave_config.waves[%zu].enemies", i);
        if (en == NULL)
            return bad(err, path, "missing array");
        if (!json_is_array(en))
            return bad(err, path, "expected an array");
        size_t ng = json_array_size(en);
        wv->n_groups = ng > UINT32_MAX ? UINT32_MAX : (uint32_t)ng;
        for (size_t j = 0; j < ng && j < STK_MAP_MAX_GROUPS; j++) {
            const json_t *g = json_array_get(en, j);
            stk_map_enemies_t *grp = &wv->groups[j];
            snprintf(path, sizeof path, "wave_config.waves[%zu].enemies[%zu]", i, j);
            if (!json_is_object(g))
                return bad(err, path, "expected an object");
            snprintf(path, sizeof path, "wave_config.waves[%zu].enemies[%zu].type", i, j);
            const json_t *t = json_object_get(g, "type");
            if (t == NULL)
                return bad(err, path, "missing string");
            if (!json_is_string(t))
                return bad(err, path, "expected a string");
            int id = stk_map_enemy_type_parse(json_string_value(t), json_string_length(t));
            grp->type = id < 0 ? STK_ENEMY_TYPE_INVALID : (uint32_t)id;
            snprintf(path, sizeof path, "wave_config.waves[%zu].enemies[%zu].count", i, j);
            if ((rc = get_u(g, "count", UINT32_MAX, path, &grp->count, err)) != 0)
                return rc;
            snprintf(path, sizeof path, "wave_config.waves[%zu].enemies[%zu].spawnInterval", i, j);
            if ((rc = get_u(g, "spawnInterval", UINT32_MAX, path, &grp->interval_ms, err)) != 0)
                return rc;
        }
    }
    return 0;
}

int stk_map_json_from_object(const json_t *root, stk_map_doc_t *out, stk_payload_error_t *err)
{
    if (root == NULL || out == NULL)
        return stk_payload_fail(err, STK_EINVAL, "", "NULL argument");
    if (!json_is_object(root))
        return bad(err, "", "expected a JSON object");
    uint32_t w = 0, h = 0;
    int rc = get_text(root, "name", true, 1, 100, out->name, sizeof out->name, err);
    rc = rc ? rc
            : get_text(root, "description", false, 0, 2000, out->description,
                       sizeof out->description, err);
    rc = rc ? rc : get_u(root, "width", UINT32_MAX, "width", &w, err);
    rc = rc ? rc : get_u(root, "height", UINT32_MAX, "height", &h, err);
    if (rc != 0)
        return rc;
    if (w < STK_MAP_MIN_SIDE || w > STK_MAP_MAX_SIDE)
        return stk_payload_fail(err, STK_ESCHEMA, "width", "%u: must be %d..%d", (unsigned)w,
                                STK_MAP_MIN_SIDE, STK_MAP_MAX_SIDE);
    if (h < STK_MAP_MIN_SIDE || h > STK_MAP_MAX_SIDE)
        return stk_payload_fail(err, STK_ESCHEMA, "height", "%u: must be %d..%d", (unsigned)h,
                                STK_MAP_MIN_SIDE, STK_MAP_MAX_SIDE);
    rc = stk_map_init(&out->map, w, h);
    rc = rc ? stk_payload_fail(err, STK_ESCHEMA, "width", "unusable size") : 0;
    rc = rc ? rc : get_terrain(root, &out->map, err);
    rc = rc ? rc : get_point(root, "spawn_point", &out->map.spawn, err);
    rc = rc ? rc : get_point(root, "goal_point", &out->map.goal, err);
    rc = rc ? rc : get_waves(root, &out->map, err);
    if (rc != 0)
        return rc;
    stk_map_problem_t p;
    size_t count = 0;
    rc = stk_map_validate(&out->map, &p, 1, &count);
    if (rc == STK_ESCHEMA && count > 0)
        return stk_payload_fail(err, STK_ESCHEMA, p.field, "%s: %s%s", stk_map_problem_name(p.code),
                                p.message, count > 1 ? " (and more problems)" : "");
    return rc;
}

int stk_map_json_parse(const char *text, size_t len, stk_map_doc_t *out, stk_payload_error_t *err)
{
    if (text == NULL || out == NULL)
        return stk_payload_fail(err, STK_EINVAL, "", "NULL argument");
    if (len > STK_MAP_JSON_MAX)
        return stk_payload_fail(err, STK_ETOOBIG, "", "%zu bytes exceed the %u-byte limit", len,
                                (unsigned)STK_MAP_JSON_MAX);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return stk_payload_fail(err, STK_EDECODE, "", "line %d column %d: %s", je.line, je.column,
                                je.text);
    int rc = STK_EDECODE;
    if (!json_is_object(root))
        stk_payload_fail(err, rc, "", "the document is not a JSON object");
    else
        rc = stk_map_json_from_object(root, out, err);
    json_decref(root);
    return rc;
}

int stk_map_json_load(const char *path, stk_map_doc_t *out, stk_payload_error_t *err)
{
    if (path == NULL || out == NULL)
        return stk_payload_fail(err, STK_EINVAL, "", "NULL argument");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return stk_payload_fail(err, errno == ENOENT ? STK_ENOTFOUND : STK_EIO, "", "%s: %s", path,
                                strerror(errno));
    char *buf = malloc(STK_MAP_JSON_MAX + 1);
    int rc = STK_ENOMEM;
    if (buf == NULL) {
        stk_payload_fail(err, rc, "", "out of memory");
        goto done;
    }
    size_t n = fread(buf, 1, STK_MAP_JSON_MAX + 1, f);
    if (ferror(f)) {
        rc = stk_payload_fail(err, STK_EIO, "", "%s: read error", path);
        goto done;
    }
    rc = stk_map_json_parse(buf, n, out, err);
done:
    free(buf);
    fclose(f);
    return rc;
}

int stk_map_json_to_payload(const stk_map_doc_t *doc, uint16_t type, const stk_uuid_t *user_id,
                            msgpack_sbuffer *out)
{
    if (doc == NULL || out == NULL || (type == STK_EV_MAP_DRAWN && user_id == NULL))
        return STK_EINVAL;
    stk_game_map_meta_t meta;
    memset(&meta, 0, sizeof meta);
    if (user_id != NULL)
        meta.user_id = *user_id;
    meta.name = doc->name;
    meta.name_len = strnlen(doc->name, sizeof doc->name);
    meta.description = doc->description;
    meta.description_len = strnlen(doc->description, sizeof doc->description);
    return stk_game_map_encode(type, &doc->map, &meta, out);
}

static json_t *point_json(stk_point_t p)
{
    return json_pack("{s:I,s:I}", "x", (json_int_t)p.x, "y", (json_int_t)p.y);
}

int stk_map_json_to_object(const stk_map_doc_t *doc, json_t **out)
{
    if (doc == NULL || out == NULL)
        return STK_EINVAL;
    const stk_map_t *m = &doc->map;
    if (m->width > STK_MAP_MAX_SIDE || m->height > STK_MAP_MAX_SIDE ||
        m->n_waves > STK_MAP_MAX_WAVES)
        return STK_EINVAL;
    for (uint32_t w = 0; w < m->n_waves; w++)
        if (m->waves[w].n_groups > STK_MAP_MAX_GROUPS)
            return STK_EINVAL;
    json_t *root = json_object();
    json_t *tiles = json_array();
    json_t *waves = json_array();
    int rc = STK_ENOMEM;
    if (root == NULL || tiles == NULL || waves == NULL)
        goto fail;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++) {
            const stk_tile_t *t = stk_map_tile(m, x, y);
            if (json_array_append_new(tiles,
                                      json_pack("{s:I,s:I,s:i,s:i,s:b}", "x", (json_int_t)x, "y",
                                                (json_int_t)y, "terrainType", t->terrain, "height",
                                                t->height, "isBlocked", t->blocked)) != 0)
                goto fail;
        }
    for (uint32_t w = 0; w < m->n_waves; w++) {
        const stk_map_wave_t *wv = &m->waves[w];
        json_t *enemies = json_array();
        if (enemies == NULL || json_array_append_new(waves, json_pack("{s:I,s:o}", "waveNumber",
                                                                      (json_int_t)wv->number,
                                                                      "enemies", enemies)) != 0)
            goto fail;
        for (uint32_t j = 0; j < wv->n_groups; j++) {
            const char *name = stk_map_enemy_type_name(wv->groups[j].type);
            if (json_array_append_new(
                    enemies, json_pack("{s:s,s:I,s:I}", "type", name ? name : "unknown", "count",
                                       (json_int_t)wv->groups[j].count, "spawnInterval",
                                       (json_int_t)wv->groups[j].interval_ms)) != 0)
                goto fail;
        }
    }
    /* json_object_set_new() and json_pack("o") take the reference even when they fail. */
    int bad = json_object_set_new(root, "terrain_data", tiles);
    tiles = NULL;
    json_t *wc = json_pack("{s:o}", "waves", waves);
    waves = NULL;
    if (bad != 0 || wc == NULL || json_object_set_new(root, "wave_config", wc) != 0 ||
        json_object_set_new(root, "name", json_string(doc->name)) != 0 ||
        json_object_set_new(root, "description", json_string(doc->description)) != 0 ||
        json_object_set_new(root, "width", json_integer(m->width)) != 0 ||
        json_object_set_new(root, "height", json_integer(m->height)) != 0 ||
        json_object_set_new(root, "spawn_point", point_json(m->spawn)) != 0 ||
        json_object_set_new(root, "goal_point", point_json(m->goal)) != 0)
        goto fail;
    *out = root;
    return 0;
fail:
    json_decref(waves);
    json_decref(tiles);
    json_decref(root);
    return rc;
}
