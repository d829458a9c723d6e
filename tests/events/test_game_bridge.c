/* tests/events/test_game_bridge.c — events/game.h: balance, maps, SessionOpened, inputs and
 * outcomes survive a round trip through their payloads; old and hostile payloads give
 * the documented answers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/game.h"
#include "events/types.h"

/* A valid 20x20 map with some terrain variety and two waves. */
static void sample_map(stk_map_t *m)
{
    cr_assert_eq(stk_map_init(m, 20, 20), 0);
    m->spawn = (stk_point_t){0, 10};
    m->goal = (stk_point_t){19, 10};
    for (uint32_t y = 0; y < 5; y++)
        stk_map_tile_mut(m, 5, y)->terrain = STK_TERRAIN_WATER;
    stk_map_tile_mut(m, 7, 3)->blocked = 1;
    stk_map_tile_mut(m, 8, 8)->height = 7;
    stk_map_tile_mut(m, 9, 9)->terrain = STK_TERRAIN_ROCK;
    m->n_waves = 2;
    m->waves[0].number = 1;
    m->waves[0].n_groups = 1;
    m->waves[0].groups[0] = (stk_map_enemies_t){STK_ENEMY_GRUNT, 5, 1000};
    m->waves[1].number = 2;
    m->waves[1].n_groups = 2;
    m->waves[1].groups[0] = (stk_map_enemies_t){STK_ENEMY_RUNNER, 3, 500};
    m->waves[1].groups[1] = (stk_map_enemies_t){STK_ENEMY_FLYER, 2, 0};
}

static stk_game_map_meta_t sample_meta(void)
{
    stk_game_map_meta_t meta;
    memset(&meta, 0, sizeof meta);
    memset(meta.user_id.b, 0x42, sizeof meta.user_id.b);
    meta.name = "Test Field";
    meta.name_len = strlen(meta.name);
    meta.description = "A small map for tests.";
    meta.description_len = strlen(meta.description);
    return meta;
}

static void map_payload(msgpack_sbuffer *sb)
{
    stk_map_t *m = malloc(sizeof *m);
    sample_map(m);
    stk_game_map_meta_t meta = sample_meta();
    cr_assert_eq(stk_game_map_encode(STK_EV_MAP_DRAWN, m, &meta, sb), 0);
    free(m);
}

static stk_envelope_t env_of(uint16_t type, uint16_t schema, const msgpack_sbuffer *sb)
{
    stk_envelope_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.schema = schema;
    e.payload = (const uint8_t *)sb->data;
    e.payload_len = sb->size;
    return e;
}

/* ---- balance ------------------------------------------------------------------------- */

