/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux sysinfo: uname(2) for hostname, kernel and architecture; os-release, machine-id
 * and /proc/stat read under the root prefix through platform/fs.h (so a symlinked
 * /etc/os-release resolves inside the root) and handed to the shared parsers.
 */
#define WARD_LOG_TAG "sysinfo"

#include <string.h>
#include <sys/utsname.h>

#include "platform/fs.h"
#include "platform/sysinfo.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define SYSINFO_SMALL_MAX (64 * 1024)
#define SYSINFO_STAT_MAX (4 * 1024 * 1024) /* /proc/stat grows with CPUs and IRQs */

/* Copies a clean printable string or leaves dst empty. */
static void set_field(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    dst[0] = '\0';
    if (n >= size)
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)src[i] < 0x20 || src[i] == 0x7f)
            return;
    memcpy(dst, src, n + 1);
}

static int read_first(const char *root, const char *const *paths, size_t max, char **data,
                      size_t *len)
{
    int rc = WARD_ENOENT;
    for (size_t i = 0; paths[i]; i++) {
        rc = plat_fs_read_file(root, paths[i], PLAT_FS_NTS, max, data, len);
        if (rc == 0)
            return 0;
    }
    return rc;
}

int plat_sysinfo_get(const char *root, struct plat_sysinfo *out)
{
    static const char *const osrel[] = {"/etc/os-release", "/usr/lib/os-release", NULL};
    static const char *const mid[] = {"/etc/machine-id", "/var/lib/dbus/machine-id", NULL};
    static const char *const stat[] = {"/proc/stat", NULL};
    struct utsname u;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (!out)
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));
    if (uname(&u) == 0) {
        set_field(out->hostname, sizeof(out->hostname), u.nodename);
        set_field(out->kernel, sizeof(out->kernel), u.release);
        set_field(out->arch, sizeof(out->arch), u.machine);
    }

    rc = read_first(root, osrel, SYSINFO_SMALL_MAX, &data, &len);
    if (rc == 0)
        plat_sysinfo_parse_os_release(data, len, out);
    else
        WARD_DEBUG("no os-release: %s", ward_err_name(rc));
    ward_free(data);
    data = NULL;
    /* os-release(5): a missing ID means "linux", a missing NAME "Linux". */
    if (!out->os_id[0])
        set_field(out->os_id, sizeof(out->os_id), "linux");
    if (!out->os_name[0])
        set_field(out->os_name, sizeof(out->os_name), "Linux");

    for (size_t i = 0; mid[i]; i++) {
        const char *one[] = {mid[i], NULL};
        if (read_first(root, one, SYSINFO_SMALL_MAX, &data, &len) == 0 &&
            plat_sysinfo_parse_machine_id(data, len, out->machine_id, sizeof(out->machine_id)) ==
                0) {
            ward_free(data);
            data = NULL;
            break;
        }
        ward_free(data);
        data = NULL;
    }

    rc = read_first(root, stat, SYSINFO_STAT_MAX, &data, &len);
    if (rc == 0 && plat_sysinfo_parse_proc_stat(data, len, &out->boot_time) != 0)
        out->boot_time = 0;
    ward_free(data);
    return 0;
}
