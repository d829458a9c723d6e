/* net/http.c — HTTP/1.1 request parsing on llhttp and response building.
 *
 * The parser keeps one request under construction. Request line and header bytes go into
 * one growing buffer bounded by max_header_bytes (offsets while it grows, pointers once
 * the header section is complete); the body goes into a second buffer bounded by
 * max_body_bytes. on_message_complete pauses llhttp so that a feed returns one request at
 * a time and the caller learns exactly where the next one (or upgrade data) begins.
 *
 * Invariants: p->cur is NULL outside a message; a FAILED parser never calls llhttp again;
 * every allocation a peer can drive is checked against a limit before it grows.
 */
#include "net/http.h"

#include "core/error.h"

#include <llhttp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- request storage ------------------------------------------------------------------ */

typedef struct hdr_off {
    size_t name, value, value_len;
} hdr_off_t;

typedef struct req_priv {
    stk_http_req_t pub; /* first: a stk_http_req_t * is a req_priv * */
    char *head;         /* url\0 name\0 value\0 ... */
    size_t head_len, head_cap;
    size_t url_len;
    hdr_off_t *offs;
    size_t n_offs, cap_offs;
    stk_http_header_t *headers;
    char *pathq; /* path\0query\0 */
    uint8_t *body;
    size_t body_len, body_cap;
    char *param_store[STK_HTTP_MAX_PARAMS];
} req_priv_t;

enum span { SPAN_NONE, SPAN_URL, SPAN_FIELD, SPAN_VALUE };

struct stk_http_parser {
    llhttp_t ll;
    llhttp_settings_t settings;
    stk_http_limits_t limits;
    req_priv_t *cur;
    enum span span;
    size_t span_start, span_len;
    bool in_message, headers_done, complete, failed, upgraded, expect_continue;
    int err_status; /* set by a callback that refused input for a limit */
    const char *err_reason;
    size_t raw_head; /* raw header-phase bytes of earlier feeds of this message */
    /* Positions inside the current feed, to measure the raw header section exactly. */
    const char *feed_data, *msg_at, *last_end;
};

static void req_priv_free(req_priv_t *r)
{
    if (!r)
        return;
    free(r->head);
    free(r->offs);
    free(r->headers);
    free(r->pathq);
    free(r->body);
    for (size_t i = 0; i < STK_HTTP_MAX_PARAMS; i++)
        free(r->param_store[i]);
    free(r);
}

void stk_http_req_free(stk_http_req_t *req)
{
    req_priv_free((req_priv_t *)req);
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem, size_t limit)
{
    if (need <= *cap)
        return 0;
    if (need > limit)
        return STK_ETOOBIG;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    if (ncap > limit)
        ncap = limit;
    void *n = realloc(*buf, ncap * elem);
    if (!n)
        return STK_ENOMEM;
    *buf = n;
    *cap = ncap;
    return 0;
}

/* ---- llhttp callbacks ----------------------------------------------------------------- */

static stk_http_parser_t *P(llhttp_t *ll)
{
    return (stk_http_parser_t *)ll->data;
}

static int fail_cb(stk_http_parser_t *p, int status, const char *reason)
{
    p->err_status = status;
    p->err_reason = reason;
    return -1;
}

static int head_append(stk_http_parser_t *p, const char *at, size_t len)
{
    req_priv_t *r = p->cur;
    /* +1: room for the terminating NUL every span gets. */
    int rc =
        grow((void **)&r->head, &r->head_cap, r->head_len + len + 1, 1, p->limits.max_header_bytes);
    if (rc == STK_ETOOBIG)
        return fail_cb(p, 431, "header section too large");
    if (rc < 0)
        return fail_cb(p, 500, "out of memory");
    memcpy(r->head + r->head_len, at, len);
    r->head_len += len;
    return 0;
}