Test(game_bridge, default_balance_round_trips_bytewise)
{
    stk_balance_t b, back;
    stk_balance_default(&b);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_balance_encode(&b, &sb), 0);
    stk_payload_error_t err;
    int rc = stk_game_balance_decode((const uint8_t *)sb.data, sb.size, &back, &err);
    cr_assert_eq(rc, 0, "%s: %s %s", stk_errname(rc), err.path, err.reason);
    cr_assert_eq(memcmp(&b, &back, sizeof b), 0);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, changed_balance_numbers_survive_the_round_trip)
{
    stk_balance_t b, back;
    stk_balance_default(&b);
    b.start_gold = 777;
    b.tower[STK_TOWER_TESLA].level[2].chain_jumps = 5;
    b.enemy[STK_ENEMY_BRUTE].armour = 9;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_balance_encode(&b, &sb), 0);
    cr_assert_eq(stk_game_balance_decode((const uint8_t *)sb.data, sb.size, &back, NULL), 0);
    cr_assert_eq(back.start_gold, 777);
    cr_assert_eq(back.tower[STK_TOWER_TESLA].level[2].chain_jumps, 5);
    cr_assert_eq(back.enemy[STK_ENEMY_BRUTE].armour, 9);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, invalid_balance_is_not_encoded)
{
    stk_balance_t b;
    stk_balance_default(&b);
    b.start_lives = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_balance_encode(&b, &sb), STK_ERANGE);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, truncated_balance_bytes_are_refused)
{
    stk_balance_t b, back;
    stk_balance_default(&b);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_balance_encode(&b, &sb), 0);
    for (size_t cut = 0; cut < sb.size; cut += 7) {
        int rc = stk_game_balance_decode((const uint8_t *)sb.data, cut, &back, NULL);
        cr_assert_lt(rc, 0, "a %zu-byte prefix decoded", cut);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* Pack the default balance but with one top-level int replaced or a key added. */
static void hostile_balance(msgpack_sbuffer *sb, const char *key, int64_t value, bool extra)
{
    stk_balance_t b;
    stk_balance_default(&b);
    msgpack_sbuffer good;
    msgpack_sbuffer_init(&good);
    cr_assert_eq(stk_game_balance_encode(&b, &good), 0);
    stk_payload_t p;
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)good.data, good.size, NULL), 0);
    const msgpack_object *root = stk_payload_root(&p);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, root->via.map.size + (extra ? 1 : 0));
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        msgpack_pack_object(&pk, kv->key);
        if (!extra && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0)
            msgpack_pack_int64(&pk, value);
        else
            msgpack_pack_object(&pk, kv->val);
    }
    if (extra)
        stk_payload_put_int(&pk, key, value);
    stk_payload_close(&p);
    msgpack_sbuffer_destroy(&good);
}

Test(game_bridge, balance_out_of_range_names_the_field)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    hostile_balance(&sb, "start_lives", -3, false);
    stk_balance_t back;
    stk_payload_error_t err;
    cr_assert_eq(stk_game_balance_decode((const uint8_t *)sb.data, sb.size, &back, &err),
                 STK_ERANGE);
    cr_assert(strstr(err.path, "start_lives") != NULL, "path %s", err.path);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, balance_with_an_unknown_key_is_refused)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    hostile_balance(&sb, "free_gold", 1000000, true);
    stk_balance_t back;
    cr_assert_eq(stk_game_balance_decode((const uint8_t *)sb.data, sb.size, &back, NULL),
                 STK_ESCHEMA);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, balance_int_beyond_int32_is_refused)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    hostile_balance(&sb, "start_gold", (int64_t)1 << 40, false);
    stk_balance_t back;
    stk_payload_error_t err;
    cr_assert_eq(stk_game_balance_decode((const uint8_t *)sb.data, sb.size, &back, &err),
                 STK_ESCHEMA);
    cr_assert(strstr(err.reason, "start_gold") != NULL, "reason %s", err.reason);
    msgpack_sbuffer_destroy(&sb);
}

/* wave_health_bp came after the first recorded tables: written only when not 0, and a
 * table without it (every table recorded before it) decodes to 0 and re-encodes bytewise. */
Test(game_bridge, wave_health_scaling_is_optional_and_zero_when_absent)
{
    stk_balance_t b, back;
    stk_balance_default(&b);
    cr_assert_gt(b.wave_health_bp, 0);
    msgpack_sbuffer with, without;
    msgpack_sbuffer_init(&with);
    msgpack_sbuffer_init(&without);
    cr_assert_eq(stk_game_balance_encode(&b, &with), 0);
    cr_assert_eq(stk_game_balance_decode((const uint8_t *)with.data, with.size, &back, NULL), 0);
    cr_expect_eq(back.wave_health_bp, b.wave_health_bp);
    b.wave_health_bp = 0;
    cr_assert_eq(stk_game_balance_encode(&b, &without), 0);
    cr_expect_lt(without.size, with.size);
    bool found = false;
    for (size_t i = 0; i + 14 <= without.size; i++)
        found |= memcmp(without.data + i, "wave_health_bp", 14) == 0;
    cr_expect_not(found);
    back.wave_health_bp = 1234; /* the decoder must clear it */
    cr_assert_eq(stk_game_balance_decode((const uint8_t *)without.data, without.size, &back, NULL),
                 0);
    cr_expect_eq(memcmp(&b, &back, sizeof b), 0);
    msgpack_sbuffer_clear(&with);
    cr_assert_eq(stk_game_balance_encode(&back, &with), 0);
    cr_expect_eq(with.size, without.size);
    cr_expect_eq(memcmp(with.data, without.data, with.size), 0);
    msgpack_sbuffer_destroy(&with);
    msgpack_sbuffer_destroy(&without);
}

