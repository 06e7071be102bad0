# enrich/ua: User-Agent and Client Hints parsing with uap-core's rules (libyaml + PCRE2 JIT),
# and the per-thread parse cache. Linked into le_enrich.
add_library(le_enrich_ua STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ua.c
  ${CMAKE_CURRENT_LIST_DIR}/ua_hints.c
  ${CMAKE_CURRENT_LIST_DIR}/ua_cache.c)
target_include_directories(le_enrich_ua PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(le_enrich_ua PUBLIC le_common le_config le_enrich_text
                      PRIVATE PkgConfig::PCRE2 PkgConfig::YAML Threads::Threads)
target_link_libraries(le_enrich PUBLIC le_enrich_ua)
