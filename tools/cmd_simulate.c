/* tools/cmd_simulate.c — `stockade simulate`: scripted bots play one whole game headless,
 * through the same command path (events/session.h) and event log the server uses.
 *
 * What it writes to the log of the data directory, in order:
 *   - per bot: UserRegistered (username "bot-<seed>-<i>", claimed in the write model's
 *     "username" unique index in the same transaction) and TribeFounded, unless a previous
 *     run with the same seed already wrote them (ids are derived from the seed, so a rerun
 *     reuses them and replays the very same game);
 *   - the map: MapDrawn from the JSON file (id derived from the payload), unless present;
 *   - the session: SessionOpened v2 (default balance, the map embedded, the seed), then
 *     PlayerJoined / PlayerReady for every bot, SessionStarted, and the bots' inputs and
 *     the outcome events until the game ends (or, after 4 hours of game time, the host
 *     abandons it). Refused bot commands write nothing; they are counted.
 * The session id is random; everything that the final state hash depends on (seed, map,
 * player and tribe ids, inputs) is a function of --seed and the map, so the same seed on
 * the same map gives the same final hash.
 *
 * Map resolution without --map: "maps/meadow.json" in the current directory, then in
 * $STOCKADE_MAPS_DIR (the directory itself), then ../maps/ next to the executable (the
 * executable is built into <source>/build-*), then <exe dir>/../share/stockade/maps.
 *
 * Bonus personal data: bots have no e-mail or password, so the sealed fields are empty.
 */
#include "tools/bots.h"
#include "tools/cli.h"
#include "tools/log_open.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/error.h"
#include "events/game.h"
#include "events/map_json.h"
#include "events/payload.h"
#include "events/session.h"
#include "events/types.h"
#include "events/writer.h"

#define SIM_MAX_TICKS (20ull * 3600 * 4) /* at 20 Hz: 4 hours of game time */

static const char *const archetypes[] = {"Aggressive", "Defensive", "Balanced", "Support"};
/* Bonuses per archetype (damage, attack speed, range), summing to 5000. */
static const uint32_t bonuses[4][3] = {
    {3000, 1500, 500}, {1000, 1000, 3000}, {1700, 1700, 1600}, {500, 3000, 1500}};
static const uint32_t colors[4] = {0xD9482B, 0x2B7BD9, 0x3FA34D, 0xC9A227};

static void usage(FILE *f)
{
    fprintf(f, "usage: stockade simulate --seed N [--map FILE] [--players K] [--data-dir DIR] "
               "[--json]\n\n"
               "Scripted bots play one game through the live command path and event log.\n"
               "  --seed N       seed of the session and of every bot choice (default 1)\n"
               "  --map FILE     contract map JSON (default maps/meadow.json: ./maps, then\n"
               "                 $STOCKADE_MAPS_DIR, then ../maps next to the executable)\n"
               "  --players K    bots, 1..4 (default 2)\n"
               "  --data-dir DIR data directory (default $STOCKADE_DATA_DIR or ./var)\n"
               "  --json         print the result as one JSON object\n"
               "Prints the session id, the result, the waves and the final state hash.\n"
               "Exit: 0 the game finished (victory or defeat), 1 it could not finish,\n"
               "2 usage, 3 runtime error (log, map file).\n");
}

/* A stable id from a label and the seed: BLAKE2b-128, shaped as an RFC 4122 v4 uuid. */
static void derive_id(stk_uuid_t *out, const char *label, uint64_t seed, uint64_t k,
                      const void *extra, size_t extra_len)
{
    crypto_generichash_state st;
    uint8_t buf[16];
    crypto_generichash_init(&st, NULL, 0, sizeof buf);
    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(seed >> (8 * i));
    for (int i = 0; i < 8; i++)
        buf[8 + i] = (uint8_t)(k >> (8 * i));
    crypto_generichash_update(&st, buf, sizeof buf);
    if (extra_len > 0)
        crypto_generichash_update(&st, extra, extra_len);
    crypto_generichash_final(&st, out->b, sizeof out->b);
    out->b[6] = (uint8_t)((out->b[6] & 0x0F) | 0x40);
    out->b[8] = (uint8_t)((out->b[8] & 0x3F) | 0x80);
}

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}

