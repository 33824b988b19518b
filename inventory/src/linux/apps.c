/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux apps collector and its package managers other than rpm (rpm.c): dpkg (our own
 * parser of /var/lib/dpkg/status: the rows `dpkg-query -W` lists), flatpak (system
 * installation: /var/lib/flatpak/app/<id>/current -> <arch>/<branch>, the version from
 * the deployment's GVariant "deploy" data) and snap (/snap/<name>/current/meta/snap.yaml,
 * the metadata of the mounted current revision; state.json is larger, private to snapd
 * and changes format). Each manager is one table entry, detected at run time; one that
 * fails leaves the others' rows in place and the section error says which failed.
 */
#define WARD_LOG_TAG "inv-apps"

#include <stdio.h>
#include <string.h>

#include "../collector.h"
#include "apps.h"
#include "inventory/parse.h"
#include "lxfs.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define DPKG_STATUS "/var/lib/dpkg/status"
#define DPKG_STATUS_MAX (128u << 20) /* big desktops have ~10 MB; a hostile file stops here */
#define DPKG_ROWS_MAX 200000
#define META_MAX (1u << 20)

json_t *inv_app_row(struct inv_ctx *ctx, const char *source, const char *name, size_t name_len,
                    const char *arch, size_t arch_len, const char *version, size_t version_len)
{
    json_t *row = inv_ctx_new_row(ctx, &inv_t_apps);
    if (!row)
        return NULL;
    if (inv_row_str(row, "source", source) != 0 || inv_row_strn(row, "name", name, name_len) != 0 ||
        inv_row_strn(row, "arch", arch ? arch : "", arch ? arch_len : 0) != 0 ||
        (version && version_len && inv_row_strn(row, "version", version, version_len) != 0))
        return NULL;
    return row;
}

/* ---- dpkg ---- */

struct dpkg_walk {
    struct inv_ctx *ctx;
    int timed_out;
};

static int dpkg_cb(const struct inv_dpkg_pkg *p, void *arg)
{
    struct dpkg_walk *w = arg;
    json_t *row;
    /* the clock every 64 rows: a status file parses at ~1 row per microsecond */
    if ((w->ctx->checks++ & 63) == 0 && inv_ctx_expired(w->ctx)) {
        w->timed_out = 1;
        return 1;
    }
    row = inv_app_row(w->ctx, "dpkg", p->name.p, p->name.n, p->arch.p, p->arch.n, p->version.p,
                      p->version.n);
    if (!row)
        return WARD_ENOMEM;
    if (inv_row_strn(row, "status", p->state.p, p->state.n) != 0)
        return WARD_ENOMEM;
    if (p->installed_size_kib >= 0 && p->installed_size_kib < (1LL << 40) &&
        inv_row_int(row, "installed_size_bytes", p->installed_size_kib * 1024) != 0)
        return WARD_ENOMEM;
    /* dpkg-query's ${source:Package}: the binary package's own name when Source is absent */
    if (inv_row_strn(row, "source_package", p->source.n ? p->source.p : p->name.p,
                     p->source.n ? p->source.n : p->name.n) != 0)
        return WARD_ENOMEM;
    return 0;
}

static int dpkg_detect(struct inv_ctx *ctx)
{
    return inv_lx_exists(ctx, DPKG_STATUS);
}

static int dpkg_collect(struct inv_ctx *ctx)
{
    struct dpkg_walk w = {ctx, 0};
    struct inv_parse_stats st;
    char *data = NULL;
    size_t len = 0;
    int rc;

    rc = inv_lx_read(ctx, DPKG_STATUS, DPKG_STATUS_MAX, &data, &len);
    if (rc != 0)
        return inv_ctx_fail(ctx, rc, "dpkg: %s: %s", DPKG_STATUS, ward_strerror(rc));
    rc = inv_dpkg_parse(data, len, DPKG_ROWS_MAX, dpkg_cb, &w, &st);
    ward_free(data);
    if (w.timed_out)
        return inv_ctx_fail(ctx, WARD_ETIMEDOUT, "dpkg: over budget after %zu packages", st.rows);
    if (rc == WARD_ETOOBIG)
        return inv_ctx_fail(ctx, rc, "dpkg: more than %d packages", DPKG_ROWS_MAX);
    if (rc != 0)
        return rc;
    if (st.bad)
        return inv_ctx_fail(ctx, WARD_EPARSE, "dpkg: %zu malformed stanzas in %s", st.bad,
                            DPKG_STATUS);
    return 0;
}

const struct inv_pkgmgr inv_pkg_dpkg = {
    .name = "dpkg",
    .detect = dpkg_detect,
    .collect = dpkg_collect,
};

/* ---- flatpak ---- */

#define FLATPAK_APPS "/var/lib/flatpak/app"

static int flatpak_detect(struct inv_ctx *ctx)
{
    return inv_lx_exists(ctx, FLATPAK_APPS);
}

