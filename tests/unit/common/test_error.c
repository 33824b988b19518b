/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the error enum: every code from the X-macro has its generated name and text,
 * codes are negative and distinct, and unknown codes get a fallback instead of NULL. */
#include "wtest.h"

#include "ward/error.h"

WT_TEST(names_and_texts_for_every_code)
{
    int n = 0;
#define CHECK(name, code, text)                                                                    \
    WT_EQ_INT(WARD_##name, code);                                                                  \
    WT_EQ_STR(ward_err_name(WARD_##name), "WARD_" #name);                                          \
    WT_EQ_STR(ward_strerror(WARD_##name), text);                                                   \
    n++;
    WARD_ERRORS(CHECK)
#undef CHECK
    WT_ASSERT(n > 30);
}

WT_TEST(codes_are_negative_and_distinct)
{
    static const int codes[] = {
#define CODE(name, code, text) code,
        WARD_ERRORS(CODE)
#undef CODE
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        WT_ASSERT(codes[i] < 0);
        for (size_t j = i + 1; j < n; j++)
            WT_NE_INT(codes[i], codes[j]);
    }
}

WT_TEST(success)
{
    WT_EQ_STR(ward_err_name(0), "WARD_OK");
    WT_EQ_STR(ward_strerror(WARD_OK), "success");
}

WT_TEST(unknown_code)
{
    WT_EQ_STR(ward_err_name(-9999), "WARD_E?");
    WT_EQ_STR(ward_strerror(-9999), "unknown error");
    WT_EQ_STR(ward_err_name(7), "WARD_E?");
    WT_EQ_STR(ward_strerror(7), "unknown error");
}
