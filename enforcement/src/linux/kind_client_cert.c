/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `client_cert` kind: a key made on the device and a certificate for it issued by the
 * service over EST (RFC 7030) under a certificate profile that the service owns (it decides
 * subject, SANs, EKUs and lifetime; the request only carries the key). Files, in the
 * setting's directory (default /var/lib/ward/certs/<setting id>/): key.pem (PKCS#8, 0600
 * root), cert.pem, chain.pem (the EST CA certificates the certificate was verified
 * against) and ward-profile (which profile it came from), 0644. The exchange goes through
 * the embedder's est hook: in the agent, the daemon's one mutual-TLS session.
 *
 * Renewal: the certificate is due at 2/3 of its lifetime plus a per-certificate jitter of
 * up to 1/10 (from its serial, so a fleet issued at once does not renew at once); check
 * reports it not compliant from then and asks to be run again at that time
 * (enf_ctx_recheck_at), so renewal does not wait for a periodic run. A due certificate is
 * renewed with simplereenroll and the same key; an expired, missing or foreign one (other
 * profile, other key) is enrolled afresh with simpleenroll, the device's identity being
 * what authenticates both. A failed exchange is retried at a jittered time before the
 * certificate's end. Nothing is written until the service's answer has been verified: the
 * certificate must carry this key and chain to a certificate of the profile's cacerts.
 *
 * Not built: the PKCS#12 bundle delivered by the server (server key generation), keys in
 * a TPM, and the Windows certificate store.
 */
#define WARD_LOG_TAG "enf-ccert"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../internal.h"
#include "kinds.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/time.h"

#define CERTS_DIR "/var/lib/ward/certs"
#define MAX_EST_CERTS 16 /* certificates in one EST answer; more is refused */
#define PROFILE_MAX 64

static const char *const states[] = {"present", "absent", NULL};
static const char *const key_types[] = {"ec-p256", "rsa-2048", NULL};

static const struct enf_field fields[] = {
    {.name = "profile",
     .type = ENF_F_STRING,
     .required = 1,
     .description = "The certificate profile on the service (`ward-server cert-profile put`): "
                    "it names subject, SANs, EKUs and lifetime. 1 to 64 of A-Z a-z 0-9 . _ -."},
    {.name = "directory",
     .type = ENF_F_PATH,
     .def = "/var/lib/ward/certs/<setting id>",
     .description = "Where `key.pem` (0600 root), `cert.pem`, `chain.pem` and `ward-profile` "
                    "(0644: the profile and when the certificate was received) are kept."},
    {.name = "key_type",
     .type = ENF_F_ENUM,
     .allowed = key_types,
     .def = "ec-p256",
     .description = "The key made on the device; the profile must allow it."},
    {.name = "state",
     .type = ENF_F_ENUM,
     .allowed = states,
     .def = "present",
     .description = "`absent` removes the key, the certificate and the directory (when "
                    "empty)."},
    {.name = NULL},
};

enum { F_KEY, F_CERT, F_CHAIN, F_PROFILE, N_FILES };
static const char *const file_names[N_FILES] = {"key.pem", "cert.pem", "chain.pem", "ward-profile"};
static const char *const snap_names[N_FILES] = {"key", "cert", "chain", "profile"};

struct cc_paths {
    char dir[PLAT_FS_MAX_PATH];
    char file[N_FILES][PLAT_FS_MAX_PATH + 16];
};

static int cc_paths_get(const struct enf_setting *s, struct cc_paths *p)
{
    const char *dir = enf_str(s, "directory", NULL);
    int n = dir ? snprintf(p->dir, sizeof(p->dir), "%s", dir)
                : snprintf(p->dir, sizeof(p->dir), CERTS_DIR "/%s", s->id);
    if (n < 0 || (size_t)n >= sizeof(p->dir) - 16)
        return WARD_ETOOBIG;
    while (n > 1 && p->dir[n - 1] == '/')
        p->dir[--n] = '\0';
    for (int i = 0; i < N_FILES; i++)
        if ((size_t)snprintf(p->file[i], sizeof(p->file[i]), "%s/%s", p->dir, file_names[i]) >=
            sizeof(p->file[i]))
            return WARD_ETOOBIG;
    return 0;
}

