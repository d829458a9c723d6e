/* events/payload.c — payload validation against the tables of events/types.def, typed
 * readers over an unpacked payload, and the key+value writers.
 *
 * Not here: the tables themselves and the cross-field hooks (events/types.c), JSON
 * (events/json.c), upcasting (events/upcast.c).
 *
 * Validation runs in three steps: scan() walks the raw bytes once without allocating
 * (structure, truncation, depth, item counts bounded by the bytes left), msgpack_unpack()
 * builds the object tree in a zone, and check_fields() walks the tree against the table.
 * Only the table's keys are ever descended into, so the schema bounds the work too.
 */
#include "events/payload.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define ZONE_CHUNK 4096

int stk_payload_fail(stk_payload_error_t *err, int code, const char *path, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        snprintf(err->path, sizeof err->path, "%s", path != NULL ? path : "");
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- raw scan --------------------------------------------------------------------- */

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Check that p[0..len) is exactly one well-formed MessagePack value, nested at most
 * STK_PAYLOAD_DEPTH deep, whose containers claim no more items than bytes remain (each
 * item takes at least one byte). Allocates nothing. */
static int scan(const uint8_t *p, size_t len, stk_payload_error_t *err)
{
    uint64_t left[STK_PAYLOAD_DEPTH + 1]; /* items still to read at each open level */
    int depth = 0;
    size_t off = 0;

    left[0] = 1;
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        left[depth]--;
        if (off >= len)
            return stk_payload_fail(err, STK_ETRUNC, "", "input ends inside a value");
        uint8_t b = p[off++];
        size_t lenbytes = 0; /* size of a length field that follows b */
        uint64_t skip = 0;   /* fixed bytes that follow (after any length field) */
        uint64_t items = 0;  /* container: number of child values */
        int container = 0;
        if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3 && b != 0xc1)) {
            /* fixint, nil, bool */
        } else if (b <= 0x8f) {
            container = 1;
            items = 2u * (b & 0x0fu);
        } else if (b <= 0x9f) {
            container = 1;
            items = b & 0x0fu;
        } else if (b <= 0xbf) {
            skip = b & 0x1fu;
        } else {
            switch (b) {
            case 0xc4:
            case 0xd9:
                lenbytes = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                lenbytes = 2;
                break; /* bin16, str16 */
            case 0xc6:
            case 0xdb:
                lenbytes = 4;
                break; /* bin32, str32 */
            case 0xc7:
                lenbytes = 1;
                skip = 1;
                break; /* ext8 (+type) */
            case 0xc8:
                lenbytes = 2;
                skip = 1;
                break; /* ext16 */
            case 0xc9:
                lenbytes = 4;
                skip = 1;
                break; /* ext32 */
            case 0xca:
                skip = 4;
                break; /* float32 */
            case 0xcb:
                skip = 8;
                break; /* float64 */
            case 0xcc:
            case 0xd0:
                skip = 1;
                break; /* (u)int8 */
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break; /* fixext1..16 */
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
            case 0xde:
                lenbytes = 2;
                container = 1;
                break; /* array16, map16 */
            case 0xdd:
            case 0xdf:
                lenbytes = 4;
                container = 1;
                break; /* array32, map32 */
            default:
                return stk_payload_fail(err, STK_EDECODE, "", "invalid MessagePack byte 0x%02x",
                                        (unsigned)b);
            }
        }
        if (lenbytes > 0) {
            if (len - off < lenbytes)
                return stk_payload_fail(err, STK_ETRUNC, "", "input ends inside a header");
            uint64_t n = be(p + off, lenbytes);
            off += lenbytes;
            if (container)
                items = (b == 0xde || b == 0xdf) ? 2u * n : n;
            else
                skip += n;
        }
        if (container) {
            if (items > len - off)
                return stk_payload_fail(err, STK_ETRUNC, "",
                                        "container claims %llu items, %zu bytes left",
                                        (unsigned long long)items, len - off);
            if (depth + 1 > STK_PAYLOAD_DEPTH)
                return stk_payload_fail(err, STK_EDECODE, "", "nested deeper than %d levels",
                                        STK_PAYLOAD_DEPTH);
            left[++depth] = items;
        } else {
            if (skip > len - off)
                return stk_payload_fail(err, STK_ETRUNC, "", "input ends inside a value");
            off += (size_t)skip;
        }
    }
    if (off != len)
        return stk_payload_fail(err, STK_EDECODE, "", "%zu trailing bytes after the value",
                                len - off);
    return 0;
}

