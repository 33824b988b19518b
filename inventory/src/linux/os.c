/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux os and users collectors. os: platform sysinfo (os-release, machine id, boot time
 * under the root; uname for the running kernel) plus the time zone and the reboot flag;
 * under --root the host name and kernel come from the fixture's /etc/hostname and
 * /proc/sys/kernel/osrelease instead of this machine's uname. users: /etc/passwd accounts
 * in the login.defs UID range plus root, admin rights from /etc/group, and sessions from
 * the utmp records (parsed here, not through getutent, so a root prefix works).
 */
#define WARD_LOG_TAG "inv-os"

#include <stdio.h>
#include <string.h>

#include "../collector.h"
#include "inventory/parse.h"
#include "lxfs.h"
#include "platform/sysinfo.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define ETC_MAX (16u << 20)
#define USERS_MAX 100000
#define UTMP_MAX (8u << 20)

/* "/usr/share/zoneinfo/Europe/Berlin" or "../usr/share/zoneinfo/..." -> "Europe/Berlin" */
static const char *zone_from_link(const char *link)
{
    const char *z = strstr(link, "zoneinfo/");
    if (!z)
        return NULL;
    z += 9;
    if (strncmp(z, "posix/", 6) == 0)
        z += 6;
    else if (strncmp(z, "right/", 6) == 0)
        z += 6;
    return *z ? z : NULL;
}

static int collect_os(struct inv_ctx *ctx)
{
    struct plat_sysinfo si;
    json_t *row = inv_ctx_table(ctx, &inv_t_os);
    char v[512];
    const char *tz = NULL;
    int rc;

    if (!row)
        return WARD_ENOMEM;
    rc = plat_sysinfo_get(ctx->root, &si);
    if (rc != 0)
        return inv_ctx_fail(ctx, rc, "sysinfo: %s", ward_strerror(rc));
    if (!ctx->live) {
        si.hostname[0] = si.kernel[0] = si.arch[0] = '\0'; /* uname is this machine's */
        if (inv_lx_attr(ctx, v, sizeof(v), "/etc/hostname") == 0 && v[0] &&
            strlen(v) < sizeof(si.hostname))
            memcpy(si.hostname, v, strlen(v) + 1);
        if (inv_lx_attr(ctx, v, sizeof(v), "/proc/sys/kernel/osrelease") == 0 && v[0] &&
            strlen(v) < sizeof(si.kernel))
            memcpy(si.kernel, v, strlen(v) + 1);
    }
    rc = inv_row_str(row, "hostname", si.hostname[0] ? si.hostname : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "id", si.os_id[0] ? si.os_id : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "name", si.os_name[0] ? si.os_name : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "version", si.os_version[0] ? si.os_version : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "pretty_name", si.os_pretty[0] ? si.os_pretty : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "build", si.os_build[0] ? si.os_build : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "kernel", si.kernel[0] ? si.kernel : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "arch", si.arch[0] ? si.arch : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "machine_id", si.machine_id[0] ? si.machine_id : NULL);
    if (rc == 0 && si.boot_time > 0)
        rc = inv_row_int(row, "boot_time", si.boot_time);
    if (inv_lx_readlink(ctx, v, sizeof(v), "/etc/localtime") == 0)
        tz = zone_from_link(v);
    if (!tz && inv_lx_attr(ctx, v, sizeof(v), "/etc/timezone") == 0 && v[0]) {
        char *nl = strchr(v, '\n');
        if (nl)
            *nl = '\0';
        tz = v;
    }
    if (rc == 0 && tz)
        rc = inv_row_str(row, "timezone", tz);
    if (rc == 0)
        rc = inv_row_bool(row, "reboot_required",
                          inv_lx_exists(ctx, "/run/reboot-required") ||
                              inv_lx_exists(ctx, "/var/run/reboot-required"));
    return rc;
}

/* ---- users ---- */

struct users_walk {
    struct inv_ctx *ctx;
    long uid_min, uid_max;
    const char *group;
    size_t group_len;
    json_t *admins; /* name -> true */
};

static int group_cb(struct inv_span name, struct inv_span members, void *arg)
{
    struct users_walk *w = arg;
    size_t i = 0;
    if (!inv_span_eq(name, "sudo") && !inv_span_eq(name, "wheel") && !inv_span_eq(name, "admin"))
        return 0;
    while (i < members.n) {
        size_t j = i;
        char user[256];
        while (j < members.n && members.p[j] != ',')
            j++;
        if (j > i && j - i < sizeof(user)) {
            memcpy(user, members.p + i, j - i);
            user[j - i] = '\0';
            if (inv_text_clean(user, j - i) &&
                json_object_set_new(w->admins, user, json_true()) != 0)
                return WARD_ENOMEM;
        }
        i = j + 1;
    }
    return 0;
}

static int shell_can_login(struct inv_span sh)
{
    const char *base;
    size_t n;
    if (sh.n == 0)
        return 1; /* empty means /bin/sh */
    base = sh.p + sh.n;
    while (base > sh.p && base[-1] != '/')
        base--;
    n = (size_t)(sh.p + sh.n - base);
    return !((n == 7 && memcmp(base, "nologin", 7) == 0) ||
             (n == 5 && memcmp(base, "false", 5) == 0));
}

