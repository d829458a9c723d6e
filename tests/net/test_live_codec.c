/* tests/net/test_live_codec.c — the live-protocol codec (net/live_codec.h) on its own:
 * every op decodes the same from JSON and MessagePack; hostile input (bad JSON, invalid
 * MessagePack, wrong types, unknown op, oversize, missing ref, out-of-range numbers) gets
 * the documented reject code with the ref echoed when readable; server messages encode to
 * the documented shapes in both formats. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "core/error.h"
#include "net/live_codec.h"

static stk_live_msg_t M;
static stk_live_error_t E;

/* The same object as MessagePack (ints, strings, bools, nested maps). */
static void pack(msgpack_packer *pk, const json_t *v)
{
    if (json_is_object(v)) {
        msgpack_pack_map(pk, json_object_size(v));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            msgpack_pack_str(pk, strlen(k));
            msgpack_pack_str_body(pk, k, strlen(k));
            pack(pk, x);
        }
    } else if (json_is_integer(v)) {
        msgpack_pack_int64(pk, json_integer_value(v));
    } else if (json_is_real(v)) {
        msgpack_pack_double(pk, json_real_value(v));
    } else if (json_is_string(v)) {
        msgpack_pack_str(pk, json_string_length(v));
        msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
    } else if (json_is_true(v)) {
        msgpack_pack_true(pk);
    } else if (json_is_false(v)) {
        msgpack_pack_false(pk);
    } else if (json_is_array(v)) {
        msgpack_pack_array(pk, json_array_size(v));
        for (size_t i = 0; i < json_array_size(v); i++)
            pack(pk, json_array_get(v, i));
    } else {
        msgpack_pack_nil(pk);
    }
}

/* Decode text in both formats; both must give the same rc (and the same message). */
static int both(const char *text)
{
    int rc_json = stk_live_decode(STK_LIVE_JSON, (const uint8_t *)text, strlen(text), &M, &E);
    stk_live_msg_t mj = M;
    stk_live_error_t ej = E;
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    cr_assert(v, "test input is JSON: %s", text);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack(&pk, v);
    json_decref(v);
    int rc_mp = stk_live_decode(STK_LIVE_MSGPACK, (const uint8_t *)sb.data, sb.size, &M, &E);
    msgpack_sbuffer_destroy(&sb);
    cr_assert_eq(rc_json, rc_mp, "same verdict for %s", text);
    if (rc_json == 0)
        cr_assert(memcmp(&mj, &M, sizeof M) == 0, "same message for %s", text);
    else
        cr_assert_eq(ej.code, E.code, "same code for %s", text);
    return rc_json;
}

Test(live_codec, every_op_decodes_identically_in_both_formats)
{
    cr_assert_eq(both("{\"op\":\"auth\",\"token\":\"a.b.c\"}"), 0);
    cr_assert_eq(M.op, STK_LIVE_OP_AUTH);
    cr_assert_str_eq(M.token, "a.b.c");
    cr_assert_eq(both("{\"op\":\"hello\",\"last_seq\":42,\"spectate\":true}"), 0);
    cr_assert(M.has_last_seq && M.last_seq == 42 && M.spectate);
    cr_assert_eq(both("{\"op\":\"hello\"}"), 0);
    cr_assert(!M.has_last_seq && M.ref.kind == STK_LIVE_REF_NONE);
    cr_assert_eq(both("{\"op\":\"ready\",\"ref\":1,\"ready\":false}"), 0);
    cr_assert(M.op == STK_LIVE_OP_READY && !M.ready && M.ref.num == 1);
    cr_assert_eq(both("{\"op\":\"start\",\"ref\":\"abc\"}"), 0);
    cr_assert(M.ref.kind == STK_LIVE_REF_STR && strcmp(M.ref.str, "abc") == 0);
    cr_assert_eq(both("{\"op\":\"place\",\"ref\":3,\"x\":5,\"y\":65535,\"tower\":\"frost\"}"), 0);
    cr_assert(M.op == STK_LIVE_OP_PLACE && M.x == 5 && M.y == 65535);
    cr_assert_str_eq(M.tower, "frost");
    cr_assert_eq(both("{\"op\":\"upgrade\",\"ref\":4,\"tower_id\":4294967295}"), 0);
    cr_assert_eq(M.tower_id, 4294967295u);
    cr_assert_eq(both("{\"op\":\"sell\",\"ref\":5,\"tower_id\":7}"), 0);
    cr_assert_eq(both("{\"op\":\"call_wave\",\"ref\":6,\"extra\":[1,2]}"), 0);
    cr_assert_eq(both("{\"op\":\"pause\",\"ref\":7}"), 0);
    cr_assert_eq(both("{\"op\":\"resume\",\"ref\":9007199254740991}"), 0);
    cr_assert_eq(M.ref.num, 9007199254740991ull);
}

