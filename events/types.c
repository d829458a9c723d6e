/* events/types.c — expands events/types.def into the field tables, the type catalogue and
 * the schema index, and holds the few cross-field hooks the tables cannot express.
 *
 * Not here: walking payloads (events/payload.c). The hooks run only after the field table
 * accepted the payload, so every required key they read is present with the right kind.
 */
#include "events/types.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "events/payload.h"

/* ---- field macros used by types.def ---------------------------------------------- */

#define STK_F_BASE(k, kd) .key = (k), .kind = (kd), .flags = STK_FF_REQUIRED
#define STK_F_UINT(k, lo, hi)                                                                      \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_UINT), .min = (lo), .max = (hi)                                       \
    }
#define STK_F_UINT_ANY(k) STK_F_UINT(k, 0, UINT64_MAX)
#define STK_F_U64(k)                                                                               \
    {                                                                                              \
        .key = (k), .kind = STK_FK_UINT, .flags = STK_FF_REQUIRED | STK_FF_DECIMAL,                \
        .max = UINT64_MAX                                                                          \
    }
#define STK_F_INT_ANY(k)                                                                           \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_INT), .imin = INT64_MIN, .imax = INT64_MAX                            \
    }
#define STK_F_BOOL(k)                                                                              \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_BOOL)                                                                 \
    }
#define STK_F_UUID(k)                                                                              \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_UUID), .min = STK_UUID_LEN, .max = STK_UUID_LEN                       \
    }
#define STK_F_STR(k, lo, hi)                                                                       \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_STR), .min = (lo), .max = (hi)                                        \
    }
#define STK_F_ENUM(k, vals)                                                                        \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_STR), .min = 1, .max = 64, .fmt = STK_FMT_ENUM, .values = (vals)      \
    }
#define STK_F_COLOR(k)                                                                             \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_STR), .min = 7, .max = 7, .fmt = STK_FMT_COLOR                        \
    }
#define STK_F_BIN(k, lo, hi)                                                                       \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_BIN), .min = (lo), .max = (hi)                                        \
    }
#define STK_F_MAP(k, table)                                                                        \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_MAP), .sub = &(table)                                                 \
    }
#define STK_F_ARRAY_UINT(k, lo, hi)                                                                \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_ARRAY), .min = (lo), .max = (hi), .elem = &(const stk_field_t)        \
        {                                                                                          \
            .kind = STK_FK_UINT, .max = UINT64_MAX                                                 \
        }                                                                                          \
    }
#define STK_F_ARRAY_MAP(k, lo, hi, table)                                                          \
    {                                                                                              \
        STK_F_BASE(k, STK_FK_ARRAY), .min = (lo), .max = (hi), .elem = &(const stk_field_t)        \
        {                                                                                          \
            .kind = STK_FK_MAP, .sub = &(table)                                                    \
        }                                                                                          \
    }

/* ---- cross-field hooks ----------------------------------------------------------- */

static const stk_fields_t stk_no_fields = {NULL, 0};

/* A tribe's three bonuses (damage, attack speed, range) sum to 0.50 = 5000 bp. */
static int stk_hook_bonuses(const msgpack_object *root, stk_payload_error_t *err)
{
    uint64_t d = 0, a = 0, r = 0;
    stk_payload_get_uint(root, "damage_bp", &d);
    stk_payload_get_uint(root, "attack_speed_bp", &a);
    stk_payload_get_uint(root, "range_bp", &r);
    if (d + a + r != 5000)
        return stk_payload_fail(err, STK_ESCHEMA, "damage_bp+attack_speed_bp+range_bp",
                                "bonuses sum to %llu bp, expected 5000",
                                (unsigned long long)(d + a + r));
    return 0;
}

static int check_point(const msgpack_object *root, const char *key, uint64_t w, uint64_t h,
                       stk_payload_error_t *err)
{
    const msgpack_object *pt = NULL;
    uint64_t x = 0, y = 0;
    char path[32];
    stk_payload_get_map(root, key, &pt);
    stk_payload_get_uint(pt, "x", &x);
    stk_payload_get_uint(pt, "y", &y);
    if (x >= w) {
        snprintf(path, sizeof path, "%s.x", key);
        return stk_payload_fail(err, STK_ESCHEMA, path, "%llu outside a map %llu wide",
                                (unsigned long long)x, (unsigned long long)w);
    }
    if (y >= h) {
        snprintf(path, sizeof path, "%s.y", key);
        return stk_payload_fail(err, STK_ESCHEMA, path, "%llu outside a map %llu high",
                                (unsigned long long)y, (unsigned long long)h);
    }
    return 0;
}

