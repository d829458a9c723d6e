/* events/game.c — stored events <-> game core structs (see events/game.h).
 *
 * The balance codec is table-driven: one row per int32 field (name, offset), so the
 * encoder and the strict decoder cannot drift apart. Everything else uses the payload
 * module's readers and writers over a schema-checked payload, so field-level errors come
 * from one place (events/payload.c) and this file only maps values to structs.
 */
#include "events/game.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "events/types.h"
#include "events/upcast.h"

/* ---- small helpers ------------------------------------------------------------------- */

static int pk_fail(int rc)
{
    return rc != 0 ? STK_ENOMEM : 0;
}

/* Run stk_payload_check() on what an encoder wrote; a failure means the struct held a
 * value the schema refuses. */
static int check_out(uint16_t type, const msgpack_sbuffer *out)
{
    const stk_event_type_t *t = stk_event_type_by_id(type);
    if (t == NULL)
        return STK_EINVAL;
    int rc = stk_payload_check(type, t->schema, (const uint8_t *)out->data, out->size, NULL);
    return rc == STK_ENOMEM ? rc : (rc != 0 ? STK_ESCHEMA : 0);
}

/* Prefix err->path with `prefix` (e.g. "balance") after a nested decode failed. */
static void prefix_path(stk_payload_error_t *err, const char *prefix)
{
    if (err == NULL)
        return;
    char tmp[sizeof err->path + 32];
    int n = snprintf(tmp, sizeof tmp, "%s%s%s", prefix, err->path[0] != '\0' ? "." : "", err->path);
    if (n < 0)
        return;
    /* Truncate to the path field (a path that long is already unusual). */
    tmp[sizeof err->path - 1] = '\0';
    memcpy(err->path, tmp, sizeof err->path);
}

int stk_game_color_parse(const char *s, size_t len, uint32_t *rgb)
{
    if (s == NULL || rgb == NULL || len != 7 || s[0] != '#')
        return STK_EINVAL;
    uint32_t v = 0;
    for (size_t i = 1; i < 7; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return STK_EINVAL;
        v = (v << 4) | d;
    }
    *rgb = v;
    return 0;
}

int stk_game_color_format(uint32_t rgb, char out[8])
{
    if (rgb > 0xFFFFFFu)
        return STK_ERANGE;
    snprintf(out, 8, "#%06x", (unsigned)rgb);
    return 0;
}

/* ---- balance ------------------------------------------------------------------------- */

typedef struct int_field {
    const char *key;
    size_t off;
} int_field_t;

#define F(type, name)                                                                              \
    {                                                                                              \
#name, offsetof(type, name)                                                                \
    }
static const int_field_t enemy_fields[] = {
    F(stk_enemy_spec_t, health), F(stk_enemy_spec_t, speed_mt), F(stk_enemy_spec_t, armour),
    F(stk_enemy_spec_t, bounty), F(stk_enemy_spec_t, lives),    F(stk_enemy_spec_t, flying),
};
static const int_field_t level_fields[] = {
    F(stk_tower_level_t, cost),      F(stk_tower_level_t, damage),
    F(stk_tower_level_t, range_mt),  F(stk_tower_level_t, cooldown_ms),
    F(stk_tower_level_t, splash_mt), F(stk_tower_level_t, slow_bp),
    F(stk_tower_level_t, slow_ms),   F(stk_tower_level_t, chain_jumps),
    F(stk_tower_level_t, chain_mt),  F(stk_tower_level_t, falloff_bp),
};
static const int_field_t top_fields[] = {
    F(stk_balance_t, start_gold),        F(stk_balance_t, start_lives),
    F(stk_balance_t, sell_refund_bp),    F(stk_balance_t, wave_bonus),
    F(stk_balance_t, wave_bonus_step),   F(stk_balance_t, first_wave_ms),
    F(stk_balance_t, wave_countdown_ms), F(stk_balance_t, splash_min_bp),
    F(stk_balance_t, spawn_jitter_mt),
};
/* Top-level fields added after the first tables were recorded: written only when not 0,
 * and 0 when absent, so a table recorded before them decodes (and re-encodes) unchanged. */
static const int_field_t opt_top_fields[] = {
    F(stk_balance_t, wave_health_bp),
};
#undef F
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static int32_t *field_ptr(void *base, const int_field_t *f)
{
    return (int32_t *)(void *)((char *)base + f->off);
}

static int put_ints(msgpack_packer *pk, const void *base, const int_field_t *fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const int32_t *v = field_ptr((void *)(uintptr_t)base, &fs[i]);
        if (stk_payload_put_int(pk, fs[i].key, *v) != 0)
            return STK_ENOMEM;
    }
    return 0;
}

static int put_name(msgpack_packer *pk, const char name[STK_BALANCE_NAME_MAX])
{
    return stk_payload_put_str(pk, "name", name, strnlen(name, STK_BALANCE_NAME_MAX));
}

