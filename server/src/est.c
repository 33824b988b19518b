/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EST (RFC 7030) for ward-server: certificate profiles, the issuing CA, issuance from a
 * device's PKCS#10 request, and the record of issued certificates (server/est.h). The
 * service decides every name in a certificate from the profile and the device record; the
 * CSR contributes only its public key (checked against the profile's key types) and its
 * proof of possession (its signature). Names are built as X509_NAME entries and
 * GENERAL_NAMEs, never through the OpenSSL config language, so a hostname a device
 * reported cannot add an extension or an attribute.
 */
#define WARD_LOG_TAG "srv-est"

#include "server/est.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/app.h"
#include "server/pki.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"

#define ID_MAX 64
#define VALUE_MAX 256
#define SAN_MAX 16
#define UPN_OID "1.3.6.1.4.1.311.20.2.3"

/* ---- profile schema ----------------------------------------------------------------- */

/* Subject attributes, in the order they appear in the certificate's subject. */
static const char *const subject_attrs[] = {"C", "ST", "L", "O", "OU", "CN", NULL};
#define N_SUBJECT 6

enum san_kind { SAN_DNS, SAN_EMAIL, SAN_UPN, N_SAN };
static const char *const san_names[] = {"dns", "email", "upn", NULL};

static const struct {
    const char *name; /* profile name = OpenSSL short name */
} ekus[] = {{"clientAuth"}, {"serverAuth"}, {"emailProtection"}};
#define N_EKU (sizeof(ekus) / sizeof(ekus[0]))

#define KEY_EC_P256 0x1u
#define KEY_RSA_2048 0x2u
static const struct {
    const char *name;
    unsigned bit;
} key_types[] = {{"ec-p256", KEY_EC_P256}, {"rsa-2048", KEY_RSA_2048}};
#define N_KEY (sizeof(key_types) / sizeof(key_types[0]))

/* EST operation names (RFC 7030 3.2.2) cannot be labels: the path would be ambiguous. */
static const char *const reserved_ids[] = {
    "cacerts", "simpleenroll", "simplereenroll", "fullcmc", "serverkeygen", "csrattrs", NULL};

/* A parsed profile; strings and arrays are borrowed from the document it came from. */
struct profile {
    const char *id;
    const char *description;
    const char *subject[N_SUBJECT];
    json_t *san[N_SAN];
    unsigned eku;  /* bit i: ekus[i] */
    unsigned keys; /* KEY_* */
    long lifetime;
};

static void setmsg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void setmsg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    if (!msg || !msglen)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

static int id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ID_MAX || !(islower((unsigned char)id[0]) || isdigit((unsigned char)id[0])))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!(islower(c) || isdigit(c) || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    for (size_t i = 0; reserved_ids[i]; i++)
        if (strcmp(id, reserved_ids[i]) == 0)
            return 0;
    return 1;
}

/* "{device_id}" and "{hostname}" are the only template variables; braces appear nowhere
 * else. *uses_hostname is set when the value needs the device's hostname. */
static int template_check(const char *v, const char *path, int *uses_hostname, char *msg,
                          size_t msglen)
{
    for (const char *p = v; *p; p++) {
        if (*p == '}') {
            setmsg(msg, msglen, "%s: unmatched '}'", path);
            return WARD_EPARSE;
        }
        if (*p != '{')
            continue;
        const char *end = strchr(p, '}');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        if (!end) {
            setmsg(msg, msglen, "%s: unmatched '{'", path);
            return WARD_EPARSE;
        }
        if (n == 9 && strncmp(p + 1, "device_id", 9) == 0) {
            /* known */
        } else if (n == 8 && strncmp(p + 1, "hostname", 8) == 0) {
            if (uses_hostname)
                *uses_hostname = 1;
        } else {
            setmsg(msg, msglen,
                   "%s: unknown template variable {%.*s} (known: {device_id}, {hostname})", path,
                   (int)(n > 40 ? 40 : n), p + 1);
            return WARD_EPARSE;
        }
        p = end;
    }
    return 0;
}

/* The literal characters of a template (variables skipped) must fit the kind of name. */
static int literal_ok(const char *v, enum san_kind kind)
{
    int at = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '{') {
            p = (const unsigned char *)strchr((const char *)p, '}');
            continue;
        }
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        if (*p == '@')
            at++;
        switch (kind) {
        case SAN_DNS:
            if (!(isalnum(*p) || *p == '-' || *p == '.'))
                return 0;
            break;
        case SAN_EMAIL:
            if (*p >= 0x80 || *p == ' ')
                return 0;
            break;
        default:
            if (*p == ' ')
                return 0;
            break;
        }
    }
    return kind == SAN_DNS ? at == 0 : at == 1;
}

static int parse_lifetime(const json_t *v, long *out)
{
    long long n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        long d;
        if (srv_parse_duration(json_string_value(v), &d) != 0)
            return WARD_EPARSE;
        n = d;
    } else {
        return WARD_EPARSE;
    }
    if (n < SRV_CERT_LIFETIME_MIN || n > SRV_CERT_LIFETIME_MAX)
        return WARD_EINVAL;
    *out = (long)n;
    return 0;
}

