/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `trust_root` kind: a CA certificate, given inline as PEM, trusted (or no longer
 * trusted) through the system store and optionally Firefox's enterprise policy. The
 * certificate is checked when the baseline is validated (exactly one certificate, a CA, in
 * its validity period; platform/trust.h) and again at each run. The system store is the
 * one the tree has (platform/trust.h picks Debian's or Fedora's); the anchor file is
 * written through the run context and the bundle rebuilt with the distribution's tool only
 * when the anchor changed or the bundle lacks (or, for absent, still has) the certificate.
 * Firefox: the certificate in a Ward-owned file, its path in Certificates.Install of
 * /etc/firefox/policies/policies.json, other policies kept. The certificate may instead be
 * named by the SHA-256 of a file in the service's store (the run's fetch hook). Not built:
 * Chromium's NSS database (certutil).
 */
#define WARD_LOG_TAG "enf-trust"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../internal.h"
#include "kinds.h"
#include "platform/trust.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"

#define FF_POLICIES "/etc/firefox/policies/policies.json"
#define FF_CERT_DIR "/usr/local/share/ward/certificates"
#define FF_POLICIES_MAX ((size_t)1 << 20)

#define ST_SYSTEM 0x1u
#define ST_FIREFOX 0x2u

static const char *const states[] = {"present", "absent", NULL};

static const struct enf_field fields[] = {
    {.name = "certificate",
     .type = ENF_F_STRING,
     .description = "The CA certificate as PEM: exactly one `CERTIFICATE` block (no chain, no "
                    "private key, nothing after it), at most 64 KiB. With `present` it must "
                    "have basicConstraints CA:TRUE and be within its validity period. This or "
                    "`certificate_sha256`."},
    {.name = "certificate_sha256",
     .type = ENF_F_SHA256,
     .description = "Instead of `certificate`: the SHA-256 of a PEM file in the service's file "
                    "store (`ward-server file add`), fetched at run time, checked against the "
                    "hash and then as `certificate` is."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`present`: trusted in every store of `stores`; `absent`: Ward's copies "
                    "removed and the stores rebuilt."},
    {.name = "name",
     .type = ENF_F_STRING,
     .description = "File name of the anchor (without suffix), by default the setting id: 1 to "
                    "64 of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`."},
    {.name = "stores",
     .type = ENF_F_STRINGS,
     .def = "[\"system\"]",
     .description = "Where it is trusted: `system` (the distribution's store: "
                    "ca-certificates or ca-trust, chosen by what the system has), `firefox` "
                    "(enterprise policy `Certificates.Install`)."},
    {.name = NULL},
};

/* ---- parameters ------------------------------------------------------------------------ */

static const char *name_of(const struct enf_setting *s, size_t *len)
{
    const json_t *n = json_object_get(s->params, "name");
    if (json_is_string(n)) {
        *len = json_string_length(n);
        return json_string_value(n);
    }
    *len = strlen(s->id);
    return s->id;
}

/* The stores mask; 0 with *bad set to the first unknown name (or "" for an empty list). */
static unsigned stores_of(const struct enf_setting *s, const char **bad)
{
    const json_t *a = json_object_get(s->params, "stores"), *v;
    unsigned m = 0;
    size_t i;
    *bad = NULL;
    if (!a)
        return ST_SYSTEM;
    json_array_foreach(a, i, v)
    {
        const char *n = json_string_value(v);
        if (n && strcmp(n, "system") == 0) {
            m |= ST_SYSTEM;
        } else if (n && strcmp(n, "firefox") == 0) {
            m |= ST_FIREFOX;
        } else {
            *bad = n ? n : "?";
            return 0;
        }
    }
    if (!m)
        *bad = "";
    return m;
}

static int is_absent(const struct enf_setting *s)
{
    return strcmp(enf_str(s, "state", "present"), "absent") == 0;
}

