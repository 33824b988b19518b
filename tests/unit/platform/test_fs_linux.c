/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux-only tests of platform/fs.h: confined symlink resolution (absolute targets inside
 * the root, relative escapes, loops, a directory swapped for a symlink while writing),
 * modes and owners, and write errors (ENOSPC on /dev/full and on a full tmpfs).
 */
#include "wtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/fs.h"
#include "ward/alloc.h"

#define NTS PLAT_FS_NTS

static const char *outside_dir(void)
{
    static char *dir;
    if (!dir)
        WT_OK(plat_fs_make_temp_dir("wtest-outside", &dir));
    return dir;
}

static void rm_outside(void)
{
    if (outside_dir())
        plat_fs_remove_tree(outside_dir());
}

static void read_expect(const char *root, const char *path, const char *want)
{
    char *data = NULL;
    size_t len = 0;
    WT_OK(plat_fs_read_file(root, path, NTS, 4096, &data, &len));
    WT_EQ_STR(data, want);
    ward_free(data);
}

WT_TEST(fs_mode_applied_and_kept)
{
    const char *root = wt_tmpdir();
    struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_MODE, .mode = 0600};
    struct plat_fs_info info;
    mode_t old = umask(077);
    /* A new file without attrs gets exactly 0644, whatever the umask. */
    WT_OK(plat_fs_write_atomic(root, "f", NTS, "1", 1, NULL));
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.mode, 0644);
    WT_OK(plat_fs_write_atomic(root, "f", NTS, "2", 1, &a));
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.mode, 0600);
    /* Replacing without attrs keeps the mode of the replaced file. */
    WT_OK(plat_fs_chmod(root, "f", NTS, 0640));
    WT_OK(plat_fs_write_atomic(root, "f", NTS, "3", 1, NULL));
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.mode, 0640);
    WT_OK(plat_fs_mkdir_p(root, "d1/d2", NTS, 0750));
    WT_OK(plat_fs_stat(root, "d1/d2", NTS, 0, &info));
    WT_EQ_INT(info.mode, 0750);
    WT_OK(plat_fs_chmod(root, "d1", NTS, 0711));
    WT_OK(plat_fs_stat(root, "d1", NTS, 0, &info));
    WT_EQ_INT(info.mode, 0711);
    WT_EQ_ERR(plat_fs_chmod(root, "nope", NTS, 0600), WARD_ENOENT);
    umask(old);
}

WT_TEST(fs_owner_applied_and_kept)
{
    const char *root = wt_tmpdir();
    struct plat_fs_attrs a = {.set = PLAT_FS_ATTR_UID | PLAT_FS_ATTR_GID, .uid = 1, .gid = 2};
    struct plat_fs_attrs byname = {
        .set = PLAT_FS_ATTR_OWNER | PLAT_FS_ATTR_GROUP, .owner = "root", .group = "0"};
    struct plat_fs_attrs unknown = {.set = PLAT_FS_ATTR_OWNER, .owner = "no-such-user-wtest"};
    struct plat_fs_info info;
    WT_EQ_ERR(plat_fs_write_atomic(root, "f", NTS, "x", 1, &unknown), WARD_ENOENT);
    if (geteuid() != 0) {
        printf("skip: owner changes need root\n");
        return;
    }
    WT_OK(plat_fs_write_atomic(root, "f", NTS, "x", 1, &a));
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.uid, 1);
    WT_EQ_INT(info.gid, 2);
    /* Kept on replace without attrs, and mode bits survive the chown. */
    WT_OK(plat_fs_chmod(root, "f", NTS, 02755));
    WT_OK(plat_fs_write_atomic(root, "f", NTS, "y", 1, NULL));
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.uid, 1);
    WT_EQ_INT(info.gid, 2);
    WT_EQ_INT(info.mode, 02755);
    WT_OK(plat_fs_set_attrs(root, "f", NTS, &byname));
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.uid, 0);
    WT_EQ_INT(info.gid, 0);
    WT_OK(plat_fs_chown(root, "f", NTS, 3, -1));
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.uid, 3);
    WT_EQ_INT(info.gid, 0);
}