static int profile_parse(const json_t *doc, struct profile *p, char *msg, size_t msglen)
{
    static const char *const top[] = {"id",  "description", "subject", "san",
                                      "eku", "lifetime",    "key",     NULL};
    struct ward_json_error e = {0};
    json_t *subject = NULL, *san = NULL, *eku = NULL, *v, *key;
    char path[WARD_JSON_PATH_MAX];
    size_t i;
    int rc;

    memset(p, 0, sizeof(*p));
    if ((rc = ward_json_check_keys(doc, "$", top, &e)) != 0) {
        setmsg(msg, msglen, "%s: unknown field", e.path);
        return rc;
    }
    if ((rc = ward_json_get_str(doc, "$", "id", WARD_JSON_REQUIRED, &p->id, &e)) != 0 ||
        (rc = ward_json_get_str(doc, "$", "description", 0, &p->description, &e)) != 0 ||
        (rc = ward_json_get_object(doc, "$", "subject", WARD_JSON_REQUIRED, &subject, &e)) != 0 ||
        (rc = ward_json_get_object(doc, "$", "san", 0, &san, &e)) != 0 ||
        (rc = ward_json_get_array(doc, "$", "eku", 0, &eku, &e)) != 0) {
        setmsg(msg, msglen, "%s: %s", e.path, e.text);
        return rc;
    }
    if (!id_ok(p->id)) {
        setmsg(msg, msglen,
               "$.id: '%.64s' is not a profile id (1-64 of a-z 0-9 . _ -, starting with a "
               "letter or digit, not an EST operation name)",
               p->id);
        return WARD_EPARSE;
    }
    if (p->description && strlen(p->description) > VALUE_MAX) {
        setmsg(msg, msglen, "$.description: longer than %d bytes", VALUE_MAX);
        return WARD_EPARSE;
    }

    if ((rc = ward_json_check_keys(subject, "$.subject", subject_attrs, &e)) != 0) {
        setmsg(msg, msglen, "%s: unknown subject attribute (known: C, ST, L, O, OU, CN)", e.path);
        return rc;
    }
    for (i = 0; subject_attrs[i]; i++) {
        ward_json_path_key(path, sizeof(path), "$.subject", subject_attrs[i]);
        if ((rc = ward_json_get_str(subject, "$.subject", subject_attrs[i], 0, &p->subject[i],
                                    &e)) != 0) {
            setmsg(msg, msglen, "%s: %s", e.path, e.text);
            return rc;
        }
        if (!p->subject[i])
            continue;
        if (!*p->subject[i] || strlen(p->subject[i]) > VALUE_MAX) {
            setmsg(msg, msglen, "%s: must be 1-%d bytes", path, VALUE_MAX);
            return WARD_EPARSE;
        }
        if ((rc = template_check(p->subject[i], path, NULL, msg, msglen)) != 0)
            return rc;
    }
    if (!p->subject[5]) {
        setmsg(msg, msglen, "$.subject.CN: required");
        return WARD_EPARSE;
    }

    if (san) {
        if ((rc = ward_json_check_keys(san, "$.san", san_names, &e)) != 0) {
            setmsg(msg, msglen, "%s: unknown SAN type (known: dns, email, upn)", e.path);
            return rc;
        }
        for (i = 0; i < N_SAN; i++) {
            json_t *arr = NULL;
            size_t k2;
            ward_json_path_key(path, sizeof(path), "$.san", san_names[i]);
            if ((rc = ward_json_get_array(san, "$.san", san_names[i], 0, &arr, &e)) != 0) {
                setmsg(msg, msglen, "%s: %s", e.path, e.text);
                return rc;
            }
            if (!arr)
                continue;
            if (json_array_size(arr) > SAN_MAX) {
                setmsg(msg, msglen, "%s: more than %d names", path, SAN_MAX);
                return WARD_EPARSE;
            }
            json_array_foreach(arr, k2, v)
            {
                char ipath[WARD_JSON_PATH_MAX];
                const char *s = json_string_value(v);
                ward_json_path_index(ipath, sizeof(ipath), path, k2);
                if (!s || !*s || strlen(s) > VALUE_MAX) {
                    setmsg(msg, msglen, "%s: must be a string of 1-%d bytes", ipath, VALUE_MAX);
                    return WARD_EPARSE;
                }
                if ((rc = template_check(s, ipath, NULL, msg, msglen)) != 0)
                    return rc;
                if (!literal_ok(s, (enum san_kind)i)) {
                    setmsg(msg, msglen, "%s: '%.80s' is not %s", ipath, s,
                           i == SAN_DNS ? "a DNS name (letters, digits, '-', '.')"
                                        : "of the form user@domain");
                    return WARD_EPARSE;
                }
            }
            p->san[i] = arr;
        }
    }

    if (eku) {
        if (json_array_size(eku) == 0) {
            setmsg(msg, msglen, "$.eku: must name at least one extended key usage");
            return WARD_EPARSE;
        }
        json_array_foreach(eku, i, v)
        {
            const char *s = json_string_value(v);
            size_t j;
            for (j = 0; s && j < N_EKU; j++)
                if (strcmp(s, ekus[j].name) == 0)
                    break;
            if (!s || j == N_EKU) {
                setmsg(msg, msglen,
                       "$.eku[%zu]: unknown extended key usage (known: clientAuth, serverAuth, "
                       "emailProtection)",
                       i);
                return WARD_EPARSE;
            }
            if (p->eku & (1u << j)) {
                setmsg(msg, msglen, "$.eku[%zu]: %s listed twice", i, s);
                return WARD_EPARSE;
            }
            p->eku |= 1u << j;
        }
    } else {
        p->eku = 1u; /* clientAuth */
    }

    v = json_object_get(doc, "lifetime");
    if (!v) {
        setmsg(msg, msglen, "$.lifetime: required (seconds, or a number with s, m, h or d)");
        return WARD_EPARSE;
    }
    rc = parse_lifetime(v, &p->lifetime);
    if (rc != 0) {
        setmsg(msg, msglen,
               rc == WARD_EINVAL ? "$.lifetime: must be between 60 s and 825 d"
                                 : "$.lifetime: want seconds or a number with s, m, h or d");
        return WARD_EPARSE;
    }

    key = json_object_get(doc, "key");
    if (!key) {
        p->keys = KEY_EC_P256;
    } else {
        json_t *one = NULL;
        size_t n = json_is_array(key) ? json_array_size(key) : 1;
        if (!json_is_array(key) && !json_is_string(key)) {
            setmsg(msg, msglen, "$.key: want a key type or an array of them");
            return WARD_EPARSE;
        }
        if (n == 0) {
            setmsg(msg, msglen, "$.key: must allow at least one key type");
            return WARD_EPARSE;
        }
        for (i = 0; i < n; i++) {
            const char *s;
            size_t j;
            one = json_is_array(key) ? json_array_get(key, i) : key;
            s = json_string_value(one);
            for (j = 0; s && j < N_KEY; j++)
                if (strcmp(s, key_types[j].name) == 0)
                    break;
            if (!s || j == N_KEY) {
                setmsg(msg, msglen, "$.key: unknown key type (known: ec-p256, rsa-2048)");
                return WARD_EPARSE;
            }
            p->keys |= key_types[j].bit;
        }
    }
    return 0;
}

