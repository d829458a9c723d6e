/* tests/events/test_types.c — the event catalogue, the payload validator, the typed
 * readers and builders: every type gets a valid payload that validates and survives a
 * MessagePack -> JSON -> MessagePack round trip byte for byte, and hostile payloads of
 * every type are refused with the offending field's path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/json.h"
#include "events/payload.h"
#include "events/types.h"

/* ---- valid payloads built from C ---------------------------------------------------- */

static const stk_uuid_t U1 = {{0x0f, 0x8f, 0xad, 0x5b, 0xd9, 0xcb, 0x46, 0x9f, 0xa1, 0x65, 0x70,
                               0x86, 0x77, 0x28, 0x95, 0x0e}};

static void put_map_body(msgpack_packer *pk, int with_user)
{
    static uint8_t terrain[20 * 20 * 3];
    for (size_t i = 0; i < sizeof terrain; i++)
        terrain[i] = (uint8_t)(i % 3 == 2 ? (i / 3) % 7 == 0 : i % 5);
    msgpack_pack_map(pk, with_user ? 9 : 8);
    if (with_user)
        stk_payload_put_uuid(pk, "user_id", &U1);
    stk_payload_put_cstr(pk, "name", "Crossing");
    stk_payload_put_cstr(pk, "description", "");
    stk_payload_put_uint(pk, "width", 20);
    stk_payload_put_uint(pk, "height", 20);
    stk_payload_put_bin(pk, "terrain", terrain, sizeof terrain);
    stk_payload_put_map(pk, "spawn", 2);
    stk_payload_put_uint(pk, "x", 0);
    stk_payload_put_uint(pk, "y", 5);
    stk_payload_put_map(pk, "goal", 2);
    stk_payload_put_uint(pk, "x", 19);
    stk_payload_put_uint(pk, "y", 5);
    stk_payload_put_array(pk, "waves", 3);
    for (unsigned w = 0; w < 3; w++) {
        msgpack_pack_map(pk, 2);
        stk_payload_put_uint(pk, "number", w + 1);
        stk_payload_put_array(pk, "enemies", 2);
        for (unsigned e = 0; e < 2; e++) {
            msgpack_pack_map(pk, 3);
            stk_payload_put_cstr(pk, "type", e == 0 ? "grunt" : "flyer");
            stk_payload_put_uint(pk, "count", 5 + w);
            stk_payload_put_uint(pk, "interval_ms", 800);
        }
    }
}

static void put_bonuses(msgpack_packer *pk)
{
    stk_payload_put_uint(pk, "damage_bp", 1000);
    stk_payload_put_uint(pk, "attack_speed_bp", 2500);
    stk_payload_put_uint(pk, "range_bp", 1500);
}

/* Appends a valid, canonical payload of (type, version) to sb. */
static void build_valid(uint16_t type, uint16_t version, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    switch (type) {
    case STK_EV_USER_REGISTERED:
        msgpack_pack_map(&pk, 3);
        stk_payload_put_cstr(&pk, "username", "bob");
        stk_payload_put_bin(&pk, "email", "\x01\x02\x03", 3);
        stk_payload_put_bin(&pk, "password_hash", "\x00", 1);
        break;
    case STK_EV_TRIBE_FOUNDED:
    case STK_EV_TRIBE_UPDATED:
        msgpack_pack_map(&pk, type == STK_EV_TRIBE_FOUNDED ? 7 : 6);
        if (type == STK_EV_TRIBE_FOUNDED)
            stk_payload_put_uuid(&pk, "user_id", &U1);
        stk_payload_put_cstr(&pk, "name", "Ölkrüge");
        stk_payload_put_cstr(&pk, "archetype", "Support");
        put_bonuses(&pk);
        stk_payload_put_cstr(&pk, "color", "#ffAA00");
        break;
    case STK_EV_MAP_DRAWN:
        put_map_body(&pk, 1);
        break;
    case STK_EV_MAP_EDITED:
        put_map_body(&pk, 0);
        break;
    case STK_EV_MAP_PUBLISHED:
        msgpack_pack_map(&pk, 1);
        stk_payload_put_bool(&pk, "public", false);
        break;
    case STK_EV_MAP_RATED:
        msgpack_pack_map(&pk, 2);
        stk_payload_put_uuid(&pk, "user_id", &U1);
        stk_payload_put_uint(&pk, "stars", 0);
        break;
    case STK_EV_SESSION_OPENED: {
        msgpack_sbuffer map;
        msgpack_packer mpk;
        msgpack_sbuffer_init(&map);
        msgpack_packer_init(&mpk, &map, msgpack_sbuffer_write);
        put_map_body(&mpk, 1);
        msgpack_pack_map(&pk, version == 1 ? 5 : 6);
        stk_payload_put_uuid(&pk, "map_id", &U1);
        stk_payload_put_uint(&pk, "seed", UINT64_MAX);
        stk_payload_put_uint(&pk, "ruleset", 1);
        stk_payload_put_bin(&pk, "balance", "\x80", 1);
        stk_payload_put_bin(&pk, "map", map.data, map.size);
        if (version >= 2)
            stk_payload_put_uint(&pk, "tick_rate", 60);
        msgpack_sbuffer_destroy(&map);
        break;
    }
    case STK_EV_PLAYER_JOINED:
        msgpack_pack_map(&pk, 5);
        stk_payload_put_uuid(&pk, "tribe_id", &U1);
        put_bonuses(&pk);
        stk_payload_put_cstr(&pk, "color", "#000000");
        break;
    case STK_EV_PLAYER_READY:
        msgpack_pack_map(&pk, 1);
        stk_payload_put_bool(&pk, "ready", true);
        break;
    case STK_EV_TOWER_PLACED:
        msgpack_pack_map(&pk, 3);
        stk_payload_put_uint(&pk, "x", 3);
        stk_payload_put_uint(&pk, "y", 250);
        stk_payload_put_cstr(&pk, "tower", "splash");
        break;
    case STK_EV_TOWER_UPGRADED:
    case STK_EV_TOWER_SOLD:
        msgpack_pack_map(&pk, 1);
        stk_payload_put_uint(&pk, "tower_id", 70000);
        break;
    case STK_EV_WAVE_ENDED:
    case STK_EV_GAME_ENDED:
        msgpack_pack_map(&pk, type == STK_EV_GAME_ENDED ? 5 : 4);
        if (type == STK_EV_GAME_ENDED)
            stk_payload_put_cstr(&pk, "result", "defeat");
        stk_payload_put_uint(&pk, "wave", 4);
        stk_payload_put_int(&pk, "lives", -2);
        stk_payload_put_array(&pk, "gold", 4);
        for (int i = 0; i < 4; i++)
            msgpack_pack_uint64(&pk, (uint64_t)i * 1000000007u);
        stk_payload_put_uint(&pk, "hash", 0xfedcba9876543210ull);
        break;
    case STK_EV_TICK_MARK:
        msgpack_pack_map(&pk, 1);
        stk_payload_put_uint(&pk, "hash", 7);
        break;
    default: /* the types without fields */
        msgpack_pack_map(&pk, 0);
        break;
    }
}

