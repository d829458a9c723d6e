/* tools/cmd_replay.c — `stockade replay`: re-simulate one game from its events, check every
 * recorded outcome (wave ends, game end, tick marks), print its timeline.
 *
 * The events come from the data directory's log (SESSION is a session id) or from a file
 * of JSON lines (`stockade log dump --stream ID`, `GET /v1/sessions/{id}/events`; "-" is
 * stdin). The engine is events/replay.h; this file only parses flags, turns replay notes
 * into a timeline (text lines or one JSON document), and maps results to exit codes:
 *   0 every outcome and tick mark matched     1 a mismatch (divergence report written)
 *   2 usage                                   3 could not run (I/O, no such session)
 *   4 the events could not be decoded (not a session, bad JSON, bad payloads)
 * Replaying from a log also checks and stores keyframes (replay.h) unless --no-keyframes.
 * With --until-tick T a replay from the log starts at the latest stored keyframe at or
 * before T whose state matches its hash (stk_replay_run_log_seek: at most one keyframe
 * spacing of steps; unusable keyframes are skipped with a warning) and stores nothing;
 * without --until-tick it always simulates from tick 0 and checks the stored keyframes.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/error.h"
#include "events/replay.h"
#include "events/types.h"
#include "tools/cli.h"
#include "tools/log_open.h"

#define CMD "replay"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: stockade replay SESSION|FILE.jsonl [options]\n"
            "\n"
            "Re-simulates a game from its events, checks every recorded outcome hash and\n"
            "prints a timeline (inputs, waves, leaks, kills per player, towers, gold).\n"
            "SESSION is a session id in the data directory's log; FILE holds JSON lines as\n"
            "written by `stockade log dump --stream ID` (\"-\" reads stdin).\n"
            "\n"
            "options:\n"
            "  --data-dir DIR      data directory (default $STOCKADE_DATA_DIR or ./var)\n"
            "  --until-tick T      stop at tick T and print the game state there (from a\n"
            "                      log: starts at the latest stored keyframe before T)\n"
            "  --json              one JSON document instead of text (with --until-tick:\n"
            "                      \"state\"; on a mismatch: \"divergence\", unless --report)\n"
            "  --report FILE       write the divergence report to FILE (default stdout)\n"
            "  --session ID        with FILE: replay this session (default: the first opened)\n"
            "  --keyframes N       keyframe spacing in ticks (default %u)\n"
            "  --no-keyframes      do not store keyframes in the log's snapshot store, and\n"
            "                      with --until-tick simulate from tick 0\n"
            "  --quiet             no timeline, only the verdict\n"
            "\n"
            "exit: 0 every hash matches, 1 mismatch, 2 usage, 3 could not run,\n"
            "      4 undecodable events\n",
            STK_REPLAY_KEYFRAME_TICKS);
}

struct tl {
    bool json, quiet;
    json_t *events;        /* JSON timeline */
    const stk_replay_t *r; /* for tower names: the game exists once SessionOpened was fed */
    /* per wave aggregation for the text timeline */
    uint32_t leaks_wave;
    uint64_t kills[STK_GAME_MAX_PLAYERS];
    uint32_t n_players;
};

static const char *input_verb(int kind)
{
    switch (kind) {
    case STK_INPUT_JOIN:
        return "joined";
    case STK_INPUT_LEAVE:
        return "left";
    case STK_INPUT_READY:
        return "ready";
    case STK_INPUT_START:
        return "started the game";
    case STK_INPUT_PLACE:
        return "placed";
    case STK_INPUT_UPGRADE:
        return "upgraded";
    case STK_INPUT_SELL:
        return "sold";
    case STK_INPUT_CALL_WAVE:
        return "called the next wave";
    case STK_INPUT_PAUSE:
        return "paused";
    case STK_INPUT_RESUME:
        return "resumed";
    case STK_INPUT_DISCONNECT:
        return "disconnected";
    case STK_INPUT_RECONNECT:
        return "reconnected";
    case STK_INPUT_ABANDON:
        return "abandoned the game";
    }
    return "?";
}

