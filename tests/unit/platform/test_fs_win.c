/* SPDX-License-Identifier: Apache-2.0 */
/* Windows-only fs cases: reparse points (directory symlinks) that stay inside the root are
 * followed, ones that leave it are refused; paths Windows would reinterpret are refused;
 * the private state directory's owner and DACL, read back with GetNamedSecurityInfoW. */
#include "wtest.h"

#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include "platform/fs.h"
#include "ward/alloc.h"

#define NTS PLAT_FS_NTS

static int make_dir_link(const char *link, const char *target)
{
    wchar_t wl[1024], wt[1024];
    MultiByteToWideChar(CP_UTF8, 0, link, -1, wl, 1024);
    MultiByteToWideChar(CP_UTF8, 0, target, -1, wt, 1024);
    for (wchar_t *c = wl; *c; c++)
        *c = *c == L'/' ? L'\\' : *c;
    for (wchar_t *c = wt; *c; c++)
        *c = *c == L'/' ? L'\\' : *c;
    if (!CreateSymbolicLinkW(
            wl, wt, SYMBOLIC_LINK_FLAG_DIRECTORY | SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE))
        return -1;
    /* Wine 8 reports success without creating anything: check the link is really there. */
    return GetFileAttributesW(wl) == INVALID_FILE_ATTRIBUTES ? -1 : 0;
}

WT_TEST(fs_win_reparse_points)
{
    const char *root = wt_tmpdir();
    char *outside = NULL, *data = NULL;
    size_t len;
    WT_OK(plat_fs_make_temp_dir("wtest-outside", &outside));
    WT_OK(plat_fs_mkdir_p(root, "real", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "real/f", NTS, "inside", 6, NULL));
    if (make_dir_link(wt_path("in"), wt_path("real")) != 0) {
        printf("skip: cannot create symbolic links here\n");
        plat_fs_remove_tree(outside);
        ward_free(outside);
        return;
    }
    WT_OK(plat_fs_read_file(root, "in/f", NTS, 100, &data, &len));
    WT_EQ_STR(data, "inside");
    ward_free(data);
    WT_ASSERT(make_dir_link(wt_path("out"), outside) == 0);
    WT_EQ_ERR(plat_fs_write_atomic(root, "out/x", NTS, "pwned", 5, NULL), WARD_EPATH);
    WT_EQ_ERR(plat_fs_mkdir_p(root, "out/sub", NTS, 0), WARD_EPATH);
    /* The link itself can be removed without touching its target. */
    WT_OK(plat_fs_unlink(root, "out", NTS));
    WT_OK(plat_fs_remove_tree(outside));
    ward_free(outside);
}

WT_TEST(fs_win_reinterpreted_names)
{
    const char *root = wt_tmpdir();
    static const char *bad[] = {
        "C:/Windows/x", "a:b", "file.txt:stream", "NUL", "con.txt", "dir/COM1", "x.",
        "y ",           "q?",  "a\\..\\b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        WT_EQ_ERR(plat_fs_write_atomic(root, bad[i], NTS, "x", 1, NULL), WARD_EPATH);
    /* Both separators work. */
    WT_OK(plat_fs_mkdir_p(root, "a\\b/c", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "a/b\\c/f", NTS, "x", 1, NULL));
    WT_EQ_ERR(plat_fs_chmod(root, "a/b/c/f", NTS, 0600), WARD_ENOTSUP);
    {
        struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE, .mode = 0600};
        WT_EQ_ERR(plat_fs_write_atomic(root, "a/b/c/f", NTS, "x", 1, &a), WARD_ENOTSUP);
    }
}

static wchar_t *wide_path(const char *p)
{
    static wchar_t w[1024];
    MultiByteToWideChar(CP_UTF8, 0, p, -1, w, 1024);
    for (wchar_t *c = w; *c; c++)
        *c = *c == L'/' ? L'\\' : *c;
    return w;
}

/* SDDL of path's owner and DACL, for failure messages (static buffer). */
static const char *sddl_of(const char *path)
{
    static char out[2048];
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t *s = NULL;
    out[0] = '\0';
    if (GetNamedSecurityInfoW(wide_path(path), SE_FILE_OBJECT,
                              OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, NULL, NULL,
                              NULL, NULL, &sd) == ERROR_SUCCESS &&
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &s, NULL))
        WideCharToMultiByte(CP_UTF8, 0, s, -1, out, sizeof(out), NULL, NULL);
    LocalFree(s);
    LocalFree(sd);
    return out;
}

/* The DACL of path is exactly SYSTEM and Administrators, full control, with ace_flags
 * (OI|CI on the directory itself; INHERITED_ACE on what was created inside it). */
