/* tests/fuzz/fuzz_event_decode.c — libFuzzer target for everything that reads stored
 * event bytes: the envelope decoder, upcasting, the payload validator and the JSON edge.
 *
 * The input is tried as an envelope and as a stored record (32-byte chain, then the
 * envelope); whatever decodes is upcast, validated and dumped as a JSON line, and a
 * dumped line must parse back and dump to the same text (abort otherwise). The raw input
 * is also validated as the payload of a few types with nested schemas. Nothing may crash,
 * leak or read out of bounds, whatever the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/envelope.h"
#include "events/json.h"
#include "events/payload.h"
#include "events/upcast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line_round_trip(const char *line)
{
    stk_envelope_t e;
    uint8_t *payload = NULL;
    char *again = NULL;
    if (stk_json_event_parse(line, strlen(line), &e, &payload, NULL) != 0)
        abort(); /* a line we wrote must parse */
    if (stk_json_event_dump(&e, &again, NULL) != 0 || strcmp(line, again) != 0)
        abort(); /* and dump to the same text */
    free(again);
    free(payload);
}

static void try_envelope(const uint8_t *data, size_t size)
{
    stk_envelope_t e;
    if (stk_envelope_decode(data, size, &e) != 0)
        return;
    msgpack_sbuffer scratch;
    const uint8_t *p = NULL;
    size_t plen = 0;
    uint16_t schema = 0;
    stk_payload_error_t err;
    msgpack_sbuffer_init(&scratch);
    if (stk_upcast(e.type, e.schema, e.payload, e.payload_len, &scratch, &p, &plen, &schema,
                   &err) == 0 &&
        stk_payload_check(e.type, schema, p, plen, &err) == 0) {
        char *line = NULL;
        e.schema = schema;
        e.payload = p;
        e.payload_len = plen;
        if (stk_json_event_dump(&e, &line, &err) == 0)
            check_line_round_trip(line);
        free(line);
    }
    msgpack_sbuffer_destroy(&scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        uint16_t type, schema;
    } raw[] = {
        {STK_EV_MAP_DRAWN, 1},     {STK_EV_SESSION_OPENED, 1}, {STK_EV_SESSION_OPENED, 2},
        {STK_EV_TRIBE_FOUNDED, 1}, {STK_EV_GAME_ENDED, 1},     {STK_EV_USER_REGISTERED, 1},
    };
    if (size > STK_RECORD_MAX)
        return 0;
    try_envelope(data, size);
    if (size > STK_CHAIN_LEN)
        try_envelope(data + STK_CHAIN_LEN, size - STK_CHAIN_LEN);
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        stk_payload_error_t err;
        json_t *j = NULL;
        if (stk_json_from_payload(raw[i].type, raw[i].schema, data, size, &j, &err) == 0) {
            /* valid as this type: JSON back to MessagePack must validate too */
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            if (stk_json_to_payload(raw[i].type, raw[i].schema, j, &sb, &err) != 0)
                abort();
            msgpack_sbuffer_destroy(&sb);
            json_decref(j);
        }
    }
    stk_payload_t p;
    if (stk_payload_open(&p, data, size, NULL) == 0) {
        uint64_t v;
        const msgpack_object *m;
        stk_payload_get_uint(stk_payload_root(&p), "width", &v);
        stk_payload_get_map(stk_payload_root(&p), "spawn", &m);
        stk_payload_close(&p);
    }
    return 0;
}