int stk_game_balance_encode(const stk_balance_t *b, msgpack_sbuffer *out)
{
    if (b == NULL || out == NULL)
        return STK_EINVAL;
    if (stk_balance_validate(b, NULL) != 0)
        return STK_ERANGE;
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    size_t n_opt = 0;
    for (size_t i = 0; i < NFIELDS(opt_top_fields); i++)
        n_opt += *field_ptr((void *)(uintptr_t)b, &opt_top_fields[i]) != 0;
    int rc = pk_fail(msgpack_pack_map(&pk, 2 + NFIELDS(top_fields) + n_opt));
    rc = rc ? rc : stk_payload_put_array(&pk, "enemies", STK_ENEMY_KINDS);
    for (size_t i = 0; rc == 0 && i < STK_ENEMY_KINDS; i++) {
        rc = pk_fail(msgpack_pack_map(&pk, 1 + NFIELDS(enemy_fields)));
        rc = rc ? rc : put_name(&pk, b->enemy[i].name);
        rc = rc ? rc : put_ints(&pk, &b->enemy[i], enemy_fields, NFIELDS(enemy_fields));
    }
    rc = rc ? rc : stk_payload_put_array(&pk, "towers", STK_TOWER_KINDS);
    for (size_t i = 0; rc == 0 && i < STK_TOWER_KINDS; i++) {
        rc = pk_fail(msgpack_pack_map(&pk, 3));
        rc = rc ? rc : put_name(&pk, b->tower[i].name);
        rc = rc ? rc : stk_payload_put_int(&pk, "effect", b->tower[i].effect);
        rc = rc ? rc : stk_payload_put_array(&pk, "levels", STK_TOWER_LEVELS);
        for (size_t l = 0; rc == 0 && l < STK_TOWER_LEVELS; l++) {
            rc = pk_fail(msgpack_pack_map(&pk, NFIELDS(level_fields)));
            rc =
                rc ? rc : put_ints(&pk, &b->tower[i].level[l], level_fields, NFIELDS(level_fields));
        }
    }
    rc = rc ? rc : put_ints(&pk, b, top_fields, NFIELDS(top_fields));
    for (size_t i = 0; rc == 0 && i < NFIELDS(opt_top_fields); i++) {
        const int32_t *v = field_ptr((void *)(uintptr_t)b, &opt_top_fields[i]);
        if (*v != 0)
            rc = put_ints(&pk, b, &opt_top_fields[i], 1);
    }
    return rc;
}

/* The map `o` must have exactly n keys, all strings; the readers then find each one. */
static int expect_map(const msgpack_object *o, size_t n, const char *path, stk_payload_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return stk_payload_fail(err, STK_ESCHEMA, path, "expected a map");
    if (o->via.map.size != n)
        return stk_payload_fail(err, STK_ESCHEMA, path, "expected %zu keys, found %u", n,
                                (unsigned)o->via.map.size);
    for (uint32_t i = 0; i < o->via.map.size; i++)
        if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
            return stk_payload_fail(err, STK_ESCHEMA, path, "a key is not a string");
    return 0;
}

static int get_ints(const msgpack_object *map, void *base, const int_field_t *fs, size_t n,
                    const char *path, stk_payload_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0;
        int rc = stk_payload_get_int(map, fs[i].key, &v);
        if (rc != 0 || v < INT32_MIN || v > INT32_MAX)
            return stk_payload_fail(err, STK_ESCHEMA, path, "%s: %s", fs[i].key,
                                    rc == STK_ENOTFOUND ? "missing" : "not an int32");
        *field_ptr(base, &fs[i]) = (int32_t)v;
    }
    return 0;
}

static int get_name(const msgpack_object *map, char name[STK_BALANCE_NAME_MAX], const char *path,
                    stk_payload_error_t *err)
{
    const char *s = NULL;
    size_t len = 0;
    if (stk_payload_get_str(map, "name", &s, &len) != 0 || len == 0 ||
        len >= STK_BALANCE_NAME_MAX || memchr(s, 0, len) != NULL)
        return stk_payload_fail(err, STK_ESCHEMA, path, "name: a string of 1..%d bytes",
                                STK_BALANCE_NAME_MAX - 1);
    memset(name, 0, STK_BALANCE_NAME_MAX);
    memcpy(name, s, len);
    return 0;
}

static int get_list(const msgpack_object *map, const char *key, size_t n,
                    const msgpack_object **items, stk_payload_error_t *err)
{
    size_t got = 0;
    if (stk_payload_get_array(map, key, items, &got) != 0)
        return stk_payload_fail(err, STK_ESCHEMA, key, "missing or not an array");
    if (got != n)
        return stk_payload_fail(err, STK_ESCHEMA, key, "expected %zu items, found %zu", n, got);
    return 0;
}

