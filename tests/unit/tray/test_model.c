/* SPDX-License-Identifier: Apache-2.0 */
/* The tray's model on answers shaped as the daemon gives them (docs/ipc.md): the icon for
 * each state and its order of precedence, the menu's offers, the notifications, the
 * status window's words. Times are shown in UTC here (TZ=UTC). */
#include "wtest.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "ward/buf.h"

static json_t *j(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        abort();
    return v;
}

static void utc(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

#define ENROLLED                                                                                   \
    "\"enrolled\": true, \"state\": \"enrolled\", \"device_id\": \"d-1\", "                        \
    "\"last_checkin\": \"2026-12-08T09:00:00Z\""

static const char *REBOOT =
    "{" ENROLLED ", \"running\": [{\"id\": \"c-1\", \"type\": \"reboot\", \"since\": "
    "\"2026-12-08T09:00:00Z\", \"notice\": {\"action\": \"reboot\", \"due\": "
    "\"2026-12-08T10:00:00Z\", \"deferrals\": 2, \"deferred\": 1, \"message\": \"Updates\"}}]}";

WT_TEST(icon_for_each_state)
{
    struct tray_view v;
    json_t *ne = j("{\"enrolled\": false, \"state\": \"not_enrolled\"}");
    json_t *re = j("{\"enrolled\": false, \"state\": \"needs_reenrollment\"}");
    json_t *ok = j("{" ENROLLED ", \"running\": []}");
    json_t *none = j("{\"baselines\": []}");
    json_t *good =
        j("{\"baselines\": [{\"id\": \"b\", \"compliant\": true, \"failing_count\": 0}]}");
    json_t *bad = j("{\"baselines\": [{\"id\": \"b\", \"failing_count\": 2}, {\"id\": \"c\", "
                    "\"failing_count\": 1}]}");
    utc();
    tray_view_build(NULL, NULL, 0, &v);
    WT_EQ_INT(v.icon, TRAY_NOT_RUNNING);
    WT_EQ_STR(tray_icon_name(v.icon), "dialog-warning");
    WT_ASSERT(!v.can_sync);
    tray_view_build(ne, NULL, 1, &v);
    WT_EQ_INT(v.icon, TRAY_NOT_ENROLLED);
    WT_EQ_STR(v.tooltip, "Ward: this device is not enrolled");
    tray_view_build(re, NULL, 0, &v);
    WT_CONTAINS(v.tooltip, "enrolled again");
    tray_view_build(ok, none, 0, &v);
    WT_EQ_INT(v.icon, TRAY_COMPLIANT);
    WT_EQ_STR(v.tooltip, "Ward: enrolled; no policy assigned");
    WT_EQ_STR(v.last_checkin, "2026-12-08 09:00");
    tray_view_build(ok, good, 0, &v);
    WT_EQ_STR(v.tooltip, "Ward: this device meets your organisation's policy");
    WT_EQ_STR(tray_icon_name(v.icon), "security-high");
    tray_view_build(ok, bad, 0, &v);
    WT_EQ_INT(v.icon, TRAY_NOT_COMPLIANT);
    WT_EQ_INT(v.failing, 3);
    WT_EQ_STR(v.tooltip, "Ward: 3 settings do not meet your organisation's policy");
    /* a sync the person asked for shows over compliance */
    tray_view_build(ok, bad, 1, &v);
    WT_EQ_INT(v.icon, TRAY_SYNCING);
    WT_ASSERT(v.can_sync);
    json_decref(ne);
    json_decref(re);
    json_decref(ok);
    json_decref(none);
    json_decref(good);
    json_decref(bad);
}

WT_TEST(restart_pending_and_deferrals)
{
    struct tray_view v;
    json_t *st = j(REBOOT);
    json_t *bad = j("{\"baselines\": [{\"id\": \"b\", \"failing_count\": 1}]}");
    utc();
    tray_view_build(st, bad, 0, &v);
    WT_EQ_INT(v.icon, TRAY_RESTART); /* before compliance: it takes the session */
    WT_ASSERT(v.restart_pending && v.can_defer);
    WT_EQ_STR(v.restart_cmd, "c-1");
    WT_EQ_STR(v.restart_due, "2026-12-08 10:00");
    WT_EQ_STR(v.tooltip, "Ward: this device will restart at 2026-12-08 10:00");
    json_decref(st);
    st = j("{" ENROLLED ", \"running\": [{\"id\": \"c-2\", \"type\": \"shutdown\", \"notice\": "
           "{\"action\": \"poweroff\", \"due\": \"2026-12-08T11:30:00Z\", \"deferrals\": 1, "
           "\"deferred\": 1}}]}");
    tray_view_build(st, NULL, 0, &v);
    WT_ASSERT(v.restart_pending && !v.can_defer);
    WT_EQ_STR(v.tooltip, "Ward: this device will shut down at 2026-12-08 11:30");
    json_decref(st);
    json_decref(bad);
}

WT_TEST(notifications)
{
    struct tray_view a, b, c;
    char title[128], body[512];
    json_t *ok = j("{" ENROLLED "}");
    json_t *good =
        j("{\"baselines\": [{\"id\": \"b\", \"compliant\": true, \"failing_count\": 0}]}");
    json_t *bad = j("{\"baselines\": [{\"id\": \"b\", \"failing_count\": 1}]}");
    json_t *st = j(REBOOT);
    utc();
    tray_view_build(ok, good, 0, &a);
    tray_view_build(ok, bad, 0, &b);
    WT_EQ_INT(tray_notice(NULL, &a, title, sizeof(title), body, sizeof(body)), 0);
    WT_EQ_INT(tray_notice(&a, &a, title, sizeof(title), body, sizeof(body)), 0);
    WT_EQ_INT(tray_notice(&a, &b, title, sizeof(title), body, sizeof(body)), 1);
    WT_EQ_STR(title, "Device not compliant");
    WT_EQ_STR(body, "1 setting does not meet your organisation's policy.");
    /* still red: said once */
    WT_EQ_INT(tray_notice(&b, &b, title, sizeof(title), body, sizeof(body)), 0);
    /* red at start: said */
    WT_EQ_INT(tray_notice(NULL, &b, title, sizeof(title), body, sizeof(body)), 1);
    tray_view_build(st, bad, 0, &c);
    WT_EQ_INT(tray_notice(&b, &c, title, sizeof(title), body, sizeof(body)), 1);
    WT_EQ_STR(title, "Restart scheduled");
    WT_EQ_STR(body, "Your IT department restarts this device at 2026-12-08 10:00. Updates");
    WT_EQ_INT(tray_notice(&c, &c, title, sizeof(title), body, sizeof(body)), 0);
    b = c;
    snprintf(b.restart_due, sizeof(b.restart_due), "%s", "2026-12-08 09:00");
    WT_EQ_INT(tray_notice(&b, &c, title, sizeof(title), body, sizeof(body)), 1);
    WT_EQ_STR(title, "Restart moved");
    WT_ASSERT(tray_command_notice("lock") != NULL);
    WT_ASSERT(tray_command_notice("ping") == NULL);
    WT_ASSERT(tray_command_notice(NULL) == NULL);
    json_decref(ok);
    json_decref(good);
    json_decref(bad);
    json_decref(st);
}

WT_TEST(window_text_names_failing_settings)
{
    struct ward_buf b;
    json_t *st = j(REBOOT);
    json_t *comp = j("{\"baselines\": [{\"id\": \"cis\", \"description\": \"Workstation\", "
                     "\"evaluated_at\": \"2026-12-08T09:00:00Z\", \"compliant\": false, "
                     "\"failing_count\": 2, \"failing\": [{\"id\": \"ssh\", \"description\": "
                     "\"No root login over SSH\", \"error\": \"\"}, {\"id\": \"motd\", "
                     "\"error\": \"cannot check: not a directory\"}]}, {\"id\": \"new\", "
                     "\"failing_count\": 0, \"failing\": []}]}");
    utc();
    ward_buf_init(&b, 64 * 1024);
    WT_OK(tray_view_details(st, comp, &b));
    WT_CONTAINS(b.data, "Device: d-1\n");
    WT_CONTAINS(b.data, "Last sync: 2026-12-08 09:00\n");
    WT_CONTAINS(b.data, "Restart at 2026-12-08 10:00: Updates\nYou may postpone it.\n");
    WT_CONTAINS(b.data, "cis - Workstation: not compliant\n  - No root login over SSH\n");
    WT_CONTAINS(b.data, "  - motd: cannot check: not a directory\n");
    WT_CONTAINS(b.data, "new: not evaluated yet\n");
    ward_buf_release(&b);
    ward_buf_init(&b, 64 * 1024);
    WT_OK(tray_view_details(NULL, NULL, &b));
    WT_EQ_STR(b.data, "Ward: the device management agent is not running\n\n");
    ward_buf_release(&b);
    json_decref(st);
    json_decref(comp);
}