/* The stored form: every default filled in, lifetime in seconds, key and eku as arrays. */
static json_t *profile_normalized(const struct profile *p)
{
    json_t *o = json_object(), *subj = json_object(), *san = json_object(), *eku = json_array(),
           *keys = json_array();
    if (!o || !subj || !san || !eku || !keys)
        goto fail;
    for (size_t i = 0; i < N_SUBJECT; i++)
        if (p->subject[i] &&
            json_object_set_new(subj, subject_attrs[i], json_string(p->subject[i])) != 0)
            goto fail;
    for (size_t i = 0; i < N_SAN; i++)
        if (p->san[i] && json_object_set(san, san_names[i], p->san[i]) != 0)
            goto fail;
    for (size_t i = 0; i < N_EKU; i++)
        if ((p->eku & (1u << i)) && json_array_append_new(eku, json_string(ekus[i].name)) != 0)
            goto fail;
    for (size_t i = 0; i < N_KEY; i++)
        if ((p->keys & key_types[i].bit) &&
            json_array_append_new(keys, json_string(key_types[i].name)) != 0)
            goto fail;
    if (json_object_set_new(o, "id", json_string(p->id)) != 0 ||
        (p->description &&
         json_object_set_new(o, "description", json_string(p->description)) != 0) ||
        json_object_set_new(o, "subject", subj) != 0 || json_object_set_new(o, "san", san) != 0 ||
        json_object_set_new(o, "eku", eku) != 0 ||
        json_object_set_new(o, "lifetime", json_integer(p->lifetime)) != 0 ||
        json_object_set_new(o, "key", keys) != 0)
        goto fail_owned;
    return o;
fail:
    json_decref(subj);
    json_decref(san);
    json_decref(eku);
    json_decref(keys);
fail_owned:
    json_decref(o);
    return NULL;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int srv_cert_profile_put(struct srv_app *app, const char *buf, size_t len, json_t **out, char *msg,
                         size_t msglen)
{
    struct ward_json_limits lim = {.max_bytes = SRV_CERT_PROFILE_MAX_BYTES, .max_depth = 4};
    struct ward_json_error e = {0};
    struct profile p;
    json_t *doc = NULL, *norm = NULL;
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    int rc, created = 0, in_tx = 0;
    int64_t now = srv_now();

    *out = NULL;
    setmsg(msg, msglen, "%s", "");
    if (len > SRV_CERT_PROFILE_MAX_BYTES) {
        setmsg(msg, msglen, "larger than %zu bytes", SRV_CERT_PROFILE_MAX_BYTES);
        return WARD_ETOOBIG;
    }
    rc = ward_json_loadb(buf, len, &lim, &doc, &e);
    if (rc == 0 && !json_is_object(doc)) {
        setmsg(msg, msglen, "$: a profile is a JSON object");
        rc = WARD_EPARSE;
        goto out;
    }
    if (rc != 0) {
        if (rc == WARD_EPARSE && e.line)
            setmsg(msg, msglen, "line %d column %d: %s", e.line, e.column, e.text);
        else
            setmsg(msg, msglen, "%s: %s", e.path, rc == WARD_EDEPTH ? "nested too deep" : e.text);
        goto out;
    }
    if ((rc = profile_parse(doc, &p, msg, msglen)) != 0)
        goto out;
    if (!(norm = profile_normalized(&p))) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = ward_json_dumps(norm, WARD_JSON_SORT_KEYS, &text, NULL)) != 0)
        goto out;
    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    in_tx = 1;
    rc = ward_store_prepare(app->store, "SELECT 1 FROM cert_profiles WHERE id = ?1", &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, p.id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc < 0)
        goto out;
    created = rc != WARD_STORE_ROW;
    sqlite3_finalize(st);
    st = NULL;
    rc = ward_store_prepare(app->store,
                            "INSERT INTO cert_profiles(id, doc, created_at, updated_at)"
                            " VALUES (?1, ?2, ?3, ?3) ON CONFLICT(id) DO UPDATE SET"
                            " doc = excluded.doc, updated_at = excluded.updated_at",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, p.id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if ((rc = ward_store_step(app->store, st)) != 0 ||
        (rc = srv_event(app, created ? "cert_profile_create" : "cert_profile_update", NULL, NULL,
                        p.id)) != 0 ||
        (rc = ward_store_commit(app->store)) != 0)
        goto out;
    in_tx = 0;
    *out = json_pack("{s:s, s:b, s:O}", "id", p.id, "created", created, "profile", norm);
    if (!*out)
        rc = WARD_ENOMEM;
out:
    if (in_tx)
        ward_store_rollback(app->store);
    sqlite3_finalize(st);
    ward_free(text);
    json_decref(norm);
    json_decref(doc);
    return rc;
}

