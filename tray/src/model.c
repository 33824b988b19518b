/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tray/src/model.h: from the daemon's answers to what the person sees. The order of the
 * icon's states is the order of what matters most: no agent, no enrollment, a sync the
 * person just asked for, a pending restart (it will take their session), then compliance.
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "ward/time.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* A daemon's UTC time as the person's local "YYYY-MM-DD HH:MM"; the text itself when it
 * does not parse. */
static void local_time(char *dst, size_t n, const char *iso)
{
    int64_t t = 0;
    struct tm tm;
    if (ward_time_parse_iso(iso, &t) == 0 && ward_localtime((time_t)t, &tm) == 0 &&
        strftime(dst, n, "%Y-%m-%d %H:%M", &tm) > 0)
        return;
    snprintf(dst, n, "%s", iso);
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* The first running command with a notice (a pending reboot or shutdown). */
static const json_t *pending_notice(const json_t *status, const json_t **cmd)
{
    const json_t *e;
    size_t i;
    json_array_foreach(json_object_get(status, "running"), i, e)
    {
        const json_t *n = json_object_get(e, "notice");
        if (json_is_object(n)) {
            *cmd = e;
            return n;
        }
    }
    return NULL;
}

static long count_failing(const json_t *compliance, int *any)
{
    const json_t *b;
    size_t i;
    long n = 0;
    *any = 0;
    json_array_foreach(json_object_get(compliance, "baselines"), i, b)
    {
        *any = 1;
        n += (long)json_integer_value(json_object_get(b, "failing_count"));
    }
    return n;
}

void tray_view_build(const json_t *status, const json_t *compliance, int syncing,
                     struct tray_view *v)
{
    const json_t *cmd = NULL, *n;
    int any = 0;
    memset(v, 0, sizeof(*v));
    if (!status) {
        v->icon = TRAY_NOT_RUNNING;
        copy(v->tooltip, sizeof(v->tooltip), _("Ward: the device management agent is not running"));
        return;
    }
    copy(v->device, sizeof(v->device), str(status, "device_id"));
    copy(v->last_checkin, sizeof(v->last_checkin), str(status, "last_checkin"));
    if (v->last_checkin[0])
        local_time(v->last_checkin, sizeof(v->last_checkin), str(status, "last_checkin"));
    v->failing = count_failing(compliance, &any);
    if (!json_is_true(json_object_get(status, "enrolled"))) {
        v->icon = TRAY_NOT_ENROLLED;
        copy(v->tooltip, sizeof(v->tooltip),
             strcmp(str(status, "state"), "needs_reenrollment") == 0
                 ? _("Ward: this device must be enrolled again; ask your IT department")
                 : _("Ward: this device is not enrolled"));
        return;
    }
    v->can_sync = 1;
    n = pending_notice(status, &cmd);
    if (n) {
        v->restart_pending = 1;
        copy(v->restart_cmd, sizeof(v->restart_cmd), str(cmd, "id"));
        local_time(v->restart_due, sizeof(v->restart_due), str(n, "due"));
        copy(v->restart_msg, sizeof(v->restart_msg), str(n, "message"));
        v->can_defer = json_integer_value(json_object_get(n, "deferred")) <
                       json_integer_value(json_object_get(n, "deferrals"));
    }
    if (syncing) {
        v->icon = TRAY_SYNCING;
        copy(v->tooltip, sizeof(v->tooltip), _("Ward: syncing with your organisation"));
    } else if (v->restart_pending) {
        v->icon = TRAY_RESTART;
        snprintf(v->tooltip, sizeof(v->tooltip),
                 strcmp(str(n, "action"), "poweroff") == 0
                     ? _("Ward: this device will shut down at %s")
                     : _("Ward: this device will restart at %s"),
                 v->restart_due);
    } else if (v->failing > 0) {
        v->icon = TRAY_NOT_COMPLIANT;
        snprintf(v->tooltip, sizeof(v->tooltip),
                 v->failing == 1 ? _("Ward: 1 setting does not meet your organisation's policy")
                                 : _("Ward: %ld settings do not meet your organisation's policy"),
                 v->failing);
    } else {
        v->icon = TRAY_COMPLIANT;
        copy(v->tooltip, sizeof(v->tooltip),
             any ? _("Ward: this device meets your organisation's policy")
                 : _("Ward: enrolled; no policy assigned"));
    }
}

int tray_view_details(const json_t *status, const json_t *compliance, struct ward_buf *out)
{
    struct tray_view v;
    const json_t *b, *f;
    size_t i, k;
    int rc = 0;
    tray_view_build(status, compliance, 0, &v);
    rc |= ward_buf_appendf(out, "%s\n\n", v.tooltip);
    if (!status)
        return rc;
    rc |= ward_buf_appendf(out, _("Device: %s\n"), v.device[0] ? v.device : _("(not enrolled)"));
    rc |= ward_buf_appendf(out, _("Last sync: %s\n"),
                           v.last_checkin[0] ? v.last_checkin : _("never"));
    if (v.restart_pending) {
        rc |= ward_buf_appendf(out, _("Restart at %s%s%s\n"), v.restart_due,
                               v.restart_msg[0] ? ": " : "", v.restart_msg);
        rc |= ward_buf_appendf(out, "%s\n",
                               v.can_defer ? _("You may postpone it.")
                                           : _("It cannot be postponed any more."));
    }
    json_array_foreach(json_object_get(compliance, "baselines"), i, b)
    {
        const char *desc = str(b, "description");
        rc |= ward_buf_appendf(out, "\n%s%s%s: %s\n", str(b, "id"), desc[0] ? " - " : "", desc,
                               json_is_true(json_object_get(b, "compliant"))
                                   ? _("compliant")
                                   : (json_is_string(json_object_get(b, "evaluated_at"))
                                          ? _("not compliant")
                                          : _("not evaluated yet")));
        json_array_foreach(json_object_get(b, "failing"), k, f)
        {
            const char *what = str(f, "description"), *err = str(f, "error");
            rc |= ward_buf_appendf(out, "  - %s%s%s\n", what[0] ? what : str(f, "id"),
                                   err[0] ? ": " : "", err);
        }
    }
    return rc;
}

int tray_notice(const struct tray_view *before, const struct tray_view *after, char *title,
                size_t titlelen, char *body, size_t bodylen)
{
    if (after->restart_pending && (!before || !before->restart_pending ||
                                   strcmp(before->restart_due, after->restart_due) != 0)) {
        snprintf(title, titlelen, "%s",
                 before && before->restart_pending ? _("Restart moved") : _("Restart scheduled"));
        snprintf(body, bodylen, _("Your IT department restarts this device at %s.%s%s"),
                 after->restart_due, after->restart_msg[0] ? " " : "", after->restart_msg);
        return 1;
    }
    if (after->failing > 0 && (!before || before->failing == 0) &&
        after->icon != TRAY_NOT_RUNNING && after->icon != TRAY_NOT_ENROLLED) {
        snprintf(title, titlelen, "%s", _("Device not compliant"));
        snprintf(body, bodylen,
                 after->failing == 1 ? _("1 setting does not meet your organisation's policy.")
                                     : _("%ld settings do not meet your organisation's policy."),
                 after->failing);
        return 1;
    }
    return 0;
}

const char *tray_command_notice(const char *type)
{
    static const struct {
        const char *type, *text;
    } known[] = {
        {"lock", N_("Your IT department locked this device.")},
        {"package", N_("Your IT department changed the software on this device.")},
        {"os_update", N_("Your IT department updated this device's system.")},
        {"script", N_("Your IT department ran a task on this device.")},
        {"selective_wipe", N_("Your IT department removed its data and settings from this "
                              "device.")},
    };
    for (size_t i = 0; type && i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(type, known[i].type) == 0)
            return _(known[i].text);
    return NULL;
}

const char *tray_icon_name(enum tray_icon icon)
{
    switch (icon) {
    case TRAY_COMPLIANT:
        return "security-high";
    case TRAY_NOT_COMPLIANT:
        return "security-low";
    case TRAY_SYNCING:
        return "emblem-synchronizing";
    case TRAY_RESTART:
        return "system-reboot";
    case TRAY_NOT_ENROLLED:
        return "dialog-question";
    case TRAY_NOT_RUNNING:
    default:
        return "dialog-warning";
    }
}
