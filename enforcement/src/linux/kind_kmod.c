/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `kernel_module` kind: a module kept from loading through an /etc/modprobe.d drop-in:
 * `blacklist NAME` (no autoloading by alias) and, by default, `install NAME /bin/false`
 * (an explicit modprobe fails too), as CIS asks. Module names compare with `-` and `_`
 * equal, as modprobe does. It does not unload a module that is already loaded.
 */
#define WARD_LOG_TAG "enf-kmod"

#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define DEFAULT_FILE "/etc/modprobe.d/ward-blacklist.conf"
#define MAX_MATCHES 64

static const char *const states[] = {"blacklisted", "allowed", NULL};

static const struct enf_field fields[] = {
    {.name = "name", .type = ENF_F_STRING, .required = 1, .description = "Module name."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "blacklisted",
     .description = "`blacklisted`, or `allowed` (removes Ward's lines for it from `file`)."},
    {.name = "file",
     .type = ENF_F_PATH,
     .def = DEFAULT_FILE,
     .description = "The modprobe.d drop-in holding the lines."},
    {.name = "install_false",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Also require `install NAME /bin/false` (`/bin/true` is accepted)."},
    {.name = NULL},
};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const char *n = enf_str(s, "name", "");
    char p[WARD_JSON_PATH_MAX];
    int bad = n[0] == '\0' || strlen(n) > 64;
    for (const char *c = n; *c && !bad; c++)
        bad = !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                *c == '_' || *c == '-');
    if (bad) {
        enf_diag_path(d, "name", p, sizeof(p));
        enf_diag(d, p, "\"%.64s\" is not a module name (letters, digits, _ and -)", n);
    }
    return bad;
}

struct params {
    const char *name, *file;
    int blacklisted, install_false;
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    p->name = enf_str(s, "name", "");
    p->file = enf_str(s, "file", DEFAULT_FILE);
    p->blacklisted = strcmp(enf_str(s, "state", "blacklisted"), "blacklisted") == 0;
    p->install_false = enf_bool(s, "install_false", 1);
}

struct scan {
    int exists, blacklist, install;
    const char *data;
    size_t len, nlines;
    size_t match[MAX_MATCHES];
    size_t count;
    struct enf_line install_line;
};

/* Next blank-separated word of l, advancing it. */
static struct enf_line word(struct enf_line *l)
{
    struct enf_line w;
    *l = enf_text_ltrim(*l);
    w.p = l->p;
    w.len = 0;
    while (w.len < l->len && l->p[w.len] != ' ' && l->p[w.len] != '\t')
        w.len++;
    l->p += w.len;
    l->len -= w.len;
    return w;
}

static int same_module(struct enf_line w, const char *name)
{
    size_t n = strlen(name);
    if (w.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char a = w.p[i] == '-' ? '_' : w.p[i], b = name[i] == '-' ? '_' : name[i];
        if (a != b)
            return 0;
    }
    return 1;
}

static int scan_file(struct enf_ctx *ctx, const struct params *p, struct scan *sc)
{
    size_t pos = 0;
    struct enf_line l;
    int rc;
    memset(sc, 0, sizeof(*sc));
    rc = enf_file_read(ctx, p->file, &sc->data, &sc->len);
    if (rc == WARD_ENOENT) {
        sc->data = NULL;
        return 0;
    }
    if (rc != 0)
        return rc;
    sc->exists = 1;
    while (enf_text_next(sc->data, sc->len, &pos, &l)) {
        struct enf_line rest = l, w1, w2, w3;
        int hit = 0;
        if (!enf_text_is_comment(l, "#")) {
            w1 = word(&rest);
            w2 = word(&rest);
            if (enf_text_eq(w1, "blacklist", 0) && same_module(w2, p->name)) {
                sc->blacklist = hit = 1;
            } else if (enf_text_eq(w1, "install", 0) && same_module(w2, p->name)) {
                w3 = word(&rest);
                rest = enf_text_trim(rest);
                hit = 1;
                if (rest.len == 0 &&
                    (enf_text_eq(w3, "/bin/false", 0) || enf_text_eq(w3, "/bin/true", 0) ||
                     enf_text_eq(w3, "/usr/bin/false", 0) || enf_text_eq(w3, "/usr/bin/true", 0)))
                    sc->install = 1;
                sc->install_line = enf_text_trim(l);
            }
        }
        if (hit) {
            if (sc->count >= MAX_MATCHES)
                return WARD_ETOOBIG;
            sc->match[sc->count++] = sc->nlines;
        }
        sc->nlines++;
    }
    return 0;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    struct scan sc;
    int rc;
    params_get(s, &p);
    if (p.blacklisted)
        enf_check_expected(out, "%s blacklisted%s in %s", p.name,
                           p.install_false ? " and install /bin/false" : "", p.file);
    else
        enf_check_expected(out, "%s not blacklisted in %s", p.name, p.file);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    if (!sc.exists)
        enf_check_actual(out, "%s missing", p.file);
    else
        enf_check_actual(out, "blacklist %s, install %s", sc.blacklist ? "yes" : "no",
                         sc.install            ? "/bin/false"
                         : sc.install_line.len ? "other"
                                               : "no");
    if (p.blacklisted)
        out->compliant = sc.blacklist && (!p.install_false || sc.install);
    else
        out->compliant = !sc.blacklist && !sc.install;
    return 0;
}

