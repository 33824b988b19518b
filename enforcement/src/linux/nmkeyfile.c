/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkManager keyfiles for the wifi and vpn kinds (nmkeyfile.h). The text is what
 * NetworkManager itself writes for the same profile (the unit tests feed it through
 * `nmcli --offline` and compare byte for byte), so a re-apply is byte-identical and a check
 * can compare bytes. Values are escaped as GKeyFile does (g_key_file_set_string): a newline
 * or CR becomes \n / \r, a backslash \\, leading blanks \s / \t, so no value can end its
 * line and start a key or a group; ';' and '=' mean nothing in a string value. SSIDs follow
 * NetworkManager's writer: printable ASCII as a string with ';' as "\\;", any other byte as
 * the integer list form. The file is written 0600 root; afterwards a running
 * NetworkManager is told over D-Bus (platform/netprofile.h); no NetworkManager is not an
 * error. Snapshots never hold a secret: a prior profile is kept with its secret lines left
 * out, so restoring it puts back everything but those.
 */
#define WARD_LOG_TAG "enf-nm"

#include "nmkeyfile.h"

#include <stdio.h>
#include <string.h>

#include "../internal.h"
#include "platform/netprofile.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"

#define KEYFILE_MAX ((size_t)256 << 10)

/* ---- building ------------------------------------------------------------------------ */

static void put(struct nmkf *k, const void *p, size_t n)
{
    int rc;
    if (k->err)
        return;
    rc = ward_buf_append(&k->b, p, n);
    if (rc != 0)
        k->err = rc;
}

static void puts_(struct nmkf *k, const char *s)
{
    put(k, s, strlen(s));
}

void nmkf_init(struct nmkf *k)
{
    memset(k, 0, sizeof(*k));
    ward_buf_init(&k->b, KEYFILE_MAX);
}

void nmkf_release(struct nmkf *k)
{
    ward_buf_release(&k->b);
}

void nmkf_group(struct nmkf *k, const char *name)
{
    if (k->groups++)
        puts_(k, "\n");
    puts_(k, "[");
    puts_(k, name);
    puts_(k, "]\n");
}

void nmkf_str(struct nmkf *k, const char *key, const char *val, size_t len)
{
    int leading = 1;
    puts_(k, key);
    puts_(k, "=");
    for (size_t i = 0; i < len; i++) {
        char c = val[i];
        if (leading && c == ' ') {
            puts_(k, "\\s");
            continue;
        }
        if (leading && c == '\t') {
            puts_(k, "\\t");
            continue;
        }
        leading = 0;
        if (c == '\n')
            puts_(k, "\\n");
        else if (c == '\r')
            puts_(k, "\\r");
        else if (c == '\\')
            puts_(k, "\\\\");
        else
            put(k, &c, 1);
    }
    puts_(k, "\n");
}

void nmkf_raw(struct nmkf *k, const char *key, const char *text)
{
    puts_(k, key);
    puts_(k, "=");
    puts_(k, text);
    puts_(k, "\n");
}

void nmkf_int(struct nmkf *k, const char *key, long long v)
{
    char n[32];
    snprintf(n, sizeof(n), "%lld", v);
    nmkf_raw(k, key, n);
}

void nmkf_ssid(struct nmkf *k, const char *ssid, size_t len)
{
    struct ward_buf t;
    int printable = 1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)ssid[i] < 0x20 || (unsigned char)ssid[i] > 0x7e)
            printable = 0;
    if (!printable) {
        puts_(k, "ssid=");
        for (size_t i = 0; i < len; i++) {
            char n[8];
            snprintf(n, sizeof(n), "%u;", (unsigned)(unsigned char)ssid[i]);
            puts_(k, n);
        }
        puts_(k, "\n");
        return;
    }
    /* "a;b" is "a\;b" before GKeyFile escaping (so "16;17;" cannot read as bytes) */
    ward_buf_init(&t, 256);
    for (size_t i = 0; i < len; i++) {
        if (ssid[i] == ';')
            ward_buf_append(&t, "\\", 1);
        ward_buf_append(&t, &ssid[i], 1);
    }
    nmkf_str(k, "ssid", t.data ? t.data : "", t.len);
    ward_buf_release(&t);
}

int nmkf_finish(struct nmkf *k, char **data, size_t *len)
{
    *data = NULL;
    if (k->err)
        return k->err;
    *data = ward_buf_steal(&k->b, len);
    return *data ? 0 : WARD_ENOMEM;
}

/* ---- names ----------------------------------------------------------------------------- */

