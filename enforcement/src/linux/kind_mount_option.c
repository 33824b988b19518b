/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `mount_option` kind: options a mount point must have (`nodev`, `nosuid`, `noexec`
 * on /tmp ...), in its /etc/fstab line (edited in place, everything else kept) and on the
 * live mount, read from /proc/self/mountinfo and repaired with `mount -o remount,...` by
 * argv. The live part only applies where the root's mountinfo exists: on the live system
 * (root "/"), or a fixture tree that carries one; a mount point that is not mounted has
 * nothing to remount. Remounting is done only for root "/". A missing fstab entry is
 * added only when `device` and `fstype` say what to mount.
 */
#define WARD_LOG_TAG "enf-mountopt"

#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "ward/error.h"

#define FSTAB "/etc/fstab"
#define MOUNTINFO "/proc/self/mountinfo"
#define MOUNT "/usr/bin/mount"
#define MAX_OPTS 16

static const struct enf_field fields[] = {
    {.name = "mount_point", .type = ENF_F_PATH, .required = 1, .description = "The mount point."},
    {.name = "options",
     .type = ENF_F_STRINGS,
     .required = 1,
     .description = "Options it must have (`[\"nodev\", \"nosuid\", \"noexec\"]`); an option's "
                    "opposite (`exec` for `noexec`) after it counts against it."},
    {.name = "fstab",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Check and edit the /etc/fstab entry."},
    {.name = "live",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Check the mounted file system and remount it (root `/` only)."},
    {.name = "device",
     .type = ENF_F_STRING,
     .description = "With `fstype`: the fstab entry to add when there is none (`tmpfs`)."},
    {.name = "fstype", .type = ENF_F_STRING, .description = "File system type for that entry."},
    {.name = NULL},
};

static int word_ok(const char *s, const char *extra)
{
    if (!s[0] || strlen(s) > 200)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s)))
            return 0;
    return 1;
}

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const json_t *opts = json_object_get(s->params, "options"), *v;
    char p[WARD_JSON_PATH_MAX];
    size_t i;
    if (json_array_size(opts) == 0 || json_array_size(opts) > MAX_OPTS) {
        enf_diag_path(d, "options", p, sizeof(p));
        enf_diag(d, p, "give 1 to %d options", MAX_OPTS);
        return 1;
    }
    json_array_foreach(opts, i, v)
    {
        if (!word_ok(json_string_value(v), "_-=.:")) {
            enf_diag_path(d, "options", p, sizeof(p));
            enf_diag(d, p, "\"%.64s\" is not a mount option", json_string_value(v));
            return 1;
        }
    }
    if (!json_object_get(s->params, "device") != !json_object_get(s->params, "fstype")) {
        enf_diag(d, d->setting_path, "give \"device\" and \"fstype\" together");
        return 1;
    }
    if ((json_object_get(s->params, "device") && !word_ok(enf_str(s, "device", ""), "_-=.:/")) ||
        (json_object_get(s->params, "fstype") && !word_ok(enf_str(s, "fstype", ""), "_-.")) ||
        strpbrk(enf_str(s, "mount_point", "/"), " \t\\")) {
        enf_diag(d, d->setting_path, "mount_point, device and fstype must be plain words");
        return 1;
    }
    return 0;
}

struct params {
    const char *mp, *device, *fstype;
    const char *opts[MAX_OPTS];
    size_t n;
    int fstab, live;
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    const json_t *v;
    size_t i;
    p->mp = enf_str(s, "mount_point", "/");
    p->device = enf_str(s, "device", NULL);
    p->fstype = enf_str(s, "fstype", NULL);
    p->fstab = enf_bool(s, "fstab", 1);
    p->live = enf_bool(s, "live", 1);
    p->n = 0;
    json_array_foreach(json_object_get(s->params, "options"), i, v)
    {
        if (p->n < MAX_OPTS && json_is_string(v))
            p->opts[p->n++] = json_string_value(v);
    }
}