static unsigned cert_flags(const struct enf_setting *s)
{
    return is_absent(s) ? 0u : PLAT_TRUST_REQUIRE_CA | PLAT_TRUST_REQUIRE_VALID;
}

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    char p[WARD_JSON_PATH_MAX], why[512];
    const char *name, *bad;
    const json_t *c = json_object_get(s->params, "certificate");
    struct plat_trust_cert cert;
    size_t nlen;
    int rc, n = 0;

    name = name_of(s, &nlen);
    if (!plat_trust_name_ok(name, nlen)) {
        enf_diag_path(d, json_object_get(s->params, "name") ? "name" : "id", p, sizeof(p));
        enf_diag(d, p,
                 "\"%.64s\" cannot be a certificate file name (1 to %d of A-Z a-z 0-9 . _ -, "
                 "not starting with . or -)",
                 name, PLAT_TRUST_NAME_MAX);
        n++;
    }
    if (!stores_of(s, &bad)) {
        enf_diag_path(d, "stores", p, sizeof(p));
        if (!bad[0])
            enf_diag(d, p, "name at least one store");
        else if (strcmp(bad, "nss") == 0)
            enf_diag(d, p, "\"nss\" (the NSS database Chromium reads) is not supported yet");
        else
            enf_diag(d, p, "\"%.64s\" is not a store (system, firefox)", bad);
        n++;
    }
    if (!c == !json_object_get(s->params, "certificate_sha256")) {
        enf_diag_path(d, "certificate", p, sizeof(p));
        enf_diag(d, p, "give either certificate or certificate_sha256");
        return n + 1;
    }
    if (!c)
        return n; /* by hash: checked when it is fetched */
    rc = plat_trust_cert_parse(json_string_value(c), json_string_length(c), (int64_t)time(NULL),
                               cert_flags(s), &cert, why, sizeof(why));
    if (rc != 0) {
        enf_diag_path(d, "certificate", p, sizeof(p));
        enf_diag(d, p, "%s", why);
        n++;
    }
    plat_trust_cert_release(&cert);
    return n;
}

/* What a setting means on this tree. */
struct tr {
    unsigned stores;
    int absent;
    int have_cert;
    struct plat_trust_cert cert;
    const struct plat_trust_system *sys; /* NULL: the tree has no system store */
    char sys_why[256];
    char anchor[PLAT_FS_MAX_PATH];
    char ffcert[PLAT_FS_MAX_PATH];
};

static void tr_release(struct tr *t)
{
    plat_trust_cert_release(&t->cert);
}

/* need_cert: parse the certificate (check and apply; snapshot and restore only need paths,
 * and a restore from the journal must work after the certificate expired). */
static int tr_get(struct enf_ctx *ctx, const struct enf_setting *s, int need_cert, struct tr *t)
{
    const json_t *c = json_object_get(s->params, "certificate");
    const char *name, *bad;
    size_t nlen;
    char why[512];
    int rc;

    memset(t, 0, sizeof(*t));
    t->absent = is_absent(s);
    t->stores = stores_of(s, &bad);
    name = name_of(s, &nlen);
    if (!t->stores || !plat_trust_name_ok(name, nlen))
        return WARD_EINVAL; /* validation refused it already */
    if (need_cert) {
        const char *sha = enf_str(s, "certificate_sha256", NULL);
        char *fetched = NULL;
        size_t flen = 0;
        if (sha && (rc = enf_fetch(ctx, sha, &fetched, &flen)) != 0) {
            enf_ctx_detail(ctx, "certificate_sha256 %.12s...: %s", sha,
                           rc == WARD_ENOTSUP ? "no session with the service to fetch it from"
                                              : ward_strerror(rc));
            return rc;
        }
        rc = sha ? plat_trust_cert_parse(fetched, flen, (int64_t)time(NULL), cert_flags(s),
                                         &t->cert, why, sizeof(why))
                 : plat_trust_cert_parse(json_string_value(c), json_string_length(c),
                                         (int64_t)time(NULL), cert_flags(s), &t->cert, why,
                                         sizeof(why));
        ward_free(fetched);
        if (rc != 0) {
            enf_ctx_detail(ctx, "certificate%s: %s", sha ? " fetched by SHA-256" : "", why);
            return rc;
        }
        t->have_cert = 1;
    }
    if (t->stores & ST_SYSTEM) {
        rc = plat_trust_system_detect(enf_ctx_root(ctx), &t->sys, t->sys_why, sizeof(t->sys_why));
        if (rc != 0 && rc != WARD_ENOTSUP)
            goto fail;
        if (t->sys)
            snprintf(t->anchor, sizeof(t->anchor), "%s/%s%s%s", t->sys->anchor_dir, t->sys->prefix,
                     name, t->sys->suffix);
    }
    if (t->stores & ST_FIREFOX)
        snprintf(t->ffcert, sizeof(t->ffcert), "%s/%s.pem", FF_CERT_DIR, name);
    return 0;
fail:
    tr_release(t);
    return rc;
}