static int span_data(stk_http_parser_t *p, enum span kind, const char *at, size_t len)
{
    if (!p->cur)
        return fail_cb(p, 400, "data outside a message");
    if (kind == SPAN_URL && !p->msg_at && p->cur->head_len == 0)
        p->msg_at = at; /* the message started in this feed */
    p->last_end = at + len;
    if (p->span != kind) {
        p->span = kind;
        p->span_start = p->cur->head_len;
    }
    return head_append(p, at, len);
}

/* Ends the current span with a NUL; returns its start offset through *start. */
static int span_end(stk_http_parser_t *p, enum span kind, size_t *start, size_t *len)
{
    if (!p->cur)
        return fail_cb(p, 400, "data outside a message");
    if (p->span != kind) { /* empty span: llhttp may skip the data callback */
        p->span = kind;
        p->span_start = p->cur->head_len;
    }
    *start = p->span_start;
    *len = p->cur->head_len - p->span_start;
    if (head_append(p, "", 0) != 0)
        return -1;
    p->cur->head[p->cur->head_len++] = '\0';
    p->span = SPAN_NONE;
    return 0;
}

static int on_message_begin(llhttp_t *ll)
{
    stk_http_parser_t *p = P(ll);
    req_priv_free(p->cur);
    p->cur = calloc(1, sizeof(*p->cur));
    if (!p->cur)
        return fail_cb(p, 500, "out of memory");
    p->in_message = true;
    p->headers_done = false;
    p->span = SPAN_NONE;
    p->raw_head = 0;
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t len)
{
    return span_data(P(ll), SPAN_URL, at, len);
}

static int on_url_complete(llhttp_t *ll)
{
    size_t start, len;
    if (span_end(P(ll), SPAN_URL, &start, &len) != 0)
        return -1;
    P(ll)->cur->url_len = len;
    return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    return span_data(P(ll), SPAN_FIELD, at, len);
}

static int on_header_field_complete(llhttp_t *ll)
{
    stk_http_parser_t *p = P(ll);
    size_t start, len;
    if (span_end(p, SPAN_FIELD, &start, &len) != 0)
        return -1;
    req_priv_t *r = p->cur;
    int rc = grow((void **)&r->offs, &r->cap_offs, r->n_offs + 1, sizeof(hdr_off_t),
                  p->limits.max_headers);
    if (rc == STK_ETOOBIG)
        return fail_cb(p, 431, "too many header lines");
    if (rc < 0)
        return fail_cb(p, 500, "out of memory");
    r->offs[r->n_offs].name = start;
    r->offs[r->n_offs].value = start + len; /* the NUL: empty until a value arrives */
    r->offs[r->n_offs].value_len = 0;
    r->n_offs++;
    return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    return span_data(P(ll), SPAN_VALUE, at, len);
}

static int on_header_value_complete(llhttp_t *ll)
{
    stk_http_parser_t *p = P(ll);
    size_t start, len;
    if (span_end(p, SPAN_VALUE, &start, &len) != 0)
        return -1;
    req_priv_t *r = p->cur;
    if (r->n_offs == 0)
        return fail_cb(p, 400, "header value without a name");
    r->offs[r->n_offs - 1].value = start;
    r->offs[r->n_offs - 1].value_len = len;
    return 0;
}

static stk_http_method_t map_method(uint8_t m)
{
    switch (m) {
    case HTTP_GET:
        return STK_HTTP_GET;
    case HTTP_HEAD:
        return STK_HTTP_HEAD;
    case HTTP_POST:
        return STK_HTTP_POST;
    case HTTP_PUT:
        return STK_HTTP_PUT;
    case HTTP_DELETE:
        return STK_HTTP_DELETE;
    case HTTP_PATCH:
        return STK_HTTP_PATCH;
    case HTTP_OPTIONS:
        return STK_HTTP_OPTIONS;
    default:
        return STK_HTTP_OTHER;
    }
}