int stk_payload_open(stk_payload_t *p, const uint8_t *mp, size_t len, stk_payload_error_t *err)
{
    memset(p, 0, sizeof *p);
    if (mp == NULL && len > 0)
        return stk_payload_fail(err, STK_EINVAL, "", "no input");
    if (len > STK_PAYLOAD_MAX)
        return stk_payload_fail(err, STK_ETOOBIG, "", "payload of %zu bytes exceeds %u", len,
                                (unsigned)STK_PAYLOAD_MAX);
    if (len == 0)
        return stk_payload_fail(err, STK_ETRUNC, "", "empty payload");
    int rc = scan(mp, len, err);
    if (rc != 0)
        return rc;
    if (!msgpack_zone_init(&p->zone, ZONE_CHUNK))
        return stk_payload_fail(err, STK_ENOMEM, "", "out of memory");
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack((const char *)mp, len, &off, &p->zone, &p->root);
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        /* scan() accepted it, so only memory can fail here; map the rest defensively. */
        rc = ur == MSGPACK_UNPACK_NOMEM_ERROR ? STK_ENOMEM
             : ur == MSGPACK_UNPACK_CONTINUE  ? STK_ETRUNC
                                              : STK_EDECODE;
        stk_payload_fail(err, rc, "", "msgpack_unpack failed (%d)", (int)ur);
        goto fail;
    }
    if (p->root.type != MSGPACK_OBJECT_MAP) {
        rc = stk_payload_fail(err, STK_EDECODE, "", "payload is not a map");
        goto fail;
    }
    return 0;
fail:
    msgpack_zone_destroy(&p->zone);
    memset(p, 0, sizeof *p);
    return rc;
}

void stk_payload_close(stk_payload_t *p)
{
    if (p == NULL)
        return;
    if (p->zone.chunk_size != 0)
        msgpack_zone_destroy(&p->zone);
    memset(p, 0, sizeof *p);
}

const msgpack_object *stk_payload_root(const stk_payload_t *p)
{
    return &p->root;
}

/* ---- validation ------------------------------------------------------------------- */

static const char *object_kind(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "negative int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    }
    return "unknown";
}

static const char *field_kind(stk_field_kind_t k)
{
    switch (k) {
    case STK_FK_UINT:
        return "uint";
    case STK_FK_INT:
        return "int";
    case STK_FK_BOOL:
        return "bool";
    case STK_FK_STR:
        return "str";
    case STK_FK_BIN:
        return "bin";
    case STK_FK_UUID:
        return "uuid (bin of 16 bytes)";
    case STK_FK_MAP:
        return "map";
    case STK_FK_ARRAY:
        return "array";
    }
    return "?";
}

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF) without NUL.
 * Returns the number of code points, or -1. */
static long long utf8_count(const uint8_t *s, size_t n)
{
    long long cps = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t extra;
        uint32_t cp;
        if (c == 0)
            return -1;
        if (c < 0x80) {
            i++;
            cps++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07u;
        } else {
            return -1;
        }
        if (n - i - 1 < extra)
            return -1;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0u) != 0x80u)
                return -1;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        i += extra + 1;
        cps++;
    }
    return cps;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int enum_has(const char *values, const char *s, size_t n)
{
    const char *w = values;
    while (*w != '\0') {
        const char *e = strchr(w, '|');
        size_t wl = e != NULL ? (size_t)(e - w) : strlen(w);
        if (wl == n && memcmp(w, s, n) == 0)
            return 1;
        if (e == NULL)
            break;
        w = e + 1;
    }
    return 0;
}

/* Append ".key" (printable, bounded) to path into out. */
static void path_key(char *out, size_t cap, const char *path, const char *key, size_t klen)
{
    char k[40];
    size_t j = 0;
    for (size_t i = 0; i < klen && j + 4 < sizeof k; i++)
        k[j++] = (key[i] >= 0x20 && key[i] < 0x7f) ? key[i] : '?';
    if (klen > 0 && j < klen && j + 4 >= sizeof k) {
        memcpy(k + j, "...", 3);
        j += 3;
    }
    k[j] = '\0';
    snprintf(out, cap, "%s%s%s", path, path[0] != '\0' ? "." : "", k);
}

