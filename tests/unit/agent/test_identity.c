/* SPDX-License-Identifier: Apache-2.0 */
/* Device identity storage: enrollment writes device.key (0600) and the rows; renewal
 * switches certificate and key file together (the two names alternate, the old key goes);
 * a certificate for another key or from another CA is refused; unenroll and
 * needs_reenrollment; status JSON carries the required keys. Certificates are issued here
 * with OpenSSL directly. */
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "agent/config.h"
#include "agent/identity.h"
#include "agent/session.h"
#include "agent/state.h"
#include "agent/status.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "wtest.h"

/* Issues a certificate for `subject_key` signed by `ca_key` (self-signed CA when equal). */
static char *issue(EVP_PKEY *subject_key, EVP_PKEY *ca_key, X509 *ca, const char *cn, int days)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    char *pem = NULL;
    WT_ASSERT(x && n);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + days);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : n);
    X509_set_pubkey(x, subject_key);
    if (!ca) {
        X509_EXTENSION *e =
            X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    WT_ASSERT(X509_sign(x, ca_key, EVP_sha256()) > 0);
    WT_OK(ward_x509_to_pem(x, &pem, NULL));
    X509_NAME_free(n);
    X509_free(x);
    return pem;
}

struct ca {
    EVP_PKEY *key;
    X509 *cert;
    char *pem;
};

static void ca_new(struct ca *c, const char *cn)
{
    WT_OK(ward_key_generate_p256(&c->key));
    c->pem = issue(c->key, c->key, NULL, cn, 30);
    WT_OK(ward_x509_parse(c->pem, strlen(c->pem), &c->cert));
}

static void ca_free(struct ca *c)
{
    EVP_PKEY_free(c->key);
    X509_free(c->cert);
    ward_free(c->pem);
}

static int exists(const char *rel)
{
    struct stat sb;
    return stat(wt_path(rel), &sb) == 0;
}

WT_TEST(enroll_renew_unenroll)
{
    struct agent_state *st = NULL;
    struct agent_identity id;
    struct ca ca;
    EVP_PKEY *k1 = NULL, *k2 = NULL, *k3 = NULL;
    uint8_t cmdkey[WARD_ED25519_PUB_LEN];
    char *c1, *c2, *c3, *pem = NULL;
    size_t len = 0;
    int64_t nb, na;
    struct stat sb;

    memset(cmdkey, 7, sizeof(cmdkey));
    ca_new(&ca, "Test CA");
    WT_OK(ward_key_generate_p256(&k1));
    WT_OK(ward_key_generate_p256(&k2));
    WT_OK(ward_key_generate_p256(&k3));
    c1 = issue(k1, ca.key, ca.cert, "d-1", 30);
    c2 = issue(k2, ca.key, ca.cert, "d-1", 60);
    c3 = issue(k3, ca.key, ca.cert, "d-1", 90);
    WT_OK(agent_identity_check_cert(c1, ca.pem, k1, &nb, &na));
    WT_ASSERT(na - nb > 29 * 86400);
    WT_EQ_ERR(agent_identity_check_cert(c1, ca.pem, k2, &nb, &na), WARD_EVERIFY);

    WT_OK(agent_state_open(wt_path("st"), &st));
    WT_EQ_INT(agent_identity_lifecycle(st), AGENT_NOT_ENROLLED);
    WT_EQ_ERR(agent_identity_load(st, &id), WARD_ENOENT);
    WT_OK(agent_identity_store_new(st, k1, "d-1", "https://h:1", c1, ca.pem, cmdkey, NULL));
    WT_EQ_INT(agent_identity_lifecycle(st), AGENT_ENROLLED);
    WT_EQ_INT(stat(wt_path("st/device.key"), &sb), 0);
    WT_EQ_INT(sb.st_mode & 0777, 0600);
    WT_OK(agent_identity_load(st, &id));
    WT_EQ_STR(id.device_id, "d-1");
    WT_EQ_STR(id.server_url, "https://h:1");
    WT_EQ_MEM(id.command_key, cmdkey, sizeof(cmdkey));
    WT_OK(agent_identity_key_pem(&id, &pem, &len));
    ward_free(pem);
    agent_identity_release(&id);

    /* Renewal: the key moves to the other name, the old file goes. */
    WT_OK(agent_identity_store_renewal(st, k2, c2, ca.pem));
    WT_ASSERT(exists("st/device.next.key") && !exists("st/device.key"));
    WT_OK(agent_identity_load(st, &id));
    WT_EQ_STR(id.cert_pem, c2);
    WT_CONTAINS(id.key_path, "device.next.key");
    {
        EVP_PKEY *loaded = NULL;
        int64_t a, b;
        WT_OK(ward_key_load_pem(id.key_path, &loaded));
        WT_OK(agent_identity_check_cert(id.cert_pem, id.ca_pem, loaded, &a, &b));
        EVP_PKEY_free(loaded);
    }
    agent_identity_release(&id);
    WT_OK(agent_identity_store_renewal(st, k3, c3, ca.pem));
    WT_ASSERT(exists("st/device.key") && !exists("st/device.next.key"));

    /* needs_reenrollment persists and shows in status; --force clears it. */
    WT_OK(agent_identity_set_needs_reenrollment(st, "revoked"));
    agent_state_close(st);
    WT_OK(agent_state_open(wt_path("st"), &st));
    WT_EQ_INT(agent_identity_lifecycle(st), AGENT_NEEDS_REENROLLMENT);
    {
        json_t *s = NULL;
        WT_OK(agent_status_collect(st, &s));
        WT_ASSERT(json_is_false(json_object_get(s, "enrolled")));
        WT_EQ_STR(json_string_value(json_object_get(s, "state")), "needs_reenrollment");
        WT_EQ_STR(json_string_value(json_object_get(s, "device_id")), "d-1");
        WT_EQ_STR(json_string_value(json_object_get(s, "reenroll_reason")), "revoked");
        WT_ASSERT(json_is_string(json_object_get(s, "cert_not_after")));
        WT_ASSERT(json_is_null(json_object_get(s, "last_checkin")));
        WT_CONTAINS(json_string_value(json_object_get(s, "hint")), "--force");
        json_decref(s);
    }
    /* --force over an identity whose key is device.key: the new one takes the other name. */
    WT_OK(agent_identity_store_new(st, k1, "d-2", "https://h:2", c1, ca.pem, cmdkey, NULL));
    WT_EQ_INT(agent_identity_lifecycle(st), AGENT_ENROLLED);
    WT_ASSERT(exists("st/device.next.key") && !exists("st/device.key"));

    WT_OK(agent_identity_delete(st));
    WT_EQ_INT(agent_identity_lifecycle(st), AGENT_NOT_ENROLLED);
    WT_ASSERT(!exists("st/device.key") && !exists("st/device.next.key"));
    {
        json_t *s = NULL;
        WT_OK(agent_status_collect(st, &s));
        WT_ASSERT(json_is_false(json_object_get(s, "enrolled")));
        WT_ASSERT(json_is_null(json_object_get(s, "device_id")));
        WT_ASSERT(json_is_null(json_object_get(s, "server")));
        WT_ASSERT(json_is_null(json_object_get(s, "cert_not_after")));
        json_decref(s);
    }
    agent_state_close(st);
    ward_free(c1);
    ward_free(c2);
    ward_free(c3);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    ca_free(&ca);
}

