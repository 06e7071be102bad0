# Company keys, bot verdict and language choice: pure text rules (company.h, bot.h, lang.h).
# libunistring folds Unicode for company keys.
add_library(le_enrich_text STATIC company.c bot.c lang.c)
target_include_directories(le_enrich_text PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(le_enrich_text PUBLIC le_common le_config le_unistring)
target_link_libraries(le_enrich PUBLIC le_enrich_text)