/* Makes the file hold exactly the wanted lines for the module (replacing whatever was
 * there for it): blacklist and/or the install line. */
static int set_lines(struct enf_ctx *ctx, const struct params *p, int blacklist,
                     const char *install, int remove_if_idle)
{
    struct scan sc;
    struct enf_edit ed[MAX_MATCHES + 2];
    char bl[128];
    size_t ne = 0, at;
    int rc = scan_file(ctx, p, &sc);
    if (rc != 0)
        return rc;
    at = sc.count ? sc.match[0] : sc.nlines;
    snprintf(bl, sizeof(bl), "blacklist %s", p->name);
    if (blacklist)
        ed[ne++] = (struct enf_edit){.line = at, .op = ENF_EDIT_INSERT, .text = bl};
    if (install)
        ed[ne++] = (struct enf_edit){.line = at, .op = ENF_EDIT_INSERT, .text = install};
    for (size_t i = 0; i < sc.count; i++)
        ed[ne++] = (struct enf_edit){.line = sc.match[i], .op = ENF_EDIT_DELETE};
    if (!sc.exists && ne == 0)
        return 0;
    return enf_text_rewrite(ctx, p->file, sc.exists ? sc.data : NULL, sc.len, ed, ne, "#",
                            remove_if_idle);
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    struct scan sc;
    char inst[128];
    int rc;
    params_get(s, &p);
    if (!p.blacklisted)
        return set_lines(ctx, &p, 0, NULL, 0);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    snprintf(inst, sizeof(inst), "install %s /bin/false", p.name);
    /* keep an acceptable install line as it is written (/bin/true) */
    if (sc.install) {
        size_t n = sc.install_line.len < sizeof(inst) - 1 ? sc.install_line.len : sizeof(inst) - 1;
        memcpy(inst, sc.install_line.p, n);
        inst[n] = '\0';
    }
    return set_lines(ctx, &p, 1, p.install_false || sc.install ? inst : NULL, 0);
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct params p;
    struct scan sc;
    int rc;
    *out = NULL;
    params_get(s, &p);
    rc = scan_file(ctx, &p, &sc);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:b, s:b, s:o}", "exists", sc.exists, "blacklist", sc.blacklist, "install",
                     sc.install_line.len ? json_stringn(sc.install_line.p, sc.install_line.len)
                                         : json_null());
    return *out ? 0 : WARD_ENOMEM;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    const json_t *inst = json_object_get(snap, "install");
    params_get(s, &p);
    return set_lines(ctx, &p, json_is_true(json_object_get(snap, "blacklist")),
                     json_is_string(inst) ? json_string_value(inst) : NULL,
                     !json_is_true(json_object_get(snap, "exists")));
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    if (max >= 1)
        paths[0] = enf_str(s, "file", DEFAULT_FILE);
    return 1;
}

const struct enf_kind enf_kind_kernel_module = {
    .name = "kernel_module",
    .summary = "A kernel module kept from loading through an /etc/modprobe.d drop-in.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
