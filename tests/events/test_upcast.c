/* tests/events/test_upcast.c — readers see the current schema: the frozen fixtures of
 * every type at every version (tests/fixtures/events/<Name>.v<N>.mp) decode, upcast to
 * the current version and validate; SessionOpened v1 gains tick_rate = 20. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/json.h"
#include "events/upcast.h"

/* Reads the fixture of (name, version) into a malloc'd buffer; the caller frees it. */
static uint8_t *load_fixture(const char *name, unsigned version, size_t *len)
{
    const char *src = getenv("STK_SOURCE_DIR");
    cr_assert_not_null(src, "STK_SOURCE_DIR is not set (run through ctest)");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/events/%s.v%u.mp", src, name, version);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing frozen fixture %s", path);
    uint8_t *buf = malloc(STK_PAYLOAD_MAX);
    cr_assert_not_null(buf);
    *len = fread(buf, 1, STK_PAYLOAD_MAX, f);
    fclose(f);
    return buf;
}

Test(upcast, every_fixture_of_every_version_upcasts_to_a_valid_current_payload)
{
    for (size_t i = 0; i < stk_event_type_count(); i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        for (uint16_t v = 1; v <= t->schema; v++) {
            size_t len;
            uint8_t *fx = load_fixture(t->name, v, &len);
            stk_payload_error_t err = {{0}, {0}};
            int rc = stk_payload_check(t->id, v, fx, len, &err);
            cr_expect_eq(rc, 0, "%s v%u fixture: %s: %s", t->name, v, err.path, err.reason);

            msgpack_sbuffer scratch;
            const uint8_t *out = NULL;
            size_t out_len = 0;
            uint16_t out_schema = 0;
            msgpack_sbuffer_init(&scratch);
            rc = stk_upcast(t->id, v, fx, len, &scratch, &out, &out_len, &out_schema, &err);
            cr_expect_eq(rc, 0, "%s v%u upcast: %s", t->name, v, err.reason);
            cr_expect_eq(out_schema, t->schema, "%s v%u", t->name, v);
            rc = stk_payload_check(t->id, out_schema, out, out_len, &err);
            cr_expect_eq(rc, 0, "%s v%u upcast result: %s: %s", t->name, v, err.path, err.reason);
            if (v == t->schema)
                cr_expect_eq(out, fx, "%s: a current payload is passed through", t->name);
            msgpack_sbuffer_destroy(&scratch);
            free(fx);
        }
    }
}

Test(upcast, every_old_version_has_an_upcaster)
{
    for (size_t i = 0; i < stk_event_type_count(); i++) {
        const stk_event_type_t *t = stk_event_type_at(i);
        for (uint16_t v = 1; v < t->schema; v++)
            cr_expect(stk_upcast_has(t->id, v), "%s v%u has no upcaster", t->name, v);
        cr_expect_not(stk_upcast_has(t->id, t->schema), "%s: upcaster past current", t->name);
    }
}

Test(upcast, session_opened_v1_gains_tick_rate_20_and_keeps_every_other_field)
{
    size_t len;
    uint8_t *fx = load_fixture("SessionOpened", 1, &len);
    msgpack_sbuffer scratch;
    const uint8_t *out;
    size_t out_len;
    uint16_t out_schema;
    stk_payload_error_t err;
    msgpack_sbuffer_init(&scratch);
    cr_assert_eq(
        stk_upcast(STK_EV_SESSION_OPENED, 1, fx, len, &scratch, &out, &out_len, &out_schema, &err),
        0, "%s", err.reason);
    cr_expect_eq(out_schema, 2);
    stk_payload_t old, cur;
    cr_assert_eq(stk_payload_open(&old, fx, len, NULL), 0);
    cr_assert_eq(stk_payload_open_checked(&cur, STK_EV_SESSION_OPENED, 2, out, out_len, &err), 0,
                 "%s: %s", err.path, err.reason);
    uint64_t rate = 0, a = 0, b = 1;
    cr_expect_eq(stk_payload_get_uint(stk_payload_root(&cur), "tick_rate", &rate), 0);
    cr_expect_eq(rate, 20);
    cr_expect_eq(stk_payload_get_uint(stk_payload_root(&old), "seed", &a), 0);
    cr_expect_eq(stk_payload_get_uint(stk_payload_root(&cur), "seed", &b), 0);
    cr_expect_eq(a, b);
    cr_expect_eq(a, 18446744073709551557ull, "the frozen v1 seed");
    const uint8_t *m1, *m2;
    size_t l1, l2;
    cr_expect_eq(stk_payload_get_bin(stk_payload_root(&old), "map", &m1, &l1), 0);
    cr_expect_eq(stk_payload_get_bin(stk_payload_root(&cur), "map", &m2, &l2), 0);
    cr_expect(l1 == l2 && memcmp(m1, m2, l1) == 0, "embedded map unchanged");
    /* the v1 bytes are a prefix of v2 except for the map header: canonical order */
    cr_expect_eq(out_len, len + 1 + 9 + 1);
    cr_expect_eq(memcmp(out + 1, fx + 1, len - 1), 0);
    stk_payload_close(&old);
    stk_payload_close(&cur);

    /* the result is canonical: a JSON round trip gives the same bytes */
    json_t *j = NULL;
    msgpack_sbuffer back;
    msgpack_sbuffer_init(&back);
    cr_assert_eq(stk_json_from_payload(STK_EV_SESSION_OPENED, 2, out, out_len, &j, &err), 0);
    cr_assert_eq(stk_json_to_payload(STK_EV_SESSION_OPENED, 2, j, &back, &err), 0);
    cr_expect(back.size == out_len && memcmp(back.data, out, out_len) == 0);
    json_decref(j);
    msgpack_sbuffer_destroy(&back);
    msgpack_sbuffer_destroy(&scratch);
    free(fx);
}

Test(upcast, unknown_type_version_and_invalid_old_payloads_are_refused)
{
    msgpack_sbuffer scratch;
    const uint8_t *out;
    size_t out_len;
    uint16_t out_schema;
    stk_payload_error_t err;
    const uint8_t empty[] = {0x80};
    msgpack_sbuffer_init(&scratch);
    cr_expect_eq(stk_upcast(4242, 1, empty, 1, &scratch, &out, &out_len, &out_schema, &err),
                 STK_ETYPE);
    cr_expect_eq(
        stk_upcast(STK_EV_SESSION_OPENED, 0, empty, 1, &scratch, &out, &out_len, &out_schema, &err),
        STK_EVERSION);
    cr_expect_eq(
        stk_upcast(STK_EV_SESSION_OPENED, 3, empty, 1, &scratch, &out, &out_len, &out_schema, NULL),
        STK_EVERSION);
    cr_expect_eq(
        stk_upcast(STK_EV_SESSION_OPENED, 1, empty, 1, &scratch, &out, &out_len, &out_schema, &err),
        STK_ESCHEMA);
    cr_expect_str_eq(err.path, "map_id");
    cr_expect_eq(stk_upcast(STK_EV_SESSION_OPENED, 1, (const uint8_t *)"\x85", 1, &scratch, &out,
                            &out_len, &out_schema, &err),
                 STK_ETRUNC);
    cr_expect_eq(scratch.size, 0);
    msgpack_sbuffer_destroy(&scratch);
}
