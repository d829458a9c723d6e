/* tools/cmd_bots.c — `stockade bots`: a load generator that plays real games against a
 * running `stockade serve` over its REST API and the live WebSocket protocol
 * (docs/live-protocol.md), then audits every finished game.
 *
 * One libuv loop drives every client (non-blocking sockets through tools/bots_net.h; no
 * thread per client). The run:
 *   1. users: register, log in and found a tribe (N distinct bot users, names from the seed
 *      and the time; --users caps N, players of one session are always distinct users);
 *   2. sessions: the host draws the map (POST /v1/maps), opens the session, every player
 *      joins with its tribe (REST), the host reads the session's log so far
 *      (GET /v1/sessions/{id}/events) to build a MIRROR of the game;
 *   3. play: P WebSocket clients per session (JSON, MessagePack, or mixed: by player slot),
 *      hello, ready, the host starts; the host's socket feeds the mirror (every `event`
 *      applied at its tick, every `state` steps it to the server's tick) and the scripted
 *      bots of tools/bots.h decide, on the mirror, what each player sends (place, upgrade,
 *      sell, call_wave, the host's pause/resume, and a few deliberately invalid ops);
 *   4. audit: when a game ends (`end`), its log is fetched again and replayed
 *      (events/replay.h); the replay's final hash must equal the `end` message's hash.
 *
 * Measured: ack latency (op written → its ack read, client side), messages in/out, rejects
 * by code, protocol errors, unexpected disconnects by close code, finished games, hash
 * mismatches. A progress line goes to stderr every second; phase lines ("bots: phase ...")
 * let scripts (bench/bench_live.sh) sample the server at known moments.
 *
 * Session phases:  WAIT_USERS → MAP → OPEN → JOIN → LOG → READY_TO_CONNECT → LIVE → AUDIT
 *                  → DONE;  any step that fails → FAILED (counted; the run goes on).
 * Sockets connect only once every session is set up, so "all connected" is one moment.
 * A game cut by --duration or SIGINT is DONE without an audit (neither failed nor finished).
 *
 * Limits: sessions ≤ MAX_SESSIONS; HTTP requests in flight ≤ HTTP_INFLIGHT (429/503 are
 * retried after Retry-After, 20 times at most); ops in flight per socket ≤ INFLIGHT_OPS/2
 * (the bots skip their turn beyond); latency samples ≤ LAT_MAX; an events log fetched for
 * an audit ≤ EVENTS_BODY_MAX; a received WebSocket message ≤ STK_BNET_WS_MSG_MAX.
 * Environment: STK_BOTS_TRACE (print every message received), STK_BOTS_TEST_CORRUPT_END_HASH
 * (fault injection for tests: flip a bit of each `end` hash, so the audit must fail).
 *
 * Files: this one holds the options, the main flow and the timer (progress, settle, deadline,
 * end of run); tools/bots_session.c the HTTP queue, users and session setup and audit;
 * tools/bots_live.c the mirror and the live protocol; tools/bots_report.c the final report;
 * tools/bots_internal.h the state they share.
 *
 * It is NOT a stress fuzzer (every op is well-formed), and it does not measure the server
 * from the inside (bench/bench_live.sh reads /proc for that). Thread: one (the loop's).
 */
#include "tools/cli.h"
#include "tools/bots_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "core/error.h"
#include "core/game.h"
#include "events/game.h"
#include "events/json.h"

