/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the utmp record parser (inventory/src/parse.c): fixed-size binary
 * records with unterminated strings must come out as terminated, bounded strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cb(const struct inv_utmp *u, void *ctx)
{
    (void)ctx;
    if (strlen(u->line) > 32 || strlen(u->user) > 32 || strlen(u->host) > 256)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    inv_utmp_parse((const char *)data, size, 1000, cb, NULL, NULL);
    return 0;
}