/* Find the default map (see the header comment) into buf. */
static int default_map(char *buf, size_t cap)
{
    const char *name = "meadow.json";
    snprintf(buf, cap, "maps/%s", name);
    if (file_exists(buf))
        return 0;
    const char *env = getenv("STOCKADE_MAPS_DIR");
    if (env != NULL && env[0] != '\0') {
        int k = snprintf(buf, cap, "%s/%s", env, name);
        if (k > 0 && (size_t)k < cap && file_exists(buf))
            return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL)
            *slash = '\0';
        int k = snprintf(buf, cap, "%s/../maps/%s", exe, name);
        if (k > 0 && (size_t)k < cap && file_exists(buf))
            return 0;
        k = snprintf(buf, cap, "%s/../share/stockade/maps/%s", exe, name);
        if (k > 0 && (size_t)k < cap && file_exists(buf))
            return 0;
    }
    return STK_ENOTFOUND;
}

static int append(stk_writer_t *w, const stk_uuid_t *stream, uint16_t type, const stk_uuid_t *actor,
                  const msgpack_sbuffer *sb, const stk_unique_op_t *u)
{
    stk_append_t it;
    memset(&it, 0, sizeof it);
    it.stream = *stream;
    it.type = type;
    it.schema = stk_event_type_by_id(type)->schema;
    it.actor = *actor;
    it.payload = (const uint8_t *)sb->data;
    it.payload_len = sb->size;
    it.expected_version = STK_VERSION_NONE;
    it.unique = u;
    it.n_unique = u != NULL ? 1 : 0;
    stk_append_result_t res;
    return stk_writer_append_wait(w, &it, 1, &res);
}

static int stream_exists(stk_log_t *log, const stk_uuid_t *id, int *exists)
{
    uint64_t v = 0;
    int rc = stk_log_stream_version(log, id, &v);
    *exists = v > 0;
    return rc;
}

