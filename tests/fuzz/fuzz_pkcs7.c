/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for ward_pkcs7_certs_parse, which reads the EST service's answers
 * (cacerts, simpleenroll) for the client_cert kind. Results are checked, not just survived:
 * a failure is one of the documented codes with no output; a success has 1 to 16
 * certificates, and encoding them again and parsing that gives the same certificates.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"

#define MAX_CERTS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    STACK_OF(X509) *certs = NULL, *again = NULL;
    X509 *list[MAX_CERTS];
    char *b64 = NULL;
    size_t len = 0;
    int rc = ward_pkcs7_certs_parse(data, size, MAX_CERTS, &certs);
    int n;

    if (rc != 0) {
        check(certs == NULL);
        check(rc == WARD_EPARSE || rc == WARD_ETOOBIG || rc == WARD_ENOMEM);
        return 0;
    }
    n = sk_X509_num(certs);
    check(n >= 1 && n <= MAX_CERTS);
    for (int i = 0; i < n; i++)
        list[i] = sk_X509_value(certs, i);
    rc = ward_pkcs7_certs_b64(list, (size_t)n, &b64, &len);
    check(rc == 0 || rc == WARD_ENOMEM || rc == WARD_ECRYPTO);
    if (rc == 0) {
        check(ward_pkcs7_certs_parse(b64, len, MAX_CERTS, &again) == 0);
        check(sk_X509_num(again) == n);
        for (int i = 0; i < n; i++)
            check(X509_cmp(sk_X509_value(again, i), list[i]) == 0);
    }
    ward_free(b64);
    sk_X509_pop_free(again, X509_free);
    sk_X509_pop_free(certs, X509_free);
    return 0;
}
