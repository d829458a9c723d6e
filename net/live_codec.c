/* net/live_codec.c — decoder and encoder of live-protocol messages (net/live_codec.h).
 *
 * Decoding: a MessagePack message is first converted into the jansson value the JSON
 * subprotocol would carry (strict: string keys, no duplicates, depth and size bounded), so
 * the field rules below are written once for both subprotocols. Encoding goes through a
 * tiny emitter (em_*) with one back end per format: a jansson tree for JSON, a
 * msgpack_packer for MessagePack, so every server message is also written once. The two
 * formats differ only where the protocol says so: UUIDs (string / bin 16) and u64 hashes
 * (decimal string / uint).
 */
#include "net/live_codec.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "core/error.h"
#include "events/game.h"
#include "events/json.h"
#include "events/types.h"

#define DEPTH_MAX 16

static const char *const op_names[] = {
#define OP_NAME(name, wire) wire,
    STK_LIVE_OP_MAP(OP_NAME)
#undef OP_NAME
};

static const char *const reject_codes[] = {
#define RJ_CODE(name, code, msg) code,
    STK_LIVE_REJECT_MAP(RJ_CODE)
#undef RJ_CODE
};

static const char *const reject_msgs[] = {
#define RJ_MSG(name, code, msg) msg,
    STK_LIVE_REJECT_MAP(RJ_MSG)
#undef RJ_MSG
};

static const char *const game_codes[] = {
#define GR_CODE(name, msg) #name,
    STK_REJECT_MAP(GR_CODE)
#undef GR_CODE
};

const char *stk_live_op_name(stk_live_op_t op)
{
    return (unsigned)op < STK_LIVE_OP_COUNT ? op_names[op] : "?";
}

const char *stk_live_reject_code(stk_live_reject_t r)
{
    return (unsigned)r < STK_LIVE_REJECT_COUNT ? reject_codes[r] : "?";
}

const char *stk_live_reject_message(stk_live_reject_t r)
{
    return (unsigned)r < STK_LIVE_REJECT_COUNT ? reject_msgs[r] : "?";
}

/* Lowercased copies of the game's reject names (the X-macro has them upper case), built
 * once. */
static char game_lower[STK_REJECT_COUNT][32];
static pthread_once_t game_lower_once = PTHREAD_ONCE_INIT;

static void game_lower_init(void)
{
    for (int r = 0; r < STK_REJECT_COUNT; r++) {
        const char *src = game_codes[r];
        char *d = game_lower[r];
        size_t i = 0;
        for (; src[i] && i < sizeof game_lower[0] - 1; i++)
            d[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] - 'A' + 'a' : src[i]);
        d[i] = '\0';
    }
}

const char *stk_live_game_reject_code(stk_reject_t why)
{
    if ((unsigned)why >= STK_REJECT_COUNT)
        return "unknown";
    pthread_once(&game_lower_once, game_lower_init);
    return game_lower[why];
}

void stk_live_buf_free(stk_live_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* ---- MessagePack → JSON ------------------------------------------------------------- */

static json_t *mp_to_json(const msgpack_object *o, int depth)
{
    if (depth > DEPTH_MAX)
        return NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) {
            char b[24];
            snprintf(b, sizeof b, "%" PRIu64, o->via.u64);
            return json_string(b);
        }
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_stringn_nocheck(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN: {
        if (o->via.bin.size == STK_UUID_LEN) {
            stk_uuid_t u;
            char s[STK_UUID_STR_LEN + 1];
            memcpy(u.b, o->via.bin.ptr, STK_UUID_LEN);
            stk_uuid_format(&u, s);
            return json_string(s);
        }
        size_t cap = sodium_base64_ENCODED_LEN(o->via.bin.size, sodium_base64_VARIANT_ORIGINAL);
        char *s = malloc(cap);
        if (!s)
            return NULL;
        sodium_bin2base64(s, cap, (const unsigned char *)o->via.bin.ptr, o->via.bin.size,
                          sodium_base64_VARIANT_ORIGINAL);
        json_t *j = json_string(s);
        free(s);
        return j;
    }
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *v = mp_to_json(&o->via.array.ptr[i], depth + 1);
            if (!v || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            char key[STK_LIVE_STR_MAX + 1];
            if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size > STK_LIVE_STR_MAX ||
                (kv->key.via.str.size && memchr(kv->key.via.str.ptr, 0, kv->key.via.str.size))) {
                json_decref(m);
                return NULL;
            }
            if (kv->key.via.str.size) /* an empty key may come with a NULL pointer */
                memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
            key[kv->key.via.str.size] = '\0';
            json_t *v = mp_to_json(&kv->val, depth + 1);
            if (!v || json_object_get(m, key)) { /* duplicate key */
                json_decref(v);
                json_decref(m);
                return NULL;
            }
            if (json_object_set_new(m, key, v) != 0) { /* e.g. a key that is not UTF-8; */
                json_decref(m);                        /* set_new released v already */
                return NULL;
            }
        }
        return m;
    }
    default:
        return NULL;
    }
}

