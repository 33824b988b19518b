/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows disks: the crypto-erase counterpart is BitLocker (destroying the key protectors
 * of the OS volume), which the Windows platform modules issue brings. Until then every
 * function here says so explicitly with WARD_ENOTSUP instead of pretending to have wiped
 * anything. The parsers read Linux formats (mountinfo, cryptsetup output) and are not
 * built here either.
 */
#include <stdio.h>
#include <string.h>

#include "platform/disk.h"
#include "ward/error.h"

static int not_yet(char *why, size_t whylen)
{
    if (why && whylen)
        snprintf(why, whylen, "%s",
                 "not implemented on Windows yet (BitLocker: Windows platform modules issue)");
    return WARD_ENOTSUP;
}

int plat_disk_root_luks(const char *root, const char *mountpoint, struct plat_luks_info *out,
                        char *why, size_t whylen)
{
    (void)root;
    (void)mountpoint;
    if (out)
        memset(out, 0, sizeof(*out));
    return not_yet(why, whylen);
}

int plat_disk_luks_inspect(const char *device, struct plat_luks_info *out, char *why, size_t whylen)
{
    (void)device;
    if (out)
        memset(out, 0, sizeof(*out));
    return not_yet(why, whylen);
}

int plat_disk_crypto_erase(const char *device, struct plat_disk_erase_report *rep, char *why,
                           size_t whylen)
{
    (void)device;
    if (rep)
        memset(rep, 0, sizeof(*rep));
    return not_yet(why, whylen);
}

int plat_disk_overwrite(const char *root, const char *device, plat_disk_progress_fn progress,
                        void *ctx, char *why, size_t whylen)
{
    (void)root;
    (void)device;
    (void)progress;
    (void)ctx;
    return not_yet(why, whylen);
}

int plat_disk_parse_mountinfo(const char *buf, size_t len, const char *mountpoint,
                              struct plat_disk_mount *out)
{
    (void)buf;
    (void)len;
    (void)mountpoint;
    (void)out;
    return WARD_ENOTSUP;
}

int plat_disk_parse_luks_dump(const char *buf, size_t len, struct plat_luks_info *out)
{
    (void)buf;
    (void)len;
    (void)out;
    return WARD_ENOTSUP;
}

int plat_disk_parse_dm_uuid(const char *buf, size_t len, int *version, char *uuid, size_t uuidlen)
{
    (void)buf;
    (void)len;
    (void)version;
    (void)uuid;
    (void)uuidlen;
    return WARD_ENOTSUP;
}