static const char *tower_kind_name(const stk_replay_t *r, int kind)
{
    const stk_game_t *g = stk_replay_game(r);
    if (g != NULL && kind >= 0 && kind < STK_TOWER_KINDS)
        return stk_game_balance(g)->tower[kind].name;
    return "?";
}

static const char *note_kind_name(stk_replay_note_kind_t k)
{
    switch (k) {
    case STK_NOTE_INPUT:
        return "input";
    case STK_NOTE_WAVE_STARTED:
        return "wave_started";
    case STK_NOTE_WAVE_ENDED:
        return "wave_ended";
    case STK_NOTE_LEAK:
        return "leak";
    case STK_NOTE_KILLS:
        return "kills";
    case STK_NOTE_GAME_ENDED:
        return "game_ended";
    case STK_NOTE_CHECK:
        return "check";
    }
    return "?";
}

static void print_gold(const stk_replay_note_t *n)
{
    printf(" gold [");
    for (uint32_t i = 0; i < n->n_players && i < STK_GAME_MAX_PLAYERS; i++)
        printf("%s%" PRIu64, i ? " " : "", n->gold_all[i]);
    printf("]");
}

static void print_kills(const struct tl *t)
{
    printf(" kills [");
    for (uint32_t i = 0; i < t->n_players && i < STK_GAME_MAX_PLAYERS; i++)
        printf("%s%" PRIu64, i ? " " : "", t->kills[i]);
    printf("]");
}

static json_t *note_json(const struct tl *t, const stk_replay_note_t *n)
{
    json_t *o =
        json_pack("{s:s, s:I}", "what", note_kind_name(n->kind), "tick", (json_int_t)n->tick);
    if (o == NULL)
        return NULL;
    if (n->seq != 0)
        json_object_set_new(o, "seq", json_integer((json_int_t)n->seq));
    switch (n->kind) {
    case STK_NOTE_INPUT: {
        char actor[STK_UUID_STR_LEN + 1];
        stk_uuid_format(&n->actor, actor);
        const char *ev = stk_game_input_event(n->input);
        json_object_set_new(o, "event", json_string(ev != NULL ? ev : "?"));
        json_object_set_new(o, "actor", json_string(actor));
        json_object_set_new(o, "player", json_integer(n->player));
        if (n->input == STK_INPUT_PLACE || n->input == STK_INPUT_UPGRADE ||
            n->input == STK_INPUT_SELL) {
            json_object_set_new(o, "tower_id", json_integer(n->tower_id));
            json_object_set_new(o, "tower", json_string(tower_kind_name(t->r, n->tower_kind)));
            json_object_set_new(o, "level", json_integer(n->tower_level));
            json_object_set_new(o, "x", json_integer(n->x));
            json_object_set_new(o, "y", json_integer(n->y));
        }
        if (n->player >= 0)
            json_object_set_new(o, "gold", json_integer((json_int_t)n->gold));
        break;
    }
    case STK_NOTE_WAVE_STARTED:
        json_object_set_new(o, "wave", json_integer(n->wave));
        break;
    case STK_NOTE_LEAK:
        json_object_set_new(o, "count", json_integer(n->count));
        json_object_set_new(o, "lives", json_integer(n->lives));
        break;
    case STK_NOTE_KILLS:
        json_object_set_new(o, "player", json_integer(n->player));
        json_object_set_new(o, "count", json_integer(n->count));
        break;
    case STK_NOTE_WAVE_ENDED:
    case STK_NOTE_GAME_ENDED: {
        if (n->kind == STK_NOTE_GAME_ENDED)
            json_object_set_new(o, "result", json_string(stk_game_result_name(n->result)));
        json_object_set_new(o, "wave", json_integer(n->wave));
        json_object_set_new(o, "lives", json_integer(n->lives));
        json_t *gold = json_array();
        json_t *kills = json_array();
        for (uint32_t i = 0; i < n->n_players && i < STK_GAME_MAX_PLAYERS; i++) {
            json_array_append_new(gold, json_integer((json_int_t)n->gold_all[i]));
            json_array_append_new(kills, json_integer((json_int_t)t->kills[i]));
        }
        json_object_set_new(o, "gold", gold);
        json_object_set_new(o, "kills", kills);
        break;
    }
    case STK_NOTE_CHECK: {
        const stk_event_type_t *et = stk_event_type_by_id(n->event_type);
        json_object_set_new(o, "event", json_string(et != NULL ? et->name : "?"));
        json_object_set_new(o, "ok", json_boolean(n->ok));
        break;
    }
    }
    return o;
}