/* UserRegistered + TribeFounded for bot i (skipped if already there). */
static int register_bot(stk_log_t *log, stk_writer_t *w, uint64_t seed, size_t i,
                        const stk_uuid_t *user, const stk_uuid_t *tribe)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char username[64], tname[64], color[8];
    snprintf(username, sizeof username, "bot-%" PRIu64 "-%zu", seed, i);
    int exists = 0;
    int rc = stream_exists(log, user, &exists);
    if (rc == 0 && !exists) {
        msgpack_pack_map(&pk, 3);
        rc = stk_payload_put_cstr(&pk, "username", username);
        rc = rc ? rc : stk_payload_put_bin(&pk, "email", "", 0);
        rc = rc ? rc : stk_payload_put_bin(&pk, "password_hash", "", 0);
        stk_unique_op_t claim = {.index = "username",
                                 .value = (const uint8_t *)username,
                                 .value_len = strlen(username),
                                 .owner = *user};
        rc = rc ? rc : append(w, user, STK_EV_USER_REGISTERED, user, &sb, &claim);
    }
    rc = rc ? rc : stream_exists(log, tribe, &exists);
    if (rc == 0 && !exists) {
        msgpack_sbuffer_clear(&sb);
        snprintf(tname, sizeof tname, "Bot tribe %zu", i + 1);
        stk_game_color_format(colors[i % 4], color);
        msgpack_pack_map(&pk, 7);
        rc = stk_payload_put_uuid(&pk, "user_id", user);
        rc = rc ? rc : stk_payload_put_cstr(&pk, "name", tname);
        rc = rc ? rc : stk_payload_put_cstr(&pk, "archetype", archetypes[i % 4]);
        rc = rc ? rc : stk_payload_put_uint(&pk, "damage_bp", bonuses[i % 4][0]);
        rc = rc ? rc : stk_payload_put_uint(&pk, "attack_speed_bp", bonuses[i % 4][1]);
        rc = rc ? rc : stk_payload_put_uint(&pk, "range_bp", bonuses[i % 4][2]);
        rc = rc ? rc : stk_payload_put_cstr(&pk, "color", color);
        rc = rc ? rc : append(w, tribe, STK_EV_TRIBE_FOUNDED, user, &sb, NULL);
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

typedef struct sim {
    stk_session_t *session;
    stk_bots_t *bots;
    size_t players;
    uint8_t ids[STK_GAME_MAX_PLAYERS][STK_GAME_ID_LEN];
    uint64_t accepted, refused;
    uint64_t refused_by[STK_REJECT_COUNT];
} sim_t;

/* Submit one input; a refusal is counted, any other error returned. */
static int submit(sim_t *s, const stk_game_input_t *in)
{
    stk_reject_t why = STK_REJECT_NONE;
    int rc = stk_session_submit(s->session, in, &why, NULL, NULL);
    if (rc == STK_EPERM) {
        s->refused++;
        if ((unsigned)why < STK_REJECT_COUNT)
            s->refused_by[why]++;
        return 0;
    }
    if (rc == 0)
        s->accepted++;
    return rc;
}

static stk_game_input_t input_for(const sim_t *s, size_t i, int kind)
{
    stk_game_input_t in;
    memset(&in, 0, sizeof in);
    in.kind = kind;
    memcpy(in.player, s->ids[i], STK_GAME_ID_LEN);
    return in;
}

/* Lobby: join, ready, start; each phase waits for its commits. */
static int lobby(sim_t *s, const stk_uuid_t *tribes)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->players; i++) {
        stk_game_input_t in = input_for(s, i, STK_INPUT_JOIN);
        memcpy(in.tribe, tribes[i].b, STK_GAME_ID_LEN);
        in.damage_bp = bonuses[i % 4][0];
        in.attack_speed_bp = bonuses[i % 4][1];
        in.range_bp = bonuses[i % 4][2];
        in.color = colors[i % 4];
        rc = submit(s, &in);
    }
    if (rc == 0 && s->players > 1) {
        /* Invalid on purpose: the second player may not start the game. */
        stk_game_input_t in = input_for(s, 1, STK_INPUT_START);
        rc = submit(s, &in);
    }
    for (size_t i = 0; rc == 0 && i < s->players; i++) {
        stk_game_input_t in = input_for(s, i, STK_INPUT_READY);
        in.ready = true;
        rc = submit(s, &in);
    }
    if (rc == 0) {
        stk_game_input_t in = input_for(s, 0, STK_INPUT_START);
        rc = submit(s, &in);
    }
    stk_session_wait(s->session);
    return rc != 0 ? rc : stk_session_error(s->session);
}

static int play(sim_t *s)
{
    bool progress = isatty(STDERR_FILENO);
    for (;;) {
        const stk_game_t *g = stk_session_game(s->session);
        stk_game_state_t st = stk_game_state(g);
        if (st == STK_GAME_COMPLETED || st == STK_GAME_ABANDONED) {
            if (progress)
                fprintf(stderr, "\r%60s\r", "");
            return 0;
        }
        if (progress && stk_game_tick(g) % 2000 == 0)
            fprintf(stderr, "\rsimulating: wave %u of %u, tick %" PRIu64 ", %d lives ",
                    stk_game_wave(g), stk_game_wave_count(g), stk_game_tick(g), stk_game_lives(g));
        int rc;
        if (stk_game_tick(g) >= SIM_MAX_TICKS) {
            stk_game_input_t in = input_for(s, 0, STK_INPUT_ABANDON);
            rc = submit(s, &in);
            stk_session_wait(s->session);
            if (rc != 0)
                return rc;
            continue;
        }
        for (size_t i = 0; i < s->players; i++) {
            stk_game_input_t ins[STK_BOTS_MAX_INPUTS];
            size_t n = stk_bots_turn(s->bots, i, g, ins, STK_BOTS_MAX_INPUTS);
            for (size_t k = 0; k < n; k++)
                if ((rc = submit(s, &ins[k])) != 0)
                    return rc;
        }
        stk_session_wait(s->session);
        rc = stk_session_step(s->session, NULL);
        if (rc != 0)
            return rc;
    }
}

