/* faultvfs.c: the counting, failing VFS of faultvfs.h. Files opened through it carry the real VFS's file
 * after a small header; every method forwards to it. */
#include "faultvfs.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

typedef struct fv_file {
    sqlite3_file base;  /* pMethods = &fv_methods */
    sqlite3_file *real; /* the wrapped VFS's file, right after this header */
} fv_file_t;

static sqlite3_vfs fv_vfs;
static sqlite3_vfs *real_vfs;
static long fv_at = -1, fv_seen;
static int fv_errno, fv_hit, fv_last_errno;
static const char *fv_hit_op = "";

void aw_fv_arm(long n, int e)
{
    fv_at = n > 0 ? n : -1;
    fv_errno = e;
    fv_seen = 0;
    fv_hit = 0;
    fv_hit_op = "";
}

long aw_fv_count(void)
{
    return fv_seen;
}

int aw_fv_fired(void)
{
    return fv_hit;
}

const char *aw_fv_fired_op(void)
{
    return fv_hit_op;
}

/* Counts one operation of kind op; returns the SQLite code to fail it with, or SQLITE_OK to let it run. */
static int fv_fault(const char *op, int ioerr)
{
    if (++fv_seen != fv_at) {
        fv_last_errno = 0;
        return SQLITE_OK;
    }
    fv_hit = 1;
    fv_hit_op = op;
    fv_last_errno = fv_errno;
    errno = fv_errno;
    if (fv_errno == ENOSPC && ioerr == SQLITE_IOERR_WRITE)
        return SQLITE_FULL;
    return ioerr;
}

#define REAL(f) (((fv_file_t *)(f))->real)

static int fv_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods != NULL ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    f->pMethods = NULL;
    return rc;
}

static int fv_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int fv_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    int rc = fv_fault("write", SQLITE_IOERR_WRITE);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int fv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int rc = fv_fault("truncate", SQLITE_IOERR_TRUNCATE);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int fv_sync(sqlite3_file *f, int flags)
{
    int rc = fv_fault("sync", SQLITE_IOERR_FSYNC);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int fv_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int fv_lock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int fv_unlock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int fv_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int fv_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int fv_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int fv_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int fv_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int fv_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void fv_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int fv_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int fv_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int fv_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fv_methods = {
    3, fv_close, fv_read, fv_write, fv_truncate, fv_sync, fv_size, fv_lock, fv_unlock, fv_check_lock,
    fv_control, fv_sector, fv_device, fv_shm_map, fv_shm_lock, fv_shm_barrier, fv_shm_unmap, fv_fetch,
    fv_unfetch,
};

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    fv_file_t *w = (fv_file_t *)f;
    w->real = (sqlite3_file *)(w + 1);
    w->real->pMethods = NULL;
    int rc = real_vfs->xOpen(real_vfs, name, w->real, flags, out_flags);
    /* SQLite calls xClose whenever pMethods is set, even after a failed open. */
    f->pMethods = w->real->pMethods != NULL ? &fv_methods : NULL;
    return rc;
}

static int fv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int fv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int fv_full_path(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int fv_random(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int fv_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int fv_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

/* The errno of the injected fault until the next operation passes: what sqlite3_system_errno reports. */
static int fv_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    if (fv_last_errno != 0)
        return fv_last_errno;
    return real_vfs->xGetLastError != NULL ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int fv_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int aw_fv_install(void)
{
    if (real_vfs != NULL)
        return SQLITE_OK;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK)
        return rc;
    real_vfs = sqlite3_vfs_find(NULL);
    if (real_vfs == NULL || real_vfs->iVersion < 2)
        return SQLITE_ERROR;
    fv_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(fv_file_t) + real_vfs->szOsFile,
        .mxPathname = real_vfs->mxPathname,
        .zName = "aw_fault",
        .xOpen = fv_open,
        .xDelete = fv_delete,
        .xAccess = fv_access,
        .xFullPathname = fv_full_path,
        .xDlOpen = real_vfs->xDlOpen,
        .xDlError = real_vfs->xDlError,
        .xDlSym = real_vfs->xDlSym,
        .xDlClose = real_vfs->xDlClose,
        .xRandomness = fv_random,
        .xSleep = fv_sleep,
        .xCurrentTime = fv_time,
        .xGetLastError = fv_last_error,
        .xCurrentTimeInt64 = fv_time64,
    };
    return sqlite3_vfs_register(&fv_vfs, 1);
}
