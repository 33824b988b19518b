/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `sysctl` kind: a kernel parameter's runtime value (/proc/sys under the root) and its
 * persistence as a `key = value` line in an /etc/sysctl.d drop-in; both are checked and
 * both repaired. The runtime value is written in place (procfs files cannot be replaced by
 * rename). Values compare with runs of blanks folded, since the kernel prints tabs where
 * a policy writes spaces (net.ipv4.ip_local_port_range).
 */
#define WARD_LOG_TAG "enf-sysctl"

#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "kinds.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define DEFAULT_FILE "/etc/sysctl.d/60-ward.conf"
#define MAX_MATCHES 64

static const struct enf_field fields[] = {
    {.name = "key",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "Parameter name, dotted (`net.ipv4.ip_forward`) or with slashes."},
    {.name = "value", .type = ENF_F_SCALAR, .required = 1, .description = "The value."},
    {.name = "file",
     .type = ENF_F_PATH,
     .def = DEFAULT_FILE,
     .description = "Drop-in that persists the value across reboots."},
    {.name = "runtime",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Check and set the running kernel's value."},
    {.name = "persist",
     .type = ENF_F_BOOL,
     .def = "true",
     .description = "Check and set the drop-in line."},
    {.name = NULL},
};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    const char *k = enf_str(s, "key", "");
    char p[WARD_JSON_PATH_MAX];
    int bad = k[0] == '\0' || k[0] == '.' || k[0] == '/';
    for (const char *c = k; *c && !bad; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '-' || *c == '.' || *c == '/';
        if (!ok || ((*c == '.' || *c == '/') && (c[1] == '.' || c[1] == '/' || c[1] == '\0')))
            bad = 1;
    }
    if (bad) {
        enf_diag_path(d, "key", p, sizeof(p));
        enf_diag(d, p,
                 "\"%.64s\" is not a sysctl name (letters, digits, _ - separated by . "
                 "or /)",
                 k);
        return 1;
    }
    if (!enf_bool(s, "runtime", 1) && !enf_bool(s, "persist", 1)) {
        enf_diag(d, d->setting_path, "runtime and persist cannot both be false");
        return 1;
    }
    if (strchr(enf_scalar(s, "value", p, sizeof(p), ""), '\n')) {
        enf_diag_path(d, "value", p, sizeof(p));
        enf_diag(d, p, "must be a single line");
        return 1;
    }
    return 0;
}

struct params {
    const char *key, *value, *file;
    int runtime, persist;
    char dotted[256]; /* key with / as . (the drop-in spelling) */
    char proc[300];   /* /proc/sys/... */
    char vbuf[32];
};

static void params_get(const struct enf_setting *s, struct params *p)
{
    int slashes;
    size_t i;
    p->key = enf_str(s, "key", "");
    p->value = enf_scalar(s, "value", p->vbuf, sizeof(p->vbuf), "");
    p->file = enf_str(s, "file", DEFAULT_FILE);
    p->runtime = enf_bool(s, "runtime", 1);
    p->persist = enf_bool(s, "persist", 1);
    slashes = strchr(p->key, '/') != NULL;
    /* sysctl(8): with slashes, dots are part of a component (eth0.1); without, dots split */
    snprintf(p->proc, sizeof(p->proc), "/proc/sys/%s", p->key);
    for (i = strlen("/proc/sys/"); !slashes && p->proc[i]; i++)
        if (p->proc[i] == '.')
            p->proc[i] = '/';
    snprintf(p->dotted, sizeof(p->dotted), "%s", p->key);
    for (i = 0; slashes && p->dotted[i]; i++)
        if (p->dotted[i] == '/')
            p->dotted[i] = '.';
}

struct state {
    int runtime_ok, persist_ok;
    int have_runtime;
    struct enf_line runtime;
    int file_exists;
    const char *data;
    size_t len;
    size_t match[MAX_MATCHES];
    size_t count;
    struct enf_line last; /* value of the last active line (the one that wins) */
};

static int key_match(struct enf_line l, const struct params *p, struct enf_line *val)
{
    return enf_text_key_match(l, p->dotted, "=", 0, "#;", val) ||
           (strcmp(p->dotted, p->key) != 0 && enf_text_key_match(l, p->key, "=", 0, "#;", val));
}

