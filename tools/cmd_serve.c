/* tools/cmd_serve.c — `stockade serve`: run the game server (net/app.h) until signalled.
 *
 * Configuration: flags override the environment (STOCKADE_LISTEN, STOCKADE_DATA_DIR,
 * STOCKADE_JWT_SECRET, DATABASE_URL, REDIS_URL), which overrides the defaults
 * (127.0.0.1:8080, ./var, a secret generated once into <data-dir>/jwt.secret).
 * Prints "listening on http://HOST:PORT" (the real port when 0 was asked) and flushes
 * stdout, so scripts can wait for it. SIGTERM/SIGINT stop it gracefully: exit 0.
 */
#include "tools/cli.h"

#include "core/error.h"
#include "net/app.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: stockade serve [--listen HOST:PORT] [--data-dir DIR] [--no-projections]\n"
               "\n"
               "Runs the HTTP/WebSocket server on the event log in DIR/log until SIGTERM or\n"
               "SIGINT (graceful: in-flight requests and commits finish, WebSockets get 1001).\n"
               "\n"
               "  --listen HOST:PORT   address to listen on ($STOCKADE_LISTEN, 127.0.0.1:8080);\n"
               "                       port 0 picks a free port; IPv6 as [::1]:8080\n"
               "  --data-dir DIR       data directory ($STOCKADE_DATA_DIR, ./var)\n"
               "  --no-projections     do not use PostgreSQL/Redis even if configured\n"
               "\n"
               "environment: STOCKADE_JWT_SECRET (32+ bytes; else DIR/jwt.secret is created),\n"
               "DATABASE_URL and REDIS_URL (recorded; the projections are not wired yet).\n");
}

int stk_cmd_serve(int argc, char **argv)
{
    if (stk_cli_wants_help(argc, argv)) {
        usage(stdout);
        return STK_EXIT_OK;
    }
    stk_app_config_t cfg;
    stk_app_config_init(&cfg);
    const char *bad = NULL;
    int rc = stk_app_config_env(&cfg, &bad);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_USAGE, "serve", "bad %s: %s", bad ? bad : "environment",
                            stk_strerror(rc));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--listen") == 0 && i + 1 < argc) {
            if (stk_app_config_listen(&cfg, argv[++i]) != 0)
                return stk_cli_fail(STK_EXIT_USAGE, "serve", "bad --listen '%s' (HOST:PORT)",
                                    argv[i]);
        } else if (strcmp(a, "--data-dir") == 0 && i + 1 < argc) {
            if (strlen(argv[++i]) >= sizeof cfg.data_dir || argv[i][0] == '\0')
                return stk_cli_fail(STK_EXIT_USAGE, "serve", "bad --data-dir");
            snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", argv[i]);
        } else if (strcmp(a, "--no-projections") == 0) {
            cfg.projections = false;
        } else {
            usage(stderr);
            return stk_cli_fail(STK_EXIT_USAGE, "serve", "unknown or incomplete option '%s'", a);
        }
    }
    cfg.handle_signals = true;
    stk_app_t *app = NULL;
    rc = stk_app_create(&cfg, &app);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "serve", "cannot start on %s:%d with data dir %s: %s",
                            cfg.host, cfg.port, cfg.data_dir, stk_strerror(rc));
    const char *h = cfg.host;
    int v6 = strchr(h, ':') != NULL;
    printf("listening on http://%s%s%s:%d\n", v6 ? "[" : "", h, v6 ? "]" : "", stk_app_port(app));
    fflush(stdout);
    rc = stk_app_run(app);
    stk_app_destroy(app);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "serve", "%s", stk_strerror(rc));
    return STK_EXIT_OK;
}
