/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ward-tray on Linux: a StatusNotifierItem (libayatana-appindicator3) with a menu, a GTK3
 * status window, and desktop notifications (libnotify), all fed by the agent's local IPC
 * (docs/ipc.md) and nothing else. One connection subscribes to the daemon's events and
 * is watched by the GLib main loop (no timer runs while the daemon answers, so an idle
 * tray costs no CPU); each event refreshes the view with a `status` and a `compliance`
 * request on a short-lived second connection. Without a daemon it tries again every 10 s.
 *
 * A GtkApplication keeps one instance per session: `ward-tray --window` (the desktop
 * file in the application menu) shows the running tray's window. Where no
 * StatusNotifierItem host runs (stock GNOME), it says so once on stderr and keeps the
 * notifications; /etc/ward/tray.json {"show_icon": false} hides the icon by policy, and
 * notifications stay.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <gtk/gtk.h>
#include <libayatana-appindicator/app-indicator.h>
#include <libnotify/notify.h>

#include "../i18n.h"
#include "../model.h"
#include "platform/ipc.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/json.h"

#define RETRY_S 10
#define SYNC_WAIT_S 10 /* the icon shows syncing at most this long */
#define CALL_TIMEOUT_MS 3000

struct tray {
    GtkApplication *gapp;
    AppIndicator *ind;
    GtkWidget *menu, *mi_sync, *mi_now, *mi_later;
    GtkWidget *win, *win_text;
    struct plat_ipc_client *sub;
    guint sub_watch, retry, sync_timer;
    char *sock;
    json_t *status, *compliance;
    struct tray_view view;
    int have_view, syncing, started, want_window, show_icon, host_said;
    char sync_from[32]; /* last_checkin when "Sync now" was chosen */
};

/* ---- the daemon --------------------------------------------------------------------------- */

/* One request on its own connection; the answer's "result" (new) or NULL. */
static json_t *call(struct tray *t, const char *verb, const char *command, char *err, size_t errlen)
{
    struct plat_ipc_client *c = NULL;
    json_t *req = json_pack("{s:s}", "verb", verb), *ans = NULL, *res = NULL;
    char *text = NULL, *reply = NULL;
    size_t len = 0, rlen = 0;
    int rc;
    if (err && errlen)
        err[0] = '\0';
    if (command)
        json_object_set_new(req, "command", json_string(command));
    rc = req ? ward_json_dumps(req, 0, &text, &len) : -1;
    if (rc == 0)
        rc = plat_ipc_connect(t->sock, CALL_TIMEOUT_MS, &c);
    if (rc == 0)
        rc = plat_ipc_client_send(c, text, len, CALL_TIMEOUT_MS);
    if (rc == 0)
        rc = plat_ipc_client_recv(c, PLAT_IPC_FRAME_LIMIT, CALL_TIMEOUT_MS, &reply, &rlen);
    if (rc == 0 && ward_json_loadb(reply, rlen, NULL, &ans, NULL) == 0) {
        if (json_is_true(json_object_get(ans, "ok")))
            res = json_incref(json_object_get(ans, "result"));
        else if (err)
            snprintf(err, errlen, "%s",
                     json_string_value(json_object_get(json_object_get(ans, "error"), "message"))
                         ?: "refused");
    } else if (err) {
        snprintf(err, errlen, "%s", _("the agent does not answer"));
    }
    plat_ipc_client_close(c);
    json_decref(req);
    json_decref(ans);
    ward_free(text);
    ward_free(reply);
    return res;
}

static void notify(const char *title, const char *body, const char *icon)
{
    NotifyNotification *n = notify_notification_new(title, body, icon);
    notify_notification_set_app_name(n, "Ward");
    notify_notification_show(n, NULL);
    g_object_unref(n);
}

static void render_window(struct tray *t)
{
    struct ward_buf b;
    if (!t->win)
        return;
    ward_buf_init(&b, 256 * 1024);
    tray_view_details(t->status, t->compliance, &b);
    gtk_label_set_text(GTK_LABEL(t->win_text), b.data ? b.data : "");
    ward_buf_release(&b);
}