Test(game_bridge, wave_health_scaling_out_of_range_names_the_field)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    hostile_balance(&sb, "wave_health_bp", 10001, false);
    stk_balance_t back;
    stk_payload_error_t err;
    cr_assert_eq(stk_game_balance_decode((const uint8_t *)sb.data, sb.size, &back, &err),
                 STK_ERANGE);
    cr_assert(strstr(err.path, "wave_health_bp") != NULL, "path %s", err.path);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- maps ---------------------------------------------------------------------------- */

Test(game_bridge, map_drawn_round_trips_the_struct_and_meta)
{
    stk_map_t *m = malloc(sizeof *m), *back = malloc(sizeof *back);
    sample_map(m);
    stk_game_map_meta_t meta = sample_meta(), got;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_map_encode(STK_EV_MAP_DRAWN, m, &meta, &sb), 0);
    stk_payload_error_t err;
    int rc = stk_game_map_decode(STK_EV_MAP_DRAWN, 1, (const uint8_t *)sb.data, sb.size, back, &got,
                                 &err);
    cr_assert_eq(rc, 0, "%s %s", err.path, err.reason);
    cr_assert_eq(memcmp(m, back, sizeof *m), 0);
    cr_assert_eq(memcmp(got.user_id.b, meta.user_id.b, 16), 0);
    cr_assert_eq(got.name_len, meta.name_len);
    cr_assert_eq(memcmp(got.name, meta.name, got.name_len), 0);
    cr_assert_eq(got.description_len, meta.description_len);
    msgpack_sbuffer_destroy(&sb);
    free(m);
    free(back);
}

Test(game_bridge, map_edited_has_no_user_and_round_trips)
{
    stk_map_t *m = malloc(sizeof *m), *back = malloc(sizeof *back);
    sample_map(m);
    stk_game_map_meta_t meta = sample_meta(), got;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(stk_game_map_encode(STK_EV_MAP_EDITED, m, &meta, &sb), 0);
    cr_assert_eq(stk_payload_check(STK_EV_MAP_EDITED, 1, (const uint8_t *)sb.data, sb.size, NULL),
                 0);
    cr_assert_eq(stk_game_map_decode(STK_EV_MAP_EDITED, 1, (const uint8_t *)sb.data, sb.size, back,
                                     &got, NULL),
                 0);
    cr_assert_eq(memcmp(m, back, sizeof *m), 0);
    cr_assert(stk_uuid_is_nil(&got.user_id));
    msgpack_sbuffer_destroy(&sb);
    free(m);
    free(back);
}

