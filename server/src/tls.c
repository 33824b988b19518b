/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's SSL_CTX (see server/tls.h). Policy lives here in one place: protocol floor,
 * client-certificate request and verification, session resumption, ALPN.
 */
#define WARD_LOG_TAG "srv-tls"

#include "server/tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"

/* Session cache entries; a resumed session skips the certificate exchange. */
#define SRV_TLS_SESSION_CACHE 20480L
#define SRV_TLS_SESSION_TIMEOUT_S 7200L

static const unsigned char sid_ctx[] = "ward-server";

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h11[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no http/1.1 offered: carry on without ALPN */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int file_status(const char *path)
{
    FILE *f = NULL;
    int rc = ward_os_fopen_read(path, &f);
    if (f)
        fclose(f);
    return rc;
}

int srv_tls_ctx_new(const char *cert_chain_pem_path, const char *key_pem_path,
                    const char *client_ca_pem_path, SSL_CTX **out)
{
    SSL_CTX *ctx = NULL;
    STACK_OF(X509_NAME) *names = NULL;
    const char *what = "";
    int rc;

    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    if (!cert_chain_pem_path || !key_pem_path || !client_ca_pem_path)
        return WARD_EINVAL;
    if ((rc = file_status(cert_chain_pem_path)) || (rc = file_status(key_pem_path)) ||
        (rc = file_status(client_ca_pem_path))) {
        WARD_LOG_ERR(rc, "TLS files %s, %s, %s", cert_chain_pem_path, key_pem_path,
                     client_ca_pem_path);
        return rc;
    }
    rc = WARD_ENOMEM;
    if (!(ctx = SSL_CTX_new(TLS_server_method())))
        goto out;
    rc = WARD_ECRYPTO;
    what = "protocol floor";
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
        goto out;
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* Memory BIOs: let SSL_write take partial buffers and keep no idle buffers around. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);

    rc = WARD_EPARSE;
    what = "server certificate chain";
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain_pem_path) != 1)
        goto out;
    what = "server key";
    if (SSL_CTX_use_PrivateKey_file(ctx, key_pem_path, SSL_FILETYPE_PEM) != 1)
        goto out;
    rc = WARD_ECRYPTO;
    what = "server key does not match the certificate";
    if (SSL_CTX_check_private_key(ctx) != 1)
        goto out;

    rc = WARD_EPARSE;
    what = "client CA";
    if (SSL_CTX_load_verify_locations(ctx, client_ca_pem_path, NULL) != 1)
        goto out;
    if (!(names = SSL_load_client_CA_file(client_ca_pem_path)))
        goto out;
    SSL_CTX_set_client_CA_list(ctx, names); /* takes ownership */
    names = NULL;
    /* Complete the server's chain once, from the CA just loaded, and stop OpenSSL from
     * rebuilding it (one signature verification) on every handshake. A data directory whose
     * server.pem holds the leaf only (older init) gets its CA sent this way too. */
    what = "server certificate chain to the CA";
    if (SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR) != 1)
        goto out;
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    /* Requested, not required: enrollment has no certificate yet. One that is sent must
     * chain to the client CA, or the handshake fails. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(ctx, 4);

    rc = WARD_ECRYPTO;
    what = "session cache";
    if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1))
        goto out;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, SRV_TLS_SESSION_CACHE);
    SSL_CTX_set_timeout(ctx, SRV_TLS_SESSION_TIMEOUT_S);
    /* Tickets are on by default (keys random per process); one TLS 1.3 ticket is enough
     * for a client that reconnects one connection at a time. */
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);

    *out = ctx;
    ctx = NULL;
    rc = 0;
out:
    if (rc) {
        ward_crypto_log_errors(what);
        WARD_LOG_ERR(rc, "TLS context: %s", what);
    }
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    SSL_CTX_free(ctx);
    return rc;
}
