/* SPDX-License-Identifier: Apache-2.0 */
/* Windows network profiles (WLAN profiles through wlanapi) are not built (platform/netprofile.h).
 */
#include <stdio.h>

#include "platform/netprofile.h"
#include "ward/error.h"

int plat_netprofile_reload(const char *root, const char *path, int removed, char *why,
                           size_t whylen)
{
    (void)root;
    (void)path;
    (void)removed;
    if (why && whylen)
        snprintf(why, whylen, "network profiles are not supported on Windows yet");
    return WARD_ENOTSUP;
}