/* Structural pre-check of one MessagePack object at p: returns the byte after it, or NULL
 * if it is malformed, truncated, nested deeper than DEPTH_MAX, or declares more elements
 * than bytes remain (every element takes at least one byte). This runs before
 * msgpack_unpack so that a hostile count never becomes a huge allocation. */
static const uint8_t *mp_skip(const uint8_t *p, const uint8_t *end, int depth)
{
    if (p >= end || depth > DEPTH_MAX)
        return NULL;
    uint8_t t = *p++;
    uint64_t n = 0; /* payload bytes (str/bin/ext) */
    uint64_t items = 0;
    size_t hdr = 0;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return p;
    if ((t & 0xf0) == 0x80) {
        items = 2u * (t & 0x0f);
    } else if ((t & 0xf0) == 0x90) {
        items = t & 0x0f;
    } else if ((t & 0xe0) == 0xa0) {
        n = t & 0x1f;
    } else {
        switch (t) {
        case 0xcc:
        case 0xd0:
            hdr = 1;
            break;
        case 0xcd:
        case 0xd1:
            hdr = 2;
            break;
        case 0xca:
        case 0xce:
        case 0xd2:
            hdr = 4;
            break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
            hdr = 8;
            break;
        case 0xd4:
            hdr = 2;
            break;
        case 0xd5:
            hdr = 3;
            break;
        case 0xd6:
            hdr = 5;
            break;
        case 0xd7:
            hdr = 9;
            break;
        case 0xd8:
            hdr = 17;
            break;
        default:
            break;
        }
        if (hdr) {
            if ((size_t)(end - p) < hdr)
                return NULL;
            return p + hdr;
        }
        size_t lb = 0;
        bool ext = false, arr = false, map = false;
        switch (t) {
        case 0xc4:
        case 0xd9:
            lb = 1;
            break;
        case 0xc5:
        case 0xda:
            lb = 2;
            break;
        case 0xc6:
        case 0xdb:
            lb = 4;
            break;
        case 0xc7:
            lb = 1;
            ext = true;
            break;
        case 0xc8:
            lb = 2;
            ext = true;
            break;
        case 0xc9:
            lb = 4;
            ext = true;
            break;
        case 0xdc:
            lb = 2;
            arr = true;
            break;
        case 0xdd:
            lb = 4;
            arr = true;
            break;
        case 0xde:
            lb = 2;
            map = true;
            break;
        case 0xdf:
            lb = 4;
            map = true;
            break;
        default:
            return NULL; /* 0xc1 */
        }
        if ((size_t)(end - p) < lb)
            return NULL;
        uint64_t v = 0;
        for (size_t i = 0; i < lb; i++)
            v = v << 8 | p[i];
        p += lb;
        if (arr)
            items = v;
        else if (map)
            items = 2 * v;
        else
            n = v + (ext ? 1 : 0);
    }
    if (items) {
        if (items > (uint64_t)(end - p))
            return NULL;
        for (uint64_t i = 0; i < items && p; i++)
            p = mp_skip(p, end, depth + 1);
        return p;
    }
    if (n > (uint64_t)(end - p))
        return NULL;
    return p + n;
}

