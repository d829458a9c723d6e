/* tests/events/test_json.c — JSON at the edge: payload kinds, event lines for `log dump`,
 * append lines for `log append`, and error messages that name the field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/json.h"

static const char *UUID_A = "0f8fad5b-d9cb-469f-a165-70867728950e";

/* Parse an append line; returns rc and fills err. */
static int append(const char *line, stk_json_append_t *a, stk_payload_error_t *err)
{
    memset(err, 0, sizeof *err);
    return stk_json_append_parse(line, strlen(line), a, err);
}

static void expect_append_error(const char *line, int code, const char *path, const char *part)
{
    stk_json_append_t a;
    stk_payload_error_t err;
    int rc = append(line, &a, &err);
    cr_expect_eq(rc, code, "%s -> %d (%s) %s: %s", line, rc, stk_errname(rc), err.path, err.reason);
    cr_expect_str_eq(err.path, path, "%s: path '%s' (%s)", line, err.path, err.reason);
    cr_expect(strstr(err.reason, part) != NULL, "%s: reason '%s' lacks '%s'", line, err.reason,
              part);
    cr_expect_null(a.payload);
}

Test(json, append_line_fills_an_envelope_with_defaults)
{
    stk_json_append_t a;
    stk_payload_error_t err;
    char line[256];
    snprintf(line, sizeof line,
             "{\"stream\":\"%s\",\"type\":\"MapRated\",\"payload\":{\"stars\":5,"
             "\"user_id\":\"7C9E6679-7425-40DE-944B-E07FC1F90AE7\"}}",
             UUID_A);
    cr_assert_eq(append(line, &a, &err), 0, "%s: %s", err.path, err.reason);
    cr_expect_eq(a.env.type, STK_EV_MAP_RATED);
    cr_expect_eq(a.env.schema, 1);
    cr_expect_eq(a.env.tick, 0);
    cr_expect(stk_uuid_is_nil(&a.env.actor));
    cr_expect_eq(a.env.seq, 0);
    cr_expect_eq(a.env.version, 0);
    cr_expect_eq(a.has_expected_version, 0);
    cr_expect_eq(a.env.payload, a.payload);
    char s[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&a.env.stream, s);
    cr_expect_str_eq(s, UUID_A);
    /* canonical: keys in schema order (user_id, stars) whatever the JSON order */
    cr_expect_eq(
        stk_payload_check(a.env.type, a.env.schema, a.env.payload, a.env.payload_len, NULL), 0);
    stk_payload_t p;
    cr_assert_eq(stk_payload_open(&p, a.env.payload, a.env.payload_len, NULL), 0);
    cr_expect_eq(p.root.via.map.ptr[0].key.via.str.size, 7); /* "user_id" first */
    stk_payload_close(&p);
    stk_json_append_free(&a);
}

Test(json, append_line_takes_schema_tick_actor_and_expected_version)
{
    stk_json_append_t a;
    stk_payload_error_t err;
    char line[256];
    snprintf(line, sizeof line,
             "{\"stream\":\"%s\",\"type\":\"TowerSold\",\"schema\":1,\"tick\":1234,"
             "\"actor\":\"%s\",\"expected_version\":7,\"payload\":{\"tower_id\":9}}",
             UUID_A, UUID_A);
    cr_assert_eq(append(line, &a, &err), 0, "%s: %s", err.path, err.reason);
    cr_expect_eq(a.env.tick, 1234);
    cr_expect(stk_uuid_eq(&a.env.actor, &a.env.stream));
    cr_expect_eq(a.has_expected_version, 1);
    cr_expect_eq(a.expected_version, 7);
    stk_json_append_free(&a);
    stk_json_append_free(&a); /* safe twice */

    /* payload may be left out: it is {} and must satisfy the schema */
    snprintf(line, sizeof line, "{\"stream\":\"%s\",\"type\":\"WaveCalled\"}", UUID_A);
    cr_assert_eq(append(line, &a, &err), 0, "%s: %s", err.path, err.reason);
    cr_expect_eq(a.env.payload_len, 1);
    stk_json_append_free(&a);
}

