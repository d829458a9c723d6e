# net/app.cmake — the application layer of `stockade serve` (net/app.h: configuration,
# request wrapper, appends, workers; net/metrics.h; net/model.h) and the API modules of
# net/apis.def, as the static library stk_app. Included from tools/CMakeLists.txt (and safe
# to include again from anywhere: the guard below); sources are named relative to this file.
if(NOT TARGET stk_app)
  pkg_check_modules(STK_APP_LIBUV REQUIRED IMPORTED_TARGET libuv)

  # One line per API module of net/apis.def (each owner edits its own line).
  set(STK_APP_API_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/api_health.c
    ${CMAKE_CURRENT_LIST_DIR}/api_auth.c
    ${CMAKE_CURRENT_LIST_DIR}/api_tribes.c
    ${CMAKE_CURRENT_LIST_DIR}/api_maps.c
    ${CMAKE_CURRENT_LIST_DIR}/api_sessions.c ${CMAKE_CURRENT_LIST_DIR}/api_live.c ${CMAKE_CURRENT_LIST_DIR}/hub.c ${CMAKE_CURRENT_LIST_DIR}/hub_client.c ${CMAKE_CURRENT_LIST_DIR}/live_codec.c
  )

  add_library(stk_app STATIC
    ${CMAKE_CURRENT_LIST_DIR}/app.c
    ${CMAKE_CURRENT_LIST_DIR}/metrics.c
    ${CMAKE_CURRENT_LIST_DIR}/model.c
    ${STK_APP_API_SOURCES}
  )
  target_link_libraries(stk_app
    PUBLIC stk_net stk_auth stk_events stk_core PkgConfig::JANSSON PkgConfig::SODIUM
    PRIVATE PkgConfig::STK_APP_LIBUV Threads::Threads m stk_warnings)
endif()