void stk_botrun_log(run_t *r, const char *fmt, ...)
{
    if (r->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bots: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
/* ---- timer: progress, settle, deadline, end of run ---------------------------------------- */

static void stop_all(run_t *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    r->play_t1_ns = now_ns();
    for (size_t i = 0; i < r->n_sessions; i++)
        for (size_t k = 0; k < r->n_players; k++)
            if (r->sessions[i].c[k].ws)
                stk_bnet_ws_close(r->sessions[i].c[k].ws, 1000);
}

static bool all_settled(run_t *r)
{
    if (r->http_inflight || r->queue_head)
        return false;
    for (size_t i = 0; i < r->n_sessions; i++) {
        bsession_t *s = &r->sessions[i];
        for (size_t k = 0; k < r->n_players; k++)
            if (s->c[k].ws)
                return false;
    }
    return true;
}

static void timer_cb(uv_timer_t *t)
{
    run_t *r = t->data;
    uint64_t now = now_ns();
    stk_botrun_queue_pump(r);
    for (size_t i = 0; i < r->n_sessions && r->connecting; i++) {
        bsession_t *s = &r->sessions[i];
        if (s->phase != SP_LIVE)
            continue;
        stk_botrun_maybe_start(s);
        for (size_t k = 0; k < r->n_players; k++) {
            bclient_t *c = &s->c[k];
            opf_t f = {"ready", 2, 0, NULL, true};
            if (c->ready_retry_at && now >= c->ready_retry_at &&
                stk_botrun_send_op(c, STK_LIVE_OP_READY, &f, 1) == 0)
                c->ready_retry_at = 0;
        }
        /* A paused game does not step, so the bots get their turn (the host's resume)
         * from here, at most every half second and with nothing of the host's pending. */
        if (s->g && s->bots && stk_game_state(s->g) == STK_GAME_PAUSED &&
            s->c[0].outstanding == 0 && now >= s->resume_at) {
            s->resume_at = now + 500000000ull;
            stk_botrun_turns(s);
        }
    }
    if (r->settle_stage == 1 && now >= r->settle_until_ns)
        stk_botrun_connect_all(r);
    if (r->connecting && !r->all_connected_said && r->clients_open == r->clients_total) {
        r->all_connected_said = true;
        stk_botrun_say_phase(r, "connected");
    }
    size_t done = 0;
    for (size_t i = 0; i < r->n_sessions; i++)
        done += r->sessions[i].phase >= SP_DONE;
    if (!r->stopping && (done == r->n_sessions || (r->deadline_ns && now >= r->deadline_ns) ||
                         r->users_failed == r->n_users))
        stop_all(r);
    if (++r->ticks % (1000 / TICK_MS) == 0 && !r->quiet) {
        size_t live = 0;
        for (size_t i = 0; i < r->n_sessions; i++)
            live += r->sessions[i].phase == SP_LIVE;
        fprintf(stderr,
                "bots: %4.0fs users %zu/%zu sessions live %zu done %zu failed %" PRIu64
                " | clients %zu | ops %" PRIu64 " acks %" PRIu64 " | in %" PRIu64 "/s out %" PRIu64
                "/s | finished %" PRIu64 " verified %" PRIu64 "\n",
                (double)(now - r->t0_ns) / 1e9, r->users_ready, r->n_users, live, done,
                r->sessions_failed, r->clients_open, r->ops_out, r->acks, r->msgs_in - r->last_in,
                r->msgs_out - r->last_out, r->games_finished, r->games_verified);
        r->last_in = r->msgs_in;
        r->last_out = r->msgs_out;
    }
    if (r->stopping && all_settled(r) && !r->stopped) {
        r->stopped = true;
        uv_timer_stop(&r->timer);
        uv_close((uv_handle_t *)&r->timer, NULL);
        uv_close((uv_handle_t *)&r->sigint, NULL);
    }
}

static void sigint_cb(uv_signal_t *h, int sig)
{
    (void)sig;
    run_t *r = h->data;
    fprintf(stderr, "bots: interrupted; closing\n");
    r->deadline_ns = now_ns();
}
/* ---- command ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: stockade bots [--url URL] [--sessions S] [--players P] [--users N]\n"
        "                     [--protocol json|msgpack|mixed] [--seed N] [--map FILE]\n"
        "                     [--duration SECONDS] [--tick-rate N] [--spread-ips]\n"
        "                     [--settle SECONDS] [--json]\n"
        "\n"
        "Load generator: registers bot users, opens S sessions of P players on a running\n"
        "`stockade serve` and plays real games over WebSocket (scripted bots, tools/bots.h),\n"
        "then replays every finished game from GET /v1/sessions/{id}/events and compares the\n"
        "final hash with the one of the `end` message.\n"
        "\n"
        "  --url URL         server (default http://127.0.0.1:8080)\n"
        "  --sessions S      sessions (default 1, at most %d)\n"
        "  --players P       players per session, 1..4 (default 4)\n"
        "  --users N         distinct bot users (default S*P, at least P); players of one\n"
        "                    session are distinct users\n"
        "  --protocol MODE   json, msgpack, or mixed (player slots alternate; default mixed)\n"
        "  --seed N          names and bot choices (default: the time)\n"
        "  --map FILE        contract map JSON (default maps/meadow.json)\n"
        "  --duration SECS   stop this long after the start (setup included), even if\n"
        "                    games are still running (they are then neither failed nor audited)\n"
        "  --tick-rate N     ask for sessions at N ticks per second (default: the server's)\n"
        "  --spread-ips      each user connects from its own loopback address 127.1.x.y (so a\n"
        "                    per-IP rate limit applies per simulated player; loopback only)\n"
        "  --settle SECS     wait between setup and connecting, printing \"bots: phase\n"
        "                    setup-done\" (a script samples the idle server meanwhile)\n"
        "  --json            print the report as one JSON object\n"
        "\n"
        "Measures ack latency (op sent -> ack read) p50/p99/p999, messages/s, rejects by code,\n"
        "protocol errors, disconnects, finished games. Progress on stderr every second.\n"
        "Exit: 0 all good; 1 a hash mismatch or a failed session; 2 usage; 3 runtime error.\n",
        MAX_SESSIONS);
}

/* The map file: --map, else maps/meadow.json, $STOCKADE_MAPS_DIR/meadow.json, then
 * ../maps/meadow.json next to the executable (as `stockade simulate` looks). */
static int read_map(run_t *r, const char *path)
{
    char tries[3][1100] = {{0}};
    if (path) {
        snprintf(tries[0], sizeof tries[0], "%s", path);
    } else {
        snprintf(tries[0], sizeof tries[0], "maps/meadow.json");
        const char *dir = getenv("STOCKADE_MAPS_DIR");
        if (dir)
            snprintf(tries[1], sizeof tries[1], "%s/meadow.json", dir);
        char exe[1024];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = '\0';
            snprintf(tries[2], sizeof tries[2], "%s/../maps/meadow.json", exe);
        }
    }
    for (int i = 0; i < 3; i++) {
        FILE *f = tries[i][0] ? fopen(tries[i], "r") : NULL;
        if (!f)
            continue;
        size_t n = fread(r->map_json, 1, sizeof r->map_json - 1, f);
        bool big = !feof(f);
        fclose(f);
        if (big)
            return STK_ETOOBIG;
        r->map_json[n] = '\0';
        return 0;
    }
    return STK_ENOTFOUND;
}

static bool parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return false;
    *out = (size_t)v;
    return true;
}

