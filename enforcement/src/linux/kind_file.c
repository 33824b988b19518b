/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `file` kind: a path that is a regular file (with mode, owner, group and optionally
 * its exact content, inline or by SHA-256), a directory, or absent. Content by SHA-256 is
 * compared locally; replacing it needs the server's content fetcher (a later issue), and
 * without one the setting fails with WARD_ENOTSUP. Owners and groups are names of the
 * managed machine, from <root>/etc/passwd and <root>/etc/group, or decimal ids.
 */
#define WARD_LOG_TAG "enf-file"

#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"

#define SNAPSHOT_MAX_CONTENT ((size_t)1 << 20)

static const char *const states[] = {"present", "absent", "directory", NULL};
static const char *const mode_policies[] = {"exact", "at_most", NULL};

static const struct enf_field fields[] = {
    {.name = "path", .type = ENF_F_PATH, .required = 1, .description = "The file or directory."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`present`: a regular file (created empty, or with `content`, when "
                    "missing); `directory`; `absent`: removed (a directory only when empty)."},
    {.name = "mode", .type = ENF_F_MODE, .description = "Permission bits, e.g. `\"0640\"`."},
    {.name = "mode_policy",
     .type = ENF_F_ENUM,
     .allowed = mode_policies,
     .def = "exact",
     .description = "`exact`: the bits must equal `mode`; `at_most`: no bit beyond `mode` may "
                    "be set (CIS \"640 or more restrictive\"); repair clears the extra bits."},
    {.name = "owner",
     .type = ENF_F_STRING,
     .description = "User name of the managed system, or a decimal uid."},
    {.name = "group",
     .type = ENF_F_STRING,
     .description = "Group name of the managed system, or a decimal gid."},
    {.name = "content", .type = ENF_F_STRING, .description = "Exact content (UTF-8 text)."},
    {.name = "content_sha256",
     .type = ENF_F_SHA256,
     .description = "Exact content by SHA-256, fetched from the service's file store when it "
                    "differs and written only when its hash matches (without a session with "
                    "the service: WARD_ENOTSUP)."},
    {.name = NULL},
};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const char *state = enf_str(s, "state", "present");
    char p[WARD_JSON_PATH_MAX];
    int bad = 0;
    if (json_object_get(s->params, "content") && json_object_get(s->params, "content_sha256")) {
        enf_diag_path(d, "content_sha256", p, sizeof(p));
        enf_diag(d, p, "give either content or content_sha256, not both");
        bad = 1;
    }
    if (strcmp(state, "present") != 0) {
        static const char *const only_present[] = {"content", "content_sha256", NULL};
        for (const char *const *f = only_present; *f; f++) {
            if (!json_object_get(s->params, *f))
                continue;
            enf_diag_path(d, *f, p, sizeof(p));
            enf_diag(d, p, "only for state \"present\"");
            bad = 1;
        }
    }
    if (strcmp(state, "absent") == 0) {
        static const char *const not_absent[] = {"mode", "owner", "group", "mode_policy", NULL};
        for (const char *const *f = not_absent; *f; f++) {
            if (!json_object_get(s->params, *f))
                continue;
            enf_diag_path(d, *f, p, sizeof(p));
            enf_diag(d, p, "means nothing for state \"absent\"");
            bad = 1;
        }
    }
    return bad;
}

static const char *type_name(enum plat_fs_type t)
{
    switch (t) {
    case PLAT_FS_NONE:
        return "missing";
    case PLAT_FS_FILE:
        return "file";
    case PLAT_FS_DIR:
        return "directory";
    case PLAT_FS_SYMLINK:
        return "symlink";
    case PLAT_FS_OTHER:
        return "special file";
    }
    return "?";
}

/* What the setting wants, resolved against the managed system. */
struct want {
    const char *path;
    const char *state;
    int has_mode, at_most;
    unsigned int mode;
    int has_uid, has_gid;
    int64_t uid, gid;
    const char *content;
    size_t content_len;
    const char *sha;
};

