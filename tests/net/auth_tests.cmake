# tests/net/auth_tests.cmake — tests of the stk_auth library (net/auth.cmake). Included from
# tests/net/CMakeLists.txt; sources are named relative to this file.
stk_add_test(test_auth_password SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_auth_password.c
  LIBS stk_auth)
stk_add_test(test_auth_jwt SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_auth_jwt.c LIBS stk_auth)
stk_add_test(test_auth_refresh SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_auth_refresh.c
  LIBS stk_auth)
stk_add_test(test_ratelimit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ratelimit.c LIBS stk_auth)

# libFuzzer target for the JWT verifier (clang, -DSTK_FUZZ=ON). tests/fuzz/ is processed
# after this folder, so stk_add_fuzz() is not defined yet: the same steps are spelled out,
# with the binary in fuzz/ where tools/test.sh runs every target.
if(STK_FUZZ)
  target_compile_options(stk_auth PRIVATE -fsanitize=fuzzer-no-link)
  add_executable(fuzz_auth_jwt ${CMAKE_CURRENT_LIST_DIR}/fuzz_auth_jwt.c)
  target_compile_options(fuzz_auth_jwt PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_auth_jwt PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_auth_jwt PRIVATE stk_auth stk_warnings)
  set_target_properties(fuzz_auth_jwt PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
endif()
