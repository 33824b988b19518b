/* SPDX-License-Identifier: Apache-2.0 */
/* Windows: service status goes through the SCM dispatcher, which the installer work adds.
 * Until the agent runs under that dispatcher nobody listens (plat_service_supervised() says
 * 0), so these are no-ops, exactly as on Linux without NOTIFY_SOCKET. */
#include <stdio.h>
#include <string.h>

#include "platform/service.h"
#include "ward/error.h"

int plat_service_supervised(void)
{
    return 0;
}

int plat_service_ready(const char *status)
{
    (void)status;
    return 0;
}

int plat_service_status(const char *status)
{
    (void)status;
    return 0;
}

int plat_service_stopping(void)
{
    return 0;
}

int plat_service_reloading(void)
{
    return 0;
}

unsigned long long plat_service_watchdog_usec(void)
{
    return 0; /* the SCM has no watchdog; recovery actions restart a crashed service */
}

int plat_service_watchdog(void)
{
    return 0;
}

int plat_service_install(const char *root, const struct plat_service_def *def, char *msg,
                         size_t msglen)
{
    (void)root;
    (void)def;
    snprintf(msg, msglen, "registering with the service control manager is not implemented yet");
    return WARD_ENOTSUP;
}

int plat_service_uninstall(const char *root, const char *name, char *msg, size_t msglen)
{
    (void)root;
    (void)name;
    snprintf(msg, msglen, "registering with the service control manager is not implemented yet");
    return WARD_ENOTSUP;
}

int plat_service_query(const char *root, const char *name, struct plat_service_info *out)
{
    (void)root;
    (void)name;
    if (out)
        memset(out, 0, sizeof(*out));
    return WARD_ENOTSUP;
}

void plat_service_memory_init(void)
{
}

void plat_service_memory_trim(void)
{
}
