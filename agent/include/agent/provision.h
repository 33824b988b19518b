/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrollment without a terminal (docs/deployment.md, "Provisioning"): when the daemon
 * starts unenrolled it takes a token from WARD_ENROLL_TOKEN or from the configured
 * `enroll_token_file` (default /etc/ward/enroll.token; owned by the agent's user and
 * mode 0600, refused otherwise), enrolls off the loop (agent_enroll in the threadpool),
 * deletes the file once enrolled, and retries with jittered exponential backoff while the
 * service cannot be reached, so a laptop imaged off-network enrolls when it first sees
 * the network. A token the service refuses (invalid, expired, revoked, used up, a CA that
 * does not match its pin) or a token file with open permissions is not retried: the reason
 * is logged and shown as the service status until the next reload (SIGHUP) or start.
 * On Windows the token may also come from the installer (the MSI's ENROLL_TOKEN, in
 * HKLM\\SOFTWARE\\Ward\\enroll_token), deleted there once enrolled. Without any token it
 * looks again every minute.
 */
#ifndef AGENT_PROVISION_H
#define AGENT_PROVISION_H

#include <uv.h>

struct agent_config;
struct agent_state;
struct agent_provision;

/* Called on the loop once the device is enrolled (by this module or by anyone else). */
typedef void (*agent_provision_done_fn)(void *ctx);

/* Starts provisioning when the state is not enrolled (otherwise it does nothing). cfg must
 * outlive the object (the daemon's copy). */
int agent_provision_start(uv_loop_t *loop, const struct agent_config *cfg, struct agent_state *st,
                          agent_provision_done_fn done, void *ctx, struct agent_provision **out);
/* Reload: a token refused before is looked at again (a fixed token file, say). */
void agent_provision_retry(struct agent_provision *p);
/* An enrollment running in the threadpool finishes first; then cb. NULL p: cb at once. */
void agent_provision_close(struct agent_provision *p, void (*cb)(void *ctx), void *ctx);

/* Pure: whether agent_enroll's error is worth retrying (the service or the network), as
 * opposed to a token or a configuration that will not get better by waiting. */
int agent_provision_transient(int rc);

#endif
