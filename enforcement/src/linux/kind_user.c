/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `user` kind: a local account locked (its shadow password field starts with `!`, as
 * `usermod -L` leaves it), with a given login shell (passwd field 7), or absent. Checks
 * read <root>/etc/passwd and /etc/shadow; locking and the shell are field edits written
 * atomically through the run context; removal runs /usr/sbin/userdel by argv (`--root DIR`
 * under another root), which knows every file an account lives in. root and system
 * accounts (uid below login.defs UID_MIN) are never removed. Restore puts back the field it
 * changed, or for a removed account its passwd and shadow lines and group memberships.
 */
#define WARD_LOG_TAG "enf-user"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ward/error.h"

#define PASSWD "/etc/passwd"
#define SHADOW "/etc/shadow"
#define GROUP "/etc/group"
#define GSHADOW "/etc/gshadow"
#define USERDEL "/usr/sbin/userdel"

static const char *const states[] = {"present", "absent", NULL};

static const struct enf_field fields[] = {
    {.name = "name", .type = ENF_F_STRING, .required = 1, .description = "Account name."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`absent` removes the account with userdel (never root or a system account "
                    "below login.defs `UID_MIN`; the home directory stays)."},
    {.name = "locked",
     .type = ENF_F_BOOL,
     .description = "Password login locked (`!` before the shadow hash); `false` unlocks. An "
                    "account that does not exist counts as locked."},
    {.name = "shell", .type = ENF_F_PATH, .description = "Login shell (`/usr/sbin/nologin`)."},
    {.name = NULL},
};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const char *n = enf_str(s, "name", "");
    int absent = strcmp(enf_str(s, "state", "present"), "absent") == 0;
    int has_lock = json_object_get(s->params, "locked") != NULL;
    int has_shell = json_object_get(s->params, "shell") != NULL;
    char p[WARD_JSON_PATH_MAX];
    int bad = !n[0] || strlen(n) > 32 || n[0] == '-';
    for (const char *c = n; *c && !bad; c++)
        bad = !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                strchr("_.-", *c) || (*c == '$' && c[1] == '\0'));
    if (bad) {
        enf_diag_path(d, "name", p, sizeof(p));
        enf_diag(d, p, "\"%.64s\" is not an account name", n);
        return 1;
    }
    if (absent && (has_lock || has_shell)) {
        enf_diag(d, d->setting_path, "\"locked\" and \"shell\" only with state \"present\"");
        return 1;
    }
    if (!absent && !has_lock && !has_shell) {
        enf_diag(d, d->setting_path, "give \"locked\", \"shell\" or state \"absent\"");
        return 1;
    }
    if (absent && strcmp(n, "root") == 0) {
        enf_diag_path(d, "name", p, sizeof(p));
        enf_diag(d, p, "root is never removed");
        return 1;
    }
    return 0;
}

struct params {
    const char *name, *shell;
    int absent, locked; /* locked -1: not managed */
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    p->name = enf_str(s, "name", "");
    p->shell = enf_str(s, "shell", NULL);
    p->absent = strcmp(enf_str(s, "state", "present"), "absent") == 0;
    p->locked = json_object_get(s->params, "locked") ? enf_bool(s, "locked", 0) : -1;
}

/* ---- colon-separated account files ---- */

struct entry {
    int found;
    size_t index; /* line index */
    struct enf_line line;
    const char *data; /* the whole file (borrowed from the run's cache) */
    size_t len, nlines;
    int exists;
};

static int find_entry(struct enf_ctx *ctx, const char *path, const char *name, struct entry *e)
{
    size_t pos = 0, nlen = strlen(name);
    struct enf_line l;
    int rc;
    memset(e, 0, sizeof(*e));
    rc = enf_file_read(ctx, path, &e->data, &e->len);
    if (rc == WARD_ENOENT) {
        e->data = NULL;
        return 0;
    }
    if (rc != 0)
        return rc;
    e->exists = 1;
    while (enf_text_next(e->data, e->len, &pos, &l)) {
        if (!e->found && l.len > nlen && memcmp(l.p, name, nlen) == 0 && l.p[nlen] == ':') {
            e->found = 1;
            e->index = e->nlines;
            e->line = l;
        }
        e->nlines++;
    }
    return 0;
}