WT_TEST(fs_absolute_symlink_stays_in_root)
{
    const char *root = wt_tmpdir();
    char target[1024], secret[1024];
    struct plat_fs_info info;
    atexit(rm_outside);
    snprintf(secret, sizeof(secret), "%s/secret", outside_dir());
    WT_OK(plat_fs_write_file_mkdirs(secret, "host secret", 11));
    /* Absolute target: resolved against the root (chroot semantics). */
    WT_OK(plat_fs_mkdir_p(root, "real/etc", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "real/etc/conf", NTS, "inside", 6, NULL));
    WT_ASSERT(symlink("/real/etc/conf", wt_path("link")) == 0);
    read_expect(root, "link", "inside");
    WT_OK(plat_fs_write_atomic(root, "link", NTS, "updated", 7, NULL));
    read_expect(root, "real/etc/conf", "updated");
    /* The link itself is still a link (its target was replaced). */
    WT_OK(plat_fs_stat(root, "link", NTS, PLAT_FS_NOFOLLOW, &info));
    WT_EQ_INT(info.type, PLAT_FS_SYMLINK);
    /* A host-absolute link to the outside file means <root>/<that path>, which is absent. */
    WT_ASSERT(symlink(secret, wt_path("evil")) == 0);
    {
        char *data = NULL;
        size_t len;
        WT_EQ_ERR(plat_fs_read_file(root, "evil", NTS, 100, &data, &len), WARD_ENOENT);
    }
    WT_EQ_ERR(plat_fs_write_atomic(root, "evil", NTS, "pwned", 5, NULL), WARD_ENOENT);
    read_expect(outside_dir(), "secret", "host secret");
    /* Symlinked directory with an absolute target, also inside the root. */
    snprintf(target, sizeof(target), "/real/etc");
    WT_ASSERT(symlink(target, wt_path("etclink")) == 0);
    read_expect(root, "etclink/conf", "updated");
    /* unlink removes the link, never the target. */
    WT_OK(plat_fs_unlink(root, "link", NTS));
    read_expect(root, "real/etc/conf", "updated");
}

WT_TEST(fs_relative_symlink_escape_rejected)
{
    const char *root = wt_tmpdir();
    char *data = NULL;
    size_t len;
    struct plat_fs_info info;
    WT_OK(plat_fs_mkdir_p(root, "a/b", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "a/f", NTS, "ok", 2, NULL));
    /* ".." inside the root is fine. */
    WT_ASSERT(symlink("../f", wt_path("a/b/up")) == 0);
    read_expect(root, "a/b/up", "ok");
    /* One ".." too many leaves the root. */
    WT_ASSERT(symlink("../../../etc/passwd", wt_path("a/b/esc")) == 0);
    WT_EQ_ERR(plat_fs_read_file(root, "a/b/esc", NTS, 100, &data, &len), WARD_EPATH);
    WT_EQ_ERR(plat_fs_write_atomic(root, "a/b/esc", NTS, "x", 1, NULL), WARD_EPATH);
    WT_EQ_ERR(plat_fs_stat(root, "a/b/esc", NTS, 0, &info), WARD_EPATH);
    WT_ASSERT(symlink("..", wt_path("dotdot")) == 0);
    WT_EQ_ERR(plat_fs_write_atomic(root, "dotdot/x", NTS, "x", 1, NULL), WARD_EPATH);
    WT_EQ_ERR(plat_fs_mkdir_p(root, "dotdot/x", NTS, 0), WARD_EPATH);
    /* Stricter than a chroot, where "/.." is "/": any climb above the root is refused. */
    WT_ASSERT(symlink("/../a/f", wt_path("rootdotdot")) == 0);
    WT_EQ_ERR(plat_fs_read_file(root, "rootdotdot", NTS, 100, &data, &len), WARD_EPATH);
}