/* ---- mutation of a valid payload ---------------------------------------------------- */

typedef void (*mutate_fn)(msgpack_object *root, msgpack_zone *z, void *arg);

/* Build the valid payload of (type, version), let fn edit its object tree, repack the
 * tree into out and validate it. Returns the check's result. */
static int check_mutated(uint16_t type, uint16_t version, mutate_fn fn, void *arg,
                         stk_payload_error_t *err)
{
    msgpack_sbuffer valid, out;
    msgpack_packer pk;
    stk_payload_t p;
    msgpack_sbuffer_init(&valid);
    msgpack_sbuffer_init(&out);
    build_valid(type, version, &valid);
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)valid.data, valid.size, NULL), 0);
    fn((msgpack_object *)stk_payload_root(&p), &p.zone, arg);
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *stk_payload_root(&p));
    memset(err, 0, sizeof *err);
    int rc = stk_payload_check(type, version, (const uint8_t *)out.data, out.size, err);
    stk_payload_close(&p);
    msgpack_sbuffer_destroy(&valid);
    msgpack_sbuffer_destroy(&out);
    return rc;
}

static msgpack_object *find_mut(msgpack_object *map, const char *key)
{
    return (msgpack_object *)stk_payload_find(map, key);
}

static void drop_key(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    const char *key = arg;
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_str *k = &root->via.map.ptr[i].key.via.str;
        if (k->size == strlen(key) && memcmp(k->ptr, key, k->size) == 0) {
            root->via.map.ptr[i] = root->via.map.ptr[root->via.map.size - 1];
            root->via.map.size--;
            return;
        }
    }
}

/* Appends the pair (key arg, nil) — or duplicates the first pair if arg is NULL. */
static void add_key(msgpack_object *root, msgpack_zone *z, void *arg)
{
    uint32_t n = root->via.map.size;
    msgpack_object_kv *kv = msgpack_zone_malloc(z, (n + 1) * sizeof *kv);
    memcpy(kv, root->via.map.ptr, n * sizeof *kv);
    if (arg != NULL) {
        kv[n].key.type = MSGPACK_OBJECT_STR;
        kv[n].key.via.str.ptr = arg;
        kv[n].key.via.str.size = (uint32_t)strlen(arg);
        kv[n].val.type = MSGPACK_OBJECT_NIL;
    } else {
        kv[n] = kv[0];
    }
    root->via.map.ptr = kv;
    root->via.map.size = n + 1;
}

typedef struct {
    const char *key;
    msgpack_object val;
} set_arg_t;

static void set_key(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    set_arg_t *a = arg;
    msgpack_object *v = find_mut(root, a->key);
    cr_assert_not_null(v, "no key %s", a->key);
    *v = a->val;
}

static msgpack_object obj_uint(uint64_t v)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    o.via.u64 = v;
    return o;
}

