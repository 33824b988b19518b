/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows back end for private files (ward_secfile_*) and the few OS file operations that
 * portable code in common/ needs. A private file is created under a protected DACL that
 * grants full control to SYSTEM and Administrators only (no inherited ACEs), written,
 * flushed, then moved over the target with MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH).
 * Paths arrive as UTF-8 and are converted to UTF-16 for the wide APIs.
 */
#include "ward/crypto.h"

#include <windows.h>

#include <aclapi.h>
#include <fcntl.h>
#include <io.h>
#include <sddl.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "ward/alloc.h"
#include "ward/error.h"

/* P: protected (parent ACEs are not inherited); FA: file all access. */
static const wchar_t private_sddl[] = L"D:P(A;;FA;;;SY)(A;;FA;;;BA)";

static int map_win(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return WARD_ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_WRITE_PROTECT:
        return WARD_EACCES;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
        return WARD_EBUSY;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return WARD_EEXIST;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return WARD_ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return WARD_ENOMEM;
    case ERROR_INVALID_NAME:
    case ERROR_FILENAME_EXCED_RANGE:
    case ERROR_BAD_PATHNAME:
        return WARD_EPATH;
    default:
        return WARD_EIO;
    }
}

/* UTF-8 -> new UTF-16 string (ward_free), with an optional ASCII suffix appended. */
static int widen(const char *s, const char *suffix, wchar_t **out)
{
    size_t extra = suffix ? strlen(suffix) : 0;
    int n;
    wchar_t *w;

    *out = NULL;
    if (!s || !*s)
        return WARD_EINVAL;
    n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return WARD_EPATH;
    w = ward_malloc(((size_t)n + extra) * sizeof(wchar_t));
    if (!w)
        return WARD_ENOMEM;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        ward_free(w);
        return WARD_EPATH;
    }
    for (size_t i = 0; i < extra; i++)
        w[(size_t)n - 1 + i] = (wchar_t)(unsigned char)suffix[i];
    w[(size_t)n - 1 + extra] = L'\0';
    *out = w;
    return 0;
}

int ward_secfile_write(const char *path, const void *data, size_t len)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_ATTRIBUTES sa;
    PACL dacl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    HANDLE h = INVALID_HANDLE_VALUE;
    wchar_t *wpath = NULL, *wtmp = NULL;
    const char *p = data;
    unsigned char rnd[6];
    char suffix[32];
    size_t off = 0;
    int rc, created = 0;

    if (len && !data)
        return WARD_EINVAL;
    rc = ward_random_bytes(rnd, sizeof(rnd));
    if (rc != 0)
        return rc;
    memcpy(suffix, ".tmp.", 5);
    rc = ward_hex_encode(rnd, sizeof(rnd), suffix + 5, sizeof(suffix) - 5);
    if (rc != 0)
        return rc;
    rc = widen(path, NULL, &wpath);
    if (rc != 0)
        goto out;
    rc = widen(path, suffix, &wtmp);
    if (rc != 0)
        goto out;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(private_sddl, SDDL_REVISION_1, &sd,
                                                              NULL) ||
        !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present || !dacl) {
        rc = map_win(GetLastError());
        goto out;
    }
    sa.nLength = sizeof(sa);
    sa.lpSecurityDescriptor = sd;
    sa.bInheritHandle = FALSE;
    h = CreateFileW(wtmp, GENERIC_WRITE | WRITE_DAC, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
                    NULL);
    if (h == INVALID_HANDLE_VALUE) {
        rc = map_win(GetLastError());
        goto out;
    }
    created = 1;
    /* Set it again explicitly: the creation attributes can be adjusted by inheritance rules
     * on some file systems, SetSecurityInfo with PROTECTED_DACL cannot. */
    if (SetSecurityInfo(h, SE_FILE_OBJECT,
                        DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL,
                        dacl, NULL) != ERROR_SUCCESS) {
        rc = WARD_EACCES;
        goto out;
    }
    while (off < len) {
        DWORD chunk = len - off > 0x40000000 ? 0x40000000 : (DWORD)(len - off), n = 0;
        if (!WriteFile(h, p + off, chunk, &n, NULL)) {
            rc = map_win(GetLastError());
            goto out;
        }
        off += n;
    }
    if (!FlushFileBuffers(h)) {
        rc = map_win(GetLastError());
        goto out;
    }
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    if (!MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        rc = map_win(GetLastError());
        goto out;
    }
    created = 0;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (created)
        DeleteFileW(wtmp);
    if (sd)
        LocalFree(sd);
    ward_free(wtmp);
    ward_free(wpath);
    return rc;
}

