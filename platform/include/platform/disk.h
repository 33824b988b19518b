/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disks for the wipe commands: finding the LUKS container under the root filesystem,
 * reading its header, crypto-erasing it, and zeroing a device that is not encrypted. All
 * of it blocks (cryptsetup children, megabytes of I/O): call it from a worker thread, never
 * on the loop thread.
 *
 * What a crypto-erase destroys: every key slot (`cryptsetup erase`, which wipes the key
 * material of all LUKS1/LUKS2 slots), then the whole header area from offset 0, both LUKS2
 * header copies and the key-slot area, or LUKS1's header and key material up to the payload
 * offset, overwritten with random bytes by pwrite + fsync (cryptsetup leaves the metadata
 * and the LUKS2 second header copy behind; random bytes leave no recognisable header
 * either). The volume key existed only in those slots, so the data area becomes ciphertext
 * nobody can decrypt. What it does not touch: the encrypted data area itself (rewriting a
 * whole disk takes hours and adds nothing once the key is gone), other partitions, the boot
 * partition, and the key of a mapping that is still open, which stays in kernel memory until
 * power-off (that is why full_wipe powers off right after). Header backups made elsewhere
 * (luksHeaderBackup files, escrowed keys) are out of reach by nature.
 *
 * Paths of devices are host paths (absolute; a relative one is WARD_EINVAL). `root` is the
 * usual test prefix for what is read from /proc and /sys (ROOT/proc/self/mountinfo,
 * ROOT/sys/...), NULL meaning "/". cryptsetup runs by argv from /sbin/cryptsetup or
 * /usr/sbin/cryptsetup (package cryptsetup-bin); without it the LUKS functions are
 * WARD_ENOENT. `why` (may be NULL) receives a one-line explanation on failure.
 *
 * Windows (BitLocker) is not implemented yet: every function is WARD_ENOTSUP there.
 */
#ifndef PLATFORM_DISK_H
#define PLATFORM_DISK_H

#include <stddef.h>

struct plat_luks_info {
    char device[256];       /* the LUKS block device or container file, e.g. /dev/nvme0n1p3 */
    int version;            /* 1 or 2 */
    int keyslots;           /* active key slots; -1 when unknown (plat_disk_root_luks) */
    char uuid[64];          /* "c3f96b11-f2bb-41ff-88f3-ffe8aeac0313" */
    long long header_bytes; /* bytes from offset 0 holding header copies and key slots;
                               0 when unknown (LUKS1 with payload offset 0) */
    long long data_offset;  /* where the encrypted data starts, bytes; 0 when unknown */
};

/* Finds the LUKS container that holds the filesystem mounted at `mountpoint` ("/"
 * normally). The last mountinfo entry for the mountpoint gives major:minor and source; the
 * device is found through ROOT/sys/dev/block/MAJ:MIN (or, for filesystems with anonymous
 * device numbers such as btrfs, a /dev/dm-N or /dev/mapper/NAME source). A dm-crypt mapping
 * (/sys/block/dm-N/dm/uuid "CRYPT-LUKS1-..." / "CRYPT-LUKS2-...") gives its one slave in
 * /sys/block/dm-N/slaves/ as the container; other device-mapper layers (LVM-on-LUKS: a
 * linear LV whose slave is the crypt mapping) are walked down through their slaves, and a
 * dm-integrity sub-device of LUKS2 authenticated encryption is skipped to the partition
 * below. Fills device ("/dev/" + kernel name), version and uuid from sysfs; keyslots is -1
 * and the sizes 0 (plat_disk_luks_inspect reads the header). Errors, each explained in why:
 * WARD_ENOENT when the filesystem is not on LUKS (not on device-mapper, plain dm-crypt, no
 * crypt layer) or nothing is mounted there; WARD_ENOTSUP when it spans more than one LUKS
 * container (an LV over several LUKS PVs: erasing one would not be a wipe); WARD_EPARSE for
 * unreadable mountinfo or sysfs content. */
int plat_disk_root_luks(const char *root, const char *mountpoint, struct plat_luks_info *out,
                        char *why, size_t whylen);

/* Reads the LUKS header of `device` (file or block device) with `cryptsetup luksDump` into
 * out. WARD_EPARSE when it is not LUKS, WARD_ENOENT when the device or cryptsetup is
 * missing, WARD_EIO when cryptsetup fails otherwise. */
