/* SPDX-License-Identifier: Apache-2.0 */
/* The offline administrator key and signed command requests (server/offline.h). */
#define WARD_LOG_TAG "srv-offline"

#include "server/offline.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "server/app.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

#define DOC_MAX (96 * 1024)

int srv_offline_fingerprint(const uint8_t pub[WARD_ED25519_PUB_LEN], char *out, size_t outlen)
{
    uint8_t h[WARD_SHA256_LEN];
    int rc = ward_sha256(pub, WARD_ED25519_PUB_LEN, h);
    return rc ? rc : ward_hex_encode(h, sizeof(h), out, outlen);
}

int srv_offline_key_create(struct srv_app *app, const char *path, const char *pass,
                           const char *label, char *fp, size_t fplen)
{
    EVP_PKEY *key = NULL;
    uint8_t pub[WARD_ED25519_PUB_LEN];
    sqlite3_stmt *st = NULL;
    char *b64 = NULL;
    int64_t now = srv_now();
    int rc, in_tx = 0;

    struct stat sb;

    if (lstat(path, &sb) == 0)
        return WARD_EEXIST;
    if ((rc = ward_ed25519_generate(&key)) != 0 || (rc = ward_ed25519_public_raw(key, pub)) != 0 ||
        (rc = srv_offline_fingerprint(pub, fp, fplen)) != 0 ||
        (rc = ward_base64_encode(pub, sizeof(pub), 0, &b64)) != 0)
        goto out;
    /* The file first: a key recorded but never written would lock destructive commands out
     * for every device that pins it. */
    if ((rc = ward_key_write_pem_passphrase(key, path, pass)) != 0)
        goto out;
    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    in_tx = 1;
    rc = ward_store_prepare(
        app->store, "UPDATE offline_keys SET retired_at = ?1 WHERE retired_at IS NULL", &st);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, now);
        rc = ward_store_step(app->store, st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == 0)
        rc = ward_store_prepare(app->store,
                                "INSERT INTO offline_keys(fingerprint, public_key, label,"
                                " created_at) VALUES (?1, ?2, ?3, ?4)",
                                &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b64, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        rc = ward_store_step(app->store, st);
    }
    if (rc == 0)
        rc = srv_event(app, "offline_key_create", NULL, NULL, fp);
    if (rc == 0 && (rc = ward_store_commit(app->store)) == 0)
        in_tx = 0;
out:
    if (in_tx)
        ward_store_rollback(app->store);
    if (rc != 0 && lstat(path, &sb) == 0)
        WARD_WARN("the key file %s was written but not recorded; delete it", path);
    sqlite3_finalize(st);
    EVP_PKEY_free(key);
    ward_free(b64);
    return rc;
}

int srv_offline_key_current(struct srv_app *app, char **pub_b64, char *fp, size_t fplen)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *pub_b64 = NULL;
    rc = ward_store_prepare(app->store,
                            "SELECT public_key, fingerprint FROM offline_keys WHERE retired_at IS"
                            " NULL ORDER BY created_at DESC LIMIT 1",
                            &st);
    if (rc != 0)
        return rc;
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        *pub_b64 = ward_strdup((const char *)sqlite3_column_text(st, 0));
        snprintf(fp, fplen, "%s", (const char *)sqlite3_column_text(st, 1));
        rc = *pub_b64 ? 0 : WARD_ENOMEM;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(st);
    return rc;
}

