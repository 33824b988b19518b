/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client_cert kind in a scratch root, with this test as the embedder: its est hook is a
 * small issuer made here with OpenSSL (a test CA that signs the key of each request), and
 * it can answer the way a hostile or broken service would: a certificate from another CA,
 * for another key, 10,000 certificates, bytes that are not PKCS#7, a refusal. The real
 * service and the agent's session are covered by tests/integration/test_client_cert.py;
 * this file covers every branch of the kind: enrollment, the files and their modes,
 * idempotence and the recheck time, renewal (simplereenroll, same key), the expired and
 * foreign-certificate paths (simpleenroll), key-mode drift without an exchange, nothing
 * written on any refusal, absent, removal from the journal, no key in the journal, and the
 * wifi binding's validation.
 */
#include "enf_test.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/store.h"

#define DIR_ "/var/lib/ward/certs/c"
#define KEY DIR_ "/key.pem"
#define CERT DIR_ "/cert.pem"
#define CHAIN DIR_ "/chain.pem"
#define MARK DIR_ "/ward-profile"

enum mode { M_OK, M_OTHER_CA, M_OTHER_KEY, M_HUGE, M_GARBAGE, M_REFUSE };

struct issuer {
    EVP_PKEY *ca_key, *other_key;
    X509 *ca, *other;
    enum mode mode;
    long nb, na; /* validity of issued certificates, seconds from now */
    int calls;   /* enroll calls */
    char last_op[32];
};

static X509 *make_cert(EVP_PKEY *pub, const char *cn, int ca, long nb, long na, X509 *issuer,
                       EVP_PKEY *ikey)
{
    static long serial = 100;
    X509 *x = X509_new();
    X509_NAME *n;
    X509V3_CTX c;
    X509_EXTENSION *e;
    WT_ASSERT(x != NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), nb);
    X509_gmtime_adj(X509_getm_notAfter(x), na);
    X509_set_pubkey(x, pub);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509V3_set_ctx_nodb(&c);
    X509V3_set_ctx(&c, issuer ? issuer : x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &c, NID_basic_constraints,
                            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    WT_ASSERT(e && X509_add_ext(x, e, -1) == 1);
    X509_EXTENSION_free(e);
    WT_ASSERT(X509_sign(x, ikey, EVP_sha256()) > 0);
    return x;
}

static void issuer_init(struct issuer *is)
{
    memset(is, 0, sizeof(*is));
    WT_OK(ward_key_generate_p256(&is->ca_key));
    WT_OK(ward_key_generate_p256(&is->other_key));
    is->ca = make_cert(is->ca_key, "Test Issuing CA", 1, -3600, 86400, NULL, is->ca_key);
    is->other = make_cert(is->other_key, "Other CA", 1, -3600, 86400, NULL, is->other_key);
    is->nb = -300;
    is->na = 3600;
}

static void issuer_release(struct issuer *is)
{
    EVP_PKEY_free(is->ca_key);
    EVP_PKEY_free(is->other_key);
    X509_free(is->ca);
    X509_free(is->other);
}

static int answer(X509 *const *certs, size_t n, char **out, size_t *len)
{
    return ward_pkcs7_certs_b64(certs, n, out, len);
}