static int flatpak_collect(struct inv_ctx *ctx)
{
    struct inv_names ids = {NULL, 0};
    int rc;

    rc = inv_lx_listdir(ctx, FLATPAK_APPS, &ids);
    if (rc != 0 && rc != WARD_ETOOBIG)
        return inv_ctx_fail(ctx, rc, "flatpak: %s: %s", FLATPAK_APPS, ward_strerror(rc));
    rc = 0;
    for (size_t i = 0; rc == 0 && i < ids.n; i++) {
        char cur[256], path[600], *data = NULL, *slash;
        size_t len = 0;
        struct inv_span ver = {NULL, 0};
        json_t *row;

        if (inv_ctx_expired(ctx)) {
            rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "flatpak: over budget");
            break;
        }
        /* current -> "x86_64/stable" */
        if (inv_lx_readlink(ctx, cur, sizeof(cur), FLATPAK_APPS "/%s/current", ids.v[i]) != 0)
            continue;
        slash = strchr(cur, '/');
        if (!slash || strchr(slash + 1, '/') || cur[0] == '.' || slash[1] == '.')
            continue;
        *slash = '\0';
        snprintf(path, sizeof(path), FLATPAK_APPS "/%s/%s/%s/active/deploy", ids.v[i], cur,
                 slash + 1);
        if (inv_lx_read(ctx, path, META_MAX, &data, &len) == 0)
            inv_gvariant_find_string(data, len, "appdata-version", &ver);
        row =
            inv_app_row(ctx, "flatpak", ids.v[i], strlen(ids.v[i]), cur, strlen(cur), ver.p, ver.n);
        if (!row || inv_row_str(row, "branch", slash + 1) != 0 ||
            inv_row_str(row, "status", "installed") != 0)
            rc = WARD_ENOMEM;
        ward_free(data);
    }
    inv_names_release(&ids);
    return rc;
}

const struct inv_pkgmgr inv_pkg_flatpak = {
    .name = "flatpak",
    .detect = flatpak_detect,
    .collect = flatpak_collect,
};

/* ---- snap ---- */

static const char *snap_dir(struct inv_ctx *ctx)
{
    if (!inv_lx_exists(ctx, "/var/lib/snapd"))
        return NULL;
    if (inv_lx_exists(ctx, "/snap"))
        return "/snap";
    if (inv_lx_exists(ctx, "/var/lib/snapd/snap"))
        return "/var/lib/snapd/snap"; /* Fedora, Arch */
    return NULL;
}

static int snap_detect(struct inv_ctx *ctx)
{
    return snap_dir(ctx) != NULL;
}

static int snap_collect(struct inv_ctx *ctx)
{
    const char *dir = snap_dir(ctx);
    struct inv_names names = {NULL, 0};
    int rc;

    if (!dir)
        return 0;
    rc = inv_lx_listdir(ctx, dir, &names);
    if (rc != 0 && rc != WARD_ETOOBIG)
        return inv_ctx_fail(ctx, rc, "snap: %s: %s", dir, ward_strerror(rc));
    rc = 0;
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        char rev[64], path[600], *data = NULL;
        size_t len = 0;
        struct inv_snap_yaml y;
        json_t *row;

        if (inv_ctx_expired(ctx)) {
            rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "snap: over budget");
            break;
        }
        if (inv_lx_readlink(ctx, rev, sizeof(rev), "%s/%s/current", dir, names.v[i]) != 0)
            continue; /* bin, README */
        snprintf(path, sizeof(path), "%s/%s/current/meta/snap.yaml", dir, names.v[i]);
        if (inv_lx_read(ctx, path, META_MAX, &data, &len) != 0 ||
            inv_snap_yaml_parse(data, len, &y) != 0) {
            ward_free(data);
            continue; /* not mounted */
        }
        row = inv_app_row(ctx, "snap", y.name.p, y.name.n, y.arch.n ? y.arch.p : "all",
                          y.arch.n ? y.arch.n : 3, y.version.p, y.version.n);
        if (!row || inv_row_str(row, "revision", rev) != 0 ||
            inv_row_str(row, "status", "installed") != 0)
            rc = WARD_ENOMEM;
        ward_free(data);
    }
    inv_names_release(&names);
    return rc;
}

const struct inv_pkgmgr inv_pkg_snap = {
    .name = "snap",
    .detect = snap_detect,
    .collect = snap_collect,
};

/* ---- the collector ---- */

static const struct inv_pkgmgr *const managers[] = {
    &inv_pkg_dpkg, &inv_pkg_rpm, &inv_pkg_flatpak, &inv_pkg_snap, NULL,
};

static int collect_apps(struct inv_ctx *ctx)
{
    char first_msg[sizeof(ctx->msg)] = "";
    int first = 0;

    if (!inv_ctx_table(ctx, &inv_t_apps))
        return WARD_ENOMEM;
    for (size_t i = 0; managers[i]; i++) {
        int rc;
        if (!managers[i]->detect(ctx))
            continue;
        ctx->msg[0] = '\0';
        rc = managers[i]->collect(ctx);
        if (rc == WARD_ENOMEM)
            return rc;
        if (rc != 0 && !first) {
            first = rc;
            if (ctx->msg[0])
                memcpy(first_msg, ctx->msg, sizeof(first_msg));
            else
                snprintf(first_msg, sizeof(first_msg), "%s: %s", managers[i]->name,
                         ward_strerror(rc));
        }
        if (rc == WARD_ETIMEDOUT)
            break;
    }
    if (first) {
        ctx->partial = 1; /* rows from the managers that worked are right */
        memcpy(ctx->msg, first_msg, sizeof(ctx->msg));
    }
    return first;
}

const struct inv_collector inv_lx_apps = {
    .name = "apps",
    .section = &inv_sec_apps,
    .collect = collect_apps,
    .budget_ms = 3000,
    .cheap = 0,
};
