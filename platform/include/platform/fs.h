/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Filesystem services. Everything enforcement writes goes through here, confined to a root
 * prefix (WARD_ROOT: "/" in production, a scratch tree in tests):
 *
 *   - `root` is a trusted host directory (NULL means "/" on POSIX and the system drive on
 *     Windows). `path` names something inside it, with chroot semantics: a leading "/" is
 *     the root itself, "." and empty components are skipped.
 *   - Paths are counted strings (`path`, `path_len`), so a NUL byte inside a JSON string
 *     cannot silently cut "etc/passwd\0.conf" short; PLAT_FS_NTS means "use strlen".
 *     A NUL byte, a ".." component or an over-long path is WARD_EPATH.
 *   - Symlinks (Linux) are resolved by this code, one component at a time from a root
 *     directory fd with O_PATH|O_NOFOLLOW: absolute targets resolve relative to the root,
 *     a relative target whose ".." would climb above the root is WARD_EPATH, and more than
 *     PLAT_FS_MAX_SYMLINKS links is WARD_ELOOP. Directories are held open while walking,
 *     so a symlink swapped in mid-operation cannot redirect a write outside the root.
 *     On Windows a reparse point is followed only if its final path stays inside the root.
 *   - Operations that name an existing object follow a final symlink (within the root)
 *     unless PLAT_FS_NOFOLLOW is given; plat_fs_unlink never follows.
 *
 * Results come through out-parameters; allocated ones are freed with ward_free().
 */
#ifndef PLATFORM_FS_H
#define PLATFORM_FS_H

#include <stddef.h>
#include <stdint.h>

/* path_len value meaning "path is NUL-terminated". */
#define PLAT_FS_NTS ((size_t)-1)
#define PLAT_FS_MAX_PATH 4096
#define PLAT_FS_MAX_SYMLINKS 40

/* flags for plat_fs_stat */
#define PLAT_FS_NOFOLLOW 0x1u

enum plat_fs_type {
    PLAT_FS_NONE = 0,
    PLAT_FS_FILE,
    PLAT_FS_DIR,
    PLAT_FS_SYMLINK,
    PLAT_FS_OTHER, /* device, fifo, socket */
};

struct plat_fs_info {
    enum plat_fs_type type;
    unsigned int mode; /* permission bits (07777); Windows: 0444 or 0666 (+0111 for dirs) */
    int64_t uid;       /* -1 where the OS has no numeric owner (Windows) */
    int64_t gid;
    uint64_t size;
    int64_t mtime_ns; /* nanoseconds since the Unix epoch */
};

/* Which fields of plat_fs_attrs to apply. */
#define PLAT_FS_ATTR_MODE 0x1u   /* mode */
#define PLAT_FS_ATTR_UID 0x2u    /* uid */
#define PLAT_FS_ATTR_GID 0x4u    /* gid */
#define PLAT_FS_ATTR_OWNER 0x8u  /* owner: user name (or decimal uid), looked up on the host */
#define PLAT_FS_ATTR_GROUP 0x10u /* group: group name (or decimal gid) */
/* plat_fs_write_atomic only: skip the fsyncs (file and directory). For scratch files that
 * are worthless after a crash (a job's script in its private directory): still atomic for
 * readers, not durable. */
#define PLAT_FS_WRITE_NOSYNC 0x20u

struct plat_fs_attrs {
    unsigned int set; /* PLAT_FS_ATTR_* */
    unsigned int mode;
    int64_t uid;
    int64_t gid;
    const char *owner;
    const char *group;
};

/* Reads a whole regular file of at most `max` bytes: larger is WARD_ETOOBIG, a directory
 * WARD_EISDIR, a device/fifo WARD_EINVAL. *data is NUL-terminated (not counted in *len). */
int plat_fs_read_file(const char *root, const char *path, size_t path_len, size_t max, char **data,
                      size_t *len);

/* Atomically replaces (or creates) a regular file: temp file in the same directory, write,
 * apply attributes, fsync, rename over the target, fsync the directory. Readers see the old
 * or the new content, never a mix, and no temp file is left behind on failure.
 * attrs NULL (or fields not in attrs->set): an existing file keeps its mode and owner, a new
 * one gets 0644 and the caller's owner. The parent directory must exist. A final symlink is
 * followed (inside the root) and its target replaced.
 * Windows: mode and owner are ACL matters; asking for them is WARD_ENOTSUP. */
int plat_fs_write_atomic(const char *root, const char *path, size_t path_len, const void *data,
                         size_t len, const struct plat_fs_attrs *attrs);

/* Metadata; a missing object is WARD_ENOENT. flags: PLAT_FS_NOFOLLOW. */
int plat_fs_stat(const char *root, const char *path, size_t path_len, unsigned int flags,
                 struct plat_fs_info *info);

/* Sets permission bits (07777) of an existing object. Windows: WARD_ENOTSUP. */
int plat_fs_chmod(const char *root, const char *path, size_t path_len, unsigned int mode);

