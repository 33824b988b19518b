/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `package` kind: a Debian package installed (optionally at least some version) or
 * not installed. Checked from the dpkg database under the root (pkgdb.c); repaired with
 * apt-get run by argv (through /usr/bin/env to set DEBIAN_FRONTEND=noninteractive; never a
 * shell). Remediation runs only on the live system, root "/": under another root apt-get
 * would run this host's dpkg and the tree's maintainer scripts against the wrong system
 * (`-o Dir=` moves apt's files, not dpkg's scripts), so it fails with that reason instead.
 * `min_version` installs the candidate apt offers (not `pkg=version`, which an archive
 * rarely still carries) and the engine's re-check judges whether it is new enough.
 * rpm-based systems (dnf) are not supported yet: their check reports WARD_ENOTSUP.
 */
#define WARD_LOG_TAG "enf-package"

#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "ward/error.h"
#include "ward/vercmp.h"

#define DPKG_STATUS "/var/lib/dpkg/status"
#define APT_GET "/usr/bin/apt-get"
#define ENV "/usr/bin/env"

static const char *const states[] = {"present", "absent", NULL};

static const struct enf_field fields[] = {
    {.name = "name",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Debian package name (`telnet`), or `name:arch` for one architecture."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`present` installs it (`apt-get install`), `absent` removes it "
                    "(`apt-get remove`: configuration files stay, as dpkg's `rc` state)."},
    {.name = "min_version",
     .type = ENF_F_STRING,
     .description = "With `present`: the installed version must be at least this (Debian "
                    "version ordering). Repaired by installing apt's candidate."},
    {.name = "update",
     .type = ENF_F_BOOL,
     .def = "false",
     .description = "Run `apt-get update` before installing."},
    {.name = "timeout",
     .type = ENF_F_INT,
     .min = 10,
     .max = 7200,
     .def = "900",
     .description = "Seconds each apt-get run may take."},
    {.name = NULL},
};

int enf_deb_name_ok(const char *n)
{
    const char *colon = strchr(n, ':');
    size_t len = colon ? (size_t)(colon - n) : strlen(n);
    if (len < 2 || len > 128 || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= '0' && n[0] <= '9')))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || strchr("+-.", n[i])))
            return 0;
    if (colon) {
        if (colon[1] == '\0' || strlen(colon + 1) > 32)
            return 0;
        for (const char *c = colon + 1; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
                return 0;
    }
    return 1;
}

static int version_ok(const char *v)
{
    if (!v[0] || strlen(v) > 200 || !(v[0] >= '0' && v[0] <= '9'))
        return 0;
    for (const char *c = v; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr(".+~:-", *c)))
            return 0;
    return 1;
}

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    char p[WARD_JSON_PATH_MAX];
    const char *mv = enf_str(s, "min_version", NULL);
    if (!enf_deb_name_ok(enf_str(s, "name", ""))) {
        enf_diag_path(d, "name", p, sizeof(p));
        enf_diag(d, p, "\"%.64s\" is not a Debian package name", enf_str(s, "name", ""));
        return 1;
    }
    if (mv && strcmp(enf_str(s, "state", "present"), "absent") == 0) {
        enf_diag_path(d, "min_version", p, sizeof(p));
        enf_diag(d, p, "only with state \"present\"");
        return 1;
    }
    if (mv && !version_ok(mv)) {
        enf_diag_path(d, "min_version", p, sizeof(p));
        enf_diag(d, p, "\"%.64s\" is not a Debian version", mv);
        return 1;
    }
    return 0;
}

struct params {
    const char *name, *min_version;
    int absent, update;
    uint64_t timeout_ms;
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    p->name = enf_str(s, "name", "");
    p->min_version = enf_str(s, "min_version", NULL);
    p->absent = strcmp(enf_str(s, "state", "present"), "absent") == 0;
    p->update = enf_bool(s, "update", 0);
    p->timeout_ms = (uint64_t)enf_int(s, "timeout", 900) * 1000u;
}

static int lookup(struct enf_ctx *ctx, const char *name, int *installed, char *ver, size_t verlen)
{
    const char *data;
    size_t len;
    int rc = enf_file_read(ctx, DPKG_STATUS, &data, &len);
    if (rc == WARD_ENOENT) {
        struct plat_fs_info info;
        if (enf_file_stat(ctx, "/var/lib/rpm", 0, &info) == 0)
            enf_ctx_detail(ctx, "rpm-based system: the package kind reads only the dpkg "
                                "database so far");
        else
            enf_ctx_detail(ctx, "no package database under root %s (%s missing)", enf_ctx_root(ctx),
                           DPKG_STATUS);
        return WARD_ENOTSUP;
    }
    if (rc != 0)
        return rc;
    enf_dpkg_lookup(data, len, name, installed, ver, verlen);
    return 0;
}

