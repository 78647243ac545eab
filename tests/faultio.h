/* faultio.h: failing system calls for the fault-injection test, where no SQLite VFS reaches
 * (aw_io_write_atomic's write, fsync and rename). The test program is linked with
 * -Wl,--wrap=write,--wrap=fsync,--wrap=rename, so the library's calls come here; unarmed they pass
 * through. Link-time wrapping, unlike an LD_PRELOAD shim, works under ASan. */
#ifndef AW_TEST_FAULTIO_H
#define AW_TEST_FAULTIO_H

#include <stddef.h>
#include <sys/types.h>

/* Fails the n-th write/fsync/rename from now (1-based) with errno e; n <= 0 disarms. Resets the count. */
void aw_fi_arm(long n, int e);

/* Calls counted since the last aw_fi_arm, and the one that failed ("" when none did). */
long aw_fi_count(void);
const char *aw_fi_fired_op(void);

/* The wrappers the linker substitutes for the library's calls, and the real functions. */
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);

#endif