int stk_cmd_bots(int argc, char **argv)
{
    if (stk_cli_wants_help(argc, argv)) {
        usage(stdout);
        return STK_EXIT_OK;
    }
    run_t *r = calloc(1, sizeof *r);
    if (!r)
        return stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
    const char *url = "http://127.0.0.1:8080", *map = NULL;
    r->n_sessions = 1;
    r->n_players = 4;
    r->mode = MODE_MIXED;
    r->seed = (uint64_t)time(NULL);
    r->trace = getenv("STK_BOTS_TRACE") != NULL; /* every message received, on stderr */
    /* Test hook: proves the audit catches a live hash that differs from the replay's. */
    r->corrupt_end = getenv("STK_BOTS_TEST_CORRUPT_END_HASH") != NULL;
    int code = STK_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t n;
        if (strcmp(a, "--json") == 0) {
            r->json = true;
            continue;
        }
        if (strcmp(a, "--spread-ips") == 0) {
            r->spread = true;
            continue;
        }
        if (!v) {
            stk_cli_fail(STK_EXIT_USAGE, CMD, "unknown or incomplete option '%s'", a);
            goto out;
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--sessions") == 0 && parse_size(v, 1, MAX_SESSIONS, &n)) {
            r->n_sessions = n;
        } else if (strcmp(a, "--players") == 0 && parse_size(v, 1, MAX_PLAYERS, &n)) {
            r->n_players = n;
        } else if (strcmp(a, "--users") == 0 && parse_size(v, 1, MAX_SESSIONS * MAX_PLAYERS, &n)) {
            r->n_users = n;
        } else if (strcmp(a, "--seed") == 0 && parse_size(v, 0, SIZE_MAX, &n)) {
            r->seed = n;
        } else if (strcmp(a, "--tick-rate") == 0 && parse_size(v, 1, 1000, &n)) {
            r->tick_rate = n;
        } else if (strcmp(a, "--map") == 0) {
            map = v;
        } else if (strcmp(a, "--protocol") == 0 &&
                   (strcmp(v, "json") == 0 || strcmp(v, "msgpack") == 0 ||
                    strcmp(v, "mixed") == 0)) {
            r->mode = v[0] == 'j' ? MODE_JSON : v[1] == 's' ? MODE_MSGPACK : MODE_MIXED;
        } else if (strcmp(a, "--duration") == 0 && atof(v) > 0) {
            r->duration = atof(v);
        } else if (strcmp(a, "--settle") == 0 && atof(v) >= 0) {
            r->settle = atof(v);
        } else {
            stk_cli_fail(STK_EXIT_USAGE, CMD, "bad option '%s %s'", a, v);
            goto out;
        }
    }
    if (r->n_users == 0)
        r->n_users = r->n_sessions * r->n_players;
    if (r->n_users < r->n_players) {
        stk_cli_fail(STK_EXIT_USAGE, CMD, "--users must be at least --players");
        goto out;
    }
    if (stk_bnet_target_parse(url, &r->target) != 0) {
        stk_cli_fail(STK_EXIT_USAGE, CMD, "bad --url '%s' (http://IPV4:PORT)", url);
        goto out;
    }
    code = STK_EXIT_RUNTIME;
    int rc = read_map(r, map);
    if (rc) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "map %s: %s", map ? map : "maps/meadow.json",
                     stk_strerror(rc));
        goto out;
    }
    r->users = calloc(r->n_users, sizeof *r->users);
    r->sessions = calloc(r->n_sessions, sizeof *r->sessions);
    r->lat_us = malloc(sizeof *r->lat_us * LAT_MAX);
    if (!r->users || !r->sessions || !r->lat_us) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "out of memory");
        goto out;
    }
    /* Names: unique per run from the seed and the time. */
    uint64_t tag = (r->seed * 0x9E3779B97F4A7C15ull) ^ (uint64_t)time(NULL) ^ uv_hrtime();
    for (size_t i = 0; i < r->n_users; i++) {
        buser_t *u = &r->users[i];
        u->run = r;
        u->idx = i;
        snprintf(u->name, sizeof u->name, "bot%08" PRIx64 "_%zu", tag & 0xffffffffu, i);
        u->target = r->target;
        if (r->spread) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&u->target.src;
            char ip[32];
            snprintf(ip, sizeof ip, "127.1.%zu.%zu", (i / 254) % 256, i % 254 + 1);
            uv_ip4_addr(ip, 0, sin);
        }
    }
    for (size_t i = 0; i < r->n_sessions; i++) {
        bsession_t *s = &r->sessions[i];
        s->run = r;
        s->idx = i;
        for (size_t k = 0; k < r->n_players; k++) {
            bclient_t *c = &s->c[k];
            c->s = s;
            c->slot = k;
            c->u = &r->users[(i * r->n_players + k) % r->n_users];
            c->fmt = r->mode == MODE_JSON      ? STK_LIVE_JSON
                     : r->mode == MODE_MSGPACK ? STK_LIVE_MSGPACK
                     : (k + i) % 2             ? STK_LIVE_MSGPACK
                                               : STK_LIVE_JSON;
            c->player = -1;
        }
        for (size_t k = 0; k < MAX_PLAYERS; k++)
            s->bot_client[k] = -1;
    }
    r->clients_total = r->n_sessions * r->n_players;
    /* One descriptor per client plus the setup requests: raise the soft limit to the hard
     * one so that 1,000 clients do not meet the usual default of 1024. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (uv_loop_init(&r->loop) != 0 || stk_bnet_create(&r->loop, &r->net) != 0) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "event loop");
        goto out;
    }
    uv_timer_init(&r->loop, &r->timer);
    r->timer.data = r;
    uv_signal_init(&r->loop, &r->sigint);
    r->sigint.data = r;
    uv_signal_start(&r->sigint, sigint_cb, SIGINT);
    r->t0_ns = now_ns();
    if (r->duration > 0)
        r->deadline_ns = r->t0_ns + (uint64_t)(r->duration * 1e9);
    stk_botrun_log(r, "%zu users, %zu sessions x %zu players against %s", r->n_users, r->n_sessions,
                   r->n_players, r->target.host);
    for (size_t i = 0; i < r->n_users; i++)
        stk_botrun_user_start(&r->users[i]);
    uv_timer_start(&r->timer, timer_cb, TICK_MS, TICK_MS);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (!r->play_t0_ns)
        r->play_t0_ns = r->t0_ns;
    code = stk_botrun_report(r);
    if (r->users_failed == r->n_users) {
        stk_cli_fail(STK_EXIT_RUNTIME, CMD, "no bot user could be set up");
        code = STK_EXIT_RUNTIME;
    }
out:
    if (r->net) {
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_loop_close(&r->loop);
        stk_bnet_destroy(r->net);
    }
    if (r->sessions)
        for (size_t i = 0; i < r->n_sessions; i++)
            stk_botrun_mirror_free(&r->sessions[i]);
    while (r->queue_head) {
        hjob_t *j = r->queue_head;
        r->queue_head = j->next;
        free(j->body);
        free(j);
    }
    free(r->users);
    free(r->sessions);
    free(r->lat_us);
    free(r);
    return code;
}
