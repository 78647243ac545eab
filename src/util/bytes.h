/* bytes.h: fixed-endian packing of integers and IEEE-754 floats in byte buffers, shared by every on-disk
 * format we write (checkpoints, Adam/AIWAE state, safetensors) and the big-endian IDX / MAT readers. */
#ifndef AW_BYTES_H
#define AW_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* All functions read or write exactly the bytes named (p [4] for u32/f32, p [8] for u64/f64, p [4n] or
 * [8n] for the array forms); the caller checks the length. Floats travel as their bit patterns (the array
 * forms copy them without passing through a float register, so even signalling NaNs survive). */

/* Writes v as 4 little-endian bytes at p. */
static inline void aw_le_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes v as 8 little-endian bytes at p. */
static inline void aw_le_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The little-endian u32 at p. */
static inline uint32_t aw_le_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* The little-endian u64 at p. */
static inline uint64_t aw_le_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Writes the bits of f as a little-endian u32 at p. */
static inline void aw_le_put_f32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    aw_le_put_u32(p, u);
}

/* Writes the bits of d as a little-endian u64 at p. */
static inline void aw_le_put_f64(uint8_t *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    aw_le_put_u64(p, u);
}

/* The float whose bits are the little-endian u32 at p. */
static inline float aw_le_get_f32(const uint8_t *p)
{
    uint32_t u = aw_le_get_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The double whose bits are the little-endian u64 at p. */
static inline double aw_le_get_f64(const uint8_t *p)
{
    uint64_t u = aw_le_get_u64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* 1 where memory order is little-endian: the array functions below are then plain copies (a
 * checkpoint's 5 MB go through them at every commit). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define AW_LE_HOST 1
#else
#define AW_LE_HOST 0
#endif

/* Writes x [n] at p [4n], 4 little-endian bytes each. */
static inline void aw_le_put_f32s(uint8_t *p, const float *x, size_t n)
{
    if (AW_LE_HOST) {
        if (n > 0)
            memcpy(p, x, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        aw_le_put_u32(p + 4 * i, u);
    }
}

/* Writes x [n] at p [8n], 8 little-endian bytes each. */
static inline void aw_le_put_f64s(uint8_t *p, const double *x, size_t n)
{
    if (AW_LE_HOST) {
        if (n > 0)
            memcpy(p, x, 8 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &x[i], sizeof u);
        aw_le_put_u64(p + 8 * i, u);
    }
}

/* Reads x [n] from p [4n]. */
static inline void aw_le_get_f32s(const uint8_t *p, float *x, size_t n)
{
    if (AW_LE_HOST) {
        if (n > 0)
            memcpy(x, p, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = aw_le_get_u32(p + 4 * i);
        memcpy(&x[i], &u, sizeof u);
    }
}

/* Reads x [n] from p [8n]. */
static inline void aw_le_get_f64s(const uint8_t *p, double *x, size_t n)
{
    if (AW_LE_HOST) {
        if (n > 0)
            memcpy(x, p, 8 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u = aw_le_get_u64(p + 8 * i);
        memcpy(&x[i], &u, sizeof u);
    }
}

/* The little-endian u16 at p. */
static inline uint16_t aw_le_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[1] << 8 | p[0]);
}

/* The big-endian u16 at p. */
static inline uint16_t aw_be_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The big-endian u32 at p. */
static inline uint32_t aw_be_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The big-endian u64 at p. */
static inline uint64_t aw_be_get_u64(const uint8_t *p)
{
    return (uint64_t)aw_be_get_u32(p) << 32 | aw_be_get_u32(p + 4);
}

#endif