static msgpack_object obj_nil(void)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_NIL};
    return o;
}

static msgpack_object obj_str(const char *s, size_t n)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)n;
    return o;
}

static msgpack_object obj_bin(const char *s, size_t n)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_BIN};
    o.via.bin.ptr = s;
    o.via.bin.size = (uint32_t)n;
    return o;
}

static void expect_error(int rc, const stk_payload_error_t *err, const char *path,
                         const char *reason_part, const char *what)
{
    cr_expect_eq(rc, STK_ESCHEMA, "%s: rc %d (%s)", what, rc, stk_errname(rc));
    cr_expect_str_eq(err->path, path, "%s: path '%s' (%s)", what, err->path, err->reason);
    cr_expect(strstr(err->reason, reason_part) != NULL, "%s: reason '%s' lacks '%s'", what,
              err->reason, reason_part);
}

/* ---- catalogue ---------------------------------------------------------------------- */

Test(types, ids_and_names_are_unique_and_looked_up_both_ways)
{
    size_t n = stk_event_type_count();
    cr_assert_eq(n, 27, "the list has 27 event types");
    for (size_t i = 0; i < n; i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        cr_expect_eq(stk_event_type_by_id(t->id), t);
        cr_expect_eq(stk_event_type_by_name(t->name, strlen(t->name)), t);
        for (size_t j = i + 1; j < n; j++) {
            cr_expect_neq(t->id, stk_event_type_at(j)->id);
            cr_expect_str_neq(t->name, stk_event_type_at(j)->name);
        }
        for (uint16_t v = 1; v <= t->schema; v++)
            cr_expect_not_null(stk_event_schema(t->id, v), "%s v%u", t->name, v);
        cr_expect_null(stk_event_schema(t->id, 0));
        cr_expect_null(stk_event_schema(t->id, (uint16_t)(t->schema + 1)));
    }
    cr_expect_null(stk_event_type_at(n));
    cr_expect_null(stk_event_type_by_id(0));
    cr_expect_null(stk_event_type_by_id(9999));
    cr_expect_null(stk_event_type_by_name("sessionopened", 13));
    cr_expect_null(stk_event_type_by_name("SessionOpenedX", 14));
}

Test(types, stable_ids_streams_and_kinds_match_the_list)
{
    const stk_event_type_t *t = stk_event_type_by_name("SessionOpened", 13);
    cr_assert_not_null(t);
    cr_expect_eq(t->id, STK_EV_SESSION_OPENED);
    cr_expect_eq(t->id, 30);
    cr_expect_eq(t->schema, 2);
    cr_expect_eq(t->stream, STK_STREAM_SESSION);
    cr_expect_eq(t->kind, STK_EVENT_INPUT);
    cr_expect_eq(stk_event_type_by_id(STK_EV_USER_REGISTERED)->stream, STK_STREAM_USER);
    cr_expect_eq(stk_event_type_by_id(STK_EV_TRIBE_DELETED)->stream, STK_STREAM_TRIBE);
    cr_expect_eq(stk_event_type_by_id(STK_EV_MAP_RATED)->stream, STK_STREAM_MAP);
    cr_expect_eq(stk_event_type_by_id(STK_EV_WAVE_ENDED)->kind, STK_EVENT_OUTCOME);
    cr_expect_eq(stk_event_type_by_id(STK_EV_GAME_ENDED)->kind, STK_EVENT_OUTCOME);
    cr_expect_eq(stk_event_type_by_id(STK_EV_TICK_MARK)->kind, STK_EVENT_OUTCOME);
    cr_expect_eq(stk_event_type_by_id(STK_EV_TOWER_PLACED)->kind, STK_EVENT_INPUT);
    cr_expect_str_eq(stk_stream_kind_name(STK_STREAM_TRIBE), "tribe");
}

/* ---- every type: valid, round trip, hostile ------------------------------------------ */

Test(types, every_type_and_version_has_a_valid_payload)
{
    for (size_t i = 0; i < stk_event_type_count(); i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        for (uint16_t v = 1; v <= t->schema; v++) {
            msgpack_sbuffer sb;
            stk_payload_error_t err = {{0}, {0}};
            msgpack_sbuffer_init(&sb);
            build_valid(t->id, v, &sb);
            int rc = stk_payload_check(t->id, v, (const uint8_t *)sb.data, sb.size, &err);
            cr_expect_eq(rc, 0, "%s v%u: %s: %s", t->name, v, err.path, err.reason);
            msgpack_sbuffer_destroy(&sb);
        }
    }
}

