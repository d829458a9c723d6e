/* tests/net/test_ratelimit.c — the fixed-window limiter: exactly 100 allowed and the 101st
 * refused, remaining and reset values, window reset, independence of keys, refused requests
 * still counted, a clock stepping back, the table-full policies (closed and open, with the
 * sweep once windows end), argument limits and a bulk run. Time is passed in, never read. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "net/ratelimit.h"

#define T0 1000000 /* ms */

static stk_ratelimiter_t *RL;

static void setup(void)
{
    cr_assert_eq(stk_ratelimit_mem_create(&RL, NULL), 0);
}

static void teardown(void)
{
    stk_ratelimit_destroy(RL);
    RL = NULL;
}

TestSuite(ratelimit, .init = setup, .fini = teardown);

static stk_ratelimit_result_t hit(stk_ratelimiter_t *rl, const char *ip, const char *group,
                                  int64_t now)
{
    stk_ratelimit_result_t r;
    memset(&r, 0xab, sizeof r);
    cr_assert_eq(stk_ratelimit_hit(rl, ip, group, now, &r), 0);
    return r;
}

Test(ratelimit, hundred_requests_pass_and_the_101st_is_refused)
{
    for (unsigned i = 1; i <= 100; i++) {
        stk_ratelimit_result_t r = hit(RL, "192.0.2.1", "api", T0 + i);
        cr_assert_eq(r.allowed, 1, "request %u", i);
        cr_assert_eq(r.limit, 100);
        cr_assert_eq(r.remaining, 100 - i, "request %u", i);
        cr_assert_eq(r.untracked, 0);
    }
    stk_ratelimit_result_t r = hit(RL, "192.0.2.1", "api", T0 + 101);
    cr_assert_eq(r.allowed, 0);
    cr_assert_eq(r.remaining, 0);
    cr_assert_eq(r.reset_in_ms, 60000 - 100); /* the window began at the first request */
    cr_assert_eq(stk_ratelimit_reset_s(&r), 60);
}

Test(ratelimit, window_resets_after_sixty_seconds)
{
    for (unsigned i = 0; i < 105; i++)
        hit(RL, "192.0.2.1", "api", T0);
    cr_assert_eq(hit(RL, "192.0.2.1", "api", T0 + 59999).allowed, 0);
    stk_ratelimit_result_t r = hit(RL, "192.0.2.1", "api", T0 + 60000);
    cr_assert_eq(r.allowed, 1);
    cr_assert_eq(r.remaining, 99);
    cr_assert_eq(r.reset_in_ms, 60000);
}

Test(ratelimit, refused_requests_keep_counting_within_the_window)
{
    for (unsigned i = 0; i < 1000; i++)
        hit(RL, "192.0.2.1", "api", T0 + i);
    stk_ratelimit_result_t r = hit(RL, "192.0.2.1", "api", T0 + 30000);
    cr_assert_eq(r.allowed, 0);
    cr_assert_eq(r.reset_in_ms, 30000);
    cr_assert_eq(stk_ratelimit_reset_s(&r), 30);
}

Test(ratelimit, keys_are_per_address_and_per_group)
{
    for (unsigned i = 0; i < 100; i++)
        hit(RL, "192.0.2.1", "api", T0);
    cr_assert_eq(hit(RL, "192.0.2.1", "api", T0).allowed, 0);
    cr_assert_eq(hit(RL, "192.0.2.2", "api", T0).remaining, 99);
    cr_assert_eq(hit(RL, "192.0.2.1", "auth", T0).remaining, 99);
    cr_assert_eq(hit(RL, "192.0.2.1", "", T0).remaining, 99);
    /* The separator keeps concatenations apart. */
    cr_assert_eq(hit(RL, "192.0.2.1a", "pi", T0).remaining, 99);
    cr_assert_eq(stk_ratelimit_mem_count(RL), 5);
}

Test(ratelimit, custom_limit_and_window)
{
    stk_ratelimiter_t *rl;
    stk_ratelimit_opts_t o = {.limit = 3, .window_ms = 1000};
    cr_assert_eq(stk_ratelimit_mem_create(&rl, &o), 0);
    cr_assert_eq(hit(rl, "2001:db8::", "auth", T0).remaining, 2);
    cr_assert_eq(hit(rl, "2001:db8::", "auth", T0 + 1).remaining, 1);
    cr_assert_eq(hit(rl, "2001:db8::", "auth", T0 + 2).remaining, 0);
    stk_ratelimit_result_t r = hit(rl, "2001:db8::", "auth", T0 + 3);
    cr_assert_eq(r.allowed, 0);
    cr_assert_eq(r.reset_in_ms, 997);
    cr_assert_eq(stk_ratelimit_reset_s(&r), 1);
    cr_assert_eq(hit(rl, "2001:db8::", "auth", T0 + 1000).allowed, 1);
    stk_ratelimit_destroy(rl);
}

Test(ratelimit, clock_stepping_back_stays_in_the_window)
{
    stk_ratelimiter_t *rl;
    stk_ratelimit_opts_t o = {.limit = 2};
    cr_assert_eq(stk_ratelimit_mem_create(&rl, &o), 0);
    hit(rl, "192.0.2.1", "api", T0);
    hit(rl, "192.0.2.1", "api", T0 - 5000);
    stk_ratelimit_result_t r = hit(rl, "192.0.2.1", "api", T0 - 10000);
    cr_assert_eq(r.allowed, 0);
    cr_assert_eq(r.reset_in_ms, 60000);
    stk_ratelimit_destroy(rl);
}