static void note_text(struct tl *t, const stk_replay_note_t *n)
{
    switch (n->kind) {
    case STK_NOTE_INPUT: {
        char actor[STK_UUID_STR_LEN + 1];
        stk_uuid_format(&n->actor, actor);
        printf("%8" PRIu64 "  seq %-7" PRIu64 " ", n->tick, n->seq);
        if (n->player >= 0)
            printf("player %d (%.8s) %s", n->player, actor, input_verb(n->input));
        else if (stk_uuid_is_nil(&n->actor))
            printf("server %s", input_verb(n->input));
        else
            printf("user %.8s %s", actor, input_verb(n->input));
        if (n->input == STK_INPUT_PLACE || n->input == STK_INPUT_UPGRADE ||
            n->input == STK_INPUT_SELL)
            printf(" %s #%" PRIu32 " L%" PRIu32 " at (%" PRIu32 ",%" PRIu32 ")",
                   tower_kind_name(t->r, n->tower_kind), n->tower_id, n->tower_level, n->x, n->y);
        if (n->player >= 0 && n->input != STK_INPUT_JOIN && n->input != STK_INPUT_READY)
            printf("  gold %" PRIu64, n->gold);
        printf("\n");
        break;
    }
    case STK_NOTE_WAVE_STARTED:
        printf("%8" PRIu64 "  wave %" PRIu32 " started\n", n->tick, n->wave);
        break;
    case STK_NOTE_LEAK:
        break; /* summed per wave */
    case STK_NOTE_KILLS:
        break; /* summed per player */
    case STK_NOTE_WAVE_ENDED:
        printf("%8" PRIu64 "  wave %" PRIu32 " cleared: lives %" PRId32 ", leaks %" PRIu32 ",",
               n->tick, n->wave, n->lives, t->leaks_wave);
        print_gold(n);
        print_kills(t);
        printf("\n");
        t->leaks_wave = 0;
        break;
    case STK_NOTE_GAME_ENDED:
        printf("%8" PRIu64 "  game ended: %s at wave %" PRIu32 ", lives %" PRId32 ",", n->tick,
               stk_game_result_name(n->result), n->wave, n->lives);
        print_gold(n);
        print_kills(t);
        printf("\n");
        break;
    case STK_NOTE_CHECK:
        if (!n->ok) {
            const stk_event_type_t *et = stk_event_type_by_id(n->event_type);
            printf("%8" PRIu64 "  MISMATCH %s (seq %" PRIu64 ")\n", n->tick,
                   et != NULL ? et->name : "outcome", n->seq);
        }
        break;
    }
}

static void note_cb(void *ud, const stk_replay_note_t *n)
{
    struct tl *t = ud;
    if (n->kind == STK_NOTE_LEAK)
        t->leaks_wave += n->count;
    if (n->kind == STK_NOTE_KILLS && n->player >= 0 && n->player < STK_GAME_MAX_PLAYERS)
        t->kills[n->player] += n->count;
    if (n->kind == STK_NOTE_WAVE_ENDED || n->kind == STK_NOTE_GAME_ENDED)
        t->n_players = n->n_players;
    if (t->quiet)
        return;
    if (t->json) {
        if (n->kind != STK_NOTE_CHECK || !n->ok)
            json_array_append_new(t->events, note_json(t, n));
    } else {
        note_text(t, n);
    }
}

