/* data.c: named datasets, the search path, value checks and minibatch binarization (see data.h).
 * File formats are io/idx/mat's business; this file knows names, layouts and orientations. */
#include "data/data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/idx.h"
#include "data/mat.h"

#define PATH_MAX_LEN 4096
/* Omniglot images are 28x28, stored one per column of a 784 x N matrix. */
#define OMNI_SIDE 28

/* ---- the named datasets: the one table of their names and titles ---- */

/* X(name, title), in table order: the paper's datasets (mnist, omniglot) first. */
#define DATASETS(X) X("mnist", "MNIST") X("omniglot", "Omniglot") X("binarized_mnist", "Binarized MNIST") X("idx", "idx")
#define DS_NAME(name, title) name,
#define DS_TITLE(name, title) title,
static const char *const DATASET_NAMES[] = {DATASETS(DS_NAME) NULL};
static const char *const DATASET_TITLES[] = {DATASETS(DS_TITLE) NULL};

const char *const *aw_dataset_names(void)
{
    return DATASET_NAMES;
}

int aw_dataset_index(const char *name)
{
    for (int i = 0; name != NULL && DATASET_NAMES[i] != NULL; i++)
        if (strcmp(DATASET_NAMES[i], name) == 0)
            return i;
    return -1;
}

const char *aw_dataset_title(const char *name)
{
    int i = aw_dataset_index(name);
    return i < 0 ? name : DATASET_TITLES[i];
}

