/* tools/cmd_audit.c — `stockade audit`: who did what at which tick in one game, with the
 * log's hash chain verified up to the game's last event.
 *
 * The listing is the session stream as stored: every accepted input (rejected commands
 * never reach the log) and every server outcome, with its seq, tick, wall time, actor (user
 * id and, when their UserRegistered event is readable, username) and payload as JSON. The
 * chain is recomputed from seq 1 to the session's last seq with stk_chain_next() over the
 * raw records, so the verdict covers every event the game depends on and is not disturbed
 * by events appended after it. Exit codes:
 *   0 clean   1 tampered (the first bad seq is named)   2 usage   3 could not run
 *   4 undecodable (not an LMDB log, or an event that does not decode with a sound chain)
 * Not here: re-simulation (`stockade replay`), the whole-log check (`stockade log verify`).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>
#include <sodium.h>

#include "core/error.h"
#include "events/json.h"
#include "events/payload.h"
#include "events/types.h"
#include "events/upcast.h"
#include "tools/cli.h"
#include "tools/log_open.h"

#define CMD        "audit"
#define ACTORS_MAX 64u
#define ROWS_MAX   10000000u
#define NAME_MAX_B 64u
#define TYPE_SLOTS 64u /* event type ids counted per actor (ids are below 64) */

static void usage(FILE *f)
{
    fprintf(f, "usage: stockade audit SESSION [--data-dir DIR] [--json]\n"
               "\n"
               "Lists who did what at which tick in one game (accepted inputs and server\n"
               "outcomes; rejected commands are never logged) and verifies the log's hash\n"
               "chain from the first event up to the game's last one.\n"
               "\n"
               "options:\n"
               "  --data-dir DIR   data directory (default $STOCKADE_DATA_DIR or ./var)\n"
               "  --json           one JSON document instead of text\n"
               "\n"
               "exit: 0 clean, 1 tampered (first bad seq named), 2 usage, 3 could not run,\n"
               "      4 undecodable\n");
}

/* ---- actors and usernames ------------------------------------------------------------ */

struct actor {
    stk_uuid_t id;
    char name[NAME_MAX_B]; /* "" when unknown */
};

struct audit {
    stk_log_t *log;
    bool json;
    struct actor actors[ACTORS_MAX];
    size_t n_actors;
    uint32_t counts[ACTORS_MAX][TYPE_SLOTS]; /* events per actor and type */
    json_t *rows;                            /* JSON mode */
    json_t *actors_json;                     /* JSON mode: the "actors" array */
    uint64_t n_rows;
    uint64_t last_seq;
    uint64_t bad_payloads; /* events whose payload does not decode (chain may explain) */
    uint64_t first_bad_payload;
};

static int username_cb(void *ud, const stk_envelope_t *e)
{
    struct actor *a = ud;
    if (e->type != STK_EV_USER_REGISTERED)
        return 1;
    stk_payload_t p;
    if (stk_payload_open_checked(&p, e->type, e->schema, e->payload, e->payload_len, NULL) != 0)
        return 1;
    const char *s;
    size_t len;
    if (stk_payload_get_str(stk_payload_root(&p), "username", &s, &len) == 0) {
        if (len >= sizeof(a->name))
            len = sizeof(a->name) - 1;
        memcpy(a->name, s, len);
        a->name[len] = '\0';
    }
    stk_payload_close(&p);
    return 1;
}

/* The actor's row in the cache (the server, all-zero, is a row like the others), its
 * username read once from the user's first event; -1 when the cache is full. */
static int actor_index(struct audit *au, const stk_uuid_t *id)
{
    for (size_t i = 0; i < au->n_actors; i++) {
        if (stk_uuid_eq(&au->actors[i].id, id))
            return (int)i;
    }
    if (au->n_actors == ACTORS_MAX)
        return -1;
    struct actor *a = &au->actors[au->n_actors];
    memset(a, 0, sizeof(*a));
    a->id = *id;
    if (!stk_uuid_is_nil(id))
        (void)stk_log_read_stream(au->log, id, 1, 1, username_cb, a);
    return (int)au->n_actors++;
}

/* ---- listing ------------------------------------------------------------------------- */

static void format_time(int64_t us, char out[40])
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    if (us < 0 || gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, 40, "%" PRId64 "us", us);
        return;
    }
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%03dZ", base, (int)((us % 1000000) / 1000));
}

