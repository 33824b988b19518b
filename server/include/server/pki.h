/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service CA: creating it and issuing certificates with it (device certificates from
 * enrollment CSRs, the server's own TLS certificate). EC P-256 / ECDSA-SHA256, serials of
 * 128 random bits, notBefore backdated by SRV_PKI_BACKDATE_S to absorb clock skew.
 */
#ifndef SERVER_PKI_H
#define SERVER_PKI_H

#include <stddef.h>

#include <openssl/types.h>
#include <openssl/x509v3.h>

#define SRV_PKI_BACKDATE_S 300L

/* Self-signed CA (basicConstraints CA:TRUE, pathlen 0; keyCertSign, cRLSign) with subject
 * CN=cn, valid valid_seconds from now. *cert and *key are new. */
int srv_pki_make_ca(const char *cn, long valid_seconds, X509 **cert, EVP_PKEY **key);

/* Leaf certificate for pub (borrowed; for a CSR use ward_csr_pubkey() after
 * ward_csr_parse() checked its signature), subject CN=cn, issued and signed by ca/ca_key,
 * valid valid_seconds from now. CA:FALSE, digitalSignature, extendedKeyUsage serverAuth +
 * clientAuth, subject and authority key identifiers, and a subjectAltName when nsans > 0:
 * each SAN is "DNS:name", "IP:addr" (v4 or v6) or a bare DNS name. *out is new.
 * WARD_EINVAL for an unusable SAN or argument. */
int srv_pki_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, const char *cn,
                  const char *const *sans, size_t nsans, long valid_seconds, X509 **out);

/* A leaf whose names the caller built (EST profiles, server/est.h): subject and SANs are
 * borrowed and copied in; eku is a comma list of OpenSSL short names from a fixed table
 * ("clientAuth,emailProtection"), never user text. CA:FALSE, keyUsage digitalSignature (plus
 * keyEncipherment when key_encipherment), subject and authority key identifiers. The
 * subjectAltName is marked critical when the subject is empty (RFC 5280 4.2.1.6). */
struct srv_pki_leaf {
    const X509_NAME *subject;
    GENERAL_NAMES *sans; /* may be NULL or empty */
    const char *eku;
    int key_encipherment;
    long valid_seconds;
};
int srv_pki_issue_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, const struct srv_pki_leaf *l,
                       X509 **out);

/* 128-bit random positive serial, as srv_pki_issue uses; *out is new (ASN1_INTEGER_free). */
int srv_pki_random_serial(ASN1_INTEGER **out);

#endif
