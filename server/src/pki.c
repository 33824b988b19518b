/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate issuing for the service CA (see server/pki.h). Certificates are built with
 * OpenSSL directly; SANs are assembled as GENERAL_NAMEs rather than through the v3 config
 * language so that a name can never smuggle in another extension value.
 */
#define WARD_LOG_TAG "srv-pki"

#include "server/pki.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"

int srv_pki_random_serial(ASN1_INTEGER **out)
{
    BIGNUM *bn = BN_new();
    int rc = WARD_ECRYPTO;

    *out = NULL;
    if (!bn)
        return WARD_ENOMEM;
    /* 128 random bits; a zero serial is invalid, so draw again in that (absurd) case. */
    do {
        if (BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
            goto out;
    } while (BN_is_zero(bn));
    *out = BN_to_ASN1_INTEGER(bn, NULL);
    if (!*out)
        goto out;
    rc = 0;
out:
    if (rc)
        ward_crypto_log_errors("random serial");
    BN_free(bn);
    return rc;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return WARD_ECRYPTO;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : WARD_ECRYPTO;
}

static int add_sans(X509 *cert, const char *const *sans, size_t nsans)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    int rc = WARD_EINVAL;

    if (!names)
        return WARD_ENOMEM;
    for (size_t i = 0; i < nsans; i++) {
        const char *s = sans[i];
        GENERAL_NAME *gn = NULL;
        if (!s || !*s)
            goto out;
        if (strncmp(s, "IP:", 3) == 0) {
            ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s + 3);
            if (!ip)
                goto out;
            gn = GENERAL_NAME_new();
            if (!gn) {
                ASN1_OCTET_STRING_free(ip);
                rc = WARD_ENOMEM;
                goto out;
            }
            GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
        } else {
            const char *dns = strncmp(s, "DNS:", 4) == 0 ? s + 4 : s;
            ASN1_IA5STRING *ia5;
            if (!*dns || strchr(s, ':') != (strncmp(s, "DNS:", 4) == 0 ? s + 3 : NULL))
                goto out; /* "URI:x" or any other unknown type */
            ia5 = ASN1_IA5STRING_new();
            if (!ia5 || !ASN1_STRING_set(ia5, dns, (int)strlen(dns)) ||
                !(gn = GENERAL_NAME_new())) {
                ASN1_IA5STRING_free(ia5);
                rc = WARD_ENOMEM;
                goto out;
            }
            GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
        }
        if (!sk_GENERAL_NAME_push(names, gn)) {
            GENERAL_NAME_free(gn);
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    rc = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1
             ? 0
             : WARD_ECRYPTO;
out:
    GENERAL_NAMES_free(names);
    return rc;
}

/* Common part: version, serial, validity, subject CN, issuer, public key. */
static int cert_base(X509 *c, const char *cn, X509 *issuer, EVP_PKEY *pub, long valid_seconds)
{
    ASN1_INTEGER *serial = NULL;
    X509_NAME *name = X509_get_subject_name(c);
    int rc;

    if ((rc = srv_pki_random_serial(&serial)))
        return rc;
    rc = WARD_ECRYPTO;
    if (!X509_set_version(c, X509_VERSION_3) || !X509_set_serialNumber(c, serial) ||
        !X509_gmtime_adj(X509_getm_notBefore(c), -SRV_PKI_BACKDATE_S) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), valid_seconds) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_set_pubkey(c, pub))
        goto out;
    rc = 0;
out:
    ASN1_INTEGER_free(serial);
    return rc;
}

int srv_pki_make_ca(const char *cn, long valid_seconds, X509 **cert, EVP_PKEY **key)
{
    EVP_PKEY *k = NULL;
    X509 *c = NULL;
    int rc;

    if (!cn || !*cn || valid_seconds <= 0 || !cert || !key)
        return WARD_EINVAL;
    *cert = NULL;
    *key = NULL;
    if ((rc = ward_key_generate_p256(&k)))
        goto out;
    if (!(c = X509_new())) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = cert_base(c, cn, NULL, k, valid_seconds)) ||
        (rc = add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) ||
        (rc = add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign")) ||
        (rc = add_ext(c, c, NID_subject_key_identifier, "hash")))
        goto out;
    if (X509_sign(c, k, EVP_sha256()) <= 0) {
        rc = WARD_ECRYPTO;
        goto out;
    }
    *cert = c;
    *key = k;
    c = NULL;
    k = NULL;