static int profile_row(sqlite3_stmt *st, json_t **out)
{
    struct ward_json_error e;
    const char *doc = col_text(st, 0);
    char at[32];
    int rc = ward_json_loadb(doc, strlen(doc), NULL, out, &e);
    if (rc != 0)
        return rc == WARD_ENOMEM ? rc : WARD_ECORRUPT;
    srv_time_iso(sqlite3_column_int64(st, 1), at, sizeof(at));
    json_object_set_new(*out, "created_at", json_string(at));
    srv_time_iso(sqlite3_column_int64(st, 2), at, sizeof(at));
    json_object_set_new(*out, "updated_at", json_string(at));
    return 0;
}

int srv_cert_profile_list(struct srv_app *app, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array(), *one;
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(
        app->store, "SELECT doc, created_at, updated_at FROM cert_profiles ORDER BY id", &st);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        if ((rc = profile_row(st, &one)) != 0)
            break;
        json_array_append_new(arr, one);
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int srv_cert_profile_show(struct srv_app *app, const char *id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = NULL;
    rc = ward_store_prepare(
        app->store, "SELECT doc, created_at, updated_at FROM cert_profiles WHERE id = ?1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW)
        rc = profile_row(st, out);
    else if (rc == 0)
        rc = WARD_ENOENT;
    sqlite3_finalize(st);
    return rc;
}

/* ---- issued certificates ------------------------------------------------------------ */

int srv_issued_cert_list(struct srv_app *app, const char *device_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int64_t now = srv_now();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT serial, device_id, profile, subject, not_before, not_after,"
                            " issued_at, revoked_at, superseded_by, renewed_from FROM issued_certs"
                            " WHERE ?1 IS NULL OR device_id = ?1 ORDER BY issued_at DESC,"
                            " rowid DESC",
                            &st);
    if (rc == 0)
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        char nb[32], na[32], ia[32], ra[32];
        int revoked = sqlite3_column_type(st, 7) != SQLITE_NULL;
        int superseded = sqlite3_column_type(st, 8) != SQLITE_NULL;
        int64_t not_after = sqlite3_column_int64(st, 5);
        json_t *o;
        srv_time_iso(sqlite3_column_int64(st, 4), nb, sizeof(nb));
        srv_time_iso(not_after, na, sizeof(na));
        srv_time_iso(sqlite3_column_int64(st, 6), ia, sizeof(ia));
        srv_time_iso(sqlite3_column_int64(st, 7), ra, sizeof(ra));
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s}", "serial",
                      col_text(st, 0), "device_id", col_text(st, 1), "profile", col_text(st, 2),
                      "subject", col_text(st, 3), "not_before", nb, "not_after", na, "issued_at",
                      ia, "revoked_at", revoked ? ra : NULL, "superseded_by", col_text(st, 8),
                      "renewed_from", col_text(st, 9), "state",
                      revoked            ? "revoked"
                      : superseded       ? "superseded"
                      : not_after <= now ? "expired"
                                         : "valid");
        if (!o || json_array_append_new(arr, o) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int srv_issued_cert_revoke(struct srv_app *app, const char *serial, char **device_id)
{
    sqlite3_stmt *st = NULL;
    char hex[130];
    size_t n = strlen(serial), i;
    int rc;

    if (device_id)
        *device_id = NULL;
    if (n == 0 || n >= sizeof(hex))
        return WARD_ENOENT;
    for (i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)serial[i]))
            return WARD_ENOENT;
        hex[i] = (char)toupper((unsigned char)serial[i]);
    }
    hex[n] = '\0';
    rc = ward_store_prepare(
        app->store, "SELECT device_id, revoked_at FROM issued_certs WHERE serial = ?1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == 0)
        rc = WARD_ENOENT;
    if (rc != WARD_STORE_ROW)
        goto out;
    if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
        rc = WARD_EEXIST;
        goto out;
    }
    if (device_id && !(*device_id = ward_strdup(col_text(st, 0)))) {
        rc = WARD_ENOMEM;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = ward_store_prepare(app->store,
                            "UPDATE issued_certs SET revoked_at = ?2 WHERE serial = ?1"
                            " AND revoked_at IS NULL",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, srv_now());
    if ((rc = ward_store_step(app->store, st)) == 0)
        rc = srv_event(app, "cert_revoke", device_id ? *device_id : NULL, NULL, hex);
out:
    sqlite3_finalize(st);
    if (rc != 0 && device_id) {
        ward_free(*device_id);
        *device_id = NULL;
    }
    return rc;
}

