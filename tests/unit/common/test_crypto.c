/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the crypto helpers. Certificates are made here with OpenSSL directly (a small
 * CA that signs leaves with chosen validity), so the helpers are checked against an
 * independent construction, and against published vectors (SHA-256, RFC 8032 Ed25519,
 * RFC 4648 base64). */
#include "wtest.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ward/alloc.h"
#include "ward/crypto.h"

/* ---- helpers -------------------------------------------------------------------------- */

static EVP_PKEY *p256(void)
{
    EVP_PKEY *k = NULL;
    WT_OK(ward_key_generate_p256(&k));
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    WT_ASSERT(ext != NULL);
    WT_ASSERT(X509_add_ext(cert, ext, -1) == 1);
    X509_EXTENSION_free(ext);
}

/* Certificate for key's public half, signed by issuer_key (self-signed when issuer is
 * NULL), valid from now + nb_s to now + na_s, or at fixed times when abs is set. */
static X509 *make_cert_at(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                          long serial, int is_ca, int abs, time_t nb, time_t na)
{
    X509 *c = X509_new();
    X509_NAME *name;
    WT_ASSERT(c != NULL);
    WT_ASSERT(X509_set_version(c, X509_VERSION_3));
    WT_ASSERT(ASN1_INTEGER_set(X509_get_serialNumber(c), serial));
    if (abs) {
        WT_ASSERT(ASN1_TIME_set(X509_getm_notBefore(c), nb) != NULL);
        WT_ASSERT(ASN1_TIME_set(X509_getm_notAfter(c), na) != NULL);
    } else {
        WT_ASSERT(X509_gmtime_adj(X509_getm_notBefore(c), (long)nb) != NULL);
        WT_ASSERT(X509_gmtime_adj(X509_getm_notAfter(c), (long)na) != NULL);
    }
    name = X509_get_subject_name(c);
    WT_ASSERT(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                         (const unsigned char *)"Ward Tests", -1, -1, 0));
    WT_ASSERT(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                         -1, 0));
    WT_ASSERT(X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name));
    WT_ASSERT(X509_set_pubkey(c, key));
    add_ext(c, issuer ? issuer : c, NID_basic_constraints,
            is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(c, issuer ? issuer : c, NID_key_usage,
            is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(c, issuer ? issuer : c, NID_subject_key_identifier, "hash");
    WT_ASSERT(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return c;
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int is_ca,
                       long nb_s, long na_s)
{
    return make_cert_at(cn, key, issuer, issuer_key, 0x1234ABCD, is_ca, 0, nb_s, na_s);
}

#define DAY 86400L

/* ---- keys ----------------------------------------------------------------------------- */

WT_TEST(p256_keygen)
{
    EVP_PKEY *k = p256();
    WT_ASSERT(EVP_PKEY_is_a(k, "EC"));
    WT_EQ_INT(EVP_PKEY_get_bits(k), 256);
    EVP_PKEY_free(k);
}

WT_TEST(key_file_private_and_round_trip)
{
    EVP_PKEY *k = p256(), *k2 = NULL, *k3 = p256();
    const char *path = wt_path("device.key");
    char pin1[WARD_PIN_SIZE], pin2[WARD_PIN_SIZE];
    int rc;

    WT_OK(ward_key_write_pem(k, path));
    /* The portable check: mode 0600 and ours on POSIX, protected SYSTEM+Administrators
     * DACL on Windows. Only an OS without file permissions may answer ENOTSUP. */
    rc = ward_secfile_check(path);
    if (rc != WARD_ENOTSUP)
        WT_OK(rc);
    WT_OK(ward_key_load_pem(path, &k2));
    WT_OK(ward_pin_from_key(k, pin1));
    WT_OK(ward_pin_from_key(k2, pin2));
    WT_EQ_STR(pin1, pin2);
    WT_EQ_INT(EVP_PKEY_eq(k, k2), 1);
    EVP_PKEY_free(k2);
    k2 = NULL;

    /* Replacing an existing key is atomic and keeps it private. */
    WT_OK(ward_key_write_pem(k3, path));
    rc = ward_secfile_check(path);
    if (rc != WARD_ENOTSUP)
        WT_OK(rc);
    WT_OK(ward_key_load_pem(path, &k2));
    WT_EQ_INT(EVP_PKEY_eq(k3, k2), 1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    EVP_PKEY_free(k);
}

/* The offline key: encrypted at rest; only the passphrase opens it, and an unencrypted
 * reader refuses it. */
WT_TEST(key_file_passphrase)
{
    EVP_PKEY *k = NULL, *k2 = NULL;
    const char *path = wt_path("offline.key");
    uint8_t pub[WARD_ED25519_PUB_LEN], pub2[WARD_ED25519_PUB_LEN];
    char text[4096] = "";
    FILE *f;
    int rc;

    WT_OK(ward_ed25519_generate(&k));
    WT_EQ_INT(ward_key_write_pem_passphrase(k, path, "short"), WARD_EINVAL);
    WT_OK(ward_key_write_pem_passphrase(k, path, "correct horse battery"));
    rc = ward_secfile_check(path);
    if (rc != WARD_ENOTSUP)
        WT_OK(rc);
    f = fopen(path, "r");
    WT_ASSERT(f != NULL);
    WT_ASSERT(fread(text, 1, sizeof(text) - 1, f) > 0);
    fclose(f);
    WT_ASSERT(strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL);
    WT_EQ_INT(ward_key_load_pem(path, &k2), WARD_EPARSE);
    WT_EQ_INT(ward_key_load_pem_passphrase(path, "correct horse battery!", &k2), WARD_EVERIFY);
    WT_ASSERT(k2 == NULL);
    WT_OK(ward_key_load_pem_passphrase(path, "correct horse battery", &k2));
    WT_OK(ward_ed25519_public_raw(k, pub));
    WT_OK(ward_ed25519_public_raw(k2, pub2));
    WT_ASSERT(memcmp(pub, pub2, sizeof(pub)) == 0);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k);
}

WT_TEST(secfile_check_rejects_shared_file)
{
    const char *path = wt_write_file("shared.key", "x", 1);
    int rc = ward_secfile_check(path);
    if (rc != WARD_ENOTSUP)
        WT_EQ_ERR(rc, WARD_EACCES);
    WT_EQ_ERR(ward_secfile_check(wt_path("missing.key")), WARD_ENOENT);
}

WT_TEST(secfile_write_into_missing_dir_fails)
{
    WT_EQ_ERR(ward_secfile_write(wt_path("no/such/dir/k.pem"), "x", 1), WARD_ENOENT);
}

WT_TEST(key_load_errors)
{
    EVP_PKEY *k = NULL;
    const char *junk = wt_write_file("junk.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33);
    WT_EQ_ERR(ward_key_load_pem(wt_path("nope.pem"), &k), WARD_ENOENT);
    WT_EQ_ERR(ward_key_load_pem(junk, &k), WARD_EPARSE);
    WT_ASSERT(k == NULL);
    WT_EQ_ERR(ward_key_from_pem("hello", 5, &k), WARD_EPARSE);
}

WT_TEST(pubkey_pem)
{
    EVP_PKEY *k = p256();
    char *pem = NULL;
    size_t len = 0;
    WT_OK(ward_pubkey_to_pem(k, &pem, &len));
    WT_ASSERT(strncmp(pem, "-----BEGIN PUBLIC KEY-----", 26) == 0);
    WT_EQ_INT(len, strlen(pem));
    WT_ASSERT(strstr(pem, "PRIVATE") == NULL);
    ward_free(pem);
    EVP_PKEY_free(k);
}

/* ---- CSR ------------------------------------------------------------------------------ */

WT_TEST(csr_round_trip)
{
    static const char *const sans[] = {"DNS:dev-123.ward.example", "IP:10.0.0.7", "bare.example",
                                       "URI:urn:ward:device:123"};
    EVP_PKEY *k = p256();
    X509_REQ *req = NULL;
    STACK_OF(X509_EXTENSION) * exts;
    GENERAL_NAMES *gens;
    char *pem = NULL, *cn = NULL;
    char pin1[WARD_PIN_SIZE], pin2[WARD_PIN_SIZE];
    size_t len = 0;

    WT_OK(ward_csr_create(k, "device-123", sans, 4, &pem, &len));
    WT_ASSERT(strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----", 35) == 0);
    WT_OK(ward_csr_parse(pem, len, &req));
    WT_OK(ward_csr_subject_cn(req, &cn));
    WT_EQ_STR(cn, "device-123");
    WT_OK(ward_pin_from_key(k, pin1));
    WT_OK(ward_pin_from_key(ward_csr_pubkey(req), pin2));
    WT_EQ_STR(pin1, pin2);

    exts = X509_REQ_get_extensions(req);
    WT_ASSERT(exts != NULL);
    gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
    WT_ASSERT(gens != NULL);
    WT_EQ_INT(sk_GENERAL_NAME_num(gens), 4);
    WT_EQ_INT(sk_GENERAL_NAME_value(gens, 0)->type, GEN_DNS);
    WT_EQ_INT(sk_GENERAL_NAME_value(gens, 1)->type, GEN_IPADD);
    WT_EQ_INT(sk_GENERAL_NAME_value(gens, 2)->type, GEN_DNS);
    WT_EQ_INT(sk_GENERAL_NAME_value(gens, 3)->type, GEN_URI);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

    ward_free(cn);
    ward_free(pem);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
}

WT_TEST(csr_without_sans_and_der)
{
    EVP_PKEY *k = p256();
    X509_REQ *req = NULL, *req2 = NULL;
    unsigned char *der = NULL;
    char *pem = NULL;
    int n;
    WT_OK(ward_csr_create(k, "d", NULL, 0, &pem, NULL));
    WT_OK(ward_csr_parse(pem, strlen(pem), &req));
    n = i2d_X509_REQ(req, &der);
    WT_ASSERT(n > 0);
    WT_OK(ward_csr_parse(der, (size_t)n, &req2));
    /* a changed signature byte must fail verification */
    der[n - 1] ^= 0x01;
    X509_REQ_free(req2);
    req2 = NULL;
    WT_EQ_ERR(ward_csr_parse(der, (size_t)n, &req2), WARD_EVERIFY);
    WT_ASSERT(req2 == NULL);
    WT_EQ_ERR(ward_csr_parse("garbage", 7, &req2), WARD_EPARSE);
    OPENSSL_free(der);
    ward_free(pem);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
}

WT_TEST(csr_bad_input)
{
    static const char *const bad[] = {"DNS:has space"};
    static const char *const badip[] = {"IP:10.0.0.999"};
    EVP_PKEY *k = p256();
    char *pem = NULL;
    WT_EQ_ERR(ward_csr_create(k, "", NULL, 0, &pem, NULL), WARD_EINVAL);
    WT_EQ_ERR(ward_csr_create(k, "d", bad, 1, &pem, NULL), WARD_EINVAL);
    WT_EQ_ERR(ward_csr_create(k, "d", badip, 1, &pem, NULL), WARD_EINVAL);
    WT_ASSERT(pem == NULL);
    EVP_PKEY_free(k);
}

/* ---- X.509 ---------------------------------------------------------------------------- */

WT_TEST(x509_accessors)
{
    EVP_PKEY *k = p256();
    const time_t nb = 1700000000, na = 1700000000 + 400 * DAY + 3661;
    X509 *c = make_cert_at("Ward Test CA \xc3\xa9", k, NULL, NULL, 0x0A1B2C3DL, 1, 1, nb, na);
    X509 *c2 = NULL;
    char *s = NULL, *pem = NULL;
    unsigned char *der = NULL;
    time_t b = 0, a = 0;
    size_t len = 0;
    int n;

    WT_OK(ward_x509_subject_cn(c, &s));
    WT_EQ_STR(s, "Ward Test CA \xc3\xa9");
    ward_free(s);
    WT_OK(ward_x509_issuer(c, &s));
    WT_EQ_STR(s, "CN=Ward Test CA \xc3\xa9,O=Ward Tests");
    ward_free(s);
    WT_OK(ward_x509_serial_hex(c, &s));
    WT_EQ_STR(s, "0A1B2C3D");
    ward_free(s);
    WT_OK(ward_x509_validity(c, &b, &a));
    WT_EQ_INT(b, nb);
    WT_EQ_INT(a, na);

    /* PEM and DER round trips */
    WT_OK(ward_x509_to_pem(c, &pem, &len));
    WT_OK(ward_x509_parse(pem, len, &c2));
    WT_EQ_INT(X509_cmp(c, c2), 0);
    X509_free(c2);
    c2 = NULL;
    n = i2d_X509(c, &der);
    WT_ASSERT(n > 0);
    WT_OK(ward_x509_parse(der, (size_t)n, &c2));
    WT_EQ_INT(X509_cmp(c, c2), 0);
    X509_free(c2);
    c2 = NULL;
    WT_EQ_ERR(ward_x509_parse(der, (size_t)n - 1, &c2), WARD_EPARSE);
    WT_EQ_ERR(ward_x509_parse("not a certificate", 17, &c2), WARD_EPARSE);
    WT_ASSERT(c2 == NULL);

    OPENSSL_free(der);
    ward_free(pem);
    X509_free(c);
    EVP_PKEY_free(k);
}

WT_TEST(x509_validity_past_2038_and_1950)
{
    /* Set as text: the OS gmtime behind ASN1_TIME_set() refuses dates before 1970 on some
     * systems, and the point is to check our own calendar arithmetic. */
    EVP_PKEY *k = p256();
    X509 *c = make_cert("t", k, NULL, NULL, 1, 0, DAY);
    time_t b = 0, a = 0;
    int rc;
    WT_ASSERT(ASN1_TIME_set_string(X509_getm_notBefore(c), "500101000000Z"));
    WT_ASSERT(ASN1_TIME_set_string(X509_getm_notAfter(c), "21000101000000Z"));
    rc = ward_x509_validity(c, &b, &a);
    if (sizeof(time_t) >= 8) {
        WT_OK(rc);
        WT_EQ_INT(b, -631152000);   /* 1950-01-01T00:00:00Z */
        WT_EQ_INT(a, 4102444800LL); /* 2100-01-01T00:00:00Z */
    } else {
        WT_EQ_ERR(rc, WARD_ETOOBIG);
    }
    X509_free(c);
    EVP_PKEY_free(k);
}

WT_TEST(x509_chain_parse)
{
    EVP_PKEY *k = p256();
    X509 *a = make_cert("a", k, NULL, NULL, 1, 0, DAY),
         *b = make_cert("b", k, NULL, NULL, 1, 0, DAY);
    STACK_OF(X509) *chain = NULL;
    char *pa = NULL, *pb = NULL, both[8192], *s = NULL;
    int n;

    WT_OK(ward_x509_to_pem(a, &pa, NULL));
    WT_OK(ward_x509_to_pem(b, &pb, NULL));
    n = snprintf(both, sizeof(both), "%s\n%s", pa, pb);
    WT_OK(ward_x509_parse_chain(both, (size_t)n, &chain));
    WT_EQ_INT(sk_X509_num(chain), 2);
    WT_OK(ward_x509_subject_cn(sk_X509_value(chain, 1), &s));
    WT_EQ_STR(s, "b");
    ward_free(s);
    sk_X509_pop_free(chain, X509_free);
    chain = NULL;
    WT_EQ_ERR(ward_x509_parse_chain("", 0, &chain), WARD_EPARSE);
    /* a broken certificate after a good one */
    n = snprintf(both, sizeof(both),
                 "%s-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", pa);
    WT_EQ_ERR(ward_x509_parse_chain(both, (size_t)n, &chain), WARD_EPARSE);
    WT_ASSERT(chain == NULL);
    ward_free(pa);
    ward_free(pb);
    X509_free(a);
    X509_free(b);
    EVP_PKEY_free(k);
}

WT_TEST(x509_verify)
{
    EVP_PKEY *cak = p256(), *otherk = p256(), *ik = p256(), *lk = p256();
    X509 *ca = make_cert("Ward CA", cak, NULL, NULL, 1, -DAY, 3650 * DAY);
    X509 *other = make_cert("Other CA", otherk, NULL, NULL, 1, -DAY, 3650 * DAY);
    X509 *leaf = make_cert("device-1", lk, ca, cak, 0, -DAY, 30 * DAY);
    X509 *inter = make_cert("Ward Issuing CA", ik, ca, cak, 1, -DAY, 365 * DAY);
    X509 *leaf2 = make_cert("device-2", lk, inter, ik, 0, -DAY, 30 * DAY);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    const char *why = NULL;
    time_t now = time(NULL);

    WT_OK(ward_x509_verify(leaf, NULL, ca, 0, &why));
    WT_EQ_STR(why, "ok");
    WT_EQ_ERR(ward_x509_verify(leaf, NULL, other, 0, &why), WARD_EVERIFY);
    WT_ASSERT(strcmp(why, "ok") != 0);
    /* expired: verification time after notAfter */
    WT_EQ_ERR(ward_x509_verify(leaf, NULL, ca, now + 31 * DAY, &why), WARD_EEXPIRED);
    WT_CONTAINS(why, "expired");
    WT_OK(ward_x509_verify(leaf, NULL, ca, now + 29 * DAY, NULL));
    /* not yet valid */
    WT_EQ_ERR(ward_x509_verify(leaf, NULL, ca, now - 2 * DAY, &why), WARD_EVERIFY);
    WT_CONTAINS(why, "not yet valid");
    /* the CA itself verifies against itself */
    WT_OK(ward_x509_verify(ca, NULL, ca, 0, NULL));

    /* root -> intermediate -> leaf */
    WT_EQ_ERR(ward_x509_verify(leaf2, NULL, ca, 0, NULL), WARD_EVERIFY);
    WT_ASSERT(sk_X509_push(untrusted, inter) > 0);
    WT_OK(ward_x509_verify(leaf2, untrusted, ca, 0, NULL));
    /* a pinned intermediate is an anchor too */
    WT_OK(ward_x509_verify(leaf2, NULL, inter, 0, NULL));
    WT_EQ_ERR(ward_x509_verify(leaf2, untrusted, other, 0, NULL), WARD_EVERIFY);
    /* an intermediate that has expired at the verification time */
    WT_EQ_ERR(ward_x509_verify(leaf2, untrusted, ca, now + 400 * DAY, NULL), WARD_EEXPIRED);
    /* a leaf (CA:FALSE) cannot issue */
    {
        X509 *bad = make_cert("evil", otherk, leaf, lk, 0, -DAY, DAY);
        sk_X509_zero(untrusted);
        WT_ASSERT(sk_X509_push(untrusted, leaf) > 0);
        WT_EQ_ERR(ward_x509_verify(bad, untrusted, ca, 0, NULL), WARD_EVERIFY);
        X509_free(bad);
    }
    WT_EQ_ERR(ward_x509_verify(NULL, NULL, ca, 0, NULL), WARD_EINVAL);

    sk_X509_free(untrusted);
    X509_free(leaf2);
    X509_free(inter);
    X509_free(leaf);
    X509_free(other);
    X509_free(ca);
    EVP_PKEY_free(lk);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(otherk);
    EVP_PKEY_free(cak);
}

/* ---- pins ----------------------------------------------------------------------------- */

WT_TEST(pins)
{
    EVP_PKEY *k = p256(), *k2 = p256();
    X509 *c = make_cert("ca", k, NULL, NULL, 1, 0, DAY);
    char pin[WARD_PIN_SIZE], pin_key[WARD_PIN_SIZE], other[WARD_PIN_SIZE], upper[WARD_PIN_SIZE];
    unsigned char *der = NULL;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];
    int n;

    WT_OK(ward_pin_from_cert(c, pin));
    WT_EQ_INT(strlen(pin), 71);
    WT_ASSERT(strncmp(pin, "sha256:", 7) == 0);
    /* independently: SHA-256 over the certificate's DER SubjectPublicKeyInfo */
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
    WT_ASSERT(n > 0);
    WT_ASSERT(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1);
    WT_OK(ward_hex_encode(md, mdlen, hex, sizeof(hex)));
    WT_EQ_STR(pin + 7, hex);
    OPENSSL_free(der);

    WT_OK(ward_pin_from_key(k, pin_key));
    WT_EQ_STR(pin, pin_key);
    WT_OK(ward_pin_check(pin, pin_key));
    WT_OK(ward_pin_check_cert(c, pin));
    for (size_t i = 0; i < sizeof(upper); i++)
        upper[i] = (char)(pin[i] >= 'a' && pin[i] <= 'f' ? pin[i] - 32 : pin[i]);
    WT_OK(ward_pin_check(upper, pin));

    WT_OK(ward_pin_from_key(k2, other));
    WT_EQ_ERR(ward_pin_check(other, pin), WARD_EPIN);
    WT_EQ_ERR(ward_pin_check_cert(c, other), WARD_EPIN);
    WT_EQ_ERR(ward_pin_check("sha1:abcd", pin), WARD_EINVAL);
    WT_EQ_ERR(ward_pin_check(pin + 7, pin), WARD_EINVAL); /* no prefix */
    other[70] = 'g';
    WT_EQ_ERR(ward_pin_check(other, pin), WARD_EINVAL);
    WT_EQ_ERR(ward_pin_check(NULL, pin), WARD_EINVAL);
    X509_free(c);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k);
}

/* ---- Ed25519 -------------------------------------------------------------------------- */

WT_TEST(ed25519_sign_verify_tamper)
{
    EVP_PKEY *k = NULL, *k2 = NULL, *pubonly = NULL, *ec = p256();
    uint8_t pub[32], pub2[32], again[32], sig[64];
    const char msg[] = "{\"id\":\"c-1\",\"device\":\"d-9\",\"seq\":17,\"type\":\"lock\"}";
    char tampered[sizeof(msg)];

    WT_OK(ward_ed25519_generate(&k));
    WT_OK(ward_ed25519_generate(&k2));
    WT_OK(ward_ed25519_public_raw(k, pub));
    WT_OK(ward_ed25519_public_raw(k2, pub2));
    WT_OK(ward_ed25519_sign(k, msg, strlen(msg), sig));
    WT_OK(ward_ed25519_verify(pub, msg, strlen(msg), sig));
    memcpy(tampered, msg, sizeof(msg));
    tampered[10] ^= 1;
    WT_EQ_ERR(ward_ed25519_verify(pub, tampered, strlen(msg), sig), WARD_EVERIFY);
    WT_EQ_ERR(ward_ed25519_verify(pub, msg, strlen(msg) - 1, sig), WARD_EVERIFY);
    WT_EQ_ERR(ward_ed25519_verify(pub2, msg, strlen(msg), sig), WARD_EVERIFY);
    sig[63] ^= 0x40;
    WT_EQ_ERR(ward_ed25519_verify(pub, msg, strlen(msg), sig), WARD_EVERIFY);

    WT_OK(ward_ed25519_from_public_raw(pub, &pubonly));
    WT_OK(ward_ed25519_public_raw(pubonly, again));
    WT_EQ_MEM(pub, again, 32);
    WT_EQ_ERR(ward_ed25519_public_raw(ec, again), WARD_EINVAL);
    WT_EQ_ERR(ward_ed25519_sign(ec, msg, 1, sig), WARD_EINVAL);
    EVP_PKEY_free(pubonly);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(ec);
}

WT_TEST(ed25519_rfc8032_vector)
{
    /* RFC 8032 section 7.1, TEST 2 (one-byte message 0x72) */
    uint8_t sk[32], pub[32], want_pub[32], sig[64], want_sig[64];
    EVP_PKEY *k;
    const uint8_t msg = 0x72;
    WT_OK(ward_hex_decode("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", sk,
                          32));
    WT_OK(ward_hex_decode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                          want_pub, 32));
    WT_OK(ward_hex_decode("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                          "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
                          want_sig, 64));
    k = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, sk, 32);
    WT_ASSERT(k != NULL);
    WT_OK(ward_ed25519_public_raw(k, pub));
    WT_EQ_MEM(pub, want_pub, 32);
    WT_OK(ward_ed25519_sign(k, &msg, 1, sig));
    WT_EQ_MEM(sig, want_sig, 64);
    WT_OK(ward_ed25519_verify(want_pub, &msg, 1, want_sig));
    EVP_PKEY_free(k);
}

