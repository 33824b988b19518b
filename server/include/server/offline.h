/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The offline administrator key (docs/commands.md, "The offline key"). The service keeps
 * only public halves (table offline_keys); the private key is a passphrase-protected
 * PKCS#8 file the administrator keeps elsewhere. Devices enrolling pin the newest
 * unretired key; destructive commands for them then need a document that key signed:
 *
 *   ward-server command prepare DEVICE FORM... --out REQ   (on the service: checks params)
 *   ward-server command sign REQ --key KEY                 (anywhere: no data directory)
 *   ward-server command send --signed REQ                  (on the service: verifies, queues)
 *
 * The request file is JSON {"format": "ward-offline-request-1", "document": base64,
 * "summary": {...}, and after signing "signature": base64, "key": fingerprint}; the
 * document's bytes are what the key signs and what the device verifies (agent/authority.h).
 */
#ifndef SERVER_OFFLINE_H
#define SERVER_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/crypto.h"

struct srv_app;

#define SRV_OFFLINE_FORMAT "ward-offline-request-1"
#define SRV_OFFLINE_PURPOSE "ward-offline-authorization"
#define SRV_OFFLINE_FP_LEN 64 /* hex of SHA-256 over the raw public key */

/* Hex SHA-256 of a raw Ed25519 public key (SRV_OFFLINE_FP_LEN + 1 bytes). */
int srv_offline_fingerprint(const uint8_t pub[WARD_ED25519_PUB_LEN], char *out, size_t outlen);

/* Makes a key pair, writes the private key encrypted with pass to path (refused if path
 * exists: WARD_EEXIST), records the public half as the current key (retiring the one
 * before). fp gets its fingerprint. */
int srv_offline_key_create(struct srv_app *app, const char *path, const char *pass,
                           const char *label, char *fp, size_t fplen);
/* The current key: *pub_b64 new (base64 raw key), fp its fingerprint. WARD_ENOENT when none. */
int srv_offline_key_current(struct srv_app *app, char **pub_b64, char *fp, size_t fplen);
/* [{fingerprint, label, created_at, retired_at}], new. */
int srv_offline_key_list(struct srv_app *app, json_t **out);

/* prepare: the request object (new) for that command. params borrowed and already checked;
 * not_after is when the authorization lapses. */
int srv_offline_request_new(const char *command_id, const char *device_id, const char *type,
                            const json_t *params, int64_t not_after, json_t **out);

/* sign (no service needed): checks the request's shape, signs its document with key,
 * stores signature and key fingerprint in req. */
int srv_offline_request_sign(json_t *req, EVP_PKEY *key, char *msg, size_t msglen);

/* send: what a signed request authorizes. Verifies the signature against the offline key
 * the request names (it must be one this service knows) and decodes the document. */
struct srv_offline_auth {
    char command_id[64];
    char device_id[128];
    char type[64];
    json_t *params; /* new */
    int64_t not_after;
    char fingerprint[SRV_OFFLINE_FP_LEN + 1];
    json_t *authorization; /* new: {"document", "signature"} for the payload */
};
int srv_offline_request_open(struct srv_app *app, const json_t *req, struct srv_offline_auth *out,
                             char *msg, size_t msglen);
void srv_offline_auth_release(struct srv_offline_auth *a);

#endif
