/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ward-tray's model, shared by every OS's front end: what the daemon's `status` and
 * `compliance` answers (docs/ipc.md) mean for the person at the laptop, as one view (the
 * icon, its tooltip, what the menu offers), the status window's text, and which change
 * deserves a notification. No toolkit here, so the rules have unit tests.
 */
#ifndef TRAY_MODEL_H
#define TRAY_MODEL_H

#include <stddef.h>

#include <jansson.h>

#include "ward/buf.h"

enum tray_icon {
    TRAY_NOT_RUNNING,  /* no daemon answers */
    TRAY_NOT_ENROLLED, /* the daemon runs; the device is not enrolled (or needs it again) */
    TRAY_SYNCING,      /* "Sync now" was asked and its check-in has not come yet */
    TRAY_RESTART,      /* a reboot or shutdown is pending */
    TRAY_NOT_COMPLIANT,
    TRAY_COMPLIANT,
};

struct tray_view {
    enum tray_icon icon;
    char tooltip[512];
    int can_sync;        /* enrolled and the daemon answers */
    int restart_pending; /* "Restart now" */
    int can_defer;       /* "Later": deferrals left */
    char restart_cmd[130];
    char restart_due[32]; /* local time, "YYYY-MM-DD HH:MM" */
    char restart_msg[260];
    long failing;          /* failing settings over all baselines */
    char last_checkin[32]; /* local time; "" when never */
    char device[130];
};

/* The view for a daemon's answers (both borrowed, either may be NULL when that request
 * failed; status NULL means no daemon). syncing: a sync asked by this tray is pending. */
void tray_view_build(const json_t *status, const json_t *compliance, int syncing,
                     struct tray_view *v);

/* The status window's text: device, state, last sync, the pending restart, and per
 * baseline its failing settings in words. Appended to out. */
int tray_view_details(const json_t *status, const json_t *compliance, struct ward_buf *out);

/* Whether the change from before (NULL: the tray just started) to after deserves a
 * notification: compliance turned red, a restart was scheduled or moved. 1 with title and
 * body filled, else 0. */
int tray_notice(const struct tray_view *before, const struct tray_view *after, char *title,
                size_t titlelen, char *body, size_t bodylen);

/* A command finished that changed the device (a package, a lock, a wipe, a script): the
 * notification's body for that event type, or NULL when it is not one to mention. */
const char *tray_command_notice(const char *type);

/* The freedesktop icon name for a state. */
const char *tray_icon_name(enum tray_icon icon);

#endif
