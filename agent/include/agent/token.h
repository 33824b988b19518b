/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrollment tokens (docs/protocol.md, "Enrollment token"): "ward1." followed by the
 * unpadded base64url of a JSON object {url, secret, ca_pin}. Parsing is strict and takes
 * (buf, len) so a fuzz target drives it; the secret is wiped by agent_token_wipe() and never
 * logged.
 */
#ifndef AGENT_TOKEN_H
#define AGENT_TOKEN_H

#include <stddef.h>

#include "ward/crypto.h"

#define AGENT_TOKEN_MAX_LEN 4096 /* whole token text */
#define AGENT_TOKEN_URL_MAX 512
#define AGENT_TOKEN_ID_LEN 8
#define AGENT_TOKEN_SECRET_LEN (AGENT_TOKEN_ID_LEN + 1 + 64) /* "<id>.<64 hex>" */

struct agent_token {
    char url[AGENT_TOKEN_URL_MAX];           /* https://host[:port][/path], no trailing / */
    char host[256];                          /* host part of url (IPv6 without brackets) */
    char id[AGENT_TOKEN_ID_LEN + 1];         /* names the token in lists; not secret */
    char secret[AGENT_TOKEN_SECRET_LEN + 1]; /* "<id>.<secret>", sent as-is: SECRET */
    char ca_pin[WARD_PIN_SIZE];              /* "sha256:<64 lowercase hex>" */
};

/* Parses a token. Leading and trailing ASCII whitespace (a token file's newline) is
 * ignored. Returns 0, or WARD_EPARSE for anything malformed: wrong prefix, bad base64url,
 * not a JSON object, unknown or missing members, a URL that is not https:// with a plain
 * host (no user info, query or fragment), a secret not "<8 hex>.<64 hex>" or a pin not
 * "sha256:<64 hex>". WARD_ETOOBIG beyond AGENT_TOKEN_MAX_LEN. *out is wiped on failure. */
int agent_token_parse(const char *buf, size_t len, struct agent_token *out);

/* Overwrites the token (the secret) in memory. NULL-safe. */
void agent_token_wipe(struct agent_token *t);

#endif
