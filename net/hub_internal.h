/* net/hub_internal.h — structures shared by net/hub.c (sessions, scheduler, broadcasts)
 * and net/hub_client.c (one live socket's protocol). Not a public header: nothing outside
 * the hub includes it. Loop thread only.
 */
#ifndef STK_NET_HUB_INTERNAL_H
#define STK_NET_HUB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>
#include <uv.h>

#include "events/game.h"
#include "net/hub.h"
#include "net/live_codec.h"

#define HUB_SEEN_MAX         8
#define HUB_STATE_SKIP_BYTES (256u * 1024u) /* a socket this far behind skips `state` */
#define HUB_AUTH_TIMEOUT_NS  (10ull * 1000000000ull)
#define HUB_OPS_PER_S        20.0
#define HUB_OPS_BURST        40.0

typedef struct hsess hsess_t;
typedef struct hclient hclient_t;

/* One input in flight: answered to a socket (client_id, ref) or to a callback. */
typedef struct hack {
    struct hack *next;
    hsess_t *sess;
    int status;
    uint64_t seq, tick;
    uint64_t client_id; /* 0: none */
    stk_live_ref_t ref;
    stk_hub_ack_cb cb; /* NULL: a socket's op (or a server input when client_id is 0) */
    void *ud;
} hack_t;

typedef enum hphase {
    C_AUTH = 0,      /* waiting for {"op":"auth"} */
    C_HELLO = 1,     /* authenticated, waiting for hello */
    C_HELLO_PENDING, /* hello received; welcome once the session is quiet */
    C_LIVE,          /* welcomed: receives events, may send ops */
    C_CLOSING,       /* close sent; waiting for on_close */
} hphase_t;

struct hclient {
    hclient_t *next;
    hsess_t *sess;
    stk_hub_t *hub;
    stk_ws_t *ws;
    uint64_t id;
    stk_live_format_t fmt;
    hphase_t phase;
    stk_uuid_t user;
    bool spectator;
    stk_live_ref_t hello_ref;
    bool has_last_seq;
    uint64_t last_seq;
    uint64_t opened_ns;
    double tokens;
    uint64_t tokens_ns;
};

struct hsess {
    hsess_t *next;
    stk_hub_t *hub;
    stk_session_t *s; /* NULL once closed (hub stopping) */
    stk_uuid_t id;
    stk_uuid_t map_id;
    hclient_t *clients;
    size_t n_clients;
    uint64_t bcast_version, bcast_seq; /* last event sent to live sockets */
    uint64_t max_acked_seq;            /* highest input seq acked by a poll */
    hack_t *done_head, *done_tail;     /* acked, waiting for their broadcast */
    stk_hub_open_cb open_cb;           /* an open waiting for SessionOpened's commit */
    void *open_ud;
    bool clock_running;
    uint64_t base_ns, base_tick;
    uint64_t next_state_ns;
    int last_state;
    uint64_t gone_since_ns;
    bool end_ready, end_sent;
    uint64_t final_since_ns;
    bool dead;                                /* failed: closing its sockets, then unloaded */
    uint8_t seen[HUB_SEEN_MAX][STK_UUID_LEN]; /* players who had a socket (or were loaded) */
    size_t n_seen;
};

struct stk_hub {
    stk_app_t *app;
    uv_timer_t timer;
    uv_async_t async;
    int handles_open;    /* uv handles not yet closed */
    bool free_requested; /* stk_hub_free ran: the last close callback frees */
    bool stopping;
    bool polls_wanted;
    hsess_t *sessions;
    size_t n_sessions;
    size_t rr;
    uint32_t abandon_ms;
    uint32_t state_hz;
    uint64_t next_client_id;
    uint64_t loads;
    uint64_t load_failures;
    stk_metric_t *m_sessions, *m_clients, *m_tick, *m_rejects, *m_acks;
};

/* hub.c */
void hub_send(hclient_t *c, const stk_live_buf_t *b);
void hub_close_client(hclient_t *c, int code, const char *reason);
void hub_count_reject(stk_hub_t *h, const char *code);
void hub_seen_add(hsess_t *s, const uint8_t id[STK_UUID_LEN]);
int hub_submit(hsess_t *s, const stk_game_input_t *in, stk_reject_t *why, hack_t *a);
hsess_t *hub_find(stk_hub_t *h, const stk_uuid_t *id);
int hub_get(stk_hub_t *h, const stk_uuid_t *id, hsess_t **out);
void hub_kick(stk_hub_t *h);
/* hub_client.c */
void hub_client_timeouts(hsess_t *s, uint64_t now_ns);

#endif