/* "mnist, omniglot, binarized_mnist or idx" into buf[n]. */
static void dataset_list(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; DATASET_NAMES[i] != NULL && used < n; i++) {
        const char *sep = i == 0 ? "" : DATASET_NAMES[i + 1] == NULL ? " or " : ", ";
        int w = snprintf(buf + used, n - used, "%s%s", sep, DATASET_NAMES[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* ---- files ---- */

/* The file names a dataset file may have, tried in order in each candidate directory. */
typedef struct file_names {
    const char *what;      /* "train images", for messages */
    const char *names[4];  /* candidate file names, NULL-terminated */
} file_names_t;

const char *aw_data_base_dir(const aw_data_opts_t *opts, char *buf, size_t n)
{
    const char *env = getenv("AIWAE_DATA_DIR");
    const char *base = opts != NULL && opts->dir != NULL && opts->dir[0] ? opts->dir
                       : env != NULL && env[0]                          ? env
                                                                        : "data";
    snprintf(buf, n, "%s", base);
    return buf;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Looks for one of fn->names in base/sub/ then base/; writes the first that exists into path. */
static int find_file(const aw_data_opts_t *opts, const char *sub, const file_names_t *fn, char *path,
                     aw_error_t *err)
{
    char base[PATH_MAX_LEN];
    aw_data_base_dir(opts, base, sizeof base);
    char tried[AW_ERROR_MSG_MAX] = "";
    size_t tl = 0;
    const char *dirs[2] = {sub, ""};
    for (int d = 0; d < 2; d++)
        for (int i = 0; fn->names[i] != NULL; i++) {
            int w = snprintf(path, PATH_MAX_LEN, "%s/%s%s", base, dirs[d], fn->names[i]);
            if (w < 0 || w >= PATH_MAX_LEN)
                continue;
            if (is_file(path))
                return AW_OK;
            if (tl < sizeof tried) {
                int t = snprintf(tried + tl, sizeof tried - tl, "%s%s", tl ? ", " : "", path);
                tl += t > 0 ? (size_t)t : 0;
            }
        }
    path[0] = '\0';
    return aw_error_set(err, AW_EIO, "%s of dataset '%s' not found; tried %s (base directory from %s; run "
                        "'data/fetch %s' or 'data/fetch --for SPEC', or set dataset.dir or $AIWAE_DATA_DIR)", fn->what,
                        opts->name, tried,
                        opts->dir && opts->dir[0] ? "the spec's dataset.dir"
                        : getenv("AIWAE_DATA_DIR") && getenv("AIWAE_DATA_DIR")[0] ? "$AIWAE_DATA_DIR"
                                                                                 : "the default ./data",
                        opts->name);
}

/* How many images to keep of a split of avail images, given the requested size (<= 0: all). */
static int take_count(long size, const char *key, const char *split, size_t avail, const char *path,
                      size_t *take, aw_error_t *err)
{
    if (avail == 0)
        return aw_error_set(err, AW_EFORMAT, "%s: holds no images", path);
    if (size <= 0) {
        *take = avail;
        return AW_OK;
    }
    if ((unsigned long)size > avail)
        return aw_error_set(err, AW_ESPEC, "dataset.%s is %ld but split '%s' in %s has only %zu images", key, size,
                            split, path, avail);
    *take = (size_t)size;
    return AW_OK;
}

/* Checks every value lies in [0,1], and is 0 or 1 if binary is set. */
static int check_values(const aw_dataset_t *ds, int binary, const char *where, aw_error_t *err)
{
    size_t total = ds->n * ds->dim;
    /* One pass without exits first (it vectorizes: 47M MNIST pixels in milliseconds, not 0.3 s), then the
     * first offending pixel only where there is one. 8-bit values are in [0,1] by what they mean. */
    int bad = 0;
    if (ds->x8 != NULL) {
        const uint8_t *x = ds->x8;
#pragma omp simd reduction(| : bad)
        for (size_t k = 0; k < total; k++)
            bad |= binary & (x[k] != 0) & (x[k] != 255);
    } else {
        const float *x = ds->x;
#pragma omp simd reduction(| : bad)
        for (size_t k = 0; k < total; k++)
            bad |= (x[k] != x[k]) | (x[k] < 0.0f) | (x[k] > 1.0f) | (binary & (x[k] != 0.0f) & (x[k] != 1.0f));
    }
    if (!bad)
        return AW_OK;
    for (size_t k = 0; k < total; k++) {
        float v = aw_dataset_value(ds, k);
        if (!(v >= 0.0f && v <= 1.0f))
            return aw_error_set(err, AW_EFORMAT, "%s: %s: image %zu pixel %zu is %g, expected a value in [0,1]",
                                ds->source, where, k / ds->dim, k % ds->dim, (double)v);
        if (binary && v != 0.0f && v != 1.0f)
            return aw_error_set(err, AW_EFORMAT, "%s: %s: image %zu pixel %zu is %g, expected 0 or 1 because "
                                "binarize is 'fixed'", ds->source, where, k / ds->dim, k % ds->dim, (double)v);
    }
    return AW_OK;
}

/* An IDX image file's shape: N x rows x cols or N x pixels. */
static int check_image_shape(const aw_idx_t *im, const char *img_path, aw_error_t *err)
{
    char shape[AW_IDX_MAX_DIMS * 12];
    if ((im->ndim != 2 && im->ndim != 3) || im->item == 0 || im->item > (size_t)1 << 24)
        return aw_error_set(err, AW_EFORMAT, "%s: offset 3: images of shape %s, expected N x rows x cols or N x "
                            "pixels with 1..%d pixels per image", img_path, aw_idx_shape(im, shape, sizeof shape),
                            1 << 24);
    return AW_OK;
}

/* An IDX label file's shape: one unsigned byte per image of im. */
static int check_label_shape(const aw_idx_t *lb, const aw_idx_t *im, const char *lab_path, const char *img_path,
                             aw_error_t *err)
{
    if (lb->ndim != 1 || lb->type != AW_IDX_U8)
        return aw_error_set(err, AW_EFORMAT, "%s: offset 0: labels are %d-D %s, expected 1-D unsigned byte "
                            "(magic 0x00000801)", lab_path, lb->ndim, aw_idx_type_name(lb->type));
    if (lb->dims[0] != im->dims[0])
        return aw_error_set(err, AW_EFORMAT, "%s: offset 4: %u labels, expected %u to match the images in %s",
                            lab_path, (unsigned)lb->dims[0], (unsigned)im->dims[0], img_path);
    return AW_OK;
}

/* Loads images (and optional labels) from an IDX pair. */
static int load_idx_pair(const char *img_path, const char *lab_path, long size, const char *key,
                         const char *split, int mnist_labels, aw_dataset_t *out, aw_error_t *err)
{
    aw_idx_t im, lb;
    memset(&lb, 0, sizeof lb);
    int rc = aw_idx_read(img_path, &im, err);
    if (rc != AW_OK)
        return rc;
    if ((rc = check_image_shape(&im, img_path, err)) != AW_OK)
        goto done;
    if (im.ndim == 3) {
        out->rows = (int)im.dims[1];
        out->cols = (int)im.dims[2];
    } else if (im.ndim == 2) {
        /* N x D: square images if D is a square, else one row of D pixels. */
        int s = (int)lround(sqrt((double)im.dims[1]));
        out->rows = (uint32_t)s * (uint32_t)s == im.dims[1] ? s : 1;
        out->cols = (int)(im.dims[1] / (uint32_t)out->rows);
    }
    size_t take = 0;
    rc = take_count(size, key, split, im.dims[0], img_path, &take, err);
    if (rc != AW_OK)
        goto done;
    out->dim = im.item;
    snprintf(out->source, sizeof out->source, "%s", img_path);
    if (im.type == AW_IDX_U8 && im.buf.data != NULL) { /* kept as bytes (MNIST): the file's own buffer */
        const size_t bytes = take * out->dim;
        memmove(im.buf.data, im.data, bytes);
        uint8_t *shrunk = bytes > 0 && bytes < im.buf.size ? realloc(im.buf.data, bytes) : NULL;
        out->x8 = shrunk != NULL ? shrunk : im.buf.data;
        im.buf.data = NULL;
        im.buf.size = 0;
        out->n = take;
    } else {
        out->x = malloc(take * out->dim * sizeof *out->x);
        if (out->x == NULL) {
            rc = aw_error_set(err, AW_ENOMEM, "cannot allocate %zu images of %zu pixels", take, out->dim);
            goto done;
        }
        out->n = take;
        rc = aw_idx_to_float(&im, 0, take, out->x, err);
        if (rc != AW_OK) {
            aw_error_prefix(err, "%s", img_path);
            goto done;
        }
    }
    if (lab_path != NULL) {
        rc = aw_idx_read(lab_path, &lb, err);
        if (rc != AW_OK)
            goto done;
        if ((rc = check_label_shape(&lb, &im, lab_path, img_path, err)) != AW_OK)
            goto done;
        for (size_t i = 0; i < take && mnist_labels; i++)
            if (lb.data[i] > 9) {
                rc = aw_error_set(err, AW_EFORMAT, "%s: offset %zu: label %u, expected 0..9", lab_path, 8 + i,
                                  lb.data[i]);
                goto done;
            }
        out->labels = malloc(take ? take : 1);
        if (out->labels == NULL) {
            rc = aw_error_set(err, AW_ENOMEM, "cannot allocate %zu labels", take);
            goto done;
        }
        memcpy(out->labels, lb.data, take);
    }
done:
    aw_idx_fini(&im);
    aw_idx_fini(&lb);
    return rc;
}

/* MNIST's files, [0] test and [1] train: a plain file (data/fetch keeps one beside each .gz) first, as it
 * loads in a third of the time that inflating the .gz takes (0.035 against 0.095 s for the training
 * images). */
static const file_names_t MNIST_IMAGES[2] = {
    {"test images", {"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte", "t10k-images-idx3-ubyte.gz", NULL}},
    {"train images", {"train-images-idx3-ubyte", "train-images.idx3-ubyte", "train-images-idx3-ubyte.gz", NULL}}};
static const file_names_t MNIST_LABELS[2] = {
    {"test labels", {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte", "t10k-labels-idx1-ubyte.gz", NULL}},
    {"train labels", {"train-labels-idx1-ubyte", "train-labels.idx1-ubyte", "train-labels-idx1-ubyte.gz", NULL}}};
static const file_names_t OMNIGLOT_FILE = {"chardata.mat (Omniglot, optional; see data/README.md)",
                                           {"chardata.mat", NULL}};

/* Binarized MNIST's file of a split: fn names name[64] and what[32]. */
static void binarized_names(const char *split, file_names_t *fn, char *name, char *what)
{
    memset(fn, 0, sizeof *fn);
    snprintf(name, 64, "binarized_mnist_%s.mat", split);
    snprintf(what, 32, "%s images", split);
    fn->what = what;
    fn->names[0] = name;
}

static int load_mnist(const aw_data_opts_t *o, int train, long size, const char *key, const char *split,
                      aw_dataset_t *out, aw_error_t *err)
{
    char ip[PATH_MAX_LEN], lp[PATH_MAX_LEN];
    int rc = find_file(o, "mnist/", &MNIST_IMAGES[train], ip, err);
    if (rc == AW_OK)
        rc = find_file(o, "mnist/", &MNIST_LABELS[train], lp, err);
    if (rc != AW_OK)
        return rc;
    return load_idx_pair(ip, lp, size, key, split, 1, out, err);
}

static int load_binarized(const aw_data_opts_t *o, const char *split, long size, const char *key,
                          aw_dataset_t *out, aw_error_t *err)
{
    file_names_t fn;
    char name[64], what[32];
    binarized_names(split, &fn, name, what);
    char path[PATH_MAX_LEN];
    int rc = find_file(o, "binarized_mnist/", &fn, path, err);
    if (rc != AW_OK)
        return rc;
    aw_mat_var_t v;
    rc = aw_mat_read(path, "X", AW_MAT_ROW_MAJOR, &v, err);
    if (rc != AW_OK)
        return rc;
    if (v.cols != 784) {
        rc = aw_error_set(err, AW_EFORMAT, "%s: variable 'X' is %zu x %zu, expected N x 784 (one 28x28 image per "
                          "row)", path, v.rows, v.cols);
        aw_mat_var_fini(&v);
        return rc;
    }
    size_t take = 0;
    rc = take_count(size, key, split, v.rows, path, &take, err);
    if (rc != AW_OK) {
        aw_mat_var_fini(&v);
        return rc;
    }
    /* Row-major [N, 784]: the first take images are a prefix; keep the buffer. */
    out->x = v.data;
    v.data = NULL;
    if (take < v.rows) {
        float *shrunk = realloc(out->x, take * 784 * sizeof *shrunk);
        if (shrunk != NULL)
            out->x = shrunk;
    }
    out->n = take;
    out->dim = 784;
    out->rows = out->cols = 28;
    snprintf(out->source, sizeof out->source, "%s", path);
    aw_mat_var_fini(&v);
    return AW_OK;
}

static int load_omniglot(const aw_data_opts_t *o, int train, long size, const char *key, const char *split,
                         aw_dataset_t *out, aw_error_t *err)
{
    char path[PATH_MAX_LEN];
    int rc = find_file(o, "omniglot/", &OMNIGLOT_FILE, path, err);
    if (rc != AW_OK)
        return rc;
    const char *var = train ? "data" : "testdata";
    aw_mat_var_t v;
    rc = aw_mat_read(path, var, AW_MAT_COL_MAJOR, &v, err);
    if (rc != AW_OK)
        return rc;
    size_t d = OMNI_SIDE * OMNI_SIDE, take = 0;
    if (v.rows != d) {
        rc = aw_error_set(err, AW_EFORMAT, "%s: variable '%s' is %zu x %zu, expected 784 x N (one 28x28 image "
                          "per column)", path, var, v.rows, v.cols);
        goto done;
    }
    rc = take_count(size, key, split, v.cols, path, &take, err);
    if (rc != AW_OK)
        goto done;
    out->x = malloc(take * d * sizeof *out->x);
    if (out->x == NULL) {
        rc = aw_error_set(err, AW_ENOMEM, "cannot allocate %zu images of %zu pixels", take, d);
        goto done;
    }
    /* Column i is image i, its 784 values column-major (pixel (r, c) at r + 28c): transpose to row-major. */
#pragma omp parallel for schedule(static) if (take > 1000)
    for (size_t i = 0; i < take; i++) {
        const float *src = v.data + i * d;
        float *dst = out->x + i * d;
        for (size_t r = 0; r < OMNI_SIDE; r++)
            for (size_t c = 0; c < OMNI_SIDE; c++)
                dst[r * OMNI_SIDE + c] = src[r + c * OMNI_SIDE];
    }
    out->n = take;
    out->dim = d;
    out->rows = out->cols = OMNI_SIDE;
    snprintf(out->source, sizeof out->source, "%s", path);
done:
    aw_mat_var_fini(&v);
    return rc;
}

/* Which split: *train, *valid, the requested *size of it and its spec key; AW_EARG for a split the dataset
 * does not have. */
static int split_of(const aw_data_opts_t *opts, const char *split, int *train, int *valid, long *size,
                    const char **key, aw_error_t *err)
{
    const char *name = opts->name ? opts->name : "";
    int binm = strcmp(name, "binarized_mnist") == 0;
    *train = strcmp(split, "train") == 0;
    *valid = strcmp(split, "valid") == 0;
    if (!*train && strcmp(split, "test") != 0 && !(*valid && binm))
        return aw_error_set(err, AW_EARG, "split '%s' of dataset '%s', expected 'train' or 'test'%s", split, name,
                            binm ? " or 'valid'" : "");
    *size = *valid ? 0 : *train ? opts->train_size : opts->test_size; /* the valid split is always loaded whole */
    *key = *train ? "train_size" : "test_size";
    return AW_OK;
}

int aw_data_load(const aw_data_opts_t *opts, const char *split, aw_dataset_t *out, aw_error_t *err)
{
    if (out == NULL || opts == NULL || split == NULL)
        return aw_error_set(err, AW_EARG, "aw_data_load: NULL argument");
    memset(out, 0, sizeof *out);
    const char *name = opts->name ? opts->name : "";
    int train, valid, binm = strcmp(name, "binarized_mnist") == 0;
    long size;
    const char *key;
    int rc = split_of(opts, split, &train, &valid, &size, &key, err);
    if (rc != AW_OK)
        return rc;
    const char *where = "images";
    if (strcmp(name, "mnist") == 0) {
        rc = load_mnist(opts, train, size, key, split, out, err);
    } else if (binm) {
        rc = load_binarized(opts, split, size, key, out, err);
        where = "variable 'X'";
    } else if (strcmp(name, "omniglot") == 0) {
        rc = load_omniglot(opts, train, size, key, split, out, err);
        where = train ? "variable 'data'" : "variable 'testdata'";
    } else if (strcmp(name, "idx") == 0) {
        const char *ip = train ? opts->train_images : opts->test_images;
        const char *lp = train ? opts->train_labels : opts->test_labels;
        if (ip == NULL || ip[0] == '\0')
            return aw_error_set(err, AW_ESPEC, "dataset 'idx' needs dataset.%s_images (a path to an IDX file)",
                                split);
        rc = load_idx_pair(ip, lp && lp[0] ? lp : NULL, size, key, split, 0, out, err);
    } else {
        char names[256];
        dataset_list(names, sizeof names);
        return aw_error_set(err, AW_ESPEC, "dataset.name is '%s', expected %s", name, names);
    }
    if (rc == AW_OK)
        rc = check_values(out, opts->bin != NULL && opts->bin->kind == AW_BIN_FIXED, where, err);
    if (rc != AW_OK)
        aw_dataset_fini(out);
    return rc;
}

/* ---- checking before any work ---- */

/* Adds path, its size and its modification time to fp (when not NULL). */
static int note_file(const char *path, aw_sha256_t *fp, aw_error_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return aw_error_set(err, AW_EIO, "%s: cannot stat (%s)", path, strerror(errno));
    if (fp != NULL) {
        char line[PATH_MAX_LEN + 64];
        int w = snprintf(line, sizeof line, "%s\t%lld\t%lld.%09ld\n", path, (long long)st.st_size,
                         (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
        aw_sha256_update(fp, line, w > 0 && (size_t)w < sizeof line ? (size_t)w : strlen(line));
    }
    return AW_OK;
}

/* The headers of an IDX image file and its optional labels, and the requested size against its count. */
static int check_idx_pair(const char *ip, const char *lp, long size, const char *key, const char *split,
                          aw_sha256_t *fp, aw_error_t *err)
{
    aw_idx_t im, lb;
    size_t take;
    int rc = aw_idx_read_header(ip, &im, err);
    if (rc == AW_OK)
        rc = check_image_shape(&im, ip, err);
    if (rc == AW_OK)
        rc = take_count(size, key, split, im.dims[0], ip, &take, err);
    if (rc == AW_OK && lp != NULL && (rc = aw_idx_read_header(lp, &lb, err)) == AW_OK)
        rc = check_label_shape(&lb, &im, lp, ip, err);
    if (rc == AW_OK)
        rc = note_file(ip, fp, err);
    if (rc == AW_OK && lp != NULL)
        rc = note_file(lp, fp, err);
    return rc;
}

/* A MAT file's header (its variables are checked when the run loads them). */
static int check_mat(const char *path, aw_sha256_t *fp, aw_error_t *err)
{
    int rc = aw_mat_check_header(path, err);
    return rc == AW_OK ? note_file(path, fp, err) : rc;
}

int aw_data_check(const aw_data_opts_t *opts, const char *split, aw_sha256_t *fp, aw_error_t *err)
{
    if (opts == NULL || split == NULL)
        return aw_error_set(err, AW_EARG, "aw_data_check: NULL argument");
    const char *name = opts->name ? opts->name : "";
    int train, valid;
    long size;
    const char *key;
    int rc = split_of(opts, split, &train, &valid, &size, &key, err);
    if (rc != AW_OK)
        return rc;
    char ip[PATH_MAX_LEN], lp[PATH_MAX_LEN];
    if (strcmp(name, "mnist") == 0) {
        if ((rc = find_file(opts, "mnist/", &MNIST_IMAGES[train], ip, err)) == AW_OK &&
            (rc = find_file(opts, "mnist/", &MNIST_LABELS[train], lp, err)) == AW_OK)
            rc = check_idx_pair(ip, lp, size, key, split, fp, err);
    } else if (strcmp(name, "binarized_mnist") == 0) {
        file_names_t fn;
        char fname[64], what[32];
        binarized_names(split, &fn, fname, what);
        if ((rc = find_file(opts, "binarized_mnist/", &fn, ip, err)) == AW_OK)
            rc = check_mat(ip, fp, err);
    } else if (strcmp(name, "omniglot") == 0) {
        if ((rc = find_file(opts, "omniglot/", &OMNIGLOT_FILE, ip, err)) == AW_OK)
            rc = check_mat(ip, fp, err);
    } else if (strcmp(name, "idx") == 0) {
        const char *ipath = train ? opts->train_images : opts->test_images;
        const char *lpath = train ? opts->train_labels : opts->test_labels;
        if (ipath == NULL || ipath[0] == '\0')
            return aw_error_set(err, AW_ESPEC, "dataset 'idx' needs dataset.%s_images (a path to an IDX file)",
                                split);
        rc = check_idx_pair(ipath, lpath && lpath[0] ? lpath : NULL, size, key, split, fp, err);
    } else {
        char names[256];
        dataset_list(names, sizeof names);
        rc = aw_error_set(err, AW_ESPEC, "dataset.name is '%s', expected %s", name, names);
    }
    return rc;
}

void aw_dataset_fini(aw_dataset_t *ds)
{
    if (ds == NULL)
        return;
    free(ds->x);
    free(ds->x8);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

float aw_dataset_value(const aw_dataset_t *ds, size_t k)
{
    return ds->x8 != NULL ? aw_idx_u8_value(ds->x8[k]) : ds->x[k];
}

int aw_data_images(const aw_dataset_t *ds, const size_t *idx, int B, float *out)
{
    if (ds == NULL || out == NULL || B < 0 || (B > 0 && idx == NULL))
        return AW_EARG;
    const size_t d = ds->dim;
    for (int b = 0; b < B; b++)
        if (idx[b] >= ds->n)
            return AW_EARG;
    if (ds->x8 == NULL) {
        for (int b = 0; b < B; b++)
            memcpy(out + (size_t)b * d, ds->x + idx[b] * d, d * sizeof *out);
        return AW_OK;
    }
#pragma omp parallel for schedule(static) if ((size_t)B * d > 65536)
    for (int b = 0; b < B; b++) {
        const uint8_t *s = ds->x8 + idx[b] * d;
        float *o = out + (size_t)b * d;
#pragma omp simd
        for (size_t j = 0; j < d; j++)
            o[j] = aw_idx_u8_value(s[j]); /* a correctly rounded division, in vector registers */
    }
    return AW_OK;
}

int aw_data_batch(const aw_dataset_t *ds, const size_t *idx, int B, const aw_binarize_t *bin, aw_rng_t *rng,
                  float *out)
{
    if (ds == NULL || bin == NULL || out == NULL || B < 0 || (B > 0 && idx == NULL))
        return AW_EARG;
    if (bin->kind == AW_BIN_DYNAMIC && rng == NULL)
        return AW_EARG;
    int rc = aw_data_images(ds, idx, B, out);
    if (rc != AW_OK)
        return rc;
    size_t total = (size_t)B * ds->dim;
    switch (bin->kind) {
    case AW_BIN_DYNAMIC:
        aw_rng_fill_bernoulli(rng, out, out, total);
        break;
    case AW_BIN_FIXED:
        break;
    case AW_BIN_THRESHOLD:
        for (size_t k = 0; k < total; k++)
            out[k] = out[k] > bin->threshold ? 1.0f : 0.0f;
        break;
    default:
        return AW_EARG;
    }
    return AW_OK;
}

int aw_binarize_parse(const char *text, aw_binarize_t *bin, aw_error_t *err)
{
    if (text == NULL || bin == NULL)
        return aw_error_set(err, AW_EARG, "aw_binarize_parse: NULL argument");
    if (strcmp(text, "dynamic") == 0) {
        bin->kind = AW_BIN_DYNAMIC;
        bin->threshold = 0.0f;
        return AW_OK;
    }
    if (strcmp(text, "fixed") == 0) {
        bin->kind = AW_BIN_FIXED;
        bin->threshold = 0.0f;
        return AW_OK;
    }
    char *end = NULL;
    double t = text[0] ? strtod(text, &end) : NAN;
    if (end == NULL || *end != '\0' || !(t > 0.0 && t < 1.0))
        return aw_error_set(err, AW_ESPEC, "dataset.binarize is \"%s\", expected \"dynamic\", \"fixed\" or a "
                            "threshold in (0,1) such as 0.5", text);
    bin->kind = AW_BIN_THRESHOLD;
    bin->threshold = (float)t;
    return AW_OK;
}