WT_TEST(ed25519_key_file)
{
    EVP_PKEY *k = NULL, *k2 = NULL;
    uint8_t a[32], b[32];
    const char *path = wt_path("command.key");
    WT_OK(ward_ed25519_generate(&k));
    WT_OK(ward_key_write_pem(k, path));
    WT_OK(ward_key_load_pem(path, &k2));
    WT_OK(ward_ed25519_public_raw(k, a));
    WT_OK(ward_ed25519_public_raw(k2, b));
    WT_EQ_MEM(a, b, 32);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k);
}

/* ---- hashing, encoding, random -------------------------------------------------------- */

static void sha_hex(const void *d, size_t n, char out[65])
{
    uint8_t md[32];
    WT_OK(ward_sha256(d, n, md));
    WT_OK(ward_hex_encode(md, 32, out, 65));
}

WT_TEST(sha256_vectors)
{
    char hex[65];
    sha_hex("", 0, hex);
    WT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_hex("abc", 3, hex);
    WT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    WT_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

WT_TEST(sha256_file)
{
    uint8_t md[32], want[32];
    size_t n = 1000000;
    char *big = ward_malloc(n);
    char hex[65];
    const char *path;
    WT_ASSERT(big != NULL);
    memset(big, 'a', n);
    /* FIPS 180-2 long vector: one million 'a', streamed through several reads */
    path = wt_write_file("million-a", big, n);
    WT_OK(ward_sha256_file(path, md));
    WT_OK(ward_hex_encode(md, 32, hex, sizeof(hex)));
    WT_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    WT_OK(ward_sha256(big, n, want));
    WT_EQ_MEM(md, want, 32);
    path = wt_write_file("empty", "", 0);
    WT_OK(ward_sha256_file(path, md));
    WT_OK(ward_hex_encode(md, 32, hex, sizeof(hex)));
    WT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    WT_EQ_ERR(ward_sha256_file(wt_path("does-not-exist"), md), WARD_ENOENT);
    ward_free(big);
}

WT_TEST(hex)
{
    const uint8_t d[] = {0x00, 0x7f, 0x80, 0xff, 0x1a};
    uint8_t back[5];
    char out[11], small[10];
    WT_OK(ward_hex_encode(d, 5, out, sizeof(out)));
    WT_EQ_STR(out, "007f80ff1a");
    WT_EQ_ERR(ward_hex_encode(d, 5, small, sizeof(small)), WARD_ETOOBIG);
    WT_OK(ward_hex_decode("007F80fF1a", back, 5));
    WT_EQ_MEM(back, d, 5);
    WT_EQ_ERR(ward_hex_decode("007f80ff1", back, 5), WARD_EPARSE);
    WT_EQ_ERR(ward_hex_decode("007f80ff1a00", back, 5), WARD_EPARSE);
    WT_EQ_ERR(ward_hex_decode("zz7f80ff1a", back, 5), WARD_EPARSE);
}

WT_TEST(base64_rfc4648)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *s = NULL;
        uint8_t *d = NULL;
        size_t n = 99;
        WT_OK(ward_base64_encode(plain[i], strlen(plain[i]), 0, &s));
        WT_EQ_STR(s, std[i]);
        ward_free(s);
        WT_OK(ward_base64_encode(plain[i], strlen(plain[i]), WARD_BASE64_URL, &s));
        WT_EQ_STR(s, url[i]);
        ward_free(s);
        WT_OK(ward_base64_decode(std[i], strlen(std[i]), 0, &d, &n));
        WT_EQ_INT(n, strlen(plain[i]));
        WT_EQ_MEM(d, plain[i], n);
        ward_free(d);
        WT_OK(ward_base64_decode(url[i], strlen(url[i]), WARD_BASE64_URL, &d, &n));
        WT_EQ_INT(n, strlen(plain[i]));
        WT_EQ_MEM(d, plain[i], n);
        ward_free(d);
    }
}

