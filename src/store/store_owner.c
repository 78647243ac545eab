/* store_owner.c: the owner strings of run claims ("pid N on HOST") and whether their process is alive
 * (store.h). */
#include "store/store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* This machine's host name into host[n] ("unknown" when it has none). */
static void host_name(char *host, size_t n)
{
    if (gethostname(host, n) != 0)
        snprintf(host, n, "unknown");
    host[n - 1] = '\0';
}

void aw_store_owner_self(char *buf, size_t n)
{
    char host[256];
    host_name(host, sizeof host);
    snprintf(buf, n, "pid %ld on %s", (long)getpid(), host);
}

int aw_store_owner_alive(const char *owner)
{
    long pid;
    char host[256], me[256];
    if (owner == NULL || sscanf(owner, "pid %ld on %255s", &pid, host) != 2 || pid <= 0)
        return -1;
    host_name(me, sizeof me);
    if (strcmp(host, me) != 0)
        return -1;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}
