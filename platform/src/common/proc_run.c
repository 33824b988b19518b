/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blocking side of platform/proc.h, written only against the public async API so the
 * real library and ward_platform_fake share it: a private loop per call.
 */
#define WARD_LOG_TAG "proc"

#include <string.h>

#include "../errmap.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

struct run_ctx {
    struct plat_proc_result *res;
};

static void run_done(struct plat_proc *proc, struct plat_proc_result *res, void *ctx)
{
    struct run_ctx *rc = ctx;
    (void)proc;
    *rc->res = *res;
    memset(res, 0, sizeof(*res)); /* ownership moved to the caller */
}

int plat_proc_run(const struct plat_proc_opts *opts, struct plat_proc_result *res)
{
    uv_loop_t loop;
    struct run_ctx ctx = {.res = res};
    int rc;
    if (!res)
        return WARD_EINVAL;
    memset(res, 0, sizeof(*res));
    rc = uv_loop_init(&loop);
    if (rc != 0)
        return plat_err_from_uv(rc);
    rc = plat_proc_spawn(&loop, opts, run_done, &ctx, NULL);
    /* Run even after a failed start: the handles it opened close on this loop. */
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        WARD_WARN("private process loop did not close cleanly");
    return rc;
}

void plat_proc_result_release(struct plat_proc_result *res)
{
    if (!res)
        return;
    ward_free(res->out);
    ward_free(res->err);
    memset(res, 0, sizeof(*res));
}