Test(game_bridge, unknown_enemy_name_decodes_to_invalid_for_the_validator)
{
    /* Build the payload by hand: the encoder only writes known names. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    stk_uuid_t u;
    memset(&u, 1, sizeof u);
    uint8_t terrain[20 * 20 * 3];
    memset(terrain, 0, sizeof terrain);
    msgpack_pack_map(&pk, 9);
    stk_payload_put_uuid(&pk, "user_id", &u);
    stk_payload_put_cstr(&pk, "name", "x");
    stk_payload_put_cstr(&pk, "description", "");
    stk_payload_put_uint(&pk, "width", 20);
    stk_payload_put_uint(&pk, "height", 20);
    stk_payload_put_bin(&pk, "terrain", terrain, sizeof terrain);
    stk_payload_put_map(&pk, "spawn", 2);
    stk_payload_put_uint(&pk, "x", 0);
    stk_payload_put_uint(&pk, "y", 0);
    stk_payload_put_map(&pk, "goal", 2);
    stk_payload_put_uint(&pk, "x", 19);
    stk_payload_put_uint(&pk, "y", 19);
    stk_payload_put_array(&pk, "waves", 1);
    msgpack_pack_map(&pk, 2);
    stk_payload_put_uint(&pk, "number", 1);
    stk_payload_put_array(&pk, "enemies", 1);
    msgpack_pack_map(&pk, 3);
    stk_payload_put_cstr(&pk, "type", "dragon");
    stk_payload_put_uint(&pk, "count", 1);
    stk_payload_put_uint(&pk, "interval_ms", 0);
    stk_map_t *m = malloc(sizeof *m);
    cr_assert_eq(
        stk_game_map_decode(STK_EV_MAP_DRAWN, 1, (const uint8_t *)sb.data, sb.size, m, NULL, NULL),
        0);
    cr_assert_eq(m->waves[0].groups[0].type, STK_ENEMY_TYPE_INVALID);
    stk_map_problem_t p;
    size_t n = 0;
    cr_assert_eq(stk_map_validate(m, &p, 1, &n), STK_ESCHEMA);
    cr_assert_eq(p.code, STK_MAP_PROBLEM_ENEMY_TYPE);
    free(m);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, map_payload_with_wrong_terrain_size_names_terrain)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    map_payload(&sb);
    /* Re-pack with height 21: terrain no longer matches width*height*3. */
    stk_payload_t p;
    cr_assert_eq(stk_payload_open(&p, (const uint8_t *)sb.data, sb.size, NULL), 0);
    msgpack_sbuffer bad;
    msgpack_sbuffer_init(&bad);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &bad, msgpack_sbuffer_write);
    const msgpack_object *root = stk_payload_root(&p);
    msgpack_pack_map(&pk, root->via.map.size);
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        msgpack_pack_object(&pk, kv->key);
        if (kv->key.via.str.size == 6 && memcmp(kv->key.via.str.ptr, "height", 6) == 0)
            msgpack_pack_uint32(&pk, 21);
        else
            msgpack_pack_object(&pk, kv->val);
    }
    stk_payload_close(&p);
    stk_map_t *m = malloc(sizeof *m);
    stk_payload_error_t err;
    cr_assert_eq(stk_game_map_decode(STK_EV_MAP_DRAWN, 1, (const uint8_t *)bad.data, bad.size, m,
                                     NULL, &err),
                 STK_ESCHEMA);
    cr_assert_str_eq(err.path, "terrain");
    free(m);
    msgpack_sbuffer_destroy(&bad);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- SessionOpened ------------------------------------------------------------------- */