typedef struct opts {
    uint64_t seed;
    const char *map;
    size_t players;
    const char *data_dir;
    int json;
} opts_t;

static int parse(int argc, char **argv, opts_t *o)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},    {"map", required_argument, NULL, 'm'},
        {"players", required_argument, NULL, 'p'}, {"data-dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},          {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->players = 2;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-')
                return stk_cli_fail(STK_EXIT_USAGE, "simulate", "--seed: not a number: %s", optarg);
            break;
        case 'm':
            o->map = optarg;
            break;
        case 'p': {
            long k = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || k < 1 || k > STK_GAME_MAX_PLAYERS)
                return stk_cli_fail(STK_EXIT_USAGE, "simulate", "--players must be 1..%d",
                                    STK_GAME_MAX_PLAYERS);
            o->players = (size_t)k;
            break;
        }
        case 'd':
            o->data_dir = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        default:
            return stk_cli_fail(STK_EXIT_USAGE, "simulate", "unknown or incomplete option %s",
                                argv[optind - 1]);
        }
    }
    if (optind < argc)
        return stk_cli_fail(STK_EXIT_USAGE, "simulate", "unexpected argument %s", argv[optind]);
    return STK_EXIT_OK;
}

static void print_result(const opts_t *o, const sim_t *s, const char *map_path)
{
    const stk_game_t *g = stk_session_game(s->session);
    char sid[STK_UUID_STR_LEN + 1];
    stk_uuid_format(stk_session_id(s->session), sid);
    const char *result = stk_game_result_name(stk_game_result(g));
    uint64_t hash = stk_game_hash(g);
    if (o->json) {
        json_t *j = json_object();
        char hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, hash);
        json_object_set_new(j, "session", json_string(sid));
        json_object_set_new(j, "map", json_string(map_path));
        char seed[24];
        snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
        json_object_set_new(j, "seed", json_string(seed)); /* u64: a decimal string */
        json_object_set_new(j, "players", json_integer((json_int_t)s->players));
        json_object_set_new(j, "result", json_string(result));
        json_object_set_new(j, "waves", json_integer(stk_game_waves_cleared(g)));
        json_object_set_new(j, "wave_count", json_integer(stk_game_wave_count(g)));
        json_object_set_new(j, "lives", json_integer(stk_game_lives(g)));
        json_object_set_new(j, "ticks", json_integer((json_int_t)stk_game_tick(g)));
        json_object_set_new(j, "towers", json_integer((json_int_t)stk_game_tower_count(g)));
        json_object_set_new(j, "accepted", json_integer((json_int_t)s->accepted));
        json_object_set_new(j, "refused", json_integer((json_int_t)s->refused));
        json_object_set_new(j, "events",
                            json_integer((json_int_t)stk_session_events_submitted(s->session)));
        json_object_set_new(j, "hash", json_string(hex));
        char *text = json_dumps(j, JSON_COMPACT);
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        json_decref(j);
        return;
    }
    printf("session  %s\n", sid);
    printf("map      %s\n", map_path);
    printf("result   %s\n", result);
    printf("waves    %u of %u cleared, %d lives left, %" PRIu64 " ticks\n",
           stk_game_waves_cleared(g), stk_game_wave_count(g), stk_game_lives(g), stk_game_tick(g));
    printf("inputs   %" PRIu64 " accepted, %" PRIu64 " refused (nothing logged)", s->accepted,
           s->refused);
    for (int r = 1; r < STK_REJECT_COUNT; r++)
        if (s->refused_by[r] > 0)
            printf(" %s=%" PRIu64, stk_reject_name((stk_reject_t)r), s->refused_by[r]);
    printf("\nevents   %" PRIu64 " session events\n", stk_session_events_submitted(s->session));
    printf("hash     %016" PRIx64 "\n", hash);
}