static int exit_for(int rc)
{
    switch (rc) {
    case 0:
        return STK_EXIT_OK;
    case STK_EHASH:
        return STK_EXIT_FAIL;
    case STK_EDECODE:
    case STK_ESCHEMA:
    case STK_ETYPE:
    case STK_EVERSION:
    case STK_ETRUNC:
    case STK_ETOOBIG:
    case STK_ERANGE:
    case STK_ECORRUPT:
    case STK_ESTATE:
    case STK_ECHAIN:
        return STK_EXIT_CORRUPT;
    default:
        return STK_EXIT_RUNTIME;
    }
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int write_report(const stk_replay_t *r, const char *path, bool json)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return stk_replay_report(r, stdout, json);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return STK_EIO;
    int rc = stk_replay_report(r, f, json);
    if (fclose(f) != 0 && rc == 0)
        rc = STK_EIO;
    return rc;
}

static int report_json(const stk_replay_t *r, FILE *f, bool json)
{
    return stk_replay_report(r, f, json);
}

/* Run one of the engine's JSON writers into memory and parse the result back, to embed it
 * in the command's one JSON document. Returns a new reference, or JSON null on failure. */
static json_t *capture_json(const stk_replay_t *r, int (*write)(const stk_replay_t *, FILE *, bool))
{
    char *buf = NULL;
    size_t len = 0;
    json_t *out = NULL;
    FILE *f = open_memstream(&buf, &len);
    if (f != NULL) {
        int rc = write(r, f, true);
        if (fclose(f) == 0 && rc == 0)
            out = json_loadb(buf, len, 0, NULL);
    }
    free(buf);
    return out != NULL ? out : json_null();
}

