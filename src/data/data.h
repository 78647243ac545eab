/* data.h: datasets by name (mnist, binarized_mnist, omniglot, a generic IDX pair), where their files
 * are found, and minibatch assembly with dynamic, fixed or threshold binarization.
 *
 * Dimension letters: B images in a batch, D pixels per image (rows * cols).
 *
 * Pixel order: every dataset is returned with each image's pixels row-major (pixel (r, c) at r*cols + c),
 * as in the IDX files. Omniglot's chardata.mat stores each 28x28 image as a MATLAB column, i.e. column-major
 * (pixel (r, c) at r + 28*c); the loader transposes every image to row-major, as IWAE's loader does
 * (reshape(..., order='fortran')), so Omniglot digits are drawn upright like MNIST ones.
 *
 * Search path: the files are looked for under ONE base directory, the first that is set of
 * opts->dir (the spec's dataset.dir), $AIWAE_DATA_DIR, and ./data. Within it each dataset tries its own
 * subdirectory first, then the base itself (see data/README.md for the exact names). The not-found error
 * lists every path tried. */
#ifndef AW_DATA_H
#define AW_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/rng.h"
#include "util/sha256.h"

/* ---- the named datasets ---- */

/* The dataset names aw_data_load knows, NULL-terminated, in table order (the paper's, mnist and
 * omniglot, first; then binarized_mnist and idx): what dataset.name may be. */
const char *const *aw_dataset_names(void);

/* Position of name in aw_dataset_names(), or -1 when it is none of them (or NULL). */
int aw_dataset_index(const char *name);

/* What tables call a dataset: "MNIST", "Omniglot", "Binarized MNIST"; idx (named by its files) and
 * a name not in the table are their own title. */
const char *aw_dataset_title(const char *name);

/* How aw_data_batch turns intensities into binary pixels. */
typedef enum {
    AW_BIN_DYNAMIC,  /* a fresh Bernoulli(x) draw every time an image is used */
    AW_BIN_FIXED,    /* the data already holds 0/1 (verified at load time) and is used as it is */
    AW_BIN_THRESHOLD /* x > threshold */
} aw_binarize_kind_t;

/* A binarization choice, parsed from the spec's dataset.binarize. */
typedef struct aw_binarize {
    aw_binarize_kind_t kind; /* which rule */
    float threshold;         /* AW_BIN_THRESHOLD only: pixels with x > threshold become 1; in (0,1) */
} aw_binarize_t;

/* What to load. Zero-initialise and set the fields that apply; strings are borrowed for the call. */
typedef struct aw_data_opts {
    const char *name;         /* "mnist" | "omniglot" | "binarized_mnist" | "idx" */
    const char *dir;          /* base directory from the spec (dataset.dir) or NULL */
    const char *train_images; /* name "idx": image file of the train split (IDX, gzip or plain) */
    const char *train_labels; /* name "idx": its labels, or NULL */
    const char *test_images;  /* name "idx": image file of the test split */
    const char *test_labels;  /* name "idx": its labels, or NULL */
    long train_size;          /* <= 0: the whole train split; else its first train_size images */
    long test_size;           /* <= 0: the whole test (and valid) split; else its first test_size images */
    const aw_binarize_t *bin; /* NULL or the run's binarization: with AW_BIN_FIXED, loading fails unless every
                                 value is exactly 0 or 1 */
} aw_data_opts_t;

/* A loaded split. */
typedef struct aw_dataset {
    size_t n, dim;       /* images, pixels per image (dim == rows * cols) */
    int rows, cols;      /* image shape (28, 28 for all the named datasets) */
    float *x;            /* [n, dim] intensities in [0,1], pixels row-major; owned; NULL where x8 holds them */
    uint8_t *x8;         /* [n, dim] the 8-bit intensities of an 8-bit IDX file (MNIST), value k meaning
                            aw_idx_u8_value(k) = k / 255, kept as they are (a quarter of the memory, nothing
                            to convert or check at load); owned; NULL for the other files */
    uint8_t *labels;     /* [n] class labels or NULL (only mnist and idx with label files have them); owned */
    char source[4096];   /* file the images came from */
} aw_dataset_t;

/* Loads the split ("train" or "test"; binarized_mnist also "valid") of the dataset opts describes into
 * out (owned by the caller; release with aw_dataset_fini). Every value is checked to lie in [0,1] (and to
 * be 0 or 1 when opts->bin is AW_BIN_FIXED). Errors: AW_ESPEC for an unknown name, a missing idx path or a
 * size larger than the split; AW_EARG for an unknown split; AW_EIO when no file is found (the message lists
 * every path tried) or cannot be read; AW_EFORMAT / AW_ENOTFOUND for malformed files, naming the file and
 * the offset or variable. */
int aw_data_load(const aw_data_opts_t *opts, const char *split, aw_dataset_t *out, aw_error_t *err);

/* What a run checks before any work: finds the files of the split as aw_data_load does and reads only their
 * headers (IDX: magic, dimensions, a plain file's length, the labels' count, dataset.*_size against the
 * images; MAT: the level-5 file header), without loading the images. Adds each file's path, size and
 * modification time to fp (may be NULL): a fingerprint that changes when the data do. Errors as
 * aw_data_load's; a missing file's message says which data/fetch call fetches it. */
int aw_data_check(const aw_data_opts_t *opts, const char *split, aw_sha256_t *fp, aw_error_t *err);

/* Frees what aw_data_load allocated and zeroes ds. Safe on a zeroed dataset. */
void aw_dataset_fini(aw_dataset_t *ds);

/* Intensity k of image k / dim, pixel k % dim, from x or x8. k < n * dim. */
float aw_dataset_value(const aw_dataset_t *ds, size_t k);

/* out [B, dim] = the intensities of the images idx[0..B) as floats. Returns 0, or AW_EARG for a NULL
 * argument, B < 0 or an index >= ds->n. */
int aw_data_images(const aw_dataset_t *ds, const size_t *idx, int B, float *out);

/* out [B, dim] = the images idx[0..B) (aw_data_images) binarized: dynamic = Bernoulli(x) drawn from rng (one
 * aw_rng_fill_bernoulli call over the whole batch, so the draws depend only on rng's state and B), fixed =
 * x as it is, threshold = x > t. rng may be NULL unless the kind is dynamic. Returns 0, or AW_EARG for a
 * NULL argument, B < 0 or an index >= ds->n. */
int aw_data_batch(const aw_dataset_t *ds, const size_t *idx, int B, const aw_binarize_t *bin, aw_rng_t *rng,
                  float *out);

/* Parses "dynamic" | "fixed" | a number in (0,1) (a threshold) into bin; AW_ESPEC with a message quoting
 * the text otherwise. */
int aw_binarize_parse(const char *text, aw_binarize_t *bin, aw_error_t *err);

/* Writes the base directory the search path picks for opts (opts->dir, else $AIWAE_DATA_DIR, else "data")
 * into buf[n]; returns buf. */
const char *aw_data_base_dir(const aw_data_opts_t *opts, char *buf, size_t n);

#endif
