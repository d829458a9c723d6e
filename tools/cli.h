/* tools/cli.h — conventions shared by every `stockade` subcommand.
 *
 * A subcommand is `int stk_cmd_<name>(int argc, char **argv)` where argv[0] is the
 * subcommand's own name; it returns one of the STK_EXIT_* codes below. Subcommands are
 * declared once, in tools/commands.def. Every subcommand answers `--help` on stdout with
 * exit 0, and a usage error with a message on stderr and STK_EXIT_USAGE.
 */
#ifndef STK_TOOLS_CLI_H
#define STK_TOOLS_CLI_H

#include <stdio.h>

enum {
    STK_EXIT_OK = 0,      /* done; for checks: everything verified */
    STK_EXIT_FAIL = 1,    /* ran, and found a problem (mismatch, tamper, rejected input) */
    STK_EXIT_USAGE = 2,   /* bad flags or arguments */
    STK_EXIT_RUNTIME = 3, /* could not run: I/O, missing data directory, out of memory */
    STK_EXIT_CORRUPT = 4  /* stored data could not be decoded at all */
};

/* X(name, summary) — the one list of subcommands. */
#include "tools/commands.def"

#define STK_CMD_DECL(name, summary) int stk_cmd_##name(int argc, char **argv);
STK_COMMANDS(STK_CMD_DECL)
#undef STK_CMD_DECL

/* True when argv holds -h or --help. */
int stk_cli_wants_help(int argc, char **argv);

/* Prints "stockade <cmd>: <message>" to stderr (printf-style) and returns `code`. */
int stk_cli_fail(int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The data directory: --data-dir flag value if non-NULL, else $STOCKADE_DATA_DIR, else
 * "./var". Returned pointer is borrowed (argv, environ or a literal). */
const char *stk_cli_data_dir(const char *flag_value);

#endif