/* Field i (0-based) of a colon line. */
static struct enf_line field(struct enf_line l, int i)
{
    struct enf_line f = {.p = l.p, .len = 0};
    size_t k = 0;
    for (int n = 0; n < i; n++) {
        while (k < l.len && l.p[k] != ':')
            k++;
        if (k == l.len)
            return (struct enf_line){.p = l.p + l.len, .len = 0};
        k++;
    }
    f.p = l.p + k;
    while (k < l.len && l.p[k] != ':')
        k++;
    f.len = (size_t)(l.p + k - f.p);
    return f;
}

/* The line with field i replaced by value, into out. */
static int with_field(struct enf_line l, int i, const char *value, char *out, size_t outlen)
{
    struct enf_line f = field(l, i);
    int n = snprintf(out, outlen, "%.*s%s%.*s", (int)(f.p - l.p), l.p, value,
                     (int)(l.len - (size_t)(f.p + f.len - l.p)), f.p + f.len);
    return n < 0 || (size_t)n >= outlen ? WARD_ETOOBIG : 0;
}

static int replace_line(struct enf_ctx *ctx, const char *path, const struct entry *e,
                        const char *text)
{
    struct enf_edit ed = {.line = e->index, .op = ENF_EDIT_REPLACE, .text = text};
    return enf_text_rewrite(ctx, path, e->data, e->len, &ed, 1, NULL, 0);
}

static int is_locked(const struct entry *sh)
{
    struct enf_line pw = field(sh->line, 1);
    return sh->found && pw.len > 0 && pw.p[0] == '!';
}

static long long uid_min(struct enf_ctx *ctx)
{
    const char *data;
    size_t len, pos = 0;
    struct enf_line l, v;
    long long min = 1000;
    if (enf_file_read(ctx, "/etc/login.defs", &data, &len) != 0)
        return min;
    while (enf_text_next(data, len, &pos, &l))
        if (enf_text_key_match(l, "UID_MIN", " ", 0, "#", &v) && v.len > 0 && v.len < 12) {
            char buf[16];
            snprintf(buf, sizeof(buf), "%.*s", (int)v.len, v.p);
            min = strtoll(buf, NULL, 10);
        }
    return min;
}

struct state {
    struct entry pw, sh;
};

static int read_state(struct enf_ctx *ctx, const struct params *p, struct state *st)
{
    int rc = find_entry(ctx, PASSWD, p->name, &st->pw);
    if (rc == 0 && !st->pw.exists) {
        enf_ctx_detail(ctx, "no %s under root %s", PASSWD, enf_ctx_root(ctx));
        rc = WARD_ENOENT;
    }
    if (rc == 0)
        rc = find_entry(ctx, SHADOW, p->name, &st->sh);
    return rc;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    struct state st;
    struct enf_line sh;
    int rc, ok = 1;
    params_get(s, &p);
    if (p.absent)
        enf_check_expected(out, "no account %s", p.name);
    else
        enf_check_expected(out, "%s%s%s%s", p.locked == 1 ? "locked" : "",
                           p.locked == 0 ? "unlocked" : "", p.locked >= 0 && p.shell ? ", " : "",
                           p.shell ? p.shell : "");
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    if (!st.pw.found) {
        enf_check_actual(out, "no account %s", p.name);
        out->compliant = p.absent || (p.locked == 1 && !p.shell);
        return 0;
    }
    sh = field(st.pw.line, 6);
    if (p.absent) {
        struct enf_line uid = field(st.pw.line, 2);
        enf_check_actual(out, "account %s exists (uid %.*s)", p.name, (int)uid.len, uid.p);
        out->compliant = 0;
        return 0;
    }
    enf_check_actual(out, "%s, %.*s",
                     !st.sh.found        ? "no shadow entry"
                     : is_locked(&st.sh) ? "locked"
                                         : "unlocked",
                     (int)sh.len, sh.p);
    if (p.locked >= 0)
        ok = st.sh.found && is_locked(&st.sh) == p.locked;
    if (p.shell)
        ok = ok && sh.len == strlen(p.shell) && memcmp(sh.p, p.shell, sh.len) == 0;
    out->compliant = ok;
    return 0;
}

