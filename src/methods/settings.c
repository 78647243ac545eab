/* settings.c: key tables: look-ups, ranges, defaults, text of values (settings.h). */
#include "methods/settings.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fmtnum.h"

static const char *const FRANGE_TEXT[] = {"a number > 0", "a number in [0, 1)", "a number in (0, 1)"};

int aw_keys_count(const aw_key_t *keys)
{
    int n = 0;
    while (keys != NULL && keys[n].key != NULL)
        n++;
    return n;
}

const aw_key_t *aw_keys_find(const aw_key_t *keys, const char *key)
{
    for (int i = 0; keys != NULL && keys[i].key != NULL; i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

const char *const *aw_key_words(const aw_key_t *k)
{
    return k->words != NULL ? k->words : k->words_fn != NULL ? k->words_fn() : NULL;
}

int aw_check_given(const aw_check_t *c, const char *key)
{
    for (int i = 0; c->keys[i].key != NULL; i++)
        if (strcmp(c->keys[i].key, key) == 0)
            return c->given != NULL && c->given[i];
    return 0;
}

int aw_check_fail(aw_check_t *c, const char *key, const char *fmt, ...)
{
    c->blame = key;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->what, sizeof c->what, fmt, ap);
    va_end(ap);
    return -1;
}

static long long int_hi(const aw_key_t *k)
{
    return k->hi != 0 ? k->hi : k->type == AW_KEY_SIZE ? LONG_MAX : INT_MAX;
}

void aw_key_accepts(const aw_key_t *k, char *out, size_t n)
{
    if (k->expect != NULL) {
        snprintf(out, n, "%s", k->expect);
        return;
    }
    switch (k->type) {
    case AW_KEY_INT:
    case AW_KEY_SIZE:
    case AW_KEY_OPTINT:
        if (k->hi == 0)
            snprintf(out, n, "an integer >= %lld", k->lo);
        else
            snprintf(out, n, "an integer in %lld..%lld", k->lo, k->hi);
        break;
    case AW_KEY_FLOAT:
        snprintf(out, n, "%s", FRANGE_TEXT[k->range]);
        break;
    case AW_KEY_WORD:
    case AW_KEY_TEXT: {
        const char *const *w = aw_key_words(k);
        if (w == NULL) {
            snprintf(out, n, "a path");
            break;
        }
        size_t o = (size_t)snprintf(out, n, "one of ");
        for (int i = 0; w[i] != NULL && o < n; i++)
            o += (size_t)snprintf(out + o, n - o, "%s%s", i ? ", " : "", w[i]);
        break;
    }
    case AW_KEY_U64:
        snprintf(out, n, "an integer in 0..18446744073709551615");
        break;
    case AW_KEY_CUSTOM:
        snprintf(out, n, "%s", k->doc);
        break;
    }
}

int aw_key_int_ok(const aw_key_t *k, long long v)
{
    return v >= k->lo && v <= int_hi(k);
}

int aw_key_float_ok(const aw_key_t *k, float v)
{
    if (!isfinite(v))
        return 0;
    switch (k->range) {
    case AW_GT0:
        return v > 0.0f;
    case AW_UNIT_CO:
        return v >= 0.0f && v < 1.0f;
    case AW_UNIT_OPEN:
        return v > 0.0f && v < 1.0f;
    }
    return 0;
}

static int word_index(const aw_key_t *k, const char *text)
{
    const char *const *w = aw_key_words(k);
    for (int i = 0; w != NULL && w[i] != NULL; i++)
        if (strcmp(w[i], text) == 0)
            return i;
    return -1;
}

int aw_key_set_text(const aw_key_t *k, void *base, const char *text)
{
    char *p = (char *)base + k->offset, *end;
    errno = 0;
    switch (k->type) {
    case AW_KEY_INT:
    case AW_KEY_SIZE:
    case AW_KEY_OPTINT: {
        if ((k->type != AW_KEY_INT) && strcmp(text, "~") == 0) {
            if (k->type == AW_KEY_SIZE)
                *(long *)(void *)p = 0;
            else
                *(int *)(void *)p = 0;
            return 0;
        }
        long long v = strtoll(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0' || !aw_key_int_ok(k, v))
            return -1;
        if (k->type == AW_KEY_SIZE)
            *(long *)(void *)p = (long)v;
        else
            *(int *)(void *)p = (int)v;
        return 0;
    }
    case AW_KEY_FLOAT: {
        float v = strtof(text, &end);
        if (end == text || *end != '\0' || !aw_key_float_ok(k, v))
            return -1;
        *(float *)(void *)p = v == 0.0f ? 0.0f : v;
        return 0;
    }
    case AW_KEY_WORD: {
        int i = word_index(k, text);
        if (i < 0)
            return -1;
        *(int *)(void *)p = i;
        return 0;
    }
    case AW_KEY_TEXT:
        if (strcmp(text, "~") == 0)
            text = "";
        if (strlen(text) >= k->cap || (aw_key_words(k) != NULL && word_index(k, text) < 0))
            return -1;
        memcpy(p, text, strlen(text) + 1);
        return 0;
    case AW_KEY_U64: {
        if (text[0] == '-')
            return -1;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno != 0 || end == text || *end != '\0')
            return -1;
        *(uint64_t *)(void *)p = (uint64_t)v;
        return 0;
    }
    case AW_KEY_CUSTOM:
        return -1;
    }
    return -1;
}

int aw_settings_set(const aw_settings_t *s, void *cfg, const char *key, const char *text, aw_error_t *err)
{
    const aw_key_t *k = aw_keys_find(s->keys, key);
    if (k == NULL || k->type == AW_KEY_CUSTOM)
        return aw_error_set(err, AW_ESPEC, "%s: unknown key", key);
    if (aw_key_set_text(k, cfg, text) != 0) {
        char what[256];
        aw_key_accepts(k, what, sizeof what);
        return aw_error_set(err, AW_ESPEC, "%s: expected %s, found \"%s\"", key, what, text);
    }
    return AW_OK;
}

int aw_settings_defaults(const aw_settings_t *s, void *cfg, aw_error_t *err)
{
    memset(cfg, 0, s->size);
    for (int i = 0; s->keys[i].key != NULL; i++) {
        const aw_key_t *k = &s->keys[i];
        if (k->def == NULL || k->type == AW_KEY_CUSTOM)
            continue;
        if (aw_key_set_text(k, cfg, k->def) != 0)
            return aw_error_set(err, AW_EARG, "%s: bad default %s in its key table", k->key, k->def);
    }
    return aw_settings_validate(s, cfg, err);
}

int aw_settings_validate(const aw_settings_t *s, const void *cfg, aw_error_t *err)
{
    for (int i = 0; s->keys[i].key != NULL; i++) {
        const aw_key_t *k = &s->keys[i];
        const char *p = (const char *)cfg + k->offset;
        int iv, ok = 1;
        float fv;
        long lv;
        switch (k->type) {
        case AW_KEY_INT:
        case AW_KEY_OPTINT:
            memcpy(&iv, p, sizeof iv);
            ok = (k->type == AW_KEY_OPTINT && iv == 0) || aw_key_int_ok(k, iv);
            break;
        case AW_KEY_SIZE:
            memcpy(&lv, p, sizeof lv);
            ok = lv == 0 || aw_key_int_ok(k, lv);
            break;
        case AW_KEY_FLOAT:
            memcpy(&fv, p, sizeof fv);
            ok = aw_key_float_ok(k, fv);
            break;
        case AW_KEY_WORD: {
            const char *const *w = aw_key_words(k);
            int n = 0;
            while (w != NULL && w[n] != NULL)
                n++;
            memcpy(&iv, p, sizeof iv);
            ok = iv >= 0 && iv < n;
            break;
        }
        default:
            break;
        }
        if (!ok) {
            char what[256], val[64];
            aw_key_accepts(k, what, sizeof what);
            aw_key_format(k, cfg, val, sizeof val);
            return aw_error_set(err, AW_ESPEC, "%s: expected %s, found %s", k->key, what, val);
        }
    }
    aw_check_t c = {.keys = s->keys};
    if (s->check != NULL && s->check(cfg, &c) != 0)
        return aw_error_set(err, AW_ESPEC, "%s: expected %s", c.blame, c.what);
    return AW_OK;
}

int aw_settings_int(const aw_settings_t *s, const void *cfg, const char *key, int *out)
{
    const aw_key_t *k = aw_keys_find(s->keys, key);
    if (k == NULL || (k->type != AW_KEY_INT && k->type != AW_KEY_WORD && k->type != AW_KEY_OPTINT))
        return 0;
    memcpy(out, (const char *)cfg + k->offset, sizeof *out);
    return 1;
}

void aw_key_format(const aw_key_t *k, const void *base, char *out, size_t n)
{
    const char *p = (const char *)base + k->offset;
    int iv;
    long lv;
    float fv;
    uint64_t uv;
    switch (k->type) {
    case AW_KEY_INT:
        memcpy(&iv, p, sizeof iv);
        snprintf(out, n, "%d", iv);
        return;
    case AW_KEY_OPTINT:
        memcpy(&iv, p, sizeof iv);
        if (iv == 0)
            snprintf(out, n, "~");
        else
            snprintf(out, n, "%d", iv);
        return;
    case AW_KEY_SIZE:
        memcpy(&lv, p, sizeof lv);
        if (lv == 0)
            snprintf(out, n, "~");
        else
            snprintf(out, n, "%ld", lv);
        return;
    case AW_KEY_FLOAT: {
        char t[32];
        memcpy(&fv, p, sizeof fv);
        aw_fmt_float(fv, t);
        snprintf(out, n, "%s", t);
        return;
    }
    case AW_KEY_WORD: {
        const char *const *w = aw_key_words(k);
        memcpy(&iv, p, sizeof iv);
        snprintf(out, n, "%s", w != NULL && iv >= 0 ? w[iv] : "?");
        return;
    }
    case AW_KEY_TEXT:
        snprintf(out, n, "%s", p[0] != '\0' ? p : "~");
        return;
    case AW_KEY_U64:
        memcpy(&uv, p, sizeof uv);
        snprintf(out, n, "%" PRIu64, uv);
        return;
    case AW_KEY_CUSTOM:
        snprintf(out, n, "?");
        return;
    }
}

void aw_settings_write_string(aw_sbuf_t *b, const char *v)
{
    if (v[0] == '\0') {
        aw_sbuf_printf(b, "~");
        return;
    }
    aw_sbuf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            aw_sbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            aw_sbuf_printf(b, "\\x%02x", *p);
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* C1 controls, written raw libyaml rejects */
            aw_sbuf_printf(b, "\\x%02x", *++p);
        else
            aw_sbuf_printf(b, "%c", *p);
    }
    aw_sbuf_printf(b, "\"");
}