/* Wine neither stores nor enforces file DACLs (it makes one up from the Unix mode), so a
 * check there proves nothing either way: say so instead of guessing. */
static int under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

int ward_secfile_check(const char *path)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    SECURITY_DESCRIPTOR_CONTROL ctl = 0;
    DWORD revision = 0, err;
    wchar_t *wpath = NULL;
    int rc;

    rc = widen(path, NULL, &wpath);
    if (rc != 0)
        return rc;
    if (GetFileAttributesW(wpath) == INVALID_FILE_ATTRIBUTES) {
        rc = map_win(GetLastError());
        goto out;
    }
    if (under_wine()) {
        rc = WARD_ENOTSUP;
        goto out;
    }
    err = GetNamedSecurityInfoW(wpath, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
                                NULL, &sd);
    if (err != ERROR_SUCCESS) {
        rc = map_win(err);
        goto out;
    }
    /* A NULL DACL grants everyone everything; inherited ACEs can grant anyone anything. */
    if (!dacl || !GetSecurityDescriptorControl(sd, &ctl, &revision) || !(ctl & SE_DACL_PROTECTED)) {
        rc = WARD_EACCES;
        goto out;
    }
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        void *ace = NULL;
        ACE_HEADER *hdr;
        PSID sid;
        if (!GetAce(dacl, i, &ace)) {
            rc = WARD_EACCES;
            goto out;
        }
        hdr = ace;
        if (hdr->AceType == ACCESS_DENIED_ACE_TYPE)
            continue;
        if (hdr->AceType != ACCESS_ALLOWED_ACE_TYPE) {
            rc = WARD_EACCES; /* object or callback ACEs: not what we write */
            goto out;
        }
        sid = &((ACCESS_ALLOWED_ACE *)ace)->SidStart;
        if (!IsWellKnownSid(sid, WinLocalSystemSid) &&
            !IsWellKnownSid(sid, WinBuiltinAdministratorsSid)) {
            rc = WARD_EACCES;
            goto out;
        }
    }
out:
    if (sd)
        LocalFree(sd);
    ward_free(wpath);
    return rc;
}

int ward_os_fopen_read(const char *path, FILE **out)
{
    wchar_t *wpath = NULL;
    HANDLE h;
    int fd, rc;

    *out = NULL;
    rc = widen(path, NULL, &wpath);
    if (rc != 0)
        return rc;
    /* Not inheritable (no SECURITY_ATTRIBUTES): children never see the handle. */
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    ward_free(wpath);
    if (h == INVALID_HANDLE_VALUE)
        return map_win(GetLastError());
    fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
    if (fd < 0) {
        CloseHandle(h);
        return WARD_EIO;
    }
    *out = _fdopen(fd, "rb");
    if (!*out) {
        _close(fd);
        return WARD_ENOMEM;
    }
    return 0;
}

int ward_os_rename(const char *from, const char *to)
{
    wchar_t *wfrom = NULL, *wto = NULL;
    int rc = widen(from, NULL, &wfrom);
    if (rc == 0)
        rc = widen(to, NULL, &wto);
    if (rc == 0 && !MoveFileExW(wfrom, wto, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        rc = map_win(GetLastError());
    ward_free(wto);
    ward_free(wfrom);
    return rc;
}

int ward_os_remove(const char *path)
{
    wchar_t *wpath = NULL;
    int rc = widen(path, NULL, &wpath);
    if (rc == 0 && !DeleteFileW(wpath))
        rc = map_win(GetLastError());
    ward_free(wpath);
    return rc;
}
