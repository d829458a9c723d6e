/* bench/peer_http_libuv.c — the peer of the HTTP benchmark in bench/bench_live.sh: the
 * smallest useful libuv HTTP/1.1 server. It answers every request with the same fixed
 * `200 OK` (a short JSON body, keep-alive), on one loop, as fast as libuv allows. It parses
 * nothing but the end of each request head ("\r\n\r\n"; requests with bodies are not
 * supported), so `stockade serve`'s figure next to it shows what routing, auth, the write
 * model read and JSON cost on top of the raw socket work.
 *
 * It is NOT a benchmark itself (not named bench_*, so bench/run does not run it) and not a
 * server anyone should use.
 *
 * Usage: peer_http_libuv [HOST:PORT]   (default 127.0.0.1:0) — prints
 * "listening on http://HOST:PORT" and serves until SIGTERM/SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

static const char answer[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: 16\r\n"
                             "\r\n"
                             "{\"status\":\"ok\"}\n";

typedef struct conn {
    uv_tcp_t tcp;
    int matched; /* bytes of "\r\n\r\n" matched so far, across reads */
} conn_t;

typedef struct wreq {
    uv_write_t req;
    char data[];
} wreq_t;

static char rbuf[65536];

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = rbuf;
    buf->len = sizeof rbuf;
}

static void free_cb(uv_handle_t *h)
{
    free(h);
}

static void write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = (conn_t *)s;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, free_cb);
        return;
    }
    static const char end[] = "\r\n\r\n";
    size_t n = 0;
    for (ssize_t i = 0; i < nread; i++) {
        char ch = buf->base[i];
        if (ch == end[c->matched]) {
            if (++c->matched == 4) {
                n++;
                c->matched = 0;
            }
        } else {
            c->matched = ch == '\r' ? 1 : 0;
        }
    }
    if (n == 0)
        return;
    size_t len = (sizeof answer - 1) * n;
    wreq_t *w = malloc(sizeof *w + len);
    if (!w) {
        uv_close((uv_handle_t *)s, free_cb);
        return;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(w->data + i * (sizeof answer - 1), answer, sizeof answer - 1);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, s, &b, 1, write_cb) != 0) {
        free(w);
        uv_close((uv_handle_t *)s, free_cb);
    }
}

static void accept_cb(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, free_cb);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h->data == NULL ? free_cb : NULL);
}

static void signal_cb(uv_signal_t *h, int sig)
{
    (void)sig;
    uv_stop(h->loop);
}

int main(int argc, char **argv)
{
    char host[64] = "127.0.0.1";
    int port = 0;
    if (argc > 1) {
        const char *colon = strrchr(argv[1], ':');
        if (!colon || (size_t)(colon - argv[1]) >= sizeof host) {
            fprintf(stderr, "usage: peer_http_libuv [HOST:PORT]\n");
            return 2;
        }
        memcpy(host, argv[1], (size_t)(colon - argv[1]));
        host[colon - argv[1]] = '\0';
        port = atoi(colon + 1);
    }
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    if (uv_ip4_addr(host, port, &addr) != 0 || uv_tcp_init(loop, &server) != 0 ||
        uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 1024, accept_cb) != 0) {
        fprintf(stderr, "peer_http_libuv: cannot listen on %s:%d\n", host, port);
        return 3;
    }
    server.data = &server; /* not freed by walk_close */
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
    printf("listening on http://%s:%d\n", host, ntohs(bound.sin_port));
    fflush(stdout);
    uv_signal_t sterm, sint;
    uv_signal_init(loop, &sterm);
    uv_signal_init(loop, &sint);
    sterm.data = sint.data = &sterm;
    uv_signal_start(&sterm, signal_cb, SIGTERM);
    uv_signal_start(&sint, signal_cb, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_walk(loop, walk_close, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return 0;
}