static int decode_balance(const msgpack_object *root, stk_balance_t *b, stk_payload_error_t *err)
{
    char path[96];
    const msgpack_object *items = NULL;
    size_t n_opt = 0;
    for (size_t i = 0; root->type == MSGPACK_OBJECT_MAP && i < NFIELDS(opt_top_fields); i++) {
        bool have = stk_payload_find(root, opt_top_fields[i].key) != NULL;
        n_opt += have;
        if (!have)
            *field_ptr(b, &opt_top_fields[i]) = 0;
    }
    int rc = expect_map(root, 2 + NFIELDS(top_fields) + n_opt, "", err);
    rc = rc ? rc : get_list(root, "enemies", STK_ENEMY_KINDS, &items, err);
    for (size_t i = 0; rc == 0 && i < STK_ENEMY_KINDS; i++) {
        snprintf(path, sizeof path, "enemies[%zu]", i);
        rc = expect_map(&items[i], 1 + NFIELDS(enemy_fields), path, err);
        rc = rc ? rc : get_name(&items[i], b->enemy[i].name, path, err);
        rc = rc ? rc
                : get_ints(&items[i], &b->enemy[i], enemy_fields, NFIELDS(enemy_fields), path, err);
    }
    rc = rc ? rc : get_list(root, "towers", STK_TOWER_KINDS, &items, err);
    for (size_t i = 0; rc == 0 && i < STK_TOWER_KINDS; i++) {
        const msgpack_object *t = &items[i];
        snprintf(path, sizeof path, "towers[%zu]", i);
        rc = expect_map(t, 3, path, err);
        rc = rc ? rc : get_name(t, b->tower[i].name, path, err);
        int64_t eff = 0;
        if (rc == 0 && (stk_payload_get_int(t, "effect", &eff) != 0 || eff < 0 || eff > 3))
            rc = stk_payload_fail(err, STK_ESCHEMA, path, "effect: an int 0..3");
        b->tower[i].effect = (int32_t)eff;
        const msgpack_object *levels = NULL;
        size_t nl = 0;
        if (rc == 0 &&
            (stk_payload_get_array(t, "levels", &levels, &nl) != 0 || nl != STK_TOWER_LEVELS))
            rc = stk_payload_fail(err, STK_ESCHEMA, path, "levels: an array of %d maps",
                                  STK_TOWER_LEVELS);
        for (size_t l = 0; rc == 0 && l < STK_TOWER_LEVELS; l++) {
            snprintf(path, sizeof path, "towers[%zu].levels[%zu]", i, l);
            rc = expect_map(&levels[l], NFIELDS(level_fields), path, err);
            rc = rc ? rc
                    : get_ints(&levels[l], &b->tower[i].level[l], level_fields,
                               NFIELDS(level_fields), path, err);
        }
    }
    rc = rc ? rc : get_ints(root, b, top_fields, NFIELDS(top_fields), "", err);
    for (size_t i = 0; rc == 0 && i < NFIELDS(opt_top_fields); i++)
        if (stk_payload_find(root, opt_top_fields[i].key) != NULL)
            rc = get_ints(root, b, &opt_top_fields[i], 1, "", err);
    return rc;
}

int stk_game_balance_decode(const uint8_t *mp, size_t len, stk_balance_t *out,
                            stk_payload_error_t *err)
{
    if (mp == NULL || out == NULL)
        return stk_payload_fail(err, STK_EINVAL, "", "NULL argument");
    stk_payload_t p;
    int rc = stk_payload_open(&p, mp, len, err);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof *out);
    rc = decode_balance(stk_payload_root(&p), out, err);
    stk_payload_close(&p);
    if (rc != 0)
        return rc;
    const char *field = NULL;
    if (stk_balance_validate(out, &field) != 0)
        return stk_payload_fail(err, STK_ERANGE, field != NULL ? field : "", "value out of range");
    return 0;
}

/* ---- maps ---------------------------------------------------------------------------- */

static int put_point(msgpack_packer *pk, const char *key, stk_point_t p)
{
    int rc = stk_payload_put_map(pk, key, 2);
    rc = rc ? rc : stk_payload_put_uint(pk, "x", p.x);
    rc = rc ? rc : stk_payload_put_uint(pk, "y", p.y);
    return rc;
}

