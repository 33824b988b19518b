/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX: the agent's private state directory (plat_fs_make_private_dir). The mode is the
 * whole story here: 0700 on the directory keeps every other account out of what is inside,
 * whatever the files' own modes are. Parents are created 0755 (filtered by the umask, as
 * any mkdir -p), and a parent we may not create because it exists already and we cannot
 * look into its parent (EACCES on an intermediate component) is not an error: the next
 * component's mkdir tells.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../errmap.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/error.h"

static void say(char *why, size_t whylen, const char *fmt, ...) WARD_PRINTF(3, 4);

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

int plat_fs_make_private_dir(const char *path, int *repaired, char *why, size_t whylen)
{
    struct stat st;
    char *p;
    size_t len;
    int rc = 0, created = 0;

    if (repaired)
        *repaired = 0;
    say(why, whylen, "%s", "");
    if (!path || !path[0]) {
        say(why, whylen, "no state directory given");
        return WARD_EINVAL;
    }
    p = ward_strdup(path);
    if (!p)
        return WARD_ENOMEM;
    len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    for (size_t i = 1; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        char saved = p[i];
        p[i] = '\0';
        int r = mkdir(p, i == len ? 0700 : 0755) == 0 ? 0 : errno;
        if (r == 0 && i == len)
            created = 1;
        p[i] = saved;
        if (r != 0 && r != EEXIST && !(i < len && (r == EPERM || r == EACCES))) {
            rc = plat_err_from_errno(r);
            say(why, whylen, "cannot create %s: %s", p, ward_strerror(rc));
            goto out;
        }
    }
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = WARD_ENOTDIR;
        say(why, whylen, "%s is not a directory", p);
        goto out;
    }
    /* created: exactly 0700, whatever the umask took away; existing: only tightened. */
    if ((created && (st.st_mode & 07777) != 0700) || (st.st_mode & 0077) != 0) {
        if (chmod(p, 0700) != 0) {
            rc = plat_err_from_errno(errno);
            say(why, whylen, "cannot make %s private (mode 0700): %s", p, ward_strerror(rc));
            goto out;
        }
        if (!created) {
            if (repaired)
                *repaired = 1;
            say(why, whylen, "%s was mode %04o (open to other accounts); now 0700", p,
                (unsigned)(st.st_mode & 07777));
        }
    }
out:
    ward_free(p);
    return rc;
}
