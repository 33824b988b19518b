/* SPDX-License-Identifier: Apache-2.0 */
/* Entry point of the `ward` binary; everything else lives in ward_agent. */
#include "agent/cli.h"

int main(int argc, char **argv)
{
    return agent_cli_main(argc, argv);
}