int plat_disk_luks_inspect(const char *device, struct plat_luks_info *out, char *why,
                           size_t whylen);

/* verified: afterwards luksDump fails or shows no key slot, and the bytes read back from the
 * device are the ones written. cryptsetup_erased: `cryptsetup erase` succeeded (0: it
 * failed, was logged as a warning, and the overwrite alone destroyed the slots). */
struct plat_disk_erase_report {
    int slots_before;                   /* active key slots found before the erase */
    long long header_bytes_overwritten; /* random bytes written from offset 0 */
    int verified;
    int cryptsetup_erased;
};

/* Crypto-erase of the LUKS container `device` (see the top of this file): luksDump, then
 * `cryptsetup erase --batch-mode`, then random bytes over [0, header_bytes) (capped at the
 * device size) with pwrite + fsync, then the page cache dropped and the area read back and
 * compared, and luksDump again. A device that is not LUKS is refused (WARD_EPARSE) before
 * anything is written; a header size that cannot be known is WARD_ENOTSUP, also before.
 * The device may be in use (the running root sits on it), so it is not opened exclusively.
 * Returns 0 with *rep filled when verified; WARD_EVERIFY when the re-inspection still finds
 * key slots or the read-back differs; WARD_EIO / WARD_EACCES ... for I/O errors (the
 * header may then be partly overwritten already: that is still destruction, never
 * corruption of data that mattered). */
int plat_disk_crypto_erase(const char *device, struct plat_disk_erase_report *rep, char *why,
                           size_t whylen);

/* Progress of plat_disk_overwrite: bytes written so far and the total. */
typedef void (*plat_disk_progress_fn)(long long done, long long total, void *ctx);

/* Overwrites the whole block device or regular file `device` with zeros (for a device that
 * is not encrypted, where the admin's policy allows it): 1 MiB pwrites, fsync at the end.
 * progress (may be NULL) is called about every 64 MiB and once at the end with done ==
 * total; it is informational, so an I/O error after some progress is reported by the
 * return value only (all checks that can refuse happen before the first call). Refuses a
 * path that is not absolute or not a file/block device (WARD_EINVAL), and a device that is
 * mounted (WARD_EBUSY): named as a source in ROOT/proc/self/mounts, the same block device as
 * a mounted source, or, for a block device, refused by an exclusive open (partitions or a
 * device-mapper layer in use). */
int plat_disk_overwrite(const char *root, const char *device, plat_disk_progress_fn progress,
                        void *ctx, char *why, size_t whylen);

/* ---- pure parsers of Linux formats, (buf, len), for unit tests and fuzzing ------------
 * (WARD_ENOTSUP on Windows) */

struct plat_disk_mount {
    unsigned int major, minor; /* field 3 of mountinfo */
    char source[256];          /* mount source, octal escapes (\040) decoded */
    char fstype[64];
};

/* /proc/self/mountinfo: the last entry (the one on top) whose mount point equals
 * `mountpoint` (after decoding escapes). WARD_ENOENT when there is none, WARD_EPARSE when
 * that entry is malformed or its fields do not fit. */
int plat_disk_parse_mountinfo(const char *buf, size_t len, const char *mountpoint,
                              struct plat_disk_mount *out);

/* `cryptsetup luksDump` output (LANG=C) of LUKS1 or LUKS2: version, uuid, active key slots
 * and sizes into out (device left alone). LUKS2: header_bytes = 2 x metadata area +
 * keyslots area, data_offset from the first data segment; LUKS1: both are the payload
 * offset x 512. WARD_EPARSE when the text is not such a dump. */
int plat_disk_parse_luks_dump(const char *buf, size_t len, struct plat_luks_info *out);

/* A device-mapper uuid (/sys/block/dm-N/dm/uuid, trailing newline allowed):
 * "CRYPT-LUKS2-<32 hex>-<name>" -> *version 2 and the dashed uuid in uuid (at least 37
 * bytes). WARD_ENOENT for any other uuid (LVM-..., CRYPT-PLAIN-..., CRYPT-SUBDEV-...). */
int plat_disk_parse_dm_uuid(const char *buf, size_t len, int *version, char *uuid, size_t uuidlen);

#endif
