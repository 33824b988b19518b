/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crypto helpers on OpenSSL 3, EVP interfaces only. Each public function turns OpenSSL's
 * result into one Ward code and, when it fails, drains OpenSSL's error queue into the debug
 * log so a later unrelated call does not find stale errors there. Hex and base64 are our
 * own strict code: OpenSSL's base64 decoder accepts sloppy input and miscounts padding.
 * The file system part of writing a private key lives in common/src/<os>/secfile.c.
 */
#define WARD_LOG_TAG "crypto"

#include "ward/crypto.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/log.h"

/* Private key files are small; a bigger file is not a key. */
#define KEY_FILE_MAX (64 * 1024)

void ward_crypto_thread_done(void)
{
    OPENSSL_thread_stop();
}

void ward_crypto_log_errors(const char *what)
{
    const char *data = NULL;
    int flags = 0;
    unsigned long e;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char text[256];
        ERR_error_string_n(e, text, sizeof(text));
        WARD_DEBUG("%s: %s%s%s", what, text, (flags & ERR_TXT_STRING) ? ": " : "",
                   (flags & ERR_TXT_STRING) && data ? data : "");
    }
}

/* Logs and clears the error queue, returns rc: the one exit for OpenSSL failures. */
static int ossl_fail(const char *what, int rc)
{
    ward_crypto_log_errors(what);
    return rc;
}

/* Copies a memory BIO's contents into a new NUL-terminated string. */
static int bio_to_string(BIO *bio, char **out, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *s;
    if (n < 0 || !data)
        return WARD_ECRYPTO;
    s = ward_malloc((size_t)n + 1);
    if (!s)
        return WARD_ENOMEM;
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    *out = s;
    if (len)
        *len = (size_t)n;
    return 0;
}

static int looks_pem(const void *buf, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    const char *p = buf;
    for (size_t i = 0; i + sizeof(tag) - 1 <= len; i++)
        if (memcmp(p + i, tag, sizeof(tag) - 1) == 0)
            return 1;
    return 0;
}

static BIO *mem_bio(const void *buf, size_t len)
{
    if (len > INT_MAX)
        return NULL;
    return BIO_new_mem_buf(buf, (int)len);
}

/* Never prompt on a terminal for a passphrase: Ward's keys are not encrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* ---- keys ----------------------------------------------------------------------------- */

static int keygen(const char *alg, const char *group, EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = NULL;
    int rc = 0;

    *out = NULL;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
        (group && EVP_PKEY_CTX_set_group_name(ctx, group) <= 0) ||
        EVP_PKEY_generate(ctx, out) <= 0) {
        rc = ossl_fail("key generation", WARD_ECRYPTO);
        goto out;
    }
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int ward_key_generate_p256(EVP_PKEY **out)
{
    return keygen("EC", "P-256", out);
}

int ward_key_generate_rsa(unsigned bits, EVP_PKEY **out)
{
    *out = NULL;
    if (bits < 2048 || bits > 8192)
        return WARD_EINVAL;
    if (!(*out = EVP_RSA_gen(bits)))
        return ossl_fail("RSA key generation", WARD_ECRYPTO);
    return 0;
}

int ward_key_to_pem(const EVP_PKEY *key, char **out, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data = NULL;
    long n;
    int rc = 0;

    *out = NULL;
    *len = 0;
    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ||
        (n = BIO_get_mem_data(bio, &data)) <= 0 || !data) {
        rc = ossl_fail("writing private key", WARD_ECRYPTO);
        goto out;
    }
    if (!(*out = ward_malloc((size_t)n + 1))) {
        rc = WARD_ENOMEM;
        goto out;
    }
    memcpy(*out, data, (size_t)n);
    (*out)[n] = '\0';
    *len = (size_t)n;
out:
    BIO_free(bio);
    return rc;
}

void ward_secret_free(void *p, size_t len)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, len);
    ward_free(p);
}

/* The PEM text in a secure-heap memory BIO (wiped when it is freed) into a private file. */
static int secmem_to_file(BIO *bio, const char *path)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || !data)
        return ossl_fail("writing private key", WARD_ECRYPTO);
    return ward_secfile_write(path, data, (size_t)n);
}

int ward_key_write_pem(const EVP_PKEY *key, const char *path)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    int rc;

    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        rc = ossl_fail("writing private key", WARD_ECRYPTO);
    else
        rc = secmem_to_file(bio, path);
    BIO_free(bio);
    return rc;
}