/* ---- the issuing CA and the wire format --------------------------------------------- */

struct srv_est {
    struct srv_app *app;
    X509 *ca;
    EVP_PKEY *ca_key;
    char *cacerts; /* base64 certs-only PKCS#7 */
    size_t cacerts_len;
};

int srv_est_open(struct srv_app *app, struct srv_est **out)
{
    struct srv_est *e = ward_calloc(1, sizeof(*e));
    char *cpath = srv_app_path(app, SRV_FILE_ISSUING_CERT),
         *kpath = srv_app_path(app, SRV_FILE_ISSUING_KEY), *pem = NULL;
    struct stat sb;
    FILE *f = NULL;
    long n;
    int rc;

    *out = NULL;
    if (!e || !cpath || !kpath) {
        rc = WARD_ENOMEM;
        goto out;
    }
    e->app = app;
    if (stat(cpath, &sb) != 0 && errno == ENOENT) {
        /* A data directory from before EST: the certificate is written last, so its absence
         * means no usable issuing CA exists (a stray key from a crash is replaced). */
        if ((rc = srv_issuing_ca_create(app->data_dir)) != 0)
            goto out;
        WARD_INFO("created the issuing CA (%s, %s) in %s: the data directory predates EST",
                  SRV_ISSUING_CA_CN, SRV_FILE_ISSUING_CERT, app->data_dir);
    }
    if ((rc = ward_key_load_pem(kpath, &e->ca_key)) != 0) {
        WARD_LOG_ERR(rc, "cannot load the issuing CA key %s", kpath);
        goto out;
    }
    if ((rc = ward_os_fopen_read(cpath, &f)) != 0)
        goto out;
    pem = ward_malloc(64 * 1024);
    n = pem ? (long)fread(pem, 1, 64 * 1024 - 1, f) : -1;
    fclose(f);
    if (n < 0) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = ward_x509_parse(pem, (size_t)n, &e->ca)) != 0) {
        WARD_LOG_ERR(rc, "cannot parse the issuing CA certificate %s", cpath);
        goto out;
    }
    if (X509_check_private_key(e->ca, e->ca_key) != 1) {
        ward_crypto_log_errors("issuing CA");
        rc = WARD_EVERIFY;
        WARD_LOG_ERR(rc, "%s does not belong to %s", kpath, cpath);
        goto out;
    }
    if ((rc = ward_pkcs7_certs_b64(&e->ca, 1, &e->cacerts, &e->cacerts_len)) != 0)
        goto out;
    *out = e;
    e = NULL;
out:
    srv_est_free(e);
    ward_free(pem);
    ward_free(cpath);
    ward_free(kpath);
    return rc;
}

void srv_est_free(struct srv_est *e)
{
    if (!e)
        return;
    X509_free(e->ca);
    EVP_PKEY_free(e->ca_key);
    ward_free(e->cacerts);
    ward_free(e);
}

const char *srv_est_cacerts(const struct srv_est *e, size_t *len)
{
    *len = e->cacerts_len;
    return e->cacerts;
}