int stk_cmd_replay(int argc, char **argv)
{
    if (stk_cli_wants_help(argc, argv)) {
        usage(stdout);
        return STK_EXIT_OK;
    }
    static const struct option longopts[] = {{"data-dir", required_argument, NULL, 'd'},
                                             {"until-tick", required_argument, NULL, 'u'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"report", required_argument, NULL, 'r'},
                                             {"keyframes", required_argument, NULL, 'k'},
                                             {"no-keyframes", no_argument, NULL, 'n'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"session", required_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    const char *data_dir = NULL, *report = NULL;
    uint64_t until = STK_REPLAY_UNTIL_END, kf = STK_REPLAY_KEYFRAME_TICKS;
    bool json = false, store = true, quiet = false, have_until = false, have_only = false;
    stk_uuid_t only;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'u':
            if (parse_u64(optarg, &until) != 0 || until == STK_REPLAY_UNTIL_END)
                return stk_cli_fail(STK_EXIT_USAGE, CMD, "--until-tick: not a tick: %s", optarg);
            have_until = true;
            break;
        case 'j':
            json = true;
            break;
        case 'r':
            report = optarg;
            break;
        case 'k':
            if (parse_u64(optarg, &kf) != 0 || kf == 0 || kf > UINT32_MAX)
                return stk_cli_fail(STK_EXIT_USAGE, CMD, "--keyframes: not a tick count: %s",
                                    optarg);
            break;
        case 'n':
            store = false;
            break;
        case 'q':
            quiet = true;
            break;
        case 's':
            if (stk_uuid_parse(optarg, &only) != 0)
                return stk_cli_fail(STK_EXIT_USAGE, CMD, "--session: not a session id: %s", optarg);
            have_only = true;
            break;
        default:
            return stk_cli_fail(STK_EXIT_USAGE, CMD, "unknown or incomplete option '%s'",
                                argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return stk_cli_fail(STK_EXIT_USAGE, CMD, "expected one SESSION or FILE (see --help)");
    const char *what = argv[optind];
    stk_uuid_t session;
    bool from_log = stk_uuid_parse(what, &session) == 0;
    if (from_log && have_only)
        return stk_cli_fail(STK_EXIT_USAGE, CMD, "--session goes with a FILE, not a SESSION");

    struct tl t = {.json = json, .quiet = quiet};
    if (json && (t.events = json_array()) == NULL)
        return stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
    stk_replay_opts_t o = {.until_tick = until,
                           .keyframe_ticks = (uint32_t)kf,
                           .note_cb = quiet && !json ? NULL : note_cb,
                           .note_ud = &t};
    stk_replay_t *r = NULL;
    stk_log_t *log = NULL;
    int code = STK_EXIT_RUNTIME, rc = stk_replay_create(&o, &r);
    if (rc != 0) {
        code = stk_cli_fail(STK_EXIT_RUNTIME, CMD, "%s", stk_strerror(rc));
        goto done;
    }
    t.r = r;
    uint64_t line = 0;
    if (from_log) {
        rc = stk_tool_log_open(&log, data_dir, 1);
        if (rc != 0) {
            code = stk_tool_log_open_fail(CMD, data_dir, rc);
            goto done;
        }
        if (have_until && store) {
            rc = stk_replay_run_log_seek(r, log, &session);
        } else {
            rc = stk_replay_keyframes_load(r, log, &session);
            if (rc != 0)
                fprintf(stderr, "stockade replay: stored keyframes unreadable (%s), not checked\n",
                        stk_strerror(rc));
            rc = stk_replay_run_log(r, log, &session);
        }
    } else {
        FILE *f = strcmp(what, "-") == 0 ? stdin : fopen(what, "r");
        if (f == NULL) {
            code = stk_cli_fail(STK_EXIT_RUNTIME, CMD, "cannot open %s", what);
            goto done;
        }
        rc = stk_replay_run_jsonl(r, f, have_only ? &only : NULL, &line);
        if (f != stdin)
            fclose(f);
    }
    if (rc == STK_ENOTFOUND) {
        code = from_log ? stk_cli_fail(STK_EXIT_RUNTIME, CMD, "no session %s in the log", what)
                        : stk_cli_fail(STK_EXIT_CORRUPT, CMD, "%s holds no SessionOpened", what);
        goto done;
    }
    if (rc != 0 && rc != STK_EHASH) {
        code = exit_for(rc);
        if (line != 0)
            stk_cli_fail(code, CMD, "%s line %" PRIu64 ": %s", what, line, stk_strerror(rc));
        else
            stk_cli_fail(code, CMD, "%s: %s", what, stk_strerror(rc));
        goto done;
    }

    stk_replay_summary_t s;
    stk_replay_summary(r, &s);
    if (s.keyframes_rejected > 0)
        fprintf(stderr,
                "stockade replay: warning: %" PRIu64 " stored keyframe(s) do not match their "
                "hash or do not decode; ignored (run a full replay to report them)\n",
                s.keyframes_rejected);
    if (from_log && store && rc == 0 && s.resumed_tick == 0) {
        stk_log_close(log);
        log = NULL;
        int src = stk_tool_log_open(&log, data_dir, 0);
        size_t stored = 0;
        if (src == 0)
            src = stk_replay_keyframes_store(r, log, &stored);
        if (src != 0)
            fprintf(stderr, "stockade replay: keyframes not stored: %s\n", stk_strerror(src));
    }
    char sid[STK_UUID_STR_LEN + 1];
    stk_uuid_format(&s.session, sid);
    const stk_game_t *g = stk_replay_game(r);
    if (json) {
        char hash[17];
        snprintf(hash, sizeof(hash), "%016" PRIx64, s.hash);
        json_t *doc =
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:b, s:o}",
                      "session", sid, "events", (json_int_t)s.events, "inputs",
                      (json_int_t)s.inputs, "outcomes", (json_int_t)s.outcomes, "outcomes_ok",
                      (json_int_t)s.outcomes_ok, "tick_marks", (json_int_t)s.tick_marks,
                      "tick_marks_ok", (json_int_t)s.tick_marks_ok, "keyframes_checked",
                      (json_int_t)s.keyframes_checked, "mismatches", (json_int_t)s.mismatches,
                      "last_seq", (json_int_t)s.last_seq, "tick", (json_int_t)s.tick, "hash", hash,
                      "verified", s.all_ok, "stopped", s.stopped, "timeline", t.events);
        if (doc != NULL) {
            json_object_set_new(doc, "resumed_tick", json_integer((json_int_t)s.resumed_tick));
            json_object_set_new(doc, "steps", json_integer((json_int_t)s.steps));
            json_object_set_new(doc, "keyframes_rejected",
                                json_integer((json_int_t)s.keyframes_rejected));
        }
        t.events = NULL;
        if (doc == NULL) {
            code = stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
            goto done;
        }
        json_object_set_new(doc, "result", json_string(stk_game_result_name(stk_game_result(g))));
        json_object_set_new(doc, "state_name", json_string(stk_game_state_name(stk_game_state(g))));
        if (have_until)
            json_object_set_new(doc, "state", capture_json(r, stk_replay_state_write));
        bool to_file = report != NULL && strcmp(report, "-") != 0;
        if (s.mismatches != 0 && !to_file)
            json_object_set_new(doc, "divergence", capture_json(r, report_json));
        json_dumpf(doc, stdout, JSON_COMPACT);
        printf("\n");
        json_decref(doc);
        if (to_file && write_report(r, report, true) != 0)
            stk_cli_fail(STK_EXIT_RUNTIME, CMD, "cannot write the report to %s", report);
    } else {
        if (have_until) {
            if (s.resumed_tick > 0)
                printf("resumed from the stored keyframe at tick %" PRIu64 " (%" PRIu64 " steps)\n",
                       s.resumed_tick, s.steps);
            printf("state at tick %" PRIu64 "%s:\n", s.tick,
                   s.stopped ? "" : " (the log ends before --until-tick)");
            stk_replay_state_write(r, stdout, false);
        } else if (!quiet) {
            printf("%8" PRIu64 "  final: %s, %s\n", s.tick, stk_game_state_name(stk_game_state(g)),
                   stk_game_result_name(stk_game_result(g)));
        }
        printf("session %s: %" PRIu64 " events, %" PRIu64 " inputs, final hash %016" PRIx64 "\n",
               sid, s.events, s.inputs, s.hash);
        printf("verified: %" PRIu64 " outcome hashes, %" PRIu64 " tick marks", s.outcomes_ok,
               s.tick_marks_ok);
        if (s.keyframes_checked > 0)
            printf(", %" PRIu64 " keyframes", s.keyframes_checked);
        printf("%s\n", s.mismatches != 0 ? "" : "; every hash matches");
        if (s.mismatches != 0)
            printf("MISMATCH: %" PRIu64 " divergence(s); %" PRIu64 " of %" PRIu64
                   " outcome hashes and %" PRIu64 " of %" PRIu64 " tick marks matched\n",
                   s.mismatches, s.outcomes_ok, s.outcomes, s.tick_marks_ok, s.tick_marks);
        if (s.mismatches != 0 || report != NULL) {
            fflush(stdout);
            if (write_report(r, report, false) != 0)
                stk_cli_fail(STK_EXIT_RUNTIME, CMD, "cannot write the report to %s", report);
        }
    }
    code = s.mismatches != 0 ? STK_EXIT_FAIL : STK_EXIT_OK;
done:
    json_decref(t.events);
    stk_replay_destroy(r);
    stk_log_close(log);
    return code;
}
