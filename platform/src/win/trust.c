/* SPDX-License-Identifier: Apache-2.0 */
/* The Windows system trust store (CertOpenStore on the local machine's ROOT store) is not
 * written yet: detection and rebuild are WARD_ENOTSUP with the reason, never an empty
 * success (platform/trust.h). Certificate checking is portable (src/common/trust_cert.c). */
#include <stdio.h>

#include "platform/trust.h"
#include "ward/error.h"

#define NOT_YET "the Windows certificate store is not supported yet"

int plat_trust_system_detect(const char *root, const struct plat_trust_system **out, char *why,
                             size_t whylen)
{
    (void)root;
    *out = NULL;
    if (why && whylen)
        snprintf(why, whylen, "%s", NOT_YET);
    return WARD_ENOTSUP;
}

int plat_trust_system_update(const char *root, const struct plat_trust_system *st, char *why,
                             size_t whylen)
{
    (void)root;
    (void)st;
    if (why && whylen)
        snprintf(why, whylen, "%s", NOT_YET);
    return WARD_ENOTSUP;
}