int stk_live_msgpack_to_json(const uint8_t *data, size_t len, json_t **out)
{
    if (!out || (!data && len))
        return STK_EINVAL;
    *out = NULL;
    if (len == 0 || len > STK_PAYLOAD_MAX || mp_skip(data, data + len, 0) != data + len)
        return STK_EDECODE;
    msgpack_zone zone;
    msgpack_object obj;
    size_t off = 0;
    if (!msgpack_zone_init(&zone, 2048))
        return STK_ENOMEM;
    int rc = STK_EDECODE;
    msgpack_unpack_return ur = msgpack_unpack((const char *)data, len, &off, &zone, &obj);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        rc = STK_ENOMEM;
    } else if (ur == MSGPACK_UNPACK_SUCCESS && off == len && obj.type == MSGPACK_OBJECT_MAP) {
        json_t *j = mp_to_json(&obj, 0);
        if (j) {
            *out = j;
            rc = 0;
        }
    }
    msgpack_zone_destroy(&zone);
    return rc;
}

/* ---- decoding ----------------------------------------------------------------------- */

/* message = a field b (any may be ""), cut to fit */
static int fail3(stk_live_error_t *err, stk_live_reject_t code, const char *a, const char *field,
                 const char *b)
{
    err->code = code;
    snprintf(err->message, sizeof err->message, "%.40s%.60s%.60s", a, field, b);
    return STK_EDECODE;
}

static int read_ref(const json_t *v, stk_live_ref_t *ref)
{
    memset(ref, 0, sizeof *ref);
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || (uint64_t)n > STK_LIVE_REF_MAX)
            return -1;
        ref->kind = STK_LIVE_REF_NUM;
        ref->num = (uint64_t)n;
        return 0;
    }
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n < 1 || n > STK_LIVE_STR_MAX)
            return -1;
        ref->kind = STK_LIVE_REF_STR;
        memcpy(ref->str, json_string_value(v), n);
        ref->str[n] = '\0';
        ref->len = n;
        return 0;
    }
    return -1;
}

static int get_uint(const json_t *o, const char *key, uint64_t max, bool required, uint64_t *out,
                    bool *present, stk_live_error_t *err)
{
    const json_t *v = json_object_get(o, key);
    if (present)
        *present = v != NULL;
    if (!v) {
        if (required)
            return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "missing field ", key, "");
        return 0;
    }
    if (!json_is_integer(v))
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "field ", key,
                     " must be an unsigned integer");
    json_int_t n = json_integer_value(v);
    if (n < 0 || (uint64_t)n > max)
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "field ", key, " is out of range");
    *out = (uint64_t)n;
    return 0;
}

static int get_bool(const json_t *o, const char *key, bool required, bool *out,
                    stk_live_error_t *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "missing field ", key, "");
        return 0;
    }
    if (!json_is_boolean(v))
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "field ", key, " must be a boolean");
    *out = json_is_true(v);
    return 0;
}

static int get_str(const json_t *o, const char *key, size_t max, char *out, size_t *len_out,
                   stk_live_error_t *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "missing field ", key, "");
    if (!json_is_string(v))
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "field ", key, " must be a string");
    size_t n = json_string_length(v);
    if (n < 1 || n > max || memchr(json_string_value(v), 0, n))
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "field ", key, " has a bad length");
    memcpy(out, json_string_value(v), n);
    out[n] = '\0';
    if (len_out)
        *len_out = n;
    return 0;
}