/* 1 when opt is in the comma list (and its opposite does not come after it). */
static int has_opt(struct enf_line list, const char *opt)
{
    const char *opp = strncmp(opt, "no", 2) == 0 ? opt + 2 : NULL;
    size_t k = 0, olen = strlen(opt);
    int have = 0;
    while (k < list.len) {
        size_t e = k;
        while (e < list.len && list.p[e] != ',')
            e++;
        if (e - k == olen && memcmp(list.p + k, opt, olen) == 0)
            have = 1;
        else if (opp && e - k == strlen(opp) && memcmp(list.p + k, opp, e - k) == 0)
            have = 0;
        k = e + 1;
    }
    return have;
}

/* Field i (0-based) of a blank-separated line. */
static struct enf_line word(struct enf_line l, int i)
{
    size_t k = 0;
    struct enf_line w = {.p = l.p + l.len, .len = 0};
    for (int n = 0; n <= i; n++) {
        while (k < l.len && (l.p[k] == ' ' || l.p[k] == '\t'))
            k++;
        if (k == l.len)
            return (struct enf_line){.p = l.p + l.len, .len = 0};
        w.p = l.p + k;
        while (k < l.len && l.p[k] != ' ' && l.p[k] != '\t')
            k++;
        w.len = (size_t)(l.p + k - w.p);
    }
    return w;
}

/* Compares an escaped (\040) path from fstab or mountinfo with a plain one. */
static int path_eq(struct enf_line esc, const char *plain)
{
    size_t i = 0, j = 0, n = strlen(plain);
    while (i < esc.len && j < n) {
        char c = esc.p[i];
        if (c == '\\' && i + 3 < esc.len + 0 && esc.p[i + 1] >= '0' && esc.p[i + 1] <= '3') {
            c = (char)(((esc.p[i + 1] - '0') << 6) | ((esc.p[i + 2] - '0') << 3) |
                       (esc.p[i + 3] - '0'));
            i += 3;
        }
        if (c != plain[j])
            return 0;
        i++;
        j++;
    }
    /* "/tmp/" in fstab names /tmp too */
    while (i < esc.len && esc.p[i] == '/' && esc.len > 1)
        i++;
    return i == esc.len && j == n;
}

struct state {
    /* fstab */
    const char *data;
    size_t len, nlines;
    int fstab_exists, found;
    size_t index;
    struct enf_line line, opts;
    /* live */
    int have_table, mounted;
    struct enf_line mopts, sopts; /* per-mount and super options */
};

static int read_state(struct enf_ctx *ctx, const struct params *p, struct state *st)
{
    size_t pos = 0;
    struct enf_line l;
    int rc;
    memset(st, 0, sizeof(*st));
    if (p->fstab) {
        rc = enf_file_read(ctx, FSTAB, &st->data, &st->len);
        if (rc != 0 && rc != WARD_ENOENT)
            return rc;
        st->fstab_exists = rc == 0;
        while (st->fstab_exists && enf_text_next(st->data, st->len, &pos, &l)) {
            if (!enf_text_is_comment(l, "#") && path_eq(word(l, 1), p->mp)) {
                st->found = 1;
                st->index = st->nlines;
                st->line = l;
                st->opts = word(l, 3);
            }
            st->nlines++;
        }
    }
    if (p->live) {
        const char *data;
        size_t len;
        rc = enf_file_read(ctx, MOUNTINFO, &data, &len);
        if (rc != 0 && rc != WARD_ENOENT)
            return rc;
        st->have_table = rc == 0;
        pos = 0;
        while (st->have_table && enf_text_next(data, len, &pos, &l)) {
            const char *dash;
            if (!path_eq(word(l, 4), p->mp))
                continue;
            st->mounted = 1;
            st->mopts = word(l, 5);
            dash = NULL;
            for (size_t k = 0; k + 2 < l.len; k++)
                if (l.p[k] == ' ' && l.p[k + 1] == '-' && l.p[k + 2] == ' ') {
                    dash = l.p + k + 3;
                    break;
                }
            st->sopts =
                dash ? word((struct enf_line){.p = dash, .len = l.len - (size_t)(dash - l.p)}, 2)
                     : (struct enf_line){.p = l.p, .len = 0};
        }
    }
    return 0;
}

static int fstab_ok(const struct params *p, const struct state *st)
{
    if (!p->fstab)
        return 1;
    if (!st->found)
        return 0;
    for (size_t i = 0; i < p->n; i++)
        if (!has_opt(st->opts, p->opts[i]))
            return 0;
    return 1;
}

