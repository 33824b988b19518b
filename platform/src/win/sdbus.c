/* SPDX-License-Identifier: Apache-2.0 */
/* Windows has no D-Bus system bus: every operation is WARD_ENOTSUP (platform/sdbus.h). */
#include <stdio.h>

#include "platform/sdbus.h"
#include "ward/error.h"

int plat_sdbus_overridden(void)
{
    return 0;
}

int plat_sdbus_open(struct sd_bus **out, char *why, size_t whylen)
{
    *out = NULL;
    if (why && whylen)
        snprintf(why, whylen, "no D-Bus system bus on Windows");
    return WARD_ENOTSUP;
}

int plat_sdbus_err(int r)
{
    (void)r;
    return WARD_ENOTSUP;
}