static int on_headers_complete(llhttp_t *ll)
{
    stk_http_parser_t *p = P(ll);
    req_priv_t *r = p->cur;
    if (!r)
        return fail_cb(p, 400, "headers outside a message");
    if (p->last_end) {
        const char *base = p->msg_at ? p->msg_at : p->feed_data;
        if (p->raw_head + (size_t)(p->last_end - base) > p->limits.max_header_bytes)
            return fail_cb(p, 431, "header section too large");
    }
    if ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > p->limits.max_body_bytes)
        return fail_cb(p, 413, "declared body too large");
    if (r->url_len == 0 && r->head_len == 0)
        return fail_cb(p, 400, "empty request-target");

    /* The header buffer is final now: turn offsets into pointers. */
    if (r->n_offs) {
        r->headers = calloc(r->n_offs, sizeof(*r->headers));
        if (!r->headers)
            return fail_cb(p, 500, "out of memory");
    }
    for (size_t i = 0; i < r->n_offs; i++) {
        r->headers[i].name = r->head + r->offs[i].name;
        r->headers[i].value = r->head + r->offs[i].value;
        r->headers[i].value_len = r->offs[i].value_len;
    }
    const char *url = r->head; /* the URL span is always first */
    size_t ulen = r->url_len;
    r->pathq = malloc(ulen + 2);
    if (!r->pathq)
        return fail_cb(p, 500, "out of memory");
    const char *q = memchr(url, '?', ulen);
    size_t plen = q ? (size_t)(q - url) : ulen;
    memcpy(r->pathq, url, plen);
    r->pathq[plen] = '\0';
    size_t qlen = q ? ulen - plen - 1 : 0;
    if (qlen)
        memcpy(r->pathq + plen + 1, q + 1, qlen);
    r->pathq[plen + 1 + qlen] = '\0';

    stk_http_req_t *pub = &r->pub;
    pub->method = map_method(ll->method);
    pub->method_name = llhttp_method_name((llhttp_method_t)ll->method);
    pub->target = url;
    pub->path = r->pathq;
    pub->query = r->pathq + plen + 1;
    pub->http_major = ll->http_major;
    pub->http_minor = ll->http_minor;
    pub->headers = r->headers;
    pub->n_headers = r->n_offs;
    pub->keep_alive = llhttp_should_keep_alive(ll) != 0;
    pub->upgrade = ll->upgrade != 0;
    /* RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host header. */
    size_t n_host = 0;
    for (size_t i = 0; i < r->n_offs; i++)
        n_host += strcasecmp(r->headers[i].name, "Host") == 0;
    if ((pub->http_major == 1 && pub->http_minor >= 1 && n_host == 0) || n_host > 1)
        return fail_cb(p, 400, n_host ? "more than one Host header" : "missing Host header");
    const char *expect = stk_http_req_header(pub, "Expect");
    p->expect_continue =
        expect && strcasecmp(expect, "100-continue") == 0 &&
        (((ll->flags & F_CONTENT_LENGTH) && ll->content_length > 0) || (ll->flags & F_CHUNKED));
    p->headers_done = true;
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
    stk_http_parser_t *p = P(ll);
    req_priv_t *r = p->cur;
    if (!r)
        return fail_cb(p, 400, "body outside a message");
    /* +1 for the convenience NUL. */
    int rc = grow((void **)&r->body, &r->body_cap, r->body_len + len + 1, 1,
                  p->limits.max_body_bytes + 1);
    if (rc == STK_ETOOBIG)
        return fail_cb(p, 413, "body too large");
    if (rc < 0)
        return fail_cb(p, 500, "out of memory");
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    return 0;
}

