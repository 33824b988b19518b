/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rpm package manager entry: reads the rpm database through librpm's own API, loaded
 * with dlopen() only when a database exists under the root, so the ward binary neither
 * links librpm nor needs it installed (Debian machines rarely have it; Fedora/SUSE always
 * do). The handful of functions used are declared here with their rpm 4.x signatures.
 *
 * dlsym() returns an object pointer; ISO C has no conversion from that to a function
 * pointer (POSIX only promises the representation is the same). Instead of a cast, each
 * symbol's pointer bytes are copied into a correctly typed function pointer with memcpy,
 * after a static assertion that the two sizes agree. The library stays loaded for the life
 * of the process: librpm registers exit handlers, so unloading it is not safe.
 */
#define WARD_LOG_TAG "inv-rpm"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../collector.h"
#include "apps.h"
#include "lxfs.h"
#include "ward/error.h"

#define RPMDBI_PACKAGES 0
#define RPMTAG_NAME 1000
#define RPMTAG_VERSION 1001
#define RPMTAG_RELEASE 1002
#define RPMTAG_EPOCH 1003
#define RPMTAG_SIZE 1009
#define RPMTAG_ARCH 1022
#define RPMTAG_SOURCERPM 1044
#define RMIL_CMDLINE (-7)
#define RPM_VSF_NOSIG_NODIGEST 0x3ff00 /* _RPMVSF_NODIGESTS | _RPMVSF_NOSIGNATURES */
#define RPM_ROWS_MAX 200000

struct rpm_ts;
struct rpm_mi;
struct rpm_hdr;

struct rpm_api {
    int (*read_config)(const char *file, const char *target);
    int (*push_macro)(void *mc, const char *n, const char *o, const char *b, int level);
    struct rpm_ts *(*ts_create)(void);
    int (*ts_set_root)(struct rpm_ts *ts, const char *root);
    int (*ts_set_vsflags)(struct rpm_ts *ts, int flags);
    struct rpm_mi *(*ts_init_iter)(struct rpm_ts *ts, int tag, const void *key, size_t keylen);
    struct rpm_hdr *(*next)(struct rpm_mi *mi);
    struct rpm_mi *(*free_iter)(struct rpm_mi *mi);
    struct rpm_ts *(*ts_free)(struct rpm_ts *ts);
    const char *(*get_string)(struct rpm_hdr *h, int32_t tag);
    uint64_t (*get_number)(struct rpm_hdr *h, int32_t tag);
};

_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "dlsym results must fit a function pointer");

static int load_sym(void *lib, const char *name, void *fn, size_t fn_size)
{
    void *p = dlsym(lib, name);
    if (!p)
        return WARD_ENOTSUP;
    memcpy(fn, &p, fn_size); /* see the file comment: no object-to-function pointer cast */
    return 0;
}

#define LOAD(lib, name, field) load_sym((lib), (name), &api->field, sizeof(api->field))

static int load_api(struct rpm_api *api, char *why, size_t whylen)
{
    static void *rpm, *rpmio;
    int rc;
    if (!rpmio)
        rpmio = dlopen("librpmio.so.9", RTLD_NOW | RTLD_GLOBAL);
    if (!rpm)
        rpm = dlopen("librpm.so.9", RTLD_NOW | RTLD_GLOBAL);
    if (!rpm || !rpmio) {
        snprintf(why, whylen, "librpm.so.9 not available: %s", dlerror());
        return WARD_ENOTSUP;
    }
    rc = LOAD(rpm, "rpmReadConfigFiles", read_config);
    if (rc == 0)
        rc = LOAD(rpmio, "rpmPushMacro", push_macro);
    if (rc == 0)
        rc = LOAD(rpm, "rpmtsCreate", ts_create);
    if (rc == 0)
        rc = LOAD(rpm, "rpmtsSetRootDir", ts_set_root);
    if (rc == 0)
        rc = LOAD(rpm, "rpmtsSetVSFlags", ts_set_vsflags);
    if (rc == 0)
        rc = LOAD(rpm, "rpmtsInitIterator", ts_init_iter);
    if (rc == 0)
        rc = LOAD(rpm, "rpmdbNextIterator", next);
    if (rc == 0)
        rc = LOAD(rpm, "rpmdbFreeIterator", free_iter);
    if (rc == 0)
        rc = LOAD(rpm, "rpmtsFree", ts_free);
    if (rc == 0)
        rc = LOAD(rpm, "headerGetString", get_string);
    if (rc == 0)
        rc = LOAD(rpm, "headerGetNumber", get_number);
    if (rc != 0)
        snprintf(why, whylen, "librpm.so.9 lacks a needed function");
    return rc;
}

