/* SPDX-License-Identifier: Apache-2.0 */
/* errno -> Ward error codes for POSIX systems: the one place that decides what an errno
 * means to the layers above. */
#include <errno.h>

#include "../errmap.h"
#include "ward/error.h"

int plat_err_from_errno(int err)
{
    switch (err) {
    case 0:
        return WARD_EIO; /* a failure with no errno is still a failure */
    case ENOENT:
        return WARD_ENOENT;
    case EACCES:
    case EPERM:
    case EROFS:
        return WARD_EACCES;
    case EEXIST:
    case ENOTEMPTY:
        return WARD_EEXIST;
    case ENOSPC:
    case EDQUOT:
        return WARD_ENOSPC;
    case ENOMEM:
        return WARD_ENOMEM;
    case ELOOP:
        return WARD_ELOOP;
    case ENOTDIR:
        return WARD_ENOTDIR;
    case EISDIR:
        return WARD_EISDIR;
    case ENAMETOOLONG:
    case EXDEV:
        return WARD_EPATH;
    case EINVAL:
    case EBADF:
        return WARD_EINVAL;
    case EFBIG:
    case E2BIG:
    case EOVERFLOW:
        return WARD_ETOOBIG;
    case EBUSY:
    case ETXTBSY:
        return WARD_EBUSY;
    case EAGAIN:
    case EINTR:
        return WARD_EAGAIN;
    case ETIMEDOUT:
        return WARD_ETIMEDOUT;
    case ENOSYS:
    case EOPNOTSUPP:
        return WARD_ENOTSUP;
    case ECANCELED:
        return WARD_ECANCELED;
    default:
        return WARD_EIO;
    }
}
