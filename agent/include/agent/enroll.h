/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ward enroll`: turns an enrollment token into a device identity (docs/protocol.md,
 * "POST /api/v1/enroll"). The server is checked against the token's CA pin inside the TLS
 * handshake, before the secret is sent; the key pair is generated here and never leaves
 * the device.
 */
#ifndef AGENT_ENROLL_H
#define AGENT_ENROLL_H

#include <stddef.h>

struct agent_config;

struct agent_enroll_opts {
    const char *token;      /* token text, or NULL */
    const char *token_file; /* or a file holding it (must be private; deleted on success) */
    int force;              /* replace an existing identity */
};

/* Enrolls. On failure msg gets one clear line for the user (no secret in it) and the
 * Ward code is returned: WARD_EPARSE (malformed token), WARD_EACCES (token file readable
 * by others), WARD_EEXIST (already enrolled, no --force), WARD_EPIN (server CA does not
 * match the pin), WARD_ECONNECT (server unreachable), WARD_EREVOKED / WARD_EEXPIRED /
 * WARD_EACCES (token refused: see msg), others. On success msg says who we are now. */
int agent_enroll(const struct agent_config *cfg, const struct agent_enroll_opts *o, char *msg,
                 size_t msglen);

#endif