static void apply_view(struct tray *t)
{
    struct tray_view v;
    char title[128], body[512];
    if (t->syncing && t->status &&
        strcmp(json_string_value(json_object_get(t->status, "last_checkin")) ?: "", t->sync_from) !=
            0)
        t->syncing = 0; /* the check-in came */
    tray_view_build(t->status, t->compliance, t->syncing, &v);
    if (tray_notice(t->have_view ? &t->view : NULL, &v, title, sizeof(title), body, sizeof(body)))
        notify(title, body, tray_icon_name(v.icon));
    t->view = v;
    t->have_view = 1;
    app_indicator_set_icon_full(t->ind, tray_icon_name(v.icon), v.tooltip);
    app_indicator_set_title(t->ind, v.tooltip);
    gtk_widget_set_sensitive(t->mi_sync, v.can_sync && !t->syncing);
    gtk_widget_set_visible(t->mi_now, v.restart_pending);
    gtk_widget_set_visible(t->mi_later, v.restart_pending && v.can_defer);
    render_window(t);
}

static void refresh(struct tray *t)
{
    json_decref(t->status);
    json_decref(t->compliance);
    t->status = call(t, "status", NULL, NULL, 0);
    t->compliance = t->status ? call(t, "compliance", NULL, NULL, 0) : NULL;
    apply_view(t);
}

static void subscribe(struct tray *t);

static gboolean on_retry(gpointer data)
{
    struct tray *t = data;
    t->retry = 0;
    subscribe(t);
    return G_SOURCE_REMOVE;
}

static void lost(struct tray *t)
{
    if (t->sub_watch)
        g_source_remove(t->sub_watch);
    t->sub_watch = 0;
    plat_ipc_client_close(t->sub);
    t->sub = NULL;
    refresh(t); /* not running */
    if (!t->retry)
        t->retry = g_timeout_add_seconds(RETRY_S, on_retry, t);
}

static gboolean on_event(gint fd, GIOCondition cond, gpointer data)
{
    struct tray *t = data;
    char *frame = NULL;
    size_t len = 0;
    json_t *ev = NULL;
    (void)fd;
    (void)cond;
    if (plat_ipc_client_recv(t->sub, PLAT_IPC_FRAME_LIMIT, CALL_TIMEOUT_MS, &frame, &len) != 0) {
        t->sub_watch = 0;
        lost(t);
        return G_SOURCE_REMOVE;
    }
    if (ward_json_loadb(frame, len, NULL, &ev, NULL) == 0) {
        const char *name = json_string_value(json_object_get(ev, "event"));
        const json_t *d = json_object_get(ev, "data");
        if (name && strcmp(name, "compliance") == 0)
            t->syncing = 0; /* what the sync fetched has been evaluated */
        if (name && strcmp(name, "command") == 0 &&
            strcmp(json_string_value(json_object_get(d, "state")) ?: "", "finished") == 0) {
            const char *body = tray_command_notice(json_string_value(json_object_get(d, "type")));
            if (body)
                notify(_("Your device was changed"), body, "dialog-information");
        }
    }
    json_decref(ev);
    ward_free(frame);
    refresh(t);
    return G_SOURCE_CONTINUE;
}

static void subscribe(struct tray *t)
{
    char *reply = NULL;
    size_t len = 0;
    static const char req[] = "{\"verb\":\"subscribe\"}";
    if (plat_ipc_connect(t->sock, CALL_TIMEOUT_MS, &t->sub) != 0 ||
        plat_ipc_client_send(t->sub, req, sizeof(req) - 1, CALL_TIMEOUT_MS) != 0 ||
        plat_ipc_client_recv(t->sub, 4096, CALL_TIMEOUT_MS, &reply, &len) != 0 ||
        !strstr(reply, "\"ok\":true")) {
        ward_free(reply);
        lost(t);
        return;
    }
    ward_free(reply);
    t->sub_watch = g_unix_fd_add((gint)plat_ipc_client_waitable(t->sub),
                                 G_IO_IN | G_IO_HUP | G_IO_ERR, on_event, t);
    refresh(t);
}

/* ---- the menu and the window -------------------------------------------------------------- */

