/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the Linux kinds that build on other kinds or on systemd:
 * sub-settings (a kind such as password_policy or dconf drives the `line`/`ini` kind's
 * slots with parameters it builds itself, so file editing has one implementation), the
 * live-root test, and systemd units over D-Bus (sd-bus through platform/sdbus.h; the
 * service and firewall kinds share it). Not installed; Linux only.
 */
#ifndef ENFORCEMENT_LINUX_HELPERS_H
#define ENFORCEMENT_LINUX_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "../internal.h"
#include "ward/buf.h"
#include "kinds.h"

/* A setting of another kind built from a parent: same id and mode, params owned. */
struct enf_sub {
    struct enf_setting s;
    json_t *params;
};
/* params is stolen (also on failure). WARD_ENOMEM when params is NULL. */
int enf_sub_init(struct enf_sub *sub, const struct enf_setting *parent, const struct enf_kind *kind,
                 json_t *params);
void enf_sub_release(struct enf_sub *sub);

/* The last non-empty line of a child's stderr, or of its stdout when stderr is empty: the
 * reason a tool gives ("E: Unable to locate package x"), for an error text. */
struct plat_proc_result;
void enf_proc_last_line(const struct plat_proc_result *r, char *out, size_t outlen);

/* 1 when the run manages the live system (root "/"). */
int enf_root_is_live(const struct enf_ctx *ctx);

/* ---- systemd units (sdunit.c) ---- */

struct sd_bus;

struct enf_unit_state {
    int exists;          /* systemd knows a unit file for it */
    char enablement[32]; /* GetUnitFileState ("enabled", "masked" ...), "" when !exists */
    char active[32];     /* the Unit's ActiveState; "inactive" when it is not loaded */
};

/* 1 when systemd can be asked for this run: root "/" or WARD_SYSTEM_BUS_ADDRESS set. */
int enf_sd_reachable(const struct enf_ctx *ctx);
/* Opens the bus (plat_sdbus_open); the reason goes to enf_ctx_detail on failure. */
int enf_sd_open(struct enf_ctx *ctx, struct sd_bus **bus);
void enf_sd_close(struct sd_bus *bus);
int enf_sd_query(struct enf_ctx *ctx, struct sd_bus *bus, const char *unit,
                 struct enf_unit_state *st);
/* Sets the enablement ("enabled", "disabled", "masked"): unmasks first when needed, then
 * Enable/Disable/MaskUnitFiles and a daemon Reload. */
int enf_sd_set_enablement(struct enf_ctx *ctx, struct sd_bus *bus, const char *unit,
                          const char *want);
/* StartUnit/StopUnit ("replace") and waits for the job's JobRemoved (timeout_ms). */
int enf_sd_set_active(struct enf_ctx *ctx, struct sd_bus *bus, const char *unit, int active,
                      uint64_t timeout_ms);
/* Offline view for a root systemd cannot be asked about: 1 when a unit file (or mask) for
 * unit exists under the root's unit directories; its path goes to where. */
int enf_sd_unit_file_present(struct enf_ctx *ctx, const char *unit, char *where, size_t len);
/* 1 for an ActiveState that counts as running (active, activating, reloading). */
int enf_sd_is_active(const char *active_state);

/* ---- dpkg database (pkgdb.c) ---- */

/* Looks name ("pkg" or "pkg:arch") up in a dpkg status file (data/len, NUL not needed):
 * *installed is 1 when its Status is "install ok installed" (any want), and ver gets its
 * Version. Only what the package kind needs: not a general parser (inventory has that). */
void enf_dpkg_lookup(const char *data, size_t len, const char *name, int *installed, char *ver,
                     size_t verlen);

/* 1 when n is a Debian package name ("hello", "libc6:amd64"): what apt-get is given. */
int enf_deb_name_ok(const char *n);

/* One installed package: spans into the status data it was read from. */
struct enf_dpkg_pkg {
    const char *name, *arch, *version;
    size_t name_len, arch_len, version_len;
};
/* Every package whose Status ends in "installed", sorted by name and architecture
 * (*out ward_malloc'd, NULL when none). */
int enf_dpkg_installed(const char *data, size_t len, struct enf_dpkg_pkg **out, size_t *count);
/* [{name, arch, before, after}] (new) for every package installed in only one of the two
 * status files or at another version; before/after null where it was not installed.
 * Sorted by name and architecture. */
int enf_dpkg_diff(const char *before, size_t blen, const char *after, size_t alen, json_t **out);

/* The packages an `apt-get -s remove` plan removes ("Remv NAME [VERSION]" lines), names
 * without ":arch", as a new array. */
int enf_apt_removals(const char *out, size_t len, json_t **names);

/* ---- apt sources (pkgdb.c) ---- */

/* The "deb" lines of a one-line-style sources.list whose suite is a security suite
 * (ends in "-security", or the old Debian "NAME/updates"), appended verbatim to out;
 * *kept counts them. */
int enf_apt_security_list(const char *data, size_t len, struct ward_buf *out, size_t *kept);
/* The same for a deb822 .sources file: each stanza naming a security suite is appended
 * with its Suites field cut down to the security suites (other fields verbatim,
 * Enabled: no included, which apt honours); stanzas without one are dropped. */
int enf_apt_security_sources(const char *data, size_t len, struct ward_buf *out, size_t *kept);

#endif
