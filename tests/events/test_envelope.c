/* tests/events/test_envelope.c — the envelope encodes canonically, decodes strictly and
 * never crashes on bad input; the chain step is deterministic and sensitive to every
 * input byte; the UUID helpers round-trip. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/envelope.h"

static stk_envelope_t sample(const uint8_t *payload, size_t n)
{
    stk_envelope_t e;
    memset(&e, 0, sizeof e);
    e.seq = 0x0102030405060708ull;
    for (int i = 0; i < STK_UUID_LEN; i++) {
        e.stream.b[i] = (uint8_t)(0xa0 + i);
        e.actor.b[i] = (uint8_t)(0x10 + i);
    }
    e.version = 300;
    e.type = 0xfffe;
    e.schema = 2;
    e.tick = 70000;
    e.time_us = 1764000000000000ll;
    e.payload = payload;
    e.payload_len = n;
    return e;
}

static void expect_same(const stk_envelope_t *a, const stk_envelope_t *b)
{
    cr_expect_eq(a->seq, b->seq);
    cr_expect(stk_uuid_eq(&a->stream, &b->stream));
    cr_expect_eq(a->version, b->version);
    cr_expect_eq(a->type, b->type);
    cr_expect_eq(a->schema, b->schema);
    cr_expect_eq(a->tick, b->tick);
    cr_expect(stk_uuid_eq(&a->actor, &b->actor));
    cr_expect_eq(a->time_us, b->time_us);
    cr_assert_eq(a->payload_len, b->payload_len);
    if (a->payload_len)
        cr_expect_eq(memcmp(a->payload, b->payload, a->payload_len), 0);
}

Test(envelope, round_trips_every_field)
{
    const uint8_t payload[] = {0x81, 0xa1, 'k', 0x2a}; /* {"k": 42} */
    stk_envelope_t e = sample(payload, sizeof payload);
    uint8_t buf[256];
    size_t n = 0;
    cr_assert_eq(stk_envelope_encode(&e, buf, sizeof buf, &n), 0);
    cr_expect_eq(n, stk_envelope_size(&e));
    stk_envelope_t d;
    cr_assert_eq(stk_envelope_decode(buf, n, &d), 0);
    expect_same(&e, &d);
    /* The payload is borrowed from the buffer, not copied. */
    cr_expect(d.payload >= buf && d.payload + d.payload_len <= buf + n);
}

Test(envelope, round_trips_boundary_integers)
{
    const int64_t times[] = {0,         -1,     -32,          -33,          -128,
                             -129,      -32768, -32769,       INT32_MIN,    (int64_t)INT32_MIN - 1,
                             INT64_MIN, 127,    128,          255,          256,
                             65535,     65536,  4294967295ll, 4294967296ll, INT64_MAX};
    const uint64_t uints[] = {0,     127,   128,           255,           256,
                              65535, 65536, 4294967295ull, 4294967296ull, UINT64_MAX};
    uint8_t buf[256];
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        for (size_t j = 0; j < sizeof uints / sizeof uints[0]; j++) {
            stk_envelope_t e = sample(NULL, 0);
            e.time_us = times[i];
            e.seq = e.tick = e.version = uints[j];
            e.type = e.schema = (uint16_t)uints[j];
            size_t n = 0;
            cr_assert_eq(stk_envelope_encode(&e, buf, sizeof buf, &n), 0);
            cr_assert_eq(n, stk_envelope_size(&e));
            stk_envelope_t d;
            cr_assert_eq(stk_envelope_decode(buf, n, &d), 0, "time %lld uint %llu",
                         (long long)times[i], (unsigned long long)uints[j]);
            expect_same(&e, &d);
        }
    }
}

Test(envelope, round_trips_empty_payload)
{
    stk_envelope_t e = sample(NULL, 0);
    uint8_t buf[128];
    size_t n = 0;
    cr_assert_eq(stk_envelope_encode(&e, buf, sizeof buf, &n), 0);
    stk_envelope_t d;
    cr_assert_eq(stk_envelope_decode(buf, n, &d), 0);
    cr_expect_eq(d.payload_len, 0);
    cr_expect_null(d.payload);
}

