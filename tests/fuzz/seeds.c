/* seeds.c: writes the fuzz targets' seed corpora into DIR/{spec,idx,mat,ckpt,safetensors}: small valid
 * inputs of each format (built with the tests' fixture writers and the library's own encoders), so
 * that the fuzzers start from inputs that reach deep into each parser. Usage: seeds DIR SRCDIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/idx.h"
#include "data/mat.h"
#include "data/safetensors.h"
#include "fixtures.h"
#include "run/ckpt_layout.h"

static const char *root;

static void put(const char *sub, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, sub);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", root, sub, name);
    if (aw_fx_write(path, p, n) != 0) {
        perror(path);
        exit(1);
    }
}

static void data_seeds(void)
{
    double v[12] = {0, 1, 2, 3, 4, 5, 250, 7, 8, 9, 10, 11};
    uint32_t dims[3] = {3, 2, 2};
    aw_fx_buf_t b, z;
    aw_fx_idx(AW_IDX_U8, 3, dims, v, &b);
    put("idx", "u8", b.p, b.n);
    aw_fx_gzip(b.p, b.n, &z);
    put("idx", "u8.gz", z.p, z.n);
    aw_fx_buf_fini(&b);
    aw_fx_buf_fini(&z);
    aw_fx_idx(AW_IDX_F64, 2, dims, v, &b);
    put("idx", "f64", b.p, b.n);
    aw_fx_buf_fini(&b);
    for (int k = 0; k < 4; k++) {
        aw_fx_matvar_t var = {.name = "x", .mxclass = AW_MX_DOUBLE, .stored = k < 2 ? AW_MI_DOUBLE : AW_MI_UINT8,
                              .rows = 3, .cols = 4, .values = v, .compress = k % 2};
        aw_fx_mat(&var, 1, k == 3, &b);
        char name[16];
        snprintf(name, sizeof name, "m%d", k);
        put("mat", name, b.p, b.n);
        aw_fx_buf_fini(&b);
    }
}

static void model_seeds(void)
{
    aw_shape_t s = {.D = 4, .H = 2, .n_hidden = 2, .hidden = {3, 3}};
    aw_model_t m;
    aw_rng_t g;
    aw_error_t err = {0};
    aw_rng_seed(&g, 1, 0);
    if (aw_model_init(&m, &s, &g, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    uint8_t meth[16] = {0};
    double acc[2] = {1.5, 2.5};
    aw_run_ckpt_t ck = {.shape = s, .params = m.params, .meth = meth, .meth_bytes = sizeof meth, .rng = g,
                        .prog = {.epoch = 1, .position = 2, .points = 16, .n_temps = 2, .sum_accept = acc}};
    uint8_t *blob;
    size_t n;
    if (aw_run_ckpt_encode(&ck, &blob, &n, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    put("ckpt", "small", blob, n);
    free(blob);
    aw_st_entry_t e[4 * AW_MAX_HIDDEN + 8];
    char names[4 * AW_MAX_HIDDEN + 8][AW_ST_NAME_LEN];
    size_t ne = aw_st_model_entries(&m, e, names);
    aw_st_meta_t meta = {"format", "pt"};
    if (aw_st_encode(e, ne, &meta, 1, &blob, &n, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    put("safetensors", "model", blob, n);
    free(blob);
    aw_model_fini(&m);
}

/* Every spec of experiments/ and tests/spec/errors/ (their names are given on the command line). */
static void spec_seeds(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL)
            continue;
        char buf[65536];
        size_t n = fread(buf, 1, sizeof buf - 64, f);
        fclose(f);
        const char *set = "method.samples=[1, {a: b}]";
        memcpy(buf + n, "", 1);
        memcpy(buf + n + 1, set, strlen(set));
        char name[32];
        snprintf(name, sizeof name, "s%03d", i);
        put("spec", name, buf, n + 1 + (i % 2 ? strlen(set) : 0));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: seeds DIR [SPEC...]\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0777);
    data_seeds();
    model_seeds();
    spec_seeds(argc, argv);
    return 0;
}
