/* tests/support/wire.h — the byte-level pieces every blocking test client needs: send a
 * whole buffer on a socket, look a header up in a raw HTTP/1.1 header section, and encode
 * one client-to-server WebSocket frame.
 *
 * Test scaffolding only (library stk_test_support), shared by the two net test clients
 * (tests/net/client.c, tests/net/testsrv.c). It is not an HTTP parser: no folding, no
 * duplicate headers, no limits beyond the caller's buffers; the server's parser is
 * net/http.h, the server's frame codec is wslay behind net/ws.h. No Criterion dependency.
 *
 * Thread: every function here may be called from any thread; they share no state.
 */
#ifndef STK_TESTS_SUPPORT_WIRE_H
#define STK_TESTS_SUPPORT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sends all len bytes of data on the connected socket fd (blocking; retries on EINTR;
 * MSG_NOSIGNAL, so a closed peer is an error, not SIGPIPE). data is borrowed.
 * Returns 0, or -1 on any send error (the socket's own timeout included); how much was
 * sent is then unknown. */
int stk_test_send_all(int fd, const void *data, size_t len);

/* Finds header `name` (case-insensitive) in headers, a NUL-terminated raw header section
 * that starts with the status or request line and has CRLF line ends; the first line is
 * never matched. Copies the value, leading spaces skipped, NUL-terminated and truncated to
 * cap - 1 bytes, into out (caller-owned, cap > 0). Returns true if found, false if not
 * (out untouched). */
bool stk_test_http_header(const char *headers, const char *name, char *out, size_t cap);

/* Bytes of frame header at most (2 + 8 length + 4 mask): a frame buffer for a payload of
 * len bytes needs len + STK_TEST_WS_HEAD_MAX. */
#define STK_TEST_WS_HEAD_MAX 14

/* Encodes one WebSocket frame (RFC 6455 section 5.2) into out, which must hold
 * len + STK_TEST_WS_HEAD_MAX bytes (caller-owned): FIN if fin, the low 4 bits of opcode, the
 * shortest length form, then the payload XOR-ed with mask (4 bytes, borrowed) and the mask
 * bit set, or sent as is with no mask bit if mask is NULL (what a server does; tests use it
 * to send frames a server must refuse). Returns the frame's length; cannot fail. */
size_t stk_test_ws_frame(uint8_t *out, bool fin, int opcode, const uint8_t *mask, const void *data,
                         size_t len);

#endif