static int passwd_cb(const struct inv_passwd *p, void *arg)
{
    struct users_walk *w = arg;
    json_t *row;
    char name[256];
    size_t gn;
    int rc;

    if (p->uid != 0 && (p->uid < w->uid_min || p->uid > w->uid_max || p->uid == 65534))
        return 0;
    if (p->name.n >= sizeof(name))
        return 0;
    memcpy(name, p->name.p, p->name.n);
    name[p->name.n] = '\0';
    row = inv_ctx_new_row(w->ctx, &inv_t_users_accounts);
    if (!row)
        return WARD_ENOMEM;
    gn = p->gecos.n;
    for (size_t i = 0; i < p->gecos.n; i++)
        if (p->gecos.p[i] == ',') {
            gn = i;
            break;
        }
    rc = inv_row_strn(row, "name", p->name.p, p->name.n);
    if (rc == 0)
        rc = inv_row_int(row, "uid", p->uid);
    if (rc == 0)
        rc = inv_row_int(row, "gid", p->gid);
    if (rc == 0 && gn)
        rc = inv_row_strn(row, "full_name", p->gecos.p, gn);
    if (rc == 0)
        rc = inv_row_strn(row, "home", p->home.p, p->home.n);
    if (rc == 0 && p->shell.n)
        rc = inv_row_strn(row, "shell", p->shell.p, p->shell.n);
    if (rc == 0)
        rc = inv_row_bool(row, "can_login", shell_can_login(p->shell));
    if (rc == 0)
        rc = inv_row_bool(row, "admin", p->uid == 0 || json_object_get(w->admins, name) != NULL);
    if (rc == 0 && inv_ctx_expired(w->ctx))
        rc = inv_ctx_fail(w->ctx, WARD_ETIMEDOUT, "over budget reading /etc/passwd");
    return rc;
}

static int utmp_cb(const struct inv_utmp *u, void *arg)
{
    struct inv_ctx *ctx = arg;
    json_t *row;
    int rc;
    if (u->type != INV_UTMP_USER_PROCESS || !u->user[0] || !u->line[0])
        return 0;
    row = inv_ctx_new_row(ctx, &inv_t_users_sessions);
    if (!row)
        return WARD_ENOMEM;
    rc = inv_row_str(row, "user", u->user);
    if (rc == 0)
        rc = inv_row_str(row, "tty", u->line);
    if (rc == 0 && u->host[0])
        rc = inv_row_str(row, "host", u->host);
    if (rc == 0 && u->tv_sec > 0)
        rc = inv_row_int(row, "login_time", u->tv_sec);
    if (rc == 0 && u->pid > 0)
        rc = inv_row_int(row, "pid", u->pid);
    return rc;
}

static int collect_users(struct inv_ctx *ctx)
{
    struct users_walk w;
    struct inv_parse_stats st;
    char *data = NULL;
    size_t len = 0;
    int rc;

    memset(&w, 0, sizeof(w));
    w.ctx = ctx;
    w.uid_min = 1000;
    w.uid_max = 60000;
    w.admins = json_object();
    if (!w.admins || !inv_ctx_table(ctx, &inv_t_users_accounts) ||
        !inv_ctx_table(ctx, &inv_t_users_sessions)) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (inv_lx_read(ctx, "/etc/login.defs", ETC_MAX, &data, &len) == 0)
        inv_login_defs_parse(data, len, &w.uid_min, &w.uid_max);
    ward_free(data);
    data = NULL;
    if (inv_lx_read(ctx, "/etc/group", ETC_MAX, &data, &len) == 0) {
        rc = inv_group_parse(data, len, USERS_MAX, group_cb, &w, NULL);
        if (rc == WARD_ENOMEM)
            goto out;
    }
    ward_free(data);
    data = NULL;
    rc = inv_lx_read(ctx, "/etc/passwd", ETC_MAX, &data, &len);
    if (rc != 0) {
        rc = inv_ctx_fail(ctx, rc, "/etc/passwd: %s", ward_strerror(rc));
        goto out;
    }
    rc = inv_passwd_parse(data, len, USERS_MAX, passwd_cb, &w, &st);
    ward_free(data);
    data = NULL;
    if (rc == WARD_ETIMEDOUT)
        goto out;
    if (rc == WARD_ETOOBIG) {
        ctx->partial = 1;
        rc = inv_ctx_fail(ctx, rc, "/etc/passwd: more than %d accounts", USERS_MAX);
        goto out;
    }
    if (rc != 0)
        goto out;
    if (inv_lx_read(ctx, "/run/utmp", UTMP_MAX, &data, &len) == 0 ||
        inv_lx_read(ctx, "/var/run/utmp", UTMP_MAX, &data, &len) == 0) {
        rc = inv_utmp_parse(data, len, USERS_MAX, utmp_cb, ctx, NULL);
        if (rc == WARD_ETOOBIG)
            rc = 0;
    }
    if (rc == 0 && st.bad) {
        ctx->partial = 1;
        rc = inv_ctx_fail(ctx, WARD_EPARSE, "/etc/passwd: %zu malformed lines", st.bad);
    }
out:
    ward_free(data);
    json_decref(w.admins);
    return rc;
}

const struct inv_collector inv_lx_os = {
    .name = "os",
    .section = &inv_sec_os,
    .collect = collect_os,
    .budget_ms = 200,
    .cheap = 1,
};
const struct inv_collector inv_lx_users = {
    .name = "users",
    .section = &inv_sec_users,
    .collect = collect_users,
    .budget_ms = 300,
    .cheap = 1,
};