/* The payload as JSON at the current schema, or NULL if it does not decode. */
static json_t *payload_json(const stk_envelope_t *e)
{
    msgpack_sbuffer scratch;
    msgpack_sbuffer_init(&scratch);
    const uint8_t *mp = NULL;
    size_t len = 0;
    uint16_t schema = 0;
    json_t *out = NULL;
    if (stk_upcast(e->type, e->schema, e->payload, e->payload_len, &scratch, &mp, &len, &schema,
                   NULL) == 0)
        (void)stk_json_from_payload(e->type, schema, mp, len, &out, NULL);
    msgpack_sbuffer_destroy(&scratch);
    return out;
}

static int row_cb(void *ud, const stk_envelope_t *e)
{
    struct audit *au = ud;
    if (au->n_rows >= ROWS_MAX)
        return STK_ETOOBIG;
    au->n_rows++;
    au->last_seq = e->seq;
    char actor[STK_UUID_STR_LEN + 1], when[40];
    stk_uuid_format(&e->actor, actor);
    format_time(e->time_us, when);
    int ai = actor_index(au, &e->actor);
    const char *name = ai >= 0 ? au->actors[ai].name : "";
    if (ai >= 0 && e->type < TYPE_SLOTS)
        au->counts[ai][e->type]++;
    const stk_event_type_t *et = stk_event_type_by_id(e->type);
    json_t *payload = payload_json(e);
    if (payload == NULL) {
        if (au->bad_payloads++ == 0)
            au->first_bad_payload = e->seq;
    }
    if (au->json) {
        json_t *row =
            json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:s?, s:i}", "seq", (json_int_t)e->seq,
                      "tick", (json_int_t)e->tick, "time_us", (json_int_t)e->time_us, "time", when,
                      "type", et != NULL ? et->name : "unknown", "actor", actor, "username",
                      name[0] != '\0' ? name : NULL, "schema", (int)e->schema);
        if (row == NULL) {
            json_decref(payload);
            return STK_ENOMEM;
        }
        json_object_set_new(row, "server", json_boolean(stk_uuid_is_nil(&e->actor)));
        json_object_set_new(row, "payload", payload != NULL ? payload : json_null());
        json_array_append_new(au->rows, row);
        return 0;
    }
    char who[NAME_MAX_B + 16];
    if (stk_uuid_is_nil(&e->actor))
        snprintf(who, sizeof(who), "server");
    else if (name[0] != '\0')
        snprintf(who, sizeof(who), "%s", name);
    else
        snprintf(who, sizeof(who), "%.8s", actor);
    /* Long binary fields (SessionOpened's map and balance tables) are summarised. */
    const char *key;
    json_t *val;
    json_object_foreach(payload, key, val)
    {
        if (json_is_string(val) && json_string_length(val) > 96) {
            char sum[64];
            snprintf(sum, sizeof(sum), "<%zu base64 chars>", json_string_length(val));
            json_string_set(val, sum);
        }
    }
    char *text = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
    printf("%8" PRIu64 " %8" PRIu64 "  %s  %-16s %-36s %-18s %s\n", e->seq, e->tick, when, who,
           stk_uuid_is_nil(&e->actor) ? "" : actor, et != NULL ? et->name : "unknown",
           text != NULL ? text : "(payload does not decode)");
    free(text);
    json_decref(payload);
    return 0;
}

/* ---- chain --------------------------------------------------------------------------- */

struct chain {
    uint64_t next;               /* seq expected next */
    uint8_t prev[STK_CHAIN_LEN]; /* chain of next - 1 */
    uint64_t bad_seq;
    const char *why; /* static */
    uint64_t undecodable_seq;
    bool progress; /* stderr is a terminal: show progress on long logs */
};

static int chain_cb(void *ud, uint64_t seq, const uint8_t chain[STK_CHAIN_LEN], const uint8_t *env,
                    size_t env_len)
{
    struct chain *c = ud;
    if (seq != c->next) {
        c->bad_seq = c->next;
        c->why = "missing event (a gap in the sequence)";
        return 1;
    }
    uint8_t want[STK_CHAIN_LEN];
    stk_chain_next(c->prev, env, env_len, want);
    if (sodium_memcmp(want, chain, STK_CHAIN_LEN) != 0) {
        c->bad_seq = seq;
        c->why = "stored chain hash differs from the recomputed one";
        return 1;
    }
    stk_envelope_t e;
    if (c->undecodable_seq == 0 && (stk_envelope_decode(env, env_len, &e) != 0 || e.seq != seq))
        c->undecodable_seq = seq;
    memcpy(c->prev, want, STK_CHAIN_LEN);
    c->next = seq + 1;
    if (c->progress && seq % 1000000 == 0)
        fprintf(stderr, "\rchecking the chain: %" PRIu64 " events", seq);
    return 0;
}

