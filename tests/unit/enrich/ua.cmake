# enrich/ua: unit tests, and uap-core's own test suites (Debian package uap-core) run against
# our parser: one ctest per suite; exit 77 (skipped) when the suites are not installed.
le_unit_test(test_ua SOURCES test_ua.c LIBS le_enrich)

add_executable(test_ua_conformance test_ua_conformance.c)
target_link_libraries(test_ua_conformance PRIVATE le_enrich PkgConfig::YAML)
foreach(suite ua os device)
  add_test(NAME uap_core_${suite} COMMAND test_ua_conformance ${suite})
  set_tests_properties(uap_core_${suite} PROPERTIES LABELS "unit;conformance" TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endforeach()
