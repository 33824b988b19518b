/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed commands (docs/protocol.md, "Command envelopes"): envelope verification, the
 * SQLite journal that makes each command run exactly once across crashes and restarts, and
 * the handler table later work adds command types to.
 *
 * Journal protocol: a verified and validated command is recorded as `accepted` and the
 * sequence high-water mark raised in one transaction; the job runner (agent/jobs.h) marks
 * it `running` (committed) before its handler starts; its completion and its result in the
 * outbox are one transaction. A command found `running` at start-up was interrupted and is
 * never run again: it becomes `interrupted` with a result saying so. One found `accepted`
 * (or `received`, from an older agent) never started and runs normally. A command that
 * spans a reboot is `awaiting_reboot` between its `accepted` result and its final one.
 */
#ifndef AGENT_COMMANDS_H
#define AGENT_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/crypto.h"

struct agent_state;
struct ward_store;
struct enf_cmd;

#define AGENT_CMD_CLOCK_SKEW 300 /* seconds of allowed clock skew on expires_at */

enum agent_reject {
    AGENT_REJECT_NONE = 0,
    AGENT_REJECT_BAD_SIGNATURE,
    AGENT_REJECT_WRONG_DEVICE,
    AGENT_REJECT_EXPIRED,
    AGENT_REJECT_REPLAYED,
    AGENT_REJECT_MALFORMED,
};

/* "bad_signature", "wrong_device", "expired", "replayed", "malformed" ("" for NONE). */
const char *agent_reject_name(enum agent_reject r);

struct agent_command {
    char command_id[128]; /* "" when the envelope did not even name one */
    char device_id[128];
    char type[64];
    long long seq; /* 0 when unknown */
    int64_t issued_at, expires_at;
    json_t *params;        /* new reference (NULL until parsed) */
    json_t *authorization; /* the offline authorization, new reference, or NULL */
};
void agent_command_release(struct agent_command *c);

/* Verifies one envelope (a parsed JSON value) against the pinned command key, our device
 * id, the wall clock `now` and the high-water mark. Returns 0 when the command may run, or
 * WARD_EVERIFY with *reason set (and whatever fields could be read filled in, so the
 * refusal can be reported); WARD_ENOMEM. Release *out in every case. */
int agent_envelope_verify(const json_t *env, const uint8_t key[WARD_ED25519_PUB_LEN],
                          const char *device_id, long long seq_high, int64_t now,
                          struct agent_command *out, enum agent_reject *reason);

/* The persisted sequence high-water mark (0 when none). */
long long agent_commands_seq_high(struct agent_state *st);

/* Verifies, validates and journals every envelope of a check-in's "commands" array.
 * Refused ones get a `rejected` result in the outbox (once per command id) and never run;
 * a verified command of a type the registry does not have, or whose parameters fail the
 * command's field table, is journaled as done with a `failed` result saying why. The rest
 * are journaled as `accepted` for the job runner (agent/jobs.h). Commands already in the
 * journal are ignored. registry NULL is this OS's (enf_os_commands). *accepted (may be
 * NULL) counts new runnable commands. */
int agent_commands_ingest(struct agent_state *st, const struct enf_cmd *const *registry,
                          const char *device_id, const uint8_t key[WARD_ED25519_PUB_LEN],
                          const json_t *commands, int64_t now, size_t *accepted);

/* The command of that type in registry (NULL: this OS's), or NULL. */
const struct enf_cmd *agent_commands_find(const struct enf_cmd *const *registry, const char *type);

/* Queues a command's result in the outbox, inside the caller's transaction (an output too
 * large for the outbox is replaced by the error "output too large"). output is borrowed. */
int agent_commands_queue_result(struct ward_store *s, const char *id, long long seq,
                                const char *status, int64_t started, int64_t finished,
                                json_t *output, const char *error);

/* Commands not yet finished (not done or interrupted). */
long long agent_commands_pending(struct agent_state *st);

#endif