static gboolean on_sync_over(gpointer data)
{
    struct tray *t = data;
    t->sync_timer = 0;
    t->syncing = 0;
    apply_view(t);
    return G_SOURCE_REMOVE;
}

static void on_sync(GtkMenuItem *mi, gpointer data)
{
    struct tray *t = data;
    char err[256];
    json_t *r;
    (void)mi;
    r = call(t, "sync", NULL, err, sizeof(err));
    if (!r) {
        notify(_("Sync not started"), err, "dialog-warning");
        return;
    }
    json_decref(r);
    snprintf(t->sync_from, sizeof(t->sync_from), "%s",
             json_string_value(json_object_get(t->status, "last_checkin")) ?: "");
    t->syncing = 1;
    if (t->sync_timer)
        g_source_remove(t->sync_timer);
    t->sync_timer = g_timeout_add_seconds(SYNC_WAIT_S, on_sync_over, t);
    apply_view(t);
}

static void user_op(struct tray *t, const char *verb)
{
    char err[300];
    json_t *r =
        call(t, verb, t->view.restart_cmd[0] ? t->view.restart_cmd : NULL, err, sizeof(err));
    if (!r)
        notify(_("Not possible"), err, "dialog-warning");
    json_decref(r);
    refresh(t);
}

static void on_now(GtkMenuItem *mi, gpointer data)
{
    (void)mi;
    user_op(data, "restart_now");
}

static void on_later(GtkMenuItem *mi, gpointer data)
{
    (void)mi;
    user_op(data, "defer");
}

static gboolean on_win_delete(GtkWidget *w, GdkEvent *e, gpointer data)
{
    (void)e;
    (void)data;
    gtk_widget_hide(w); /* the tray stays */
    return TRUE;
}

static void show_window(struct tray *t)
{
    if (!t->win) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);
        GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *sync = gtk_button_new_with_label(_("Sync now"));
        t->win = gtk_application_window_new(t->gapp);
        gtk_window_set_title(GTK_WINDOW(t->win), _("Ward device status"));
        gtk_window_set_default_size(GTK_WINDOW(t->win), 520, 360);
        t->win_text = gtk_label_new("");
        gtk_label_set_xalign(GTK_LABEL(t->win_text), 0);
        gtk_label_set_line_wrap(GTK_LABEL(t->win_text), TRUE);
        gtk_container_set_border_width(GTK_CONTAINER(box), 16);
        gtk_box_pack_start(GTK_BOX(box), t->win_text, TRUE, TRUE, 0);
        g_signal_connect(sync, "clicked", G_CALLBACK(on_sync), t);
        gtk_box_pack_end(GTK_BOX(buttons), sync, FALSE, FALSE, 0);
        gtk_box_pack_end(GTK_BOX(box), buttons, FALSE, FALSE, 0);
        gtk_container_add(GTK_CONTAINER(t->win), box);
        g_signal_connect(t->win, "delete-event", G_CALLBACK(on_win_delete), t);
    }
    render_window(t);
    gtk_widget_show_all(t->win);
    gtk_window_present(GTK_WINDOW(t->win));
}

static void on_status(GtkMenuItem *mi, gpointer data)
{
    (void)mi;
    show_window(data);
}

static GtkWidget *item(GtkWidget *menu, const char *label, GCallback cb, struct tray *t)
{
    GtkWidget *mi = gtk_menu_item_new_with_label(label);
    g_signal_connect(mi, "activate", cb, t);
    gtk_menu_shell_append(GTK_MENU_SHELL(menu), mi);
    gtk_widget_show(mi);
    return mi;
}

/* ---- start -------------------------------------------------------------------------------- */

static void make_indicator(struct tray *t)
{
    if (t->ind)
        g_object_unref(t->ind);
    t->ind =
        app_indicator_new("ward-tray", "dialog-warning", APP_INDICATOR_CATEGORY_SYSTEM_SERVICES);
    app_indicator_set_menu(t->ind, GTK_MENU(t->menu));
    app_indicator_set_status(t->ind, t->show_icon ? APP_INDICATOR_STATUS_ACTIVE
                                                  : APP_INDICATOR_STATUS_PASSIVE);
    if (t->have_view) {
        app_indicator_set_icon_full(t->ind, tray_icon_name(t->view.icon), t->view.tooltip);
        app_indicator_set_title(t->ind, t->view.tooltip);
    }
}