/* ---- files ----------------------------------------------------------------------------- */

/* 1 when path holds exactly data, 0 when it differs or is missing; errors as read. */
static int file_is(struct enf_ctx *ctx, const char *path, const char *data, size_t len)
{
    const char *cur;
    size_t clen;
    int rc = enf_file_read(ctx, path, &cur, &clen);
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    return clen == len && memcmp(cur, data, len) == 0;
}

/* 1 when path exists (any type), 0 when not. */
static int exists(struct enf_ctx *ctx, const char *path)
{
    struct plat_fs_info info;
    int rc = enf_file_stat(ctx, path, PLAT_FS_NOFOLLOW, &info);
    return rc == WARD_ENOENT ? 0 : rc == 0 ? 1 : rc;
}

/* 1 when the bundle holds the certificate: its base64 body, which both update tools copy
 * unchanged (Debian's concatenates the files, p11-kit re-encodes DER in the same 64-column
 * lines). A missing bundle holds nothing. */
static int bundle_has(struct enf_ctx *ctx, const struct tr *t)
{
    const char *data, *body = strchr(t->cert.pem, '\n'), *end = strstr(t->cert.pem, "-----END");
    size_t len, blen;
    int rc = enf_file_read(ctx, t->sys->bundle, &data, &len);
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (!body || !end || end <= body)
        return WARD_ECORRUPT;
    blen = (size_t)(end - body);
    return memmem(data, len, body, blen) != NULL;
}

static int write_cert(struct enf_ctx *ctx, const char *path, const struct tr *t)
{
    struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE, .mode = 0644};
    int rc = enf_mkdir_parent(ctx, path);
    if (rc == 0)
        rc = enf_file_write(ctx, path, t->cert.pem, t->cert.pem_len, &a);
    return rc;
}

static int rebuild(struct enf_ctx *ctx, const struct tr *t)
{
    char why[512];
    int rc = plat_trust_system_update(enf_ctx_root(ctx), t->sys, why, sizeof(why));
    /* the tool rewrote the bundle (and links): read it afresh */
    enf_file_forget(ctx, t->sys->bundle);
    if (rc != 0) {
        enf_ctx_detail(ctx, "%s", why);
        return rc == WARD_ENOENT ? WARD_ENOTSUP : rc;
    }
    return 0;
}

/* ---- Firefox policies.json -------------------------------------------------------------- */

/* *root new: the parsed policies file, or NULL when there is none. A file that is not a JSON
 * object with an object "policies" (if any) is not Ward's to rewrite: WARD_EPARSE. */
static int ff_load(struct enf_ctx *ctx, json_t **root)
{
    const char *data;
    size_t len;
    json_error_t e;
    json_t *j, *pol;
    int rc = enf_file_read(ctx, FF_POLICIES, &data, &len);
    *root = NULL;
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (len > FF_POLICIES_MAX) {
        enf_ctx_detail(ctx, "%s is larger than %zu bytes; not changed", FF_POLICIES,
                       FF_POLICIES_MAX);
        return WARD_ETOOBIG;
    }
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        enf_ctx_detail(ctx, "%s is not valid JSON (line %d: %s); not changed", FF_POLICIES, e.line,
                       e.text);
        return WARD_EPARSE;
    }
    pol = json_object_get(j, "policies");
    if (!json_is_object(j) || (pol && !json_is_object(pol))) {
        enf_ctx_detail(ctx, "%s: not an object with an object \"policies\"; not changed",
                       FF_POLICIES);
        json_decref(j);
        return WARD_EPARSE;
    }
    *root = j;
    return 0;
}

static int ff_listed(const json_t *root, const char *path)
{
    const json_t *a, *v;
    size_t i;
    a = json_object_get(json_object_get(json_object_get(root, "policies"), "Certificates"),
                        "Install");
    if (!json_is_array(a))
        return 0;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), path) == 0)
            return 1;
    }
    return 0;
}

