/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for ward_buf: the hard cap (and that a refused append changes nothing), growth,
 * formatted appends, reserve, and handing the data out with steal. */
#include "wtest.h"

#include "ward/alloc.h"
#include "ward/buf.h"

WT_TEST(cap_is_hard)
{
    struct ward_buf b;
    ward_buf_init(&b, 10);
    WT_OK(ward_buf_append(&b, "0123456789", 10));
    WT_EQ_INT(b.len, 10);
    WT_EQ_ERR(ward_buf_append(&b, "x", 1), WARD_ETOOBIG);
    WT_EQ_INT(b.len, 10);
    WT_EQ_STR(b.data, "0123456789");
    WT_OK(ward_buf_append(&b, "", 0));
    ward_buf_reset(&b);
    WT_EQ_INT(b.len, 0);
    WT_EQ_STR(b.data, "");
    WT_EQ_ERR(ward_buf_append(&b, "0123456789A", 11), WARD_ETOOBIG);
    WT_EQ_INT(b.len, 0);
    ward_buf_release(&b);
}

WT_TEST(grows_and_stays_terminated)
{
    struct ward_buf b;
    ward_buf_init(&b, 1 << 20);
    WT_ASSERT(b.data == NULL);
    for (int i = 0; i < 10000; i++) {
        char c = (char)('a' + i % 26);
        WT_OK(ward_buf_append(&b, &c, 1));
        WT_ASSERT(b.cap >= b.len + 1);
        WT_EQ_INT(b.data[b.len], 0);
    }
    WT_EQ_INT(b.len, 10000);
    for (int i = 0; i < 10000; i++)
        WT_EQ_INT(b.data[i], 'a' + i % 26);
    ward_buf_release(&b);
    WT_ASSERT(b.data == NULL);
    ward_buf_release(NULL);
}

WT_TEST(capacity_never_exceeds_max_plus_nul)
{
    struct ward_buf b;
    ward_buf_init(&b, 100);
    for (int i = 0; i < 100; i++)
        WT_OK(ward_buf_append(&b, "z", 1));
    WT_ASSERT(b.cap <= 101);
    ward_buf_release(&b);
}

WT_TEST(appendf)
{
    struct ward_buf b;
    ward_buf_init(&b, 32);
    WT_OK(ward_buf_appendf(&b, "%d-%s", 42, "x"));
    WT_OK(ward_buf_appendf(&b, "|%05u", 7u));
    WT_EQ_STR(b.data, "42-x|00007");
    WT_EQ_INT(b.len, 10);
    /* 10 + 23 > 32: refused, nothing written */
    WT_EQ_ERR(ward_buf_appendf(&b, "%s", "abcdefghijklmnopqrstuvw"), WARD_ETOOBIG);
    WT_EQ_STR(b.data, "42-x|00007");
    WT_OK(ward_buf_append_str(&b, "!"));
    WT_EQ_STR(b.data, "42-x|00007!");
    ward_buf_release(&b);
}

WT_TEST(reserve_keeps_len)
{
    struct ward_buf b;
    ward_buf_init(&b, 1000);
    WT_OK(ward_buf_append_str(&b, "abc"));
    WT_OK(ward_buf_reserve(&b, 500));
    WT_EQ_INT(b.len, 3);
    WT_ASSERT(b.cap >= 504);
    WT_EQ_ERR(ward_buf_reserve(&b, 998), WARD_ETOOBIG);
    ward_buf_release(&b);
}

WT_TEST(steal)
{
    struct ward_buf b;
    size_t len = 99;
    char *s;
    ward_buf_init(&b, 64);
    s = ward_buf_steal(&b, &len);
    WT_EQ_STR(s, "");
    WT_EQ_INT(len, 0);
    ward_free(s);

    WT_OK(ward_buf_append_str(&b, "hello"));
    s = ward_buf_steal(&b, &len);
    WT_EQ_STR(s, "hello");
    WT_EQ_INT(len, 5);
    WT_ASSERT(b.data == NULL);
    WT_EQ_INT(b.len, 0);
    WT_EQ_INT(b.cap, 0);
    /* the buffer is reusable after a steal */
    WT_OK(ward_buf_append_str(&b, "again"));
    WT_EQ_STR(b.data, "again");
    ward_buf_release(&b);
    ward_free(s);
}
