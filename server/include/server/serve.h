/* SPDX-License-Identifier: Apache-2.0 */
/* `ward-server serve`: runs the management service until SIGTERM/SIGINT. */
#ifndef SERVER_SERVE_H
#define SERVER_SERVE_H

struct srv_serve_opts {
    const char *listen; /* NULL: the listen address from server.json */
};

/* Prints "ward-server listening on ... (port N)" on stdout once the port is bound. */
int srv_serve(const char *data_dir, const struct srv_serve_opts *o);

/* Tells a running server (through <data_dir>/admin.sock) to wake the device's held
 * long-poll. Returns 1 when a held wait was answered, 0 when the wake is pending for the
 * device's next wait, WARD_ECONNECT when no server runs. */
int srv_admin_wake(const char *data_dir, const char *device_id);

#endif
