/* tests/fuzz/fuzz_json_append.c — libFuzzer target for the JSON lines of events/json.h
 * that people and scripts feed in: `stockade log append` lines (stk_json_append_parse)
 * and dumped event lines (stk_json_event_parse).
 *
 * The input is one line (any bytes) tried both ways. Whatever parses is dumped with
 * stk_json_event_dump(), which must succeed (the payload was checked), and the dumped line
 * must parse back to the same envelope and payload bytes and dump to the same text
 * (abort() otherwise). Nothing may crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define APPEND_INPUT_MAX (1024u * 1024u) /* well past any line the corpus grows to */

static int same_envelope(const stk_envelope_t *a, const stk_envelope_t *b)
{
    return a->seq == b->seq && stk_uuid_eq(&a->stream, &b->stream) && a->version == b->version &&
           a->type == b->type && a->schema == b->schema && a->tick == b->tick &&
           stk_uuid_eq(&a->actor, &b->actor) && a->time_us == b->time_us &&
           a->payload_len == b->payload_len &&
           (a->payload_len == 0 || memcmp(a->payload, b->payload, a->payload_len) == 0);
}

/* e was parsed and checked: it must dump, and the dump must be a fixed point. */
static void check_dump(const stk_envelope_t *e)
{
    char *line = NULL, *again = NULL;
    uint8_t *payload = NULL;
    stk_envelope_t back;
    if (stk_json_event_dump(e, &line, NULL) != 0)
        abort();
    if (stk_json_event_parse(line, strlen(line), &back, &payload, NULL) != 0)
        abort();
    if (!same_envelope(e, &back))
        abort();
    if (stk_json_event_dump(&back, &again, NULL) != 0 || strcmp(line, again) != 0)
        abort();
    free(again);
    free(payload);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > APPEND_INPUT_MAX)
        return 0;
    const char *line = (const char *)data;
    stk_json_append_t a;
    stk_payload_error_t err;
    memset(&a, 0, sizeof a);
    if (stk_json_append_parse(line, size, &a, &err) == 0) {
        if (a.env.seq != 0 || a.env.version != 0 || a.env.time_us != 0 ||
            a.env.payload != a.payload)
            abort(); /* the log assigns these */
        check_dump(&a.env);
        stk_json_append_free(&a);
    }
    stk_envelope_t e;
    uint8_t *payload = NULL;
    if (stk_json_event_parse(line, size, &e, &payload, &err) == 0) {
        check_dump(&e);
        free(payload);
    } else if (payload != NULL) {
        abort(); /* documented: nothing left allocated on error */
    }
    return 0;
}
