# enrich/mmdb: IP -> geo, organisation and network verdict from .mmdb files (libmaxminddb), and
# the operator's company ranges CSV (ranges.c). Linked into le_enrich.
add_library(le_enrich_mmdb STATIC
  ${CMAKE_CURRENT_LIST_DIR}/mmdb.c
  ${CMAKE_CURRENT_LIST_DIR}/ranges.c)
target_include_directories(le_enrich_mmdb PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(le_enrich_mmdb PUBLIC le_common le_config PkgConfig::MAXMINDDB
                      PRIVATE le_unistring)
target_link_libraries(le_enrich PUBLIC le_enrich_mmdb)