Test(game_bridge, session_opened_round_trips_into_a_playable_setup)
{
    msgpack_sbuffer mp, sb;
    msgpack_sbuffer_init(&mp);
    msgpack_sbuffer_init(&sb);
    map_payload(&mp);
    stk_game_setup_t setup;
    memset(&setup, 0, sizeof setup);
    setup.seed = UINT64_MAX - 5;
    setup.tick_rate = 30;
    setup.ruleset = STK_RULESET_VERSION;
    stk_balance_default(&setup.balance);
    setup.balance.start_gold = 321;
    stk_uuid_t map_id;
    memset(&map_id, 9, sizeof map_id);
    cr_assert_eq(stk_game_opened_encode(&map_id, &setup, (const uint8_t *)mp.data, mp.size, &sb),
                 0);
    stk_envelope_t e = env_of(STK_EV_SESSION_OPENED, 2, &sb);
    stk_map_t *m = malloc(sizeof *m), *want = malloc(sizeof *want);
    sample_map(want);
    stk_game_opened_t o;
    stk_payload_error_t err;
    int rc = stk_game_opened_decode(&e, m, &o, &err);
    cr_assert_eq(rc, 0, "%s %s", err.path, err.reason);
    cr_assert(stk_uuid_eq(&o.map_id, &map_id));
    cr_assert_eq(o.setup.seed, UINT64_MAX - 5);
    cr_assert_eq(o.setup.tick_rate, 30);
    cr_assert_eq(o.setup.ruleset, STK_RULESET_VERSION);
    cr_assert_eq(memcmp(&o.setup.balance, &setup.balance, sizeof setup.balance), 0);
    cr_assert_eq(o.setup.map, m);
    cr_assert_eq(memcmp(m, want, sizeof *m), 0);
    stk_game_t *g = NULL;
    cr_assert_eq(stk_game_create(&o.setup, &g), 0);
    cr_assert_eq(stk_game_tick_rate(g), 30);
    stk_game_destroy(g);
    free(m);
    free(want);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&mp);
}

Test(game_bridge, session_opened_v1_upcasts_to_tick_rate_20)
{
    msgpack_sbuffer mp, bal, sb;
    msgpack_sbuffer_init(&mp);
    msgpack_sbuffer_init(&bal);
    msgpack_sbuffer_init(&sb);
    map_payload(&mp);
    stk_balance_t b;
    stk_balance_default(&b);
    cr_assert_eq(stk_game_balance_encode(&b, &bal), 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    stk_uuid_t map_id;
    memset(&map_id, 3, sizeof map_id);
    msgpack_pack_map(&pk, 5);
    stk_payload_put_uuid(&pk, "map_id", &map_id);
    stk_payload_put_uint(&pk, "seed", 99);
    stk_payload_put_uint(&pk, "ruleset", 1);
    stk_payload_put_bin(&pk, "balance", bal.data, bal.size);
    stk_payload_put_bin(&pk, "map", mp.data, mp.size);
    cr_assert_eq(
        stk_payload_check(STK_EV_SESSION_OPENED, 1, (const uint8_t *)sb.data, sb.size, NULL), 0,
        "the hand-made v1 payload is not v1");
    stk_envelope_t e = env_of(STK_EV_SESSION_OPENED, 1, &sb);
    stk_map_t *m = malloc(sizeof *m);
    stk_game_opened_t o;
    stk_payload_error_t err;
    cr_assert_eq(stk_game_opened_decode(&e, m, &o, &err), 0, "%s %s", err.path, err.reason);
    cr_assert_eq(o.setup.tick_rate, 20);
    cr_assert_eq(o.setup.seed, 99);
    free(m);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&bal);
    msgpack_sbuffer_destroy(&mp);
}

Test(game_bridge, frozen_v1_fixture_with_a_foreign_balance_names_the_balance)
{
    const char *src = getenv("STK_SOURCE_DIR");
    cr_assert_not_null(src, "STK_SOURCE_DIR is set by ctest");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/events/SessionOpened.v1.mp", src);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    stk_envelope_t e;
    memset(&e, 0, sizeof e);
    e.type = STK_EV_SESSION_OPENED;
    e.schema = 1;
    e.payload = buf;
    e.payload_len = n;
    stk_map_t *m = malloc(sizeof *m);
    stk_game_opened_t o;
    stk_payload_error_t err;
    /* The fixture freezes the envelope/payload shape only; its balance bin is a stub. */
    cr_assert_eq(stk_game_opened_decode(&e, m, &o, &err), STK_ESCHEMA);
    cr_assert_eq(strncmp(err.path, "balance", 7), 0, "path %s", err.path);
    free(m);
}