static int check_value(const stk_field_t *f, const msgpack_object *o, const char *path, int depth,
                       stk_payload_error_t *err);

int stk_payload_check_fields(const stk_fields_t *fields, const msgpack_object *map,
                             const char *path, int depth, stk_payload_error_t *err)
{
    uint64_t seen = 0;
    char sub[sizeof err->path];

    if (map->type != MSGPACK_OBJECT_MAP)
        return stk_payload_fail(err, STK_ESCHEMA, path, "expected map, got %s", object_kind(map));
    if (fields->n > 64)
        return stk_payload_fail(err, STK_EINVAL, path, "field table too large");
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return stk_payload_fail(err, STK_ESCHEMA, path, "key of kind %s, keys are str",
                                    object_kind(&kv->key));
        const char *k = kv->key.via.str.ptr;
        size_t kl = kv->key.via.str.size;
        path_key(sub, sizeof sub, path, k, kl);
        size_t j;
        for (j = 0; j < fields->n; j++)
            if (strlen(fields->f[j].key) == kl && memcmp(fields->f[j].key, k, kl) == 0)
                break;
        if (j == fields->n)
            return stk_payload_fail(err, STK_ESCHEMA, sub, "unknown key");
        if (seen & (1ull << j))
            return stk_payload_fail(err, STK_ESCHEMA, sub, "duplicate key");
        seen |= 1ull << j;
        int rc = check_value(&fields->f[j], &kv->val, sub, depth, err);
        if (rc != 0)
            return rc;
    }
    for (size_t j = 0; j < fields->n; j++) {
        if ((fields->f[j].flags & STK_FF_REQUIRED) && !(seen & (1ull << j))) {
            path_key(sub, sizeof sub, path, fields->f[j].key, strlen(fields->f[j].key));
            return stk_payload_fail(err, STK_ESCHEMA, sub, "missing required key");
        }
    }
    return 0;
}

