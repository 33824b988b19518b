/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 <-> UTF-16 helpers for the Win32 W APIs (strict: MB_ERR_INVALID_CHARS). */
#include <windows.h>

#include <string.h>

#include "../errmap.h"
#include "wstr.h"
#include "ward/alloc.h"
#include "ward/error.h"

int plat_win_utf8_to_wide(const char *s, size_t len, wchar_t **out)
{
    int n;
    wchar_t *w;
    *out = NULL;
    if (!s || len > 0x7fffffff || memchr(s, '\0', len))
        return s ? WARD_EPATH : WARD_EINVAL;
    if (len == 0) {
        w = ward_calloc(1, sizeof(*w));
        if (!w)
            return WARD_ENOMEM;
        *out = w;
        return 0;
    }
    n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len, NULL, 0);
    if (n <= 0)
        return WARD_EPATH;
    w = ward_malloc(((size_t)n + 1) * sizeof(*w));
    if (!w)
        return WARD_ENOMEM;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len, w, n) != n) {
        ward_free(w);
        return WARD_EPATH;
    }
    w[n] = L'\0';
    *out = w;
    return 0;
}

int plat_win_wide_to_utf8(const wchar_t *w, char **out)
{
    int n;
    char *s;
    *out = NULL;
    if (!w)
        return WARD_EINVAL;
    n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return plat_err_from_win32(GetLastError());
    s = ward_malloc((size_t)n);
    if (!s)
        return WARD_ENOMEM;
    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
        ward_free(s);
        return WARD_EIO;
    }
    *out = s;
    return 0;
}

int plat_win_wide_to_utf8_buf(const wchar_t *w, char *out, size_t outlen)
{
    int n;
    if (!out || outlen == 0 || outlen > 0x7fffffff)
        return WARD_EINVAL;
    out[0] = '\0';
    if (!w)
        return WARD_EINVAL;
    n = WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)outlen, NULL, NULL);
    if (n <= 0) {
        out[0] = '\0';
        return WARD_ETOOBIG;
    }
    return 0;
}