/* Where the database lives, relative to the root: rpm >= 4.16 distributions moved it. */
static const char *rpm_dbpath(struct inv_ctx *ctx)
{
    static const char *const dirs[] = {"/usr/lib/sysimage/rpm", "/var/lib/rpm", NULL};
    static const char *const files[] = {"rpmdb.sqlite", "Packages.db", "Packages", NULL};
    for (size_t i = 0; dirs[i]; i++)
        for (size_t k = 0; files[k]; k++)
            if (inv_lx_exists(ctx, "%s/%s", dirs[i], files[k]))
                return dirs[i];
    return NULL;
}

static int rpm_detect(struct inv_ctx *ctx)
{
    return rpm_dbpath(ctx) != NULL;
}

static int rpm_collect(struct inv_ctx *ctx)
{
    static int configured;
    struct rpm_api api;
    struct rpm_ts *ts = NULL;
    struct rpm_mi *mi = NULL;
    struct rpm_hdr *h;
    const char *dbpath = rpm_dbpath(ctx);
    char why[200];
    size_t n = 0;
    int rc;

    if (!dbpath)
        return 0;
    memset(&api, 0, sizeof(api));
    rc = load_api(&api, why, sizeof(why));
    if (rc != 0)
        return inv_ctx_fail(ctx, rc, "rpm: %s", why);
    if (!configured) {
        if (api.read_config(NULL, NULL) != 0)
            return inv_ctx_fail(ctx, WARD_ECONFIG, "rpm: rpmReadConfigFiles failed");
        configured = 1;
    }
    api.push_macro(NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);
    ts = api.ts_create();
    if (!ts)
        return WARD_ENOMEM;
    api.ts_set_root(ts, ctx->root);
    api.ts_set_vsflags(ts, RPM_VSF_NOSIG_NODIGEST);
    mi = api.ts_init_iter(ts, RPMDBI_PACKAGES, NULL, 0);
    if (!mi) {
        rc = inv_ctx_fail(ctx, WARD_EIO, "rpm: cannot open the database in %s", dbpath);
        goto out;
    }
    while ((h = api.next(mi)) != NULL) {
        const char *name = api.get_string(h, RPMTAG_NAME), *ver = api.get_string(h, RPMTAG_VERSION),
                   *rel = api.get_string(h, RPMTAG_RELEASE), *arch = api.get_string(h, RPMTAG_ARCH),
                   *srpm = api.get_string(h, RPMTAG_SOURCERPM);
        uint64_t epoch = api.get_number(h, RPMTAG_EPOCH), size = api.get_number(h, RPMTAG_SIZE);
        char evr[512];
        json_t *row;
        int m;

        if (++n > RPM_ROWS_MAX || inv_ctx_expired(ctx)) {
            rc = inv_ctx_fail(ctx, WARD_ETIMEDOUT, "rpm: over budget after %zu packages", n);
            goto out;
        }
        if (!name || strcmp(name, "gpg-pubkey") == 0)
            continue; /* imported keys are headers too */
        if (epoch)
            m = snprintf(evr, sizeof(evr), "%llu:%s-%s", (unsigned long long)epoch, ver ? ver : "",
                         rel ? rel : "");
        else
            m = snprintf(evr, sizeof(evr), "%s-%s", ver ? ver : "", rel ? rel : "");
        if (m < 0 || (size_t)m >= sizeof(evr))
            evr[0] = '\0';
        row = inv_app_row(ctx, "rpm", name, strlen(name), arch ? arch : "", arch ? strlen(arch) : 0,
                          evr, strlen(evr));
        if (!row || inv_row_str(row, "status", "installed") != 0 ||
            (size && inv_row_int(row, "installed_size_bytes", (long long)size) != 0) ||
            inv_row_str(row, "source_package", srpm) != 0) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
out:
    if (mi)
        api.free_iter(mi);
    api.ts_free(ts);
    return rc;
}

const struct inv_pkgmgr inv_pkg_rpm = {
    .name = "rpm",
    .detect = rpm_detect,
    .collect = rpm_collect,
};