static int check_value(const stk_field_t *f, const msgpack_object *o, const char *path, int depth,
                       stk_payload_error_t *err)
{
    int ok_kind;
    switch (f->kind) {
    case STK_FK_UINT:
        ok_kind = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
        break;
    case STK_FK_INT:
        ok_kind = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
                  o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
        break;
    case STK_FK_BOOL:
        ok_kind = o->type == MSGPACK_OBJECT_BOOLEAN;
        break;
    case STK_FK_STR:
        ok_kind = o->type == MSGPACK_OBJECT_STR;
        break;
    case STK_FK_BIN:
    case STK_FK_UUID:
        ok_kind = o->type == MSGPACK_OBJECT_BIN;
        break;
    case STK_FK_MAP:
        ok_kind = o->type == MSGPACK_OBJECT_MAP;
        break;
    case STK_FK_ARRAY:
        ok_kind = o->type == MSGPACK_OBJECT_ARRAY;
        break;
    default:
        ok_kind = 0;
        break;
    }
    if (!ok_kind)
        return stk_payload_fail(err, STK_ESCHEMA, path, "expected %s, got %s", field_kind(f->kind),
                                object_kind(o));

    switch (f->kind) {
    case STK_FK_UINT:
        if (o->via.u64 < f->min || o->via.u64 > f->max)
            return stk_payload_fail(err, STK_ESCHEMA, path, "%llu out of range %llu..%llu",
                                    (unsigned long long)o->via.u64, (unsigned long long)f->min,
                                    (unsigned long long)f->max);
        return 0;
    case STK_FK_INT: {
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > (uint64_t)INT64_MAX)
            return stk_payload_fail(err, STK_ESCHEMA, path, "%llu does not fit an int64",
                                    (unsigned long long)o->via.u64);
        int64_t v = o->via.i64;
        if (v < f->imin || v > f->imax)
            return stk_payload_fail(err, STK_ESCHEMA, path, "%lld out of range %lld..%lld",
                                    (long long)v, (long long)f->imin, (long long)f->imax);
        return 0;
    }
    case STK_FK_BOOL:
        return 0;
    case STK_FK_STR: {
        const char *s = o->via.str.ptr;
        size_t n = o->via.str.size;
        long long cps = utf8_count((const uint8_t *)s, n);
        if (cps < 0)
            return stk_payload_fail(err, STK_ESCHEMA, path, "not valid UTF-8 (or has NUL)");
        if ((uint64_t)cps < f->min || (uint64_t)cps > f->max)
            return stk_payload_fail(err, STK_ESCHEMA, path, "length %lld out of range %llu..%llu",
                                    cps, (unsigned long long)f->min, (unsigned long long)f->max);
        if (f->fmt == STK_FMT_ENUM && !enum_has(f->values, s, n))
            return stk_payload_fail(err, STK_ESCHEMA, path, "not one of %s", f->values);
        if (f->fmt == STK_FMT_COLOR) {
            int good = n == 7 && s[0] == '#';
            for (size_t i = 1; good && i < 7; i++)
                good = is_hex(s[i]);
            if (!good)
                return stk_payload_fail(err, STK_ESCHEMA, path, "not a #RRGGBB color");
        }
        return 0;
    }
    case STK_FK_BIN:
        if (o->via.bin.size < f->min || o->via.bin.size > f->max)
            return stk_payload_fail(err, STK_ESCHEMA, path, "%u bytes, expected %llu..%llu",
                                    (unsigned)o->via.bin.size, (unsigned long long)f->min,
                                    (unsigned long long)f->max);
        return 0;
    case STK_FK_UUID:
        if (o->via.bin.size != STK_UUID_LEN)
            return stk_payload_fail(err, STK_ESCHEMA, path, "uuid of %u bytes, expected %d",
                                    (unsigned)o->via.bin.size, STK_UUID_LEN);
        return 0;
    case STK_FK_MAP:
        if (depth + 1 > STK_PAYLOAD_DEPTH)
            return stk_payload_fail(err, STK_ESCHEMA, path, "nested too deeply");
        return stk_payload_check_fields(f->sub, o, path, depth + 1, err);
    case STK_FK_ARRAY: {
        uint32_t n = o->via.array.size;
        char sub[sizeof err->path];
        if (n < f->min || n > f->max)
            return stk_payload_fail(err, STK_ESCHEMA, path, "%u items, expected %llu..%llu",
                                    (unsigned)n, (unsigned long long)f->min,
                                    (unsigned long long)f->max);
        if (depth + 1 > STK_PAYLOAD_DEPTH)
            return stk_payload_fail(err, STK_ESCHEMA, path, "nested too deeply");
        for (uint32_t i = 0; i < n; i++) {
            snprintf(sub, sizeof sub, "%s[%u]", path, (unsigned)i);
            int rc = check_value(f->elem, &o->via.array.ptr[i], sub, depth + 1, err);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    }
    return stk_payload_fail(err, STK_EINVAL, path, "bad field table");
}

int stk_payload_open_checked(stk_payload_t *p, uint16_t type, uint16_t schema_version,
                             const uint8_t *mp, size_t len, stk_payload_error_t *err)
{
    memset(p, 0, sizeof *p);
    if (stk_event_type_by_id(type) == NULL)
        return stk_payload_fail(err, STK_ETYPE, "", "unknown event type %u", (unsigned)type);
    const stk_schema_t *s = stk_event_schema(type, schema_version);
    if (s == NULL)
        return stk_payload_fail(err, STK_EVERSION, "", "%s has no schema version %u",
                                stk_event_type_by_id(type)->name, (unsigned)schema_version);
    int rc = stk_payload_open(p, mp, len, err);
    if (rc != 0)
        return rc;
    rc = stk_payload_check_fields(s->fields, &p->root, "", 1, err);
    if (rc == 0 && s->hook != NULL)
        rc = s->hook(&p->root, err);
    if (rc != 0)
        stk_payload_close(p);
    return rc;
}

int stk_payload_check(uint16_t type, uint16_t schema_version, const uint8_t *mp, size_t len,
                      stk_payload_error_t *err)
{
    stk_payload_t p;
    int rc = stk_payload_open_checked(&p, type, schema_version, mp, len, err);
    if (rc == 0)
        stk_payload_close(&p);
    return rc;
}

/* ---- readers ---------------------------------------------------------------------- */

const msgpack_object *stk_payload_find(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
            memcmp(k->via.str.ptr, key, kl) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

#define FIND_OR_RETURN(o, map, key, want)                                                          \
    const msgpack_object *o = stk_payload_find(map, key);                                          \
    if (o == NULL)                                                                                 \
        return STK_ENOTFOUND;                                                                      \
    if (o->type != (want))                                                                         \
        return STK_ESCHEMA;

int stk_payload_as_uint(const msgpack_object *o, uint64_t *v)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return STK_ESCHEMA;
    *v = o->via.u64;
    return 0;
}

int stk_payload_get_uint(const msgpack_object *map, const char *key, uint64_t *v)
{
    FIND_OR_RETURN(o, map, key, MSGPACK_OBJECT_POSITIVE_INTEGER)
    *v = o->via.u64;
    return 0;
}

int stk_payload_get_int(const msgpack_object *map, const char *key, int64_t *v)
{
    const msgpack_object *o = stk_payload_find(map, key);
    if (o == NULL)
        return STK_ENOTFOUND;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
        (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX)) {
        *v = o->via.i64;
        return 0;
    }
    return STK_ESCHEMA;
}

