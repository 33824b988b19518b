/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ward's one error space. Functions return 0 on success or a negative WARD_E* code; the
 * X-macro below is the single list from which the enum, ward_err_name() and
 * ward_strerror() are all generated. OS errors are translated into these codes in one
 * file per OS (platform/src/<os>/errmap.c, common/src/<os>/oserr.c).
 */
#ifndef WARD_ERROR_H
#define WARD_ERROR_H

#define WARD_ERRORS(X)                                                                             \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ENOTSUP, -3, "not supported on this platform")                                               \
    X(EIO, -4, "input/output error")                                                               \
    X(ENOENT, -5, "not found")                                                                     \
    X(EEXIST, -6, "already exists")                                                                \
    X(EACCES, -7, "permission denied")                                                             \
    X(EPATH, -8, "path is malformed or leaves the root")                                           \
    X(ETOOBIG, -9, "size limit exceeded")                                                          \
    X(EPARSE, -10, "malformed input")                                                              \
    X(ETIMEDOUT, -11, "timed out")                                                                 \
    X(ECRYPTO, -12, "cryptographic operation failed")                                              \
    X(EVERIFY, -13, "verification failed")                                                         \
    X(ENOSPC, -14, "no space left on device")                                                      \
    X(ECONNECT, -15, "could not connect")                                                          \
    X(ETLS, -16, "TLS handshake or certificate error")                                             \
    X(EHTTP, -17, "unexpected HTTP status")                                                        \
    X(EPROTO, -18, "protocol error")                                                               \
    X(ECANCELED, -19, "operation canceled")                                                        \
    X(ESTORE, -20, "local database error")                                                         \
    X(ECORRUPT, -21, "data is corrupt")                                                            \
    X(EBUSY, -22, "resource busy")                                                                 \
    X(ESPAWN, -23, "could not start process")                                                      \
    X(ECONFIG, -24, "invalid configuration")                                                       \
    X(EPIN, -25, "public key pin mismatch")                                                        \
    X(EAGAIN, -26, "try again later")                                                              \
    X(ESTATE, -27, "operation not valid in this state")                                            \
    X(ENOTDIR, -28, "not a directory")                                                             \
    X(EISDIR, -29, "is a directory")                                                               \
    X(ELOOP, -30, "too many symbolic links")                                                       \
    X(EDEPTH, -31, "nesting too deep")                                                             \
    X(EDUP, -32, "duplicate key")                                                                  \
    X(EEXPIRED, -33, "expired")                                                                    \
    X(EREVOKED, -34, "revoked")                                                                    \
    X(ERESOLVE, -35, "could not resolve host")                                                     \
    X(EPROXY, -36, "proxy error")                                                                  \
    X(ECLOSED, -37, "connection closed early")                                                     \
    X(EREDIRECT, -38, "redirect refused")                                                          \
    X(EUSAGE, -39, "invalid command-line usage")                                                   \
    X(EDENIED, -40, "refused by the device's policy")

enum ward_err {
    WARD_OK = 0,
#define WARD_ERR_ENUM(name, code, text) WARD_##name = code,
    WARD_ERRORS(WARD_ERR_ENUM)
#undef WARD_ERR_ENUM
};

/* "WARD_ENOMEM" for WARD_ENOMEM, "WARD_OK" for 0, "WARD_E?" for unknown codes. */
const char *ward_err_name(int err);
/* Human-readable text; never NULL. */
const char *ward_strerror(int err);

#endif