WT_TEST(foreign_ca_refused)
{
    struct ca ca, other;
    EVP_PKEY *k = NULL;
    char *c;
    int64_t nb, na;
    ca_new(&ca, "Test CA");
    ca_new(&other, "Other CA");
    WT_OK(ward_key_generate_p256(&k));
    c = issue(k, other.key, other.cert, "d-1", 30);
    WT_ASSERT(agent_identity_check_cert(c, ca.pem, k, &nb, &na) != 0);
    WT_EQ_ERR(agent_identity_check_cert("garbage", ca.pem, k, &nb, &na), WARD_EPARSE);
    ward_free(c);
    EVP_PKEY_free(k);
    ca_free(&ca);
    ca_free(&other);
}

static void on_session_closed(void *ctx)
{
    *(int *)ctx = 1;
}

/* Work begun for one identity is not sent under another (agent_session_serves, which the
 * inventory upload and the baseline sync ask after their off-loop part): the loaded
 * identity serves until the session reloads; after `enroll --force` and the reload only
 * the new one does. Real state database, real client (no request is made). */
WT_TEST(session_serves_one_identity)
{
    struct agent_state *st = NULL;
    struct agent_session *s = NULL;
    struct agent_config cfg;
    struct ca ca;
    EVP_PKEY *k1 = NULL, *k2 = NULL;
    uint8_t cmdkey[WARD_ED25519_PUB_LEN];
    char *c1, *c2;
    uv_loop_t loop;
    int closed = 0;

    memset(cmdkey, 7, sizeof(cmdkey));
    ca_new(&ca, "Test CA");
    WT_OK(ward_key_generate_p256(&k1));
    WT_OK(ward_key_generate_p256(&k2));
    c1 = issue(k1, ca.key, ca.cert, "d-1", 30);
    c2 = issue(k2, ca.key, ca.cert, "d-2", 30);
    WT_OK(agent_state_open(wt_path("st"), &st));
    WT_OK(agent_config_init(&cfg));
    WT_EQ_INT(uv_loop_init(&loop), 0);
    WT_OK(agent_session_new(&loop, st, &cfg, &s));
    WT_EQ_INT(agent_session_serves(s, "d-1"), 0); /* nothing loaded: serves nobody */

    WT_OK(agent_identity_store_new(st, k1, "d-1", "https://127.0.0.1:1", c1, ca.pem, cmdkey, NULL));
    WT_OK(agent_session_load(s, 1));
    WT_EQ_INT(agent_session_serves(s, "d-1"), 1);
    WT_EQ_INT(agent_session_serves(s, "d-2"), 0);
    WT_EQ_INT(agent_session_serves(s, NULL), 0);

    /* enroll --force as another device: the session still holds d-1 (its requests go out
     * with d-1's certificate) and says that the database changed */
    WT_OK(agent_identity_store_new(st, k2, "d-2", "https://127.0.0.1:1", c2, ca.pem, cmdkey, NULL));
    WT_EQ_INT(agent_session_identity_changed(s), 1);
    WT_EQ_INT(agent_session_serves(s, "d-1"), 1);
    /* the check-in's reload: from now on d-1's collected work is dropped */
    agent_session_teardown(s);
    WT_EQ_INT(agent_session_serves(s, "d-1"), 0); /* torn down: serves nobody */
    WT_OK(agent_session_load(s, 1));
    WT_EQ_INT(agent_session_serves(s, "d-1"), 0);
    WT_EQ_INT(agent_session_serves(s, "d-2"), 1);

    agent_session_close(s, on_session_closed, &closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(closed, 1);
    WT_EQ_INT(uv_loop_close(&loop), 0);
    agent_config_release(&cfg);
    agent_state_close(st);
    ward_free(c1);
    ward_free(c2);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    ca_free(&ca);
}