int ward_key_write_pem_passphrase(const EVP_PKEY *key, const char *path, const char *pass)
{
    BIO *bio = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_ALGOR *pbe = NULL;
    X509_SIG *enc = NULL;
    int rc = 0;

    if (!pass || strlen(pass) < WARD_PASSPHRASE_MIN || strlen(pass) > INT_MAX)
        return WARD_EINVAL;
    bio = BIO_new(BIO_s_secmem());
    /* PBES2 with scrypt (N = 2^14, r = 8, p = 1: 16 MiB per guess, the most OpenSSL's
     * default memory bound lets every reader use) and AES-256-CBC. */
    if (!bio || !(p8 = EVP_PKEY2PKCS8(key)) ||
        !(pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, 1u << 14, 8, 1))) {
        rc = ossl_fail("encrypting private key", WARD_ECRYPTO);
        goto out;
    }
    enc = PKCS8_set0_pbe(pass, (int)strlen(pass), p8, pbe);
    if (!enc) {
        rc = ossl_fail("encrypting private key", WARD_ECRYPTO);
        goto out;
    }
    pbe = NULL; /* owned by enc now */
    if (!PEM_write_bio_PKCS8(bio, enc)) {
        rc = ossl_fail("writing private key", WARD_ECRYPTO);
        goto out;
    }
    rc = secmem_to_file(bio, path);
out:
    X509_SIG_free(enc);
    X509_ALGOR_free(pbe);
    PKCS8_PRIV_KEY_INFO_free(p8);
    BIO_free(bio);
    return rc;
}

static int given_passphrase(char *buf, int size, int rwflag, void *u)
{
    size_t n = strlen((const char *)u);
    (void)rwflag;
    if (size <= 0 || n >= (size_t)size)
        return -1;
    memcpy(buf, u, n);
    return (int)n;
}

/* A PEM private key from memory; pass NULL: the key must not be encrypted. */
static int key_from_pem(const void *buf, size_t len, const char *pass, EVP_PKEY **out)
{
    BIO *bio = NULL;
    int rc = 0;

    *out = NULL;
    bio = mem_bio(buf, len);
    if (!bio) {
        rc = len > INT_MAX ? WARD_ETOOBIG : ossl_fail("reading private key", WARD_ENOMEM);
        goto out;
    }
    *out = PEM_read_bio_PrivateKey_ex(bio, NULL, pass ? given_passphrase : no_passphrase,
                                      (void *)(uintptr_t)pass, NULL, NULL);
    if (!*out)
        rc = pass ? ossl_fail("reading private key (wrong passphrase?)", WARD_EVERIFY)
                  : ossl_fail("reading private key", WARD_EPARSE);
out:
    BIO_free(bio);
    return rc;
}

int ward_key_from_pem(const void *buf, size_t len, EVP_PKEY **out)
{
    return key_from_pem(buf, len, NULL, out);
}

/* Reads a whole small file into b (capped by b->max). */
static int read_small_file(const char *path, struct ward_buf *b)
{
    FILE *f = NULL;
    char chunk[4096];
    size_t n;
    int rc = ward_os_fopen_read(path, &f);
    if (rc != 0)
        return rc;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = ward_buf_append(b, chunk, n);
        if (rc != 0)
            goto out;
    }
    if (ferror(f))
        rc = WARD_EIO;
out:
    OPENSSL_cleanse(chunk, sizeof(chunk));
    fclose(f);
    return rc;
}

static int key_load_file(const char *path, const char *pass, EVP_PKEY **out)
{
    struct ward_buf b;
    int rc;

    *out = NULL;
    ward_buf_init(&b, KEY_FILE_MAX);
    rc = read_small_file(path, &b);
    if (rc == WARD_ETOOBIG)
        rc = WARD_EPARSE;
    if (rc == 0)
        rc = key_from_pem(b.data ? b.data : "", b.len, pass, out);
    if (b.data)
        OPENSSL_cleanse(b.data, b.cap);
    ward_buf_release(&b);
    return rc;
}

int ward_key_load_pem(const char *path, EVP_PKEY **out)
{
    return key_load_file(path, NULL, out);
}

int ward_key_load_pem_passphrase(const char *path, const char *pass, EVP_PKEY **out)
{
    *out = NULL;
    return pass ? key_load_file(path, pass, out) : WARD_EINVAL;
}

int ward_pubkey_to_pem(const EVP_PKEY *key, char **out, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = 0;

    *out = NULL;
    if (!bio || !PEM_write_bio_PUBKEY(bio, key)) {
        rc = ossl_fail("writing public key", WARD_ECRYPTO);
        goto out;
    }
    rc = bio_to_string(bio, out, len);
out:
    BIO_free(bio);
    return rc;
}

