/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ward status`: what the state database says about this device, without needing the
 * daemon: lifecycle state, identity, certificate expiry, last and next check-in, pending
 * commands and results, last error, and what to do when re-enrollment is needed.
 */
#ifndef AGENT_STATUS_H
#define AGENT_STATUS_H

#include <stdint.h>

#include <jansson.h>

struct agent_state;

/* *out is new: an object with at least enrolled (bool), state, device_id, server,
 * cert_not_after, last_checkin, next_checkin, pending_commands, pending_results,
 * last_error (null where unknown). */
int agent_status_collect(struct agent_state *st, json_t **out);

/* The device certificate's validity, kept by a caller that asks often (the daemon's local
 * IPC): parsing the PEM is most of a status answer's cost, and the certificate changes
 * only at renewal. Zero-initialise; release with agent_status_cache_release. */
struct agent_status_cache {
    char *cert; /* the PEM the times below were read from */
    int64_t not_before, not_after;
    int ok; /* the PEM parsed */
};
int agent_status_collect_cached(struct agent_state *st, struct agent_status_cache *cache,
                                json_t **out);
void agent_status_cache_release(struct agent_status_cache *cache);

#endif
