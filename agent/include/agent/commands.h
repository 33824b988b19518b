/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed commands (docs/protocol.md, "Command envelopes"): envelope verification, the
 * SQLite journal that makes each command run exactly once across crashes and restarts, and
 * the handler table later work adds command types to.
 *
 * Journal protocol: a verified command is recorded as `received` and the sequence
 * high-water mark raised in one transaction; it is marked `running` (committed) before its
 * handler starts; its completion and its result in the outbox are one transaction. A
 * command found `running` at start-up was interrupted and is never run again: it gets the
 * result status `interrupted`. One found `received` never started and runs normally.
 */
#ifndef AGENT_COMMANDS_H
#define AGENT_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/crypto.h"

struct agent_state;

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
    json_t *params; /* new reference (NULL until parsed) */
};
void agent_command_release(struct agent_command *c);

/* Verifies one envelope (a parsed JSON value) against the pinned command key, our device
 * id, the wall clock `now` and the high-water mark. Returns 0 when the command may run, or
 * WARD_EVERIFY with *reason set (and whatever fields could be read filled in, so the
 * refusal can be reported); WARD_ENOMEM. Release *out in every case. */
int agent_envelope_verify(const json_t *env, const uint8_t key[WARD_ED25519_PUB_LEN],
                          const char *device_id, long long seq_high, int64_t now,
                          struct agent_command *out, enum agent_reject *reason);

/* What handlers may ask of the agent. */
struct agent_cmd_env {
    struct agent_state *st;
    int sync_requested;     /* set by `sync`: check in again at once */
    int unenroll_requested; /* set by `unenroll`: forget the identity once reported */
};

/* A handler fills *output (new JSON object) on success, or returns an error with *error
 * (ward_malloc'd text, may stay NULL) for the result. */
struct agent_command_handler {
    const char *name;
    int (*run)(struct agent_cmd_env *env, const json_t *params, json_t **output, char **error);
};
/* NULL-terminated. */
extern const struct agent_command_handler *const agent_command_handlers[];

/* The persisted sequence high-water mark (0 when none). */
long long agent_commands_seq_high(struct agent_state *st);

/* Verifies and journals every envelope of a check-in's "commands" array. Refused ones get
 * a `rejected` result in the outbox (once per command id) and never run. Commands already
 * in the journal are ignored. *accepted (may be NULL) counts new runnable commands. */
int agent_commands_ingest(struct agent_state *st, const char *device_id,
                          const uint8_t key[WARD_ED25519_PUB_LEN], const json_t *commands,
                          int64_t now, size_t *accepted);

/* Start-up recovery: every `running` command becomes `done` with an `interrupted` result. */
int agent_commands_recover(struct agent_state *st, size_t *interrupted);

/* Runs every `received` command in sequence order. *ran (may be NULL) counts them. */
int agent_commands_run_pending(struct agent_state *st, struct agent_cmd_env *env, size_t *ran);

/* Commands not yet done (received or running). */
long long agent_commands_pending(struct agent_state *st);

#endif