Test(game_bridge, session_opened_with_a_bad_tick_rate_is_not_encoded)
{
    msgpack_sbuffer mp, sb;
    msgpack_sbuffer_init(&mp);
    msgpack_sbuffer_init(&sb);
    map_payload(&mp);
    stk_game_setup_t setup;
    memset(&setup, 0, sizeof setup);
    setup.tick_rate = 5000;
    setup.ruleset = 1;
    stk_balance_default(&setup.balance);
    stk_uuid_t map_id;
    memset(&map_id, 9, sizeof map_id);
    cr_assert_eq(stk_game_opened_encode(&map_id, &setup, (const uint8_t *)mp.data, mp.size, &sb),
                 STK_ESCHEMA);
    /* And garbage instead of a map payload. */
    setup.tick_rate = 20;
    cr_assert_eq(stk_game_opened_encode(&map_id, &setup, (const uint8_t *)"\x81\xa1x\x01", 4, &sb),
                 STK_ESCHEMA);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&mp);
}

/* ---- inputs -------------------------------------------------------------------------- */

static stk_game_input_t input_of(int kind)
{
    stk_game_input_t in;
    memset(&in, 0, sizeof in);
    in.kind = kind;
    memset(in.player, 0x11, sizeof in.player);
    switch (kind) {
    case STK_INPUT_JOIN:
        memset(in.tribe, 0x22, sizeof in.tribe);
        in.damage_bp = 1000;
        in.attack_speed_bp = 1500;
        in.range_bp = 2500;
        in.color = 0xA0B1C2;
        break;
    case STK_INPUT_READY:
        in.ready = true;
        break;
    case STK_INPUT_PLACE:
        in.x = 4;
        in.y = 17;
        in.tower = STK_TOWER_FROST;
        break;
    case STK_INPUT_UPGRADE:
    case STK_INPUT_SELL:
        in.tower_id = 4000000000u;
        break;
    default:
        break;
    }
    return in;
}

Test(game_bridge, every_input_kind_round_trips_through_its_event)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int k = 0; k < STK_INPUT_KINDS; k++) {
        stk_game_input_t in = input_of(k), back;
        uint16_t type = 0;
        cr_assert_eq(stk_game_input_encode(&in, NULL, &type, &sb), 0, "kind %d", k);
        const char *name = stk_game_input_event(k);
        cr_assert_eq(type, stk_event_type_by_name(name, strlen(name))->id);
        stk_envelope_t e = env_of(type, 1, &sb);
        memcpy(e.actor.b, in.player, 16);
        e.tick = 1234;
        stk_game_record_t rec;
        stk_payload_error_t err;
        int rc = stk_game_event_to_input(&e, NULL, &back, &rec, &err);
        cr_assert_eq(rc, STK_GAME_EVENT_INPUT, "%s: rc %d %s %s", name, rc, err.path, err.reason);
        cr_assert_eq(memcmp(&in, &back, sizeof in), 0, "%s differs after the round trip", name);
    }
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, unknown_tower_name_decodes_to_minus_one)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    stk_payload_put_uint(&pk, "x", 1);
    stk_payload_put_uint(&pk, "y", 2);
    stk_payload_put_cstr(&pk, "tower", "laser");
    stk_envelope_t e = env_of(STK_EV_TOWER_PLACED, 1, &sb);
    stk_game_input_t in;
    stk_game_record_t rec;
    cr_assert_eq(stk_game_event_to_input(&e, NULL, &in, &rec, NULL), STK_GAME_EVENT_INPUT);
    cr_assert_eq(in.tower, -1);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, place_with_coordinates_beyond_u32_is_refused)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    stk_payload_put_uint(&pk, "x", (uint64_t)1 << 33);
    stk_payload_put_uint(&pk, "y", 2);
    stk_payload_put_cstr(&pk, "tower", "arrow");
    stk_envelope_t e = env_of(STK_EV_TOWER_PLACED, 1, &sb);
    stk_game_input_t in;
    stk_game_record_t rec;
    stk_payload_error_t err;
    cr_assert_eq(stk_game_event_to_input(&e, NULL, &in, &rec, &err), STK_ESCHEMA);
    cr_assert_str_eq(err.path, "x");
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, invalid_input_structs_are_not_encoded)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint16_t type;
    stk_game_input_t in = input_of(STK_INPUT_PLACE);
    in.tower = 17;
    cr_assert_eq(stk_game_input_encode(&in, NULL, &type, &sb), STK_EINVAL);
    in = input_of(STK_INPUT_JOIN);
    in.damage_bp = 4000; /* sum 8000 */
    cr_assert_eq(stk_game_input_encode(&in, NULL, &type, &sb), STK_ESCHEMA);
    in = input_of(STK_INPUT_JOIN);
    in.color = 0x1000000;
    cr_assert_eq(stk_game_input_encode(&in, NULL, &type, &sb), STK_ESCHEMA);
    in = input_of(0);
    in.kind = STK_INPUT_KINDS;
    cr_assert_eq(stk_game_input_encode(&in, NULL, &type, &sb), STK_EINVAL);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, hostile_payload_bytes_give_errors_not_inputs)
{
    static const uint8_t junk[][8] = {
        {0xc1},                   /* never-used byte */
        {0x81, 0xa1, 'x'},        /* truncated map */
        {0xdf, 0xff, 0xff, 0xff}, /* map claiming 4 billion pairs */
        {0x93, 1, 2, 3},          /* not a map */
        {0x80},                   /* empty map: required keys missing */
    };
    static const size_t lens[] = {1, 3, 4, 4, 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        stk_envelope_t e;
        memset(&e, 0, sizeof e);
        e.type = STK_EV_TOWER_PLACED;
        e.schema = 1;
        e.payload = junk[i];
        e.payload_len = lens[i];
        stk_game_input_t in;
        stk_game_record_t rec;
        cr_assert_lt(stk_game_event_to_input(&e, NULL, &in, &rec, NULL), 0, "junk %zu", i);
        e.type = STK_EV_WAVE_ENDED;
        cr_assert_lt(stk_game_event_to_input(&e, NULL, &in, &rec, NULL), 0, "junk %zu", i);
    }
}

