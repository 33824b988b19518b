/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parser tests on fixture files from tests/data/inventory (captured from the development
 * VM, written for laptops and desktops, and hostile ones): counts, fields, and that bad
 * input gives partial results and counted errors rather than a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/parse.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "wtest.h"

static char *fixture(const char *rel, size_t *len)
{
    char path[1024];
    char *data = NULL;
    /* The data dir is the root: with a NULL root Windows resolves under %SystemDrive%. */
    snprintf(path, sizeof(path), "inventory/%s", rel);
    WT_OK(plat_fs_read_file(wt_data_dir(), path, PLAT_FS_NTS, 64u << 20, &data, len));
    return data;
}

struct pkgs {
    int n;
    char names[16][64];
    char states[16][32];
    long long sizes[16];
    char sources[16][64];
};

static void span_copy(char *dst, size_t size, struct inv_span s)
{
    size_t n = s.n < size - 1 ? s.n : size - 1;
    memcpy(dst, s.p ? s.p : "", n);
    dst[n] = '\0';
}

static int pkg_cb(const struct inv_dpkg_pkg *p, void *ctx)
{
    struct pkgs *k = ctx;
    if (k->n < 16) {
        span_copy(k->names[k->n], 64, p->name);
        span_copy(k->states[k->n], 32, p->state);
        span_copy(k->sources[k->n], 64, p->source);
        k->sizes[k->n] = p->installed_size_kib;
    }
    k->n++;
    return 0;
}

WT_TEST(dpkg_states_like_dpkg_query)
{
    size_t len;
    char *d = fixture("files/dpkg-states", &len);
    struct pkgs k;
    struct inv_parse_stats st;
    memset(&k, 0, sizeof(k));
    /* dpkg-query -W lists a, b (config-files), d (unpacked), e:amd64, e:i386; not c */
    WT_OK(inv_dpkg_parse(d, len, 1000, pkg_cb, &k, &st));
    WT_EQ_INT(k.n, 5);
    WT_EQ_INT(st.bad, 0);
    WT_EQ_STR(k.names[1], "b");
    WT_EQ_STR(k.states[1], "config-files");
    WT_EQ_STR(k.states[2], "unpacked");
    WT_EQ_INT(k.sizes[0], 10);
    WT_EQ_INT(k.sizes[1], -1);
    WT_EQ_STR(k.sources[3], "e-src");
    ward_free(d);
}

WT_TEST(dpkg_hostile_partial)
{
    size_t len;
    char *d = fixture("files/dpkg-hostile", &len);
    struct pkgs k;
    struct inv_parse_stats st;
    memset(&k, 0, sizeof(k));
    WT_OK(inv_dpkg_parse(d, len, 1000, pkg_cb, &k, &st));
    /* good and badver (its version is dropped later as unclean text) survive; the junk
     * name, the huge line, the missing Status/Package, the binary junk and the
     * truncated status are counted bad */
    WT_EQ_INT(k.n, 2);
    WT_EQ_STR(k.names[0], "good");
    WT_EQ_STR(k.names[1], "badver");
    WT_EQ_INT(st.bad, 6);
    ward_free(d);
}

WT_TEST(dpkg_row_cap_and_stop)
{
    size_t len;
    char *d = fixture("files/dpkg-states", &len);
    struct pkgs k;
    memset(&k, 0, sizeof(k));
    WT_EQ_ERR(inv_dpkg_parse(d, len, 2, pkg_cb, &k, NULL), WARD_ETOOBIG);
    WT_EQ_INT(k.n, 2);
    WT_OK(inv_dpkg_parse(d, 0, 10, pkg_cb, &k, NULL));
    WT_OK(inv_dpkg_parse(NULL, 0, 10, pkg_cb, &k, NULL));
    ward_free(d);
}

WT_TEST(dpkg_vm_capture)
{
    size_t len;
    char *d = fixture("vm-debian12/var/lib/dpkg/status", &len);
    struct pkgs k;
    struct inv_parse_stats st;
    memset(&k, 0, sizeof(k));
    WT_OK(inv_dpkg_parse(d, len, 100000, pkg_cb, &k, &st));
    WT_EQ_INT(k.n, 120);
    WT_EQ_INT(st.bad, 0);
    ward_free(d);
}