static int decode_obj(const json_t *o, stk_live_msg_t *out, stk_live_error_t *err)
{
    if (!json_is_object(o))
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "message must be an ", "object", "");
    const json_t *ref = json_object_get(o, "ref");
    if (ref && !json_is_null(ref) && read_ref(ref, &out->ref) != 0)
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "field ", "ref",
                     " must be an integer 0..2^53-1 or a 1..64-byte string");
    err->ref = out->ref;
    const json_t *op = json_object_get(o, "op");
    if (!op)
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "missing field ", "op", "");
    if (!json_is_string(op))
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "field ", "op", " must be a string");
    int found = -1;
    for (int i = 0; i < STK_LIVE_OP_COUNT; i++)
        if (json_string_length(op) == strlen(op_names[i]) &&
            memcmp(json_string_value(op), op_names[i], strlen(op_names[i])) == 0)
            found = i;
    if (found < 0)
        return fail3(err, STK_LIVE_REJECT_UNKNOWN_OP, "unknown op", "", "");
    out->op = (stk_live_op_t)found;
    if (out->op != STK_LIVE_OP_AUTH && out->op != STK_LIVE_OP_HELLO &&
        out->ref.kind == STK_LIVE_REF_NONE)
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "missing field ", "ref", "");
    uint64_t u = 0;
    int rc = 0;
    switch (out->op) {
    case STK_LIVE_OP_AUTH:
        rc = get_str(o, "token", STK_LIVE_TOKEN_MAX, out->token, &out->token_len, err);
        break;
    case STK_LIVE_OP_HELLO:
        rc = get_uint(o, "last_seq", INT64_MAX, false, &out->last_seq, &out->has_last_seq, err);
        if (rc == 0)
            rc = get_bool(o, "spectate", false, &out->spectate, err);
        break;
    case STK_LIVE_OP_READY:
        rc = get_bool(o, "ready", true, &out->ready, err);
        break;
    case STK_LIVE_OP_PLACE:
        rc = get_uint(o, "x", STK_LIVE_COORD_MAX, true, &u, NULL, err);
        out->x = (uint32_t)u;
        if (rc == 0)
            rc = get_uint(o, "y", STK_LIVE_COORD_MAX, true, &u, NULL, err);
        out->y = (uint32_t)u;
        if (rc == 0)
            rc = get_str(o, "tower", STK_LIVE_STR_MAX, out->tower, NULL, err);
        break;
    case STK_LIVE_OP_UPGRADE:
    case STK_LIVE_OP_SELL:
        rc = get_uint(o, "tower_id", UINT32_MAX, true, &u, NULL, err);
        out->tower_id = (uint32_t)u;
        break;
    default:
        break;
    }
    return rc;
}

int stk_live_decode(stk_live_format_t fmt, const uint8_t *data, size_t len, stk_live_msg_t *out,
                    stk_live_error_t *err)
{
    if (!out || !err || (!data && len))
        return STK_EINVAL;
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (len > STK_LIVE_MSG_MAX)
        return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "message longer than ", "4096", " bytes");
    json_t *o = NULL;
    if (fmt == STK_LIVE_JSON) {
        json_error_t je;
        o = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
        if (!o)
            return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "not JSON: ", je.text, "");
    } else if (fmt == STK_LIVE_MSGPACK) {
        int rc = stk_live_msgpack_to_json(data, len, &o);
        if (rc == STK_ENOMEM)
            return rc;
        if (rc != 0)
            return fail3(err, STK_LIVE_REJECT_BAD_MESSAGE, "not one MessagePack ", "map",
                         " with string keys");
    } else {
        return STK_EINVAL;
    }
    int rc = decode_obj(o, out, err);
    json_decref(o);
    return rc;
}

/* ---- the emitter -------------------------------------------------------------------- */

typedef struct em {
    stk_live_format_t fmt;
    int err;
    /* MessagePack */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    /* JSON */
    json_t *root;
    json_t *stack[DEPTH_MAX];
    int depth;
    const char *key;
} em_t;

static void em_init(em_t *m, stk_live_format_t fmt)
{
    memset(m, 0, sizeof *m);
    m->fmt = fmt;
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

/* JSON: attach v to the current container (or make it the root). Takes v. */
static void em_put(em_t *m, json_t *v)
{
    if (!v) {
        m->err = STK_ENOMEM;
        return;
    }
    if (m->depth == 0) {
        if (m->root)
            json_decref(m->root);
        m->root = v;
        return;
    }
    json_t *top = m->stack[m->depth - 1];
    int rc = json_is_object(top) ? json_object_set_new(top, m->key ? m->key : "", v)
                                 : json_array_append_new(top, v);
    if (rc != 0)
        m->err = STK_ENOMEM;
}

static void em_open(em_t *m, json_t *c)
{
    if (!c) {
        m->err = STK_ENOMEM;
        return;
    }
    json_incref(c);
    em_put(m, c);
    if (m->depth >= DEPTH_MAX) {
        json_decref(c);
        m->err = STK_EINVAL;
        return;
    }
    m->stack[m->depth++] = c;
}

static void em_map(em_t *m, size_t n)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if (msgpack_pack_map(&m->pk, n) != 0)
            m->err = STK_ENOMEM;
    } else {
        em_open(m, json_object());
    }
}

static void em_arr(em_t *m, size_t n)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if (msgpack_pack_array(&m->pk, n) != 0)
            m->err = STK_ENOMEM;
    } else {
        em_open(m, json_array());
    }
}

static void em_end(em_t *m)
{
    if (m->fmt == STK_LIVE_JSON && m->depth > 0)
        json_decref(m->stack[--m->depth]);
}