Test(ratelimit, full_table_fails_closed_by_default_until_a_window_ends)
{
    stk_ratelimiter_t *rl;
    stk_ratelimit_opts_t o = {.max_keys = 4};
    cr_assert_eq(stk_ratelimit_mem_create(&rl, &o), 0);
    char ip[32];
    for (int i = 0; i < 4; i++) {
        snprintf(ip, sizeof ip, "198.51.100.%d", i);
        cr_assert_eq(hit(rl, ip, "api", T0 + i * 1000).allowed, 1);
    }
    stk_ratelimit_result_t r = hit(rl, "203.0.113.9", "api", T0 + 5000);
    cr_assert_eq(r.allowed, 0);
    cr_assert_eq(r.untracked, 1);
    cr_assert_eq(r.remaining, 0);
    cr_assert_eq(r.reset_in_ms, 55000); /* when the first window ends */
    /* Tracked keys keep being served. */
    cr_assert_eq(hit(rl, "198.51.100.3", "api", T0 + 5001).remaining, 98);
    /* Once the first window ends its slot is reclaimed. */
    r = hit(rl, "203.0.113.9", "api", T0 + 60000);
    cr_assert_eq(r.allowed, 1);
    cr_assert_eq(r.untracked, 0);
    cr_assert_eq(r.remaining, 99);
    cr_assert_eq(stk_ratelimit_mem_count(rl), 4);
    /* The next new key waits for the second window. */
    r = hit(rl, "203.0.113.10", "api", T0 + 60001);
    cr_assert_eq(r.allowed, 0);
    cr_assert_eq(r.reset_in_ms, 999);
    stk_ratelimit_destroy(rl);
}

Test(ratelimit, full_table_can_fail_open)
{
    stk_ratelimiter_t *rl;
    stk_ratelimit_opts_t o = {.max_keys = 2, .when_full = STK_RATELIMIT_FULL_OPEN};
    cr_assert_eq(stk_ratelimit_mem_create(&rl, &o), 0);
    hit(rl, "198.51.100.1", "api", T0);
    hit(rl, "198.51.100.2", "api", T0);
    for (int i = 0; i < 200; i++) {
        stk_ratelimit_result_t r = hit(rl, "203.0.113.9", "api", T0 + 1);
        cr_assert_eq(r.allowed, 1);
        cr_assert_eq(r.untracked, 1);
    }
    cr_assert_eq(stk_ratelimit_mem_count(rl), 2);
    stk_ratelimit_destroy(rl);
}

Test(ratelimit, sixty_thousand_addresses_fit_the_default_table)
{
    char ip[32];
    for (int i = 0; i < 60000; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        stk_ratelimit_result_t r = hit(RL, ip, "api", T0);
        cr_assert_eq(r.remaining, 99, "%s", ip);
    }
    cr_assert_eq(stk_ratelimit_mem_count(RL), 60000);
    for (int i = 0; i < 60000; i += 997) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        cr_assert_eq(hit(RL, ip, "api", T0 + 1).remaining, 98, "%s", ip);
    }
}

Test(ratelimit, bad_arguments_are_refused)
{
    stk_ratelimit_result_t r;
    char long_ip[STK_RATELIMIT_IP_MAX + 2];
    memset(long_ip, '1', sizeof long_ip - 1);
    long_ip[sizeof long_ip - 1] = '\0';
    char long_group[STK_RATELIMIT_GROUP_MAX + 2];
    memset(long_group, 'g', sizeof long_group - 1);
    long_group[sizeof long_group - 1] = '\0';
    cr_assert_eq(stk_ratelimit_hit(RL, "", "api", T0, &r), STK_EINVAL);
    cr_assert_eq(stk_ratelimit_hit(RL, NULL, "api", T0, &r), STK_EINVAL);
    cr_assert_eq(stk_ratelimit_hit(RL, "1.2.3.4", NULL, T0, &r), STK_EINVAL);
    cr_assert_eq(stk_ratelimit_hit(RL, long_ip, "api", T0, &r), STK_EINVAL);
    cr_assert_eq(stk_ratelimit_hit(RL, "1.2.3.4", long_group, T0, &r), STK_EINVAL);
    cr_assert_eq(stk_ratelimit_hit(NULL, "1.2.3.4", "api", T0, &r), STK_EINVAL);
    long_ip[STK_RATELIMIT_IP_MAX] = '\0'; /* exactly the limit */
    cr_assert_eq(stk_ratelimit_hit(RL, long_ip, "api", T0, &r), 0);

    stk_ratelimiter_t *rl = NULL;
    stk_ratelimit_opts_t o = {.window_ms = -1};
    cr_assert_eq(stk_ratelimit_mem_create(&rl, &o), STK_EINVAL);
    o = (stk_ratelimit_opts_t){.max_keys = STK_RATELIMIT_KEYS_LIMIT + 1};
    cr_assert_eq(stk_ratelimit_mem_create(&rl, &o), STK_EINVAL);
    o = (stk_ratelimit_opts_t){.when_full = (stk_ratelimit_full_t)5};
    cr_assert_eq(stk_ratelimit_mem_create(&rl, &o), STK_EINVAL);
    cr_assert_null(rl);
}