Test(json, append_errors_name_the_field)
{
    expect_append_error("{\"stream\":", STK_EDECODE, "", "invalid JSON");
    expect_append_error("[1,2]", STK_EDECODE, "", "object");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":\"Nope\"}",
                        STK_ETYPE, "type", "Nope");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\"}", STK_ESCHEMA,
                        "type", "missing");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165\",\"type\":\"WaveCalled\"}",
                        STK_ESCHEMA, "stream", "uuid");
    expect_append_error("{\"type\":\"WaveCalled\"}", STK_ESCHEMA, "stream", "missing");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"WaveCalled\",\"actor\":\"zz8fad5b-d9cb-469f-a165-70867728950e\"}",
                        STK_ESCHEMA, "actor", "uuid");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"WaveCalled\",\"tick\":-1}",
                        STK_ESCHEMA, "tick", "unsigned");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"WaveCalled\",\"schema\":2}",
                        STK_EVERSION, "schema", "no schema version 2");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"WaveCalled\",\"colour\":1}",
                        STK_ESCHEMA, "colour", "unknown key");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"WaveCalled\",\"expected_version\":\"3\"}",
                        STK_ESCHEMA, "expected_version", "unsigned");
    /* payload violating its schema: range, kind, unknown, missing, base64, nested path */
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"MapRated\",\"payload\":{\"user_id\":"
                        "\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"stars\":6}}",
                        STK_ESCHEMA, "payload.stars", "out of range 0..5");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"PlayerReady\",\"payload\":{\"ready\":1}}",
                        STK_ESCHEMA, "payload.ready", "expected boolean");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"PlayerReady\",\"payload\":{\"ready\":true,\"steady\":true}}",
                        STK_ESCHEMA, "payload.steady", "unknown key");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"TowerPlaced\",\"payload\":{\"x\":1,\"tower\":\"arrow\"}}",
                        STK_ESCHEMA, "payload.y", "missing");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"UserRegistered\",\"payload\":{\"username\":\"bob\",\"email\":\"%%%\","
                        "\"password_hash\":\"\"}}",
                        STK_ESCHEMA, "payload.email", "base64");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"MapRated\",\"payload\":{\"user_id\":\"nope\",\"stars\":1}}",
                        STK_ESCHEMA, "payload.user_id", "uuid");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"WaveEnded\",\"payload\":{\"wave\":1,\"lives\":3,\"gold\":[1,\"x\"],"
                        "\"hash\":\"1\"}}",
                        STK_ESCHEMA, "payload.gold[1]", "expected unsigned");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"TickMark\",\"payload\":{\"hash\":\"18446744073709551616\"}}",
                        STK_ESCHEMA, "payload.hash", "expected unsigned");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"TickMark\",\"payload\":{\"hash\":1.5}}",
                        STK_ESCHEMA, "payload.hash", "got number");
    expect_append_error("{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"type\":"
                        "\"TickMark\",\"payload\":{\"hash\":1,\"hash\":2}}",
                        STK_EDECODE, "", "duplicate");
}

static void dump_and_parse(const stk_envelope_t *e, char **line)
{
    stk_payload_error_t err = {{0}, {0}};
    cr_assert_eq(stk_json_event_dump(e, line, &err), 0, "%s: %s", err.path, err.reason);
    stk_envelope_t back;
    uint8_t *payload = NULL;
    cr_assert_eq(stk_json_event_parse(*line, strlen(*line), &back, &payload, &err), 0, "%s: %s",
                 err.path, err.reason);
    cr_expect_eq(back.seq, e->seq);
    cr_expect(stk_uuid_eq(&back.stream, &e->stream));
    cr_expect_eq(back.version, e->version);
    cr_expect_eq(back.type, e->type);
    cr_expect_eq(back.schema, e->schema);
    cr_expect_eq(back.tick, e->tick);
    cr_expect(stk_uuid_eq(&back.actor, &e->actor));
    cr_expect_eq(back.time_us, e->time_us);
    cr_expect_eq(back.payload, payload);
    cr_expect(back.payload_len == e->payload_len &&
                  memcmp(back.payload, e->payload, e->payload_len) == 0,
              "payload bytes differ after the line round trip");
    free(payload);
}