WT_TEST(fs_symlink_loop)
{
    const char *root = wt_tmpdir();
    char *data = NULL;
    size_t len;
    char name[32], next[32];
    WT_ASSERT(symlink("l2", wt_path("l1")) == 0);
    WT_ASSERT(symlink("l1", wt_path("l2")) == 0);
    WT_EQ_ERR(plat_fs_read_file(root, "l1", NTS, 100, &data, &len), WARD_ELOOP);
    WT_EQ_ERR(plat_fs_write_atomic(root, "l1", NTS, "x", 1, NULL), WARD_ELOOP);
    WT_ASSERT(symlink("self/x", wt_path("self")) == 0);
    WT_EQ_ERR(plat_fs_write_atomic(root, "self/y", NTS, "x", 1, NULL), WARD_ELOOP);
    /* A long but finite chain within the limit resolves. */
    for (int i = 0; i < PLAT_FS_MAX_SYMLINKS; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        snprintf(next, sizeof(next), "c%d", i + 1);
        WT_ASSERT(symlink(next, wt_path(name)) == 0);
    }
    snprintf(name, sizeof(name), "c%d", PLAT_FS_MAX_SYMLINKS);
    WT_OK(plat_fs_write_atomic(root, name, NTS, "end", 3, NULL));
    read_expect(root, "c0", "end");
    WT_ASSERT(symlink("c0", wt_path("c-1")) == 0);
    WT_EQ_ERR(plat_fs_read_file(root, "c-1", NTS, 100, &data, &len), WARD_ELOOP);
}