int enf_client_cert_paths(const struct enf_setting *s, char *cert, char *key, size_t len)
{
    struct cc_paths p;
    int rc = cc_paths_get(s, &p);
    if (rc != 0)
        return rc;
    if ((size_t)snprintf(cert, len, "%s", p.file[F_CERT]) >= len ||
        (size_t)snprintf(key, len, "%s", p.file[F_KEY]) >= len)
        return WARD_ETOOBIG;
    return 0;
}

int enf_client_cert_refs(const struct enf_setting *s, struct enf_diags *d)
{
    const char *id = enf_str(s, "client_cert", NULL);
    const struct enf_setting *cc = id ? enf_baseline_find(s->baseline, id) : NULL;
    char p[WARD_JSON_PATH_MAX];
    if (!id || (cc && cc->kind == &enf_kind_client_cert))
        return 0;
    enf_diag_path(d, "client_cert", p, sizeof(p));
    if (!cc)
        enf_diag(d, p, "no setting \"%.64s\" in this baseline", id);
    else
        enf_diag(d, p, "setting \"%.64s\" is a %s, not a client_cert", id, cc->kind->name);
    return 1;
}

int enf_client_cert_not_paths(const struct enf_setting *s, struct enf_diags *d)
{
    static const char *const by_path[] = {"client_cert_path", "private_key_path",
                                          "private_key_password", NULL};
    char p[WARD_JSON_PATH_MAX];
    int n = 0;
    for (int i = 0; by_path[i]; i++)
        if (json_object_get(s->params, by_path[i])) {
            enf_diag_path(d, by_path[i], p, sizeof(p));
            enf_diag(d, p, "give either client_cert or %s", by_path[i]);
            n++;
        }
    return n;
}

int enf_client_cert_ref_paths(const struct enf_setting *s, char *cert, char *key, size_t len)
{
    const char *id = enf_str(s, "client_cert", NULL);
    const struct enf_setting *cc;
    cert[0] = key[0] = '\0';
    if (!id)
        return WARD_ENOENT;
    cc = s->baseline ? enf_baseline_find(s->baseline, id) : NULL;
    if (!cc || cc->kind != &enf_kind_client_cert)
        return WARD_EINVAL; /* refs() made sure it is one in a parsed document */
    return enf_client_cert_paths(cc, cert, key, len);
}

/* Removes the setting's directory when it is empty; other files in it are not Ward's. */
static int remove_dir(struct enf_ctx *ctx, const char *dir)
{
    int rc = enf_dir_remove(ctx, dir);
    return rc == WARD_EEXIST ? 0 : rc;
}

static int profile_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROFILE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int validate(const struct enf_setting *s, struct enf_diags *d)
{
    char p[WARD_JSON_PATH_MAX];
    const char *dir = enf_str(s, "directory", NULL);
    int n = 0;
    if (!profile_ok(enf_str(s, "profile", ""))) {
        enf_diag_path(d, "profile", p, sizeof(p));
        enf_diag(d, p, "must be 1 to %d of A-Z a-z 0-9 . _ -", PROFILE_MAX);
        n++;
    }
    if (dir && (strcmp(dir, "/") == 0 || strlen(dir) > PLAT_FS_MAX_PATH - 32)) {
        enf_diag_path(d, "directory", p, sizeof(p));
        enf_diag(d, p, "must be a directory of its own below /");
        n++;
    }
    if (!dir && strchr(s->id, ':')) {
        enf_diag_path(d, "id", p, sizeof(p));
        enf_diag(d, p, "names the default directory: give `directory` for an id with ':'");
        n++;
    }
    return n;
}

/* ---- what is on the device ------------------------------------------------------------- */