static void on_watcher(GDBusConnection *c, const gchar *name, const gchar *owner, gpointer data)
{
    (void)c;
    (void)name;
    (void)owner;
    (void)data;
}

static void on_no_watcher(GDBusConnection *c, const gchar *name, gpointer data)
{
    struct tray *t = data;
    (void)c;
    (void)name;
    if (!t->host_said && t->show_icon)
        fprintf(stderr,
                "ward-tray: no StatusNotifierItem host in this session (%s): the icon "
                "is not shown; notifications still are, and the status window opens "
                "from the application menu (\"Ward device status\")\n",
                name);
    t->host_said = 1;
}

static int policy_show_icon(void)
{
    const char *path = g_getenv("WARD_TRAY_POLICY");
    json_t *j = NULL;
    char *text = NULL;
    gsize len = 0;
    int show = 1;
    if (!path)
        path = "/etc/ward/tray.json";
    if (g_file_get_contents(path, &text, &len, NULL) &&
        ward_json_loadb(text, len, NULL, &j, NULL) == 0 &&
        json_is_false(json_object_get(j, "show_icon")))
        show = 0;
    json_decref(j);
    g_free(text);
    return show;
}

static void on_activate(GApplication *app, gpointer data)
{
    struct tray *t = data;
    (void)app;
    if (t->started) {
        show_window(t); /* a second `ward-tray --window` */
        return;
    }
    t->started = 1;
    g_application_hold(G_APPLICATION(t->gapp)); /* runs without a window */
    t->show_icon = policy_show_icon();
    t->menu = gtk_menu_new();
    item(t->menu, _("Device status..."), G_CALLBACK(on_status), t);
    t->mi_sync = item(t->menu, _("Sync now"), G_CALLBACK(on_sync), t);
    t->mi_now = item(t->menu, _("Restart now"), G_CALLBACK(on_now), t);
    t->mi_later = item(t->menu, _("Later"), G_CALLBACK(on_later), t);
    make_indicator(t);
    g_bus_watch_name(G_BUS_TYPE_SESSION, "org.kde.StatusNotifierWatcher",
                     G_BUS_NAME_WATCHER_FLAGS_NONE, on_watcher, on_no_watcher, t, NULL);
    subscribe(t);
    if (t->want_window)
        show_window(t);
}

int main(int argc, char **argv)
{
    struct tray t;
    const char *localedir = g_getenv("WARD_TRAY_LOCALEDIR");
    int rc, gargc = 1;
    memset(&t, 0, sizeof(t));
    setlocale(LC_ALL, "");
    bindtextdomain(TRAY_DOMAIN, localedir ? localedir : WARD_TRAY_LOCALEDIR);
    bind_textdomain_codeset(TRAY_DOMAIN, "UTF-8");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--window") == 0) {
            t.want_window = 1;
        } else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
            t.sock = g_strdup(argv[++i]);
        } else {
            fprintf(stderr, "usage: ward-tray [--window] [--socket PATH]\n");
            return 2;
        }
    }
    if (!t.sock)
        t.sock = g_strdup(g_getenv("WARD_IPC_SOCKET") ?: plat_ipc_default_path());
    /* No OpenGL: a tray draws nothing with it, and GDK's GLX probe of the display's
     * visuals loads Mesa (llvmpipe: libLLVM) for good, three quarters of an idle tray's
     * memory (bench/tray). A GDK_GL the user set stays. */
    g_setenv("GDK_GL", "disable", FALSE);
    ward_json_init();
    notify_init("Ward");
    t.gapp = gtk_application_new("org.ward.Tray", G_APPLICATION_DEFAULT_FLAGS);
    g_signal_connect(t.gapp, "activate", G_CALLBACK(on_activate), &t);
    rc = g_application_run(G_APPLICATION(t.gapp), gargc, argv);
    g_object_unref(t.gapp);
    notify_uninit();
    json_decref(t.status);
    json_decref(t.compliance);
    g_free(t.sock);
    return rc;
}
