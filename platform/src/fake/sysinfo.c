/* SPDX-License-Identifier: Apache-2.0 */
/* Fake sysinfo: plat_sysinfo_get answers with whatever the test set (a fixed default
 * record otherwise) and counts its calls. */
#include <stdio.h>
#include <string.h>

#include "fake_internal.h"
#include "platform/fake.h"
#include "platform/sysinfo.h"
#include "ward/error.h"

static struct plat_sysinfo fake_si;
static int fake_si_set;
static int fake_si_err;
static int fake_si_calls;
static char fake_si_root[1024];

static void fake_default(struct plat_sysinfo *si)
{
    memset(si, 0, sizeof(*si));
    snprintf(si->hostname, sizeof(si->hostname), "fake-host");
    snprintf(si->os_id, sizeof(si->os_id), "fakeos");
    snprintf(si->os_name, sizeof(si->os_name), "Fake OS");
    snprintf(si->os_version, sizeof(si->os_version), "1.0");
    snprintf(si->os_pretty, sizeof(si->os_pretty), "Fake OS 1.0");
    snprintf(si->os_build, sizeof(si->os_build), "100");
    snprintf(si->kernel, sizeof(si->kernel), "1.0.0-fake");
    snprintf(si->arch, sizeof(si->arch), "x86_64");
    snprintf(si->machine_id, sizeof(si->machine_id), "00112233445566778899aabbccddeeff");
    si->boot_time = 1700000000;
}

int plat_sysinfo_get(const char *root, struct plat_sysinfo *out)
{
    fake_si_calls++;
    snprintf(fake_si_root, sizeof(fake_si_root), "%s", root ? root : "");
    if (!out)
        return WARD_EINVAL;
    if (fake_si_err)
        return fake_si_err;
    if (fake_si_set)
        *out = fake_si;
    else
        fake_default(out);
    return 0;
}

void plat_fake_sysinfo_set(const struct plat_sysinfo *si)
{
    if (!si) {
        fake_si_set = 0;
        return;
    }
    fake_si = *si;
    fake_si_set = 1;
}

void plat_fake_sysinfo_fail(int err)
{
    fake_si_err = err;
}

int plat_fake_sysinfo_calls(void)
{
    return fake_si_calls;
}

const char *plat_fake_sysinfo_last_root(void)
{
    return fake_si_root;
}

void plat_fake_sysinfo_reset(void)
{
    fake_si_set = 0;
    fake_si_err = 0;
    fake_si_calls = 0;
    fake_si_root[0] = '\0';
}
