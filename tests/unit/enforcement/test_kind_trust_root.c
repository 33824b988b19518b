/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust_root kind in a scratch root laid out like Debian's ca-certificates (one
 * "distribution" CA listed in etc/ca-certificates.conf): this host's real
 * update-ca-certificates rebuilds the scratch bundle (its directory options pointed into
 * the root, hooks off), and the openssl command line, which Ward did not write, verifies a
 * leaf against that bundle after apply and fails to after removal. Idempotence is watched
 * through the bundle's mtime. The certificates are made here with OpenSSL (a CA, a leaf, a
 * non-CA, an expired and a not-yet-valid CA). Firefox's policies.json is merged and parsed
 * back. Refusals: not a certificate, non-CA, expired, two certificates, a private key,
 * trailing text, a 10,000-certificate chain, an oversized input, hostile names, unknown
 * stores, a tree without a system store.
 */
#include "enf_test.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "platform/fs.h"
#include "platform/proc.h"
#include "platform/trust.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/store.h"

#define UPDATE_TOOL "/usr/sbin/update-ca-certificates"
#define OPENSSL "/usr/bin/openssl"
#define ANCHOR "/usr/local/share/ca-certificates/ward/corp.crt"
#define BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define FF "/etc/firefox/policies/policies.json"
#define DAY 86400L

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    WT_ASSERT(k != NULL);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX c;
    X509_EXTENSION *e;
    X509V3_set_ctx_nodb(&c);
    X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &c, nid, value);
    WT_ASSERT(e != NULL);
    WT_ASSERT(X509_add_ext(x, e, -1) == 1);
    X509_EXTENSION_free(e);
}

/* A certificate for key named cn, valid from now+nb to now+na seconds, signed by issuer
 * (NULL: self-signed). ca: basicConstraints CA:TRUE + keyCertSign, else CA:FALSE. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, int ca, long nb, long na, X509 *issuer,
                       EVP_PKEY *ikey)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *n;
    WT_ASSERT(x != NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), nb);
    X509_gmtime_adj(X509_getm_notAfter(x), na);
    X509_set_pubkey(x, key);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    add_ext(x, issuer ? issuer : x, NID_basic_constraints,
            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, issuer ? issuer : x, NID_key_usage,
            ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    WT_ASSERT(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
    return x;
}

/* PEM text (static slot per call, 8 slots). */
static const char *pem_cert(X509 *x)
{
    static char *slots[8];
    static int slot;
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;
    int i = slot++ % 8;
    WT_ASSERT(b && PEM_write_bio_X509(b, x) == 1);
    n = BIO_get_mem_data(b, &p);
    free(slots[i]);
    slots[i] = strndup(p, (size_t)n);
    BIO_free(b);
    return slots[i];
}

static char *pem_key(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p, *r;
    long n;
    WT_ASSERT(b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1);
    n = BIO_get_mem_data(b, &p);
    r = strndup(p, (size_t)n);
    BIO_free(b);
    return r;
}

struct pki {
    EVP_PKEY *ca_key, *leaf_key;
    X509 *ca, *leaf, *distro, *nonca, *expired, *future;
};

static void pki_make(struct pki *p)
{
    EVP_PKEY *k = new_key();
    p->ca_key = new_key();
    p->leaf_key = new_key();
    p->ca = make_cert(p->ca_key, "Ward Test Root", 1, -DAY, 30 * DAY, NULL, NULL);
    p->leaf = make_cert(p->leaf_key, "leaf.example", 0, -DAY, 10 * DAY, p->ca, p->ca_key);
    p->distro = make_cert(k, "Distro Root", 1, -DAY, 30 * DAY, NULL, NULL);
    p->nonca = make_cert(k, "Not A CA", 0, -DAY, 30 * DAY, NULL, NULL);
    p->expired = make_cert(k, "Expired Root", 1, -30 * DAY, -DAY, NULL, NULL);
    p->future = make_cert(k, "Future Root", 1, 10 * DAY, 30 * DAY, NULL, NULL);
    EVP_PKEY_free(k);
}

static void pki_free(struct pki *p)
{
    X509_free(p->ca);
    X509_free(p->leaf);
    X509_free(p->distro);
    X509_free(p->nonca);
    X509_free(p->expired);
    X509_free(p->future);
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->leaf_key);
}