out:
    if (rc)
        ward_crypto_log_errors("make CA");
    X509_free(c);
    EVP_PKEY_free(k);
    return rc;
}

int srv_pki_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, const char *cn,
                  const char *const *sans, size_t nsans, long valid_seconds, X509 **out)
{
    X509 *c = NULL;
    int rc;

    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    if (!ca || !ca_key || !pub || !cn || !*cn || valid_seconds <= 0 || (nsans && !sans))
        return WARD_EINVAL;
    if (X509_check_private_key(ca, ca_key) != 1) {
        ward_crypto_log_errors("issue: CA key");
        return WARD_EINVAL;
    }
    if (!(c = X509_new()))
        return WARD_ENOMEM;
    if ((rc = cert_base(c, cn, ca, pub, valid_seconds)) ||
        (rc = add_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE")) ||
        (rc = add_ext(c, ca, NID_key_usage, "critical,digitalSignature")) ||
        (rc = add_ext(c, ca, NID_ext_key_usage, "serverAuth,clientAuth")) ||
        (rc = add_ext(c, ca, NID_subject_key_identifier, "hash")) ||
        (rc = add_ext(c, ca, NID_authority_key_identifier, "keyid:always")))
        goto out;
    if (nsans && (rc = add_sans(c, sans, nsans)))
        goto out;
    if (X509_sign(c, ca_key, EVP_sha256()) <= 0) {
        rc = WARD_ECRYPTO;
        goto out;
    }
    *out = c;
    c = NULL;
out:
    if (rc)
        ward_crypto_log_errors("issue certificate");
    X509_free(c);
    return rc;
}

int srv_pki_issue_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, const struct srv_pki_leaf *l,
                       X509 **out)
{
    ASN1_INTEGER *serial = NULL;
    X509 *c = NULL;
    int empty_subject, rc = WARD_ECRYPTO;

    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    if (!ca || !ca_key || !pub || !l || !l->subject || !l->eku || !*l->eku || l->valid_seconds <= 0)
        return WARD_EINVAL;
    empty_subject = X509_NAME_entry_count(l->subject) == 0;
    if (empty_subject && (!l->sans || sk_GENERAL_NAME_num(l->sans) == 0))
        return WARD_EINVAL;
    if (X509_check_private_key(ca, ca_key) != 1) {
        ward_crypto_log_errors("issue leaf: CA key");
        return WARD_EINVAL;
    }
    if (!(c = X509_new()))
        return WARD_ENOMEM;
    if ((rc = srv_pki_random_serial(&serial)) != 0)
        goto out;
    rc = WARD_ECRYPTO;
    if (!X509_set_version(c, X509_VERSION_3) || !X509_set_serialNumber(c, serial) ||
        !X509_gmtime_adj(X509_getm_notBefore(c), -SRV_PKI_BACKDATE_S) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), l->valid_seconds) ||
        !X509_set_subject_name(c, l->subject) ||
        !X509_set_issuer_name(c, X509_get_subject_name(ca)) || !X509_set_pubkey(c, pub))
        goto out;
    if ((rc = add_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE")) ||
        (rc = add_ext(c, ca, NID_key_usage,
                      l->key_encipherment ? "critical,digitalSignature,keyEncipherment"
                                          : "critical,digitalSignature")) ||
        (rc = add_ext(c, ca, NID_ext_key_usage, l->eku)) ||
        (rc = add_ext(c, ca, NID_subject_key_identifier, "hash")) ||
        (rc = add_ext(c, ca, NID_authority_key_identifier, "keyid:always")))
        goto out;
    if (l->sans && sk_GENERAL_NAME_num(l->sans) > 0 &&
        X509_add1_ext_i2d(c, NID_subject_alt_name, l->sans, empty_subject, X509V3_ADD_DEFAULT) !=
            1) {
        rc = WARD_ECRYPTO;
        goto out;
    }
    if (X509_sign(c, ca_key, EVP_sha256()) <= 0) {
        rc = WARD_ECRYPTO;
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (rc)
        ward_crypto_log_errors("issue leaf certificate");
    ASN1_INTEGER_free(serial);
    X509_free(c);
    return rc;
}
