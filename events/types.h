/* events/types.h — the catalogue of event types and their payload schemas.
 *
 * Every event type is declared once, in events/types.def: its stable numeric id (never
 * reused), its name, its current schema version, the kind of stream it lives on, whether
 * it is an input (a player or server decision) or an outcome (a result the replay must
 * recompute), and, per schema version, a table of payload fields plus an optional hook
 * for the few rules that span fields. This header turns that list into the STK_EV_* enum
 * and gives read-only lookups by id and by name.
 *
 * This module is data and lookups only: it does not parse payloads (events/payload.h
 * walks a MessagePack map against these tables), convert to JSON (events/json.h) or
 * upcast old versions (events/upcast.h).
 *
 * Thread: everything here is immutable static data; any thread may call any function.
 */
#ifndef STK_EVENTS_TYPES_H
#define STK_EVENTS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* The STK_EV_* ids, e.g. STK_EV_SESSION_OPENED; values are the stable ids of types.def. */
enum stk_event_id {
#define STK_EVENT(ENUM, Name, id, schema, stream, kind) STK_EV_##ENUM = (id),
#include "events/types.def"
};

typedef enum stk_stream_kind {
    STK_STREAM_USER,
    STK_STREAM_TRIBE,
    STK_STREAM_MAP,
    STK_STREAM_SESSION
} stk_stream_kind_t;

typedef enum stk_event_kind {
    STK_EVENT_INPUT,  /* a decision: a command, a join, a disconnect, a pause */
    STK_EVENT_OUTCOME /* a result recorded by the server; replay recomputes it */
} stk_event_kind_t;

/* Kinds of payload fields. UUID is a bin of exactly STK_UUID_LEN bytes. */
typedef enum stk_field_kind {
    STK_FK_UINT,
    STK_FK_INT,
    STK_FK_BOOL,
    STK_FK_STR,
    STK_FK_BIN,
    STK_FK_UUID,
    STK_FK_MAP,
    STK_FK_ARRAY
} stk_field_kind_t;

/* Extra rules on a STR field's value. */
typedef enum stk_field_fmt {
    STK_FMT_NONE,
    STK_FMT_ENUM, /* one of the '|'-separated words in stk_field_t.values */
    STK_FMT_COLOR /* "#RRGGBB", hex digits of either case */
} stk_field_fmt_t;

#define STK_FF_REQUIRED 0x01u /* the key must be present */
#define STK_FF_DECIMAL  0x02u /* UINT written to JSON as a decimal string (u64 hashes, seeds) */

typedef struct stk_fields stk_fields_t;
typedef struct stk_payload_error stk_payload_error_t;

/* One key of a payload map (or, with key NULL, the element of an ARRAY).
 * Ranges are inclusive: the value for UINT (min/max) and INT (imin/imax); the length
 * for STR (in Unicode code points, as PostgreSQL length() counts), BIN (bytes) and
 * ARRAY (items). */
typedef struct stk_field {
    const char *key;
    stk_field_kind_t kind;
    unsigned flags; /* STK_FF_* */
    uint64_t min, max;
    int64_t imin, imax;
    stk_field_fmt_t fmt;
    const char *values;           /* STK_FMT_ENUM: "a|b|c" */
    const stk_fields_t *sub;      /* MAP: the nested map's fields */
    const struct stk_field *elem; /* ARRAY: what every element is */
} stk_field_t;

/* An ordered field table. The order is the canonical key order of encoded payloads. */
struct stk_fields {
    const stk_field_t *f;
    size_t n;
};

/* Cross-field rule run after the field table was satisfied; root is the payload map.
 * Returns 0 or STK_ESCHEMA with err filled (see events/payload.h). */
typedef int (*stk_schema_hook_t)(const msgpack_object *root, stk_payload_error_t *err);

typedef struct stk_schema {
    uint16_t version;
    const stk_fields_t *fields;
    stk_schema_hook_t hook; /* may be NULL */
} stk_schema_t;

typedef struct stk_event_type {
    uint16_t id;
    const char *name; /* "SessionOpened" */
    uint16_t schema;  /* current schema version; versions run 1..schema */
    stk_stream_kind_t stream;
    stk_event_kind_t kind;
} stk_event_type_t;

/* Number of event types and the i-th one in declaration order (NULL if i is out of
 * range). Static storage. */
size_t stk_event_type_count(void);
const stk_event_type_t *stk_event_type_at(size_t i);

/* Lookup by stable id; NULL if no such type. Static storage. */
const stk_event_type_t *stk_event_type_by_id(uint16_t id);

/* Lookup by exact, case-sensitive name of len bytes (need not be NUL-terminated);
 * NULL if no such type. Static storage. */
const stk_event_type_t *stk_event_type_by_name(const char *name, size_t len);

/* The schema of one type at one version; NULL if the type or the version is unknown
 * (use stk_event_type_by_id() to tell which). Static storage. */
const stk_schema_t *stk_event_schema(uint16_t type, uint16_t version);

/* Name of a stream kind ("user", "tribe", "map", "session"); static storage. */
const char *stk_stream_kind_name(stk_stream_kind_t k);

#endif