static int set_locked(struct enf_ctx *ctx, const struct entry *sh, const char *name, int lock)
{
    struct enf_line pw = field(sh->line, 1);
    char val[1024], line[2048];
    int rc;
    if (!sh->found) {
        enf_ctx_detail(ctx, "%s has no entry in %s", name, SHADOW);
        return WARD_ENOENT;
    }
    if (lock)
        snprintf(val, sizeof(val), "!%.*s", (int)pw.len, pw.p);
    else {
        size_t k = 0;
        while (k < pw.len && pw.p[k] == '!')
            k++;
        snprintf(val, sizeof(val), "%.*s", (int)(pw.len - k), pw.p + k);
    }
    rc = with_field(sh->line, 1, val, line, sizeof(line));
    return rc ? rc : replace_line(ctx, SHADOW, sh, line);
}

static int set_shell(struct enf_ctx *ctx, const struct entry *pw, const char *shell)
{
    char line[2048];
    int rc = with_field(pw->line, 6, shell, line, sizeof(line));
    return rc ? rc : replace_line(ctx, PASSWD, pw, line);
}

static int remove_account(struct enf_ctx *ctx, const struct params *p, const struct entry *pw)
{
    struct enf_line uidf = field(pw->line, 2);
    char buf[24];
    const char *argv[5];
    struct plat_proc_result res;
    long long uid, min = uid_min(ctx);
    int rc, n = 0;
    snprintf(buf, sizeof(buf), "%.*s", (int)(uidf.len < 20 ? uidf.len : 20), uidf.p);
    uid = strtoll(buf, NULL, 10);
    if (uid < min || strcmp(p->name, "root") == 0) {
        enf_ctx_detail(ctx, "refusing to remove system account %s (uid %lld < UID_MIN %lld)",
                       p->name, uid, min);
        return WARD_EACCES;
    }
    argv[n++] = USERDEL;
    if (!enf_root_is_live(ctx)) {
        argv[n++] = "--root";
        argv[n++] = enf_ctx_root(ctx);
    }
    argv[n++] = p->name;
    argv[n] = NULL;
    memset(&res, 0, sizeof(res));
    rc = enf_proc_run(ctx, argv, 60000, &res);
    enf_file_forget(ctx, PASSWD);
    enf_file_forget(ctx, SHADOW);
    enf_file_forget(ctx, GROUP);
    enf_file_forget(ctx, GSHADOW);
    if (rc != 0)
        enf_ctx_detail(ctx, "cannot run %s: %s", USERDEL, ward_strerror(rc));
    else if (res.timed_out || res.term_signal || res.exit_status != 0) {
        enf_ctx_detail(ctx, "userdel %s: exit %lld: %.200s", p->name, (long long)res.exit_status,
                       res.err_len ? res.err : res.out);
        rc = WARD_EIO;
    }
    plat_proc_result_release(&res);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    struct state st;
    int rc;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    if (!st.pw.found) {
        if (p.absent || !p.shell)
            return 0;
        enf_ctx_detail(ctx, "no account %s (Ward does not create accounts)", p.name);
        return WARD_ENOENT;
    }
    if (p.absent)
        return remove_account(ctx, &p, &st.pw);
    if (p.locked >= 0 && is_locked(&st.sh) != p.locked) {
        rc = set_locked(ctx, &st.sh, p.name, p.locked);
        if (rc != 0)
            return rc;
    }
    if (p.shell) {
        struct enf_line sh = field(st.pw.line, 6);
        if (!(sh.len == strlen(p.shell) && memcmp(sh.p, p.shell, sh.len) == 0))
            rc = set_shell(ctx, &st.pw, p.shell);
    }
    return rc;
}

/* Groups (from group or gshadow: member list in field 3) that list name. */
static json_t *memberships(struct enf_ctx *ctx, const char *path, const char *name)
{
    json_t *arr = json_array();
    const char *data;
    size_t len, pos = 0, nlen = strlen(name);
    struct enf_line l;
    if (!arr || enf_file_read(ctx, path, &data, &len) != 0)
        return arr;
    while (enf_text_next(data, len, &pos, &l)) {
        struct enf_line m = field(l, 3), g = field(l, 0);
        size_t k = 0;
        while (k < m.len) {
            size_t e = k;
            while (e < m.len && m.p[e] != ',')
                e++;
            if (e - k == nlen && memcmp(m.p + k, name, nlen) == 0) {
                if (json_array_append_new(arr, json_stringn(g.p, g.len)) != 0) {
                    json_decref(arr);
                    return NULL;
                }
                break;
            }
            k = e + 1;
        }
    }
    return arr;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct params p;
    struct state st;
    int rc;
    *out = NULL;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    *out = json_pack(
        "{s:o, s:o, s:o, s:o}", "passwd",
        st.pw.found ? json_stringn(st.pw.line.p, st.pw.line.len) : json_null(), "shadow",
        st.sh.found ? json_stringn(st.sh.line.p, st.sh.line.len) : json_null(), "groups",
        p.absent && st.pw.found ? memberships(ctx, GROUP, p.name) : json_array(), "gshadow",
        p.absent && st.pw.found ? memberships(ctx, GSHADOW, p.name) : json_array());
    return *out ? 0 : WARD_ENOMEM;
}

