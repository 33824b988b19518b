/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS server context for ward-server: TLS 1.2 minimum, the server certificate chain and
 * key, client certificates requested (not required: enrollment comes without one) and
 * verified against the service CA, session resumption through the session cache and
 * tickets (a resumed session keeps the client certificate), ALPN http/1.1.
 */
#ifndef SERVER_TLS_H
#define SERVER_TLS_H

#include <openssl/types.h>

/* cert_chain_pem_path: server certificate first, then intermediates and the CA (the agent
 * pins the last one). client_ca_pem_path: CA(s) that issue device certificates; a client
 * certificate from any other CA fails the handshake. *out is new (SSL_CTX_free).
 * WARD_ENOENT / WARD_EPARSE / WARD_ECRYPTO (key does not match the certificate). */
int srv_tls_ctx_new(const char *cert_chain_pem_path, const char *key_pem_path,
                    const char *client_ca_pem_path, SSL_CTX **out);

#endif
