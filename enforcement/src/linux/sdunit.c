/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd units over D-Bus with sd-bus (helpers.h), never by running systemctl: the
 * Manager's GetUnitFileState for enablement, GetUnit plus the Unit's ActiveState property
 * for the running state, Enable/Disable/Mask/UnmaskUnitFiles followed by Reload for
 * changes, and StartUnit/StopUnit waiting for the job's JobRemoved signal so the engine's
 * re-check sees the finished state. The bus comes from platform/sdbus.h
 * (WARD_SYSTEM_BUS_ADDRESS overrides it; tests run python-dbusmock's systemd template).
 */
#define WARD_LOG_TAG "enf-systemd"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "helpers.h"
#include "platform/sdbus.h"
#include "ward/error.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define CALL_TIMEOUT_US (30u * 1000u * 1000u)

int enf_sd_reachable(const struct enf_ctx *ctx)
{
    return enf_root_is_live(ctx) || plat_sdbus_overridden();
}

int enf_sd_open(struct enf_ctx *ctx, struct sd_bus **bus)
{
    char why[200] = "";
    int rc = plat_sdbus_open(bus, why, sizeof(why));
    if (rc == WARD_ENOTSUP)
        enf_ctx_detail(ctx, "systemd cannot be asked: %s", why);
    if (rc == 0)
        sd_bus_set_method_call_timeout(*bus, CALL_TIMEOUT_US);
    return rc;
}

void enf_sd_close(struct sd_bus *bus)
{
    if (bus)
        sd_bus_flush_close_unref(bus);
}

int enf_sd_is_active(const char *s)
{
    return strcmp(s, "active") == 0 || strcmp(s, "activating") == 0 || strcmp(s, "reloading") == 0;
}

static int not_found(int r, const sd_bus_error *err)
{
    return r == -ENOENT || sd_bus_error_has_name(err, "org.freedesktop.systemd1.NoSuchUnit") ||
           sd_bus_error_has_name(err, "org.freedesktop.DBus.Error.FileNotFound");
}

static int fail(struct enf_ctx *ctx, const char *what, const char *unit, int r,
                const sd_bus_error *err)
{
    enf_ctx_detail(ctx, "%s %s: %s", what, unit, err && err->message ? err->message : strerror(-r));
    return plat_sdbus_err(r);
}

int enf_sd_query(struct enf_ctx *ctx, struct sd_bus *bus, const char *unit,
                 struct enf_unit_state *st)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    const char *s = NULL, *path = NULL;
    char *active = NULL;
    int r, rc = 0;

    memset(st, 0, sizeof(*st));
    r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnitFileState", &err, &reply, "s",
                           unit);
    if (r >= 0)
        r = sd_bus_message_read(reply, "s", &s);
    if (r >= 0) {
        st->exists = 1;
        snprintf(st->enablement, sizeof(st->enablement), "%s", s);
    } else if (!not_found(r, &err)) {
        rc = fail(ctx, "GetUnitFileState", unit, r, &err);
        goto out;
    }
    sd_bus_error_free(&err);
    reply = sd_bus_message_unref(reply);

    snprintf(st->active, sizeof(st->active), "inactive");
    r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &err, &reply, "s", unit);
    if (r < 0) {
        if (!not_found(r, &err)) /* not loaded: inactive */
            rc = fail(ctx, "GetUnit", unit, r, &err);
        goto out;
    }
    r = sd_bus_message_read(reply, "o", &path);
    if (r >= 0) {
        sd_bus_error_free(&err);
        r = sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "ActiveState", &err, &active);
    }
    if (r < 0) {
        rc = fail(ctx, "ActiveState of", unit, r, &err);
        goto out;
    }
    snprintf(st->active, sizeof(st->active), "%s", active);
out:
    free(active);
    sd_bus_message_unref(reply);
    sd_bus_error_free(&err);
    return rc;
}

static int unit_files_call(struct enf_ctx *ctx, sd_bus *bus, const char *method, const char *unit,
                           int with_force)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r;
    if (with_force)
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &err, &reply, "asbb", 1,
                               unit, 0, 0);
    else
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &err, &reply, "asb", 1,
                               unit, 0);
    if (r < 0)
        r = fail(ctx, method, unit, r, &err);
    else
        r = 0;
    sd_bus_message_unref(reply);
    sd_bus_error_free(&err);
    return r;
}