/* ---- CSR ------------------------------------------------------------------------------ */

/* A SAN value must be printable ASCII (IA5String, no controls). */
static int san_ok(const char *v)
{
    if (!*v)
        return 0;
    for (; *v; v++)
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
            return 0;
    return 1;
}

static int add_san(GENERAL_NAMES *gens, const char *san)
{
    GENERAL_NAME *g = NULL;
    ASN1_IA5STRING *s = NULL;
    ASN1_OCTET_STRING *ip = NULL;
    int type = GEN_DNS;
    const char *v = san;
    int rc = 0;

    if (strncmp(san, "DNS:", 4) == 0) {
        v = san + 4;
    } else if (strncmp(san, "URI:", 4) == 0) {
        type = GEN_URI;
        v = san + 4;
    } else if (strncmp(san, "IP:", 3) == 0) {
        type = GEN_IPADD;
        v = san + 3;
    }
    if (!san_ok(v))
        return WARD_EINVAL;
    g = GENERAL_NAME_new();
    if (!g)
        goto oom;
    if (type == GEN_IPADD) {
        ip = a2i_IPADDRESS(v);
        if (!ip) {
            rc = ossl_fail("CSR IP address", WARD_EINVAL);
            goto out;
        }
        GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
    } else {
        s = ASN1_IA5STRING_new();
        if (!s || !ASN1_STRING_set(s, v, -1))
            goto oom;
        GENERAL_NAME_set0_value(g, type, s);
        s = NULL;
    }
    if (!sk_GENERAL_NAME_push(gens, g))
        goto oom;
    return 0;
oom:
    rc = ossl_fail("CSR subjectAltName", WARD_ENOMEM);
out:
    ASN1_IA5STRING_free(s);
    GENERAL_NAME_free(g);
    return rc;
}

static int add_sans(X509_REQ *req, const char *const *sans, size_t nsans)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *ext = NULL;
    int rc = 0;

    if (!gens || !exts) {
        rc = ossl_fail("CSR subjectAltName", WARD_ENOMEM);
        goto out;
    }
    for (size_t i = 0; i < nsans; i++) {
        rc = add_san(gens, sans[i]);
        if (rc != 0)
            goto out;
    }
    ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
    if (!ext || !sk_X509_EXTENSION_push(exts, ext)) {
        rc = ossl_fail("CSR subjectAltName", WARD_ECRYPTO);
        goto out;
    }
    ext = NULL;
    if (!X509_REQ_add_extensions(req, exts))
        rc = ossl_fail("CSR extensions", WARD_ECRYPTO);
out:
    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(gens);
    return rc;
}

int ward_csr_create(EVP_PKEY *key, const char *cn, const char *const *sans, size_t nsans,
                    char **pem, size_t *len)
{
    X509_REQ *req = NULL;
    BIO *bio = NULL;
    int rc = 0;

    *pem = NULL;
    if (!key || !cn || !*cn || (nsans && !sans))
        return WARD_EINVAL;
    req = X509_REQ_new();
    if (!req || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
        !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_REQ_set_pubkey(req, key)) {
        rc = ossl_fail("CSR", WARD_ECRYPTO);
        goto out;
    }
    if (nsans) {
        rc = add_sans(req, sans, nsans);
        if (rc != 0)
            goto out;
    }
    /* Ed25519 signs the message itself: no separate digest. */
    if (!X509_REQ_sign(req, key, EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256())) {
        rc = ossl_fail("CSR signature", WARD_ECRYPTO);
        goto out;
    }
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509_REQ(bio, req)) {
        rc = ossl_fail("CSR PEM", WARD_ECRYPTO);
        goto out;
    }
    rc = bio_to_string(bio, pem, len);
out:
    BIO_free(bio);
    X509_REQ_free(req);
    return rc;
}

