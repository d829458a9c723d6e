/* events/envelope.c — canonical MessagePack encoding of the event envelope, its strict
 * decoder, the BLAKE2b chain step and small UUID helpers (see envelope.h).
 *
 * This module is pure: no LMDB, no I/O beyond libsodium's random source for v4 UUIDs.
 * It is not the payload codec (events/payload.h): the payload is carried as opaque bin
 * bytes and never parsed here.
 *
 * Decoding is bounded by construction: the decoder checks the array header byte itself
 * and hands msgpack_unpack() one element at a time, refusing any element whose first
 * byte announces a container. So msgpack-c only ever unpacks scalars and bins (which it
 * references in place), and a hostile length field can never make it allocate. The zone
 * msgpack_unpack() requires is an empty one on the stack: decoding allocates nothing (it
 * used msgpack_unpack_next(), which mallocs and frees an 8 KiB zone per element).
 * Canonical form is checked per element from its format byte and byte count, which is the
 * same as comparing with the packer's output, without re-encoding.
 */
#include "events/envelope.h"

#include <msgpack.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "core/error.h"

#define ENVELOPE_FIELDS 9
#define ARRAY9_HEADER   0x99 /* fixarray of 9 elements */

/* ---- sizes of canonical MessagePack forms (as msgpack-c's packer writes them) ---- */

static size_t uint_size(uint64_t v)
{
    if (v <= 0x7f)
        return 1;
    if (v <= 0xff)
        return 2;
    if (v <= 0xffff)
        return 3;
    if (v <= 0xffffffffu)
        return 5;
    return 9;
}

static size_t int_size(int64_t v)
{
    if (v >= 0)
        return uint_size((uint64_t)v);
    if (v >= -32)
        return 1;
    if (v >= -128)
        return 2;
    if (v >= -32768)
        return 3;
    if (v >= -2147483648LL)
        return 5;
    return 9;
}

/* The first byte msgpack-c's packer writes for v (uint and positive int alike). */
static uint8_t uint_first_byte(uint64_t v)
{
    if (v <= 0x7f)
        return (uint8_t)v;
    if (v <= 0xff)
        return 0xcc;
    if (v <= 0xffff)
        return 0xcd;
    if (v <= 0xffffffffu)
        return 0xce;
    return 0xcf;
}

static uint8_t int_first_byte(int64_t v)
{
    if (v >= 0)
        return uint_first_byte((uint64_t)v);
    if (v >= -32)
        return (uint8_t)v; /* negative fixint 0xe0..0xff */
    if (v >= -128)
        return 0xd0;
    if (v >= -32768)
        return 0xd1;
    if (v >= -2147483648LL)
        return 0xd2;
    return 0xd3;
}

static size_t bin_size(size_t len)
{
    if (len <= 0xff)
        return 2 + len;
    if (len <= 0xffff)
        return 3 + len;
    return 5 + len;
}

size_t stk_envelope_size(const stk_envelope_t *e)
{
    return 1 + uint_size(e->seq) + bin_size(STK_UUID_LEN) + uint_size(e->version) +
           uint_size(e->type) + uint_size(e->schema) + uint_size(e->tick) + bin_size(STK_UUID_LEN) +
           int_size(e->time_us) + bin_size(e->payload_len);
}

/* ---- encode ---- */

typedef struct fixed_buf {
    uint8_t *buf;
    size_t cap;
    size_t len;
} fixed_buf_t;

static int fixed_buf_write(void *data, const char *p, size_t n)
{
    fixed_buf_t *fb = data;
    if (n > fb->cap - fb->len)
        return -1;
    if (n > 0)
        memcpy(fb->buf + fb->len, p, n);
    fb->len += n;
    return 0;
}

int stk_envelope_encode(const stk_envelope_t *e, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (e == NULL || buf == NULL || out_len == NULL || (e->payload == NULL && e->payload_len))
        return STK_EINVAL;
    if (e->payload_len > STK_PAYLOAD_MAX)
        return STK_ETOOBIG;
    size_t need = stk_envelope_size(e);
    if (need > cap)
        return STK_ETOOBIG;

    fixed_buf_t fb = {buf, cap, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &fb, fixed_buf_write);
    int rc = 0;
    rc |= msgpack_pack_array(&pk, ENVELOPE_FIELDS);
    rc |= msgpack_pack_uint64(&pk, e->seq);
    rc |= msgpack_pack_bin_with_body(&pk, e->stream.b, STK_UUID_LEN);
    rc |= msgpack_pack_uint64(&pk, e->version);
    rc |= msgpack_pack_uint16(&pk, e->type);
    rc |= msgpack_pack_uint16(&pk, e->schema);
    rc |= msgpack_pack_uint64(&pk, e->tick);
    rc |= msgpack_pack_bin_with_body(&pk, e->actor.b, STK_UUID_LEN);
    rc |= msgpack_pack_int64(&pk, e->time_us);
    rc |= msgpack_pack_bin(&pk, e->payload_len);
    if (e->payload_len > 0)
        rc |= msgpack_pack_bin_body(&pk, e->payload, e->payload_len);
    /* The size was checked up front, so a failure here is our own bug. */
    if (rc != 0 || fb.len != need)
        return STK_EIO;
    *out_len = fb.len;
    return 0;
}