int stk_payload_get_bool(const msgpack_object *map, const char *key, bool *v)
{
    FIND_OR_RETURN(o, map, key, MSGPACK_OBJECT_BOOLEAN)
    *v = o->via.boolean;
    return 0;
}

int stk_payload_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len)
{
    FIND_OR_RETURN(o, map, key, MSGPACK_OBJECT_STR)
    *s = o->via.str.ptr;
    *len = o->via.str.size;
    return 0;
}

int stk_payload_get_bin(const msgpack_object *map, const char *key, const uint8_t **b, size_t *len)
{
    FIND_OR_RETURN(o, map, key, MSGPACK_OBJECT_BIN)
    *b = (const uint8_t *)o->via.bin.ptr;
    *len = o->via.bin.size;
    return 0;
}

int stk_payload_get_uuid(const msgpack_object *map, const char *key, stk_uuid_t *u)
{
    FIND_OR_RETURN(o, map, key, MSGPACK_OBJECT_BIN)
    if (o->via.bin.size != STK_UUID_LEN)
        return STK_ESCHEMA;
    memcpy(u->b, o->via.bin.ptr, STK_UUID_LEN);
    return 0;
}

int stk_payload_get_map(const msgpack_object *map, const char *key, const msgpack_object **m)
{
    FIND_OR_RETURN(o, map, key, MSGPACK_OBJECT_MAP)
    *m = o;
    return 0;
}

int stk_payload_get_array(const msgpack_object *map, const char *key, const msgpack_object **items,
                          size_t *n)
{
    FIND_OR_RETURN(o, map, key, MSGPACK_OBJECT_ARRAY)
    *items = o->via.array.ptr;
    *n = o->via.array.size;
    return 0;
}

/* ---- writers ---------------------------------------------------------------------- */

static int put_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    if (msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, key, n) != 0)
        return STK_ENOMEM;
    return 0;
}

#define PUT(pk, key, call)                                                                         \
    do {                                                                                           \
        if (put_key(pk, key) != 0 || (call) != 0)                                                  \
            return STK_ENOMEM;                                                                     \
        return 0;                                                                                  \
    } while (0)

int stk_payload_put_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
    PUT(pk, key, msgpack_pack_uint64(pk, v));
}

int stk_payload_put_int(msgpack_packer *pk, const char *key, int64_t v)
{
    PUT(pk, key, msgpack_pack_int64(pk, v));
}

int stk_payload_put_bool(msgpack_packer *pk, const char *key, bool v)
{
    PUT(pk, key, v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

int stk_payload_put_str(msgpack_packer *pk, const char *key, const char *s, size_t len)
{
    PUT(pk, key, msgpack_pack_str_with_body(pk, s, len));
}

int stk_payload_put_cstr(msgpack_packer *pk, const char *key, const char *s)
{
    return stk_payload_put_str(pk, key, s, strlen(s));
}

int stk_payload_put_bin(msgpack_packer *pk, const char *key, const void *b, size_t len)
{
    PUT(pk, key, msgpack_pack_bin_with_body(pk, b, len));
}

int stk_payload_put_uuid(msgpack_packer *pk, const char *key, const stk_uuid_t *u)
{
    PUT(pk, key, msgpack_pack_bin_with_body(pk, u->b, STK_UUID_LEN));
}

int stk_payload_put_map(msgpack_packer *pk, const char *key, size_t n)
{
    PUT(pk, key, msgpack_pack_map(pk, n));
}

int stk_payload_put_array(msgpack_packer *pk, const char *key, size_t n)
{
    PUT(pk, key, msgpack_pack_array(pk, n));
}
