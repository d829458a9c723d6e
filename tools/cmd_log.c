/* tools/cmd_log.c — `stockade log append|dump|verify|stats`: the operator's view of the
 * event log in <data-dir>/log.
 *
 *   append  JSON lines in (one event each, the events/json.h append form), checked against
 *           their payload schema, appended through the group-commit writer; one line's
 *           rejection (bad JSON, schema, version conflict) never stops the others.
 *   dump    JSON lines out, by global range or by stream, optionally upcast to the current
 *           schema versions.
 *   verify  decodes every event, recomputes the chain, checks the stream index and every
 *           payload against its schema; names the first bad sequence.
 *   stats   counts and sizes.
 *
 * It is not the command path of the game: `append` writes events verbatim (no write-model
 * rules beyond expected_version), which is what an operator repairing or seeding a log needs.
 */
#include "tools/cli.h"
#include "tools/log_open.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "events/json.h"
#include "events/log.h"
#include "events/types.h"
#include "events/upcast.h"
#include "events/writer.h"

#define APPEND_WINDOW 1024 /* lines in flight through the writer at once */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: stockade log <append|dump|verify|stats> [options]\n"
            "\n"
            "  append [--file F]           append JSON lines (stdin by default); each line:\n"
            "                              {\"stream\",\"type\",\"payload\"[,\"schema\",\"tick\",\n"
            "                               \"actor\",\"expected_version\"]}\n"
            "  dump [--from SEQ] [--to SEQ] [--stream UUID] [--upcast]\n"
            "                              print events as JSON lines\n"
            "  verify [--json]             check every event, the chain and the stream index\n"
            "  stats [--json]              counts and sizes\n"
            "\n"
            "common options:\n"
            "  --data-dir DIR              data directory (default $STOCKADE_DATA_DIR or ./var);\n"
            "                              the log lives in DIR/log\n"
            "\n"
            "exit codes: 0 ok, 1 rejected lines or a damaged log, 2 usage,\n"
            "            3 could not run, 4 undecodable data\n");
}

/* ---- append -------------------------------------------------------------------------- */

struct append_slot {
    int status;
    uint64_t seq;
    int done;
};

struct append_window {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
};

struct append_ctx {
    struct append_window *win;
    struct append_slot *slot;
};

static void append_done_cb(void *ud, int status, const stk_append_result_t *res, size_t n)
{
    struct append_ctx *c = ud;
    (void)n;
    pthread_mutex_lock(&c->win->mu);
    c->slot->status = status;
    c->slot->seq = status == 0 ? res[0].seq : 0;
    c->slot->done = 1;
    c->win->pending--;
    pthread_cond_signal(&c->win->cv);
    pthread_mutex_unlock(&c->win->mu);
}

static void window_drain(struct append_window *win)
{
    pthread_mutex_lock(&win->mu);
    while (win->pending > 0)
        pthread_cond_wait(&win->cv, &win->mu);
    pthread_mutex_unlock(&win->mu);
}

/* Reports the lines of one window in input order; returns how many were rejected. */
static size_t window_report(const struct append_slot *slots, const uint64_t *lineno, size_t n,
                            uint64_t *first, uint64_t *last, uint64_t *ok)
{
    size_t rejected = 0;
    for (size_t i = 0; i < n; i++) {
        if (slots[i].status != 0) {
            fprintf(stderr, "line %" PRIu64 ": rejected: %s\n", lineno[i],
                    stk_strerror(slots[i].status));
            rejected++;
            continue;
        }
        if (*first == 0)
            *first = slots[i].seq;
        *last = slots[i].seq;
        (*ok)++;
    }
    return rejected;
}

static int submit_line(stk_writer_t *w, const char *line, size_t len, struct append_ctx *ctx,
                       uint64_t lineno)
{
    stk_json_append_t a;
    stk_payload_error_t perr;
    memset(&perr, 0, sizeof(perr));
    int rc = stk_json_append_parse(line, len, &a, &perr);
    if (rc != 0) {
        fprintf(stderr, "line %" PRIu64 ": %s%s%s%s%s\n", lineno, stk_strerror(rc),
                perr.path[0] ? " at " : "", perr.path, perr.reason[0] ? ": " : "", perr.reason);
        return rc;
    }
    stk_append_t item;
    memset(&item, 0, sizeof(item));
    item.stream = a.env.stream;
    item.type = a.env.type;
    item.schema = a.env.schema;
    item.tick = a.env.tick;
    item.actor = a.env.actor;
    item.payload = a.env.payload;
    item.payload_len = a.env.payload_len;
    item.expected_version = a.has_expected_version ? a.expected_version : STK_VERSION_ANY;
    pthread_mutex_lock(&ctx->win->mu);
    ctx->win->pending++;
    pthread_mutex_unlock(&ctx->win->mu);
    rc = stk_writer_submit(w, &item, 1, append_done_cb, ctx);
    stk_json_append_free(&a); /* the writer copied what it needs */
    if (rc != 0) {
        pthread_mutex_lock(&ctx->win->mu);
        ctx->win->pending--;
        pthread_mutex_unlock(&ctx->win->mu);
        fprintf(stderr, "line %" PRIu64 ": %s\n", lineno, stk_strerror(rc));
    }
    return rc;
}

