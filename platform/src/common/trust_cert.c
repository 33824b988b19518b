/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The portable half of platform/trust.h: deciding that a PEM text is exactly one CA
 * certificate worth trusting, and anchor names. The PEM framing is checked by hand first
 * (one block, nothing around it but whitespace) so a second certificate, a private key or
 * trailing text gets its own message instead of being silently ignored by OpenSSL's PEM
 * reader, which stops after the first block.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "platform/trust.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/error.h"

#define BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define END_CERT "-----END CERTIFICATE-----"
#define BEGIN_ANY "-----BEGIN "

static void set_why(char *why, size_t whylen, const char *fmt, ...) WARD_PRINTF(3, 4);

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *find(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

/* Describes the PEM block starting at p (a "-----BEGIN " line) for a refusal. */
static int refuse_block(const char *p, size_t n, int after_cert, char *why, size_t whylen)
{
    const char *label = p + strlen(BEGIN_ANY);
    size_t ll = 0;
    while (label + ll < p + n && ll < 40 && label[ll] != '-' && label[ll] != '\n')
        ll++;
    if (find(label, ll, "PRIVATE KEY")) {
        set_why(why, whylen,
                "contains a private key (%.*s): refused, a trust root is only the "
                "CA's certificate",
                (int)ll, label);
        return WARD_EPARSE;
    }
    if (after_cert && ll == strlen("CERTIFICATE") && memcmp(label, "CERTIFICATE", ll) == 0) {
        set_why(why, whylen,
                "more than one certificate: give each trust root (not a chain) "
                "as its own setting");
        return WARD_EPARSE;
    }
    set_why(why, whylen, "%s a \"%.*s\" PEM block, not a certificate",
            after_cert ? "the certificate is followed by" : "is", (int)ll, label);
    return WARD_EPARSE;
}

static void time_text(const ASN1_TIME *t, char *out, size_t outlen)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    out[0] = '\0';
    if (!b)
        return;
    if (ASN1_TIME_print(b, t) == 1) {
        n = BIO_get_mem_data(b, &p);
        if (n > 0 && p)
            snprintf(out, outlen, "%.*s", (int)n, p);
    }
    BIO_free(b);
}

/* Seconds since the Unix epoch of an ASN.1 time; PLAT_TRUST_TIME_UNKNOWN when it does not
 * convert. */
static int64_t time_unix(const ASN1_TIME *t)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0); /* portable: no timegm on Windows */
    int days = 0, secs = 0, ok = epoch && t && ASN1_TIME_diff(&days, &secs, epoch, t) == 1;
    ASN1_TIME_free(epoch);
    return ok ? (int64_t)days * 86400 + secs : PLAT_TRUST_TIME_UNKNOWN;
}

/* The serial number as upper-case hex; empty when it does not fit (more than RFC 5280's
 * 20 octets, which a conforming CA never issues). */
static void serial_text(const ASN1_INTEGER *sn, char *out, size_t outlen)
{
    BIGNUM *bn = sn ? ASN1_INTEGER_to_BN(sn, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    out[0] = '\0';
    if (hex && strlen(hex) < outlen)
        snprintf(out, outlen, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
}

static void name_text(const X509_NAME *nm, char *out, size_t outlen)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    out[0] = '\0';
    if (!b)
        return;
    if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0) {
        n = BIO_get_mem_data(b, &p);
        if (n > 0 && p)
            snprintf(out, outlen, "%.*s", (int)n, p);
    }
    BIO_free(b);
}

/* Canonical PEM and SHA-256 of x into out. */
static int fill(X509 *x, struct plat_trust_cert *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *p = NULL;
    long n;
    int rc = WARD_ENOMEM;
    if (!b)
        return WARD_ENOMEM;
    if (PEM_write_bio_X509(b, x) != 1)
        goto out;
    n = BIO_get_mem_data(b, &p);
    if (n <= 0 || !p)
        goto out;
    out->pem = ward_malloc((size_t)n + 1);
    if (!out->pem)
        goto out;
    memcpy(out->pem, p, (size_t)n);
    out->pem[n] = '\0';
    out->pem_len = (size_t)n;
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
        rc = WARD_ECRYPTO;
        goto out;
    }
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(out->sha256 + 2 * i, 3, "%02x", md[i]);
    rc = 0;
out:
    BIO_free(b);
    return rc;
}

int plat_trust_cert_parse(const char *pem, size_t len, int64_t now, unsigned flags,
                          struct plat_trust_cert *out, char *why, size_t whylen)
{
    const char *p = pem, *end = pem + len, *e, *after;
    BIO *bio = NULL;
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const unsigned char *dp;
    long derlen = 0;
    X509 *x = NULL;
    uint32_t exf;
    time_t t = (time_t)now;
    int rc;

