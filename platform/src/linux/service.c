/* SPDX-License-Identifier: Apache-2.0 */
/* systemd notifications through libsystemd's sd_notify (Type=notify units). Without
 * NOTIFY_SOCKET these are no-ops that succeed, which is what a foreground run wants. */
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "platform/service.h"
#include "ward/error.h"

static int notify(const char *msg)
{
    int rc = sd_notify(0, msg);
    return rc < 0 ? WARD_EIO : 0;
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