static int compliant(const struct params *p, int installed, const char *ver)
{
    if (p->absent)
        return !installed;
    return installed && (!p->min_version || ward_vercmp_dpkg(ver, p->min_version) >= 0);
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    char ver[256];
    int installed, rc;
    params_get(s, &p);
    if (p.absent)
        enf_check_expected(out, "not installed");
    else if (p.min_version)
        enf_check_expected(out, "installed, version >= %s", p.min_version);
    else
        enf_check_expected(out, "installed");
    rc = lookup(ctx, p.name, &installed, ver, sizeof(ver));
    if (rc != 0)
        return rc;
    if (installed)
        enf_check_actual(out, "installed %s", ver);
    else
        enf_check_actual(out, "not installed");
    out->compliant = compliant(&p, installed, ver);
    return 0;
}

/* env DEBIAN_FRONTEND=noninteractive apt-get -y -q [opts] op arg */
static int apt(struct enf_ctx *ctx, const struct params *p, const char *op, const char *arg,
               int allow_downgrades)
{
    const char *argv[16];
    struct plat_proc_result res;
    struct plat_fs_info info;
    char line[240];
    size_t n = 0;
    int rc;

    if (!enf_root_is_live(ctx)) {
        enf_ctx_detail(ctx,
                       "package changes run only on the live system (root /): apt-get under "
                       "root %s would run maintainer scripts against this host",
                       enf_ctx_root(ctx));
        return WARD_ENOTSUP;
    }
    if (enf_file_stat(ctx, APT_GET, 0, &info) != 0 || enf_file_stat(ctx, ENV, 0, &info) != 0) {
        enf_ctx_detail(ctx, "%s or %s is missing", APT_GET, ENV);
        return WARD_ENOTSUP;
    }
    argv[n++] = ENV;
    argv[n++] = "DEBIAN_FRONTEND=noninteractive";
    argv[n++] = APT_GET;
    argv[n++] = "-y";
    argv[n++] = "-q";
    if (strcmp(op, "update") != 0) {
        /* keep changed configuration files, take new defaults for untouched ones */
        argv[n++] = "-o";
        argv[n++] = "Dpkg::Options::=--force-confdef";
        argv[n++] = "-o";
        argv[n++] = "Dpkg::Options::=--force-confold";
    }
    if (allow_downgrades)
        argv[n++] = "--allow-downgrades";
    argv[n++] = op;
    if (arg)
        argv[n++] = arg;
    argv[n] = NULL;
    memset(&res, 0, sizeof(res));
    rc = enf_proc_run(ctx, argv, p->timeout_ms, &res);
    enf_file_forget(ctx, DPKG_STATUS); /* apt-get changed it behind the run's cache */
    if (rc != 0) {
        enf_ctx_detail(ctx, "cannot run %s: %s", APT_GET, ward_strerror(rc));
    } else if (res.timed_out || res.term_signal || res.exit_status != 0) {
        enf_proc_last_line(&res, line, sizeof(line));
        if (res.timed_out)
            enf_ctx_detail(ctx, "apt-get %s %s timed out", op, arg ? arg : "");
        else
            enf_ctx_detail(ctx, "apt-get %s %s: exit %lld: %s", op, arg ? arg : "",
                           (long long)res.exit_status, line);
        rc = res.timed_out ? WARD_ETIMEDOUT : WARD_EIO;
    }
    plat_proc_result_release(&res);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    int rc = 0;
    params_get(s, &p);
    if (p.absent)
        return apt(ctx, &p, "remove", p.name, 0);
    if (p.update)
        rc = apt(ctx, &p, "update", NULL, 0);
    if (rc == 0)
        rc = apt(ctx, &p, "install", p.name, 0);
    return rc;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct params p;
    char ver[256];
    int installed, rc;
    *out = NULL;
    params_get(s, &p);
    rc = lookup(ctx, p.name, &installed, ver, sizeof(ver));
    if (rc != 0)
        return rc;
    *out = json_pack("{s:b, s:o}", "installed", installed, "version",
                     installed ? json_string(ver) : json_null());
    return *out ? 0 : WARD_ENOMEM;
}

/* Removes what was not there, or installs the prior version again (when the archive still
 * has it: otherwise apt-get's reason is the error). */
static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    const json_t *v = json_object_get(snap, "version");
    char ver[256], arg[512];
    int installed, was = json_is_true(json_object_get(snap, "installed")), rc;
    params_get(s, &p);
    rc = lookup(ctx, p.name, &installed, ver, sizeof(ver));
    if (rc != 0)
        return rc;
    if (!was)
        return installed ? apt(ctx, &p, "remove", p.name, 0) : 0;
    if (!json_is_string(v) || !version_ok(json_string_value(v)))
        return WARD_ECORRUPT;
    if (installed && strcmp(ver, json_string_value(v)) == 0)
        return 0;
    snprintf(arg, sizeof(arg), "%s=%s", p.name, json_string_value(v));
    return apt(ctx, &p, "install", arg, 1);
}

const struct enf_kind enf_kind_package = {
    .name = "package",
    .summary = "A Debian package installed (at least some version) or not, from the dpkg "
               "database; repaired with apt-get by argv on the live system.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
};