int ward_csr_parse(const void *buf, size_t len, X509_REQ **out)
{
    X509_REQ *req = NULL;
    BIO *bio = NULL;
    EVP_PKEY *pub;
    int rc = 0;

    *out = NULL;
    if (len > INT_MAX)
        return WARD_ETOOBIG;
    if (looks_pem(buf, len)) {
        bio = mem_bio(buf, len);
        if (bio)
            req = PEM_read_bio_X509_REQ(bio, NULL, no_passphrase, NULL);
    } else {
        const unsigned char *p = buf;
        req = d2i_X509_REQ(NULL, &p, (long)len);
        if (req && p != (const unsigned char *)buf + len) {
            X509_REQ_free(req);
            req = NULL;
        }
    }
    if (!req) {
        rc = ossl_fail("parsing CSR", WARD_EPARSE);
        goto out;
    }
    pub = X509_REQ_get0_pubkey(req);
    if (!pub || X509_REQ_verify(req, pub) != 1) {
        rc = ossl_fail("CSR signature", WARD_EVERIFY);
        goto out;
    }
    *out = req;
    req = NULL;
out:
    X509_REQ_free(req);
    BIO_free(bio);
    return rc;
}

static int name_cn(const X509_NAME *name, char **out)
{
    const X509_NAME_ENTRY *e;
    unsigned char *utf8 = NULL;
    int n, idx, rc = 0;

    *out = NULL;
    idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    if (idx < 0)
        return WARD_ENOENT;
    e = X509_NAME_get_entry(name, idx);
    n = e ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) : -1;
    if (n < 0) {
        rc = ossl_fail("certificate CN", WARD_EPARSE);
        goto out;
    }
    if (memchr(utf8, '\0', (size_t)n)) {
        rc = WARD_EPARSE; /* "good.example\0.evil" must not compare equal to anything */
        goto out;
    }
    *out = ward_strndup((const char *)utf8, (size_t)n);
    if (!*out)
        rc = WARD_ENOMEM;
out:
    OPENSSL_free(utf8);
    return rc;
}

int ward_csr_subject_cn(const X509_REQ *req, char **out)
{
    return name_cn(X509_REQ_get_subject_name(req), out);
}

EVP_PKEY *ward_csr_pubkey(X509_REQ *req)
{
    return X509_REQ_get0_pubkey(req);
}

/* ---- X.509 ---------------------------------------------------------------------------- */

int ward_x509_parse(const void *buf, size_t len, X509 **out)
{
    X509 *cert = NULL;
    BIO *bio = NULL;
    int rc = 0;

    *out = NULL;
    if (len > INT_MAX)
        return WARD_ETOOBIG;
    if (looks_pem(buf, len)) {
        bio = mem_bio(buf, len);
        if (bio)
            cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    } else {
        const unsigned char *p = buf;
        cert = d2i_X509(NULL, &p, (long)len);
        if (cert && p != (const unsigned char *)buf + len) {
            X509_free(cert);
            cert = NULL;
        }
    }
    if (!cert) {
        rc = ossl_fail("parsing certificate", WARD_EPARSE);
        goto out;
    }
    *out = cert;
out:
    BIO_free(bio);
    return rc;
}

int ward_x509_parse_chain(const void *buf, size_t len, STACK_OF(X509) * *out)
{
    STACK_OF(X509) *chain = NULL;
    X509 *cert = NULL;
    BIO *bio = NULL;
    unsigned long e;
    int rc = 0;

    *out = NULL;
    if (len > INT_MAX)
        return WARD_ETOOBIG;
    bio = mem_bio(buf, len);
    chain = sk_X509_new_null();
    if (!bio || !chain) {
        rc = ossl_fail("parsing certificate chain", WARD_ENOMEM);
        goto out;
    }
    while ((cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        if (!sk_X509_push(chain, cert)) {
            rc = ossl_fail("parsing certificate chain", WARD_ENOMEM);
            goto out;
        }
        cert = NULL;
    }
    /* The loop ends with "no start line" at the end of the text; anything else is a
     * broken certificate in the middle of the bundle. */
    e = ERR_peek_last_error();
    if (sk_X509_num(chain) == 0 ||
        (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))) {
        rc = ossl_fail("parsing certificate chain", WARD_EPARSE);
        goto out;
    }
    ERR_clear_error();
    *out = chain;
    chain = NULL;
out:
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    BIO_free(bio);
    return rc;
}

int ward_x509_to_pem(const X509 *cert, char **out, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = 0;

    *out = NULL;
    if (!bio || !PEM_write_bio_X509(bio, cert)) {
        rc = ossl_fail("certificate PEM", WARD_ECRYPTO);
        goto out;
    }
    rc = bio_to_string(bio, out, len);
out:
    BIO_free(bio);
    return rc;
}

int ward_x509_subject_cn(const X509 *cert, char **out)
{
    return name_cn(X509_get_subject_name(cert), out);
}

