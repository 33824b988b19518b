/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `password_policy` kind: password ageing defaults in login.defs (PASS_MAX_DAYS,
 * PASS_MIN_DAYS, PASS_WARN_AGE) and pam_pwquality's minimums in pwquality.conf (minlen,
 * the four credits, minclass, retry). Each given field is judged "at least as strict"
 * (PASS_MAX_DAYS 90 meets a policy of 365; minlen 16 meets 14), and a file must hold one
 * active line per key. Repairs set the policy's value through the `line` kind's slots
 * (helpers.h sub-settings), so editing, snapshot and restore are the line kind's.
 * login.defs ageing applies to accounts created afterwards (existing shadow entries keep
 * theirs); pwquality.conf takes effect where pam_pwquality is in the PAM stack.
 */
#define WARD_LOG_TAG "enf-pwpolicy"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ward/error.h"

#define LOGIN_DEFS "/etc/login.defs"
#define PWQUALITY "/etc/security/pwquality.conf"

enum which { LDEFS, PWQ };

struct item {
    const char *field, *key;
    enum which file;
    int at_least; /* 1: larger is stricter, 0: smaller is stricter */
};

static const struct item items[] = {
    {"pass_max_days", "PASS_MAX_DAYS", LDEFS, 0},
    {"pass_min_days", "PASS_MIN_DAYS", LDEFS, 1},
    {"pass_warn_age", "PASS_WARN_AGE", LDEFS, 1},
    {"minlen", "minlen", PWQ, 1},
    {"dcredit", "dcredit", PWQ, 0},
    {"ucredit", "ucredit", PWQ, 0},
    {"lcredit", "lcredit", PWQ, 0},
    {"ocredit", "ocredit", PWQ, 0},
    {"minclass", "minclass", PWQ, 1},
    {"retry", "retry", PWQ, 0},
    {NULL, NULL, LDEFS, 0},
};

#define CREDIT(n, c)                                                                               \
    {                                                                                              \
        .name = n, .type = ENF_F_INT, .min = -100, .max = 100,                                     \
        .description = "pwquality.conf `" n "`, at most (negative: at least that many " c ")."     \
    }

static const struct enf_field fields[] = {
    {.name = "pass_max_days",
     .type = ENF_F_INT,
     .min = 1,
     .max = 99999,
     .description = "login.defs `PASS_MAX_DAYS`, at most."},
    {.name = "pass_min_days",
     .type = ENF_F_INT,
     .min = 0,
     .max = 99999,
     .description = "login.defs `PASS_MIN_DAYS`, at least."},
    {.name = "pass_warn_age",
     .type = ENF_F_INT,
     .min = 0,
     .max = 99999,
     .description = "login.defs `PASS_WARN_AGE`, at least."},
    {.name = "minlen",
     .type = ENF_F_INT,
     .min = 6,
     .max = 256,
     .description = "pwquality.conf `minlen`, at least."},
    CREDIT("dcredit", "digits"),
    CREDIT("ucredit", "upper-case letters"),
    CREDIT("lcredit", "lower-case letters"),
    CREDIT("ocredit", "other characters"),
    {.name = "minclass",
     .type = ENF_F_INT,
     .min = 0,
     .max = 4,
     .description = "pwquality.conf `minclass`, at least."},
    {.name = "retry",
     .type = ENF_F_INT,
     .min = 1,
     .max = 100,
     .description = "pwquality.conf `retry`, at most."},
    {.name = "login_defs", .type = ENF_F_PATH, .def = LOGIN_DEFS, .description = "login.defs."},
    {.name = "pwquality",
     .type = ENF_F_PATH,
     .def = PWQUALITY,
     .description = "pwquality.conf (pam_pwquality's configuration)."},
    {.name = NULL},
};

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    for (size_t i = 0; items[i].field; i++)
        if (json_object_get(s->params, items[i].field))
            return 0;
    enf_diag(d, d->setting_path,
             "give at least one of pass_max_days, pass_min_days, "
             "pass_warn_age, minlen, dcredit, ucredit, lcredit, ocredit, "
             "minclass, retry");
    return 1;
}

static const char *path_of(const struct enf_setting *s, enum which w)
{
    return w == LDEFS ? enf_str(s, "login_defs", LOGIN_DEFS) : enf_str(s, "pwquality", PWQUALITY);
}

static int key_match(const struct item *it, struct enf_line l, struct enf_line *val)
{
    return enf_text_key_match(l, it->key, it->file == LDEFS ? " " : "=", 0, "#", val);
}

/* The line sub-setting that writes this item with value v. */
static int sub_for(const struct enf_setting *s, const struct item *it, long long v,
                   struct enf_sub *sub)
{
    return enf_sub_init(sub, s, &enf_kind_line,
                        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "path", path_of(s, it->file),
                                  "key", it->key, "value", (json_int_t)v, "separator",
                                  it->file == LDEFS ? "\t" : " = ", "comment", "#", "duplicates",
                                  "comment"));
}

struct found {
    size_t count;
    int have_num;
    long long num;
    char text[64];
};