static void put_value(aw_sbuf_t *b, const aw_key_t *k, const void *base)
{
    if (k->type == AW_KEY_TEXT && aw_key_words(k) == NULL) {
        aw_settings_write_string(b, (const char *)base + k->offset);
        return;
    }
    char t[64];
    aw_key_format(k, base, t, sizeof t);
    aw_sbuf_printf(b, "%s", t);
}

/* Length of the "prefix." part of a nested key (0 for a plain key). */
static size_t prefix_len(const char *key)
{
    const char *dot = strchr(key, '.');
    return dot != NULL ? (size_t)(dot - key) + 1 : 0;
}

static int skipped(const aw_key_t *k, const void *base, int identity_only, const char *variant,
                   aw_custom_write_fn custom)
{
    if ((k->type == AW_KEY_CUSTOM && custom == NULL) || (identity_only && !k->identity))
        return 1;
    if (k->omit_default && k->def != NULL && k->type != AW_KEY_CUSTOM) {
        char v[64];
        aw_key_format(k, base, v, sizeof v);
        if (strcmp(v, k->def) == 0)
            return 1;
    }
    return k->only != NULL && (variant == NULL || strcmp(k->only, variant) != 0);
}

void aw_settings_write_block(const aw_key_t *keys, const void *base, aw_sbuf_t *b, const char *indent,
                             int identity_only, const char *variant, aw_custom_write_fn custom)
{
    const char *open = NULL; /* the nested mapping being written */
    for (int i = 0; keys[i].key != NULL; i++) {
        const aw_key_t *k = &keys[i];
        if (skipped(k, base, identity_only, variant, custom))
            continue;
        size_t pl = prefix_len(k->key);
        if (pl > 0 && (open == NULL || strncmp(open, k->key, pl) != 0)) {
            aw_sbuf_printf(b, "%s%.*s:\n", indent, (int)(pl - 1), k->key);
            open = k->key;
        } else if (pl == 0) {
            open = NULL;
        }
        aw_sbuf_printf(b, "%s%s%s: ", indent, pl > 0 ? "  " : "", k->key + pl);
        if (k->type == AW_KEY_CUSTOM)
            custom(b, k, base);
        else
            put_value(b, k, base);
        aw_sbuf_printf(b, "\n");
    }
}

void aw_settings_write_flow(const aw_key_t *keys, const void *base, aw_sbuf_t *b)
{
    const char *open = NULL;
    int first = 1;
    for (int i = 0; keys[i].key != NULL; i++) {
        const aw_key_t *k = &keys[i];
        if (skipped(k, base, 0, NULL, NULL))
            continue;
        size_t pl = prefix_len(k->key);
        int same = pl > 0 && open != NULL && strncmp(open, k->key, pl) == 0;
        if (open != NULL && !same) {
            aw_sbuf_printf(b, "}");
            open = NULL;
        }
        if (!first)
            aw_sbuf_printf(b, ", ");
        first = 0;
        if (pl > 0 && !same) {
            aw_sbuf_printf(b, "%.*s: {", (int)(pl - 1), k->key);
            open = k->key;
        }
        aw_sbuf_printf(b, "%s: ", k->key + pl);
        put_value(b, k, base);
    }
    if (open != NULL)
        aw_sbuf_printf(b, "}");
}
