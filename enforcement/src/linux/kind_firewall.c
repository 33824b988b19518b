/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `firewall` kind: the host firewall enabled, for whichever of ufw, firewalld or
 * nftables is present under the root (found from their configuration files, in that
 * order: ufw and firewalld are front ends that may sit on top of nftables). What
 * "enabled" means, per backend:
 *   - ufw: `ENABLED=yes` in /etc/ufw/ufw.conf, which ufw's boot job reads (edited through
 *     the `line` kind). The rules load at the next boot or `ufw reload`; Ward does not run
 *     ufw itself.
 *   - nftables: nftables.service enabled and running (through the `service` kind over
 *     D-Bus), so /etc/nftables.conf is loaded; its rule content is not judged.
 *   - firewalld: firewalld.service enabled and running, the same way.
 * Without a reachable systemd (another root, no WARD_SYSTEM_BUS_ADDRESS) the service
 * backends are checked from the install symlink only (sysinit.target.wants for nftables,
 * multi-user.target.wants for firewalld) and cannot be repaired.
 */
#define WARD_LOG_TAG "enf-firewall"

#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "ward/error.h"

static const char *const backends[] = {"auto", "ufw", "firewalld", "nftables", NULL};

static const struct enf_field fields[] = {
    {.name = "backend",
     .type = ENF_F_ENUM,
     .allowed = backends,
     .def = "auto",
     .description = "Which firewall: `auto` picks the first present of ufw "
                    "(/etc/ufw/ufw.conf), firewalld (/etc/firewalld/firewalld.conf), nftables "
                    "(/etc/nftables.conf)."},
    {.name = NULL},
};

struct backend {
    const char *name, *conf, *unit, *wants;
};

static const struct backend table[] = {
    {"ufw", "/etc/ufw/ufw.conf", NULL, NULL},
    {"firewalld", "/etc/firewalld/firewalld.conf", "firewalld.service",
     "/etc/systemd/system/multi-user.target.wants/firewalld.service"},
    {"nftables", "/etc/nftables.conf", "nftables.service",
     "/etc/systemd/system/sysinit.target.wants/nftables.service"},
    {NULL, NULL, NULL, NULL},
};

/* The backend to manage, or NULL (detail set) when none is there. */
static const struct backend *detect(struct enf_ctx *ctx, const struct enf_setting *s)
{
    const char *want = enf_str(s, "backend", "auto");
    struct plat_fs_info info;
    for (const struct backend *b = table; b->name; b++) {
        if (strcmp(want, "auto") != 0 && strcmp(want, b->name) != 0)
            continue;
        if (enf_file_stat(ctx, b->conf, 0, &info) == 0)
            return b;
    }
    if (strcmp(want, "auto") == 0)
        enf_ctx_detail(ctx, "no firewall under root %s (none of ufw, firewalld, nftables)",
                       enf_ctx_root(ctx));
    else
        enf_ctx_detail(ctx, "%s is not installed under root %s", want, enf_ctx_root(ctx));
    return NULL;
}

static int make_sub(const struct enf_setting *s, const struct backend *b, struct enf_sub *sub)
{
    if (!b->unit)
        return enf_sub_init(sub, s, &enf_kind_line,
                            json_pack("{s:s, s:s, s:s, s:s, s:b}", "path", b->conf, "key",
                                      "ENABLED", "value", "yes", "separator", "=", "create", 0));
    return enf_sub_init(
        sub, s, &enf_kind_service,
        json_pack("{s:s, s:s, s:b}", "unit", b->unit, "enablement", "enabled", "active", 1));
}

/* Service backends without systemd to ask: only the install symlink can be seen. */
static int offline(struct enf_ctx *ctx, const struct backend *b)
{
    return b->unit && !enf_sd_reachable(ctx);
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    const struct backend *b = detect(ctx, s);
    struct enf_sub sub;
    int rc;
    if (!b) {
        enf_check_expected(out, "a firewall enabled");
        enf_check_actual(out, "no firewall installed");
        out->compliant = 0;
        return 0;
    }
    if (offline(ctx, b)) {
        struct plat_fs_info info;
        int on = enf_file_stat(ctx, b->wants, PLAT_FS_NOFOLLOW, &info) == 0;
        enf_check_expected(out, "%s: %s enabled", b->name, b->unit);
        enf_check_actual(out,
                         "%s: %s %s (install symlink; running state unknown without a "
                         "system bus)",
                         b->name, b->unit, on ? "enabled" : "not enabled");
        out->compliant = on;
        return 0;
    }
    rc = make_sub(s, b, &sub);
    if (rc == 0)
        rc = sub.s.kind->check(ctx, &sub.s, out);
    enf_sub_release(&sub);
    if (rc == 0) {
        /* prefix the sub-kind's words with the backend */
        char e[512], a[512];
        snprintf(e, sizeof(e), "%s: %s", b->name, out->expected.data ? out->expected.data : "");
        snprintf(a, sizeof(a), "%s: %s", b->name, out->actual.data ? out->actual.data : "");
        enf_check_expected(out, "%s", e);
        enf_check_actual(out, "%s", a);
    }
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    const struct backend *b = detect(ctx, s);
    struct enf_sub sub;
    int rc;
    if (!b) {
        enf_ctx_detail(ctx,
                       "no firewall under root %s to enable (install ufw or nftables "
                       "first, e.g. with the package kind)",
                       enf_ctx_root(ctx));
        return WARD_ENOTSUP;
    }
    if (offline(ctx, b)) {
        enf_ctx_detail(ctx, "%s cannot be enabled under root %s: systemd cannot be asked there",
                       b->unit, enf_ctx_root(ctx));
        return WARD_ENOTSUP;
    }
    rc = make_sub(s, b, &sub);
    if (rc == 0)
        rc = sub.s.kind->apply(ctx, &sub.s);
    enf_sub_release(&sub);
    return rc;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    const struct backend *b = detect(ctx, s);
    struct enf_sub sub;
    json_t *inner = NULL;
    int rc;
    *out = NULL;
    if (!b || offline(ctx, b)) {
        *out = json_pack("{s:o}", "backend", b ? json_string(b->name) : json_null());
        return *out ? 0 : WARD_ENOMEM;
    }
    rc = make_sub(s, b, &sub);
    if (rc == 0)
        rc = sub.s.kind->snapshot(ctx, &sub.s, &inner);
    enf_sub_release(&sub);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:s, s:o}", "backend", b->name, "state", inner);
    return *out ? 0 : WARD_ENOMEM;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    const json_t *name = json_object_get(snap, "backend"), *inner = json_object_get(snap, "state");
    struct enf_sub sub;
    int rc;
    if (!json_is_object(snap))
        return WARD_ECORRUPT;
    if (!json_is_string(name) || !inner)
        return 0; /* nothing was changed */
    for (const struct backend *b = table; b->name; b++) {
        if (strcmp(b->name, json_string_value(name)) != 0)
            continue;
        rc = make_sub(s, b, &sub);
        if (rc == 0)
            rc = sub.s.kind->restore(ctx, &sub.s, inner);
        enf_sub_release(&sub);
        return rc;
    }
    return WARD_ECORRUPT;
}

const struct enf_kind enf_kind_firewall = {
    .name = "firewall",
    .summary = "The host firewall enabled: ufw (ufw.conf), firewalld or nftables (their "
               "service), whichever is present.",
    .fields = fields,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
};
