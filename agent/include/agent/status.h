/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ward status`: what the state database says about this device, without needing the
 * daemon: lifecycle state, identity, certificate expiry, last and next check-in, pending
 * commands and results, last error, and what to do when re-enrollment is needed.
 */
#ifndef AGENT_STATUS_H
#define AGENT_STATUS_H

#include <jansson.h>

struct agent_state;

/* *out is new: an object with at least enrolled (bool), state, device_id, server,
 * cert_not_after, last_checkin, next_checkin, pending_commands, pending_results,
 * last_error (null where unknown). */
int agent_status_collect(struct agent_state *st, json_t **out);

#endif