Test(envelope, round_trips_max_payload_and_refuses_one_more_byte)
{
    uint8_t *payload = malloc(STK_PAYLOAD_MAX + 1);
    uint8_t *buf = malloc(STK_ENVELOPE_MAX);
    cr_assert(payload && buf);
    for (size_t i = 0; i < STK_PAYLOAD_MAX + 1; i++)
        payload[i] = (uint8_t)(i * 31);
    stk_envelope_t e = sample(payload, STK_PAYLOAD_MAX);
    /* Worst case integers: the size bound in the header must hold. */
    e.seq = e.version = e.tick = UINT64_MAX;
    e.time_us = INT64_MIN;
    size_t n = 0;
    cr_assert_eq(stk_envelope_encode(&e, buf, STK_ENVELOPE_MAX, &n), 0);
    cr_expect_leq(n, STK_ENVELOPE_MAX);
    stk_envelope_t d;
    cr_assert_eq(stk_envelope_decode(buf, n, &d), 0);
    expect_same(&e, &d);

    e.payload_len = STK_PAYLOAD_MAX + 1;
    cr_expect_eq(stk_envelope_encode(&e, buf, STK_ENVELOPE_MAX, &n), STK_ETOOBIG);
    free(buf);
    free(payload);
}

Test(envelope, encode_refuses_a_small_buffer)
{
    const uint8_t payload[] = {0x80};
    stk_envelope_t e = sample(payload, 1);
    uint8_t buf[128];
    size_t need = stk_envelope_size(&e), n = 0;
    cr_expect_eq(stk_envelope_encode(&e, buf, need - 1, &n), STK_ETOOBIG);
    cr_expect_eq(stk_envelope_encode(&e, buf, need, &n), 0);
    cr_expect_eq(n, need);
}

Test(envelope, decode_reports_truncation_at_every_length)
{
    const uint8_t payload[] = {0x81, 0xa1, 'k', 0xc3};
    stk_envelope_t e = sample(payload, sizeof payload);
    uint8_t buf[256];
    size_t n = 0;
    cr_assert_eq(stk_envelope_encode(&e, buf, sizeof buf, &n), 0);
    for (size_t cut = 0; cut < n; cut++) {
        /* A heap copy of exactly `cut` bytes so ASan sees any over-read. */
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, buf, cut);
        stk_envelope_t d;
        cr_expect_eq(stk_envelope_decode(p, cut, &d), STK_ETRUNC, "cut at %zu", cut);
        free(p);
    }
}

Test(envelope, decode_refuses_trailing_bytes)
{
    stk_envelope_t e = sample(NULL, 0);
    uint8_t buf[128];
    size_t n = 0;
    cr_assert_eq(stk_envelope_encode(&e, buf, sizeof buf - 1, &n), 0);
    buf[n] = 0x00;
    stk_envelope_t d;
    cr_expect_eq(stk_envelope_decode(buf, n + 1, &d), STK_EDECODE);
}

