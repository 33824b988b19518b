/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command types and the shape of their parameters as the service checks them before a
 * command is queued (docs/protocol.md, "Command types"), and the rules for which result
 * status may replace which (docs/protocol.md, "POST /api/v1/results"). The agent validates
 * parameters authoritatively; this check exists so that an administrator hears about a
 * typo at once instead of from a `rejected` result a check-in later. Pure functions: no
 * database, so the unit tests call them directly.
 */
#ifndef SERVER_COMMANDS_H
#define SERVER_COMMANDS_H

#include <stddef.h>

#include <jansson.h>

/* run_script: the largest script sent inline; a larger one travels as a file. */
#define SRV_SCRIPT_INLINE_MAX ((size_t)262144)
/* Room for any message srv_command_check_params writes. */
#define SRV_COMMAND_MSG_MAX 512

/* 1 if this version of the service knows the type. */
int srv_command_type_known(const char *type);
/* "ping, sync, ..." (static), for messages. */
const char *srv_command_type_names(void);

/* Checks params (borrowed; NULL counts as {}) against the type's table. 0 when fine;
 * WARD_EINVAL for an unknown type, WARD_EPARSE for parameters of the wrong shape. On error
 * msg gets one line naming the offending member by its path ("params.grace_seconds: ...",
 * "params: unknown member 'foo' ..."). ping, sync, unenroll and inventory take any object
 * (as before typed commands existed). */
int srv_command_check_params(const char *type, const json_t *params, char *msg, size_t msglen);

/* "/api/v1/files/<64 lowercase hex>": 1 when s is 64 lowercase hex digits. */
int srv_sha256_hex_ok(const char *s);

/* Result statuses: final (succeeded, failed, rejected, denied, interrupted) and non-final
 * (accepted, running). */
int srv_result_status_known(const char *status);
int srv_result_status_final(const char *status);
/* 1 when a result of status `next` may replace what the command holds now (`cur` is the
 * stored commands.status: queued, delivered, or a result status): a non-final result
 * replaces queued, delivered or another non-final one; a final result replaces
 * everything but a final one; nothing replaces a final one. */
int srv_result_may_replace(const char *cur, const char *next);

#endif
