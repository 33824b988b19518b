/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows: the agent's private state directory (plat_fs_make_private_dir). A directory
 * made under %ProgramData% with no security attributes inherits its ACL, under which
 * BUILTIN\Users may read and create files: no place for the device key. The directory
 * gets owner BUILTIN\Administrators and a protected DACL of full control for SYSTEM and
 * Administrators, inherited by everything below (SDDL "O:BAD:P(A;OICI;FA;;;SY)
 * (A;OICI;FA;;;BA)"), at creation through SECURITY_ATTRIBUTES. An existing directory (the
 * MSI's, a user's, an older agent's) is held open without FILE_SHARE_DELETE while its
 * security descriptor is compared with that one, so it cannot be swapped for a junction
 * in between, and anything else is replaced with SetNamedSecurityInfoW, which also
 * re-derives the inherited ACEs of the files already inside.
 */
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../errmap.h"
#include "platform/fs.h"
#include "wstr.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/error.h"

static const wchar_t private_sddl[] = L"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

static void say(char *why, size_t whylen, const char *fmt, ...) WARD_PRINTF(3, 4);

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* 1 when the descriptor is exactly the one private_sddl describes. */
static int is_private(PSECURITY_DESCRIPTOR sd, PSID owner, PACL dacl)
{
    BYTE sy[SECURITY_MAX_SID_SIZE], ba[SECURITY_MAX_SID_SIZE];
    DWORD sylen = sizeof(sy), balen = sizeof(ba), rev;
    SECURITY_DESCRIPTOR_CONTROL ctl;
    int seen_sy = 0, seen_ba = 0;

    if (!CreateWellKnownSid(WinLocalSystemSid, NULL, sy, &sylen) ||
        !CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, ba, &balen))
        return 0;
    if (!GetSecurityDescriptorControl(sd, &ctl, &rev) || !(ctl & SE_DACL_PROTECTED))
        return 0;
    if (!owner || !EqualSid(owner, ba) || !dacl || dacl->AceCount != 2)
        return 0;
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace;
        if (!GetAce(dacl, i, (void **)&ace))
            return 0;
        if (ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE ||
            ace->Header.AceFlags != (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE) ||
            ace->Mask != FILE_ALL_ACCESS)
            return 0;
        if (EqualSid((PSID)&ace->SidStart, sy))
            seen_sy++;
        else if (EqualSid((PSID)&ace->SidStart, ba))
            seen_ba++;
        else
            return 0;
    }
    return seen_sy == 1 && seen_ba == 1;
}

/* Creates each missing parent of w (modified and restored) with the inherited ACL. A
 * parent we may not create because it exists (ACCESS_DENIED on "C:\ProgramData") is not
 * an error; the final CreateDirectoryW tells. Drive and UNC/device prefixes are skipped. */
static DWORD make_parents(wchar_t *w)
{
    for (wchar_t *c = w + 1; *c; c++) {
        if (*c != L'\\' || c[-1] == L':' || c[-1] == L'\\' || c[-1] == L'?' || c[-1] == L'.')
            continue;
        *c = L'\0';
        if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS &&
            GetLastError() != ERROR_ACCESS_DENIED) {
            DWORD e = GetLastError();
            *c = L'\\';
            return e;
        }
        *c = L'\\';
    }
    return 0;
}

