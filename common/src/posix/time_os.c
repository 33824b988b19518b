/* SPDX-License-Identifier: Apache-2.0 */
/* POSIX UTC conversion: gmtime_r. */
#include "ward/error.h"
#include "ward/time.h"

int ward_gmtime(time_t t, struct tm *out)
{
    return gmtime_r(&t, out) ? 0 : WARD_EINVAL;
}