/* Loads and re-checks the stored profile; *doc holds the strings p borrows. WARD_ENOENT. */
static int profile_load(struct srv_app *app, const char *id, json_t **doc, struct profile *p)
{
    char msg[256];
    int rc;

    *doc = NULL;
    if (!id_ok(id))
        return WARD_ENOENT;
    if ((rc = srv_cert_profile_show(app, id, doc)) != 0)
        return rc;
    json_object_del(*doc, "created_at");
    json_object_del(*doc, "updated_at");
    if ((rc = profile_parse(*doc, p, msg, sizeof(msg))) != 0) {
        WARD_LOG_ERR(WARD_ECORRUPT, "stored profile %s: %s", id, msg);
        json_decref(*doc);
        *doc = NULL;
        return WARD_ECORRUPT;
    }
    return 0;
}

int srv_est_profile_exists(struct srv_est *e, const char *id)
{
    struct profile p;
    json_t *doc = NULL;
    int rc = profile_load(e->app, id, &doc, &p);
    json_decref(doc);
    return rc == 0 ? 1 : rc == WARD_ENOENT ? 0 : rc;
}

/* A single DNS label, as a device-reported hostname must be inside a SAN, so a device
 * cannot name itself into another domain ("evil.example" + ".corp.example"). */
static int dns_label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

static int dns_name_ok(const char *s)
{
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (s[i] == '.' || s[i] == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Expands the template variables into out. WARD_ENOENT: the device has no hostname on
 * record; WARD_EINVAL: it does, but it is not a single DNS label and in_san is set. */
static int expand(const char *tmpl, const char *device_id, const char *hostname, int in_san,
                  char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = tmpl; *p; p++) {
        const char *val = NULL;
        size_t n;
        if (*p == '{') {
            if (strncmp(p, "{device_id}", 11) == 0) {
                val = device_id;
                p += 10;
            } else {
                if (!hostname || !*hostname)
                    return WARD_ENOENT;
                if (in_san && !dns_label_ok(hostname))
                    return WARD_EINVAL;
                val = hostname;
                p += 9;
            }
            n = strlen(val);
        } else {
            val = p;
            n = 1;
        }
        if (o + n >= outlen)
            return WARD_ETOOBIG;
        memcpy(out + o, val, n);
        o += n;
    }
    out[o] = '\0';
    return 0;
}

static int push_name(GENERAL_NAMES *names, enum san_kind kind, const char *v)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = NULL;
    ASN1_UTF8STRING *utf8 = NULL;
    ASN1_OBJECT *oid = NULL;
    ASN1_TYPE *val = NULL;

    if (!gn)
        return WARD_ENOMEM;
    if (kind == SAN_UPN) {
        /* Microsoft's UPN: otherName 1.3.6.1.4.1.311.20.2.3 with a UTF8String. */
        if (!(oid = OBJ_txt2obj(UPN_OID, 1)) || !(val = ASN1_TYPE_new()) ||
            !(utf8 = ASN1_UTF8STRING_new()) || !ASN1_STRING_set(utf8, v, (int)strlen(v)))
            goto fail;
        ASN1_TYPE_set(val, V_ASN1_UTF8STRING, utf8);
        utf8 = NULL;
        if (!GENERAL_NAME_set0_othername(gn, oid, val))
            goto fail;
        oid = NULL;
        val = NULL;
    } else {
        if (!(ia5 = ASN1_IA5STRING_new()) || !ASN1_STRING_set(ia5, v, (int)strlen(v)))
            goto fail;
        GENERAL_NAME_set0_value(gn, kind == SAN_DNS ? GEN_DNS : GEN_EMAIL, ia5);
        ia5 = NULL;
    }
    if (!sk_GENERAL_NAME_push(names, gn))
        goto fail;
    return 0;
fail:
    ASN1_IA5STRING_free(ia5);
    ASN1_UTF8STRING_free(utf8);
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(val);
    GENERAL_NAME_free(gn);
    return WARD_ENOMEM;
}

/* What the CSR's key is, for the profile check and for error messages. */
static unsigned key_kind(EVP_PKEY *k, char *desc, size_t desclen)
{
    int bits = EVP_PKEY_get_bits(k);
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
        char group[64] = "";
        size_t gl = 0;
        if (EVP_PKEY_get_group_name(k, group, sizeof(group), &gl) != 1)
            snprintf(group, sizeof(group), "unknown curve");
        snprintf(desc, desclen, "EC %s", group);
        return strcmp(group, "prime256v1") == 0 ? KEY_EC_P256 : 0;
    }
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        snprintf(desc, desclen, "RSA %d bits", bits);
        return bits >= 2048 && bits <= 4096 ? KEY_RSA_2048 : 0;
    }
    snprintf(desc, desclen, "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
    return 0;
}