/* A document with one trust_root setting; extra is more JSON members ("" for none). */
static char *doc(const char *id, const char *pem, const char *state, const char *extra)
{
    json_t *s = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "kind", "trust_root", "certificate",
                          pem, "state", state);
    json_t *d, *x;
    char *out = NULL;
    WT_ASSERT(s != NULL);
    if (extra[0]) {
        x = json_loads(extra, JSON_ALLOW_NUL, NULL);
        WT_ASSERT(x != NULL);
        json_object_update(s, x);
        json_decref(x);
    }
    d = json_pack("{s:s, s:i, s:s, s:[o]}", "id", "trust", "version", 1, "mode", "enforce",
                  "settings", s);
    WT_ASSERT(d != NULL);
    WT_OK(ward_json_dumps(d, 0, &out, NULL));
    json_decref(d);
    return out;
}

/* A Debian-like ca-certificates layout with one distribution CA, bundle built. */
static void debian_tree(const struct pki *p)
{
    et_put("/usr/share/ca-certificates/distro/Distro_Root.crt", pem_cert(p->distro));
    et_put("/etc/ca-certificates.conf", "# test\ndistro/Distro_Root.crt\n");
    WT_OK(plat_fs_mkdir_p(et_root(), "/etc/ssl/certs", PLAT_FS_NTS, 0755));
    WT_OK(plat_fs_mkdir_p(et_root(), "/usr/local/share/ca-certificates", PLAT_FS_NTS, 0755));
}

/* openssl verify -CAfile <scratch bundle> leaf: 1 when it verifies. */
static int verifies(X509 *leaf)
{
    const char *lp = wt_write_file("leaf.pem", pem_cert(leaf), strlen(pem_cert(leaf)));
    const char *argv[] = {OPENSSL, "verify", "-CAfile", et_host(BUNDLE), lp, NULL};
    struct plat_proc_opts o = {.argv = argv, .timeout_ms = 30000};
    struct plat_proc_result r;
    int ok;
    WT_OK(plat_proc_run(&o, &r));
    ok = r.exit_status == 0 && strstr(r.out, ": OK") != NULL;
    plat_proc_result_release(&r);
    return ok;
}

WT_TEST(trust_root_system_store)
{
    struct pki p;
    struct ward_store *j = et_journal();
    struct enf_baseline *b, *ba;
    struct enf_report *r;
    char *d;
    int64_t m;

    if (access(UPDATE_TOOL, X_OK) != 0 || access(OPENSSL, X_OK) != 0) {
        fprintf(stderr, "skip: %s or %s missing\n", UPDATE_TOOL, OPENSSL);
        ward_store_close(j);
        return;
    }
    pki_make(&p);
    debian_tree(&p);
    d = doc("corp", pem_cert(p.ca), "present", "");
    b = et_doc(d);
    ward_free(d);

    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "corp", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "corp")->expected, "CA \"CN=Ward Test Root\"");
    WT_CONTAINS(et_outcome(r, "corp")->expected, "system store (debian)");
    WT_EQ_STR(et_outcome(r, "corp")->actual, "system: no anchor, not in the bundle");
    enf_report_free(r);

    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "corp", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get(ANCHOR), pem_cert(p.ca));
    WT_EQ_INT(et_mode(ANCHOR), 0644);
    WT_ASSERT(strstr(et_get(BUNDLE), "-----BEGIN CERTIFICATE-----") != NULL);
    WT_ASSERT(verifies(p.leaf));

    /* a second run: compliant, nothing rewritten, the tool not run again */
    m = et_mtime(BUNDLE);
    usleep(20000);
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "corp", ENF_KEPT);
    WT_EQ_STR(et_outcome(r, "corp")->actual, "system: anchor installed, in the bundle");
    enf_report_free(r);
    WT_EQ_INT(et_mtime(BUNDLE), m);

    /* a changed anchor is repaired */
    et_put(ANCHOR, pem_cert(p.distro));
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "corp", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get(ANCHOR), pem_cert(p.ca));

    /* absent: the anchor removed, the bundle rebuilt without it, the distribution CA kept */
    d = doc("corp", pem_cert(p.ca), "absent", "");
    ba = et_doc(d);
    ward_free(d);
    r = et_run(ba, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "corp", ENF_REPAIRED);
    WT_EQ_STR(et_outcome(r, "corp")->actual, "system: no anchor, not in the bundle");
    enf_report_free(r);
    WT_ASSERT(et_get(ANCHOR) == NULL);
    WT_ASSERT(!verifies(p.leaf));
    WT_ASSERT(strstr(et_get(BUNDLE), strchr(pem_cert(p.distro), '\n')) != NULL);
    m = et_mtime(BUNDLE);
    usleep(20000);
    r = et_run(ba, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "corp", ENF_KEPT);
    enf_report_free(r);
    WT_EQ_INT(et_mtime(BUNDLE), m);

    /* an absent setting may name an expired certificate (removing an old root) */
    d = doc("old", pem_cert(p.expired), "absent", "");
    enf_baseline_free(ba);
    ba = et_doc(d);
    ward_free(d);
    r = et_run(ba, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "old", ENF_KEPT);
    enf_report_free(r);

    enf_baseline_free(ba);
    enf_baseline_free(b);
    ward_store_close(j);
    pki_free(&p);
}