int srv_offline_key_list(struct srv_app *app, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT fingerprint, label, created_at, retired_at FROM offline_keys"
                            " ORDER BY created_at",
                            &st);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        char created[32], retired[32] = "";
        srv_time_iso(sqlite3_column_int64(st, 2), created, sizeof(created));
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            srv_time_iso(sqlite3_column_int64(st, 3), retired, sizeof(retired));
        json_t *k = json_pack("{s:s, s:s?, s:s, s:s?}", "fingerprint", sqlite3_column_text(st, 0),
                              "label", sqlite3_column_text(st, 1), "created_at", created,
                              "retired_at", retired[0] ? retired : NULL);
        if (!k || json_array_append_new(arr, k) != 0) {
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

int srv_offline_request_new(const char *command_id, const char *device_id, const char *type,
                            const json_t *params, int64_t not_after, json_t **out)
{
    char na[32], *text = NULL, *b64 = NULL;
    size_t len = 0;
    json_t *doc;
    int rc;

    *out = NULL;
    ward_time_iso(not_after, na, sizeof(na));
    doc = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s}", "purpose", SRV_OFFLINE_PURPOSE, "command_id",
                    command_id, "device_id", device_id, "type", type, "params", params, "not_after",
                    na);
    if (!doc)
        return WARD_ENOMEM;
    if ((rc = ward_json_dumps(doc, WARD_JSON_SORT_KEYS, &text, &len)) != 0 ||
        (rc = ward_base64_encode(text, len, 0, &b64)) != 0)
        goto out;
    /* The summary is for the person signing; the device only trusts the document. */
    *out =
        json_pack("{s:s, s:s, s:O}", "format", SRV_OFFLINE_FORMAT, "document", b64, "summary", doc);
    rc = *out ? 0 : WARD_ENOMEM;
out:
    json_decref(doc);
    ward_free(text);
    ward_free(b64);
    return rc;
}

/* The document's bytes and their parsed form, from a request of the right format. */
static int request_document(const json_t *req, uint8_t **raw, size_t *rawlen, json_t **doc,
                            char *msg, size_t msglen)
{
    static const char *const keys[] = {"purpose", "command_id", "device_id", "type",
                                       "params",  "not_after",  NULL};
    const char *fmt = NULL, *b64 = NULL, *purpose = NULL;

    *raw = NULL;
    *doc = NULL;
    if (!json_is_object(req) ||
        ward_json_get_str(req, NULL, "format", WARD_JSON_REQUIRED, &fmt, NULL) != 0 ||
        strcmp(fmt, SRV_OFFLINE_FORMAT) != 0 ||
        ward_json_get_str(req, NULL, "document", WARD_JSON_REQUIRED, &b64, NULL) != 0 ||
        strlen(b64) > DOC_MAX) {
        snprintf(msg, msglen, "not a %s request file", SRV_OFFLINE_FORMAT);
        return WARD_EPARSE;
    }
    if (ward_base64_decode(b64, strlen(b64), 0, raw, rawlen) != 0 ||
        ward_json_loadb((const char *)*raw, *rawlen, NULL, doc, NULL) != 0 ||
        !json_is_object(*doc) || ward_json_check_keys(*doc, NULL, keys, NULL) != 0 ||
        ward_json_get_str(*doc, NULL, "purpose", WARD_JSON_REQUIRED, &purpose, NULL) != 0 ||
        strcmp(purpose, SRV_OFFLINE_PURPOSE) != 0 ||
        !json_is_object(json_object_get(*doc, "params"))) {
        snprintf(msg, msglen, "the request's document is malformed");
        ward_free(*raw);
        json_decref(*doc);
        *raw = NULL;
        *doc = NULL;
        return WARD_EPARSE;
    }
    return 0;
}

int srv_offline_request_sign(json_t *req, EVP_PKEY *key, char *msg, size_t msglen)
{
    uint8_t *raw = NULL, sig[WARD_ED25519_SIG_LEN], pub[WARD_ED25519_PUB_LEN];
    char fp[SRV_OFFLINE_FP_LEN + 1], *s64 = NULL;
    size_t rawlen = 0;
    json_t *doc = NULL;
    int rc;

    if ((rc = request_document(req, &raw, &rawlen, &doc, msg, msglen)) != 0)
        return rc;
    if ((rc = ward_ed25519_public_raw(key, pub)) != 0 ||
        (rc = srv_offline_fingerprint(pub, fp, sizeof(fp))) != 0 ||
        (rc = ward_ed25519_sign(key, raw, rawlen, sig)) != 0 ||
        (rc = ward_base64_encode(sig, sizeof(sig), 0, &s64)) != 0) {
        snprintf(msg, msglen, "cannot sign: %s (is the key an Ed25519 key?)", ward_strerror(rc));
        goto out;
    }
    /* The summary is replaced by what was actually signed. */
    if (json_object_set(req, "summary", doc) != 0 ||
        json_object_set_new(req, "signature", json_string(s64)) != 0 ||
        json_object_set_new(req, "key", json_string(fp)) != 0)
        rc = WARD_ENOMEM;
out:
    ward_free(raw);
    ward_free(s64);
    json_decref(doc);
    return rc;
}

