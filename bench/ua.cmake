# ua_bench: User-Agent parse cost (cache miss, cache hit, Client Hints) over uap-core's
# test_ua.yaml strings, beside uap-core's reference Python parser (bench/ua_ref.py).
add_executable(ua_bench ${CMAKE_CURRENT_LIST_DIR}/ua_bench.c)
target_link_libraries(ua_bench PRIVATE le_enrich PkgConfig::YAML)
target_compile_definitions(ua_bench PRIVATE
  LE_UA_REF_PY="${CMAKE_CURRENT_LIST_DIR}/ua_ref.py")