/* A 50 MB status file of garbage with real stanzas in between: partial rows, no crash. */
WT_TEST(dpkg_50mb_garbage)
{
    size_t n = 50u << 20, o = 0, len;
    char *d = ward_malloc(n);
    struct pkgs k;
    struct inv_parse_stats st;
    unsigned x = 12345;
    WT_ASSERT(d);
    while (o < n) {
        if (o % (1u << 20) == 0 && o + 200 < n) {
            int m = snprintf(d + o, 200,
                             "\n\nPackage: p%zu\nStatus: install ok installed\n"
                             "Architecture: amd64\nVersion: 1\n\n",
                             o >> 20);
            o += (size_t)m;
            continue;
        }
        x = x * 1103515245u + 12345u;
        d[o++] = (char)(x >> 16);
    }
    len = n;
    memset(&k, 0, sizeof(k));
    WT_OK(inv_dpkg_parse(d, len, 200000, pkg_cb, &k, &st));
    WT_ASSERT(k.n >= 40);
    WT_ASSERT(st.bad > 0);
    ward_free(d);
}

WT_TEST(cpuinfo_vm_laptop_arm)
{
    size_t len;
    struct inv_cpuinfo ci;
    char *d = fixture("vm-debian12/proc/cpuinfo", &len);
    WT_OK(inv_cpuinfo_parse(d, len, &ci));
    WT_EQ_STR(ci.vendor, "GenuineIntel");
    WT_EQ_INT(ci.threads, 2);
    WT_EQ_INT(ci.hypervisor, 1);
    ward_free(d);
    d = fixture("laptop-luks/proc/cpuinfo", &len);
    WT_OK(inv_cpuinfo_parse(d, len, &ci));
    WT_EQ_INT(ci.threads, 12);
    WT_EQ_INT(ci.cores, 10);
    WT_EQ_INT(ci.sockets, 1);
    WT_EQ_INT(ci.vmx, 1);
    WT_EQ_INT(ci.model_id, 186);
    ward_free(d);
    d = fixture("desktop-dmi/proc/cpuinfo", &len);
    WT_OK(inv_cpuinfo_parse(d, len, &ci));
    WT_EQ_INT(ci.sockets, 2);
    WT_EQ_INT(ci.cores, 8);
    WT_EQ_INT(ci.svm, 1);
    ward_free(d);
    d = fixture("files/cpuinfo-arm64", &len);
    WT_OK(inv_cpuinfo_parse(d, len, &ci));
    WT_EQ_INT(ci.threads, 4);
    WT_EQ_STR(ci.vendor, "0x41");
    WT_EQ_INT(ci.sockets, 0);
    ward_free(d);
}

WT_TEST(meminfo)
{
    size_t len;
    struct inv_meminfo mi;
    char *d = fixture("laptop-luks/proc/meminfo", &len);
    WT_OK(inv_meminfo_parse(d, len, &mi));
    WT_EQ_INT(mi.total, 32463532LL * 1024);
    WT_EQ_INT(mi.swap_free, 8388604LL * 1024);
    ward_free(d);
    WT_OK(inv_meminfo_parse("MemTotal: 12", 12, &mi));
    WT_EQ_INT(mi.total, 12);
    WT_OK(inv_meminfo_parse("MemTotal: 99999999999999999999 kB\n", 34, &mi));
    WT_EQ_INT(mi.total, -1);
}

struct mounts {
    int n;
    char mp[8][1024];
};

static int mount_cb(const struct inv_mount *m, void *ctx)
{
    struct mounts *k = ctx;
    if (k->n < 8)
        snprintf(k->mp[k->n], sizeof(k->mp[0]), "%s", m->mountpoint);
    k->n++;
    return 0;
}

WT_TEST(mountinfo_escapes_and_hostile)
{
    size_t len;
    struct mounts k;
    struct inv_parse_stats st;
    char *d = fixture("files/mountinfo-hostile", &len);
    memset(&k, 0, sizeof(k));
    WT_OK(inv_mountinfo_parse(d, len, 100, mount_cb, &k, &st));
    WT_EQ_INT(k.n, 1);
    WT_EQ_STR(k.mp[0], "/mnt/a b");
    WT_EQ_INT(st.bad, 5);
    ward_free(d);
    d = fixture("laptop-luks/proc/self/mountinfo", &len);
    memset(&k, 0, sizeof(k));
    WT_OK(inv_mountinfo_parse(d, len, 100, mount_cb, &k, &st));
    WT_EQ_INT(k.n, 7);
    WT_EQ_STR(k.mp[6], "/media/anna/USB STICK");
    ward_free(d);
}

