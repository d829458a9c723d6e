/* events/map_json.h — maps in the data contract's JSON shape (the files in maps/, REST bodies).
 *
 * The contract's `maps` row as JSON (spec/data-architecture.md; maps/README.md):
 *   {"name", "description", "width", "height",
 *    "terrain_data": [{"x", "y", "terrainType", "height", "isBlocked"}, ...],
 *    "spawn_point": {"x", "y"}, "goal_point": {"x", "y"},
 *    "wave_config": {"waves": [{"waveNumber", "enemies": [{"type", "count",
 *                                                           "spawnInterval"}]}]}}
 * This module turns such a document into a stk_map_t plus its name and description, and
 * from there into a MapDrawn/MapEdited payload (through events/game.h). Every problem is
 * reported with the JSON path of the field it is about ("terrain_data[41].isBlocked",
 * "wave_config.waves[2].enemies[0].type"), first the shape (missing key, wrong JSON kind,
 * a value that cannot be stored), then the game's rules (stk_map_validate(): ranges,
 * spawn/goal, connectivity, wave numbering, enemy names).
 *
 * Lenient where the contract is: keys other than the ones above are ignored (a row may
 * carry id, user_id, timestamps...), "description" may be absent or null (empty), and
 * terrain_data may list tiles in any order (each tile exactly once).
 *
 * It is NOT the MessagePack codec (events/game.h) nor the validator (core/map.h).
 * Thread: pure functions; any thread.
 */
#ifndef STK_EVENTS_MAP_JSON_H
#define STK_EVENTS_MAP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "core/map.h"
#include "events/envelope.h"
#include "events/payload.h"

#define STK_MAP_JSON_MAX      (8u * 1024u * 1024u) /* largest map document, bytes */
#define STK_MAP_JSON_NAME_MAX 400                  /* name: 1..100 code points, <= 400 B */
#define STK_MAP_JSON_DESC_MAX 8000                 /* description: 0..2000 code points, <= 8000 B */

/* A parsed map document. Large (~60 KiB): allocate it, do not put it on a small stack. */
typedef struct stk_map_doc {
    stk_map_t map;
    char name[STK_MAP_JSON_NAME_MAX + 1];        /* UTF-8, NUL-terminated */
    char description[STK_MAP_JSON_DESC_MAX + 1]; /* UTF-8, NUL-terminated, may be "" */
} stk_map_doc_t;

/* Fill *out from a parsed JSON object (borrowed), then validate the map.
 * Returns 0; STK_EINVAL (NULL argument); STK_ESCHEMA (err->path names the first problem
 * field, err->reason says what is wrong; map rule problems carry the stk_map_problem_t
 * field and message, prefixed with the problem's name, e.g. "NO_PATH: ..."). err may be
 * NULL. *out is unspecified on error. */
int stk_map_json_from_object(const json_t *root, stk_map_doc_t *out, stk_payload_error_t *err);

/* Parse len bytes of JSON text, then as stk_map_json_from_object(). Extra errors:
 * STK_ETOOBIG (len > STK_MAP_JSON_MAX), STK_EDECODE (not JSON or not an object: err->path
 * is "" and err->reason has jansson's line and column). */
int stk_map_json_parse(const char *text, size_t len, stk_map_doc_t *out, stk_payload_error_t *err);

/* Read the file at path (at most STK_MAP_JSON_MAX bytes) and parse it. Extra errors:
 * STK_ENOTFOUND (no such file), STK_EIO (unreadable), STK_ENOMEM. */
int stk_map_json_load(const char *path, stk_map_doc_t *out, stk_payload_error_t *err);

/* The contract JSON of a document (name, description, width, height, terrain_data in
 * row-major order, spawn_point, goal_point, wave_config), as a new object in *out (the
 * caller json_decref()s it). Enemy types with no name are written as "unknown".
 * Returns 0, STK_EINVAL (NULL argument or a size above the capacity), STK_ENOMEM. */
int stk_map_json_to_object(const stk_map_doc_t *doc, json_t **out);

/* Encode a parsed document as a MapDrawn (type STK_EV_MAP_DRAWN, user_id = the drawing
 * user) or MapEdited (STK_EV_MAP_EDITED, user_id ignored, may be NULL) payload into out
 * (initialised by the caller; cleared first). Returns the codes of stk_game_map_encode(). */
int stk_map_json_to_payload(const stk_map_doc_t *doc, uint16_t type, const stk_uuid_t *user_id,
                            msgpack_sbuffer *out);

#endif