int stk_game_map_encode(uint16_t type, const stk_map_t *m, const stk_game_map_meta_t *meta,
                        msgpack_sbuffer *out)
{
    if (m == NULL || meta == NULL || out == NULL ||
        (type != STK_EV_MAP_DRAWN && type != STK_EV_MAP_EDITED) ||
        (meta->name == NULL && meta->name_len > 0) ||
        (meta->description == NULL && meta->description_len > 0))
        return STK_EINVAL;
    if (m->width == 0 || m->height == 0 || m->width > STK_MAP_MAX_SIDE ||
        m->height > STK_MAP_MAX_SIDE || m->n_waves > STK_MAP_MAX_WAVES)
        return STK_ESCHEMA;
    for (uint32_t w = 0; w < m->n_waves; w++) {
        if (m->waves[w].n_groups > STK_MAP_MAX_GROUPS)
            return STK_ESCHEMA;
        for (uint32_t j = 0; j < m->waves[w].n_groups; j++)
            if (stk_map_enemy_type_name(m->waves[w].groups[j].type) == NULL)
                return STK_EINVAL;
    }
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    bool drawn = type == STK_EV_MAP_DRAWN;
    int rc = pk_fail(msgpack_pack_map(&pk, drawn ? 9 : 8));
    if (rc == 0 && drawn)
        rc = stk_payload_put_uuid(&pk, "user_id", &meta->user_id);
    rc = rc ? rc : stk_payload_put_str(&pk, "name", meta->name ? meta->name : "", meta->name_len);
    rc = rc ? rc
            : stk_payload_put_str(&pk, "description", meta->description ? meta->description : "",
                                  meta->description_len);
    rc = rc ? rc : stk_payload_put_uint(&pk, "width", m->width);
    rc = rc ? rc : stk_payload_put_uint(&pk, "height", m->height);
    /* stk_tile_t is exactly the 3-byte wire layout (core/map.h). */
    rc = rc ? rc
            : stk_payload_put_bin(&pk, "terrain", m->tiles,
                                  (size_t)m->width * m->height * sizeof(stk_tile_t));
    rc = rc ? rc : put_point(&pk, "spawn", m->spawn);
    rc = rc ? rc : put_point(&pk, "goal", m->goal);
    rc = rc ? rc : stk_payload_put_array(&pk, "waves", m->n_waves);
    for (uint32_t w = 0; rc == 0 && w < m->n_waves; w++) {
        const stk_map_wave_t *wv = &m->waves[w];
        rc = pk_fail(msgpack_pack_map(&pk, 2));
        rc = rc ? rc : stk_payload_put_uint(&pk, "number", wv->number);
        rc = rc ? rc : stk_payload_put_array(&pk, "enemies", wv->n_groups);
        for (uint32_t j = 0; rc == 0 && j < wv->n_groups; j++) {
            rc = pk_fail(msgpack_pack_map(&pk, 3));
            rc =
                rc ? rc
                   : stk_payload_put_cstr(&pk, "type", stk_map_enemy_type_name(wv->groups[j].type));
            rc = rc ? rc : stk_payload_put_uint(&pk, "count", wv->groups[j].count);
            rc = rc ? rc : stk_payload_put_uint(&pk, "interval_ms", wv->groups[j].interval_ms);
        }
    }
    return rc ? rc : check_out(type, out);
}

static int get_point(const msgpack_object *root, const char *key, stk_point_t *p)
{
    const msgpack_object *m = NULL;
    uint64_t x = 0, y = 0;
    if (stk_payload_get_map(root, key, &m) != 0 || stk_payload_get_uint(m, "x", &x) != 0 ||
        stk_payload_get_uint(m, "y", &y) != 0)
        return STK_ESCHEMA;
    p->x = (uint32_t)x; /* the schema bounds both to 0..99 */
    p->y = (uint32_t)y;
    return 0;
}

/* Fill *m from a map payload object already checked against its schema. */
static int map_from_object(const msgpack_object *root, stk_map_t *m, stk_game_map_meta_t *meta)
{
    uint64_t w = 0, h = 0;
    const uint8_t *terrain = NULL;
    size_t tl = 0;
    if (stk_payload_get_uint(root, "width", &w) != 0 ||
        stk_payload_get_uint(root, "height", &h) != 0 ||
        stk_payload_get_bin(root, "terrain", &terrain, &tl) != 0)
        return STK_ESCHEMA;
    int rc = stk_map_init(m, (uint32_t)w, (uint32_t)h);
    if (rc != 0 || tl != w * h * sizeof(stk_tile_t))
        return STK_ESCHEMA;
    memcpy(m->tiles, terrain, tl);
    if (get_point(root, "spawn", &m->spawn) != 0 || get_point(root, "goal", &m->goal) != 0)
        return STK_ESCHEMA;
    const msgpack_object *waves = NULL;
    size_t nw = 0;
    if (stk_payload_get_array(root, "waves", &waves, &nw) != 0 || nw > STK_MAP_MAX_WAVES)
        return STK_ESCHEMA;
    m->n_waves = (uint32_t)nw;
    for (size_t i = 0; i < nw; i++) {
        stk_map_wave_t *wv = &m->waves[i];
        uint64_t number = 0;
        const msgpack_object *groups = NULL;
        size_t ng = 0;
        if (stk_payload_get_uint(&waves[i], "number", &number) != 0 ||
            stk_payload_get_array(&waves[i], "enemies", &groups, &ng) != 0 ||
            ng > STK_MAP_MAX_GROUPS)
            return STK_ESCHEMA;
        /* A number past u32 cannot be 1..n: keep it invalid for stk_map_validate(). */
        wv->number = number > UINT32_MAX ? 0 : (uint32_t)number;
        wv->n_groups = (uint32_t)ng;
        for (size_t j = 0; j < ng; j++) {
            const char *name = NULL;
            size_t nl = 0;
            uint64_t count = 0, interval = 0;
            if (stk_payload_get_str(&groups[j], "type", &name, &nl) != 0 ||
                stk_payload_get_uint(&groups[j], "count", &count) != 0 ||
                stk_payload_get_uint(&groups[j], "interval_ms", &interval) != 0)
                return STK_ESCHEMA;
            int t = stk_map_enemy_type_parse(name, nl);
            wv->groups[j].type = t < 0 ? STK_ENEMY_TYPE_INVALID : (uint32_t)t;
            wv->groups[j].count = (uint32_t)count;          /* schema: 1..1000 */
            wv->groups[j].interval_ms = (uint32_t)interval; /* schema: 0..600000 */
        }
    }
    if (meta != NULL) {
        memset(meta, 0, sizeof *meta);
        stk_payload_get_uuid(root, "user_id", &meta->user_id); /* absent in MapEdited */
        if (stk_payload_get_str(root, "name", &meta->name, &meta->name_len) != 0 ||
            stk_payload_get_str(root, "description", &meta->description, &meta->description_len) !=
                0)
            return STK_ESCHEMA;
    }
    return 0;
}