/* Terrain holds 3 bytes per tile; spawn and goal lie on the grid. */
static int stk_hook_map(const msgpack_object *root, stk_payload_error_t *err)
{
    uint64_t w = 0, h = 0;
    const uint8_t *t = NULL;
    size_t tl = 0;
    stk_payload_get_uint(root, "width", &w);
    stk_payload_get_uint(root, "height", &h);
    stk_payload_get_bin(root, "terrain", &t, &tl);
    if ((uint64_t)tl != w * h * 3)
        return stk_payload_fail(err, STK_ESCHEMA, "terrain",
                                "%zu bytes, expected width*height*3 = %llu", tl,
                                (unsigned long long)(w * h * 3));
    int rc = check_point(root, "spawn", w, h, err);
    if (rc == 0)
        rc = check_point(root, "goal", w, h, err);
    return rc;
}

/* The embedded map is a valid MapDrawn v1 payload (the core plays it as is). */
static int stk_hook_session_map(const msgpack_object *root, stk_payload_error_t *err)
{
    const uint8_t *m = NULL;
    size_t ml = 0;
    stk_payload_error_t inner;
    stk_payload_get_bin(root, "map", &m, &ml);
    int rc = stk_payload_check(STK_EV_MAP_DRAWN, 1, m, ml, &inner);
    if (rc == 0)
        return 0;
    char path[sizeof inner.path + 8];
    snprintf(path, sizeof path, "map%s%s", inner.path[0] != '\0' ? "." : "", inner.path);
    return stk_payload_fail(err, STK_ESCHEMA, path, "embedded MapDrawn: %s", inner.reason);
}

/* ---- tables ------------------------------------------------------------------------ */

#define STK_FIELDS(table, ...)                                                                     \
    static const stk_field_t table##_f[] = {__VA_ARGS__};                                          \
    static const stk_fields_t table = {table##_f, sizeof table##_f / sizeof table##_f[0]};
#include "events/types.def"

static const stk_event_type_t types[] = {
#define STK_EVENT(ENUM, Name, id, schema, STREAM, KIND)                                            \
    {(id), #Name, (schema), STK_STREAM_##STREAM, STK_EVENT_##KIND},
#include "events/types.def"
};

typedef struct schema_row {
    uint16_t type;
    stk_schema_t s;
} schema_row_t;

static const schema_row_t schemas[] = {
#define STK_SCHEMA(ENUM, version, table, hook) {STK_EV_##ENUM, {(version), &(table), (hook)}},
#include "events/types.def"
};

#define NTYPES   (sizeof types / sizeof types[0])
#define NSCHEMAS (sizeof schemas / sizeof schemas[0])

size_t stk_event_type_count(void)
{
    return NTYPES;
}

const stk_event_type_t *stk_event_type_at(size_t i)
{
    return i < NTYPES ? &types[i] : NULL;
}

const stk_event_type_t *stk_event_type_by_id(uint16_t id)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (types[i].id == id)
            return &types[i];
    return NULL;
}

const stk_event_type_t *stk_event_type_by_name(const char *name, size_t len)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < NTYPES; i++)
        if (strlen(types[i].name) == len && memcmp(types[i].name, name, len) == 0)
            return &types[i];
    return NULL;
}

const stk_schema_t *stk_event_schema(uint16_t type, uint16_t version)
{
    for (size_t i = 0; i < NSCHEMAS; i++)
        if (schemas[i].type == type && schemas[i].s.version == version)
            return &schemas[i].s;
    return NULL;
}

const char *stk_stream_kind_name(stk_stream_kind_t k)
{
    switch (k) {
    case STK_STREAM_USER:
        return "user";
    case STK_STREAM_TRIBE:
        return "tribe";
    case STK_STREAM_MAP:
        return "map";
    case STK_STREAM_SESSION:
        return "session";
    }
    return "?";
}
