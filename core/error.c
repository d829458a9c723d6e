/* core/error.c — messages and names for the STK_ERRNO_MAP codes (see error.h). */
#include "core/error.h"

const char *stk_strerror(int err)
{
    switch (err) {
#define STK_ERR_MSG(name, value, msg)                                                              \
    case (value):                                                                                  \
        return msg;
        STK_ERRNO_MAP(STK_ERR_MSG)
#undef STK_ERR_MSG
    }
    return "unknown error";
}

const char *stk_errname(int err)
{
    switch (err) {
#define STK_ERR_NAME(name, value, msg)                                                             \
    case (value):                                                                                  \
        return #name;
        STK_ERRNO_MAP(STK_ERR_NAME)
#undef STK_ERR_NAME
    }
    return "EUNKNOWN";
}
