/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sessions, lock, reboot and power-off through systemd-logind's D-Bus API (never by running
 * loginctl or systemctl), and the boot id from procfs (platform/power.h). Every call opens
 * its own connection with plat_sdbus_open and closes it before returning: sd-bus
 * connections must not be shared between threads, and these run on worker threads.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "platform/fs.h"
#include "platform/power.h"
#include "platform/sdbus.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/error.h"

#define LOGIND_DEST "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER "org.freedesktop.login1.Manager"
#define LOGIND_SESSION "org.freedesktop.login1.Session"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define UUID_LEN 36

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

/* The error's own message, else the errno's text (strerror_r: strerror is not MT-safe). */
static const char *err_text(int r, const sd_bus_error *err, char *buf, size_t len)
{
    if (err && err->message && err->message[0])
        return err->message;
    return strerror_r(-r, buf, len);
}

/* Nobody owns logind's name on this bus: a container or a machine without systemd. */
static int no_logind(const sd_bus_error *err)
{
    return sd_bus_error_has_name(err, "org.freedesktop.DBus.Error.ServiceUnknown") ||
           sd_bus_error_has_name(err, "org.freedesktop.DBus.Error.NameHasNoOwner");
}

/* The Ward code for a failed call of `what`, with why filled in. */
static int call_failed(const char *what, int r, const sd_bus_error *err, char *why, size_t whylen)
{
    char buf[128];
    const char *text = err_text(r, err, buf, sizeof(buf));
    if (no_logind(err)) {
        set_why(why, whylen, "systemd-logind is not available on the system bus (%s)", text);
        return WARD_ENOTSUP;
    }
    set_why(why, whylen, "logind %s: %s", what, text);
    return plat_sdbus_err(r);
}

static int open_bus(sd_bus **bus, char *why, size_t whylen)
{
    int rc = plat_sdbus_open(bus, why, whylen);
    if (rc == WARD_ENOMEM)
        set_why(why, whylen, "out of memory opening the system bus");
    if (rc != 0)
        return rc;
    /* Every method call below, property reads included, inherits this bound. */
    sd_bus_set_method_call_timeout(*bus, (uint64_t)PLAT_POWER_CALL_TIMEOUT_MS * 1000u);
    return 0;
}

static void close_bus(sd_bus *bus)
{
    if (bus)
        sd_bus_flush_close_unref(bus);
}

/* Copies s into dst[size] or fails: an id cut short would name another session. */
static int copy_field(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size)
        return WARD_ETOOBIG;
    memcpy(dst, s, n + 1);
    return 0;
}

static int is_graphical(const char *type)
{
    return strcmp(type, "x11") == 0 || strcmp(type, "wayland") == 0 || strcmp(type, "mir") == 0;
}

/* One string property of a session. 1 with *val (free()) set, 0 when the session has gone
 * away since it was listed, or a Ward code. */
static int session_prop(sd_bus *bus, const char *path, const char *name, char **val, char *why,
                        size_t whylen)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    int r, rc;

    *val = NULL;
    r = sd_bus_get_property_string(bus, LOGIND_DEST, path, LOGIND_SESSION, name, &err, val);
    if (r >= 0) {
        rc = 1;
    } else if (sd_bus_error_has_name(&err, "org.freedesktop.DBus.Error.UnknownObject") ||
               sd_bus_error_has_name(&err, "org.freedesktop.login1.NoSuchSession")) {
        rc = 0;
    } else {
        char what[80];
        snprintf(what, sizeof(what), "session %s", name);
        rc = call_failed(what, r, &err, why, whylen);
    }
    sd_bus_error_free(&err);
    return rc;
}

/* 1 when the listed session at path is a graphical user session (type and cls filled in),
 * 0 when it is not or has ended, or a Ward code. */
static int classify(sd_bus *bus, const char *path, struct plat_session *s, char *why, size_t whylen)
{
    char *type = NULL, *cls = NULL;
    int rc;

    rc = session_prop(bus, path, "Type", &type, why, whylen);
    if (rc == 1 && !is_graphical(type))
        rc = 0;
    if (rc == 1)
        rc = session_prop(bus, path, "Class", &cls, why, whylen);
    if (rc == 1 && strcmp(cls, "user") != 0)
        rc = 0;
    if (rc == 1) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int active = 0;
        /* both fit: they equal short constants */
        copy_field(s->type, sizeof(s->type), type);
        copy_field(s->cls, sizeof(s->cls), cls);
        /* "Active": the session in the foreground of its seat. Unknown counts as not. */
        if (sd_bus_get_property_trivial(bus, LOGIND_DEST, path, LOGIND_SESSION, "Active", &err, 'b',
                                        &active) < 0)
            active = 0;
        sd_bus_error_free(&err);
        s->active = active != 0;
    }
    free(type);
    free(cls);
    return rc;
}