static int want_get(struct enf_ctx *ctx, const struct enf_setting *s, struct want *w)
{
    const char *owner = enf_str(s, "owner", NULL), *group = enf_str(s, "group", NULL);
    const json_t *c = json_object_get(s->params, "content");
    int rc;
    memset(w, 0, sizeof(*w));
    w->path = enf_str(s, "path", "/");
    w->state = enf_str(s, "state", "present");
    w->has_mode = enf_mode_bits(s, "mode", &w->mode);
    w->at_most = strcmp(enf_str(s, "mode_policy", "exact"), "at_most") == 0;
    if (owner) {
        rc = enf_user_id(ctx, owner, &w->uid);
        if (rc != 0)
            return rc;
        w->has_uid = 1;
    }
    if (group) {
        rc = enf_group_id(ctx, group, &w->gid);
        if (rc != 0)
            return rc;
        w->has_gid = 1;
    }
    if (c) {
        w->content = json_string_value(c);
        w->content_len = json_string_length(c);
    }
    w->sha = enf_str(s, "content_sha256", NULL);
    return 0;
}

static int mode_ok(const struct want *w, unsigned int cur)
{
    if (!w->has_mode)
        return 1;
    return w->at_most ? (cur & ~w->mode) == 0 : cur == w->mode;
}

/* 1 when the content is right, 0 when not; errors as read. */
static int content_ok(struct enf_ctx *ctx, const struct want *w)
{
    const char *data;
    size_t len;
    int rc;
    if (!w->content && !w->sha)
        return 1;
    rc = enf_file_read(ctx, w->path, &data, &len);
    if (rc != 0)
        return rc;
    if (w->content)
        return len == w->content_len && memcmp(data, w->content, len) == 0;
    {
        uint8_t h[WARD_SHA256_LEN];
        char hex[WARD_SHA256_HEX_SIZE];
        rc = ward_sha256(data, len, h);
        if (rc == 0)
            rc = ward_hex_encode(h, sizeof(h), hex, sizeof(hex));
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < 64; i++) {
            char a = w->sha[i];
            if (a >= 'A' && a <= 'F')
                a = (char)(a - 'A' + 'a');
            if (a != hex[i])
                return 0;
        }
        return 1;
    }
}

static void describe_id(struct enf_ctx *ctx, char *out, size_t len, int64_t id, int user)
{
    const char *n = user ? enf_user_name(ctx, id) : enf_group_name(ctx, id);
    if (n)
        snprintf(out, len, "%s", n);
    else
        snprintf(out, len, "%lld", (long long)id);
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct want w;
    struct plat_fs_info info;
    char exp[512], act[512], ubuf[64], gbuf[64];
    int rc, cok = 1, ok;
    enum plat_fs_type want_type;

    rc = want_get(ctx, s, &w);
    if (rc != 0)
        return rc;
    if (strcmp(w.state, "absent") == 0) {
        enf_check_expected(out, "absent");
        rc = enf_file_stat(ctx, w.path, PLAT_FS_NOFOLLOW, &info);
        if (rc == WARD_ENOENT) {
            enf_check_actual(out, "absent");
            out->compliant = 1;
            return 0;
        }
        if (rc != 0)
            return rc;
        enf_check_actual(out, "%s", type_name(info.type));
        return 0;
    }
    want_type = strcmp(w.state, "directory") == 0 ? PLAT_FS_DIR : PLAT_FS_FILE;
    snprintf(exp, sizeof(exp), "%s", type_name(want_type));
    if (w.has_mode)
        snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), ", mode %s%04o",
                 w.at_most ? "at most " : "", w.mode);
    if (w.has_uid)
        snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), ", owner %s",
                 enf_str(s, "owner", ""));
    if (w.has_gid)
        snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), ", group %s",
                 enf_str(s, "group", ""));
    if (w.content || w.sha)
        snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), ", content %s",
                 w.sha ? "by sha256" : "as given");
    enf_check_expected(out, "%s", exp);

    rc = enf_file_stat(ctx, w.path, 0, &info);
    if (rc == WARD_ENOENT) {
        enf_check_actual(out, "missing");
        return 0;
    }
    if (rc != 0)
        return rc;
    if (info.type != want_type) {
        enf_check_actual(out, "%s", type_name(info.type));
        return 0;
    }
    if (want_type == PLAT_FS_FILE) {
        cok = content_ok(ctx, &w);
        if (cok < 0)
            return cok;
    }
    describe_id(ctx, ubuf, sizeof(ubuf), info.uid, 1);
    describe_id(ctx, gbuf, sizeof(gbuf), info.gid, 0);
    snprintf(act, sizeof(act), "%s, mode %04o, owner %s, group %s%s", type_name(info.type),
             info.mode, ubuf, gbuf,
             (w.content || w.sha) ? (cok ? ", content matches" : ", content differs") : "");
    enf_check_actual(out, "%s", act);
    ok = mode_ok(&w, info.mode) && (!w.has_uid || info.uid == w.uid) &&
         (!w.has_gid || info.gid == w.gid) && cok;
    out->compliant = ok;
    return 0;
}

