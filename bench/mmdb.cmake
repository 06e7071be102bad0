# mmdb_bench: le_mmdb_lookup (City, Enterprise, both, plus ASN) beside libmaxminddb used
# directly on the same addresses. Its fixtures are generated on first run into the build tree
# by tests/fixtures/make_mmdb.pl --bench (Debian's libmaxmind-db-writer-perl), so neither the
# build nor the run needs ../shared.
add_executable(mmdb_bench ${CMAKE_CURRENT_LIST_DIR}/mmdb_bench.c)
target_link_libraries(mmdb_bench PRIVATE le_enrich PkgConfig::MAXMINDDB)
target_compile_definitions(mmdb_bench PRIVATE
  LE_MMDB_BENCH_DIR="${CMAKE_CURRENT_BINARY_DIR}/mmdb-bench-fixtures"
  LE_MAKE_MMDB="${PROJECT_SOURCE_DIR}/tests/fixtures/make_mmdb.pl")
