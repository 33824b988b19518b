/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the dpkg status parser (inventory/src/parse.c): every reported
 * package's spans must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "inventory/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span_check {
    const char *buf;
    size_t len;
};

static void in_bounds(const struct span_check *c, struct inv_span s)
{
    if (s.n && (s.p < c->buf || s.p + s.n > c->buf + c->len))
        abort();
}

static int cb(const struct inv_dpkg_pkg *p, void *ctx)
{
    in_bounds(ctx, p->name);
    in_bounds(ctx, p->version);
    in_bounds(ctx, p->arch);
    in_bounds(ctx, p->source);
    in_bounds(ctx, p->status);
    in_bounds(ctx, p->state);
    if (p->name.n == 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct span_check c = {(const char *)data, size};
    struct inv_parse_stats st;
    inv_dpkg_parse((const char *)data, size, 1000, cb, &c, &st);
    return 0;
}