static void em_key(em_t *m, const char *k)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        size_t n = strlen(k);
        if (msgpack_pack_str(&m->pk, n) != 0 || msgpack_pack_str_body(&m->pk, k, n) != 0)
            m->err = STK_ENOMEM;
    } else {
        m->key = k;
    }
}

static void em_strn(em_t *m, const char *s, size_t n)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if (msgpack_pack_str(&m->pk, n) != 0 || msgpack_pack_str_body(&m->pk, s, n) != 0)
            m->err = STK_ENOMEM;
    } else {
        em_put(m, json_stringn_nocheck(s, n));
    }
}

static void em_str(em_t *m, const char *s)
{
    em_strn(m, s, strlen(s));
}

static void em_uint(em_t *m, uint64_t v)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if (msgpack_pack_uint64(&m->pk, v) != 0)
            m->err = STK_ENOMEM;
    } else if (v > (uint64_t)INT64_MAX) {
        char b[24];
        snprintf(b, sizeof b, "%" PRIu64, v);
        em_put(m, json_string(b));
    } else {
        em_put(m, json_integer((json_int_t)v));
    }
}

static void em_int(em_t *m, int64_t v)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if (msgpack_pack_int64(&m->pk, v) != 0)
            m->err = STK_ENOMEM;
    } else {
        em_put(m, json_integer((json_int_t)v));
    }
}

/* u64 hash: decimal string in JSON, uint in MessagePack. */
static void em_hash(em_t *m, uint64_t v)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        em_uint(m, v);
    } else {
        char b[24];
        snprintf(b, sizeof b, "%" PRIu64, v);
        em_put(m, json_string(b));
    }
}

static void em_bool(em_t *m, bool v)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if ((v ? msgpack_pack_true(&m->pk) : msgpack_pack_false(&m->pk)) != 0)
            m->err = STK_ENOMEM;
    } else {
        em_put(m, json_boolean(v));
    }
}

static void em_null(em_t *m)
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if (msgpack_pack_nil(&m->pk) != 0)
            m->err = STK_ENOMEM;
    } else {
        em_put(m, json_null());
    }
}

static void em_uuid(em_t *m, const uint8_t b[STK_UUID_LEN])
{
    if (m->fmt == STK_LIVE_MSGPACK) {
        if (msgpack_pack_bin(&m->pk, STK_UUID_LEN) != 0 ||
            msgpack_pack_bin_body(&m->pk, b, STK_UUID_LEN) != 0)
            m->err = STK_ENOMEM;
    } else {
        stk_uuid_t u;
        char s[STK_UUID_STR_LEN + 1];
        memcpy(u.b, b, STK_UUID_LEN);
        stk_uuid_format(&u, s);
        em_put(m, json_string(s));
    }
}

static void em_ref(em_t *m, const stk_live_ref_t *ref)
{
    if (!ref || ref->kind == STK_LIVE_REF_NONE)
        em_null(m);
    else if (ref->kind == STK_LIVE_REF_NUM)
        em_uint(m, ref->num);
    else
        em_strn(m, ref->str, ref->len);
}

static int em_finish(em_t *m, stk_live_buf_t *out)
{
    int rc = m->err;
    out->data = NULL;
    out->len = 0;
    if (rc == 0) {
        if (m->fmt == STK_LIVE_MSGPACK) {
            out->len = m->sb.size;
            out->data = (uint8_t *)msgpack_sbuffer_release(&m->sb);
            if (!out->data)
                rc = STK_ENOMEM;
        } else {
            char *s = m->root ? json_dumps(m->root, JSON_COMPACT) : NULL;
            if (!s) {
                rc = STK_ENOMEM;
            } else {
                out->data = (uint8_t *)s;
                out->len = strlen(s);
            }
        }
    }
    while (m->depth > 0)
        json_decref(m->stack[--m->depth]);
    json_decref(m->root);
    msgpack_sbuffer_destroy(&m->sb);
    if (rc != 0)
        out->len = 0;
    return rc;
}

static void em_color(em_t *m, uint32_t rgb)
{
    char c[8];
    if (stk_game_color_format(rgb, c) != 0)
        strcpy(c, "#000000");
    em_str(m, c);
}

/* key + value in one call, so each field of a message is one line; the wire bytes are
 * those of em_key followed by em_<type>. */
