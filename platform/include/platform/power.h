/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power and session actions for the agent's lock, reboot and shutdown commands: which
 * graphical user sessions are open, locking them, asking the OS to reboot or power off, and
 * the current boot's id (so a command that reboots can tell, after the restart, that the
 * reboot happened).
 *
 * On Linux this is systemd-logind over the system bus (platform/sdbus.h, so
 * WARD_SYSTEM_BUS_ADDRESS redirects it to a test bus) and /proc under a root prefix. The
 * calls block: each opens its own bus connection, bounds every method call with a timeout
 * (PLAT_POWER_CALL_TIMEOUT_MS) and keeps no state between calls, so they are safe to run
 * from uv_queue_work threads, several at once. Without a bus or without logind they return
 * WARD_ENOTSUP and say why; other failures are the Ward codes of plat_sdbus_err (access
 * denied by polkit is WARD_EACCES). `why` may be NULL; it is "" on success.
 * Windows: not implemented yet, everything is WARD_ENOTSUP.
 */
#ifndef PLATFORM_POWER_H
#define PLATFORM_POWER_H

#include <stddef.h>
#include <stdint.h>

/* Per D-Bus method call; a hung logind costs at most this per call made. */
#define PLAT_POWER_CALL_TIMEOUT_MS 10000
/* More sessions than this in one answer is WARD_ETOOBIG. */
#define PLAT_POWER_MAX_SESSIONS 4096

struct plat_session {
    char id[64];   /* logind session id */
    char user[64]; /* user name */
    uint32_t uid;
    char seat[32]; /* "" when none */
    char type[16]; /* "x11", "wayland", "mir", "tty", ... */
    char cls[16];  /* "user", "greeter", ... */
    int active;    /* in the foreground of its seat (logind's Active) */
};

/* Graphical user sessions (type x11/wayland/mir, class "user"), from logind's ListSessions
 * and each session's Type/Class properties; a session that ends while it is being asked
 * about is left out. *out is ward_malloc'd (free with ward_free; NULL when *n is 0), *n its
 * count. A session whose id, user or seat does not fit its field is WARD_ETOOBIG (nothing is
 * cut). WARD_ENOTSUP when there is no bus/logind (why says so), other Ward error codes from
 * plat_sdbus_err. */
int plat_power_sessions(struct plat_session **out, size_t *n, char *why, size_t whylen);

/* Locks every session (logind Manager.LockSessions) and returns, in *out and *n, the graphical
 * sessions that existed when it was called (the ones the lock reached), as
 * plat_power_sessions. On failure nothing is returned (*out NULL, *n 0). */
int plat_power_lock_all(struct plat_session **out, size_t *n, char *why, size_t whylen);

enum plat_power_action { PLAT_POWER_REBOOT, PLAT_POWER_POWEROFF };

/* Asks logind to reboot / power off (Manager.Reboot(false) / PowerOff(false);
 * interactive=false, so polkit never waits for a password). Returns once logind has
 * accepted; the shutdown itself follows asynchronously. WARD_ENOTSUP without logind,
 * WARD_EINVAL for an unknown action. */
int plat_power_act(enum plat_power_action a, char *why, size_t whylen);

/* The current boot's id: the first line of ROOT/proc/sys/kernel/random/boot_id (root may be
 * NULL or "" for "/"), validated as a UUID (36 chars: 8-4-4-4-12 hex digits and dashes) and
 * written in lower case into out (at least 37 bytes, else WARD_EINVAL). WARD_ENOENT when the
 * file is missing, WARD_EPARSE when it holds anything else; other plat_fs_read_file codes.
 * Windows: WARD_ENOTSUP. */
int plat_boot_id(const char *root, char *out, size_t outlen);

#endif
