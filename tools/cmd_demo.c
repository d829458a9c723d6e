/* tools/cmd_demo.c — `stockade demo`: the event log at work, end to end.
 *
 * Producer threads (players, as the live server will have them) register users — each
 * username claimed in the write model's unique index in the same transaction as its event —
 * found and retune tribes, and log in, all through the one group-commit writer. Every
 * producer waits for its own acknowledgement (which comes only after the LMDB commit)
 * before its next command, like a client would. Afterwards the whole log is verified
 * (chain, stream index, decoding) and its statistics printed.
 *
 * It is a demonstration and a smoke test of the write path, not a benchmark (bench/ has
 * those); it prints what it did and how long it took.
 */
#include "tools/cli.h"
#include "tools/log_open.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "events/log.h"
#include "events/payload.h"
#include "events/types.h"
#include "events/writer.h"

#define DEMO_MAX_PRODUCERS 256

struct producer {
    pthread_t thread;
    stk_writer_t *writer;
    unsigned index;
    unsigned users;
    uint64_t run_id;
    uint64_t events;
    uint64_t refused; /* commands the log refused (duplicate username: expected) */
    int error;
};

static const char *const archetypes[] = {"Aggressive", "Defensive", "Balanced", "Support"};

static int build_user(msgpack_sbuffer *sb, const char *username)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    uint8_t sealed[48];
    memset(sealed, 0xA5, sizeof(sealed)); /* stands in for sealed personal data */
    msgpack_pack_map(&pk, 3);
    int rc = stk_payload_put_cstr(&pk, "username", username);
    rc = rc ? rc : stk_payload_put_bin(&pk, "email", sealed, sizeof(sealed));
    rc = rc ? rc : stk_payload_put_bin(&pk, "password_hash", sealed, sizeof(sealed));
    return rc;
}

static int build_tribe(msgpack_sbuffer *sb, const stk_uuid_t *user, int with_user, unsigned k)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    unsigned dmg = (k * 500u) % 5001u, spd = (5000u - dmg) / 2u, rng = 5000u - dmg - spd;
    char name[32], color[8];
    snprintf(name, sizeof(name), "Tribe %u", k);
    snprintf(color, sizeof(color), "#%06X", (k * 2654435761u) & 0xFFFFFFu);
    msgpack_pack_map(&pk, with_user ? 7 : 6);
    int rc = with_user ? stk_payload_put_uuid(&pk, "user_id", user) : 0;
    rc = rc ? rc : stk_payload_put_cstr(&pk, "name", name);
    rc = rc ? rc : stk_payload_put_cstr(&pk, "archetype", archetypes[k % 4]);
    rc = rc ? rc : stk_payload_put_uint(&pk, "damage_bp", dmg);
    rc = rc ? rc : stk_payload_put_uint(&pk, "attack_speed_bp", spd);
    rc = rc ? rc : stk_payload_put_uint(&pk, "range_bp", rng);
    rc = rc ? rc : stk_payload_put_cstr(&pk, "color", color);
    return rc;
}

static int append_one(struct producer *p, const stk_append_t *item)
{
    stk_append_result_t res;
    int rc = stk_writer_append_wait(p->writer, item, 1, &res);
    if (rc == 0)
        p->events++;
    return rc;
}

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (unsigned u = 0; u < p->users && p->error == 0; u++) {
        stk_uuid_t user, tribe;
        stk_uuid_random(&user);
        stk_uuid_random(&tribe);
        char username[40];
        /* Every 10th user tries a name another producer also registers: exactly one wins. */
        if (u % 10 == 9)
            snprintf(username, sizeof(username), "contested_%" PRIx64 "_%u", p->run_id, u);
        else
            snprintf(username, sizeof(username), "player_%" PRIx64 "_%u_%u", p->run_id, p->index,
                     u);
        stk_unique_op_t claim = {.index = "username",
                                 .value = (const uint8_t *)username,
                                 .value_len = strlen(username),
                                 .owner = user};
        msgpack_sbuffer_clear(&sb);
        int rc = build_user(&sb, username);
        stk_append_t item = {.stream = user,
                             .type = STK_EV_USER_REGISTERED,
                             .schema = 1,
                             .actor = user,
                             .payload = (const uint8_t *)sb.data,
                             .payload_len = sb.size,
                             .expected_version = STK_VERSION_NONE,
                             .unique = &claim,
                             .n_unique = 1};
        rc = rc ? rc : append_one(p, &item);
        if (rc == STK_EEXIST) {
            p->refused++;
            continue;
        }
        if (rc != 0) {
            p->error = rc;
            break;
        }
        unsigned k = p->index * 7919u + u;
        msgpack_sbuffer_clear(&sb);
        rc = build_tribe(&sb, &user, 1, k);
        stk_append_t founded = {.stream = tribe,
                                .type = STK_EV_TRIBE_FOUNDED,
                                .schema = 1,
                                .actor = user,
                                .payload = (const uint8_t *)sb.data,
                                .payload_len = sb.size,
                                .expected_version = STK_VERSION_NONE};
        rc = rc ? rc : append_one(p, &founded);
        msgpack_sbuffer_clear(&sb);
        rc = rc ? rc : build_tribe(&sb, &user, 0, k + 1);
        stk_append_t updated = founded;
        updated.type = STK_EV_TRIBE_UPDATED;
        updated.payload = (const uint8_t *)sb.data;
        updated.payload_len = sb.size;
        updated.expected_version = 1;
        rc = rc ? rc : append_one(p, &updated);
        static const uint8_t empty_map = 0x80; /* MessagePack {} */
        stk_append_t login = {.stream = user,
                              .type = STK_EV_USER_LOGGED_IN,
                              .schema = 1,
                              .actor = user,
                              .payload = &empty_map,
                              .payload_len = 1,
                              .expected_version = STK_VERSION_ANY};
        rc = rc ? rc : append_one(p, &login);
        if (rc != 0)
            p->error = rc;
    }
    msgpack_sbuffer_destroy(&sb);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: stockade demo [--data-dir DIR] [--producers N] [--users N]\n"
               "  N producer threads (default 64) each register --users users (default 50),\n"
               "  found and retune a tribe for each and log them in, through the group-commit\n"
               "  writer into DIR/log; then verify the whole log and print its stats.\n"
               "exit codes: 0 ok, 1 the log did not verify, 2 usage, 3 could not run\n");
}