static void answer(struct srv_est_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void answer(struct srv_est_answer *a, int status, const char *fmt, ...)
{
    va_list ap;
    a->status = status;
    va_start(ap, fmt);
    vsnprintf(a->text, sizeof(a->text), fmt, ap);
    va_end(ap);
}

static int device_hostname(struct srv_app *app, const char *device_id, char **out)
{
    sqlite3_stmt *st = NULL;
    int rc =
        ward_store_prepare(app->store, "SELECT hostname FROM devices WHERE device_id = ?1", &st);
    *out = NULL;
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        rc = 0;
        if (col_text(st, 0) && !(*out = ward_strdup(col_text(st, 0))))
            rc = WARD_ENOMEM;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Subject and SANs of the profile for this device; answers 400 through a when a name
 * cannot be made from the device record. */
static int build_names(const struct profile *p, const char *device_id, const char *hostname,
                       X509_NAME **subject, GENERAL_NAMES **sans, struct srv_est_answer *a)
{
    char v[VALUE_MAX * 2 + 128];
    int rc;

    *subject = X509_NAME_new();
    *sans = sk_GENERAL_NAME_new_null();
    if (!*subject || !*sans)
        return WARD_ENOMEM;
    for (size_t i = 0; i < N_SUBJECT; i++) {
        if (!p->subject[i])
            continue;
        rc = expand(p->subject[i], device_id, hostname, 0, v, sizeof(v));
        if (rc == WARD_ENOENT) {
            answer(a, 400, "profile %s needs the device's hostname, which it has not reported",
                   p->id);
            return 0;
        }
        if (rc != 0 || !X509_NAME_add_entry_by_txt(*subject, subject_attrs[i], MBSTRING_UTF8,
                                                   (const unsigned char *)v, -1, -1, 0)) {
            ward_crypto_log_errors("subject attribute");
            answer(a, 400, "profile %s: subject %s cannot be made for this device (too long?)",
                   p->id, subject_attrs[i]);
            return 0;
        }
    }
    for (size_t k = 0; k < N_SAN; k++) {
        size_t i;
        json_t *t;
        json_array_foreach(p->san[k], i, t)
        {
            rc = expand(json_string_value(t), device_id, hostname, 1, v, sizeof(v));
            if (rc == WARD_ENOENT) {
                answer(a, 400, "profile %s needs the device's hostname, which it has not reported",
                       p->id);
                return 0;
            }
            if (rc == WARD_EINVAL) {
                answer(a, 400,
                       "profile %s: the device's hostname is not a single DNS label, so it "
                       "cannot be put in a subjectAltName",
                       p->id);
                return 0;
            }
            if (rc != 0 || (k == SAN_DNS && !dns_name_ok(v))) {
                answer(a, 400, "profile %s: %s name '%.60s' is not valid for this device", p->id,
                       san_names[k], v);
                return 0;
            }
            if ((rc = push_name(*sans, (enum san_kind)k, v)) != 0)
                return rc;
        }
    }
    return 0;
}

static int subject_text(const X509_NAME *name, char **out)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    int rc = WARD_ENOMEM;
    *out = NULL;
    if (!b)
        return rc;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        n = BIO_get_mem_data(b, &data);
        if ((*out = ward_malloc((size_t)n + 1)) != NULL) {
            memcpy(*out, data, (size_t)n);
            (*out)[n] = '\0';
            rc = 0;
        }
    } else {
        rc = WARD_ECRYPTO;
    }
    BIO_free(b);
    return rc;
}