int ward_x509_issuer(const X509 *cert, char **out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = 0;

    *out = NULL;
    /* RFC 2253, but keep UTF-8 as it is instead of \XX escapes. */
    if (!bio || X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0,
                                   XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        rc = ossl_fail("certificate issuer", WARD_ECRYPTO);
        goto out;
    }
    rc = bio_to_string(bio, out, NULL);
out:
    BIO_free(bio);
    return rc;
}

int ward_x509_serial_hex(const X509 *cert, char **out)
{
    BIGNUM *bn = NULL;
    char *hex = NULL;
    int rc = 0;

    *out = NULL;
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    hex = bn ? BN_bn2hex(bn) : NULL;
    if (!hex) {
        rc = ossl_fail("certificate serial", WARD_ENOMEM);
        goto out;
    }
    *out = ward_strdup(hex);
    if (!*out)
        rc = WARD_ENOMEM;
out:
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), so
 * no timegm() is needed: it is not portable. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    long long secs;
    memset(&tm, 0, sizeof(tm));
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return ossl_fail("certificate time", WARD_EPARSE);
    secs = days_from_civil((long long)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                           (unsigned)tm.tm_mday) *
               86400 +
           tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    *out = (time_t)secs;
    if ((long long)*out != secs)
        return WARD_ETOOBIG; /* 32-bit time_t and a date past 2038 */
    return 0;
}

int ward_x509_validity(const X509 *cert, time_t *not_before, time_t *not_after)
{
    int rc = asn1_time_to_time_t(X509_get0_notBefore(cert), not_before);
    if (rc == 0)
        rc = asn1_time_to_time_t(X509_get0_notAfter(cert), not_after);
    return rc;
}

int ward_x509_verify(X509 *leaf, STACK_OF(X509) * untrusted, X509 *ca, time_t at,
                     const char **reason)
{
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    int rc = 0, verr;

    if (reason)
        *reason = "invalid argument";
    if (!leaf || !ca)
        return WARD_EINVAL;
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    if (!store || !ctx || !X509_STORE_add_cert(store, ca) ||
        !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        rc = ossl_fail("certificate verification setup", WARD_ENOMEM);
        if (reason)
            *reason = "out of memory";
        goto out;
    }
    /* The pinned CA is the trust anchor whatever its position in a longer chain. */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
    if (at)
        X509_STORE_CTX_set_time(ctx, 0, at);
    if (X509_verify_cert(ctx) == 1) {
        if (reason)
            *reason = "ok";
        goto out;
    }
    verr = X509_STORE_CTX_get_error(ctx);
    if (reason)
        *reason = X509_verify_cert_error_string(verr);
    WARD_DEBUG("certificate verification failed at depth %d: %s",
               X509_STORE_CTX_get_error_depth(ctx), X509_verify_cert_error_string(verr));
    rc = verr == X509_V_ERR_CERT_HAS_EXPIRED ? WARD_EEXPIRED : WARD_EVERIFY;
    ward_crypto_log_errors("certificate verification");
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

/* ---- SPKI pins ------------------------------------------------------------------------ */

static const char pin_prefix[] = "sha256:";
#define PIN_PREFIX_LEN (sizeof(pin_prefix) - 1)

int ward_pin_from_key(const EVP_PKEY *key, char out[WARD_PIN_SIZE])
{
    unsigned char *der = NULL;
    uint8_t md[WARD_SHA256_LEN];
    int n, rc;

    out[0] = '\0';
    if (!key)
        return WARD_EINVAL;
    n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return ossl_fail("public key DER", WARD_ECRYPTO);
    rc = ward_sha256(der, (size_t)n, md);
    OPENSSL_free(der);
    if (rc != 0)
        return rc;
    memcpy(out, pin_prefix, PIN_PREFIX_LEN);
    return ward_hex_encode(md, sizeof(md), out + PIN_PREFIX_LEN, WARD_PIN_SIZE - PIN_PREFIX_LEN);
}

int ward_pin_from_cert(const X509 *cert, char out[WARD_PIN_SIZE])
{
    out[0] = '\0';
    if (!cert)
        return WARD_EINVAL;
    return ward_pin_from_key(X509_get0_pubkey(cert), out);
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int pin_parse(const char *pin, uint8_t md[WARD_SHA256_LEN])
{
    if (!pin || strlen(pin) != PIN_PREFIX_LEN + 2 * WARD_SHA256_LEN)
        return WARD_EINVAL;
    for (size_t i = 0; i < PIN_PREFIX_LEN; i++)
        if (ascii_lower((unsigned char)pin[i]) != pin_prefix[i])
            return WARD_EINVAL;
    return ward_hex_decode(pin + PIN_PREFIX_LEN, md, WARD_SHA256_LEN) == 0 ? 0 : WARD_EINVAL;
}

int ward_pin_check(const char *expected, const char *actual)
{
    uint8_t a[WARD_SHA256_LEN], b[WARD_SHA256_LEN];
    if (pin_parse(expected, a) != 0 || pin_parse(actual, b) != 0)
        return WARD_EINVAL;
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0 ? 0 : WARD_EPIN;
}

int ward_pin_check_cert(const X509 *cert, const char *expected)
{
    char actual[WARD_PIN_SIZE];
    int rc = ward_pin_from_cert(cert, actual);
    if (rc != 0)
        return rc;
    return ward_pin_check(expected, actual);
}

/* ---- Ed25519 -------------------------------------------------------------------------- */

int ward_ed25519_generate(EVP_PKEY **out)
{
    return keygen("ED25519", NULL, out);
}

int ward_ed25519_public_raw(const EVP_PKEY *key, uint8_t pub[WARD_ED25519_PUB_LEN])
{
    size_t n = WARD_ED25519_PUB_LEN;
    if (!key || !EVP_PKEY_is_a(key, "ED25519"))
        return WARD_EINVAL;
    if (EVP_PKEY_get_raw_public_key(key, pub, &n) != 1 || n != WARD_ED25519_PUB_LEN)
        return ossl_fail("Ed25519 public key", WARD_ECRYPTO);
    return 0;
}

int ward_ed25519_from_public_raw(const uint8_t pub[WARD_ED25519_PUB_LEN], EVP_PKEY **out)
{
    *out = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, WARD_ED25519_PUB_LEN);
    if (!*out)
        return ossl_fail("Ed25519 public key", WARD_EPARSE);
    return 0;
}

int ward_ed25519_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[WARD_ED25519_SIG_LEN])
{
    EVP_MD_CTX *md = NULL;
    size_t siglen = WARD_ED25519_SIG_LEN;
    int rc = 0;

    if (!key || !EVP_PKEY_is_a(key, "ED25519"))
        return WARD_EINVAL;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, sig, &siglen, msg, len) != 1 || siglen != WARD_ED25519_SIG_LEN)
        rc = ossl_fail("Ed25519 sign", WARD_ECRYPTO);
    EVP_MD_CTX_free(md);
    return rc;
}