int nm_text_ok(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return 0;
    }
    return 1;
}

int nm_name_ok(const char *s, size_t len)
{
    return s && len > 0 && len <= NM_NAME_MAX && strlen(s) == len;
}

static void sha_hex(const char *data, size_t len, char hex[2 * WARD_SHA256_LEN + 1])
{
    uint8_t dg[WARD_SHA256_LEN];
    if (ward_sha256(data, len, dg) != 0 || ward_hex_encode(dg, sizeof(dg), hex, 65) != 0)
        memset(hex, '0', 64), hex[64] = '\0';
}

void nm_profile_path(const char *name, size_t len, char *out, size_t outlen)
{
    char safe[65], hex[65];
    size_t n = 0;
    int changed = len > 64;
    for (size_t i = 0; i < len && n < 64; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        safe[n++] = ok ? c : '_';
        changed |= !ok;
    }
    safe[n] = '\0';
    if (!changed) {
        snprintf(out, outlen, "%s/ward-%s.nmconnection", NM_PROFILE_DIR, safe);
        return;
    }
    sha_hex(name, len, hex);
    snprintf(out, outlen, "%s/ward-%s-%.8s.nmconnection", NM_PROFILE_DIR, safe, hex);
}

void nm_uuid(const char *setting_id, char out[37])
{
    uint8_t dg[WARD_SHA256_LEN];
    struct ward_buf b;
    char hex[33];
    ward_buf_init(&b, 512);
    ward_buf_append_str(&b, "ward nm profile\n");
    ward_buf_append_str(&b, setting_id);
    if (ward_sha256(b.data ? b.data : "", b.len, dg) != 0)
        memset(dg, 0, sizeof(dg));
    ward_buf_release(&b);
    dg[6] = (uint8_t)((dg[6] & 0x0f) | 0x80); /* version 8 */
    dg[8] = (uint8_t)((dg[8] & 0x3f) | 0x80); /* RFC variant */
    ward_hex_encode(dg, 16, hex, sizeof(hex));
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void nm_name_shown(const char *name, char *out, size_t outlen)
{
    size_t n = 0;
    for (; name && *name && n + 1 < outlen && n < 64; name++) {
        unsigned char c = (unsigned char)*name;
        out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = '\0';
}

void nm_profile_release(struct nm_profile *p)
{
    ward_free(p->content);
    p->content = NULL;
}

int nm_profile_get(const struct enf_setting *s, int with_content,
                   int (*build)(const struct enf_setting *s, char **data, size_t *len),
                   struct nm_profile *p)
{
    const json_t *nm = json_object_get(s->params, "name");
    memset(p, 0, sizeof(*p));
    if (!nm_name_ok(json_string_value(nm), json_string_length(nm)))
        return WARD_EINVAL;
    nm_profile_path(json_string_value(nm), json_string_length(nm), p->path, sizeof(p->path));
    nm_name_shown(json_string_value(nm), p->shown, sizeof(p->shown));
    p->absent = strcmp(enf_str(s, "state", "present"), "absent") == 0;
    if (with_content && !p->absent) {
        if (s->redacted)
            return WARD_EINVAL;
        return build(s, &p->content, &p->len);
    }
    return 0;
}

/* ---- redaction ---------------------------------------------------------------------------- */

/* Keys holding secrets in NetworkManager's settings (nm-settings-keyfile(5)): passwords,
 * PSKs, WEP keys, PINs, WireGuard keys, and blobs of private keys ("data:..."). */
static int secret_line(const char *group, size_t glen, const char *key, size_t klen,
                       const char *val, size_t vlen)
{
    static const char *const keys[] = {"psk",
                                       "password",
                                       "password-raw",
                                       "private-key-password",
                                       "phase2-private-key-password",
                                       "pin",
                                       "leap-password",
                                       "wep-key0",
                                       "wep-key1",
                                       "wep-key2",
                                       "wep-key3",
                                       "preshared-key",
                                       "pac-file-password",
                                       NULL};
#define IS(s, l, lit) ((l) == sizeof(lit) - 1 && memcmp((s), (lit), (l)) == 0)
    if (IS(group, glen, "vpn-secrets"))
        return 1;
    for (const char *const *k = keys; *k; k++)
        if (klen == strlen(*k) && memcmp(key, *k, klen) == 0)
            return 1;
    if (IS(group, glen, "wireguard") && IS(key, klen, "private-key"))
        return 1;
    if ((IS(key, klen, "private-key") || IS(key, klen, "phase2-private-key")) && vlen >= 5 &&
        memcmp(val, "data:", 5) == 0)
        return 1;
#undef IS
    return 0;
}

int nm_redact(const char *data, size_t len, struct ward_buf *out, int *n_withheld)
{
    const char *group = "";
    size_t glen = 0, pos = 0;
    struct enf_line l;
    *n_withheld = 0;
    while (enf_text_next(data, len, &pos, &l)) {
        struct enf_line t = enf_text_ltrim(l);
        const char *eq = memchr(t.p, '=', t.len);
        int rc;
        if (t.len > 0 && t.p[0] == '[') {
            const char *close = memchr(t.p, ']', t.len);
            group = t.p + 1;
            glen = close ? (size_t)(close - group) : t.len - 1;
        } else if (t.len > 0 && t.p[0] != '#' && t.p[0] != ';' && eq) {
            size_t klen = (size_t)(eq - t.p);
            const char *v = eq + 1;
            size_t vlen = t.len - klen - 1;
            while (klen > 0 && (t.p[klen - 1] == ' ' || t.p[klen - 1] == '\t'))
                klen--;
            while (vlen > 0 && (*v == ' ' || *v == '\t'))
                v++, vlen--;
            if (secret_line(group, glen, t.p, klen, v, vlen)) {
                (*n_withheld)++;
                continue;
            }
        }
        if ((rc = ward_buf_append(out, l.p, l.len)) != 0 || (rc = ward_buf_append(out, "\n", 1)))
            return rc;
    }
    return 0;
}

/* ---- slots -------------------------------------------------------------------------------- */

static void tell_nm(struct enf_ctx *ctx, const char *path, int removed)
{
    char why[512];
    int rc = plat_netprofile_reload(enf_ctx_root(ctx), path, removed, why, sizeof(why));
    if (rc == WARD_ENOTSUP)
        WARD_DEBUG("%s: NetworkManager not told (%s)", path, why);
    else if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "%s: %s", path, why);
}

int nm_check(struct enf_ctx *ctx, const struct nm_profile *p, const char *what,
             struct enf_check *out)
{
    struct plat_fs_info info;
    const char *cur;
    size_t clen;
    char h[ENF_SECRET_HASH_SIZE];
    int rc = enf_file_stat(ctx, p->path, PLAT_FS_NOFOLLOW, &info);
    if (rc != 0 && rc != WARD_ENOENT)
        return rc;
    if (p->absent) {
        enf_check_expected(out, "no profile \"%s\" (%s)", p->shown, p->path);
        enf_check_actual(out, rc == WARD_ENOENT ? "no profile" : "profile present");
        out->compliant = rc == WARD_ENOENT;
        return 0;
    }
    /* the content's hash (never the content: it holds the secrets) */
    enf_secret_hash(p->content, p->len, h);
    enf_check_expected(out, "%s profile \"%s\" in %s, 0600 root, content %s", what, p->shown,
                       p->path, h);
    if (rc == WARD_ENOENT) {
        enf_check_actual(out, "no profile");
        return 0;
    }
    if (info.type != PLAT_FS_FILE) {
        enf_check_actual(out, "not a regular file");
        return 0;
    }
    rc = enf_file_read(ctx, p->path, &cur, &clen);
    if (rc != 0)
        return rc;
    if (clen != p->len || memcmp(cur, p->content, clen) != 0) {
        enf_secret_hash(cur, clen, h);
        enf_check_actual(out, "content differs (%s)", h);
        return 0;
    }
    if (info.mode != 0600 || info.uid != 0 || info.gid != 0) {
        enf_check_actual(out, "mode %04o, owner %lld:%lld", info.mode, (long long)info.uid,
                         (long long)info.gid);
        return 0;
    }
    enf_check_actual(out, "as expected");
    out->compliant = 1;
    return 0;
}

static const struct plat_fs_attrs root_0600 = {.set = PLAT_FS_ATTR_MODE | PLAT_FS_ATTR_UID |
                                                      PLAT_FS_ATTR_GID,
                                               .mode = 0600,
                                               .uid = 0,
                                               .gid = 0};

static int put_file(struct enf_ctx *ctx, const char *path, const char *data, size_t len)
{
    int rc = enf_mkdir_parent(ctx, path);
    if (rc == 0)
        rc = enf_file_write(ctx, path, data, len, &root_0600);
    return rc;
}

static int drop_file(struct enf_ctx *ctx, const char *path, int *changed)
{
    struct plat_fs_info info;
    int rc = enf_file_stat(ctx, path, PLAT_FS_NOFOLLOW, &info);
    *changed = 0;
    if (rc == WARD_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    *changed = 1;
    return enf_file_remove(ctx, path);
}

int nm_apply(struct enf_ctx *ctx, const struct nm_profile *p)
{
    int rc, changed = 1;
    if (p->absent)
        rc = drop_file(ctx, p->path, &changed);
    else
        rc = put_file(ctx, p->path, p->content, p->len);
    if (rc == 0 && changed)
        tell_nm(ctx, p->path, p->absent);
    return rc;
}

/* {"path": P, "missing": true} or {"path": P, "content_b64": B, "secrets_withheld": N}
 * where B is the prior profile without its secret lines. */
int nm_snapshot(struct enf_ctx *ctx, const struct nm_profile *p, json_t **out)
{
    const char *data;
    size_t len;
    struct ward_buf red;
    char *b64 = NULL;
    int withheld = 0, rc = enf_file_read(ctx, p->path, &data, &len);
    *out = NULL;
    if (rc == WARD_ENOENT) {
        *out = json_pack("{s:s, s:b}", "path", p->path, "missing", 1);
        return *out ? 0 : WARD_ENOMEM;
    }
    if (rc != 0)
        return rc;
    ward_buf_init(&red, KEYFILE_MAX);
    rc = nm_redact(data, len, &red, &withheld);
    if (rc == 0)
        rc = ward_base64_encode(red.data ? red.data : "", red.len, 0, &b64);
    if (rc == 0) {
        *out = json_pack("{s:s, s:s, s:i}", "path", p->path, "content_b64", b64, "secrets_withheld",
                         withheld);
        rc = *out ? 0 : WARD_ENOMEM;
    }
    if (rc == WARD_ETOOBIG)
        enf_ctx_detail(ctx, "%s is larger than %zu bytes: too large to keep for rollback", p->path,
                       KEYFILE_MAX);
    ward_free(b64);
    ward_buf_release(&red);
    return rc;
}

int nm_restore(struct enf_ctx *ctx, const struct nm_profile *p, const json_t *snap)
{
    const json_t *b64 = json_object_get(snap, "content_b64");
    uint8_t *data = NULL;
    size_t len = 0;
    int rc, changed = 1;
    if (!json_is_object(snap))
        return WARD_ECORRUPT;
    if (!json_is_string(b64)) {
        rc = drop_file(ctx, p->path, &changed);
        if (rc == 0 && changed)
            tell_nm(ctx, p->path, 1);
        return rc;
    }
    rc = ward_base64_decode(json_string_value(b64), json_string_length(b64), 0, &data, &len);
    if (rc != 0)
        return rc == WARD_ENOMEM ? rc : WARD_ECORRUPT;
    rc = put_file(ctx, p->path, data ? (const char *)data : "", len);
    ward_free(data);
    if (rc == 0) {
        if (json_integer_value(json_object_get(snap, "secrets_withheld")) > 0)
            WARD_WARN("%s: prior profile restored without its secrets (Ward does not keep them)",
                      p->path);
        tell_nm(ctx, p->path, 0);
    }
    return rc;
}

int nm_kind_check(struct enf_ctx *ctx, const struct enf_setting *s, nm_build_fn build,
                  const char *what, struct enf_check *out)
{
    struct nm_profile p;
    int rc = nm_profile_get(s, 1, build, &p);
    if (rc == 0)
        rc = nm_check(ctx, &p, what, out);
    nm_profile_release(&p);
    return rc;
}

int nm_kind_apply(struct enf_ctx *ctx, const struct enf_setting *s, nm_build_fn build)
{
    struct nm_profile p;
    int rc = nm_profile_get(s, 1, build, &p);
    if (rc == 0)
        rc = nm_apply(ctx, &p);
    nm_profile_release(&p);
    return rc;
}

int nm_kind_snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct nm_profile p;
    int rc = nm_profile_get(s, 0, NULL, &p);
    *out = NULL;
    if (rc == 0)
        rc = nm_snapshot(ctx, &p, out);
    nm_profile_release(&p);
    return rc;
}

int nm_kind_restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct nm_profile p;
    int rc = nm_profile_get(s, 0, NULL, &p);
    if (rc == 0)
        rc = nm_restore(ctx, &p, snap);
    nm_profile_release(&p);
    return rc;
}

void nmkf_str_field(struct nmkf *k, const struct enf_setting *s, const char *field, const char *key)
{
    const json_t *v = json_object_get(s->params, field);
    if (json_is_string(v))
        nmkf_str(k, key, json_string_value(v), json_string_length(v));
}
