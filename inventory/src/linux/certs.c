/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The certificates section on Linux: what was added to the system's trust stores, Ward's
 * Firefox policy copies and the client certificates Ward enrolled (client_cert settings
 * in their default directory), one row per file, read through the collection root and
 * parsed by platform/trust.h (OpenSSL). The distribution's own bundle is not listed (a
 * hundred-odd well-known roots say nothing about the device); what an administrator, a
 * program or Ward added is what "which devices trust X" and "which certificates expire
 * soon" ask about.
 */
#define WARD_LOG_TAG "inv-certs"

#include <string.h>
#include <time.h>

#include "../collector.h"
#include "lxfs.h"
#include "platform/trust.h"
#include "ward/alloc.h"
#include "ward/error.h"

/* Where additions live, and how to tell Ward's own from the rest. */
struct cert_dir {
    const char *path;
    const char *store;
    const char *suffix;      /* only names ending so (NULL: every file) */
    int recurse;             /* one level of subdirectories (ca-certificates has them) */
    const char *managed_sub; /* a subdirectory that is Ward's (NULL: none) */
    const char *managed_pre; /* a file name prefix that is Ward's (NULL: none) */
    int all_managed;         /* the whole directory is Ward's */
};

static const struct cert_dir cert_dirs[] = {
    /* Debian/Ubuntu: update-ca-certificates takes *.crt here and in subdirectories */
    {"/usr/local/share/ca-certificates", "system", ".crt", 1, "ward", NULL, 0},
    /* Fedora/RHEL: update-ca-trust takes every file here */
    {"/etc/pki/ca-trust/source/anchors", "system", NULL, 0, NULL, "ward-", 0},
    /* Ward's trust_root with store firefox (policies.json names these files) */
    {"/usr/local/share/ward/certificates", "firefox", ".pem", 0, NULL, NULL, 1},
    /* Ward's client_cert settings in their default directory: <id>/cert.pem */
    {"/var/lib/ward/certs", "client", "cert.pem", 1, NULL, NULL, 1},
};

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cert_row(struct inv_ctx *ctx, const char *path, const char *store, int managed)
{
    struct plat_trust_cert c;
    char why[256] = "";
    char *data = NULL;
    size_t len = 0;
    json_t *row = inv_ctx_new_row(ctx, &inv_t_certificates);
    int rc;

    if (!row)
        return WARD_ENOMEM;
    rc = inv_row_str(row, "path", path);
    if (rc == 0)
        rc = inv_row_str(row, "store", store);
    if (rc == 0)
        rc = inv_row_bool(row, "managed", managed);
    if (rc != 0)
        return rc;
    memset(&c, 0, sizeof(c));
    rc = inv_lx_read(ctx, path, PLAT_TRUST_PEM_MAX + 1, &data, &len);
    if (rc == 0)
        rc = plat_trust_cert_parse(data, len, (int64_t)time(NULL), 0, &c, why, sizeof(why));
    else if (rc == WARD_ETOOBIG)
        snprintf(why, sizeof(why), "larger than %zu bytes", PLAT_TRUST_PEM_MAX);
    else
        snprintf(why, sizeof(why), "cannot read it: %s", ward_strerror(rc));
    ward_free(data);
    if (rc == WARD_ENOMEM)
        return rc;
    if (rc != 0)
        return inv_row_str(row, "problem", why[0] ? why : ward_strerror(rc));
    rc = inv_row_str(row, "subject", c.subject[0] ? c.subject : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "issuer", c.issuer[0] ? c.issuer : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "serial", c.serial[0] ? c.serial : NULL);
    if (rc == 0)
        rc = inv_row_str(row, "sha256", c.sha256);
    if (rc == 0 && c.not_before_unix != PLAT_TRUST_TIME_UNKNOWN)
        rc = inv_row_int(row, "not_before", c.not_before_unix);
    if (rc == 0 && c.not_after_unix != PLAT_TRUST_TIME_UNKNOWN)
        rc = inv_row_int(row, "not_after", c.not_after_unix);
    if (rc == 0)
        rc = inv_row_bool(row, "is_ca", c.is_ca);
    plat_trust_cert_release(&c);
    return rc;
}

/* The files of one directory (and, with recurse, of its subdirectories). */
static int scan(struct inv_ctx *ctx, const struct cert_dir *d, const char *dir, int depth,
                int managed_dir)
{
    struct inv_names names = {NULL, 0};
    int rc = inv_lx_listdir(ctx, dir, &names);

    if (rc != 0) /* absent (this distribution has the other store), or not a directory */
        return rc == WARD_ENOMEM ? rc : 0;
    for (size_t i = 0; rc == 0 && i < names.n && !inv_ctx_expired(ctx); i++) {
        const char *n = names.v[i];
        char path[1024];
        struct inv_names sub = {NULL, 0};
        if (snprintf(path, sizeof(path), "%s/%s", dir, n) >= (int)sizeof(path))
            continue;
        if (d->recurse && depth == 0 && inv_lx_listdir(ctx, path, &sub) == 0) {
            inv_names_release(&sub);
            rc = scan(ctx, d, path, 1,
                      managed_dir || (d->managed_sub && strcmp(n, d->managed_sub) == 0));
            continue;
        }
        if (d->suffix && !ends_with(n, d->suffix))
            continue;
        rc = cert_row(
            ctx, path, d->store,
            d->all_managed || managed_dir ||
                (d->managed_pre && strncmp(n, d->managed_pre, strlen(d->managed_pre)) == 0));
    }
    inv_names_release(&names);
    return rc;
}

static int collect_certificates(struct inv_ctx *ctx)
{
    int rc = 0;
    if (!inv_ctx_table(ctx, &inv_t_certificates))
        return WARD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < sizeof(cert_dirs) / sizeof(cert_dirs[0]); i++)
        rc = scan(ctx, &cert_dirs[i], cert_dirs[i].path, 0, 0);
    if (rc == 0 && inv_ctx_expired(ctx))
        return inv_ctx_fail(ctx, WARD_ETIMEDOUT, "ran out of time listing certificates");
    return rc;
}

const struct inv_collector inv_lx_certificates = {
    .name = "certificates",
    .section = &inv_sec_certificates,
    .collect = collect_certificates,
    .budget_ms = 500,
    .cheap = 0,
};