Test(types, msgpack_json_msgpack_round_trip_gives_identical_bytes)
{
    for (size_t i = 0; i < stk_event_type_count(); i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        for (uint16_t v = 1; v <= t->schema; v++) {
            msgpack_sbuffer sb, back;
            json_t *j = NULL;
            stk_payload_error_t err = {{0}, {0}};
            msgpack_sbuffer_init(&sb);
            msgpack_sbuffer_init(&back);
            build_valid(t->id, v, &sb);
            int rc = stk_json_from_payload(t->id, v, (const uint8_t *)sb.data, sb.size, &j, &err);
            cr_assert_eq(rc, 0, "%s: %s: %s", t->name, err.path, err.reason);
            rc = stk_json_to_payload(t->id, v, j, &back, &err);
            cr_assert_eq(rc, 0, "%s: %s: %s", t->name, err.path, err.reason);
            cr_expect_eq(back.size, sb.size, "%s v%u", t->name, v);
            cr_expect(back.size == sb.size && memcmp(back.data, sb.data, sb.size) == 0,
                      "%s v%u: bytes differ after the JSON round trip", t->name, v);
            json_decref(j);
            msgpack_sbuffer_destroy(&sb);
            msgpack_sbuffer_destroy(&back);
        }
    }
}

Test(types, every_missing_wrongly_kinded_unknown_or_duplicate_key_is_named)
{
    char what[160];
    for (size_t i = 0; i < stk_event_type_count(); i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        for (uint16_t v = 1; v <= t->schema; v++) {
            const stk_fields_t *fs = stk_event_schema(t->id, v)->fields;
            stk_payload_error_t err;
            int rc;

            snprintf(what, sizeof what, "%s v%u unknown key", t->name, v);
            rc = check_mutated(t->id, v, add_key, "bogus", &err);
            expect_error(rc, &err, "bogus", "unknown key", what);

            for (size_t f = 0; f < fs->n; f++) {
                const char *key = fs->f[f].key;
                snprintf(what, sizeof what, "%s v%u missing %s", t->name, v, key);
                rc = check_mutated(t->id, v, drop_key, (void *)key, &err);
                expect_error(rc, &err, key, "missing", what);

                snprintf(what, sizeof what, "%s v%u nil %s", t->name, v, key);
                set_arg_t a = {key, obj_nil()};
                rc = check_mutated(t->id, v, set_key, &a, &err);
                expect_error(rc, &err, key, "got nil", what);
            }
            if (fs->n > 0) {
                snprintf(what, sizeof what, "%s v%u duplicate", t->name, v);
                rc = check_mutated(t->id, v, add_key, NULL, &err);
                cr_expect_eq(rc, STK_ESCHEMA, "%s", what);
                cr_expect(strstr(err.reason, "duplicate") != NULL, "%s: %s", what, err.reason);
            }
        }
    }
}

Test(types, every_bounded_field_refuses_values_outside_its_range)
{
    static char big[70000];
    memset(big, 'a', sizeof big);
    char what[160];
    for (size_t i = 0; i < stk_event_type_count(); i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        for (uint16_t v = 1; v <= t->schema; v++) {
            const stk_fields_t *fs = stk_event_schema(t->id, v)->fields;
            for (size_t f = 0; f < fs->n; f++) {
                const stk_field_t *fd = &fs->f[f];
                stk_payload_error_t err;
                set_arg_t lo = {fd->key, obj_nil()}, hi = {fd->key, obj_nil()};
                int has_lo = 0, has_hi = 0;
                switch (fd->kind) {
                case STK_FK_UINT:
                    has_lo = fd->min > 0, lo.val = obj_uint(fd->min - 1);
                    has_hi = fd->max < UINT64_MAX, hi.val = obj_uint(fd->max + 1);
                    break;
                case STK_FK_STR:
                    has_lo = fd->min > 0, lo.val = obj_str(big, fd->min - 1);
                    has_hi = fd->max < sizeof big, hi.val = obj_str(big, fd->max + 1);
                    break;
                case STK_FK_BIN:
                    has_lo = fd->min > 0, lo.val = obj_bin(big, fd->min - 1);
                    has_hi = fd->max < sizeof big, hi.val = obj_bin(big, fd->max + 1);
                    break;
                case STK_FK_UUID:
                    has_lo = has_hi = 1;
                    lo.val = obj_bin(big, 15);
                    hi.val = obj_bin(big, 17);
                    break;
                default:
                    break;
                }
                if (has_lo) {
                    snprintf(what, sizeof what, "%s v%u %s below min", t->name, v, fd->key);
                    int rc = check_mutated(t->id, v, set_key, &lo, &err);
                    cr_expect_eq(rc, STK_ESCHEMA, "%s", what);
                    cr_expect_str_eq(err.path, fd->key, "%s: %s", what, err.reason);
                }
                if (has_hi) {
                    snprintf(what, sizeof what, "%s v%u %s above max", t->name, v, fd->key);
                    int rc = check_mutated(t->id, v, set_key, &hi, &err);
                    cr_expect_eq(rc, STK_ESCHEMA, "%s", what);
                    cr_expect_str_eq(err.path, fd->key, "%s: %s", what, err.reason);
                }
            }
        }
    }
}

/* ---- nested paths and cross-field rules ----------------------------------------------- */

