/* tests/support/wire.c — socket send, header lookup and WebSocket frame encoding for the
 * test clients (see wire.h). */
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

int stk_test_send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

bool stk_test_http_header(const char *headers, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *s = headers;
    /* Each match starts right after a CRLF, which skips the status/request line. */
    while ((s = strstr(s, "\r\n")) != NULL) {
        s += 2;
        if (strncasecmp(s, name, nl) == 0 && s[nl] == ':') {
            const char *v = s + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t l = e ? (size_t)(e - v) : strlen(v);
            if (l >= cap)
                l = cap - 1;
            memcpy(out, v, l);
            out[l] = '\0';
            return true;
        }
    }
    return false;
}

size_t stk_test_ws_frame(uint8_t *out, bool fin, int opcode, const uint8_t *mask, const void *data,
                         size_t len)
{
    size_t h = 0;
    uint8_t mbit = mask ? 0x80 : 0;
    out[h++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[h++] = (uint8_t)(mbit | len);
    } else if (len < 65536) {
        out[h++] = mbit | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = mbit | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (mask) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    const uint8_t *d = data;
    for (size_t i = 0; i < len; i++)
        out[h + i] = mask ? (uint8_t)(d[i] ^ mask[i & 3]) : d[i];
    return h + len;
}
