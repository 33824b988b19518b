/* SPDX-License-Identifier: Apache-2.0 */
/* systemd notifications (Type=notify units) with the datagram protocol of sd_notify(3),
 * which the man page documents for independent implementations: one AF_UNIX datagram of
 * "KEY=VALUE\n" lines to the socket named by $NOTIFY_SOCKET (a path, or "@name" in the
 * abstract namespace). Not linking libsystemd for this keeps its pages out of the agent.
 * Without NOTIFY_SOCKET these are no-ops that succeed, which is what a foreground run
 * wants. */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/service.h"
#include "ward/error.h"

static int notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t plen, len = strlen(msg);
    socklen_t salen;
    ssize_t n;
    int fd;

    if (!path || !*path)
        return 0;
    plen = strlen(path);
    /* Other address families (vsock:) are newer than the protocol we implement. */
    if ((path[0] != '/' && path[0] != '@') || plen < 2 || plen >= sizeof(sa.sun_path))
        return WARD_ENOTSUP;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, plen);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    /* Abstract names are exactly plen bytes long; paths are NUL-terminated. */
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return WARD_EIO;
    do {
        n = sendto(fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
    } while (n < 0 && errno == EINTR);
    close(fd);
    return n == (ssize_t)len ? 0 : WARD_EIO;
}

int plat_service_supervised(void)
{
    const char *s = getenv("NOTIFY_SOCKET");
    return s && *s;
}

int plat_service_ready(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status ? status : "running");
    return notify(msg);
}

int plat_service_status(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "STATUS=%s", status ? status : "");
    return notify(msg);
}

int plat_service_stopping(void)
{
    return notify("STOPPING=1");
}

int plat_service_reloading(void)
{
    return notify("RELOADING=1");
}

unsigned long long plat_service_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    unsigned long long v;
    if (!usec || !*usec || !plat_service_supervised())
        return 0;
    /* sd_watchdog_enabled(3): WATCHDOG_PID, when set, names the process that must ping */
    if (pid && *pid && strtoll(pid, &end, 10) != (long long)getpid())
        return 0;
    errno = 0;
    v = strtoull(usec, &end, 10);
    if (errno != 0 || *end != '\0' || usec[0] == '-')
        return 0;
    return v;
}

int plat_service_watchdog(void)
{
    return notify("WATCHDOG=1");
}

void plat_service_memory_init(void)
{
    /* The agent's threads are one loop and a few workers with short bursts: one arena
     * costs no contention worth measuring, and several keep several peaks resident. */
    mallopt(M_ARENA_MAX, 1);
    setenv("UV_THREADPOOL_SIZE", "2", 0);
}

void plat_service_memory_trim(void)
{
    malloc_trim(0);
}