#define EM_KEYED(type, arg_t)                                                                      \
    static void em_key_##type(em_t *m, const char *k, arg_t v)                                     \
    {                                                                                              \
        em_key(m, k);                                                                              \
        em_##type(m, v);                                                                           \
    }
EM_KEYED(str, const char *)
EM_KEYED(uint, uint64_t)
EM_KEYED(int, int64_t)
EM_KEYED(bool, bool)
EM_KEYED(hash, uint64_t)
EM_KEYED(color, uint32_t)
EM_KEYED(uuid, const uint8_t *)
EM_KEYED(ref, const stk_live_ref_t *)
#undef EM_KEYED

/* A server message is a map of n fields whose first is "op"; em_done closes it. */
static void em_begin(em_t *m, stk_live_format_t fmt, size_t n, const char *op)
{
    em_init(m, fmt);
    em_map(m, n);
    em_key_str(m, "op", op);
}

static int em_done(em_t *m, stk_live_buf_t *out)
{
    em_end(m);
    return em_finish(m, out);
}

/* {"x": .., "y": ..} of a map cell */
static void em_key_cell(em_t *m, const char *k, uint64_t x, uint64_t y)
{
    em_key(m, k);
    em_map(m, 2);
    em_key_uint(m, "x", x);
    em_key_uint(m, "y", y);
    em_end(m);
}

/* ---- server messages ---------------------------------------------------------------- */

int stk_live_encode_ack(stk_live_format_t fmt, const stk_live_ref_t *ref, uint64_t seq,
                        uint64_t tick, stk_live_buf_t *out)
{
    if (!out)
        return STK_EINVAL;
    em_t m;
    em_begin(&m, fmt, 4, "ack");
    em_key_ref(&m, "ref", ref);
    em_key_uint(&m, "seq", seq);
    em_key_uint(&m, "tick", tick);
    return em_done(&m, out);
}

int stk_live_encode_reject(stk_live_format_t fmt, const stk_live_ref_t *ref, const char *code,
                           const char *message, stk_live_buf_t *out)
{
    if (!out || !code || !message)
        return STK_EINVAL;
    em_t m;
    em_begin(&m, fmt, 4, "reject");
    em_key_ref(&m, "ref", ref);
    em_key_str(&m, "code", code);
    em_key_str(&m, "message", message);
    return em_done(&m, out);
}

static const char *enemy_name(const stk_game_t *g, int kind)
{
    const stk_balance_t *b = stk_game_balance(g);
    if (kind >= 0 && kind < STK_ENEMY_KINDS)
        return b->enemy[kind].name;
    return "unknown";
}

static const char *tower_name(const stk_game_t *g, int kind)
{
    const stk_balance_t *b = stk_game_balance(g);
    if (kind >= 0 && kind < STK_TOWER_KINDS)
        return b->tower[kind].name;
    return "unknown";
}

static void em_enemies(em_t *m, const stk_game_t *g, bool with_wave)
{
    size_t n = stk_game_enemy_count(g);
    em_arr(m, n);
    for (size_t i = 0; i < n; i++) {
        stk_game_enemy_info_t e;
        if (stk_game_enemy(g, i, &e) != 0)
            memset(&e, 0, sizeof e);
        em_map(m, with_wave ? 6 : 5);
        em_key_uint(m, "id", e.id);
        em_key_str(m, "type", enemy_name(g, e.kind));
        em_key_int(m, "x", e.px);
        em_key_int(m, "y", e.py);
        em_key_int(m, "health", e.health);
        if (with_wave)
            em_key_uint(m, "wave", e.wave);
        em_end(m);
    }
    em_end(m);
}

/* The players: every field in a welcome's snapshot (full), only what changes during play
 * (index, gold, connected) in a state message, in the same order. */
static void em_players(em_t *m, const stk_game_t *g, bool full)
{
    size_t n = stk_game_player_count(g);
    em_arr(m, n);
    for (size_t i = 0; i < n; i++) {
        stk_game_player_info_t p;
        if (stk_game_player(g, i, &p) != 0)
            memset(&p, 0, sizeof p);
        em_map(m, full ? 13 : 3);
        em_key_uint(m, "index", i);
        if (full) {
            em_key_uuid(m, "user", p.id);
            em_key_uuid(m, "tribe", p.tribe);
            em_key_color(m, "color", p.color);
            em_key_uint(m, "damage_bp", p.damage_bp);
            em_key_uint(m, "attack_speed_bp", p.attack_speed_bp);
            em_key_uint(m, "range_bp", p.range_bp);
        }
        em_key_uint(m, "gold", p.gold);
        if (full) {
            em_key_uint(m, "kills", p.kills);
            em_key_bool(m, "ready", p.ready);
        }
        em_key_bool(m, "connected", p.connected);
        if (full) {
            em_key_bool(m, "left", p.left);
            em_key_bool(m, "host", p.host);
        }
        em_end(m);
    }
    em_end(m);
}

