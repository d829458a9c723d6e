/* events/envelope.h — the event envelope: the one shape every stored event has
 * (DESIGN.md §3), its MessagePack encoding, and the chain hash over stored events.
 *
 * This module is pure (no LMDB, no I/O): the log (events/log.h) assigns seq, version
 * and time at append, encodes with stk_envelope_encode() and chains with
 * stk_chain_next(). The payload is an opaque MessagePack map whose shape is declared
 * per event type in events/types.def and checked by events/payload.h.
 *
 * Encoding (schema of the envelope itself, frozen): a MessagePack array of 9 elements
 *   [seq u64, stream bin16, version u64, type u16, schema u16, tick u64, actor bin16,
 *    time_us i64, payload bin]
 * The payload is carried as a bin holding the payload's own MessagePack bytes, so
 * decoding the envelope never parses the payload and the payload pointer is zero-copy.
 *
 * Stored record (value under key = big-endian seq in the `events` sub-database):
 *   chain[32] || envelope bytes
 * chain(seq) = BLAKE2b-256(chain(seq-1) || envelope bytes(seq)), chain(0) = 32 zero bytes.
 * The envelope bytes include seq, so reordering, dropping or editing any event breaks
 * every later chain value.
 *
 * Thread: all functions are pure and reentrant.
 */
#ifndef STK_EVENTS_ENVELOPE_H
#define STK_EVENTS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define STK_UUID_LEN 16
#define STK_CHAIN_LEN 32
#define STK_PAYLOAD_MAX (1024u * 1024u)              /* largest payload a client may cause */
#define STK_ENVELOPE_MAX (STK_PAYLOAD_MAX + 128u)    /* largest encoded envelope */
#define STK_RECORD_MAX (STK_ENVELOPE_MAX + STK_CHAIN_LEN)

typedef struct stk_uuid {
    uint8_t b[STK_UUID_LEN];
} stk_uuid_t;

typedef struct stk_envelope {
    uint64_t seq;           /* global sequence, 1-based; assigned by the log */
    stk_uuid_t stream;      /* user, tribe, map or session id */
    uint64_t version;       /* position in its stream, 1-based; assigned by the log */
    uint16_t type;          /* STK_EV_* (events/types.def) */
    uint16_t schema;        /* schema version of the payload */
    uint64_t tick;          /* game tick (session streams), else 0 */
    stk_uuid_t actor;       /* acting user; all-zero for the server itself */
    int64_t time_us;        /* wall clock at append, µs since epoch; audit only */
    const uint8_t *payload; /* MessagePack map; borrowed (see each function) */
    size_t payload_len;     /* <= STK_PAYLOAD_MAX */
} stk_envelope_t;

#endif
