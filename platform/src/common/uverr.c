/* SPDX-License-Identifier: Apache-2.0 */
/* libuv error codes -> Ward codes. libuv already normalises errno / Win32 errors into
 * UV_E* on every OS, so this map is shared. */
#include <uv.h>

#include "../errmap.h"
#include "ward/error.h"

int plat_err_from_uv(int err)
{
    switch (err) {
    case UV_ENOENT:
        return WARD_ENOENT;
    case UV_EACCES:
    case UV_EPERM:
        return WARD_EACCES;
    case UV_ENOMEM:
        return WARD_ENOMEM;
    case UV_EINVAL:
        return WARD_EINVAL;
    case UV_ENOSPC:
        return WARD_ENOSPC;
    case UV_EEXIST:
        return WARD_EEXIST;
    case UV_ENOTDIR:
        return WARD_ENOTDIR;
    case UV_EISDIR:
        return WARD_EISDIR;
    case UV_ELOOP:
        return WARD_ELOOP;
    case UV_ENAMETOOLONG:
        return WARD_EPATH;
    case UV_ETIMEDOUT:
        return WARD_ETIMEDOUT;
    case UV_ECANCELED:
        return WARD_ECANCELED;
    case UV_EBUSY:
        return WARD_EBUSY;
    case UV_EAGAIN:
        return WARD_EAGAIN;
    case UV_ENOTSUP:
    case UV_ENOSYS:
        return WARD_ENOTSUP;
    case UV_E2BIG:
        return WARD_ETOOBIG;
    default:
        return WARD_EIO;
    }
}