static int on_message_complete(llhttp_t *ll)
{
    stk_http_parser_t *p = P(ll);
    req_priv_t *r = p->cur;
    if (!r || !p->headers_done)
        return fail_cb(p, 400, "incomplete message");
    r->pub.body = r->body ? r->body : (const uint8_t *)"";
    if (r->body)
        r->body[r->body_len] = '\0';
    r->pub.body_len = r->body_len;
    /* keep-alive is final only now (llhttp may revise it after the body). */
    r->pub.keep_alive = llhttp_should_keep_alive(ll) != 0;
    p->complete = true;
    p->in_message = false;
    return HPE_PAUSED;
}

/* ---- parser API ----------------------------------------------------------------------- */

int stk_http_parser_create(const stk_http_limits_t *limits, stk_http_parser_t **out)
{
    stk_http_parser_t *p = calloc(1, sizeof(*p));
    if (!p)
        return STK_ENOMEM;
    if (limits)
        p->limits = *limits;
    if (!p->limits.max_header_bytes)
        p->limits.max_header_bytes = STK_HTTP_DEFAULT_MAX_HEADER_BYTES;
    if (!p->limits.max_headers)
        p->limits.max_headers = STK_HTTP_DEFAULT_MAX_HEADERS;
    if (!p->limits.max_body_bytes)
        p->limits.max_body_bytes = STK_HTTP_DEFAULT_MAX_BODY_BYTES;
    llhttp_settings_init(&p->settings);
    p->settings.on_message_begin = on_message_begin;
    p->settings.on_url = on_url;
    p->settings.on_url_complete = on_url_complete;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_field_complete = on_header_field_complete;
    p->settings.on_header_value = on_header_value;
    p->settings.on_header_value_complete = on_header_value_complete;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_message_complete = on_message_complete;
    llhttp_init(&p->ll, HTTP_REQUEST, &p->settings);
    p->ll.data = p;
    *out = p;
    return 0;
}

void stk_http_parser_destroy(stk_http_parser_t *p)
{
    if (!p)
        return;
    req_priv_free(p->cur);
    free(p);
}

bool stk_http_parser_busy(const stk_http_parser_t *p)
{
    return p->in_message;
}

bool stk_http_parser_upgraded(const stk_http_parser_t *p)
{
    return p->upgraded;
}

bool stk_http_parser_take_continue(stk_http_parser_t *p)
{
    bool c = p->expect_continue;
    p->expect_continue = false;
    return c;
}

const char *stk_http_parser_error(const stk_http_parser_t *p)
{
    if (p->err_reason)
        return p->err_reason;
    const char *r = llhttp_get_error_reason(&p->ll);
    return r ? r : "no error";
}

int stk_http_parser_feed(stk_http_parser_t *p, const uint8_t *data, size_t len, size_t *consumed,
                         stk_http_req_t **req, int *status)
{
    *consumed = 0;
    *req = NULL;
    *status = 0;
    if (p->failed || p->upgraded) {
        *status = 400;
        return STK_ESTATE;
    }
    if (len == 0)
        return 0;
    p->feed_data = (const char *)data;
    p->msg_at = p->last_end = NULL;
    llhttp_errno_t e = llhttp_execute(&p->ll, (const char *)data, len);
    if (e == HPE_OK) {
        *consumed = len;
        if (p->in_message && !p->headers_done) {
            p->raw_head += len - (p->msg_at ? (size_t)(p->msg_at - p->feed_data) : 0);
            if (p->raw_head > p->limits.max_header_bytes) {
                p->failed = true;
                p->err_reason = "header section too large";
                *status = 431;
                return STK_ETOOBIG;
            }
        }
        return 0;
    }
    if ((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) && p->complete) {
        const char *pos = llhttp_get_error_pos(&p->ll);
        size_t used = pos ? (size_t)(pos - (const char *)data) : len;
        if (used > len)
            used = len;
        *consumed = used;
        p->complete = false;
        p->expect_continue = false;
        req_priv_t *r = p->cur;
        p->cur = NULL;
        if (r->pub.upgrade || e == HPE_PAUSED_UPGRADE) {
            r->pub.upgrade = true;
            p->upgraded = true;
        } else {
            llhttp_resume(&p->ll);
        }
        *req = &r->pub;
        return 0;
    }
    p->failed = true;
    p->in_message = false;
    req_priv_free(p->cur);
    p->cur = NULL;
    if (p->err_status) {
        *status = p->err_status;
        if (p->err_status == 500)
            return STK_ENOMEM;
        return p->err_status == 400 ? STK_EDECODE : STK_ETOOBIG;
    }
    *status = 400;
    return STK_EDECODE;
}

