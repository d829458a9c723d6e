/* tests/fuzz/fuzz_map_json.c — libFuzzer target for maps in the contract's JSON shape
 * (events/map_json.h: the maps/ files and REST bodies) and the map validator behind it.
 *
 * A JSON input goes through stk_map_json_parse() (shape, then stk_map_validate()). A
 * document that parses must: validate again with no problem; encode as a MapDrawn payload
 * that passes stk_payload_check() and decodes (stk_game_map_decode) to the same stk_map_t;
 * and write back as contract JSON that parses to the same map, name and description
 * (abort() otherwise).
 * An input starting with a NUL byte (never JSON) is instead copied over the start of a
 * zeroed stk_map_t (width, height, spawn, goal, wave counts, waves...) and validated
 * directly: the validator must bound itself on any stored value (wave and group counts
 * above capacity, sides above 100). Nothing may crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "events/game.h"
#include "events/map_json.h"
#include "events/types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAP_INPUT_MAX (1024u * 1024u)

static void raw_validate(const uint8_t *data, size_t size)
{
    stk_map_t *m = calloc(1, sizeof *m);
    stk_map_problem_t probs[8];
    size_t count = 0;
    if (!m)
        abort();
    memcpy(m, data, size < sizeof *m ? size : sizeof *m);
    int rc = stk_map_validate(m, probs, 8, &count);
    if ((rc == 0) != (count == 0))
        abort();
    for (size_t i = 0; i < count && i < 8; i++)
        if (strnlen(probs[i].field, STK_MAP_FIELD_MAX) == STK_MAP_FIELD_MAX ||
            strnlen(probs[i].message, STK_MAP_MESSAGE_MAX) == STK_MAP_MESSAGE_MAX)
            abort(); /* strings must be NUL-terminated */
    free(m);
}

static void check_doc(const stk_map_doc_t *doc)
{
    stk_map_problem_t probs[2];
    size_t count = 0;
    stk_payload_error_t err;
    stk_uuid_t user;
    msgpack_sbuffer sb;
    json_t *obj = NULL;
    char *text = NULL;
    stk_map_t *back = malloc(sizeof *back);
    stk_map_doc_t *doc2 = malloc(sizeof *doc2);
    if (!back || !doc2)
        abort();
    if (stk_map_validate(&doc->map, probs, 2, &count) != 0 || count != 0)
        abort(); /* parse validated it */

    memset(user.b, 0x5a, sizeof user.b);
    msgpack_sbuffer_init(&sb);
    if (stk_map_json_to_payload(doc, STK_EV_MAP_DRAWN, &user, &sb) != 0)
        abort();
    if (stk_payload_check(STK_EV_MAP_DRAWN, 1, (const uint8_t *)sb.data, sb.size, &err) != 0)
        abort();
    stk_game_map_meta_t meta;
    if (stk_game_map_decode(STK_EV_MAP_DRAWN, 1, (const uint8_t *)sb.data, sb.size, back, &meta,
                            &err) != 0 ||
        memcmp(back, &doc->map, sizeof *back) != 0 || meta.name_len != strlen(doc->name) ||
        memcmp(meta.name, doc->name, meta.name_len) != 0 ||
        meta.description_len != strlen(doc->description))
        abort();
    msgpack_sbuffer_destroy(&sb);

    if (stk_map_json_to_object(doc, &obj) != 0)
        abort();
    text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        abort();
    if (stk_map_json_parse(text, strlen(text), doc2, &err) != 0 ||
        memcmp(&doc2->map, &doc->map, sizeof doc->map) != 0 || strcmp(doc2->name, doc->name) != 0 ||
        strcmp(doc2->description, doc->description) != 0)
        abort(); /* what we write must read back */
    free(text);
    json_decref(obj);
    free(doc2);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAP_INPUT_MAX)
        return 0;
    if (size > 0 && data[0] == 0) {
        raw_validate(data + 1, size - 1);
        return 0;
    }
    stk_map_doc_t *doc = malloc(sizeof *doc);
    stk_payload_error_t err;
    if (!doc)
        abort();
    if (stk_map_json_parse((const char *)data, size, doc, &err) == 0)
        check_doc(doc);
    free(doc);
    return 0;
}