Test(json, event_line_round_trip_keeps_every_field_and_payload_byte)
{
    stk_json_append_t a;
    stk_payload_error_t err;
    char in[512];
    snprintf(in, sizeof in,
             "{\"stream\":\"%s\",\"type\":\"GameEnded\",\"tick\":77,\"payload\":{\"result\":"
             "\"victory\",\"wave\":12,\"lives\":-1,\"gold\":[5,0,\"9223372036854775808\"],"
             "\"hash\":\"18446744073709551615\"}}",
             UUID_A);
    cr_assert_eq(append(in, &a, &err), 0, "%s: %s", err.path, err.reason);
    a.env.seq = 42;
    a.env.version = 3;
    a.env.time_us = -5; /* any i64 survives */
    char *line = NULL;
    dump_and_parse(&a.env, &line);
    cr_expect(strstr(line, "\"seq\":42,\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
                           "\"version\":3,\"type\":\"GameEnded\",\"schema\":1,\"tick\":77,"
                           "\"actor\":\"00000000-0000-0000-0000-000000000000\",\"time_us\":-5,"
                           "\"payload\":{\"result\":\"victory\"") == line + 1,
              "%s", line);
    /* u64 hash as a decimal string; a uint above INT64_MAX too */
    cr_expect(strstr(line, "\"hash\":\"18446744073709551615\"") != NULL, "%s", line);
    cr_expect(strstr(line, "\"gold\":[5,0,\"9223372036854775808\"]") != NULL, "%s", line);
    free(line);
    stk_json_append_free(&a);
}

Test(json, bins_are_base64_and_uuids_canonical_in_json)
{
    stk_json_append_t a;
    stk_payload_error_t err;
    char in[512];
    snprintf(in, sizeof in,
             "{\"stream\":\"%s\",\"type\":\"UserRegistered\",\"payload\":{\"username\":\"zoë\","
             "\"email\":\"AAEC/w==\",\"password_hash\":\"\"}}",
             UUID_A);
    cr_assert_eq(append(in, &a, &err), 0, "%s: %s", err.path, err.reason);
    stk_payload_t p;
    const uint8_t *b;
    size_t n;
    cr_assert_eq(stk_payload_open(&p, a.env.payload, a.env.payload_len, NULL), 0);
    cr_expect_eq(stk_payload_get_bin(stk_payload_root(&p), "email", &b, &n), 0);
    cr_expect(n == 4 && memcmp(b, "\x00\x01\x02\xff", 4) == 0);
    stk_payload_close(&p);
    char *line = NULL;
    dump_and_parse(&a.env, &line);
    cr_expect(strstr(line, "\"username\":\"zoë\",\"email\":\"AAEC/w==\",\"password_hash\":\"\"") !=
                  NULL,
              "%s", line);
    free(line);
    stk_json_append_free(&a);

    json_t *j = NULL;
    static const uint8_t rated[] = "\x82\xa7user_id\xc4\x10\xAB\xCD\xEF\x01\x23\x45\x67\x89"
                                   "\xAB\xCD\xEF\x01\x23\x45\x67\x89\xa5stars\x03";
    cr_assert_eq(stk_json_from_payload(STK_EV_MAP_RATED, 1, rated, sizeof rated - 1, &j, &err), 0,
                 "%s: %s", err.path, err.reason);
    cr_expect_str_eq(json_string_value(json_object_get(j, "user_id")),
                     "abcdef01-2345-6789-abcd-ef0123456789");
    cr_expect_eq(json_integer_value(json_object_get(j, "stars")), 3);
    json_decref(j);
}

