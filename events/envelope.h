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

#define STK_UUID_LEN     16
#define STK_CHAIN_LEN    32
#define STK_PAYLOAD_MAX  (1024u * 1024u)          /* largest payload a client may cause */
#define STK_ENVELOPE_MAX (STK_PAYLOAD_MAX + 128u) /* largest encoded envelope */
#define STK_RECORD_MAX   (STK_ENVELOPE_MAX + STK_CHAIN_LEN)

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

/* ---- Envelope encoding ---------------------------------------------------------------- */

/* Exact number of bytes stk_envelope_encode() writes for e (payload_len is not checked
 * against STK_PAYLOAD_MAX here). */
size_t stk_envelope_size(const stk_envelope_t *e);

/* Encodes e as the canonical 9-element MessagePack array described above into buf.
 * Every integer uses its smallest MessagePack form (msgpack-c's packer does), so equal
 * envelopes always give equal bytes. e->payload may be NULL when payload_len is 0.
 * Returns 0 and sets *out_len; STK_ETOOBIG if payload_len > STK_PAYLOAD_MAX or cap is
 * smaller than stk_envelope_size(e) (nothing useful is left in buf then); STK_EINVAL on
 * NULL arguments. Borrowed: e, buf, out_len. */
int stk_envelope_encode(const stk_envelope_t *e, uint8_t *buf, size_t cap, size_t *out_len);

/* Decodes exactly one envelope from buf[0..len). Strict: a 9-element array, each element
 * of the right kind (unsigned ints; type and schema fit u16; time_us fits i64; stream and
 * actor are bins of exactly 16 bytes; payload a bin), each element in the one canonical
 * form stk_envelope_encode() writes (smallest format, uint formats for non-negative
 * values), and no byte after the array. So anything that decodes re-encodes to the same
 * bytes, and one envelope has exactly one chainable byte string.
 * Returns 0 and fills *out; out->payload points INTO buf (borrowed: valid while buf is).
 * Errors: STK_ETRUNC (buf ends inside the envelope), STK_EDECODE (any other malformation,
 * including trailing bytes), STK_ETOOBIG (payload > STK_PAYLOAD_MAX or len >
 * STK_ENVELOPE_MAX), STK_ENOMEM, STK_EINVAL (NULL arguments). *out is unspecified on error.
 * Never crashes and allocates nothing, whatever the input (msgpack-c is handed one scalar
 * element at a time and an empty zone on the stack). */
int stk_envelope_decode(const uint8_t *buf, size_t len, stk_envelope_t *out);

/* chain(seq) = BLAKE2b-256(prev || env[0..len)) into out (may alias prev).
 * prev is chain(seq-1); pass 32 zero bytes for seq 1. */
void stk_chain_next(const uint8_t prev[STK_CHAIN_LEN], const uint8_t *env, size_t len,
                    uint8_t out[STK_CHAIN_LEN]);

/* ---- UUIDs ---------------------------------------------------------------------------- */

#define STK_UUID_STR_LEN 36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", without the NUL */

/* Parses the canonical 36-character hyphenated form (hex digits of either case) and
 * nothing else (no braces, no "urn:uuid:", no trailing bytes). Returns 0, or STK_EINVAL
 * (then *out is untouched). */
int stk_uuid_parse(const char *s, stk_uuid_t *out);
/* Writes the lowercase canonical form and a NUL into out. */
void stk_uuid_format(const stk_uuid_t *u, char out[STK_UUID_STR_LEN + 1]);
/* Fills *out with a random RFC 4122 version-4 UUID (libsodium randombytes_buf). */
void stk_uuid_random(stk_uuid_t *out);
/* 1 if all 16 bytes are zero (the server actor), else 0. */
int stk_uuid_is_nil(const stk_uuid_t *u);
/* 1 if equal, else 0. */
int stk_uuid_eq(const stk_uuid_t *a, const stk_uuid_t *b);

#endif
