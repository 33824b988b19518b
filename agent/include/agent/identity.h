/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device identity enrollment creates: the private key (a 0600 file in the state
 * directory), and in the state database the device certificate, the service CA, the pinned
 * command key, the device id and the service URL. Certificate and key-file name change in
 * one database transaction, so the key on disk and the certificate in use never disagree,
 * even if renewal is killed half way. Also the agent's lifecycle state (not enrolled,
 * enrolled, needs re-enrollment) and the facts `ward status` shows.
 */
#ifndef AGENT_IDENTITY_H
#define AGENT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "ward/crypto.h"

struct agent_state;
struct agent_authority;

enum agent_lifecycle {
    AGENT_NOT_ENROLLED = 0,
    AGENT_ENROLLED,
    AGENT_NEEDS_REENROLLMENT,
};

struct agent_identity {
    char *device_id;
    char *server_url;
    char *cert_pem; /* device certificate */
    char *ca_pem;   /* service CA, the only trust anchor for the service */
    char *key_path; /* absolute path of the current private key file */
    uint8_t command_key[WARD_ED25519_PUB_LEN];
    int64_t not_before, not_after; /* of cert_pem */
};

/* Meta keys (state.c's meta table) that status and check-in share. */
#define AGENT_META_LIFECYCLE "lifecycle" /* absent, or "needs_reenrollment" */
#define AGENT_META_REENROLL_REASON "reenroll_reason"
#define AGENT_META_LAST_CHECKIN "last_checkin" /* ISO 8601 */
#define AGENT_META_NEXT_CHECKIN "next_checkin" /* ISO 8601, estimated */
#define AGENT_META_LAST_ERROR "last_error"
#define AGENT_META_INTERVAL "checkin_interval" /* seconds, as the service last said */
#define AGENT_META_UNENROLL "unenroll_pending"

/* Loads the identity; WARD_ENOENT when not enrolled. *out is filled (release it). */
int agent_identity_load(struct agent_state *st, struct agent_identity *out);
void agent_identity_release(struct agent_identity *id);

enum agent_lifecycle agent_identity_lifecycle(struct agent_state *st);
const char *agent_lifecycle_name(enum agent_lifecycle l);

/* Stores a new identity after enrollment, replacing any earlier one (and its command
 * journal, outbox and sequence high-water mark, which belonged to the old device): writes
 * the key to <state>/device.key (0600) and the rest, with the grants (auth; NULL: none
 * stored, read as agent/authority.h's default), in one transaction. */
int agent_identity_store_new(struct agent_state *st, EVP_PKEY *key, const char *device_id,
                             const char *server_url, const char *cert_pem, const char *ca_pem,
                             const uint8_t command_key[WARD_ED25519_PUB_LEN],
                             const struct agent_authority *auth);

/* Renewal: writes the new key next to the current one under the other of two names, then
 * switches certificate, CA and key name in one transaction, then removes the old key. */
int agent_identity_store_renewal(struct agent_state *st, EVP_PKEY *key, const char *cert_pem,
                                 const char *ca_pem);

/* Deletes the key files and every identity row (unenroll). The journal and outbox go too. */
int agent_identity_delete(struct agent_state *st);

/* Persists needs_reenrollment with a reason; leaves the identity in place for status. */
int agent_identity_set_needs_reenrollment(struct agent_state *st, const char *reason);

/* Reads the current private key PEM; *pem is new (wipe and ward_free). */
int agent_identity_key_pem(const struct agent_identity *id, char **pem, size_t *len);

/* Checks that cert_pem is a certificate for `key`, issued by ca_pem and valid now; fills
 * the validity window. WARD_EVERIFY / WARD_EEXPIRED / WARD_EPARSE. */
int agent_identity_check_cert(const char *cert_pem, const char *ca_pem, EVP_PKEY *key,
                              int64_t *not_before, int64_t *not_after);

#endif