static int log_append(stk_log_t *log, const char *file)
{
    FILE *in = stdin;
    if (file != NULL && strcmp(file, "-") != 0) {
        in = fopen(file, "r");
        if (in == NULL)
            return stk_cli_fail(STK_EXIT_RUNTIME, "log append", "cannot open %s", file);
    }
    stk_writer_t *w = NULL;
    int rc = stk_writer_start(&w, log, NULL);
    if (rc != 0) {
        if (in != stdin)
            fclose(in);
        return stk_cli_fail(STK_EXIT_RUNTIME, "log append", "writer: %s", stk_strerror(rc));
    }
    struct append_window win = {.pending = 0};
    pthread_mutex_init(&win.mu, NULL);
    pthread_cond_init(&win.cv, NULL);
    struct append_slot slots[APPEND_WINDOW];
    struct append_ctx ctx[APPEND_WINDOW];
    uint64_t lineno[APPEND_WINDOW];
    size_t used = 0;
    uint64_t n_line = 0, first = 0, last = 0, ok = 0, rejected = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) >= 0) {
        n_line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if ((size_t)len > STK_JSON_LINE_MAX) {
            fprintf(stderr, "line %" PRIu64 ": longer than %u bytes\n", n_line, STK_JSON_LINE_MAX);
            rejected++;
            continue;
        }
        memset(&slots[used], 0, sizeof(slots[used]));
        ctx[used].win = &win;
        ctx[used].slot = &slots[used];
        lineno[used] = n_line;
        if (submit_line(w, line, (size_t)len, &ctx[used], n_line) != 0) {
            rejected++;
            continue;
        }
        if (++used == APPEND_WINDOW) {
            window_drain(&win);
            rejected += window_report(slots, lineno, used, &first, &last, &ok);
            used = 0;
        }
    }
    window_drain(&win);
    rejected += window_report(slots, lineno, used, &first, &last, &ok);
    free(line);
    stk_writer_stats_t ws;
    stk_writer_stats(w, &ws);
    stk_writer_free(w);
    pthread_cond_destroy(&win.cv);
    pthread_mutex_destroy(&win.mu);
    int read_error = ferror(in);
    if (in != stdin)
        fclose(in);
    if (ok > 0)
        printf("appended %" PRIu64 " events (seq %" PRIu64 "..%" PRIu64 ") in %" PRIu64 " commits",
               ok, first, last, ws.commits);
    else
        printf("appended 0 events");
    printf(", rejected %" PRIu64 " lines\n", rejected);
    if (read_error)
        return stk_cli_fail(STK_EXIT_RUNTIME, "log append", "read error on input");
    return rejected > 0 ? STK_EXIT_FAIL : STK_EXIT_OK;
}

/* ---- dump ---------------------------------------------------------------------------- */

struct dump_ctx {
    uint64_t to;
    int upcast;
    msgpack_sbuffer scratch;
    int error;
    uint64_t bad_seq;
};

static int dump_cb(void *ud, const stk_envelope_t *e)
{
    struct dump_ctx *d = ud;
    if (d->to != 0 && e->seq > d->to)
        return 1; /* stop: past the range */
    stk_envelope_t shown = *e;
    stk_payload_error_t perr;
    memset(&perr, 0, sizeof(perr));
    if (d->upcast) {
        const uint8_t *out;
        size_t out_len;
        uint16_t out_schema;
        int rc = stk_upcast(e->type, e->schema, e->payload, e->payload_len, &d->scratch, &out,
                            &out_len, &out_schema, &perr);
        if (rc != 0) {
            d->error = rc;
            d->bad_seq = e->seq;
            return 2;
        }
        shown.payload = out;
        shown.payload_len = out_len;
        shown.schema = out_schema;
    }
    char *line = NULL;
    int rc = stk_json_event_dump(&shown, &line, &perr);
    if (rc != 0) {
        d->error = rc;
        d->bad_seq = e->seq;
        return 2;
    }
    fputs(line, stdout);
    fputc('\n', stdout);
    free(line);
    return 0;
}

