/* safetensors.c: writes F32 tensors in the safetensors format and parses such files back with
 * a small strict JSON reader; maps a model onto the original PyTorch state-dict names. */
#include "data/safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/bytes.h"
#include "util/io.h"
#include "util/json.h"
#include "util/sbuf.h"

/* ---- writer ---- */

/* Elements of a shape, or -1 if a size is negative or the product overflows 2^62. */
static int64_t numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && n > ((int64_t)1 << 62) / shape[i]))
            return -1;
        n *= shape[i];
    }
    return n;
}

int aw_st_encode(const aw_st_entry_t *t, size_t n, const aw_st_meta_t *meta, size_t n_meta, uint8_t **buf,
                 size_t *len, aw_error_t *err)
{
    *buf = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].name == NULL || t[i].name[0] == '\0' || strcmp(t[i].name, "__metadata__") == 0)
            return aw_error_set(err, AW_EARG, "safetensors: tensor %zu has an invalid name", i);
        if (t[i].ndim < 0 || t[i].ndim > AW_ST_MAX_DIMS || numel(t[i].ndim, t[i].shape) < 0)
            return aw_error_set(err, AW_EARG, "safetensors: tensor %s has an invalid shape", t[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(t[i].name, t[j].name) == 0)
                return aw_error_set(err, AW_EARG, "safetensors: tensor name %s appears twice", t[i].name);
    }
    for (size_t i = 0; i < n_meta; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(meta[i].key, meta[j].key) == 0)
                return aw_error_set(err, AW_EARG, "safetensors: metadata key %s appears twice", meta[i].key);

    aw_sbuf_t h = {0};
    aw_sbuf_puts(&h, "{");
    if (n_meta > 0) {
        aw_sbuf_puts(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i > 0)
                aw_sbuf_puts(&h, ",");
            aw_json_str(&h, meta[i].key);
            aw_sbuf_puts(&h, ":");
            aw_json_str(&h, meta[i].value);
        }
        aw_sbuf_puts(&h, "}");
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (n_meta > 0 || i > 0)
            aw_sbuf_puts(&h, ",");
        aw_json_str(&h, t[i].name);
        aw_sbuf_puts(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].ndim; d++)
            aw_sbuf_printf(&h, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        uint64_t bytes = 4u * (uint64_t)numel(t[i].ndim, t[i].shape);
        aw_sbuf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                       (unsigned long long)(off + bytes));
        off += bytes;
    }
    aw_sbuf_puts(&h, "}");
    while (!h.oom && h.n % 8 != 0)
        aw_sbuf_puts(&h, " ");
    if (h.oom) {
        aw_sbuf_fini(&h);
        return aw_error_set(err, AW_ENOMEM, "safetensors: out of memory building the header");
    }
    size_t total = 8 + h.n + (size_t)off;
    uint8_t *out = malloc(total);
    if (out == NULL) {
        aw_sbuf_fini(&h);
        return aw_error_set(err, AW_ENOMEM, "safetensors: out of memory (%zu bytes)", total);
    }
    aw_le_put_u64(out, h.n);
    memcpy(out + 8, h.p, h.n);
    aw_sbuf_fini(&h);
    uint8_t *p = out + 8 + (total - 8 - (size_t)off);
    for (size_t i = 0; i < n; i++) {
        size_t m = (size_t)numel(t[i].ndim, t[i].shape);
        aw_le_put_f32s(p, t[i].data, m);
        p += 4 * m;
    }
    *buf = out;
    *len = total;
    return AW_OK;
}

