/* core/rng.c — xoshiro256** with splitmix64 seeding (see rng.h). */
#include "core/rng.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void stk_rng_seed(stk_rng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t stk_rng_next(stk_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t stk_rng_below(stk_rng_t *r, uint32_t bound)
{
    if (bound == 0)
        return 0;
    /* Lemire's multiply-shift with rejection of the biased low range. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t x = (uint32_t)(stk_rng_next(r) >> 32);
        uint64_t m = (uint64_t)x * bound;
        if ((uint32_t)m >= threshold)
            return (uint32_t)(m >> 32);
    }
}