WT_TEST(trust_root_restore_on_removal)
{
    struct pki p;
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j};
    struct enf_baseline *b;
    struct enf_report *r = NULL;
    char *d;

    if (access(UPDATE_TOOL, X_OK) != 0) {
        fprintf(stderr, "skip: %s missing\n", UPDATE_TOOL);
        ward_store_close(j);
        return;
    }
    pki_make(&p);
    debian_tree(&p);
    d = doc("rr", pem_cert(p.ca), "present", "{\"restore_on_removal\": true}");
    b = et_doc(d);
    ward_free(d);
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "rr", ENF_REPAIRED);
    enf_report_free(r);
    WT_ASSERT(et_get("/usr/local/share/ca-certificates/ward/rr.crt") != NULL);
    WT_ASSERT(verifies(p.leaf));
    WT_OK(enf_baseline_remove("trust", &o, &r));
    enf_report_free(r);
    WT_ASSERT(et_get("/usr/local/share/ca-certificates/ward/rr.crt") == NULL);
    WT_ASSERT(!verifies(p.leaf));
    enf_baseline_free(b);
    ward_store_close(j);
    pki_free(&p);
}

/* selective_wipe (ENF_RUN_RETIRE) takes a trust root along without restore_on_removal;
 * a plain unassign leaves it. */
WT_TEST(trust_root_selective_wipe)
{
    struct pki p;
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j, .flags = ENF_RUN_RETIRE};
    struct enf_baseline *b;
    struct enf_report *r = NULL;
    const char *anchor = "/usr/local/share/ca-certificates/ward/sw.crt";
    char *d;

    if (access(UPDATE_TOOL, X_OK) != 0) {
        fprintf(stderr, "skip: %s missing\n", UPDATE_TOOL);
        ward_store_close(j);
        return;
    }
    pki_make(&p);
    debian_tree(&p);
    d = doc("sw", pem_cert(p.ca), "present", "");
    b = et_doc(d);
    ward_free(d);
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "sw", ENF_REPAIRED);
    enf_report_free(r);
    WT_ASSERT(verifies(p.leaf));
    WT_OK(enf_baseline_remove("trust", &o, &r));
    ET_RESULT(r, "sw", ENF_REPAIRED);
    enf_report_free(r);
    WT_ASSERT(et_get(anchor) == NULL);
    WT_ASSERT(!verifies(p.leaf));
    /* the same without ENF_RUN_RETIRE: skipped, still trusted */
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "sw", ENF_REPAIRED);
    enf_report_free(r);
    o.flags = 0;
    WT_OK(enf_baseline_remove("trust", &o, &r));
    ET_RESULT(r, "sw", ENF_SKIPPED);
    enf_report_free(r);
    WT_ASSERT(et_get(anchor) != NULL);
    WT_ASSERT(verifies(p.leaf));
    enf_baseline_free(b);
    ward_store_close(j);
    pki_free(&p);
}

