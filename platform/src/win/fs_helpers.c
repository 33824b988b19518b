/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows host-path helpers for tests and fixtures: scratch directories under
 * GetTempPathW, recursive removal that removes reparse points (symlinks, junctions)
 * without entering them, and "write this file, creating its parents".
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "../errmap.h"
#include "platform/fs.h"
#include "wstr.h"
#include "ward/alloc.h"
#include "ward/error.h"

#define FS_HELPER_MAX_DEPTH 256

int plat_fs_make_temp_dir(const char *prefix, char **out)
{
    wchar_t tmp[MAX_PATH + 1], dir[MAX_PATH + 64];
    wchar_t *wprefix = NULL;
    DWORD n;
    int rc;
    static unsigned counter;

    if (!prefix || !out || strpbrk(prefix, "/\\:"))
        return WARD_EINVAL;
    *out = NULL;
    n = GetTempPathW(MAX_PATH + 1, tmp);
    if (n == 0 || n > MAX_PATH)
        return WARD_EIO;
    rc = plat_win_utf8_to_wide(prefix, strlen(prefix), &wprefix);
    if (rc != 0)
        return rc;
    rc = WARD_EEXIST;
    for (int tries = 0; tries < 100; tries++) {
        LARGE_INTEGER t;
        QueryPerformanceCounter(&t);
        _snwprintf(dir, sizeof(dir) / sizeof(dir[0]), L"%ls%.40ls-%08lx%04x", tmp, wprefix,
                   (unsigned long)(t.LowPart ^ GetCurrentProcessId()), ++counter & 0xffff);
        dir[sizeof(dir) / sizeof(dir[0]) - 1] = L'\0';
        if (CreateDirectoryW(dir, NULL)) {
            rc = plat_win_wide_to_utf8(dir, out);
            if (rc != 0)
                RemoveDirectoryW(dir);
            break;
        }
        if (GetLastError() != ERROR_ALREADY_EXISTS) {
            rc = plat_err_from_win32(GetLastError());
            break;
        }
    }
    ward_free(wprefix);
    return rc;
}

static int remove_w(const wchar_t *path, int depth)
{
    DWORD attr = GetFileAttributesW(path);
    WIN32_FIND_DATAW fd;
    HANDLE h;
    wchar_t *pattern;
    size_t plen = wcslen(path);
    int rc = 0;

    if (attr == INVALID_FILE_ATTRIBUTES) {
        DWORD e = GetLastError();
        return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? 0 : plat_err_from_win32(e);
    }
    if (attr & FILE_ATTRIBUTE_READONLY)
        SetFileAttributesW(path, attr & ~(DWORD)FILE_ATTRIBUTE_READONLY);
    if (!(attr & FILE_ATTRIBUTE_DIRECTORY))
        return DeleteFileW(path) ? 0 : plat_err_from_win32(GetLastError());
    if (attr & FILE_ATTRIBUTE_REPARSE_POINT) /* a directory link: remove the link only */
        return RemoveDirectoryW(path) ? 0 : plat_err_from_win32(GetLastError());
    if (depth > FS_HELPER_MAX_DEPTH)
        return WARD_EDEPTH;
    pattern = ward_malloc((plen + 3) * sizeof(wchar_t));
    if (!pattern)
        return WARD_ENOMEM;
    memcpy(pattern, path, plen * sizeof(wchar_t));
    memcpy(pattern + plen, L"\\*", 3 * sizeof(wchar_t));
    h = FindFirstFileW(pattern, &fd);
    ward_free(pattern);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            size_t nlen = wcslen(fd.cFileName);
            wchar_t *child;
            int r;
            if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
                continue;
            child = ward_malloc((plen + nlen + 2) * sizeof(wchar_t));
            if (!child) {
                rc = WARD_ENOMEM;
                break;
            }
            memcpy(child, path, plen * sizeof(wchar_t));
            child[plen] = L'\\';
            memcpy(child + plen + 1, fd.cFileName, (nlen + 1) * sizeof(wchar_t));
            r = remove_w(child, depth + 1);
            ward_free(child);
            if (r != 0 && rc == 0)
                rc = r;
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    if (!RemoveDirectoryW(path) && rc == 0)
        rc = plat_err_from_win32(GetLastError());
    return rc;
}

int plat_fs_remove_tree(const char *path)
{
    wchar_t *w = NULL;
    int rc;
    if (!path || !path[0])
        return WARD_EINVAL;
    rc = plat_win_utf8_to_wide(path, strlen(path), &w);
    if (rc == 0)
        rc = remove_w(w, 0);
    ward_free(w);
    return rc;
}

int plat_fs_write_file_mkdirs(const char *path, const void *data, size_t len)
{
    wchar_t *w = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    const char *p = data;
    int rc;

    if (!path || !path[0] || (!data && len))
        return WARD_EINVAL;
    rc = plat_win_utf8_to_wide(path, strlen(path), &w);
    if (rc != 0)
        return rc;
    for (wchar_t *c = w; *c; c++)
        if (*c == L'/')
            *c = L'\\';
    /* Create each parent; skip the drive ("C:") and UNC/device prefixes, which exist. */
    for (wchar_t *c = w + 1; *c; c++) {
        if (*c != L'\\' || c[-1] == L':' || c[-1] == L'\\' || c[-1] == L'?' || c[-1] == L'.')
            continue;
        *c = L'\0';
        if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS &&
            GetLastError() != ERROR_ACCESS_DENIED) {
            rc = plat_err_from_win32(GetLastError());
            *c = L'\\';
            goto out;
        }
        *c = L'\\';
    }
    h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    while (len > 0) {
        DWORD chunk = len > 0x40000000 ? 0x40000000 : (DWORD)len, done = 0;
        if (!WriteFile(h, p, chunk, &done, NULL)) {
            rc = plat_err_from_win32(GetLastError());
            goto out;
        }
        p += done;
        len -= done;
    }
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    ward_free(w);
    return rc;
}
