/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network profiles (Wi-Fi, VPN) as the OS's network service sees them. On Linux the
 * profiles are NetworkManager keyfiles that enforcement writes through platform/fs.h; what
 * this concept adds is telling a running NetworkManager to pick a change up, over D-Bus
 * (platform/sdbus.h: the system bus, or WARD_SYSTEM_BUS_ADDRESS), never through nmcli.
 * Windows (WLAN profiles through wlanapi) is not built: WARD_ENOTSUP.
 */
#ifndef PLATFORM_NETPROFILE_H
#define PLATFORM_NETPROFILE_H

#include <stddef.h>

/* Asks NetworkManager to load the profile file at path (root-relative, as NetworkManager
 * sees it) after it was written: Settings.LoadConnections([path]); removed: true when the
 * file was deleted, which ReloadConnections() makes NetworkManager forget. Only for the
 * live tree (root "/") or an overridden bus; another root is WARD_ENOTSUP. No bus, or no
 * NetworkManager on it, is WARD_ENOTSUP too (why, may be NULL, says which): callers treat
 * that as "nothing to tell", since NetworkManager reads the file when it starts. */
int plat_netprofile_reload(const char *root, const char *path, int removed, char *why,
                           size_t whylen);

#endif