static int live_ok(const struct params *p, const struct state *st)
{
    if (!p->live || !st->have_table || !st->mounted)
        return 1;
    for (size_t i = 0; i < p->n; i++)
        if (!has_opt(st->mopts, p->opts[i]) && !has_opt(st->sopts, p->opts[i]))
            return 0;
    return 1;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    struct state st;
    char want[512] = "", a[1024] = "";
    size_t n = 0;
    int rc;
    params_get(s, &p);
    for (size_t i = 0; i < p.n; i++)
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s", i ? "," : "", p.opts[i]);
    enf_check_expected(out, "%s %s%s%s", p.mp, want, p.fstab ? " (fstab" : " (",
                       p.live ? (p.fstab ? ", live)" : "live)") : ")");
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    n = 0;
    if (p.fstab)
        n = (size_t)snprintf(a, sizeof(a), "fstab %s%.*s", st.found ? "" : "has no entry",
                             (int)st.opts.len, st.opts.p);
    if (p.live && n < sizeof(a)) {
        if (!st.have_table)
            snprintf(a + n, sizeof(a) - n, "%slive: no mount table under the root", n ? ", " : "");
        else if (!st.mounted)
            snprintf(a + n, sizeof(a) - n, "%slive: not mounted", n ? ", " : "");
        else
            snprintf(a + n, sizeof(a) - n, "%slive %.*s", n ? ", " : "", (int)st.mopts.len,
                     st.mopts.p);
    }
    enf_check_actual(out, "%s", a);
    out->compliant = fstab_ok(&p, &st) && live_ok(&p, &st);
    return 0;
}

/* The options field with every wanted option present and their opposites dropped. */
static int merged_opts(const struct params *p, struct enf_line cur, char *out, size_t len)
{
    size_t o = 0, k = 0;
    int n;
    out[0] = '\0';
    while (k < cur.len) {
        size_t e = k;
        int drop = 0;
        while (e < cur.len && cur.p[e] != ',')
            e++;
        for (size_t i = 0; i < p->n; i++) {
            const char *opt = p->opts[i];
            const char *opp = strncmp(opt, "no", 2) == 0 ? opt + 2 : NULL;
            if ((e - k == strlen(opt) && memcmp(cur.p + k, opt, e - k) == 0) ||
                (opp && e - k == strlen(opp) && memcmp(cur.p + k, opp, e - k) == 0))
                drop = 1; /* re-added below, in the policy's order */
        }
        if (!drop && e > k) {
            n = snprintf(out + o, len - o, "%s%.*s", o ? "," : "", (int)(e - k), cur.p + k);
            if (n < 0 || (size_t)n >= len - o)
                return WARD_ETOOBIG;
            o += (size_t)n;
        }
        k = e + 1;
    }
    for (size_t i = 0; i < p->n; i++) {
        n = snprintf(out + o, len - o, "%s%s", o ? "," : "", p->opts[i]);
        if (n < 0 || (size_t)n >= len - o)
            return WARD_ETOOBIG;
        o += (size_t)n;
    }
    return 0;
}

static int fix_fstab(struct enf_ctx *ctx, const struct params *p, const struct state *st)
{
    char opts[1024], line[2048];
    struct enf_edit ed;
    int rc;
    if (!st->found) {
        if (!p->device) {
            enf_ctx_detail(ctx, "%s has no entry for %s (give device and fstype to add one)", FSTAB,
                           p->mp);
            return WARD_ENOENT;
        }
        rc = merged_opts(p, (struct enf_line){.p = "defaults", .len = 8}, opts, sizeof(opts));
        if (rc != 0)
            return rc;
        snprintf(line, sizeof(line), "%s\t%s\t%s\t%s\t0\t0", p->device, p->mp, p->fstype, opts);
        ed = (struct enf_edit){.line = st->nlines, .op = ENF_EDIT_INSERT, .text = line};
    } else {
        rc = merged_opts(p, st->opts, opts, sizeof(opts));
        if (rc != 0)
            return rc;
        snprintf(line, sizeof(line), "%.*s%s%.*s", (int)(st->opts.p - st->line.p), st->line.p, opts,
                 (int)(st->line.len - (size_t)(st->opts.p + st->opts.len - st->line.p)),
                 st->opts.p + st->opts.len);
        ed = (struct enf_edit){.line = st->index, .op = ENF_EDIT_REPLACE, .text = line};
    }
    return enf_text_rewrite(ctx, FSTAB, st->fstab_exists ? st->data : NULL, st->len, &ed, 1, "#",
                            0);
}

