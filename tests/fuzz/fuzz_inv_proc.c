/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the text parsers of the inventory (inventory/src/parse.c): the
 * first byte picks mountinfo, cpuinfo, meminfo, route, ipv6_route, if_inet6, fib_trie,
 * resolv.conf, login.defs, passwd, group, KEY=VALUE, INI, snap.yaml, GVariant or TPM caps;
 * the rest is the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mount_cb(const struct inv_mount *m, void *ctx)
{
    (void)ctx;
    if (m->mountpoint[0] != '/' || strlen(m->mountpoint) >= sizeof(m->mountpoint))
        abort();
    return 0;
}

static int r4(const struct inv_route4 *r, void *ctx)
{
    (void)r;
    (void)ctx;
    return 0;
}

static int r6(const struct inv_route6 *r, void *ctx)
{
    (void)ctx;
    if (r->dest_plen > 128)
        abort();
    return 0;
}

static int i6(const struct inv_inet6 *a, void *ctx)
{
    (void)ctx;
    if (a->plen > 128)
        abort();
    return 0;
}

static int a4(uint32_t a, void *ctx)
{
    (void)a;
    (void)ctx;
    return 0;
}

static int str_cb(struct inv_span s, void *ctx)
{
    (void)ctx;
    if (s.n == 0 || s.n > 64)
        abort();
    return 0;
}

static int pw(const struct inv_passwd *p, void *ctx)
{
    (void)ctx;
    if (p->uid < 0 || p->name.n == 0)
        abort();
    return 0;
}

static int grp(struct inv_span name, struct inv_span members, void *ctx)
{
    (void)members;
    (void)ctx;
    if (name.n == 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data + 1;
    size_t n = size ? size - 1 : 0;
    struct inv_cpuinfo ci;
    struct inv_meminfo mi;
    struct inv_snap_yaml y;
    struct inv_tpm_caps caps;
    struct inv_span s;
    long mn = 1000, mx = 60000;

    if (size == 0)
        return 0;
    switch (data[0] % 16) {
    case 0:
        inv_mountinfo_parse(b, n, 1000, mount_cb, NULL, NULL);
        break;
    case 1:
        inv_cpuinfo_parse(b, n, &ci);
        if (strlen(ci.model) >= sizeof(ci.model) || ci.cores > ci.threads + 4096)
            abort();
        break;
    case 2:
        inv_meminfo_parse(b, n, &mi);
        break;
    case 3:
        inv_route4_parse(b, n, 1000, r4, NULL, NULL);
        break;
    case 4:
        inv_route6_parse(b, n, 1000, r6, NULL, NULL);
        break;
    case 5:
        inv_if_inet6_parse(b, n, 1000, i6, NULL, NULL);
        break;
    case 6:
        inv_fib_trie_parse(b, n, 1000, a4, NULL, NULL);
        break;
    case 7:
        inv_resolv_parse(b, n, 100, str_cb, NULL, NULL);
        break;
    case 8:
        inv_login_defs_parse(b, n, &mn, &mx);
        break;
    case 9:
        inv_passwd_parse(b, n, 1000, pw, NULL, NULL);
        break;
    case 10:
        inv_group_parse(b, n, 1000, grp, NULL, NULL);
        break;
    case 11:
        inv_kv_get(b, n, "DEVTYPE", &s);
        break;
    case 12:
        inv_ini_get(b, n, "Application", "name", &s);
        break;
    case 13:
        if (inv_snap_yaml_parse(b, n, &y) == 0 && (y.name.p < b || y.name.p + y.name.n > b + n))
            abort();
        break;
    case 14:
        if (inv_gvariant_find_string(b, n, "appdata-version", &s) == 0 &&
            (s.p < b || s.p + s.n > b + n))
            abort();
        break;
    default:
        inv_tpm_caps_parse(b, n, &caps);
        if (strlen(caps.manufacturer) >= sizeof(caps.manufacturer))
            abort();
        break;
    }
    return 0;
}