/* ---- request accessors ---------------------------------------------------------------- */

const char *stk_http_req_header(const stk_http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *stk_http_req_param(const stk_http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->param_names[i], name) == 0)
            return req->param_values[i];
    return NULL;
}

int stk_http_req_add_param(stk_http_req_t *req, const char *name, const char *value, size_t len)
{
    req_priv_t *r = (req_priv_t *)req;
    size_t i = req->n_params;
    if (i >= STK_HTTP_MAX_PARAMS)
        return STK_ETOOBIG;
    char *v = malloc(len + 1);
    if (!v)
        return STK_ENOMEM;
    memcpy(v, value, len);
    v[len] = '\0';
    free(r->param_store[i]);
    r->param_store[i] = v;
    req->param_names[i] = name;
    req->param_values[i] = v;
    req->n_params = i + 1;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int stk_http_query_get(const char *query, const char *name, char *out, size_t cap)
{
    if (!query || !name || !out || cap == 0)
        return STK_EINVAL;
    size_t nl = strlen(name);
    const char *s = query;
    while (*s) {
        const char *e = strchr(s, '&');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        size_t kl = eq ? (size_t)(eq - s) : len;
        if (kl == nl && strncmp(s, name, nl) == 0) {
            const char *v = eq ? eq + 1 : s + len;
            const char *ve = s + len;
            size_t o = 0;
            while (v < ve) {
                char ch = *v++;
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%') {
                    int hi = v < ve ? hexval(v[0]) : -1;
                    int lo = v + 1 < ve ? hexval(v[1]) : -1;
                    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        return STK_EDECODE;
                    ch = (char)(hi * 16 + lo);
                    v += 2;
                }
                if (o + 1 >= cap)
                    return STK_ETOOBIG;
                out[o++] = ch;
            }
            out[o] = '\0';
            return 0;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return STK_ENOTFOUND;
}

void stk_http_req_clear_params(stk_http_req_t *req)
{
    req->n_params = 0;
}

bool stk_http_req_header_has_token(const stk_http_req_t *req, const char *name, const char *token)
{
    size_t tlen = strlen(token);
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) != 0)
            continue;
        const char *s = req->headers[i].value;
        while (*s) {
            while (*s == ' ' || *s == '\t' || *s == ',')
                s++;
            const char *e = s;
            while (*e && *e != ',')
                e++;
            const char *te = e;
            while (te > s && (te[-1] == ' ' || te[-1] == '\t'))
                te--;
            if ((size_t)(te - s) == tlen && strncasecmp(s, token, tlen) == 0)
                return true;
            s = e;
        }
    }
    return false;
}

/* ---- responses ------------------------------------------------------------------------ */

#define RES_MAX_HEADER_BYTES (8u * 1024u)

typedef struct chunk {
    struct chunk *next;
    size_t len;
    uint8_t data[];
} chunk_t;

struct stk_http_res {
    stk_http_req_t *req;
    int status;
    bool completed, abandoned;
    char *hdrs;
    size_t hdrs_len, hdrs_cap;
    const void *body;
    size_t body_len;
    void *body_copy;
    void (*body_free)(void *);
    void *body_free_arg;
    stk_http_res_done_cb done;
    void *done_arg;
    void *up_ctx;
    void (*up_abort)(void *);
    bool streaming, stream_ended, want_drain;
    chunk_t *ch_head, *ch_tail;
    size_t buffered; /* written by the handler, not yet reported written */
    void (*on_drain)(stk_http_res_t *, void *);
    void *drain_arg;
};

