/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `ward` command line: global options before the subcommand (as `git -C`), then a
 * subcommand looked up in a table. Returns the process exit status: 0 success, 1 failure
 * (one clear line on stderr), 2 usage error.
 */
#ifndef AGENT_CLI_H
#define AGENT_CLI_H

int agent_cli_main(int argc, char **argv);

#endif