static void expect_private_acl(const char *path, BYTE ace_flags, int want_protected)
{
    BYTE sy[SECURITY_MAX_SID_SIZE], ba[SECURITY_MAX_SID_SIZE];
    DWORD sylen = sizeof(sy), balen = sizeof(ba), rev;
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_DESCRIPTOR_CONTROL ctl = 0;
    PSID owner = NULL;
    PACL dacl = NULL;
    int seen_sy = 0, seen_ba = 0;

    WT_ASSERT(CreateWellKnownSid(WinLocalSystemSid, NULL, sy, &sylen));
    WT_ASSERT(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, ba, &balen));
    WT_EQ_INT(GetNamedSecurityInfoW(wide_path(path), SE_FILE_OBJECT,
                                    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                                    NULL, &dacl, NULL, &sd),
              ERROR_SUCCESS);
    printf("%s: %s\n", path, sddl_of(path));
    WT_ASSERT(GetSecurityDescriptorControl(sd, &ctl, &rev));
    if (want_protected)
        WT_ASSERT(ctl & SE_DACL_PROTECTED);
    WT_ASSERT(dacl != NULL);
    WT_EQ_INT(dacl->AceCount, 2);
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        WT_ASSERT(GetAce(dacl, i, (void **)&ace));
        WT_EQ_INT(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
        WT_EQ_INT(ace->Header.AceFlags, ace_flags);
        WT_EQ_INT(ace->Mask, FILE_ALL_ACCESS);
        if (EqualSid((PSID)&ace->SidStart, sy))
            seen_sy++;
        else if (EqualSid((PSID)&ace->SidStart, ba))
            seen_ba++;
        else
            WT_ASSERT(!"an ACE for someone other than SYSTEM or Administrators");
    }
    WT_EQ_INT(seen_sy, 1);
    WT_EQ_INT(seen_ba, 1);
    if (want_protected) /* the directory itself; files inside are owned by their creator */
        WT_ASSERT(owner && EqualSid(owner, ba));
    LocalFree(sd);
}

static void create_file(const char *path)
{
    HANDLE h = CreateFileW(wide_path(path), GENERIC_WRITE, 0, NULL, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    WT_ASSERT(h != INVALID_HANDLE_VALUE);
    CloseHandle(h);
}

/* Whether this system keeps a file's security descriptor: Windows does; Debian 12's wine
 * 8.0 does not (its wineserver has no xattr support, so a descriptor set on a file lives
 * only in the server's object and every later query is made up from the Unix mode:
 * SYSTEM, the user, and Everyone for world bits). */
static int sd_kept(void)
{
    const char *probe = wt_path("probe");
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    int kept;
    WT_ASSERT(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        L"O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", SDDL_REVISION_1, &sd, NULL));
    sa.lpSecurityDescriptor = sd;
    WT_ASSERT(CreateDirectoryW(wide_path(probe), &sa));
    LocalFree(sd);
    kept = strstr(sddl_of(probe), "D:P(") != NULL;
    if (!kept) {
        /* Only wine may do that. */
        WT_ASSERT(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != NULL);
        printf("note: wine keeps no file security descriptors (set O:BAD:P(SY)(BA), read "
               "back %s): the ACL is not checked\n",
               sddl_of(probe));
    }
    return kept;
}

WT_TEST(private_dir_acl_created_and_repaired)
{
    const char *fresh = wt_path("a/b/state"), *broad = wt_path("broad");
    PSECURITY_DESCRIPTOR everyone = NULL;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    char why[512];
    int repaired = -1, kept = sd_kept();

    /* Created here: protected SY+BA from the start, and what is created inside inherits. */
    WT_OK(plat_fs_make_private_dir(fresh, &repaired, why, sizeof(why)));
    WT_EQ_INT(repaired, 0);
    WT_EQ_STR(why, "");
    if (!kept) {
        /* What can be checked: it works on a new and on an existing directory and says
         * what it did (under wine it re-applies each time: the read-back never matches). */
        WT_OK(plat_fs_make_private_dir(fresh, &repaired, why, sizeof(why)));
        WT_EQ_INT(repaired, 1);
        WT_CONTAINS(why, "SYSTEM and Administrators only");
        create_file(wt_path("a/b/state/key"));
        return;
    }
    expect_private_acl(fresh, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, 1);
    create_file(wt_path("a/b/state/key"));
    expect_private_acl(wt_path("a/b/state/key"), INHERITED_ACE, 0);
    WT_OK(plat_fs_make_private_dir(fresh, &repaired, why, sizeof(why)));
    WT_EQ_INT(repaired, 0);

    /* One made first with Everyone full control (inheritable, and inheriting from its
     * parent, as a directory the MSI or a user left): repaired, once. */
    WT_ASSERT(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        L"D:(A;OICI;FA;;;WD)", SDDL_REVISION_1, &everyone, NULL));
    sa.lpSecurityDescriptor = everyone;
    WT_ASSERT(CreateDirectoryW(wide_path(broad), &sa));
    LocalFree(everyone);
    printf("before: %s\n", sddl_of(broad));
    WT_CONTAINS(sddl_of(broad), ";;;WD)");
    WT_OK(plat_fs_make_private_dir(broad, &repaired, why, sizeof(why)));
    WT_EQ_INT(repaired, 1);
    WT_CONTAINS(why, "SYSTEM and Administrators only");
    expect_private_acl(broad, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, 1);
    create_file(wt_path("broad/after"));
    expect_private_acl(wt_path("broad/after"), INHERITED_ACE, 0);
    WT_OK(plat_fs_make_private_dir(broad, &repaired, why, sizeof(why)));
    WT_EQ_INT(repaired, 0);
    WT_EQ_STR(why, "");
}

WT_TEST(private_dir_refuses_a_file_in_the_way)
{
    const char *f = wt_write_file("notadir", "x", 1);
    char why[512];
    int repaired = -1;
    WT_EQ_ERR(plat_fs_make_private_dir(f, &repaired, why, sizeof(why)), WARD_ENOTDIR);
    WT_EQ_INT(repaired, 0);
    WT_CONTAINS(why, "is not a directory");
}