Test(game_bridge, unknown_type_and_version_are_errors_and_others_are_other)
{
    stk_envelope_t e;
    memset(&e, 0, sizeof e);
    stk_game_input_t in;
    stk_game_record_t rec;
    e.type = 999;
    e.schema = 1;
    cr_assert_eq(stk_game_event_to_input(&e, NULL, &in, &rec, NULL), STK_ETYPE);
    e.type = STK_EV_WAVE_CALLED;
    e.schema = 7;
    e.payload = (const uint8_t *)"\x80";
    e.payload_len = 1;
    cr_assert_eq(stk_game_event_to_input(&e, NULL, &in, &rec, NULL), STK_EVERSION);
    e.type = STK_EV_USER_LOGGED_IN;
    e.schema = 1;
    cr_assert_eq(stk_game_event_to_input(&e, NULL, &in, &rec, NULL), STK_GAME_EVENT_OTHER);
    e.type = STK_EV_SESSION_OPENED;
    cr_assert_eq(stk_game_event_to_input(&e, NULL, &in, &rec, NULL), STK_GAME_EVENT_OTHER);
}

/* ---- outcomes ------------------------------------------------------------------------ */

static stk_game_outcome_t sample_outcome(void)
{
    stk_game_outcome_t o;
    memset(&o, 0, sizeof o);
    o.tick = 4321;
    o.wave_ended = true;
    o.wave_cleared = 3;
    o.game_ended = true;
    o.result = STK_RESULT_DEFEAT;
    o.wave = 4;
    o.lives = 0;
    o.n_players = 3;
    o.gold[0] = 10;
    o.gold[1] = 0;
    o.gold[2] = UINT64_MAX;
    o.hash = 0xfedcba9876543210ull;
    return o;
}

