/* SPDX-License-Identifier: Apache-2.0 */
/* POSIX UTC and local time conversion: gmtime_r, localtime_r. */
#include "ward/error.h"
#include "ward/time.h"

int ward_gmtime(time_t t, struct tm *out)
{
    return gmtime_r(&t, out) ? 0 : WARD_EINVAL;
}

int ward_localtime(time_t t, struct tm *out)
{
    return localtime_r(&t, out) ? 0 : WARD_EINVAL;
}
