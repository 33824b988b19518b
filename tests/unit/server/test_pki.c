/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the service CA helpers (server/pki.h): a CA and the certificates it issues
 * verify with the common chain check, carry the requested names and extensions, get
 * distinct 128-bit serials, and bad SANs or arguments are refused. */
#include "wtest.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/pki.h"
#include "ward/alloc.h"
#include "ward/crypto.h"

WT_TEST(ca_and_leaf_verify)
{
    X509 *ca = NULL, *leaf = NULL, *leaf2 = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    const char *sans[] = {"DNS:localhost", "IP:127.0.0.1", "IP:::1", "ward.example"};
    char *cn = NULL, *s1 = NULL, *s2 = NULL;
    const char *reason = NULL;
    time_t nb, na, now = time(NULL);
    GENERAL_NAMES *gens;

    WT_OK(srv_pki_make_ca("Ward Test CA", 86400, &ca, &ca_key));
    WT_EQ_INT(X509_check_ca(ca), 1);
    WT_OK(ward_x509_verify(ca, NULL, ca, 0, &reason));
    WT_OK(ward_key_generate_p256(&key));
    WT_OK(srv_pki_issue(ca, ca_key, key, "d-0001", sans, 4, 3600, &leaf));
    WT_OK(ward_x509_verify(leaf, NULL, ca, 0, &reason));
    WT_OK(ward_x509_subject_cn(leaf, &cn));
    WT_EQ_STR(cn, "d-0001");
    WT_EQ_INT(X509_check_ca(leaf), 0);
    WT_EQ_INT(X509_check_host(leaf, "localhost", 0, 0, NULL), 1);
    WT_EQ_INT(X509_check_host(leaf, "ward.example", 0, 0, NULL), 1);
    WT_EQ_INT(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    WT_EQ_INT(X509_check_ip_asc(leaf, "::1", 0), 1);
    WT_EQ_INT(X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0), 1);
    WT_EQ_INT(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);
    gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    WT_ASSERT(gens != NULL);
    WT_EQ_INT(sk_GENERAL_NAME_num(gens), 4);
    GENERAL_NAMES_free(gens);
    WT_OK(ward_x509_validity(leaf, &nb, &na));
    WT_ASSERT(nb <= now - SRV_PKI_BACKDATE_S + 5 && nb >= now - SRV_PKI_BACKDATE_S - 5);
    WT_ASSERT(na >= now + 3595 && na <= now + 3605);

    /* 128-bit random serials: two issues differ, and are 15..16 bytes long. */
    WT_OK(srv_pki_issue(ca, ca_key, key, "d-0001", NULL, 0, 3600, &leaf2));
    WT_OK(ward_x509_serial_hex(leaf, &s1));
    WT_OK(ward_x509_serial_hex(leaf2, &s2));
    WT_ASSERT(strcmp(s1, s2) != 0);
    WT_ASSERT(strlen(s1) >= 26 && strlen(s1) <= 34);

    ward_free(cn);
    ward_free(s1);
    ward_free(s2);
    X509_free(leaf);
    X509_free(leaf2);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
}

WT_TEST(other_ca_does_not_verify)
{
    X509 *ca = NULL, *ca2 = NULL, *leaf = NULL;
    EVP_PKEY *k = NULL, *k2 = NULL, *key = NULL;

    WT_OK(srv_pki_make_ca("CA one", 86400, &ca, &k));
    WT_OK(srv_pki_make_ca("CA two", 86400, &ca2, &k2));
    WT_OK(ward_key_generate_p256(&key));
    WT_OK(srv_pki_issue(ca2, k2, key, "x", NULL, 0, 3600, &leaf));
    WT_EQ_ERR(ward_x509_verify(leaf, NULL, ca, 0, NULL), WARD_EVERIFY);
    /* The CA key must match the CA certificate. */
    X509_free(leaf);
    leaf = NULL;
    WT_EQ_ERR(srv_pki_issue(ca, k2, key, "x", NULL, 0, 3600, &leaf), WARD_EINVAL);
    WT_ASSERT(leaf == NULL);
    X509_free(ca);
    X509_free(ca2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(key);
}

WT_TEST(bad_arguments)
{
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *k = NULL, *key = NULL;
    const char *bad_ip[] = {"IP:300.1.1.1"};
    const char *bad_type[] = {"URI:https://x"};
    const char *empty[] = {""};

    WT_OK(srv_pki_make_ca("CA", 86400, &ca, &k));
    WT_OK(ward_key_generate_p256(&key));
    WT_EQ_ERR(srv_pki_issue(ca, k, key, "x", bad_ip, 1, 3600, &leaf), WARD_EINVAL);
    WT_EQ_ERR(srv_pki_issue(ca, k, key, "x", bad_type, 1, 3600, &leaf), WARD_EINVAL);
    WT_EQ_ERR(srv_pki_issue(ca, k, key, "x", empty, 1, 3600, &leaf), WARD_EINVAL);
    WT_EQ_ERR(srv_pki_issue(ca, k, key, "", NULL, 0, 3600, &leaf), WARD_EINVAL);
    WT_EQ_ERR(srv_pki_issue(ca, k, key, "x", NULL, 0, 0, &leaf), WARD_EINVAL);
    WT_EQ_ERR(srv_pki_issue(NULL, k, key, "x", NULL, 0, 10, &leaf), WARD_EINVAL);
    WT_ASSERT(leaf == NULL);
    WT_EQ_ERR(srv_pki_make_ca("", 10, &ca, &k), WARD_EINVAL);
    X509_free(ca);
    EVP_PKEY_free(k);
    EVP_PKEY_free(key);
}
