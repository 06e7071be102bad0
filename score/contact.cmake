# Contact data quality (contact.h): e-mail, domain lists, phone, postal code, role from job
# title. libunistring folds job titles (case, diacritics).
add_library(le_score_contact STATIC contact.c)
target_include_directories(le_score_contact PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(le_score_contact PUBLIC le_common PRIVATE le_unistring)