int enf_sd_set_enablement(struct enf_ctx *ctx, struct sd_bus *bus, const char *unit,
                          const char *want)
{
    struct enf_unit_state st;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    int rc = enf_sd_query(ctx, bus, unit, &st), r;
    int masked = strncmp(st.enablement, "masked", 6) == 0;

    if (rc != 0)
        return rc;
    if (masked && strcmp(want, "masked") != 0)
        rc = unit_files_call(ctx, bus, "UnmaskUnitFiles", unit, 0);
    if (rc == 0 && strcmp(want, "enabled") == 0) {
        if (!st.exists) {
            enf_ctx_detail(ctx, "%s is not installed", unit);
            return WARD_ENOENT;
        }
        rc = unit_files_call(ctx, bus, "EnableUnitFiles", unit, 1);
    } else if (rc == 0 && strcmp(want, "disabled") == 0) {
        if (st.exists)
            rc = unit_files_call(ctx, bus, "DisableUnitFiles", unit, 0);
    } else if (rc == 0 && strcmp(want, "masked") == 0) {
        rc = unit_files_call(ctx, bus, "MaskUnitFiles", unit, 1);
    }
    if (rc != 0)
        return rc;
    r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Reload", &err, NULL, "");
    if (r < 0)
        rc = fail(ctx, "Reload after changing", unit, r, &err);
    sd_bus_error_free(&err);
    return rc;
}

struct job_wait {
    const char *path;
    int done;
    char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    struct job_wait *w = userdata;
    const char *path, *unit, *result;
    uint32_t id;
    (void)ret_error;
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
        return 0;
    if (strcmp(path, w->path) == 0) {
        w->done = 1;
        snprintf(w->result, sizeof(w->result), "%s", result);
    }
    return 0;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int enf_sd_set_active(struct enf_ctx *ctx, struct sd_bus *bus, const char *unit, int active,
                      uint64_t timeout_ms)
{
    const char *method = active ? "StartUnit" : "StopUnit";
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    sd_bus_slot *slot = NULL;
    struct job_wait w = {0};
    const char *job = NULL;
    char jobpath[256];
    uint64_t deadline = now_us() + timeout_ms * 1000u;
    int r, rc = 0;

    /* subscribe before the call so the job cannot finish unseen */
    w.path = jobpath;
    jobpath[0] = '\0';
    r = sd_bus_match_signal(bus, &slot, NULL, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed,
                            &w);
    if (r < 0) {
        rc = fail(ctx, "JobRemoved match for", unit, r, NULL);
        goto out;
    }
    r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &err, &reply, "ss", unit,
                           "replace");
    if (r >= 0)
        r = sd_bus_message_read(reply, "o", &job);
    if (r < 0) {
        rc = fail(ctx, method, unit, r, &err);
        goto out;
    }
    snprintf(jobpath, sizeof(jobpath), "%s", job);
    while (!w.done) {
        uint64_t now = now_us();
        if (now >= deadline) {
            enf_ctx_detail(ctx, "%s %s: job %s did not finish within %llu ms", method, unit,
                           jobpath, (unsigned long long)timeout_ms);
            rc = WARD_ETIMEDOUT;
            goto out;
        }
        r = sd_bus_process(bus, NULL);
        if (r < 0) {
            rc = fail(ctx, "waiting for the job of", unit, r, NULL);
            goto out;
        }
        if (r > 0)
            continue;
        r = sd_bus_wait(bus, deadline - now);
        if (r < 0 && r != -EINTR) {
            rc = fail(ctx, "waiting for the job of", unit, r, NULL);
            goto out;
        }
    }
    if (strcmp(w.result, "done") != 0 && !(strcmp(w.result, "skipped") == 0 && !active)) {
        enf_ctx_detail(ctx, "%s %s: job %s", method, unit, w.result);
        rc = WARD_EIO;
    }
out:
    sd_bus_slot_unref(slot);
    sd_bus_message_unref(reply);
    sd_bus_error_free(&err);
    return rc;
}

int enf_sd_unit_file_present(struct enf_ctx *ctx, const char *unit, char *where, size_t len)
{
    static const char *const dirs[] = {"/etc/systemd/system", "/run/systemd/system",
                                       "/lib/systemd/system", "/usr/lib/systemd/system", NULL};
    struct plat_fs_info info;
    char p[PLAT_FS_MAX_PATH];
    for (size_t i = 0; dirs[i]; i++) {
        snprintf(p, sizeof(p), "%s/%s", dirs[i], unit);
        if (enf_file_stat(ctx, p, PLAT_FS_NOFOLLOW, &info) == 0) {
            snprintf(where, len, "%s", p);
            return 1;
        }
    }
    return 0;
}
