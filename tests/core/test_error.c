/* tests/core/test_error.c — the error space gives every code a name and a message. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"

Test(error, every_code_has_a_distinct_name_and_message)
{
#define CHECK(name, value, msg)                                                                    \
    cr_expect_str_eq(stk_errname(value), #name);                                                   \
    cr_expect_str_eq(stk_strerror(value), msg);
    STK_ERRNO_MAP(CHECK)
#undef CHECK
}

Test(error, unknown_code_is_named_unknown)
{
    cr_expect_str_eq(stk_errname(-9999), "EUNKNOWN");
    cr_expect_str_eq(stk_strerror(-9999), "unknown error");
}