/* Adds (want 1) or removes (want 0) path in Certificates.Install, keeping everything else.
 * Removing drops an Install or Certificates it leaves empty, and the whole file when
 * drop_empty and nothing else is left. */
static int ff_set(struct enf_ctx *ctx, const char *path, int want, int drop_empty)
{
    json_t *root = NULL, *pol, *certs, *inst;
    struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE, .mode = 0644};
    char *text = NULL;
    int rc = ff_load(ctx, &root);
    if (rc != 0)
        return rc;
    if (!root && !want)
        return 0;
    if (root && ff_listed(root, path) == want)
        goto out;
    rc = WARD_ENOMEM;
    if (!root && !(root = json_object()))
        goto out;
    if (!(pol = json_object_get(root, "policies"))) {
        if (json_object_set_new(root, "policies", json_object()) != 0)
            goto out;
        pol = json_object_get(root, "policies");
    }
    certs = json_object_get(pol, "Certificates");
    if (certs && !json_is_object(certs)) {
        enf_ctx_detail(ctx, "%s: policies.Certificates is not an object; not changed", FF_POLICIES);
        rc = WARD_EPARSE;
        goto out;
    }
    if (!certs) {
        if (json_object_set_new(pol, "Certificates", json_object()) != 0)
            goto out;
        certs = json_object_get(pol, "Certificates");
    }
    inst = json_object_get(certs, "Install");
    if (inst && !json_is_array(inst)) {
        enf_ctx_detail(ctx, "%s: policies.Certificates.Install is not an array; not changed",
                       FF_POLICIES);
        rc = WARD_EPARSE;
        goto out;
    }
    if (!inst) {
        if (json_object_set_new(certs, "Install", json_array()) != 0)
            goto out;
        inst = json_object_get(certs, "Install");
    }
    if (want) {
        if (json_array_append_new(inst, json_string(path)) != 0)
            goto out;
    } else {
        for (size_t i = json_array_size(inst); i-- > 0;) {
            const json_t *v = json_array_get(inst, i);
            if (json_is_string(v) && strcmp(json_string_value(v), path) == 0)
                json_array_remove(inst, i);
        }
        if (json_array_size(inst) == 0)
            json_object_del(certs, "Install");
        if (json_object_size(certs) == 0)
            json_object_del(pol, "Certificates");
        if (drop_empty && json_object_size(pol) == 0 && json_object_size(root) == 1) {
            rc = enf_file_remove(ctx, FF_POLICIES);
            goto out;
        }
    }
    {
        size_t n = 0;
        char *t2;
        rc = ward_json_dumps(root, WARD_JSON_PRETTY, &text, &n);
        if (rc != 0)
            goto out;
        rc = WARD_ENOMEM;
        if (!(t2 = ward_realloc(text, n + 2)))
            goto out;
        text = t2;
        text[n] = '\n';
        text[n + 1] = '\0';
        rc = enf_mkdir_parent(ctx, FF_POLICIES);
        if (rc == 0)
            rc = enf_file_write(ctx, FF_POLICIES, text, n + 1, &a);
    }
out:
    ward_free(text);
    json_decref(root);
    return rc;
}

/* ---- slots ----------------------------------------------------------------------------- */

/* What each store has now. */
struct found {
    int anchor, bundle; /* system: anchor file identical / bundle holds it */
    int anchor_present; /* any file at the anchor path */
    int ffcert, ffcert_present, listed;
};

