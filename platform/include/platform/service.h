/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telling the service manager how the agent is doing: readiness, status text and stopping
 * (sd_notify under systemd; nothing to do for a console run). The Windows service control
 * dispatcher arrives with the installer work; there these report WARD_ENOTSUP until then.
 */
#ifndef PLATFORM_SERVICE_H
#define PLATFORM_SERVICE_H

/* 1 when a service manager is listening for notifications (NOTIFY_SOCKET set). */
int plat_service_supervised(void);
/* READY=1 with a one-line status. Returns 0 when told or when nobody listens. */
int plat_service_ready(const char *status);
int plat_service_status(const char *status);
int plat_service_stopping(void);
int plat_service_reloading(void);
/* The service manager's watchdog interval in microseconds (systemd's WatchdogSec=, passed
 * as WATCHDOG_USEC for this pid), 0 when no watchdog is asked for. */
unsigned long long plat_service_watchdog_usec(void);
/* WATCHDOG=1: the loop is alive. Send at least twice per interval. */
int plat_service_watchdog(void);

/* The service's main under its manager. Windows: connects to the service control manager
 * (StartServiceCtrlDispatcher), reports START_PENDING and calls run(ctx) on the service
 * thread; plat_service_ready then reports RUNNING, plat_service_stopping STOP_PENDING, and
 * when run returns the service reports STOPPED (a nonzero result as a service-specific
 * error, which the recovery actions act on). A STOP or SHUTDOWN from the manager calls the
 * handler set with plat_service_set_stop, on the manager's thread. WARD_ESTATE when the
 * process was not started by the service manager. Linux: calls run(ctx) (systemd needs no
 * dispatcher). Returns run's result. */
int plat_service_dispatch(const char *name, int (*run)(void *ctx), void *ctx);
/* What a stop request from the manager does: stop(ctx), on another thread (so it must be
 * thread-safe: uv_async_send). NULL removes it; after that returns, stop is not running
 * and will not be called. */
void plat_service_set_stop(void (*stop)(void *ctx), void *ctx);

/* ---- registration (`ward service install|uninstall|status`, for installs without a
 * package; the deb and rpm ship the unit themselves) ---------------------------------- */

struct plat_service_def {
    const char *name;        /* "ward" */
    const char *exe;         /* absolute path of the binary the service runs */
    const char *const *args; /* its arguments, NULL-terminated */
    const char *unit;        /* Linux: the systemd unit's text; its ExecStart= becomes exe+args */
    /* Windows: the service's state directory, made private (plat_fs_make_private_dir)
     * before the service is registered, so it never starts in one any user can read.
     * Linux: unused (the unit's StateDirectory=, mode 0700, makes it). NULL: left alone. */
    const char *state_dir;
};

struct plat_service_info {
    int installed;      /* the unit file (or service entry) exists */
    int manager;        /* the service manager answered (systemd runs, the SCM is there) */
    char path[512];     /* where the unit file is */
    char enabled[32];   /* systemd: UnitFileState ("enabled", "disabled", ...) */
    char active[32];    /* ActiveState ("active", "failed", ...) */
    char sub[32];       /* SubState ("running", ...) */
    long long main_pid; /* 0 when not running */
    long long restarts; /* NRestarts: restarts by the manager since the unit was loaded */
};

/* Linux: writes <root>/etc/systemd/system/NAME.service (0644) from def->unit with its
 * ExecStart= line set to exe and args (each quoted for systemd), then, when root is "/"
 * and systemd runs (/run/systemd/system), `systemctl daemon-reload` and `systemctl enable
 * --now NAME.service`. Without a running systemd the file is written and msg says that it
 * will start at the next boot once enabled. A unit file there that Ward did not write (no
 * "X-Ward-Installed=" marker) is WARD_EEXIST: a package's unit is never overwritten.
 * Windows: makes def->state_dir private (a failure there registers nothing), creates the
 * service (own process, automatic start) running exe and args plus "--service", sets its
 * recovery actions and starts it. msg: one line for the user. */
int plat_service_install(const char *root, const struct plat_service_def *def, char *msg,
                         size_t msglen);
/* Stops and disables the unit (systemd running), removes the file Ward wrote, reloads.
 * A unit Ward did not write (a package's) is WARD_EEXIST: remove the package instead. */
int plat_service_uninstall(const char *root, const char *name, char *msg, size_t msglen);
/* What the service manager says about NAME (systemctl show); installed = 0 and no error
 * when there is no such unit. */
int plat_service_query(const char *root, const char *name, struct plat_service_info *out);

/* ---- what the installer left for the service ----------------------------------------- */

/* A setting the installer wrote for the service (Windows: a REG_SZ value NAME under
 * HKLM\SOFTWARE\Ward, which the MSI writes from its SERVER_URL, ENROLL_TOKEN and
 * ENROLL_TOKEN_FILE properties). *out is ward_malloc'd UTF-8; WARD_ENOENT when absent or
 * empty. Linux: always WARD_ENOENT (the packages use files in /etc/ward). */
int plat_policy_get(const char *name, char **out);
/* Removes that value (an enrollment token once used). WARD_ENOENT when absent. */
int plat_policy_delete(const char *name);

/* For a long-running process, before its loop starts: the allocator keeps a single arena
 * (glibc would add one per thread, each holding on to what it once needed) and libuv's
 * threadpool gets 2 threads unless UV_THREADPOOL_SIZE says otherwise. No-op elsewhere. */
void plat_service_memory_init(void);
/* After a burst of work (an inventory run and upload): hands the allocator's free pages
 * back to the OS (malloc_trim), so an idle agent keeps what it holds, not its peak. */
void plat_service_memory_trim(void);

#endif
