/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Basic facts about the machine: hostname, OS name/version/build, kernel, architecture,
 * machine id and boot time. Anything the OS does not tell us is left empty ("" or 0): an
 * absent value is not an error. Strings are fixed arrays (no free needed); values that do
 * not fit or are not clean printable text are treated as absent rather than cut.
 *
 * On Linux the files (/etc/os-release or /usr/lib/os-release, /etc/machine-id or
 * /var/lib/dbus/machine-id, /proc/stat) are read under a root prefix through platform/fs.h,
 * so tests point it at a fixture tree; hostname, kernel and arch come from uname(2). On
 * Windows the root is ignored: RtlGetVersion, the CurrentVersion registry key (whose values
 * may be missing, e.g. under Wine), MachineGuid and GetTickCount64.
 *
 * The parsers take (buf, len) so unit tests and fuzz targets drive them directly.
 */
#ifndef PLATFORM_SYSINFO_H
#define PLATFORM_SYSINFO_H

#include <stddef.h>
#include <stdint.h>

struct plat_sysinfo {
    char hostname[256];
    char os_id[64];      /* "debian", "ubuntu", "windows" */
    char os_name[128];   /* "Debian GNU/Linux", "Windows 11 Pro" */
    char os_version[64]; /* VERSION_ID "12"; Windows DisplayVersion "23H2" (or "10.0") */
    char os_pretty[256]; /* PRETTY_NAME; Windows "<name> <version> (build <build>)" */
    char os_build[64];   /* BUILD_ID if any; Windows "<CurrentBuild>.<UBR>" */
    char kernel[128];    /* uname release; Windows "<major>.<minor>.<build>" */
    char arch[32];       /* "x86_64", "aarch64", "x86", "arm" ... */
    char machine_id[64]; /* 32 hex digits (Linux); MachineGuid (Windows) */
    int64_t boot_time;   /* seconds since the Unix epoch; 0 when unknown */
};

/* Fills *out. root: Linux file prefix (NULL means "/"); ignored on Windows. Returns 0 even
 * when fields are absent; errors only for bad arguments. */
int plat_sysinfo_get(const char *root, struct plat_sysinfo *out);

/* os-release(5): KEY=value lines, values optionally quoted ("..." with \ escapes, or '...').
 * Sets os_id (ID), os_name (NAME), os_version (VERSION_ID), os_pretty (PRETTY_NAME) and
 * os_build (BUILD_ID) of *out and leaves the other fields alone; a key that is missing,
 * malformed, too long or not printable leaves its field "". Never fails on content:
 * returns 0, or WARD_EINVAL for NULL arguments. */
int plat_sysinfo_parse_os_release(const char *buf, size_t len, struct plat_sysinfo *out);

/* /proc/stat: the "btime <seconds>" line. WARD_ENOENT when there is none, WARD_EPARSE
 * when it is malformed (not a positive decimal that fits). */
int plat_sysinfo_parse_proc_stat(const char *buf, size_t len, int64_t *boot_time);

/* A machine-id file: 32 hex digits and optional trailing whitespace -> lowercase id in out
 * (at least 33 bytes). WARD_EPARSE otherwise. */
int plat_sysinfo_parse_machine_id(const char *buf, size_t len, char *out, size_t outlen);

#endif
