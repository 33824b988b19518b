/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `line` kind: one line, or one `key value` entry, in a line-oriented configuration
 * file (sshd_config, login.defs, limits.conf ...). Only active lines count (comments and
 * blank lines never match). A key entry is compliant when its first active line has the
 * value (the rule sshd and login.defs read by); `duplicates` decides what happens to later
 * active lines of the same key. Everything else in the file is kept byte for byte.
 */
#define WARD_LOG_TAG "enf-line"

#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define MAX_MATCHES 256

static const char *const states[] = {"present", "absent", NULL};
static const char *const dup_rules[] = {"keep", "comment", "remove", NULL};

static const struct enf_field fields[] = {
    {.name = "path", .type = ENF_F_PATH, .required = 1, .description = "The file."},
    {.name = "line",
     .type = ENF_F_STRING,
     .description = "An exact line (compared without leading and trailing blanks). Give "
                    "either `line` or `key`."},
    {.name = "key", .type = ENF_F_STRING, .description = "The key of a `key value` entry."},
    {.name = "value",
     .type = ENF_F_SCALAR,
     .description = "The entry's value (required with `key` unless `state` is `absent`); "
                    "compared with runs of blanks folded."},
    {.name = "separator",
     .type = ENF_F_STRING,
     .def = " ",
     .description = "Written between key and value. Blanks mean \"one or more blanks\" when "
                    "matching; another separator (`=`) may have blanks around it."},
    {.name = "comment",
     .type = ENF_F_STRING,
     .def = "#",
     .description = "Characters that start a comment line."},
    {.name = "case_sensitive",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Whether keys match case-sensitively (sshd_config keys do not)."},
    {.name = "duplicates",
     .type = ENF_F_ENUM,
     .allowed = dup_rules,
     .def = "keep",
     .description = "Later active lines of the same key (or line): `keep` them (only the first "
                    "counts), `comment` them out, or `remove` them; with `comment`/`remove` a "
                    "duplicate makes the setting non-compliant."},
    {.name = "insert_before",
     .type = ENF_F_STRING,
     .description = "A missing entry goes before the first active line starting with this "
                    "text (e.g. `Match` in sshd_config), else at the end."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`absent` removes every active matching line (comments them out with "
                    "`duplicates: comment`)."},
    {.name = "create",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Create the file (0644) when it is missing; otherwise a missing file "
                    "fails the setting."},
    {.name = NULL},
};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    int has_line = json_object_get(s->params, "line") != NULL;
    int has_key = json_object_get(s->params, "key") != NULL;
    int absent = strcmp(enf_str(s, "state", "present"), "absent") == 0;
    char p[WARD_JSON_PATH_MAX];
    if (has_line == has_key) {
        enf_diag(d, d->setting_path, "give exactly one of \"line\" and \"key\"");
        return 1;
    }
    if (has_key && !absent && !json_object_get(s->params, "value")) {
        enf_diag(d, d->setting_path, "missing \"value\" for \"key\"");
        return 1;
    }
    if (has_line && json_object_get(s->params, "value")) {
        enf_diag_path(d, "value", p, sizeof(p));
        enf_diag(d, p, "only with \"key\"");
        return 1;
    }
    if (has_key && enf_str(s, "key", "")[0] == '\0') {
        enf_diag_path(d, "key", p, sizeof(p));
        enf_diag(d, p, "must not be empty");
        return 1;
    }
    if (enf_str(s, "separator", " ")[0] == '\0') {
        enf_diag_path(d, "separator", p, sizeof(p));
        enf_diag(d, p, "must not be empty");
        return 1;
    }
    if (strchr(enf_str(s, has_key ? "key" : "line", ""), '\n')) {
        enf_diag_path(d, has_key ? "key" : "line", p, sizeof(p));
        enf_diag(d, p, "must be a single line");
        return 1;
    }
    return 0;
}

struct scan {
    int exists;
    const char *data;
    size_t len, nlines;
    size_t match[MAX_MATCHES];
    struct enf_line mline[MAX_MATCHES]; /* whole matching lines, trimmed */
    struct enf_line value;              /* value of the first match (key mode) */
    size_t count;
    size_t before; /* index of the insert_before line, or nlines */
};

struct params {
    const char *path, *line, *key, *value, *sep, *comment, *dups, *insert_before;
    int icase, absent, create;
    char vbuf[32];
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    p->path = enf_str(s, "path", "/");
    p->line = enf_str(s, "line", NULL);
    p->key = enf_str(s, "key", NULL);
    p->value = enf_scalar(s, "value", p->vbuf, sizeof(p->vbuf), "");
    p->sep = enf_str(s, "separator", " ");
    p->comment = enf_str(s, "comment", "#");
    p->dups = enf_str(s, "duplicates", "keep");
    p->insert_before = enf_str(s, "insert_before", NULL);
    p->icase = !enf_bool(s, "case_sensitive", 1);
    p->absent = strcmp(enf_str(s, "state", "present"), "absent") == 0;
    p->create = enf_bool(s, "create", 1);
}

static int scan_file(struct enf_ctx *ctx, const struct params *p, struct scan *sc)
{
    size_t pos = 0;
    struct enf_line l;
    int rc;
    memset(sc, 0, sizeof(*sc));
    rc = enf_file_read(ctx, p->path, &sc->data, &sc->len);
    if (rc == WARD_ENOENT) {
        sc->data = NULL;
        sc->len = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    sc->exists = 1;
    sc->before = (size_t)-1;
    while (enf_text_next(sc->data, sc->len, &pos, &l)) {
        struct enf_line val;
        int hit;
        if (p->key) {
            hit = enf_text_key_match(l, p->key, p->sep, p->icase, p->comment, &val);
        } else {
            hit = !enf_text_is_comment(l, p->comment) && enf_text_eq(l, p->line, 1);
            val = l;
        }
        if (hit) {
            if (sc->count == 0)
                sc->value = val;
            if (sc->count < MAX_MATCHES) {
                sc->match[sc->count] = sc->nlines;
                sc->mline[sc->count] = enf_text_trim(l);
            }
            sc->count++;
        }
        if (sc->before == (size_t)-1 && p->insert_before && !enf_text_is_comment(l, p->comment)) {
            struct enf_line t = enf_text_ltrim(l);
            size_t n = strlen(p->insert_before);
            if (t.len >= n && memcmp(t.p, p->insert_before, n) == 0)
                sc->before = sc->nlines;
        }
        sc->nlines++;
    }
    if (sc->before == (size_t)-1)
        sc->before = sc->nlines;
    if (sc->count > MAX_MATCHES) {
        enf_ctx_detail(ctx, "%s has more than %d matching lines", p->path, MAX_MATCHES);
        return WARD_ETOOBIG;
    }
    return 0;
}

/* The line the setting writes: "key<sep>value" or the line itself. */
static void desired(const struct params *p, char *out, size_t len)
{
    if (p->key)
        snprintf(out, len, "%s%s%s", p->key, p->sep, p->value);
    else
        snprintf(out, len, "%s", p->line);
}

static int compliant(const struct params *p, const struct scan *sc)
{
    int strict = strcmp(p->dups, "keep") != 0;
    if (p->absent)
        return sc->count == 0;
    if (sc->count == 0 || (strict && sc->count > 1))
        return 0;
    return p->key ? enf_text_eq(sc->value, p->value, 1) : 1;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    struct scan sc;
    char want[2048];
    int rc;
    params_get(s, &p);
    desired(&p, want, sizeof(want));
    if (p.absent)
        enf_check_expected(out, "no active \"%s\" line", p.key ? p.key : p.line);
    else
        enf_check_expected(out, "%s", want);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    if (!sc.exists)
        enf_check_actual(out, "file missing");
    else if (sc.count == 0)
        enf_check_actual(out, "(absent)");
    else if (sc.count == 1)
        enf_check_actual(out, "%.*s", (int)sc.mline[0].len, sc.mline[0].p);
    else
        enf_check_actual(out, "%.*s (+%zu more)", (int)sc.mline[0].len, sc.mline[0].p,
                         sc.count - 1);
    out->compliant = compliant(&p, &sc);
    return 0;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    struct scan sc;
    struct enf_edit *ed = NULL;
    char want[2048];
    size_t ne = 0;
    int rc;

    params_get(s, &p);
    desired(&p, want, sizeof(want));
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    if (!sc.exists && (p.absent))
        return 0;
    if (!sc.exists && !p.create) {
        enf_ctx_detail(ctx, "%s is missing (create is false)", p.path);
        return WARD_ENOENT;
    }
    ed = ward_calloc(sc.count + 1, sizeof(*ed));
    if (!ed)
        return WARD_ENOMEM;
    if (p.absent) {
        for (size_t i = 0; i < sc.count; i++)
            ed[ne++] = (struct enf_edit){.line = sc.match[i],
                                         .op = strcmp(p.dups, "comment") == 0 ? ENF_EDIT_COMMENT
                                                                              : ENF_EDIT_DELETE};
    } else if (sc.count == 0) {
        ed[ne++] = (struct enf_edit){.line = sc.before, .op = ENF_EDIT_INSERT, .text = want};
    } else {
        if (p.key && !enf_text_eq(sc.value, p.value, 1))
            ed[ne++] = (struct enf_edit){.line = sc.match[0], .op = ENF_EDIT_REPLACE, .text = want};
        if (strcmp(p.dups, "keep") != 0)
            for (size_t i = 1; i < sc.count; i++)
                ed[ne++] = (struct enf_edit){
                    .line = sc.match[i],
                    .op = strcmp(p.dups, "comment") == 0 ? ENF_EDIT_COMMENT : ENF_EDIT_DELETE};
    }
    rc =
        ne ? enf_text_rewrite(ctx, p.path, sc.exists ? sc.data : NULL, sc.len, ed, ne, p.comment, 0)
           : 0;
    ward_free(ed);
    return rc;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct params p;
    struct scan sc;
    json_t *lines;
    int rc;
    *out = NULL;
    params_get(s, &p);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    lines = json_array();
    for (size_t i = 0; lines && i < sc.count; i++)
        if (json_array_append_new(lines, json_stringn(sc.mline[i].p, sc.mline[i].len)) != 0) {
            json_decref(lines);
            lines = NULL;
        }
    if (!lines)
        return WARD_ENOMEM;
    *out = json_pack("{s:b, s:o}", "exists", sc.exists, "lines", lines);
    return *out ? 0 : WARD_ENOMEM;
}

/* Puts the matching lines back as they were: current matches removed, the prior ones
 * inserted where the first match is now (or where a new entry would go). */
static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    struct scan sc;
    const json_t *lines = json_object_get(snap, "lines"), *v;
    struct enf_edit *ed;
    size_t ne = 0, i, at;
    int rc;

    if (!json_is_array(lines))
        return WARD_ECORRUPT;
    params_get(s, &p);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    if (!sc.exists && json_array_size(lines) == 0)
        return 0;
    ed = ward_calloc(sc.count + json_array_size(lines) + 1, sizeof(*ed));
    if (!ed)
        return WARD_ENOMEM;
    at = sc.count ? sc.match[0] : sc.before;
    json_array_foreach(lines, i, v)
    {
        if (json_is_string(v))
            ed[ne++] =
                (struct enf_edit){.line = at, .op = ENF_EDIT_INSERT, .text = json_string_value(v)};
    }
    for (i = 0; i < sc.count; i++)
        ed[ne++] = (struct enf_edit){.line = sc.match[i], .op = ENF_EDIT_DELETE};
    rc = enf_text_rewrite(ctx, p.path, sc.exists ? sc.data : NULL, sc.len, ed, ne, p.comment,
                          !json_is_true(json_object_get(snap, "exists")));
    ward_free(ed);
    return rc;
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    if (max >= 1)
        paths[0] = enf_str(s, "path", "/");
    return 1;
}

const struct enf_kind enf_kind_line = {
    .name = "line",
    .summary = "A line, or a `key value` entry, in a line-oriented configuration file "
               "(sshd_config, login.defs ...).",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