static uint32_t countdown_of(const stk_game_t *g)
{
    return stk_game_wave_countdown(g);
}

int stk_live_encode_welcome(stk_live_format_t fmt, const stk_live_ref_t *ref,
                            const stk_uuid_t *session, const stk_uuid_t *map_id,
                            const stk_live_you_t *you, uint64_t seq, const stk_game_t *g,
                            stk_live_buf_t *out)
{
    if (!session || !map_id || !you || !g || !out)
        return STK_EINVAL;
    em_t m;
    em_begin(&m, fmt, 9, "welcome");
    em_key_ref(&m, "ref", ref);
    em_key_uint(&m, "protocol", STK_LIVE_PROTOCOL);
    em_key_uuid(&m, "session", session->b);
    em_key(&m, "you");
    em_map(&m, 4);
    em_key_uuid(&m, "user", you->user.b);
    em_key_int(&m, "player", you->player);
    em_key_bool(&m, "spectator", you->spectator);
    em_key_bool(&m, "host", you->host);
    em_end(&m);
    em_key_uint(&m, "seq", seq);
    em_key_uint(&m, "tick", stk_game_tick(g));
    em_key_uint(&m, "tick_rate", stk_game_tick_rate(g));

    em_key(&m, "snapshot");
    em_map(&m, 12);
    em_key_str(&m, "state", stk_game_state_name(stk_game_state(g)));
    em_key_str(&m, "result", stk_game_result_name(stk_game_result(g)));
    em_key_uint(&m, "tick", stk_game_tick(g));
    em_key_uint(&m, "wave", stk_game_wave(g));
    em_key_uint(&m, "waves", stk_game_wave_count(g));
    em_key_int(&m, "lives", stk_game_lives(g));
    em_key_uint(&m, "countdown", countdown_of(g));
    em_key_bool(&m, "spawning", stk_game_wave_spawning(g));
    const stk_map_t *map = stk_game_map(g);
    em_key(&m, "map");
    em_map(&m, 5);
    em_key_uuid(&m, "id", map_id->b);
    em_key_uint(&m, "width", map->width);
    em_key_uint(&m, "height", map->height);
    em_key_cell(&m, "spawn", map->spawn.x, map->spawn.y);
    em_key_cell(&m, "goal", map->goal.x, map->goal.y);
    em_end(&m);

    em_key(&m, "players");
    em_players(&m, g, true);

    size_t nt = stk_game_tower_count(g);
    em_key(&m, "towers");
    em_arr(&m, nt);
    for (size_t i = 0; i < nt; i++) {
        stk_game_tower_info_t t;
        if (stk_game_tower(g, i, &t) != 0)
            memset(&t, 0, sizeof t);
        em_map(&m, 7);
        em_key_uint(&m, "id", t.id);
        em_key_uint(&m, "owner", t.owner);
        em_key_str(&m, "tower", tower_name(g, t.kind));
        em_key_uint(&m, "level", t.level);
        em_key_uint(&m, "x", t.x);
        em_key_uint(&m, "y", t.y);
        em_key_uint(&m, "spent", t.spent);
        em_end(&m);
    }
    em_end(&m);
    em_key(&m, "enemies");
    em_enemies(&m, g, true);
    em_end(&m); /* snapshot */
    return em_done(&m, out);
}

int stk_live_encode_state(stk_live_format_t fmt, const stk_game_t *g, stk_live_buf_t *out)
{
    if (!g || !out)
        return STK_EINVAL;
    em_t m;
    em_begin(&m, fmt, 9, "state");
    em_key_uint(&m, "tick", stk_game_tick(g));
    em_key_str(&m, "state", stk_game_state_name(stk_game_state(g)));
    em_key_uint(&m, "wave", stk_game_wave(g));
    em_key_int(&m, "lives", stk_game_lives(g));
    em_key_uint(&m, "countdown", countdown_of(g));
    em_key_bool(&m, "spawning", stk_game_wave_spawning(g));
    em_key(&m, "players");
    em_players(&m, g, false);
    em_key(&m, "enemies");
    em_enemies(&m, g, false);
    return em_done(&m, out);
}