/* "Who did what": per actor, how many events of each type (text), or an "actors" array
 * in the JSON document (au->rows is then moved into it later; see the caller). */
static void print_actors(struct audit *au)
{
    if (au->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < au->n_actors && arr != NULL; i++) {
            char id[STK_UUID_STR_LEN + 1];
            stk_uuid_format(&au->actors[i].id, id);
            json_t *by = json_object();
            for (uint16_t t = 0; t < TYPE_SLOTS; t++) {
                const stk_event_type_t *et = stk_event_type_by_id(t);
                if (au->counts[i][t] != 0 && et != NULL)
                    json_object_set_new(by, et->name, json_integer(au->counts[i][t]));
            }
            json_array_append_new(arr, json_pack("{s:s, s:s?, s:b, s:o}", "actor", id, "username",
                                                 au->actors[i].name[0] ? au->actors[i].name : NULL,
                                                 "server", stk_uuid_is_nil(&au->actors[i].id),
                                                 "events", by));
        }
        au->actors_json = arr;
        return;
    }
    printf("by actor:\n");
    for (size_t i = 0; i < au->n_actors; i++) {
        char id[STK_UUID_STR_LEN + 1];
        stk_uuid_format(&au->actors[i].id, id);
        if (stk_uuid_is_nil(&au->actors[i].id))
            printf("  %-16s %-36s ", "server", "");
        else
            printf("  %-16s %-36s ", au->actors[i].name[0] ? au->actors[i].name : "?", id);
        const char *sep = "";
        for (uint16_t t = 0; t < TYPE_SLOTS; t++) {
            const stk_event_type_t *et = stk_event_type_by_id(t);
            if (au->counts[i][t] != 0 && et != NULL) {
                printf("%s%s %" PRIu32, sep, et->name, au->counts[i][t]);
                sep = ", ";
            }
        }
        printf("\n");
    }
}