static int survey(struct enf_ctx *ctx, const struct tr *t, struct found *f)
{
    int rc;
    memset(f, 0, sizeof(*f));
    if (t->sys) {
        if ((rc = file_is(ctx, t->anchor, t->cert.pem, t->cert.pem_len)) < 0)
            return rc;
        f->anchor = rc;
        if ((rc = exists(ctx, t->anchor)) < 0)
            return rc;
        f->anchor_present = rc;
        if ((rc = bundle_has(ctx, t)) < 0)
            return rc;
        f->bundle = rc;
    }
    if (t->stores & ST_FIREFOX) {
        json_t *root = NULL;
        if ((rc = file_is(ctx, t->ffcert, t->cert.pem, t->cert.pem_len)) < 0)
            return rc;
        f->ffcert = rc;
        if ((rc = exists(ctx, t->ffcert)) < 0)
            return rc;
        f->ffcert_present = rc;
        if ((rc = ff_load(ctx, &root)) != 0)
            return rc;
        f->listed = root && ff_listed(root, t->ffcert);
        json_decref(root);
    }
    return 0;
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct tr t;
    struct found f;
    char act[512] = "", exp[400];
    int rc = tr_get(ctx, s, 1, &t), ok = 1;
    if (rc != 0)
        return rc;
    if ((t.stores & ST_SYSTEM) && !t.sys && !t.absent) {
        enf_ctx_detail(ctx, "%s", t.sys_why);
        rc = WARD_ENOTSUP;
        goto out;
    }
    rc = survey(ctx, &t, &f);
    if (rc != 0)
        goto out;
    snprintf(exp, sizeof(exp), "CA \"%.120s\" (sha256 %.16s...) %s", t.cert.subject, t.cert.sha256,
             t.absent ? "not trusted by Ward in" : "trusted in");
    if (t.stores & ST_SYSTEM) {
        size_t l = strlen(exp);
        snprintf(exp + l, sizeof(exp) - l, " the system store%s%s%s", t.sys ? " (" : "",
                 t.sys ? t.sys->name : "", t.sys ? ")" : "");
    }
    if (t.stores & ST_FIREFOX) {
        size_t l = strlen(exp);
        snprintf(exp + l, sizeof(exp) - l, "%s firefox", (t.stores & ST_SYSTEM) ? "," : "");
    }
    enf_check_expected(out, "%s", exp);
    if (t.stores & ST_SYSTEM) {
        if (!t.sys) {
            snprintf(act, sizeof(act), "system: no trust store on this system");
        } else {
            snprintf(act, sizeof(act), "system: %s, %s",
                     f.anchor           ? "anchor installed"
                     : f.anchor_present ? "anchor differs"
                                        : "no anchor",
                     f.bundle ? "in the bundle" : "not in the bundle");
            ok = t.absent ? !f.anchor_present && !f.bundle : f.anchor && f.bundle;
        }
    }
    if (t.stores & ST_FIREFOX) {
        size_t l = strlen(act);
        snprintf(act + l, sizeof(act) - l, "%sfirefox: %s, %s in policies.json", l ? "; " : "",
                 f.ffcert           ? "certificate file installed"
                 : f.ffcert_present ? "certificate file differs"
                                    : "no certificate file",
                 f.listed ? "listed" : "not listed");
        ok = ok && (t.absent ? !f.ffcert_present && !f.listed : f.ffcert && f.listed);
    }
    enf_check_actual(out, "%s", act);
    out->compliant = ok;
out:
    tr_release(&t);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct tr t;
    struct found f;
    int rc = tr_get(ctx, s, 1, &t);
    if (rc != 0)
        return rc;
    rc = survey(ctx, &t, &f);
    if (rc != 0)
        goto out;
    if ((t.stores & ST_SYSTEM) && !t.sys && !t.absent) {
        enf_ctx_detail(ctx, "%s", t.sys_why);
        rc = WARD_ENOTSUP;
        goto out;
    }
    if (t.sys) {
        int changed = 0;
        if (!t.absent && !f.anchor) {
            rc = write_cert(ctx, t.anchor, &t);
            changed = 1;
        } else if (t.absent && f.anchor_present) {
            rc = enf_file_remove(ctx, t.anchor);
            changed = 1;
        }
        if (rc != 0)
            goto out;
        /* rebuild only when the anchors changed or the bundle does not match them */
        if (changed || f.bundle == t.absent) {
            rc = rebuild(ctx, &t);
            if (rc != 0)
                goto out;
        }
    }
    if (t.stores & ST_FIREFOX) {
        if (!t.absent && !f.ffcert)
            rc = write_cert(ctx, t.ffcert, &t);
        else if (t.absent && f.ffcert_present)
            rc = enf_file_remove(ctx, t.ffcert);
        if (rc == 0 && f.listed == t.absent)
            rc = ff_set(ctx, t.ffcert, !t.absent, 0);
    }
out:
    tr_release(&t);
    return rc;
}

