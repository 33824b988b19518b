/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux system trust stores (platform/trust.h): Debian's ca-certificates (local anchors
 * under /usr/local/share/ca-certificates, bundle rebuilt by update-ca-certificates) and
 * Fedora's ca-trust (anchors under /etc/pki/ca-trust/source/anchors, bundle extracted by
 * update-ca-trust), chosen by what the tree has. The tools run by argv through
 * plat_proc_run (no shell, scrubbed environment).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "platform/fs.h"
#include "platform/proc.h"
#include "platform/trust.h"
#include "ward/config.h"
#include "ward/error.h"

#define UPDATE_CA_CERTIFICATES "/usr/sbin/update-ca-certificates"
#define UPDATE_CA_TRUST "/usr/bin/update-ca-trust"
#define CHROOT "/usr/sbin/chroot"
#define TOOL_TIMEOUT_MS 120000

static const struct plat_trust_system debian = {
    .name = "debian",
    .anchor_dir = "/usr/local/share/ca-certificates/ward",
    .prefix = "",
    .suffix = ".crt",
    .bundle = "/etc/ssl/certs/ca-certificates.crt",
    .tool = "update-ca-certificates",
};

/* The ward- prefix keeps Ward's anchors apart from an administrator's in the same flat
 * directory (ca-trust does not look into subdirectories of anchors/ on every release). */
static const struct plat_trust_system fedora = {
    .name = "fedora",
    .anchor_dir = "/etc/pki/ca-trust/source/anchors",
    .prefix = "ward-",
    .suffix = ".pem",
    .bundle = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    .tool = "update-ca-trust",
};

static void set_why(char *why, size_t whylen, const char *fmt, ...) WARD_PRINTF(3, 4);

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static int is_live(const char *root)
{
    return !root || strcmp(root, "/") == 0;
}

int plat_trust_system_detect(const char *root, const struct plat_trust_system **out, char *why,
                             size_t whylen)
{
    struct plat_fs_info info;
    *out = NULL;
    if (plat_fs_stat(root, "/etc/ca-certificates.conf", PLAT_FS_NTS, 0, &info) == 0 &&
        info.type == PLAT_FS_FILE) {
        *out = &debian;
        return 0;
    }
    if (plat_fs_stat(root, "/etc/pki/ca-trust", PLAT_FS_NTS, 0, &info) == 0 &&
        info.type == PLAT_FS_DIR) {
        *out = &fedora;
        return 0;
    }
    set_why(why, whylen,
            "no system trust store found: neither /etc/ca-certificates.conf (Debian's "
            "ca-certificates) nor /etc/pki/ca-trust (Fedora's ca-trust) exists");
    return WARD_ENOTSUP;
}

static void last_line(const struct plat_proc_result *r, char *out, size_t outlen)
{
    const char *s = r->err_len ? r->err : r->out;
    size_t end = r->err_len ? r->err_len : r->out_len, start;
    while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' '))
        end--;
    start = end;
    while (start > 0 && s[start - 1] != '\n')
        start--;
    snprintf(out, outlen, "%.*s", (int)(end - start), s + start);
}

int plat_trust_system_update(const char *root, const struct plat_trust_system *st, char *why,
                             size_t whylen)
{
    char dirs[5][PLAT_FS_MAX_PATH + 64];
    const char *argv[16];
    struct plat_proc_opts o = {.argv = argv, .timeout_ms = TOOL_TIMEOUT_MS};
    struct plat_proc_result res;
    size_t n = 0, rl = root ? strlen(root) : 0;
    int rc;

    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    if (st == &debian) {
        argv[n++] = UPDATE_CA_CERTIFICATES;
        argv[n++] = "--fresh";
        if (!is_live(root)) {
            static const char *const opt[5] = {"--certsconf", "--certsdir", "--localcertsdir",
                                               "--etccertsdir", NULL};
            static const char *const rel[4] = {
                "/etc/ca-certificates.conf", "/usr/share/ca-certificates",
                "/usr/local/share/ca-certificates", "/etc/ssl/certs"};
            for (int i = 0; opt[i]; i++) {
                if ((size_t)snprintf(dirs[i], sizeof(dirs[i]), "%.*s%s", (int)rl, root, rel[i]) >=
                    sizeof(dirs[i]))
                    return WARD_EPATH;
                argv[n++] = opt[i];
                argv[n++] = dirs[i];
            }
            /* The tree's hooks are its programs: never run them on this host. A path that
             * is not a directory makes the tool skip them. */
            argv[n++] = "--hooksdir";
            argv[n++] = "/dev/null";
        }
    } else if (st == &fedora) {
        if (!is_live(root)) {
            if ((size_t)snprintf(dirs[0], sizeof(dirs[0]), "%.*s", (int)rl, root) >=
                sizeof(dirs[0]))
                return WARD_EPATH;
            argv[n++] = CHROOT;
            argv[n++] = dirs[0];
        }
        argv[n++] = UPDATE_CA_TRUST;
        argv[n++] = "extract";
    } else {
        return WARD_EINVAL;
    }
    argv[n] = NULL;
    memset(&res, 0, sizeof(res));
    rc = plat_proc_run(&o, &res);
    if (rc == WARD_ENOENT) {
        set_why(why, whylen, "%s is not installed", argv[0]);
        return rc;
    }
    if (rc != 0) {
        set_why(why, whylen, "cannot run %s: %s", argv[0], ward_strerror(rc));
        return rc;
    }
    if (res.timed_out || res.term_signal || res.exit_status != 0) {
        char line[200];
        last_line(&res, line, sizeof(line));
        if (res.timed_out)
            set_why(why, whylen, "%s timed out", st->tool);
        else
            set_why(why, whylen, "%s: exit %lld: %s", st->tool, (long long)res.exit_status, line);
        rc = WARD_EIO;
    }
    plat_proc_result_release(&res);
    return rc;
}