int stk_http_res_create(stk_http_req_t *req, stk_http_res_done_cb done, void *done_arg,
                        stk_http_res_t **out)
{
    stk_http_res_t *res = calloc(1, sizeof(*res));
    if (!res)
        return STK_ENOMEM;
    res->req = req;
    res->done = done;
    res->done_arg = done_arg;
    *out = res;
    return 0;
}

static void res_release_body(stk_http_res_t *res)
{
    if (res->body_free) {
        void (*f)(void *) = res->body_free;
        res->body_free = NULL;
        f(res->body_free_arg);
    }
    free(res->body_copy);
    res->body_copy = NULL;
    res->body = NULL;
    res->body_len = 0;
}

void stk_http_res_free(stk_http_res_t *res)
{
    if (!res)
        return;
    res_release_body(res);
    if (res->up_abort) {
        void (*a)(void *) = res->up_abort;
        res->up_abort = NULL;
        a(res->up_ctx);
    }
    for (chunk_t *ch = res->ch_head; ch;) {
        chunk_t *next = ch->next;
        free(ch);
        ch = next;
    }
    free(res->hdrs);
    free(res);
}

static void res_drained(stk_http_res_t *res)
{
    if (res->want_drain && res->on_drain) {
        res->want_drain = false;
        res->on_drain(res, res->drain_arg);
    }
}

void stk_http_res_set_abandoned(stk_http_res_t *res)
{
    res->abandoned = true;
    if (res->streaming && !res->stream_ended)
        res_drained(res);
}

bool stk_http_res_abandoned(const stk_http_res_t *res)
{
    return res->abandoned;
}

bool stk_http_res_completed(const stk_http_res_t *res)
{
    return res->completed;
}

int stk_http_res_status(const stk_http_res_t *res)
{
    return res->status;
}

stk_http_req_t *stk_http_res_req(stk_http_res_t *res)
{
    return res->req;
}

void stk_http_res_set_upgrade(stk_http_res_t *res, void *ctx, void (*abort)(void *ctx))
{
    res->up_ctx = ctx;
    res->up_abort = abort;
}

void *stk_http_res_take_upgrade(stk_http_res_t *res)
{
    void *c = res->up_ctx;
    res->up_ctx = NULL;
    res->up_abort = NULL;
    return c;
}

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int hdrs_append(stk_http_res_t *res, const char *s, size_t n)
{
    int rc =
        grow((void **)&res->hdrs, &res->hdrs_cap, res->hdrs_len + n + 1, 1, RES_MAX_HEADER_BYTES);
    if (rc < 0)
        return rc;
    memcpy(res->hdrs + res->hdrs_len, s, n);
    res->hdrs_len += n;
    return 0;
}

int stk_http_res_header(stk_http_res_t *res, const char *name, const char *value)
{
    if (res->completed || res->streaming || !name || !value || !*name || has_crlf(name) ||
        strchr(name, ':') || has_crlf(value))
        return STK_EINVAL;
    if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Connection") == 0 ||
        strcasecmp(name, "Transfer-Encoding") == 0)
        return STK_EINVAL;
    size_t mark = res->hdrs_len;
    int rc = hdrs_append(res, name, strlen(name));
    if (!rc)
        rc = hdrs_append(res, ": ", 2);
    if (!rc)
        rc = hdrs_append(res, value, strlen(value));
    if (!rc)
        rc = hdrs_append(res, "\r\n", 2);
    if (rc)
        res->hdrs_len = mark;
    return rc;
}

static void res_complete(stk_http_res_t *res)
{
    res->completed = true;
    if (res->done)
        res->done(res, res->done_arg);
}

static void res_fail_500(stk_http_res_t *res)
{
    res_release_body(res);
    res->hdrs_len = 0;
    res->status = 500;
}

