/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening the system D-Bus for the code that talks to systemd (inventory's services
 * collector, enforcement's service and firewall kinds), so they agree on one convention:
 * WARD_SYSTEM_BUS_ADDRESS, when set and non-empty, replaces the system bus address (tests
 * run a private dbus-daemon with python-dbusmock as systemd; this also reaches a container's
 * bus). The handle is libsystemd's sd_bus, declared here only as an incomplete type so
 * portable headers stay free of systemd; callers on Linux include <systemd/sd-bus.h>.
 * Ward does not link libsystemd: src/linux/sdbus_dl.c loads it on the first sd-bus call
 * and forwards the functions Ward uses; a newly used sd_bus_* function needs a line there.
 * Windows has no such bus: every function there returns WARD_ENOTSUP.
 */
#ifndef PLATFORM_SDBUS_H
#define PLATFORM_SDBUS_H

#include <stddef.h>

struct sd_bus;

#define PLAT_SDBUS_ENV "WARD_SYSTEM_BUS_ADDRESS"

/* 1 when WARD_SYSTEM_BUS_ADDRESS names a bus (set and non-empty). */
int plat_sdbus_overridden(void);
/* Connects to the system bus (or the overriding address) as a bus client. *out is new
 * (sd_bus_flush_close_unref). WARD_ENOTSUP when there is no bus to connect to (why, may be
 * NULL, gets the reason: "no system bus (No such file or directory)"), WARD_ENOMEM. */
int plat_sdbus_open(struct sd_bus **out, char *why, size_t whylen);
/* A Ward code for a negative errno from sd-bus (-ENOMEM -> WARD_ENOMEM, timeouts, access;
 * everything else WARD_EPROTO). */
int plat_sdbus_err(int r);

#endif
