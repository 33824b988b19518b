/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificates for devices by EST (RFC 7030): certificate profiles (what a certificate of a
 * profile says: subject, SANs, EKUs, lifetime, allowed key types), the issuing CA that signs
 * them (separate from the service CA, server/app.h), and the record of every certificate
 * issued, with revocation. serve.c maps the EST endpoints onto srv_est_cacerts and
 * srv_est_enroll; the admin CLI uses the rest. docs/protocol.md describes the wire format.
 */
#ifndef SERVER_EST_H
#define SERVER_EST_H

#include <stddef.h>

#include <jansson.h>

struct srv_app;

#define SRV_CERT_PROFILE_MAX_BYTES ((size_t)16 * 1024)
/* A base64 PKCS#10 body: an RSA-4096 CSR with a few extensions is under 3 KiB in base64. */
#define SRV_EST_MAX_BODY ((size_t)16 * 1024)
#define SRV_CERT_LIFETIME_MIN 60L
#define SRV_CERT_LIFETIME_MAX (825L * 86400)
#define SRV_EST_PREFIX "/.well-known/est/"

/* ---- profiles (admin CLI) ----------------------------------------------------------- */

/* Validates a profile document (docs/operations.md, "Certificate profiles") and stores its
 * normalized form (lifetime in seconds, key as an array), replacing a profile with the same
 * id. *out is {"id": ..., "created": bool, "profile": {...}}, new. WARD_EINVAL /
 * WARD_EPARSE / WARD_ETOOBIG with msg set to one line saying what is wrong. */
int srv_cert_profile_put(struct srv_app *app, const char *buf, size_t len, json_t **out, char *msg,
                         size_t msglen);
/* Array of normalized profiles with "updated_at"; *out new. */
int srv_cert_profile_list(struct srv_app *app, json_t **out);
/* One normalized profile with "created_at"/"updated_at"; WARD_ENOENT. *out new. */
int srv_cert_profile_show(struct srv_app *app, const char *id, json_t **out);

/* ---- issued certificates (admin CLI) ------------------------------------------------ */

/* Newest first; device_id NULL for all. Each: serial, device_id, profile, subject,
 * not_before, not_after, issued_at, revoked_at, superseded_by, renewed_from, state
 * ("valid", "expired", "revoked", "superseded"). *out new. */
int srv_issued_cert_list(struct srv_app *app, const char *device_id, json_t **out);
/* Marks the certificate with that serial (hex, any case) revoked: WARD_ENOENT, WARD_EEXIST
 * when it already is. *device_id (may be NULL) gets its device, new. */
int srv_issued_cert_revoke(struct srv_app *app, const char *serial, char **device_id);

/* ---- serving ------------------------------------------------------------------------ */

struct srv_est; /* the issuing CA loaded for `serve` */

/* Loads the issuing CA, creating it first (with a log line) in a data directory made before
 * it existed. *out is new (srv_est_free). */
int srv_est_open(struct srv_app *app, struct srv_est **out);
void srv_est_free(struct srv_est *e);
/* The /cacerts body: the issuing CA as a base64 certs-only PKCS#7; borrowed. */
const char *srv_est_cacerts(const struct srv_est *e, size_t *len);
/* 1 if a profile with that id exists, 0 if not (or the id is malformed), < 0 on error. */
int srv_est_profile_exists(struct srv_est *e, const char *id);

struct srv_est_answer {
    int status;     /* 200, or the 4xx to answer with text */
    char *body;     /* 200: base64 certs-only PKCS#7 with the new certificate, new (ward_free) */
    size_t len;     /* of body */
    char text[256]; /* 4xx: one line for a text/plain answer */
};
/* simpleenroll (reenroll 0) or simplereenroll (1) of a base64 DER PKCS#10 body for the
 * authenticated device_id. Returns 0 with a->status set (200 or 400/403/404), or an error
 * code for a failure the caller answers with 500. */
int srv_est_enroll(struct srv_est *e, const char *device_id, const char *profile, int reenroll,
                   const char *body, size_t len, struct srv_est_answer *a);

#endif