int ward_ed25519_verify(const uint8_t pub[WARD_ED25519_PUB_LEN], const void *msg, size_t len,
                        const uint8_t sig[WARD_ED25519_SIG_LEN])
{
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    int rc;

    rc = ward_ed25519_from_public_raw(pub, &key);
    if (rc != 0)
        return WARD_EVERIFY;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) != 1) {
        rc = ossl_fail("Ed25519 verify", WARD_ECRYPTO);
        goto out;
    }
    if (EVP_DigestVerify(md, sig, WARD_ED25519_SIG_LEN, msg, len) != 1)
        rc = ossl_fail("Ed25519 verify", WARD_EVERIFY);
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return rc;
}

int ward_sign_sha256(EVP_PKEY *key, const void *msg, size_t len, char **sig_b64)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc = 0;

    *sig_b64 = NULL;
    if (!md || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, msg, len) != 1 || !(sig = ward_malloc(siglen)) ||
        EVP_DigestSign(md, sig, &siglen, msg, len) != 1)
        rc = ossl_fail("sign", WARD_ECRYPTO);
    if (rc == 0)
        rc = ward_base64_encode(sig, siglen, 0, sig_b64);
    ward_free(sig);
    EVP_MD_CTX_free(md);
    return rc;
}

int ward_verify_sha256(EVP_PKEY *key, const void *msg, size_t len, const char *sig_b64)
{
    EVP_MD_CTX *md = NULL;
    uint8_t *sig = NULL;
    size_t siglen = 0;
    int rc;

    if (!sig_b64 || ward_base64_decode(sig_b64, strlen(sig_b64), 0, &sig, &siglen) != 0)
        return WARD_EVERIFY;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1)
        rc = ossl_fail("verify", WARD_ECRYPTO);
    else
        rc = EVP_DigestVerify(md, sig, siglen, msg, len) == 1 ? 0 : WARD_EVERIFY;
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    ward_free(sig);
    return rc;
}

/* ---- hashing, encoding, random -------------------------------------------------------- */

