/* tools/cmd_backup.c — `stockade backup DIR` and `stockade restore DIR`.
 *
 * backup: a hot, compacted copy of the event log (LMDB mdb_env_copy2 with compaction, one
 * consistent snapshot, safe while a writer appends) into DIR/log/data.mdb, verified after
 * the copy, with DIR/BACKUP.json naming its head sequence and chain.
 * restore: verifies a backup, then installs it as the data directory's log. An existing
 * log is refused unless --force, and is then kept beside it as log.replaced-<unix time>.
 * Restore must not run while a server uses the data directory.
 */
#include "tools/cli.h"
#include "tools/log_open.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "events/log.h"

static void usage(FILE *f, const char *cmd)
{
    if (strcmp(cmd, "backup") == 0)
        fprintf(f, "usage: stockade backup DIR [--data-dir D]\n"
                   "  hot, compacted copy of the event log into DIR/log (DIR/log must not\n"
                   "  exist); safe while the server runs. The copy is verified.\n");
    else
        fprintf(f, "usage: stockade restore DIR [--data-dir D] [--force]\n"
                   "  verify the backup in DIR and install it as D/log. An existing log is\n"
                   "  refused unless --force (then kept as D/log.replaced-<time>).\n"
                   "  Stop the server first.\n");
    fprintf(f, "exit codes: 0 ok, 1 the copy did not verify, 2 usage, 3 could not run\n");
}

static void chain_hex(const uint8_t chain[STK_CHAIN_LEN], char out[2 * STK_CHAIN_LEN + 1])
{
    for (size_t i = 0; i < STK_CHAIN_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", chain[i]);
}

/* Opens the log in dir read-only and verifies it; fills *r. */
static int verify_dir(const char *dir, stk_log_verify_report_t *r)
{
    stk_log_t *log = NULL;
    stk_log_opts_t opts = {.read_only = 1};
    int rc = stk_log_open(&log, dir, &opts);
    if (rc != 0)
        return rc;
    memset(r, 0, sizeof(*r));
    rc = stk_log_verify(log, r);
    stk_log_close(log);
    return rc;
}

static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return STK_EIO;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return errno == EEXIST ? STK_EEXIST : STK_EIO;
    }
    int rc = 0;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = STK_EIO;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = STK_EIO;
                break;
            }
            off += w;
        }
        if (rc != 0)
            break;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = STK_EIO;
    close(out);
    close(in);
    return rc;
}

static int do_backup(const char *dest, const char *data_dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/log", dest) >= (int)sizeof(path))
        return stk_cli_fail(STK_EXIT_USAGE, "backup", "path too long");
    struct stat st;
    if (stat(path, &st) == 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "backup", "%s exists already", path);
    if (mkdir(dest, 0700) != 0 && errno != EEXIST)
        return stk_cli_fail(STK_EXIT_RUNTIME, "backup", "cannot create %s: %s", dest,
                            strerror(errno));
    stk_log_t *log = NULL;
    int rc = stk_tool_log_open(&log, data_dir, 1);
    if (rc != 0)
        return stk_tool_log_open_fail("backup", data_dir, rc);
    rc = stk_log_backup(log, path);
    stk_log_close(log);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "backup", "copy failed: %s", stk_strerror(rc));

    stk_log_verify_report_t r;
    rc = verify_dir(path, &r);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_FAIL, "backup", "the copy does not verify: %s",
                            r.detail[0] ? r.detail : stk_strerror(rc));
    char hex[2 * STK_CHAIN_LEN + 1];
    chain_hex(r.head_chain, hex);
    char manifest[4096];
    snprintf(manifest, sizeof(manifest), "%s/BACKUP.json", dest);
    FILE *f = fopen(manifest, "w");
    if (f == NULL)
        return stk_cli_fail(STK_EXIT_RUNTIME, "backup", "cannot write %s", manifest);
    fprintf(f,
            "{\"format\":\"stockade-log-backup-1\",\"created_unix\":%lld,\"events\":%" PRIu64
            ",\"head_seq\":%" PRIu64 ",\"head_chain\":\"%s\"}\n",
            (long long)time(NULL), r.events, r.head_seq, hex);
    if (fclose(f) != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "backup", "cannot write %s", manifest);
    printf("backup of %" PRIu64 " events (head seq %" PRIu64 ", chain %.16s…) in %s, verified\n",
           r.events, r.head_seq, hex, path);
    return STK_EXIT_OK;
}

static int do_restore(const char *src, const char *data_dir, int force)
{
    char from[4096], from_mdb[4200], to[4096], to_mdb[4200], aside[4200];
    if (snprintf(from, sizeof(from), "%s/log", src) >= (int)sizeof(from) ||
        stk_tool_log_path(data_dir, to, sizeof(to)) != 0)
        return stk_cli_fail(STK_EXIT_USAGE, "restore", "path too long");
    snprintf(from_mdb, sizeof(from_mdb), "%s/data.mdb", from);
    snprintf(to_mdb, sizeof(to_mdb), "%s/data.mdb", to);
    struct stat st;
    if (stat(from_mdb, &st) != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "restore", "no backup in %s (missing %s)", src,
                            from_mdb);
    stk_log_verify_report_t r;
    int rc = verify_dir(from, &r);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_FAIL, "restore", "the backup does not verify: %s",
                            r.detail[0] ? r.detail : stk_strerror(rc));
    if (stat(to, &st) == 0) {
        if (!force)
            return stk_cli_fail(STK_EXIT_RUNTIME, "restore",
                                "%s exists; pass --force to replace it (it is kept aside)", to);
        snprintf(aside, sizeof(aside), "%s.replaced-%lld", to, (long long)time(NULL));
        if (rename(to, aside) != 0)
            return stk_cli_fail(STK_EXIT_RUNTIME, "restore", "cannot move %s aside: %s", to,
                                strerror(errno));
        printf("previous log kept as %s\n", aside);
    }
    const char *dd = stk_cli_data_dir(data_dir);
    if ((mkdir(dd, 0700) != 0 && errno != EEXIST) || mkdir(to, 0700) != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "restore", "cannot create %s: %s", to,
                            strerror(errno));
    rc = copy_file(from_mdb, to_mdb);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "restore", "copy to %s failed: %s", to_mdb,
                            stk_strerror(rc));
    stk_log_verify_report_t after;
    rc = verify_dir(to, &after);
    if (rc != 0 || after.head_seq != r.head_seq)
        return stk_cli_fail(STK_EXIT_FAIL, "restore", "the restored log does not verify: %s",
                            after.detail[0] ? after.detail : stk_strerror(rc));
    printf("restored %" PRIu64 " events (head seq %" PRIu64 ") into %s, verified\n", after.events,
           after.head_seq, to);
    return STK_EXIT_OK;
}

static int run(int argc, char **argv, int is_backup)
{
    const char *cmd = is_backup ? "backup" : "restore";
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data_dir = NULL;
    int force = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'f':
            if (is_backup) {
                usage(stderr, cmd);
                return STK_EXIT_USAGE;
            }
            force = 1;
            break;
        case 'h':
            usage(stdout, cmd);
            return STK_EXIT_OK;
        default:
            usage(stderr, cmd);
            return STK_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr, cmd);
        return STK_EXIT_USAGE;
    }
    return is_backup ? do_backup(argv[optind], data_dir)
                     : do_restore(argv[optind], data_dir, force);
}

int stk_cmd_backup(int argc, char **argv)
{
    return run(argc, argv, 1);
}

int stk_cmd_restore(int argc, char **argv)
{
    return run(argc, argv, 0);
}