int stk_http_res_send_borrowed(stk_http_res_t *res, int status, const char *content_type,
                               const void *body, size_t len, void (*free_cb)(void *),
                               void *free_arg)
{
    if (res->completed || res->streaming) { /* contract violation; never free twice */
        if (free_cb)
            free_cb(free_arg);
        return STK_ESTATE;
    }
    res->body = body;
    res->body_len = body ? len : 0;
    res->body_free = free_cb;
    res->body_free_arg = free_arg;
    int rc = 0;
    if (status < 100 || status > 599 || (status < 200 && status != 101))
        rc = STK_EINVAL; /* interim 1xx are the server's (100 Continue), never final */
    if (!rc && content_type && *content_type)
        rc = stk_http_res_header(res, "Content-Type", content_type);
    if (rc)
        res_fail_500(res);
    else
        res->status = status;
    res_complete(res);
    return rc;
}

int stk_http_res_send(stk_http_res_t *res, int status, const char *content_type, const void *body,
                      size_t len)
{
    void *copy = NULL;
    if (body && len) {
        copy = malloc(len);
        if (!copy) {
            res_fail_500(res);
            res_complete(res);
            return STK_ENOMEM;
        }
        memcpy(copy, body, len);
    }
    return stk_http_res_send_borrowed(res, status, content_type, copy, copy ? len : 0, free, copy);
}

int stk_http_res_send_json(stk_http_res_t *res, int status, const json_t *json)
{
    char *s = json ? json_dumps(json, JSON_COMPACT) : NULL;
    if (!s) {
        res_fail_500(res);
        res_complete(res);
        return json ? STK_ENOMEM : STK_EINVAL;
    }
    return stk_http_res_send_borrowed(res, status, "application/json", s, strlen(s), free, s);
}

bool stk_http_res_streaming(const stk_http_res_t *res)
{
    return res->streaming;
}

int stk_http_res_stream_begin(stk_http_res_t *res, int status, const char *content_type)
{
    if (res->completed || res->streaming)
        return STK_ESTATE;
    if (status < 200 || status > 599 || status == 204 || status == 304)
        return STK_EINVAL;
    if (content_type && *content_type) {
        int rc = stk_http_res_header(res, "Content-Type", content_type);
        if (rc)
            return rc;
    }
    res->status = status;
    res->streaming = true;
    if (res->done)
        res->done(res, res->done_arg);
    return 0;
}

int stk_http_res_stream_write(stk_http_res_t *res, const void *data, size_t len)
{
    if (!res->streaming || res->stream_ended)
        return STK_ESTATE;
    if (res->abandoned)
        return STK_ECLOSED;
    if (len == 0)
        return 0;
    if (res->buffered + len > STK_HTTP_STREAM_MAX_BUFFERED && res->buffered > 0) {
        res->want_drain = true;
        return STK_EBUSY;
    }
    chunk_t *ch = malloc(sizeof(*ch) + len);
    if (!ch)
        return STK_ENOMEM;
    ch->next = NULL;
    ch->len = len;
    memcpy(ch->data, data, len);
    if (res->ch_tail)
        res->ch_tail->next = ch;
    else
        res->ch_head = ch;
    res->ch_tail = ch;
    res->buffered += len;
    if (res->done)
        res->done(res, res->done_arg);
    return 0;
}

int stk_http_res_stream_end(stk_http_res_t *res)
{
    if (!res->streaming || res->stream_ended)
        return STK_ESTATE;
    res->stream_ended = true;
    res_complete(res);
    return 0;
}

void stk_http_res_stream_on_drain(stk_http_res_t *res, void (*on_drain)(stk_http_res_t *, void *),
                                  void *arg)
{
    res->on_drain = on_drain;
    res->drain_arg = arg;
}