int stk_game_map_decode(uint16_t type, uint16_t schema, const uint8_t *mp, size_t len, stk_map_t *m,
                        stk_game_map_meta_t *meta, stk_payload_error_t *err)
{
    if (mp == NULL || m == NULL || (type != STK_EV_MAP_DRAWN && type != STK_EV_MAP_EDITED))
        return stk_payload_fail(err, STK_EINVAL, "", "not a map event or NULL argument");
    msgpack_sbuffer scratch;
    msgpack_sbuffer_init(&scratch);
    const uint8_t *cur = NULL;
    size_t cur_len = 0;
    uint16_t cur_schema = 0;
    stk_payload_t p;
    memset(&p, 0, sizeof p);
    int rc = stk_upcast(type, schema, mp, len, &scratch, &cur, &cur_len, &cur_schema, err);
    if (rc != 0)
        goto done;
    if (cur != mp) {
        /* meta would point into scratch, which dies here: never the case while map events
         * have one schema version; refuse rather than hand out dangling pointers. */
        rc = stk_payload_fail(err, STK_EVERSION, "", "map upcast not supported");
        goto done;
    }
    rc = stk_payload_open_checked(&p, type, cur_schema, cur, cur_len, err);
    if (rc != 0)
        goto done;
    rc = map_from_object(stk_payload_root(&p), m, meta);
    if (rc != 0)
        stk_payload_fail(err, rc, "", "map payload does not fit the map struct");
    stk_payload_close(&p);
done:
    msgpack_sbuffer_destroy(&scratch);
    return rc;
}

/* ---- SessionOpened ------------------------------------------------------------------- */

int stk_game_opened_encode(const stk_uuid_t *map_id, const stk_game_setup_t *setup,
                           const uint8_t *map_payload, size_t map_len, msgpack_sbuffer *out)
{
    if (map_id == NULL || setup == NULL || map_payload == NULL || out == NULL)
        return STK_EINVAL;
    msgpack_sbuffer bal;
    msgpack_sbuffer_init(&bal);
    int rc = stk_game_balance_encode(&setup->balance, &bal);
    if (rc != 0)
        goto done;
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    rc = pk_fail(msgpack_pack_map(&pk, 6));
    rc = rc ? rc : stk_payload_put_uuid(&pk, "map_id", map_id);
    rc = rc ? rc : stk_payload_put_uint(&pk, "seed", setup->seed);
    rc = rc ? rc : stk_payload_put_uint(&pk, "ruleset", setup->ruleset);
    rc = rc ? rc : stk_payload_put_bin(&pk, "balance", bal.data, bal.size);
    rc = rc ? rc : stk_payload_put_bin(&pk, "map", map_payload, map_len);
    rc = rc ? rc : stk_payload_put_uint(&pk, "tick_rate", setup->tick_rate);
    rc = rc ? rc : check_out(STK_EV_SESSION_OPENED, out);
done:
    msgpack_sbuffer_destroy(&bal);
    return rc;
}

int stk_game_opened_decode(const stk_envelope_t *e, stk_map_t *map, stk_game_opened_t *out,
                           stk_payload_error_t *err)
{
    if (e == NULL || map == NULL || out == NULL || e->type != STK_EV_SESSION_OPENED)
        return stk_payload_fail(err, STK_EINVAL, "", "not a SessionOpened or NULL argument");
    msgpack_sbuffer scratch;
    msgpack_sbuffer_init(&scratch);
    const uint8_t *cur = NULL;
    size_t cur_len = 0;
    uint16_t cur_schema = 0;
    stk_payload_t p;
    memset(&p, 0, sizeof p);
    int rc = stk_upcast(e->type, e->schema, e->payload, e->payload_len, &scratch, &cur, &cur_len,
                        &cur_schema, err);
    if (rc != 0)
        goto done;
    rc = stk_payload_open_checked(&p, e->type, cur_schema, cur, cur_len, err);
    if (rc != 0)
        goto done;
    const msgpack_object *root = stk_payload_root(&p);
    memset(out, 0, sizeof *out);
    uint64_t seed = 0, ruleset = 0, tick_rate = 0;
    const uint8_t *bal = NULL, *mp = NULL;
    size_t bal_len = 0, mp_len = 0;
    if (stk_payload_get_uuid(root, "map_id", &out->map_id) != 0 ||
        stk_payload_get_uint(root, "seed", &seed) != 0 ||
        stk_payload_get_uint(root, "ruleset", &ruleset) != 0 ||
        stk_payload_get_uint(root, "tick_rate", &tick_rate) != 0 ||
        stk_payload_get_bin(root, "balance", &bal, &bal_len) != 0 ||
        stk_payload_get_bin(root, "map", &mp, &mp_len) != 0) {
        rc = stk_payload_fail(err, STK_ESCHEMA, "", "SessionOpened field missing");
        goto close;
    }
    if (ruleset > UINT32_MAX) {
        rc = stk_payload_fail(err, STK_ESCHEMA, "ruleset", "ruleset %llu does not fit u32",
                              (unsigned long long)ruleset);
        goto close;
    }
    out->setup.seed = seed;
    out->setup.ruleset = (uint32_t)ruleset;
    out->setup.tick_rate = (uint32_t)tick_rate; /* schema: 1..1000 */
    rc = stk_game_balance_decode(bal, bal_len, &out->setup.balance, err);
    if (rc != 0) {
        prefix_path(err, "balance");
        goto close;
    }
    rc = stk_game_map_decode(STK_EV_MAP_DRAWN, 1, mp, mp_len, map, NULL, err);
    if (rc != 0) {
        prefix_path(err, "map");
        goto close;
    }
    out->setup.map = map;
close:
    stk_payload_close(&p);
done:
    msgpack_sbuffer_destroy(&scratch);
    return rc;
}