int stk_live_encode_end(stk_live_format_t fmt, const stk_game_t *g, stk_live_buf_t *out)
{
    if (!g || !out)
        return STK_EINVAL;
    em_t m;
    em_begin(&m, fmt, 6, "end");
    em_key_str(&m, "result", stk_game_result_name(stk_game_result(g)));
    em_key_uint(&m, "wave", stk_game_wave(g));
    em_key_int(&m, "lives", stk_game_lives(g));
    em_key_uint(&m, "tick", stk_game_tick(g));
    em_key_hash(&m, "hash", stk_game_hash(g));
    return em_done(&m, out);
}

/* The payload value of an event message: JSON through events/json.h; MessagePack the stored
 * map itself (a SessionOpened is re-packed without its two bins). */
static int is_dropped_key(const msgpack_object *k)
{
    return k->type == MSGPACK_OBJECT_STR &&
           ((k->via.str.size == 7 && memcmp(k->via.str.ptr, "balance", 7) == 0) ||
            (k->via.str.size == 3 && memcmp(k->via.str.ptr, "map", 3) == 0));
}

static int em_payload(em_t *m, const stk_envelope_t *e)
{
    bool opened = e->type == STK_EV_SESSION_OPENED;
    if (m->fmt == STK_LIVE_JSON) {
        json_t *obj = NULL;
        int rc = stk_json_from_payload(e->type, e->schema, e->payload, e->payload_len, &obj, NULL);
        if (rc != 0)
            return rc;
        if (opened) {
            json_object_del(obj, "balance");
            json_object_del(obj, "map");
        }
        em_put(m, obj);
        return 0;
    }
    if (!opened) {
        if (e->payload_len == 0)
            return msgpack_pack_map(&m->pk, 0) == 0 ? 0 : STK_ENOMEM;
        return msgpack_sbuffer_write(&m->sb, (const char *)e->payload, e->payload_len) == 0
                   ? 0
                   : STK_ENOMEM;
    }
    msgpack_zone zone;
    msgpack_object obj;
    size_t off = 0;
    if (!msgpack_zone_init(&zone, 1024))
        return STK_ENOMEM;
    int rc = STK_EDECODE;
    if (msgpack_unpack((const char *)e->payload, e->payload_len, &off, &zone, &obj) ==
            MSGPACK_UNPACK_SUCCESS &&
        obj.type == MSGPACK_OBJECT_MAP) {
        size_t keep = 0;
        for (uint32_t i = 0; i < obj.via.map.size; i++)
            keep += !is_dropped_key(&obj.via.map.ptr[i].key);
        rc = msgpack_pack_map(&m->pk, keep) == 0 ? 0 : STK_ENOMEM;
        for (uint32_t i = 0; rc == 0 && i < obj.via.map.size; i++) {
            const msgpack_object_kv *kv = &obj.via.map.ptr[i];
            if (is_dropped_key(&kv->key))
                continue;
            if (msgpack_pack_object(&m->pk, kv->key) != 0 ||
                msgpack_pack_object(&m->pk, kv->val) != 0)
                rc = STK_ENOMEM;
        }
    }
    msgpack_zone_destroy(&zone);
    return rc;
}

int stk_live_encode_event(stk_live_format_t fmt, const stk_envelope_t *e, stk_live_buf_t *out)
{
    if (!e || !out)
        return STK_EINVAL;
    const stk_event_type_t *t = stk_event_type_by_id(e->type);
    if (!t)
        return STK_ETYPE;
    em_t m;
    em_begin(&m, fmt, 7, "event");
    em_key_uint(&m, "seq", e->seq);
    em_key_uint(&m, "version", e->version);
    em_key_uint(&m, "tick", e->tick);
    em_key_str(&m, "type", t->name);
    em_key_uuid(&m, "actor", e->actor.b);
    em_key(&m, "payload");
    int rc = em_payload(&m, e);
    if (rc != 0 && m.err == 0)
        m.err = rc;
    return em_done(&m, out);
}