static int log_dump(stk_log_t *log, uint64_t from, uint64_t to, const char *stream, int upcast)
{
    struct dump_ctx d = {.to = to, .upcast = upcast};
    msgpack_sbuffer_init(&d.scratch);
    int rc;
    if (stream != NULL) {
        stk_uuid_t id;
        if (stk_uuid_parse(stream, &id) != 0) {
            msgpack_sbuffer_destroy(&d.scratch);
            return stk_cli_fail(STK_EXIT_USAGE, "log dump", "--stream: not a UUID: %s", stream);
        }
        rc = stk_log_read_stream(log, &id, 1, 0, dump_cb, &d);
    } else {
        rc = stk_log_read(log, from == 0 ? 1 : from, 0, dump_cb, &d);
    }
    msgpack_sbuffer_destroy(&d.scratch);
    if (rc == 1)
        rc = 0;
    if (rc == 2)
        return stk_cli_fail(STK_EXIT_CORRUPT, "log dump", "seq %" PRIu64 ": %s", d.bad_seq,
                            stk_strerror(d.error));
    if (rc != 0)
        return stk_cli_fail(rc == STK_ECORRUPT ? STK_EXIT_CORRUPT : STK_EXIT_RUNTIME, "log dump",
                            "%s", stk_strerror(rc));
    return STK_EXIT_OK;
}

/* ---- verify -------------------------------------------------------------------------- */

struct payload_check_ctx {
    msgpack_sbuffer scratch;
    uint64_t bad_seq;
    int error;
    stk_payload_error_t perr;
};

/* Every payload must upcast to the current schema and validate against it. */
static int payload_check_cb(void *ud, const stk_envelope_t *e)
{
    struct payload_check_ctx *c = ud;
    const uint8_t *out;
    size_t out_len;
    uint16_t out_schema;
    int rc = stk_upcast(e->type, e->schema, e->payload, e->payload_len, &c->scratch, &out, &out_len,
                        &out_schema, &c->perr);
    if (rc == 0)
        rc = stk_payload_check(e->type, out_schema, out, out_len, &c->perr);
    if (rc != 0) {
        c->bad_seq = e->seq;
        c->error = rc;
        return 1;
    }
    return 0;
}

static const char *damage_name(stk_log_damage_t d)
{
    switch (d) {
    case STK_DAMAGE_NONE:
        return "none";
    case STK_DAMAGE_GAP:
        return "gap";
    case STK_DAMAGE_RECORD:
        return "record";
    case STK_DAMAGE_CHAIN:
        return "chain";
    case STK_DAMAGE_DECODE:
        return "decode";
    case STK_DAMAGE_STREAM_INDEX:
        return "stream_index";
    case STK_DAMAGE_META:
        return "meta";
    }
    return "unknown";
}

static void print_verdict(int json, const char *verdict, uint64_t events, uint64_t head,
                          const uint8_t chain[STK_CHAIN_LEN], uint64_t bad_seq, const char *kind,
                          const char *detail)
{
    char hex[2 * STK_CHAIN_LEN + 1];
    for (size_t i = 0; i < STK_CHAIN_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", chain[i]);
    if (json) {
        json_t *o = json_pack("{s:s,s:I,s:I,s:s}", "verdict", verdict, "events", (json_int_t)events,
                              "head_seq", (json_int_t)head, "head_chain", hex);
        if (o != NULL && bad_seq != 0) {
            json_object_set_new(o, "first_bad_seq", json_integer((json_int_t)bad_seq));
            json_object_set_new(o, "damage", json_string(kind));
            json_object_set_new(o, "detail", json_string(detail));
        }
        char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s != NULL)
            puts(s);
        free(s);
        json_decref(o);
        return;
    }
    if (bad_seq == 0 && strcmp(verdict, "clean") == 0) {
        printf("log verified: %" PRIu64 " events, head seq %" PRIu64 ", head chain %s\n", events,
               head, hex);
    } else {
        printf("log %s: first bad seq %" PRIu64 " (%s): %s\n", verdict, bad_seq, kind, detail);
    }
}

