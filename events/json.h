/* events/json.h — JSON at the edges: payloads and whole events as JSON (jansson).
 *
 * Inside Stockade events are MessagePack; JSON exists only where people and other programs
 * look (REST bodies, WebSocket text frames, `stockade log dump` / `log append`, exports).
 * The conversion is guided by the payload schema (events/types.def), so it is exact both
 * ways: converting a valid payload to JSON and back gives identical bytes, because the
 * writer emits keys in schema order (the canonical order) and every integer in its
 * smallest MessagePack form.
 *
 * Mapping of field kinds:
 *   uint   JSON integer; a decimal string for STK_FF_DECIMAL fields ("hash", "seed": u64
 *          values may exceed what JSON numbers and jansson's json_int_t carry) and for any
 *          value above INT64_MAX. Reading accepts either form for every uint field.
 *   int    JSON integer.        bool  true/false.        str  JSON string (UTF-8).
 *   bin    base64 string (RFC 4648 standard alphabet, with padding; libsodium).
 *   uuid   canonical lowercase "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case read).
 *   map    JSON object, keys in schema order.   array  JSON array.
 *
 * Event line (stk_json_event_dump / stk_json_event_parse), one compact JSON object:
 *   {"seq","stream","version","type","schema","tick","actor","time_us","payload":{...}}
 * with "type" the event name and "stream"/"actor" uuids. Append line (stk_json_append_parse):
 *   {"stream","type","payload", optional "schema","tick","actor","expected_version"}
 * "schema" defaults to the current version, "tick" to 0, "actor" to the nil uuid (the
 * server) and "payload" to {}.
 *
 * Errors name the field: err->path is "payload.waves[2].count", "stream", ... and
 * err->reason says what is wrong. Not here: the schema rules (events/payload.h).
 *
 * Thread: pure functions; any thread.
 */
#ifndef STK_EVENTS_JSON_H
#define STK_EVENTS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "events/envelope.h"
#include "events/payload.h"

#define STK_JSON_LINE_MAX (4u * STK_PAYLOAD_MAX) /* longest JSON line accepted */

/* Payload bytes of (type, schema) -> a new JSON object in *out (caller json_decref()s it).
 * The payload is validated first. Returns 0 or the errors of stk_payload_check(),
 * STK_ENOMEM. mp is borrowed for the call. */
int stk_json_from_payload(uint16_t type, uint16_t schema, const uint8_t *mp, size_t len,
                          json_t **out, stk_payload_error_t *err);

/* JSON object -> canonical payload bytes of (type, schema), appended to out (which the
 * caller initialised with msgpack_sbuffer_init and later destroys), then validated with
 * stk_payload_check(). Returns 0; STK_ETYPE, STK_EVERSION; STK_ESCHEMA (a key, kind,
 * base64, uuid or rule is wrong; err names it); STK_ETOOBIG; STK_ENOMEM. On error out
 * may hold partial bytes. obj is borrowed. */
int stk_json_to_payload(uint16_t type, uint16_t schema, const json_t *obj, msgpack_sbuffer *out,
                        stk_payload_error_t *err);

/* One stored event -> one compact JSON line (NUL-terminated, no newline) in *line,
 * malloc'd: the caller free()s it. The payload is shown at its stored schema version
 * (upcast first with events/upcast.h to show the current one). Returns 0; STK_ETYPE;
 * STK_EVERSION; STK_ESCHEMA and the decode errors of stk_payload_check() for a bad
 * payload; STK_ERANGE if seq, version or tick exceeds INT64_MAX; STK_ENOMEM. */
int stk_json_event_dump(const stk_envelope_t *e, char **line, stk_payload_error_t *err);

/* Parse a line written by stk_json_event_dump() (len bytes, need not be NUL-terminated).
 * On success fills *e; e->payload points at *payload, a malloc'd buffer the caller
 * free()s. Returns 0; STK_EDECODE (not JSON, not an object); STK_ESCHEMA (a missing,
 * unknown or malformed field, or a payload that breaks its schema; err names it);
 * STK_ETYPE; STK_EVERSION; STK_ETOOBIG (line > STK_JSON_LINE_MAX); STK_ENOMEM. On error
 * nothing is left allocated and *payload is NULL. */
int stk_json_event_parse(const char *line, size_t len, stk_envelope_t *e, uint8_t **payload,
                         stk_payload_error_t *err);

/* The input of `stockade log append`: an envelope to append (seq, version and time_us are
 * 0: the log assigns them) with its checked payload. */
typedef struct stk_json_append {
    stk_envelope_t env;        /* env.payload points at payload */
    uint8_t *payload;          /* malloc'd; freed by stk_json_append_free() */
    int has_expected_version;  /* 1 if the line gave "expected_version" */
    uint64_t expected_version; /* stream version the append expects (0 = new stream) */
} stk_json_append_t;

/* Parse one append line (len bytes). Same errors as stk_json_event_parse(). On success
 * the caller must stk_json_append_free(out); on failure out holds nothing. */
int stk_json_append_parse(const char *line, size_t len, stk_json_append_t *out,
                          stk_payload_error_t *err);

/* Free what stk_json_append_parse() allocated; safe on a zeroed struct. */
void stk_json_append_free(stk_json_append_t *a);

#endif
