/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device identity on disk. The private key is a file (0600 / SYSTEM-only); everything
 * else lives in the state database's meta table. The meta row "device_key" names the key
 * file that belongs to the certificate in "device_cert", and both change in one
 * transaction: renewal writes the new key under the other of two names (device.key,
 * device.next.key) first, so a crash before the commit leaves the old pair intact and a
 * crash after it leaves the new pair intact plus a stale file that the next renewal
 * overwrites.
 */
#define WARD_LOG_TAG "identity"

#include "agent/identity.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <uv.h>

#include "agent/authority.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

#define KEY_A "device.key"
#define KEY_B "device.next.key"
#define KEY_FILE_MAX (64 * 1024)

/* Identity rows; enrollment replaces all of them, unenroll deletes all of them. */
static const char *const identity_keys[] = {
    "device_id",
    "server_url",
    "device_cert",
    "ca_cert",
    "command_key",
    "device_key",
    "enrolled_at",
    AGENT_META_LIFECYCLE,
    AGENT_META_REENROLL_REASON,
    AGENT_META_LAST_CHECKIN,
    AGENT_META_NEXT_CHECKIN,
    AGENT_META_LAST_ERROR,
    AGENT_META_INTERVAL,
    AGENT_META_UNENROLL,
    "seq_high",
    AGENT_META_OWNERSHIP,
    AGENT_META_CAPABILITIES,
    AGENT_META_OFFLINE_KEY,
    "outbox_dropped_telemetry",
    "outbox_dropped_results",
    NULL,
};

static int join_path(const char *dir, const char *name, char **out)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = ward_malloc(n);
    if (!*out)
        return WARD_ENOMEM;
    snprintf(*out, n, "%s/%s", dir, name);
    return 0;
}

