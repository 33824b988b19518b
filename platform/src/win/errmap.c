/* SPDX-License-Identifier: Apache-2.0 */
/* GetLastError() values -> Ward error codes: the one place that decides what a Win32
 * error means to the layers above. */
#include <windows.h>

#include "../errmap.h"
#include "ward/error.h"

/* Not in every mingw-w64 winerror.h. */
#define PLAT_ERROR_STOPPED_ON_SYMLINK 681L
#define PLAT_ERROR_DISK_QUOTA_EXCEEDED 1295L

int plat_err_from_win32(unsigned long err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
    case ERROR_MOD_NOT_FOUND:
        return WARD_ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_WRITE_PROTECT:
    case ERROR_PRIVILEGE_NOT_HELD:
    case ERROR_INVALID_OWNER:
    case ERROR_NOT_ALL_ASSIGNED:
        return WARD_EACCES;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_BUSY:
    case ERROR_PIPE_BUSY:
        return WARD_EBUSY;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
    case ERROR_DIR_NOT_EMPTY:
        return WARD_EEXIST;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
    case PLAT_ERROR_DISK_QUOTA_EXCEEDED:
        return WARD_ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
        return WARD_ENOMEM;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_FILENAME_EXCED_RANGE:
    case ERROR_NOT_SAME_DEVICE:
        return WARD_EPATH;
    case ERROR_DIRECTORY:
        return WARD_ENOTDIR;
    case ERROR_CANT_RESOLVE_FILENAME:
    case PLAT_ERROR_STOPPED_ON_SYMLINK:
        return WARD_ELOOP;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_HANDLE:
    case ERROR_INVALID_FLAGS:
        return WARD_EINVAL;
    case ERROR_FILE_TOO_LARGE:
    case ERROR_INSUFFICIENT_BUFFER:
    case ERROR_MORE_DATA:
        return WARD_ETOOBIG;
    case ERROR_TIMEOUT:
    case WAIT_TIMEOUT:
        return WARD_ETIMEDOUT;
    case ERROR_OPERATION_ABORTED:
    case ERROR_CANCELLED:
        return WARD_ECANCELED;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_INVALID_FUNCTION:
        return WARD_ENOTSUP;
    case ERROR_BAD_EXE_FORMAT:
    case ERROR_EXE_MACHINE_TYPE_MISMATCH:
        return WARD_ESPAWN;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
        return WARD_ECLOSED;
    default:
        return WARD_EIO;
    }
}