Test(json, dump_and_parse_refuse_bad_events_with_the_field)
{
    stk_envelope_t e;
    stk_payload_error_t err;
    char *line = (char *)"x";
    memset(&e, 0, sizeof e);
    e.type = 4242;
    e.payload = (const uint8_t *)"\x80";
    e.payload_len = 1;
    cr_expect_eq(stk_json_event_dump(&e, &line, &err), STK_ETYPE);
    cr_expect_null(line);
    e.type = STK_EV_MAP_PUBLISHED;
    e.schema = 1;
    cr_expect_eq(stk_json_event_dump(&e, &line, &err), STK_ESCHEMA);
    cr_expect_str_eq(err.path, "payload.public");
    e.schema = 9;
    cr_expect_eq(stk_json_event_dump(&e, &line, &err), STK_EVERSION);

    uint8_t *payload = (uint8_t *)"x";
    const char *no_seq = "{\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"version\":1,"
                         "\"type\":\"WaveCalled\",\"schema\":1,\"tick\":0,\"actor\":"
                         "\"00000000-0000-0000-0000-000000000000\",\"time_us\":0,\"payload\":{}}";
    cr_expect_eq(stk_json_event_parse(no_seq, strlen(no_seq), &e, &payload, &err), STK_ESCHEMA);
    cr_expect_str_eq(err.path, "seq");
    cr_expect_null(payload);
    const char *no_schema = "{\"seq\":1,\"stream\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
                            "\"version\":1,\"type\":\"WaveCalled\",\"tick\":0,\"actor\":"
                            "\"00000000-0000-0000-0000-000000000000\",\"time_us\":0,"
                            "\"payload\":{}}";
    cr_expect_eq(stk_json_event_parse(no_schema, strlen(no_schema), &e, &payload, &err),
                 STK_ESCHEMA);
    cr_expect_str_eq(err.path, "schema");
    cr_expect_eq(stk_json_event_parse("{}", 2, &e, &payload, &err), STK_ESCHEMA);
    cr_expect_str_eq(err.path, "type");
}

Test(json, to_payload_refuses_unknown_type_version_and_non_objects)
{
    msgpack_sbuffer sb;
    stk_payload_error_t err;
    json_t *arr = json_array();
    msgpack_sbuffer_init(&sb);
    cr_expect_eq(stk_json_to_payload(4242, 1, arr, &sb, &err), STK_ETYPE);
    cr_expect_eq(stk_json_to_payload(STK_EV_TICK_MARK, 2, arr, &sb, &err), STK_EVERSION);
    cr_expect_eq(stk_json_to_payload(STK_EV_TICK_MARK, 1, arr, &sb, &err), STK_ESCHEMA);
    cr_expect(strstr(err.reason, "expected object") != NULL, "%s", err.reason);
    json_decref(arr);
    msgpack_sbuffer_destroy(&sb);
}

Test(json, every_frozen_fixture_survives_the_event_line_round_trip)
{
    const char *src = getenv("STK_SOURCE_DIR");
    cr_assert_not_null(src, "STK_SOURCE_DIR is not set (run through ctest)");
    uint8_t *buf = malloc(STK_PAYLOAD_MAX);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < stk_event_type_count(); i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        for (uint16_t v = 1; v <= t->schema; v++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/tests/fixtures/events/%s.v%u.mp", src, t->name, v);
            FILE *f = fopen(path, "rb");
            cr_assert_not_null(f, "missing fixture %s", path);
            stk_envelope_t e;
            memset(&e, 0, sizeof e);
            e.seq = 1000 + i;
            e.version = v;
            e.type = t->id;
            e.schema = v;
            e.tick = 20 * i;
            e.time_us = 1764000000000000 + (int64_t)i;
            e.stream.b[0] = (uint8_t)i;
            e.actor.b[15] = (uint8_t)v;
            e.payload = buf;
            e.payload_len = fread(buf, 1, STK_PAYLOAD_MAX, f);
            fclose(f);
            char *line = NULL;
            dump_and_parse(&e, &line);
            free(line);
        }
    }
    free(buf);
}

Test(json, dump_refuses_counters_that_json_integers_cannot_carry)
{
    stk_envelope_t e;
    stk_payload_error_t err;
    char *line = NULL;
    memset(&e, 0, sizeof e);
    e.type = STK_EV_WAVE_CALLED;
    e.schema = 1;
    e.payload = (const uint8_t *)"\x80";
    e.payload_len = 1;
    e.seq = (uint64_t)INT64_MAX + 1;
    cr_expect_eq(stk_json_event_dump(&e, &line, &err), STK_ERANGE);
    cr_expect_null(line);
    e.seq = 1;
    cr_expect_eq(stk_json_event_dump(&e, &line, &err), 0);
    free(line);
}