int aw_st_write(const char *path, const aw_st_entry_t *t, size_t n, const aw_st_meta_t *meta, size_t n_meta,
                aw_error_t *err)
{
    uint8_t *buf;
    size_t len;
    int rc = aw_st_encode(t, n, meta, n_meta, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = aw_io_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* ---- a strict JSON reader for the header ---- */

typedef struct jrd {
    const char *s;   /* header text */
    size_t n;        /* its length */
    size_t i;        /* read position */
    aw_error_t *err; /* where failures go */
} jrd_t;

/* Header offsets in messages count from the start of the file (8 + position). */
static int jfail(jrd_t *r, const char *what)
{
    return aw_error_set(r->err, AW_EFORMAT, "safetensors: header byte %zu: expected %s", 8 + r->i, what);
}

static void jws(jrd_t *r)
{
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
        r->i++;
}

static int jexpect(jrd_t *r, char c, const char *what)
{
    jws(r);
    if (r->i >= r->n || r->s[r->i] != c)
        return jfail(r, what);
    r->i++;
    return AW_OK;
}

/* Next non-blank character, not consumed ('\0' at the end). */
static char jpeek(jrd_t *r)
{
    jws(r);
    return r->i < r->n ? r->s[r->i] : '\0';
}

/* After a member: consumes ',' (returns 0, another member follows) or close (returns 1); anything
 * else fails with "expected <what>" at that byte. */
static int jnext(jrd_t *r, char close, const char *what)
{
    char c = jpeek(r);
    if (c != ',' && c != close)
        return jfail(r, what);
    r->i++;
    return c == close;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int jhex4(jrd_t *r, unsigned *u)
{
    if (r->i + 4 > r->n)
        return jfail(r, "4 hex digits");
    *u = 0;
    for (int k = 0; k < 4; k++) {
        int v = hexval(r->s[r->i + (size_t)k]);
        if (v < 0)
            return jfail(r, "4 hex digits");
        *u = *u * 16 + (unsigned)v;
    }
    r->i += 4;
    return AW_OK;
}

static void put_utf8(aw_sbuf_t *b, unsigned cp)
{
    char o[4];
    if (cp < 0x80) {
        o[0] = (char)cp;
        aw_sbuf_put(b, o, 1);
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        aw_sbuf_put(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        aw_sbuf_put(b, o, 3);
    } else {
        o[0] = (char)(0xf0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        aw_sbuf_put(b, o, 4);
    }
}

/* Reads a string literal into a new malloc'd *out (NUL bytes from \u0000 are rejected). */
static int jstring(jrd_t *r, char **out)
{
    *out = NULL;
    int rc = jexpect(r, '"', "a string");
    if (rc < 0)
        return rc;
    aw_sbuf_t b = {0};
    for (;;) {
        if (r->i >= r->n) {
            aw_sbuf_fini(&b);
            return jfail(r, "the end of a string");
        }
        unsigned char c = (unsigned char)r->s[r->i++];
        if (c == '"')
            break;
        if (c < 0x20) {
            r->i--;
            aw_sbuf_fini(&b);
            return jfail(r, "no control character inside a string");
        }
        if (c != '\\') {
            aw_sbuf_put(&b, (const char *)&c, 1);
            continue;
        }
        if (r->i >= r->n) {
            aw_sbuf_fini(&b);
            return jfail(r, "an escape");
        }
        char e = r->s[r->i++];
        const char *simple = NULL;
        switch (e) {
        case '"': simple = "\""; break;
        case '\\': simple = "\\"; break;
        case '/': simple = "/"; break;
        case 'b': simple = "\b"; break;
        case 'f': simple = "\f"; break;
        case 'n': simple = "\n"; break;
        case 'r': simple = "\r"; break;
        case 't': simple = "\t"; break;
        case 'u': break;
        default:
            r->i--;
            aw_sbuf_fini(&b);
            return jfail(r, "a valid escape");
        }
        if (simple != NULL) {
            aw_sbuf_put(&b, simple, 1);
            continue;
        }
        unsigned u;
        if ((rc = jhex4(r, &u)) < 0) {
            aw_sbuf_fini(&b);
            return rc;
        }
        if (u >= 0xd800 && u < 0xdc00) {
            unsigned lo;
            if (r->i + 2 > r->n || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u') {
                aw_sbuf_fini(&b);
                return jfail(r, "a low surrogate escape");
            }
            r->i += 2;
            if ((rc = jhex4(r, &lo)) < 0) {
                aw_sbuf_fini(&b);
                return rc;
            }
            if (lo < 0xdc00 || lo >= 0xe000) {
                aw_sbuf_fini(&b);
                return jfail(r, "a low surrogate");
            }
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        } else if ((u >= 0xdc00 && u < 0xe000) || u == 0) {
            aw_sbuf_fini(&b);
            return jfail(r, "a character other than NUL or a lone surrogate");
        }
        put_utf8(&b, u);
    }
    *out = aw_sbuf_finish(&b);
    if (*out == NULL)
        return aw_error_set(r->err, AW_ENOMEM, "safetensors: out of memory reading the header");
    return AW_OK;
}

/* Reads a non-negative integer (no sign, fraction or exponent) below 2^63. */
static int juint(jrd_t *r, uint64_t *v)
{
    jws(r);
    size_t start = r->i;
    *v = 0;
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') {
        unsigned d = (unsigned)(r->s[r->i] - '0');
        if (*v > (UINT64_MAX / 2 - d) / 10)
            return jfail(r, "an integer below 2^63");
        *v = *v * 10 + d;
        r->i++;
    }
    if (r->i == start || (r->i - start > 1 && r->s[start] == '0'))
        return (r->i = start, jfail(r, "a non-negative integer"));
    if (r->i < r->n && (r->s[r->i] == '.' || r->s[r->i] == 'e' || r->s[r->i] == 'E'))
        return jfail(r, "an integer");
    return AW_OK;
}

/* Reads [u, u, ...] into v (at most max values) and its length into *n. */
static int juint_array(jrd_t *r, uint64_t *v, int max, int *n, const char *what)
{
    int rc = jexpect(r, '[', what);
    if (rc < 0)
        return rc;
    *n = 0;
    if (jpeek(r) == ']') {
        r->i++;
        return AW_OK;
    }
    for (;;) {
        if (*n >= max)
            return jfail(r, "fewer values in the array");
        if ((rc = juint(r, &v[(*n)++])) < 0)
            return rc;
        if ((rc = jnext(r, ']', "',' or ']'")) != 0)
            return rc < 0 ? rc : AW_OK;
    }
}

static size_t dtype_size(const char *d)
{
    static const struct {
        const char *name; /* dtype as written in the header */
        size_t size;      /* bytes per element */
    } tab[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
               {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},    {"BOOL", 1}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(d, tab[i].name) == 0)
            return tab[i].size;
    return 0;
}

/* Reads one tensor description {"dtype":..., "shape":[...], "data_offsets":[b,e]} into t. */
static int jtensor(jrd_t *r, aw_st_tensor_t *t)
{
    int rc = jexpect(r, '{', "'{' starting a tensor description");
    if (rc < 0)
        return rc;
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (jpeek(r) == '}')
        return jfail(r, "dtype, shape and data_offsets");
    for (;;) {
        char *key;
        size_t at = r->i;
        if ((rc = jstring(r, &key)) < 0)
            return rc;
        if ((rc = jexpect(r, ':', "':'")) < 0) {
            free(key);
            return rc;
        }
        if (strcmp(key, "dtype") == 0 && !have_dtype) {
            char *d;
            if ((rc = jstring(r, &d)) < 0) {
                free(key);
                return rc;
            }
            if (dtype_size(d) == 0) {
                free(key);
                free(d);
                return aw_error_set(r->err, AW_EFORMAT, "safetensors: tensor %s: unknown dtype", t->name);
            }
            snprintf(t->dtype, sizeof t->dtype, "%s", d);
            free(d);
            have_dtype = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            uint64_t v[AW_ST_MAX_DIMS];
            if ((rc = juint_array(r, v, AW_ST_MAX_DIMS, &t->ndim, "a shape array")) < 0) {
                free(key);
                return rc;
            }
            for (int d = 0; d < t->ndim; d++)
                t->shape[d] = (int64_t)v[d];
            have_shape = 1;
        } else if (strcmp(key, "data_offsets") == 0 && !have_off) {
            uint64_t v[2];
            int n;
            if ((rc = juint_array(r, v, 2, &n, "a data_offsets array")) < 0) {
                free(key);
                return rc;
            }
            if (n != 2) {
                free(key);
                return aw_error_set(r->err, AW_EFORMAT, "safetensors: tensor %s: data_offsets has %d values, expected 2",
                                    t->name, n);
            }
            t->begin = v[0];
            t->end = v[1];
            have_off = 1;
        } else {
            r->i = at;
            rc = aw_error_set(r->err, AW_EFORMAT, "safetensors: tensor %s: unexpected or repeated key \"%s\"",
                              t->name, key);
            free(key);
            return rc;
        }
        free(key);
        if ((rc = jnext(r, '}', "',' or '}'")) < 0)
            return rc;
        if (rc == 1)
            break;
    }
    if (!have_dtype || !have_shape || !have_off)
        return aw_error_set(r->err, AW_EFORMAT, "safetensors: tensor %s: missing %s", t->name,
                            !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return AW_OK;
}

static int jmetadata(jrd_t *r, aw_st_file_t *f)
{
    int rc = jexpect(r, '{', "'{' starting __metadata__");
    if (rc < 0)
        return rc;
    if (jpeek(r) == '}') {
        r->i++;
        return AW_OK;
    }
    for (;;) {
        char *k, *v;
        if ((rc = jstring(r, &k)) < 0)
            return rc;
        if ((rc = jexpect(r, ':', "':'")) < 0 || (rc = jstring(r, &v)) < 0) {
            free(k);
            return rc < 0 ? rc : jfail(r, "a string value in __metadata__");
        }
        if (aw_st_meta_get(f, k) != NULL) {
            rc = aw_error_set(r->err, AW_EFORMAT, "safetensors: metadata key \"%s\" appears twice", k);
            free(k);
            free(v);
            return rc;
        }
        aw_st_meta_t *m = realloc(f->meta, (f->n_meta + 1) * sizeof *m);
        if (m == NULL) {
            free(k);
            free(v);
            return aw_error_set(r->err, AW_ENOMEM, "safetensors: out of memory reading metadata");
        }
        f->meta = m;
        f->meta[f->n_meta].key = k;
        f->meta[f->n_meta].value = v;
        f->n_meta++;
        if ((rc = jnext(r, '}', "',' or '}' in __metadata__")) != 0)
            return rc < 0 ? rc : AW_OK;
    }
}

static int cmp_begin(const void *a, const void *b)
{
    const aw_st_tensor_t *x = *(const aw_st_tensor_t *const *)a, *y = *(const aw_st_tensor_t *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Offsets: each tensor's byte range matches its shape, and sorted by start they tile [0, data_len). */
static int check_layout(aw_st_file_t *f, aw_error_t *err)
{
    for (size_t i = 0; i < f->n; i++) {
        aw_st_tensor_t *t = &f->t[i];
        int64_t m = numel(t->ndim, t->shape);
        if (m < 0)
            return aw_error_set(err, AW_EFORMAT, "safetensors: tensor %s: shape too large", t->name);
        uint64_t esize = dtype_size(t->dtype);
        if ((uint64_t)m > UINT64_MAX / esize || (uint64_t)m * esize > (uint64_t)SIZE_MAX)
            return aw_error_set(err, AW_EFORMAT, "safetensors: tensor %s: %lld elements of %s overflow a size",
                                t->name, (long long)m, t->dtype);
        if (t->end < t->begin || t->end - t->begin != (uint64_t)m * esize)
            return aw_error_set(err, AW_EFORMAT,
                                "safetensors: tensor %s: data_offsets [%llu,%llu] hold %llu bytes, expected %llu for "
                                "its shape and dtype %s",
                                t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                                (unsigned long long)(t->end - t->begin), (unsigned long long)((uint64_t)m * esize),
                                t->dtype);
        if (t->end > f->data_len)
            return aw_error_set(err, AW_EFORMAT, "safetensors: tensor %s: data_offsets end %llu past the data (%zu bytes)",
                                t->name, (unsigned long long)t->end, f->data_len);
    }
    if (f->n == 0) {
        if (f->data_len != 0)
            return aw_error_set(err, AW_EFORMAT, "safetensors: %zu data bytes but no tensors", f->data_len);
        return AW_OK;
    }
    const aw_st_tensor_t **o = malloc(f->n * sizeof *o);
    if (o == NULL)
        return aw_error_set(err, AW_ENOMEM, "safetensors: out of memory");
    for (size_t i = 0; i < f->n; i++)
        o[i] = &f->t[i];
    qsort(o, f->n, sizeof *o, cmp_begin);
    uint64_t at = 0;
    int rc = AW_OK;
    for (size_t i = 0; i < f->n && rc == AW_OK; i++) {
        if (o[i]->begin != at)
            rc = aw_error_set(err, AW_EFORMAT, "safetensors: tensor %s starts at data byte %llu, expected %llu (%s)",
                              o[i]->name, (unsigned long long)o[i]->begin, (unsigned long long)at,
                              o[i]->begin < at ? "overlap" : "gap");
        at = o[i]->end;
    }
    if (rc == AW_OK && at != f->data_len)
        rc = aw_error_set(err, AW_EFORMAT, "safetensors: tensors end at data byte %llu but the data has %zu bytes",
                          (unsigned long long)at, f->data_len);
    free(o);
    return rc;
}

static int parse_header(jrd_t *r, aw_st_file_t *f)
{
    int rc = jexpect(r, '{', "'{' starting the header");
    if (rc < 0)
        return rc;
    if (jpeek(r) == '}')
        r->i++;
    else
        for (;;) {
            char *key;
            if ((rc = jstring(r, &key)) < 0)
                return rc;
            if ((rc = jexpect(r, ':', "':'")) < 0) {
                free(key);
                return rc;
            }
            if (strcmp(key, "__metadata__") == 0) {
                free(key);
                if (f->meta != NULL)
                    return jfail(r, "one __metadata__ entry");
                if ((rc = jmetadata(r, f)) < 0)
                    return rc;
                if (f->meta == NULL && (f->meta = malloc(1)) == NULL)
                    return aw_error_set(r->err, AW_ENOMEM, "safetensors: out of memory");
            } else {
                if (key[0] == '\0' || aw_st_find(f, key) != NULL) {
                    rc = aw_error_set(r->err, AW_EFORMAT, "safetensors: tensor name \"%s\" is empty or appears twice",
                                      key);
                    free(key);
                    return rc;
                }
                aw_st_tensor_t *t = realloc(f->t, (f->n + 1) * sizeof *t);
                if (t == NULL) {
                    free(key);
                    return aw_error_set(r->err, AW_ENOMEM, "safetensors: out of memory");
                }
                f->t = t;
                memset(&f->t[f->n], 0, sizeof f->t[f->n]);
                f->t[f->n].name = key;
                f->n++;
                if ((rc = jtensor(r, &f->t[f->n - 1])) < 0)
                    return rc;
            }
            if ((rc = jnext(r, '}', "',' or '}'")) < 0)
                return rc;
            if (rc == 1)
                break;
        }
    jws(r);
    if (r->i != r->n)
        return jfail(r, "only spaces after the header object");
    return AW_OK;
}

int aw_st_parse(const uint8_t *buf, size_t len, aw_st_file_t *out, aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (len < 8)
        return aw_error_set(err, AW_EFORMAT, "safetensors: file has %zu bytes, expected at least 8", len);
    uint64_t hl = aw_le_get_u64(buf);
    if (hl > AW_ST_MAX_HEADER || hl > len - 8)
        return aw_error_set(err, AW_EFORMAT, "safetensors: header length %llu at byte 0 exceeds the file (%zu bytes)",
                            (unsigned long long)hl, len);
    out->header_len = hl;
    jrd_t r = {.s = (const char *)buf + 8, .n = (size_t)hl, .i = 0, .err = err};
    out->data_len = len - 8 - (size_t)hl;
    int rc = parse_header(&r, out);
    if (rc == AW_OK)
        rc = check_layout(out, err);
    if (rc == AW_OK && out->data_len > 0) {
        if ((out->data = malloc(out->data_len)) == NULL)
            rc = aw_error_set(err, AW_ENOMEM, "safetensors: out of memory for %zu data bytes", out->data_len);
        else
            memcpy(out->data, buf + 8 + hl, out->data_len);
    }
    if (rc < 0)
        aw_st_file_fini(out);
    return rc;
}

int aw_st_read(const char *path, aw_st_file_t *out, aw_error_t *err)
{
    memset(out, 0, sizeof *out);
    aw_buf_t b = {0};
    int rc = aw_io_read_file(path, AW_IO_MAX_BYTES, &b, err);
    if (rc < 0)
        return rc;
    rc = aw_st_parse(b.data, b.size, out, err);
    if (rc < 0)
        aw_error_prefix(err, "%s", path);
    aw_buf_fini(&b);
    return rc;
}

void aw_st_file_fini(aw_st_file_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->t[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->t);
    free(f->meta);
    free(f->data);
    memset(f, 0, sizeof *f);
}

const aw_st_tensor_t *aw_st_find(const aw_st_file_t *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->t[i].name != NULL && strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const char *aw_st_meta_get(const aw_st_file_t *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    return NULL;
}

int aw_st_get_f32(const aw_st_file_t *f, const aw_st_tensor_t *t, float *out, size_t n, aw_error_t *err)
{
    if (strcmp(t->dtype, "F32") != 0)
        return aw_error_set(err, AW_EFORMAT, "safetensors: tensor %s has dtype %s, expected F32", t->name, t->dtype);
    if (t->end < t->begin || t->end > f->data_len || (uint64_t)n > (t->end - t->begin) / 4 ||
        t->end - t->begin != 4 * (uint64_t)n)
        return aw_error_set(err, AW_EFORMAT, "safetensors: tensor %s holds %llu values, expected %zu", t->name,
                            (unsigned long long)((t->end - t->begin) / 4), n);
    aw_le_get_f32s(f->data + t->begin, out, n);
    return AW_OK;
}
