/* tests/fuzz/fuzz_live_decode.c — libFuzzer target for the live-protocol decoder
 * (net/live_codec.h): the input is decoded as a JSON client message and as a MessagePack
 * one. Whatever the bytes: no crash, leak or out-of-bounds read; a decoded message has its
 * documented limits (abort otherwise); an error has a protocol code and a message; and a
 * reject built from the error's ref encodes in both formats. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/live_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(stk_live_format_t fmt, const uint8_t *data, size_t size)
{
    static stk_live_msg_t m;
    stk_live_error_t e;
    int rc = stk_live_decode(fmt, data, size, &m, &e);
    if (rc == 0) {
        if ((unsigned)m.op >= STK_LIVE_OP_COUNT || m.x > STK_LIVE_COORD_MAX ||
            m.y > STK_LIVE_COORD_MAX || m.ref.len > STK_LIVE_STR_MAX ||
            (m.ref.kind == STK_LIVE_REF_NUM && m.ref.num > STK_LIVE_REF_MAX) ||
            m.token_len > STK_LIVE_TOKEN_MAX || strlen(m.tower) > STK_LIVE_STR_MAX)
            abort();
        if (m.op != STK_LIVE_OP_AUTH && m.op != STK_LIVE_OP_HELLO &&
            m.ref.kind == STK_LIVE_REF_NONE)
            abort(); /* every op carries a ref */
        return;
    }
    if (size > STK_LIVE_MSG_MAX && e.code != STK_LIVE_REJECT_BAD_MESSAGE)
        abort();
    if ((unsigned)e.code >= STK_LIVE_REJECT_COUNT || e.message[0] == '\0')
        abort();
    for (int f = 0; f < 2; f++) {
        stk_live_buf_t b = {0};
        if (stk_live_encode_reject((stk_live_format_t)f, &e.ref, stk_live_reject_code(e.code),
                                   e.message, &b) == 0 &&
            f == STK_LIVE_MSGPACK) {
            json_t *j = NULL;
            if (stk_live_msgpack_to_json(b.data, b.len, &j) != 0)
                abort(); /* what we encode must decode */
            json_decref(j);
        }
        stk_live_buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(STK_LIVE_JSON, data, size);
    check(STK_LIVE_MSGPACK, data, size);
    json_t *j = NULL;
    if (stk_live_msgpack_to_json(data, size, &j) == 0)
        json_decref(j);
    return 0;
}
