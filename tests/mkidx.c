/* mkidx: writes a small IDX image file (and optionally a label file) of
 * deterministic pseudo-random blobs, for the command-line tests.
 * usage: mkidx IMAGES.idx N ROWS COLS SEED [LABELS.idx] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int put_u32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: mkidx IMAGES.idx N ROWS COLS SEED [LABELS.idx]\n");
        return 2;
    }
    long n = atol(argv[2]), rows = atol(argv[3]), cols = atol(argv[4]);
    uint64_t s = strtoull(argv[5], NULL, 10) * 2654435761u + 1;
    FILE *f = fopen(argv[1], "wb");
    if (f == NULL || put_u32(f, 0x803) || put_u32(f, (uint32_t)n) || put_u32(f, (uint32_t)rows) ||
        put_u32(f, (uint32_t)cols)) {
        perror(argv[1]);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        /* a bright disc at a random centre on a dark background, like a pen stroke */
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        long cy = (long)((s >> 33) % (uint64_t)rows), cx = (long)((s >> 45) % (uint64_t)cols);
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++) {
                long d2 = (r - cy) * (r - cy) + (c - cx) * (c - cx);
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                unsigned v = d2 <= 4 ? 200 + (unsigned)((s >> 59) & 31) : (unsigned)((s >> 60) & 7);
                if (fputc((int)v, f) == EOF) {
                    perror(argv[1]);
                    return 1;
                }
            }
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    if (argc == 7) {
        FILE *g = fopen(argv[6], "wb");
        if (g == NULL || put_u32(g, 0x801) || put_u32(g, (uint32_t)n)) {
            perror(argv[6]);
            return 1;
        }
        for (long i = 0; i < n; i++)
            if (fputc((int)(i % 10), g) == EOF) {
                perror(argv[6]);
                return 1;
            }
        if (fclose(g) != 0) {
            perror(argv[6]);
            return 1;
        }
    }
    return 0;
}