    memset(out, 0, sizeof(*out));
    set_why(why, whylen, "%s", "");
    if (len > PLAT_TRUST_PEM_MAX) {
        set_why(why, whylen, "%zu bytes: larger than the %zu a single certificate may have", len,
                PLAT_TRUST_PEM_MAX);
        return WARD_ETOOBIG;
    }
    if (memchr(pem, '\0', len)) {
        set_why(why, whylen, "contains a NUL byte: not PEM text");
        return WARD_EPARSE;
    }
    while (p < end && is_space(*p))
        p++;
    if ((size_t)(end - p) < strlen(BEGIN_CERT) || memcmp(p, BEGIN_CERT, strlen(BEGIN_CERT)) != 0) {
        if ((size_t)(end - p) > strlen(BEGIN_ANY) && memcmp(p, BEGIN_ANY, strlen(BEGIN_ANY)) == 0)
            return refuse_block(p, (size_t)(end - p), 0, why, whylen);
        set_why(why, whylen, "not a PEM certificate (it must start with \"%s\")", BEGIN_CERT);
        return WARD_EPARSE;
    }
    e = find(p, (size_t)(end - p), END_CERT);
    if (!e) {
        set_why(why, whylen, "the certificate has no \"%s\" line", END_CERT);
        return WARD_EPARSE;
    }
    {
        /* a BEGIN inside the block means the END belongs to a later one */
        const char *inner = find(p + 1, (size_t)(e - p - 1), BEGIN_ANY);
        if (inner)
            return refuse_block(inner, (size_t)(end - inner), 1, why, whylen);
    }
    after = e + strlen(END_CERT);
    for (const char *q = after; q < end; q++) {
        if (is_space(*q))
            continue;
        if ((size_t)(end - q) > strlen(BEGIN_ANY) && memcmp(q, BEGIN_ANY, strlen(BEGIN_ANY)) == 0)
            return refuse_block(q, (size_t)(end - q), 1, why, whylen);
        set_why(why, whylen, "text after the certificate's \"%s\" line", END_CERT);
        return WARD_EPARSE;
    }

    bio = BIO_new_mem_buf(p, (int)(after - p));
    if (!bio)
        return WARD_ENOMEM;
    if (PEM_read_bio(bio, &name, &header, &der, &derlen) != 1 || derlen <= 0) {
        unsigned long err = ERR_peek_last_error();
        set_why(why, whylen, "the PEM block does not decode: %s",
                err ? ERR_reason_error_string(err) : "bad base64");
        rc = WARD_EPARSE;
        goto out;
    }
    if (header && header[0]) {
        set_why(why, whylen, "the PEM block has headers (an encrypted or legacy block?)");
        rc = WARD_EPARSE;
        goto out;
    }
    dp = der;
    x = d2i_X509(NULL, &dp, derlen);
    if (!x || dp != der + derlen) {
        unsigned long err = ERR_peek_last_error();
        set_why(why, whylen, "not a valid X.509 certificate: %s",
                !x ? (err ? ERR_reason_error_string(err) : "malformed DER")
                   : "extra bytes after the DER");
        rc = WARD_EPARSE;
        goto out;
    }
    rc = fill(x, out);
    if (rc != 0)
        goto out;
    name_text(X509_get_subject_name(x), out->subject, sizeof(out->subject));
    name_text(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
    serial_text(X509_get0_serialNumber(x), out->serial, sizeof(out->serial));
    time_text(X509_get0_notAfter(x), out->not_after, sizeof(out->not_after));
    out->not_before_unix = time_unix(X509_get0_notBefore(x));
    out->not_after_unix = time_unix(X509_get0_notAfter(x));
    exf = X509_get_extension_flags(x);
    out->is_ca = (exf & EXFLAG_INVALID) == 0 && (exf & EXFLAG_CA) != 0 &&
                 (!(exf & EXFLAG_KUSAGE) || (X509_get_key_usage(x) & KU_KEY_CERT_SIGN));
    out->expired = X509_cmp_time(X509_get0_notAfter(x), &t) < 0;
    out->not_yet_valid = X509_cmp_time(X509_get0_notBefore(x), &t) > 0;
    if ((flags & PLAT_TRUST_REQUIRE_CA) && !out->is_ca) {
        if (exf & EXFLAG_INVALID)
            set_why(why, whylen, "\"%s\": its extensions are invalid", out->subject);
        else if (!(exf & EXFLAG_CA))
            set_why(why, whylen, "\"%s\" is not a CA certificate (no basicConstraints CA:TRUE)",
                    out->subject);
        else
            set_why(why, whylen, "\"%s\": its keyUsage does not allow signing certificates",
                    out->subject);
        rc = WARD_EINVAL;
        goto out;
    }
    if ((flags & PLAT_TRUST_REQUIRE_VALID) && (out->expired || out->not_yet_valid)) {
        char nb[40];
        time_text(X509_get0_notBefore(x), nb, sizeof(nb));
        if (out->expired)
            set_why(why, whylen, "\"%s\" expired on %s", out->subject, out->not_after);
        else
            set_why(why, whylen, "\"%s\" is not valid before %s", out->subject, nb);
        rc = WARD_EEXPIRED;
        goto out;
    }
    rc = 0;
out:
    ERR_clear_error();
    if (rc != 0 && rc != WARD_ENOMEM && why && whylen && !why[0])
        set_why(why, whylen, "%s", ward_strerror(rc));
    if (rc != 0)
        plat_trust_cert_release(out);
    X509_free(x);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    return rc;
}

void plat_trust_cert_release(struct plat_trust_cert *c)
{
    if (!c)
        return;
    ward_free(c->pem);
    c->pem = NULL;
    c->pem_len = 0;
}

int plat_trust_name_ok(const char *name, size_t len)
{
    if (!name || len == 0 || len > PLAT_TRUST_NAME_MAX || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}