int plat_fs_make_private_dir(const char *path, int *repaired, char *why, size_t whylen)
{
    PSECURITY_DESCRIPTOR want = NULL, have = NULL;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    BY_HANDLE_FILE_INFORMATION bhi;
    HANDLE h = INVALID_HANDLE_VALUE;
    PSID want_owner = NULL, have_owner = NULL;
    PACL want_dacl = NULL, have_dacl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    wchar_t *w = NULL;
    size_t len;
    DWORD e;
    int rc, created = 0;

    if (repaired)
        *repaired = 0;
    say(why, whylen, "%s", "");
    if (!path || !path[0]) {
        say(why, whylen, "no state directory given");
        return WARD_EINVAL;
    }
    rc = plat_win_utf8_to_wide(path, strlen(path), &w);
    if (rc != 0) {
        say(why, whylen, "%s: not a valid path", path);
        return rc;
    }
    for (wchar_t *c = w; *c; c++)
        if (*c == L'/')
            *c = L'\\';
    len = wcslen(w);
    while (len > 1 && w[len - 1] == L'\\' && w[len - 2] != L':')
        w[--len] = L'\0';

    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(private_sddl, SDDL_REVISION_1, &want,
                                                              NULL) ||
        !GetSecurityDescriptorOwner(want, &want_owner, &defaulted) ||
        !GetSecurityDescriptorDacl(want, &present, &want_dacl, &defaulted) || !present) {
        e = GetLastError();
        rc = plat_err_from_win32(e);
        say(why, whylen, "cannot build the SYSTEM and Administrators ACL: error %lu",
            (unsigned long)e);
        goto out;
    }
    sa.lpSecurityDescriptor = want;

    e = make_parents(w);
    if (e != 0) {
        rc = plat_err_from_win32(e);
        say(why, whylen, "cannot create the parents of %s: error %lu (%s)", path, (unsigned long)e,
            ward_strerror(rc));
        goto out;
    }
    if (CreateDirectoryW(w, &sa)) {
        created = 1;
    } else if ((e = GetLastError()) != ERROR_ALREADY_EXISTS) {
        rc = plat_err_from_win32(e);
        say(why, whylen,
            e == ERROR_INVALID_OWNER || e == ERROR_ACCESS_DENIED
                ? "cannot create %s owned by Administrators: error %lu (%s; run as an "
                  "administrator or as SYSTEM)"
                : "cannot create %s: error %lu (%s)",
            path, (unsigned long)e, ward_strerror(rc));
        goto out;
    }

    /* Held without FILE_SHARE_DELETE: it stays this directory until we are done. */
    h = CreateFileW(w, READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        e = GetLastError();
        rc = plat_err_from_win32(e);
        say(why, whylen, "cannot open %s to check its ACL: error %lu (%s)", path, (unsigned long)e,
            ward_strerror(rc));
        goto out;
    }
    if (!GetFileInformationByHandle(h, &bhi)) {
        e = GetLastError();
        rc = plat_err_from_win32(e);
        say(why, whylen, "cannot read the attributes of %s: error %lu", path, (unsigned long)e);
        goto out;
    }
    if (!(bhi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
        rc = WARD_ENOTDIR;
        say(why, whylen, "%s is not a directory", path);
        goto out;
    }
    if (bhi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        rc = WARD_EPATH;
        say(why, whylen,
            "%s is a link or junction: not changing the ACL of what it points to; "
            "make it a real directory",
            path);
        goto out;
    }
    e = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                        &have_owner, NULL, &have_dacl, NULL, &have);
    if (e != ERROR_SUCCESS) {
        rc = plat_err_from_win32(e);
        say(why, whylen, "cannot read the ACL of %s: error %lu (%s)", path, (unsigned long)e,
            ward_strerror(rc));
        goto out;
    }
    if (is_private(have, have_owner, have_dacl))
        goto out;
    e = SetNamedSecurityInfoW(w, SE_FILE_OBJECT,
                              OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                  PROTECTED_DACL_SECURITY_INFORMATION,
                              want_owner, NULL, want_dacl, NULL);
    if (e != ERROR_SUCCESS) {
        rc = plat_err_from_win32(e);
        say(why, whylen, "cannot restrict %s to SYSTEM and Administrators: error %lu (%s%s)", path,
            (unsigned long)e, ward_strerror(rc),
            e == ERROR_INVALID_OWNER || e == ERROR_ACCESS_DENIED
                ? "; run as an administrator or as SYSTEM"
                : "");
        goto out;
    }
    if (!created) {
        if (repaired)
            *repaired = 1;
        say(why, whylen,
            "%s had an ACL open to other accounts (or another owner); now owned by "
            "Administrators, SYSTEM and Administrators only",
            path);
    }
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (have)
        LocalFree(have);
    if (want)
        LocalFree(want);
    ward_free(w);
    return rc;
}