/* ---- decode ---- */

/* First bytes that open a map or an array: fixmap, fixarray, array16/32, map16/32. */
static int is_container_byte(uint8_t b)
{
    return (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
}

/* The element just unpacked: its object, its byte count and its first (format) byte. */
typedef struct elem {
    msgpack_object o;
    size_t used;
    uint8_t first;
} elem_t;

/* Unpacks the element at buf[*off] into el (bins referenced in place), with msgpack_unpack()
 * and the caller's zone z. Containers are refused before msgpack-c sees them, so the zone
 * is never allocated from: msgpack-c only needs it to exist (it creates one for a bin when
 * given none). Returns 0, STK_ETRUNC, STK_EDECODE or STK_ENOMEM. */
static int next_scalar(msgpack_zone *z, const uint8_t *buf, size_t len, size_t *off, elem_t *el)
{
    if (*off >= len)
        return STK_ETRUNC;
    if (is_container_byte(buf[*off]))
        return STK_EDECODE;
    size_t start = *off;
    msgpack_unpack_return r = msgpack_unpack((const char *)buf, len, off, z, &el->o);
    switch (r) {
    case MSGPACK_UNPACK_SUCCESS:
    case MSGPACK_UNPACK_EXTRA_BYTES:
        break;
    case MSGPACK_UNPACK_CONTINUE:
        return STK_ETRUNC;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        return STK_ENOMEM;
    default:
        return STK_EDECODE;
    }
    if (*off <= start || *off > len)
        return STK_EDECODE;
    el->used = *off - start;
    el->first = buf[start];
    return 0;
}

/* Canonical = exactly the bytes msgpack-c's packer would write: same format byte (an int
 * format for a positive value, or a wider format than needed, is refused) and same size. */
static int get_uint(const elem_t *el, uint64_t max, uint64_t *out)
{
    if (el->o.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return STK_EDECODE;
    uint64_t v = el->o.via.u64;
    if (v > max || el->first != uint_first_byte(v) || el->used != uint_size(v))
        return STK_EDECODE;
    *out = v;
    return 0;
}

static int get_int(const elem_t *el, int64_t *out)
{
    int64_t v;
    if (el->o.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (el->o.via.u64 > (uint64_t)INT64_MAX)
            return STK_EDECODE;
        v = (int64_t)el->o.via.u64;
    } else if (el->o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = el->o.via.i64;
    } else {
        return STK_EDECODE;
    }
    if (el->first != int_first_byte(v) || el->used != int_size(v))
        return STK_EDECODE;
    *out = v;
    return 0;
}

/* bin8/16/32 headers differ in size, so the size check pins the format byte. */
static int get_bin(const elem_t *el, const uint8_t **p, size_t *n)
{
    if (el->o.type != MSGPACK_OBJECT_BIN)
        return STK_EDECODE;
    if (el->used != bin_size(el->o.via.bin.size))
        return STK_EDECODE;
    if (el->o.via.bin.size > STK_PAYLOAD_MAX)
        return STK_ETOOBIG;
    *p = (const uint8_t *)el->o.via.bin.ptr;
    *n = el->o.via.bin.size;
    return 0;
}

static int get_uuid(const elem_t *el, stk_uuid_t *out)
{
    const uint8_t *p;
    size_t n;
    int rc = get_bin(el, &p, &n);
    if (rc == STK_ETOOBIG)
        return STK_EDECODE;
    if (rc != 0)
        return rc;
    if (n != STK_UUID_LEN)
        return STK_EDECODE;
    memcpy(out->b, p, STK_UUID_LEN);
    return 0;
}

int stk_envelope_decode(const uint8_t *buf, size_t len, stk_envelope_t *out)
{
    if ((buf == NULL && len > 0) || out == NULL)
        return STK_EINVAL;
    if (len == 0)
        return STK_ETRUNC;
    if (len > STK_ENVELOPE_MAX)
        return STK_ETOOBIG;
    if (buf[0] != ARRAY9_HEADER)
        return STK_EDECODE;

    /* A zone with no chunk of its own (see next_scalar): no allocation per decode. Should
     * msgpack-c ever allocate from it anyway, msgpack_zone_malloc_expand() links a malloc'd
     * chunk at chunk_list.head, and that is freed below. */
    msgpack_zone z;
    memset(&z, 0, sizeof z);
    z.chunk_size = MSGPACK_ZONE_CHUNK_SIZE;
    size_t off = 1;
    int rc = 0;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < ENVELOPE_FIELDS && rc == 0; i++) {
        elem_t el;
        rc = next_scalar(&z, buf, len, &off, &el);
        if (rc != 0)
            break;
        uint64_t v = 0;
        switch (i) {
        case 0:
            rc = get_uint(&el, UINT64_MAX, &out->seq);
            break;
        case 1:
            rc = get_uuid(&el, &out->stream);
            break;
        case 2:
            rc = get_uint(&el, UINT64_MAX, &out->version);
            break;
        case 3:
            rc = get_uint(&el, UINT16_MAX, &v);
            out->type = (uint16_t)v;
            break;
        case 4:
            rc = get_uint(&el, UINT16_MAX, &v);
            out->schema = (uint16_t)v;
            break;
        case 5:
            rc = get_uint(&el, UINT64_MAX, &out->tick);
            break;
        case 6:
            rc = get_uuid(&el, &out->actor);
            break;
        case 7:
            rc = get_int(&el, &out->time_us);
            break;
        default:
            rc = get_bin(&el, &out->payload, &out->payload_len);
            break;
        }
    }
    if (z.chunk_list.head != NULL)
        msgpack_zone_destroy(&z);
    if (rc == 0 && off != len)
        rc = STK_EDECODE; /* trailing bytes */
    if (rc == 0 && out->payload_len == 0)
        out->payload = NULL;
    return rc;
}

/* ---- chain ---- */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status;

static void sodium_init_once(void)
{
    /* sodium_init() only fails when no entropy source exists; randombytes_buf() then
     * aborts inside libsodium, which is the only sane outcome for a server. */
    sodium_status = sodium_init();
}

static void ensure_sodium(void)
{
    pthread_once(&sodium_once, sodium_init_once);
}

void stk_chain_next(const uint8_t prev[STK_CHAIN_LEN], const uint8_t *env, size_t len,
                    uint8_t out[STK_CHAIN_LEN])
{
    crypto_generichash_state st;
    ensure_sodium();
    crypto_generichash_init(&st, NULL, 0, STK_CHAIN_LEN);
    crypto_generichash_update(&st, prev, STK_CHAIN_LEN);
    if (len > 0)
        crypto_generichash_update(&st, env, len);
    crypto_generichash_final(&st, out, STK_CHAIN_LEN);
}

/* ---- UUIDs ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_dash_pos(int i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

int stk_uuid_parse(const char *s, stk_uuid_t *out)
{
    if (s == NULL || out == NULL)
        return STK_EINVAL;
    stk_uuid_t u;
    int nib = 0;
    for (int i = 0; i < STK_UUID_STR_LEN; i++) {
        char c = s[i];
        if (c == '\0')
            return STK_EINVAL;
        if (is_dash_pos(i)) {
            if (c != '-')
                return STK_EINVAL;
            continue;
        }
        int v = hexval(c);
        if (v < 0)
            return STK_EINVAL;
        if (nib % 2 == 0)
            u.b[nib / 2] = (uint8_t)(v << 4);
        else
            u.b[nib / 2] |= (uint8_t)v;
        nib++;
    }
    if (s[STK_UUID_STR_LEN] != '\0')
        return STK_EINVAL;
    *out = u;
    return 0;
}

void stk_uuid_format(const stk_uuid_t *u, char out[STK_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    int nib = 0;
    for (int i = 0; i < STK_UUID_STR_LEN; i++) {
        if (is_dash_pos(i)) {
            out[i] = '-';
            continue;
        }
        uint8_t b = u->b[nib / 2];
        out[i] = hex[(nib % 2 == 0) ? (b >> 4) : (b & 0xf)];
        nib++;
    }
    out[STK_UUID_STR_LEN] = '\0';
}

void stk_uuid_random(stk_uuid_t *out)
{
    ensure_sodium();
    randombytes_buf(out->b, STK_UUID_LEN);
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

int stk_uuid_is_nil(const stk_uuid_t *u)
{
    for (int i = 0; i < STK_UUID_LEN; i++)
        if (u->b[i] != 0)
            return 0;
    return 1;
}

int stk_uuid_eq(const stk_uuid_t *a, const stk_uuid_t *b)
{
    return memcmp(a->b, b->b, STK_UUID_LEN) == 0;
}