int stk_http_res_stream_take(stk_http_res_t *res, char **buf, size_t *len, size_t *payload,
                             bool *last)
{
    *buf = NULL;
    *len = *payload = 0;
    *last = res->stream_ended;
    bool head = res->req && res->req->method == STK_HTTP_HEAD;
    bool raw = res->req && res->req->http_major == 1 && res->req->http_minor == 0;
    size_t total = 0, n = 0;
    for (chunk_t *ch = res->ch_head; ch; ch = ch->next) {
        total += ch->len;
        n++;
    }
    size_t cap = head ? 0 : total + (raw ? 0 : n * 20 + (*last ? 5 : 0));
    if (cap) {
        *buf = malloc(cap);
        if (!*buf)
            return STK_ENOMEM;
    }
    size_t o = 0;
    for (chunk_t *ch = res->ch_head; ch;) {
        chunk_t *next = ch->next;
        if (!head) {
            if (!raw)
                o += (size_t)snprintf(*buf + o, cap - o, "%zx\r\n", ch->len);
            memcpy(*buf + o, ch->data, ch->len);
            o += ch->len;
            if (!raw) {
                memcpy(*buf + o, "\r\n", 2);
                o += 2;
            }
        }
        free(ch);
        ch = next;
    }
    res->ch_head = res->ch_tail = NULL;
    if (*last && !head && !raw) {
        memcpy(*buf + o, "0\r\n\r\n", 5);
        o += 5;
    }
    *len = o;
    if (head) { /* nothing goes out: count it written now */
        stk_http_res_stream_written(res, total);
    } else {
        *payload = total;
    }
    return 0;
}

void stk_http_res_stream_written(stk_http_res_t *res, size_t payload)
{
    res->buffered -= payload < res->buffered ? payload : res->buffered;
    if (res->buffered == 0 && !res->stream_ended)
        res_drained(res);
}

const char *stk_http_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

int stk_http_res_serialize(const stk_http_res_t *res, bool close, const char *date, char **head,
                           size_t *head_len, const void **body, size_t *body_len)
{
    int st = res->status ? res->status : 500;
    bool no_body = st < 200 || st == 204 || st == 304;
    bool is_head = res->req && res->req->method == STK_HTTP_HEAD;
    if (date && strlen(date) > 40)
        date = NULL;
    size_t cap = res->hdrs_len + 220;
    char *h = malloc(cap);
    if (!h)
        return STK_ENOMEM;
    int n = snprintf(h, cap, "HTTP/1.1 %d %s\r\n", st, stk_http_status_reason(st));
    size_t len = (size_t)n;
    if (date)
        len += (size_t)snprintf(h + len, cap - len, "Date: %s\r\n", date);
    memcpy(h + len, res->hdrs ? res->hdrs : "", res->hdrs_len);
    len += res->hdrs_len;
    bool raw10 = res->req && res->req->http_major == 1 && res->req->http_minor == 0;
    if (res->streaming) {
        if (!raw10)
            len += (size_t)snprintf(h + len, cap - len, "Transfer-Encoding: chunked\r\n");
        close = close || raw10; /* an HTTP/1.0 body ends with the connection */
    } else if (!no_body) {
        len += (size_t)snprintf(h + len, cap - len, "Content-Length: %zu\r\n", res->body_len);
    }
    if (st == 101)
        len += (size_t)snprintf(h + len, cap - len, "Connection: Upgrade\r\n");
    else if (close)
        len += (size_t)snprintf(h + len, cap - len, "Connection: close\r\n");
    else if (raw10)
        len += (size_t)snprintf(h + len, cap - len, "Connection: keep-alive\r\n");
    len += (size_t)snprintf(h + len, cap - len, "\r\n");
    *head = h;
    *head_len = len;
    bool nothing = no_body || is_head || res->streaming;
    *body = nothing ? NULL : res->body;
    *body_len = nothing ? 0 : res->body_len;
    return 0;
}
