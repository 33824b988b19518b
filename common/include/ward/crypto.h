/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crypto helpers on OpenSSL 3 (EVP APIs only): the device key and its CSR, X.509 parsing
 * and chain verification against a pinned CA, SPKI pins as kubeadm prints them
 * ("sha256:<hex>"), Ed25519 for signed command envelopes, SHA-256, hex and base64, secure
 * random. Private keys are written atomically to files only the owner (POSIX 0600) or
 * SYSTEM and Administrators (Windows DACL) can read.
 *
 * OpenSSL types appear as they are. Ownership is stated per function: "new" means the
 * caller frees it (EVP_PKEY_free, X509_free, X509_REQ_free, sk_X509_pop_free, or
 * ward_free for char *), "borrowed" means it stays owned by the argument it came from.
 * Failures return Ward codes; OpenSSL's error queue is logged once at debug level and
 * cleared where the failure is turned into a code.
 */
#ifndef WARD_CRYPTO_H
#define WARD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <openssl/types.h>
#include <openssl/x509.h>

#define WARD_SHA256_LEN 32
#define WARD_SHA256_HEX_SIZE 65 /* 64 hex digits + NUL */
#define WARD_PIN_SIZE 72        /* "sha256:" + 64 hex digits + NUL */
#define WARD_ED25519_PUB_LEN 32
#define WARD_ED25519_SIG_LEN 64

/* Drains OpenSSL's error queue into the debug log, prefixed with `what`. */
void ward_crypto_log_errors(const char *what);
/* Releases the calling thread's OpenSSL state (error queue, per-thread DRBGs). For work
 * run on libuv's thread pool: those threads outlive OpenSSL's atexit cleanup, which then
 * can no longer free their state (valgrind sees it lost). OpenSSL makes it again on the
 * thread's next call. */
void ward_crypto_thread_done(void);

/* ---- keys ----------------------------------------------------------------------------- */

/* EC P-256 key pair; *out is new. */
int ward_key_generate_p256(EVP_PKEY **out);
/* Writes the private key (unencrypted PKCS#8 PEM) atomically to path, readable only by its
 * owner (see ward_secfile_write). The PEM text is wiped from memory afterwards. */
int ward_key_write_pem(const EVP_PKEY *key, const char *path);
/* RSA key pair of bits (2048..8192, else WARD_EINVAL); *out is new. */
int ward_key_generate_rsa(unsigned bits, EVP_PKEY **out);
/* The private key as unencrypted PKCS#8 PEM in memory, for a writer that confines paths
 * itself (the enforcement run context); *out is new and must be released with
 * ward_secret_free(*out, *len). */
int ward_key_to_pem(const EVP_PKEY *key, char **out, size_t *len);
/* Wipes len bytes of p, then frees it. NULL-safe. */
void ward_secret_free(void *p, size_t len);
/* Loads a private key (any type OpenSSL reads: PKCS#8, SEC1 EC, ...); *out is new.
 * WARD_ENOENT if the file is missing, WARD_EPARSE if it holds no private key. */
int ward_key_load_pem(const char *path, EVP_PKEY **out);
/* A key kept away from any server (the offline command key): encrypted PKCS#8 PEM (PBES2,
 * scrypt, AES-256-CBC) written atomically 0600; the passphrase must be at least
 * WARD_PASSPHRASE_MIN bytes (WARD_EINVAL). Loading with the wrong passphrase is
 * WARD_EVERIFY. Any PKCS#8 reader (openssl pkey -passin) reads the file. */
#define WARD_PASSPHRASE_MIN 12
int ward_key_write_pem_passphrase(const EVP_PKEY *key, const char *path, const char *pass);
int ward_key_load_pem_passphrase(const char *path, const char *pass, EVP_PKEY **out);
/* Same from memory. */
int ward_key_from_pem(const void *buf, size_t len, EVP_PKEY **out);
/* Public key as "-----BEGIN PUBLIC KEY-----" PEM; *out is new (ward_free). */
int ward_pubkey_to_pem(const EVP_PKEY *key, char **out, size_t *len);

/* ---- CSR ------------------------------------------------------------------------------ */

