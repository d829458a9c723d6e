/* tests/support/test_support.c — the shared test scaffolding itself: temp dirs are made
 * fresh under /tmp and removed with everything below them without following links out of
 * the tree; the header lookup skips the first line, ignores case and truncates to the
 * caller's buffer; send_all delivers every byte; frames take each length form. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "tests/support/wire.h"
#include "tests/support/tmpdir.h"

static void touch(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fputs("x", f);
    fclose(f);
}

Test(tmpdir, make_creates_a_fresh_tagged_directory_each_call)
{
    char a[64], b[64];
    cr_assert_eq(stk_test_tmpdir_make(a, sizeof a, "support"), 0);
    cr_assert_eq(stk_test_tmpdir_make(b, sizeof b, "support"), 0);
    cr_assert_eq(strncmp(a, "/tmp/stk-test-support-", 22), 0, "%s", a);
    cr_assert_str_neq(a, b);
    struct stat st;
    cr_assert_eq(stat(a, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    stk_test_tmpdir_remove(a);
    stk_test_tmpdir_remove(b);
}

Test(tmpdir, make_refuses_a_buffer_too_small_for_the_path)
{
    char small[16];
    cr_assert_eq(stk_test_tmpdir_make(small, sizeof small, "support"), STK_EINVAL);
    cr_assert_eq(stk_test_tmpdir_make(NULL, 64, "support"), STK_EINVAL);
}

Test(tmpdir, remove_deletes_nested_trees_but_not_what_links_point_to)
{
    char outside[64], root[64], p[256];
    cr_assert_eq(stk_test_tmpdir_make(outside, sizeof outside, "support-keep"), 0);
    touch(outside, "precious");
    cr_assert_eq(stk_test_tmpdir_make(root, sizeof root, "support"), 0);
    snprintf(p, sizeof p, "%s/a", root);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b", root);
    cr_assert_eq(mkdir(p, 0700), 0);
    touch(root, "top");
    touch(root, "a/b/deep");
    snprintf(p, sizeof p, "%s/a/link", root);
    cr_assert_eq(symlink(outside, p), 0);

    stk_test_tmpdir_remove(root);

    struct stat st;
    cr_assert_neq(lstat(root, &st), 0, "the tree is gone");
    snprintf(p, sizeof p, "%s/precious", outside);
    cr_assert_eq(stat(p, &st), 0, "the link's target is untouched");
    stk_test_tmpdir_remove(outside);
    cr_assert_neq(lstat(outside, &st), 0);
    stk_test_tmpdir_remove(root); /* already gone: harmless */
}

static const char HEAD[] = "HTTP/1.1 200 OK\r\n"
                           "Content-Type: text/plain\r\n"
                           "X-Long:   0123456789\r\n"
                           "\r\n";

Test(http_header, finds_a_header_ignoring_case_and_leading_spaces)
{
    char v[64];
    cr_assert(stk_test_http_header(HEAD, "content-type", v, sizeof v));
    cr_assert_str_eq(v, "text/plain");
    cr_assert(stk_test_http_header(HEAD, "X-Long", v, sizeof v));
    cr_assert_str_eq(v, "0123456789");
}

Test(http_header, never_matches_the_status_line_or_a_prefix)
{
    char v[64] = "untouched";
    cr_assert_not(stk_test_http_header("HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK", v, sizeof v));
    cr_assert_not(stk_test_http_header(HEAD, "Content", v, sizeof v));
    cr_assert_not(stk_test_http_header(HEAD, "Missing", v, sizeof v));
    cr_assert_str_eq(v, "untouched");
}

Test(http_header, truncates_the_value_to_the_buffer)
{
    char v[5];
    cr_assert(stk_test_http_header(HEAD, "X-Long", v, sizeof v));
    cr_assert_str_eq(v, "0123");
}

Test(send_all, delivers_every_byte_and_fails_once_the_peer_is_gone)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    static char big[100000], got[sizeof big];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    /* A writer bigger than the socket buffer: read concurrently via fork. */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(sv[0]);
        _exit(stk_test_send_all(sv[1], big, sizeof big) == 0 ? 0 : 1);
    }
    close(sv[1]);
    size_t n = 0;
    while (n < sizeof got) {
        ssize_t k = read(sv[0], got + n, sizeof got - n);
        cr_assert_gt(k, 0);
        n += (size_t)k;
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(memcmp(big, got, sizeof big), 0);
    close(sv[0]);

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[0]);
    cr_assert_eq(stk_test_send_all(sv[1], "x", 1), -1, "no SIGPIPE, an error");
    close(sv[1]);
}

Test(ws_frame, encodes_each_length_form_with_and_without_a_mask)
{
    static uint8_t payload[70000], out[sizeof payload + STK_TEST_WS_HEAD_MAX];
    const uint8_t mask[4] = {1, 2, 3, 4};
    memset(payload, 'a', sizeof payload);

    cr_assert_eq(stk_test_ws_frame(out, true, 1, mask, "hi", 2), 2 + 4 + 2);
    cr_assert_eq(out[0], 0x81);
    cr_assert_eq(out[1], 0x80 | 2);
    cr_assert_eq(memcmp(out + 2, mask, 4), 0);
    cr_assert_eq(out[6], 'h' ^ 1);
    cr_assert_eq(out[7], 'i' ^ 2);

    cr_assert_eq(stk_test_ws_frame(out, false, 2, NULL, payload, 300), 4 + 300);
    cr_assert_eq(out[0], 0x02);
    cr_assert_eq(out[1], 126);
    cr_assert_eq((out[2] << 8) | out[3], 300);
    cr_assert_eq(out[4], 'a');

    cr_assert_eq(stk_test_ws_frame(out, true, 2, mask, payload, 70000), 10 + 4 + 70000);
    cr_assert_eq(out[1], 0x80 | 127);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = (n << 8) | out[2 + i];
    cr_assert_eq(n, 70000);
    cr_assert_eq(out[14 + 5], 'a' ^ 2);
}