/* Sets owner and/or group from attrs (PLAT_FS_ATTR_UID/GID/OWNER/GROUP; MODE is applied
 * too if set). An unknown user or group name is WARD_ENOENT. Windows: WARD_ENOTSUP. */
int plat_fs_set_attrs(const char *root, const char *path, size_t path_len,
                      const struct plat_fs_attrs *attrs);

/* chown under root with numeric ids; -1 keeps that id. Windows: WARD_ENOTSUP. */
int plat_fs_chown(const char *root, const char *path, size_t path_len, int64_t uid, int64_t gid);

/* Removes a non-directory (a final symlink itself is removed, never its target).
 * A directory is WARD_EISDIR; a missing object WARD_ENOENT. */
int plat_fs_unlink(const char *root, const char *path, size_t path_len);

/* Removes an empty directory (WARD_EEXIST when not empty). */
int plat_fs_rmdir(const char *root, const char *path, size_t path_len);

/* Creates the directory and any missing parents with `mode` (0 means 0755; exact, not
 * filtered by the umask). Existing directories are left as they are; an existing
 * non-directory in the way is WARD_ENOTDIR. Windows ignores mode. */
int plat_fs_mkdir_p(const char *root, const char *path, size_t path_len, unsigned int mode);

/* Names in a directory (final symlink followed within the root), without "." and "..",
 * sorted bytewise. *names is a new array of new strings (plat_fs_names_free). A directory
 * with more than `max` entries gives the first `max` read (sorted) and WARD_ETOOBIG, so a
 * caller can use a partial list; on any other error nothing is returned. */
int plat_fs_listdir(const char *root, const char *path, size_t path_len, size_t max, char ***names,
                    size_t *count);
void plat_fs_names_free(char **names, size_t count);

/* Text of the symlink at path (the final component is not followed; its parent is
 * resolved with confinement). The text is only returned, never followed. *target new.
 * WARD_EINVAL when path is not a symlink. Windows: WARD_ENOTSUP. */
int plat_fs_readlink(const char *root, const char *path, size_t path_len, char **target);

/* Overwrites an existing regular file in place (open, write, close; no temp file, no
 * rename), for kernel interfaces such as /proc/sys that cannot be replaced. Never creates
 * the file; the final component is resolved with confinement like everything else.
 * Windows: WARD_ENOTSUP. */
int plat_fs_write_inplace(const char *root, const char *path, size_t path_len, const void *data,
                          size_t len);

/* Host path of `path` after confined resolution (final symlink followed), for handing to a
 * child process. The object need not exist, but its parent must. Inherently racy once
 * returned: use the functions above for anything that writes. */
int plat_fs_resolve(const char *root, const char *path, size_t path_len, char **host_path);

/* ---- The agent's private state directory (host path, no root prefix) ---- */

/* Creates `path` (and any missing parents, which get the OS default: 0755 / the inherited
 * ACL) as a directory only the machine's administrators can reach, or makes an existing
 * one so. It holds the device's private key.
 * POSIX: the directory is 0700 (exactly, when created here); an existing one with group
 * or other bits is chmod'ed to 0700. The owner is not changed.
 * Windows: owner BUILTIN\Administrators and a protected DACL (SE_DACL_PROTECTED: nothing
 * inherited from %ProgramData%) of exactly two ACEs, full control for NT AUTHORITY\SYSTEM
 * and for BUILTIN\Administrators, inherited by files and subfolders (OI|CI). Given at
 * creation, and re-applied (SetNamedSecurityInfoW, which also re-derives what existing
 * files inherited) to an existing directory whose owner or DACL is anything else, such as
 * one the MSI or a user made first. A reparse point (link, junction) at `path` is
 * WARD_EPATH: the ACL of whatever it points to is never changed. Setting the owner needs
 * an elevated administrator or SYSTEM (else WARD_EACCES).
 * An existing non-directory is WARD_ENOTDIR. *repaired (may be NULL) is 1 when an
 * existing directory was looser and has been tightened. `why` (may be NULL) gets one
 * line: the reason on failure, what was changed when repaired, "" otherwise. */
int plat_fs_make_private_dir(const char *path, int *repaired, char *why, size_t whylen);

/* ---- Host-path helpers for tests and fixtures (no root prefix) ---- */

/* Creates a fresh private (0700) directory "<tmp>/<prefix>-XXXXXX" under the system temp
 * dir ($TMPDIR or /tmp; GetTempPathW on Windows); *out is an absolute path, ward_malloc'd. */
int plat_fs_make_temp_dir(const char *prefix, char **out);
/* Removes a directory tree (or a single file) without following symlinks. A missing path
 * is success. */
int plat_fs_remove_tree(const char *path);
/* Writes a whole file, creating missing parent directories (tests, fixtures). */
int plat_fs_write_file_mkdirs(const char *path, const void *data, size_t len);

#endif
