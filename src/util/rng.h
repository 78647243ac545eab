/* rng.h: the random number generator. xoshiro256** with splitmix64 seeding;
 * the whole state is four words, so it serializes into a checkpoint exactly.
 *
 * No global state: every function takes the generator. Bulk fills draw one
 * 64-bit key from the generator and fill blocks of AW_RNG_BLOCK values from
 * generators derived from (key, block index), in parallel with OpenMP; the
 * values do not depend on the thread count. */
#ifndef AW_RNG_H
#define AW_RNG_H

#include <stddef.h>
#include <stdint.h>

#define AW_RNG_STATE_BYTES 32
#define AW_RNG_BLOCK 4096

typedef struct aw_rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} aw_rng_t;

/* Seeds from a 64-bit seed and a stream number (distinct streams are independent). */
void aw_rng_seed(aw_rng_t *r, uint64_t seed, uint64_t stream);

/* Next raw 64 bits. */
uint64_t aw_rng_next(aw_rng_t *r);

/* Uniform double in [0, 1) with 53 random bits. */
double aw_rng_uniform(aw_rng_t *r);

/* Standard normal (ziggurat). */
double aw_rng_normal(aw_rng_t *r);

/* out[n] = Uniform[0,1) floats. */
void aw_rng_fill_uniform(aw_rng_t *r, float *out, size_t n);

/* out[n] = N(0,1) floats. */
void aw_rng_fill_normal(aw_rng_t *r, float *out, size_t n);

/* out[i] = 1 with probability p[i], else 0 (p[i] in [0,1]). out may equal p. */
void aw_rng_fill_bernoulli(aw_rng_t *r, const float *p, float *out, size_t n);

/* Lets the bulk fills use their AVX-512 version where the CPU has one (on = 1, the default) or not (0):
 * the values are the same either way; tests compare the two. Returns the previous setting. Not
 * thread-safe: call it before any fill runs. */
int aw_rng_set_vector(int on);

/* Derives an independent generator from r (advances r by one draw). */
void aw_rng_derive(aw_rng_t *r, uint64_t stream, aw_rng_t *child);

/* Serializes to / restores from AW_RNG_STATE_BYTES little-endian bytes.
 * aw_rng_load returns 0, or -1 if the bytes are an invalid (all-zero) state. */
void aw_rng_save(const aw_rng_t *r, uint8_t buf[AW_RNG_STATE_BYTES]);
int aw_rng_load(aw_rng_t *r, const uint8_t buf[AW_RNG_STATE_BYTES]);

#endif