static int read_file(const char *path, size_t max, char **data, size_t *len)
{
    uv_fs_t req;
    uv_file fd;
    char *buf = NULL;
    size_t have = 0;
    int rc = 0;

    *data = NULL;
    fd = uv_fs_open(NULL, &req, path, UV_FS_O_RDONLY, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (fd < 0)
        return fd == UV_ENOENT ? WARD_ENOENT : fd == UV_EACCES ? WARD_EACCES : WARD_EIO;
    buf = ward_malloc(max + 1);
    if (!buf) {
        rc = WARD_ENOMEM;
        goto out;
    }
    for (;;) {
        uv_buf_t b = uv_buf_init(buf + have, (unsigned)(max + 1 - have));
        int n = uv_fs_read(NULL, &req, fd, &b, 1, -1, NULL);
        uv_fs_req_cleanup(&req);
        if (n < 0) {
            rc = WARD_EIO;
            goto out;
        }
        if (n == 0)
            break;
        have += (size_t)n;
        if (have > max) {
            rc = WARD_ETOOBIG;
            goto out;
        }
    }
    buf[have] = '\0';
    *data = buf;
    if (len)
        *len = have;
    buf = NULL;
out:
    uv_fs_close(NULL, &req, fd, NULL);
    uv_fs_req_cleanup(&req);
    if (buf) {
        memset(buf, 0, max + 1);
        ward_free(buf);
    }
    return rc;
}

const char *agent_lifecycle_name(enum agent_lifecycle l)
{
    switch (l) {
    case AGENT_ENROLLED:
        return "enrolled";
    case AGENT_NEEDS_REENROLLMENT:
        return "needs_reenrollment";
    default:
        return "not_enrolled";
    }
}

enum agent_lifecycle agent_identity_lifecycle(struct agent_state *st)
{
    char *v = NULL;
    enum agent_lifecycle l = AGENT_NOT_ENROLLED;
    if (!agent_state_enrolled(st))
        return AGENT_NOT_ENROLLED;
    l = AGENT_ENROLLED;
    if (agent_state_get(st, AGENT_META_LIFECYCLE, &v) == 0 && strcmp(v, "needs_reenrollment") == 0)
        l = AGENT_NEEDS_REENROLLMENT;
    ward_free(v);
    return l;
}

void agent_identity_release(struct agent_identity *id)
{
    if (!id)
        return;
    ward_free(id->device_id);
    ward_free(id->server_url);
    ward_free(id->cert_pem);
    ward_free(id->ca_pem);
    ward_free(id->key_path);
    memset(id, 0, sizeof(*id));
}

int agent_identity_load(struct agent_state *st, struct agent_identity *out)
{
    char *keyname = NULL, *cmdkey = NULL;
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    X509 *cert = NULL;
    time_t nb = 0, na = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = agent_state_get(st, "device_id", &out->device_id);
    if (rc == 0)
        rc = agent_state_get(st, "server_url", &out->server_url);
    if (rc == 0)
        rc = agent_state_get(st, "device_cert", &out->cert_pem);
    if (rc == 0)
        rc = agent_state_get(st, "ca_cert", &out->ca_pem);
    if (rc == 0)
        rc = agent_state_get(st, "device_key", &keyname);
    if (rc == 0)
        rc = agent_state_get(st, "command_key", &cmdkey);
    if (rc != 0)
        goto out;
    if (strcmp(keyname, KEY_A) != 0 && strcmp(keyname, KEY_B) != 0) {
        rc = WARD_ECORRUPT;
        goto out;
    }
    rc = join_path(agent_state_dir(st), keyname, &out->key_path);
    if (rc != 0)
        goto out;
    rc = ward_base64_decode(cmdkey, strlen(cmdkey), 0, &raw, &rawlen);
    if (rc != 0 || rawlen != WARD_ED25519_PUB_LEN) {
        rc = rc == WARD_ENOMEM ? rc : WARD_ECORRUPT;
        goto out;
    }
    memcpy(out->command_key, raw, rawlen);
    rc = ward_x509_parse(out->cert_pem, strlen(out->cert_pem), &cert);
    if (rc == 0)
        rc = ward_x509_validity(cert, &nb, &na);
    if (rc != 0) {
        rc = rc == WARD_ENOMEM ? rc : WARD_ECORRUPT;
        goto out;
    }
    out->not_before = (int64_t)nb;
    out->not_after = (int64_t)na;
out:
    X509_free(cert);
    ward_free(raw);
    ward_free(keyname);
    ward_free(cmdkey);
    if (rc != 0)
        agent_identity_release(out);
    return rc;
}

int agent_identity_key_pem(const struct agent_identity *id, char **pem, size_t *len)
{
    return read_file(id->key_path, KEY_FILE_MAX, pem, len);
}

int agent_identity_check_cert(const char *cert_pem, const char *ca_pem, EVP_PKEY *key,
                              int64_t *not_before, int64_t *not_after)
{
    X509 *cert = NULL, *ca = NULL;
    time_t nb = 0, na = 0;
    const char *reason = NULL;
    int rc;

    rc = ward_x509_parse(cert_pem, strlen(cert_pem), &cert);
    if (rc == 0)
        rc = ward_x509_parse(ca_pem, strlen(ca_pem), &ca);
    if (rc != 0) {
        rc = rc == WARD_ENOMEM ? rc : WARD_EPARSE;
        goto out;
    }
    if (X509_check_private_key(cert, key) != 1) {
        ward_crypto_log_errors("certificate does not match the key");
        rc = WARD_EVERIFY;
        goto out;
    }
    rc = ward_x509_verify(cert, NULL, ca, 0, &reason);
    if (rc != 0) {
        WARD_DEBUG("device certificate does not verify against the CA: %s", reason ? reason : "?");
        goto out;
    }
    rc = ward_x509_validity(cert, &nb, &na);
    if (rc == 0) {
        *not_before = (int64_t)nb;
        *not_after = (int64_t)na;
    }
out:
    X509_free(cert);
    X509_free(ca);
    return rc;
}

static int set_in_tx(struct agent_state *st, const char *k, const char *v, int rc)
{
    return rc != 0 ? rc : agent_state_set(st, k, v);
}

static int clear_rows(struct ward_store *s)
{
    int rc = ward_store_exec(s, "DELETE FROM commands; DELETE FROM outbox;");
    for (const char *const *k = identity_keys; rc == 0 && *k; k++) {
        sqlite3_stmt *stmt = NULL;
        rc = ward_store_prepare(s, "DELETE FROM meta WHERE key = ?1", &stmt);
        if (rc != 0)
            break;
        sqlite3_bind_text(stmt, 1, *k, -1, SQLITE_STATIC);
        rc = ward_store_step(s, stmt);
        sqlite3_finalize(stmt);
    }
    return rc;
}

int agent_identity_store_new(struct agent_state *st, EVP_PKEY *key, const char *device_id,
                             const char *server_url, const char *cert_pem, const char *ca_pem,
                             const uint8_t command_key[WARD_ED25519_PUB_LEN],
                             const struct agent_authority *auth)
{
    struct ward_store *s = agent_state_store(st);
    char *path = NULL, *other = NULL, *cur = NULL, *cmdkey = NULL, now[32];
    const char *name = KEY_A;
    int rc;

    /* Over an existing identity (--force) the new key goes under the name the current one
     * does not use, so a crash before the commit leaves the old pair intact. */
    if (agent_state_get(st, "device_key", &cur) == 0 && strcmp(cur, KEY_A) == 0)
        name = KEY_B;
    rc = join_path(agent_state_dir(st), name, &path);
    if (rc == 0)
        rc = join_path(agent_state_dir(st), strcmp(name, KEY_A) == 0 ? KEY_B : KEY_A, &other);
    if (rc == 0)
        rc = ward_base64_encode(command_key, WARD_ED25519_PUB_LEN, 0, &cmdkey);
    if (rc != 0)
        goto out;
    rc = ward_key_write_pem(key, path);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot write the device key to %s", path);
        goto out;
    }
    ward_time_iso(ward_time_now(), now, sizeof(now));
    rc = ward_store_begin(s);
    if (rc != 0)
        goto out;
    rc = clear_rows(s);
    rc = set_in_tx(st, "device_id", device_id, rc);
    rc = set_in_tx(st, "server_url", server_url, rc);
    rc = set_in_tx(st, "device_cert", cert_pem, rc);
    rc = set_in_tx(st, "ca_cert", ca_pem, rc);
    rc = set_in_tx(st, "command_key", cmdkey, rc);
    rc = set_in_tx(st, "device_key", name, rc);
    rc = set_in_tx(st, "enrolled_at", now, rc);
    rc = set_in_tx(st, "seq_high", "0", rc);
    if (rc == 0 && auth)
        rc = agent_authority_store(st, auth);
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0) {
        ward_store_rollback(s);
        goto out;
    }
    ward_os_remove(other); /* the previous identity's key, no longer referenced */