static int est(void *ctx, const char *profile, const char *op, const char *body, size_t len,
               char **out, size_t *olen, char *why, size_t whylen)
{
    struct issuer *is = ctx;
    uint8_t *der = NULL;
    size_t dlen = 0;
    X509_REQ *req = NULL;
    X509 *leaf = NULL;
    int rc;

    WT_EQ_STR(profile, "users");
    if (strcmp(op, "cacerts") == 0)
        return answer(&is->ca, 1, out, olen);
    is->calls++;
    snprintf(is->last_op, sizeof(is->last_op), "%s", op);
    if (is->mode == M_REFUSE) {
        snprintf(why, whylen, "the service refused it (HTTP 403: not allowed)");
        return WARD_EHTTP;
    }
    if (is->mode == M_GARBAGE) {
        *out = ward_strdup("aGVsbG8gd29ybGQ=\n");
        *olen = strlen(*out);
        return 0;
    }
    WT_OK(ward_base64_decode_lines(body, len, &der, &dlen));
    WT_OK(ward_csr_parse(der, dlen, &req));
    ward_free(der);
    if (is->mode == M_HUGE) {
        X509 **many = ward_calloc(10000, sizeof(*many));
        WT_ASSERT(many != NULL);
        leaf = make_cert(ward_csr_pubkey(req), "device", 0, is->nb, is->na, is->ca, is->ca_key);
        for (size_t i = 0; i < 10000; i++)
            many[i] = leaf;
        rc = answer(many, 10000, out, olen);
        ward_free(many);
    } else {
        leaf = make_cert(is->mode == M_OTHER_KEY ? is->other_key : ward_csr_pubkey(req), "device",
                         0, is->nb, is->na, is->mode == M_OTHER_CA ? is->other : is->ca,
                         is->mode == M_OTHER_CA ? is->other_key : is->ca_key);
        rc = answer(&leaf, 1, out, olen);
    }
    X509_free(leaf);
    X509_REQ_free(req);
    return rc;
}

static const char *DOC = "{\"id\": \"b\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
                         "{\"id\": \"c\", \"kind\": \"client_cert\", \"profile\": \"users\","
                         " \"restore_on_removal\": true}]}";

static struct enf_report *run_with(const struct enf_baseline *b, struct issuer *is,
                                   struct ward_store *j)
{
    static struct enf_hooks h;
    memset(&h, 0, sizeof(h));
    h.est = est;
    h.ctx = is;
    return et_run(b, ENF_RUN_APPLY, j, &h);
}

static char *pub_pem_of_key_file(const char *rel)
{
    EVP_PKEY *k = NULL;
    char *pem = NULL, *data = et_get(rel);
    size_t len;
    WT_ASSERT(data != NULL);
    WT_OK(ward_key_from_pem(data, strlen(data), &k));
    WT_OK(ward_pubkey_to_pem(k, &pem, &len));
    EVP_PKEY_free(k);
    return pem;
}

static char *serial_of(const char *rel)
{
    X509 *x = NULL;
    char *s = NULL, *data = et_get(rel);
    WT_ASSERT(data != NULL);
    WT_OK(ward_x509_parse(data, strlen(data), &x));
    WT_OK(ward_x509_serial_hex(x, &s));
    X509_free(x);
    return s;
}

static void set_received(long long t)
{
    char m[64];
    snprintf(m, sizeof(m), "users\n%lld\n", t);
    et_put(MARK, m);
}

WT_TEST(enroll_files_idempotent_recheck)
{
    struct issuer is;
    struct enf_baseline *b = et_doc(DOC);
    struct enf_report *r;
    const struct enf_outcome *o;
    struct stat st;
    char *pub;
    int64_t mt;

    issuer_init(&is);
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    o = et_outcome(r, "c");
    /* 1 h from issue (backdated 5 min): due from 2/3 of the hour since it was received */
    WT_ASSERT(o->recheck_at >= (int64_t)time(NULL) + 2390 &&
              o->recheck_at <= (int64_t)time(NULL) + 2400 + 360);
    WT_CONTAINS(o->actual, "renewal from");
    enf_report_free(r);
    WT_EQ_INT(is.calls, 1);
    WT_EQ_STR(is.last_op, "simpleenroll");
    WT_EQ_INT(et_mode(KEY), 0600);
    WT_EQ_INT(et_mode(CERT), 0644);
    WT_EQ_INT(et_mode(CHAIN), 0644);
    WT_OK(stat(et_host(KEY), &st));
    WT_EQ_INT(st.st_uid, 0);
    WT_CONTAINS(et_get(KEY), "-----BEGIN PRIVATE KEY-----");
    WT_CONTAINS(et_get(CHAIN), "-----BEGIN CERTIFICATE-----");
    WT_ASSERT(strncmp(et_get(MARK), "users\n", 6) == 0);
    pub = pub_pem_of_key_file(KEY);
    {
        X509 *x = NULL;
        char *cp = NULL;
        size_t n;
        const char *c = et_get(CERT);
        WT_OK(ward_x509_parse(c, strlen(c), &x));
        WT_OK(ward_pubkey_to_pem(X509_get0_pubkey(x), &cp, &n));
        WT_EQ_STR(cp, pub);
        ward_free(cp);
        X509_free(x);
    }
    mt = et_mtime(CERT);
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_KEPT);
    WT_ASSERT(et_outcome(r, "c")->recheck_at > (int64_t)time(NULL));
    enf_report_free(r);
    WT_EQ_INT(is.calls, 1);
    WT_EQ_INT(et_mtime(CERT), mt);

    /* key mode drift: repaired without asking the service */
    WT_OK(plat_fs_chmod(et_root(), KEY, strlen(KEY), 0644));
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_INT(is.calls, 1);
    WT_EQ_INT(et_mode(KEY), 0600);
    ward_free(pub);
    enf_baseline_free(b);
    issuer_release(&is);
}