static int read_state(struct enf_ctx *ctx, const struct params *p, struct state *st)
{
    size_t pos = 0, idx = 0;
    struct enf_line l, v;
    int rc;
    memset(st, 0, sizeof(*st));
    if (p->runtime) {
        const char *data;
        size_t len;
        rc = enf_file_read(ctx, p->proc, &data, &len);
        if (rc == WARD_ENOENT) {
            enf_ctx_detail(ctx, "this kernel has no %s (%s missing)", p->key, p->proc);
            return rc;
        }
        if (rc != 0)
            return rc;
        st->have_runtime = 1;
        st->runtime.p = data;
        st->runtime.len = len;
        while (st->runtime.len > 0 &&
               (data[st->runtime.len - 1] == '\n' || data[st->runtime.len - 1] == ' ' ||
                data[st->runtime.len - 1] == '\t'))
            st->runtime.len--;
        st->runtime_ok = enf_text_eq(st->runtime, p->value, 1);
    } else {
        st->runtime_ok = 1;
    }
    if (!p->persist) {
        st->persist_ok = 1;
        return 0;
    }
    rc = enf_file_read(ctx, p->file, &st->data, &st->len);
    if (rc == WARD_ENOENT) {
        st->data = NULL;
        return 0;
    }
    if (rc != 0)
        return rc;
    st->file_exists = 1;
    while (enf_text_next(st->data, st->len, &pos, &l)) {
        if (key_match(l, p, &v)) {
            if (st->count < MAX_MATCHES)
                st->match[st->count] = idx;
            st->count++;
            st->last = v;
        }
        idx++;
    }
    if (st->count > MAX_MATCHES)
        return WARD_ETOOBIG;
    st->persist_ok = st->count > 0 && enf_text_eq(st->last, p->value, 1);
    return 0;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct params p;
    struct state st;
    char act[1024] = "";
    int rc;
    params_get(s, &p);
    enf_check_expected(out, "%s = %s (%s%s%s)", p.dotted, p.value, p.runtime ? "runtime" : "",
                       p.runtime && p.persist ? ", " : "", p.persist ? p.file : "");
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    if (p.runtime)
        snprintf(act, sizeof(act), "runtime %.*s", (int)st.runtime.len, st.runtime.p);
    if (p.persist) {
        size_t n = strlen(act);
        if (st.count)
            snprintf(act + n, sizeof(act) - n, "%s%s %.*s", n ? ", " : "", p.file, (int)st.last.len,
                     st.last.p);
        else
            snprintf(act + n, sizeof(act) - n, "%s%s %s", n ? ", " : "", p.file,
                     st.file_exists ? "has no line" : "missing");
    }
    enf_check_actual(out, "%s", act);
    out->compliant = st.runtime_ok && st.persist_ok;
    return 0;
}

/* Sets the drop-in line to value (NULL removes it); one line remains. */
static int set_persist(struct enf_ctx *ctx, const struct params *p, const struct state *st,
                       const char *value, int remove_if_idle)
{
    struct enf_edit ed[MAX_MATCHES + 1];
    char line[1024];
    size_t ne = 0;
    if (!st->file_exists && !value)
        return 0;
    if (value)
        snprintf(line, sizeof(line), "%s = %s", p->dotted, value);
    for (size_t i = 0; i < st->count; i++) {
        if (i + 1 == st->count && value)
            ed[ne++] =
                (struct enf_edit){.line = st->match[i], .op = ENF_EDIT_REPLACE, .text = line};
        else
            ed[ne++] = (struct enf_edit){.line = st->match[i], .op = ENF_EDIT_DELETE};
    }
    if (st->count == 0 && value) {
        size_t pos = 0, n = 0;
        struct enf_line l;
        while (st->data && enf_text_next(st->data, st->len, &pos, &l))
            n++;
        ed[ne++] = (struct enf_edit){.line = n, .op = ENF_EDIT_INSERT, .text = line};
    }
    return enf_text_rewrite(ctx, p->file, st->file_exists ? st->data : NULL, st->len, ed, ne, "#;",
                            remove_if_idle);
}

static int write_runtime(struct enf_ctx *ctx, const struct params *p, const char *value)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s\n", value);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return WARD_ETOOBIG;
    return enf_file_write_inplace(ctx, p->proc, buf, (size_t)n);
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct params p;
    struct state st;
    int rc;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc == 0 && !st.runtime_ok)
        rc = write_runtime(ctx, &p, p.value);
    if (rc == 0 && !st.persist_ok) {
        /* the runtime write may have dropped cached bytes: read the drop-in again */
        rc = read_state(ctx, &p, &st);
        if (rc == 0)
            rc = set_persist(ctx, &p, &st, p.value, 0);
    }
    return rc;
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
    *out = json_pack("{s:o, s:o, s:b}", "runtime",
                     st.have_runtime ? json_stringn(st.runtime.p, st.runtime.len) : json_null(),
                     "persisted", st.count ? json_stringn(st.last.p, st.last.len) : json_null(),
                     "file_existed", st.file_exists);
    return *out ? 0 : WARD_ENOMEM;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct params p;
    struct state st;
    const json_t *rt = json_object_get(snap, "runtime"), *ps = json_object_get(snap, "persisted");
    int rc;
    params_get(s, &p);
    rc = read_state(ctx, &p, &st);
    if (rc != 0)
        return rc;
    if (json_is_string(rt) && st.have_runtime &&
        !enf_text_eq(st.runtime, json_string_value(rt), 1)) {
        rc = write_runtime(ctx, &p, json_string_value(rt));
        if (rc != 0)
            return rc;
        rc = read_state(ctx, &p, &st);
        if (rc != 0)
            return rc;
    }
    if (!p.persist)
        return 0;
    return set_persist(ctx, &p, &st, json_is_string(ps) ? json_string_value(ps) : NULL,
                       !json_is_true(json_object_get(snap, "file_existed")));
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    if (!enf_bool(s, "persist", 1))
        return 0;
    if (max >= 1)
        paths[0] = enf_str(s, "file", DEFAULT_FILE);
    return 1;
}

const struct enf_kind enf_kind_sysctl = {
    .name = "sysctl",
    .summary = "A kernel parameter: runtime value through /proc/sys and persistence in an "
               "/etc/sysctl.d drop-in.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
