/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The system bus through libsystemd's sd-bus, with the WARD_SYSTEM_BUS_ADDRESS override
 * (platform/sdbus.h). Without the override sd_bus_open_system honours
 * DBUS_SYSTEM_BUS_ADDRESS and falls back to /run/dbus/system_bus_socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "platform/sdbus.h"
#include "ward/error.h"

int plat_sdbus_overridden(void)
{
    const char *addr = getenv(PLAT_SDBUS_ENV);
    return addr && addr[0];
}

int plat_sdbus_open(struct sd_bus **out, char *why, size_t whylen)
{
    const char *addr = getenv(PLAT_SDBUS_ENV);
    sd_bus *bus = NULL;
    int r;

    *out = NULL;
    if (addr && addr[0]) {
        r = sd_bus_new(&bus);
        if (r >= 0)
            r = sd_bus_set_address(bus, addr);
        if (r >= 0)
            r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
            r = sd_bus_start(bus);
    } else {
        r = sd_bus_open_system(&bus);
    }
    if (r < 0) {
        sd_bus_unref(bus);
        if (r == -ENOMEM)
            return WARD_ENOMEM;
        if (why && whylen)
            snprintf(why, whylen, "no system bus (%s)", strerror(-r));
        return WARD_ENOTSUP;
    }
    *out = bus;
    return 0;
}

int plat_sdbus_err(int r)
{
    switch (-r) {
    case ENOMEM:
        return WARD_ENOMEM;
    case ETIMEDOUT:
        return WARD_ETIMEDOUT;
    case EACCES:
    case EPERM:
        return WARD_EACCES;
    default:
        return WARD_EPROTO;
    }
}
