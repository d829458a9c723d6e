/* tools/main.c — the `stockade` command: dispatches argv[1] to a subcommand from
 * tools/commands.def. Owns nothing else. */
#include "tools/cli.h"

#include <string.h>

#define STK_VERSION "0.1.0"

struct stk_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct stk_command commands[] = {
#define STK_CMD_ROW(name, summary) {#name, summary, stk_cmd_##name},
    STK_COMMANDS(STK_CMD_ROW)
#undef STK_CMD_ROW
};

static const struct stk_command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

int stk_cmd_help(int argc, char **argv)
{
    if (argc >= 2 && argv[1][0] != '-') {
        const struct stk_command *c = find_command(argv[1]);
        if (c == NULL)
            return stk_cli_fail(STK_EXIT_USAGE, "help", "unknown subcommand '%s'", argv[1]);
        char help[] = "--help";
        char *sub_argv[] = {(char *)c->name, help, NULL};
        return c->run(2, sub_argv);
    }
    printf("usage: stockade <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    printf("\n`stockade <command> --help` shows a command's options.\n");
    return STK_EXIT_OK;
}

int stk_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("stockade %s\n", STK_VERSION);
    return STK_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        stk_cmd_help(1, argv);
        return STK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return stk_cmd_help(1, argv);
    const struct stk_command *c = find_command(argv[1]);
    if (c == NULL) {
        return stk_cli_fail(STK_EXIT_USAGE, argv[1], "unknown subcommand (see `stockade help`)");
    }
    return c->run(argc - 1, argv + 1);
}