int stk_cmd_audit(int argc, char **argv)
{
    if (stk_cli_wants_help(argc, argv)) {
        usage(stdout);
        return STK_EXIT_OK;
    }
    static const struct option longopts[] = {{"data-dir", required_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, 'j'},
                                             {NULL, 0, NULL, 0}};
    const char *data_dir = NULL;
    bool json = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'j':
            json = true;
            break;
        default:
            return stk_cli_fail(STK_EXIT_USAGE, CMD, "unknown or incomplete option '%s'",
                                argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return stk_cli_fail(STK_EXIT_USAGE, CMD, "expected one SESSION id (see --help)");
    stk_uuid_t session;
    if (stk_uuid_parse(argv[optind], &session) != 0)
        return stk_cli_fail(STK_EXIT_USAGE, CMD, "not a session id: %s", argv[optind]);

    struct audit *au = calloc(1, sizeof(*au));
    if (au == NULL)
        return stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
    au->json = json;
    int code = STK_EXIT_RUNTIME;
    int rc = stk_tool_log_open(&au->log, data_dir, 1);
    if (rc != 0) {
        code = stk_tool_log_open_fail(CMD, data_dir, rc);
        goto done;
    }
    /* 1. The session's last seq: the chain is checked up to there. */
    uint64_t version = 0;
    rc = stk_log_stream_version(au->log, &session, &version);
    if (rc != 0) {
        code = stk_cli_fail(rc == STK_ECORRUPT ? STK_EXIT_CORRUPT : STK_EXIT_RUNTIME, CMD,
                            "cannot read the streams index: %s", stk_strerror(rc));
        goto done;
    }
    if (version == 0) {
        code = stk_cli_fail(STK_EXIT_RUNTIME, CMD, "no session %s in the log", argv[optind]);
        goto done;
    }
    if (json && (au->rows = json_array()) == NULL) {
        code = stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
        goto done;
    }
    if (!json)
        printf("audit of session %s (%" PRIu64 " events)\n%8s %8s  %-24s  %-16s %-36s %-18s %s\n",
               argv[optind], version, "seq", "tick", "time (UTC)", "who", "actor", "event",
               "payload");
    /* 2. The listing (as far as the events decode). */
    int list_rc = stk_log_read_stream(au->log, &session, 1, 0, row_cb, au);
    if (list_rc == STK_ENOMEM || list_rc == STK_EIO || list_rc == STK_EBUSY) {
        code =
            stk_cli_fail(STK_EXIT_RUNTIME, CMD, "reading the session: %s", stk_strerror(list_rc));
        goto done;
    }
    /* The stream's last event: its seq bounds the chain check even if the listing stopped. */
    uint64_t last_seq = au->last_seq;
    if (list_rc != 0 || au->n_rows < version) {
        uint64_t head = 0;
        if (stk_log_head(au->log, &head, NULL) == 0)
            last_seq = head; /* could not reach the last event: check everything */
    }
    /* 3. The chain from seq 1 to last_seq. */
    struct chain ch = {.next = 1, .progress = isatty(STDERR_FILENO) != 0};
    rc = stk_log_read_raw(au->log, 1, (size_t)last_seq, chain_cb, &ch);
    if (rc != 0 && rc != 1) {
        if (rc == STK_ECORRUPT) {
            ch.bad_seq = ch.next;
            ch.why = "record too short to hold a chain";
        } else {
            code = stk_cli_fail(STK_EXIT_RUNTIME, CMD, "reading the log: %s", stk_strerror(rc));
            goto done;
        }
    }
    if (ch.progress && last_seq >= 1000000)
        fprintf(stderr, "\r%60s\r", "");
    if (ch.bad_seq == 0 && ch.next != last_seq + 1) {
        ch.bad_seq = ch.next;
        ch.why = "missing event (the log ends early)";
    }
    print_actors(au);
    bool tampered = ch.bad_seq != 0;
    bool undecodable = !tampered && (list_rc != 0 || au->bad_payloads > 0 ||
                                     ch.undecodable_seq != 0 || au->n_rows < version);
    uint64_t undecodable_seq = ch.undecodable_seq != 0 ? ch.undecodable_seq : au->first_bad_payload;
    /* The chain value at last_seq: compare it with an anchor kept elsewhere (a backup's
     * BACKUP.json, the archive) to catch a rewrite that recomputed every later chain. */
    char head[2 * STK_CHAIN_LEN + 1];
    sodium_bin2hex(head, sizeof(head), ch.prev, STK_CHAIN_LEN);
    if (json) {
        json_t *doc = json_pack("{s:s, s:I, s:o, s:{s:I, s:I, s:b, s:s}}", "session", argv[optind],
                                "events", (json_int_t)au->n_rows, "rows", au->rows, "chain",
                                "from_seq", (json_int_t)1, "to_seq", (json_int_t)last_seq,
                                "verified", !tampered, "chain_at_to_seq", tampered ? "" : head);
        au->rows = NULL;
        if (doc != NULL && au->actors_json != NULL) {
            json_object_set_new(doc, "actors", au->actors_json);
            au->actors_json = NULL;
        }
        if (doc == NULL) {
            code = stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
            goto done;
        }
        const char *verdict = tampered ? "tampered" : undecodable ? "undecodable" : "clean";
        json_object_set_new(doc, "verdict", json_string(verdict));
        if (tampered) {
            json_object_set_new(doc, "bad_seq", json_integer((json_int_t)ch.bad_seq));
            json_object_set_new(doc, "reason", json_string(ch.why));
        } else if (undecodable) {
            json_object_set_new(doc, "bad_seq", json_integer((json_int_t)undecodable_seq));
            json_object_set_new(doc, "reason", json_string("event does not decode"));
        }
        json_dumpf(doc, stdout, JSON_COMPACT);
        printf("\n");
        json_decref(doc);
    } else if (tampered) {
        printf("TAMPERED: first bad event is seq %" PRIu64
               ": %s (chain checked over seq 1..%" PRIu64 ")\n",
               ch.bad_seq, ch.why, last_seq);
    } else if (undecodable) {
        printf("UNDECODABLE: event seq %" PRIu64 " does not decode (the chain over seq 1..%" PRIu64
               " is sound)\n",
               undecodable_seq, last_seq);
    } else {
        printf("chain verified over seq 1..%" PRIu64 ": clean (%" PRIu64
               " session events); chain at seq %" PRIu64 ": %s\n",
               last_seq, au->n_rows, last_seq, head);
    }
    code = tampered ? STK_EXIT_FAIL : undecodable ? STK_EXIT_CORRUPT : STK_EXIT_OK;
done:
    json_decref(au->rows);
    json_decref(au->actors_json);
    stk_log_close(au->log);
    free(au);
    return code;
}