static void enemy_count_zero(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    (void)arg;
    const msgpack_object *waves, *enemies;
    size_t nw, ne;
    cr_assert_eq(stk_payload_get_array(root, "waves", &waves, &nw), 0);
    cr_assert_eq(stk_payload_get_array(&waves[2], "enemies", &enemies, &ne), 0);
    *find_mut((msgpack_object *)&enemies[1], "count") = obj_uint(0);
}

Test(types, nested_field_errors_carry_the_full_path)
{
    stk_payload_error_t err;
    int rc = check_mutated(STK_EV_MAP_DRAWN, 1, enemy_count_zero, NULL, &err);
    expect_error(rc, &err, "waves[2].enemies[1].count", "out of range 1..1000", "count 0");
}

static void wave_string_gold(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    (void)arg;
    const msgpack_object *gold;
    size_t n;
    cr_assert_eq(stk_payload_get_array(root, "gold", &gold, &n), 0);
    ((msgpack_object *)gold)[3] = obj_str("x", 1);
}

Test(types, array_elements_of_the_wrong_kind_are_named_by_index)
{
    stk_payload_error_t err;
    int rc = check_mutated(STK_EV_WAVE_ENDED, 1, wave_string_gold, NULL, &err);
    expect_error(rc, &err, "gold[3]", "expected uint, got str", "gold[3] str");
}

static void grow_width(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    (void)arg;
    *find_mut(root, "width") = obj_uint(21);
}

static void spawn_outside(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    (void)arg;
    *find_mut(find_mut(root, "spawn"), "x") = obj_uint(20);
}

static void goal_outside(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    (void)arg;
    *find_mut(find_mut(root, "goal"), "y") = obj_uint(40);
}

Test(types, map_terrain_must_hold_three_bytes_per_tile_and_points_lie_on_the_grid)
{
    stk_payload_error_t err;
    int rc = check_mutated(STK_EV_MAP_DRAWN, 1, grow_width, NULL, &err);
    expect_error(rc, &err, "terrain", "width*height*3", "width 21");
    rc = check_mutated(STK_EV_MAP_EDITED, 1, grow_width, NULL, &err);
    expect_error(rc, &err, "terrain", "width*height*3", "edited width 21");
    rc = check_mutated(STK_EV_MAP_DRAWN, 1, spawn_outside, NULL, &err);
    expect_error(rc, &err, "spawn.x", "outside", "spawn x 20");
    rc = check_mutated(STK_EV_MAP_DRAWN, 1, goal_outside, NULL, &err);
    expect_error(rc, &err, "goal.y", "outside", "goal y 40");
}

Test(types, tribe_bonuses_must_sum_to_5000_bp)
{
    stk_payload_error_t err;
    set_arg_t a = {"range_bp", obj_uint(1501)};
    int rc = check_mutated(STK_EV_TRIBE_FOUNDED, 1, set_key, &a, &err);
    expect_error(rc, &err, "damage_bp+attack_speed_bp+range_bp", "5001", "tribe sum");
    rc = check_mutated(STK_EV_TRIBE_UPDATED, 1, set_key, &a, &err);
    expect_error(rc, &err, "damage_bp+attack_speed_bp+range_bp", "5001", "update sum");
    rc = check_mutated(STK_EV_PLAYER_JOINED, 1, set_key, &a, &err);
    expect_error(rc, &err, "damage_bp+attack_speed_bp+range_bp", "5001", "join sum");
}

Test(types, enums_and_colors_accept_only_their_words)
{
    stk_payload_error_t err;
    set_arg_t arch = {"archetype", obj_str("Sneaky", 6)};
    int rc = check_mutated(STK_EV_TRIBE_FOUNDED, 1, set_key, &arch, &err);
    expect_error(rc, &err, "archetype", "Aggressive|Defensive|Balanced|Support", "archetype");
    set_arg_t lower = {"archetype", obj_str("support", 7)};
    rc = check_mutated(STK_EV_TRIBE_UPDATED, 1, set_key, &lower, &err);
    expect_error(rc, &err, "archetype", "not one of", "archetype case");
    set_arg_t col = {"color", obj_str("#12345G", 7)};
    rc = check_mutated(STK_EV_TRIBE_FOUNDED, 1, set_key, &col, &err);
    expect_error(rc, &err, "color", "#RRGGBB", "color G");
    set_arg_t nohash = {"color", obj_str("1234567", 7)};
    rc = check_mutated(STK_EV_PLAYER_JOINED, 1, set_key, &nohash, &err);
    expect_error(rc, &err, "color", "#RRGGBB", "color without #");
    set_arg_t res = {"result", obj_str("draw", 4)};
    rc = check_mutated(STK_EV_GAME_ENDED, 1, set_key, &res, &err);
    expect_error(rc, &err, "result", "victory|defeat|abandoned", "result");
}

