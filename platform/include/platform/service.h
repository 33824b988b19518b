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

/* For a long-running process, before its loop starts: the allocator keeps a single arena
 * (glibc would add one per thread, each holding on to what it once needed) and libuv's
 * threadpool gets 2 threads unless UV_THREADPOOL_SIZE says otherwise. No-op elsewhere. */
void plat_service_memory_init(void);
/* After a burst of work (an inventory run and upload): hands the allocator's free pages
 * back to the OS (malloc_trim), so an idle agent keeps what it holds, not its peak. */
void plat_service_memory_trim(void);

#endif