int ward_sha256(const void *data, size_t len, uint8_t out[WARD_SHA256_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(len ? data : "", len, out, &n, EVP_sha256(), NULL) != 1 || n != WARD_SHA256_LEN)
        return ossl_fail("SHA-256", WARD_ECRYPTO);
    return 0;
}

int ward_sha256_file(const char *path, uint8_t out[WARD_SHA256_LEN])
{
    EVP_MD_CTX *md = NULL;
    FILE *f = NULL;
    unsigned char chunk[16384];
    unsigned int n = 0;
    size_t got;
    int rc;

    rc = ward_os_fopen_read(path, &f);
    if (rc != 0)
        return rc;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex2(md, EVP_sha256(), NULL) != 1) {
        rc = ossl_fail("SHA-256", WARD_ECRYPTO);
        goto out;
    }
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (EVP_DigestUpdate(md, chunk, got) != 1) {
            rc = ossl_fail("SHA-256", WARD_ECRYPTO);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = WARD_EIO;
        goto out;
    }
    if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != WARD_SHA256_LEN)
        rc = ossl_fail("SHA-256", WARD_ECRYPTO);
out:
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc;
}

int ward_hex_encode(const void *data, size_t len, char *out, size_t outlen)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    if (outlen == 0)
        return WARD_ETOOBIG;
    if (len > (outlen - 1) / 2) {
        out[0] = '\0';
        return WARD_ETOOBIG;
    }
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * len] = '\0';
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ward_hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
    for (size_t i = 0; i < outlen; i++) {
        int hi = hexval((unsigned char)hex[2 * i]), lo;
        if (hi < 0)
            return WARD_EPARSE;
        lo = hexval((unsigned char)hex[2 * i + 1]);
        if (lo < 0)
            return WARD_EPARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * outlen] == '\0' ? 0 : WARD_EPARSE;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ward_base64_encode(const void *data, size_t len, unsigned flags, char **out)
{
    const char *alpha = (flags & WARD_BASE64_URL) ? b64_url : b64_std;
    int pad = !(flags & WARD_BASE64_URL);
    const unsigned char *p = data;
    size_t i, o = 0;
    char *s;

    *out = NULL;
    if (len > ((size_t)-1 / 4) * 3 - 3)
        return WARD_ETOOBIG;
    s = ward_malloc((len + 2) / 3 * 4 + 1);
    if (!s)
        return WARD_ENOMEM;
    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        s[o++] = alpha[v >> 18 & 63];
        s[o++] = alpha[v >> 12 & 63];
        s[o++] = alpha[v >> 6 & 63];
        s[o++] = alpha[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0);
        s[o++] = alpha[v >> 18 & 63];
        s[o++] = alpha[v >> 12 & 63];
        if (i + 1 < len)
            s[o++] = alpha[v >> 6 & 63];
        else if (pad)
            s[o++] = '=';
        if (pad)
            s[o++] = '=';
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

static int b64val(const char *alpha, char c)
{
    const char *q = c ? strchr(alpha, c) : NULL;
    return q ? (int)(q - alpha) : -1;
}

int ward_base64_decode(const char *text, size_t textlen, unsigned flags, uint8_t **out,
                       size_t *outlen)
{
    const char *alpha = (flags & WARD_BASE64_URL) ? b64_url : b64_std;
    size_t n = textlen, rem, o = 0;
    uint8_t *d = NULL;
    unsigned v = 0;
    int rc = 0;

    *out = NULL;
    *outlen = 0;
    if (!(flags & WARD_BASE64_URL)) {
        if (n % 4 != 0)
            return WARD_EPARSE;
        if (n && text[n - 1] == '=')
            n--;
        if (n && text[n - 1] == '=')
            n--;
    }
    rem = n % 4;
    if (rem == 1 || (!(flags & WARD_BASE64_URL) && textlen - n != (4 - rem) % 4))
        return WARD_EPARSE;
    d = ward_malloc(n / 4 * 3 + 3);
    if (!d)
        return WARD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int x = b64val(alpha, text[i]);
        if (x < 0) {
            rc = WARD_EPARSE;
            goto out;
        }
        v = v << 6 | (unsigned)x;
        if (i % 4 == 3) {
            d[o++] = (uint8_t)(v >> 16);
            d[o++] = (uint8_t)(v >> 8);
            d[o++] = (uint8_t)v;
            v = 0;
        }
    }
    /* Leftover bits must be zero, so each byte string has exactly one encoding. */
    if (rem == 2) {
        if (v & 0xf) {
            rc = WARD_EPARSE;
            goto out;
        }
        d[o++] = (uint8_t)(v >> 4);
    } else if (rem == 3) {
        if (v & 0x3) {
            rc = WARD_EPARSE;
            goto out;
        }
        d[o++] = (uint8_t)(v >> 10);
        d[o++] = (uint8_t)(v >> 2);
    }
    *out = d;
    *outlen = o;
    d = NULL;
out:
    ward_free(d);
    return rc;
}

