/* faultvfs.h: an SQLite VFS for the fault-injection test. It wraps the default VFS, counts every write,
 * sync and truncate made through it and fails the N-th one with a chosen errno (ENOSPC as SQLITE_FULL,
 * anything else as the matching SQLITE_IOERR_*), which sqlite3_system_errno then reports. Linked into a
 * test program, it works under the sanitizers (no LD_PRELOAD). */
#ifndef AW_TEST_FAULTVFS_H
#define AW_TEST_FAULTVFS_H

/* Registers the VFS as SQLite's default; unarmed it only counts. Returns an SQLite result code. */
int aw_fv_install(void);

/* Fails the n-th operation from now (1-based) with errno e, and no other; n <= 0 disarms. Resets the
 * count and the fired flag. */
void aw_fv_arm(long n, int e);

/* Operations counted since the last aw_fv_arm. */
long aw_fv_count(void);

/* Whether the armed fault fired; which kind of operation it hit ("write", "sync", "truncate"). */
int aw_fv_fired(void);
const char *aw_fv_fired_op(void);

#endif
