# net/auth.cmake — the security building blocks of net/ (password hashes, JWT, refresh-token
# store, rate limiter) as one static library with no sockets and no libuv. Included from
# net/CMakeLists.txt; sources are named relative to this file so any includer works.
set(STK_AUTH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/auth_password.c
  ${CMAKE_CURRENT_LIST_DIR}/auth_jwt.c
  ${CMAKE_CURRENT_LIST_DIR}/auth_refresh.c
  ${CMAKE_CURRENT_LIST_DIR}/ratelimit.c
)
add_library(stk_auth STATIC ${STK_AUTH_SOURCES})
target_link_libraries(stk_auth
  PUBLIC stk_events stk_core PkgConfig::SODIUM PkgConfig::JANSSON
  PRIVATE stk_warnings)