out:
    ward_free(path);
    ward_free(other);
    ward_free(cur);
    ward_free(cmdkey);
    return rc;
}

int agent_identity_store_renewal(struct agent_state *st, EVP_PKEY *key, const char *cert_pem,
                                 const char *ca_pem)
{
    struct ward_store *s = agent_state_store(st);
    char *cur = NULL, *newpath = NULL, *oldpath = NULL;
    const char *next;
    int rc;

    rc = agent_state_get(st, "device_key", &cur);
    if (rc != 0)
        return rc;
    next = strcmp(cur, KEY_A) == 0 ? KEY_B : KEY_A;
    rc = join_path(agent_state_dir(st), next, &newpath);
    if (rc == 0)
        rc = join_path(agent_state_dir(st), cur, &oldpath);
    if (rc != 0)
        goto out;
    rc = ward_key_write_pem(key, newpath);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot write the renewed device key to %s", newpath);
        goto out;
    }
    rc = ward_store_begin(s);
    rc = set_in_tx(st, "device_cert", cert_pem, rc);
    rc = set_in_tx(st, "ca_cert", ca_pem, rc);
    rc = set_in_tx(st, "device_key", next, rc);
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0) {
        ward_store_rollback(s);
        ward_os_remove(newpath);
        goto out;
    }
    ward_os_remove(oldpath);
out:
    ward_free(cur);
    ward_free(newpath);
    ward_free(oldpath);
    return rc;
}

int agent_identity_delete(struct agent_state *st)
{
    struct ward_store *s = agent_state_store(st);
    const char *names[] = {KEY_A, KEY_B};
    int rc = ward_store_begin(s);
    if (rc == 0)
        rc = clear_rows(s);
    if (rc == 0)
        rc = ward_store_commit(s);
    if (rc != 0) {
        ward_store_rollback(s);
        return rc;
    }
    for (size_t i = 0; i < 2; i++) {
        char *p = NULL;
        if (join_path(agent_state_dir(st), names[i], &p) == 0)
            ward_os_remove(p);
        ward_free(p);
    }
    return 0;
}

int agent_identity_set_needs_reenrollment(struct agent_state *st, const char *reason)
{
    int rc = agent_state_set(st, AGENT_META_LIFECYCLE, "needs_reenrollment");
    if (rc == 0)
        rc = agent_state_set(st, AGENT_META_REENROLL_REASON, reason);
    return rc;
}