WT_TEST(base64_alphabets_and_strictness)
{
    const uint8_t d[] = {0xfb, 0xff};
    char *s = NULL;
    uint8_t *out = NULL;
    size_t n = 0;
    WT_OK(ward_base64_encode(d, 2, 0, &s));
    WT_EQ_STR(s, "+/8=");
    ward_free(s);
    WT_OK(ward_base64_encode(d, 2, WARD_BASE64_URL, &s));
    WT_EQ_STR(s, "-_8");
    ward_free(s);
    static const char *const bad_std[] = {"Zg=", "Zg", "Zh==", "Zm9v\n", "Z===", "Zm=v", "-_8="};
    for (size_t i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
        if (ward_base64_decode(bad_std[i], strlen(bad_std[i]), 0, &out, &n) != WARD_EPARSE)
            wt_fail(__FILE__, __LINE__, "accepted \"%s\"", bad_std[i]);
        WT_ASSERT(out == NULL);
    }
    static const char *const bad_url[] = {"Zg==", "Z", "+/8", "Zh"};
    for (size_t i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
        if (ward_base64_decode(bad_url[i], strlen(bad_url[i]), WARD_BASE64_URL, &out, &n) !=
            WARD_EPARSE)
            wt_fail(__FILE__, __LINE__, "accepted \"%s\"", bad_url[i]);
}

WT_TEST(random_bytes)
{
    uint8_t a[32], b[32], zero[32] = {0};
    WT_OK(ward_random_bytes(a, sizeof(a)));
    WT_OK(ward_random_bytes(b, sizeof(b)));
    WT_ASSERT(memcmp(a, b, 32) != 0);
    WT_ASSERT(memcmp(a, zero, 32) != 0);
    WT_OK(ward_random_bytes(a, 0));
}