WT_TEST(renewal_keeps_key_expired_enrolls_afresh)
{
    struct issuer is;
    struct enf_baseline *b = et_doc(DOC);
    struct enf_report *r;
    char *pub, *pub2, *s1, *s2;

    issuer_init(&is);
    is.na = 60; /* a minute, backdated by 5: due 40 to 46 s after it was received */
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    pub = pub_pem_of_key_file(KEY);
    s1 = serial_of(CERT);

    /* as if received 250 s ago (after its notBefore): 2/3 of 310 s (plus at most 1/10)
     * have passed */
    set_received((long long)time(NULL) - 250);
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(is.last_op, "simplereenroll");
    pub2 = pub_pem_of_key_file(KEY);
    WT_EQ_STR(pub2, pub);
    s2 = serial_of(CERT);
    WT_ASSERT(strcmp(s1, s2) != 0);
    ward_free(pub2);

    /* expired: the issuer hands out one that is already over, then a good one */
    is.nb = -7200;
    is.na = -3600;
    set_received((long long)time(NULL) - 250);
    r = run_with(b, &is, NULL); /* renewal gives an expired certificate: refused */
    ET_RESULT(r, "c", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "c")->error, "does not chain to its EST CA");
    WT_ASSERT(et_outcome(r, "c")->recheck_at > (int64_t)time(NULL));
    enf_report_free(r);
    {
        char *s3 = serial_of(CERT);
        WT_EQ_STR(s3, s2); /* nothing written */
        ward_free(s3);
    }
    /* now put an expired certificate for the key in place, as if it ran out */
    {
        EVP_PKEY *k = NULL;
        char *kp = et_get(KEY), *pem = NULL;
        size_t n;
        X509 *x;
        WT_OK(ward_key_from_pem(kp, strlen(kp), &k));
        x = make_cert(k, "device", 0, -7200, -60, is.ca, is.ca_key);
        WT_OK(ward_x509_to_pem(x, &pem, &n));
        et_put(CERT, pem);
        ward_free(pem);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    is.nb = -300;
    is.na = 3600;
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(is.last_op, "simpleenroll");
    pub2 = pub_pem_of_key_file(KEY);
    WT_EQ_STR(pub2, pub); /* the device's key is kept */
    ward_free(pub2);

    /* another profile's marker: enrolled afresh for this one */
    et_put(MARK, "other\n1\n");
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(is.last_op, "simpleenroll");
    WT_ASSERT(strncmp(et_get(MARK), "users\n", 6) == 0);

    ward_free(pub);
    ward_free(s1);
    ward_free(s2);
    enf_baseline_free(b);
    issuer_release(&is);
}

/* Each hostile answer fails the setting with its reason and writes nothing. */
WT_TEST(hostile_answers_write_nothing)
{
    static const struct {
        enum mode mode;
        const char *why;
    } cases[] = {
        {M_OTHER_CA, "does not chain to its EST CA"},
        {M_OTHER_KEY, "no certificate for the key sent"},
        {M_HUGE, "more than 16 certificates"},
        {M_GARBAGE, "not a base64 certs-only PKCS#7"},
        {M_REFUSE, "HTTP 403: not allowed"},
    };
    struct enf_baseline *b = et_doc(DOC);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct issuer is;
        struct enf_report *r;
        struct plat_fs_info info;
        issuer_init(&is);
        is.mode = cases[i].mode;
        r = run_with(b, &is, NULL);
        ET_RESULT(r, "c", ENF_FAILED);
        WT_CONTAINS(et_outcome(r, "c")->error, cases[i].why);
        WT_ASSERT(et_outcome(r, "c")->recheck_at > (int64_t)time(NULL));
        enf_report_free(r);
        WT_EQ_ERR(plat_fs_stat(et_root(), DIR_, strlen(DIR_), PLAT_FS_NOFOLLOW, &info),
                  WARD_ENOENT);
        issuer_release(&is);
    }
    enf_baseline_free(b);
}