struct cc_state {
    struct cc_paths p;
    EVP_PKEY *key;     /* key.pem parsed, NULL when missing or unreadable */
    int key_type_ok;   /* of the setting's key_type */
    int key_attrs_ok;  /* regular file, 0600, root:root */
    X509 *cert;        /* cert.pem parsed */
    int cert_key_ok;   /* cert carries key */
    int profile_match; /* ward-profile names the setting's profile */
    STACK_OF(X509) * chain;
    int verify;       /* ward_x509_verify of cert against chain[0]: 0, WARD_EEXPIRED, ... */
    time_t nb, na;    /* the certificate's validity */
    int64_t renew_at; /* unix time renewal is due */
    int64_t received; /* when Ward received it (ward-profile), 0 when not known */
    char serial[48];
    int any_file; /* any of the files exists (for absent) */
    int dir_exists;
};

static void cc_state_release(struct cc_state *st)
{
    EVP_PKEY_free(st->key);
    X509_free(st->cert);
    sk_X509_pop_free(st->chain, X509_free);
}

static int key_is_type(EVP_PKEY *key, const char *type)
{
    if (strcmp(type, "rsa-2048") == 0)
        return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == 2048;
    return EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 256;
}

/* Renewal point: 2/3 of the lifetime plus up to 1/10 of it, spread by the serial. The
 * lifetime counts from when the certificate was received when that is later than its
 * notBefore: issuers backdate notBefore for clock skew (ward-server by 5 minutes), which
 * would make a short-lived certificate due the moment it arrives. */
static int64_t renew_point(X509 *cert, time_t nb_cert, time_t na, int64_t received)
{
    uint8_t h[WARD_SHA256_LEN] = {0};
    const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
    int64_t nb =
        received > (int64_t)nb_cert && received < (int64_t)na ? received : (int64_t)nb_cert;
    int64_t life = (int64_t)na - nb, jitter;
    if (life <= 0)
        return (int64_t)na;
    if (sn)
        ward_sha256(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn), h);
    jitter = (int64_t)(((uint32_t)h[0] << 8 | h[1]) % 1000u) * (life / 10) / 1000;
    return nb + life * 2 / 3 + jitter;
}

static int read_optional(struct enf_ctx *ctx, const char *path, const char **data, size_t *len,
                         int *exists)
{
    int rc = enf_file_read(ctx, path, data, len);
    if (rc == WARD_ENOENT) {
        *data = NULL;
        *len = 0;
        return 0;
    }
    if (rc == 0)
        *exists = 1;
    return rc;
}

static int inspect(struct enf_ctx *ctx, const struct enf_setting *s, struct cc_state *st)
{
    const char *data;
    size_t len;
    struct plat_fs_info info;
    int rc;

    memset(st, 0, sizeof(*st));
    if ((rc = cc_paths_get(s, &st->p)) != 0)
        return rc;
    rc = enf_file_stat(ctx, st->p.dir, PLAT_FS_NOFOLLOW, &info);
    if (rc == 0)
        st->dir_exists = info.type == PLAT_FS_DIR;
    else if (rc != WARD_ENOENT)
        return rc;

    if ((rc = read_optional(ctx, st->p.file[F_KEY], &data, &len, &st->any_file)) != 0)
        return rc;
    if (data && ward_key_from_pem(data, len, &st->key) == 0) {
        st->key_type_ok = key_is_type(st->key, enf_str(s, "key_type", "ec-p256"));
        if ((rc = enf_file_stat(ctx, st->p.file[F_KEY], PLAT_FS_NOFOLLOW, &info)) != 0)
            return rc;
        st->key_attrs_ok =
            info.type == PLAT_FS_FILE && info.mode == 0600 && info.uid == 0 && info.gid == 0;
    }
    ERR_clear_error();

    if ((rc = read_optional(ctx, st->p.file[F_PROFILE], &data, &len, &st->any_file)) != 0)
        return rc;
    if (data) {
        /* "<profile>\n<unix time the certificate was received>\n" */
        const char *profile = enf_str(s, "profile", ""), *nl = memchr(data, '\n', len);
        size_t plen = strlen(profile);
        long long t = 0;
        st->profile_match = nl && (size_t)(nl - data) == plen && memcmp(data, profile, plen) == 0;
        if (nl && sscanf(nl + 1, "%lld", &t) == 1 && t > 0)
            st->received = (int64_t)t;
    }

    if ((rc = read_optional(ctx, st->p.file[F_CHAIN], &data, &len, &st->any_file)) != 0)
        return rc;
    if (data && ward_x509_parse_chain(data, len, &st->chain) != 0)
        st->chain = NULL;

    if ((rc = read_optional(ctx, st->p.file[F_CERT], &data, &len, &st->any_file)) != 0)
        return rc;
    if (data && ward_x509_parse(data, len, &st->cert) == 0) {
        char *serial = NULL;
        if (ward_x509_validity(st->cert, &st->nb, &st->na) != 0)
            st->na = st->nb = 0;
        if (ward_x509_serial_hex(st->cert, &serial) == 0)
            snprintf(st->serial, sizeof(st->serial), "%s", serial);
        ward_free(serial);
        st->cert_key_ok = st->key && X509_check_private_key(st->cert, st->key) == 1;
        st->renew_at = renew_point(st->cert, st->nb, st->na, st->received);
        st->verify = WARD_EVERIFY;
        if (st->chain) {
            STACK_OF(X509) *rest = sk_X509_dup(st->chain);
            if (!rest)
                return WARD_ENOMEM;
            (void)sk_X509_shift(rest);
            st->verify = ward_x509_verify(st->cert, rest, sk_X509_value(st->chain, 0), 0, NULL);
            sk_X509_free(rest);
        }
    }
    ERR_clear_error();
    return 0;
}