static void attrs_for(const struct want *w, const struct plat_fs_info *cur, int exists,
                      struct plat_fs_attrs *a)
{
    memset(a, 0, sizeof(*a));
    if (w->has_mode) {
        unsigned int m = w->at_most && exists ? (cur->mode & w->mode) : w->mode;
        if (!exists || m != cur->mode) {
            a->set |= PLAT_FS_ATTR_MODE;
            a->mode = m;
        }
    }
    if (w->has_uid && (!exists || cur->uid != w->uid)) {
        a->set |= PLAT_FS_ATTR_UID;
        a->uid = w->uid;
    }
    if (w->has_gid && (!exists || cur->gid != w->gid)) {
        a->set |= PLAT_FS_ATTR_GID;
        a->gid = w->gid;
    }
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct want w;
    struct plat_fs_info info;
    struct plat_fs_attrs a;
    int rc, exists;

    rc = want_get(ctx, s, &w);
    if (rc != 0)
        return rc;
    if (strcmp(w.state, "absent") == 0) {
        rc = enf_file_stat(ctx, w.path, PLAT_FS_NOFOLLOW, &info);
        if (rc == WARD_ENOENT)
            return 0;
        if (rc != 0)
            return rc;
        rc = info.type == PLAT_FS_DIR ? enf_dir_remove(ctx, w.path) : enf_file_remove(ctx, w.path);
        if (rc == WARD_EEXIST)
            enf_ctx_detail(ctx, "directory %s is not empty", w.path);
        return rc;
    }
    rc = enf_file_stat(ctx, w.path, 0, &info);
    if (rc != 0 && rc != WARD_ENOENT)
        return rc;
    exists = rc == 0;
    if (strcmp(w.state, "directory") == 0) {
        if (exists && info.type != PLAT_FS_DIR) {
            enf_ctx_detail(ctx, "%s is a %s, not a directory; not replaced", w.path,
                           type_name(info.type));
            return WARD_EEXIST;
        }
        if (!exists) {
            rc = enf_mkdir(ctx, w.path, w.has_mode ? w.mode : 0755);
            if (rc != 0)
                return rc;
            rc = enf_file_stat(ctx, w.path, 0, &info);
            if (rc != 0)
                return rc;
        }
        attrs_for(&w, &info, 1, &a);
        return a.set ? enf_file_set_attrs(ctx, w.path, &a) : 0;
    }
    if (exists && info.type != PLAT_FS_FILE) {
        enf_ctx_detail(ctx, "%s is a %s, not a regular file; not replaced", w.path,
                       type_name(info.type));
        return WARD_EEXIST;
    }
    attrs_for(&w, &info, exists, &a);
    if (!exists || (w.content || w.sha)) {
        int cok = exists ? content_ok(ctx, &w) : 0;
        if (cok < 0)
            return cok;
        if (!cok) {
            if (!exists) {
                rc = enf_mkdir_parent(ctx, w.path);
                if (rc != 0)
                    return rc;
            }
            if (w.sha) {
                char *data = NULL;
                size_t len = 0;
                rc = enf_fetch(ctx, w.sha, &data, &len);
                if (rc == 0)
                    rc = enf_file_write(ctx, w.path, data, len, &a);
                ward_free(data);
                return rc;
            }
            return enf_file_write(ctx, w.path, w.content ? w.content : "", w.content_len, &a);
        }
    }
    return a.set ? enf_file_set_attrs(ctx, w.path, &a) : 0;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    const char *path = enf_str(s, "path", "/");
    const char *state = enf_str(s, "state", "present");
    struct plat_fs_info info;
    json_t *j = NULL;
    int rc, with_content;

