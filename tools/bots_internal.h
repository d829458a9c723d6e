/* tools/bots_internal.h — private declarations shared by the `stockade bots` sources.
 *
 * NOT a public header: only tools/cmd_bots.c (options, main flow, timer), tools/bots_session.c
 * (HTTP queue, users, session setup and audit), tools/bots_live.c (the mirror and the live
 * protocol) and tools/bots_report.c (the final report) include it. It holds the run's state
 * (run_t and what hangs off it), its limits, and the functions one of those files calls in
 * another. Everything here runs on the run's one libuv loop thread; nothing is thread-safe.
 */
#ifndef STK_TOOLS_BOTS_INTERNAL_H
#define STK_TOOLS_BOTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/game.h"
#include "events/envelope.h"
#include "net/live_codec.h"
#include "tools/bots.h"
#include "tools/bots_net.h"

#define CMD             "bots"
#define MAX_SESSIONS    10000
#define MAX_PLAYERS     STK_GAME_MAX_PLAYERS
#define HTTP_BODY_MAX   (1u << 20)
#define EVENTS_BODY_MAX (256u << 20)
#define HTTP_INFLIGHT   16                   /* concurrent setup requests */
#define INFLIGHT_OPS    64                   /* per client: ops sent and not answered (ring) */
#define LAT_MAX         (4u * 1000u * 1000u) /* ack latencies kept (16 MiB) */
#define TICK_MS         100
#define PASSWORD        "Bot-pass-9xQ!"

/* ---- run state -------------------------------------------------------------------------- */

typedef enum proto_mode { MODE_JSON, MODE_MSGPACK, MODE_MIXED } proto_mode_t;

typedef struct run run_t;
typedef struct bsession bsession_t;

typedef struct buser {
    run_t *run;
    size_t idx;
    char name[48];
    char token[2048];
    char id[STK_UUID_STR_LEN + 1];
    stk_uuid_t uuid;
    char tribe[STK_UUID_STR_LEN + 1];
    stk_bnet_target_t target;
    bool ready;
} buser_t;

typedef struct inflight {
    uint64_t ref;
    uint64_t t_ns;
    int kind; /* stk_live_op_t */
    bool used;
} inflight_t;

typedef struct bclient {
    bsession_t *s;
    size_t slot; /* 0..P-1; slot 0 is the host and the mirror's feeder */
    buser_t *u;
    stk_live_format_t fmt;
    stk_bnet_ws_t *ws;
    bool open, welcomed, ended, closed;
    int player; /* join index (welcome) */
    uint64_t next_ref;
    inflight_t fl[INFLIGHT_OPS];
    size_t outstanding;
    uint64_t end_hash;
    bool has_end_hash;
    uint64_t ready_retry_at; /* resend `ready` at this time (0: no) */
} bclient_t;

typedef enum sphase {
    SP_WAIT_USERS,
    SP_MAP,
    SP_OPEN,
    SP_JOIN,
    SP_LOG,
    SP_READY_TO_CONNECT,
    SP_LIVE,
    SP_AUDIT,
    SP_DONE,
    SP_FAILED,
} sphase_t;

struct bsession {
    run_t *run;
    size_t idx;
    sphase_t phase;
    char id[STK_UUID_STR_LEN + 1];
    stk_uuid_t uuid;
    char map_id[STK_UUID_STR_LEN + 1];
    size_t joined;
    bclient_t c[MAX_PLAYERS];
    /* the mirror */
    stk_map_t *map;
    stk_game_t *g;
    stk_bots_t *bots;
    int bot_client[MAX_PLAYERS]; /* join index → client slot */
    bool mirror_dead, start_sent;
    uint64_t last_seq, start_retry_at, resume_at;
    /* the end */
    bool got_end;
    uint64_t end_hash;
    char result[16];
    bool verified, mismatch;
    char why[200];
};

typedef struct hjob {
    run_t *run;
    const stk_bnet_target_t *target;
    char method[8];
    char path[160];
    const char *token;
    char *body;
    size_t max;
    void (*done)(void *ud, int status, const char *body, size_t len);
    void *ud;
    uint64_t not_before_ns;
    int tries;
    struct hjob *next;
} hjob_t;

typedef struct rej {
    char code[48];
    uint64_t n;
} rej_t;