Test(envelope, decode_refuses_wrong_shapes)
{
    stk_envelope_t d;
    /* Not an array; an array of 8; an array16 of 9 (non-canonical header). */
    const uint8_t not_array[] = {0x81, 0x01, 0x02};
    const uint8_t eight[] = {0x98, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t array16[] = {0xdc, 0x00, 0x09};
    cr_expect_eq(stk_envelope_decode(not_array, sizeof not_array, &d), STK_EDECODE);
    cr_expect_eq(stk_envelope_decode(eight, sizeof eight, &d), STK_EDECODE);
    cr_expect_eq(stk_envelope_decode(array16, sizeof array16, &d), STK_EDECODE);
    /* A nested array32 that claims four billion elements must not be unpacked. */
    const uint8_t huge[] = {0x99, 0xdd, 0xff, 0xff, 0xff, 0xff};
    cr_expect_eq(stk_envelope_decode(huge, sizeof huge, &d), STK_EDECODE);
    /* A bin32 header claiming 4 GiB in a 6-byte buffer: truncated, and no read past. */
    const uint8_t big_bin[] = {0x99, 0xc6, 0xff, 0xff, 0xff, 0xff};
    cr_expect_eq(stk_envelope_decode(big_bin, sizeof big_bin, &d), STK_ETRUNC);
}

/* Replaces one field (index i of the encoded array) by raw bytes and decodes. */
static int decode_with_field(int field, const uint8_t *raw, size_t raw_len)
{
    uint8_t uuid_bin[18] = {0xc4, 16};
    uint8_t out[256];
    size_t n = 0;
    out[n++] = 0x99;
    for (int i = 0; i < 9; i++) {
        if (i == field) {
            memcpy(out + n, raw, raw_len);
            n += raw_len;
        } else if (i == 1 || i == 6) {
            memcpy(out + n, uuid_bin, sizeof uuid_bin);
            n += sizeof uuid_bin;
        } else if (i == 8) {
            out[n++] = 0xc4;
            out[n++] = 0;
        } else {
            out[n++] = 0x01;
        }
    }
    stk_envelope_t d;
    return stk_envelope_decode(out, n, &d);
}

Test(envelope, decode_checks_each_field_kind)
{
    const uint8_t ok_uint[] = {0x05};
    const uint8_t str[] = {0xa1, 'x'};
    const uint8_t neg[] = {0xff};
    const uint8_t nil[] = {0xc0};
    const uint8_t u32[] = {0xce, 0x00, 0x01, 0x00, 0x00};
    const uint8_t uuid_short[] = {0xc4, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t uuid_str[] = {0xd9, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t noncanon[] = {0xcc, 0x05}; /* 5 as uint8: valid msgpack, not canonical */
    const uint8_t map[] = {0x80};

    cr_expect_eq(decode_with_field(0, ok_uint, sizeof ok_uint), 0);
    cr_expect_eq(decode_with_field(0, str, sizeof str), STK_EDECODE);
    cr_expect_eq(decode_with_field(0, neg, sizeof neg), STK_EDECODE);
    cr_expect_eq(decode_with_field(2, nil, sizeof nil), STK_EDECODE);
    cr_expect_eq(decode_with_field(3, u32, sizeof u32), STK_EDECODE); /* type > u16 */
    cr_expect_eq(decode_with_field(4, u32, sizeof u32), STK_EDECODE); /* schema > u16 */
    cr_expect_eq(decode_with_field(1, uuid_short, sizeof uuid_short), STK_EDECODE);
    cr_expect_eq(decode_with_field(6, uuid_str, sizeof uuid_str), STK_EDECODE);
    cr_expect_eq(decode_with_field(7, neg, sizeof neg), 0); /* time may be negative */
    cr_expect_eq(decode_with_field(7, str, sizeof str), STK_EDECODE);
    cr_expect_eq(decode_with_field(5, noncanon, sizeof noncanon), STK_EDECODE);
    cr_expect_eq(decode_with_field(8, map, sizeof map), STK_EDECODE); /* payload not a bin */
    cr_expect_eq(decode_with_field(8, ok_uint, sizeof ok_uint), STK_EDECODE);
}

/* The decoder hands msgpack-c one element at a time with a zone that owns no memory; a
 * container header in any field must be refused before msgpack-c sees it (it would
 * allocate for the elements the header claims). Under ASan/LSan this also shows nothing
 * leaks or overflows. */
Test(envelope, decode_refuses_a_container_in_every_field)
{
    const uint8_t headers[][5] = {{0x90},
                                  {0x80},
                                  {0x9f},
                                  {0x8f},
                                  {0xdc, 0xff, 0xff},
                                  {0xde, 0xff, 0xff},
                                  {0xdd, 0xff, 0xff, 0xff, 0xff},
                                  {0xdf, 0xff, 0xff, 0xff, 0xff}};
    const size_t lens[] = {1, 1, 1, 1, 3, 3, 5, 5};
    for (int field = 0; field < 9; field++)
        for (size_t h = 0; h < sizeof lens / sizeof lens[0]; h++)
            cr_expect_eq(decode_with_field(field, headers[h], lens[h]), STK_EDECODE,
                         "field %d header %zu", field, h);
}

Test(envelope, decoded_payload_points_into_the_input)
{
    const uint8_t payload[] = {0x81, 0xa1, 'k', 0x2a};
    stk_envelope_t e = sample(payload, sizeof payload), d;
    uint8_t buf[256];
    size_t n;
    cr_assert_eq(stk_envelope_encode(&e, buf, sizeof buf, &n), 0);
    cr_assert_eq(stk_envelope_decode(buf, n, &d), 0);
    cr_expect_eq(d.payload, buf + n - sizeof payload);
    cr_expect_eq(d.payload_len, sizeof payload);
}

Test(envelope, decode_refuses_same_size_non_canonical_integers)
{
    /* Regression (found by fuzzing): a positive value in an int format of the same size as
     * the canonical uint format must be refused, or re-encoding would change the bytes. */
    const uint8_t pos_int64[] = {0xd3, 0x00, 0x06, 0x44, 0x59, 0x41, 0x62, 0x40, 0x14};
    const uint8_t pos_int16[] = {0xd1, 0x01, 0x2c}; /* 300 as int16; canonical 0xcd */
    const uint8_t pos_int32[] = {0xd2, 0x00, 0x01, 0x00, 0x00};
    const uint8_t neg_int16_small[] = {0xd1, 0xff, 0xf0}; /* -16 as int16; canonical 0xf0 */
    cr_expect_eq(decode_with_field(7, pos_int64, sizeof pos_int64), STK_EDECODE);
    cr_expect_eq(decode_with_field(0, pos_int16, sizeof pos_int16), STK_EDECODE);
    cr_expect_eq(decode_with_field(5, pos_int32, sizeof pos_int32), STK_EDECODE);
    cr_expect_eq(decode_with_field(7, neg_int16_small, sizeof neg_int16_small), STK_EDECODE);
    const uint8_t canon_u16[] = {0xcd, 0x01, 0x2c};
    const uint8_t canon_neg[] = {0xd1, 0xfe, 0xd4}; /* -300 */
    cr_expect_eq(decode_with_field(0, canon_u16, sizeof canon_u16), 0);
    cr_expect_eq(decode_with_field(7, canon_neg, sizeof canon_neg), 0);
}

Test(envelope, anything_that_decodes_re_encodes_to_the_same_bytes)
{
    /* Mutate one byte of a valid envelope in every way; whatever still decodes must
     * re-encode identically (the chain hashes these bytes). */
    const uint8_t payload[] = {0x81, 0xa1, 'k', 0xcd, 0x01, 0x2c};
    stk_envelope_t e = sample(payload, sizeof payload);
    uint8_t buf[256], out[256];
    size_t n = 0, m = 0;
    cr_assert_eq(stk_envelope_encode(&e, buf, sizeof buf, &n), 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t keep = buf[i];
        for (int b = 0; b < 256; b++) {
            buf[i] = (uint8_t)b;
            stk_envelope_t d;
            if (stk_envelope_decode(buf, n, &d) == 0) {
                cr_assert_eq(stk_envelope_encode(&d, out, sizeof out, &m), 0);
                cr_assert_eq(m, n);
                cr_assert_eq(memcmp(out, buf, n), 0, "byte %zu = 0x%02x", i, b);
            }
        }
        buf[i] = keep;
    }
}

Test(envelope, decode_survives_random_garbage)
{
    /* Deterministic garbage, half of it starting with a valid array header. */
    uint32_t x = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        uint8_t buf[96];
        x = x * 1103515245u + 12345u;
        len = (x >> 8) % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        if (len && (round & 1))
            buf[0] = 0x99;
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, buf, len);
        stk_envelope_t d;
        int rc = stk_envelope_decode(p, len, &d);
        cr_assert(rc == 0 || rc == STK_ETRUNC || rc == STK_EDECODE || rc == STK_ETOOBIG);
        free(p);
    }
}

Test(envelope, decode_refuses_oversized_input)
{
    uint8_t *buf = calloc(1, STK_ENVELOPE_MAX + 1);
    buf[0] = 0x99;
    stk_envelope_t d;
    cr_expect_eq(stk_envelope_decode(buf, STK_ENVELOPE_MAX + 1, &d), STK_ETOOBIG);
    free(buf);
}

Test(envelope, decode_refuses_payload_over_the_limit)
{
    /* Hand-built: valid fields, then a bin32 of STK_PAYLOAD_MAX + 1 bytes. */
    size_t plen = STK_PAYLOAD_MAX + 1;
    uint8_t *buf = calloc(1, plen + 64);
    size_t n = 0;
    buf[n++] = 0x99;
    buf[n++] = 0x01;
    buf[n++] = 0xc4;
    buf[n++] = 16;
    n += 16;
    buf[n++] = 0x01;
    buf[n++] = 0x01;
    buf[n++] = 0x01;
    buf[n++] = 0x00;
    buf[n++] = 0xc4;
    buf[n++] = 16;
    n += 16;
    buf[n++] = 0x00;
    buf[n++] = 0xc6;
    buf[n++] = (uint8_t)(plen >> 24);
    buf[n++] = (uint8_t)(plen >> 16);
    buf[n++] = (uint8_t)(plen >> 8);
    buf[n++] = (uint8_t)plen;
    n += plen;
    stk_envelope_t d;
    cr_expect_eq(stk_envelope_decode(buf, n, &d), STK_ETOOBIG);
    free(buf);
}

Test(chain, is_deterministic_and_sensitive_to_every_input)
{
    uint8_t prev[STK_CHAIN_LEN] = {0}, a[STK_CHAIN_LEN], b[STK_CHAIN_LEN];
    uint8_t env[40];
    for (int i = 0; i < 40; i++)
        env[i] = (uint8_t)i;
    stk_chain_next(prev, env, sizeof env, a);
    stk_chain_next(prev, env, sizeof env, b);
    cr_expect_eq(memcmp(a, b, STK_CHAIN_LEN), 0);
    uint8_t zero[STK_CHAIN_LEN] = {0};
    cr_expect_neq(memcmp(a, zero, STK_CHAIN_LEN), 0);

    for (int i = 0; i < 40; i++) {
        env[i] ^= 1;
        stk_chain_next(prev, env, sizeof env, b);
        cr_expect_neq(memcmp(a, b, STK_CHAIN_LEN), 0, "env byte %d", i);
        env[i] ^= 1;
    }
    for (int i = 0; i < STK_CHAIN_LEN; i++) {
        prev[i] ^= 0x80;
        stk_chain_next(prev, env, sizeof env, b);
        cr_expect_neq(memcmp(a, b, STK_CHAIN_LEN), 0, "prev byte %d", i);
        prev[i] ^= 0x80;
    }
    /* Length matters too (no silent truncation). */
    stk_chain_next(prev, env, sizeof env - 1, b);
    cr_expect_neq(memcmp(a, b, STK_CHAIN_LEN), 0);
    /* out may alias prev. */
    memcpy(b, prev, STK_CHAIN_LEN);
    stk_chain_next(b, env, sizeof env, b);
    cr_expect_eq(memcmp(a, b, STK_CHAIN_LEN), 0);
}

Test(chain, matches_a_known_blake2b_256_vector)
{
    /* BLAKE2b-256 (unkeyed) of 32 zero bytes then "abc", from Python's hashlib. */
    static const char *expect = "5db827e5e925e6b933a86596a0446c345c0d74d77f55a751ade5d7c7162eead8";
    uint8_t prev[STK_CHAIN_LEN] = {0}, out[STK_CHAIN_LEN];
    stk_chain_next(prev, (const uint8_t *)"abc", 3, out);
    char hex[2 * STK_CHAIN_LEN + 1];
    for (int i = 0; i < STK_CHAIN_LEN; i++)
        sprintf(hex + 2 * i, "%02x", out[i]);
    cr_expect_str_eq(hex, expect);
}

Test(uuid, parses_formats_and_refuses_bad_text)
{
    stk_uuid_t u;
    cr_assert_eq(stk_uuid_parse("0123ABCD-4567-89ab-cdef-0011223344FF", &u), 0);
    cr_expect_eq(u.b[0], 0x01);
    cr_expect_eq(u.b[3], 0xcd);
    cr_expect_eq(u.b[15], 0xff);
    char s[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&u, s);
    cr_expect_str_eq(s, "0123abcd-4567-89ab-cdef-0011223344ff");

    const char *bad[] = {"",
                         "0123abcd-4567-89ab-cdef-0011223344f",
                         "0123abcd-4567-89ab-cdef-0011223344ff0",
                         "0123abcd04567-89ab-cdef-0011223344ff",
                         "0123abcg-4567-89ab-cdef-0011223344ff",
                         "{0123abcd-4567-89ab-cdef-0011223344f}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(stk_uuid_parse(bad[i], &u), STK_EINVAL, "%s", bad[i]);
    cr_expect_eq(stk_uuid_parse(NULL, &u), STK_EINVAL);
}

Test(uuid, random_is_version_4_and_not_nil)
{
    stk_uuid_t a, b, nil;
    memset(&nil, 0, sizeof nil);
    cr_expect(stk_uuid_is_nil(&nil));
    stk_uuid_random(&a);
    stk_uuid_random(&b);
    cr_expect_not(stk_uuid_is_nil(&a));
    cr_expect_not(stk_uuid_eq(&a, &b));
    cr_expect_eq(a.b[6] >> 4, 4);
    cr_expect_eq(a.b[8] & 0xc0, 0x80);
    char s[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&a, s);
    stk_uuid_t back;
    cr_assert_eq(stk_uuid_parse(s, &back), 0);
    cr_expect(stk_uuid_eq(&a, &back));
}