static void break_embedded_map(msgpack_object *root, msgpack_zone *z, void *arg)
{
    (void)z;
    msgpack_object *m = find_mut(root, "map");
    /* the MapDrawn bytes with its width byte (uint 20 = 0x14 after "width") changed */
    char *copy = arg;
    memcpy(copy, m->via.bin.ptr, m->via.bin.size);
    char *w = NULL;
    for (uint32_t i = 0; w == NULL && i + 6 <= m->via.bin.size; i++)
        if (memcmp(copy + i, "width", 5) == 0)
            w = copy + i;
    cr_assert_not_null(w);
    w[5] = 0x13; /* width 19 */
    m->via.bin.ptr = copy;
}

Test(types, session_opened_embeds_a_valid_map_drawn_payload)
{
    static char copy[4096];
    stk_payload_error_t err;
    int rc = check_mutated(STK_EV_SESSION_OPENED, 2, break_embedded_map, copy, &err);
    expect_error(rc, &err, "map.width", "out of range 20..100", "embedded width");
    set_arg_t junk = {"map", obj_bin("\xc1", 1)};
    rc = check_mutated(STK_EV_SESSION_OPENED, 1, set_key, &junk, &err);
    expect_error(rc, &err, "map", "embedded MapDrawn", "embedded junk");
}

Test(types, strings_must_be_utf8_without_nul_and_count_code_points)
{
    stk_payload_error_t err;
    set_arg_t bad = {"username", obj_str("ab\xff", 3)};
    int rc = check_mutated(STK_EV_USER_REGISTERED, 1, set_key, &bad, &err);
    expect_error(rc, &err, "username", "UTF-8", "invalid utf8");
    set_arg_t nul = {"username", obj_str("ab\0c", 4)};
    rc = check_mutated(STK_EV_USER_REGISTERED, 1, set_key, &nul, &err);
    expect_error(rc, &err, "username", "UTF-8", "nul");
    set_arg_t overlong = {"username", obj_str("ab\xc0\xaf", 4)};
    rc = check_mutated(STK_EV_USER_REGISTERED, 1, set_key, &overlong, &err);
    expect_error(rc, &err, "username", "UTF-8", "overlong");
    /* three 2-byte characters are 3 code points: long enough although 6 bytes... */
    set_arg_t ok = {"username", obj_str("äöü", strlen("äöü"))};
    cr_expect_eq(check_mutated(STK_EV_USER_REGISTERED, 1, set_key, &ok, &err), 0, "%s", err.reason);
    /* ...and 50 of them are not too long although 100 bytes */
    static char fifty[101];
    for (int i = 0; i < 50; i++)
        memcpy(fifty + 2 * i, "é", 2);
    set_arg_t cp50 = {"username", obj_str(fifty, 100)};
    cr_expect_eq(check_mutated(STK_EV_USER_REGISTERED, 1, set_key, &cp50, &err), 0, "%s",
                 err.reason);
}

Test(types, floats_negative_and_huge_ints_are_refused_by_kind)
{
    stk_payload_error_t err;
    msgpack_object f = {.type = MSGPACK_OBJECT_FLOAT64};
    f.via.f64 = 3.0;
    set_arg_t fl = {"stars", f};
    int rc = check_mutated(STK_EV_MAP_RATED, 1, set_key, &fl, &err);
    expect_error(rc, &err, "stars", "expected uint, got float", "float");
    msgpack_object neg = {.type = MSGPACK_OBJECT_NEGATIVE_INTEGER};
    neg.via.i64 = -1;
    set_arg_t ng = {"stars", neg};
    rc = check_mutated(STK_EV_MAP_RATED, 1, set_key, &ng, &err);
    expect_error(rc, &err, "stars", "got negative int", "negative");
    set_arg_t huge = {"lives", obj_uint(UINT64_MAX)};
    rc = check_mutated(STK_EV_WAVE_ENDED, 1, set_key, &huge, &err);
    expect_error(rc, &err, "lives", "does not fit", "lives u64");
}

/* ---- malformed bytes ------------------------------------------------------------------- */

Test(types, every_truncation_of_a_valid_payload_is_refused)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    build_valid(STK_EV_SESSION_OPENED, 2, &sb);
    for (size_t n = 0; n < sb.size; n++) {
        stk_payload_error_t err;
        int rc = stk_payload_check(STK_EV_SESSION_OPENED, 2, (const uint8_t *)sb.data, n, &err);
        cr_expect_eq(rc, STK_ETRUNC, "prefix %zu: %d %s", n, rc, err.reason);
    }
    msgpack_sbuffer_destroy(&sb);
}

Test(types, garbage_trailing_bytes_and_non_map_roots_are_decode_errors)
{
    stk_payload_error_t err;
    cr_expect_eq(stk_payload_check(STK_EV_TICK_MARK, 1, (const uint8_t *)"\xc1", 1, &err),
                 STK_EDECODE);
    cr_expect(strstr(err.reason, "0xc1") != NULL, "%s", err.reason);
    cr_expect_eq(stk_payload_check(STK_EV_WAVE_CALLED, 1, (const uint8_t *)"\x80\x00", 2, &err),
                 STK_EDECODE);
    cr_expect(strstr(err.reason, "trailing") != NULL, "%s", err.reason);
    cr_expect_eq(stk_payload_check(STK_EV_WAVE_CALLED, 1, (const uint8_t *)"\x90", 1, &err),
                 STK_EDECODE);
    cr_expect(strstr(err.reason, "not a map") != NULL, "%s", err.reason);
    /* a non-string key */
    cr_expect_eq(stk_payload_check(STK_EV_WAVE_CALLED, 1, (const uint8_t *)"\x81\x01\x02", 3, &err),
                 STK_ESCHEMA);
    cr_expect(strstr(err.reason, "keys are str") != NULL, "%s", err.reason);
}