void srv_offline_auth_release(struct srv_offline_auth *a)
{
    json_decref(a->params);
    json_decref(a->authorization);
    a->params = NULL;
    a->authorization = NULL;
}

int srv_offline_request_open(struct srv_app *app, const json_t *req, struct srv_offline_auth *out,
                             char *msg, size_t msglen)
{
    uint8_t *raw = NULL, *sig = NULL, *pub = NULL;
    size_t rawlen = 0, siglen = 0, publen = 0;
    const char *sig64 = NULL, *fp = NULL, *s = NULL;
    sqlite3_stmt *st = NULL;
    json_t *doc = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = request_document(req, &raw, &rawlen, &doc, msg, msglen)) != 0)
        return rc;
    rc = WARD_EVERIFY;
    if (ward_json_get_str(req, NULL, "signature", WARD_JSON_REQUIRED, &sig64, NULL) != 0 ||
        ward_json_get_str(req, NULL, "key", WARD_JSON_REQUIRED, &fp, NULL) != 0) {
        snprintf(msg, msglen, "the request is not signed (run ward-server command sign on it)");
        goto out;
    }
    if (ward_base64_decode(sig64, strlen(sig64), 0, &sig, &siglen) != 0 ||
        siglen != WARD_ED25519_SIG_LEN) {
        snprintf(msg, msglen, "the request's signature is malformed");
        goto out;
    }
    if ((rc = ward_store_prepare(
             app->store, "SELECT public_key FROM offline_keys WHERE fingerprint = ?1", &st)) != 0)
        goto out;
    sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc != WARD_STORE_ROW) {
        snprintf(msg, msglen,
                 "the request was signed by key %.16s..., which this service does"
                 " not know",
                 fp);
        rc = rc == 0 ? WARD_EVERIFY : rc;
        goto out;
    }
    s = (const char *)sqlite3_column_text(st, 0);
    if (ward_base64_decode(s, strlen(s), 0, &pub, &publen) != 0 || publen != WARD_ED25519_PUB_LEN ||
        ward_ed25519_verify(pub, raw, rawlen, sig) != 0) {
        snprintf(msg, msglen, "the request's signature does not verify");
        rc = WARD_EVERIFY;
        goto out;
    }
    rc = WARD_EPARSE;
    snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", fp);
    if (ward_json_get_str(doc, NULL, "command_id", WARD_JSON_REQUIRED, &s, NULL) != 0 ||
        snprintf(out->command_id, sizeof(out->command_id), "%s", s) >=
            (int)sizeof(out->command_id) ||
        ward_json_get_str(doc, NULL, "device_id", WARD_JSON_REQUIRED, &s, NULL) != 0 ||
        snprintf(out->device_id, sizeof(out->device_id), "%s", s) >= (int)sizeof(out->device_id) ||
        ward_json_get_str(doc, NULL, "type", WARD_JSON_REQUIRED, &s, NULL) != 0 ||
        snprintf(out->type, sizeof(out->type), "%s", s) >= (int)sizeof(out->type) ||
        ward_json_get_str(doc, NULL, "not_after", WARD_JSON_REQUIRED, &s, NULL) != 0 ||
        ward_time_parse_iso(s, &out->not_after) != 0) {
        snprintf(msg, msglen, "the request's document is malformed");
        goto out;
    }
    /* The id the service itself would have made (prepare made it): "c-" and 24 hex digits. */
    if (strlen(out->command_id) != 26 || strncmp(out->command_id, "c-", 2) != 0 ||
        strspn(out->command_id + 2, "0123456789abcdef") != 24) {
        snprintf(msg, msglen, "the request's command id is malformed");
        goto out;
    }
    out->params = json_incref(json_object_get(doc, "params"));
    out->authorization =
        json_pack("{s:O, s:s}", "document", json_object_get(req, "document"), "signature", sig64);
    rc = out->authorization ? 0 : WARD_ENOMEM;
out:
    sqlite3_finalize(st);
    json_decref(doc);
    ward_free(raw);
    ward_free(sig);
    ward_free(pub);
    if (rc != 0)
        srv_offline_auth_release(out);
    return rc;
}