/* ---- inputs and outcomes ------------------------------------------------------------- */

/* The input kind of a session event type, or -1 (core/game.h names each kind's event). */
static int kind_of_type(uint16_t type)
{
    for (int k = 0; k < STK_INPUT_KINDS; k++) {
        const char *ev = stk_game_input_event(k);
        const stk_event_type_t *t = ev ? stk_event_type_by_name(ev, strlen(ev)) : NULL;
        if (t != NULL && t->id == type)
            return k;
    }
    return -1;
}

static int decode_input(const msgpack_object *root, int kind, const stk_balance_t *balance,
                        stk_game_input_t *in, stk_payload_error_t *err)
{
    uint64_t u = 0;
    switch (kind) {
    case STK_INPUT_JOIN: {
        stk_uuid_t tribe;
        uint64_t d = 0, s = 0, r = 0;
        const char *c = NULL;
        size_t cl = 0;
        if (stk_payload_get_uuid(root, "tribe_id", &tribe) != 0 ||
            stk_payload_get_uint(root, "damage_bp", &d) != 0 ||
            stk_payload_get_uint(root, "attack_speed_bp", &s) != 0 ||
            stk_payload_get_uint(root, "range_bp", &r) != 0 ||
            stk_payload_get_str(root, "color", &c, &cl) != 0 ||
            stk_game_color_parse(c, cl, &in->color) != 0)
            return stk_payload_fail(err, STK_ESCHEMA, "", "PlayerJoined field unreadable");
        memcpy(in->tribe, tribe.b, STK_GAME_ID_LEN);
        in->damage_bp = (uint32_t)d; /* schema: 0..5000 */
        in->attack_speed_bp = (uint32_t)s;
        in->range_bp = (uint32_t)r;
        return 0;
    }
    case STK_INPUT_READY:
        if (stk_payload_get_bool(root, "ready", &in->ready) != 0)
            return stk_payload_fail(err, STK_ESCHEMA, "ready", "unreadable");
        return 0;
    case STK_INPUT_PLACE: {
        uint64_t x = 0, y = 0;
        const char *name = NULL;
        size_t nl = 0;
        if (stk_payload_get_uint(root, "x", &x) != 0 || x > UINT32_MAX)
            return stk_payload_fail(err, STK_ESCHEMA, "x", "does not fit u32");
        if (stk_payload_get_uint(root, "y", &y) != 0 || y > UINT32_MAX)
            return stk_payload_fail(err, STK_ESCHEMA, "y", "does not fit u32");
        if (stk_payload_get_str(root, "tower", &name, &nl) != 0)
            return stk_payload_fail(err, STK_ESCHEMA, "tower", "unreadable");
        in->x = (uint32_t)x;
        in->y = (uint32_t)y;
        char buf[STK_BALANCE_NAME_MAX + 1];
        in->tower = -1;
        if (nl < sizeof buf && memchr(name, 0, nl) == NULL) {
            memcpy(buf, name, nl);
            buf[nl] = '\0';
            stk_balance_t def;
            if (balance == NULL) {
                stk_balance_default(&def);
                balance = &def;
            }
            in->tower = stk_balance_tower_by_name(balance, buf);
        }
        return 0;
    }
    case STK_INPUT_UPGRADE:
    case STK_INPUT_SELL:
        if (stk_payload_get_uint(root, "tower_id", &u) != 0 || u > UINT32_MAX)
            return stk_payload_fail(err, STK_ESCHEMA, "tower_id", "does not fit u32");
        in->tower_id = (uint32_t)u;
        return 0;
    default:
        return 0; /* the other kinds carry no payload fields */
    }
}

