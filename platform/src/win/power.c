/* SPDX-License-Identifier: Apache-2.0 */
/* Session lock, reboot and power-off on Windows (WTS sessions, LockWorkStation in the user's
 * session, InitiateShutdownW) are not written yet: every operation is WARD_ENOTSUP with the
 * reason, never an empty success (platform/power.h). */
#include <stdio.h>

#include "platform/power.h"
#include "ward/error.h"

#define NOT_YET "not implemented on Windows yet (issue: Windows platform modules)"

static int not_yet(char *why, size_t whylen)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", NOT_YET);
    return WARD_ENOTSUP;
}

int plat_power_sessions(struct plat_session **out, size_t *n, char *why, size_t whylen)
{
    *out = NULL;
    *n = 0;
    return not_yet(why, whylen);
}

int plat_power_lock_all(struct plat_session **out, size_t *n, char *why, size_t whylen)
{
    *out = NULL;
    *n = 0;
    return not_yet(why, whylen);
}

int plat_power_act(enum plat_power_action a, char *why, size_t whylen)
{
    (void)a;
    return not_yet(why, whylen);
}

int plat_boot_id(const char *root, char *out, size_t outlen)
{
    (void)root;
    if (out && outlen)
        out[0] = '\0';
    return WARD_ENOTSUP;
}