static int log_verify(stk_log_t *log, int json)
{
    stk_log_verify_report_t r;
    memset(&r, 0, sizeof(r));
    int rc = stk_log_verify(log, &r);
    if (rc == STK_ECHAIN || rc == STK_ECORRUPT) {
        int undecodable = r.damage == STK_DAMAGE_DECODE || r.damage == STK_DAMAGE_RECORD;
        print_verdict(json, undecodable ? "undecodable" : "tampered", r.events, r.head_seq,
                      r.head_chain, r.bad_seq, damage_name(r.damage), r.detail);
        return undecodable ? STK_EXIT_CORRUPT : STK_EXIT_FAIL;
    }
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "log verify", "%s", stk_strerror(rc));

    struct payload_check_ctx c;
    memset(&c, 0, sizeof(c));
    msgpack_sbuffer_init(&c.scratch);
    rc = stk_log_read(log, 1, 0, payload_check_cb, &c);
    msgpack_sbuffer_destroy(&c.scratch);
    if (rc == 1) {
        char detail[320];
        snprintf(detail, sizeof(detail), "payload %s%s%s: %s", stk_strerror(c.error),
                 c.perr.path[0] ? " at " : "", c.perr.path, c.perr.reason);
        print_verdict(json, "undecodable", r.events, r.head_seq, r.head_chain, c.bad_seq, "payload",
                      detail);
        return STK_EXIT_CORRUPT;
    }
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "log verify", "%s", stk_strerror(rc));
    print_verdict(json, "clean", r.events, r.head_seq, r.head_chain, 0, "none", "");
    return STK_EXIT_OK;
}

/* ---- stats --------------------------------------------------------------------------- */

static int log_stats(stk_log_t *log, int json)
{
    stk_log_stats_t st;
    int rc = stk_log_stats(log, &st);
    if (rc != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "log stats", "%s", stk_strerror(rc));
    if (json) {
        printf("{\"head_seq\":%" PRIu64 ",\"events\":%" PRIu64 ",\"streams\":%" PRIu64
               ",\"snapshots\":%" PRIu64 ",\"unique_keys\":%" PRIu64 ",\"user_keys\":%" PRIu64
               ",\"used_bytes\":%" PRIu64 ",\"file_bytes\":%" PRIu64 ",\"map_bytes\":%" PRIu64
               "}\n",
               st.head_seq, st.events, st.streams, st.snapshots, st.unique, st.keys, st.used_size,
               st.file_size, st.map_size);
        return STK_EXIT_OK;
    }
    printf("log           %s\n", stk_log_dir(log));
    printf("head seq      %" PRIu64 "\n", st.head_seq);
    printf("events        %" PRIu64 "\n", st.events);
    printf("streams       %" PRIu64 "\n", st.streams);
    printf("snapshots     %" PRIu64 "\n", st.snapshots);
    printf("unique keys   %" PRIu64 "\n", st.unique);
    printf("user keys     %" PRIu64 "\n", st.keys);
    printf("used          %.1f MiB of %.1f MiB file (map %.0f GiB)\n",
           (double)st.used_size / (1 << 20), (double)st.file_size / (1 << 20),
           (double)st.map_size / (1 << 30));
    printf("readers       %u of %u\n", st.readers_used, st.max_readers);
    return STK_EXIT_OK;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

int stk_cmd_log(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? STK_EXIT_USAGE : STK_EXIT_OK;
    }
    const char *sub = argv[1];
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                         {"file", required_argument, NULL, 'f'},
                                         {"from", required_argument, NULL, 'F'},
                                         {"to", required_argument, NULL, 'T'},
                                         {"stream", required_argument, NULL, 's'},
                                         {"upcast", no_argument, NULL, 'u'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data_dir = NULL, *file = NULL, *stream = NULL;
    uint64_t from = 0, to = 0;
    int upcast = 0, json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'F':
        case 'T':
            if (parse_u64(optarg, c == 'F' ? &from : &to) != 0)
                return stk_cli_fail(STK_EXIT_USAGE, "log", "not a sequence number: %s", optarg);
            break;
        case 's':
            stream = optarg;
            break;
        case 'u':
            upcast = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return STK_EXIT_OK;
        default:
            usage(stderr);
            return STK_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return STK_EXIT_USAGE;
    }
    int is_append = strcmp(sub, "append") == 0;
    if (!is_append && strcmp(sub, "dump") != 0 && strcmp(sub, "verify") != 0 &&
        strcmp(sub, "stats") != 0)
        return stk_cli_fail(STK_EXIT_USAGE, "log", "unknown subcommand '%s'", sub);

    stk_log_t *log = NULL;
    int rc = stk_tool_log_open(&log, data_dir, !is_append);
    if (rc != 0)
        return stk_tool_log_open_fail("log", data_dir, rc);
    int code;
    if (is_append)
        code = log_append(log, file);
    else if (strcmp(sub, "dump") == 0)
        code = log_dump(log, from, to, stream, upcast);
    else if (strcmp(sub, "verify") == 0)
        code = log_verify(log, json);
    else
        code = log_stats(log, json);
    stk_log_close(log);
    return code;
}
