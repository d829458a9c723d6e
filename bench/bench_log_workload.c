/* bench/bench_log_workload.c — the synthetic workload both sides of bench_log append:
 * deterministic stream ids and a fixed-size MessagePack payload (see bench_log.h). */
#include "bench/bench_log.h"

#include <string.h>

void stk_bench_log_stream_id(uint64_t s, stk_uuid_t *out)
{
    /* splitmix64 of the index: distinct ids whose byte order is unrelated to s, like
     * random v4 ids, so `streams` inserts land all over the tree. */
    uint64_t z = s + 0x9e3779b97f4a7c15u;
    for (int half = 0; half < 2; half++) {
        uint64_t x = z + (uint64_t)half * 0xbf58476d1ce4e5b9u;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
        x ^= x >> 31;
        memcpy(out->b + 8 * half, &x, 8);
    }
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

void stk_bench_log_payload(uint8_t *buf, size_t len)
{
    size_t head = len - 7 <= 0xff ? 7 : 8; /* fixmap + fixstr "pad" + bin8 or bin16 */
    size_t k = len - head;

    buf[0] = 0x81;
    memcpy(buf + 1, "\xa3pad", 4);
    if (head == 7) {
        buf[5] = 0xc4;
        buf[6] = (uint8_t)k;
    } else {
        buf[5] = 0xc5;
        buf[6] = (uint8_t)(k >> 8);
        buf[7] = (uint8_t)k;
    }
    for (size_t i = 0; i < k; i++)
        buf[head + i] = (uint8_t)(i * 31u + 7u);
}