WT_TEST(fs_dir_swapped_for_symlink_refused)
{
    const char *root = wt_tmpdir();
    char link[1024];
    WT_OK(plat_fs_mkdir_p(root, "d", NTS, 0));
    WT_OK(plat_fs_write_atomic(root, "d/x", NTS, "1", 1, NULL));
    atexit(rm_outside);
    /* Static case: the directory is replaced by a relative link that climbs out. */
    WT_ASSERT(rename(wt_path("d"), wt_path("d.old")) == 0);
    snprintf(link, sizeof(link), "../../../../../../../../..%s", outside_dir());
    WT_ASSERT(symlink(link, wt_path("d")) == 0);
    WT_EQ_ERR(plat_fs_write_atomic(root, "d/x", NTS, "2", 1, NULL), WARD_EPATH);
    WT_ASSERT(unlink(wt_path("d")) == 0);
    /* Host-absolute link: lands in <root><outside>, which does not exist. */
    WT_ASSERT(symlink(outside_dir(), wt_path("d")) == 0);
    WT_EQ_ERR(plat_fs_write_atomic(root, "d/x", NTS, "2", 1, NULL), WARD_ENOENT);
    WT_ASSERT(unlink(wt_path("d")) == 0);
    WT_ASSERT(rename(wt_path("d.old"), wt_path("d")) == 0);

    /* Racing case: a child keeps exchanging the directory with a link to the outside
     * while we write through it; nothing may ever land outside the root. */
    WT_ASSERT(symlink(link, wt_path("swap")) == 0);
    pid_t pid = fork();
    WT_ASSERT(pid >= 0);
    if (pid == 0) {
        for (;;)
            renameat2(AT_FDCWD, wt_path("d"), AT_FDCWD, wt_path("swap"), RENAME_EXCHANGE);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < 3000; i++) {
        int rc = plat_fs_write_atomic(root, "d/x", NTS, "race", 4, NULL);
        if (rc == 0)
            ok++;
        else
            refused++;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("race: %d written inside, %d refused\n", ok, refused);
    {
        DIR *dir = opendir(outside_dir());
        struct dirent *de;
        int n = 0;
        WT_ASSERT(dir != NULL);
        while ((de = readdir(dir)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(dir);
        WT_EQ_INT(n, 0);
    }
}

WT_TEST(fs_read_special_files)
{
    const char *root = wt_tmpdir();
    char *data = NULL;
    size_t len;
    WT_ASSERT(mkfifo(wt_path("fifo"), 0600) == 0);
    /* Must not block waiting for a writer. */
    WT_EQ_ERR(plat_fs_read_file(root, "fifo", NTS, 100, &data, &len), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_write_atomic(root, "fifo", NTS, "x", 1, NULL), WARD_EINVAL);
    /* procfs files report size 0 but have content. */
    WT_OK(plat_fs_read_file("/proc", "self/status", NTS, 1 << 20, &data, &len));
    WT_ASSERT(len > 0);
    WT_CONTAINS(data, "Pid:");
    ward_free(data);
}

WT_TEST(fs_write_error_dev_full)
{
    int rc = plat_fs_write_file_mkdirs("/dev/full", "x", 1);
    if (rc == WARD_ENOENT || rc == WARD_EACCES) {
        printf("skip: /dev/full not available\n");
        return;
    }
    WT_EQ_ERR(rc, WARD_ENOSPC);
}

WT_TEST(fs_enospc_on_full_tmpfs)
{
    const char *root;
    static char big[256 * 1024];
    struct plat_fs_info info;
    DIR *dir;
    struct dirent *de;
    int n = 0;
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0) {
        printf("skip: needs root and mount namespaces\n");
        return;
    }
    root = wt_tmpdir();
    /* Keep the mount private to this process's namespace. */
    WT_ASSERT(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    WT_ASSERT(mount("tmpfs", root, "tmpfs", 0, "size=64k") == 0);
    memset(big, 'z', sizeof(big));
    WT_OK(plat_fs_write_atomic(root, "f", NTS, "small", 5, NULL));
    WT_EQ_ERR(plat_fs_write_atomic(root, "f", NTS, big, sizeof(big), NULL), WARD_ENOSPC);
    /* Old content intact, no temp file left. */
    read_expect(root, "f", "small");
    dir = opendir(root);
    WT_ASSERT(dir != NULL);
    while ((de = readdir(dir)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(dir);
    WT_EQ_INT(n, 1);
    WT_OK(plat_fs_stat(root, "f", NTS, 0, &info));
    WT_EQ_INT(info.size, 5);
    WT_ASSERT(umount(root) == 0);
}

/* ---- listdir, readlink, in-place writes ------------------------------------------------ */

WT_TEST(listdir_sorted_confined_and_capped)
{
    const char *root = wt_tmpdir();
    char **names = NULL;
    size_t n = 0;
    wt_write_file("d/b", "1", 1);
    wt_write_file("d/a", "1", 1);
    wt_write_file("d/c/x", "1", 1);
    WT_OK(plat_fs_listdir(root, "/d", NTS, 100, &names, &n));
    WT_EQ_INT(n, 3);
    WT_EQ_STR(names[0], "a");
    WT_EQ_STR(names[1], "b");
    WT_EQ_STR(names[2], "c");
    plat_fs_names_free(names, n);
    /* Over the cap: a partial list and WARD_ETOOBIG. */
    WT_EQ_ERR(plat_fs_listdir(root, "/d", NTS, 2, &names, &n), WARD_ETOOBIG);
    WT_EQ_INT(n, 2);
    plat_fs_names_free(names, n);
    WT_EQ_ERR(plat_fs_listdir(root, "/d/a", NTS, 100, &names, &n), WARD_ENOTDIR);
    WT_EQ_ERR(plat_fs_listdir(root, "/nope", NTS, 100, &names, &n), WARD_ENOENT);
    WT_EQ_ERR(plat_fs_listdir(root, "/d/../..", NTS, 100, &names, &n), WARD_EPATH);
    /* A symlink leaving the root is not listed through. */
    WT_EQ_INT(symlink("../../../../../../../../etc", wt_path("esc")), 0);
    WT_EQ_ERR(plat_fs_listdir(root, "/esc", NTS, 100, &names, &n), WARD_EPATH);
    /* An absolute link target resolves inside the root (chroot semantics). */
    WT_EQ_INT(symlink("/d", wt_path("abs")), 0);
    WT_OK(plat_fs_listdir(root, "/abs", NTS, 100, &names, &n));
    WT_EQ_INT(n, 3);
    plat_fs_names_free(names, n);
}

WT_TEST(readlink_returns_text_without_following)
{
    const char *root = wt_tmpdir();
    char *t = NULL;
    wt_write_file("etc/zoneinfo/Europe/Paris", "TZ", 2);
    WT_EQ_INT(symlink("/usr/share/zoneinfo/Europe/Paris", wt_path("etc/localtime")), 0);
    WT_OK(plat_fs_readlink(root, "/etc/localtime", NTS, &t));
    WT_EQ_STR(t, "/usr/share/zoneinfo/Europe/Paris");
    ward_free(t);
    /* Even a target outside the root is only returned as text. */
    WT_EQ_INT(symlink("/../../../../etc/shadow", wt_path("etc/evil")), 0);
    WT_OK(plat_fs_readlink(root, "/etc/evil", NTS, &t));
    WT_EQ_STR(t, "/../../../../etc/shadow");
    ward_free(t);
    WT_EQ_ERR(plat_fs_readlink(root, "/etc/zoneinfo/Europe/Paris", NTS, &t), WARD_EINVAL);
    WT_EQ_ERR(plat_fs_readlink(root, "/etc/missing", NTS, &t), WARD_ENOENT);
}

WT_TEST(write_inplace_never_creates_or_escapes)
{
    const char *root = wt_tmpdir();
    char *data = NULL;
    size_t len = 0;
    char victim[512];
    struct stat before, after;
    wt_write_file("proc/sys/net/ipv4/tcp_syncookies", "0\n", 2);
    WT_EQ_INT(stat(wt_path("proc/sys/net/ipv4/tcp_syncookies"), &before), 0);
    WT_OK(plat_fs_write_inplace(root, "/proc/sys/net/ipv4/tcp_syncookies", NTS, "1\n", 2));
    WT_OK(plat_fs_read_file(root, "/proc/sys/net/ipv4/tcp_syncookies", NTS, 64, &data, &len));
    WT_EQ_STR(data, "1\n");
    ward_free(data);
    WT_EQ_INT(stat(wt_path("proc/sys/net/ipv4/tcp_syncookies"), &after), 0);
    WT_EQ_INT(before.st_ino, after.st_ino); /* same inode: no rename happened */
    WT_EQ_ERR(plat_fs_write_inplace(root, "/proc/sys/new", NTS, "1", 1), WARD_ENOENT);
    WT_EQ_ERR(plat_fs_write_inplace(root, "/proc/sys", NTS, "1", 1), WARD_EISDIR);
    /* A symlink to a file outside the root is refused, the outside file untouched. */
    snprintf(victim, sizeof(victim), "%s/victim", outside_dir());
    WT_OK(plat_fs_write_file_mkdirs(victim, "keep", 4));
    WT_EQ_INT(symlink("../../../../../../../../../../..", wt_path("proc/up")), 0);
    WT_EQ_ERR(plat_fs_write_inplace(root, "/proc/up/victim", NTS, "x", 1), WARD_EPATH);
    WT_OK(plat_fs_read_file(NULL, victim, NTS, 64, &data, &len));
    WT_EQ_STR(data, "keep");
    ward_free(data);
    rm_outside();
}

WT_TEST(private_dir_created_0700_and_loose_one_tightened)
{
    const char *dir = wt_path("p/q/state");
    char why[512];
    struct stat sb;
    int repaired = -1;
    mode_t old = umask(0077); /* created 0700 exactly, not what the umask leaves */

    WT_OK(plat_fs_make_private_dir(dir, &repaired, why, sizeof(why)));
    umask(old);
    WT_EQ_INT(repaired, 0);
    WT_EQ_STR(why, "");
    WT_EQ_INT(stat(dir, &sb), 0);
    WT_ASSERT(S_ISDIR(sb.st_mode));
    WT_EQ_INT(sb.st_mode & 07777, 0700);
    /* Again: nothing to do. */
    WT_OK(plat_fs_make_private_dir(dir, &repaired, why, sizeof(why)));
    WT_EQ_INT(repaired, 0);

    WT_EQ_INT(chmod(dir, 0755), 0);
    WT_OK(plat_fs_make_private_dir(dir, &repaired, why, sizeof(why)));
    WT_EQ_INT(repaired, 1);
    WT_CONTAINS(why, "was mode 0755");
    WT_EQ_INT(stat(dir, &sb), 0);
    WT_EQ_INT(sb.st_mode & 07777, 0700);
}

WT_TEST(private_dir_refuses_a_file_in_the_way)
{
    const char *f = wt_write_file("notadir", "x", 1);
    char why[512];
    int repaired = -1;
    WT_EQ_ERR(plat_fs_make_private_dir(f, &repaired, why, sizeof(why)), WARD_ENOTDIR);
    WT_EQ_INT(repaired, 0);
    WT_CONTAINS(why, "is not a directory");
    WT_EQ_ERR(plat_fs_make_private_dir("", NULL, NULL, 0), WARD_EINVAL);
}