Test(game_bridge, outcome_records_round_trip_for_each_type)
{
    const uint16_t types[] = {STK_EV_WAVE_ENDED, STK_EV_GAME_ENDED, STK_EV_TICK_MARK};
    stk_game_outcome_t o = sample_outcome();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < 3; i++) {
        stk_game_record_t rec, back;
        cr_assert_eq(stk_game_record_from_outcome(types[i], &o, &rec), 0);
        cr_assert_eq(stk_game_record_encode(&rec, &sb), 0);
        stk_envelope_t e = env_of(types[i], 1, &sb);
        e.tick = o.tick;
        stk_game_input_t in;
        stk_payload_error_t err;
        int rc = stk_game_event_to_input(&e, NULL, &in, &back, &err);
        cr_assert_eq(rc, STK_GAME_EVENT_OUTCOME, "rc %d %s %s", rc, err.path, err.reason);
        cr_assert(stk_game_record_equal(&rec, &back), "type %u", types[i]);
        cr_assert_eq(back.hash, o.hash);
    }
    stk_game_record_t w;
    stk_game_record_from_outcome(STK_EV_WAVE_ENDED, &o, &w);
    cr_assert_eq(w.wave, 3, "WaveEnded carries the wave cleared");
    stk_game_record_from_outcome(STK_EV_GAME_ENDED, &o, &w);
    cr_assert_eq(w.wave, 4, "GameEnded carries the waves started");
    cr_assert_eq(w.result, STK_RESULT_DEFEAT);
    cr_assert_eq(w.n_gold, 3);
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, records_that_differ_in_one_field_are_not_equal)
{
    stk_game_outcome_t o = sample_outcome();
    stk_game_record_t a, b;
    stk_game_record_from_outcome(STK_EV_GAME_ENDED, &o, &a);
    b = a;
    cr_assert(stk_game_record_equal(&a, &b));
    b.gold[2] = 1;
    cr_assert_not(stk_game_record_equal(&a, &b));
    b = a;
    b.hash ^= 1;
    cr_assert_not(stk_game_record_equal(&a, &b));
    b = a;
    b.result = STK_RESULT_VICTORY;
    cr_assert_not(stk_game_record_equal(&a, &b));
    b = a;
    b.tick++;
    cr_assert_not(stk_game_record_equal(&a, &b));
}

Test(game_bridge, game_ended_with_lives_beyond_int32_is_refused)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    stk_payload_put_cstr(&pk, "result", "victory");
    stk_payload_put_uint(&pk, "wave", 1);
    stk_payload_put_int(&pk, "lives", (int64_t)1 << 40);
    stk_payload_put_array(&pk, "gold", 0);
    stk_payload_put_uint(&pk, "hash", 1);
    stk_envelope_t e = env_of(STK_EV_GAME_ENDED, 1, &sb);
    stk_game_input_t in;
    stk_game_record_t rec;
    stk_payload_error_t err;
    cr_assert_eq(stk_game_event_to_input(&e, NULL, &in, &rec, &err), STK_ESCHEMA);
    cr_assert_str_eq(err.path, "lives");
    msgpack_sbuffer_destroy(&sb);
}

Test(game_bridge, colors_parse_and_format)
{
    uint32_t rgb = 0;
    cr_assert_eq(stk_game_color_parse("#A0b1C2", 7, &rgb), 0);
    cr_assert_eq(rgb, 0xA0B1C2);
    cr_assert_eq(stk_game_color_parse("A0B1C2", 6, &rgb), STK_EINVAL);
    cr_assert_eq(stk_game_color_parse("#A0B1CG", 7, &rgb), STK_EINVAL);
    char out[8];
    cr_assert_eq(stk_game_color_format(0x00ff08, out), 0);
    cr_assert_str_eq(out, "#00ff08");
    cr_assert_eq(stk_game_color_format(0x1000000, out), STK_ERANGE);
}
