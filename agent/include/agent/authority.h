/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who may do what to this device (docs/commands.md, "Who may do what"). Enrollment grants
 * an ownership (corporate or personal), capabilities (full_wipe, scripts, packages) and,
 * when the service has one, pins the offline administrator key; all three are kept with
 * the identity and go with it. Every verified command passes agent_authority_check before
 * it is journaled: the agent enforces the grants itself, whatever the service asks.
 *
 * An offline authorization is a document the offline key signed, carried in the online
 * payload as "authorization": {"document": base64, "signature": base64}. The document is
 * {"purpose": "ward-offline-authorization", "command_id", "device_id", "type", "params",
 * "not_after"}; it authorizes exactly that command (same id, device, type and parameters)
 * until not_after, and the journal's exactly-once rule keeps it from running twice.
 */
#ifndef AGENT_AUTHORITY_H
#define AGENT_AUTHORITY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/crypto.h"

struct agent_state;
struct agent_command;
struct enf_cmd;

#define AGENT_META_OWNERSHIP "ownership"       /* "corporate" or "personal" */
#define AGENT_META_CAPABILITIES "capabilities" /* "full_wipe,scripts,packages" or "" */
#define AGENT_META_OFFLINE_KEY "offline_key"   /* base64 Ed25519 public key */

#define AGENT_OFFLINE_PURPOSE "ward-offline-authorization"

enum agent_cap {
    AGENT_CAP_FULL_WIPE = 1u << 0,
    AGENT_CAP_SCRIPTS = 1u << 1,
    AGENT_CAP_PACKAGES = 1u << 2,
    AGENT_CAP_ALL = 0x7u,
};

struct agent_authority {
    int personal;
    unsigned caps; /* enum agent_cap bits */
    int has_offline_key;
    uint8_t offline_key[WARD_ED25519_PUB_LEN];
};

/* The enrollment answer's "ownership", "capabilities" and "offline_key". An answer from a
 * service that predates them gives corporate with every capability and no offline key
 * (what such a service could already do). WARD_EPROTO with msg for a malformed member. */
int agent_authority_from_answer(const json_t *answer, struct agent_authority *out, char *msg,
                                size_t msglen);

/* What is stored; a device enrolled before grants existed reads as the answer above. */
int agent_authority_load(struct agent_state *st, struct agent_authority *out);

/* Writes the three meta rows (inside the caller's transaction when one is open). */
int agent_authority_store(struct agent_state *st, const struct agent_authority *a);

/* "full_wipe,scripts,packages" (or "") for bits; the bit of one name (0: unknown). */
void agent_authority_caps_text(unsigned caps, char *out, size_t outlen);
unsigned agent_authority_cap_bit(const char *name);

/* NULL when the command may be accepted; otherwise writes the reason to why and returns
 * it. cmd is the command's contract; c the verified command (with its authorization, if
 * any); now the wall clock. */
const char *agent_authority_check(const struct agent_authority *a, const struct enf_cmd *cmd,
                                  const struct agent_command *c, int64_t now, char *why,
                                  size_t whylen);

#endif