/* Appends a line to an account file (the line must be new there). */
static int append_line(struct enf_ctx *ctx, const char *path, const struct entry *e,
                       const char *text)
{
    struct enf_edit ed = {.line = e->nlines, .op = ENF_EDIT_INSERT, .text = text};
    return enf_text_rewrite(ctx, path, e->data, e->len, &ed, 1, NULL, 0);
}

static int add_member(struct enf_ctx *ctx, const char *path, const char *group, const char *name)
{
    struct entry e;
    struct enf_line m;
    char members[4096], line[8192];
    int rc = find_entry(ctx, path, group, &e);
    if (rc != 0 || !e.found)
        return rc;
    m = field(e.line, 3);
    for (size_t k = 0; k <= m.len;) {
        size_t x = k;
        while (x < m.len && m.p[x] != ',')
            x++;
        if (x - k == strlen(name) && memcmp(m.p + k, name, x - k) == 0)
            return 0;
        k = x + 1;
    }
    snprintf(members, sizeof(members), "%.*s%s%s", (int)m.len, m.p, m.len ? "," : "", name);
    rc = with_field(e.line, 3, members, line, sizeof(line));
    return rc ? rc : replace_line(ctx, path, &e, line);
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    struct state st;
    const json_t *pw = json_object_get(snap, "passwd"), *sh = json_object_get(snap, "shadow");
    const json_t *v;
    size_t i;
    int rc;
    if (!json_is_object(snap))
        return WARD_ECORRUPT;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc != 0 || !json_is_string(pw))
        return rc; /* there was no account: nothing to put back */
    if (p.absent) {
        if (!st.pw.found)
            rc = append_line(ctx, PASSWD, &st.pw, json_string_value(pw));
        if (rc == 0 && json_is_string(sh) && !st.sh.found)
            rc = append_line(ctx, SHADOW, &st.sh, json_string_value(sh));
        json_array_foreach(json_object_get(snap, "groups"), i, v)
        {
            if (rc == 0 && json_is_string(v))
                rc = add_member(ctx, GROUP, json_string_value(v), p.name);
        }
        json_array_foreach(json_object_get(snap, "gshadow"), i, v)
        {
            if (rc == 0 && json_is_string(v))
                rc = add_member(ctx, GSHADOW, json_string_value(v), p.name);
        }
        return rc;
    }
    if (!st.pw.found)
        return 0;
    if (p.locked >= 0 && json_is_string(sh) && st.sh.found) {
        struct enf_line was = {.p = json_string_value(sh), .len = json_string_length(sh)};
        struct enf_line f = field(was, 1);
        char val[1024], line[2048];
        snprintf(val, sizeof(val), "%.*s", (int)f.len, f.p);
        rc = with_field(st.sh.line, 1, val, line, sizeof(line));
        if (rc == 0)
            rc = replace_line(ctx, SHADOW, &st.sh, line);
    }
    if (rc == 0 && p.shell) {
        struct enf_line was = {.p = json_string_value(pw), .len = json_string_length(pw)};
        struct enf_line f = field(was, 6);
        char val[1024];
        snprintf(val, sizeof(val), "%.*s", (int)f.len, f.p);
        rc = find_entry(ctx, PASSWD, p.name, &st.pw);
        if (rc == 0 && st.pw.found)
            rc = set_shell(ctx, &st.pw, val);
    }
    return rc;
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    size_t n = 0;
    (void)s;
    if (n < max)
        paths[n++] = PASSWD;
    if (n < max)
        paths[n++] = SHADOW;
    return n;
}

const struct enf_kind enf_kind_user = {
    .name = "user",
    .summary = "A local account locked, with a given login shell, or absent (userdel by argv; "
               "never root or system accounts).",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