WT_TEST(no_est_hook_is_enotsup)
{
    struct enf_baseline *b = et_doc(DOC);
    struct enf_report *r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "c", ENF_FAILED);
    WT_EQ_ERR(et_outcome(r, "c")->err, WARD_ENOTSUP);
    WT_CONTAINS(et_outcome(r, "c")->error, "needs the agent's session with the service");
    enf_report_free(r);
    enf_baseline_free(b);
}

WT_TEST(journal_has_no_key_and_removal_cleans_up)
{
    struct issuer is;
    struct enf_baseline *b = et_doc(DOC);
    struct ward_store *j = et_journal();
    struct enf_report *r;
    struct plat_fs_info info;
    sqlite3_stmt *q = NULL;

    issuer_init(&is);
    WT_OK(plat_fs_mkdir_p(et_root(), "/var/lib/ward/certs", 19, 0755));
    r = run_with(b, &is, j);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    WT_OK(ward_store_prepare(j, "SELECT snapshot FROM enf_journal", &q));
    WT_EQ_INT(ward_store_step(j, q), WARD_STORE_ROW);
    WT_ASSERT(strstr((const char *)sqlite3_column_text(q, 0), "PRIVATE KEY") == NULL);
    WT_CONTAINS((const char *)sqlite3_column_text(q, 0), "\"key\":false");
    sqlite3_finalize(q);
    {
        struct enf_run_opts o = {.root = et_root(), .journal = j};
        WT_OK(enf_baseline_remove("b", &o, &r));
    }
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_ERR(plat_fs_stat(et_root(), DIR_, strlen(DIR_), PLAT_FS_NOFOLLOW, &info), WARD_ENOENT);
    WT_OK(plat_fs_stat(et_root(), "/var/lib/ward/certs", 19, PLAT_FS_NOFOLLOW, &info));
    ward_store_close(j);
    enf_baseline_free(b);
    issuer_release(&is);
}

