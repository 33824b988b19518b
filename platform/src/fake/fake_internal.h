/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: how the fake's parts reset each other. */
#ifndef PLATFORM_SRC_FAKE_INTERNAL_H
#define PLATFORM_SRC_FAKE_INTERNAL_H

void plat_fake_sysinfo_reset(void);

#endif