static int decode_record(const msgpack_object *root, uint16_t type, stk_game_record_t *rec,
                         stk_payload_error_t *err)
{
    rec->type = type;
    if (stk_payload_get_uint(root, "hash", &rec->hash) != 0)
        return stk_payload_fail(err, STK_ESCHEMA, "hash", "unreadable");
    if (type == STK_EV_TICK_MARK)
        return 0;
    uint64_t wave = 0;
    int64_t lives = 0;
    if (stk_payload_get_uint(root, "wave", &wave) != 0 || wave > UINT32_MAX)
        return stk_payload_fail(err, STK_ESCHEMA, "wave", "does not fit u32");
    if (stk_payload_get_int(root, "lives", &lives) != 0 || lives < INT32_MIN || lives > INT32_MAX)
        return stk_payload_fail(err, STK_ESCHEMA, "lives", "does not fit int32");
    rec->wave = (uint32_t)wave;
    rec->lives = (int32_t)lives;
    const msgpack_object *gold = NULL;
    size_t ng = 0;
    if (stk_payload_get_array(root, "gold", &gold, &ng) != 0 || ng > STK_GAME_MAX_PLAYERS)
        return stk_payload_fail(err, STK_ESCHEMA, "gold", "more entries than players");
    rec->n_gold = (uint32_t)ng;
    for (size_t i = 0; i < ng; i++)
        if (stk_payload_as_uint(&gold[i], &rec->gold[i]) != 0)
            return stk_payload_fail(err, STK_ESCHEMA, "gold", "not an unsigned int");
    if (type == STK_EV_GAME_ENDED) {
        const char *r = NULL;
        size_t rl = 0;
        if (stk_payload_get_str(root, "result", &r, &rl) != 0)
            return stk_payload_fail(err, STK_ESCHEMA, "result", "unreadable");
        if (rl == 7 && memcmp(r, "victory", 7) == 0)
            rec->result = STK_RESULT_VICTORY;
        else if (rl == 6 && memcmp(r, "defeat", 6) == 0)
            rec->result = STK_RESULT_DEFEAT;
        else if (rl == 9 && memcmp(r, "abandoned", 9) == 0)
            rec->result = STK_RESULT_ABANDONED;
        else
            return stk_payload_fail(err, STK_ESCHEMA, "result", "unknown result");
    }
    return 0;
}

int stk_game_event_to_input(const stk_envelope_t *e, const stk_balance_t *balance,
                            stk_game_input_t *in, stk_game_record_t *rec, stk_payload_error_t *err)
{
    if (e == NULL || in == NULL || rec == NULL)
        return stk_payload_fail(err, STK_EINVAL, "", "NULL argument");
    const stk_event_type_t *t = stk_event_type_by_id(e->type);
    if (t == NULL)
        return stk_payload_fail(err, STK_ETYPE, "", "unknown event type %u", (unsigned)e->type);
    bool outcome =
        e->type == STK_EV_WAVE_ENDED || e->type == STK_EV_GAME_ENDED || e->type == STK_EV_TICK_MARK;
    int kind = outcome ? -1 : kind_of_type(e->type);
    if (!outcome && kind < 0)
        return STK_GAME_EVENT_OTHER;

    msgpack_sbuffer scratch;
    msgpack_sbuffer_init(&scratch);
    const uint8_t *cur = NULL;
    size_t cur_len = 0;
    uint16_t cur_schema = 0;
    stk_payload_t p;
    memset(&p, 0, sizeof p);
    int rc = stk_upcast(e->type, e->schema, e->payload, e->payload_len, &scratch, &cur, &cur_len,
                        &cur_schema, err);
    if (rc != 0)
        goto done;
    rc = stk_payload_open_checked(&p, e->type, cur_schema, cur, cur_len, err);
    if (rc != 0)
        goto done;
    if (outcome) {
        memset(rec, 0, sizeof *rec);
        rec->tick = e->tick;
        rc = decode_record(stk_payload_root(&p), e->type, rec, err);
        if (rc == 0)
            rc = STK_GAME_EVENT_OUTCOME;
    } else {
        memset(in, 0, sizeof *in);
        in->kind = kind;
        memcpy(in->player, e->actor.b, STK_GAME_ID_LEN);
        rc = decode_input(stk_payload_root(&p), kind, balance, in, err);
        if (rc == 0)
            rc = STK_GAME_EVENT_INPUT;
    }
    stk_payload_close(&p);
done:
    msgpack_sbuffer_destroy(&scratch);
    return rc;
}

static uint16_t type_of_kind(int kind)
{
    const char *ev = stk_game_input_event(kind);
    const stk_event_type_t *t = ev ? stk_event_type_by_name(ev, strlen(ev)) : NULL;
    return t != NULL ? t->id : 0;
}