WT_TEST(trust_root_firefox_policies)
{
    struct pki p;
    struct enf_baseline *b;
    struct enf_report *r;
    json_t *pol;
    const json_t *inst;
    char *d;
    const char *cert = "/usr/local/share/ward/certificates/ff.pem";

    pki_make(&p);
    et_put(FF, "{\"policies\": {\"DisableTelemetry\": true, "
               "\"Certificates\": {\"Install\": [\"/etc/other.pem\"]}}, \"x\": 1}\n");
    d = doc("ff", pem_cert(p.ca), "present", "{\"stores\": [\"firefox\"]}");
    b = et_doc(d);
    ward_free(d);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "ff", ENF_REPAIRED);
    WT_EQ_STR(et_outcome(r, "ff")->actual,
              "firefox: certificate file installed, listed in policies.json");
    enf_report_free(r);
    WT_EQ_STR(et_get(cert), pem_cert(p.ca));
    pol = json_loads(et_get(FF), 0, NULL);
    WT_ASSERT(pol != NULL);
    WT_ASSERT(json_is_true(json_object_get(json_object_get(pol, "policies"), "DisableTelemetry")));
    WT_EQ_INT(json_integer_value(json_object_get(pol, "x")), 1);
    inst = json_object_get(json_object_get(json_object_get(pol, "policies"), "Certificates"),
                           "Install");
    WT_EQ_INT(json_array_size(inst), 2);
    WT_EQ_STR(json_string_value(json_array_get(inst, 0)), "/etc/other.pem");
    WT_EQ_STR(json_string_value(json_array_get(inst, 1)), cert);
    json_decref(pol);

    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "ff", ENF_KEPT);
    enf_report_free(r);
    enf_baseline_free(b);

    d = doc("ff", pem_cert(p.ca), "absent", "{\"stores\": [\"firefox\"]}");
    b = et_doc(d);
    ward_free(d);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "ff", ENF_REPAIRED);
    enf_report_free(r);
    WT_ASSERT(et_get(cert) == NULL);
    pol = json_loads(et_get(FF), 0, NULL);
    WT_ASSERT(pol != NULL);
    inst = json_object_get(json_object_get(json_object_get(pol, "policies"), "Certificates"),
                           "Install");
    WT_EQ_INT(json_array_size(inst), 1);
    WT_EQ_STR(json_string_value(json_array_get(inst, 0)), "/etc/other.pem");
    WT_ASSERT(json_is_true(json_object_get(json_object_get(pol, "policies"), "DisableTelemetry")));
    json_decref(pol);
    enf_baseline_free(b);

    /* a policies file that is not JSON is not Ward's to rewrite */
    et_put(FF, "{not json");
    d = doc("ff", pem_cert(p.ca), "present", "{\"stores\": [\"firefox\"]}");
    b = et_doc(d);
    ward_free(d);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "ff", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "ff")->error, "is not valid JSON");
    enf_report_free(r);
    WT_EQ_STR(et_get(FF), "{not json");
    enf_baseline_free(b);
    pki_free(&p);
}

WT_TEST(trust_root_no_system_store)
{
    struct pki p;
    struct enf_baseline *b;
    struct enf_run_opts o = {.root = wt_path("bare"), .flags = ENF_RUN_APPLY};
    struct enf_report *r = NULL;
    char *d;
    pki_make(&p);
    WT_OK(plat_fs_mkdir_p(NULL, o.root, PLAT_FS_NTS, 0755));
    d = doc("corp", pem_cert(p.ca), "present", "");
    b = et_doc(d);
    ward_free(d);
    WT_OK(enf_run(b, &o, &r));
    ET_RESULT(r, "corp", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "corp")->error, "no system trust store found");
    enf_report_free(r);
    enf_baseline_free(b);
    pki_free(&p);
}

/* The validation error for a document with one setting. */
static const char *refusal(const char *pem, const char *state, const char *extra)
{
    char *d = doc("corp", pem, state, extra);
    int rc = 0;
    const char *e = et_doc_errors(d, &rc);
    ward_free(d);
    WT_NE_INT(rc, 0);
    return e;
}

