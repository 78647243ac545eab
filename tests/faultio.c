/* faultio.c: the wrappers of faultio.h. */
#include "faultio.h"

#include <errno.h>

static long fi_at = -1, fi_seen;
static int fi_errno;
static const char *fi_op = "";

void aw_fi_arm(long n, int e)
{
    fi_at = n > 0 ? n : -1;
    fi_errno = e;
    fi_seen = 0;
    fi_op = "";
}

long aw_fi_count(void)
{
    return fi_seen;
}

const char *aw_fi_fired_op(void)
{
    return fi_op;
}

/* Counts one call of kind op; 1 when it is the one to fail (errno set). */
static int fi_fault(const char *op)
{
    if (++fi_seen != fi_at)
        return 0;
    fi_op = op;
    errno = fi_errno;
    return 1;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    return fi_fault("write") ? -1 : __real_write(fd, buf, n);
}

int __wrap_fsync(int fd)
{
    return fi_fault("fsync") ? -1 : __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to)
{
    return fi_fault("rename") ? -1 : __real_rename(from, to);
}