/* 1 when the certificate may be kept as it is (renewal not yet due). */
static int cert_good(const struct cc_state *st, int64_t now)
{
    return st->key && st->key_type_ok && st->cert && st->cert_key_ok && st->profile_match &&
           st->verify == 0 && now < st->renew_at;
}

/* 1 when it is valid and only due: renewed with simplereenroll and the same key. */
static int cert_renewable(const struct cc_state *st)
{
    return st->key && st->key_type_ok && st->cert && st->cert_key_ok && st->profile_match &&
           st->verify == 0;
}

static void iso(int64_t t, char *out, size_t len)
{
    ward_time_iso(t, out, len);
}

static int check(struct enf_ctx *ctx, const struct enf_setting *s, struct enf_check *out)
{
    struct cc_state st;
    const char *profile = enf_str(s, "profile", "");
    int64_t now = ward_time_now();
    char a[32], b[32];
    int rc;

    if ((rc = inspect(ctx, s, &st)) != 0)
        goto out;
    if (strcmp(enf_str(s, "state", "present"), "absent") == 0) {
        enf_check_expected(out, "no key or certificate in %s", st.p.dir);
        out->compliant = !st.any_file;
        enf_check_actual(out, "%s", st.any_file ? "key or certificate files present" : "none");
        goto out;
    }
    enf_check_expected(out,
                       "%s key and a certificate of profile %s from the service in %s, renewed "
                       "from 2/3 of its lifetime",
                       enf_str(s, "key_type", "ec-p256"), profile, st.p.dir);
    out->compliant = cert_good(&st, now) && st.key_attrs_ok;
    if (!st.key) {
        enf_check_actual(out, "%s", "no usable key");
    } else if (!st.key_type_ok) {
        enf_check_actual(out, "the key is not %s", enf_str(s, "key_type", "ec-p256"));
    } else if (!st.cert) {
        enf_check_actual(out, "%s", "no certificate");
    } else if (!st.cert_key_ok) {
        enf_check_actual(out, "certificate %.40s is not for this key", st.serial);
    } else if (!st.profile_match) {
        enf_check_actual(out, "certificate %.40s is not of profile %s", st.serial, profile);
    } else if (st.verify == WARD_EEXPIRED) {
        iso(st.na, a, sizeof(a));
        enf_check_actual(out, "certificate %.40s expired at %s", st.serial, a);
    } else if (st.verify != 0) {
        enf_check_actual(out, "certificate %.40s does not verify against chain.pem", st.serial);
    } else {
        iso(st.na, a, sizeof(a));
        iso(st.renew_at, b, sizeof(b));
        enf_check_actual(out, "certificate %.40s valid until %s, renewal %s %s%s", st.serial, a,
                         now < st.renew_at ? "from" : "due since", b,
                         st.key_attrs_ok ? "" : "; key.pem is not 0600 root");
        if (now < st.renew_at)
            enf_ctx_recheck_at(ctx, st.renew_at);
    }
out:
    cc_state_release(&st);
    return rc;
}