int stk_cmd_simulate(int argc, char **argv)
{
    if (stk_cli_wants_help(argc, argv)) {
        usage(stdout);
        return STK_EXIT_OK;
    }
    opts_t o;
    int code = parse(argc, argv, &o);
    if (code != STK_EXIT_OK)
        return code;
    if (sodium_init() < 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "simulate", "libsodium failed to initialise");

    char map_path[PATH_MAX];
    if (o.map != NULL)
        snprintf(map_path, sizeof map_path, "%s", o.map);
    else if (default_map(map_path, sizeof map_path) != 0)
        return stk_cli_fail(STK_EXIT_RUNTIME, "simulate",
                            "maps/meadow.json not found (give --map FILE)");

    stk_map_doc_t *doc = malloc(sizeof *doc);
    stk_log_t *log = NULL;
    stk_writer_t *w = NULL;
    sim_t s;
    memset(&s, 0, sizeof s);
    s.players = o.players;
    msgpack_sbuffer mp;
    msgpack_sbuffer_init(&mp);
    code = STK_EXIT_RUNTIME;
    if (doc == NULL)
        goto done;
    stk_payload_error_t perr;
    int rc = stk_map_json_load(map_path, doc, &perr);
    if (rc != 0) {
        stk_cli_fail(STK_EXIT_RUNTIME, "simulate", "%s: %s%s%s", map_path,
                     perr.path[0] ? perr.path : "", perr.path[0] ? ": " : "", perr.reason);
        goto done;
    }
    rc = stk_tool_log_open(&log, o.data_dir, 0);
    if (rc != 0) {
        code = stk_tool_log_open_fail("simulate", o.data_dir, rc);
        goto done;
    }
    rc = stk_writer_start(&w, log, NULL);
    if (rc != 0)
        goto fail_rc;

    stk_uuid_t tribes[STK_GAME_MAX_PLAYERS];
    for (size_t i = 0; i < s.players; i++) {
        stk_uuid_t user;
        derive_id(&user, "stockade-sim-user", o.seed, i, NULL, 0);
        derive_id(&tribes[i], "stockade-sim-tribe", o.seed, i, NULL, 0);
        memcpy(s.ids[i], user.b, STK_GAME_ID_LEN);
        if ((rc = register_bot(log, w, o.seed, i, &user, &tribes[i])) != 0)
            goto fail_rc;
    }
    stk_uuid_t host, map_id;
    memcpy(host.b, s.ids[0], STK_UUID_LEN);
    rc = stk_map_json_to_payload(doc, STK_EV_MAP_DRAWN, &host, &mp);
    if (rc != 0)
        goto fail_rc;
    derive_id(&map_id, "stockade-sim-map", o.seed, 0, mp.data, mp.size);
    int exists = 0;
    rc = stream_exists(log, &map_id, &exists);
    if (rc == 0 && !exists)
        rc = append(w, &map_id, STK_EV_MAP_DRAWN, &host, &mp, NULL);
    if (rc != 0)
        goto fail_rc;

    stk_session_open_args_t args;
    memset(&args, 0, sizeof args);
    stk_uuid_random(&args.id);
    args.opener = host;
    args.map_id = map_id;
    args.seed = o.seed;
    args.map_payload = (const uint8_t *)mp.data;
    args.map_len = mp.size;
    rc = stk_session_open(&s.session, w, &args, NULL);
    if (rc == 0) {
        stk_session_wait(s.session); /* inputs are taken once SessionOpened committed */
        rc = stk_session_error(s.session);
    }
    rc = rc ? rc
            : stk_bots_create(&s.bots, (const uint8_t(*)[STK_GAME_ID_LEN])s.ids, s.players,
                              &doc->map, o.seed);
    rc = rc ? rc : lobby(&s, tribes);
    rc = rc ? rc : play(&s);
    if (rc == 0) {
        stk_session_wait(s.session);
        rc = stk_session_error(s.session);
    }
    if (rc != 0)
        goto fail_rc;
    print_result(&o, &s, map_path);
    code = STK_EXIT_OK;
    goto done;
fail_rc:
    code = stk_cli_fail(STK_EXIT_RUNTIME, "simulate", "%s", stk_strerror(rc));
done:
    stk_bots_destroy(s.bots);
    stk_session_close(s.session);
    stk_writer_free(w);
    stk_log_close(log);
    msgpack_sbuffer_destroy(&mp);
    free(doc);
    return code;
}
