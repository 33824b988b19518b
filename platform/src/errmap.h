/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: translation of OS error numbers into Ward codes. One definition per OS
 * (src/posix/errmap.c for errno, src/win/errmap.c for GetLastError values), so every
 * platform source reports the same condition with the same WARD_E* code.
 */
#ifndef PLATFORM_SRC_ERRMAP_H
#define PLATFORM_SRC_ERRMAP_H

/* errno value -> WARD_E* (never 0; unknown values map to WARD_EIO). */
int plat_err_from_errno(int err);
/* Win32 error (GetLastError) -> WARD_E* (never 0; unknown values map to WARD_EIO).
 * Defined only in Windows builds. */
int plat_err_from_win32(unsigned long err);
/* libuv error (negative UV_E*) -> WARD_E* (never 0); shared by every OS. */
int plat_err_from_uv(int err);

#endif