static int find(struct enf_ctx *ctx, const struct enf_setting *s, const struct item *it,
                struct found *f)
{
    const char *data;
    size_t len, pos = 0;
    struct enf_line l, v;
    int rc = enf_file_read(ctx, path_of(s, it->file), &data, &len);
    memset(f, 0, sizeof(*f));
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    while (enf_text_next(data, len, &pos, &l)) {
        if (!key_match(it, l, &v))
            continue;
        if (f->count++ == 0) {
            char *end;
            snprintf(f->text, sizeof(f->text), "%.*s", (int)v.len, v.p);
            errno = 0;
            f->num = strtoll(f->text, &end, 10);
            f->have_num = f->text[0] && *end == '\0' && errno == 0;
        }
    }
    return 0;
}

static int item_ok(const struct item *it, const struct found *f, long long want)
{
    if (f->count != 1 || !f->have_num)
        return 0;
    return it->at_least ? f->num >= want : f->num <= want;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    char exp[600] = "", act[600] = "";
    size_t ne = 0, na = 0;
    int ok = 1;
    for (size_t i = 0; items[i].field; i++) {
        const struct item *it = &items[i];
        struct found f;
        long long want;
        int rc;
        if (!json_object_get(s->params, it->field))
            continue;
        want = enf_int(s, it->field, 0);
        rc = find(ctx, s, it, &f);
        if (rc != 0)
            return rc;
        ne += (size_t)snprintf(exp + ne, ne < sizeof(exp) ? sizeof(exp) - ne : 0, "%s%s %s %lld",
                               ne ? ", " : "", it->key, it->at_least ? ">=" : "<=", want);
        if (ne > sizeof(exp))
            ne = sizeof(exp);
        if (f.count == 0)
            na += (size_t)snprintf(act + na, na < sizeof(act) ? sizeof(act) - na : 0, "%s%s unset",
                                   na ? ", " : "", it->key);
        else
            na += (size_t)snprintf(act + na, na < sizeof(act) ? sizeof(act) - na : 0, "%s%s %s%s",
                                   na ? ", " : "", it->key, f.text,
                                   f.count > 1 ? " (duplicated)" : "");
        if (na > sizeof(act))
            na = sizeof(act);
        ok = ok && item_ok(it, &f, want);
    }
    enf_check_expected(out, "%s", exp);
    enf_check_actual(out, "%s", act);
    out->compliant = ok;
    return 0;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    for (size_t i = 0; items[i].field; i++) {
        const struct item *it = &items[i];
        struct enf_sub sub;
        struct found f;
        long long want;
        int rc;
        if (!json_object_get(s->params, it->field))
            continue;
        want = enf_int(s, it->field, 0);
        rc = find(ctx, s, it, &f);
        if (rc != 0)
            return rc;
        if (item_ok(it, &f, want))
            continue;
        rc = sub_for(s, it, want, &sub);
        if (rc == 0)
            rc = enf_kind_line.apply(ctx, &sub.s);
        enf_sub_release(&sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    json_t *all = json_object();
    int rc = all ? 0 : WARD_ENOMEM;
    for (size_t i = 0; rc == 0 && items[i].field; i++) {
        struct enf_sub sub;
        json_t *one = NULL;
        if (!json_object_get(s->params, items[i].field))
            continue;
        rc = sub_for(s, &items[i], enf_int(s, items[i].field, 0), &sub);
        if (rc == 0)
            rc = enf_kind_line.snapshot(ctx, &sub.s, &one);
        if (rc == 0 && json_object_set_new(all, items[i].field, one) != 0)
            rc = WARD_ENOMEM;
        enf_sub_release(&sub);
    }
    if (rc != 0) {
        json_decref(all);
        all = NULL;
    }
    *out = all;
    return rc;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    int rc = 0;
    if (!json_is_object(snap))
        return WARD_ECORRUPT;
    for (size_t i = 0; rc == 0 && items[i].field; i++) {
        const json_t *one = json_object_get(snap, items[i].field);
        struct enf_sub sub;
        if (!one || !json_object_get(s->params, items[i].field))
            continue;
        rc = sub_for(s, &items[i], enf_int(s, items[i].field, 0), &sub);
        if (rc == 0)
            rc = enf_kind_line.restore(ctx, &sub.s, one);
        enf_sub_release(&sub);
    }
    return rc;
}

static size_t watch(const struct enf_setting *s, const char **paths, size_t max)
{
    int want[2] = {0, 0};
    size_t n = 0;
    for (size_t i = 0; items[i].field; i++)
        if (json_object_get(s->params, items[i].field))
            want[items[i].file] = 1;
    for (int w = 0; w < 2; w++)
        if (want[w] && n < max)
            paths[n++] = path_of(s, (enum which)w);
    return n;
}

const struct enf_kind enf_kind_password_policy = {
    .name = "password_policy",
    .summary = "Password ageing in login.defs and pam_pwquality minimums in pwquality.conf, "
               "each at least as strict as given.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .watch = watch,
};