/* PKCS#10 request signed with key (SHA-256), subject CN=cn, and a subjectAltName extension
 * when nsans > 0. Each SAN is "DNS:name", "IP:addr" (v4 or v6), "URI:uri", or a bare name
 * (DNS). *pem is new (ward_free); *len may be NULL. */
int ward_csr_create(EVP_PKEY *key, const char *cn, const char *const *sans, size_t nsans,
                    char **pem, size_t *len);
/* Parses a PEM or DER CSR and checks its self-signature (WARD_EVERIFY if it is wrong);
 * *out is new. */
int ward_csr_parse(const void *buf, size_t len, X509_REQ **out);
/* Subject CN, *out new (ward_free); WARD_ENOENT when there is none. */
int ward_csr_subject_cn(const X509_REQ *req, char **out);
/* The request's public key, borrowed from req. */
EVP_PKEY *ward_csr_pubkey(X509_REQ *req);

/* ---- X.509 ---------------------------------------------------------------------------- */

/* One certificate from PEM (the first one in buf) or DER (detected); *out is new. */
int ward_x509_parse(const void *buf, size_t len, X509 **out);
/* Every certificate of a PEM bundle, in order; WARD_EPARSE if there is none. *out is new
 * (sk_X509_pop_free(chain, X509_free)). */
int ward_x509_parse_chain(const void *buf, size_t len, STACK_OF(X509) * *out);
/* PEM text of a certificate; *out is new (ward_free). */
int ward_x509_to_pem(const X509 *cert, char **out, size_t *len);
/* Subject CN (UTF-8), *out new; WARD_ENOENT if the subject has no CN. */
int ward_x509_subject_cn(const X509 *cert, char **out);
/* Issuer name in RFC 2253 form ("CN=Ward CA,O=Example"), *out new. */
int ward_x509_issuer(const X509 *cert, char **out);
/* Serial number as uppercase hex without separators ("0A1B..."), *out new. */
int ward_x509_serial_hex(const X509 *cert, char **out);
/* Validity window as UTC time_t. */
int ward_x509_validity(const X509 *cert, time_t *not_before, time_t *not_after);

/* Verifies leaf against ca, which is trusted as the anchor even if it is not self-signed
 * (a pinned intermediate works). untrusted (may be NULL) holds intermediates. at is the
 * verification time, 0 for now. Returns 0, WARD_EEXPIRED (the leaf or a chain certificate
 * has expired), WARD_EVERIFY (any other failure), WARD_EINVAL. reason (may be NULL) gets
 * OpenSSL's static description of the failure, "ok" on success. Logs nothing but debug. */
int ward_x509_verify(X509 *leaf, STACK_OF(X509) * untrusted, X509 *ca, time_t at,
                     const char **reason);

/* ---- SPKI pins ------------------------------------------------------------------------ */

/* "sha256:" + hex of SHA-256 over the DER SubjectPublicKeyInfo, as kubeadm's
 * --discovery-token-ca-cert-hash. out must hold WARD_PIN_SIZE bytes. */
int ward_pin_from_cert(const X509 *cert, char out[WARD_PIN_SIZE]);
int ward_pin_from_key(const EVP_PKEY *key, char out[WARD_PIN_SIZE]);
/* Compares two pins in constant time (hex case-insensitive). WARD_EINVAL if `expected` is
 * not "sha256:" followed by 64 hex digits, WARD_EPIN if they differ. */
int ward_pin_check(const char *expected, const char *actual);
int ward_pin_check_cert(const X509 *cert, const char *expected);

/* ---- Ed25519 -------------------------------------------------------------------------- */

/* Key pair; *out is new. */
int ward_ed25519_generate(EVP_PKEY **out);
int ward_ed25519_public_raw(const EVP_PKEY *key, uint8_t pub[WARD_ED25519_PUB_LEN]);
/* *out is new, a public-only key. */
int ward_ed25519_from_public_raw(const uint8_t pub[WARD_ED25519_PUB_LEN], EVP_PKEY **out);
int ward_ed25519_sign(EVP_PKEY *key, const void *msg, size_t len,
                      uint8_t sig[WARD_ED25519_SIG_LEN]);