static int count_cb(const struct inv_utmp *u, void *ctx)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

WT_TEST(utmp_records_and_truncation)
{
    size_t len;
    int n = 0;
    struct inv_parse_stats st;
    char *d = fixture("files/utmp-truncated", &len);
    WT_OK(inv_utmp_parse(d, len, 100, count_cb, &n, &st));
    WT_EQ_INT(n, 1);
    WT_EQ_INT(st.bad, 1);
    ward_free(d);
}

static int pw_cb(const struct inv_passwd *p, void *ctx)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

WT_TEST(passwd_hostile)
{
    size_t len;
    int n = 0;
    struct inv_parse_stats st;
    char *d = fixture("files/passwd-hostile", &len);
    WT_OK(inv_passwd_parse(d, len, 100, pw_cb, &n, &st));
    WT_EQ_INT(n, 2);
    WT_EQ_INT(st.bad, 3);
    ward_free(d);
}

static int route_cb(const struct inv_route4 *r, void *ctx)
{
    if (r->dest == 0)
        *(uint32_t *)ctx = r->gateway;
    return 0;
}

WT_TEST(net_files)
{
    size_t len;
    uint32_t gw = 0;
    uint8_t b[4];
    struct inv_span s;
    long mn = 1000, mx = 60000;
    char *d = fixture("vm-debian12/proc/net/route", &len);
    WT_OK(inv_route4_parse(d, len, 100, route_cb, &gw, NULL));
    memcpy(b, &gw, 4);
    WT_EQ_INT(b[0], 192);
    WT_EQ_INT(b[3], 1);
    ward_free(d);
    WT_OK(inv_kv_get("A=1\nDEVTYPE=\"wlan\"\n", 19, "DEVTYPE", &s));
    WT_ASSERT(inv_span_eq(s, "wlan"));
    WT_EQ_ERR(inv_kv_get("A=1\n", 4, "B", &s), WARD_ENOENT);
    WT_OK(inv_ini_get("[X]\na=1\n[Application]\nname = org.x\n", 34, "Application", "name", &s));
    WT_ASSERT(inv_span_eq(s, "org.x"));
    {
        const char *defs = "UID_MIN 500\n#UID_MAX 1\nUID_MAX\t9000\n";
        WT_OK(inv_login_defs_parse(defs, strlen(defs), &mn, &mx));
    }
    WT_EQ_INT(mn, 500);
    WT_EQ_INT(mx, 9000);
}

WT_TEST(snap_yaml_and_gvariant_and_caps)
{
    size_t len;
    struct inv_snap_yaml y;
    struct inv_span s;
    struct inv_tpm_caps caps;
    char *d = fixture("laptop-luks/snap/core22/1663/meta/snap.yaml", &len);
    WT_OK(inv_snap_yaml_parse(d, len, &y));
    WT_ASSERT(inv_span_eq(y.version, "20241001"));
    WT_ASSERT(inv_span_eq(y.arch, "amd64"));
    ward_free(d);
    d = fixture("laptop-luks/var/lib/flatpak/app/org.mozilla.firefox/x86_64/stable/3f2e1d0c/deploy",
                &len);
    WT_OK(inv_gvariant_find_string(d, len, "appdata-version", &s));
    WT_ASSERT(inv_span_eq(s, "131.0.3"));
    WT_EQ_ERR(inv_gvariant_find_string(d, len, "appdata-nothing", &s), WARD_ENOENT);
    ward_free(d);
    d = fixture("desktop-dmi/sys/class/tpm/tpm0/device/caps", &len);
    WT_OK(inv_tpm_caps_parse(d, len, &caps));
    WT_EQ_STR(caps.manufacturer, "IFX");
    WT_EQ_STR(caps.version, "1.2");
    ward_free(d);
}