WT_TEST(trust_root_refusals)
{
    struct pki p;
    struct ward_buf big;
    char *key, *two, *withkey, *keyfirst, *garbage;
    const char *ca;
    pki_make(&p);
    ca = pem_cert(p.ca);
    key = pem_key(p.ca_key);

    WT_CONTAINS(refusal("hello", "present", ""), "certificate: not a PEM certificate");
    WT_CONTAINS(
        refusal("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "present", ""),
        "not a valid X.509 certificate");
    WT_CONTAINS(refusal(pem_cert(p.nonca), "present", ""),
                "\"CN=Not A CA\" is not a CA certificate (no basicConstraints CA:TRUE)");
    WT_CONTAINS(refusal(pem_cert(p.leaf), "present", ""), "is not a CA certificate");
    WT_CONTAINS(refusal(pem_cert(p.expired), "present", ""), "\"CN=Expired Root\" expired on");
    WT_CONTAINS(refusal(pem_cert(p.future), "present", ""),
                "\"CN=Future Root\" is not valid before");

    two = ward_malloc(strlen(ca) * 2 + 1);
    snprintf(two, strlen(ca) * 2 + 1, "%s%s", ca, pem_cert(p.distro));
    WT_CONTAINS(refusal(two, "present", ""), "more than one certificate");
    WT_CONTAINS(refusal(two, "absent", ""), "more than one certificate");
    withkey = ward_malloc(strlen(ca) + strlen(key) + 1);
    snprintf(withkey, strlen(ca) + strlen(key) + 1, "%s%s", ca, key);
    WT_CONTAINS(refusal(withkey, "present", ""), "contains a private key (PRIVATE KEY)");
    keyfirst = ward_malloc(strlen(ca) + strlen(key) + 1);
    snprintf(keyfirst, strlen(ca) + strlen(key) + 1, "%s%s", key, ca);
    WT_CONTAINS(refusal(keyfirst, "present", ""), "contains a private key");
    garbage = ward_malloc(strlen(ca) + 8);
    snprintf(garbage, strlen(ca) + 8, "%sjunk\n", ca);
    WT_CONTAINS(refusal(garbage, "present", ""), "text after the certificate");

    /* oversized: one certificate padded past the cap */
    ward_buf_init(&big, (size_t)64 << 20);
    WT_OK(ward_buf_append_str(&big, ca));
    while (big.len <= PLAT_TRUST_PEM_MAX)
        WT_OK(ward_buf_append_str(&big, "\n                                              "));
    WT_CONTAINS(refusal(big.data, "present", ""), "larger than the 65536 a single certificate");
    ward_buf_release(&big);

    /* a chain of 10,000 certificates: refused by size before any parsing */
    {
        struct plat_trust_cert c;
        char why[256];
        ward_buf_init(&big, (size_t)64 << 20);
        for (int i = 0; i < 10000; i++)
            WT_OK(ward_buf_append_str(&big, ca));
        WT_EQ_ERR(plat_trust_cert_parse(big.data, big.len, 0, PLAT_TRUST_REQUIRE_CA, &c, why,
                                        sizeof(why)),
                  WARD_ETOOBIG);
        WT_CONTAINS(why, "larger than");
        /* and a 3-certificate chain, small enough, for its own reason */
        big.len = strlen(ca) * 3;
        big.data[big.len] = '\0';
        WT_EQ_ERR(
            plat_trust_cert_parse(big.data, big.len, (int64_t)time(NULL), 0, &c, why, sizeof(why)),
            WARD_EPARSE);
        WT_CONTAINS(why, "more than one certificate");
        ward_buf_release(&big);
        /* a good one parses, with its canonical form */
        WT_OK(plat_trust_cert_parse(ca, strlen(ca), (int64_t)time(NULL),
                                    PLAT_TRUST_REQUIRE_CA | PLAT_TRUST_REQUIRE_VALID, &c, why,
                                    sizeof(why)));
        WT_EQ_STR(c.pem, ca);
        WT_EQ_STR(c.subject, "CN=Ward Test Root");
        WT_EQ_INT((long long)strlen(c.sha256), 64);
        plat_trust_cert_release(&c);
    }

    /* hostile names (and ids used as the default name) */
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \"../../etc/passwd\"}"),
                "$.settings[0].name: \"../../etc/passwd\" cannot be a certificate file name");
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \"a/b\"}"), "cannot be a certificate file");
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \"..\"}"), "cannot be a certificate file");
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \".hidden\"}"), "cannot be a certificate");
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \"-rf\"}"), "cannot be a certificate");
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \"\"}"), "cannot be a certificate");
    /* the document parser refuses a NUL first; the name rule would too */
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \"a\\u0000b\"}"), "is not allowed");
    WT_EQ_INT(plat_trust_name_ok("a\0b", 3), 0);
    WT_EQ_INT(plat_trust_name_ok("corp-root_2.v1", 14), 1);
    WT_CONTAINS(refusal(ca, "present", "{\"name\": \"a b\"}"), "cannot be a certificate");
    WT_CONTAINS(refusal(ca, "present", "{\"id\": \"a:b\"}"),
                "$.settings[0].id: \"a:b\" cannot be a certificate file name");
    /* stores */
    WT_CONTAINS(refusal(ca, "present", "{\"stores\": [\"nss\"]}"), "not supported yet");
    WT_CONTAINS(refusal(ca, "present", "{\"stores\": [\"bogus\"]}"), "\"bogus\" is not a store");
    WT_CONTAINS(refusal(ca, "present", "{\"stores\": []}"), "name at least one store");

    ward_free(two);
    ward_free(withkey);
    ward_free(keyfirst);
    ward_free(garbage);
    free(key);
    pki_free(&p);
}

