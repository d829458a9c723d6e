/* core/rng.h — the seeded pseudo-random generator that lives inside a game state.
 *
 * xoshiro256** (Blackman and Vigna), seeded from the session's 64-bit seed through
 * splitmix64. The whole generator is a small value type (32 bytes) kept in the game state,
 * so it is saved, hashed and replayed with it. It is deterministic across platforms (only
 * 64-bit unsigned arithmetic) and is NOT a cryptographic generator. No global state: the
 * simulation never reads any random source but its own stk_rng_t.
 *
 * Thread: a generator is a plain value; use one from one thread at a time.
 */
#ifndef STK_CORE_RNG_H
#define STK_CORE_RNG_H

#include <stdint.h>

typedef struct stk_rng {
    uint64_t s[4];
} stk_rng_t;

/* Seed *r from a 64-bit seed (any value, zero included). */
void stk_rng_seed(stk_rng_t *r, uint64_t seed);

/* Next 64 uniformly distributed bits. */
uint64_t stk_rng_next(stk_rng_t *r);

/* A uniform integer in [0, bound); 0 when bound is 0. Unbiased (rejection), so it may
 * consume more than one output, always the same number for the same state. */
uint32_t stk_rng_below(stk_rng_t *r, uint32_t bound);

#endif
