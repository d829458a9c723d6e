/* core/error.h — Stockade's one error space.
 *
 * Every function that can fail returns int: 0 on success, a negative STK_E* code on
 * failure, results through out-parameters. Codes are declared once in STK_ERRNO_MAP,
 * which also yields stk_strerror() and stk_errname(). Foreign codes (LMDB, libpq,
 * hiredis, errno) are translated to these at their one wrapper and nowhere else.
 *
 * Thread: every function here is pure and may be called from any thread.
 */
#ifndef STK_CORE_ERROR_H
#define STK_CORE_ERROR_H

/* X(name, value, message) */
#define STK_ERRNO_MAP(X)                                                                           \
    X(OK, 0, "success")                                                                            \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EIO, -3, "input/output error")                                                               \
    X(ENOTFOUND, -4, "not found")                                                                  \
    X(ECONFLICT, -5, "stream version conflict")                                                    \
    X(EEXIST, -6, "unique key already claimed")                                                    \
    X(ETOOBIG, -7, "size limit exceeded")                                                          \
    X(ETRUNC, -8, "input truncated")                                                               \
    X(EDECODE, -9, "malformed encoding")                                                           \
    X(ESCHEMA, -10, "payload does not match its schema")                                           \
    X(EVERSION, -11, "unknown schema version")                                                     \
    X(ETYPE, -12, "unknown event type")                                                            \
    X(ECHAIN, -13, "chain hash mismatch")                                                          \
    X(ECORRUPT, -14, "stored data is corrupt")                                                     \
    X(EFULL, -15, "storage is full")                                                               \
    X(ECLOSED, -16, "already closed or shutting down")                                             \
    X(EBUSY, -17, "resource busy")                                                                 \
    X(ESTATE, -18, "operation not allowed in this state")                                          \
    X(EPERM, -19, "not permitted")                                                                 \
    X(ERANGE, -20, "value out of range")                                                           \
    X(ECRYPTO, -21, "cryptographic failure")                                                       \
    X(EHASH, -22, "state hash mismatch")

enum stk_errno {
#define STK_ERR_ENUM(name, value, msg) STK_##name = (value),
    STK_ERRNO_MAP(STK_ERR_ENUM)
#undef STK_ERR_ENUM
};

/* Human-readable message for an STK_E* code; never NULL, static storage. */
const char *stk_strerror(int err);
/* Symbolic name ("ECONFLICT") for an STK_E* code; never NULL, static storage. */
const char *stk_errname(int err);

#endif