WT_TEST(absent_removes)
{
    struct issuer is;
    struct enf_baseline *b = et_doc(DOC), *gone;
    struct enf_report *r;
    struct plat_fs_info info;
    issuer_init(&is);
    r = run_with(b, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    gone = et_doc("{\"id\": \"b\", \"version\": 2, \"mode\": \"enforce\", \"settings\": ["
                  "{\"id\": \"c\", \"kind\": \"client_cert\", \"profile\": \"users\","
                  " \"state\": \"absent\"}]}");
    r = run_with(gone, &is, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_ERR(plat_fs_stat(et_root(), DIR_, strlen(DIR_), PLAT_FS_NOFOLLOW, &info), WARD_ENOENT);
    r = run_with(gone, &is, NULL);
    ET_RESULT(r, "c", ENF_KEPT);
    enf_report_free(r);
    enf_baseline_free(gone);
    enf_baseline_free(b);
    issuer_release(&is);
}

WT_TEST(validation_and_wifi_binding)
{
    int rc;
    const char *e;
    struct enf_baseline *b;
    struct enf_report *r;
    struct issuer is;
    char *f;

    e = et_doc_errors("{\"id\": \"b\", \"version\": 1, \"settings\": [{\"id\": \"c\", \"kind\":"
                      " \"client_cert\", \"profile\": \"../x\"}]}",
                      &rc);
    WT_EQ_INT(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$.settings[0].profile: must be 1 to 64 of");
    e = et_doc_errors("{\"id\": \"b\", \"version\": 1, \"settings\": [{\"id\": \"w\", \"kind\":"
                      " \"wifi\", \"name\": \"n\", \"ssid\": \"s\", \"security\":"
                      " \"wpa2-enterprise\", \"eap\": \"tls\", \"ca_cert_path\": \"/ca.pem\","
                      " \"client_cert\": \"nope\"}]}",
                      &rc);
    WT_EQ_INT(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$.settings[0].client_cert: no setting \"nope\" in this baseline");
    e = et_doc_errors("{\"id\": \"b\", \"version\": 1, \"settings\": [{\"id\": \"w\", \"kind\":"
                      " \"wifi\", \"name\": \"n\", \"ssid\": \"s\", \"security\":"
                      " \"wpa2-enterprise\", \"eap\": \"tls\", \"ca_cert_path\": \"/ca.pem\","
                      " \"client_cert\": \"m\"}, {\"id\": \"m\", \"kind\": \"line\", \"path\":"
                      " \"/etc/motd\", \"line\": \"x\"}]}",
                      &rc);
    WT_EQ_INT(rc, WARD_EPARSE);
    WT_CONTAINS(e, "setting \"m\" is a line, not a client_cert");
    e = et_doc_errors("{\"id\": \"b\", \"version\": 1, \"settings\": [{\"id\": \"w\", \"kind\":"
                      " \"wifi\", \"name\": \"n\", \"ssid\": \"s\", \"security\":"
                      " \"wpa2-enterprise\", \"eap\": \"tls\", \"ca_cert_path\": \"/ca.pem\","
                      " \"client_cert\": \"c\", \"client_cert_path\": \"/x.pem\"},"
                      " {\"id\": \"c\", \"kind\": \"client_cert\", \"profile\": \"users\"}]}",
                      &rc);
    WT_EQ_INT(rc, WARD_EPARSE);
    WT_CONTAINS(e, "give either client_cert or client_cert_path");

    /* bound (the client_cert after the wifi: order does not matter), in its directory */
    b = et_doc("{\"id\": \"b\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"w\", \"kind\": \"wifi\", \"name\": \"Corp\", \"ssid\": \"s\","
               " \"security\": \"wpa2-enterprise\", \"eap\": \"tls\", \"identity\": \"d\","
               " \"ca_cert_path\": \"/ca.pem\", \"client_cert\": \"c\"},"
               "{\"id\": \"c\", \"kind\": \"client_cert\", \"profile\": \"users\","
               " \"directory\": \"/etc/ward-certs/wifi\"},"
               "{\"id\": \"v\", \"kind\": \"vpn\", \"type\": \"openvpn\", \"name\": \"Corp VPN\","
               " \"remote\": \"vpn.example.com:1194\", \"ca_cert_path\": \"/ca.pem\","
               " \"client_cert\": \"c\"}]}");
    issuer_init(&is);
    r = run_with(b, &is, NULL);
    et_all(r, ENF_REPAIRED);
    enf_report_free(r);
    f = et_get("/etc/NetworkManager/system-connections/ward-Corp.nmconnection");
    WT_ASSERT(f != NULL);
    WT_CONTAINS(f, "client-cert=/etc/ward-certs/wifi/cert.pem\n");
    WT_CONTAINS(f, "private-key=/etc/ward-certs/wifi/key.pem\n");
    WT_CONTAINS(et_get("/etc/ward-certs/wifi/key.pem"), "PRIVATE KEY");
    f = NULL;
    {
        /* "Corp VPN" is reduced in the file name, with a hash of the name after it */
        DIR *dh = opendir(et_host("/etc/NetworkManager/system-connections"));
        struct dirent *de;
        char rel[512];
        WT_ASSERT(dh != NULL);
        while ((de = readdir(dh)) != NULL)
            if (strncmp(de->d_name, "ward-Corp_VPN", 13) == 0) {
                snprintf(rel, sizeof(rel), "/etc/NetworkManager/system-connections/%s", de->d_name);
                f = et_get(rel);
            }
        closedir(dh);
    }
    WT_ASSERT(f != NULL);
    WT_CONTAINS(f, "cert=/etc/ward-certs/wifi/cert.pem\n");
    WT_CONTAINS(f, "key=/etc/ward-certs/wifi/key.pem\n");
    enf_baseline_free(b);
    issuer_release(&is);
}
