/* SPDX-License-Identifier: Apache-2.0 */
/* Linux sysinfo against a fixture root: fallbacks to /usr/lib/os-release and the dbus
 * machine-id (an empty /etc/machine-id is systemd's "not yet initialised"), btime, and an
 * empty root where everything is absent but nothing fails. */
#include "wtest.h"

#include "platform/sysinfo.h"

WT_TEST(sysinfo_fixture_root)
{
    struct plat_sysinfo si;
    char root[1024];
    snprintf(root, sizeof(root), "%s/platform/sysinfo-root", wt_data_dir());
    WT_OK(plat_sysinfo_get(root, &si));
    WT_EQ_STR(si.os_id, "debian");
    WT_EQ_STR(si.os_version, "12");
    WT_EQ_STR(si.machine_id, "0123456789abcdef0123456789abcdef");
    WT_EQ_INT(si.boot_time, 1700000000);
    WT_ASSERT(si.kernel[0] != '\0');
}

WT_TEST(sysinfo_empty_root)
{
    struct plat_sysinfo si;
    WT_OK(plat_sysinfo_get(wt_tmpdir(), &si));
    WT_EQ_STR(si.os_id, "linux"); /* os-release(5) defaults */
    WT_EQ_STR(si.os_name, "Linux");
    WT_EQ_STR(si.os_version, "");
    WT_EQ_STR(si.machine_id, "");
    WT_EQ_INT(si.boot_time, 0);
    WT_ASSERT(si.hostname[0] != '\0');
}
