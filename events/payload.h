/* events/payload.h — event payloads: the schema validator, typed readers and a builder.
 *
 * A payload is a MessagePack map with string keys whose shape is declared per event type
 * and schema version in events/types.def. This module
 *   - validates untrusted bytes against that table (stk_payload_check): unknown, missing,
 *     duplicate or wrongly-kinded keys, ranges, UTF-8, formats and the per-type cross-field
 *     hooks, with the offending field's path ("waves[2].enemies[0].count") in the error;
 *   - opens a payload once into a msgpack object tree (stk_payload_open) and reads fields
 *     from it by key (stk_payload_get_*), so other modules never walk msgpack by hand;
 *   - writes payloads from C (stk_payload_put_*), a thin layer over msgpack_packer that
 *     writes a key and its value.
 * It is not the envelope (events/envelope.h), not JSON (events/json.h), not upcasting
 * (events/upcast.h).
 *
 * Hostile input: every entry point refuses input longer than STK_PAYLOAD_MAX and, before
 * msgpack_unpack() allocates anything, walks the bytes once to check that the nesting is
 * at most STK_PAYLOAD_DEPTH deep and that no array or map claims more items than bytes
 * remain (msgpack-c would otherwise allocate up to 2^32 objects for a 5-byte header). The
 * object tree of an input of n bytes therefore takes O(n) memory.
 *
 * Thread: pure functions; any thread. A stk_payload_t is used by one thread at a time.
 */
#ifndef STK_EVENTS_PAYLOAD_H
#define STK_EVENTS_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "events/envelope.h"
#include "events/types.h"

#define STK_PAYLOAD_DEPTH 16 /* deepest nesting of maps/arrays accepted in any payload */

/* Why a payload was refused: path of the field ("" for the payload itself) and reason. */
struct stk_payload_error {
    char path[128];
    char reason[160];
};

/* Fill err (if not NULL) with a path and a printf-style reason; returns code. */
int stk_payload_fail(stk_payload_error_t *err, int code, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Validate len bytes at mp as the payload of (type, schema_version).
 * Returns 0, or:
 *   STK_ETYPE     unknown type            STK_EVERSION unknown schema version of the type
 *   STK_ETOOBIG   len > STK_PAYLOAD_MAX   STK_ETRUNC   the bytes end inside a value
 *   STK_EDECODE   not MessagePack, too deep, trailing bytes after the map
 *   STK_ESCHEMA   well-formed but not this schema (err names the field and the rule)
 *   STK_ENOMEM
 * err may be NULL; on failure it is filled. mp is borrowed for the call. */
int stk_payload_check(uint16_t type, uint16_t schema_version, const uint8_t *mp, size_t len,
                      stk_payload_error_t *err);

/* Validate an already unpacked object against a field table (used by check, the JSON
 * codec and the hooks). path is the prefix for error paths ("" at the root). */
int stk_payload_check_fields(const stk_fields_t *fields, const msgpack_object *map,
                             const char *path, int depth, stk_payload_error_t *err);

/* ---- reading ---------------------------------------------------------------------- */

/* An opened payload: root is the top-level map. Strings and bins inside point into the
 * input bytes (zero-copy), so the input must outlive the stk_payload_t. */
typedef struct stk_payload {
    msgpack_zone zone;
    msgpack_object root;
} stk_payload_t;

/* Unpack mp (len bytes) into p. Only checks that it is well-formed MessagePack whose root
 * is a map (use stk_payload_check to validate against a schema). Returns 0, STK_ETOOBIG,
 * STK_ETRUNC, STK_EDECODE (also: root not a map), STK_ENOMEM. On success the caller must
 * stk_payload_close(p); on failure p holds nothing. */
int stk_payload_open(stk_payload_t *p, const uint8_t *mp, size_t len, stk_payload_error_t *err);

/* stk_payload_open() then the full check of stk_payload_check() (same errors): open and
 * validate once, then read fields without further checks. On success the caller must
 * stk_payload_close(p); on failure p holds nothing. */
int stk_payload_open_checked(stk_payload_t *p, uint16_t type, uint16_t schema_version,
                             const uint8_t *mp, size_t len, stk_payload_error_t *err);

/* Release what stk_payload_open() allocated. Safe on a zeroed stk_payload_t. */
void stk_payload_close(stk_payload_t *p);

/* The top-level map of an opened payload (borrowed; valid until stk_payload_close). */
const msgpack_object *stk_payload_root(const stk_payload_t *p);

/* Read key from map (any msgpack map object: the root or a nested map). Each returns 0,
 * STK_ENOTFOUND (no such key, or map is not a map) or STK_ESCHEMA (the value has another
 * kind, or an int does not fit). Pointers returned are borrowed from the object tree. */
int stk_payload_get_uint(const msgpack_object *map, const char *key, uint64_t *v);
int stk_payload_get_int(const msgpack_object *map, const char *key, int64_t *v);
int stk_payload_get_bool(const msgpack_object *map, const char *key, bool *v);
/* *s is NOT NUL-terminated; *len is its length in bytes. */
int stk_payload_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len);
int stk_payload_get_bin(const msgpack_object *map, const char *key, const uint8_t **b, size_t *len);
/* The bin must be exactly STK_UUID_LEN bytes; copied into *u. */
int stk_payload_get_uuid(const msgpack_object *map, const char *key, stk_uuid_t *u);
/* *m is the nested map object. */
int stk_payload_get_map(const msgpack_object *map, const char *key, const msgpack_object **m);
/* *items points at n consecutive element objects. */
int stk_payload_get_array(const msgpack_object *map, const char *key, const msgpack_object **items,
                          size_t *n);
/* The value object under key, whatever its kind; NULL if absent. */
const msgpack_object *stk_payload_find(const msgpack_object *map, const char *key);
/* Read one element (e.g. of an array): 0 or STK_ESCHEMA. */
int stk_payload_as_uint(const msgpack_object *o, uint64_t *v);

/* ---- writing ---------------------------------------------------------------------- */

/* Each writes the key, then the value, to pk (which the caller set up, typically over a
 * msgpack_sbuffer, and started with msgpack_pack_map(pk, number_of_keys)). Keys must be
 * written in the schema's order for the bytes to be canonical. Returns 0 or STK_ENOMEM
 * (the packer's write callback failed). Pointers are borrowed for the call. */
int stk_payload_put_uint(msgpack_packer *pk, const char *key, uint64_t v);
int stk_payload_put_int(msgpack_packer *pk, const char *key, int64_t v);
int stk_payload_put_bool(msgpack_packer *pk, const char *key, bool v);
int stk_payload_put_str(msgpack_packer *pk, const char *key, const char *s, size_t len);
/* s NUL-terminated. */
int stk_payload_put_cstr(msgpack_packer *pk, const char *key, const char *s);
int stk_payload_put_bin(msgpack_packer *pk, const char *key, const void *b, size_t len);
int stk_payload_put_uuid(msgpack_packer *pk, const char *key, const stk_uuid_t *u);
/* Key, then a map header of n pairs (write the pairs next). */
int stk_payload_put_map(msgpack_packer *pk, const char *key, size_t n);
/* Key, then an array header of n items (write the items next with msgpack_pack_*). */
int stk_payload_put_array(msgpack_packer *pk, const char *key, size_t n);

#endif