/* 0 if sig is a valid signature of msg by pub, WARD_EVERIFY otherwise. */
int ward_ed25519_verify(const uint8_t pub[WARD_ED25519_PUB_LEN], const void *msg, size_t len,
                        const uint8_t sig[WARD_ED25519_SIG_LEN]);

/* A signature with SHA-256 by key (the device's EC key: ECDSA, DER), base64 in *sig_b64
 * (new). verify: 0 when it holds, WARD_EVERIFY otherwise. */
int ward_sign_sha256(EVP_PKEY *key, const void *msg, size_t len, char **sig_b64);
int ward_verify_sha256(EVP_PKEY *key, const void *msg, size_t len, const char *sig_b64);

/* ---- hashing, encoding, random -------------------------------------------------------- */

int ward_sha256(const void *data, size_t len, uint8_t out[WARD_SHA256_LEN]);
/* Streams the file; WARD_ENOENT / WARD_EACCES / WARD_EIO on I/O errors. */
int ward_sha256_file(const char *path, uint8_t out[WARD_SHA256_LEN]);

/* Lowercase hex of data into out (2 * len + 1 bytes); WARD_ETOOBIG if out is too small. */
int ward_hex_encode(const void *data, size_t len, char *out, size_t outlen);
/* Decodes exactly 2 * outlen hex digits (either case) into out; WARD_EPARSE otherwise. */
int ward_hex_decode(const char *hex, uint8_t *out, size_t outlen);

#define WARD_BASE64_URL 0x1u /* RFC 4648 section 5 alphabet, no padding */
/* *out is new (ward_free), NUL-terminated. */
int ward_base64_encode(const void *data, size_t len, unsigned flags, char **out);
/* Strict: the exact alphabet, canonical padding (required for standard, refused for URL),
 * no whitespace, zero trailing bits. *out is new (ward_free), *outlen its length. */
int ward_base64_decode(const char *text, size_t textlen, unsigned flags, uint8_t **out,
                       size_t *outlen);

/* Base64 that may be broken into lines (EST bodies, RFC 7030 section 4): whitespace is
 * dropped, the rest decoded strictly (ward_base64_decode). WARD_EPARSE for an empty text. */
int ward_base64_decode_lines(const char *text, size_t len, uint8_t **out, size_t *outlen);

/* ---- EST certs-only PKCS#7 (RFC 7030 sections 4.1.3 and 4.2.3) --------------------------- */

/* A degenerate signedData (no signers, no content) holding certs, DER, base64 in 64-column
 * lines, as EST answers carry it. *out is new. */
int ward_pkcs7_certs_b64(X509 *const *certs, size_t n, char **out, size_t *len);
/* The certificates of such an answer (base64 as above, line breaks allowed), in order.
 * WARD_EPARSE when it is not a certs-only signedData with at least one certificate or has
 * bytes after it, WARD_ETOOBIG for more than max certificates. *out is new
 * (sk_X509_pop_free(x, X509_free)). Nothing is verified here. */
int ward_pkcs7_certs_parse(const void *buf, size_t len, size_t max, STACK_OF(X509) * *out);

/* Cryptographically secure random bytes (RAND_bytes). */
int ward_random_bytes(void *out, size_t len);

/* ---- private files: OS back end (common/src/<os>/secfile.c), paths in UTF-8 ------------- */

/* Writes data to path atomically (temp file in the same directory, flush to disk, rename
 * over path) with access for the owner only: mode 0600 on POSIX, a protected DACL granting
 * SYSTEM and Administrators full control on Windows. */
int ward_secfile_write(const char *path, const void *data, size_t len);
/* 0 if path is private as ward_secfile_write makes it, WARD_EACCES if others may read it,
 * WARD_ENOENT if it does not exist, WARD_ENOTSUP where file permissions cannot be checked
 * (Windows programs under Wine, which does not keep DACLs). */
int ward_secfile_check(const char *path);
/* Small OS file helpers that portable code in common/ needs: open for binary reading
 * (close-on-exec), rename replacing the target, remove (WARD_ENOENT if missing). */
int ward_os_fopen_read(const char *path, FILE **out);
int ward_os_rename(const char *from, const char *to);
int ward_os_remove(const char *path);

#endif