int ward_random_bytes(void *out, size_t len)
{
    unsigned char *p = out;
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(p, n) != 1)
            return ossl_fail("random bytes", WARD_ECRYPTO);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- EST wire format -------------------------------------------------------------------- */

int ward_base64_decode_lines(const char *text, size_t len, uint8_t **out, size_t *outlen)
{
    char *clean;
    size_t n = 0;
    int rc;

    *out = NULL;
    *outlen = 0;
    if (!(clean = ward_malloc(len + 1)))
        return WARD_ENOMEM;
    for (size_t i = 0; i < len; i++)
        if (!(text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            clean[n++] = text[i];
    clean[n] = '\0';
    rc = n ? ward_base64_decode(clean, n, 0, out, outlen) : WARD_EPARSE;
    ward_free(clean);
    return rc;
}

int ward_pkcs7_certs_b64(X509 *const *certs, size_t n, char **out, size_t *len)
{
    PKCS7 *p7 = PKCS7_new();
    EVP_ENCODE_CTX *ectx = EVP_ENCODE_CTX_new();
    unsigned char *der = NULL;
    char *b64 = NULL;
    int dlen, l1 = 0, l2 = 0, rc = WARD_ECRYPTO;

    *out = NULL;
    *len = 0;
    if (!p7 || !ectx) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (!PKCS7_set_type(p7, NID_pkcs7_signed) || !PKCS7_content_new(p7, NID_pkcs7_data) ||
        PKCS7_set_detached(p7, 1) != 1)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (!PKCS7_add_certificate(p7, certs[i]))
            goto out;
    if ((dlen = i2d_PKCS7(p7, &der)) <= 0)
        goto out;
    /* 64 characters (48 bytes) a line plus its newline, a partial last line, NUL. */
    b64 = ward_malloc(((size_t)dlen + 47) / 48 * 65 + 1);
    if (!b64) {
        rc = WARD_ENOMEM;
        goto out;
    }
    EVP_EncodeInit(ectx);
    if (EVP_EncodeUpdate(ectx, (unsigned char *)b64, &l1, der, dlen) != 1)
        goto out;
    EVP_EncodeFinal(ectx, (unsigned char *)b64 + l1, &l2);
    b64[l1 + l2] = '\0';
    *out = b64;
    *len = (size_t)(l1 + l2);
    b64 = NULL;
    rc = 0;
out:
    if (rc)
        ward_crypto_log_errors("certs-only PKCS#7");
    ward_free(b64);
    OPENSSL_free(der);
    PKCS7_free(p7);
    EVP_ENCODE_CTX_free(ectx);
    return rc;
}

int ward_pkcs7_certs_parse(const void *buf, size_t len, size_t max, STACK_OF(X509) * *out)
{
    uint8_t *der = NULL;
    size_t dlen = 0;
    const unsigned char *p;
    PKCS7 *p7 = NULL;
    STACK_OF(X509) * certs, *copy = NULL;
    int rc;

    *out = NULL;
    if ((rc = ward_base64_decode_lines(buf, len, &der, &dlen)) != 0)
        return rc;
    if (dlen > LONG_MAX) {
        rc = WARD_ETOOBIG;
        goto out;
    }
    p = der;
    p7 = d2i_PKCS7(NULL, &p, (long)dlen);
    if (!p7 || p != der + dlen || !PKCS7_type_is_signed(p7) || !p7->d.sign ||
        !(certs = p7->d.sign->cert) || sk_X509_num(certs) == 0) {
        ERR_clear_error();
        rc = WARD_EPARSE;
        goto out;
    }
    if ((size_t)sk_X509_num(certs) > max) {
        rc = WARD_ETOOBIG;
        goto out;
    }
    if (!(copy = sk_X509_new_null())) {
        rc = WARD_ENOMEM;
        goto out;
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        if (!X509_up_ref(c) || !sk_X509_push(copy, c)) {
            X509_free(c);
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    *out = copy;
    copy = NULL;
out:
    sk_X509_pop_free(copy, X509_free);
    PKCS7_free(p7);
    ward_free(der);
    return rc;
}