/* The embedder's content store for certificate_sha256: whatever PEM the test put there. */
static const char *fetched_pem;

static int fetch(void *ctx, const char *sha, char **data, size_t *len)
{
    (void)ctx;
    (void)sha;
    if (!fetched_pem)
        return WARD_ENOENT;
    *data = ward_strdup(fetched_pem);
    *len = strlen(fetched_pem);
    return *data ? 0 : WARD_ENOMEM;
}

WT_TEST(trust_root_by_sha256)
{
    static const char *SHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    struct enf_hooks h = {.fetch = fetch};
    struct pki p;
    struct enf_baseline *b;
    struct enf_report *r;
    const char *e;
    char d[512];
    int rc;

    pki_make(&p);
    snprintf(d, sizeof(d),
             "{\"id\": \"t\", \"version\": 1, \"mode\": \"enforce\", \"settings\": [{\"id\":"
             " \"byhash\", \"kind\": \"trust_root\", \"certificate_sha256\": \"%s\","
             " \"stores\": [\"firefox\"]}]}",
             SHA);
    b = et_doc(d);
    /* no fetcher: not supported, and said so */
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "byhash", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "byhash")->error, "no session with the service to fetch it from");
    enf_report_free(r);
    /* a CA: installed, and the next run keeps it */
    fetched_pem = pem_cert(p.ca);
    r = et_run(b, ENF_RUN_APPLY, NULL, &h);
    ET_RESULT(r, "byhash", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/usr/local/share/ward/certificates/byhash.pem"), pem_cert(p.ca));
    r = et_run(b, ENF_RUN_APPLY, NULL, &h);
    ET_RESULT(r, "byhash", ENF_KEPT);
    enf_report_free(r);
    /* what the hash names turns out not to be a CA, or not there: failed, file kept */
    fetched_pem = pem_cert(p.nonca);
    r = et_run(b, ENF_RUN_APPLY, NULL, &h);
    ET_RESULT(r, "byhash", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "byhash")->error, "fetched by SHA-256");
    enf_report_free(r);
    fetched_pem = NULL;
    r = et_run(b, ENF_RUN_APPLY, NULL, &h);
    ET_RESULT(r, "byhash", ENF_FAILED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/usr/local/share/ward/certificates/byhash.pem"), pem_cert(p.ca));
    enf_baseline_free(b);
    /* exactly one of certificate and certificate_sha256 */
    snprintf(d, sizeof(d),
             "{\"id\": \"t\", \"version\": 1, \"settings\": [{\"id\": \"x\", \"kind\":"
             " \"trust_root\"}]}");
    e = et_doc_errors(d, &rc);
    WT_EQ_INT(rc, WARD_EPARSE);
    WT_CONTAINS(e, "give either certificate or certificate_sha256");
    pki_free(&p);
}
