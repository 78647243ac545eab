/* sha256.h: SHA-256 (FIPS 180-4), used to name a run by the hash of its
 * canonical spec. Small, portable, no allocation. */
#ifndef AW_SHA256_H
#define AW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AW_SHA256_BYTES 32
#define AW_SHA256_HEX (2 * AW_SHA256_BYTES + 1) /* hex digits plus the terminating NUL */

typedef struct aw_sha256 {
    uint32_t h[8];      /* chaining state */
    uint64_t nbytes;    /* message bytes absorbed so far */
    uint8_t block[64];  /* partial block not yet compressed */
    size_t fill;        /* bytes used in block */
} aw_sha256_t;

/* Starts a new digest. */
void aw_sha256_init(aw_sha256_t *s);
/* Absorbs n bytes of data (n may be 0; data may then be NULL). */
void aw_sha256_update(aw_sha256_t *s, const void *data, size_t n);
/* Finishes the digest into out[32]; s must be re-initialized before reuse. */
void aw_sha256_final(aw_sha256_t *s, uint8_t out[AW_SHA256_BYTES]);
/* One-shot digest of data[n] as 64 lower-case hex digits plus NUL in hex[65]. */
void aw_sha256_hex(const void *data, size_t n, char hex[AW_SHA256_HEX]);

#endif
