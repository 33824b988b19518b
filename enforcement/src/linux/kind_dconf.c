/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `dconf` kind: a locked system-wide dconf setting (GNOME's screen lock delay ...).
 * It writes the key into a keyfile of a system database (/etc/dconf/db/<db>.d/<file>, via
 * the `ini` kind's slots), the key's path into that database's locks file (via the `line`
 * kind), makes sure /etc/dconf/profile/user reads the database, and compiles the binary
 * database dconf actually reads: `dconf update` on the live system, `dconf compile DB DIR`
 * for another root. Compliance includes a compiled database no older than its keyfiles,
 * since keyfiles alone change nothing for users; without /usr/bin/dconf that fails with
 * the reason.
 */
#define WARD_LOG_TAG "enf-dconf"

#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "ward/error.h"

#define DCONF "/usr/bin/dconf"
#define PROFILE "/etc/dconf/profile/user"

static const struct enf_field fields[] = {
    {.name = "key",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "dconf key path (`/org/gnome/desktop/session/idle-delay`)."},
    {.name = "value",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "The value in GVariant text form, as in a keyfile (`uint32 900`, `true`, "
                    "`'suspend'`)."},
    {.name = "lock",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Lock the key (listed in the database's `locks/` file) so users cannot "
                    "override it."},
    {.name = "db",
     .type = ENF_F_STRING,
     .def = "local",
     .description = "System database name (`/etc/dconf/db/<db>.d`)."},
    {.name = "file",
     .type = ENF_F_STRING,
     .def = "00-ward",
     .description = "Keyfile and locks file name inside the database directory."},
    {.name = "profile",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Make sure /etc/dconf/profile/user has `system-db:<db>` (created with "
                    "`user-db:user` first when missing)."},
    {.name = NULL},
};

static int name_ok(const char *s)
{
    if (!s[0] || strlen(s) > 64 || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-_.", *s)))
            return 0;
    return 1;
}

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const char *k = enf_str(s, "key", "");
    char p[WARD_JSON_PATH_MAX];
    int bad = k[0] != '/' || k[strlen(k) - 1] == '/' || strstr(k, "//") || strlen(k) > 512 ||
              !strchr(k + 1, '/');
    for (const char *c = k; *c && !bad; c++)
        bad = !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                strchr("-_./", *c));
    if (bad) {
        enf_diag_path(d, "key", p, sizeof(p));
        enf_diag(d, p, "\"%.64s\" is not a dconf key (/dir/.../name)", k);
        return 1;
    }
    if (strchr(enf_str(s, "value", ""), '\n') || enf_str(s, "value", "")[0] == '\0') {
        enf_diag_path(d, "value", p, sizeof(p));
        enf_diag(d, p, "must be a non-empty single line");
        return 1;
    }
    if (!name_ok(enf_str(s, "db", "local")) || !name_ok(enf_str(s, "file", "00-ward"))) {
        enf_diag(d, d->setting_path,
                 "\"db\" and \"file\" are plain names (letters, digits, - _ .)");
        return 1;
    }
    return 0;
}

struct params {
    const char *key, *value, *db;
    int lock, profile;
    char section[512], name[256];
    char dbfile[128], dbdir[128], keyfile[256], lockfile[256], sysdb[128];
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    const char *slash;
    const char *file = enf_str(s, "file", "00-ward");
    p->key = enf_str(s, "key", "/x/y");
    p->value = enf_str(s, "value", "");
    p->db = enf_str(s, "db", "local");
    p->lock = enf_bool(s, "lock", 1);
    p->profile = enf_bool(s, "profile", 1);
    slash = strrchr(p->key, '/');
    snprintf(p->section, sizeof(p->section), "%.*s", (int)(slash - p->key - 1), p->key + 1);
    snprintf(p->name, sizeof(p->name), "%s", slash + 1);
    snprintf(p->dbfile, sizeof(p->dbfile), "/etc/dconf/db/%s", p->db);
    snprintf(p->dbdir, sizeof(p->dbdir), "/etc/dconf/db/%s.d", p->db);
    snprintf(p->keyfile, sizeof(p->keyfile), "%s/%s", p->dbdir, file);
    snprintf(p->lockfile, sizeof(p->lockfile), "%s/locks/%s", p->dbdir, file);
    snprintf(p->sysdb, sizeof(p->sysdb), "system-db:%s", p->db);
}

enum part { KEYFILE, LOCK, PROFILE_LINE, NPARTS };

static int sub_for(const struct enf_setting *s, const struct params *p, enum part w,
                   struct enf_sub *sub)
{
    json_t *params;
    if (w == KEYFILE)
        params = json_pack("{s:s, s:s, s:s, s:s, s:b}", "path", p->keyfile, "section", p->section,
                           "key", p->name, "value", p->value, "spaced", 0);
    else
        params = json_pack("{s:s, s:s}", "path", w == LOCK ? p->lockfile : PROFILE, "line",
                           w == LOCK ? p->key : p->sysdb);
    return enf_sub_init(sub, s, w == KEYFILE ? &enf_kind_ini : &enf_kind_line, params);
}

static int part_used(const struct params *p, enum part w)
{
    return w == KEYFILE || (w == LOCK && p->lock) || (w == PROFILE_LINE && p->profile);
}

static int part_check(struct enf_ctx *ctx, const struct enf_setting *s, const struct params *p,
                      enum part w, int *ok)
{
    struct enf_sub sub;
    struct enf_check c;
    int rc;
    memset(&c, 0, sizeof(c));
    ward_buf_init(&c.expected, 4096);
    ward_buf_init(&c.actual, 4096);
    rc = sub_for(s, p, w, &sub);
    if (rc == 0)
        rc = sub.s.kind->check(ctx, &sub.s, &c);
    *ok = rc == 0 && c.compliant;
    enf_sub_release(&sub);
    ward_buf_release(&c.expected);
    ward_buf_release(&c.actual);
    return rc;
}

/* 1 when the compiled database exists and is no older than the files it is built from. */
static int compiled(struct enf_ctx *ctx, const struct params *p)
{
    struct plat_fs_info db, f;
    if (enf_file_stat(ctx, p->dbfile, 0, &db) != 0)
        return 0;
    if (enf_file_stat(ctx, p->keyfile, 0, &f) == 0 && f.mtime_ns > db.mtime_ns)
        return 0;
    if (p->lock && enf_file_stat(ctx, p->lockfile, 0, &f) == 0 && f.mtime_ns > db.mtime_ns)
        return 0;
    return 1;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    int ok[NPARTS] = {1, 1, 1}, rc, db;
    params_get(s, &p);
    enf_check_expected(out, "%s = %s%s%s, compiled", p.key, p.value, p.lock ? ", locked" : "",
                       p.profile ? ", in the user profile" : "");
    for (int w = 0; w < NPARTS; w++) {
        if (!part_used(&p, (enum part)w))
            continue;
        rc = part_check(ctx, s, &p, (enum part)w, &ok[w]);
        if (rc != 0)
            return rc;
    }
    db = compiled(ctx, &p);
    enf_check_actual(
        out, "%s%s%s%s", ok[KEYFILE] ? "value set" : "value not set",
        p.lock ? (ok[LOCK] ? ", locked" : ", not locked") : "",
        p.profile ? (ok[PROFILE_LINE] ? ", in the user profile" : ", not in the user profile") : "",
        db ? ", compiled" : ", database not compiled since the change");
    out->compliant = ok[KEYFILE] && ok[LOCK] && ok[PROFILE_LINE] && db;
    return 0;
}

/* dconf update (live) or dconf compile <root>/etc/dconf/db/<db> <root>/...<db>.d. */
static int compile(struct enf_ctx *ctx, const struct params *p)
{
    char out[PLAT_FS_MAX_PATH * 2], dir[PLAT_FS_MAX_PATH * 2];
    const char *root = enf_ctx_root(ctx);
    const char *argv[5];
    struct plat_proc_result res;
    int rc;
    if (enf_root_is_live(ctx)) {
        argv[0] = DCONF;
        argv[1] = "update";
        argv[2] = NULL;
    } else {
        size_t rl = strlen(root);
        while (rl > 1 && root[rl - 1] == '/')
            rl--;
        snprintf(out, sizeof(out), "%.*s%s", (int)rl, root, p->dbfile);
        snprintf(dir, sizeof(dir), "%.*s%s", (int)rl, root, p->dbdir);
        argv[0] = DCONF;
        argv[1] = "compile";
        argv[2] = out;
        argv[3] = dir;
        argv[4] = NULL;
    }
    memset(&res, 0, sizeof(res));
    rc = enf_proc_run(ctx, argv, 60000, &res);
    if (rc == WARD_ENOENT) {
        enf_ctx_detail(ctx,
                       "%s is not installed: the keyfiles are written but the database %s "
                       "needs compiling (dconf update)",
                       DCONF, p->dbfile);
        rc = WARD_ENOTSUP;
    } else if (rc != 0) {
        enf_ctx_detail(ctx, "cannot run %s: %s", DCONF, ward_strerror(rc));
    } else if (res.timed_out || res.term_signal || res.exit_status != 0) {
        enf_ctx_detail(ctx, "dconf %s: exit %lld: %.200s", argv[1], (long long)res.exit_status,
                       res.err_len ? res.err : res.out);
        rc = WARD_EIO;
    }
    plat_proc_result_release(&res);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    const char *data;
    size_t len;
    int rc = 0;
    params_get(s, &p);
    for (int w = 0; rc == 0 && w < NPARTS; w++) {
        struct enf_sub sub;
        int ok;
        if (!part_used(&p, (enum part)w))
            continue;
        rc = part_check(ctx, s, &p, (enum part)w, &ok);
        if (rc != 0 || ok)
            continue;
        if (w == PROFILE_LINE && enf_file_read(ctx, PROFILE, &data, &len) == WARD_ENOENT) {
            char text[200];
            int n = snprintf(text, sizeof(text), "user-db:user\n%s\n", p.sysdb);
            rc = enf_mkdir_parent(ctx, PROFILE);
            if (rc == 0)
                rc = enf_file_write(ctx, PROFILE, text, (size_t)n, NULL);
            continue;
        }
        rc = sub_for(s, &p, (enum part)w, &sub);
        if (rc == 0)
            rc = sub.s.kind->apply(ctx, &sub.s);
        enf_sub_release(&sub);
    }
    if (rc == 0 && !compiled(ctx, &p))
        rc = compile(ctx, &p);
    return rc;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    static const char *const names[NPARTS] = {"keyfile", "lock", "profile"};
    struct params p;
    struct plat_fs_info info;
    json_t *all = json_object();
    int rc = all ? 0 : WARD_ENOMEM;
    params_get(s, &p);
    for (int w = 0; rc == 0 && w < NPARTS; w++) {
        struct enf_sub sub;
        json_t *one = NULL;
        if (!part_used(&p, (enum part)w))
            continue;
        rc = sub_for(s, &p, (enum part)w, &sub);
        if (rc == 0)
            rc = sub.s.kind->snapshot(ctx, &sub.s, &one);
        if (rc == 0 && json_object_set_new(all, names[w], one) != 0)
            rc = WARD_ENOMEM;
        enf_sub_release(&sub);
    }
    if (rc == 0 &&
        json_object_set_new(all, "profile_existed",
                            json_boolean(enf_file_stat(ctx, PROFILE, 0, &info) == 0)) != 0)
        rc = WARD_ENOMEM;
    if (rc != 0) {
        json_decref(all);
        all = NULL;
    }
    *out = all;
    return rc;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    static const char *const names[NPARTS] = {"keyfile", "lock", "profile"};
    struct params p;
    int rc = 0;
    if (!json_is_object(snap))
        return WARD_ECORRUPT;
    params_get(s, &p);
    for (int w = 0; rc == 0 && w < NPARTS; w++) {
        const json_t *one = json_object_get(snap, names[w]);
        struct enf_sub sub;
        if (!one || !part_used(&p, (enum part)w))
            continue;
        if (w == PROFILE_LINE && json_is_false(json_object_get(snap, "profile_existed"))) {
            rc = enf_file_remove(ctx, PROFILE);
            continue;
        }
        rc = sub_for(s, &p, (enum part)w, &sub);
        if (rc == 0)
            rc = sub.s.kind->restore(ctx, &sub.s, one);
        enf_sub_release(&sub);
    }
    /* recompile what is there now; a missing dconf compiled nothing before either */
    if (rc == 0 && !compiled(ctx, &p)) {
        struct plat_fs_info info;
        if (enf_file_stat(ctx, p.keyfile, 0, &info) == 0 ||
            enf_file_stat(ctx, p.dbfile, 0, &info) == 0) {
            rc = compile(ctx, &p);
            if (rc == WARD_ENOTSUP)
                rc = 0;
        }
    }
    return rc;
}

const struct enf_kind enf_kind_dconf = {
    .name = "dconf",
    .summary = "A locked system-wide dconf setting (GNOME screen lock ...): keyfile, lock, "
               "profile and the compiled database.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    /* no watch: the keyfile paths are built, not borrowed from the setting; periodic runs
     * cover drift */
};