int stk_game_input_encode(const stk_game_input_t *in, const stk_balance_t *balance, uint16_t *type,
                          msgpack_sbuffer *out)
{
    if (in == NULL || type == NULL || out == NULL)
        return STK_EINVAL;
    uint16_t t = type_of_kind(in->kind);
    if (t == 0)
        return STK_EINVAL;
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = 0;
    switch (in->kind) {
    case STK_INPUT_JOIN: {
        char color[8];
        stk_uuid_t tribe;
        if (stk_game_color_format(in->color, color) != 0)
            return STK_ESCHEMA;
        memcpy(tribe.b, in->tribe, STK_UUID_LEN);
        rc = pk_fail(msgpack_pack_map(&pk, 5));
        rc = rc ? rc : stk_payload_put_uuid(&pk, "tribe_id", &tribe);
        rc = rc ? rc : stk_payload_put_uint(&pk, "damage_bp", in->damage_bp);
        rc = rc ? rc : stk_payload_put_uint(&pk, "attack_speed_bp", in->attack_speed_bp);
        rc = rc ? rc : stk_payload_put_uint(&pk, "range_bp", in->range_bp);
        rc = rc ? rc : stk_payload_put_cstr(&pk, "color", color);
        break;
    }
    case STK_INPUT_READY:
        rc = pk_fail(msgpack_pack_map(&pk, 1));
        rc = rc ? rc : stk_payload_put_bool(&pk, "ready", in->ready);
        break;
    case STK_INPUT_PLACE: {
        if (in->tower < 0 || in->tower >= STK_TOWER_KINDS)
            return STK_EINVAL;
        stk_balance_t def;
        if (balance == NULL) {
            stk_balance_default(&def);
            balance = &def;
        }
        const char *name = balance->tower[in->tower].name;
        rc = pk_fail(msgpack_pack_map(&pk, 3));
        rc = rc ? rc : stk_payload_put_uint(&pk, "x", in->x);
        rc = rc ? rc : stk_payload_put_uint(&pk, "y", in->y);
        rc = rc ? rc : stk_payload_put_str(&pk, "tower", name, strnlen(name, STK_BALANCE_NAME_MAX));
        break;
    }
    case STK_INPUT_UPGRADE:
    case STK_INPUT_SELL:
        rc = pk_fail(msgpack_pack_map(&pk, 1));
        rc = rc ? rc : stk_payload_put_uint(&pk, "tower_id", in->tower_id);
        break;
    default:
        rc = pk_fail(msgpack_pack_map(&pk, 0));
        break;
    }
    if (rc == 0)
        rc = check_out(t, out);
    if (rc == 0)
        *type = t;
    return rc;
}

int stk_game_record_from_outcome(uint16_t type, const stk_game_outcome_t *o, stk_game_record_t *rec)
{
    if (o == NULL || rec == NULL ||
        (type != STK_EV_WAVE_ENDED && type != STK_EV_GAME_ENDED && type != STK_EV_TICK_MARK))
        return STK_EINVAL;
    memset(rec, 0, sizeof *rec);
    rec->type = type;
    rec->tick = o->tick;
    rec->hash = o->hash;
    if (type == STK_EV_TICK_MARK)
        return 0;
    rec->wave = type == STK_EV_WAVE_ENDED ? o->wave_cleared : o->wave;
    rec->result = type == STK_EV_GAME_ENDED ? o->result : STK_RESULT_NONE;
    rec->lives = o->lives;
    rec->n_gold = o->n_players > STK_GAME_MAX_PLAYERS ? STK_GAME_MAX_PLAYERS : o->n_players;
    for (uint32_t i = 0; i < rec->n_gold; i++)
        rec->gold[i] = o->gold[i];
    return 0;
}

int stk_game_record_encode(const stk_game_record_t *rec, msgpack_sbuffer *out)
{
    if (rec == NULL || out == NULL || rec->n_gold > STK_GAME_MAX_PLAYERS)
        return STK_EINVAL;
    const char *result = NULL;
    switch (rec->type) {
    case STK_EV_TICK_MARK:
    case STK_EV_WAVE_ENDED:
        break;
    case STK_EV_GAME_ENDED:
        if (rec->result == STK_RESULT_NONE)
            return STK_EINVAL;
        result = stk_game_result_name(rec->result);
        break;
    default:
        return STK_EINVAL;
    }
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = 0;
    if (rec->type == STK_EV_TICK_MARK) {
        rc = pk_fail(msgpack_pack_map(&pk, 1));
    } else {
        rc = pk_fail(msgpack_pack_map(&pk, result ? 5 : 4));
        if (rc == 0 && result)
            rc = stk_payload_put_cstr(&pk, "result", result);
        rc = rc ? rc : stk_payload_put_uint(&pk, "wave", rec->wave);
        rc = rc ? rc : stk_payload_put_int(&pk, "lives", rec->lives);
        rc = rc ? rc : stk_payload_put_array(&pk, "gold", rec->n_gold);
        for (uint32_t i = 0; rc == 0 && i < rec->n_gold; i++)
            rc = pk_fail(msgpack_pack_uint64(&pk, rec->gold[i]));
    }
    rc = rc ? rc : stk_payload_put_uint(&pk, "hash", rec->hash);
    return rc ? rc : check_out(rec->type, out);
}

bool stk_game_record_equal(const stk_game_record_t *a, const stk_game_record_t *b)
{
    if (a == NULL || b == NULL || a->type != b->type || a->tick != b->tick || a->hash != b->hash)
        return false;
    if (a->type == STK_EV_TICK_MARK)
        return true;
    if (a->wave != b->wave || a->lives != b->lives || a->n_gold != b->n_gold ||
        a->n_gold > STK_GAME_MAX_PLAYERS)
        return false;
    for (uint32_t i = 0; i < a->n_gold; i++)
        if (a->gold[i] != b->gold[i])
            return false;
    return a->type != STK_EV_GAME_ENDED || a->result == b->result;
}
