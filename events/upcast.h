/* events/upcast.h — readers always see the current schema of every event type.
 *
 * An event type never changes meaning; a new shape is a new schema version (types.def)
 * and the log keeps old events as they were written. Before a reader interprets a
 * payload it calls stk_upcast(), which runs the registered upcasters (a table in
 * upcast.c: type, from-version, function) one version at a time until the payload is at
 * the type's current version. Upcasters are pure functions of the old payload: they only
 * add, rename or derive fields, never consult anything else, so a replay upcasts the same
 * way forever.
 *
 * Registered: SessionOpened v1 -> v2 adds tick_rate = 20 (the 20 Hz of DESIGN.md §4).
 *
 * Not here: validation beyond what an upcaster needs (stk_payload_check the result), the
 * envelope (callers copy *out_schema into it if they keep the envelope).
 *
 * Thread: pure; any thread. A scratch buffer is used by one thread at a time.
 */
#ifndef STK_EVENTS_UPCAST_H
#define STK_EVENTS_UPCAST_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "events/payload.h"

/* Bring payload (len bytes, schema version `schema` of `type`) to the current version.
 * If it is already current, *out = payload (borrowed, zero-copy) and scratch is not
 * touched. Otherwise the input is validated against its own version, upcast step by
 * step, and the result is written into scratch (a msgpack_sbuffer the caller initialised
 * with msgpack_sbuffer_init() and destroys; it is cleared first) with *out pointing into
 * it (valid until scratch changes). *out_len and *out_schema are always set on success.
 * Returns 0; STK_ETYPE; STK_EVERSION (schema 0 or newer than this build knows: a reader
 * older than the writer); the errors of stk_payload_check() for an invalid old payload;
 * STK_ETOOBIG (the result would exceed STK_PAYLOAD_MAX); STK_ENOMEM. err may be NULL. */
int stk_upcast(uint16_t type, uint16_t schema, const uint8_t *payload, size_t len,
               msgpack_sbuffer *scratch, const uint8_t **out, size_t *out_len, uint16_t *out_schema,
               stk_payload_error_t *err);

/* 1 if an upcaster from (type, from_version) to from_version + 1 is registered. */
int stk_upcast_has(uint16_t type, uint16_t from_version);

#endif
