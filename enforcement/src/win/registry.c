/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows registry of setting kinds (CMake picks this folder on Windows). Empty for
 * now, but real: documents validate against it, so a Linux-only kind in a baseline is an
 * "unknown kind" error on Windows instead of a silent skip. Registry values, services and
 * security policy arrive here (docs/baselines.md, "Windows kinds").
 */
#include "enforcement/kind.h"

const struct enf_kind *const enf_os_kinds[] = {
    NULL,
};