/* {"path": P, "content_b64": B} or {"path": P, "missing": true} */
static int snap_file(struct enf_ctx *ctx, const char *path, json_t *into, const char *key)
{
    const char *data;
    size_t len;
    char *b64 = NULL;
    json_t *o;
    int rc = enf_file_read(ctx, path, &data, &len);
    if (rc == WARD_ENOENT)
        o = json_pack("{s:s, s:b}", "path", path, "missing", 1);
    else if (rc != 0)
        return rc;
    else if (len > PLAT_TRUST_PEM_MAX) {
        enf_ctx_detail(ctx, "%s is larger than %zu bytes: too large to keep for rollback", path,
                       PLAT_TRUST_PEM_MAX);
        return WARD_ETOOBIG;
    } else {
        rc = ward_base64_encode(data, len, 0, &b64);
        if (rc != 0)
            return rc;
        o = json_pack("{s:s, s:s}", "path", path, "content_b64", b64);
        ward_free(b64);
    }
    if (!o || json_object_set_new(into, key, o) != 0)
        return WARD_ENOMEM;
    return 0;
}

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct tr t;
    json_t *j = NULL, *root = NULL;
    int rc = tr_get(ctx, s, 0, &t);
    *out = NULL;
    if (rc != 0)
        return rc;
    rc = WARD_ENOMEM;
    if (!(j = json_object()))
        goto out;
    if (t.sys && (rc = snap_file(ctx, t.anchor, j, "anchor")) != 0)
        goto out;
    if (t.stores & ST_FIREFOX) {
        if ((rc = snap_file(ctx, t.ffcert, j, "firefox_cert")) != 0)
            goto out;
        if ((rc = ff_load(ctx, &root)) != 0)
            goto out;
        if (json_object_set_new(j, "firefox_policies",
                                json_pack("{s:b, s:b}", "existed", root != NULL, "listed",
                                          root && ff_listed(root, t.ffcert))) != 0) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    rc = 0;
    *out = j;
    j = NULL;
out:
    json_decref(root);
    json_decref(j);
    tr_release(&t);
    return rc;
}

/* Puts one file back; *changed set when it did anything. */
static int restore_file(struct enf_ctx *ctx, const char *path, const json_t *snap, int *changed)
{
    const json_t *b64 = json_object_get(snap, "content_b64");
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;
    *changed = 0;
    if (!snap)
        return 0;
    if (!json_is_string(b64)) {
        rc = exists(ctx, path);
        if (rc <= 0)
            return rc;
        *changed = 1;
        return enf_file_remove(ctx, path);
    }
    rc = ward_base64_decode(json_string_value(b64), json_string_length(b64), 0, &data, &len);
    if (rc != 0)
        return rc == WARD_ENOMEM ? rc : WARD_ECORRUPT;
    rc = file_is(ctx, path, (const char *)data, len);
    if (rc == 0) {
        struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE, .mode = 0644};
        *changed = 1;
        rc = enf_mkdir_parent(ctx, path);
        if (rc == 0)
            rc = enf_file_write(ctx, path, data ? (const char *)data : "", len, &a);
    } else if (rc == 1) {
        rc = 0;
    }
    ward_free(data);
    return rc;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct tr t;
    int rc = tr_get(ctx, s, 0, &t), changed = 0;
    if (rc != 0)
        return rc;
    if (t.sys) {
        rc = restore_file(ctx, t.anchor, json_object_get(snap, "anchor"), &changed);
        if (rc == 0 && changed)
            rc = rebuild(ctx, &t);
        if (rc != 0)
            goto out;
    }
    if (t.stores & ST_FIREFOX) {
        const json_t *p = json_object_get(snap, "firefox_policies");
        rc = restore_file(ctx, t.ffcert, json_object_get(snap, "firefox_cert"), &changed);
        if (rc == 0 && p)
            rc = ff_set(ctx, t.ffcert, json_is_true(json_object_get(p, "listed")),
                        !json_is_true(json_object_get(p, "existed")));
    }
out:
    tr_release(&t);
    return rc;
}

const struct enf_kind enf_kind_trust_root = {
    .name = "trust_root",
    .summary = "A CA certificate (inline PEM) trusted, or not, by the system store and Firefox.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .retire_restores = 1, /* selective_wipe removes it whatever restore_on_removal says */
};