struct run {
    uv_loop_t loop;
    uv_timer_t timer;
    uv_signal_t sigint;
    stk_bnet_t *net;
    stk_bnet_target_t target;
    /* options */
    size_t n_sessions, n_players, n_users, tick_rate;
    proto_mode_t mode;
    uint64_t seed;
    double duration;
    bool json, spread, quiet, trace;
    bool corrupt_end; /* fault injection for tests: flip a bit of every `end` hash */
    double settle;
    char map_json[1 << 17];
    /* state */
    buser_t *users;
    bsession_t *sessions;
    size_t users_ready, users_failed;
    hjob_t *queue_head, *queue_tail;
    size_t http_inflight;
    uint64_t t0_ns, deadline_ns, settle_until_ns, play_t0_ns, play_t1_ns;
    int settle_stage; /* 0 setting up, 1 settling (set up, nothing connected), 2 connecting */
    bool connecting, stopping, stopped, all_connected_said;
    size_t clients_open, clients_total;
    /* stats */
    uint32_t *lat_us;
    size_t n_lat;
    uint64_t ops_out, msgs_in, msgs_out, bytes_in, bytes_out, acks, events_in, states_in;
    uint64_t proto_errors, disconnects, http_errors, mirror_errors, missing_end;
    uint64_t games_finished, games_verified, mismatches, sessions_failed;
    uint64_t close_codes[5000];
    rej_t rejects[64];
    size_t n_rejects;
    uint64_t last_in, last_out, ticks, said_429;
};

/* One field of an op sent on the live protocol (stk_botrun_send_op()). */
typedef struct opf {
    const char *key;
    int kind; /* 0 uint, 1 str, 2 bool */
    uint64_t u;
    const char *s;
    bool b;
} opf_t;

static inline uint64_t now_ns(void)
{
    return uv_hrtime();
}

/* ---- cmd_bots.c ---- */

/* Print "bots: <message>" on stderr unless --quiet. */
void stk_botrun_log(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- bots_session.c: HTTP queue, users, sessions ---- */

/* Queue an HTTP request (at most HTTP_INFLIGHT in flight; 429/503 retried). body is taken
 * (freed by the queue), token and t are borrowed until done runs; done runs exactly once. */
void stk_botrun_http(run_t *r, const stk_bnet_target_t *t, const char *method, const char *path,
                     const char *token, char *body, size_t max,
                     void (*done)(void *, int, const char *, size_t), void *ud);
/* Start the queued requests whose time has come, up to HTTP_INFLIGHT. */
void stk_botrun_queue_pump(run_t *r);
/* Register, log in and found a tribe for user u. */
void stk_botrun_user_start(buser_t *u);
/* Mark session s FAILED (counted) with a reason, unless it is already DONE or FAILED. */
void stk_botrun_session_fail(bsession_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fetch the finished game's log, replay it and compare the hash with the `end` message's. */
void stk_botrun_session_audit(bsession_t *s);
/* Print the "bots: phase <name>" line scripts wait for. */
void stk_botrun_say_phase(run_t *r, const char *phase);
/* Connect the WebSocket clients of every session that is set up. */
void stk_botrun_connect_all(run_t *r);

/* ---- bots_live.c: the mirror and the live protocol ---- */

/* Free session s's mirror (game, map, bots). Safe to call twice. */
void stk_botrun_mirror_free(bsession_t *s);
/* Apply one event of the session's log to the mirror (stepping it to the event's tick). */
void stk_botrun_mirror_feed(bsession_t *s, const stk_envelope_t *e);
/* Send op kind with fields f[0..nf) on client c. Returns 0, or non-zero when c cannot send
 * (closed, ended, too many ops in flight) or the message could not be built. */
int stk_botrun_send_op(bclient_t *c, stk_live_op_t kind, const opf_t *f, size_t nf);
/* Let the scripted bots of session s play their turn on the mirror. */
void stk_botrun_turns(bsession_t *s);
/* The host sends `start` once every player is ready (retried on the timer). */
void stk_botrun_maybe_start(bsession_t *s);
/* Open client c's WebSocket to the server. */
void stk_botrun_client_connect(bclient_t *c);

/* ---- bots_report.c ---- */

/* Print the final report (text or --json on stdout). Returns the command's exit code. */
int stk_botrun_report(run_t *r);

#endif /* STK_TOOLS_BOTS_INTERNAL_H */
