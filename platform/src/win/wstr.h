/* SPDX-License-Identifier: Apache-2.0 */
/* Internal (Windows): UTF-8 <-> UTF-16 conversion. Invalid UTF-8 is rejected, never
 * replaced, so a hostile name cannot turn into a different valid one. */
#ifndef PLATFORM_SRC_WIN_WSTR_H
#define PLATFORM_SRC_WIN_WSTR_H

#include <stddef.h>
#include <wchar.h>

/* len bytes of UTF-8 (no NUL needed) -> NUL-terminated UTF-16, ward_malloc'd.
 * WARD_EPATH for invalid UTF-8 or an embedded NUL. */
int plat_win_utf8_to_wide(const char *s, size_t len, wchar_t **out);
/* NUL-terminated UTF-16 -> NUL-terminated UTF-8, ward_malloc'd. */
int plat_win_wide_to_utf8(const wchar_t *w, char **out);
/* Same into a fixed buffer; "" and WARD_ETOOBIG when it does not fit. */
int plat_win_wide_to_utf8_buf(const wchar_t *w, char *out, size_t outlen);

#endif