Test(types, huge_claimed_counts_are_refused_before_allocation)
{
    stk_payload_error_t err;
    /* map32 / array32 claiming 2^32-1 entries in 5 bytes */
    cr_expect_eq(
        stk_payload_check(STK_EV_WAVE_CALLED, 1, (const uint8_t *)"\xdf\xff\xff\xff\xff", 5, &err),
        STK_ETRUNC);
    cr_expect(strstr(err.reason, "claims") != NULL, "%s", err.reason);
    cr_expect_eq(stk_payload_check(STK_EV_WAVE_ENDED, 1,
                                   (const uint8_t *)"\x81\xa4gold\xdd\xff\xff\xff\xff", 11, &err),
                 STK_ETRUNC);
    /* bin32 claiming 4 GiB */
    cr_expect_eq(stk_payload_check(STK_EV_WAVE_CALLED, 1,
                                   (const uint8_t *)"\x81\xa1x\xc6\xff\xff\xff\xff", 8, &err),
                 STK_ETRUNC);
}

Test(types, deep_nesting_is_refused)
{
    uint8_t deep[200];
    deep[0] = 0x81; /* {"x": [[[[...]]]]} */
    deep[1] = 0xa1;
    deep[2] = 'x';
    memset(deep + 3, 0x91, sizeof deep - 4);
    deep[sizeof deep - 1] = 0x00;
    stk_payload_error_t err;
    cr_expect_eq(stk_payload_check(STK_EV_WAVE_CALLED, 1, deep, sizeof deep, &err), STK_EDECODE);
    cr_expect(strstr(err.reason, "nested") != NULL, "%s", err.reason);
}

Test(types, oversized_empty_unknown_type_and_version_are_refused)
{
    stk_payload_error_t err;
    uint8_t *big = calloc(STK_PAYLOAD_MAX + 1, 1);
    cr_assert_not_null(big);
    cr_expect_eq(stk_payload_check(STK_EV_MAP_DRAWN, 1, big, STK_PAYLOAD_MAX + 1, &err),
                 STK_ETOOBIG);
    free(big);
    cr_expect_eq(stk_payload_check(STK_EV_MAP_DRAWN, 1, (const uint8_t *)"", 0, &err), STK_ETRUNC);
    cr_expect_eq(stk_payload_check(999, 1, (const uint8_t *)"\x80", 1, &err), STK_ETYPE);
    cr_expect_eq(stk_payload_check(STK_EV_SESSION_OPENED, 3, (const uint8_t *)"\x80", 1, &err),
                 STK_EVERSION);
    cr_expect(strstr(err.reason, "SessionOpened") != NULL, "%s", err.reason);
    cr_expect_eq(stk_payload_check(STK_EV_SESSION_OPENED, 0, (const uint8_t *)"\x80", 1, NULL),
                 STK_EVERSION);
}

/* ---- readers ----------------------------------------------------------------------------- */

Test(payload, readers_fetch_fields_of_an_opened_payload)
{
    msgpack_sbuffer sb;
    stk_payload_t p;
    msgpack_sbuffer_init(&sb);
    build_valid(STK_EV_MAP_DRAWN, 1, &sb);
    cr_assert_eq(
        stk_payload_open_checked(&p, STK_EV_MAP_DRAWN, 1, (const uint8_t *)sb.data, sb.size, NULL),
        0);
    const msgpack_object *root = stk_payload_root(&p);
    uint64_t w = 0, x = 1, count = 0;
    const char *s;
    size_t n;
    const uint8_t *b;
    stk_uuid_t u;
    const msgpack_object *spawn, *waves, *enemies;
    cr_expect_eq(stk_payload_get_uint(root, "width", &w), 0);
    cr_expect_eq(w, 20);
    cr_expect_eq(stk_payload_get_str(root, "name", &s, &n), 0);
    cr_expect(n == 8 && memcmp(s, "Crossing", 8) == 0);
    cr_expect_eq(stk_payload_get_bin(root, "terrain", &b, &n), 0);
    cr_expect_eq(n, 1200);
    cr_expect_eq(stk_payload_get_uuid(root, "user_id", &u), 0);
    cr_expect_eq(memcmp(&u, &U1, sizeof u), 0);
    cr_expect_eq(stk_payload_get_map(root, "spawn", &spawn), 0);
    cr_expect_eq(stk_payload_get_uint(spawn, "x", &x), 0);
    cr_expect_eq(x, 0);
    cr_expect_eq(stk_payload_get_array(root, "waves", &waves, &n), 0);
    cr_expect_eq(n, 3);
    cr_expect_eq(stk_payload_get_array(&waves[1], "enemies", &enemies, &n), 0);
    cr_expect_eq(stk_payload_get_uint(&enemies[0], "count", &count), 0);
    cr_expect_eq(count, 6);
    /* absent key, wrong kind */
    cr_expect_eq(stk_payload_get_uint(root, "nope", &w), STK_ENOTFOUND);
    cr_expect_eq(stk_payload_get_uint(root, "name", &w), STK_ESCHEMA);
    cr_expect_eq(stk_payload_get_uuid(root, "terrain", &u), STK_ESCHEMA);
    cr_expect_eq(stk_payload_get_map(root, "waves", &spawn), STK_ESCHEMA);
    stk_payload_close(&p);
    msgpack_sbuffer_destroy(&sb);
}

