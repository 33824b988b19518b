/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inventory upload schedule and snapshot (agent/invsync.h): what is due after enrollment,
 * after a request, at the 6-hour and 1-hour marks and after the clock jumped back; the
 * acknowledged snapshot kept per device id, replaced and cleared; the inventory command
 * recording its request.
 */
#include <string.h>

#include "agent/commands.h"
#include "agent/invsync.h"
#include "agent/state.h"
#include "inventory/delta.h"
#include "ward/alloc.h"
#include "ward/json.h"
#include "wtest.h"

#define NOW 1800000000LL

WT_TEST(due_schedule)
{
    const int64_t h = 3600;
    /* No snapshot (first upload after enrollment, after a resync): full, whatever else. */
    WT_EQ_INT(agent_inv_due(NOW, NOW, NOW, 0, 0), AGENT_INV_FULL);
    /* Asked for (inventory command, ward checkin --inventory). */
    WT_EQ_INT(agent_inv_due(NOW, NOW, NOW, 1, 1), AGENT_INV_FULL);
    /* Just uploaded: nothing. */
    WT_EQ_INT(agent_inv_due(NOW, NOW - 10, NOW - 10, 0, 1), AGENT_INV_NONE);
    /* Cheap sections hourly, everything every 6 hours. */
    WT_EQ_INT(agent_inv_due(NOW, NOW - 2 * h, NOW - h + 1, 0, 1), AGENT_INV_NONE);
    WT_EQ_INT(agent_inv_due(NOW, NOW - 2 * h, NOW - h, 0, 1), AGENT_INV_CHEAP);
    WT_EQ_INT(agent_inv_due(NOW, NOW - 6 * h + 1, NOW - 10, 0, 1), AGENT_INV_NONE);
    WT_EQ_INT(agent_inv_due(NOW, NOW - 6 * h, NOW - 10, 0, 1), AGENT_INV_FULL);
    /* Never recorded. */
    WT_EQ_INT(agent_inv_due(NOW, 0, 0, 0, 1), AGENT_INV_FULL);
    WT_EQ_INT(agent_inv_due(NOW, NOW - 10, 0, 0, 1), AGENT_INV_CHEAP);
    /* A clock that jumped back (more than 5 minutes behind the last upload) counts as due;
     * a few seconds of NTP slew do not. */
    WT_EQ_INT(agent_inv_due(NOW - 60, NOW, NOW, 0, 1), AGENT_INV_NONE);
    WT_EQ_INT(agent_inv_due(NOW - 3 * h, NOW, NOW - 10, 0, 1), AGENT_INV_FULL);
    WT_EQ_INT(agent_inv_due(NOW - 3 * h, NOW - 6 * h + 1, NOW - 2 * h, 0, 1), AGENT_INV_CHEAP);
}

WT_TEST(snapshot_per_device)
{
    struct agent_state *st = NULL;
    char hash[INV_HASH_HEX_LEN], *doc = NULL;
    const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";

    ward_json_init();
    WT_OK(agent_state_open(wt_path("state"), &st));
    WT_EQ_ERR(agent_inv_snapshot_load(st, "d-1", hash, &doc), WARD_ENOENT);
    WT_OK(agent_inv_snapshot_store(st, "d-1", h1, "{\"os\":{}}"));
    WT_OK(agent_inv_snapshot_load(st, "d-1", hash, &doc));
    WT_EQ_STR(hash, h1);
    WT_EQ_STR(doc, "{\"os\":{}}");
    ward_free(doc);
    doc = NULL;
    /* Another enrollment (device id) does not inherit it. */
    WT_EQ_ERR(agent_inv_snapshot_load(st, "d-2", hash, &doc), WARD_ENOENT);
    WT_ASSERT(doc == NULL);
    WT_OK(agent_inv_snapshot_store(st, "d-2", h2, "{}"));
    WT_EQ_ERR(agent_inv_snapshot_load(st, "d-1", hash, &doc), WARD_ENOENT);
    WT_OK(agent_inv_snapshot_load(st, "d-2", hash, &doc));
    WT_EQ_STR(hash, h2);
    ward_free(doc);
    doc = NULL;
    WT_OK(agent_inv_snapshot_clear(st));
    WT_EQ_ERR(agent_inv_snapshot_load(st, "d-2", hash, &doc), WARD_ENOENT);
    agent_state_close(st);
}