    *out = NULL;
    rc = enf_file_stat(ctx, path, strcmp(state, "absent") == 0 ? PLAT_FS_NOFOLLOW : 0, &info);
    if (rc == WARD_ENOENT) {
        *out = json_pack("{s:s}", "type", "missing");
        return *out ? 0 : WARD_ENOMEM;
    }
    if (rc != 0)
        return rc;
    j = json_pack("{s:s, s:I, s:I, s:I}", "type", type_name(info.type), "mode",
                  (json_int_t)info.mode, "uid", (json_int_t)info.uid, "gid", (json_int_t)info.gid);
    if (!j)
        return WARD_ENOMEM;
    with_content = info.type == PLAT_FS_FILE &&
                   (strcmp(state, "absent") == 0 || json_object_get(s->params, "content") ||
                    json_object_get(s->params, "content_sha256"));
    if (info.type != PLAT_FS_FILE && info.type != PLAT_FS_DIR && strcmp(state, "absent") == 0) {
        enf_ctx_detail(ctx, "%s is a %s: its prior state cannot be kept", path,
                       type_name(info.type));
        rc = WARD_ENOTSUP;
        goto out;
    }
    if (with_content) {
        const char *data;
        size_t len;
        char *b64 = NULL;
        rc = enf_file_read(ctx, path, &data, &len);
        if (rc == 0 && len > SNAPSHOT_MAX_CONTENT) {
            enf_ctx_detail(ctx, "%s is larger than %zu bytes: too large to keep for rollback", path,
                           SNAPSHOT_MAX_CONTENT);
            rc = WARD_ETOOBIG;
        }
        if (rc == 0)
            rc = ward_base64_encode(data, len, 0, &b64);
        if (rc == 0 && json_object_set_new(j, "content_b64", json_string(b64)) != 0)
            rc = WARD_ENOMEM;
        ward_free(b64);
        if (rc != 0)
            goto out;
    }
    *out = j;
    j = NULL;
out:
    json_decref(j);
    return rc;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    const char *path = enf_str(s, "path", "/");
    const char *type = json_string_value(json_object_get(snap, "type"));
    const json_t *b64 = json_object_get(snap, "content_b64");
    struct plat_fs_info info;
    struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE | PLAT_FS_ATTR_UID | PLAT_FS_ATTR_GID};
    int rc, exists;

    if (!type)
        return WARD_ECORRUPT;
    a.mode = (unsigned int)json_integer_value(json_object_get(snap, "mode"));
    a.uid = (int64_t)json_integer_value(json_object_get(snap, "uid"));
    a.gid = (int64_t)json_integer_value(json_object_get(snap, "gid"));
    rc = enf_file_stat(ctx, path, PLAT_FS_NOFOLLOW, &info);
    if (rc != 0 && rc != WARD_ENOENT)
        return rc;
    exists = rc == 0;
    if (strcmp(type, "missing") == 0) {
        if (!exists)
            return 0;
        return info.type == PLAT_FS_DIR ? enf_dir_remove(ctx, path) : enf_file_remove(ctx, path);
    }
    if (strcmp(type, "directory") == 0) {
        if (!exists) {
            rc = enf_mkdir(ctx, path, a.mode);
            if (rc != 0)
                return rc;
        }
        return enf_file_set_attrs(ctx, path, &a);
    }
    if (strcmp(type, "file") != 0)
        return WARD_ENOTSUP;
    if (json_is_string(b64)) {
        uint8_t *data = NULL;
        size_t len = 0;
        rc = ward_base64_decode(json_string_value(b64), json_string_length(b64), 0, &data, &len);
        if (rc == 0)
            rc = enf_file_write(ctx, path, data ? (const char *)data : "", len, &a);
        ward_free(data);
        return rc;
    }
    if (!exists)
        return enf_file_write(ctx, path, "", 0, &a);
    return enf_file_set_attrs(ctx, path, &a);
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    if (max < 1)
        return 1;
    paths[0] = enf_str(s, "path", "/");
    return 1;
}

const struct enf_kind enf_kind_file = {
    .name = "file",
    .summary = "A regular file (mode, owner, group, content), a directory, or an absent path.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