Test(payload, readers_of_ints_bools_and_array_elements)
{
    msgpack_sbuffer sb;
    stk_payload_t p;
    msgpack_sbuffer_init(&sb);
    build_valid(STK_EV_GAME_ENDED, 1, &sb);
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)sb.data, sb.size, NULL), 0);
    int64_t lives = 0;
    uint64_t hash = 0, g = 0;
    bool bv;
    const msgpack_object *gold;
    size_t n;
    cr_expect_eq(stk_payload_get_int(stk_payload_root(&p), "lives", &lives), 0);
    cr_expect_eq(lives, -2);
    cr_expect_eq(stk_payload_get_int(stk_payload_root(&p), "wave", &lives), 0);
    cr_expect_eq(lives, 4);
    cr_expect_eq(stk_payload_get_uint(stk_payload_root(&p), "hash", &hash), 0);
    cr_expect_eq(hash, 0xfedcba9876543210ull);
    cr_expect_eq(stk_payload_get_int(stk_payload_root(&p), "hash", &lives), STK_ESCHEMA);
    cr_expect_eq(stk_payload_get_bool(stk_payload_root(&p), "result", &bv), STK_ESCHEMA);
    cr_expect_eq(stk_payload_get_array(stk_payload_root(&p), "gold", &gold, &n), 0);
    cr_expect_eq(n, 4);
    cr_expect_eq(stk_payload_as_uint(&gold[3], &g), 0);
    cr_expect_eq(g, 3000000021ull);
    stk_payload_close(&p);
    msgpack_sbuffer_destroy(&sb);

    msgpack_sbuffer_init(&sb);
    build_valid(STK_EV_PLAYER_READY, 1, &sb);
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)sb.data, sb.size, NULL), 0);
    bv = false;
    cr_expect_eq(stk_payload_get_bool(stk_payload_root(&p), "ready", &bv), 0);
    cr_expect(bv);
    stk_payload_close(&p);
    msgpack_sbuffer_destroy(&sb);
}

Test(payload, open_refuses_what_check_refuses_and_close_is_idempotent)
{
    stk_payload_t p;
    stk_payload_error_t err;
    cr_expect_eq(stk_payload_open(&p, (const uint8_t *)"\x92\x01", 2, &err), STK_ETRUNC);
    stk_payload_close(&p);
    stk_payload_close(&p);
    cr_expect_eq(
        stk_payload_open_checked(&p, STK_EV_MAP_RATED, 1, (const uint8_t *)"\x80", 1, &err),
        STK_ESCHEMA);
    cr_expect_str_eq(err.path, "user_id");
    stk_payload_close(&p);
}

/* The validator's rules that types.def does not use yet: optional keys, int ranges. */
Test(payload, optional_keys_may_be_absent_and_int_ranges_hold)
{
    static const stk_field_t f[] = {
        {.key = "need", .kind = STK_FK_INT, .flags = STK_FF_REQUIRED, .imin = -5, .imax = 5},
        {.key = "maybe", .kind = STK_FK_BOOL},
    };
    static const stk_fields_t table = {f, 2};
    stk_payload_t p;
    stk_payload_error_t err;
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)"\x81\xa4need\xfb", 7, NULL), 0);
    cr_expect_eq(stk_payload_check_fields(&table, stk_payload_root(&p), "", 1, &err), 0);
    stk_payload_close(&p);
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)"\x81\xa4need\xfa", 7, NULL), 0);
    cr_expect_eq(stk_payload_check_fields(&table, stk_payload_root(&p), "x", 1, &err), STK_ESCHEMA);
    cr_expect_str_eq(err.path, "x.need");
    cr_expect(strstr(err.reason, "-6 out of range -5..5") != NULL, "%s", err.reason);
    stk_payload_close(&p);
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)"\x81\xa5maybe\xc3", 8, NULL), 0);
    cr_expect_eq(stk_payload_check_fields(&table, stk_payload_root(&p), "", 1, &err), STK_ESCHEMA);
    cr_expect_str_eq(err.path, "need");
    stk_payload_close(&p);
}