static int list_sessions(sd_bus *bus, struct plat_session **out, size_t *n, char *why,
                         size_t whylen)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    struct plat_session *arr = NULL;
    size_t cnt = 0, cap = 0, listed = 0;
    int r, rc = 0;

    r = sd_bus_call_method(bus, LOGIND_DEST, LOGIND_PATH, LOGIND_MANAGER, "ListSessions", &err,
                           &reply, "");
    if (r < 0) {
        rc = call_failed("ListSessions", r, &err, why, whylen);
        goto out;
    }
    r = sd_bus_message_enter_container(reply, 'a', "(susso)");
    while (r >= 0) {
        const char *id, *user, *seat, *path;
        struct plat_session s;
        uint32_t uid;

        r = sd_bus_message_read(reply, "(susso)", &id, &uid, &user, &seat, &path);
        if (r <= 0)
            break;
        if (++listed > PLAT_POWER_MAX_SESSIONS) {
            set_why(why, whylen, "logind lists more than %d sessions", PLAT_POWER_MAX_SESSIONS);
            rc = WARD_ETOOBIG;
            goto out;
        }
        memset(&s, 0, sizeof(s));
        s.uid = uid;
        if (copy_field(s.id, sizeof(s.id), id) != 0 ||
            copy_field(s.user, sizeof(s.user), user) != 0 ||
            copy_field(s.seat, sizeof(s.seat), seat) != 0) {
            set_why(why, whylen, "logind session %.40s: id, user or seat too long", id);
            rc = WARD_ETOOBIG;
            goto out;
        }
        rc = classify(bus, path, &s, why, whylen);
        if (rc < 0)
            goto out;
        if (rc == 0)
            continue;
        rc = 0;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct plat_session *p = ward_realloc(arr, ncap * sizeof(*arr));
            if (!p) {
                set_why(why, whylen, "out of memory");
                rc = WARD_ENOMEM;
                goto out;
            }
            arr = p;
            cap = ncap;
        }
        arr[cnt++] = s;
    }
    if (r < 0) {
        char buf[128];
        set_why(why, whylen, "logind ListSessions: bad reply: %s",
                strerror_r(-r, buf, sizeof(buf)));
        rc = WARD_EPROTO;
    }
out:
    sd_bus_message_unref(reply);
    sd_bus_error_free(&err);
    if (rc != 0) {
        ward_free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return 0;
}

static void reset_out(struct plat_session **out, size_t *n, char *why, size_t whylen)
{
    *out = NULL;
    *n = 0;
    if (why && whylen)
        why[0] = '\0';
}

int plat_power_sessions(struct plat_session **out, size_t *n, char *why, size_t whylen)
{
    sd_bus *bus = NULL;
    int rc;

    reset_out(out, n, why, whylen);
    rc = open_bus(&bus, why, whylen);
    if (rc == 0)
        rc = list_sessions(bus, out, n, why, whylen);
    close_bus(bus);
    return rc;
}

/* A Manager method without results, taking nothing or one boolean false. */
static int manager_call(sd_bus *bus, const char *method, int with_bool, char *why, size_t whylen)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    int r, rc = 0;

    if (with_bool)
        r = sd_bus_call_method(bus, LOGIND_DEST, LOGIND_PATH, LOGIND_MANAGER, method, &err, NULL,
                               "b", 0);
    else
        r = sd_bus_call_method(bus, LOGIND_DEST, LOGIND_PATH, LOGIND_MANAGER, method, &err, NULL,
                               "");
    if (r < 0)
        rc = call_failed(method, r, &err, why, whylen);
    sd_bus_error_free(&err);
    return rc;
}

int plat_power_lock_all(struct plat_session **out, size_t *n, char *why, size_t whylen)
{
    struct plat_session *arr = NULL;
    sd_bus *bus = NULL;
    size_t cnt = 0;
    int rc;

    reset_out(out, n, why, whylen);
    rc = open_bus(&bus, why, whylen);
    if (rc != 0)
        goto out;
    /* Listed first: the report names the sessions that were there when the lock went out. */
    rc = list_sessions(bus, &arr, &cnt, why, whylen);
    if (rc != 0)
        goto out;
    rc = manager_call(bus, "LockSessions", 0, why, whylen);
    if (rc != 0)
        goto out;
    *out = arr;
    *n = cnt;
    arr = NULL;
out:
    ward_free(arr);
    close_bus(bus);
    return rc;
}

int plat_power_act(enum plat_power_action a, char *why, size_t whylen)
{
    const char *method;
    sd_bus *bus = NULL;
    int rc;

    if (why && whylen)
        why[0] = '\0';
    switch (a) {
    case PLAT_POWER_REBOOT:
        method = "Reboot";
        break;
    case PLAT_POWER_POWEROFF:
        method = "PowerOff";
        break;
    default:
        set_why(why, whylen, "unknown power action %d", (int)a);
        return WARD_EINVAL;
    }
    rc = open_bus(&bus, why, whylen);
    if (rc == 0)
        rc = manager_call(bus, method, 1, why, whylen);
    close_bus(bus);
    return rc;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int plat_boot_id(const char *root, char *out, size_t outlen)
{
    char *data = NULL;
    size_t len = 0, line;
    int rc;

    if (!out || outlen < UUID_LEN + 1)
        return WARD_EINVAL;
    out[0] = '\0';
    /* the kernel writes 37 bytes; anything near the limit is not a boot id anyway */
    rc = plat_fs_read_file(root && root[0] ? root : NULL, BOOT_ID_PATH, PLAT_FS_NTS, 256, &data,
                           &len);
    switch (rc) {
    case 0:
        break;
    case WARD_ENOTDIR:
        return WARD_ENOENT; /* a file where a directory of the path should be */
    case WARD_ETOOBIG:
    case WARD_EISDIR:
    case WARD_EINVAL: /* a device or fifo */
        return WARD_EPARSE;
    default:
        return rc;
    }
    line = strcspn(data, "\n"); /* stops at a NUL too: one inside the line is garbage */
    if (line != UUID_LEN || (len > line && data[line] != '\n')) {
        rc = WARD_EPARSE;
        goto out;
    }
    for (size_t i = 0; i < UUID_LEN; i++) {
        char c = data[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !is_hex(c)) {
            rc = WARD_EPARSE;
            goto out;
        }
        out[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    out[UUID_LEN] = '\0';
out:
    if (rc != 0)
        out[0] = '\0';
    ward_free(data);
    return rc;
}
