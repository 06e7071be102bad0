# enrich/mmdb: unit tests on generated fixtures, and conformance with MaxMind's official test
# databases (../shared/testdata/maxmind, or $LE_MAXMIND_TESTDATA; skipped when absent).
#
# The fixtures are generated at build time by tests/fixtures/make_mmdb.pl (Debian's
# libmaxmind-db-writer-perl) into the build tree; the tests get the directory as
# LE_MMDB_FIXTURES.
find_program(LE_PERL perl REQUIRED)
set(LE_MMDB_FIXTURE_DIR ${CMAKE_CURRENT_BINARY_DIR}/mmdb-fixtures)
set(LE_MMDB_FIXTURE_FILES)
foreach(f city city2 enterprise asn anon ipinfo conn-v4)
  list(APPEND LE_MMDB_FIXTURE_FILES ${LE_MMDB_FIXTURE_DIR}/${f}.mmdb)
endforeach()
add_custom_command(
  OUTPUT ${LE_MMDB_FIXTURE_FILES}
  COMMAND ${LE_PERL} ${PROJECT_SOURCE_DIR}/tests/fixtures/make_mmdb.pl ${LE_MMDB_FIXTURE_DIR}
  DEPENDS ${PROJECT_SOURCE_DIR}/tests/fixtures/make_mmdb.pl
  COMMENT "Generating MMDB test fixtures"
  VERBATIM)
add_custom_target(mmdb_fixtures ALL DEPENDS ${LE_MMDB_FIXTURE_FILES})

le_unit_test(test_mmdb SOURCES test_mmdb.c LIBS le_enrich)
target_compile_definitions(test_mmdb PRIVATE LE_MMDB_FIXTURES="${LE_MMDB_FIXTURE_DIR}")
add_dependencies(test_mmdb mmdb_fixtures)

le_unit_test(test_ranges SOURCES test_ranges.c LIBS le_enrich)

add_executable(test_mmdb_official test_mmdb_official.c)
target_link_libraries(test_mmdb_official PRIVATE le_enrich PkgConfig::JANSSON)
target_compile_definitions(test_mmdb_official PRIVATE
  LE_MAXMIND_TESTDATA_DEFAULT="${PROJECT_SOURCE_DIR}/../shared/testdata/maxmind")
add_test(NAME mmdb_official COMMAND test_mmdb_official)
set_tests_properties(mmdb_official PROPERTIES LABELS "unit;conformance" TIMEOUT 300
                     SKIP_RETURN_CODE 77)