static int remount(struct enf_ctx *ctx, const struct params *p, const char *opts)
{
    char arg[1100];
    const char *argv[] = {MOUNT, "-o", arg, p->mp, NULL};
    struct plat_proc_result res;
    int rc;
    if (!enf_root_is_live(ctx)) {
        enf_ctx_detail(ctx, "%s under root %s is not a mount of this system: not remounted", p->mp,
                       enf_ctx_root(ctx));
        return WARD_ENOTSUP;
    }
    snprintf(arg, sizeof(arg), "remount,%s", opts);
    memset(&res, 0, sizeof(res));
    rc = enf_proc_run(ctx, argv, 60000, &res);
    enf_file_forget(ctx, MOUNTINFO);
    if (rc != 0)
        enf_ctx_detail(ctx, "cannot run %s: %s", MOUNT, ward_strerror(rc));
    else if (res.timed_out || res.term_signal || res.exit_status != 0) {
        enf_ctx_detail(ctx, "mount -o %s %s: exit %lld: %.200s", arg, p->mp,
                       (long long)res.exit_status, res.err_len ? res.err : res.out);
        rc = WARD_EIO;
    }
    plat_proc_result_release(&res);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    struct state st;
    char opts[512] = "";
    size_t n = 0;
    int rc;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc == 0 && !fstab_ok(&p, &st))
        rc = fix_fstab(ctx, &p, &st);
    if (rc != 0)
        return rc;
    rc = read_state(ctx, &p, &st);
    if (rc != 0 || live_ok(&p, &st))
        return rc;
    for (size_t i = 0; i < p.n; i++)
        n += (size_t)snprintf(opts + n, sizeof(opts) - n, "%s%s", i ? "," : "", p.opts[i]);
    return remount(ctx, &p, opts);
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
    *out = json_pack("{s:o, s:o}", "fstab_line",
                     st.found ? json_stringn(st.line.p, st.line.len) : json_null(), "live",
                     st.mounted ? json_stringn(st.mopts.p, st.mopts.len) : json_null());
    return *out ? 0 : WARD_ENOMEM;
}

/* The fstab line as it was (or none), and the live mount's options that Ward added taken
 * back off (`nodev` -> `dev`). */
static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    struct state st;
    const json_t *fl = json_object_get(snap, "fstab_line"), *lv = json_object_get(snap, "live");
    char opts[512] = "";
    size_t n = 0;
    int rc;
    if (!json_is_object(snap))
        return WARD_ECORRUPT;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    if (p.fstab && st.found &&
        !(json_is_string(fl) && json_string_length(fl) == st.line.len &&
          memcmp(st.line.p, json_string_value(fl), st.line.len) == 0)) {
        struct enf_edit ed = {.line = st.index,
                              .op = json_is_string(fl) ? ENF_EDIT_REPLACE : ENF_EDIT_DELETE,
                              .text = json_is_string(fl) ? json_string_value(fl) : NULL};
        rc = enf_text_rewrite(ctx, FSTAB, st.data, st.len, &ed, 1, "#", 0);
        if (rc != 0)
            return rc;
    }
    if (!p.live || !json_is_string(lv) || !st.mounted)
        return 0;
    for (size_t i = 0; i < p.n; i++) {
        struct enf_line was = {.p = json_string_value(lv), .len = json_string_length(lv)};
        const char *o = p.opts[i];
        if (strncmp(o, "no", 2) != 0 || has_opt(was, o) || !has_opt(st.mopts, o))
            continue;
        n += (size_t)snprintf(opts + n, sizeof(opts) - n, "%s%s", n ? "," : "", o + 2);
    }
    return n ? remount(ctx, &p, opts) : 0;
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    if (!enf_bool(s, "fstab", 1) || max < 1)
        return 0;
    paths[0] = FSTAB;
    return 1;
}

const struct enf_kind enf_kind_mount_option = {
    .name = "mount_option",
    .summary = "Options a mount point must have, in /etc/fstab and on the live mount "
               "(remount by argv).",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
