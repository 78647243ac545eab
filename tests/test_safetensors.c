/* test_safetensors.c: the safetensors writer and parser (round trip, byte layout, every malformed
 * header the parser must refuse), the model's PyTorch names and shapes, and -- when Debian's
 * python3-torch is there -- that PyTorch computes the same log p(x,h) from the exported file. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/model.h"
#include "data/safetensors.h"
#include "fixtures.h"
#include "skip.h"
#include "util/rng.h"

static char dir[256]; /* scratch directory of one test */

static void setup(void)
{
    ck_assert_int_eq(aw_fx_tmpdir(dir, sizeof dir), 0);
}

static void teardown(void)
{
    aw_fx_rmtree(dir);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Parses a file made of header text and ndata zero bytes into *out (NULL: dropped; else the caller
 * finalizes it); returns the parser's code. */
static int parse_header_text(const char *header, size_t ndata, aw_st_file_t *out, aw_error_t *err)
{
    size_t hl = strlen(header), n = 8 + hl + ndata;
    uint8_t *buf = calloc(n, 1);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    aw_st_file_t f;
    int rc = aw_st_parse(buf, n, &f, err);
    if (out != NULL)
        *out = f;
    else
        aw_st_file_fini(&f);
    free(buf);
    return rc;
}

START_TEST(test_round_trip)
{
    float a[6] = {1.5f, -2.25f, 0.0f, -0.0f, 3.4028235e38f, 1e-45f}, b[3] = {7, 8, 9}, scalar[1] = {42};
    aw_st_entry_t t[] = {{.name = "layer.0.weight", .ndim = 2, .shape = {2, 3}, .data = a},
                         {.name = "layer.0.bias", .ndim = 1, .shape = {3}, .data = b},
                         {.name = "scalar", .ndim = 0, .data = scalar},
                         {.name = "empty", .ndim = 2, .shape = {0, 5}, .data = NULL}};
    aw_st_meta_t meta[] = {{"spec", "name: \"x\"\nmodel: {latent: 50}\n\ttab \\ back"},
                           {"unicode", "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"},
                           {"ctl", "\x01\x1f"}};
    uint8_t *buf;
    size_t len;
    aw_error_t err = {0};
    ck_assert_msg(aw_st_encode(t, 4, meta, 3, &buf, &len, &err) == 0, "%s", err.msg);
    uint64_t hl = le64(buf);
    ck_assert_uint_eq(hl % 8, 0);                       /* header padded to 8 bytes */
    ck_assert_uint_eq(len, 8 + hl + 4 * (6 + 3 + 1));   /* data: 10 floats */
    ck_assert_int_eq(buf[8], '{');
    ck_assert_int_eq(buf[8 + hl - 1] == ' ' || buf[8 + hl - 1] == '}', 1);
    /* little-endian F32 of 1.5 (0x3fc00000) starts the data */
    ck_assert_int_eq(buf[8 + hl + 0], 0x00);
    ck_assert_int_eq(buf[8 + hl + 2], 0xc0);
    ck_assert_int_eq(buf[8 + hl + 3], 0x3f);

    aw_st_file_t f;
    ck_assert_msg(aw_st_parse(buf, len, &f, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(f.n, 4);
    ck_assert_uint_eq(f.header_len, hl);
    const aw_st_tensor_t *w = aw_st_find(&f, "layer.0.weight");
    ck_assert_ptr_nonnull(w);
    ck_assert_str_eq(w->dtype, "F32");
    ck_assert_int_eq(w->ndim, 2);
    ck_assert_int_eq(w->shape[0], 2);
    ck_assert_int_eq(w->shape[1], 3);
    ck_assert_uint_eq(w->begin, 0);
    ck_assert_uint_eq(w->end, 24);
    float back[6];
    ck_assert_int_eq(aw_st_get_f32(&f, w, back, 6, &err), 0);
    ck_assert_int_eq(memcmp(back, a, sizeof a), 0); /* bit for bit, -0 and denormal included */
    const aw_st_tensor_t *sc = aw_st_find(&f, "scalar");
    ck_assert_int_eq(sc->ndim, 0);
    ck_assert_uint_eq(sc->end - sc->begin, 4);
    const aw_st_tensor_t *em = aw_st_find(&f, "empty");
    ck_assert_uint_eq(em->end, em->begin);
    ck_assert_int_eq(aw_st_get_f32(&f, w, back, 5, &err), AW_EFORMAT); /* wrong count */
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(aw_st_meta_get(&f, meta[i].key), meta[i].value);
    ck_assert_ptr_null(aw_st_meta_get(&f, "nope"));
    ck_assert_ptr_null(aw_st_find(&f, "nope"));
    aw_st_file_fini(&f);

    /* The same through a file. */
    char path[512];
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    ck_assert_msg(aw_st_write(path, t, 4, meta, 3, &err) == 0, "%s", err.msg);
    ck_assert_msg(aw_st_read(path, &f, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(f.n, 4);
    ck_assert_uint_eq(f.data_len, len - 8 - hl);
    ck_assert_int_eq(memcmp(f.data, buf + 8 + hl, f.data_len), 0);
    aw_st_file_fini(&f);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(access(tmp, F_OK), -1); /* renamed into place */
    free(buf);

    /* Writer refusals. */
    aw_st_entry_t dup[] = {t[1], t[1]};
    ck_assert_int_eq(aw_st_encode(dup, 2, NULL, 0, &buf, &len, &err), AW_EARG);
    aw_st_entry_t bad = {.name = "__metadata__", .ndim = 1, .shape = {1}, .data = b};
    ck_assert_int_eq(aw_st_encode(&bad, 1, NULL, 0, &buf, &len, &err), AW_EARG);
    bad.name = "neg";
    bad.shape[0] = -1;
    ck_assert_int_eq(aw_st_encode(&bad, 1, NULL, 0, &buf, &len, &err), AW_EARG);
    snprintf(path, sizeof path, "%s/no/such/dir/x.safetensors", dir);
    ck_assert_int_eq(aw_st_write(path, t, 1, NULL, 0, &err), AW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "no/such/dir"));
    ck_assert_int_eq(aw_st_read(path, &f, &err), AW_EIO);
}
END_TEST

START_TEST(test_parser_refusals)
{
    aw_error_t err = {0};
    static const struct {
        const char *header; /* JSON header text */
        size_t ndata;       /* data bytes after it */
        const char *says;   /* part of the message */
    } bad[] = {
        {"[]", 0, "expected '{'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "',' or '}'"},
        {"{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "expected 8"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "data has 12 bytes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "past the data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "appears twice"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4, "unexpected"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "an integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "fewer values"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "a string"},
        {"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "appears twice"},
        {"{\"a\\u0000\":{}}", 0, "NUL"},
        {"{\"a\\q\":{}}", 0, "valid escape"},
        {"{\"\\ud800x\":{}}", 0, "low surrogate"},
        {"{} x", 0, "only spaces"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} ", 0, "past the data"},
        {"{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        aw_error_clear(&err);
        int rc = parse_header_text(bad[i].header, bad[i].ndata, NULL, &err);
        ck_assert_msg(rc == AW_EFORMAT, "case %zu (%s): rc %d", i, bad[i].header, rc);
        ck_assert_msg(strstr(err.msg, bad[i].says) != NULL, "case %zu: message \"%s\" lacks \"%s\"", i, err.msg,
                      bad[i].says);
    }
    /* Valid corner cases, read as written: an empty header object, spaces, escapes, other dtypes. */
    aw_st_file_t f;
    ck_assert_int_eq(parse_header_text("{}      ", 0, &f, &err), 0);
    ck_assert_uint_eq(f.header_len, 8);
    ck_assert_uint_eq(f.n, 0);
    ck_assert_uint_eq(f.n_meta, 0);
    ck_assert_uint_eq(f.data_len, 0);
    aw_st_file_fini(&f);
    ck_assert_msg(parse_header_text("{ \"a\\u00e9\\n\" : { \"dtype\" : \"I64\" , \"shape\" : [ ] , "
                                    "\"data_offsets\" : [ 0 , 8 ] } }",
                                    8, &f, &err) == 0,
                  "%s", err.msg);
    ck_assert_uint_eq(f.n, 1);
    ck_assert_str_eq(f.t[0].name, "a\xc3\xa9\n");
    ck_assert_str_eq(f.t[0].dtype, "I64");
    ck_assert_int_eq(f.t[0].ndim, 0);
    ck_assert_uint_eq(f.t[0].begin, 0);
    ck_assert_uint_eq(f.t[0].end, 8);
    ck_assert_uint_eq(f.data_len, 8);
    ck_assert_ptr_eq(aw_st_find(&f, "a\xc3\xa9\n"), &f.t[0]);
    aw_st_file_fini(&f);
    /* Length field larger than the file, and files shorter than 8 bytes. */
    uint8_t tiny[12] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
    ck_assert_int_eq(aw_st_parse(tiny, sizeof tiny, &f, &err), AW_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "exceeds the file"));
    ck_assert_int_eq(aw_st_parse(tiny, 5, &f, &err), AW_EFORMAT);
    tiny[0] = 4;
    ck_assert_int_eq(aw_st_parse(tiny, sizeof tiny, &f, &err), 0);
    ck_assert_uint_eq(f.header_len, 4);
    ck_assert_uint_eq(f.n, 0);
    ck_assert_uint_eq(f.data_len, 0);
    aw_st_file_fini(&f);
}
END_TEST

/* The paper's architecture: 784-200-200-50. */
static void paper_model(aw_model_t *m, uint64_t seed)
{
    aw_shape_t shape = {.D = 784, .H = 50, .n_hidden = 2, .hidden = {200, 200}};
    aw_rng_t rng;
    aw_rng_seed(&rng, seed, 1);
    aw_error_t err = {0};
    ck_assert_msg(aw_model_init(m, &shape, &rng, &err) == 0, "%s", err.msg);
}

START_TEST(test_model_names_and_shapes)
{
    aw_model_t m;
    paper_model(&m, 7);
    aw_st_entry_t e[AW_ST_MODEL_MAX_TENSORS];
    char names[AW_ST_MODEL_MAX_TENSORS][AW_ST_NAME_LEN];
    size_t n = aw_st_model_entries(&m, e, names);
    static const struct {
        const char *name; /* PyTorch state-dict key */
        int64_t d0, d1;   /* shape ([d0] when d1 == 0) */
    } want[] = {{"encoder.transform.0.weight", 200, 784}, {"encoder.transform.0.bias", 200, 0},
                {"encoder.transform.2.weight", 200, 200}, {"encoder.transform.2.bias", 200, 0},
                {"encoder.fc_mu.weight", 50, 200},        {"encoder.fc_mu.bias", 50, 0},
                {"encoder.fc_logsigma.weight", 50, 200},  {"encoder.fc_logsigma.bias", 50, 0},
                {"decoder.transform.0.weight", 200, 50},  {"decoder.transform.0.bias", 200, 0},
                {"decoder.transform.2.weight", 200, 200}, {"decoder.transform.2.bias", 200, 0},
                {"decoder.transform.4.weight", 784, 200}, {"decoder.transform.4.bias", 784, 0}};
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(e[i].name, want[i].name);
        ck_assert_int_eq(e[i].ndim, want[i].d1 ? 2 : 1);
        ck_assert_int_eq(e[i].shape[0], want[i].d0);
        if (want[i].d1)
            ck_assert_int_eq(e[i].shape[1], want[i].d1);
        total += (size_t)(want[i].d0 * (want[i].d1 ? want[i].d1 : 1));
    }
    ck_assert_uint_eq(total, m.n_params); /* every parameter exported once */
    /* The heads are the two halves of the fused layer: mu rows first, then log sigma. */
    const aw_layer_t *hd = &m.enc[2];
    ck_assert_ptr_eq(e[4].data, hd->W);
    ck_assert_ptr_eq(e[6].data, hd->W + 50 * 200);
    ck_assert_ptr_eq(e[7].data, hd->b + 50);
    ck_assert_ptr_eq(e[12].data, m.dec[2].W);
    /* Encoded and parsed back, the values are the model's. */
    uint8_t *buf;
    size_t len;
    aw_error_t err = {0};
    ck_assert_int_eq(aw_st_encode(e, n, NULL, 0, &buf, &len, &err), 0);
    aw_st_file_t f;
    ck_assert_msg(aw_st_parse(buf, len, &f, &err) == 0, "%s", err.msg);
    float *w = malloc(sizeof(float) * 784 * 200);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(aw_st_get_f32(&f, aw_st_find(&f, "decoder.transform.4.weight"), w, 784 * 200, &err), 0);
    ck_assert_int_eq(memcmp(w, m.dec[2].W, sizeof(float) * 784 * 200), 0);
    ck_assert_int_eq(aw_st_get_f32(&f, aw_st_find(&f, "encoder.fc_logsigma.bias"), w, 50, &err), 0);
    ck_assert_int_eq(memcmp(w, hd->b + 50, sizeof(float) * 50), 0);
    free(w);
    aw_st_file_fini(&f);
    free(buf);
    aw_model_fini(&m);
}
END_TEST

/* PyTorch loads the file into the original module structure and computes log p(x,h). */
/* aw_st_model_load: an encoded model loads back bit for bit; a model of another shape is refused with both
 * shapes named. */
START_TEST(test_model_load)
{
    aw_model_t a, b, c;
    paper_model(&a, 7);
    paper_model(&b, 8);
    aw_st_entry_t e[AW_ST_MODEL_MAX_TENSORS];
    char names[AW_ST_MODEL_MAX_TENSORS][AW_ST_NAME_LEN];
    size_t n = aw_st_model_entries(&a, e, names);
    uint8_t *buf = NULL;
    size_t len = 0;
    aw_error_t err = {0};
    ck_assert_msg(aw_st_encode(e, n, NULL, 0, &buf, &len, &err) == 0, "%s", err.msg);
    aw_st_file_t f;
    ck_assert_msg(aw_st_parse(buf, len, &f, &err) == 0, "%s", err.msg);
    ck_assert(memcmp(a.params, b.params, a.n_params * sizeof *a.params) != 0);
    ck_assert_msg(aw_st_model_load(&f, &b, &err) == 0, "%s", err.msg);
    ck_assert(memcmp(a.params, b.params, a.n_params * sizeof *a.params) == 0);
    aw_shape_t other = {.D = 784, .H = 20, .n_hidden = 1, .hidden = {100}};
    aw_rng_t rng;
    aw_rng_seed(&rng, 1, 1);
    ck_assert(aw_model_init(&c, &other, &rng, &err) == 0);
    ck_assert_int_eq(aw_st_model_load(&f, &c, &err), AW_EFORMAT);
    ck_assert_str_eq(err.msg, "holds a model with model.latent 50, model.hidden [200, 200] and 784 pixels; the spec "
                              "(with its data set) has model.latent 20, model.hidden [100] and 784 pixels");
    aw_st_file_fini(&f);
    free(buf);
    aw_model_fini(&a);
    aw_model_fini(&b);
    aw_model_fini(&c);
}
END_TEST

START_TEST(test_torch_log_joint)
{
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        AW_SKIP("/usr/bin/python3 cannot import torch (apt-get install python3-torch to run the PyTorch check)");
    enum { B = 4, K = 3, D = 784, H = 50 };
    aw_model_t m;
    paper_model(&m, 11);
    /* Trained-looking weights are not needed, but larger ones make the check sharper. */
    for (size_t i = 0; i < m.n_params; i++)
        m.params[i] *= 3.0f;
    char model_path[512], data_path[512];
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", dir);
    snprintf(data_path, sizeof data_path, "%s/check.bin", dir);
    aw_st_entry_t e[AW_ST_MODEL_MAX_TENSORS];
    char names[AW_ST_MODEL_MAX_TENSORS][AW_ST_NAME_LEN];
    size_t n = aw_st_model_entries(&m, e, names);
    aw_st_meta_t meta[] = {{"format", "pt"}, {"epoch", "0"}};
    aw_error_t err = {0};
    ck_assert_msg(aw_st_write(model_path, e, n, meta, 2, &err) == 0, "%s", err.msg);

    static float x[B * D], h[B * K * H], logp[B * K], mu[B * H], ls[B * H];
    aw_rng_t rng;
    aw_rng_seed(&rng, 3, 4);
    for (int i = 0; i < B * D; i++)
        x[i] = aw_rng_uniform(&rng) < 0.3 ? 1.0f : 0.0f;
    aw_rng_fill_normal(&rng, h, (size_t)B * K * H);
    aw_model_ws_t *ws = aw_model_ws_new(&m.shape, B, B * K);
    ck_assert_ptr_nonnull(ws);
    ck_assert_int_eq(aw_model_log_joint(&m, ws, x, B, K, h, logp, NULL), 0);
    ck_assert_int_eq(aw_model_encode(&m, ws, x, B, mu, ls), 0);
    aw_model_ws_free(ws);
    /* check.bin: int32 B, K, D, H, then x [B,D], h [B*K,H], logp [B*K], mu [B,H], log sigma [B,H] as
     * float32 in the host's byte order (little-endian on every machine we build for) */
    FILE *f = fopen(data_path, "wb");
    ck_assert_ptr_nonnull(f);
    int32_t dims[4] = {B, K, D, H};
    ck_assert_uint_eq(fwrite(dims, sizeof dims, 1, f), 1);
    ck_assert_uint_eq(fwrite(x, sizeof x, 1, f), 1);
    ck_assert_uint_eq(fwrite(h, sizeof h, 1, f), 1);
    ck_assert_uint_eq(fwrite(logp, sizeof logp, 1, f), 1);
    ck_assert_uint_eq(fwrite(mu, sizeof mu, 1, f), 1);
    ck_assert_uint_eq(fwrite(ls, sizeof ls, 1, f), 1);
    ck_assert_int_eq(fclose(f), 0);
    const char *src = getenv("AIWAE_SRCDIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/safetensors_torch.py' '%s' '%s'", src ? src : ".",
             model_path, data_path);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "PyTorch check failed (status %d): %s", rc, cmd);
    aw_model_fini(&m);
}
END_TEST

static Suite *st_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *t = tcase_create("format");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_round_trip);
    tcase_add_test(t, test_parser_refusals);
    tcase_add_test(t, test_model_names_and_shapes);
    tcase_add_test(t, test_model_load);
    suite_add_tcase(s, t);
    t = tcase_create("pytorch");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_torch_log_joint);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(st_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
