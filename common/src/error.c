/* SPDX-License-Identifier: Apache-2.0 */
/* Names and messages for the error enum, generated from the same X-macro list. */
#include "ward/error.h"

const char *ward_err_name(int err)
{
    switch (err) {
    case WARD_OK:
        return "WARD_OK";
#define WARD_ERR_NAME(name, code, text)                                                            \
    case WARD_##name:                                                                              \
        return "WARD_" #name;
        WARD_ERRORS(WARD_ERR_NAME)
#undef WARD_ERR_NAME
    }
    return "WARD_E?";
}

const char *ward_strerror(int err)
{
    switch (err) {
    case WARD_OK:
        return "success";
#define WARD_ERR_TEXT(name, code, text)                                                            \
    case WARD_##name:                                                                              \
        return text;
        WARD_ERRORS(WARD_ERR_TEXT)
#undef WARD_ERR_TEXT
    }
    return "unknown error";
}
