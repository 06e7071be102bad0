# Unit tests for score/contact.c. The shipped domain lists are read from the source tree.
le_unit_test(test_contact SOURCES test_contact.c LIBS le_score_contact)
target_compile_definitions(
  test_contact PRIVATE LE_FREEMAIL_LIST="${PROJECT_SOURCE_DIR}/config/freemail-domains.txt"
                       LE_DISPOSABLE_LIST="${PROJECT_SOURCE_DIR}/config/disposable-domains.txt")