Test(live_codec, hostile_messages_get_typed_errors)
{
    static const char *const bad[] = {
        "{\"op\":\"place\",\"ref\":1,\"x\":\"5\",\"y\":1,\"tower\":\"arrow\"}", /* wrong type */
        "{\"op\":\"place\",\"ref\":1,\"x\":65536,\"y\":1,\"tower\":\"arrow\"}", /* range */
        "{\"op\":\"place\",\"ref\":1,\"x\":-1,\"y\":1,\"tower\":\"arrow\"}",
        "{\"op\":\"place\",\"ref\":1,\"x\":1.5,\"y\":1,\"tower\":\"arrow\"}",
        "{\"op\":\"place\",\"ref\":1,\"x\":1,\"y\":1}",                /* missing field */
        "{\"op\":\"place\",\"ref\":1,\"x\":1,\"y\":1,\"tower\":\"\"}", /* empty string */
        "{\"op\":\"ready\",\"ref\":1,\"ready\":1}",
        "{\"op\":\"ready\",\"ready\":true}", /* missing ref */
        "{\"op\":\"upgrade\",\"ref\":1,\"tower_id\":4294967296}",
        "{\"op\":\"start\",\"ref\":9007199254740992}", /* ref too big */
        "{\"op\":\"start\",\"ref\":-1}",
        "{\"op\":\"start\",\"ref\":[1]}",
        "{\"ref\":1}", /* no op */
        "{\"op\":5,\"ref\":1}",
        "{\"op\":\"hello\",\"last_seq\":-3}",
        "[1,2,3]",
        "\"start\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(both(bad[i]), STK_EDECODE, "%s", bad[i]);
        cr_assert_eq(E.code, STK_LIVE_REJECT_BAD_MESSAGE, "%s", bad[i]);
        cr_assert(E.message[0], "a message for %s", bad[i]);
    }
    cr_assert_eq(both("{\"op\":\"dance\",\"ref\":12}"), STK_EDECODE);
    cr_assert_eq(E.code, STK_LIVE_REJECT_UNKNOWN_OP);
    cr_assert(E.ref.kind == STK_LIVE_REF_NUM && E.ref.num == 12, "ref echoed for a reject");
    char longref[200];
    snprintf(longref, sizeof longref, "{\"op\":\"start\",\"ref\":\"%070d\"}", 1);
    cr_assert_eq(both(longref), STK_EDECODE);
}

