/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ward run`: the agent daemon. One libuv loop in the foreground (systemd or the Windows
 * service wrapper supervises it; it never daemonizes itself). SIGTERM/SIGINT stop it
 * cleanly, with every handle closed before uv_loop_close; SIGHUP reloads the config file.
 */
#ifndef AGENT_DAEMON_H
#define AGENT_DAEMON_H

#include "agent/config.h"

struct agent_daemon_opts {
    const char *config_path; /* re-read on SIGHUP; NULL = nothing to reload */
    int config_required;     /* a missing config file is an error on reload */
    /* Flags given on the command line, re-applied over every reload ("name=value"). */
    const char *const *overrides;
    size_t n_overrides;
};

/* Runs until a stop signal. Takes a copy of cfg. Returns 0 after a clean stop. */
int agent_daemon_run(const struct agent_config *cfg, const struct agent_daemon_opts *opts);

#endif