/* ---- enrollment -------------------------------------------------------------------------- */

/* The base64 DER of a PKCS#10 request: the PEM body without its armour lines. */
static int csr_b64(EVP_PKEY *key, const char *cn, char **out, size_t *len)
{
    char *pem = NULL, *w;
    const char *p, *end;
    size_t n = 0;
    int rc = ward_csr_create(key, cn, NULL, 0, &pem, NULL);
    *out = NULL;
    if (rc != 0)
        return rc;
    p = strstr(pem, "-----\n");
    end = strstr(pem, "\n-----END");
    if (!p || !end || end < p) {
        ward_free(pem);
        return WARD_ECRYPTO;
    }
    p += 6;
    if (!(w = ward_malloc((size_t)(end - p) + 1))) {
        ward_free(pem);
        return WARD_ENOMEM;
    }
    for (; p < end; p++)
        if (*p != '\n' && *p != '\r')
            w[n++] = *p;
    w[n] = '\0';
    ward_free(pem);
    *out = w;
    *len = n;
    return 0;
}

static int pem_of_chain(STACK_OF(X509) * certs, struct ward_buf *out)
{
    for (int i = 0; i < sk_X509_num(certs); i++) {
        char *pem = NULL;
        size_t len = 0;
        int rc = ward_x509_to_pem(sk_X509_value(certs, i), &pem, &len);
        if (rc == 0 && ward_buf_append(out, pem, len) != 0)
            rc = WARD_ENOMEM;
        ward_free(pem);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The certificate of the answer that carries key and chains to one of cas; *out new. */
static int pick_leaf(struct enf_ctx *ctx, STACK_OF(X509) * answer, STACK_OF(X509) * cas,
                     EVP_PKEY *key, X509 **out)
{
    X509 *leaf = NULL;
    const char *why = NULL;
    int rc = WARD_EVERIFY;
    *out = NULL;
    for (int i = 0; i < sk_X509_num(answer) && !leaf; i++)
        if (X509_check_private_key(sk_X509_value(answer, i), key) == 1)
            leaf = sk_X509_value(answer, i);
    ERR_clear_error();
    if (!leaf) {
        enf_ctx_detail(ctx, "the service's answer holds no certificate for the key sent");
        return WARD_EVERIFY;
    }
    for (int i = 0; i < sk_X509_num(cas) && rc != 0; i++)
        rc = ward_x509_verify(leaf, answer, sk_X509_value(cas, i), 0, &why);
    if (rc != 0) {
        enf_ctx_detail(ctx,
                       "the certificate the service returned does not chain to its EST CA "
                       "certificates (%s); not installed",
                       why ? why : ward_strerror(rc));
        return rc;
    }
    if (!X509_up_ref(leaf))
        return WARD_ENOMEM;
    *out = leaf;
    return 0;
}

/* When to try again after a failed exchange: a few minutes, never later than a tenth of
 * the time the current certificate has left, spread by +-25%. */
static int64_t retry_at(const struct cc_state *st, int64_t now)
{
    int64_t wait = 300, left = st->cert ? (int64_t)st->na - now : 0;
    uint32_t r = 0;
    if (left > 0 && left / 10 < wait)
        wait = left / 10;
    if (wait < 10)
        wait = 10;
    ward_random_bytes(&r, sizeof(r));
    return now + wait * 3 / 4 + (int64_t)(r % (uint32_t)(wait / 2 + 1));
}

static int write_public(struct enf_ctx *ctx, const char *path, const void *data, size_t len)
{
    struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE | PLAT_FS_ATTR_UID | PLAT_FS_ATTR_GID,
                              .mode = 0644};
    return enf_file_write(ctx, path, data, len, &a);
}

static const struct plat_fs_attrs key_attrs = {
    .set = PLAT_FS_ATTR_MODE | PLAT_FS_ATTR_UID | PLAT_FS_ATTR_GID, .mode = 0600};

static int enroll(struct enf_ctx *ctx, const struct enf_setting *s, struct cc_state *st)
{
    const char *profile = enf_str(s, "profile", "");
    int renew = cert_renewable(st), key_new = 0, rc;
    EVP_PKEY *key = NULL;
    char *body = NULL, *answer = NULL, *keypem = NULL, *cert_pem = NULL;
    size_t blen = 0, alen = 0, keylen = 0, cert_len = 0;
    STACK_OF(X509) *cas = NULL, *certs = NULL;
    X509 *leaf = NULL;
    struct ward_buf chain;
    char marker[PROFILE_MAX + 32];

    ward_buf_init(&chain, 1 << 20);
    if (st->key && st->key_type_ok) {
        key = st->key;
        st->key = NULL;
    } else {
        rc = strcmp(enf_str(s, "key_type", "ec-p256"), "rsa-2048") == 0
                 ? ward_key_generate_rsa(2048, &key)
                 : ward_key_generate_p256(&key);
        if (rc != 0)
            goto out;
        key_new = 1;
        renew = 0;
    }
    if ((rc = enf_est(ctx, profile, "cacerts", NULL, 0, &answer, &alen)) != 0)
        goto out;
    rc = ward_pkcs7_certs_parse(answer, alen, MAX_EST_CERTS, &cas);
    if (rc != 0) {
        enf_ctx_detail(ctx, "the service's cacerts answer is %s",
                       rc == WARD_ETOOBIG ? "more than 16 certificates"
                                          : "not a base64 certs-only PKCS#7");
        goto out;
    }
    ward_free(answer);
    answer = NULL;
    if ((rc = csr_b64(key, s->id, &body, &blen)) != 0)
        goto out;
    rc = enf_est(ctx, profile, renew ? "simplereenroll" : "simpleenroll", body, blen, &answer,
                 &alen);
    if (rc != 0)
        goto out;
    rc = ward_pkcs7_certs_parse(answer, alen, MAX_EST_CERTS, &certs);
    if (rc != 0) {
        enf_ctx_detail(ctx, "the service's enrollment answer is %s",
                       rc == WARD_ETOOBIG ? "more than 16 certificates"
                                          : "not a base64 certs-only PKCS#7");
        goto out;
    }
    if ((rc = pick_leaf(ctx, certs, cas, key, &leaf)) != 0)
        goto out;
    if ((rc = ward_x509_to_pem(leaf, &cert_pem, &cert_len)) != 0 ||
        (rc = pem_of_chain(cas, &chain)) != 0)
        goto out;
    snprintf(marker, sizeof(marker), "%s\n%lld\n", profile, (long long)ward_time_now());

    /* Verified: now the files. The key first, so a certificate never names a key that is
     * not there; a reused key is not rewritten. */
    if ((rc = enf_mkdir(ctx, st->p.dir, 0755)) != 0)
        goto out;
    if (key_new) {
        if ((rc = ward_key_to_pem(key, &keypem, &keylen)) != 0 ||
            (rc = enf_file_write(ctx, st->p.file[F_KEY], keypem, keylen, &key_attrs)) != 0)
            goto out;
    }
    if ((rc = write_public(ctx, st->p.file[F_CHAIN], chain.data, chain.len)) != 0 ||
        (rc = write_public(ctx, st->p.file[F_CERT], cert_pem, cert_len)) != 0 ||
        (rc = write_public(ctx, st->p.file[F_PROFILE], marker, strlen(marker))) != 0)
        goto out;
    WARD_INFO("client_cert %s: %s certificate of profile %s", s->id,
              renew ? "renewed the" : "installed a", profile);
out:
    if (rc != 0 && rc != WARD_ENOTSUP)
        enf_ctx_recheck_at(ctx, retry_at(st, ward_time_now()));
    EVP_PKEY_free(key);
    ward_free(body);
    ward_free(answer);
    ward_free(cert_pem);
    ward_secret_free(keypem, keylen);
    sk_X509_pop_free(cas, X509_free);
    sk_X509_pop_free(certs, X509_free);
    X509_free(leaf);
    ward_buf_release(&chain);
    return rc;
}

static int apply(struct enf_ctx *ctx, const struct enf_setting *s)
{
    struct cc_state st;
    int rc = inspect(ctx, s, &st);
    if (rc != 0)
        goto out;
    if (strcmp(enf_str(s, "state", "present"), "absent") == 0) {
        for (int i = 0; i < N_FILES && rc == 0; i++)
            rc = enf_file_remove(ctx, st.p.file[i]);
        if (rc == 0 && st.dir_exists)
            rc = remove_dir(ctx, st.p.dir);
        goto out;
    }
    if (!cert_good(&st, ward_time_now())) {
        int reuse = st.key && st.key_type_ok;
        rc = enroll(ctx, s, &st);
        if (rc == 0 && reuse && !st.key_attrs_ok)
            rc = enf_file_set_attrs(ctx, st.p.file[F_KEY], &key_attrs);
    } else if (!st.key_attrs_ok) {
        rc = enf_file_set_attrs(ctx, st.p.file[F_KEY], &key_attrs);
    }
out:
    cc_state_release(&st);
    return rc;
}

/* ---- snapshot and restore -------------------------------------------------------------------
 * The prior certificate, chain and marker are kept as text (public); the key only as
 * "there was one": a key is never put in the journal. Restore removes what was not there and
 * puts the public files back; a key that was replaced stays replaced. */

static int snapshot(struct enf_ctx *ctx, const struct enf_setting *s, json_t **out)
{
    struct cc_paths p;
    json_t *j;
    struct plat_fs_info info;
    int rc;
    *out = NULL;
    if ((rc = cc_paths_get(s, &p)) != 0)
        return rc;
    if (!(j = json_object()))
        return WARD_ENOMEM;
    rc = enf_file_stat(ctx, p.dir, PLAT_FS_NOFOLLOW, &info);
    if (rc != 0 && rc != WARD_ENOENT)
        goto out;
    if (json_object_set_new(j, "dir", json_boolean(rc == 0)) != 0)
        goto nomem;
    for (int i = 0; i < N_FILES; i++) {
        const char *data = NULL;
        size_t len = 0;
        json_t *v;
        rc = enf_file_read(ctx, p.file[i], &data, &len);
        if (rc != 0 && rc != WARD_ENOENT)
            goto out;
        if (i == F_KEY)
            v = json_boolean(rc == 0);
        else
            v = enf_json_str_or_null(rc == 0 ? data : NULL, len);
        if (!v || json_object_set_new(j, snap_names[i], v) != 0)
            goto nomem;
    }
    *out = j;
    return 0;
nomem:
    rc = WARD_ENOMEM;
out:
    json_decref(j);
    return rc;
}

static int restore(struct enf_ctx *ctx, const struct enf_setting *s, const json_t *snap)
{
    struct cc_paths p;
    int rc = cc_paths_get(s, &p);
    for (int i = 0; i < N_FILES && rc == 0; i++) {
        const json_t *v = json_object_get(snap, snap_names[i]);
        if (i == F_KEY) {
            if (!json_is_true(v))
                rc = enf_file_remove(ctx, p.file[i]);
        } else if (json_is_string(v)) {
            rc = enf_mkdir(ctx, p.dir, 0755);
            if (rc == 0)
                rc = write_public(ctx, p.file[i], json_string_value(v), json_string_length(v));
        } else {
            rc = enf_file_remove(ctx, p.file[i]);
        }
    }
    if (rc == 0 && !json_is_true(json_object_get(snap, "dir")))
        rc = remove_dir(ctx, p.dir);
    return rc;
}

const struct enf_kind enf_kind_client_cert = {
    .name = "client_cert",
    .summary = "A key made on the device and a certificate for it from the service's EST "
               "endpoint (a certificate profile), renewed from 2/3 of its lifetime.",
    .fields = fields,
    .validate = validate,
    .check = check,
    .apply = apply,
    .snapshot = snapshot,
    .restore = restore,
    .retire_restores = 1, /* selective_wipe removes key and certificate */
};
