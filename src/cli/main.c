/* main.c: the rapt command line. Resolves a subcommand from the table below and hands it the
 * rest of the arguments; everything else lives in cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const rapt_cmd *const commands[] = {
    &rapt_cmd_info,   &rapt_cmd_plan,    &rapt_cmd_history,
    &rapt_cmd_report, &rapt_cmd_monitor, &rapt_cmd_run,
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rapt <command> [options] [arguments]\n"
               "\n"
               "rapt runs many jobs as fast as the machine's real limits allow.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n"
               "'rapt <command> --help' describes a command; 'man rapt' describes them all.\n"
               "options: --help, --version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return RAPT_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return cli_close_stdout(RAPT_EXIT_OK);
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("rapt %s\n", rapt_version());
        return cli_close_stdout(RAPT_EXIT_OK);
    }
    for (size_t i = 0; i < RAPT__ARRAY_SIZE(commands); i++) {
        if (strcmp(name, commands[i]->name) == 0)
            return commands[i]->exec(argc - 1, argv + 1);
    }
    if (name[0] == '-')
        return cli_fail(RAPT_EXIT_USAGE, "unknown option '%s' (see 'rapt --help')", name);
    return cli_fail(RAPT_EXIT_USAGE, "unknown command '%s' (see 'rapt --help')", name);
}