int srv_est_enroll(struct srv_est *e, const char *device_id, const char *profile_id, int reenroll,
                   const char *body, size_t len, struct srv_est_answer *a)
{
    struct srv_app *app = e->app;
    struct profile p;
    json_t *doc = NULL;
    uint8_t *der = NULL;
    size_t dlen = 0;
    X509_REQ *req = NULL;
    X509_NAME *subject = NULL;
    GENERAL_NAMES *sans = NULL;
    X509 *cert = NULL;
    EVP_PKEY *pub;
    char *hostname = NULL, *serial = NULL, *subj = NULL, *old = NULL, kdesc[64], detail[200];
    sqlite3_stmt *st = NULL;
    time_t nb = 0, na = 0, ca_nb = 0, ca_na = 0;
    unsigned kind;
    long lifetime;
    int64_t now = srv_now();
    int rc, in_tx = 0;
    struct srv_pki_leaf leaf = {0};
    char eku[64] = "";

    memset(a, 0, sizeof(*a));
    rc = profile_load(app, profile_id, &doc, &p);
    if (rc == WARD_ENOENT) {
        answer(a, 404, "no certificate profile '%.64s'", profile_id);
        rc = 0;
        goto out;
    }
    if (rc != 0)
        goto out;
    rc = ward_base64_decode_lines(body, len, &der, &dlen);
    if (rc == WARD_ENOMEM)
        goto out;
    if (rc != 0) {
        answer(a, 400, "body is not base64 (want a base64-encoded DER PKCS#10 request)");
        rc = 0;
        goto out;
    }
    rc = ward_csr_parse(der, dlen, &req);
    if (rc == WARD_ENOMEM)
        goto out;
    if (rc == WARD_EVERIFY) {
        answer(a, 400, "the CSR's signature does not verify with its public key");
        rc = 0;
        goto out;
    }
    if (rc != 0 || !(pub = ward_csr_pubkey(req))) {
        answer(a, 400, "body is not a DER PKCS#10 certification request");
        rc = 0;
        goto out;
    }
    kind = key_kind(pub, kdesc, sizeof(kdesc));
    if (!(kind & p.keys)) {
        char allowed[64] = "";
        for (size_t i = 0; i < N_KEY; i++)
            if (p.keys & key_types[i].bit)
                snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s",
                         allowed[0] ? ", " : "", key_types[i].name);
        answer(a, 400, "the CSR's key (%s) is not allowed by profile %s (allowed: %s)", kdesc, p.id,
               allowed);
        rc = 0;
        goto out;
    }
    if ((rc = device_hostname(app, device_id, &hostname)) != 0)
        goto out;
    if ((rc = build_names(&p, device_id, hostname, &subject, &sans, a)) != 0 || a->status)
        goto out;
    for (size_t i = 0; i < N_EKU; i++)
        if (p.eku & (1u << i))
            snprintf(eku + strlen(eku), sizeof(eku) - strlen(eku), "%s%s", eku[0] ? "," : "",
                     ekus[i].name);
    /* Never past the issuing CA's own end. */
    lifetime = p.lifetime;
    if ((rc = ward_x509_validity(e->ca, &ca_nb, &ca_na)) != 0)
        goto out;
    if ((int64_t)ca_na - now < lifetime)
        lifetime = (long)((int64_t)ca_na - now);
    if (lifetime <= 0) {
        rc = WARD_EEXPIRED;
        WARD_LOG_ERR(rc, "the issuing CA has expired");
        goto out;
    }
    leaf.subject = subject;
    leaf.sans = sans;
    leaf.eku = eku;
    leaf.key_encipherment = kind == KEY_RSA_2048;
    leaf.valid_seconds = lifetime;
    if ((rc = srv_pki_issue_leaf(e->ca, e->ca_key, pub, &leaf, &cert)) != 0 ||
        (rc = ward_x509_serial_hex(cert, &serial)) != 0 ||
        (rc = ward_x509_validity(cert, &nb, &na)) != 0 || (rc = subject_text(subject, &subj)) != 0)
        goto out;

    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    in_tx = 1;
    if (reenroll) {
        /* The certificate being renewed: the device's newest of this profile that is
         * neither revoked nor superseded (expired is fine: the device authenticated with
         * its device certificate, not with this one). */
        rc = ward_store_prepare(app->store,
                                "SELECT serial FROM issued_certs WHERE device_id = ?1 AND"
                                " profile = ?2 AND revoked_at IS NULL AND superseded_by IS NULL"
                                " ORDER BY issued_at DESC, rowid DESC LIMIT 1",
                                &st);
        if (rc != 0)
            goto out;
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, p.id, -1, SQLITE_STATIC);
        rc = ward_store_step(app->store, st);
        if (rc == 0) {
            answer(a, 403,
                   "no unrevoked certificate of profile %s to renew for this device (use "
                   "simpleenroll)",
                   p.id);
            goto out;
        }
        if (rc != WARD_STORE_ROW)
            goto out;
        if (!(old = ward_strdup(col_text(st, 0)))) {
            rc = WARD_ENOMEM;
            goto out;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    rc = ward_store_prepare(app->store,
                            "INSERT INTO issued_certs(serial, device_id, profile, subject,"
                            " not_before, not_after, issued_at, renewed_from) VALUES (?1, ?2, ?3,"
                            " ?4, ?5, ?6, ?7, ?8)",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, p.id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, subj, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)nb);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)na);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_text(st, 8, old, -1, SQLITE_STATIC);
    if ((rc = ward_store_step(app->store, st)) != 0)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (old) {
        rc = ward_store_prepare(
            app->store, "UPDATE issued_certs SET superseded_by = ?2 WHERE serial = ?1", &st);
        if (rc != 0)
            goto out;
        sqlite3_bind_text(st, 1, old, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
        if ((rc = ward_store_step(app->store, st)) != 0)
            goto out;
    }
    snprintf(detail, sizeof(detail), "profile %s, serial %s%s%s", p.id, serial,
             old ? ", renews " : "", old ? old : "");
    if ((rc = srv_event(app, reenroll ? "est_reenroll" : "est_enroll", device_id, NULL, detail)) !=
            0 ||
        (rc = ward_store_commit(app->store)) != 0)
        goto out;
    in_tx = 0;
    if ((rc = ward_pkcs7_certs_b64(&cert, 1, &a->body, &a->len)) != 0)
        goto out; /* recorded but not delivered: the device asks again */
    a->status = 200;
    WARD_INFO("%s: issued %s certificate %s (%s)", device_id, p.id, serial,
              reenroll ? "simplereenroll" : "simpleenroll");
out:
    if (in_tx)
        ward_store_rollback(app->store);
    sqlite3_finalize(st);
    if (rc != 0) {
        ward_free(a->body);
        a->body = NULL;
        a->status = 0;
    }
    json_decref(doc);
    ward_free(der);
    X509_REQ_free(req);
    X509_NAME_free(subject);
    GENERAL_NAMES_free(sans);
    X509_free(cert);
    ward_free(hostname);
    ward_free(serial);
    ward_free(subj);
    ward_free(old);
    return rc;
}