Test(live_codec, malformed_bytes_and_oversize_are_bad_messages)
{
    static const char *const bad_json[] = {"",
                                           "{",
                                           "{\"op\":\"start\",\"ref\":1",
                                           "nul",
                                           "{\"op\":\"start\",\"op\":\"start\",\"ref\":1}",
                                           "{\"op\":\"start\",\"ref\":1} trailing"};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        cr_assert_eq(stk_live_decode(STK_LIVE_JSON, (const uint8_t *)bad_json[i],
                                     strlen(bad_json[i]), &M, &E),
                     STK_EDECODE, "%s", bad_json[i]);
        cr_assert_eq(E.code, STK_LIVE_REJECT_BAD_MESSAGE);
    }
    static const struct {
        const char *b;
        size_t n;
    } bad_mp[] = {
        {"", 0},
        {"\xc1", 1},                                /* never-used byte */
        {"\x81\xa2op", 4},                          /* truncated */
        {"\x92\x01\x02", 3},                        /* array, not map */
        {"\x81\x01\x02", 3},                        /* integer key */
        {"\x81\xa2op\xa5start\x00", 10},            /* trailing byte */
        {"\x82\xa2op\xa5start\xa2op\xa5start", 18}, /* duplicate key */
        {"\xdf\xff\xff\xff\xff", 5},                /* huge map header */
        {"\x82\xa2op\xa5start\xa3ru\xe6\x01", 15},  /* key not UTF-8: was a double free */
        {"\x82\xa0\x01\xa2op\xa5start", 12},        /* empty key (was UB), no ref */
    };
    for (size_t i = 0; i < sizeof bad_mp / sizeof bad_mp[0]; i++) {
        cr_assert_eq(
            stk_live_decode(STK_LIVE_MSGPACK, (const uint8_t *)bad_mp[i].b, bad_mp[i].n, &M, &E),
            STK_EDECODE, "msgpack case %zu", i);
        cr_assert_eq(E.code, STK_LIVE_REJECT_BAD_MESSAGE);
    }
    size_t n = STK_LIVE_MSG_MAX + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"op\":\"start\",\"ref\":1}", 22);
    big[n] = '\0';
    cr_assert_eq(stk_live_decode(STK_LIVE_JSON, (const uint8_t *)big, n, &M, &E), STK_EDECODE);
    cr_assert_eq(E.code, STK_LIVE_REJECT_BAD_MESSAGE);
    free(big);
    /* deep nesting is refused, not recursed into without bound */
    char deep[600];
    size_t k = 0;
    k += (size_t)snprintf(deep, sizeof deep, "\x82\xa2op\xa5start\xa1x");
    for (int i = 0; i < 100; i++)
        deep[k++] = '\x91';
    deep[k++] = '\x01';
    cr_assert_eq(stk_live_decode(STK_LIVE_MSGPACK, (const uint8_t *)deep, k, &M, &E), STK_EDECODE);
}

Test(live_codec, server_messages_have_the_documented_shape)
{
    stk_live_ref_t ref = {.kind = STK_LIVE_REF_STR, .len = 2, .str = "r1"};
    for (int f = 0; f < 2; f++) {
        stk_live_buf_t b = {0};
        json_t *j = NULL;
        cr_assert_eq(stk_live_encode_ack((stk_live_format_t)f, &ref, 77, 12, &b), 0);
        if (f == STK_LIVE_JSON) {
            json_error_t je;
            j = json_loadb((const char *)b.data, b.len, 0, &je);
        } else {
            cr_assert_eq(stk_live_msgpack_to_json(b.data, b.len, &j), 0);
        }
        cr_assert_str_eq(json_string_value(json_object_get(j, "op")), "ack");
        cr_assert_str_eq(json_string_value(json_object_get(j, "ref")), "r1");
        cr_assert_eq(json_integer_value(json_object_get(j, "seq")), 77);
        cr_assert_eq(json_integer_value(json_object_get(j, "tick")), 12);
        json_decref(j);
        stk_live_buf_free(&b);

        cr_assert_eq(stk_live_encode_reject((stk_live_format_t)f, NULL,
                                            stk_live_game_reject_code(STK_REJECT_NOT_ENOUGH_GOLD),
                                            "not enough gold", &b),
                     0);
        if (f == STK_LIVE_JSON) {
            json_error_t je;
            j = json_loadb((const char *)b.data, b.len, 0, &je);
        } else {
            cr_assert_eq(stk_live_msgpack_to_json(b.data, b.len, &j), 0);
        }
        cr_assert(json_is_null(json_object_get(j, "ref")));
        cr_assert_str_eq(json_string_value(json_object_get(j, "code")), "not_enough_gold");
        json_decref(j);
        stk_live_buf_free(&b);
    }
    cr_assert_str_eq(stk_live_game_reject_code(STK_REJECT_WOULD_BLOCK_PATH), "would_block_path");
    cr_assert_str_eq(stk_live_reject_code(STK_LIVE_REJECT_RATE_LIMITED), "rate_limited");
    cr_assert_str_eq(stk_live_op_name(STK_LIVE_OP_CALL_WAVE), "call_wave");
}
