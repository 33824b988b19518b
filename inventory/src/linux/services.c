/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux services collector: systemd service units through the D-Bus API with sd-bus
 * (never by running systemctl). ListUnits gives the loaded units' load/active/sub states,
 * ListUnitFiles the installed unit files' enablement; a unit file that is not loaded
 * shows as load_state "not-loaded", active_state "inactive". The system bus address can
 * be overridden with WARD_SYSTEM_BUS_ADDRESS (platform/sdbus.h; tests run a private bus); without a
 * bus the section reports WARD_ENOTSUP "no system bus" and the other sections are unaffected. Under
 * --root the fixture's services cannot be asked, which is WARD_ENOTSUP too.
 */
#define WARD_LOG_TAG "inv-svc"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "../collector.h"
#include "lxfs.h"
#include "platform/sdbus.h"
#include "ward/error.h"

#define SVC_MAX 100000

static int bus_err(int r)
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

static int is_service(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && strcmp(name + n - 8, ".service") == 0;
}

static int open_bus(struct inv_ctx *ctx, sd_bus **out)
{
    char why[200] = "";
    int rc = plat_sdbus_open(out, why, sizeof(why)); /* shared with enforcement */
    if (rc == WARD_ENOTSUP)
        return inv_ctx_fail(ctx, WARD_ENOTSUP, "%s", why);
    return rc;
}

static int list_units(struct inv_ctx *ctx, sd_bus *bus, json_t *by_name)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    const char *name, *desc, *load, *active, *sub, *following, *path, *jtype, *jpath;
    uint32_t jid;
    size_t n = 0;
    int r, rc = 0;

    r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "ListUnits", &err, &reply, "");
    if (r < 0) {
        rc = inv_ctx_fail(ctx, r == -ENOENT || r == -ECONNREFUSED ? WARD_ENOTSUP : bus_err(r),
                          "ListUnits: %s", err.message ? err.message : strerror(-r));
        goto out;
    }
    r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
    while (r >= 0) {
        json_t *row;
        r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active, &sub,
                                &following, &path, &jid, &jtype, &jpath);
        if (r <= 0)
            break;
        if (!is_service(name))
            continue;
        if (++n > SVC_MAX || inv_ctx_expired(ctx)) {
            ctx->partial = 1;
            rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "ListUnits: over budget or too many units");
            goto out;
        }
        row = json_object();
        if (!row) {
            rc = WARD_ENOMEM;
            goto out;
        }
        rc = inv_row_str(row, "name", name);
        if (rc == 0)
            rc = inv_row_str(row, "description", desc);
        if (rc == 0)
            rc = inv_row_str(row, "load_state", load);
        if (rc == 0)
            rc = inv_row_str(row, "active_state", active);
        if (rc == 0)
            rc = inv_row_str(row, "sub_state", sub);
        if (rc == 0 && json_object_get(row, "name") && json_object_set(by_name, name, row) != 0)
            rc = WARD_ENOMEM;
        json_decref(row);
        if (rc != 0)
            goto out;
    }
    if (r < 0)
        rc = inv_ctx_fail(ctx, WARD_EPROTO, "ListUnits: bad reply: %s", strerror(-r));
out:
    sd_bus_message_unref(reply);
    sd_bus_error_free(&err);
    return rc;
}

static int list_unit_files(struct inv_ctx *ctx, sd_bus *bus, json_t *by_name)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    const char *path, *state;
    size_t n = 0;
    int r, rc = 0;

    r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "ListUnitFiles", &err, &reply, "");
    if (r < 0) {
        rc = inv_ctx_fail(ctx, bus_err(r), "ListUnitFiles: %s",
                          err.message ? err.message : strerror(-r));
        goto out;
    }
    r = sd_bus_message_enter_container(reply, 'a', "(ss)");
    while (r >= 0) {
        const char *name;
        json_t *row;
        r = sd_bus_message_read(reply, "(ss)", &path, &state);
        if (r <= 0)
            break;
        name = strrchr(path, '/');
        name = name ? name + 1 : path;
        if (!is_service(name))
            continue;
        if (++n > SVC_MAX || inv_ctx_expired(ctx)) {
            rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "ListUnitFiles: over budget or too many");
            goto out;
        }
        row = json_object_get(by_name, name);
        if (!row) {
            row = json_object();
            if (!row || json_object_set_new(by_name, name, row) != 0) {
                rc = WARD_ENOMEM;
                goto out;
            }
            rc = inv_row_str(row, "name", name);
            if (rc == 0)
                rc = inv_row_str(row, "load_state", "not-loaded");
            if (rc == 0)
                rc = inv_row_str(row, "active_state", "inactive");
            if (rc != 0)
                goto out;
        }
        rc = inv_row_str(row, "enabled", state);
        if (rc != 0)
            goto out;
    }
    if (r < 0)
        rc = inv_ctx_fail(ctx, WARD_EPROTO, "ListUnitFiles: bad reply: %s", strerror(-r));
out:
    sd_bus_message_unref(reply);
    sd_bus_error_free(&err);
    return rc;
}

static int collect_services(struct inv_ctx *ctx)
{
    sd_bus *bus = NULL;
    json_t *by_name = NULL, *arr, *row;
    const char *k;
    int rc, rc2;

    if (!ctx->live && !plat_sdbus_overridden())
        return inv_ctx_fail(ctx, WARD_ENOTSUP, "services of a --root tree cannot be asked");
    arr = inv_ctx_table(ctx, &inv_t_services);
    by_name = json_object();
    if (!arr || !by_name) {
        json_decref(by_name);
        return WARD_ENOMEM;
    }
    rc = open_bus(ctx, &bus);
    if (rc != 0)
        goto out;
    /* A hung systemd must not hang the inventory: each call may take the whole budget. */
    sd_bus_set_method_call_timeout(bus, (uint64_t)ctx->collector->budget_ms * 1000u);
    rc = list_units(ctx, bus, by_name);
    if (rc == 0 || ctx->partial) {
        rc2 = list_unit_files(ctx, bus, by_name);
        if (rc == 0 && rc2 != 0) {
            /* the loaded units are right even without enablement */
            ctx->partial = rc2 != WARD_ENOMEM;
            rc = rc2;
        }
    }
    json_object_foreach(by_name, k, row) if (json_array_append(arr, row) != 0)
    {
        rc = WARD_ENOMEM;
        break;
    }
out:
    json_decref(by_name);
    sd_bus_flush_close_unref(bus);
    return rc;
}

const struct inv_collector inv_lx_services = {
    .name = "services",
    .section = &inv_sec_services,
    .collect = collect_services,
    .budget_ms = 2000,
    .cheap = 0,
};
