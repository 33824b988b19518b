/* SPDX-License-Identifier: Apache-2.0 */
/* Windows UTC and local time conversion: the CRT's gmtime_s and localtime_s (argument order differs
 * from C11's). */
#include "ward/error.h"
#include "ward/time.h"

int ward_gmtime(time_t t, struct tm *out)
{
    return gmtime_s(out, &t) == 0 ? 0 : WARD_EINVAL;
}

int ward_localtime(time_t t, struct tm *out)
{
    return localtime_s(out, &t) == 0 ? 0 : WARD_EINVAL;
}