int stk_cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                         {"producers", required_argument, NULL, 'p'},
                                         {"users", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data_dir = NULL;
    long producers = 64, users = 50;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'p':
        case 'u': {
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1 || v > (c == 'p' ? DEMO_MAX_PRODUCERS : 1000000))
                return stk_cli_fail(STK_EXIT_USAGE, "demo", "bad value for --%s: %s",
                                    c == 'p' ? "producers" : "users", optarg);
            *(c == 'p' ? &producers : &users) = v;
            break;
        }
        case 'h':
            usage(stdout);
            return STK_EXIT_OK;
        default:
            usage(stderr);
            return STK_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return STK_EXIT_USAGE;
    }
    stk_log_t *log = NULL;
    int rc = stk_tool_log_open(&log, data_dir, 0);
    if (rc != 0)
        return stk_tool_log_open_fail("demo", data_dir, rc);
    stk_writer_t *w = NULL;
    rc = stk_writer_start(&w, log, NULL);
    if (rc != 0) {
        stk_log_close(log);
        return stk_cli_fail(STK_EXIT_RUNTIME, "demo", "writer: %s", stk_strerror(rc));
    }
    uint64_t run_id = (uint64_t)time(NULL);
    printf("demo: %ld producers x %ld users through the group-commit writer into %s\n", producers,
           users, stk_log_dir(log));
    struct producer *ps = calloc((size_t)producers, sizeof(*ps));
    if (ps == NULL) {
        stk_writer_free(w);
        stk_log_close(log);
        return stk_cli_fail(STK_EXIT_RUNTIME, "demo", "out of memory");
    }
    double t0 = now_s();
    long started = 0;
    for (long i = 0; i < producers; i++) {
        ps[i] = (struct producer){
            .writer = w, .index = (unsigned)i, .users = (unsigned)users, .run_id = run_id};
        if (pthread_create(&ps[i].thread, NULL, producer_main, &ps[i]) != 0)
            break;
        started++;
    }
    uint64_t events = 0, refused = 0;
    int error = started == producers ? 0 : STK_EIO;
    for (long i = 0; i < started; i++) {
        pthread_join(ps[i].thread, NULL);
        events += ps[i].events;
        refused += ps[i].refused;
        if (ps[i].error != 0 && error == 0)
            error = ps[i].error;
    }
    double elapsed = now_s() - t0;
    free(ps);
    stk_writer_stats_t ws;
    stk_writer_stats(w, &ws);
    stk_writer_free(w);
    if (error != 0) {
        stk_log_close(log);
        return stk_cli_fail(STK_EXIT_RUNTIME, "demo", "append failed: %s", stk_strerror(error));
    }
    printf("appended %" PRIu64 " events in %.2f s (%.0f events/s), %" PRIu64
           " durable commits (%.1f events per fsync, largest group %" PRIu64 " batches)\n",
           events, elapsed, (double)events / elapsed, ws.commits,
           ws.commits ? (double)ws.events / (double)ws.commits : 0.0, ws.max_group);
    printf("refused %" PRIu64 " duplicate usernames (write-model unique index)\n", refused);

    stk_log_verify_report_t r;
    memset(&r, 0, sizeof(r));
    t0 = now_s();
    rc = stk_log_verify(log, &r);
    if (rc != 0) {
        stk_log_close(log);
        return stk_cli_fail(STK_EXIT_FAIL, "demo", "verify: first bad seq %" PRIu64 ": %s",
                            r.bad_seq, r.detail);
    }
    printf("verified %" PRIu64 " events in %.2f s: chain intact, stream index consistent\n",
           r.events, now_s() - t0);
    stk_log_stats_t st;
    rc = stk_log_stats(log, &st);
    if (rc == 0)
        printf("log: head seq %" PRIu64 ", %" PRIu64 " streams, %" PRIu64
               " unique keys, %.1f MiB used\n",
               st.head_seq, st.streams, st.unique, (double)st.used_size / (1 << 20));
    stk_log_close(log);
    return rc == 0 ? STK_EXIT_OK : STK_EXIT_RUNTIME;
}
