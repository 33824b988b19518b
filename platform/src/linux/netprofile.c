/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telling NetworkManager about a profile file Ward changed (platform/netprofile.h), over
 * the system bus: org.freedesktop.NetworkManager.Settings.LoadConnections for a written
 * file, ReloadConnections for a removed one (a reload drops profiles whose file is gone).
 * A missing bus or a bus without NetworkManager is WARD_ENOTSUP: NetworkManager reads the
 * directory when it starts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "platform/netprofile.h"
#include "platform/sdbus.h"
#include "ward/config.h"
#include "ward/error.h"

#define NM_DEST "org.freedesktop.NetworkManager"
#define NM_SETTINGS_PATH "/org/freedesktop/NetworkManager/Settings"
#define NM_SETTINGS_IFACE "org.freedesktop.NetworkManager.Settings"
#define CALL_TIMEOUT_USEC (10ull * 1000 * 1000)

static void set_why(char *why, size_t whylen, const char *fmt, ...) WARD_PRINTF(3, 4);
static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static int root_is_live(const char *root)
{
    if (!root || !root[0])
        return 1;
    for (; *root; root++)
        if (*root != '/')
            return 0;
    return 1;
}

int plat_netprofile_reload(const char *root, const char *path, int removed, char *why,
                           size_t whylen)
{
    sd_bus *bus = NULL;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r, rc;

    if (!root_is_live(root) && !plat_sdbus_overridden()) {
        set_why(why, whylen, "root %s is not the live system: no NetworkManager to tell", root);
        return WARD_ENOTSUP;
    }
    rc = plat_sdbus_open(&bus, why, whylen);
    if (rc != 0)
        return rc;
    sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
    if (removed)
        r = sd_bus_call_method(bus, NM_DEST, NM_SETTINGS_PATH, NM_SETTINGS_IFACE,
                               "ReloadConnections", &err, &reply, "");
    else
        r = sd_bus_call_method(bus, NM_DEST, NM_SETTINGS_PATH, NM_SETTINGS_IFACE, "LoadConnections",
                               &err, &reply, "as", 1, path);
    if (r < 0) {
        if (sd_bus_error_has_name(&err, "org.freedesktop.DBus.Error.ServiceUnknown") ||
            sd_bus_error_has_name(&err, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
            set_why(why, whylen, "NetworkManager is not running");
            rc = WARD_ENOTSUP;
        } else {
            set_why(why, whylen, "NetworkManager %s: %s",
                    removed ? "ReloadConnections" : "LoadConnections",
                    err.message ? err.message : strerror(-r));
            rc = plat_sdbus_err(r);
        }
    } else {
        rc = 0;
    }
    sd_bus_error_free(&err);
    sd_bus_message_unref(reply);
    sd_bus_flush_close_unref(bus);
    return rc;
}
